/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol's timers, on one timer_list per peer.
 *
 * WireGuard needs five per-peer timeouts (handshake retransmission,
 * keepalive, new handshake, zeroing of key material, persistent
 * keepalive).  Five timer_lists would cost 200 bytes per peer; instead each
 * event keeps a deadline and a pending bit, and the one timer is armed with
 * timer_reduce() so that it always fires at or before the earliest pending
 * deadline.  When it fires, every event that is due runs and the timer is
 * re-armed for the earliest one left.  Moving a deadline later leaves the
 * timer early: it then fires, finds nothing due, and re-arms.
 *
 * Event hooks (wg_timers_on_*) are called from the packet paths, in softirq
 * or process context, concurrently; expiry handlers run in the timer's
 * softirq and hand anything that sleeps to the peer's control work.
 */
#ifndef _WG_TIMERS_H
#define _WG_TIMERS_H

#include <linux/timer.h>
#include <linux/types.h>

struct wg_peer;

enum wg_timer_event {
	WG_TIMER_RETRANSMIT_HANDSHAKE,
	WG_TIMER_SEND_KEEPALIVE,
	WG_TIMER_NEW_HANDSHAKE,
	WG_TIMER_ZERO_KEY_MATERIAL,
	WG_TIMER_PERSISTENT_KEEPALIVE,
	WG_TIMER_EVENTS
};

struct wg_timers {
	struct timer_list timer;
	unsigned long deadline[WG_TIMER_EVENTS];	/* jiffies */
	unsigned long pending;				/* bit per event */
	unsigned int handshake_attempts;
	bool need_another_keepalive;
};

void wg_timers_init(struct wg_peer *peer);
/* Stops every event; returns once no handler runs.  Process context. */
void wg_timers_stop(struct wg_peer *peer);

/* Event hooks. */
void wg_timers_on_data_sent(struct wg_peer *peer);
void wg_timers_on_data_received(struct wg_peer *peer);
void wg_timers_on_authenticated_sent(struct wg_peer *peer);
void wg_timers_on_authenticated_received(struct wg_peer *peer);
void wg_timers_on_authenticated_traversal(struct wg_peer *peer);
void wg_timers_on_handshake_initiated(struct wg_peer *peer);
void wg_timers_on_handshake_complete(struct wg_peer *peer);
void wg_timers_on_session_derived(struct wg_peer *peer);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_timers_selftest(void);
#endif

#endif /* _WG_TIMERS_H */
