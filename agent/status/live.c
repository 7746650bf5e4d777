/*
 * The sampling loop's live counters: the last sample, counts, the
 * histogram of read times and how the last reload ended, written once per
 * sample by the sampling thread and copied out under a lock by the control
 * socket and /metrics.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "agent/status/status.h"

/* Reads take about 1 ms on a quiet host: the buckets resolve that and
 * reach far enough to show a stalled /proc. */
const double fm_status_live_bucket_le[FM_STATUS_LIVE_BUCKETS] = {
	0.00025,
	0.0005,
	0.001,
	0.0025,
	0.005,
	0.01,
	0.025,
	0.05,
	0.1,
	1.0,
};

struct fm_status_live {
	pthread_mutex_t lock;
	fm_status_live_snapshot s;
};

int
fm_status_live_new(fm_status_live **ret)
{
	fm_status_live *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	l->s.start_real_ns = fm_time_real_ns();
	l->s.start_mono_ns = fm_time_mono_ns();
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		l->s.last.v[i] = NAN;
	*ret = l;
	return 0;
}

fm_status_live *
fm_status_live_free(fm_status_live *l)
{
	if (!l)
		return NULL;
	pthread_mutex_destroy(&l->lock);
	free(l);
	return NULL;
}

void
fm_status_live_on_sample(fm_status_live *l, const fm_collect_sample *s,
    bool failed, const char *failing)
{
	double secs = (double)(s->read_ns > 0 ? s->read_ns : 0) / 1e9;
	unsigned b = 0;

	while (b < FM_STATUS_LIVE_BUCKETS && secs > fm_status_live_bucket_le[b])
		b++;
	pthread_mutex_lock(&l->lock);
	l->s.samples++;
	if (failed)
		l->s.failed++;
	l->s.last = *s;
	snprintf(l->s.failing, sizeof(l->s.failing), "%s",
	    failing ? failing : "");
	l->s.read_bucket[b]++;
	l->s.read_sum_seconds += secs;
	pthread_mutex_unlock(&l->lock);
}

void
fm_status_live_on_reload(fm_status_live *l, const char *why)
{
	pthread_mutex_lock(&l->lock);
	if (why) {
		l->s.reload_failed_real_ns = fm_time_real_ns();
		snprintf(l->s.reload_why, sizeof(l->s.reload_why), "%s", why);
	} else {
		l->s.reload_failed_real_ns = 0;
		l->s.reload_why[0] = '\0';
	}
	pthread_mutex_unlock(&l->lock);
}

void
fm_status_live_get(fm_status_live *l, fm_status_live_snapshot *ret)
{
	pthread_mutex_lock(&l->lock);
	*ret = l->s;
	pthread_mutex_unlock(&l->lock);
}
