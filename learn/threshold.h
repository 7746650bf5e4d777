/*
 * learn/threshold.h: POT/SPOT thresholds and the alarm state machine
 * (learn/threshold.c, learn/gpd.c).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_THRESHOLD_H
#define FM_LEARN_THRESHOLD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "learn/model.h"

/*
 * An unsupervised threshold on anomaly scores by peaks over threshold
 * (SPOT, and DSPOT with drift_window > 0; Siffer et al., KDD 2017).
 * Calibration sets an initial threshold t at a high empirical quantile,
 * fits a generalised Pareto distribution to the excesses over t (maximum
 * likelihood, else method of moments, else an exponential tail) and sets
 * the alarm threshold z where a score exceeds it with probability risk.
 * Each later score below z that exceeds t joins the peaks (a ring of
 * max_peaks, so memory is fixed) and z is refit. A lone exceedance of z
 * (the scores before and after it are below z) joins them too, censored:
 * known only to exceed z. Without it the fit would see a tail cut at z,
 * lower z, cut more, and spiral down (plain SPOT's bias). With fewer
 * than min_peaks uncensored peaks z is a robust quantile instead:
 * median + Phi^-1(1 - risk) * 1.4826 * MAD of the calibration scores (at
 * least t).
 *
 * On top sits the alarm: raised once min_duration consecutive scores
 * exceed z, cleared by the first score below the clear level
 * z - (1 - clear_ratio) * |z| (= z * clear_ratio for z >= 0). Nothing is
 * learned while an alarm is raised, nor from runs of exceedances, so an
 * ongoing incident is never learned as normal. NaN and infinite scores
 * are ignored: never learned, never raise an alarm, and they break a run
 * of exceedances; they do not clear a raised alarm.
 *
 * With drift_window = d > 0 every comparison is on the residual score -
 * (mean of the last d learned scores), so a slow drift in the score level
 * does not alarm. All arithmetic is deterministic; updating never
 * allocates. A pot is not thread-safe: one thread at a time, or a lock.
 */

/* The model-file kind of a file holding only a threshold's state. */
#define FM_LEARN_KIND_POT 1u

#define FM_LEARN_POT_MAX_PEAKS        1000000u
#define FM_LEARN_POT_MAX_DRIFT_WINDOW 1000000u
#define FM_LEARN_POT_MAX_DURATION     1000000u
#define FM_LEARN_POT_MIN_CALIBRATION  16u       /* finite scores, after d */
#define FM_LEARN_POT_MAX_CALIBRATION  10000000u /* scores passed */
/* Section ids base … base + FM_LEARN_POT_SECTIONS - 1 hold a saved pot. */
#define FM_LEARN_POT_SECTIONS 32u

typedef struct fm_learn_pot fm_learn_pot;

typedef struct fm_learn_pot_config {
	double init_quantile;  /* level of t, in (0, 1); default 0.98 */
	double risk;           /* q, in (0, 1 - init_quantile); default 1e-4 */
	double clear_ratio;    /* in (0, 1]; default 0.8 */
	uint32_t min_duration; /* samples above z to raise, >= 1; default 3 */
	uint32_t max_peaks;    /* peaks kept, min_peaks…; default 1000 */
	uint32_t min_peaks;    /* fewer: robust quantile, >= 3; default 20 */
	uint32_t drift_window; /* samples, 0 = no drift removal; default 0 */
} fm_learn_pot_config;

/* How the current threshold was obtained. */
enum fm_learn_pot_fit {
	FM_LEARN_POT_FIT_NONE = 0,   /* not calibrated */
	FM_LEARN_POT_FIT_MLE = 1,    /* GPD by maximum likelihood */
	FM_LEARN_POT_FIT_MOM = 2,    /* GPD by the method of moments */
	FM_LEARN_POT_FIT_EXP = 3,    /* exponential tail, gamma = 0 */
	FM_LEARN_POT_FIT_ROBUST = 4, /* too few peaks: median + k MAD */
};

/* Flags returned by fm_learn_pot_update(). */
#define FM_LEARN_POT_ALARM   0x1u /* the alarm is raised after this score */
#define FM_LEARN_POT_ABOVE   0x2u /* the score exceeded the threshold */
#define FM_LEARN_POT_PEAK    0x4u /* a peak was learned; z moved */
#define FM_LEARN_POT_SKIPPED 0x8u /* non-finite, or not calibrated */

typedef struct fm_learn_pot_status {
	bool ready; /* calibrated */
	bool alarm;
	uint32_t run; /* consecutive scores above the threshold */
	enum fm_learn_pot_fit fit;
	double threshold;      /* z, in score units (drift mean added) */
	double clear_level;    /* in score units */
	double init_threshold; /* t, in residual units */
	double gamma, sigma;   /* GPD shape and scale (0 unless a GPD fit) */
	uint64_t n_obs;        /* scores learned, calibration included */
	uint64_t n_peaks;      /* of which above t */
	uint32_t peaks_held;   /* peaks in the ring */
} fm_learn_pot_status;

/* Fills *ret with the defaults above. */
void fm_learn_pot_config_default(fm_learn_pot_config *ret);

/* Whether cfg holds values fm_learn_pot_new() accepts. */
bool fm_learn_pot_config_is_valid(const fm_learn_pot_config *cfg);

/*
 * Allocates an uncalibrated pot (every buffer it will ever use) with a
 * copy of cfg. On success *ret owns it (fm_learn_pot_free()). Returns 0,
 * -EINVAL for an invalid cfg, -ENOMEM.
 */
int fm_learn_pot_new(const fm_learn_pot_config *cfg, fm_learn_pot **ret) FM_WUR;

/* Frees p (NULL-safe); returns NULL. */
fm_learn_pot *fm_learn_pot_free(fm_learn_pot *p);

/*
 * (Re)calibrates p from scores[n] in time order, e.g. the detector's
 * scores on its training data; non-finite scores are skipped. Clears the
 * alarm and all learned state. Allocates scratch for the call (sorting).
 * Returns 0; -EMSGSIZE when n > FM_LEARN_POT_MAX_CALIBRATION; -ENODATA
 * with fewer than drift_window + FM_LEARN_POT_MIN_CALIBRATION finite
 * scores; -ENOMEM. On failure p is unchanged.
 */
int fm_learn_pot_calibrate(
    fm_learn_pot *p, const float *scores, size_t n) FM_WUR;

/*
 * Feeds the next score: decides the alarm, then learns the score when it
 * is normal (see above). Returns FM_LEARN_POT_* flags; ALARM is the
 * detector's 0/1 output for this sample. An uncalibrated pot returns
 * FM_LEARN_POT_SKIPPED. Never allocates; O(1) except on a peak, which
 * costs O(1) amortised (a full refit, O(peaks held), every peaks held/32
 * peaks).
 */
unsigned fm_learn_pot_update(fm_learn_pot *p, float score);

/* The current threshold z in score units (INFINITY when not calibrated). */
double fm_learn_pot_threshold_get(const fm_learn_pot *p);

/* Fills *ret with p's state. */
void fm_learn_pot_status_get(const fm_learn_pot *p, fm_learn_pot_status *ret);

/*
 * Appends p's complete state (configuration, fit, peaks, drift window,
 * alarm) as sections base … base + FM_LEARN_POT_SECTIONS - 1, so it can
 * share a file with its detector; a file of its own uses kind
 * FM_LEARN_KIND_POT. Returns 0, -EINVAL when the ids would overflow or do
 * not follow the writer's last id, or the writer's error.
 */
int fm_learn_pot_save(
    const fm_learn_pot *p, uint32_t base, fm_learn_model_writer *w) FM_WUR;

/*
 * Restores a pot saved at base in a decoded file. With cfg NULL the saved
 * configuration is used; otherwise cfg must match it in init_quantile,
 * risk, max_peaks, min_peaks and drift_window (-ESTALE: recalibrate) and
 * its clear_ratio and min_duration are taken. The restored pot makes the
 * same decisions the saved one would have. On success *ret owns a new
 * pot. Returns 0; -ENOENT when no pot is saved at base; -EBADMSG for
 * missing or inconsistent state; -EPROTONOSUPPORT for an unknown state
 * version; -EINVAL for an invalid cfg; -ENOMEM.
 */
int fm_learn_pot_load(const fm_learn_model_reader *r, uint32_t base,
    const fm_learn_pot_config *cfg, fm_learn_pot **ret) FM_WUR;

#endif
