// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink configuration (see netlink.h).
 *
 * WG_CMD_SET_DEVICE is all-or-nothing against bad input: the whole message
 * is validated before anything changes, and the only step that can then
 * fail for a reason other than memory, rebinding the listen port, runs
 * before any other change.
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

static const struct nla_policy wg_peer_policy[WGPEER_A_MAX + 1] = {
	[WGPEER_A_PUBLIC_KEY] = NLA_POLICY_EXACT_LEN(NOISE_PUBLIC_KEY_LEN),
	[WGPEER_A_PRESHARED_KEY] = NLA_POLICY_EXACT_LEN(NOISE_SYMMETRIC_KEY_LEN),
	[WGPEER_A_FLAGS] = { .type = NLA_U32 },
	[WGPEER_A_ENDPOINT] = NLA_POLICY_MIN_LEN(sizeof(struct sockaddr)),
	[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL] = { .type = NLA_U16 },
	[WGPEER_A_LAST_HANDSHAKE_TIME] =
		NLA_POLICY_EXACT_LEN(sizeof(struct __kernel_timespec)),
	[WGPEER_A_RX_BYTES] = { .type = NLA_U64 },
	[WGPEER_A_TX_BYTES] = { .type = NLA_U64 },
	[WGPEER_A_ALLOWEDIPS] = { .type = NLA_NESTED },
	[WGPEER_A_PROTOCOL_VERSION] = { .type = NLA_U32 },
};

static const struct nla_policy wg_allowedip_policy[WGALLOWEDIP_A_MAX + 1] = {
	[WGALLOWEDIP_A_FAMILY] = { .type = NLA_U16 },
	[WGALLOWEDIP_A_IPADDR] = NLA_POLICY_MIN_LEN(sizeof(struct in_addr)),
	[WGALLOWEDIP_A_CIDR_MASK] = { .type = NLA_U8 },
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

	wg = wg_lookup_interface(info->attrs, sock_net(cb->skb->sk),
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

/* WG_CMD_SET_DEVICE */

struct wg_allowedip {
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
	u16 family;
	u8 cidr;
};

static int wg_parse_allowedip(const struct nlattr *attr, struct wg_allowedip *out,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[WGALLOWEDIP_A_MAX + 1];
	unsigned int len, bits;
	int ret;

	ret = nla_parse_nested_deprecated(tb, WGALLOWEDIP_A_MAX, attr,
					  wg_allowedip_policy, extack);
	if (ret)
		return ret;
	if (!tb[WGALLOWEDIP_A_FAMILY] || !tb[WGALLOWEDIP_A_IPADDR] ||
	    !tb[WGALLOWEDIP_A_CIDR_MASK]) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "allowed IP needs a family, an address and a cidr");
		return -EINVAL;
	}
	out->family = nla_get_u16(tb[WGALLOWEDIP_A_FAMILY]);
	out->cidr = nla_get_u8(tb[WGALLOWEDIP_A_CIDR_MASK]);
	len = nla_len(tb[WGALLOWEDIP_A_IPADDR]);
	if (out->family == AF_INET) {
		len = len == sizeof(out->ip4) ? len : 0;
		bits = 32;
	} else if (out->family == AF_INET6) {
		len = len == sizeof(out->ip6) ? len : 0;
		bits = 128;
	} else {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGALLOWEDIP_A_FAMILY],
				    "allowed IP family is neither AF_INET nor AF_INET6");
		return -EINVAL;
	}
	if (!len) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGALLOWEDIP_A_IPADDR],
				    "allowed IP address length does not match its family");
		return -EINVAL;
	}
	if (out->cidr > bits) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGALLOWEDIP_A_CIDR_MASK],
				    "allowed IP cidr is longer than the address");
		return -EINVAL;
	}
	nla_memcpy(&out->ip6, tb[WGALLOWEDIP_A_IPADDR], len);
	return 0;
}

static int wg_parse_endpoint(const struct nlattr *attr, struct wg_endpoint *out,
			     struct netlink_ext_ack *extack)
{
	const struct sockaddr *addr = nla_data(attr);
	unsigned int len = nla_len(attr);

	memset(out, 0, sizeof(*out));
	if (addr->sa_family == AF_INET && len >= sizeof(out->addr4)) {
		memcpy(&out->addr4, addr, sizeof(out->addr4));
		return 0;
	}
	if (addr->sa_family == AF_INET6 && len >= sizeof(out->addr6)) {
		memcpy(&out->addr6, addr, sizeof(out->addr6));
		return 0;
	}
	NL_SET_ERR_MSG_ATTR(extack, attr,
			    "endpoint is neither a sockaddr_in nor a sockaddr_in6");
	return -EINVAL;
}

/*
 * Checks one peer of a WG_CMD_SET_DEVICE completely, without touching
 * anything, and leaves its attributes in @tb for the apply pass.
 */
static int wg_validate_peer(struct nlattr **tb, const struct nlattr *attr,
			    struct netlink_ext_ack *extack)
{
	struct wg_endpoint endpoint;
	struct wg_allowedip ip;
	struct nlattr *ip_attr;
	int ret, rem;

	ret = nla_parse_nested_deprecated(tb, WGPEER_A_MAX, attr,
					  wg_peer_policy, extack);
	if (ret)
		return ret;
	if (!tb[WGPEER_A_PUBLIC_KEY]) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "peer has no public key");
		return -EINVAL;
	}
	if (tb[WGPEER_A_PROTOCOL_VERSION] &&
	    nla_get_u32(tb[WGPEER_A_PROTOCOL_VERSION]) != WG_PROTOCOL_VERSION) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGPEER_A_PROTOCOL_VERSION],
				    "unsupported protocol version");
		return -EPFNOSUPPORT;
	}
	if (tb[WGPEER_A_FLAGS] &&
	    (nla_get_u32(tb[WGPEER_A_FLAGS]) & ~__WGPEER_F_ALL)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGPEER_A_FLAGS],
				    "unknown peer flags");
		return -EOPNOTSUPP;
	}
	if (tb[WGPEER_A_ENDPOINT]) {
		ret = wg_parse_endpoint(tb[WGPEER_A_ENDPOINT], &endpoint, extack);
		if (ret)
			return ret;
	}
	if (tb[WGPEER_A_ALLOWEDIPS]) {
		nla_for_each_nested(ip_attr, tb[WGPEER_A_ALLOWEDIPS], rem) {
			ret = wg_parse_allowedip(ip_attr, &ip, extack);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int wg_validate_peers(struct nlattr *peers,
			     struct netlink_ext_ack *extack)
{
	struct nlattr *tb[WGPEER_A_MAX + 1];
	struct nlattr *attr;
	int ret, rem;

	nla_for_each_nested(attr, peers, rem) {
		ret = wg_validate_peer(tb, attr, extack);
		if (ret)
			return ret;
	}
	return 0;
}

static int wg_set_allowedips(struct wg_device *wg, struct wg_peer *peer,
			     struct nlattr *ips, struct netlink_ext_ack *extack)
{
	struct wg_allowedip ip;
	struct nlattr *attr;
	int ret, rem;

	nla_for_each_nested(attr, ips, rem) {
		/* Validated already: this parse cannot fail. */
		ret = wg_parse_allowedip(attr, &ip, extack);
		if (ret)
			return ret;
		if (ip.family == AF_INET)
			ret = wg_allowedips_insert_v4(&wg->peer_allowedips,
						      &ip.ip4, ip.cidr, peer,
						      &wg->device_update_lock);
		else
			ret = wg_allowedips_insert_v6(&wg->peer_allowedips,
						      &ip.ip6, ip.cidr, peer,
						      &wg->device_update_lock);
		if (ret) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "could not add allowed IP");
			return ret;
		}
	}
	return 0;
}

static bool wg_is_own_public_key(struct wg_device *wg, const u8 *key)
{
	struct wg_static_identity *identity = &wg->static_identity;
	bool own;

	down_read(&identity->lock);
	own = identity->has_identity &&
	      !crypto_memneq(key, identity->static_public, NOISE_PUBLIC_KEY_LEN);
	up_read(&identity->lock);
	return own;
}

/* Applies one validated peer.  Removed peers collect on @dead. */
static int wg_set_peer(struct wg_device *wg, struct nlattr *attr,
		       struct list_head *dead, struct netlink_ext_ack *extack)
{
	struct nlattr *tb[WGPEER_A_MAX + 1];
	struct wg_endpoint endpoint;
	struct wg_peer *peer;
	const u8 *public_key;
	u32 flags = 0;
	int ret;

	ret = nla_parse_nested_deprecated(tb, WGPEER_A_MAX, attr,
					  wg_peer_policy, extack);
	if (ret)
		return ret;
	public_key = nla_data(tb[WGPEER_A_PUBLIC_KEY]);
	if (tb[WGPEER_A_FLAGS])
		flags = nla_get_u32(tb[WGPEER_A_FLAGS]);

	peer = wg_pubkey_table_lookup(wg, public_key);
	if (flags & WGPEER_F_REMOVE_ME) {
		if (peer)
			wg_peer_unlink(peer, dead);
		goto out;
	}
	if (!peer) {
		/* We are not our own peer; wg(8) users rely on this. */
		if ((flags & WGPEER_F_UPDATE_ONLY) ||
		    wg_is_own_public_key(wg, public_key))
			goto out;
		peer = wg_peer_create(wg, public_key, NULL);
		if (IS_ERR(peer)) {
			ret = PTR_ERR(peer);
			peer = NULL;
			NL_SET_ERR_MSG_ATTR(extack, attr, "could not create peer");
			goto out;
		}
		wg_peer_get(peer);
	}

	if (tb[WGPEER_A_PRESHARED_KEY])
		wg_noise_handshake_set_preshared_key(&peer->handshake,
						     nla_data(tb[WGPEER_A_PRESHARED_KEY]));
	if (tb[WGPEER_A_ENDPOINT]) {
		wg_parse_endpoint(tb[WGPEER_A_ENDPOINT], &endpoint, extack);
		wg_socket_set_peer_endpoint(peer, &endpoint);
	}
	if (tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]) {
		u16 interval =
			nla_get_u16(tb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
		bool starts = interval && !peer->persistent_keepalive_interval;

		peer->persistent_keepalive_interval = interval;
		/* Turning it on opens the path now, not an interval later. */
		if (starts && netif_running(wg->dev))
			wg_send_keepalive(peer);
	}
	if (flags & WGPEER_F_REPLACE_ALLOWEDIPS)
		wg_allowedips_remove_by_peer(&wg->peer_allowedips, peer,
					     &wg->device_update_lock);
	if (tb[WGPEER_A_ALLOWEDIPS])
		ret = wg_set_allowedips(wg, peer, tb[WGPEER_A_ALLOWEDIPS],
					extack);
out:
	wg_peer_put(peer);
	return ret;
}

/*
 * Installs a private key validated, with its public half, by pass one; NULL
 * clears the identity.  A peer with our own public key cannot be spoken
 * to, so it goes.  Everything derived from the old key goes too: the
 * cookie checker's keys, each peer's cached static-static DH and its
 * handshake in flight.  Sessions already established stay.
 */
static void wg_set_identity(struct wg_device *wg, const u8 *private_key,
			    const u8 *public_key, struct list_head *dead)
{
	struct wg_static_identity *identity = &wg->static_identity;
	struct wg_peer *peer;

	lockdep_assert_held(&wg->device_update_lock);

	if (public_key) {
		peer = wg_pubkey_table_lookup(wg, public_key);
		if (peer) {
			wg_peer_unlink(peer, dead);
			wg_peer_put(peer);
		}
	}
	/* The identity lock is outside every handshake lock. */
	down_write(&identity->lock);
	wg_noise_static_identity_set(identity, public_key ? private_key : NULL);
	wg_cookie_checker_set_public_key(&wg->cookie_checker,
					 identity->has_identity ?
					 identity->static_public : NULL);
	list_for_each_entry(peer, &wg->peer_list, peer_list)
		wg_noise_handshake_invalidate(&peer->handshake);
	up_write(&identity->lock);
}

/* May fail and change nothing; everything else in a set comes after it. */
static int wg_set_listen_port(struct wg_device *wg, struct nlattr *attr,
			      struct netlink_ext_ack *extack)
{
	u16 port = nla_get_u16(attr);
	int ret;

	ASSERT_RTNL();
	if (!netif_running(wg->dev)) {
		wg->incoming_port = port;
		return 0;
	}
	if (port && port == wg->incoming_port)
		return 0;
	ret = wg_socket_init(wg, port);
	if (ret == -EADDRINUSE)
		NL_SET_ERR_MSG_ATTR(extack, attr, "listen port is in use");
	else if (ret)
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "could not open sockets on the listen port");
	return ret;
}

static int wg_set_device(struct sk_buff *skb, struct genl_info *info)
{
	u8 private_key[NOISE_PUBLIC_KEY_LEN], public_key[NOISE_PUBLIC_KEY_LEN];
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr **attrs = info->attrs;
	bool has_private_key = false;
	struct nlattr *attr;
	struct wg_device *wg;
	LIST_HEAD(dead);
	int ret, rem;

	rtnl_lock();
	wg = wg_lookup_interface(attrs, genl_info_net(info), extack);
	if (IS_ERR(wg)) {
		ret = PTR_ERR(wg);
		goto err_unlock_rtnl;
	}
	mutex_lock(&wg->device_update_lock);

	/* Pass one: nothing changes unless all of the message is valid. */
	if (attrs[WGDEVICE_A_FLAGS] &&
	    (nla_get_u32(attrs[WGDEVICE_A_FLAGS]) & ~__WGDEVICE_F_ALL)) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[WGDEVICE_A_FLAGS],
				    "unknown device flags");
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (attrs[WGDEVICE_A_PEERS]) {
		ret = wg_validate_peers(attrs[WGDEVICE_A_PEERS], extack);
		if (ret)
			goto out;
	}
	if (attrs[WGDEVICE_A_PRIVATE_KEY]) {
		nla_memcpy(private_key, attrs[WGDEVICE_A_PRIVATE_KEY],
			   sizeof(private_key));
		/* All zeros clears the key; anything else must work. */
		has_private_key = !!memchr_inv(private_key, 0,
					       sizeof(private_key));
		if (has_private_key &&
		    !wg_noise_static_identity_derive(public_key, private_key)) {
			NL_SET_ERR_MSG_ATTR(extack,
					    attrs[WGDEVICE_A_PRIVATE_KEY],
					    "private key gives no public key");
			ret = -EINVAL;
			goto out;
		}
	}
	if (attrs[WGDEVICE_A_LISTEN_PORT]) {
		ret = wg_set_listen_port(wg, attrs[WGDEVICE_A_LISTEN_PORT],
					 extack);
		if (ret)
			goto out;
	}

	/* Pass two: only allocation failures remain possible. */
	if (attrs[WGDEVICE_A_FWMARK]) {
		struct wg_peer *peer;

		wg->fwmark = nla_get_u32(attrs[WGDEVICE_A_FWMARK]);
		/* Cached routes were looked up with the old mark. */
		list_for_each_entry(peer, &wg->peer_list, peer_list)
			wg_route_cache_reset(&peer->route_cache);
	}
	if (attrs[WGDEVICE_A_FLAGS] &&
	    (nla_get_u32(attrs[WGDEVICE_A_FLAGS]) & WGDEVICE_F_REPLACE_PEERS))
		wg_peer_remove_all(wg);
	if (attrs[WGDEVICE_A_PRIVATE_KEY])
		wg_set_identity(wg, private_key,
				has_private_key ? public_key : NULL, &dead);
	ret = 0;
	if (attrs[WGDEVICE_A_PEERS]) {
		u64 first_new = wg_peer_next_id();
		struct wg_peer *peer, *tmp;

		nla_for_each_nested(attr, attrs[WGDEVICE_A_PEERS], rem) {
			ret = wg_set_peer(wg, attr, &dead, extack);
			if (ret)
				break;
		}
		/*
		 * An allocation failed: the peers this request created go
		 * again, so that a request adding peers adds all or none.
		 * Changes it made to peers that existed before stay.
		 */
		if (ret)
			list_for_each_entry_safe(peer, tmp, &wg->peer_list,
						 peer_list)
				if (peer->internal_id >= first_new)
					wg_peer_unlink(peer, &dead);
	}

out:
	++wg->update_gen;
	wg_peer_remove_finish(&dead);
	mutex_unlock(&wg->device_update_lock);
	dev_put(wg->dev);
err_unlock_rtnl:
	rtnl_unlock();
	memzero_explicit(private_key, sizeof(private_key));
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
