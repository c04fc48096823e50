/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels wgmpsc builds for (Debian 12's 6.1,
 * Debian 13's and bookworm-backports' 6.12, trixie-backports' 7.x, each
 * also PREEMPT_RT) lives here.  The code is written against the newest
 * API; each shim below gives an older kernel that API and says which of
 * those kernels changed what.  Where a version number could lie (Debian
 * backports change APIs inside one version), compat-probe.sh tests the
 * kernel's headers at build time and compat-probed.h says what it found.
 */

#ifndef _WG_COMPAT_H
#define _WG_COMPAT_H

#include <linux/netdevice.h>
#include <linux/timer.h>
#include <linux/workqueue.h>
#include <crypto/blake2s.h>
#include <net/genetlink.h>
#include <net/rtnetlink.h>
#include <net/udp_tunnel.h>
#include <uapi/linux/wireguard.h>

#include "compat-probed.h"

/* 6.1 -> 6.12: <asm/unaligned.h> became <linux/unaligned.h>. */
#ifdef WG_HAVE_LINUX_UNALIGNED_H
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* 6.1 -> 6.12: skb_gso_segment() moved to <net/gso.h>. */
#ifdef WG_HAVE_NET_GSO_H
#include <net/gso.h>
#endif

/*
 * 6.12 -> 7.3: <net/ipv6_stubs.h> is gone; IPv6 is built in on every
 * kernel we build for (Debian's CONFIG_IPV6=y), and the stub was only an
 * indirection for IPv6 as a module.
 */
#ifdef WG_HAVE_NET_IPV6_STUBS_H
#include <net/ipv6_stubs.h>
#define wg_ip6_dst_lookup_flow(net, sk, fl6) \
	ipv6_stub->ipv6_dst_lookup_flow(net, sk, fl6, NULL)
#else
#include <net/ipv6.h>
#define wg_ip6_dst_lookup_flow(net, sk, fl6) \
	ip6_dst_lookup_flow(net, sk, fl6, NULL)
#endif

/* 6.12 -> 7.3: from_timer() was renamed timer_container_of(). */
#ifndef timer_container_of
#define timer_container_of(var, timer, field) from_timer(var, timer, field)
#endif

/*
 * 6.12 -> 7.3: alloc_workqueue() wants WQ_PERCPU or WQ_UNBOUND, and warns
 * without either; before, per-CPU was what no flag meant.
 */
#ifndef WG_HAVE_WQ_PERCPU
#define WQ_PERCPU 0
#endif

/* 6.12 -> 7.3: struct blake2s_state became struct blake2s_ctx. */
#ifndef WG_HAVE_BLAKE2S_CTX
#define blake2s_ctx blake2s_state
#endif

/*
 * 6.1 -> 6.12: lockless transmit is a private flag, dev->lltx, no longer
 * the NETIF_F_LLTX feature bit.
 */
static inline void wg_netdev_set_lltx(struct net_device *dev)
{
#ifdef NETIF_F_LLTX
	dev->features |= NETIF_F_LLTX;
#else
	dev->lltx = true;
#endif
}

/*
 * 6.1 -> 6.12: a device asks the core for its per-CPU stats by type
 * (dev->pcpu_stat_type), and the core allocates them at registration and
 * frees them with the device; the UDP tunnel helpers warn when they count
 * into a device that did not.  Before, the driver did both.  Called from
 * ndo_init and the destructor.
 */
static inline int wg_netdev_tstats_alloc(struct net_device *dev)
{
#ifdef WG_HAVE_NETDEV_PCPU_STAT_TYPE
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;
#else
	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
#endif
	return 0;
}

static inline void wg_netdev_tstats_free(struct net_device *dev)
{
#ifndef WG_HAVE_NETDEV_PCPU_STAT_TYPE
	free_percpu(dev->tstats);
	dev->tstats = NULL;
#endif
}

/* 6.1 -> 6.12: a dump's parsed attributes moved into a struct genl_info. */
static inline struct nlattr **
wg_genl_dumpit_attrs(const struct genl_dumpit_info *info)
{
#ifdef WG_HAVE_GENL_DUMPIT_INFO_INFO
	return info->info.attrs;
#else
	return info->attrs;
#endif
}

/*
 * 6.12 -> 7.3: rtnl_link_ops.newlink takes its namespaces and attributes
 * in struct rtnl_newlink_params.  wg_newlink() is the op, of the kernel's
 * type, around the device's own wg_device_newlink().
 */
int wg_device_newlink(struct net *src_net, struct net_device *dev,
		      struct netlink_ext_ack *extack);
#ifdef WG_HAVE_RTNL_NEWLINK_PARAMS
static inline int wg_newlink(struct net_device *dev,
			     struct rtnl_newlink_params *params,
			     struct netlink_ext_ack *extack)
{
	return wg_device_newlink(params->src_net, dev, extack);
}
#else
static inline int wg_newlink(struct net *src_net, struct net_device *dev,
			     struct nlattr *tb[], struct nlattr *data[],
			     struct netlink_ext_ack *extack)
{
	return wg_device_newlink(src_net, dev, extack);
}
#endif

/*
 * 6.12 -> 7.3: the UDP tunnel transmit helpers take the flags of the IP
 * control block they fill in (none here).  6.1 -> 6.12: the IPv6 one
 * returns void (6.1's always returned 0).
 */
static inline void
wg_udp_tunnel_xmit_skb(struct rtable *rt, struct sock *sk, struct sk_buff *skb,
		       __be32 src, __be32 dst, u8 tos, u8 ttl, __be16 sport,
		       __be16 dport)
{
#ifdef WG_HAVE_UDP_TUNNEL_XMIT_CB_FLAGS
	udp_tunnel_xmit_skb(rt, sk, skb, src, dst, tos, ttl, 0, sport, dport,
			    false, false, 0);
#else
	udp_tunnel_xmit_skb(rt, sk, skb, src, dst, tos, ttl, 0, sport, dport,
			    false, false);
#endif
}

static inline void
wg_udp_tunnel6_xmit_skb(struct dst_entry *dst, struct sock *sk,
			struct sk_buff *skb, struct net_device *dev,
			struct in6_addr *saddr, struct in6_addr *daddr,
			u8 prio, u8 ttl, __be16 sport, __be16 dport)
{
#ifdef WG_HAVE_UDP_TUNNEL_XMIT_CB_FLAGS
	udp_tunnel6_xmit_skb(dst, sk, skb, dev, saddr, daddr, prio, ttl, 0,
			     sport, dport, false, 0);
#else
	udp_tunnel6_xmit_skb(dst, sk, skb, dev, saddr, daddr, prio, ttl, 0,
			     sport, dport, false);
#endif
}

/*
 * 6.12 -> 7.3: the UDP tunnel socket helpers take the struct sock, not
 * the struct socket.
 */
static inline void wg_setup_udp_tunnel_sock(struct net *net,
					    struct socket *sock,
					    struct udp_tunnel_sock_cfg *cfg)
{
#ifdef WG_HAVE_UDP_TUNNEL_SOCK_SK
	setup_udp_tunnel_sock(net, sock->sk, cfg);
#else
	setup_udp_tunnel_sock(net, sock, cfg);
#endif
}

static inline void wg_udp_tunnel_sock_release(struct sock *sk)
{
#ifdef WG_HAVE_UDP_TUNNEL_SOCK_SK
	udp_tunnel_sock_release(sk);
#else
	udp_tunnel_sock_release(sk->sk_socket);
#endif
}

/*
 * 6.12 -> 7.3: blake2s() takes the key first and the output last, each
 * pointer followed by its length.  wg_blake2s() has the new order.
 */
static inline void wg_blake2s(const u8 *key, size_t keylen, const u8 *in,
			      size_t inlen, u8 *out, size_t outlen)
{
#ifdef WG_HAVE_BLAKE2S_CTX
	blake2s(key, keylen, in, inlen, out, outlen);
#else
	blake2s(out, in, key, outlen, inlen, keylen);
#endif
}

/*
 * 6.12 -> 7.3: unknown device or peer flag bits.  The in-tree driver of
 * 6.1 and 6.12 answers EOPNOTSUPP; 7.3's, whose netlink policy comes from
 * the YNL spec that also generates a uapi header without __WGDEVICE_F_ALL,
 * answers EINVAL (measured with each kernel's wireguard.ko: tests/netlink.sh
 * as netlink-intree).
 */
#ifdef WG_HAVE_UAPI_WG_F_ALL
#define WG_UNKNOWN_FLAGS_ERRNO EOPNOTSUPP
#define WG_UNKNOWN_DEVICE_FLAGS_MSG "unknown device flags"
#define WG_UNKNOWN_PEER_FLAGS_MSG "unknown peer flags"
#else
/* ...with netlink policy validation's message. */
#define WG_UNKNOWN_FLAGS_ERRNO EINVAL
#define WG_UNKNOWN_DEVICE_FLAGS_MSG "reserved bit set"
#define WG_UNKNOWN_PEER_FLAGS_MSG "reserved bit set"
#endif

/*
 * v6.16: removing one allowed IP (WGALLOWEDIP_A_FLAGS with
 * WGALLOWEDIP_F_REMOVE_ME).  Older headers lack both; their values are
 * ABI, fixed by the uapi, so they are supplied here and the newest
 * wg(8) can use them on every kernel.  WG_ALLOWEDIP_A_MAX is the highest
 * allowed-IP attribute we parse, whatever the header's own maximum.
 */
#ifndef WG_HAVE_WGALLOWEDIP_A_FLAGS
#define WGALLOWEDIP_A_FLAGS 4
#define WGALLOWEDIP_F_REMOVE_ME (1U << 0)
#endif
#define WG_ALLOWEDIP_A_MAX WGALLOWEDIP_A_FLAGS

/*
 * Big TCP needs a kernel whose software GSO can take it from a device
 * without a link-layer header.  6.1's ipv6_gso_segment() strips the
 * jumbo hop-by-hop option of an IPv6 GSO packet past 64 KiB by moving
 * ETH_HLEN + 40 bytes from the mac header, as if an Ethernet header came
 * first; on wg0 the mac header is the network header, so 14 bytes of
 * the TCP header are overwritten: -EINVAL (seen under 6.1.192: one
 * tx_errors per such packet), or a segment with a damaged header.  The
 * kernels with ipv6_hopopt_jumbo_remove() (6.12), which measures the
 * headers that are there, ran tests/conformance.sh's big TCP without
 * an error; those without the option at all (7.x) never send it.
 * Elsewhere the device keeps the 64-KiB ceiling, as the in-tree driver
 * does before 6.13.  (IPv4 past 64 KiB needs gso_ipv4_max_size, 6.3.)
 */
#if defined(WG_HAVE_IPV6_HOPOPT_JUMBO_REMOVE) || \
	!defined(WG_HAVE_IPV6_HAS_HOPOPT_JUMBO)
#define WG_TSO_MAX_SIZE GSO_MAX_SIZE
#else
#define WG_TSO_MAX_SIZE GSO_LEGACY_MAX_SIZE
#endif

#endif /* _WG_COMPAT_H */
