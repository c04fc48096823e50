/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: the non-atomic bit operations.  Words are unsigned long;
 * when a 32-bit kernel is emulated (WGSHIM_BITS_PER_LONG=32) only their low
 * BITS_PER_LONG bits exist, which is what a 64-bit value passed as an
 * unsigned long keeps on such a kernel.
 */
#ifndef _WGSHIM_LINUX_BITOPS_H
#define _WGSHIM_LINUX_BITOPS_H

#include <linux/types.h>
#include <linux/bits.h>
#include <linux/bug.h>

#define BITS_TO_LONGS(nr)	(((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)

static inline unsigned long wgshim_long(unsigned long word)
{
#if BITS_PER_LONG < __SIZEOF_LONG__ * 8
	word &= (1UL << BITS_PER_LONG) - 1;
#endif
	return word;
}

static inline bool __test_and_set_bit(unsigned long nr,
				      volatile unsigned long *addr)
{
	unsigned long mask = BIT_MASK(nr);
	volatile unsigned long *p = addr + BIT_WORD(nr);
	unsigned long old = *p;

	*p = old | mask;
	return (old & mask) != 0;
}

static inline bool test_bit(unsigned long nr, const volatile unsigned long *addr)
{
	return (addr[BIT_WORD(nr)] & BIT_MASK(nr)) != 0;
}

static inline void __set_bit(unsigned long nr, volatile unsigned long *addr)
{
	addr[BIT_WORD(nr)] |= BIT_MASK(nr);
}

static inline void __clear_bit(unsigned long nr, volatile unsigned long *addr)
{
	addr[BIT_WORD(nr)] &= ~BIT_MASK(nr);
}

/* Index of the most significant set bit; undefined (here: a bug) for 0. */
static inline unsigned long __fls(unsigned long word)
{
	word = wgshim_long(word);
	if (!word)
		wgshim_bug(__FILE__, __LINE__, "__fls(0) is undefined");
	return __SIZEOF_LONG__ * 8 - 1 - __builtin_clzl(word);
}

static inline unsigned int fls64(u64 x)
{
	return x ? 64 - __builtin_clzll(x) : 0;
}

#endif
