// SPDX-License-Identifier: GPL-2.0
/*
 * mac1, mac2 and cookie replies (see cookie.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <crypto/blake2s.h>
#include <crypto/chacha20poly1305.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/random.h>
#include <linux/skbuff.h>
#include <linux/udp.h>

#include "compat.h"
#include "cookie.h"
#include "device.h"
#include "noise.h"
#include "peer.h"
#include "peerlookup.h"

enum { WG_COOKIE_LABEL_LEN = 8 };
static const u8 cookie_label_mac1[WG_COOKIE_LABEL_LEN + 1] = "mac1----";
static const u8 cookie_label_cookie[WG_COOKIE_LABEL_LEN + 1] = "cookie--";

/* A cookie reply names the sender index of either handshake message. */
static_assert(offsetof(struct wg_message_handshake_initiation, sender_index) ==
	      offsetof(struct wg_message_handshake_response, sender_index));

/* key := HASH(label || public key) */
static void cookie_derive_key(u8 key[NOISE_SYMMETRIC_KEY_LEN], const u8 *label,
			      const u8 public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct blake2s_ctx state;

	blake2s_init(&state, NOISE_SYMMETRIC_KEY_LEN);
	blake2s_update(&state, label, WG_COOKIE_LABEL_LEN);
	blake2s_update(&state, public_key, NOISE_PUBLIC_KEY_LEN);
	blake2s_final(&state, key);
	memzero_explicit(&state, sizeof(state));
}

/* out := MAC(key, data), keyed BLAKE2s-128 */
static void cookie_mac(u8 out[WG_COOKIE_LEN], const u8 *data, size_t len,
		       const u8 *key, size_t key_len)
{
	struct blake2s_ctx state;

	blake2s_init_key(&state, WG_COOKIE_LEN, key, key_len);
	blake2s_update(&state, data, len);
	blake2s_final(&state, out);
	memzero_explicit(&state, sizeof(state));
}

/*
 * The handshake message at @skb->data and its length, or NULL.  The type
 * decides the length, so the macs are found the same way for both kinds.
 */
static u8 *cookie_skb_message(struct sk_buff *skb, size_t *len)
{
	const struct wg_message_header *header = (void *)skb->data;

	if (skb_headlen(skb) < sizeof(*header))
		return NULL;
	if (header->type == cpu_to_le32(WG_MESSAGE_HANDSHAKE_INITIATION))
		*len = WG_HANDSHAKE_INITIATION_LEN;
	else if (header->type == cpu_to_le32(WG_MESSAGE_HANDSHAKE_RESPONSE))
		*len = WG_HANDSHAKE_RESPONSE_LEN;
	else
		return NULL;
	return skb_headlen(skb) >= *len ? skb->data : NULL;
}

static struct wg_message_macs *cookie_message_macs(u8 *message, size_t len)
{
	return (struct wg_message_macs *)(message + len -
					  sizeof(struct wg_message_macs));
}

void wg_cookie_checker_init(struct wg_cookie_checker *checker)
{
	memset(checker, 0, sizeof(*checker));
	rwlock_init(&checker->lock);
	get_random_bytes(checker->secret, sizeof(checker->secret));
	checker->secret_birthdate = ktime_get_coarse_boottime_ns();
}

void wg_cookie_checker_set_public_key(struct wg_cookie_checker *checker,
				      const u8 *public_key)
{
	u8 mac1_key[NOISE_SYMMETRIC_KEY_LEN] = { 0 };
	u8 cookie_key[NOISE_SYMMETRIC_KEY_LEN] = { 0 };

	/* Without an identity, no handshake can succeed anyway. */
	if (public_key) {
		cookie_derive_key(mac1_key, cookie_label_mac1, public_key);
		cookie_derive_key(cookie_key, cookie_label_cookie, public_key);
	}
	write_lock_bh(&checker->lock);
	memcpy(checker->message_mac1_key, mac1_key, sizeof(mac1_key));
	memcpy(checker->cookie_encryption_key, cookie_key, sizeof(cookie_key));
	write_unlock_bh(&checker->lock);
	memzero_explicit(mac1_key, sizeof(mac1_key));
	memzero_explicit(cookie_key, sizeof(cookie_key));
}

void wg_cookie_checker_wipe(struct wg_cookie_checker *checker)
{
	write_lock_bh(&checker->lock);
	memzero_explicit(checker->secret, sizeof(checker->secret));
	memzero_explicit(checker->message_mac1_key,
			 sizeof(checker->message_mac1_key));
	memzero_explicit(checker->cookie_encryption_key,
			 sizeof(checker->cookie_encryption_key));
	/* Should anything still ask, it gets a new secret. */
	checker->secret_birthdate = 0;
	write_unlock_bh(&checker->lock);
}

/* Replaces the secret once it is older than COOKIE_SECRET_MAX_AGE. */
static void cookie_checker_renew_secret(struct wg_cookie_checker *checker)
{
	bool expired;

	read_lock_bh(&checker->lock);
	expired = !checker->secret_birthdate ||
		  wg_birthdate_has_expired(checker->secret_birthdate,
					   WG_COOKIE_SECRET_MAX_AGE);
	read_unlock_bh(&checker->lock);
	if (likely(!expired))
		return;

	write_lock_bh(&checker->lock);
	if (!checker->secret_birthdate ||
	    wg_birthdate_has_expired(checker->secret_birthdate,
				     WG_COOKIE_SECRET_MAX_AGE)) {
		get_random_bytes(checker->secret, sizeof(checker->secret));
		checker->secret_birthdate = ktime_get_coarse_boottime_ns();
	}
	write_unlock_bh(&checker->lock);
}

/* cookie := MAC(secret, source address || source port) */
static bool cookie_compute(u8 cookie[WG_COOKIE_LEN],
			   struct wg_cookie_checker *checker,
			   struct sk_buff *skb)
{
	struct blake2s_ctx state;
	const void *addr;
	size_t addr_len;

	if (skb->protocol == htons(ETH_P_IP)) {
		addr = &ip_hdr(skb)->saddr;
		addr_len = sizeof(ip_hdr(skb)->saddr);
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		addr = &ipv6_hdr(skb)->saddr;
		addr_len = sizeof(ipv6_hdr(skb)->saddr);
	} else {
		return false;
	}

	cookie_checker_renew_secret(checker);
	read_lock_bh(&checker->lock);
	blake2s_init_key(&state, WG_COOKIE_LEN, checker->secret,
			 sizeof(checker->secret));
	read_unlock_bh(&checker->lock);
	blake2s_update(&state, addr, addr_len);
	blake2s_update(&state, (const u8 *)&udp_hdr(skb)->source,
		       sizeof(udp_hdr(skb)->source));
	blake2s_final(&state, cookie);
	memzero_explicit(&state, sizeof(state));
	return true;
}

enum wg_cookie_mac_state
wg_cookie_validate_packet(struct wg_cookie_checker *checker,
			  struct sk_buff *skb, bool check_cookie)
{
	enum wg_cookie_mac_state ret = WG_COOKIE_MAC_INVALID;
	u8 computed[WG_COOKIE_LEN], cookie[WG_COOKIE_LEN];
	struct wg_message_macs *macs;
	size_t len;
	u8 *message;

	message = cookie_skb_message(skb, &len);
	if (!message)
		return WG_COOKIE_MAC_INVALID;
	macs = cookie_message_macs(message, len);

	read_lock_bh(&checker->lock);
	cookie_mac(computed, message, macs->mac1 - message,
		   checker->message_mac1_key,
		   sizeof(checker->message_mac1_key));
	read_unlock_bh(&checker->lock);
	if (crypto_memneq(computed, macs->mac1, WG_COOKIE_LEN))
		goto out;
	ret = WG_COOKIE_MAC_VALID_NO_COOKIE;
	if (!check_cookie || !cookie_compute(cookie, checker, skb))
		goto out;
	cookie_mac(computed, message, macs->mac2 - message, cookie,
		   WG_COOKIE_LEN);
	if (!crypto_memneq(computed, macs->mac2, WG_COOKIE_LEN))
		ret = WG_COOKIE_MAC_VALID_WITH_COOKIE;
out:
	memzero_explicit(computed, sizeof(computed));
	memzero_explicit(cookie, sizeof(cookie));
	return ret;
}

void wg_cookie_add_mac_to_packet(void *message, size_t len,
				 struct wg_peer *peer)
{
	struct wg_message_macs *macs = cookie_message_macs(message, len);
	struct wg_cookie *cookie = &peer->latest_cookie;
	u8 key[NOISE_SYMMETRIC_KEY_LEN];

	cookie_derive_key(key, cookie_label_mac1, peer->public_key);
	cookie_mac(macs->mac1, message, macs->mac1 - (u8 *)message, key,
		   sizeof(key));
	memzero_explicit(key, sizeof(key));

	spin_lock_bh(&cookie->lock);
	memcpy(cookie->last_mac1_sent, macs->mac1, WG_COOKIE_LEN);
	cookie->have_sent_mac1 = true;
	/* Trust a cookie less long than the secret behind it lives. */
	if (cookie->is_valid &&
	    !wg_birthdate_has_expired(cookie->birthdate,
				      WG_COOKIE_SECRET_MAX_AGE -
				      WG_COOKIE_SECRET_LATENCY))
		cookie_mac(macs->mac2, message, macs->mac2 - (u8 *)message,
			   cookie->cookie, WG_COOKIE_LEN);
	else
		memset(macs->mac2, 0, WG_COOKIE_LEN);
	spin_unlock_bh(&cookie->lock);
}

bool wg_cookie_message_create(struct wg_message_handshake_cookie *dst,
			      struct sk_buff *skb,
			      struct wg_cookie_checker *checker)
{
	const struct wg_message_handshake_initiation *answered;
	const struct wg_message_macs *macs;
	u8 cookie[WG_COOKIE_LEN];
	size_t len;
	u8 *message;

	message = cookie_skb_message(skb, &len);
	if (!message || !cookie_compute(cookie, checker, skb))
		return false;
	answered = (const void *)message;
	macs = cookie_message_macs(message, len);

	dst->header.type = cpu_to_le32(WG_MESSAGE_HANDSHAKE_COOKIE);
	dst->receiver_index = answered->sender_index;
	get_random_bytes(dst->nonce, sizeof(dst->nonce));
	read_lock_bh(&checker->lock);
	xchacha20poly1305_encrypt(dst->encrypted_cookie, cookie, WG_COOKIE_LEN,
				  macs->mac1, WG_COOKIE_LEN, dst->nonce,
				  checker->cookie_encryption_key);
	read_unlock_bh(&checker->lock);
	memzero_explicit(cookie, sizeof(cookie));
	return true;
}

bool wg_cookie_message_consume(const struct wg_message_handshake_cookie *src,
			       struct wg_device *wg)
{
	u8 key[NOISE_SYMMETRIC_KEY_LEN], value[WG_COOKIE_LEN];
	struct wg_index_entry *entry;
	struct wg_peer *peer = NULL;
	struct wg_cookie *cookie;
	bool ok = false;

	if (src->header.type != cpu_to_le32(WG_MESSAGE_HANDSHAKE_COOKIE))
		return false;
	/* A responder's index has passed to the keypair by now. */
	rcu_read_lock();
	entry = wg_index_table_lookup(wg, WG_INDEX_HANDSHAKE | WG_INDEX_KEYPAIR,
				      src->receiver_index, &peer);
	rcu_read_unlock();
	if (!entry)
		return false;
	cookie = &peer->latest_cookie;

	cookie_derive_key(key, cookie_label_cookie, peer->public_key);
	spin_lock_bh(&cookie->lock);
	if (cookie->have_sent_mac1)
		ok = xchacha20poly1305_decrypt(value, src->encrypted_cookie,
					       sizeof(src->encrypted_cookie),
					       cookie->last_mac1_sent,
					       WG_COOKIE_LEN, src->nonce, key);
	if (ok) {
		memcpy(cookie->cookie, value, WG_COOKIE_LEN);
		cookie->birthdate = ktime_get_coarse_boottime_ns();
		cookie->is_valid = true;
		cookie->have_sent_mac1 = false;
	}
	spin_unlock_bh(&cookie->lock);

	memzero_explicit(key, sizeof(key));
	memzero_explicit(value, sizeof(value));
	wg_peer_put(peer);
	return ok;
}

void wg_cookie_init(struct wg_cookie *cookie)
{
	memset(cookie, 0, sizeof(*cookie));
	spin_lock_init(&cookie->lock);
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/cookie.c"
#endif
