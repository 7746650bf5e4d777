/*
 * The agent's client: one REQ socket to the aggregator, one session
 * derived once against the pinned aggregator key, and the checks every
 * reply passes before anything in it is believed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fed/fed-int.h"
#include "net/net.h"

struct fm_fed_client {
	fm_net_sock *sock;
	fm_crypto_session *session;
	fmi_fed_lease lease;
	uint64_t self_id;
	uint64_t aggregator_id;
	uint32_t timeout_ms;
	int64_t skew_ms;
	atomic_bool canceled;
};

void
fm_fed_client_config_init(fm_fed_client_config *ret)
{
	*ret = (fm_fed_client_config) {
		.timeout_ms = 10000,
		.max_message_bytes = 8u << 20,
		.skew_ms = FM_FED_SKEW_MS_DEFAULT,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 60000,
	};
}

int
fm_fed_client_new(const fm_fed_client_config *cfg,
    const fm_crypto_identity *self, fm_fed_client **ret)
{
	fm_net_options o;
	fm_fed_client *c;
	int r;

	if (!cfg || !self || !ret || !cfg->url || cfg->timeout_ms == 0 ||
	    cfg->timeout_ms > INT32_MAX || cfg->max_message_bytes == 0 ||
	    cfg->skew_ms < 0)
		return -EINVAL;
	r = fm_crypto_init();
	if (r < 0)
		return r;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	atomic_init(&c->canceled, false);
	c->self_id = fm_crypto_identity_key_id(self);
	c->aggregator_id = fm_crypto_key_id(cfg->aggregator_pk);
	c->timeout_ms = cfg->timeout_ms;
	c->skew_ms = cfg->skew_ms;

	r = fm_crypto_session_new(
	    self, FM_CRYPTO_ROLE_AGENT, cfg->aggregator_pk, &c->session);
	if (r < 0)
		goto out_free;
	r = fmi_fed_lease_open(cfg->seq_path, &c->lease);
	if (r < 0)
		goto out_free;

	fm_net_options_init(&o);
	o.recv_max_bytes = cfg->max_message_bytes;
	o.send_timeout_ms = cfg->timeout_ms;
	o.recv_timeout_ms = cfg->timeout_ms;
	o.reconnect_min_ms = cfg->reconnect_min_ms;
	o.reconnect_max_ms = cfg->reconnect_max_ms;
	r = fm_net_req_dial(cfg->url, &o, &c->sock);
	if (r < 0)
		goto out_free;
	*ret = c;
	return 0;

out_free:
	fm_fed_client_free(c);
	return r;
}

fm_fed_client *
fm_fed_client_free(fm_fed_client *c)
{
	if (!c)
		return NULL;
	fm_net_sock_free(c->sock);
	fm_crypto_session_free(c->session);
	fmi_fed_lease_clear(&c->lease);
	free(c);
	return NULL;
}

void
fm_fed_client_cancel(fm_fed_client *c)
{
	if (!c)
		return;
	atomic_store(&c->canceled, true);
	fm_net_sock_close(c->sock);
}

uint64_t
fm_fed_client_seq(const fm_fed_client *c)
{
	return c ? c->lease.last : 0;
}

static int64_t
wall_ms(void)
{
	return fm_time_real_ns() / FM_NSEC_PER_MSEC;
}

/* Maps an error of the network or of the client's own calls to the ones
 * fm_fed_client_call() promises. */
static int
client_errno(const fm_fed_client *c, int r)
{
	if (atomic_load(&c->canceled))
		return -ECANCELED;
	switch (r) {
	case -ETIMEDOUT:
	case -ECANCELED:
	case -ECONNRESET:
	case -EMSGSIZE:
	case -ENOMEM:
	case -EBADMSG:
	case -EPROTO:
	case -EPERM:
		return r;
	default:
		return -EIO;
	}
}

/*
 * Checks reply e against request h. An ERROR is taken (unauthenticated)
 * when it comes from the aggregator's key id and answers h, or names no
 * request at all (the aggregator could not read h): -EPERM and the
 * reason. A sealed reply must come from the aggregator, to us, echo h's
 * sequence and be fresh; 0 then.
 */
static int
reply_check(const fm_fed_client *c, const fm_proto_header *h,
    const fm_proto_envelope *e, uint32_t *ret_reason)
{
	const fm_proto_header *rh = &e->h;

	if (rh->sender != c->aggregator_id)
		return -EBADMSG;
	if (rh->type == FM_PROTO_ERROR) {
		bool answers = rh->recipient == h->sender && rh->seq == h->seq;
		bool anonymous = rh->recipient == 0 && rh->seq == 0;

		if (!answers && !anonymous)
			return -EBADMSG;
		*ret_reason = e->error;
		return -EPERM;
	}
	if (rh->recipient != h->sender || rh->seq != h->seq)
		return -EBADMSG;
	if (!fm_fed_timestamp_is_fresh(rh->timestamp_ms, wall_ms(), c->skew_ms))
		return -EBADMSG;
	return 0;
}

/*
 * Takes what an ERROR e answering request h says, sealed, about a
 * replay: when its sealed refusal opens, the reply is fresh and it says
 * REPLAY with a floor at or above h's sequence (the aggregator has taken
 * numbers up to the floor from this key: a lease file restored from an
 * old backup), the lease moves above the floor, persisted first, and
 * *ret_rebased is set. Anything else moves nothing: an unsealed REPLAY,
 * or one that does not open, is a hint an attacker could forge, and the
 * floor comes only from the aggregator, which raises it only for
 * requests this key sealed. Returns 0, or the errno of writing the lease
 * (-EIO for no room above the floor), -ENOMEM.
 */
static int
take_refusal(fm_fed_client *c, const fm_proto_header *h,
    const fm_proto_envelope *e, bool *ret_rebased)
{
	fm_proto_refusal m;
	uint8_t *body = NULL;
	size_t len;
	int r;

	if (!e->sealed || e->error != FM_PROTO_REASON_REPLAY ||
	    e->h.recipient != h->sender || e->h.seq != h->seq ||
	    !fm_fed_timestamp_is_fresh(
	        e->h.timestamp_ms, wall_ms(), c->skew_ms))
		return 0;
	r = fm_fed_open(c->session, e, &body, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	r = fm_proto_refusal_decode(body, len, &m);
	free(body);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || m.reason != FM_PROTO_REASON_REPLAY || m.seq_floor < h->seq)
		return 0;
	r = fmi_fed_lease_rebase(&c->lease, m.seq_floor);
	if (r < 0)
		return r == -EOVERFLOW ? -EIO : r;
	*ret_rebased = true;
	return 0;
}

/*
 * One exchange: seals body[len] as a message of type under round, sends
 * it, waits for the reply (at most timeout_ms for both) and checks it;
 * on success *ret_body (malloc'd) holds the opened body of a reply of
 * type reply_type. *ret_rebased says whether a sealed REPLAY refusal
 * moved the lease (take_refusal()).
 */
static int
exchange(fm_fed_client *c, uint32_t type, uint64_t round, const uint8_t *body,
    size_t len, uint32_t reply_type, uint8_t **ret_body, size_t *ret_body_len,
    uint32_t *ret_reason, bool *ret_rebased)
{
	fm_proto_header h = {
		.version = FM_PROTO_VERSION,
		.type = type,
		.sender = c->self_id,
		.recipient = c->aggregator_id,
		.round = round,
	};
	fm_proto_envelope e = { 0 };
	uint8_t *buf = NULL;
	size_t buf_len = 0;
	int64_t deadline_ns, left_ms;
	int r;

	if (atomic_load(&c->canceled))
		return -ECANCELED;
	/* Spent even if nothing leaves: a number is never used twice. */
	r = fmi_fed_lease_next(&c->lease, &h.seq);
	if (r < 0)
		return r == -EOVERFLOW ? -EIO : r;
	h.timestamp_ms = wall_ms();
	r = fm_fed_seal(c->session, &h, body, len, &buf, &buf_len);
	if (r < 0)
		return r;

	deadline_ns =
	    fm_time_mono_ns() + (int64_t)c->timeout_ms * FM_NSEC_PER_MSEC;
	r = fm_net_send(c->sock, buf, buf_len);
	free(buf);
	buf = NULL;
	if (r < 0)
		return client_errno(c, r);
	left_ms = (deadline_ns - fm_time_mono_ns() + FM_NSEC_PER_MSEC - 1) /
	    FM_NSEC_PER_MSEC;
	if (left_ms <= 0)
		return -ETIMEDOUT;
	r = fm_net_recv(c->sock, (uint32_t)left_ms, &buf, &buf_len);
	if (r < 0)
		return client_errno(c, r);

	r = fm_proto_envelope_decode(buf, buf_len, &e);
	free(buf);
	if (r < 0) {
		fm_proto_envelope_clear(&e);
		return r == -ENOMEM ? -ENOMEM : -EBADMSG;
	}
	r = reply_check(c, &h, &e, ret_reason);
	if (r == -EPERM) {
		int k = take_refusal(c, &h, &e, ret_rebased);

		if (k < 0)
			r = k;
	}
	if (r < 0)
		goto out_clear;
	r = fm_fed_open(c->session, &e, ret_body, ret_body_len);
	if (r < 0)
		goto out_clear;
	/* Authentic now: a wrong type is the aggregator's mistake. */
	if (e.h.type != reply_type) {
		free(*ret_body);
		*ret_body = NULL;
		r = -EPROTO;
	}
out_clear:
	fm_proto_envelope_clear(&e);
	return r;
}

/* A body decoder's error as a reply error. */
static int
body_errno(int r)
{
	return r == -ENOMEM ? -ENOMEM : -EBADMSG;
}

int
fm_fed_client_call(fm_fed_client *c, uint32_t type, uint64_t round,
    const void *m, void *ret, uint32_t *ret_reason)
{
	const fm_proto_msg *row = fm_proto_msg_get(type);
	const fm_proto_msg *reply_row;
	uint8_t *body = NULL, *reply = NULL;
	size_t len = 0, reply_len = 0;
	uint32_t reason = FM_PROTO_OK;
	int r;

	if (ret_reason)
		*ret_reason = FM_PROTO_OK;
	if (!c || !m || !ret || !ret_reason || !fm_proto_msg_is_request(row))
		return -EINVAL;
	reply_row = fm_proto_msg_get(row->reply_type);
	r = row->codec->encode(m, &body, &len);
	if (r < 0)
		return r;
	/* A sealed REPLAY refusal moved the lease above what the
	 * aggregator has seen: the request goes once more, with a number
	 * above it. */
	for (int attempt = 0;; attempt++) {
		bool rebased = false;

		r = exchange(c, type, round, body, len, reply_row->type, &reply,
		    &reply_len, &reason, &rebased);
		if (r != -EPERM || !rebased || attempt > 0)
			break;
	}
	free(body);
	if (r < 0)
		goto out;
	r = reply_row->codec->decode(reply, reply_len, ret);
	free(reply);
	if (r < 0)
		r = body_errno(r);
out:
	*ret_reason = r == -EPERM ? reason : FM_PROTO_OK;
	return r;
}

int
fm_fed_client_hello(fm_fed_client *c, const fm_proto_hello *m,
    fm_proto_round *ret, uint32_t *ret_reason)
{
	return fm_fed_client_call(c, FM_PROTO_HELLO, 0, m, ret, ret_reason);
}

int
fm_fed_client_update(fm_fed_client *c, const fm_proto_update *m,
    fm_proto_verdict *ret, uint32_t *ret_reason)
{
	return fm_fed_client_call(
	    c, FM_PROTO_UPDATE, m ? m->round : 0, m, ret, ret_reason);
}
