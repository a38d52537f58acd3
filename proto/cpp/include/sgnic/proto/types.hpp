// The contract's plain values, as both sides of the D-Bus API and the policy
// core use them: directions, actions, match templates.
#pragma once

#include <cstdint>
#include <vector>

#include "sgnic/proto/spec.hpp"

namespace sgnic::proto {

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

using ActionType = spec::ActionType;

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

}  // namespace sgnic::proto
