// SPDX-License-Identifier: GPL-2.0
/*
 * Peer creation, removal and reference counting (see peer.h for lifetimes).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/slab.h>

#include "allowedips.h"
#include "device.h"
#include "peer.h"
#include "peerlookup.h"
#include "queueing.h"
#include "receive.h"
#include "send.h"
#include "stage.h"
#include "timers.h"

static struct kmem_cache *peer_cache;
/* Module-wide, so the lifetime log names each peer once across devices. */
static atomic64_t peer_counter = ATOMIC64_INIT(0);

int wg_peer_cache_init(void)
{
	/*
	 * The budget is for production kernels: lock debugging grows every
	 * lock, timer and work item the peer holds.
	 */
	BUILD_BUG_ON(WG_PEER_SIZE_CHECKED &&
		     sizeof(struct wg_peer) > WG_PEER_SIZE_BUDGET);
	BUILD_BUG_ON(WG_PEER_SIZE_CHECKED &&
		     sizeof(struct wg_peer) + WG_PEER_SIZE_RESERVED >
		     WG_PEER_SIZE_BUDGET);
	/* Each line of queue halves holds no more than it should (peer.h). */
	BUILD_BUG_ON(offsetof(struct wg_peer, tx_prod) != 0);
	BUILD_BUG_ON(IS_ENABLED(CONFIG_SMP) &&
		     offsetof(struct wg_peer, tx_cons) != SMP_CACHE_BYTES);
	BUILD_BUG_ON(IS_ENABLED(CONFIG_SMP) &&
		     offsetof(struct wg_peer, device) != 2 * SMP_CACHE_BYTES);
	/*
	 * KMEM_CACHE() aligns objects as the struct is, to the cache line, so
	 * the halves' lines are the hardware's too: no SLAB_HWCACHE_ALIGN.
	 */
	peer_cache = KMEM_CACHE(wg_peer, 0);
	return peer_cache ? 0 : -ENOMEM;
}

/* Every peer's RCU free has run: the module's exit waits with rcu_barrier. */
void wg_peer_cache_uninit(void)
{
	kmem_cache_destroy(peer_cache);
}

/*
 * Peers are born inert (see peer.h): a configuration request makes every
 * peer it needs before it changes anything, and only the request's commit
 * brings them to life.
 */
struct wg_peer *wg_peer_alloc(struct wg_device *wg,
			      const u8 public_key[WG_KEY_LEN],
			      const u8 preshared_key[WG_KEY_LEN])
{
	struct wg_peer *peer;

	lockdep_assert_held(&wg->device_update_lock);

	peer = kmem_cache_zalloc(peer_cache, GFP_KERNEL);
	if (unlikely(!peer))
		return NULL;

	peer->device = wg;
	memcpy(peer->public_key, public_key, NOISE_PUBLIC_KEY_LEN);
	/* No DH here: the handshake computes what it needs on first use. */
	wg_noise_peer_init(peer, preshared_key);
	wg_cookie_init(&peer->latest_cookie);
	INIT_LIST_HEAD(&peer->allowedips_list);
	rwlock_init(&peer->endpoint_lock);
	wg_route_cache_init(&peer->route_cache);
	wg_timers_init(peer);
	wg_send_init_peer(peer);
	wg_mpsc_init(&peer->tx_prod, &peer->tx_cons);
	wg_mpsc_init(&peer->rx_prod, &peer->rx_cons);
	wg_ordered_list_init(&peer->tx_ordered);
	wg_ordered_list_init(&peer->rx_ordered);
	INIT_WORK(&peer->work, wg_peer_work);
	INIT_LIST_HEAD(&peer->napi_node);
	INIT_LIST_HEAD(&peer->peer_list);
	kref_init(&peer->refcount);
	/* Nothing arms, queues or kicks for it before it is activated. */
	peer->is_dead = true;
	peer->internal_id = atomic64_inc_return(&peer_counter);
	/* Pinned to one NAPI instance, so its receive order holds. */
	peer->napi_index = wg->num_napis ?
			   (u32)peer->internal_id % wg->num_napis : 0;
	wg_lifetime_log(wg, "Peer %llu created", peer->internal_id);
	return peer;
}

int wg_peer_publish_key(struct wg_peer *peer)
{
	return wg_pubkey_table_add(peer->device, peer);
}

void wg_peer_take_key(struct wg_peer *old, struct wg_peer *new)
{
	wg_pubkey_table_replace(new->device, old, new);
}

void wg_peer_activate(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;

	lockdep_assert_held(&wg->device_update_lock);
	wg_noise_peer_enable(peer);
	WRITE_ONCE(peer->is_dead, false);
	list_move_tail(&peer->peer_list, &wg->peer_list);
	++wg->num_peers;
}

void wg_peer_discard(struct wg_peer *peer, struct list_head *dead)
{
	struct wg_device *wg = peer->device;

	lockdep_assert_held(&wg->device_update_lock);
	/* Never published, or its key went to a successor: no harm. */
	wg_pubkey_table_remove(wg, peer);
	wg_noise_peer_cleanup(peer);
	list_move_tail(&peer->peer_list, dead);
}

struct wg_peer *wg_peer_create(struct wg_device *wg,
			       const u8 public_key[WG_KEY_LEN],
			       const u8 preshared_key[WG_KEY_LEN])
{
	struct wg_peer *peer;
	LIST_HEAD(dead);
	int ret;

	lockdep_assert_held(&wg->device_update_lock);

	if (wg->num_peers >= MAX_PEERS_PER_DEVICE)
		return ERR_PTR(-ENOSPC);
	peer = wg_peer_alloc(wg, public_key, preshared_key);
	if (!peer)
		return ERR_PTR(-ENOMEM);
	ret = wg_peer_publish_key(peer);
	if (ret)
		goto err_discard_peer;
	wg_peer_activate(peer);
	return peer;

err_discard_peer:
	wg_peer_discard(peer, &dead);
	wg_peer_remove_finish(&dead);
	return ERR_PTR(ret);
}

/*
 * Drops every packet the peer still holds, for a peer whose work and
 * crypto workers are idle.  A NAPI poll may still hold it: the receive
 * list's lock keeps the two apart.
 */
void wg_peer_purge_packets(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;

	wg_mpsc_purge(&peer->tx_prod, &peer->tx_cons, false);
	wg_mpsc_purge(&peer->rx_prod, &peer->rx_cons, true);
	wg_ordered_list_purge(&peer->tx_ordered);
	wg_ordered_list_purge(&peer->rx_ordered);
	if (!wg->napis)
		return;
	spin_lock_bh(&wg->napis[peer->napi_index].lock);
	if (!list_empty(&peer->napi_node)) {
		list_del_init(&peer->napi_node);
		clear_bit(WG_PEER_RX_READY, &peer->control);
		wg_peer_put(peer);	/* the list's reference */
	}
	spin_unlock_bh(&wg->napis[peer->napi_index].lock);
}

/*
 * What a peer received but did not deliver, for a device going down: its
 * UDP hook, stages, crypto workers and NAPI instance are all idle.
 */
void wg_peer_purge_received(struct wg_peer *peer)
{
	lockdep_assert_held(&peer->device->device_update_lock);
	wg_mpsc_purge(&peer->rx_prod, &peer->rx_cons, true);
	wg_ordered_list_purge(&peer->rx_ordered);
}

struct wg_peer *wg_peer_get_maybe_zero(struct wg_peer *peer)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_any_held(),
			 "taking a peer reference outside an RCU section");
	if (unlikely(!peer || !kref_get_unless_zero(&peer->refcount)))
		return NULL;
	return peer;
}

/*
 * First half of removal: after this, no lookup can find the peer, but RCU
 * readers that already did may still be using it.  The peer goes onto
 * @dead, which wg_peer_remove_finish() completes.
 */
void wg_peer_unlink(struct wg_peer *peer, struct list_head *dead)
{
	struct wg_device *wg = peer->device;

	lockdep_assert_held(&wg->device_update_lock);

	/* Dump cursors holding a reference test this before resuming. */
	WRITE_ONCE(peer->is_dead, true);
	wg_pubkey_table_remove(wg, peer);
	wg_allowedips_remove_by_peer(&wg->peer_allowedips, peer,
				     &wg->device_update_lock);
	/* Its indices leave the table, its keypairs and secrets go. */
	wg_noise_peer_cleanup(peer);
	list_move_tail(&peer->peer_list, dead);
	--wg->num_peers;
	++wg->update_gen;
}

/*
 * One grace period for the whole batch: removing 20,000 peers costs one
 * synchronize_net(), not 20,000.
 */
void wg_peer_remove_finish(struct list_head *dead)
{
	struct wg_peer *peer, *tmp;
	struct wg_device *wg;

	if (list_empty(dead))
		return;
	wg = list_first_entry(dead, struct wg_peer, peer_list)->device;
	/*
	 * Timer arming, control queueing and kicks check is_dead inside an
	 * RCU section, so after this grace period nothing re-arms or
	 * requeues; then the works are flushed once, and the crypto workers
	 * once for the whole batch, and nothing refers to the packets left.
	 */
	synchronize_net();
	list_for_each_entry(peer, dead, peer_list) {
		wg_timers_stop(peer);
		wg_send_stop_peer(peer);
	}
	if (wg->crypt_wq)
		flush_workqueue(wg->crypt_wq);
	list_for_each_entry_safe(peer, tmp, dead, peer_list) {
		list_del_init(&peer->peer_list);
		wg_peer_purge_packets(peer);
		wg_peer_put(peer);
	}
}

void wg_peer_remove(struct wg_peer *peer)
{
	LIST_HEAD(dead);

	wg_peer_unlink(peer, &dead);
	wg_peer_remove_finish(&dead);
}

void wg_peer_remove_all(struct wg_device *wg)
{
	struct wg_peer *peer, *tmp;
	LIST_HEAD(dead);

	lockdep_assert_held(&wg->device_update_lock);

	/* Freeing the tries whole is cheaper than unpicking them per peer. */
	wg_allowedips_free(&wg->peer_allowedips, &wg->device_update_lock);
	list_for_each_entry_safe(peer, tmp, &wg->peer_list, peer_list)
		wg_peer_unlink(peer, &dead);
	wg_peer_remove_finish(&dead);
}

static void wg_peer_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(peer_cache, container_of(rcu, struct wg_peer, rcu));
}

static void wg_peer_release(struct kref *refcount)
{
	struct wg_peer *peer = container_of(refcount, struct wg_peer, refcount);

	wg_lifetime_log(peer->device, "Peer %llu destroyed", peer->internal_id);
	wg_noise_handshake_wipe(&peer->handshake);
	wg_route_cache_reset(&peer->route_cache);
	/* Readers that lost the kref_get_unless_zero() race still look. */
	call_rcu(&peer->rcu, wg_peer_free_rcu);
}

void wg_peer_put(struct wg_peer *peer)
{
	if (unlikely(!peer))
		return;
	kref_put(&peer->refcount, wg_peer_release);
}
