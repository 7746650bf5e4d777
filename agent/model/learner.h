/*
 * agent/model: on-device learning (score.c, train.c, store.c).
 * Include agent/model/model.h.
 */
#ifndef FM_AGENT_MODEL_LEARNER_H
#define FM_AGENT_MODEL_LEARNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect/collect.h"
#include "common/common.h"
#include "agent/model/history.h"
#include "agent/model/labels.h"

/*
 * The host's models, fed every sample: the anomaly detector (learn/'s,
 * over the samples themselves) and one failure predictor per label source
 * (over the minute ring's rows, predicting an onset within a horizon).
 * Samples are kept to train on, the last train_rows of them; those of
 * an alarm wait aside (pending) until it ends: an alarm that clears was
 * an incident and its samples are dropped, one that lasts accept_seconds
 * with no failure labelled during it is a lasting change, whose samples
 * then join the kept ones (with the rest of that alarm's) and a training
 * starts at once, so a new normal is learned and an alarm cannot freeze
 * learning. fm_model_learner_accept() does the same at once, on the
 * operator's word. The first trainings come as the kept samples double
 * (min_rows, twice that, ... up to train_rows), besides every
 * retrain_seconds; a young model (less than mature_seconds of samples
 * seen) leans on each feature's typical scale
 * (fm_collect_feature_typical_scale()), weighing the samples it has not
 * seen yet (mature minus seen) against the ones it trains on
 * (fm_learn_detector_set_young_prior()), so a first model trained on
 * minutes of one workload does not cry wolf at the next. Training runs on a
 * background thread at the lowest CPU priority (SCHED_IDLE, nice 19) on
 * a copy of them, every retrain_seconds, continuing from the
 * current models, and never delays sampling: the new models are swapped
 * in by the next sample after training ends (a synchronous learner, for
 * replays, trains on the sampling thread instead). Every sample is scored with
 * whatever model is current. Models are written to state_dir after each
 * training and at exit (crash-safe), and loaded at start, so they survive
 * restarts. The rest of the learner's state (the samples kept, the minute
 * ring, the counters, the training schedule, an alarm in progress) is
 * checkpointed into FM_MODEL_LEARNER_STATE_FILE every
 * FM_MODEL_LEARNER_KEEP_SECONDS of samples, after each training and at
 * exit, with the detector's scoring state beside it in its file, so even
 * a SIGKILL loses at most that much.
 */
typedef struct fm_model_learner fm_model_learner;

#define FM_MODEL_LEARNER_MIN_ROWS        64u /* learn/'s minimum, in samples */
#define FM_MODEL_LEARNER_TOP             5u  /* features named for an alarm */
#define FM_MODEL_LEARNER_ACCEPT_ROWS     60u  /* samples accepted as now */
#define FM_MODEL_LEARNER_DETECTOR_FILE   "detector.fmm"
#define FM_MODEL_LEARNER_PREDICTOR_FILE  "predictor.fmm"
#define FM_MODEL_LEARNER_FEDERATION_FILE "federation.state"
#define FM_MODEL_LEARNER_STATE_FILE      "learner.state"
#define FM_MODEL_LEARNER_KEEP_SECONDS    60u /* between checkpoints */

typedef struct fm_model_learner_config {
	char state_dir[FM_AGENT_PATH_BYTES]; /* "" = nothing persisted */
	uint32_t interval_ms;                /* sampling period */
	uint32_t train_rows;      /* samples kept to train on, >= min_rows */
	uint32_t min_rows;        /* before the first training, >= MIN_ROWS */
	uint32_t retrain_seconds; /* between trainings */
	uint32_t alarm_samples;   /* at or above the threshold to raise */
	uint32_t onset_factor;    /* raw score / threshold raising at once */
	uint32_t clear_samples;   /* below it to clear */
	uint32_t horizon_minutes; /* failure within this many minutes */
	uint32_t accept_seconds;  /* a lasting alarm becomes normal; 0 never */
	uint32_t mature_seconds;  /* of samples seen, before no more caution */
	/* The chance that a normal sample's smoothed score passes the alarm
	 * threshold, (0, 0.05]: the tail the threshold is set at (learn/'s
	 * POT risk). */
	double threshold_risk;
	/* A predictor that learned from fewer failure onsets is not trusted:
	 * its probability is shown but drives no action (0: always). */
	uint32_t failure_min_events;
	/* The fs_full label's threshold, a fraction of the fullest
	 * filesystem's space (0: off): where the fill rate is extrapolated
	 * to (see fm_model_learner_failure). */
	float fs_full_fraction;
	uint64_t seed;            /* training seed */
	/* Trains on the calling thread (fedmon-replay --agent), so that a
	 * replay gives the same verdicts on every run: no training thread
	 * is started; a due training runs inside fm_model_learner_on_sample()
	 * and its models score from the next sample on, as a training that
	 * took no time would in the daemon (or later: see
	 * fm_model_learner_hold()). The daemon leaves it false. */
	bool synchronous;
} fm_model_learner_config;

/*
 * The learner's view of one label source's predictor. The probability is
 * the predictor's, shrunk toward the base rate while it has learned from
 * few onsets (learn/predictor.h). For fs_full it is combined with the
 * fill rate: a least-squares line through the fullest filesystem's used
 * fraction over the last FM_MODEL_LEARNER_FILL_MINUTES closed minutes,
 * extrapolated to the horizon, gives p_fill = Phi((u_H - threshold) / se),
 * the probability that the level then is at or above fs_full_fraction
 * under the fit's standard error of prediction (at least
 * FM_MODEL_LEARNER_FILL_NOISE): about 0 for a disk that is not filling,
 * however full, and about 1 for one filling to the threshold within the
 * horizon, as Prometheus's predict_linear() would say. A filesystem
 * already at or above the threshold has had its onset (nothing is left
 * to predict: p_fill 0, as its rows are left out of training). The two
 * are combined as independent routes to the same failure: p = 1 - (1 -
 * p_learned)(1 - p_fill). The fill rate needs no failures to learn from,
 * so fs_full is trusted whenever the fit has enough minutes.
 */
#define FM_MODEL_LEARNER_FILL_MINUTES     15u   /* of the fill-rate fit */
#define FM_MODEL_LEARNER_FILL_MIN_MINUTES 3u    /* fewer: no fill estimate */
#define FM_MODEL_LEARNER_FILL_NOISE       0.002 /* se floor, fraction */
typedef struct fm_model_learner_failure {
	bool trained;      /* has a model: its own onsets, or the fleet's */
	float probability; /* of an onset within the horizon, [0, 1] */
	uint64_t onsets;   /* learned from, over the minute history */
	uint64_t events;   /* onsets the current weights rest on */
	/* The probability may drive an action: trained, and events >=
	 * failure_min_events (or, for fs_full, a fill-rate estimate is part
	 * of it). */
	bool trusted;
} fm_model_learner_failure;

/* A consistent snapshot for the status interface. */
typedef struct fm_model_learner_status {
	bool ready;      /* a trained detector scores the samples */
	bool training;   /* a training runs now */
	float score;     /* relative score of the last sample */
	float threshold; /* its alarm threshold */
	bool alarm;
	uint32_t n_top;                     /* features in top[] */
	uint32_t top[FM_MODEL_LEARNER_TOP]; /* feature indices, most first:
	                                     * by the last sample, one per
	                                     * signal */
	float top_contrib[FM_MODEL_LEARNER_TOP]; /* to the last sample */
	float top_event[FM_MODEL_LEARNER_TOP];   /* summed over the event */
	uint64_t events;     /* events begun in alarms (alarms raised and new
	                      * faults during one) */
	int64_t event_real_ns; /* when the current event began, 0 = none */
	uint32_t alarm_seconds; /* how long the alarm has been up */
	uint32_t pending_rows;  /* its samples waiting to be judged */
	bool accepted;          /* the alarm in progress was taken as normal */
	uint32_t held_labels;   /* FM_LABEL_BIT mask: failures during the
	                         * alarm, which keep it from becoming normal */
	uint64_t accepts;       /* alarms taken as normal */
	uint64_t seen_rows;     /* samples seen (the model's experience) */
	uint64_t mature_rows;   /* ... before no more caution (0 = off) */
	float young_prior;      /* the typical scales' share in the current
	                         * model's, [0, 1); 0: trained mature */
	/* every feature's share of the last score (0 while not ready) */
	float contrib[FM_FEATURE_COUNT];
	/* counters: in all, across restarts (FM_MODEL_LEARNER_STATE_FILE) */
	uint64_t scored;    /* samples scored */
	uint64_t alarms;    /* alarms raised */
	uint32_t trainings; /* completed */
	uint32_t train_failures;
	int last_error; /* of the last failed training, or 0 */
	int save_error; /* of saving the last training's models, or 0 */
	int64_t trained_real_ns;     /* end of the last training, 0 = never */
	uint32_t trained_rows;       /* samples it used */
	double train_cpu_seconds;    /* CPU time of the last training */
	uint32_t rows_held;          /* samples kept to train on */
	uint32_t failure_min_events; /* the config's, for whoever shows it */
	fm_model_learner_failure failure[FM_LABEL_COUNT];
} fm_model_learner_status;

/* The minutes of history the failure predictors learn from: a day, or 48
 * horizons when that is longer. The minute ring handed to
 * fm_model_learner_new() must keep at least this many. */
uint32_t fm_model_learner_minutes(const fm_model_learner_config *cfg);

/*
 * Creates the models (loading those saved in cfg->state_dir when their
 * shape matches; a file that does not is logged and set aside), restores
 * the learner state saved with them (FM_MODEL_LEARNER_STATE_FILE: the
 * samples kept, the minute ring, the counters, the schedule, an alarm in
 * progress; likewise set aside when it does not fit) and starts the
 * training thread (none when cfg->synchronous). history is the minute
 * ring the learner fills with every sample (its score and label onsets)
 * and learns from: borrowed, it must outlive the learner, it must be
 * empty, and nothing else may push into it. On success *ret owns the
 * learner. Errors: -EINVAL (also a ring shorter than
 * fm_model_learner_minutes()), -ENOMEM, or the errno of
 * creating the thread.
 */
int fm_model_learner_new(const fm_model_learner_config *cfg,
    fm_model_history *history, fm_model_learner **ret) FM_WUR;

/* Stops the training thread (waiting for a training in progress), adopts
 * the models of a finished training (even a held one), saves the models
 * and the learner state, frees everything. NULL-safe; returns NULL. */
fm_model_learner *fm_model_learner_free(fm_model_learner *l);

/*
 * Scores sample s, learns from it, and takes the label onsets of this
 * sample (FM_LABEL_BIT mask). Adopts models a finished training made and
 * starts the next training when due. Never blocks on training and does
 * not allocate, except when a training is handed over (every
 * retrain_seconds), which a synchronous learner trains here and then,
 * and when the state is checkpointed (every FM_MODEL_LEARNER_KEEP_SECONDS
 * and after a training: a write of the detector and the state file,
 * about 2 MB at the shipped settings, on this thread). The sampling
 * thread only.
 */
void fm_model_learner_on_sample(
    fm_model_learner *l, const fm_collect_sample *s, uint32_t label_onsets);

/*
 * Takes the current state as normal (`fedmonctl accept`): the samples of
 * the alarm in progress join the kept ones, the next training starts at
 * once and weighs the newest samples (the alarm's, else the last
 * FM_MODEL_LEARNER_ACCEPT_ROWS) as a third of its rows, so the alarm
 * clears once that training ends. Any thread; acted on by the next
 * sample. Returns 0, or -EAGAIN before the first training (nothing to
 * correct yet).
 */
int fm_model_learner_accept(fm_model_learner *l) FM_WUR;

/*
 * While hold is true, the models a finished training made wait, and the
 * current ones go on scoring, as when the daemon's training thread is
 * slow; false lets the next sample adopt them. fedmon-replay --agent
 * holds a synchronous learner's models until the row where the recorded
 * agent adopted its own. Starts false. The sampling thread only.
 */
void fm_model_learner_hold(fm_model_learner *l, bool hold);

/* Fills *ret with a snapshot; any thread. */
void fm_model_learner_status_get(
    fm_model_learner *l, fm_model_learner_status *ret);

/*
 * Federation (agent/model/federation.c talks to the learner only through these;
 * any thread). The shared part of the models is the detector's
 * autoencoder and each feature's first and second moments over the
 * host's training rows (aggregates, never samples); normalisation
 * (shrunk toward the fleet's moments), residual scales, baseline and
 * threshold stay the host's own, the host keeps its own autoencoder
 * beside the fleet's, and every fleet model is personalised by a local
 * training before it scores anything (learn.h, the detector).
 */

/* A fleet model version, as the aggregator published it. */
typedef struct fm_model_learner_global {
	uint64_t version; /* > 0 */
	uint32_t layout_id;
	uint32_t n_params;
	const float *params;  /* n_params floats (borrowed for the call) */
	float prox_mu;        /* FedProx mu for the personalising training */
	uint32_t local_steps; /* its Adam steps; 0: the learner's default */
} fm_model_learner_global;

/* What a training made for the fleet: the detector's shared parameters. */
typedef struct fm_model_learner_update {
	uint64_t base_version; /* fleet version its lineage started from, 0:
	                        * purely local */
	uint32_t layout_id;
	uint32_t n_params;
	uint64_t samples;     /* training rows behind it */
	float loss;           /* autoencoder loss at the end of training */
	int64_t made_real_ns; /* when the training ended */
} fm_model_learner_update;

/* The layout id and length of the shared parameters (fixed by the
 * configuration; known before any training). */
void fm_model_learner_fed_layout(
    const fm_model_learner *l, uint32_t *ret_layout_id, uint32_t *ret_n_params);

/* The fleet version the current models descend from (0: none), persisted
 * in state_dir across restarts. */
uint64_t fm_model_learner_fed_version(fm_model_learner *l);

/*
 * Hands a fleet model to the learner (copied): the next training starts
 * as soon as enough samples are kept, without waiting for
 * retrain_seconds; it imports g into the current detector, trains it on
 * the host's samples with g's settings (personalisation), and the result
 * scores from then on. A later offer replaces one not yet trained on.
 * Returns 0; -ESTALE (another layout); -EINVAL (count or version 0);
 * -EDOM (a non-finite parameter); -ENOMEM.
 */
int fm_model_learner_fed_offer(
    fm_model_learner *l, const fm_model_learner_global *g) FM_WUR;

/*
 * Copies the shared parameters of the last training's models into
 * dst[cap] and describes them in *ret. Returns 0; -ENODATA when nothing
 * was trained since start; -ENOBUFS when cap is too small.
 */
int fm_model_learner_fed_update(fm_model_learner *l, float *dst, size_t cap,
    fm_model_learner_update *ret) FM_WUR;

#endif
