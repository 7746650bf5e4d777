/*
 * learn/detector.h: the anomaly detector of one host (learn/detector.c:
 * the pipeline and scoring; learn/detector-train.c: training;
 * learn/detector-file.c: its file and its shared parameters).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_DETECTOR_H
#define FM_LEARN_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "learn/ae.h"
#include "learn/threshold.h"

/*
 * The anomaly detector of one host, over rows of d features (set at run
 * time; NaN or infinite = masked):
 *
 *  1. normalise: z_j = (x_j - m_j) / s_j with the host's own mean and
 *     standard deviation (s_j at least std_floor; a feature never seen
 *     in training, or masked now, gives z_j = 0);
 *  2. a linear autoencoder over a window of the last `window` rows of z
 *     clipped to +-clip (current row first) gives the residual r_j of the
 *     current row; rho_j is r_j's RMS over the training rows;
 *  3. per feature contribution c_j = (min((r_j/rho_j)^2, cap) +
 *     z_weight min(z_j^2, cap)) / d: the autoencoder catches a broken
 *     relation between features, the z term a feature far from its own
 *     normal (the cheap per-feature baseline). The raw score is sum c_j;
 *  4. smoothing by an EMA of span ema_span rows;
 *  5. relative score R = smoothed / b, where b, the score's baseline,
 *     follows slow drift (time constant baseline_rows) but only learns
 *     from rows with R < baseline_gate: an incident is never absorbed;
 *  6. a POT threshold (fm_learn_pot) calibrated on the training rows'
 *     R, raised to guard_factor times the median of R over the last days
 *     (an exponentially fading log-histogram with a half-life of
 *     guard_half_rows) when that is higher: an alarm needs a score well
 *     above what is now typical for the host, so a lasting level shift
 *     the baseline's gate keeps out does not hold an alarm for days,
 *     while an incident shorter than the half-life cannot move the
 *     median;
 *  7. the score is R, or, when higher, the onset term: the raw score
 *     relative to b, divided by onset_factor (0 = no onset term). A
 *     sudden change is then seen at its first row rather than after the
 *     EMA has caught up with it, while the smoothed R, whose noise is
 *     smaller, still decides every ordinary crossing. An alarm is
 *     raised after alarm_on rows in a row with the score at or above
 *     the threshold, or at once by a row whose onset term is, and
 *     cleared after alarm_off rows in a row below clear_ratio times it.
 *
 * In a fleet (after the first fm_learn_detector_params_import()) the
 * detector keeps two autoencoders: the fleet's, personalised on the
 * host's rows at every training (the only parameters ever exported), and
 * the host's own, which only ever learns from the host (it starts as the
 * model trained before joining, or from the seed on a host that joins
 * before its first training). The residual term of step 3 is then the
 * mean of the two, each against its own rho: an output-level mix of the
 * personal and the global model, as in APFL (Deng et al. 2020), so the
 * fleet's knowledge adds to the host's own model instead of replacing
 * it.
 *
 * Scoring is causal (row t uses rows <= t only), costs two
 * matrix-vector products (four in a fleet) and never allocates. Before the first training
 * every row scores 0 without alarm. A detector is not thread-safe; the
 * agent trains a new one in the background and swaps it in.
 */
typedef struct fm_learn_detector fm_learn_detector;

/* The model-file kind of a detector. */
#define FM_LEARN_KIND_DETECTOR 2u

#define FM_LEARN_DETECTOR_MAX_FEATURES 1024u
#define FM_LEARN_DETECTOR_MAX_WINDOW   64u
#define FM_LEARN_DETECTOR_MIN_ROWS     64u /* training rows needed */
#define FM_LEARN_DETECTOR_MAX_ROWS     10000000u

typedef struct fm_learn_detector_config {
	uint32_t n_features;     /* d, 1 … MAX_FEATURES */
	uint32_t schema_version; /* carried into files; 0 = none (replay) */
	uint32_t window;         /* rows of context, 1 … MAX_WINDOW; 5 */
	uint32_t latent;         /* autoencoder units, <= window * d; 8 */
	float std_floor;         /* > 0; 0.01 */
	float clip;              /* autoencoder inputs clipped, > 0; 10 */
	float rho_floor;         /* > 0; 1e-3 */
	float cap;               /* of each squared term, > 0; 100 */
	float z_weight;          /* >= 0; 1 */
	float ema_span;          /* rows, >= 1 (1 = no smoothing); 10 */
	float baseline_rows;     /* baseline time constant, rows; 3 days */
	float baseline_gate;     /* > 1; 3 */
	uint32_t alarm_on;       /* rows at or above the threshold; 3 */
	float onset_factor;      /* 0 (off) or >= 1; 5: see above */
	uint32_t alarm_off;      /* rows below it to clear; 10 */
	float clear_ratio;       /* (0, 1]; 1 */
	float guard_factor;      /* level-shift guard, >= 0 (0 = off); 2 */
	float guard_half_rows;   /* its memory's half-life, rows; 1.5 days */
	float prior_rows;        /* the fleet's scales' weight, rows, >= 0
				  * (0 = none): see above; 1 day */
	bool threshold_online;   /* keep fitting the tail while scoring */
	fm_learn_ae_train_config train;
	fm_learn_pot_config pot; /* 0.95 / 0.02 quantile and risk */
} fm_learn_detector_config;

/* One row's verdict. */
typedef struct fm_learn_verdict {
	float score;     /* relative score (step 7), finite, >= 0 */
	float raw;       /* unsmoothed score (sum of contributions) */
	float threshold; /* current alarm threshold (INFINITY untrained) */
	bool alarm;
	bool onset; /* this row began an event: the alarm was raised, or a
		     * new fault showed during one (fm_learn_detector_top) */
	bool ready; /* trained: score and alarm mean something */
} fm_learn_verdict;

typedef struct fm_learn_detector_train_stats {
	uint32_t rows;
	uint32_t features_seen; /* features with finite training values */
	double loss_first;      /* autoencoder, first and last mini-batch */
	double loss_last;
	float threshold;
	float baseline;
} fm_learn_detector_train_stats;

/* Fills *ret with the defaults above for d features sampled rows_per_day
 * times a day (the baseline's 3 days are in rows). */
void fm_learn_detector_config_default(fm_learn_detector_config *ret,
    uint32_t n_features, uint32_t rows_per_day);

/* Whether cfg holds values fm_learn_detector_new() accepts. */
bool fm_learn_detector_config_is_valid(const fm_learn_detector_config *cfg);

/* Allocates an untrained detector; *ret owns it on success. Errors:
 * -EINVAL (invalid cfg), -ENOMEM. */
int fm_learn_detector_new(
    const fm_learn_detector_config *cfg, fm_learn_detector **ret) FM_WUR;

/* Frees det (NULL-safe); returns NULL. */
fm_learn_detector *fm_learn_detector_free(fm_learn_detector *det);

/*
 * Trains on rows[n x d] (row-major, oldest first): the normalisation,
 * then the autoencoder, continuing from its current parameters (random
 * from cfg->train.seed at first; the fleet's after an import), in a
 * fleet the host's own autoencoder too (without a proximal term), then the
 * residual scales, the baseline and the threshold; the scoring state
 * then continues from the last row. Masked values never reach the
 * weights. Allocates scratch of about n * d floats. On failure det is
 * unchanged. Errors: -ENODATA (fewer than MIN_ROWS rows), -EINVAL
 * (more than MAX_ROWS), -ENOMEM, -EDOM (training diverged).
 */
int fm_learn_detector_train(fm_learn_detector *det, const float *rows,
    size_t n, fm_learn_detector_train_stats *ret) FM_WUR;

/* Scores one row x[d] (causal; see above) into *ret. Never fails, never
 * allocates. */
void fm_learn_detector_score(
    fm_learn_detector *det, const float *x, fm_learn_verdict *ret);

/*
 * Replaces the autoencoder's training settings for the next trainings
 * (e.g. a federated round's steps and FedProx mu; the proximal term pulls
 * toward the parameters training starts from, the fleet's after an
 * import). Returns 0 or -EINVAL (invalid c; nothing changes).
 */
int fm_learn_detector_set_train_config(
    fm_learn_detector *det, const fm_learn_ae_train_config *c) FM_WUR;

/* The autoencoder's current training settings. */
const fm_learn_ae_train_config *fm_learn_detector_train_config(
    const fm_learn_detector *det);

/* Whether det was trained (or loaded trained). */
bool fm_learn_detector_is_ready(const fm_learn_detector *det);

/* The per-feature contributions of the last scored row (d floats, sum =
 * raw score), valid while det lives. */
const float *fm_learn_detector_contrib(const fm_learn_detector *det);

/*
 * The indices of the (at most) k features contributing most to the last
 * row, highest first, into ret_idx[k]. Returns how many were written
 * (features with a zero contribution are left out). The current row
 * decides, not the event's total; and during an event that began within
 * an alarm (a new fault, fm_learn_detector_event()), the features it
 * moved above the earlier events' peaks come first: a fault that begins
 * during an alarm is named by its own features, not by the first
 * fault's.
 */
size_t fm_learn_detector_top(
    const fm_learn_detector *det, size_t k, uint32_t *ret_idx);

/*
 * The per-feature contributions summed over the rows of the event in
 * progress (d floats; zero outside an alarm until the first event),
 * valid while det lives. An event begins when the alarm is raised and
 * again when, during the alarm and after the event's first ema_span
 * rows, the contributions above each feature's highest so far in the
 * event, on top of a normal row, reach the threshold for alarm_on rows
 * or pass the onset test (step 7): a second fault moves features the
 * first left alone. The verdict's onset flag marks that row.
 */
const float *fm_learn_detector_event(const fm_learn_detector *det);

/*
 * Makes the next row scored begin an event, whatever its score: the
 * alarm is raised (or, when up, a new event begins within it) as if that
 * row had passed the onset test, and it clears as any alarm does. For a
 * failure its owner knows of that one row cannot show (an OOM kill is
 * one sample's spike). No effect before the first training.
 */
void fm_learn_detector_raise(fm_learn_detector *det);

/*
 * A prior for a model trained on little, used by the next trainings
 * when the detector has no fleet's moments: each feature's variance is
 * shrunk toward scale[j]^2 and each residual scale's square toward 1
 * (the autoencoder explaining nothing), weighing rows rows against the
 * training rows: (n v + rows prior) / (n + rows). Minutes of one
 * workload then do not make a feature that barely moved in them, or a
 * relation that happened to hold, an alarm the moment the workload
 * changes; as the owner lowers rows with what it has seen, the host's
 * own scales take over, rows 0 being none of the prior. Each scale's
 * floor is then also std_floor or a tenth of scale[j], whichever is
 * lower, so a fraction that stays small (file handles in use) is not
 * drowned by std_floor. scale NULL: none of this (the default). Not
 * saved. Returns 0 or -EINVAL (negative or non-finite values).
 */
int fm_learn_detector_set_young_prior(
    fm_learn_detector *det, const float *scale, float rows) FM_WUR;


/* The normalised row of x[d] into ret_z[d], as the autoencoder sees it:
 * z clipped to +-clip, 0 for a masked or unseen feature; all 0 before
 * the first training. For models that share the detector's scale. */
void fm_learn_detector_normalise(
    const fm_learn_detector *det, const float *x, float *ret_z);

/* Carries the scoring state that belongs to the host rather than to a
 * model (the recent rows of the window and the alarm in progress) from
 * prev into det, a newly trained detector with the same d and window.
 * Returns 0 or -ESTALE (another shape). */
int fm_learn_detector_continue(
    fm_learn_detector *det, const fm_learn_detector *prev) FM_WUR;

/*
 * Serialises det (model and scoring state) into a new model file in
 * *ret_buf (malloc'd; the caller frees) of *ret_len bytes. Errors:
 * -ENOMEM, -EMSGSIZE.
 */
int fm_learn_detector_save(const fm_learn_detector *det, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/*
 * Loads a detector saved by fm_learn_detector_save(), using the
 * hyperparameters of cfg (the file's shape must match: d, schema,
 * window, latent). On success *ret owns a new detector. Errors: those of
 * fm_learn_model_decode() (-EPROTO foreign, -EBADMSG corrupt or
 * truncated, -EPROTONOSUPPORT, -EMSGSIZE), -ESTALE (another shape or
 * schema), -EDOM (a non-finite or out-of-range value), -EINVAL, -ENOMEM.
 */
int fm_learn_detector_load(const uint8_t *buf, size_t len,
    const fm_learn_detector_config *cfg, fm_learn_detector **ret) FM_WUR;

/* The layout id of the detector's shared parameters (the autoencoder):
 * kind, schema, d, window and latent. */
uint32_t fm_learn_detector_layout_id(const fm_learn_detector *det);

/* The length of the shared parameter vector. */
size_t fm_learn_detector_params_count(const fm_learn_detector *det);

/* Exports the shared parameters into dst[cap]; *ret_n gets the count.
 * Errors: -ENOBUFS. */
int fm_learn_detector_params_export(const fm_learn_detector *det,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

/* Imports shared parameters (the fleet's) into the autoencoder; the
 * first import puts the detector in a fleet (see above), the model
 * trained so far becoming the host's own. The host's own parts
 * (normalisation, residual scales, baseline, threshold) are refit by the
 * next training, which continues from the imported parameters: train
 * soon after an import. Errors: -ESTALE (layout), -EINVAL (count), -EDOM
 * (non-finite), -ENOMEM; on error nothing changes. */
int fm_learn_detector_params_import(fm_learn_detector *det,
    uint32_t layout_id, const float *src, size_t n) FM_WUR;

#endif
