#include "model/geometry.hpp"

#include <algorithm>

namespace sgnic::model {

namespace {

constexpr int kStesPerPageLog = 6;        // 4 KiB pages of 64-byte entries
constexpr int kColSizeLogThreshold = 10;  // above it: shallow main table + collision table
constexpr int kSmallDepthLogMax = 4;
constexpr int kMainDepthLog = 2;
constexpr int kColRowRatioLog = 5;
constexpr int kColDepthLog = 4;

std::uint64_t range_pages(int stes_log) {
    return stes_log <= kStesPerPageLog ? 1 : std::uint64_t{1} << (stes_log - kStesPerPageLog);
}

}  // namespace

std::uint64_t table_pages(int size_log) {
    if (size_log < 0) {
        return 0;
    }
    if (size_log <= kColSizeLogThreshold) {
        return range_pages(size_log + std::min(size_log, kSmallDepthLogMax));
    }
    return range_pages(size_log + kMainDepthLog) +
           range_pages(size_log - kColRowRatioLog + kColDepthLog);
}

}  // namespace sgnic::model
