/*
 * agent/model/federation.c against the real aggregator core, in this process,
 * over NNG inproc: rounds joined, fleet models handed to the models,
 * updates sent only when made from the round's fleet model, an absent
 * aggregator met with a growing, jittered backoff, a refused key, and the
 * learner's side of the hand-over.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "aggregator/aggregator.h"
#include "crypto/crypto.h"
#include "net/net.h"
#include "proto/proto.h"

#define N_PARAMS 6
#define LAYOUT   0x5eed1234u

/* A model that trains instantly: its update is the fleet model + 1. */
typedef struct fake_model {
	uint64_t version;
	float params[N_PARAMS];
	bool trained;
	unsigned offers;
	float last_mu;
	uint32_t last_steps;
} fake_model;

static void
fake_layout(void *userdata, uint32_t *ret_layout_id, uint32_t *ret_n)
{
	(void)userdata;
	*ret_layout_id = LAYOUT;
	*ret_n = N_PARAMS;
}

static uint64_t
fake_version(void *userdata)
{
	return ((fake_model *)userdata)->version;
}

static int
fake_offer(void *userdata, const fm_model_learner_global *g)
{
	fake_model *m = userdata;

	if (g->layout_id != LAYOUT)
		return -ESTALE;
	if (g->n_params != N_PARAMS)
		return -EINVAL;
	for (size_t i = 0; i < N_PARAMS; i++)
		m->params[i] = g->params[i] + 1.0f;
	m->version = g->version;
	m->trained = true;
	m->offers++;
	m->last_mu = g->prox_mu;
	m->last_steps = g->local_steps;
	return 0;
}

static int
fake_update(
    void *userdata, float *dst, size_t cap, fm_model_learner_update *ret)
{
	fake_model *m = userdata;

	if (!m->trained)
		return -ENODATA;
	if (cap < N_PARAMS)
		return -ENOBUFS;
	memcpy(dst, m->params, sizeof(m->params));
	*ret = (fm_model_learner_update) {
		.base_version = m->version,
		.layout_id = LAYOUT,
		.n_params = N_PARAMS,
		.samples = 100,
		.loss = 0.5f,
	};
	return 0;
}

typedef struct fleet {
	fm_crypto_identity *self;
	fm_crypto_identity *agent[2];
	fm_agg *agg;
	fm_net_sock *sock;
	pthread_t thread;
	char url[64];
	fake_model model[2];
	fm_model_federation *fed[2];
} fleet;

static void *
serve_main(void *userdata)
{
	fleet *f = userdata;

	while (fm_agg_serve(f->agg, f->sock, 20) != -ECANCELED)
		;
	return NULL;
}

/* An aggregator for two agents (quorum 2, 2 rounds) and, when enrol, the
 * agents' keys in its keyring (else only a stranger's). */
static void
fleet_start(fleet *f, bool enrol)
{
	static unsigned serial;
	uint8_t keys[2][FM_CRYPTO_PUBLIC_KEY_BYTES];
	fm_crypto_keyring *kr;
	fm_agg_config cfg;
	fm_net_options no;
	char err[FM_INI_ERROR_BYTES];

	memset(f, 0, sizeof(*f));
	assert_int_equal(fm_crypto_init(), 0);
	assert_int_equal(fm_crypto_identity_generate(&f->self), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fm_crypto_identity_generate(&f->agent[i]), 0);
		memcpy(keys[i], fm_crypto_identity_public(f->agent[i]),
		    sizeof(keys[i]));
	}
	if (!enrol)
		memcpy(keys[0], fm_crypto_identity_public(f->self),
		    sizeof(keys[0]));
	assert_int_equal(fm_crypto_keyring_from_keys(
			     (const uint8_t(*)[FM_CRYPTO_PUBLIC_KEY_BYTES])keys,
			     enrol ? 2 : 1, &kr),
	    0);
	fm_agg_config_init(&cfg);
	cfg.state_dir[0] = '\0';
	cfg.quorum = 2;
	cfg.min_updates = 2;
	cfg.interval_ms = 0;
	cfg.max_rounds = 2;
	cfg.prox_mu = 0.25f;
	cfg.local_steps = 77;
	assert_int_equal(fm_agg_config_check(&cfg, err), 0);
	assert_int_equal(fm_agg_new(&cfg, f->self, kr, &f->agg), 0);
	snprintf(f->url, sizeof(f->url), "inproc://test-federation-%d-%u",
	    (int)getpid(), serial++);
	fm_net_options_init(&no);
	assert_int_equal(fm_net_rep_listen(f->url, &no, &f->sock), 0);
	assert_int_equal(pthread_create(&f->thread, NULL, serve_main, f), 0);
}

static void
agent_start(fleet *f, int i, const char *url, uint32_t timeout_ms)
{
	fm_model_federation_config cfg = {
		.identity = f->agent[i],
		.timeout_ms = timeout_ms,
		.retry_min_ms = 200,
		.retry_max_ms = 1600,
		.max_message_bytes = 1u << 20,
		.skew_seconds = 300,
	};
	fm_model_federation_model m = {
		.layout = fake_layout,
		.version = fake_version,
		.offer = fake_offer,
		.update = fake_update,
		.userdata = &f->model[i],
	};

	snprintf(cfg.url, sizeof(cfg.url), "%s", url);
	memcpy(cfg.aggregator_key, fm_crypto_identity_public(f->self),
	    sizeof(cfg.aggregator_key));
	assert_int_equal(
	    fm_model_federation_new(&cfg, &m, false, &f->fed[i]), 0);
}

static void
fleet_stop(fleet *f)
{
	for (int i = 0; i < 2; i++)
		f->fed[i] = fm_model_federation_free(f->fed[i]);
	fm_net_sock_close(f->sock);
	pthread_join(f->thread, NULL);
	fm_net_sock_free(f->sock);
	fm_agg_free(f->agg);
	for (int i = 0; i < 2; i++)
		fm_crypto_identity_free(f->agent[i]);
	fm_crypto_identity_free(f->self);
}

/* Two agents, two rounds: round 1 takes their own models, round 2 their
 * personalisations of fleet model 1; both end on fleet model 2, which is
 * the sample-weighted mean of what they sent, as the fake trains it. */
static void
test_federation_rounds(void **state)
{
	fleet f;
	fm_agg_status st;
	fm_agg_model gm;
	fm_model_federation_status fs;

	(void)state;
	fleet_start(&f, true);
	for (int i = 0; i < 2; i++) {
		agent_start(&f, i, f.url, 5000);
		f.model[i].trained = true; /* a local model exists */
		for (size_t k = 0; k < N_PARAMS; k++)
			f.model[i].params[k] = (float)(i * 10 + (int)k);
	}
	for (int pass = 0; pass < 200; pass++) {
		uint32_t wait;

		for (int i = 0; i < 2; i++)
			assert_int_equal(
			    fm_model_federation_step(f.fed[i], &wait), 0);
		fm_agg_status_get(f.agg, &st);
		if (st.finished && f.model[0].version == st.version &&
		    f.model[1].version == st.version)
			break;
		usleep(2000);
	}
	fm_agg_status_get(f.agg, &st);
	assert_true(st.finished);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.accepted, 4);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(f.model[i].version, 2);
		/* round 1's and round 2's fleet models were offered */
		assert_int_equal(f.model[i].offers, 2);
		assert_float_equal(f.model[i].last_mu, 0.25f, 1e-7);
		assert_int_equal(f.model[i].last_steps, 77);
		fm_model_federation_status_get(f.fed[i], &fs);
		assert_true(fs.reachable);
		assert_int_equal(fs.updates_sent, 2);
		assert_int_equal(fs.updates_accepted, 2);
		assert_int_equal(fs.updates_refused, 0);
		assert_int_equal(fs.fleet_version, 2);
		assert_int_equal(fs.applied_version, 2);
	}
	/* v1 = mean of the two local models (equal weights): k + 5;
	 * round 2's updates are v1 + 1 each, so v2 = k + 6 */
	assert_int_equal(fm_agg_model_get(f.agg, &gm), 0);
	assert_int_equal(gm.n_params, N_PARAMS);
	assert_int_equal(gm.layout_id, LAYOUT);
	for (size_t k = 0; k < N_PARAMS; k++)
		assert_float_equal(gm.params[k], (float)k + 6.0f, 1e-4);
	fm_agg_model_clear(&gm);
	fleet_stop(&f);
}

/* No update is sent while the models hold nothing made from the round's
 * fleet model (the first round takes the hosts' own models). */
static void
test_federation_waits_for_a_model(void **state)
{
	fleet f;
	fm_agg_status st;
	fm_model_federation_status fs;
	uint32_t wait;

	(void)state;
	fleet_start(&f, true);
	agent_start(&f, 0, f.url, 5000);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fm_model_federation_step(f.fed[0], &wait), 0);
	fm_agg_status_get(f.agg, &st);
	assert_int_equal(st.accepted, 0);
	fm_model_federation_status_get(f.fed[0], &fs);
	assert_int_equal(fs.updates_sent, 0);
	assert_true(fs.reachable);
	assert_true(fs.collecting);
	assert_true(wait >= 100);
	fleet_stop(&f);
}

/* An aggregator that does not answer: each step fails with -ETIMEDOUT and
 * the wait doubles from retry_min_ms to retry_max_ms, each jittered into
 * [half, whole]. */
static void
test_federation_backoff(void **state)
{
	fleet f;
	fm_model_federation_status fs;
	uint32_t wait, expect[] = { 200, 400, 800, 1600, 1600 };

	(void)state;
	fleet_start(&f, true);
	agent_start(&f, 0, "tcp://127.0.0.1:9", 100);
	for (size_t i = 0; i < FM_ELEMENTSOF(expect); i++) {
		assert_int_equal(
		    fm_model_federation_step(f.fed[0], &wait), -ETIMEDOUT);
		assert_true(wait >= expect[i] / 2);
		assert_true(wait <= expect[i]);
	}
	fm_model_federation_status_get(f.fed[0], &fs);
	assert_false(fs.reachable);
	assert_int_equal(fs.failures, FM_ELEMENTSOF(expect));
	assert_int_equal(fs.last_error, -ETIMEDOUT);
	fleet_stop(&f);
}

/* A key the aggregator does not know is refused, unsealed: -EPERM and
 * the reason, with backoff. */
static void
test_federation_unenrolled(void **state)
{
	fleet f;
	fm_model_federation_status fs;
	uint32_t wait;

	(void)state;
	fleet_start(&f, false);
	agent_start(&f, 0, f.url, 5000);
	assert_int_equal(fm_model_federation_step(f.fed[0], &wait), -EPERM);
	fm_model_federation_status_get(f.fed[0], &fs);
	assert_false(fs.reachable);
	assert_int_equal(fs.last_reason, FM_PROTO_REASON_UNKNOWN_KEY);
	assert_true(wait >= 100 && wait <= 200);
	fleet_stop(&f);
}

/* Configuration errors. */
static void
test_federation_config(void **state)
{
	fm_model_federation_config cfg = {
		.timeout_ms = 1000, .retry_min_ms = 10, .retry_max_ms = 5
	};
	fake_model fm = { 0 };
	fm_model_federation_model m = { fake_layout, fake_version, fake_offer,
		fake_update, &fm };
	fm_model_federation *f = NULL;

	(void)state;
	/* no URL, no key */
	assert_int_equal(fm_model_federation_new(&cfg, &m, false, &f), -EINVAL);
	snprintf(cfg.url, sizeof(cfg.url), "tcp://127.0.0.1:9");
	snprintf(cfg.key_file, sizeof(cfg.key_file), "/nonexistent/key");
	/* retry_max below retry_min */
	assert_int_equal(fm_model_federation_new(&cfg, &m, false, &f), -EINVAL);
	cfg.retry_max_ms = 100;
	assert_int_equal(fm_model_federation_new(&cfg, &m, false, &f), -ENOENT);
	assert_null(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_federation_rounds),
		cmocka_unit_test(test_federation_waits_for_a_model),
		cmocka_unit_test(test_federation_backoff),
		cmocka_unit_test(test_federation_unenrolled),
		cmocka_unit_test(test_federation_config),
	};

	fm_log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
