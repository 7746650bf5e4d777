/*
 * Tests for fed/client.c against a fake aggregator: a thread in this
 * file serving a REP socket (net/) with the wire functions (fed/) and an
 * aggregator session (crypto/), told how to misbehave before each
 * request. HELLO/ROUND and UPDATE/VERDICT round trips over inproc and
 * tcp; every way a reply can be wrong, with the exact code; timeouts;
 * the sequence lease across restarts, and moved above a sealed REPLAY
 * floor; cancel from another thread.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fed/fed.h"
#include "net/net.h"
#include "tests/support/alloc-hook.h"

#define SHORT_MS 100u
#define LONG_MS  5000u
#define SKEW_MS  60000

/* How the fake answers the next request. */
enum fake_mode {
	FAKE_OK,
	FAKE_SILENT,          /* no reply */
	FAKE_WRONG_SEQ,       /* seq + 1 */
	FAKE_WRONG_RECIPIENT, /* to another key id */
	FAKE_WRONG_SENDER,    /* claims another key id */
	FAKE_STALE,           /* timestamp before the window */
	FAKE_FUTURE,          /* timestamp after the window */
	FAKE_OTHER_KEY,       /* sealed by another key, under our id */
	FAKE_OTHER_KEY_ID,    /* sealed by another key, under its id */
	FAKE_TAMPERED,        /* a byte of the sealed body flipped */
	FAKE_HEADER_CHANGED,  /* header round changed after sealing */
	FAKE_GARBAGE,         /* not an envelope */
	FAKE_OTHER_VERSION,   /* an envelope of protocol version 2 */
	FAKE_WRONG_TYPE,      /* a sealed reply of the other type */
	FAKE_BAD_BODY,        /* right type, body not a message */
	FAKE_BIG,             /* over the client's max_message_bytes */
	FAKE_ERROR,           /* unsealed ERROR answering the request */
	FAKE_ERROR_ANONYMOUS, /* unsealed ERROR to no request */
	FAKE_ERROR_WRONG_SEQ, /* unsealed ERROR answering another */
	FAKE_ERROR_WRONG_SENDER,
	FAKE_REFUSAL,           /* REPLAY with a sealed floor 2000 above the
	                         * request, then FAKE_OK */
	FAKE_REFUSAL_ALWAYS,    /* the same, every time */
	FAKE_REFUSAL_OTHER_KEY, /* its refusal sealed by another key */
	FAKE_REFUSAL_LOW,       /* its floor below the request's seq */
	FAKE_REFUSAL_UNSEALED,  /* an unsealed REPLAY */
};

#define REFUSAL_GAP 2000u

struct fake {
	fm_net_sock *rep;
	fm_crypto_identity *id, *other;
	fm_crypto_session *s, *other_s;
	pthread_t thread;
	atomic_int mode;
	atomic_int requests; /* requests seen */
	/* The last request (written by the fake thread before it
	 * replies, read by the test after the reply). */
	fm_proto_header last;
	fm_proto_hello last_hello;
	uint64_t last_update_round;
	uint32_t last_update_params;
};

static fm_crypto_identity *agent;
static char tmp_dir[64];
static char url_n[32];

static int64_t
wall_ms(void)
{
	return fm_time_real_ns() / FM_NSEC_PER_MSEC;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static const float global_params[] = { 0.5f, -1.0f, 2.25f, 0.0f };

/* The sealed reply body for a request of type t. */
static int
reply_body(const fm_proto_header *req, bool wrong_type, uint32_t *ret_type,
    uint8_t **ret_buf, size_t *ret_len)
{
	bool hello = req->type == FM_PROTO_HELLO;

	if (hello != wrong_type) {
		fm_proto_round m = {
			.round = 7,
			.phase = FM_PROTO_PHASE_COLLECT,
			.version = 6,
			.layout_id = 11,
			.n_params = FM_ELEMENTSOF(global_params),
			.params = (float *)(uintptr_t)global_params,
			.prox_mu = 0.01f,
			.local_steps = 20,
			.deadline_ms = 30000,
			.poll_ms = 5000,
		};
		*ret_type = FM_PROTO_ROUND;
		return fm_proto_round_encode(&m, ret_buf, ret_len);
	} else {
		fm_proto_verdict m = {
			.round = req->round,
			.reason = FM_PROTO_REASON_NORM,
			.poll_ms = 4000,
		};
		*ret_type = FM_PROTO_VERDICT;
		return fm_proto_verdict_encode(&m, ret_buf, ret_len);
	}
}

/* Builds the reply to req (decoded envelope e) as mode says. */
static int
fake_reply(struct fake *f, const fm_proto_envelope *e, enum fake_mode mode,
    uint8_t **ret_buf, size_t *ret_len)
{
	const fm_proto_header *req = &e->h;
	uint64_t self_id = fm_crypto_identity_key_id(f->id);
	const fm_crypto_session *s = f->s;
	fm_proto_header h = {
		.version = FM_PROTO_VERSION,
		.sender = self_id,
		.recipient = req->sender,
		.round = req->round,
		.seq = req->seq,
		.timestamp_ms = wall_ms(),
	};
	uint8_t *body = NULL;
	size_t len = 0;
	int r;

	switch (mode) {
	case FAKE_GARBAGE:
		*ret_len = 9;
		*ret_buf = malloc(*ret_len);
		if (!*ret_buf)
			return -ENOMEM;
		memcpy(*ret_buf, "\xff\x01garbage", *ret_len);
		return 0;
	case FAKE_BIG:
		*ret_len = 5000;
		*ret_buf = calloc(1, *ret_len);
		return *ret_buf ? 0 : -ENOMEM;
	case FAKE_ERROR:
		return fm_fed_error_encode(req, self_id,
		    FM_PROTO_REASON_UNKNOWN_KEY, wall_ms(), ret_buf, ret_len);
	case FAKE_ERROR_ANONYMOUS:
		return fm_fed_error_encode(NULL, self_id,
		    FM_PROTO_REASON_MALFORMED, wall_ms(), ret_buf, ret_len);
	case FAKE_ERROR_WRONG_SEQ: {
		fm_proto_header other = *req;

		other.seq++;
		return fm_fed_error_encode(&other, self_id,
		    FM_PROTO_REASON_REPLAY, wall_ms(), ret_buf, ret_len);
	}
	case FAKE_ERROR_WRONG_SENDER:
		return fm_fed_error_encode(req,
		    fm_crypto_identity_key_id(f->other), FM_PROTO_REASON_REPLAY,
		    wall_ms(), ret_buf, ret_len);
	case FAKE_REFUSAL_UNSEALED:
		return fm_fed_error_encode(req, self_id, FM_PROTO_REASON_REPLAY,
		    wall_ms(), ret_buf, ret_len);
	case FAKE_REFUSAL:
	case FAKE_REFUSAL_ALWAYS:
	case FAKE_REFUSAL_OTHER_KEY:
	case FAKE_REFUSAL_LOW: {
		fm_proto_refusal m = {
			.reason = FM_PROTO_REASON_REPLAY,
			.seq_floor = mode == FAKE_REFUSAL_LOW
			    ? req->seq - 1
			    : req->seq + REFUSAL_GAP,
		};

		if (mode == FAKE_REFUSAL)
			atomic_store(&f->mode, FAKE_OK);
		return fm_fed_refusal_encode(
		    mode == FAKE_REFUSAL_OTHER_KEY ? f->other_s : f->s, req,
		    self_id, &m, wall_ms(), ret_buf, ret_len);
	}
	default:
		break;
	}

	/* No cmocka asserts in this thread: failures mean no reply. */
	r = reply_body(req, mode == FAKE_WRONG_TYPE, &h.type, &body, &len);
	if (r < 0)
		return r;
	switch (mode) {
	case FAKE_WRONG_SEQ:
		h.seq++;
		break;
	case FAKE_WRONG_RECIPIENT:
		h.recipient ^= 1;
		break;
	case FAKE_WRONG_SENDER:
		h.sender ^= 1;
		break;
	case FAKE_STALE:
		h.timestamp_ms -= SKEW_MS + 1000;
		break;
	case FAKE_FUTURE:
		h.timestamp_ms += SKEW_MS + 1000;
		break;
	case FAKE_OTHER_KEY:
		s = f->other_s;
		break;
	case FAKE_OTHER_KEY_ID:
		s = f->other_s;
		h.sender = fm_crypto_identity_key_id(f->other);
		break;
	case FAKE_BAD_BODY:
		free(body);
		len = 3;
		body = malloc(len);
		if (!body)
			return -ENOMEM;
		memcpy(body, "\xff\xff\xff", len);
		break;
	default:
		break;
	}
	if (mode == FAKE_OTHER_VERSION || mode == FAKE_TAMPERED ||
	    mode == FAKE_HEADER_CHANGED) {
		fm_proto_envelope out = { 0 };
		uint8_t *sealed_buf = NULL;
		size_t sealed_len = 0;
		uint8_t *copy;

		r = fm_fed_seal(s, &h, body, len, &sealed_buf, &sealed_len);
		free(body);
		if (r < 0)
			return r;
		r = fm_proto_envelope_decode(sealed_buf, sealed_len, &out);
		free(sealed_buf);
		if (r < 0)
			return r;
		copy = malloc(out.sealed_len);
		if (!copy) {
			fm_proto_envelope_clear(&out);
			return -ENOMEM;
		}
		memcpy(copy, out.sealed, out.sealed_len);
		if (mode == FAKE_TAMPERED)
			copy[out.sealed_len / 2] ^= 0x80;
		if (mode == FAKE_HEADER_CHANGED)
			out.h.round++;
		if (mode == FAKE_OTHER_VERSION)
			out.h.version = FM_PROTO_VERSION + 1;
		r = fm_proto_envelope_encode(
		    &out.h, 0, copy, out.sealed_len, ret_buf, ret_len);
		free(copy);
		fm_proto_envelope_clear(&out);
		return r;
	}
	r = fm_fed_seal(s, &h, body, len, ret_buf, ret_len);
	free(body);
	return r;
}

/* Records what the request said. */
static void
fake_record(struct fake *f, const fm_proto_envelope *e)
{
	uint8_t *body = NULL;
	size_t len = 0;

	f->last = e->h;
	if (fm_fed_open(f->s, e, &body, &len) < 0)
		return;
	if (e->h.type == FM_PROTO_HELLO) {
		(void)!fm_proto_hello_decode(body, len, &f->last_hello);
	} else if (e->h.type == FM_PROTO_UPDATE) {
		fm_proto_update u = { 0 };

		if (fm_proto_update_decode(body, len, &u) == 0) {
			f->last_update_round = u.round;
			f->last_update_params = u.n_params;
		}
		fm_proto_update_clear(&u);
	}
	free(body);
}

static void *
fake_run(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		fm_proto_envelope e = { 0 };
		uint8_t *buf = NULL, *reply = NULL;
		size_t len = 0, reply_len = 0;
		enum fake_mode mode;
		int r;

		r = fm_net_recv(f->rep, SHORT_MS, &buf, &len);
		if (r == -ECANCELED)
			break;
		if (r < 0)
			continue;
		r = fm_proto_envelope_decode(buf, len, &e);
		free(buf);
		if (r < 0) {
			fm_proto_envelope_clear(&e);
			continue;
		}
		fake_record(f, &e);
		mode = (enum fake_mode)atomic_load(&f->mode);
		atomic_fetch_add(&f->requests, 1);
		if (mode != FAKE_SILENT &&
		    fake_reply(f, &e, mode, &reply, &reply_len) == 0)
			(void)!fm_net_send(f->rep, reply, reply_len);
		free(reply);
		fm_proto_envelope_clear(&e);
	}
	return NULL;
}

/* A fake aggregator's keys, not listening yet. */
static struct fake *
fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(fm_crypto_identity_generate(&f->id), 0);
	assert_int_equal(fm_crypto_identity_generate(&f->other), 0);
	assert_int_equal(fm_crypto_session_new(f->id, FM_CRYPTO_ROLE_AGGREGATOR,
	                     fm_crypto_identity_public(agent), &f->s),
	    0);
	assert_int_equal(
	    fm_crypto_session_new(f->other, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(agent), &f->other_s),
	    0);
	atomic_init(&f->mode, FAKE_OK);
	atomic_init(&f->requests, 0);
	return f;
}

/* Starts f serving url; *ret_url gets a dialable URL. */
static void
fake_listen(struct fake *f, const char *url, char ret_url[FM_NET_URL_BYTES])
{
	fm_net_options o;

	fm_net_options_init(&o);
	o.recv_max_bytes = 1 << 20;
	o.send_timeout_ms = LONG_MS;
	o.recv_timeout_ms = LONG_MS;
	assert_int_equal(fm_net_rep_listen(url, &o, &f->rep), 0);
	if (fm_net_listen_port(f->rep) != 0)
		snprintf(ret_url, FM_NET_URL_BYTES, "tcp://127.0.0.1:%u",
		    (unsigned)fm_net_listen_port(f->rep));
	else
		snprintf(ret_url, FM_NET_URL_BYTES, "%s", url);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_run, f), 0);
}

/* A fake aggregator serving url. */
static struct fake *
fake_start(const char *url, char ret_url[FM_NET_URL_BYTES])
{
	struct fake *f = fake_new();

	fake_listen(f, url, ret_url);
	return f;
}

static void
fake_stop(struct fake *f)
{
	fm_net_sock_close(f->rep);
	assert_int_equal(pthread_join(f->thread, NULL), 0);
	fm_net_sock_free(f->rep);
	fm_crypto_session_free(f->s);
	fm_crypto_session_free(f->other_s);
	fm_crypto_identity_free(f->id);
	fm_crypto_identity_free(f->other);
	free(f);
}

/* A unique inproc URL per test. */
static const char *
inproc_url(void)
{
	static unsigned n;

	snprintf(url_n, sizeof(url_n), "inproc://fm-fed-%u", ++n);
	return url_n;
}

static fm_fed_client_config
client_config(const struct fake *f, const char *url)
{
	fm_fed_client_config cfg;

	fm_fed_client_config_init(&cfg);
	cfg.url = url;
	memcpy(cfg.aggregator_pk, fm_crypto_identity_public(f->id),
	    FM_CRYPTO_PUBLIC_KEY_BYTES);
	cfg.timeout_ms = LONG_MS;
	cfg.max_message_bytes = 4096;
	cfg.skew_ms = SKEW_MS;
	cfg.reconnect_min_ms = 10;
	cfg.reconnect_max_ms = 50;
	return cfg;
}

static fm_proto_hello
sample_hello(void)
{
	fm_proto_hello m = {
		.schema_version = 3,
		.layout_id = 11,
		.n_params = 4,
		.have_version = 5,
	};

	strcpy(m.agent_version, "0.1.0");
	return m;
}

static float local_params[] = { 1.0f, 2.0f, 3.0f, 4.0f };

static fm_proto_update
sample_update(void)
{
	return (fm_proto_update) {
		.round = 7,
		.base_version = 6,
		.layout_id = 11,
		.kind = FM_PROTO_UPDATE_DELTA,
		.samples = 1000,
		.loss = 0.25f,
		.n_params = FM_ELEMENTSOF(local_params),
		.params = local_params,
	};
}

/* HELLO expecting r; returns the reason. */
static uint32_t
hello_expect(fm_fed_client *c, int r)
{
	fm_proto_hello m = sample_hello();
	fm_proto_round round = { 0 };
	uint32_t reason = 12345;

	assert_int_equal(fm_fed_client_hello(c, &m, &round, &reason), r);
	if (r == 0)
		fm_proto_round_clear(&round);
	assert_null(round.params);
	assert_int_not_equal(reason, 12345);
	return reason;
}

static void
check_round_trips(fm_fed_client *c, struct fake *f)
{
	fm_proto_hello hello = sample_hello();
	fm_proto_update update = sample_update();
	fm_proto_round round = { 0 };
	fm_proto_verdict verdict = { 0 };
	uint32_t reason = 12345;
	uint64_t seq0 = fm_fed_client_seq(c);

	assert_int_equal(fm_fed_client_hello(c, &hello, &round, &reason), 0);
	assert_int_equal(reason, FM_PROTO_OK);
	assert_int_equal(round.round, 7);
	assert_int_equal(round.phase, FM_PROTO_PHASE_COLLECT);
	assert_int_equal(round.version, 6);
	assert_int_equal(round.n_params, FM_ELEMENTSOF(global_params));
	assert_memory_equal(round.params, global_params, sizeof(global_params));
	assert_int_equal(round.poll_ms, 5000);
	fm_proto_round_clear(&round);
	/* What the aggregator saw. */
	assert_int_equal(f->last.version, FM_PROTO_VERSION);
	assert_int_equal(f->last.type, FM_PROTO_HELLO);
	assert_int_equal(f->last.sender, fm_crypto_identity_key_id(agent));
	assert_int_equal(f->last.recipient, fm_crypto_identity_key_id(f->id));
	assert_int_equal(f->last.round, 0);
	assert_int_equal(f->last.seq, seq0 + 1);
	assert_true(
	    fm_fed_timestamp_is_fresh(f->last.timestamp_ms, wall_ms(), 5000));
	assert_int_equal(f->last_hello.have_version, 5);
	assert_string_equal(f->last_hello.agent_version, "0.1.0");
	assert_int_equal(fm_fed_client_seq(c), seq0 + 1);

	reason = 12345;
	assert_int_equal(
	    fm_fed_client_update(c, &update, &verdict, &reason), 0);
	assert_int_equal(reason, FM_PROTO_OK);
	assert_int_equal(verdict.round, 7);
	assert_int_equal(verdict.reason, FM_PROTO_REASON_NORM);
	assert_int_equal(verdict.poll_ms, 4000);
	assert_int_equal(f->last.type, FM_PROTO_UPDATE);
	assert_int_equal(f->last.round, 7);
	assert_int_equal(f->last.seq, seq0 + 2);
	assert_int_equal(f->last_update_round, 7);
	assert_int_equal(f->last_update_params, 4);
	assert_int_equal(fm_fed_client_seq(c), seq0 + 2);
}

static int
setup(void **state)
{
	(void)state;
	if (fm_crypto_init() < 0 || fm_crypto_identity_generate(&agent) < 0)
		return -1;
	strcpy(tmp_dir, "/tmp/fm-test-fedc-XXXXXX");
	return mkdtemp(tmp_dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	agent = fm_crypto_identity_free(agent);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	(void)!system(cmd);
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_fed_client_config_defaults(void **state)
{
	fm_fed_client_config cfg;
	static const uint8_t zero[FM_CRYPTO_PUBLIC_KEY_BYTES];

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	fm_fed_client_config_init(&cfg);
	assert_null(cfg.url);
	assert_null(cfg.seq_path);
	assert_memory_equal(cfg.aggregator_pk, zero, sizeof(zero));
	assert_int_equal(cfg.timeout_ms, 10000);
	assert_int_equal(cfg.max_message_bytes, 8u << 20);
	assert_int_equal(cfg.skew_ms, FM_FED_SKEW_MS_DEFAULT);
	assert_int_equal(cfg.reconnect_min_ms, 100);
	assert_int_equal(cfg.reconnect_max_ms, 60000);
}

static void
test_fed_client_round_trip_inproc(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	assert_int_equal(fm_fed_client_seq(c), 0);
	check_round_trips(c, f);
	check_round_trips(c, f);
	assert_int_equal(fm_fed_client_seq(c), 4);
	assert_null(fm_fed_client_free(c));
	fake_stop(f);
}

static void
test_fed_client_round_trip_tcp(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start("tcp://127.0.0.1:0", url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	check_round_trips(c, f);
	fm_fed_client_free(c);
	fake_stop(f);
}

/* Each bad reply gets its code; the next good one goes through. */
/* fm_fed_client_call() is driven by proto's message table: a request
 * row goes through (the typed calls are its forms), anything else is
 * -EINVAL before a sequence number is spent. */
static void
test_fed_client_call_table(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	fm_proto_hello hello = sample_hello();
	fm_proto_update update = sample_update();
	fm_proto_body ret;
	static const uint32_t not_requests[] = { 0, FM_PROTO_ROUND,
		FM_PROTO_VERDICT, FM_PROTO_ERROR, FM_PROTO_TYPE_END,
		UINT32_MAX };
	uint32_t reason = 12345;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	memset(&ret, 0, sizeof(ret));
	assert_int_equal(fm_fed_client_call(
	                     c, FM_PROTO_HELLO, 0, &hello, &ret.round, &reason),
	    0);
	assert_int_equal(reason, FM_PROTO_OK);
	assert_int_equal(ret.round.round, 7);
	assert_int_equal(f->last.type, FM_PROTO_HELLO);
	fm_proto_round_clear(&ret.round);
	reason = 12345;
	assert_int_equal(fm_fed_client_call(c, FM_PROTO_UPDATE, 9, &update,
	                     &ret.verdict, &reason),
	    0);
	assert_int_equal(reason, FM_PROTO_OK);
	assert_int_equal(ret.verdict.reason, FM_PROTO_REASON_NORM);
	assert_int_equal(f->last.type, FM_PROTO_UPDATE);
	assert_int_equal(f->last.round, 9); /* the header's, as given */
	assert_int_equal(fm_fed_client_seq(c), 2);
	for (size_t i = 0; i < FM_ELEMENTSOF(not_requests); i++) {
		reason = 12345;
		assert_int_equal(fm_fed_client_call(c, not_requests[i], 0,
		                     &hello, &ret, &reason),
		    -EINVAL);
		assert_int_equal(reason, FM_PROTO_OK);
	}
	assert_int_equal(fm_fed_client_seq(c), 2);
	fm_fed_client_free(c);
	fake_stop(f);
}

static void
test_fed_client_bad_replies(void **state)
{
	static const struct {
		enum fake_mode mode;
		int r;
	} cases[] = {
		{ FAKE_WRONG_SEQ, -EBADMSG },
		{ FAKE_WRONG_RECIPIENT, -EBADMSG },
		{ FAKE_WRONG_SENDER, -EBADMSG },
		{ FAKE_STALE, -EBADMSG },
		{ FAKE_FUTURE, -EBADMSG },
		{ FAKE_OTHER_KEY, -EBADMSG },
		{ FAKE_OTHER_KEY_ID, -EBADMSG },
		{ FAKE_TAMPERED, -EBADMSG },
		{ FAKE_HEADER_CHANGED, -EBADMSG },
		{ FAKE_GARBAGE, -EBADMSG },
		{ FAKE_OTHER_VERSION, -EBADMSG },
		{ FAKE_WRONG_TYPE, -EPROTO },
		{ FAKE_BAD_BODY, -EBADMSG },
		{ FAKE_BIG, -EMSGSIZE },
		{ FAKE_ERROR_WRONG_SEQ, -EBADMSG },
		{ FAKE_ERROR_WRONG_SENDER, -EBADMSG },
	};
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	fm_proto_update update = sample_update();
	fm_proto_verdict verdict = { 0 };
	uint32_t reason;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		atomic_store(&f->mode, cases[i].mode);
		assert_int_equal(hello_expect(c, cases[i].r), FM_PROTO_OK);
		reason = 12345;
		assert_int_equal(
		    fm_fed_client_update(c, &update, &verdict, &reason),
		    cases[i].r);
		assert_int_equal(reason, FM_PROTO_OK);
		atomic_store(&f->mode, FAKE_OK);
		check_round_trips(c, f);
	}
	fm_fed_client_free(c);
	fake_stop(f);
}

/* An unsealed ERROR: -EPERM and its reason, as a hint. */
static void
test_fed_client_error_reply(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	fm_proto_update update = sample_update();
	fm_proto_verdict verdict = { 0 };
	uint32_t reason = 0;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	atomic_store(&f->mode, FAKE_ERROR);
	assert_int_equal(hello_expect(c, -EPERM), FM_PROTO_REASON_UNKNOWN_KEY);
	assert_int_equal(
	    fm_fed_client_update(c, &update, &verdict, &reason), -EPERM);
	assert_int_equal(reason, FM_PROTO_REASON_UNKNOWN_KEY);
	atomic_store(&f->mode, FAKE_ERROR_ANONYMOUS);
	assert_int_equal(hello_expect(c, -EPERM), FM_PROTO_REASON_MALFORMED);
	atomic_store(&f->mode, FAKE_OK);
	check_round_trips(c, f);
	fm_fed_client_free(c);
	fake_stop(f);
}

/* No answer: -ETIMEDOUT within the timeout; the next request works. */
static void
test_fed_client_timeout(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	int64_t t0;

	(void)state;
	cfg.timeout_ms = SHORT_MS;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	atomic_store(&f->mode, FAKE_SILENT);
	t0 = fm_time_mono_ns();
	assert_int_equal(hello_expect(c, -ETIMEDOUT), FM_PROTO_OK);
	assert_true(fm_time_mono_ns() - t0 < 3 * SHORT_MS * FM_NSEC_PER_MSEC);
	assert_int_equal(hello_expect(c, -ETIMEDOUT), FM_PROTO_OK);
	atomic_store(&f->mode, FAKE_OK);
	check_round_trips(c, f);
	/* Both unanswered requests spent their numbers. */
	assert_int_equal(fm_fed_client_seq(c), 4);
	fm_fed_client_free(c);
	fake_stop(f);

	/* Nobody there at all. */
	cfg.url = "inproc://fm-fed-nobody";
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	t0 = fm_time_mono_ns();
	assert_int_equal(hello_expect(c, -ETIMEDOUT), FM_PROTO_OK);
	assert_true(fm_time_mono_ns() - t0 < 3 * SHORT_MS * FM_NSEC_PER_MSEC);
	fm_fed_client_free(c);
}

/* The aggregator starts after the agent: the request waits for it. */
static void
test_fed_client_aggregator_later(void **state)
{
	char url[FM_NET_URL_BYTES], got[FM_NET_URL_BYTES];
	struct fake *f;
	fm_fed_client_config cfg;
	fm_fed_client *c = NULL;
	fm_net_sock *probe = NULL;
	fm_net_options o;

	(void)state;
	/* A tcp port that is free now. */
	fm_net_options_init(&o);
	assert_int_equal(fm_net_rep_listen("tcp://127.0.0.1:0", &o, &probe), 0);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u",
	    (unsigned)fm_net_listen_port(probe));
	fm_net_sock_free(probe);

	f = fake_new();
	cfg = client_config(f, url);
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	sleep_ms(SHORT_MS);
	fake_listen(f, url, got);
	check_round_trips(c, f);
	fm_fed_client_free(c);
	fake_stop(f);
}

struct canceller {
	fm_fed_client *c;
	int r;
	uint32_t reason;
};

static void *
hello_run(void *arg)
{
	struct canceller *k = arg;
	fm_proto_hello m = sample_hello();
	fm_proto_round round = { 0 };

	k->r = fm_fed_client_hello(k->c, &m, &round, &k->reason);
	fm_proto_round_clear(&round);
	return NULL;
}

static void
test_fed_client_cancel(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	struct canceller k = { .r = 1, .reason = 12345 };
	int64_t t0;
	pthread_t t;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &k.c), 0);
	atomic_store(&f->mode, FAKE_SILENT);
	t0 = fm_time_mono_ns();
	assert_int_equal(pthread_create(&t, NULL, hello_run, &k), 0);
	sleep_ms(SHORT_MS);
	fm_fed_client_cancel(k.c);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(k.r, -ECANCELED);
	assert_int_equal(k.reason, FM_PROTO_OK);
	assert_true(fm_time_mono_ns() - t0 < (LONG_MS / 2) * FM_NSEC_PER_MSEC);
	/* Later requests fail the same way; cancel is idempotent. */
	assert_int_equal(hello_expect(k.c, -ECANCELED), FM_PROTO_OK);
	fm_fed_client_cancel(k.c);
	fm_fed_client_cancel(NULL);
	fm_fed_client_free(k.c);
	fake_stop(f);
}

static void
seq_path(const char *name, char ret[128])
{
	snprintf(ret, 128, "%s/%s", tmp_dir, name);
}

static uint64_t
lease_stored(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t v = 0;

	assert_int_equal(fm_file_read_all(path, 64, &buf, &len), 0);
	assert_int_equal(
	    sscanf((const char *)buf, "fedmon-seq-lease-v1 %" SCNu64, &v), 1);
	free(buf);
	return v;
}

/* Sequence numbers strictly increase across restarts of the client; a
 * corrupt lease refuses to start. */
static void
test_fed_client_seq_lease(void **state)
{
	char url[FM_NET_URL_BYTES], path[128];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	uint64_t prev = 0;
	FILE *file;

	(void)state;
	seq_path("seq", path);
	cfg.seq_path = path;
	for (unsigned run = 0; run < 3; run++) {
		assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
		/* The lease is written before the first request. */
		assert_int_equal(
		    lease_stored(path), (run + 1) * FM_FED_SEQ_LEASE);
		for (int i = 0; i < 3; i++) {
			hello_expect(c, 0);
			assert_true(f->last.seq > prev);
			prev = f->last.seq;
		}
		assert_int_equal(prev, run * FM_FED_SEQ_LEASE + 3);
		assert_int_equal(fm_fed_client_seq(c), prev);
		c = fm_fed_client_free(c);
	}

	/* Corrupt. */
	file = fopen(path, "w");
	assert_non_null(file);
	fputs("fedmon-seq-lease-v1 12x\n", file);
	fclose(file);
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), -EBADMSG);
	assert_null(c);
	/* Where no file can be written. */
	seq_path("no-such-dir/seq", path);
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), -ENOENT);
	fake_stop(f);
}

/*
 * A lease that went backwards (a state directory restored from a
 * backup): a REPLAY whose sealed refusal opens moves the lease above its
 * floor, persisted, and the request goes once more and is answered; a
 * REPLAY that is unsealed, does not open or names a floor below the
 * request moves nothing, and a second REPLAY is returned.
 */
static void
test_fed_client_replay_floor(void **state)
{
	char url[FM_NET_URL_BYTES], path[128];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	fm_proto_update update = sample_update();
	fm_proto_verdict verdict = { 0 };
	uint32_t reason = 0;
	uint64_t seq;
	int n;

	(void)state;
	seq_path("seq-floor", path);
	cfg.seq_path = path;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	hello_expect(c, 0);
	assert_int_equal(f->last.seq, 1);

	/* Sealed: back within this very call. */
	atomic_store(&f->mode, FAKE_REFUSAL);
	n = atomic_load(&f->requests);
	assert_int_equal(hello_expect(c, 0), FM_PROTO_OK);
	assert_int_equal(atomic_load(&f->requests), n + 2);
	seq = 2 + REFUSAL_GAP + 1;
	assert_int_equal(f->last.seq, seq);
	assert_int_equal(fm_fed_client_seq(c), seq);
	/* persisted before use */
	assert_int_equal(
	    lease_stored(path), 2 + REFUSAL_GAP + FM_FED_SEQ_LEASE);
	/* an UPDATE too */
	atomic_store(&f->mode, FAKE_REFUSAL);
	assert_int_equal(
	    fm_fed_client_update(c, &update, &verdict, &reason), 0);
	assert_int_equal(f->last.seq, seq + 1 + REFUSAL_GAP + 1);
	seq = f->last.seq;

	/* Not believed: the lease moves by the one number spent. */
	for (int mode = FAKE_REFUSAL_OTHER_KEY; mode <= FAKE_REFUSAL_UNSEALED;
	     mode++) {
		atomic_store(&f->mode, mode);
		n = atomic_load(&f->requests);
		assert_int_equal(
		    hello_expect(c, -EPERM), FM_PROTO_REASON_REPLAY);
		assert_int_equal(atomic_load(&f->requests), n + 1);
		assert_int_equal(fm_fed_client_seq(c), ++seq);
	}

	/* Refused again after the move: sent once more only, and the lease
	 * is above the second floor too. */
	atomic_store(&f->mode, FAKE_REFUSAL_ALWAYS);
	n = atomic_load(&f->requests);
	assert_int_equal(hello_expect(c, -EPERM), FM_PROTO_REASON_REPLAY);
	assert_int_equal(atomic_load(&f->requests), n + 2);
	assert_int_equal(fm_fed_client_seq(c), seq + 2 + 2 * REFUSAL_GAP);
	seq = fm_fed_client_seq(c);

	/* A restart continues above the moved lease. */
	c = fm_fed_client_free(c);
	atomic_store(&f->mode, FAKE_OK);
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	hello_expect(c, 0);
	assert_true(f->last.seq > seq);
	fm_fed_client_free(c);
	fake_stop(f);
}

static void
test_fed_client_new_errors(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url), bad;
	fm_fed_client *c = NULL;

	(void)state;
	assert_int_equal(fm_fed_client_new(NULL, agent, &c), -EINVAL);
	assert_int_equal(fm_fed_client_new(&cfg, NULL, &c), -EINVAL);
	assert_int_equal(fm_fed_client_new(&cfg, agent, NULL), -EINVAL);
	bad = cfg;
	bad.url = NULL;
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad = cfg;
	bad.timeout_ms = 0;
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad = cfg;
	bad.timeout_ms = (uint32_t)INT32_MAX + 1;
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad = cfg;
	bad.max_message_bytes = 0;
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad = cfg;
	bad.skew_ms = -1;
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad = cfg;
	bad.reconnect_min_ms = 0;
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad = cfg;
	bad.url = "not a url";
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EINVAL);
	bad.url = "ws://127.0.0.1:1/x";
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -ENOTSUP);
	/* An all-zero key is no key. */
	bad = cfg;
	memset(bad.aggregator_pk, 0, sizeof(bad.aggregator_pk));
	assert_int_equal(fm_fed_client_new(&bad, agent, &c), -EBADMSG);
	assert_null(c);
	fake_stop(f);
}

/* Arguments, and messages the encoders refuse: no number is spent. */
static void
test_fed_client_request_errors(void **state)
{
	char url[FM_NET_URL_BYTES];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	fm_proto_hello hello = sample_hello();
	fm_proto_update update = sample_update();
	fm_proto_round round = { 0 };
	fm_proto_verdict verdict = { 0 };
	uint32_t reason = 12345;

	(void)state;
	assert_int_equal(fm_fed_client_new(&cfg, agent, &c), 0);
	assert_int_equal(
	    fm_fed_client_hello(NULL, &hello, &round, &reason), -EINVAL);
	assert_int_equal(reason, FM_PROTO_OK);
	assert_int_equal(
	    fm_fed_client_hello(c, NULL, &round, &reason), -EINVAL);
	assert_int_equal(
	    fm_fed_client_hello(c, &hello, NULL, &reason), -EINVAL);
	assert_int_equal(fm_fed_client_hello(c, &hello, &round, NULL), -EINVAL);
	assert_int_equal(
	    fm_fed_client_update(c, NULL, &verdict, &reason), -EINVAL);
	assert_int_equal(
	    fm_fed_client_update(c, &update, NULL, &reason), -EINVAL);
	memset(hello.agent_version, 'x', sizeof(hello.agent_version));
	reason = 12345;
	assert_int_equal(
	    fm_fed_client_hello(c, &hello, &round, &reason), -EINVAL);
	assert_int_equal(reason, FM_PROTO_OK);
	update.params = NULL;
	assert_int_equal(
	    fm_fed_client_update(c, &update, &verdict, &reason), -EINVAL);
	update = sample_update();
	update.loss = (float)NAN;
	assert_int_equal(
	    fm_fed_client_update(c, &update, &verdict, &reason), -EDOM);
	assert_int_equal(fm_fed_client_seq(c), 0);
	assert_int_equal(atomic_load(&f->requests), 0);
	assert_int_equal(fm_fed_client_seq(NULL), 0);
	assert_null(fm_fed_client_free(NULL));
	fm_fed_client_free(c);
	fake_stop(f);
}

/* Allocation failures: client_new leaves nothing behind; a request
 * whose allocations fail says -ENOMEM (or, when the fake aggregator's
 * own allocation failed and it could not answer, -ETIMEDOUT). */
static void
test_fed_client_out_of_memory(void **state)
{
	char url[FM_NET_URL_BYTES], path[128];
	struct fake *f = fake_start(inproc_url(), url);
	fm_fed_client_config cfg = client_config(f, url);
	fm_fed_client *c = NULL;
	fm_proto_hello m = sample_hello();
	fm_proto_round round = { 0 };
	uint32_t reason;
	int n, r;

	(void)state;
	snprintf(path, sizeof(path), "%s/seq-oom", tmp_dir);
	cfg.seq_path = path;
	cfg.timeout_ms = SHORT_MS;
	for (n = 0;; n++) {
		fm_test_alloc_fail_after(n);
		r = fm_fed_client_new(&cfg, agent, &c);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_true(n < 100);
	}
	assert_true(n >= 3);
	for (n = 0;; n++) {
		fm_test_alloc_fail_after(n);
		r = fm_fed_client_hello(c, &m, &round, &reason);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_true(r == -ENOMEM || (n > 0 && r == -ETIMEDOUT));
		assert_int_equal(reason, FM_PROTO_OK);
		assert_true(n < 100);
	}
	assert_true(n >= 3);
	fm_proto_round_clear(&round);
	fm_fed_client_free(c);
	fake_stop(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fed_client_config_defaults),
		cmocka_unit_test(test_fed_client_round_trip_inproc),
		cmocka_unit_test(test_fed_client_round_trip_tcp),
		cmocka_unit_test(test_fed_client_call_table),
		cmocka_unit_test(test_fed_client_bad_replies),
		cmocka_unit_test(test_fed_client_error_reply),
		cmocka_unit_test(test_fed_client_timeout),
		cmocka_unit_test(test_fed_client_aggregator_later),
		cmocka_unit_test(test_fed_client_cancel),
		cmocka_unit_test(test_fed_client_seq_lease),
		cmocka_unit_test(test_fed_client_replay_floor),
		cmocka_unit_test(test_fed_client_new_errors),
		cmocka_unit_test(test_fed_client_request_errors),
		cmocka_unit_test(test_fed_client_out_of_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
