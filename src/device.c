// SPDX-License-Identifier: GPL-2.0
/*
 * The "wireguard" rtnl link kind: creation, teardown and namespace
 * handling of devices (see device.h for the locking rules).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ethtool.h>
#include <linux/if_arp.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <linux/rtnetlink.h>
#include <net/addrconf.h>
#include <net/ip.h>
#include <net/net_namespace.h>
#include <net/rtnetlink.h>

#include "compat.h"
#include "device.h"
#include "peer.h"
#include "queueing.h"
#include "receive.h"
#include "send.h"
#include "timers.h"
#include "socket.h"
#include "stage.h"

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
 * The data path's per-device parts: workqueues, a crypto worker per CPU
 * and direction, and one NAPI instance per possible CPU that the peers
 * share.  Their cost is per device, whatever the number of peers.
 */
static int wg_device_init_data_path(struct wg_device *wg)
{
	struct net_device *dev = wg->dev;
	unsigned int i;

	wg->packet_wq = alloc_workqueue("wg-peer-%s",
					WQ_PERCPU | WQ_CPU_INTENSIVE |
					WQ_MEM_RECLAIM, 0, dev->name);
	if (!wg->packet_wq)
		return -ENOMEM;
	wg->crypt_wq = alloc_workqueue("wg-crypt-%s",
				       WQ_PERCPU | WQ_CPU_INTENSIVE |
				       WQ_MEM_RECLAIM, 0, dev->name);
	if (!wg->crypt_wq)
		goto err_destroy_packet_wq;
	wg->encrypt_workers = wg_crypt_workers_create(wg, wg_send_encrypt_work);
	if (!wg->encrypt_workers)
		goto err_destroy_crypt_wq;
	wg->decrypt_workers = wg_crypt_workers_create(wg,
						      wg_receive_decrypt_work);
	if (!wg->decrypt_workers)
		goto err_destroy_encrypt_workers;
	wg->num_napis = num_possible_cpus();
	wg->napis = kcalloc(wg->num_napis, sizeof(*wg->napis), GFP_KERNEL);
	if (!wg->napis)
		goto err_destroy_decrypt_workers;
	for (i = 0; i < wg->num_napis; ++i) {
		spin_lock_init(&wg->napis[i].lock);
		INIT_LIST_HEAD(&wg->napis[i].ready);
		netif_napi_add(dev, &wg->napis[i].napi, wg_receive_napi_poll);
	}
	return 0;

err_destroy_decrypt_workers:
	wg_crypt_workers_destroy(wg->decrypt_workers);
err_destroy_encrypt_workers:
	wg_crypt_workers_destroy(wg->encrypt_workers);
err_destroy_crypt_wq:
	destroy_workqueue(wg->crypt_wq);
err_destroy_packet_wq:
	destroy_workqueue(wg->packet_wq);
	return -ENOMEM;
}

/* Drops the ready lists' peer references; the instances are disabled. */
static void wg_device_drain_napis(struct wg_device *wg)
{
	struct wg_peer *peer, *tmp;
	unsigned int i;
	LIST_HEAD(ready);

	for (i = 0; i < wg->num_napis; ++i) {
		spin_lock_bh(&wg->napis[i].lock);
		list_splice_init(&wg->napis[i].ready, &ready);
		spin_unlock_bh(&wg->napis[i].lock);
	}
	list_for_each_entry_safe(peer, tmp, &ready, napi_node) {
		list_del_init(&peer->napi_node);
		clear_bit(WG_PEER_RX_READY, &peer->control);
		wg_peer_put(peer);
	}
}

static void wg_device_uninit_data_path(struct wg_device *wg)
{
	unsigned int i;

	wg_device_drain_napis(wg);
	for (i = 0; i < wg->num_napis; ++i)
		netif_napi_del(&wg->napis[i].napi);
	kfree(wg->napis);
	wg_crypt_workers_destroy(wg->decrypt_workers);
	wg_crypt_workers_destroy(wg->encrypt_workers);
	destroy_workqueue(wg->crypt_wq);
	destroy_workqueue(wg->packet_wq);
}

/*
 * Allocations live from here to wg_destruct: the core calls the destructor
 * on every path once this succeeded, including a failed registration.
 */
static int wg_init(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	int ret;

	ret = wg_netdev_tstats_alloc(dev);
	if (ret)
		return ret;
	ret = wg_pubkey_table_init(wg);
	if (ret)
		goto err_free_tstats;
	ret = wg_index_table_init(wg);
	if (ret)
		goto err_destroy_pubkey_table;
	ret = wg_receive_init(wg);
	if (ret)
		goto err_destroy_index_table;
	ret = wg_device_init_data_path(wg);
	if (ret)
		goto err_uninit_receive;
	return 0;

err_uninit_receive:
	wg_receive_uninit(wg);
err_destroy_index_table:
	wg_index_table_destroy(wg);
err_destroy_pubkey_table:
	wg_pubkey_table_destroy(wg);
err_free_tstats:
	wg_netdev_tstats_free(dev);
	return ret;
}

static int wg_open(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;

	unsigned int i;
	int ret;

	ret = wg_socket_init(wg, wg->incoming_port);
	if (ret)
		return ret;
	for (i = 0; i < wg->num_napis; ++i)
		napi_enable(&wg->napis[i].napi);
	/*
	 * Persistent keepalive starts with the device, and packets that
	 * waited for it get going: both start a handshake.  Only those
	 * peers' works are queued: a work per peer would put a million
	 * idle runs ahead of the first real one (the first handshake after
	 * up took 1.9 s with a million peers, 0.18 s with 20,000).  Nothing
	 * enqueues while the device is down, so the snapshot is exact; a
	 * control request left from before the down gets its run too.
	 */
	mutex_lock(&wg->device_update_lock);
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		if (peer->persistent_keepalive_interval)
			wg_send_keepalive(peer);
		if (wg_mpsc_charged(&peer->tx_prod) ||
		    (READ_ONCE(peer->control) & (BIT(WG_CONTROL_INITIATE) |
						 BIT(WG_CONTROL_ZERO_KEYS))))
			wg_peer_kick(peer);
	}
	mutex_unlock(&wg->device_update_lock);
	return 0;
}

/*
 * Down means no sessions: every peer forgets its keys and timers, the
 * handshake backlog is dropped, and the sockets close.  Packets waiting
 * for a session stay queued (within the queue's bound) for the next up;
 * packets already received are dropped.  Nothing runs for the device
 * while it is down, and nothing holds a keypair: the stack stopped
 * ndo_start_xmit before calling this, the sockets' hook is gone after
 * wg_socket_uninit()'s grace period, and then, with no session left to
 * dispatch on, the crypto workers finish what they had, the works they
 * kicked run, and the NAPI instances poll their last.
 */
static int wg_stop(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);
	struct wg_peer *peer;
	unsigned int i;

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
	flush_workqueue(wg->crypt_wq);
	flush_workqueue(wg->packet_wq);
	for (i = 0; i < wg->num_napis; ++i)
		napi_disable(&wg->napis[i].napi);
	wg_device_drain_napis(wg);
	mutex_lock(&wg->device_update_lock);
	list_for_each_entry(peer, &wg->peer_list, peer_list)
		wg_peer_purge_received(peer);
	mutex_unlock(&wg->device_update_lock);
	return 0;
}

static netdev_tx_t wg_xmit(struct sk_buff *skb, struct net_device *dev)
{
	return wg_send_xmit(netdev_priv(dev), skb);
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

/* `ethtool -S`: the drops and events of struct wg_device_stats by cause. */
#define WG_STAT(name) { #name, offsetof(struct wg_device_stats, name) }
static const struct {
	char name[ETH_GSTRING_LEN];
	size_t offset;
} wg_ethtool_stats[] = {
	WG_STAT(handshake_backlog_full),
	WG_STAT(handshake_invalid_mac),
	WG_STAT(handshake_invalid),
	WG_STAT(handshake_ratelimited),
	WG_STAT(cookie_replies_sent),
	WG_STAT(rx_invalid_message),
	WG_STAT(rx_no_keypair),
	WG_STAT(rx_bad_mac),
	WG_STAT(rx_replay),
	WG_STAT(rx_queue_full),
	WG_STAT(rx_crypt_ring_full),
	WG_STAT(rx_nomem),
	WG_STAT(rx_allowedips_mismatch),
	WG_STAT(tx_bad_protocol),
	WG_STAT(tx_no_peer),
	WG_STAT(tx_no_endpoint),
	WG_STAT(tx_queue_full),
	WG_STAT(tx_crypt_ring_full),
	WG_STAT(tx_gso_packets),
	WG_STAT(tx_gso_datagrams),
	WG_STAT(tx_big_gso_packets),
};
#undef WG_STAT

static int wg_ethtool_get_sset_count(struct net_device *dev, int sset)
{
	return sset == ETH_SS_STATS ? ARRAY_SIZE(wg_ethtool_stats) :
				      -EOPNOTSUPP;
}

static void wg_ethtool_get_strings(struct net_device *dev, u32 sset, u8 *buf)
{
	size_t i;

	if (sset != ETH_SS_STATS)
		return;
	for (i = 0; i < ARRAY_SIZE(wg_ethtool_stats); ++i)
		memcpy(buf + i * ETH_GSTRING_LEN, wg_ethtool_stats[i].name,
		       ETH_GSTRING_LEN);
}

static void wg_ethtool_get_stats(struct net_device *dev,
				 struct ethtool_stats *stats, u64 *data)
{
	struct wg_device *wg = netdev_priv(dev);
	size_t i;

	for (i = 0; i < ARRAY_SIZE(wg_ethtool_stats); ++i)
		data[i] = atomic64_read((atomic64_t *)((u8 *)&wg->stats +
					wg_ethtool_stats[i].offset));
}

static void wg_ethtool_get_drvinfo(struct net_device *dev,
				   struct ethtool_drvinfo *info)
{
	strscpy(info->driver, KBUILD_MODNAME, sizeof(info->driver));
	strscpy(info->version, WG_VERSION, sizeof(info->version));
}

static const struct ethtool_ops wg_ethtool_ops = {
	.get_drvinfo = wg_ethtool_get_drvinfo,
	.get_sset_count = wg_ethtool_get_sset_count,
	.get_strings = wg_ethtool_get_strings,
	.get_ethtool_stats = wg_ethtool_get_stats,
};

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

	wg_device_uninit_data_path(wg);
	wg_receive_uninit(wg);
	wg_index_table_destroy(wg);
	wg_pubkey_table_destroy(wg);
	mutex_destroy(&wg->device_update_lock);
	wg_netdev_tstats_free(dev);
}

static void wg_setup(struct net_device *dev)
{
	struct wg_device *wg = netdev_priv(dev);

	dev->netdev_ops = &wg_netdev_ops;
	dev->ethtool_ops = &wg_ethtool_ops;
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
	dev->features |= WG_NETDEV_FEATURES;
	wg_netdev_set_lltx(dev);
	dev->hw_features |= WG_NETDEV_FEATURES;
	dev->hw_enc_features |= WG_NETDEV_FEATURES;
	/*
	 * Big TCP: GSO packets past 64 KiB once the administrator raises
	 * gso_max_size (gso_ipv4_max_size for IPv4, from 6.3); the default
	 * stays 64 KiB, and so does the ceiling where the kernel's GSO cannot
	 * take them from us (compat.h).  Segmented here like any other, their
	 * node leaves as several outer UDP GSO skbs (send.c).
	 */
	netif_set_tso_max_size(dev, WG_TSO_MAX_SIZE);
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

int wg_device_newlink(struct net *src_net, struct net_device *dev,
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
		/* No sockets, ever again: say so on the link. */
		netif_carrier_off(wg->dev);
	}
	rtnl_unlock();
}

static struct pernet_operations wg_netns_ops = {
	.pre_exit = wg_netns_pre_exit,
};

/*
 * IPv6 gives a device coming up a link-local address.  A tunnel has no
 * use for one: its peers are reached by allowed IPs, and what IPv6 sends
 * to it (router solicitations, MLD reports) has no peer and would only
 * be counted as transmit errors.  So, as on the in-tree driver, the
 * device generates no address.  IPv6 sets a device up when it is
 * registered, at creation and again in each namespace it moves to, with
 * that namespace's defaults: addrconf's notifier, registered before ours,
 * has run by the time this one does.
 */
static int wg_device_event(struct notifier_block *nb, unsigned long action,
			   void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct inet6_dev *idev;

	if (action != NETDEV_REGISTER || !wg_device_is_wg(dev))
		return NOTIFY_DONE;
	idev = IS_ENABLED(CONFIG_IPV6) ? __in6_dev_get(dev) : NULL;
	if (idev)
		WRITE_ONCE(idev->cnf.addr_gen_mode, IN6_ADDR_GEN_MODE_NONE);
	return NOTIFY_DONE;
}

static struct notifier_block wg_device_notifier = {
	.notifier_call = wg_device_event,
};

int wg_device_init(void)
{
	int ret;

	ret = register_pernet_device(&wg_netns_ops);
	if (ret)
		return ret;
	ret = register_netdevice_notifier(&wg_device_notifier);
	if (ret)
		goto err_unregister_pernet;
	ret = rtnl_link_register(&wg_link_ops);
	if (ret == -EEXIST)
		pr_err("link kind \"wireguard\" is already registered, most likely by the distribution's wireguard.ko: run 'rmmod wireguard' before loading wgmpsc\n");
	if (ret)
		goto err_unregister_notifier;
	return 0;

err_unregister_notifier:
	unregister_netdevice_notifier(&wg_device_notifier);
err_unregister_pernet:
	unregister_pernet_device(&wg_netns_ops);
	return ret;
}

void wg_device_uninit(void)
{
	rtnl_link_unregister(&wg_link_ops);
	unregister_netdevice_notifier(&wg_device_notifier);
	unregister_pernet_device(&wg_netns_ops);
}
