// SPDX-License-Identifier: GPL-2.0
/*
 * Handshake and keepalive transmission (see send.h).  Data packets join
 * with the data path.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/chacha20poly1305.h>
#include <linux/skbuff.h>
#include <linux/workqueue.h>

#include "cookie.h"
#include "device.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "send.h"
#include "socket.h"
#include "timers.h"

static void wg_send_control_work(struct work_struct *work);

void wg_send_init_peer(struct wg_peer *peer)
{
	INIT_WORK(&peer->control_work, wg_send_control_work);
	/* So that the first initiation may leave at once. */
	peer->last_sent_handshake = ktime_get_coarse_boottime_ns() -
				    (u64)(WG_REKEY_TIMEOUT + 1) * NSEC_PER_SEC;
}

void wg_send_stop_peer(struct wg_peer *peer)
{
	flush_work(&peer->control_work);
}

/*
 * The work holds a peer reference from queueing until it has run; a
 * request made while it is queued rides along with it.  Removal waits a
 * grace period and flushes the work, so none is queued after that.
 */
static void wg_send_queue_control(struct wg_peer *peer,
				  enum wg_control_bits bit)
{
	rcu_read_lock_bh();
	if (likely(!READ_ONCE(peer->is_dead))) {
		set_bit(bit, &peer->control);
		wg_peer_get(peer);
		if (!queue_work(peer->device->handshake_wq,
				&peer->control_work))
			wg_peer_put(peer);
	}
	rcu_read_unlock_bh();
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
	wg_socket_send_buffer(peer, &packet, sizeof(packet));
	wg_timers_on_handshake_initiated(peer);
}

static void wg_send_control_work(struct work_struct *work)
{
	struct wg_peer *peer = container_of(work, struct wg_peer, control_work);

	if (test_and_clear_bit(WG_CONTROL_ZERO_KEYS, &peer->control)) {
		pr_debug("%s: zeroing keys of peer %llu after %d seconds without a handshake\n",
			 peer->device->dev->name, peer->internal_id,
			 WG_REJECT_AFTER_TIME * 3);
		wg_noise_handshake_clear(&peer->handshake);
		wg_noise_keypairs_clear(&peer->keypairs);
	}
	if (test_and_clear_bit(WG_CONTROL_INITIATE, &peer->control) &&
	    !READ_ONCE(peer->is_dead))
		wg_send_initiation_now(peer);
	wg_peer_put(peer);
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

/*
 * A keypair may send while it is valid, younger than REJECT_AFTER_TIME and
 * below REJECT_AFTER_MESSAGES.  Takes a nonce; U64_MAX when it may not.
 */
static u64 wg_send_take_nonce(struct wg_noise_keypair *keypair)
{
	u64 nonce;

	if (unlikely(!READ_ONCE(keypair->sending.is_valid) ||
		     wg_birthdate_has_expired(keypair->sending.birthdate,
					      WG_REJECT_AFTER_TIME)))
		return U64_MAX;
	nonce = atomic64_inc_return(&keypair->sending_counter) - 1;
	if (unlikely(nonce >= WG_REJECT_AFTER_MESSAGES)) {
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

void wg_send_keepalive(struct wg_peer *peer)
{
	struct wg_noise_keypair *keypair;
	struct wg_message_data *header;
	struct sk_buff *skb;
	u8 *tag;
	u64 nonce;

	rcu_read_lock_bh();
	keypair = rcu_dereference_bh(peer->keypairs.current_keypair);
	keypair = keypair ? wg_noise_keypair_get(keypair) : NULL;
	rcu_read_unlock_bh();
	if (!keypair) {
		wg_send_handshake_initiation(peer, false);
		return;
	}
	nonce = wg_send_take_nonce(keypair);
	if (nonce == U64_MAX) {
		wg_send_handshake_initiation(peer, false);
		goto out;
	}

	skb = alloc_skb(LL_MAX_HEADER + sizeof(struct ipv6hdr) +
			sizeof(struct udphdr) + WG_MESSAGE_MINIMUM_LEN,
			GFP_ATOMIC);
	if (unlikely(!skb))
		goto out;
	skb_reserve(skb, LL_MAX_HEADER + sizeof(struct ipv6hdr) +
			 sizeof(struct udphdr));
	header = skb_put(skb, sizeof(*header));
	header->header.type = cpu_to_le32(WG_MESSAGE_DATA);
	header->receiver_index = keypair->remote_index;
	header->counter = cpu_to_le64(nonce);
	/* An empty plaintext: the message is its Poly1305 tag alone. */
	tag = skb_put(skb, NOISE_AUTHTAG_LEN);
	chacha20poly1305_encrypt(tag, tag, 0, NULL, 0, nonce,
				 keypair->sending.key);

	net_dbg_ratelimited("%s: sending keepalive to peer %llu (%pISpfsc)\n",
			    peer->device->dev->name, peer->internal_id,
			    &peer->endpoint.addr);
	if (!wg_socket_send_skb(peer, skb, 0)) {
		wg_timers_on_authenticated_sent(peer);
		wg_timers_on_authenticated_traversal(peer);
	}
	if (unlikely(wg_send_should_rekey(keypair, nonce)))
		wg_send_handshake_initiation(peer, false);
out:
	wg_noise_keypair_put(keypair);
}
