/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: RCU for one thread.  Pointer loads and stores are plain
 * (acquire/release) accesses.  Callbacks queued by call_rcu() wait for the
 * next grace period, which the harness ends with wgshim_rcu_quiesce() after
 * each operation (rcu_barrier() and synchronize_rcu() end it too); until
 * then the object is poisoned for AddressSanitizer, so any access to it
 * (a writer touching a node it already freed, or a new reader reaching it
 * from the root) is reported.
 *
 * The read-side "lock" is a depth counter, so rcu_dereference() outside a
 * read section and rcu_dereference_protected() without the named lock are
 * caught.  Every publishing store calls wgshim_rcu_publish_hook, where the
 * harness plays a reader that runs between two stores of a writer.
 */
#ifndef _WGSHIM_LINUX_RCUPDATE_H
#define _WGSHIM_LINUX_RCUPDATE_H

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/bug.h>

typedef void (*rcu_callback_t)(struct rcu_head *head);

extern int wgshim_rcu_read_depth;
extern void (*wgshim_rcu_publish_hook)(void);

void call_rcu(struct rcu_head *head, rcu_callback_t func);
void rcu_barrier(void);
void synchronize_rcu(void);
/* Ends the grace period: runs every queued callback. */
void wgshim_rcu_quiesce(void);
void wgshim_rcu_published(void);

static inline void rcu_read_lock(void)
{
	wgshim_rcu_read_depth++;
}

static inline void rcu_read_unlock(void)
{
	if (wgshim_rcu_read_depth-- <= 0)
		wgshim_bug(__FILE__, __LINE__, "unbalanced rcu_read_unlock");
}

#define rcu_read_lock_bh()		rcu_read_lock()
#define rcu_read_unlock_bh()		rcu_read_unlock()
#define rcu_read_lock_held()		(wgshim_rcu_read_depth > 0)
#define rcu_read_lock_bh_held()		(wgshim_rcu_read_depth > 0)

#define rcu_dereference_protected(p, c) ({				\
	if (!(c))							\
		wgshim_bug(__FILE__, __LINE__,				\
			   "rcu_dereference_protected: " #c);		\
	(p);								\
})

#define rcu_dereference_check(p, c) ({					\
	if (!((c) || rcu_read_lock_held()))				\
		wgshim_bug(__FILE__, __LINE__,				\
			   "rcu_dereference outside a read section");	\
	__atomic_load_n(&(p), __ATOMIC_ACQUIRE);			\
})
#define rcu_dereference(p)		rcu_dereference_check(p, 0)
#define rcu_dereference_bh(p)		rcu_dereference_check(p, 0)

#define rcu_assign_pointer(p, v) do {					\
	__typeof__(p) __wgshim_v = (v);					\
	__atomic_store_n(&(p), __wgshim_v, __ATOMIC_RELEASE);		\
	wgshim_rcu_published();						\
} while (0)

#define RCU_INIT_POINTER(p, v) do {					\
	__typeof__(p) __wgshim_v = (v);					\
	__atomic_store_n(&(p), __wgshim_v, __ATOMIC_RELAXED);		\
	wgshim_rcu_published();						\
} while (0)

#endif
