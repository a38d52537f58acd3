// The port and match template of each matcher, readable from any thread: a
// load's read-ahead thread parses each rule whole against its matcher's
// template, while the service, on its own thread, adds and removes
// matchers.  A matcher's key is never reused and its port and template never
// change, so an entry a reader holds stays right for as long as the matcher
// lives; the service still checks, when the rule is added, that it does.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "model/rule_line.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::service {

class MatcherIndex {
public:
    struct Entry {
        std::string port;
        model::QuickTemplate match_template;  // and where the quick parse puts values
    };

    void put(std::uint64_t matcher, std::string port, proto::MatchTemplate match_template);
    void erase(std::uint64_t matcher);
    // Null when there is no such matcher.
    std::shared_ptr<const Entry> find(std::uint64_t matcher) const;

    // Why a rule cannot go to `matcher`: there is none; none on the port
    // of the rule's batch (Service::add_rules); it is not on the port the
    // rule names.
    static Error no_matcher(std::uint64_t matcher);
    static Error none_on(std::uint64_t matcher, const std::string& port);
    static Error elsewhere(std::uint64_t matcher, const std::string& port, std::string_view named);

private:
    // Guards entries_ (the service writes, read-ahead threads read).
    mutable std::mutex mu_;
    std::map<std::uint64_t, std::shared_ptr<const Entry>> entries_;
};

}  // namespace sgnic::service
