// SPDX-License-Identifier: GPL-2.0
/*
 * UDP sockets of a device (see socket.h).  Packets arrive through the UDP
 * tunnel encapsulation hook, which hands us the skb before any socket
 * queueing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/if_ether.h>
#include <linux/inetdevice.h>
#include <linux/net.h>
#include <linux/rtnetlink.h>
#include <net/addrconf.h>
#include <net/dst.h>
#include <net/inet_sock.h>
#include <net/ip6_fib.h>
#include <net/ip6_route.h>
#include <net/route.h>
#include <net/udp_tunnel.h>

#include "compat.h"
#include "device.h"
#include "peer.h"
#include "receive.h"
#include "socket.h"

enum {
	/* The kernel picks the IPv4 port; IPv6 may find it taken. */
	WG_PORT_PICK_ATTEMPTS = 100,
	/* Room for the outer headers in front of a message we build. */
	WG_SKB_HEADROOM = LL_MAX_HEADER + sizeof(struct ipv6hdr) +
			  sizeof(struct udphdr),
};

static void wg_socket_release(struct sock *sk)
{
	if (!sk)
		return;
	wg_udp_tunnel_sock_release(sk);
}

static int wg_socket_open(struct wg_device *wg, struct net *net, int family,
			  u16 port, struct sock **skp)
{
	struct udp_tunnel_sock_cfg tunnel = {
		.sk_user_data = wg,
		.encap_type = 1,
		.encap_rcv = wg_receive,
	};
	struct udp_port_cfg cfg = {
		.family = family,
		.local_udp_port = htons(port),
	};
	struct socket *sock;
	int ret;

	if (family == AF_INET) {
		cfg.local_ip.s_addr = htonl(INADDR_ANY);
	} else {
		cfg.local_ip6 = in6addr_any;
		cfg.ipv6_v6only = true;
	}
	ret = udp_sock_create(net, &cfg, &sock);
	if (ret)
		return ret;
	wg_setup_udp_tunnel_sock(net, sock, &tunnel);
	/*
	 * Outer UDP GRO, as a UDP_GRO socket asks for it: where the receiving
	 * device runs GRO (NICs, veth with gro on), a burst of equal-sized
	 * datagrams from one endpoint goes through IP and the socket lookup
	 * once.  The socket does not take GSO packets whole, so the stack cuts
	 * the batch back into its datagrams before wg_receive() sees any.
	 */
	udp_set_bit(GRO_ENABLED, sock->sk);
	*skp = sock->sk;
	return 0;
}

static void wg_socket_swap(struct wg_device *wg, struct sock *new4,
			   struct sock *new6)
{
	struct sock *old4 = rtnl_dereference(wg->sock4);
	struct sock *old6 = rtnl_dereference(wg->sock6);

	rcu_assign_pointer(wg->sock4, new4);
	rcu_assign_pointer(wg->sock6, new6);
	if (new4)
		wg->incoming_port = ntohs(inet_sk(new4)->inet_sport);
	if (old4 || old6) {
		synchronize_net();
		wg_socket_release(old4);
		wg_socket_release(old6);
	}
}

int wg_socket_bind(struct wg_device *wg, u16 port, struct wg_socket_pair *pair)
{
	struct sock *new4 = NULL, *new6 = NULL;
	struct net *net = wg->creating_net;
	int attempt, ret;

	ASSERT_RTNL();
	if (!net)
		return -ENONET;

	for (attempt = 0; attempt < WG_PORT_PICK_ATTEMPTS; ++attempt) {
		ret = wg_socket_open(wg, net, AF_INET, port, &new4);
		if (ret)
			return ret;
		if (!IS_ENABLED(CONFIG_IPV6))
			break;
		ret = wg_socket_open(wg, net, AF_INET6,
				     ntohs(inet_sk(new4)->inet_sport), &new6);
		/* A namespace without IPv6 gets an IPv4 socket only. */
		if (!ret || ret == -EAFNOSUPPORT)
			break;
		wg_socket_release(new4);
		new4 = NULL;
		if (ret != -EADDRINUSE || port)
			return ret;
	}
	if (ret && ret != -EAFNOSUPPORT) {
		wg_socket_release(new4);
		return ret;
	}
	pair->sk4 = new4;
	pair->sk6 = new6;
	return 0;
}

void wg_socket_install(struct wg_device *wg, struct wg_socket_pair *pair)
{
	ASSERT_RTNL();
	wg_socket_swap(wg, pair->sk4, pair->sk6);
	pair->sk4 = NULL;
	pair->sk6 = NULL;
}

void wg_socket_discard(struct wg_socket_pair *pair)
{
	wg_socket_release(pair->sk4);
	wg_socket_release(pair->sk6);
	pair->sk4 = NULL;
	pair->sk6 = NULL;
}

int wg_socket_init(struct wg_device *wg, u16 port)
{
	struct wg_socket_pair pair;
	int ret;

	ret = wg_socket_bind(wg, port, &pair);
	if (!ret)
		wg_socket_install(wg, &pair);
	return ret;
}

void wg_socket_uninit(struct wg_device *wg)
{
	ASSERT_RTNL();
	wg_socket_swap(wg, NULL, NULL);
}

void wg_route_cache_init(struct wg_route_cache *cache)
{
	spin_lock_init(&cache->lock);
	cache->dst = NULL;
	cache->cookie = 0;
}

/* Returns a held, still valid route, or NULL. */
static struct dst_entry *wg_route_cache_get(struct wg_route_cache *cache)
{
	struct dst_entry *dst, *stale = NULL;

	spin_lock_bh(&cache->lock);
	dst = cache->dst;
	if (dst && !dst_check(dst, cache->cookie)) {
		stale = dst;
		dst = NULL;
		cache->dst = NULL;
	}
	if (dst)
		dst_hold(dst);
	spin_unlock_bh(&cache->lock);
	dst_release(stale);
	return dst;
}

static void wg_route_cache_set(struct wg_route_cache *cache,
			       struct dst_entry *dst, u32 cookie)
{
	struct dst_entry *old;

	dst_hold(dst);
	spin_lock_bh(&cache->lock);
	old = cache->dst;
	cache->dst = dst;
	cache->cookie = cookie;
	spin_unlock_bh(&cache->lock);
	dst_release(old);
}

void wg_route_cache_reset(struct wg_route_cache *cache)
{
	struct dst_entry *old;

	spin_lock_bh(&cache->lock);
	old = cache->dst;
	cache->dst = NULL;
	spin_unlock_bh(&cache->lock);
	dst_release(old);
}

/*
 * Routing takes the endpoint by value: the peer's may change meanwhile,
 * and a route is cached only when the endpoint it was computed for, with
 * its source, is still the peer's (see wg_socket_send_skb).
 */
static struct dst_entry *wg_route4(struct wg_device *wg, struct sock *sock,
				   struct wg_endpoint *endpoint)
{
	struct flowi4 fl = {
		.saddr = endpoint->src4.s_addr,
		.daddr = endpoint->addr4.sin_addr.s_addr,
		.fl4_dport = endpoint->addr4.sin_port,
		.fl4_sport = inet_sk(sock)->inet_sport,
		.flowi4_mark = wg->fwmark,
		.flowi4_proto = IPPROTO_UDP,
		.flowi4_oif = endpoint->src_if4,
	};
	struct net *net = sock_net(sock);
	struct rtable *rt;

	security_sk_classify_flow(sock, flowi4_to_flowi_common(&fl));
	/* A sticky source that is no longer ours is forgotten. */
	if (fl.saddr && !inet_confirm_addr(net, NULL, 0, fl.saddr,
					   RT_SCOPE_HOST)) {
		fl.saddr = 0;
		fl.flowi4_oif = 0;
	}
	rt = ip_route_output_flow(net, &fl, sock);
	if (rt == ERR_PTR(-EINVAL) && (fl.saddr || fl.flowi4_oif)) {
		fl.saddr = 0;
		fl.flowi4_oif = 0;
		rt = ip_route_output_flow(net, &fl, sock);
	}
	if (IS_ERR(rt))
		return ERR_CAST(rt);
	endpoint->src4.s_addr = fl.saddr;
	endpoint->src_if4 = fl.flowi4_oif;
	return &rt->dst;
}

static struct dst_entry *wg_route6(struct wg_device *wg, struct sock *sock,
				   struct wg_endpoint *endpoint)
{
	struct flowi6 fl = {
		.saddr = endpoint->src6,
		.daddr = endpoint->addr6.sin6_addr,
		.fl6_dport = endpoint->addr6.sin6_port,
		.fl6_sport = inet_sk(sock)->inet_sport,
		.flowi6_mark = wg->fwmark,
		.flowi6_oif = endpoint->addr6.sin6_scope_id,
		.flowi6_proto = IPPROTO_UDP,
	};
	struct net *net = sock_net(sock);
	struct dst_entry *dst;

	security_sk_classify_flow(sock, flowi6_to_flowi_common(&fl));
	if (!ipv6_addr_any(&fl.saddr) &&
	    !ipv6_chk_addr(net, &fl.saddr, NULL, 0))
		fl.saddr = in6addr_any;
	dst = wg_ip6_dst_lookup_flow(net, sock, &fl);
	if (IS_ERR(dst))
		return dst;
	endpoint->src6 = fl.saddr;
	return dst;
}

static bool wg_endpoint_eq(const struct wg_endpoint *a,
			   const struct wg_endpoint *b)
{
	if (a->addr.sa_family != b->addr.sa_family)
		return false;
	if (a->addr.sa_family == AF_INET)
		return a->addr4.sin_port == b->addr4.sin_port &&
		       a->addr4.sin_addr.s_addr == b->addr4.sin_addr.s_addr &&
		       a->src4.s_addr == b->src4.s_addr &&
		       a->src_if4 == b->src_if4;
	if (a->addr.sa_family == AF_INET6)
		return a->addr6.sin6_port == b->addr6.sin6_port &&
		       ipv6_addr_equal(&a->addr6.sin6_addr,
				       &b->addr6.sin6_addr) &&
		       a->addr6.sin6_scope_id == b->addr6.sin6_scope_id &&
		       ipv6_addr_equal(&a->src6, &b->src6);
	return true;
}

static void wg_socket_xmit_one(struct wg_device *wg, struct sock *sock,
			       struct sk_buff *skb, struct dst_entry *dst,
			       const struct wg_endpoint *endpoint, u8 ds)
{
	__be16 sport = inet_sk(sock)->inet_sport;

	if (endpoint->addr.sa_family == AF_INET)
		wg_udp_tunnel_xmit_skb((struct rtable *)dst, sock, skb,
				       endpoint->src4.s_addr,
				       endpoint->addr4.sin_addr.s_addr, ds,
				       ip4_dst_hoplimit(dst), sport,
				       endpoint->addr4.sin_port);
	else
		wg_udp_tunnel6_xmit_skb(dst, sock, skb, wg->dev,
					(struct in6_addr *)&endpoint->src6,
					(struct in6_addr *)&endpoint->addr6.sin6_addr,
					ds, ip6_dst_hoplimit(dst), sport,
					endpoint->addr6.sin6_port);
}

/*
 * A UDP GSO packet of messages (send.c).  Its checksums are the stack's
 * to finish per datagram, as for a UDP_SEGMENT socket's.  The tunnel
 * helpers count it as one packet, sent or refused; the device's counters
 * must read as if each datagram had gone on its own, as the in-tree
 * driver's do.  Bytes are right already (every payload byte, once); the
 * other datagrams are added to whichever count the helpers moved: sent
 * (this CPU's, which only they can move while BH is off, wg_socket_send),
 * else dropped or errors, whichever the kernel's version charges a
 * refused datagram to (6.1: errors; later IPv4: dropped).
 */
static void wg_socket_xmit_gso(struct wg_device *wg, struct sock *sock,
			       struct sk_buff *skb, struct dst_entry *dst,
			       const struct wg_endpoint *endpoint, u8 ds)
{
	struct pcpu_sw_netstats *tstats;
	unsigned int more = skb_shinfo(skb)->gso_segs - 1;
	unsigned long dropped;
	u64 sent;

	lockdep_assert_once(in_softirq());
	tstats = this_cpu_ptr(wg->dev->tstats);
	sent = u64_stats_read(&tstats->tx_packets);
	dropped = DEV_STATS_READ(wg->dev, tx_dropped);
	skb->ip_summed = CHECKSUM_PARTIAL;
	skb->csum_start = skb_headroom(skb) - sizeof(struct udphdr);
	skb->csum_offset = offsetof(struct udphdr, check);
	atomic64_inc(&wg->stats.tx_gso_packets);
	atomic64_add(more + 1, &wg->stats.tx_gso_datagrams);
	wg_socket_xmit_one(wg, sock, skb, dst, endpoint, ds);
	if (u64_stats_read(&tstats->tx_packets) != sent) {
		dev_sw_netstats_tx_add(wg->dev, more, 0);
	} else if (DEV_STATS_READ(wg->dev, tx_dropped) != dropped) {
		DEV_STATS_ADD(wg->dev, tx_dropped, more);
	} else {
		DEV_STATS_ADD(wg->dev, tx_errors, more);
		DEV_STATS_ADD(wg->dev, tx_aborted_errors, more);
	}
}

/*
 * Sends @skb along @dst (consumed) from the endpoint's source.  Packets
 * that would re-enter the device itself are a routing loop: dropped.
 *
 * The tunnel helpers push the UDP and IP headers without looking, and
 * @skb comes with whatever headroom its maker left: a message we built,
 * or a segment of a packet from the stack above, which may itself be
 * another tunnel's outer packet routed through this device.  So the
 * room for the outer headers and the route's device is made here, on
 * every path, once the route is known.
 */
static int wg_socket_xmit(struct wg_device *wg, struct sock *sock,
			  struct sk_buff *skb, struct dst_entry *dst,
			  const struct wg_endpoint *endpoint, u8 ds)
{
	unsigned int headroom = LL_RESERVED_SPACE(dst->dev) + dst->header_len +
				sizeof(struct udphdr) +
				(endpoint->addr.sa_family == AF_INET ?
				 sizeof(struct iphdr) : sizeof(struct ipv6hdr));

	if (unlikely(dst->dev == wg->dev)) {
		net_dbg_ratelimited("%s: routing loop to %pISpfsc\n",
				    wg->dev->name, &endpoint->addr);
		dst_release(dst);
		kfree_skb(skb);
		return -ELOOP;
	}
	if (unlikely(skb_cow_head(skb, headroom))) {
		dst_release(dst);
		kfree_skb(skb);
		return -ENOMEM;
	}
	skb->ignore_df = 1;
	if (skb_is_gso(skb))
		wg_socket_xmit_gso(wg, sock, skb, dst, endpoint, ds);
	else
		wg_socket_xmit_one(wg, sock, skb, dst, endpoint, ds);
	return 0;
}

/*
 * Routes and sends to @endpoint.  With a @peer, its cached route is used
 * and refreshed, and a source the routing had to change is written back
 * so that later packets stick to it.
 */
static int wg_socket_send(struct wg_device *wg, struct wg_peer *peer,
			  struct sk_buff *skb, struct wg_endpoint *endpoint,
			  u8 ds)
{
	struct wg_endpoint routed = *endpoint;
	struct dst_entry *dst = NULL;
	struct sock *sock;
	int ret;

	skb_mark_not_on_list(skb);
	/*
	 * The tunnel helpers count what leaves on skb->dev: the UDP payload,
	 * from the inner network header, which every message we send has
	 * at its first byte.  Data and handshakes alike, per datagram, and
	 * a datagram the stack refused as an error: the device's counters
	 * tell what went out on the wire, as the peers' do.
	 */
	skb->dev = wg->dev;
	skb->mark = wg->fwmark;

	rcu_read_lock_bh();
	if (endpoint->addr.sa_family == AF_INET)
		sock = rcu_dereference_bh(wg->sock4);
	else if (endpoint->addr.sa_family == AF_INET6)
		sock = rcu_dereference_bh(wg->sock6);
	else
		sock = NULL;
	if (unlikely(!sock)) {
		ret = endpoint->addr.sa_family ? -ENONET : -EDESTADDRREQ;
		goto err;
	}

	if (peer)
		dst = wg_route_cache_get(&peer->route_cache);
	if (!dst) {
		dst = endpoint->addr.sa_family == AF_INET ?
		      wg_route4(wg, sock, &routed) :
		      wg_route6(wg, sock, &routed);
		if (IS_ERR(dst)) {
			ret = PTR_ERR(dst);
			net_dbg_ratelimited("%s: no route to %pISpfsc, error %d\n",
					    wg->dev->name, &endpoint->addr,
					    ret);
			DEV_STATS_INC(wg->dev, tx_carrier_errors);
			goto err;
		}
		if (peer) {
			write_lock_bh(&peer->endpoint_lock);
			if (wg_endpoint_eq(&peer->endpoint, endpoint)) {
				peer->endpoint = routed;
				wg_route_cache_set(&peer->route_cache, dst,
						   routed.addr.sa_family == AF_INET6 ?
						   rt6_get_cookie((struct rt6_info *)dst) :
						   0);
			}
			write_unlock_bh(&peer->endpoint_lock);
		}
	}
	ret = wg_socket_xmit(wg, sock, skb, dst, &routed, ds);
	rcu_read_unlock_bh();
	return ret;

err:
	rcu_read_unlock_bh();
	kfree_skb(skb);
	return ret;
}

int wg_socket_send_skb(struct wg_peer *peer, struct sk_buff *skb, u8 ds)
{
	unsigned int len = skb->len;
	struct wg_endpoint endpoint;
	int ret;

	read_lock_bh(&peer->endpoint_lock);
	endpoint = peer->endpoint;
	read_unlock_bh(&peer->endpoint_lock);

	ret = wg_socket_send(peer->device, peer, skb, &endpoint, ds);
	if (likely(!ret))
		atomic64_add(len, &peer->tx_bytes);
	return ret;
}

static struct sk_buff *wg_socket_alloc_skb(const void *buf, size_t len)
{
	struct sk_buff *skb = alloc_skb(len + WG_SKB_HEADROOM, GFP_ATOMIC);

	if (unlikely(!skb))
		return NULL;
	skb_reserve(skb, WG_SKB_HEADROOM);
	skb_set_inner_network_header(skb, 0);
	skb_put_data(skb, buf, len);
	return skb;
}

int wg_socket_send_buffer(struct wg_peer *peer, const void *buf, size_t len)
{
	struct sk_buff *skb = wg_socket_alloc_skb(buf, len);

	if (unlikely(!skb))
		return -ENOMEM;
	return wg_socket_send_skb(peer, skb, 0);
}

int wg_socket_reply_buffer(struct wg_device *wg, struct sk_buff *in_skb,
			   const void *buf, size_t len)
{
	struct wg_endpoint endpoint;
	struct sk_buff *skb;
	int ret;

	ret = wg_socket_endpoint_from_skb(&endpoint, in_skb);
	if (unlikely(ret))
		return ret;
	skb = wg_socket_alloc_skb(buf, len);
	if (unlikely(!skb))
		return -ENOMEM;
	return wg_socket_send(wg, NULL, skb, &endpoint, 0);
}

int wg_socket_endpoint_from_skb(struct wg_endpoint *endpoint,
				const struct sk_buff *skb)
{
	memset(endpoint, 0, sizeof(*endpoint));
	if (skb->protocol == htons(ETH_P_IP)) {
		endpoint->addr4.sin_family = AF_INET;
		endpoint->addr4.sin_port = udp_hdr(skb)->source;
		endpoint->addr4.sin_addr.s_addr = ip_hdr(skb)->saddr;
		endpoint->src4.s_addr = ip_hdr(skb)->daddr;
		endpoint->src_if4 = skb->skb_iif;
		return 0;
	}
	if (skb->protocol == htons(ETH_P_IPV6)) {
		endpoint->addr6.sin6_family = AF_INET6;
		endpoint->addr6.sin6_port = udp_hdr(skb)->source;
		endpoint->addr6.sin6_addr = ipv6_hdr(skb)->saddr;
		endpoint->addr6.sin6_scope_id =
			ipv6_iface_scope_id(&ipv6_hdr(skb)->saddr,
					    skb->skb_iif);
		endpoint->src6 = ipv6_hdr(skb)->daddr;
		return 0;
	}
	return -EINVAL;
}

void wg_socket_update_peer_endpoint(struct wg_peer *peer,
				    const struct wg_endpoint *endpoint)
{
	bool same;

	/* The common case, nothing moved, takes the lock only to read. */
	read_lock_bh(&peer->endpoint_lock);
	same = wg_endpoint_eq(&peer->endpoint, endpoint);
	read_unlock_bh(&peer->endpoint_lock);
	if (likely(same))
		return;

	write_lock_bh(&peer->endpoint_lock);
	peer->endpoint = *endpoint;
	wg_route_cache_reset(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_lock);
}

void wg_socket_set_peer_endpoint(struct wg_peer *peer,
				 const struct wg_endpoint *endpoint)
{
	write_lock_bh(&peer->endpoint_lock);
	peer->endpoint = *endpoint;
	memset(&peer->endpoint.src6, 0, sizeof(peer->endpoint.src6));
	peer->endpoint.src_if4 = 0;
	wg_route_cache_reset(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_lock);
}

void wg_socket_clear_peer_endpoint_src(struct wg_peer *peer)
{
	write_lock_bh(&peer->endpoint_lock);
	memset(&peer->endpoint.src6, 0, sizeof(peer->endpoint.src6));
	peer->endpoint.src_if4 = 0;
	wg_route_cache_reset(&peer->route_cache);
	write_unlock_bh(&peer->endpoint_lock);
}
