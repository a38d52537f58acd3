// Per-direction sizing at every boundary: the rule count that triggers each
// rehash, the maxed-out size and the growth cap.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "policy/sizing.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::rule_in;

// n is the smallest rule count with n * 100 / 70 >= 2^size_log.
struct Boundary {
    int size_log;
    std::uint64_t triggering_rules;
};

constexpr Boundary kBoundaries[] = {
    {1, 2},  {2, 3},   {3, 6},   {4, 12},   {5, 23},    {6, 45},
    {7, 90}, {8, 180}, {9, 359}, {10, 717}, {11, 1434}, {12, 2868},
};

class ThresholdBoundary : public ::testing::TestWithParam<Boundary> {};

TEST_P(ThresholdBoundary, grows_at_exactly_the_triggering_count) {
    const Boundary b = GetParam();
    const PolicyConfig config;
    const Sizing sizing(
        config, Caps{.ste_alloc_log_max = 20, .rtc_log_depth_max = 4, .max_action_templates = 128});
    const DirectionSize below{
        .size_log = b.size_log, .rules = b.triggering_rules - 1, .rehash_required = false};
    const DirectionSize at{
        .size_log = b.size_log, .rules = b.triggering_rules, .rehash_required = false};
    EXPECT_FALSE(sizing.needs_growth(below))
        << "size_log " << b.size_log << " must not grow with " << below.rules << " rules";
    EXPECT_TRUE(sizing.needs_growth(at))
        << "size_log " << b.size_log << " must grow with " << at.rules << " rules";
}

INSTANTIATE_TEST_SUITE_P(SizeLog, ThresholdBoundary, ::testing::ValuesIn(kBoundaries),
                         [](const auto& info) {
                             return "size_log_" + std::to_string(info.param.size_log);
                         });

// The same table end to end: inserting rules one by one into one direction,
// the k-th rehash happens on exactly the k-th boundary's rule, moves every
// rule already in, and leaves the other direction alone.
struct DirectionCase {
    const char* name;
    Directions directions;
};

class RehashPerDirection : public ::testing::TestWithParam<DirectionCase> {};

TEST_P(RehashPerDirection, each_rehash_fires_on_the_boundary_rule) {
    const DirectionCase c = GetParam();
    FakeDevice dev;
    Policy policy(dev, PolicyConfig{.resize_step_rules = 0});  // each rehash ends in its call
    const MatcherId m = *policy.create_matcher(1, 0, {});

    std::uint64_t inserted = 0;
    for (const Boundary& b : kBoundaries) {
        while (inserted + 1 < b.triggering_rules) {
            ASSERT_TRUE(policy.insert_rule(m, rule_in(c.directions)));
            ++inserted;
        }
        ASSERT_TRUE(policy.take_rehash_reports().empty())
            << "rehash before rule " << b.triggering_rules << " at size_log " << b.size_log;
        ASSERT_TRUE(policy.insert_rule(m, rule_in(c.directions)));
        ++inserted;
        const std::vector<RehashReport> reports = policy.take_rehash_reports();
        ASSERT_EQ(reports.size(), 1U) << "at rule " << inserted;
        const SizeChange grown{b.size_log, b.size_log + 1};
        const SizeChange same{1, 1};
        EXPECT_EQ(reports[0].rx, c.directions.rx ? grown : same) << "rule " << inserted;
        EXPECT_EQ(reports[0].tx, c.directions.tx ? grown : same) << "rule " << inserted;
        EXPECT_EQ(reports[0].rules_moved, inserted - 1);
        EXPECT_EQ(reports[0].reason, RehashReason::threshold);
    }
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.size_log, c.directions.rx ? 13 : 1);
    EXPECT_EQ(state.tx.size_log, c.directions.tx ? 13 : 1);
    EXPECT_EQ(state.rehashes, std::size(kBoundaries));
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(Directions, RehashPerDirection,
                         ::testing::Values(DirectionCase{"rx_only", Directions::rx_only()},
                                           DirectionCase{"tx_only", Directions::tx_only()},
                                           DirectionCase{"both", Directions::both()}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PolicySizing, rx_only_rules_never_grow_tx) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only())));
    }
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.rules, 1000U);
    EXPECT_EQ(state.tx.rules, 0U);
    EXPECT_EQ(state.rx.size_log, 11);
    EXPECT_EQ(state.tx.size_log, 1);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicySizing, mixed_load_sizes_each_direction_by_its_own_rules) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    // 100 RX-only, 20 TX-only, 10 both: RX holds 110, TX holds 30.
    for (int i = 0; i < 100; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only())));
    }
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::tx_only())));
    }
    for (int i = 0; i < 10; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    }
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.rules, 110U);
    EXPECT_EQ(state.tx.rules, 30U);
    EXPECT_EQ(state.rx.size_log, 8);  // 90 ≤ 110 < 180
    EXPECT_EQ(state.tx.size_log, 6);  // 23 ≤ 30 < 45
    EXPECT_TRUE(testing::consistent(policy, dev));
}

// Maxed out when size_log + 2 + 1 > ste_alloc_log_max - 1, i.e. the largest
// size reached is ste_alloc_log_max - 3 (never below the initial 1).
struct MaxCase {
    int ste_alloc_log_max;
    int largest_size_log;
};

class MaxedOut : public ::testing::TestWithParam<MaxCase> {};

TEST_P(MaxedOut, growth_stops_at_the_largest_size_and_inserts_go_on) {
    const MaxCase c = GetParam();
    FakeDevice dev;
    dev.caps_value.ste_alloc_log_max = c.ste_alloc_log_max;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    // Enough rules to cross the threshold of the largest size twice over.
    const int rules = 3 << c.largest_size_log;
    for (int i = 0; i < rules; ++i) {
        ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both()))) << "rule " << i;
    }
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.size_log, c.largest_size_log);
    EXPECT_EQ(state.tx.size_log, c.largest_size_log);
    EXPECT_EQ(state.rehashes, static_cast<std::uint64_t>(c.largest_size_log - 1));
    EXPECT_FALSE(state.rx.rehash_required);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(SteAllocLogMax, MaxedOut,
                         ::testing::Values(MaxCase{3, 1}, MaxCase{4, 1}, MaxCase{5, 2},
                                           MaxCase{6, 3}, MaxCase{8, 5}, MaxCase{10, 7},
                                           MaxCase{12, 9}),
                         [](const auto& info) {
                             return "max_" + std::to_string(info.param.ste_alloc_log_max);
                         });

TEST(PolicySizing, maxed_out_predicate_flips_at_ste_alloc_log_max_minus_3) {
    const PolicyConfig config;
    for (int max = 4; max <= 24; ++max) {
        const Sizing sizing(
            config,
            Caps{.ste_alloc_log_max = max, .rtc_log_depth_max = 4, .max_action_templates = 128});
        EXPECT_FALSE(sizing.maxed_out(max - 4)) << "ste_alloc_log_max " << max;
        EXPECT_TRUE(sizing.maxed_out(max - 3)) << "ste_alloc_log_max " << max;
        const DirectionSize full{.size_log = max - 3, .rules = 1U << 20U, .rehash_required = false};
        EXPECT_FALSE(sizing.needs_growth(full)) << "maxed out never asks to grow";
    }
}

// The cap (ste_alloc_log_max - 2) only binds with a step larger than the
// maxed-out margin allows; with the defaults it is unreachable.
struct CapCase {
    int step;
    int ste_alloc_log_max;
    int from;
    int expected;
};

class GrowthCap : public ::testing::TestWithParam<CapCase> {};

TEST_P(GrowthCap, growth_never_passes_ste_alloc_log_max_minus_2) {
    const CapCase c = GetParam();
    PolicyConfig config;
    config.size_log_step = c.step;
    const Sizing sizing(config, Caps{.ste_alloc_log_max = c.ste_alloc_log_max,
                                     .rtc_log_depth_max = 4,
                                     .max_action_templates = 128});
    EXPECT_EQ(sizing.cap(), c.ste_alloc_log_max - 2);
    EXPECT_EQ(sizing.grown(c.from), c.expected)
        << "step " << c.step << " from " << c.from << " with ste_alloc_log_max "
        << c.ste_alloc_log_max;
}

INSTANTIATE_TEST_SUITE_P(Steps, GrowthCap,
                         ::testing::Values(CapCase{1, 10, 6, 7}, CapCase{1, 10, 7, 8},
                                           CapCase{1, 10, 8, 8}, CapCase{4, 10, 3, 7},
                                           CapCase{5, 10, 4, 8}, CapCase{8, 10, 1, 8}));

TEST(PolicySizing, create_refuses_a_device_too_small_for_the_initial_size) {
    FakeDevice dev;
    dev.caps_value.ste_alloc_log_max = 2;  // cap 0 < initial size_log 1
    Policy policy(dev);
    auto m = policy.create_matcher(1, 0, {});
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code(), Errc::invalid_argument) << m.error().message();
    EXPECT_TRUE(dev.matchers.empty());
}

}  // namespace
}  // namespace sgnic::policy
