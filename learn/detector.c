/*
 * The anomaly detector: per-host normalisation, a linear autoencoder over
 * a short window, per-feature contributions, EMA smoothing, a gated
 * relative baseline and a POT threshold with an alarm state machine, and
 * an onset path for sudden changes. The design and its evaluation are in
 * docs/research/detector.md.
 *
 * This file: the configuration, the per-row pipeline training shares,
 * and scoring. Training is in detector-train.c; the file and the shared
 * parameters in detector-file.c; the struct in learn-int.h.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

/* Above any contribution (each is at most 2 cap / d + ... < 1e6): the
 * first tier of fm_learn_detector_top()'s ranking. */
#define FMI_LEARN_TOP_NEW 1e9
/* A feature a new fault moved contributes at least this, times d: a
 * squared scaled deviation of 8 (noise gives about 2). */
#define FMI_LEARN_TOP_MOVED 8.0

/* The range of the level-shift guard's histogram of ln R. */
#define GUARD_LOG_MIN (-8.0)
#define GUARD_LOG_MAX 8.0

void
fm_learn_detector_config_default(fm_learn_detector_config *ret,
    uint32_t n_features, uint32_t rows_per_day)
{
	*ret = (fm_learn_detector_config) {
		.n_features = n_features,
		.window = 5,
		.latent = 8,
		.std_floor = 0.01f,
		.clip = 10.0f,
		.rho_floor = 1e-3f,
		.cap = 100.0f,
		.z_weight = 1.0f,
		.ema_span = 10.0f,
		.baseline_rows = 3.0f * (float)rows_per_day,
		.baseline_gate = 3.0f,
		.alarm_on = 3,
		.onset_factor = 5.0f,
		.alarm_off = 10,
		.clear_ratio = 1.0f,
		.guard_factor = 2.0f,
		.guard_half_rows = 1.5f * (float)rows_per_day,
		.prior_rows = (float)rows_per_day,
		.threshold_online = false,
	};
	fm_learn_ae_train_config_default(&ret->train);
	fm_learn_pot_config_default(&ret->pot);
	ret->pot.init_quantile = 0.95;
	ret->pot.risk = 0.02;
	ret->pot.clear_ratio = 1.0;
	ret->pot.min_duration = 3;
}

static bool
positive_finite(float v)
{
	return isfinite(v) && v > 0.0f;
}

bool
fm_learn_detector_config_is_valid(const fm_learn_detector_config *c)
{
	return c->n_features >= 1 &&
	    c->n_features <= FM_LEARN_DETECTOR_MAX_FEATURES &&
	    c->window >= 1 && c->window <= FM_LEARN_DETECTOR_MAX_WINDOW &&
	    c->latent >= 1 && c->latent <= FM_LEARN_AE_MAX_LATENT &&
	    c->latent <= c->window * c->n_features &&
	    c->window * c->n_features <= FM_LEARN_AE_MAX_INPUTS &&
	    positive_finite(c->std_floor) && positive_finite(c->clip) &&
	    positive_finite(c->rho_floor) && positive_finite(c->cap) &&
	    isfinite(c->z_weight) && c->z_weight >= 0.0f &&
	    isfinite(c->ema_span) && c->ema_span >= 1.0f &&
	    isfinite(c->baseline_rows) && c->baseline_rows >= 1.0f &&
	    isfinite(c->baseline_gate) && c->baseline_gate > 1.0f &&
	    c->alarm_on >= 1 && c->alarm_on <= FM_LEARN_POT_MAX_DURATION &&
	    isfinite(c->onset_factor) &&
	    (c->onset_factor == 0.0f || c->onset_factor >= 1.0f) &&
	    c->alarm_off >= 1 && c->alarm_off <= FM_LEARN_POT_MAX_DURATION &&
	    isfinite(c->clear_ratio) && c->clear_ratio > 0.0f &&
	    c->clear_ratio <= 1.0f && isfinite(c->guard_factor) &&
	    c->guard_factor >= 0.0f && isfinite(c->guard_half_rows) &&
	    c->guard_half_rows >= 1.0f && isfinite(c->prior_rows) &&
	    c->prior_rows >= 0.0f &&
	    fm_learn_pot_config_is_valid(&c->pot) && c->train.steps >= 1 &&
	    c->train.batch >= 1 && c->train.batch <= FM_LEARN_AE_MAX_BATCH &&
	    positive_finite(c->train.lr);
}

void
fmi_learn_slice(float *base, size_t d, float **const *slices, size_t n)
{
	for (size_t i = 0; i < n; i++)
		*slices[i] = base + i * d;
}

int
fm_learn_detector_new(
    const fm_learn_detector_config *cfg, fm_learn_detector **ret)
{
	fm_learn_detector *det;
	size_t d, nf;
	float *base;

	if (!fm_learn_detector_config_is_valid(cfg))
		return -EINVAL;
	det = calloc(1, sizeof(*det));
	if (!det)
		return -ENOMEM;
	det->cfg = *cfg;
	det->d = cfg->n_features;
	det->win_len = cfg->window * cfg->n_features;
	d = det->d;
	{
		/* one allocation: d floats each, then the ring and the
		 * window (m first: it owns the allocation) */
		float **slices[] = { &det->m, &det->s, &det->rho, &det->z,
			&det->r, &det->contrib, &det->event, &det->rho_own,
			&det->r_own, &det->own_m1, &det->own_m2, &det->prior_m1,
			&det->prior_m2, &det->peak, &det->carry,
			&det->young_s };

		nf = FM_ELEMENTSOF(slices) * d +
		    (size_t)(cfg->window - 1) * d + det->win_len +
		    (size_t)FMI_LEARN_EVENT_LAG * d;
		base = calloc(nf, sizeof(float));
		if (!base)
			return fm_learn_detector_free(det), -ENOMEM;
		fmi_learn_slice(base, d, slices, FM_ELEMENTSOF(slices));
		det->ring = base + FM_ELEMENTSOF(slices) * d;
	}
	det->w = det->ring + (size_t)(cfg->window - 1) * d;
	det->lag = det->w + det->win_len;
	det->sm.baseline = 1.0;
	*ret = det;
	return 0;
}

fm_learn_detector *
fm_learn_detector_free(fm_learn_detector *det)
{
	if (det) {
		fm_learn_ae_free(det->ae);
		fm_learn_ae_free(det->own);
		fm_learn_pot_free(det->pot);
		free(det->m);
		free(det);
	}
	return NULL;
}

int
fm_learn_detector_set_train_config(
    fm_learn_detector *det, const fm_learn_ae_train_config *c)
{
	if (!fm_learn_ae_train_config_is_valid(c))
		return -EINVAL;
	det->cfg.train = *c;
	return 0;
}

const fm_learn_ae_train_config *
fm_learn_detector_train_config(const fm_learn_detector *det)
{
	return &det->cfg.train;
}

bool
fm_learn_detector_is_ready(const fm_learn_detector *det)
{
	return det->ready;
}

const float *
fm_learn_detector_contrib(const fm_learn_detector *det)
{
	return det->contrib;
}

/* ---- the per-row pipeline, shared by training and scoring ------------- */

static inline float
clipf(float v, float c)
{
	return v > c ? c : (v < -c ? -c : v);
}

void
fmi_learn_norm_row(const float *x, const float *m, const float *s, uint32_t d,
    float clip, float *dst)
{
	for (uint32_t j = 0; j < d; j++)
		dst[j] = clipf(fmi_learn_norm1(x[j], m[j], s[j]), clip);
}

static inline float
capped_sq(float v, float cap)
{
	v *= v;
	return v < cap ? v : cap;
}

double
fmi_learn_contributions(const fm_learn_detector_config *c, uint32_t d,
    const float *x, const float *s, const float *z,
    const fmi_learn_residuals *e, float *contrib)
{
	double sum = 0.0;

	for (uint32_t j = 0; j < d; j++) {
		float a;

		if (!isfinite(x[j]) || s[j] == 0.0f) {
			contrib[j] = 0.0f;
			continue;
		}
		a = capped_sq(e->r[j] / e->rho[j], c->cap);
		if (e->r2)
			a = 0.5f *
			    (a + capped_sq(e->r2[j] / e->rho2[j], c->cap));
		contrib[j] = (a + c->z_weight * capped_sq(z[j], c->cap)) /
		    (float)d;
		sum += contrib[j];
	}
	return sum;
}

double
fmi_learn_smoother_step(
    fmi_learn_smoother *sm, const fm_learn_detector_config *c, double a)
{
	double alpha = 2.0 / ((double)c->ema_span + 1.0), rel;

	if (!sm->started) {
		sm->ema = a;
		sm->started = true;
	} else {
		sm->ema = alpha * a + (1.0 - alpha) * sm->ema;
	}
	rel = sm->ema / sm->baseline;
	if (rel < c->baseline_gate) {
		sm->baseline += (sm->ema - sm->baseline) / c->baseline_rows;
		if (sm->baseline < FMI_LEARN_BASELINE_MIN)
			sm->baseline = FMI_LEARN_BASELINE_MIN;
	}
	return rel;
}

/* The guard's median: interpolated within the bin holding half the
 * weight. */
static double
guard_median(const float *hist)
{
	const double width =
	    (GUARD_LOG_MAX - GUARD_LOG_MIN) / FMI_LEARN_GUARD_BINS;
	double total = 0.0, below = 0.0, half;

	for (uint32_t b = 0; b < FMI_LEARN_GUARD_BINS; b++)
		total += hist[b];
	if (!(total > 0.0))
		return 0.0;
	half = 0.5 * total;
	for (uint32_t b = 0; b < FMI_LEARN_GUARD_BINS; b++) {
		if (below + hist[b] >= half && hist[b] > 0.0f)
			return exp(GUARD_LOG_MIN +
			    width * ((double)b + (half - below) / hist[b]));
		below += hist[b];
	}
	return exp(GUARD_LOG_MAX);
}

void
fmi_learn_guard_push(float *hist, double *guard, uint32_t *count,
    const fm_learn_detector_config *c, double rel)
{
	const double width =
	    (GUARD_LOG_MAX - GUARD_LOG_MIN) / FMI_LEARN_GUARD_BINS;
	double lr = rel > 0.0 ? log(rel) : GUARD_LOG_MIN;
	float fade;
	long b;

	b = (long)floor((lr - GUARD_LOG_MIN) / width);
	if (b < 0)
		b = 0;
	else if (b >= (long)FMI_LEARN_GUARD_BINS)
		b = (long)FMI_LEARN_GUARD_BINS - 1;
	hist[b] += 1.0f;
	if (++*count < FMI_LEARN_GUARD_REFRESH)
		return;
	*count = 0;
	*guard = guard_median(hist);
	fade = (float)exp2(
	    -(double)FMI_LEARN_GUARD_REFRESH / c->guard_half_rows);
	for (uint32_t i = 0; i < FMI_LEARN_GUARD_BINS; i++)
		hist[i] *= fade;
}

double
fmi_learn_detector_threshold(const fm_learn_detector *det)
{
	double t = fm_learn_pot_threshold_get(det->pot);
	double g = (double)det->cfg.guard_factor * det->guard;

	return g > t ? g : t;
}

/* ---- scoring ------------------------------------------------------------- */

const float *
fmi_learn_detector_ring_back(const fm_learn_detector *det, uint32_t i)
{
	uint32_t cap = det->cfg.window - 1;

	if (i == 0 || i > det->ring_held)
		return NULL;
	return det->ring + (size_t)((det->ring_head + cap - i) % cap) * det->d;
}

static void
ring_push(fm_learn_detector *det, const float *x)
{
	uint32_t cap = det->cfg.window - 1;

	if (cap == 0)
		return;
	memcpy(det->ring + (size_t)det->ring_head * det->d, x,
	    det->d * sizeof(float));
	det->ring_head = (det->ring_head + 1) % cap;
	if (det->ring_held < cap)
		det->ring_held++;
}

/* Begins an event: its totals and peaks start from nothing; a new
 * fault during an alarm carries the earlier events' peaks (in carry),
 * so its own features are named first. */
static void
event_begin(fm_learn_detector *det, bool within)
{
	uint32_t d = det->d;

	/* what the earlier events reached, up to FMI_LEARN_EVENT_LAG rows
	 * ago: the new fault's own first rows are newer */
	for (uint32_t j = 0; j < d; j++) {
		if (!within)
			det->carry[j] = 0.0f;
		else if (det->peak[j] > det->carry[j])
			det->carry[j] = det->peak[j];
	}
	memset(det->event, 0, det->d * sizeof(float));
	memset(det->peak, 0, det->d * sizeof(float));
	det->event_rows = 0;
	det->run_new = 0;
	det->onset = true;
}

/* Adds the row's contributions to the event: its totals, and its peaks
 * FMI_LEARN_EVENT_LAG rows later. */
static void
event_add(fm_learn_detector *det)
{
	uint32_t d = det->d, slot = det->event_rows % FMI_LEARN_EVENT_LAG;
	float *old = det->lag + (size_t)slot * d;

	cblas_saxpy((int)d, 1.0f, det->contrib, 1, det->event, 1);
	if (det->event_rows >= FMI_LEARN_EVENT_LAG) {
		for (uint32_t j = 0; j < d; j++) {
			if (old[j] > det->peak[j])
				det->peak[j] = old[j];
		}
	}
	memcpy(old, det->contrib, d * sizeof(float));
	det->event_rows++;
}

/*
 * Whether the row, during an alarm, holds a new fault rather than more
 * of the one in progress: the contributions above each feature's
 * reference (its highest in the event up to FMI_LEARN_EVENT_LAG rows
 * ago), added to a normal row's score, reach the threshold for
 * alarm_on rows in a row, or pass the onset test at once: what the new
 * fault alone, on a quiet host, would have done. A second fault (an I/O
 * storm during a CPU saturation) moves features the first left alone, so
 * its whole contribution counts; the first fault's features wandering
 * within what they reached, or growing row by row, add little. Not within
 * an event's first ema_span rows: what happens while the smoothed score
 * still remembers the onset belongs to it.
 */
static bool
event_is_new(fm_learn_detector *det, double base, double threshold)
{
	const fm_learn_detector_config *c = &det->cfg;
	double excess = 0.0;

	/* an event's first rows, as many as the smoothed score remembers
	 * (ema_span), are its own: a fault that evolves in its first
	 * seconds (a build's bursts) is one incident */
	if (det->event_rows <= FMI_LEARN_EVENT_LAG ||
	    (float)det->event_rows < c->ema_span)
		return false;
	for (uint32_t j = 0; j < det->d; j++) {
		if (det->contrib[j] > det->peak[j])
			excess += det->contrib[j] - det->peak[j];
	}
	/* as the score of a normal row (1) with the new contributions on
	 * top: what the new fault alone would have scored */
	excess = 1.0 + excess / base;
	det->run_new = excess >= threshold ? det->run_new + 1 : 0;
	return det->run_new >= c->alarm_on ||
	    (c->onset_factor > 0.0f &&
	        excess / (double)c->onset_factor >= threshold);
}

/*
 * The alarm state machine on the row's score. fast: the score is the
 * onset term and at or above the threshold, which raises the alarm
 * without waiting for alarm_on rows. fresh: during an alarm, the row
 * holds a new fault (event_is_new()), which begins a new event without
 * clearing the alarm.
 */
static void
alarm_step(fm_learn_detector *det, double score, bool fast, bool fresh,
    double threshold)
{
	const fm_learn_detector_config *c = &det->cfg;

	det->onset = false;
	if (!det->alarm) {
		det->run_on = score >= threshold ? det->run_on + 1 : 0;
		if (det->run_on >= c->alarm_on || fast) {
			det->alarm = true;
			det->run_off = 0;
			event_begin(det, false);
		}
	} else {
		det->run_off = score < c->clear_ratio * threshold
		    ? det->run_off + 1
		    : 0;
		if (det->run_off >= c->alarm_off) {
			det->alarm = false;
			det->run_on = 0;
		} else if (fresh) {
			det->run_off = 0;
			event_begin(det, true);
		}
	}
}

void
fm_learn_detector_score(
    fm_learn_detector *det, const float *x, fm_learn_verdict *ret)
{
	const fm_learn_detector_config *c = &det->cfg;
	uint32_t d = det->d;
	double raw, base, rel, score, threshold;
	fmi_learn_residuals e;
	bool fast = false;

	if (!det->ready) {
		ring_push(det, x);
		memset(det->contrib, 0, d * sizeof(float));
		*ret = (fm_learn_verdict) { .threshold = INFINITY };
		return;
	}
	for (uint32_t j = 0; j < d; j++)
		det->z[j] = fmi_learn_norm1(x[j], det->m[j], det->s[j]);
	fmi_learn_norm_row(x, det->m, det->s, d, c->clip, det->w);
	for (uint32_t i = 1; i < c->window; i++) {
		const float *prev = fmi_learn_detector_ring_back(det, i);
		float *dst = det->w + (size_t)i * d;

		if (prev)
			fmi_learn_norm_row(
			    prev, det->m, det->s, d, c->clip, dst);
		else /* fewer rows than the window: repeat the oldest */
			memcpy(dst, dst - d, d * sizeof(float));
	}
	fm_learn_ae_residual(det->ae, det->w, d, det->r);
	e = (fmi_learn_residuals) { det->r, det->rho, NULL, NULL };
	if (det->own) {
		fm_learn_ae_residual(det->own, det->w, d, det->r_own);
		e.r2 = det->r_own;
		e.rho2 = det->rho_own;
	}
	raw = fmi_learn_contributions(
	    c, d, x, det->s, det->z, &e, det->contrib);
	base = det->sm.baseline; /* the one rel is relative to */
	rel = fmi_learn_smoother_step(&det->sm, c, raw);
	if (c->threshold_online)
		(void)fm_learn_pot_update(det->pot, (float)rel);
	threshold = fmi_learn_detector_threshold(det);
	score = rel;
	if (c->onset_factor > 0.0f) {
		double onset = raw / base / (double)c->onset_factor;

		fast = onset >= threshold;
		if (onset > score)
			score = onset;
	}
	alarm_step(det, score, fast || det->raise,
	    det->alarm && (event_is_new(det, base, threshold) || det->raise),
	    threshold);
	det->raise = false;
	fmi_learn_guard_push(
	    det->guard_hist, &det->guard, &det->guard_count, c, rel);
	if (det->alarm)
		event_add(det);
	ring_push(det, x);
	*ret = (fm_learn_verdict) {
		.score = (float)score,
		.raw = (float)raw,
		.threshold = (float)threshold,
		.alarm = det->alarm,
		.onset = det->onset,
		.ready = true,
	};
}

/* The ranking key of feature j for fm_learn_detector_top(): during an
 * event that began within an alarm, the features it moved come first, by
 * how far above the earlier events' peaks (at least half their
 * contribution above them, and at least FMI_LEARN_TOP_MOVED / d); then
 * the rest, by their contribution. 0: not ranked. */
static double
top_key(const fm_learn_detector *det, uint32_t j)
{
	double c = det->contrib[j], carried = det->alarm ? det->carry[j] : 0.0;

	if (!(c > 0.0))
		return 0.0;
	if (carried > 0.0 && c - carried >= 0.5 * c &&
	    c * det->d >= FMI_LEARN_TOP_MOVED)
		return FMI_LEARN_TOP_NEW + (c - carried);
	return c;
}

size_t
fm_learn_detector_top(
    const fm_learn_detector *det, size_t k, uint32_t *ret_idx)
{
	double key[FM_LEARN_DETECTOR_MAX_FEATURES];
	size_t n = 0;

	if (k == 0)
		return 0;
	/* selection by insertion: k is a handful */
	for (uint32_t j = 0; j < det->d; j++) {
		size_t i;

		key[j] = top_key(det, j);
		if (!(key[j] > 0.0))
			continue;
		if (n == k && !(key[j] > key[ret_idx[n - 1]]))
			continue;
		i = n < k ? n++ : n - 1;
		while (i > 0 && key[j] > key[ret_idx[i - 1]]) {
			ret_idx[i] = ret_idx[i - 1];
			i--;
		}
		ret_idx[i] = j;
	}
	return n;
}

int
fm_learn_detector_continue(
    fm_learn_detector *det, const fm_learn_detector *prev)
{
	if (det->d != prev->d || det->cfg.window != prev->cfg.window)
		return -ESTALE;
	memcpy(det->ring, prev->ring,
	    (size_t)(det->cfg.window - 1) * det->d * sizeof(float));
	det->ring_head = prev->ring_head;
	det->ring_held = prev->ring_held;
	det->alarm = prev->alarm;
	det->run_on = prev->run_on;
	det->run_off = prev->run_off;
	memcpy(det->event, prev->event, det->d * sizeof(float));
	memcpy(det->peak, prev->peak, det->d * sizeof(float));
	memcpy(det->carry, prev->carry, det->d * sizeof(float));
	memcpy(det->lag, prev->lag,
	    (size_t)FMI_LEARN_EVENT_LAG * det->d * sizeof(float));
	det->event_rows = prev->event_rows;
	det->run_new = prev->run_new;
	return 0;
}

void
fm_learn_detector_raise(fm_learn_detector *det)
{
	if (!det->ready)
		return;
	det->raise = true;
}

const float *
fm_learn_detector_event(const fm_learn_detector *det)
{
	return det->event;
}

int
fm_learn_detector_set_young_prior(
    fm_learn_detector *det, const float *scale, float rows)
{
	if (!isfinite(rows) || rows < 0.0f)
		return -EINVAL;
	for (uint32_t j = 0; scale && j < det->d; j++) {
		if (!isfinite(scale[j]) || scale[j] < 0.0f)
			return -EINVAL;
	}
	if (!scale) {
		det->young_rows = 0.0f;
		det->has_typical = false;
		return 0;
	}
	memcpy(det->young_s, scale, det->d * sizeof(float));
	det->young_rows = rows;
	det->has_typical = true;
	return 0;
}

void
fm_learn_detector_normalise(
    const fm_learn_detector *det, const float *x, float *ret_z)
{
	if (!det->ready) {
		memset(ret_z, 0, det->d * sizeof(float));
		return;
	}
	fmi_learn_norm_row(x, det->m, det->s, det->d, det->cfg.clip, ret_z);
}
