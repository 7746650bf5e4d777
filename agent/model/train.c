/*
 * The learner's training: jobs built from the rows kept and the minute
 * ring on the sampling thread, trained on a background thread at the
 * lowest CPU priority (SCHED_IDLE, nice 19) (or, for a synchronous
 * learner, on the sampling thread at once), continuing from the current
 * models or personalising a fleet model, and swapped in by the next
 * sample after the training ends.
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

void
fmi_model_job_free(fmi_model_job *j)
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
train_predictors(const fm_model_learner *l, fmi_model_job *j)
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
train(const fm_model_learner *l, fmi_model_job *j)
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
		r = fmi_model_predictors_load(
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
		r = fm_learn_detector_set_young_prior(
		    j->det, l->typical_s, j->young_rows);
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
	/* persisted from here, so a crash keeps the new models; the first
	 * failure to save is the operator's (a full state disk, say) */
	if (fm_learn_detector_save(j->det, &buf, &len) == 0)
		j->save_error = fmi_model_file_write(
		    l, FM_MODEL_LEARNER_DETECTOR_FILE, buf, len);
	free(buf);
	buf = NULL;
	if (fmi_model_predictors_save(
	        l->dcfg.n_features, j->pred, &buf, &len) == 0) {
		r = fmi_model_file_write(
		    l, FM_MODEL_LEARNER_PREDICTOR_FILE, buf, len);
		if (j->save_error == 0)
			j->save_error = r;
	}
	free(buf);
	if (j->global.version > 0) {
		r = fmi_model_fed_state_write(l, j->version);
		if (j->save_error == 0)
			j->save_error = r;
	}
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

void *
fmi_model_trainer_main(void *userdata)
{
	fm_model_learner *l = userdata;

	(void)pthread_setname_np(pthread_self(), "fm:train");
	lower_priority();
	pthread_mutex_lock(&l->lock);
	for (;;) {
		fmi_model_job *j;

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
job_make(fm_model_learner *l, fmi_model_job **ret)
{
	size_t d = l->dcfg.n_features;
	fmi_model_job *j = calloc(1, sizeof(*j));
	int r = -ENOMEM;

	size_t extra = 0;

	if (!j)
		return -ENOMEM;
	/* an accepted state weighs a third of the rows: its newest
	 * weight_rows samples are repeated after the kept ones */
	if (l->weight_rows > 0 && (size_t)l->weight_rows * 3 < l->rows_held)
		extra = (l->rows_held - (size_t)l->weight_rows * 3) / 2;
	j->n_kept = l->rows_held;
	j->n = j->n_kept + extra;
	j->nm = fmi_model_learner_minutes_held(l);
	j->rows = malloc(j->n * d * sizeof(float));
	j->mrows = malloc((j->nm + 1) * d * sizeof(float));
	j->mevents = malloc(j->nm + 1);
	j->mscore = malloc((j->nm + 1) * sizeof(float));
	if (!j->rows || !j->mrows || !j->mevents || !j->mscore)
		goto out_free;
	ring_copy(l->rows, l->cfg.train_rows, l->rows_head, l->rows_held,
	    d * sizeof(float), j->rows);
	for (size_t i = 0; i < extra; i++)
		memcpy(j->rows + (j->n_kept + i) * d,
		    j->rows + (j->n_kept - l->weight_rows +
		                  i % l->weight_rows) * d,
		    d * sizeof(float));
	l->weight_rows = 0;
	/* until mature_seconds of samples are seen, the model leans on the
	 * typical scales for what it has not seen yet */
	{
		double mature = (double)l->cfg.mature_seconds * 1000.0 /
		    (double)l->cfg.interval_ms;

		j->young_rows = mature > (double)l->seen_rows
		    ? (float)(mature - (double)l->seen_rows)
		    : 0.0f;
	}
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
	r = fmi_model_predictors_save(
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
	fmi_model_job_free(j);
	return r;
}

/* Swaps in the models a finished training made, or logs why it failed. */
void
fmi_model_learner_adopt(fm_model_learner *l, fmi_model_job *j)
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
	l->trained_n = (uint32_t)j->n_kept;
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
	l->status.save_error = j->save_error;
	l->status.trained_real_ns = j->real_ns;
	l->status.trained_rows = (uint32_t)j->n;
	l->status.young_prior =
	    j->young_rows / (j->young_rows + (float)j->n_kept);
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
void
fmi_model_learner_maybe_train(fm_model_learner *l, int64_t now_ns)
{
	fmi_model_job *j;
	bool offered, grown;
	int r;

	if (l->busy || l->rows_held < l->cfg.min_rows)
		return;
	pthread_mutex_lock(&l->lock);
	offered = l->offered;
	pthread_mutex_unlock(&l->lock);
	/* the training window grows: a young model is retrained each time
	 * the kept samples double, until they fill train_rows */
	grown = l->trained_n > 0 && l->trained_n < l->cfg.train_rows &&
	    (l->rows_held >= 2 * (uint64_t)l->trained_n ||
	        l->rows_held == l->cfg.train_rows) &&
	    now_ns - l->last_train_mono_ns >= 60 * 1000000000LL;
	if (!offered && !l->train_now && !grown &&
	    l->last_train_mono_ns != 0 &&
	    now_ns - l->last_train_mono_ns <
	        (int64_t)l->cfg.retrain_seconds * 1000000000LL)
		return;
	l->last_train_mono_ns = now_ns;
	l->train_now = false;
	r = job_make(l, &j);
	if (r < 0) {
		fm_log_errno(LOG_WARNING, r,
		    "Failed to start a training, "
		    "retrying later");
		return;
	}
	pthread_mutex_lock(&l->status_lock);
	l->status.training = true;
	pthread_mutex_unlock(&l->status_lock);
	if (l->cfg.synchronous) {
		/* the same training, here: done as the thread leaves it */
		train(l, j);
		pthread_mutex_lock(&l->lock);
		l->done = j;
		l->busy = true;
		pthread_mutex_unlock(&l->lock);
		return;
	}
	pthread_mutex_lock(&l->lock);
	l->queued = j;
	l->busy = true;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

fmi_model_job *
fmi_model_learner_take_done(fm_model_learner *l)
{
	fmi_model_job *j = NULL;

	pthread_mutex_lock(&l->lock);
	if (!l->hold) {
		j = l->done;
		l->done = NULL;
	}
	if (j)
		l->busy = false;
	pthread_mutex_unlock(&l->lock);
	return j;
}

void
fm_model_learner_hold(fm_model_learner *l, bool hold)
{
	pthread_mutex_lock(&l->lock);
	l->hold = hold;
	pthread_mutex_unlock(&l->lock);
}
