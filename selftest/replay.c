// SPDX-License-Identifier: GPL-2.0
/*
 * Replay-window self-tests, run at module load in debug builds.
 *
 * Two parts: hand-written scripts of (counter, verdict) steps, each on a
 * fresh window, and a randomized differential run against a reference
 * that remembers every counter it accepted in a plain bitmap over the
 * span a sequence may use.  Sequences mostly climb, with reordering up
 * to just beyond the window, duplicates, probes at the window's edge and
 * jumps of up to two windows.
 */

#include "replay.h"

#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/slab.h>

#define fail(fmt, ...) \
	pr_err("replay self-test: " fmt "\n", ##__VA_ARGS__)

#define WIN	((u64)WG_REPLAY_WINDOW)
#define RING	((u64)WG_REPLAY_BITMAP_BITS)
#define REJECT	WG_REJECT_AFTER_MESSAGES
#define FAR	BIT_ULL(40)

struct replay_step {
	u64 counter;
	bool accept;
};

static const struct replay_step in_order[] = {
	{ 0, true }, { 1, true }, { 2, true }, { 3, true }, { 4, true },
	{ 5, true }, { 63, true }, { 64, true }, { 65, true }, { 0, false },
};

static const struct replay_step duplicates[] = {
	{ 0, true }, { 0, false }, { 5, true }, { 5, false }, { 3, true },
	{ 3, false }, { 5, false }, { 0, false }, { 6, true }, { 6, false },
};

static const struct replay_step reordered[] = {
	{ 10, true }, { 2, true }, { 9, true }, { 1, true }, { 0, true },
	{ 10, false }, { 2, false }, { 3, true }, { 200, true }, { 100, true },
	{ 199, true }, { 4, true }, { 100, false }, { 201, true },
	{ 8, true }, { 8, false },
};

/* Highest 5000: the window's lowest counter is 5000 - 2047 = 2953. */
static const struct replay_step lower_edge[] = {
	{ 5000, true }, { 5000 - WIN + 1, true }, { 5000 - WIN, false },
	{ 5000 - WIN + 1, false }, { 5000 - WIN + 2, true }, { 4999, true },
	/* Highest 5001 moves the edge up by one: 2954 is now the lowest. */
	{ 5001, true }, { 5001 - WIN + 1, false }, { 5001 - WIN + 2, true },
	{ 5001 - WIN, false }, { 0, false },
};

static const struct replay_step far_jump[] = {
	{ 1, true }, { 2, true }, { FAR, true }, { 3, false }, { 0, false },
	{ FAR - 1, true }, { FAR - WIN + 1, true }, { FAR - WIN, false },
	{ FAR + 1, true }, { FAR, false }, { FAR - 1, false },
	{ FAR + (FAR >> 1), true }, { FAR + 1, false },
	{ FAR + (FAR >> 1) - 1, true },
};

/*
 * Counters that share a ring bit with earlier ones (RING apart) must be
 * accepted once the top has moved past them, whether the ring was
 * recycled word by word or cleared at once.
 */
static const struct replay_step ring_reuse[] = {
	{ 4000, true }, { 3990, true }, { 3000, true }, { 2000, true },
	/* Two words up: 2000's word is recycled, 3990's is not. */
	{ 2000 + RING, true }, { 3990, false }, { 2000, false },
	{ 2000 + RING - WIN + 1, true }, { 2000 + RING - WIN, false },
	/* Past the whole ring: everything is recycled. */
	{ 4000 + 5 * RING + 7, true }, { 3000 + 5 * RING, true },
	{ 4000 + 5 * RING, true }, { 3990 + 5 * RING, true },
	{ 3990 + 5 * RING, false }, { 4000 + 5 * RING + 7, false },
	{ 3000, false },
};

static const struct replay_step reject_after[] = {
	{ REJECT - 1, true }, { REJECT, false }, { REJECT + 1, false },
	{ U64_MAX, false }, { U64_MAX - 1, false }, { REJECT - 1, false },
	{ REJECT - 2, true }, { REJECT - WIN, true }, { REJECT - WIN - 1, false },
	{ REJECT, false },
};

static const struct replay_step zero_late[] = {
	{ 1, true }, { 0, true }, { 0, false }, { 1, false },
};

static const struct replay_step zero_edge[] = {
	{ WIN - 1, true }, { 0, true }, { 0, false }, { WIN, true }, { 0, false },
	{ 1, true }, { 1, false },
};

static const struct replay_step zero_outside[] = {
	{ WIN, true }, { 0, false }, { 1, true }, { 1, false },
};

static const struct replay_step far_first[] = {
	{ FAR, true }, { 0, false }, { FAR - WIN + 1, true }, { FAR, false },
};

#define SCRIPT(s) { #s, s, ARRAY_SIZE(s) }

static const struct replay_script {
	const char *name;
	const struct replay_step *steps;
	unsigned int n;
} scripts[] = {
	SCRIPT(in_order), SCRIPT(duplicates), SCRIPT(reordered),
	SCRIPT(lower_edge), SCRIPT(far_jump), SCRIPT(ring_reuse),
	SCRIPT(reject_after), SCRIPT(zero_late), SCRIPT(zero_edge),
	SCRIPT(zero_outside), SCRIPT(far_first),
};

static bool run_scripts(struct wg_replay_window *w)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(scripts); i++) {
		const struct replay_script *s = &scripts[i];

		wg_replay_window_init(w);
		for (j = 0; j < s->n; j++) {
			if (wg_replay_window_check(w, s->steps[j].counter) !=
			    s->steps[j].accept) {
				fail("script '%s', step %u (counter %llu)",
				     s->name, j, s->steps[j].counter);
				return false;
			}
		}
	}

	/* Init must forget a used window completely. */
	wg_replay_window_init(w);
	if (!wg_replay_window_check(w, 0)) {
		fail("re-init");
		return false;
	}
	return true;
}

/*
 * The randomized part.  Sized for well under a second under TCG
 * emulation.  The span bounds the counters of one sequence above its
 * base, so the reference can be a bitmap.
 */
enum {
	RAND_SEQUENCES = 256,
	RAND_STEPS = 2000,
	RAND_SPAN = 1 << 17,
	RAND_RECENT = 16,
};

struct replay_ref {
	unsigned long *seen;		/* RAND_SPAN bits, from @base */
	u64 base, max;
	bool any;
};

/* The rule, stated naively. */
static bool ref_check(struct replay_ref *ref, u64 counter)
{
	if (counter >= REJECT)
		return false;
	if (ref->any && counter + WIN <= ref->max)
		return false;
	if (__test_and_set_bit(counter - ref->base, ref->seen))
		return false;
	if (!ref->any || counter > ref->max)
		ref->max = counter;
	ref->any = true;
	return true;
}

/* In [0, n), from the seeded state so that a failure can be replayed. */
static u32 rand_below(struct rnd_state *rnd, u32 n)
{
	return ((u64)prandom_u32_state(rnd) * n) >> 32;
}

static u64 rand_u64(struct rnd_state *rnd)
{
	return (u64)prandom_u32_state(rnd) << 32 | prandom_u32_state(rnd);
}

static u64 pick_base(struct rnd_state *rnd, unsigned int seq)
{
	switch (seq % 4) {
	case 0:
		return 0;
	case 1:
		/* Crosses 2^32, where a truncating bug would show. */
		return (1ULL << 32) - RAND_SPAN / 2;
	case 2:
		/* Climbs into WG_REJECT_AFTER_MESSAGES and beyond. */
		return REJECT - 60000 - rand_below(rnd, 8192);
	default:
		return rand_u64(rnd) >> 2;
	}
}

/* Offset above @base of the next counter of the sequence. */
static u64 next_offset(struct rnd_state *rnd, struct replay_ref *ref, u64 *pos,
		       const u64 *recent, unsigned int nrecent, u64 limit)
{
	u32 r = prandom_u32_state(rnd) % 100;
	u64 back;

	if (r < 55) {
		*pos = min(*pos + 1 + rand_below(rnd, 3), limit);
		return *pos;
	}
	if (r < 80) {
		back = rand_below(rnd, WG_REPLAY_WINDOW + 256);
		return *pos > back ? *pos - back : 0;
	}
	if (r < 90 && nrecent)
		return recent[rand_below(rnd, min_t(unsigned int, nrecent,
						       RAND_RECENT))];
	if (r < 97 && ref->any && ref->max - ref->base >= WIN) {
		/* Around the lower edge: max - 2048 ... max - 2046. */
		return ref->max - ref->base - WIN + rand_below(rnd, 3);
	}
	*pos = min(*pos + rand_below(rnd, 2 * WG_REPLAY_WINDOW), limit);
	return *pos;
}

static bool run_random(struct wg_replay_window *w, unsigned long *seen,
		       u64 seed)
{
	u64 recent[RAND_RECENT], pos, limit, c;
	struct replay_ref ref = { .seen = seen };
	struct rnd_state rnd;
	unsigned int seq, step, nrecent;
	bool got, want;

	prandom_seed_state(&rnd, seed);
	for (seq = 0; seq < RAND_SEQUENCES; seq++) {
		ref.base = pick_base(&rnd, seq);
		ref.any = false;
		ref.max = 0;
		bitmap_zero(seen, RAND_SPAN);
		wg_replay_window_init(w);
		limit = min_t(u64, RAND_SPAN - 1, U64_MAX - ref.base);
		pos = rand_below(&rnd, 100);
		nrecent = 0;

		for (step = 0; step < RAND_STEPS; step++) {
			c = ref.base + next_offset(&rnd, &ref, &pos, recent,
						   nrecent, limit);
			recent[nrecent++ % RAND_RECENT] = c - ref.base;
			want = ref_check(&ref, c);
			got = wg_replay_window_check(w, c);
			if (got != want) {
				fail("sequence %u step %u: %llu (base %llu) gave %d",
				     seq, step, c, ref.base, got);
				return false;
			}
		}
	}
	return true;
}

bool wg_replay_selftest(void)
{
	struct wg_replay_window *w = kmalloc(sizeof(*w), GFP_KERNEL);
	unsigned long *seen = bitmap_alloc(RAND_SPAN, GFP_KERNEL);
	u64 seed = get_random_u64();
	ktime_t start = ktime_get();
	bool ok = false;

	if (!w || !seen) {
		fail("no memory");
	} else {
		ok = run_scripts(w);
		if (ok && !run_random(w, seen, seed)) {
			fail("random seed %016llx", seed);
			ok = false;
		}
	}
	bitmap_free(seen);
	kfree(w);
	if (ok) {
		pr_debug("replay self-tests took %lld us\n",
			 (long long)ktime_us_delta(ktime_get(), start));
		pr_info("replay self-tests: pass\n");
		return true;
	}
	pr_err("replay self-tests: fail\n");
	return false;
}
