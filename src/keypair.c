// SPDX-License-Identifier: GPL-2.0
/*
 * Session keypairs: creation, reference counting and a peer's three slots
 * (see noise.h for the rules and lifetimes).  A keypair is in the
 * device's index table exactly while it is in a slot; it is freed one RCU
 * grace period after its last reference goes.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "device.h"
#include "noise.h"
#include "peer.h"
#include "peerlookup.h"

/* Module-wide, so the lifetime log names each keypair once. */
static atomic64_t keypair_counter = ATOMIC64_INIT(0);

struct wg_noise_keypair *wg_noise_keypair_create(struct wg_peer *peer,
						 bool i_am_the_initiator,
						 const u8 *sending_key,
						 const u8 *receiving_key,
						 __le32 remote_index)
{
	struct wg_noise_keypair *keypair;
	u64 now;

	keypair = kzalloc(sizeof(*keypair), GFP_KERNEL);
	if (!keypair)
		return NULL;
	memcpy(keypair->sending.key, sending_key, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(keypair->receiving.key, receiving_key, NOISE_SYMMETRIC_KEY_LEN);
	now = ktime_get_coarse_boottime_ns();
	keypair->sending.birthdate = now;
	keypair->receiving.birthdate = now;
	keypair->sending.is_valid = true;
	keypair->receiving.is_valid = true;
	atomic64_set(&keypair->sending_counter, 0);
	wg_replay_window_init(&keypair->receiving_window);
	keypair->remote_index = remote_index;
	keypair->i_am_the_initiator = i_am_the_initiator;
	kref_init(&keypair->refcount);
	keypair->internal_id = atomic64_inc_return(&keypair_counter);
	keypair->entry.type = WG_INDEX_KEYPAIR;
	/* The release logs through the peer's device. */
	keypair->entry.peer = wg_peer_get(peer);
	wg_lifetime_log(peer->device, "Keypair %llu created",
			keypair->internal_id);
	return keypair;
}

static void noise_keypair_release(struct kref *refcount)
{
	struct wg_noise_keypair *keypair =
		container_of(refcount, struct wg_noise_keypair, refcount);
	struct wg_peer *peer = keypair->entry.peer;

	wg_lifetime_log(peer->device, "Keypair %llu destroyed",
			keypair->internal_id);
	/*
	 * Nobody can use the keys any more: readers must take a reference
	 * first.  The memory itself waits for them to let go of it.
	 */
	memzero_explicit(&keypair->sending, sizeof(keypair->sending));
	memzero_explicit(&keypair->receiving, sizeof(keypair->receiving));
	kfree_rcu(keypair, rcu);
	wg_peer_put(peer);
}

struct wg_noise_keypair *wg_noise_keypair_get(struct wg_noise_keypair *keypair)
{
	RCU_LOCKDEP_WARN(!rcu_read_lock_any_held(),
			 "taking a keypair reference outside an RCU section");
	if (unlikely(!keypair || !kref_get_unless_zero(&keypair->refcount)))
		return NULL;
	return keypair;
}

void wg_noise_keypair_put(struct wg_noise_keypair *keypair)
{
	if (keypair)
		kref_put(&keypair->refcount, noise_keypair_release);
}

/* Out of a slot: out of the index table, and the slot's reference goes. */
static void noise_keypair_retire(struct wg_noise_keypair *keypair)
{
	if (!keypair)
		return;
	wg_index_table_remove(keypair->entry.peer->device, &keypair->entry);
	wg_noise_keypair_put(keypair);
}

void wg_noise_keypairs_init(struct wg_noise_keypairs *keypairs)
{
	RCU_INIT_POINTER(keypairs->current_keypair, NULL);
	RCU_INIT_POINTER(keypairs->previous_keypair, NULL);
	RCU_INIT_POINTER(keypairs->next_keypair, NULL);
	raw_spin_lock_init(&keypairs->lock);
}

static struct wg_noise_keypair *
keypairs_slot(struct wg_noise_keypairs *keypairs,
	      struct wg_noise_keypair __rcu **slot)
{
	return rcu_dereference_protected(*slot,
					 lockdep_is_held(&keypairs->lock));
}

/*
 * An initiator's new keypair sends at once: the responder has proven it
 * holds it.  A responder's waits in next until the initiator proves the
 * same with its first data packet.
 */
void wg_noise_keypairs_install(struct wg_noise_keypairs *keypairs,
			       struct wg_noise_keypair *keypair)
{
	struct wg_noise_keypair *drop1 = NULL, *drop2 = NULL, *next;

	raw_spin_lock_bh(&keypairs->lock);
	if (!keypair->i_am_the_initiator) {
		drop1 = keypairs_slot(keypairs, &keypairs->next_keypair);
		rcu_assign_pointer(keypairs->next_keypair, keypair);
		goto out;
	}
	next = keypairs_slot(keypairs, &keypairs->next_keypair);
	drop1 = keypairs_slot(keypairs, &keypairs->previous_keypair);
	if (next) {
		/*
		 * The remote side initiated next and sends with it; keep it
		 * receiving.  Our current is older than both.
		 */
		drop2 = keypairs_slot(keypairs, &keypairs->current_keypair);
		RCU_INIT_POINTER(keypairs->next_keypair, NULL);
		rcu_assign_pointer(keypairs->previous_keypair, next);
	} else {
		rcu_assign_pointer(keypairs->previous_keypair,
				   keypairs_slot(keypairs, &keypairs->current_keypair));
	}
	rcu_assign_pointer(keypairs->current_keypair, keypair);
out:
	raw_spin_unlock_bh(&keypairs->lock);
	noise_keypair_retire(drop1);
	noise_keypair_retire(drop2);
}

bool wg_noise_keypair_received_with(struct wg_noise_keypairs *keypairs,
				    struct wg_noise_keypair *keypair)
{
	struct wg_noise_keypair *old_previous;

	/* The common case, every packet: not the next keypair. */
	if (likely(rcu_access_pointer(keypairs->next_keypair) != keypair))
		return false;

	raw_spin_lock_bh(&keypairs->lock);
	if (keypairs_slot(keypairs, &keypairs->next_keypair) != keypair) {
		raw_spin_unlock_bh(&keypairs->lock);
		return false;
	}
	old_previous = keypairs_slot(keypairs, &keypairs->previous_keypair);
	rcu_assign_pointer(keypairs->previous_keypair,
			   keypairs_slot(keypairs, &keypairs->current_keypair));
	rcu_assign_pointer(keypairs->current_keypair, keypair);
	RCU_INIT_POINTER(keypairs->next_keypair, NULL);
	raw_spin_unlock_bh(&keypairs->lock);

	noise_keypair_retire(old_previous);
	return true;
}

void wg_noise_keypairs_clear(struct wg_noise_keypairs *keypairs)
{
	struct wg_noise_keypair *old[3];
	unsigned int i;

	raw_spin_lock_bh(&keypairs->lock);
	old[0] = keypairs_slot(keypairs, &keypairs->previous_keypair);
	old[1] = keypairs_slot(keypairs, &keypairs->current_keypair);
	old[2] = keypairs_slot(keypairs, &keypairs->next_keypair);
	RCU_INIT_POINTER(keypairs->previous_keypair, NULL);
	RCU_INIT_POINTER(keypairs->current_keypair, NULL);
	RCU_INIT_POINTER(keypairs->next_keypair, NULL);
	raw_spin_unlock_bh(&keypairs->lock);

	for (i = 0; i < ARRAY_SIZE(old); ++i)
		noise_keypair_retire(old[i]);
}

void wg_noise_keypairs_expire(struct wg_noise_keypairs *keypairs)
{
	struct wg_noise_keypair *keypair;

	raw_spin_lock_bh(&keypairs->lock);
	keypair = keypairs_slot(keypairs, &keypairs->current_keypair);
	if (keypair)
		WRITE_ONCE(keypair->sending.is_valid, false);
	keypair = keypairs_slot(keypairs, &keypairs->next_keypair);
	if (keypair)
		WRITE_ONCE(keypair->sending.is_valid, false);
	raw_spin_unlock_bh(&keypairs->lock);
}
