// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for src/allowedips.c, compiled unmodified against the
 * shims in include/ (src/peer.h is replaced by include/wgshim_peer.h).
 *
 * The input is decoded into operations on one table shared by a handful of
 * fake peers: inserts of IPv4/IPv6 prefixes (valid and invalid cidrs, NULL
 * peers, allocation failures injected into the first or second allocation),
 * removal of a peer's prefixes, removal of one prefix of a peer (an exact
 * match owned by it; anything else a no-op), lookups (direct, and through the skb
 * helpers for both source and destination), dumps, and freeing the whole
 * table.  Addresses are raw, or derived from prefixes already inserted
 * (bits flipped just inside or outside the prefix) so that prefixes nest
 * and diverge at every depth.
 *
 * The reference model is a plain list of (family, masked address, cidr,
 * peer): insert replaces the peer of an equal prefix or appends, removal
 * filters, removal of one prefix drops that entry if it is the peer's,
 * lookup is a linear longest-prefix scan over bytes.  Checked:
 *  - every return value (0, -EINVAL, -ENOMEM only when a node was needed,
 *    -ENOENT for a prefix the peer does not have);
 *  - every lookup result against the model;
 *  - the dump: walking each peer's allowedips_list with
 *    wg_allowedips_read_node() lists exactly the model's prefixes of that
 *    peer, each once, host bits cleared;
 *  - the trie's documented shape after each operation (allowedips.c's head
 *    comment): prefixes lengthen and extend their parent's, child[b] has
 *    bit b at the parent's cidr, parent pointers, masked keys, no glue with
 *    fewer than two children, as many peer nodes as model entries;
 *  - concurrent readers: at every pointer store of a writer (the shim's
 *    publish hook) fresh lookups must return the answer before or after
 *    the operation (for removal, any subset of the peer's prefixes gone);
 *    nodes handed to call_rcu() are poisoned until the grace period ends
 *    (after each operation), so a reader reaching one, or the writer
 *    touching one again, is an AddressSanitizer report;
 *  - locking: writers assert the update lock and readers dereference
 *    inside an RCU read section (shim checks), no leak at slab teardown.
 * Any mismatch aborts.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "allowedips.h"

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/slab.h>

#define NPEERS		4
#define MAXE		256	/* model entries; inserts of new prefixes stop there */
#define NPROBES		8
#define MAX_DUMPS	16	/* dump checks per input besides the final one */

struct entry {
	u8 fam;			/* 4 or 6 */
	u8 cidr;
	u8 addr[16];		/* network order, host bits cleared */
	int peer;		/* index into peers[] */
};

struct model {
	struct entry e[MAXE];
	int n;
};

static struct wg_allowedips table;
static struct mutex lock;
static struct wg_peer peers[NPEERS];
static struct model model;
static unsigned long opno;

#define FAIL(...) do {							\
	fprintf(stderr, "allowedips mismatch at op %lu: ", opno);	\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
	abort();							\
} while (0)

/* Model. */

static unsigned int width(u8 fam)
{
	return fam == 4 ? 32 : 128;
}

static void mask_bytes(u8 a[16], unsigned int cidr, unsigned int bits)
{
	unsigned int i;

	for (i = 0; i < bits / 8; i++) {
		if (8 * i + 8 <= cidr)
			continue;
		if (8 * i >= cidr)
			a[i] = 0;
		else
			a[i] &= (u8)(0xff << (8 - (cidr - 8 * i)));
	}
	for (i = bits / 8; i < 16; i++)
		a[i] = 0;
}

static bool prefix_covers(const u8 prefix[16], unsigned int cidr,
			  const u8 addr[16])
{
	unsigned int i;

	for (i = 0; 8 * i < cidr; i++) {
		u8 m = cidr - 8 * i >= 8 ? 0xff : (u8)(0xff << (8 - (cidr - 8 * i)));

		if ((prefix[i] ^ addr[i]) & m)
			return false;
	}
	return true;
}

static int model_find(const struct model *m, u8 fam, const u8 addr[16], u8 cidr)
{
	int i;

	for (i = 0; i < m->n; i++)
		if (m->e[i].fam == fam && m->e[i].cidr == cidr &&
		    !memcmp(m->e[i].addr, addr, 16))
			return i;
	return -1;
}

/* Longest-prefix match: a peer index, or -1. */
static int model_lookup(const struct model *m, u8 fam, const u8 addr[16])
{
	int i, best = -1;

	for (i = 0; i < m->n; i++) {
		const struct entry *e = &m->e[i];

		if (e->fam != fam || !prefix_covers(e->addr, e->cidr, addr))
			continue;
		if (best < 0 || e->cidr > m->e[best].cidr)
			best = i;
	}
	return best < 0 ? -1 : m->e[best].peer;
}

/* False when the model is full. */
static bool model_insert(struct model *m, u8 fam, const u8 addr[16], u8 cidr,
			 int peer)
{
	struct entry *e;
	int i = model_find(m, fam, addr, cidr);

	if (i >= 0) {
		m->e[i].peer = peer;
		return true;
	}
	if (m->n == MAXE)
		return false;
	e = &m->e[m->n++];
	e->fam = fam;
	e->cidr = cidr;
	memcpy(e->addr, addr, 16);
	e->peer = peer;
	return true;
}

static void model_remove_peer(struct model *m, int peer)
{
	int i, j = 0;

	for (i = 0; i < m->n; i++)
		if (m->e[i].peer != peer)
			m->e[j++] = m->e[i];
	m->n = j;
}

/* Input. */


static void flip_bit(u8 a[16], unsigned int pos)
{
	a[pos / 8] ^= 0x80 >> (pos % 8);
}

static const struct entry *pick_entry(struct input *in, u8 fam)
{
	int i, k, start;

	if (!model.n)
		return NULL;
	start = in_u8(in) % model.n;
	for (k = 0; k < model.n; k++) {
		i = (start + k) % model.n;
		if (model.e[i].fam == fam)
			return &model.e[i];
	}
	return NULL;
}

/* An address of family @fam (not masked); sets *@near to a related cidr. */
static void gen_addr(struct input *in, u8 fam, u8 a[16], int *near)
{
	unsigned int bits = width(fam), i, pos;
	u8 sel = in_u8(in);
	const struct entry *e;

	memset(a, 0, 16);
	*near = -1;
	switch (sel % 4) {
	case 0:	/* raw bytes */
		for (i = 0; i < bits / 8; i++)
			a[i] = in_u8(in);
		return;
	case 1:	/* short: first and last byte */
		a[0] = in_u8(in);
		a[bits / 8 - 1] = in_u8(in);
		if (sel & 4)
			a[1] = in_u8(in);
		return;
	}
	e = pick_entry(in, fam);
	if (!e) {
		a[0] = sel;
		return;
	}
	memcpy(a, e->addr, 16);
	*near = e->cidr;
	if (sel % 4 == 2) {
		/* Flip a bit just around the end of the prefix. */
		int p = (int)e->cidr + (s8)in_u8(in) % 4;

		if (p >= 0 && p < (int)bits)
			flip_bit(a, p);
	} else {
		/* Flip a bit anywhere, and maybe fill the host bits. */
		pos = in_u8(in) % bits;
		flip_bit(a, pos);
		if (sel & 4)
			for (i = (e->cidr + 7) / 8; i < bits / 8; i++)
				a[i] = in_u8(in);
	}
}

static u8 gen_cidr(struct input *in, u8 fam, int near)
{
	unsigned int bits = width(fam);
	u8 c = in_u8(in);
	int v;

	if (near >= 0 && (c & 0x80)) {
		v = near + (s8)(c << 1) / 32;	/* near - 4 .. near + 3 */
		if (v < 0)
			v = 0;
		if (v > (int)bits + 1)
			v = bits + 1;
		return v;
	}
	return c % (bits + 4);	/* bits + 1 .. bits + 3 are invalid */
}

static struct wg_peer *peer_ptr(int i)
{
	return i < 0 ? NULL : &peers[i];
}

static int peer_index(const struct wg_peer *p)
{
	int i;

	if (!p)
		return -1;
	for (i = 0; i < NPEERS; i++)
		if (p == &peers[i])
			return i;
	FAIL("pointer %p is not a peer", (const void *)p);
}

/* The implementation's lookups, as a reader. */
static int real_lookup(u8 fam, const u8 a[16])
{
	struct wg_peer *p;

	rcu_read_lock();
	if (fam == 4) {
		struct in_addr ip;

		memcpy(&ip.s_addr, a, 4);
		p = wg_allowedips_lookup_v4(&table, &ip);
	} else {
		struct in6_addr ip;

		memcpy(ip.s6_addr, a, 16);
		p = wg_allowedips_lookup_v6(&table, &ip);
	}
	rcu_read_unlock();
	return peer_index(p);
}

/* Concurrent readers, run from the shim at every store of a writer. */

enum race_kind { RACE_NONE, RACE_INSERT, RACE_REMOVE, RACE_FREE };

static struct {
	enum race_kind kind;
	int peer;			/* RACE_REMOVE: the peer going away */
	int n;
	u8 fam[NPROBES];
	u8 addr[NPROBES][16];
	int before[NPROBES], after[NPROBES];
	unsigned long stores;
} race;

static void publish_hook(void)
{
	int i, got;
	bool ok;

	if (race.kind == RACE_NONE)
		return;
	race.stores++;
	for (i = 0; i < race.n; i++) {
		got = real_lookup(race.fam[i], race.addr[i]);
		switch (race.kind) {
		case RACE_INSERT:
			ok = got == race.before[i] || got == race.after[i];
			break;
		case RACE_REMOVE:
			ok = got == race.after[i] ||
			     (race.before[i] == race.peer && got == race.peer);
			break;
		default:
			ok = got == race.before[i] || got == -1;
			break;
		}
		if (!ok)
			FAIL("reader racing with a writer (kind %d, store %lu) "
			     "got peer %d for probe %d (IPv%d), before %d after %d",
			     race.kind, race.stores, got, i, race.fam[i],
			     race.before[i], race.after[i]);
	}
}

static void add_probe(u8 fam, const u8 a[16])
{
	if (race.n == NPROBES)
		return;
	race.fam[race.n] = fam;
	memcpy(race.addr[race.n], a, 16);
	race.n++;
}

/* Probes around @a/@cidr and around a few existing prefixes. */
static void make_probes(struct input *in, u8 fam, const u8 a[16], int cidr,
			int peer)
{
	u8 b[16];
	int i, k;

	race.n = 0;
	race.stores = 0;
	if (a) {
		add_probe(fam, a);
		if (cidr > 0 && cidr <= (int)width(fam)) {
			memcpy(b, a, 16);
			flip_bit(b, cidr - 1);	/* just outside the prefix */
			add_probe(fam, b);
		}
		if (cidr >= 0 && cidr < (int)width(fam)) {
			memcpy(b, a, 16);
			flip_bit(b, cidr);	/* inside, another host */
			add_probe(fam, b);
		}
	}
	for (k = 0; k < model.n && race.n < NPROBES; k++) {
		i = (in_u8(in) + k) % model.n;
		if (peer >= 0 && model.e[i].peer != peer && k < 4)
			continue;
		memcpy(b, model.e[i].addr, 16);
		if (model.e[i].cidr < width(model.e[i].fam))
			flip_bit(b, width(model.e[i].fam) - 1);
		add_probe(model.e[i].fam, b);
	}
}

static void probes_eval(const struct model *m, int *out)
{
	int i;

	for (i = 0; i < race.n; i++)
		out[i] = model_lookup(m, race.fam[i], race.addr[i]);
}

/* After an operation, the probes must see exactly the new state. */
static void probes_check_final(void)
{
	int i, got;

	for (i = 0; i < race.n; i++) {
		got = real_lookup(race.fam[i], race.addr[i]);
		if (got != race.after[i])
			FAIL("lookup of probe %d (IPv%d) after the operation: "
			     "got peer %d, model %d", i, race.fam[i], got,
			     race.after[i]);
	}
}

/* Shape of the trie. */

static bool key_bit(const u64 key[2], unsigned int pos)
{
	return (key[pos / 64] >> (63 - pos % 64)) & 1;
}

static u64 half_mask(int n)
{
	if (n <= 0)
		return 0;
	if (n >= 64)
		return ~0ULL;
	return ~0ULL << (64 - n);
}

static int check_node(const struct wg_allowedips_node *node,
		      const struct wg_allowedips_node *parent, unsigned int b,
		      u8 bits, unsigned int depth)
{
	const struct wg_allowedips_node *c0, *c1;
	struct wg_peer *peer;
	int count = 0;

	if (depth > bits + 1u)
		FAIL("trie deeper than %u", bits + 1);
	if (node->bits != bits || node->cidr > bits)
		FAIL("node bits %u cidr %u in the /%u trie", node->bits,
		     node->cidr, bits);
	if (node->parent != parent)
		FAIL("wrong parent pointer at depth %u", depth);
	if ((node->key[0] & ~half_mask(node->cidr)) ||
	    (node->key[1] & ~half_mask(node->cidr - 64)))
		FAIL("host bits set beyond /%u", node->cidr);
	if (bits == 32 && (node->key[1] || (node->key[0] & 0xffffffffULL)))
		FAIL("IPv4 key outside the top 32 bits");
	if (parent) {
		if (node->cidr <= parent->cidr)
			FAIL("child /%u under parent /%u", node->cidr,
			     parent->cidr);
		if ((node->key[0] ^ parent->key[0]) & half_mask(parent->cidr) ||
		    (node->key[1] ^ parent->key[1]) & half_mask(parent->cidr - 64))
			FAIL("child does not extend its parent's prefix");
		if (key_bit(node->key, parent->cidr) != b)
			FAIL("child[%u] has the other bit at /%u", b,
			     parent->cidr);
	}
	peer = node->peer;
	c0 = node->child[0];
	c1 = node->child[1];
	if (peer) {
		peer_index(peer);
		count++;
	} else if (!c0 || !c1) {
		FAIL("glue node /%u with fewer than two children", node->cidr);
	}
	if (node->cidr == bits && (c0 || c1))
		FAIL("full-length node with children");
	if (c0)
		count += check_node(c0, node, 0, bits, depth + 1);
	if (c1)
		count += check_node(c1, node, 1, bits, depth + 1);
	return count;
}

static void check_shape(void)
{
	int n = 0;

	if (table.root4)
		n += check_node(table.root4, NULL, 0, 32, 0);
	if (table.root6)
		n += check_node(table.root6, NULL, 0, 128, 0);
	if (n != model.n)
		FAIL("%d nodes carry a peer, the model has %d prefixes", n,
		     model.n);
}

/* Dump: each peer's list is exactly its prefixes in the model. */
static void check_dump(void)
{
	static bool seen[MAXE];
	struct wg_allowedips_node *node;
	int p, i, n, want, af;
	u8 ip[16], cidr, fam;

	memset(seen, 0, sizeof(seen));
	for (p = 0; p < NPEERS; p++) {
		want = 0;
		for (i = 0; i < model.n; i++)
			want += model.e[i].peer == p;
		n = 0;
		list_for_each_entry(node, &peers[p].allowedips_list, peer_list) {
			if (++n > want)
				FAIL("peer %d lists more than its %d prefixes",
				     p, want);
			if (node->peer != &peers[p])
				FAIL("node on peer %d's list points to peer %d",
				     p, peer_index(node->peer));
			memset(ip, 0, sizeof(ip));
			af = wg_allowedips_read_node(node, ip, &cidr);
			if (af != AF_INET && af != AF_INET6)
				FAIL("read_node returned family %d", af);
			fam = af == AF_INET ? 4 : 6;
			if (fam == 4)
				memset(ip + 4, 0, 12);
			i = model_find(&model, fam, ip, cidr);
			if (i < 0 || model.e[i].peer != p)
				FAIL("peer %d lists IPv%d /%u not in the model "
				     "for it (model index %d)", p, fam, cidr, i);
			if (seen[i])
				FAIL("peer %d lists a prefix twice", p);
			seen[i] = true;
		}
		if (n != want)
			FAIL("peer %d lists %d prefixes, the model has %d", p,
			     n, want);
	}
}

/* Operations. */

/*
 * The operands of an insert or a single removal: an address (@a, and
 * @masked to its cidr), a cidr and a peer (-1: NULL).  False when the
 * operation must fail with -EINVAL.
 */
static bool gen_prefix(struct input *in, u8 fam, u8 a[16], u8 masked[16],
		       u8 *cidr, int *peer)
{
	int near;
	u8 pb;
	bool valid;

	gen_addr(in, fam, a, &near);
	*cidr = gen_cidr(in, fam, near);
	pb = in_u8(in);
	*peer = pb % 16 == 15 ? -1 : pb % NPEERS;

	valid = *cidr <= width(fam) && *peer >= 0;
	memcpy(masked, a, 16);
	if (valid)
		mask_bytes(masked, *cidr, width(fam));
	return valid;
}

/*
 * With @reserved, the insert draws on a reserve filled for it first, and
 * the allocator failing (@fail_nth) must then change nothing: a reserved
 * insert cannot fail for memory.
 */
static void op_insert(struct input *in, u8 fam, int fail_nth, bool reserved)
{
	struct wg_allowedips_reserve reserve = {};
	static struct model next;
	u8 a[16], masked[16];
	int peer, ret, expect;
	bool exists, valid;
	u8 cidr;

	valid = gen_prefix(in, fam, a, masked, &cidr, &peer);
	exists = valid && model_find(&model, fam, masked, cidr) >= 0;
	if (valid && !exists && model.n == MAXE)
		return;	/* the model is full: only replacements from now on */

	make_probes(in, fam, a, cidr, -1);
	probes_eval(&model, race.before);
	next = model;
	if (valid)
		model_insert(&next, fam, masked, cidr, peer);
	probes_eval(&next, race.after);

	if (reserved && wg_allowedips_reserve_fill(&reserve, 1))
		FAIL("reserve fill failed with no failure injected");
	race.kind = RACE_INSERT;
	wgshim_fail_alloc_in = fail_nth;
	mutex_lock(&lock);
	if (fam == 4) {
		struct in_addr ip;

		memcpy(&ip.s_addr, a, 4);
		ret = wg_allowedips_insert_v4(&table, &ip, cidr,
					      peer_ptr(peer), &lock,
					      reserved ? &reserve : NULL);
	} else {
		struct in6_addr ip;

		memcpy(ip.s6_addr, a, 16);
		ret = wg_allowedips_insert_v6(&table, &ip, cidr,
					      peer_ptr(peer), &lock,
					      reserved ? &reserve : NULL);
	}
	mutex_unlock(&lock);
	wgshim_fail_alloc_in = 0;
	race.kind = RACE_NONE;
	if (reserved && reserve.count > WG_ALLOWEDIPS_NODES_PER_INSERT)
		FAIL("reserve grew to %u nodes", reserve.count);
	wg_allowedips_reserve_release(&reserve);

	expect = valid ? 0 : -EINVAL;
	if (ret == -ENOMEM && fail_nth && valid && !exists && !reserved) {
		probes_eval(&model, race.after);	/* nothing changed */
	} else if (ret != expect) {
		FAIL("insert IPv%d /%u peer %d (exists %d, fail_nth %d) "
		     "returned %d, expected %d", fam, cidr, peer, exists,
		     fail_nth, ret, expect);
	} else {
		model = next;
	}
	wgshim_rcu_quiesce();
	probes_check_final();
}

static void op_remove(struct input *in)
{
	static struct model next;
	int peer = in_u8(in) % NPEERS;

	make_probes(in, 4, NULL, -1, peer);
	probes_eval(&model, race.before);
	next = model;
	model_remove_peer(&next, peer);
	probes_eval(&next, race.after);

	race.kind = RACE_REMOVE;
	race.peer = peer;
	mutex_lock(&lock);
	wg_allowedips_remove_by_peer(&table, &peers[peer], &lock);
	mutex_unlock(&lock);
	race.kind = RACE_NONE;
	model = next;
	if (!list_empty(&peers[peer].allowedips_list))
		FAIL("peer %d's list not empty after removal", peer);
	wgshim_rcu_quiesce();
	probes_check_final();
}

/* One prefix, mostly an existing one, removed by its owner or another. */
static void op_remove_one(struct input *in, u8 fam)
{
	static struct model next;
	int peer, ret, expect, i = -1;
	u8 a[16], masked[16];
	u8 cidr;

	if (gen_prefix(in, fam, a, masked, &cidr, &peer)) {
		i = model_find(&model, fam, masked, cidr);
		if (i >= 0 && model.e[i].peer != peer)
			i = -1;
	}
	expect = cidr > width(fam) || peer < 0 ? -EINVAL : i < 0 ? -ENOENT : 0;

	make_probes(in, fam, a, cidr, peer);
	probes_eval(&model, race.before);
	next = model;
	if (i >= 0)
		next.e[i] = next.e[--next.n];
	probes_eval(&next, race.after);

	/* Each store leaves the answer before or after: as for an insert. */
	race.kind = RACE_INSERT;
	mutex_lock(&lock);
	if (fam == 4) {
		struct in_addr ip;

		memcpy(&ip.s_addr, a, 4);
		ret = wg_allowedips_remove_v4(&table, &ip, cidr,
					      peer_ptr(peer), &lock);
	} else {
		struct in6_addr ip;

		memcpy(ip.s6_addr, a, 16);
		ret = wg_allowedips_remove_v6(&table, &ip, cidr,
					      peer_ptr(peer), &lock);
	}
	mutex_unlock(&lock);
	race.kind = RACE_NONE;
	if (ret != expect)
		FAIL("removal of IPv%d /%u of peer %d returned %d, expected %d",
		     fam, cidr, peer, ret, expect);
	model = next;
	wgshim_rcu_quiesce();
	probes_check_final();
}

static void op_free(struct input *in)
{
	int p;

	make_probes(in, 4, NULL, -1, -1);
	probes_eval(&model, race.before);
	model.n = 0;
	probes_eval(&model, race.after);

	race.kind = RACE_FREE;
	mutex_lock(&lock);
	wg_allowedips_free(&table, &lock);
	mutex_unlock(&lock);
	race.kind = RACE_NONE;
	for (p = 0; p < NPEERS; p++)
		if (!list_empty(&peers[p].allowedips_list))
			FAIL("peer %d's list not empty after free", p);
	if (table.root4 || table.root6)
		FAIL("roots left after free");
	wgshim_rcu_quiesce();
	probes_check_final();
}

static void op_lookup(struct input *in)
{
	u8 a[16];
	int near, got, want;
	u8 fam = in_u8(in) & 1 ? 6 : 4;

	gen_addr(in, fam, a, &near);
	got = real_lookup(fam, a);
	want = model_lookup(&model, fam, a);
	if (got != want)
		FAIL("lookup IPv%d: got peer %d, model %d", fam, got, want);
}

/* The packet helpers, with distinct source and destination addresses. */
static void op_lookup_skb(struct input *in)
{
	union {
		u64 align;
		u8 b[64];
	} buf;
	struct sk_buff skb;
	u8 src[16], dst[16];
	u8 sel = in_u8(in);
	u8 fam = sel & 1 ? 6 : 4;
	int near, got_src, got_dst, want_src, want_dst;
	unsigned int off = 4 * (sel >> 1 & 3);	/* header kept 4-aligned */

	gen_addr(in, fam, src, &near);
	gen_addr(in, fam, dst, &near);
	memset(&buf, 0, sizeof(buf));
	skb.head = buf.b;
	skb.network_header = off;
	if (fam == 4) {
		buf.b[off] = 0x45;
		memcpy(&buf.b[off + 12], src, 4);
		memcpy(&buf.b[off + 16], dst, 4);
		skb.protocol = htons(ETH_P_IP);
	} else {
		buf.b[off] = 0x60;
		memcpy(&buf.b[off + 8], src, 16);
		memcpy(&buf.b[off + 24], dst, 16);
		skb.protocol = htons(ETH_P_IPV6);
	}
	want_src = model_lookup(&model, fam, src);
	want_dst = model_lookup(&model, fam, dst);
	if (sel & 8) {	/* neither IPv4 nor IPv6 */
		skb.protocol = htons(ETH_P_ARP);
		want_src = want_dst = -1;
	}
	rcu_read_lock_bh();
	got_src = peer_index(wg_allowedips_lookup_src(&table, &skb));
	got_dst = peer_index(wg_allowedips_lookup_dst(&table, &skb));
	rcu_read_unlock_bh();
	if (got_src != want_src || got_dst != want_dst)
		FAIL("skb lookup IPv%d proto %#x: src peer %d (model %d), "
		     "dst peer %d (model %d)", fam, ntohs(skb.protocol),
		     got_src, want_src, got_dst, want_dst);
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct input in = { data, size };
	int p, dumps = 0;

	if (wg_allowedips_slab_init())
		FAIL("slab init");
	wgshim_rcu_publish_hook = publish_hook;
	mutex_init(&lock);
	wg_allowedips_init(&table);
	for (p = 0; p < NPEERS; p++) {
		INIT_LIST_HEAD(&peers[p].allowedips_list);
		peers[p].wgshim_id = p;
	}
	model.n = 0;
	race.kind = RACE_NONE;
	opno = 0;

	while (in.n) {
		u8 op = in_u8(&in);

		opno++;
		switch (op % 8) {
		case 0:
			op_insert(&in, 4, 0, false);
			break;
		case 1:
			op_insert(&in, 6, 0, false);
			break;
		case 2:
			/*
			 * Fail the first or second allocation (node, glue),
			 * with or without a reserve to draw on.
			 */
			op_insert(&in, op & 8 ? 6 : 4, 1 + (op >> 4 & 1),
				  op >> 5 & 1);
			break;
		case 3:
			if (op & 8)
				op_remove_one(&in, op & 16 ? 6 : 4);
			else
				op_remove(&in);
			break;
		case 4:
			op_lookup(&in);
			break;
		case 5:
			op_lookup_skb(&in);
			break;
		case 6:
			if (dumps++ < MAX_DUMPS)
				check_dump();
			break;
		case 7:
			if ((op >> 3) == 0x1f)
				op_free(&in);
			else
				op_lookup(&in);
			break;
		}
		check_shape();
	}

	check_dump();
	op_free(&in);
	wgshim_rcu_publish_hook = NULL;
	wg_allowedips_slab_uninit();
	return 0;
}
