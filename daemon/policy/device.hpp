// The device as the policy core sees it.  The netlink adapter implements it
// for sgnic.ko; tests implement it with a fake.  Every call is synchronous
// and reports failure as a value; none of them retries on its own.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "policy/types.hpp"
#include "sgnic/proto/result.hpp"

namespace sgnic::policy {

// A bulk move stops at the first rule it cannot move.  The rules moved are
// always a prefix of the list given: rules[0, moved).
struct MoveResult {
    std::size_t moved = 0;
    std::optional<Error> error;
};

// One rule of a bulk insert.
struct RuleInsert {
    RuleId id = 0;
    ActionTemplateIndex at = 0;
    const RuleSpec* rule = nullptr;
};

// A rule of a bulk request that the device refused; index into the request.
struct RuleFailure {
    std::size_t index = 0;
    Error error;
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
    // Takes over a matcher the device already holds (made by an earlier run)
    // as if create_matcher(spec) had returned `matcher`; changes nothing in
    // the device.
    virtual Status adopt_matcher(const MatcherSpec& spec, DeviceMatcherId matcher) = 0;
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

    // Inserts each rule independently (a failure leaves the others in) and
    // returns the failures in request order.  The default sends one rule
    // at a time; a device with bulk requests overrides it.
    virtual std::vector<RuleFailure> insert_rules(DeviceMatcherId matcher,
                                                  std::span<const RuleInsert> rules) {
        std::vector<RuleFailure> failures;
        for (std::size_t i = 0; i < rules.size(); ++i) {
            auto st = insert_rule(matcher, rules[i].id, rules[i].at, *rules[i].rule);
            if (!st) {
                failures.push_back({.index = i, .error = std::move(st.error())});
            }
        }
        return failures;
    }

    // Deletes each rule independently (a failure leaves the others out) and
    // returns the failures in request order.  A rule already gone counts as
    // deleted.  The default sends one rule at a time.
    virtual std::vector<RuleFailure> delete_rules(DeviceMatcherId matcher,
                                                  std::span<const RuleId> ids) {
        std::vector<RuleFailure> failures;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            auto st = delete_rule(matcher, ids[i]);
            if (!st) {
                failures.push_back({.index = i, .error = std::move(st.error())});
            }
        }
        return failures;
    }

    // Appends an action template; its index is the number added before it.
    virtual Status add_action_template(DeviceMatcherId matcher, const ActionTypes& types) = 0;
};

}  // namespace sgnic::policy
