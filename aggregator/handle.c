/*
 * The handlers of the requests in proto's message table, listed by type
 * in fmi_agg_handlers[] at the bottom: HELLO (-> ROUND) and UPDATE (->
 * VERDICT). dispatch.c runs the envelope checks, decodes the body and
 * checks the round's phase before a handler runs. A verified update is
 * handed, weighed and clipped, to the round's aggregation rule as it
 * comes (fmi_agg_round_add()); the plain rules fold it into a running
 * sum, so nothing per agent is kept but its peer slot.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"

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

static uint32_t
hello_answer(
    fm_agg *a, fmi_agg_req *q, const void *in, void *out, int64_t now_ms)
{
	const fm_proto_hello *hello = in;
	fm_proto_round *m = out;

	if (!q->peer->joined) {
		q->peer->joined = true;
		fmi_agg_emit(a,
		    &(fm_agg_event) { .type = FM_AGG_EVENT_JOINED,
		        .round = a->last_opened,
		        .version = a->version,
		        .key_id = q->e.h.sender,
		        .label = q->label });
	}
	*m = (fm_proto_round) {
		.round = a->last_opened,
		.phase = fmi_agg_wire_phase(a),
		.version = a->version,
		.layout_id = a->layout_id,
		.n_params = a->n_params,
		.prox_mu = a->cfg.prox_mu,
		.local_steps = a->cfg.local_steps,
		.poll_ms = poll_ms(a, now_ms),
	};
	if (a->version > 0 && hello->have_version != a->version)
		m->params = a->global; /* borrowed */
	if (m->phase == FM_PROTO_PHASE_COLLECT) {
		m->deadline_ms = clamp_ms(a->deadline_ms - now_ms);
		m->contributed = q->peer->contributed == a->last_opened;
	}
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
    fm_agg *a, fmi_agg_req *q, const fm_proto_update *u, bool *ret_clipped)
{
	fmi_agg_rule_update ru;
	double norm, scale = 1;
	uint64_t samples;

	/* The phase is COLLECT (the message table's UPDATE row). */
	if (u->round != a->last_opened)
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

/* What makes an update malformed whatever the round. */
static uint32_t
update_check(const void *in)
{
	const fm_proto_update *u = in;

	if (u->samples == 0 || u->n_params == 0 ||
	    (u->kind != FM_PROTO_UPDATE_PARAMS &&
	        u->kind != FM_PROTO_UPDATE_DELTA))
		return FM_PROTO_REASON_MALFORMED;
	return FM_PROTO_OK;
}

static uint32_t
update_answer(
    fm_agg *a, fmi_agg_req *q, const void *in, void *out, int64_t now_ms)
{
	fm_proto_verdict *v = out;

	v->round = a->last_opened;
	v->reason = take_update(a, q, in, &v->clipped);
	v->poll_ms = poll_ms(a, now_ms);
	return v->reason;
}

/* A refusal before the update was looked at: a sealed VERDICT too. */
static void
update_refusal(const fm_agg *a, uint32_t reason, void *out, int64_t now_ms)
{
	*(fm_proto_verdict *)out = (fm_proto_verdict) {
		.round = a->last_opened,
		.reason = reason,
		.poll_ms = poll_ms(a, now_ms),
	};
}

/* By message type: one for each request row of the message table (and
 * for nothing else: fmi_agg_handlers_match_table()). */
const fmi_agg_handler fmi_agg_handlers[FM_PROTO_TYPE_END] = {
	[FM_PROTO_HELLO] = {
		.answer = hello_answer,
	},
	[FM_PROTO_UPDATE] = {
		.check = update_check,
		.answer = update_answer,
		.refusal = update_refusal,
	},
};
