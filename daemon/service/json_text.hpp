// JSON text written directly, where building a DOM first costs too much: a
// page of thousands of rules (nlohmann::json allocates a map per object and
// a node per value; profiled, that was most of a DescribeRules call).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sgnic::service::json_text {

// Appends one JSON value to `out`, built element by element; commas and
// quoting are the writer's business.  Strings are escaped ('"', '\' and
// control characters); other bytes go as they are (the daemon's text is
// UTF-8).
class Writer {
public:
    explicit Writer(std::string& out) : out_(out) {}

    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    // The next value is this member's.
    Writer& key(std::string_view name);
    Writer& string(std::string_view s);
    Writer& number(std::uint64_t n);
    Writer& boolean(bool b);
    Writer& null();
    // A value already encoded as JSON.
    Writer& raw(std::string_view json);

private:
    // A comma before every element of a container but its first.
    void separate();

    std::string& out_;
    std::vector<bool> first_;  // per open container: nothing in it yet
    bool after_key_ = false;
};

}  // namespace sgnic::service::json_text
