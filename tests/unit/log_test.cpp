// Repeated errors are rate limited.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

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

// Every event's MESSAGE_ID has an entry in the catalog journalctl -x reads,
// and the catalog explains no id sgnicd does not send.
TEST(Catalog, explains_every_event_and_nothing_else) {
    std::ifstream in(SGNIC_CATALOG);
    ASSERT_TRUE(in) << SGNIC_CATALOG;
    std::set<std::string> ids;
    for (std::string line; std::getline(in, line);) {
        if (!line.starts_with("-- ")) {
            continue;
        }
        const std::string id = line.substr(3);
        EXPECT_EQ(id.size(), 32U) << line;
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << line;
        EXPECT_TRUE(ids.insert(id).second) << "twice: " << id;
    }
    const std::set<std::string> sent = {
        std::string(msgid::adopted),     std::string(msgid::rehashed),
        std::string(msgid::module_gone), std::string(msgid::module_back),
        std::string(msgid::degraded),    std::string(msgid::rehash_rolled_back)};
    EXPECT_EQ(ids, sent);
}

}  // namespace
}  // namespace sgnic::log
