// The service's reconcile against the fake kernel: restart, module reload,
// ports that come and go.  Desired state survives in the store.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "fake_kernel.hpp"
#include "service/json_text.hpp"
#include "service/service.hpp"
#include "service/store_writer.hpp"

namespace sgnic::service {
namespace {

using testing::FakeKernel;

class ServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "sgnic-service-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        dir_ = tmpl;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // A service as sgnicd starts one: the store's state, then reconcile.
    std::unique_ptr<Service> start(policy::PolicyConfig config = {}) {
        auto store = store::Store::open(dir_);
        EXPECT_TRUE(store);
        auto desired = store->load();
        EXPECT_TRUE(desired);
        return std::make_unique<Service>(device_, kernel_, kernel_, std::move(*store),
                                         std::move(*desired), config);
    }

    // A run that adds a matcher with `n` rules and stops cleanly: its seal.
    model::Seal run_and_seal(int n) {
        auto first = start();
        EXPECT_TRUE(first->reconcile());
        populate(*first, n);
        auto sealed = first->seal();
        if (!sealed) {
            ADD_FAILURE() << sealed.error().message();
            return {};
        }
        return std::move(*sealed);
    }

    // The next run, given `seal`; `report` is its first reconcile's.
    std::unique_ptr<Service> start_sealed(const model::Seal& seal,
                                          std::optional<Expected<ReconcileReport>>& report) {
        auto s = start();
        s->set_seal(seal);
        report.emplace(s->reconcile());
        return s;
    }

    // One matcher on sg0 with `n` RX rules.
    static void populate(Service& s, int n) {
        const std::vector<proto::FieldText> fields = {{"l4-dport", "0xffff"}};
        auto m = s.create_matcher("sg0", 0, fields, 0);
        ASSERT_TRUE(m) << m.error().message();
        auto ids = s.add_rules("sg0", drop_rules(*m, n, 1000), 1000);
        ASSERT_TRUE(ids) << ids.error().message();
    }

    // A service whose device inserts a bulk batch on its thread (as the
    // netlink adapter does), adopted, with one matcher holding one rule.
    std::unique_ptr<Service> start_deferred() {
        auto s = start();
        s->set_deferred_inserts(&deferred_);
        EXPECT_TRUE(s->reconcile());
        populate(*s, 1);
        return s;
    }

    // `n` RX rules of matcher `m` that count and drop, for UDP ports from
    // `first_port` on.
    static std::vector<RuleRequest> drop_rules(model::MatcherKey m, int n, int first_port) {
        std::vector<RuleRequest> rules;
        rules.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            rules.push_back({.matcher = m,
                             .directions = "rx",
                             .match = {{"l4-dport", std::to_string(first_port + i)}},
                             .actions = {"count", "drop"}});
        }
        return rules;
    }

    // The device's inserts deferred as the netlink adapter defers them.
    class FakeDeferred final : public DeferredInserts {
    public:
        explicit FakeDeferred(policy::testing::FakeDevice& device) : device_(device) {}
        void defer_inserts(bool on) override { device_.deferring = on; }
        Outcome settle_inserts() override {
            auto d = std::exchange(device_.deferred, {});
            return {.refused = d.refused, .first = std::move(d.first)};
        }

    private:
        policy::testing::FakeDevice& device_;
    };

    std::filesystem::path dir_;
    policy::testing::FakeDevice device_;
    FakeKernel kernel_{device_};
    FakeDeferred deferred_{device_};
};

// Rule operations the device saw: inserts, deletes, moves and matcher changes.
std::size_t table_operations(const policy::testing::FakeDevice& d) {
    return d.count_calls("insert") + d.count_calls("delete") + d.count_calls("move") +
           d.count_calls("create") + d.count_calls("destroy") + d.count_calls("target");
}

TEST_F(ServiceTest, a_restart_adopts_what_the_kernel_holds_without_touching_it) {
    std::map<model::RuleKey, policy::RuleId> device_ids;
    {
        auto first = start();
        ASSERT_TRUE(first->reconcile());
        populate(*first, 5);
        ASSERT_EQ(device_.rules.size(), 5U);
        for (const model::DesiredRule& r : first->desired().rules) {
            device_ids[r.id] = 0;
        }
    }  // the daemon exits; the kernel keeps its objects
    for (const auto& [id, r] : device_.rules) {
        ASSERT_TRUE(device_ids.contains(r.spec.cookie)) << "rule " << id << " carries its key";
        device_ids[r.spec.cookie] = id;
    }
    const auto matchers_before = device_.matchers;
    device_.calls.clear();

    auto second = start();
    auto report = second->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_TRUE(report->adoption);
    EXPECT_EQ(report->adopted_matchers, 1U);
    EXPECT_EQ(report->adopted_rules, 5U);
    EXPECT_EQ(report->deleted_rules + report->deleted_matchers, 0U);
    EXPECT_EQ(report->added_rules + report->added_matchers + report->replaced_rules, 0U);
    EXPECT_EQ(report->failed, 0U);
    EXPECT_EQ(table_operations(device_), 0U) << "the tables were not touched";
    EXPECT_EQ(device_.rules.size(), 5U);
    EXPECT_EQ(device_.matchers.size(), matchers_before.size());
    for (const auto& [key, id] : device_ids) {
        EXPECT_EQ(device_.rules.at(id).spec.cookie, key) << "the same kernel rule, untouched";
    }
    EXPECT_EQ(second->desired().rules.begin()->uid, 1000U);
    const policy::MatcherState* m =
        second->matcher_state(second->desired().matchers.begin()->first);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->rx.rules, 5U);
    EXPECT_EQ(m->rx.size_log, matchers_before.begin()->second.spec.rx_size_log);

    // The adopted matcher works as if this run had made it: more rules,
    // with the rehash they need, and deletes.
    std::vector<RuleRequest> more;
    more.reserve(20);
    for (int i = 0; i < 20; ++i) {
        more.push_back({.matcher = second->desired().matchers.begin()->first,
                        .directions = "rx",
                        .match = {{"l4-dport", std::to_string(5000 + i)}},
                        .actions = {"count", "drop"}});
    }
    auto ids = second->add_rules("sg0", more, 0);
    ASSERT_TRUE(ids) << ids.error().message();
    EXPECT_EQ(device_.rules.size(), 25U);
    ASSERT_TRUE(
        second->delete_rules("sg0", std::vector<model::RuleKey>{device_ids.begin()->first}));
    EXPECT_EQ(device_.rules.size(), 24U);

    auto again = second->reconcile();
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->adoption);
    EXPECT_EQ(again->added_rules + again->deleted_rules, 0U) << "a second pass finds nothing";
}

TEST_F(ServiceTest, a_start_applies_only_the_difference_and_leaves_other_owners_alone) {
    {
        auto first = start();
        ASSERT_TRUE(first->reconcile());
        populate(*first, 6);
    }
    ASSERT_EQ(device_.matchers.size(), 1U);
    const policy::DeviceMatcherId ours = device_.matchers.begin()->first;
    std::vector<policy::RuleId> ids;
    for (const auto& [id, r] : device_.rules) {
        ids.push_back(id);
    }
    // Made to disagree while sgnicd was down: one of its rules removed by
    // hand, one changed (same cookie, another action), one stray of its own
    // the store does not know (a crash between kernel and store), another
    // owner's rule inside sgnicd's matcher, and another owner's matcher.
    const std::uint64_t removed_key = device_.rules.at(ids[0]).spec.cookie;
    ASSERT_TRUE(device_.delete_rule(ours, ids[0]));
    device_.rules.at(ids[1]).spec.actions = {{.type = policy::ActionType::accept, .arg = 0}};
    policy::RuleSpec stray = device_.rules.at(ids[2]).spec;
    stray.cookie = 999;
    stray.match = {0x27, 0x0f};
    ASSERT_TRUE(device_.insert_rule(ours, 500, 0, stray));
    policy::RuleSpec intruder = stray;
    intruder.cookie = 0;
    intruder.match = {0x27, 0x10};
    ASSERT_TRUE(device_.insert_rule(ours, 501, 0, intruder));
    device_.rules.at(501).owner = 0;
    auto foreign = device_.create_matcher(device_.matchers.at(ours).spec);
    ASSERT_TRUE(foreign);
    device_.matchers.at(*foreign).owner = 0;
    device_.matchers.at(*foreign).spec.cookie = 0;
    ASSERT_TRUE(device_.insert_rule(*foreign, 600, 0, intruder));
    device_.rules.at(600).owner = 0;
    device_.calls.clear();

    auto s = start();
    auto report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->adopted_matchers, 1U);
    EXPECT_EQ(report->adopted_rules, 4U) << "six stored, one gone, one changed";
    EXPECT_EQ(report->added_rules, 1U) << "the one removed by hand";
    EXPECT_EQ(report->replaced_rules, 1U);
    EXPECT_EQ(report->deleted_rules, 2U) << "the stray and the intruder in sgnicd's matcher";
    EXPECT_EQ(report->deleted_matchers, 0U);
    EXPECT_EQ(report->foreign_matchers, 1U);
    EXPECT_EQ(report->foreign_rules, 1U);
    EXPECT_EQ(report->failed, 0U);
    EXPECT_TRUE(device_.rules.contains(600)) << "another owner's rule is left alone";
    EXPECT_TRUE(device_.matchers.contains(*foreign));
    EXPECT_FALSE(device_.rules.contains(500));
    EXPECT_FALSE(device_.rules.contains(501));
    EXPECT_TRUE(device_.rules.contains(ids[2]) && device_.rules.contains(ids[3]) &&
                device_.rules.contains(ids[4]) && device_.rules.contains(ids[5]))
        << "unchanged rules stay as they are";
    std::size_t with_removed_key = 0;
    std::size_t added = 0;
    const std::set<policy::RuleId> kept = {ids[2], ids[3], ids[4], ids[5], 600};
    for (const auto& [id, r] : device_.rules) {
        with_removed_key += r.spec.cookie == removed_key ? 1 : 0;
        if (kept.contains(id)) {
            continue;
        }
        ++added;
        EXPECT_GT(id, 600U) << "new rules take ids above every id the kernel holds";
        EXPECT_EQ(r.spec.actions.back().type, policy::ActionType::drop) << "as stored";
    }
    EXPECT_EQ(added, 2U) << "the removed rule and the changed one's new version";
    EXPECT_EQ(with_removed_key, 1U);
    EXPECT_EQ(device_.count_calls("insert"), 2U);
    EXPECT_EQ(device_.count_calls("delete"), 3U);
}

TEST_F(ServiceTest, a_resize_left_half_done_is_finished_at_start) {
    {
        auto first = start();
        ASSERT_TRUE(first->reconcile());
        populate(*first, 6);
    }
    // The last run died in the middle of a rehash: a larger target with the
    // same cookie, linked, holding half of the rules.
    const policy::DeviceMatcherId source = device_.matchers.begin()->first;
    policy::MatcherSpec bigger = device_.matchers.at(source).spec;
    bigger.rx_size_log += 1;
    auto target = device_.create_matcher(bigger);
    ASSERT_TRUE(target);
    ASSERT_TRUE(device_.set_resize_target(source, *target));
    std::vector<policy::RuleId> ids(device_.matchers.at(source).rules.begin(),
                                    device_.matchers.at(source).rules.end());
    ASSERT_FALSE(device_.move_rules(source, *target, std::span(ids).first(3)).error);

    auto s = start();
    auto report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->settled_resizes, 1U);
    EXPECT_EQ(report->adopted_rules, 6U);
    EXPECT_EQ(report->added_rules + report->deleted_rules, 0U);
    EXPECT_EQ(kernel_.settled, 1U);
    ASSERT_EQ(device_.matchers.size(), 1U);
    EXPECT_TRUE(device_.matchers.contains(*target)) << "the resize was finished, not undone";
    EXPECT_EQ(device_.rules.size(), 6U);
    EXPECT_EQ(device_.rules_lost, 0U);
    const policy::MatcherState* m = s->matcher_state(s->desired().matchers.begin()->first);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->device, *target);
    EXPECT_EQ(m->rx.size_log, bigger.rx_size_log);
}

// sgnicd's setting: a rehash moves its rules a step at a time between calls.
TEST_F(ServiceTest, a_rehash_moves_its_rules_a_step_at_a_time_and_reads_see_every_rule) {
    auto s = start(policy::PolicyConfig{.resize_step_rules = 3});
    ASSERT_TRUE(s->reconcile());
    populate(*s, 20);  // an empty matcher presizes with nothing to move
    EXPECT_FALSE(s->resizing());
    ASSERT_EQ(device_.matchers.size(), 1U);
    const model::MatcherKey key = s->desired().matchers.begin()->first;
    const policy::DeviceMatcherId before = s->matcher_state(key)->device;
    const int size_before = s->matcher_state(key)->rx.size_log;
    const std::uint64_t rehashes_before = s->matcher_state(key)->rehashes;

    // 40 more: the tables grow once, the new rules go to the new tables at
    // once, and the 20 old ones wait to be moved.
    ASSERT_TRUE(s->add_rules("sg0", drop_rules(key, 40, 5000), 1000));
    ASSERT_TRUE(s->resizing());
    const policy::MatcherState* m = s->matcher_state(key);
    ASSERT_TRUE(m->resize);
    EXPECT_EQ(m->resize->source, before);
    EXPECT_GT(m->rx.size_log, size_before);
    EXPECT_EQ(device_.matchers.size(), 2U);
    EXPECT_EQ(device_.matchers.at(before).rules.size(), 20U);
    EXPECT_EQ(device_.matchers.at(m->device).rules.size(), 40U);

    // Reads in the middle see every rule once, wherever it is.
    auto described = s->describe_rules("sg0", 0);
    ASSERT_TRUE(described) << described.error().message();
    const auto doc = nlohmann::json::parse(*described);
    EXPECT_EQ(doc["rules"].size(), 60U);
    for (const auto& r : doc["rules"]) {
        EXPECT_FALSE(r["counters"].is_null()) << r.dump();
    }
    // A delete finds a rule that has not moved yet.
    const model::RuleKey first_rule = s->desired().rules.begin()->id;
    ASSERT_TRUE(s->delete_rules("sg0", std::span(&first_rule, 1)));

    std::size_t steps = 0;
    while (s->resize_step()) {
        ++steps;
        ASSERT_LT(steps, 100U);
    }
    EXPECT_EQ(steps + 1, 7U) << "19 rules, 3 a step";
    EXPECT_FALSE(s->resizing());
    ASSERT_EQ(device_.matchers.size(), 1U);
    EXPECT_FALSE(device_.matchers.contains(before));
    EXPECT_EQ(device_.rules.size(), 59U);
    EXPECT_EQ(device_.rules_lost, 0U);
    EXPECT_EQ(s->matcher_state(key)->rehashes, rehashes_before + 1);
}

// A rehash interrupted by a stop is in the kernel half done: the next start
// settles it, and then nothing else changes.
TEST_F(ServiceTest, a_stop_in_the_middle_of_a_stepped_rehash_is_settled_at_start) {
    {
        auto s = start(policy::PolicyConfig{.resize_step_rules = 4});
        ASSERT_TRUE(s->reconcile());
        populate(*s, 20);
        const model::MatcherKey key = s->desired().matchers.begin()->first;
        ASSERT_TRUE(s->add_rules("sg0", drop_rules(key, 40, 5000), 1000));
        ASSERT_TRUE(s->resize_step());  // 4 of 20 moved, then the daemon stops
        ASSERT_EQ(device_.matchers.size(), 2U);
    }
    auto s = start(policy::PolicyConfig{.resize_step_rules = 4});
    auto report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->settled_resizes, 1U);
    EXPECT_EQ(report->adopted_rules, 60U);
    EXPECT_EQ(report->added_rules + report->deleted_rules + report->replaced_rules, 0U);
    EXPECT_EQ(device_.matchers.size(), 1U);
    EXPECT_EQ(device_.rules.size(), 60U);
    EXPECT_EQ(device_.rules_lost, 0U);
    EXPECT_FALSE(s->resizing());
}

TEST_F(ServiceTest, a_read_only_start_leaves_the_kernel_alone_and_refuses_changes) {
    {
        auto first = start();
        ASSERT_TRUE(first->reconcile());
        populate(*first, 3);
    }
    device_.calls.clear();
    kernel_.dumps = 0;
    // As sgnicd starts when its store cannot be read: nothing desired.
    Service s(device_, kernel_, kernel_, std::nullopt, model::DesiredState{},
              policy::PolicyConfig{});
    s.set_read_only("the state in /x cannot be read (damaged)");
    auto report = s.reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(table_operations(device_), 0U);
    EXPECT_EQ(kernel_.dumps, 0U) << "not even read: nothing is decided from it";
    EXPECT_EQ(device_.rules.size(), 3U);
    EXPECT_EQ(s.ports().size(), 2U) << "ports are still served";
    const std::vector<proto::FieldText> fields = {{"l4-dport", "0xffff"}};
    auto m = s.create_matcher("sg0", 0, fields, 0);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code(), Errc::store);
    EXPECT_NE(m.error().message().find("read-only: the state in /x cannot be read"),
              std::string::npos)
        << m.error().message();
    EXPECT_FALSE(s.flush_rules(""));
    EXPECT_FALSE(s.delete_rules_by_id(std::vector<model::RuleKey>{1}));
    EXPECT_EQ(table_operations(device_), 0U);
}

// The store deletes a matcher's rules by the ids the service names (it has
// no index by matcher): none may be left behind, or the next start would
// find a rule without its matcher and refuse the whole store.
TEST_F(ServiceTest, deleting_a_matcher_leaves_no_rule_of_it_in_the_store) {
    {
        auto s = start();
        ASSERT_TRUE(s->reconcile());
        const std::vector<proto::FieldText> fields = {{"l4-dport", "0xffff"}};
        auto gone = s->create_matcher("sg0", 0, fields, 0);
        auto kept = s->create_matcher("sg0", 1, fields, 0);
        ASSERT_TRUE(gone && kept);
        ASSERT_TRUE(s->add_rules("sg0", drop_rules(*gone, 5, 1000), 1000));
        ASSERT_TRUE(s->add_rules("sg0", drop_rules(*kept, 2, 2000), 1000));
        ASSERT_TRUE(s->add_rules("sg0", drop_rules(*gone, 3, 3000), 1000));
        ASSERT_TRUE(s->delete_matcher(*gone));
    }
    auto store = store::Store::open(dir_);
    ASSERT_TRUE(store) << store.error().message();
    auto desired = store->load();
    ASSERT_TRUE(desired) << desired.error().message();
    EXPECT_EQ(desired->matchers.size(), 1U);
    EXPECT_EQ(desired->rules.size(), 2U);
    for (const model::DesiredRule& r : desired->rules) {
        EXPECT_EQ(desired->matchers.count(r.matcher), 1U) << "rule " << r.id;
    }
}

TEST_F(ServiceTest, a_module_reload_brings_every_rule_back) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 4);
    device_.matchers.clear();  // the module is unloaded and loaded again
    device_.rules.clear();
    auto report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_TRUE(report->policy_reset);
    EXPECT_EQ(report->added_matchers, 1U);
    EXPECT_EQ(report->added_rules, 4U);
    EXPECT_EQ(device_.rules.size(), 4U);
    const policy::MatcherState* m = s->matcher_state(s->desired().matchers.begin()->first);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->rx.rules, 4U);
    EXPECT_GT(m->rx.size_log, 1) << "the reinstall grew RX again";
    EXPECT_EQ(m->tx.size_log, 1);
}

TEST_F(ServiceTest, matchers_of_an_absent_port_wait_for_it) {
    {
        auto s = start();
        ASSERT_TRUE(s->reconcile());
        populate(*s, 2);
    }
    device_.matchers.clear();
    device_.rules.clear();
    const auto ports = kernel_.ports;
    kernel_.ports.erase(kernel_.ports.begin());  // sg0 is gone
    auto s = start();
    auto report = s->reconcile();
    ASSERT_TRUE(report);
    EXPECT_EQ(report->waiting, 1U);
    EXPECT_TRUE(device_.rules.empty());
    EXPECT_EQ(s->desired().rules.size(), 2U) << "waiting is not forgetting";

    kernel_.ports = ports;
    report = s->reconcile();
    ASSERT_TRUE(report);
    EXPECT_EQ(report->waiting, 0U);
    EXPECT_EQ(report->added_rules, 2U);
    EXPECT_EQ(device_.rules.size(), 2U);
}

TEST_F(ServiceTest, a_failed_batch_is_neither_in_the_device_nor_in_the_store) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 1);
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    device_.fail({.op = policy::testing::Op::insert_rule,
                  .code = Errc::busy,
                  .skip = 1,
                  .times = 1,
                  .moved = 0});
    const std::vector<RuleRequest> rules = {
        {.matcher = m, .directions = "tx", .match = {{"l4-dport", "1"}}, .actions = {"drop"}},
        {.matcher = m, .directions = "tx", .match = {{"l4-dport", "2"}}, .actions = {"drop"}}};
    auto ids = s->add_rules("sg0", rules, 0);
    ASSERT_FALSE(ids);
    EXPECT_EQ(ids.error().code(), Errc::busy);
    EXPECT_EQ(ids.error().message().rfind("rule #1: ", 0), 0U) << ids.error().message();
    EXPECT_EQ(device_.rules.size(), 1U);
    s.reset();
    auto reopened = store::Store::open(dir_);
    ASSERT_TRUE(reopened);
    EXPECT_EQ(reopened->load()->rules.size(), 1U);
}

// A batch large enough for the store to write its rows on a thread of its
// own: the device refusing a rule midway leaves neither the device nor the
// store with any of it; a batch that goes in is stored, ids and all.
TEST_F(ServiceTest, a_large_batch_is_stored_whole_or_not_at_all) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 1);
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const int n = static_cast<int>(kStoreThreadBatch) + 10;
    device_.fail({.op = policy::testing::Op::insert_rule,
                  .code = Errc::busy,
                  .skip = static_cast<int>(kStoreThreadBatch) + 5,
                  .times = 1,
                  .moved = 0});
    auto refused = s->add_rules("sg0", drop_rules(m, n, 2000), 0);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::busy);
    EXPECT_EQ(device_.rules.size(), 1U);
    EXPECT_EQ(s->desired().rules.size(), 1U);

    auto ids = s->add_rules("sg0", drop_rules(m, n, 2000), 0);
    ASSERT_TRUE(ids) << ids.error().message();
    ASSERT_EQ(ids->size(), static_cast<std::size_t>(n));
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 1);
    const model::DesiredState kept = s->desired();
    s.reset();
    auto reopened = store::Store::open(dir_);
    ASSERT_TRUE(reopened);
    auto stored = reopened->load();
    ASSERT_TRUE(stored) << stored.error().message();
    ASSERT_EQ(stored->rules.size(), static_cast<std::size_t>(n) + 1);
    EXPECT_EQ(stored->next_rule, kept.next_rule);
    for (const model::RuleKey id : *ids) {
        ASSERT_NE(stored->rules.find(id), nullptr) << "rule " << id;
        EXPECT_EQ(stored->rules.find(id)->body, kept.rules.find(id)->body) << "rule " << id;
    }
}

// The store cannot take a batch (another process holds its write lock): the
// call fails naming the store, and the device is as it was, whether the rows
// were written on the caller's thread or on one of their own.
TEST_F(ServiceTest, a_batch_the_store_refuses_is_taken_out_of_the_device) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 1);
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    for (const int n : {2, static_cast<int>(kStoreThreadBatch) + 1}) {
        SCOPED_TRACE(n);
        {
            auto other = store::Database::open(store::Store::file_in(dir_));
            ASSERT_TRUE(other);
            ASSERT_TRUE(other->exec("BEGIN IMMEDIATE"));
            auto refused = s->add_rules("sg0", drop_rules(m, n, 3000), 0);
            ASSERT_FALSE(refused);
            EXPECT_EQ(refused.error().code(), Errc::store);
            EXPECT_NE(refused.error().message().find("locked"), std::string::npos)
                << refused.error().message();
            EXPECT_EQ(device_.rules.size(), 1U);
            EXPECT_EQ(s->desired().rules.size(), 1U);
        }  // the other connection goes, its transaction with it
        auto ids = s->add_rules("sg0", drop_rules(m, n, 3000), 0);
        ASSERT_TRUE(ids) << ids.error().message();
        EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 1);
        ASSERT_TRUE(s->delete_rules("sg0", *ids));
    }
}

// A load's writes run one after another on one thread of their own, their
// results (and errors) come back through the futures, and a write given
// is finished before the writer goes.
TEST(StoreWriter, writes_one_after_another_on_its_thread_and_finishes_the_last) {
    std::thread::id first;
    std::thread::id second;
    {
        StoreWriter writer;
        auto one = writer.run([&] {
            first = std::this_thread::get_id();
            return Status();
        });
        ASSERT_TRUE(one.get());
        auto two = writer.run([&] {
            second = std::this_thread::get_id();
            return Status(Error(Errc::store, "disk full"));
        });
        const Status failed = two.get();
        ASSERT_FALSE(failed);
        EXPECT_EQ(failed.error().message(), "disk full");
    }
    EXPECT_EQ(first, second);
    EXPECT_NE(first, std::this_thread::get_id());
    EXPECT_NE(first, std::thread::id());

    bool written = false;
    {
        StoreWriter writer;
        (void)writer.run([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            written = true;
            return Status();
        });
    }
    EXPECT_TRUE(written);
}

// A bulk load's batches: each goes to the device at once and to the store
// on a thread while the next is prepared; a batch is in the desired state
// only once collected (or landed by another change), and every collected
// batch is in the store.
TEST_F(ServiceTest, a_bulk_batch_is_stored_while_the_next_goes_to_the_device) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 1);
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const int n = static_cast<int>(kStoreThreadBatch) + 10;
    auto first = s->begin_add_rules("sg0", drop_rules(m, n, 2000), 0);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 1);
    EXPECT_EQ(s->desired().rules.size(), 1U);  // not collected yet
    auto second = s->begin_add_rules("sg0", drop_rules(m, 5, 5000), 0, *first);
    ASSERT_TRUE(second) << second.error().message();
    EXPECT_EQ(s->desired().rules.size(), static_cast<std::size_t>(n) + 1);  // the first landed
    auto first_keys = s->collect_add_rules(*first);
    ASSERT_TRUE(first_keys) << first_keys.error().message();
    EXPECT_EQ(first_keys->size(), static_cast<std::size_t>(n));
    auto second_keys = s->collect_add_rules(*second);
    ASSERT_TRUE(second_keys) << second_keys.error().message();
    EXPECT_EQ(second_keys->size(), 5U);
    EXPECT_FALSE(s->collect_add_rules(*second));  // collected once
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 6);
    const model::DesiredState kept = s->desired();
    EXPECT_EQ(kept.rules.size(), static_cast<std::size_t>(n) + 6);
    s.reset();
    auto reopened = store::Store::open(dir_);
    ASSERT_TRUE(reopened);
    auto stored = reopened->load();
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_EQ(stored->rules.size(), static_cast<std::size_t>(n) + 6);
    EXPECT_EQ(stored->next_rule, kept.next_rule);
}

// With a device that inserts on a thread of its own, a bulk batch's inserts
// are deferred (and only a bulk batch's): what lands is the same.
TEST_F(ServiceTest, a_bulk_batch_is_inserted_on_the_device_thread_and_lands_as_before) {
    auto s = start_deferred();
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const int n = static_cast<int>(kStoreThreadBatch) + 10;
    auto first = s->begin_add_rules("sg0", drop_rules(m, n, 2000), 0);
    ASSERT_TRUE(first) << first.error().message();
    EXPECT_EQ(device_.deferred_inserts, 1U);
    EXPECT_FALSE(device_.deferring);
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 1);
    auto single = s->add_rules("sg0", drop_rules(m, 1, 9000), 0);
    ASSERT_TRUE(single) << single.error().message();
    EXPECT_EQ(device_.deferred_inserts, 1U) << "a single add is not deferred";
    auto keys = s->collect_add_rules(*first);
    ASSERT_TRUE(keys) << keys.error().message();
    EXPECT_EQ(keys->size(), static_cast<std::size_t>(n));
    EXPECT_EQ(s->desired().rules.size(), static_cast<std::size_t>(n) + 2);
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 2);
}

// A rule the device refuses on its thread is known only when the batch
// settles: the batch comes out and goes in again at once, so the caller
// learns which rule and why as without deferring, and nothing of the batch
// stays; a refusal that does not come again costs only the second send.
TEST_F(ServiceTest, a_rule_refused_on_the_device_thread_is_named_as_without_it) {
    using policy::testing::Op;
    auto s = start_deferred();
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const int n = static_cast<int>(kStoreThreadBatch);
    // Rule #5 refused on the device's thread, and again when sent at once:
    // the second fault skips the first send's rules 6 to n-1 and the second
    // send's rules 0 to 4, n - 1 inserts.
    const std::size_t refused_rule = 5;
    device_.fail({.op = Op::insert_rule, .code = Errc::invalid_argument, .skip = refused_rule});
    device_.fail({.op = Op::insert_rule,
                  .code = Errc::invalid_argument,
                  .skip = static_cast<std::size_t>(n) - 1});
    const std::size_t bulk_before = device_.bulk_inserts;
    auto refused = s->begin_add_rules("sg0", drop_rules(m, n, 2000), 0);
    EXPECT_EQ(device_.bulk_inserts - bulk_before, 2U) << "deferred, then again at once";
    EXPECT_EQ(device_.deferred_inserts, 1U);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::invalid_argument);
    EXPECT_NE(refused.error().message().find("rule #5"), std::string::npos)
        << refused.error().message();
    EXPECT_EQ(device_.rules.size(), 1U);
    EXPECT_EQ(s->desired().rules.size(), 1U);
    EXPECT_EQ(device_.deferred.refused, 0U) << "settled";

    device_.fail({.op = Op::insert_rule, .code = Errc::busy, .skip = 7});  // once only
    const std::size_t bulk_again = device_.bulk_inserts;
    auto again = s->begin_add_rules("sg0", drop_rules(m, n, 2000), 0);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(device_.bulk_inserts - bulk_again, 2U) << "refused deferred, in when sent again";
    EXPECT_TRUE(device_.faults.empty());
    auto keys = s->collect_add_rules(*again);
    ASSERT_TRUE(keys) << keys.error().message();
    EXPECT_EQ(keys->size(), static_cast<std::size_t>(n));
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 1);
    EXPECT_EQ(s->desired().rules.size(), static_cast<std::size_t>(n) + 1);
    // The store holds what landed, not the refused batch's first attempt.
    s.reset();
    auto reopened = store::Store::open(dir_);
    ASSERT_TRUE(reopened);
    auto stored = reopened->load();
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_EQ(stored->rules.size(), static_cast<std::size_t>(n) + 1);
}

// A load's batch of rules parsed already goes to the policy in runs of
// kInsertRun, its rows copied run by run (the device's thread starts on the
// first run while the next is copied and encoded): the batch still lands
// whole, in order, and grows its matcher once; a rule the device refuses in
// a later run is named by its place in the batch, and nothing of the batch
// stays.
TEST_F(ServiceTest, a_parsed_batch_goes_in_runs_and_lands_whole_or_not_at_all) {
    using policy::testing::Op;
    auto s = start_deferred();
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const auto entry = s->matcher_index()->find(m);
    ASSERT_TRUE(entry);
    auto parsed = [&](int n, int first_port) {
        std::vector<model::DesiredRule> rules;
        for (const RuleRequest& r : drop_rules(m, n, first_port)) {
            auto rule = model::parse_rule(entry->match_template.tmpl(), r);
            EXPECT_TRUE(rule) << rule.error().message();
            rules.push_back(std::move(*rule));
        }
        return rules;
    };
    const std::size_t n = 2 * kInsertRun + 100;
    const std::vector<model::DesiredRule> batch = parsed(static_cast<int>(n), 2000);

    // Rule kInsertRun + 7 refused on the device's thread and again when the
    // batch is sent at once (the second fault skips the other n - 1).
    const std::size_t refused_rule = kInsertRun + 7;
    device_.fail({.op = Op::insert_rule, .code = Errc::invalid_argument, .skip = refused_rule});
    device_.fail({.op = Op::insert_rule, .code = Errc::invalid_argument, .skip = n - 1});
    // Matchers the device created since call `from`: one per resize.
    auto creates_since = [&](std::size_t from) {
        return std::count_if(device_.calls.begin() + static_cast<std::ptrdiff_t>(from),
                             device_.calls.end(),
                             [](const std::string& c) { return c.starts_with("create "); });
    };
    const std::size_t calls_before = device_.calls.size();
    auto refused = s->begin_add_rules("sg0", batch, 0, 0, {});
    EXPECT_EQ(creates_since(calls_before), 1) << "grown once for the batch, not once per run";
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find("rule #" + std::to_string(refused_rule)),
              std::string::npos)
        << refused.error().message();
    EXPECT_EQ(device_.rules.size(), 1U);
    EXPECT_EQ(s->desired().rules.size(), 1U);

    const std::size_t calls_again = device_.calls.size();
    auto ticket = s->begin_add_rules("sg0", batch, 0, 0, {});
    ASSERT_TRUE(ticket) << ticket.error().message();
    EXPECT_EQ(creates_since(calls_again), 0) << "grown by the first attempt already";
    // The next batch (begun before this one is collected) lands it.
    const std::vector<model::DesiredRule> next = parsed(5, 9000);
    auto second = s->begin_add_rules("sg0", next, 0, *ticket, {});
    ASSERT_TRUE(second) << second.error().message();
    auto keys = s->collect_add_rules(*ticket);
    ASSERT_TRUE(keys) << keys.error().message();
    ASSERT_EQ(keys->size(), n);
    ASSERT_TRUE(s->collect_add_rules(*second));
    EXPECT_EQ(device_.rules.size(), n + 6);
    EXPECT_EQ(s->desired().rules.size(), n + 6);
    // Keys in order, each rule as parsed.
    for (std::size_t i = 0; i < n; ++i) {
        const model::DesiredRule* kept = s->desired().rules.find((*keys)[i]);
        ASSERT_NE(kept, nullptr);
        EXPECT_EQ(kept->body, batch[i].body) << "rule " << i;
        if (i > 0) {
            EXPECT_EQ((*keys)[i], (*keys)[i - 1] + 1);
        }
    }
    s.reset();
    auto reopened = store::Store::open(dir_);
    ASSERT_TRUE(reopened);
    auto stored = reopened->load();
    ASSERT_TRUE(stored) << stored.error().message();
    EXPECT_EQ(stored->rules.size(), n + 6);
}

// The store refuses a batch whose device insert already happened: the
// batch comes out of the device, and the batch after it, begun while the
// commit ran, is refused and taken out too; the caller learns both.
TEST_F(ServiceTest, a_bulk_batch_the_store_refuses_leaves_the_device_and_so_does_the_next) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 1);
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const int n = static_cast<int>(kStoreThreadBatch) + 1;
    {
        auto other = store::Database::open(store::Store::file_in(dir_));
        ASSERT_TRUE(other);
        ASSERT_TRUE(other->exec("BEGIN IMMEDIATE"));
        auto first = s->begin_add_rules("sg0", drop_rules(m, n, 3000), 0);
        ASSERT_TRUE(first) << first.error().message();
        auto second = s->begin_add_rules("sg0", drop_rules(m, n, 4000), 0, *first);
        ASSERT_FALSE(second);
        EXPECT_EQ(second.error().code(), Errc::store);
        EXPECT_NE(second.error().message().find("the batch before was not stored"),
                  std::string::npos)
            << second.error().message();
        auto lost = s->collect_add_rules(*first);
        ASSERT_FALSE(lost);
        EXPECT_EQ(lost.error().code(), Errc::store);
        EXPECT_NE(lost.error().message().find("locked"), std::string::npos)
            << lost.error().message();
        EXPECT_EQ(device_.rules.size(), 1U);
        EXPECT_EQ(s->desired().rules.size(), 1U);
    }
    // The store free again, the same rules go in.
    auto again = s->begin_add_rules("sg0", drop_rules(m, n, 3000), 0);
    ASSERT_TRUE(again) << again.error().message();
    ASSERT_TRUE(s->collect_add_rules(*again));
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(n) + 1);
}

// Another client's change, a reconcile and a seal each land the commit in
// flight first: a reconcile that did not would take the batch's rules for
// strays, and a seal would describe rules the desired state lacks.
TEST_F(ServiceTest, other_changes_land_the_bulk_batch_in_flight_first) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 1);
    const model::MatcherKey m = s->desired().matchers.begin()->first;
    const int n = static_cast<int>(kStoreThreadBatch);
    auto first = s->begin_add_rules("sg0", drop_rules(m, n, 2000), 0);
    ASSERT_TRUE(first) << first.error().message();
    auto single = s->add_rules("sg0", drop_rules(m, 1, 9000), 0);
    ASSERT_TRUE(single) << single.error().message();
    EXPECT_EQ(s->desired().rules.size(), static_cast<std::size_t>(n) + 2);
    ASSERT_TRUE(s->collect_add_rules(*first));

    auto second = s->begin_add_rules("sg0", drop_rules(m, n, 5000), 0);
    ASSERT_TRUE(second) << second.error().message();
    auto report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->deleted_rules, 0U);
    EXPECT_EQ(device_.rules.size(), static_cast<std::size_t>(2 * n) + 2);

    auto third = s->begin_add_rules("sg0", drop_rules(m, 3, 8000), 0);
    ASSERT_TRUE(third) << third.error().message();
    auto sealed = s->seal();
    ASSERT_TRUE(sealed) << sealed.error().message();
    ASSERT_TRUE(s->collect_add_rules(*second));
    ASSERT_TRUE(s->collect_add_rules(*third));
    EXPECT_EQ(s->desired().rules.size(), static_cast<std::size_t>(2 * n) + 5);
}

// The device refuses to delete a rule while a failed call is being undone:
// the call still fails and nothing is added to the desired state; the rule
// left in the kernel is the policy's (a reconcile does not delete it behind
// the policy's back) and goes at the next change that can delete it.
TEST_F(ServiceTest, a_rule_a_failed_call_could_not_take_out_goes_at_the_next_change) {
    using policy::testing::Op;
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 2);
    const model::MatcherKey key = s->desired().matchers.begin()->first;
    device_.fail({.op = Op::insert_rule, .code = Errc::device, .skip = 2});  // the third
    device_.fail({.op = Op::delete_rule, .code = Errc::busy});               // undoing the first
    auto ids = s->add_rules("sg0", drop_rules(key, 3, 5000), 0);
    ASSERT_FALSE(ids);
    EXPECT_EQ(ids.error().code(), Errc::device);
    EXPECT_NE(ids.error().message().find("stay in"), std::string::npos) << ids.error().message();
    EXPECT_EQ(s->desired().rules.size(), 2U);
    EXPECT_EQ(device_.rules.size(), 3U) << "the rule the device would not delete";

    device_.fail({.op = Op::delete_rule, .code = Errc::busy});  // refused once more
    auto report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->deleted_rules, 0U) << "the policy's rule, not a stray";
    EXPECT_EQ(device_.rules.size(), 3U);

    report = s->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->deleted_rules + report->added_rules, 0U);
    EXPECT_EQ(device_.rules.size(), 2U) << "deleted through the policy";
    const policy::MatcherState* m = s->matcher_state(key);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->rx.rules, 2U) << "and uncounted";

    // The leftover goes before the next call's rules: 2 + 3, not 6.
    device_.fail({.op = Op::insert_rule, .code = Errc::device, .skip = 2});
    device_.fail({.op = Op::delete_rule, .code = Errc::busy});
    ASSERT_FALSE(s->add_rules("sg0", drop_rules(key, 3, 5000), 0));
    auto again = s->add_rules("sg0", drop_rules(key, 3, 5000), 0);
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(device_.rules.size(), 5U);
    EXPECT_EQ(s->matcher_state(key)->rx.rules, 5U);
}

TEST_F(ServiceTest, rules_deleted_by_id_alone_stay_deleted_after_a_restart) {
    std::vector<model::RuleKey> keys;
    {
        auto s = start();
        ASSERT_TRUE(s->reconcile());
        populate(*s, 4);
        for (const model::DesiredRule& r : s->desired().rules) {
            keys.push_back(r.id);
        }
        ASSERT_EQ(keys.size(), 4U);
        auto unknown = s->delete_rules_by_id(std::vector<model::RuleKey>{keys[0], 999});
        ASSERT_FALSE(unknown);
        EXPECT_EQ(unknown.error().code(), Errc::no_such_rule);
        EXPECT_EQ(s->desired().rules.size(), 4U) << "nothing deleted";
        // Duplicates are harmless.
        ASSERT_TRUE(s->delete_rules_by_id(std::vector<model::RuleKey>{keys[1], keys[3], keys[1]}));
        EXPECT_EQ(s->desired().rules.size(), 2U);
    }
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    EXPECT_EQ(s->desired().rules.size(), 2U);
    EXPECT_TRUE(s->desired().rules.contains(keys[0]));
    EXPECT_TRUE(s->desired().rules.contains(keys[2]));
    EXPECT_EQ(device_.rules.size(), 2U);
    auto listed = s->describe_rules("", 0);
    ASSERT_TRUE(listed);
    EXPECT_NE(listed->find("\"installed\":true"), std::string::npos) << *listed;
}

// A listing pages through the rules; each page reads the counters of its
// own rules only (one ranged read per matcher), not the matcher's every
// rule once per page.
TEST_F(ServiceTest, a_page_of_rules_reads_the_counters_of_its_rules_only) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    populate(*s, 10);
    populate(*s, 3);  // a second matcher: a page crosses into it
    for (const auto& [id, r] : device_.rules) {
        kernel_.counters[id] = {.id = id, .rx_packets = r.spec.cookie * 10};
    }
    kernel_.counters_read = 0;

    std::map<model::RuleKey, std::uint64_t> seen;
    model::RuleKey after = 0;
    std::size_t pages = 0;
    for (;;) {
        auto page = s->describe_rules("", 0, after, 4);
        ASSERT_TRUE(page) << page.error().message();
        const auto doc = nlohmann::json::parse(*page);
        EXPECT_TRUE(doc["errors"].empty()) << *page;
        if (pages == 0) {  // every field of a rule, as the DOM used to write it
            const model::RuleKey first = s->desired().rules.begin()->id;
            const auto expected = nlohmann::json::parse(
                R"({"id":)" + std::to_string(first) + R"(,"matcher":)" +
                std::to_string(s->desired().rules.begin()->matcher) +
                R"(,"port":"sg0","directions":"rx","match":[{"field":"l4-dport","value":"1000"}],)"
                R"("actions":["count","drop"],"uid":1000,"installed":true,"counters":{"rx_packets":)" +
                std::to_string(first * 10) + R"(,"rx_bytes":0,"tx_packets":0,"tx_bytes":0}})");
            EXPECT_EQ(doc["rules"][0], expected) << *page;
        }
        ++pages;
        for (const auto& r : doc["rules"]) {
            seen[r["id"].get<model::RuleKey>()] = r["counters"]["rx_packets"].get<std::uint64_t>();
        }
        if (doc["next"].is_null()) {
            break;
        }
        after = doc["next"].get<model::RuleKey>();
    }
    EXPECT_EQ(pages, 4U);
    ASSERT_EQ(seen.size(), 13U);
    for (const auto& [key, packets] : seen) {
        EXPECT_EQ(packets, key * 10) << "rule " << key;
    }
    EXPECT_EQ(kernel_.counters_read, 13U) << "each rule's counters read once";
}

// However large a page the caller asks for, sgnicd serves at most
// kDescribePage rules a call: one call never holds the others long.
TEST_F(ServiceTest, a_page_of_rules_is_bounded_whatever_the_caller_asks) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    const std::size_t total = kDescribePage + 5;
    populate(*s, static_cast<int>(total));
    for (const std::size_t limit : {std::size_t{0}, kDescribePage + 1, kMaxBatch}) {
        std::size_t listed = 0;
        model::RuleKey after = 0;
        std::vector<std::size_t> sizes;
        for (;;) {
            auto page = s->describe_rules("", 0, after, limit);
            ASSERT_TRUE(page) << page.error().message();
            const auto doc = nlohmann::json::parse(*page);
            sizes.push_back(doc["rules"].size());
            listed += doc["rules"].size();
            if (doc["next"].is_null()) {
                break;
            }
            after = doc["next"].get<model::RuleKey>();
        }
        EXPECT_EQ(sizes, (std::vector<std::size_t>{kDescribePage, 5})) << "limit " << limit;
        EXPECT_EQ(listed, total) << "limit " << limit;
    }
}

// count means what it says: the kernel keeps counters only for a rule with
// it, so a listing shows none (null) for the others instead of zeros that
// read as "no hits".
TEST_F(ServiceTest, a_rule_without_count_lists_no_counters) {
    auto s = start();
    ASSERT_TRUE(s->reconcile());
    const std::vector<proto::FieldText> fields = {{"l4-dport", "0xffff"}};
    auto m = s->create_matcher("sg0", 0, fields, 0);
    ASSERT_TRUE(m) << m.error().message();
    const std::vector<RuleRequest> rules = {
        {.matcher = *m, .directions = "rx", .match = {{"l4-dport", "1"}}, .actions = {"drop"}},
        {.matcher = *m,
         .directions = "rx",
         .match = {{"l4-dport", "2"}},
         .actions = {"count", "drop"}}};
    auto ids = s->add_rules("sg0", rules, 1000);
    ASSERT_TRUE(ids) << ids.error().message();
    for (const auto& [id, r] : device_.rules) {
        kernel_.counters[id] = {.id = id, .rx_packets = 7};
    }
    auto page = s->describe_rules("sg0", 0);
    ASSERT_TRUE(page) << page.error().message();
    const auto doc = nlohmann::json::parse(*page);
    ASSERT_EQ(doc["rules"].size(), 2U) << *page;
    EXPECT_TRUE(doc["errors"].empty()) << *page;
    for (const auto& r : doc["rules"]) {
        if (r["actions"] == nlohmann::json::array({"drop"})) {
            EXPECT_TRUE(r["counters"].is_null()) << r.dump();
        } else {
            EXPECT_EQ(r["counters"]["rx_packets"], 7U) << r.dump();
        }
    }
}

// DescribeRules writes its JSON as text: what a JSON parser reads back is
// what went in, separators included.
// A clean stop seals what the kernel holds; the next start takes it from the
// seal and a dump of the matchers, without reading a rule.
TEST_F(ServiceTest, a_start_after_a_clean_stop_reads_no_rule_from_the_kernel) {
    const model::Seal seal = run_and_seal(5);
    std::set<policy::RuleId> ids_before;
    for (const auto& [id, r] : device_.rules) {
        ids_before.insert(id);
    }
    ASSERT_EQ(seal.rules.size(), 5U);
    ASSERT_EQ(seal.ports.size(), 2U);
    const std::size_t operations = table_operations(device_);
    const std::size_t dumps = kernel_.dumps;

    std::optional<Expected<ReconcileReport>> started;
    auto second = start_sealed(seal, started);
    const auto& report = *started;
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_TRUE(report->adoption);
    EXPECT_TRUE(report->sealed);
    EXPECT_EQ(report->adopted_matchers, 1U);
    EXPECT_EQ(report->adopted_rules, 5U);
    EXPECT_EQ(report->added_rules + report->deleted_rules + report->replaced_rules +
                  report->added_matchers + report->deleted_matchers + report->failed,
              0U);
    EXPECT_EQ(kernel_.dumps, dumps) << "no rule was read";
    EXPECT_EQ(table_operations(device_), operations) << "the tables were not touched";

    // What it adopted works as if this run had made it: new rules get ids
    // no kernel rule has, deletes reach the sealed rules.
    const model::MatcherKey key = second->desired().matchers.begin()->first;
    ASSERT_TRUE(second->add_rules("sg0", drop_rules(key, 20, 5000), 0));
    EXPECT_EQ(device_.rules.size(), 25U);
    for (const auto& [id, r] : device_.rules) {
        if (r.spec.cookie > 5) {
            EXPECT_FALSE(ids_before.contains(id)) << "new rule " << r.spec.cookie;
        }
    }
    ASSERT_TRUE(second->delete_rules("sg0", std::vector<model::RuleKey>{seal.rules[0].id}));
    EXPECT_EQ(device_.rules.size(), 24U);
    auto again = second->reconcile();
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_FALSE(again->adoption);
    EXPECT_EQ(again->added_rules + again->deleted_rules, 0U) << "the full dump agrees";
}

// A seal is a shortcut, never a source of truth: when the kernel changed
// after it (its steer_gen moved, or its counts differ), every rule is read.
TEST_F(ServiceTest, a_seal_the_kernel_no_longer_matches_is_not_used) {
    for (const bool gen_moved : {true, false}) {
        SCOPED_TRACE(gen_moved ? "a rule deleted by hand" : "a rule gone, steer_gen unchanged");
        device_.matchers.clear();
        device_.rules.clear();
        device_.calls.clear();
        std::filesystem::remove_all(dir_);
        const model::Seal seal = run_and_seal(5);
        const policy::RuleId gone = device_.rules.begin()->first;
        const policy::DeviceMatcherId matcher = device_.rules.begin()->second.matcher;
        if (gen_moved) {
            ASSERT_TRUE(device_.delete_rule(matcher, gone));
        } else {  // behind the fake's steer_gen: only the counts can tell
            device_.matchers.at(matcher).rules.erase(gone);
            device_.rules.erase(gone);
        }
        const std::size_t dumps = kernel_.dumps;
        std::optional<Expected<ReconcileReport>> started;
        auto second = start_sealed(seal, started);
        const auto& report = *started;
        ASSERT_TRUE(report) << report.error().message();
        EXPECT_FALSE(report->sealed);
        EXPECT_EQ(kernel_.dumps, dumps + 1) << "every rule was read";
        EXPECT_EQ(report->adopted_rules, 4U);
        EXPECT_EQ(report->added_rules, 1U) << "the missing rule is back";
        EXPECT_EQ(device_.rules.size(), 5U);
    }
}

TEST_F(ServiceTest, nothing_is_sealed_that_a_start_could_not_trust) {
    {
        auto s = start();
        auto early = s->seal();
        ASSERT_FALSE(early);
        EXPECT_NE(early.error().message().find("never adopted"), std::string::npos)
            << early.error().message();
    }
    {
        auto s = start(policy::PolicyConfig{.resize_step_rules = 4});
        ASSERT_TRUE(s->reconcile());
        populate(*s, 20);
        const model::MatcherKey key = s->desired().matchers.begin()->first;
        ASSERT_TRUE(s->add_rules("sg0", drop_rules(key, 40, 5000), 1000));
        ASSERT_TRUE(s->resizing());
        auto mid = s->seal();
        ASSERT_FALSE(mid);
        EXPECT_NE(mid.error().message().find("rehash"), std::string::npos) << mid.error().message();
        s->finish_resizes();
        EXPECT_TRUE(s->seal()) << "sealed once the rehash is over";
    }
    Service read_only(device_, kernel_, kernel_, std::nullopt, model::DesiredState{},
                      policy::PolicyConfig{});
    read_only.set_read_only("damaged");
    ASSERT_TRUE(read_only.reconcile());
    EXPECT_FALSE(read_only.seal());
}

TEST(JsonText, strings_numbers_and_nesting_read_back_as_written) {
    std::string every_ascii;
    for (int c = 0; c < 128; ++c) {
        every_ascii += static_cast<char>(c);
    }
    const std::vector<std::string> strings = {
        std::string(), every_ascii, std::string(R"(port "x"\y)"), std::string("\xc3\xa9t\xc3\xa9")};
    std::string text;
    json_text::Writer w(text);
    w.begin_object().key("strings").begin_array();
    for (const std::string& s : strings) {
        w.string(s);
    }
    w.end_array();
    w.key("max").number(std::numeric_limits<std::uint64_t>::max());
    w.key("zero").number(0);
    w.key("empty").begin_object().end_object();
    w.key("none").begin_array().end_array();
    w.key("objects").begin_array();
    w.begin_object().key("a").boolean(true).key("b").null().end_object();
    w.begin_object().key("c").raw(R"({"d":[1,2]})").end_object();
    w.end_array();
    w.end_object();

    const auto back = nlohmann::json::parse(text);
    EXPECT_EQ(back["strings"].get<std::vector<std::string>>(), strings) << text;
    EXPECT_EQ(back["max"].get<std::uint64_t>(), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(back["zero"], 0);
    EXPECT_EQ(back["empty"], nlohmann::json::object());
    EXPECT_EQ(back["none"], nlohmann::json::array());
    EXPECT_EQ(back["objects"], nlohmann::json::parse(R"([{"a":true,"b":null},{"c":{"d":[1,2]}}])"))
        << text;
}

}  // namespace
}  // namespace sgnic::service
