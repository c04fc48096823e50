// SPDX-License-Identifier: GPL-2.0
/*
 * Self-tests of mac1, mac2 and cookie replies (CONFIG_WIREGUARD_MPSC_DEBUG)
 * between devices without a net_device (fake_device.h).  Received
 * messages are put in skbs with hand-made IPv4/IPv6 and UDP headers, as
 * the receive path will hand them over.
 */
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/skbuff.h>
#include <linux/udp.h>

#include "fake_device.h"

#define st_fail(fmt, ...) \
	pr_err("cookie self-test: " fmt "\n", ##__VA_ARGS__)

#define st_check(cond, fmt, ...) ({				\
	bool __ok = (cond);					\
	if (!__ok)						\
		st_fail("%s: " fmt, __func__, ##__VA_ARGS__);	\
	__ok;							\
})

/* Where a message came from: IPv4 when @addr6 is NULL. */
struct st_source {
	__be32 addr4;
	const struct in6_addr *addr6;
	__be16 port;
};

static const struct in6_addr st_addr6 = {
	.s6_addr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x01 },
};

/* @message as received from @src, with skb->data at the message. */
static struct sk_buff *st_skb(const void *message, size_t len,
			      const struct st_source *src)
{
	size_t headroom = sizeof(struct ipv6hdr) + sizeof(struct udphdr);
	struct sk_buff *skb = alloc_skb(headroom + len, GFP_KERNEL);
	struct udphdr *udp;

	if (!skb)
		return NULL;
	skb_reserve(skb, headroom);
	skb_put_data(skb, message, len);
	udp = skb_push(skb, sizeof(*udp));
	skb_reset_transport_header(skb);
	memset(udp, 0, sizeof(*udp));
	udp->source = src->port;
	udp->dest = htons(51820);
	udp->len = htons(sizeof(*udp) + len);
	if (src->addr6) {
		struct ipv6hdr *ip6 = skb_push(skb, sizeof(*ip6));

		memset(ip6, 0, sizeof(*ip6));
		ip6->version = 6;
		ip6->nexthdr = IPPROTO_UDP;
		ip6->saddr = *src->addr6;
		skb->protocol = htons(ETH_P_IPV6);
	} else {
		struct iphdr *ip = skb_push(skb, sizeof(*ip));

		memset(ip, 0, sizeof(*ip));
		ip->version = 4;
		ip->ihl = 5;
		ip->protocol = IPPROTO_UDP;
		ip->saddr = src->addr4;
		skb->protocol = htons(ETH_P_IP);
	}
	skb_reset_network_header(skb);
	skb_pull(skb, skb_transport_offset(skb) + sizeof(*udp));
	return skb;
}

static enum wg_cookie_mac_state st_validate(struct wg_device *wg,
					    const void *message, size_t len,
					    const struct st_source *src,
					    bool under_load)
{
	struct sk_buff *skb = st_skb(message, len, src);
	enum wg_cookie_mac_state state = WG_COOKIE_MAC_INVALID;

	if (skb) {
		state = wg_cookie_validate_packet(&wg->cookie_checker, skb,
						  under_load);
		kfree_skb(skb);
	}
	return state;
}

static bool st_reply(struct wg_device *wg, const void *message, size_t len,
		     const struct st_source *src,
		     struct wg_message_handshake_cookie *reply)
{
	struct sk_buff *skb = st_skb(message, len, src);
	bool ok;

	if (!skb)
		return false;
	ok = wg_cookie_message_create(reply, skb, &wg->cookie_checker);
	kfree_skb(skb);
	return ok;
}

/* mac1: right key, every covered byte, and nothing else. */
static bool test_mac1(struct wg_fake_pair *pair, const struct st_source *src)
{
	struct wg_message_handshake_initiation init, bad;
	unsigned int i;
	bool ok = true;

	if (!st_check(wg_noise_handshake_create_initiation(&init, pair->a_peer),
		      "create initiation"))
		return false;
	wg_cookie_add_mac_to_packet(&init, sizeof(init), pair->a_peer);
	ok &= st_check(st_validate(pair->b, &init, sizeof(init), src, false) ==
		       WG_COOKIE_MAC_VALID_NO_COOKIE, "valid mac1 refused");
	ok &= st_check(st_validate(pair->a, &init, sizeof(init), src, false) ==
		       WG_COOKIE_MAC_INVALID, "mac1 for someone else accepted");
	ok &= st_check(!memchr_inv(init.macs.mac2, 0, WG_COOKIE_LEN),
		       "mac2 without a cookie");
	/* Everything up to and including mac1 is covered. */
	for (i = 0; i < offsetof(typeof(init), macs.mac2); ++i) {
		bad = init;
		((u8 *)&bad)[i] ^= 1U << (i % 8);
		if (!st_check(st_validate(pair->b, &bad, sizeof(bad), src,
					  false) == WG_COOKIE_MAC_INVALID,
			      "byte %u flipped accepted", i))
			return false;
	}
	/* Under load, no cookie yet: only mac1 is good. */
	ok &= st_check(st_validate(pair->b, &init, sizeof(init), src, true) ==
		       WG_COOKIE_MAC_VALID_NO_COOKIE, "no cookie under load");
	/* A truncated message is not a handshake message. */
	ok &= st_check(st_validate(pair->b, &init, sizeof(init) - 1, src,
				   false) == WG_COOKIE_MAC_INVALID, "truncated");
	return ok;
}

/*
 * Under load: b answers a's initiation with a cookie reply, a stores the
 * cookie, and a's next message carries a mac2 that b accepts from that
 * source only.
 */
static bool test_cookie_round_trip(struct wg_fake_pair *pair,
				   const struct st_source *src,
				   const struct st_source *other_addr,
				   const struct st_source *other_port)
{
	struct wg_message_handshake_initiation init;
	struct wg_message_handshake_cookie reply, bad;
	unsigned int i;
	bool ok = true;

	if (!st_check(wg_noise_handshake_create_initiation(&init, pair->a_peer),
		      "create initiation"))
		return false;
	wg_cookie_add_mac_to_packet(&init, sizeof(init), pair->a_peer);
	if (!st_check(st_reply(pair->b, &init, sizeof(init), src, &reply),
		      "create reply"))
		return false;
	ok &= st_check(reply.header.type ==
		       cpu_to_le32(WG_MESSAGE_HANDSHAKE_COOKIE) &&
		       reply.receiver_index == init.sender_index, "reply header");

	for (i = 0; i < sizeof(reply); ++i) {
		bad = reply;
		((u8 *)&bad)[i] ^= 1U << (i % 8);
		if (!st_check(!wg_cookie_message_consume(&bad, pair->a),
			      "reply byte %u flipped accepted", i))
			return false;
	}
	ok &= st_check(!wg_cookie_message_consume(&reply, pair->b),
		       "reply consumed by the wrong device");
	ok &= st_check(wg_cookie_message_consume(&reply, pair->a),
		       "reply refused");
	ok &= st_check(!wg_cookie_message_consume(&reply, pair->a),
		       "reply consumed twice");

	if (!st_check(wg_noise_handshake_create_initiation(&init, pair->a_peer),
		      "create initiation"))
		return false;
	wg_cookie_add_mac_to_packet(&init, sizeof(init), pair->a_peer);
	ok &= st_check(memchr_inv(init.macs.mac2, 0, WG_COOKIE_LEN),
		       "no mac2 with a cookie");
	ok &= st_check(st_validate(pair->b, &init, sizeof(init), src, true) ==
		       WG_COOKIE_MAC_VALID_WITH_COOKIE, "mac2 refused");
	ok &= st_check(st_validate(pair->b, &init, sizeof(init), other_addr,
				   true) == WG_COOKIE_MAC_VALID_NO_COOKIE,
		       "mac2 accepted from another address");
	ok &= st_check(st_validate(pair->b, &init, sizeof(init), other_port,
				   true) == WG_COOKIE_MAC_VALID_NO_COOKIE,
		       "mac2 accepted from another port");
	/* Not under load, mac2 is not even looked at. */
	ok &= st_check(st_validate(pair->b, &init, sizeof(init), src, false) ==
		       WG_COOKIE_MAC_VALID_NO_COOKIE, "unchecked mac2");
	return ok;
}

/* An initiator stops using a cookie before the secret behind it changes. */
static bool test_cookie_expiry(struct wg_fake_pair *pair)
{
	struct wg_message_handshake_initiation init;
	struct wg_cookie *cookie = &pair->a_peer->latest_cookie;

	raw_spin_lock_bh(&cookie->lock);
	cookie->birthdate -= (u64)(WG_COOKIE_SECRET_MAX_AGE -
				   WG_COOKIE_SECRET_LATENCY) * NSEC_PER_SEC;
	raw_spin_unlock_bh(&cookie->lock);
	if (!st_check(wg_noise_handshake_create_initiation(&init, pair->a_peer),
		      "create initiation"))
		return false;
	wg_cookie_add_mac_to_packet(&init, sizeof(init), pair->a_peer);
	return st_check(!memchr_inv(init.macs.mac2, 0, WG_COOKIE_LEN),
			"stale cookie used");
}

/* The responder's index belongs to the keypair once the session began. */
static bool test_reply_to_response(struct wg_fake_pair *pair,
				   const struct st_source *src)
{
	struct wg_message_handshake_initiation init;
	struct wg_message_handshake_response resp;
	struct wg_message_handshake_cookie reply;
	struct wg_peer *peer;
	bool ok;

	down_write(&pair->b_peer->handshake.lock);
	pair->b_peer->handshake.last_initiation_consumption = 0;
	up_write(&pair->b_peer->handshake.lock);
	if (!st_check(wg_noise_handshake_create_initiation(&init, pair->a_peer),
		      "create initiation"))
		return false;
	peer = wg_noise_handshake_consume_initiation(&init, pair->b);
	ok = st_check(peer == pair->b_peer, "consume initiation");
	wg_peer_put(peer);
	if (!ok ||
	    !st_check(wg_noise_handshake_create_response(&resp, pair->b_peer) &&
		      wg_noise_handshake_begin_session(pair->b_peer),
		      "respond"))
		return false;
	wg_cookie_add_mac_to_packet(&resp, sizeof(resp), pair->b_peer);
	ok = st_check(st_validate(pair->a, &resp, sizeof(resp), src, false) ==
		      WG_COOKIE_MAC_VALID_NO_COOKIE, "response mac1");
	ok &= st_check(st_reply(pair->a, &resp, sizeof(resp), src, &reply) &&
		       wg_cookie_message_consume(&reply, pair->b),
		       "cookie reply to a response");
	return ok;
}

bool wg_cookie_selftest(void)
{
	const struct st_source src4 = {
		.addr4 = htonl(0xc0000201), .port = htons(51000),
	};
	const struct st_source other_addr4 = {
		.addr4 = htonl(0xc0000202), .port = htons(51000),
	};
	const struct st_source other_port4 = {
		.addr4 = htonl(0xc0000201), .port = htons(51001),
	};
	const struct st_source src6 = { .addr6 = &st_addr6, .port = htons(7) };
	struct wg_fake_pair pair;
	bool ok;

	ok = st_check(wg_fake_pair_create(&pair, NULL, NULL, NULL), "devices");
	ok = ok && test_mac1(&pair, &src4);
	ok = ok && test_cookie_round_trip(&pair, &src4, &other_addr4,
					  &other_port4);
	ok = ok && test_cookie_expiry(&pair);
	/* IPv6 sources, and another address family for the same peer. */
	ok = ok && test_cookie_round_trip(&pair, &src6, &src4, &other_port4);
	ok = ok && test_reply_to_response(&pair, &src6);
	wg_fake_pair_destroy(&pair);

	if (ok)
		pr_info("cookie self-tests: pass\n");
	else
		pr_err("cookie self-tests: fail\n");
	return ok;
}
