/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-source rate limiting of handshake packets, checked before any
 * expensive cryptography is spent on them.
 *
 * A source is the outer source address masked to /32 for IPv4 and /64 for
 * IPv6 (a host usually owns a whole /64, so the prefix is what names it),
 * together with the network namespace the packet arrived in.  Each source
 * has a token bucket: WG_RATELIMITER_PACKETS_PER_SECOND sustained, bursts
 * of WG_RATELIMITER_BURST.
 *
 * There is one module-wide table shared by every device and namespace, so
 * its memory depends on neither the number of devices nor of peers; it has
 * a hard cap (see ratelimiter.c) and refuses new sources when full.
 *
 * Lifetime: wg_ratelimiter_init() once at module load, before any device
 * can receive; wg_ratelimiter_uninit() once at module unload, after every
 * caller of wg_ratelimiter_allow() is gone.  Nothing is left behind that
 * runs module code, so the module's final rcu_barrier() is not needed for
 * the table, and does not hurt either.
 */
#ifndef _WG_RATELIMITER_H
#define _WG_RATELIMITER_H

#include <linux/skbuff.h>
#include <linux/time64.h>
#include <linux/types.h>

struct net;

/*
 * Credit is kept in nanoseconds of elapsed time: a packet costs
 * WG_RATELIMITER_COST_NS and a bucket holds at most WG_RATELIMITER_CAP_NS.
 */
enum wg_ratelimiter_rate {
	WG_RATELIMITER_PACKETS_PER_SECOND = 20,
	WG_RATELIMITER_BURST = 5,
	WG_RATELIMITER_COST_NS =
		NSEC_PER_SEC / WG_RATELIMITER_PACKETS_PER_SECOND,
	WG_RATELIMITER_CAP_NS = WG_RATELIMITER_BURST * WG_RATELIMITER_COST_NS,
};

int wg_ratelimiter_init(void);
void wg_ratelimiter_uninit(void);

/*
 * True when the source of @skb (an IPv4 or IPv6 packet by skb->protocol,
 * network header set) may send one more handshake packet now.  Any context
 * up to softirq; takes no reference on @net, which is only compared.
 */
bool wg_ratelimiter_allow(struct sk_buff *skb, struct net *net);

/*
 * Tables as objects.  The module-wide table is one of these; the
 * self-tests make private ones with small caps, no garbage-collection
 * work and a virtual clock.
 */
struct wg_ratelimiter;

struct wg_ratelimiter_stats {
	unsigned int entries;
	u64 refused_full;	/* new sources turned away: table at its cap */
	u64 refused_nomem;	/* new sources turned away: no memory */
};

/*
 * @buckets must be a power of two.  With @autogc, a delayed work collects
 * idle entries about once a second while the table is not empty;
 * otherwise only wg_ratelimiter_collect() does.  May sleep.
 */
struct wg_ratelimiter *wg_ratelimiter_create(unsigned int buckets,
					     unsigned int max_entries,
					     bool autogc);
/* May sleep; no wg_ratelimiter_allow_at() may be called from now on. */
void wg_ratelimiter_destroy(struct wg_ratelimiter *rl);
bool wg_ratelimiter_allow_at(struct wg_ratelimiter *rl,
			     const struct sk_buff *skb, const struct net *net,
			     u64 now_ns);
/* Frees every entry whose bucket is full again at @now_ns; may sleep. */
void wg_ratelimiter_collect(struct wg_ratelimiter *rl, u64 now_ns);
void wg_ratelimiter_get_stats(struct wg_ratelimiter *rl,
			      struct wg_ratelimiter_stats *stats);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_ratelimiter_selftest(void);
#endif

#endif /* _WG_RATELIMITER_H */
