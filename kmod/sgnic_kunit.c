// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of sgnic's pure pieces, run in the kernel they serve (the
 * debug kernel of the robustness tier; Debian's kernel has no KUnit).  The
 * user-space GoogleTest suite checks the same layouts with a shim; these
 * check them with the kernel's own byte-order and bit helpers.
 */
#include <kunit/test.h>
#include <linux/module.h>

#include "sgnic_fd.h"

static void sgnic_fd_contig_bytes(struct kunit *test)
{
	static const u8 want[16] = {
		0x00, 0x07, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9a,
		0x04, 0x00, 0x05, 0xdc, 0x00, 0x00, 0x00, 0x00,
	};
	struct sgnic_fd fd;

	KUNIT_EXPECT_EQ(test, sizeof(fd), 16);
	sgnic_fd_clear(&fd);
	fd.bpid = 7;
	sgnic_fd_set_addr(&fd, 0x123456789aULL);
	KUNIT_ASSERT_TRUE(test, sgnic_fd_set_format(&fd, SGNIC_FD_CONTIG, 64, 1500));
	KUNIT_EXPECT_EQ(test, memcmp(&fd, want, sizeof(want)), 0);
	KUNIT_EXPECT_EQ(test, sgnic_fd_addr(&fd), 0x123456789aULL);
	KUNIT_EXPECT_EQ(test, sgnic_fd_offset(&fd), 64);
	KUNIT_EXPECT_EQ(test, sgnic_fd_length(&fd), 1500);
}

struct sgnic_fd_format_case {
	const char *name;
	enum sgnic_fd_format format;
	u32 offset;
	u32 length;
	bool fits;
	u32 cfg;
};

static const struct sgnic_fd_format_case sgnic_fd_format_cases[] = {
	{ "contig_max_offset", SGNIC_FD_CONTIG, 511, 0, true, 0x1ff00000 },
	{ "contig_offset_too_big", SGNIC_FD_CONTIG, 512, 0, false, 0 },
	{ "contig_max_length", SGNIC_FD_CONTIG, 0, 0xfffff, true, 0x000fffff },
	{ "contig_length_too_big", SGNIC_FD_CONTIG, 0, 0x100000, false, 0 },
	{ "sg_jumbo", SGNIC_FD_SG, 256, 9000, true, 0x90002328 },
	{ "contig_big_16m", SGNIC_FD_CONTIG_BIG, 0, 0x1000000, true, 0x41000000 },
	{ "contig_big_no_offset", SGNIC_FD_CONTIG_BIG, 1, 100, false, 0 },
	{ "sg_big_max_length", SGNIC_FD_SG_BIG, 0, 0x1fffffff, true, 0xdfffffff },
	{ "sg_big_length_too_big", SGNIC_FD_SG_BIG, 0, 0x20000000, false, 0 },
};

static void sgnic_fd_format_desc(const struct sgnic_fd_format_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(sgnic_fd_format, sgnic_fd_format_cases, sgnic_fd_format_desc);

static void sgnic_fd_format_boundaries(struct kunit *test)
{
	const struct sgnic_fd_format_case *c = test->param_value;
	struct sgnic_fd fd;

	sgnic_fd_clear(&fd);
	fd.cfg = cpu_to_be32(0xdeadbeef);
	KUNIT_ASSERT_EQ(test, sgnic_fd_set_format(&fd, c->format, c->offset, c->length), c->fits);
	if (!c->fits) {
		KUNIT_EXPECT_EQ(test, be32_to_cpu(fd.cfg), 0xdeadbeef);
		return;
	}
	KUNIT_EXPECT_EQ(test, be32_to_cpu(fd.cfg), c->cfg);
	KUNIT_EXPECT_EQ(test, sgnic_fd_offset(&fd), c->offset);
	KUNIT_EXPECT_EQ(test, sgnic_fd_length(&fd), c->length);
}

static void sgnic_sg_final_entry_bytes(struct kunit *test)
{
	static const u8 want[16] = {
		0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
		0x40, 0x00, 0x00, 0x64, 0x00, 0x03, 0x1f, 0xff,
	};
	struct sgnic_sg_entry sg;

	KUNIT_EXPECT_EQ(test, sizeof(sg) * SGNIC_SGT_MAX_ENTRIES, SGNIC_SGT_BYTES);
	KUNIT_ASSERT_TRUE(test, sgnic_sg_set(&sg, 0xffffffffffULL, 100, 0x1fff, 3, true));
	KUNIT_EXPECT_EQ(test, memcmp(&sg, want, sizeof(want)), 0);
	KUNIT_EXPECT_TRUE(test, sgnic_sg_is_final(&sg));
	KUNIT_EXPECT_FALSE(test, sgnic_sg_is_extension(&sg));
	KUNIT_EXPECT_FALSE(test, sgnic_sg_set(&sg, 0, SGNIC_SG_LENGTH_MASK + 1, 0, 3, true));
	KUNIT_EXPECT_EQ(test, memcmp(&sg, want, sizeof(want)), 0);
}

static struct kunit_case sgnic_fd_cases[] = {
	KUNIT_CASE(sgnic_fd_contig_bytes),
	KUNIT_CASE_PARAM(sgnic_fd_format_boundaries, sgnic_fd_format_gen_params),
	KUNIT_CASE(sgnic_sg_final_entry_bytes),
	{}
};

static struct kunit_suite sgnic_fd_suite = {
	.name = "sgnic_fd",
	.test_cases = sgnic_fd_cases,
};

kunit_test_suite(sgnic_fd_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of sgnic's pure pieces");
