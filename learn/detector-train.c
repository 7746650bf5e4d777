/*
 * The anomaly detector's training: the normaliser (with the fleet's
 * prior), the autoencoders on causal windows, then the residual scales,
 * the baseline and the threshold from the training rows' scores through
 * the same pipeline new rows go through (detector.c). The model is
 * built aside and replaces the detector's only when every step worked.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

#define CHUNK_ROWS 256u /* rows per batch when scoring training */

/* Window of row t: rows t, t-1, …, t-window+1; before row 0, row 0. */
static void
window_of(const fmi_learn_window_rows *tr, size_t t, float *dst)
{
	for (uint32_t j = 0; j < tr->window; j++) {
		size_t src = t >= j ? t - j : 0;

		memcpy(dst + (size_t)j * tr->d, tr->zc + src * tr->d,
		    tr->d * sizeof(float));
	}
}

void
fmi_learn_windows_fill(
    void *userdata, const uint32_t *idx, size_t n, float *batch)
{
	const fmi_learn_window_rows *tr = userdata;
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
	m1 = det->prior_m1[j] / FMI_LEARN_MOMENT_SCALE;
	v = det->prior_m2[j] / FMI_LEARN_MOMENT_SCALE - m1 * m1;
	if (!isfinite(v))
		return 0.0;
	return v > floor * floor ? v : floor * floor;
}

/* The floor of feature j's scale: std_floor, or a tenth of the owner's
 * typical scale for it when that is lower (a fraction that stays small,
 * such as file handles in use, moves in steps far below std_floor). */
static float
feature_floor(const fm_learn_detector *det, uint32_t j, float floor)
{
	float t = det->has_typical ? 0.1f * det->young_s[j] : floor;

	return t > 0.0f && t < floor ? t : floor;
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
		m1[j] = (float)(FMI_LEARN_MOMENT_SCALE * mean);
		m2[j] = (float)(FMI_LEARN_MOMENT_SCALE * (sq + mean * mean));
		pv = prior_var(det, j);
		if (pv > 0.0) {
			double n0 = det->cfg.prior_rows;

			sq = ((double)cnt * sq + n0 * pv) / ((double)cnt + n0);
		} else if (det->young_rows > 0.0f && det->young_s[j] > 0.0f) {
			/* no fleet: the young model's prior */
			double n0 = det->young_rows, ys = det->young_s[j];

			sq = ((double)cnt * sq + n0 * ys * ys) /
			    ((double)cnt + n0);
		}
		s[j] = (float)sqrt(sq);
		if (!(s[j] >= feature_floor(det, j, floor)))
			s[j] = feature_floor(det, j, floor);
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
	fmi_learn_smoother sm;
	float guard_hist[FMI_LEARN_GUARD_BINS];
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

int
fmi_learn_detector_ae_start(
    const fm_learn_detector *det, fm_learn_ae *from, fm_learn_ae **ret)
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
    const fmi_learn_window_rows *tr, size_t n, size_t chunk, float *win,
    double *sq, float *res, float *rho)
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
		double v = sq[j] / (double)n;

		/* a young model's prior: the autoencoder explains nothing
		 * (a residual as large as the normalised value, 1) */
		if (det->young_rows > 0.0f && !det->has_prior)
			v = ((double)n * v + det->young_rows) /
			    ((double)n + det->young_rows);
		rho[j] = (float)sqrt(v);
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
    const fmi_learn_window_rows *tr, size_t n, fitted *f)
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
		fmi_learn_residuals e = { res + t * d, f->rho, NULL, NULL };

		if (f->own) {
			e.r2 = res_own + t * d;
			e.rho2 = f->rho_own;
		}
		for (uint32_t j = 0; j < d; j++)
			z[j] =
			    fmi_learn_norm1(rows[t * d + j], f->m[j], f->s[j]);
		raw[t] = fmi_learn_contributions(
		    c, d, rows + t * d, f->s, z, &e, contrib);
	}
	/* the baseline starts at the mean smoothed training score over the
	 * rows the gate lets in (below baseline_gate times the median: an
	 * incident in the history must not lift it), then follows the
	 * training rows as it will follow new ones */
	f->sm = (fmi_learn_smoother) { .baseline = 1.0 };
	for (size_t t = 0; t < n; t++) {
		(void)fmi_learn_smoother_step(&f->sm, c, raw[t]);
		rel[t] = (float)f->sm.ema;
	}
	qsort(rel, n, sizeof(*rel), float_cmp);
	gate = c->baseline_gate * (double)rel[n / 2];
	f->sm = (fmi_learn_smoother) { .baseline = 1.0 };
	for (size_t t = 0; t < n; t++) {
		(void)fmi_learn_smoother_step(&f->sm, c, raw[t]);
		if (f->sm.ema <= gate) {
			sum += f->sm.ema;
			gated++;
		}
	}
	f->sm = (fmi_learn_smoother) {
		.baseline = sum / (double)(gated ? gated : 1),
	};
	if (f->sm.baseline < FMI_LEARN_BASELINE_MIN)
		f->sm.baseline = FMI_LEARN_BASELINE_MIN;
	for (size_t t = 0; t < n; t++) {
		rel[t] = (float)fmi_learn_smoother_step(&f->sm, c, raw[t]);
		fmi_learn_guard_push(
		    f->guard_hist, &f->guard, &f->guard_count, c, rel[t]);
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
	fmi_learn_window_rows tr;
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
	fmi_learn_slice(base, d, slices, FM_ELEMENTSOF(slices));
	seen = fit_normaliser(det, rows, n, f.m, f.s, f.m1, f.m2);
	for (size_t t = 0; t < n; t++)
		fmi_learn_norm_row(
		    rows + t * d, f.m, f.s, d, det->cfg.clip, zc + t * d);
	tr = (fmi_learn_window_rows) {
		.zc = zc, .d = d, .window = det->cfg.window
	};
	r = fmi_learn_detector_ae_start(det, det->ae, &f.ae);
	if (r < 0)
		goto out;
	r = fm_learn_ae_train(
	    f.ae, &det->cfg.train, n, fmi_learn_windows_fill, &tr, &ts);
	if (r < 0)
		goto out;
	if (det->fleet) {
		/* the host's own model learns from the host alone: no pull
		 * toward anything */
		fm_learn_ae_train_config own = det->cfg.train;

		own.prox_mu = 0.0f;
		own.prox_anchor = NULL;
		r = fmi_learn_detector_ae_start(det, det->own, &f.own);
		if (r == 0)
			r = fm_learn_ae_train(
			    f.own, &own, n, fmi_learn_windows_fill, &tr, NULL);
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
			.threshold = (float)fmi_learn_detector_threshold(det),
			.baseline = (float)det->sm.baseline,
		};
	}
	r = 0;
out:
	fitted_release(&f);
	free(zc);
	return r;
}
