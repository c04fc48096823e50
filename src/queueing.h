/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data path around the per-peer MPSC queues (mpsc.h): what a queued
 * packet carries, the ordered lists that keep a peer's packets in order
 * through parallel crypto, and the per-CPU crypto workers.  The comment
 * "The data path" below is the one description of the whole; README and
 * the other files point here.
 */
#ifndef _WG_QUEUEING_H
#define _WG_QUEUEING_H

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/ptr_ring.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "mpsc.h"

enum wg_queueing_limits {
	/* Packets a peer may have queued, per queue, like the in-tree driver. */
	WG_MAX_QUEUED_PACKETS = 1024,
};

struct wg_device;
struct wg_noise_keypair;

/*
 * The data path around the queues.
 *
 * Transmit: ndo_start_xmit, on any CPU, routes a packet to its peer,
 * segments GSO packets (the segments stay chained on skb->next, one queue
 * node for the lot) and enqueues the node on the peer's transmit queue
 * (peer->tx_prod and tx_cons, the queue's two halves: mpsc.h).  The queue's
 * single consumer, the transmit dispatch stage (stage.h), run by that very
 * producer unless another CPU is running it, takes nonces from the current
 * keypair in queue order, appends the node to the peer's ordered list and
 * hands it to a per-CPU crypto worker, round robin over the online CPUs.
 * The worker encrypts, marks the node done and runs the flush stage, which
 * sends the done nodes at the head of the ordered list, in nonce order.
 * So a packet takes one work-item hop, to its crypto worker.  A node of
 * many segments is encrypted into one outer UDP GSO packet where its
 * messages allow (send.c): the outer UDP and IP layers then run once for
 * all of them, and the datagrams on the wire are the same.
 *
 * Receive: the UDP hook finds the keypair by receiver index and enqueues
 * the datagram on the peer's receive queue (rx_prod, rx_cons); the
 * receive dispatch stage appends it to the peer's ordered receive list
 * and hands it to a decryption worker.
 * The worker marks it done and makes sure the peer's NAPI instance will
 * poll (below); the poll delivers the done packets at the head of the
 * list, in arrival order, after the replay and allowed-IPs checks, through
 * GRO.  Crypto workers take WG_CRYPT_BATCH nodes at a time with BH
 * disabled: the poll then finds a batch done and GRO can merge it, where
 * a poll per packet would hand TCP every segment, and ACK, on its own.
 *
 * NAPI: a device has one napi_struct per possible CPU, not one per peer
 * (400 bytes each).  A peer is pinned to instance internal_id % count, so
 * only that instance ever pops its receive list: its packets stay in
 * order and the replay window keeps a single consumer.
 *
 * Liveness invariant: after a decryption completes, the peer's instance
 * polls at least once more.  The worker publishes "done" (release), then
 * sets the peer's WG_PEER_RX_READY bit and, if it set it, puts the peer on
 * the instance's ready list; then it always calls napi_schedule(), which
 * during a poll in progress marks the instance missed so the core polls
 * again.  A poll that stops at an unfinished head clears the bit first,
 * then (full barrier) looks at the head again: either it sees the packet
 * done, or the worker, which published done before testing the bit, sees
 * the bit clear and queues the peer again.  A completion cannot fall
 * between the two.  The worker runs with BH disabled for its batch, so
 * napi_schedule() only raises NET_RX there; the poll runs when the batch
 * enables BH again (or in ksoftirqd), still after the completion.
 */

enum wg_packet_state {
	WG_PACKET_QUEUED,	/* in flight to or in a crypto worker */
	WG_PACKET_DONE,		/* crypto succeeded */
	WG_PACKET_DEAD,		/* crypto failed or was refused: drop */
};

/* Lives in skb->cb of the head of a queue node while we own the skb. */
struct wg_packet_cb {
	u64 nonce;			/* of the first segment */
	struct wg_noise_keypair *keypair;	/* one reference per node */
	struct sk_buff *ordered_next;	/* the peer's ordered list */
	atomic_t state;			/* enum wg_packet_state */
	u32 mtu;
	u32 inner_len;			/* plaintext bytes of all segments */
	u16 segs;
	u8 ds;
	/*
	 * Transmit, set by the crypto worker: the node's messages were
	 * written into one outer UDP GSO skb, chained as head->next; the
	 * head itself carries nothing to send (send.c).
	 */
	u8 outer_gso;
};

#define WG_PACKET_CB(skb) ((struct wg_packet_cb *)((skb)->cb))

static inline enum wg_packet_state wg_packet_state(struct sk_buff *skb)
{
	return atomic_read_acquire(&WG_PACKET_CB(skb)->state);
}

static inline void wg_packet_set_state(struct sk_buff *skb,
				       enum wg_packet_state state)
{
	atomic_set_release(&WG_PACKET_CB(skb)->state, state);
}

/*
 * A peer's in-flight nodes in queue order.  Appended by a dispatch stage's
 * runner, popped by another CPU (transmit: the flush stage's runner;
 * receive: the peer's NAPI instance), so under @lock.
 */
struct wg_ordered_list {
	struct sk_buff *head, *tail;
	raw_spinlock_t lock;	/* raw: see struct wg_peer */
};

void wg_ordered_list_init(struct wg_ordered_list *list);
void wg_ordered_list_append(struct wg_ordered_list *list,
			    struct sk_buff *skb);
bool wg_ordered_list_head_finished(struct wg_ordered_list *list);
/* The head when it is no longer queued (done or dead), popped. */
struct sk_buff *wg_ordered_list_pop_finished(struct wg_ordered_list *list);
/* Frees everything; for a peer whose workers are all idle. */
void wg_ordered_list_purge(struct wg_ordered_list *list);

/* One per CPU per direction per device: a ring and the work draining it. */
struct wg_crypt_worker {
	struct ptr_ring ring;
	struct work_struct work;
	struct wg_device *wg;
};

enum {
	WG_CRYPT_RING_SIZE = 1024,
	/*
	 * Nodes a crypto worker handles with BH disabled before it lets the
	 * softirqs it raised run: the packets it finished then reach GRO,
	 * the wire and the other side's stack together, not one by one.
	 */
	WG_CRYPT_BATCH = 32,
};

struct wg_crypt_worker __percpu *wg_crypt_workers_create(struct wg_device *wg,
							  work_func_t fn);
void wg_crypt_workers_destroy(struct wg_crypt_worker __percpu *workers);
/*
 * A worker's work function: takes the nodes of its ring in batches of
 * WG_CRYPT_BATCH with BH disabled and hands each to @one.
 */
void wg_crypt_worker_drain(struct wg_crypt_worker *worker,
			   void (*one)(struct sk_buff *skb));
/* Any context: the online CPU after *@last, round robin; updates *@last. */
int wg_cpu_next_online(int *last);
/* Hands @skb to the next CPU's worker; false when its ring is full. */
bool wg_crypt_dispatch(struct wg_device *wg,
		       struct wg_crypt_worker __percpu *workers,
		       struct sk_buff *skb);

/* Frees every queued node; for a peer whose work is idle. */
void wg_mpsc_purge(struct wg_mpsc_prod *prod, struct wg_mpsc_cons *cons,
		   bool holds_keypair);

#endif /* _WG_QUEUEING_H */
