// SPDX-License-Identifier: GPL-2.0
/*
 * The "wireguard" rtnl link kind: creation, teardown and namespace
 * handling of devices (see device.h for the locking rules).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/if_arp.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/rtnetlink.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/rtnetlink.h>

#include "device.h"
#include "peer.h"
#include "receive.h"
#include "send.h"
#include "timers.h"
#include "socket.h"

/* Every wireguard device in every namespace; RTNL. */
static LIST_HEAD(wg_device_list);

enum {
	WG_NETDEV_FEATURES = NETIF_F_HW_CSUM | NETIF_F_RXCSUM | NETIF_F_SG |
			     NETIF_F_GSO | NETIF_F_GSO_SOFTWARE |
			     NETIF_F_HIGHDMA,
	/* Worst-case outer headers: IPv6 + UDP + the data header. */
	WG_NEEDED_HEADROOM = sizeof(struct ipv6hdr) + sizeof(struct udphdr) +
			     WG_DATA_HEADER_LEN,
	/* Padding to a multiple of 16 plus the Poly1305 tag. */
	WG_NEEDED_TAILROOM = 15 + NOISE_AUTHTAG_LEN,
};

/*
 * Allocations live from here to wg_destruct: the core calls the destructor
 * on every path once this succeeded, including a failed registration.
 */
static int wg_init(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	int ret;

	dev->tstats = netdev_alloc_pcpu_stats(struct pcpu_sw_netstats);
	if (!dev->tstats)
		return -ENOMEM;
	ret = wg_pubkey_table_init(wg);
	if (ret)
		goto err_free_tstats;
	ret = wg_index_table_init(wg);
	if (ret)
		goto err_destroy_pubkey_table;
	ret = wg_receive_init(wg);
	if (ret)
		goto err_destroy_index_table;
	return 0;

err_destroy_index_table:
	wg_index_table_destroy(wg);
err_destroy_pubkey_table:
	wg_pubkey_table_destroy(wg);
err_free_tstats:
	free_percpu(dev->tstats);
	dev->tstats = NULL;
	return ret;
}

static int wg_open(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;
	int ret;

	ret = wg_socket_init(wg, wg->incoming_port);
	if (ret)
		return ret;
	/* Persistent keepalive starts with the device: it handshakes. */
	mutex_lock(&wg->device_update_lock);
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		if (peer->persistent_keepalive_interval)
			wg_send_keepalive(peer);
	}
	mutex_unlock(&wg->device_update_lock);
	return 0;
}

/*
 * Down means no sessions: every peer forgets its keys and timers, the
 * handshake backlog is dropped, and the sockets close.
 */
static int wg_stop(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;

	mutex_lock(&wg->device_update_lock);
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		wg_timers_stop(peer);
		wg_send_stop_peer(peer);
		wg_noise_handshake_clear(&peer->handshake);
		wg_noise_keypairs_clear(&peer->keypairs);
		wg_send_init_peer(peer);
	}
	mutex_unlock(&wg->device_update_lock);
	wg_receive_stop(wg);
	wg_socket_uninit(wg);
	return 0;
}

/*
 * The transmit path attaches here with the data path; until then nothing
 * can be sent, and a packet handed to us is a counted drop.
 */
static netdev_tx_t wg_xmit(struct sk_buff *skb, struct net_device *dev)
{
	DEV_STATS_INC(dev, tx_dropped);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

static void wg_get_stats64(struct net_device *dev,
			   struct rtnl_link_stats64 *stats)
{
	netdev_stats_to_stats64(stats, &dev->stats);
	dev_fetch_sw_netstats(stats, dev->tstats);
}

/*
 * Runs inside unregister_netdevice (or a failed register_netdevice) with
 * RTNL held: after it, no socket, peer or lookup entry refers to the
 * device.
 */
static void wg_uninit(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);

	list_del_init(&wg->device_list);
	wg_socket_uninit(wg);

	mutex_lock(&wg->device_update_lock);
	wg_peer_remove_all(wg);
	down_write(&wg->static_identity.lock);
	wg_noise_static_identity_set(&wg->static_identity, NULL);
	up_write(&wg->static_identity.lock);
	wg_cookie_checker_wipe(&wg->cookie_checker);
	mutex_unlock(&wg->device_update_lock);
}

static const struct net_device_ops wg_netdev_ops = {
	.ndo_init = wg_init,
	.ndo_uninit = wg_uninit,
	.ndo_open = wg_open,
	.ndo_stop = wg_stop,
	.ndo_start_xmit = wg_xmit,
	.ndo_get_stats64 = wg_get_stats64,
};

bool wg_device_is_wg(const struct net_device *dev)
{
	return dev->netdev_ops == &wg_netdev_ops;
}

/* Runs once the last reference to the net_device is gone. */
static void wg_destruct(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);

	wg_receive_uninit(wg);
	wg_index_table_destroy(wg);
	wg_pubkey_table_destroy(wg);
	mutex_destroy(&wg->device_update_lock);
	free_percpu(dev->tstats);
}

static void wg_setup(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);

	dev->netdev_ops = &wg_netdev_ops;
	dev->header_ops = NULL;
	dev->type = ARPHRD_NONE;
	dev->flags = IFF_POINTOPOINT | IFF_NOARP;
	dev->priv_flags |= IFF_NO_QUEUE;
	dev->hard_header_len = 0;
	dev->addr_len = 0;
	dev->needed_headroom = WG_NEEDED_HEADROOM;
	dev->needed_tailroom = WG_NEEDED_TAILROOM;
	dev->mtu = WG_DEFAULT_MTU;
	dev->min_mtu = 0;
	dev->max_mtu = IP_MAX_MTU - WG_NEEDED_HEADROOM - WG_NEEDED_TAILROOM;
	dev->features |= NETIF_F_LLTX | WG_NETDEV_FEATURES;
	dev->hw_features |= WG_NETDEV_FEATURES;
	dev->hw_enc_features |= WG_NETDEV_FEATURES;
	dev->needs_free_netdev = true;
	dev->priv_destructor = wg_destruct;
	netif_keep_dst(dev);

	memset(wg, 0, sizeof(*wg));
	wg->dev = dev;
	INIT_LIST_HEAD(&wg->device_list);
	INIT_LIST_HEAD(&wg->peer_list);
	mutex_init(&wg->device_update_lock);
	init_rwsem(&wg->static_identity.lock);
	wg_cookie_checker_init(&wg->cookie_checker);
	wg_allowedips_init(&wg->peer_allowedips);
}

static int wg_newlink(struct net *src_net, struct net_device *dev,
		      struct nlattr *tb[], struct nlattr *data[],
		      struct netlink_ext_ack *extack)
{
	struct wg_device *wg = netdev_priv(dev);
	int ret;

	wg->creating_net = src_net;
	ret = register_netdevice(dev);
	if (ret)
		return ret;
	list_add(&wg->device_list, &wg_device_list);
	return 0;
}

static struct rtnl_link_ops wg_link_ops __read_mostly = {
	.kind = "wireguard",
	.priv_size = sizeof(struct wg_device),
	.setup = wg_setup,
	.newlink = wg_newlink,
};

/*
 * A namespace that created devices is going away: their sockets live in
 * it, so they close now, and the devices (which may have moved elsewhere)
 * stay down for good.  Devices inside the namespace itself are deleted by
 * the core right after this.
 */
static void __net_exit wg_netns_pre_exit(struct net *net)
{
	struct wg_device *wg;

	rtnl_lock();
	list_for_each_entry(wg, &wg_device_list, device_list) {
		if (wg->creating_net != net)
			continue;
		netdev_dbg(wg->dev, "creating namespace exiting\n");
		wg_socket_uninit(wg);
		wg->creating_net = NULL;
	}
	rtnl_unlock();
}

static struct pernet_operations wg_netns_ops = {
	.pre_exit = wg_netns_pre_exit,
};

int wg_device_init(void)
{
	int ret;

	ret = register_pernet_device(&wg_netns_ops);
	if (ret)
		return ret;
	ret = rtnl_link_register(&wg_link_ops);
	if (ret == -EEXIST)
		pr_err("link kind \"wireguard\" is already registered, most likely by the distribution's wireguard.ko: run 'rmmod wireguard' before loading wgmpsc\n");
	if (ret)
		goto err_unregister_pernet;
	return 0;

err_unregister_pernet:
	unregister_pernet_device(&wg_netns_ops);
	return ret;
}

void wg_device_uninit(void)
{
	rtnl_link_unregister(&wg_link_ops);
	unregister_pernet_device(&wg_netns_ops);
}
