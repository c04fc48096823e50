// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink configuration (see netlink.h).
 *
 * WG_CMD_SET_DEVICE is a transaction: all of it or, whatever fails, none
 * of it (config.c).
 *
 * WG_CMD_GET_DEVICE is a dump that continues across as many messages as
 * the peers and their allowed IPs need, resuming mid-peer; a peer split
 * over messages appears again, with only its public key and the rest of
 * its allowed IPs, and wg(8) joins the parts.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <linux/if.h>
#include <linux/rtnetlink.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "allowedips.h"
#include "compat.h"
#include "config.h"
#include "cookie.h"
#include "device.h"
#include "netlink.h"
#include "noise.h"
#include "peer.h"
#include "send.h"
#include "socket.h"

static struct genl_family wg_genl_family;

static const struct nla_policy wg_device_policy[WGDEVICE_A_MAX + 1] = {
	[WGDEVICE_A_IFINDEX] = { .type = NLA_U32 },
	[WGDEVICE_A_IFNAME] = { .type = NLA_NUL_STRING, .len = IFNAMSIZ - 1 },
	[WGDEVICE_A_PRIVATE_KEY] = NLA_POLICY_EXACT_LEN(NOISE_PUBLIC_KEY_LEN),
	[WGDEVICE_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(NOISE_PUBLIC_KEY_LEN),
	[WGDEVICE_A_FLAGS] = { .type = NLA_U32 },
	[WGDEVICE_A_LISTEN_PORT] = { .type = NLA_U16 },
	[WGDEVICE_A_FWMARK] = { .type = NLA_U32 },
	[WGDEVICE_A_PEERS] = { .type = NLA_NESTED },
};

/*
 * Finds the device named by exactly one of WGDEVICE_A_IFINDEX and
 * WGDEVICE_A_IFNAME.  Returns it with a reference on its net_device.
 */
static struct wg_device *wg_lookup_interface(struct nlattr **attrs,
					     struct net *net,
					     struct netlink_ext_ack *extack)
{
	struct nlattr *ifindex = attrs[WGDEVICE_A_IFINDEX];
	struct nlattr *ifname = attrs[WGDEVICE_A_IFNAME];
	struct net_device *dev;

	if (!ifindex == !ifname) {
		NL_SET_ERR_MSG(extack,
			       "give exactly one of WGDEVICE_A_IFINDEX and WGDEVICE_A_IFNAME");
		return ERR_PTR(-EBADR);
	}
	if (ifindex) {
		dev = dev_get_by_index(net, nla_get_u32(ifindex));
	} else {
		char name[IFNAMSIZ];

		nla_strscpy(name, ifname, sizeof(name));
		dev = dev_get_by_name(net, name);
	}
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ?: ifname,
				    "no such interface");
		return ERR_PTR(-ENODEV);
	}
	if (!wg_device_is_wg(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, ifindex ?: ifname,
				    "not a wireguard interface");
		dev_put(dev);
		return ERR_PTR(-EOPNOTSUPP);
	}
	return netdev_priv(dev);
}

/* WG_CMD_GET_DEVICE */

/* Where a dump resumes; lives in netlink_callback::ctx between messages. */
struct wg_dump_cursor {
	struct wg_device *wg;		/* holds a net_device reference */
	struct wg_peer *peer;		/* next to send, referenced, or NULL */
	u64 peer_id;			/* its id, should it be removed */
	unsigned int ips_sent;		/* of peer's allowed IPs; 0: none */
	bool device_sent;
	bool done;
};

static struct wg_dump_cursor *wg_dump_cursor(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct wg_dump_cursor) > sizeof(cb->ctx));
	return (struct wg_dump_cursor *)cb->ctx;
}

static int wg_get_device_start(struct netlink_callback *cb)
{
	const struct genl_dumpit_info *info = genl_dumpit_info(cb);
	struct wg_dump_cursor *cursor = wg_dump_cursor(cb);
	struct wg_device *wg;

	wg = wg_lookup_interface(wg_genl_dumpit_attrs(info), sock_net(cb->skb->sk),
				 cb->extack);
	if (IS_ERR(wg))
		return PTR_ERR(wg);
	memset(cursor, 0, sizeof(*cursor));
	cursor->wg = wg;
	return 0;
}

static int wg_get_device_done(struct netlink_callback *cb)
{
	struct wg_dump_cursor *cursor = wg_dump_cursor(cb);

	wg_peer_put(cursor->peer);
	if (cursor->wg)
		dev_put(cursor->wg->dev);
	return 0;
}

static int wg_put_allowedip(struct sk_buff *skb,
			    const struct wg_allowedips_node *node)
{
	struct nlattr *nest = nla_nest_start(skb, 0);
	u8 ip[16], cidr;
	int family;

	if (!nest)
		return -EMSGSIZE;
	family = wg_allowedips_read_node(node, ip, &cidr);
	if (nla_put_u8(skb, WGALLOWEDIP_A_CIDR_MASK, cidr) ||
	    nla_put_u16(skb, WGALLOWEDIP_A_FAMILY, family) ||
	    nla_put(skb, WGALLOWEDIP_A_IPADDR, family == AF_INET6 ? 16 : 4,
		    ip)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Everything about a peer but its allowed IPs; sent with its first part. */
static int wg_put_peer_state(struct sk_buff *skb, struct wg_peer *peer)
{
	struct timespec64 walltime =
		ns_to_timespec64(READ_ONCE(peer->walltime_last_handshake));
	struct __kernel_timespec last_handshake = {
		.tv_sec = walltime.tv_sec,
		.tv_nsec = walltime.tv_nsec,
	};
	int ret;

	/* Written only under the update lock, which we hold. */
	if (nla_put(skb, WGPEER_A_PRESHARED_KEY, NOISE_SYMMETRIC_KEY_LEN,
		    peer->handshake.preshared_key) ||
	    nla_put(skb, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(last_handshake),
		    &last_handshake) ||
	    nla_put_u16(skb, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
			peer->persistent_keepalive_interval) ||
	    nla_put_u64_64bit(skb, WGPEER_A_TX_BYTES, atomic64_read(&peer->tx_bytes),
			      WGPEER_A_UNSPEC) ||
	    nla_put_u64_64bit(skb, WGPEER_A_RX_BYTES, atomic64_read(&peer->rx_bytes),
			      WGPEER_A_UNSPEC) ||
	    nla_put_u32(skb, WGPEER_A_PROTOCOL_VERSION, WG_PROTOCOL_VERSION))
		return -EMSGSIZE;

	ret = 0;
	read_lock_bh(&peer->endpoint_lock);
	if (peer->endpoint.addr.sa_family == AF_INET)
		ret = nla_put(skb, WGPEER_A_ENDPOINT,
			      sizeof(peer->endpoint.addr4),
			      &peer->endpoint.addr4);
	else if (peer->endpoint.addr.sa_family == AF_INET6)
		ret = nla_put(skb, WGPEER_A_ENDPOINT,
			      sizeof(peer->endpoint.addr6),
			      &peer->endpoint.addr6);
	read_unlock_bh(&peer->endpoint_lock);
	return ret;
}

/*
 * Appends one part of @peer.  Returns 0 once its last allowed IP is in the
 * message, or -EMSGSIZE with *@ips_sent advanced past what did fit.  A part
 * always carries at least one allowed IP of a peer that has any, so every
 * message makes progress.
 */
static int wg_put_peer(struct sk_buff *skb, struct wg_peer *peer,
		       unsigned int *ips_sent)
{
	struct nlattr *peer_nest, *ips_nest;
	struct wg_allowedips_node *node;
	unsigned int index = 0, sent = 0;

	lockdep_assert_held(&peer->device->device_update_lock);

	peer_nest = nla_nest_start(skb, 0);
	if (!peer_nest)
		return -EMSGSIZE;
	if (nla_put(skb, WGPEER_A_PUBLIC_KEY, NOISE_PUBLIC_KEY_LEN,
		    peer->public_key))
		goto err_cancel_peer;
	if (!*ips_sent && wg_put_peer_state(skb, peer))
		goto err_cancel_peer;
	if (list_empty(&peer->allowedips_list))
		goto out;

	ips_nest = nla_nest_start(skb, WGPEER_A_ALLOWEDIPS);
	if (!ips_nest)
		goto err_cancel_peer;
	list_for_each_entry(node, &peer->allowedips_list, peer_list) {
		if (index++ < *ips_sent)
			continue;
		if (wg_put_allowedip(skb, node))
			break;
		++sent;
	}
	if (!sent)
		goto err_cancel_peer;
	nla_nest_end(skb, ips_nest);
	nla_nest_end(skb, peer_nest);
	*ips_sent += sent;
	return *ips_sent < index ? -EMSGSIZE : 0;

out:
	nla_nest_end(skb, peer_nest);
	return 0;

err_cancel_peer:
	nla_nest_cancel(skb, peer_nest);
	return -EMSGSIZE;
}

static int wg_put_device(struct sk_buff *skb, struct wg_device *wg)
{
	struct wg_static_identity *identity = &wg->static_identity;
	int ret = 0;

	if (nla_put_u16(skb, WGDEVICE_A_LISTEN_PORT, wg->incoming_port) ||
	    nla_put_u32(skb, WGDEVICE_A_FWMARK, wg->fwmark))
		return -EMSGSIZE;
	down_read(&identity->lock);
	if (identity->has_identity &&
	    (nla_put(skb, WGDEVICE_A_PRIVATE_KEY, NOISE_PUBLIC_KEY_LEN,
		     identity->static_private) ||
	     nla_put(skb, WGDEVICE_A_PUBLIC_KEY, NOISE_PUBLIC_KEY_LEN,
		     identity->static_public)))
		ret = -EMSGSIZE;
	up_read(&identity->lock);
	return ret;
}

/*
 * The peer to continue from: the cursor's, unless it was removed since the
 * last message, in which case its successor in creation order.
 */
static struct wg_peer *wg_dump_resume(struct wg_device *wg,
				      struct wg_dump_cursor *cursor)
{
	struct wg_peer *peer = cursor->peer;

	if (!peer)
		return list_first_entry_or_null(&wg->peer_list,
						struct wg_peer, peer_list);
	if (!READ_ONCE(peer->is_dead))
		return peer;
	cursor->ips_sent = 0;
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		if (peer->internal_id > cursor->peer_id)
			return peer;
	}
	return NULL;
}

static int wg_get_device_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct wg_dump_cursor *cursor = wg_dump_cursor(cb);
	struct wg_device *wg = cursor->wg;
	struct wg_peer *peer, *next = NULL;
	struct nlattr *peers_nest;
	bool progress = false;
	void *hdr;

	if (cursor->done)
		return 0;

	mutex_lock(&wg->device_update_lock);
	cb->seq = wg->update_gen + 1;
	hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			  &wg_genl_family, NLM_F_MULTI, WG_CMD_GET_DEVICE);
	if (!hdr)
		goto err_unlock;
	genl_dump_check_consistent(cb, hdr);

	if (nla_put_u32(skb, WGDEVICE_A_IFINDEX, wg->dev->ifindex) ||
	    nla_put_string(skb, WGDEVICE_A_IFNAME, wg->dev->name))
		goto err_cancel_message;
	if (!cursor->device_sent) {
		if (wg_put_device(skb, wg))
			goto err_cancel_message;
		progress = true;
	}

	peers_nest = nla_nest_start(skb, WGDEVICE_A_PEERS);
	if (!peers_nest)
		goto err_cancel_message;
	peer = wg_dump_resume(wg, cursor);
	while (peer) {
		unsigned int ips_before = cursor->ips_sent;

		if (wg_put_peer(skb, peer, &cursor->ips_sent)) {
			/* A part without allowed IPs was cancelled. */
			progress |= cursor->ips_sent != ips_before;
			next = peer;
			break;
		}
		progress = true;
		cursor->ips_sent = 0;
		peer = list_is_last(&peer->peer_list, &wg->peer_list) ? NULL :
		       list_next_entry(peer, peer_list);
	}
	nla_nest_end(skb, peers_nest);
	/* Nothing fit in a whole message: fail rather than loop forever. */
	if (!progress && next)
		goto err_cancel_message;
	genlmsg_end(skb, hdr);

	cursor->device_sent = true;
	if (next != cursor->peer) {
		wg_peer_put(cursor->peer);
		cursor->peer = next ? wg_peer_get(next) : NULL;
	}
	if (next)
		cursor->peer_id = next->internal_id;
	else
		cursor->done = true;
	mutex_unlock(&wg->device_update_lock);
	return skb->len;

err_cancel_message:
	genlmsg_cancel(skb, hdr);
err_unlock:
	mutex_unlock(&wg->device_update_lock);
	return -EMSGSIZE;
}

/* WG_CMD_SET_DEVICE: config.c */

static int wg_set_device(struct sk_buff *skb, struct genl_info *info)
{
	struct wg_device *wg;
	int ret;

	rtnl_lock();
	wg = wg_lookup_interface(info->attrs, genl_info_net(info), info->extack);
	if (IS_ERR(wg)) {
		ret = PTR_ERR(wg);
		goto err_unlock_rtnl;
	}
	mutex_lock(&wg->device_update_lock);
	ret = wg_config_set_device(wg, info->attrs, info->extack);
	mutex_unlock(&wg->device_update_lock);
	dev_put(wg->dev);
err_unlock_rtnl:
	rtnl_unlock();
	return ret;
}

static const struct genl_ops wg_genl_ops[] = {
	{
		.cmd = WG_CMD_GET_DEVICE,
		.validate = GENL_DONT_VALIDATE_STRICT,
		.start = wg_get_device_start,
		.dumpit = wg_get_device_dump,
		.done = wg_get_device_done,
		.flags = GENL_UNS_ADMIN_PERM,
	}, {
		.cmd = WG_CMD_SET_DEVICE,
		.validate = GENL_DONT_VALIDATE_STRICT,
		.doit = wg_set_device,
		.flags = GENL_UNS_ADMIN_PERM,
	}
};

static struct genl_family wg_genl_family __ro_after_init = {
	.ops = wg_genl_ops,
	.n_ops = ARRAY_SIZE(wg_genl_ops),
	.resv_start_op = WG_CMD_SET_DEVICE + 1,
	.name = WG_GENL_NAME,
	.version = WG_GENL_VERSION,
	.maxattr = WGDEVICE_A_MAX,
	.module = THIS_MODULE,
	.policy = wg_device_policy,
	.netnsok = true,
};

int __init wg_genetlink_init(void)
{
	int ret = genl_register_family(&wg_genl_family);

	if (ret == -EEXIST)
		pr_err("generic netlink family \"%s\" is already registered, most likely by the distribution's wireguard.ko: run 'rmmod wireguard' before loading wgmpsc\n",
		       WG_GENL_NAME);
	return ret;
}

void __exit wg_genetlink_uninit(void)
{
	genl_unregister_family(&wg_genl_family);
}
