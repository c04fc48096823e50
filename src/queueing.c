// SPDX-License-Identifier: GPL-2.0
/*
 * The data path's ordered lists and crypto workers (see queueing.h).
 */

#include <linux/cpumask.h>
#include <linux/percpu.h>

#include "device.h"
#include "noise.h"
#include "queueing.h"

void wg_ordered_list_init(struct wg_ordered_list *list)
{
	list->head = NULL;
	list->tail = NULL;
	raw_spin_lock_init(&list->lock);
}

void wg_ordered_list_append(struct wg_ordered_list *list, struct sk_buff *skb)
{
	WG_PACKET_CB(skb)->ordered_next = NULL;
	raw_spin_lock_bh(&list->lock);
	if (list->tail)
		WG_PACKET_CB(list->tail)->ordered_next = skb;
	else
		list->head = skb;
	list->tail = skb;
	raw_spin_unlock_bh(&list->lock);
}

bool wg_ordered_list_head_finished(struct wg_ordered_list *list)
{
	bool finished;

	raw_spin_lock_bh(&list->lock);
	finished = list->head &&
		   wg_packet_state(list->head) != WG_PACKET_QUEUED;
	raw_spin_unlock_bh(&list->lock);
	return finished;
}

struct sk_buff *wg_ordered_list_pop_finished(struct wg_ordered_list *list)
{
	struct sk_buff *skb;

	raw_spin_lock_bh(&list->lock);
	skb = list->head;
	if (skb && wg_packet_state(skb) != WG_PACKET_QUEUED) {
		list->head = WG_PACKET_CB(skb)->ordered_next;
		if (!list->head)
			list->tail = NULL;
	} else {
		skb = NULL;
	}
	raw_spin_unlock_bh(&list->lock);
	return skb;
}

void wg_ordered_list_purge(struct wg_ordered_list *list)
{
	struct sk_buff *skb, *next;

	raw_spin_lock_bh(&list->lock);
	skb = list->head;
	list->head = NULL;
	list->tail = NULL;
	raw_spin_unlock_bh(&list->lock);
	for (; skb; skb = next) {
		next = WG_PACKET_CB(skb)->ordered_next;
		wg_noise_keypair_put(WG_PACKET_CB(skb)->keypair);
		kfree_skb_list(skb);
	}
}

/*
 * Frees every queued node of the queue of halves @prod and @cons, and
 * returns their charge; for a peer whose work is idle (so, single
 * consumer).  Received nodes hold a keypair reference from the moment
 * they are queued; transmitted ones take theirs only later.
 */
void wg_mpsc_purge(struct wg_mpsc_prod *prod, struct wg_mpsc_cons *cons,
		   bool holds_keypair)
{
	unsigned int count = 0;
	struct sk_buff *skb;

	while ((skb = wg_mpsc_dequeue(prod, cons))) {
		count += WG_PACKET_CB(skb)->segs;
		if (holds_keypair)
			wg_noise_keypair_put(WG_PACKET_CB(skb)->keypair);
		kfree_skb_list(skb);
	}
	wg_mpsc_consumed(prod, count);
}

struct wg_crypt_worker __percpu *wg_crypt_workers_create(struct wg_device *wg,
							  work_func_t fn)
{
	struct wg_crypt_worker __percpu *workers;
	int cpu;

	workers = alloc_percpu(struct wg_crypt_worker);
	if (!workers)
		return NULL;
	for_each_possible_cpu(cpu) {
		struct wg_crypt_worker *worker = per_cpu_ptr(workers, cpu);

		if (ptr_ring_init(&worker->ring, WG_CRYPT_RING_SIZE,
				  GFP_KERNEL))
			goto err_free_rings;
		INIT_WORK(&worker->work, fn);
		worker->wg = wg;
	}
	return workers;

err_free_rings:
	for_each_possible_cpu(cpu) {
		struct wg_crypt_worker *worker = per_cpu_ptr(workers, cpu);

		if (!worker->wg)
			break;
		ptr_ring_cleanup(&worker->ring, NULL);
	}
	free_percpu(workers);
	return NULL;
}

/* The workers' rings are empty: every peer was removed and flushed. */
void wg_crypt_workers_destroy(struct wg_crypt_worker __percpu *workers)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct wg_crypt_worker *worker = per_cpu_ptr(workers, cpu);

		WARN_ON(!__ptr_ring_empty(&worker->ring));
		ptr_ring_cleanup(&worker->ring, NULL);
	}
	free_percpu(workers);
}

/*
 * The softirqs raised while BH is disabled (a NAPI poll, the receive of
 * what was sent through a veth or loopback) run once per batch, at
 * local_bh_enable(), and see the whole batch.
 */
void wg_crypt_worker_drain(struct wg_crypt_worker *worker,
			   void (*one)(struct sk_buff *skb))
{
	struct sk_buff *skb = NULL;
	unsigned int n;

	do {
		local_bh_disable();
		for (n = 0; n < WG_CRYPT_BATCH &&
			    (skb = ptr_ring_consume(&worker->ring)); ++n)
			one(skb);
		local_bh_enable();
		cond_resched();
	} while (skb);
}

/*
 * Racing callers may pick the same CPU, or skip one: it is a spread, not
 * a schedule, and needs no lock.
 */
int wg_cpu_next_online(int *last)
{
	int cpu = cpumask_next(READ_ONCE(*last), cpu_online_mask);

	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(*last, cpu);
	return cpu;
}

bool wg_crypt_dispatch(struct wg_device *wg,
		       struct wg_crypt_worker __percpu *workers,
		       struct sk_buff *skb)
{
	struct wg_crypt_worker *worker;
	int cpu;

	/* Round robin over the online CPUs: the parallelism is the point. */
	cpu = wg_cpu_next_online(&wg->crypt_cpu);
	worker = per_cpu_ptr(workers, cpu);
	if (unlikely(ptr_ring_produce_bh(&worker->ring, skb)))
		return false;
	queue_work_on(cpu, wg->crypt_wq, &worker->work);
	return true;
}
