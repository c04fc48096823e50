// SPDX-License-Identifier: GPL-2.0
/*
 * The receive side (see receive.h).  Data messages other than keepalives
 * are dropped and counted until the data path joins.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/chacha20poly1305.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <asm/unaligned.h>

#include "cookie.h"
#include "device.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "ratelimiter.h"
#include "receive.h"
#include "send.h"
#include "socket.h"
#include "timers.h"

enum {
	/* Messages one worker handles before letting others run. */
	WG_HANDSHAKE_BATCH = 16,
};

struct wg_handshake_worker {
	struct work_struct work;
	struct wg_device *wg;
};

/*
 * A backlog past WG_UNDER_LOAD_HANDSHAKES puts the device under load, and
 * it stays so for a second after, so that a flood cannot flap it.
 */
static bool wg_receive_under_load(struct wg_device *wg)
{
	unsigned long now = jiffies;

	if (skb_queue_len_lockless(&wg->handshake_queue) >=
	    WG_UNDER_LOAD_HANDSHAKES) {
		WRITE_ONCE(wg->last_under_load, now);
		return true;
	}
	return time_before(now, READ_ONCE(wg->last_under_load) + HZ);
}

static void wg_receive_handshake(struct wg_device *wg, struct sk_buff *skb)
{
	u32 type = le32_to_cpu(((struct wg_message_header *)skb->data)->type);
	struct wg_endpoint endpoint;
	enum wg_cookie_mac_state mac;
	struct wg_peer *peer = NULL;
	bool under_load;

	if (type == WG_MESSAGE_HANDSHAKE_COOKIE) {
		if (!wg_cookie_message_consume((void *)skb->data, wg))
			atomic64_inc(&wg->stats.handshake_invalid);
		return;
	}

	under_load = wg_receive_under_load(wg);
	mac = wg_cookie_validate_packet(&wg->cookie_checker, skb, under_load);
	if (mac == WG_COOKIE_MAC_INVALID) {
		atomic64_inc(&wg->stats.handshake_invalid_mac);
		return;
	}
	if (under_load && mac != WG_COOKIE_MAC_VALID_WITH_COOKIE) {
		wg_send_cookie_reply(wg, skb);
		return;
	}
	if (under_load && !wg_ratelimiter_allow(skb, dev_net(wg->dev))) {
		atomic64_inc(&wg->stats.handshake_ratelimited);
		return;
	}

	if (type == WG_MESSAGE_HANDSHAKE_INITIATION)
		peer = wg_noise_handshake_consume_initiation((void *)skb->data,
							     wg);
	else
		peer = wg_noise_handshake_consume_response((void *)skb->data,
							   wg);
	if (!peer) {
		atomic64_inc(&wg->stats.handshake_invalid);
		net_dbg_ratelimited("%s: invalid handshake message type %u\n",
				    wg->dev->name, type);
		return;
	}

	/* Authenticated: the peer is wherever this came from. */
	if (!wg_socket_endpoint_from_skb(&endpoint, skb))
		wg_socket_update_peer_endpoint(peer, &endpoint);
	peer->rx_bytes += skb->len;
	wg_timers_on_authenticated_received(peer);
	wg_timers_on_authenticated_traversal(peer);

	if (type == WG_MESSAGE_HANDSHAKE_INITIATION) {
		net_dbg_ratelimited("%s: received handshake initiation from peer %llu\n",
				    wg->dev->name, peer->internal_id);
		wg_send_handshake_response(peer);
	} else {
		net_dbg_ratelimited("%s: received handshake response from peer %llu\n",
				    wg->dev->name, peer->internal_id);
		if (wg_noise_handshake_begin_session(peer)) {
			wg_timers_on_session_derived(peer);
			wg_timers_on_handshake_complete(peer);
			/* Confirms the session so the responder may use it. */
			wg_send_keepalive(peer);
		}
	}
	wg_peer_put(peer);
}

static void wg_receive_handshake_work(struct work_struct *work)
{
	struct wg_handshake_worker *worker =
		container_of(work, struct wg_handshake_worker, work);
	struct wg_device *wg = worker->wg;
	struct sk_buff *skb;
	int done = 0;

	while ((skb = skb_dequeue(&wg->handshake_queue))) {
		wg_receive_handshake(wg, skb);
		kfree_skb(skb);
		if (++done == WG_HANDSHAKE_BATCH) {
			/* Requeued at the tail: fair to the other works. */
			queue_work(wg->handshake_wq, work);
			break;
		}
		cond_resched();
	}
}

static void wg_receive_queue_handshake(struct wg_device *wg,
				       struct sk_buff *skb)
{
	int cpu;

	/* Racing producers may overshoot the bound by a few; it holds. */
	if (unlikely(skb_queue_len_lockless(&wg->handshake_queue) >=
		     WG_MAX_QUEUED_HANDSHAKES)) {
		atomic64_inc(&wg->stats.handshake_backlog_full);
		kfree_skb(skb);
		return;
	}
	skb_queue_tail(&wg->handshake_queue, skb);

	/* Round robin over the online CPUs spreads the Curve25519 work. */
	cpu = cpumask_next(READ_ONCE(wg->handshake_cpu), cpu_online_mask);
	if (cpu >= nr_cpu_ids)
		cpu = cpumask_first(cpu_online_mask);
	WRITE_ONCE(wg->handshake_cpu, cpu);
	queue_work_on(cpu, wg->handshake_wq,
		      &per_cpu_ptr(wg->handshake_workers, cpu)->work);
}

/*
 * Keepalives: authenticated, checked against replay, then consumed.  The
 * replay window wants a single consumer; until the data path provides the
 * ordered receive stage, the keypairs lock serialises it.
 */
static void wg_receive_data(struct wg_device *wg, struct sk_buff *skb)
{
	struct wg_message_data *header = (void *)skb->data;
	struct wg_noise_keypair *keypair = NULL;
	struct wg_index_entry *entry;
	struct wg_endpoint endpoint;
	struct wg_peer *peer = NULL;
	unsigned int len = skb->len;
	bool fresh;
	u64 nonce;

	rcu_read_lock_bh();
	entry = wg_index_table_lookup(wg, WG_INDEX_KEYPAIR,
				      header->receiver_index, &peer);
	if (entry)
		keypair = wg_noise_keypair_get(container_of(entry,
							    struct wg_noise_keypair,
							    entry));
	rcu_read_unlock_bh();
	if (unlikely(!keypair)) {
		atomic64_inc(&wg->stats.rx_no_keypair);
		goto out;
	}

	nonce = le64_to_cpu(get_unaligned(&header->counter));
	if (unlikely(!READ_ONCE(keypair->receiving.is_valid) ||
		     wg_birthdate_has_expired(keypair->receiving.birthdate,
					      WG_REJECT_AFTER_TIME) ||
		     nonce >= WG_REJECT_AFTER_MESSAGES)) {
		atomic64_inc(&wg->stats.rx_no_keypair);
		goto out;
	}
	if (len != WG_MESSAGE_MINIMUM_LEN) {
		atomic64_inc(&wg->stats.rx_data_unsupported);
		goto out;
	}
	if (unlikely(!chacha20poly1305_decrypt(header->encrypted_data,
					       header->encrypted_data,
					       NOISE_AUTHTAG_LEN, NULL, 0,
					       nonce,
					       keypair->receiving.key))) {
		atomic64_inc(&wg->stats.rx_bad_mac);
		goto out;
	}
	spin_lock_bh(&peer->keypairs.lock);
	fresh = wg_replay_window_check(&keypair->receiving_window, nonce);
	spin_unlock_bh(&peer->keypairs.lock);
	if (unlikely(!fresh)) {
		atomic64_inc(&wg->stats.rx_replay);
		goto out;
	}

	if (!wg_socket_endpoint_from_skb(&endpoint, skb))
		wg_socket_update_peer_endpoint(peer, &endpoint);
	peer->rx_bytes += len;
	if (wg_noise_keypair_received_with(&peer->keypairs, keypair))
		wg_timers_on_handshake_complete(peer);
	wg_timers_on_authenticated_received(peer);
	wg_timers_on_authenticated_traversal(peer);
	net_dbg_ratelimited("%s: received keepalive from peer %llu\n",
			    wg->dev->name, peer->internal_id);
out:
	wg_noise_keypair_put(keypair);
	wg_peer_put(peer);
	kfree_skb(skb);
}

/* The message type, once its length is right for the type. */
static u32 wg_receive_classify(struct sk_buff *skb)
{
	u32 type;

	if (unlikely(skb->len < sizeof(struct wg_message_header) ||
		     !pskb_may_pull(skb, sizeof(struct wg_message_header))))
		return WG_MESSAGE_INVALID;
	/* Reserved bytes are part of the value: non-zero ones are invalid. */
	type = le32_to_cpu(((struct wg_message_header *)skb->data)->type);
	switch (type) {
	case WG_MESSAGE_HANDSHAKE_INITIATION:
		return skb->len == WG_HANDSHAKE_INITIATION_LEN ? type : 0;
	case WG_MESSAGE_HANDSHAKE_RESPONSE:
		return skb->len == WG_HANDSHAKE_RESPONSE_LEN ? type : 0;
	case WG_MESSAGE_HANDSHAKE_COOKIE:
		return skb->len == WG_HANDSHAKE_COOKIE_LEN ? type : 0;
	case WG_MESSAGE_DATA:
		return skb->len >= WG_MESSAGE_MINIMUM_LEN ? type : 0;
	}
	return WG_MESSAGE_INVALID;
}

int wg_receive(struct sock *sk, struct sk_buff *skb)
{
	struct wg_device *wg = rcu_dereference_sk_user_data(sk);
	u32 type;

	if (unlikely(!wg))
		goto drop;
	/* The UDP header stays reachable through the transport header. */
	if (unlikely(!pskb_may_pull(skb, sizeof(struct udphdr))))
		goto invalid;
	__skb_pull(skb, sizeof(struct udphdr));

	type = wg_receive_classify(skb);
	switch (type) {
	case WG_MESSAGE_HANDSHAKE_INITIATION:
	case WG_MESSAGE_HANDSHAKE_RESPONSE:
	case WG_MESSAGE_HANDSHAKE_COOKIE:
		if (unlikely(!pskb_may_pull(skb, skb->len)))
			goto invalid;
		wg_receive_queue_handshake(wg, skb);
		return 0;
	case WG_MESSAGE_DATA:
		if (unlikely(!pskb_may_pull(skb, WG_MESSAGE_MINIMUM_LEN)))
			goto invalid;
		wg_receive_data(wg, skb);
		return 0;
	}
invalid:
	DEV_STATS_INC(wg->dev, rx_errors);
	DEV_STATS_INC(wg->dev, rx_frame_errors);
	atomic64_inc(&wg->stats.rx_invalid_message);
drop:
	kfree_skb(skb);
	return 0;
}

int wg_receive_init(struct wg_device *wg)
{
	int cpu;

	skb_queue_head_init(&wg->handshake_queue);
	wg->last_under_load = jiffies - 2 * HZ;
	wg->handshake_wq = alloc_workqueue("wg-hs-%s",
					   WQ_CPU_INTENSIVE | WQ_FREEZABLE, 0,
					   wg->dev ? wg->dev->name : "test");
	if (!wg->handshake_wq)
		return -ENOMEM;
	wg->handshake_workers = alloc_percpu(struct wg_handshake_worker);
	if (!wg->handshake_workers)
		goto err_destroy_wq;
	for_each_possible_cpu(cpu) {
		struct wg_handshake_worker *worker =
			per_cpu_ptr(wg->handshake_workers, cpu);

		INIT_WORK(&worker->work, wg_receive_handshake_work);
		worker->wg = wg;
	}
	return 0;

err_destroy_wq:
	destroy_workqueue(wg->handshake_wq);
	return -ENOMEM;
}

void wg_receive_stop(struct wg_device *wg)
{
	skb_queue_purge(&wg->handshake_queue);
	flush_workqueue(wg->handshake_wq);
	/* A worker may have run one more message meanwhile. */
	skb_queue_purge(&wg->handshake_queue);
}

void wg_receive_uninit(struct wg_device *wg)
{
	wg_receive_stop(wg);
	destroy_workqueue(wg->handshake_wq);
	free_percpu(wg->handshake_workers);
}
