// SPDX-License-Identifier: GPL-2.0
/*
 * Running a peer's stages, and the peer's work (see stage.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bottom_half.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/rcupdate.h>

#include "device.h"
#include "mpsc.h"
#include "peer.h"
#include "queueing.h"
#include "receive.h"
#include "send.h"
#include "stage.h"

/*
 * Running a stage.  Each stage has two bits in peer->control: busy, held
 * by its one runner, and again, a request for one more run.  A caller
 * sets again, then tries to take busy: if it wins, it clears again and
 * runs the stage; if it loses, the runner will see again after it lets
 * busy go, and run once more.  Store buffering, in short:
 *
 *	caller				runner
 *	(its enqueue or DONE)		runs the stage
 *	set again			clear busy
 *	full barrier			full barrier
 *	test_and_set busy		test again
 *
 * At least one of the two sees the other's store: either the caller gets
 * busy and runs, or the runner sees again and runs after the caller's
 * event (the barrier before set_bit orders that event first).  So every
 * request is followed by a run that begins after it, which is all the
 * MPSC queue needs of its consumer (mpsc.c: a run that stops at a gap is
 * followed by another when the gap's producer asks).  The caller's full
 * barrier is an explicit smp_mb__after_atomic(), not the
 * test_and_set_bit() after it: a test_and_set_bit() that fails is fully
 * ordered on x86 and, for the generic bitops, only from Linux 6.0 on.
 *
 * Every stage runs with BH disabled, whoever runs it: producers are in
 * softirq context or hold rcu_read_lock_bh(), the crypto workers run
 * their batches with BH off, and the peer's work disables it.  The
 * stages use per-CPU statistics and the softirq-only NAPI helpers, and a
 * softirq on the same CPU must not find a stage of its own half run.
 *
 * A stage that stops for lack of a session (transmit) is run again by
 * whoever installs one: that is a request like any other.  A runner that
 * spends WG_STAGE_BUDGET (a node per node handled, at least one per pass,
 * so that requests that keep coming while nothing is ready cannot hold it
 * either) hands the rest to the peer's work: no producer's softirq runs
 * for long on other CPUs' behalf.
 */
static unsigned int (*const wg_stage_fns[WG_STAGE_COUNT])(struct wg_peer *,
							 unsigned int) = {
	[WG_STAGE_TX_DISPATCH] = wg_send_dispatch,
	[WG_STAGE_RX_DISPATCH] = wg_receive_dispatch,
	[WG_STAGE_TX_FLUSH] = wg_send_flush,
};

/*
 * The busy bits as lockdep sees them: a trylock, one class per stage
 * (not per peer, which would cost every peer a map).  Nested runs of one
 * class are real, and harmless: a flush sending into another wg device
 * runs that device's peer's stages inside it.  Lockdep checks no deadlock
 * for trylocks, but it knows what is held: an assertion, a lock held at
 * the end of a work or softirq, a sleep while holding it.
 */
#ifdef CONFIG_DEBUG_LOCK_ALLOC
static struct lock_class_key wg_stage_keys[WG_STAGE_COUNT];
static struct lockdep_map wg_stage_maps[WG_STAGE_COUNT] = {
	[WG_STAGE_TX_DISPATCH] =
		STATIC_LOCKDEP_MAP_INIT("wg_stage_tx_dispatch",
					&wg_stage_keys[WG_STAGE_TX_DISPATCH]),
	[WG_STAGE_RX_DISPATCH] =
		STATIC_LOCKDEP_MAP_INIT("wg_stage_rx_dispatch",
					&wg_stage_keys[WG_STAGE_RX_DISPATCH]),
	[WG_STAGE_TX_FLUSH] =
		STATIC_LOCKDEP_MAP_INIT("wg_stage_tx_flush",
					&wg_stage_keys[WG_STAGE_TX_FLUSH]),
};
#define wg_stage_acquired(stage) lock_map_acquire_try(&wg_stage_maps[stage])
#define wg_stage_released(stage) lock_map_release(&wg_stage_maps[stage])
#else
#define wg_stage_acquired(stage) do { } while (0)
#define wg_stage_released(stage) do { } while (0)
#endif

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
void wg_peer_assert_stage_held(struct wg_peer *peer, enum wg_peer_stage stage)
{
	WARN_ON_ONCE(!test_bit(WG_PEER_STAGE_BITS + 2 * stage, &peer->control));
}
#endif

void wg_peer_run_stage(struct wg_peer *peer, enum wg_peer_stage stage)
{
	unsigned int busy = WG_PEER_STAGE_BITS + 2 * stage, again = busy + 1;
	unsigned int budget = WG_STAGE_BUDGET;

	BUILD_BUG_ON(WG_PEER_STAGE_BITS + 2 * WG_STAGE_COUNT > BITS_PER_LONG);
	lockdep_assert_in_softirq();

	/* The caller's enqueue or DONE before its request. */
	smp_mb__before_atomic();
	set_bit(again, &peer->control);
	/* The caller's column: again, then busy (see the table above). */
	smp_mb__after_atomic();
	while (!test_and_set_bit(busy, &peer->control)) {
		wg_stage_acquired(stage);
		clear_bit(again, &peer->control);
		/* A request cleared here is served by the run below. */
		smp_mb__after_atomic();
		budget -= clamp(wg_stage_fns[stage](peer, budget), 1U, budget);
		wg_stage_released(stage);
		/* The run's effects before the next runner's. */
		smp_mb__before_atomic();
		clear_bit(busy, &peer->control);
		if (!budget) {
			wg_peer_kick(peer);
			return;
		}
		/* Clear busy, then look at again: the runner's column. */
		smp_mb__after_atomic();
		if (!test_bit(again, &peer->control))
			return;
	}
}

/*
 * Multi-producer side of the peer's queues, for any CPU.  Removal sets
 * is_dead, waits for RCU readers, then purges the queues: checking and
 * enqueueing inside one read-side section means a packet is either queued
 * before the purge or refused, never stranded on a dead peer.  The same goes
 * for the stage it runs.
 */
bool wg_peer_enqueue(struct wg_peer *peer, struct wg_mpsc_prod *prod,
		     struct sk_buff *skb, enum wg_peer_stage stage)
{
	bool queued;

	rcu_read_lock_bh();
	queued = !READ_ONCE(peer->is_dead) &&
		 wg_mpsc_enqueue_charged(prod, skb, WG_PACKET_CB(skb)->segs,
					 WG_MAX_QUEUED_PACKETS);
	if (queued)
		wg_peer_run_stage(peer, stage);
	rcu_read_unlock_bh();
	return queued;
}

void wg_peer_kick(struct wg_peer *peer)
{
	rcu_read_lock_bh();
	if (likely(!READ_ONCE(peer->is_dead)))
		queue_work(peer->device->packet_wq, &peer->work);
	rcu_read_unlock_bh();
}

/*
 * Control requests first (they may sleep), then a run of every stage with
 * BH disabled, as stages always run.
 */
void wg_peer_work(struct work_struct *work)
{
	struct wg_peer *peer = container_of(work, struct wg_peer, work);

	wg_send_control(peer);
	local_bh_disable();
	wg_peer_run_stage(peer, WG_STAGE_TX_FLUSH);
	wg_peer_run_stage(peer, WG_STAGE_TX_DISPATCH);
	wg_peer_run_stage(peer, WG_STAGE_RX_DISPATCH);
	local_bh_enable();
}
