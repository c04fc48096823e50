// SPDX-License-Identifier: GPL-2.0
/*
 * Peer and receiver-index lookup tables (see peerlookup.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <linux/random.h>
#include <linux/rhashtable.h>

#include "device.h"
#include "peer.h"
#include "peerlookup.h"

static const struct rhashtable_params wg_pubkey_params = {
	.key_len = NOISE_PUBLIC_KEY_LEN,
	.key_offset = offsetof(struct wg_peer, public_key),
	.head_offset = offsetof(struct wg_peer, pubkey_node),
	.automatic_shrinking = true,
};

static const struct rhashtable_params wg_index_params = {
	.key_len = sizeof_field(struct wg_index_entry, index),
	.key_offset = offsetof(struct wg_index_entry, index),
	.head_offset = offsetof(struct wg_index_entry, node),
	.automatic_shrinking = true,
};

int wg_pubkey_table_init(struct wg_device *wg)
{
	return rhashtable_init(&wg->peer_hashtable, &wg_pubkey_params);
}

/* Every peer has already been removed. */
void wg_pubkey_table_destroy(struct wg_device *wg)
{
	WARN_ON(atomic_read(&wg->peer_hashtable.nelems));
	rhashtable_destroy(&wg->peer_hashtable);
}

int wg_pubkey_table_add(struct wg_device *wg, struct wg_peer *peer)
{
	int ret;

	lockdep_assert_held(&wg->device_update_lock);
	/*
	 * A burst of inserts can outrun the deferred resize; the table then
	 * asks the caller to come back once the rehash has made room.
	 */
	do {
		ret = rhashtable_lookup_insert_fast(&wg->peer_hashtable,
						    &peer->pubkey_node,
						    wg_pubkey_params);
		if (ret == -EBUSY)
			cond_resched();
	} while (ret == -EBUSY);
	return ret;
}

void wg_pubkey_table_remove(struct wg_device *wg, struct wg_peer *peer)
{
	lockdep_assert_held(&wg->device_update_lock);
	rhashtable_remove_fast(&wg->peer_hashtable, &peer->pubkey_node,
			       wg_pubkey_params);
}

void wg_pubkey_table_replace(struct wg_device *wg, struct wg_peer *old,
			     struct wg_peer *new)
{
	lockdep_assert_held(&wg->device_update_lock);
	/* Swapping one entry for another allocates nothing. */
	WARN_ON(crypto_memneq(old->public_key, new->public_key,
			      NOISE_PUBLIC_KEY_LEN) ||
		rhashtable_replace_fast(&wg->peer_hashtable, &old->pubkey_node,
					&new->pubkey_node, wg_pubkey_params));
}

struct wg_peer *wg_pubkey_table_find(struct wg_device *wg,
				     const u8 *public_key)
{
	lockdep_assert_held(&wg->device_update_lock);
	return rhashtable_lookup_fast(&wg->peer_hashtable, public_key,
				      wg_pubkey_params);
}

struct wg_peer *wg_pubkey_table_lookup(struct wg_device *wg,
				       const u8 *public_key)
{
	struct wg_peer *peer;

	rcu_read_lock();
	peer = rhashtable_lookup(&wg->peer_hashtable, public_key,
				 wg_pubkey_params);
	peer = peer ? wg_peer_get_maybe_zero(peer) : NULL;
	rcu_read_unlock();
	return peer;
}

int wg_index_table_init(struct wg_device *wg)
{
	return rhashtable_init(&wg->index_hashtable, &wg_index_params);
}

void wg_index_table_destroy(struct wg_device *wg)
{
	WARN_ON(atomic_read(&wg->index_hashtable.nelems));
	rhashtable_destroy(&wg->index_hashtable);
}

int wg_index_table_insert(struct wg_device *wg, struct wg_index_entry *entry)
{
	int ret;

	/*
	 * Indices are random so that they reveal nothing about how many
	 * sessions exist; a collision just draws again.
	 */
	do {
		entry->index = (__force __le32)get_random_u32();
		ret = rhashtable_lookup_insert_fast(&wg->index_hashtable,
						    &entry->node,
						    wg_index_params);
		if (ret == -EBUSY)
			cond_resched();
	} while (ret == -EEXIST || ret == -EBUSY);
	return ret;
}

int wg_index_table_replace(struct wg_device *wg, struct wg_index_entry *old,
			   struct wg_index_entry *new)
{
	new->index = old->index;
	return rhashtable_replace_fast(&wg->index_hashtable, &old->node,
				       &new->node, wg_index_params);
}

void wg_index_table_remove(struct wg_device *wg, struct wg_index_entry *entry)
{
	rhashtable_remove_fast(&wg->index_hashtable, &entry->node,
			       wg_index_params);
}

struct wg_index_entry *wg_index_table_lookup(struct wg_device *wg,
					     unsigned int types, __le32 index,
					     struct wg_peer **peer)
{
	struct wg_index_entry *entry;

	RCU_LOCKDEP_WARN(!rcu_read_lock_held(),
			 "index lookup outside an RCU read-side section");
	entry = rhashtable_lookup(&wg->index_hashtable, &index,
				  wg_index_params);
	if (!entry || !(entry->type & types))
		return NULL;
	*peer = wg_peer_get_maybe_zero(READ_ONCE(entry->peer));
	return *peer ? entry : NULL;
}
