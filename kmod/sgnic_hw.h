/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sgnic: every limit and constant of the simulated hardware and of the
 * driver's use of it, in one place.  Logic elsewhere uses these names only.
 */
#ifndef _SGNIC_HW_H
#define _SGNIC_HW_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/skbuff.h>

#include "sgnic_fd.h"

/* Port pairs the module parameter "pairs" may ask for. */
#define SGNIC_PAIRS_DEFAULT		1
#define SGNIC_PAIRS_MAX			16
#define SGNIC_PORTS_MAX			(2 * SGNIC_PAIRS_MAX)

/* MTU range; the largest frame adds the Ethernet and one VLAN header. */
#define SGNIC_MTU_MIN			ETH_MIN_MTU
#define SGNIC_MTU_MAX			9600
#define SGNIC_FRAME_MAX			(SGNIC_MTU_MAX + VLAN_ETH_HLEN)

/*
 * Buffer pools (BMan model).  Upstream DPAA seeds 128 buffers per CPU and
 * refills below 80; acquire and release move at most 8 buffers per command.
 */
#define SGNIC_BPOOL_SEED_PER_CPU	128
#define SGNIC_BPOOL_LOW_WATER		80
#define SGNIC_BPOOL_CMD_MAX		8	/* buffers per acquire/release */
/* Pages a CPU's page_pool keeps mapped for reuse beyond its 128 cached. */
#define SGNIC_BPOOL_PAGE_RING		256

/*
 * Rx buffer layout: headroom (the FD offset of received frames), then
 * rx_buf_len bytes of frame data, then room for skb_shared_info so the
 * buffer can become an skb head with build_skb().  The headroom is XDP's
 * (the Rx annotation, then room for bpf_xdp_adjust_head() and the xdp_frame
 * record), as dpaa_eth reserves it.  The whole buffer must fit one page; the
 * smallest rx_buf_len must still hold the largest frame in one S/G table
 * (checked at build time in sgnic_bpool.c).
 */
#define SGNIC_RX_HEADROOM		XDP_PACKET_HEADROOM
#define SGNIC_RX_BUF_LEN_MIN		1024
#define SGNIC_RX_BUF_LEN_DEFAULT	2048
#define SGNIC_RX_BUF_LEN_MAX		3520
#define SGNIC_RX_BUF_ALLOC(len)		(SKB_DATA_ALIGN(SGNIC_RX_HEADROOM + (len)) + \
					 SKB_DATA_ALIGN(sizeof(struct skb_shared_info)))

/*
 * Tx buffer layout: the driver writes a small annotation (the checksum
 * request) for the frame manager in front of the frame, at least this far
 * before it, aligned.  S/G frames carry it in the S/G table buffer.
 */
#define SGNIC_TX_HEADROOM		64
#define SGNIC_TX_ANNOT_ALIGN		8
#define SGNIC_TX_SGT_BUF_SIZE		(SGNIC_TX_HEADROOM + SGNIC_SGT_BYTES)

/* Queue manager: frame queues, portals, the dequeue ring (DQRR). */
#define SGNIC_FQ_TX_DEPTH		1024	/* Tx FQ ring slots */
#define SGNIC_FQ_HW_DEPTH		256	/* Rx and Tx-confirm FQ ring slots */
#define SGNIC_DQRR_SIZE			16	/* upstream DQRR: 16 entries */
#define SGNIC_ENQUEUE_RETRIES		3	/* tries on "busy" before a drop */
/*
 * The driver's record of the frames it handed one Tx FQ: a frame is in
 * flight from its enqueue until its confirmation, so at most a full Tx FQ,
 * a full Tx-confirm FQ and a full DQRR (a power of two, for the ring index).
 */
#define SGNIC_TX_SHADOW_SLOTS		2048
/* Congestion group of a Tx FQ: stop the queue at enter, wake below exit. */
#define SGNIC_CGR_ENTER			512
#define SGNIC_CGR_EXIT			256
/* Frames the frame manager moves from one Tx FQ per round. */
#define SGNIC_FMAN_BURST		16
/* A NAPI poll gives up the CPU after this many rounds even below budget. */
#define SGNIC_PORTAL_MAX_ROUNDS		64

/*
 * TSO: the frame manager cuts a superframe (one FD with SGNIC_FD_CMD_TSO)
 * into TCP segments of the MSS in its annotation.  At most this many per
 * superframe (the stack segments bigger ones in software), so that they fit
 * the peer's Rx FQ; headers (Ethernet with one VLAN tag, IPv4 with options or
 * IPv6, TCP with options) of at most SGNIC_TSO_HDR_MAX bytes.
 */
#define SGNIC_TSO_MAX_SEGS		64
#define SGNIC_TSO_HDR_MAX		(VLAN_ETH_HLEN + 60 + 60)

/* Fault knob ranges. */
#define SGNIC_SGT_MAX_MIN		2	/* S/G needs the head plus a frag */
#define SGNIC_ENQUEUE_BUSY_MAX		1000000

/* How much of a received frame the frame manager parses for checksums. */
#define SGNIC_FMAN_PARSE_LEN		128

/* Rules of one port (devlink resource /pN/rules): the default, the most. */
#define SGNIC_STEER_PORT_RULES_DEFAULT	BIT(22)
#define SGNIC_STEER_PORT_RULES_MAX	BIT(24)

/* devlink: the instance's serial number and its health reporters' grace period. */
#define SGNIC_DEVLINK_SERIAL		"SGNIC-FM-0001"
#define SGNIC_HEALTH_GRACE_MS		500

#endif /* _SGNIC_HW_H */
