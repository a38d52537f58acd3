// Repeated errors are rate limited.
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

}  // namespace
}  // namespace sgnic::log
