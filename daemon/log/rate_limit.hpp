// Rate limit for repeated log lines, per key (journald's shape): at most
// `burst` lines per `interval`; when a new interval opens after suppression,
// the caller learns how many lines were dropped.  Pure: time is passed in.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>

namespace sgnic::log {

class RateLimiter {
public:
    using Clock = std::chrono::steady_clock;

    RateLimiter(std::chrono::milliseconds interval, std::size_t burst)
        : interval_(interval), burst_(burst) {}

    struct Verdict {
        bool allow = false;
        std::size_t suppressed_before = 0;  // dropped in the previous interval(s)
    };
    Verdict check(const std::string& key, Clock::time_point now);

private:
    struct Window {
        Clock::time_point start;
        std::size_t used = 0;
        std::size_t dropped = 0;
    };
    std::chrono::milliseconds interval_;
    std::size_t burst_;
    std::map<std::string, Window> windows_;
};

}  // namespace sgnic::log
