// A device for policy tests: keeps matchers and rules in maps, enforces the
// resize protocol (rules move only to a matcher's resize target), records
// every call, and fails on demand at any step.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "policy/device.hpp"
#include "policy/policy.hpp"

namespace sgnic::policy::testing {

enum class Op {
    create_matcher,
    destroy_matcher,
    set_resize_target,
    move_rules,
    insert_rule,
    delete_rule,
    add_action_template
};

// Fires on the (skip+1)-th call of `op`, `times` calls in a row.  A failing
// move first moves `moved` rules.
struct Fault {
    Op op = Op::insert_rule;
    Errc code = Errc::device;
    std::size_t skip = 0;
    std::size_t times = 1;
    std::size_t moved = 0;
};

// Owner tags as sgnic.ko keeps them: what the policy creates is sgnicd's.
struct FakeMatcher {
    MatcherSpec spec;
    std::set<RuleId> rules;
    std::optional<DeviceMatcherId> resize_target;
    std::uint8_t owner = 1;
};

struct FakeRule {
    DeviceMatcherId matcher = 0;
    Directions directions;
    RuleSpec spec;  // as inserted: cookie, match bytes in template order, actions
    std::uint8_t owner = 1;
};

class FakeDevice final : public Device {
public:
    Caps caps_value{.ste_alloc_log_max = 20, .rtc_log_depth_max = 4, .max_action_templates = 128};
    std::map<DeviceMatcherId, FakeMatcher> matchers;
    std::map<RuleId, FakeRule> rules;
    std::vector<std::string> calls;
    std::vector<Fault> faults;
    std::size_t rules_lost = 0;  // rules dropped by destroying a matcher that held them

    void fail(Fault f) { faults.push_back(f); }

    Caps caps() const override { return caps_value; }

    Expected<DeviceMatcherId> create_matcher(const MatcherSpec& spec) override {
        calls.push_back("create rx=" + std::to_string(spec.rx_size_log) +
                        " tx=" + std::to_string(spec.tx_size_log));
        if (auto f = take(Op::create_matcher)) {
            return Error(f->code, "injected create failure");
        }
        const DeviceMatcherId id = next_id_++;
        matchers[id] = FakeMatcher{.spec = spec, .rules = {}, .resize_target = {}};
        return id;
    }

    Status adopt_matcher(const MatcherSpec& spec, DeviceMatcherId id) override {
        calls.push_back("adopt " + std::to_string(id));
        const auto it = matchers.find(id);
        if (it == matchers.end()) {
            return Error(Errc::not_found, "adopt: no device matcher " + std::to_string(id));
        }
        // The caller's field order from now on (its rule bytes follow it).
        it->second.spec.match_template = spec.match_template;
        it->second.spec.action_templates = spec.action_templates;
        next_id_ = std::max(next_id_, id + 1);
        return {};
    }

    Status destroy_matcher(DeviceMatcherId id) override {
        calls.push_back("destroy " + std::to_string(id));
        if (auto f = take(Op::destroy_matcher)) {
            return Error(f->code, "injected destroy failure");
        }
        const auto it = matchers.find(id);
        if (it == matchers.end()) {
            return Error(Errc::not_found, "no device matcher " + std::to_string(id));
        }
        // As sgnic.ko: the target of a resize cannot go (its source can,
        // which ends the resize).
        for (const auto& [other, m] : matchers) {
            if (m.resize_target == id) {
                return Error(Errc::busy, "matcher is the target of a resize in progress");
            }
        }
        for (const RuleId r : it->second.rules) {
            rules.erase(r);
            ++rules_lost;
        }
        matchers.erase(it);
        for (auto& [other, m] : matchers) {
            if (m.resize_target == id) {
                m.resize_target.reset();
            }
        }
        return {};
    }

    Status set_resize_target(DeviceMatcherId from, DeviceMatcherId to) override {
        calls.push_back("target " + std::to_string(from) + "->" + std::to_string(to));
        if (auto f = take(Op::set_resize_target)) {
            return Error(f->code, "injected set-target failure");
        }
        if (!matchers.contains(from) || !matchers.contains(to)) {
            return Error(Errc::not_found, "set target: unknown matcher");
        }
        matchers[to].resize_target.reset();  // replaces any link between the two
        matchers[from].resize_target = to;
        return {};
    }

    MoveResult move_rules(DeviceMatcherId from, DeviceMatcherId to,
                          std::span<const RuleId> ids) override {
        calls.push_back("move " + std::to_string(from) + "->" + std::to_string(to) +
                        " n=" + std::to_string(ids.size()));
        std::size_t limit = ids.size();
        std::optional<Fault> f = take(Op::move_rules);
        if (f) {
            limit = std::min(f->moved, ids.size());
        }
        const auto src = matchers.find(from);
        if (src == matchers.end() || !matchers.contains(to) || src->second.resize_target != to) {
            return {.moved = 0, .error = Error(Errc::invalid_argument, "move: no resize link")};
        }
        for (std::size_t i = 0; i < limit; ++i) {
            if (src->second.rules.erase(ids[i]) == 0) {
                return {.moved = i, .error = Error(Errc::not_found, "move: rule not in source")};
            }
            matchers[to].rules.insert(ids[i]);
            rules[ids[i]].matcher = to;
        }
        if (f) {
            return {.moved = limit, .error = Error(f->code, "injected move failure")};
        }
        return {.moved = limit, .error = std::nullopt};
    }

    Status insert_rule(DeviceMatcherId matcher, RuleId id, ActionTemplateIndex at,
                       const RuleSpec& rule) override {
        calls.push_back("insert " + std::to_string(id) + " into " + std::to_string(matcher));
        if (auto f = take(Op::insert_rule)) {
            return Error(f->code, "injected insert failure");
        }
        const auto it = matchers.find(matcher);
        if (it == matchers.end()) {
            return Error(Errc::not_found, "insert: unknown matcher");
        }
        if (at >= it->second.spec.action_templates.size()) {
            return Error(Errc::invalid_argument,
                         "insert: no action template " + std::to_string(at));
        }
        if (rules.contains(id)) {
            return Error(Errc::invalid_argument, "insert: duplicate rule id");
        }
        it->second.rules.insert(id);
        rules[id] = FakeRule{.matcher = matcher, .directions = rule.directions, .spec = rule};
        return {};
    }

    // Bulk requests are counted, then applied rule by rule (faults included).
    // While `deferring` (service::DeferredInserts, as the netlink adapter
    // does it), a bulk insert reports no failure: the rules it refused are
    // counted in `deferred` for the caller to settle, and not held.
    std::size_t bulk_inserts = 0;
    bool deferring = false;
    std::size_t deferred_inserts = 0;  // bulk inserts made while deferring
    struct Deferred {
        std::size_t refused = 0;
        std::optional<Error> first;
    } deferred;
    std::vector<RuleFailure> insert_rules(DeviceMatcherId matcher,
                                          std::span<const RuleInsert> batch) override {
        ++bulk_inserts;
        std::vector<RuleFailure> failures = Device::insert_rules(matcher, batch);
        if (!deferring) {
            return failures;
        }
        ++deferred_inserts;
        for (RuleFailure& f : failures) {
            refused_ids_.insert(batch[f.index].id);
            ++deferred.refused;
            if (!deferred.first) {
                deferred.first = std::move(f.error);
            }
        }
        return {};
    }

    Status delete_rule(DeviceMatcherId matcher, RuleId id) override {
        calls.push_back("delete " + std::to_string(id) + " from " + std::to_string(matcher));
        if (auto f = take(Op::delete_rule)) {
            return Error(f->code, "injected delete failure");
        }
        if (refused_ids_.erase(id) != 0) {
            return {};  // never held: gone, as the kernel says of it
        }
        const auto it = matchers.find(matcher);
        if (it == matchers.end() || it->second.rules.erase(id) == 0) {
            return Error(Errc::not_found, "delete: rule not in that matcher");
        }
        rules.erase(id);
        return {};
    }

    std::size_t bulk_deletes = 0;
    std::vector<RuleFailure> delete_rules(DeviceMatcherId matcher,
                                          std::span<const RuleId> ids) override {
        ++bulk_deletes;
        return Device::delete_rules(matcher, ids);
    }

    Status add_action_template(DeviceMatcherId matcher, const ActionTypes& types) override {
        calls.push_back("add template to " + std::to_string(matcher));
        if (auto f = take(Op::add_action_template)) {
            return Error(f->code, "injected template failure");
        }
        const auto it = matchers.find(matcher);
        if (it == matchers.end()) {
            return Error(Errc::not_found, "template: unknown matcher");
        }
        it->second.spec.action_templates.push_back(types);
        return {};
    }

    std::size_t count_calls(const std::string& prefix) const {
        return static_cast<std::size_t>(
            std::count_if(calls.begin(), calls.end(),
                          [&](const std::string& c) { return c.starts_with(prefix); }));
    }

private:
    std::set<RuleId> refused_ids_;  // refused while deferring, so never held
    std::optional<Fault> take(Op op) {
        for (auto it = faults.begin(); it != faults.end(); ++it) {
            if (it->op != op) {
                continue;
            }
            if (it->skip > 0) {
                --it->skip;
                return std::nullopt;
            }
            const Fault fired = *it;
            if (--it->times == 0) {
                faults.erase(it);
            }
            return fired;
        }
        return std::nullopt;
    }

    DeviceMatcherId next_id_ = 100;
};

// The invariant every test ends with: each rule the policy knows is in
// exactly the live device matcher the policy thinks, counts per direction
// match the rules, sizes match the device, and nothing is leaked or lost.
inline ::testing::AssertionResult consistent(const Policy& policy, const FakeDevice& dev) {
    std::set<DeviceMatcherId> referenced;
    std::size_t rules = 0;
    for (const MatcherId id : policy.matcher_ids()) {
        const MatcherState& m = *policy.find_matcher(id);
        const auto live = dev.matchers.find(m.device);
        if (live == dev.matchers.end()) {
            return ::testing::AssertionFailure()
                   << "matcher " << id << ": device matcher " << m.device << " is not live";
        }
        referenced.insert(m.device);
        if (live->second.spec.rx_size_log != m.rx.size_log ||
            live->second.spec.tx_size_log != m.tx.size_log) {
            return ::testing::AssertionFailure()
                   << "matcher " << id << ": policy sizes rx=" << m.rx.size_log
                   << " tx=" << m.tx.size_log << ", device rx=" << live->second.spec.rx_size_log
                   << " tx=" << live->second.spec.tx_size_log;
        }
        if (m.stray) {
            if (!dev.matchers.contains(m.stray->device)) {
                return ::testing::AssertionFailure()
                       << "matcher " << id << ": stray " << m.stray->device << " is not live";
            }
            referenced.insert(m.stray->device);
        }
        if (m.resize) {
            // The source links to the target; unmoved rules are still there.
            const auto source = dev.matchers.find(m.resize->source);
            if (source == dev.matchers.end() || source->second.resize_target != m.device) {
                return ::testing::AssertionFailure()
                       << "matcher " << id << ": resize source " << m.resize->source
                       << " is not live or not linked to " << m.device;
            }
            referenced.insert(m.resize->source);
        }
        std::uint64_t rx = 0;
        std::uint64_t tx = 0;
        for (const RuleRef& ref : m.rules) {
            const RuleId r = ref.id;
            const RuleRecord* rec = policy.find_rule(r);
            const auto where = dev.rules.find(r);
            const DeviceMatcherId expected = m.holder(r);
            if (rec == nullptr || where == dev.rules.end()) {
                return ::testing::AssertionFailure() << "rule " << r << " is not in any matcher";
            }
            if (where->second.matcher != expected) {
                return ::testing::AssertionFailure()
                       << "rule " << r << ": expected in device matcher " << expected
                       << ", actually in " << where->second.matcher;
            }
            rx += rec->directions.rx ? 1 : 0;
            tx += rec->directions.tx ? 1 : 0;
        }
        if (rx != m.rx.rules || tx != m.tx.rules) {
            return ::testing::AssertionFailure()
                   << "matcher " << id << ": counted rx=" << m.rx.rules << " tx=" << m.tx.rules
                   << ", rules use rx=" << rx << " tx=" << tx;
        }
        rules += m.rules.size();
    }
    if (rules != policy.rule_count() || rules != dev.rules.size()) {
        return ::testing::AssertionFailure()
               << "policy knows " << policy.rule_count() << " rules, matchers hold " << rules
               << ", device holds " << dev.rules.size();
    }
    if (referenced.size() != dev.matchers.size()) {
        return ::testing::AssertionFailure()
               << "device has " << dev.matchers.size() << " matchers, policy references "
               << referenced.size();
    }
    if (dev.rules_lost != 0) {
        return ::testing::AssertionFailure() << dev.rules_lost << " rules lost by a destroy";
    }
    return ::testing::AssertionSuccess();
}

inline RuleSpec rule_in(Directions dirs, std::vector<Action> actions = {{ActionType::accept, 0}}) {
    return RuleSpec{.directions = dirs, .match = {}, .actions = std::move(actions)};
}

}  // namespace sgnic::policy::testing
