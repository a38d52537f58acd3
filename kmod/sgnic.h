/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sgnic: simulated DPAA-style NIC with a hardware steering model.
 * Shared declarations of the module's parts.
 */
#ifndef _SGNIC_H
#define _SGNIC_H

#define SGNIC_DRV_NAME		"sgnic"
#define SGNIC_DRV_VERSION	"0.1.0"

#endif /* _SGNIC_H */
