// SPDX-License-Identifier: GPL-2.0
/*
 * Compile-time check of kmod's pure steering headers in kernel space: every
 * helper is used once so that the compiler and sparse see all of them.
 */
#include <linux/build_bug.h>
#include <linux/module.h>
#include <linux/sgnic.h>

#include "sgnic_steer_geom.h"
#include "sgnic_steer_key.h"

static_assert(sizeof(struct sgnic_steer_key) == SGNIC_STEER_KEY_BYTES);
static_assert(SGNIC_STEER_KEY_BYTES == SGNIC_STEER_STE_BYTES);
static_assert(SGNIC_STEER_SIZE_LOG_MAX + SGNIC_STEER_MAIN_DEPTH_LOG ==
	      SGNIC_STEER_STE_ALLOC_LOG_MAX);
static_assert(SGNIC_STEER_RTC_LOG_DEPTH_MAX >= SGNIC_STEER_COL_DEPTH_LOG);
static_assert(SGNIC_MATCH_FIELD_MAX < 32);
static_assert(SGNIC_FIELD_MAX_LEN == 16);

static noinline u64 sgnic_hdrcheck_use(u32 size_log)
{
	static const u8 vid[2] = { 0x0f, 0xff };
	struct sgnic_steer_template t, u;
	struct sgnic_steer_key key, masked;
	struct sgnic_steer_geom g;
	u64 sum;

	if (!sgnic_steer_size_log_valid(size_log))
		return 0;
	sgnic_steer_geom_init(&g, size_log);
	sgnic_steer_template_init(&t);
	sgnic_steer_template_init(&u);
	sgnic_steer_key_clear(&key);
	if (sgnic_steer_template_add(&t, SGNIC_MATCH_FIELD_VLAN_ID, vid, sizeof(vid)) ||
	    sgnic_steer_key_set(&key, SGNIC_MATCH_FIELD_VLAN_ID, vid, sizeof(vid)))
		return 0;
	sgnic_steer_key_and(&masked, &key, &t.mask);
	sum = sgnic_steer_stes(&g) + sgnic_steer_pages(&g) + sgnic_steer_depth(&g) +
	      sgnic_steer_col_rows(&g) + sgnic_steer_col_depth(&g);
	sum += sgnic_steer_row(&g, sgnic_steer_key_hash(&masked));
	sum += sgnic_steer_col_row(&g, sgnic_steer_key_hash(&key));
	sum += sgnic_steer_key_within(&key, &t.mask) + sgnic_steer_key_equal(&key, &masked);
	sum += sgnic_steer_template_equal(&t, &u);
	return sum;
}

static int __init sgnic_hdrcheck_init(void)
{
	return sgnic_hdrcheck_use(SGNIC_STEER_SIZE_LOG_MAX) ? 0 : -EINVAL;
}

static void __exit sgnic_hdrcheck_exit(void)
{
}

module_init(sgnic_hdrcheck_init);
module_exit(sgnic_hdrcheck_exit);
MODULE_DESCRIPTION("sgnic: kernel-side compile check of the steering headers");
MODULE_LICENSE("GPL");
