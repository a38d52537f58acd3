// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: module entry points.  The module registers one platform device,
 * the "bus" the simulated hardware sits on and the device every DMA mapping
 * is made for, builds a portal per CPU and then the port pairs, and shows
 * the whole as one devlink instance, registered last.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/dma-mapping.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/rtnetlink.h>

#include "sgnic.h"
#include "sgnic_nl.h"
#include "sgnic_steer.h"

static unsigned int pairs = SGNIC_PAIRS_DEFAULT;
module_param(pairs, uint, 0444);
MODULE_PARM_DESC(pairs, "port pairs sgnic0/sgnic1, ... to create (1-"
		 __stringify(SGNIC_PAIRS_MAX) ", default "
		 __stringify(SGNIC_PAIRS_DEFAULT) ")");

static struct sgnic_dev *sgnic_the_dev;

static void sgnic_ports_destroy(struct sgnic_dev *sd, unsigned int registered)
{
	unsigned int i;

	for (i = 0; i < registered; i++)
		sgnic_port_unregister(sd->ports[i]);
	for (i = 0; i < sd->nports; i++)
		sgnic_port_destroy(sd->ports[i]);
	sd->nports = 0;
}

static int sgnic_ports_create(struct sgnic_dev *sd, unsigned int nports)
{
	struct sgnic_port *port;
	unsigned int i, registered = 0;
	int err;

	for (i = 0; i < nports; i++) {
		port = sgnic_port_create(sd, i);
		if (IS_ERR(port)) {
			err = PTR_ERR(port);
			goto port_create_failed;
		}
		sd->ports[sd->nports++] = port;
	}
	/* Back to back: 0-1, 2-3, ... */
	for (i = 0; i < nports; i++)
		sd->ports[i]->peer = sd->ports[i ^ 1];
	for (registered = 0; registered < nports; registered++) {
		err = sgnic_port_register(sd->ports[registered]);
		if (err)
			goto port_register_failed;
	}
	return 0;

port_register_failed:
	pr_err("cannot register %s: %d\n", sd->ports[registered]->netdev->name, err);
port_create_failed:
	sgnic_ports_destroy(sd, registered);
	return err;
}

/*
 * The frame manager is the CPU: it reads and writes memory through the CPU
 * caches, so the simulated device is cache-coherent (like an FMan on a
 * coherent interconnect).  Said where the architecture keeps track of it
 * (arm64 and others without coherent DMA by default), so that unmapping a
 * received buffer never invalidates what the frame manager wrote into it.
 */
static void sgnic_dev_set_dma_coherent(struct device *dev)
{
#if defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_DEVICE) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU) || \
	defined(CONFIG_ARCH_HAS_SYNC_DMA_FOR_CPU_ALL)
	dev->dma_coherent = true;
#endif
}

static int __init sgnic_init(void)
{
	struct sgnic_dev *sd;
	int err;

	if (pairs < 1 || pairs > SGNIC_PAIRS_MAX) {
		pr_err("pairs=%u out of range 1..%u\n", pairs, SGNIC_PAIRS_MAX);
		return -EINVAL;
	}

	sd = kzalloc(sizeof(*sd), GFP_KERNEL);
	if (!sd) {
		err = -ENOMEM;
		goto dev_alloc_failed;
	}
	sd->pdev = platform_device_register_simple(SGNIC_DRV_NAME, PLATFORM_DEVID_NONE,
						   NULL, 0);
	if (IS_ERR(sd->pdev)) {
		err = PTR_ERR(sd->pdev);
		goto pdev_register_failed;
	}
	sd->dma_dev = &sd->pdev->dev;
	sgnic_dev_set_dma_coherent(sd->dma_dev);
	/* The FD and S/G entries carry 40 address bits: so does the "hardware". */
	err = dma_set_mask_and_coherent(sd->dma_dev, DMA_BIT_MASK(SGNIC_ADDR_BITS));
	if (err)
		goto dma_mask_failed;
	sgnic_debugfs_init(sd);
	err = sgnic_steer_init();
	if (err)
		goto steer_init_failed;
	err = sgnic_devlink_create(sd);
	if (err)
		goto devlink_create_failed;
	err = sgnic_portals_create(sd);
	if (err)
		goto portals_create_failed;
	err = sgnic_ports_create(sd, 2 * pairs);
	if (err)
		goto ports_create_failed;
	err = sgnic_nl_init(sd);
	if (err)
		goto nl_init_failed;

	sgnic_devlink_register(sd);
	sgnic_the_dev = sd;
	pr_info("version %s loaded, %u pair(s), %u portal(s)\n", SGNIC_DRV_VERSION,
		pairs, num_possible_cpus());
	return 0;

nl_init_failed:
	sgnic_ports_destroy(sd, sd->nports);
ports_create_failed:
	sgnic_portals_destroy(sd);
portals_create_failed:
	sgnic_devlink_destroy(sd);
devlink_create_failed:
	sgnic_steer_fini();
steer_init_failed:
	sgnic_debugfs_fini(sd);
dma_mask_failed:
	platform_device_unregister(sd->pdev);
pdev_register_failed:
	kfree(sd);
dev_alloc_failed:
	return err;
}

static void __exit sgnic_exit(void)
{
	struct sgnic_dev *sd = sgnic_the_dev;
	unsigned int i;

	sgnic_devlink_unregister(sd);
	sgnic_nl_fini();
	/* Unregistering closes each port, which flushes its queues. */
	for (i = 0; i < sd->nports; i++)
		sgnic_port_unregister(sd->ports[i]);
	sgnic_portals_destroy(sd);
	for (i = 0; i < sd->nports; i++)
		sgnic_port_destroy(sd->ports[i]);
	sgnic_devlink_destroy(sd);
	sgnic_steer_fini();
	sgnic_debugfs_fini(sd);
	platform_device_unregister(sd->pdev);
	kfree(sd);
	pr_info("unloaded\n");
}

module_init(sgnic_init);
module_exit(sgnic_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sgnic: simulated DPAA-style NIC with hardware steering model");
MODULE_VERSION(SGNIC_DRV_VERSION);
MODULE_AUTHOR("sgnic developers");
