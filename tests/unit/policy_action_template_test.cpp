// Action templates: one per distinct action-type sequence, added on demand,
// capacity 8 doubling to 128 (or the device's limit if lower).
#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::Op;
using testing::rule_in;

constexpr std::size_t kActionKinds = 5;

// The n-th distinct action list: n written in base 5, one action per digit,
// with a leading digit so lengths differ and no two lists are equal.
std::vector<Action> distinct_actions(std::size_t n) {
    std::vector<Action> actions;
    for (std::size_t v = n + 1; v > 0; v /= kActionKinds) {
        actions.push_back({static_cast<ActionType>(v % kActionKinds), 0});
    }
    return actions;
}

TEST(PolicyActionTemplates, same_sequence_reuses_its_template) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const std::vector<Action> actions = {{ActionType::mark, 7}, {ActionType::queue, 1}};
    const std::vector<Action> other_args = {{ActionType::mark, 9}, {ActionType::queue, 2}};
    const RuleId a = *policy.insert_rule(m, rule_in(Directions::rx_only(), actions));
    const RuleId b = *policy.insert_rule(m, rule_in(Directions::rx_only(), other_args));
    EXPECT_EQ(dev.count_calls("add template"), 1U) << "arguments do not make a new template";
    EXPECT_EQ(policy.find_rule(a)->action_template, policy.find_rule(b)->action_template);
    EXPECT_EQ(policy.find_matcher(m)->action_templates.size(), 1U);
}

struct CapacityStep {
    std::size_t distinct;
    std::size_t capacity;
};

TEST(PolicyActionTemplates, capacity_starts_at_8_and_doubles_up_to_128) {
    const std::vector<CapacityStep> table = {
        {1, 8},   {8, 8},   {9, 16},  {16, 16},  {17, 32},
        {32, 32}, {33, 64}, {64, 64}, {65, 128}, {128, 128},
    };
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    std::size_t inserted = 0;
    for (const CapacityStep& step : table) {
        while (inserted < step.distinct) {
            auto id =
                policy.insert_rule(m, rule_in(Directions::rx_only(), distinct_actions(inserted)));
            ASSERT_TRUE(id) << id.error().message();
            ++inserted;
        }
        const ActionTemplateSet& set = policy.find_matcher(m)->action_templates;
        EXPECT_EQ(set.size(), step.distinct);
        EXPECT_EQ(set.capacity(), step.capacity) << "after " << step.distinct << " templates";
    }
    EXPECT_TRUE(testing::consistent(policy, dev));
}

struct LimitCase {
    const char* name;
    int device_max;
    std::size_t limit;
};

class TemplateLimit : public ::testing::TestWithParam<LimitCase> {};

TEST_P(TemplateLimit, one_past_the_limit_is_refused_and_changes_nothing) {
    const LimitCase c = GetParam();
    FakeDevice dev;
    dev.caps_value.max_action_templates = c.device_max;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    for (std::size_t i = 0; i < c.limit; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both(), distinct_actions(i))));
    }
    const std::size_t calls = dev.calls.size();

    auto id = policy.insert_rule(m, rule_in(Directions::both(), distinct_actions(c.limit)));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::no_space) << id.error().message();
    EXPECT_EQ(dev.calls.size(), calls) << "the device is not asked";
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.action_templates.size(), c.limit);
    EXPECT_EQ(state.action_templates.capacity(), c.limit);
    EXPECT_EQ(state.rx.rules, c.limit);
    // A sequence already known still goes in.
    EXPECT_TRUE(policy.insert_rule(m, rule_in(Directions::both(), distinct_actions(0))));
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(Limits, TemplateLimit,
                         ::testing::Values(LimitCase{"upstream_128", 1024, 128},
                                           LimitCase{"device_20", 20, 20},
                                           LimitCase{"device_8", 8, 8},
                                           LimitCase{"device_5", 5, 5}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyActionTemplates, failed_template_add_restores_the_capacity) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    for (std::size_t i = 0; i < 8; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only(), distinct_actions(i))));
    }
    dev.fail({.op = Op::add_action_template, .code = Errc::busy});
    auto id = policy.insert_rule(m, rule_in(Directions::rx_only(), distinct_actions(8)));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::busy);
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.action_templates.size(), 8U);
    EXPECT_EQ(state.action_templates.capacity(), 8U);
    EXPECT_EQ(state.rx.rules, 8U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

}  // namespace
}  // namespace sgnic::policy
