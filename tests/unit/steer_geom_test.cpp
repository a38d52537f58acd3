// Steering table geometry, device pages, caps and the row hash
// (kmod/sgnic_steer_geom.h), compiled in user space through tests/unit/kshim.
// The numbers are the ones the module reports over netlink and the daemon
// plans rehashes with, so every size_log the caps admit is asserted exactly.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "sgnic_steer_geom.h"
}

namespace {

struct Geom {
    uint32_t size_log;
    uint32_t rows;
    uint32_t depth;
    uint32_t col_rows;
    uint32_t col_depth;
    uint64_t stes;
    uint64_t pages;
};

void PrintTo(const Geom& g, std::ostream* os) { *os << "size_log " << g.size_log; }

class SteerGeometry : public ::testing::TestWithParam<Geom> {};

TEST_P(SteerGeometry, MatchesTheHardwareLayout) {
    const Geom& want = GetParam();
    ASSERT_TRUE(sgnic_steer_size_log_valid(want.size_log));
    struct sgnic_steer_geom g;
    sgnic_steer_geom_init(&g, want.size_log);
    EXPECT_EQ(sgnic_steer_rows(&g), want.rows);
    EXPECT_EQ(sgnic_steer_depth(&g), want.depth);
    EXPECT_EQ(sgnic_steer_col_rows(&g), want.col_rows);
    EXPECT_EQ(sgnic_steer_col_depth(&g), want.col_depth);
    EXPECT_EQ(g.has_col, want.col_rows != 0);
    EXPECT_EQ(sgnic_steer_stes(&g), want.stes);
    EXPECT_EQ(sgnic_steer_pages(&g), want.pages);
}

// rows = 2^size_log; depth 2^min(size_log, 4) up to size_log 10; above that
// depth 4 plus 2^(size_log - 5) collision rows of 16; 64 STEs per 4 KiB page,
// each range rounded up to whole pages on its own.
INSTANTIATE_TEST_SUITE_P(
    EverySizeLogTheCapsAdmit, SteerGeometry,
    ::testing::Values(
        Geom{0, 1, 1, 0, 0, 1ULL, 1ULL}, Geom{1, 2, 2, 0, 0, 4ULL, 1ULL},
        Geom{2, 4, 4, 0, 0, 16ULL, 1ULL}, Geom{3, 8, 8, 0, 0, 64ULL, 1ULL},
        Geom{4, 16, 16, 0, 0, 256ULL, 4ULL}, Geom{5, 32, 16, 0, 0, 512ULL, 8ULL},
        Geom{6, 64, 16, 0, 0, 1024ULL, 16ULL}, Geom{7, 128, 16, 0, 0, 2048ULL, 32ULL},
        Geom{8, 256, 16, 0, 0, 4096ULL, 64ULL}, Geom{9, 512, 16, 0, 0, 8192ULL, 128ULL},
        Geom{10, 1024, 16, 0, 0, 16384ULL, 256ULL}, Geom{11, 2048, 4, 64, 16, 9216ULL, 144ULL},
        Geom{12, 4096, 4, 128, 16, 18432ULL, 288ULL}, Geom{13, 8192, 4, 256, 16, 36864ULL, 576ULL},
        Geom{14, 16384, 4, 512, 16, 73728ULL, 1152ULL},
        Geom{15, 32768, 4, 1024, 16, 147456ULL, 2304ULL},
        Geom{16, 65536, 4, 2048, 16, 294912ULL, 4608ULL},
        Geom{17, 131072, 4, 4096, 16, 589824ULL, 9216ULL},
        Geom{18, 262144, 4, 8192, 16, 1179648ULL, 18432ULL},
        Geom{19, 524288, 4, 16384, 16, 2359296ULL, 36864ULL},
        Geom{20, 1048576, 4, 32768, 16, 4718592ULL, 73728ULL},
        Geom{21, 2097152, 4, 65536, 16, 9437184ULL, 147456ULL},
        Geom{22, 4194304, 4, 131072, 16, 18874368ULL, 294912ULL},
        Geom{23, 8388608, 4, 262144, 16, 37748736ULL, 589824ULL},
        Geom{24, 16777216, 4, 524288, 16, 75497472ULL, 1179648ULL}),
    [](const auto& info) { return "size_log_" + std::to_string(info.param.size_log); });

TEST(SteerGeometry, DepthSwitchAtElevenAddsCollisionTableAndNeedsFewerPages) {
    struct sgnic_steer_geom small;
    struct sgnic_steer_geom large;
    sgnic_steer_geom_init(&small, 10);
    sgnic_steer_geom_init(&large, 11);
    EXPECT_FALSE(small.has_col);
    EXPECT_EQ(sgnic_steer_depth(&small), 16U);
    EXPECT_TRUE(large.has_col);
    EXPECT_EQ(sgnic_steer_depth(&large), 4U);
    // Twice the rows, a quarter of the depth: the table shrinks from 256 to
    // 128 + 16 pages while its row count doubles.
    EXPECT_EQ(sgnic_steer_pages(&small), 256U);
    EXPECT_EQ(sgnic_steer_pages(&large), 144U);
}

TEST(SteerGeometry, CapsAreTheReportedConstants) {
    EXPECT_EQ(SGNIC_STEER_STE_ALLOC_LOG_MAX, 26);
    EXPECT_EQ(SGNIC_STEER_RTC_LOG_DEPTH_MAX, 4);
    EXPECT_EQ(SGNIC_STEER_MAX_MATCHERS, 64);
    EXPECT_EQ(SGNIC_STEER_MAX_ACTION_TEMPLATES, 128);
    EXPECT_EQ(SGNIC_STEER_SIZE_LOG_MAX, 24);
    EXPECT_EQ(SGNIC_STEER_STE_BYTES, 64U);
    EXPECT_EQ(SGNIC_STEER_PAGE_BYTES, 4096U);
}

TEST(SteerGeometry, SizeLogBeyondCapsIsRefused) {
    EXPECT_TRUE(sgnic_steer_size_log_valid(SGNIC_STEER_SIZE_LOG_MAX));
    for (uint32_t size_log : {25U, 26U, 31U, 32U, 255U, 0xfffffffeU, 0xffffffffU}) {
        EXPECT_FALSE(sgnic_steer_size_log_valid(size_log)) << "size_log " << size_log;
    }
}

struct CapsCase {
    const char* name;
    uint32_t ste_alloc_log_max;
    uint32_t rtc_log_depth_max;
    std::vector<uint32_t> fits;  // every size_log in 0..31 that fits
};

class SteerCaps : public ::testing::TestWithParam<CapsCase> {};

TEST_P(SteerCaps, AdmitExactlyTheFittingSizeLogs) {
    const CapsCase& c = GetParam();
    std::vector<uint32_t> fits;
    for (uint32_t size_log = 0; size_log < 32; size_log++) {
        if (sgnic_steer_size_log_fits(size_log, c.ste_alloc_log_max, c.rtc_log_depth_max)) {
            fits.push_back(size_log);
        }
    }
    EXPECT_EQ(fits, c.fits);
}

std::vector<uint32_t> upto(uint32_t last) {
    std::vector<uint32_t> v;
    for (uint32_t i = 0; i <= last; i++) {
        v.push_back(i);
    }
    return v;
}

INSTANTIATE_TEST_SUITE_P(OtherDevices, SteerCaps,
                         ::testing::Values(
                             // Ours: size_log + log2(depth) <= 26 stops the large tables at 24.
                             CapsCase{"sgnic", 26, 4, upto(24)},
                             // A smaller STE budget: size_log 10 (16 deep) overruns 13 entries-log
                             // while 11 (4 deep) fits - the limit is not monotonic in size_log.
                             CapsCase{"ste_log_13", 13, 4, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}},
                             CapsCase{"ste_log_20", 20, 4, upto(18)},
                             // Rows at most 8 deep: only the tables of depth <= 8 fit, and no
                             // collision table (16 deep) ever does.
                             CapsCase{"depth_log_3", 26, 3, upto(3)}),
                         [](const auto& info) { return std::string(info.param.name); });

// The seed's measurement: 1M RX-only rules need about 160k device pages.
// 1M rules exceed 70% of 2^20 rows, so the table sits at size_log 21; the
// TX table of an RX-only matcher stays at its initial size_log 1.
TEST(SteerGeometry, RxOnlyMillionRulesCostLikeTheSeed) {
    struct sgnic_steer_geom rx;
    struct sgnic_steer_geom tx;
    sgnic_steer_geom_init(&rx, 21);
    sgnic_steer_geom_init(&tx, 1);
    EXPECT_GE(sgnic_steer_stes(&rx), 1000000U);
    EXPECT_EQ(sgnic_steer_pages(&rx) + sgnic_steer_pages(&tx), 147457U);
    // Both directions grown, as before the seed's patch: about 300k.
    EXPECT_EQ(2 * sgnic_steer_pages(&rx), 294912U);
}

// Values of the kernel's jhash2() (include/linux/jhash.h, Linux 6.1) for
// words k[i] = 0x01010101 * (i + 1), computed once with the kernel's code.
struct HashCase {
    uint32_t words;
    uint32_t seed0;
    uint32_t seed_golden;  // seed 0x9e3779b9
};

TEST(SteerHash, EqualsKernelJhash2) {
    std::array<uint32_t, 16> k{};
    for (uint32_t i = 0; i < k.size(); i++) {
        k[i] = 0x01010101U * (i + 1);
    }
    const std::array<HashCase, 17> want = {{
        {0, 0xdeadbeef, 0xdeadbeefU + 0x9e3779b9U},
        {1, 0xe8bdb887, 0x098c401f},
        {2, 0xe4ebb725, 0x6b1eba77},
        {3, 0x29714bfe, 0xf57f3782},
        {4, 0xd09d87c4, 0x5e3ab866},
        {5, 0x1fc66941, 0xff84d786},
        {6, 0x449035d8, 0x11be5a8f},
        {7, 0x872a26aa, 0xc148dfad},
        {8, 0xa0c87934, 0x51925c86},
        {9, 0x8e8be627, 0xac109f3f},
        {10, 0x154545b6, 0xe74627b5},
        {11, 0x1c8c14b2, 0x4cc41fb1},
        {12, 0xfb9ea6a1, 0xf898c446},
        {13, 0xc1ab9a12, 0x52924c1c},
        {14, 0x21e9a56d, 0x4c0b51db},
        {15, 0xebf04a1c, 0x23750fde},
        {16, 0xaed8d127, 0x82ed94c2},
    }};
    for (const HashCase& c : want) {
        EXPECT_EQ(sgnic_steer_hash(k.data(), c.words, 0), c.seed0) << c.words << " words";
        EXPECT_EQ(sgnic_steer_hash(k.data(), c.words, 0x9e3779b9U), c.seed_golden)
            << c.words << " words";
    }
    EXPECT_EQ(sgnic_steer_hash(k.data(), 0, 7), 0xdeadbef6U);
}

TEST(SteerHash, RowsUseLowBitsAndCollisionRowsHighBits) {
    struct sgnic_steer_geom g;
    sgnic_steer_geom_init(&g, 0);
    EXPECT_EQ(sgnic_steer_row(&g, 0xffffffffU), 0U);
    EXPECT_EQ(sgnic_steer_col_row(&g, 0xffffffffU), 0U);
    sgnic_steer_geom_init(&g, 12);
    EXPECT_EQ(sgnic_steer_row(&g, 0xabcd1234U), 0x234U);
    EXPECT_EQ(sgnic_steer_col_row(&g, 0xabcd1234U), 0xabU >> 1);  // top 7 bits
    sgnic_steer_geom_init(&g, 24);
    EXPECT_EQ(sgnic_steer_row(&g, 0xabcd1234U), 0xcd1234U);
    EXPECT_EQ(sgnic_steer_col_row(&g, 0xabcd1234U), 0xabcd1234U >> 13);
}

// At the daemon's rehash threshold (70% of the rows) a table of sequential
// keys - the worst friend of a weak hash - must fit without a single
// collision: rows overflowing their 4 entries spill into the collision table,
// and no collision row may fill up.
TEST(SteerHash, SeventyPercentLoadOfSequentialKeysNeverCollides) {
    struct sgnic_steer_geom g;
    sgnic_steer_geom_init(&g, 16);
    const uint32_t keys = sgnic_steer_rows(&g) * 70 / 100;
    std::vector<uint32_t> main_fill(sgnic_steer_rows(&g));
    std::vector<uint32_t> col_fill(sgnic_steer_col_rows(&g));
    uint32_t spilled = 0;
    for (uint32_t i = 0; i < keys; i++) {
        const std::array<uint32_t, 4> key = {0x0a000000U + i, 0, 0x11, 0x00500000U + (i & 0xff)};
        const uint32_t hash = sgnic_steer_hash(key.data(), key.size(), SGNIC_STEER_HASH_SEED);
        uint32_t& row = main_fill[sgnic_steer_row(&g, hash)];
        if (row < sgnic_steer_depth(&g)) {
            row++;
            continue;
        }
        spilled++;
        uint32_t& col = col_fill[sgnic_steer_col_row(&g, hash)];
        ASSERT_LT(col, sgnic_steer_col_depth(&g)) << "collision after " << i << " keys";
        col++;
    }
    // Poisson(0.7) leaves well under 1% of the keys beyond depth 4.
    EXPECT_LT(spilled, keys / 100);
}

}  // namespace
