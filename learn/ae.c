/*
 * A linear autoencoder trained by Adam on mini-batches; all matrix work
 * through cblas (sgemm for batches, sgemv for one row).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

struct fm_learn_ae {
	uint32_t d; /* inputs (D) */
	uint32_t k; /* latent units */
	float *theta; /* E (k x d), be (k), Dm (d x k), bd (d) */
	float *h;     /* k: one row's latent code (scratch) */
};

/* Views into theta. */
static float *
ae_e(const fm_learn_ae *ae)
{
	return ae->theta;
}

static float *
ae_be(const fm_learn_ae *ae)
{
	return ae->theta + (size_t)ae->k * ae->d;
}

static float *
ae_dm(const fm_learn_ae *ae)
{
	return ae_be(ae) + ae->k;
}

static float *
ae_bd(const fm_learn_ae *ae)
{
	return ae_dm(ae) + (size_t)ae->d * ae->k;
}

size_t
fm_learn_ae_params_count(const fm_learn_ae *ae)
{
	return 2 * (size_t)ae->k * ae->d + ae->k + ae->d;
}

void
fm_learn_ae_train_config_default(fm_learn_ae_train_config *ret)
{
	*ret = (fm_learn_ae_train_config) {
		.steps = 2000,
		.batch = 64,
		.lr = 3e-3f,
		.beta1 = 0.9f,
		.beta2 = 0.999f,
		.eps = 1e-8f,
		.prox_mu = 0.0f,
		.seed = 1,
	};
}

int
fm_learn_ae_new(
    uint32_t n_inputs, uint32_t n_latent, uint64_t seed, fm_learn_ae **ret)
{
	fm_learn_ae *ae;
	fmi_learn_rng g;
	double scale;
	size_t n;

	if (n_inputs == 0 || n_inputs > FM_LEARN_AE_MAX_INPUTS ||
	    n_latent == 0 || n_latent > FM_LEARN_AE_MAX_LATENT ||
	    n_latent > n_inputs)
		return -EINVAL;
	ae = calloc(1, sizeof(*ae));
	if (!ae)
		return -ENOMEM;
	ae->d = n_inputs;
	ae->k = n_latent;
	n = fm_learn_ae_params_count(ae);
	ae->theta = calloc(n + n_latent, sizeof(float));
	if (!ae->theta) {
		free(ae);
		return -ENOMEM;
	}
	ae->h = ae->theta + n;
	fmi_learn_rng_init(&g, seed);
	scale = sqrt(1.0 / (double)n_inputs);
	for (size_t i = 0; i < (size_t)n_latent * n_inputs; i++)
		ae_e(ae)[i] = (float)(scale * fmi_learn_rng_normal(&g));
	for (size_t i = 0; i < (size_t)n_latent * n_inputs; i++)
		ae_dm(ae)[i] = (float)(scale * fmi_learn_rng_normal(&g));
	*ret = ae;
	return 0;
}

fm_learn_ae *
fm_learn_ae_free(fm_learn_ae *ae)
{
	if (ae) {
		free(ae->theta);
		free(ae);
	}
	return NULL;
}

uint32_t
fm_learn_ae_inputs(const fm_learn_ae *ae)
{
	return ae->d;
}

uint32_t
fm_learn_ae_latent(const fm_learn_ae *ae)
{
	return ae->k;
}

float *
fm_learn_ae_params(fm_learn_ae *ae)
{
	return ae->theta;
}

/* Scratch for a batch of up to n rows. */
typedef struct ae_scratch {
	float *h;    /* n x k: latent codes */
	float *y;    /* n x d: reconstructions, then residual gradients */
	float *gh;   /* n x k: gradient at the latent codes */
	float *ones; /* n */
} ae_scratch;

static int
scratch_init(ae_scratch *s, const fm_learn_ae *ae, size_t n)
{
	size_t k = ae->k, d = ae->d;

	s->h = malloc((n * (2 * k + d) + n) * sizeof(float));
	if (!s->h)
		return -ENOMEM;
	s->y = s->h + n * k;
	s->gh = s->y + n * d;
	s->ones = s->gh + n * k;
	for (size_t i = 0; i < n; i++)
		s->ones[i] = 1.0f;
	return 0;
}

static void
scratch_release(ae_scratch *s)
{
	free(s->h);
	s->h = NULL;
}

/* h = x E^T + be, y = h Dm^T + bd for the n rows of x. */
static void
forward(const fm_learn_ae *ae, const float *x, size_t n, ae_scratch *s)
{
	int k = (int)ae->k, d = (int)ae->d, rows = (int)n;

	for (size_t i = 0; i < n; i++) {
		memcpy(s->h + i * ae->k, ae_be(ae), ae->k * sizeof(float));
		memcpy(s->y + i * ae->d, ae_bd(ae), ae->d * sizeof(float));
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, d, 1.0f,
	    x, d, ae_e(ae), d, 1.0f, s->h, k);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, d, k, 1.0f,
	    s->h, k, ae_dm(ae), k, 1.0f, s->y, d);
}

/*
 * The loss over the n rows of x, and with grad its gradient: s->y turns
 * into dL/dy = 2 (y - x) / (n d), then
 * dDm = dy^T h, dbd = dy^T 1, dh = dy Dm, dE = dh^T x, dbe = dh^T 1.
 */
static double
loss_grad(const fm_learn_ae *ae, const float *x, size_t n, ae_scratch *s,
    float *grad)
{
	int k = (int)ae->k, d = (int)ae->d, rows = (int)n;
	size_t nd = n * ae->d;
	double loss;
	float *ge, *gbe, *gdm, *gbd;

	forward(ae, x, n, s);
	cblas_saxpy((int)nd, -1.0f, x, 1, s->y, 1); /* y - x */
	loss = 0.0;
	for (size_t i = 0; i < n; i++) {
		const float *r = s->y + i * ae->d;

		loss += (double)cblas_sdot(d, r, 1, r, 1);
	}
	loss /= (double)nd;
	if (!grad)
		return loss;
	ge = grad;
	gbe = ge + (size_t)ae->k * ae->d;
	gdm = gbe + ae->k;
	gbd = gdm + (size_t)ae->d * ae->k;
	cblas_sscal((int)nd, (float)(2.0 / (double)nd), s->y, 1);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, k, rows, 1.0f,
	    s->y, d, s->h, k, 0.0f, gdm, k);
	cblas_sgemv(CblasRowMajor, CblasTrans, rows, d, 1.0f, s->y, d, s->ones,
	    1, 0.0f, gbd, 1);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, k, d,
	    1.0f, s->y, d, ae_dm(ae), k, 0.0f, s->gh, k);
	cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, d, rows, 1.0f,
	    s->gh, k, x, d, 0.0f, ge, d);
	cblas_sgemv(CblasRowMajor, CblasTrans, rows, k, 1.0f, s->gh, k,
	    s->ones, 1, 0.0f, gbe, 1);
	return loss;
}

int
fm_learn_ae_loss_grad(fm_learn_ae *ae, const float *x, size_t n,
    double *ret_loss, float *grad)
{
	ae_scratch s;
	double loss;
	int r;

	if (n == 0 || n > FM_LEARN_AE_MAX_BATCH)
		return -EINVAL;
	r = scratch_init(&s, ae, n);
	if (r < 0)
		return r;
	loss = loss_grad(ae, x, n, &s, grad);
	scratch_release(&s);
	*ret_loss = loss;
	return 0;
}

bool
fm_learn_ae_train_config_is_valid(const fm_learn_ae_train_config *c)
{
	return c->steps >= 1 && c->batch >= 1 &&
	    c->batch <= FM_LEARN_AE_MAX_BATCH && isfinite(c->lr) &&
	    c->lr > 0.0f && c->beta1 >= 0.0f && c->beta1 < 1.0f &&
	    c->beta2 >= 0.0f && c->beta2 < 1.0f && c->eps > 0.0f &&
	    isfinite(c->eps) && isfinite(c->prox_mu) && c->prox_mu >= 0.0f;
}

static bool
all_finite(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			return false;
	}
	return true;
}

int
fm_learn_ae_train(fm_learn_ae *ae, const fm_learn_ae_train_config *cfg,
    size_t n_rows, fm_learn_rows_fn fill, void *userdata,
    fm_learn_ae_train_stats *ret)
{
	size_t np = fm_learn_ae_params_count(ae), b, pos;
	fm_learn_ae_train_stats st = { 0 };
	fmi_learn_adam adam;
	fmi_learn_rng g;
	ae_scratch s;
	uint32_t *idx = NULL;
	float *batch = NULL, *grad = NULL, *start = NULL;
	int r;

	if (!fm_learn_ae_train_config_is_valid(cfg) || n_rows == 0 ||
	    n_rows > FM_LEARN_AE_MAX_ROWS || !fill)
		return -EINVAL;
	b = cfg->batch < n_rows ? cfg->batch : n_rows;
	r = fmi_learn_adam_init(&adam, np);
	if (r < 0)
		return r;
	r = scratch_init(&s, ae, b);
	if (r < 0)
		goto out_adam;
	idx = malloc(n_rows * sizeof(*idx));
	batch = malloc(b * ae->d * sizeof(*batch));
	grad = malloc(2 * np * sizeof(*grad));
	if (!idx || !batch || !grad) {
		r = -ENOMEM;
		goto out_free;
	}
	start = grad + np;
	memcpy(start, ae->theta, np * sizeof(float));
	for (size_t i = 0; i < n_rows; i++)
		idx[i] = (uint32_t)i;
	fmi_learn_rng_init(&g, cfg->seed);
	pos = n_rows; /* shuffle before the first batch */
	for (uint32_t t = 0; t < cfg->steps; t++) {
		double loss;
		float lr;

		if (pos + b > n_rows) {
			fmi_learn_rng_shuffle(&g, idx, n_rows);
			pos = 0;
		}
		fill(userdata, idx + pos, b, batch);
		pos += b;
		loss = loss_grad(ae, batch, b, &s, grad);
		if (cfg->prox_mu > 0.0f) {
			/* d/dtheta mu/2 ||theta - anchor||^2 */
			cblas_saxpy((int)np, cfg->prox_mu, ae->theta, 1, grad, 1);
			cblas_saxpy((int)np, -cfg->prox_mu,
			    cfg->prox_anchor ? cfg->prox_anchor : start, 1, grad,
			    1);
		}
		if (t == 0)
			st.loss_first = loss;
		st.loss_last = loss;
		lr = (float)(0.5 * cfg->lr *
		    (1.0 + cos(M_PI * (double)t / (double)cfg->steps)));
		fmi_learn_adam_step(
		    &adam, ae->theta, grad, lr, cfg->beta1, cfg->beta2, cfg->eps);
		st.steps++;
	}
	if (!isfinite(st.loss_last) || !all_finite(ae->theta, np)) {
		memcpy(ae->theta, start, np * sizeof(float));
		r = -EDOM;
		goto out_free;
	}
	if (ret)
		*ret = st;
	r = 0;
out_free:
	free(grad);
	free(batch);
	free(idx);
	scratch_release(&s);
out_adam:
	fmi_learn_adam_release(&adam);
	return r;
}

void
fm_learn_ae_residual(
    fm_learn_ae *ae, const float *x, uint32_t n_out, float *ret_r)
{
	int k = (int)ae->k, d = (int)ae->d;

	memcpy(ae->h, ae_be(ae), ae->k * sizeof(float));
	cblas_sgemv(CblasRowMajor, CblasNoTrans, k, d, 1.0f, ae_e(ae), d, x,
	    1, 1.0f, ae->h, 1);
	/* ret_r = x - (Dm[0:n_out] h + bd[0:n_out]) */
	memcpy(ret_r, x, n_out * sizeof(float));
	cblas_saxpy((int)n_out, -1.0f, ae_bd(ae), 1, ret_r, 1);
	cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n_out, k, -1.0f,
	    ae_dm(ae), k, ae->h, 1, 1.0f, ret_r, 1);
}

int
fm_learn_ae_residual_batch(fm_learn_ae *ae, const float *x, size_t n,
    uint32_t n_out, float *ret_r)
{
	ae_scratch s;
	int r;

	if (n == 0 || n > FM_LEARN_AE_MAX_BATCH || n_out > ae->d)
		return -EINVAL;
	r = scratch_init(&s, ae, n);
	if (r < 0)
		return r;
	forward(ae, x, n, &s);
	for (size_t i = 0; i < n; i++) {
		const float *xi = x + i * ae->d, *yi = s.y + i * ae->d;
		float *ri = ret_r + i * n_out;

		memcpy(ri, xi, n_out * sizeof(float));
		cblas_saxpy((int)n_out, -1.0f, yi, 1, ri, 1);
	}
	scratch_release(&s);
	return 0;
}

void
fm_learn_blas_single_thread(void)
{
	openblas_set_num_threads(1);
}

const char *
fm_learn_blas_config(void)
{
	return openblas_get_config();
}
