// The match fields a template can name, by their user-facing names, with
// the uAPI id and the length the kernel expects (network byte order).  Names,
// ids and lengths come from proto/sgnic.yaml (spec.hpp); the text form of
// each field is decided here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace sgnic::proto {

// How a field's text is written: it decides the parser and the formatter.
enum class FieldKind { mac, ipv4, ipv6, number };

struct FieldInfo {
    std::string_view name;
    std::uint32_t id = 0;  // enum sgnic_match_field
    std::size_t length = 0;
    FieldKind kind = FieldKind::number;
    std::uint32_t max = 0;  // FieldKind::number: the largest value (vlan-id: 12 bits)
};

std::span<const FieldInfo> all_fields();
const FieldInfo* find_field(std::string_view name);
const FieldInfo* find_field_by_id(std::uint32_t id);
// "dmac, smac, ..." for error messages.
std::string field_names();

}  // namespace sgnic::proto
