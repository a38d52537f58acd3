// The service's reconcile against the fake kernel: restart, module reload,
// ports that come and go.  Desired state survives in the store.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "fake_kernel.hpp"
#include "service/service.hpp"

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
    std::unique_ptr<Service> start() {
        auto store = store::Store::open(dir_);
        EXPECT_TRUE(store);
        auto desired = store->load();
        EXPECT_TRUE(desired);
        return std::make_unique<Service>(device_, kernel_, kernel_, std::move(*store),
                                         std::move(*desired), policy::PolicyConfig{});
    }

    // One matcher on sg0 with `n` RX rules.
    static void populate(Service& s, int n) {
        const std::vector<proto::FieldText> fields = {{"l4-dport", "0xffff"}};
        auto m = s.create_matcher("sg0", 0, fields, 0);
        ASSERT_TRUE(m) << m.error().message();
        std::vector<RuleRequest> rules;
        rules.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            rules.push_back({.matcher = *m,
                             .directions = "rx",
                             .match = {{"l4-dport", std::to_string(1000 + i)}},
                             .actions = {"drop"}});
        }
        auto ids = s.add_rules("sg0", rules, 1000);
        ASSERT_TRUE(ids) << ids.error().message();
    }

    std::filesystem::path dir_;
    policy::testing::FakeDevice device_;
    FakeKernel kernel_{device_};
};

TEST_F(ServiceTest, a_restart_replaces_what_the_last_run_left_with_the_stored_state) {
    {
        auto first = start();
        ASSERT_TRUE(first->reconcile());
        populate(*first, 5);
        ASSERT_EQ(device_.rules.size(), 5U);
    }  // the daemon exits; the kernel keeps its objects
    auto second = start();
    auto report = second->reconcile();
    ASSERT_TRUE(report) << report.error().message();
    EXPECT_EQ(report->deleted_rules, 5U);
    EXPECT_EQ(report->deleted_matchers, 1U);
    EXPECT_EQ(report->added_matchers, 1U);
    EXPECT_EQ(report->added_rules, 5U);
    EXPECT_EQ(report->failed, 0U);
    EXPECT_EQ(device_.rules.size(), 5U);
    EXPECT_EQ(device_.matchers.size(), 1U);
    EXPECT_EQ(second->desired().rules.size(), 5U);
    EXPECT_EQ(second->desired().rules.begin()->second.uid, 1000U);

    auto again = second->reconcile();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->added_rules + again->deleted_rules, 0U) << "a second pass finds nothing";
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

TEST_F(ServiceTest, rules_deleted_by_id_alone_stay_deleted_after_a_restart) {
    std::vector<model::RuleKey> keys;
    {
        auto s = start();
        ASSERT_TRUE(s->reconcile());
        populate(*s, 4);
        for (const auto& [key, r] : s->desired().rules) {
            keys.push_back(key);
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

}  // namespace
}  // namespace sgnic::service
