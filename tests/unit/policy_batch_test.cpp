// Bulk insert: the same sizes, rehashes and collision cures as inserting the
// rules one by one, in far fewer device requests; all or nothing on failure.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "policy/policy.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::Op;
using testing::rule_in;

struct Sequence {
    const char* name;
    std::size_t count;
    std::function<Directions(std::size_t)> directions;
};

std::vector<RuleSpec> make_rules(const Sequence& s) {
    std::vector<RuleSpec> rules;
    for (std::size_t i = 0; i < s.count; ++i) {
        rules.push_back(rule_in(s.directions(i)));
    }
    return rules;
}

struct Outcome {
    int rx_size_log = 0;
    int tx_size_log = 0;
    std::uint64_t rx_rules = 0;
    std::uint64_t tx_rules = 0;
    std::uint64_t rehashes = 0;
    std::vector<std::pair<SizeChange, SizeChange>> reports;
};

Outcome outcome(Policy& policy, MatcherId m) {
    const MatcherState* s = policy.find_matcher(m);
    Outcome o{.rx_size_log = s->rx.size_log,
              .tx_size_log = s->tx.size_log,
              .rx_rules = s->rx.rules,
              .tx_rules = s->tx.rules,
              .rehashes = s->rehashes,
              .reports = {}};
    for (const RehashReport& r : policy.take_rehash_reports()) {
        o.reports.emplace_back(r.rx, r.tx);
    }
    return o;
}

class BatchEquivalence : public ::testing::TestWithParam<Sequence> {};

TEST_P(BatchEquivalence, the_sizes_of_one_by_one_in_one_presize_and_fewer_requests) {
    const std::vector<RuleSpec> rules = make_rules(GetParam());

    FakeDevice one_dev;
    Policy one(one_dev);
    const MatcherId m1 = *one.create_matcher(1, 0, {});
    for (const RuleSpec& r : rules) {
        ASSERT_TRUE(one.insert_rule(m1, r));
    }

    FakeDevice bulk_dev;
    Policy bulk(bulk_dev);
    const MatcherId m2 = *bulk.create_matcher(1, 0, {});
    const BatchInsert b = bulk.insert_rules(m2, rules);
    ASSERT_FALSE(b.error) << b.error->message();
    ASSERT_EQ(b.ids.size(), rules.size());
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const RuleRecord* rec = bulk.find_rule(b.ids[i]);
        ASSERT_NE(rec, nullptr) << "rule #" << i;
        EXPECT_EQ(rec->directions, rules[i].directions) << "rule #" << i;
    }
    const Outcome o1 = outcome(one, m1);
    const MatcherState* s = bulk.find_matcher(m2);
    EXPECT_EQ(s->rx.size_log, o1.rx_size_log);
    EXPECT_EQ(s->tx.size_log, o1.tx_size_log);
    EXPECT_EQ(s->rx.rules, o1.rx_rules);
    EXPECT_EQ(s->tx.rules, o1.tx_rules);
    // One by one grows a step at a time; the batch grows once, before any
    // rule is in, so it moves none.
    const std::vector<RehashReport> reports = bulk.take_rehash_reports();
    const std::uint64_t expected_rehashes = o1.rehashes == 0 ? 0 : 1;
    EXPECT_EQ(s->rehashes, expected_rehashes);
    ASSERT_EQ(reports.size(), expected_rehashes);
    if (!reports.empty()) {
        EXPECT_EQ(reports[0].reason, RehashReason::presize);
        EXPECT_EQ(reports[0].rules_moved, 0U);
        EXPECT_EQ(reports[0].rx, (SizeChange{1, o1.rx_size_log}));
        EXPECT_EQ(reports[0].tx, (SizeChange{1, o1.tx_size_log}));
    }
    EXPECT_EQ(bulk_dev.rules.size(), rules.size());
    EXPECT_EQ(bulk_dev.count_calls("move"), 0U);
    // One request per kMaxRun rules: far fewer than one per rule.
    EXPECT_LE(bulk_dev.bulk_inserts, 2U);
    EXPECT_TRUE(testing::consistent(bulk, bulk_dev));
}

INSTANTIATE_TEST_SUITE_P(
    Sequences, BatchEquivalence,
    ::testing::Values(
        Sequence{"rx_only_300", 300, [](std::size_t) { return Directions::rx_only(); }},
        Sequence{"tx_only_300", 300, [](std::size_t) { return Directions::tx_only(); }},
        Sequence{"both_200", 200, [](std::size_t) { return Directions::both(); }},
        Sequence{"mixed_500", 500,
                 [](std::size_t i) {
                     return i % 3 == 0   ? Directions::rx_only()
                            : i % 3 == 1 ? Directions::tx_only()
                                         : Directions::both();
                 }},
        Sequence{"exactly_a_threshold_3", 3, [](std::size_t) { return Directions::rx_only(); }},
        Sequence{"single", 1, [](std::size_t) { return Directions::both(); }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(BatchInsert, collision_in_a_run_is_cured_by_a_rehash_and_every_rule_lands) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const std::vector<RuleSpec> rules(100, rule_in(Directions::rx_only()));
    dev.fail({.op = Op::insert_rule, .code = Errc::collision, .skip = 60});

    const BatchInsert b = policy.insert_rules(m, rules);
    ASSERT_FALSE(b.error) << b.error->message();
    EXPECT_EQ(dev.rules.size(), 100U);
    bool collision = false;
    for (const RehashReport& r : policy.take_rehash_reports()) {
        collision = collision || r.reason == RehashReason::collision;
    }
    EXPECT_TRUE(collision);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

struct FailureCase {
    const char* name;
    Errc code;
    std::size_t at;  // insert_rule call that fails for good
};

class BatchFailure : public ::testing::TestWithParam<FailureCase> {};

TEST_P(BatchFailure, leaves_nothing_behind_and_names_the_rule) {
    const FailureCase c = GetParam();
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));  // kept through the failure
    (void)policy.take_rehash_reports();
    const std::vector<RuleSpec> rules(80, rule_in(Directions::rx_only()));
    // A collision fails for good only if the retry after the rehash collides
    // too: from rule `at` on, every insert collides.
    dev.fail({.op = Op::insert_rule,
              .code = c.code,
              .skip = c.at,
              .times = c.code == Errc::collision ? std::size_t{1000} : std::size_t{1}});

    const BatchInsert b = policy.insert_rules(m, rules);
    ASSERT_TRUE(b.error);
    EXPECT_EQ(b.error->code(), c.code) << b.error->message();
    EXPECT_EQ(b.failed, c.at);
    EXPECT_TRUE(b.ids.empty());
    EXPECT_EQ(dev.rules.size(), 1U);
    EXPECT_EQ(policy.rule_count(), 1U);
    const MatcherState* s = policy.find_matcher(m);
    EXPECT_EQ(s->rx.rules, 1U);
    EXPECT_EQ(s->tx.rules, 1U);
    EXPECT_FALSE(s->rx.rehash_required);
    EXPECT_FALSE(s->tx.rehash_required);
    if (c.code != Errc::collision) {
        for (const RehashReport& r : policy.take_rehash_reports()) {
            EXPECT_NE(r.reason, RehashReason::collision) << "busy/timeout/device must not rehash";
        }
    }
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(Errors, BatchFailure,
                         ::testing::Values(FailureCase{"device_first", Errc::device, 0},
                                           FailureCase{"busy_middle", Errc::busy, 41},
                                           FailureCase{"timeout_last", Errc::timeout, 79},
                                           FailureCase{"collision_twice", Errc::collision, 30}),
                         [](const auto& info) { return std::string(info.param.name); });

// The device refuses to delete a rule the undo of a failed bulk insert takes
// out: it stays in, a live rule the policy knows where it is, and the
// outcome hands it to the caller (sgnicd deletes it later).
TEST(BatchInsert, a_failed_batch_keeps_the_rules_its_undo_cannot_delete_and_says_so) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.fail({.op = Op::insert_rule, .code = Errc::device, .skip = 2});  // the third fails
    dev.fail({.op = Op::delete_rule, .code = Errc::busy});               // undoing the first too
    const std::vector<RuleSpec> batch(3, rule_in(Directions::rx_only()));

    const BatchInsert out = policy.insert_rules(m, batch);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code(), Errc::device) << "the insert's failure, not the undo's";
    EXPECT_EQ(out.failed, 2U);
    EXPECT_TRUE(out.ids.empty());
    EXPECT_NE(out.error->message().find(
                  "the undo could not delete 1 of the batch's rules, which stay in"),
              std::string::npos)
        << out.error->message();
    ASSERT_EQ(out.kept.size(), 1U);
    const auto [index, id] = *out.kept.begin();
    EXPECT_EQ(index, 0U);
    ASSERT_NE(policy.find_rule(id), nullptr);
    EXPECT_EQ(policy.rule_count(), 1U);
    EXPECT_EQ(dev.rules.size(), 1U);
    EXPECT_EQ(policy.find_matcher(m)->rx.rules, 1U) << "counted as in";
    EXPECT_TRUE(testing::consistent(policy, dev));

    ASSERT_TRUE(policy.delete_rule(id)) << "the caller can take it out later";
    EXPECT_TRUE(dev.rules.empty());
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(BatchInsert, a_rule_without_directions_is_refused_by_index) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    std::vector<RuleSpec> rules(10, rule_in(Directions::tx_only()));
    rules[6].directions = {};
    const BatchInsert b = policy.insert_rules(m, rules);
    ASSERT_TRUE(b.error);
    EXPECT_EQ(b.error->code(), Errc::invalid_argument);
    EXPECT_EQ(b.failed, 6U);
    EXPECT_TRUE(dev.rules.empty());
    EXPECT_EQ(policy.find_matcher(m)->tx.rules, 0U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(BatchInsert, unknown_matcher) {
    FakeDevice dev;
    Policy policy(dev);
    const std::vector<RuleSpec> rules(2, rule_in(Directions::rx_only()));
    const BatchInsert b = policy.insert_rules(42, rules);
    ASSERT_TRUE(b.error);
    EXPECT_EQ(b.error->code(), Errc::not_found);
}

// Bulk delete: one device request per device matcher, one shrink per
// emptied matcher, and each rule goes or stays on its own.
TEST(BatchDelete, emptying_a_grown_matcher_is_one_request_and_one_shrink) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const std::vector<RuleSpec> rules(200, rule_in(Directions::rx_only()));
    const BatchInsert in = policy.insert_rules(m, rules);
    ASSERT_FALSE(in.error);
    ASSERT_GT(policy.find_matcher(m)->rx.size_log, 1);
    (void)policy.take_rehash_reports();

    const BatchDelete out = policy.delete_rules(in.ids);
    EXPECT_EQ(out.deleted, 200U);
    EXPECT_TRUE(out.failures.empty());
    EXPECT_TRUE(out.shrink_errors.empty());
    EXPECT_EQ(dev.bulk_deletes, 1U);
    EXPECT_TRUE(dev.rules.empty());
    EXPECT_EQ(policy.rule_count(), 0U);
    const MatcherState* s = policy.find_matcher(m);
    EXPECT_EQ(s->rx.size_log, 1);
    EXPECT_EQ(s->rx.rules, 0U);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].reason, RehashReason::shrink);
    EXPECT_EQ(reports[0].rules_moved, 0U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(BatchDelete, a_refused_rule_stays_counted_and_the_others_go) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const std::vector<RuleSpec> rules(20, rule_in(Directions::both()));
    const BatchInsert in = policy.insert_rules(m, rules);
    ASSERT_FALSE(in.error);
    const int size_log = policy.find_matcher(m)->rx.size_log;
    (void)policy.take_rehash_reports();
    dev.fail({.op = Op::delete_rule, .code = Errc::busy, .skip = 7});

    const BatchDelete out = policy.delete_rules(in.ids);
    EXPECT_EQ(out.deleted, 19U);
    ASSERT_EQ(out.failures.size(), 1U);
    EXPECT_EQ(out.failures[0].index, 7U);
    EXPECT_EQ(out.failures[0].error.code(), Errc::busy);
    EXPECT_NE(out.failures[0].error.message().find("delete rule " + std::to_string(in.ids[7])),
              std::string::npos)
        << out.failures[0].error.message();
    EXPECT_EQ(policy.rule_count(), 1U);
    ASSERT_NE(policy.find_rule(in.ids[7]), nullptr);
    const MatcherState* s = policy.find_matcher(m);
    EXPECT_EQ(s->rx.rules, 1U);
    EXPECT_EQ(s->tx.rules, 1U);
    EXPECT_EQ(s->rx.size_log, size_log) << "not empty: no shrink";
    EXPECT_TRUE(policy.take_rehash_reports().empty());
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(BatchDelete, unknown_and_repeated_ids_fail_by_index) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const RuleId a = *policy.insert_rule(m, rule_in(Directions::rx_only()));
    const RuleId b = *policy.insert_rule(m, rule_in(Directions::rx_only()));
    const RuleId c = *policy.insert_rule(m, rule_in(Directions::rx_only()));
    const std::vector<RuleId> ids = {a, 999, b, a};

    const BatchDelete out = policy.delete_rules(ids);
    EXPECT_EQ(out.deleted, 2U);
    ASSERT_EQ(out.failures.size(), 2U);
    EXPECT_EQ(out.failures[0].index, 1U);
    EXPECT_EQ(out.failures[0].error.code(), Errc::not_found);
    EXPECT_EQ(out.failures[1].index, 3U);
    EXPECT_EQ(out.failures[1].error.code(), Errc::not_found);
    EXPECT_EQ(policy.rule_count(), 1U);
    EXPECT_NE(policy.find_rule(c), nullptr);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(BatchDelete, one_request_per_matcher_and_each_emptied_matcher_shrinks) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m1 = *policy.create_matcher(1, 0, {});
    const MatcherId m2 = *policy.create_matcher(2, 0, {});
    const std::vector<RuleSpec> rules(40, rule_in(Directions::tx_only()));
    const BatchInsert in1 = policy.insert_rules(m1, rules);
    const BatchInsert in2 = policy.insert_rules(m2, rules);
    ASSERT_FALSE(in1.error);
    ASSERT_FALSE(in2.error);
    (void)policy.take_rehash_reports();
    // Interleaved: the policy groups them by the matcher that holds them.
    std::vector<RuleId> ids;
    for (std::size_t i = 0; i < rules.size(); ++i) {
        ids.push_back(in1.ids[i]);
        ids.push_back(in2.ids[i]);
    }

    const BatchDelete out = policy.delete_rules(ids);
    EXPECT_EQ(out.deleted, 80U);
    EXPECT_TRUE(out.failures.empty());
    EXPECT_EQ(dev.bulk_deletes, 2U);
    EXPECT_EQ(policy.find_matcher(m1)->tx.size_log, 1);
    EXPECT_EQ(policy.find_matcher(m2)->tx.size_log, 1);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 2U);
    EXPECT_EQ(reports[0].reason, RehashReason::shrink);
    EXPECT_EQ(reports[1].reason, RehashReason::shrink);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST(BatchDelete, a_failed_shrink_is_reported_and_the_rules_are_gone) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const std::vector<RuleSpec> rules(30, rule_in(Directions::rx_only()));
    const BatchInsert in = policy.insert_rules(m, rules);
    ASSERT_FALSE(in.error);
    const int size_log = policy.find_matcher(m)->rx.size_log;
    dev.fail({.op = Op::create_matcher});

    const BatchDelete out = policy.delete_rules(in.ids);
    EXPECT_EQ(out.deleted, 30U);
    ASSERT_EQ(out.shrink_errors.size(), 1U);
    EXPECT_EQ(policy.rule_count(), 0U);
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, size_log);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

// A batch that fails its presize still lands: step-by-step growth takes over.
TEST(BatchInsert, a_failed_presize_falls_back_to_growth_rule_by_rule) {
    FakeDevice dev;
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    dev.fail({.op = Op::create_matcher});
    const std::vector<RuleSpec> rules(20, rule_in(Directions::rx_only()));
    const BatchInsert in = policy.insert_rules(m, rules);
    ASSERT_FALSE(in.error) << in.error->message();
    EXPECT_EQ(in.ids.size(), 20U);
    // 20 RX rules need 2^5 rows: 1->2->3->4->5, the presize having failed.
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 5);
    EXPECT_EQ(policy.find_matcher(m)->rehashes, 4U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

// A bulk load that knows its size grows each table once, to the size its
// rules would reach, before they go in.
class Reserve : public ::testing::Test {
protected:
    FakeDevice dev;  // ste_alloc_log_max 20: growth stops at 2^17 rows
    Policy policy{dev};
    MatcherId m = *policy.create_matcher(1, 0, {});
};

TEST_F(Reserve, grows_each_direction_once_and_the_rules_then_go_in_without_a_rehash) {
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::rx_only())));
    (void)policy.take_rehash_reports();

    auto grown = policy.reserve(m, 1000, 100);
    ASSERT_TRUE(grown) << grown.error().message();
    EXPECT_TRUE(*grown);
    const std::vector<RehashReport> reports = policy.take_rehash_reports();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].reason, RehashReason::presize);
    EXPECT_EQ(reports[0].rules_moved, 1U);  // the rule already in
    // 1001 rules: 2^11 rows (1001 * 100 / 70 = 1430 < 2048); 100: 2^8.
    EXPECT_EQ(reports[0].rx, (SizeChange{1, 11}));
    EXPECT_EQ(reports[0].tx, (SizeChange{1, 8}));

    std::vector<RuleSpec> rules(1000, rule_in(Directions::rx_only()));
    rules.resize(1100, rule_in(Directions::tx_only()));
    const BatchInsert in = policy.insert_rules(m, rules);
    ASSERT_FALSE(in.error) << in.error->message();
    EXPECT_TRUE(policy.take_rehash_reports().empty());
    EXPECT_EQ(policy.find_matcher(m)->rehashes, 1U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST_F(Reserve, what_already_fits_changes_nothing) {
    const std::size_t calls = dev.calls.size();
    auto grown = policy.reserve(m, 1, 0);  // 1 rule in 2 rows: below 70 %
    ASSERT_TRUE(grown);
    EXPECT_FALSE(*grown);
    grown = policy.reserve(m, 0, 0);
    ASSERT_TRUE(grown);
    EXPECT_FALSE(*grown);
    EXPECT_EQ(dev.calls.size(), calls);
}

TEST_F(Reserve, more_than_the_largest_table_takes_is_refused_and_changes_nothing) {
    const std::size_t calls = dev.calls.size();
    const std::uint64_t most = (std::uint64_t{1} << 17) * 70 / 100 + 1;

    auto refused = policy.reserve(m, 0, most + 1);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::invalid_argument);
    EXPECT_NE(refused.error().message().find("more TX rules do not fit"), std::string::npos)
        << refused.error().message();
    refused = policy.reserve(m, UINT64_MAX, 0);
    ASSERT_FALSE(refused);
    EXPECT_EQ(dev.calls.size(), calls);
    EXPECT_EQ(policy.find_matcher(m)->tx.size_log, 1);

    auto grown = policy.reserve(m, 0, most);
    ASSERT_TRUE(grown) << grown.error().message();
    EXPECT_EQ(policy.find_matcher(m)->tx.size_log, 17);
}

TEST_F(Reserve, a_failed_resize_rolls_back_and_says_why) {
    ASSERT_TRUE(policy.insert_rule(m, rule_in(Directions::both())));
    dev.fail({.op = Op::move_rules, .code = Errc::no_space});
    auto refused = policy.reserve(m, 500, 500);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("reserve rules in"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(policy.find_matcher(m)->rx.size_log, 1);
    EXPECT_EQ(policy.find_matcher(m)->rehashes, 0U);
    EXPECT_TRUE(testing::consistent(policy, dev));
}

TEST_F(Reserve, unknown_matcher) {
    auto refused = policy.reserve(m + 1, 10, 0);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::not_found);
}

// Rehash log lines carry sizes per direction, rules moved and duration.
TEST(RehashLine, names_sizes_per_direction_rules_moved_and_duration) {
    RehashReport r;
    r.rx = {1, 2};
    r.tx = {1, 1};
    r.rules_moved = 5;
    r.duration = std::chrono::microseconds(120);
    EXPECT_EQ(format_rehash(r, 3, "eth0"),
              "rehash matcher 3 on eth0 (threshold): rx size_log 1->2, tx 1->1, "
              "5 rules moved in 120 us");
}

}  // namespace
}  // namespace sgnic::policy
