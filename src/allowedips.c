// SPDX-License-Identifier: GPL-2.0
/*
 * Allowed IPs as a path-compressed binary trie, one per address family.
 *
 * Every node owns a prefix (@key, @cidr) and, from the root down, the
 * prefixes strictly lengthen: a child's prefix extends its parent's and
 * child[b] is the subtree whose bit at position parent->cidr is b.  Nodes
 * exist only for inserted prefixes and for glue where two prefixes part, so
 * a path holds at most bits + 1 nodes and no glue node has fewer than two
 * children.
 *
 * Concurrency: one writer at a time (the caller's @lock) against any number
 * of RCU readers.  A node's @key and @cidr never change once it is
 * published, and a writer only ever swings one child (or root) pointer to
 * splice a subtree in or out, so a reader racing with it sees the trie
 * either before or after that one store, each of which is a valid trie.
 * Unlinked nodes are freed after a grace period.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "allowedips.h"
#include "compat.h"
#include "peer.h"

#include <linux/bitops.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <linux/string.h>

static struct kmem_cache *node_cache;

/* Writer-side loads: safe because @lock excludes every other writer. */
#define deref_locked(p, lock) \
	rcu_dereference_protected(p, lockdep_is_held(lock))

/*
 * Reader-side loads.  The transmit path runs under rcu_read_lock_bh()
 * rather than rcu_read_lock(); both are the same RCU flavour since 5.0, so
 * either one protects the walk.
 */
#define deref_reader(p) rcu_dereference_check(p, rcu_read_lock_bh_held())

/* Bit @pos (0 = most significant) of a 128-bit key. */
static __always_inline unsigned int key_bit(const u64 key[2], unsigned int pos)
{
	return (key[pos >> 6] >> (63 - (pos & 63))) & 1;
}

/* Number of leading bits @a and @b share, 0 to 128. */
static __always_inline unsigned int common_bits(const u64 a[2], const u64 b[2])
{
	u64 x = a[0] ^ b[0];

	/* fls64(), not __fls(): that takes an unsigned long, 32 bits wide. */
	if (x)
		return 64 - fls64(x);
	x = a[1] ^ b[1];
	if (x)
		return 128 - fls64(x);
	return 128;
}

/* The top @n bits of a 64-bit half set, 0 <= n <= 64. */
static __always_inline u64 half_mask(unsigned int n)
{
	return n ? ~0ULL << (64 - n) : 0;
}

static void mask_key(u64 key[2], unsigned int cidr)
{
	key[0] &= half_mask(min(cidr, 64U));
	key[1] &= half_mask(cidr > 64 ? cidr - 64 : 0);
}

static void key_from_v4(u64 key[2], const struct in_addr *ip)
{
	key[0] = (u64)be32_to_cpu(ip->s_addr) << 32;
	key[1] = 0;
}

static void key_from_v6(u64 key[2], const struct in6_addr *ip)
{
	key[0] = get_unaligned_be64(&ip->s6_addr[0]);
	key[1] = get_unaligned_be64(&ip->s6_addr[8]);
}

int wg_allowedips_slab_init(void)
{
	node_cache = KMEM_CACHE(wg_allowedips_node, 0);
	return node_cache ? 0 : -ENOMEM;
}

void wg_allowedips_slab_uninit(void)
{
	/* Let queued node_free_rcu() callbacks drain before the cache goes. */
	rcu_barrier();
	kmem_cache_destroy(node_cache);
}

static void node_free_rcu(struct rcu_head *rcu)
{
	kmem_cache_free(node_cache,
			container_of(rcu, struct wg_allowedips_node, rcu));
}

/*
 * The node must already be unreachable from the root and off its peer's
 * list, since @rcu overlays @peer_list.  Readers that reached it before it
 * was unlinked may keep walking through it until the grace period ends,
 * which is why its child pointers are left as they were.
 */
static void node_free(struct wg_allowedips_node *node)
{
	call_rcu(&node->rcu, node_free_rcu);
}

/*
 * A node from @reserve when there is one (the insert then cannot fail),
 * else a fresh allocation.
 */
static struct wg_allowedips_node *node_new(const u64 key[2], u8 cidr, u8 bits,
					   struct wg_allowedips_node *parent,
					   struct wg_allowedips_reserve *reserve)
{
	struct wg_allowedips_node *node;

	if (reserve && reserve->nodes) {
		node = reserve->nodes;
		reserve->nodes = node->parent;
		--reserve->count;
		memset(node, 0, sizeof(*node));
	} else {
		node = kmem_cache_zalloc(node_cache, GFP_KERNEL);
		if (!node)
			return NULL;
	}
	node->key[0] = key[0];
	node->key[1] = key[1];
	mask_key(node->key, cidr);
	node->cidr = cidr;
	node->bits = bits;
	node->parent = parent;
	return node;
}

/* A node that was never published goes back where it came from. */
static void node_unnew(struct wg_allowedips_node *node,
		       struct wg_allowedips_reserve *reserve)
{
	if (reserve) {
		node->parent = reserve->nodes;
		reserve->nodes = node;
		++reserve->count;
	} else {
		kmem_cache_free(node_cache, node);
	}
}

int wg_allowedips_reserve_fill(struct wg_allowedips_reserve *reserve,
			       unsigned int inserts)
{
	unsigned int want = inserts * WG_ALLOWEDIPS_NODES_PER_INSERT;
	struct wg_allowedips_node *node;

	while (reserve->count < want) {
		node = kmem_cache_alloc(node_cache, GFP_KERNEL);
		if (!node)
			return -ENOMEM;
		node->parent = reserve->nodes;
		reserve->nodes = node;
		++reserve->count;
	}
	return 0;
}

/* Never published, so no reader can hold them: no grace period. */
void wg_allowedips_reserve_release(struct wg_allowedips_reserve *reserve)
{
	struct wg_allowedips_node *node;

	while ((node = reserve->nodes)) {
		reserve->nodes = node->parent;
		kmem_cache_free(node_cache, node);
	}
	reserve->count = 0;
}

/* Attaches @peer to a node not yet published, so no barrier is needed. */
static void node_set_peer_init(struct wg_allowedips_node *node,
			       struct wg_peer *peer)
{
	RCU_INIT_POINTER(node->peer, peer);
	list_add_tail(&node->peer_list, &peer->allowedips_list);
}

static struct wg_allowedips_node __rcu **root_of(struct wg_allowedips *table,
						 u8 bits)
{
	return bits == 32 ? &table->root4 : &table->root6;
}

/* The pointer that links @node into its trie. */
static struct wg_allowedips_node __rcu **
node_slot(struct wg_allowedips *table, struct wg_allowedips_node *node)
{
	struct wg_allowedips_node *parent = node->parent;

	if (!parent)
		return root_of(table, node->bits);
	return &parent->child[key_bit(node->key, parent->cidr)];
}

/*
 * Walks down while each node's prefix covers the new one.  The walk ends on
 * the exact prefix (re-pointed in place), on an empty slot (new leaf), or on
 * a node that diverges from the new prefix, which then either becomes the
 * new node's child (the new prefix covers it) or shares a new glue parent
 * with it at the first differing bit.  In every case the new subtree is
 * built privately and published with a single rcu_assign_pointer().  @key
 * may still carry host bits: comparisons stop at @cidr and node_new() masks
 * what it stores.
 */
static int insert(struct wg_allowedips *table, u8 bits, const u64 key[2],
		  u8 cidr, struct wg_peer *peer, struct mutex *lock,
		  struct wg_allowedips_reserve *reserve)
{
	struct wg_allowedips_node __rcu **slot = root_of(table, bits);
	struct wg_allowedips_node *parent = NULL, *node, *new, *glue;
	struct wg_peer *old;
	unsigned int common;

	lockdep_assert_held(lock);
	if (cidr > bits || !peer)
		return -EINVAL;

	for (node = deref_locked(*slot, lock); node;
	     node = deref_locked(*slot, lock)) {
		common = min3(common_bits(node->key, key), (unsigned int)cidr,
			      (unsigned int)node->cidr);
		if (common < node->cidr)
			break;
		if (node->cidr == cidr) {
			old = deref_locked(node->peer, lock);
			if (old)
				list_move_tail(&node->peer_list,
					       &peer->allowedips_list);
			else
				list_add_tail(&node->peer_list,
					      &peer->allowedips_list);
			rcu_assign_pointer(node->peer, peer);
			return 0;
		}
		parent = node;
		slot = &node->child[key_bit(key, node->cidr)];
	}

	new = node_new(key, cidr, bits, parent, reserve);
	if (!new)
		return -ENOMEM;
	node_set_peer_init(new, peer);

	if (!node) {
		rcu_assign_pointer(*slot, new);
		return 0;
	}

	if (common == cidr) {
		/* @node is already visible to readers: no barrier needed. */
		RCU_INIT_POINTER(new->child[key_bit(node->key, cidr)], node);
		node->parent = new;
		rcu_assign_pointer(*slot, new);
		return 0;
	}

	glue = node_new(key, common, bits, parent, reserve);
	if (!glue) {
		list_del(&new->peer_list);
		node_unnew(new, reserve);
		return -ENOMEM;
	}
	new->parent = glue;
	node->parent = glue;
	RCU_INIT_POINTER(glue->child[key_bit(key, common)], new);
	RCU_INIT_POINTER(glue->child[key_bit(node->key, common)], node);
	rcu_assign_pointer(*slot, glue);
	return 0;
}

int wg_allowedips_insert_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock,
			    struct wg_allowedips_reserve *reserve)
{
	u64 key[2];

	key_from_v4(key, ip);
	return insert(table, 32, key, cidr, peer, lock, reserve);
}

int wg_allowedips_insert_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock,
			    struct wg_allowedips_reserve *reserve)
{
	u64 key[2];

	key_from_v6(key, ip);
	return insert(table, 128, key, cidr, peer, lock, reserve);
}

/*
 * Replaces @node in its slot by @child (possibly NULL) and frees @node.
 * @child's subtree is already published, so readers see either @node with
 * everything below it or @child's subtree directly; @node carries no peer
 * by now, so skipping it changes no lookup result.
 */
static void splice_out(struct wg_allowedips *table,
		       struct wg_allowedips_node *node,
		       struct wg_allowedips_node *child)
{
	struct wg_allowedips_node __rcu **slot = node_slot(table, node);

	if (child) {
		child->parent = node->parent;
		rcu_assign_pointer(*slot, child);
	} else {
		RCU_INIT_POINTER(*slot, NULL);
	}
	node_free(node);
}

/*
 * Takes @node's prefix away from its peer.  A node with two children stays,
 * as glue; one with fewer goes, and so does the glue above it that is left
 * with a single child.  Glue is never on a peer list, so a walk of one
 * cannot meet the glue removed here.  The grandparent keeps its child
 * count, so nothing further up needs collapsing.
 */
static void remove_node(struct wg_allowedips *table,
			struct wg_allowedips_node *node, struct mutex *lock)
{
	struct wg_allowedips_node *parent, *c0, *c1;

	list_del(&node->peer_list);
	RCU_INIT_POINTER(node->peer, NULL);

	c0 = deref_locked(node->child[0], lock);
	c1 = deref_locked(node->child[1], lock);
	if (c0 && c1)
		return; /* still needed as glue */

	parent = node->parent;
	splice_out(table, node, c0 ?: c1);
	if (c0 || c1 || !parent || deref_locked(parent->peer, lock))
		return;

	/* A leaf went away under glue, which now has one child. */
	c0 = deref_locked(parent->child[0], lock);
	c1 = deref_locked(parent->child[1], lock);
	if (WARN_ON_ONCE(!c0 == !c1))
		return;
	splice_out(table, parent, c0 ?: c1);
}

void wg_allowedips_remove_by_peer(struct wg_allowedips *table,
				  struct wg_peer *peer, struct mutex *lock)
{
	struct wg_allowedips_node *node, *tmp;

	lockdep_assert_held(lock);
	list_for_each_entry_safe(node, tmp, &peer->allowedips_list, peer_list)
		remove_node(table, node, lock);
}

/*
 * Walks down while each node's prefix covers @key's first @cidr bits and is
 * no longer than @cidr: the node of exactly that prefix, if there is one,
 * is on that path.  Glue has no peer, so it is never @peer's.
 */
static int remove_exact(struct wg_allowedips *table, u8 bits, const u64 key[2],
			u8 cidr, struct wg_peer *peer, struct mutex *lock)
{
	struct wg_allowedips_node *node;
	u64 masked[2] = { key[0], key[1] };

	lockdep_assert_held(lock);
	if (cidr > bits || !peer)
		return -EINVAL;
	mask_key(masked, cidr);

	for (node = deref_locked(*root_of(table, bits), lock);
	     node && node->cidr <= cidr &&
	     common_bits(node->key, masked) >= node->cidr;
	     node = deref_locked(node->child[key_bit(masked, node->cidr)],
				 lock)) {
		if (node->cidr < cidr)
			continue;
		if (deref_locked(node->peer, lock) != peer)
			break;
		remove_node(table, node, lock);
		return 0;
	}
	return -ENOENT;
}

int wg_allowedips_remove_v4(struct wg_allowedips *table,
			    const struct in_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock)
{
	u64 key[2];

	key_from_v4(key, ip);
	return remove_exact(table, 32, key, cidr, peer, lock);
}

int wg_allowedips_remove_v6(struct wg_allowedips *table,
			    const struct in6_addr *ip, u8 cidr,
			    struct wg_peer *peer, struct mutex *lock)
{
	u64 key[2];

	key_from_v6(key, ip);
	return remove_exact(table, 128, key, cidr, peer, lock);
}

static struct wg_allowedips_node *
leftmost_leaf(struct wg_allowedips_node *node, struct mutex *lock)
{
	struct wg_allowedips_node *next;

	for (;;) {
		next = deref_locked(node->child[0], lock);
		if (!next)
			next = deref_locked(node->child[1], lock);
		if (!next)
			return node;
		node = next;
	}
}

/*
 * Post-order walk of a trie already detached from its root, using the
 * parent pointers instead of a stack.  Child pointers are left intact so
 * readers still inside the old trie keep a consistent view; a node is not
 * touched again after node_free(), only compared by address.
 */
static void free_trie(struct wg_allowedips_node *node, struct mutex *lock)
{
	struct wg_allowedips_node *parent, *right;
	bool from_left;

	if (!node)
		return;
	node = leftmost_leaf(node, lock);
	for (;;) {
		parent = node->parent;
		from_left = parent && deref_locked(parent->child[0], lock) == node;
		if (deref_locked(node->peer, lock))
			list_del(&node->peer_list);
		node_free(node);
		if (!parent)
			return;
		right = deref_locked(parent->child[1], lock);
		node = from_left && right ? leftmost_leaf(right, lock) : parent;
	}
}

void wg_allowedips_init(struct wg_allowedips *table)
{
	RCU_INIT_POINTER(table->root4, NULL);
	RCU_INIT_POINTER(table->root6, NULL);
}

void wg_allowedips_free(struct wg_allowedips *table, struct mutex *lock)
{
	struct wg_allowedips_node *root4, *root6;

	lockdep_assert_held(lock);
	root4 = deref_locked(table->root4, lock);
	root6 = deref_locked(table->root6, lock);
	RCU_INIT_POINTER(table->root4, NULL);
	RCU_INIT_POINTER(table->root6, NULL);
	free_trie(root4, lock);
	free_trie(root6, lock);
}

int wg_allowedips_read_node(const struct wg_allowedips_node *node, u8 ip[16],
			    u8 *cidr)
{
	*cidr = node->cidr;
	if (node->bits == 32) {
		put_unaligned_be32(node->key[0] >> 32, ip);
		return AF_INET;
	}
	put_unaligned_be64(node->key[0], ip);
	put_unaligned_be64(node->key[1], ip + 8);
	return AF_INET6;
}

/*
 * Longest-prefix match.  Prefixes lengthen down the trie, so the last node
 * on the path that both covers @key and has a peer is the answer; the walk
 * stops at the first node that does not cover @key, as nothing below it
 * can.
 */
static struct wg_peer *lookup(struct wg_allowedips_node __rcu *const *root,
			      u8 bits, const u64 key[2])
{
	struct wg_allowedips_node *node = deref_reader(*root);
	struct wg_peer *found = NULL, *peer;

	while (node && common_bits(node->key, key) >= node->cidr) {
		peer = deref_reader(node->peer);
		if (peer)
			found = peer;
		if (node->cidr == bits)
			break;
		node = deref_reader(node->child[key_bit(key, node->cidr)]);
	}
	return found;
}

struct wg_peer *wg_allowedips_lookup_v4(struct wg_allowedips *table,
					const struct in_addr *ip)
{
	u64 key[2];

	key_from_v4(key, ip);
	return lookup(&table->root4, 32, key);
}

struct wg_peer *wg_allowedips_lookup_v6(struct wg_allowedips *table,
					const struct in6_addr *ip)
{
	u64 key[2];

	key_from_v6(key, ip);
	return lookup(&table->root6, 128, key);
}

static struct wg_peer *lookup_skb(struct wg_allowedips *table,
				  struct sk_buff *skb, bool dst)
{
	if (skb->protocol == htons(ETH_P_IP)) {
		struct in_addr ip;

		ip.s_addr = dst ? ip_hdr(skb)->daddr : ip_hdr(skb)->saddr;
		return wg_allowedips_lookup_v4(table, &ip);
	}
	if (skb->protocol == htons(ETH_P_IPV6))
		return wg_allowedips_lookup_v6(table, dst ?
					       &ipv6_hdr(skb)->daddr :
					       &ipv6_hdr(skb)->saddr);
	return NULL;
}

struct wg_peer *wg_allowedips_lookup_dst(struct wg_allowedips *table,
					 struct sk_buff *skb)
{
	return lookup_skb(table, skb, true);
}

struct wg_peer *wg_allowedips_lookup_src(struct wg_allowedips *table,
					 struct sk_buff *skb)
{
	return lookup_skb(table, skb, false);
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/allowedips.c"
#endif
