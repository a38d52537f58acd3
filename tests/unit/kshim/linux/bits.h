/* User-space stand-in for <linux/bits.h>, enough for kmod's pure headers. */
#ifndef SGNIC_KSHIM_LINUX_BITS_H
#define SGNIC_KSHIM_LINUX_BITS_H

#define BIT(n) (1U << (n))
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK(h, l) ((~0U << (l)) & (~0U >> (31 - (h))))
#define GENMASK_ULL(h, l) ((~0ULL << (l)) & (~0ULL >> (63 - (h))))

#endif
