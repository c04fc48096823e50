/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: atomic_t and xchg with the kernel's ordering.  The
 * non-returning atomic_add() and atomic_read()/atomic_set() are unordered
 * (relaxed); xchg() is a full barrier, xchg_release() a release.
 */
#ifndef _QBSHIM_LINUX_ATOMIC_H
#define _QBSHIM_LINUX_ATOMIC_H

#include <asm/barrier.h>

typedef struct {
	int counter;
} atomic_t;

#define ATOMIC_INIT(i)	{ (i) }

static inline int atomic_read(const atomic_t *v)
{
	return __atomic_load_n(&v->counter, __ATOMIC_RELAXED);
}

static inline void atomic_set(atomic_t *v, int i)
{
	__atomic_store_n(&v->counter, i, __ATOMIC_RELAXED);
}

/* Wraps like the kernel's (-fno-strict-overflow there; defined here). */
static inline void atomic_add(int i, atomic_t *v)
{
	(void)__atomic_fetch_add(&v->counter, i, __ATOMIC_RELAXED);
}

#define xchg(p, v)		__atomic_exchange_n(p, v, __ATOMIC_SEQ_CST)
#define xchg_release(p, v)	__atomic_exchange_n(p, v, __ATOMIC_RELEASE)

#endif
