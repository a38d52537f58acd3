// Resumable resize (PolicyConfig::resize_step_rules > 0): a rehash only
// begins in the call that triggers it; Policy::step() moves the old rules a
// few at a time, deletes find each rule where it is, a failing step turns
// the resize around, and a second resize first finishes the running one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "policy/policy.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::FakeMatcher;
using testing::FakeRule;
using testing::Fault;
using testing::Op;
using testing::rule_in;

PolicyConfig stepping(int rules) {
    PolicyConfig config;
    config.resize_step_rules = rules;
    return config;
}

// Eleven rules in both directions: size_log 4; the twelfth crosses the
// threshold and begins 4 -> 5.  Rule ids are 1..11.
constexpr std::size_t kRules = 11;
constexpr int kSizeBefore = 4;

// `n` rules in both directions, every resize run to its end on the way and
// its report taken: no resize in progress when it returns.
MatcherId matcher_with(Policy& policy, std::size_t n) {
    const MatcherId m = *policy.create_matcher(1, 0, {});
    for (std::size_t i = 0; i < n; ++i) {
        EXPECT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
        EXPECT_TRUE(policy.finish_resize(m));
    }
    (void)policy.take_rehash_reports();
    return m;
}

// kRules rules in both directions, then the twelfth (rule kRules + 1),
// which begins the resize kSizeBefore -> kSizeBefore + 1: its source is the
// matcher's device before, its target the one after.  Tests bind the
// members by name: auto& [dev, policy, m, state, source, target, rehashes].
struct Begun {
    explicit Begun(int step_rules)
        : policy(dev, stepping(step_rules)),
          m(matcher_with(policy, kRules)),
          state(*policy.find_matcher(m)),
          source(state.device),
          rehashes(state.rehashes) {
        EXPECT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
        EXPECT_TRUE(state.resize);
        target = state.device;
    }
    FakeDevice dev;
    Policy policy;
    MatcherId m;
    const MatcherState& state;
    DeviceMatcherId source;
    DeviceMatcherId target = 0;
    std::uint64_t rehashes;
};

// The device matcher holding rule `id`.
DeviceMatcherId holder(const FakeDevice& dev, RuleId id) { return dev.rules.at(id).matcher; }

std::size_t rules_in(const FakeDevice& dev, DeviceMatcherId matcher) {
    const auto it = dev.matchers.find(matcher);
    return it == dev.matchers.end() ? 0 : it->second.rules.size();
}

std::string move_call(DeviceMatcherId from, DeviceMatcherId to, std::size_t n) {
    return "move " + std::to_string(from) + "->" + std::to_string(to) + " n=" + std::to_string(n);
}

TEST(ResizeStep, threshold_begins_a_resize_that_each_step_advances_by_at_most_the_step) {
    FakeDevice dev;
    Policy policy(dev, stepping(2));
    const MatcherId m = matcher_with(policy, kRules);
    const MatcherState& state = *policy.find_matcher(m);
    const DeviceMatcherId source = state.device;
    const std::uint64_t rehashes = state.rehashes;
    dev.calls.clear();

    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_TRUE(id);
    const DeviceMatcherId target = state.device;
    ASSERT_NE(target, source);
    const std::string s = std::to_string(source);
    const std::string t = std::to_string(target);
    // Begun, not run: nothing moved in the insert.
    const std::vector<std::string> begun = {"create rx=5 tx=5", "target " + s + "->" + t,
                                            "insert " + std::to_string(*id) + " into " + t};
    EXPECT_EQ(dev.calls, begun);
    EXPECT_EQ(policy.resizing(), std::vector<MatcherId>{m});
    ASSERT_TRUE(state.resize);
    EXPECT_EQ(state.resize->source, source);
    EXPECT_EQ(state.resize->pending.size(), kRules);
    EXPECT_EQ(state.rx.size_log, kSizeBefore + 1);
    EXPECT_EQ(state.tx.size_log, kSizeBefore + 1);
    EXPECT_EQ(dev.matchers.size(), 2U);
    EXPECT_EQ(dev.matchers.at(source).resize_target, target);
    EXPECT_EQ(holder(dev, *id), target);
    for (RuleId r = 1; r <= kRules; ++r) {
        EXPECT_EQ(holder(dev, r), source) << "rule " << r;
    }
    EXPECT_TRUE(policy.take_rehash_reports().empty()) << "no rehash has completed yet";
    EXPECT_TRUE(testing::consistent(policy, dev));

    // 11 rules, 2 a step: 2, 2, 2, 2, 2, then 1 and the source goes.
    int steps = 0;
    while (state.resize) {
        ASSERT_LT(steps, 10) << "the resize does not end";
        const std::size_t before = rules_in(dev, source);
        const std::size_t expected = std::min<std::size_t>(2, before);
        dev.calls.clear();
        ASSERT_TRUE(policy.step(m));
        ++steps;
        ASSERT_FALSE(dev.calls.empty());
        EXPECT_EQ(dev.calls.front(), move_call(source, target, expected));
        EXPECT_EQ(before - rules_in(dev, source), expected);
        if (state.resize) {
            EXPECT_EQ(dev.calls.size(), 1U);
            EXPECT_TRUE(policy.take_rehash_reports().empty()) << "step " << steps;
        } else {
            const std::vector<std::string> last = {move_call(source, target, 1), "destroy " + s};
            EXPECT_EQ(dev.calls, last);
        }
        EXPECT_TRUE(testing::consistent(policy, dev)) << "step " << steps;
    }
    EXPECT_EQ(steps, 6);
    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_FALSE(dev.matchers.contains(source));
    EXPECT_EQ(dev.matchers.size(), 1U);
    for (RuleId r = 1; r <= kRules + 1; ++r) {
        EXPECT_EQ(holder(dev, r), target) << "rule " << r;
    }
    EXPECT_EQ(state.rehashes, rehashes + 1);

    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].matcher, m);
    EXPECT_EQ(reports[0].old_device, source);
    EXPECT_EQ(reports[0].new_device, target);
    EXPECT_EQ(reports[0].rx, (SizeChange{kSizeBefore, kSizeBefore + 1}));
    EXPECT_EQ(reports[0].tx, (SizeChange{kSizeBefore, kSizeBefore + 1}));
    EXPECT_EQ(reports[0].rules_moved, kRules);
    EXPECT_EQ(reports[0].reason, RehashReason::threshold);

    // Nothing left to do.
    dev.calls.clear();
    EXPECT_TRUE(policy.step(m));
    EXPECT_TRUE(dev.calls.empty());
    EXPECT_TRUE(policy.take_rehash_reports().empty());
}

TEST(ResizeStep, deletes_during_a_resize_go_to_the_matcher_holding_the_rule) {
    Begun begun(2);
    auto& [dev, policy, m, state, source, target, rehashes] = begun;
    const RuleId late = kRules + 1;
    ASSERT_TRUE(policy.step(m));  // rules 1 and 2 move
    ASSERT_EQ(holder(dev, 1), target);
    ASSERT_EQ(holder(dev, 5), source);
    dev.calls.clear();

    for (const RuleId r : {RuleId{1}, RuleId{5}, late}) {
        auto out = policy.delete_rule(r);
        ASSERT_TRUE(out) << "rule " << r << ": " << out.error().message();
        EXPECT_FALSE(out->shrink_error);
        EXPECT_FALSE(dev.rules.contains(r));
        EXPECT_EQ(policy.find_rule(r), nullptr);
        EXPECT_TRUE(testing::consistent(policy, dev)) << "rule " << r;
    }
    const std::vector<std::string> deletes = {
        "delete 1 from " + std::to_string(target), "delete 5 from " + std::to_string(source),
        "delete " + std::to_string(late) + " from " + std::to_string(target)};
    EXPECT_EQ(dev.calls, deletes);
    EXPECT_EQ(policy.resizing(), std::vector<MatcherId>{m});

    dev.calls.clear();
    ASSERT_TRUE(policy.step(m));  // 3, 4
    ASSERT_TRUE(policy.step(m));  // 6, 7: the deleted 5 is skipped, not counted
    const std::vector<std::string> moves = {move_call(source, target, 2),
                                            move_call(source, target, 2)};
    EXPECT_EQ(dev.calls, moves);
    for (const RuleId r : {3, 4, 6, 7}) {
        EXPECT_EQ(holder(dev, r), target) << "rule " << r;
    }
    EXPECT_EQ(holder(dev, 8), source);
    EXPECT_TRUE(testing::consistent(policy, dev));

    ASSERT_TRUE(policy.step(m));  // 8, 9
    ASSERT_TRUE(policy.step(m));  // 10, 11, and the source goes
    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_FALSE(dev.matchers.contains(source));
    EXPECT_TRUE(testing::consistent(policy, dev));
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].rules_moved, kRules - 1) << "rule 5 was deleted before its turn";
    EXPECT_EQ(policy.rule_count(), kRules - 2);
}

TEST(ResizeStep, two_matchers_resize_side_by_side_and_one_bulk_delete_finds_every_rule) {
    FakeDevice dev;
    Policy policy(dev, stepping(2));
    const MatcherId a = matcher_with(policy, kRules);  // rules 1..11
    const MatcherId b = matcher_with(policy, kRules);  // rules 12..22
    const MatcherState& sa = *policy.find_matcher(a);
    const MatcherState& sb = *policy.find_matcher(b);
    const DeviceMatcherId a_source = sa.device;
    const DeviceMatcherId b_source = sb.device;
    const RuleId a_late = *policy.insert_rule(a, rule_in(Directions::both()));
    const RuleId b_late = *policy.insert_rule(b, rule_in(Directions::both()));
    const DeviceMatcherId a_target = sa.device;
    const DeviceMatcherId b_target = sb.device;
    ASSERT_TRUE(policy.step(a));  // 1, 2
    ASSERT_TRUE(policy.step(b));  // 12, 13
    EXPECT_EQ(policy.resizing(), (std::vector<MatcherId>{a, b}));
    EXPECT_EQ(dev.matchers.size(), 4U);
    EXPECT_TRUE(testing::consistent(policy, dev));
    dev.calls.clear();
    dev.bulk_deletes = 0;

    const std::vector<RuleId> ids = {1, 5, a_late, 12, 16, b_late};
    const BatchDelete out = policy.delete_rules(ids);
    EXPECT_EQ(out.deleted, ids.size());
    EXPECT_TRUE(out.failures.empty());
    EXPECT_TRUE(out.shrink_errors.empty());
    EXPECT_EQ(dev.bulk_deletes, 4U) << "one request per device matcher";
    const std::pair<RuleId, DeviceMatcherId> expected[] = {{1, a_target},      {5, a_source},
                                                           {a_late, a_target}, {12, b_target},
                                                           {16, b_source},     {b_late, b_target}};
    for (const auto& [rule, matcher] : expected) {
        EXPECT_EQ(
            dev.count_calls("delete " + std::to_string(rule) + " from " + std::to_string(matcher)),
            1U)
            << "rule " << rule;
    }
    EXPECT_EQ(dev.calls.size(), ids.size());
    EXPECT_TRUE(testing::consistent(policy, dev));

    // a ends (3, 4, 6..11: four steps); b is untouched.
    for (int i = 0; i < 4; ++i) {
        ASSERT_TRUE(policy.step(a));
    }
    EXPECT_EQ(policy.resizing(), std::vector<MatcherId>{b});
    ASSERT_TRUE(sb.resize);
    EXPECT_EQ(sb.resize->next, 2U);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].matcher, a);
    EXPECT_EQ(reports[0].rules_moved, kRules - 1) << "1 moved before its delete; 5 never";
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(ResizeStep, a_move_failing_mid_resize_turns_it_around) {
    Begun begun(2);
    auto& [dev, policy, m, state, source, target, rehashes] = begun;
    ASSERT_TRUE(policy.step(m));                                         // 1, 2 move
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only())));  // 13, into the target
    ASSERT_EQ(holder(dev, 13), target);
    dev.calls.clear();

    // Rule 3 moves, then the device gives up: 1, 2, 3, 12 and 13 go back.
    dev.fail({.op = Op::move_rules, .code = Errc::busy, .moved = 1});
    auto st = policy.step(m);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), Errc::busy);
    const std::string& message = st.error().message();
    EXPECT_NE(message.find("move rules (3 of 11 moved)"), std::string::npos) << message;
    EXPECT_NE(message.find("rolled back"), std::string::npos) << message;
    const std::string s = std::to_string(source);
    const std::string t = std::to_string(target);
    const std::vector<std::string> undo = {move_call(source, target, 2), "target " + t + "->" + s,
                                           move_call(target, source, 5), "destroy " + t};
    EXPECT_EQ(dev.calls, undo);

    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_FALSE(state.resize);
    EXPECT_FALSE(state.stray);
    EXPECT_EQ(state.device, source);
    EXPECT_EQ(state.rx.size_log, kSizeBefore);
    EXPECT_EQ(state.tx.size_log, kSizeBefore);
    EXPECT_EQ(state.rx.rules, kRules + 2);
    EXPECT_EQ(state.tx.rules, kRules + 1);
    EXPECT_FALSE(dev.matchers.contains(target));
    EXPECT_EQ(dev.matchers.size(), 1U);
    for (RuleId r = 1; r <= kRules + 2; ++r) {
        EXPECT_EQ(holder(dev, r), source) << "rule " << r;
    }
    EXPECT_TRUE(policy.take_rehash_reports().empty());
    EXPECT_EQ(state.rehashes, rehashes);
    EXPECT_TRUE(testing::consistent(policy, dev));

    // Nothing is stuck: the next insert begins the resize again, from the source.
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    ASSERT_TRUE(state.resize);
    EXPECT_EQ(state.resize->source, source);
    EXPECT_EQ(state.resize->pending.size(), kRules + 2);
    ASSERT_TRUE(policy.finish_resize(m));
    EXPECT_TRUE(testing::consistent(policy, dev));
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].rules_moved, kRules + 2);
}

TEST(ResizeStep, failing_to_destroy_the_source_on_the_last_step_turns_it_around) {
    Begun begun(8);
    auto& [dev, policy, m, state, source, target, rehashes] = begun;
    ASSERT_TRUE(policy.step(m));  // 8 of 11
    dev.fail({.op = Op::destroy_matcher, .code = Errc::device});

    auto st = policy.step(m);  // the last 3, then the destroy fails
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("destroy old matcher"), std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find("rolled back"), std::string::npos) << st.error().message();
    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_EQ(state.device, source);
    EXPECT_EQ(state.rx.size_log, kSizeBefore);
    EXPECT_FALSE(dev.matchers.contains(target));
    for (RuleId r = 1; r <= kRules + 1; ++r) {
        EXPECT_EQ(holder(dev, r), source) << "rule " << r;
    }
    EXPECT_TRUE(policy.take_rehash_reports().empty());
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(ResizeStep, a_second_threshold_during_a_resize_finishes_the_first) {
    Begun begun(1);
    auto& [dev, policy, m, state, first_source, first_target, rehashes] = begun;
    ASSERT_TRUE(policy.step(m));  // rule 1 moves
    // Up to 22 rules fit size_log 5; the resize stays the same one.
    for (RuleId r = 13; r <= 22; ++r) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
        ASSERT_TRUE(state.resize);
        ASSERT_EQ(state.resize->source, first_source);
    }
    EXPECT_TRUE(policy.take_rehash_reports().empty());
    EXPECT_TRUE(testing::consistent(policy, dev));
    dev.calls.clear();

    // The 23rd crosses 5 -> 6: the first resize runs to its end, then the
    // second begins from its target.
    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_TRUE(id);
    const DeviceMatcherId second_target = state.device;
    const std::string s = std::to_string(first_source);
    const std::string t1 = std::to_string(first_target);
    const std::string t2 = std::to_string(second_target);
    const std::vector<std::string> calls = {
        move_call(first_source, first_target, 10), "destroy " + s, "create rx=6 tx=6",
        "target " + t1 + "->" + t2, "insert " + std::to_string(*id) + " into " + t2};
    EXPECT_EQ(dev.calls, calls);

    std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].old_device, first_source);
    EXPECT_EQ(reports[0].new_device, first_target);
    EXPECT_EQ(reports[0].rx, (SizeChange{kSizeBefore, kSizeBefore + 1}));
    EXPECT_EQ(reports[0].rules_moved, kRules);
    EXPECT_EQ(policy.resizing(), std::vector<MatcherId>{m});
    ASSERT_TRUE(state.resize);
    EXPECT_EQ(state.resize->source, first_target);
    EXPECT_EQ(state.resize->rx, (SizeChange{kSizeBefore + 1, kSizeBefore + 2}));
    EXPECT_EQ(state.resize->pending.size(), 22U);
    EXPECT_EQ(state.resize->next, 0U);
    EXPECT_EQ(dev.matchers.size(), 2U) << "never three device matchers";
    EXPECT_TRUE(testing::consistent(policy, dev));

    ASSERT_TRUE(policy.finish_resize(m));
    reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].old_device, first_target);
    EXPECT_EQ(reports[0].new_device, second_target);
    EXPECT_EQ(reports[0].rules_moved, 22U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(ResizeStep, finish_resize_runs_it_to_its_end_in_one_call) {
    Begun begun(2);
    auto& [dev, policy, m, state, source, target, rehashes] = begun;
    ASSERT_TRUE(policy.step(m));
    dev.calls.clear();

    ASSERT_TRUE(policy.finish_resize(m));
    const std::vector<std::string> calls = {move_call(source, target, kRules - 2),
                                            "destroy " + std::to_string(source)};
    EXPECT_EQ(dev.calls, calls);
    EXPECT_TRUE(policy.resizing().empty());
    for (RuleId r = 1; r <= kRules + 1; ++r) {
        EXPECT_EQ(holder(dev, r), target) << "rule " << r;
    }
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].rules_moved, kRules);
    EXPECT_TRUE(testing::consistent(policy, dev));

    dev.calls.clear();
    EXPECT_TRUE(policy.finish_resize(m));
    EXPECT_TRUE(dev.calls.empty()) << "nothing in progress: nothing to do";
}

TEST(ResizeStep, step_and_finish_resize_without_a_resize_do_nothing) {
    FakeDevice dev;
    Policy policy(dev, stepping(2));
    const MatcherId m = matcher_with(policy, 3);
    dev.calls.clear();
    EXPECT_TRUE(policy.step(m));
    EXPECT_TRUE(policy.finish_resize(m));
    EXPECT_TRUE(dev.calls.empty());
    EXPECT_TRUE(policy.resizing().empty());

    auto st = policy.step(m + 1);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), Errc::not_found);
    st = policy.finish_resize(m + 1);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), Errc::not_found);
}

TEST(ResizeStep, without_a_step_size_a_resize_ends_in_the_call_that_starts_it) {
    FakeDevice dev;
    Policy policy(dev, stepping(0));
    const MatcherId m = matcher_with(policy, kRules);
    const DeviceMatcherId source = policy.find_matcher(m)->device;
    dev.calls.clear();
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_FALSE(policy.find_matcher(m)->resize);
    EXPECT_EQ(dev.count_calls(move_call(source, policy.find_matcher(m)->device, kRules)), 1U);
    EXPECT_FALSE(dev.matchers.contains(source));
    ASSERT_EQ(policy.take_rehash_reports().size(), 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(ResizeStep, a_resize_with_nothing_to_move_ends_at_once) {
    FakeDevice dev;
    Policy policy(dev, stepping(2));
    const MatcherId m = *policy.create_matcher(1, 0, {});
    auto grown = policy.reserve(m, 20, 0);
    ASSERT_TRUE(grown);
    EXPECT_TRUE(*grown);
    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_EQ(dev.matchers.size(), 1U);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].reason, RehashReason::presize);
    EXPECT_EQ(reports[0].rules_moved, 0U);
    EXPECT_GT(policy.find_matcher(m)->rx.size_log, 1);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(ResizeStep, deleting_every_rule_during_a_resize_shrinks_then_destroy_leaves_nothing) {
    Begun begun(2);
    auto& [dev, policy, m, state, source, target, rehashes] = begun;
    ASSERT_TRUE(policy.step(m));  // 1 and 2 move
    ASSERT_TRUE(state.resize);

    for (RuleId r = 1; r <= kRules + 1; ++r) {
        auto out = policy.delete_rule(r);
        ASSERT_TRUE(out) << "rule " << r << ": " << out.error().message();
        EXPECT_FALSE(out->shrink_error) << out->shrink_error->message();
        EXPECT_TRUE(testing::consistent(policy, dev)) << "rule " << r;
    }
    // The emptied matcher shrinks; the resize running ends first.
    EXPECT_TRUE(policy.resizing().empty());
    EXPECT_EQ(state.rx.size_log, 1);
    EXPECT_EQ(state.tx.size_log, 1);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 2U);
    EXPECT_EQ(reports[0].reason, RehashReason::threshold);
    EXPECT_EQ(reports[0].rules_moved, 2U);
    EXPECT_EQ(reports[1].reason, RehashReason::shrink);
    EXPECT_EQ(reports[1].rules_moved, 0U);
    EXPECT_EQ(dev.matchers.size(), 1U);

    ASSERT_TRUE(policy.destroy_matcher(m));
    EXPECT_TRUE(dev.matchers.empty());
    EXPECT_EQ(dev.rules_lost, 0U);
    EXPECT_TRUE(policy.matcher_ids().empty());
}

// The one way an emptied matcher keeps its resize: it was adopted below the
// initial size, so growing it lands on the initial size and emptying it does
// not shrink.  destroy_matcher() ends the resize, then destroys the target.
TEST(ResizeStep, destroying_an_emptied_matcher_with_a_resize_in_progress) {
    FakeDevice dev;
    const DeviceMatcherId adopted_device = 7;
    const std::vector<RuleId> adopted_rules = {50, 51, 52};  // more than a step
    FakeMatcher& held = dev.matchers[adopted_device];
    held.spec.port = 1;
    held.spec.rx_size_log = 0;
    held.spec.tx_size_log = 0;
    Policy policy(dev, stepping(2));
    AdoptedMatcher taken;
    taken.port = 1;
    taken.device = adopted_device;
    taken.rx_size_log = 0;
    taken.tx_size_log = 0;
    for (const RuleId r : adopted_rules) {
        held.rules.insert(r);
        FakeRule& rule = dev.rules[r];
        rule.matcher = adopted_device;
        rule.directions = Directions::both();
        rule.spec = rule_in(Directions::both());
        taken.rules.push_back(AdoptedRule{
            .id = r, .directions = Directions::both(), .action_types = {ActionType::accept}});
    }
    auto adopted = policy.adopt_matcher(taken);
    ASSERT_TRUE(adopted) << adopted.error().message();
    const MatcherId m = *adopted;
    const MatcherState& state = *policy.find_matcher(m);
    ASSERT_TRUE(testing::consistent(policy, dev));

    auto id = policy.insert_rule(m, rule_in(Directions::both()));  // 0 -> 1 begins
    ASSERT_TRUE(id);
    ASSERT_EQ(policy.resizing(), std::vector<MatcherId>{m});
    EXPECT_EQ(state.rx.size_log, 1);
    const DeviceMatcherId target = state.device;
    for (const RuleId r : adopted_rules) {
        ASSERT_TRUE(policy.delete_rule(r));
    }
    ASSERT_TRUE(policy.delete_rule(*id));
    ASSERT_EQ(policy.resizing(), std::vector<MatcherId>{m}) << "at the initial size: no shrink";
    EXPECT_TRUE(testing::consistent(policy, dev));
    dev.calls.clear();

    ASSERT_TRUE(policy.destroy_matcher(m));
    const std::vector<std::string> calls = {"destroy " + std::to_string(adopted_device),
                                            "destroy " + std::to_string(target)};
    EXPECT_EQ(dev.calls, calls);
    EXPECT_TRUE(dev.matchers.empty());
    EXPECT_EQ(dev.rules_lost, 0U);
    EXPECT_TRUE(policy.matcher_ids().empty());
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].rules_moved, 0U);
}

// No more rules to move than a step takes: the resize ends in the call that
// begins it.  One more, and it is left to the steps.
TEST(ResizeStep, a_resize_of_one_steps_worth_of_rules_ends_at_once) {
    for (const int step : {5, 4}) {
        FakeDevice dev;
        Policy policy(dev, stepping(step));
        const MatcherId m = matcher_with(policy, 5);  // size_log 3; the sixth crosses
        const DeviceMatcherId source = policy.find_matcher(m)->device;
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
        const bool in_progress = step < 5;
        EXPECT_EQ(policy.resizing().size(), in_progress ? 1U : 0U) << "step " << step;
        EXPECT_EQ(dev.matchers.contains(source), in_progress) << "step " << step;
        EXPECT_EQ(policy.take_rehash_reports().size(), in_progress ? 0U : 1U) << "step " << step;
        EXPECT_TRUE(testing::consistent(policy, dev)) << "step " << step;
    }
}

TEST(ResizeStep, a_bulk_insert_presizes_once_and_leaves_the_old_rules_to_the_steps) {
    FakeDevice dev;
    Policy policy(dev, stepping(2));
    const MatcherId m = matcher_with(policy, 5);  // size_log 3, rules 1..5
    const MatcherState& state = *policy.find_matcher(m);
    const DeviceMatcherId source = state.device;
    dev.calls.clear();
    dev.bulk_inserts = 0;

    // 45 rules grow rule by rule to size_log 7.
    const std::vector<RuleSpec> batch(40, rule_in(Directions::both()));
    const BatchInsert out = policy.insert_rules(m, batch);
    ASSERT_FALSE(out.error) << out.error->message();
    ASSERT_EQ(out.ids.size(), batch.size());
    const DeviceMatcherId target = state.device;
    EXPECT_EQ(dev.count_calls("create"), 1U);
    EXPECT_EQ(dev.count_calls("move"), 0U);
    EXPECT_EQ(dev.bulk_inserts, 1U);
    EXPECT_EQ(policy.resizing(), std::vector<MatcherId>{m});
    ASSERT_TRUE(state.resize);
    EXPECT_EQ(state.resize->reason, RehashReason::presize);
    EXPECT_EQ(state.resize->rx, (SizeChange{3, 7}));
    EXPECT_EQ(state.resize->tx, (SizeChange{3, 7}));
    EXPECT_EQ(state.resize->pending, (std::vector<RuleId>{1, 2, 3, 4, 5}));
    EXPECT_EQ(state.resize->moved, 0U);
    for (const RuleId r : out.ids) {
        EXPECT_EQ(holder(dev, r), target) << "rule " << r;
    }
    for (RuleId r = 1; r <= 5; ++r) {
        EXPECT_EQ(holder(dev, r), source) << "rule " << r;
    }
    EXPECT_TRUE(testing::consistent(policy, dev));

    for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(policy.step(m));
        EXPECT_TRUE(testing::consistent(policy, dev)) << "step " << i;
    }
    EXPECT_TRUE(policy.resizing().empty());
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].reason, RehashReason::presize);
    EXPECT_EQ(reports[0].rules_moved, 5U);
    EXPECT_EQ(reports[0].rx, (SizeChange{3, 7}));
}

// An action template added while a resize is in progress goes to the target;
// when the resize is turned around, the source gets it too, so the rules
// using it come back to a matcher that has it.
TEST(ResizeStep, an_action_template_added_during_a_resize_survives_its_turning_around) {
    FakeDevice dev;
    Policy policy(dev, stepping(2));
    const MatcherId m = matcher_with(policy, 3);  // size_log 3: room for 5
    const MatcherState& state = *policy.find_matcher(m);
    const DeviceMatcherId source = state.device;
    ASSERT_TRUE(policy.reserve(m, 30, 30));  // presize begins; 1..3 still in the source
    ASSERT_TRUE(state.resize);
    const std::vector<Action> drop = {{ActionType::drop, 0}};
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both(), drop)));  // adds [drop]
    dev.fail({.op = Op::move_rules, .code = Errc::busy, .moved = 0});
    ASSERT_FALSE(policy.step(m));
    ASSERT_EQ(state.device, source);
    ASSERT_FALSE(state.rx.rehash_required) << "4 rules fit size_log 3";
    ASSERT_TRUE(testing::consistent(policy, dev));

    EXPECT_EQ(dev.matchers.at(source).spec.action_templates, state.action_templates.templates());
    auto id = policy.insert_rule(m, rule_in(Directions::both(), drop));
    EXPECT_TRUE(id) << id.error().message();
}

// The step that moves the last rule left in the source ends the resize even
// when the rules after it in `pending` were deleted.
TEST(ResizeStep, the_step_moving_the_last_rule_ends_the_resize_when_deleted_rules_follow) {
    Begun begun(2);
    auto& [dev, policy, m, state, source, target, rehashes] = begun;
    ASSERT_TRUE(policy.delete_rule(kRules));  // the last of the 11 to move
    for (int i = 0; i < 5; ++i) {             // 1..10, two a step
        ASSERT_TRUE(policy.step(m));
        ASSERT_TRUE(testing::consistent(policy, dev));
    }
    EXPECT_FALSE(state.resize);
    EXPECT_FALSE(dev.matchers.contains(source));
    EXPECT_EQ(policy.take_rehash_reports().size(), 1U);
}

// Random interleavings of inserts, bulk inserts, deletes, steps and
// finish_resize, with a fault injected at a random device call of some of
// them: after every operation each rule is where the policy thinks and the
// policy knows exactly the rules the test believes live.
// Each instance runs kSeedsPerTest seeds (one process per ctest entry).
constexpr unsigned kSeedsPerTest = 100;

class ResizeStepRandom : public ::testing::TestWithParam<unsigned> {
protected:
    void run_seed(unsigned seed);
};

TEST_P(ResizeStepRandom, every_rule_stays_where_the_policy_thinks) {
    for (unsigned seed = GetParam(); seed < GetParam() + kSeedsPerTest; ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        run_seed(seed);
        if (HasFatalFailure()) {
            return;
        }
    }
}

void ResizeStepRandom::run_seed(unsigned seed) {
    std::mt19937 rng(seed);
    auto pick = [&rng](std::size_t lo, std::size_t hi) {
        return std::uniform_int_distribution<std::size_t>(lo, hi)(rng);
    };
    FakeDevice dev;
    dev.caps_value.ste_alloc_log_max = 9;  // maxed out at size_log 6: 45 rules
    const auto step_rules = static_cast<int>(pick(1, 7));
    Policy policy(dev, stepping(step_rules));
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const MatcherState& state = *policy.find_matcher(m);
    const Directions dirs[] = {Directions::rx_only(), Directions::tx_only(), Directions::both()};
    // One or two actions of five types: action templates keep being added
    // all through the run, during resizes too.
    const ActionType types[] = {ActionType::accept, ActionType::drop, ActionType::mark,
                                ActionType::count, ActionType::queue};
    auto random_rule = [&] {
        std::vector<Action> actions{{types[pick(0, 4)], 1}};
        if (pick(0, 2) == 0) {
            actions.push_back({types[pick(0, 4)], 2});
        }
        return rule_in(dirs[pick(0, 2)], std::move(actions));
    };
    std::set<RuleId> live;
    std::size_t reports = 0;
    auto random_live = [&] {
        return *std::next(live.begin(), static_cast<long>(pick(0, live.size() - 1)));
    };

    constexpr int kOps = 200;
    for (int op = 0; op < kOps; ++op) {
        dev.faults.clear();
        if (pick(0, 3) == 0) {
            // Every call can fail; the resize's own calls more often.
            const Op fault_ops[] = {
                Op::create_matcher, Op::destroy_matcher, Op::set_resize_target,   Op::move_rules,
                Op::insert_rule,    Op::delete_rule,     Op::add_action_template, Op::move_rules,
                Op::move_rules,     Op::destroy_matcher, Op::set_resize_target};
            const Errc codes[] = {Errc::collision, Errc::busy, Errc::timeout, Errc::device};
            dev.fail(Fault{.op = fault_ops[pick(0, std::size(fault_ops) - 1)],
                           .code = codes[pick(0, 3)],
                           .skip = pick(0, 2),
                           .times = pick(1, 3),
                           .moved = pick(0, 8)});
            if (pick(0, 3) == 0) {  // and the undo of a failure can fail too
                dev.fail(Fault{.op = Op::delete_rule, .code = Errc::busy, .skip = pick(0, 2)});
            }
        }
        // Fill, then drain, so tables grow to their maximum and shrink.
        const bool draining = (op / 40) % 2 == 1;
        const std::size_t what = pick(0, 99);
        std::string name;
        std::optional<Error> error;
        if (live.empty() || what < (draining ? 8U : 40U)) {
            name = "insert_rule";
            auto id = policy.insert_rule(m, random_rule());
            if (id) {
                live.insert(*id);
            } else {
                error = id.error();
            }
        } else if (what < (draining ? 11U : 55U)) {
            name = "insert_rules";
            std::vector<RuleSpec> batch;
            for (std::size_t i = pick(2, 6); i > 0; --i) {
                batch.push_back(random_rule());
            }
            const BatchInsert out = policy.insert_rules(m, batch);
            if (out.error) {
                error = out.error;
                ASSERT_TRUE(out.ids.empty()) << "op " << op << ": all or nothing";
                for (const auto& [index, id] : out.kept) {  // but what the undo could not delete
                    ASSERT_LT(index, batch.size());
                    live.insert(id);
                }
            } else {
                ASSERT_EQ(out.ids.size(), batch.size()) << "op " << op;
                live.insert(out.ids.begin(), out.ids.end());
            }
        } else if (what < (draining ? 71U : 67U)) {
            name = "delete_rule";
            const RuleId id = random_live();
            auto out = policy.delete_rule(id);
            if (out) {
                live.erase(id);
            } else {
                error = out.error();
            }
        } else if (what < (draining ? 79U : 70U)) {
            name = "delete_rules";
            std::vector<RuleId> ids;
            for (std::size_t i = pick(2, 4); i > 0; --i) {
                const RuleId id = random_live();
                if (std::find(ids.begin(), ids.end(), id) == ids.end()) {
                    ids.push_back(id);
                }
            }
            const BatchDelete out = policy.delete_rules(ids);
            std::set<std::size_t> failed;
            for (const RuleFailure& f : out.failures) {
                failed.insert(f.index);
            }
            for (std::size_t i = 0; i < ids.size(); ++i) {
                if (!failed.contains(i)) {
                    live.erase(ids[i]);
                }
            }
            ASSERT_EQ(out.deleted + out.failures.size(), ids.size()) << "op " << op;
        } else if (what < 94U) {
            name = "step";
            const bool resizing = state.resize.has_value();
            const DeviceMatcherId source = resizing ? state.resize->source : 0;
            const std::size_t before = rules_in(dev, source);
            const std::size_t calls = dev.calls.size();
            auto st = policy.step(m);
            if (!st) {
                error = st.error();
                ASSERT_TRUE(resizing) << "op " << op << ": " << st.error().message();
                ASSERT_FALSE(state.resize) << "op " << op << ": a failed step turns it around";
            } else if (!resizing) {
                ASSERT_EQ(dev.calls.size(), calls) << "op " << op << ": nothing to do";
            } else {
                // The rules the source holds are the ones still to move.
                const auto budget = static_cast<std::size_t>(step_rules);
                ASSERT_EQ(before - rules_in(dev, source), std::min(budget, before)) << "op " << op;
                if (before > budget) {
                    ASSERT_TRUE(state.resize) << "op " << op << ": ended with rules left to move";
                } else {
                    ASSERT_FALSE(state.resize) << "op " << op << ": the last rule moved ends it";
                }
            }
        } else if (what < 96U) {
            // A resize asked for while one runs: the running one ends first.
            name = "reserve";
            auto grown = policy.reserve(m, pick(0, 30), pick(0, 30));
            if (!grown) {
                error = grown.error();
            }
        } else {
            name = "finish_resize";
            auto st = policy.finish_resize(m);
            if (!st) {
                error = st.error();
            }
            ASSERT_FALSE(state.resize) << "op " << op;
        }
        if (error && error->code() == Errc::degraded) {
            (void)policy.heal(m);
        }

        const std::string where = "op " + std::to_string(op) + " (" + name + ")" +
                                  (error ? ": " + error->message() : std::string());
        ASSERT_TRUE(testing::consistent(policy, dev)) << where;
        ASSERT_EQ(policy.rule_count(), live.size()) << where;
        std::set<RuleId> held;
        for (const RuleRef& r : state.rules) {
            held.insert(r.id);
        }
        ASSERT_EQ(held, live) << where;
        for (const RuleId id : live) {
            const RuleRecord* rec = policy.find_rule(id);
            ASSERT_NE(rec, nullptr) << where << ": rule " << id;
            ASSERT_EQ(rec->matcher, m) << where << ": rule " << id;
        }
        ASSERT_EQ(policy.resizing(),
                  state.resize ? std::vector<MatcherId>{m} : std::vector<MatcherId>{})
            << where;
        ASSERT_FALSE(state.resize && state.stray) << where << ": a resize beside a stray";
        if (state.resize) {
            ASSERT_TRUE(std::is_sorted(state.resize->pending.begin(), state.resize->pending.end()))
                << where;
            ASSERT_LE(state.resize->next, state.resize->pending.size()) << where;
            ASSERT_LE(state.resize->moved, state.resize->next) << where;
        }
        for (const RehashReport& r : policy.take_rehash_reports()) {
            ASSERT_EQ(r.matcher, m) << where;
            ASSERT_NE(r.old_device, r.new_device) << where;
            ASSERT_FALSE(dev.matchers.contains(r.old_device)) << where;
            ++reports;
        }
        ASSERT_EQ(state.rehashes, reports) << where;
    }

    dev.faults.clear();
    ASSERT_TRUE(policy.heal(m));
    ASSERT_TRUE(policy.finish_resize(m));
    const std::vector<RuleId> all(live.begin(), live.end());
    const BatchDelete out = policy.delete_rules(all);
    ASSERT_TRUE(out.failures.empty());
    ASSERT_EQ(out.deleted, all.size());
    ASSERT_TRUE(testing::consistent(policy, dev));
    ASSERT_TRUE(policy.destroy_matcher(m));
    EXPECT_TRUE(dev.matchers.empty());
    EXPECT_TRUE(dev.rules.empty());
    EXPECT_EQ(dev.rules_lost, 0U);
}

INSTANTIATE_TEST_SUITE_P(ResizeStepSeeds, ResizeStepRandom,
                         ::testing::Range(0U, 2000U, kSeedsPerTest));

}  // namespace
}  // namespace sgnic::policy
