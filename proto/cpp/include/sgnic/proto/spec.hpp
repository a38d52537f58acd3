// Generated from proto/sgnic.yaml by proto/gen-uapi.py --cpp: do not edit.
// The one C++ home of the match-field and action names: fields.hpp and
// codec.hpp build on these tables.
#pragma once

#include <linux/sgnic.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sgnic::proto::spec {

struct MatchField {
    std::string_view name;
    std::uint32_t id;    // enum sgnic_match_field
    std::size_t length;  // bytes, network byte order
    std::size_t bits;    // bits used, from the low end (vlan-id: 12 of 16)
};

inline constexpr std::array<MatchField, SGNIC_MATCH_FIELD_MAX + 1> kMatchFields = {{
    {"dmac", SGNIC_MATCH_FIELD_DMAC, 6, 48},
    {"smac", SGNIC_MATCH_FIELD_SMAC, 6, 48},
    {"ethertype", SGNIC_MATCH_FIELD_ETHERTYPE, 2, 16},
    {"vlan-id", SGNIC_MATCH_FIELD_VLAN_ID, 2, 12},
    {"ipv4-src", SGNIC_MATCH_FIELD_IPV4_SRC, 4, 32},
    {"ipv4-dst", SGNIC_MATCH_FIELD_IPV4_DST, 4, 32},
    {"ipv6-src", SGNIC_MATCH_FIELD_IPV6_SRC, 16, 128},
    {"ipv6-dst", SGNIC_MATCH_FIELD_IPV6_DST, 16, 128},
    {"ip-proto", SGNIC_MATCH_FIELD_IP_PROTO, 1, 8},
    {"l4-sport", SGNIC_MATCH_FIELD_L4_SPORT, 2, 16},
    {"l4-dport", SGNIC_MATCH_FIELD_L4_DPORT, 2, 16},
}};

// enum sgnic_action_type.
enum class ActionType : std::uint8_t {
    drop = SGNIC_ACTION_TYPE_DROP,
    count = SGNIC_ACTION_TYPE_COUNT,
    mark = SGNIC_ACTION_TYPE_MARK,
    queue = SGNIC_ACTION_TYPE_QUEUE,
    accept = SGNIC_ACTION_TYPE_ACCEPT,
};

struct Action {
    std::string_view name;
    ActionType type;
    bool takes_arg;  // mark N, queue N: an attribute of its name in the action set
};

inline constexpr std::array<Action, SGNIC_ACTION_TYPE_MAX + 1> kActions = {{
    {"drop", ActionType::drop, false},
    {"count", ActionType::count, false},
    {"mark", ActionType::mark, true},
    {"queue", ActionType::queue, true},
    {"accept", ActionType::accept, false},
}};

}  // namespace sgnic::proto::spec
