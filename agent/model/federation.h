/*
 * agent/model: the agent's side of federated learning (federation.c).
 * Include agent/model/model.h.
 */
#ifndef FM_AGENT_MODEL_FEDERATION_H
#define FM_AGENT_MODEL_FEDERATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect/collect.h"
#include "common/common.h"
#include "agent/model/learner.h"

/*
 * The agent's side of federated learning: it asks the aggregator (it
 * never listens), fetches each new fleet model and hands it to the models
 * to personalise, and sends the models' update for every round it can
 * join. Raw samples never leave: the only things sent are the shared
 * model parameters, a sample count and a loss (proto/'s messages have no
 * field that could carry more). The models keep scoring and acting
 * whatever the aggregator does; while it is away the agent retries with
 * exponential backoff and jitter.
 *
 * The models are reached through fm_model_federation_model, so the daemon
 * (the learner, training in the background) and fedmon-replay (its
 * detectors, training synchronously) run the same federation code.
 */
typedef struct fm_model_federation fm_model_federation;

typedef struct fm_model_federation_model {
	/* the shared parameters' layout id and length */
	void (*layout)(
	    void *userdata, uint32_t *ret_layout_id, uint32_t *ret_n_params);
	/* the fleet version the models descend from (0: none) */
	uint64_t (*version)(void *userdata);
	/* a new fleet model to personalise (errors as
	 * fm_model_learner_fed_offer) */
	int (*offer)(void *userdata, const fm_model_learner_global *g);
	/* the latest trained shared parameters (as fm_model_learner_fed_update)
	 */
	int (*update)(void *userdata, float *dst, size_t cap,
	    fm_model_learner_update *ret);
	void *userdata;
} fm_model_federation_model;

/* The learner as a federation model (the daemon's). */
void fm_model_learner_fed_model(
    fm_model_learner *l, fm_model_federation_model *ret);

#define FM_MODEL_FEDERATION_KEY_BYTES 32 /* an X25519 public key */

typedef struct fm_model_federation_config {
	char url[FM_AGENT_PATH_BYTES]; /* aggregator: tcp:// or ipc:// */
	uint8_t aggregator_key[FM_MODEL_FEDERATION_KEY_BYTES]; /* pinned */
	char key_file[FM_AGENT_PATH_BYTES]; /* this agent's secret key */
	/* or, when not NULL, this identity (borrowed; fedmon-replay) */
	const struct fm_crypto_identity *identity;
	char state_dir[FM_AGENT_PATH_BYTES]; /* sequence lease; "" none */
	uint32_t timeout_ms;                 /* per request */
	uint32_t retry_min_ms;      /* backoff while unreachable, from */
	uint32_t retry_max_ms;      /* ... to */
	uint32_t max_message_bytes; /* larger replies are refused */
	uint32_t skew_seconds;      /* clock-skew window for replies */
} fm_model_federation_config;

/* What federation is doing, for status and /metrics. */
typedef struct fm_model_federation_status {
	bool reachable;           /* the last exchange got a sealed reply */
	int64_t last_contact_ns;  /* CLOCK_REALTIME of it, 0 = never */
	uint64_t round;           /* the aggregator's open or last round */
	bool collecting;          /* that round takes updates */
	uint64_t fleet_version;   /* the newest fleet model announced */
	uint64_t applied_version; /* what the models descend from */
	uint64_t updates_sent;
	uint64_t updates_accepted;
	uint64_t updates_refused;
	uint32_t last_reason; /* proto/'s reason of the last refusal */
	int last_error;       /* of the last failed exchange, or 0 */
	uint64_t exchanges;   /* requests answered */
	uint64_t failures;    /* requests not answered or refused */
} fm_model_federation_status;

/*
 * Loads this agent's key pair from cfg->key_file and opens the client
 * (dialling in the background). With threaded, starts a thread that
 * steps until freed; otherwise the caller calls fm_model_federation_step().
 * m is copied; its userdata must outlive f. On success *ret owns f.
 * Errors: those of loading the key (-ENOENT, -EPERM, -EINVAL), of the
 * client (-EINVAL bad URL), -ENOMEM, or the errno of creating the thread.
 */
int fm_model_federation_new(const fm_model_federation_config *cfg,
    const fm_model_federation_model *m, bool threaded,
    fm_model_federation **ret) FM_WUR;

/* Stops the thread (interrupting a request in progress), frees f.
 * NULL-safe; returns NULL. */
fm_model_federation *fm_model_federation_free(fm_model_federation *f);

/*
 * One exchange with the aggregator: HELLO; hands a new fleet model to
 * the models; sends an update when a round is open that this agent has
 * not joined and the models hold one trained from that round's fleet
 * model. Returns 0 and the wait before the next step in *ret_wait_ms
 * (the aggregator's advice, or the backoff after a failure, with
 * jitter), or the error of the exchange (the status says which). Not for
 * a threaded f.
 */
int fm_model_federation_step(
    fm_model_federation *f, uint32_t *ret_wait_ms) FM_WUR;

/* Fills *ret with a snapshot; any thread. */
void fm_model_federation_status_get(
    fm_model_federation *f, fm_model_federation_status *ret);

#endif
