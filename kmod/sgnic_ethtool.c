// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: ethtool.  -S shows totals, pool state and then every counter per
 * CPU; -g reports the pool and Tx FQ sizes and changes the pool buffer size
 * (rx-buf-len); -l reports the portals; -i names the driver.
 */
#include <linux/ethtool.h>
#include <linux/netdevice.h>
#include <linux/stringify.h>

#include "sgnic.h"
#include "sgnic_steer.h"

static const char * const sgnic_ethtool_stat_names[SGNIC_STAT_NUM] = {
	[SGNIC_STAT_RX_PACKETS] = "rx_packets",
	[SGNIC_STAT_RX_BYTES] = "rx_bytes",
	[SGNIC_STAT_TX_PACKETS] = "tx_packets",
	[SGNIC_STAT_TX_BYTES] = "tx_bytes",
	[SGNIC_STAT_TX_SG] = "tx_sg",
	[SGNIC_STAT_TX_LINEARIZED] = "tx_linearized",
	[SGNIC_STAT_RX_SG] = "rx_sg",
	[SGNIC_STAT_RX_NOBUF] = "rx_nobuf",
	[SGNIC_STAT_TX_CONFIRM] = "tx_confirm",
	[SGNIC_STAT_TX_ERRORS] = "tx_errors",
	[SGNIC_STAT_TX_DROPPED] = "tx_dropped",
	[SGNIC_STAT_TX_ENQ_BUSY] = "tx_enq_busy",
	[SGNIC_STAT_RX_ERRORS] = "rx_errors",
	[SGNIC_STAT_RX_DROPPED] = "rx_dropped",
	[SGNIC_STAT_RX_SG_EXT] = "rx_sg_ext",
	[SGNIC_STAT_RX_CSUM_OK] = "rx_csum_ok",
	[SGNIC_STAT_TX_TSO] = "tx_tso",
	[SGNIC_STAT_TX_DOORBELLS] = "tx_doorbells",
	[SGNIC_STAT_RX_XDP_PASS] = "rx_xdp_pass",
	[SGNIC_STAT_RX_XDP_DROP] = "rx_xdp_drop",
	[SGNIC_STAT_RX_XDP_TX] = "rx_xdp_tx",
	[SGNIC_STAT_RX_XDP_TX_ERRORS] = "rx_xdp_tx_errors",
	[SGNIC_STAT_RX_XDP_REDIRECT] = "rx_xdp_redirect",
	[SGNIC_STAT_RX_XDP_REDIRECT_ERRORS] = "rx_xdp_redirect_errors",
	[SGNIC_STAT_RX_XDP_ABORTED] = "rx_xdp_aborted",
	[SGNIC_STAT_TX_XDP_XMIT] = "tx_xdp_xmit",
	[SGNIC_STAT_TX_XDP_XMIT_ERRORS] = "tx_xdp_xmit_errors",
	[SGNIC_STAT_RX_GRO] = "rx_gro",
	[SGNIC_STAT_RX_GRO_SEGS] = "rx_gro_segs",
};

static const char * const sgnic_ethtool_pool_names[] = {
	"pool_avail",		/* buffers in the hardware pool now */
	"pool_count",		/* sum of the per-CPU counts */
	"pool_acquire_failed",	/* frame manager found too few buffers */
};

#define SGNIC_ETHTOOL_PER_CPU	(SGNIC_STAT_NUM + 1)	/* + pool count */

static int sgnic_ethtool_sset_count(struct net_device *netdev, int sset)
{
	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return SGNIC_STAT_NUM + ARRAY_SIZE(sgnic_ethtool_pool_names) +
	       num_possible_cpus() * SGNIC_ETHTOOL_PER_CPU + sgnic_steer_ethtool_count();
}

static void sgnic_ethtool_get_strings(struct net_device *netdev, u32 sset, u8 *data)
{
	unsigned int cpu, i;

	if (sset != ETH_SS_STATS)
		return;
	for (i = 0; i < SGNIC_STAT_NUM; i++)
		ethtool_sprintf(&data, "%s", sgnic_ethtool_stat_names[i]);
	for (i = 0; i < ARRAY_SIZE(sgnic_ethtool_pool_names); i++)
		ethtool_sprintf(&data, "%s", sgnic_ethtool_pool_names[i]);
	for_each_possible_cpu(cpu) {
		for (i = 0; i < SGNIC_STAT_NUM; i++)
			ethtool_sprintf(&data, "cpu%u_%s", cpu,
					sgnic_ethtool_stat_names[i]);
		ethtool_sprintf(&data, "cpu%u_pool_count", cpu);
	}
	sgnic_steer_ethtool_strings(&data);
}

static void sgnic_ethtool_get_stats(struct net_device *netdev,
				    struct ethtool_stats *estats, u64 *data)
{
	struct sgnic_port *port = netdev_priv(netdev);
	u64 *total = data, *percpu;
	struct sgnic_stats s;
	unsigned int cpu, i;

	memset(total, 0, SGNIC_STAT_NUM * sizeof(*total));
	data[SGNIC_STAT_NUM] = sgnic_bpool_avail(&port->bpool);
	data[SGNIC_STAT_NUM + 1] = sgnic_bpool_count_sum(&port->bpool);
	data[SGNIC_STAT_NUM + 2] = READ_ONCE(port->bpool.acquire_failed);
	percpu = data + SGNIC_STAT_NUM + ARRAY_SIZE(sgnic_ethtool_pool_names);
	for_each_possible_cpu(cpu) {
		sgnic_stats_read(port, cpu, &s);
		memcpy(percpu, s.v, sizeof(s.v));
		percpu[SGNIC_STAT_NUM] = READ_ONCE(*per_cpu_ptr(port->bpool.count, cpu));
		for (i = 0; i < SGNIC_STAT_NUM; i++)
			total[i] += percpu[i];
		percpu += SGNIC_ETHTOOL_PER_CPU;
	}
	sgnic_steer_ethtool_stats(port, percpu);
}

static void sgnic_ethtool_get_drvinfo(struct net_device *netdev,
				      struct ethtool_drvinfo *info)
{
	struct sgnic_port *port = netdev_priv(netdev);

	strscpy(info->driver, SGNIC_DRV_NAME, sizeof(info->driver));
	strscpy(info->version, SGNIC_DRV_VERSION, sizeof(info->version));
	strscpy(info->bus_info, dev_name(&port->sd->pdev->dev),
		sizeof(info->bus_info));
}

static u32 sgnic_ethtool_rx_pending(void)
{
	return SGNIC_BPOOL_SEED_PER_CPU * num_online_cpus();
}

static void sgnic_ethtool_get_ringparam(struct net_device *netdev,
					struct ethtool_ringparam *ring,
					struct kernel_ethtool_ringparam *kring,
					struct netlink_ext_ack *extack)
{
	struct sgnic_port *port = netdev_priv(netdev);

	ring->rx_max_pending = sgnic_ethtool_rx_pending();
	ring->rx_pending = ring->rx_max_pending;
	ring->tx_max_pending = SGNIC_FQ_TX_DEPTH;
	ring->tx_pending = SGNIC_FQ_TX_DEPTH;
	kring->rx_buf_len = port->bpool.buf_len;
}

static int sgnic_ethtool_set_ringparam(struct net_device *netdev,
				       struct ethtool_ringparam *ring,
				       struct kernel_ethtool_ringparam *kring,
				       struct netlink_ext_ack *extack)
{
	struct sgnic_port *port = netdev_priv(netdev);

	if (ring->rx_pending != sgnic_ethtool_rx_pending() ||
	    ring->tx_pending != SGNIC_FQ_TX_DEPTH ||
	    ring->rx_mini_pending || ring->rx_jumbo_pending) {
		NL_SET_ERR_MSG_MOD(extack, "only rx-buf-len can be changed");
		return -EINVAL;
	}
	if (kring->rx_buf_len < SGNIC_RX_BUF_LEN_MIN ||
	    kring->rx_buf_len > SGNIC_RX_BUF_LEN_MAX) {
		NL_SET_ERR_MSG_MOD(extack, "rx-buf-len must be "
				   __stringify(SGNIC_RX_BUF_LEN_MIN) ".."
				   __stringify(SGNIC_RX_BUF_LEN_MAX));
		return -EINVAL;
	}
	return sgnic_port_set_rx_buf_len(port, kring->rx_buf_len, extack);
}

static void sgnic_ethtool_get_channels(struct net_device *netdev,
				       struct ethtool_channels *ch)
{
	/* One Tx and one Rx queue per CPU, served by its portal: a combined channel. */
	ch->max_combined = netdev->real_num_rx_queues;
	ch->combined_count = netdev->real_num_rx_queues;
}

const struct ethtool_ops sgnic_ethtool_ops = {
	.supported_ring_params	= ETHTOOL_RING_USE_RX_BUF_LEN,
	.get_drvinfo		= sgnic_ethtool_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_sset_count		= sgnic_ethtool_sset_count,
	.get_strings		= sgnic_ethtool_get_strings,
	.get_ethtool_stats	= sgnic_ethtool_get_stats,
	.get_ringparam		= sgnic_ethtool_get_ringparam,
	.set_ringparam		= sgnic_ethtool_set_ringparam,
	.get_channels		= sgnic_ethtool_get_channels,
};
