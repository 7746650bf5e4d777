/*
 * One request, one reply: the envelope checks in the order aggregator.h
 * lists them, then HELLO (-> ROUND) or UPDATE (-> VERDICT). A verified
 * update is handed, weighed and clipped, to the round's aggregation rule
 * as it comes (fmi_agg_round_add()); the plain rules fold it into a
 * running sum, so nothing per agent is kept but its peer slot.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"
#include "fed/fed.h"

/* A request being answered. */
struct req {
	fm_proto_envelope e;
	bool have_header;   /* e.h can be echoed */
	const char *label;  /* the sender's keyring label */
	fmi_agg_peer *peer; /* once the sender is enrolled */
	uint8_t *body;      /* opened body */
	size_t body_len;
};

static void
count_refusal(fm_agg *a, const struct req *q, uint32_t reason)
{
	if (reason >= FM_PROTO_REASON_COUNT)
		return;
	a->rejections[reason]++;
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_REFUSED,
	        .round = a->last_opened,
	        .key_id = q->have_header ? q->e.h.sender : 0,
	        .label = q->label ? q->label : "",
	        .reason = reason });
}

/* Answers with an unsealed ERROR carrying reason. Returns reason or
 * -ENOMEM. */
static int
refuse(fm_agg *a, struct req *q, uint32_t reason, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len)
{
	int r;

	count_refusal(a, q, reason);
	r = fm_fed_error_encode(q->have_header ? &q->e.h : NULL, a->self_id,
	    reason, now_ms, ret_reply, ret_len);
	return r < 0 ? r : (int)reason;
}

static uint32_t
clamp_ms(int64_t ms)
{
	if (ms < FM_AGG_POLL_MIN_MS)
		return FM_AGG_POLL_MIN_MS;
	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* When the agent should ask again. */
static uint32_t
poll_ms(const fm_agg *a, int64_t now_ms)
{
	int64_t left;

	if (a->phase == FM_AGG_PHASE_COLLECT) {
		left = a->deadline_ms - now_ms;
		return clamp_ms(left < a->cfg.collect_poll_ms
		        ? left
		        : a->cfg.collect_poll_ms);
	}
	if (a->finished)
		return a->cfg.poll_ms;
	left =
	    (a->phase == FM_AGG_PHASE_IDLE ? a->idle_until_ms : a->retry_ms) -
	    now_ms;
	return clamp_ms(left < a->cfg.poll_ms ? left : a->cfg.poll_ms);
}

/* Seals body[len] of type into the reply to q. Returns 0 or -ENOMEM. */
static int
seal_reply(fm_agg *a, struct req *q, uint32_t type, const uint8_t *body,
    size_t len, int64_t now_ms, uint8_t **ret_reply, size_t *ret_len)
{
	fm_proto_header h = {
		.version = FM_PROTO_VERSION,
		.type = type,
		.sender = a->self_id,
		.recipient = q->e.h.sender,
		.round = a->last_opened,
		.seq = q->e.h.seq,
		.timestamp_ms = now_ms,
	};

	return fm_fed_seal(q->peer->session, &h, body, len, ret_reply, ret_len);
}

static int
on_hello(fm_agg *a, struct req *q, int64_t now_ms, uint8_t **ret_reply,
    size_t *ret_len)
{
	fm_proto_hello hello;
	fm_proto_round m;
	uint8_t *body = NULL;
	size_t len;
	int r;

	r = fm_proto_hello_decode(q->body, q->body_len, &hello);
	if (r == -ENOMEM)
		return refuse(
		    a, q, FM_PROTO_REASON_INTERNAL, now_ms, ret_reply, ret_len);
	if (r < 0)
		return refuse(a, q, FM_PROTO_REASON_MALFORMED, now_ms,
		    ret_reply, ret_len);
	if (!q->peer->joined) {
		q->peer->joined = true;
		fmi_agg_emit(a,
		    &(fm_agg_event) { .type = FM_AGG_EVENT_JOINED,
		        .round = a->last_opened,
		        .version = a->version,
		        .key_id = q->e.h.sender,
		        .label = q->label });
	}
	m = (fm_proto_round) {
		.round = a->last_opened,
		.phase = a->phase == FM_AGG_PHASE_COLLECT
		    ? FM_PROTO_PHASE_COLLECT
		    : FM_PROTO_PHASE_IDLE,
		.version = a->version,
		.layout_id = a->layout_id,
		.n_params = a->n_params,
		.prox_mu = a->cfg.prox_mu,
		.local_steps = a->cfg.local_steps,
		.poll_ms = poll_ms(a, now_ms),
	};
	if (a->version > 0 && hello.have_version != a->version)
		m.params = a->global; /* borrowed: not cleared below */
	if (m.phase == FM_PROTO_PHASE_COLLECT) {
		m.deadline_ms = clamp_ms(a->deadline_ms - now_ms);
		m.contributed = q->peer->contributed == a->last_opened;
	}
	r = fm_proto_round_encode(&m, &body, &len);
	if (r == 0) {
		r = seal_reply(a, q, FM_PROTO_ROUND, body, len, now_ms,
		    ret_reply, ret_len);
		free(body);
	}
	if (r < 0)
		return refuse(
		    a, q, FM_PROTO_REASON_INTERNAL, now_ms, ret_reply, ret_len);
	return FM_PROTO_OK;
}

/* The squared L2 norm of the update's delta against the global model. */
static double
delta_norm2(const fm_agg *a, const fm_proto_update *u)
{
	double s = 0;

	if (u->kind == FM_PROTO_UPDATE_PARAMS && a->version) {
		for (size_t i = 0; i < u->n_params; i++) {
			double d = (double)u->params[i] - (double)a->global[i];

			s += d * d;
		}
	} else {
		for (size_t i = 0; i < u->n_params; i++)
			s += (double)u->params[i] * (double)u->params[i];
	}
	return s;
}

/* Checks one update and hands it to the rule. Returns the verdict's reason (or
 * INTERNAL on allocation failure). */
static uint32_t
take_update(
    fm_agg *a, struct req *q, const fm_proto_update *u, bool *ret_clipped)
{
	fmi_agg_rule_update ru;
	double norm, scale = 1;
	uint64_t samples;

	if (u->samples == 0 || u->n_params == 0 ||
	    (u->kind != FM_PROTO_UPDATE_PARAMS &&
	        u->kind != FM_PROTO_UPDATE_DELTA))
		return FM_PROTO_REASON_MALFORMED;
	if (a->phase != FM_AGG_PHASE_COLLECT || u->round != a->last_opened)
		return FM_PROTO_REASON_ROUND_CLOSED;
	if (q->peer->contributed == a->last_opened)
		return FM_PROTO_REASON_DUPLICATE;
	if ((a->layout_id && u->layout_id != a->layout_id) ||
	    (a->n_params && u->n_params != a->n_params) || u->layout_id == 0)
		return FM_PROTO_REASON_LAYOUT;
	if (u->base_version != a->version)
		return FM_PROTO_REASON_STALE_BASE;
	norm = sqrt(delta_norm2(a, u));
	if (a->cfg.clip_norm > 0 && norm > a->cfg.clip_norm) {
		if (a->cfg.norm_action == FM_AGG_NORM_REFUSE)
			return FM_PROTO_REASON_NORM;
		scale = a->cfg.clip_norm / norm;
		*ret_clipped = true;
	}
	samples = u->samples < a->cfg.max_samples_weight
	    ? u->samples
	    : a->cfg.max_samples_weight;
	ru = (fmi_agg_rule_update) {
		.params = u->params,
		/* a model trained from the global one: its delta */
		.base = u->kind == FM_PROTO_UPDATE_PARAMS && a->version
		    ? a->global
		    : NULL,
		.weight = (double)samples,
		.scale = scale,
	};
	if (fmi_agg_round_add(a, u->layout_id, u->n_params, &ru) < 0)
		return FM_PROTO_REASON_INTERNAL;
	a->n_updates++;
	a->accepted++;
	if (*ret_clipped)
		a->clipped++;
	q->peer->contributed = a->last_opened;
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_ACCEPTED,
	        .round = a->last_opened,
	        .version = a->version,
	        .key_id = q->e.h.sender,
	        .label = q->label,
	        .n_updates = a->n_updates,
	        .samples = samples,
	        .norm = norm,
	        .clipped = *ret_clipped });
	return FM_PROTO_OK;
}

static int
on_update(fm_agg *a, struct req *q, int64_t now_ms, uint8_t **ret_reply,
    size_t *ret_len)
{
	fm_proto_update u;
	fm_proto_verdict v = { .round = a->last_opened };
	uint8_t *body = NULL;
	size_t len;
	int r;

	r = fm_proto_update_decode(q->body, q->body_len, &u);
	if (r == -ENOMEM)
		v.reason = FM_PROTO_REASON_INTERNAL;
	else if (r < 0)
		v.reason = FM_PROTO_REASON_MALFORMED;
	else
		v.reason = take_update(a, q, &u, &v.clipped);
	fm_proto_update_clear(&u);
	if (v.reason != FM_PROTO_OK)
		count_refusal(a, q, v.reason);
	v.poll_ms = poll_ms(a, now_ms);
	r = fm_proto_verdict_encode(&v, &body, &len);
	if (r == 0) {
		r = seal_reply(a, q, FM_PROTO_VERDICT, body, len, now_ms,
		    ret_reply, ret_len);
		free(body);
	}
	if (r < 0) {
		/* Counted once: as what the verdict would have said. */
		r = fm_fed_error_encode(&q->e.h, a->self_id,
		    FM_PROTO_REASON_INTERNAL, now_ms, ret_reply, ret_len);
		if (r < 0)
			return r;
	}
	return (int)v.reason;
}

/* The checks before the body is read. Returns -1 when they pass, else
 * the reason to refuse with. */
static int
check_envelope(
    fm_agg *a, struct req *q, const uint8_t *req, size_t len, int64_t now_ms)
{
	const uint8_t *pk;
	int r;

	if (len > a->cfg.max_message_bytes)
		return FM_PROTO_REASON_TOO_LARGE;
	r = fm_proto_envelope_decode(req, len, &q->e);
	if (r == -EPROTONOSUPPORT) {
		q->have_header = true;
		return FM_PROTO_REASON_VERSION;
	}
	if (r == -EMSGSIZE)
		return FM_PROTO_REASON_TOO_LARGE;
	if (r == -ENOMEM)
		return FM_PROTO_REASON_INTERNAL;
	if (r < 0)
		return FM_PROTO_REASON_MALFORMED;
	q->have_header = true;
	if (q->e.h.type != FM_PROTO_HELLO && q->e.h.type != FM_PROTO_UPDATE)
		return FM_PROTO_REASON_UNEXPECTED;
	if (q->e.h.recipient != a->self_id)
		return FM_PROTO_REASON_RECIPIENT;
	pk = fm_crypto_keyring_find(a->kr, q->e.h.sender, &q->label);
	if (!pk)
		return FM_PROTO_REASON_UNKNOWN_KEY;
	if (!fm_fed_timestamp_is_fresh(
	        q->e.h.timestamp_ms, now_ms, a->cfg.skew_ms))
		return FM_PROTO_REASON_CLOCK;
	r = fmi_agg_peers_get(&a->peers, q->e.h.sender, &q->peer);
	if (r < 0)
		return FM_PROTO_REASON_INTERNAL;
	if (!q->peer->session) {
		if (a->peers.n_sessions >= FMI_AGG_SESSIONS_MAX)
			fmi_agg_peers_drop_sessions(&a->peers);
		r = fm_crypto_session_new(
		    a->self, FM_CRYPTO_ROLE_AGGREGATOR, pk, &q->peer->session);
		/* A weak key enrolled by mistake opens nothing. */
		if (r == -EBADMSG)
			return FM_PROTO_REASON_BAD_SEAL;
		if (r < 0)
			return FM_PROTO_REASON_INTERNAL;
		a->peers.n_sessions++;
	}
	r = fm_fed_open(q->peer->session, &q->e, &q->body, &q->body_len);
	if (r == -ENOMEM)
		return FM_PROTO_REASON_INTERNAL;
	if (r < 0)
		return FM_PROTO_REASON_BAD_SEAL;
	if (q->e.h.seq <= q->peer->seq)
		return FM_PROTO_REASON_REPLAY;
	/* Remembered before the reply leaves, so a kill cannot forget it. */
	if (a->journal_fd >= 0) {
		r = fmi_agg_journal_append(
		    a->journal_fd, q->e.h.sender, q->e.h.seq);
		if (r < 0) {
			fmi_agg_emit(a,
			    &(fm_agg_event) { .type = FM_AGG_EVENT_FAILED,
			        .round = a->last_opened,
			        .what = "append to the replay journal",
			        .object = a->journal_path,
			        .error = r });
			return FM_PROTO_REASON_INTERNAL;
		}
		a->journal_records++;
	}
	q->peer->seq = q->e.h.seq;
	return -1;
}

int
fmi_agg_handle(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len)
{
	struct req q = { 0 };
	int r;

	a->requests++;
	r = check_envelope(a, &q, req, len, now_ms);
	if (r >= 0)
		r = refuse(a, &q, (uint32_t)r, now_ms, ret_reply, ret_len);
	else if (q.e.h.type == FM_PROTO_HELLO)
		r = on_hello(a, &q, now_ms, ret_reply, ret_len);
	else
		r = on_update(a, &q, now_ms, ret_reply, ret_len);
	free(q.body);
	fm_proto_envelope_clear(&q.e);
	return r;
}

int
fm_agg_handle(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len)
{
	int r;

	pthread_mutex_lock(&a->lock);
	fmi_agg_tick(a, now_ms);
	r = fmi_agg_handle(a, req, len, now_ms, ret_reply, ret_len);
	/* An update may have completed the quorum. */
	fmi_agg_tick(a, now_ms);
	pthread_mutex_unlock(&a->lock);
	return r;
}
