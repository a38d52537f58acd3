/* User-space stand-in for <linux/string.h>. */
#ifndef SGNIC_KSHIM_LINUX_STRING_H
#define SGNIC_KSHIM_LINUX_STRING_H

#include <string.h>

#endif
