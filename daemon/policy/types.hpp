// Plain values shared by the policy core and the device interface.
#pragma once

#include <cstdint>
#include <vector>

#include "sgnic/proto/types.hpp"

namespace sgnic::policy {

using PortId = std::uint32_t;           // netdev ifindex
using MatcherId = std::uint32_t;        // the daemon's handle; stable across rehashes
using DeviceMatcherId = std::uint32_t;  // the device's matcher; replaced by every rehash
using RuleId = std::uint64_t;           // chosen by the core, used as the device's rule key
using ActionTemplateIndex = std::uint16_t;

// The contract's vocabulary (sgnic/proto/types.hpp), as the core names it.
using proto::Action;
using proto::ActionType;
using proto::ActionTypes;
using proto::Direction;
using proto::Directions;
using proto::kDirections;
using proto::MatchField;
using proto::MatchTemplate;

struct RuleSpec {
    Directions directions;
    std::uint64_t cookie = 0;         // the caller's name for the rule, kept by the device
    std::vector<std::uint8_t> match;  // values for the template's fields, opaque to the core
    std::vector<Action> actions;

    ActionTypes action_types() const;
};

// Everything the device needs to create one hardware matcher.  A rehash
// creates a second one from the same spec with other sizes.
struct MatcherSpec {
    PortId port = 0;
    std::uint32_t priority = 0;
    std::uint64_t cookie = 0;  // the caller's name for the matcher; a rehash keeps it
    MatchTemplate match_template;
    int rx_size_log = 0;
    int tx_size_log = 0;
    // Indexed in order: a rule's ActionTemplateIndex points into this list.
    std::vector<ActionTypes> action_templates;
};

// Device capabilities the policy depends on.
struct Caps {
    int ste_alloc_log_max = 0;
    int rtc_log_depth_max = 0;
    int max_action_templates = 0;
};

}  // namespace sgnic::policy
