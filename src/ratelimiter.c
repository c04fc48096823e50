// SPDX-License-Identifier: GPL-2.0
/*
 * Handshake rate limiting: a hash table of token buckets, one per source.
 *
 * Concurrency:
 *  - the bucket array is fixed for the table's life; chains are read
 *    under RCU without locks;
 *  - the table's @lock serializes linking and unlinking entries and the
 *    entry count;
 *  - each entry's @lock guards its bucket state.  A spinlock rather than a
 *    cmpxchg loop on a packed word: the state is two u64s (time and
 *    credit), one source is hammered by at most a few CPUs, and the lock
 *    sits right next to the state it guards;
 *  - lock order: table lock, then entry lock.  Both are taken with BHs
 *    off, since packets arrive in softirq and the collector runs in a
 *    worker.
 *
 * Lifetime of an entry: created on a source's first packet, unlinked and
 * marked dead (under both locks) by the collector once its bucket has
 * refilled, freed by kfree_rcu().  A reader that found it just before
 * sees @dead under the entry lock and takes the insertion path instead,
 * so no packet is counted against a bucket nobody will look at again.
 *
 * Time: a caller-supplied nanosecond clock.  The state only ever moves
 * forward: a reading older than the entry's (another CPU's sample racing
 * ours) adds no credit and does not move the entry's time back.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "ratelimiter.h"

#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/rculist.h>
#include <linux/siphash.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

/*
 * The cap: one chain head per 256 KiB of RAM, rounded down to a power of
 * two within [256, 8192], and at most 8 entries per chain head on
 * average.  An entry is a 96-byte kmalloc object (72 bytes used without
 * lock debugging), so a full table costs at most 8 * 96 bytes per 256 KiB
 * of RAM (0.3%) and never more than 65,536 entries: 6 MiB plus 64 KiB of
 * chain heads, reached from 2 GiB of RAM up.  Chains stay short even when
 * full, so a flood of known sources costs a few compares per packet.
 */
enum rl_sizing {
	RL_BUCKETS_MIN = 256,
	RL_BUCKETS_MAX = 8192,
	RL_RAM_PER_BUCKET_SHIFT = 18,
	RL_ENTRIES_PER_BUCKET = 8,
	/* Buckets per lock/unlock pair between reschedule points. */
	RL_COLLECT_BATCH = 256,
};

static_assert(RL_RAM_PER_BUCKET_SHIFT >= PAGE_SHIFT);
/* Powers of two, so that rounding down after clamping stays in range. */
static_assert(!(RL_BUCKETS_MIN & (RL_BUCKETS_MIN - 1)));
static_assert(!(RL_BUCKETS_MAX & (RL_BUCKETS_MAX - 1)));

struct rl_key {
	u64 addr;		/* IPv4 address, or IPv6 /64 prefix */
	const struct net *net;
	u16 family;
};

struct rl_entry {
	struct hlist_node node;		/* chain; table lock for writers */
	/*
	 * Compared, never dereferenced, and no reference is held: a
	 * namespace freed and another allocated at the same address inherits
	 * at most one second of throttling state, which is harmless.
	 */
	const struct net *net;
	u64 addr;
	u16 family;
	bool dead;			/* lock; set once, when unlinked */
	spinlock_t lock;		/* the bucket state below */
	u64 last_ns;			/* lock; newest clock reading seen */
	u64 credit_ns;			/* lock; <= WG_RATELIMITER_CAP_NS */
	struct rcu_head rcu;
};

struct wg_ratelimiter {
	struct hlist_head *buckets;	/* fixed from create to destroy */
	unsigned int mask;
	unsigned int max_entries;
	bool autogc;
	siphash_key_t key;

	spinlock_t lock;		/* chains' writers, @entries, @dying */
	unsigned int entries;		/* lock; lockless peeks READ_ONCE */
	bool dying;			/* lock */

	struct delayed_work gc_work;
	atomic64_t refused_full;
	atomic64_t refused_nomem;
};

/* Set by wg_ratelimiter_init(), cleared by wg_ratelimiter_uninit(). */
static struct wg_ratelimiter *rl_global;

/*
 * Reads the source from the outer header.  The length check costs little
 * and keeps a malformed or truncated skb from a future caller from
 * reading past the linear data.
 */
static bool rl_key_from_skb(struct rl_key *k, const struct sk_buff *skb,
			    const struct net *net)
{
	const u8 *nh = skb_network_header(skb);
	ptrdiff_t avail = skb_tail_pointer(skb) - nh;

	if (skb->protocol == htons(ETH_P_IP)) {
		if (avail < (ptrdiff_t)sizeof(struct iphdr))
			return false;
		k->addr = (__force u32)ip_hdr(skb)->saddr;
		k->family = AF_INET;
	} else if (skb->protocol == htons(ETH_P_IPV6)) {
		const struct in6_addr *src;

		if (avail < (ptrdiff_t)sizeof(struct ipv6hdr))
			return false;
		src = &ipv6_hdr(skb)->saddr;
		k->addr = (u64)(__force u32)src->s6_addr32[0] << 32 |
			  (__force u32)src->s6_addr32[1];
		k->family = AF_INET6;
	} else {
		return false;
	}
	k->net = net;
	return true;
}

static struct hlist_head *rl_bucket(struct wg_ratelimiter *rl,
				    const struct rl_key *k)
{
	u64 h = siphash_3u64(k->addr, (u64)(unsigned long)k->net, k->family,
			     &rl->key);

	return &rl->buckets[h & rl->mask];
}

/* Under RCU, or with the table lock held. */
static struct rl_entry *rl_lookup(struct wg_ratelimiter *rl,
				  struct hlist_head *head,
				  const struct rl_key *k)
{
	struct rl_entry *e;

	hlist_for_each_entry_rcu(e, head, node, lockdep_is_held(&rl->lock)) {
		if (e->addr == k->addr && e->net == k->net &&
		    e->family == k->family)
			return e;
	}
	return NULL;
}

/* Refills by the time elapsed since the newest reading, then pays. */
static bool rl_entry_take(struct rl_entry *e, u64 now_ns)
{
	lockdep_assert_held(&e->lock);

	if (now_ns > e->last_ns) {
		/* Bound the gap first: idle for ages must not overflow. */
		u64 gain = min_t(u64, now_ns - e->last_ns,
				 WG_RATELIMITER_CAP_NS);

		e->credit_ns = min_t(u64, e->credit_ns + gain,
				     WG_RATELIMITER_CAP_NS);
		e->last_ns = now_ns;
	}
	if (e->credit_ns < WG_RATELIMITER_COST_NS)
		return false;
	e->credit_ns -= WG_RATELIMITER_COST_NS;
	return true;
}

/* A full bucket is what a new entry would start from: forget it. */
static bool rl_entry_idle(const struct rl_entry *e, u64 now_ns)
{
	lockdep_assert_held(&e->lock);

	if (now_ns < e->last_ns)
		return false;
	return now_ns - e->last_ns >= WG_RATELIMITER_CAP_NS - e->credit_ns;
}

static void rl_schedule_gc(struct wg_ratelimiter *rl)
{
	lockdep_assert_held(&rl->lock);

	if (rl->autogc && !rl->dying)
		queue_delayed_work(system_power_efficient_wq, &rl->gc_work, HZ);
}

/*
 * The slow path, for a source not found by the lockless lookup.  The
 * caller is in an RCU read-side section, which is what lets
 * wg_ratelimiter_destroy() wait for us.
 */
static bool rl_insert(struct wg_ratelimiter *rl, struct hlist_head *head,
		      const struct rl_key *k, u64 now_ns)
{
	struct rl_entry *e, *fresh;
	bool ok = false;

	/* When full, a flood of new sources never touches the lock. */
	if (READ_ONCE(rl->entries) >= rl->max_entries) {
		atomic64_inc(&rl->refused_full);
		return false;
	}
	/* Allocated unlocked: most of the time it is used. */
	fresh = kmalloc(sizeof(*fresh), GFP_ATOMIC | __GFP_NOWARN);
	if (!fresh) {
		atomic64_inc(&rl->refused_nomem);
		return false;
	}

	spin_lock_bh(&rl->lock);
	/* Another CPU may have added this source since our lookup. */
	e = rl_lookup(rl, head, k);
	if (e) {
		/* Not dead: only the collector kills, under this lock. */
		spin_lock(&e->lock);
		ok = rl_entry_take(e, now_ns);
		spin_unlock(&e->lock);
		goto out;
	}
	if (rl->dying)
		goto out;
	if (rl->entries >= rl->max_entries) {
		atomic64_inc(&rl->refused_full);
		goto out;
	}

	fresh->net = k->net;
	fresh->addr = k->addr;
	fresh->family = k->family;
	fresh->dead = false;
	spin_lock_init(&fresh->lock);
	fresh->last_ns = now_ns;
	fresh->credit_ns = WG_RATELIMITER_CAP_NS - WG_RATELIMITER_COST_NS;
	hlist_add_head_rcu(&fresh->node, head);
	WRITE_ONCE(rl->entries, rl->entries + 1);
	if (rl->entries == 1)
		rl_schedule_gc(rl);
	fresh = NULL;
	ok = true;
out:
	spin_unlock_bh(&rl->lock);
	kfree(fresh);
	return ok;
}

bool wg_ratelimiter_allow_at(struct wg_ratelimiter *rl,
			     const struct sk_buff *skb, const struct net *net,
			     u64 now_ns)
{
	struct hlist_head *head;
	struct rl_entry *e;
	struct rl_key k;
	bool ok;

	if (!rl_key_from_skb(&k, skb, net))
		return false;
	head = rl_bucket(rl, &k);

	rcu_read_lock();
	e = rl_lookup(rl, head, &k);
	if (e) {
		spin_lock_bh(&e->lock);
		if (likely(!e->dead)) {
			ok = rl_entry_take(e, now_ns);
			spin_unlock_bh(&e->lock);
			goto out;
		}
		spin_unlock_bh(&e->lock);
	}
	ok = rl_insert(rl, head, &k, now_ns);
out:
	rcu_read_unlock();
	return ok;
}

static void rl_collect_bucket(struct wg_ratelimiter *rl,
			      struct hlist_head *head, u64 now_ns)
{
	struct hlist_node *tmp;
	struct rl_entry *e;
	bool idle;

	lockdep_assert_held(&rl->lock);

	hlist_for_each_entry_safe(e, tmp, head, node) {
		spin_lock(&e->lock);
		idle = rl_entry_idle(e, now_ns);
		if (idle)
			e->dead = true;
		spin_unlock(&e->lock);
		if (!idle)
			continue;
		hlist_del_rcu(&e->node);
		WRITE_ONCE(rl->entries, rl->entries - 1);
		/* No module code runs at the end of the grace period. */
		kfree_rcu(e, rcu);
	}
}

/*
 * The table lock is dropped every RL_COLLECT_BATCH chain heads so that
 * packets inserting new sources wait for a bounded sweep, not a full one.
 */
void wg_ratelimiter_collect(struct wg_ratelimiter *rl, u64 now_ns)
{
	unsigned int i = 0, end;

	might_sleep();

	while (i <= rl->mask) {
		end = min(i + RL_COLLECT_BATCH, rl->mask + 1);
		spin_lock_bh(&rl->lock);
		for (; i < end; i++) {
			if (!hlist_empty(&rl->buckets[i]))
				rl_collect_bucket(rl, &rl->buckets[i], now_ns);
		}
		spin_unlock_bh(&rl->lock);
		cond_resched();
	}
}

static void rl_gc_work(struct work_struct *work)
{
	struct wg_ratelimiter *rl = container_of(to_delayed_work(work),
						 struct wg_ratelimiter,
						 gc_work);

	wg_ratelimiter_collect(rl, ktime_get_coarse_boottime_ns());
	/*
	 * Decided under the lock, like the insertion of a first entry, so
	 * one of the two always re-arms us while the table is not empty.
	 */
	spin_lock_bh(&rl->lock);
	if (rl->entries)
		rl_schedule_gc(rl);
	spin_unlock_bh(&rl->lock);
}

struct wg_ratelimiter *wg_ratelimiter_create(unsigned int buckets,
					     unsigned int max_entries,
					     bool autogc)
{
	struct wg_ratelimiter *rl;

	if (WARN_ON(!is_power_of_2(buckets) || !max_entries))
		return NULL;
	rl = kzalloc(sizeof(*rl), GFP_KERNEL);
	if (!rl)
		return NULL;
	rl->buckets = kvcalloc(buckets, sizeof(*rl->buckets), GFP_KERNEL);
	if (!rl->buckets) {
		kfree(rl);
		return NULL;
	}
	rl->mask = buckets - 1;
	rl->max_entries = max_entries;
	rl->autogc = autogc;
	get_random_bytes(&rl->key, sizeof(rl->key));
	spin_lock_init(&rl->lock);
	INIT_DELAYED_WORK(&rl->gc_work, rl_gc_work);
	atomic64_set(&rl->refused_full, 0);
	atomic64_set(&rl->refused_nomem, 0);
	return rl;
}

void wg_ratelimiter_destroy(struct wg_ratelimiter *rl)
{
	struct hlist_node *tmp;
	struct rl_entry *e;
	unsigned int i;

	if (!rl)
		return;

	spin_lock_bh(&rl->lock);
	rl->dying = true;	/* no more inserts, no more re-arming */
	spin_unlock_bh(&rl->lock);
	cancel_delayed_work_sync(&rl->gc_work);
	/*
	 * A caller still inside wg_ratelimiter_allow_at() is in an RCU
	 * read-side section for the whole call; once it has left, nothing
	 * can reach the entries, which are then freed directly.
	 */
	synchronize_rcu();
	for (i = 0; i <= rl->mask; i++) {
		hlist_for_each_entry_safe(e, tmp, &rl->buckets[i], node)
			kfree(e);
	}
	kvfree(rl->buckets);
	kfree(rl);
}

void wg_ratelimiter_get_stats(struct wg_ratelimiter *rl,
			      struct wg_ratelimiter_stats *stats)
{
	stats->entries = READ_ONCE(rl->entries);
	stats->refused_full = atomic64_read(&rl->refused_full);
	stats->refused_nomem = atomic64_read(&rl->refused_nomem);
}

int wg_ratelimiter_init(void)
{
	unsigned long buckets;

	buckets = totalram_pages() >> (RL_RAM_PER_BUCKET_SHIFT - PAGE_SHIFT);
	buckets = clamp_t(unsigned long, buckets, RL_BUCKETS_MIN,
			  RL_BUCKETS_MAX);
	buckets = rounddown_pow_of_two(buckets);

	rl_global = wg_ratelimiter_create(buckets,
					  buckets * RL_ENTRIES_PER_BUCKET,
					  true);
	return rl_global ? 0 : -ENOMEM;
}

void wg_ratelimiter_uninit(void)
{
	wg_ratelimiter_destroy(rl_global);
	rl_global = NULL;
}

bool wg_ratelimiter_allow(struct sk_buff *skb, struct net *net)
{
	return wg_ratelimiter_allow_at(rl_global, skb, net,
				       ktime_get_coarse_boottime_ns());
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/ratelimiter.c"
#endif
