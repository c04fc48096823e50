/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The handshake's defences against denial of service: mac1 and mac2 on
 * every handshake message, and cookie replies (the paper, section 5.4).
 *
 *  - mac1 = MAC(HASH(LABEL_MAC1 || S^pub of the receiver), message up to
 *    mac1).  Anyone who knows the receiver's public key can make it; it
 *    lets the receiver drop noise before any DH.
 *  - mac2 = MAC(cookie, message up to mac2), or zeros without a cookie.
 *    Under load a responder only processes messages with a valid mac2,
 *    proving the sender can receive at its source address.
 *  - cookie = MAC(secret, source IP || source port), where the secret is
 *    random and replaced every COOKIE_SECRET_MAX_AGE.  The responder
 *    sends it in a cookie reply, encrypted with XChaCha20Poly1305 under
 *    HASH(LABEL_COOKIE || its own S^pub), with the mac1 it answers as
 *    associated data.
 * MAC is keyed BLAKE2s-128; HASH is BLAKE2s-256.
 */
#ifndef _WG_COOKIE_H
#define _WG_COOKIE_H

#include <linux/spinlock.h>
#include <linux/types.h>

#include "messages.h"

struct sk_buff;
struct wg_device;
struct wg_peer;

/*
 * Per device: what a receiver needs.  The keys follow the static
 * identity (wg_cookie_checker_set_public_key() on every change); the
 * secret is renewed lazily once older than COOKIE_SECRET_MAX_AGE.  All
 * under @lock (_bh: the receive path may check macs in softirq).
 */
struct wg_cookie_checker {
	u8 secret[NOISE_HASH_LEN];
	u8 cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	u8 message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	u64 secret_birthdate;		/* coarse boottime, ns */
	rwlock_t lock;
};

/*
 * Per peer, embedded in struct wg_peer: what a sender needs.  The peer's
 * mac1 and cookie keys are derived from peer->public_key on use, which
 * costs one small hash per handshake message and saves 64 bytes a peer.
 * All under @lock (_bh).
 */
struct wg_cookie {
	u64 birthdate;			/* of @cookie, coarse boottime, ns */
	u8 cookie[WG_COOKIE_LEN];
	/* The associated data a cookie reply for our last message has. */
	u8 last_mac1_sent[WG_COOKIE_LEN];
	raw_spinlock_t lock;	/* everything here; raw: see wg_peer */
	bool is_valid;
	/* Cleared by a reply: one reply per message we sent. */
	bool have_sent_mac1;
};

enum wg_cookie_mac_state {
	WG_COOKIE_MAC_INVALID,		/* mac1 wrong: drop silently */
	WG_COOKIE_MAC_VALID_NO_COOKIE,	/* mac1 right; mac2 wrong or unchecked */
	WG_COOKIE_MAC_VALID_WITH_COOKIE,	/* and mac2 proves the source */
};

void wg_cookie_checker_init(struct wg_cookie_checker *checker);
/* Our public key changed (NULL: no identity).  Process context. */
void wg_cookie_checker_set_public_key(struct wg_cookie_checker *checker,
				      const u8 *public_key);
/* The device is going away: wipes the secret and the keys. */
void wg_cookie_checker_wipe(struct wg_cookie_checker *checker);

void wg_cookie_init(struct wg_cookie *cookie);

/*
 * @skb->data is a whole handshake message (initiation or response) in
 * the linear area, and the skb's network and transport headers are the
 * IPv4 or IPv6 and UDP headers it came in.  mac2 is checked only when
 * @check_cookie (we are under load).
 */
enum wg_cookie_mac_state
wg_cookie_validate_packet(struct wg_cookie_checker *checker,
			  struct sk_buff *skb, bool check_cookie);

/*
 * Fills the macs of an outgoing initiation or response of @len bytes to
 * @peer, and remembers mac1 for a cookie reply.
 */
void wg_cookie_add_mac_to_packet(void *message, size_t len,
				 struct wg_peer *peer);

/*
 * Answers the handshake message in @skb (as for validate) with a cookie
 * for its source.  False when @skb holds no handshake message.
 */
bool wg_cookie_message_create(struct wg_message_handshake_cookie *dst,
			      struct sk_buff *skb,
			      struct wg_cookie_checker *checker);

/*
 * Stores the cookie of a reply to our last handshake message; false if it
 * answers nothing we sent or does not authenticate.  Any context.
 */
bool wg_cookie_message_consume(const struct wg_message_handshake_cookie *src,
			       struct wg_device *wg);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_cookie_selftest(void);
#endif

#endif /* _WG_COOKIE_H */
