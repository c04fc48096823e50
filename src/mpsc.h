/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The per-peer packet queues of the data path: intrusive FIFOs of sk_buffs
 * with any number of producers and one consumer, after Dmitry Vyukov's
 * node-based MPSC queue, plus a soft bound on what a peer may have queued.
 * mpsc.c explains the ordering and the bound.  Self-contained: it knows
 * sk_buffs, atomics and barriers, nothing of peers or devices, so that it
 * can be tested alone (selftest/mpsc.c, at load in debug builds).
 *
 * Contract, in short:
 *  - producers may run anywhere, concurrently; they never block or loop;
 *  - one consumer at a time per queue: the runner of the peer's stage
 *    for it (stage.h: a producer, a crypto worker or the peer's work);
 *  - every producer asks for a run of the consumer after its enqueue
 *    returns, and a consumer that stops before dequeue returns NULL
 *    (budget spent, no keypair yet) arranges its own next run: then
 *    nothing is stranded;
 *  - the queue is serializable but not linearizable: the consumer may see
 *    it empty, or cut short, while a producer is between its two steps;
 *  - the queue links through skb->prev and only through it: ->next stays
 *    the caller's, e.g. the segment list of a GSO skb.  Enqueue overwrites
 *    ->prev (skb_segment() leaves the list's tail there); dequeue hands the
 *    skb back with ->prev NULL.  A peeked skb is still queued: leave its
 *    ->prev alone.
 *
 * Lifetime: wg_mpsc_init() before the queue is reachable by any producer
 * (before the peer is published).  The queue holds no reference and
 * allocates nothing; whoever tears it down first stops the producers, then
 * dequeues and frees what is left.
 */
#ifndef _WG_MPSC_H
#define _WG_MPSC_H

#include <linux/atomic.h>
#include <linux/cache.h>
#include <linux/compiler.h>
#include <linux/skbuff.h>
#include <linux/types.h>

/*
 * The algorithm keeps one node in the queue at all times, the stub, which
 * carries no packet.  A whole sk_buff would cost over 200 bytes per queue,
 * so the stub is just the two pointers at the offsets sk_buff has them, and
 * its address is used as a struct sk_buff *.  Only ->prev is accessed
 * through that pointer; ->next only places ->prev (mpsc.c asserts the
 * offsets).
 */
struct wg_mpsc_stub {
	struct sk_buff *next;
	struct sk_buff *prev;
};

/*
 * A queue comes in two halves, one per kind of writer, so that each can
 * sit on a cache line of its own: an enqueue then writes only the
 * producers' line and a dequeue only the consumer's, and neither takes
 * the other's line away on every packet.  Nodes are linked oldest to
 * newest: node->prev is the node enqueued after it.
 *
 * The producers' half, 16 bytes on 64-bit: every enqueue writes it.
 */
struct wg_mpsc_prod {
	/* The newest node; every producer exchanges it. */
	struct sk_buff *head;
	/* Packets charged by admitted enqueues, mod 2^32; producers add. */
	atomic_t enqueued;
	/*
	 * Credits the consumer returned, mod 2^32; only it writes them,
	 * once per batch.  Every bounded enqueue reads them, so they live
	 * here: on the consumer's line, written at every dequeue, that read
	 * would fetch the line back from the consumer once per packet.
	 */
	u32 consumed;
};

/*
 * The consumer's half, 24 bytes on 64-bit: each dequeue writes the tail.
 * Producers write here only to link a node behind the stub, when the
 * queue was empty.
 */
struct wg_mpsc_cons {
	/* The oldest node (maybe the stub); the consumer's alone. */
	struct sk_buff *tail;
	struct wg_mpsc_stub stub;
};

/*
 * A queue on its own, both halves on lines of their own: for users with
 * a single queue (the self-test, the benchmarks).  The peer places the
 * halves of its two queues itself (peer.h).
 */
struct wg_mpsc_queue {
	struct wg_mpsc_prod prod ____cacheline_aligned_in_smp;
	struct wg_mpsc_cons cons ____cacheline_aligned_in_smp;
};

/*
 * Before the queue is reachable by any producer.  Whatever takes both
 * halves must be given the two that were initialized together here.
 */
void wg_mpsc_init(struct wg_mpsc_prod *prod, struct wg_mpsc_cons *cons);

/*
 * Multi-producer: any context, concurrently with other producers and the
 * consumer.  Unbounded and uncounted: a queue is either fed only by this
 * or only by wg_mpsc_enqueue_bounded(), never both.
 */
void wg_mpsc_enqueue(struct wg_mpsc_prod *prod, struct sk_buff *skb);

/*
 * Multi-producer.  Enqueues @skb, charged @n packets (the segments of a
 * GSO node), and returns true unless that would take the charge past
 * @bound: then returns false and @skb is still the caller's (to drop and
 * count).  An empty queue takes any @n, so a node bigger than the bound
 * still gets through.  Soft: see mpsc.c.  A bound of UINT_MAX counts
 * without ever refusing.
 */
bool __must_check wg_mpsc_enqueue_charged(struct wg_mpsc_prod *prod,
					  struct sk_buff *skb, unsigned int n,
					  unsigned int bound);

/*
 * Any context: whether a bounded queue holds packets not yet credited
 * back.  A snapshot, stale as soon as it is taken: for choices that are
 * right either way, like sending a keepalive or not.
 */
static inline bool wg_mpsc_charged(struct wg_mpsc_prod *prod)
{
	/* No ordering: any answer is a right one for a snapshot. */
	return (u32)atomic_read(&prod->enqueued) != READ_ONCE(prod->consumed);
}

/* Multi-producer.  wg_mpsc_enqueue_charged() for one packet. */
static inline bool __must_check
wg_mpsc_enqueue_bounded(struct wg_mpsc_prod *prod, struct sk_buff *skb,
			unsigned int bound)
{
	return wg_mpsc_enqueue_charged(prod, skb, 1, bound);
}

/*
 * Single consumer.  The oldest skb, removed, or NULL when the queue is
 * empty or a producer is between its exchange and its link.  It writes
 * the producers' half only when it takes the last node (mpsc.c: the stub).
 */
struct sk_buff *wg_mpsc_dequeue(struct wg_mpsc_prod *prod,
				struct wg_mpsc_cons *cons);

/*
 * Single consumer.  What wg_mpsc_dequeue() would return, left in place;
 * when it is not NULL, the next dequeue returns that very skb.
 */
struct sk_buff *wg_mpsc_peek(struct wg_mpsc_prod *prod,
			     struct wg_mpsc_cons *cons);

/*
 * Single consumer.  Returns @n credits of a bounded queue, what the skbs
 * it has dequeued were charged (whatever became of them): once per batch,
 * not per packet, since it writes the producers' half.  No credits, no
 * write.
 */
void wg_mpsc_consumed(struct wg_mpsc_prod *prod, unsigned int n);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_mpsc_selftest(void);
#endif

#endif /* _WG_MPSC_H */
