// SPDX-License-Identifier: GPL-2.0
/*
 * UDP sockets of a device (see socket.h).  Packets arrive through the UDP
 * tunnel encapsulation hook, which hands us the skb before any socket
 * queueing.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/net.h>
#include <linux/rtnetlink.h>
#include <net/inet_sock.h>
#include <net/udp_tunnel.h>

#include "device.h"
#include "socket.h"

enum {
	/* The kernel picks the IPv4 port; IPv6 may find it taken. */
	WG_PORT_PICK_ATTEMPTS = 100,
};

/*
 * Data and handshake processing attach here once the protocol exists; for
 * now every datagram is a counted drop.  Returning 0 tells UDP the skb is
 * consumed.
 */
static int wg_socket_encap_rcv(struct sock *sk, struct sk_buff *skb)
{
	struct wg_device *wg = rcu_dereference_sk_user_data(sk);

	if (likely(wg))
		dev_core_stats_rx_dropped_inc(wg->dev);
	kfree_skb(skb);
	return 0;
}

static void wg_socket_release(struct sock *sk)
{
	if (!sk)
		return;
	udp_tunnel_sock_release(sk->sk_socket);
}

static int wg_socket_open(struct wg_device *wg, struct net *net, int family,
			  u16 port, struct sock **skp)
{
	struct udp_tunnel_sock_cfg tunnel = {
		.sk_user_data = wg,
		.encap_type = 1,
		.encap_rcv = wg_socket_encap_rcv,
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
	setup_udp_tunnel_sock(net, sock, &tunnel);
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

int wg_socket_init(struct wg_device *wg, u16 port)
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
	wg_socket_swap(wg, new4, new6);
	return 0;
}

void wg_socket_uninit(struct wg_device *wg)
{
	ASSERT_RTNL();
	wg_socket_swap(wg, NULL, NULL);
}
