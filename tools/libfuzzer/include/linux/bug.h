/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: a kernel WARN or BUG is a failed invariant, so under the
 * fuzzer every one of them aborts.
 */
#ifndef _WGSHIM_LINUX_BUG_H
#define _WGSHIM_LINUX_BUG_H

void wgshim_bug(const char *file, int line, const char *what)
	__attribute__((__noreturn__));

#define BUG()		wgshim_bug(__FILE__, __LINE__, "BUG()")
#define BUG_ON(cond) \
	do { if (cond) wgshim_bug(__FILE__, __LINE__, "BUG_ON(" #cond ")"); } while (0)
#define WARN_ON(cond) ({						\
	bool __wgshim_c = !!(cond);					\
	if (__wgshim_c)							\
		wgshim_bug(__FILE__, __LINE__, "WARN_ON(" #cond ")");	\
	__wgshim_c;							\
})
#define WARN_ON_ONCE(cond)	WARN_ON(cond)

#endif
