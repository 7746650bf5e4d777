/*
 * Tests for learn/ae.c and learn/adam.c: the linear autoencoder, its
 * gradient against finite differences, training, determinism under a
 * seed, FedProx, divergence and allocation failures. Fixed seeds; float
 * tolerances stated where they are used.
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

/* n rows of D inputs lying near a rank-r subspace, plus noise. */
typedef struct dataset {
	float *x;
	size_t n;
	uint32_t dim;
} dataset;

static dataset
make_data(size_t n, uint32_t dim, uint32_t rank, double noise, uint64_t seed)
{
	dataset ds = { .n = n, .dim = dim };
	fmi_learn_rng g;
	double *basis;

	fmi_learn_rng_init(&g, seed);
	ds.x = malloc(n * dim * sizeof(float));
	basis = malloc((size_t)rank * dim * sizeof(double));
	assert_non_null(ds.x);
	assert_non_null(basis);
	for (size_t i = 0; i < (size_t)rank * dim; i++)
		basis[i] = fmi_learn_rng_normal(&g);
	for (size_t t = 0; t < n; t++) {
		for (uint32_t j = 0; j < dim; j++)
			ds.x[t * dim + j] =
			    (float)(noise * fmi_learn_rng_normal(&g) + 0.5);
		for (uint32_t r = 0; r < rank; r++) {
			double c = fmi_learn_rng_normal(&g);

			for (uint32_t j = 0; j < dim; j++)
				ds.x[t * dim + j] += (float)(c * basis[r * dim + j]);
		}
	}
	free(basis);
	return ds;
}

static void
fill_rows(void *userdata, const uint32_t *idx, size_t n, float *batch)
{
	const dataset *ds = userdata;

	for (size_t i = 0; i < n; i++)
		memcpy(batch + i * ds->dim, ds->x + (size_t)idx[i] * ds->dim,
		    ds->dim * sizeof(float));
}

static void
test_ae_gradient_matches_finite_differences(void **state)
{
	dataset ds = make_data(7, 6, 2, 0.3, 11);
	fm_learn_ae *ae;
	size_t np;
	float *theta, *grad;
	double loss;

	(void)state;
	assert_int_equal(fm_learn_ae_new(6, 3, 5, &ae), 0);
	np = fm_learn_ae_params_count(ae);
	assert_int_equal(np, 2 * 3 * 6 + 3 + 6);
	theta = fm_learn_ae_params(ae);
	/* non-zero biases, so their gradients are exercised too */
	for (size_t i = 0; i < np; i++)
		theta[i] += 0.05f * (float)((int)(i % 7) - 3);
	grad = malloc(np * sizeof(float));
	assert_non_null(grad);
	assert_int_equal(fm_learn_ae_loss_grad(ae, ds.x, ds.n, &loss, grad), 0);
	for (size_t i = 0; i < np; i++) {
		const float h = 1e-2f;
		float keep = theta[i];
		double up, down, fd;

		theta[i] = keep + h;
		assert_int_equal(
		    fm_learn_ae_loss_grad(ae, ds.x, ds.n, &up, NULL), 0);
		theta[i] = keep - h;
		assert_int_equal(
		    fm_learn_ae_loss_grad(ae, ds.x, ds.n, &down, NULL), 0);
		theta[i] = keep;
		fd = (up - down) / (2.0 * h);
		/* the loss is quadratic in each parameter alone, so central
		 * differences are exact up to float rounding */
		if (!(fabs(fd - grad[i]) <= 1e-3 + 1e-3 * fabs(fd)))
			print_message("param %zu: finite difference %g, "
				      "gradient %g\n",
			    i, fd, (double)grad[i]);
		assert_true(fabs(fd - grad[i]) <= 1e-3 + 1e-3 * fabs(fd));
	}
	free(grad);
	fm_learn_ae_free(ae);
	free(ds.x);
}

static void
test_ae_training_finds_the_subspace(void **state)
{
	dataset ds = make_data(2000, 12, 3, 0.05, 21);
	fm_learn_ae_train_config cfg;
	fm_learn_ae_train_stats st;
	fm_learn_ae *ae;
	double loss;

	(void)state;
	fm_learn_ae_train_config_default(&cfg);
	assert_int_equal(fm_learn_ae_new(12, 3, 1, &ae), 0);
	assert_int_equal(fm_learn_ae_loss_grad(ae, ds.x, ds.n, &loss, NULL), 0);
	assert_true(loss > 1.0);
	assert_int_equal(
	    fm_learn_ae_train(ae, &cfg, ds.n, fill_rows, &ds, &st), 0);
	assert_int_equal(st.steps, cfg.steps);
	assert_true(st.loss_last < st.loss_first);
	assert_int_equal(fm_learn_ae_loss_grad(ae, ds.x, ds.n, &loss, NULL), 0);
	/* rank 3 of 3 kept: what is left is about the noise, 0.05^2 */
	assert_true(loss < 4 * 0.05 * 0.05);
	fm_learn_ae_free(ae);
	free(ds.x);
}

static void
test_ae_same_seed_same_parameters(void **state)
{
	dataset ds = make_data(300, 8, 2, 0.1, 3);
	fm_learn_ae_train_config cfg;
	fm_learn_ae *a, *b, *c;
	size_t np;

	(void)state;
	fm_learn_ae_train_config_default(&cfg);
	cfg.steps = 200;
	assert_int_equal(fm_learn_ae_new(8, 2, 9, &a), 0);
	assert_int_equal(fm_learn_ae_new(8, 2, 9, &b), 0);
	assert_int_equal(fm_learn_ae_new(8, 2, 10, &c), 0);
	np = fm_learn_ae_params_count(a);
	assert_memory_equal(
	    fm_learn_ae_params(a), fm_learn_ae_params(b), np * sizeof(float));
	assert_memory_not_equal(
	    fm_learn_ae_params(a), fm_learn_ae_params(c), np * sizeof(float));
	assert_int_equal(fm_learn_ae_train(a, &cfg, ds.n, fill_rows, &ds, NULL),
	    0);
	assert_int_equal(fm_learn_ae_train(b, &cfg, ds.n, fill_rows, &ds, NULL),
	    0);
	assert_memory_equal(
	    fm_learn_ae_params(a), fm_learn_ae_params(b), np * sizeof(float));
	/* the same start, another mini-batch order: other parameters */
	c = fm_learn_ae_free(c);
	assert_int_equal(fm_learn_ae_new(8, 2, 9, &c), 0);
	cfg.seed = 2;
	assert_int_equal(fm_learn_ae_train(c, &cfg, ds.n, fill_rows, &ds, NULL),
	    0);
	assert_memory_not_equal(
	    fm_learn_ae_params(a), fm_learn_ae_params(c), np * sizeof(float));
	fm_learn_ae_free(a);
	fm_learn_ae_free(b);
	fm_learn_ae_free(c);
	free(ds.x);
}

static double
distance(const float *a, const float *b, size_t n)
{
	double s = 0.0;

	for (size_t i = 0; i < n; i++)
		s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return sqrt(s);
}

static void
test_ae_proximal_term_holds_parameters_near_the_start(void **state)
{
	dataset ds = make_data(500, 8, 2, 0.1, 4);
	fm_learn_ae_train_config cfg;
	fm_learn_ae *free_ae, *prox_ae;
	float *start;
	size_t np;

	(void)state;
	fm_learn_ae_train_config_default(&cfg);
	cfg.steps = 300;
	assert_int_equal(fm_learn_ae_new(8, 2, 1, &free_ae), 0);
	assert_int_equal(fm_learn_ae_new(8, 2, 1, &prox_ae), 0);
	np = fm_learn_ae_params_count(free_ae);
	start = malloc(np * sizeof(float));
	assert_non_null(start);
	memcpy(start, fm_learn_ae_params(free_ae), np * sizeof(float));
	assert_int_equal(
	    fm_learn_ae_train(free_ae, &cfg, ds.n, fill_rows, &ds, NULL), 0);
	cfg.prox_mu = 10.0f;
	assert_int_equal(
	    fm_learn_ae_train(prox_ae, &cfg, ds.n, fill_rows, &ds, NULL), 0);
	assert_true(distance(fm_learn_ae_params(prox_ae), start, np) <
	    0.5 * distance(fm_learn_ae_params(free_ae), start, np));
	free(start);
	fm_learn_ae_free(free_ae);
	fm_learn_ae_free(prox_ae);
	free(ds.x);
}

/* With an anchor (a fleet model), the proximal term pulls there instead
 * of toward the starting point: the same training from the same start
 * ends much nearer the anchor with it than without. */
static void
test_ae_proximal_anchor_pulls_toward_it(void **state)
{
	dataset ds = make_data(500, 8, 2, 0.1, 4);
	fm_learn_ae_train_config cfg;
	fm_learn_ae *with, *without, *other;
	float *anchor;
	size_t np;

	(void)state;
	fm_learn_ae_train_config_default(&cfg);
	cfg.steps = 1000;
	cfg.lr = 1e-2f;
	assert_int_equal(fm_learn_ae_new(8, 2, 1, &with), 0);
	assert_int_equal(fm_learn_ae_new(8, 2, 1, &without), 0);
	assert_int_equal(fm_learn_ae_new(8, 2, 99, &other), 0);
	np = fm_learn_ae_params_count(with);
	anchor = malloc(np * sizeof(float));
	assert_non_null(anchor);
	memcpy(anchor, fm_learn_ae_params(other), np * sizeof(float));
	cfg.prox_mu = 10.0f;
	assert_int_equal(
	    fm_learn_ae_train(without, &cfg, ds.n, fill_rows, &ds, NULL), 0);
	cfg.prox_anchor = anchor;
	assert_int_equal(
	    fm_learn_ae_train(with, &cfg, ds.n, fill_rows, &ds, NULL), 0);
	assert_true(distance(fm_learn_ae_params(with), anchor, np) <
	    0.5 * distance(fm_learn_ae_params(without), anchor, np));
	free(anchor);
	fm_learn_ae_free(with);
	fm_learn_ae_free(without);
	fm_learn_ae_free(other);
	free(ds.x);
}

static void
test_ae_divergence_restores_parameters(void **state)
{
	dataset ds = make_data(100, 6, 2, 0.1, 5);
	fm_learn_ae_train_config cfg;
	fm_learn_ae *ae;
	float *start;
	size_t np;

	(void)state;
	fm_learn_ae_train_config_default(&cfg);
	cfg.steps = 50;
	cfg.lr = 1e37f; /* every step overshoots to infinity */
	assert_int_equal(fm_learn_ae_new(6, 2, 1, &ae), 0);
	np = fm_learn_ae_params_count(ae);
	start = malloc(np * sizeof(float));
	assert_non_null(start);
	memcpy(start, fm_learn_ae_params(ae), np * sizeof(float));
	assert_int_equal(
	    fm_learn_ae_train(ae, &cfg, ds.n, fill_rows, &ds, NULL), -EDOM);
	assert_memory_equal(fm_learn_ae_params(ae), start, np * sizeof(float));
	free(start);
	fm_learn_ae_free(ae);
	free(ds.x);
}

static void
test_ae_residual_one_row_matches_batch(void **state)
{
	dataset ds = make_data(9, 10, 2, 0.2, 6);
	float batch_r[9 * 4], one_r[4];
	fm_learn_ae *ae;

	(void)state;
	assert_int_equal(fm_learn_ae_new(10, 3, 2, &ae), 0);
	assert_int_equal(fm_learn_ae_residual_batch(ae, ds.x, 9, 4, batch_r), 0);
	for (size_t t = 0; t < 9; t++) {
		fm_learn_ae_residual(ae, ds.x + t * 10, 4, one_r);
		for (int j = 0; j < 4; j++)
			assert_true(fabsf(one_r[j] - batch_r[t * 4 + j]) <=
			    1e-5f * (1.0f + fabsf(one_r[j])));
	}
	assert_int_equal(
	    fm_learn_ae_residual_batch(ae, ds.x, 9, 11, batch_r), -EINVAL);
	fm_learn_ae_free(ae);
	free(ds.x);
}

static void
test_ae_rejects_bad_arguments(void **state)
{
	dataset ds = make_data(10, 4, 1, 0.1, 7);
	fm_learn_ae_train_config cfg;
	fm_learn_ae *ae = NULL;
	double loss;

	(void)state;
	assert_int_equal(fm_learn_ae_new(0, 1, 1, &ae), -EINVAL);
	assert_int_equal(fm_learn_ae_new(4, 5, 1, &ae), -EINVAL);
	assert_int_equal(fm_learn_ae_new(4, 0, 1, &ae), -EINVAL);
	assert_int_equal(
	    fm_learn_ae_new(FM_LEARN_AE_MAX_INPUTS + 1, 1, 1, &ae), -EINVAL);
	assert_null(ae);
	assert_int_equal(fm_learn_ae_new(4, 2, 1, &ae), 0);
	fm_learn_ae_train_config_default(&cfg);
	assert_int_equal(
	    fm_learn_ae_train(ae, &cfg, 0, fill_rows, &ds, NULL), -EINVAL);
	cfg.lr = NAN;
	assert_int_equal(
	    fm_learn_ae_train(ae, &cfg, ds.n, fill_rows, &ds, NULL), -EINVAL);
	fm_learn_ae_train_config_default(&cfg);
	cfg.beta1 = 1.0f;
	assert_int_equal(
	    fm_learn_ae_train(ae, &cfg, ds.n, fill_rows, &ds, NULL), -EINVAL);
	fm_learn_ae_train_config_default(&cfg);
	cfg.batch = 0;
	assert_int_equal(
	    fm_learn_ae_train(ae, &cfg, ds.n, fill_rows, &ds, NULL), -EINVAL);
	assert_int_equal(fm_learn_ae_loss_grad(ae, ds.x, 0, &loss, NULL),
	    -EINVAL);
	fm_learn_ae_free(ae);
	assert_null(fm_learn_ae_free(NULL));
	free(ds.x);
}

static void
test_ae_out_of_memory(void **state)
{
	dataset ds = make_data(50, 6, 2, 0.1, 8);
	fm_learn_ae_train_config cfg;
	fm_learn_ae *ae = NULL;
	unsigned before;
	int r = -ENOMEM;
	double loss;

	(void)state;
	fm_learn_ae_train_config_default(&cfg);
	cfg.steps = 5;
	for (int i = 0; r == -ENOMEM; i++) {
		fm_test_alloc_fail_after(i);
		r = fm_learn_ae_new(6, 2, 1, &ae);
		fm_test_alloc_fail_after(-1);
		assert_true(r == 0 || r == -ENOMEM);
	}
	before = fm_test_alloc_count();
	/* every allocation of training fails in turn, then none */
	for (int i = 0;; i++) {
		fm_test_alloc_fail_after(i);
		r = fm_learn_ae_train(ae, &cfg, ds.n, fill_rows, &ds, NULL);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
	}
	assert_true(fm_test_alloc_count() > before);
	fm_test_alloc_fail_after(0);
	assert_int_equal(fm_learn_ae_loss_grad(ae, ds.x, ds.n, &loss, NULL),
	    -ENOMEM);
	fm_test_alloc_fail_after(-1);
	fm_learn_ae_free(ae);
	free(ds.x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ae_gradient_matches_finite_differences),
		cmocka_unit_test(test_ae_training_finds_the_subspace),
		cmocka_unit_test(test_ae_same_seed_same_parameters),
		cmocka_unit_test(
		    test_ae_proximal_term_holds_parameters_near_the_start),
		cmocka_unit_test(test_ae_proximal_anchor_pulls_toward_it),
		cmocka_unit_test(test_ae_divergence_restores_parameters),
		cmocka_unit_test(test_ae_residual_one_row_matches_batch),
		cmocka_unit_test(test_ae_rejects_bad_arguments),
		cmocka_unit_test(test_ae_out_of_memory),
	};

	fm_learn_blas_single_thread();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
