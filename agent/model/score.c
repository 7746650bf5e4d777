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

	if (cfg->interval_ms == 0 || !(cfg->threshold_risk > 0.0) ||
	    !(cfg->threshold_risk <= 0.05) ||
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
	l->dcfg.pot.risk = cfg->threshold_risk;
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
	/* an alarm's samples wait until accept_seconds tell; without
	 * acceptance, the newest train_rows of them are what the operator's
	 * accept can take */
	l->accept_rows = (uint32_t)((uint64_t)cfg->accept_seconds * 1000u /
	    cfg->interval_ms);
	l->pend_cap = l->accept_rows > 0 && l->accept_rows < cfg->train_rows
	    ? l->accept_rows
	    : cfg->train_rows;
	l->pend = malloc((size_t)l->pend_cap * d * sizeof(float));
	l->status.mature_rows = (uint64_t)cfg->mature_seconds * 1000u /
	    cfg->interval_ms;
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		l->typical_s[i] = fm_collect_feature_typical_scale(i);
	if (!l->rows || !l->pz || !l->pend) {
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
	l->status.failure_min_events = cfg->failure_min_events;
	if (!cfg->synchronous) {
		r = -pthread_create(
		    &l->thread, NULL, fmi_model_trainer_main, l);
		if (r < 0)
			goto out_free;
		l->thread_started = true;
	}
	l->started = true;
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
	}
	if (l->started) {
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
	free(l->pend);
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

/*
 * The probability that the fullest filesystem reaches the fs_full
 * threshold within the horizon, from the trend of its used fraction over
 * the last closed minutes (see fm_model_learner_failure in learner.h).
 * Returns false when there is no estimate (the source is off, or fewer
 * than FM_MODEL_LEARNER_FILL_MIN_MINUTES minutes saw the feature).
 */
static bool
fill_probability(const fm_model_learner *l, double *ret_p)
{
	const fm_model_history_minute *m0 =
	    fm_model_history_minute_get(l->history, 0);
	double thr = l->cfg.fs_full_fraction, h = l->cfg.horizon_minutes;
	double x[FM_MODEL_LEARNER_FILL_MINUTES],
	    u[FM_MODEL_LEARNER_FILL_MINUTES];
	double xm = 0.0, um = 0.0, sxx = 0.0, sxu = 0.0, rss = 0.0;
	double a, b, xs, se, s2 = 0.0;
	uint32_t held = fmi_model_learner_minutes_held(l), n = 0;

	if (!(thr > 0.0) || !m0)
		return false;
	/* minutes before the newest (x <= 0), by their start times, so a
	 * gap in the ring stretches the line rather than bending it */
	for (uint32_t i = 0; i < held && i < FM_MODEL_LEARNER_FILL_MINUTES;
	     i++) {
		const fm_model_history_minute *m =
		    fm_model_history_minute_get(l->history, i);
		float v = m->mean[FM_F_FS_FULLEST];

		if (fm_collect_feature_is_masked(v))
			continue;
		x[n] = (double)(m->real_ns - m0->real_ns) / 60e9;
		u[n] = v;
		xm += x[n];
		um += u[n];
		n++;
	}
	if (n < FM_MODEL_LEARNER_FILL_MIN_MINUTES)
		return false;
	xm /= n;
	um /= n;
	for (uint32_t i = 0; i < n; i++) {
		sxx += (x[i] - xm) * (x[i] - xm);
		sxu += (x[i] - xm) * (u[i] - um);
	}
	if (!(sxx > 0.0))
		return false;
	b = sxu / sxx; /* fraction per minute */
	a = um - b * xm;
	if (u[0] >= thr && x[0] == 0.0) {
		/* at the threshold already: the onset is behind */
		*ret_p = 0.0;
		return true;
	}
	for (uint32_t i = 0; i < n; i++) {
		double e = u[i] - (a + b * x[i]);

		rss += e * e;
	}
	if (n > 2)
		s2 = rss / (double)(n - 2);
	/* the newest minute's mean stands at its middle: the horizon runs
	 * from its end, half a minute later */
	xs = h + 0.5;
	se = sqrt(s2 * (1.0 + 1.0 / n + (xs - xm) * (xs - xm) / sxx));
	if (!(se >= FM_MODEL_LEARNER_FILL_NOISE))
		se = FM_MODEL_LEARNER_FILL_NOISE;
	*ret_p = 0.5 * erfc(-((a + b * xs) - thr) / (se * M_SQRT2));
	return true;
}

/* The failure probabilities for the newest minute row, with the onsets
 * each rests on and whether it may drive an action. */
static void
predict(fm_model_learner *l, fm_model_learner_failure out[FM_LABEL_COUNT])
{
	size_t d = l->dcfg.n_features;
	uint32_t held = fmi_model_learner_minutes_held(l);
	uint32_t w = held < PREDICT_WINDOW ? held : PREDICT_WINDOW;
	float score = fm_model_history_minute_get(l->history, 0)->score;
	bool have_x;
	double fill;

	for (uint32_t i = 0; i < w; i++)
		fm_learn_detector_normalise(l->det,
		    fm_model_history_minute_get(l->history, w - 1 - i)->mean,
		    l->pz + i * d);
	have_x = fm_learn_predictor_features(
	             &l->pcfg, l->pz, w, w - 1, &score, l->px) == 0;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		fm_learn_predictor_status ps;

		fm_learn_predictor_status_get(l->pred[s], &ps);
		out[s].probability = have_x
		    ? (float)fm_learn_predictor_predict(l->pred[s], l->px)
		    : 0.0f;
		out[s].events = ps.events;
		out[s].trusted =
		    ps.trained && ps.events >= l->cfg.failure_min_events;
	}
	if (fill_probability(l, &fill)) {
		fm_model_learner_failure *f = &out[FM_LABEL_FS_FULL];

		f->probability = (float)(1.0 -
		    (1.0 - (double)f->probability) * (1.0 - fill));
		f->trusted = true;
	}
}

/* Appends row x to the ring ring[cap] (head, held). */
static void
ring_put(float *ring, uint32_t cap, uint32_t *head, uint32_t *held,
    const float *x, size_t d)
{
	memcpy(ring + (size_t)*head * d, x, d * sizeof(float));
	*head = (*head + 1) % cap;
	if (*held < cap)
		(*held)++;
}

/* Moves the alarm's waiting samples, oldest first, to the kept ones. */
static void
pend_commit(fm_model_learner *l)
{
	size_t d = l->dcfg.n_features;
	uint32_t first = (l->pend_head + l->pend_cap - l->pend_held) %
	    l->pend_cap;

	for (uint32_t i = 0; i < l->pend_held; i++)
		ring_put(l->rows, l->cfg.train_rows, &l->rows_head,
		    &l->rows_held,
		    l->pend + (size_t)((first + i) % l->pend_cap) * d, d);
	l->pend_held = 0;
}

/* The features behind the last sample, most first, one per signal
 * (fm_collect_feature_signal()). */
static uint32_t
top_signals(const fm_model_learner *l, const float *contrib, uint32_t *top)
{
	uint32_t cand[2 * FM_MODEL_LEARNER_TOP + 8], n = 0;
	size_t nc = fm_learn_detector_top(l->det, FM_ELEMENTSOF(cand), cand);

	for (size_t i = 0; i < nc && n < FM_MODEL_LEARNER_TOP; i++) {
		unsigned sig = fm_collect_feature_signal(cand[i]);
		bool dup = false;

		for (uint32_t k = 0; k < n; k++)
			dup |= fm_collect_feature_signal(top[k]) == sig;
		if (!dup && contrib[cand[i]] > 0.0f)
			top[n++] = cand[i];
	}
	return n;
}

/*
 * What to learn from. Outside an alarm a sample is kept. During one it
 * waits (pend): an alarm that clears was an incident, its samples are
 * dropped; one that lasts accept_rows samples with no failure labelled
 * meanwhile is a lasting change: its samples are kept, with the rest of
 * that alarm's as they come, and a training starts at once. The
 * operator's accept does that now, whatever the alarm's age or labels.
 */
static void
retain(fm_model_learner *l, const float *x, bool any, bool alarm,
    uint32_t label_onsets, bool accept)
{
	size_t d = l->dcfg.n_features;

	if (!alarm) {
		if (l->alarm_rows > 0 && !l->accepting && l->pend_held > 0)
			fm_log(LOG_DEBUG,
			    "The alarm cleared after %u samples: its samples "
			    "are not learned",
			    l->alarm_rows);
		l->pend_held = 0;
		l->alarm_rows = 0;
		l->accepting = false;
		l->held_labels = 0;
	} else {
		l->alarm_rows++;
		l->held_labels |= label_onsets;
	}
	if (any) {
		l->seen_rows++;
		if (!alarm || l->accepting)
			ring_put(l->rows, l->cfg.train_rows, &l->rows_head,
			    &l->rows_held, x, d);
		else
			ring_put(l->pend, l->pend_cap, &l->pend_head,
			    &l->pend_held, x, d);
	}
	if (accept) {
		uint32_t k = alarm && !l->accepting ? l->pend_held : 0;

		pend_commit(l);
		l->accepting = alarm;
		if (k < FM_MODEL_LEARNER_ACCEPT_ROWS)
			k = FM_MODEL_LEARNER_ACCEPT_ROWS;
		l->weight_rows = k < l->rows_held ? k : l->rows_held;
		l->train_now = true;
		fm_log(LOG_NOTICE,
		    "The operator accepted the current state as normal: "
		    "retraining with the newest %u samples weighted",
		    l->weight_rows);
		pthread_mutex_lock(&l->status_lock);
		l->status.accepts++;
		pthread_mutex_unlock(&l->status_lock);
		return;
	}
	if (alarm && !l->accepting && l->accept_rows > 0 &&
	    l->alarm_rows >= l->accept_rows) {
		if (l->held_labels) {
			if (l->alarm_rows == l->accept_rows)
				fm_log(LOG_NOTICE,
				    "The alarm lasts %u s, but a failure was "
				    "labelled during it: not learned as "
				    "normal (fedmonctl accept does)",
				    l->cfg.accept_seconds);
			return;
		}
		pend_commit(l);
		l->accepting = true;
		l->train_now = true;
		fm_log(LOG_NOTICE,
		    "The alarm lasts %u s with no failure: a lasting change, "
		    "learned as normal from now on; retraining",
		    l->cfg.accept_seconds);
		pthread_mutex_lock(&l->status_lock);
		l->status.accepts++;
		pthread_mutex_unlock(&l->status_lock);
	}
}

void
fm_model_learner_on_sample(
    fm_model_learner *l, const fm_collect_sample *s, uint32_t label_onsets)
{
	size_t d = l->dcfg.n_features;
	fm_model_learner_failure pred[FM_LABEL_COUNT];
	bool closed, any = false, accept;
	fm_learn_verdict v;
	uint32_t top[FM_MODEL_LEARNER_TOP], n_top;
	const float *contrib, *event;
	fmi_model_job *j;

	/* models from a finished training first, so this sample uses them */
	j = fmi_model_learner_take_done(l);
	pthread_mutex_lock(&l->lock);
	accept = l->accept_req;
	l->accept_req = false;
	pthread_mutex_unlock(&l->lock);
	if (j) {
		fmi_model_learner_adopt(l, j);
		fmi_model_job_free(j);
	}

	/* a failure the labels saw is an anomaly event, whatever the score
	 * (one OOM kill is one sample's spike); the operator's own label is
	 * not news to the operator */
	if (label_onsets & ~FM_LABEL_BIT(FM_LABEL_MANUAL))
		fm_learn_detector_raise(l->det);
	fm_learn_detector_score(l->det, s->v, &v);
	contrib = fm_learn_detector_contrib(l->det);
	event = fm_learn_detector_event(l->det);
	n_top = v.ready ? top_signals(l, contrib, top) : 0;

	for (size_t i = 0; i < d; i++)
		any |= isfinite(s->v[i]) != 0;
	retain(l, s->v, any, v.ready && v.alarm, label_onsets, accept);
	/* the minute ring; a minute closed: predict from it */
	closed = fm_model_history_push(l->history, s, v.score, label_onsets);
	if (closed)
		predict(l, pred);

	pthread_mutex_lock(&l->status_lock);
	if (v.alarm && !l->status.alarm)
		l->status.alarms++;
	if (v.onset) {
		l->status.events++;
		l->status.event_real_ns = s->real_ns;
	}
	if (!v.alarm)
		l->status.event_real_ns = 0;
	l->status.score = v.score;
	l->status.threshold = v.threshold;
	l->status.alarm = v.alarm;
	l->status.n_top = n_top;
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		l->status.contrib[i] = v.ready && i < d ? contrib[i] : 0.0f;
	for (uint32_t i = 0; i < n_top; i++) {
		l->status.top[i] = top[i];
		l->status.top_contrib[i] = contrib[top[i]];
		l->status.top_event[i] = v.alarm ? event[top[i]] : 0.0f;
	}
	l->status.scored++;
	l->status.rows_held = l->rows_held;
	l->status.alarm_seconds = (uint32_t)((uint64_t)l->alarm_rows *
	    l->cfg.interval_ms / 1000u);
	l->status.pending_rows = l->pend_held;
	l->status.accepted = l->accepting;
	l->status.held_labels = l->held_labels;
	l->status.seen_rows = l->seen_rows;
	if (closed) {
		for (unsigned i = 0; i < FM_LABEL_COUNT; i++) {
			l->status.failure[i].probability = pred[i].probability;
			l->status.failure[i].events = pred[i].events;
			l->status.failure[i].trusted = pred[i].trusted;
		}
	}
	pthread_mutex_unlock(&l->status_lock);

	fmi_model_keep_on_sample(l, s);
	fmi_model_learner_maybe_train(l, s->mono_ns);
}

int
fm_model_learner_accept(fm_model_learner *l)
{
	bool ready;

	pthread_mutex_lock(&l->status_lock);
	ready = l->status.ready;
	pthread_mutex_unlock(&l->status_lock);
	if (!ready)
		return -EAGAIN;
	pthread_mutex_lock(&l->lock);
	l->accept_req = true;
	pthread_mutex_unlock(&l->lock);
	return 0;
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
