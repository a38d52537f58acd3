// Insert and delete: counting per direction, collision retry, errors that
// must not rehash, rollback of counts, shrink when empty.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::Op;
using testing::rule_in;

struct DirectionCase {
    const char* name;
    Directions directions;
};

const auto kDirectionCases = ::testing::Values(DirectionCase{"rx_only", Directions::rx_only()},
                                               DirectionCase{"tx_only", Directions::tx_only()},
                                               DirectionCase{"both", Directions::both()});

class CollisionRetry : public ::testing::TestWithParam<DirectionCase> {};

TEST_P(CollisionRetry, collision_grows_only_the_rule_directions_and_the_retry_succeeds) {
    const DirectionCase c = GetParam();
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.calls.clear();
    dev.fail({.op = Op::insert_rule, .code = Errc::collision});

    auto id = policy.insert_rule(m, rule_in(c.directions));
    ASSERT_TRUE(id) << id.error().message();

    const int rx = c.directions.rx ? 2 : 1;
    const int tx = c.directions.tx ? 2 : 1;
    const std::vector<std::string> expected = {
        "add template to 100",
        "insert 1 into 100",  // collides
        "create rx=" + std::to_string(rx) + " tx=" + std::to_string(tx),
        "target 100->101",
        "destroy 100",
        "insert 1 into 101",
    };
    EXPECT_EQ(dev.calls, expected);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].reason, RehashReason::collision);
    EXPECT_EQ(reports[0].rx, (SizeChange{1, rx}));
    EXPECT_EQ(reports[0].tx, (SizeChange{1, tx}));
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(Directions, CollisionRetry, kDirectionCases,
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyInsert, collision_twice_rolls_the_counts_back) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only())));
    dev.fail({.op = Op::insert_rule, .code = Errc::collision, .times = 2});

    auto id = policy.insert_rule(m, rule_in(Directions::rx_only()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::collision) << id.error().message();
    EXPECT_NE(id.error().message().find("retry after rehash"), std::string::npos)
        << id.error().message();
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.rules, 1U);
    EXPECT_EQ(state.tx.rules, 0U);
    EXPECT_FALSE(state.rx.rehash_required);
    // The threshold rehash for rule 2 (size 1 -> 2) and the collision rehash
    // (2 -> 3) both completed; only the rule itself failed.
    EXPECT_EQ(state.rx.size_log, 3);
    EXPECT_EQ(policy.rule_count(), 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

struct NoRehashCase {
    const char* name;
    Errc code;
};

class NoRehashOnError : public ::testing::TestWithParam<NoRehashCase> {};

TEST_P(NoRehashOnError, error_other_than_collision_never_rehashes) {
    const NoRehashCase c = GetParam();
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.fail({.op = Op::insert_rule, .code = c.code});

    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), c.code) << id.error().message();
    EXPECT_EQ(dev.count_calls("create"), 1U) << "only the matcher's own create";
    EXPECT_EQ(dev.count_calls("insert"), 1U) << "no retry";
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.rules, 0U);
    EXPECT_EQ(state.tx.rules, 0U);
    EXPECT_FALSE(state.rx.rehash_required || state.tx.rehash_required);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(Errors, NoRehashOnError,
                         ::testing::Values(NoRehashCase{"busy", Errc::busy},
                                           NoRehashCase{"timeout", Errc::timeout},
                                           NoRehashCase{"device", Errc::device}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(PolicyInsert, busy_after_a_threshold_rehash_keeps_the_growth_and_drops_the_count) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only())));
    dev.fail({.op = Op::insert_rule, .code = Errc::busy});

    auto id = policy.insert_rule(m, rule_in(Directions::rx_only()));  // 2nd rule: 1 -> 2
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::busy);
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.rules, 1U);
    EXPECT_EQ(state.rx.size_log, 2);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyInsert, collision_at_maxed_out_size_fails_without_rehash_or_retry) {
    FakeDevice dev;
    dev.caps_value.ste_alloc_log_max = 4;  // size_log 1 is already maxed out
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.fail({.op = Op::insert_rule, .code = Errc::collision});

    auto id = policy.insert_rule(m, rule_in(Directions::both()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::collision);
    EXPECT_NE(id.error().message().find("maximum size"), std::string::npos) << id.error().message();
    EXPECT_EQ(dev.count_calls("create"), 1U);
    EXPECT_EQ(dev.count_calls("insert"), 1U);
    EXPECT_EQ(policy.find_matcher(m)->rx.rules, 0U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyInsert, failed_insert_burns_its_rule_id) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.fail({.op = Op::insert_rule, .code = Errc::timeout});
    ASSERT_FALSE(policy.insert_rule(m, rule_in(Directions::rx_only())));
    auto id = policy.insert_rule(m, rule_in(Directions::rx_only()));
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, 2U) << "a timed-out rule may exist in the device; its id is not reused";
}

TEST(PolicyInsert, rule_without_direction_is_refused_before_the_device_sees_it) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.calls.clear();
    auto id = policy.insert_rule(m, rule_in(Directions{}));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::invalid_argument);
    EXPECT_TRUE(dev.calls.empty());
}

TEST(PolicyInsert, unknown_matcher_and_rule_are_not_found) {
    FakeDevice dev;
    Policy policy(dev);
    auto id = policy.insert_rule(7, rule_in(Directions::rx_only()));
    ASSERT_FALSE(id);
    EXPECT_EQ(id.error().code(), Errc::not_found);
    auto del = policy.delete_rule(42);
    ASSERT_FALSE(del);
    EXPECT_EQ(del.error().code(), Errc::not_found);
    EXPECT_EQ(policy.destroy_matcher(7).error().code(), Errc::not_found);
}

TEST(PolicyDelete, empty_matcher_shrinks_to_the_initial_size) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    std::vector<RuleId> ids;
    ids.reserve(50);
    for (int i = 0; i < 50; ++i) {
        ids.push_back(*policy.insert_rule(m, rule_in(Directions::both())));
    }
    ASSERT_EQ(policy.find_matcher(m)->rx.size_log, 7);  // 45 <= 50 < 90
    (void)policy.take_rehash_reports();

    for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
        auto out = policy.delete_rule(ids[i]);
        ASSERT_TRUE(out);
    }
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 7) << "one rule left: no shrink yet";
    EXPECT_TRUE(policy.take_rehash_reports().empty());

    auto out = policy.delete_rule(ids.back());
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->shrink_error);
    const MatcherState& state = *policy.find_matcher(m);
    EXPECT_EQ(state.rx.size_log, 1);
    EXPECT_EQ(state.tx.size_log, 1);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].reason, RehashReason::shrink);
    EXPECT_EQ(reports[0].rx, (SizeChange{7, 1}));
    EXPECT_EQ(reports[0].tx, (SizeChange{7, 1}));
    EXPECT_EQ(reports[0].rules_moved, 0U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyDelete, shrink_waits_until_both_directions_are_empty) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    std::vector<RuleId> rx;
    std::vector<RuleId> tx;
    for (int i = 0; i < 10; ++i) {
        rx.push_back(*policy.insert_rule(m, rule_in(Directions::rx_only())));
        tx.push_back(*policy.insert_rule(m, rule_in(Directions::tx_only())));
    }
    for (const RuleId id : rx) {
        ASSERT_TRUE(policy.delete_rule(id));
    }
    EXPECT_EQ(policy.find_matcher(m)->rx.rules, 0U);
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 4) << "TX still holds rules";
    EXPECT_EQ(policy.find_matcher(m)->tx.size_log, 4);
    for (const RuleId id : tx) {
        ASSERT_TRUE(policy.delete_rule(id));
    }
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 1);
    EXPECT_EQ(policy.find_matcher(m)->tx.size_log, 1);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyDelete, failed_shrink_keeps_the_deletion_and_the_size) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const RuleId a = *policy.insert_rule(m, rule_in(Directions::rx_only()));
    const RuleId b = *policy.insert_rule(m, rule_in(Directions::rx_only()));
    ASSERT_TRUE(policy.delete_rule(a));
    dev.fail({.op = Op::create_matcher});

    auto out = policy.delete_rule(b);
    ASSERT_TRUE(out);
    ASSERT_TRUE(out->shrink_error);
    EXPECT_NE(out->shrink_error->message().find("create matcher"), std::string::npos)
        << out->shrink_error->message();
    EXPECT_EQ(policy.rule_count(), 0U);
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 2);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyDelete, failed_delete_keeps_the_rule_counted) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const RuleId a = *policy.insert_rule(m, rule_in(Directions::both()));
    dev.fail({.op = Op::delete_rule, .code = Errc::busy});
    auto out = policy.delete_rule(a);
    ASSERT_FALSE(out);
    EXPECT_EQ(out.error().code(), Errc::busy);
    EXPECT_EQ(policy.find_matcher(m)->rx.rules, 1U);
    EXPECT_EQ(policy.find_matcher(m)->tx.rules, 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(PolicyMatcher, destroy_refuses_a_matcher_with_rules) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const RuleId a = *policy.insert_rule(m, rule_in(Directions::both()));
    auto st = policy.destroy_matcher(m);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), Errc::invalid_argument);
    ASSERT_TRUE(policy.delete_rule(a));
    ASSERT_TRUE(policy.destroy_matcher(m));
    EXPECT_TRUE(dev.matchers.empty());
    EXPECT_EQ(policy.find_matcher(m), nullptr);
}

}  // namespace
}  // namespace sgnic::policy
