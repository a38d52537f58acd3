// Frame descriptor and S/G entry encoding (kmod/sgnic_fd.h), compiled in user
// space through tests/unit/kshim.  The byte images are what the "hardware"
// reads, so they are asserted byte for byte.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <ostream>
#include <string>

extern "C" {
#include "sgnic_fd.h"
}

namespace {

template <typename T>
std::array<uint8_t, 16> bytes_of(const T& v) {
    static_assert(sizeof(T) == 16);
    std::array<uint8_t, 16> out{};
    std::memcpy(out.data(), &v, sizeof(v));
    return out;
}

TEST(FrameDescriptor, IsSixteenBytes) {
    EXPECT_EQ(sizeof(struct sgnic_fd), 16U);
    EXPECT_EQ(sizeof(struct sgnic_sg_entry), 16U);
    EXPECT_EQ(SGNIC_SGT_MAX_ENTRIES * sizeof(struct sgnic_sg_entry), size_t{SGNIC_SGT_BYTES});
}

TEST(FrameDescriptor, ContigLayoutIsBigEndian) {
    struct sgnic_fd fd;
    sgnic_fd_clear(&fd);
    fd.bpid = 7;
    sgnic_fd_set_addr(&fd, 0x123456789aULL);
    ASSERT_TRUE(sgnic_fd_set_format(&fd, SGNIC_FD_CONTIG, 64, 1500));
    const std::array<uint8_t, 16> want = {0x00, 0x07, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a,
                                          0x04, 0x00, 0x05, 0xdc, 0x00, 0x00, 0x00, 0x00};
    EXPECT_EQ(bytes_of(fd), want);
    EXPECT_EQ(sgnic_fd_addr(&fd), 0x123456789aULL);
    EXPECT_EQ(sgnic_fd_format(&fd), SGNIC_FD_CONTIG);
    EXPECT_EQ(sgnic_fd_offset(&fd), 64U);
    EXPECT_EQ(sgnic_fd_length(&fd), 1500U);
}

struct FormatCase {
    const char* name;
    enum sgnic_fd_format format;
    uint32_t offset;
    uint32_t length;
    bool fits;
    uint32_t cfg;  // expected cfg word (host order) when it fits
};

// Names the case in ctest's test list instead of a byte dump.
void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.name; }

class FdFormat : public ::testing::TestWithParam<FormatCase> {};

TEST_P(FdFormat, EncodesOrRejects) {
    const FormatCase& c = GetParam();
    struct sgnic_fd fd;
    sgnic_fd_clear(&fd);
    fd.cfg = cpu_to_be32(0xdeadbeef);  // must survive a rejected update
    ASSERT_EQ(sgnic_fd_set_format(&fd, c.format, c.offset, c.length), c.fits);
    if (!c.fits) {
        EXPECT_EQ(be32_to_cpu(fd.cfg), 0xdeadbeefU);
        return;
    }
    EXPECT_EQ(be32_to_cpu(fd.cfg), c.cfg);
    EXPECT_EQ(sgnic_fd_format(&fd), c.format);
    EXPECT_EQ(sgnic_fd_offset(&fd), c.offset);
    EXPECT_EQ(sgnic_fd_length(&fd), c.length);
}

INSTANTIATE_TEST_SUITE_P(
    Boundaries, FdFormat,
    ::testing::Values(
        FormatCase{"contig_max_offset", SGNIC_FD_CONTIG, 511, 0, true, 0x1ff00000},
        FormatCase{"contig_offset_too_big", SGNIC_FD_CONTIG, 512, 0, false, 0},
        FormatCase{"contig_max_length", SGNIC_FD_CONTIG, 0, 0xfffff, true, 0x000fffff},
        FormatCase{"contig_length_too_big", SGNIC_FD_CONTIG, 0, 0x100000, false, 0},
        FormatCase{"sg_jumbo", SGNIC_FD_SG, 256, 9000, true, 0x90002328},
        FormatCase{"contig_big_16m", SGNIC_FD_CONTIG_BIG, 0, 0x1000000, true, 0x41000000},
        FormatCase{"contig_big_no_offset", SGNIC_FD_CONTIG_BIG, 1, 100, false, 0},
        FormatCase{"sg_big_max_length", SGNIC_FD_SG_BIG, 0, 0x1fffffff, true, 0xdfffffff},
        FormatCase{"sg_big_length_too_big", SGNIC_FD_SG_BIG, 0, 0x20000000, false, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FrameDescriptor, AddressIsFortyBits) {
    struct sgnic_fd fd;
    sgnic_fd_clear(&fd);
    sgnic_fd_set_addr(&fd, 0xffffffffffULL);
    EXPECT_EQ(sgnic_fd_addr(&fd), 0xffffffffffULL);
    sgnic_fd_set_addr(&fd, 0x1ab00000001ULL);  // bit 40 is not representable
    EXPECT_EQ(sgnic_fd_addr(&fd), 0xab00000001ULL);
}

TEST(SgEntry, FinalEntryLayout) {
    struct sgnic_sg_entry sg;
    ASSERT_TRUE(sgnic_sg_set(&sg, 0xffffffffffULL, 100, 0x1fff, 3, true));
    const std::array<uint8_t, 16> want = {0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
                                          0x40, 0x00, 0x00, 0x64, 0x00, 0x03, 0x1f, 0xff};
    EXPECT_EQ(bytes_of(sg), want);
    EXPECT_TRUE(sgnic_sg_is_final(&sg));
    EXPECT_FALSE(sgnic_sg_is_extension(&sg));
    EXPECT_EQ(sgnic_sg_length(&sg), 100U);
    EXPECT_EQ(sgnic_sg_offset(&sg), 0x1fffU);
    EXPECT_EQ(sgnic_sg_addr(&sg), 0xffffffffffULL);
}

TEST(SgEntry, RejectsOversizedFieldsAndKeepsEntry) {
    struct sgnic_sg_entry sg;
    ASSERT_TRUE(sgnic_sg_set(&sg, 0x1000, 64, 0, 1, false));
    const auto before = bytes_of(sg);
    EXPECT_FALSE(sgnic_sg_set(&sg, 0x2000, SGNIC_SG_LENGTH_MASK + 1U, 0, 1, false));
    EXPECT_FALSE(sgnic_sg_set(&sg, 0x2000, 64, SGNIC_SG_OFFSET_MASK + 1, 1, false));
    EXPECT_EQ(bytes_of(sg), before);
    EXPECT_FALSE(sgnic_sg_is_final(&sg));
}

TEST(SgEntry, ExtensionBitIsDecoded) {
    struct sgnic_sg_entry sg;
    ASSERT_TRUE(sgnic_sg_set(&sg, 0x1000, 64, 0, 1, false));
    sg.cfg = cpu_to_be32(be32_to_cpu(sg.cfg) | SGNIC_SG_EXTENSION);
    EXPECT_TRUE(sgnic_sg_is_extension(&sg));
    EXPECT_EQ(sgnic_sg_length(&sg), 64U);
}

}  // namespace
