/*
 * agent/model internals: the learner's state and its training jobs,
 * shared by the learner's files: score.c (creation, scoring every
 * sample, the federation hand-over: the sampling thread's side), train.c
 * (the training thread and the hand-over of its results), store.c (the
 * model files in state_dir) and keep.c (the learner state file). Included
 * only by agent/model/, its tests and the fuzz target of keep.c's
 * decoder.
 */
#ifndef FM_AGENT_MODEL_INT_H
#define FM_AGENT_MODEL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/model/model.h"
#include "learn/learn.h"

/* A training: what the sampling thread hands over, and what comes back. */
typedef struct fmi_model_job {
	float *rows; /* n x d samples, oldest first */
	size_t n;
	size_t n_kept; /* of them, kept samples; the rest repeat the newest
	                * (an accepted state's weight) */
	float young_rows; /* the young model's prior's weight, rows */
	float *mrows;     /* nm x d per-minute means */
	uint8_t *mevents; /* nm label onset masks */
	float *mscore;    /* nm mean anomaly scores */
	size_t nm;
	uint8_t *det_file; /* the current detector, to continue from */
	size_t det_len;
	uint8_t *pred_file; /* the current predictors */
	size_t pred_len;
	/* a fleet model to start from, or version 0 */
	fm_model_learner_global global;
	float *global_params;
	uint64_t version; /* fleet lineage of the result */
	/* results */
	fm_learn_detector *det;
	fm_learn_predictor *pred[FM_LABEL_COUNT];
	uint64_t onsets[FM_LABEL_COUNT];
	float *update; /* the result's shared parameters */
	float loss;
	int r;
	int save_error; /* of saving the models it made, or 0 */
	double cpu_seconds;
	int64_t real_ns;
} fmi_model_job;

struct fm_model_learner {
	fm_model_learner_config cfg;
	fm_learn_detector_config dcfg;
	fm_learn_predictor_config pcfg;
	fm_learn_detector *det;
	fm_learn_predictor *pred[FM_LABEL_COUNT];
	uint64_t onsets[FM_LABEL_COUNT];
	/* samples to train on, a ring of train_rows */
	float *rows;
	uint32_t rows_head, rows_held;
	/* an alarm's samples, waiting: a ring of pend_cap */
	float *pend;
	uint32_t pend_cap, pend_head, pend_held;
	uint32_t accept_rows; /* accept_seconds in samples; 0 = never */
	uint32_t alarm_rows;  /* samples in the alarm in progress */
	bool accepting;       /* its samples are kept as they come */
	uint32_t held_labels; /* failures labelled during it */
	bool train_now;       /* a training is due at once */
	uint32_t weight_rows; /* the next training repeats the newest this
	                       * many kept samples (accepted: the new normal) */
	bool accept_req;      /* fm_model_learner_accept() (under lock) */
	uint64_t seen_rows;   /* samples seen with a value */
	float typical_s[FM_FEATURE_COUNT]; /* the young model's prior */
	uint32_t trained_n;   /* kept samples the last training used */
	/* the minute ring (borrowed): the predictors learn from its newest
	 * minutes_cap minutes */
	fm_model_history *history;
	uint32_t minutes_cap;
	/* predictor inference scratch: PREDICT_WINDOW x d, then inputs */
	float *pz;
	float *px;
	/* scheduling */
	int64_t last_train_mono_ns;
	bool trained_once;
	/* the training thread */
	pthread_t thread;
	bool thread_started;
	bool sync_ready; /* the mutexes and condition below exist */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	fmi_model_job *queued; /* handed to the trainer */
	fmi_model_job *done;   /* from the trainer */
	bool busy;
	bool hold;    /* done waits (fm_model_learner_hold()) */
	bool started; /* running: the models are saved at the end */
	/* federation (under lock; layout fixed at creation) */
	uint32_t fed_layout;
	uint32_t fed_n;
	uint64_t fed_version; /* lineage of the current models */
	float *offer;         /* a fleet model not yet trained on */
	fm_model_learner_global offer_meta;
	bool offered;
	float *snap; /* the last training's shared parameters */
	fm_model_learner_update snap_meta;
	bool snapped;
	/* the status snapshot */
	pthread_mutex_t status_lock;
	fm_model_learner_status status;
	/* keep.c: checkpoints of the learner state file, by the samples'
	 * clocks (the last sample's, once keep_seen) */
	bool keep_seen;
	int64_t keep_mono_ns, keep_real_ns;
	int64_t keep_due_mono_ns; /* the next checkpoint */
	uint32_t keep_trainings;  /* status.trainings at the last one */
	/* the last training's start as loaded, until the first sample
	 * turns it into last_train_mono_ns; 0: none */
	int64_t keep_train_real_ns;
};

/* ---- score.c ----------------------------------------------------------- */

/* The closed minutes the predictors learn from: the ring's newest, at
 * most minutes_cap. The sampling thread only. */
uint32_t fmi_model_learner_minutes_held(const fm_model_learner *l);

/* ---- train.c: the training thread and its results ------------------------ */

/* Frees a job and whatever it holds. NULL-safe. */
void fmi_model_job_free(fmi_model_job *j);

/* The training thread: trains each job handed over in l->queued and
 * hands it back in l->done, until l->stop. */
void *fmi_model_trainer_main(void *userdata);

/* Swaps in the models a finished training made (j keeps what it did not
 * give away; the caller frees it), or logs why it failed. The sampling
 * thread, or fm_model_learner_free() once the trainer stopped. */
void fmi_model_learner_adopt(fm_model_learner *l, fmi_model_job *j);

/* Hands over a training when one is due and none runs (a synchronous
 * learner trains it there and then, into l->done). The sampling thread
 * only. */
void fmi_model_learner_maybe_train(fm_model_learner *l, int64_t now_ns);

/* Takes the finished training the next sample adopts: l->done, unless
 * held; NULL when there is none. The sampling thread only. */
fmi_model_job *fmi_model_learner_take_done(fm_model_learner *l);

/* ---- store.c: the model files in state_dir ------------------------------- */

/* Serialises the predictors pred[FM_LABEL_COUNT] (d features) into one
 * model file in a new buffer *ret_buf (the caller frees it). Errors: those
 * of learn/'s model writer. */
int fmi_model_predictors_save(uint32_t d, fm_learn_predictor *const *pred,
    uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/* Loads the predictors from a model file (buf NULL: none), or makes new
 * ones for those it does not hold, into ret[FM_LABEL_COUNT]. On failure
 * nothing is returned. */
int fmi_model_predictors_load(const fm_learn_predictor_config *pcfg,
    const uint8_t *buf, size_t len, fm_learn_predictor **ret) FM_WUR;

/* Writes the model file name into the state directory, crash-safe; does
 * nothing without one. Logs a failure and returns its -errno, else 0. */
int fmi_model_file_write(const fm_model_learner *l, const char *name,
    const uint8_t *buf, size_t len);

/* Reads the model file name from the state directory: 0 with the bytes in
 * a new *ret_buf, or -ENOENT when there is none (or no state directory);
 * other errors are logged and returned. */
int fmi_model_file_read(const fm_model_learner *l, const char *name,
    uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/* When the model file name in the state directory was last written (ns
 * since the epoch), or 0 when that cannot be told. A model file is
 * written at the end of the training that made it, so this is the
 * model's age for a process that loaded it. */
int64_t fmi_model_file_mtime_ns(const fm_model_learner *l, const char *name);

/* Moves a model file that cannot be used out of the way (NAME.rejected,
 * kept for a post-mortem), so it is not tried again; logs why. */
void fmi_model_file_reject(
    const fm_model_learner *l, const char *name, int why);

/* Writes the fleet lineage (FM_MODEL_LEARNER_FEDERATION_FILE). Returns
 * fmi_model_file_write()'s answer. */
int fmi_model_fed_state_write(const fm_model_learner *l, uint64_t version);

/* The lineage saved by the last run; 0 when none or unreadable (logged:
 * the next fleet model is then fetched again, nothing is lost). */
uint64_t fmi_model_fed_state_read(const fm_model_learner *l);

/* Saves the current models (at exit: the detector with its live state). */
void fmi_model_learner_save_all(fm_model_learner *l);

/* ---- keep.c: the learner state file ------------------------------------- */

/* The state file's version (its section 1); another is refused. */
#define FMI_MODEL_KEEP_VERSION 1u

/* What the learner state file holds: the learner's state besides its
 * models (the detector's scoring state lives in the detector's file). */
typedef struct fmi_model_keep {
	int64_t saved_real_ns; /* when it was written */
	uint64_t scored;
	uint64_t alarms;
	uint32_t trainings;
	uint32_t train_failures;
	int64_t trained_real_ns; /* end of the last training, 0 = never */
	uint32_t trained_rows;
	double train_cpu_seconds;
	int64_t last_train_real_ns; /* start of the last training, 0 = never */
	bool alarm;                 /* an alarm was in progress */
	/* learning through alarms (score.c's retain()) */
	uint64_t events;      /* events begun (alarms and new faults) */
	uint64_t accepts;     /* alarms taken as normal */
	uint64_t seen_rows;   /* samples seen: a young model's age */
	uint32_t trained_n;   /* kept samples the last training used */
	uint32_t alarm_rows;  /* samples in the alarm in progress */
	bool accepting;       /* it was taken as normal */
	uint32_t held_labels; /* failures labelled during it */
	uint32_t pend_held;
	float *pend; /* pend_held x FM_FEATURE_COUNT: its samples waiting */
	uint64_t onsets[FM_LABEL_COUNT];
	float probability[FM_LABEL_COUNT];
	uint32_t train_rows; /* the ring's capacity */
	uint32_t rows_held;
	float *rows; /* rows_held x FM_FEATURE_COUNT samples, oldest first */
	uint32_t n_minutes;
	/* n_minutes, in the ring's order (oldest pushed first) */
	fm_model_history_minute *minutes;
	/* the minute being aggregated, with each feature's unmasked
	 * samples, when has_current */
	bool has_current;
	fm_model_history_minute current;
	uint32_t current_n[FM_FEATURE_COUNT];
} fmi_model_keep;

/*
 * Encodes k into a new learner state file *ret_buf (the caller frees it):
 * a learn/ model container (magic, version, length, CRC-32C) of the
 * agent's kind. k's minutes must be whole minutes, each less than
 * FMI_MODEL_KEEP_MAX_AGE_MINUTES from the last (their times need not
 * rise: the wall clock may step back), with counts below that and onsets
 * of the known sources. Errors: -EINVAL (k breaks those rules, or holds
 * more rows than train_rows), those of learn/'s model writer.
 */
int fmi_model_keep_encode(
    const fmi_model_keep *k, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/*
 * Decodes a learner state file read from disk (untrusted: every length
 * and value is checked before use) for a learner keeping train_rows
 * samples and a minute ring of max_minutes. Pure. On success *ret owns new
 * arrays (release it with fmi_model_keep_release()); on failure *ret is zeroed.
 * Errors: those of fm_learn_model_decode() (-EPROTO, -EBADMSG, -EMSGSIZE,
 * -ESTALE for another kind, schema or feature count, ...); -EPROTONOSUPPORT
 * (another FMI_MODEL_KEEP_VERSION); -ESTALE (another train_rows or label count,
 * or more minutes than max_minutes); -EBADMSG (a section missing, of another
 * type or length, or a value out of its range); -EINVAL (train_rows or
 * max_minutes 0); -ENOMEM.
 */
int fmi_model_keep_decode(const uint8_t *buf, size_t len, uint32_t train_rows,
    uint32_t max_minutes, fmi_model_keep *ret) FM_WUR;

/* Frees k's arrays and zeroes it. NULL-safe. */
void fmi_model_keep_release(fmi_model_keep *k);

/* The largest distance, in minutes, between a minute a state file holds
 * and the newest (ages are stored as exact floats). */
#define FMI_MODEL_KEEP_MAX_AGE_MINUTES (1u << 24)

/*
 * At creation, after the models were loaded: restores the state the last
 * run saved into l and its minute ring. A file that does not fit or is
 * corrupt is logged and set aside (NAME.rejected), and the learner starts
 * without it. Returns 0, or -ENOMEM.
 */
int fmi_model_keep_load(fm_model_learner *l) FM_WUR;

/* Every sample, before a training may be handed over: continues the
 * loaded training schedule at the first sample and checkpoints the state
 * (the detector's file and the state file) when one is due and no
 * training runs. The sampling thread only. */
void fmi_model_keep_on_sample(fm_model_learner *l, const fm_collect_sample *s);

/* Writes the state file now (at exit, after the models), if a sample came
 * since start. Logs a failure. */
void fmi_model_keep_save(fm_model_learner *l);

#endif
