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

int Sizing::cap() const { return caps_.ste_alloc_log_max - config_.assured_main_table_depth; }

}  // namespace sgnic::policy
