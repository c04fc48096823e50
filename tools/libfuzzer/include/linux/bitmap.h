/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: bitmaps of unsigned long. */
#ifndef _WGSHIM_LINUX_BITMAP_H
#define _WGSHIM_LINUX_BITMAP_H

#include <linux/bitops.h>

static inline void bitmap_zero(unsigned long *dst, unsigned int nbits)
{
	__builtin_memset(dst, 0, BITS_TO_LONGS(nbits) * sizeof(unsigned long));
}

#endif
