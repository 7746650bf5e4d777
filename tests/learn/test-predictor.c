/*
 * Tests for learn/predictor.c: the failure predictor, its input builder,
 * its targets and its share in a fleet model. Synthetic data from a
 * fixed-seed generator; tolerances stated beside each numeric check.
 * Allocations are counted (malloc, calloc and realloc are wrapped) to
 * reach every out-of-memory path and to show that predicting never
 * allocates.
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

#define SKIP FM_LEARN_PREDICTOR_LABEL_SKIP

/* ---- a deterministic generator (splitmix64) ----------------------------- */

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

static double
rng_normal(rng *r) /* N(0, 1), Box-Muller */
{
	double u = rng_uniform(r), v = rng_uniform(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/*
 * A logistic problem: n rows of p inputs ~ N(0, 1), y ~ Bernoulli(
 * sigmoid(beta . x + beta0)) with beta_j = scale / (j + 1). Returns X
 * (caller frees) and fills y.
 */
typedef struct problem {
	size_t n, p;
	float *X;
	uint8_t *y;
	size_t n_pos;
} problem;

static problem
logistic_problem(uint64_t seed, size_t n, size_t p, double scale, double beta0)
{
	problem pr = { .n = n, .p = p };
	rng r = { seed };

	pr.X = malloc(n * p * sizeof(*pr.X));
	pr.y = malloc(n);
	assert_non_null(pr.X);
	assert_non_null(pr.y);
	for (size_t i = 0; i < n; i++) {
		double z = beta0;

		for (size_t j = 0; j < p; j++) {
			pr.X[i * p + j] = (float)rng_normal(&r);
			z += scale / (double)(j + 1) * pr.X[i * p + j];
		}
		pr.y[i] = rng_uniform(&r) < 1.0 / (1.0 + exp(-z));
		pr.n_pos += pr.y[i];
	}
	return pr;
}

static void
problem_free(problem *pr)
{
	free(pr->X);
	free(pr->y);
}

/* A config whose n_inputs is p: n_features = p / 3, the rest extra. */
static fm_learn_predictor_config
config_for(size_t p)
{
	fm_learn_predictor_config c;

	fm_learn_predictor_config_default(&c);
	c.n_features = (uint32_t)(p / 3);
	c.n_extra = (uint32_t)(p % 3);
	assert_int_equal(fm_learn_predictor_n_inputs(&c), p);
	return c;
}

static fm_learn_predictor *
predictor_new(const fm_learn_predictor_config *cfg)
{
	fm_learn_predictor *p = NULL;

	assert_int_equal(fm_learn_predictor_new(cfg, &p), 0);
	return p;
}

/* The flat parameter vector of p, copied into v[cap]; returns its length. */
static size_t
params_of(fm_learn_predictor *p, float *v, size_t cap)
{
	fm_learn_param_block b[FM_LEARN_PREDICTOR_PARAM_BLOCKS];
	size_t n = 0;

	assert_int_equal(fm_learn_predictor_params(p, b, FM_ELEMENTSOF(b)),
	    FM_LEARN_PREDICTOR_PARAM_BLOCKS);
	assert_int_equal(
	    fm_learn_params_export(b, FM_ELEMENTSOF(b), v, cap, &n), 0);
	return n;
}

/* Area under the ROC curve of the predictions of p on pr (O(n^2); the
 * problems here are small). Ties count one half. */
static double
auc(const fm_learn_predictor *p, const problem *pr)
{
	double *s = malloc(pr->n * sizeof(*s)), num = 0.0, den = 0.0;

	assert_non_null(s);
	for (size_t i = 0; i < pr->n; i++)
		s[i] = fm_learn_predictor_predict(p, pr->X + i * pr->p);
	for (size_t i = 0; i < pr->n; i++) {
		if (pr->y[i] != 1)
			continue;
		for (size_t j = 0; j < pr->n; j++) {
			if (pr->y[j] != 0)
				continue;
			num += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
			den += 1.0;
		}
	}
	free(s);
	return num / den;
}

static double
mean_prediction(const fm_learn_predictor *p, const problem *pr)
{
	double sum = 0.0;

	for (size_t i = 0; i < pr->n; i++)
		sum += fm_learn_predictor_predict(p, pr->X + i * pr->p);
	return sum / (double)pr->n;
}

/* ---- configuration and lifecycle ---------------------------------------- */

static void
test_predictor_config_validated(void **state)
{
	fm_learn_predictor_config c, bad;
	fm_learn_predictor *p = NULL;

	fm_learn_predictor_config_default(&c);
	assert_false(fm_learn_predictor_config_is_valid(&c)); /* d unset */
	c.n_features = 4;
	assert_true(fm_learn_predictor_config_is_valid(&c));
	assert_int_equal(fm_learn_predictor_n_inputs(&c), 13);
	assert_true(c.batch == 64 && c.max_pos_weight == 100.0f &&
	    c.calibration == FM_LEARN_PREDICTOR_CALIB_PLATT);
	bad = c;
	bad.n_features = FM_LEARN_PREDICTOR_MAX_FEATURES + 1;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.window = 0;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.n_extra = FM_LEARN_PREDICTOR_MAX_EXTRA + 1;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.l2 = NAN;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.l2 = -1e-3f;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.lr = 0.0f;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.lr = INFINITY;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.epochs = 0;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.batch = 0;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.batch = FM_LEARN_PREDICTOR_MAX_BATCH + 1;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.max_pos_weight = 0.5f;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	bad = c;
	bad.calibration = (enum fm_learn_predictor_calibration)7;
	assert_int_equal(fm_learn_predictor_new(&bad, &p), -EINVAL);
	assert_null(p);
	assert_null(fm_learn_predictor_free(NULL));
	p = predictor_new(&c);
	p = fm_learn_predictor_free(p);
	assert_null(p);
}

static void
test_predictor_invalid_arguments(void **state)
{
	fm_learn_predictor_config c = config_for(6);
	fm_learn_predictor *p = predictor_new(&c);
	float X[2 * 6] = { 0 }, g[7];
	uint8_t y[2] = { 0, 1 };
	double loss;

	assert_int_equal(
	    fm_learn_predictor_train(p, NULL, y, 2, NULL), -EINVAL);
	assert_int_equal(
	    fm_learn_predictor_train(p, X, NULL, 2, NULL), -EINVAL);
	y[0] = 2; /* neither 0, 1 nor SKIP */
	assert_int_equal(fm_learn_predictor_train(p, X, y, 2, NULL), -EINVAL);
	assert_int_equal(
	    fm_learn_predictor_loss_grad(p, X, y, 2, &loss, g), -EINVAL);
	/* refused before a row is read */
	assert_int_equal(fm_learn_predictor_train(
	                     p, X, y, FM_LEARN_PREDICTOR_MAX_ROWS + 1u, NULL),
	    -EMSGSIZE);
	/* no rows: nothing to learn, not an error */
	assert_int_equal(fm_learn_predictor_train(p, NULL, NULL, 0, NULL), 0);
	fm_learn_predictor_free(p);
}

/* ---- the objective ------------------------------------------------------ */

/*
 * Central differences of the weighted, penalised loss against the
 * analytic gradient, coordinate by coordinate (w and b). With h = 1e-2 on
 * float parameters the truncation error (h^2 f'''/6) is below 1e-5 and
 * the rounding of float logits (~1e-7 |z| / 2h) near 1e-5 for these
 * sizes, so the bar is |fd - g| <= 1e-4 + 1e-3 |g|. The data are
 * imbalanced so the positive weight (19 here) is exercised, and the
 * weights are nonzero so the penalty is.
 */
static void
test_predictor_gradient_matches_finite_differences(void **state)
{
	const size_t p = 11, n = 400;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(3, n, p, 1.5, -3.0);
	fm_learn_param_block b[FM_LEARN_PREDICTOR_PARAM_BLOCKS];
	float theta[12], g[12], g2[12];
	double loss, lp, lm, l2;
	fm_learn_predictor *m;
	rng r = { 17 };

	c.l2 = 0.05f;
	m = predictor_new(&c);
	/* random parameters, installed through the flat vector */
	for (size_t j = 0; j <= p; j++)
		theta[j] = (float)(0.5 * rng_normal(&r));
	assert_int_equal(fm_learn_predictor_params_import(
	                     m, fm_learn_predictor_layout_id(m), theta, p + 1),
	    0);
	pr.y[5] = SKIP; /* left out of the objective */
	assert_true(pr.n_pos > 5 && pr.n_pos < n / 5);
	assert_int_equal(
	    fm_learn_predictor_loss_grad(m, pr.X, pr.y, n, &loss, g), 0);
	assert_true(isfinite(loss) && loss > 0.0);
	assert_int_equal(fm_learn_predictor_params(m, b, FM_ELEMENTSOF(b)), 2);
	for (size_t j = 0; j <= p; j++) {
		float *v = j < p ? &b[0].v[j] : b[1].v;
		const float h = 1e-2f, keep = *v;
		double fd;

		*v = keep + h;
		assert_int_equal(
		    fm_learn_predictor_loss_grad(m, pr.X, pr.y, n, &lp, g2), 0);
		*v = keep - h;
		assert_int_equal(
		    fm_learn_predictor_loss_grad(m, pr.X, pr.y, n, &lm, g2), 0);
		*v = keep;
		fd = (lp - lm) / (double)((keep + h) - (keep - h));
		if (fabs(fd - g[j]) > 1e-4 + 1e-3 * fabs(g[j]))
			fail_msg("coordinate %zu: finite difference %g, "
			         "gradient %g",
			    j, fd, (double)g[j]);
	}
	/* the penalty is on w only: zero data rows leave (l2/2)|w|^2 */
	assert_int_equal(
	    fm_learn_predictor_loss_grad(m, NULL, NULL, 0, &loss, g), 0);
	l2 = 0.0;
	for (size_t j = 0; j < p; j++) {
		l2 += 0.5 * 0.05 * theta[j] * theta[j];
		assert_true(fabsf(g[j] - 0.05f * theta[j]) < 1e-6f);
	}
	assert_true(g[p] == 0.0f);
	assert_true(fabs(loss - l2) < 1e-6 * l2);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/* ---- training ----------------------------------------------------------- */

static void
test_predictor_training_is_deterministic(void **state)
{
	const size_t p = 9;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(5, 3000, p, 2.0, -2.0);
	float a[10], b[10], d[10];
	fm_learn_predictor *m;

	for (int k = 0; k < 3; k++) {
		c.seed = k < 2 ? 42 : 43;
		m = predictor_new(&c);
		assert_int_equal(
		    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
		assert_int_equal(params_of(m,
		                     k == 0       ? a
		                         : k == 1 ? b
		                                  : d,
		                     10),
		    p + 1);
		fm_learn_predictor_free(m);
	}
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, d, sizeof(a));
	problem_free(&pr);
}

/*
 * A separable problem: y = 1 iff x_0 + x_1 > 2.5 (about 4% positive), two
 * more inputs of noise. Held out: 2,000 fresh rows; AUC > 0.99 and, at
 * the 0.5 cut, accuracy > 98% (always saying 0 scores 96%, so the
 * positives' recall must be high too: > 80%).
 */
static void
test_predictor_learns_separable_problem(void **state)
{
	const size_t p = 4;
	fm_learn_predictor_config c = config_for(p);
	problem tr = logistic_problem(7, 4000, p, 0.0, 0.0);
	problem te = logistic_problem(8, 2000, p, 0.0, 0.0);
	problem *sets[] = { &tr, &te };
	fm_learn_predictor_stats st;
	fm_learn_predictor_status status;
	size_t right = 0, tp = 0;
	fm_learn_predictor *m;
	double a;

	for (size_t s = 0; s < 2; s++) {
		sets[s]->n_pos = 0;
		for (size_t i = 0; i < sets[s]->n; i++) {
			const float *x = sets[s]->X + i * p;

			sets[s]->y[i] = x[0] + x[1] > 2.5f;
			sets[s]->n_pos += sets[s]->y[i];
		}
	}
	c.epochs = 30;
	m = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_train(m, tr.X, tr.y, tr.n, &st), 0);
	assert_int_equal(st.n_pos, tr.n_pos);
	assert_int_equal(st.n_neg, tr.n - tr.n_pos);
	assert_int_equal(st.epochs, 30);
	assert_true(st.pos_weight > 10.0 && st.pos_weight < 40.0);
	fm_learn_predictor_status_get(m, &status);
	assert_true(status.trained);
	assert_int_equal(status.n_pos, tr.n_pos);
	a = auc(m, &te);
	if (a < 0.99)
		fail_msg("AUC %.4f", a);
	for (size_t i = 0; i < te.n; i++) {
		bool say = fm_learn_predictor_predict(m, te.X + i * p) > 0.5;

		right += say == (te.y[i] == 1);
		tp += say && te.y[i] == 1;
	}
	if (right < te.n * 98 / 100 || tp * 10 < te.n_pos * 8)
		fail_msg("accuracy %zu/%zu, recall %zu/%zu", right, te.n, tp,
		    te.n_pos);
	problem_free(&tr);
	problem_free(&te);
	fm_learn_predictor_free(m);
}

/*
 * Calibration on an imbalanced problem: a true logistic model with about
 * 2% positives, 20,000 training rows (pos_weight about 59), 50,000 fresh
 * rows. The mean predicted probability must match the base rate:
 *  - on the training rows within 0.0003 with Platt scaling (its offset
 *    equation makes them equal up to the smoothed targets, 2/n) and
 *    within 0.002 with the prior correction alone;
 *  - on the fresh rows within 0.003 (15%; the training base rate alone
 *    differs from theirs by sampling, sd 0.0009);
 * while the weighted model without correction, sigmoid(z + log pw),
 * overstates it more than fourfold. Measured (seeds 11, 12): training
 * base rate 0.0167, Platt 0.0167, prior 0.0170; fresh base rate 0.0187,
 * Platt 0.0168, prior 0.0171, uncorrected 0.30. (Over seeds 11…16 Platt
 * stays within 0.0008 of the training rate on fresh rows, the prior
 * correction alone runs 2-16% high, so Platt is the default.)
 */
static void
test_predictor_calibrated_on_imbalanced_data(void **state)
{
	const size_t p = 7;
	problem tr = logistic_problem(11, 20000, p, 1.2, -5.0);
	problem te = logistic_problem(12, 50000, p, 1.2, -5.0);
	double base_tr = (double)tr.n_pos / (double)tr.n;
	double base = (double)te.n_pos / (double)te.n, mean[2], fit[2];
	double raw = 0.0;
	fm_learn_predictor_stats st;

	assert_true(base > 0.015 && base < 0.03);
	for (int k = 0; k < 2; k++) {
		fm_learn_predictor_config c = config_for(p);
		fm_learn_predictor_status s;
		fm_learn_predictor *m;

		c.calibration = k == 0 ? FM_LEARN_PREDICTOR_CALIB_PLATT
		                       : FM_LEARN_PREDICTOR_CALIB_PRIOR;
		m = predictor_new(&c);
		assert_int_equal(
		    fm_learn_predictor_train(m, tr.X, tr.y, tr.n, &st), 0);
		fm_learn_predictor_status_get(m, &s);
		assert_int_equal(s.calibration, c.calibration);
		fit[k] = mean_prediction(m, &tr);
		mean[k] = mean_prediction(m, &te);
		if (k == 1) {
			/* undo the correction: what weighting alone gives */
			for (size_t i = 0; i < te.n; i++) {
				double q =
				    fm_learn_predictor_predict(m, te.X + i * p);
				double z =
				    log(q / (1.0 - q)) + log(st.pos_weight);

				raw += 1.0 / (1.0 + exp(-z));
			}
			raw /= (double)te.n;
		}
		fm_learn_predictor_free(m);
	}
	if (fabs(fit[0] - base_tr) > 0.0003 || fabs(fit[1] - base_tr) > 0.002 ||
	    fabs(mean[0] - base) > 0.003 || fabs(mean[1] - base) > 0.003 ||
	    raw < 4.0 * base)
		fail_msg("base rates %.4f/%.4f: Platt %.4f/%.4f, prior "
		         "%.4f/%.4f, uncorrected %.4f",
		    base_tr, base, fit[0], mean[0], fit[1], mean[1], raw);
	problem_free(&tr);
	problem_free(&te);
}

/* Warm start: a second call continues from the weights of the first. */
/*
 * Minute rows with n_events failures, each announced by its horizon of
 * 30 rows in which input 0 is 3 (elsewhere noise, sd 0.3); the failure
 * itself lasts 5 rows. Targets by fm_learn_predictor_labels(). Returns
 * the rows; *ret_y the targets.
 */
static float *
events_problem(
    uint64_t seed, size_t n_events, size_t p, size_t *ret_n, uint8_t **ret_y)
{
	const size_t gap = 200, horizon = 30, len = 5;
	size_t n = n_events * gap + gap;
	float *X = malloc(n * p * sizeof(*X));
	uint8_t *ev = calloc(n, 1), *y = malloc(n);
	rng r = { seed };

	assert_true(X && ev && y);
	for (size_t i = 0; i < n * p; i++)
		X[i] = (float)(0.3 * rng_normal(&r));
	for (size_t e = 0; e < n_events; e++) {
		size_t onset = gap + e * gap;

		for (size_t t = onset - horizon; t < onset; t++)
			X[t * p] = 3.0f;
		memset(ev + onset, 1, len);
	}
	assert_int_equal(
	    fm_learn_predictor_labels(ev, n, (uint32_t)horizon, y), 0);
	free(ev);
	*ret_n = n;
	*ret_y = y;
	return X;
}

/*
 * Few failures: the fit separates the rows before two onsets perfectly,
 * and Platt's scaling on those rows would say 0.99 ahead of the next one
 * (as p(oom) did on a live host after 2 OOM kills). Shrunk by E = 2 of
 * E0 = 4 pseudo-events toward the base rate, the probability stays
 * at most 1/3 + 2/3 pi, and the status says on what it rests. Without a
 * prior (prior_events 0) the fit's own 0.99 comes back, so the bound is
 * the shrinkage's. With 40 failures the same data discriminates: above
 * 0.85 ahead of a failure, below 0.05 elsewhere.
 */
static void
test_predictor_few_events_stay_near_base_rate(void **state)
{
	const size_t p = 4;
	fm_learn_predictor_config c = config_for(p);
	fm_learn_predictor_status s;
	fm_learn_predictor_stats st;
	fm_learn_predictor *m;
	float ahead[4] = { 3.0f, 0.0f, 0.0f, 0.0f };
	float quiet[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
	uint8_t *y;
	size_t n;
	float *X;
	double q, bound;

	(void)state;
	X = events_problem(51, 2, p, &n, &y);
	m = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_train(m, X, y, n, &st), 0);
	assert_int_equal(st.n_events, 2);
	fm_learn_predictor_status_get(m, &s);
	assert_true(s.trained && s.shrunk);
	assert_int_equal(s.events, 2);
	assert_true(fabs(s.trust - 2.0 / 6.0) < 1e-12);
	assert_true(s.base_rate > 0.05 && s.base_rate < 0.15);
	q = fm_learn_predictor_predict(m, ahead);
	bound = 1.0 / 3.0 + 2.0 / 3.0 * s.base_rate;
	if (!(q <= bound + 1e-9 && q < 0.5))
		fail_msg("2 events: p %.4f ahead, bound %.4f", q, bound);
	/* a quiet row stays near the base rate, not at 0 */
	q = fm_learn_predictor_predict(m, quiet);
	assert_true(q >= 2.0 / 3.0 * s.base_rate - 1e-9 && q < s.base_rate);
	fm_learn_predictor_free(m);

	/* the fit itself, unshrunk: what the agent used to report */
	c.prior_events = 0.0f;
	m = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_train(m, X, y, n, &st), 0);
	assert_true(fm_learn_predictor_predict(m, ahead) > 0.9);
	fm_learn_predictor_free(m);
	free(X);
	free(y);

	/* many failures: it discriminates */
	c.prior_events = FM_LEARN_PREDICTOR_PRIOR_EVENTS;
	X = events_problem(52, 40, p, &n, &y);
	m = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_train(m, X, y, n, &st), 0);
	assert_int_equal(st.n_events, 40);
	q = fm_learn_predictor_predict(m, ahead);
	if (!(q > 0.85))
		fail_msg("40 events: p %.4f ahead", q);
	q = fm_learn_predictor_predict(m, quiet);
	if (!(q < 0.05))
		fail_msg("40 events: p %.4f when quiet", q);
	fm_learn_predictor_free(m);
	free(X);
	free(y);
}

static void
test_predictor_training_continues_from_current_weights(void **state)
{
	const size_t p = 5;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(13, 2000, p, 2.0, -2.0);
	fm_learn_predictor_stats s1, s2;
	fm_learn_predictor *m;
	float v[6];

	c.epochs = 1;
	c.lr = 0.002f;
	m = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_train(m, pr.X, pr.y, pr.n, &s1), 0);
	assert_int_equal(fm_learn_predictor_train(m, pr.X, pr.y, pr.n, &s2), 0);
	assert_true(s2.loss < s1.loss);
	/* reset forgets */
	fm_learn_predictor_reset(m);
	assert_int_equal(params_of(m, v, 6), 6);
	for (size_t j = 0; j < 6; j++)
		assert_true(v[j] == 0.0f);
	assert_true(fm_learn_predictor_predict(m, pr.X) == 0.0);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/*
 * Non-finite and huge inputs, in training and in prediction: the weights
 * stay finite, and a masked input predicts as 0 (its normalised mean).
 */
static void
test_predictor_nonfinite_inputs_never_reach_weights(void **state)
{
	const size_t p = 6;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(17, 2000, p, 2.0, -2.0);
	const float bad[] = { NAN, INFINITY, -INFINITY, 3e38f, -1e30f };
	float v[7], x[6], x0[6];
	fm_learn_predictor *m;
	double q;

	for (size_t i = 0; i < pr.n; i += 3)
		pr.X[i * p + i % p] = bad[i % FM_ELEMENTSOF(bad)];
	for (size_t j = 0; j < p; j++)
		pr.X[7 * p + j] = NAN; /* a fully masked row, positive */
	pr.y[7] = 1;
	c.lr = 0.5f; /* large steps: anything non-finite would spread */
	m = predictor_new(&c);
	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	assert_int_equal(params_of(m, v, 7), 7);
	for (size_t j = 0; j < 7; j++)
		assert_true(isfinite(v[j]));
	for (size_t k = 0; k < FM_ELEMENTSOF(bad); k++) {
		memcpy(x, pr.X, sizeof(x));
		memcpy(x0, pr.X, sizeof(x0));
		x[2] = bad[k];
		x0[2] = isfinite(bad[k])
		    ? (bad[k] > 0 ? FM_LEARN_PREDICTOR_INPUT_MAX
		                  : -FM_LEARN_PREDICTOR_INPUT_MAX)
		    : 0.0f;
		q = fm_learn_predictor_predict(m, x);
		assert_true(q >= 0.0 && q <= 1.0);
		/* within float rounding of the dot product */
		assert_true(fabs(q - fm_learn_predictor_predict(m, x0)) < 1e-5);
	}
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

static void
test_predictor_zero_positives_stays_untrained(void **state)
{
	const size_t p = 6;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(19, 500, p, 1.0, 0.0);
	fm_learn_predictor_stats st;
	fm_learn_predictor_status s;
	fm_learn_predictor *m;
	float v[7];

	memset(pr.y, 0, pr.n);
	pr.y[0] = SKIP;
	m = predictor_new(&c);
	fm_learn_predictor_status_get(m, &s);
	assert_false(s.trained);
	assert_int_equal(fm_learn_predictor_train(m, pr.X, pr.y, pr.n, &st), 0);
	assert_int_equal(st.n_pos, 0);
	assert_int_equal(st.n_neg, 499);
	assert_int_equal(st.n_skipped, 1);
	assert_int_equal(st.epochs, 0);
	fm_learn_predictor_status_get(m, &s);
	assert_false(s.trained);
	assert_int_equal(s.n_neg, 499);
	assert_true(s.base_rate == 0.0);
	for (size_t i = 0; i < pr.n; i++)
		assert_true(fm_learn_predictor_predict(m, pr.X + i * p) == 0.0);
	assert_int_equal(params_of(m, v, 7), 7);
	for (size_t j = 0; j < 7; j++)
		assert_true(v[j] == 0.0f);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/* A trained or imported model keeps its weights through a call that
 * holds no positive (a fleet model on a host that never failed). */
static void
test_predictor_zero_positives_keep_fleet_model(void **state)
{
	const size_t p = 6;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(23, 500, p, 1.0, 0.0);
	float fleet[7] = { 1, -1, 0.5f, 0, 0, 0.25f, -3 }, v[7];
	fm_learn_predictor_status s;
	fm_learn_predictor *m;
	double q;

	m = predictor_new(&c);
	/* the layout guards the import */
	assert_int_equal(fm_learn_predictor_params_import(
	                     m, fm_learn_predictor_layout_id(m) ^ 1, fleet, 7),
	    -ESTALE);
	assert_int_equal(fm_learn_predictor_params_import(
	                     m, fm_learn_predictor_layout_id(m), fleet, 6),
	    -EINVAL);
	v[0] = NAN;
	assert_int_equal(fm_learn_predictor_params_import(
	                     m, fm_learn_predictor_layout_id(m), v, 7),
	    -EDOM);
	fm_learn_predictor_status_get(m, &s);
	assert_false(s.trained);
	assert_int_equal(fm_learn_predictor_params_import(
	                     m, fm_learn_predictor_layout_id(m), fleet, 7),
	    0);
	fm_learn_predictor_status_get(m, &s);
	assert_true(s.trained);
	assert_int_equal(s.calibration, FM_LEARN_PREDICTOR_CALIB_PRIOR);
	q = fm_learn_predictor_predict(m, pr.X);
	memset(pr.y, 0, pr.n);
	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	assert_int_equal(params_of(m, v, 7), 7);
	assert_memory_equal(v, fleet, sizeof(v));
	assert_true(fm_learn_predictor_predict(m, pr.X) == q);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/* The layout id follows the input's shape and meaning, not its length. */
static void
test_predictor_layout_id_follows_shape(void **state)
{
	fm_learn_predictor_config a, b;
	fm_learn_predictor *pa, *pb;
	uint32_t dims[] = { 4, 10, 1 };

	fm_learn_predictor_config_default(&a);
	a.n_features = 4;
	pa = predictor_new(&a);
	assert_int_equal(fm_learn_predictor_layout_id(pa),
	    fm_learn_layout_id_compute(FM_LEARN_KIND_PREDICTOR, 0, dims, 3));
	b = a;
	b.l2 = 0.5f; /* training settings do not matter */
	b.seed = 9;
	pb = predictor_new(&b);
	assert_int_equal(
	    fm_learn_predictor_layout_id(pa), fm_learn_predictor_layout_id(pb));
	fm_learn_predictor_free(pb);
	b = a;
	b.window = 20; /* same length, another meaning */
	pb = predictor_new(&b);
	assert_int_not_equal(
	    fm_learn_predictor_layout_id(pa), fm_learn_predictor_layout_id(pb));
	fm_learn_predictor_free(pb);
	b = a;
	b.n_features = 3;
	b.n_extra = 4; /* 13 inputs too */
	pb = predictor_new(&b);
	assert_int_not_equal(
	    fm_learn_predictor_layout_id(pa), fm_learn_predictor_layout_id(pb));
	fm_learn_predictor_free(pb);
	b = a;
	b.schema_version = 2;
	pb = predictor_new(&b);
	assert_int_not_equal(
	    fm_learn_predictor_layout_id(pa), fm_learn_predictor_layout_id(pb));
	fm_learn_predictor_free(pb);
	fm_learn_predictor_free(pa);
}

static void
test_predictor_predict_never_allocates(void **state)
{
	const size_t p = 6;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(29, 1000, p, 2.0, -2.0);
	fm_learn_predictor *m = predictor_new(&c);
	unsigned before;
	double sum = 0.0;

	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	pr.X[3] = NAN;
	before = fm_test_alloc_count();
	for (size_t i = 0; i < pr.n; i++)
		sum += fm_learn_predictor_predict(m, pr.X + i * p);
	assert_int_equal(fm_test_alloc_count(), before);
	assert_true(sum > 0.0);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/* ---- the share in a fleet model ----------------------------------------- */

/* A predictor of cfg trained by importing theta[n_inputs + 1] (w, then b):
 * calibrated by the prior correction. */
static fm_learn_predictor *
predictor_with(const fm_learn_predictor_config *cfg, const float *theta)
{
	fm_learn_predictor *m = predictor_new(cfg);

	assert_int_equal(
	    fm_learn_predictor_params_import(m, fm_learn_predictor_layout_id(m),
	        theta, fm_learn_predictor_n_inputs(cfg) + 1),
	    0);
	return m;
}

/* got[n] within float rounding of want[n]: a share is scaled by k, summed
 * and divided by k, three roundings of 2^-24 each (3 ulps) plus the
 * rounding of a sum, so |got - want| <= 1e-6 (|want| + 1e-3). */
static void
assert_close(const float *got, const double *want, size_t n)
{
	for (size_t j = 0; j < n; j++) {
		if (!(fabs(got[j] - want[j]) <= 1e-6 * (fabs(want[j]) + 1e-3)))
			fail_msg("element %zu: %.9g, want %.9g", j,
			    (double)got[j], want[j]);
	}
}

/* An untrained predictor shares nothing; a trained one's share, imported,
 * is its weights again, calibrated by the prior correction. */
static void
test_predictor_share_round_trip(void **state)
{
	const size_t p = 7;
	const double ks[] = { 0.0, 1.0, 0.125, 3.7, 1e6, 1e-10 };
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(53, 2000, p, 1.5, -2.5);
	fm_learn_predictor_status s, sa;
	fm_learn_predictor *a = predictor_new(&c), *b = predictor_new(&c);
	float share[9], zero[9] = { 0 }, va[8], vb[8];
	double want[8];

	assert_int_equal(fm_learn_predictor_share_count(a), p + 2);
	/* untrained: all zeros, the weight included, whatever the weight */
	for (size_t i = 0; i < FM_ELEMENTSOF(ks); i++) {
		memset(share, 0x7f, sizeof(share));
		assert_int_equal(
		    fm_learn_predictor_share_export(a, ks[i], share, p + 2), 0);
		for (size_t j = 0; j < p + 2; j++)
			assert_true(share[j] == 0.0f);
	}
	/* nothing to take: untrained it stays */
	assert_int_equal(
	    fm_learn_predictor_share_import(b, zero, p + 2), -ENODATA);
	fm_learn_predictor_status_get(b, &s);
	assert_false(s.trained);
	assert_true(fm_learn_predictor_predict(b, pr.X) == 0.0);
	assert_int_equal(params_of(b, vb, 8), 8);
	for (size_t j = 0; j < 8; j++)
		assert_true(vb[j] == 0.0f);

	/* trained and Platt-calibrated */
	assert_true(pr.n_pos > 20);
	assert_int_equal(
	    fm_learn_predictor_train(a, pr.X, pr.y, pr.n, NULL), 0);
	fm_learn_predictor_status_get(a, &sa);
	assert_true(sa.trained);
	assert_int_equal(sa.calibration, FM_LEARN_PREDICTOR_CALIB_PLATT);
	assert_true(sa.calib_a != 1.0 || sa.calib_c != 0.0);
	assert_int_equal(params_of(a, va, 8), 8);
	for (size_t j = 0; j < 8; j++)
		want[j] = va[j];
	for (size_t i = 1; i < FM_ELEMENTSOF(ks); i++) {
		assert_int_equal(
		    fm_learn_predictor_share_export(a, ks[i], share, p + 2), 0);
		for (size_t j = 0; j <= p; j++)
			assert_true(share[j] == (float)(ks[i] * va[j]));
		assert_true(share[p + 1] == (float)ks[i]);
		fm_learn_predictor_free(b);
		b = predictor_new(&c);
		assert_int_equal(
		    fm_learn_predictor_share_import(b, share, p + 2), 0);
		assert_int_equal(params_of(b, vb, 8), 8);
		if (ks[i] == 1.0 || ks[i] == 0.125) /* exact in binary */
			assert_memory_equal(va, vb, sizeof(va));
		else
			assert_close(vb, want, 8);
		fm_learn_predictor_status_get(b, &s);
		assert_true(s.trained);
		assert_int_equal(s.calibration, FM_LEARN_PREDICTOR_CALIB_PRIOR);
		assert_true(s.calib_a == 1.0 && s.calib_c == 0.0);
		assert_true(s.n_pos == 0 && s.n_neg == 0);
	}
	/* b predicts sigmoid(w.x + b) with the weights it took */
	for (size_t i = 0; i < 20; i++) {
		const float *x = pr.X + i * p;
		double z = vb[p];

		for (size_t j = 0; j < p; j++)
			z += (double)vb[j] * x[j];
		assert_true(fabs(fm_learn_predictor_predict(b, x) -
		                1.0 / (1.0 + exp(-z))) < 1e-6);
	}
	/* a predictor taking its own share keeps its weights and counts
	 * but drops its Platt calibration for the prior correction */
	assert_int_equal(
	    fm_learn_predictor_share_export(a, 0.5, share, p + 2), 0);
	assert_int_equal(fm_learn_predictor_share_import(a, share, p + 2), 0);
	assert_int_equal(params_of(a, vb, 8), 8);
	assert_memory_equal(va, vb, sizeof(va));
	fm_learn_predictor_status_get(a, &s);
	assert_true(s.trained);
	assert_int_equal(s.calibration, FM_LEARN_PREDICTOR_CALIB_PRIOR);
	assert_true(s.calib_a == 1.0 && s.calib_c == 0.0);
	assert_true(s.n_pos == sa.n_pos && s.n_neg == sa.n_neg);
	problem_free(&pr);
	fm_learn_predictor_free(a);
	fm_learn_predictor_free(b);
}

/*
 * FedAvg of two shares with coefficients c1, c2 (by sample count), then
 * divided by its last element: the mean of the two predictors weighted
 * by c k, not by c alone. A share with k = 0, or an untrained
 * predictor's, adds nothing.
 */
static void
test_predictor_share_is_a_weighted_mean(void **state)
{
	const size_t p = 5;
	const double c1 = 1000.0, c2 = 37.0, ka = 0.003, kb = 0.25;
	fm_learn_predictor_config c = config_for(p);
	float ta[6], tb[6], sa[7], sb[7], sum[7], v[6];
	double want[6], by_c, off = 0.0;
	fm_learn_predictor *a, *b, *m, *u;
	fm_learn_predictor_status s;
	rng r = { 59 };

	for (size_t j = 0; j <= p; j++) {
		ta[j] = (float)(2.0 * rng_normal(&r));
		tb[j] = (float)(2.0 * rng_normal(&r));
	}
	a = predictor_with(&c, ta);
	b = predictor_with(&c, tb);
	m = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_share_export(a, ka, sa, p + 2), 0);
	assert_int_equal(fm_learn_predictor_share_export(b, kb, sb, p + 2), 0);
	for (size_t j = 0; j < p + 2; j++)
		sum[j] = (float)((c1 * sa[j] + c2 * sb[j]) / (c1 + c2));
	assert_int_equal(fm_learn_predictor_share_import(m, sum, p + 2), 0);
	assert_int_equal(params_of(m, v, 6), 6);
	for (size_t j = 0; j <= p; j++) {
		want[j] =
		    (c1 * ka * ta[j] + c2 * kb * tb[j]) / (c1 * ka + c2 * kb);
		by_c = (c1 * ta[j] + c2 * tb[j]) / (c1 + c2);
		off = fmax(off, fabs(want[j] - by_c));
	}
	assert_close(v, want, p + 1);
	/* (c k is 3 against 9.25 here, c alone 1000 against 37: the two
	 * means are far apart, so the check above tells them apart) */
	assert_true(off > 0.5);
	fm_learn_predictor_status_get(m, &s);
	assert_true(s.trained);
	assert_int_equal(s.calibration, FM_LEARN_PREDICTOR_CALIB_PRIOR);

	/* k = 0: b adds nothing, the mean is a's */
	for (size_t j = 0; j <= p; j++)
		want[j] = ta[j];
	assert_int_equal(fm_learn_predictor_share_export(b, 0.0, sb, p + 2), 0);
	for (size_t j = 0; j < p + 2; j++)
		sum[j] = (float)((c1 * sa[j] + c2 * sb[j]) / (c1 + c2));
	assert_int_equal(fm_learn_predictor_share_import(m, sum, p + 2), 0);
	assert_int_equal(params_of(m, v, 6), 6);
	assert_close(v, want, p + 1);
	/* nor does an untrained predictor, whatever its k */
	u = predictor_new(&c);
	assert_int_equal(fm_learn_predictor_share_export(u, 5.0, sb, p + 2), 0);
	for (size_t j = 0; j < p + 2; j++)
		sum[j] = (float)((c1 * sa[j] + c2 * sb[j]) / (c1 + c2));
	assert_int_equal(fm_learn_predictor_share_import(m, sum, p + 2), 0);
	assert_int_equal(params_of(m, v, 6), 6);
	assert_close(v, want, p + 1);
	fm_learn_predictor_free(a);
	fm_learn_predictor_free(b);
	fm_learn_predictor_free(m);
	fm_learn_predictor_free(u);
}

/* p's parameters, status and predictions on the first rows of pr. */
typedef struct snapshot {
	float theta[7];
	fm_learn_predictor_status status;
	double q[8];
} snapshot;

static snapshot
snapshot_of(fm_learn_predictor *m, const problem *pr)
{
	snapshot sn;

	memset(&sn, 0, sizeof(sn));
	assert_int_equal(params_of(m, sn.theta, 7), 7);
	fm_learn_predictor_status_get(m, &sn.status);
	for (size_t i = 0; i < FM_ELEMENTSOF(sn.q); i++)
		sn.q[i] = fm_learn_predictor_predict(m, pr->X + i * pr->p);
	return sn;
}

static void
assert_unchanged(fm_learn_predictor *m, const problem *pr, const snapshot *sn)
{
	snapshot now = snapshot_of(m, pr);

	assert_memory_equal(now.theta, sn->theta, sizeof(now.theta));
	assert_memory_equal(now.q, sn->q, sizeof(now.q));
	assert_int_equal(now.status.trained, sn->status.trained);
	assert_int_equal(now.status.calibration, sn->status.calibration);
	assert_true(now.status.calib_a == sn->status.calib_a &&
	    now.status.calib_c == sn->status.calib_c);
}

static void
test_predictor_share_errors(void **state)
{
	const size_t p = 6;
	const double bad_k[] = { -1.0, -1e-300, NAN, INFINITY, -INFINITY,
		1e39 /* beyond a float */ };
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(61, 1000, p, 1.5, -2.0);
	fm_learn_predictor *m = predictor_new(&c), *u = predictor_new(&c), *big;
	float good[9], bad[9], theta[7];
	snapshot sm, su;
	struct {
		size_t at;
		float value;
		size_t n;
		int want;
	} cases[] = {
		{ 0, 0.0f, 7, -EINVAL },    /* one short */
		{ 0, 0.0f, 9, -EINVAL },    /* one long */
		{ 2, NAN, 8, -EDOM },       /* a weight */
		{ 0, -INFINITY, 8, -EDOM }, /* a weight */
		{ 6, INFINITY, 8, -EDOM },  /* the bias */
		{ 7, -0.5f, 8, -EDOM },     /* k negative */
		{ 7, INFINITY, 8, -EDOM },  /* k infinite */
		{ 7, NAN, 8, -EDOM },       /* k NaN */
		{ 7, 1e-21f, 8, -ENODATA }, /* k below the minimum */
		{ 7, 0.0f, 8, -ENODATA },   /* k zero */
	};

	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	sm = snapshot_of(m, &pr);
	su = snapshot_of(u, &pr);
	assert_true(sm.status.trained &&
	    sm.status.calibration == FM_LEARN_PREDICTOR_CALIB_PLATT);

	/* export: the length, then the weight (trained or not) */
	assert_int_equal(
	    fm_learn_predictor_share_export(m, 1.0, good, 7), -EINVAL);
	assert_int_equal(
	    fm_learn_predictor_share_export(m, 1.0, good, 9), -EINVAL);
	assert_int_equal(
	    fm_learn_predictor_share_export(m, 1.0, good, 0), -EINVAL);
	for (size_t i = 0; i < FM_ELEMENTSOF(bad_k); i++) {
		if (fm_learn_predictor_share_export(m, bad_k[i], good, 8) !=
		    -EDOM)
			fail_msg("weight %g (trained)", bad_k[i]);
		if (fm_learn_predictor_share_export(u, bad_k[i], good, 8) !=
		    -EDOM)
			fail_msg("weight %g (untrained)", bad_k[i]);
	}
	/* a finite k whose products overflow a float */
	for (size_t j = 0; j <= p; j++)
		theta[j] = 1.5f;
	big = predictor_with(&c, theta);
	assert_int_equal(
	    fm_learn_predictor_share_export(big, 3e38, good, 8), -EDOM);
	assert_int_equal(
	    fm_learn_predictor_share_export(big, 2e38, good, 8), 0);
	fm_learn_predictor_free(big);
	assert_unchanged(m, &pr, &sm);

	/* import: each case from a valid share, into m and into u */
	assert_int_equal(fm_learn_predictor_share_export(m, 0.5, good, 8), 0);
	assert_true(good[7] == 0.5f);
	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		memcpy(bad, good, sizeof(good));
		bad[cases[i].at] = cases[i].value;
		if (fm_learn_predictor_share_import(m, bad, cases[i].n) !=
		        cases[i].want ||
		    fmi_learn_predictor_share_check(m, bad, cases[i].n) !=
		        cases[i].want ||
		    fm_learn_predictor_share_import(u, bad, cases[i].n) !=
		        cases[i].want)
			fail_msg("case %zu", i);
		assert_unchanged(m, &pr, &sm);
		assert_unchanged(u, &pr, &su);
	}
	/* a NaN is an error even beside k = 0 (no host had a model) */
	for (size_t j = 0; j <= p; j++) {
		memset(bad, 0, sizeof(bad));
		bad[j] = NAN;
		assert_int_equal(
		    fm_learn_predictor_share_import(m, bad, 8), -EDOM);
	}
	/* a quotient beyond a float: 1e30 / 1e-19 */
	memcpy(bad, good, sizeof(good));
	bad[1] = 1e30f;
	bad[7] = 1e-19f;
	assert_int_equal(fm_learn_predictor_share_import(m, bad, 8), -EDOM);
	assert_int_equal(fm_learn_predictor_share_import(u, bad, 8), -EDOM);
	/* the same k with values it can divide is taken */
	assert_unchanged(m, &pr, &sm);
	assert_unchanged(u, &pr, &su);
	memset(bad, 0, sizeof(bad));
	bad[1] = 1e-19f;
	bad[7] = 1e-19f;
	assert_int_equal(fmi_learn_predictor_share_check(u, bad, 8), 0);
	assert_int_equal(fm_learn_predictor_share_import(u, bad, 8), 0);
	assert_int_equal(params_of(u, theta, 7), 7);
	assert_true(theta[1] == 1.0f && theta[0] == 0.0f && theta[6] == 0.0f);
	problem_free(&pr);
	fm_learn_predictor_free(m);
	fm_learn_predictor_free(u);
}

/* ---- inputs and targets ------------------------------------------------- */

static void
test_predictor_features_window(void **state)
{
	fm_learn_predictor_config c;
	/* 5 rows of d = 2 */
	float rows[] = {
		1, 10,   /* */
		2, NAN,  /* */
		3, 30,   /* */
		NAN, 40, /* */
		5, 2000, /* clipped to 1000 */
	};
	float extra = 7.0f, x[7];

	fm_learn_predictor_config_default(&c);
	c.n_features = 2;
	c.window = 3;
	c.n_extra = 1;
	/* t = 2: rows 0…2 */
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 5, 2, &extra, x), 0);
	assert_true(x[0] == 3 && x[1] == 30);
	assert_true(x[2] == 2 && x[3] == 20); /* mean of the observed */
	assert_true(x[4] == 2 && x[5] == 20); /* z_2 - z_0 */
	assert_true(x[6] == 7);
	/* t = 4: rows 2…4; z masked at t = 3 */
	extra = NAN;
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 5, 4, &extra, x), 0);
	assert_true(x[0] == 5 && x[1] == 1000);
	assert_true(x[2] == 4 && fabsf(x[3] - 1070.0f / 3.0f) < 1e-3f);
	assert_true(x[4] == 2 && x[5] == 970);
	assert_true(x[6] == 0); /* masked extra */
	/* t = 3: rows 1…3; z_3[0] and z_1[1] masked: changes unknown, 0 */
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 5, 3, NULL, x), 0);
	assert_true(x[0] == 0 && x[1] == 40);
	assert_true(x[2] == 2.5f && x[3] == 35);
	assert_true(x[4] == 0 && x[5] == 0);
	assert_true(x[6] == 0); /* no extra given */
	/* errors */
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 5, 5, NULL, x), -EINVAL);
	assert_int_equal(
	    fm_learn_predictor_features(&c, NULL, 5, 0, NULL, x), -EINVAL);
	c.window = 0;
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 5, 0, NULL, x), -EINVAL);
}

/* Fewer rows than the window: what exists is used. */
static void
test_predictor_features_short_history(void **state)
{
	fm_learn_predictor_config c;
	float rows[] = { 1, -2, 3 }; /* d = 1 */
	float x[3];

	fm_learn_predictor_config_default(&c);
	c.n_features = 1;
	c.window = 60;
	c.n_extra = 0;
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 1, 0, NULL, x), 0);
	assert_true(x[0] == 1 && x[1] == 1 && x[2] == 0);
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 3, 2, NULL, x), 0);
	assert_true(
	    x[0] == 3 && fabsf(x[1] - 2.0f / 3.0f) < 1e-7f && x[2] == 2);
	/* window 1: the mean is z_t, the change 0 */
	c.window = 1;
	assert_int_equal(
	    fm_learn_predictor_features(&c, rows, 3, 2, NULL, x), 0);
	assert_true(x[0] == 3 && x[1] == 3 && x[2] == 0);
}

/* Rows after t, present or not, changed or not, never change x_t. */
static void
test_predictor_features_are_causal(void **state)
{
	enum { N = 50, D = 3 };
	fm_learn_predictor_config c;
	float rows[N * D], x[3 * D + 1], y[3 * D + 1], extra = 0.5f;
	rng r = { 31 };

	fm_learn_predictor_config_default(&c);
	c.n_features = D;
	c.window = 8;
	for (size_t i = 0; i < N * D; i++)
		rows[i] = (float)rng_normal(&r);
	for (size_t t = 0; t < N; t++) {
		assert_int_equal(
		    fm_learn_predictor_features(&c, rows, N, t, &extra, x), 0);
		/* the history cut at t */
		assert_int_equal(
		    fm_learn_predictor_features(&c, rows, t + 1, t, &extra, y),
		    0);
		assert_memory_equal(x, y, sizeof(x));
		/* the future overwritten */
		for (size_t i = (t + 1) * D; i < N * D; i++)
			rows[i] = i % 2 ? NAN : 1e6f;
		assert_int_equal(
		    fm_learn_predictor_features(&c, rows, N, t, &extra, y), 0);
		assert_memory_equal(x, y, sizeof(x));
		r.s = 31;
		for (size_t i = 0; i < N * D; i++)
			rows[i] = (float)rng_normal(&r);
	}
}

static void
test_predictor_labels_rule(void **state)
{
	/* index:                   0  1  2  3  4  5  6  7  8  9 10 11 */
	const uint8_t events[12] = { 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0 };
	/* H = 2: events begin at 3 and 8. 1, 2 precede 3 and 6, 7 precede
	 * 8: positives. 3…5 and 8 are during an event with no onset within
	 * 2 rows: SKIP. 10, 11 lack a full horizon: SKIP. */
	const uint8_t want[12] = { 0, 1, 1, SKIP, SKIP, SKIP, 1, 1, SKIP, 0,
		SKIP, SKIP };
	/* H = 3: 5 (during) sees the onset at 8: a positive. */
	const uint8_t want3[12] = { 1, 1, 1, SKIP, SKIP, 1, 1, 1, SKIP, SKIP,
		SKIP, SKIP };
	uint8_t y[12], in_place[12];

	assert_int_equal(fm_learn_predictor_labels(events, 12, 2, y), 0);
	assert_memory_equal(y, want, 12);
	assert_int_equal(fm_learn_predictor_labels(events, 12, 3, y), 0);
	assert_memory_equal(y, want3, 12);
	memcpy(in_place, events, 12);
	assert_int_equal(
	    fm_learn_predictor_labels(in_place, 12, 2, in_place), 0);
	assert_memory_equal(in_place, want, 12);
	/* an event at row 0 begins there: nothing before it to label */
	{
		const uint8_t ev[4] = { 1, 0, 0, 0 };
		const uint8_t w[4] = { SKIP, 0, SKIP, SKIP };

		assert_int_equal(fm_learn_predictor_labels(ev, 4, 2, y), 0);
		assert_memory_equal(y, w, 4);
	}
	/* any non-zero flag is an event */
	{
		const uint8_t ev[4] = { 0, 7, 255, 0 };
		const uint8_t w[4] = { 1, SKIP, SKIP, SKIP };

		assert_int_equal(fm_learn_predictor_labels(ev, 4, 1, y), 0);
		assert_memory_equal(y, w, 4);
	}
	assert_int_equal(fm_learn_predictor_labels(NULL, 0, 2, NULL), 0);
	assert_int_equal(fm_learn_predictor_labels(events, 12, 0, y), -EINVAL);
	assert_int_equal(fm_learn_predictor_labels(
	                     events, 12, FM_LEARN_PREDICTOR_MAX_HORIZON + 1, y),
	    -EINVAL);
	assert_int_equal(fm_learn_predictor_labels(NULL, 12, 2, y), -EINVAL);
	assert_int_equal(fm_learn_predictor_labels(
	                     events, FM_LEARN_PREDICTOR_MAX_ROWS + 1u, 2, y),
	    -EMSGSIZE);
}

/* ---- persistence -------------------------------------------------------- */

/* Saves m at base (between two foreign sections) into a new file. */
static uint8_t *
save(const fm_learn_predictor *m, uint32_t base, size_t *ret_len)
{
	fm_learn_model_info info = { .kind =
		                         base ? 42 : FM_LEARN_KIND_PREDICTOR };
	fm_learn_model_writer w;
	uint8_t *buf = NULL;

	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	if (base > 0)
		assert_int_equal(
		    fm_learn_model_writer_put_u32(&w, base - 1, 7), 0);
	assert_int_equal(fm_learn_predictor_save(m, base, &w), 0);
	if (base > 0)
		assert_int_equal(fm_learn_model_writer_put_u32(
		                     &w, base + FM_LEARN_PREDICTOR_SECTIONS, 7),
		    0);
	assert_int_equal(fm_learn_model_writer_finish(&w, &buf, ret_len), 0);
	return buf;
}

static fm_learn_predictor *
load(const uint8_t *buf, size_t len, uint32_t base,
    const fm_learn_predictor_config *cfg, int want)
{
	fm_learn_model_reader r;
	fm_learn_predictor *m = NULL;

	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	assert_int_equal(fm_learn_predictor_load(&r, base, cfg, &m), want);
	return m;
}

static void
assert_same_predictions(
    const fm_learn_predictor *a, const fm_learn_predictor *b, const problem *pr)
{
	for (size_t i = 0; i < pr->n; i++) {
		double qa = fm_learn_predictor_predict(a, pr->X + i * pr->p);
		double qb = fm_learn_predictor_predict(b, pr->X + i * pr->p);

		assert_memory_equal(&qa, &qb, sizeof(qa));
	}
}

static void
test_predictor_save_load_round_trip(void **state)
{
	const size_t p = 7;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(37, 3000, p, 1.5, -3.0);
	fm_learn_predictor_status sa, sb;
	fm_learn_predictor *a, *b;
	float va[8], vb[8];
	uint8_t *buf;
	size_t len;

	a = predictor_new(&c);
	assert_int_equal(
	    fm_learn_predictor_train(a, pr.X, pr.y, pr.n, NULL), 0);
	for (uint32_t base = 0; base <= 100; base += 100) {
		buf = save(a, base, &len);
		b = load(buf, len, base, &c, 0);
		fm_learn_predictor_status_get(a, &sa);
		fm_learn_predictor_status_get(b, &sb);
		assert_true(sa.trained == sb.trained &&
		    sa.calibration == sb.calibration &&
		    sa.calib_a == sb.calib_a && sa.calib_c == sb.calib_c &&
		    sa.n_pos == sb.n_pos && sa.n_neg == sb.n_neg &&
		    sa.base_rate == sb.base_rate);
		assert_true(sa.trained &&
		    sa.calibration == FM_LEARN_PREDICTOR_CALIB_PLATT);
		assert_int_equal(params_of(a, va, 8), 8);
		assert_int_equal(params_of(b, vb, 8), 8);
		assert_memory_equal(va, vb, sizeof(va));
		assert_same_predictions(a, b, &pr);
		/* training goes on identically too */
		assert_int_equal(
		    fm_learn_predictor_train(b, pr.X, pr.y, 500, NULL), 0);
		fm_learn_predictor_free(b);
		b = load(buf, len, base, &c, 0);
		assert_int_equal(
		    fm_learn_predictor_train(b, pr.X, pr.y, 500, NULL), 0);
		if (base == 100) {
			assert_int_equal(
			    fm_learn_predictor_train(a, pr.X, pr.y, 500, NULL),
			    0);
			assert_same_predictions(a, b, &pr);
		}
		fm_learn_predictor_free(b);
		free(buf);
	}
	/* an untrained predictor round-trips as untrained */
	fm_learn_predictor_reset(a);
	buf = save(a, 0, &len);
	b = load(buf, len, 0, &c, 0);
	fm_learn_predictor_status_get(b, &sb);
	assert_false(sb.trained);
	assert_true(fm_learn_predictor_predict(b, pr.X) == 0.0);
	free(buf);
	fm_learn_predictor_free(b);
	problem_free(&pr);
	fm_learn_predictor_free(a);
}

/* The file's own flat vector and layout are the predictor's. */
static void
test_predictor_file_params_are_the_weights(void **state)
{
	const size_t p = 7;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(41, 1000, p, 1.5, -2.0);
	fm_learn_model_reader r;
	fm_learn_predictor *m = predictor_new(&c);
	float v[8], f[8];
	uint8_t *buf;
	size_t len, n;

	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	buf = save(m, 0, &len);
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	assert_int_equal(fm_learn_model_reader_params_count(&r), 8);
	assert_int_equal(fm_learn_model_reader_params_export(&r, f, 8, &n), 0);
	assert_int_equal(params_of(m, v, 8), 8);
	assert_memory_equal(v, f, sizeof(v));
	free(buf);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/* Copies a decoded file section by section, replacing the value of
 * section id (a u32, u64, f64, or the first f32) with value. */
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

/* Copies a decoded file leaving out section drop and, when unflag, with
 * the PARAM flag taken off every f32 section. */
static uint8_t *
mutilate(
    const uint8_t *buf, size_t len, uint32_t drop, bool unflag, size_t *ret_len)
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
		uint32_t u32;
		uint64_t u64;
		double f64;
		float f[16];

		assert_int_equal(
		    fm_learn_model_reader_section_at(&r, i, &si), 0);
		if (si.id == drop)
			continue;
		switch (si.type) {
		case FM_LEARN_SECTION_U32:
			assert_int_equal(
			    fm_learn_model_reader_get_u32(&r, si.id, &u32), 0);
			assert_int_equal(
			    fm_learn_model_writer_put_u32(&w, si.id, u32), 0);
			break;
		case FM_LEARN_SECTION_U64:
			assert_int_equal(
			    fm_learn_model_reader_get_u64(&r, si.id, &u64), 0);
			assert_int_equal(
			    fm_learn_model_writer_put_u64(&w, si.id, u64), 0);
			break;
		case FM_LEARN_SECTION_F64:
			assert_int_equal(
			    fm_learn_model_reader_get_f64(&r, si.id, &f64), 0);
			assert_int_equal(
			    fm_learn_model_writer_put_f64(&w, si.id, f64), 0);
			break;
		default:
			assert_true(si.count <= 16);
			assert_int_equal(fm_learn_model_reader_get_f32(
			                     &r, si.id, f, si.count),
			    0);
			assert_int_equal(
			    fm_learn_model_writer_put_f32(
			        &w, si.id, unflag ? 0 : si.flags, f, si.count),
			    0);
		}
	}
	assert_int_equal(fm_learn_model_writer_finish(&w, &out, ret_len), 0);
	return out;
}

static void
test_predictor_load_refuses_foreign_and_corrupt(void **state)
{
	/* ids relative to base 0, from the layout in predictor.c */
	const struct {
		uint32_t id;
		double value;
		int want;
	} cases[] = {
		{ 0, FM_LEARN_KIND_POT, -ESTALE }, /* another model */
		{ 1, 2, -EPROTONOSUPPORT },        /* state version */
		{ 2, 5, -ESTALE },                 /* n_features */
		{ 3, 11, -ESTALE },                /* window */
		{ 4, 0, -ESTALE },                 /* n_extra */
		{ 5, 1, -ESTALE },                 /* schema version */
		{ 6, 2, -EBADMSG },                /* unknown flag */
		{ 7, 2, -EBADMSG },                /* unknown calibration */
		{ 8, NAN, -EDOM },                 /* calibration slope */
		{ 8, -1, -EDOM },                  /* a negative slope */
		{ 9, INFINITY, -EDOM },            /* calibration offset */
	};
	const size_t p = 7;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(43, 1000, p, 1.5, -2.0);
	fm_learn_predictor *m = predictor_new(&c), *q;
	fm_learn_pot_config pc;
	fm_learn_pot *pot;
	fm_learn_model_reader r;
	fm_learn_model_info info = { .kind = 42 };
	fm_learn_model_writer w;
	uint8_t *buf, *bad;
	size_t len, n;

	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	buf = save(m, 0, &len);
	fm_learn_predictor_free(load(buf, len, 0, &c, 0));
	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		q = NULL;
		bad = rewrite(buf, len, cases[i].id, cases[i].value, &n);
		assert_int_equal(fm_learn_model_decode(bad, n, NULL, &r), 0);
		if (fm_learn_predictor_load(&r, 0, &c, &q) != cases[i].want)
			fail_msg("case %zu (section %u)", i, cases[i].id);
		assert_null(q);
		free(bad);
	}
	/* nothing at another base; shapes that differ from the caller's */
	assert_null(load(buf, len, 500, &c, -ENOENT));
	{
		fm_learn_predictor_config other = c;

		other.window = 5;
		assert_null(load(buf, len, 0, &other, -ESTALE));
		other = c;
		other.schema_version = 3;
		assert_null(load(buf, len, 0, &other, -ESTALE));
		other = c;
		other.batch = 0;
		assert_null(load(buf, len, 0, &other, -EINVAL));
		assert_null(load(buf, len, 0, NULL, -EINVAL));
		assert_null(load(buf, len, UINT32_MAX - 3, &c, -EINVAL));
		/* training settings may differ */
		other = c;
		other.lr = 0.1f;
		other.epochs = 3;
		fm_learn_predictor_free(load(buf, len, 0, &other, 0));
	}
	/* a missing section, weights that are not PARAM */
	for (uint32_t id = 1; id < 14; id++) {
		bad = mutilate(buf, len, id, false, &n);
		q = load(bad, n, 0, &c, -EBADMSG);
		assert_null(q);
		free(bad);
	}
	bad = mutilate(buf, len, UINT32_MAX, true, &n);
	assert_null(load(bad, n, 0, &c, -EBADMSG));
	free(bad);
	/* a byte flipped anywhere: the container refuses it */
	buf[len / 2] ^= 0x10;
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), -EBADMSG);
	free(buf);
	/* a pot saved where a predictor is expected */
	fm_learn_pot_config_default(&pc);
	assert_int_equal(fm_learn_pot_new(&pc, &pot), 0);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_pot_save(pot, 0, &w), 0);
	assert_int_equal(fm_learn_model_writer_finish(&w, &buf, &len), 0);
	assert_null(load(buf, len, 0, &c, -ESTALE));
	free(buf);
	fm_learn_pot_free(pot);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

static void
test_predictor_save_checks_ids(void **state)
{
	fm_learn_predictor_config c = config_for(6);
	fm_learn_model_info info = { .kind = FM_LEARN_KIND_PREDICTOR };
	fm_learn_model_writer w;
	fm_learn_predictor *m = predictor_new(&c);
	fm_learn_param_block b[1];

	assert_int_equal(fm_learn_predictor_params(m, b, 1), -ENOBUFS);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(
	    fm_learn_predictor_save(m, UINT32_MAX - 3, &w), -EINVAL);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 50, 1), 0);
	assert_int_equal(fm_learn_predictor_save(m, 10, &w), -EINVAL);
	fm_learn_model_writer_release(&w);
	fm_learn_predictor_free(m);
}

static void
test_predictor_out_of_memory(void **state)
{
	const size_t p = 6;
	fm_learn_predictor_config c = config_for(p);
	problem pr = logistic_problem(47, 500, p, 2.0, -1.0);
	fm_learn_predictor *m = NULL, *q;
	float before[7], after[7];
	uint8_t *buf;
	size_t len;
	int r;

	/* the predictor, its buffers, its index scratch */
	for (int k = 0; k < 3; k++) {
		fm_test_alloc_fail_after(k);
		r = fm_learn_predictor_new(&c, &m);
		fm_test_alloc_fail_after(-1);
		assert_int_equal(r, -ENOMEM);
		assert_null(m);
	}
	m = predictor_new(&c);
	/* training: its order, its logits; p unchanged on failure */
	assert_int_equal(params_of(m, before, 7), 7);
	for (int k = 0; k < 2; k++) {
		fm_learn_predictor_status st;

		fm_test_alloc_fail_after(k);
		r = fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL);
		fm_test_alloc_fail_after(-1);
		assert_int_equal(r, -ENOMEM);
		fm_learn_predictor_status_get(m, &st);
		assert_false(st.trained);
		assert_true(st.n_pos == 0 && st.n_neg == 0);
		assert_int_equal(params_of(m, after, 7), 7);
		assert_memory_equal(before, after, sizeof(before));
	}
	assert_int_equal(
	    fm_learn_predictor_train(m, pr.X, pr.y, pr.n, NULL), 0);
	buf = save(m, 0, &len);
	for (int k = 0; k < 3; k++) {
		fm_test_alloc_fail_after(k);
		q = load(buf, len, 0, &c, -ENOMEM);
		fm_test_alloc_fail_after(-1);
		assert_null(q);
	}
	free(buf);
	problem_free(&pr);
	fm_learn_predictor_free(m);
}

/* No imported model can make a prediction NaN: weights whose products
 * would overflow (w.x = 1e38 x 10 - 1e38 x 10 is inf - inf) are refused,
 * through a share or a flat vector, and at the bound the logit stays
 * finite on the most extreme inputs. */
static void
test_predictor_imports_keep_predictions_finite(void **state)
{
	fm_learn_predictor_config c = config_for(3);
	fm_learn_predictor *m = predictor_new(&c);
	float share[5] = { 1e38f, -1e38f, 0.0f, 0.0f, 1.0f };
	float flat[4] = { 1e38f, -1e38f, 0.0f, 0.0f };
	float x[3] = { 10.0f, 10.0f, 0.0f };
	const float hi = (float)FM_LEARN_PREDICTOR_PARAM_MAX;
	float at_bound[4] = { hi, hi, -hi, hi };
	float extreme[3] = { FM_LEARN_PREDICTOR_INPUT_MAX,
		FM_LEARN_PREDICTOR_INPUT_MAX, -FM_LEARN_PREDICTOR_INPUT_MAX };
	uint32_t layout = fm_learn_predictor_layout_id(m);
	double q;

	(void)state;
	assert_int_equal(fm_learn_predictor_share_import(m, share, 5), -EDOM);
	assert_int_equal(
	    fm_learn_predictor_params_import(m, layout, flat, 4), -EDOM);
	share[0] = share[1] = 1.01f * hi;
	assert_int_equal(fm_learn_predictor_share_import(m, share, 5), -EDOM);
	assert_true(fm_learn_predictor_predict(m, x) == 0.0);
	assert_int_equal(
	    fm_learn_predictor_params_import(m, layout, at_bound, 4), 0);
	q = fm_learn_predictor_predict(m, extreme);
	assert_true(q >= 0.0 && q <= 1.0);
	q = fm_learn_predictor_predict(m, x);
	assert_true(q >= 0.0 && q <= 1.0);
	fm_learn_predictor_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_predictor_config_validated),
		cmocka_unit_test(test_predictor_invalid_arguments),
		cmocka_unit_test(
		    test_predictor_gradient_matches_finite_differences),
		cmocka_unit_test(test_predictor_training_is_deterministic),
		cmocka_unit_test(test_predictor_learns_separable_problem),
		cmocka_unit_test(test_predictor_calibrated_on_imbalanced_data),
		cmocka_unit_test(test_predictor_few_events_stay_near_base_rate),
		cmocka_unit_test(
		    test_predictor_training_continues_from_current_weights),
		cmocka_unit_test(
		    test_predictor_nonfinite_inputs_never_reach_weights),
		cmocka_unit_test(test_predictor_zero_positives_stays_untrained),
		cmocka_unit_test(
		    test_predictor_zero_positives_keep_fleet_model),
		cmocka_unit_test(test_predictor_layout_id_follows_shape),
		cmocka_unit_test(
		    test_predictor_imports_keep_predictions_finite),
		cmocka_unit_test(test_predictor_predict_never_allocates),
		cmocka_unit_test(test_predictor_share_round_trip),
		cmocka_unit_test(test_predictor_share_is_a_weighted_mean),
		cmocka_unit_test(test_predictor_share_errors),
		cmocka_unit_test(test_predictor_features_window),
		cmocka_unit_test(test_predictor_features_short_history),
		cmocka_unit_test(test_predictor_features_are_causal),
		cmocka_unit_test(test_predictor_labels_rule),
		cmocka_unit_test(test_predictor_save_load_round_trip),
		cmocka_unit_test(test_predictor_file_params_are_the_weights),
		cmocka_unit_test(
		    test_predictor_load_refuses_foreign_and_corrupt),
		cmocka_unit_test(test_predictor_save_checks_ids),
		cmocka_unit_test(test_predictor_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
