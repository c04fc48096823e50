/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: the allocators ptr_ring.h calls, on top of calloc().
 * Not the libFuzzer shim of this header, whose caches count objects and
 * fail on demand in its wgshim.c: here nothing may fail but real
 * exhaustion.  Every allocation is zeroed, so __GFP_ZERO holds.
 */
#ifndef _QBSHIM_LINUX_SLAB_H
#define _QBSHIM_LINUX_SLAB_H

#include <stdlib.h>

#include <linux/types.h>
#include <linux/gfp.h>

/* SLUB's on x86-64: 2^(MAX_PAGE_ORDER + PAGE_SHIFT). */
#define KMALLOC_MAX_SIZE	(1UL << 22)

/* Memory allocation profiling (6.10+): nothing to hook here. */
#define alloc_hooks(call)	(call)

static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	return calloc(n, size);		/* calloc checks n * size */
}

static inline void kfree(const void *p)
{
	free((void *)p);
}

#define kvmalloc_array		kmalloc_array
#define kmalloc_array_noprof	kmalloc_array
#define kvmalloc_array_noprof	kmalloc_array
#define kvfree			kfree

#endif
