/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Two per-device lookups:
 *  - peers by static public key, for configuration and for the responder
 *    that has just decrypted an initiator's identity;
 *  - handshakes and keypairs by the receiver index carried in every
 *    message, for the packet paths.
 * Both are resizable rhashtables: their cost per peer stays a few bytes of
 * bucket array however many peers a device holds, with no fixed table to
 * outgrow.  Lookups run under RCU and return a referenced peer.
 */
#ifndef _WG_PEERLOOKUP_H
#define _WG_PEERLOOKUP_H

#include <linux/rhashtable-types.h>
#include <linux/types.h>

struct wg_device;
struct wg_peer;

int wg_pubkey_table_init(struct wg_device *wg);
void wg_pubkey_table_destroy(struct wg_device *wg);
/* Update lock held.  -EEXIST when the key is already present. */
int wg_pubkey_table_add(struct wg_device *wg, struct wg_peer *peer);
/* Update lock held.  A peer not in the table is no error. */
void wg_pubkey_table_remove(struct wg_device *wg, struct wg_peer *peer);
/* Update lock held.  @new, with @old's key, takes @old's place; no failure. */
void wg_pubkey_table_replace(struct wg_device *wg, struct wg_peer *old,
			     struct wg_peer *new);
/* Update lock held, which keeps the peer alive: no reference is taken. */
struct wg_peer *wg_pubkey_table_find(struct wg_device *wg,
				     const u8 *public_key);
/* Returns a referenced peer or NULL. */
struct wg_peer *wg_pubkey_table_lookup(struct wg_device *wg,
				       const u8 *public_key);

enum wg_index_type {
	WG_INDEX_HANDSHAKE = 1U << 0,
	WG_INDEX_KEYPAIR = 1U << 1,
};

/*
 * Embedded in whatever a receiver index names (a pending handshake or a
 * keypair).  @index is kept as it travels on the wire: the table only
 * compares it, and random values have no byte order.
 */
struct wg_index_entry {
	struct rhash_head node;
	struct wg_peer *peer;
	__le32 index;
	u8 type;
};

int wg_index_table_init(struct wg_device *wg);
void wg_index_table_destroy(struct wg_device *wg);
/* Gives @entry a random index unique in the device and publishes it. */
int wg_index_table_insert(struct wg_device *wg, struct wg_index_entry *entry);
/* @new takes over @old's index atomically for readers. */
int wg_index_table_replace(struct wg_device *wg, struct wg_index_entry *old,
			   struct wg_index_entry *new);
void wg_index_table_remove(struct wg_device *wg, struct wg_index_entry *entry);
/*
 * Finds the entry of one of the @types with @index; on success *@peer holds
 * a reference the caller puts.  Caller holds rcu_read_lock(), which keeps
 * the returned entry alive: that flavour, even in softirq context, since
 * rhashtable's lookups check rcu_read_lock_held() (so does this one).
 */
struct wg_index_entry *wg_index_table_lookup(struct wg_device *wg,
					     unsigned int types, __le32 index,
					     struct wg_peer **peer);

#endif /* _WG_PEERLOOKUP_H */
