/*
 * Health: what is wrong with the running agent, in a few short sentences,
 * for `fedmonctl status` (exit 1, degraded) and /metrics. Read from the
 * parts' thread-safe getters only, so any thread may ask.
 *
 * Degraded means something a person should look at: a collector failing,
 * the sampling loop stalled, the aggregator unreachable, the detector not
 * trained past its warm-up or its last training failed. A collector this
 * kernel lacks (fm_collect_sampler_missing()) and learning turned off in the
 * configuration are choices, not problems.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/status/status.h"

/* A sample is overdue after this many intervals. */
#define STALL_INTERVALS 3

typedef struct problems {
	char (*p)[FM_STATUS_PROBLEM_BYTES];
	uint32_t n, max;
} problems;

static void FM_PRINTF(2, 3) problem_add(problems *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->n >= ps->max)
		return;
	va_start(ap, fmt);
	vsnprintf(ps->p[ps->n], FM_STATUS_PROBLEM_BYTES, fmt, ap);
	va_end(ap);
	ps->n++;
}

static void
check_sampling(const fm_status_view *v, problems *ps)
{
	fm_status_live_snapshot s;
	int64_t since_ns, late_ns;

	if (!v->live)
		return;
	fm_status_live_get(v->live, &s);
	if (s.failing[0])
		problem_add(ps, "collectors failing: %s", s.failing);
	since_ns = s.samples > 0 ? s.last.mono_ns : s.start_mono_ns;
	late_ns = fm_time_mono_ns() - since_ns;
	if (v->interval_ms > 0 &&
	    late_ns >
	        (int64_t)STALL_INTERVALS * v->interval_ms * FM_NSEC_PER_MSEC)
		problem_add(ps,
		    "no sample for %.1f s (one every %u ms expected)",
		    (double)late_ns / 1e9, v->interval_ms);
}

static void
check_federation(const fm_status_view *v, problems *ps)
{
	fm_model_federation_status st;
	const char *why;
	char when[16];
	time_t t;
	struct tm tm;

	if (!v->fed)
		return;
	fm_model_federation_status_get(v->fed, &st);
	/* before the first exchange ends there is nothing to say */
	if (st.exchanges + st.failures == 0)
		return;
	if (st.reachable && st.last_error == 0)
		return;
	why = st.last_error ? strerror(-st.last_error) : "no reply";
	if (st.last_contact_ns == 0) {
		problem_add(
		    ps, "aggregator %s unreachable: %s", v->aggregator, why);
		return;
	}
	t = (time_t)(st.last_contact_ns / FM_NSEC_PER_SEC);
	if (!localtime_r(&t, &tm) ||
	    strftime(when, sizeof(when), "%H:%M:%S", &tm) == 0)
		snprintf(when, sizeof(when), "?");
	problem_add(ps, "aggregator %s unreachable since %s: %s", v->aggregator,
	    when, why);
}

static void
check_learner(const fm_status_view *v, problems *ps)
{
	fm_model_learner_status st;

	if (!v->learner)
		return;
	fm_model_learner_status_get(v->learner, &st);
	if (!st.ready) {
		if (st.rows_held < v->min_train_rows)
			problem_add(ps, "detector warming up: %u of %u samples",
			    st.rows_held, v->min_train_rows);
		else
			problem_add(ps,
			    "detector warming up: first training%s (%u "
			    "samples)",
			    st.training ? " under way" : " pending",
			    st.rows_held);
	}
	if (st.last_error != 0)
		problem_add(
		    ps, "last training failed: %s", strerror(-st.last_error));
}

uint32_t
fm_status_problems(const fm_status_view *v,
    char problems_out[][FM_STATUS_PROBLEM_BYTES], uint32_t max)
{
	problems ps = { .p = problems_out, .max = max };

	check_sampling(v, &ps);
	check_federation(v, &ps);
	check_learner(v, &ps);
	return ps.n;
}
