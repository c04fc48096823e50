// SPDX-License-Identifier: GPL-2.0
/*
 * Allowed-IPs self-tests, run at module load in debug builds.
 *
 * Three parts: short scripts with hand-picked prefixes and expected
 * lookups, a randomized differential run against a linear-scan reference
 * (inserts, single-prefix removals, whole-peer removals),
 * and a structural check of the trie after the random phase.  The fake
 * peers are bare zeroed structs (only allowedips_list and internal_id are
 * used, the latter as the peer's index), owned by the test context and
 * freed after an RCU barrier once no node can point to them any more.
 */

#include "allowedips.h"
#include "peer.h"

#include <linux/if_ether.h>
#include <linux/inet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/ktime.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#define NPEERS		24
#define STACK_MAX	136	/* a path holds at most 129 nodes */
#define POOL		8
/*
 * Sized so the whole run stays within ~1 s under TCG emulation: the
 * reference LPM is a linear scan, so lookups cost about NLOOKUPS times the
 * number of live prefixes.
 */
#define NINSERTS	5000
#define NLOOKUPS	30000
#define CHECK_EVERY	500

enum { V4, V6 };

struct ref_entry {
	u64 key[2];
	u64 mask[2];
	u8 cidr;
	u8 peer;
};

struct st_ctx {
	struct wg_allowedips table;
	struct mutex lock;			/* held for the whole run */
	struct wg_peer *peers[NPEERS + 1];	/* [0] stays NULL: no peer */
	u64 seed, rng;
	u64 pool[2][POOL][2];
	struct ref_entry *ref[2];
	unsigned int nref[2];
	struct wg_allowedips_node *stack[STACK_MAX];
};

#define st_deref(ctx, p) \
	rcu_dereference_protected(p, lockdep_is_held(&(ctx)->lock))

#define fail(fmt, ...) \
	pr_err("allowedips self-test: " fmt "\n", ##__VA_ARGS__)

static const u8 family_bits[2] = { 32, 128 };
static const u64 zero_key[2];

static void prefix_mask(u64 mask[2], unsigned int cidr)
{
	mask[0] = half_mask(min(cidr, 64U));
	mask[1] = half_mask(cidr > 64 ? cidr - 64 : 0);
}

static bool covers(const u64 pfx[2], const u64 mask[2], const u64 key[2])
{
	return !(((pfx[0] ^ key[0]) & mask[0]) | ((pfx[1] ^ key[1]) & mask[1]));
}

static unsigned int peer_idx(const struct wg_peer *peer)
{
	return peer ? peer->internal_id : 0;
}

/* A key as the addresses the API takes: both filled, one used. */
struct st_addr {
	struct in_addr ip4;
	struct in6_addr ip6;
};

static void key_to_addr(const u64 key[2], struct st_addr *a)
{
	a->ip4.s_addr = cpu_to_be32(key[0] >> 32);
	put_unaligned_be64(key[0], &a->ip6.s6_addr[0]);
	put_unaligned_be64(key[1], &a->ip6.s6_addr[8]);
}

static int do_insert(struct st_ctx *ctx, int fam, const u64 key[2], u8 cidr,
		     unsigned int peer)
{
	struct st_addr a;

	key_to_addr(key, &a);
	return fam == V4 ?
	       wg_allowedips_insert_v4(&ctx->table, &a.ip4, cidr,
				       ctx->peers[peer], &ctx->lock, NULL) :
	       wg_allowedips_insert_v6(&ctx->table, &a.ip6, cidr,
				       ctx->peers[peer], &ctx->lock, NULL);
}

static int do_remove(struct st_ctx *ctx, int fam, const u64 key[2], u8 cidr,
		     unsigned int peer)
{
	struct st_addr a;

	key_to_addr(key, &a);
	return fam == V4 ?
	       wg_allowedips_remove_v4(&ctx->table, &a.ip4, cidr,
				       ctx->peers[peer], &ctx->lock) :
	       wg_allowedips_remove_v6(&ctx->table, &a.ip6, cidr,
				       ctx->peers[peer], &ctx->lock);
}

static unsigned int do_lookup(struct st_ctx *ctx, int fam, const u64 key[2])
{
	struct wg_peer *peer;
	struct st_addr a;

	key_to_addr(key, &a);
	rcu_read_lock();
	peer = fam == V4 ? wg_allowedips_lookup_v4(&ctx->table, &a.ip4) :
			   wg_allowedips_lookup_v6(&ctx->table, &a.ip6);
	rcu_read_unlock();
	return peer_idx(peer);
}

static unsigned int list_count(const struct wg_peer *peer)
{
	const struct wg_allowedips_node *node;
	unsigned int n = 0;

	list_for_each_entry(node, &peer->allowedips_list, peer_list)
		n++;
	return n;
}

/*
 * Structure of both tries: prefixes lengthen and extend the parent's,
 * child[b] has bit b right after the parent's prefix, parent pointers match,
 * keys carry no host bits, glue has two children.  Then every node on a
 * peer's list must be reachable by its own prefix and point back to that
 * peer; with the counts equal, that makes the trie's peer nodes and the
 * lists the same set.
 */
static bool check_structure(struct st_ctx *ctx)
{
	struct wg_allowedips_node __rcu **root;
	struct wg_allowedips_node *node, *child;
	unsigned int fam, b, sp, in_trie = 0, on_lists = 0, i;
	u64 mask[2];

	for (fam = V4; fam <= V6; fam++) {
		root = fam == V4 ? &ctx->table.root4 : &ctx->table.root6;
		node = st_deref(ctx, *root);
		if (!node)
			continue;
		if (node->parent) {
			fail("root has a parent");
			return false;
		}
		sp = 0;
		ctx->stack[sp++] = node;
		while (sp) {
			node = ctx->stack[--sp];
			prefix_mask(mask, node->cidr);
			if (node->bits != family_bits[fam] ||
			    node->cidr > node->bits ||
			    (node->key[0] & ~mask[0]) ||
			    (node->key[1] & ~mask[1])) {
				fail("bad node /%u bits %u", node->cidr,
				     node->bits);
				return false;
			}
			if (st_deref(ctx, node->peer))
				in_trie++;
			for (b = 0; b < 2; b++) {
				child = st_deref(ctx, node->child[b]);
				if (!child) {
					if (!st_deref(ctx, node->peer)) {
						fail("glue /%u lacks a child",
						     node->cidr);
						return false;
					}
					continue;
				}
				if (child->parent != node ||
				    child->cidr <= node->cidr ||
				    !covers(node->key, mask, child->key) ||
				    ((child->key[node->cidr >> 6] >>
				      (63 - (node->cidr & 63))) & 1) != b) {
					fail("child /%u misplaced under /%u",
					     child->cidr, node->cidr);
					return false;
				}
				if (sp == STACK_MAX) {
					fail("trie too deep");
					return false;
				}
				ctx->stack[sp++] = child;
			}
		}
	}

	for (i = 1; i <= NPEERS; i++) {
		struct wg_allowedips_node *want;

		list_for_each_entry(want, &ctx->peers[i]->allowedips_list,
				    peer_list) {
			on_lists++;
			root = want->bits == 32 ? &ctx->table.root4 :
						  &ctx->table.root6;
			node = st_deref(ctx, *root);
			while (node && node->cidr < want->cidr) {
				b = (want->key[node->cidr >> 6] >>
				     (63 - (node->cidr & 63))) & 1;
				node = st_deref(ctx, node->child[b]);
			}
			if (node != want ||
			    st_deref(ctx, want->peer) != ctx->peers[i]) {
				fail("listed node /%u of peer %u not in trie",
				     want->cidr, i);
				return false;
			}
		}
	}
	if (in_trie != on_lists) {
		fail("%u peer nodes in the tries, %u on lists", in_trie,
		     on_lists);
		return false;
	}
	return true;
}

/* Tears the table down and checks that nothing is left anywhere. */
static bool check_free(struct st_ctx *ctx)
{
	unsigned int i;

	wg_allowedips_free(&ctx->table, &ctx->lock);
	if (rcu_access_pointer(ctx->table.root4) ||
	    rcu_access_pointer(ctx->table.root6)) {
		fail("tries not empty after free");
		return false;
	}
	for (i = 1; i <= NPEERS; i++) {
		if (!list_empty(&ctx->peers[i]->allowedips_list)) {
			fail("peer %u list not empty after free", i);
			return false;
		}
	}
	return true;
}

enum {
	OP_INS, OP_LK, OP_RM, OP_HAS, OP_CNT, OP_BAD, OP_DEL, OP_KEEP, OP_DELBAD,
	OP_END
};

struct step {
	u8 op;
	u8 cidr;
	u8 peer;
	const char *addr;
};

#define INS(a, c, p)	{ OP_INS, c, p, a }	/* insert a/c for p */
#define LK(a, p)	{ OP_LK, 0, p, a }	/* a resolves to p (0: none) */
#define RM(p)		{ OP_RM, 0, p, NULL }	/* remove_by_peer(p) */
#define HAS(a, c, p)	{ OP_HAS, c, p, a }	/* p's list reads back a/c */
#define CNT(p, n)	{ OP_CNT, n, p, NULL }	/* p's list has n nodes */
#define BAD(a, c)	{ OP_BAD, c, 1, a }	/* insert gives -EINVAL */
#define DEL(a, c, p)	{ OP_DEL, c, p, a }	/* p's a/c removed: 0 */
#define KEEP(a, c, p)	{ OP_KEEP, c, p, a }	/* not p's: -ENOENT, no-op */
#define DELBAD(a, c)	{ OP_DELBAD, c, 1, a }	/* removal gives -EINVAL */
#define END		{ OP_END, 0, 0, NULL }

enum { A = 1, B, C, D, E, F, G, H };

static const struct step nested_v4[] = {
	INS("0.0.0.0", 0, A), INS("10.0.0.0", 8, B), INS("10.1.0.0", 16, C),
	INS("10.1.2.0", 24, D), INS("10.1.2.3", 32, E),
	LK("10.1.2.3", E), LK("10.1.2.4", D), LK("10.1.3.1", C),
	LK("10.2.0.1", B), LK("11.0.0.1", A), LK("255.255.255.255", A),
	LK("0.0.0.0", A),
	RM(E), LK("10.1.2.3", D), RM(C), LK("10.1.3.1", B),
	LK("10.1.2.3", D), RM(A), LK("11.0.0.1", 0), LK("10.9.9.9", B),
	RM(B), LK("10.1.2.200", D), LK("10.9.9.9", 0), CNT(D, 1), END
};

/* The same prefixes most specific first: new nodes go above old ones. */
static const struct step nested_v4_reversed[] = {
	INS("10.1.2.3", 32, E), INS("10.1.2.0", 24, D), INS("10.1.0.0", 16, C),
	INS("10.0.0.0", 8, B), INS("0.0.0.0", 0, A),
	LK("10.1.2.3", E), LK("10.1.2.4", D), LK("10.1.3.1", C),
	LK("10.2.0.1", B), LK("11.0.0.1", A),
	RM(D), LK("10.1.2.4", C), LK("10.1.2.3", E), RM(A), RM(C),
	LK("10.1.2.4", B), LK("10.1.2.3", E), LK("12.0.0.0", 0), END
};

static const struct step siblings_v4[] = {
	INS("192.168.0.0", 24, A), INS("192.168.1.0", 24, B),
	INS("192.168.0.128", 25, C), INS("192.168.0.0", 23, D),
	LK("192.168.0.1", A), LK("192.168.0.200", C), LK("192.168.1.7", B),
	LK("192.168.2.1", 0),
	INS("192.168.4.20", 16, E), HAS("192.168.0.0", 16, E),
	LK("192.168.2.1", E), LK("192.169.0.0", 0),
	INS("172.16.0.0", 12, F), LK("172.31.255.255", F), LK("172.32.0.0", 0),
	LK("172.15.255.255", 0),
	RM(A), LK("192.168.0.1", D), RM(D), LK("192.168.0.1", E),
	LK("192.168.0.129", C),
	/* re-inserting a prefix moves it to the new peer */
	INS("192.168.1.0", 24, C), LK("192.168.1.7", C), CNT(B, 0), CNT(C, 2),
	HAS("192.168.1.0", 24, C), HAS("192.168.0.128", 25, C),
	INS("192.168.1.255", 24, C), CNT(C, 2),
	RM(C), LK("192.168.1.7", E), LK("192.168.0.129", E), CNT(C, 0),
	INS("1.2.3.4", 32, G), INS("1.2.3.5", 32, H), LK("1.2.3.4", G),
	LK("1.2.3.5", H), LK("1.2.3.6", 0), INS("1.2.3.4", 31, A),
	LK("1.2.3.5", H), LK("1.2.3.4", G), RM(G), RM(H), LK("1.2.3.4", A),
	LK("1.2.3.5", A), CNT(A, 1),
	BAD("1.2.3.4", 33), BAD("::1", 129), BAD("0.0.0.0", 255), CNT(A, 1),
	END
};

static const struct step nested_v6[] = {
	INS("::", 0, A), INS("2001:db8::", 32, B), INS("2001:db8:1::", 48, C),
	INS("2001:db8:1:2::", 64, D), INS("2001:db8:1:2::1", 128, E),
	/* the same /64 with host bits: moves from D to F */
	INS("2001:db8:1:2:ffff::1234", 64, F), HAS("2001:db8:1:2::", 64, F),
	CNT(D, 0),
	LK("2001:db8:1:2::1", E), LK("2001:db8:1:2::2", F),
	LK("2001:db8:1:3::1", C), LK("2001:db8:2::1", B),
	LK("2001:db9::1", A), LK("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", A),
	/* around the boundary between the key's halves */
	INS("2001:db8:1:2:8000::", 65, G), LK("2001:db8:1:2:8000::5", G),
	LK("2001:db8:1:2:7fff::5", F), INS("2001:db8:1:2::2", 127, H),
	LK("2001:db8:1:2::3", H), LK("2001:db8:1:2::2", H),
	LK("2001:db8:1:2::1", E), LK("2001:db8:1:2::4", F),
	INS("2001:db8:1:3::", 63, D), HAS("2001:db8:1:2::", 63, D),
	LK("2001:db8:1:3::1", D), LK("2001:db8:1:2::1", E),
	RM(E), LK("2001:db8:1:2::1", F), RM(F), LK("2001:db8:1:2::1", D),
	RM(A), LK("2001:db9::1", 0), RM(D), LK("2001:db8:1:2::1", C),
	LK("2001:db8:1:2::3", H), CNT(H, 1), CNT(B, 1), END
};

static const struct step families[] = {
	INS("0.0.0.0", 0, A), LK("::1", 0), LK("1.1.1.1", A),
	INS("::", 0, B), LK("1.1.1.1", A), LK("::1", B),
	INS("10.0.0.0", 8, C), INS("a00::", 8, D), INS("::ffff:10.0.0.0", 104, E),
	LK("10.1.1.1", C), LK("a01::1", D), LK("::ffff:10.1.1.1", E),
	LK("11.1.1.1", A), CNT(C, 1), CNT(D, 1),
	RM(A), LK("1.1.1.1", 0), LK("::1", B), CNT(B, 1),
	RM(C), LK("10.1.1.1", 0), LK("a01::1", D), LK("::ffff:10.1.1.1", E),
	/* one peer with both families on its list */
	INS("10.0.0.0", 8, F), INS("fd00::", 8, F), CNT(F, 2),
	HAS("10.0.0.0", 8, F), HAS("fd00::", 8, F),
	RM(F), LK("10.1.1.1", 0), LK("fd00::1", B), CNT(F, 0), END
};

/*
 * One prefix removed at a time (WGALLOWEDIP_F_REMOVE_ME).  The trie starts
 * as 10.0.0.0/8 A - 10.1.0.0/16 B - glue 10.1.2.0/23 - { 10.1.2.0/24 A -
 * 10.1.2.3/32 D, 10.1.3.0/24 C }.
 */
static const struct step single_v4[] = {
	INS("10.0.0.0", 8, A), INS("10.1.0.0", 16, B), INS("10.1.2.0", 24, A),
	INS("10.1.3.0", 24, C), INS("10.1.2.3", 32, D),
	LK("10.1.2.3", D), LK("10.1.2.4", A), LK("10.1.3.1", C),
	LK("10.1.9.9", B),
	/* another peer's prefix, glue, a missing prefix, a wrong cidr */
	KEEP("10.1.0.0", 16, A), KEEP("10.1.2.0", 23, C),
	KEEP("10.1.2.0", 23, A), KEEP("10.2.0.0", 16, A),
	KEEP("10.1.2.0", 25, A), KEEP("10.1.2.3", 31, D), KEEP("0.0.0.0", 0, A),
	DELBAD("10.0.0.0", 33), DELBAD("::", 129),
	CNT(A, 2), CNT(B, 1), CNT(C, 1), CNT(D, 1),
	LK("10.1.2.4", A), LK("10.1.9.9", B),
	/* a prefix node with one child (the glue): spliced out */
	DEL("10.1.0.0", 16, B), CNT(B, 0), LK("10.1.9.9", A),
	LK("10.1.3.1", C), LK("10.1.2.3", D), KEEP("10.1.0.0", 16, B),
	/* one with one prefix child: spliced out */
	DEL("10.1.2.0", 24, A), LK("10.1.2.4", A), LK("10.1.2.3", D),
	CNT(A, 1),
	/* a leaf under glue: the glue goes too */
	DEL("10.1.2.3", 32, D), LK("10.1.2.3", A), LK("10.1.3.1", C),
	CNT(D, 0),
	/* one with two children: it stays, as glue, until re-inserted */
	INS("10.128.0.0", 9, E), DEL("10.0.0.0", 8, A), CNT(A, 0),
	LK("10.200.0.1", E), LK("10.1.3.1", C), LK("10.64.0.1", 0),
	KEEP("10.0.0.0", 8, A), INS("10.0.0.0", 8, F), LK("10.64.0.1", F),
	/* a leaf under a prefix node: nothing else changes */
	DEL("10.128.0.0", 9, E), LK("10.200.0.1", F), LK("10.1.3.1", C),
	/* host bits are masked off, as on insert */
	DEL("10.255.255.255", 8, F), LK("10.64.0.1", 0), LK("10.1.3.1", C),
	/* the root, alone: the trie empties */
	DEL("10.1.3.0", 24, C), LK("10.1.3.1", 0), CNT(C, 0),
	/* removed, then added again */
	INS("0.0.0.0", 0, G), DEL("0.0.0.0", 0, G), LK("1.2.3.4", 0),
	INS("0.0.0.0", 0, G), LK("1.2.3.4", G), CNT(G, 1), END
};

static const struct step single_v6[] = {
	INS("2001:db8::", 32, A), INS("2001:db8:1:2::", 64, B),
	INS("2001:db8:1:2:8000::", 65, C), INS("2001:db8:1:2::1", 128, D),
	INS("10.0.0.0", 8, A),
	/* the same prefix in the other family is not it */
	KEEP("::ffff:10.0.0.0", 104, A), KEEP("a00::", 8, A),
	KEEP("2001:db8:1:2::", 65, B), KEEP("2001:db8:1:2::", 64, C),
	DEL("2001:db8:1:2:ffff::", 64, B), CNT(B, 0),
	LK("2001:db8:1:2::1", D), LK("2001:db8:1:2:8000::1", C),
	LK("2001:db8:1:2::2", A), LK("10.1.1.1", A),
	DEL("2001:db8:1:2::1", 128, D), LK("2001:db8:1:2::1", A),
	DEL("2001:db8::", 32, A), LK("2001:db8:1:2::1", 0),
	LK("2001:db8:1:2:8000::1", C), LK("10.1.1.1", A), CNT(A, 1),
	DEL("10.0.0.0", 8, A), CNT(A, 0), LK("10.1.1.1", 0), END
};

static const struct {
	const char *name;
	const struct step *steps;
} scripts[] = {
	{ "nested v4", nested_v4 },
	{ "nested v4 reversed", nested_v4_reversed },
	{ "siblings v4", siblings_v4 },
	{ "nested v6", nested_v6 },
	{ "families", families },
	{ "single removals v4", single_v4 },
	{ "single removals v6", single_v6 },
};

/* Parses into a key; returns the family's width, or 0 if malformed. */
static u8 parse(const char *s, u64 key[2])
{
	u8 buf[16];

	if (strchr(s, ':')) {
		if (!in6_pton(s, -1, buf, -1, NULL))
			return 0;
		key[0] = get_unaligned_be64(buf);
		key[1] = get_unaligned_be64(buf + 8);
		return 128;
	}
	if (!in4_pton(s, -1, buf, -1, NULL))
		return 0;
	key[0] = (u64)get_unaligned_be32(buf) << 32;
	key[1] = 0;
	return 32;
}

static bool list_has(struct wg_peer *peer, u8 bits, const u64 key[2], u8 cidr)
{
	const struct wg_allowedips_node *node;
	u8 ip[16], got_cidr;
	int af;

	list_for_each_entry(node, &peer->allowedips_list, peer_list) {
		af = wg_allowedips_read_node(node, ip, &got_cidr);
		if (got_cidr != cidr || af != (bits == 32 ? AF_INET : AF_INET6))
			continue;
		if (bits == 32 && get_unaligned_be32(ip) == key[0] >> 32)
			return true;
		if (bits == 128 && get_unaligned_be64(ip) == key[0] &&
		    get_unaligned_be64(ip + 8) == key[1])
			return true;
	}
	return false;
}

static bool run_step(struct st_ctx *ctx, const struct step *s)
{
	u64 key[2] = { 0, 0 };
	unsigned int got;
	u8 bits = 0;
	int ret;

	if (s->addr) {
		bits = parse(s->addr, key);
		if (!bits) {
			fail("cannot parse %s", s->addr);
			return false;
		}
	}
	switch (s->op) {
	case OP_INS:
	case OP_BAD:
		ret = do_insert(ctx, bits == 32 ? V4 : V6, key, s->cidr,
				s->peer);
		if (ret != (s->op == OP_BAD ? -EINVAL : 0)) {
			fail("insert %s/%u returned %d", s->addr, s->cidr, ret);
			return false;
		}
		return true;
	case OP_DEL:
	case OP_KEEP:
	case OP_DELBAD:
		ret = do_remove(ctx, bits == 32 ? V4 : V6, key, s->cidr,
				s->peer);
		if (ret != (s->op == OP_DEL ? 0 : s->op == OP_KEEP ? -ENOENT :
			    -EINVAL)) {
			fail("remove %s/%u of peer %u returned %d", s->addr,
			     s->cidr, s->peer, ret);
			return false;
		}
		return true;
	case OP_LK:
		got = do_lookup(ctx, bits == 32 ? V4 : V6, key);
		if (got != s->peer) {
			fail("lookup %s gave peer %u, want %u", s->addr, got,
			     s->peer);
			return false;
		}
		return true;
	case OP_RM:
		wg_allowedips_remove_by_peer(&ctx->table, ctx->peers[s->peer],
					     &ctx->lock);
		return true;
	case OP_HAS:
		if (!list_has(ctx->peers[s->peer], bits, key, s->cidr)) {
			fail("%s/%u not on peer %u's list", s->addr, s->cidr,
			     s->peer);
			return false;
		}
		return true;
	case OP_CNT:
		got = list_count(ctx->peers[s->peer]);
		if (got != s->cidr) {
			fail("peer %u has %u nodes, want %u", s->peer, got,
			     s->cidr);
			return false;
		}
		return true;
	}
	return false;
}

static bool run_scripts(struct st_ctx *ctx)
{
	const struct step *s;
	unsigned int i;
	bool ok;

	for (i = 0; i < ARRAY_SIZE(scripts); i++) {
		ok = true;
		for (s = scripts[i].steps; ok && s->op != OP_END; s++) {
			ok = run_step(ctx, s) && check_structure(ctx);
			if (!ok)
				fail("script '%s', step %u", scripts[i].name,
				     (unsigned int)(s - scripts[i].steps));
		}
		if (!check_free(ctx) || !ok)
			return false;
	}
	return true;
}

static bool test_skb(struct st_ctx *ctx)
{
	static const struct step setup[] = {
		INS("10.0.0.0", 8, A), INS("192.168.0.0", 16, B),
		INS("fd00::", 8, C), INS("2001:db8::", 32, D), END
	};
	struct sk_buff *skb4, *skb6;
	const struct step *s;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	u64 key[2];
	bool ok;

	for (s = setup; s->op != OP_END; s++)
		if (!run_step(ctx, s))
			return false;
	skb4 = alloc_skb(sizeof(*iph), GFP_KERNEL);
	skb6 = alloc_skb(sizeof(*ip6h), GFP_KERNEL);
	if (!skb4 || !skb6) {
		kfree_skb(skb4);
		kfree_skb(skb6);
		fail("no memory for skbs");
		return false;
	}
	skb_reset_network_header(skb4);
	iph = skb_put_zero(skb4, sizeof(*iph));
	iph->version = 4;
	iph->saddr = htonl(0x0a000001);		/* 10.0.0.1 */
	iph->daddr = htonl(0xc0a80101);		/* 192.168.1.1 */
	skb4->protocol = htons(ETH_P_IP);

	skb_reset_network_header(skb6);
	ip6h = skb_put_zero(skb6, sizeof(*ip6h));
	ip6h->version = 6;
	parse("fd00::1", key);
	put_unaligned_be64(key[0], &ip6h->saddr.s6_addr[0]);
	put_unaligned_be64(key[1], &ip6h->saddr.s6_addr[8]);
	ip6h->daddr.s6_addr32[0] = htonl(0x20010db8);
	skb6->protocol = htons(ETH_P_IPV6);

	rcu_read_lock();
	ok = wg_allowedips_lookup_dst(&ctx->table, skb4) == ctx->peers[B] &&
	     wg_allowedips_lookup_src(&ctx->table, skb4) == ctx->peers[A] &&
	     wg_allowedips_lookup_dst(&ctx->table, skb6) == ctx->peers[D] &&
	     wg_allowedips_lookup_src(&ctx->table, skb6) == ctx->peers[C];
	skb4->protocol = htons(ETH_P_ARP);
	ok = ok && !wg_allowedips_lookup_dst(&ctx->table, skb4);
	rcu_read_unlock();
	kfree_skb(skb4);
	kfree_skb(skb6);
	if (!ok)
		fail("skb lookups");
	return check_free(ctx) && ok;
}

/* splitmix64: seeded once, so a failing run can be told by its seed. */
static u64 rnd(struct st_ctx *ctx)
{
	u64 z = (ctx->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static u32 rnd_below(struct st_ctx *ctx, u32 n)
{
	return ((rnd(ctx) >> 32) * n) >> 32;
}

/* Keeps the top @keep bits of @base and randomizes the rest. */
static void rnd_variant(struct st_ctx *ctx, int fam, const u64 base[2],
			unsigned int keep, u64 key[2])
{
	u64 mask[2];

	prefix_mask(mask, keep);
	key[0] = (base[0] & mask[0]) | (rnd(ctx) & ~mask[0]);
	key[1] = (base[1] & mask[1]) | (rnd(ctx) & ~mask[1]);
	if (fam == V4) {
		key[0] &= half_mask(32);
		key[1] = 0;
	}
}

/*
 * Addresses near a small pool of bases, so that random prefixes nest,
 * overlap and collide often; now and then one from anywhere.
 */
static void rnd_addr(struct st_ctx *ctx, int fam, u64 key[2])
{
	unsigned int bits = family_bits[fam];

	if (!rnd_below(ctx, 16))
		rnd_variant(ctx, fam, zero_key, 0, key);
	else
		rnd_variant(ctx, fam, ctx->pool[fam][rnd_below(ctx, POOL)],
			    rnd_below(ctx, bits + 1), key);
}

static void ref_insert(struct st_ctx *ctx, int fam, const u64 addr[2],
		       u8 cidr, u8 peer)
{
	struct ref_entry *e = ctx->ref[fam];
	u64 mask[2], key[2];
	unsigned int i;

	prefix_mask(mask, cidr);
	key[0] = addr[0] & mask[0];
	key[1] = addr[1] & mask[1];
	for (i = 0; i < ctx->nref[fam]; i++) {
		if (e[i].cidr == cidr && e[i].key[0] == key[0] &&
		    e[i].key[1] == key[1]) {
			e[i].peer = peer;
			return;
		}
	}
	e = &e[ctx->nref[fam]++];
	memcpy(e->key, key, sizeof(key));
	memcpy(e->mask, mask, sizeof(mask));
	e->cidr = cidr;
	e->peer = peer;
}

static void ref_remove(struct st_ctx *ctx, u8 peer)
{
	unsigned int fam, i, n;

	for (fam = V4; fam <= V6; fam++) {
		for (i = n = 0; i < ctx->nref[fam]; i++)
			if (ctx->ref[fam][i].peer != peer)
				ctx->ref[fam][n++] = ctx->ref[fam][i];
		ctx->nref[fam] = n;
	}
}

/* Returns the entry's peer, 0 if there is no such prefix. */
static unsigned int ref_find(struct st_ctx *ctx, int fam, const u64 addr[2],
			     u8 cidr, unsigned int *at)
{
	const struct ref_entry *e = ctx->ref[fam];
	u64 mask[2];
	unsigned int i;

	prefix_mask(mask, cidr);
	for (i = 0; i < ctx->nref[fam]; i++) {
		if (e[i].cidr == cidr && e[i].key[0] == (addr[0] & mask[0]) &&
		    e[i].key[1] == (addr[1] & mask[1])) {
			*at = i;
			return e[i].peer;
		}
	}
	return 0;
}

static unsigned int ref_lookup(struct st_ctx *ctx, int fam, const u64 key[2])
{
	const struct ref_entry *e = ctx->ref[fam], *end = e + ctx->nref[fam];
	unsigned int peer = 0;
	int best = -1;

	for (; e < end; e++) {
		if (e->cidr > best && covers(e->key, e->mask, key)) {
			best = e->cidr;
			peer = e->peer;
		}
	}
	return peer;
}

static bool rnd_lookups(struct st_ctx *ctx, unsigned int n)
{
	unsigned int want, got;
	u64 key[2];
	int fam;

	while (n--) {
		fam = rnd_below(ctx, 2);
		rnd_addr(ctx, fam, key);
		want = ref_lookup(ctx, fam, key);
		got = do_lookup(ctx, fam, key);
		if (got != want) {
			fail("random lookup %016llx%016llx gave %u, want %u",
			     key[0], key[1], got, want);
			return false;
		}
	}
	return true;
}

/* Each peer's list against the reference, entry by entry. */
static bool check_lists(struct st_ctx *ctx)
{
	unsigned int i, want, fam;

	for (i = 1; i <= NPEERS; i++) {
		want = 0;
		for (fam = V4; fam <= V6; fam++) {
			const struct ref_entry *e = ctx->ref[fam];

			for (; e < ctx->ref[fam] + ctx->nref[fam]; e++) {
				if (e->peer != i)
					continue;
				want++;
				if (!list_has(ctx->peers[i], family_bits[fam],
					      e->key, e->cidr)) {
					fail("prefix /%u missing from peer %u",
					     e->cidr, i);
					return false;
				}
			}
		}
		if (list_count(ctx->peers[i]) != want) {
			fail("peer %u has %u nodes, want %u", i,
			     list_count(ctx->peers[i]), want);
			return false;
		}
	}
	return true;
}

/*
 * One prefix removed: mostly a live one (by its owner, or by another peer:
 * a no-op), else a random one, most likely absent.  Host bits are random.
 */
static bool rnd_single_removal(struct st_ctx *ctx)
{
	unsigned int fam = rnd_below(ctx, 2), peer, owner, at = 0;
	int ret, want;
	u64 key[2];
	u8 cidr;

	if (ctx->nref[fam] && rnd_below(ctx, 4)) {
		const struct ref_entry *e =
			&ctx->ref[fam][rnd_below(ctx, ctx->nref[fam])];

		cidr = e->cidr;
		rnd_variant(ctx, fam, e->key, cidr, key);
		peer = rnd_below(ctx, 3) ? e->peer : 1 + rnd_below(ctx, NPEERS);
	} else {
		rnd_addr(ctx, fam, key);
		cidr = rnd_below(ctx, family_bits[fam] + 1);
		peer = 1 + rnd_below(ctx, NPEERS);
	}
	owner = ref_find(ctx, fam, key, cidr, &at);
	want = owner == peer ? 0 : -ENOENT;
	ret = do_remove(ctx, fam, key, cidr, peer);
	if (ret != want) {
		fail("random removal /%u of peer %u (owner %u) returned %d",
		     cidr, peer, owner, ret);
		return false;
	}
	if (!ret)
		ctx->ref[fam][at] = ctx->ref[fam][--ctx->nref[fam]];
	return true;
}

static bool run_random(struct st_ctx *ctx)
{
	unsigned int i, j, fam, peer, order[NPEERS];
	u64 key[2];
	u8 cidr;
	int ret;

	for (fam = V4; fam <= V6; fam++) {
		rnd_variant(ctx, fam, zero_key, 0, ctx->pool[fam][0]);
		for (i = 1; i < POOL; i++)
			rnd_variant(ctx, fam, ctx->pool[fam][0],
				    rnd_below(ctx, family_bits[fam]),
				    ctx->pool[fam][i]);
	}

	for (i = 1; i <= NINSERTS; i++) {
		fam = rnd_below(ctx, 2);
		peer = 1 + rnd_below(ctx, NPEERS);
		if (ctx->nref[fam] && !rnd_below(ctx, 8)) {
			/* an existing prefix, with fresh host bits */
			const struct ref_entry *e =
				&ctx->ref[fam][rnd_below(ctx, ctx->nref[fam])];

			cidr = e->cidr;
			rnd_variant(ctx, fam, e->key, cidr, key);
		} else {
			rnd_addr(ctx, fam, key);
			cidr = rnd_below(ctx, family_bits[fam] + 1);
		}
		ret = do_insert(ctx, fam, key, cidr, peer);
		if (ret) {
			fail("random insert /%u returned %d", cidr, ret);
			return false;
		}
		ref_insert(ctx, fam, key, cidr, peer);

		if (!rnd_below(ctx, 4) && !rnd_single_removal(ctx))
			return false;
		if (!rnd_below(ctx, 100)) {
			peer = 1 + rnd_below(ctx, NPEERS);
			wg_allowedips_remove_by_peer(&ctx->table,
						     ctx->peers[peer],
						     &ctx->lock);
			ref_remove(ctx, peer);
		}
		if (!rnd_lookups(ctx, NLOOKUPS / NINSERTS))
			return false;
		if (!(i % CHECK_EVERY) &&
		    (!check_structure(ctx) || !check_lists(ctx)))
			return false;
		cond_resched();
	}
	pr_debug("allowedips random: %u v4 and %u v6 prefixes live\n",
		 ctx->nref[V4], ctx->nref[V6]);

	/* Remove every peer in a random order, checking as the trie empties. */
	for (i = 0; i < NPEERS; i++)
		order[i] = i + 1;
	for (i = NPEERS - 1; i > 0; i--) {
		j = rnd_below(ctx, i + 1);	/* swap() evaluates twice */
		swap(order[i], order[j]);
	}
	for (i = 0; i < NPEERS; i++) {
		wg_allowedips_remove_by_peer(&ctx->table, ctx->peers[order[i]],
					     &ctx->lock);
		ref_remove(ctx, order[i]);
		if (!list_empty(&ctx->peers[order[i]]->allowedips_list)) {
			fail("peer %u list not empty after removal", order[i]);
			return false;
		}
		if (!check_structure(ctx) || !rnd_lookups(ctx, 200))
			return false;
		cond_resched();
	}
	if (rcu_access_pointer(ctx->table.root4) ||
	    rcu_access_pointer(ctx->table.root6)) {
		fail("tries not empty after removing every peer");
		return false;
	}
	return true;
}

static struct st_ctx *ctx_new(void)
{
	struct st_ctx *ctx;
	unsigned int i;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return NULL;
	mutex_init(&ctx->lock);
	wg_allowedips_init(&ctx->table);
	ctx->seed = get_random_u64();
	ctx->rng = ctx->seed;
	ctx->ref[V4] = kvcalloc(NINSERTS, sizeof(struct ref_entry), GFP_KERNEL);
	ctx->ref[V6] = kvcalloc(NINSERTS, sizeof(struct ref_entry), GFP_KERNEL);
	if (!ctx->ref[V4] || !ctx->ref[V6])
		return ctx;
	for (i = 1; i <= NPEERS; i++) {
		ctx->peers[i] = kzalloc(sizeof(*ctx->peers[i]), GFP_KERNEL);
		if (!ctx->peers[i])
			return ctx;
		INIT_LIST_HEAD(&ctx->peers[i]->allowedips_list);
		kref_init(&ctx->peers[i]->refcount);
		ctx->peers[i]->internal_id = i;
	}
	return ctx;
}

static void ctx_free(struct st_ctx *ctx)
{
	unsigned int i;

	mutex_lock(&ctx->lock);
	wg_allowedips_free(&ctx->table, &ctx->lock);
	mutex_unlock(&ctx->lock);
	/*
	 * Freed nodes reach the cache only after a grace period; let them
	 * all get there so the test leaves no callback queued behind it.
	 * No node can point at the fake peers any more after that.
	 */
	rcu_barrier();
	for (i = 1; i <= NPEERS; i++)
		kfree(ctx->peers[i]);
	kvfree(ctx->ref[V4]);
	kvfree(ctx->ref[V6]);
	mutex_destroy(&ctx->lock);
	kfree(ctx);
}

bool wg_allowedips_selftest(void)
{
	struct st_ctx *ctx = ctx_new();
	ktime_t start = ktime_get();
	bool ok;

	if (!ctx) {
		fail("no memory");
		goto out;
	}
	ok = ctx->ref[V4] && ctx->ref[V6] && ctx->peers[NPEERS];
	if (!ok) {
		fail("no memory");
	} else {
		mutex_lock(&ctx->lock);
		ok = run_scripts(ctx) && test_skb(ctx) && run_random(ctx);
		mutex_unlock(&ctx->lock);
		if (!ok)
			fail("random seed %016llx", ctx->seed);
	}
	ctx_free(ctx);
	if (ok) {
		pr_debug("allowedips self-tests took %lld us\n",
			 (long long)ktime_us_delta(ktime_get(), start));
		pr_info("allowedips self-tests: pass\n");
		return true;
	}
out:
	pr_err("allowedips self-tests: fail\n");
	return false;
}
