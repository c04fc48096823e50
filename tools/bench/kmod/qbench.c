// SPDX-License-Identifier: GPL-2.0
/*
 * Queue microbenchmark for `make bench`: the cost of moving items through
 * a queue from P producer kthreads to one consumer, for
 *
 *   mpsc      wgmpsc's intrusive MPSC queue (src/mpsc.c, compiled in
 *             by queue.c), bounded with wg_mpsc_enqueue_bounded() and
 *             credits returned per batch, as the driver uses it;
 *   skblist   a spinlock-protected list, struct sk_buff_head with
 *             skb_queue_tail()/skb_dequeue(), bounded by its qlen;
 *   ptr_ring  a ptr_ring, ptr_ring_produce()/ptr_ring_consume();
 *
 * all with the same capacity (1024 items).  A producer that finds the
 * queue full retries (the driver would drop; here every item must pass).
 * Items are zeroed struct sk_buffs from a per-producer pool, recycled once
 * the consumer has taken them (a flag in ->cb, which no queue touches).
 *
 * Placement: the consumer runs on the first online CPU, producer i on the
 * (1 + i mod (n - 1))-th of the n online CPUs, so that a producer never
 * shares a CPU with the consumer while there is another CPU to use.  A
 * thread that has to wait (queue full, queue empty, node not yet
 * recycled) spins briefly and then yield()s, so that threads sharing a
 * CPU take turns instead of burning their time slices.
 *
 * Run at load time: insmod wgmpsc_qbench.ko items=N round=R.  The thread
 * doing insmod is the consumer, so nothing waits uninterruptibly.  For
 * each producer count (1, 2, 4, 8) and kind it logs
 *   kind=K producers=P items=N ns=T ns_per_item=X retries=F
 *   mean_ns_per_item=Y median_ns_per_item=M
 * T is the wall time from the start signal to the consumer taking the
 * last of the N items, Y = T / N.  The consumer also times each
 * consecutive batch of BATCH items; X is the 10th percentile and M the
 * median of the batches' time per item: the steady-state cost of the
 * pipeline, enqueue and dequeue together, when every thread involved is
 * actually running.  The percentiles are there for VMs whose vCPUs the
 * host deschedules for milliseconds at a time (QEMU TCG on a busy host):
 * a batch caught in such a gap measures the host's scheduler, and on a
 * loaded host most batches are (the consumer's and a producer's vCPUs
 * must both be running).  The kind order rotates with the round so that
 * no kind always runs first.  The load then succeeds; rmmod it before
 * the next run.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/ptr_ring.h>
#include <linux/sched.h>
#include <linux/skbuff.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "mpsc.h"

static unsigned int items = 524288;
module_param(items, uint, 0444);
MODULE_PARM_DESC(items, "items per configuration, split over the producers");
static unsigned int round;
module_param(round, uint, 0444);
MODULE_PARM_DESC(round, "round number: rotates the order of the kinds");

enum { CAPACITY = 1024, POOL = 2 * CAPACITY, MAX_PRODUCERS = 8,
       CREDIT_BATCH = 64, SPINS_BEFORE_YIELD = 32, BATCH = 128 };
enum { TIMEOUT_NS = 60ULL * NSEC_PER_SEC };

enum qkind { Q_MPSC, Q_SKBLIST, Q_PTR_RING, Q_KINDS };
static const char *const kind_name[Q_KINDS] = { "mpsc", "skblist", "ptr_ring" };

struct qbench {
	enum qkind kind;
	unsigned int producers, per_producer;
	struct wg_mpsc_queue mpsc;
	struct sk_buff_head list;
	struct ptr_ring ring;
	struct sk_buff *nodes;		/* producers * POOL */
	atomic_t ready;
	bool go;
	bool abort;
	atomic64_t retries;
	u64 *batch_ns;			/* items / BATCH + 1 entries */
	unsigned int batches;
};

struct producer {
	struct qbench *b;
	unsigned int index;
};

/* The in-flight flag of a node, in ->cb (untouched by every queue). */
static u32 *busy(struct sk_buff *skb)
{
	return (u32 *)skb->cb;
}

static bool enqueue(struct qbench *b, struct sk_buff *skb)
{
	switch (b->kind) {
	case Q_MPSC:
		return wg_mpsc_enqueue_bounded(&b->mpsc.prod, skb, CAPACITY);
	case Q_SKBLIST:
		if (skb_queue_len_lockless(&b->list) >= CAPACITY)
			return false;
		skb_queue_tail(&b->list, skb);
		return true;
	case Q_PTR_RING:
		return ptr_ring_produce(&b->ring, skb) == 0;
	default:
		return false;
	}
}

static struct sk_buff *dequeue(struct qbench *b)
{
	switch (b->kind) {
	case Q_MPSC:
		return wg_mpsc_dequeue(&b->mpsc.prod, &b->mpsc.cons);
	case Q_SKBLIST:
		return skb_dequeue(&b->list);
	case Q_PTR_RING:
		return ptr_ring_consume(&b->ring);
	default:
		return NULL;
	}
}

/* One step of waiting for another thread. */
static void backoff(unsigned int spins)
{
	if (spins % SPINS_BEFORE_YIELD)
		cpu_relax();
	else
		yield();
}

static void wait_for_stop(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

static int producer_fn(void *arg)
{
	struct producer *p = arg;
	struct qbench *b = p->b;
	struct sk_buff *pool = b->nodes + (size_t)p->index * POOL;
	unsigned int i, spins;
	u64 retries = 0;

	atomic_inc(&b->ready);
	while (!READ_ONCE(b->go) && !READ_ONCE(b->abort))
		yield();
	for (i = 0; i < b->per_producer && !READ_ONCE(b->abort); i++) {
		struct sk_buff *skb = &pool[i % POOL];

		/* Recycled only after the consumer is done with it. */
		for (spins = 1; smp_load_acquire(busy(skb)); spins++) {
			backoff(spins);
			if (READ_ONCE(b->abort))
				goto out;
		}
		*busy(skb) = 1;
		for (spins = 1; !enqueue(b, skb); spins++) {
			retries++;
			backoff(spins);
			if (READ_ONCE(b->abort))
				goto out;
		}
		if (!(i & 255))
			cond_resched();
	}
out:
	atomic64_add(retries, &b->retries);
	wait_for_stop();
	return 0;
}

/* One configuration; returns the nanoseconds, or 0 on failure. */
static u64 run(struct qbench *b)
{
	struct task_struct *tasks[MAX_PRODUCERS] = { };
	struct producer prod[MAX_PRODUCERS];
	u64 total = (u64)b->producers * b->per_producer, got = 0, t0, t1, tb;
	unsigned int i, batch = 0, idle = 0, ncpus = num_online_cpus();
	int cpu, consumer_cpu = cpumask_first(cpu_online_mask);
	bool ok = true;

	atomic_set(&b->ready, 0);
	b->go = false;
	b->abort = false;
	atomic64_set(&b->retries, 0);
	for (i = 0; i < b->producers; i++) {
		prod[i].b = b;
		prod[i].index = i;
		tasks[i] = kthread_create(producer_fn, &prod[i], "qbench/%u", i);
		if (IS_ERR(tasks[i])) {
			tasks[i] = NULL;
			WRITE_ONCE(b->abort, true);
			ok = false;
			goto stop;
		}
		cpu = consumer_cpu;
		if (ncpus > 1) {
			unsigned int k = 1 + i % (ncpus - 1);

			for (cpu = consumer_cpu; k--; )
				cpu = cpumask_next(cpu, cpu_online_mask);
		}
		kthread_bind(tasks[i], cpu);
		wake_up_process(tasks[i]);
	}
	while (atomic_read(&b->ready) < b->producers)
		msleep(1);

	b->batches = 0;
	t0 = ktime_get_ns();
	tb = t0;
	WRITE_ONCE(b->go, true);
	while (got < total) {
		struct sk_buff *skb = dequeue(b);

		if (!skb) {
			if (b->kind == Q_MPSC && batch) {
				wg_mpsc_consumed(&b->mpsc.prod, batch);
				batch = 0;
			}
			backoff(++idle);
			if (!(idle & 1023)) {
				if (ktime_get_ns() - t0 > TIMEOUT_NS) {
					pr_err("kind=%s producers=%u: timed out with %llu of %llu items\n",
					       kind_name[b->kind], b->producers, got, total);
					WRITE_ONCE(b->abort, true);
					ok = false;
					goto stop;
				}
			}
			continue;
		}
		smp_store_release(busy(skb), 0);
		got++;
		if (b->kind == Q_MPSC && ++batch == CREDIT_BATCH) {
			wg_mpsc_consumed(&b->mpsc.prod, batch);
			batch = 0;
		}
		if (!(got % BATCH)) {
			u64 t = ktime_get_ns();

			b->batch_ns[b->batches++] = t - tb;
			tb = t;
			cond_resched();
		}
	}
	t1 = ktime_get_ns();
	if (b->kind == Q_MPSC && batch)
		wg_mpsc_consumed(&b->mpsc.prod, batch);
stop:
	for (i = 0; i < b->producers; i++)
		if (tasks[i])
			kthread_stop(tasks[i]);
	return ok ? t1 - t0 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static int __init qbench_init(void)
{
	static const unsigned int counts[] = { 1, 2, 4, 8 };
	struct qbench *b;
	unsigned int c, k;
	int ret = 0;

	if (items < 1024)
		items = 1024;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->nodes = vzalloc(array_size(MAX_PRODUCERS * POOL,
				      sizeof(struct sk_buff)));
	b->batch_ns = vzalloc(array_size(items / BATCH + 1, sizeof(u64)));
	if (!b->nodes || !b->batch_ns) {
		vfree(b->nodes);
		vfree(b->batch_ns);
		kfree(b);
		return -ENOMEM;
	}
	pr_info("round=%u items=%u capacity=%u online_cpus=%u\n", round, items,
		CAPACITY, num_online_cpus());
	/* The consumer is this thread, on the first online CPU. */
	set_cpus_allowed_ptr(current, cpumask_of(cpumask_first(cpu_online_mask)));
	for (c = 0; c < ARRAY_SIZE(counts); c++) {
		for (k = 0; k < Q_KINDS; k++) {
			u64 ns, med, p10, n;

			b->kind = (k + round) % Q_KINDS;
			b->producers = counts[c];
			b->per_producer = items / counts[c];
			wg_mpsc_init(&b->mpsc.prod, &b->mpsc.cons);
			skb_queue_head_init(&b->list);
			if (ptr_ring_init(&b->ring, CAPACITY, GFP_KERNEL)) {
				ret = -ENOMEM;
				goto out;
			}
			ns = run(b);
			ptr_ring_cleanup(&b->ring, NULL);
			if (!ns) {
				ret = -ETIMEDOUT;
				goto out;
			}
			n = (u64)b->producers * b->per_producer;
			sort(b->batch_ns, b->batches, sizeof(u64), cmp_u64, NULL);
			med = b->batches ? b->batch_ns[b->batches / 2] : ns;
			p10 = b->batches ? b->batch_ns[b->batches / 10] : ns;
			pr_info("kind=%s producers=%u items=%llu ns=%llu ns_per_item=%llu.%02llu retries=%lld mean_ns_per_item=%llu.%02llu median_ns_per_item=%llu.%02llu\n",
				kind_name[b->kind], b->producers, n, ns,
				div_u64(p10, BATCH), div_u64(100 * p10, BATCH) % 100,
				atomic64_read(&b->retries),
				div64_u64(ns, n), div64_u64(100 * ns, n) % 100,
				div_u64(med, BATCH), div_u64(100 * med, BATCH) % 100);
			/* Whatever a timed-out run left is not freed: the
			 * nodes are the pool, not skbs of their own. */
		}
	}
out:
	set_cpus_allowed_ptr(current, cpu_possible_mask);
	vfree(b->nodes);
	vfree(b->batch_ns);
	kfree(b);
	return ret;
}

static void __exit qbench_exit(void)
{
}

module_init(qbench_init);
module_exit(qbench_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("wgmpsc make bench: MPSC queue vs sk_buff_head vs ptr_ring");
