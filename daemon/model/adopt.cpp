#include "model/adopt.hpp"

#include <algorithm>
#include <optional>

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

// The adopted matchers by the device's (port, matcher id), and their
// templates (the desired matcher's, parsed).
struct AdoptedMatchers {
    std::map<std::pair<policy::PortId, policy::DeviceMatcherId>, MatcherKey> by_id;
    std::map<MatcherKey, policy::MatchTemplate> templates;
};

// The matcher half of both plans: ours with a desired cookie and the same
// contents are adopted, desired ones the kernel lacks are added (or wait
// for their port), ours nobody adopted go, another owner's stay unless
// managed.
AdoptedMatchers plan_matchers(const DesiredState& desired, std::span<const ActualMatcher> matchers,
                              const std::map<std::string, policy::PortId>& ports,
                              std::uint8_t owner, bool manage_foreign, Adoption& plan) {
    AdoptedMatchers adopted;
    for (const auto& entry : desired.matchers) {
        // Not a structured binding: the lambda below captures them.
        const MatcherKey key = entry.first;
        const DesiredMatcher& want = entry.second;
        const auto port = ports.find(want.port);
        if (port == ports.end()) {
            plan.waiting.push_back(key);
            continue;
        }
        const auto tmpl = template_of(want);
        const auto found = std::find_if(matchers.begin(), matchers.end(), [&](const auto& m) {
            return m.owner == owner && m.cookie == key && same_matcher(want, tmpl, port->second, m);
        });
        if (found == matchers.end()) {
            plan.add_matchers.push_back(key);
            continue;
        }
        plan.matchers.emplace(key, *found);
        adopted.templates.emplace(key, *tmpl);
        adopted.by_id[{found->ifindex, found->id}] = key;
    }
    for (const ActualMatcher& m : matchers) {
        if (adopted.by_id.contains({m.ifindex, m.id})) {
            continue;
        }
        if (m.owner != owner && !manage_foreign) {
            ++plan.foreign_matchers;
            continue;
        }
        plan.delete_matchers.push_back(m);
    }
    return adopted;
}

// Desired rules nobody claimed go in, unless their matcher waits for its
// port.
void add_unclaimed(const DesiredState& desired, const std::map<std::string, policy::PortId>& ports,
                   const std::vector<bool>& claimed, Adoption& plan) {
    for (const DesiredRule& r : desired.rules) {
        if (claimed[desired.rules.slot(r)]) {
            continue;  // adopted or replaced: at a restart, nearly all
        }
        const auto m = desired.matchers.find(r.matcher);
        if (m == desired.matchers.end() || !ports.contains(m->second.port)) {
            continue;  // waits with its matcher
        }
        plan.add_rules.push_back(r.id);
    }
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
    for (const ActualRule& r : actual.rules) {
        plan.next_rule = std::max(plan.next_rule, r.id + 1);
    }

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

    const AdoptedMatchers adopted =
        plan_matchers(desired, actual.matchers, ports, owner, manage_foreign, plan);

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
        const auto in = adopted.by_id.find({r.ifindex, r.matcher});
        const DesiredRule* want = desired.rules.find(r.cookie);
        const bool wanted_here = r.owner == owner && in != adopted.by_id.end() && want != nullptr &&
                                 want->matcher == in->second && !claimed[desired.rules.slot(*want)];
        if (!wanted_here) {
            plan.delete_rules.push_back(r);
            continue;
        }
        claimed[desired.rules.slot(*want)] = true;
        if (same_rule(*want, adopted.templates.at(in->second), r)) {
            plan.rules.push_back({.id = r.cookie, .rule = r.id});
        } else {
            plan.replaced.push_back(r);
        }
    }
    add_unclaimed(desired, ports, claimed, plan);
    return plan;
}

Expected<Adoption> plan_sealed_adoption(const DesiredState& desired,
                                        std::span<const ActualMatcher> matchers, const Seal& seal,
                                        std::span<const SealedPort> ports, std::uint8_t owner,
                                        bool manage_foreign) {
    auto stale = [](const std::string& why) {
        return Error(Errc::invalid_argument, "the seal does not describe the kernel: " + why);
    };
    if (manage_foreign) {
        return stale("other owners' rules are managed, so they must be read");
    }
    if (ports.size() != seal.ports.size()) {
        return stale(std::to_string(ports.size()) + " sgnic ports, " +
                     std::to_string(seal.ports.size()) + " sealed");
    }
    std::map<std::string, policy::PortId> by_name;
    for (const SealedPort& now : ports) {
        const auto then = std::find_if(seal.ports.begin(), seal.ports.end(),
                                       [&](const SealedPort& p) { return p.name == now.name; });
        if (then == seal.ports.end()) {
            return stale("port " + now.name + " was not sealed");
        }
        if (*then != now) {
            return stale("port " + now.name + " changed since");
        }
        by_name[now.name] = now.ifindex;
    }
    for (const ActualMatcher& m : matchers) {
        if (m.resize_target != 0 || m.resize_source != 0) {
            return stale("matcher " + std::to_string(m.id) + " of ifindex " +
                         std::to_string(m.ifindex) + " is being resized");
        }
    }

    Adoption plan;
    plan.next_rule = seal.next_rule;
    const AdoptedMatchers adopted =
        plan_matchers(desired, matchers, by_name, owner, manage_foreign, plan);

    // The sealed rules, counted per matcher as the kernel counts them.
    struct Counts {
        std::uint32_t rx = 0;
        std::uint32_t tx = 0;
        std::uint32_t all = 0;
    };
    std::map<MatcherKey, Counts> counts;
    std::vector<bool> claimed(desired.rules.slot_count());
    plan.rules.reserve(seal.rules.size());
    RuleCursor cursor(desired.rules);  // a seal lists its rules by key
    for (const RuleBinding& r : seal.rules) {
        const DesiredRule* want = cursor.find(r.id);
        if (want == nullptr || !plan.matchers.contains(want->matcher)) {
            return stale("sealed rule " + std::to_string(r.id) +
                         " is not desired in a matcher the kernel holds");
        }
        if (claimed[desired.rules.slot(*want)]) {
            return stale("rule " + std::to_string(r.id) + " is sealed twice");
        }
        claimed[desired.rules.slot(*want)] = true;
        Counts& c = counts[want->matcher];
        c.rx += want->directions.rx ? 1 : 0;
        c.tx += want->directions.tx ? 1 : 0;
        ++c.all;
        plan.next_rule = std::max(plan.next_rule, r.rule + 1);
        plan.rules.push_back(r);
    }
    for (const auto& [key, m] : plan.matchers) {
        const Counts c = counts[key];
        if (c.rx != m.rx_rules || c.tx != m.tx_rules || c.all != m.rules) {
            auto counted = [](std::uint32_t all, std::uint32_t rx, std::uint32_t tx) {
                return std::to_string(all) + " rules (" + std::to_string(rx) + " RX, " +
                       std::to_string(tx) + " TX)";
            };
            return stale("matcher " + std::to_string(key) + " holds " +
                         counted(m.rules, m.rx_rules, m.tx_rules) + ", " +
                         counted(c.all, c.rx, c.tx) + " sealed");
        }
    }
    for (const ActualMatcher& m : plan.delete_matchers) {
        if (m.rules != 0) {
            return stale("matcher " + std::to_string(m.id) + " of ifindex " +
                         std::to_string(m.ifindex) + " is to go but holds " +
                         std::to_string(m.rules) + " rules");
        }
    }
    for (const ActualMatcher& m : matchers) {
        if (m.owner != owner) {
            plan.foreign_rules += m.rules;  // in another owner's matcher: left alone
        }
    }
    add_unclaimed(desired, by_name, claimed, plan);
    return plan;
}

}  // namespace sgnic::model
