// Adoption as a pure function: the store's desired state + the kernel's dump
// -> what is taken over, what goes, what is added, what is left alone.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "desired_rules.hpp"
#include "model/adopt.hpp"

namespace sgnic::model {
namespace {

using policy::ActionType;
using policy::Directions;

constexpr std::uint8_t kOurs = 1;
const std::map<std::string, policy::PortId> kPorts = {{"eth0", 7}, {"eth1", 8}};

// Matcher 1 on eth0 (ip-proto, l4-dport in that order) with rules 10, 11.
DesiredState desired() {
    DesiredState d;
    d.matchers[1] = {.id = 1,
                     .port = "eth0",
                     .priority = 3,
                     .fields = {{"l4-dport", "0xffff"}, {"ip-proto", "0xff"}}};
    testing::add_text_rule(d, 10, 1, Directions::rx_only(),
                           {{"ip-proto", "17"}, {"l4-dport", "53"}}, {"count", "drop"}, 0);
    testing::add_text_rule(d, 11, 1, Directions::both(), {{"ip-proto", "6"}, {"l4-dport", "80"}},
                           {"mark 7"}, 0);
    return d;
}

// The kernel as sgnicd left it: the same objects, templates in field id
// order, values by field id.
ActualState kernel() {
    ActualState a;
    policy::MatchTemplate t;
    t.fields = {{.field = SGNIC_MATCH_FIELD_IP_PROTO, .mask = {0xff}},
                {.field = SGNIC_MATCH_FIELD_L4_DPORT, .mask = {0xff, 0xff}}};
    a.matchers.push_back({.ifindex = 7,
                          .id = 40,
                          .owner = kOurs,
                          .cookie = 1,
                          .priority = 3,
                          .match_template = t,
                          .rx_size_log = 2,
                          .tx_size_log = 1});
    a.rules.push_back(
        {.ifindex = 7,
         .matcher = 40,
         .id = 100,
         .owner = kOurs,
         .cookie = 10,
         .directions = Directions::rx_only(),
         .match = {17, 0, 53},  // ip-proto, then l4-dport: field id order
         .actions = {{.type = ActionType::count, .arg = 0}, {.type = ActionType::drop, .arg = 0}}});
    a.rules.push_back({.ifindex = 7,
                       .matcher = 40,
                       .id = 101,
                       .owner = kOurs,
                       .cookie = 11,
                       .directions = Directions::both(),
                       .match = {6, 0, 80},
                       .actions = {{.type = ActionType::mark, .arg = 7}}});
    return a;
}

TEST(Adopt, what_the_kernel_holds_as_stored_is_taken_over_and_nothing_changes) {
    const ActualState a = kernel();
    const Adoption plan = plan_adoption(desired(), a, kPorts, kOurs, false);
    EXPECT_TRUE(plan.add_matchers.empty() && plan.add_rules.empty() && plan.replaced.empty() &&
                plan.delete_rules.empty() && plan.delete_matchers.empty() && plan.resizes.empty() &&
                plan.waiting.empty())
        << "nothing to change";
    ASSERT_EQ(plan.matchers.size(), 1U);
    EXPECT_EQ(plan.matchers.at(1).id, 40U);
    ASSERT_EQ(plan.rules.size(), 2U);
    EXPECT_EQ(plan.rules[0], (RuleBinding{.id = 10, .rule = 100}));
    EXPECT_EQ(plan.rules[1], (RuleBinding{.id = 11, .rule = 101}));
    EXPECT_EQ(plan.next_rule, 102U) << "new rule ids go above the kernel's";
}

TEST(Adopt, a_changed_rule_is_replaced_and_a_missing_one_added) {
    ActualState a = kernel();
    a.rules[1].actions = {{.type = ActionType::mark, .arg = 8}};  // 11: mark 8, not 7
    a.rules.erase(a.rules.begin());                               // 10: gone
    const Adoption plan = plan_adoption(desired(), a, kPorts, kOurs, false);
    EXPECT_TRUE(plan.rules.empty());
    ASSERT_EQ(plan.replaced.size(), 1U);
    EXPECT_EQ(plan.replaced[0].id, 101U);
    EXPECT_EQ(plan.add_rules, (std::vector<RuleKey>{10})) << "11 is replaced, not added";
    EXPECT_TRUE(plan.delete_rules.empty());
}

TEST(Adopt, every_difference_in_a_rule_counts) {
    for (int what = 0; what < 3; ++what) {
        ActualState a = kernel();
        ActualRule& r = a.rules[0];
        if (what == 0) {
            r.directions = Directions::both();
        } else if (what == 1) {
            r.match = {17, 0, 54};
        } else {
            r.actions.pop_back();
        }
        const Adoption plan = plan_adoption(desired(), a, kPorts, kOurs, false);
        EXPECT_EQ(plan.replaced.size(), 1U) << "difference " << what;
        EXPECT_EQ(plan.rules.size(), 1U) << "difference " << what;
    }
}

TEST(Adopt, strays_of_ours_go_and_other_owners_stay) {
    ActualState a = kernel();
    ActualRule stray = a.rules[0];
    stray.id = 102;
    stray.cookie = 99;  // not in the store: a crash between kernel and store
    stray.match = {17, 0, 99};
    a.rules.push_back(stray);
    ActualRule intruder = stray;
    intruder.id = 103;
    intruder.owner = 0;  // by hand, inside sgnicd's matcher
    intruder.cookie = 10;
    a.rules.push_back(intruder);
    ActualMatcher theirs = a.matchers[0];
    theirs.id = 41;
    theirs.owner = 5;
    a.matchers.push_back(theirs);
    ActualRule their_rule = stray;
    their_rule.matcher = 41;
    their_rule.id = 104;
    their_rule.owner = 5;
    a.rules.push_back(their_rule);
    ActualMatcher old_ours = a.matchers[0];
    old_ours.id = 42;
    old_ours.cookie = 77;  // a matcher deleted from the store
    a.matchers.push_back(old_ours);

    Adoption plan = plan_adoption(desired(), a, kPorts, kOurs, false);
    EXPECT_EQ(plan.rules.size(), 2U);
    ASSERT_EQ(plan.delete_rules.size(), 2U);
    EXPECT_EQ(plan.delete_rules[0].id, 102U);
    EXPECT_EQ(plan.delete_rules[1].id, 103U);
    ASSERT_EQ(plan.delete_matchers.size(), 1U);
    EXPECT_EQ(plan.delete_matchers[0].id, 42U);
    EXPECT_EQ(plan.foreign_matchers, 1U);
    EXPECT_EQ(plan.foreign_rules, 1U);

    plan = plan_adoption(desired(), a, kPorts, kOurs, true);
    EXPECT_EQ(plan.delete_rules.size(), 3U) << "managed: another owner's rule goes too";
    EXPECT_EQ(plan.delete_matchers.size(), 2U);
    EXPECT_EQ(plan.foreign_matchers + plan.foreign_rules, 0U);
}

TEST(Adopt, a_matcher_that_changed_is_made_again_with_its_rules) {
    for (int what = 0; what < 4; ++what) {
        ActualState a = kernel();
        ActualMatcher& m = a.matchers[0];
        if (what == 0) {
            m.priority = 4;
        } else if (what == 1) {
            m.match_template.fields[1].mask = {0xff, 0x00};
        } else if (what == 2) {
            m.owner = 0;  // another owner's, with our cookie
        } else {
            m.ifindex = 8;  // the name eth0 now belongs to another port
            for (ActualRule& r : a.rules) {
                r.ifindex = 8;
            }
        }
        const Adoption plan = plan_adoption(desired(), a, kPorts, kOurs, false);
        EXPECT_TRUE(plan.matchers.empty()) << "difference " << what;
        EXPECT_EQ(plan.add_matchers, (std::vector<MatcherKey>{1})) << "difference " << what;
        EXPECT_EQ(plan.add_rules, (std::vector<RuleKey>{10, 11})) << "difference " << what;
    }
}

TEST(Adopt, a_resize_left_half_done_is_settled_before_anything_else) {
    ActualState a = kernel();
    ActualMatcher target = a.matchers[0];
    target.id = 41;
    target.rx_size_log = 3;
    target.resize_source = 40;
    a.matchers[0].resize_target = 41;
    a.matchers.push_back(target);
    a.rules[1].matcher = 41;  // moved already
    const Adoption plan = plan_adoption(desired(), a, kPorts, kOurs, false);
    ASSERT_EQ(plan.resizes.size(), 1U);
    EXPECT_EQ(plan.resizes[0].source.id, 40U);
    EXPECT_EQ(plan.resizes[0].target.id, 41U);
    EXPECT_EQ(plan.resizes[0].source_rules, (std::vector<policy::RuleId>{100}));
    EXPECT_TRUE(plan.matchers.empty() && plan.delete_rules.empty() && plan.add_rules.empty())
        << "nothing else is planned until the resize is settled";
}

TEST(Adopt, a_port_that_is_absent_makes_its_matcher_wait) {
    // eth0 was renamed: the kernel's matcher sits on a port the store does
    // not name any more.  The store's matcher waits for eth0; sgnicd's
    // matcher on the renamed port goes with its rules.
    const ActualState a = kernel();
    const Adoption plan =
        plan_adoption(desired(), a, {{"eth0-renamed", 7}, {"eth1", 8}}, kOurs, false);
    EXPECT_EQ(plan.waiting, (std::vector<MatcherKey>{1}));
    EXPECT_TRUE(plan.add_rules.empty() && plan.matchers.empty());
    EXPECT_EQ(plan.delete_matchers.size(), 1U);
    EXPECT_EQ(plan.delete_rules.size(), 2U);
}

// The seal of the kernel() state: both ports, rules 10 and 11 as 100, 101.
Seal sealed() {
    return {.ports = {{.name = "eth0", .ifindex = 7, .steer_gen = 0xa0},
                      {.name = "eth1", .ifindex = 8, .steer_gen = 0xb0}},
            .next_rule = 102,
            .rules = {{.id = 10, .rule = 100}, {.id = 11, .rule = 101}}};
}

// kernel()'s matchers as a matcher dump counts them: 10 (RX) and 11 (both).
std::vector<ActualMatcher> counted_matchers() {
    std::vector<ActualMatcher> m = kernel().matchers;
    m[0].rx_rules = 2;
    m[0].tx_rules = 1;
    m[0].rules = 2;
    return m;
}

TEST(SealedAdopt, an_unchanged_kernel_is_taken_over_from_the_seal) {
    const Seal seal = sealed();
    const auto plan =
        plan_sealed_adoption(desired(), counted_matchers(), seal, seal.ports, kOurs, false);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_TRUE(plan->add_matchers.empty() && plan->add_rules.empty() && plan->replaced.empty() &&
                plan->delete_rules.empty() && plan->delete_matchers.empty() &&
                plan->resizes.empty() && plan->waiting.empty());
    ASSERT_EQ(plan->matchers.size(), 1U);
    EXPECT_EQ(plan->matchers.at(1).id, 40U);
    EXPECT_EQ(plan->rules, seal.rules);
    EXPECT_EQ(plan->next_rule, 102U);
    // The same as reading every rule would have planned.
    const ActualState a = kernel();
    const Adoption full = plan_adoption(desired(), a, kPorts, kOurs, false);
    EXPECT_EQ(full.rules, plan->rules);
    EXPECT_EQ(full.next_rule, plan->next_rule);
}

TEST(SealedAdopt, a_desired_rule_the_seal_lacks_is_added) {
    DesiredState d = desired();
    testing::add_text_rule(d, 12, 1, Directions::rx_only(),
                           {{"ip-proto", "17"}, {"l4-dport", "54"}}, {"drop"}, 0);
    const Seal seal = sealed();
    const auto plan = plan_sealed_adoption(d, counted_matchers(), seal, seal.ports, kOurs, false);
    ASSERT_TRUE(plan) << plan.error().message();
    EXPECT_EQ(plan->add_rules, (std::vector<RuleKey>{12}));
    EXPECT_EQ(plan->rules.size(), 2U);
}

TEST(SealedAdopt, an_empty_stray_of_ours_goes_and_another_owners_rules_are_counted) {
    std::vector<ActualMatcher> m = counted_matchers();
    m.push_back({.ifindex = 8, .id = 41, .owner = kOurs, .cookie = 99});
    m.push_back({.ifindex = 8, .id = 42, .owner = 7, .cookie = 1, .rx_rules = 3, .rules = 3});
    const Seal seal = sealed();
    const auto plan = plan_sealed_adoption(desired(), m, seal, seal.ports, kOurs, false);
    ASSERT_TRUE(plan) << plan.error().message();
    ASSERT_EQ(plan->delete_matchers.size(), 1U);
    EXPECT_EQ(plan->delete_matchers[0].id, 41U);
    EXPECT_EQ(plan->foreign_matchers, 1U);
    EXPECT_EQ(plan->foreign_rules, 3U);
}

// Each of these means the kernel may not hold what the seal says: the
// caller must read every rule.
TEST(SealedAdopt, any_doubt_refuses_the_seal_and_says_why) {
    struct Case {
        const char* what;
        const char* says;
        void (*change)(DesiredState&, std::vector<ActualMatcher>&, Seal&, std::vector<SealedPort>&);
    };
    const Case cases[] = {
        {"a port's steer_gen moved", "eth1 changed",
         [](DesiredState&, std::vector<ActualMatcher>&, Seal&, std::vector<SealedPort>& p) {
             ++p[1].steer_gen;
         }},
        {"a port's ifindex changed", "eth0 changed",
         [](DesiredState&, std::vector<ActualMatcher>&, Seal&, std::vector<SealedPort>& p) {
             p[0].ifindex = 9;
         }},
        {"a port went", "2 sealed",
         [](DesiredState&, std::vector<ActualMatcher>&, Seal&, std::vector<SealedPort>& p) {
             p.pop_back();
         }},
        {"another port came", "eth2 was not sealed",
         [](DesiredState&, std::vector<ActualMatcher>&, Seal&, std::vector<SealedPort>& p) {
             p[1].name = "eth2";
         }},
        {"a matcher holds a rule more", "holds 3 rules (3 RX, 1 TX), 2 rules (2 RX, 1 TX) sealed",
         [](DesiredState&, std::vector<ActualMatcher>& m, Seal&, std::vector<SealedPort>&) {
             ++m[0].rx_rules;
             ++m[0].rules;
         }},
        {"a TX rule is missing", "holds 2 rules (2 RX, 0 TX), 2 rules (2 RX, 1 TX) sealed",
         [](DesiredState&, std::vector<ActualMatcher>& m, Seal&, std::vector<SealedPort>&) {
             m[0].tx_rules = 0;
         }},
        {"a resize is linked", "being resized",
         [](DesiredState&, std::vector<ActualMatcher>& m, Seal&, std::vector<SealedPort>&) {
             m[0].resize_target = 41;
         }},
        {"a sealed rule is no longer desired", "sealed rule 10",
         [](DesiredState& d, std::vector<ActualMatcher>&, Seal&, std::vector<SealedPort>&) {
             d.rules.erase(10);
         }},
        {"a rule is sealed twice", "sealed twice",
         [](DesiredState&, std::vector<ActualMatcher>&, Seal& s, std::vector<SealedPort>&) {
             s.rules.push_back(s.rules[0]);
         }},
        {"a matcher of ours to delete holds rules", "is to go but holds 1 rules",
         [](DesiredState&, std::vector<ActualMatcher>& m, Seal&, std::vector<SealedPort>&) {
             m.push_back({.ifindex = 8, .id = 41, .owner = 1, .cookie = 99, .rules = 1});
         }},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        DesiredState d = desired();
        std::vector<ActualMatcher> m = counted_matchers();
        Seal seal = sealed();
        std::vector<SealedPort> ports = seal.ports;
        c.change(d, m, seal, ports);
        const auto plan = plan_sealed_adoption(d, m, seal, ports, kOurs, false);
        ASSERT_FALSE(plan);
        EXPECT_EQ(plan.error().code(), Errc::invalid_argument);
        EXPECT_NE(plan.error().message().find(c.says), std::string::npos) << plan.error().message();
    }
    const Seal seal = sealed();
    const auto managed =
        plan_sealed_adoption(desired(), counted_matchers(), seal, seal.ports, kOurs, true);
    ASSERT_FALSE(managed);
    EXPECT_NE(managed.error().message().find("managed"), std::string::npos);
}

}  // namespace
}  // namespace sgnic::model
