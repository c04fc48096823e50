/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake of WireGuard and the
 * session keypairs it produces.
 *
 * noise.c runs the handshake, keypair.c keeps the sessions.
 *
 * Narrow interface: both reach peers and devices only through
 *  - struct wg_static_identity (the device's key pair, under its lock);
 *  - a peer's handshake, keypairs and public_key, and peer->device to find
 *    the tables below; peers are pinned with wg_peer_get()/wg_peer_put();
 *  - wg_pubkey_table_lookup() (the responder identifying an initiator);
 *  - wg_index_table_insert/replace/remove/lookup() (receiver indices);
 *  - wg_lifetime_log(), which tolerates a device without a net_device;
 *  - the clocks: ktime_get_real_ts64() for TAI64N timestamps and
 *    ktime_get_coarse_boottime_ns() for ages.
 * Nothing here needs a net_device, sockets or the allowed-IPs tries, so
 * the self-tests drive complete handshakes between kzalloc'd devices.
 *
 * Locks, outermost first: the device's update mutex (configuration only),
 * the static identity's rw_semaphore, a peer's handshake rw_semaphore, a
 * peer's keypairs spinlock.  Everything taking a semaphore may sleep: the
 * handshake runs in process context (the handshake worker, netlink); only
 * wg_noise_keypair_received_with(), the keypair get/put and
 * wg_noise_keypairs_expire() are for any context.
 *
 * Lifetimes:
 *  - the long-lived handshake state (preshared key, latest timestamp,
 *    cached static-static DH, remote index) lives in struct wg_peer as
 *    long as the peer;
 *  - the secrets of one handshake (ephemeral private key, remote
 *    ephemeral, chaining key, hash) are allocated when it starts and
 *    zeroed and freed when it becomes a keypair, fails, is superseded or
 *    is cleared;
 *  - a keypair lives while its peer holds it in a slot or a packet path
 *    holds a reference, and is freed one RCU grace period after the last
 *    put.  It is in the index table exactly while it is in a slot.
 */
#ifndef _WG_NOISE_H
#define _WG_NOISE_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/rcupdate.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/types.h>

#include "messages.h"
#include "peerlookup.h"
#include "replay.h"

struct wg_device;
struct wg_peer;

/*
 * The local key pair.  The public half is derived when the private key is
 * set; nothing per peer is computed at configuration time, which is what
 * keeps adding tens of thousands of peers fast.
 */
struct wg_static_identity {
	u8 static_private[NOISE_PUBLIC_KEY_LEN];
	u8 static_public[NOISE_PUBLIC_KEY_LEN];
	struct rw_semaphore lock;
	bool has_identity;
};

enum wg_noise_handshake_state {
	WG_HANDSHAKE_ZEROED,
	WG_HANDSHAKE_CREATED_INITIATION,
	WG_HANDSHAKE_CONSUMED_INITIATION,
	WG_HANDSHAKE_CREATED_RESPONSE,
	WG_HANDSHAKE_CONSUMED_RESPONSE,
	/* The peer was removed: nothing may start again. */
	WG_HANDSHAKE_DEAD,
};

/* The transient secrets of one handshake in flight; private to noise.c. */
struct wg_noise_handshake_secrets;

/*
 * Per peer, embedded in struct wg_peer; everything but @entry's table
 * linkage is under @lock.  The remote static key is peer->public_key.
 */
struct wg_noise_handshake {
	/* Our index for this handshake: in the table iff @index_in_table. */
	struct wg_index_entry entry;
	struct rw_semaphore lock;
	struct wg_noise_handshake_secrets *secrets;	/* NULL: none */
	u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN];	/* zeros: none */
	/* DH(our static, their static), once first needed; see ss_valid. */
	u8 static_static[NOISE_PUBLIC_KEY_LEN];
	/* The newest TAI64N accepted from this peer; replays are older. */
	u8 latest_timestamp[NOISE_TIMESTAMP_LEN];
	__le32 remote_index;
	u64 last_initiation_consumption;	/* coarse boottime, ns */
	u8 state;				/* enum wg_noise_handshake_state */
	bool ss_valid;
	bool index_in_table;
};

struct wg_noise_symmetric_key {
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	u64 birthdate;		/* coarse boottime, ns */
	bool is_valid;		/* READ_ONCE: cleared by expiry */
};

/* One session.  kmalloc'd; see the lifetimes above. */
struct wg_noise_keypair {
	/* Takes over the handshake's local index: data is addressed here. */
	struct wg_index_entry entry;
	struct wg_noise_symmetric_key sending;
	atomic64_t sending_counter;
	struct wg_noise_symmetric_key receiving;
	/* Receive path only, after authentication (see replay.h). */
	struct wg_replay_window receiving_window;
	__le32 remote_index;
	bool i_am_the_initiator;
	struct kref refcount;
	struct rcu_head rcu;
	u64 internal_id;	/* module-wide, for the lifetime log */
};

/*
 * A peer's sessions.  @current_keypair sends.  @previous_keypair still
 * receives what the remote side sent before it switched.  @next_keypair
 * is one we answered as responder and may not send with until the
 * initiator proves it has it (wg_noise_keypair_received_with()).
 * Readers: RCU plus wg_noise_keypair_get(); writers: @lock (_bh).
 */
struct wg_noise_keypairs {
	struct wg_noise_keypair __rcu *current_keypair;
	struct wg_noise_keypair __rcu *previous_keypair;
	struct wg_noise_keypair __rcu *next_keypair;
	raw_spinlock_t lock;	/* writers of the three slots; raw: wg_peer */
};

/* True once more than @seconds have passed since @birthdate_ns. */
static inline bool wg_birthdate_has_expired(u64 birthdate_ns, u64 seconds)
{
	return (s64)(birthdate_ns + seconds * NSEC_PER_SEC -
		     ktime_get_coarse_boottime_ns()) <= 0;
}

/*
 * Static identity.  Validation half: clamps @private_key in place and
 * derives @public_key; false for an all-zero key.  Changes nothing else.
 */
bool wg_noise_static_identity_derive(u8 public_key[NOISE_PUBLIC_KEY_LEN],
				     u8 private_key[NOISE_PUBLIC_KEY_LEN]);
/*
 * Installs @private_key (clamped, public half derived) or, for NULL or
 * all zeros, clears the identity.  Caller holds @identity->lock for
 * writing and then invalidates every peer's handshake with
 * wg_noise_handshake_invalidate() before releasing it.
 */
void wg_noise_static_identity_set(struct wg_static_identity *identity,
				  const u8 *private_key);

/* Peer lifetime hooks (peer.c). */
/* The handshake starts DEAD, answering nothing, until it is enabled. */
void wg_noise_peer_init(struct wg_peer *peer, const u8 *preshared_key);
void wg_noise_peer_enable(struct wg_peer *peer);
/* Removal, update lock held: drops indices, keypairs and every secret. */
void wg_noise_peer_cleanup(struct wg_peer *peer);
/* Last reference gone: wipes what is left.  Any context, no lock. */
void wg_noise_handshake_wipe(struct wg_noise_handshake *handshake);

void wg_noise_handshake_set_preshared_key(struct wg_noise_handshake *handshake,
					  const u8 *preshared_key);
/* Abandons a handshake in flight (e.g. REKEY_ATTEMPT_TIME is over). */
void wg_noise_handshake_clear(struct wg_noise_handshake *handshake);
/*
 * The local private key changed: drops the cached static-static DH and
 * any handshake in flight.  Caller holds the identity lock for writing.
 */
void wg_noise_handshake_invalidate(struct wg_noise_handshake *handshake);

/*
 * The handshake proper.  Creators fill everything but the macs (cookie.c
 * adds them); consumers expect the macs checked already.  The consumers
 * return a referenced peer, or NULL after changing nothing.
 */
bool wg_noise_handshake_create_initiation(struct wg_message_handshake_initiation *dst,
					  struct wg_peer *peer);
struct wg_peer *
wg_noise_handshake_consume_initiation(const struct wg_message_handshake_initiation *src,
				      struct wg_device *wg);
bool wg_noise_handshake_create_response(struct wg_message_handshake_response *dst,
					struct wg_peer *peer);
struct wg_peer *
wg_noise_handshake_consume_response(const struct wg_message_handshake_response *src,
				    struct wg_device *wg);
/*
 * After create_response (responder) or consume_response (initiator):
 * turns the handshake into a keypair, installs it and zeroes the
 * handshake.
 */
bool wg_noise_handshake_begin_session(struct wg_peer *peer);

/* Keypairs */
/*
 * A keypair holding the two keys and a peer reference, logged as created,
 * not yet in the index table or a slot.  Process context.
 */
struct wg_noise_keypair *wg_noise_keypair_create(struct wg_peer *peer,
						 bool i_am_the_initiator,
						 const u8 *sending_key,
						 const u8 *receiving_key,
						 __le32 remote_index);
void wg_noise_keypairs_init(struct wg_noise_keypairs *keypairs);
/*
 * Takes over the reference of @keypair, already in the index table: an
 * initiator's becomes current, a responder's next.  Retires what it
 * displaces.
 */
void wg_noise_keypairs_install(struct wg_noise_keypairs *keypairs,
			       struct wg_noise_keypair *keypair);
/* Drops every keypair (e.g. nothing heard for REJECT_AFTER_TIME * 3). */
void wg_noise_keypairs_clear(struct wg_noise_keypairs *keypairs);
/* Stops sending with current and next; they still receive. */
void wg_noise_keypairs_expire(struct wg_noise_keypairs *keypairs);
/*
 * Receive path, for each authenticated data packet: a responder's next
 * keypair becomes current on first use.  True when it was promoted.
 */
bool wg_noise_keypair_received_with(struct wg_noise_keypairs *keypairs,
				    struct wg_noise_keypair *keypair);
/* Under RCU: a reference, or NULL if @keypair is being freed. */
struct wg_noise_keypair *__must_check
wg_noise_keypair_get(struct wg_noise_keypair *keypair);

/* One more reference on a keypair the caller already holds one on. */
static inline struct wg_noise_keypair *
wg_noise_keypair_get_another(struct wg_noise_keypair *keypair)
{
	kref_get(&keypair->refcount);
	return keypair;
}
void wg_noise_keypair_put(struct wg_noise_keypair *keypair);

/* Exposed for the known-answer self-tests. */
void wg_noise_kdf(u8 *first, u8 *second, u8 *third, const u8 *data,
		  size_t data_len, const u8 chaining_key[NOISE_HASH_LEN]);
void wg_noise_hmac(u8 out[NOISE_HASH_LEN], const u8 *data, size_t data_len,
		   const u8 *key, size_t key_len);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
/* The creators with their randomness and clock given, for known answers. */
bool wg_noise_handshake_create_initiation_fixed(struct wg_message_handshake_initiation *dst,
						struct wg_peer *peer,
						const u8 *ephemeral_private,
						const u8 *timestamp);
bool wg_noise_handshake_create_response_fixed(struct wg_message_handshake_response *dst,
					      struct wg_peer *peer,
					      const u8 *ephemeral_private);
bool wg_noise_selftest(void);
#endif

#endif /* _WG_NOISE_H */
