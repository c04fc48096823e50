// SPDX-License-Identifier: GPL-2.0
/*
 * The replay window.  Counter c lives in bit c % BITS_PER_LONG of the
 * ring word numbered c / BITS_PER_LONG modulo WG_REPLAY_BITMAP_LONGS.
 * When the highest counter moves up, the ring words between the old top
 * word and the new one are cleared before reuse; a jump over the whole
 * ring clears all of it, so the cost is bounded by the ring, not by the
 * distance.
 *
 * Why one spare word is enough: every counter the window accepts lies in
 * one of the last ceil(WG_REPLAY_WINDOW / BITS_PER_LONG) + 1 words up to
 * and including the top one, which is the whole ring, so no two counters
 * in the window share a bit and no bit still in use is ever recycled.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "replay.h"

#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/compiler.h>
#include <linux/limits.h>
#include <linux/math64.h>

static_assert(WG_REPLAY_WINDOW % BITS_PER_LONG == 0);
static_assert(WG_REJECT_AFTER_MESSAGES == 0xffffffffffffdfffULL);
/* So that counter + 1 and counter + WG_REPLAY_WINDOW never wrap. */
static_assert(U64_MAX - WG_REJECT_AFTER_MESSAGES > WG_REPLAY_WINDOW);

static u32 replay_slot(u64 word)
{
	u32 slot;

	div_u64_rem(word, WG_REPLAY_BITMAP_LONGS, &slot);
	return slot;
}

void wg_replay_window_init(struct wg_replay_window *w)
{
	w->next = 0;
	bitmap_zero(w->bitmap, WG_REPLAY_BITMAP_BITS);
}

/* Recycles the ring words between the current top word and @word. */
static void replay_advance(struct wg_replay_window *w, u64 word)
{
	u64 top, gap;
	u32 slot;

	/* Nothing accepted yet: the ring is as clear as init left it. */
	if (!w->next)
		return;
	top = (w->next - 1) / BITS_PER_LONG;
	gap = word - top;
	if (gap >= WG_REPLAY_BITMAP_LONGS) {
		bitmap_zero(w->bitmap, WG_REPLAY_BITMAP_BITS);
		return;
	}
	slot = replay_slot(top);
	while (gap--) {
		if (++slot == WG_REPLAY_BITMAP_LONGS)
			slot = 0;
		w->bitmap[slot] = 0;
	}
}

bool wg_replay_window_check(struct wg_replay_window *w, u64 counter)
{
	u64 word = counter / BITS_PER_LONG;

	if (unlikely(counter >= WG_REJECT_AFTER_MESSAGES))
		return false;

	if (likely(counter >= w->next)) {
		replay_advance(w, word);
		w->next = counter + 1;
	} else if (w->next - counter > WG_REPLAY_WINDOW) {
		return false;
	}
	return !__test_and_set_bit(counter % BITS_PER_LONG,
				   &w->bitmap[replay_slot(word)]);
}

#ifdef CONFIG_WIREGUARD_MPSC_DEBUG
#include "selftest/replay.c"
#endif
