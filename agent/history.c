/*
 * History: a ring of the last raw samples and a ring of per-minute
 * aggregates (mean, min, max of each feature over the unmasked samples of
 * one wall-clock minute). Both rings are allocated once; pushing never
 * allocates.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

#define HISTORY_MAX_LEN 10000000u
#define NSEC_PER_MIN    (60 * FM_NSEC_PER_SEC)

struct fm_history {
	uint32_t raw_len, raw_count, raw_next;
	uint32_t min_len, min_count, min_next;
	fm_sample *raw;             /* raw_len */
	fm_history_minute *minutes; /* min_len */
	/* the minute being aggregated */
	int64_t cur_minute; /* index (real_ns / 60 s), or INT64_MIN */
	uint32_t cur_samples;
	uint32_t cur_n[FM_FEATURE_COUNT];
	double cur_sum[FM_FEATURE_COUNT];
	float cur_min[FM_FEATURE_COUNT];
	float cur_max[FM_FEATURE_COUNT];
};

size_t
fm_history_bytes(uint32_t raw_len, uint32_t minute_len)
{
	return sizeof(fm_history) + (size_t)raw_len * sizeof(fm_sample) +
	    (size_t)minute_len * sizeof(fm_history_minute);
}

static void
minute_reset(fm_history *h, int64_t minute)
{
	h->cur_minute = minute;
	h->cur_samples = 0;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		h->cur_n[f] = 0;
		h->cur_sum[f] = 0.0;
		h->cur_min[f] = INFINITY;
		h->cur_max[f] = -INFINITY;
	}
}

int
fm_history_new(uint32_t raw_len, uint32_t minute_len, fm_history **ret)
{
	fm_history *h;

	if (raw_len < 1 || raw_len > HISTORY_MAX_LEN || minute_len < 1 ||
	    minute_len > HISTORY_MAX_LEN)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* calloc: pages are touched only as the rings fill. */
	h->raw = calloc(raw_len, sizeof(*h->raw));
	h->minutes = calloc(minute_len, sizeof(*h->minutes));
	if (!h->raw || !h->minutes) {
		fm_history_free(h);
		return -ENOMEM;
	}
	h->raw_len = raw_len;
	h->min_len = minute_len;
	minute_reset(h, INT64_MIN);
	*ret = h;
	return 0;
}

fm_history *
fm_history_free(fm_history *h)
{
	if (!h)
		return NULL;
	free(h->raw);
	free(h->minutes);
	free(h);
	return NULL;
}

static void
minute_close(fm_history *h)
{
	fm_history_minute *m = &h->minutes[h->min_next];

	m->real_ns = h->cur_minute * NSEC_PER_MIN;
	m->count = h->cur_samples;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		if (h->cur_n[f] == 0) {
			m->mean[f] = m->min[f] = m->max[f] = NAN;
			continue;
		}
		m->mean[f] = (float)(h->cur_sum[f] / h->cur_n[f]);
		m->min[f] = h->cur_min[f];
		m->max[f] = h->cur_max[f];
	}
	h->min_next = (h->min_next + 1) % h->min_len;
	if (h->min_count < h->min_len)
		h->min_count++;
}

static int64_t
minute_of(int64_t real_ns)
{
	/* floor division, correct for times before the epoch too */
	int64_t q = real_ns / NSEC_PER_MIN;

	return real_ns % NSEC_PER_MIN < 0 ? q - 1 : q;
}

void
fm_history_push(fm_history *h, const fm_sample *s)
{
	int64_t minute = minute_of(s->real_ns);

	h->raw[h->raw_next] = *s;
	h->raw_next = (h->raw_next + 1) % h->raw_len;
	if (h->raw_count < h->raw_len)
		h->raw_count++;

	if (minute != h->cur_minute) {
		if (h->cur_samples > 0)
			minute_close(h);
		minute_reset(h, minute);
	}
	h->cur_samples++;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		float v = s->v[f];

		if (fm_feature_is_masked(v))
			continue;
		h->cur_n[f]++;
		h->cur_sum[f] += v;
		if (v < h->cur_min[f])
			h->cur_min[f] = v;
		if (v > h->cur_max[f])
			h->cur_max[f] = v;
	}
}

uint32_t
fm_history_raw_count(const fm_history *h)
{
	return h->raw_count;
}

const fm_sample *
fm_history_raw_get(const fm_history *h, uint32_t i)
{
	if (i >= h->raw_count)
		return NULL;
	return &h->raw[(h->raw_next + h->raw_len - 1 - i) % h->raw_len];
}

uint32_t
fm_history_minute_count(const fm_history *h)
{
	return h->min_count;
}

const fm_history_minute *
fm_history_minute_get(const fm_history *h, uint32_t i)
{
	if (i >= h->min_count)
		return NULL;
	return &h->minutes[(h->min_next + h->min_len - 1 - i) % h->min_len];
}
