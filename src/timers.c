// SPDX-License-Identifier: GPL-2.0
/*
 * Protocol timers on a single timer per peer (see timers.h).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/jiffies.h>
#include <linux/netdevice.h>
#include <linux/random.h>

#include "compat.h"
#include "device.h"
#include "messages.h"
#include "peer.h"
#include "send.h"
#include "socket.h"
#include "timers.h"

enum {
	/* Retries of an unanswered initiation before giving up. */
	WG_MAX_TIMER_HANDSHAKES = WG_REKEY_ATTEMPT_TIME / WG_REKEY_TIMEOUT,
	/* Up to a third of a second, so peers don't retry in lockstep. */
	WG_REKEY_JITTER_MS = 334,
};

static unsigned long wg_timers_jitter(void)
{
	return msecs_to_jiffies(get_random_u32() % WG_REKEY_JITTER_MS);
}

/*
 * A dead peer or a device that is down arms nothing: removal sets is_dead
 * and waits a grace period before wg_timers_stop(), and hooks run under
 * RCU, so nothing can arm the timer after it was stopped.
 */
static bool wg_timers_active(struct wg_peer *peer)
{
	return likely(netif_running(peer->device->dev) &&
		      !READ_ONCE(peer->is_dead));
}

static void wg_timers_arm(struct wg_peer *peer, enum wg_timer_event event,
			  unsigned long delay)
{
	struct wg_timers *timers = &peer->timers;
	unsigned long when = jiffies + delay;

	rcu_read_lock_bh();
	if (wg_timers_active(peer)) {
		WRITE_ONCE(timers->deadline[event], when);
		/* The expiry handler reads the deadline after the bit. */
		smp_mb__before_atomic();
		set_bit(event, &timers->pending);
		timer_reduce(&timers->timer, when);
	}
	rcu_read_unlock_bh();
}

/* Arms @event unless it is pending already (its deadline stays). */
static void wg_timers_arm_once(struct wg_peer *peer,
			       enum wg_timer_event event, unsigned long delay)
{
	if (!test_bit(event, &peer->timers.pending))
		wg_timers_arm(peer, event, delay);
}

static void wg_timers_cancel(struct wg_peer *peer, enum wg_timer_event event)
{
	clear_bit(event, &peer->timers.pending);
}

static bool wg_timers_is_pending(struct wg_peer *peer,
				 enum wg_timer_event event)
{
	return test_bit(event, &peer->timers.pending);
}

/* Expiry handlers: softirq context, the event's bit already cleared. */

static void wg_expired_retransmit_handshake(struct wg_peer *peer)
{
	struct wg_timers *timers = &peer->timers;

	if (timers->handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
		pr_debug("%s: handshake for peer %llu did not complete after %d attempts, giving up\n",
			 peer->device->dev->name, peer->internal_id,
			 WG_MAX_TIMER_HANDSHAKES + 2);
		wg_timers_cancel(peer, WG_TIMER_SEND_KEEPALIVE);
		/* Nothing will be sent: keys go after the usual wait. */
		wg_timers_arm_once(peer, WG_TIMER_ZERO_KEY_MATERIAL,
				   WG_REJECT_AFTER_TIME * 3 * HZ);
		return;
	}
	++timers->handshake_attempts;
	pr_debug("%s: handshake for peer %llu did not complete after %d seconds, retrying (try %d)\n",
		 peer->device->dev->name, peer->internal_id, WG_REKEY_TIMEOUT,
		 timers->handshake_attempts + 1);
	/* The route may be why the answer never came. */
	wg_socket_clear_peer_endpoint_src(peer);
	wg_send_handshake_initiation(peer, true);
}

static void wg_expired_send_keepalive(struct wg_peer *peer)
{
	wg_send_keepalive(peer);
	if (peer->timers.need_another_keepalive) {
		peer->timers.need_another_keepalive = false;
		wg_timers_arm(peer, WG_TIMER_SEND_KEEPALIVE,
			      WG_KEEPALIVE_TIMEOUT * HZ);
	}
}

static void wg_expired_new_handshake(struct wg_peer *peer)
{
	pr_debug("%s: peer %llu sent data but heard nothing back for %d seconds, handshaking again\n",
		 peer->device->dev->name, peer->internal_id,
		 WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT);
	wg_socket_clear_peer_endpoint_src(peer);
	wg_send_handshake_initiation(peer, false);
}

static void wg_expired_zero_key_material(struct wg_peer *peer)
{
	wg_send_queue_zero_key_material(peer);
}

static void wg_expired_persistent_keepalive(struct wg_peer *peer)
{
	if (likely(peer->persistent_keepalive_interval))
		wg_send_keepalive(peer);
}

static void (*const wg_timer_handlers[WG_TIMER_EVENTS])(struct wg_peer *) = {
	[WG_TIMER_RETRANSMIT_HANDSHAKE] = wg_expired_retransmit_handshake,
	[WG_TIMER_SEND_KEEPALIVE] = wg_expired_send_keepalive,
	[WG_TIMER_NEW_HANDSHAKE] = wg_expired_new_handshake,
	[WG_TIMER_ZERO_KEY_MATERIAL] = wg_expired_zero_key_material,
	[WG_TIMER_PERSISTENT_KEEPALIVE] = wg_expired_persistent_keepalive,
};

enum wg_timer_state { WG_TIMER_IDLE, WG_TIMER_WAITING, WG_TIMER_DUE };

/* Whether @event is pending, and if so whether due at @now: a first look. */
static enum wg_timer_state wg_timers_peek(struct wg_timers *timers,
					  int event, unsigned long now,
					  unsigned long *deadline)
{
	if (!test_bit(event, &timers->pending))
		return WG_TIMER_IDLE;
	/* The bit, then the deadline armed before it (wg_timers_arm). */
	smp_rmb();
	*deadline = READ_ONCE(timers->deadline[event]);
	return time_before(now, *deadline) ? WG_TIMER_WAITING : WG_TIMER_DUE;
}

/*
 * For an event whose bit the expiry has just taken: an arm between the
 * first look and the clear moved the deadline later, and its set_bit
 * found the bit still set, so the clear took that arm's request.  Then it
 * is given back, and the event waits for its new deadline; running it now
 * would run it early and lose the later one.  The clear is fully ordered:
 * that arm's deadline is seen here.
 */
static bool wg_timers_moved_later(struct wg_timers *timers, int event,
				  unsigned long now, unsigned long *deadline)
{
	*deadline = READ_ONCE(timers->deadline[event]);
	if (likely(!time_before(now, *deadline)))
		return false;
	set_bit(event, &timers->pending);
	return true;
}

/*
 * Whether @event is due at @now: if so, its bit is taken (cleared) for the
 * caller to run it; if it waits, *@deadline is when it will be due.
 */
static enum wg_timer_state wg_timers_take(struct wg_timers *timers,
					  int event, unsigned long now,
					  unsigned long *deadline)
{
	enum wg_timer_state state = wg_timers_peek(timers, event, now,
						   deadline);

	if (state != WG_TIMER_DUE)
		return state;
	if (!test_and_clear_bit(event, &timers->pending))
		return WG_TIMER_IDLE;
	if (wg_timers_moved_later(timers, event, now, deadline))
		return WG_TIMER_WAITING;
	return WG_TIMER_DUE;
}

static void wg_timers_expired(struct timer_list *timer)
{
	struct wg_timers *timers = timer_container_of(timers, timer, timer);
	struct wg_peer *peer = container_of(timers, struct wg_peer, timers);
	unsigned long now = jiffies, next = 0, deadline;
	bool rearm = false;
	int event;

	if (!wg_timers_active(peer))
		return;
	for (event = 0; event < WG_TIMER_EVENTS; ++event) {
		switch (wg_timers_take(timers, event, now, &deadline)) {
		case WG_TIMER_IDLE:
			break;
		case WG_TIMER_WAITING:
			if (!rearm || time_before(deadline, next))
				next = deadline;
			rearm = true;
			break;
		case WG_TIMER_DUE:
			wg_timer_handlers[event](peer);
			break;
		}
	}
	/* Handlers arm their own follow-ups; this covers the rest. */
	if (rearm)
		timer_reduce(timer, next);
}

void wg_timers_init(struct wg_peer *peer)
{
	memset(&peer->timers, 0, sizeof(peer->timers));
	timer_setup(&peer->timers.timer, wg_timers_expired, 0);
}

void wg_timers_stop(struct wg_peer *peer)
{
	/* Atomic, as every other access to the bits: hooks may still run. */
	xchg(&peer->timers.pending, 0);
	timer_delete_sync(&peer->timers.timer);
	/* A handler that was running may have set bits again. */
	xchg(&peer->timers.pending, 0);
}

/* Sending data without hearing back within the keepalive period is a hint
 * that the session is broken: prepare a new handshake.
 */
void wg_timers_on_data_sent(struct wg_peer *peer)
{
	wg_timers_arm_once(peer, WG_TIMER_NEW_HANDSHAKE,
			   (WG_KEEPALIVE_TIMEOUT + WG_REKEY_TIMEOUT) * HZ +
			   wg_timers_jitter());
}

/* Received data owes the peer a keepalive unless we send something soon. */
void wg_timers_on_data_received(struct wg_peer *peer)
{
	if (!wg_timers_active(peer))
		return;
	if (wg_timers_is_pending(peer, WG_TIMER_SEND_KEEPALIVE))
		peer->timers.need_another_keepalive = true;
	else
		wg_timers_arm(peer, WG_TIMER_SEND_KEEPALIVE,
			      WG_KEEPALIVE_TIMEOUT * HZ);
}

/* Anything authenticated we send doubles as the keepalive. */
void wg_timers_on_authenticated_sent(struct wg_peer *peer)
{
	wg_timers_cancel(peer, WG_TIMER_SEND_KEEPALIVE);
}

/* Anything authenticated we receive proves the session alive. */
void wg_timers_on_authenticated_received(struct wg_peer *peer)
{
	wg_timers_cancel(peer, WG_TIMER_NEW_HANDSHAKE);
}

/* Any authenticated packet, either way, restarts persistent keepalive. */
void wg_timers_on_authenticated_traversal(struct wg_peer *peer)
{
	if (peer->persistent_keepalive_interval)
		wg_timers_arm(peer, WG_TIMER_PERSISTENT_KEEPALIVE,
			      peer->persistent_keepalive_interval * HZ);
}

void wg_timers_on_handshake_initiated(struct wg_peer *peer)
{
	wg_timers_arm(peer, WG_TIMER_RETRANSMIT_HANDSHAKE,
		      WG_REKEY_TIMEOUT * HZ + wg_timers_jitter());
}

void wg_timers_on_handshake_complete(struct wg_peer *peer)
{
	wg_timers_cancel(peer, WG_TIMER_RETRANSMIT_HANDSHAKE);
	peer->timers.handshake_attempts = 0;
	WRITE_ONCE(peer->walltime_last_handshake, ktime_get_real_ns());
}

/* A new session: its keys, and all older ones, die unless renewed. */
void wg_timers_on_session_derived(struct wg_peer *peer)
{
	wg_timers_arm(peer, WG_TIMER_ZERO_KEY_MATERIAL,
		      WG_REJECT_AFTER_TIME * 3 * HZ);
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/timers.c"
#endif
