/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: lockdep reduced to what a single-threaded harness can
 * check, that the lock a writer names is the one the caller holds.
 */
#ifndef _WGSHIM_LINUX_LOCKDEP_H
#define _WGSHIM_LINUX_LOCKDEP_H

#include <linux/bug.h>

#define lockdep_is_held(lock)	((lock)->wgshim_held != 0)
#define lockdep_assert_held(lock) \
	do { if (!lockdep_is_held(lock)) \
		wgshim_bug(__FILE__, __LINE__, "lock not held: " #lock); } while (0)

#endif
