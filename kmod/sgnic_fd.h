/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Frame descriptors and scatter/gather table entries, laid out as a DPAA
 * queue manager and frame manager see them: 16 bytes each, big-endian.
 *
 * This header is pure (no allocation, no locking, no kernel calls besides
 * byte-order helpers) so that the GoogleTest suite compiles it in user space
 * against tests/unit/kshim; keep it that way.
 */
#ifndef _SGNIC_FD_H
#define _SGNIC_FD_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/string.h>
#include <asm/byteorder.h>

/* Addresses the frame manager can reach are 40 bits wide. */
#define SGNIC_ADDR_BITS		40
#define SGNIC_ADDR_MASK		GENMASK_ULL(SGNIC_ADDR_BITS - 1, 0)

/* Buffer pool id of Tx buffers: hardware must hand them back, not free them. */
#define SGNIC_BPID_INVALID	0xff

/* FD cfg word: format (31..29), offset (28..20), length (19..0). */
#define SGNIC_FD_FORMAT_SHIFT	29
#define SGNIC_FD_FORMAT_MASK	GENMASK(31, 29)
#define SGNIC_FD_OFFSET_SHIFT	20
#define SGNIC_FD_OFFSET_MASK	GENMASK(28, 20)
#define SGNIC_FD_OFFSET_MAX	(SGNIC_FD_OFFSET_MASK >> SGNIC_FD_OFFSET_SHIFT)
#define SGNIC_FD_LENGTH_MASK	GENMASK(19, 0)
#define SGNIC_FD_LENGTH_MAX	SGNIC_FD_LENGTH_MASK
/* The "big" formats have no offset field and a 29-bit length. */
#define SGNIC_FD_BIG_LENGTH_MASK GENMASK(28, 0)

/* FD formats, already shifted into place in the cfg word. */
enum sgnic_fd_format {
	SGNIC_FD_CONTIG		= 0,
	SGNIC_FD_CONTIG_BIG	= BIT(30),
	SGNIC_FD_SG		= BIT(31),
	SGNIC_FD_SG_BIG		= BIT(31) | BIT(30),
};

/* FD cmd/status word bits the driver and the simulated frame manager use. */
#define SGNIC_FD_CMD_CSUM	BIT(31)	/* Tx: compute the L3/L4 checksums */
#define SGNIC_FD_STATUS_CSUM_OK	BIT(30)	/* Rx: checksums verified */
#define SGNIC_FD_STATUS_ERR	BIT(29)	/* Tx confirm / Rx: frame error */
#define SGNIC_FD_CMD_TSO	BIT(28)	/* Tx: cut into TCP segments (with CSUM) */
#define SGNIC_FD_STATUS_MARK	BIT(27)	/* Rx: a steering mark in the annotation */
#define SGNIC_FD_STATUS_GRO	BIT(26)	/* Rx: coalesced TCP segments, see annotation */
#define SGNIC_FD_STATUS_HASH	BIT(25)	/* Rx: the flow hash in the annotation */
#define SGNIC_FD_STATUS_HASH_L4	BIT(24)	/* Rx: ... and it covers the L4 ports */

struct sgnic_fd {
	u8 reserved0;
	u8 bpid;
	u8 reserved1;
	u8 addr_hi;		/* address bits 39..32 */
	__be32 addr_lo;		/* address bits 31..0 */
	__be32 cfg;
	__be32 cmd_status;
};

/* S/G entry cfg word: extension (31), final (30), length (29..0). */
#define SGNIC_SG_EXTENSION	BIT(31)
#define SGNIC_SG_FINAL		BIT(30)
#define SGNIC_SG_LENGTH_MASK	GENMASK(29, 0)
#define SGNIC_SG_OFFSET_MASK	GENMASK(12, 0)

/* Maximum number of entries in one S/G table; the table buffer size. */
#define SGNIC_SGT_MAX_ENTRIES	16
#define SGNIC_SGT_BYTES		256

struct sgnic_sg_entry {
	u8 reserved0[3];
	u8 addr_hi;		/* address bits 39..32 */
	__be32 addr_lo;		/* address bits 31..0 */
	__be32 cfg;
	u8 reserved1;
	u8 bpid;
	__be16 offset;		/* 13 bits */
};

static inline void sgnic_fd_clear(struct sgnic_fd *fd)
{
	memset(fd, 0, sizeof(*fd));
}

static inline void sgnic_fd_set_addr(struct sgnic_fd *fd, u64 addr)
{
	fd->addr_hi = (u8)((addr & SGNIC_ADDR_MASK) >> 32);
	fd->addr_lo = cpu_to_be32((u32)addr);
}

static inline u64 sgnic_fd_addr(const struct sgnic_fd *fd)
{
	return ((u64)fd->addr_hi << 32) | be32_to_cpu(fd->addr_lo);
}

static inline enum sgnic_fd_format sgnic_fd_format(const struct sgnic_fd *fd)
{
	return (enum sgnic_fd_format)(be32_to_cpu(fd->cfg) & SGNIC_FD_FORMAT_MASK);
}

static inline bool sgnic_fd_format_is_big(enum sgnic_fd_format format)
{
	return format == SGNIC_FD_CONTIG_BIG || format == SGNIC_FD_SG_BIG;
}

/*
 * Sets format, offset and length.  The short formats carry a 9-bit offset
 * and a 20-bit length; the big ones a 29-bit length and no offset.  Returns
 * false, leaving the FD untouched, when the values do not fit the format.
 */
static inline bool sgnic_fd_set_format(struct sgnic_fd *fd,
				       enum sgnic_fd_format format,
				       u32 offset, u32 length)
{
	u32 cfg = (u32)format;

	if (sgnic_fd_format_is_big(format)) {
		if (offset || length > SGNIC_FD_BIG_LENGTH_MASK)
			return false;
		cfg |= length;
	} else {
		if (offset > SGNIC_FD_OFFSET_MAX || length > SGNIC_FD_LENGTH_MAX)
			return false;
		cfg |= offset << SGNIC_FD_OFFSET_SHIFT | length;
	}
	fd->cfg = cpu_to_be32(cfg);
	return true;
}

static inline u32 sgnic_fd_offset(const struct sgnic_fd *fd)
{
	u32 cfg = be32_to_cpu(fd->cfg);

	if (sgnic_fd_format_is_big(sgnic_fd_format(fd)))
		return 0;
	return (cfg & SGNIC_FD_OFFSET_MASK) >> SGNIC_FD_OFFSET_SHIFT;
}

static inline u32 sgnic_fd_length(const struct sgnic_fd *fd)
{
	u32 cfg = be32_to_cpu(fd->cfg);

	if (sgnic_fd_format_is_big(sgnic_fd_format(fd)))
		return cfg & SGNIC_FD_BIG_LENGTH_MASK;
	return cfg & SGNIC_FD_LENGTH_MASK;
}

static inline void sgnic_sg_set_addr(struct sgnic_sg_entry *sg, u64 addr)
{
	sg->addr_hi = (u8)((addr & SGNIC_ADDR_MASK) >> 32);
	sg->addr_lo = cpu_to_be32((u32)addr);
}

static inline u64 sgnic_sg_addr(const struct sgnic_sg_entry *sg)
{
	return ((u64)sg->addr_hi << 32) | be32_to_cpu(sg->addr_lo);
}

/* Returns false, leaving the entry untouched, if length or offset is too big. */
static inline bool sgnic_sg_set(struct sgnic_sg_entry *sg, u64 addr,
				u32 length, u16 offset, u8 bpid, bool final)
{
	if (length > SGNIC_SG_LENGTH_MASK || offset > SGNIC_SG_OFFSET_MASK)
		return false;
	memset(sg, 0, sizeof(*sg));
	sgnic_sg_set_addr(sg, addr);
	sg->cfg = cpu_to_be32(length | (final ? SGNIC_SG_FINAL : 0));
	sg->bpid = bpid;
	sg->offset = cpu_to_be16(offset);
	return true;
}

static inline u32 sgnic_sg_length(const struct sgnic_sg_entry *sg)
{
	return be32_to_cpu(sg->cfg) & SGNIC_SG_LENGTH_MASK;
}

static inline bool sgnic_sg_is_final(const struct sgnic_sg_entry *sg)
{
	return be32_to_cpu(sg->cfg) & SGNIC_SG_FINAL;
}

static inline bool sgnic_sg_is_extension(const struct sgnic_sg_entry *sg)
{
	return be32_to_cpu(sg->cfg) & SGNIC_SG_EXTENSION;
}

static inline u16 sgnic_sg_offset(const struct sgnic_sg_entry *sg)
{
	return be16_to_cpu(sg->offset) & SGNIC_SG_OFFSET_MASK;
}

#endif /* _SGNIC_FD_H */
