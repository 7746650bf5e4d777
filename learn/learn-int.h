/*
 * learn/ internals shared between its files; no other folder includes
 * this header.
 */
#ifndef FM_LEARN_INT_H
#define FM_LEARN_INT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "learn/learn.h"

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

/* ---- the anomaly detector (learn/detector*.c) ----------------------------
 * detector.c: the per-row pipeline and scoring; detector-train.c:
 * training; detector-file.c: the file and the shared parameters. */

#define FMI_LEARN_BASELINE_MIN 1e-6 /* keeps R finite on constant data */
/* The feature moments travel scaled by this, so that they weigh no more
 * than the autoencoder's weights in an update's norm (a log-rate of 20
 * has a second moment of 400). FedAvg is linear: the fleet's scaled
 * moments are the scaled moments of every host's rows together. */
#define FMI_LEARN_MOMENT_SCALE 1e-3
/* The level-shift guard's histogram of ln R: FMI_LEARN_GUARD_BINS bins
 * (6.25% wide; their range is detector.c's), a median every
 * FMI_LEARN_GUARD_REFRESH rows. */
#define FMI_LEARN_GUARD_BINS    256u
#define FMI_LEARN_GUARD_REFRESH 30u

/* The EMA of the raw score and the gated baseline of the relative score. */
typedef struct fmi_learn_smoother {
	double ema;
	double baseline;
	bool started;
} fmi_learn_smoother;

/* A detector: its model, its scoring state and its scratch. What is
 * saved, and how, is detector-file.c's section table. */
/* A feature's reference in an event is its highest contribution up to
 * this many rows ago: a fault that grows (a leak) is measured against
 * itself a moment ago, a new one against what the event had before it. */
#define FMI_LEARN_EVENT_LAG 3u

struct fm_learn_detector {
	fm_learn_detector_config cfg;
	uint32_t d;
	uint32_t win_len; /* window * d */
	bool ready;
	/* the model */
	float *m;   /* d: means */
	float *s;   /* d: scales; 0 = feature unseen in training */
	float *rho; /* d: residual RMS */
	fm_learn_ae *ae;
	fm_learn_pot *pot;
	/* Once a fleet model was imported (fleet): the host's own
	 * autoencoder beside the personalised fleet one (ae), never
	 * exported, and its residual RMS; NULL until trained or imported. */
	bool fleet;
	fm_learn_ae *own;
	float *rho_own; /* d */
	/* Shared beside the fleet's autoencoder: the first and second
	 * moments of each feature over the host's last training rows
	 * (own_m1, own_m2; times FMI_LEARN_MOMENT_SCALE), and, once imported
	 * (has_prior), the fleet's (prior_m1, prior_m2), a prior on the
	 * host's scales (fm_learn_detector_config.prior_rows). */
	float *own_m1, *own_m2;     /* d each */
	bool has_prior;
	float *prior_m1, *prior_m2; /* d each */
	/* Without the fleet's: the owner's prior for a young model, each
	 * feature's typical scale (young_s, d) and the residuals' (1),
	 * weighing young_rows rows (0 = none); not saved, set before each
	 * training (fm_learn_detector_set_young_prior()). */
	float *young_s;
	float young_rows;
	bool has_typical; /* young_s holds them (also the scales' floors) */
	/* scoring state */
	float *ring;      /* (window - 1) x d raw rows, a ring */
	uint32_t ring_head; /* next slot */
	uint32_t ring_held;
	fmi_learn_smoother sm;
	bool alarm;
	float guard_hist[FMI_LEARN_GUARD_BINS]; /* faded counts of ln R */
	double guard;                           /* median R; 0 = none yet */
	uint32_t guard_count;                   /* rows since the last median */
	uint32_t run_on;  /* rows in a row at or above the threshold */
	uint32_t run_off; /* rows in a row below the clear level */
	/* scratch and outputs */
	float *z;       /* d: unclipped z of the current row */
	float *w;       /* win_len: the window */
	float *r;       /* d: residual */
	float *r_own;   /* d: the own autoencoder's residual */
	float *contrib; /* d */
	float *event;   /* d: contributions summed over the event */
	float *peak;    /* d: each one's highest over the event, up to
			 * FMI_LEARN_EVENT_LAG rows ago */
	float *lag;     /* FMI_LEARN_EVENT_LAG x d: the event's newest
			 * contributions, a ring, not in peak yet */
	float *carry;   /* d: the earlier events' peaks in this alarm */
	uint32_t event_rows; /* rows of the event so far */
	uint32_t run_new;    /* rows in a row that look like a new fault */
	bool onset;     /* the last row began an event */
	bool raise;     /* the next row begins one (fm_learn_detector_raise()) */
};

/* The residuals of one row: the (personalised fleet or only)
 * autoencoder's r[d] against its residual scales rho[d] and, beside it
 * once the detector is in a fleet, the host's own r2[d] against rho2[d]
 * (NULL otherwise). */
typedef struct fmi_learn_residuals {
	const float *r, *rho;
	const float *r2, *rho2;
} fmi_learn_residuals;

/* The normalised value of x against (m, s): 0 when masked or unseen. */
static inline float
fmi_learn_norm1(float x, float m, float s)
{
	if (!isfinite(x) || s == 0.0f)
		return 0.0f;
	return (x - m) / s;
}

/* The normalised, clipped row x[d] into dst[d] with the given model. */
void fmi_learn_norm_row(const float *x, const float *m, const float *s,
    uint32_t d, float clip, float *dst);

/* Contributions from the current row x[d] (its unclipped z[d] and
 * residuals e, with scales s[d]) into contrib[d]; returns their sum. With
 * two autoencoders the residual term is the mean of theirs. A masked or
 * unseen feature contributes nothing: its value is unknown, not normal. */
double fmi_learn_contributions(const fm_learn_detector_config *c, uint32_t d,
    const float *x, const float *s, const float *z,
    const fmi_learn_residuals *e, float *contrib);

/* One step of the EMA and the gated baseline: the relative score of raw
 * score a. */
double fmi_learn_smoother_step(
    fmi_learn_smoother *sm, const fm_learn_detector_config *c, double a);

/* Counts relative score rel into the guard's hist[FMI_LEARN_GUARD_BINS];
 * every FMI_LEARN_GUARD_REFRESH rows (*count) the median *guard is
 * refreshed and the counts fade by the half-life. */
void fmi_learn_guard_push(float *hist, double *guard, uint32_t *count,
    const fm_learn_detector_config *c, double rel);

/* The alarm threshold now: the POT's, or the guard's when higher. */
double fmi_learn_detector_threshold(const fm_learn_detector *det);

/* Points *slices[0], *slices[1], … at consecutive runs of d floats from
 * base. */
void fmi_learn_slice(float *base, size_t d, float **const *slices, size_t n);

/* The raw row i rows back (1 = the previous row) from the scoring ring,
 * or NULL when the ring holds fewer. */
const float *fmi_learn_detector_ring_back(
    const fm_learn_detector *det, uint32_t i);

/* A copy of autoencoder from, or (from NULL) a new one from the seed,
 * shaped for det. Returns 0 or -ENOMEM. */
int fmi_learn_detector_ae_start(
    const fm_learn_detector *det, fm_learn_ae *from, fm_learn_ae **ret);

/* Training rows, normalised and clipped, for the window filler. */
typedef struct fmi_learn_window_rows {
	const float *zc; /* n x d */
	uint32_t d;
	uint32_t window;
} fmi_learn_window_rows;

/* The autoencoder's fm_learn_rows_fn over an fmi_learn_window_rows: the
 * window of row t is rows t, t-1, …, t-window+1 (row 0 repeated before
 * row 0), the order the scoring window has; never a row after t. */
void fmi_learn_windows_fill(
    void *userdata, const uint32_t *idx, size_t n, float *batch);

#endif
