// SPDX-License-Identifier: GPL-2.0
/*
 * The per-peer MPSC queue, after Dmitry Vyukov's intrusive node-based
 * queue, with skb->prev as the link and a stub node that is never handed
 * out.
 *
 * The list runs from the consumer's tail (oldest) to the producers' head
 * (newest); node->prev points at the next newer node.  A producer enqueues
 * in two steps:
 *   1. it exchanges the head for its node: from here on the node has its
 *      place in the order, and the previous head is known only to it;
 *   2. it stores the link, prev->prev = node.
 * The consumer only follows links.  A node whose link is not yet stored
 * is therefore a gap in the chain: the consumer cannot see past it.
 *
 * Not linearizable.  Let producer A do step 1 and be interrupted (an IRQ,
 * a preempted vCPU) before step 2, and let B and C then enqueue completely.
 * B and C have returned, yet the consumer cannot reach them: their nodes
 * hang behind A's missing link.  Worse, the consumer cannot take even the
 * node before the gap (possibly one enqueued long before A), since taking
 * a node means moving the tail to its successor, which it cannot know yet.
 * So while A is in that window, wg_mpsc_dequeue() and wg_mpsc_peek()
 * return NULL although enqueues have completed, and a queue that already
 * had packets may look empty.  Once A stores its link, everything appears,
 * in exchange order.  The queue is serializable (there is one total order,
 * the order of the exchanges, consistent with each producer's program
 * order, and every dequeue follows it) but an enqueue that has returned is
 * not guaranteed to be visible to the next dequeue.
 *
 * Why nothing is stranded: every producer asks for a run of the consumer
 * after its enqueue is complete, i.e. after its link store, with
 * wg_peer_run_stage(): it runs the consumer itself, or the consumer that
 * is running then runs once more (stage.c), so a run of the consumer
 * begins after the latest completed enqueue.  That run drains
 * until dequeue returns NULL.  If it stops short of the latest node, it
 * stopped at a gap, and the producer owning that gap had not finished:
 * that producer asks for a run when it does, after its link, and the
 * consumer runs again then.  Each gap is closed by a producer that asks
 * afterwards, so the last run sees every completed enqueue.  The
 * consumer's side of the bargain: when it stops for any other reason than
 * a NULL dequeue, it must arrange its next run or know who will.
 *
 * Ordering:
 *  - a producer's writes to its skb, and the NULL in skb->prev, are made
 *    before the exchange, which is a release: whoever gets the node from
 *    the head next (another producer, by its own exchange) stores its link
 *    into skb->prev through an address that depends on that exchange, so
 *    the link lands after the NULL and is never overwritten by it;
 *  - the link is a store-release and the consumer reads links with
 *    load-acquire, so everything a producer wrote to its skb before
 *    enqueuing is visible to the consumer that found the skb by its link.
 *    Every node the consumer touches was reached that way;
 *  - only the producer that got a node from its exchange ever writes that
 *    node's ->prev, once.  The consumer takes a node only after seeing that
 *    write, so a dequeued skb is the caller's alone, ->prev included.
 *
 * The stub: the algorithm needs a node that stays when the last packet is
 * taken, because the tail must point at something the next producer can
 * link to.  The consumer re-enqueues the stub, as a producer would, when it
 * is about to take the only node left, and steps over it when it comes back
 * to the tail.  The stub is re-enqueued only when the tail is the head and
 * is not the stub, so it is never in the list twice.
 *
 * Who writes what (mpsc.h: the two halves, each on its own cache line in
 * a peer): a producer writes the producers' half (its exchange of the
 * head, its charge) and the node it links to, which is another packet or,
 * on an empty queue, the stub in the consumer's half.  The consumer
 * writes its half (the tail) at every dequeue; it reads the producers'
 * half only at the last linked node, and writes it only to re-enqueue the
 * stub there and to return credits once per batch.  So while the queue
 * holds more than one node, producers and consumer share no line but the
 * packets'.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/stddef.h>
#include <asm/barrier.h>

#include "mpsc.h"

/* The stub must alias an sk_buff's link fields exactly (see mpsc.h). */
static_assert(offsetof(struct wg_mpsc_stub, next) ==
	      offsetof(struct sk_buff, next));
static_assert(offsetof(struct wg_mpsc_stub, prev) ==
	      offsetof(struct sk_buff, prev));
static_assert(__same_type(((struct wg_mpsc_stub *)NULL)->prev,
			  ((struct sk_buff *)NULL)->prev));
static_assert(sizeof(struct wg_mpsc_stub) <= sizeof(struct sk_buff));
/* Two of each per peer within the data path's share of its budget. */
static_assert(sizeof(struct wg_mpsc_prod) <= 16);
static_assert(sizeof(struct wg_mpsc_cons) <= 24);

/* The stub as a node.  Only its ->prev is ever accessed through this. */
static struct sk_buff *mpsc_stub(struct wg_mpsc_cons *cons)
{
	return (struct sk_buff *)&cons->stub;
}

void wg_mpsc_init(struct wg_mpsc_prod *prod, struct wg_mpsc_cons *cons)
{
	cons->stub.next = NULL;
	cons->stub.prev = NULL;
	cons->tail = mpsc_stub(cons);
	prod->head = mpsc_stub(cons);
	atomic_set(&prod->enqueued, 0);
	prod->consumed = 0;
}

/*
 * Multi-producer: one exchange and one store, no loop, no lock, so it is
 * safe in any context.  A producer interrupted between the two steps by
 * another on the same CPU is fine: the gap lasts until it resumes.
 */
void wg_mpsc_enqueue(struct wg_mpsc_prod *prod, struct sk_buff *skb)
{
	struct sk_buff *prev;

	/* Not reachable by anyone until the exchange publishes it. */
	skb->prev = NULL;
	prev = xchg_release(&prod->head, skb);
	/*
	 * Release: the skb's contents before the link (see above).  @prev
	 * cannot be dequeued before this store: the consumer does not take a
	 * node whose successor is unknown.
	 */
	smp_store_release(&prev->prev, skb);
}

/*
 * The bound.  The obvious version, an atomic_add_unless() on a counter per
 * enqueue and an atomic_dec() per dequeue, puts a compare-and-swap loop on
 * every producer and a locked read-modify-write on every packet of the
 * consumer, all on one contended line.  Instead:
 *
 *  - two counters, each with a single kind of writer: producers add to
 *    @enqueued; the consumer adds to @consumed once per batch with a plain
 *    store-release, no atomic read-modify-write at all.  What is charged
 *    is their difference mod 2^32.  Both are in the producers' half, which
 *    producers write anyway: the consumer takes that line once per batch,
 *    not once per packet;
 *  - a producer checks, then adds with a non-returning atomic_add(): no
 *    compare-and-swap, no retry.  Check and add are not one step, so
 *    producers racing at the limit may all pass: the charge can reach
 *    bound - 1 + P * N, P being the producers between their check and
 *    their add at once and N the most one of them charges (a GSO node's
 *    segments).  Producers on the transmit and receive paths run with BH
 *    disabled, so there P <= nr_cpu_ids (a preemptible producer adds one
 *    more): e.g. at most 1,087 datagrams on a 64-CPU machine for a bound
 *    of 1,024.  The bound caps memory, not a protocol quantity, so a few
 *    packets over are harmless;
 *  - the charge is in packets, not queue nodes: a GSO node carries its
 *    segments, up to 64 KiB of them, and a bound on nodes would let a
 *    peer hold 64 times what it says;
 *  - credits come back per batch, after the consumer is done with the
 *    packets, so what is charged includes packets the consumer holds; the
 *    lag only makes the bound stricter, never looser.
 *
 * Reading @consumed (acquire) before @enqueued keeps the difference from
 * going negative: every credit the consumer returned is for a packet whose
 * charge came before its enqueue's release link, which the consumer
 * acquired before its release of the credit, so a producer that sees the
 * credit sees the charge too.  The charge comes before the enqueue for the
 * same reason: a packet is never credited before it is charged.
 */
bool wg_mpsc_enqueue_charged(struct wg_mpsc_prod *prod, struct sk_buff *skb,
			     unsigned int n, unsigned int bound)
{
	/* Acquire, against wg_mpsc_consumed(): see above. */
	u32 consumed = smp_load_acquire(&prod->consumed);
	u32 charged = (u32)atomic_read(&prod->enqueued) - consumed;

	if (charged && (charged >= bound || n > bound - charged))
		return false;
	atomic_add(n, &prod->enqueued);
	wg_mpsc_enqueue(prod, skb);
	return true;
}

/* The link out of @skb, or NULL while there is none. */
static struct sk_buff *mpsc_next(struct sk_buff *skb)
{
	/*
	 * Acquire, against the producer's store-release of the link: what
	 * it wrote into the skb it linked is visible once the link is.
	 */
	return smp_load_acquire(&skb->prev);
}

/*
 * Single consumer: the oldest node that can be taken, with its successor
 * in *@next, or NULL.  Moves the tail past the stub and may re-enqueue the
 * stub, neither of which changes what the queue holds.
 */
static struct sk_buff *mpsc_first(struct wg_mpsc_prod *prod,
				  struct wg_mpsc_cons *cons,
				  struct sk_buff **next)
{
	struct sk_buff *stub = mpsc_stub(cons);
	struct sk_buff *tail = cons->tail;
	struct sk_buff *succ = mpsc_next(tail);

	if (tail == stub) {
		/* Empty, or the first producer is between its two steps. */
		if (!succ)
			return NULL;
		cons->tail = succ;
		tail = succ;
		succ = mpsc_next(tail);
	}
	if (!succ) {
		/*
		 * @tail is the last linked node.  If it is not the head, a
		 * producer has exchanged past it without linking yet: the
		 * gap.  Re-enqueuing the stub then would put it in the list
		 * twice if it is there already.
		 */
		if (tail != READ_ONCE(prod->head))
			return NULL;
		/* The last node: put the stub behind it, then take it. */
		wg_mpsc_enqueue(prod, stub);
		succ = mpsc_next(tail);
		/* A producer exchanged before the stub and is linking. */
		if (!succ)
			return NULL;
	}
	*next = succ;
	return tail;
}

struct sk_buff *wg_mpsc_dequeue(struct wg_mpsc_prod *prod,
				struct wg_mpsc_cons *cons)
{
	struct sk_buff *skb, *next;

	skb = mpsc_first(prod, cons, &next);
	if (!skb)
		return NULL;
	cons->tail = next;
	/*
	 * Nobody writes skb->prev any more (its one link is stored).  Clear
	 * it so that no pointer into the queue, maybe to the stub inside the
	 * peer, leaves with the packet.
	 */
	skb->prev = NULL;
	return skb;
}

struct sk_buff *wg_mpsc_peek(struct wg_mpsc_prod *prod,
			     struct wg_mpsc_cons *cons)
{
	struct sk_buff *next;

	/*
	 * Only the consumer moves the tail, and a node is returned only once
	 * its successor is known, so the next dequeue returns the same skb.
	 */
	return mpsc_first(prod, cons, &next);
}

void wg_mpsc_consumed(struct wg_mpsc_prod *prod, unsigned int n)
{
	/* Even a store of the same value would take the producers' line. */
	if (!n)
		return;
	/*
	 * Its only writer: a plain read of it is exact.  Release, against
	 * wg_mpsc_enqueue_charged(): see there.
	 */
	smp_store_release(&prod->consumed, prod->consumed + n);
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/mpsc.c"
#endif
