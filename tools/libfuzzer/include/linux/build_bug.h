/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: static_assert() with an optional message. */
#ifndef _WGSHIM_LINUX_BUILD_BUG_H
#define _WGSHIM_LINUX_BUILD_BUG_H

#define static_assert(expr, ...) \
	__wgshim_static_assert(expr, ##__VA_ARGS__, #expr)
#define __wgshim_static_assert(expr, msg, ...) _Static_assert(expr, msg)

#endif
