/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the two halves of the native queue benchmark: qbench.c, the
 * harness (options, threads, CPU placement, statistics), built against the
 * C library alone, and queues.c, the queues and the loops that drive them,
 * built against the kernel shims of include/.  They are kept apart because
 * the shims' linux/ and asm/ headers would stand in for the system's own
 * inside <unistd.h> or <limits.h>.  Only plain C types cross.
 */
#ifndef QBENCH_H
#define QBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum qb_kind {
	QB_MPSC,		/* wg_mpsc_enqueue(): unbounded, uncounted */
	QB_MPSC_COUNTED,	/* wg_mpsc_enqueue_bounded(), bound UINT_MAX */
	QB_MPSC_BOUNDED,	/* wg_mpsc_enqueue_bounded(), bound QB_CAPACITY */
	QB_SKBLIST,		/* spinlocked doubly-linked list, qlen bound */
	QB_PTR_RING,		/* the kernel's ptr_ring.h, QB_CAPACITY slots */
	QB_KINDS
};

enum {
	/* Every bounded queue's capacity, as in tools/bench/kmod. */
	QB_CAPACITY = 1024,
	/*
	 * Items per producer.  Twice the capacity, so that a producer meets
	 * the queue's bound before it runs out of items; it is also all the
	 * bound the unbounded queue gets.
	 */
	QB_POOL = 2 * QB_CAPACITY,
	/* The consumer returns credits this often, as the driver does. */
	QB_CREDIT_BATCH = 64,
	QB_MAX_PRODUCERS = 4,
	/* The consumer times every batch of this many items. */
	QB_BATCH = 256,
};

extern const char *const qb_kind_name[QB_KINDS];
/* The ptr_ring.h compiled in (a path), for the report. */
extern const char qb_ptr_ring_h[];

struct qb_result {
	uint64_t ns;		/* from the start signal to the last item */
	uint64_t items;
	/*
	 * The median QB_BATCH-item batch's time, per item, over the batches
	 * in which the producers enqueued at least half a batch.
	 */
	double batch_ns_per_item;
	uint64_t full;		/* enqueues refused (queue full), retried */
	uint64_t starved;	/* items a producer waited for (pool empty) */
	uint64_t empty;		/* dequeues that found nothing */
};

struct qb_run;

/*
 * NULL when out of memory.  Bit 0 of @yielders is the consumer, bit 1 + i
 * producer i: the threads that share their CPU with another of the run,
 * and so must yield it when they wait.  The others spin.
 */
struct qb_run *qb_run_new(enum qb_kind kind, unsigned int producers,
			  uint64_t per_producer, uint64_t timeout_ns,
			  unsigned int yielders);
void qb_run_free(struct qb_run *run);

/* A producer thread's body, once it is on its CPU. */
void qb_produce(struct qb_run *run, unsigned int index);

/*
 * The consumer thread's body, once it is on its CPU: starts the producers
 * when all are ready, takes every item and checks each.  False, with a
 * message in @err, when an item came wrong or the run timed out; the
 * producers have then been told to stop.
 */
bool qb_consume(struct qb_run *run, struct qb_result *res, char *err,
		size_t errlen);

/* After the producers are joined: their counts of retries and waits. */
void qb_collect(const struct qb_run *run, struct qb_result *res);

#endif
