// SPDX-License-Identifier: GPL-2.0
/*
 * The WireGuard handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, and the
 * keypairs it produces (see noise.h for the interface, locks and
 * lifetimes).
 *
 * Notation of the WireGuard paper: HASH is BLAKE2s-256; HMAC is
 * HMAC-BLAKE2s (RFC 2104 over BLAKE2s' 64-byte block); KDFn(C, x) is HKDF
 * with HMAC, giving n 32-byte outputs; DH is X25519; AEAD is
 * ChaCha20Poly1305 with the 64-bit counter 0, which is safe because every
 * handshake key encrypts exactly one message.  C is the chaining key, H
 * the running hash, which every AEAD takes as its associated data.
 *
 * A consumer works on copies of C and H on its stack and commits them to
 * the handshake only once the whole message has authenticated: a forged
 * message changes nothing, and nothing is allocated for it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <crypto/curve25519.h>
#include <linux/lockdep.h>
#include <linux/math.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "device.h"
#include "noise.h"
#include "peer.h"
#include "peerlookup.h"

static const u8 noise_construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const u8 noise_identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

/*
 * TAI64N: an 8-byte big-endian TAI64 label, 2^62 + 10 + the Unix seconds
 * (TAI was 10 s ahead of UTC in 1970), then 4 big-endian bytes of
 * nanoseconds.
 */
#define WG_TAI64_UNIX_EPOCH 0x400000000000000aULL

/*
 * The nanoseconds are rounded down to multiples of 2^24 ns (~16.8 ms), so
 * an initiation does not reveal the fine-grained clock of its sender (a
 * fingerprint of the host, and a timing side channel).  The granularity
 * must stay below the 20 ms flood interval: initiations far enough apart
 * to be accepted then always carry distinct, increasing timestamps.  A
 * power of two makes the rounding a mask.
 */
enum { WG_TIMESTAMP_NSEC_GRANULARITY = 1U << 24 };
static_assert(WG_TIMESTAMP_NSEC_GRANULARITY <
	      NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND);

/*
 * Everything secret about one handshake in flight, allocated when it
 * starts and kfree_sensitive()'d when it ends in any way.  A failed
 * consumer never allocates one.
 */
struct wg_noise_handshake_secrets {
	u8 ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	u8 remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	u8 hash[NOISE_HASH_LEN];
	u8 chaining_key[NOISE_HASH_LEN];
};

/* Primitives built on lib/crypto */

/* out := HASH(a || b) */
static void noise_hash2(u8 out[NOISE_HASH_LEN], const u8 *a, size_t a_len,
			const u8 *b, size_t b_len)
{
	struct blake2s_ctx state;

	blake2s_init(&state, NOISE_HASH_LEN);
	blake2s_update(&state, a, a_len);
	blake2s_update(&state, b, b_len);
	blake2s_final(&state, out);
	memzero_explicit(&state, sizeof(state));
}

/* H := HASH(H || data) */
static void noise_mix_hash(u8 hash[NOISE_HASH_LEN], const u8 *data,
			   size_t len)
{
	noise_hash2(hash, hash, NOISE_HASH_LEN, data, len);
}

/*
 * HMAC-BLAKE2s per RFC 2104 with the 64-byte block.  WireGuard's keys are
 * 32 bytes; longer ones are hashed first as the RFC says.  @out may alias
 * @data or @key: it is written last.
 */
void wg_noise_hmac(u8 out[NOISE_HASH_LEN], const u8 *data, size_t data_len,
		   const u8 *key, size_t key_len)
{
	u8 pad[BLAKE2S_BLOCK_SIZE] __aligned(__alignof__(u32));
	u8 inner[NOISE_HASH_LEN], hashed_key[NOISE_HASH_LEN];
	struct blake2s_ctx state;
	unsigned int i;

	if (key_len > BLAKE2S_BLOCK_SIZE) {
		wg_blake2s(NULL, 0, key, key_len, hashed_key, NOISE_HASH_LEN);
		key = hashed_key;
		key_len = NOISE_HASH_LEN;
	}
	memset(pad, 0, sizeof(pad));
	memcpy(pad, key, key_len);
	for (i = 0; i < BLAKE2S_BLOCK_SIZE; ++i)
		pad[i] ^= 0x36;
	blake2s_init(&state, NOISE_HASH_LEN);
	blake2s_update(&state, pad, BLAKE2S_BLOCK_SIZE);
	blake2s_update(&state, data, data_len);
	blake2s_final(&state, inner);

	for (i = 0; i < BLAKE2S_BLOCK_SIZE; ++i)
		pad[i] ^= 0x36 ^ 0x5c;
	blake2s_init(&state, NOISE_HASH_LEN);
	blake2s_update(&state, pad, BLAKE2S_BLOCK_SIZE);
	blake2s_update(&state, inner, NOISE_HASH_LEN);
	blake2s_final(&state, out);

	memzero_explicit(&state, sizeof(state));
	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(inner, sizeof(inner));
	memzero_explicit(hashed_key, sizeof(hashed_key));
}

/*
 * KDF1..3(C, data): tau0 := HMAC(C, data), tau1 := HMAC(tau0, 0x01),
 * tau_i := HMAC(tau0, tau_{i-1} || i).  Unwanted outputs are NULL; any
 * output may alias @chaining_key, which is read first.
 */
void wg_noise_kdf(u8 *first, u8 *second, u8 *third, const u8 *data,
		  size_t data_len, const u8 chaining_key[NOISE_HASH_LEN])
{
	u8 prk[NOISE_HASH_LEN], block[NOISE_HASH_LEN + 1];

	wg_noise_hmac(prk, data, data_len, chaining_key, NOISE_HASH_LEN);

	block[0] = 1;
	wg_noise_hmac(block, block, 1, prk, NOISE_HASH_LEN);
	if (first)
		memcpy(first, block, NOISE_HASH_LEN);
	if (second || third) {
		block[NOISE_HASH_LEN] = 2;
		wg_noise_hmac(block, block, NOISE_HASH_LEN + 1, prk,
			      NOISE_HASH_LEN);
		if (second)
			memcpy(second, block, NOISE_HASH_LEN);
	}
	if (third) {
		block[NOISE_HASH_LEN] = 3;
		wg_noise_hmac(block, block, NOISE_HASH_LEN + 1, prk,
			      NOISE_HASH_LEN);
		memcpy(third, block, NOISE_HASH_LEN);
	}
	memzero_explicit(prk, sizeof(prk));
	memzero_explicit(block, sizeof(block));
}

/* Noise building blocks */

/* C := HASH(CONSTRUCTION); H := HASH(HASH(C || IDENTIFIER) || S^pub_r) */
static void noise_handshake_start(u8 chaining_key[NOISE_HASH_LEN],
				  u8 hash[NOISE_HASH_LEN],
				  const u8 responder_static[NOISE_PUBLIC_KEY_LEN])
{
	wg_blake2s(NULL, 0, noise_construction, sizeof(noise_construction) - 1,
		   chaining_key, NOISE_HASH_LEN);
	noise_hash2(hash, chaining_key, NOISE_HASH_LEN, noise_identifier,
		    sizeof(noise_identifier) - 1);
	noise_mix_hash(hash, responder_static, NOISE_PUBLIC_KEY_LEN);
}

/* The e token, for either side: C := KDF1(C, E^pub); H := HASH(H || E^pub) */
static void noise_mix_ephemeral(u8 chaining_key[NOISE_HASH_LEN],
				u8 hash[NOISE_HASH_LEN],
				const u8 ephemeral[NOISE_PUBLIC_KEY_LEN])
{
	wg_noise_kdf(chaining_key, NULL, NULL, ephemeral, NOISE_PUBLIC_KEY_LEN,
		     chaining_key);
	noise_mix_hash(hash, ephemeral, NOISE_PUBLIC_KEY_LEN);
}

/*
 * A DH token: (C, k) := KDF2(C, DH(private, public)), or KDF1 when @key is
 * NULL.  False, with C untouched, when the result is all zeros (a
 * low-order public key), which the protocol must refuse.
 */
static bool noise_mix_dh(u8 chaining_key[NOISE_HASH_LEN], u8 *key,
			 const u8 private[NOISE_PUBLIC_KEY_LEN],
			 const u8 public[NOISE_PUBLIC_KEY_LEN])
{
	u8 shared[NOISE_PUBLIC_KEY_LEN];
	bool ok;

	ok = curve25519(shared, private, public);
	if (ok)
		wg_noise_kdf(chaining_key, key, NULL, shared,
			     NOISE_PUBLIC_KEY_LEN, chaining_key);
	memzero_explicit(shared, sizeof(shared));
	return ok;
}

/* The psk token: (C, tau, k) := KDF3(C, Q); H := HASH(H || tau) */
static void noise_mix_psk(u8 chaining_key[NOISE_HASH_LEN],
			  u8 hash[NOISE_HASH_LEN],
			  u8 key[NOISE_SYMMETRIC_KEY_LEN],
			  const u8 preshared_key[NOISE_SYMMETRIC_KEY_LEN])
{
	u8 tau[NOISE_HASH_LEN];

	wg_noise_kdf(chaining_key, tau, key, preshared_key,
		     NOISE_SYMMETRIC_KEY_LEN, chaining_key);
	noise_mix_hash(hash, tau, sizeof(tau));
	memzero_explicit(tau, sizeof(tau));
}

/* dst := AEAD(k, 0, src, H); H := HASH(H || dst) */
static void noise_encrypt_and_hash(u8 *dst, const u8 *src, size_t src_len,
				   const u8 key[NOISE_SYMMETRIC_KEY_LEN],
				   u8 hash[NOISE_HASH_LEN])
{
	chacha20poly1305_encrypt(dst, src, src_len, hash, NOISE_HASH_LEN, 0,
				 key);
	noise_mix_hash(hash, dst, noise_encrypted_len(src_len));
}

/* The inverse; false, with H untouched, if @src does not authenticate. */
static bool noise_decrypt_and_hash(u8 *dst, const u8 *src, size_t src_len,
				   const u8 key[NOISE_SYMMETRIC_KEY_LEN],
				   u8 hash[NOISE_HASH_LEN])
{
	if (!chacha20poly1305_decrypt(dst, src, src_len, hash, NOISE_HASH_LEN,
				      0, key))
		return false;
	noise_mix_hash(hash, src, src_len);
	return true;
}

static void noise_tai64n_now(u8 out[NOISE_TIMESTAMP_LEN])
{
	struct timespec64 now;

	ktime_get_real_ts64(&now);
	put_unaligned_be64(WG_TAI64_UNIX_EPOCH + (u64)now.tv_sec, out);
	put_unaligned_be32(round_down((u32)now.tv_nsec,
				      WG_TIMESTAMP_NSEC_GRANULARITY), out + 8);
}

/* A fresh ephemeral key pair, or the given one for known-answer tests. */
static bool noise_new_ephemeral(u8 private[NOISE_PUBLIC_KEY_LEN],
				u8 public[NOISE_PUBLIC_KEY_LEN],
				const u8 *fixed_private)
{
	if (fixed_private)
		memcpy(private, fixed_private, NOISE_PUBLIC_KEY_LEN);
	else
		curve25519_generate_secret(private);
	return curve25519_generate_public(public, private);
}

/* Static identity */

bool wg_noise_static_identity_derive(u8 public_key[NOISE_PUBLIC_KEY_LEN],
				     u8 private_key[NOISE_PUBLIC_KEY_LEN])
{
	if (!memchr_inv(private_key, 0, NOISE_PUBLIC_KEY_LEN))
		return false;
	curve25519_clamp_secret(private_key);
	return curve25519_generate_public(public_key, private_key);
}

/*
 * Derives the public half again rather than trusting a caller's copy: it
 * happens once per key change, and the identity can never be half set.
 */
void wg_noise_static_identity_set(struct wg_static_identity *identity,
				  const u8 *private_key)
{
	lockdep_assert_held_write(&identity->lock);

	if (private_key)
		memcpy(identity->static_private, private_key,
		       NOISE_PUBLIC_KEY_LEN);
	identity->has_identity = private_key &&
		wg_noise_static_identity_derive(identity->static_public,
						identity->static_private);
	if (!identity->has_identity) {
		memzero_explicit(identity->static_private, NOISE_PUBLIC_KEY_LEN);
		memset(identity->static_public, 0, NOISE_PUBLIC_KEY_LEN);
	}
}

/* Handshake state */

void wg_noise_peer_init(struct wg_peer *peer, const u8 *preshared_key)
{
	struct wg_noise_handshake *handshake = &peer->handshake;

	memset(handshake, 0, sizeof(*handshake));
	init_rwsem(&handshake->lock);
	handshake->entry.type = WG_INDEX_HANDSHAKE;
	handshake->entry.peer = peer;
	if (preshared_key)
		memcpy(handshake->preshared_key, preshared_key,
		       NOISE_SYMMETRIC_KEY_LEN);
	/* Inert until its configuration commits: see wg_peer_alloc(). */
	handshake->state = WG_HANDSHAKE_DEAD;
	wg_noise_keypairs_init(&peer->keypairs);
}

void wg_noise_peer_enable(struct wg_peer *peer)
{
	struct wg_noise_handshake *handshake = &peer->handshake;

	down_write(&handshake->lock);
	if (handshake->state == WG_HANDSHAKE_DEAD)
		handshake->state = WG_HANDSHAKE_ZEROED;
	up_write(&handshake->lock);
}

/*
 * Ends the handshake in flight, if any: its index leaves the table and its
 * secrets are wiped.  The long-lived state (timestamps, the cached DH, the
 * preshared key) stays.
 */
static void noise_handshake_zero(struct wg_noise_handshake *handshake)
{
	lockdep_assert_held_write(&handshake->lock);

	if (handshake->index_in_table) {
		wg_index_table_remove(handshake->entry.peer->device,
				      &handshake->entry);
		handshake->index_in_table = false;
	}
	kfree_sensitive(handshake->secrets);
	handshake->secrets = NULL;
	handshake->remote_index = 0;
	if (handshake->state != WG_HANDSHAKE_DEAD)
		handshake->state = WG_HANDSHAKE_ZEROED;
}

/*
 * The ss token's DH(S^priv, S^pub) is the same for every handshake with a
 * peer until our private key changes, so it is computed at first use and
 * kept; configuring a peer costs no DH at all.
 */
static bool noise_static_static(struct wg_noise_handshake *handshake,
				const struct wg_static_identity *identity)
{
	lockdep_assert_held(&identity->lock);
	lockdep_assert_held_write(&handshake->lock);

	if (!handshake->ss_valid)
		handshake->ss_valid =
			curve25519(handshake->static_static,
				   identity->static_private,
				   handshake->entry.peer->public_key);
	return handshake->ss_valid;
}

void wg_noise_handshake_set_preshared_key(struct wg_noise_handshake *handshake,
					  const u8 *preshared_key)
{
	down_write(&handshake->lock);
	if (preshared_key)
		memcpy(handshake->preshared_key, preshared_key,
		       NOISE_SYMMETRIC_KEY_LEN);
	else
		memzero_explicit(handshake->preshared_key,
				 NOISE_SYMMETRIC_KEY_LEN);
	up_write(&handshake->lock);
}

void wg_noise_handshake_clear(struct wg_noise_handshake *handshake)
{
	down_write(&handshake->lock);
	noise_handshake_zero(handshake);
	up_write(&handshake->lock);
}

void wg_noise_handshake_invalidate(struct wg_noise_handshake *handshake)
{
	down_write(&handshake->lock);
	noise_handshake_zero(handshake);
	memzero_explicit(handshake->static_static, NOISE_PUBLIC_KEY_LEN);
	handshake->ss_valid = false;
	up_write(&handshake->lock);
}

void wg_noise_peer_cleanup(struct wg_peer *peer)
{
	struct wg_noise_handshake *handshake = &peer->handshake;

	down_write(&handshake->lock);
	/* Dead first: no handshake can start again and reinsert an index. */
	handshake->state = WG_HANDSHAKE_DEAD;
	noise_handshake_zero(handshake);
	memzero_explicit(handshake->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	memzero_explicit(handshake->static_static, NOISE_PUBLIC_KEY_LEN);
	handshake->ss_valid = false;
	up_write(&handshake->lock);
	/* After the handshake: begin_session installs under its lock. */
	wg_noise_keypairs_clear(&peer->keypairs);
}

void wg_noise_handshake_wipe(struct wg_noise_handshake *handshake)
{
	kfree_sensitive(handshake->secrets);
	handshake->secrets = NULL;
	memzero_explicit(handshake->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
	memzero_explicit(handshake->static_static, NOISE_PUBLIC_KEY_LEN);
}

/* The handshake messages */

static bool noise_create_initiation(struct wg_message_handshake_initiation *dst,
				    struct wg_peer *peer,
				    const u8 *fixed_ephemeral,
				    const u8 *fixed_timestamp)
{
	struct wg_static_identity *identity = &peer->device->static_identity;
	struct wg_noise_handshake *handshake = &peer->handshake;
	u8 key[NOISE_SYMMETRIC_KEY_LEN], timestamp[NOISE_TIMESTAMP_LEN];
	struct wg_noise_handshake_secrets *secrets;
	bool ret = false;

	down_read(&identity->lock);
	down_write(&handshake->lock);
	if (!identity->has_identity ||
	    handshake->state == WG_HANDSHAKE_DEAD)
		goto out;
	/* A new initiation supersedes whatever was in flight. */
	noise_handshake_zero(handshake);
	secrets = kzalloc(sizeof(*secrets), GFP_KERNEL);
	if (!secrets)
		goto out;
	handshake->secrets = secrets;

	dst->header.type = cpu_to_le32(WG_MESSAGE_HANDSHAKE_INITIATION);
	noise_handshake_start(secrets->chaining_key, secrets->hash,
			      peer->public_key);

	/* e */
	if (!noise_new_ephemeral(secrets->ephemeral_private,
				 dst->unencrypted_ephemeral, fixed_ephemeral))
		goto out_zero;
	noise_mix_ephemeral(secrets->chaining_key, secrets->hash,
			    dst->unencrypted_ephemeral);

	/* es */
	if (!noise_mix_dh(secrets->chaining_key, key,
			  secrets->ephemeral_private, peer->public_key))
		goto out_zero;

	/* s */
	noise_encrypt_and_hash(dst->encrypted_static, identity->static_public,
			       NOISE_PUBLIC_KEY_LEN, key, secrets->hash);

	/* ss */
	if (!noise_static_static(handshake, identity))
		goto out_zero;
	wg_noise_kdf(secrets->chaining_key, key, NULL,
		     handshake->static_static, NOISE_PUBLIC_KEY_LEN,
		     secrets->chaining_key);

	/* {t}: the TAI64N timestamp payload */
	if (fixed_timestamp)
		memcpy(timestamp, fixed_timestamp, NOISE_TIMESTAMP_LEN);
	else
		noise_tai64n_now(timestamp);
	noise_encrypt_and_hash(dst->encrypted_timestamp, timestamp,
			       NOISE_TIMESTAMP_LEN, key, secrets->hash);

	if (wg_index_table_insert(peer->device, &handshake->entry))
		goto out_zero;
	handshake->index_in_table = true;
	dst->sender_index = handshake->entry.index;
	handshake->state = WG_HANDSHAKE_CREATED_INITIATION;
	ret = true;
	goto out;

out_zero:
	noise_handshake_zero(handshake);
out:
	up_write(&handshake->lock);
	up_read(&identity->lock);
	memzero_explicit(key, sizeof(key));
	memzero_explicit(timestamp, sizeof(timestamp));
	return ret;
}

bool wg_noise_handshake_create_initiation(struct wg_message_handshake_initiation *dst,
					  struct wg_peer *peer)
{
	return noise_create_initiation(dst, peer, NULL, NULL);
}

/*
 * Replays carry a timestamp we have accepted already; a peer (or whoever
 * replays its old messages with fresh timestamps it cannot make, which is
 * nobody) may not make us do this work more than 50 times a second.
 */
static bool noise_initiation_is_fresh(const struct wg_noise_handshake *handshake,
				      const u8 timestamp[NOISE_TIMESTAMP_LEN],
				      u64 now)
{
	if (memcmp(timestamp, handshake->latest_timestamp,
		   NOISE_TIMESTAMP_LEN) <= 0)
		return false;
	return now >= handshake->last_initiation_consumption +
		      NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND;
}

struct wg_peer *
wg_noise_handshake_consume_initiation(const struct wg_message_handshake_initiation *src,
				      struct wg_device *wg)
{
	u8 chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	u8 key[NOISE_SYMMETRIC_KEY_LEN], timestamp[NOISE_TIMESTAMP_LEN];
	struct wg_static_identity *identity = &wg->static_identity;
	struct wg_noise_handshake_secrets *secrets = NULL;
	u8 static_public[NOISE_PUBLIC_KEY_LEN];
	struct wg_noise_handshake *handshake;
	struct wg_peer *peer = NULL;
	bool ok;
	u64 now;

	if (src->header.type != cpu_to_le32(WG_MESSAGE_HANDSHAKE_INITIATION))
		return NULL;

	down_read(&identity->lock);
	if (!identity->has_identity)
		goto out;
	noise_handshake_start(chaining_key, hash, identity->static_public);

	/* e */
	noise_mix_ephemeral(chaining_key, hash, src->unencrypted_ephemeral);

	/* es */
	if (!noise_mix_dh(chaining_key, key, identity->static_private,
			  src->unencrypted_ephemeral))
		goto out;

	/* s */
	if (!noise_decrypt_and_hash(static_public, src->encrypted_static,
				    sizeof(src->encrypted_static), key, hash))
		goto out;
	peer = wg_pubkey_table_lookup(wg, static_public);
	if (!peer)
		goto out;
	handshake = &peer->handshake;

	down_write(&handshake->lock);
	ok = handshake->state != WG_HANDSHAKE_DEAD &&
	     noise_static_static(handshake, identity);

	/* ss */
	if (ok)
		wg_noise_kdf(chaining_key, key, NULL, handshake->static_static,
			     NOISE_PUBLIC_KEY_LEN, chaining_key);

	/* {t}: the timestamp payload, then the replay and flood checks */
	ok = ok && noise_decrypt_and_hash(timestamp, src->encrypted_timestamp,
					  sizeof(src->encrypted_timestamp),
					  key, hash);
	now = ktime_get_coarse_boottime_ns();
	ok = ok && noise_initiation_is_fresh(handshake, timestamp, now);
	if (ok) {
		secrets = kzalloc(sizeof(*secrets), GFP_KERNEL);
		ok = !!secrets;
	}
	if (ok) {
		/* Authenticated: this supersedes whatever was in flight. */
		noise_handshake_zero(handshake);
		memcpy(secrets->remote_ephemeral, src->unencrypted_ephemeral,
		       NOISE_PUBLIC_KEY_LEN);
		memcpy(secrets->chaining_key, chaining_key, NOISE_HASH_LEN);
		memcpy(secrets->hash, hash, NOISE_HASH_LEN);
		handshake->secrets = secrets;
		memcpy(handshake->latest_timestamp, timestamp,
		       NOISE_TIMESTAMP_LEN);
		handshake->last_initiation_consumption = now;
		handshake->remote_index = src->sender_index;
		handshake->state = WG_HANDSHAKE_CONSUMED_INITIATION;
	}
	up_write(&handshake->lock);
	if (!ok) {
		wg_peer_put(peer);
		peer = NULL;
	}

out:
	up_read(&identity->lock);
	memzero_explicit(chaining_key, sizeof(chaining_key));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(key, sizeof(key));
	memzero_explicit(timestamp, sizeof(timestamp));
	return peer;
}

static bool noise_create_response(struct wg_message_handshake_response *dst,
				  struct wg_peer *peer,
				  const u8 *fixed_ephemeral)
{
	struct wg_noise_handshake *handshake = &peer->handshake;
	struct wg_noise_handshake_secrets *secrets;
	u8 key[NOISE_SYMMETRIC_KEY_LEN];
	bool ret = false;

	down_write(&handshake->lock);
	if (handshake->state != WG_HANDSHAKE_CONSUMED_INITIATION)
		goto out;
	secrets = handshake->secrets;

	dst->header.type = cpu_to_le32(WG_MESSAGE_HANDSHAKE_RESPONSE);
	dst->receiver_index = handshake->remote_index;

	/* e */
	if (!noise_new_ephemeral(secrets->ephemeral_private,
				 dst->unencrypted_ephemeral, fixed_ephemeral))
		goto out_zero;
	noise_mix_ephemeral(secrets->chaining_key, secrets->hash,
			    dst->unencrypted_ephemeral);

	/* ee */
	if (!noise_mix_dh(secrets->chaining_key, NULL,
			  secrets->ephemeral_private, secrets->remote_ephemeral))
		goto out_zero;

	/* se */
	if (!noise_mix_dh(secrets->chaining_key, NULL,
			  secrets->ephemeral_private, peer->public_key))
		goto out_zero;

	/* psk */
	noise_mix_psk(secrets->chaining_key, secrets->hash, key,
		      handshake->preshared_key);

	/* {}: the empty payload */
	noise_encrypt_and_hash(dst->encrypted_nothing, NULL, 0, key,
			       secrets->hash);

	/* Only the chaining key matters from here on. */
	memzero_explicit(secrets->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	if (wg_index_table_insert(peer->device, &handshake->entry))
		goto out_zero;
	handshake->index_in_table = true;
	dst->sender_index = handshake->entry.index;
	handshake->state = WG_HANDSHAKE_CREATED_RESPONSE;
	ret = true;
	goto out;

out_zero:
	noise_handshake_zero(handshake);
out:
	up_write(&handshake->lock);
	memzero_explicit(key, sizeof(key));
	return ret;
}

bool wg_noise_handshake_create_response(struct wg_message_handshake_response *dst,
					struct wg_peer *peer)
{
	return noise_create_response(dst, peer, NULL);
}

struct wg_peer *
wg_noise_handshake_consume_response(const struct wg_message_handshake_response *src,
				    struct wg_device *wg)
{
	u8 chaining_key[NOISE_HASH_LEN], hash[NOISE_HASH_LEN];
	struct wg_static_identity *identity = &wg->static_identity;
	struct wg_noise_handshake_secrets *secrets;
	u8 key[NOISE_SYMMETRIC_KEY_LEN], nothing[1];
	struct wg_noise_handshake *handshake;
	struct wg_index_entry *entry;
	struct wg_peer *peer = NULL;
	bool ok = false;

	if (src->header.type != cpu_to_le32(WG_MESSAGE_HANDSHAKE_RESPONSE))
		return NULL;
	rcu_read_lock();
	entry = wg_index_table_lookup(wg, WG_INDEX_HANDSHAKE,
				      src->receiver_index, &peer);
	rcu_read_unlock();
	if (!entry)
		return NULL;
	/* Embedded in the peer, which our reference keeps. */
	handshake = container_of(entry, struct wg_noise_handshake, entry);

	down_read(&identity->lock);
	down_write(&handshake->lock);
	/* The index may have moved on since the lookup. */
	if (!identity->has_identity ||
	    handshake->state != WG_HANDSHAKE_CREATED_INITIATION ||
	    handshake->entry.index != src->receiver_index)
		goto out;
	secrets = handshake->secrets;
	memcpy(chaining_key, secrets->chaining_key, NOISE_HASH_LEN);
	memcpy(hash, secrets->hash, NOISE_HASH_LEN);

	/* e */
	noise_mix_ephemeral(chaining_key, hash, src->unencrypted_ephemeral);

	/* ee */
	if (!noise_mix_dh(chaining_key, NULL, secrets->ephemeral_private,
			  src->unencrypted_ephemeral))
		goto out;

	/* se */
	if (!noise_mix_dh(chaining_key, NULL, identity->static_private,
			  src->unencrypted_ephemeral))
		goto out;

	/* psk */
	noise_mix_psk(chaining_key, hash, key, handshake->preshared_key);

	/* {}: the empty payload */
	if (!noise_decrypt_and_hash(nothing, src->encrypted_nothing,
				    sizeof(src->encrypted_nothing), key, hash))
		goto out;

	memcpy(secrets->remote_ephemeral, src->unencrypted_ephemeral,
	       NOISE_PUBLIC_KEY_LEN);
	memcpy(secrets->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(secrets->hash, hash, NOISE_HASH_LEN);
	memzero_explicit(secrets->ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	handshake->remote_index = src->sender_index;
	handshake->state = WG_HANDSHAKE_CONSUMED_RESPONSE;
	ok = true;

out:
	up_write(&handshake->lock);
	up_read(&identity->lock);
	memzero_explicit(chaining_key, sizeof(chaining_key));
	memzero_explicit(hash, sizeof(hash));
	memzero_explicit(key, sizeof(key));
	if (ok)
		return peer;
	wg_peer_put(peer);
	return NULL;
}

bool wg_noise_handshake_begin_session(struct wg_peer *peer)
{
	u8 first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];
	struct wg_noise_handshake *handshake = &peer->handshake;
	struct wg_noise_keypair *keypair;
	bool initiator, ret = false;

	down_write(&handshake->lock);
	if (handshake->state != WG_HANDSHAKE_CREATED_RESPONSE &&
	    handshake->state != WG_HANDSHAKE_CONSUMED_RESPONSE)
		goto out;
	initiator = handshake->state == WG_HANDSHAKE_CONSUMED_RESPONSE;

	/* (T^send_i = T^recv_r, T^recv_i = T^send_r) := KDF2(C, empty) */
	wg_noise_kdf(first, second, NULL, NULL, 0,
		     handshake->secrets->chaining_key);
	keypair = wg_noise_keypair_create(peer, initiator,
					  initiator ? first : second,
					  initiator ? second : first,
					  handshake->remote_index);
	if (!keypair)
		goto out_zero;

	/* Data comes addressed to the index our handshake message gave. */
	if (wg_index_table_replace(peer->device, &handshake->entry,
				   &keypair->entry)) {
		wg_noise_keypair_put(keypair);
		goto out_zero;
	}
	handshake->index_in_table = false;
	/* Under the handshake lock, so peer cleanup cannot miss it. */
	wg_noise_keypairs_install(&peer->keypairs, keypair);
	ret = true;

out_zero:
	noise_handshake_zero(handshake);
out:
	up_write(&handshake->lock);
	memzero_explicit(first, sizeof(first));
	memzero_explicit(second, sizeof(second));
	return ret;
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_noise_handshake_create_initiation_fixed(struct wg_message_handshake_initiation *dst,
						struct wg_peer *peer,
						const u8 *ephemeral_private,
						const u8 *timestamp)
{
	return noise_create_initiation(dst, peer, ephemeral_private, timestamp);
}

bool wg_noise_handshake_create_response_fixed(struct wg_message_handshake_response *dst,
					      struct wg_peer *peer,
					      const u8 *ephemeral_private)
{
	return noise_create_response(dst, peer, ephemeral_private);
}
#endif

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/noise.c"
#endif
