// SPDX-License-Identifier: GPL-2.0
/*
 * Rate-limiter self-tests, run at module load in debug builds.
 *
 * They drive private tables (no collection work, small caps) with a
 * virtual clock, so they are exact and take no real time, and they never
 * touch the module-wide table.  The namespaces are &init_net and the
 * address of a local object: the table only compares them.  Two skbs,
 * one per family, are reused by rewriting their source address.
 */

#include "ratelimiter.h"

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/ktime.h>
#include <linux/skbuff.h>
#include <net/net_namespace.h>

#define fail(fmt, ...) \
	pr_err("ratelimiter self-test: " fmt "\n", ##__VA_ARGS__)

enum {
	ST_BUCKETS = 16,
	ST_MAX_ENTRIES = 64,
	ST_SMALL_CAP = 4,
	ST_BURST = WG_RATELIMITER_BURST,
	ST_COST = WG_RATELIMITER_COST_NS,
	ST_CAP = WG_RATELIMITER_CAP_NS,
};

/* Far from zero, so that going back in time stays positive. */
#define T0	(1000ULL * NSEC_PER_SEC)
#define MS	((u64)NSEC_PER_MSEC)
/* 2001:db8:1::/64 */
#define V6_NET	0x20010db800010000ULL

struct st_ctx {
	struct wg_ratelimiter *rl;
	struct sk_buff *skb4, *skb6;
	const struct net *net;
};

/* Stands in for a second namespace; never dereferenced. */
static long fake_netns;
#define FAKE_NET	((const struct net *)&fake_netns)

static bool check(bool cond, const char *what)
{
	if (!cond)
		fail("%s", what);
	return cond;
}

static struct sk_buff *make_skb(__be16 proto, unsigned int len)
{
	struct sk_buff *skb = alloc_skb(len, GFP_KERNEL);

	if (!skb)
		return NULL;
	skb_reset_network_header(skb);
	memset(skb_put(skb, len), 0, len);
	skb->protocol = proto;
	return skb;
}

static bool send4(struct st_ctx *ctx, u32 addr, u64 now)
{
	ip_hdr(ctx->skb4)->saddr = htonl(addr);
	return wg_ratelimiter_allow_at(ctx->rl, ctx->skb4, ctx->net, now);
}

/* The source address is @prefix:@iid, 64 bits each. */
static bool send6(struct st_ctx *ctx, u64 prefix, u64 iid, u64 now)
{
	struct in6_addr *src = &ipv6_hdr(ctx->skb6)->saddr;

	src->s6_addr32[0] = htonl(prefix >> 32);
	src->s6_addr32[1] = htonl((u32)prefix);
	src->s6_addr32[2] = htonl(iid >> 32);
	src->s6_addr32[3] = htonl((u32)iid);
	return wg_ratelimiter_allow_at(ctx->rl, ctx->skb6, ctx->net, now);
}

/* How many of @n packets sent at the same instant pass. */
static unsigned int burst4(struct st_ctx *ctx, u32 addr, unsigned int n,
			   u64 now)
{
	unsigned int passed = 0;

	while (n--)
		passed += send4(ctx, addr, now);
	return passed;
}

static unsigned int burst6(struct st_ctx *ctx, u64 prefix, u64 iid,
			   unsigned int n, u64 now)
{
	unsigned int passed = 0;

	while (n--)
		passed += send6(ctx, prefix, iid, now);
	return passed;
}

static unsigned int entries(struct st_ctx *ctx)
{
	struct wg_ratelimiter_stats stats;

	wg_ratelimiter_get_stats(ctx->rl, &stats);
	return stats.entries;
}

static bool test_bucket(struct st_ctx *ctx)
{
	const u32 a = 0x0a000001;	/* 10.0.0.1 */
	unsigned int i;

	for (i = 0; i < ST_BURST; i++) {
		if (!check(send4(ctx, a, T0), "burst of 5 at t0"))
			return false;
	}
	return check(!send4(ctx, a, T0), "6th packet at t0 refused") &&
	       check(!send4(ctx, a, T0 + 49 * MS), "nothing after 49 ms") &&
	       check(burst4(ctx, a, 2, T0 + 50 * MS) == 1,
		     "one packet, not two, after 50 ms") &&
	       check(burst4(ctx, a, ST_BURST + 1, T0 + 1050 * MS) == ST_BURST,
		     "burst of 5, not 6, after 1 s idle") &&
	       check(!send4(ctx, a, T0), "clock going back gives no credit") &&
	       check(burst4(ctx, a, 2, T0 + 1100 * MS) == 1,
		     "clock going back does not move the bucket's time back") &&
	       check(burst4(ctx, a, ST_BURST + 1, U64_MAX) == ST_BURST,
		     "a huge idle time refills to the cap only");
}

/* @n packets @interval apart from @start; returns how many passed. */
static unsigned int steady4(struct st_ctx *ctx, u32 addr, u64 start,
			    u64 interval, unsigned int n)
{
	unsigned int i, passed = 0;

	for (i = 0; i < n; i++)
		passed += send4(ctx, addr, start + i * interval);
	return passed;
}

static bool test_rates(struct st_ctx *ctx)
{
	/* Ten virtual seconds of each rate, from fresh sources. */
	const unsigned int n20 = 10 * WG_RATELIMITER_PACKETS_PER_SECOND;
	const unsigned int n21 = 10 * (WG_RATELIMITER_PACKETS_PER_SECOND + 1);
	unsigned int passed20, passed21;

	passed20 = steady4(ctx, 0x0a000002, T0, NSEC_PER_SEC / 20, n20);
	passed21 = steady4(ctx, 0x0a000003, T0, NSEC_PER_SEC / 21, n21);
	/*
	 * At 21/s the bucket loses 50 - 47.6 ms per packet from its 250 ms:
	 * the first loss is packet 85, and about 205 of 210 pass.
	 */
	return check(passed20 == n20, "20/s passes indefinitely") &&
	       check(passed21 < n21, "21/s loses packets") &&
	       check(passed21 >= n21 - 10, "21/s loses only the excess");
}

static bool test_sources(struct st_ctx *ctx)
{
	struct sk_buff *odd;
	bool ok;

	ok = check(burst4(ctx, 0x0a010001, 6, T0) == ST_BURST,
		   "v4 source A") &&
	     check(burst4(ctx, 0x0a010002, 6, T0) == ST_BURST,
		   "v4 /32 neighbour is independent") &&
	     check(burst6(ctx, V6_NET, 1, 6, T0) == ST_BURST, "v6 source") &&
	     check(!send6(ctx, V6_NET, 0xffff000000000002ULL, T0),
		   "v6 address in the same /64 shares the bucket") &&
	     check(!send6(ctx, V6_NET, 1ULL << 63, T0),
		   "v6 interface identifier is ignored entirely") &&
	     check(burst6(ctx, V6_NET + 1, 1, 6, T0) == ST_BURST,
		   "v6 neighbouring /64 is independent") &&
	     check(burst6(ctx, 0x0a010001, 0, 6, T0) == ST_BURST,
		   "v6 prefix with the bits of a v4 source is independent");
	if (!ok)
		return false;

	ctx->net = FAKE_NET;
	ok = check(burst4(ctx, 0x0a010001, 6, T0) == ST_BURST,
		   "same v4 source in another namespace is independent") &&
	     check(burst6(ctx, V6_NET, 1, 6, T0) == ST_BURST,
		   "same v6 source in another namespace is independent") &&
	     check(!send4(ctx, 0x0a010001, T0),
		   "second namespace keeps its own state");
	ctx->net = &init_net;
	if (!ok || !check(!send4(ctx, 0x0a010001, T0),
			  "first namespace kept its state"))
		return false;

	odd = make_skb(htons(ETH_P_ARP), sizeof(struct ipv6hdr));
	if (!check(odd, "no memory"))
		return false;
	ok = check(!wg_ratelimiter_allow_at(ctx->rl, odd, ctx->net, T0),
		   "unknown protocol refused");
	kfree_skb(odd);
	odd = make_skb(htons(ETH_P_IPV6), sizeof(struct iphdr));
	if (!check(odd, "no memory"))
		return false;
	ok = ok &&
	     check(!wg_ratelimiter_allow_at(ctx->rl, odd, ctx->net, T0),
		   "truncated header refused");
	kfree_skb(odd);
	return ok;
}

static bool test_gc(struct st_ctx *ctx)
{
	const u32 busy = 0x0a030001, one = 0x0a030002, two = 0x0a030003;

	if (!check(burst4(ctx, busy, ST_BURST, T0) == ST_BURST &&
		   burst4(ctx, one, 1, T0) == 1 &&
		   burst4(ctx, two, 2, T0) == 2 && entries(ctx) == 3,
		   "gc setup"))
		return false;

	/* Credit now: busy 60 ms, one 260 (full), two 210 ms. */
	wg_ratelimiter_collect(ctx->rl, T0 + 60 * MS);
	if (!check(entries(ctx) == 2, "gc frees only the refilled entry") ||
	    !check(burst4(ctx, busy, 2, T0 + 60 * MS) == 1,
		   "gc kept the busy entry's state"))
		return false;

	/* The clock going back frees nothing. */
	wg_ratelimiter_collect(ctx->rl, T0);
	if (!check(entries(ctx) == 2, "gc with an older clock"))
		return false;

	/* busy: 10 ms at +60 ms, so full at +300 ms; two: full at +100. */
	wg_ratelimiter_collect(ctx->rl, T0 + 100 * MS);
	if (!check(entries(ctx) == 1, "gc frees an entry on refilling"))
		return false;
	wg_ratelimiter_collect(ctx->rl, T0 + 299 * MS);
	if (!check(entries(ctx) == 1, "gc keeps an entry not yet full"))
		return false;
	wg_ratelimiter_collect(ctx->rl, T0 + 300 * MS);
	if (!check(entries(ctx) == 0, "gc empties the table"))
		return false;

	return check(burst4(ctx, one, 6, T0 + 300 * MS) == ST_BURST &&
		     entries(ctx) == 1,
		     "a collected source comes back with a full bucket");
}

static bool test_cap(struct st_ctx *ctx)
{
	struct wg_ratelimiter_stats stats;
	unsigned int i;

	for (i = 1; i <= ST_SMALL_CAP; i++) {
		if (!check(send4(ctx, 0x0a040000 + i, T0), "filling the table"))
			return false;
	}
	if (!check(!send4(ctx, 0x0a040000 + i, T0),
		   "full table refuses a new source") ||
	    !check(send4(ctx, 0x0a040001, T0),
		   "full table still serves known sources"))
		return false;
	wg_ratelimiter_get_stats(ctx->rl, &stats);
	if (!check(stats.entries == ST_SMALL_CAP && stats.refused_full == 1,
		   "refusals counted"))
		return false;

	wg_ratelimiter_collect(ctx->rl, T0 + NSEC_PER_SEC);
	return check(entries(ctx) == 0, "gc frees the full table") &&
	       check(send4(ctx, 0x0a040000 + i, T0 + NSEC_PER_SEC),
		     "room again after gc");
}

static bool run_on(struct st_ctx *ctx, unsigned int max_entries,
		   bool (*test)(struct st_ctx *ctx))
{
	bool ok;

	ctx->rl = wg_ratelimiter_create(ST_BUCKETS, max_entries, false);
	if (!check(ctx->rl, "no memory"))
		return false;
	ctx->net = &init_net;
	ok = test(ctx);
	wg_ratelimiter_destroy(ctx->rl);
	ctx->rl = NULL;
	return ok;
}

static bool test_all(struct st_ctx *ctx)
{
	return run_on(ctx, ST_MAX_ENTRIES, test_bucket) &&
	       run_on(ctx, ST_MAX_ENTRIES, test_rates) &&
	       run_on(ctx, ST_MAX_ENTRIES, test_sources) &&
	       run_on(ctx, ST_MAX_ENTRIES, test_gc) &&
	       run_on(ctx, ST_SMALL_CAP, test_cap);
}

bool wg_ratelimiter_selftest(void)
{
	struct st_ctx ctx = {
		.skb4 = make_skb(htons(ETH_P_IP), sizeof(struct iphdr)),
		.skb6 = make_skb(htons(ETH_P_IPV6), sizeof(struct ipv6hdr)),
	};
	ktime_t start = ktime_get();
	bool ok;

	ok = check(ctx.skb4 && ctx.skb6, "no memory") && test_all(&ctx);
	kfree_skb(ctx.skb4);
	kfree_skb(ctx.skb6);
	if (ok) {
		pr_debug("ratelimiter self-tests took %lld us\n",
			 (long long)ktime_us_delta(ktime_get(), start));
		pr_info("ratelimiter self-tests: pass\n");
		return true;
	}
	pr_err("ratelimiter self-tests: fail\n");
	return false;
}
