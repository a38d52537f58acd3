// Reconcile as a pure function (FBOSS's shape): desired state, what this
// process believes it installed, and the kernel's dump in; the delta out.
// Deletes come before adds (SONiC's order); objects whose port is absent
// wait rather than fail.
#pragma once

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "model/desired.hpp"
#include "policy/types.hpp"

namespace sgnic::model {

// Kernel objects, as a dump lists them.  Matcher and rule ids are per port.
struct ActualMatcher {
    policy::PortId ifindex = 0;
    policy::DeviceMatcherId id = 0;
    friend bool operator==(const ActualMatcher&, const ActualMatcher&) = default;
    friend bool operator<(const ActualMatcher& a, const ActualMatcher& b) {
        return std::tie(a.ifindex, a.id) < std::tie(b.ifindex, b.id);
    }
};

struct ActualRule {
    policy::PortId ifindex = 0;
    policy::DeviceMatcherId matcher = 0;
    policy::RuleId id = 0;
    friend bool operator==(const ActualRule&, const ActualRule&) = default;
    friend bool operator<(const ActualRule& a, const ActualRule& b) {
        return std::tie(a.ifindex, a.matcher, a.id) < std::tie(b.ifindex, b.matcher, b.id);
    }
};

struct ActualState {
    std::vector<ActualMatcher> matchers;
    std::vector<ActualRule> rules;
};

// Where the policy put each desired object, and the other device matchers
// it still owns (a stray left by an unfinished rollback).
struct Installed {
    std::map<MatcherKey, ActualMatcher> matchers;
    std::map<RuleKey, ActualRule> rules;
    std::set<ActualMatcher> other_owned;
};

struct Delta {
    std::vector<ActualRule> delete_rules;        // foreign: nobody asked for them
    std::vector<ActualMatcher> delete_matchers;  // foreign, after their rules
    std::vector<MatcherKey> add_matchers;        // desired, not in the kernel
    std::vector<RuleKey> add_rules;              // desired, not in the kernel
    std::vector<MatcherKey> waiting;             // desired, but the port is absent
    // Something installed has vanished (module reload): the policy's picture
    // is stale.  Start a fresh policy and reconcile with nothing installed.
    bool installed_lost = false;

    bool empty() const {
        return delete_rules.empty() && delete_matchers.empty() && add_matchers.empty() &&
               add_rules.empty();
    }
};

// `ports`: the ports present now, name to ifindex.
Delta reconcile(const DesiredState& desired, const Installed& installed, const ActualState& actual,
                const std::map<std::string, policy::PortId>& ports);

}  // namespace sgnic::model
