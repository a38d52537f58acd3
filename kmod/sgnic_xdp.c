// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: XDP.  A port runs its program on each received frame before an skb
 * exists: on the pool buffer of a contiguous FD, and (programs with frags
 * support) on the buffers of an S/G FD as one multi-buffer xdp_buff.
 * XDP_TX sends the frame back out of the port it came in on, a redirect to
 * an sgnic port arrives through ndo_xdp_xmit; both leave as Tx FDs on the
 * Tx FQ of the current CPU, recorded in the Tx shadow like any frame.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bpf_trace.h>
#include <linux/filter.h>
#include <linux/rtnetlink.h>

#include "sgnic.h"

/*
 * Whether @prog may run on a port with @mtu and @buf_len: a program without
 * frags support sees only contiguous frames, so every frame must fit one
 * buffer.
 */
static bool sgnic_xdp_fits(const struct bpf_prog *prog, u32 mtu, u32 buf_len)
{
	return !prog || prog->aux->xdp_has_frags || sgnic_rx_contig_only(mtu, buf_len);
}

bool sgnic_port_xdp_allows(struct sgnic_port *port, u32 mtu, u32 buf_len)
{
	ASSERT_RTNL();
	return sgnic_xdp_fits(rtnl_dereference(port->xdp_prog), mtu, buf_len);
}

static int sgnic_xdp_setup(struct sgnic_port *port, struct bpf_prog *prog,
			   struct netlink_ext_ack *extack)
{
	struct bpf_prog *old;

	if (!sgnic_xdp_fits(prog, port->netdev->mtu, port->bpool.buf_len)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "frames of this MTU span several receive buffers (S/G): the program needs frags support (SEC(\"xdp.frags\")), or an MTU of at most rx-buf-len - 18");
		return -EOPNOTSUPP;
	}
	old = rcu_replace_pointer(port->xdp_prog, prog, lockdep_rtnl_is_held());
	/* The Rx path may still run @old: bpf_prog_put() frees it after RCU. */
	if (old)
		bpf_prog_put(old);
	/* rx-gro-hw goes off while a program runs, back on after (if asked). */
	if (!old != !prog)
		netdev_update_features(port->netdev);
	return 0;
}

int sgnic_port_bpf(struct net_device *netdev, struct netdev_bpf *bpf)
{
	struct sgnic_port *port = netdev_priv(netdev);

	switch (bpf->command) {
	case XDP_SETUP_PROG:
		return sgnic_xdp_setup(port, bpf->prog, bpf->extack);
	default:
		return -EINVAL;
	}
}

/* XDP_TX: the frame leaves through @port's Tx FQ of this CPU. */
static bool sgnic_xdp_tx(struct sgnic_port *port, unsigned int cpu,
			 struct xdp_buff *xdp)
{
	struct xdp_frame *xdpf = xdp_convert_buff_to_frame(xdp);
	unsigned int q = cpu % port->netdev->real_num_tx_queues;
	struct netdev_queue *txq = netdev_get_tx_queue(port->netdev, q);
	int err;

	if (unlikely(!xdpf))
		return false;
	/* The stack's transmit shares the FQ and its shadow: its lock orders them. */
	__netif_tx_lock(txq, cpu);
	err = sgnic_port_tx_xdp(port, q, xdpf);
	__netif_tx_unlock(txq);
	return !err;
}

/*
 * Runs @port's program @prog on the frame in @xdp, received by the portal of
 * @portal.  True if the frame goes on to the stack (XDP_PASS; @xdp says where
 * it starts and ends now); otherwise its buffers are gone: sent, redirected,
 * or given back.
 */
bool sgnic_xdp_rx(struct sgnic_portal *portal, struct sgnic_port *port,
		  struct bpf_prog *prog, struct xdp_buff *xdp)
{
	struct net_device *netdev = port->netdev;
	u32 act = bpf_prog_run_xdp(prog, xdp);

	switch (act) {
	case XDP_PASS:
		sgnic_stats_add(port, SGNIC_STAT_RX_XDP_PASS, 1);
		return true;
	case XDP_TX:
		if (likely(sgnic_xdp_tx(port, portal->cpu, xdp))) {
			sgnic_stats_add(port, SGNIC_STAT_RX_XDP_TX, 1);
			return false;
		}
		sgnic_stats_add(port, SGNIC_STAT_RX_XDP_TX_ERRORS, 1);
		trace_xdp_exception(netdev, prog, act);
		break;
	case XDP_REDIRECT:
		if (likely(!xdp_do_redirect(netdev, xdp, prog))) {
			portal->xdp_redirected = true;
			sgnic_stats_add(port, SGNIC_STAT_RX_XDP_REDIRECT, 1);
			return false;
		}
		sgnic_stats_add(port, SGNIC_STAT_RX_XDP_REDIRECT_ERRORS, 1);
		trace_xdp_exception(netdev, prog, act);
		break;
	case XDP_DROP:
		sgnic_stats_add(port, SGNIC_STAT_RX_XDP_DROP, 1);
		break;
	default:
		bpf_warn_invalid_xdp_action(netdev, prog, act);
		fallthrough;
	case XDP_ABORTED:
		trace_xdp_exception(netdev, prog, act);
		sgnic_stats_add(port, SGNIC_STAT_RX_XDP_ABORTED, 1);
		break;
	}
	sgnic_port_rx_release(port, xdp);
	return false;
}

/*
 * ndo_xdp_xmit: frames redirected to @netdev leave through its Tx FQ of this
 * CPU.  Returns how many were queued; the caller frees the others.
 */
int sgnic_port_xdp_xmit(struct net_device *netdev, int n,
			struct xdp_frame **frames, u32 flags)
{
	struct sgnic_port *port = netdev_priv(netdev);
	unsigned int cpu = smp_processor_id();
	unsigned int q = cpu % netdev->real_num_tx_queues;
	struct netdev_queue *txq = netdev_get_tx_queue(netdev, q);
	int i = 0;

	if (unlikely(flags & ~XDP_XMIT_FLAGS_MASK))
		return -EINVAL;
	__netif_tx_lock(txq, cpu);
	/* Under the lock: the stop flushes the FQs after it saw no sender here. */
	if (likely(READ_ONCE(port->up) && netif_carrier_ok(netdev)))
		for (; i < n; i++)
			if (sgnic_port_tx_xdp(port, q, frames[i]))
				break;
	__netif_tx_unlock(txq);
	sgnic_stats_add(port, SGNIC_STAT_TX_XDP_XMIT, i);
	if (i < n)
		sgnic_stats_add(port, SGNIC_STAT_TX_XDP_XMIT_ERRORS, n - i);
	if (flags & XDP_XMIT_FLUSH)
		sgnic_portal_kick(port->sd, q);
	return i;
}
