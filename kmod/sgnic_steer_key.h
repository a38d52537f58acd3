/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The steering match key: where each match field (enum sgnic_match_field of
 * the uAPI) lives in a fixed 64-byte key, and the match templates built on
 * it.  A frame's key holds every field it has; a matcher ANDs it with its
 * template mask and hashes the result to find the row.  Rule values are keys
 * too, with every bit outside the template mask zero.
 *
 * Field values are in network byte order, exactly as netlink carries them.
 * The key is an array of 32-bit words so that it hashes without copying;
 * bytes of the key that belong to no field are always zero.
 *
 * Pure (no allocation, no locking, no kernel calls) so that the GoogleTest
 * suite compiles it in user space against tests/unit/kshim; keep it that way.
 */
#ifndef _SGNIC_STEER_KEY_H
#define _SGNIC_STEER_KEY_H

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/string.h>
#include <linux/sgnic.h>

#include "sgnic_steer_geom.h"

#define SGNIC_STEER_KEY_BYTES		64
#define SGNIC_STEER_KEY_WORDS		(SGNIC_STEER_KEY_BYTES / 4)

/* Byte offsets of the fields; bytes 57, 62 and 63 are padding. */
#define SGNIC_STEER_KEY_DMAC		0
#define SGNIC_STEER_KEY_SMAC		6
#define SGNIC_STEER_KEY_ETHERTYPE	12
#define SGNIC_STEER_KEY_VLAN_ID		14
#define SGNIC_STEER_KEY_IPV4_SRC	16
#define SGNIC_STEER_KEY_IPV4_DST	20
#define SGNIC_STEER_KEY_IPV6_SRC	24
#define SGNIC_STEER_KEY_IPV6_DST	40
#define SGNIC_STEER_KEY_IP_PROTO	56
#define SGNIC_STEER_KEY_L4_SPORT	58
#define SGNIC_STEER_KEY_L4_DPORT	60

/* Every field the key can hold, as a supported-fields caps mask. */
#define SGNIC_STEER_FIELDS_ALL		((u32)((1ULL << (SGNIC_MATCH_FIELD_MAX + 1)) - 1))

struct sgnic_steer_key {
	u32 w[SGNIC_STEER_KEY_WORDS];
};

/* Where a field lives in the key. */
struct sgnic_steer_field {
	u8 offset;
	u8 len;
	u8 first_byte_mask;	/* bits of the first byte the field uses */
};

/* Returns NULL for a value outside enum sgnic_match_field. */
static inline const struct sgnic_steer_field *sgnic_steer_field(u32 field)
{
	/* In enum sgnic_match_field order; the unit tests check each entry. */
	static const struct sgnic_steer_field fields[] = {
		{ SGNIC_STEER_KEY_DMAC,		6,	0xff },
		{ SGNIC_STEER_KEY_SMAC,		6,	0xff },
		{ SGNIC_STEER_KEY_ETHERTYPE,	2,	0xff },
		{ SGNIC_STEER_KEY_VLAN_ID,	2,	0x0f },	/* 12-bit VID */
		{ SGNIC_STEER_KEY_IPV4_SRC,	4,	0xff },
		{ SGNIC_STEER_KEY_IPV4_DST,	4,	0xff },
		{ SGNIC_STEER_KEY_IPV6_SRC,	16,	0xff },
		{ SGNIC_STEER_KEY_IPV6_DST,	16,	0xff },
		{ SGNIC_STEER_KEY_IP_PROTO,	1,	0xff },
		{ SGNIC_STEER_KEY_L4_SPORT,	2,	0xff },
		{ SGNIC_STEER_KEY_L4_DPORT,	2,	0xff },
	};

	if (field > SGNIC_MATCH_FIELD_MAX)
		return NULL;
	return &fields[field];
}

static inline u8 *sgnic_steer_key_bytes(struct sgnic_steer_key *key)
{
	return (u8 *)key->w;
}

static inline const u8 *sgnic_steer_key_cbytes(const struct sgnic_steer_key *key)
{
	return (const u8 *)key->w;
}

static inline void sgnic_steer_key_clear(struct sgnic_steer_key *key)
{
	memset(key, 0, sizeof(*key));
}

/*
 * Checks a field value as netlink carries it: known field, exact length,
 * no bits beyond the field's width.  Returns 0 or -EINVAL.
 */
static inline int sgnic_steer_field_check(u32 field, const void *val, u32 len)
{
	const struct sgnic_steer_field *f = sgnic_steer_field(field);

	if (!f || len != f->len)
		return -EINVAL;
	if (*(const u8 *)val & ~f->first_byte_mask)
		return -EINVAL;
	return 0;
}

/* Stores one field; the value must pass sgnic_steer_field_check(). */
static inline int sgnic_steer_key_set(struct sgnic_steer_key *key, u32 field,
				      const void *val, u32 len)
{
	int err = sgnic_steer_field_check(field, val, len);

	if (err)
		return err;
	memcpy(sgnic_steer_key_bytes(key) + sgnic_steer_field(field)->offset, val, len);
	return 0;
}

static inline bool sgnic_steer_field_is_zero(const struct sgnic_steer_key *key, u32 field)
{
	const struct sgnic_steer_field *f = sgnic_steer_field(field);
	const u8 *p = sgnic_steer_key_cbytes(key) + f->offset;
	u32 i;

	for (i = 0; i < f->len; i++)
		if (p[i])
			return false;
	return true;
}

static inline void sgnic_steer_key_and(struct sgnic_steer_key *dst,
				       const struct sgnic_steer_key *key,
				       const struct sgnic_steer_key *mask)
{
	u32 i;

	for (i = 0; i < SGNIC_STEER_KEY_WORDS; i++)
		dst->w[i] = key->w[i] & mask->w[i];
}

/* True when @key has no bit set outside @mask. */
static inline bool sgnic_steer_key_within(const struct sgnic_steer_key *key,
					  const struct sgnic_steer_key *mask)
{
	u32 i;

	for (i = 0; i < SGNIC_STEER_KEY_WORDS; i++)
		if (key->w[i] & ~mask->w[i])
			return false;
	return true;
}

static inline bool sgnic_steer_key_equal(const struct sgnic_steer_key *a,
					 const struct sgnic_steer_key *b)
{
	return !memcmp(a->w, b->w, sizeof(a->w));
}

static inline u32 sgnic_steer_key_hash(const struct sgnic_steer_key *key)
{
	return sgnic_steer_hash(key->w, SGNIC_STEER_KEY_WORDS, SGNIC_STEER_HASH_SEED);
}

/* A match template: which fields, and the mask over the whole key. */
struct sgnic_steer_template {
	u32 fields;			/* bit n: enum sgnic_match_field n */
	struct sgnic_steer_key mask;
};

static inline void sgnic_steer_template_init(struct sgnic_steer_template *t)
{
	t->fields = 0;
	sgnic_steer_key_clear(&t->mask);
}

/*
 * Adds a field with its mask.  -EINVAL: unknown field, wrong length, mask
 * wider than the field, all-zero mask, or the field given twice.
 */
static inline int sgnic_steer_template_add(struct sgnic_steer_template *t, u32 field,
					   const void *mask, u32 len)
{
	int err = sgnic_steer_field_check(field, mask, len);

	if (err)
		return err;
	if (t->fields & (1U << field))
		return -EINVAL;
	sgnic_steer_key_set(&t->mask, field, mask, len);
	if (sgnic_steer_field_is_zero(&t->mask, field))
		return -EINVAL;
	t->fields |= 1U << field;
	return 0;
}

/*
 * A rule stores its match value packed: only the bytes of its template's
 * fields, run by run in key order (adjacent fields make one run).  Whole
 * fields, not masked bytes, so that no mask can make more runs than fields.
 */
struct sgnic_steer_span {
	u8 offset;
	u8 len;
};

#define SGNIC_STEER_SPANS_MAX		(SGNIC_MATCH_FIELD_MAX + 1)

struct sgnic_steer_packing {
	u8 n_spans;
	u8 len;				/* bytes of a packed value */
	struct sgnic_steer_span spans[SGNIC_STEER_SPANS_MAX];
};

/* Packs the spans' bytes of a (masked) key into @out (p->len bytes). */
static inline void sgnic_steer_key_pack(const struct sgnic_steer_packing *p,
					const struct sgnic_steer_key *key, u8 *out)
{
	const u8 *bytes = sgnic_steer_key_cbytes(key);
	u32 i;

	for (i = 0; i < p->n_spans; i++) {
		memcpy(out, bytes + p->spans[i].offset, p->spans[i].len);
		out += p->spans[i].len;
	}
}

/* The whole key of a packed value; bytes outside the spans are zero. */
static inline void sgnic_steer_key_unpack(const struct sgnic_steer_packing *p,
					  const u8 *in, struct sgnic_steer_key *key)
{
	u8 *bytes = sgnic_steer_key_bytes(key);
	u32 i;

	sgnic_steer_key_clear(key);
	for (i = 0; i < p->n_spans; i++) {
		memcpy(bytes + p->spans[i].offset, in, p->spans[i].len);
		in += p->spans[i].len;
	}
}

/*
 * The runs of a template's fields (bit n: enum sgnic_match_field n), whose
 * key offsets grow with the field number.
 */
static inline void sgnic_steer_packing_init(struct sgnic_steer_packing *p, u32 fields)
{
	const struct sgnic_steer_field *f;
	struct sgnic_steer_span *last;
	u32 field;

	p->n_spans = 0;
	p->len = 0;
	for (field = 0; field <= SGNIC_MATCH_FIELD_MAX; field++) {
		if (!(fields & (1U << field)))
			continue;
		f = sgnic_steer_field(field);
		last = p->n_spans ? &p->spans[p->n_spans - 1] : NULL;
		if (last && last->offset + last->len == f->offset) {
			last->len += f->len;
		} else {
			p->spans[p->n_spans].offset = f->offset;
			p->spans[p->n_spans].len = f->len;
			p->n_spans++;
		}
		p->len += f->len;
	}
}

/* Whether two matchers can share rules (a resize target needs this). */
static inline bool sgnic_steer_template_equal(const struct sgnic_steer_template *a,
					      const struct sgnic_steer_template *b)
{
	return a->fields == b->fields && sgnic_steer_key_equal(&a->mask, &b->mask);
}

#endif /* _SGNIC_STEER_KEY_H */
