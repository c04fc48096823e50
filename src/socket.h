/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device's UDP sockets: one IPv4 and one IPv6, bound to the same port
 * in the namespace the device was created from.  They exist while the
 * device is up.  RTNL serialises every change; the packet paths read them
 * under RCU.
 */
#ifndef _WG_SOCKET_H
#define _WG_SOCKET_H

#include <linux/spinlock.h>
#include <linux/types.h>

struct dst_entry;
struct sk_buff;
struct wg_device;
struct wg_endpoint;
struct wg_peer;
struct sock;

/*
 * One cached route per peer, shared by all CPUs.  The kernel's dst_cache
 * keeps a slot per CPU, 32 bytes or more each: too much for a peer that
 * must cost at most 1 KiB whatever the CPU count.  A peer's packets leave
 * from one ordered stage at a time, so a single slot under a spinlock
 * costs no contention.  Any change of endpoint, source or fwmark empties
 * the slot; a changed routing table makes dst_check() fail.
 */
struct wg_route_cache {
	spinlock_t lock;
	u32 cookie;	/* IPv6 fib serial number for dst_check() */
	struct dst_entry *dst;
};

/*
 * Binds fresh sockets to @port (0: the kernel picks one for both families)
 * and only then retires the old ones, so a failure such as -EADDRINUSE
 * leaves the device listening as before.
 */
int wg_socket_init(struct wg_device *wg, u16 port);

/*
 * The same in two steps, for a configuration request that must be able to
 * give up after binding: bind (may fail, changes nothing the device uses),
 * then install (cannot fail) or discard.  RTNL held throughout.
 */
struct wg_socket_pair {
	struct sock *sk4, *sk6;
};

int wg_socket_bind(struct wg_device *wg, u16 port, struct wg_socket_pair *pair);
void wg_socket_install(struct wg_device *wg, struct wg_socket_pair *pair);
void wg_socket_discard(struct wg_socket_pair *pair);
/* Closes the sockets; returns after packet paths have let go of them. */
void wg_socket_uninit(struct wg_device *wg);

/*
 * Sends a datagram whose payload is @skb's data to the peer's endpoint,
 * from its sticky source address, honouring the device's fwmark.  The skb
 * is consumed on every path.  @ds is the outer DS field.
 */
int wg_socket_send_skb(struct wg_peer *peer, struct sk_buff *skb, u8 ds);
/* The same for a buffer, copied into a fresh skb (handshake messages). */
int wg_socket_send_buffer(struct wg_peer *peer, const void *buf, size_t len);
/* Answers the sender of @in_skb directly, for peers not yet known. */
int wg_socket_reply_buffer(struct wg_device *wg, struct sk_buff *in_skb,
			   const void *buf, size_t len);

/*
 * The outer addresses of a received datagram, as an endpoint: its source
 * is where the peer is, its destination our sticky source for replies.
 */
int wg_socket_endpoint_from_skb(struct wg_endpoint *endpoint,
				const struct sk_buff *skb);
/* Roaming: the endpoint follows the latest authenticated packet. */
void wg_socket_update_peer_endpoint(struct wg_peer *peer,
				    const struct wg_endpoint *endpoint);
/* Configuration: a new address, whose sticky source is yet unknown. */
void wg_socket_set_peer_endpoint(struct wg_peer *peer,
				 const struct wg_endpoint *endpoint);
/* Forgets the sticky source, e.g. when it stops working. */
void wg_socket_clear_peer_endpoint_src(struct wg_peer *peer);
/* Drops the cached route, e.g. when the fwmark changes. */
void wg_route_cache_reset(struct wg_route_cache *cache);
void wg_route_cache_init(struct wg_route_cache *cache);

#endif /* _WG_SOCKET_H */
