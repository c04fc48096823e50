/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: spinlock_t as a test-and-test-and-set lock on GCC
 * atomics: acquire exchange to take it, release store to drop it, as the
 * kernel's uncontended fast path does (a qspinlock is a locked cmpxchg
 * and a byte store).
 *
 * One difference cannot be shimmed away: a kernel lock holder is never
 * preempted (spin_lock() disables preemption), a thread here can be.  A
 * waiter on the same CPU would then spin out its whole time slice, so
 * after QBSHIM_LOCK_SPINS polls it yields the CPU.  No interrupts here:
 * the _irq, _bh and _irqsave forms are the plain one.
 */
#ifndef _QBSHIM_LINUX_SPINLOCK_H
#define _QBSHIM_LINUX_SPINLOCK_H

#include <sched.h>

#include <asm/processor.h>

#define QBSHIM_LOCK_SPINS	1024

typedef struct {
	int locked;
} spinlock_t;

static inline void spin_lock_init(spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELAXED);
}

static inline void spin_lock(spinlock_t *lock)
{
	unsigned int polls = 0;

	while (__atomic_exchange_n(&lock->locked, 1, __ATOMIC_ACQUIRE)) {
		/* Poll with plain loads: no line stolen from the holder. */
		while (__atomic_load_n(&lock->locked, __ATOMIC_RELAXED)) {
			if (++polls % QBSHIM_LOCK_SPINS)
				cpu_relax();
			else
				sched_yield();
		}
	}
}

static inline void spin_unlock(spinlock_t *lock)
{
	__atomic_store_n(&lock->locked, 0, __ATOMIC_RELEASE);
}

#define spin_lock_irq(lock)			spin_lock(lock)
#define spin_unlock_irq(lock)			spin_unlock(lock)
#define spin_lock_bh(lock)			spin_lock(lock)
#define spin_unlock_bh(lock)			spin_unlock(lock)
#define spin_lock_irqsave(lock, flags) \
	do { (flags) = 0; spin_lock(lock); } while (0)
#define spin_unlock_irqrestore(lock, flags) \
	do { (void)(flags); spin_unlock(lock); } while (0)

#endif
