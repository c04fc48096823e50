// SPDX-License-Identifier: GPL-2.0
/*
 * MPSC queue self-tests, run at module load in debug builds; included at
 * the bottom of src/mpsc.c.
 *
 * Two parts: single-threaded cases, including a producer stopped between
 * its exchange and its link (done by hand, as the window is otherwise too
 * narrow to hit on purpose), and a concurrent run: one producer kthread per
 * online CPU plus one, each bound to a CPU, feed one queue while a consumer
 * kthread drains it; once with the raw enqueue, the tightest loop and so
 * the most contention, and once bounded, returning credits per batch.  The
 * consumer sleeps whenever the queue looks empty and is woken only the way
 * the data path's work item is queued: by each producer after each
 * enqueue, with a pending bit.  So the run checks that every packet comes
 * out exactly once and in its producer's order, that nothing is stranded,
 * and that no batch exceeds the soft bound.
 *
 * The packets are real sk_buffs, alloc_skb(0), tagged in skb->cb.  Each
 * producer has a pool of them and reuses one as soon as the consumer hands
 * it back, which also checks that a dequeued skb is free of the queue.
 */
#include "mpsc.h"

#include <linux/bitops.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/wait.h>

#define fail(fmt, ...) \
	pr_err("mpsc self-test: " fmt "\n", ##__VA_ARGS__)

enum {
	QTEST_MAGIC = 0x51756575,
	/* The single-threaded cases' packets. */
	QTEST_SKBS = 8,
	/*
	 * Items of one run, shared among the producers: both runs take well
	 * under a second in a TCG guest of 2 or 4 vCPUs.
	 */
	QTEST_ITEMS = 80000,
	QTEST_MIN_PRODUCERS = 2,
	QTEST_MAX_PRODUCERS = 8,
	/* Packets of each producer, reused: more than a bound's worth. */
	QTEST_POOL = 512,
	/* Without a wake-up for this long, packets count as stranded. */
	QTEST_STALL_MS = 5000,
	/* A run still going after this long has lost packets or credits. */
	QTEST_DEADLINE_S = 20,
	/* The consumer's pending bit, as WORK_STRUCT_PENDING for a work. */
	QTEST_KICKED = 0,
};

struct qtest_tag {
	u32 magic;
	u32 producer;
	u32 seq;
	/* Set by the producer, cleared by the consumer when done with it. */
	u32 queued;
};

static struct qtest_tag *qtest_tag(struct sk_buff *skb)
{
	BUILD_BUG_ON(sizeof(struct qtest_tag) > sizeof_field(struct sk_buff, cb));
	return (struct qtest_tag *)skb->cb;
}

/* --- single-threaded cases ------------------------------------------- */

/* True when @cond holds; otherwise says where and what, and is false. */
#define expect(cond, fmt, ...) ({					\
		bool __ok = !!(cond);					\
									\
		if (!__ok)						\
			fail("%s: " fmt, __func__, ##__VA_ARGS__);	\
		__ok;							\
	})

/* The consumer's calls on a queue of the tests' own, both halves. */
static struct sk_buff *qtest_dequeue(struct wg_mpsc_queue *q)
{
	return wg_mpsc_dequeue(&q->prod, &q->cons);
}

static struct sk_buff *qtest_peek(struct wg_mpsc_queue *q)
{
	return wg_mpsc_peek(&q->prod, &q->cons);
}

/* Dequeue must give @want, and give it with ->prev cleared. */
static bool qtest_take(struct wg_mpsc_queue *q, struct sk_buff *want,
		       const char *what)
{
	struct sk_buff *skb = qtest_dequeue(q);

	if (skb != want) {
		fail("%s: dequeued %p, wanted %p", what, skb, want);
		return false;
	}
	if (skb && skb->prev) {
		fail("%s: dequeued skb keeps ->prev", what);
		return false;
	}
	return true;
}

static bool case_empty(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	if (!expect(!qtest_dequeue(q), "dequeue of a new queue"))
		return false;
	if (!expect(!qtest_peek(q), "peek of a new queue"))
		return false;
	if (!expect(!qtest_dequeue(q), "second dequeue of a new queue"))
		return false;
	return true;
}

static bool case_peek(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	wg_mpsc_enqueue(&q->prod, s[0]);
	if (!expect(qtest_peek(q) == s[0], "peek of one"))
		return false;
	if (!expect(qtest_peek(q) == s[0], "second peek of one"))
		return false;
	wg_mpsc_enqueue(&q->prod, s[1]);
	if (!expect(qtest_peek(q) == s[0], "peek of two"))
		return false;
	if (!qtest_take(q, s[0], "after peeks") ||
	    !qtest_take(q, s[1], "after peeks"))
		return false;
	if (!expect(!qtest_peek(q), "peek of an emptied queue"))
		return false;
	return qtest_take(q, NULL, "emptied");
}

static bool case_fifo(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	unsigned int i, round;

	for (i = 0; i < QTEST_SKBS; i++)
		wg_mpsc_enqueue(&q->prod, s[i]);
	for (i = 0; i < QTEST_SKBS; i++)
		if (!qtest_take(q, s[i], "fifo"))
			return false;
	if (!qtest_take(q, NULL, "fifo drained"))
		return false;

	/* Interleaved, and through empty often: the stub goes round. */
	for (round = 0; round < 3; round++) {
		wg_mpsc_enqueue(&q->prod, s[0]);
		wg_mpsc_enqueue(&q->prod, s[1]);
		if (!qtest_take(q, s[0], "interleaved"))
			return false;
		wg_mpsc_enqueue(&q->prod, s[2]);
		if (!expect(qtest_peek(q) == s[1], "interleaved peek"))
			return false;
		if (!qtest_take(q, s[1], "interleaved") ||
		    !qtest_take(q, s[2], "interleaved") ||
		    !qtest_take(q, NULL, "interleaved"))
			return false;
		wg_mpsc_enqueue(&q->prod, s[3]);
		if (!qtest_take(q, s[3], "one at a time") ||
		    !qtest_take(q, NULL, "one at a time"))
			return false;
	}
	return true;
}

static bool bound_steps(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	const unsigned int bound = 4;
	unsigned int i;

	for (i = 0; i < bound; i++) {
		if (!expect(wg_mpsc_enqueue_bounded(&q->prod, s[i], bound),
			    "refused #%u below the bound", i))
			return false;
	}
	if (!expect(!wg_mpsc_enqueue_bounded(&q->prod, s[4], bound),
		    "accepted at the bound"))
		return false;
	/* Refused means not enqueued: s[4] must not come out. */
	if (!qtest_take(q, s[0], "bound") || !qtest_take(q, s[1], "bound"))
		return false;
	/* Dequeued but not credited: still charged. */
	if (!expect(!wg_mpsc_enqueue_bounded(&q->prod, s[4], bound),
		    "accepted before credits came back"))
		return false;
	wg_mpsc_consumed(&q->prod, 2);
	if (!expect(wg_mpsc_enqueue_bounded(&q->prod, s[4], bound) &&
		    wg_mpsc_enqueue_bounded(&q->prod, s[5], bound),
		    "refused after credits"))
		return false;
	if (!expect(!wg_mpsc_enqueue_bounded(&q->prod, s[6], bound),
		    "accepted over the bound after credits"))
		return false;
	for (i = 2; i < 6; i++) {
		if (!qtest_take(q, s[i], "bound drain"))
			return false;
	}
	if (!qtest_take(q, NULL, "bound drained"))
		return false;
	wg_mpsc_consumed(&q->prod, 4);
	if (!expect(wg_mpsc_enqueue_bounded(&q->prod, s[6], UINT_MAX),
		    "refused under UINT_MAX"))
		return false;
	if (!qtest_take(q, s[6], "unbounded"))
		return false;
	wg_mpsc_consumed(&q->prod, 1);
	return true;
}

static bool case_bound(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	return bound_steps(q, s);
}

/* The same, with both counters about to wrap around 2^32. */
static bool case_bound_wrap(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	atomic_set(&q->prod.enqueued, -3);
	q->prod.consumed = (u32)-3;
	if (!bound_steps(q, s))
		return false;
	if (!expect((u32)atomic_read(&q->prod.enqueued) == q->prod.consumed &&
		    q->prod.consumed < 16, "counters did not wrap: %u %u",
		    (u32)atomic_read(&q->prod.enqueued), q->prod.consumed))
		return false;
	return true;
}

/*
 * Charges in packets: a node of several segments takes as many from the
 * bound, which refuses what would go past it, except on an empty queue.
 */
static bool case_charged(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	const unsigned int bound = 8;

	if (!expect(wg_mpsc_enqueue_charged(&q->prod, s[0], 20, bound),
		    "an empty queue refused a node bigger than the bound") ||
	    !expect(!wg_mpsc_enqueue_charged(&q->prod, s[1], 1, bound),
		    "accepted with the charge past the bound") ||
	    !qtest_take(q, s[0], "charged") || !qtest_take(q, NULL, "charged"))
		return false;
	wg_mpsc_consumed(&q->prod, 20);
	if (!expect(wg_mpsc_enqueue_charged(&q->prod, s[1], 5, bound),
		    "refused 5 of 8") ||
	    !expect(!wg_mpsc_enqueue_charged(&q->prod, s[2], 4, bound),
		    "accepted 4 more than 5 of 8") ||
	    !expect(wg_mpsc_enqueue_charged(&q->prod, s[2], 3, bound),
		    "refused 3 more than 5 of 8") ||
	    !expect(!wg_mpsc_enqueue_charged(&q->prod, s[3], 1, bound),
		    "accepted one more at the bound"))
		return false;
	if (!qtest_take(q, s[1], "charged") || !qtest_take(q, s[2], "charged") ||
	    !qtest_take(q, NULL, "charged"))
		return false;
	wg_mpsc_consumed(&q->prod, 0);
	if (!expect(wg_mpsc_charged(&q->prod), "no credits took the charge"))
		return false;
	wg_mpsc_consumed(&q->prod, 8);
	return expect((u32)atomic_read(&q->prod.enqueued) == q->prod.consumed,
		      "charges %u and credits %u differ",
		      (u32)atomic_read(&q->prod.enqueued), q->prod.consumed);
}

/* A GSO skb: its segments hang off ->next, its tail sits in ->prev. */
static bool case_segments(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	struct sk_buff *gso = s[0];
	unsigned int round;
	bool ok = true;

	gso->next = s[1];
	s[1]->next = s[2];
	s[2]->next = NULL;
	for (round = 0; round < 2 && ok; round++) {
		gso->prev = s[2];
		wg_mpsc_enqueue(&q->prod, gso);
		/* Round 0 with a packet behind, round 1 alone (stub path). */
		if (!round)
			wg_mpsc_enqueue(&q->prod, s[3]);
		ok = qtest_take(q, gso, "segments");
		if (ok && (gso->next != s[1] || s[1]->next != s[2] ||
			   s[2]->next)) {
			fail("%s: segment chain changed (round %u)",
			     __func__, round);
			ok = false;
		}
		if (ok && !round)
			ok = qtest_take(q, s[3], "behind segments") &&
			     !s[3]->next;
		if (ok)
			ok = qtest_take(q, NULL, "segments drained");
	}
	gso->next = NULL;
	s[1]->next = NULL;
	return ok;
}

/* A producer's first step without its second, as if preempted there. */
static struct sk_buff *half_enqueue(struct wg_mpsc_queue *q,
				    struct sk_buff *skb)
{
	skb->prev = NULL;
	return xchg(&q->prod.head, skb);
}

static void finish_enqueue(struct sk_buff *prev, struct sk_buff *skb)
{
	/* The producer's second step, a release as in wg_mpsc_enqueue(). */
	smp_store_release(&prev->prev, skb);
}

/* The consumer may look as often as it likes while the gap is open. */
static bool see_nothing(struct wg_mpsc_queue *q, const char *what)
{
	unsigned int i;

	for (i = 0; i < 3; i++) {
		if (qtest_peek(q) || qtest_dequeue(q)) {
			fail("in-flight: %s: saw a packet past the gap", what);
			return false;
		}
	}
	return true;
}

static bool case_in_flight(struct wg_mpsc_queue *q, struct sk_buff **s)
{
	struct sk_buff *prev;

	/* Gap after a complete packet: both it and later ones are held. */
	wg_mpsc_enqueue(&q->prod, s[0]);
	prev = half_enqueue(q, s[1]);
	if (!expect(prev == s[0], "exchange gave %p, not the head", prev))
		return false;
	wg_mpsc_enqueue(&q->prod, s[2]);
	wg_mpsc_enqueue(&q->prod, s[3]);
	if (!see_nothing(q, "after one"))
		return false;
	finish_enqueue(prev, s[1]);
	if (!qtest_take(q, s[0], "gap closed"))
		return false;
	/* A second gap behind what is left, with the consumer mid-way. */
	prev = half_enqueue(q, s[4]);
	wg_mpsc_enqueue(&q->prod, s[5]);
	if (!qtest_take(q, s[1], "second gap") ||
	    !qtest_take(q, s[2], "second gap"))
		return false;
	if (!see_nothing(q, "second gap"))
		return false;
	finish_enqueue(prev, s[4]);
	if (!qtest_take(q, s[3], "second gap closed") ||
	    !qtest_take(q, s[4], "second gap closed") ||
	    !qtest_take(q, s[5], "second gap closed") ||
	    !qtest_take(q, NULL, "second gap drained"))
		return false;

	/* Gap on an empty queue, i.e. after the stub. */
	prev = half_enqueue(q, s[6]);
	wg_mpsc_enqueue(&q->prod, s[7]);
	if (!see_nothing(q, "on empty"))
		return false;
	finish_enqueue(prev, s[6]);
	return qtest_take(q, s[6], "empty gap closed") &&
	       qtest_take(q, s[7], "empty gap closed") &&
	       qtest_take(q, NULL, "empty gap drained");
}

#define QTEST_CASE(c) { #c, c }

static const struct qtest_case {
	const char *name;
	bool (*run)(struct wg_mpsc_queue *q, struct sk_buff **s);
} qtest_cases[] = {
	QTEST_CASE(case_empty), QTEST_CASE(case_peek), QTEST_CASE(case_fifo),
	QTEST_CASE(case_bound), QTEST_CASE(case_bound_wrap),
	QTEST_CASE(case_charged), QTEST_CASE(case_segments), QTEST_CASE(case_in_flight),
};

static bool run_cases(void)
{
	struct sk_buff *s[QTEST_SKBS] = { };
	struct wg_mpsc_queue q;
	unsigned int i;
	bool ok = true;

	for (i = 0; i < QTEST_SKBS && ok; i++) {
		s[i] = alloc_skb(0, GFP_KERNEL);
		if (!s[i]) {
			fail("no memory");
			ok = false;
		}
	}
	for (i = 0; i < ARRAY_SIZE(qtest_cases) && ok; i++) {
		wg_mpsc_init(&q.prod, &q.cons);
		ok = qtest_cases[i].run(&q, s);
		if (!ok)
			fail("case %s", qtest_cases[i].name);
	}
	/* A failed case may leave packets queued: the queue dies here. */
	for (i = 0; i < QTEST_SKBS; i++) {
		if (s[i]) {
			s[i]->next = NULL;
			s[i]->prev = NULL;
			consume_skb(s[i]);
		}
	}
	return ok;
}

/* --- the concurrent run ---------------------------------------------- */

struct qtest_run;

struct qtest_thread {
	struct qtest_run *run;
	struct task_struct *task;
	unsigned int id;
	/* A producer's packets, reused round robin once the consumer is done. */
	struct sk_buff *pool[QTEST_POOL];
};

struct qtest_run {
	struct wg_mpsc_queue queue;
	unsigned int producers, items;
	/* 0: wg_mpsc_enqueue(), uncounted. */
	unsigned int bound;
	struct completion started;
	wait_queue_head_t go_wait, kick_wait;
	bool go, failed;
	unsigned long kick;
	unsigned long deadline;		/* jiffies */
	atomic_t producers_done;
	atomic_t refusals, waits;
	/* The consumer's. */
	u32 next_seq[QTEST_MAX_PRODUCERS];
	unsigned int max_batch, wakeups;
	struct qtest_thread consumer;
	struct qtest_thread producer[QTEST_MAX_PRODUCERS];
};

static void qtest_failed(struct qtest_run *run)
{
	WRITE_ONCE(run->failed, true);
}

static void qtest_wait_go(struct qtest_run *run)
{
	complete(&run->started);
	wait_event(run->go_wait, READ_ONCE(run->go));
}

/* Threads wait here for kthread_stop(), so their task outlives them. */
static void qtest_park(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/*
 * What a producer does after each enqueue, like queue_work(): only the one
 * that sets the pending bit wakes the consumer, which clears the bit, with
 * a full barrier, before it looks at the queue.
 */
static void qtest_kick(struct qtest_run *run)
{
	/* The enqueue before the bit, even when the bit was set already. */
	smp_mb__before_atomic();
	if (!test_and_set_bit(QTEST_KICKED, &run->kick))
		wake_up(&run->kick_wait);
}

/*
 * Waits until the consumer is done with a packet or a bound lets one in:
 * makes sure the consumer runs, then gets out of its way rather than spin
 * on a vCPU it may share.  False when the run is over.
 */
static bool qtest_wait_consumer(struct qtest_run *run, const char *what)
{
	if (READ_ONCE(run->failed))
		return false;
	if (time_after(jiffies, run->deadline)) {
		fail("concurrent: %s for %u s", what, QTEST_DEADLINE_S);
		qtest_failed(run);
		return false;
	}
	qtest_kick(run);
	usleep_range(20, 50);
	return true;
}

/*
 * Each producer enqueues its pool's packets round robin, each once the
 * consumer has handed it back: no allocator in the loop, so producers on
 * different CPUs meet in the queue as often as they can.
 */
static int qtest_produce(void *data)
{
	struct qtest_thread *t = data;
	struct qtest_run *run = t->run;
	struct qtest_tag *tag;
	struct sk_buff *skb;
	u32 seq;

	qtest_wait_go(run);
	for (seq = 0; seq < run->items; seq++) {
		skb = t->pool[seq % QTEST_POOL];
		tag = qtest_tag(skb);
		/* Acquire, against the consumer's release: its reads are done. */
		while (smp_load_acquire(&tag->queued)) {
			atomic_inc(&run->waits);
			if (!qtest_wait_consumer(run, "a packet never came back"))
				goto out;
		}
		tag->queued = 1;
		tag->seq = seq;
		if (!run->bound) {
			wg_mpsc_enqueue(&run->queue.prod, skb);
		} else {
			while (!wg_mpsc_enqueue_bounded(&run->queue.prod, skb,
							run->bound)) {
				atomic_inc(&run->refusals);
				if (!qtest_wait_consumer(run, "refused"))
					goto out;
			}
		}
		qtest_kick(run);
		if (!(seq % QTEST_POOL))
			cond_resched();
	}
out:
	/*
	 * The last enqueue before the count: a consumer that sees all done
	 * sees every link.
	 */
	smp_mb__before_atomic();
	atomic_inc(&run->producers_done);
	qtest_kick(run);
	qtest_park();
	return 0;
}

/* Checks one dequeued packet and, if it is one of ours, hands it back. */
static bool qtest_check(struct qtest_run *run, struct sk_buff *skb)
{
	struct qtest_tag *tag;
	bool ok = false;

	if ((void *)skb == (void *)&run->queue.cons.stub) {
		fail("concurrent: the stub was dequeued");
		return false;
	}
	tag = qtest_tag(skb);
	if (tag->magic != QTEST_MAGIC || tag->producer >= run->producers ||
	    !tag->queued) {
		fail("concurrent: foreign packet %p", skb);
		return false;
	}
	if (tag->seq != run->next_seq[tag->producer])
		fail("concurrent: producer %u: got #%u, expected #%u",
		     tag->producer, tag->seq, run->next_seq[tag->producer]);
	else if (skb->next || skb->prev)
		fail("concurrent: links left in a dequeued packet");
	else
		ok = true;
	run->next_seq[tag->producer]++;
	/* Release: our reads of the packet come before its reuse. */
	smp_store_release(&tag->queued, 0);
	return ok;
}

/* Drains what is visible, then returns the batch's credits at once. */
static bool qtest_drain(struct qtest_run *run)
{
	struct sk_buff *skb;
	unsigned int n = 0;

	while ((skb = qtest_dequeue(&run->queue))) {
		if (!qtest_check(run, skb))
			return false;
		n++;
	}
	run->max_batch = max(run->max_batch, n);
	if (!run->bound)
		return true;
	wg_mpsc_consumed(&run->queue.prod, n);
	/* All n were charged and uncredited at once. */
	if (n > run->bound + run->producers - 1) {
		fail("concurrent: batch of %u over the soft bound %u + %u - 1",
		     n, run->bound, run->producers);
		return false;
	}
	return true;
}

static int qtest_consume(void *data)
{
	struct qtest_thread *t = data;
	struct qtest_run *run = t->run;
	unsigned long stall = msecs_to_jiffies(QTEST_STALL_MS);
	bool done;

	qtest_wait_go(run);
	for (;;) {
		clear_bit(QTEST_KICKED, &run->kick);
		/* The bit cleared before looking: no kick is lost. */
		smp_mb__after_atomic();
		/* If all are done, all their links are visible to the drain. */
		done = atomic_read_acquire(&run->producers_done) ==
		       run->producers;
		if (!qtest_drain(run)) {
			qtest_failed(run);
			break;
		}
		if (done)
			break;
		if (time_after(jiffies, run->deadline)) {
			fail("concurrent: not done after %u s", QTEST_DEADLINE_S);
			qtest_failed(run);
			break;
		}
		if (!wait_event_timeout(run->kick_wait,
					test_bit(QTEST_KICKED, &run->kick),
					stall)) {
			fail("concurrent: no wake-up for %u ms: stranded",
			     QTEST_STALL_MS);
			qtest_failed(run);
			break;
		}
		run->wakeups++;
	}
	qtest_park();
	return 0;
}

/* The @n-th online CPU, counting round. */
static unsigned int qtest_cpu(unsigned int n)
{
	unsigned int cpu, i = 0;

	n %= num_online_cpus();
	for_each_online_cpu(cpu)
		if (i++ == n)
			return cpu;
	return cpumask_first(cpu_online_mask);
}

static bool qtest_create(struct qtest_thread *t, struct qtest_run *run,
			 int (*fn)(void *), unsigned int id, unsigned int cpu)
{
	t->run = run;
	t->id = id;
	t->task = kthread_create(fn, t, "wgmpsc-qtest/%u", id);
	if (IS_ERR(t->task)) {
		t->task = NULL;
		return false;
	}
	kthread_bind(t->task, cpu);
	return true;
}

/* Waits for the thread's work and its exit; safe before it ever ran. */
static void qtest_stop(struct qtest_thread *t)
{
	if (t->task)
		kthread_stop(t->task);
}

static bool qtest_fill_pool(struct qtest_thread *t)
{
	struct qtest_tag *tag;
	unsigned int i;

	for (i = 0; i < QTEST_POOL; i++) {
		t->pool[i] = alloc_skb(0, GFP_KERNEL);
		if (!t->pool[i])
			return false;
		tag = qtest_tag(t->pool[i]);
		tag->magic = QTEST_MAGIC;
		tag->producer = t->id;
		tag->queued = 0;
	}
	return true;
}

/* The queue is dropped as it is: nothing of it is touched any more. */
static void qtest_free_pool(struct qtest_thread *t)
{
	unsigned int i;

	for (i = 0; i < QTEST_POOL; i++) {
		if (t->pool[i]) {
			t->pool[i]->next = NULL;
			t->pool[i]->prev = NULL;
			consume_skb(t->pool[i]);
		}
	}
}

static bool qtest_verify(struct qtest_run *run)
{
	unsigned int i;

	for (i = 0; i < run->producers; i++) {
		if (run->next_seq[i] != run->items) {
			fail("concurrent: producer %u: %u of %u packets came out",
			     i, run->next_seq[i], run->items);
			return false;
		}
	}
	if (qtest_peek(&run->queue)) {
		fail("concurrent: packets left after the end");
		return false;
	}
	if (wg_mpsc_charged(&run->queue.prod)) {
		fail("concurrent: %u charged, %u credited",
		     (u32)atomic_read(&run->queue.prod.enqueued),
		     run->queue.prod.consumed);
		return false;
	}
	return true;
}

static bool run_concurrent(unsigned int bound)
{
	struct qtest_run *run = kvzalloc(sizeof(*run), GFP_KERNEL);
	unsigned int i, threads;
	bool ok;

	if (!run) {
		fail("no memory");
		return false;
	}
	wg_mpsc_init(&run->queue.prod, &run->queue.cons);
	run->producers = clamp_t(unsigned int, num_online_cpus() + 1,
				 QTEST_MIN_PRODUCERS, QTEST_MAX_PRODUCERS);
	run->items = QTEST_ITEMS / run->producers;
	run->bound = bound;
	init_completion(&run->started);
	init_waitqueue_head(&run->go_wait);
	init_waitqueue_head(&run->kick_wait);
	atomic_set(&run->producers_done, 0);
	atomic_set(&run->refusals, 0);
	atomic_set(&run->waits, 0);

	/* Producer i on the i-th CPU, round; the consumer on the next. */
	ok = qtest_create(&run->consumer, run, qtest_consume, run->producers,
			  qtest_cpu(run->producers));
	for (i = 0; i < run->producers && ok; i++) {
		ok = qtest_create(&run->producer[i], run, qtest_produce, i,
				  qtest_cpu(i)) &&
		     qtest_fill_pool(&run->producer[i]);
	}
	if (!ok) {
		fail("concurrent: no memory or no threads");
		goto out;
	}
	wake_up_process(run->consumer.task);
	for (i = 0; i < run->producers; i++)
		wake_up_process(run->producer[i].task);
	/* Everyone running before anyone starts, for the most overlap. */
	for (threads = 0; threads < run->producers + 1; threads++)
		wait_for_completion(&run->started);
	run->deadline = jiffies + QTEST_DEADLINE_S * HZ;
	WRITE_ONCE(run->go, true);
	wake_up_all(&run->go_wait);

out:
	for (i = 0; i < run->producers; i++)
		qtest_stop(&run->producer[i]);
	qtest_stop(&run->consumer);
	ok = ok && !run->failed && qtest_verify(run);
	if (ok)
		pr_debug("queueing: bound %u: %u producers x %u, %u refusals, %u waits for reuse, %u wake-ups, largest batch %u\n",
			 bound, run->producers, run->items,
			 atomic_read(&run->refusals), atomic_read(&run->waits),
			 run->wakeups, run->max_batch);
	for (i = 0; i < run->producers; i++)
		qtest_free_pool(&run->producer[i]);
	kvfree(run);
	return ok;
}

bool wg_mpsc_selftest(void)
{
	ktime_t start = ktime_get();
	bool ok;

	/* Unbounded, then at the data path's bound (queueing.h). */
	ok = run_cases() && run_concurrent(0) && run_concurrent(1024);
	if (ok) {
		pr_debug("mpsc self-tests took %lld us\n",
			 (long long)ktime_us_delta(ktime_get(), start));
		pr_info("mpsc self-tests: pass\n");
		return true;
	}
	pr_err("mpsc self-tests: fail\n");
	return false;
}
