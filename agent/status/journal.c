/*
 * The journal: one line when the anomaly alarm is raised and one when it
 * clears, one when a named problem starts and one when it ends, logged by
 * the sampling thread after each sample. They do not depend on [action]
 * rules: an operator with none still finds every alarm in the journal,
 * and a log rule adds its own line only where it is configured.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/status/status.h"

/* The top features as "name=contribution,...", whole entries only. */
static void
top_format(const fm_model_learner_status *st, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < st->n_top && i < FM_MODEL_LEARNER_TOP; i++) {
		const fm_collect_feature_info *f =
		    fm_collect_feature_get(st->top[i]);
		int n;

		if (!f)
			continue;
		n = snprintf(buf + used, size - used, "%s%s=%.4f",
		    used ? "," : "", f->name, (double)st->top_contrib[i]);
		if (n < 0 || (size_t)n >= size - used) {
			buf[used] = '\0';
			break;
		}
		used += (size_t)n;
	}
}

struct fm_status_journal {
	bool alarm;            /* raised at the last call */
	int64_t alarm_real_ns; /* since */
	float alarm_peak;      /* the highest score while raised */
	uint64_t events;       /* the learner's event count at the last call */
	bool on[FM_STATUS_PROBLEM_COUNT];
};

int
fm_status_journal_new(fm_status_journal **ret)
{
	fm_status_journal *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	*ret = j;
	return 0;
}

fm_status_journal *
fm_status_journal_free(fm_status_journal *j)
{
	free(j);
	return NULL;
}

void
fm_status_journal_alarm(
    fm_status_journal *j, const fm_model_learner_status *st, int64_t real_ns)
{
	char top[256];
	bool alarm = st->ready && st->alarm;

	bool fresh = alarm && j->alarm && st->events > j->events;

	j->events = st->events;
	if (alarm && st->score > j->alarm_peak)
		j->alarm_peak = st->score;
	if (fresh) {
		/* a new fault while the alarm is up: a line of its own,
		 * naming its own features */
		top_format(st, top, sizeof(top));
		fm_log(LOG_WARNING,
		    "New anomaly during the alarm: score %.3f (threshold "
		    "%.3f), top features %s",
		    (double)st->score, (double)st->threshold,
		    top[0] ? top : "(none)");
	}
	if (alarm == j->alarm)
		return;
	top_format(st, top, sizeof(top));
	if (alarm) {
		j->alarm_real_ns = real_ns;
		j->alarm_peak = st->score;
		fm_log(LOG_WARNING,
		    "Anomaly alarm raised: score %.3f (threshold %.3f), top "
		    "features %s",
		    (double)st->score, (double)st->threshold,
		    top[0] ? top : "(none)");
	} else {
		fm_log(LOG_NOTICE,
		    "Anomaly alarm cleared after %.0f s: score %.3f "
		    "(threshold %.3f, peak %.3f), top features %s",
		    (double)(real_ns - j->alarm_real_ns) / 1e9,
		    (double)st->score, (double)st->threshold,
		    (double)j->alarm_peak, top[0] ? top : "(none)");
	}
	j->alarm = alarm;
}

void
fm_status_journal_health(fm_status_journal *j, const fm_status_health *h)
{
	for (unsigned p = 0; p < FM_STATUS_PROBLEM_COUNT; p++) {
		if (h->on[p] == j->on[p])
			continue;
		if (h->on[p])
			fm_log(LOG_WARNING, "Problem %s", h->text[p]);
		else
			fm_log(LOG_NOTICE, "Problem %s: resolved.",
			    fm_status_problem_name(p));
		j->on[p] = h->on[p];
	}
}

void
fm_status_journal_on_sample(
    fm_status_journal *j, const fm_status_view *v, int64_t real_ns)
{
	fm_status_health h;

	if (v->learner) {
		fm_model_learner_status st;

		fm_model_learner_status_get(v->learner, &st);
		fm_status_journal_alarm(j, &st, real_ns);
	}
	fm_status_health_get(v, &h);
	fm_status_journal_health(j, &h);
}
