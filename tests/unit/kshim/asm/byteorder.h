/* User-space stand-in for the kernel's <asm/byteorder.h> helpers. */
#ifndef SGNIC_KSHIM_ASM_BYTEORDER_H
#define SGNIC_KSHIM_ASM_BYTEORDER_H

#include <endian.h>
#include <linux/types.h>

static inline __be32 cpu_to_be32(u32 v) { return (__be32)htobe32(v); }
static inline u32 be32_to_cpu(__be32 v) { return be32toh((u32)v); }
static inline __be16 cpu_to_be16(u16 v) { return (__be16)htobe16(v); }
static inline u16 be16_to_cpu(__be16 v) { return be16toh((u16)v); }

#endif
