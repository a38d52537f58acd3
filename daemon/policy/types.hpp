// Plain values shared by the policy core and the device interface.
#pragma once

#include <cstdint>
#include <vector>

namespace sgnic::policy {

using PortId = std::uint32_t;           // netdev ifindex
using MatcherId = std::uint32_t;        // the daemon's handle; stable across rehashes
using DeviceMatcherId = std::uint32_t;  // the device's matcher; replaced by every rehash
using RuleId = std::uint64_t;           // chosen by the core, used as the device's rule key
using ActionTemplateIndex = std::uint16_t;

enum class Direction : std::uint8_t { rx, tx };

// The hash tables a rule occupies ("flow source" uplink / local / any).
struct Directions {
    bool rx = false;
    bool tx = false;

    static constexpr Directions rx_only() { return {.rx = true, .tx = false}; }
    static constexpr Directions tx_only() { return {.rx = false, .tx = true}; }
    static constexpr Directions both() { return {.rx = true, .tx = true}; }

    constexpr bool uses(Direction d) const { return d == Direction::rx ? rx : tx; }
    constexpr bool empty() const { return !rx && !tx; }
    friend constexpr bool operator==(Directions, Directions) = default;
};

inline constexpr Direction kDirections[] = {Direction::rx, Direction::tx};

enum class ActionType : std::uint8_t { drop, count, mark, queue, accept };

struct Action {
    ActionType type = ActionType::accept;
    std::uint32_t arg = 0;  // mark value, queue index; unused otherwise
    friend bool operator==(const Action&, const Action&) = default;
};

// The ordered action types of a rule: what an action template describes.
using ActionTypes = std::vector<ActionType>;

struct MatchField {
    std::uint32_t field = 0;  // uAPI match field id
    std::vector<std::uint8_t> mask;
    friend bool operator==(const MatchField&, const MatchField&) = default;
};

struct MatchTemplate {
    std::vector<MatchField> fields;
    friend bool operator==(const MatchTemplate&, const MatchTemplate&) = default;
};

struct RuleSpec {
    Directions directions;
    std::vector<std::uint8_t> match;  // values for the template's fields, opaque to the core
    std::vector<Action> actions;

    ActionTypes action_types() const;
};

// Everything the device needs to create one hardware matcher.  A rehash
// creates a second one from the same spec with other sizes.
struct MatcherSpec {
    PortId port = 0;
    std::uint32_t priority = 0;
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
