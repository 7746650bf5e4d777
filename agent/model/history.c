/*
 * The minute ring: per-minute aggregates of the samples (mean, min and max
 * of each feature over its unmasked samples in one wall-clock minute),
 * with the minute's label onsets and mean anomaly score. It is the one
 * per-minute history of the agent: the learner's failure predictors train
 * on it and predict from it. Allocated once; pushing never allocates.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model/model.h"

#define NSEC_PER_MIN (60 * FM_NSEC_PER_SEC)

struct fm_model_history {
	uint32_t len, count, next;
	fm_model_history_minute *minutes; /* len */
	/* the minute being aggregated */
	int64_t cur_minute; /* index (real_ns / 60 s), or INT64_MIN */
	uint32_t cur_samples;
	uint32_t cur_onsets;
	double cur_score;
	uint32_t cur_n[FM_FEATURE_COUNT];
	double cur_sum[FM_FEATURE_COUNT];
	float cur_min[FM_FEATURE_COUNT];
	float cur_max[FM_FEATURE_COUNT];
};

size_t
fm_model_history_bytes(uint32_t minute_len)
{
	return sizeof(fm_model_history) +
	    (size_t)minute_len * sizeof(fm_model_history_minute);
}

static void
minute_reset(fm_model_history *h, int64_t minute)
{
	h->cur_minute = minute;
	h->cur_samples = 0;
	h->cur_onsets = 0;
	h->cur_score = 0.0;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		h->cur_n[f] = 0;
		h->cur_sum[f] = 0.0;
		h->cur_min[f] = INFINITY;
		h->cur_max[f] = -INFINITY;
	}
}

int
fm_model_history_new(uint32_t minute_len, fm_model_history **ret)
{
	fm_model_history *h;

	if (minute_len < 1 || minute_len > FM_MODEL_HISTORY_MAX_MINUTES)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* calloc: pages are touched only as the ring fills. */
	h->minutes = calloc(minute_len, sizeof(*h->minutes));
	if (!h->minutes) {
		fm_model_history_free(h);
		return -ENOMEM;
	}
	h->len = minute_len;
	minute_reset(h, INT64_MIN);
	*ret = h;
	return 0;
}

fm_model_history *
fm_model_history_free(fm_model_history *h)
{
	if (!h)
		return NULL;
	free(h->minutes);
	free(h);
	return NULL;
}

static void
minute_close(fm_model_history *h)
{
	fm_model_history_minute *m = &h->minutes[h->next];

	m->real_ns = h->cur_minute * NSEC_PER_MIN;
	m->count = h->cur_samples;
	m->label_onsets = h->cur_onsets;
	m->score = (float)(h->cur_score / h->cur_samples);
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		if (h->cur_n[f] == 0) {
			m->mean[f] = m->min[f] = m->max[f] = NAN;
			continue;
		}
		m->mean[f] = (float)(h->cur_sum[f] / h->cur_n[f]);
		m->min[f] = h->cur_min[f];
		m->max[f] = h->cur_max[f];
	}
	h->next = (h->next + 1) % h->len;
	if (h->count < h->len)
		h->count++;
}

static int64_t
minute_of(int64_t real_ns)
{
	/* floor division, correct for times before the epoch too */
	int64_t q = real_ns / NSEC_PER_MIN;

	return real_ns % NSEC_PER_MIN < 0 ? q - 1 : q;
}

bool
fm_model_history_push(fm_model_history *h, const fm_collect_sample *s,
    float score, uint32_t label_onsets)
{
	int64_t minute = minute_of(s->real_ns);
	bool closed = false;

	if (minute != h->cur_minute) {
		if (h->cur_samples > 0) {
			minute_close(h);
			closed = true;
		}
		minute_reset(h, minute);
	}
	h->cur_samples++;
	h->cur_onsets |= label_onsets;
	h->cur_score += score;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		float v = s->v[f];

		if (fm_collect_feature_is_masked(v))
			continue;
		h->cur_n[f]++;
		h->cur_sum[f] += v;
		if (v < h->cur_min[f])
			h->cur_min[f] = v;
		if (v > h->cur_max[f])
			h->cur_max[f] = v;
	}
	return closed;
}

int
fm_model_history_restore(
    fm_model_history *h, const fm_model_history_minute *m, uint32_t n)
{
	uint32_t skip = n > h->len ? n - h->len : 0;

	if (h->count > 0 || h->cur_samples > 0)
		return -EBUSY;
	for (uint32_t i = skip; i < n; i++)
		h->minutes[i - skip] = m[i];
	h->count = n - skip;
	h->next = h->count % h->len;
	return 0;
}

bool
fm_model_history_current(
    const fm_model_history *h, fm_model_history_minute *ret, uint32_t *ret_n)
{
	if (h->cur_samples == 0)
		return false;
	ret->real_ns = h->cur_minute * NSEC_PER_MIN;
	ret->count = h->cur_samples;
	ret->label_onsets = h->cur_onsets;
	ret->score = (float)(h->cur_score / h->cur_samples);
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		ret_n[f] = h->cur_n[f];
		if (h->cur_n[f] == 0) {
			ret->mean[f] = ret->min[f] = ret->max[f] = NAN;
			continue;
		}
		ret->mean[f] = (float)(h->cur_sum[f] / h->cur_n[f]);
		ret->min[f] = h->cur_min[f];
		ret->max[f] = h->cur_max[f];
	}
	return true;
}

int
fm_model_history_restore_current(
    fm_model_history *h, const fm_model_history_minute *m, const uint32_t *n)
{
	if (h->cur_samples > 0)
		return -EBUSY;
	minute_reset(h, minute_of(m->real_ns));
	h->cur_samples = m->count;
	h->cur_onsets = m->label_onsets;
	h->cur_score = (double)m->score * m->count;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		if (n[f] == 0)
			continue;
		h->cur_n[f] = n[f];
		h->cur_sum[f] = (double)m->mean[f] * n[f];
		h->cur_min[f] = m->min[f];
		h->cur_max[f] = m->max[f];
	}
	return 0;
}

uint32_t
fm_model_history_capacity(const fm_model_history *h)
{
	return h->len;
}

uint32_t
fm_model_history_minute_count(const fm_model_history *h)
{
	return h->count;
}

const fm_model_history_minute *
fm_model_history_minute_get(const fm_model_history *h, uint32_t i)
{
	if (i >= h->count)
		return NULL;
	return &h->minutes[(h->next + h->len - 1 - i) % h->len];
}
