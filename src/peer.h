/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A peer: one remote public key with its allowed IPs and endpoint.
 *
 * Lifetime: a peer is created and removed under the device's update mutex.
 * Removal unlinks it from every lookup structure, waits for one RCU grace
 * period shared by the whole batch being removed, then drops the device's
 * reference; the memory goes back to the kmem_cache one more grace period
 * after the last reference is put, so RCU readers that looked the peer up
 * may still take a reference with wg_peer_get_maybe_zero().
 *
 * Memory budget: at most 1,024 bytes per peer in total, whatever the CPU
 * count, including its allowed-IPs node and hashtable share.  So: a
 * dedicated kmem_cache, nothing per-CPU, no napi_struct, one timer.
 */
#ifndef _WG_PEER_H
#define _WG_PEER_H

#include <linux/cache.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/kref.h>
#include <linux/list.h>
#include <linux/rhashtable-types.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
#include <uapi/linux/wireguard.h>

#include "cookie.h"
#include "noise.h"
#include "queueing.h"
#include "socket.h"
#include "timers.h"

struct wg_device;

/*
 * Where a peer is reached: its address, and the local source address and
 * interface the last exchange used (the sticky source for replies).
 */
struct wg_endpoint {
	union {
		struct sockaddr addr;
		struct sockaddr_in addr4;
		struct sockaddr_in6 addr6;
	};
	union {
		struct in_addr src4;
		struct in6_addr src6;
	};
	int src_if4;
};

struct wg_peer {
	/*
	 * The data path's two queues (mpsc.h, queueing.h), split by writer:
	 * the producers' halves of both on the peer's first cache line, the
	 * consumers' halves on the second, so that an enqueue on one CPU
	 * and a dequeue on another do not take one line from each other at
	 * every packet.  The rest of the two lines holds what only
	 * configuration and teardown touch, rather than padding.
	 */
	struct wg_mpsc_prod tx_prod ____cacheline_aligned_in_smp;
	struct wg_mpsc_prod rx_prod;
	struct rcu_head rcu;
	struct list_head peer_list;	/* device->peer_list, update mutex */

	struct wg_mpsc_cons tx_cons ____cacheline_aligned_in_smp;
	struct wg_mpsc_cons rx_cons;
	struct list_head allowedips_list;

	struct wg_device *device ____cacheline_aligned_in_smp;
	struct rhash_head pubkey_node;	/* device->peer_hashtable */
	struct kref refcount;
	u64 internal_id;

	u8 public_key[WG_KEY_LEN];	/* also the handshake's remote static */
	/* Long-lived handshake state; its transient secrets are allocated. */
	struct wg_noise_handshake handshake;
	struct wg_noise_keypairs keypairs;
	struct wg_cookie latest_cookie;

	rwlock_t endpoint_lock;
	struct wg_endpoint endpoint;
	struct wg_route_cache route_cache;

	/* One timer for all protocol timeouts; see timers.h. */
	struct wg_timers timers;
	/* Requests to the work, stage bits, WG_PEER_RX_READY (stage.h). */
	unsigned long control;		/* enum wg_control_bits */
	u64 last_sent_handshake;	/* coarse boottime, ns */

	/* The rest of the data path; see queueing.h. */
	struct wg_ordered_list tx_ordered;
	struct wg_ordered_list rx_ordered;
	struct work_struct work;	/* control, and every stage (stage.h) */
	struct list_head napi_node;	/* its NAPI instance's ready list */
	u16 napi_index;

	/* Handshake workers and the data path add from different CPUs. */
	atomic64_t rx_bytes, tx_bytes;
	u64 walltime_last_handshake;	/* ns since the epoch; 0: never */
	u16 persistent_keepalive_interval;
	bool is_dead;
};

/*
 * The per-peer ceiling on the peer object itself: what is left of 1,024
 * bytes after an allowed-IPs /32 (a node plus, at worst, one glue node)
 * and the hashtable buckets.  Later parts of the design must fit here.
 *
 * The peer is aligned to the cache line (its queue halves), so its size,
 * and its slab object's, is a whole number of lines: 832 bytes is 13.
 *
 * It holds on PREEMPT_RT too, where a spinlock_t is an rtmutex, 28 bytes
 * more each.  So the peer's short critical sections, the ordered lists'
 * pointer links, the keypair slots' swaps and the cookie's one MAC, use
 * raw_spinlock_t: each is a bounded handful of instructions that never
 * sleeps, allocates or frees (what they unlink is released after the
 * unlock).  endpoint_lock stays an rwlock_t: its writers nest the route
 * cache's lock and release routes.
 */
enum {
	WG_PEER_SIZE_BUDGET = 832,
	/* Kept free for what is still to come; whoever adds it lowers it. */
	WG_PEER_SIZE_RESERVED = 0,
};
#define WG_PEER_SIZE_CHECKED (!IS_ENABLED(CONFIG_DEBUG_SPINLOCK) && \
			      !IS_ENABLED(CONFIG_DEBUG_LOCK_ALLOC) && \
			      !IS_ENABLED(CONFIG_DEBUG_MUTEXES))

int wg_peer_cache_init(void);
void wg_peer_cache_uninit(void);

/*
 * A peer's life, under the device's update lock:
 *  - wg_peer_alloc(): inert, on no list and in no table; its handshake
 *    refuses every message and nothing arms, queues or kicks for it.  Its
 *    peer_list entry is the caller's until activation.  NULL: no memory.
 *  - its key goes into the table, by wg_peer_publish_key() (may fail:
 *    the table can need memory) or by wg_peer_take_key() from a peer with
 *    the same key that is on its way out (cannot fail).  Lookups then find
 *    it, still inert.
 *  - wg_peer_activate(): onto the device's list, handshakes allowed.
 *  - wg_peer_unlink() then wg_peer_remove_finish(); or, for a peer that
 *    was never activated, wg_peer_discard() then wg_peer_remove_finish().
 * The reference kref_init() gives is the device's; remove_finish puts it.
 */
struct wg_peer *wg_peer_alloc(struct wg_device *wg,
			      const u8 public_key[WG_KEY_LEN],
			      const u8 preshared_key[WG_KEY_LEN]);
int wg_peer_publish_key(struct wg_peer *peer);
void wg_peer_take_key(struct wg_peer *old, struct wg_peer *new);
void wg_peer_activate(struct wg_peer *peer);
void wg_peer_discard(struct wg_peer *peer, struct list_head *dead);
/* All three steps at once, or nothing (-ENOSPC, -ENOMEM). */
struct wg_peer *wg_peer_create(struct wg_device *wg,
			       const u8 public_key[WG_KEY_LEN],
			       const u8 preshared_key[WG_KEY_LEN]);

/* Removes one peer (waits for one grace period). */
void wg_peer_remove(struct wg_peer *peer);
/* Removes every peer of @wg sharing one grace period. */
void wg_peer_remove_all(struct wg_device *wg);
/*
 * Batch removal: unlink peers one by one with wg_peer_unlink() onto a
 * private list, then wg_peer_remove_finish() waits once and puts them all.
 */
void wg_peer_unlink(struct wg_peer *peer, struct list_head *dead);
void wg_peer_remove_finish(struct list_head *dead);

struct wg_peer *__must_check wg_peer_get_maybe_zero(struct wg_peer *peer);
static inline struct wg_peer *wg_peer_get(struct wg_peer *peer)
{
	kref_get(&peer->refcount);
	return peer;
}
void wg_peer_put(struct wg_peer *peer);

/* Drops every packet the peer holds; its work and workers are idle. */
void wg_peer_purge_packets(struct wg_peer *peer);
/* Device going down, update lock held: drops what was received. */
void wg_peer_purge_received(struct wg_peer *peer);

#endif /* _WG_PEER_H */
