/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim, pre-included (-include) the way kbuild pre-includes the
 * kernel's: what kernel sources use without including anything.
 */
#ifndef _QBSHIM_LINUX_COMPILER_TYPES_H
#define _QBSHIM_LINUX_COMPILER_TYPES_H

#define __same_type(a, b) \
	__builtin_types_compatible_p(__typeof__(a), __typeof__(b))

/*
 * The kernel has it in linux/compiler.h, whose libFuzzer shim (reused
 * here) predates 7.x's ptr_ring.h.  There it only tells KCSAN that a race
 * is intended; there is no KCSAN here.
 */
#define data_race(expr) ({ __auto_type __qbshim_v = (expr); __qbshim_v; })

#endif
