/*
 * On-device learning in the agent: scoring every sample, keeping the
 * samples to learn from, training in the background at idle priority,
 * swapping the new models in, persisting them. learn/ does the maths;
 * this file does the threads, the files and the logging.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/model/model.h"
#include "learn/learn.h"

_Static_assert(FM_MODEL_LEARNER_MIN_ROWS == FM_LEARN_DETECTOR_MIN_ROWS,
    "the config check and learn/ must agree");

#define MODEL_FILE_MAX_BYTES (16u << 20)
#define PREDICT_WINDOW       10u /* minutes of context for the predictor */

/* A training: what the sampling thread hands over, and what comes back. */
typedef struct job {
	float *rows; /* n x d samples, oldest first */
	size_t n;
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
	double cpu_seconds;
	int64_t real_ns;
} job;

struct fm_model_learner {
	fm_model_learner_config cfg;
	fm_learn_detector_config dcfg;
	fm_learn_predictor_config pcfg;
	fm_learn_detector *det;
	fm_learn_predictor *pred[FM_LABEL_COUNT];
	uint64_t onsets[FM_LABEL_COUNT];
	/* samples outside alarms, a ring of train_rows */
	float *rows;
	uint32_t rows_head, rows_held;
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
	job *queued; /* handed to the trainer */
	job *done;   /* from the trainer */
	bool busy;
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
};

static void
job_free(job *j)
{
	if (!j)
		return;
	free(j->rows);
	free(j->mrows);
	free(j->mevents);
	free(j->mscore);
	free(j->det_file);
	free(j->pred_file);
	free(j->global_params);
	free(j->update);
	fm_learn_detector_free(j->det);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_learn_predictor_free(j->pred[s]);
	free(j);
}

static void adopt(fm_model_learner *l, job *j);

/* ---- files --------------------------------------------------------------- */

static int
state_path(const fm_model_learner *l, const char *name, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s/%s", l->cfg.state_dir, name) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* Serialises the predictors into one model file. */
static int
predictors_save(uint32_t d, fm_learn_predictor *const *pred, uint8_t **ret_buf,
    size_t *ret_len)
{
	fm_learn_model_info info = {
		.kind = FM_LEARN_KIND_PREDICTOR,
		.schema_version = FM_SCHEMA_VERSION,
		.n_features = d,
	};
	fm_learn_model_writer w;
	int r;

	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	for (unsigned s = 0; r == 0 && s < FM_LABEL_COUNT; s++)
		r = fm_learn_predictor_save(
		    pred[s], 1 + s * FM_LEARN_PREDICTOR_SECTIONS, &w);
	if (r == 0)
		r = fm_learn_model_writer_finish(&w, ret_buf, ret_len);
	fm_learn_model_writer_release(&w);
	return r;
}

/* Loads the predictors from a model file, or makes new ones for those it
 * does not hold. On failure nothing is returned. */
static int
predictors_load(const fm_learn_predictor_config *pcfg, const uint8_t *buf,
    size_t len, fm_learn_predictor **ret)
{
	fm_learn_model_info expect = {
		.kind = FM_LEARN_KIND_PREDICTOR,
		.schema_version = FM_SCHEMA_VERSION,
		.n_features = pcfg->n_features,
	};
	fm_learn_predictor *pred[FM_LABEL_COUNT] = { 0 };
	fm_learn_model_reader rd;
	int r = 0;

	if (buf)
		r = fm_learn_model_decode(buf, len, &expect, &rd);
	for (unsigned s = 0; r == 0 && s < FM_LABEL_COUNT; s++) {
		r = -ENOENT;
		if (buf)
			r = fm_learn_predictor_load(&rd,
			    1 + s * FM_LEARN_PREDICTOR_SECTIONS, pcfg,
			    &pred[s]);
		if (r == -ENOENT)
			r = fm_learn_predictor_new(pcfg, &pred[s]);
	}
	if (r < 0) {
		for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
			fm_learn_predictor_free(pred[s]);
		return r;
	}
	memcpy(ret, pred, sizeof(pred));
	return 0;
}

/* Writes a model file into the state directory, crash-safe. Logs. */
static void
model_write(
    const fm_model_learner *l, const char *name, const uint8_t *buf, size_t len)
{
	char path[FM_AGENT_PATH_BYTES + 32];
	int r;

	if (!l->cfg.state_dir[0])
		return;
	r = state_path(l, name, path, sizeof(path));
	if (r == 0)
		r = fm_file_write_atomic(path, buf, len, 0600);
	if (r < 0)
		fm_log_errno(LOG_WARNING, r, "Failed to save model '%s'", path);
}

/* Reads a model file from the state directory: 0 with the bytes, or
 * -ENOENT when there is none; other errors are logged. */
static int
model_read(const fm_model_learner *l, const char *name, uint8_t **ret_buf,
    size_t *ret_len)
{
	char path[FM_AGENT_PATH_BYTES + 32];
	int r;

	if (!l->cfg.state_dir[0])
		return -ENOENT;
	r = state_path(l, name, path, sizeof(path));
	if (r == 0)
		r = fm_file_read_all(
		    path, MODEL_FILE_MAX_BYTES, ret_buf, ret_len);
	if (r < 0 && r != -ENOENT)
		fm_log_errno(LOG_WARNING, r, "Failed to read model '%s'", path);
	return r;
}

/* Moves a model file that cannot be used out of the way (kept for a
 * post-mortem as NAME.rejected), so it is not tried again. */
static void
model_reject(const fm_model_learner *l, const char *name, int why)
{
	char path[FM_AGENT_PATH_BYTES + 32], to[FM_AGENT_PATH_BYTES + 48];

	if (state_path(l, name, path, sizeof(path)) < 0 ||
	    snprintf(to, sizeof(to), "%s.rejected", path) >= (int)sizeof(to))
		return;
	fm_log_errno(LOG_WARNING, why,
	    "Failed to load model '%s', moving it to '%s' and starting afresh",
	    path, to);
	if (rename(path, to) < 0)
		fm_log_errno(
		    LOG_WARNING, -errno, "Failed to rename '%s'", path);
}

/* The fleet lineage file: "fedmon-federation-v1 VERSION\n". */
#define FED_STATE_MAGIC "fedmon-federation-v1 "

static void
fed_state_write(const fm_model_learner *l, uint64_t version)
{
	char text[64];
	int n = snprintf(text, sizeof(text), FED_STATE_MAGIC "%llu\n",
	    (unsigned long long)version);

	model_write(l, FM_MODEL_LEARNER_FEDERATION_FILE, (const uint8_t *)text,
	    (size_t)n);
}

/* The lineage saved by the last run; 0 when none or unreadable (logged:
 * the next fleet model is then fetched again, nothing is lost). */
static uint64_t
fed_state_read(const fm_model_learner *l)
{
	uint8_t *buf = NULL;
	size_t len;
	uint64_t v = 0;
	char *nl;

	if (model_read(l, FM_MODEL_LEARNER_FEDERATION_FILE, &buf, &len) < 0)
		return 0;
	nl = memchr(buf, '\n', len);
	if (len <= strlen(FED_STATE_MAGIC) || !nl ||
	    (size_t)(nl - (char *)buf) != len - 1 ||
	    memcmp(buf, FED_STATE_MAGIC, strlen(FED_STATE_MAGIC)) != 0 ||
	    (*nl = '\0',
	        fm_parse_u64((char *)buf + strlen(FED_STATE_MAGIC), &v) < 0)) {
		fm_log(LOG_WARNING,
		    "Failed to parse '%s/%s', fetching the fleet model again",
		    l->cfg.state_dir, FM_MODEL_LEARNER_FEDERATION_FILE);
		v = 0;
	}
	free(buf);
	return v;
}

/* ---- the training thread ------------------------------------------------- */

static double
thread_cpu_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0)
		return 0.0;
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Trains the predictor of every label source with onsets in the minute
 * rows, on the rows normalised by the new detector. */
static int
train_predictors(const fm_model_learner *l, job *j)
{
	const fm_learn_predictor_config *pc = &l->pcfg;
	size_t d = pc->n_features, p = fm_learn_predictor_n_inputs(pc);
	float *z = NULL, *x = NULL;
	uint8_t *ev = NULL, *y = NULL;
	int r = 0;

	if (j->nm == 0)
		return 0;
	z = malloc(j->nm * d * sizeof(float));
	x = malloc(j->nm * p * sizeof(float));
	ev = malloc(2 * j->nm);
	if (!z || !x || !ev) {
		r = -ENOMEM;
		goto out;
	}
	y = ev + j->nm;
	for (size_t t = 0; t < j->nm; t++)
		fm_learn_detector_normalise(
		    j->det, j->mrows + t * d, z + t * d);
	for (size_t t = 0; r == 0 && t < j->nm; t++)
		r = fm_learn_predictor_features(
		    pc, z, j->nm, t, &j->mscore[t], x + t * p);
	for (unsigned s = 0; r == 0 && s < FM_LABEL_COUNT; s++) {
		uint64_t onsets = 0;

		for (size_t t = 0; t < j->nm; t++) {
			ev[t] = (j->mevents[t] >> s) & 1u;
			onsets += ev[t];
		}
		j->onsets[s] = onsets;
		if (onsets == 0)
			continue;
		r = fm_learn_predictor_labels(
		    ev, j->nm, l->cfg.horizon_minutes, y);
		if (r == 0)
			r = fm_learn_predictor_train(
			    j->pred[s], x, y, j->nm, NULL);
	}
out:
	free(ev);
	free(x);
	free(z);
	return r;
}

/* One training, on the trainer thread. */
static void
train(const fm_model_learner *l, job *j)
{
	double t0 = thread_cpu_seconds();
	fm_learn_detector_train_stats ts;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	if (j->det_file)
		r = fm_learn_detector_load(
		    j->det_file, j->det_len, &l->dcfg, &j->det);
	else
		r = fm_learn_detector_new(&l->dcfg, &j->det);
	if (r == 0)
		r = predictors_load(
		    &l->pcfg, j->pred_file, j->pred_len, j->pred);
	if (r == 0 && j->global.version > 0) {
		/* personalise the fleet's model on this host's samples */
		fm_learn_ae_train_config tc = l->dcfg.train;

		tc.prox_mu = j->global.prox_mu;
		if (j->global.local_steps > 0)
			tc.steps = j->global.local_steps;
		r = fm_learn_detector_set_train_config(j->det, &tc);
		if (r == 0)
			r = fm_learn_fleet_import_detector(j->det, j->pred,
			    FM_LABEL_COUNT, j->global.layout_id,
			    j->global_params, j->global.n_params);
	}
	if (r == 0)
		r = fm_learn_detector_train(j->det, j->rows, j->n, &ts);
	if (r == 0 && j->global.version > 0) {
		/* the fleet's predictors: a host without failures of a kind
		 * predicts them with the fleet's, one with some trains on */
		int taken = fm_learn_fleet_import_predictors(j->det, j->pred,
		    FM_LABEL_COUNT, j->global.layout_id, j->global_params,
		    j->global.n_params);

		r = taken < 0 ? taken : 0;
	}
	if (r == 0)
		r = train_predictors(l, j);
	if (r == 0) {
		double weights[FM_LABEL_COUNT];
		size_t n;

		/* (the round's settings end with this job: the next one
		 * loads the detector with the host's own, l->dcfg) */
		j->loss = (float)ts.loss_last;
		/* a host's say in a fleet predictor: the failures it saw */
		for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
			weights[s] = (double)j->onsets[s] / (double)j->n;
		r = fm_learn_fleet_export(j->det, j->pred, weights,
		    FM_LABEL_COUNT, j->update, l->fed_n, &n);
	}
	j->cpu_seconds = thread_cpu_seconds() - t0;
	j->real_ns = fm_time_real_ns();
	j->r = r;
	if (r < 0)
		return;
	/* persisted from here, so a crash keeps the new models */
	if (fm_learn_detector_save(j->det, &buf, &len) == 0)
		model_write(l, FM_MODEL_LEARNER_DETECTOR_FILE, buf, len);
	free(buf);
	buf = NULL;
	if (predictors_save(l->dcfg.n_features, j->pred, &buf, &len) == 0)
		model_write(l, FM_MODEL_LEARNER_PREDICTOR_FILE, buf, len);
	free(buf);
	if (j->global.version > 0)
		fed_state_write(l, j->version);
}

/* The lowest priority the kernel offers a thread: SCHED_IDLE, and nice
 * 19 where SCHED_IDLE is refused. */
static void
lower_priority(void)
{
	struct sched_param sp = { 0 };

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), 19) < 0)
		fm_log_errno(LOG_DEBUG, -errno,
		    "Failed to lower the training thread's nice value");
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) != 0)
		fm_log(LOG_DEBUG, "SCHED_IDLE refused for the training thread");
}

static void *
trainer_main(void *userdata)
{
	fm_model_learner *l = userdata;

	lower_priority();
	pthread_mutex_lock(&l->lock);
	for (;;) {
		job *j;

		while (!l->stop && !l->queued)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->stop)
			break;
		j = l->queued;
		l->queued = NULL;
		pthread_mutex_unlock(&l->lock);
		train(l, j);
		pthread_mutex_lock(&l->lock);
		l->done = j;
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* ---- the sampling thread's side ------------------------------------------ */

uint32_t
fm_model_learner_minutes(const fm_model_learner_config *cfg)
{
	/* the last day of minutes, or the horizon x 48 */
	if (cfg->horizon_minutes > 1440u / 48u)
		return cfg->horizon_minutes * 48u;
	return 1440;
}

int
fm_model_learner_new(const fm_model_learner_config *cfg,
    fm_model_history *history, fm_model_learner **ret)
{
	uint32_t d = FM_FEATURE_COUNT;
	fm_model_learner *l;
	uint8_t *buf = NULL;
	size_t len = 0, p;
	int r;

	if (cfg->interval_ms == 0 ||
	    cfg->min_rows < FM_MODEL_LEARNER_MIN_ROWS ||
	    cfg->train_rows < cfg->min_rows || cfg->retrain_seconds == 0 ||
	    cfg->horizon_minutes == 0 || !history ||
	    fm_model_history_capacity(history) < fm_model_learner_minutes(cfg))
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->cfg = *cfg;
	fm_learn_detector_config_default(
	    &l->dcfg, d, (uint32_t)(86400000u / cfg->interval_ms));
	l->dcfg.schema_version = FM_SCHEMA_VERSION;
	l->dcfg.alarm_on = cfg->alarm_samples;
	l->dcfg.onset_factor = (float)cfg->onset_factor;
	l->dcfg.alarm_off = cfg->clear_samples;
	l->dcfg.train.seed = cfg->seed;
	fm_learn_predictor_config_default(&l->pcfg);
	l->pcfg.n_features = d;
	l->pcfg.window = PREDICT_WINDOW;
	l->pcfg.n_extra = 1; /* the minute's mean anomaly score */
	l->pcfg.schema_version = FM_SCHEMA_VERSION;
	l->pcfg.seed = cfg->seed;
	p = fm_learn_predictor_n_inputs(&l->pcfg);
	l->history = history;
	l->minutes_cap = fm_model_learner_minutes(cfg);
	l->rows = malloc((size_t)cfg->train_rows * d * sizeof(float));
	l->pz = malloc(((size_t)PREDICT_WINDOW * d + p) * sizeof(float));
	if (!l->rows || !l->pz) {
		r = -ENOMEM;
		goto out_free;
	}
	l->px = l->pz + (size_t)PREDICT_WINDOW * d;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	pthread_mutex_init(&l->status_lock, NULL);
	l->sync_ready = true;

	/* the models saved by the last run, if they still fit */
	if (model_read(l, FM_MODEL_LEARNER_DETECTOR_FILE, &buf, &len) == 0) {
		r = fm_learn_detector_load(buf, len, &l->dcfg, &l->det);
		if (r == -ENOMEM)
			goto out_free;
		if (r < 0)
			model_reject(l, FM_MODEL_LEARNER_DETECTOR_FILE, r);
		else
			fm_log(LOG_INFO,
			    "Loaded the anomaly detector from "
			    "'%s/%s'",
			    cfg->state_dir, FM_MODEL_LEARNER_DETECTOR_FILE);
		free(buf);
		buf = NULL;
	}
	if (!l->det) {
		r = fm_learn_detector_new(&l->dcfg, &l->det);
		if (r < 0)
			goto out_free;
	} else {
		l->fed_version = fed_state_read(l);
	}
	if (model_read(l, FM_MODEL_LEARNER_PREDICTOR_FILE, &buf, &len) == 0) {
		r = predictors_load(&l->pcfg, buf, len, l->pred);
		if (r == -ENOMEM)
			goto out_free;
		if (r < 0)
			model_reject(l, FM_MODEL_LEARNER_PREDICTOR_FILE, r);
		free(buf);
		buf = NULL;
	}
	if (!l->pred[0]) {
		r = predictors_load(&l->pcfg, NULL, 0, l->pred);
		if (r < 0)
			goto out_free;
	}
	/* what the host shares: the detector, then every predictor */
	l->fed_layout =
	    fm_learn_fleet_layout_id(l->det, l->pred, FM_LABEL_COUNT);
	l->fed_n =
	    (uint32_t)fm_learn_fleet_count(l->det, l->pred, FM_LABEL_COUNT);
	l->offer = malloc((size_t)l->fed_n * sizeof(float));
	l->snap = malloc((size_t)l->fed_n * sizeof(float));
	if (!l->offer || !l->snap) {
		r = -ENOMEM;
		goto out_free;
	}
	l->status.ready = fm_learn_detector_is_ready(l->det);
	r = -pthread_create(&l->thread, NULL, trainer_main, l);
	if (r < 0)
		goto out_free;
	l->thread_started = true;
	*ret = l;
	return 0;
out_free:
	free(buf);
	fm_model_learner_free(l);
	return r;
}

/* Saves the current models (at exit: the detector with its live state). */
static void
save_all(fm_model_learner *l)
{
	uint8_t *buf = NULL;
	size_t len;

	if (l->det && fm_learn_detector_is_ready(l->det) &&
	    fm_learn_detector_save(l->det, &buf, &len) == 0)
		model_write(l, FM_MODEL_LEARNER_DETECTOR_FILE, buf, len);
	free(buf);
	buf = NULL;
	if (l->pred[0] &&
	    predictors_save(l->dcfg.n_features, l->pred, &buf, &len) == 0)
		model_write(l, FM_MODEL_LEARNER_PREDICTOR_FILE, buf, len);
	free(buf);
}

fm_model_learner *
fm_model_learner_free(fm_model_learner *l)
{
	if (!l)
		return NULL;
	if (l->thread_started) {
		pthread_mutex_lock(&l->lock);
		l->stop = true;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->lock);
		pthread_join(l->thread, NULL);
		/* a training that ended meanwhile is newer than ours */
		if (l->done) {
			adopt(l, l->done);
			job_free(l->done);
			l->done = NULL;
		}
		save_all(l);
	}
	if (l->sync_ready) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->status_lock);
	}
	job_free(l->queued);
	job_free(l->done);
	fm_learn_detector_free(l->det);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_learn_predictor_free(l->pred[s]);
	free(l->rows);
	free(l->pz);
	free(l->offer);
	free(l->snap);
	free(l);
	return NULL;
}

/* The closed minutes the predictors learn from: the ring's newest, at
 * most minutes_cap. */
static uint32_t
minutes_held(const fm_model_learner *l)
{
	uint32_t n = fm_model_history_minute_count(l->history);

	return n < l->minutes_cap ? n : l->minutes_cap;
}

/* Copies ring[cap] of rows of width w (head = next slot, held rows) out
 * oldest first. */
static void
ring_copy(const void *ring, uint32_t cap, uint32_t head, uint32_t held,
    size_t w, void *dst)
{
	uint32_t first = (head + cap - held) % cap;
	uint32_t n1 = held < cap - first ? held : cap - first;

	memcpy(dst, (const uint8_t *)ring + (size_t)first * w, (size_t)n1 * w);
	memcpy((uint8_t *)dst + (size_t)n1 * w, ring, (size_t)(held - n1) * w);
}

/* Builds a training from the rows kept and the current models, with the
 * fleet model offered since the last one, if any. */
static int
job_make(fm_model_learner *l, job **ret)
{
	size_t d = l->dcfg.n_features;
	job *j = calloc(1, sizeof(*j));
	int r = -ENOMEM;

	if (!j)
		return -ENOMEM;
	j->n = l->rows_held;
	j->nm = minutes_held(l);
	j->rows = malloc(j->n * d * sizeof(float));
	j->mrows = malloc((j->nm + 1) * d * sizeof(float));
	j->mevents = malloc(j->nm + 1);
	j->mscore = malloc((j->nm + 1) * sizeof(float));
	if (!j->rows || !j->mrows || !j->mevents || !j->mscore)
		goto out_free;
	ring_copy(l->rows, l->cfg.train_rows, l->rows_head, l->rows_held,
	    d * sizeof(float), j->rows);
	for (size_t t = 0; t < j->nm; t++) {
		const fm_model_history_minute *m = fm_model_history_minute_get(
		    l->history, (uint32_t)(j->nm - 1 - t));

		memcpy(j->mrows + t * d, m->mean, d * sizeof(float));
		j->mevents[t] = (uint8_t)m->label_onsets;
		j->mscore[t] = m->score;
	}
	if (fm_learn_detector_is_ready(l->det)) {
		r = fm_learn_detector_save(l->det, &j->det_file, &j->det_len);
		if (r < 0)
			goto out_free;
	}
	r = predictors_save(
	    l->dcfg.n_features, l->pred, &j->pred_file, &j->pred_len);
	if (r < 0)
		goto out_free;
	j->update = malloc((size_t)l->fed_n * sizeof(float));
	j->global_params = malloc((size_t)l->fed_n * sizeof(float));
	if (!j->update || !j->global_params) {
		r = -ENOMEM;
		goto out_free;
	}
	pthread_mutex_lock(&l->lock);
	j->version = l->fed_version;
	if (l->offered) {
		j->global = l->offer_meta;
		memcpy(j->global_params, l->offer,
		    (size_t)l->fed_n * sizeof(float));
		j->global.params = j->global_params;
		j->version = j->global.version;
		l->offered = false;
	}
	pthread_mutex_unlock(&l->lock);
	*ret = j;
	return 0;
out_free:
	job_free(j);
	return r;
}

/* Swaps in the models a finished training made, or logs why it failed. */
static void
adopt(fm_model_learner *l, job *j)
{
	if (j->r < 0) {
		fm_log_errno(LOG_WARNING, j->r,
		    "Failed to train the models on %zu samples, keeping the "
		    "current ones",
		    j->n);
		pthread_mutex_lock(&l->status_lock);
		l->status.train_failures++;
		l->status.last_error = j->r;
		l->status.training = false;
		pthread_mutex_unlock(&l->status_lock);
		return;
	}
	/* the window and an alarm in progress belong to the host */
	(void)!fm_learn_detector_continue(j->det, l->det);
	fm_learn_detector_free(l->det);
	l->det = j->det;
	j->det = NULL;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		fm_learn_predictor_free(l->pred[s]);
		l->pred[s] = j->pred[s];
		j->pred[s] = NULL;
		l->onsets[s] = j->onsets[s];
	}
	pthread_mutex_lock(&l->lock);
	l->fed_version = j->version;
	memcpy(l->snap, j->update, (size_t)l->fed_n * sizeof(float));
	l->snap_meta = (fm_model_learner_update) {
		.base_version = j->version,
		.layout_id = l->fed_layout,
		.n_params = l->fed_n,
		.samples = j->n,
		.loss = j->loss,
		.made_real_ns = j->real_ns,
	};
	l->snapped = true;
	pthread_mutex_unlock(&l->lock);
	if (j->global.version > 0)
		fm_log(LOG_INFO,
		    "Applied fleet model version %llu, personalised on %zu "
		    "samples in %.3f s of CPU",
		    (unsigned long long)j->global.version, j->n,
		    j->cpu_seconds);
	else
		fm_log(l->trained_once ? LOG_DEBUG : LOG_INFO,
		    "Trained the models on %zu samples and %zu minutes in "
		    "%.3f s of CPU",
		    j->n, j->nm, j->cpu_seconds);
	l->trained_once = true;
	pthread_mutex_lock(&l->status_lock);
	l->status.ready = true;
	l->status.training = false;
	l->status.trainings++;
	l->status.last_error = 0;
	l->status.trained_real_ns = j->real_ns;
	l->status.trained_rows = (uint32_t)j->n;
	l->status.train_cpu_seconds = j->cpu_seconds;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		fm_learn_predictor_status ps;

		fm_learn_predictor_status_get(l->pred[s], &ps);
		l->status.failure[s].trained = ps.trained;
		l->status.failure[s].onsets = l->onsets[s];
	}
	pthread_mutex_unlock(&l->status_lock);
}

/* Hands over a training when one is due and none runs. */
static void
maybe_train(fm_model_learner *l, int64_t now_ns)
{
	job *j;
	int r;

	bool offered;

	if (l->busy || l->rows_held < l->cfg.min_rows)
		return;
	pthread_mutex_lock(&l->lock);
	offered = l->offered;
	pthread_mutex_unlock(&l->lock);
	if (!offered && l->last_train_mono_ns != 0 &&
	    now_ns - l->last_train_mono_ns <
	        (int64_t)l->cfg.retrain_seconds * 1000000000LL)
		return;
	l->last_train_mono_ns = now_ns;
	r = job_make(l, &j);
	if (r < 0) {
		fm_log_errno(LOG_WARNING, r,
		    "Failed to start a training, "
		    "retrying later");
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->queued = j;
	l->busy = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_mutex_lock(&l->status_lock);
	l->status.training = true;
	pthread_mutex_unlock(&l->status_lock);
}

/* The failure probabilities for the newest minute row. */
static void
predict(fm_model_learner *l, float probability[FM_LABEL_COUNT])
{
	size_t d = l->dcfg.n_features;
	uint32_t held = minutes_held(l);
	uint32_t w = held < PREDICT_WINDOW ? held : PREDICT_WINDOW;
	float score = fm_model_history_minute_get(l->history, 0)->score;

	for (uint32_t i = 0; i < w; i++)
		fm_learn_detector_normalise(l->det,
		    fm_model_history_minute_get(l->history, w - 1 - i)->mean,
		    l->pz + i * d);
	if (fm_learn_predictor_features(
	        &l->pcfg, l->pz, w, w - 1, &score, l->px) < 0) {
		memset(probability, 0, FM_LABEL_COUNT * sizeof(float));
		return;
	}
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		probability[s] =
		    (float)fm_learn_predictor_predict(l->pred[s], l->px);
}

void
fm_model_learner_on_sample(
    fm_model_learner *l, const fm_sample *s, uint32_t label_onsets)
{
	size_t d = l->dcfg.n_features;
	float probability[FM_LABEL_COUNT];
	bool closed, any = false;
	fm_learn_verdict v;
	uint32_t top[FM_MODEL_LEARNER_TOP], n_top;
	const float *contrib;
	job *j;

	/* models from a finished training first, so this sample uses them */
	pthread_mutex_lock(&l->lock);
	j = l->done;
	l->done = NULL;
	if (j)
		l->busy = false;
	pthread_mutex_unlock(&l->lock);
	if (j) {
		adopt(l, j);
		job_free(j);
	}

	fm_learn_detector_score(l->det, s->v, &v);
	n_top = v.ready
	    ? (uint32_t)fm_learn_detector_top(l->det, FM_MODEL_LEARNER_TOP, top)
	    : 0;
	contrib = fm_learn_detector_contrib(l->det);

	/* what to learn from: samples outside alarms */
	for (size_t i = 0; i < d; i++)
		any |= isfinite(s->v[i]) != 0;
	if (any && !v.alarm) {
		memcpy(l->rows + (size_t)l->rows_head * d, s->v,
		    d * sizeof(float));
		l->rows_head = (l->rows_head + 1) % l->cfg.train_rows;
		if (l->rows_held < l->cfg.train_rows)
			l->rows_held++;
	}
	/* the minute ring; a minute closed: predict from it */
	closed = fm_model_history_push(l->history, s, v.score, label_onsets);
	if (closed)
		predict(l, probability);

	pthread_mutex_lock(&l->status_lock);
	if (v.alarm && !l->status.alarm)
		l->status.alarms++;
	l->status.score = v.score;
	l->status.threshold = v.threshold;
	l->status.alarm = v.alarm;
	l->status.n_top = n_top;
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		l->status.contrib[i] = v.ready && i < d ? contrib[i] : 0.0f;
	for (uint32_t i = 0; i < n_top; i++) {
		l->status.top[i] = top[i];
		l->status.top_contrib[i] = contrib[top[i]];
	}
	l->status.scored++;
	l->status.rows_held = l->rows_held;
	if (closed) {
		for (unsigned i = 0; i < FM_LABEL_COUNT; i++)
			l->status.failure[i].probability = probability[i];
	}
	pthread_mutex_unlock(&l->status_lock);

	maybe_train(l, s->mono_ns);
}

void
fm_model_learner_status_get(fm_model_learner *l, fm_model_learner_status *ret)
{
	pthread_mutex_lock(&l->status_lock);
	*ret = l->status;
	pthread_mutex_unlock(&l->status_lock);
}

/* ---- federation ---------------------------------------------------------- */

void
fm_model_learner_fed_layout(
    const fm_model_learner *l, uint32_t *ret_layout_id, uint32_t *ret_n_params)
{
	*ret_layout_id = l->fed_layout;
	*ret_n_params = l->fed_n;
}

uint64_t
fm_model_learner_fed_version(fm_model_learner *l)
{
	uint64_t v;

	pthread_mutex_lock(&l->lock);
	v = l->fed_version;
	pthread_mutex_unlock(&l->lock);
	return v;
}

int
fm_model_learner_fed_offer(
    fm_model_learner *l, const fm_model_learner_global *g)
{
	if (g->version == 0 || g->n_params != l->fed_n)
		return -EINVAL;
	if (g->layout_id != l->fed_layout)
		return -ESTALE;
	for (uint32_t i = 0; i < g->n_params; i++) {
		if (!isfinite(g->params[i]))
			return -EDOM;
	}
	pthread_mutex_lock(&l->lock);
	memcpy(l->offer, g->params, (size_t)l->fed_n * sizeof(float));
	l->offer_meta = *g;
	l->offer_meta.params = NULL;
	l->offered = true;
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int
fm_model_learner_fed_update(
    fm_model_learner *l, float *dst, size_t cap, fm_model_learner_update *ret)
{
	int r = 0;

	pthread_mutex_lock(&l->lock);
	if (!l->snapped)
		r = -ENODATA;
	else if (cap < l->fed_n)
		r = -ENOBUFS;
	if (r == 0) {
		memcpy(dst, l->snap, (size_t)l->fed_n * sizeof(float));
		*ret = l->snap_meta;
	}
	pthread_mutex_unlock(&l->lock);
	return r;
}

static void
model_layout(void *userdata, uint32_t *ret_layout_id, uint32_t *ret_n_params)
{
	fm_model_learner_fed_layout(userdata, ret_layout_id, ret_n_params);
}

static uint64_t
model_version(void *userdata)
{
	return fm_model_learner_fed_version(userdata);
}

static int
model_offer(void *userdata, const fm_model_learner_global *g)
{
	return fm_model_learner_fed_offer(userdata, g);
}

static int
model_update(
    void *userdata, float *dst, size_t cap, fm_model_learner_update *ret)
{
	return fm_model_learner_fed_update(userdata, dst, cap, ret);
}

void
fm_model_learner_fed_model(fm_model_learner *l, fm_model_federation_model *ret)
{
	*ret = (fm_model_federation_model) {
		.layout = model_layout,
		.version = model_version,
		.offer = model_offer,
		.update = model_update,
		.userdata = l,
	};
}
