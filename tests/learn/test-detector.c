/*
 * Tests for learn/detector*.c: the anomaly detector end to end on
 * synthetic hosts (fixed seeds): detection and explanation of a broken
 * relation, causality (of scoring and of the training windows),
 * determinism, masked inputs, too few rows, the baseline's gate, the
 * alarm's hysteresis, the onset path, persistence and corrupted files,
 * shared parameters.
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
#include "learn/learn-int.h"
#include "tests/support/alloc-hook.h"

#define D        6
#define N_TRAIN  3000
#define PER_DAY  1440

/*
 * A synthetic host: feature 0 a daily cycle, 1 follows 0, 2 follows 0
 * with a lag, 3 independent noise, 4 a slow random walk, 5 a near
 * constant. Row t of the series seeded by seed.
 */
typedef struct host {
	fmi_learn_rng g;
	double walk;
	double lag;
} host;

static void
host_init(host *h, uint64_t seed)
{
	fmi_learn_rng_init(&h->g, seed);
	h->walk = 0.0;
	h->lag = 0.0;
}

static void
host_row(host *h, size_t t, float *x)
{
	double c = sin(2.0 * M_PI * (double)t / PER_DAY);

	h->walk += 0.002 * fmi_learn_rng_normal(&h->g);
	x[0] = (float)(0.5 + 0.3 * c + 0.02 * fmi_learn_rng_normal(&h->g));
	x[1] = (float)(0.8 * x[0] + 0.02 * fmi_learn_rng_normal(&h->g));
	x[2] = (float)(h->lag + 0.02 * fmi_learn_rng_normal(&h->g));
	h->lag = x[0];
	x[3] = (float)(0.3 + 0.05 * fmi_learn_rng_normal(&h->g));
	x[4] = (float)(0.5 + h->walk);
	x[5] = (float)(0.1 + 0.001 * fmi_learn_rng_normal(&h->g));
}

static float *
host_rows(host *h, size_t t0, size_t n)
{
	float *x = malloc(n * D * sizeof(float));

	assert_non_null(x);
	for (size_t t = 0; t < n; t++)
		host_row(h, t0 + t, x + t * D);
	return x;
}

static void
assert_same_verdict(const fm_learn_verdict *a, const fm_learn_verdict *b)
{
	assert_memory_equal(&a->score, &b->score, sizeof(a->score));
	assert_memory_equal(&a->raw, &b->raw, sizeof(a->raw));
	assert_memory_equal(&a->threshold, &b->threshold, sizeof(a->threshold));
	assert_int_equal(a->alarm, b->alarm);
	assert_int_equal(a->ready, b->ready);
}

static fm_learn_detector_config
config(void)
{
	fm_learn_detector_config cfg;

	fm_learn_detector_config_default(&cfg, D, PER_DAY);
	cfg.latent = 4;
	cfg.train.steps = 400;
	return cfg;
}

static fm_learn_detector *
trained(const fm_learn_detector_config *cfg, const float *rows, size_t n)
{
	fm_learn_detector *det;

	assert_int_equal(fm_learn_detector_new(cfg, &det), 0);
	assert_int_equal(fm_learn_detector_train(det, rows, n, NULL), 0);
	return det;
}

static void
test_detector_untrained_scores_zero(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D] = { 1, 2, 3, 4, 5, 6 };
	uint32_t top[3];

	(void)state;
	assert_int_equal(fm_learn_detector_new(&cfg, &det), 0);
	assert_false(fm_learn_detector_is_ready(det));
	for (int i = 0; i < 3; i++) {
		fm_learn_detector_score(det, x, &v);
		assert_false(v.ready);
		assert_false(v.alarm);
		assert_true(v.score == 0.0f);
		assert_true(isinf(v.threshold));
	}
	assert_int_equal(fm_learn_detector_top(det, 3, top), 0);
	fm_learn_detector_free(det);
}

static void
test_detector_needs_enough_rows(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 1);
	rows = host_rows(&h, 0, FM_LEARN_DETECTOR_MIN_ROWS);
	assert_int_equal(fm_learn_detector_new(&cfg, &det), 0);
	assert_int_equal(fm_learn_detector_train(det, rows,
			     FM_LEARN_DETECTOR_MIN_ROWS - 1, NULL),
	    -ENODATA);
	assert_false(fm_learn_detector_is_ready(det));
	/* exactly the minimum works, even with a window as long */
	cfg.window = FM_LEARN_DETECTOR_MIN_ROWS;
	fm_learn_detector_free(det);
	assert_int_equal(fm_learn_detector_new(&cfg, &det), 0);
	assert_int_equal(fm_learn_detector_train(
			     det, rows, FM_LEARN_DETECTOR_MIN_ROWS, NULL),
	    0);
	assert_true(fm_learn_detector_is_ready(det));
	fm_learn_detector_free(det);
	free(rows);
}

static void
test_detector_finds_and_explains_a_broken_relation(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D];
	bool alarm_normal = false, alarm_incident = false, named = false;
	uint32_t top[2];
	size_t n_top;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 2);
	rows = host_rows(&h, 0, N_TRAIN);
	/* a risk of 2% a row makes a false alarm in 600 rows likely */
	cfg.pot.risk = 1e-3;
	det = trained(&cfg, rows, N_TRAIN);
	for (size_t t = N_TRAIN; t < N_TRAIN + 600; t++) {
		host_row(&h, t, x);
		fm_learn_detector_score(det, x, &v);
		assert_true(v.ready);
		assert_true(isfinite(v.score) && v.score >= 0.0f);
		alarm_normal |= v.alarm;
	}
	assert_false(alarm_normal);
	/* feature 1 moves off feature 0 by 15 noise deviations, within
	 * its own range (about 2 of its deviations): mostly the relation
	 * shows it */
	for (size_t t = N_TRAIN + 600; t < N_TRAIN + 640; t++) {
		host_row(&h, t, x);
		x[1] = (float)(0.8 * x[0] + 0.3);
		fm_learn_detector_score(det, x, &v);
		if (v.alarm && !alarm_incident) {
			n_top = fm_learn_detector_top(det, 2, top);
			assert_true(n_top >= 1);
			named = top[0] == 1 || (n_top > 1 && top[1] == 1);
		}
		alarm_incident |= v.alarm;
	}
	assert_true(alarm_incident);
	assert_true(named);
	fm_learn_detector_free(det);
	free(rows);
}

/* One row's observable outcome: the verdict, the contributions, and the
 * features the alarm (or the row) is explained by. */
typedef struct outcome {
	fm_learn_verdict v;
	float contrib[D];
	uint32_t top[3];
	size_t n_top;
} outcome;

static void
score_into(fm_learn_detector *det, const float *x, outcome *ret)
{
	memset(ret, 0, sizeof(*ret));
	fm_learn_detector_score(det, x, &ret->v);
	memcpy(
	    ret->contrib, fm_learn_detector_contrib(det), sizeof(ret->contrib));
	ret->n_top = fm_learn_detector_top(det, 3, ret->top);
}

/*
 * Scoring is causal: the outcome of row t is the same, bit for bit,
 * whatever rows follow t. Two detectors trained alike score the same
 * prefix (normal rows, masked values, an incident that raises the
 * alarm), then each a different suffix; the prefix's outcomes must
 * match. The windows the autoencoder is trained on must be causal too,
 * and the very windows scoring builds: the window of row t holds rows t,
 * t-1, …, t-window+1 (row 0 repeated before it) and nothing after t,
 * across the boundary from the training rows to the scored ones.
 */
static void
test_detector_is_causal(void **state)
{
	enum { PREFIX = 150, SUFFIX = 50, N_ALL = N_TRAIN + PREFIX };
	fm_learn_detector_config cfg = config();
	fm_learn_detector *a, *b;
	outcome *pa, *pb, o;
	fmi_learn_window_rows tr, tr2;
	uint32_t win = cfg.window, len = win * D;
	float x[D], *rows, *zc, *zc2, *w1, *w2;
	bool alarmed = false;
	host h;

	(void)state;
	host_init(&h, 3);
	rows = host_rows(&h, 0, N_ALL); /* training rows, then the prefix */
	for (size_t t = N_TRAIN; t < N_ALL; t++) {
		if (t % 9 == 0)
			rows[t * D + 2] = NAN;
		if (t >= N_TRAIN + 100 && t < N_TRAIN + 120)
			rows[t * D + 3] += 1.0f; /* an incident */
	}
	a = trained(&cfg, rows, N_TRAIN);
	b = trained(&cfg, rows, N_TRAIN);
	pa = calloc(PREFIX, sizeof(*pa));
	pb = calloc(PREFIX, sizeof(*pb));
	assert_non_null(pa);
	assert_non_null(pb);
	for (size_t t = 0; t < PREFIX; t++) {
		score_into(a, rows + (N_TRAIN + t) * D, &pa[t]);
		alarmed |= pa[t].v.alarm;
	}
	assert_true(alarmed);
	for (size_t t = 0; t < SUFFIX; t++) {
		host_row(&h, N_ALL + t, x);
		score_into(a, x, &o);
	}
	/* b: the same prefix, then wild rows */
	for (size_t t = 0; t < PREFIX; t++)
		score_into(b, rows + (N_TRAIN + t) * D, &pb[t]);
	for (size_t t = 0; t < SUFFIX; t++) {
		for (uint32_t j = 0; j < D; j++)
			x[j] = (t + j) % 3 ? -1e6f * (float)(t + 1) : NAN;
		score_into(b, x, &o);
	}
	for (size_t t = 0; t < PREFIX; t++) {
		assert_same_verdict(&pa[t].v, &pb[t].v);
		assert_memory_equal(
		    pa[t].contrib, pb[t].contrib, sizeof(o.contrib));
		assert_int_equal(pa[t].n_top, pb[t].n_top);
		assert_memory_equal(pa[t].top, pb[t].top, sizeof(o.top));
	}

	/* the training windows over all rows, normalised as a normalises */
	zc = malloc((size_t)N_ALL * D * sizeof(float));
	zc2 = malloc((size_t)N_ALL * D * sizeof(float));
	w1 = malloc(len * sizeof(float));
	w2 = malloc(len * sizeof(float));
	assert_non_null(zc);
	assert_non_null(zc2);
	assert_non_null(w1);
	assert_non_null(w2);
	for (size_t t = 0; t < N_ALL; t++)
		fm_learn_detector_normalise(a, rows + t * D, zc + t * D);
	tr = (fmi_learn_window_rows) { .zc = zc, .d = D, .window = win };
	tr2 = (fmi_learn_window_rows) { .zc = zc2, .d = D, .window = win };
	for (uint32_t t = 0; t < N_ALL; t += t < 2 * win ? 1 : 97) {
		fmi_learn_windows_fill(&tr, &t, 1, w1);
		for (uint32_t j = 0; j < win; j++) {
			uint32_t src = t >= j ? t - j : 0;

			assert_memory_equal(w1 + j * D, zc + (size_t)src * D,
			    D * sizeof(float));
		}
		/* rows after t change wildly: the window of t does not */
		memcpy(zc2, zc, (size_t)N_ALL * D * sizeof(float));
		for (size_t u = t + 1; u < N_ALL; u++)
			zc2[u * D + u % D] = 1e3f;
		fmi_learn_windows_fill(&tr2, &t, 1, w2);
		assert_memory_equal(w1, w2, len * sizeof(float));
	}
	/* scoring builds the window training does, from the training rows
	 * into the scored ones */
	fm_learn_detector_free(a);
	a = trained(&cfg, rows, N_TRAIN);
	for (size_t t = N_TRAIN; t < N_TRAIN + 2 * win; t++) {
		uint32_t i = (uint32_t)t;

		fm_learn_detector_score(a, rows + t * D, &o.v);
		fmi_learn_windows_fill(&tr, &i, 1, w1);
		assert_memory_equal(a->w, w1, len * sizeof(float));
	}
	free(zc);
	free(zc2);
	free(w1);
	free(w2);
	free(pa);
	free(pb);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
	free(rows);
}

static void
test_detector_same_seed_same_model(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *a, *b, *c;
	uint8_t *ba, *bb, *bc;
	size_t la, lb, lc;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 4);
	rows = host_rows(&h, 0, N_TRAIN);
	a = trained(&cfg, rows, N_TRAIN);
	b = trained(&cfg, rows, N_TRAIN);
	cfg.train.seed = 2;
	c = trained(&cfg, rows, N_TRAIN);
	assert_int_equal(fm_learn_detector_save(a, &ba, &la), 0);
	assert_int_equal(fm_learn_detector_save(b, &bb, &lb), 0);
	assert_int_equal(fm_learn_detector_save(c, &bc, &lc), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	assert_int_equal(la, lc);
	assert_memory_not_equal(ba, bc, la);
	free(ba);
	free(bb);
	free(bc);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
	fm_learn_detector_free(c);
	free(rows);
}

static void
test_detector_masked_inputs_never_reach_the_weights(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D], *params;
	size_t np, n;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 5);
	rows = host_rows(&h, 0, N_TRAIN);
	for (size_t t = 0; t < N_TRAIN; t++) {
		rows[t * D + 5] = NAN; /* never seen */
		if (t % 7 == 0)
			rows[t * D + 0] = NAN;
		if (t % 11 == 0)
			rows[t * D + 3] = INFINITY;
		if (t % 13 == 0)
			rows[t * D + 4] = -INFINITY;
	}
	det = trained(&cfg, rows, N_TRAIN);
	np = fm_learn_detector_params_count(det);
	params = malloc(np * sizeof(float));
	assert_non_null(params);
	assert_int_equal(
	    fm_learn_detector_params_export(det, params, np, &n), 0);
	assert_int_equal(n, np);
	for (size_t i = 0; i < np; i++)
		assert_true(isfinite(params[i]));
	for (size_t t = 0; t < 100; t++) {
		host_row(&h, N_TRAIN + t, x);
		x[t % D] = t % 2 ? NAN : INFINITY;
		fm_learn_detector_score(det, x, &v);
		assert_true(isfinite(v.score));
		assert_true(isfinite(v.raw));
		/* an unseen feature contributes nothing, whatever its value */
		assert_true(fm_learn_detector_contrib(det)[5] == 0.0f);
	}
	free(params);
	fm_learn_detector_free(det);
	free(rows);
}

/*
 * A masked value (NaN or infinite) of a feature seen in training
 * contributes nothing, like one never seen: its value is unknown, not
 * normal, and not a deviation either.
 */
static void
test_detector_masked_seen_feature_adds_nothing(void **state)
{
	static const float masks[] = { NAN, INFINITY, -INFINITY };
	fm_learn_detector_config cfg = config();
	fm_learn_detector_train_stats st;
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D];
	host h;
	float *rows;

	(void)state;
	host_init(&h, 14);
	rows = host_rows(&h, 0, N_TRAIN);
	assert_int_equal(fm_learn_detector_new(&cfg, &det), 0);
	assert_int_equal(fm_learn_detector_train(det, rows, N_TRAIN, &st), 0);
	assert_int_equal(st.features_seen, D);
	for (size_t t = 0; t < 60; t++) {
		uint32_t j = (uint32_t)(t % D);
		double sum = 0.0;

		host_row(&h, N_TRAIN + t, x);
		x[(j + 3) % D] += 0.5f; /* another feature far off */
		x[j] = masks[t / D % 3];
		fm_learn_detector_score(det, x, &v);
		assert_true(isfinite(v.raw) && v.raw > 0.0f);
		assert_true(fm_learn_detector_contrib(det)[j] == 0.0f);
		for (uint32_t k = 0; k < D; k++)
			sum += fm_learn_detector_contrib(det)[k];
		assert_float_equal(v.raw, sum, 1e-6 * sum);
	}
	fm_learn_detector_free(det);
	free(rows);
}

/*
 * A detector whose score depends on the row alone (a window of one row,
 * no smoothing, no onset term, no level-shift guard, a baseline that
 * barely moves), raised by alarm_on = 2 rows at or above the threshold,
 * cleared by alarm_off = 4 rows in a row below the clear level, half the
 * threshold. Then three rows: one whose score is below the clear level
 * (low), one between it and the threshold (mid), one above (high), found
 * on a copy so that the detector's own state is untouched.
 */
typedef struct alarm_bench {
	fm_learn_detector *det;
	float low[D], mid[D], high[D];
	float *rows;
} alarm_bench;

static void
alarm_bench_init(alarm_bench *ab)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *probe;
	fm_learn_verdict v;
	uint8_t *buf;
	size_t len;
	double clear;
	host h;

	cfg.window = 1;
	cfg.ema_span = 1.0f;
	cfg.onset_factor = 0.0f;
	cfg.guard_factor = 0.0f;
	cfg.baseline_rows = 1e9f;
	cfg.alarm_on = 2;
	cfg.alarm_off = 4;
	cfg.clear_ratio = 0.5f;
	host_init(&h, 15);
	ab->rows = host_rows(&h, 0, N_TRAIN);
	ab->det = trained(&cfg, ab->rows, N_TRAIN);
	assert_int_equal(fm_learn_detector_save(ab->det, &buf, &len), 0);
	assert_int_equal(fm_learn_detector_load(buf, len, &cfg, &probe), 0);
	free(buf);
	/* low: the first new row well below the clear level */
	for (size_t t = 0;; t++) {
		assert_true(t < 1000);
		host_row(&h, N_TRAIN + t, ab->low);
		fm_learn_detector_score(probe, ab->low, &v);
		clear = cfg.clear_ratio * v.threshold;
		if (v.score < 0.5 * clear)
			break;
	}
	/* mid: low with feature 3 moved until the score is past 3/4 of the
	 * threshold, in steps small enough not to jump past it */
	memcpy(ab->mid, ab->low, sizeof(ab->mid));
	do {
		ab->mid[3] += 0.002f;
		assert_true(ab->mid[3] < ab->low[3] + 1.0f);
		fm_learn_detector_score(probe, ab->mid, &v);
	} while (v.score < 0.75 * v.threshold);
	assert_true(v.score < 0.95 * v.threshold);
	memcpy(ab->high, ab->low, sizeof(ab->high));
	ab->high[3] += 1.0f; /* 20 standard deviations */
	fm_learn_detector_score(probe, ab->high, &v);
	assert_true(v.score > 2.0 * v.threshold);
	fm_learn_detector_free(probe);
}

static void
alarm_bench_release(alarm_bench *ab)
{
	fm_learn_detector_free(ab->det);
	free(ab->rows);
}

enum { LOW, MID, HIGH };

/* Scores the row of kind k, checks that its score is of that kind, and
 * returns whether the alarm is raised after it. */
static bool
alarm_after(alarm_bench *ab, int k)
{
	const float *x = k == LOW ? ab->low : (k == MID ? ab->mid : ab->high);
	fm_learn_verdict v;

	fm_learn_detector_score(ab->det, x, &v);
	switch (k) {
	case LOW:
		assert_true(v.score < 0.5f * v.threshold);
		break;
	case MID:
		assert_true(v.score >= 0.5f * v.threshold);
		assert_true(v.score < v.threshold);
		break;
	default:
		assert_true(v.score >= v.threshold);
		break;
	}
	return v.alarm;
}

/* The alarm clears after alarm_off rows in a row below the clear level,
 * not before; a row at or above the threshold starts the count again. */
static void
test_detector_alarm_clears_after_alarm_off_low_rows(void **state)
{
	alarm_bench ab;

	(void)state;
	alarm_bench_init(&ab);
	assert_false(alarm_after(&ab, LOW));
	assert_false(alarm_after(&ab, HIGH));
	assert_true(alarm_after(&ab, HIGH)); /* alarm_on = 2 */
	for (int i = 0; i < 3; i++)
		assert_true(alarm_after(&ab, LOW));
	assert_true(alarm_after(&ab, HIGH));
	for (int i = 0; i < 3; i++)
		assert_true(alarm_after(&ab, LOW));
	assert_false(alarm_after(&ab, LOW)); /* the fourth in a row */
	assert_false(alarm_after(&ab, HIGH));
	assert_true(alarm_after(&ab, HIGH)); /* raised again */
	alarm_bench_release(&ab);
}

/* Scores between the clear level and the threshold neither raise the
 * alarm nor count toward clearing it: they hold it, and break a run of
 * low rows. */
static void
test_detector_alarm_holds_between_clear_level_and_threshold(void **state)
{
	alarm_bench ab;

	(void)state;
	alarm_bench_init(&ab);
	for (int i = 0; i < 10; i++)
		assert_false(alarm_after(&ab, MID));
	assert_false(alarm_after(&ab, HIGH));
	assert_true(alarm_after(&ab, HIGH));
	for (int i = 0; i < 12; i++)
		assert_true(alarm_after(&ab, MID));
	for (int i = 0; i < 3; i++)
		assert_true(alarm_after(&ab, LOW));
	assert_true(alarm_after(&ab, MID));
	for (int i = 0; i < 3; i++)
		assert_true(alarm_after(&ab, LOW));
	assert_false(alarm_after(&ab, LOW));
	alarm_bench_release(&ab);
}

static void
test_detector_incident_is_not_learned_as_normal(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D];
	/* a day: shorter than the level-shift guard's half-life (1.5 days),
	 * past which a lasting shift counts as the host's new level */
	size_t alarmed = 0, rows_incident = PER_DAY;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 6);
	rows = host_rows(&h, 0, N_TRAIN);
	/* a short baseline time constant: it would absorb the incident
	 * within hours if the gate let it learn */
	cfg.baseline_rows = 60.0f;
	cfg.onset_factor = 0.0f; /* the smoothed path alone */
	det = trained(&cfg, rows, N_TRAIN);
	for (size_t t = 0; t < rows_incident; t++) {
		host_row(&h, N_TRAIN + t, x);
		x[3] += 1.0f; /* 20 standard deviations */
		fm_learn_detector_score(det, x, &v);
		alarmed += v.alarm;
	}
	/* raised after alarm_on rows and held for the whole incident */
	assert_int_equal(alarmed, rows_incident - (cfg.alarm_on - 1));
	assert_true(v.alarm);
	fm_learn_detector_free(det);
	free(rows);
}

/*
 * The onset path: the first row of a step raises the alarm when its raw
 * score relative to the baseline is onset_factor times the threshold or
 * more, and only then; below that the smoothed path's alarm_on rows
 * decide. q is the step's first-row ratio, measured with the path off;
 * the factor is then set just below and just above it.
 */
static void
onset_first_rows(const fm_learn_detector_config *cfg, const host *after,
    const float *rows, float step, bool *ret_alarm, size_t n, double *ret_q,
    fm_learn_verdict *ret_first)
{
	fm_learn_detector_train_stats st;
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D];
	host h = *after; /* the host goes on from the training rows */

	assert_int_equal(fm_learn_detector_new(cfg, &det), 0);
	assert_int_equal(fm_learn_detector_train(det, rows, N_TRAIN, &st), 0);
	for (size_t t = 0; t < n; t++) {
		host_row(&h, N_TRAIN + t, x);
		x[3] += step;
		fm_learn_detector_score(det, x, &v);
		if (t == 0) {
			*ret_q = v.raw / st.baseline / v.threshold;
			*ret_first = v;
		}
		ret_alarm[t] = v.alarm;
	}
	fm_learn_detector_free(det);
}

static void
test_detector_onset_raises_at_once(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_verdict first;
	bool alarm[4];
	double q, q2;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 12);
	rows = host_rows(&h, 0, N_TRAIN);
	assert_float_equal(cfg.onset_factor, 5.0f, 0);

	/* the smoothed path alone: raised at row alarm_on (3) */
	cfg.onset_factor = 0.0f;
	onset_first_rows(&cfg, &h, rows, 1.0f, alarm, 4, &q, &first);
	assert_false(alarm[0]);
	assert_false(alarm[1]);
	assert_true(alarm[2]);
	assert_true(alarm[3]);
	/* 20 standard deviations: far above the threshold at once */
	assert_true(q > 5.0);

	cfg.onset_factor = (float)(q * 0.99);
	onset_first_rows(&cfg, &h, rows, 1.0f, alarm, 4, &q2, &first);
	assert_true(q2 == q); /* the same model: the path only decides */
	assert_true(alarm[0]);
	assert_true(alarm[1]);
	/* the score is at least the onset term that raised the alarm */
	assert_true(first.score >= first.threshold);
	assert_true(first.score >=
	    (float)(q / cfg.onset_factor * first.threshold * (1.0 - 1e-6)));

	/* a low factor: the onset term is above R, and is the score */
	cfg.onset_factor = 2.0f;
	onset_first_rows(&cfg, &h, rows, 1.0f, alarm, 1, &q2, &first);
	assert_true(alarm[0]);
	assert_float_equal(first.score, q * first.threshold / 2.0,
	    1e-5 * first.score);

	cfg.onset_factor = (float)(q * 1.01);
	onset_first_rows(&cfg, &h, rows, 1.0f, alarm, 4, &q2, &first);
	assert_false(alarm[0]);
	assert_false(alarm[1]);
	assert_true(alarm[2]);

	/* the default factor: a step of 20 standard deviations is an onset,
	 * one of 3 is left to the smoothed path */
	cfg = config();
	onset_first_rows(&cfg, &h, rows, 1.0f, alarm, 1, &q, &first);
	assert_true(alarm[0]);
	onset_first_rows(&cfg, &h, rows, 0.15f, alarm, 1, &q, &first);
	assert_true(q > 1.0 && q < cfg.onset_factor);
	assert_false(alarm[0]);
	free(rows);
}

static void
test_detector_follows_slow_drift(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	fm_learn_verdict v;
	float x[D];
	double last = 0.0;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 7);
	rows = host_rows(&h, 0, N_TRAIN);
	cfg.baseline_rows = 200.0f;
	det = trained(&cfg, rows, N_TRAIN);
	/* the noise of feature 3 grows slowly: the raw score rises, the
	 * relative score follows it down again */
	for (size_t t = 0; t < 4000; t++) {
		host_row(&h, N_TRAIN + t, x);
		x[3] = 0.3f + (x[3] - 0.3f) * (1.0f + (float)t / 2000.0f);
		fm_learn_detector_score(det, x, &v);
		if (t >= 3800)
			last += v.score;
	}
	assert_false(v.alarm);
	assert_true(last / 200.0 < 2.0);
	fm_learn_detector_free(det);
	free(rows);
}

static void
test_detector_save_load_round_trip(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *a, *b;
	fm_learn_verdict va, vb;
	uint8_t *buf, *buf2;
	size_t len, len2;
	float x[D];
	host h;
	float *rows;

	(void)state;
	host_init(&h, 8);
	rows = host_rows(&h, 0, N_TRAIN);
	a = trained(&cfg, rows, N_TRAIN);
	/* mid-alarm, so the alarm state is saved too */
	for (size_t t = 0; t < 20; t++) {
		host_row(&h, N_TRAIN + t, x);
		x[3] += 1.0f;
		fm_learn_detector_score(a, x, &va);
	}
	assert_true(va.alarm);
	assert_int_equal(fm_learn_detector_save(a, &buf, &len), 0);
	assert_int_equal(fm_learn_detector_load(buf, len, &cfg, &b), 0);
	assert_int_equal(fm_learn_detector_save(b, &buf2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	for (size_t t = 20; t < 300; t++) {
		host_row(&h, N_TRAIN + t, x);
		fm_learn_detector_score(a, x, &va);
		fm_learn_detector_score(b, x, &vb);
		assert_same_verdict(&va, &vb);
		assert_memory_equal(fm_learn_detector_contrib(a),
		    fm_learn_detector_contrib(b), D * sizeof(float));
	}
	free(buf);
	free(buf2);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
	free(rows);
}

static void
test_detector_refuses_corrupt_and_foreign_files(void **state)
{
	fm_learn_detector_config cfg = config(), other;
	fm_learn_detector *a, *b = NULL;
	fm_learn_pot_config pc;
	fm_learn_model_writer w;
	fm_learn_model_info info = { .kind = FM_LEARN_KIND_POT };
	fm_learn_pot *pot;
	uint8_t *buf, *pbuf;
	size_t len, plen;
	float scores[64];
	host h;
	float *rows;

	(void)state;
	host_init(&h, 9);
	rows = host_rows(&h, 0, N_TRAIN);
	a = trained(&cfg, rows, N_TRAIN);
	assert_int_equal(fm_learn_detector_save(a, &buf, &len), 0);
	/* a flipped byte anywhere: the checksum (or the header) says so */
	for (size_t i = 0; i < len; i += 97) {
		int r;

		buf[i] ^= 0x20;
		r = fm_learn_detector_load(buf, len, &cfg, &b);
		assert_true(r == -EBADMSG || r == -EPROTO ||
		    r == -EPROTONOSUPPORT);
		assert_null(b);
		buf[i] ^= 0x20;
	}
	/* truncated at every 101st length */
	for (size_t n = 0; n < len; n += 101)
		assert_true(fm_learn_detector_load(buf, n, &cfg, &b) < 0);
	assert_null(b);
	/* another shape or schema */
	other = cfg;
	other.window = 3;
	assert_int_equal(fm_learn_detector_load(buf, len, &other, &b), -ESTALE);
	other = cfg;
	other.latent = 3;
	assert_int_equal(fm_learn_detector_load(buf, len, &other, &b), -ESTALE);
	other = cfg;
	other.schema_version = 7;
	assert_int_equal(fm_learn_detector_load(buf, len, &other, &b), -ESTALE);
	fm_learn_detector_config_default(&other, D + 1, PER_DAY);
	assert_int_equal(fm_learn_detector_load(buf, len, &other, &b), -ESTALE);
	/* another kind of model file */
	fm_learn_pot_config_default(&pc);
	assert_int_equal(fm_learn_pot_new(&pc, &pot), 0);
	for (int i = 0; i < 64; i++)
		scores[i] = (float)(i % 10);
	assert_int_equal(fm_learn_pot_calibrate(pot, scores, 64), 0);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_pot_save(pot, 1, &w), 0);
	assert_int_equal(fm_learn_model_writer_finish(&w, &pbuf, &plen), 0);
	fm_learn_model_writer_release(&w);
	assert_int_equal(
	    fm_learn_detector_load(pbuf, plen, &cfg, &b), -ESTALE);
	/* not a model file at all */
	assert_int_equal(fm_learn_detector_load((const uint8_t *)"hello, world",
			     12, &cfg, &b),
	    -EPROTO);
	assert_null(b);
	free(pbuf);
	fm_learn_pot_free(pot);
	free(buf);
	fm_learn_detector_free(a);
	free(rows);
}

static void
test_detector_params_export_import(void **state)
{
	fm_learn_detector_config cfg = config(), other;
	fm_learn_detector *a, *b, *c;
	float *pa, *pb;
	size_t np, n;
	host h;
	float *rows;

	(void)state;
	host_init(&h, 10);
	rows = host_rows(&h, 0, N_TRAIN);
	a = trained(&cfg, rows, N_TRAIN);
	assert_int_equal(fm_learn_detector_new(&cfg, &b), 0);
	np = fm_learn_detector_params_count(a);
	/* the autoencoder, then each feature's two moments */
	assert_int_equal(np, 2 * 4 * 5 * D + 4 + 5 * D + 2 * D);
	pa = malloc(np * sizeof(float));
	pb = malloc(np * sizeof(float));
	assert_non_null(pa);
	assert_non_null(pb);
	assert_int_equal(fm_learn_detector_params_export(a, pa, np - 1, &n),
	    -ENOBUFS);
	assert_int_equal(fm_learn_detector_params_export(a, pa, np, &n), 0);
	assert_int_equal(fm_learn_detector_layout_id(a),
	    fm_learn_detector_layout_id(b));
	assert_int_equal(fm_learn_detector_params_import(
			     b, fm_learn_detector_layout_id(a) ^ 1, pa, np),
	    -ESTALE);
	assert_int_equal(fm_learn_detector_params_import(
			     b, fm_learn_detector_layout_id(a), pa, np - 1),
	    -EINVAL);
	pa[3] = NAN;
	assert_int_equal(fm_learn_detector_params_import(
			     b, fm_learn_detector_layout_id(a), pa, np),
	    -EDOM);
	assert_int_equal(fm_learn_detector_params_export(a, pa, np, &n), 0);
	assert_int_equal(fm_learn_detector_params_import(
			     b, fm_learn_detector_layout_id(a), pa, np),
	    0);
	assert_int_equal(fm_learn_detector_params_export(b, pb, np, &n), 0);
	/* the autoencoder comes in; the moments b exports stay its own
	 * (none yet: untrained), those imported are its prior */
	assert_memory_equal(pa, pb, (np - 2 * D) * sizeof(float));
	for (size_t i = np - 2 * D; i < np; i++)
		assert_true(pb[i] == 0.0f);
	/* another shape has another layout */
	other = cfg;
	other.latent = 3;
	assert_int_equal(fm_learn_detector_new(&other, &c), 0);
	assert_int_not_equal(fm_learn_detector_layout_id(a),
	    fm_learn_detector_layout_id(c));
	/* training continues from the imported parameters */
	assert_int_equal(fm_learn_detector_train(b, rows, N_TRAIN, NULL), 0);
	assert_true(fm_learn_detector_is_ready(b));
	free(pa);
	free(pb);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
	fm_learn_detector_free(c);
	free(rows);
}

/* In a fleet the detector keeps the host's own autoencoder beside the
 * personalised fleet one: only the fleet's part is ever exported, the own
 * model is saved and loaded with the rest, and a new host that joins
 * before its first training gets one too. */
static void
test_detector_in_a_fleet_keeps_its_own_model(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *a, *b, *fresh, *loaded;
	fm_learn_verdict va, vb;
	uint8_t *solo, *buf, *buf2;
	size_t np, n, solo_len, len, len2;
	float *pa, *pb, x[D], moments[2 * D];
	uint32_t layout;
	host ha, hb;
	float *ra, *rb;

	(void)state;
	host_init(&ha, 21);
	host_init(&hb, 22);
	ra = host_rows(&ha, 0, N_TRAIN);
	rb = host_rows(&hb, 0, N_TRAIN);
	a = trained(&cfg, ra, N_TRAIN);
	b = trained(&cfg, rb, N_TRAIN);
	layout = fm_learn_detector_layout_id(a);
	np = fm_learn_detector_params_count(a);
	pa = malloc(np * sizeof(float));
	pb = malloc(np * sizeof(float));
	assert_non_null(pa);
	assert_non_null(pb);
	assert_int_equal(fm_learn_detector_save(a, &solo, &solo_len), 0);

	/* b's model is "the fleet's": a imports it, then personalises.
	 * What a exports is the fleet's autoencoder (until it trains) and
	 * always its own moments, never the fleet's */
	assert_int_equal(fm_learn_detector_params_export(a, pa, np, &n), 0);
	memcpy(moments, pa + np - 2 * D, sizeof(moments));
	assert_int_equal(fm_learn_detector_params_export(b, pb, np, &n), 0);
	assert_memory_not_equal(moments, pb + np - 2 * D, sizeof(moments));
	assert_int_equal(fm_learn_detector_params_import(a, layout, pb, np), 0);
	assert_int_equal(fm_learn_detector_params_export(a, pa, np, &n), 0);
	assert_memory_equal(pa, pb, (np - 2 * D) * sizeof(float));
	assert_memory_equal(pa + np - 2 * D, moments, sizeof(moments));
	assert_int_equal(fm_learn_detector_train(a, ra, N_TRAIN, NULL), 0);
	assert_int_equal(fm_learn_detector_params_export(a, pa, np, &n), 0);
	assert_memory_not_equal(pa, pb, (np - 2 * D) * sizeof(float));

	/* the own model travels in the file (one more autoencoder and its
	 * d scales), and the loaded detector scores bit for bit alike */
	assert_int_equal(fm_learn_detector_save(a, &buf, &len), 0);
	assert_true(len >= solo_len + (np + D) * sizeof(float));
	assert_int_equal(fm_learn_detector_load(buf, len, &cfg, &loaded), 0);
	assert_int_equal(fm_learn_detector_save(loaded, &buf2, &len2), 0);
	assert_int_equal(len, len2);
	assert_memory_equal(buf, buf2, len);
	for (size_t t = 0; t < 200; t++) {
		host_row(&ha, N_TRAIN + t, x);
		if (t >= 100)
			x[1] += 0.3f; /* 1 no longer follows 0 */
		fm_learn_detector_score(a, x, &va);
		fm_learn_detector_score(loaded, x, &vb);
		assert_same_verdict(&va, &vb);
	}
	assert_true(va.alarm);

	/* a new host joins before it ever trained: its own model starts
	 * from the seed at its first training */
	assert_int_equal(fm_learn_detector_new(&cfg, &fresh), 0);
	assert_int_equal(
	    fm_learn_detector_params_import(fresh, layout, pb, np), 0);
	assert_int_equal(fm_learn_detector_train(fresh, ra, N_TRAIN, NULL), 0);
	free(buf2);
	assert_int_equal(fm_learn_detector_save(fresh, &buf2, &len2), 0);
	assert_int_equal(len2, len);

	free(solo);
	free(buf);
	free(buf2);
	free(pa);
	free(pb);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
	fm_learn_detector_free(fresh);
	fm_learn_detector_free(loaded);
	free(ra);
	free(rb);
}

/* The fleet's moments are a prior on the host's scales: a feature
 * constant on this host so far, which varies across the fleet, is judged
 * by the fleet's spread, weighted by prior_rows against the host's
 * rows, instead of by the floor (which would make any move of it
 * extreme). */
static void
test_detector_fleet_moments_widen_a_quiet_feature(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *a, *c, *solo;
	float x[D], y[D], za[D], zb[D];
	float *pc;
	size_t np, n;
	host ha, hc;
	float *ra, *rc;

	(void)state;
	host_init(&ha, 31);
	host_init(&hc, 32);
	ra = host_rows(&ha, 0, N_TRAIN);
	rc = host_rows(&hc, 0, N_TRAIN);
	for (size_t t = 0; t < N_TRAIN; t++) {
		ra[t * D + 5] = 0.1f; /* constant here */
		rc[t * D + 5] = (float)(0.1 + 0.2 * sin(0.37 * (double)t));
	}
	solo = trained(&cfg, ra, N_TRAIN);
	a = trained(&cfg, ra, N_TRAIN);
	c = trained(&cfg, rc, N_TRAIN);
	np = fm_learn_detector_params_count(c);
	pc = malloc(np * sizeof(float));
	assert_non_null(pc);
	assert_int_equal(fm_learn_detector_params_export(c, pc, np, &n), 0);
	assert_int_equal(fm_learn_detector_params_import(
			     a, fm_learn_detector_layout_id(c), pc, np),
	    0);
	assert_int_equal(fm_learn_detector_train(a, ra, N_TRAIN, NULL), 0);

	/* feature 5 moves by 0.1: the floor (0.01) makes that 10 (clipped);
	 * with the fleet's variance (0.02, weight 1440 rows against 3000)
	 * the scale is about 0.08 */
	memcpy(x, ra, sizeof(x));
	memcpy(y, x, sizeof(y));
	y[5] += 0.1f;
	fm_learn_detector_normalise(solo, x, za);
	fm_learn_detector_normalise(solo, y, zb);
	assert_float_equal(zb[5] - za[5], cfg.clip, 1e-3);
	fm_learn_detector_normalise(a, x, za);
	fm_learn_detector_normalise(a, y, zb);
	assert_in_range((long)(100 * (zb[5] - za[5])), 100, 150);
	/* features that vary alike on both hosts keep about their scale */
	for (uint32_t j = 0; j < 5; j++) {
		float ds, df;

		memcpy(y, x, sizeof(y));
		y[j] += 0.01f;
		fm_learn_detector_normalise(solo, x, za);
		fm_learn_detector_normalise(solo, y, zb);
		ds = zb[j] - za[j];
		fm_learn_detector_normalise(a, x, za);
		fm_learn_detector_normalise(a, y, zb);
		df = zb[j] - za[j];
		assert_true(df > 0.75f * ds && df < 1.25f * ds);
	}

	free(pc);
	fm_learn_detector_free(a);
	fm_learn_detector_free(c);
	fm_learn_detector_free(solo);
	free(ra);
	free(rc);
}

static void
test_detector_continue_carries_the_alarm(void **state)
{
	fm_learn_detector_config cfg = config(), other;
	fm_learn_detector *a, *b, *c;
	fm_learn_verdict v;
	float x[D];
	host h;
	float *rows;

	(void)state;
	host_init(&h, 11);
	rows = host_rows(&h, 0, N_TRAIN);
	a = trained(&cfg, rows, N_TRAIN);
	b = trained(&cfg, rows, N_TRAIN);
	for (size_t t = 0; t < 10; t++) {
		host_row(&h, N_TRAIN + t, x);
		x[3] += 1.0f;
		fm_learn_detector_score(a, x, &v);
	}
	assert_true(v.alarm);
	assert_int_equal(fm_learn_detector_continue(b, a), 0);
	host_row(&h, N_TRAIN + 10, x);
	x[3] += 1.0f;
	fm_learn_detector_score(b, x, &v);
	assert_true(v.alarm);
	other = cfg;
	other.window = 2;
	c = trained(&other, rows, N_TRAIN);
	assert_int_equal(fm_learn_detector_continue(c, a), -ESTALE);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
	fm_learn_detector_free(c);
	free(rows);
}

static void
test_detector_scoring_never_allocates(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det;
	fm_learn_verdict v;
	unsigned before;
	uint32_t top[3];
	float x[D];
	host h;
	float *rows;

	(void)state;
	host_init(&h, 12);
	rows = host_rows(&h, 0, N_TRAIN);
	det = trained(&cfg, rows, N_TRAIN);
	before = fm_test_alloc_count();
	for (size_t t = 0; t < 500; t++) {
		host_row(&h, N_TRAIN + t, x);
		fm_learn_detector_score(det, x, &v);
		(void)fm_learn_detector_top(det, 3, top);
	}
	assert_int_equal(fm_test_alloc_count(), before);
	fm_learn_detector_free(det);
	free(rows);
}

static void
test_detector_out_of_memory(void **state)
{
	fm_learn_detector_config cfg = config();
	fm_learn_detector *det = NULL;
	uint8_t *buf = NULL;
	size_t len;
	host h;
	float *rows;
	int r = -ENOMEM;

	(void)state;
	host_init(&h, 13);
	rows = host_rows(&h, 0, 300);
	cfg.train.steps = 10;
	for (int i = 0; r == -ENOMEM; i++) {
		fm_test_alloc_fail_after(i);
		r = fm_learn_detector_new(&cfg, &det);
		fm_test_alloc_fail_after(-1);
	}
	assert_int_equal(r, 0);
	/* every allocation training makes fails in turn; each failure
	 * leaves the detector untrained, then training succeeds */
	for (int i = 0;; i++) {
		fm_test_alloc_fail_after(i);
		r = fm_learn_detector_train(det, rows, 300, NULL);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_false(fm_learn_detector_is_ready(det));
	}
	for (int i = 0;; i++) {
		fm_test_alloc_fail_after(i);
		r = fm_learn_detector_save(det, &buf, &len);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
	}
	free(buf);
	fm_learn_detector_free(det);
	free(rows);
}

static void
test_detector_rejects_bad_config(void **state)
{
	fm_learn_detector_config cfg = config(), bad;
	fm_learn_detector *det = NULL;

	(void)state;
	bad = cfg;
	bad.n_features = 0;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad = cfg;
	bad.window = FM_LEARN_DETECTOR_MAX_WINDOW + 1;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad = cfg;
	bad.latent = cfg.window * D + 1;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad = cfg;
	bad.baseline_gate = 1.0f;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad = cfg;
	bad.std_floor = NAN;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad = cfg;
	bad.clear_ratio = 1.5f;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad = cfg;
	bad.onset_factor = 0.5f;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad.onset_factor = -1.0f;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad.onset_factor = NAN;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	bad.onset_factor = INFINITY;
	assert_int_equal(fm_learn_detector_new(&bad, &det), -EINVAL);
	assert_null(det);
	assert_null(fm_learn_detector_free(NULL));

	/* a round's training settings: validated, all or nothing */
	{
		fm_learn_ae_train_config tc = cfg.train;

		assert_int_equal(fm_learn_detector_new(&cfg, &det), 0);
		tc.prox_mu = -1.0f;
		assert_int_equal(
		    fm_learn_detector_set_train_config(det, &tc), -EINVAL);
		assert_float_equal(
		    fm_learn_detector_train_config(det)->prox_mu, 0.0f, 0);
		tc.prox_mu = 0.5f;
		tc.steps = 7;
		assert_int_equal(fm_learn_detector_set_train_config(det, &tc), 0);
		assert_int_equal(fm_learn_detector_train_config(det)->steps, 7);
		det = fm_learn_detector_free(det);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detector_untrained_scores_zero),
		cmocka_unit_test(test_detector_needs_enough_rows),
		cmocka_unit_test(
		    test_detector_finds_and_explains_a_broken_relation),
		cmocka_unit_test(test_detector_is_causal),
		cmocka_unit_test(test_detector_same_seed_same_model),
		cmocka_unit_test(
		    test_detector_masked_inputs_never_reach_the_weights),
		cmocka_unit_test(
		    test_detector_masked_seen_feature_adds_nothing),
		cmocka_unit_test(
		    test_detector_incident_is_not_learned_as_normal),
		cmocka_unit_test(
		    test_detector_alarm_clears_after_alarm_off_low_rows),
		cmocka_unit_test(
		    test_detector_alarm_holds_between_clear_level_and_threshold),
		cmocka_unit_test(test_detector_onset_raises_at_once),
		cmocka_unit_test(test_detector_follows_slow_drift),
		cmocka_unit_test(test_detector_save_load_round_trip),
		cmocka_unit_test(
		    test_detector_refuses_corrupt_and_foreign_files),
		cmocka_unit_test(test_detector_params_export_import),
		cmocka_unit_test(test_detector_in_a_fleet_keeps_its_own_model),
		cmocka_unit_test(
		    test_detector_fleet_moments_widen_a_quiet_feature),
		cmocka_unit_test(test_detector_continue_carries_the_alarm),
		cmocka_unit_test(test_detector_scoring_never_allocates),
		cmocka_unit_test(test_detector_out_of_memory),
		cmocka_unit_test(test_detector_rejects_bad_config),
	};

	fm_learn_blas_single_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
