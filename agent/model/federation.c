/*
 * The agent's side of federation: one exchange at a time with the
 * aggregator, on a thread of its own in the daemon (so a slow or absent
 * aggregator never delays sampling), or stepped by the caller
 * (fedmon-replay). See agent.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent/model/model.h"
#include "crypto/crypto.h"
#include "fed/fed.h"
#include "fm-config.h"
#include "proto/proto.h"

/* How long an offered fleet model may take to be trained on before it is
 * asked for again (a training that failed must not stall federation). */
#define OFFER_PATIENCE_NS (30 * 60 * FM_NSEC_PER_SEC)
/* Bounds on the aggregator's poll advice. */
#define POLL_MIN_MS 100u
#define POLL_MAX_MS 3600000u

struct fm_model_federation {
	fm_model_federation_config cfg;
	fm_model_federation_model m;
	fm_crypto_identity *id; /* loaded from key_file, or NULL */
	fm_fed_client *client;
	uint32_t layout_id;
	uint32_t n_params;
	float *params; /* n_params: the update being sent */
	/* the fleet model handed to the models, not yet trained on */
	uint64_t offered_version;
	int64_t offered_mono_ns;
	uint64_t sent_round; /* the last round an update went to, or 0 */
	uint32_t failures_in_row;
	/* the thread */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock; /* stop, cond and status */
	pthread_cond_t cond;
	bool sync_ready;
	bool stop;
	fm_model_federation_status status;
};

/* A uniformly random wait in [ms / 2, ms]: agents that lost the
 * aggregator together do not all come back in the same instant. */
static uint32_t
jitter(uint32_t ms)
{
	uint32_t half = ms / 2;

	return half + (uint32_t)(fm_crypto_random_u64() % ((uint64_t)half + 1));
}

/* The wait after the n-th failure in a row: retry_min_ms doubling up to
 * retry_max_ms, jittered. */
static uint32_t
backoff(const fm_model_federation *f, uint32_t n)
{
	uint64_t ms = f->cfg.retry_min_ms;

	for (uint32_t i = 1; i < n && ms < f->cfg.retry_max_ms; i++)
		ms *= 2;
	if (ms > f->cfg.retry_max_ms)
		ms = f->cfg.retry_max_ms;
	return jitter((uint32_t)ms);
}

static uint32_t
clamp_poll(uint32_t ms)
{
	if (ms < POLL_MIN_MS)
		return POLL_MIN_MS;
	return ms > POLL_MAX_MS ? POLL_MAX_MS : ms;
}

/* Records a failed exchange; returns the wait before the next. */
static uint32_t
failed(fm_model_federation *f, int error, uint32_t reason)
{
	bool was_reachable;

	f->failures_in_row++;
	pthread_mutex_lock(&f->lock);
	was_reachable = f->status.reachable || f->status.failures == 0;
	f->status.reachable = false;
	f->status.last_error = error;
	if (reason != FM_PROTO_OK)
		f->status.last_reason = reason;
	f->status.failures++;
	pthread_mutex_unlock(&f->lock);
	/* say so once, when it changes */
	if (was_reachable) {
		if (error == -EPERM)
			fm_log(LOG_WARNING,
			    "Aggregator '%s' refused this agent (%s, "
			    "unauthenticated), retrying with backoff",
			    f->cfg.url, fm_proto_reason_name(reason));
		else
			fm_log_errno(LOG_WARNING, error,
			    "Failed to reach aggregator '%s', retrying with "
			    "backoff",
			    f->cfg.url);
	}
	return backoff(f, f->failures_in_row);
}

/* Hands the fleet model in rd to the models, once per version. */
static void
offer(fm_model_federation *f, const fm_proto_round *rd, int64_t now_ns)
{
	fm_model_learner_global g = {
		.version = rd->version,
		.layout_id = rd->layout_id,
		.n_params = rd->n_params,
		.params = rd->params,
		.prox_mu = rd->prox_mu,
		.local_steps = rd->local_steps,
	};
	int r;

	if (!rd->params || rd->version == 0)
		return;
	if (rd->version == f->offered_version &&
	    now_ns - f->offered_mono_ns < OFFER_PATIENCE_NS)
		return;
	r = f->m.offer(f->m.userdata, &g);
	if (r < 0) {
		fm_log_errno(LOG_WARNING, r,
		    "Failed to take fleet model version %llu (layout %08x, "
		    "%u parameters; ours %08x, %u), ignoring",
		    (unsigned long long)rd->version, rd->layout_id,
		    rd->n_params, f->layout_id, f->n_params);
		return;
	}
	fm_log(LOG_INFO, "Received fleet model version %llu (round %llu)",
	    (unsigned long long)rd->version, (unsigned long long)rd->round);
	f->offered_version = rd->version;
	f->offered_mono_ns = now_ns;
}

/* Sends the models' update to the open round rd when they hold one made
 * from rd's fleet model. Returns 0 (sent or nothing to send) or the
 * error of the exchange. */
static int
contribute(fm_model_federation *f, const fm_proto_round *rd)
{
	fm_model_learner_update u;
	fm_proto_update up;
	fm_proto_verdict v = { 0 };
	uint32_t reason;
	int r;

	if (rd->phase != FM_PROTO_PHASE_COLLECT || rd->contributed ||
	    f->sent_round == rd->round)
		return 0;
	r = f->m.update(f->m.userdata, f->params, f->n_params, &u);
	if (r < 0)
		return 0; /* nothing trained yet */
	/* a round on a fleet model takes updates made from it; the first
	 * round (no fleet model yet) takes the hosts' own models */
	if (rd->version != 0 && u.base_version != rd->version)
		return 0;
	up = (fm_proto_update) {
		.round = rd->round,
		.base_version = rd->version,
		.layout_id = u.layout_id,
		.kind = FM_PROTO_UPDATE_PARAMS,
		.samples = u.samples,
		.loss = u.loss,
		.n_params = u.n_params,
		.params = f->params,
	};
	r = fm_fed_client_update(f->client, &up, &v, &reason);
	if (r < 0)
		return r;
	f->sent_round = rd->round;
	pthread_mutex_lock(&f->lock);
	f->status.updates_sent++;
	if (v.reason == FM_PROTO_OK)
		f->status.updates_accepted++;
	else {
		f->status.updates_refused++;
		f->status.last_reason = v.reason;
	}
	pthread_mutex_unlock(&f->lock);
	if (v.reason == FM_PROTO_OK)
		fm_log(LOG_INFO,
		    "Sent the update for round %llu (%llu samples, loss "
		    "%.4g)%s",
		    (unsigned long long)rd->round,
		    (unsigned long long)u.samples, (double)u.loss,
		    v.clipped ? ", clipped by the aggregator" : "");
	else
		fm_log(LOG_WARNING,
		    "Aggregator refused the update for round %llu: %s",
		    (unsigned long long)rd->round,
		    fm_proto_reason_name(v.reason));
	return 0;
}

int
fm_model_federation_step(fm_model_federation *f, uint32_t *ret_wait_ms)
{
	int64_t now_ns = fm_time_mono_ns();
	uint64_t version = f->m.version(f->m.userdata);
	fm_proto_hello h = {
		.schema_version = FM_COLLECT_SCHEMA_VERSION,
		.layout_id = f->layout_id,
		.n_params = f->n_params,
	};
	fm_proto_round rd = { 0 };
	uint32_t reason, wait;
	bool first;
	int r;

	/* a fleet model being trained on need not be sent again */
	if (f->offered_version == version)
		f->offered_version = 0;
	h.have_version = version;
	if (f->offered_version != 0 &&
	    now_ns - f->offered_mono_ns < OFFER_PATIENCE_NS)
		h.have_version = f->offered_version;
	snprintf(h.agent_version, sizeof(h.agent_version), "%s", FM_VERSION);
	r = fm_fed_client_hello(f->client, &h, &rd, &reason);
	if (r == -ECANCELED)
		return r;
	if (r < 0) {
		*ret_wait_ms = failed(f, r, reason);
		return r;
	}
	first = f->failures_in_row > 0 || f->status.exchanges == 0;
	f->failures_in_row = 0;
	offer(f, &rd, now_ns);
	r = contribute(f, &rd);
	if (r == -ECANCELED) {
		fm_proto_round_clear(&rd);
		return r;
	}
	if (r < 0) {
		*ret_wait_ms = failed(f, r, FM_PROTO_OK);
		fm_proto_round_clear(&rd);
		return r;
	}
	if (first)
		fm_log(LOG_INFO,
		    "Reached aggregator '%s': round %llu (%s), fleet model "
		    "version %llu",
		    f->cfg.url, (unsigned long long)rd.round,
		    rd.phase == FM_PROTO_PHASE_COLLECT ? "open" : "idle",
		    (unsigned long long)rd.version);
	wait = clamp_poll(rd.poll_ms);
	pthread_mutex_lock(&f->lock);
	f->status.reachable = true;
	f->status.last_contact_ns = fm_time_real_ns();
	f->status.round = rd.round;
	f->status.collecting = rd.phase == FM_PROTO_PHASE_COLLECT;
	f->status.fleet_version = rd.version;
	f->status.applied_version = f->m.version(f->m.userdata);
	f->status.last_error = 0;
	f->status.exchanges++;
	pthread_mutex_unlock(&f->lock);
	fm_proto_round_clear(&rd);
	*ret_wait_ms = wait;
	return 0;
}

static void *
thread_main(void *userdata)
{
	fm_model_federation *f = userdata;
	uint32_t wait_ms = 0;

	(void)pthread_setname_np(pthread_self(), "fm:federation");
	pthread_mutex_lock(&f->lock);
	while (!f->stop) {
		struct timespec until;
		int64_t ns;

		pthread_mutex_unlock(&f->lock);
		if (fm_model_federation_step(f, &wait_ms) == -ECANCELED) {
			pthread_mutex_lock(&f->lock);
			break;
		}
		ns = fm_time_mono_ns() + (int64_t)wait_ms * FM_NSEC_PER_MSEC;
		until.tv_sec = (time_t)(ns / FM_NSEC_PER_SEC);
		until.tv_nsec = (long)(ns % FM_NSEC_PER_SEC);
		pthread_mutex_lock(&f->lock);
		while (!f->stop &&
		    pthread_cond_timedwait(&f->cond, &f->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

int
fm_model_federation_new(const fm_model_federation_config *cfg,
    const fm_model_federation_model *m, bool threaded,
    fm_model_federation **ret)
{
	fm_fed_client_config ccfg;
	char seq_path[FM_AGENT_PATH_BYTES + 16];
	pthread_condattr_t ca;
	fm_model_federation *f;
	int r;

	if (!cfg->url[0] || (!cfg->key_file[0] && !cfg->identity) ||
	    cfg->timeout_ms == 0 || cfg->retry_min_ms == 0 ||
	    cfg->retry_max_ms < cfg->retry_min_ms)
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->cfg = *cfg;
	f->m = *m;
	f->m.layout(f->m.userdata, &f->layout_id, &f->n_params);
	f->params = malloc(((size_t)f->n_params + 1) * sizeof(float));
	if (!f->params) {
		r = -ENOMEM;
		goto out_free;
	}
	pthread_mutex_init(&f->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&f->cond, &ca);
	pthread_condattr_destroy(&ca);
	f->sync_ready = true;

	r = fm_crypto_init();
	if (r < 0)
		goto out_free;
	if (!cfg->identity) {
		r = fm_crypto_identity_load(cfg->key_file, &f->id);
		if (r < 0)
			goto out_free;
	}
	fm_fed_client_config_init(&ccfg);
	ccfg.url = cfg->url;
	memcpy(ccfg.aggregator_pk, cfg->aggregator_key,
	    sizeof(ccfg.aggregator_pk));
	if (cfg->state_dir[0]) {
		snprintf(
		    seq_path, sizeof(seq_path), "%s/fed.seq", cfg->state_dir);
		ccfg.seq_path = seq_path;
	}
	ccfg.timeout_ms = cfg->timeout_ms;
	ccfg.max_message_bytes = cfg->max_message_bytes;
	ccfg.skew_ms = (int64_t)cfg->skew_seconds * 1000;
	ccfg.reconnect_min_ms = cfg->retry_min_ms;
	ccfg.reconnect_max_ms = cfg->retry_max_ms;
	r = fm_fed_client_new(
	    &ccfg, cfg->identity ? cfg->identity : f->id, &f->client);
	if (r < 0)
		goto out_free;
	if (threaded) {
		r = -pthread_create(&f->thread, NULL, thread_main, f);
		if (r < 0)
			goto out_free;
		f->thread_started = true;
	}
	*ret = f;
	return 0;
out_free:
	fm_model_federation_free(f);
	return r;
}

fm_model_federation *
fm_model_federation_free(fm_model_federation *f)
{
	if (!f)
		return NULL;
	if (f->thread_started) {
		pthread_mutex_lock(&f->lock);
		f->stop = true;
		pthread_cond_signal(&f->cond);
		pthread_mutex_unlock(&f->lock);
		fm_fed_client_cancel(f->client);
		pthread_join(f->thread, NULL);
	}
	fm_fed_client_free(f->client);
	fm_crypto_identity_free(f->id);
	if (f->sync_ready) {
		pthread_mutex_destroy(&f->lock);
		pthread_cond_destroy(&f->cond);
	}
	free(f->params);
	free(f);
	return NULL;
}

void
fm_model_federation_status_get(
    fm_model_federation *f, fm_model_federation_status *ret)
{
	pthread_mutex_lock(&f->lock);
	*ret = f->status;
	pthread_mutex_unlock(&f->lock);
	/* the models' own word: they adopt a fleet model between steps */
	ret->applied_version = f->m.version(f->m.userdata);
}
