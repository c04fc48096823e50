// SPDX-License-Identifier: GPL-2.0
/*
 * The queues of the native benchmark and the loops that drive them,
 * built against the kernel shims of include/ (and tools/libfuzzer's):
 *
 *   mpsc, mpsc_counted, mpsc_bounded
 *             wgmpsc's src/mpsc.c, compiled unmodified and linked in:
 *             wg_mpsc_enqueue(), or wg_mpsc_enqueue_bounded() with credits
 *             returned through wg_mpsc_consumed() once per batch, bound
 *             UINT_MAX (the bound's bookkeeping alone: it never refuses,
 *             so the queue is as deep as the unbounded one) or
 *             QB_CAPACITY (the same capacity as the other two);
 *   skblist   an sk_buff_head as the kernel lays it out, with the work of
 *             skb_queue_tail() and skb_dequeue() under a spinlock (the
 *             shim's: see include/linux/spinlock.h), refused at
 *             QB_CAPACITY by a lockless look at qlen;
 *   ptr_ring  the kernel's include/linux/ptr_ring.h, unmodified (the file
 *             PTR_RING_H names), ptr_ring_produce()/ptr_ring_consume().
 *
 * Every call is direct or inlined, as in the driver: the hot loops are
 * instantiated per kind by the compiler from one body (qb_kind is a
 * constant in each caller).
 *
 * Items are touched as the driver touches skbs: before the enqueue the
 * producer writes the length, a timestamp and its per-packet state in
 * ->cb; after the dequeue the consumer reads them back, checks them and
 * gives the item back to its producer's pool.  The pools are allocated up
 * front and spaced like the kernel's skbuff_head_cache (SLAB_HWCACHE_ALIGN:
 * 256 bytes apart), so malloc is never timed.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/skbuff.h>
#include <linux/types.h>
#include <asm/barrier.h>
#include <asm/processor.h>

#include "mpsc.h"
#include "qbench.h"

/*
 * Its own #includes are under __KERNEL__, and the kernel builds without
 * -Wextra: a few of its signed/unsigned comparisons and unused parameters
 * would warn here.
 */
#define __KERNEL__ 1
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include PTR_RING_H
#pragma GCC diagnostic pop
#undef __KERNEL__

const char qb_ptr_ring_h[] = PTR_RING_H;

const char *const qb_kind_name[QB_KINDS] = {
	[QB_MPSC] = "mpsc",
	[QB_MPSC_COUNTED] = "mpsc_counted",
	[QB_MPSC_BOUNDED] = "mpsc_bounded",
	[QB_SKBLIST] = "skblist",
	[QB_PTR_RING] = "ptr_ring",
};

/*
 * A producer publishes its count this often: one store to a line the
 * consumer reads once a batch, so that it can tell the batches in which
 * the producers were running (see consume()).
 */
#define QB_PROGRESS	64

/*
 * Polls of a waiting thread before it lets another of the run on its CPU
 * have it.  A thread with a CPU of its own never yields: on a shared host
 * sched_yield() can hand the CPU to someone else's process for a whole
 * time slice, which would then be measured as queue cost.
 */
#define QB_SPINS	32

/*
 * An sk_buff_head: the head aliases an skb's two links, so that the list
 * is circular through it and linking needs no special case.
 */
struct qb_skblist {
	struct sk_buff *next;
	struct sk_buff *prev;
	u32 qlen;
	spinlock_t lock;
};

/* A pool item: an skb at slab spacing. */
struct qb_item {
	struct sk_buff skb;
} __attribute__((__aligned__(64)));

/* What the producer leaves in ->cb, as the driver keeps its state there. */
struct qb_cb {
	/* Set by the producer, cleared by the consumer when done with it. */
	u32 in_flight;
	u32 producer;
	u64 seq;
	u64 header;
};
static_assert(sizeof(struct qb_cb) <= sizeof(((struct sk_buff *)0)->cb));

struct qb_producer {
	struct qb_item *pool;
	bool yield;
	/* Items enqueued, published every QB_PROGRESS for the consumer. */
	u64 progress;
	u64 full;
	u64 starved;
} __attribute__((__aligned__(64)));

struct qb_run {
	/*
	 * Each queue on lines of its own; only the run's kind is used.  The
	 * MPSC queue's producers' and consumer's halves are on two lines,
	 * as in a peer (src/peer.h).
	 */
	struct wg_mpsc_queue mpsc __attribute__((__aligned__(64)));
	struct qb_skblist list __attribute__((__aligned__(64)));
	struct ptr_ring ring;
	struct qb_producer prod[QB_MAX_PRODUCERS];
	enum qb_kind kind;
	unsigned int producers;
	u64 per_producer;
	u64 timeout_ns;
	bool consumer_yields;
	/* The consumer's batch times; per_producer * producers / QB_BATCH. */
	u64 *batch_ns;
	/* The start line: written once per run, read while waiting. */
	int ready __attribute__((__aligned__(64)));
	int go;
	int abort;
};

static u64 qb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + (u64)ts.tv_nsec;
}

static u64 qb_stamp(void)
{
#if defined(__x86_64__) || defined(__i386__)
	return __builtin_ia32_rdtsc();
#else
	return qb_now_ns();
#endif
}

/* One poll of a waiting thread: spin, and yield now and then if told. */
static void qb_wait(unsigned int *polls, bool yield)
{
	if (!yield || ++*polls % QB_SPINS)
		cpu_relax();
	else
		sched_yield();
}

static struct qb_cb *qb_cb(struct sk_buff *skb)
{
	return (struct qb_cb *)skb->cb;
}

/* What item @seq of producer @p carries: checked at the other end. */
static unsigned int qb_len(u64 seq)
{
	return 60 + seq % 1441;
}

static u64 qb_header(unsigned int p, u64 seq)
{
	return (seq * 0x9e3779b97f4a7c15ULL) ^ ((u64)p << 56) ^ 0x4;
}

static void skblist_init(struct qb_skblist *l)
{
	l->next = (struct sk_buff *)l;
	l->prev = (struct sk_buff *)l;
	l->qlen = 0;
	spin_lock_init(&l->lock);
}

static bool skblist_enqueue(struct qb_skblist *l, struct sk_buff *skb)
{
	struct sk_buff *last;

	/* Unlocked, like a driver checking skb_queue_len_lockless(). */
	if (READ_ONCE(l->qlen) >= QB_CAPACITY)
		return false;
	spin_lock(&l->lock);
	last = l->prev;
	skb->next = (struct sk_buff *)l;
	skb->prev = last;
	last->next = skb;
	l->prev = skb;
	WRITE_ONCE(l->qlen, l->qlen + 1);
	spin_unlock(&l->lock);
	return true;
}

static struct sk_buff *skblist_dequeue(struct qb_skblist *l)
{
	struct sk_buff *skb;

	spin_lock(&l->lock);
	skb = l->next;
	if (skb == (struct sk_buff *)l) {
		skb = NULL;
	} else {
		l->next = skb->next;
		skb->next->prev = (struct sk_buff *)l;
		WRITE_ONCE(l->qlen, l->qlen - 1);
		skb->next = NULL;
		skb->prev = NULL;
	}
	spin_unlock(&l->lock);
	return skb;
}

static __always_inline bool qb_enqueue(struct qb_run *run, enum qb_kind kind,
				       struct sk_buff *skb)
{
	switch (kind) {
	case QB_MPSC:
		wg_mpsc_enqueue(&run->mpsc.prod, skb);
		return true;
	case QB_MPSC_COUNTED:
		return wg_mpsc_enqueue_bounded(&run->mpsc.prod, skb,
					       UINT32_MAX);
	case QB_MPSC_BOUNDED:
		return wg_mpsc_enqueue_bounded(&run->mpsc.prod, skb,
					       QB_CAPACITY);
	case QB_SKBLIST:
		return skblist_enqueue(&run->list, skb);
	case QB_PTR_RING:
		return ptr_ring_produce(&run->ring, skb) == 0;
	default:
		abort();
	}
}

static __always_inline struct sk_buff *qb_dequeue(struct qb_run *run,
						  enum qb_kind kind)
{
	if (kind == QB_SKBLIST)
		return skblist_dequeue(&run->list);
	if (kind == QB_PTR_RING)
		return ptr_ring_consume(&run->ring);
	/* All three mpsc kinds dequeue alike. */
	return wg_mpsc_dequeue(&run->mpsc.prod, &run->mpsc.cons);
}

static bool qb_counted(enum qb_kind kind)
{
	return kind == QB_MPSC_COUNTED || kind == QB_MPSC_BOUNDED;
}

static __always_inline void produce(struct qb_run *run, enum qb_kind kind,
				    unsigned int index)
{
	struct qb_producer *p = &run->prod[index];
	u64 seq, full = 0, starved = 0;
	unsigned int polls = 0;

	__atomic_fetch_add(&run->ready, 1, __ATOMIC_RELEASE);
	while (!smp_load_acquire(&run->go))
		qb_wait(&polls, p->yield);
	for (seq = 0; seq < run->per_producer; seq++) {
		struct sk_buff *skb = &p->pool[seq % QB_POOL].skb;
		struct qb_cb *cb = qb_cb(skb);

		if (smp_load_acquire(&cb->in_flight)) {
			/* All of this producer's items are queued. */
			starved++;
			for (polls = 0; smp_load_acquire(&cb->in_flight); ) {
				qb_wait(&polls, p->yield);
				if (READ_ONCE(run->abort))
					goto out;
			}
		}
		cb->in_flight = 1;
		cb->producer = index;
		cb->seq = seq;
		cb->header = qb_header(index, seq);
		skb->len = qb_len(seq);
		skb->tstamp = qb_stamp();
		for (polls = 0; !qb_enqueue(run, kind, skb); ) {
			full++;
			qb_wait(&polls, p->yield);
			if (READ_ONCE(run->abort))
				goto out;
		}
		if (!((seq + 1) % QB_PROGRESS))
			WRITE_ONCE(p->progress, seq + 1);
	}
out:
	p->full = full;
	p->starved = starved;
}

/* Items checked at the consumer: FIFO per producer, nothing lost. */
static bool check(struct qb_run *run, struct sk_buff *skb, u64 *next_seq,
		  char *err, size_t errlen)
{
	struct qb_cb *cb = qb_cb(skb);
	unsigned int p = cb->producer;

	if (p >= run->producers) {
		snprintf(err, errlen, "an item of no producer (%u)", p);
		return false;
	}
	if (cb->seq != next_seq[p] || cb->header != qb_header(p, cb->seq) ||
	    skb->len != qb_len(cb->seq) || !skb->tstamp || skb->prev) {
		snprintf(err, errlen,
			 "producer %u: item %llu arrived where %llu was due, or altered",
			 p, (unsigned long long)cb->seq,
			 (unsigned long long)next_seq[p]);
		return false;
	}
	next_seq[p]++;
	return true;
}

/* What the producers have enqueued, to within QB_PROGRESS each. */
static u64 qb_progress(struct qb_run *run)
{
	u64 made = 0;
	unsigned int i;

	for (i = 0; i < run->producers; i++)
		made += READ_ONCE(run->prod[i].progress);
	return made;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return (x > y) - (x < y);
}

static __always_inline bool consume(struct qb_run *run, enum qb_kind kind,
				    struct qb_result *res, char *err,
				    size_t errlen)
{
	u64 total = run->per_producer * run->producers, got = 0, empty = 0;
	u64 next_seq[QB_MAX_PRODUCERS] = { 0 }, t0, tb, made_before = 0;
	unsigned int polls = 0, credits = 0, batches = 0;
	bool yield = run->consumer_yields;

	while (__atomic_load_n(&run->ready, __ATOMIC_ACQUIRE) <
	       (int)run->producers)
		qb_wait(&polls, yield);
	t0 = qb_now_ns();
	tb = t0;
	smp_store_release(&run->go, 1);
	polls = 0;
	while (got < total) {
		struct sk_buff *skb = qb_dequeue(run, kind);

		if (!skb) {
			/* An empty queue ends a batch (see mpsc.h). */
			if (qb_counted(kind) && credits) {
				wg_mpsc_consumed(&run->mpsc.prod, credits);
				credits = 0;
			}
			empty++;
			qb_wait(&polls, yield);
			if (!(empty % 4096) &&
			    qb_now_ns() - t0 > run->timeout_ns) {
				snprintf(err, errlen,
					 "timed out with %llu of %llu items",
					 (unsigned long long)got,
					 (unsigned long long)total);
				goto fail;
			}
			continue;
		}
		polls = 0;
		if (!check(run, skb, next_seq, err, errlen))
			goto fail;
		smp_store_release(&qb_cb(skb)->in_flight, 0);
		got++;
		if (qb_counted(kind) && ++credits == QB_CREDIT_BATCH) {
			wg_mpsc_consumed(&run->mpsc.prod, credits);
			credits = 0;
		}
		if (!(got % QB_BATCH)) {
			u64 t = qb_now_ns(), made = qb_progress(run);

			/*
			 * A batch in which the producers were not running
			 * (another process had their CPU) is the consumer
			 * draining a queue filled earlier, dequeue alone and
			 * far cheaper: not the steady state, left out.
			 */
			if (made - made_before >= QB_BATCH / 2)
				run->batch_ns[batches++] = t - tb;
			made_before = made;
			tb = t;
		}
	}
	res->ns = qb_now_ns() - t0;
	res->items = total;
	res->empty = empty;
	if (qb_counted(kind) && credits)
		wg_mpsc_consumed(&run->mpsc.prod, credits);
	/* Every credit is back: nothing may be left charged. */
	if (qb_counted(kind) && wg_mpsc_charged(&run->mpsc.prod)) {
		snprintf(err, errlen, "credits missing after the last item");
		goto fail;
	}
	if (batches) {
		qsort(run->batch_ns, batches, sizeof(u64), cmp_u64);
		res->batch_ns_per_item =
			(double)run->batch_ns[batches / 2] / QB_BATCH;
	} else {
		res->batch_ns_per_item = (double)res->ns / total;
	}
	return true;
fail:
	WRITE_ONCE(run->abort, 1);
	return false;
}

/*
 * Runs @stmt with k, the run's kind, a constant: the compiler then makes
 * a loop of its own for each queue, with its calls direct or inlined.
 */
#define KIND_CASE(kind, stmt) \
	case kind: { const enum qb_kind k = kind; stmt; }
#define FOR_THE_KIND(kind, stmt)					\
	do {								\
		switch (kind) {						\
		KIND_CASE(QB_MPSC, stmt)				\
		KIND_CASE(QB_MPSC_COUNTED, stmt)			\
		KIND_CASE(QB_MPSC_BOUNDED, stmt)			\
		KIND_CASE(QB_SKBLIST, stmt)				\
		KIND_CASE(QB_PTR_RING, stmt)				\
		default:						\
			abort();					\
		}							\
	} while (0)

void qb_produce(struct qb_run *run, unsigned int index)
{
	FOR_THE_KIND(run->kind, produce(run, k, index); return);
}

bool qb_consume(struct qb_run *run, struct qb_result *res, char *err,
		size_t errlen)
{
	FOR_THE_KIND(run->kind, return consume(run, k, res, err, errlen));
}

void qb_collect(const struct qb_run *run, struct qb_result *res)
{
	unsigned int i;

	res->full = 0;
	res->starved = 0;
	for (i = 0; i < run->producers; i++) {
		res->full += run->prod[i].full;
		res->starved += run->prod[i].starved;
	}
}

struct qb_run *qb_run_new(enum qb_kind kind, unsigned int producers,
			  uint64_t per_producer, uint64_t timeout_ns,
			  unsigned int yielders)
{
	struct qb_run *run;
	unsigned int i;

	if (!producers || producers > QB_MAX_PRODUCERS)
		return NULL;
	run = aligned_alloc(64, sizeof(*run));
	if (!run)
		return NULL;
	memset(run, 0, sizeof(*run));
	run->kind = kind;
	run->producers = producers;
	run->per_producer = per_producer;
	run->timeout_ns = timeout_ns;
	run->consumer_yields = yielders & 1;
	run->batch_ns = calloc(per_producer * producers / QB_BATCH + 1,
			       sizeof(u64));
	if (!run->batch_ns)
		goto fail;
	wg_mpsc_init(&run->mpsc.prod, &run->mpsc.cons);
	skblist_init(&run->list);
	if (ptr_ring_init(&run->ring, QB_CAPACITY, GFP_KERNEL))
		goto fail;
	for (i = 0; i < producers; i++) {
		struct qb_item *pool;

		pool = aligned_alloc(64, QB_POOL * sizeof(*pool));
		if (!pool)
			goto fail;
		/* Touched now, so that no run times page faults. */
		memset(pool, 0, QB_POOL * sizeof(*pool));
		run->prod[i].pool = pool;
		run->prod[i].yield = yielders & (2u << i);
	}
	return run;
fail:
	qb_run_free(run);
	return NULL;
}

void qb_run_free(struct qb_run *run)
{
	unsigned int i;

	if (!run)
		return;
	for (i = 0; i < QB_MAX_PRODUCERS; i++)
		free(run->prod[i].pool);
	free(run->batch_ns);
	/* The items are the pools': nothing in the ring to destroy. */
	ptr_ring_cleanup(&run->ring, NULL);
	free(run);
}
