/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Steering table geometry, device page accounting, the row hash and the
 * steering caps: the numbers the module reports and the daemon plans with.
 *
 * A matcher has one hash table per direction, each with its own size_log.
 * The table is laid out as the hardware would lay it out (modelled on mlx5
 * HWS matchers):
 *   - 2^size_log rows;
 *   - while size_log <= 10, one deep table: depth 2^min(size_log, 4), so
 *     that small tables never collide before they are full;
 *   - above that, depth 4 plus a collision table of 2^(size_log - 5) rows
 *     (about 3% of the main rows) of 16 entries each;
 *   - a steering entry (STE) is 64 bytes, and each range (main, collision)
 *     occupies whole 4 KiB device pages.
 * The geometry is accounted, never allocated: the module stores occupied
 * entries only.
 *
 * Pure (no allocation, no locking, no kernel calls) so that the GoogleTest
 * suite compiles it in user space against tests/unit/kshim; keep it that way.
 */
#ifndef _SGNIC_STEER_GEOM_H
#define _SGNIC_STEER_GEOM_H

#include <linux/types.h>
#include <linux/bits.h>

/*
 * Caps of the simulated device, reported over netlink.  A table may hold at
 * most 2^STE_ALLOC_LOG_MAX entries (rows times depth) and rows at most
 * 2^RTC_LOG_DEPTH_MAX deep; the collision table's depth of 16 needs 4.
 * With depth 4 above size_log 10 the largest table is size_log
 * STE_ALLOC_LOG_MAX - 2 = 24: 16M rows, 75.5M entries, 1.1M pages.
 */
#define SGNIC_STEER_STE_ALLOC_LOG_MAX		26
#define SGNIC_STEER_RTC_LOG_DEPTH_MAX		4
#define SGNIC_STEER_MAX_MATCHERS		64	/* per port */
#define SGNIC_STEER_MAX_ACTION_TEMPLATES	128	/* per matcher */

/* An STE is 64 bytes; device pages are 4 KiB, so 64 STEs per page. */
#define SGNIC_STEER_STE_SHIFT			6
#define SGNIC_STEER_STE_BYTES			BIT(SGNIC_STEER_STE_SHIFT)
#define SGNIC_STEER_PAGE_SHIFT			12
#define SGNIC_STEER_PAGE_BYTES			BIT(SGNIC_STEER_PAGE_SHIFT)
#define SGNIC_STEER_STES_PER_PAGE_LOG \
	(SGNIC_STEER_PAGE_SHIFT - SGNIC_STEER_STE_SHIFT)

/* Tables above this size_log get a collision table and a shallow main table. */
#define SGNIC_STEER_COL_TBL_SIZE_LOG_TH		10
/* Depth (log2) of a small table is min(size_log, this). */
#define SGNIC_STEER_SMALL_DEPTH_LOG_MAX		4
/* Depth (log2) of a large main table. */
#define SGNIC_STEER_MAIN_DEPTH_LOG		2
/* The collision table has 2^-5 (about 3%) of the main table's rows ... */
#define SGNIC_STEER_COL_ROW_RATIO_LOG		5
/* ... and is 16 entries deep. */
#define SGNIC_STEER_COL_DEPTH_LOG		4

/* Largest size_log the caps above admit. */
#define SGNIC_STEER_SIZE_LOG_MAX \
	(SGNIC_STEER_STE_ALLOC_LOG_MAX - SGNIC_STEER_MAIN_DEPTH_LOG)

/* Seed of the row hash; the same everywhere, so user space can predict rows. */
#define SGNIC_STEER_HASH_SEED			0

/* One direction's table, derived from its size_log. */
struct sgnic_steer_geom {
	u8 size_log;		/* log2 rows of the main table */
	u8 depth_log;		/* log2 entries per main row */
	u8 col_rows_log;	/* log2 rows of the collision table */
	u8 col_depth_log;	/* log2 entries per collision row */
	bool has_col;		/* collision table present */
};

static inline bool sgnic_steer_has_col(u32 size_log)
{
	return size_log > SGNIC_STEER_COL_TBL_SIZE_LOG_TH;
}

static inline u32 sgnic_steer_depth_log(u32 size_log)
{
	if (sgnic_steer_has_col(size_log))
		return SGNIC_STEER_MAIN_DEPTH_LOG;
	return size_log < SGNIC_STEER_SMALL_DEPTH_LOG_MAX ?
	       size_log : SGNIC_STEER_SMALL_DEPTH_LOG_MAX;
}

/*
 * Whether a table of this size_log fits a device with these caps: the same
 * test the module applies to matcher-new (ERANGE otherwise).  Takes the caps
 * as arguments so that a fake device with other caps can use it too.
 */
static inline bool sgnic_steer_size_log_fits(u32 size_log, u32 ste_alloc_log_max,
					     u32 rtc_log_depth_max)
{
	u32 depth_log = sgnic_steer_depth_log(size_log);

	if (size_log > ste_alloc_log_max)
		return false;
	if (size_log + depth_log > ste_alloc_log_max || depth_log > rtc_log_depth_max)
		return false;
	if (!sgnic_steer_has_col(size_log))
		return true;
	return rtc_log_depth_max >= SGNIC_STEER_COL_DEPTH_LOG &&
	       size_log - SGNIC_STEER_COL_ROW_RATIO_LOG + SGNIC_STEER_COL_DEPTH_LOG <=
	       ste_alloc_log_max;
}

static inline bool sgnic_steer_size_log_valid(u32 size_log)
{
	return sgnic_steer_size_log_fits(size_log, SGNIC_STEER_STE_ALLOC_LOG_MAX,
					 SGNIC_STEER_RTC_LOG_DEPTH_MAX);
}

/* @size_log must be valid (sgnic_steer_size_log_valid()). */
static inline void sgnic_steer_geom_init(struct sgnic_steer_geom *g, u32 size_log)
{
	g->size_log = (u8)size_log;
	g->depth_log = (u8)sgnic_steer_depth_log(size_log);
	g->has_col = sgnic_steer_has_col(size_log);
	g->col_rows_log = g->has_col ? (u8)(size_log - SGNIC_STEER_COL_ROW_RATIO_LOG) : 0;
	g->col_depth_log = g->has_col ? SGNIC_STEER_COL_DEPTH_LOG : 0;
}

static inline u32 sgnic_steer_rows(const struct sgnic_steer_geom *g)
{
	return 1U << g->size_log;
}

static inline u32 sgnic_steer_depth(const struct sgnic_steer_geom *g)
{
	return 1U << g->depth_log;
}

static inline u32 sgnic_steer_col_rows(const struct sgnic_steer_geom *g)
{
	return g->has_col ? 1U << g->col_rows_log : 0;
}

static inline u32 sgnic_steer_col_depth(const struct sgnic_steer_geom *g)
{
	return g->has_col ? 1U << g->col_depth_log : 0;
}

/* Entries of the main and collision tables together: the table's capacity. */
static inline u64 sgnic_steer_stes(const struct sgnic_steer_geom *g)
{
	u64 stes = 1ULL << (g->size_log + g->depth_log);

	if (g->has_col)
		stes += 1ULL << (g->col_rows_log + g->col_depth_log);
	return stes;
}

/* Pages of one STE range of 2^stes_log entries: whole pages, at least one. */
static inline u64 sgnic_steer_range_pages(u32 stes_log)
{
	if (stes_log <= SGNIC_STEER_STES_PER_PAGE_LOG)
		return 1;
	return 1ULL << (stes_log - SGNIC_STEER_STES_PER_PAGE_LOG);
}

/* Device pages the table needs; each range is rounded up on its own. */
static inline u64 sgnic_steer_pages(const struct sgnic_steer_geom *g)
{
	u64 pages = sgnic_steer_range_pages(g->size_log + g->depth_log);

	if (g->has_col)
		pages += sgnic_steer_range_pages(g->col_rows_log + g->col_depth_log);
	return pages;
}

/*
 * The row hash: Bob Jenkins' lookup3 "hashword" over 32-bit words, the
 * function the kernel calls jhash2().  Written out here rather than taken
 * from <linux/jhash.h> so that the module and user space run the very same
 * code; the unit tests pin it to jhash2()'s values.
 */
#define SGNIC_STEER_HASH_INITVAL		0xdeadbeefU

static inline u32 sgnic_steer_rol32(u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((32 - shift) & 31));
}

static inline void sgnic_steer_hash_mix(u32 *a, u32 *b, u32 *c)
{
	*a -= *c; *a ^= sgnic_steer_rol32(*c, 4);  *c += *b;
	*b -= *a; *b ^= sgnic_steer_rol32(*a, 6);  *a += *c;
	*c -= *b; *c ^= sgnic_steer_rol32(*b, 8);  *b += *a;
	*a -= *c; *a ^= sgnic_steer_rol32(*c, 16); *c += *b;
	*b -= *a; *b ^= sgnic_steer_rol32(*a, 19); *a += *c;
	*c -= *b; *c ^= sgnic_steer_rol32(*b, 4);  *b += *a;
}

static inline void sgnic_steer_hash_final(u32 *a, u32 *b, u32 *c)
{
	*c ^= *b; *c -= sgnic_steer_rol32(*b, 14);
	*a ^= *c; *a -= sgnic_steer_rol32(*c, 11);
	*b ^= *a; *b -= sgnic_steer_rol32(*a, 25);
	*c ^= *b; *c -= sgnic_steer_rol32(*b, 16);
	*a ^= *c; *a -= sgnic_steer_rol32(*c, 4);
	*b ^= *a; *b -= sgnic_steer_rol32(*a, 14);
	*c ^= *b; *c -= sgnic_steer_rol32(*b, 24);
}

static inline u32 sgnic_steer_hash(const u32 *k, u32 words, u32 seed)
{
	u32 a, b, c;

	a = SGNIC_STEER_HASH_INITVAL + (words << 2) + seed;
	b = a;
	c = a;
	while (words > 3) {
		a += k[0];
		b += k[1];
		c += k[2];
		sgnic_steer_hash_mix(&a, &b, &c);
		words -= 3;
		k += 3;
	}
	/* The last one to three words always go through the final mix. */
	if (!words)
		return c;
	if (words == 3)
		c += k[2];
	if (words >= 2)
		b += k[1];
	a += k[0];
	sgnic_steer_hash_final(&a, &b, &c);
	return c;
}

/* Main-table row of a key: the hash's low size_log bits. */
static inline u32 sgnic_steer_row(const struct sgnic_steer_geom *g, u32 hash)
{
	return hash & (sgnic_steer_rows(g) - 1);
}

/*
 * Collision-table row: the hash's high bits, so that the keys overflowing
 * one main row spread over the collision table instead of piling into one
 * of its rows.
 */
static inline u32 sgnic_steer_col_row(const struct sgnic_steer_geom *g, u32 hash)
{
	if (!g->has_col || !g->col_rows_log)
		return 0;
	return hash >> (32 - g->col_rows_log);
}

#endif /* _SGNIC_STEER_GEOM_H */
