#include "log/rate_limit.hpp"

namespace sgnic::log {

RateLimiter::Verdict RateLimiter::check(const std::string& key, Clock::time_point now) {
    auto [it, fresh] = windows_.try_emplace(key, Window{.start = now, .used = 0, .dropped = 0});
    Window& w = it->second;
    Verdict v;
    if (!fresh && now - w.start >= interval_) {
        v.suppressed_before = w.dropped;
        w = Window{.start = now, .used = 0, .dropped = 0};
    }
    if (w.used < burst_) {
        ++w.used;
        v.allow = true;
    } else {
        ++w.dropped;
    }
    return v;
}

}  // namespace sgnic::log
