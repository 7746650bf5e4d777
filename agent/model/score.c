/*
 * On-device learning in the agent, the sampling thread's side: creating
 * and freeing the learner, scoring every sample, keeping the samples to
 * learn from, predicting failures when a minute closes, and the
 * federation hand-over. Training is train.c's, the model files store.c's;
 * learn/ does the maths.
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

#include "agent/model/model-int.h"

_Static_assert(FM_MODEL_LEARNER_MIN_ROWS == FM_LEARN_DETECTOR_MIN_ROWS,
    "the config check and learn/ must agree");

#define PREDICT_WINDOW 10u /* minutes of context for the predictor */

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
	l->dcfg.schema_version = FM_COLLECT_SCHEMA_VERSION;
	l->dcfg.alarm_on = cfg->alarm_samples;
	l->dcfg.onset_factor = (float)cfg->onset_factor;
	l->dcfg.alarm_off = cfg->clear_samples;
	l->dcfg.train.seed = cfg->seed;
	fm_learn_predictor_config_default(&l->pcfg);
	l->pcfg.n_features = d;
	l->pcfg.window = PREDICT_WINDOW;
	l->pcfg.n_extra = 1; /* the minute's mean anomaly score */
	l->pcfg.schema_version = FM_COLLECT_SCHEMA_VERSION;
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
	if (fmi_model_file_read(
	        l, FM_MODEL_LEARNER_DETECTOR_FILE, &buf, &len) == 0) {
		r = fm_learn_detector_load(buf, len, &l->dcfg, &l->det);
		if (r == -ENOMEM)
			goto out_free;
		if (r < 0)
			fmi_model_file_reject(
			    l, FM_MODEL_LEARNER_DETECTOR_FILE, r);
		else {
			fm_log(LOG_INFO,
			    "Loaded the anomaly detector from "
			    "'%s/%s'",
			    cfg->state_dir, FM_MODEL_LEARNER_DETECTOR_FILE);
			/* its age is the file's, not "never" */
			l->status.trained_real_ns = fmi_model_file_mtime_ns(
			    l, FM_MODEL_LEARNER_DETECTOR_FILE);
		}
		free(buf);
		buf = NULL;
	}
	if (!l->det) {
		r = fm_learn_detector_new(&l->dcfg, &l->det);
		if (r < 0)
			goto out_free;
	} else {
		l->fed_version = fmi_model_fed_state_read(l);
	}
	if (fmi_model_file_read(
	        l, FM_MODEL_LEARNER_PREDICTOR_FILE, &buf, &len) == 0) {
		r = fmi_model_predictors_load(&l->pcfg, buf, len, l->pred);
		if (r == -ENOMEM)
			goto out_free;
		if (r < 0)
			fmi_model_file_reject(
			    l, FM_MODEL_LEARNER_PREDICTOR_FILE, r);
		free(buf);
		buf = NULL;
	}
	if (!l->pred[0]) {
		r = fmi_model_predictors_load(&l->pcfg, NULL, 0, l->pred);
		if (r < 0)
			goto out_free;
	}
	/* status tells what the loaded predictors know before any
	 * training (it said "untrained" for a trained one) */
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		fm_learn_predictor_status ps;

		fm_learn_predictor_status_get(l->pred[s], &ps);
		l->status.failure[s].trained = ps.trained;
	}
	/* the rest of what the last run knew (keep.c) */
	r = fmi_model_keep_load(l);
	if (r < 0)
		goto out_free;
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
	r = -pthread_create(&l->thread, NULL, fmi_model_trainer_main, l);
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
			fmi_model_learner_adopt(l, l->done);
			fmi_model_job_free(l->done);
			l->done = NULL;
		}
		fmi_model_learner_save_all(l);
		fmi_model_keep_save(l);
	}
	if (l->sync_ready) {
		pthread_mutex_destroy(&l->lock);
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->status_lock);
	}
	fmi_model_job_free(l->queued);
	fmi_model_job_free(l->done);
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
uint32_t
fmi_model_learner_minutes_held(const fm_model_learner *l)
{
	uint32_t n = fm_model_history_minute_count(l->history);

	return n < l->minutes_cap ? n : l->minutes_cap;
}

/* The failure probabilities for the newest minute row. */
static void
predict(fm_model_learner *l, float probability[FM_LABEL_COUNT])
{
	size_t d = l->dcfg.n_features;
	uint32_t held = fmi_model_learner_minutes_held(l);
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
    fm_model_learner *l, const fm_collect_sample *s, uint32_t label_onsets)
{
	size_t d = l->dcfg.n_features;
	float probability[FM_LABEL_COUNT];
	bool closed, any = false;
	fm_learn_verdict v;
	uint32_t top[FM_MODEL_LEARNER_TOP], n_top;
	const float *contrib;
	fmi_model_job *j;

	/* models from a finished training first, so this sample uses them */
	pthread_mutex_lock(&l->lock);
	j = l->done;
	l->done = NULL;
	if (j)
		l->busy = false;
	pthread_mutex_unlock(&l->lock);
	if (j) {
		fmi_model_learner_adopt(l, j);
		fmi_model_job_free(j);
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

	fmi_model_keep_on_sample(l, s);
	fmi_model_learner_maybe_train(l, s->mono_ns);
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
