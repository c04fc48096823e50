/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace shim: unaligned big-endian loads and stores. */
#ifndef _WGSHIM_ASM_UNALIGNED_H
#define _WGSHIM_ASM_UNALIGNED_H

#include <linux/types.h>
#include <asm/byteorder.h>

static inline u32 get_unaligned_be32(const void *p)
{
	u32 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return be32_to_cpu(v);
}

static inline u64 get_unaligned_be64(const void *p)
{
	u64 v;

	__builtin_memcpy(&v, p, sizeof(v));
	return be64_to_cpu(v);
}

static inline void put_unaligned_be32(u32 val, void *p)
{
	__be32 v = cpu_to_be32(val);

	__builtin_memcpy(p, &v, sizeof(v));
}

static inline void put_unaligned_be64(u64 val, void *p)
{
	__be64 v = cpu_to_be64(val);

	__builtin_memcpy(p, &v, sizeof(v));
}

#endif
