/*
 * learn/predictor.h: the failure predictor (learn/predictor.c).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_PREDICTOR_H
#define FM_LEARN_PREDICTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "learn/model.h"
#include "learn/params.h"

/*
 * A supervised, calibrated failure predictor: the probability that a
 * failure of one kind (an OOM kill, a full filesystem, a failing health
 * check, a manual label: one predictor per label source) begins within
 * the next H rows. Logistic regression on a causal window of the
 * caller's normalised rows, trained by Adam on seeded mini-batches with
 * an L2 penalty and a positive-class weight (failures are rare), then
 * calibrated so that the weighting does not inflate the probability.
 *
 * Inputs. Rows are normalised per feature (0 = typical) by the caller;
 * NaN marks a masked value. fm_learn_predictor_features() turns row t of
 * a history into the input x_t of n_inputs = 3 n_features + n_extra
 * values: z_t, the window mean, the change over the window, then the
 * caller's extra scalars (e.g. the detector's anomaly score). Every input
 * the model sees, from the builder or not, is sanitised the same way in
 * training and in prediction: NaN and infinities count as 0 (masked =
 * typical) and finite values are clipped to +-FM_LEARN_PREDICTOR_INPUT_MAX,
 * so no input can make a weight non-finite.
 *
 * Bias and calibration. Training weights each positive by pos_weight =
 * n_neg / n_pos of the call's data (clamped to [1, max_pos_weight]) and
 * fits the logit w.x + b + log(pos_weight): the weighted optimum is the
 * unweighted one shifted by log(pos_weight) (the prior correction), so
 * the stored bias b is already on the unweighted scale. That keeps the
 * shared parameters comparable between hosts whose failure rates, hence
 * weights, differ. With FM_LEARN_PREDICTOR_CALIB_PLATT (the default) the
 * output is then sigmoid(a (w.x + b) + c) with (a, c) fitted on the
 * training rows by Newton's method on the unweighted log loss with
 * Platt's smoothed targets, which also undoes the shrinkage of L2; with
 * FM_LEARN_PREDICTOR_CALIB_PRIOR, a = 1 and c = 0. The calibration and
 * the counts are local state, saved but not among the shared parameters.
 * The class weight therefore never reaches the output: a probability is
 * on the unweighted scale, whatever the weight.
 *
 * Shrinkage toward the base rate. Platt's fit is made on the training
 * rows, and the rows before one failure are not independent: with two
 * failures in the data, a weight vector that separates their 60 rows
 * from the rest gets a calibrated 0.99 on rows like them, on the
 * evidence of two events (on a live host: p(oom) 0.94 to 0.999 for 24
 * minutes after 2 OOM onsets, nothing coming). So the probability is
 *   p = lambda p_fit + (1 - lambda) pi,  lambda = E / (E + E0)
 * where p_fit = sigmoid(a (w.x + b) + c), pi the base rate (n_pos / (n_pos
 * + n_neg) of the rows trained on), E the failure onsets in the data of
 * the last training call with a positive (runs of positive targets:
 * onsets within a horizon of each other are one) and E0 the config's
 * prior_events: the posterior mean of a mixture that trusts the fit with
 * the weight of E observed events against E0 pseudo-events that follow
 * the base rate. With E0 = 4 (the default) a predictor with 2 onsets
 * is at most 1/3 + 2/3 pi, one with 20 at most 0.83 + 0.17 pi, one with
 * 100 at most 0.96 + 0.04 pi. lambda is the same for every input of one
 * fit, so the ranking of the inputs, hence the discrimination (AUC, AUC-PR),
 * is the fit's. Weights from a fleet (_params_import(), _share_import())
 * are not shrunk (lambda = 1): they rest on the fleet's failures, which
 * this host cannot count; the caller's gate on local onsets (the agent's
 * [learn] failure_min_events) still applies to them (E = 0). Neither is a
 * predictor saved before E was counted, until a training refits it. E is
 * saved with the predictor.
 *
 * Untrained. Until a training call sees a positive (or trained weights
 * are loaded or imported) the predictor is untrained: it predicts 0, the
 * base rate of the failures it has seen, and says so in its status.
 *
 * Threads: fm_learn_predictor_predict() and the getters may run
 * concurrently with each other; everything that modifies the predictor
 * (train, loss_grad, import, reset) needs the caller's exclusion.
 */

/* The model-file kind of a file holding only a predictor. */
#define FM_LEARN_KIND_PREDICTOR 3u

#define FM_LEARN_PREDICTOR_MAX_FEATURES 4096u   /* per row */
#define FM_LEARN_PREDICTOR_MAX_WINDOW   100000u /* rows */
#define FM_LEARN_PREDICTOR_MAX_EXTRA    16u     /* extra scalars */
#define FM_LEARN_PREDICTOR_MAX_BATCH    4096u   /* rows per step */
#define FM_LEARN_PREDICTOR_MAX_EPOCHS   10000u
#define FM_LEARN_PREDICTOR_MAX_ROWS     10000000u /* per training call */
#define FM_LEARN_PREDICTOR_MAX_HORIZON  1000000u  /* rows */
/* |input| beyond this is clipped: a z-score of 1000 is extreme enough,
 * and the bound keeps every gradient finite. */
#define FM_LEARN_PREDICTOR_INPUT_MAX 1000.0f
/* An imported weight or bias beyond +-this is refused: no fit reaches it
 * (inputs are clipped to +-FM_LEARN_PREDICTOR_INPUT_MAX and w is
 * L2-penalised), and the bound keeps w.x + b finite, so a fleet model
 * cannot make a prediction NaN. */
#define FM_LEARN_PREDICTOR_PARAM_MAX 1e6
/* A training target excluded from training (see _labels()). */
#define FM_LEARN_PREDICTOR_LABEL_SKIP 0xffu
/* Section ids base … base + FM_LEARN_PREDICTOR_SECTIONS - 1 hold a saved
 * predictor. */
#define FM_LEARN_PREDICTOR_SECTIONS 16u
/* Parameter blocks: the weights w (n_inputs), then the bias b (1). */
#define FM_LEARN_PREDICTOR_PARAM_BLOCKS 2u
/* The default prior strength E0 of the shrinkage, in pseudo-events. */
#define FM_LEARN_PREDICTOR_PRIOR_EVENTS 4.0f

typedef struct fm_learn_predictor fm_learn_predictor;

/* How probabilities are calibrated (see above). */
enum fm_learn_predictor_calibration {
	FM_LEARN_PREDICTOR_CALIB_PRIOR = 0, /* a = 1, c = 0 */
	FM_LEARN_PREDICTOR_CALIB_PLATT = 1, /* (a, c) fitted when trained */
};

typedef struct fm_learn_predictor_config {
	/* The input's shape, part of the layout id. */
	uint32_t n_features;     /* d, values per row, 1…MAX_FEATURES */
	uint32_t window;         /* W rows, 1…MAX_WINDOW; default 10 */
	uint32_t n_extra;        /* extra scalars, 0…MAX_EXTRA; default 1 */
	uint32_t schema_version; /* of the rows' feature schema; default 0 */
	/* Training. */
	float l2;             /* penalty on w (not b), [0, 1]; 1e-4 */
	float lr;             /* Adam step, (0, 1]; default 0.01 */
	uint32_t epochs;      /* passes per training call, 1…; default 10 */
	uint32_t batch;       /* rows per step, 1…MAX_BATCH; default 64 */
	uint64_t seed;        /* of the shuffling; default 1 */
	float max_pos_weight; /* cap of pos_weight, [1, 1e6]; default 100 */
	float prior_events;   /* E0 of the shrinkage, [0, 1e6] (0: none);
	                       * default FM_LEARN_PREDICTOR_PRIOR_EVENTS */
	enum fm_learn_predictor_calibration calibration; /* default PLATT */
} fm_learn_predictor_config;

/* What one training call did. */
typedef struct fm_learn_predictor_stats {
	double loss;       /* after training, as from _loss_grad() */
	double pos_weight; /* the weight given to positives */
	size_t n_pos;      /* rows used, by target */
	size_t n_neg;
	size_t n_skipped;  /* targets FM_LEARN_PREDICTOR_LABEL_SKIP */
	uint64_t n_events; /* failure onsets: runs of positive targets */
	uint32_t epochs;   /* run: 0 when the data held no positive */
} fm_learn_predictor_stats;

typedef struct fm_learn_predictor_status {
	bool trained; /* false: predicts base_rate */
	enum fm_learn_predictor_calibration calibration; /* in use */
	double calib_a, calib_c; /* p = sigmoid(a (w.x + b) + c) */
	uint64_t n_pos, n_neg;   /* rows trained on since new or reset */
	double base_rate;        /* n_pos / (n_pos + n_neg), 0 with none */
	uint64_t events; /* E: onsets behind the current local weights */
	bool shrunk;     /* by E; false: untrained, or weights whose onsets
	                  * were not counted (a fleet's, an old save's) */
	double trust;    /* lambda in [0, 1] (1 when not shrunk); 0 untrained */
} fm_learn_predictor_status;

/* Fills *ret with the defaults above; n_features is 0 and must be set. */
void fm_learn_predictor_config_default(fm_learn_predictor_config *ret);

/* Whether cfg holds values fm_learn_predictor_new() accepts. */
bool fm_learn_predictor_config_is_valid(const fm_learn_predictor_config *cfg);

/* The input length of a predictor of cfg: 3 n_features + n_extra. Pure. */
size_t fm_learn_predictor_n_inputs(const fm_learn_predictor_config *cfg);

/*
 * Builds the input of row t from rows[n_rows x n_features] (row-major,
 * time order, NaN = masked) and extra[n_extra] (NULL: all masked) into
 * ret_x[n_inputs]:
 *   x[0, d)   z_t
 *   x[d, 2d)  mean of the finite z over rows max(0, t-W+1) … t (0 when
 *             none: the mean of observed values, so a masked value does
 *             not drag it towards 0)
 *   x[2d, 3d) z_t - z_s, s = max(0, t-W+1) (0 when either is masked: an
 *             unknown change is no evidence of one)
 *   x[3d, …)  extra
 * after clipping each z to +-FM_LEARN_PREDICTOR_INPUT_MAX; masked values
 * become 0. Causal: only rows up to t are read, so rows after t may be
 * absent or change freely. Returns 0, or -EINVAL for an invalid cfg,
 * NULL rows or t >= n_rows; ret_x is written only on success. Pure;
 * thread-safe.
 */
int fm_learn_predictor_features(const fm_learn_predictor_config *cfg,
    const float *rows, size_t n_rows, size_t t, const float *extra,
    float *ret_x) FM_WUR;

/*
 * Turns per-row event flags (non-zero: the failure is present in the
 * row) into training targets for a horizon of H rows. An event begins at
 * row s when events[s] != 0 and s is 0 or events[s - 1] == 0. Then:
 *   1     when an event begins in (t, t + H];
 *   SKIP  otherwise, when events[t] != 0 (during an event nothing is left
 *         to predict, and its rows are not normal ones either);
 *   SKIP  otherwise, when t + H >= n (the end of the data cuts the
 *         horizon short: a failure may yet follow);
 *   0     otherwise.
 * SKIP is FM_LEARN_PREDICTOR_LABEL_SKIP. ret_y[n] may be events itself.
 * Returns 0, -EINVAL for horizon 0 or above FM_LEARN_PREDICTOR_MAX_HORIZON
 * or a NULL array with n > 0, -EMSGSIZE for n above
 * FM_LEARN_PREDICTOR_MAX_ROWS (nothing written). Pure; thread-safe.
 */
int fm_learn_predictor_labels(
    const uint8_t *events, size_t n, uint32_t horizon, uint8_t *ret_y) FM_WUR;

/*
 * Allocates an untrained predictor (zero weights, every buffer training
 * steps will use) with a copy of cfg. On success *ret owns it
 * (fm_learn_predictor_free()); on failure *ret is untouched. Returns 0,
 * -EINVAL for an invalid cfg, -ENOMEM.
 */
int fm_learn_predictor_new(
    const fm_learn_predictor_config *cfg, fm_learn_predictor **ret) FM_WUR;

/* Frees p (NULL-safe); returns NULL. */
fm_learn_predictor *fm_learn_predictor_free(fm_learn_predictor *p);

/* Forgets everything learned: zero weights, no calibration, no counts,
 * untrained. Never fails. */
void fm_learn_predictor_reset(fm_learn_predictor *p);

/*
 * Trains p on X[n x n_inputs] (row-major, borrowed for the call) with
 * targets y[n] (0, 1 or FM_LEARN_PREDICTOR_LABEL_SKIP), continuing from
 * the current weights (warm start: e.g. a fleet model, fine-tuned): cfg
 * epochs of Adam over seeded shuffles (fresh moments each call), then the
 * calibration refit on the same rows. Same predictor state, data and
 * seed give bit-identical weights (on one host, one cblas build). With no
 * positive in the data the weights, calibration and E are left alone
 * and only the counts grow (no error); with one, E becomes the onsets in
 * the data. Non-finite and out-of-range inputs are
 * sanitised (see above), never skipped. Allocates scratch for the call
 * (O(n)). Fills *ret_stats when it is not NULL. Returns 0; -EINVAL for a
 * NULL array with n > 0 or a target other than 0, 1, SKIP; -EMSGSIZE for
 * n above FM_LEARN_PREDICTOR_MAX_ROWS; -ENOMEM. On failure p is unchanged.
 */
int fm_learn_predictor_train(fm_learn_predictor *p, const float *X,
    const uint8_t *y, size_t n, fm_learn_predictor_stats *ret_stats) FM_WUR;

/*
 * The calibrated probability, in [0, 1], that a failure begins within
 * the horizon, for the input x[n_inputs] (sanitised as in training),
 * shrunk toward the base rate by the onsets it learned from (see above).
 * Untrained: the base rate, 0. Never allocates; thread-safe against
 * other readers.
 */
double fm_learn_predictor_predict(const fm_learn_predictor *p, const float *x);

/*
 * The training objective at the current parameters on X[n x n_inputs]
 * and y[n] (rows with target SKIP left out), for gradient checks:
 *   L = (1/N) sum_i c_i l(w.x_i + b + log(pw), y_i) + (l2/2) |w|^2
 * with l the log loss, c_i = pw for positives and 1 for negatives, pw as
 * in training (1 with no positive), N the rows used (L = (l2/2)|w|^2
 * when N = 0). Writes L and dL/d(w, b) into ret_grad[n_inputs + 1] (w
 * then b). Uses p's scratch buffers (allocates nothing); parameters
 * unchanged. Returns 0; -EINVAL, -EMSGSIZE as fm_learn_predictor_train().
 */
int fm_learn_predictor_loss_grad(fm_learn_predictor *p, const float *X,
    const uint8_t *y, size_t n, double *ret_loss, float *ret_grad) FM_WUR;

/* Fills *ret with p's state. */
void fm_learn_predictor_status_get(
    const fm_learn_predictor *p, fm_learn_predictor_status *ret);

/*
 * Describes p's shared parameters as FM_LEARN_PREDICTOR_PARAM_BLOCKS
 * blocks in flat-vector order (w, then b) in blocks[cap], for
 * fm_learn_params_export(). The blocks point into p and live as long as
 * it does. Writing through them changes the weights but not the state or
 * the calibration; use fm_learn_predictor_params_import() to install a
 * fleet model. Returns the number of blocks, or -ENOBUFS when cap is too
 * small.
 */
int fm_learn_predictor_params(
    fm_learn_predictor *p, fm_learn_param_block *blocks, size_t cap) FM_WUR;

/*
 * The layout id of p's flat parameter vector: kind FM_LEARN_KIND_PREDICTOR,
 * cfg schema_version, dims { n_features, window, n_extra }. Two predictors
 * with equal ids may average their vectors. Pure.
 */
uint32_t fm_learn_predictor_layout_id(const fm_learn_predictor *p);

/*
 * Installs the flat parameter vector src[n] (w, then b) that claims
 * layout src_layout_id, e.g. a fleet model. All or nothing. On success p
 * is trained and calibrated by the prior correction (a = 1, c = 0) until
 * the next training call with a positive refits it; counts are kept.
 * Returns 0; -ESTALE for another layout; -EINVAL when n is not
 * n_inputs + 1; -EDOM for a non-finite value or one beyond
 * FM_LEARN_PREDICTOR_PARAM_MAX. On failure p is unchanged.
 */
int fm_learn_predictor_params_import(fm_learn_predictor *p,
    uint32_t src_layout_id, const float *src, size_t n) FM_WUR;

/*
 * The predictor's share in a fleet model: its weights and bias scaled by
 * a weight k >= 0, then k itself (n_inputs + 2 floats). A sum of shares
 * with any non-negative coefficients (FedAvg's, by sample count) divided
 * by its last value is a weighted mean of the hosts' predictors, each
 * weighted by its coefficient times its k; a host that sends k = 0 (or
 * whose predictor is untrained) adds nothing. A host sets k to the
 * failures it learned from per sample of its update, so that under
 * FedAvg a host's say in the fleet's predictor is its count of failures,
 * not of rows: the labels are rare, and the fleet's predictor is made of
 * them. FedAvg keeps that meaning; a server optimiser (FedAdam) moves
 * the shares by steps and does not.
 */
#define FM_LEARN_PREDICTOR_SHARE_MIN_WEIGHT 1e-20 /* below: no fleet model */

/* The share's length: n_inputs + 2. Pure. */
size_t fm_learn_predictor_share_count(const fm_learn_predictor *p);

/*
 * Writes p's share with weight k into dst[n] (all zeros when p is
 * untrained). Returns 0; -EINVAL when n is not the share count; -EDOM for
 * a negative or non-finite k, or one that overflows a float (nothing
 * written).
 */
int fm_learn_predictor_share_export(const fm_learn_predictor *p,
    double weight, float *dst, size_t n) FM_WUR;

/*
 * Installs the fleet's predictor from a sum of shares src[n] (see above):
 * the weights are src[i] / k. All or nothing. On success p is trained and
 * calibrated by the prior correction (a = 1, c = 0), as after
 * fm_learn_predictor_params_import(); counts are kept. Returns 0;
 * -ENODATA when k is below FM_LEARN_PREDICTOR_SHARE_MIN_WEIGHT (no host
 * has learned anything: p is unchanged); -EINVAL when n is not the share
 * count; -EDOM for a non-finite or negative value, or a quotient beyond
 * FM_LEARN_PREDICTOR_PARAM_MAX. The caller checks the layout
 * (fm_learn_fleet_layout_id()).
 */
int fm_learn_predictor_share_import(
    fm_learn_predictor *p, const float *src, size_t n) FM_WUR;

/*
 * Appends p (its shape, state, calibration, counts, and the weights as
 * FM_LEARN_SECTION_PARAM sections) as sections base … base +
 * FM_LEARN_PREDICTOR_SECTIONS - 1, so several predictors and a detector
 * can share a file; a file of its own uses kind FM_LEARN_KIND_PREDICTOR.
 * The training settings are not saved: they are the loader's cfg.
 * Returns 0, -EINVAL when the ids would overflow or do not follow the
 * writer's last id, or the writer's error.
 */
int fm_learn_predictor_save(const fm_learn_predictor *p, uint32_t base,
    fm_learn_model_writer *w) FM_WUR;

/*
 * Restores a predictor saved at base in a decoded file, with the
 * training settings of cfg, whose shape (n_features, window, n_extra,
 * schema_version) must be the saved one. The restored predictor predicts
 * bit-identically to the saved one. On success *ret owns a new predictor;
 * on failure *ret is untouched. Returns 0; -EINVAL for an invalid cfg or
 * a base that would overflow; -ENOENT when nothing is saved at base;
 * -ESTALE when another model is saved there or the shape differs;
 * -EPROTONOSUPPORT for an unknown state version; -EDOM for a non-finite
 * or out-of-domain value (calibration slope <= 0); -EBADMSG for missing
 * or inconsistent sections; -ENOMEM.
 */
int fm_learn_predictor_load(const fm_learn_model_reader *r, uint32_t base,
    const fm_learn_predictor_config *cfg, fm_learn_predictor **ret) FM_WUR;

#endif
