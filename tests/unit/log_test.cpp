// Repeated errors are rate limited; rehash log lines carry sizes per
// direction, rules moved and duration.
#include <gtest/gtest.h>

#include "log/log.hpp"
#include "log/rate_limit.hpp"

namespace sgnic::log {
namespace {

using namespace std::chrono_literals;

TEST(RateLimiter, allows_a_burst_then_counts_what_it_drops) {
    RateLimiter rl(10s, 3);
    const auto t0 = RateLimiter::Clock::time_point{};
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(rl.check("reconcile", t0 + 1s).allow) << i;
    }
    EXPECT_FALSE(rl.check("reconcile", t0 + 2s).allow);
    EXPECT_FALSE(rl.check("reconcile", t0 + 3s).allow);
    EXPECT_TRUE(rl.check("other", t0 + 3s).allow) << "keys are limited separately";
    const auto v = rl.check("reconcile", t0 + 11s);
    EXPECT_TRUE(v.allow);
    EXPECT_EQ(v.suppressed_before, 2U);
    EXPECT_EQ(rl.check("reconcile", t0 + 12s).suppressed_before, 0U);
}

TEST(RehashLine, names_sizes_per_direction_rules_moved_and_duration) {
    policy::RehashReport r;
    r.rx = {1, 2};
    r.tx = {1, 1};
    r.rules_moved = 5;
    r.duration = 120us;
    EXPECT_EQ(format_rehash(r, 3, "eth0"),
              "rehash matcher 3 on eth0 (threshold): rx size_log 1->2, tx 1->1, "
              "5 rules moved in 120 us");
}

}  // namespace
}  // namespace sgnic::log
