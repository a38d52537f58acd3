// Adoption, as a pure function: what sgnicd does with what the kernel holds
// when it starts (or after its picture went stale).  The kernel is the truth
// for what is installed, the store for what is wanted: kernel objects are
// matched to desired ones by owner tag and cookie, their contents compared,
// and only the difference is applied (OVS keeps its datapath flows across a
// restart; FRR and SONiC warm restarts sweep only what changed).
//
// What "ours" means: objects whose owner tag is sgnicd's.  Another owner's
// matchers and their rules are left alone unless manage_foreign is set.
// sgnicd's matchers hold only sgnicd's rules: another owner's rule inside
// one would keep it from being rehashed, so it is deleted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "model/desired.hpp"
#include "model/reconcile.hpp"

namespace sgnic::model {

// A resize a previous run left half done: both matchers are ours and carry
// the same cookie; `source` still holds the rules not moved yet.
struct UnfinishedResize {
    ActualMatcher source;
    ActualMatcher target;
    std::vector<policy::RuleId> source_rules;
};

// A desired rule (`id`, its key: an IdTable holds bindings) and the id the
// kernel and the policy know it by.  Its matcher, directions and actions are
// the desired rule's.
struct RuleBinding {
    RuleKey id = 0;
    policy::RuleId rule = 0;
    friend bool operator==(const RuleBinding&, const RuleBinding&) = default;
};

struct Adoption {
    // Desired objects the kernel holds as they are: taken over untouched.
    std::map<MatcherKey, ActualMatcher> matchers;
    // Each in its desired matcher, which is in `matchers`.
    std::vector<RuleBinding> rules;
    // Desired objects to create: absent from the kernel (a matcher that
    // changed there counts as absent: its rules are made again with it).
    std::vector<MatcherKey> add_matchers;
    std::vector<RuleKey> add_rules;
    // Rules changed in the kernel, by the kernel's version (its cookie is the
    // desired rule's key): removed before the stored one goes in again (the
    // same match cannot be in one matcher twice).
    std::vector<ActualRule> replaced;
    // Ours, not wanted (or duplicates); matchers after their rules.
    std::vector<ActualRule> delete_rules;
    std::vector<ActualMatcher> delete_matchers;
    // Settled before anything else; then the kernel is read and planned again.
    std::vector<UnfinishedResize> resizes;
    std::vector<MatcherKey> waiting;   // desired, but the port is absent
    policy::RuleId next_rule = 1;      // above every rule id the kernel holds
    std::size_t foreign_matchers = 0;  // another owner's, left alone
    std::size_t foreign_rules = 0;
};

// `ports`: the ports present now, name to ifindex.  `owner`: sgnicd's tag.
Adoption plan_adoption(const DesiredState& desired, const ActualState& actual,
                       const std::map<std::string, policy::PortId>& ports, std::uint8_t owner,
                       bool manage_foreign);

// What a clean stop leaves for the next start: every sgnic port's steer_gen
// (proto/sgnic.yaml) then, and where each of sgnicd's rules was.  The kernel
// changes a port's steer_gen with every change of its matchers and rules
// and starts it from a random value when the port is made, so if every port
// shows the same value at the next start, the kernel still holds what the
// seal says and its rules need not be read one by one (a million rules take
// seconds to dump and compare).
struct SealedPort {
    std::string name;
    policy::PortId ifindex = 0;
    std::uint64_t steer_gen = 0;
    friend bool operator==(const SealedPort&, const SealedPort&) = default;
};

struct Seal {
    std::vector<SealedPort> ports;  // every sgnic port there was
    policy::RuleId next_rule = 1;   // above every rule id the kernel held
    std::vector<RuleBinding> rules;
    friend bool operator==(const Seal&, const Seal&) = default;
};

// Adoption from a seal and a dump of the matchers alone: the rules are the
// seal's, checked against each matcher's rule counts.  Errc::invalid_argument,
// naming the first difference, when the seal may not describe the kernel as it is:
// another set of ports, a steer_gen or ifindex that changed, a resize in
// progress, a sealed rule no longer desired in an adopted matcher, a
// matcher whose counts differ from the seal's, or manage_foreign (another
// owner's rules would have to be read to delete them).  Then the rules are
// read: plan_adoption.
Expected<Adoption> plan_sealed_adoption(const DesiredState& desired,
                                        std::span<const ActualMatcher> matchers, const Seal& seal,
                                        std::span<const SealedPort> ports, std::uint8_t owner,
                                        bool manage_foreign);

}  // namespace sgnic::model
