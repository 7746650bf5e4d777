/*
 * The anomaly detector: per-host normalisation, a linear autoencoder over
 * a short window, per-feature contributions, EMA smoothing, a gated
 * relative baseline and a POT threshold with an alarm state machine, and
 * an onset path for sudden changes. The design and its evaluation are in
 * docs/research/detector.md.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

#define DETECTOR_STATE_VERSION 1u
#define BASELINE_MIN           1e-6 /* keeps R finite on constant data */
#define CHUNK_ROWS             256u /* rows per batch when scoring training */
/* The feature moments travel scaled by this, so that they weigh no more
 * than the autoencoder's weights in an update's norm (a log-rate of 20
 * has a second moment of 400). FedAvg is linear: the fleet's scaled
 * moments are the scaled moments of every host's rows together. */
#define MOMENT_SCALE 1e-3
/* The level-shift guard's histogram of ln R: GUARD_BINS bins over
 * [GUARD_LOG_MIN, GUARD_LOG_MAX) (6.25% wide), a median every
 * GUARD_REFRESH rows. */
#define GUARD_BINS    256u
#define GUARD_LOG_MIN (-8.0)
#define GUARD_LOG_MAX 8.0
#define GUARD_REFRESH 30u

/* The EMA of the raw score and the gated baseline of the relative score. */
typedef struct smoother {
	double ema;
	double baseline;
	bool started;
} smoother;

struct fm_learn_detector {
	fm_learn_detector_config cfg;
	uint32_t d;
	uint32_t win_len; /* window * d */
	bool ready;
	/* the model */
	float *m;   /* d: means */
	float *s;   /* d: scales; 0 = feature unseen in training */
	float *rho; /* d: residual RMS */
	fm_learn_ae *ae;
	fm_learn_pot *pot;
	/* Once a fleet model was imported (fleet): the host's own
	 * autoencoder beside the personalised fleet one (ae), never
	 * exported, and its residual RMS; NULL until trained or imported. */
	bool fleet;
	fm_learn_ae *own;
	float *rho_own; /* d */
	/* Shared beside the fleet's autoencoder: the first and second
	 * moments of each feature over the host's last training rows
	 * (own_m1, own_m2; times MOMENT_SCALE), and, once imported
	 * (has_prior), the fleet's (prior_m1, prior_m2), a prior on the
	 * host's scales (fm_learn_detector_config.prior_rows). */
	float *own_m1, *own_m2;     /* d each */
	bool has_prior;
	float *prior_m1, *prior_m2; /* d each */
	/* scoring state */
	float *ring;      /* (window - 1) x d raw rows, a ring */
	uint32_t ring_head; /* next slot */
	uint32_t ring_held;
	smoother sm;
	bool alarm;
	float guard_hist[GUARD_BINS]; /* faded counts of ln R */
	double guard;                 /* median R; 0 = none yet */
	uint32_t guard_count;         /* rows since the last median */
	uint32_t run_on;  /* rows in a row at or above the threshold */
	uint32_t run_off; /* rows in a row below the clear level */
	/* scratch and outputs */
	float *z;       /* d: unclipped z of the current row */
	float *w;       /* win_len: the window */
	float *r;       /* d: residual */
	float *r_own;   /* d: the own autoencoder's residual */
	float *contrib; /* d */
	float *event;   /* d: contributions summed over the alarm */
};

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

/* Points *slices[0], *slices[1], … at consecutive runs of d floats from
 * base. */
static void
slice(float *base, size_t d, float **const *slices, size_t n)
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
			&det->prior_m2 };

		nf = FM_ELEMENTSOF(slices) * d +
		    (size_t)(cfg->window - 1) * d + det->win_len;
		base = calloc(nf, sizeof(float));
		if (!base)
			return fm_learn_detector_free(det), -ENOMEM;
		slice(base, d, slices, FM_ELEMENTSOF(slices));
		det->ring = base + FM_ELEMENTSOF(slices) * d;
	}
	det->w = det->ring + (size_t)(cfg->window - 1) * d;
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

/* The normalised value of x against (m, s): 0 when masked or unseen. */
static inline float
norm1(float x, float m, float s)
{
	if (!isfinite(x) || s == 0.0f)
		return 0.0f;
	return (x - m) / s;
}

static inline float
clipf(float v, float c)
{
	return v > c ? c : (v < -c ? -c : v);
}

/* The normalised, clipped row x[d] into dst[d] with the given model. */
static void
norm_row(const float *x, const float *m, const float *s, uint32_t d,
    float clip, float *dst)
{
	for (uint32_t j = 0; j < d; j++)
		dst[j] = clipf(norm1(x[j], m[j], s[j]), clip);
}

/* The residuals of one row: the (personalised fleet or only)
 * autoencoder's r[d] against its residual scales rho[d] and, beside it
 * once the detector is in a fleet, the host's own r2[d] against rho2[d]
 * (NULL otherwise). */
typedef struct residuals {
	const float *r, *rho;
	const float *r2, *rho2;
} residuals;

static inline float
capped_sq(float v, float cap)
{
	v *= v;
	return v < cap ? v : cap;
}

/* Contributions from the current row x[d] (its unclipped z[d] and
 * residuals e, with scales s[d]); returns their sum. With two
 * autoencoders the residual term is the mean of theirs. A masked or
 * unseen feature contributes nothing: its value is unknown, not normal. */
static double
contributions(const fm_learn_detector_config *c, uint32_t d, const float *x,
    const float *s, const float *z, const residuals *e, float *contrib)
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
			a = 0.5f * (a + capped_sq(e->r2[j] / e->rho2[j], c->cap));
		contrib[j] = (a + c->z_weight * capped_sq(z[j], c->cap)) /
		    (float)d;
		sum += contrib[j];
	}
	return sum;
}

/* One step of the EMA and the gated baseline: the relative score of raw
 * score a. */
static double
smoother_step(smoother *sm, const fm_learn_detector_config *c, double a)
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
		if (sm->baseline < BASELINE_MIN)
			sm->baseline = BASELINE_MIN;
	}
	return rel;
}

/* The guard's median: interpolated within the bin holding half the
 * weight. */
static double
guard_median(const float *hist)
{
	const double width = (GUARD_LOG_MAX - GUARD_LOG_MIN) / GUARD_BINS;
	double total = 0.0, below = 0.0, half;

	for (uint32_t b = 0; b < GUARD_BINS; b++)
		total += hist[b];
	if (!(total > 0.0))
		return 0.0;
	half = 0.5 * total;
	for (uint32_t b = 0; b < GUARD_BINS; b++) {
		if (below + hist[b] >= half && hist[b] > 0.0f)
			return exp(GUARD_LOG_MIN +
			    width * ((double)b + (half - below) / hist[b]));
		below += hist[b];
	}
	return exp(GUARD_LOG_MAX);
}

/* Counts relative score rel into the guard; every GUARD_REFRESH rows the
 * median is refreshed and the counts fade by the half-life. */
static void
guard_push(float *hist, double *guard, uint32_t *count,
    const fm_learn_detector_config *c, double rel)
{
	const double width = (GUARD_LOG_MAX - GUARD_LOG_MIN) / GUARD_BINS;
	double lr = rel > 0.0 ? log(rel) : GUARD_LOG_MIN;
	float fade;
	long b;

	b = (long)floor((lr - GUARD_LOG_MIN) / width);
	b = b < 0 ? 0 : (b >= (long)GUARD_BINS ? (long)GUARD_BINS - 1 : b);
	hist[b] += 1.0f;
	if (++*count < GUARD_REFRESH)
		return;
	*count = 0;
	*guard = guard_median(hist);
	fade = (float)exp2(-(double)GUARD_REFRESH / c->guard_half_rows);
	for (uint32_t i = 0; i < GUARD_BINS; i++)
		hist[i] *= fade;
}

/* The alarm threshold now: the POT's, or the guard's when higher. */
static double
threshold_now(const fm_learn_detector *det)
{
	double t = fm_learn_pot_threshold_get(det->pot);
	double g = (double)det->cfg.guard_factor * det->guard;

	return g > t ? g : t;
}

/* ---- training ------------------------------------------------------------ */

/* Training rows, normalised and clipped, for the window filler. */
typedef struct train_rows {
	const float *zc; /* n x d */
	uint32_t d;
	uint32_t window;
} train_rows;

/* Window of row t: rows t, t-1, …, t-window+1; before row 0, row 0. */
static void
window_of(const train_rows *tr, size_t t, float *dst)
{
	for (uint32_t j = 0; j < tr->window; j++) {
		size_t src = t >= j ? t - j : 0;

		memcpy(dst + (size_t)j * tr->d, tr->zc + src * tr->d,
		    tr->d * sizeof(float));
	}
}

static void
fill_windows(void *userdata, const uint32_t *idx, size_t n, float *batch)
{
	const train_rows *tr = userdata;
	size_t len = (size_t)tr->window * tr->d;

	for (size_t i = 0; i < n; i++)
		window_of(tr, idx[i], batch + i * len);
}

/* The fleet's variance of feature j from det's prior, at least floor^2;
 * 0 without a prior for it. */
static double
prior_var(const fm_learn_detector *det, uint32_t j)
{
	double m1, v, floor = det->cfg.std_floor;

	if (!det->has_prior || !(det->cfg.prior_rows > 0.0f))
		return 0.0;
	m1 = det->prior_m1[j] / MOMENT_SCALE;
	v = det->prior_m2[j] / MOMENT_SCALE - m1 * m1;
	if (!isfinite(v))
		return 0.0;
	return v > floor * floor ? v : floor * floor;
}

/*
 * Mean and standard deviation of each feature over its finite values,
 * and their moments for the fleet (own_m1, own_m2 of det's layout; the
 * fleet's own values, or 0, for a feature without any); s = 0 marks a
 * feature without any. With the fleet's prior the variance is shrunk
 * toward the fleet's: (cnt s^2 + prior_rows s_fleet^2) / (cnt +
 * prior_rows), so a host with a day of history takes half its scales
 * from the fleet and one with a month a few percent. Returns the
 * features seen.
 */
static uint32_t
fit_normaliser(const fm_learn_detector *det, const float *rows, size_t n,
    float *m, float *s, float *m1, float *m2)
{
	uint32_t seen = 0, d = det->d;
	float floor = det->cfg.std_floor;

	for (uint32_t j = 0; j < d; j++) {
		double sum = 0.0, sq = 0.0, mean, pv;
		size_t cnt = 0;

		for (size_t t = 0; t < n; t++) {
			float v = rows[t * d + j];

			if (isfinite(v)) {
				sum += v;
				cnt++;
			}
		}
		m[j] = 0.0f;
		s[j] = 0.0f;
		m1[j] = det->has_prior ? det->prior_m1[j] : 0.0f;
		m2[j] = det->has_prior ? det->prior_m2[j] : 0.0f;
		if (cnt == 0)
			continue;
		mean = sum / (double)cnt;
		for (size_t t = 0; t < n; t++) {
			float v = rows[t * d + j];

			if (isfinite(v))
				sq += ((double)v - mean) * ((double)v - mean);
		}
		sq /= (double)cnt;
		m[j] = (float)mean;
		m1[j] = (float)(MOMENT_SCALE * mean);
		m2[j] = (float)(MOMENT_SCALE * (sq + mean * mean));
		pv = prior_var(det, j);
		if (pv > 0.0) {
			double n0 = det->cfg.prior_rows;

			sq = ((double)cnt * sq + n0 * pv) / ((double)cnt + n0);
		}
		s[j] = (float)sqrt(sq);
		if (!(s[j] >= floor))
			s[j] = floor;
		seen++;
	}
	return seen;
}

/* What training builds before it replaces the detector's model. */
typedef struct fitted {
	float *m, *s, *rho, *rho_own, *m1, *m2; /* d each, one allocation */
	fm_learn_ae *ae;
	fm_learn_ae *own; /* in a fleet only */
	fm_learn_pot *pot;
	smoother sm;
	float guard_hist[GUARD_BINS];
	double guard;
	uint32_t guard_count;
} fitted;

static void
fitted_release(fitted *f)
{
	free(f->m);
	f->m = NULL;
	f->ae = fm_learn_ae_free(f->ae);
	f->own = fm_learn_ae_free(f->own);
	f->pot = fm_learn_pot_free(f->pot);
}

/* A copy of autoencoder from, or (from NULL) a new one from the seed. */
static int
ae_start(const fm_learn_detector *det, fm_learn_ae *from,
    fm_learn_ae **ret)
{
	fm_learn_ae *ae;
	int r;

	r = fm_learn_ae_new(
	    det->win_len, det->cfg.latent, det->cfg.train.seed, &ae);
	if (r < 0)
		return r;
	if (from)
		memcpy(fm_learn_ae_params(ae), fm_learn_ae_params(from),
		    fm_learn_ae_params_count(ae) * sizeof(float));
	*ret = ae;
	return 0;
}

/* The residual scales of autoencoder ae over the n training rows into
 * rho[d], its residuals into res[n x d]; win holds chunk windows. */
static int
fit_residuals(const fm_learn_detector *det, fm_learn_ae *ae,
    const train_rows *tr, size_t n, size_t chunk, float *win, double *sq,
    float *res, float *rho)
{
	uint32_t d = det->d;
	int r;

	for (size_t t0 = 0; t0 < n; t0 += chunk) {
		size_t rows_now = n - t0 < chunk ? n - t0 : chunk;

		for (size_t i = 0; i < rows_now; i++)
			window_of(tr, t0 + i, win + i * det->win_len);
		r = fm_learn_ae_residual_batch(
		    ae, win, rows_now, d, res + t0 * d);
		if (r < 0)
			return r;
	}
	memset(sq, 0, d * sizeof(*sq));
	for (size_t t = 0; t < n; t++) {
		for (uint32_t j = 0; j < d; j++)
			sq[j] += (double)res[t * d + j] * res[t * d + j];
	}
	for (uint32_t j = 0; j < d; j++) {
		rho[j] = (float)sqrt(sq[j] / (double)n);
		if (!(rho[j] >= det->cfg.rho_floor))
			rho[j] = det->cfg.rho_floor;
	}
	return 0;
}

static int
float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return (x > y) - (x < y);
}

/*
 * With f's normaliser and autoencoder(s): the residual scales, then the
 * training rows' scores through the same pipeline new rows go through,
 * their baseline and the threshold calibrated on them.
 */
static int
fit_scores(const fm_learn_detector *det, const float *rows,
    const train_rows *tr, size_t n, fitted *f)
{
	const fm_learn_detector_config *c = &det->cfg;
	uint32_t d = det->d;
	size_t chunk = n < CHUNK_ROWS ? n : CHUNK_ROWS;
	size_t n_res = f->own ? 2 : 1;
	float *win, *res, *res_own = NULL, *rel, *z, *contrib;
	double *sq, *raw, sum = 0.0, gate;
	size_t gated = 0;
	int r;

	win = malloc((chunk * det->win_len + n_res * n * d + n +
			 2 * (size_t)d) *
	    sizeof(float));
	sq = calloc(d + n, sizeof(double));
	if (!win || !sq) {
		r = -ENOMEM;
		goto out;
	}
	res = win + chunk * det->win_len;
	if (f->own)
		res_own = res + n * d;
	rel = res + n_res * n * d;
	z = rel + n;
	contrib = z + d;
	raw = sq + d;
	r = fit_residuals(det, f->ae, tr, n, chunk, win, sq, res, f->rho);
	if (r == 0 && f->own)
		r = fit_residuals(
		    det, f->own, tr, n, chunk, win, sq, res_own, f->rho_own);
	if (r < 0)
		goto out;
	for (size_t t = 0; t < n; t++) {
		residuals e = { res + t * d, f->rho, NULL, NULL };

		if (f->own) {
			e.r2 = res_own + t * d;
			e.rho2 = f->rho_own;
		}
		for (uint32_t j = 0; j < d; j++)
			z[j] = norm1(rows[t * d + j], f->m[j], f->s[j]);
		raw[t] = contributions(c, d, rows + t * d, f->s, z, &e, contrib);
	}
	/* the baseline starts at the mean smoothed training score over the
	 * rows the gate lets in (below baseline_gate times the median: an
	 * incident in the history must not lift it), then follows the
	 * training rows as it will follow new ones */
	f->sm = (smoother) { .baseline = 1.0 };
	for (size_t t = 0; t < n; t++) {
		(void)smoother_step(&f->sm, c, raw[t]);
		rel[t] = (float)f->sm.ema;
	}
	qsort(rel, n, sizeof(*rel), float_cmp);
	gate = c->baseline_gate * (double)rel[n / 2];
	f->sm = (smoother) { .baseline = 1.0 };
	for (size_t t = 0; t < n; t++) {
		(void)smoother_step(&f->sm, c, raw[t]);
		if (f->sm.ema <= gate) {
			sum += f->sm.ema;
			gated++;
		}
	}
	f->sm = (smoother) { .baseline = sum / (double)(gated ? gated : 1) };
	if (f->sm.baseline < BASELINE_MIN)
		f->sm.baseline = BASELINE_MIN;
	for (size_t t = 0; t < n; t++) {
		rel[t] = (float)smoother_step(&f->sm, c, raw[t]);
		guard_push(f->guard_hist, &f->guard, &f->guard_count, c, rel[t]);
	}
	r = fm_learn_pot_new(&c->pot, &f->pot);
	if (r < 0)
		goto out;
	r = fm_learn_pot_calibrate(f->pot, rel, n);
out:
	free(sq);
	free(win);
	return r;
}

int
fm_learn_detector_train(fm_learn_detector *det, const float *rows, size_t n,
    fm_learn_detector_train_stats *ret)
{
	uint32_t d = det->d, seen;
	fm_learn_ae_train_stats ts;
	fitted f = { 0 };
	/* one allocation, owned by f.m */
	float **slices[] = { &f.m, &f.s, &f.rho, &f.rho_own, &f.m1, &f.m2 };
	train_rows tr;
	float *zc, *base;
	int r;

	if (n < FM_LEARN_DETECTOR_MIN_ROWS)
		return -ENODATA;
	if (n > FM_LEARN_DETECTOR_MAX_ROWS)
		return -EINVAL;
	base = malloc(FM_ELEMENTSOF(slices) * d * sizeof(float));
	zc = malloc(n * d * sizeof(float));
	if (!base || !zc) {
		free(base);
		r = -ENOMEM;
		goto out;
	}
	slice(base, d, slices, FM_ELEMENTSOF(slices));
	seen = fit_normaliser(det, rows, n, f.m, f.s, f.m1, f.m2);
	for (size_t t = 0; t < n; t++)
		norm_row(rows + t * d, f.m, f.s, d, det->cfg.clip, zc + t * d);
	tr = (train_rows) { .zc = zc, .d = d, .window = det->cfg.window };
	r = ae_start(det, det->ae, &f.ae);
	if (r < 0)
		goto out;
	r = fm_learn_ae_train(f.ae, &det->cfg.train, n, fill_windows, &tr, &ts);
	if (r < 0)
		goto out;
	if (det->fleet) {
		/* the host's own model learns from the host alone: no pull
		 * toward anything */
		fm_learn_ae_train_config own = det->cfg.train;

		own.prox_mu = 0.0f;
		own.prox_anchor = NULL;
		r = ae_start(det, det->own, &f.own);
		if (r == 0)
			r = fm_learn_ae_train(
			    f.own, &own, n, fill_windows, &tr, NULL);
		if (r < 0)
			goto out;
	}
	r = fit_scores(det, rows, &tr, n, &f);
	if (r < 0)
		goto out;

	/* nothing fails from here: the fitted model replaces det's */
	memcpy(det->m, f.m, 3 * (size_t)d * sizeof(float));
	memcpy(det->own_m1, f.m1, d * sizeof(float));
	memcpy(det->own_m2, f.m2, d * sizeof(float));
	fm_learn_ae_free(det->ae);
	det->ae = f.ae;
	f.ae = NULL;
	if (f.own) {
		memcpy(det->rho_own, f.rho_own, d * sizeof(float));
		fm_learn_ae_free(det->own);
		det->own = f.own;
		f.own = NULL;
	}
	fm_learn_pot_free(det->pot);
	det->pot = f.pot;
	f.pot = NULL;
	det->sm = f.sm;
	memcpy(det->guard_hist, f.guard_hist, sizeof(det->guard_hist));
	det->guard = f.guard;
	det->guard_count = f.guard_count;
	det->ready = true;
	det->alarm = false;
	det->run_on = det->run_off = 0;
	/* the window continues from the last training rows */
	det->ring_head = det->ring_held = 0;
	for (size_t t = n - (n < det->cfg.window - 1 ? n : det->cfg.window - 1);
	    t < n; t++) {
		memcpy(det->ring + (size_t)det->ring_head * d, rows + t * d,
		    d * sizeof(float));
		det->ring_head = (det->ring_head + 1) % (det->cfg.window - 1);
		det->ring_held++;
	}
	if (ret) {
		*ret = (fm_learn_detector_train_stats) {
			.rows = (uint32_t)n,
			.features_seen = seen,
			.loss_first = ts.loss_first,
			.loss_last = ts.loss_last,
			.threshold = (float)threshold_now(det),
			.baseline = (float)det->sm.baseline,
		};
	}
	r = 0;
out:
	fitted_release(&f);
	free(zc);
	return r;
}

/* ---- scoring ------------------------------------------------------------- */

/* The raw row i rows back (1 = the previous row) from the ring, or NULL
 * when the ring holds fewer. */
static const float *
ring_back(const fm_learn_detector *det, uint32_t i)
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

/*
 * The alarm state machine on the row's score. fast: the score is the
 * onset term and at or above the threshold, which raises the alarm
 * without waiting for alarm_on rows.
 */
static void
alarm_step(fm_learn_detector *det, double score, bool fast, double threshold)
{
	const fm_learn_detector_config *c = &det->cfg;

	if (!det->alarm) {
		det->run_on = score >= threshold ? det->run_on + 1 : 0;
		if (det->run_on >= c->alarm_on || fast) {
			det->alarm = true;
			det->run_off = 0;
			memset(det->event, 0, det->d * sizeof(float));
		}
	} else {
		det->run_off = score < c->clear_ratio * threshold
		    ? det->run_off + 1
		    : 0;
		if (det->run_off >= c->alarm_off) {
			det->alarm = false;
			det->run_on = 0;
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
	residuals e;
	bool fast = false;

	if (!det->ready) {
		ring_push(det, x);
		memset(det->contrib, 0, d * sizeof(float));
		*ret = (fm_learn_verdict) { .threshold = INFINITY };
		return;
	}
	for (uint32_t j = 0; j < d; j++)
		det->z[j] = norm1(x[j], det->m[j], det->s[j]);
	norm_row(x, det->m, det->s, d, c->clip, det->w);
	for (uint32_t i = 1; i < c->window; i++) {
		const float *prev = ring_back(det, i);
		float *dst = det->w + (size_t)i * d;

		if (prev)
			norm_row(prev, det->m, det->s, d, c->clip, dst);
		else /* fewer rows than the window: repeat the oldest */
			memcpy(dst, dst - d, d * sizeof(float));
	}
	fm_learn_ae_residual(det->ae, det->w, d, det->r);
	e = (residuals) { det->r, det->rho, NULL, NULL };
	if (det->own) {
		fm_learn_ae_residual(det->own, det->w, d, det->r_own);
		e.r2 = det->r_own;
		e.rho2 = det->rho_own;
	}
	raw = contributions(c, d, x, det->s, det->z, &e, det->contrib);
	base = det->sm.baseline; /* the one rel is relative to */
	rel = smoother_step(&det->sm, c, raw);
	if (c->threshold_online)
		(void)fm_learn_pot_update(det->pot, (float)rel);
	threshold = threshold_now(det);
	score = rel;
	if (c->onset_factor > 0.0f) {
		double onset = raw / base / (double)c->onset_factor;

		fast = onset >= threshold;
		if (onset > score)
			score = onset;
	}
	alarm_step(det, score, fast, threshold);
	guard_push(det->guard_hist, &det->guard, &det->guard_count, c, rel);
	if (det->alarm)
		cblas_saxpy((int)d, 1.0f, det->contrib, 1, det->event, 1);
	ring_push(det, x);
	*ret = (fm_learn_verdict) {
		.score = (float)score,
		.raw = (float)raw,
		.threshold = (float)threshold,
		.alarm = det->alarm,
		.ready = true,
	};
}

size_t
fm_learn_detector_top(
    const fm_learn_detector *det, size_t k, uint32_t *ret_idx)
{
	const float *v = det->alarm ? det->event : det->contrib;
	size_t n = 0;

	/* selection by insertion: k is a handful */
	for (uint32_t j = 0; j < det->d; j++) {
		size_t i;

		if (!(v[j] > 0.0f))
			continue;
		if (n == k && !(v[j] > v[ret_idx[n - 1]]))
			continue;
		i = n < k ? n++ : n - 1;
		while (i > 0 && v[j] > v[ret_idx[i - 1]]) {
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
	return 0;
}

/* ---- persistence and shared parameters ---------------------------------- */

/* Section ids of a detector file. */
enum {
	SEC_VERSION = 1,
	SEC_WINDOW,
	SEC_LATENT,
	SEC_MEAN = 16,
	SEC_SCALE,
	SEC_RHO,
	SEC_THETA = 32, /* the shared parameters: the autoencoder, … */
	SEC_OWN_M1,     /* … the host's moments, */
	SEC_OWN_M2,
	SEC_OWN_THETA, /* in a fleet, once trained: the host's own … */
	SEC_OWN_RHO,   /* … and its residual RMS; never exported */
	SEC_PRIOR_M1,  /* the fleet's moments, once imported */
	SEC_PRIOR_M2,
	SEC_RING = 48,  /* raw rows, oldest first; may hold NaN */
	SEC_EMA,
	SEC_BASELINE,
	SEC_FLAGS, /* bit 0 EMA started, bit 1 alarm */
	SEC_RUN_ON,
	SEC_RUN_OFF,
	SEC_EVENT,
	SEC_GUARD_HIST,
	SEC_GUARD,
	SEC_GUARD_COUNT,
	SEC_POT = 64, /* … + FM_LEARN_POT_SECTIONS - 1 */
};

uint32_t
fm_learn_detector_layout_id(const fm_learn_detector *det)
{
	/* the last: moments shared per feature */
	uint32_t dims[] = { det->d, det->cfg.window, det->cfg.latent, 2 };

	return fm_learn_layout_id_compute(FM_LEARN_KIND_DETECTOR,
	    det->cfg.schema_version, dims, FM_ELEMENTSOF(dims));
}

size_t
fm_learn_detector_params_count(const fm_learn_detector *det)
{
	return 2 * (size_t)det->cfg.latent * det->win_len + det->cfg.latent +
	    det->win_len + 2 * (size_t)det->d;
}

int
fm_learn_detector_params_export(
    const fm_learn_detector *det, float *dst, size_t cap, size_t *ret_n)
{
	size_t n = fm_learn_detector_params_count(det);
	fm_learn_param_block blocks[3];
	fm_learn_ae *ae = det->ae;
	int r;

	if (n > cap)
		return -ENOBUFS;
	if (!ae) {
		/* untrained: the seeded initial parameters (and moments 0) */
		r = ae_start(det, NULL, &ae);
		if (r < 0)
			return r;
	}
	blocks[0] = (fm_learn_param_block) { fm_learn_ae_params(ae),
		fm_learn_ae_params_count(ae) };
	blocks[1] = (fm_learn_param_block) { det->own_m1, det->d };
	blocks[2] = (fm_learn_param_block) { det->own_m2, det->d };
	r = fm_learn_params_export(blocks, 3, dst, cap, ret_n);
	if (ae != det->ae)
		fm_learn_ae_free(ae);
	return r;
}

int
fm_learn_detector_params_import(fm_learn_detector *det, uint32_t layout_id,
    const float *src, size_t n)
{
	fm_learn_param_block blocks[3];
	fm_learn_ae *own = NULL;
	int r;

	if (layout_id != fm_learn_detector_layout_id(det))
		return -ESTALE;
	if (n != fm_learn_detector_params_count(det))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(src[i]))
			return -EDOM;
	}
	if (!det->own && det->ae) {
		/* joining a fleet: the model trained so far is the host's
		 * own from now on */
		r = ae_start(det, det->ae, &own);
		if (r < 0)
			return r;
	}
	if (!det->ae) {
		r = ae_start(det, NULL, &det->ae);
		if (r < 0)
			return r; /* no model yet, so no own either */
	}
	blocks[0] = (fm_learn_param_block) { fm_learn_ae_params(det->ae),
		fm_learn_ae_params_count(det->ae) };
	blocks[1] = (fm_learn_param_block) { det->prior_m1, det->d };
	blocks[2] = (fm_learn_param_block) { det->prior_m2, det->d };
	r = fm_learn_params_import(blocks, 3, layout_id, layout_id, src, n);
	if (r < 0) {
		fm_learn_ae_free(own);
		return r;
	}
	if (own) {
		det->own = own;
		memcpy(det->rho_own, det->rho, det->d * sizeof(float));
	}
	det->fleet = true;
	det->has_prior = true;
	return 0;
}

int
fm_learn_detector_save(
    const fm_learn_detector *det, uint8_t **ret_buf, size_t *ret_len)
{
	fm_learn_model_info info = {
		.kind = FM_LEARN_KIND_DETECTOR,
		.schema_version = det->cfg.schema_version,
		.n_features = det->d,
		.layout_id = fm_learn_detector_layout_id(det),
	};
	uint32_t d = det->d, flags;
	fm_learn_model_writer w;
	float *ring = NULL;
	int r;

	if (!det->ready)
		return -ENODATA;
	ring = malloc(((size_t)det->ring_held + 1) * d * sizeof(float));
	if (!ring)
		return -ENOMEM;
	for (uint32_t i = 0; i < det->ring_held; i++)
		memcpy(ring + (size_t)i * d, ring_back(det, det->ring_held - i),
		    d * sizeof(float));
	flags = (det->sm.started ? 1u : 0u) | (det->alarm ? 2u : 0u) |
	    (det->fleet ? 4u : 0u);
	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	if (r < 0)
		goto out;
	/* the writer's errors are sticky: _finish() reports the first */
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_VERSION, DETECTOR_STATE_VERSION);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_WINDOW, det->cfg.window);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_LATENT, det->cfg.latent);
	(void)!fm_learn_model_writer_put_f32(&w, SEC_MEAN, 0, det->m, d);
	(void)!fm_learn_model_writer_put_f32(&w, SEC_SCALE, 0, det->s, d);
	(void)!fm_learn_model_writer_put_f32(&w, SEC_RHO, 0, det->rho, d);
	(void)!fm_learn_model_writer_put_f32(&w, SEC_THETA,
	    FM_LEARN_SECTION_PARAM, fm_learn_ae_params(det->ae),
	    fm_learn_ae_params_count(det->ae));
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_OWN_M1, FM_LEARN_SECTION_PARAM, det->own_m1, d);
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_OWN_M2, FM_LEARN_SECTION_PARAM, det->own_m2, d);
	if (det->own) {
		(void)!fm_learn_model_writer_put_f32(&w, SEC_OWN_THETA, 0,
		    fm_learn_ae_params(det->own),
		    fm_learn_ae_params_count(det->own));
		(void)!fm_learn_model_writer_put_f32(
		    &w, SEC_OWN_RHO, 0, det->rho_own, d);
	}
	if (det->has_prior) {
		(void)!fm_learn_model_writer_put_f32(
		    &w, SEC_PRIOR_M1, 0, det->prior_m1, d);
		(void)!fm_learn_model_writer_put_f32(
		    &w, SEC_PRIOR_M2, 0, det->prior_m2, d);
	}
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_RING, 0, ring, (size_t)det->ring_held * d);
	(void)!fm_learn_model_writer_put_f64(&w, SEC_EMA, det->sm.ema);
	(void)!fm_learn_model_writer_put_f64(
	    &w, SEC_BASELINE, det->sm.baseline);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_FLAGS, flags);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_RUN_ON, det->run_on);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_RUN_OFF, det->run_off);
	(void)!fm_learn_model_writer_put_f32(&w, SEC_EVENT, 0, det->event, d);
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_GUARD_HIST, 0, det->guard_hist, GUARD_BINS);
	(void)!fm_learn_model_writer_put_f64(&w, SEC_GUARD, det->guard);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_GUARD_COUNT, det->guard_count);
	(void)!fm_learn_pot_save(det->pot, SEC_POT, &w);
	r = fm_learn_model_writer_finish(&w, ret_buf, ret_len);
out:
	fm_learn_model_writer_release(&w);
	free(ring);
	return r;
}

/* Whether v[n] is finite throughout, and (if positive) > 0. */
static bool
values_are_valid(const float *v, size_t n, bool positive)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]) || (positive && !(v[i] > 0.0f)))
			return false;
	}
	return true;
}

/* Reads an f32 section of exactly n values. */
static int
get_exact(const fm_learn_model_reader *rd, uint32_t id, float *dst, size_t n)
{
	fm_learn_section_info si;

	if (fm_learn_model_reader_find(rd, id, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count != n)
		return -EBADMSG;
	return fm_learn_model_reader_get_f32(rd, id, dst, n) < 0 ? -EBADMSG
								 : 0;
}

/* Reads a pair of f32 sections present together or not at all, and only
 * in a fleet, into da[na] and db[nb]: 1 when read, 0 when absent,
 * -EBADMSG otherwise. */
static int
get_pair(const fm_learn_model_reader *rd, bool fleet, uint32_t a, float *da,
    size_t na, uint32_t b, float *db, size_t nb)
{
	fm_learn_section_info si;
	bool has_a = fm_learn_model_reader_find(rd, a, &si) == 0;
	bool has_b = fm_learn_model_reader_find(rd, b, &si) == 0;

	if (!has_a && !has_b)
		return 0;
	if (!has_a || !has_b || !fleet || get_exact(rd, a, da, na) < 0 ||
	    get_exact(rd, b, db, nb) < 0)
		return -EBADMSG;
	return 1;
}

int
fm_learn_detector_load(const uint8_t *buf, size_t len,
    const fm_learn_detector_config *cfg, fm_learn_detector **ret)
{
	fm_learn_model_info expect = {
		.kind = FM_LEARN_KIND_DETECTOR,
		.n_features = cfg->n_features,
	};
	fm_learn_model_reader rd;
	fm_learn_section_info si;
	fm_learn_detector *det = NULL;
	uint32_t version, window, latent, flags, d = cfg->n_features;
	size_t held;
	int r;

	if (!fm_learn_detector_config_is_valid(cfg))
		return -EINVAL;
	r = fm_learn_model_decode(buf, len, &expect, &rd);
	if (r < 0)
		return r;
	if (fm_learn_model_reader_info(&rd)->schema_version !=
	    cfg->schema_version)
		return -ESTALE;
	if (fm_learn_model_reader_get_u32(&rd, SEC_VERSION, &version) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_WINDOW, &window) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_LATENT, &latent) < 0)
		return -EBADMSG;
	if (version != DETECTOR_STATE_VERSION)
		return -EPROTONOSUPPORT;
	if (window != cfg->window || latent != cfg->latent)
		return -ESTALE;
	r = fm_learn_detector_new(cfg, &det);
	if (r < 0)
		return r;
	if (fm_learn_model_reader_info(&rd)->layout_id !=
	    fm_learn_detector_layout_id(det)) {
		r = -EBADMSG;
		goto out_free;
	}
	r = fm_learn_ae_new(det->win_len, latent, cfg->train.seed, &det->ae);
	if (r < 0)
		goto out_free;
	r = -EBADMSG;
	if (get_exact(&rd, SEC_MEAN, det->m, d) < 0 ||
	    get_exact(&rd, SEC_SCALE, det->s, d) < 0 ||
	    get_exact(&rd, SEC_RHO, det->rho, d) < 0 ||
	    get_exact(&rd, SEC_THETA, fm_learn_ae_params(det->ae),
	        fm_learn_ae_params_count(det->ae)) < 0 ||
	    get_exact(&rd, SEC_OWN_M1, det->own_m1, d) < 0 ||
	    get_exact(&rd, SEC_OWN_M2, det->own_m2, d) < 0 ||
	    get_exact(&rd, SEC_EVENT, det->event, d) < 0 ||
	    get_exact(&rd, SEC_GUARD_HIST, det->guard_hist, GUARD_BINS) < 0 ||
	    fm_learn_model_reader_get_f64(&rd, SEC_GUARD, &det->guard) < 0 ||
	    fm_learn_model_reader_get_u32(
	        &rd, SEC_GUARD_COUNT, &det->guard_count) < 0)
		goto out_free;
	if (fm_learn_model_reader_find(&rd, SEC_RING, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count % (d ? d : 1) != 0 ||
	    si.count / d > cfg->window - 1)
		goto out_free;
	held = si.count / d;
	if (fm_learn_model_reader_get_f32(&rd, SEC_RING, det->ring, si.count) <
	        0 ||
	    fm_learn_model_reader_get_f64(&rd, SEC_EMA, &det->sm.ema) < 0 ||
	    fm_learn_model_reader_get_f64(
	        &rd, SEC_BASELINE, &det->sm.baseline) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_FLAGS, &flags) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_RUN_ON, &det->run_on) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_RUN_OFF, &det->run_off) < 0)
		goto out_free;
	det->ring_held = (uint32_t)held;
	det->ring_head = cfg->window > 1 ? det->ring_held % (cfg->window - 1)
					 : 0;
	det->sm.started = flags & 1u;
	det->alarm = flags & 2u;
	det->fleet = flags & 4u;
	if (fm_learn_model_reader_find(&rd, SEC_OWN_THETA, &si) == 0) {
		r = fm_learn_ae_new(
		    det->win_len, latent, cfg->train.seed, &det->own);
		if (r < 0)
			goto out_free;
	}
	r = get_pair(&rd, det->fleet, SEC_OWN_THETA,
	    det->own ? fm_learn_ae_params(det->own) : NULL,
	    det->own ? fm_learn_ae_params_count(det->own) : 0, SEC_OWN_RHO,
	    det->rho_own, d);
	if (r >= 0) {
		r = get_pair(&rd, det->fleet, SEC_PRIOR_M1, det->prior_m1, d,
		    SEC_PRIOR_M2, det->prior_m2, d);
		det->has_prior = r > 0;
	}
	if (r < 0)
		goto out_free;
	r = -EDOM;
	if ((flags & ~7u) != 0 || !values_are_valid(det->m, d, false) ||
	    (det->own &&
	        (!values_are_valid(fm_learn_ae_params(det->own),
	             fm_learn_ae_params_count(det->own), false) ||
	            !values_are_valid(det->rho_own, d, true))) ||
	    !values_are_valid(det->own_m1, d, false) ||
	    !values_are_valid(det->own_m2, d, false) ||
	    !values_are_valid(det->prior_m1, d, false) ||
	    !values_are_valid(det->prior_m2, d, false) ||
	    !values_are_valid(det->rho, d, true) ||
	    !values_are_valid(det->event, d, false) ||
	    !isfinite(det->sm.ema) || !(det->sm.ema >= 0.0) ||
	    !isfinite(det->sm.baseline) || !(det->sm.baseline > 0.0) ||
	    !values_are_valid(det->guard_hist, GUARD_BINS, false) ||
	    !isfinite(det->guard) || !(det->guard >= 0.0) ||
	    det->guard_count >= GUARD_REFRESH)
		goto out_free;
	for (uint32_t b = 0; b < GUARD_BINS; b++) {
		if (det->guard_hist[b] < 0.0f)
			goto out_free;
	}
	for (uint32_t j = 0; j < d; j++) {
		if (!isfinite(det->s[j]) || det->s[j] < 0.0f)
			goto out_free;
	}
	r = fm_learn_pot_load(&rd, SEC_POT, NULL, &det->pot);
	if (r < 0) {
		r = r == -ENOENT ? -EBADMSG : r;
		goto out_free;
	}
	det->ready = true;
	*ret = det;
	return 0;
out_free:
	fm_learn_detector_free(det);
	return r;
}

void
fm_learn_detector_normalise(
    const fm_learn_detector *det, const float *x, float *ret_z)
{
	if (!det->ready) {
		memset(ret_z, 0, det->d * sizeof(float));
		return;
	}
	norm_row(x, det->m, det->s, det->d, det->cfg.clip, ret_z);
}
