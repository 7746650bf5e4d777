/*
 * agent/model: the minute ring (history.c). Include agent/model/model.h.
 */
#ifndef FM_AGENT_MODEL_HISTORY_H
#define FM_AGENT_MODEL_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect/collect.h"
#include "common/common.h"

/*
 * The agent's one per-minute history: each closed wall-clock minute's
 * aggregates of the samples, with its label onsets and mean anomaly score.
 * The learner's failure predictors train on it and predict from it; with
 * learning off the daemon still fills it (scores NAN). Single-threaded:
 * the sampling thread pushes and reads.
 */
typedef struct fm_model_history fm_model_history;

#define FM_MODEL_HISTORY_MAX_MINUTES 10000000u

/* One closed minute. */
typedef struct fm_model_history_minute {
	int64_t real_ns;              /* start of the minute */
	uint32_t count;               /* samples aggregated */
	uint32_t label_onsets;        /* FM_LABEL_BIT()s of the onsets in it */
	float score;                  /* mean anomaly score of its samples */
	float mean[FM_FEATURE_COUNT]; /* over the unmasked samples; NAN: none */
	float min[FM_FEATURE_COUNT];
	float max[FM_FEATURE_COUNT];
} fm_model_history_minute;

/* Bytes fm_model_history_new() allocates for minute_len minutes (the memory
 * bound documented in README.md). */
size_t fm_model_history_bytes(uint32_t minute_len);

/*
 * Allocates a ring keeping the last minute_len closed minutes, in [1,
 * FM_MODEL_HISTORY_MAX_MINUTES]. On success *ret owns it. Errors: -EINVAL,
 * -ENOMEM.
 */
int fm_model_history_new(uint32_t minute_len, fm_model_history **ret) FM_WUR;

/* Frees h. NULL-safe; returns NULL. */
fm_model_history *fm_model_history_free(fm_model_history *h);

/*
 * Adds a sample with its anomaly score (NAN when nothing scores) and the
 * label onsets at it (FM_LABEL_BIT mask) to the current minute. A sample
 * of a later wall-clock minute first closes the current one into the
 * ring: then returns true. Never allocates.
 */
bool fm_model_history_push(fm_model_history *h, const fm_collect_sample *s,
    float score, uint32_t label_onsets);

/*
 * Puts n closed minutes, oldest first, into a ring that holds none yet
 * and aggregates none (a restart restoring what the last run saved);
 * keeps the newest minute_len of them. The caller validated them. Returns
 * 0, or -EBUSY when the ring is not empty. Never allocates.
 */
int fm_model_history_restore(
    fm_model_history *h, const fm_model_history_minute *m, uint32_t n) FM_WUR;

/*
 * The minute being aggregated, so far, as a closed minute would hold it
 * (its mean score and each feature's mean, min and max over its unmasked
 * samples), with each feature's count of unmasked samples in
 * ret_n[FM_FEATURE_COUNT]: what a restart needs to continue it. Returns
 * false, writing nothing, when no sample came since the last minute
 * closed.
 */
bool fm_model_history_current(
    const fm_model_history *h, fm_model_history_minute *ret, uint32_t *ret_n);

/*
 * Makes m, with n[FM_FEATURE_COUNT] unmasked samples of each feature, the
 * minute being aggregated, in a ring that aggregates none yet (after
 * fm_model_history_restore(), before any push): a sample of the same
 * minute continues it, a later one closes it. The caller validated m (a
 * whole minute, count >= 1, each n <= count). Returns 0, or -EBUSY.
 */
int fm_model_history_restore_current(fm_model_history *h,
    const fm_model_history_minute *m, const uint32_t *n) FM_WUR;

/* The number of minutes the ring keeps (minute_len). */
uint32_t fm_model_history_capacity(const fm_model_history *h);

/* Number of closed minutes held (<= minute_len). */
uint32_t fm_model_history_minute_count(const fm_model_history *h);

/* The i-th most recent closed minute (0 = newest), or NULL. Valid until
 * the next push. */
const fm_model_history_minute *fm_model_history_minute_get(
    const fm_model_history *h, uint32_t i);

#endif
