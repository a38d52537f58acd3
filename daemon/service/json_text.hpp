// JSON text written directly, where building a DOM first costs too much: a
// page of thousands of rules (nlohmann::json allocates a map per object and
// a node per value; profiled, that was most of a DescribeRules call).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sgnic::service::json_text {

// `s` as a JSON string: quoted, with '"', '\' and control characters
// escaped; other bytes as they are (the daemon's text is UTF-8).
void append_string(std::string& out, std::string_view s);
void append_number(std::string& out, std::uint64_t n);

}  // namespace sgnic::service::json_text
