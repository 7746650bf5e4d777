/*
 * Tests for learn/threshold.c: the POT threshold and its alarm. Synthetic
 * scores from a fixed-seed generator; tolerances stated where a fit meets
 * a closed form. Allocations are counted (malloc, calloc and realloc are
 * wrapped) to show that updating never allocates.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "learn/learn.h"
#include "tests/support/alloc-hook.h"

/* ---- a deterministic generator (splitmix64) ---------------------------- */

typedef struct rng {
	uint64_t s;
} rng;

static double
rng_uniform(rng *r) /* in (0, 1) */
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static float
rng_exp(rng *r) /* Exp(1): P(X > x) = e^-x */
{
	return (float)-log(rng_uniform(r));
}

static float
rng_pareto3(rng *r) /* Pareto(3, 1): P(X > x) = x^-3, x >= 1 */
{
	return (float)pow(rng_uniform(r), -1.0 / 3.0);
}

static float *
draw(rng *r, float (*dist)(rng *), size_t n)
{
	float *v = malloc(n * sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = dist(r);
	return v;
}

static fm_learn_pot *
pot_new(const fm_learn_pot_config *cfg)
{
	fm_learn_pot *p = NULL;

	assert_int_equal(fm_learn_pot_new(cfg, &p), 0);
	return p;
}

/* A pot calibrated on n Exp(1) scores with seed 1. */
static fm_learn_pot *
exp_pot(const fm_learn_pot_config *cfg, size_t n)
{
	rng r = { 1 };
	float *cal = draw(&r, rng_exp, n);
	fm_learn_pot *p = pot_new(cfg);

	assert_int_equal(fm_learn_pot_calibrate(p, cal, n), 0);
	free(cal);
	return p;
}

static void
assert_same_status(const fm_learn_pot *a, const fm_learn_pot *b)
{
	fm_learn_pot_status x, y;

	fm_learn_pot_status_get(a, &x);
	fm_learn_pot_status_get(b, &y);
	assert_true(x.ready == y.ready && x.alarm == y.alarm);
	assert_true(x.run == y.run && x.fit == y.fit);
	assert_true(x.threshold == y.threshold);
	assert_true(x.clear_level == y.clear_level);
	assert_true(x.init_threshold == y.init_threshold);
	assert_true(x.gamma == y.gamma && x.sigma == y.sigma);
	assert_true(x.n_obs == y.n_obs && x.n_peaks == y.n_peaks);
	assert_true(x.peaks_held == y.peaks_held);
}

/* ---- configuration and lifecycle --------------------------------------- */

static void
test_threshold_config_validated(void **state)
{
	fm_learn_pot_config c, bad;
	fm_learn_pot *p = NULL;

	fm_learn_pot_config_default(&c);
	assert_true(fm_learn_pot_config_is_valid(&c));
	assert_true(c.init_quantile == 0.98 && c.risk == 1e-4 &&
	    c.clear_ratio == 0.8 && c.min_duration == 3);
	bad = c;
	bad.risk = 0.05; /* must be below 1 - init_quantile */
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.risk = NAN;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.init_quantile = 1.0;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.clear_ratio = 1.5;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.min_duration = 0;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.min_peaks = 2;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.max_peaks = bad.min_peaks - 1;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.max_peaks = FM_LEARN_POT_MAX_PEAKS + 1;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	bad = c;
	bad.drift_window = FM_LEARN_POT_MAX_DRIFT_WINDOW + 1;
	assert_int_equal(fm_learn_pot_new(&bad, &p), -EINVAL);
	assert_null(p);
	assert_null(fm_learn_pot_free(NULL));
}

static void
test_threshold_uncalibrated_skips(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	fm_learn_pot *p;

	fm_learn_pot_config_default(&c);
	p = pot_new(&c);
	assert_int_equal(fm_learn_pot_update(p, 1e9f), FM_LEARN_POT_SKIPPED);
	assert_true(isinf(fm_learn_pot_threshold_get(p)));
	fm_learn_pot_status_get(p, &st);
	assert_false(st.ready);
	assert_false(st.alarm);
	assert_int_equal(st.fit, FM_LEARN_POT_FIT_NONE);
	p = fm_learn_pot_free(p);
	assert_null(p);
}

static void
test_threshold_calibration_errors(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	float few[FM_LEARN_POT_MIN_CALIBRATION + 5];
	fm_learn_pot *p;

	fm_learn_pot_config_default(&c);
	c.drift_window = 5;
	p = pot_new(&c);
	for (size_t i = 0; i < FM_ELEMENTSOF(few); i++)
		few[i] = (float)i;
	few[3] = NAN; /* leaves d + MIN - 1 finite scores */
	assert_int_equal(
	    fm_learn_pot_calibrate(p, few, FM_ELEMENTSOF(few)), -ENODATA);
	/* refused before a score is read */
	assert_int_equal(
	    fm_learn_pot_calibrate(p, few, FM_LEARN_POT_MAX_CALIBRATION + 1u),
	    -EMSGSIZE);
	fm_learn_pot_status_get(p, &st);
	assert_false(st.ready); /* unchanged on failure */
	few[3] = 3.0f;
	assert_int_equal(fm_learn_pot_calibrate(p, few, FM_ELEMENTSOF(few)), 0);
	fm_learn_pot_free(p);
}

/* ---- the fit against closed forms -------------------------------------- */

/*
 * Tolerances: with 100,000 calibration scores (2,000 peaks over the 0.98
 * quantile) the z_q for q = 1e-4 extrapolates 200x beyond t; over seeds
 * its spread is about 2% (exponential) and 5% (Pareto, gamma = 1/3). The
 * bars are 5% and 10%; the shape must be within 0.1 of the truth.
 */
static void
test_threshold_exponential_tail_matches_analytic(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	fm_learn_pot *p;

	fm_learn_pot_config_default(&c);
	c.max_peaks = 4000;
	p = exp_pot(&c, 100000);
	fm_learn_pot_status_get(p, &st);
	assert_int_equal(st.fit, FM_LEARN_POT_FIT_MLE);
	assert_int_equal(st.peaks_held, 2000);
	/* t: the 0.98 quantile, -log(0.02) = 3.912 */
	assert_true(fabs(st.init_threshold - 3.912) < 0.1);
	assert_true(fabs(st.gamma) < 0.1);
	assert_true(fabs(st.sigma - 1.0) < 0.1);
	/* -log(1e-4) = 9.2103 */
	assert_true(fabs(st.threshold / 9.2103404 - 1.0) < 0.05);
	assert_true(st.threshold == fm_learn_pot_threshold_get(p));
	fm_learn_pot_free(p);
}

static void
test_threshold_pareto_tail_matches_analytic(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	rng r = { 1 };
	float *cal = draw(&r, rng_pareto3, 100000);
	fm_learn_pot *p;

	fm_learn_pot_config_default(&c);
	c.max_peaks = 4000;
	p = pot_new(&c);
	assert_int_equal(fm_learn_pot_calibrate(p, cal, 100000), 0);
	fm_learn_pot_status_get(p, &st);
	assert_int_equal(st.fit, FM_LEARN_POT_FIT_MLE);
	/* excesses over t are GPD(gamma 1/3, sigma t/3) */
	assert_true(fabs(st.gamma - 1.0 / 3.0) < 0.1);
	assert_true(fabs(st.sigma / (st.init_threshold / 3.0) - 1.0) < 0.15);
	/* (1e-4)^(-1/3) = 21.544 */
	assert_true(fabs(st.threshold / 21.544347 - 1.0) < 0.10);
	free(cal);
	fm_learn_pot_free(p);
}

/* Counts exceedances over n fresh scores, alarm episodes aside. */
static size_t
count_exceedances(fm_learn_pot *p, rng *r, float (*dist)(rng *), size_t n)
{
	size_t above = 0;

	for (size_t i = 0; i < n; i++)
		above +=
		    (fm_learn_pot_update(p, dist(r)) & FM_LEARN_POT_ABOVE) != 0;
	return above;
}

/*
 * Fresh scores from the calibration distribution, learned online: the
 * exceedance rate stays near q (200 expected; Poisson sd 14, plus the
 * error of z). The bar: within [0.7 q, 1.4 q].
 */
static void
test_threshold_false_positive_rate_near_risk(void **state)
{
	float (*const dists[])(rng *) = { rng_exp, rng_pareto3 };

	for (size_t d = 0; d < FM_ELEMENTSOF(dists); d++) {
		fm_learn_pot_config c;
		rng r = { 7 };
		float *cal = draw(&r, dists[d], 20000);
		fm_learn_pot *p;
		size_t above;

		fm_learn_pot_config_default(&c);
		c.risk = 2e-3;
		c.min_duration = 1;
		p = pot_new(&c);
		assert_int_equal(fm_learn_pot_calibrate(p, cal, 20000), 0);
		above = count_exceedances(p, &r, dists[d], 100000);
		if (above < 140 || above > 280)
			fail_msg("distribution %zu: %zu exceedances, want 200",
			    d, above);
		free(cal);
		fm_learn_pot_free(p);
	}
}

static void
test_threshold_few_peaks_use_robust_quantile(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	float s[100];
	fm_learn_pot *p;

	/* 0…99: median 49.5, MAD 25, t = 97.02, two peaks < min_peaks */
	for (int i = 0; i < 100; i++)
		s[i] = (float)i;
	fm_learn_pot_config_default(&c);
	p = pot_new(&c);
	assert_int_equal(fm_learn_pot_calibrate(p, s, 100), 0);
	fm_learn_pot_status_get(p, &st);
	assert_int_equal(st.fit, FM_LEARN_POT_FIT_ROBUST);
	assert_int_equal(st.peaks_held, 2);
	assert_true(fabs(st.init_threshold - 97.02) < 1e-9);
	/* 49.5 + Phi^-1(1 - 1e-4) * 1.4826 * 25, Phi^-1 = 3.7190165 */
	assert_true(
	    fabs(st.threshold - (49.5 + 3.7190165 * 1.4826022 * 25)) < 1e-4);
	fm_learn_pot_free(p);
}

static void
test_threshold_constant_scores(void **state)
{
	fm_learn_pot_config c;
	float s[50];
	fm_learn_pot *p;

	for (int i = 0; i < 50; i++)
		s[i] = 1.0f;
	fm_learn_pot_config_default(&c);
	c.min_duration = 1;
	p = pot_new(&c);
	assert_int_equal(fm_learn_pot_calibrate(p, s, 50), 0);
	assert_true(fm_learn_pot_threshold_get(p) == 1.0);
	assert_int_equal(fm_learn_pot_update(p, 1.0f), 0);
	assert_int_equal(fm_learn_pot_update(p, 1.001f),
	    FM_LEARN_POT_ABOVE | FM_LEARN_POT_ALARM);
	fm_learn_pot_free(p);
}

/* ---- the alarm state machine ------------------------------------------- */

#define A FM_LEARN_POT_ALARM
#define B FM_LEARN_POT_ABOVE
#define S FM_LEARN_POT_SKIPPED

/* The alarm-related flags of one update. */
static unsigned
step(fm_learn_pot *p, float score)
{
	return fm_learn_pot_update(p, score) & (A | B | S);
}

static void
test_threshold_min_duration_and_hysteresis(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	fm_learn_pot *p;
	float z, hi, mid, lo = 0.1f;

	fm_learn_pot_config_default(&c);
	c.min_duration = 3;
	c.clear_ratio = 0.8;
	p = exp_pot(&c, 5000);
	z = (float)fm_learn_pot_threshold_get(p);
	hi = 2.0f * z;
	assert_true(0.9f * z > 5.0f); /* above t: a peak when learned */

	/* two above, then a normal score: no alarm, the run resets */
	assert_int_equal(step(p, hi), B);
	assert_int_equal(step(p, hi), B);
	fm_learn_pot_status_get(p, &st);
	assert_int_equal(st.run, 2);
	assert_int_equal(step(p, lo), 0);
	assert_int_equal(step(p, hi), B);
	assert_int_equal(step(p, hi), B);
	assert_int_equal(step(p, lo), 0);
	/* three in a row: raised on the third */
	z = (float)fm_learn_pot_threshold_get(p);
	hi = 2.0f * z;
	assert_int_equal(step(p, hi), B);
	assert_int_equal(step(p, hi), B);
	assert_int_equal(step(p, hi), A | B);
	/* between the levels: stays raised; nothing is learned, z is fixed */
	fm_learn_pot_status_get(p, &st);
	z = (float)st.threshold;
	mid = 0.9f * z;
	assert_true(st.clear_level < mid && mid < z);
	assert_int_equal(step(p, mid), A);
	assert_int_equal(step(p, hi), A | B);
	assert_int_equal(step(p, mid), A);
	assert_true(fm_learn_pot_threshold_get(p) == st.threshold);
	/* below the clear level: cleared */
	assert_int_equal(step(p, 0.79f * z), 0);
	/* between the levels with no alarm: a peak, no alarm */
	assert_int_equal(fm_learn_pot_update(p, mid), FM_LEARN_POT_PEAK);
	fm_learn_pot_free(p);
}

static void
test_threshold_min_duration_one_raises_at_once(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot *p;
	float z;

	fm_learn_pot_config_default(&c);
	c.min_duration = 1;
	c.clear_ratio = 1.0;
	p = exp_pot(&c, 5000);
	z = (float)fm_learn_pot_threshold_get(p);
	assert_int_equal(step(p, 2 * z), A | B);
	assert_int_equal(step(p, 0.999f * z), 0);
	fm_learn_pot_free(p);
}

static void
test_threshold_nonfinite_scores_never_raise(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status before, after;
	fm_learn_pot *p;
	float z;

	fm_learn_pot_config_default(&c);
	c.min_duration = 2;
	p = exp_pot(&c, 5000);
	z = (float)fm_learn_pot_threshold_get(p);
	fm_learn_pot_status_get(p, &before);
	/* ignored: never learned, never raising */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(step(p, NAN), S);
		assert_int_equal(step(p, INFINITY), S);
		assert_int_equal(step(p, -INFINITY), S);
	}
	fm_learn_pot_status_get(p, &after);
	assert_true(after.n_obs == before.n_obs);
	assert_true(after.threshold == before.threshold);
	/* a NaN breaks a run of exceedances */
	assert_int_equal(step(p, 2 * z), B);
	assert_int_equal(step(p, NAN), S);
	z = (float)fm_learn_pot_threshold_get(p);
	assert_int_equal(step(p, 2 * z), B);
	assert_int_equal(step(p, 2 * z), A | B);
	/* and does not clear a raised alarm */
	assert_int_equal(step(p, NAN), S | A);
	assert_int_equal(step(p, 0.0f), 0);
	fm_learn_pot_free(p);
}

static void
test_threshold_incident_is_not_learned(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status before, after;
	fm_learn_pot *p;
	float z;

	fm_learn_pot_config_default(&c);
	p = exp_pot(&c, 5000);
	z = (float)fm_learn_pot_threshold_get(p);
	for (int i = 0; i < 3; i++)
		(void)fm_learn_pot_update(p, 3 * z);
	fm_learn_pot_status_get(p, &before);
	assert_true(before.alarm);
	/* a long incident: the threshold does not move */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(step(p, 3 * z + (float)(i % 7)), A | B);
	fm_learn_pot_status_get(p, &after);
	assert_true(after.alarm);
	assert_true(after.n_obs == before.n_obs);
	assert_true(after.threshold == before.threshold);
	fm_learn_pot_free(p);
}

static void
test_threshold_update_never_allocates(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot *p;
	rng r = { 3 };
	unsigned before, peaks = 0;

	fm_learn_pot_config_default(&c);
	c.drift_window = 20;
	p = exp_pot(&c, 5000);
	before = fm_test_alloc_count();
	for (int i = 0; i < 20000; i++)
		peaks += (fm_learn_pot_update(p, rng_exp(&r)) &
		             FM_LEARN_POT_PEAK) != 0;
	assert_int_equal(fm_test_alloc_count(), before);
	assert_true(peaks > 100); /* refits happened */
	fm_learn_pot_free(p);
}

static void
test_threshold_calibration_skips_nonfinite(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status a, b;
	rng r = { 5 };
	float *clean = draw(&r, rng_exp, 3000);
	float *dirty = malloc(4000 * sizeof(*dirty));
	fm_learn_pot *p, *q;

	for (size_t i = 0, k = 0; i < 4000; i++)
		dirty[i] =
		    i % 4 == 3 ? (i % 8 == 3 ? NAN : -INFINITY) : clean[k++];
	fm_learn_pot_config_default(&c);
	c.drift_window = 10;
	p = pot_new(&c);
	q = pot_new(&c);
	assert_int_equal(fm_learn_pot_calibrate(p, clean, 3000), 0);
	assert_int_equal(fm_learn_pot_calibrate(q, dirty, 4000), 0);
	fm_learn_pot_status_get(p, &a);
	fm_learn_pot_status_get(q, &b);
	assert_true(a.threshold == b.threshold && a.n_obs == b.n_obs);
	assert_same_status(p, q);
	free(clean);
	free(dirty);
	fm_learn_pot_free(p);
	fm_learn_pot_free(q);
}

/*
 * A slow excursion of the score level, up 20 and back down over 40,000
 * samples. Neither alarms on it; afterwards SPOT's threshold is still
 * inflated by it (a spike of 12 passes), while DSPOT (drift_window),
 * comparing each score to its recent mean, catches the spike.
 */
static void
test_threshold_drift_window_follows_slow_drift(void **state)
{
	fm_learn_pot *pots[2];
	size_t alarms[2] = { 0, 0 };
	unsigned spike[2] = { 0, 0 };

	for (int k = 0; k < 2; k++) {
		fm_learn_pot_config c;
		rng r = { 11 };
		float cal[5000];

		for (int i = 0; i < 5000; i++)
			cal[i] = rng_exp(&r);
		fm_learn_pot_config_default(&c);
		c.drift_window = k == 0 ? 0 : 100;
		pots[k] = pot_new(&c);
		assert_int_equal(fm_learn_pot_calibrate(pots[k], cal, 5000), 0);
		for (int i = 0; i < 42000; i++) {
			double level = i < 20000 ? 0.001 * i
			    : i < 40000          ? 20.0 - 0.001 * (i - 20000)
			                         : 0.0;
			float s = (float)level + rng_exp(&r);

			alarms[k] += (fm_learn_pot_update(pots[k], s) & A) != 0;
		}
		for (int i = 0; i < 3; i++)
			spike[k] = fm_learn_pot_update(pots[k], 12.0f) & A;
		fm_learn_pot_free(pots[k]);
	}
	assert_true(alarms[0] <= 3 && alarms[1] <= 3);
	assert_int_equal(spike[0], 0);
	assert_int_equal(spike[1], A);
}

/* ---- persistence ------------------------------------------------------- */

/* Saves p at base (between two foreign sections) into a new file. */
static uint8_t *
save(const fm_learn_pot *p, uint32_t base, size_t *ret_len)
{
	fm_learn_model_info info = { .kind = base ? 42 : FM_LEARN_KIND_POT };
	fm_learn_model_writer w;
	uint8_t *buf = NULL;

	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	if (base > 0)
		assert_int_equal(
		    fm_learn_model_writer_put_u32(&w, base - 1, 7), 0);
	assert_int_equal(fm_learn_pot_save(p, base, &w), 0);
	if (base > 0)
		assert_int_equal(fm_learn_model_writer_put_u32(
		                     &w, base + FM_LEARN_POT_SECTIONS, 7),
		    0);
	assert_int_equal(fm_learn_model_writer_finish(&w, &buf, ret_len), 0);
	return buf;
}

static fm_learn_pot *
load(const uint8_t *buf, size_t len, uint32_t base,
    const fm_learn_pot_config *cfg, int want)
{
	fm_learn_model_reader r;
	fm_learn_pot *p = NULL;

	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	assert_int_equal(fm_learn_pot_load(&r, base, cfg, &p), want);
	return p;
}

/* Feeds both pots the same scores; every decision and threshold agrees. */
static void
assert_same_future(fm_learn_pot *a, fm_learn_pot *b, uint64_t seed)
{
	rng r = { seed };

	for (int i = 0; i < 20000; i++) {
		float s = rng_pareto3(&r);

		if (i % 1000 < 5)
			s *= 50; /* incidents, to exercise the alarm */
		if (i % 997 == 0)
			s = NAN;
		assert_int_equal(
		    fm_learn_pot_update(a, s), fm_learn_pot_update(b, s));
		assert_true(fm_learn_pot_threshold_get(a) ==
		    fm_learn_pot_threshold_get(b));
	}
}

static void
test_threshold_restore_gives_identical_decisions(void **state)
{
	for (uint32_t drift = 0; drift <= 37; drift += 37) {
		fm_learn_pot_config c;
		fm_learn_pot_status sa;
		rng r = { 21 };
		float *cal = draw(&r, rng_pareto3, 20000);
		fm_learn_pot *a, *b;
		uint8_t *buf;
		size_t len;

		fm_learn_pot_config_default(&c);
		c.max_peaks = 300; /* so the ring wraps */
		c.drift_window = drift;
		a = pot_new(&c);
		assert_int_equal(fm_learn_pot_calibrate(a, cal, 20000), 0);
		/* leave it mid-alarm */
		for (int i = 0; i < 5000; i++)
			(void)fm_learn_pot_update(a, rng_pareto3(&r));
		for (int i = 0; i < 4; i++)
			(void)fm_learn_pot_update(a, 1e4f);
		buf = save(a, 100, &len);
		b = load(buf, len, 100, NULL, 0);
		fm_learn_pot_status_get(a, &sa);
		assert_true(sa.alarm);
		assert_same_status(a, b);
		assert_same_future(a, b, 99 + drift);
		free(buf);
		free(cal);
		fm_learn_pot_free(a);
		fm_learn_pot_free(b);
	}
}

static void
test_threshold_restore_config_rules(void **state)
{
	fm_learn_pot_config c, other;
	fm_learn_pot_status st;
	fm_learn_pot *p, *q;
	uint8_t *buf;
	size_t len;

	fm_learn_pot_config_default(&c);
	p = exp_pot(&c, 3000);
	buf = save(p, 0, &len);
	/* nothing saved at another base */
	assert_null(load(buf, len, 1000, NULL, -ENOENT));
	/* fit parameters must match */
	other = c;
	other.risk = 1e-3;
	assert_null(load(buf, len, 0, &other, -ESTALE));
	other = c;
	other.max_peaks = 999;
	assert_null(load(buf, len, 0, &other, -ESTALE));
	other = c;
	other.drift_window = 3;
	assert_null(load(buf, len, 0, &other, -ESTALE));
	other = c;
	other.min_duration = 0;
	assert_null(load(buf, len, 0, &other, -EINVAL));
	/* the alarm's parameters may change */
	other = c;
	other.min_duration = 1;
	q = load(buf, len, 0, &other, 0);
	assert_non_null(q);
	assert_true(fm_learn_pot_update(q, 1e6f) & A);
	fm_learn_pot_free(q);
	/* an uncalibrated pot round-trips */
	free(buf);
	fm_learn_pot_free(p);
	p = pot_new(&c);
	buf = save(p, 0, &len);
	q = load(buf, len, 0, NULL, 0);
	fm_learn_pot_status_get(q, &st);
	assert_false(st.ready);
	assert_int_equal(fm_learn_pot_update(q, 1.0f), S);
	free(buf);
	fm_learn_pot_free(p);
	fm_learn_pot_free(q);
}

/* Copies a decoded file section by section, replacing section id (a u32,
 * f64 or u64) with value. */
static uint8_t *
rewrite(
    const uint8_t *buf, size_t len, uint32_t id, double value, size_t *ret_len)
{
	fm_learn_model_reader r;
	fm_learn_model_writer w;
	uint8_t *out = NULL;

	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	assert_int_equal(fm_learn_model_writer_init(
	                     &w, fm_learn_model_reader_info(&r), NULL, 0),
	    0);
	for (uint32_t i = 0; i < fm_learn_model_reader_section_count(&r); i++) {
		fm_learn_section_info si;
		uint32_t u32 = 0;
		uint64_t u64 = 0;
		double f64 = 0;
		float *f;

		assert_int_equal(
		    fm_learn_model_reader_section_at(&r, i, &si), 0);
		switch (si.type) {
		case FM_LEARN_SECTION_U32:
			assert_int_equal(
			    fm_learn_model_reader_get_u32(&r, si.id, &u32), 0);
			if (si.id == id)
				u32 = (uint32_t)value;
			assert_int_equal(
			    fm_learn_model_writer_put_u32(&w, si.id, u32), 0);
			break;
		case FM_LEARN_SECTION_U64:
			assert_int_equal(
			    fm_learn_model_reader_get_u64(&r, si.id, &u64), 0);
			if (si.id == id)
				u64 = (uint64_t)value;
			assert_int_equal(
			    fm_learn_model_writer_put_u64(&w, si.id, u64), 0);
			break;
		case FM_LEARN_SECTION_F64:
			assert_int_equal(
			    fm_learn_model_reader_get_f64(&r, si.id, &f64), 0);
			if (si.id == id)
				f64 = value;
			assert_int_equal(
			    fm_learn_model_writer_put_f64(&w, si.id, f64), 0);
			break;
		default:
			f = calloc(si.count + 1, sizeof(*f));
			assert_int_equal(fm_learn_model_reader_get_f32(
			                     &r, si.id, f, si.count),
			    0);
			if (si.id == id)
				f[0] = (float)value;
			assert_int_equal(fm_learn_model_writer_put_f32(
			                     &w, si.id, si.flags, f, si.count),
			    0);
			free(f);
		}
	}
	assert_int_equal(fm_learn_model_writer_finish(&w, &out, ret_len), 0);
	return out;
}

static void
test_threshold_restore_refuses_inconsistent_state(void **state)
{
	/* ids relative to base 0, from the layout in threshold.c */
	const struct {
		uint32_t id;
		double value;
		int want;
	} cases[] = {
		{ 0, 2, -EPROTONOSUPPORT }, /* state version */
		{ 2, 0.5, -EBADMSG },       /* risk beyond 1 - init_quantile */
		{ 5, 10, -EBADMSG },        /* max_peaks below min_peaks */
		{ 9, NAN, -EBADMSG },       /* t */
		{ 10, INFINITY, -EBADMSG }, /* z of a calibrated pot */
		{ 12, -1, -EBADMSG },       /* sigma */
		{ 14, 10, -EBADMSG },       /* n_obs below n_peaks */
		{ 16, 5000, -EBADMSG },     /* peaks_head past the ring */
		{ 16, 3, -EBADMSG },        /* head off the unwrapped count */
		{ 19, -1, -EBADMSG },       /* pending */
		{ 21, 4, -EBADMSG },        /* unknown flag */
		{ 22, 9, -EBADMSG },        /* unknown fit */
		{ 23, 0, -EBADMSG },        /* a zero peak */
		{ 23, NAN, -EBADMSG },      /* a NaN peak */
	};
	fm_learn_pot_config c;
	fm_learn_pot *p;
	uint8_t *buf;
	size_t len;

	fm_learn_pot_config_default(&c);
	p = exp_pot(&c, 3000);
	buf = save(p, 0, &len);
	fm_learn_pot_free(load(buf, len, 0, NULL, 0));
	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		fm_learn_model_reader r;
		fm_learn_pot *q = NULL;
		size_t n;
		uint8_t *bad =
		    rewrite(buf, len, cases[i].id, cases[i].value, &n);

		assert_int_equal(fm_learn_model_decode(bad, n, NULL, &r), 0);
		if (fm_learn_pot_load(&r, 0, NULL, &q) != cases[i].want)
			fail_msg("case %zu (section %u)", i, cases[i].id);
		assert_null(q);
		free(bad);
	}
	free(buf);
	fm_learn_pot_free(p);
}

static void
test_threshold_out_of_memory(void **state)
{
	fm_learn_pot_config c;
	fm_learn_pot_status st;
	fm_learn_pot *p = NULL, *q;
	float s[100];
	uint8_t *buf;
	size_t len;
	int r;

	fm_learn_pot_config_default(&c);
	c.drift_window = 10;
	/* the pot, its peaks, its drift window */
	for (int k = 0; k < 3; k++) {
		fm_test_alloc_fail_after(k);
		r = fm_learn_pot_new(&c, &p);
		fm_test_alloc_fail_after(-1);
		assert_int_equal(r, -ENOMEM);
		assert_null(p);
	}
	p = pot_new(&c);
	for (int i = 0; i < 100; i++)
		s[i] = (float)i;
	fm_test_alloc_fail_after(0);
	r = fm_learn_pot_calibrate(p, s, 100);
	fm_test_alloc_fail_after(-1);
	assert_int_equal(r, -ENOMEM);
	fm_learn_pot_status_get(p, &st);
	assert_false(st.ready);
	assert_int_equal(fm_learn_pot_calibrate(p, s, 100), 0);
	buf = save(p, 0, &len);
	for (int k = 0; k < 3; k++) {
		fm_test_alloc_fail_after(k);
		q = load(buf, len, 0, NULL, -ENOMEM);
		fm_test_alloc_fail_after(-1);
		assert_null(q);
	}
	free(buf);
	fm_learn_pot_free(p);
}

static void
test_threshold_save_checks_ids(void **state)
{
	fm_learn_pot_config c;
	fm_learn_model_info info = { .kind = FM_LEARN_KIND_POT };
	fm_learn_model_writer w;
	fm_learn_pot *p;

	fm_learn_pot_config_default(&c);
	p = pot_new(&c);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_pot_save(p, UINT32_MAX - 3, &w), -EINVAL);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 50, 1), 0);
	assert_int_equal(fm_learn_pot_save(p, 10, &w), -EINVAL);
	fm_learn_model_writer_release(&w);
	fm_learn_pot_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threshold_config_validated),
		cmocka_unit_test(test_threshold_uncalibrated_skips),
		cmocka_unit_test(test_threshold_calibration_errors),
		cmocka_unit_test(
		    test_threshold_exponential_tail_matches_analytic),
		cmocka_unit_test(test_threshold_pareto_tail_matches_analytic),
		cmocka_unit_test(test_threshold_false_positive_rate_near_risk),
		cmocka_unit_test(test_threshold_few_peaks_use_robust_quantile),
		cmocka_unit_test(test_threshold_constant_scores),
		cmocka_unit_test(test_threshold_min_duration_and_hysteresis),
		cmocka_unit_test(
		    test_threshold_min_duration_one_raises_at_once),
		cmocka_unit_test(test_threshold_nonfinite_scores_never_raise),
		cmocka_unit_test(test_threshold_incident_is_not_learned),
		cmocka_unit_test(test_threshold_update_never_allocates),
		cmocka_unit_test(test_threshold_calibration_skips_nonfinite),
		cmocka_unit_test(
		    test_threshold_drift_window_follows_slow_drift),
		cmocka_unit_test(
		    test_threshold_restore_gives_identical_decisions),
		cmocka_unit_test(test_threshold_restore_config_rules),
		cmocka_unit_test(
		    test_threshold_restore_refuses_inconsistent_state),
		cmocka_unit_test(test_threshold_out_of_memory),
		cmocka_unit_test(test_threshold_save_checks_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
