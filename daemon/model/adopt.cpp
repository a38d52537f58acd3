#include "model/adopt.hpp"

#include <algorithm>
#include <optional>
#include <set>

#include "sgnic/proto/codec.hpp"

namespace sgnic::model {

namespace {

policy::MatchTemplate by_field_id(policy::MatchTemplate t) {
    std::sort(
        t.fields.begin(), t.fields.end(),
        [](const policy::MatchField& a, const policy::MatchField& b) { return a.field < b.field; });
    return t;
}

// The desired matcher's template, or nothing when its texts do not parse.
std::optional<policy::MatchTemplate> template_of(const DesiredMatcher& m) {
    auto t = proto::parse_template(m.fields);
    if (!t) {
        return std::nullopt;
    }
    return t->match;
}

bool same_matcher(const DesiredMatcher& want, const std::optional<policy::MatchTemplate>& tmpl,
                  policy::PortId ifindex, const ActualMatcher& have) {
    return tmpl && have.ifindex == ifindex && have.priority == want.priority &&
           by_field_id(*tmpl) == by_field_id(have.match_template);
}

bool same_rule(const DesiredRule& want, const policy::MatchTemplate& tmpl, const ActualRule& have) {
    return want.directions == have.directions && want.body.actions() == have.actions &&
           proto::in_field_id_order(tmpl, want.body.match()) == have.match;
}

}  // namespace

Adoption plan_adoption(const DesiredState& desired, const ActualState& actual,
                       const std::map<std::string, policy::PortId>& ports, std::uint8_t owner,
                       bool manage_foreign) {
    Adoption plan;
    std::map<std::pair<policy::PortId, policy::DeviceMatcherId>, const ActualMatcher*> by_id;
    for (const ActualMatcher& m : actual.matchers) {
        by_id[{m.ifindex, m.id}] = &m;
    }
    auto matcher_of = [&](const ActualRule& r) -> const ActualMatcher* {
        const auto it = by_id.find({r.ifindex, r.matcher});
        return it == by_id.end() ? nullptr : it->second;
    };

    // Half-done resizes come first: the rest is planned once they are settled.
    for (const ActualMatcher& m : actual.matchers) {
        if (m.owner != owner || m.resize_target == 0) {
            continue;
        }
        const auto target = by_id.find({m.ifindex, m.resize_target});
        if (target == by_id.end()) {
            continue;
        }
        UnfinishedResize r{.source = m, .target = *target->second, .source_rules = {}};
        for (const ActualRule& rule : actual.rules) {
            if (rule.ifindex == m.ifindex && rule.matcher == m.id) {
                r.source_rules.push_back(rule.id);
            }
        }
        plan.resizes.push_back(std::move(r));
    }
    if (!plan.resizes.empty()) {
        return plan;
    }

    // Matchers: ours with a desired cookie and the same contents are adopted.
    std::map<MatcherKey, policy::MatchTemplate> templates;  // of adopted matchers
    std::set<std::pair<policy::PortId, policy::DeviceMatcherId>> adopted_ids;
    for (const auto& entry : desired.matchers) {
        const MatcherKey key = entry.first;
        const DesiredMatcher& want = entry.second;
        const auto port = ports.find(want.port);
        if (port == ports.end()) {
            plan.waiting.push_back(key);
            continue;
        }
        const auto tmpl = template_of(want);
        const auto found =
            std::find_if(actual.matchers.begin(), actual.matchers.end(), [&](const auto& m) {
                return m.owner == owner && m.cookie == key &&
                       same_matcher(want, tmpl, port->second, m);
            });
        if (found == actual.matchers.end()) {
            plan.add_matchers.push_back(key);
            continue;
        }
        plan.matchers.emplace(key, *found);
        templates.emplace(key, *tmpl);
        adopted_ids.insert({found->ifindex, found->id});
    }
    std::map<std::pair<policy::PortId, policy::DeviceMatcherId>, MatcherKey> adopted_by_id;
    for (const auto& [key, m] : plan.matchers) {
        adopted_by_id[{m.ifindex, m.id}] = key;
    }

    // Rules: ours in an adopted matcher, desired there, unchanged: adopted.
    // A bit per desired rule (by its slot), not a set of a million keys.
    std::vector<bool> claimed(desired.rules.slot_count());
    for (const ActualRule& r : actual.rules) {
        const ActualMatcher* m = matcher_of(r);
        const bool our_matcher = m != nullptr && m->owner == owner;
        if (r.owner != owner && !our_matcher && !manage_foreign) {
            ++plan.foreign_rules;
            continue;
        }
        const auto in = adopted_by_id.find({r.ifindex, r.matcher});
        const DesiredRule* want = desired.rules.find(r.cookie);
        const bool wanted_here = r.owner == owner && in != adopted_by_id.end() && want != nullptr &&
                                 want->matcher == in->second && !claimed[desired.rules.slot(*want)];
        if (!wanted_here) {
            plan.delete_rules.push_back(r);
            continue;
        }
        claimed[desired.rules.slot(*want)] = true;
        if (same_rule(*want, templates.at(in->second), r)) {
            plan.rules.push_back(&r);
        } else {
            plan.replaced.push_back(r);
        }
    }
    for (const DesiredRule& r : desired.rules) {
        const auto m = desired.matchers.find(r.matcher);
        if (m == desired.matchers.end() || !ports.contains(m->second.port) ||
            claimed[desired.rules.slot(r)]) {
            continue;  // waits with its matcher, adopted, or replaced
        }
        plan.add_rules.push_back(r.id);
    }

    // Matchers nobody adopted: ours go, another owner's stay unless managed.
    for (const ActualMatcher& m : actual.matchers) {
        if (adopted_ids.contains({m.ifindex, m.id})) {
            continue;
        }
        if (m.owner != owner && !manage_foreign) {
            ++plan.foreign_matchers;
            continue;
        }
        plan.delete_matchers.push_back(m);
    }
    return plan;
}

}  // namespace sgnic::model
