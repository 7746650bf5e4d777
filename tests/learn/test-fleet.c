/*
 * Tests for learn/fleet.c: a host's shared vector (the detector's shared
 * parameters, then each failure predictor's share) under one layout id:
 * its layout and length, its export, the two all-or-nothing imports, and
 * a fleet of two hosts of which only one has seen the failure. Small
 * detectors on synthetic rows, predictors with parameters from a fixed
 * seed; tolerances stated where they are used.
 */
#include <errno.h>
#include <float.h>
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

#define D       4
#define PER_DAY 1440
#define N_ROWS  600
#define N_PRED  3
#define MAX_IN  16 /* inputs of the largest predictor here, and more */
#define N_TEST  50 /* rows predicted in the fleet of two */

/* ---- hosts --------------------------------------------------------------- */

/* A host's rows[n x D]: a daily cycle, a feature that follows it, noise,
 * a near constant. Caller frees. */
static float *
host_rows(uint64_t seed, size_t n)
{
	float *x = malloc(n * D * sizeof(*x));
	fmi_learn_rng g;

	assert_non_null(x);
	fmi_learn_rng_init(&g, seed);
	for (size_t t = 0; t < n; t++) {
		double c = sin(2.0 * M_PI * (double)t / PER_DAY);
		float *r = x + t * D;

		r[0] = (float)(0.5 + 0.3 * c + 0.02 * fmi_learn_rng_normal(&g));
		r[1] = (float)(0.8 * r[0] + 0.02 * fmi_learn_rng_normal(&g));
		r[2] = (float)(0.3 + 0.05 * fmi_learn_rng_normal(&g));
		r[3] = (float)(0.1 + 0.001 * fmi_learn_rng_normal(&g));
	}
	return x;
}

static fm_learn_detector_config
det_config(void)
{
	fm_learn_detector_config cfg;

	fm_learn_detector_config_default(&cfg, D, PER_DAY);
	cfg.latent = 3;
	cfg.train.steps = 100;
	return cfg;
}

/* A detector of cfg, trained on the rows of seed (untrained for 0). */
static fm_learn_detector *
det_new(const fm_learn_detector_config *cfg, uint64_t seed)
{
	fm_learn_detector *det = NULL;
	float *rows;

	assert_int_equal(fm_learn_detector_new(cfg, &det), 0);
	if (seed == 0)
		return det;
	rows = host_rows(seed, N_ROWS);
	assert_int_equal(fm_learn_detector_train(det, rows, N_ROWS, NULL), 0);
	free(rows);
	return det;
}

/* The detector's shared vector, malloc'd; its length in *ret_n. */
static float *
det_params(const fm_learn_detector *det, size_t *ret_n)
{
	size_t np = fm_learn_detector_params_count(det), n = 0;
	float *v = malloc(np * sizeof(*v));

	assert_non_null(v);
	assert_int_equal(fm_learn_detector_params_export(det, v, np, &n), 0);
	assert_int_equal(n, np);
	*ret_n = np;
	return v;
}

/* The predictors' shapes: { n_features, window, n_extra }. */
static const uint32_t shapes[N_PRED][3] = {
	{ 2, 10, 1 }, /* 7 inputs */
	{ 3, 5, 0 },  /* 9 */
	{ 1, 10, 2 }, /* 5 */
};

static fm_learn_predictor_config
pred_config(size_t s)
{
	fm_learn_predictor_config c;

	fm_learn_predictor_config_default(&c);
	c.n_features = shapes[s][0];
	c.window = shapes[s][1];
	c.n_extra = shapes[s][2];
	return c;
}

static fm_learn_predictor *
pred_new(const fm_learn_predictor_config *cfg)
{
	fm_learn_predictor *p = NULL;

	assert_int_equal(fm_learn_predictor_new(cfg, &p), 0);
	return p;
}

/* A predictor of shape s with parameters ~ N(0, 1) from seed, installed
 * as a fleet model would be (trained, prior calibration). */
static fm_learn_predictor *
pred_with(size_t s, uint64_t seed)
{
	fm_learn_predictor_config c = pred_config(s);
	fm_learn_predictor *p = pred_new(&c);
	size_t n = fm_learn_predictor_n_inputs(&c) + 1;
	float theta[MAX_IN];
	fmi_learn_rng g;

	assert_true(n <= MAX_IN);
	fmi_learn_rng_init(&g, seed);
	for (size_t j = 0; j < n; j++)
		theta[j] = (float)fmi_learn_rng_normal(&g);
	assert_int_equal(fm_learn_predictor_params_import(
	                     p, fm_learn_predictor_layout_id(p), theta, n),
	    0);
	return p;
}

/* The flat parameter vector of p (w, then b) into v[MAX_IN]; returns its
 * length. */
static size_t
pred_params(fm_learn_predictor *p, float *v)
{
	fm_learn_param_block b[FM_LEARN_PREDICTOR_PARAM_BLOCKS];
	size_t n = 0;

	assert_int_equal(fm_learn_predictor_params(p, b, FM_ELEMENTSOF(b)),
	    FM_LEARN_PREDICTOR_PARAM_BLOCKS);
	assert_int_equal(
	    fm_learn_params_export(b, FM_ELEMENTSOF(b), v, MAX_IN, &n), 0);
	return n;
}

static bool
pred_is_trained(const fm_learn_predictor *p)
{
	fm_learn_predictor_status s;

	fm_learn_predictor_status_get(p, &s);
	return s.trained;
}

static void
preds_free(fm_learn_predictor **pred, size_t n)
{
	for (size_t s = 0; s < n; s++)
		pred[s] = fm_learn_predictor_free(pred[s]);
}

/* A host's whole vector (weights[n_pred]), malloc'd; length in *ret_n. */
static float *
fleet_vector(const fm_learn_detector *det, fm_learn_predictor *const *pred,
    const double *weights, size_t n_pred, size_t *ret_n)
{
	size_t n = fm_learn_fleet_count(det, pred, n_pred), got = 0;
	float *v = malloc(n * sizeof(*v));

	assert_non_null(v);
	assert_int_equal(
	    fm_learn_fleet_export(det, pred, weights, n_pred, v, n, &got), 0);
	assert_int_equal(got, n);
	*ret_n = n;
	return v;
}

/*
 * got[n] within float rounding of want[n]: a share is scaled by k,
 * averaged and divided by k, a few roundings of 2^-24 each, so
 * |got - want| <= 1e-6 (|want| + 1e-3).
 */
static void
assert_close(const float *got, const float *want, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		if (!(fabsf(got[j] - want[j]) <=
		        1e-6f * (fabsf(want[j]) + 1e-3f)))
			fail_msg("element %zu: %.9g, want %.9g", j,
			    (double)got[j], (double)want[j]);
	}
}

/* ---- layout and length --------------------------------------------------- */

static void
test_fleet_layout_follows_every_shape(void **state)
{
	fm_learn_detector_config cfg = det_config(), other = cfg;
	fm_learn_detector *det = det_new(&cfg, 0), *det2, *det3;
	fm_learn_predictor *pred[N_PRED], *pred2[N_PRED], *q[N_PRED];
	fm_learn_predictor *many[FM_LEARN_FLEET_MAX_PREDICTORS + 1];
	fm_learn_predictor_config pc;
	uint32_t ids[9], id;
	size_t nd = fm_learn_detector_params_count(det);

	(void)state;
	for (size_t s = 0; s < N_PRED; s++) {
		pc = pred_config(s);
		pred[s] = pred_new(&pc);
		/* another host: the same shapes, other training settings,
		 * other weights */
		pc.l2 = 0.5f;
		pc.seed = 77;
		pc.calibration = FM_LEARN_PREDICTOR_CALIB_PRIOR;
		pred2[s] = s == 1 ? pred_with(s, 5) : pred_new(&pc);
	}
	/* no predictor: the detector's own vector */
	assert_int_equal(fm_learn_fleet_layout_id(det, NULL, 0),
	    fm_learn_detector_layout_id(det));
	assert_int_equal(fm_learn_fleet_count(det, NULL, 0), nd);
	assert_int_equal(fm_learn_fleet_layout_id(det, pred, 0),
	    fm_learn_detector_layout_id(det));

	/* the detector, then n_inputs + 2 for each predictor */
	id = fm_learn_fleet_layout_id(det, pred, N_PRED);
	assert_int_not_equal(id, 0);
	assert_int_equal(
	    fm_learn_fleet_count(det, pred, N_PRED), nd + 9 + 11 + 7);
	assert_int_equal(fm_learn_fleet_count(det, pred, 2), nd + 9 + 11);

	/* another host with equal shapes: the same layout */
	other.train.seed = 99;
	other.train.steps = 7;
	det2 = det_new(&other, 3);
	assert_int_equal(fm_learn_fleet_layout_id(det2, pred2, N_PRED), id);
	assert_int_equal(fm_learn_fleet_count(det2, pred2, N_PRED),
	    fm_learn_fleet_count(det, pred, N_PRED));

	/* anything else that moves an element: another layout */
	ids[0] = id;
	ids[1] = fm_learn_detector_layout_id(det);
	ids[2] = fm_learn_fleet_layout_id(det, pred, 2); /* number */
	ids[3] = fm_learn_fleet_layout_id(det, pred, 1);
	q[0] = pred[1];
	q[1] = pred[0];
	q[2] = pred[2];
	ids[4] = fm_learn_fleet_layout_id(det, q, N_PRED); /* order */
	assert_int_equal(fm_learn_fleet_count(det, q, N_PRED),
	    fm_learn_fleet_count(det, pred, N_PRED));
	pc = pred_config(0);
	pc.window = 20; /* same length, another meaning */
	q[0] = pred_new(&pc);
	q[1] = pred[1];
	ids[5] = fm_learn_fleet_layout_id(det, q, N_PRED);
	assert_int_equal(fm_learn_fleet_count(det, q, N_PRED),
	    fm_learn_fleet_count(det, pred, N_PRED));
	q[0] = fm_learn_predictor_free(q[0]);
	pc = pred_config(0);
	pc.n_extra = 2; /* one input more */
	q[0] = pred_new(&pc);
	ids[6] = fm_learn_fleet_layout_id(det, q, N_PRED);
	assert_int_equal(fm_learn_fleet_count(det, q, N_PRED),
	    fm_learn_fleet_count(det, pred, N_PRED) + 1);
	q[0] = fm_learn_predictor_free(q[0]);
	other = cfg;
	other.latent = 2; /* the detector's shape */
	det3 = det_new(&other, 0);
	ids[7] = fm_learn_fleet_layout_id(det3, pred, N_PRED);
	q[0] = pred[0];
	q[1] = pred[1];
	q[2] = pred[1]; /* a predictor listed twice is another layout too */
	ids[8] = fm_learn_fleet_layout_id(det, q, N_PRED);
	for (size_t i = 0; i < FM_ELEMENTSOF(ids); i++) {
		assert_int_not_equal(ids[i], 0);
		for (size_t j = 0; j < i; j++) {
			if (ids[i] == ids[j])
				fail_msg("layouts %zu and %zu are equal", j, i);
		}
	}

	/* more predictors than the cap: no layout */
	for (size_t s = 0; s < FM_ELEMENTSOF(many); s++)
		many[s] = pred[s % N_PRED];
	assert_int_not_equal(
	    fm_learn_fleet_layout_id(det, many, FM_LEARN_FLEET_MAX_PREDICTORS),
	    0);
	assert_int_equal(fm_learn_fleet_layout_id(
	                     det, many, FM_LEARN_FLEET_MAX_PREDICTORS + 1),
	    0);
	preds_free(pred, N_PRED);
	preds_free(pred2, N_PRED);
	fm_learn_detector_free(det);
	fm_learn_detector_free(det2);
	fm_learn_detector_free(det3);
}

/* ---- export -------------------------------------------------------------- */

static void
test_fleet_export_is_detector_then_shares(void **state)
{
	fm_learn_detector_config cfg = det_config();
	fm_learn_detector *det = det_new(&cfg, 1);
	fm_learn_predictor *pred[N_PRED];
	fm_learn_predictor_config pc = pred_config(1);
	double weights[N_PRED] = { 0.5, 2.0, 0.25 };
	float share[MAX_IN + 1], *v, *dp;
	size_t nd, n, at, got;

	(void)state;
	pred[0] = pred_with(0, 11);
	pred[1] = pred_new(&pc); /* untrained: shares zeros */
	pred[2] = pred_with(2, 12);
	dp = det_params(det, &nd);
	n = fm_learn_fleet_count(det, pred, N_PRED);
	v = malloc((n + 1) * sizeof(*v));
	assert_non_null(v);

	/* a short buffer; the out-parameter is written only on success */
	got = 12345;
	assert_int_equal(
	    fm_learn_fleet_export(det, pred, weights, N_PRED, v, n - 1, &got),
	    -ENOBUFS);
	assert_int_equal(got, 12345);
	assert_int_equal(
	    fm_learn_fleet_export(det, pred, weights, N_PRED, v, n + 1, &got),
	    0);
	assert_int_equal(got, n);
	assert_memory_equal(v, dp, nd * sizeof(*v));
	at = nd;
	for (size_t s = 0; s < N_PRED; s++) {
		size_t k = fm_learn_predictor_share_count(pred[s]);

		assert_int_equal(fm_learn_predictor_share_export(
		                     pred[s], weights[s], share, k),
		    0);
		assert_memory_equal(v + at, share, k * sizeof(*v));
		assert_true(
		    v[at + k - 1] == (s == 1 ? 0.0f : (float)weights[s]));
		at += k;
	}
	assert_int_equal(at, n);
	for (size_t i = nd + 9; i < nd + 9 + 11; i++)
		assert_true(v[i] == 0.0f);

	/* a bad weight anywhere */
	got = 12345;
	weights[1] = -1.0;
	assert_int_equal(
	    fm_learn_fleet_export(det, pred, weights, N_PRED, v, n, &got),
	    -EDOM);
	weights[1] = 2.0;
	weights[2] = NAN;
	assert_int_equal(
	    fm_learn_fleet_export(det, pred, weights, N_PRED, v, n, &got),
	    -EDOM);
	weights[2] = INFINITY;
	assert_int_equal(
	    fm_learn_fleet_export(det, pred, weights, N_PRED, v, n, &got),
	    -EDOM);
	assert_int_equal(got, 12345);

	/* too many predictors */
	{
		fm_learn_predictor *many[FM_LEARN_FLEET_MAX_PREDICTORS + 1];
		double w[FM_LEARN_FLEET_MAX_PREDICTORS + 1] = { 0 };

		for (size_t s = 0; s < FM_ELEMENTSOF(many); s++)
			many[s] = pred[0];
		assert_int_equal(fm_learn_fleet_export(det, many, w,
		                     FM_ELEMENTSOF(many), v, n, &got),
		    -EINVAL);
	}

	/* none: the detector's vector alone */
	assert_int_equal(
	    fm_learn_fleet_export(det, NULL, NULL, 0, v, nd, &got), 0);
	assert_int_equal(got, nd);
	assert_memory_equal(v, dp, nd * sizeof(*v));
	free(v);
	free(dp);
	preds_free(pred, N_PRED);
	fm_learn_detector_free(det);
}

/* ---- import -------------------------------------------------------------- */

/* Host A: a trained detector, predictors 0 and 2 with fleet models, 1
 * untrained. */
static fm_learn_detector *
host_a(const fm_learn_detector_config *cfg, fm_learn_predictor **pred)
{
	fm_learn_predictor_config pc = pred_config(1);

	pred[0] = pred_with(0, 21);
	pred[1] = pred_new(&pc);
	pred[2] = pred_with(2, 22);
	return det_new(cfg, 1);
}

static void
test_fleet_import_detector_checks_whole_vector(void **state)
{
	fm_learn_detector_config cfg = det_config();
	fm_learn_predictor *pa[N_PRED], *pb[N_PRED];
	fm_learn_detector *a = host_a(&cfg, pa), *b = det_new(&cfg, 2);
	const double weights[N_PRED] = { 1.0, 1.0, 1.0 };
	float *v, *before, *after, tb[MAX_IN], t[MAX_IN];
	size_t n, nd, bad_at[4], nb;
	uint32_t id;
	int r;

	(void)state;
	for (size_t s = 0; s < N_PRED; s++) {
		fm_learn_predictor_config pc = pred_config(s);

		pb[s] = s == 1 ? pred_with(1, 23) : pred_new(&pc);
	}
	v = fleet_vector(a, pa, weights, N_PRED, &n);
	id = fm_learn_fleet_layout_id(a, pa, N_PRED);
	assert_int_equal(fm_learn_fleet_layout_id(b, pb, N_PRED), id);
	before = det_params(b, &nd);
	nb = pred_params(pb[1], tb);
	/* in the detector's part (first and last), in the first share,
	 * the last share's weight */
	bad_at[0] = 1;
	bad_at[1] = nd - 1;
	bad_at[2] = nd + 3;
	bad_at[3] = n - 1;

	/* another layout: a wrong id, or another list of predictors */
	assert_int_equal(
	    fm_learn_fleet_import_detector(b, pb, N_PRED, id ^ 1, v, n),
	    -ESTALE);
	assert_int_equal(
	    fm_learn_fleet_import_detector(b, pb, 2, id, v, n), -ESTALE);
	assert_int_equal(
	    fm_learn_fleet_import_detector(b, pb, 0, id, v, nd), -ESTALE);
	/* another length */
	assert_int_equal(
	    fm_learn_fleet_import_detector(b, pb, N_PRED, id, v, n - 1),
	    -EINVAL);
	assert_int_equal(
	    fm_learn_fleet_import_detector(b, pb, N_PRED, id, v, nd), -EINVAL);
	/* a non-finite value anywhere, the predictors' part included */
	for (size_t i = 0; i < FM_ELEMENTSOF(bad_at); i++) {
		float keep = v[bad_at[i]];

		v[bad_at[i]] = i % 2 ? INFINITY : NAN;
		r = fm_learn_fleet_import_detector(b, pb, N_PRED, id, v, n);
		if (r != -EDOM)
			fail_msg("bad value at %zu: %d", bad_at[i], r);
		v[bad_at[i]] = keep;
	}
	after = det_params(b, &nd);
	assert_memory_equal(before, after, nd * sizeof(*after));
	free(after);

	/* taken: the autoencoder is the vector's, the moments exported
	 * stay b's own (see test-detector), the predictors untouched */
	assert_int_equal(
	    fm_learn_fleet_import_detector(b, pb, N_PRED, id, v, n), 0);
	after = det_params(b, &nd);
	assert_memory_equal(after, v, (nd - 2 * D) * sizeof(*after));
	assert_memory_equal(
	    after + nd - 2 * D, before + nd - 2 * D, 2 * D * sizeof(*after));
	assert_memory_not_equal(after, before, (nd - 2 * D) * sizeof(*after));
	assert_false(pred_is_trained(pb[0]));
	assert_false(pred_is_trained(pb[2]));
	assert_int_equal(pred_params(pb[1], t), nb);
	assert_memory_equal(t, tb, nb * sizeof(*t));
	/* and b, a detector in a fleet now, still trains */
	{
		float *rows = host_rows(2, N_ROWS);

		assert_int_equal(
		    fm_learn_detector_train(b, rows, N_ROWS, NULL), 0);
		free(rows);
	}
	free(after);
	free(before);
	free(v);
	preds_free(pa, N_PRED);
	preds_free(pb, N_PRED);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
}

static void
test_fleet_import_predictors_all_or_nothing(void **state)
{
	fm_learn_detector_config cfg = det_config();
	fm_learn_predictor *pa[N_PRED], *pb[N_PRED];
	fm_learn_detector *a = host_a(&cfg, pa), *b = det_new(&cfg, 2);
	const double weights[N_PRED] = { 0.5, 1.0, 2.0 };
	float *v, *w, *dbefore, *dafter, t[MAX_IN], ta0[MAX_IN], ta2[MAX_IN];
	float tb1[MAX_IN];
	fm_learn_predictor_status s;
	size_t n, nd, k0, k1, k2;
	uint32_t id;

	(void)state;
	for (size_t s2 = 0; s2 < N_PRED; s2++) {
		fm_learn_predictor_config pc = pred_config(s2);

		pb[s2] = s2 == 1 ? pred_with(1, 31) : pred_new(&pc);
	}
	v = fleet_vector(a, pa, weights, N_PRED, &n);
	id = fm_learn_fleet_layout_id(a, pa, N_PRED);
	dbefore = det_params(b, &nd);
	k0 = fm_learn_predictor_share_count(pb[0]);
	k1 = fm_learn_predictor_share_count(pb[1]);
	k2 = fm_learn_predictor_share_count(pb[2]);
	assert_int_equal(nd + k0 + k1 + k2, n);
	assert_int_equal(pred_params(pa[0], ta0), k0 - 1);
	assert_int_equal(pred_params(pa[2], ta2), k2 - 1);
	assert_int_equal(pred_params(pb[1], tb1), k1 - 1);
	w = malloc(n * sizeof(*w));
	assert_non_null(w);

	/* the whole vector is checked as for the detector */
	assert_int_equal(
	    fm_learn_fleet_import_predictors(b, pb, N_PRED, id ^ 1, v, n),
	    -ESTALE);
	assert_int_equal(
	    fm_learn_fleet_import_predictors(b, pb, N_PRED, id, v, n - 1),
	    -EINVAL);
	memcpy(w, v, n * sizeof(*w));
	w[0] = NAN; /* in the detector's part */
	assert_int_equal(
	    fm_learn_fleet_import_predictors(b, pb, N_PRED, id, w, n), -EDOM);
	/* a bad share in the second or third predictor: the first, whose
	 * share is good, is not taken either */
	memcpy(w, v, n * sizeof(*w));
	w[nd + k0 + k1 - 1] = -1.0f; /* share 1: a negative weight */
	assert_int_equal(
	    fm_learn_fleet_import_predictors(b, pb, N_PRED, id, w, n), -EDOM);
	memcpy(w, v, n * sizeof(*w));
	w[nd + k0 + k1] = 1e30f; /* share 2: 1e30 / 1e-19 overflows */
	w[n - 1] = 1e-19f;
	assert_int_equal(
	    fm_learn_fleet_import_predictors(b, pb, N_PRED, id, w, n), -EDOM);
	assert_false(pred_is_trained(pb[0]));
	assert_false(pred_is_trained(pb[2]));
	assert_int_equal(pred_params(pb[0], t), k0 - 1);
	for (size_t j = 0; j < k0 - 1; j++)
		assert_true(t[j] == 0.0f);
	assert_int_equal(pred_params(pb[1], t), k1 - 1);
	assert_memory_equal(t, tb1, (k1 - 1) * sizeof(*t));

	/* taken by predictors 0 and 2; predictor 1, which no host had
	 * learned (k = 0), keeps its own model */
	assert_int_equal(
	    fm_learn_fleet_import_predictors(b, pb, N_PRED, id, v, n), 2);
	assert_int_equal(pred_params(pb[0], t), k0 - 1);
	assert_close(t, ta0, k0 - 1);
	assert_int_equal(pred_params(pb[2], t), k2 - 1);
	assert_close(t, ta2, k2 - 1);
	fm_learn_predictor_status_get(pb[0], &s);
	assert_true(s.trained);
	assert_int_equal(s.calibration, FM_LEARN_PREDICTOR_CALIB_PRIOR);
	assert_true(s.calib_a == 1.0 && s.calib_c == 0.0);
	assert_int_equal(pred_params(pb[1], t), k1 - 1);
	assert_memory_equal(t, tb1, (k1 - 1) * sizeof(*t));
	/* the detector is not the predictors' import's business */
	dafter = det_params(b, &nd);
	assert_memory_equal(dbefore, dafter, nd * sizeof(*dafter));
	free(dafter);

	/* a vector in which no host had learned any failure: none taken */
	{
		const double zero[N_PRED] = { 0 };
		fm_learn_predictor *pc[N_PRED];
		float *z;

		for (size_t s2 = 0; s2 < N_PRED; s2++) {
			fm_learn_predictor_config c = pred_config(s2);

			pc[s2] = pred_new(&c);
		}
		z = fleet_vector(a, pa, zero, N_PRED, &n);
		assert_int_equal(
		    fm_learn_fleet_import_predictors(b, pc, N_PRED, id, z, n),
		    0);
		for (size_t s2 = 0; s2 < N_PRED; s2++)
			assert_false(pred_is_trained(pc[s2]));
		free(z);
		preds_free(pc, N_PRED);
	}
	free(w);
	free(v);
	free(dbefore);
	preds_free(pa, N_PRED);
	preds_free(pb, N_PRED);
	fm_learn_detector_free(a);
	fm_learn_detector_free(b);
}

/* ---- a fleet of two ------------------------------------------------------ */

/* n rows of shape-0 inputs ~ N(0, 1) from seed; y = 1 iff x0 + x3 > 2.2
 * (about 6%), or never when !failures. */
static float *
rare_problem(uint64_t seed, size_t n, bool failures, uint8_t *y)
{
	fm_learn_predictor_config c = pred_config(0);
	size_t p = fm_learn_predictor_n_inputs(&c);
	float *X = malloc(n * p * sizeof(*X));
	fmi_learn_rng g;

	assert_non_null(X);
	fmi_learn_rng_init(&g, seed);
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < p; j++)
			X[i * p + j] = (float)fmi_learn_rng_normal(&g);
		y[i] = failures && X[i * p] + X[i * p + 3] > 2.2f;
	}
	return X;
}

/*
 * Host A has seen failures, host B never has. FedAvg of their vectors by
 * sample count, with each host's k its failures per sample (as the agent
 * sends): B takes A's predictor and predicts as A does (A calibrated by
 * the prior correction, as B is after the import: within 1e-5), A keeps
 * its own.
 */
static void
test_fleet_rare_labels_reach_a_host_without_them(void **state)
{
	const size_t na = 2000, nb = 3000, n_test = N_TEST;
	fm_learn_detector_config cfg = det_config();
	fm_learn_predictor_config pc = pred_config(0);
	fm_learn_detector *da = det_new(&cfg, 1), *db = det_new(&cfg, 2);
	fm_learn_predictor *pa, *pb;
	fm_learn_predictor_stats st;
	fm_learn_predictor_status s;
	size_t p = fm_learn_predictor_n_inputs(&pc), n, n2, high = 0;
	uint8_t *ya = malloc(na), *yb = malloc(nb), *yt = malloc(n_test);
	float *xa, *xb, *xt, *va, *vb, *g, ta[MAX_IN], t[MAX_IN];
	double ka, kb, qa[N_TEST];
	uint32_t id;

	(void)state;
	assert_true(ya && yb && yt);
	pc.calibration = FM_LEARN_PREDICTOR_CALIB_PRIOR;
	pc.epochs = 20;
	/* a fleet's weights are not shrunk toward the base rate: neither
	 * are A's here, so that B predicts what A does */
	pc.prior_events = 0.0f;
	pa = pred_new(&pc);
	pb = pred_new(&pc);
	xa = rare_problem(41, na, true, ya);
	xb = rare_problem(42, nb, false, yb);
	xt = rare_problem(43, n_test, true, yt);
	for (size_t i = 0; i < n_test; i += 5) {
		/* a failure ahead for sure: A predicts it, B cannot yet */
		xt[i * p] = 2.5f;
		xt[i * p + 3] = 2.5f;
	}
	assert_int_equal(fm_learn_predictor_train(pa, xa, ya, na, &st), 0);
	assert_true(st.n_pos > 50 && st.n_pos < 300);
	ka = (double)st.n_pos / (double)na;
	assert_int_equal(fm_learn_predictor_train(pb, xb, yb, nb, &st), 0);
	assert_int_equal(st.n_pos, 0);
	kb = 0.0;
	assert_false(pred_is_trained(pb));
	for (size_t i = 0; i < n_test; i++) {
		qa[i] = fm_learn_predictor_predict(pa, xt + i * p);
		high += qa[i] > 0.5;
		if (i % 5 == 0)
			assert_true(qa[i] > 0.5);
		assert_true(fm_learn_predictor_predict(pb, xt + i * p) == 0.0);
	}
	assert_true(high >= n_test / 5 && high < n_test / 2);
	assert_int_equal(pred_params(pa, ta), p + 1);

	/* each host's vector, averaged by sample count */
	id = fm_learn_fleet_layout_id(da, &pa, 1);
	assert_int_equal(fm_learn_fleet_layout_id(db, &pb, 1), id);
	va = fleet_vector(da, &pa, &ka, 1, &n);
	vb = fleet_vector(db, &pb, &kb, 1, &n2);
	assert_int_equal(n, n2);
	g = malloc(n * sizeof(*g));
	assert_non_null(g);
	for (size_t i = 0; i < n; i++)
		g[i] = (float)(((double)na * va[i] + (double)nb * vb[i]) /
		    (double)(na + nb));

	/* B takes the fleet's detector and predictor */
	assert_int_equal(
	    fm_learn_fleet_import_detector(db, &pb, 1, id, g, n), 0);
	assert_int_equal(
	    fm_learn_fleet_import_predictors(db, &pb, 1, id, g, n), 1);
	fm_learn_predictor_status_get(pb, &s);
	assert_true(s.trained);
	assert_int_equal(s.calibration, FM_LEARN_PREDICTOR_CALIB_PRIOR);
	assert_true(s.n_pos == 0 && s.n_neg == nb); /* its counts are kept */
	assert_int_equal(pred_params(pb, t), p + 1);
	assert_close(t, ta, p + 1);
	for (size_t i = 0; i < n_test; i++) {
		double q = fm_learn_predictor_predict(pb, xt + i * p);

		if (!(fabs(q - qa[i]) < 1e-5))
			fail_msg("row %zu: B %.9f, A %.9f", i, q, qa[i]);
	}

	/* A, taking the same vector, gets its own predictor back */
	assert_int_equal(
	    fm_learn_fleet_import_predictors(da, &pa, 1, id, g, n), 1);
	assert_int_equal(pred_params(pa, t), p + 1);
	assert_close(t, ta, p + 1);
	for (size_t i = 0; i < n_test; i++)
		assert_true(fabs(fm_learn_predictor_predict(pa, xt + i * p) -
		                qa[i]) < 1e-5);
	free(g);
	free(va);
	free(vb);
	free(xa);
	free(xb);
	free(xt);
	free(ya);
	free(yb);
	free(yt);
	fm_learn_predictor_free(pa);
	fm_learn_predictor_free(pb);
	fm_learn_detector_free(da);
	fm_learn_detector_free(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fleet_layout_follows_every_shape),
		cmocka_unit_test(test_fleet_export_is_detector_then_shares),
		cmocka_unit_test(
		    test_fleet_import_detector_checks_whole_vector),
		cmocka_unit_test(test_fleet_import_predictors_all_or_nothing),
		cmocka_unit_test(
		    test_fleet_rare_labels_reach_a_host_without_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
