#include "policy/sizing.hpp"

#include <algorithm>

namespace sgnic::policy {

namespace {

constexpr int kPercent = 100;
constexpr int kMaxShift = 62;  // 2^size_log must fit in the rule counter

}  // namespace

bool Sizing::maxed_out(int size_log) const {
    return size_log + config_.assured_main_table_depth + config_.size_log_step >
           caps_.ste_alloc_log_max - 1;
}

bool Sizing::needs_growth(const DirectionSize& size) const {
    if (maxed_out(size.size_log) || size.size_log > kMaxShift) {
        return false;
    }
    const auto threshold = static_cast<std::uint64_t>(config_.rehash_percent_threshold);
    return size.rules * kPercent / threshold >= (std::uint64_t{1} << size.size_log);
}

int Sizing::grown(int size_log) const { return std::min(size_log + config_.size_log_step, cap()); }

int Sizing::grown_for(const DirectionSize& size, std::uint64_t more) const {
    DirectionSize probe{.size_log = size.size_log, .rules = size.rules + more};
    while (needs_growth(probe)) {
        const int next = grown(probe.size_log);
        if (next <= probe.size_log) {
            break;
        }
        probe.size_log = next;
    }
    return probe.size_log;
}

std::uint64_t Sizing::capacity(int size_log) const {
    int largest = size_log;
    while (!maxed_out(largest) && largest < kMaxShift) {
        const int next = grown(largest);
        if (next <= largest) {
            break;
        }
        largest = next;
    }
    // needs_growth() fires at rules * 100 / threshold >= 2^size_log.
    const auto threshold = static_cast<std::uint64_t>(config_.rehash_percent_threshold);
    return ((std::uint64_t{1} << largest) * threshold + kPercent - 1) / kPercent;
}

int Sizing::cap() const { return caps_.ste_alloc_log_max - config_.assured_main_table_depth; }

}  // namespace sgnic::policy
