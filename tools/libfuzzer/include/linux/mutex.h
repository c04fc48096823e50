/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: a mutex is a held flag (the harness is single-threaded). */
#ifndef _WGSHIM_LINUX_MUTEX_H
#define _WGSHIM_LINUX_MUTEX_H

#include <linux/bug.h>
#include <linux/lockdep.h>

struct mutex {
	int wgshim_held;
};

static inline void mutex_init(struct mutex *lock)
{
	lock->wgshim_held = 0;
}

static inline void mutex_lock(struct mutex *lock)
{
	if (lock->wgshim_held)
		wgshim_bug(__FILE__, __LINE__, "mutex_lock: deadlock");
	lock->wgshim_held = 1;
}

static inline void mutex_unlock(struct mutex *lock)
{
	if (!lock->wgshim_held)
		wgshim_bug(__FILE__, __LINE__, "mutex_unlock: not held");
	lock->wgshim_held = 0;
}

#endif
