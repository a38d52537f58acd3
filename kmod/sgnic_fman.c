// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: the simulated frame manager, i.e. the wire between two ports.
 *
 * Run from a portal's NAPI poll, it drains the Tx FQs of that portal's CPU,
 * reads each frame through the bus addresses in its FD (and S/G table),
 * completes the L4 checksum when the driver asked for it, and writes the
 * frame into buffers of the peer's pool: one buffer when it fits after the
 * Rx headroom, otherwise an S/G table in one buffer and the frame spread
 * over further ones.  It then verifies the L3/L4 checksums of what it
 * delivered (the Rx parser) and hands the Tx FD back on the confirm FQ.
 * Before it takes a buffer, its classifier runs the receiver's RX steering
 * rules on the frame: a rule drops it, or chooses the Rx FQ (the receive
 * queue, served by that CPU's portal) and a mark for the Rx annotation.
 */
#include <linux/dma-direct.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <net/checksum.h>
#include <net/ip6_checksum.h>

#include "sgnic.h"
#include "sgnic_fman_tso.h"
#include "sgnic_steer.h"
#include "sgnic_steer_frame.h"

/*
 * The simulated hardware reaches memory only through the bus addresses it
 * was handed.  With dma-direct a bus address is a physical address (of the
 * buffer, or of its bounce slot when swiotlb bounces), reached through the
 * kernel's linear map.  Only the frame manager translates: the driver keeps
 * its own records of what it mapped.
 */
static void *sgnic_fman_bus_to_virt(struct sgnic_dev *sd, dma_addr_t addr)
{
	return phys_to_virt(dma_to_phys(sd->dma_dev, addr));
}

/* A frame as a list of virtually contiguous pieces. */
struct sgnic_fman_seg {
	u8 *va;
	u32 len;
};

/*
 * A table's entries, or a TSO segment's headers and a slice of its
 * superframe's table.
 */
struct sgnic_fman_frame {
	struct sgnic_fman_seg seg[SGNIC_SGT_MAX_ENTRIES + 1];
	unsigned int nseg;
	u32 len;
};

/* Walks the pieces of a byte range [off, off + len) of a frame. */
struct sgnic_fman_cursor {
	const struct sgnic_fman_frame *f;
	unsigned int i;
	u32 skip;
	u32 left;
	u32 done;
};

static void sgnic_fman_cursor_init(struct sgnic_fman_cursor *c,
				   const struct sgnic_fman_frame *f,
				   u32 off, u32 len)
{
	c->f = f;
	c->i = 0;
	c->skip = off;
	c->left = len;
	c->done = 0;
}

/* Next piece: @p, @l, and @pos its position within the range. */
static bool sgnic_fman_next(struct sgnic_fman_cursor *c, u8 **p, u32 *l,
			    u32 *pos)
{
	const struct sgnic_fman_seg *seg;

	while (c->i < c->f->nseg && c->left) {
		seg = &c->f->seg[c->i++];
		if (c->skip >= seg->len) {
			c->skip -= seg->len;
			continue;
		}
		*p = seg->va + c->skip;
		*l = min(seg->len - c->skip, c->left);
		*pos = c->done;
		c->skip = 0;
		c->left -= *l;
		c->done += *l;
		return true;
	}
	return false;
}

static void sgnic_fman_read(const struct sgnic_fman_frame *f, u32 off,
			    void *buf, u32 len)
{
	struct sgnic_fman_cursor c;
	u32 pos, l;
	u8 *p;

	sgnic_fman_cursor_init(&c, f, off, len);
	while (sgnic_fman_next(&c, &p, &l, &pos))
		memcpy((u8 *)buf + pos, p, l);
}

static void sgnic_fman_write(const struct sgnic_fman_frame *f, u32 off,
			     const void *buf, u32 len)
{
	struct sgnic_fman_cursor c;
	u32 pos, l;
	u8 *p;

	sgnic_fman_cursor_init(&c, f, off, len);
	while (sgnic_fman_next(&c, &p, &l, &pos))
		memcpy(p, (const u8 *)buf + pos, l);
}

static __wsum sgnic_fman_csum(const struct sgnic_fman_frame *f, u32 off,
			      u32 len)
{
	struct sgnic_fman_cursor c;
	__wsum csum = 0;
	u32 pos, l;
	u8 *p;

	sgnic_fman_cursor_init(&c, f, off, len);
	while (sgnic_fman_next(&c, &p, &l, &pos))
		csum = csum_block_add(csum, csum_partial(p, l, 0), pos);
	return csum;
}

/*
 * Copies frame @src into @dst and returns the checksum of its bytes from
 * @start on (a Tx checksum request's range), summed as they are copied
 * rather than in a second pass over the frame.
 */
static __wsum sgnic_fman_copy_csum(const struct sgnic_fman_frame *dst,
				   const struct sgnic_fman_frame *src, u32 start)
{
	struct sgnic_fman_cursor c;
	u32 off = 0, pos, l, at, skip;
	__wsum csum = 0;
	unsigned int i;
	const u8 *s;
	u8 *p;

	for (i = 0; i < src->nseg; i++) {
		s = src->seg[i].va;
		sgnic_fman_cursor_init(&c, dst, off, src->seg[i].len);
		while (sgnic_fman_next(&c, &p, &l, &pos)) {
			at = off + pos;
			skip = at < start ? min(start - at, l) : 0;
			memcpy(p, s + pos, skip);
			if (l > skip)
				csum = csum_block_add(csum,
						      csum_partial_copy_nocheck(s + pos + skip,
										p + skip, l - skip),
						      at + skip - start);
		}
		off += src->seg[i].len;
	}
	return csum;
}

/* Appends bytes [off, off + len) of @src to @dst as further pieces. */
static void sgnic_fman_slice(struct sgnic_fman_frame *dst,
			     const struct sgnic_fman_frame *src, u32 off, u32 len)
{
	struct sgnic_fman_cursor c;
	u32 pos, l;
	u8 *p;

	sgnic_fman_cursor_init(&c, src, off, len);
	while (dst->nseg < ARRAY_SIZE(dst->seg) &&
	       sgnic_fman_next(&c, &p, &l, &pos)) {
		dst->seg[dst->nseg].va = p;
		dst->seg[dst->nseg++].len = l;
		dst->len += l;
	}
}

/* Maps a Tx FD to the frame it describes; false if the FD is malformed. */
static enum sgnic_fman_err sgnic_fman_tx_frame(struct sgnic_dev *sd, const struct sgnic_fd *fd,
					       struct sgnic_fman_frame *f)
{
	const struct sgnic_sg_entry *sgt;
	u8 *va = sgnic_fman_bus_to_virt(sd, sgnic_fd_addr(fd)) + sgnic_fd_offset(fd);
	unsigned int i;
	u32 len = 0;

	f->len = sgnic_fd_length(fd);
	switch (sgnic_fd_format(fd)) {
	case SGNIC_FD_CONTIG:
		f->seg[0].va = va;
		f->seg[0].len = f->len;
		f->nseg = 1;
		return SGNIC_FMAN_OK;
	case SGNIC_FD_SG:
		break;
	default:
		return SGNIC_FMAN_ERR_FORMAT;
	}
	sgt = (const struct sgnic_sg_entry *)va;
	for (i = 0; i < SGNIC_SGT_MAX_ENTRIES; i++) {
		/* Extension tables are not supported by this frame manager. */
		if (sgnic_sg_is_extension(&sgt[i]))
			return SGNIC_FMAN_ERR_SG_EXTENSION;
		f->seg[i].va = (u8 *)sgnic_fman_bus_to_virt(sd, sgnic_sg_addr(&sgt[i])) +
			       sgnic_sg_offset(&sgt[i]);
		f->seg[i].len = sgnic_sg_length(&sgt[i]);
		len += f->seg[i].len;
		if (sgnic_sg_is_final(&sgt[i])) {
			f->nseg = i + 1;
			return len == f->len ? SGNIC_FMAN_OK : SGNIC_FMAN_ERR_SG_LENGTH;
		}
	}
	return SGNIC_FMAN_ERR_SG_NO_FINAL;
}

/*
 * Completes a CHECKSUM_PARTIAL request, as skb_checksum_help() would, with
 * @csum, the sum of the frame from csum_start on.
 */
static bool sgnic_fman_tx_csum(const struct sgnic_fman_frame *f,
			       const struct sgnic_tx_annot *annot, __wsum csum)
{
	u32 start = be16_to_cpu(annot->csum_start);
	u32 where = start + be16_to_cpu(annot->csum_offset);
	__sum16 sum;

	if (start >= f->len || where + sizeof(sum) > f->len)
		return false;
	sum = csum_fold(csum) ?: CSUM_MANGLED_0;
	sgnic_fman_write(f, where, &sum, sizeof(sum));
	return true;
}

/*
 * The Rx parser: true when the IPv4 header and the TCP/UDP checksum verify.
 * @annot is the Tx checksum request the frame manager has just completed on
 * this frame, if any: when it was the very checksum the parser finds, over
 * the whole L4 segment, the sum is right by construction and not redone.
 */
static bool sgnic_fman_rx_csum_ok(const struct sgnic_fman_frame *f,
				  const struct sgnic_tx_annot *annot)
{
	u8 hdr[SGNIC_FMAN_PARSE_LEN];
	u32 plen = min_t(u32, f->len, sizeof(hdr));
	const struct ethhdr *eth = (const struct ethhdr *)hdr;
	const struct ipv6hdr *ip6h;
	const struct iphdr *iph;
	u32 l4off, l4len;
	__wsum csum;
	u8 proto;

	sgnic_fman_read(f, 0, hdr, plen);
	if (plen < ETH_HLEN)
		return false;
	if (eth->h_proto == htons(ETH_P_IP)) {
		iph = (const struct iphdr *)(hdr + ETH_HLEN);
		if (plen < ETH_HLEN + sizeof(*iph) || iph->version != 4 ||
		    iph->ihl < 5 || ETH_HLEN + iph->ihl * 4 > plen)
			return false;
		if (ip_fast_csum(iph, iph->ihl))
			return false;
		if (iph->frag_off & htons(IP_MF | IP_OFFSET))
			return false;
		l4off = ETH_HLEN + iph->ihl * 4;
		if (ntohs(iph->tot_len) < iph->ihl * 4 ||
		    ETH_HLEN + ntohs(iph->tot_len) > f->len)
			return false;
		l4len = ntohs(iph->tot_len) - iph->ihl * 4;
		proto = iph->protocol;
	} else if (eth->h_proto == htons(ETH_P_IPV6)) {
		ip6h = (const struct ipv6hdr *)(hdr + ETH_HLEN);
		if (plen < ETH_HLEN + sizeof(*ip6h))
			return false;
		l4off = ETH_HLEN + sizeof(*ip6h);
		l4len = ntohs(ip6h->payload_len);
		if (l4off + l4len > f->len)
			return false;
		proto = ip6h->nexthdr;
	} else {
		return false;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return false;
	/* A UDP header, with its "no checksum" zero, must be in the parsed part. */
	if (l4len < sizeof(struct udphdr) || l4off + sizeof(struct udphdr) > plen)
		return false;
	if (proto == IPPROTO_UDP && !((const struct udphdr *)(hdr + l4off))->check)
		return false;
	if (annot && be16_to_cpu(annot->csum_start) == l4off && l4off + l4len == f->len &&
	    be16_to_cpu(annot->csum_offset) == (proto == IPPROTO_TCP ?
						offsetof(struct tcphdr, check) :
						offsetof(struct udphdr, check)))
		return true;
	csum = sgnic_fman_csum(f, l4off, l4len);
	if (eth->h_proto == htons(ETH_P_IP))
		return !csum_tcpudp_magic(iph->saddr, iph->daddr, l4len, proto, csum);
	return !csum_ipv6_magic(&ip6h->saddr, &ip6h->daddr, l4len, proto, csum);
}

/* Gives @n buffers back to @pool in commands of at most SGNIC_BPOOL_CMD_MAX. */
static void sgnic_fman_release(struct sgnic_bpool *pool, const dma_addr_t *bufs, u32 n)
{
	u32 i;

	for (i = 0; i < n; i += SGNIC_BPOOL_CMD_MAX)
		sgnic_bpool_release(pool, bufs + i, min_t(u32, n - i, SGNIC_BPOOL_CMD_MAX));
}

/* Takes @n buffers from @pool in commands of at most SGNIC_BPOOL_CMD_MAX. */
static int sgnic_fman_acquire(struct sgnic_bpool *pool, dma_addr_t *bufs, u32 n)
{
	u32 done = 0, chunk;

	while (done < n) {
		chunk = min_t(u32, n - done, SGNIC_BPOOL_CMD_MAX);
		if (sgnic_bpool_acquire(pool, bufs + done, chunk))
			goto acquire_failed;
		done += chunk;
	}
	return 0;

acquire_failed:
	sgnic_fman_release(pool, bufs, done);
	return -ENOBUFS;
}

/*
 * Receive-side coalescing (NETIF_F_GRO_HW): TCP segments of one superframe
 * delivered as one frame with their count, MSS and TCP header offset in the
 * Rx annotation, checksums verified as the segments' would have been.
 * @hlen: the headers each segment carried on the wire.
 */
struct sgnic_fman_gro {
	u16 segs;
	u16 mss;
	u16 l4off;
	u16 hlen;
};

/* The parser's verdict on a received frame. */
struct sgnic_fman_class {
	struct sgnic_steer_verdict v;
	u32 hash;		/* of the frame's flow (its key) */
	bool l4;		/* the key holds L4 ports */
};

/*
 * The classifier: parses the frame into its key, runs the receiver's RX
 * steering tables on it, and returns the CPU whose Rx FQ takes it, or -1
 * when a rule drops it.  A queue rule chooses; else the flow hash does
 * (receive-side scaling), so a flow keeps one Rx FQ, and its order,
 * whichever portal its sender's CPU sent it through.  The mark and the
 * hash go into the Rx annotation.  Coalesced segments (@gro) share every
 * field a rule matches: a rule counts them as the frames the wire carried.
 */
static int sgnic_fman_classify(struct sgnic_port *rx, unsigned int cpu,
			       const struct sgnic_fman_frame *src,
			       const struct sgnic_fman_gro *gro,
			       struct sgnic_fman_class *c)
{
	u8 hdr[SGNIC_FMAN_PARSE_LEN] __aligned(8);
	struct sgnic_steer_key key;
	unsigned int q;
	u32 plen;

	c->v = (struct sgnic_steer_verdict){ .queue = -1 };
	plen = min_t(u32, src->len, sizeof(hdr));
	sgnic_fman_read(src, 0, hdr, plen);
	sgnic_steer_frame_key_buf(hdr, plen, -1, &key);
	c->hash = sgnic_steer_key_hash(&key);
	c->l4 = !sgnic_steer_field_is_zero(&key, SGNIC_MATCH_FIELD_L4_SPORT) ||
		!sgnic_steer_field_is_zero(&key, SGNIC_MATCH_FIELD_L4_DPORT);
	if (sgnic_steer_active(rx->steer)) {
		if (gro)
			sgnic_steer_rx_classify(rx, &key, gro->segs,
						src->len + (u64)(gro->segs - 1) * gro->hlen,
						&c->v);
		else
			sgnic_steer_rx_classify(rx, &key, 1, src->len, &c->v);
		if (c->v.drop)
			return -1;
		/* Receive queue N is served by the portal of CPU N. */
		if (c->v.queue >= 0 && cpu_online(c->v.queue))
			return c->v.queue;
	}
	q = reciprocal_scale(c->hash, rx->netdev->real_num_rx_queues);
	return cpu_online(q) ? q : cpu;
}

/*
 * Writes frame @src into the peer's buffers and enqueues the Rx FD on the
 * Rx FQ the classifier chose: the peer's FQ of this portal's CPU, or of
 * the CPU of a queue rule (whose doorbell rings at the end of the run).
 * @gro (or NULL) says @src is coalesced segments.  Drops are the
 * receiver's: counted on @rx.
 */
static void sgnic_fman_deliver(struct sgnic_port *rx, struct sgnic_portal *portal,
			       const struct sgnic_fman_frame *src,
			       const struct sgnic_tx_annot *annot,
			       const struct sgnic_fman_gro *gro)
{
	dma_addr_t bufs[SGNIC_SGT_MAX_ENTRIES];
	struct sgnic_bpool *pool = &rx->bpool;
	struct sgnic_sg_entry *sgt = NULL;
	struct sgnic_rx_annot *rx_annot;
	struct sgnic_fman_frame dst;
	struct sgnic_fman_class c;
	u32 nbufs, i, left, len;
	struct sgnic_fd fd;
	struct sgnic_fq *fq;
	__wsum csum;
	int target;
	u8 *va;

	if (!READ_ONCE(rx->up)) {
		sgnic_stats_add(rx, SGNIC_STAT_RX_DROPPED, 1);
		return;
	}
	/* A coalesced frame's segments were checked against the MTU. */
	if (!gro && src->len > READ_ONCE(rx->netdev->mtu) + VLAN_ETH_HLEN) {
		sgnic_stats_add(rx, SGNIC_STAT_RX_ERRORS, 1);
		return;
	}
	target = sgnic_fman_classify(rx, portal->cpu, src, gro, &c);
	if (target < 0)
		return;		/* counted by the rule */
	fq = &rx->fqs[target].rx;
	if (READ_ONCE(fq->count) == fq->depth) {
		sgnic_stats_add(rx, SGNIC_STAT_RX_DROPPED, 1);
		return;
	}
	nbufs = src->len <= pool->buf_len ? 1 :
		DIV_ROUND_UP(src->len, pool->buf_len) + 1;
	if (WARN_ON_ONCE(nbufs > SGNIC_SGT_MAX_ENTRIES))
		return;
	if (sgnic_fman_acquire(pool, bufs, nbufs)) {
		sgnic_stats_add(rx, SGNIC_STAT_RX_NOBUF, 1);
		sgnic_health_note(rx, SGNIC_HEALTH_BPOOL);
		return;
	}

	sgnic_fd_clear(&fd);
	fd.bpid = pool->bpid;
	sgnic_fd_set_addr(&fd, bufs[0]);
	rx_annot = sgnic_fman_bus_to_virt(rx->sd, bufs[0]);
	rx_annot->hash = cpu_to_be32(c.hash);
	fd.cmd_status = cpu_to_be32(SGNIC_FD_STATUS_HASH | (c.l4 ? SGNIC_FD_STATUS_HASH_L4 : 0));
	if (c.v.mark) {
		rx_annot->mark = cpu_to_be32(c.v.mark);
		fd.cmd_status |= cpu_to_be32(SGNIC_FD_STATUS_MARK);
	}
	if (gro) {
		rx_annot->gro_segs = cpu_to_be16(gro->segs);
		rx_annot->gro_mss = cpu_to_be16(gro->mss);
		rx_annot->gro_l4off = cpu_to_be16(gro->l4off);
		fd.cmd_status |= cpu_to_be32(SGNIC_FD_STATUS_GRO | SGNIC_FD_STATUS_CSUM_OK);
	}
	va = (u8 *)rx_annot + SGNIC_RX_HEADROOM;
	if (nbufs == 1) {
		sgnic_fd_set_format(&fd, SGNIC_FD_CONTIG, SGNIC_RX_HEADROOM, src->len);
		dst.seg[0].va = va;
		dst.seg[0].len = src->len;
		dst.nseg = 1;
	} else {
		sgnic_fd_set_format(&fd, SGNIC_FD_SG, SGNIC_RX_HEADROOM, src->len);
		sgt = (struct sgnic_sg_entry *)va;
		left = src->len;
		for (i = 1; i < nbufs; i++) {
			len = min(left, pool->buf_len);
			left -= len;
			sgnic_sg_set(&sgt[i - 1], bufs[i], len, SGNIC_RX_HEADROOM,
				     pool->bpid, i == nbufs - 1);
			dst.seg[i - 1].va = (u8 *)sgnic_fman_bus_to_virt(rx->sd, bufs[i]) +
					    SGNIC_RX_HEADROOM;
			dst.seg[i - 1].len = len;
		}
		dst.nseg = nbufs - 1;
	}
	dst.len = src->len;
	csum = sgnic_fman_copy_csum(&dst, src,
				    annot ? be16_to_cpu(annot->csum_start) : dst.len);
	if (annot && !sgnic_fman_tx_csum(&dst, annot, csum))
		goto frame_error;
	if (!gro && sgnic_fman_rx_csum_ok(&dst, annot))
		fd.cmd_status |= cpu_to_be32(SGNIC_FD_STATUS_CSUM_OK);
	/* Another portal may have filled a queue rule's FQ since the check. */
	if (!sgnic_fq_rx_push(fq, &fd))
		goto fq_full;
	if (target != portal->cpu)
		cpumask_set_cpu(target, portal->doorbells);
	return;

fq_full:
	sgnic_fman_release(pool, bufs, nbufs);
	sgnic_stats_add(rx, SGNIC_STAT_RX_DROPPED, 1);
	return;

frame_error:
	sgnic_fman_release(pool, bufs, nbufs);
	sgnic_stats_add(rx, SGNIC_STAT_RX_ERRORS, 1);
}

/* ---- TSO ---- */

/*
 * How many segments of @mss payload bytes behind @hlen header bytes one
 * coalesced frame holds: as many as one S/G table of @buf_len buffers takes.
 */
static u32 sgnic_fman_gro_max_segs(u32 buf_len, u32 hlen, u32 mss)
{
	u32 room = (SGNIC_SGT_MAX_ENTRIES - 1) * buf_len;

	return room > hlen ? (room - hlen) / mss : 0;
}

/*
 * Whether the receiver takes a superframe's segments coalesced: it asked for
 * it (rx-gro-hw), no XDP program must see each segment, and the frame is
 * untagged.  Steering rules do not stop it: they count the segments.
 */
static bool sgnic_fman_gro_on(struct sgnic_port *rx)
{
	return (READ_ONCE(rx->netdev->features) & NETIF_F_GRO_HW) &&
	       !rcu_access_pointer(rx->xdp_prog);
}

/*
 * Builds in @seg the frame of superframe @src's payload bytes [@off, @off +
 * @len), segment @i onwards, behind its headers fixed for it.  False when
 * @seg has too few pieces to describe it all.
 */
static bool sgnic_fman_tso_frame(struct sgnic_fman_frame *seg, struct sgnic_fman_tso *t,
				 const u8 *orig, const struct sgnic_fman_frame *src,
				 u32 i, u32 off, u32 len)
{
	sgnic_fman_tso_headers(t, orig, i, off, len, off + len == src->len - t->hlen);
	seg->seg[0].va = t->hdr;
	seg->seg[0].len = t->hlen;
	seg->nseg = 1;
	seg->len = t->hlen;
	sgnic_fman_slice(seg, src, t->hlen + off, len);
	return seg->len == t->hlen + len;
}

/*
 * Cuts superframe @src into segments of at most t->mss payload bytes and
 * delivers them to the peer: each as a frame of its own, its TCP checksum
 * completed like any Tx checksum request (so the Rx parser trusts it), or,
 * when the peer coalesces, as runs of segments of one frame each whose TCP
 * checksum field holds the pseudo-header sum, as GRO leaves it.
 */
static void sgnic_fman_tso_deliver(struct sgnic_port *rx, struct sgnic_portal *portal,
				   const struct sgnic_fman_frame *src,
				   struct sgnic_fman_tso *t)
{
	struct sgnic_tx_annot l4 = {
		.csum_start = cpu_to_be16(t->l4off),
		.csum_offset = cpu_to_be16(offsetof(struct tcphdr, check)),
	};
	u32 payload = src->len - t->hlen, off, len, i, n, run = 1;
	struct sgnic_fman_gro gro = { .mss = t->mss, .l4off = t->l4off, .hlen = t->hlen };
	u8 orig[SGNIC_TSO_HDR_MAX];
	struct sgnic_fman_frame seg;

	if (t->l3off == ETH_HLEN && t->hlen - ETH_HLEN + t->mss <= READ_ONCE(rx->netdev->mtu) &&
	    sgnic_fman_gro_on(rx))
		run = max(sgnic_fman_gro_max_segs(READ_ONCE(rx->bpool.buf_len), t->hlen, t->mss),
			  1U);
	memcpy(orig, t->hdr, t->hlen);
	for (i = 0, off = 0; off < payload; i += n, off += len) {
		len = min(run * t->mss, payload - off);
		/* More pieces than a frame description holds: one segment. */
		if (!sgnic_fman_tso_frame(&seg, t, orig, src, i, off, len)) {
			len = min(t->mss, payload - off);
			sgnic_fman_tso_frame(&seg, t, orig, src, i, off, len);
		}
		n = DIV_ROUND_UP(len, t->mss);
		gro.segs = n;
		sgnic_fman_deliver(rx, portal, &seg, n == 1 ? &l4 : NULL, n == 1 ? NULL : &gro);
	}
}

/* Moves one Tx frame onto the wire; returns the confirm status bits. */
static u32 sgnic_fman_tx_one(struct sgnic_port *port, struct sgnic_portal *portal,
			     const struct sgnic_fd *fd)
{
	u32 cmd = be32_to_cpu(fd->cmd_status);
	const struct sgnic_tx_annot *annot = NULL;
	struct sgnic_fman_frame src;
	struct sgnic_fman_tso tso;
	enum sgnic_fman_err err;
	u32 plen;

	err = sgnic_fman_tx_frame(port->sd, fd, &src);
	if (err)
		goto refused;
	if (cmd & SGNIC_FD_CMD_CSUM)
		annot = sgnic_fman_bus_to_virt(port->sd, sgnic_fd_addr(fd));
	if (!(cmd & SGNIC_FD_CMD_TSO)) {
		sgnic_fman_deliver(port->peer, portal, &src, annot, NULL);
		return 0;
	}
	err = SGNIC_FMAN_ERR_TSO;
	if (!annot)
		goto refused;
	plen = min_t(u32, src.len, sizeof(tso.hdr));
	sgnic_fman_read(&src, 0, tso.hdr, plen);
	if (!sgnic_fman_tso_parse(&tso, plen, src.len, be16_to_cpu(annot->csum_start),
				  be16_to_cpu(annot->csum_offset), be16_to_cpu(annot->mss)))
		goto refused;
	sgnic_fman_tso_deliver(port->peer, portal, &src, &tso);
	return 0;

refused:
	sgnic_devlink_fman_error(port, portal->cpu, fd, err);
	return SGNIC_FD_STATUS_ERR;
}

/*
 * The most Rx FDs and pool buffers frame @fd can take at the peer @rx: one
 * frame, or a superframe's segments (each at least a bare TCP header long).
 */
static void sgnic_fman_tx_need(struct sgnic_port *port, struct sgnic_port *rx,
			       const struct sgnic_fd *fd, u32 *frames, u32 *bufs)
{
	u32 buf_len = rx->bpool.buf_len, len = sgnic_fd_length(fd), hlen, mss = 0, run;
	const struct sgnic_tx_annot *annot;

	*frames = 1;
	if (be32_to_cpu(fd->cmd_status) & SGNIC_FD_CMD_TSO) {
		annot = sgnic_fman_bus_to_virt(port->sd, sgnic_fd_addr(fd));
		hlen = be16_to_cpu(annot->csum_start) + sizeof(struct tcphdr);
		mss = be16_to_cpu(annot->mss);
		if (mss && hlen < len) {
			*frames = DIV_ROUND_UP(len - hlen, mss);
			len = min(len, SGNIC_TSO_HDR_MAX + mss);
		}
	}
	*bufs = *frames * (len <= buf_len ? 1 : DIV_ROUND_UP(len, buf_len) + 1);
	/* Coalesced, fewer frames of up to a full S/G table each; the most of both. */
	if (*frames > 1 && sgnic_fman_gro_on(rx)) {
		run = sgnic_fman_gro_max_segs(buf_len, SGNIC_TSO_HDR_MAX, mss);
		if (run > 1)
			*bufs = max(*bufs, DIV_ROUND_UP(*frames, run) * SGNIC_SGT_MAX_ENTRIES);
	}
}

/* A superframe's segments fit the peer's Rx FQ once it is drained. */
static_assert(SGNIC_TSO_MAX_SEGS <= SGNIC_FQ_HW_DEPTH);

/*
 * The wire pauses (as 802.3x would) while the receiver still holds frames
 * (queued, or taken and its pools not yet refilled) and has too few free Rx
 * FQ slots or pool buffers for the next frame: a superframe's segments
 * arrive at once.  The next frame's Rx FQ is its flow's, which only parsing
 * it would tell: the room counted is that of the fullest Rx FQ holding
 * frames.  Each portal drains its Rx FQ and refills (this one in the same
 * poll, another after its doorbell), so a pause ends; a receiver holding
 * nothing gets the frame and counts whatever it cannot hold.
 */
static bool sgnic_fman_paused(struct sgnic_port *port, unsigned int cpu)
{
	struct sgnic_port *rx = port->peer;
	u32 frames, bufs, queued, room = U32_MAX;
	struct sgnic_fd fd;
	struct sgnic_fq *fq;
	unsigned int q;

	for_each_online_cpu(q) {
		if (q >= rx->netdev->real_num_rx_queues)
			break;
		fq = &rx->fqs[q].rx;
		if (sgnic_fq_rx_held(fq, &queued))
			room = min(room, fq->depth - queued);
	}
	/* Only a receiver holding frames can pause: no look at the FD else. */
	if (room == U32_MAX || !READ_ONCE(rx->up) ||
	    !sgnic_fq_tx_peek(&port->fqs[cpu].tx, &fd))
		return false;
	sgnic_fman_tx_need(port, rx, &fd, &frames, &bufs);
	return room < frames || sgnic_bpool_avail(&rx->bpool) < bufs;
}

unsigned int sgnic_fman_run(struct sgnic_portal *portal)
{
	struct sgnic_dev *sd = portal->sd;
	unsigned int cpu = portal->cpu;
	struct netdev_queue *txq;
	struct sgnic_port_fqs *fqs;
	struct sgnic_port *port;
	unsigned int i, n, total = 0;
	struct sgnic_fd fd;
	u32 status;

	for (i = 0; i < sd->nports; i++) {
		port = sd->ports[i];
		fqs = &port->fqs[cpu];
		if (!READ_ONCE(fqs->tx.count))
			continue;
		txq = netdev_get_tx_queue(port->netdev, cpu);
		for (n = 0; n < SGNIC_FMAN_BURST; n++) {
			/* No room to confirm, or the wire paused: leave it queued. */
			if (fqs->conf.count == fqs->conf.depth ||
			    sgnic_fman_paused(port, cpu) ||
			    !sgnic_fq_tx_dequeue(&fqs->tx, &fd, txq))
				break;
			status = sgnic_fman_tx_one(port, portal, &fd);
			fd.cmd_status = cpu_to_be32(be32_to_cpu(fd.cmd_status) | status);
			sgnic_fq_push(&fqs->conf, &fd);
			total++;
		}
	}
	portal->fman_frames += total;
	sgnic_portal_ring_doorbells(portal);
	return total;
}
