// SPDX-License-Identifier: GPL-2.0
/*
 * sgnic: module entry points.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/init.h>
#include <linux/module.h>

#include "sgnic.h"

static int __init sgnic_init(void)
{
	pr_info("version %s loaded\n", SGNIC_DRV_VERSION);
	return 0;
}

static void __exit sgnic_exit(void)
{
	pr_info("unloaded\n");
}

module_init(sgnic_init);
module_exit(sgnic_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sgnic: simulated DPAA-style NIC with hardware steering model");
MODULE_VERSION(SGNIC_DRV_VERSION);
MODULE_AUTHOR("sgnic developers");
