/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Allowed IPs: a path-compressed binary trie per address family mapping
 * prefixes to peers with longest-prefix match.
 *
 * Readers (the packet paths) walk the trie under rcu_read_lock(); writers
 * hold the device's update mutex, passed in as @lock so that every
 * rcu_dereference_protected() states which lock makes it safe.  Each node
 * that carries a peer is also on that peer's allowedips_list, so removing a
 * peer's prefixes touches only that peer's nodes.  Nodes are freed after an
 * RCU grace period.
 */
#ifndef _WG_ALLOWEDIPS_H
#define _WG_ALLOWEDIPS_H

#include <linux/mutex.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/rcupdate.h>
#include <linux/skbuff.h>

struct wg_peer;

/*
 * One prefix.  Nodes without a peer are glue where two prefixes diverge.
 * @key holds the address as two host-order 64-bit halves, most significant
 * bit first (IPv4 in the top 32 bits of key[0]), so both families share
 * one bit walk.  A node leaves its peer's list before it is freed, so the
 * list head doubles as the RCU head.  Readers use @peer, @child, @key and
 * @cidr only; @parent is for writers under the update lock.
 */
struct wg_allowedips_node {
	struct wg_peer __rcu *peer;
	struct wg_allowedips_node __rcu *child[2];
	struct wg_allowedips_node *parent;
	union {
		struct list_head peer_list;
		struct rcu_head rcu;
	};
	u64 key[2];
	u8 cidr;
	u8 bits; /* 32 or 128 */
};

struct wg_allowedips {
	struct wg_allowedips_node __rcu *root4;
	struct wg_allowedips_node __rcu *root6;
};

/* The node cache, set up at module load and torn down at unload. */
int wg_allowedips_slab_init(void);
void wg_allowedips_slab_uninit(void);

void wg_allowedips_init(struct wg_allowedips *table);

/* Frees every node of both tries; the peers' lists are left empty. */
void wg_allowedips_free(struct wg_allowedips *table, struct mutex *lock);

/*
 * Nodes set aside before a change that must not fail half-way: with
 * WG_ALLOWEDIPS_NODES_PER_INSERT nodes reserved per insert to come, each
 * of those inserts takes its nodes from here and cannot fail.  Reserved
 * nodes belong to the caller until used or released; the struct starts
 * zeroed.
 */
struct wg_allowedips_reserve {
	struct wg_allowedips_node *nodes;	/* linked through @parent */
	unsigned int count;
};

enum {
	/* The prefix's own node, and glue where it parts from a sibling. */
	WG_ALLOWEDIPS_NODES_PER_INSERT = 2,
};

/* Tops @reserve up for @inserts inserts; -ENOMEM keeps what it got. */
int wg_allowedips_reserve_fill(struct wg_allowedips_reserve *reserve,
			       unsigned int inserts);
void wg_allowedips_reserve_release(struct wg_allowedips_reserve *reserve);

/*
 * Host bits beyond @cidr are masked off.  Inserting an existing prefix moves
 * it to @peer.  Nodes come from @reserve while it has any, else from the
 * allocator.  Returns 0, -EINVAL for a cidr beyond the family's width or a
 * NULL @peer, or -ENOMEM.
 */
int wg_allowedips_insert_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock,
			    struct wg_allowedips_reserve *reserve);
int wg_allowedips_insert_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock,
			    struct wg_allowedips_reserve *reserve);

/*
 * Removes the prefix @ip/@cidr (host bits masked off, as on insert) if
 * @peer has it: 0.  Allocates nothing, so cannot fail otherwise; -ENOENT
 * when there is no such prefix or another peer has it (nothing changes),
 * -EINVAL for a cidr beyond the family's width or a NULL @peer.
 */
int wg_allowedips_remove_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock);
int wg_allowedips_remove_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock);

/* Removes every prefix of @peer, leaving its allowedips_list empty. */
void wg_allowedips_remove_by_peer(struct wg_allowedips *table,
				  struct wg_peer *peer, struct mutex *lock);

/*
 * Reads a node found on a peer's allowedips_list: fills @ip (4 or 16 bytes)
 * and @cidr and returns AF_INET or AF_INET6.  Caller holds @lock or RCU.
 */
int wg_allowedips_read_node(const struct wg_allowedips_node *node, u8 ip[16],
			    u8 *cidr);

/*
 * Longest-prefix match under rcu_read_lock() or rcu_read_lock_bh().  The
 * skb helpers expect the IP header checked and linear.  Return the peer whose prefix
 * best covers the address, without taking a reference (the caller does that
 * with wg_peer_get_maybe_zero() before leaving the RCU section), or NULL.
 */
struct wg_peer *wg_allowedips_lookup_v4(struct wg_allowedips *table,
					const struct in_addr *ip);
struct wg_peer *wg_allowedips_lookup_v6(struct wg_allowedips *table,
					const struct in6_addr *ip);

/* Packet helpers: routing by destination (tx), source check (rx). */
struct wg_peer *wg_allowedips_lookup_dst(struct wg_allowedips *table,
					 struct sk_buff *skb);
struct wg_peer *wg_allowedips_lookup_src(struct wg_allowedips *table,
					 struct sk_buff *skb);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_allowedips_selftest(void);
#endif

#endif /* _WG_ALLOWEDIPS_H */
