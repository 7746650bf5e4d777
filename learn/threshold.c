/*
 * Peaks-over-threshold (SPOT/DSPOT, Siffer et al., KDD 2017) with an alarm
 * state machine on top: hysteresis and a minimum duration. The tail fit
 * (learn/gpd.c) is maximum likelihood, else the method of moments, else
 * an exponential tail. Every buffer is allocated by fm_learn_pot_new();
 * only calibration allocates scratch.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

#define POT_STATE_VERSION 1u
#define MAD_TO_SIGMA      1.482602218505602 /* 1 / Phi^-1(3/4) */
/* A full fit every max(1, peaks held / REFIT_DIVISOR) new peaks; z is
 * re-evaluated with the last fit on every peak in between. One peak moves
 * a fit on hundreds little, and a level shift above t makes every score
 * a peak: this keeps the cost per peak bounded (about 60 x 32 log1p). */
#define REFIT_DIVISOR 32u

struct fm_learn_pot {
	fm_learn_pot_config cfg;
	bool ready;
	bool alarm;
	uint32_t run; /* consecutive finite scores above z */
	enum fm_learn_pot_fit fit;
	double t; /* initial threshold, residual units */
	double z; /* alarm threshold, residual units */
	double gamma;
	double sigma;
	double z_robust;     /* the few-peaks threshold, residual units */
	double pending;      /* censoring point of a lone exceedance, or 0 */
	uint64_t n_obs;      /* learned scores */
	uint64_t n_peaks;    /* learned scores above t */
	uint32_t since_fit;  /* peaks since the last full fit */
	float *peaks;        /* max_peaks excesses over t, a ring */
	uint32_t peaks_head; /* next slot; == peaks_held until it wraps */
	uint32_t peaks_held;
	float *win; /* drift_window learned scores, a ring */
	uint32_t win_head;
	uint32_t win_held;
	double win_sum;
};

/* Section ids, relative to the caller's base: the version, the scalars in
 * pot_fields[] order, then the rest. */
enum {
	SEC_VERSION,
	SEC_INIT_QUANTILE,
	SEC_RISK,
	SEC_CLEAR_RATIO,
	SEC_MIN_DURATION,
	SEC_MAX_PEAKS,
	SEC_MIN_PEAKS,
	SEC_DRIFT_WINDOW,
	SEC_RUN,
	SEC_T,
	SEC_Z,
	SEC_GAMMA,
	SEC_SIGMA,
	SEC_Z_ROBUST,
	SEC_N_OBS,
	SEC_N_PEAKS,
	SEC_PEAKS_HEAD,
	SEC_WIN_HEAD,
	SEC_WIN_SUM,
	SEC_PENDING,
	SEC_SINCE_FIT,
	SEC_FLAGS, /* bit 0 ready, bit 1 alarm */
	SEC_FIT,
	SEC_PEAKS, /* peaks_held values, ring order */
	SEC_WIN,   /* win_held values, ring order */
	SEC_COUNT
};
_Static_assert(SEC_COUNT <= FM_LEARN_POT_SECTIONS, "too many sections");

void
fm_learn_pot_config_default(fm_learn_pot_config *ret)
{
	*ret = (fm_learn_pot_config) {
		.init_quantile = 0.98,
		.risk = 1e-4,
		.clear_ratio = 0.8,
		.min_duration = 3,
		.max_peaks = 1000,
		.min_peaks = 20,
		.drift_window = 0,
	};
}

bool
fm_learn_pot_config_is_valid(const fm_learn_pot_config *cfg)
{
	/* written so that NaNs fail every comparison */
	return cfg->init_quantile > 0.0 && cfg->init_quantile < 1.0 &&
	    cfg->risk > 0.0 && cfg->risk < 1.0 - cfg->init_quantile &&
	    cfg->clear_ratio > 0.0 && cfg->clear_ratio <= 1.0 &&
	    cfg->min_duration >= 1 &&
	    cfg->min_duration <= FM_LEARN_POT_MAX_DURATION &&
	    cfg->min_peaks >= 3 && cfg->min_peaks <= cfg->max_peaks &&
	    cfg->max_peaks <= FM_LEARN_POT_MAX_PEAKS &&
	    cfg->drift_window <= FM_LEARN_POT_MAX_DRIFT_WINDOW;
}

int
fm_learn_pot_new(const fm_learn_pot_config *cfg, fm_learn_pot **ret)
{
	fm_learn_pot *p;

	if (!fm_learn_pot_config_is_valid(cfg))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->peaks = calloc(cfg->max_peaks, sizeof(*p->peaks));
	if (!p->peaks)
		goto out_free;
	if (cfg->drift_window > 0) {
		p->win = calloc(cfg->drift_window, sizeof(*p->win));
		if (!p->win)
			goto out_free;
	}
	p->z = INFINITY;
	*ret = p;
	return 0;
out_free:
	fm_learn_pot_free(p);
	return -ENOMEM;
}

fm_learn_pot *
fm_learn_pot_free(fm_learn_pot *p)
{
	if (!p)
		return NULL;
	free(p->peaks);
	free(p->win);
	free(p);
	return NULL;
}

/* v as a float; out of range (undefined for a cast) gives infinity. */
static float
to_float(double v)
{
	if (v > FLT_MAX)
		return INFINITY;
	if (v < -FLT_MAX)
		return -INFINITY;
	return (float)v;
}

/* ---- the drift window -------------------------------------------------- */

static double
drift_mean(const fm_learn_pot *p)
{
	return p->win_held > 0 ? p->win_sum / p->win_held : 0.0;
}

static void
drift_push(fm_learn_pot *p, float score)
{
	uint32_t d = p->cfg.drift_window;

	if (d == 0)
		return;
	if (p->win_held == d)
		p->win_sum -= p->win[p->win_head];
	else
		p->win_held++;
	p->win[p->win_head] = score;
	p->win_sum += score;
	p->win_head = (p->win_head + 1) % d;
	if (p->win_head == 0) {
		/* resum once a lap so rounding cannot accumulate */
		p->win_sum = 0.0;
		for (uint32_t i = 0; i < p->win_held; i++)
			p->win_sum += p->win[i];
	}
}

/* z_q = t + sigma/gamma ((q n / N_t)^-gamma - 1), or t - sigma log(q n /
 * N_t) for gamma = 0; never below t. */
static double
pot_quantile(const fm_learn_pot *p, double gamma, double sigma)
{
	double lr, z;

	lr = log(p->cfg.risk * (double)p->n_obs / (double)p->n_peaks);
	if (fabs(gamma * lr) < 1e-12)
		z = p->t - sigma * lr;
	else
		z = p->t + sigma / gamma * expm1(-gamma * lr);
	return z > p->t ? z : p->t;
}

/* Sets z from the current fit (the counts change with every peak). */
static void
requantile(fm_learn_pot *p)
{
	double z;

	if (p->fit != FM_LEARN_POT_FIT_ROBUST) {
		z = pot_quantile(p, p->gamma, p->sigma);
		if (isfinite(z)) {
			p->z = z;
			return;
		}
	}
	p->fit = FM_LEARN_POT_FIT_ROBUST;
	p->gamma = 0.0;
	p->sigma = 0.0;
	p->z = p->z_robust;
}

/* Fits the tail to the peaks held and sets z. */
static void
refit(fm_learn_pot *p)
{
	fmi_learn_peaks v;
	double g = 0.0, s = 0.0;

	p->since_fit = 0;
	fmi_learn_peaks_init(
	    &v, p->peaks, p->cfg.max_peaks, p->peaks_head, p->peaks_held);
	if (v.n_exact < p->cfg.min_peaks) {
		p->fit = FM_LEARN_POT_FIT_ROBUST;
	} else if (fmi_learn_gpd_fit_mle(&v, &g, &s) == 0) {
		p->fit = FM_LEARN_POT_FIT_MLE;
	} else if (fmi_learn_gpd_fit_mom(&v, &g, &s) == 0) {
		p->fit = FM_LEARN_POT_FIT_MOM;
	} else {
		p->fit = FM_LEARN_POT_FIT_EXP;
		g = 0.0;
		s = (v.sum_y + v.sum_c) / (double)v.n_exact;
	}
	p->gamma = g;
	p->sigma = s;
	requantile(p);
}

static void
ring_push(fm_learn_pot *p, float y)
{
	p->peaks[p->peaks_head] = y;
	p->peaks_head = (p->peaks_head + 1) % p->cfg.max_peaks;
	if (p->peaks_held < p->cfg.max_peaks)
		p->peaks_held++;
}

/* Adds peak y (negative: censored at -y), then refits or re-evaluates. */
static void
peaks_push(fm_learn_pot *p, float y)
{
	uint32_t every;

	ring_push(p, y);
	every = p->peaks_held / REFIT_DIVISOR;
	if (++p->since_fit >= (every > 0 ? every : 1))
		refit(p);
	else
		requantile(p);
}

/* Learns residual x, a score that did not exceed z. Returns whether it
 * joined the peaks. */
static bool
learn(fm_learn_pot *p, double x)
{
	float y;

	p->n_obs++;
	if (!(x > p->t))
		return false;
	p->n_peaks++;
	y = to_float(x - p->t);
	if (!(y > 0.0f) || !isfinite(y))
		return false;
	peaks_push(p, y);
	return true;
}

/* Learns the pending lone exceedance, censored at its threshold. */
static void
learn_censored(fm_learn_pot *p)
{
	float c = to_float(p->pending);

	p->pending = 0.0;
	p->n_obs++;
	p->n_peaks++;
	if (c > 0.0f && isfinite(c))
		peaks_push(p, -c);
}

/* ---- calibration --------------------------------------------------------- */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The level quantile of sorted[n] (linear interpolation, "type 7"). */
static double
quantile_sorted(const double *sorted, size_t n, double level)
{
	double h = level * (double)(n - 1);
	size_t i = (size_t)h;

	if (i + 1 >= n)
		return sorted[n - 1];
	return sorted[i] + (h - (double)i) * (sorted[i + 1] - sorted[i]);
}

/* Phi^-1(1 - q) for q in (0, 0.5], by bisection on the normal tail. */
static double
normal_upper_quantile(double q)
{
	double lo = 0.0, hi = 40.0;

	for (int i = 0; i < 200 && hi - lo > 1e-12; i++) {
		double mid = 0.5 * (lo + hi);

		if (0.5 * erfc(mid / M_SQRT2) > q)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

int
fm_learn_pot_calibrate(fm_learn_pot *p, const float *scores, size_t n)
{
	uint32_t d = p->cfg.drift_window;
	size_t m = 0, nr, k = 0;
	double *res, *sorted, med, t, mad, q;

	if (n > FM_LEARN_POT_MAX_CALIBRATION)
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++)
		m += isfinite(scores[i]) != 0;
	if (m < (size_t)d + FM_LEARN_POT_MIN_CALIBRATION)
		return -ENODATA;
	nr = m - d;
	res = malloc(2 * nr * sizeof(*res));
	if (!res)
		return -ENOMEM;
	sorted = res + nr;

	/* From here on nothing fails: reset and rebuild. */
	p->win_head = p->win_held = 0;
	p->win_sum = 0.0;
	p->peaks_head = p->peaks_held = 0;
	p->n_peaks = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(scores[i]))
			continue;
		if (p->win_held < d) {
			drift_push(p, scores[i]);
			continue;
		}
		res[k++] = (double)scores[i] - drift_mean(p);
		drift_push(p, scores[i]);
	}
	memcpy(sorted, res, nr * sizeof(*res));
	qsort(sorted, nr, sizeof(*sorted), cmp_double);
	t = quantile_sorted(sorted, nr, p->cfg.init_quantile);
	med = quantile_sorted(sorted, nr, 0.5);
	for (size_t i = 0; i < nr; i++)
		sorted[i] = fabs(sorted[i] - med);
	qsort(sorted, nr, sizeof(*sorted), cmp_double);
	mad = quantile_sorted(sorted, nr, 0.5);
	q = p->cfg.risk < 0.5 ? p->cfg.risk : 0.5;
	p->t = t;
	p->z_robust = med + normal_upper_quantile(q) * MAD_TO_SIGMA * mad;
	if (!(p->z_robust > t))
		p->z_robust = t;
	p->n_obs = nr;
	for (size_t i = 0; i < nr; i++) {
		float y;

		if (!(res[i] > t))
			continue;
		p->n_peaks++;
		y = to_float(res[i] - t);
		if (y > 0.0f && isfinite(y))
			ring_push(p, y);
	}
	free(res);
	refit(p);
	p->ready = true;
	p->alarm = false;
	p->run = 0;
	p->pending = 0.0;
	return 0;
}

/* ---- per sample -------------------------------------------------------- */

static double
clear_level(const fm_learn_pot *p)
{
	return p->z - (1.0 - p->cfg.clear_ratio) * fabs(p->z);
}

unsigned
fm_learn_pot_update(fm_learn_pot *p, float score)
{
	unsigned flags = 0;
	bool above, was_alarm = p->alarm;
	double x;

	if (!p->ready)
		return FM_LEARN_POT_SKIPPED;
	if (!isfinite(score)) {
		p->run = 0;
		return FM_LEARN_POT_SKIPPED |
		    (p->alarm ? FM_LEARN_POT_ALARM : 0);
	}
	x = (double)score - drift_mean(p);
	above = x > p->z;
	if (above) {
		flags |= FM_LEARN_POT_ABOVE;
		/*
		 * A lone exceedance outside an alarm is learned, censored
		 * at z, once the next score shows it was alone; a second
		 * one in a row marks an episode, learned not at all.
		 */
		if (p->pending > 0.0)
			p->pending = 0.0;
		else if (!was_alarm && p->run == 0)
			p->pending = p->z - p->t;
		if (p->run < UINT32_MAX)
			p->run++;
		if (p->run >= p->cfg.min_duration)
			p->alarm = true;
	} else {
		p->run = 0;
		if (p->alarm && x < clear_level(p))
			p->alarm = false;
		if (p->pending > 0.0) {
			learn_censored(p);
			flags |= FM_LEARN_POT_PEAK;
		}
		/* nothing is learned during an alarm */
		if (!was_alarm) {
			if (learn(p, x))
				flags |= FM_LEARN_POT_PEAK;
			drift_push(p, score);
		}
	}
	if (p->alarm)
		flags |= FM_LEARN_POT_ALARM;
	return flags;
}

double
fm_learn_pot_threshold_get(const fm_learn_pot *p)
{
	if (!p->ready)
		return INFINITY;
	return p->z + drift_mean(p);
}

void
fm_learn_pot_status_get(const fm_learn_pot *p, fm_learn_pot_status *ret)
{
	double m = drift_mean(p);

	*ret = (fm_learn_pot_status) {
		.ready = p->ready,
		.alarm = p->alarm,
		.run = p->run,
		.fit = p->ready ? p->fit : FM_LEARN_POT_FIT_NONE,
		.threshold = p->ready ? p->z + m : INFINITY,
		.clear_level = p->ready ? clear_level(p) + m : INFINITY,
		.init_threshold = p->t,
		.gamma = p->gamma,
		.sigma = p->sigma,
		.n_obs = p->n_obs,
		.n_peaks = p->n_peaks,
		.peaks_held = p->peaks_held,
	};
}

/* ---- persistence --------------------------------------------------------- */

/* The scalar state, saved and loaded field by field. */
static const struct pot_field {
	uint32_t sec;
	uint16_t type;
	size_t off;
} pot_fields[] = {
	{ SEC_INIT_QUANTILE, FM_LEARN_SECTION_F64,
	    offsetof(fm_learn_pot, cfg.init_quantile) },
	{ SEC_RISK, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, cfg.risk) },
	{ SEC_CLEAR_RATIO, FM_LEARN_SECTION_F64,
	    offsetof(fm_learn_pot, cfg.clear_ratio) },
	{ SEC_MIN_DURATION, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, cfg.min_duration) },
	{ SEC_MAX_PEAKS, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, cfg.max_peaks) },
	{ SEC_MIN_PEAKS, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, cfg.min_peaks) },
	{ SEC_DRIFT_WINDOW, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, cfg.drift_window) },
	{ SEC_RUN, FM_LEARN_SECTION_U32, offsetof(fm_learn_pot, run) },
	{ SEC_T, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, t) },
	{ SEC_Z, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, z) },
	{ SEC_GAMMA, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, gamma) },
	{ SEC_SIGMA, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, sigma) },
	{ SEC_Z_ROBUST, FM_LEARN_SECTION_F64,
	    offsetof(fm_learn_pot, z_robust) },
	{ SEC_N_OBS, FM_LEARN_SECTION_U64, offsetof(fm_learn_pot, n_obs) },
	{ SEC_N_PEAKS, FM_LEARN_SECTION_U64, offsetof(fm_learn_pot, n_peaks) },
	{ SEC_PEAKS_HEAD, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, peaks_head) },
	{ SEC_WIN_HEAD, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, win_head) },
	{ SEC_WIN_SUM, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, win_sum) },
	{ SEC_PENDING, FM_LEARN_SECTION_F64, offsetof(fm_learn_pot, pending) },
	{ SEC_SINCE_FIT, FM_LEARN_SECTION_U32,
	    offsetof(fm_learn_pot, since_fit) },
};

static int
field_put(const fm_learn_pot *p, const struct pot_field *f, uint32_t base,
    fm_learn_model_writer *w)
{
	const char *v = (const char *)p + f->off;

	switch (f->type) {
	case FM_LEARN_SECTION_U32:
		return fm_learn_model_writer_put_u32(
		    w, base + f->sec, *(const uint32_t *)v);
	case FM_LEARN_SECTION_U64:
		return fm_learn_model_writer_put_u64(
		    w, base + f->sec, *(const uint64_t *)v);
	default:
		return fm_learn_model_writer_put_f64(
		    w, base + f->sec, *(const double *)v);
	}
}

static int
field_get(const fm_learn_model_reader *r, uint32_t base,
    const struct pot_field *f, fm_learn_pot *p)
{
	char *v = (char *)p + f->off;

	switch (f->type) {
	case FM_LEARN_SECTION_U32:
		return fm_learn_model_reader_get_u32(
		    r, base + f->sec, (uint32_t *)v);
	case FM_LEARN_SECTION_U64:
		return fm_learn_model_reader_get_u64(
		    r, base + f->sec, (uint64_t *)v);
	default:
		return fm_learn_model_reader_get_f64(
		    r, base + f->sec, (double *)v);
	}
}

int
fm_learn_pot_save(
    const fm_learn_pot *p, uint32_t base, fm_learn_model_writer *w)
{
	uint32_t flags = (p->ready ? 1u : 0u) | (p->alarm ? 2u : 0u);
	int r;

	if (base > UINT32_MAX - (FM_LEARN_POT_SECTIONS - 1))
		return -EINVAL;
	r = fm_learn_model_writer_put_u32(
	    w, base + SEC_VERSION, POT_STATE_VERSION);
	for (size_t i = 0; r == 0 && i < FM_ELEMENTSOF(pot_fields); i++)
		r = field_put(p, &pot_fields[i], base, w);
	if (r == 0)
		r = fm_learn_model_writer_put_u32(w, base + SEC_FLAGS, flags);
	if (r == 0)
		r = fm_learn_model_writer_put_u32(
		    w, base + SEC_FIT, (uint32_t)p->fit);
	if (r == 0)
		r = fm_learn_model_writer_put_f32(
		    w, base + SEC_PEAKS, 0, p->peaks, p->peaks_held);
	if (r == 0)
		r = fm_learn_model_writer_put_f32(
		    w, base + SEC_WIN, 0, p->win, p->win_held);
	return r;
}

/* Whether the restored scalars s describe a state a pot can be in. */
static bool
state_is_consistent(const fm_learn_pot *s, uint32_t flags, uint32_t fit)
{
	bool ready = flags & 1u;

	if ((flags & ~3u) != 0 || fit > FM_LEARN_POT_FIT_ROBUST)
		return false;
	if (!isfinite(s->t) || !isfinite(s->gamma) || !isfinite(s->sigma) ||
	    !isfinite(s->z_robust) || !isfinite(s->win_sum) ||
	    !isfinite(s->pending) || !(s->pending >= 0.0) || !(s->sigma >= 0.0))
		return false;
	if (!ready)
		return fit == FM_LEARN_POT_FIT_NONE && !(flags & 2u);
	return fit != FM_LEARN_POT_FIT_NONE && isfinite(s->z) &&
	    s->n_peaks <= s->n_obs && s->n_obs > 0;
}

int
fm_learn_pot_load(const fm_learn_model_reader *r, uint32_t base,
    const fm_learn_pot_config *cfg, fm_learn_pot **ret)
{
	fm_learn_pot s = { 0 }, *p = NULL;
	fm_learn_section_info si;
	uint32_t version, flags = 0, fit = 0;
	int e;

	if (base > UINT32_MAX - (FM_LEARN_POT_SECTIONS - 1))
		return -EINVAL;
	if (cfg && !fm_learn_pot_config_is_valid(cfg))
		return -EINVAL;
	e = fm_learn_model_reader_get_u32(r, base + SEC_VERSION, &version);
	if (e == -ENOENT)
		return -ENOENT;
	if (e < 0)
		return -EBADMSG;
	if (version != POT_STATE_VERSION)
		return -EPROTONOSUPPORT;
	for (size_t i = 0; e == 0 && i < FM_ELEMENTSOF(pot_fields); i++)
		e = field_get(r, base, &pot_fields[i], &s);
	if (e == 0)
		e = fm_learn_model_reader_get_u32(r, base + SEC_FLAGS, &flags);
	if (e == 0)
		e = fm_learn_model_reader_get_u32(r, base + SEC_FIT, &fit);
	if (e < 0 || !fm_learn_pot_config_is_valid(&s.cfg) ||
	    !state_is_consistent(&s, flags, fit))
		return -EBADMSG;
	if (cfg) {
		if (cfg->init_quantile != s.cfg.init_quantile ||
		    cfg->risk != s.cfg.risk ||
		    cfg->max_peaks != s.cfg.max_peaks ||
		    cfg->min_peaks != s.cfg.min_peaks ||
		    cfg->drift_window != s.cfg.drift_window)
			return -ESTALE;
		s.cfg.clear_ratio = cfg->clear_ratio;
		s.cfg.min_duration = cfg->min_duration;
	}

	/* Ring sizes; held < capacity means the ring never wrapped. */
	if (fm_learn_model_reader_find(r, base + SEC_PEAKS, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count > s.cfg.max_peaks ||
	    s.peaks_head >= s.cfg.max_peaks ||
	    (si.count < s.cfg.max_peaks && s.peaks_head != si.count) ||
	    si.count > s.n_peaks)
		return -EBADMSG;
	s.peaks_held = (uint32_t)si.count;
	if (fm_learn_model_reader_find(r, base + SEC_WIN, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count > s.cfg.drift_window ||
	    (si.count < s.cfg.drift_window && s.win_head != si.count) ||
	    (si.count == s.cfg.drift_window &&
	        s.win_head >= (si.count > 0 ? si.count : 1)) ||
	    ((flags & 1u) && si.count != s.cfg.drift_window))
		return -EBADMSG;
	s.win_held = (uint32_t)si.count;

	e = fm_learn_pot_new(&s.cfg, &p);
	if (e < 0)
		return e;
	if (fm_learn_model_reader_get_f32(
	        r, base + SEC_PEAKS, p->peaks, s.peaks_held) < 0 ||
	    fm_learn_model_reader_get_f32(
	        r, base + SEC_WIN, p->win, s.win_held) < 0)
		goto out_free;
	for (uint32_t i = 0; i < s.peaks_held; i++) {
		if (p->peaks[i] == 0.0f || !isfinite(p->peaks[i]))
			goto out_free;
	}
	for (uint32_t i = 0; i < s.win_held; i++) {
		if (!isfinite(p->win[i]))
			goto out_free;
	}
	s.peaks = p->peaks;
	s.win = p->win;
	s.ready = flags & 1u;
	s.alarm = flags & 2u;
	s.fit = (enum fm_learn_pot_fit)fit;
	if (!s.ready)
		s.z = INFINITY;
	*p = s;
	*ret = p;
	return 0;
out_free:
	fm_learn_pot_free(p);
	return -EBADMSG;
}
