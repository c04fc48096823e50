// SPDX-License-Identifier: GPL-2.0
/*
 * Runtime of the userspace shims (include/): bugs abort, RCU callbacks wait
 * for wgshim_rcu_quiesce() with their object poisoned, slab caches count
 * their objects and fail on request.
 */

#include <stdio.h>
#include <stdlib.h>

#include <linux/bug.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WGSHIM_ASAN 1
#include <sanitizer/asan_interface.h>
#endif
#endif

void wgshim_bug(const char *file, int line, const char *what)
{
	fprintf(stderr, "wgshim: %s:%d: %s\n", file, line, what);
	abort();
}

/* RCU */

int wgshim_rcu_read_depth;
void (*wgshim_rcu_publish_hook)(void);

struct wgshim_rcu_cb {
	struct rcu_head *head;
	rcu_callback_t func;
	void *region;
	size_t size;
};

static struct wgshim_rcu_cb *pending;
static size_t npending, cap_pending;
static int in_hook;

void wgshim_rcu_published(void)
{
	/* No nesting: the hook's own readers never publish anything. */
	if (wgshim_rcu_publish_hook && !in_hook) {
		in_hook = 1;
		wgshim_rcu_publish_hook();
		in_hook = 0;
	}
}

void call_rcu(struct rcu_head *head, rcu_callback_t func)
{
	struct wgshim_rcu_cb *cb;

	if (npending == cap_pending) {
		cap_pending = cap_pending ? 2 * cap_pending : 64;
		pending = realloc(pending, cap_pending * sizeof(*pending));
		if (!pending)
			wgshim_bug(__FILE__, __LINE__, "out of memory");
	}
	cb = &pending[npending++];
	cb->head = head;
	cb->func = func;
	cb->region = NULL;
	cb->size = 0;
	/* As in the kernel, the head is overwritten (it may overlay a list). */
	head->next = NULL;
	head->func = func;
#ifdef WGSHIM_ASAN
	{
		char name[8];
		const char *kind = __asan_locate_address(head, name, sizeof(name),
							 &cb->region, &cb->size);

		if (kind && kind[0] == 'h' && cb->region) /* "heap" */
			ASAN_POISON_MEMORY_REGION(cb->region, cb->size);
		else
			cb->region = NULL;
	}
#endif
}

void wgshim_rcu_quiesce(void)
{
	size_t i;

	if (wgshim_rcu_read_depth)
		wgshim_bug(__FILE__, __LINE__, "grace period inside a read section");
	/* Callbacks may queue more callbacks: walk by index. */
	for (i = 0; i < npending; i++) {
		struct wgshim_rcu_cb cb = pending[i];

#ifdef WGSHIM_ASAN
		if (cb.region)
			ASAN_UNPOISON_MEMORY_REGION(cb.region, cb.size);
#endif
		cb.func(cb.head);
	}
	npending = 0;
}

void rcu_barrier(void)
{
	wgshim_rcu_quiesce();
}

void synchronize_rcu(void)
{
	wgshim_rcu_quiesce();
}

/* Slab */

long wgshim_fail_alloc_in;

static bool alloc_fails(void)
{
	if (wgshim_fail_alloc_in > 0 && --wgshim_fail_alloc_in == 0)
		return true;
	return false;
}

struct kmem_cache *wgshim_kmem_cache_create(const char *name, size_t size)
{
	struct kmem_cache *cache;

	if (alloc_fails())
		return NULL;
	cache = calloc(1, sizeof(*cache));
	if (!cache)
		return NULL;
	cache->name = name;
	cache->size = size;
	return cache;
}

void kmem_cache_destroy(struct kmem_cache *cache)
{
	if (!cache)
		return;
	if (cache->live) {
		fprintf(stderr, "wgshim: cache %s destroyed with %ld objects\n",
			cache->name, cache->live);
		wgshim_bug(__FILE__, __LINE__, "kmem_cache_destroy: leak");
	}
	free(cache);
}

void *kmem_cache_alloc(struct kmem_cache *cache, gfp_t gfp)
{
	void *obj;

	(void)gfp;
	if (alloc_fails())
		return NULL;
	obj = malloc(cache->size);
	/* Uninitialised like the kernel's: fill with junk, not zeros. */
	if (obj) {
		__builtin_memset(obj, 0xa5, cache->size);
		cache->live++;
	}
	return obj;
}

void *kmem_cache_zalloc(struct kmem_cache *cache, gfp_t gfp)
{
	void *obj = kmem_cache_alloc(cache, gfp);

	if (obj)
		__builtin_memset(obj, 0, cache->size);
	return obj;
}

void kmem_cache_free(struct kmem_cache *cache, void *obj)
{
	if (!obj)
		return;
	if (cache->live-- <= 0)
		wgshim_bug(__FILE__, __LINE__, "kmem_cache_free: not allocated");
	free(obj);
}

void *kmalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	if (alloc_fails())
		return NULL;
	return malloc(size);
}

void *kzalloc(size_t size, gfp_t gfp)
{
	(void)gfp;
	if (alloc_fails())
		return NULL;
	return calloc(1, size);
}

void kfree(const void *obj)
{
	free((void *)obj);
}
