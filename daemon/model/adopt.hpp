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

struct Adoption {
    // Desired objects the kernel holds as they are: taken over untouched.
    std::map<MatcherKey, ActualMatcher> matchers;
    // Each in its matcher of `matchers`; they point into the ActualState the
    // plan was made from (a million rules are not copied), in its order.
    std::vector<const ActualRule*> rules;
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
    std::size_t foreign_matchers = 0;  // another owner's, left alone
    std::size_t foreign_rules = 0;
};

// `ports`: the ports present now, name to ifindex.  `owner`: sgnicd's tag.
// The plan refers to `actual`'s rules: it lives no longer than `actual`.
Adoption plan_adoption(const DesiredState& desired, const ActualState& actual,
                       const std::map<std::string, policy::PortId>& ports, std::uint8_t owner,
                       bool manage_foreign);
Adoption plan_adoption(const DesiredState& desired, ActualState&& actual,
                       const std::map<std::string, policy::PortId>& ports, std::uint8_t owner,
                       bool manage_foreign) = delete;  // the plan would point into a temporary

}  // namespace sgnic::model
