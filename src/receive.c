// SPDX-License-Identifier: GPL-2.0
/*
 * The receive side (see receive.h and the data path in queueing.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/chacha20poly1305.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>
#include <linux/scatterlist.h>
#include <net/gro.h>
#include <net/ip.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/workqueue.h>

#include "compat.h"
#include "cookie.h"
#include "device.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "queueing.h"
#include "ratelimiter.h"
#include "receive.h"
#include "send.h"
#include "socket.h"
#include "stage.h"
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

/*
 * What arrived from @peer, authenticated: the whole message, UDP payload,
 * on the peer and on the device alike, so that the two agree (and agree
 * with the transmit side's counts, wg_socket_send).  BH disabled: the
 * device's counters are per CPU.
 */
static void wg_receive_count(struct wg_peer *peer, unsigned int len)
{
	lockdep_assert_in_softirq();
	atomic64_add(len, &peer->rx_bytes);
	dev_sw_netstats_rx_add(peer->device->dev, len);
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
		if (net_ratelimit() &&
		    !wg_socket_endpoint_from_skb(&endpoint, skb))
			net_dbg_ratelimited("%s: invalid handshake %s from %pISpfsc\n",
					    wg->dev->name,
					    type == WG_MESSAGE_HANDSHAKE_INITIATION ?
					    "initiation" : "response",
					    &endpoint.addr);
		return;
	}

	/* Authenticated: the peer is wherever this came from. */
	if (!wg_socket_endpoint_from_skb(&endpoint, skb))
		wg_socket_update_peer_endpoint(peer, &endpoint);
	/* The handshake worker is a work item: BH on. */
	local_bh_disable();
	wg_receive_count(peer, skb->len);
	local_bh_enable();
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
			/*
			 * The responder may use the session once something
			 * arrives on it: the packets that waited for it, or
			 * else a keepalive.
			 */
			if (wg_mpsc_charged(&peer->tx_prod))
				wg_peer_kick(peer);
			else
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
	cpu = wg_cpu_next_online(&wg->handshake_cpu);
	queue_work_on(cpu, wg->handshake_wq,
		      &per_cpu_ptr(wg->handshake_workers, cpu)->work);
}

/*
 * A data message, from the UDP hook on any CPU: find its session, then
 * queue it on the peer (multi-producer side of its receive queue).
 */
static void wg_receive_data(struct wg_device *wg, struct sk_buff *skb)
{
	struct wg_message_data *header = (void *)skb->data;
	struct wg_noise_keypair *keypair = NULL;
	struct wg_index_entry *entry;
	struct wg_peer *peer = NULL;

	/* The flavour the index table's lookups need (peerlookup.h). */
	rcu_read_lock();
	entry = wg_index_table_lookup(wg, WG_INDEX_KEYPAIR,
				      header->receiver_index, &peer);
	if (entry)
		keypair = wg_noise_keypair_get(container_of(entry,
							    struct wg_noise_keypair,
							    entry));
	rcu_read_unlock();
	if (unlikely(!keypair)) {
		atomic64_inc(&wg->stats.rx_no_keypair);
		DEV_STATS_INC(wg->dev, rx_dropped);
		goto err;
	}
	WG_PACKET_CB(skb)->keypair = keypair;
	WG_PACKET_CB(skb)->nonce = le64_to_cpu(get_unaligned(&header->counter));
	WG_PACKET_CB(skb)->segs = 1;
	if (unlikely(!wg_peer_enqueue(peer, &peer->rx_prod, skb,
				      WG_STAGE_RX_DISPATCH))) {
		if (READ_ONCE(peer->is_dead))
			atomic64_inc(&wg->stats.rx_no_keypair);
		else
			atomic64_inc(&wg->stats.rx_queue_full);
		DEV_STATS_INC(wg->dev, rx_dropped);
		wg_noise_keypair_put(keypair);
		goto err;
	}
	wg_peer_put(peer);
	return;

err:
	wg_peer_put(peer);
	kfree_skb(skb);
}

/* Data: receive (see the data path in queueing.h). */

/* Why a datagram is not delivered, counted where it is found. */
enum wg_rx_drop {
	WG_RX_DELIVER,
	WG_RX_EXPIRED,		/* its session ended while it waited */
	WG_RX_NOMEM,
	WG_RX_BAD_MAC,
	WG_RX_RING_FULL,	/* no room at the decryption worker */
};

static void wg_receive_count_drop(struct wg_device *wg, enum wg_rx_drop why)
{
	switch (why) {
	case WG_RX_DELIVER:
		return;
	case WG_RX_EXPIRED:
		atomic64_inc(&wg->stats.rx_no_keypair);
		break;
	case WG_RX_NOMEM:
		atomic64_inc(&wg->stats.rx_nomem);
		break;
	case WG_RX_BAD_MAC:
		atomic64_inc(&wg->stats.rx_bad_mac);
		DEV_STATS_INC(wg->dev, rx_errors);
		DEV_STATS_INC(wg->dev, rx_crc_errors);
		return;
	case WG_RX_RING_FULL:
		atomic64_inc(&wg->stats.rx_crypt_ring_full);
		break;
	}
	DEV_STATS_INC(wg->dev, rx_dropped);
}

/* Decrypts one datagram in place; leaves skb->data at the plaintext. */
static enum wg_rx_drop wg_receive_decrypt(struct sk_buff *skb, u64 nonce,
					  struct wg_noise_keypair *keypair)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	struct sk_buff *trailer;
	unsigned int len;
	int num_frags;

	if (unlikely(!READ_ONCE(keypair->receiving.is_valid) ||
		     wg_birthdate_has_expired(keypair->receiving.birthdate,
					      WG_REJECT_AFTER_TIME) ||
		     nonce >= WG_REJECT_AFTER_MESSAGES))
		return WG_RX_EXPIRED;
	len = skb->len - WG_DATA_HEADER_LEN;
	num_frags = skb_cow_data(skb, 0, &trailer);
	if (unlikely(num_frags > ARRAY_SIZE(sg))) {
		/*
		 * Reassembled from more fragments than the scatterlist holds
		 * (a 64 KiB datagram in 256-byte pieces): one linear copy.
		 */
		if (skb_linearize(skb))
			return WG_RX_NOMEM;
		num_frags = skb_cow_data(skb, 0, &trailer);
	}
	if (unlikely(num_frags < 0 || num_frags > ARRAY_SIZE(sg)))
		return WG_RX_NOMEM;
	sg_init_table(sg, num_frags);
	if (skb_to_sgvec(skb, sg, WG_DATA_HEADER_LEN, len) <= 0)
		return WG_RX_NOMEM;
	/* Unlike encryption, the length given here includes the tag. */
	if (!chacha20poly1305_decrypt_sg_inplace(sg, len, NULL, 0, nonce,
						 keypair->receiving.key))
		return WG_RX_BAD_MAC;
	/* The outer headers stay reachable for roaming: only data moves. */
	__skb_pull(skb, WG_DATA_HEADER_LEN);
	return pskb_trim(skb, len - NOISE_AUTHTAG_LEN) ? WG_RX_NOMEM :
							 WG_RX_DELIVER;
}

/*
 * Makes sure the peer's NAPI instance polls after a packet of the peer
 * finished; see the liveness invariant in queueing.h.  BH disabled: the
 * poll runs when the caller enables BH again.
 */
static void wg_receive_kick_napi(struct wg_peer *peer)
{
	struct wg_device *wg = peer->device;
	struct wg_napi *wn = &wg->napis[peer->napi_index];

	lockdep_assert_in_softirq();
	if (!test_and_set_bit(WG_PEER_RX_READY, &peer->control)) {
		wg_peer_get(peer);
		spin_lock(&wn->lock);
		list_add_tail(&peer->napi_node, &wn->ready);
		spin_unlock(&wn->lock);
	}
	napi_schedule(&wn->napi);
}

/* One packet of a decryption worker's batch, BH disabled. */
static void wg_receive_decrypt_one(struct sk_buff *skb)
{
	struct wg_packet_cb *cb = WG_PACKET_CB(skb);
	struct wg_peer *peer = wg_peer_get(cb->keypair->entry.peer);
	enum wg_rx_drop why = wg_receive_decrypt(skb, cb->nonce, cb->keypair);

	/* Counted now: the skb is not ours once its state is set. */
	wg_receive_count_drop(peer->device, why);
	wg_packet_set_state(skb, why == WG_RX_DELIVER ? WG_PACKET_DONE :
							WG_PACKET_DEAD);
	wg_receive_kick_napi(peer);
	wg_peer_put(peer);
}

/*
 * Per-CPU decryption worker: any packet, any peer, in parallel, in
 * batches, so that one NAPI poll, and GRO, sees the batch.
 */
void wg_receive_decrypt_work(struct work_struct *work)
{
	wg_crypt_worker_drain(container_of(work, struct wg_crypt_worker, work),
			      wg_receive_decrypt_one);
}

/*
 * Single consumer of the peer's receive queue, rx_prod and rx_cons:
 * WG_STAGE_RX_DISPATCH's runner.
 */
unsigned int wg_receive_dispatch(struct wg_peer *peer, unsigned int budget)
{
	struct wg_device *wg = peer->device;
	unsigned int consumed = 0;
	struct sk_buff *skb;

	wg_peer_assert_stage_held(peer, WG_STAGE_RX_DISPATCH);
	while (consumed < budget &&
	       (skb = wg_mpsc_dequeue(&peer->rx_prod, &peer->rx_cons))) {
		++consumed;
		atomic_set(&WG_PACKET_CB(skb)->state, WG_PACKET_QUEUED);
		wg_ordered_list_append(&peer->rx_ordered, skb);
		if (unlikely(!wg_crypt_dispatch(wg, wg->decrypt_workers, skb))) {
			wg_receive_count_drop(wg, WG_RX_RING_FULL);
			wg_packet_set_state(skb, WG_PACKET_DEAD);
			local_bh_disable();
			wg_receive_kick_napi(peer);
			local_bh_enable();
		}
	}
	wg_mpsc_consumed(&peer->rx_prod, consumed);
	return consumed;
}

/* The inner packet's length from its own header; 0 when malformed. */
static unsigned int wg_receive_inner_len(struct sk_buff *skb)
{
	if (skb->len >= sizeof(struct iphdr) && ip_hdr(skb)->version == 4) {
		skb->protocol = htons(ETH_P_IP);
		return ntohs(ip_hdr(skb)->tot_len) >= sizeof(struct iphdr) ?
		       ntohs(ip_hdr(skb)->tot_len) : 0;
	}
	if (skb->len >= sizeof(struct ipv6hdr) &&
	    ipv6_hdr(skb)->version == 6) {
		skb->protocol = htons(ETH_P_IPV6);
		return ntohs(ipv6_hdr(skb)->payload_len) +
		       sizeof(struct ipv6hdr);
	}
	return 0;
}

/*
 * One authenticated, fresh packet of @peer, in order: roaming, timers,
 * then, unless it is a keepalive, the inner packet's checks and GRO.
 */
static void wg_receive_deliver(struct wg_peer *peer,
			       struct wg_noise_keypair *keypair,
			       struct sk_buff *skb, struct napi_struct *napi)
{
	struct wg_device *wg = peer->device;
	struct net_device *dev = wg->dev;
	unsigned int len, message_len;
	struct wg_endpoint endpoint;
	struct wg_peer *routed;

	if (!wg_socket_endpoint_from_skb(&endpoint, skb))
		wg_socket_update_peer_endpoint(peer, &endpoint);
	if (unlikely(wg_noise_keypair_received_with(&peer->keypairs,
						    keypair))) {
		/* The responder's session is confirmed: send what waited. */
		wg_timers_on_handshake_complete(peer);
		wg_peer_kick(peer);
	}
	wg_timers_on_authenticated_received(peer);
	wg_timers_on_authenticated_traversal(peer);
	/* Counted once the inner packet is known good (below), as in-tree. */
	message_len = skb->len + WG_MESSAGE_MINIMUM_LEN;
	/*
	 * An initiator whose session is about to be rejected renews it now,
	 * leaving a keepalive period and a handshake's time to spare.
	 */
	if (unlikely(keypair->i_am_the_initiator &&
		     wg_birthdate_has_expired(keypair->sending.birthdate,
					      WG_REJECT_AFTER_TIME -
					      WG_KEEPALIVE_TIMEOUT -
					      WG_REKEY_TIMEOUT)))
		wg_send_handshake_initiation(peer, false);

	if (!skb->len) {
		net_dbg_ratelimited("%s: received keepalive from peer %llu\n",
				    dev->name, peer->internal_id);
		wg_receive_count(peer, message_len);
		consume_skb(skb);
		return;
	}
	wg_timers_on_data_received(peer);

	skb_reset_network_header(skb);
	if (unlikely(!pskb_may_pull(skb, sizeof(struct iphdr)) ||
		     (ip_hdr(skb)->version == 6 &&
		      !pskb_may_pull(skb, sizeof(struct ipv6hdr)))))
		goto invalid;
	len = wg_receive_inner_len(skb);
	if (unlikely(!len || len > skb->len || pskb_trim(skb, len)))
		goto invalid;

	rcu_read_lock_bh();
	routed = wg_allowedips_lookup_src(&wg->peer_allowedips, skb);
	rcu_read_unlock_bh();
	if (unlikely(routed != peer)) {
		atomic64_inc(&wg->stats.rx_allowedips_mismatch);
		DEV_STATS_INC(dev, rx_errors);
		DEV_STATS_INC(dev, rx_frame_errors);
		net_dbg_ratelimited("%s: peer %llu sent a packet from outside its allowed IPs\n",
				    dev->name, peer->internal_id);
		kfree_skb(skb);
		return;
	}

	skb_scrub_packet(skb, true);
	skb->dev = dev;
	skb->pkt_type = PACKET_HOST;
	skb_reset_mac_header(skb);
	skb_reset_transport_header(skb);
	skb_probe_transport_header(skb);
	/* Authenticated end to end: no checksum needs checking again. */
	skb->ip_summed = CHECKSUM_UNNECESSARY;
	skb->csum_level = ~0;
	wg_receive_count(peer, message_len);
	napi_gro_receive(napi, skb);
	return;

invalid:
	DEV_STATS_INC(dev, rx_errors);
	DEV_STATS_INC(dev, rx_length_errors);
	kfree_skb(skb);
}

/*
 * Delivers up to @budget finished packets of @peer, in order.  Only the
 * peer's NAPI instance calls this, so the replay window has one consumer.
 */
static int wg_receive_peer(struct wg_peer *peer, struct napi_struct *napi,
			   int budget)
{
	struct wg_device *wg = peer->device;
	struct sk_buff *skb;
	int done = 0;

	while (done < budget &&
	       (skb = wg_ordered_list_pop_finished(&peer->rx_ordered))) {
		struct wg_packet_cb *cb = WG_PACKET_CB(skb);
		struct wg_noise_keypair *keypair = cb->keypair;

		++done;
		if (unlikely(wg_packet_state(skb) != WG_PACKET_DONE)) {
			/* Counted by cause where it failed. */
			kfree_skb(skb);
		} else if (unlikely(!wg_replay_window_check(&keypair->receiving_window,
							     cb->nonce))) {
			atomic64_inc(&wg->stats.rx_replay);
			DEV_STATS_INC(wg->dev, rx_errors);
			DEV_STATS_INC(wg->dev, rx_fifo_errors);
			kfree_skb(skb);
		} else {
			wg_receive_deliver(peer, keypair, skb, napi);
		}
		wg_noise_keypair_put(keypair);
	}
	return done;
}

int wg_receive_napi_poll(struct napi_struct *napi, int budget)
{
	struct wg_napi *wn = container_of(napi, struct wg_napi, napi);
	struct wg_peer *peer;
	int work = 0;

	while (work < budget) {
		spin_lock_bh(&wn->lock);
		peer = list_first_entry_or_null(&wn->ready, struct wg_peer,
						napi_node);
		if (peer)
			list_del_init(&peer->napi_node);
		spin_unlock_bh(&wn->lock);
		if (!peer)
			break;

		work += wg_receive_peer(peer, napi, budget - work);
		/*
		 * Off the list, and unless its head is finished, not ready:
		 * clear first, then look (the liveness invariant).
		 */
		clear_bit(WG_PEER_RX_READY, &peer->control);
		/* Clear, then look; the worker publishes, then tests. */
		smp_mb__after_atomic();
		if (wg_ordered_list_head_finished(&peer->rx_ordered) &&
		    !test_and_set_bit(WG_PEER_RX_READY, &peer->control)) {
			spin_lock_bh(&wn->lock);
			list_add_tail(&peer->napi_node, &wn->ready);
			spin_unlock_bh(&wn->lock);
			continue;	/* the list keeps our reference */
		}
		wg_peer_put(peer);
	}
	if (work < budget && napi_complete_done(napi, work)) {
		/* A peer queued as we completed must not wait. */
		spin_lock_bh(&wn->lock);
		if (!list_empty(&wn->ready))
			napi_schedule(napi);
		spin_unlock_bh(&wn->lock);
	}
	return work;
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

	/*
	 * A UDP GSO packet that reached the socket whole (from a UDP_SEGMENT
	 * sender over loopback or veth: wgmpsc's own batches, wireguard-go's)
	 * arrives cut into datagrams that the stack still links through
	 * ->next, which it walks with its own copy: off that list, each is a
	 * datagram on its own, as our queues and GRO require.
	 */
	skb_mark_not_on_list(skb);
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
		if (unlikely(!pskb_may_pull(skb, WG_DATA_HEADER_LEN)))
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
					   WQ_PERCPU | WQ_CPU_INTENSIVE |
					   WQ_FREEZABLE, 0,
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
