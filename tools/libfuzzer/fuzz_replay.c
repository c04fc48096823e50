// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for src/replay.c, compiled unmodified against the shims
 * in include/.
 *
 * The input is decoded into a stream of counters: mostly small steps around
 * the highest counter accepted so far, plus window-edge probes, jumps that
 * recycle part or all of the bitmap ring, big jumps, values around
 * WG_REJECT_AFTER_MESSAGES and U64_MAX, replays of earlier counters and the
 * odd re-init.  Every answer of wg_replay_window_check() is compared with a
 * reference model written from the contract in src/replay.h alone: a
 * counter passes iff it is below 2^64 - 2^13 - 1, was never accepted, and
 * is above H or at least H - 2047, H being the highest accepted so far.
 * The model keeps the accepted counters of [H - 2047, H] in a sorted array;
 * older ones can never pass again whatever they were.  Any disagreement,
 * or a `next` field that is not H + 1 (0 before the first acceptance),
 * aborts.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_input.h"
#include "replay.h"

/* The contract's numbers, restated independently of the sources. */
#define MODEL_WINDOW	2048ULL
#define MODEL_REJECT	0xffffffffffffdfffULL	/* 2^64 - 2^13 - 1 */
static_assert(MODEL_WINDOW == WG_REPLAY_WINDOW);
static_assert(MODEL_REJECT == WG_REJECT_AFTER_MESSAGES);

struct model {
	bool any;			/* has anything been accepted? */
	u64 high;			/* H, if any */
	u64 seen[MODEL_WINDOW];		/* accepted counters >= H - 2047, sorted */
	size_t nseen;
};

static void model_init(struct model *m)
{
	m->any = false;
	m->high = 0;
	m->nseen = 0;
}

/* Index of the first element >= c. */
static size_t model_lower_bound(const struct model *m, u64 c)
{
	size_t lo = 0, hi = m->nseen;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->seen[mid] < c)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool model_check(struct model *m, u64 c)
{
	size_t i;

	if (c >= MODEL_REJECT)
		return false;
	if (m->any && c <= m->high) {
		if (m->high - c >= MODEL_WINDOW)
			return false;		/* too old */
		i = model_lower_bound(m, c);
		if (i < m->nseen && m->seen[i] == c)
			return false;		/* replay */
		memmove(&m->seen[i + 1], &m->seen[i],
			(m->nseen - i) * sizeof(m->seen[0]));
		m->seen[i] = c;
		m->nseen++;
		return true;
	}
	/* A new highest: forget what fell out of [c - 2047, c]. */
	m->any = true;
	m->high = c;
	if (c >= MODEL_WINDOW - 1) {
		i = model_lower_bound(m, c - (MODEL_WINDOW - 1));
		memmove(&m->seen[0], &m->seen[i],
			(m->nseen - i) * sizeof(m->seen[0]));
		m->nseen -= i;
	}
	if (m->nseen == MODEL_WINDOW)
		abort();	/* cannot happen: all are < c */
	m->seen[m->nseen++] = c;
	return true;
}


static u64 in_bytes(struct input *in, unsigned int k)
{
	u64 v = 0;

	while (k--)
		v = (v << 8) | in_u8(in);
	return v;
}

static struct wg_replay_window window;
static struct model model;

#define HISTORY 64
static u64 history[HISTORY];
static unsigned int nhistory;
static unsigned long long nchecks;

static void fail(u64 c, bool got, bool want)
{
	fprintf(stderr,
		"replay mismatch after %llu checks: counter %#llx: "
		"wg_replay_window_check() = %d, model = %d "
		"(model H = %#llx, any = %d; window next = %#llx)\n",
		nchecks, (unsigned long long)c, got, want,
		(unsigned long long)model.high, model.any,
		(unsigned long long)window.next);
	abort();
}

static void check_one(u64 c)
{
	bool want = model_check(&model, c);
	bool got = wg_replay_window_check(&window, c);
	u64 next = model.any ? model.high + 1 : 0;

	nchecks++;
	if (got != want)
		fail(c, got, want);
	if (window.next != next) {
		fprintf(stderr, "replay: next = %#llx, expected %#llx\n",
			(unsigned long long)window.next,
			(unsigned long long)next);
		abort();
	}
	history[nhistory++ % HISTORY] = c;
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct input in = { data, size };
	const u64 bpl = BITS_PER_LONG;
	const u64 ring = WG_REPLAY_BITMAP_LONGS;

	/* A dirty window before init, as a reused keypair slot would be. */
	memset(&window, 0xff, sizeof(window));
	wg_replay_window_init(&window);
	model_init(&model);
	nhistory = 0;

	while (in.n) {
		u8 op = in_u8(&in);
		u64 h = model.high;	/* 0 until something is accepted */
		u64 c;
		unsigned int k;

		switch (op & 15) {
		case 0: case 1: case 2: case 3:
			/* A small step around H, either way. */
			check_one(h + (s8)in_u8(&in));
			break;
		case 4:
			/* Steps of whole words, either way. */
			check_one(h + (u64)(s64)(s8)in_u8(&in) * bpl +
				  (s8)in_u8(&in) % 4);
			break;
		case 5:
			/* The window's lower edge, H - 2047 and around it. */
			check_one(h - (MODEL_WINDOW - 1) + (s8)in_u8(&in) % 8);
			break;
		case 6:
			/* Forward by 0 .. 2 rings of words: partial/full recycling. */
			k = in_u8(&in) % (2 * ring + 3);
			c = (h / bpl + k) * bpl + in_u8(&in) % bpl;
			check_one(c);
			break;
		case 7:
			/* A big jump forward. */
			check_one(h + in_bytes(&in, 4));
			break;
		case 8:
			/* Any 64-bit value. */
			check_one(in_bytes(&in, 8));
			break;
		case 9:
			/* Around WG_REJECT_AFTER_MESSAGES (both sides) ... */
			check_one(MODEL_REJECT + (s16)in_bytes(&in, 2) % 4200);
			break;
		case 10:
			/* ... and around U64_MAX. */
			check_one(U64_MAX - in_u8(&in));
			break;
		case 11:
			/* A replay of a recent counter. */
			if (nhistory) {
				k = in_u8(&in) % (nhistory < HISTORY ? nhistory : HISTORY);
				check_one(history[(nhistory - 1 - k) % HISTORY]);
			}
			break;
		case 12:
			/* In-order burst after H, or a descending one below H. */
			k = in_u8(&in);
			if (k & 128) {
				for (c = 0; c < (k & 127); c++)
					check_one(h - c * ((k & 3) + 1));
			} else {
				for (c = 1; c <= k; c++)
					check_one(h + c);
			}
			break;
		case 13:
			/* Small absolute counters (the start of a session). */
			check_one(in_bytes(&in, 2));
			break;
		case 14:
			/* Re-init, rarely; otherwise a step just above H. */
			k = in_u8(&in);
			if (k == 0x5a) {
				wg_replay_window_init(&window);
				model_init(&model);
			} else {
				check_one(h + 1 + k % 4);
			}
			break;
		case 15:
			/* Deep in the past, just outside the window. */
			check_one(h - MODEL_WINDOW - in_bytes(&in, 2));
			break;
		}
	}
	return 0;
}
