/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: the kernel's SMP barriers as C11-model fences and
 * accesses (GCC __atomic builtins).  Each is at least as strong as the
 * kernel's: smp_rmb()/smp_wmb() become acquire/release fences, which also
 * order loads against later stores; on x86 all but smp_mb() compile to
 * nothing, as the kernel's do.
 */
#ifndef _QBSHIM_ASM_BARRIER_H
#define _QBSHIM_ASM_BARRIER_H

#define barrier()		__asm__ __volatile__("" : : : "memory")
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)

#define smp_load_acquire(p)	__atomic_load_n(p, __ATOMIC_ACQUIRE)
#define smp_store_release(p, v)	__atomic_store_n(p, v, __ATOMIC_RELEASE)

#endif
