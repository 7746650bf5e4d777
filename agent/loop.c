/*
 * The sampling loop: absolute deadlines on CLOCK_MONOTONIC, so the period
 * does not drift with the time a tick takes; an overrun skips the deadlines
 * it missed instead of sampling in a burst.
 */
#include <errno.h>
#include <time.h>

#include "agent/agent.h"

static bool
keep_running(const fm_loop_hooks *hooks)
{
	return !hooks || !hooks->keep_running ||
	    hooks->keep_running(hooks->userdata);
}

/* Sleeps until deadline_ns. Returns 0 when reached, -EINTR when a signal
 * interrupted the sleep. */
static int
sleep_until(int64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_ns / FM_NSEC_PER_SEC,
		.tv_nsec = deadline_ns % FM_NSEC_PER_SEC,
	};
	int r;

	r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	return r == 0 ? 0 : -r;
}

int
fm_loop_run(fm_collect_sampler *s, uint32_t period_ms, uint64_t max_ticks,
    const fm_loop_hooks *hooks, fm_loop_stats *stats)
{
	const int64_t period_ns = (int64_t)period_ms * FM_NSEC_PER_MSEC;
	fm_loop_stats st = { 0 };
	int64_t start, deadline;
	fm_collect_sample sample;

	if (period_ms == 0)
		return -EINVAL;
	start = fm_time_mono_ns();
	deadline = start;
	for (;;) {
		int64_t now, late, next;

		/* A failed read still yields a (masked) sample: the loop keeps
		 * its rhythm, and the sampler logs the failure. */
		if (fm_collect_sampler_read(s, &sample) < 0)
			st.failed++;
		st.ticks++;
		if (hooks && hooks->on_sample)
			hooks->on_sample(hooks->userdata, &sample);
		if (max_ticks && st.ticks >= max_ticks)
			break;
		if (!keep_running(hooks))
			break;

		now = fm_time_mono_ns();
		next = fm_spawn_next_deadline(start, period_ns, now);
		if (next - deadline > period_ns)
			st.missed +=
			    (uint64_t)((next - deadline) / period_ns - 1);
		deadline = next;
		while (sleep_until(deadline) == -EINTR)
			if (!keep_running(hooks))
				goto out;
		late = fm_time_mono_ns() - deadline;
		if (late > st.max_lateness_ns)
			st.max_lateness_ns = late;
	}
out:
	if (stats)
		*stats = st;
	return 0;
}
