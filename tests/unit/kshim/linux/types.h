/* User-space stand-in for <linux/types.h>: kernel integer names on top of
 * the uapi ones. */
#ifndef SGNIC_KSHIM_LINUX_TYPES_H
#define SGNIC_KSHIM_LINUX_TYPES_H

#include <stdbool.h>
#include <stdint.h>
#include_next <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;

#endif
