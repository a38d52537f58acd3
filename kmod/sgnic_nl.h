/* SPDX-License-Identifier: GPL-2.0 */
/* sgnic: the "sgnic" generic netlink family (proto/sgnic.yaml). */
#ifndef _SGNIC_NL_H
#define _SGNIC_NL_H

struct sgnic_dev;

int sgnic_nl_init(struct sgnic_dev *sd);
void sgnic_nl_fini(void);

#endif /* _SGNIC_NL_H */
