/*
 * learn/ internals shared between its files; no other folder includes
 * this header.
 */
#ifndef FM_LEARN_INT_H
#define FM_LEARN_INT_H

#include <stddef.h>
#include <stdint.h>

/* ---- the GPD fit (learn/gpd.c) ----------------------------------------- */

/*
 * Peaks in time order: a ring's two segments. A positive value is an
 * excess over the POT threshold t; a negative one, -c, is censored: a
 * score known only to exceed t + c. The sums are over the ring.
 */
typedef struct fmi_learn_peaks {
	const float *seg[2];
	size_t n[2];
	size_t n_exact; /* uncensored peaks */
	double sum_y;   /* of the uncensored */
	double sum_c;   /* of the censoring points */
	double ymax;    /* of all, censoring points included */
} fmi_learn_peaks;

/* Describes the held values of ring[cap] whose next slot is head. The
 * view borrows ring. */
void fmi_learn_peaks_init(fmi_learn_peaks *v, const float *ring, uint32_t cap,
    uint32_t head, uint32_t held);

/*
 * Fits a GPD to v by maximum likelihood, censored points included.
 * Needs v->n_exact > 0. Returns 0 with the shape and scale, or -EDOM when
 * no maximum with gamma > -0.999 and a finite scale exists.
 */
int fmi_learn_gpd_fit_mle(
    const fmi_learn_peaks *v, double *ret_gamma, double *ret_sigma);

/* Fits a GPD to the uncensored peaks of v by the method of moments.
 * Returns 0, or -EDOM when their variance is 0 or the fit is invalid. */
int fmi_learn_gpd_fit_mom(
    const fmi_learn_peaks *v, double *ret_gamma, double *ret_sigma);

/* ---- the predictor's share (learn/predictor.c) ------------------------- */

struct fm_learn_predictor;

/* What fm_learn_predictor_share_import() would return, changing nothing:
 * 0, -ENODATA, -EINVAL or -EDOM. */
int fmi_learn_predictor_share_check(
    const struct fm_learn_predictor *p, const float *src, size_t n);

/* ---- a small seeded PRNG (splitmix64), so results depend on the seed
 * alone, not on libc ---------------------------------------------------- */

typedef struct fmi_learn_rng {
	uint64_t s;
} fmi_learn_rng;

static inline void
fmi_learn_rng_init(fmi_learn_rng *g, uint64_t seed)
{
	g->s = seed ^ 0x6a09e667f3bcc909ull;
}

static inline uint64_t
fmi_learn_rng_next(fmi_learn_rng *g)
{
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double
fmi_learn_rng_uniform(fmi_learn_rng *g)
{
	return (double)(fmi_learn_rng_next(g) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n >= 1 (Lemire's multiply-shift; the bias is below
 * 2^-32 for the n used here, and the result depends on the seed only). */
static inline uint32_t
fmi_learn_rng_below(fmi_learn_rng *g, uint32_t n)
{
	return (uint32_t)(((fmi_learn_rng_next(g) >> 32) * (uint64_t)n) >> 32);
}

/* A standard normal deviate (Box-Muller, one of the pair). */
double fmi_learn_rng_normal(fmi_learn_rng *g);

/* Shuffles idx[n] in place (Fisher-Yates). */
void fmi_learn_rng_shuffle(fmi_learn_rng *g, uint32_t *idx, size_t n);

/* ---- Adam (learn/adam.c) ------------------------------------------------- */

/* Adam's moments for n parameters, and its step count. The moments come
 * from fmi_learn_adam_init(), or from a model's own zeroed storage (with
 * t = 0, and no _release()) where training must not allocate. */
typedef struct fmi_learn_adam {
	float *m;
	float *v;
	size_t n;
	uint64_t t;
} fmi_learn_adam;

/* Allocates zeroed moments for n parameters. Returns 0 or -ENOMEM. */
int fmi_learn_adam_init(fmi_learn_adam *a, size_t n);

/* Frees the moments; idempotent. */
void fmi_learn_adam_release(fmi_learn_adam *a);

/* One Adam step of size lr on theta[a->n] with gradient g[a->n]
 * (Kingma & Ba 2015, bias-corrected). */
void fmi_learn_adam_step(fmi_learn_adam *a, float *theta, const float *g,
    float lr, float beta1, float beta2, float eps);

#endif
