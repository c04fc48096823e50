/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: min/max, container_of and friends. */
#ifndef _WGSHIM_LINUX_KERNEL_H
#define _WGSHIM_LINUX_KERNEL_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/bits.h>
#include <linux/bug.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <asm/byteorder.h>

/* Like the kernel's, these want both sides of the same type. */
#define min(a, b) ({							\
	__typeof__(a) __wgshim_a = (a);					\
	__typeof__(b) __wgshim_b = (b);					\
	(void)(&__wgshim_a == &__wgshim_b);				\
	__wgshim_a < __wgshim_b ? __wgshim_a : __wgshim_b;		\
})
#define max(a, b) ({							\
	__typeof__(a) __wgshim_a = (a);					\
	__typeof__(b) __wgshim_b = (b);					\
	(void)(&__wgshim_a == &__wgshim_b);				\
	__wgshim_a > __wgshim_b ? __wgshim_a : __wgshim_b;		\
})
#define min3(a, b, c) ({						\
	__typeof__(a) __wgshim_x = (a);					\
	__typeof__(b) __wgshim_y = (b);					\
	__typeof__(c) __wgshim_z = (c);					\
	(void)(&__wgshim_x == &__wgshim_y);				\
	(void)(&__wgshim_x == &__wgshim_z);				\
	__wgshim_x < __wgshim_y ?					\
		(__wgshim_x < __wgshim_z ? __wgshim_x : __wgshim_z) :	\
		(__wgshim_y < __wgshim_z ? __wgshim_y : __wgshim_z);	\
})

#define DIV_ROUND_UP(n, d)	(((n) + (d) - 1) / (d))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define IS_ENABLED(option)	0

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#endif
