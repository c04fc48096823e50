/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: bit helpers.  BITS_PER_LONG defaults to the host's; build
 * with -DWGSHIM_BITS_PER_LONG=32 to emulate a 32-bit kernel's word size on
 * a 64-bit host (each unsigned long then only uses its low 32 bits).
 */
#ifndef _WGSHIM_LINUX_BITS_H
#define _WGSHIM_LINUX_BITS_H

#ifdef WGSHIM_BITS_PER_LONG
#define BITS_PER_LONG		WGSHIM_BITS_PER_LONG
#else
#define BITS_PER_LONG		(__SIZEOF_LONG__ * 8)
#endif
_Static_assert(BITS_PER_LONG <= __SIZEOF_LONG__ * 8, "BITS_PER_LONG");

#define BITS_PER_BYTE		8
#define BIT(nr)			(1UL << (nr))
#define BIT_ULL(nr)		(1ULL << (nr))
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)

#endif
