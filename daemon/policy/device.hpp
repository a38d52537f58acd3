// The device as the policy core sees it.  The netlink adapter implements it
// for sgnic.ko; tests implement it with a fake.  Every call is synchronous
// and reports failure as a value; none of them retries on its own.
#pragma once

#include <cstddef>
#include <optional>
#include <span>

#include "policy/expected.hpp"
#include "policy/types.hpp"

namespace sgnic::policy {

// A bulk move stops at the first rule it cannot move.  The rules moved are
// always a prefix of the list given: rules[0, moved).
struct MoveResult {
    std::size_t moved = 0;
    std::optional<Error> error;
};

class Device {
public:
    Device() = default;
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    Device(Device&&) = delete;
    Device& operator=(Device&&) = delete;
    virtual ~Device() = default;

    virtual Caps caps() const = 0;

    virtual Expected<DeviceMatcherId> create_matcher(const MatcherSpec& spec) = 0;
    virtual Status destroy_matcher(DeviceMatcherId matcher) = 0;

    // Makes `to` the resize target of `from` (lookups try `to` first, then
    // `from`), replacing any resize link between the two.  The core also uses
    // it in reverse to move rules back when a rehash is rolled back.
    virtual Status set_resize_target(DeviceMatcherId from, DeviceMatcherId to) = 0;
    virtual MoveResult move_rules(DeviceMatcherId from, DeviceMatcherId to,
                                  std::span<const RuleId> rules) = 0;

    // Errc::collision, busy and timeout mean what they say; anything else
    // is Errc::device (or invalid_argument) with the device's message.
    virtual Status insert_rule(DeviceMatcherId matcher, RuleId id, ActionTemplateIndex at,
                               const RuleSpec& rule) = 0;
    virtual Status delete_rule(DeviceMatcherId matcher, RuleId id) = 0;

    // Appends an action template; its index is the number added before it.
    virtual Status add_action_template(DeviceMatcherId matcher, const ActionTypes& types) = 0;
};

}  // namespace sgnic::policy
