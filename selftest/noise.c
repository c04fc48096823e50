// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of the handshake (CONFIG_WIREGUARD_MPSC_DEBUG), run at module
 * load between devices that have no net_device (fake_device.h):
 *  - HMAC-BLAKE2s and the KDF, and one whole handshake with fixed keys,
 *    against vectors from an independent model (noise_vectors.py);
 *  - complete handshakes with and without a preshared key, ending in
 *    crossed keys and indices, and the responder's next -> current
 *    promotion on first receipt;
 *  - every byte the Noise processing covers, flipped, is refused, and a
 *    refused message changes nothing;
 *  - replayed and flooding initiations, and unknown initiators, are
 *    refused.
 */
#include <crypto/algapi.h>
#include <linux/ktime.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "fake_device.h"
#include "noise_vectors.h"

#define st_fail(fmt, ...) \
	pr_err("noise self-test: " fmt "\n", ##__VA_ARGS__)

#define st_check(cond, fmt, ...) ({				\
	bool __ok = (cond);					\
	if (!__ok)						\
		st_fail("%s: " fmt, __func__, ##__VA_ARGS__);	\
	__ok;							\
})

static bool test_kdf_vectors(void)
{
	u8 out1[NOISE_HASH_LEN], out2[NOISE_HASH_LEN], out3[NOISE_HASH_LEN];
	bool ok = true;

	wg_noise_hmac(out1, kat_hmac_in, sizeof(kat_hmac_in), kat_hmac_key,
		      sizeof(kat_hmac_key));
	ok &= st_check(!memcmp(out1, kat_hmac_out, sizeof(out1)), "hmac");

	wg_noise_kdf(out1, out2, out3, kat_hmac_in, sizeof(kat_hmac_in),
		     kat_hmac_key);
	ok &= st_check(!memcmp(out1, kat_kdf_out1, sizeof(out1)) &&
		       !memcmp(out2, kat_kdf_out2, sizeof(out2)) &&
		       !memcmp(out3, kat_kdf_out3, sizeof(out3)), "kdf3");

	/* Fewer outputs are prefixes of the same sequence. */
	memset(out2, 0, sizeof(out2));
	wg_noise_kdf(NULL, out2, NULL, kat_hmac_in, sizeof(kat_hmac_in),
		     kat_hmac_key);
	ok &= st_check(!memcmp(out2, kat_kdf_out2, sizeof(out2)), "kdf2");

	/* The chaining key may be an output, as in C := KDF1(C, x). */
	memcpy(out1, kat_hmac_key, sizeof(out1));
	wg_noise_kdf(out1, NULL, NULL, kat_hmac_in, sizeof(kat_hmac_in), out1);
	ok &= st_check(!memcmp(out1, kat_kdf_out1, sizeof(out1)), "kdf1 alias");
	return ok;
}

static struct wg_noise_keypair *slot(struct wg_noise_keypair __rcu **slot)
{
	/* Tests run alone: the pointer cannot change under us. */
	return rcu_dereference_protected(*slot, true);
}

/* Lets the responder take the next initiation from the same initiator. */
static void forget_initiations(struct wg_noise_handshake *handshake)
{
	down_write(&handshake->lock);
	memset(handshake->latest_timestamp, 0, NOISE_TIMESTAMP_LEN);
	handshake->last_initiation_consumption = 0;
	up_write(&handshake->lock);
}

static bool keypairs_match(struct wg_fake_pair *pair)
{
	struct wg_noise_keypair *ka, *kb;
	bool ok = true;

	ka = slot(&pair->a_peer->keypairs.current_keypair);
	kb = slot(&pair->b_peer->keypairs.next_keypair);
	if (!st_check(ka && kb, "no keypairs (a %p, b next %p)", ka, kb))
		return false;
	ok &= st_check(ka->i_am_the_initiator && !kb->i_am_the_initiator,
		       "roles");
	ok &= st_check(!crypto_memneq(ka->sending.key, kb->receiving.key,
				      NOISE_SYMMETRIC_KEY_LEN) &&
		       !crypto_memneq(ka->receiving.key, kb->sending.key,
				      NOISE_SYMMETRIC_KEY_LEN), "keys differ");
	ok &= st_check(crypto_memneq(ka->sending.key, ka->receiving.key,
				     NOISE_SYMMETRIC_KEY_LEN), "same key twice");
	ok &= st_check(ka->remote_index == kb->entry.index &&
		       kb->remote_index == ka->entry.index, "indices");
	ok &= st_check(ka->sending.is_valid && kb->receiving.is_valid &&
		       ka->entry.type == WG_INDEX_KEYPAIR, "flags");
	ok &= st_check(!pair->a_peer->handshake.secrets &&
		       !pair->b_peer->handshake.secrets &&
		       pair->a_peer->handshake.state == WG_HANDSHAKE_ZEROED &&
		       pair->b_peer->handshake.state == WG_HANDSHAKE_ZEROED,
		       "handshake not zeroed");
	return ok;
}

/* Initiation from a to b, response back, both sessions begun. */
static bool run_handshake(struct wg_fake_pair *pair)
{
	struct wg_message_handshake_initiation init;
	struct wg_message_handshake_response resp;
	struct wg_peer *peer;
	bool ok;

	if (!st_check(wg_noise_handshake_create_initiation(&init, pair->a_peer),
		      "create initiation"))
		return false;
	wg_cookie_add_mac_to_packet(&init, sizeof(init), pair->a_peer);
	peer = wg_noise_handshake_consume_initiation(&init, pair->b);
	ok = st_check(peer == pair->b_peer, "consume initiation: %p", peer);
	wg_peer_put(peer);
	if (!ok)
		return false;
	if (!st_check(wg_noise_handshake_create_response(&resp, pair->b_peer),
		      "create response") ||
	    !st_check(wg_noise_handshake_begin_session(pair->b_peer),
		      "responder session"))
		return false;
	wg_cookie_add_mac_to_packet(&resp, sizeof(resp), pair->b_peer);
	peer = wg_noise_handshake_consume_response(&resp, pair->a);
	ok = st_check(peer == pair->a_peer, "consume response: %p", peer);
	wg_peer_put(peer);
	return ok && st_check(wg_noise_handshake_begin_session(pair->a_peer),
			      "initiator session");
}

static bool test_full_handshake(const u8 *preshared_key)
{
	struct wg_noise_keypairs *kb;
	struct wg_noise_keypair *next;
	struct wg_index_entry *entry;
	struct wg_fake_pair pair;
	struct wg_peer *peer;
	bool ok = false;

	if (!st_check(wg_fake_pair_create(&pair, NULL, NULL, preshared_key),
		      "devices"))
		goto out;
	if (!run_handshake(&pair) || !keypairs_match(&pair))
		goto out;

	/* Data for a's keypair finds it by the index b addresses it with. */
	rcu_read_lock();
	entry = wg_index_table_lookup(pair.a, WG_INDEX_KEYPAIR,
				      slot(&pair.b_peer->keypairs.next_keypair)->remote_index,
				      &peer);
	rcu_read_unlock();
	ok = st_check(entry == &slot(&pair.a_peer->keypairs.current_keypair)->entry &&
		      peer == pair.a_peer, "keypair index lookup");
	if (entry)
		wg_peer_put(peer);

	/* The responder sends with next only once the initiator has. */
	kb = &pair.b_peer->keypairs;
	next = slot(&kb->next_keypair);
	ok &= st_check(!slot(&kb->current_keypair), "responder current early");
	ok &= st_check(!wg_noise_keypair_received_with(kb, NULL),
		       "promoted by another keypair");
	ok &= st_check(wg_noise_keypair_received_with(kb, next) &&
		       slot(&kb->current_keypair) == next &&
		       !slot(&kb->next_keypair), "no promotion");
	ok &= st_check(!wg_noise_keypair_received_with(kb, next),
		       "promoted twice");

	/* A second session rotates current into previous on both sides. */
	forget_initiations(&pair.b_peer->handshake);
	if (ok && run_handshake(&pair)) {
		ok &= st_check(slot(&pair.a_peer->keypairs.previous_keypair) &&
			       slot(&kb->current_keypair) == next &&
			       slot(&kb->next_keypair), "second session");
		ok &= st_check(wg_noise_keypair_received_with(kb,
							      slot(&kb->next_keypair)) &&
			       slot(&kb->previous_keypair) == next,
			       "second promotion");
	} else {
		ok = false;
	}
	wg_noise_keypairs_expire(&pair.a_peer->keypairs);
	ok &= st_check(!slot(&pair.a_peer->keypairs.current_keypair)->sending.is_valid,
		       "expire");
	wg_noise_keypairs_clear(&pair.a_peer->keypairs);
	ok &= st_check(!slot(&pair.a_peer->keypairs.current_keypair) &&
		       !slot(&pair.a_peer->keypairs.previous_keypair), "clear");
out:
	wg_fake_pair_destroy(&pair);
	return ok;
}

/* The bytes of each message that Noise authenticates or checks. */
static bool initiation_byte_is_covered(size_t i)
{
	/* The sender index is only under mac1 (cookie.c). */
	return i < offsetof(struct wg_message_handshake_initiation, sender_index) ||
	       (i >= offsetof(struct wg_message_handshake_initiation,
			      unencrypted_ephemeral) &&
		i < offsetof(struct wg_message_handshake_initiation, macs));
}

static bool response_byte_is_covered(size_t i)
{
	return i < offsetof(struct wg_message_handshake_response, sender_index) ||
	       (i >= offsetof(struct wg_message_handshake_response,
			      receiver_index) &&
		i < offsetof(struct wg_message_handshake_response, macs));
}

static bool test_flipped_bytes(void)
{
	struct wg_message_handshake_initiation init, bad_init;
	struct wg_message_handshake_response resp, bad_resp;
	struct wg_fake_pair pair;
	struct wg_peer *peer;
	unsigned int i, tried = 0;
	bool ok = false;

	if (!st_check(wg_fake_pair_create(&pair, NULL, NULL, kat_psk),
		      "devices") ||
	    !st_check(wg_noise_handshake_create_initiation(&init, pair.a_peer),
		      "create initiation"))
		goto out;

	ok = true;
	for (i = 0; i < sizeof(init); ++i) {
		if (!initiation_byte_is_covered(i))
			continue;
		bad_init = init;
		((u8 *)&bad_init)[i] ^= 1U << (i % 8);
		peer = wg_noise_handshake_consume_initiation(&bad_init, pair.b);
		ok &= st_check(!peer, "initiation byte %u accepted", i);
		wg_peer_put(peer);
		++tried;
	}
	ok &= st_check(pair.b_peer->handshake.state == WG_HANDSHAKE_ZEROED &&
		       !pair.b_peer->handshake.secrets &&
		       !memchr_inv(pair.b_peer->handshake.latest_timestamp, 0,
				   NOISE_TIMESTAMP_LEN),
		       "rejected initiations changed the responder");
	peer = wg_noise_handshake_consume_initiation(&init, pair.b);
	ok &= st_check(peer == pair.b_peer, "original initiation refused");
	wg_peer_put(peer);
	if (!ok)
		goto out_fail;
	if (!st_check(wg_noise_handshake_create_response(&resp, pair.b_peer),
		      "create response"))
		goto out_fail;

	for (i = 0; i < sizeof(resp); ++i) {
		if (!response_byte_is_covered(i))
			continue;
		bad_resp = resp;
		((u8 *)&bad_resp)[i] ^= 1U << (i % 8);
		peer = wg_noise_handshake_consume_response(&bad_resp, pair.a);
		ok &= st_check(!peer, "response byte %u accepted", i);
		wg_peer_put(peer);
		++tried;
	}
	ok &= st_check(pair.a_peer->handshake.state ==
		       WG_HANDSHAKE_CREATED_INITIATION,
		       "rejected responses changed the initiator");
	peer = wg_noise_handshake_consume_response(&resp, pair.a);
	ok &= st_check(peer == pair.a_peer, "original response refused");
	wg_peer_put(peer);
	ok &= st_check(tried == 4 + 108 + 4 + 52, "flipped %u bytes", tried);
	goto out;

out_fail:
	ok = false;
out:
	wg_fake_pair_destroy(&pair);
	return ok;
}

/* TAI64N of about now, with the nanoseconds rounded down to 2^24. */
static bool check_timestamp(const u8 timestamp[NOISE_TIMESTAMP_LEN])
{
	s64 seconds = get_unaligned_be64(timestamp) - 0x400000000000000aULL;
	u32 nanoseconds = get_unaligned_be32(timestamp + 8);

	return st_check(abs(seconds - ktime_get_real_seconds()) <= 5 &&
			nanoseconds < NSEC_PER_SEC &&
			!(nanoseconds & ((1U << 24) - 1)),
			"timestamp %lld.%09u", seconds, nanoseconds);
}

static bool test_replay_flood_unknown(void)
{
	struct wg_message_handshake_initiation init;
	struct wg_noise_handshake *hs;
	struct wg_fake_pair pair = { 0 };
	struct wg_device *stranger;
	struct wg_peer *peer;
	unsigned int tries;
	bool ok = false;
	u64 start;

	stranger = wg_fake_device_create(NULL);
	if (!st_check(stranger && wg_fake_pair_create(&pair, NULL, NULL, NULL),
		      "devices"))
		goto out;
	hs = &pair.b_peer->handshake;

	if (!st_check(wg_noise_handshake_create_initiation(&init, pair.a_peer),
		      "create initiation"))
		goto out;
	peer = wg_noise_handshake_consume_initiation(&init, pair.b);
	ok = st_check(peer == pair.b_peer, "first initiation refused");
	wg_peer_put(peer);
	ok &= check_timestamp(hs->latest_timestamp);

	/* Replay: long after, but with a timestamp already seen. */
	down_write(&hs->lock);
	hs->last_initiation_consumption -= NSEC_PER_SEC;
	up_write(&hs->lock);
	peer = wg_noise_handshake_consume_initiation(&init, pair.b);
	ok &= st_check(!peer, "replayed initiation accepted");
	wg_peer_put(peer);

	/*
	 * Flood: a timestamp never seen, but within 1/50 s of the last one
	 * consumed.  A slow machine may take longer than that for the
	 * consumption itself; such a try proves nothing and is repeated.
	 */
	for (tries = 0; tries < 10; ++tries) {
		down_write(&hs->lock);
		memset(hs->latest_timestamp, 0, NOISE_TIMESTAMP_LEN);
		start = ktime_get_coarse_boottime_ns();
		hs->last_initiation_consumption = start;
		up_write(&hs->lock);
		peer = wg_noise_handshake_consume_initiation(&init, pair.b);
		if (!peer)
			break;
		wg_peer_put(peer);
		if (!st_check(ktime_get_coarse_boottime_ns() - start >=
			      NSEC_PER_SEC / WG_INITIATIONS_PER_SECOND,
			      "flooding initiation accepted")) {
			ok = false;
			break;
		}
	}
	ok &= st_check(tries < 10, "flood check never ran in time");

	/* An initiator b has never heard of. */
	peer = wg_fake_peer_add(stranger, pair.b->static_identity.static_public,
				NULL);
	ok &= st_check(peer && wg_noise_handshake_create_initiation(&init, peer),
		       "stranger's initiation");
	peer = wg_noise_handshake_consume_initiation(&init, pair.b);
	ok &= st_check(!peer, "unknown initiator accepted");
	wg_peer_put(peer);
out:
	wg_fake_pair_destroy(&pair);
	wg_fake_device_destroy(stranger);
	return ok;
}

/* A handshake with fixed keys gives exactly the independent model's bytes. */
static bool test_handshake_vectors(void)
{
	struct wg_message_handshake_initiation init, init_copy;
	struct wg_message_handshake_response resp, resp_copy;
	struct wg_noise_keypair *ka, *kb;
	struct wg_fake_pair pair;
	struct wg_peer *peer;
	bool ok = false;

	if (!st_check(wg_fake_pair_create(&pair, kat_static_private_i,
					  kat_static_private_r, kat_psk),
		      "devices") ||
	    !st_check(wg_noise_handshake_create_initiation_fixed(&init,
								  pair.a_peer,
								  kat_ephemeral_private_i,
								  kat_timestamp),
		      "create initiation"))
		goto out;
	/* Everything but the random sender index, which only mac1 covers. */
	init_copy = init;
	init_copy.sender_index = cpu_to_le32(KAT_SENDER_I);
	ok = st_check(!memcmp(&init_copy, kat_initiation,
			      sizeof(kat_initiation)), "initiation bytes");
	wg_cookie_add_mac_to_packet(&init_copy, sizeof(init_copy), pair.a_peer);
	ok &= st_check(!memcmp(init_copy.macs.mac1, kat_initiation_mac1,
			       WG_COOKIE_LEN), "initiation mac1");

	peer = wg_noise_handshake_consume_initiation(&init, pair.b);
	ok &= st_check(peer == pair.b_peer, "consume initiation");
	wg_peer_put(peer);
	if (!ok)
		goto out_fail;
	ok = wg_noise_handshake_create_response_fixed(&resp, pair.b_peer,
						      kat_ephemeral_private_r);
	if (!st_check(ok, "create response"))
		goto out_fail;
	resp_copy = resp;
	resp_copy.sender_index = cpu_to_le32(KAT_SENDER_R);
	resp_copy.receiver_index = cpu_to_le32(KAT_SENDER_I);
	ok &= st_check(!memcmp(&resp_copy, kat_response, sizeof(kat_response)),
		       "response bytes");
	wg_cookie_add_mac_to_packet(&resp_copy, sizeof(resp_copy), pair.b_peer);
	ok &= st_check(!memcmp(resp_copy.macs.mac1, kat_response_mac1,
			       WG_COOKIE_LEN), "response mac1");

	ok &= st_check(wg_noise_handshake_begin_session(pair.b_peer),
		       "responder session");
	peer = wg_noise_handshake_consume_response(&resp, pair.a);
	ok &= st_check(peer == pair.a_peer, "consume response");
	wg_peer_put(peer);
	ok &= st_check(wg_noise_handshake_begin_session(pair.a_peer),
		       "initiator session");
	if (!ok)
		goto out;
	ka = slot(&pair.a_peer->keypairs.current_keypair);
	kb = slot(&pair.b_peer->keypairs.next_keypair);
	ok &= st_check(!memcmp(ka->sending.key, kat_key_i_to_r,
			       NOISE_SYMMETRIC_KEY_LEN) &&
		       !memcmp(ka->receiving.key, kat_key_r_to_i,
			       NOISE_SYMMETRIC_KEY_LEN) &&
		       !memcmp(kb->sending.key, kat_key_r_to_i,
			       NOISE_SYMMETRIC_KEY_LEN) &&
		       !memcmp(kb->receiving.key, kat_key_i_to_r,
			       NOISE_SYMMETRIC_KEY_LEN), "transport keys");
	goto out;

out_fail:
	ok = false;
out:
	wg_fake_pair_destroy(&pair);
	return ok;
}

bool wg_noise_selftest(void)
{
	bool ok = true;

	ok &= test_kdf_vectors();
	ok &= test_handshake_vectors();
	ok &= test_full_handshake(NULL);
	ok &= test_full_handshake(kat_psk);
	ok &= test_flipped_bytes();
	ok &= test_replay_flood_unknown();

	if (ok)
		pr_info("noise self-tests: pass\n");
	else
		pr_err("noise self-tests: fail\n");
	return ok;
}
