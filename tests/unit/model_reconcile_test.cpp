// Reconcile as a pure function: desired state + what the policy installed +
// the kernel's dump -> deletes of foreign objects, adds of missing ones.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "desired_rules.hpp"
#include "model/reconcile.hpp"

namespace sgnic::model {
namespace {

using policy::Directions;

DesiredState two_matchers_three_rules() {
    DesiredState d;
    d.matchers[1] = {.id = 1, .port = "eth0", .priority = 0, .fields = {{"ip-proto", "0xff"}}};
    d.matchers[2] = {.id = 2, .port = "eth1", .priority = 0, .fields = {{"ip-proto", "0xff"}}};
    testing::add_text_rule(d, 10, 1, Directions::rx_only(), {{"ip-proto", "6"}}, {"drop"}, 0);
    testing::add_text_rule(d, 11, 1, Directions::both(), {{"ip-proto", "17"}}, {"drop"}, 0);
    testing::add_text_rule(d, 12, 2, Directions::tx_only(), {{"ip-proto", "1"}}, {"drop"}, 0);
    return d;
}

const std::map<std::string, policy::PortId> kPorts = {{"eth0", 5}, {"eth1", 6}};

// What a policy that installed everything would report.
Installed all_installed() {
    Installed in;
    in.matchers[1] = {.ifindex = 5, .id = 100};
    in.matchers[2] = {.ifindex = 6, .id = 101};
    in.rules[10] = {.ifindex = 5, .matcher = 100, .id = 1};
    in.rules[11] = {.ifindex = 5, .matcher = 100, .id = 2};
    in.rules[12] = {.ifindex = 6, .matcher = 101, .id = 3};
    return in;
}

ActualState dump_of(const Installed& in) {
    ActualState a;
    for (const auto& [k, m] : in.matchers) {
        a.matchers.push_back(m);
    }
    for (const auto& [k, r] : in.rules) {
        a.rules.push_back(r);
    }
    return a;
}

struct Case {
    const char* name;
    DesiredState desired;
    Installed installed;
    ActualState actual;
    std::map<std::string, policy::PortId> ports;
    std::vector<ActualRule> delete_rules;
    std::vector<ActualMatcher> delete_matchers;
    std::vector<MatcherKey> add_matchers;
    std::vector<RuleKey> add_rules;
    std::vector<MatcherKey> waiting;
    bool installed_lost;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class Reconcile : public ::testing::TestWithParam<Case> {};

TEST_P(Reconcile, computes_the_delta) {
    const Case& c = GetParam();
    const Delta d = reconcile(c.desired, c.installed, c.actual, c.ports);
    EXPECT_EQ(d.delete_rules, c.delete_rules);
    EXPECT_EQ(d.delete_matchers, c.delete_matchers);
    EXPECT_EQ(d.add_matchers, c.add_matchers);
    EXPECT_EQ(d.add_rules, c.add_rules);
    EXPECT_EQ(d.waiting, c.waiting);
    EXPECT_EQ(d.installed_lost, c.installed_lost);
}

ActualState with_foreign(ActualState a) {
    a.matchers.push_back({.ifindex = 5, .id = 7});
    a.rules.push_back({.ifindex = 5, .matcher = 7, .id = 900});
    a.rules.push_back({.ifindex = 5, .matcher = 100, .id = 901});  // in one of ours
    return a;
}

Installed without_rule(Installed in, RuleKey k) {
    in.rules.erase(k);
    return in;
}

ActualState missing_rule(ActualState a, policy::RuleId id) {
    std::erase_if(a.rules, [&](const ActualRule& r) { return r.id == id; });
    return a;
}

INSTANTIATE_TEST_SUITE_P(table, Reconcile,
                         ::testing::Values(Case{"in_sync_changes_nothing",
                                                two_matchers_three_rules(),
                                                all_installed(),
                                                dump_of(all_installed()),
                                                kPorts,
                                                {},
                                                {},
                                                {},
                                                {},
                                                {},
                                                false},
                                           Case{"fresh_start_adds_everything_in_order",
                                                two_matchers_three_rules(),
                                                {},
                                                {},
                                                kPorts,
                                                {},
                                                {},
                                                {1, 2},
                                                {10, 11, 12},
                                                {},
                                                false},
                                           Case{"fresh_start_deletes_what_an_earlier_run_left",
                                                two_matchers_three_rules(),
                                                {},
                                                dump_of(all_installed()),
                                                kPorts,
                                                {{5, 100, 1}, {5, 100, 2}, {6, 101, 3}},
                                                {{5, 100}, {6, 101}},
                                                {1, 2},
                                                {10, 11, 12},
                                                {},
                                                false},
                                           Case{"foreign_rules_and_matchers_are_deleted",
                                                two_matchers_three_rules(),
                                                all_installed(),
                                                with_foreign(dump_of(all_installed())),
                                                kPorts,
                                                {{5, 7, 900}, {5, 100, 901}},
                                                {{5, 7}},
                                                {},
                                                {},
                                                {},
                                                false},
                                           Case{"a_desired_rule_never_installed_is_added",
                                                two_matchers_three_rules(),
                                                without_rule(all_installed(), 11),
                                                missing_rule(dump_of(all_installed()), 2),
                                                kPorts,
                                                {},
                                                {},
                                                {},
                                                {11},
                                                {},
                                                false},
                                           Case{"an_installed_rule_gone_from_the_kernel_is_lost",
                                                two_matchers_three_rules(),
                                                all_installed(),
                                                missing_rule(dump_of(all_installed()), 2),
                                                kPorts,
                                                {},
                                                {},
                                                {},
                                                {11},
                                                {},
                                                true},
                                           Case{"module_reload_empties_the_kernel",
                                                two_matchers_three_rules(),
                                                all_installed(),
                                                {},
                                                kPorts,
                                                {},
                                                {},
                                                {1, 2},
                                                {10, 11, 12},
                                                {},
                                                true},
                                           Case{"a_renumbered_port_is_a_lost_matcher",
                                                two_matchers_three_rules(),
                                                all_installed(),
                                                dump_of(all_installed()),
                                                {{"eth0", 8}, {"eth1", 6}},
                                                {{5, 100, 1}, {5, 100, 2}},
                                                {{5, 100}},
                                                {1},
                                                {10, 11},
                                                {},
                                                true},
                                           Case{"objects_of_an_absent_port_wait",
                                                two_matchers_three_rules(),
                                                {},
                                                {},
                                                {{"eth0", 5}},
                                                {},
                                                {},
                                                {1},
                                                {10, 11},
                                                {2},
                                                false}));

TEST(Reconcile, keeps_a_stray_device_matcher_the_policy_still_owns) {
    Installed in = all_installed();
    in.other_owned.insert({.ifindex = 5, .id = 55});
    ActualState a = dump_of(all_installed());
    a.matchers.push_back({.ifindex = 5, .id = 55});
    const Delta d = reconcile(two_matchers_three_rules(), in, a, kPorts);
    EXPECT_TRUE(d.empty());
}

}  // namespace
}  // namespace sgnic::model
