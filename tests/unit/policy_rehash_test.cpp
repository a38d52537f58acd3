// Rehash as a transaction: the resize protocol, the report, and a failure
// at every step leaving every rule in a live matcher with sizes unchanged.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::Fault;
using testing::Op;
using testing::rule_in;

// Five rules in both directions: size_log 3; the sixth triggers 3 -> 4.
constexpr int kRules = 5;
constexpr int kSizeBefore = 3;

MatcherId matcher_with_five_rules(Policy& policy) {
    const MatcherId m = *policy.create_matcher(1, 0, {});
    for (int i = 0; i < kRules; ++i) {
        EXPECT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    }
    (void)policy.take_rehash_reports();
    return m;
}

TEST(PolicyRehash, follows_create_target_move_destroy_then_inserts) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = matcher_with_five_rules(policy);
    const DeviceMatcherId old = policy.find_matcher(m)->device;
    dev.calls.clear();

    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    const std::string o = std::to_string(old);
    const std::string n = std::to_string(old + 1);
    const std::vector<std::string> expected = {
        "create rx=4 tx=4", "target " + o + "->" + n, "move " + o + "->" + n + " n=5",
        "destroy " + o,     "insert 6 into " + n,
    };
    EXPECT_EQ(dev.calls, expected);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyRehash, report_carries_sizes_rules_moved_and_duration) {
    FakeDevice dev;
    auto now = std::chrono::steady_clock::time_point{};
    Policy policy(dev, PolicyConfig{}, [&now] {
        now += std::chrono::milliseconds(3);
        return now;
    });
    const MatcherId m = matcher_with_five_rules(policy);
    const DeviceMatcherId old = policy.find_matcher(m)->device;

    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    const RehashReport& r = reports[0];
    EXPECT_EQ(r.matcher, m);
    EXPECT_EQ(r.port, 1U);
    EXPECT_EQ(r.old_device, old);
    EXPECT_EQ(r.new_device, policy.find_matcher(m)->device);
    EXPECT_EQ(r.rx, (SizeChange{kSizeBefore, kSizeBefore + 1}));
    EXPECT_EQ(r.tx, (SizeChange{kSizeBefore, kSizeBefore + 1}));
    EXPECT_EQ(r.rules_moved, static_cast<std::size_t>(kRules));
    EXPECT_EQ(r.reason, RehashReason::threshold);
    EXPECT_EQ(r.duration, std::chrono::milliseconds(3));
    EXPECT_EQ(policy.find_matcher(m)->rehashes, 3U);  // 1->2, 2->3, 3->4
    EXPECT_TRUE(policy.take_rehash_reports().empty()) << "reports are handed out once";
}

struct StepFailure {
    const char* name;
    Fault fault;
    std::vector<std::string> undo;  // calls after the failing one; {old} and {new} substituted
};

class RehashStepFailure : public ::testing::TestWithParam<StepFailure> {};

std::vector<std::string> substitute(std::vector<std::string> calls, DeviceMatcherId old) {
    for (std::string& c : calls) {
        for (const auto& [key, id] :
             {std::pair{std::string("{old}"), old}, std::pair{std::string("{new}"), old + 1}}) {
            for (auto at = c.find(key); at != std::string::npos; at = c.find(key)) {
                c.replace(at, key.size(), std::to_string(id));
            }
        }
    }
    return calls;
}

TEST_P(RehashStepFailure, every_rule_stays_in_a_live_matcher_and_sizes_are_unchanged) {
    const StepFailure c = GetParam();
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = matcher_with_five_rules(policy);
    const DeviceMatcherId old = policy.find_matcher(m)->device;
    dev.calls.clear();
    dev.fail(c.fault);

    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), c.fault.code);
    EXPECT_NE(id.error().message().find("every rule is in device matcher " + std::to_string(old)),
              std::string::npos)
        << id.error().message();
    EXPECT_EQ(dev.calls, substitute(c.undo, old));

    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.device, old);
    EXPECT_EQ(state.rx.size_log, kSizeBefore);
    EXPECT_EQ(state.tx.size_log, kSizeBefore);
    EXPECT_EQ(state.rx.rules, static_cast<std::uint64_t>(kRules));
    EXPECT_EQ(state.tx.rules, static_cast<std::uint64_t>(kRules));
    EXPECT_FALSE(state.stray);
    EXPECT_TRUE(policy.take_rehash_reports().empty());
    EXPECT_TRUE(testing::consistent(policy, dev));

    // Nothing is stuck: the same insert now rehashes and lands.
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, kSizeBefore + 1);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(
    Steps, RehashStepFailure,
    ::testing::Values(
        StepFailure{
            "create", {.op = Op::create_matcher, .code = Errc::no_space}, {"create rx=4 tx=4"}},
        StepFailure{
            "set_target",
            {.op = Op::set_resize_target, .code = Errc::device},
            {"create rx=4 tx=4", "target {old}->{new}", "target {new}->{old}", "destroy {new}"}},
        StepFailure{"move_none_moved",
                    {.op = Op::move_rules, .code = Errc::timeout, .moved = 0},
                    {"create rx=4 tx=4", "target {old}->{new}", "move {old}->{new} n=5",
                     "target {new}->{old}", "destroy {new}"}},
        StepFailure{"move_three_moved",
                    {.op = Op::move_rules, .code = Errc::busy, .moved = 3},
                    {"create rx=4 tx=4", "target {old}->{new}", "move {old}->{new} n=5",
                     "target {new}->{old}", "move {new}->{old} n=3", "destroy {new}"}},
        StepFailure{
            "destroy_old",
            {.op = Op::destroy_matcher, .code = Errc::device},
            {"create rx=4 tx=4", "target {old}->{new}", "move {old}->{new} n=5", "destroy {old}",
             "target {new}->{old}", "move {new}->{old} n=5", "destroy {new}"}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyRehash, failed_collision_rehash_rolls_back_and_names_both_causes) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.fail({.op = Op::insert_rule, .code = Errc::collision});
    dev.fail({.op = Op::create_matcher, .code = Errc::no_space});

    auto id = policy.insert_rule(m, rule_in(Directions::rx_only()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::no_space);
    EXPECT_NE(id.error().message().find("collision, then"), std::string::npos)
        << id.error().message();
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 1);
    EXPECT_EQ(policy.find_matcher(m)->rx.rules, 0U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

// Found by daemon_faults on the real module: a rehash whose first move
// failed left the fresh matcher as the resize target, which the device
// will not destroy, and heal() retried that destroy forever.
TEST(PolicyRehash, an_empty_stray_is_turned_around_before_heal_destroys_it) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = matcher_with_five_rules(policy);
    const DeviceMatcherId old = policy.find_matcher(m)->device;
    dev.fail({.op = Op::move_rules, .code = Errc::busy, .moved = 0});
    // Turning the resize around fails too: the empty stray is still the
    // target of the live matcher.
    dev.fail({.op = Op::set_resize_target, .code = Errc::timeout, .skip = 1});

    ASSERT_FALSE(policy.insert_rule(m, rule_in(Directions::both())));
    ASSERT_TRUE(policy.find_matcher(m)->stray);
    EXPECT_TRUE(policy.find_matcher(m)->stray->rules.empty());
    dev.calls.clear();

    ASSERT_TRUE(policy.heal(m));
    const std::vector<std::string> expected = {
        "target " + std::to_string(old + 1) + "->" + std::to_string(old),
        "destroy " + std::to_string(old + 1)};
    EXPECT_EQ(dev.calls, expected);
    EXPECT_FALSE(policy.find_matcher(m)->stray);
    EXPECT_EQ(dev.matchers.size(), 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyRehash, interrupted_rollback_leaves_a_stray_that_heal_finishes) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = matcher_with_five_rules(policy);
    const DeviceMatcherId old = policy.find_matcher(m)->device;
    // Forward move stops after 3 rules; moving them back stops after 1.
    dev.fail({.op = Op::move_rules, .code = Errc::busy, .moved = 3});
    dev.fail({.op = Op::move_rules, .code = Errc::timeout, .moved = 1});

    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_FALSE(id);
    EXPECT_NE(id.error().message().find("rollback incomplete: 2 rules"), std::string::npos)
        << id.error().message();
    const MatcherState& state = *policy.find_matcher(m);
    ASSERT_TRUE(state.stray);
    EXPECT_EQ(state.stray->device, old + 1);
    EXPECT_EQ(state.stray->rules.size(), 2U);
    EXPECT_EQ(state.device, old);
    EXPECT_EQ(state.rx.size_log, kSizeBefore);
    EXPECT_TRUE(testing::consistent(policy, dev)) << "split rules are tracked where they are";

    // A rule stranded in the stray can still be deleted.
    const RuleId stranded = *state.stray->rules.begin();
    ASSERT_TRUE(policy.delete_rule(stranded));
    EXPECT_EQ(state.stray->rules.size(), 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));

    ASSERT_TRUE(policy.heal(m));
    EXPECT_FALSE(policy.find_matcher(m)->stray);
    EXPECT_EQ(dev.matchers.size(), 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyRehash, undestroyable_new_matcher_is_left_empty_and_healed_later) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = matcher_with_five_rules(policy);
    dev.fail({.op = Op::set_resize_target});
    dev.fail({.op = Op::destroy_matcher});

    ASSERT_FALSE(policy.insert_rule(m, rule_in(Directions::both())));
    const MatcherState& state = *policy.find_matcher(m);
    ASSERT_TRUE(state.stray);
    EXPECT_TRUE(state.stray->rules.empty());
    EXPECT_TRUE(testing::consistent(policy, dev));

    // The next insert heals first, then rehashes and lands.
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    EXPECT_FALSE(policy.find_matcher(m)->stray);
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, kSizeBefore + 1);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyRehash, insert_into_a_matcher_that_cannot_heal_reports_degraded) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = matcher_with_five_rules(policy);
    dev.fail({.op = Op::move_rules, .moved = 2});
    dev.fail({.op = Op::set_resize_target, .skip = 1});  // the reverse link fails
    ASSERT_FALSE(policy.insert_rule(m, rule_in(Directions::both())));
    ASSERT_TRUE(policy.find_matcher(m)->stray);

    dev.fail({.op = Op::set_resize_target, .code = Errc::busy});  // heal fails too
    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::degraded) << id.error().message();
    EXPECT_EQ(policy.rule_count(), static_cast<std::size_t>(kRules));
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyRehash, new_matcher_gets_every_action_template) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only(), {{ActionType::drop, 0}})));
    ASSERT_TRUE(policy.insert_rule(
        m, rule_in(Directions::rx_only(), {{ActionType::count, 0}, {ActionType::queue, 3}})));
    const MatcherState& state = *policy.find_matcher(m);
    ASSERT_EQ(state.rehashes, 1U);
    const std::vector<ActionTypes> expected = {{ActionType::drop},
                                               {ActionType::count, ActionType::queue}};
    EXPECT_EQ(dev.matchers.at(state.device).spec.action_templates, expected);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

}  // namespace
}  // namespace sgnic::policy
