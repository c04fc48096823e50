/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replay protection for the 64-bit counter (the AEAD nonce) of the data
 * packets received under one keypair.
 *
 * A counter is accepted once, if it is below WG_REJECT_AFTER_MESSAGES and
 * no older than the window: with H the highest counter accepted so far,
 * exactly the counters H - (WG_REPLAY_WINDOW - 1) ... H and everything
 * above H may still pass, i.e. the window is 2048 counters wide including
 * H.  Below that, packets are dropped even if never seen.
 *
 * Preconditions:
 *  - single consumer: one context at a time checks a given window (the
 *    peer's in-order receive stage).  There is no lock and no atomic;
 *    concurrent checks on one window are a bug;
 *  - check only packets that authenticated: only the key holder can make a
 *    counter that decrypts, whereas checking before decryption would let
 *    anyone slide the window forward with forged counters;
 *  - init before the keypair is published to the receive path.
 */
#ifndef _WG_REPLAY_H
#define _WG_REPLAY_H

#include <linux/bits.h>
#include <linux/types.h>

/*
 * WG_REJECT_AFTER_MESSAGES (2^64 - 2^13 - 1) and WG_REKEY_AFTER_MESSAGES
 * (2^60, for the sender) are protocol limits and live with the others.
 */
#include "messages.h"

/*
 * The bitmap is a ring of words holding one more word than the window
 * needs: the top word is only partly in use, and whole words are what the
 * ring recycles as the top moves up.
 */
enum wg_replay_size {
	WG_REPLAY_WINDOW = 2048,
	WG_REPLAY_BITMAP_BITS = WG_REPLAY_WINDOW + BITS_PER_LONG,
	WG_REPLAY_BITMAP_LONGS = WG_REPLAY_BITMAP_BITS / BITS_PER_LONG,
};

struct wg_replay_window {
	/* One past the highest counter accepted; 0 while none has been. */
	u64 next;
	/* Bit c % BITS_PER_LONG of word (c / BITS_PER_LONG) % LONGS. */
	unsigned long bitmap[WG_REPLAY_BITMAP_LONGS];
};

void wg_replay_window_init(struct wg_replay_window *w);
/*
 * Single consumer.  True, and @counter is recorded, iff @counter was
 * never accepted, is inside the window and is below
 * WG_REJECT_AFTER_MESSAGES.  O(1) for in-order traffic, and at most
 * O(WG_REPLAY_BITMAP_LONGS) for a jump of any length.
 */
bool wg_replay_window_check(struct wg_replay_window *w, u64 counter);

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
bool wg_replay_selftest(void);
#endif

#endif /* _WG_REPLAY_H */
