// SPDX-License-Identifier: GPL-2.0
/*
 * Transmission: handshake messages, keepalives and the data path's
 * transmit side (see send.h and queueing.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/chacha20poly1305.h>
#include <linux/icmp.h>
#include <linux/icmpv6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/udp.h>
#include <linux/workqueue.h>
#include <net/dst_metadata.h>
#include <net/icmp.h>
#include <net/ip_tunnels.h>
#include <net/ipv6.h>

#include "compat.h"
#include "cookie.h"
#include "device.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "queueing.h"
#include "receive.h"
#include "send.h"
#include "socket.h"
#include "stage.h"
#include "timers.h"

void wg_send_init_peer(struct wg_peer *peer)
{
	/* So that the first initiation may leave at once. */
	peer->last_sent_handshake = ktime_get_coarse_boottime_ns() -
				    (u64)(WG_REKEY_TIMEOUT + 1) * NSEC_PER_SEC;
}

void wg_send_stop_peer(struct wg_peer *peer)
{
	flush_work(&peer->work);
}

/*
 * What may sleep (Noise takes semaphores) runs in the peer's work, ahead
 * of its packets; a request made while the work is queued rides along.
 * Removal waits a grace period and flushes the work (see wg_peer_kick).
 */
static void wg_send_queue_control(struct wg_peer *peer,
				  enum wg_control_bits bit)
{
	set_bit(bit, &peer->control);
	wg_peer_kick(peer);
}

static void wg_send_initiation_now(struct wg_peer *peer)
{
	struct wg_message_handshake_initiation packet;

	if (!wg_birthdate_has_expired(READ_ONCE(peer->last_sent_handshake),
				      WG_REKEY_TIMEOUT))
		return;
	WRITE_ONCE(peer->last_sent_handshake, ktime_get_coarse_boottime_ns());
	net_dbg_ratelimited("%s: sending handshake initiation to peer %llu (%pISpfsc)\n",
			    peer->device->dev->name, peer->internal_id,
			    &peer->endpoint.addr);

	if (!wg_noise_handshake_create_initiation(&packet, peer))
		return;
	wg_cookie_add_mac_to_packet(&packet, sizeof(packet), peer);
	wg_timers_on_authenticated_traversal(peer);
	/*
	 * The retransmission is armed before the initiation leaves: the
	 * response may complete the handshake on another CPU before the send
	 * returns, and its cancel must come after this arm (seen on 6.12 and
	 * 7.3 over loopback: a retry 5 s after a completed handshake).
	 */
	wg_timers_on_handshake_initiated(peer);
	wg_socket_send_buffer(peer, &packet, sizeof(packet));
}

void wg_send_control(struct wg_peer *peer)
{
	if (test_and_clear_bit(WG_CONTROL_ZERO_KEYS, &peer->control)) {
		pr_debug("%s: zeroing keys of peer %llu after %d seconds without a handshake\n",
			 peer->device->dev->name, peer->internal_id,
			 WG_REJECT_AFTER_TIME * 3);
		wg_noise_handshake_clear(&peer->handshake);
		wg_noise_keypairs_clear(&peer->keypairs);
	}
	/* Nor does a device that is down, or going down, start one. */
	if (test_and_clear_bit(WG_CONTROL_INITIATE, &peer->control) &&
	    !READ_ONCE(peer->is_dead) && netif_running(peer->device->dev))
		wg_send_initiation_now(peer);
}

void wg_send_handshake_initiation(struct wg_peer *peer, bool is_retry)
{
	if (!is_retry)
		peer->timers.handshake_attempts = 0;
	/* The cheap early check; the work checks again before sending. */
	if (!wg_birthdate_has_expired(READ_ONCE(peer->last_sent_handshake),
				      WG_REKEY_TIMEOUT))
		return;
	wg_send_queue_control(peer, WG_CONTROL_INITIATE);
}

void wg_send_queue_zero_key_material(struct wg_peer *peer)
{
	wg_send_queue_control(peer, WG_CONTROL_ZERO_KEYS);
}

void wg_send_handshake_response(struct wg_peer *peer)
{
	struct wg_message_handshake_response packet;

	net_dbg_ratelimited("%s: sending handshake response to peer %llu (%pISpfsc)\n",
			    peer->device->dev->name, peer->internal_id,
			    &peer->endpoint.addr);
	WRITE_ONCE(peer->last_sent_handshake, ktime_get_coarse_boottime_ns());

	if (!wg_noise_handshake_create_response(&packet, peer))
		return;
	wg_cookie_add_mac_to_packet(&packet, sizeof(packet), peer);
	/* The responder's keypair waits as "next" for the first data. */
	if (!wg_noise_handshake_begin_session(peer))
		return;
	wg_timers_on_session_derived(peer);
	wg_timers_on_authenticated_traversal(peer);
	wg_timers_on_authenticated_sent(peer);
	wg_socket_send_buffer(peer, &packet, sizeof(packet));
}

void wg_send_cookie_reply(struct wg_device *wg, struct sk_buff *in_skb)
{
	struct wg_message_handshake_cookie packet;

	if (!wg_cookie_message_create(&packet, in_skb, &wg->cookie_checker))
		return;
	net_dbg_ratelimited("%s: under load, sending a cookie reply\n",
			    wg->dev->name);
	wg_socket_reply_buffer(wg, in_skb, &packet, sizeof(packet));
	atomic64_inc(&wg->stats.cookie_replies_sent);
}

/* Data: transmit (see the data path in queueing.h). */

enum {
	WG_MESSAGE_PADDING_MULTIPLE = 16,
	/* Room for the data header and every outer header. */
	WG_DATA_HEADROOM = LL_MAX_HEADER + sizeof(struct ipv6hdr) +
			   sizeof(struct udphdr) + WG_DATA_HEADER_LEN,
};

/* The packet is IPv4 or IPv6, and says so in skb->protocol. */
static bool wg_check_packet_protocol(struct sk_buff *skb)
{
	__be16 real = ip_tunnel_parse_protocol(skb);

	return real && skb->protocol == real;
}

/* No peer for a destination: tell the sender, as a router would. */
static void wg_send_unreachable(struct sk_buff *skb)
{
	if (skb->protocol == htons(ETH_P_IP))
		icmp_ndo_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0);
	else if (skb->protocol == htons(ETH_P_IPV6))
		icmpv6_ndo_send(skb, ICMPV6_DEST_UNREACH, ICMPV6_ADDR_UNREACH,
				0);
}

/* Padding hides lengths in 16-byte steps, but never past the MTU. */
static unsigned int wg_send_padded_len(unsigned int len, unsigned int mtu)
{
	unsigned int padded = ALIGN(len, WG_MESSAGE_PADDING_MULTIPLE);

	return min(padded, max(len, mtu));
}

/* Encrypts one segment in place into a whole data message. */
static bool wg_send_encrypt_segment(struct sk_buff *skb, u64 nonce,
				    struct wg_noise_keypair *keypair, u32 mtu)
{
	struct scatterlist sg[MAX_SKB_FRAGS + 8];
	unsigned int plaintext_len, padding_len;
	struct wg_message_data *header;
	struct sk_buff *trailer;
	int num_frags;

	/* The checksum is ours to finish, here, in parallel. */
	if (skb->ip_summed == CHECKSUM_PARTIAL && skb_checksum_help(skb))
		return false;
	plaintext_len = skb->len;
	padding_len = wg_send_padded_len(plaintext_len, mtu) - plaintext_len;

	if (unlikely(skb_cow_head(skb, WG_DATA_HEADER_LEN)))
		return false;
	num_frags = skb_cow_data(skb, padding_len + NOISE_AUTHTAG_LEN,
				 &trailer);
	if (unlikely(num_frags < 0 || num_frags > ARRAY_SIZE(sg)))
		return false;
	memset(pskb_put(skb, trailer, padding_len + NOISE_AUTHTAG_LEN), 0,
	       padding_len);

	header = skb_push(skb, sizeof(*header));
	/* Where the device's transmit count starts (wg_socket_send). */
	skb_set_inner_network_header(skb, 0);
	header->header.type = cpu_to_le32(WG_MESSAGE_DATA);
	header->receiver_index = keypair->remote_index;
	header->counter = cpu_to_le64(nonce);

	sg_init_table(sg, num_frags);
	if (skb_to_sgvec(skb, sg, sizeof(*header),
			 plaintext_len + padding_len + NOISE_AUTHTAG_LEN) <= 0)
		return false;
	return chacha20poly1305_encrypt_sg_inplace(sg,
						   plaintext_len + padding_len,
						   NULL, 0, nonce,
						   keypair->sending.key);
}

/*
 * Outer UDP GSO.  The segments of one GSO packet from the stack above
 * encrypt to messages of one length, but the last, which may be shorter:
 * the shape of a UDP GSO packet (a socket's UDP_SEGMENT).  Such a node
 * leaves as UDP GSO skbs whose payload is the messages back to back, with
 * gso_size the message length, so the outer UDP and IP layers, netfilter
 * and the route's device are passed once per skb; the stack, or a device
 * with UDP segmentation offload, cuts them into the same datagrams that
 * would have left one by one, each a whole message on its own.
 *
 * One outer skb holds what one IPv4 datagram could (its length field is
 * 16 bits) and at most UDP_MAX_SEGMENTS messages: a 64 KiB node of
 * full-sized segments is already a little more than that (the headers of
 * every segment, the overhead of every message), and a big TCP node
 * (wg_setup() allows them) is several times that.  A node splits
 * into evenly filled outer skbs; one of a single message is an ordinary
 * datagram.
 *
 * The messages are built straight into the outer skbs' pages: the copy
 * of the segment's shared pages that skb_cow_data() would make anyway,
 * then encryption in place.  Anything else (a single packet, unequal
 * lengths, no high-order page to be had) takes the per-segment path.
 */
enum {
	/* Message bytes in one outer skb: an IPv4 datagram's, at most. */
	WG_GSO_MAX_BYTES = IP_MAX_MTU - sizeof(struct iphdr) -
			   sizeof(struct udphdr),
};

enum wg_gso_result { WG_GSO_NONE, WG_GSO_DONE, WG_GSO_FAILED };

static unsigned int wg_send_message_len(unsigned int plaintext_len, u32 mtu)
{
	return WG_DATA_HEADER_LEN + wg_send_padded_len(plaintext_len, mtu) +
	       NOISE_AUTHTAG_LEN;
}

/* An outer skb with one page for @bytes of messages, or NULL. */
static struct sk_buff *wg_send_gso_alloc(unsigned int bytes)
{
	unsigned int order = get_order(bytes);
	struct sk_buff *outer;
	struct page *page;

	outer = alloc_skb(WG_DATA_HEADROOM, GFP_ATOMIC);
	if (unlikely(!outer))
		return NULL;
	page = alloc_pages(GFP_ATOMIC | __GFP_COMP | __GFP_NOWARN |
			   __GFP_NORETRY, order);
	if (unlikely(!page)) {
		kfree_skb(outer);
		return NULL;
	}
	skb_reserve(outer, WG_DATA_HEADROOM);
	/* Where the device's transmit count starts (wg_socket_send). */
	skb_set_inner_network_header(outer, 0);
	skb_add_rx_frag(outer, 0, page, 0, bytes, PAGE_SIZE << order);
	return outer;
}

/*
 * Copies @skb's @len bytes to @to.  A checksum left partial by the stack
 * above is finished on the way, from the bytes being copied, as
 * skb_checksum_help() would finish it in the skb: one pass over the
 * payload instead of two.
 */
static bool wg_send_copy_csum(struct sk_buff *skb, u8 *to, unsigned int len)
{
	unsigned int start, where;
	__wsum csum;

	if (skb->ip_summed != CHECKSUM_PARTIAL)
		return !skb_copy_bits(skb, 0, to, len);
	start = skb_checksum_start_offset(skb);
	where = start + skb->csum_offset;
	/* Not an Internet checksum, or not where it can be: the long way. */
	if (unlikely(skb->csum_not_inet || start >= len ||
		     where + sizeof(__sum16) > len))
		return !skb_checksum_help(skb) &&
		       !skb_copy_bits(skb, 0, to, len);
	if (skb_copy_bits(skb, 0, to, start))
		return false;
	/* The sum covers the pseudo-header's, already in the field. */
	csum = skb_copy_and_csum_bits(skb, start, to + start, len - start);
	*(__sum16 *)(to + where) = csum_fold(csum) ?: CSUM_MANGLED_0;
	return true;
}

/*
 * Encrypts @count segments from *@skbp on into @outer's page, moving
 * *@skbp past them.  False if a segment could not be read.
 */
static bool wg_send_gso_fill(struct sk_buff *outer, struct sk_buff **skbp,
			     unsigned int count, u64 *nonce,
			     struct wg_noise_keypair *keypair, u32 mtu)
{
	u8 *base = skb_frag_address(&skb_shinfo(outer)->frags[0]);
	struct sk_buff *skb = *skbp;
	unsigned int offset = 0;

	for (; count; --count, skb = skb->next) {
		struct wg_message_data *header = (void *)(base + offset);
		unsigned int len = skb->len;
		unsigned int padded = wg_send_padded_len(len, mtu);
		u8 *plaintext = base + offset + WG_DATA_HEADER_LEN;

		/* The checksum is ours to finish, here, in parallel. */
		if (!wg_send_copy_csum(skb, plaintext, len))
			return false;
		memset(plaintext + len, 0, padded - len);
		header->header.type = cpu_to_le32(WG_MESSAGE_DATA);
		header->receiver_index = keypair->remote_index;
		header->counter = cpu_to_le64(*nonce);
		chacha20poly1305_encrypt(plaintext, plaintext, padded, NULL, 0,
					 (*nonce)++, keypair->sending.key);
		offset += WG_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
	}
	*skbp = skb;
	return true;
}

static enum wg_gso_result wg_send_encrypt_gso(struct sk_buff *first,
					      u64 nonce,
					      struct wg_noise_keypair *keypair,
					      u32 mtu)
{
	unsigned int size, last = 0, segs = 0, per, chunks, i;
	struct sk_buff *outers = NULL, **tail = &outers;
	struct sk_buff *skb, *next, *outer;

	size = wg_send_message_len(first->len, mtu);
	skb_list_walk_safe(first, skb, next) {
		last = wg_send_message_len(skb->len, mtu);
		if (last > size || (last < size && next))
			return WG_GSO_NONE;
		++segs;
	}
	per = min_t(unsigned int, UDP_MAX_SEGMENTS, WG_GSO_MAX_BYTES / size);
	if (segs < 2 || per < 2)
		return WG_GSO_NONE;
	chunks = DIV_ROUND_UP(segs, per);
	/*
	 * Every page first: a node either leaves batched whole or takes the
	 * per-segment path whole, with its nonces untouched.  Chunk i holds
	 * segs / chunks messages, one more for the first segs % chunks.
	 */
	for (i = 0; i < chunks; ++i) {
		unsigned int count = segs / chunks + (i < segs % chunks);
		unsigned int bytes = count * size;

		if (i == chunks - 1)
			bytes -= size - last;
		outer = wg_send_gso_alloc(bytes);
		if (unlikely(!outer)) {
			kfree_skb_list(outers);
			return WG_GSO_NONE;
		}
		if (count > 1) {
			skb_shinfo(outer)->gso_size = size;
			skb_shinfo(outer)->gso_type = SKB_GSO_UDP_L4;
			skb_shinfo(outer)->gso_segs = count;
		}
		*tail = outer;
		tail = &outer->next;
	}
	skb = first;
	for (outer = outers; outer; outer = outer->next) {
		unsigned int count = max_t(unsigned int,
					   skb_shinfo(outer)->gso_segs, 1);

		if (!wg_send_gso_fill(outer, &skb, count, &nonce, keypair,
				      mtu)) {
			kfree_skb_list(outers);
			return WG_GSO_FAILED;
		}
	}
	/* The segments were copied: only the head stays, to carry the node. */
	while ((skb = first->next)) {
		first->next = skb->next;
		consume_skb(skb);
	}
	first->next = outers;
	return WG_GSO_DONE;
}

/* One node of an encryption worker's batch, BH disabled. */
static void wg_send_encrypt_one(struct sk_buff *first)
{
	struct wg_packet_cb *cb = WG_PACKET_CB(first);
	enum wg_packet_state state = WG_PACKET_DONE;
	enum wg_gso_result gso = WG_GSO_NONE;
	struct sk_buff *skb, *next;
	struct wg_peer *peer;
	u64 nonce = cb->nonce;

	if (cb->segs > 1)
		gso = wg_send_encrypt_gso(first, nonce, cb->keypair, cb->mtu);
	if (gso == WG_GSO_DONE)
		cb->outer_gso = 1;
	else if (gso == WG_GSO_FAILED)
		state = WG_PACKET_DEAD;
	else
		skb_list_walk_safe(first, skb, next) {
			if (unlikely(!wg_send_encrypt_segment(skb, nonce++,
							      cb->keypair,
							      cb->mtu))) {
				state = WG_PACKET_DEAD;
				break;
			}
		}
	/* Once published, the node may be sent and freed at once. */
	peer = wg_peer_get(cb->keypair->entry.peer);
	wg_packet_set_state(first, state);
	wg_peer_run_stage(peer, WG_STAGE_TX_FLUSH);
	wg_peer_put(peer);
}

/*
 * Per-CPU encryption worker: any node, any peer, in parallel, in batches,
 * so that what a batch sends is received on the other side as a batch too.
 */
void wg_send_encrypt_work(struct work_struct *work)
{
	wg_crypt_worker_drain(container_of(work, struct wg_crypt_worker, work),
			      wg_send_encrypt_one);
}

/*
 * The ordered stage: sends the finished nodes at the head of the peer's
 * list, in nonce order.  WG_STAGE_TX_FLUSH's runner only.
 */
unsigned int wg_send_flush(struct wg_peer *peer, unsigned int budget)
{
	struct wg_device *wg = peer->device;
	struct sk_buff *first, *skb, *next;
	unsigned int nodes = 0;
	bool sent = false, data = false;

	wg_peer_assert_stage_held(peer, WG_STAGE_TX_FLUSH);
	while (nodes < budget &&
	       (first = wg_ordered_list_pop_finished(&peer->tx_ordered))) {
		struct wg_packet_cb *cb = WG_PACKET_CB(first);
		struct wg_noise_keypair *keypair = cb->keypair;
		u8 ds = cb->ds;

		++nodes;
		if (unlikely(wg_packet_state(first) != WG_PACKET_DONE)) {
			DEV_STATS_INC(wg->dev, tx_errors);
			kfree_skb_list(first);
			wg_noise_keypair_put(keypair);
			continue;
		}
		sent = true;
		/*
		 * Armed before the first data leaves: the answer, which
		 * cancels it, may come back on another CPU before the send
		 * returns, and an arm after that cancel would start a
		 * needless handshake.
		 */
		if (cb->inner_len && !data) {
			data = true;
			wg_timers_on_data_sent(peer);
		}
		/* The head only carries a node whose messages are outer skbs. */
		if (cb->outer_gso) {
			skb = first;
			first = first->next;
			skb->next = NULL;
			consume_skb(skb);
		}
		skb_list_walk_safe(first, skb, next) {
			skb_mark_not_on_list(skb);
			wg_socket_send_skb(peer, skb, ds);
		}
		wg_noise_keypair_put(keypair);
	}
	if (!sent)
		return nodes;
	wg_timers_on_authenticated_sent(peer);
	wg_timers_on_authenticated_traversal(peer);
	return nodes;
}

/*
 * A keypair may send while valid, younger than REJECT_AFTER_TIME and short
 * of REJECT_AFTER_MESSAGES.  Reserves @count nonces, or returns U64_MAX.
 */
static u64 wg_send_take_nonces(struct wg_noise_keypair *keypair,
			       unsigned int count)
{
	u64 nonce;

	if (unlikely(!READ_ONCE(keypair->sending.is_valid) ||
		     wg_birthdate_has_expired(keypair->sending.birthdate,
					      WG_REJECT_AFTER_TIME)))
		return U64_MAX;
	nonce = atomic64_add_return(count, &keypair->sending_counter) - count;
	if (unlikely(nonce + count > WG_REJECT_AFTER_MESSAGES)) {
		WRITE_ONCE(keypair->sending.is_valid, false);
		return U64_MAX;
	}
	return nonce;
}

/* The initiator renews a session before its age or count runs out. */
static bool wg_send_should_rekey(struct wg_noise_keypair *keypair, u64 nonce)
{
	return keypair->i_am_the_initiator &&
	       (nonce > WG_REKEY_AFTER_MESSAGES ||
		wg_birthdate_has_expired(keypair->sending.birthdate,
					 WG_REKEY_AFTER_TIME));
}

/*
 * Single consumer of the peer's transmit queue, tx_prod and tx_cons
 * (WG_STAGE_TX_DISPATCH's runner):
 * nonces in queue order, then off to the crypto workers.  Without a
 * usable session the packets stay queued (the queue's bound is their
 * bound) and a handshake starts; the new session runs the stage again.
 */
unsigned int wg_send_dispatch(struct wg_peer *peer, unsigned int budget)
{
	struct wg_device *wg = peer->device;
	struct wg_noise_keypair *keypair;
	unsigned int nodes = 0, charged = 0;
	bool rekey = false, dead = false;
	struct sk_buff *first;

	wg_peer_assert_stage_held(peer, WG_STAGE_TX_DISPATCH);
	if (!wg_mpsc_peek(&peer->tx_prod, &peer->tx_cons))
		return 0;
	rcu_read_lock_bh();
	keypair = rcu_dereference_bh(peer->keypairs.current_keypair);
	keypair = keypair ? wg_noise_keypair_get(keypair) : NULL;
	rcu_read_unlock_bh();

	while (nodes < budget &&
	       (first = wg_mpsc_peek(&peer->tx_prod, &peer->tx_cons))) {
		struct wg_packet_cb *cb = WG_PACKET_CB(first);
		/* Once dispatched, the node may be sent and freed at once. */
		unsigned int segs = cb->segs;
		u64 nonce = keypair ? wg_send_take_nonces(keypair, segs) :
				      U64_MAX;

		if (nonce == U64_MAX) {
			rekey = true;
			break;
		}
		wg_mpsc_dequeue(&peer->tx_prod, &peer->tx_cons);
		++nodes;
		charged += segs;
		cb->nonce = nonce;
		cb->keypair = wg_noise_keypair_get_another(keypair);
		atomic_set(&cb->state, WG_PACKET_QUEUED);
		wg_ordered_list_append(&peer->tx_ordered, first);
		if (unlikely(!wg_crypt_dispatch(wg, wg->encrypt_workers,
						first))) {
			atomic64_inc(&wg->stats.tx_crypt_ring_full);
			wg_packet_set_state(first, WG_PACKET_DEAD);
			dead = true;
		}
		rekey |= wg_send_should_rekey(keypair, nonce + segs);
	}
	wg_mpsc_consumed(&peer->tx_prod, charged);
	/* No worker will finish those: the flush must see them now. */
	if (unlikely(dead))
		wg_peer_run_stage(peer, WG_STAGE_TX_FLUSH);
	if (rekey)
		wg_send_handshake_initiation(peer, false);
	wg_noise_keypair_put(keypair);
	return nodes;
}

/* ndo_start_xmit: routes, segments and queues; never blocks. */
netdev_tx_t wg_send_xmit(struct wg_device *wg, struct sk_buff *skb)
{
	struct net_device *dev = wg->dev;
	struct sk_buff *segs, *seg, *next;
	unsigned int segs_count = 0, inner_len = 0;
	struct wg_peer *peer;
	u32 mtu;
	u8 ds;

	if (unlikely(!wg_check_packet_protocol(skb))) {
		atomic64_inc(&wg->stats.tx_bad_protocol);
		goto err;
	}
	rcu_read_lock_bh();
	peer = wg_peer_get_maybe_zero(wg_allowedips_lookup_dst(&wg->peer_allowedips,
							       skb));
	rcu_read_unlock_bh();
	if (unlikely(!peer)) {
		atomic64_inc(&wg->stats.tx_no_peer);
		net_dbg_ratelimited("%s: no peer for this destination\n",
				    dev->name);
		wg_send_unreachable(skb);
		goto err;
	}
	if (unlikely(!READ_ONCE(peer->endpoint.addr.sa_family))) {
		atomic64_inc(&wg->stats.tx_no_endpoint);
		net_dbg_ratelimited("%s: peer %llu has no endpoint\n",
				    dev->name, peer->internal_id);
		wg_send_unreachable(skb);
		goto err_put_peer;
	}

	mtu = skb_valid_dst(skb) ? dst_mtu(skb_dst(skb)) : dev->mtu;
	/* Outer ECN follows the inner packet's, one value for its segments. */
	ds = ip_tunnel_ecn_encap(0, ip_hdr(skb), skb);
	if (skb_is_gso(skb)) {
		if (skb->len > GSO_LEGACY_MAX_SIZE)
			atomic64_inc(&wg->stats.tx_big_gso_packets);
		/*
		 * Segments share the packet's pages and keep their checksum
		 * partial: the copy (skb_cow_data) and the checksum happen in
		 * the crypto workers, in parallel, not here on one CPU.
		 */
		segs = skb_gso_segment(skb, NETIF_F_SG | NETIF_F_HW_CSUM);
		if (IS_ERR_OR_NULL(segs))
			goto err_put_peer;
		consume_skb(skb);
		skb = segs;
	} else {
		skb_mark_not_on_list(skb);
	}
	skb_list_walk_safe(skb, seg, next) {
		skb_dst_drop(seg);
		++segs_count;
		inner_len += seg->len;
	}
	WG_PACKET_CB(skb)->ds = ds;
	WG_PACKET_CB(skb)->mtu = mtu;
	WG_PACKET_CB(skb)->segs = segs_count;
	WG_PACKET_CB(skb)->inner_len = inner_len;
	WG_PACKET_CB(skb)->outer_gso = 0;

	if (unlikely(!wg_peer_enqueue(peer, &peer->tx_prod, skb,
				      WG_STAGE_TX_DISPATCH))) {
		if (!READ_ONCE(peer->is_dead))
			atomic64_inc(&wg->stats.tx_queue_full);
		DEV_STATS_ADD(dev, tx_dropped, segs_count);
		kfree_skb_list(skb);
	}
	wg_peer_put(peer);
	return NETDEV_TX_OK;

err_put_peer:
	wg_peer_put(peer);
err:
	DEV_STATS_INC(dev, tx_errors);
	kfree_skb(skb);
	return NETDEV_TX_OK;
}

/*
 * Keepalive: an empty packet through the same queue, so its nonce stays
 * in order with the data around it.
 */
void wg_send_keepalive(struct wg_peer *peer)
{
	struct sk_buff *skb;

	skb = alloc_skb(WG_DATA_HEADROOM + WG_MESSAGE_MINIMUM_LEN, GFP_ATOMIC);
	if (unlikely(!skb))
		return;
	skb_reserve(skb, WG_DATA_HEADROOM);
	skb->dev = peer->device->dev;
	WG_PACKET_CB(skb)->mtu = peer->device->dev->mtu;
	WG_PACKET_CB(skb)->segs = 1;
	WG_PACKET_CB(skb)->inner_len = 0;
	WG_PACKET_CB(skb)->ds = 0;
	WG_PACKET_CB(skb)->outer_gso = 0;
	net_dbg_ratelimited("%s: sending keepalive to peer %llu\n",
			    peer->device->dev->name, peer->internal_id);
	if (unlikely(!wg_peer_enqueue(peer, &peer->tx_prod, skb,
				      WG_STAGE_TX_DISPATCH)))
		kfree_skb(skb);
}
