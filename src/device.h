/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The wireguard net_device.  Its private area is struct wg_device, which
 * lives exactly as long as the net_device.
 *
 * Locks, outermost first:
 *  - RTNL guards the device list, the UDP sockets and creating_net;
 *  - device_update_lock guards configuration: the identity, the peer list,
 *    the allowed-IPs tries' writers and the pubkey table's writers.
 * Packet paths read the tries, the tables and the sockets under RCU.
 */
#ifndef _WG_DEVICE_H
#define _WG_DEVICE_H

#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/rhashtable-types.h>
#include <linux/rwsem.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>
#include <net/sock.h>

#include "allowedips.h"
#include "cookie.h"
#include "messages.h"
#include "noise.h"
#include "peerlookup.h"

/* Drops and events by cause, beyond what rtnl_link_stats64 can tell. */
struct wg_device_stats {
	atomic64_t handshake_backlog_full;
	atomic64_t handshake_invalid_mac;
	atomic64_t handshake_invalid;
	atomic64_t handshake_ratelimited;
	atomic64_t cookie_replies_sent;
	atomic64_t rx_invalid_message;
	atomic64_t rx_no_keypair;
	atomic64_t rx_bad_mac;
	atomic64_t rx_replay;
	atomic64_t rx_queue_full;
	atomic64_t rx_crypt_ring_full;
	atomic64_t rx_nomem;
	atomic64_t rx_allowedips_mismatch;
	atomic64_t tx_bad_protocol;
	atomic64_t tx_no_peer;
	atomic64_t tx_no_endpoint;
	atomic64_t tx_queue_full;
	atomic64_t tx_crypt_ring_full;
	/* Outer UDP GSO (send.c): packets built, the datagrams they carry. */
	atomic64_t tx_gso_packets;
	atomic64_t tx_gso_datagrams;
	/* Big TCP: GSO packets from the stack above larger than 64 KiB. */
	atomic64_t tx_big_gso_packets;
};

/*
 * A NAPI instance shared by the peers pinned to it; @ready lists those
 * with finished packets at the head of their receive list, each holding a
 * reference.
 */
struct wg_napi {
	struct napi_struct napi;
	spinlock_t lock;
	struct list_head ready;
};

struct wg_handshake_worker;
struct wg_crypt_worker;

struct wg_device {
	struct net_device *dev;
	struct list_head device_list;	/* wg_device_list, RTNL */
	/*
	 * The namespace the device was created from.  Its sockets stay there
	 * even when the device moves, like a tun device's file stays with its
	 * process.  No reference is held: the namespace's pre_exit closes
	 * the sockets and clears this under RTNL.
	 */
	struct net *creating_net;
	struct sock __rcu *sock4, *sock6;	/* RTNL */

	struct mutex device_update_lock;
	struct wg_static_identity static_identity;
	/* mac1/mac2 checks and cookie replies of our handshakes. */
	struct wg_cookie_checker cookie_checker;
	struct wg_allowedips peer_allowedips;
	struct rhashtable peer_hashtable;	/* by public key */
	struct rhashtable index_hashtable;	/* by receiver index */
	struct list_head peer_list;		/* creation order */
	unsigned int num_peers;
	/* Bumped on every change; dumps report interruptions with it. */
	u64 update_gen;
	u32 fwmark;
	u16 incoming_port;

	/* The handshake backlog and its workers (receive.c). */
	struct sk_buff_head handshake_queue;
	struct workqueue_struct *handshake_wq;
	struct wg_handshake_worker __percpu *handshake_workers;
	int handshake_cpu;
	unsigned long last_under_load;		/* jiffies */

	/* The data path (queueing.h): peers' works, crypto, NAPI. */
	struct workqueue_struct *packet_wq;
	struct workqueue_struct *crypt_wq;
	struct wg_crypt_worker __percpu *encrypt_workers;
	struct wg_crypt_worker __percpu *decrypt_workers;
	int crypt_cpu;
	struct wg_napi *napis;
	unsigned int num_napis;

	struct wg_device_stats stats;
};

int wg_device_init(void);
void wg_device_uninit(void);

/* True when @dev is one of ours; RTNL or RCU. */
bool wg_device_is_wg(const struct net_device *dev);

/*
 * Object-lifetime log of debug builds: one line when a refcounted object is
 * created and one when it is destroyed, so tests can match them up.  The
 * self-tests' devices have no net_device.
 */
#define wg_device_name(wg) ((wg)->dev ? (wg)->dev->name : "(no dev)")
#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#define wg_lifetime_log(wg, fmt, ...) \
	pr_debug("%s: " fmt "\n", wg_device_name(wg), ##__VA_ARGS__)
#else
#define wg_lifetime_log(wg, fmt, ...) \
	no_printk("%s: " fmt "\n", wg_device_name(wg), ##__VA_ARGS__)
#endif

#endif /* _WG_DEVICE_H */
