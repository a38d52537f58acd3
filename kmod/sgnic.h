/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sgnic: simulated DPAA-style NIC with a hardware steering model.
 * Shared declarations of the module's parts.
 *
 * Objects and who owns them:
 *   sgnic_dev     the one device: a platform device for the DMA API, the
 *                 per-CPU portals and the ports.
 *   sgnic_portal  one per possible CPU: a dequeue ring (DQRR) and a NAPI
 *                 instance; it runs the frame manager for the FQs of its CPU.
 *   sgnic_port    one per netdev (sgnic0, sgnic1, ...), wired to its peer;
 *                 owns a buffer pool and, per CPU, a Tx, a Tx-confirm and an
 *                 Rx frame queue; a devlink port with two health reporters.
 */
#ifndef _SGNIC_H
#define _SGNIC_H

#include <linux/bpf.h>
#include <linux/dma-mapping.h>
#include <linux/netdevice.h>
#include <linux/platform_device.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/tcp.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <net/devlink.h>
#include <net/xdp.h>

#include "sgnic_fd.h"
#include "sgnic_hw.h"

#define SGNIC_DRV_NAME		"sgnic"
#define SGNIC_DRV_VERSION	"0.2.0"

struct page_pool;
struct sgnic_dev;
struct sgnic_dqrr_entry;
struct sgnic_port;
struct sgnic_portal;
struct sgnic_steer;

/* ---- frame queues (sgnic_fq.c) ---- */

enum sgnic_fq_type {
	SGNIC_FQ_TX,		/* driver -> frame manager */
	SGNIC_FQ_TX_CONF,	/* frame manager -> driver: Tx done */
	SGNIC_FQ_RX,		/* frame manager -> driver: received */
};

/*
 * A FIFO of frame descriptors.  Locking:
 *  - Tx FQs: @lock protects the ring, @count and @congested: ndo_start_xmit
 *    enqueues (the queue's CPU, or any CPU), the portal of @cpu dequeues.
 *  - Tx-confirm FQs: only the portal of @cpu produces (frame manager) and
 *    consumes (dequeue) them, both inside its NAPI poll.  @lock is unused.
 *  - Rx FQs: the frame manager of any portal produces (a steering rule may
 *    choose the queue of another CPU), the portal of @cpu consumes; both
 *    under @lock (BH context).  @count is also read without it, as a hint.
 *    @in_hand: FDs the portal of @cpu took this poll round and has not yet
 *    refilled the pools for; written by that portal only, raised before
 *    @count falls and cleared after the refill, so that a frame manager
 *    reading both without @lock (count, then in_hand) never sees a receiver
 *    that holds frames as idle.
 * Process context touches Rx and Tx-confirm FQs only while the portals are
 * quiesced.  The statistics are read unlocked by debugfs (a torn read is
 * harmless).
 */
struct sgnic_fq {
	u32 fqid;
	enum sgnic_fq_type type;
	unsigned int cpu;
	struct sgnic_port *port;
	spinlock_t lock;		/* Tx and Rx FQs, see above */
	struct sgnic_fd *ring;
	u32 depth;
	u32 head;
	u32 count;
	u32 in_hand;
	bool congested;
	u64 enqueued;
	u64 dequeued;
	u64 busy;
	u64 cgr_entered;
};

/*
 * What the driver handed the hardware with one Tx FD.  The driver never
 * turns a bus address back into a pointer (with bounce buffering that would
 * be the bounce slot, not its buffer): it keeps this record instead.
 */
struct sgnic_tx_shadow {
	dma_addr_t addr;	/* the FD's address: the frame or the S/G table */
	struct sk_buff *skb;	/* a frame of the stack; else NULL */
	struct xdp_frame *xdpf;	/* a frame of XDP_TX or ndo_xdp_xmit; else NULL */
	void *sgt_buf;		/* S/G FDs: the table buffer; else NULL */
};

/*
 * The records of one Tx FQ in FD order.  The frame manager confirms a Tx
 * FQ's frames in order, on the Tx-confirm FQ of the same CPU, so the oldest
 * record is the next confirmation's.  Single producer: ndo_start_xmit, and
 * XDP (XDP_TX, ndo_xdp_xmit), all under the netdev queue's xmit lock.
 * Single consumer: the portal's NAPI poll, or the port's stop with the
 * portals quiesced and Tx disabled.  @prod is published with release
 * semantics after the slot is written.
 */
struct sgnic_tx_shadow_ring {
	struct sgnic_tx_shadow *slot;	/* SGNIC_TX_SHADOW_SLOTS entries */
	u32 prod;
	u32 cons;
};

/*
 * The three FQs of one port on one CPU, the Tx FQ's records, and the Rx
 * FQ's XDP queue info (registered while the netdev is).
 */
struct sgnic_port_fqs {
	struct sgnic_fq tx;
	struct sgnic_fq conf;
	struct sgnic_fq rx;
	struct sgnic_tx_shadow_ring tx_shadow;
	struct xdp_rxq_info xdp_rxq;
};

int sgnic_fq_init(struct sgnic_fq *fq, struct sgnic_port *port,
		  enum sgnic_fq_type type, unsigned int cpu, u32 depth);
void sgnic_fq_fini(struct sgnic_fq *fq);
bool sgnic_fq_push(struct sgnic_fq *fq, const struct sgnic_fd *fd);
bool sgnic_fq_pop(struct sgnic_fq *fq, struct sgnic_fd *fd);
bool sgnic_fq_rx_push(struct sgnic_fq *fq, const struct sgnic_fd *fd);
unsigned int sgnic_fq_rx_take(struct sgnic_fq *fq, struct sgnic_dqrr_entry *dqrr,
			      unsigned int max);
void sgnic_fq_rx_taken(struct sgnic_fq *fq);
u32 sgnic_fq_rx_held(struct sgnic_fq *fq, u32 *queued);
int sgnic_fq_tx_enqueue(struct sgnic_fq *fq, const struct sgnic_fd *fd,
			struct netdev_queue *txq, unsigned int bytes, bool *ring);
int sgnic_fq_tx_enqueue_xdp(struct sgnic_fq *fq, const struct sgnic_fd *fd);
bool sgnic_fq_tx_peek(struct sgnic_fq *fq, struct sgnic_fd *fd);
bool sgnic_fq_tx_dequeue(struct sgnic_fq *fq, struct sgnic_fd *fd,
			 struct netdev_queue *txq);
const char *sgnic_fq_type_name(enum sgnic_fq_type type);

/* ---- buffer pools (sgnic_bpool.c) ---- */

/*
 * The driver's record of one Rx buffer it gave the pool: its bus address
 * and its own pointer to it.  In @shadow_hash while the buffer belongs to
 * the pool (in the stack, held by the fault knob, or in a received FD not
 * yet processed), on @shadow_free otherwise.
 */
struct sgnic_bpool_buf {
	struct hlist_node node;
	dma_addr_t addr;
	void *va;
};

/*
 * A buffer pool as the BMan holds it: a stack of DMA addresses of Rx
 * buffers, each a page of one of @pages (a page_pool per CPU), mapped
 * DMA_FROM_DEVICE, of which the device may write @map_size bytes.  Beside it
 * the driver's shadow of those buffers (bus address -> its pointer), because
 * the driver never translates a bus address itself.
 *
 * Locking: @lock protects @stack/@avail (the "hardware" pool, used by the
 * frame manager on any portal and by the driver's refill), @held/@nheld
 * and the counters.  @count is per CPU: buffers the CPU released into the
 * pool minus the pool buffers its portal consumed; only that CPU writes it
 * (BH disabled), except in process context while the port is down.
 * @buf_len and the sizes change only while the port is down.
 * @shadow_lock protects @shadow_hash and @shadow_free; the
 * records themselves (@shadow, @capacity entries) are fixed at init.
 * @pages[cpu] is allocated from only on that CPU with BH disabled.
 */
struct sgnic_bpool {
	u8 bpid;
	struct sgnic_dev *sd;
	u32 buf_len;		/* frame bytes per buffer (ethtool rx-buf-len) */
	u32 map_size;		/* headroom + buf_len: what the hardware may write */
	u32 alloc_size;		/* + skb_shared_info: what build_skb() gets */
	spinlock_t lock;		/* the pool, see above */
	dma_addr_t *stack;
	u32 capacity;
	u32 avail;
	dma_addr_t *held;	/* fault knob: buffers taken out of the pool */
	u32 nheld;
	bool depleted;
	int __percpu *count;
	u64 acquired;
	u64 released;
	u64 acquire_failed;
	atomic64_t refills;		/* top-ups of a CPU's share below low water */
	spinlock_t shadow_lock;		/* the shadow, see above */
	struct sgnic_bpool_buf *shadow;
	struct hlist_head *shadow_hash;
	u32 shadow_bits;
	struct hlist_head shadow_free;
	struct page_pool **pages;	/* per CPU, nr_cpu_ids of them */
};

int sgnic_bpool_init(struct sgnic_bpool *pool, struct sgnic_dev *sd, u8 bpid);
void sgnic_bpool_fini(struct sgnic_bpool *pool);
int sgnic_bpool_set_buf_len(struct sgnic_bpool *pool, u32 buf_len);
int sgnic_bpool_seed(struct sgnic_bpool *pool);
void sgnic_bpool_drain(struct sgnic_bpool *pool);
int sgnic_bpool_acquire(struct sgnic_bpool *pool, dma_addr_t *bufs, u32 n);
int sgnic_bpool_release(struct sgnic_bpool *pool, const dma_addr_t *bufs, u32 n);
void sgnic_bpool_refill(struct sgnic_bpool *pool);
void *sgnic_bpool_buf_va(struct sgnic_bpool *pool, dma_addr_t addr);
void *sgnic_bpool_buf_claim(struct sgnic_bpool *pool, dma_addr_t addr);
void sgnic_bpool_recycle(struct sgnic_bpool *pool, void *va);
void sgnic_bpool_page_free(struct sgnic_bpool *pool, struct page *page, bool napi);
void sgnic_bpool_set_depleted(struct sgnic_bpool *pool, bool depleted);
u32 sgnic_bpool_avail(struct sgnic_bpool *pool);
int sgnic_bpool_count_sum(struct sgnic_bpool *pool);

/* ---- Tx buffers ---- */

/*
 * The Tx annotation: at the start of every Tx buffer the FD points at (the
 * frame's headroom, or the S/G table buffer), SGNIC_FD offset bytes before
 * the frame or table.  It is for the frame manager: the checksum request,
 * valid when the FD carries SGNIC_FD_CMD_CSUM, and the MSS of a superframe
 * to segment (SGNIC_FD_CMD_TSO).  (What the driver needs back
 * at confirmation is in its own Tx shadow, not in the buffer.)
 */
struct sgnic_tx_annot {
	__be16 csum_start;	/* from the first byte of the frame */
	__be16 csum_offset;	/* from csum_start */
	__be16 mss;		/* SGNIC_FD_CMD_TSO: TCP payload per segment */
	__be16 reserved;
};

static_assert(sizeof(struct sgnic_tx_annot) <= SGNIC_TX_HEADROOM);

/*
 * The Rx annotation: the first bytes of the buffer an Rx FD points at (its
 * headroom, before the frame or the S/G table), written by the frame
 * manager's classifier: the mark of the steering rule the frame matched,
 * valid when the FD carries SGNIC_FD_STATUS_MARK; for a frame of coalesced
 * TCP segments (SGNIC_FD_STATUS_GRO) their count, MSS and the TCP header's
 * offset in the frame.
 */
struct sgnic_rx_annot {
	__be32 mark;
	__be16 gro_segs;
	__be16 gro_mss;
	__be16 gro_l4off;
	__be16 reserved;
	__be32 hash;		/* the flow hash that chose the Rx FQ */
};

static_assert(sizeof(struct sgnic_rx_annot) <= SGNIC_RX_HEADROOM);

/* ---- per-port statistics (sgnic_netdev.c, shown by sgnic_ethtool.c) ---- */

enum sgnic_stat {
	SGNIC_STAT_RX_PACKETS,
	SGNIC_STAT_RX_BYTES,
	SGNIC_STAT_TX_PACKETS,
	SGNIC_STAT_TX_BYTES,
	SGNIC_STAT_TX_SG,
	SGNIC_STAT_TX_LINEARIZED,
	SGNIC_STAT_RX_SG,
	SGNIC_STAT_RX_NOBUF,
	SGNIC_STAT_TX_CONFIRM,
	SGNIC_STAT_TX_ERRORS,
	SGNIC_STAT_TX_DROPPED,
	SGNIC_STAT_TX_ENQ_BUSY,
	SGNIC_STAT_RX_ERRORS,
	SGNIC_STAT_RX_DROPPED,
	SGNIC_STAT_RX_SG_EXT,
	SGNIC_STAT_RX_CSUM_OK,
	SGNIC_STAT_TX_TSO,
	SGNIC_STAT_TX_DOORBELLS,
	SGNIC_STAT_RX_XDP_PASS,
	SGNIC_STAT_RX_XDP_DROP,
	SGNIC_STAT_RX_XDP_TX,
	SGNIC_STAT_RX_XDP_TX_ERRORS,
	SGNIC_STAT_RX_XDP_REDIRECT,
	SGNIC_STAT_RX_XDP_REDIRECT_ERRORS,
	SGNIC_STAT_RX_XDP_ABORTED,
	SGNIC_STAT_TX_XDP_XMIT,
	SGNIC_STAT_TX_XDP_XMIT_ERRORS,
	SGNIC_STAT_RX_GRO,
	SGNIC_STAT_RX_GRO_SEGS,
	SGNIC_STAT_NUM
};

/* Per CPU; written by that CPU with BH disabled, read under @syncp. */
struct sgnic_stats {
	u64 v[SGNIC_STAT_NUM];
	struct u64_stats_sync syncp;
};

void sgnic_stats_read(struct sgnic_port *port, unsigned int cpu,
		      struct sgnic_stats *out);

/*
 * A Tx skb as the wire carries it: a TSO superframe is gso_segs frames,
 * each with a copy of its headers; @len is the skb's bytes to count.
 */
static inline u32 sgnic_skb_wire_packets(const struct sk_buff *skb)
{
	return skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
}

static inline u64 sgnic_skb_wire_bytes(const struct sk_buff *skb, u32 len)
{
	if (!skb_is_gso(skb))
		return len;
	return len + (u64)(skb_shinfo(skb)->gso_segs - 1) * skb_tcp_all_headers(skb);
}

/* ---- ports (sgnic_netdev.c) ---- */

/*
 * Fault knobs of a port (debugfs).  Writers hold @knob_lock; the data path
 * reads them with READ_ONCE / atomic ops.
 */
struct sgnic_port_faults {
	u32 sgt_max;		/* Tx: S/G table entries the driver may use */
	bool sgt_no_final;	/* Tx: build S/G tables without a final bit */
	atomic_t enqueue_busy;	/* Tx: enqueues still to fail with "busy" */
};

/* Why the frame manager refused a Tx frame descriptor (fman health reporter). */
enum sgnic_fman_err {
	SGNIC_FMAN_OK,
	SGNIC_FMAN_ERR_FORMAT,		/* a format it does not handle */
	SGNIC_FMAN_ERR_SG_EXTENSION,	/* an extension entry: not supported */
	SGNIC_FMAN_ERR_SG_NO_FINAL,	/* no final bit within the table */
	SGNIC_FMAN_ERR_SG_LENGTH,	/* entries do not add up to the FD's length */
	SGNIC_FMAN_ERR_TSO,		/* a TSO frame it cannot segment */
};

/* Data-path problems a port reports through devlink health. */
enum sgnic_health_event {
	SGNIC_HEALTH_BPOOL,		/* Rx frames dropped: no buffer in the pool */
	SGNIC_HEALTH_FMAN,		/* the frame manager refused a Tx FD */
};

/*
 * A port's devlink health state.  devlink_health_report() sleeps, the data
 * path runs in NAPI: the data path sets an event's bit in @pending and
 * schedules @work, which reports it.  An event is reported once, then
 * @latched until its reporter recovers, so a burst of drops is one report.
 * @lock protects the record of the last refused FD (written by any portal,
 * read by the fman reporter's dump).
 */
struct sgnic_port_health {
	struct devlink_health_reporter *bpool;
	struct devlink_health_reporter *fman;
	struct work_struct work;
	unsigned long pending;
	unsigned long latched;
	spinlock_t lock;		/* the last refused FD, see above */
	u64 fman_errors;
	struct sgnic_fd bad_fd;
	enum sgnic_fman_err bad_reason;
	unsigned int bad_cpu;
};

struct sgnic_port {
	struct net_device *netdev;
	struct sgnic_dev *sd;
	struct sgnic_port *peer;	/* fixed for the module's lifetime */
	unsigned int index;
	/* Set by ndo_open/ndo_stop; the frame manager drops frames to a down port. */
	bool up;
	struct sgnic_bpool bpool;
	struct sgnic_port_fqs *fqs;	/* nr_cpu_ids entries, one per portal */
	struct sgnic_stats __percpu *stats;
	struct mutex knob_lock;		/* serializes fault knob writers */
	struct sgnic_port_faults faults;
	struct dentry *ddir;
	void *knob_files;		/* owned by sgnic_debugfs.c */
	struct sgnic_steer *steer;	/* owned by sgnic_steer.c */
	/* Set by ndo_bpf under RTNL; the Rx path reads it under RCU (NAPI). */
	struct bpf_prog __rcu *xdp_prog;
	struct devlink_port dl_port;
	char dl_name[8];		/* "pN", its resources' parent: devlink keeps the pointer */
	struct sgnic_port_health health;	/* owned by sgnic_devlink.c */
};

/* Adds to a counter of this CPU; caller runs with BH disabled. */
static inline void sgnic_stats_add(struct sgnic_port *port, enum sgnic_stat stat, u64 n)
{
	struct sgnic_stats *s = this_cpu_ptr(port->stats);

	u64_stats_update_begin(&s->syncp);
	s->v[stat] += n;
	u64_stats_update_end(&s->syncp);
}

/* Called by the data path (any context) when it meets @event. */
static inline void sgnic_health_note(struct sgnic_port *port, enum sgnic_health_event event)
{
	if (test_bit(event, &port->health.latched) ||
	    test_and_set_bit(event, &port->health.latched))
		return;
	set_bit(event, &port->health.pending);
	schedule_work(&port->health.work);
}

struct sgnic_port *sgnic_port_create(struct sgnic_dev *sd, unsigned int index);
int sgnic_port_register(struct sgnic_port *port);
void sgnic_port_unregister(struct sgnic_port *port);
void sgnic_port_destroy(struct sgnic_port *port);
void sgnic_port_rx(struct sgnic_portal *portal, struct sgnic_port *port,
		   const struct sgnic_fd *fd);
void sgnic_port_rx_release(struct sgnic_port *port, struct xdp_buff *xdp);
void sgnic_port_tx_confirm(struct sgnic_port *port, unsigned int q,
			   const struct sgnic_fd *fd, int budget);
int sgnic_port_set_rx_buf_len(struct sgnic_port *port, u32 buf_len,
			      struct netlink_ext_ack *extack);

/*
 * Whether every frame a port with @mtu and @buf_len receives fits one
 * buffer (a contiguous FD): the frame manager refuses frames longer than the
 * MTU plus an Ethernet and a VLAN header, and splits longer ones over S/G.
 */
static inline bool sgnic_rx_contig_only(u32 mtu, u32 buf_len)
{
	return mtu + VLAN_ETH_HLEN <= buf_len;
}

int sgnic_port_tx_xdp(struct sgnic_port *port, unsigned int q,
		      struct xdp_frame *xdpf);

/* ---- XDP (sgnic_xdp.c) ---- */

int sgnic_port_bpf(struct net_device *netdev, struct netdev_bpf *bpf);
int sgnic_port_xdp_xmit(struct net_device *netdev, int n,
			struct xdp_frame **frames, u32 flags);
bool sgnic_port_xdp_allows(struct sgnic_port *port, u32 mtu, u32 buf_len);
bool sgnic_xdp_rx(struct sgnic_portal *portal, struct sgnic_port *port,
		  struct bpf_prog *prog, struct xdp_buff *xdp);

/* ---- portals (sgnic_portal.c) ---- */

struct sgnic_dqrr_entry {
	struct sgnic_fd fd;
	struct sgnic_fq *fq;
};

/*
 * A software portal.  Everything below is touched only by its NAPI poll
 * (one CPU at a time, guaranteed by NAPI), the statistics also read by
 * debugfs without a lock.  @doorbell is rung by other portals' polls (and
 * by resume): an interrupt on @cpu that schedules this NAPI there, raised
 * once however often it is rung before it runs.
 */
struct sgnic_portal {
	unsigned int cpu;
	struct sgnic_dev *sd;
	struct napi_struct napi;
	call_single_data_t doorbell;
	cpumask_var_t doorbells;	/* to ring: portals whose Rx FQs this poll filled */
	struct sgnic_dqrr_entry dqrr[SGNIC_DQRR_SIZE];
	unsigned int next_port;		/* round-robin start of the dequeue */
	bool xdp_redirected;		/* this poll redirected: flush at its end */
	u64 polls;
	u64 dequeued;
	u64 fman_frames;
	u32 dqrr_max;			/* most entries seen in one dequeue */
	struct net_device napi_dev;	/* dummy netdev holding the NAPI; last */
};

int sgnic_portals_create(struct sgnic_dev *sd);
void sgnic_portals_destroy(struct sgnic_dev *sd);
void sgnic_portals_quiesce(struct sgnic_dev *sd);
void sgnic_portals_resume(struct sgnic_dev *sd);
void sgnic_portal_kick(struct sgnic_dev *sd, unsigned int cpu);
void sgnic_portal_ring_doorbells(struct sgnic_portal *portal);

/* ---- frame manager (sgnic_fman.c) ---- */

unsigned int sgnic_fman_run(struct sgnic_portal *portal);

/* ---- ethtool and debugfs ---- */

extern const struct ethtool_ops sgnic_ethtool_ops;
void sgnic_debugfs_init(struct sgnic_dev *sd);
void sgnic_debugfs_fini(struct sgnic_dev *sd);
void sgnic_debugfs_port_add(struct sgnic_port *port);
void sgnic_debugfs_port_del(struct sgnic_port *port);

/* ---- the device (sgnic_main.c) ---- */

struct sgnic_dev {
	struct platform_device *pdev;
	struct device *dma_dev;
	unsigned int nports;
	struct sgnic_port *ports[SGNIC_PORTS_MAX];
	struct sgnic_portal **portals;	/* nr_cpu_ids entries, NULL if impossible */
	atomic_t next_fqid;
	struct dentry *ddir;
	struct devlink *devlink;
	bool devlink_live;	/* registered: health reports may be sent */
	u32 rx_buf_len;		/* devlink param, under the devlink lock */
};

/* ---- devlink (sgnic_devlink.c) ---- */

int sgnic_devlink_create(struct sgnic_dev *sd);
void sgnic_devlink_destroy(struct sgnic_dev *sd);
void sgnic_devlink_register(struct sgnic_dev *sd);
void sgnic_devlink_unregister(struct sgnic_dev *sd);
int sgnic_devlink_port_add(struct sgnic_port *port);
void sgnic_devlink_port_del(struct sgnic_port *port);
void sgnic_devlink_fman_error(struct sgnic_port *port, unsigned int cpu,
			      const struct sgnic_fd *fd, enum sgnic_fman_err reason);

#endif /* _SGNIC_H */
