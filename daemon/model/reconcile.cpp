#include "model/reconcile.hpp"

namespace sgnic::model {

Delta reconcile(const DesiredState& desired, const Installed& installed, const ActualState& actual,
                const std::map<std::string, policy::PortId>& ports) {
    Delta delta;
    const std::set<ActualMatcher> live_matchers(actual.matchers.begin(), actual.matchers.end());
    const std::set<ActualRule> live_rules(actual.rules.begin(), actual.rules.end());

    // Desired matchers: present where the policy put them, or to be added.
    std::set<ActualMatcher> claimed_matchers = installed.other_owned;
    std::set<MatcherKey> adding;
    for (const auto& [key, m] : desired.matchers) {
        const auto port = ports.find(m.port);
        if (port == ports.end()) {
            delta.waiting.push_back(key);
            continue;
        }
        const auto where = installed.matchers.find(key);
        if (where != installed.matchers.end() && where->second.ifindex == port->second &&
            live_matchers.contains(where->second)) {
            claimed_matchers.insert(where->second);
            continue;
        }
        if (where != installed.matchers.end()) {
            delta.installed_lost = true;
        }
        delta.add_matchers.push_back(key);
        adding.insert(key);
    }

    std::set<ActualRule> claimed_rules = installed.other_rules;
    for (const DesiredRule& r : desired.rules) {
        const RuleKey key = r.id;
        const auto m = desired.matchers.find(r.matcher);
        if (m == desired.matchers.end() || !ports.contains(m->second.port)) {
            continue;  // waits with its matcher
        }
        const auto where = installed.rules.find(key);
        const bool present = where != installed.rules.end() && !adding.contains(r.matcher) &&
                             live_rules.contains(where->second);
        if (present) {
            claimed_rules.insert(where->second);
            continue;
        }
        if (where != installed.rules.end()) {
            delta.installed_lost = true;
        }
        delta.add_rules.push_back(key);
    }

    for (const ActualRule& r : actual.rules) {
        if (!claimed_rules.contains(r)) {
            delta.delete_rules.push_back(r);
        }
    }
    for (const ActualMatcher& m : actual.matchers) {
        if (!claimed_matchers.contains(m)) {
            delta.delete_matchers.push_back(m);
        }
    }
    return delta;
}

std::pair<std::size_t, std::size_t> leave_foreign(Delta& delta, const ActualState& actual,
                                                  std::uint8_t owner) {
    std::set<ActualMatcher> ours;
    for (const ActualMatcher& m : actual.matchers) {
        if (m.owner == owner) {
            ours.insert(m);
        }
    }
    const auto matchers = std::erase_if(delta.delete_matchers,
                                        [&](const ActualMatcher& m) { return !ours.contains(m); });
    const auto rules = std::erase_if(delta.delete_rules, [&](const ActualRule& r) {
        return r.owner != owner && !ours.contains({.ifindex = r.ifindex, .id = r.matcher});
    });
    return {matchers, rules};
}

}  // namespace sgnic::model
