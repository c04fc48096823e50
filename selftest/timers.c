// SPDX-License-Identifier: GPL-2.0
/*
 * Timer self-tests, run at module load in debug builds; included at the
 * bottom of src/timers.c.
 *
 * The expiry's choice for one event, wg_timers_take(), against a clock
 * the test sets: an event that is not pending, one that waits, one that
 * is due, and deadlines across a jiffies wrap.  Then the race between the
 * expiry and an arm that moves a deadline later, done by hand step by
 * step, as the window is otherwise too narrow to hit on purpose: the
 * expiry looks (due), the arm writes its later deadline and sets the bit
 * (already set), the expiry takes the bit.  The event must then wait for
 * the later deadline, still pending, and not run.
 */

#define timers_fail(fmt, ...) \
	pr_err("timers self-test: " fmt "\n", ##__VA_ARGS__)

struct timers_case {
	const char *name;
	bool pending;
	long deadline;		/* relative to now */
	enum wg_timer_state expect;
	bool pending_after;
};

static bool timers_run_cases(unsigned long now)
{
	static const struct timers_case cases[] = {
		{ "idle", false, -5, WG_TIMER_IDLE, false },
		{ "waiting", true, 10, WG_TIMER_WAITING, true },
		{ "due now", true, 0, WG_TIMER_DUE, false },
		{ "overdue", true, -3, WG_TIMER_DUE, false },
	};
	struct wg_timers timers;
	unsigned long deadline;
	unsigned int i;
	bool ok = true;

	for (i = 0; i < ARRAY_SIZE(cases); ++i) {
		const struct timers_case *c = &cases[i];
		enum wg_timer_state got;

		memset(&timers, 0, sizeof(timers));
		timers.deadline[WG_TIMER_SEND_KEEPALIVE] = now + c->deadline;
		if (c->pending)
			set_bit(WG_TIMER_SEND_KEEPALIVE, &timers.pending);
		got = wg_timers_take(&timers, WG_TIMER_SEND_KEEPALIVE, now,
				     &deadline);
		if (got != c->expect ||
		    test_bit(WG_TIMER_SEND_KEEPALIVE, &timers.pending) !=
		    c->pending_after ||
		    (got == WG_TIMER_WAITING && deadline != now + c->deadline)) {
			timers_fail("%s at now=%lu: state %d, pending %d",
				    c->name, now, got,
				    test_bit(WG_TIMER_SEND_KEEPALIVE,
					     &timers.pending));
			ok = false;
		}
	}
	return ok;
}

static bool timers_run_race(unsigned long now)
{
	struct wg_timers timers;
	unsigned long deadline;
	int ev = WG_TIMER_NEW_HANDSHAKE;

	memset(&timers, 0, sizeof(timers));
	timers.deadline[ev] = now - 1;
	set_bit(ev, &timers.pending);

	/* The expiry's first look: due. */
	if (wg_timers_peek(&timers, ev, now, &deadline) != WG_TIMER_DUE) {
		timers_fail("race: the first look is not due");
		return false;
	}
	/* An arm on another CPU: a later deadline, then the bit. */
	WRITE_ONCE(timers.deadline[ev], now + 50);
	set_bit(ev, &timers.pending);
	/* The expiry takes the bit: the arm's request with it. */
	if (!test_and_clear_bit(ev, &timers.pending)) {
		timers_fail("race: the bit was not set");
		return false;
	}
	if (!wg_timers_moved_later(&timers, ev, now, &deadline) ||
	    deadline != now + 50 || !test_bit(ev, &timers.pending)) {
		timers_fail("race: the later deadline was lost (deadline %lu, pending %d)",
			    deadline, test_bit(ev, &timers.pending));
		return false;
	}
	/* And at the later deadline it runs, once. */
	if (wg_timers_take(&timers, ev, now + 50, &deadline) != WG_TIMER_DUE ||
	    test_bit(ev, &timers.pending)) {
		timers_fail("race: the event did not run at its later deadline");
		return false;
	}
	return true;
}

bool wg_timers_selftest(void)
{
	/* An ordinary now, and one just before jiffies wrap around. */
	static const unsigned long nows[] = { 100000, ULONG_MAX - 2 };
	unsigned int i;
	bool ok = true;

	for (i = 0; i < ARRAY_SIZE(nows); ++i)
		ok &= timers_run_cases(nows[i]) && timers_run_race(nows[i]);
	if (ok) {
		pr_info("timers self-tests: pass\n");
		return true;
	}
	pr_err("timers self-tests: fail\n");
	return false;
}
