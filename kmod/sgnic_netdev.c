// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: the network devices.  Each port is a netdev whose Tx builds frame
 * descriptors (contiguous, or S/G with the skb's head and page frags) onto
 * the Tx FQ of the current CPU, whose Tx confirmation unmaps and frees, and
 * whose Rx turns pool buffers back into skbs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/ipv6.h>
#include <linux/mm.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <net/gro.h>
#include <net/tcp.h>

#include "sgnic.h"
#include "sgnic_steer.h"

void sgnic_stats_read(struct sgnic_port *port, unsigned int cpu,
		      struct sgnic_stats *out)
{
	const struct sgnic_stats *s = per_cpu_ptr(port->stats, cpu);
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&s->syncp);
		memcpy(out->v, s->v, sizeof(out->v));
	} while (u64_stats_fetch_retry(&s->syncp, start));
}

/* ---- Tx ---- */

/*
 * Fills the annotation in front of the frame and the FD's commands: the
 * checksum request, and for a TSO superframe (always CHECKSUM_PARTIAL) the
 * MSS to cut it at.  XDP frames (@skb NULL) ask for neither.
 */
static void sgnic_port_tx_annotate(struct sk_buff *skb,
				   struct sgnic_tx_annot *annot,
				   struct sgnic_fd *fd)
{
	u32 cmd = SGNIC_FD_CMD_CSUM;

	memset(annot, 0, sizeof(*annot));
	if (!skb || skb->ip_summed != CHECKSUM_PARTIAL)
		return;
	annot->csum_start = cpu_to_be16(skb_checksum_start_offset(skb));
	annot->csum_offset = cpu_to_be16(skb->csum_offset);
	if (skb_is_gso(skb)) {
		annot->mss = cpu_to_be16(skb_shinfo(skb)->gso_size);
		cmd |= SGNIC_FD_CMD_TSO;
	}
	fd->cmd_status = cpu_to_be32(cmd);
}

/* A contiguous FD of a linear skb; the caller records the skb in @shadow. */
static int sgnic_port_tx_contig(struct sgnic_port *port, struct sk_buff *skb,
				struct sgnic_fd *fd, struct sgnic_tx_shadow *shadow)
{
	struct device *dev = port->sd->dma_dev;
	u8 *start = PTR_ALIGN_DOWN(skb->data - SGNIC_TX_HEADROOM,
				   SGNIC_TX_ANNOT_ALIGN);
	u32 offset = skb->data - start;
	dma_addr_t addr;

	sgnic_port_tx_annotate(skb, (struct sgnic_tx_annot *)start, fd);
	addr = dma_map_single(dev, start, offset + skb->len, DMA_TO_DEVICE);
	if (unlikely(dma_mapping_error(dev, addr)))
		return -ENOMEM;
	sgnic_fd_set_addr(fd, addr);
	sgnic_fd_set_format(fd, SGNIC_FD_CONTIG, offset, skb->len);
	shadow->addr = addr;
	shadow->sgt_buf = NULL;
	return 0;
}

/*
 * Builds an S/G FD of a head and page frags: a table buffer with the
 * annotation (of @skb, if the frame is one) and one entry per piece, all
 * mapped.  The caller records what the frame is in @shadow.
 */
static int sgnic_port_tx_sg(struct sgnic_port *port, struct sk_buff *skb,
			    void *head, u32 headlen, const skb_frag_t *frags,
			    int nr_frags, u32 len, struct sgnic_fd *fd,
			    struct sgnic_tx_shadow *shadow)
{
	struct device *dev = port->sd->dma_dev;
	bool final = !READ_ONCE(port->faults.sgt_no_final);
	const skb_frag_t *frag;
	struct sgnic_sg_entry *sgt;
	dma_addr_t addr, sgt_addr;
	int i = 0, err = -ENOMEM;
	void *buf;

	buf = netdev_alloc_frag(SGNIC_TX_SGT_BUF_SIZE);
	if (unlikely(!buf))
		goto sgt_alloc_failed;
	sgnic_port_tx_annotate(skb, buf, fd);
	sgt = buf + SGNIC_TX_HEADROOM;

	addr = dma_map_single(dev, head, headlen, DMA_TO_DEVICE);
	if (unlikely(dma_mapping_error(dev, addr)))
		goto sg0_map_failed;
	sgnic_sg_set(&sgt[0], addr, headlen, 0, SGNIC_BPID_INVALID,
		     final && !nr_frags);

	for (i = 0; i < nr_frags; i++) {
		frag = &frags[i];
		addr = skb_frag_dma_map(dev, frag, 0, skb_frag_size(frag),
					DMA_TO_DEVICE);
		if (unlikely(dma_mapping_error(dev, addr)))
			goto sg_map_failed;
		sgnic_sg_set(&sgt[i + 1], addr, skb_frag_size(frag), 0,
			     SGNIC_BPID_INVALID, final && i == nr_frags - 1);
	}

	sgt_addr = dma_map_single(dev, buf, SGNIC_TX_SGT_BUF_SIZE, DMA_TO_DEVICE);
	if (unlikely(dma_mapping_error(dev, sgt_addr)))
		goto sgt_map_failed;
	sgnic_fd_set_addr(fd, sgt_addr);
	sgnic_fd_set_format(fd, SGNIC_FD_SG, SGNIC_TX_HEADROOM, len);
	shadow->addr = sgt_addr;
	shadow->sgt_buf = buf;
	return 0;

sgt_map_failed:
sg_map_failed:
	while (i--)
		dma_unmap_page(dev, sgnic_sg_addr(&sgt[i + 1]),
			       sgnic_sg_length(&sgt[i + 1]), DMA_TO_DEVICE);
	dma_unmap_single(dev, sgnic_sg_addr(&sgt[0]), sgnic_sg_length(&sgt[0]),
			 DMA_TO_DEVICE);
sg0_map_failed:
	skb_free_frag(buf);
sgt_alloc_failed:
	return err;
}

/* The frags a recorded S/G frame has: the skb's, or the XDP frame's. */
static int sgnic_tx_shadow_nr_frags(const struct sgnic_tx_shadow *shadow)
{
	if (shadow->skb)
		return skb_shinfo(shadow->skb)->nr_frags;
	return xdp_get_shared_info_from_frame(shadow->xdpf)->nr_frags;
}

/*
 * Undoes what the Tx FD builders mapped, from the driver's own record of it
 * (the table it wrote, never the hardware's view).
 */
static void sgnic_port_tx_unmap(struct sgnic_port *port, const struct sgnic_fd *fd,
				const struct sgnic_tx_shadow *shadow)
{
	struct device *dev = port->sd->dma_dev;
	const struct sgnic_sg_entry *sgt;
	int i, nr_frags;

	if (!shadow->sgt_buf) {
		dma_unmap_single(dev, shadow->addr,
				 sgnic_fd_offset(fd) + sgnic_fd_length(fd), DMA_TO_DEVICE);
		return;
	}

	dma_unmap_single(dev, shadow->addr, SGNIC_TX_SGT_BUF_SIZE, DMA_TO_DEVICE);
	sgt = shadow->sgt_buf + SGNIC_TX_HEADROOM;
	/* The frame, not the table's final bit, says what was mapped. */
	nr_frags = sgnic_tx_shadow_nr_frags(shadow);
	dma_unmap_single(dev, sgnic_sg_addr(&sgt[0]), sgnic_sg_length(&sgt[0]),
			 DMA_TO_DEVICE);
	for (i = 1; i <= nr_frags; i++)
		dma_unmap_page(dev, sgnic_sg_addr(&sgt[i]), sgnic_sg_length(&sgt[i]),
			       DMA_TO_DEVICE);
	skb_free_frag(shadow->sgt_buf);
}

/* ---- the Tx shadow ring (see struct sgnic_tx_shadow_ring) ---- */

/* Room for every FD in flight: queued, confirmed, or in the DQRR. */
static_assert(SGNIC_FQ_TX_DEPTH + SGNIC_FQ_HW_DEPTH + SGNIC_DQRR_SIZE <=
	      SGNIC_TX_SHADOW_SLOTS);
static_assert((SGNIC_TX_SHADOW_SLOTS & (SGNIC_TX_SHADOW_SLOTS - 1)) == 0);

static int sgnic_tx_shadow_init(struct sgnic_tx_shadow_ring *ring)
{
	ring->slot = kvcalloc(SGNIC_TX_SHADOW_SLOTS, sizeof(*ring->slot), GFP_KERNEL);
	ring->prod = 0;
	ring->cons = 0;
	return ring->slot ? 0 : -ENOMEM;
}

/* The producer's next slot, or NULL when the ring is full. */
static struct sgnic_tx_shadow *sgnic_tx_shadow_next(struct sgnic_tx_shadow_ring *ring)
{
	if (unlikely(ring->prod - READ_ONCE(ring->cons) >= SGNIC_TX_SHADOW_SLOTS))
		return NULL;
	return &ring->slot[ring->prod & (SGNIC_TX_SHADOW_SLOTS - 1)];
}

/* Publishes the slot sgnic_tx_shadow_next() returned, before its FD. */
static void sgnic_tx_shadow_push(struct sgnic_tx_shadow_ring *ring)
{
	/* Pairs with the acquire in pop: the slot is written before it is seen. */
	smp_store_release(&ring->prod, ring->prod + 1);
}

/* Withdraws the newest record: its FD never reached the hardware. */
static void sgnic_tx_shadow_unpush(struct sgnic_tx_shadow_ring *ring)
{
	WRITE_ONCE(ring->prod, ring->prod - 1);
}

/*
 * Takes the record of the oldest unconfirmed FD, which must be @fd, into
 * @out; false if the hardware handed back an FD the driver has no record of.
 */
static bool sgnic_tx_shadow_pop(struct sgnic_tx_shadow_ring *ring,
				const struct sgnic_fd *fd, struct sgnic_tx_shadow *out)
{
	struct sgnic_tx_shadow *shadow;

	/* Pairs with the release in push: the slot is read after its index. */
	if (WARN_ON_ONCE(ring->cons == smp_load_acquire(&ring->prod)))
		return false;
	shadow = &ring->slot[ring->cons & (SGNIC_TX_SHADOW_SLOTS - 1)];
	if (WARN_ON_ONCE(shadow->addr != sgnic_fd_addr(fd)))
		return false;
	*out = *shadow;
	WRITE_ONCE(ring->cons, ring->cons + 1);
	return true;
}

/*
 * A Tx FD of FQ @q came back (confirmed, or flushed): unmaps it and frees
 * an XDP frame; *@skb is the stack's frame, for the caller to complete.
 * False if the driver has no record of the FD.
 */
static bool sgnic_port_tx_done(struct sgnic_port *port, unsigned int q,
			       const struct sgnic_fd *fd, struct sk_buff **skb)
{
	struct sgnic_tx_shadow shadow;

	*skb = NULL;
	if (!sgnic_tx_shadow_pop(&port->fqs[q].tx_shadow, fd, &shadow))
		return false;
	sgnic_port_tx_unmap(port, fd, &shadow);
	/* Not the NAPI-only return: the frame may be another device's. */
	if (shadow.xdpf)
		xdp_return_frame(shadow.xdpf);
	*skb = shadow.skb;
	return true;
}

void sgnic_port_tx_confirm(struct sgnic_port *port, unsigned int q,
			   const struct sgnic_fd *fd, int budget)
{
	struct sk_buff *skb;
	bool known = sgnic_port_tx_done(port, q, fd, &skb);

	sgnic_stats_add(port, SGNIC_STAT_TX_CONFIRM, 1);
	if (unlikely(!known || be32_to_cpu(fd->cmd_status) & SGNIC_FD_STATUS_ERR))
		sgnic_stats_add(port, SGNIC_STAT_TX_ERRORS, 1);
	if (!skb)
		return;
	/* Only this FQ's portal (or the stop, portals quiesced) completes @q. */
	netdev_tx_completed_queue(netdev_get_tx_queue(port->netdev, q), 1, skb->len);
	napi_consume_skb(skb, budget);
}

/* Consumes one "busy" the fault knob still owes. */
static bool sgnic_port_fault_busy(struct sgnic_port *port)
{
	return unlikely(atomic_read(&port->faults.enqueue_busy)) &&
	       atomic_add_unless(&port->faults.enqueue_busy, -1, 0);
}

static int sgnic_port_tx_enqueue(struct sgnic_port *port, struct sgnic_fq *fq,
				 const struct sgnic_fd *fd,
				 struct netdev_queue *txq, unsigned int bytes,
				 bool *ring)
{
	int tries, err = -EBUSY;

	for (tries = 0; tries < SGNIC_ENQUEUE_RETRIES; tries++) {
		err = sgnic_port_fault_busy(port) ? -EBUSY :
		      sgnic_fq_tx_enqueue(fq, fd, txq, bytes, ring);
		if (err != -EBUSY)
			break;
		sgnic_stats_add(port, SGNIC_STAT_TX_ENQ_BUSY, 1);
	}
	return err;
}

static netdev_tx_t sgnic_port_xmit(struct sk_buff *skb, struct net_device *netdev)
{
	struct sgnic_port *port = netdev_priv(netdev);
	u16 q = skb_get_queue_mapping(skb);
	struct netdev_queue *txq = netdev_get_tx_queue(netdev, q);
	struct sgnic_tx_shadow_ring *ring = &port->fqs[q].tx_shadow;
	struct sgnic_fq *fq = &port->fqs[q].tx;
	struct sgnic_tx_shadow *shadow;
	bool sg = false, tso, ring_bell;
	struct sgnic_fd fd;
	u32 packets;
	u64 bytes;
	int err;

	if (sgnic_steer_tx(port, skb))
		goto done;
	if (skb_is_nonlinear(skb)) {
		sg = (netdev->features & NETIF_F_SG) && !skb_has_frag_list(skb) &&
		     skb_headlen(skb) &&
		     skb_shinfo(skb)->nr_frags + 1 <= READ_ONCE(port->faults.sgt_max);
		if (!sg) {
			if (__skb_linearize(skb))
				goto drop;
			sgnic_stats_add(port, SGNIC_STAT_TX_LINEARIZED, 1);
		}
	}
	if (skb_cow_head(skb, SGNIC_TX_HEADROOM + SGNIC_TX_ANNOT_ALIGN))
		goto drop;

	/* Cannot be full while the Tx and confirm FQs bound what is in flight. */
	shadow = sgnic_tx_shadow_next(ring);
	if (WARN_ON_ONCE(!shadow))
		goto drop;
	sgnic_fd_clear(&fd);
	fd.bpid = SGNIC_BPID_INVALID;
	err = sg ? sgnic_port_tx_sg(port, skb, skb->data, skb_headlen(skb),
				   skb_shinfo(skb)->frags, skb_shinfo(skb)->nr_frags,
				   skb->len, &fd, shadow) :
		   sgnic_port_tx_contig(port, skb, &fd, shadow);
	if (err)
		goto drop;
	shadow->skb = skb;
	shadow->xdpf = NULL;

	packets = sgnic_skb_wire_packets(skb);
	bytes = sgnic_skb_wire_bytes(skb, skb->len);
	tso = skb_is_gso(skb);
	skb_tx_timestamp(skb);
	/* The record first: the confirmation may come before enqueue returns. */
	sgnic_tx_shadow_push(ring);
	if (sgnic_port_tx_enqueue(port, fq, &fd, txq, skb->len, &ring_bell)) {
		sgnic_tx_shadow_unpush(ring);
		sgnic_port_tx_unmap(port, &fd, shadow);
		goto drop;
	}
	/* From here the skb belongs to the hardware until it is confirmed. */
	sgnic_stats_add(port, SGNIC_STAT_TX_PACKETS, packets);
	sgnic_stats_add(port, SGNIC_STAT_TX_BYTES, bytes);
	if (sg)
		sgnic_stats_add(port, SGNIC_STAT_TX_SG, 1);
	if (tso)
		sgnic_stats_add(port, SGNIC_STAT_TX_TSO, 1);
	if (ring_bell) {
		sgnic_stats_add(port, SGNIC_STAT_TX_DOORBELLS, 1);
		sgnic_portal_kick(port->sd, q);
	}
	return NETDEV_TX_OK;

drop:
	sgnic_stats_add(port, SGNIC_STAT_TX_DROPPED, 1);
	dev_kfree_skb_any(skb);
done:
	/* The last frame of a batch rings for those queued before it. */
	if (!netdev_xmit_more())
		sgnic_portal_kick(port->sd, q);
	return NETDEV_TX_OK;
}

/*
 * An XDP frame (XDP_TX, or ndo_xdp_xmit) onto Tx FQ @q: contiguous, or S/G
 * with its frags.  The caller holds @q's netdev queue lock (the stack's
 * transmit uses the same FQ and shadow) with BH disabled.  Not in the byte
 * queue limits: nothing completes XDP frames through the stack's queue.
 */
int sgnic_port_tx_xdp(struct sgnic_port *port, unsigned int q,
		      struct xdp_frame *xdpf)
{
	struct sgnic_tx_shadow_ring *ring = &port->fqs[q].tx_shadow;
	struct device *dev = port->sd->dma_dev;
	struct skb_shared_info *sinfo = NULL;
	struct sgnic_tx_shadow *shadow;
	struct sgnic_fd fd;
	dma_addr_t addr;
	u32 len = xdpf->len;
	int err;

	if (unlikely(xdp_frame_has_frags(xdpf))) {
		sinfo = xdp_get_shared_info_from_frame(xdpf);
		if (sinfo->nr_frags + 1 > SGNIC_SGT_MAX_ENTRIES)
			return -EMSGSIZE;
		len += sinfo->xdp_frags_size;
	}
	shadow = sgnic_tx_shadow_next(ring);
	if (WARN_ON_ONCE(!shadow))
		return -ENOSPC;
	sgnic_fd_clear(&fd);
	fd.bpid = SGNIC_BPID_INVALID;
	if (sinfo) {
		err = sgnic_port_tx_sg(port, NULL, xdpf->data, xdpf->len, sinfo->frags,
				       sinfo->nr_frags, len, &fd, shadow);
		if (err)
			return err;
	} else {
		/* No annotation: the FD asks for no checksum, so none is read. */
		addr = dma_map_single(dev, xdpf->data, len, DMA_TO_DEVICE);
		if (unlikely(dma_mapping_error(dev, addr)))
			return -ENOMEM;
		sgnic_fd_set_addr(&fd, addr);
		sgnic_fd_set_format(&fd, SGNIC_FD_CONTIG, 0, len);
		shadow->addr = addr;
		shadow->sgt_buf = NULL;
	}
	shadow->skb = NULL;
	shadow->xdpf = xdpf;
	sgnic_tx_shadow_push(ring);
	err = sgnic_fq_tx_enqueue_xdp(&port->fqs[q].tx, &fd);
	if (unlikely(err)) {
		sgnic_tx_shadow_unpush(ring);
		sgnic_port_tx_unmap(port, &fd, shadow);
		return err;
	}
	sgnic_stats_add(port, SGNIC_STAT_TX_PACKETS, 1);
	sgnic_stats_add(port, SGNIC_STAT_TX_BYTES, len);
	if (sinfo)
		sgnic_stats_add(port, SGNIC_STAT_TX_SG, 1);
	return 0;
}

/*
 * A superframe the frame manager cannot take is segmented by the stack: it
 * must fit one S/G table (as the fault knob limits it), and its headers must
 * be ones the frame manager replicates (TCP right after the IP header).
 */
static netdev_features_t sgnic_port_features_check(struct sk_buff *skb,
						   struct net_device *netdev,
						   netdev_features_t features)
{
	struct sgnic_port *port = netdev_priv(netdev);

	features = vlan_features_check(skb, features);
	if (!skb_is_gso(skb))
		return features;
	if (skb_has_frag_list(skb) ||
	    skb_shinfo(skb)->nr_frags + 1 > READ_ONCE(port->faults.sgt_max) ||
	    skb_tcp_all_headers(skb) > SGNIC_TSO_HDR_MAX ||
	    ((skb_shinfo(skb)->gso_type & SKB_GSO_TCPV6) &&
	     ipv6_hdr(skb)->nexthdr != IPPROTO_TCP))
		features &= ~NETIF_F_GSO_MASK;
	return features;
}

/* ---- Rx ---- */

/* Puts buffers back into the pool, in release commands of at most 8. */
static void sgnic_port_rx_recycle(struct sgnic_bpool *pool, dma_addr_t *bufs,
				  u32 n)
{
	u32 i, chunk;

	for (i = 0; i < n; i += chunk) {
		chunk = min_t(u32, n - i, SGNIC_BPOOL_CMD_MAX);
		if (WARN_ON_ONCE(sgnic_bpool_release(pool, bufs + i, chunk)))
			break;
	}
}

/*
 * Copies the S/G table the hardware wrote into pool buffer @sgt_addr to
 * @ent, as far as it can be used: entries of this pool up to the final one.
 * Returns the entries copied, or -ENOENT if the table is in no buffer of
 * the pool; *@ok says whether they end with a final entry and add up to the
 * FD's length, *@annot (if given) is the table buffer's Rx annotation.  The
 * table buffer stays the pool's.
 */
static int sgnic_port_rx_sgt_read(struct sgnic_port *port, const struct sgnic_fd *fd,
				  struct sgnic_sg_entry *ent, bool *ok,
				  struct sgnic_rx_annot *annot)
{
	struct device *dev = port->sd->dma_dev;
	struct sgnic_bpool *pool = &port->bpool;
	dma_addr_t sgt_addr = sgnic_fd_addr(fd);
	const struct sgnic_sg_entry *sgt;
	u32 len = 0;
	int n = 0;
	void *va;

	*ok = false;
	va = sgnic_bpool_buf_va(pool, sgt_addr);
	if (unlikely(!va))
		return -ENOENT;
	dma_sync_single_for_cpu(dev, sgt_addr, pool->map_size, DMA_FROM_DEVICE);
	if (annot)
		*annot = *(struct sgnic_rx_annot *)va;
	sgt = va + sgnic_fd_offset(fd);
	while (n < SGNIC_SGT_MAX_ENTRIES) {
		ent[n] = sgt[n];
		if (sgnic_sg_is_extension(&ent[n])) {
			sgnic_stats_add(port, SGNIC_STAT_RX_SG_EXT, 1);
			break;
		}
		if (ent[n].bpid != pool->bpid)
			break;
		len += sgnic_sg_length(&ent[n]);
		if (sgnic_sg_is_final(&ent[n++])) {
			*ok = len == sgnic_fd_length(fd);
			break;
		}
	}
	dma_sync_single_for_device(dev, sgt_addr, pool->map_size, DMA_FROM_DEVICE);
	return n;
}

/*
 * Gives back the buffers of a received frame that will not become an skb:
 * the head buffer to the pool, the frags (XDP may have trimmed some) to
 * their page_pools.  NAPI context.
 */
void sgnic_port_rx_release(struct sgnic_port *port, struct xdp_buff *xdp)
{
	struct skb_shared_info *sinfo;
	int i;

	if (unlikely(xdp_buff_has_frags(xdp))) {
		sinfo = xdp_get_shared_info_from_buff(xdp);
		for (i = 0; i < sinfo->nr_frags; i++)
			sgnic_bpool_page_free(&port->bpool, skb_frag_page(&sinfo->frags[i]),
					      true);
	}
	sgnic_bpool_recycle(&port->bpool, xdp->data_hard_start);
}

/*
 * Contiguous FD: its buffer leaves the pool and @xdp describes the frame in
 * it.  False (counted) if the buffer is not the pool's.
 */
static bool sgnic_port_rx_contig(struct sgnic_port *port, const struct sgnic_fd *fd,
				 struct sgnic_rx_annot *annot, struct xdp_buff *xdp)
{
	void *va = sgnic_bpool_buf_claim(&port->bpool, sgnic_fd_addr(fd));

	if (unlikely(!va)) {
		sgnic_stats_add(port, SGNIC_STAT_RX_ERRORS, 1);
		return false;
	}
	/* Now: an XDP frame record may later take the headroom. */
	if (annot)
		*annot = *(struct sgnic_rx_annot *)va;
	xdp_prepare_buff(xdp, va, sgnic_fd_offset(fd), sgnic_fd_length(fd), true);
	return true;
}

/*
 * S/G FD: the table sits in one pool buffer that goes straight back to the
 * pool; the first entry's buffer becomes the frame's head, the others its
 * frags, recorded in the head buffer's shared info as XDP and build_skb()
 * both expect.  False (counted) if the table is not usable; whatever buffers
 * it named are back in the pool then.
 */
static bool sgnic_port_rx_sg(struct sgnic_port *port, const struct sgnic_fd *fd,
			     struct sgnic_rx_annot *annot, struct xdp_buff *xdp)
{
	struct sgnic_sg_entry ent[SGNIC_SGT_MAX_ENTRIES];
	dma_addr_t bufs[SGNIC_SGT_MAX_ENTRIES];
	struct sgnic_bpool *pool = &port->bpool;
	dma_addr_t sgt_addr = sgnic_fd_addr(fd);
	struct skb_shared_info *sinfo;
	struct page *page;
	skb_frag_t *frag;
	int n, i = 0;
	void *va;
	bool ok;

	n = sgnic_port_rx_sgt_read(port, fd, ent, &ok, annot);
	if (n < 0)
		goto table_unknown;
	for (i = 0; i < n; i++)
		bufs[i] = sgnic_sg_addr(&ent[i]);
	sgnic_port_rx_recycle(pool, &sgt_addr, 1);
	if (!ok)
		goto bad_table;

	va = sgnic_bpool_buf_claim(pool, bufs[0]);
	if (unlikely(!va)) {
		i = 0;
		goto buf_unknown;
	}
	xdp_prepare_buff(xdp, va, sgnic_sg_offset(&ent[0]), sgnic_sg_length(&ent[0]),
			 true);
	sinfo = xdp_get_shared_info_from_buff(xdp);
	sinfo->nr_frags = 0;
	sinfo->xdp_frags_size = 0;
	if (n > 1)
		xdp_buff_set_frags_flag(xdp);
	for (i = 1; i < n; i++) {
		va = sgnic_bpool_buf_claim(pool, bufs[i]);
		if (unlikely(!va))
			goto frag_unknown;
		/* A pool buffer is a page of its own. */
		page = virt_to_page(va);
		frag = &sinfo->frags[sinfo->nr_frags++];
		__skb_frag_set_page(frag, page);
		skb_frag_off_set(frag, sgnic_sg_offset(&ent[i]));
		skb_frag_size_set(frag, sgnic_sg_length(&ent[i]));
		sinfo->xdp_frags_size += sgnic_sg_length(&ent[i]);
		if (page_is_pfmemalloc(page))
			xdp_buff_set_frag_pfmemalloc(xdp);
	}
	sgnic_stats_add(port, SGNIC_STAT_RX_SG, 1);
	return true;

frag_unknown:
	sgnic_port_rx_release(port, xdp);
buf_unknown:
	/* Not a buffer of ours: nothing to give back for it. */
	sgnic_port_rx_recycle(pool, bufs + i + 1, n - i - 1);
	sgnic_stats_add(port, SGNIC_STAT_RX_ERRORS, 1);
	return false;
bad_table:
	sgnic_port_rx_recycle(pool, bufs, n);
table_unknown:
	sgnic_stats_add(port, SGNIC_STAT_RX_ERRORS, 1);
	return false;
}

/*
 * Builds an skb on the frame @xdp describes, from the NAPI skb cache (only
 * the portal's poll receives); NULL if none could be had (the buffers are
 * still the caller's then).
 */
static struct sk_buff *sgnic_port_rx_build(struct xdp_buff *xdp)
{
	struct skb_shared_info *sinfo = xdp_get_shared_info_from_buff(xdp);
	u32 metasize = xdp->data - xdp->data_meta;
	unsigned int frags_size = 0;
	struct sk_buff *skb;
	u8 nr_frags = 0;

	/* build_skb() clears the frag count, not the frags: read it first. */
	if (xdp_buff_has_frags(xdp)) {
		nr_frags = sinfo->nr_frags;
		frags_size = sinfo->xdp_frags_size;
	}
	skb = napi_build_skb(xdp->data_hard_start, xdp->frame_sz);
	if (unlikely(!skb))
		return NULL;
	/* Its pages go back to their page_pools when the skb is freed. */
	skb_mark_for_recycle(skb);
	skb_reserve(skb, xdp->data - xdp->data_hard_start);
	skb_put(skb, xdp->data_end - xdp->data);
	if (metasize)
		skb_metadata_set(skb, metasize);
	if (nr_frags)
		xdp_update_skb_shared_info(skb, nr_frags, frags_size,
					   nr_frags * xdp->frame_sz,
					   xdp_buff_is_frag_pfmemalloc(xdp));
	return skb;
}

/* Returns an Rx FD's buffers to the pool without looking at the frame. */
static void sgnic_port_rx_discard(struct sgnic_port *port,
				  const struct sgnic_fd *fd)
{
	struct sgnic_sg_entry ent[SGNIC_SGT_MAX_ENTRIES];
	struct sgnic_bpool *pool = &port->bpool;
	dma_addr_t addr = sgnic_fd_addr(fd);
	dma_addr_t buf;
	int i, n = 0;
	bool ok;

	if (sgnic_fd_format(fd) == SGNIC_FD_SG) {
		n = sgnic_port_rx_sgt_read(port, fd, ent, &ok, NULL);
		if (n < 0)
			return;	/* not a buffer of ours */
	}
	for (i = 0; i < n; i++) {
		buf = sgnic_sg_addr(&ent[i]);
		sgnic_port_rx_recycle(pool, &buf, 1);
	}
	sgnic_port_rx_recycle(pool, &addr, 1);
}

/*
 * A frame of coalesced TCP segments becomes what GRO would have made of
 * them: a GSO skb whose TCP checksum field holds the pseudo-header sum
 * (CHECKSUM_PARTIAL).  Before eth_type_trans(): offsets from the Ethernet
 * header, which each segment carried (the frame is untagged).
 */
static void sgnic_port_rx_gro(struct sk_buff *skb, const struct sgnic_rx_annot *annot)
{
	bool ipv6 = skb_eth_hdr(skb)->h_proto == htons(ETH_P_IPV6);

	skb_set_network_header(skb, ETH_HLEN);
	skb_set_transport_header(skb, be16_to_cpu(annot->gro_l4off));
	skb_shinfo(skb)->gso_size = be16_to_cpu(annot->gro_mss);
	skb_shinfo(skb)->gso_type = ipv6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4;
	NAPI_GRO_CB(skb)->count = be16_to_cpu(annot->gro_segs);
	tcp_gro_complete(skb);
}

/*
 * A received FD of the Rx FQ of @portal's CPU: the port's XDP program (if
 * any) sees the frame first, then it becomes an skb.
 */
void sgnic_port_rx(struct sgnic_portal *portal, struct sgnic_port *port,
		   const struct sgnic_fd *fd)
{
	struct net_device *netdev = port->netdev;
	u32 status = be32_to_cpu(fd->cmd_status);
	bool marked = status & SGNIC_FD_STATUS_MARK;
	bool gro = status & SGNIC_FD_STATUS_GRO;
	bool hashed = status & SGNIC_FD_STATUS_HASH;
	bool annotated = marked || gro || hashed;
	struct sgnic_rx_annot annot = {};
	struct bpf_prog *prog;
	struct xdp_buff xdp;
	struct sk_buff *skb;
	bool got;
	u32 len, packets = 1;

	if (unlikely(fd->bpid != port->bpool.bpid)) {
		/* Not our pool: nothing we may give back. */
		sgnic_stats_add(port, SGNIC_STAT_RX_ERRORS, 1);
		return;
	}
	if (unlikely(!READ_ONCE(port->up))) {
		sgnic_port_rx_discard(port, fd);
		sgnic_stats_add(port, SGNIC_STAT_RX_DROPPED, 1);
		return;
	}

	xdp_init_buff(&xdp, port->bpool.alloc_size, &port->fqs[portal->cpu].xdp_rxq);
	switch (sgnic_fd_format(fd)) {
	case SGNIC_FD_CONTIG:
		got = sgnic_port_rx_contig(port, fd, annotated ? &annot : NULL, &xdp);
		break;
	case SGNIC_FD_SG:
		got = sgnic_port_rx_sg(port, fd, annotated ? &annot : NULL, &xdp);
		break;
	default:
		sgnic_port_rx_discard(port, fd);
		sgnic_stats_add(port, SGNIC_STAT_RX_ERRORS, 1);
		return;
	}
	if (unlikely(!got))
		return;

	prog = rcu_dereference_bh(port->xdp_prog);
	if (prog) {
		/*
		 * Queued before the program came: an S/G frame the MTU no longer
		 * allows, or coalesced segments (the program sees each segment).
		 */
		if (unlikely((xdp_buff_has_frags(&xdp) && !prog->aux->xdp_has_frags) || gro))
			goto drop;
		if (!sgnic_xdp_rx(portal, port, prog, &xdp))
			return;
	}
	skb = sgnic_port_rx_build(&xdp);
	if (unlikely(!skb))
		goto drop;

	len = skb->len;
	if (gro) {
		sgnic_port_rx_gro(skb, &annot);
		/* What the segments carried on the wire, headers and all. */
		len = sgnic_skb_wire_bytes(skb, len);
	}
	skb->protocol = eth_type_trans(skb, netdev);
	/*
	 * The frame manager chose this queue (a steering rule, or the flow
	 * hash), and a mark.
	 */
	skb_record_rx_queue(skb, portal->cpu);
	if (marked)
		skb->mark = be32_to_cpu(annot.mark);
	if (hashed && (netdev->features & NETIF_F_RXHASH))
		skb_set_hash(skb, be32_to_cpu(annot.hash),
			     status & SGNIC_FD_STATUS_HASH_L4 ?
			     PKT_HASH_TYPE_L4 : PKT_HASH_TYPE_L3);
	if (gro) {
		/* rx-gro-hw needs rx-checksumming: the segments were verified. */
		packets = skb_shinfo(skb)->gso_segs;
		sgnic_stats_add(port, SGNIC_STAT_RX_GRO, 1);
		sgnic_stats_add(port, SGNIC_STAT_RX_GRO_SEGS, packets);
		sgnic_stats_add(port, SGNIC_STAT_RX_CSUM_OK, packets);
	} else if ((netdev->features & NETIF_F_RXCSUM) && (status & SGNIC_FD_STATUS_CSUM_OK)) {
		skb->ip_summed = CHECKSUM_UNNECESSARY;
		sgnic_stats_add(port, SGNIC_STAT_RX_CSUM_OK, 1);
	}
	sgnic_stats_add(port, SGNIC_STAT_RX_PACKETS, packets);
	sgnic_stats_add(port, SGNIC_STAT_RX_BYTES, len);
	napi_gro_receive(&portal->napi, skb);
	return;

drop:
	sgnic_port_rx_release(port, &xdp);
	sgnic_stats_add(port, SGNIC_STAT_RX_DROPPED, 1);
}

/* ---- open, stop and the rest of the netdev ops ---- */

/* Portals quiesced: returns whatever this port still has queued. */
static void sgnic_port_flush(struct sgnic_port *port)
{
	struct sgnic_port_fqs *fqs;
	unsigned int cpu, q;
	struct sk_buff *skb;
	struct sgnic_fd fd;

	local_bh_disable();
	for_each_possible_cpu(cpu) {
		fqs = &port->fqs[cpu];
		/* Oldest first, as the Tx shadow holds them: confirmed, then queued. */
		while (sgnic_fq_pop(&fqs->conf, &fd))
			sgnic_port_tx_confirm(port, cpu, &fd, 0);
		while (sgnic_fq_pop(&fqs->tx, &fd)) {
			sgnic_port_tx_done(port, cpu, &fd, &skb);
			dev_kfree_skb_any(skb);
			sgnic_stats_add(port, SGNIC_STAT_TX_DROPPED, 1);
		}
		fqs->tx.congested = false;
		while (sgnic_fq_pop(&fqs->rx, &fd)) {
			sgnic_port_rx_discard(port, &fd);
			sgnic_stats_add(port, SGNIC_STAT_RX_DROPPED, 1);
		}
	}
	local_bh_enable();
	/* Frames dropped from the Tx FQs were never completed. */
	for (q = 0; q < port->netdev->num_tx_queues; q++)
		netdev_tx_reset_queue(netdev_get_tx_queue(port->netdev, q));
}

static int sgnic_port_open(struct net_device *netdev)
{
	struct sgnic_port *port = netdev_priv(netdev);
	struct sgnic_port *peer = port->peer;
	int err;

	err = sgnic_bpool_seed(&port->bpool);
	if (err)
		goto seed_failed;
	WRITE_ONCE(port->up, true);
	netif_tx_start_all_queues(netdev);
	/* Like a cable: carrier only when both ends are up. */
	if (READ_ONCE(peer->up)) {
		netif_carrier_on(netdev);
		netif_carrier_on(peer->netdev);
	}
	return 0;

seed_failed:
	sgnic_portals_quiesce(port->sd);
	sgnic_bpool_drain(&port->bpool);
	sgnic_portals_resume(port->sd);
	return err;
}

static int sgnic_port_stop(struct net_device *netdev)
{
	struct sgnic_port *port = netdev_priv(netdev);

	netif_carrier_off(netdev);
	netif_carrier_off(port->peer->netdev);
	/*
	 * Down before the queues are disabled: ndo_xdp_xmit checks it under a
	 * queue's lock, which netif_tx_disable() takes after.  The disable waits
	 * for a transmit in progress: none may race the flush below.
	 */
	WRITE_ONCE(port->up, false);
	netif_tx_disable(netdev);
	sgnic_portals_quiesce(port->sd);
	sgnic_port_flush(port);
	sgnic_bpool_drain(&port->bpool);
	sgnic_portals_resume(port->sd);
	return 0;
}

int sgnic_port_set_rx_buf_len(struct sgnic_port *port, u32 buf_len,
			      struct netlink_ext_ack *extack)
{
	bool running = netif_running(port->netdev);
	int err;

	ASSERT_RTNL();
	if (buf_len < SGNIC_RX_BUF_LEN_MIN || buf_len > SGNIC_RX_BUF_LEN_MAX)
		return -ERANGE;
	if (buf_len == port->bpool.buf_len)
		return 0;
	if (!sgnic_port_xdp_allows(port, port->netdev->mtu, buf_len)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the port's XDP program has no frags support: rx-buf-len must hold a whole frame (MTU + 18)");
		return -EBUSY;
	}
	/* The pool is refilled with buffers of the new size: empty it first. */
	if (running)
		sgnic_port_stop(port->netdev);
	err = sgnic_bpool_set_buf_len(&port->bpool, buf_len);
	if (running) {
		int open_err = sgnic_port_open(port->netdev);

		if (open_err)
			NL_SET_ERR_MSG_MOD(extack, "cannot refill the pool with the new size");
		err = err ?: open_err;
	}
	return err;
}

static void sgnic_port_get_stats64(struct net_device *netdev,
				   struct rtnl_link_stats64 *stats)
{
	struct sgnic_port *port = netdev_priv(netdev);
	struct sgnic_stats s;
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		sgnic_stats_read(port, cpu, &s);
		stats->rx_packets += s.v[SGNIC_STAT_RX_PACKETS];
		stats->rx_bytes += s.v[SGNIC_STAT_RX_BYTES];
		stats->tx_packets += s.v[SGNIC_STAT_TX_PACKETS];
		stats->tx_bytes += s.v[SGNIC_STAT_TX_BYTES];
		stats->tx_errors += s.v[SGNIC_STAT_TX_ERRORS];
		stats->tx_dropped += s.v[SGNIC_STAT_TX_DROPPED];
		stats->rx_errors += s.v[SGNIC_STAT_RX_ERRORS];
		stats->rx_dropped += s.v[SGNIC_STAT_RX_DROPPED];
		/* Not in rx_dropped too: /proc/net/dev adds the two. */
		stats->rx_missed_errors += s.v[SGNIC_STAT_RX_NOBUF];
	}
}

static int sgnic_port_change_mtu(struct net_device *netdev, int new_mtu)
{
	struct sgnic_port *port = netdev_priv(netdev);

	/* The core checked min_mtu/max_mtu; every size fits one S/G table. */
	if (!sgnic_port_xdp_allows(port, new_mtu, port->bpool.buf_len)) {
		netdev_err(netdev,
			   "MTU %d refused: frames would span several receive buffers (rx-buf-len %u) and the XDP program has no frags support\n",
			   new_mtu, port->bpool.buf_len);
		return -EINVAL;
	}
	WRITE_ONCE(netdev->mtu, new_mtu);
	return 0;
}

static int sgnic_port_get_iflink(const struct net_device *netdev)
{
	const struct sgnic_port *port = netdev_priv(netdev);

	return port->peer->netdev->ifindex;
}

/*
 * rx-gro-hw hands the stack segments it did not see verified one by one:
 * only with rx-checksumming, and never under an XDP program, which sees
 * every segment.
 */
static netdev_features_t sgnic_port_fix_features(struct net_device *netdev,
						 netdev_features_t features)
{
	struct sgnic_port *port = netdev_priv(netdev);

	if (!(features & NETIF_F_RXCSUM) || rtnl_dereference(port->xdp_prog))
		features &= ~NETIF_F_GRO_HW;
	return features;
}

static struct devlink_port *sgnic_port_get_devlink_port(struct net_device *netdev)
{
	struct sgnic_port *port = netdev_priv(netdev);

	return &port->dl_port;
}

static const struct net_device_ops sgnic_port_netdev_ops = {
	.ndo_open		= sgnic_port_open,
	.ndo_stop		= sgnic_port_stop,
	.ndo_start_xmit		= sgnic_port_xmit,
	.ndo_features_check	= sgnic_port_features_check,
	.ndo_fix_features	= sgnic_port_fix_features,
	.ndo_get_stats64	= sgnic_port_get_stats64,
	.ndo_change_mtu		= sgnic_port_change_mtu,
	.ndo_get_iflink		= sgnic_port_get_iflink,
	.ndo_get_devlink_port	= sgnic_port_get_devlink_port,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_bpf		= sgnic_port_bpf,
	.ndo_xdp_xmit		= sgnic_port_xdp_xmit,
};

/* ---- lifetime ---- */

static void sgnic_port_fqs_fini(struct sgnic_port *port)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		sgnic_fq_fini(&port->fqs[cpu].tx);
		sgnic_fq_fini(&port->fqs[cpu].conf);
		sgnic_fq_fini(&port->fqs[cpu].rx);
		kvfree(port->fqs[cpu].tx_shadow.slot);
	}
	kfree(port->fqs);
}

static int sgnic_port_fqs_init(struct sgnic_port *port)
{
	struct sgnic_port_fqs *fqs;
	unsigned int cpu;
	int err = 0;

	port->fqs = kcalloc(nr_cpu_ids, sizeof(*port->fqs), GFP_KERNEL);
	if (!port->fqs)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		fqs = &port->fqs[cpu];
		err = sgnic_fq_init(&fqs->tx, port, SGNIC_FQ_TX, cpu,
				    SGNIC_FQ_TX_DEPTH) ?:
		      sgnic_fq_init(&fqs->conf, port, SGNIC_FQ_TX_CONF, cpu,
				    SGNIC_FQ_HW_DEPTH) ?:
		      sgnic_fq_init(&fqs->rx, port, SGNIC_FQ_RX, cpu,
				    SGNIC_FQ_HW_DEPTH) ?:
		      sgnic_tx_shadow_init(&fqs->tx_shadow);
		if (err)
			break;
	}
	if (err)
		sgnic_port_fqs_fini(port);	/* kfree(NULL) of untouched rings is fine */
	return err;
}

struct sgnic_port *sgnic_port_create(struct sgnic_dev *sd, unsigned int index)
{
	struct net_device *netdev;
	struct sgnic_port *port;
	int err;

	/* A Tx and an Rx queue per CPU: its portal serves both. */
	netdev = alloc_etherdev_mqs(sizeof(*port), nr_cpu_ids, nr_cpu_ids);
	if (!netdev) {
		err = -ENOMEM;
		goto netdev_alloc_failed;
	}
	snprintf(netdev->name, IFNAMSIZ, SGNIC_DRV_NAME "%u", index);
	SET_NETDEV_DEV(netdev, &sd->pdev->dev);
	netdev->netdev_ops = &sgnic_port_netdev_ops;
	netdev->ethtool_ops = &sgnic_ethtool_ops;
	netdev->min_mtu = SGNIC_MTU_MIN;
	netdev->max_mtu = SGNIC_MTU_MAX;
	netdev->needed_headroom = SGNIC_TX_HEADROOM + SGNIC_TX_ANNOT_ALIGN;
	netdev->hw_features = NETIF_F_SG | NETIF_F_HIGHDMA | NETIF_F_IP_CSUM |
			      NETIF_F_IPV6_CSUM | NETIF_F_RXCSUM | NETIF_F_TSO |
			      NETIF_F_TSO6 | NETIF_F_TSO_ECN | NETIF_F_RXHASH;
	netdev->features = netdev->hw_features | NETIF_F_GSO;
	netdev->vlan_features = netdev->features;
	/* Coalescing (untagged frames only), on by default as NICs have it. */
	netdev->hw_features |= NETIF_F_GRO_HW;
	netdev->features |= NETIF_F_GRO_HW;
	netif_set_tso_max_segs(netdev, SGNIC_TSO_MAX_SEGS);
	eth_hw_addr_random(netdev);

	port = netdev_priv(netdev);
	port->netdev = netdev;
	port->sd = sd;
	port->index = index;
	mutex_init(&port->knob_lock);
	port->faults.sgt_max = SGNIC_SGT_MAX_ENTRIES;
	atomic_set(&port->faults.enqueue_busy, 0);

	port->stats = netdev_alloc_pcpu_stats(struct sgnic_stats);
	if (!port->stats) {
		err = -ENOMEM;
		goto stats_alloc_failed;
	}
	err = sgnic_port_fqs_init(port);
	if (err)
		goto fqs_init_failed;
	err = sgnic_bpool_init(&port->bpool, sd, index);
	if (err)
		goto bpool_init_failed;
	err = sgnic_steer_port_init(port);
	if (err)
		goto steer_init_failed;
	err = sgnic_devlink_port_add(port);
	if (err)
		goto devlink_port_failed;
	return port;

devlink_port_failed:
	sgnic_steer_port_fini(port);
steer_init_failed:
	sgnic_bpool_fini(&port->bpool);
bpool_init_failed:
	sgnic_port_fqs_fini(port);
fqs_init_failed:
	free_percpu(port->stats);
stats_alloc_failed:
	free_netdev(netdev);
netdev_alloc_failed:
	return ERR_PTR(err);
}

static void sgnic_port_xdp_rxqs_unreg(struct sgnic_port *port)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		if (xdp_rxq_info_is_reg(&port->fqs[cpu].xdp_rxq))
			xdp_rxq_info_unreg(&port->fqs[cpu].xdp_rxq);
}

/*
 * XDP's view of each Rx FQ: its queue, and buffers that are page_pool pages
 * (xdp_return_frame() gives each back to its own page_pool).
 */
static int sgnic_port_xdp_rxqs_reg(struct sgnic_port *port)
{
	struct xdp_rxq_info *rxq;
	unsigned int cpu;
	int err = 0;

	for_each_possible_cpu(cpu) {
		rxq = &port->fqs[cpu].xdp_rxq;
		err = xdp_rxq_info_reg(rxq, port->netdev, cpu,
				       port->sd->portals[cpu]->napi.napi_id) ?:
		      xdp_rxq_info_reg_mem_model(rxq, MEM_TYPE_PAGE_POOL,
						 port->bpool.pages[cpu]);
		if (err) {
			sgnic_port_xdp_rxqs_unreg(port);
			break;
		}
	}
	return err;
}

/*
 * Tx FQs map 1:1 onto portals: CPU n sends on queue n (XPS, which users may
 * change in sysfs).  The stack moves a socket's flow to its new CPU's queue
 * only once none of its frames is in flight, so the flow never overtakes
 * itself (a queue chosen per frame by CPU reordered flows that migrated).
 */
static void sgnic_port_xps_init(struct sgnic_port *port)
{
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		if (netif_set_xps_queue(port->netdev, cpumask_of(cpu), cpu))
			netdev_warn(port->netdev, "no XPS map for CPU %u: the stack hashes flows\n",
				    cpu);
}

int sgnic_port_register(struct sgnic_port *port)
{
	int err;

	netif_carrier_off(port->netdev);
	err = register_netdev(port->netdev);
	if (err)
		return err;
	err = sgnic_port_xdp_rxqs_reg(port);
	if (err) {
		unregister_netdev(port->netdev);
		return err;
	}
	sgnic_port_xps_init(port);
	devlink_port_type_eth_set(&port->dl_port, port->netdev);
	sgnic_debugfs_port_add(port);
	return 0;
}

void sgnic_port_unregister(struct sgnic_port *port)
{
	sgnic_debugfs_port_del(port);
	devlink_port_type_clear(&port->dl_port);
	/* Detaches the XDP program and stops the port: no Rx FQ use after. */
	unregister_netdev(port->netdev);
	sgnic_port_xdp_rxqs_unreg(port);
}

void sgnic_port_destroy(struct sgnic_port *port)
{
	sgnic_devlink_port_del(port);
	sgnic_steer_port_fini(port);
	sgnic_bpool_fini(&port->bpool);
	sgnic_port_fqs_fini(port);
	free_percpu(port->stats);
	mutex_destroy(&port->knob_lock);
	free_netdev(port->netdev);
}
