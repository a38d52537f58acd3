// Random inserts and deletes with a fault injected at a random step of some
// of them: after every operation every rule is where the policy thinks, in
// a live matcher, and counts and sizes agree with the device.
#include <gtest/gtest.h>

#include <cstddef>
#include <random>
#include <vector>

#include "policy/policy.hpp"
#include "policy_fake_device.hpp"

namespace sgnic::policy {
namespace {

using testing::FakeDevice;
using testing::Fault;
using testing::Op;
using testing::rule_in;

class RandomFaults : public ::testing::TestWithParam<unsigned> {};

TEST_P(RandomFaults, no_rule_is_ever_lost_or_misplaced) {
    std::mt19937 rng(GetParam());
    FakeDevice dev;
    dev.caps_value.ste_alloc_log_max = 12;  // maxed out at size_log 9
    Policy policy(dev);
    const MatcherId m = *policy.create_matcher(1, 0, {});
    const Directions dirs[] = {Directions::rx_only(), Directions::tx_only(), Directions::both()};
    const std::vector<Action> actions[] = {
        {{ActionType::accept, 0}}, {{ActionType::drop, 0}}, {{ActionType::mark, 1}}};
    std::vector<RuleId> live;
    std::size_t failed = 0;
    std::size_t degraded = 0;

    for (int op = 0; op < 3000; ++op) {
        dev.faults.clear();
        if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) {
            const auto step = static_cast<Op>(std::uniform_int_distribution<int>(0, 6)(rng));
            const Errc codes[] = {Errc::collision, Errc::busy, Errc::timeout, Errc::device};
            dev.fail(Fault{.op = step,
                           .code = codes[std::uniform_int_distribution<int>(0, 3)(rng)],
                           .skip = std::uniform_int_distribution<std::size_t>(0, 2)(rng),
                           .times = std::uniform_int_distribution<std::size_t>(1, 3)(rng),
                           .moved = std::uniform_int_distribution<std::size_t>(0, 50)(rng)});
        }
        // Fill, then drain to empty so shrink happens too.
        const bool draining = (op / 150) % 2 == 1;
        const int insert_percent = draining ? 0 : 90;
        if (live.empty() || std::uniform_int_distribution<int>(0, 99)(rng) < insert_percent) {
            const std::size_t d = std::uniform_int_distribution<std::size_t>(0, 2)(rng);
            const std::size_t a = std::uniform_int_distribution<std::size_t>(0, 2)(rng);
            auto id = policy.insert_rule(m, rule_in(dirs[d], actions[a]));
            if (id) {
                live.push_back(*id);
            } else {
                ++failed;
            }
        } else {
            const std::size_t i =
                std::uniform_int_distribution<std::size_t>(0, live.size() - 1)(rng);
            if (policy.delete_rule(live[i])) {
                live[i] = live.back();
                live.pop_back();
            }
        }
        degraded += policy.find_matcher(m)->stray ? 1 : 0;
        ASSERT_EQ(policy.rule_count(), live.size()) << "op " << op;
        ASSERT_TRUE(testing::consistent(policy, dev)) << "op " << op;
    }
    // The run must have exercised the paths it is about.
    RecordProperty("failed_inserts", static_cast<int>(failed));
    RecordProperty("degraded_ops", static_cast<int>(degraded));
    EXPECT_GT(failed, 0U);
    EXPECT_GT(policy.find_matcher(m)->rehashes, 50U);
    dev.faults.clear();
    ASSERT_TRUE(policy.heal(m));
    EXPECT_TRUE(testing::consistent(policy, dev));
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomFaults, ::testing::Values(1U, 2U, 3U, 4U, 5U, 6U, 7U, 8U));

}  // namespace
}  // namespace sgnic::policy
