// Reconcile as a pure function (FBOSS's shape): desired state, what this
// process believes it installed, and the kernel's dump in; the delta out.
// Deletes come before adds (SONiC's order); objects whose port is absent
// wait rather than fail.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "model/desired.hpp"
#include "policy/types.hpp"

namespace sgnic::model {

// Kernel objects, as a dump lists them.  Matcher and rule ids are per port;
// ordered and compared by where they are (port, matcher, id) alone.  The
// rest is what adoption compares with the desired state: the creator's
// owner tag and cookie, and the contents.
struct ActualMatcher {
    policy::PortId ifindex = 0;
    policy::DeviceMatcherId id = 0;
    std::uint8_t owner = 0;
    std::uint64_t cookie = 0;
    std::uint32_t priority = 0;
    policy::MatchTemplate match_template{};  // in field id order
    int rx_size_log = 0;
    int tx_size_log = 0;
    policy::DeviceMatcherId resize_target = 0;
    policy::DeviceMatcherId resize_source = 0;
    // How many rules it holds: in each table (a rule of both directions is
    // in both), and in all.
    std::uint32_t rx_rules = 0;
    std::uint32_t tx_rules = 0;
    std::uint32_t rules = 0;
    friend bool operator==(const ActualMatcher& a, const ActualMatcher& b) {
        return a.ifindex == b.ifindex && a.id == b.id;
    }
    friend bool operator<(const ActualMatcher& a, const ActualMatcher& b) {
        return std::tie(a.ifindex, a.id) < std::tie(b.ifindex, b.id);
    }
};

struct ActualRule {
    policy::PortId ifindex = 0;
    policy::DeviceMatcherId matcher = 0;
    policy::RuleId id = 0;
    std::uint8_t owner = 0;
    std::uint64_t cookie = 0;
    policy::Directions directions{};
    std::vector<std::uint8_t> match{};  // the values in field id order, as dumped
    std::vector<policy::Action> actions{};
    friend bool operator==(const ActualRule& a, const ActualRule& b) {
        return a.ifindex == b.ifindex && a.matcher == b.matcher && a.id == b.id;
    }
    friend bool operator<(const ActualRule& a, const ActualRule& b) {
        return std::tie(a.ifindex, a.matcher, a.id) < std::tie(b.ifindex, b.matcher, b.id);
    }
};

struct ActualState {
    std::vector<ActualMatcher> matchers;
    std::vector<ActualRule> rules;
};

// Where the policy put each desired object, and the other device objects it
// still owns: matchers (a stray left by an unfinished rollback, the source
// of a rehash) and rules (a failed call's that the device would not delete;
// the policy deletes them itself).
struct Installed {
    std::map<MatcherKey, ActualMatcher> matchers;
    std::map<RuleKey, ActualRule> rules;
    std::set<ActualMatcher> other_owned;
    std::set<ActualRule> other_rules;
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

// Takes another owner's matchers and their rules out of the delta's deletes
// (a rule of another owner inside one of `owner`'s matchers stays in: it
// would keep that matcher from being rehashed).  Returns how many matchers
// and rules it left alone.
std::pair<std::size_t, std::size_t> leave_foreign(Delta& delta, const ActualState& actual,
                                                  std::uint8_t owner);

}  // namespace sgnic::model
