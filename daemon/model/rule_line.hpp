// A rule line (proto::load::parse_rule_line's words) parsed straight into
// the rule the service stores, in one pass over its words: no word copied,
// no list per value.  A load's read-ahead thread parses a million lines;
// the full parse (parse_rule_line, then parse_rule) made strings and lists
// for each and cost as much as the kernel's insert.
//
// Only a line the full parse takes is taken, and as the full parse takes
// it (a test checks the two on generated lines).  A line that is not of
// the usual shape (a comment after the rule, a word given twice, bytes that
// are not ASCII, ...) or that is wrong in any way is left to the full
// parse, which names what is wrong: the quick one never has to.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "model/desired.hpp"
#include "sgnic/proto/codec.hpp"
#include "sgnic/proto/limits.hpp"

namespace sgnic::model {

class QuickRuleLine {
public:
    // The line's words, its matcher and port word; false when the line is
    // not for the quick parse.
    bool scan(std::string_view line);
    std::uint64_t matcher() const { return matcher_; }
    std::string_view port() const { return port_; }  // "" when the line names none
    // The scanned rule under its matcher's template into `out` (its id and
    // uid 0); false when the quick parse cannot take it.
    bool parse(const proto::MatchTemplate& tmpl, DesiredRule& out) const;

private:
    static constexpr std::size_t kMaxFields = proto::spec::kMatchFields.size();

    std::uint64_t matcher_ = 0;
    std::string_view port_;
    proto::Directions directions_ = proto::Directions::both();
    // Each field's name and value words, in the line's order.
    std::array<std::pair<std::string_view, std::string_view>, kMaxFields> fields_{};
    std::size_t field_count_ = 0;
    std::array<proto::Action, proto::kMaxActions> actions_{};
    std::size_t action_count_ = 0;
};

}  // namespace sgnic::model
