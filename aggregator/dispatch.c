/*
 * One request, one reply, driven by proto's message table: the envelope
 * checks in the order aggregator.h lists them, then the type's row
 * decodes the body and says whether the round takes it in this phase,
 * the type's handler (handle.c) answers, and the reply row's codec
 * encodes the answer, which is sealed; or the reply is an unsealed
 * ERROR.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"
#include "fed/fed.h"

static void
count_refusal(fm_agg *a, const fmi_agg_req *q, uint32_t reason)
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

/*
 * Answers with an ERROR carrying reason: unsealed, but for a REPLAY
 * (whose body opened) with a sealed refusal naming the sender's replay
 * mark, so an agent whose sequence went backwards can move above it.
 * Returns reason or -ENOMEM.
 */
static int
refuse(fm_agg *a, fmi_agg_req *q, uint32_t reason, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len)
{
	int r;

	count_refusal(a, q, reason);
	if (reason == FM_PROTO_REASON_REPLAY && q->body) {
		fm_proto_refusal m = {
			.reason = reason,
			.seq_floor = q->peer->seq,
		};

		r = fm_fed_refusal_encode(q->peer->session, &q->e.h, a->self_id,
		    &m, now_ms, ret_reply, ret_len);
	} else {
		r = fm_fed_error_encode(q->have_header ? &q->e.h : NULL,
		    a->self_id, reason, now_ms, ret_reply, ret_len);
	}
	return r < 0 ? r : (int)reason;
}

/* Seals body[len] of type into the reply to q. Returns 0 or -ENOMEM. */
static int
seal_reply(fm_agg *a, fmi_agg_req *q, uint32_t type, const uint8_t *body,
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

uint32_t
fmi_agg_wire_phase(const fm_agg *a)
{
	return a->phase == FM_AGG_PHASE_COLLECT ? FM_PROTO_PHASE_COLLECT
	                                        : FM_PROTO_PHASE_IDLE;
}

/* The handler of a request the aggregator answers, or NULL. */
static const fmi_agg_handler *
handler_of(uint32_t type)
{
	const fm_proto_msg *row = fm_proto_msg_get(type);

	if (!fm_proto_msg_is_request(row) || !fmi_agg_handlers[type].answer)
		return NULL;
	return &fmi_agg_handlers[type];
}

bool
fmi_agg_handlers_match_table(void)
{
	for (uint32_t type = 0; type < FM_PROTO_TYPE_END; type++) {
		const fm_proto_msg *row = fm_proto_msg_get(type);
		bool request = fm_proto_msg_is_request(row);

		if (request != (fmi_agg_handlers[type].answer != NULL))
			return false;
		/* A handler answers a request only; a request has a body. */
		if (!request &&
		    (fmi_agg_handlers[type].check ||
		        fmi_agg_handlers[type].refusal))
			return false;
		if (request && !row->codec)
			return false;
	}
	return true;
}

/* The checks before the body is read. Returns -1 when they pass, else
 * the reason to refuse with. */
static int
check_envelope(
    fm_agg *a, fmi_agg_req *q, const uint8_t *req, size_t len, int64_t now_ms)
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
	if (!handler_of(q->e.h.type))
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
		    a->journal_fd, &a->journal_len, q->e.h.sender, q->e.h.seq);
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

/*
 * The reason the request's body gets from the table and its handler:
 * not decoding (MALFORMED, or INTERNAL without memory), the handler's
 * check, a phase the row does not allow (ROUND_CLOSED), or the answer.
 * *ret_answered says whether the handler answered (filled out).
 */
static uint32_t
take(fm_agg *a, fmi_agg_req *q, const fm_proto_msg *row,
    const fmi_agg_handler *hd, void *out, int64_t now_ms, bool *ret_answered)
{
	fm_proto_body in;
	uint32_t reason;
	int r;

	*ret_answered = false;
	r = row->codec->decode(q->body, q->body_len, &in);
	if (r == -ENOMEM)
		return FM_PROTO_REASON_INTERNAL;
	if (r < 0)
		return FM_PROTO_REASON_MALFORMED;
	reason = hd->check ? hd->check(&in) : FM_PROTO_OK;
	if (reason == FM_PROTO_OK &&
	    !fm_proto_msg_is_allowed_in(row, fmi_agg_wire_phase(a)))
		reason = FM_PROTO_REASON_ROUND_CLOSED;
	if (reason == FM_PROTO_OK) {
		reason = hd->answer(a, q, &in, out, now_ms);
		*ret_answered = true;
	}
	row->codec->clear(&in);
	return reason;
}

/* Answers a request that passed the envelope checks. Returns what
 * fmi_agg_handle() does. */
static int
answer(fm_agg *a, fmi_agg_req *q, int64_t now_ms, uint8_t **ret_reply,
    size_t *ret_len)
{
	const fm_proto_msg *row = fm_proto_msg_get(q->e.h.type);
	const fm_proto_msg *reply_row = fm_proto_msg_get(row->reply_type);
	const fmi_agg_handler *hd = handler_of(row->type);
	fm_proto_body out;
	uint8_t *body = NULL;
	size_t len;
	uint32_t reason;
	bool answered;
	int r;

	memset(&out, 0, sizeof(out));
	reason = take(a, q, row, hd, &out, now_ms, &answered);
	if (reason != FM_PROTO_OK) {
		if (!hd->refusal)
			return refuse(a, q, reason, now_ms, ret_reply, ret_len);
		count_refusal(a, q, reason);
		if (!answered)
			hd->refusal(a, reason, &out, now_ms);
	}
	r = reply_row->codec->encode(&out, &body, &len);
	if (r == 0) {
		r = seal_reply(a, q, reply_row->type, body, len, now_ms,
		    ret_reply, ret_len);
		free(body);
	}
	if (r == 0)
		return (int)reason;
	if (!hd->refusal)
		return refuse(
		    a, q, FM_PROTO_REASON_INTERNAL, now_ms, ret_reply, ret_len);
	/* The reply would have said the outcome, which stands and was
	 * counted once, as what it said. */
	r = fm_fed_error_encode(&q->e.h, a->self_id, FM_PROTO_REASON_INTERNAL,
	    now_ms, ret_reply, ret_len);
	return r < 0 ? r : (int)reason;
}

int
fmi_agg_handle(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len)
{
	fmi_agg_req q = { 0 };
	int r;

	a->requests++;
	r = check_envelope(a, &q, req, len, now_ms);
	if (r >= 0)
		r = refuse(a, &q, (uint32_t)r, now_ms, ret_reply, ret_len);
	else
		r = answer(a, &q, now_ms, ret_reply, ret_len);
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
