// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module for the VM harness's own tests: it misbehaves on request
 * so that tests/vm/selftest can prove the harness notices.
 *   init_errno=N  init fails with -N
 *   warn=1        init triggers a kernel WARNING
 */
#include <linux/bug.h>
#include <linux/module.h>

static int init_errno;
module_param(init_errno, int, 0444);
MODULE_PARM_DESC(init_errno, "fail module init with -init_errno");

static bool warn;
module_param(warn, bool, 0444);
MODULE_PARM_DESC(warn, "emit a kernel WARNING from module init");

static int __init sgnic_vmselftest_init(void)
{
	WARN(warn, "sgnic_vmselftest: WARNING requested by the test\n");
	return -init_errno;
}

static void __exit sgnic_vmselftest_exit(void)
{
}

module_init(sgnic_vmselftest_init);
module_exit(sgnic_vmselftest_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("sgnic VM harness self-test module");
