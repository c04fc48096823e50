/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The single-consumer stages of a peer's data path, and the peer's work.
 *
 * Each stage is run by whoever asks for it and finds it free, on the
 * spot: the producer that just queued a packet, the crypto worker that
 * just finished one, or the peer's work.  stage.c explains why a stage is
 * never run twice at once and never left with work nobody will do.
 *
 * The peer's work (peer->work, on the device's packet workqueue) does
 * what may sleep on behalf of timers and the receive path (the control
 * requests below), then runs every stage once: after a runner spent its
 * budget, or after a kick (a new session for the packets that waited,
 * the device coming up).
 */
#ifndef _WG_STAGE_H
#define _WG_STAGE_H

#include <linux/types.h>
#include <linux/workqueue.h>

struct sk_buff;
struct wg_mpsc_prod;
struct wg_peer;

/* The bits of peer->control. */
enum wg_control_bits {
	WG_CONTROL_INITIATE,		/* send a handshake initiation */
	WG_CONTROL_ZERO_KEYS,		/* forget every session and handshake */
	WG_PEER_RX_READY,		/* on its NAPI instance's ready list */
	/* Two bits per enum wg_peer_stage from here: busy, again. */
	WG_PEER_STAGE_BITS,
};

enum wg_peer_stage {
	WG_STAGE_TX_DISPATCH,	/* tx_prod/tx_cons: nonces, then encryption */
	WG_STAGE_RX_DISPATCH,	/* rx_prod/rx_cons: to decryption */
	WG_STAGE_TX_FLUSH,	/* tx_ordered: encrypted nodes onto the wire */
	WG_STAGE_COUNT,
};

enum {
	/* Nodes one caller handles before handing the rest to the work. */
	WG_STAGE_BUDGET = 256,
};

/*
 * A stage's busy bit is the lock of what only its runner may touch (the
 * consumer end of its queue, the head of its ordered list); each stage
 * function asserts it holds it.  Lockdep knows it as a lock too, one
 * class per stage.
 */
#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
void wg_peer_assert_stage_held(struct wg_peer *peer, enum wg_peer_stage stage);
#else
static inline void wg_peer_assert_stage_held(struct wg_peer *peer,
					     enum wg_peer_stage stage)
{
}
#endif

/*
 * Multi-producer: queues @skb on one of the peer's queues, given by its
 * producers' half @prod (all an enqueue touches), charged its
 * WG_PACKET_CB()->segs packets, and runs @stage, the queue's consumer,
 * unless someone else is running it; false when the peer is being
 * removed or the queue is full (@skb is still the caller's then).  Any
 * context but hard IRQ.
 */
bool wg_peer_enqueue(struct wg_peer *peer, struct wg_mpsc_prod *prod,
		     struct sk_buff *skb, enum wg_peer_stage stage);
/*
 * Runs @stage here and now, or makes sure its current runner runs it once
 * more.  BH disabled, and for callers the peer's removal waits for: inside
 * an RCU section that saw !is_dead, in a crypto worker, or in the peer's
 * work.
 */
void wg_peer_run_stage(struct wg_peer *peer, enum wg_peer_stage stage);
/*
 * Runs the peer's work once more: control requests and every stage.
 * Never after the peer's removal (is_dead is tested in an RCU section
 * that removal waits for before it flushes the work).  Any context.
 */
void wg_peer_kick(struct wg_peer *peer);
/* The work function of peer->work. */
void wg_peer_work(struct work_struct *work);

#endif /* _WG_STAGE_H */
