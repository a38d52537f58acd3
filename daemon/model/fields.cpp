#include "model/fields.hpp"

#include <linux/sgnic.h>

#include <algorithm>
#include <array>

namespace sgnic::model {

namespace {

constexpr std::uint32_t kU8Max = 0xff;
constexpr std::uint32_t kU16Max = 0xffff;
constexpr std::uint32_t kVlanIdMax = 0xfff;  // 12 bits of the 2-byte field

constexpr std::array kFields = {
    FieldInfo{"dmac", SGNIC_MATCH_FIELD_DMAC, 6, FieldKind::mac, 0},
    FieldInfo{"smac", SGNIC_MATCH_FIELD_SMAC, 6, FieldKind::mac, 0},
    FieldInfo{"ethertype", SGNIC_MATCH_FIELD_ETHERTYPE, 2, FieldKind::number, kU16Max},
    FieldInfo{"vlan-id", SGNIC_MATCH_FIELD_VLAN_ID, 2, FieldKind::number, kVlanIdMax},
    FieldInfo{"ipv4-src", SGNIC_MATCH_FIELD_IPV4_SRC, 4, FieldKind::ipv4, 0},
    FieldInfo{"ipv4-dst", SGNIC_MATCH_FIELD_IPV4_DST, 4, FieldKind::ipv4, 0},
    FieldInfo{"ipv6-src", SGNIC_MATCH_FIELD_IPV6_SRC, 16, FieldKind::ipv6, 0},
    FieldInfo{"ipv6-dst", SGNIC_MATCH_FIELD_IPV6_DST, 16, FieldKind::ipv6, 0},
    FieldInfo{"ip-proto", SGNIC_MATCH_FIELD_IP_PROTO, 1, FieldKind::number, kU8Max},
    FieldInfo{"l4-sport", SGNIC_MATCH_FIELD_L4_SPORT, 2, FieldKind::number, kU16Max},
    FieldInfo{"l4-dport", SGNIC_MATCH_FIELD_L4_DPORT, 2, FieldKind::number, kU16Max},
};
static_assert(kFields.size() == SGNIC_MATCH_FIELD_MAX + 1, "a uAPI match field has no name");

}  // namespace

std::span<const FieldInfo> all_fields() { return kFields; }

const FieldInfo* find_field(std::string_view name) {
    const auto* it = std::find_if(kFields.begin(), kFields.end(),
                                  [&](const FieldInfo& f) { return f.name == name; });
    return it == kFields.end() ? nullptr : &*it;
}

const FieldInfo* find_field_by_id(std::uint32_t id) {
    const auto* it = std::find_if(kFields.begin(), kFields.end(),
                                  [&](const FieldInfo& f) { return f.id == id; });
    return it == kFields.end() ? nullptr : &*it;
}

std::string field_names() {
    std::string out;
    for (const FieldInfo& f : kFields) {
        if (!out.empty()) {
            out += ", ";
        }
        out += f.name;
    }
    return out;
}

}  // namespace sgnic::model
