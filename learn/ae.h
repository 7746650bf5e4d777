/*
 * learn/ae.h: the BLAS and the linear autoencoder (learn/ae.c).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_AE_H
#define FM_LEARN_AE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/*
 * Makes the BLAS run every call on the calling thread: no worker threads
 * (whose stacks and buffers would cost the agent megabytes) and results
 * that do not depend on how work was split. Call once, before any other
 * learn/ function, from a process's main thread.
 */
void fm_learn_blas_single_thread(void);

/* The BLAS's build description (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …
 * Haswell"), static, for benchmarks and --version. */
const char *fm_learn_blas_config(void);


/*
 * A linear autoencoder: h = E x + be (k latent units), y = Dm h + bd,
 * trained by Adam on mini-batches to minimise the mean squared
 * reconstruction error (1 / (n D)) sum ||y - x||^2 over n rows of D
 * inputs. At its optimum it spans the principal subspace (what PCA
 * finds), but unlike an eigen-decomposition it continues from where it
 * stands: from the fleet's model, from yesterday's, with a proximal term
 * toward its starting point (FedProx), and its parameters average
 * (FedAvg). The parameters are one flat float vector, in this order:
 * E (k x D, row-major), be (k), Dm (D x k, row-major), bd (D).
 *
 * An autoencoder is not thread-safe: one thread at a time.
 */
typedef struct fm_learn_ae fm_learn_ae;

#define FM_LEARN_AE_MAX_INPUTS 16384u
#define FM_LEARN_AE_MAX_LATENT 1024u
#define FM_LEARN_AE_MAX_BATCH  65536u
#define FM_LEARN_AE_MAX_ROWS   100000000u

/* Fills batch[n x D] (row-major) with the rows idx[n] of the caller's
 * data; the trainer owns nothing the callback touches. */
typedef void (*fm_learn_rows_fn)(
    void *userdata, const uint32_t *idx, size_t n, float *batch);

typedef struct fm_learn_ae_train_config {
	uint32_t steps; /* mini-batch steps; default 2000 */
	uint32_t batch; /* rows per step (fewer if there are fewer); 64 */
	float lr;       /* peak step size, cosine-decayed to 0; 3e-3 */
	float beta1;    /* Adam; 0.9 */
	float beta2;    /* Adam; 0.999 */
	float eps;      /* Adam; 1e-8 */
	float prox_mu;  /* FedProx mu / 2 ||theta - anchor||^2; 0 */
	uint64_t seed;  /* mini-batch order; 1 */
	/* The proximal term's anchor, params_count floats the caller keeps
	 * alive during training (e.g. the fleet's model while training a
	 * personal one, as in Ditto); NULL: the starting point (FedProx). */
	const float *prox_anchor;
} fm_learn_ae_train_config;

typedef struct fm_learn_ae_train_stats {
	double loss_first; /* mean squared error of the first mini-batch */
	double loss_last;  /* … of the last one */
	uint32_t steps;
} fm_learn_ae_train_stats;

/* Fills *ret with the defaults above. */
void fm_learn_ae_train_config_default(fm_learn_ae_train_config *ret);

/* Whether fm_learn_ae_train() accepts c. Pure. */
bool fm_learn_ae_train_config_is_valid(const fm_learn_ae_train_config *c);

/*
 * Allocates an autoencoder with n_inputs inputs (D, 1 … MAX_INPUTS) and
 * n_latent latent units (1 … min(D, MAX_LATENT)), initialised from seed:
 * every weight ~ N(0, 1/D), biases 0. On success *ret owns it. Errors:
 * -EINVAL, -ENOMEM.
 */
int fm_learn_ae_new(uint32_t n_inputs, uint32_t n_latent, uint64_t seed,
    fm_learn_ae **ret) FM_WUR;

/* Frees ae (NULL-safe); returns NULL. */
fm_learn_ae *fm_learn_ae_free(fm_learn_ae *ae);

uint32_t fm_learn_ae_inputs(const fm_learn_ae *ae);
uint32_t fm_learn_ae_latent(const fm_learn_ae *ae);

/* The flat parameter vector (fm_learn_ae_params_count() floats), owned
 * by ae, valid while it lives; callers may write it (import). */
float *fm_learn_ae_params(fm_learn_ae *ae);
size_t fm_learn_ae_params_count(const fm_learn_ae *ae);

/*
 * The mean squared reconstruction error over x[n x D] in *ret_loss and,
 * if grad is not NULL, its gradient in grad[params_count]. Allocates
 * scratch. Errors: -EINVAL (n = 0 or above MAX_BATCH), -ENOMEM.
 */
int fm_learn_ae_loss_grad(fm_learn_ae *ae, const float *x, size_t n,
    double *ret_loss, float *grad) FM_WUR;

/*
 * Trains on n_rows rows that fill() supplies, cfg->steps Adam steps on
 * mini-batches drawn without replacement (reshuffled every pass) with
 * cfg->seed, from the current parameters. Rows must be finite: the
 * caller masks before. If training ends with a non-finite loss or
 * parameter, the parameters go back to where it started and -EDOM is
 * returned.
 * *ret (may be NULL) gets the losses. Errors: -EINVAL (bad config,
 * n_rows 0 or above MAX_ROWS), -ENOMEM, -EDOM.
 */
int fm_learn_ae_train(fm_learn_ae *ae, const fm_learn_ae_train_config *cfg,
    size_t n_rows, fm_learn_rows_fn fill, void *userdata,
    fm_learn_ae_train_stats *ret) FM_WUR;

/*
 * The reconstruction residual of one row, for its first n_out inputs:
 * ret_r[j] = x[j] - y[j], j < n_out <= D. Two matrix-vector products,
 * no allocation.
 */
void fm_learn_ae_residual(
    fm_learn_ae *ae, const float *x, uint32_t n_out, float *ret_r);

/*
 * The residuals of n rows x[n x D] at once (matrix products), their first
 * n_out columns into ret_r[n x n_out]. Allocates scratch. Errors:
 * -EINVAL, -ENOMEM.
 */
int fm_learn_ae_residual_batch(fm_learn_ae *ae, const float *x, size_t n,
    uint32_t n_out, float *ret_r) FM_WUR;

#endif
