/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace shim: slab caches and kmalloc on top of malloc.  A cache counts
 * its live objects and destroying it with objects left is a bug.  The
 * harness injects allocation failures with wgshim_fail_alloc_in: when it is
 * n > 0, the n-th allocation from now fails.
 */
#ifndef _WGSHIM_LINUX_SLAB_H
#define _WGSHIM_LINUX_SLAB_H

#include <linux/types.h>
#include <linux/errno.h>
#include <linux/gfp.h>

struct kmem_cache {
	const char *name;
	size_t size;
	long live;
};

extern long wgshim_fail_alloc_in;

struct kmem_cache *wgshim_kmem_cache_create(const char *name, size_t size);
#define KMEM_CACHE(s, flags) wgshim_kmem_cache_create(#s, sizeof(struct s))
void kmem_cache_destroy(struct kmem_cache *cache);
void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp);
void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp);
void kmem_cache_free(struct kmem_cache *cache, void *obj);

void *kmalloc(size_t size, gfp_t gfp);
void *kzalloc(size_t size, gfp_t gfp);
void kfree(const void *obj);

#endif
