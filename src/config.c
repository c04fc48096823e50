// SPDX-License-Identifier: GPL-2.0
/*
 * WG_CMD_SET_DEVICE as a transaction (see config.h).
 *
 * Pass one changes nothing the device shows.  It validates the whole
 * message, so bad input fails there, and then plans: it binds the new
 * listen port's sockets, makes every new peer (inert: a new peer's key may
 * already be in the table, where lookups find it, but its handshake
 * answers nobody) and reserves the allowed-IPs nodes that the inserts to
 * come can need.  Whatever fails, the plan is undone and the device is as
 * it was.  Pass two commits the plan and cannot fail: it binds no port and
 * allocates nothing, and a new peer whose key is still held by a peer the
 * request removes takes the key over with a swap in the table.
 *
 * Both passes run under RTNL and the device's update lock, which GET
 * takes as well: no reader of the configuration sees half a request.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/algapi.h>
#include <linux/rtnetlink.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <net/genetlink.h>

#include "allowedips.h"
#include "compat.h"
#include "config.h"
#include "cookie.h"
#include "device.h"
#include "noise.h"
#include "peer.h"
#include "peerlookup.h"
#include "send.h"
#include "socket.h"

/*
 * The flags this implementation knows.  Named here rather than taken from
 * the uapi's __WG*_F_ALL: 7.x's header, generated from the YNL spec, no
 * longer has those.
 */
enum {
	WG_DEVICE_FLAGS_KNOWN = WGDEVICE_F_REPLACE_PEERS,
	WG_PEER_FLAGS_KNOWN = WGPEER_F_REMOVE_ME | WGPEER_F_REPLACE_ALLOWEDIPS |
			      WGPEER_F_UPDATE_ONLY,
	WG_ALLOWEDIP_FLAGS_KNOWN = WGALLOWEDIP_F_REMOVE_ME,
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

/*
 * WGALLOWEDIP_A_FLAGS (v6.16) and any later attribute are validated
 * strictly, as the in-tree driver of 7.x validates them: exactly four
 * bytes (EINVAL, "invalid attribute length"), no unknown flag (EINVAL,
 * "reserved bit set").  The three older ones keep their lenient parse.
 */
static const struct nla_policy wg_allowedip_policy[WG_ALLOWEDIP_A_MAX + 1] = {
	[0] = { .strict_start_type = WGALLOWEDIP_A_FLAGS },
	[WGALLOWEDIP_A_FAMILY] = { .type = NLA_U16 },
	[WGALLOWEDIP_A_IPADDR] = NLA_POLICY_MIN_LEN(sizeof(struct in_addr)),
	[WGALLOWEDIP_A_CIDR_MASK] = { .type = NLA_U8 },
	[WGALLOWEDIP_A_FLAGS] = NLA_POLICY_MASK(NLA_U32, WG_ALLOWEDIP_FLAGS_KNOWN),
};

struct wg_allowedip {
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
	u32 flags;
	u16 family;
	u8 cidr;
};

static int wg_parse_allowedip(const struct nlattr *attr, struct wg_allowedip *out,
			      struct netlink_ext_ack *extack)
{
	struct nlattr *tb[WG_ALLOWEDIP_A_MAX + 1];
	unsigned int len, bits;
	int ret;

	ret = nla_parse_nested_deprecated(tb, WG_ALLOWEDIP_A_MAX, attr,
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
	out->flags = tb[WGALLOWEDIP_A_FLAGS] ?
		     nla_get_u32(tb[WGALLOWEDIP_A_FLAGS]) : 0;
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

/* Whether an allowed IP, validated by pass one, is a removal. */
static bool wg_allowedip_removes(const struct nlattr *attr)
{
	const struct nlattr *flags = nla_find_nested(attr, WGALLOWEDIP_A_FLAGS);

	return flags && (nla_get_u32(flags) & WGALLOWEDIP_F_REMOVE_ME);
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
	    (nla_get_u32(tb[WGPEER_A_FLAGS]) & ~WG_PEER_FLAGS_KNOWN)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[WGPEER_A_FLAGS],
				    WG_UNKNOWN_PEER_FLAGS_MSG);
		return -WG_UNKNOWN_FLAGS_ERRNO;
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

/*
 * The plan of a request: what pass two will do, with everything it needs
 * already in hand.  It lives for one request, under the update lock.
 */
struct wg_config_peer {
	const struct nlattr *attr;
	const u8 *public_key;
	/* Updated, activated or removed by this entry; NULL: skipped. */
	struct wg_peer *peer;
	/* Made by the plan for this entry; activated at it. */
	bool creates;
	/* The key's holder in the table before @peer, which takes it over. */
	struct wg_peer *takes_from;
	/* After this entry: the key's live peer and its holder in the table. */
	struct wg_peer *live, *holder;
	/* The entry before this one with the same key, if any. */
	struct wg_config_peer *prev;
	u32 flags;
	/* Allowed IPs it adds (not those it removes). */
	unsigned int ips;
};

struct wg_config {
	struct wg_device *wg;
	struct nlattr **attrs;
	struct netlink_ext_ack *extack;
	struct wg_config_peer *peers;
	unsigned int num_peers;
	/* Peers the plan made, inert, on their way to activation. */
	struct list_head created;
	unsigned int num_created;
	struct wg_allowedips_reserve nodes;
	struct wg_socket_pair sockets;
	bool rebind;
	bool replace_peers;
	bool sets_identity;
	u8 private_key[NOISE_PUBLIC_KEY_LEN];
	u8 public_key[NOISE_PUBLIC_KEY_LEN];
	bool has_private_key;
};

static bool wg_config_is_own_key(struct wg_config *config, const u8 *key)
{
	if (!config->sets_identity)
		return wg_is_own_public_key(config->wg, key);
	return config->has_private_key &&
	       !crypto_memneq(key, config->public_key, NOISE_PUBLIC_KEY_LEN);
}

static int wg_config_peer_cmp(const void *a, const void *b)
{
	const struct wg_config_peer *x = *(const struct wg_config_peer **)a;
	const struct wg_config_peer *y = *(const struct wg_config_peer **)b;
	int ret = memcmp(x->public_key, y->public_key, NOISE_PUBLIC_KEY_LEN);

	/* Same key: message order, which the array's order is. */
	return ret ?: (x < y ? -1 : x > y);
}

/*
 * Fills in each entry's key and flags, and links the entries that name
 * the same key, so that the plan can follow a key through a request that
 * names it more than once (removed, then added again, say).
 */
static int wg_config_index_peers(struct wg_config *config)
{
	struct nlattr *peers = config->attrs[WGDEVICE_A_PEERS];
	struct wg_config_peer **sorted, *entry;
	struct nlattr *tb[WGPEER_A_MAX + 1];
	struct nlattr *attr, *ip;
	unsigned int i, n = 0;
	int rem, ip_rem;

	nla_for_each_nested(attr, peers, rem)
		++n;
	if (!n)
		return 0;
	/* Failing here is reported to the caller (extack): no splat. */
	config->peers = kvcalloc(n, sizeof(*config->peers),
				 GFP_KERNEL | __GFP_NOWARN);
	sorted = kvmalloc_array(n, sizeof(*sorted), GFP_KERNEL | __GFP_NOWARN);
	if (!config->peers || !sorted) {
		kvfree(sorted);
		return -ENOMEM;
	}
	config->num_peers = n;
	entry = config->peers;
	nla_for_each_nested(attr, peers, rem) {
		/* Validated in pass one: this parse cannot fail. */
		nla_parse_nested_deprecated(tb, WGPEER_A_MAX, attr,
					    wg_peer_policy, NULL);
		entry->attr = attr;
		entry->public_key = nla_data(tb[WGPEER_A_PUBLIC_KEY]);
		entry->flags = tb[WGPEER_A_FLAGS] ?
			       nla_get_u32(tb[WGPEER_A_FLAGS]) : 0;
		if (tb[WGPEER_A_ALLOWEDIPS])
			nla_for_each_nested(ip, tb[WGPEER_A_ALLOWEDIPS], ip_rem)
				entry->ips += !wg_allowedip_removes(ip);
		sorted[entry - config->peers] = entry;
		++entry;
	}
	sort(sorted, n, sizeof(*sorted), wg_config_peer_cmp, NULL);
	for (i = 1; i < n; ++i)
		if (!memcmp(sorted[i]->public_key, sorted[i - 1]->public_key,
			    NOISE_PUBLIC_KEY_LEN))
			sorted[i]->prev = sorted[i - 1];
	kvfree(sorted);
	return 0;
}

/*
 * Decides what each peer entry does, in the order pass two will do it,
 * and makes the peers it needs.  A key's state runs through the entries
 * that name it: its live peer (what an update changes) and its holder in
 * the key table (which a new peer for the key must take over from, since
 * inserting could fail for memory and a swap cannot).
 */
static int wg_config_plan_peers(struct wg_config *config)
{
	struct wg_device *wg = config->wg;
	struct wg_config_peer *entry;
	struct wg_peer *live, *holder;
	unsigned int ips = 0;
	int ret;

	for (entry = config->peers;
	     entry < config->peers + config->num_peers; ++entry) {
		if (entry->prev) {
			live = entry->prev->live;
			holder = entry->prev->holder;
		} else {
			holder = wg_pubkey_table_find(wg, entry->public_key);
			/* Removed before the peers by REPLACE_PEERS or the key. */
			live = config->replace_peers ||
			       wg_config_is_own_key(config, entry->public_key) ?
			       NULL : holder;
		}

		if (entry->flags & WGPEER_F_REMOVE_ME) {
			entry->peer = live;
			live = NULL;
		} else if (live) {
			entry->peer = live;
		} else if (!(entry->flags & WGPEER_F_UPDATE_ONLY) &&
			   /* We are not our own peer; wg(8) users rely on it. */
			   !wg_config_is_own_key(config, entry->public_key)) {
			if ((config->replace_peers ? 0 : wg->num_peers) +
			    config->num_created >= MAX_PEERS_PER_DEVICE) {
				NL_SET_ERR_MSG_ATTR(config->extack, entry->attr,
						    "too many peers");
				return -ENOSPC;
			}
			live = wg_peer_alloc(wg, entry->public_key, NULL);
			if (!live)
				goto err_nomem;
			list_add_tail(&live->peer_list, &config->created);
			++config->num_created;
			if (holder) {
				entry->takes_from = holder;
			} else {
				ret = wg_peer_publish_key(live);
				if (ret) {
					NL_SET_ERR_MSG_ATTR(config->extack,
							    entry->attr,
							    "could not create peer");
					return ret;
				}
			}
			holder = live;
			entry->peer = live;
			entry->creates = true;
		}
		if (entry->peer && !(entry->flags & WGPEER_F_REMOVE_ME))
			ips += entry->ips;
		entry->live = live;
		entry->holder = holder;
	}
	if (!wg_allowedips_reserve_fill(&config->nodes, ips))
		return 0;
err_nomem:
	NL_SET_ERR_MSG(config->extack, "out of memory for the new configuration");
	return -ENOMEM;
}

/* Pass two for one peer entry: nothing here can fail. */
static void wg_config_apply_peer(struct wg_config *config,
				 struct wg_config_peer *entry,
				 struct list_head *dead)
{
	struct wg_device *wg = config->wg;
	struct wg_peer *peer = entry->peer;
	struct nlattr *tb[WGPEER_A_MAX + 1];
	struct wg_endpoint endpoint;
	struct wg_allowedip ip;
	struct nlattr *attr;
	int rem;

	if (!peer)
		return;
	if (entry->flags & WGPEER_F_REMOVE_ME) {
		wg_peer_unlink(peer, dead);
		return;
	}
	if (entry->creates)
		wg_peer_activate(peer);

	nla_parse_nested_deprecated(tb, WGPEER_A_MAX, entry->attr,
				    wg_peer_policy, NULL);
	if (tb[WGPEER_A_PRESHARED_KEY])
		wg_noise_handshake_set_preshared_key(&peer->handshake,
						     nla_data(tb[WGPEER_A_PRESHARED_KEY]));
	if (tb[WGPEER_A_ENDPOINT]) {
		wg_parse_endpoint(tb[WGPEER_A_ENDPOINT], &endpoint, NULL);
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
	if (entry->flags & WGPEER_F_REPLACE_ALLOWEDIPS)
		wg_allowedips_remove_by_peer(&wg->peer_allowedips, peer,
					     &wg->device_update_lock);
	if (!tb[WGPEER_A_ALLOWEDIPS])
		return;
	/* In message order: what an entry adds, a later one may remove. */
	nla_for_each_nested(attr, tb[WGPEER_A_ALLOWEDIPS], rem) {
		wg_parse_allowedip(attr, &ip, NULL);
		/*
		 * Only @peer's own prefix goes; another peer's or a missing
		 * one is left alone (-ENOENT), as in the in-tree driver.
		 */
		if (ip.flags & WGALLOWEDIP_F_REMOVE_ME) {
			if (ip.family == AF_INET)
				wg_allowedips_remove_v4(&wg->peer_allowedips,
							&ip.ip4, ip.cidr, peer,
							&wg->device_update_lock);
			else
				wg_allowedips_remove_v6(&wg->peer_allowedips,
							&ip.ip6, ip.cidr, peer,
							&wg->device_update_lock);
			continue;
		}
		/* Nodes come from the plan's reserve: no failure. */
		WARN_ON_ONCE(ip.family == AF_INET ?
			     wg_allowedips_insert_v4(&wg->peer_allowedips,
						     &ip.ip4, ip.cidr, peer,
						     &wg->device_update_lock,
						     &config->nodes) :
			     wg_allowedips_insert_v6(&wg->peer_allowedips,
						     &ip.ip6, ip.cidr, peer,
						     &wg->device_update_lock,
						     &config->nodes));
	}
}

/*
 * Installs a private key validated, with its public half, by pass one; NULL
 * clears the identity.  A peer with our own public key cannot be spoken
 * to, so it goes.  Everything derived from the old key goes too: the
 * cookie checker's keys, each peer's cached static-static DH and its
 * handshake in flight.  Sessions already established may no longer send:
 * the next packet to each peer starts a handshake under the new identity,
 * which a peer that learnt our new public key answers at once (one that
 * did not still receives on the old session until it expires).  Setting
 * the key the device already has changes nothing, sessions included.
 */
static void wg_set_identity(struct wg_device *wg, const u8 *private_key,
			    const u8 *public_key, struct list_head *dead)
{
	struct wg_static_identity *identity = &wg->static_identity;
	struct wg_peer *peer;
	bool same;

	lockdep_assert_held(&wg->device_update_lock);

	down_read(&identity->lock);
	same = public_key ? identity->has_identity &&
			    !crypto_memneq(identity->static_private,
					   private_key, NOISE_PUBLIC_KEY_LEN) :
			    !identity->has_identity;
	up_read(&identity->lock);
	if (same)
		return;

	if (public_key) {
		peer = wg_pubkey_table_find(wg, public_key);
		if (peer)
			wg_peer_unlink(peer, dead);
	}
	/* The identity lock is outside every handshake lock. */
	down_write(&identity->lock);
	wg_noise_static_identity_set(identity, public_key ? private_key : NULL);
	wg_cookie_checker_set_public_key(&wg->cookie_checker,
					 identity->has_identity ?
					 identity->static_public : NULL);
	list_for_each_entry(peer, &wg->peer_list, peer_list) {
		wg_noise_handshake_invalidate(&peer->handshake);
		wg_noise_keypairs_expire(&peer->keypairs);
		/* The old identity's last initiation does not hold it back. */
		wg_send_init_peer(peer);
	}
	up_write(&identity->lock);
}

/* Pass one: every check, nothing changed. */
static int wg_config_validate(struct wg_config *config)
{
	struct nlattr **attrs = config->attrs;
	struct netlink_ext_ack *extack = config->extack;
	u32 flags = 0;
	int ret;

	if (attrs[WGDEVICE_A_FLAGS]) {
		flags = nla_get_u32(attrs[WGDEVICE_A_FLAGS]);
		if (flags & ~WG_DEVICE_FLAGS_KNOWN) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[WGDEVICE_A_FLAGS],
					    WG_UNKNOWN_DEVICE_FLAGS_MSG);
			return -WG_UNKNOWN_FLAGS_ERRNO;
		}
	}
	config->replace_peers = flags & WGDEVICE_F_REPLACE_PEERS;
	if (attrs[WGDEVICE_A_PEERS]) {
		ret = wg_validate_peers(attrs[WGDEVICE_A_PEERS], extack);
		if (ret)
			return ret;
	}
	if (attrs[WGDEVICE_A_PRIVATE_KEY]) {
		config->sets_identity = true;
		nla_memcpy(config->private_key, attrs[WGDEVICE_A_PRIVATE_KEY],
			   sizeof(config->private_key));
		/* All zeros clears the key; anything else must work. */
		config->has_private_key =
			!!memchr_inv(config->private_key, 0,
				     sizeof(config->private_key));
		if (config->has_private_key &&
		    !wg_noise_static_identity_derive(config->public_key,
						     config->private_key)) {
			NL_SET_ERR_MSG_ATTR(extack,
					    attrs[WGDEVICE_A_PRIVATE_KEY],
					    "private key gives no public key");
			return -EINVAL;
		}
	}
	return 0;
}

/* Pass one, continued: what can fail for want of memory or a port. */
static int wg_config_plan(struct wg_config *config)
{
	struct nlattr *port_attr = config->attrs[WGDEVICE_A_LISTEN_PORT];
	struct wg_device *wg = config->wg;
	int ret;

	if (port_attr && netif_running(wg->dev)) {
		u16 port = nla_get_u16(port_attr);

		if (!port || port != wg->incoming_port) {
			ret = wg_socket_bind(wg, port, &config->sockets);
			if (ret == -EADDRINUSE)
				NL_SET_ERR_MSG_ATTR(config->extack, port_attr,
						    "listen port is in use");
			else if (ret)
				NL_SET_ERR_MSG_ATTR(config->extack, port_attr,
						    "could not open sockets on the listen port");
			if (ret)
				return ret;
			config->rebind = true;
		}
	}
	if (!config->attrs[WGDEVICE_A_PEERS])
		return 0;
	ret = wg_config_index_peers(config);
	if (ret) {
		NL_SET_ERR_MSG(config->extack,
			       "out of memory for the new configuration");
		return ret;
	}
	return wg_config_plan_peers(config);
}

/*
 * Pass two, in the order the request's meaning gives: the port, the mark,
 * every peer if REPLACE_PEERS, the private key, then each peer entry in
 * message order.  Nothing in it can fail.
 */
static void wg_config_commit(struct wg_config *config, struct list_head *dead)
{
	struct nlattr **attrs = config->attrs;
	struct wg_device *wg = config->wg;
	struct wg_config_peer *entry, *end = config->peers + config->num_peers;
	struct wg_peer *peer;

	if (config->rebind)
		wg_socket_install(wg, &config->sockets);
	else if (attrs[WGDEVICE_A_LISTEN_PORT])
		wg->incoming_port = nla_get_u16(attrs[WGDEVICE_A_LISTEN_PORT]);
	if (attrs[WGDEVICE_A_FWMARK]) {
		wg->fwmark = nla_get_u32(attrs[WGDEVICE_A_FWMARK]);
		/* Cached routes were looked up with the old mark. */
		list_for_each_entry(peer, &wg->peer_list, peer_list)
			wg_route_cache_reset(&peer->route_cache);
	}
	/*
	 * Keys change hands first: each predecessor is removed by what
	 * follows (REPLACE_PEERS, the private key or a removal entry), and
	 * its removal then finds its key already gone.
	 */
	for (entry = config->peers; entry < end; ++entry)
		if (entry->takes_from)
			wg_peer_take_key(entry->takes_from, entry->peer);
	if (config->replace_peers)
		wg_peer_remove_all(wg);
	if (config->sets_identity)
		wg_set_identity(wg, config->private_key,
				config->has_private_key ? config->public_key :
				NULL, dead);
	for (entry = config->peers; entry < end; ++entry)
		wg_config_apply_peer(config, entry, dead);
	WARN_ON(!list_empty(&config->created));
}

int wg_config_set_device(struct wg_device *wg, struct nlattr **attrs,
			 struct netlink_ext_ack *extack)
{
	struct wg_config config = {
		.wg = wg,
		.attrs = attrs,
		.extack = extack,
		.created = LIST_HEAD_INIT(config.created),
	};
	struct wg_peer *peer, *tmp;
	LIST_HEAD(dead);
	int ret;

	ASSERT_RTNL();
	lockdep_assert_held(&wg->device_update_lock);

	ret = wg_config_validate(&config);
	if (!ret)
		ret = wg_config_plan(&config);
	if (!ret) {
		wg_config_commit(&config, &dead);
	} else {
		/* The plan is undone: the device is as it was. */
		wg_socket_discard(&config.sockets);
		list_for_each_entry_safe(peer, tmp, &config.created, peer_list)
			wg_peer_discard(peer, &dead);
	}
	wg_allowedips_reserve_release(&config.nodes);
	kvfree(config.peers);
	++wg->update_gen;
	wg_peer_remove_finish(&dead);
	memzero_explicit(config.private_key, sizeof(config.private_key));
	return ret;
}
