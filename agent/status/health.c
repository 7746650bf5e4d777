/*
 * Health: what is wrong with the running agent, each problem named (the
 * list in status.h) with a short sentence, for `fedmonctl status` (exit 1,
 * degraded), /metrics and the journal. Read from the parts' thread-safe
 * getters only, so any thread may ask.
 *
 * Degraded means something a person should look at: a collector failing,
 * the sampling loop stalled, federation that cannot start or an
 * aggregator unreachable, /metrics not served, a reload that failed, the
 * last training failed, or its models not saved. A collector this kernel
 * lacks (fm_collect_sampler_missing()) and learning turned off in the
 * configuration are choices, not problems; the detector's warm-up is a
 * state of its own (learning), not a problem either.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/status/status.h"

/* A sample is overdue after this many intervals. */
#define STALL_INTERVALS 3

static const char *const problem_names[FM_STATUS_PROBLEM_COUNT] = {
	[FM_STATUS_PROBLEM_COLLECTORS] = "collectors",
	[FM_STATUS_PROBLEM_SAMPLING] = "sampling",
	[FM_STATUS_PROBLEM_FEDERATION] = "federation",
	[FM_STATUS_PROBLEM_METRICS] = "metrics",
	[FM_STATUS_PROBLEM_RELOAD] = "reload",
	[FM_STATUS_PROBLEM_TRAINING] = "training",
	[FM_STATUS_PROBLEM_SAVE] = "save",
};

const char *
fm_status_problem_name(unsigned problem)
{
	return problem < FM_STATUS_PROBLEM_COUNT ? problem_names[problem]
	                                         : NULL;
}

/* Turns problem p on with the text "NAME: " and fmt. A problem is set at
 * most once: the first sentence stays. */
static void FM_PRINTF(3, 4)
    problem_set(fm_status_health *h, unsigned p, const char *fmt, ...)
{
	char *t = h->text[p];
	int n;
	va_list ap;

	if (h->on[p])
		return;
	n = snprintf(t, FM_STATUS_PROBLEM_BYTES, "%s: ", problem_names[p]);
	va_start(ap, fmt);
	vsnprintf(t + n, FM_STATUS_PROBLEM_BYTES - (size_t)n, fmt, ap);
	va_end(ap);
	h->on[p] = true;
	h->n_on++;
}

/* HH:MM:SS of a CLOCK_REALTIME stamp, local time. */
static void
clock_format(int64_t real_ns, char *buf, size_t size)
{
	time_t t = (time_t)(real_ns / FM_NSEC_PER_SEC);
	struct tm tm;

	if (!localtime_r(&t, &tm) || strftime(buf, size, "%H:%M:%S", &tm) == 0)
		snprintf(buf, size, "?");
}

static void
check_sampling(const fm_status_view *v, fm_status_health *h)
{
	fm_status_live_snapshot snap, *s = &snap;
	int64_t since_ns, late_ns;
	char when[16];

	if (!v->live)
		return;
	/* no allocation: the sampling thread asks after every sample */
	fm_status_live_get(v->live, s);
	if (s->failing[0])
		problem_set(
		    h, FM_STATUS_PROBLEM_COLLECTORS, "%s failing", s->failing);
	since_ns = s->samples > 0 ? s->last.mono_ns : s->start_mono_ns;
	late_ns = fm_time_mono_ns() - since_ns;
	if (v->interval_ms > 0 &&
	    late_ns >
	        (int64_t)STALL_INTERVALS * v->interval_ms * FM_NSEC_PER_MSEC)
		problem_set(h, FM_STATUS_PROBLEM_SAMPLING,
		    "no sample for %.1f s (one every %u ms expected)",
		    (double)late_ns / 1e9, v->interval_ms);
	if (s->reload_failed_real_ns) {
		clock_format(s->reload_failed_real_ns, when, sizeof(when));
		problem_set(h, FM_STATUS_PROBLEM_RELOAD,
		    "failed at %s, running configuration kept: %s", when,
		    s->reload_why);
	}
}

static void
check_federation(const fm_status_view *v, fm_status_health *h)
{
	fm_model_federation_status st;
	const char *why;
	char when[16];

	if (v->fed_start_error) {
		problem_set(h, FM_STATUS_PROBLEM_FEDERATION,
		    "cannot federate with %s: %s (learning standalone)",
		    v->fed_url ? v->fed_url : "the aggregator",
		    strerror(-v->fed_start_error));
		return;
	}
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
		problem_set(h, FM_STATUS_PROBLEM_FEDERATION,
		    "aggregator %s unreachable: %s", v->aggregator, why);
		return;
	}
	clock_format(st.last_contact_ns, when, sizeof(when));
	problem_set(h, FM_STATUS_PROBLEM_FEDERATION,
	    "aggregator %s unreachable since %s: %s", v->aggregator, when, why);
}

static void
check_metrics(const fm_status_view *v, fm_status_health *h)
{
	if (v->metrics_error)
		problem_set(h, FM_STATUS_PROBLEM_METRICS,
		    "not served on %s: %s",
		    v->metrics_listen ? v->metrics_listen : "its address",
		    strerror(-v->metrics_error));
}

static void
check_learner(const fm_status_view *v, fm_status_health *h)
{
	fm_model_learner_status st;

	if (!v->learner)
		return;
	fm_model_learner_status_get(v->learner, &st);
	if (!st.ready) {
		h->learning = true;
		h->rows_held = st.rows_held;
		h->min_rows = v->min_train_rows;
		if (st.rows_held < v->min_train_rows)
			h->learning_left_ms =
			    (uint64_t)(v->min_train_rows - st.rows_held) *
			    v->interval_ms;
	}
	if (st.last_error != 0)
		problem_set(h, FM_STATUS_PROBLEM_TRAINING,
		    "last training failed: %s", strerror(-st.last_error));
	if (st.save_error != 0)
		problem_set(h, FM_STATUS_PROBLEM_SAVE,
		    "models not saved in %s: %s",
		    v->state_dir[0] ? v->state_dir : "the state directory",
		    strerror(-st.save_error));
}

void
fm_status_health_get(const fm_status_view *v, fm_status_health *ret)
{
	memset(ret, 0, sizeof(*ret));
	check_sampling(v, ret);
	check_federation(v, ret);
	check_metrics(v, ret);
	check_learner(v, ret);
}

uint32_t
fm_status_problems(const fm_status_view *v,
    char problems_out[][FM_STATUS_PROBLEM_BYTES], uint32_t max)
{
	fm_status_health h;
	uint32_t n = 0;

	fm_status_health_get(v, &h);
	for (unsigned p = 0; p < FM_STATUS_PROBLEM_COUNT && n < max; p++)
		if (h.on[p])
			memcpy(problems_out[n++], h.text[p],
			    FM_STATUS_PROBLEM_BYTES);
	return n;
}
