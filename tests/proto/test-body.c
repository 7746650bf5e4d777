/*
 * Tests for the bodies (proto/hello.c, round.c, update.c, verdict.c):
 * round trips, every validation error of encoders and decoders with its
 * exact code, caps refused before anything is read or allocated, the
 * memory budget, and allocation failures (malloc is wrapped and counted)
 * without leaks.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/proto/raw.h"
#include "tests/support/alloc-hook.h"

static float params[] = { 0.5f, -1.25f, 3.0e-7f, 1e30f, -0.0f, 0.0f, -3.4e38f,
	1.17549435e-38f };
#define N_PARAMS ((uint32_t)(sizeof(params) / sizeof(params[0])))

static fm_proto_hello
sample_hello(void)
{
	return (fm_proto_hello) { .schema_version = 3,
		.layout_id = 0xdeadbeef,
		.n_params = 123456,
		.have_version = 77,
		.agent_version = "0.1.0-12-gabcdef" };
}

static fm_proto_round
sample_round(void)
{
	return (fm_proto_round) { .round = 9,
		.phase = FM_PROTO_PHASE_COLLECT,
		.version = 8,
		.layout_id = 0xdeadbeef,
		.n_params = N_PARAMS,
		.params = params,
		.prox_mu = 0.01f,
		.local_steps = 200,
		.deadline_ms = 30000,
		.poll_ms = 5000,
		.contributed = true };
}

static fm_proto_update
sample_update(void)
{
	return (fm_proto_update) { .round = 9,
		.base_version = 8,
		.layout_id = 0xdeadbeef,
		.kind = FM_PROTO_UPDATE_DELTA,
		.samples = 1ull << 33,
		.loss = 0.125f,
		.n_params = N_PARAMS,
		.params = params };
}

/* Field-by-field comparisons (structs have padding). Params compared
 * when both are set. */
static void
assert_hello_equal(const fm_proto_hello *a, const fm_proto_hello *b)
{
	assert_int_equal(a->schema_version, b->schema_version);
	assert_int_equal(a->layout_id, b->layout_id);
	assert_int_equal(a->n_params, b->n_params);
	assert_true(a->have_version == b->have_version);
	assert_memory_equal(
	    a->agent_version, b->agent_version, sizeof(a->agent_version));
}

static void
assert_round_equal(const fm_proto_round *a, const fm_proto_round *b)
{
	assert_true(a->round == b->round);
	assert_int_equal(a->phase, b->phase);
	assert_true(a->version == b->version);
	assert_int_equal(a->layout_id, b->layout_id);
	assert_int_equal(a->n_params, b->n_params);
	assert_true(!a->params == !b->params);
	if (a->params)
		assert_memory_equal(
		    a->params, b->params, a->n_params * sizeof(float));
	assert_memory_equal(&a->prox_mu, &b->prox_mu, sizeof(float));
	assert_int_equal(a->local_steps, b->local_steps);
	assert_int_equal(a->deadline_ms, b->deadline_ms);
	assert_int_equal(a->poll_ms, b->poll_ms);
	assert_int_equal(a->contributed, b->contributed);
}

static void
assert_update_equal(const fm_proto_update *a, const fm_proto_update *b)
{
	assert_true(a->round == b->round);
	assert_true(a->base_version == b->base_version);
	assert_int_equal(a->layout_id, b->layout_id);
	assert_int_equal(a->kind, b->kind);
	assert_true(a->samples == b->samples);
	assert_memory_equal(&a->loss, &b->loss, sizeof(float));
	assert_int_equal(a->n_params, b->n_params);
	assert_true(!a->params == !b->params);
	if (a->params)
		assert_memory_equal(
		    a->params, b->params, a->n_params * sizeof(float));
}

static void
assert_verdict_equal(const fm_proto_verdict *a, const fm_proto_verdict *b)
{
	assert_true(a->round == b->round);
	assert_int_equal(a->reason, b->reason);
	assert_int_equal(a->clipped, b->clipped);
	assert_int_equal(a->poll_ms, b->poll_ms);
}

/* Calls every body decoder on buf[len]; each must return expect. */
static void
decode_all_expect(const uint8_t *buf, size_t len, int expect)
{
	fm_proto_hello h;
	fm_proto_round r;
	fm_proto_update u;
	fm_proto_verdict v;

	assert_int_equal(fm_proto_hello_decode(buf, len, &h), expect);
	assert_true(raw_is_zero(&h, sizeof(h)));
	assert_int_equal(fm_proto_round_decode(buf, len, &r), expect);
	assert_true(raw_is_zero(&r, sizeof(r)));
	assert_int_equal(fm_proto_update_decode(buf, len, &u), expect);
	assert_true(raw_is_zero(&u, sizeof(u)));
	assert_int_equal(fm_proto_verdict_decode(buf, len, &v), expect);
	assert_true(raw_is_zero(&v, sizeof(v)));
}

/* ---- HELLO ------------------------------------------------------------ */

static void
test_body_hello_round_trip(void **state)
{
	static const char *const versions[] = { "0.1.0-12-gabcdef", "",
		"1234567890123456789012345678901", " ~" };

	for (size_t i = 0; i < FM_ELEMENTSOF(versions); i++) {
		fm_proto_hello in = sample_hello(), out;
		uint8_t *buf = NULL;
		size_t len = 0;

		memset(in.agent_version, 0, sizeof(in.agent_version));
		strcpy(in.agent_version, versions[i]);
		assert_int_equal(fm_proto_hello_encode(&in, &buf, &len), 0);
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(fm_proto_hello_decode(buf, len, &out), 0);
		assert_hello_equal(&out, &in);
		free(buf);
	}
}

static void
test_body_hello_encode_rejects(void **state)
{
	fm_proto_hello m = sample_hello();
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(m.agent_version, 'a', sizeof(m.agent_version)); /* no NUL */
	assert_int_equal(fm_proto_hello_encode(&m, &buf, &len), -EINVAL);
	m = sample_hello();
	m.agent_version[2] = '\n';
	assert_int_equal(fm_proto_hello_encode(&m, &buf, &len), -EINVAL);
	m.agent_version[2] = (char)0x80;
	assert_int_equal(fm_proto_hello_encode(&m, &buf, &len), -EINVAL);
	m.agent_version[2] = 0x7f;
	assert_int_equal(fm_proto_hello_encode(&m, &buf, &len), -EINVAL);
	m = sample_hello();
	m.n_params = FM_PROTO_MAX_PARAMS + 1;
	assert_int_equal(fm_proto_hello_encode(&m, &buf, &len), -EMSGSIZE);
	assert_null(buf);
	m.n_params = FM_PROTO_MAX_PARAMS;
	assert_int_equal(fm_proto_hello_encode(&m, &buf, &len), 0);
	free(buf);
}

static void
test_body_hello_decode_rejects(void **state)
{
	Fedmon__V1__Hello m = FEDMON__V1__HELLO__INIT;
	uint8_t text[40];
	fm_proto_hello out;
	uint8_t *buf;
	size_t len;

	memset(text, 'v', sizeof(text));
	m.agent_version.data = text;
	m.agent_version.len = FM_PROTO_VERSION_TEXT_BYTES; /* no room for NUL */
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_hello_decode(buf, len, &out), -EBADMSG);
	assert_true(raw_is_zero(&out, sizeof(out)));
	free(buf);

	m.agent_version.len = FM_PROTO_VERSION_TEXT_BYTES - 1;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_hello_decode(buf, len, &out), 0);
	assert_int_equal(strlen(out.agent_version), 31);
	free(buf);

	text[3] = 0; /* a NUL inside */
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_hello_decode(buf, len, &out), -EBADMSG);
	free(buf);
	text[3] = 0x1b; /* a terminal escape */
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_hello_decode(buf, len, &out), -EBADMSG);
	free(buf);
	text[3] = 0xc3; /* not ASCII */
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_hello_decode(buf, len, &out), -EBADMSG);
	free(buf);

	m.agent_version.len = 0;
	m.param_count = FM_PROTO_MAX_PARAMS + 1;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_hello_decode(buf, len, &out), -EBADMSG);
	free(buf);
}

/* ---- ROUND ------------------------------------------------------------ */

static void
test_body_round_round_trip(void **state)
{
	fm_proto_round in = sample_round(), out;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(fm_proto_round_encode(&in, &buf, &len), 0);
	assert_int_equal(fm_proto_round_decode(buf, len, &out), 0);
	assert_true(out.params != params);
	assert_round_equal(&out, &in);
	fm_proto_round_clear(&out);
	assert_true(raw_is_zero(&out, sizeof(out)));
	free(buf);

	/* Without the model: the agent has that version already. */
	in.params = NULL;
	in.phase = FM_PROTO_PHASE_IDLE;
	in.contributed = false;
	in.prox_mu = 0;
	assert_int_equal(fm_proto_round_encode(&in, &buf, &len), 0);
	assert_int_equal(fm_proto_round_decode(buf, len, &out), 0);
	assert_null(out.params);
	assert_int_equal(out.n_params, N_PARAMS);
	assert_round_equal(&out, &in);
	fm_proto_round_clear(&out);
	fm_proto_round_clear(&out);
	fm_proto_round_clear(NULL);
	free(buf);
}

static void
test_body_round_encode_rejects(void **state)
{
	fm_proto_round m = sample_round();
	float bad[N_PARAMS];
	uint8_t *buf = NULL;
	size_t len = 0;

	m.phase = 0;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EINVAL);
	m.phase = FM_PROTO_PHASE_COLLECT + 1;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EINVAL);
	m = sample_round();
	m.prox_mu = -0.5f;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EINVAL);
	m.prox_mu = NAN;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EDOM);
	m.prox_mu = INFINITY;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EDOM);
	m = sample_round();
	memcpy(bad, params, sizeof(bad));
	bad[N_PARAMS - 1] = -INFINITY;
	m.params = bad;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EDOM);
	bad[N_PARAMS - 1] = NAN;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EDOM);
	m = sample_round();
	m.n_params = FM_PROTO_MAX_PARAMS + 1; /* refused before reading */
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EMSGSIZE);
	m.params = NULL;
	assert_int_equal(fm_proto_round_encode(&m, &buf, &len), -EMSGSIZE);
	assert_null(buf);
}

static void
test_body_round_decode_rejects(void **state)
{
	Fedmon__V1__Round m = FEDMON__V1__ROUND__INIT;
	float bad[N_PARAMS];
	fm_proto_round out;
	uint8_t *buf;
	size_t len;

#define EXPECT(code)                                                           \
	do {                                                                   \
		buf = raw_pack(&m.base, &len);                                 \
		assert_int_equal(fm_proto_round_decode(buf, len, &out), code); \
		assert_true(raw_is_zero(&out, sizeof(out)));                   \
		free(buf);                                                     \
	} while (0)

	m.phase = FM_PROTO_PHASE_IDLE;
	m.param_count = N_PARAMS;
	m.n_params = N_PARAMS;
	m.params = params;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_round_decode(buf, len, &out), 0);
	fm_proto_round_clear(&out);
	free(buf);

	m.phase = 0;
	EXPECT(-EBADMSG);
	m.phase = 3;
	EXPECT(-EBADMSG);
	m.phase = FM_PROTO_PHASE_COLLECT;
	m.param_count = N_PARAMS + 1;
	EXPECT(-EBADMSG);
	m.param_count = N_PARAMS - 1;
	EXPECT(-EBADMSG);
	m.n_params = 0;
	m.params = NULL;
	m.param_count = FM_PROTO_MAX_PARAMS + 1;
	EXPECT(-EBADMSG);
	m.param_count =
	    FM_PROTO_MAX_PARAMS; /* the length of a model not sent */
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_round_decode(buf, len, &out), 0);
	assert_null(out.params);
	assert_int_equal(out.n_params, FM_PROTO_MAX_PARAMS);
	fm_proto_round_clear(&out);
	free(buf);
	m.param_count = N_PARAMS;
	m.n_params = N_PARAMS;
	m.params = params;
	m.prox_mu = -1;
	EXPECT(-EBADMSG);
	m.prox_mu = NAN;
	EXPECT(-EDOM);
	m.prox_mu = -INFINITY;
	EXPECT(-EBADMSG);
	m.prox_mu = INFINITY;
	EXPECT(-EDOM);
	m.prox_mu = 0;
	memcpy(bad, params, sizeof(bad));
	bad[0] = NAN;
	m.params = bad;
	EXPECT(-EDOM);
#undef EXPECT
}

/* ---- UPDATE ----------------------------------------------------------- */

static void
test_body_update_round_trip(void **state)
{
	fm_proto_update in = sample_update(), out;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(fm_proto_update_encode(&in, &buf, &len), 0);
	/* packed: 4 bytes a float and a few for the rest */
	assert_true(len >= 4 * N_PARAMS && len < 4 * N_PARAMS + 48);
	assert_int_equal(fm_proto_update_decode(buf, len, &out), 0);
	assert_update_equal(&out, &in);
	fm_proto_update_clear(&out);
	assert_true(raw_is_zero(&out, sizeof(out)));
	free(buf);

	/* Empty: no parameters at all. */
	in.kind = FM_PROTO_UPDATE_PARAMS;
	in.n_params = 0;
	in.params = NULL;
	assert_int_equal(fm_proto_update_encode(&in, &buf, &len), 0);
	assert_int_equal(fm_proto_update_decode(buf, len, &out), 0);
	assert_null(out.params);
	assert_update_equal(&out, &in);
	fm_proto_update_clear(&out);
	fm_proto_update_clear(NULL);
	free(buf);
}

/* The largest update fits the body cap; one float more is refused. */
static void
test_body_update_at_the_cap(void **state)
{
	fm_proto_update in = sample_update(), out;
	uint8_t *buf = NULL;
	size_t len = 0;

	in.n_params = FM_PROTO_MAX_PARAMS;
	in.params = calloc(FM_PROTO_MAX_PARAMS, sizeof(float));
	assert_non_null(in.params);
	in.params[FM_PROTO_MAX_PARAMS - 1] = 42.0f;
	assert_int_equal(fm_proto_update_encode(&in, &buf, &len), 0);
	assert_true(len <= FM_PROTO_BODY_MAX_BYTES);
	assert_int_equal(fm_proto_update_decode(buf, len, &out), 0);
	assert_int_equal(out.n_params, FM_PROTO_MAX_PARAMS);
	assert_true(out.params[FM_PROTO_MAX_PARAMS - 1] == 42.0f);
	fm_proto_update_clear(&out);
	free(buf);
	buf = NULL;

	in.n_params = FM_PROTO_MAX_PARAMS + 1;
	assert_int_equal(fm_proto_update_encode(&in, &buf, &len), -EMSGSIZE);
	assert_null(buf);
	free(in.params);
}

static void
test_body_update_encode_rejects(void **state)
{
	fm_proto_update m = sample_update();
	float bad[N_PARAMS];
	uint8_t *buf = NULL;
	size_t len = 0;

	m.kind = 0;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EINVAL);
	m.kind = FM_PROTO_UPDATE_DELTA + 1;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EINVAL);
	m = sample_update();
	m.params = NULL;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EINVAL);
	m = sample_update();
	m.loss = NAN;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EDOM);
	m.loss = INFINITY;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EDOM);
	m = sample_update();
	memcpy(bad, params, sizeof(bad));
	bad[3] = NAN;
	m.params = bad;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EDOM);
	bad[3] = -INFINITY;
	assert_int_equal(fm_proto_update_encode(&m, &buf, &len), -EDOM);
	assert_null(buf);
}

static void
test_body_update_decode_rejects(void **state)
{
	Fedmon__V1__Update m = FEDMON__V1__UPDATE__INIT;
	float bad[N_PARAMS];
	fm_proto_update out;
	uint8_t *buf;
	size_t len;

#define EXPECT(code)                                                           \
	do {                                                                   \
		buf = raw_pack(&m.base, &len);                                 \
		assert_int_equal(                                              \
		    fm_proto_update_decode(buf, len, &out), code);             \
		assert_true(raw_is_zero(&out, sizeof(out)));                   \
		free(buf);                                                     \
	} while (0)

	m.kind = FM_PROTO_UPDATE_PARAMS;
	m.param_count = N_PARAMS;
	m.n_params = N_PARAMS;
	m.params = params;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_update_decode(buf, len, &out), 0);
	fm_proto_update_clear(&out);
	free(buf);

	m.kind = 0;
	EXPECT(-EBADMSG);
	m.kind = 3;
	EXPECT(-EBADMSG);
	m.kind = FM_PROTO_UPDATE_DELTA;
	m.param_count = N_PARAMS + 1;
	EXPECT(-EBADMSG);
	m.param_count = N_PARAMS - 1;
	EXPECT(-EBADMSG);
	m.param_count = FM_PROTO_MAX_PARAMS + 1;
	EXPECT(-EBADMSG);
	m.param_count = N_PARAMS;
	m.n_params = 0; /* a count without the parameters */
	m.params = NULL;
	EXPECT(-EBADMSG);
	m.n_params = N_PARAMS;
	m.params = params;
	m.loss = NAN;
	EXPECT(-EDOM);
	m.loss = -INFINITY;
	EXPECT(-EDOM);
	m.loss = -1; /* a loss may be anything finite */
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_update_decode(buf, len, &out), 0);
	fm_proto_update_clear(&out);
	free(buf);
	memcpy(bad, params, sizeof(bad));
	bad[N_PARAMS - 1] = INFINITY;
	m.params = bad;
	EXPECT(-EDOM);
#undef EXPECT
}

/* Floats written one field each (valid protobuf, not what we write) are
 * accepted while they fit the memory budget, refused beyond. */
static void
test_body_update_unpacked_params(void **state)
{
	const size_t n = 20000;
	uint8_t *buf = malloc(16 + 5 * n);
	fm_proto_update out;
	size_t len = 0;

	assert_non_null(buf);
	buf[len++] = 0x20; /* kind */
	buf[len++] = FM_PROTO_UPDATE_PARAMS;
	buf[len++] = 0x38; /* param_count 3 */
	buf[len++] = 3;
	for (int i = 0; i < 3; i++) {
		buf[len++] = 0x45; /* params, one 32-bit float */
		memcpy(buf + len, &params[i], 4);
		len += 4;
	}
	assert_int_equal(fm_proto_update_decode(buf, len, &out), 0);
	assert_int_equal(out.n_params, 3);
	assert_memory_equal(out.params, params, 3 * sizeof(float));
	fm_proto_update_clear(&out);

	len = 2;
	buf[len++] = 0x38; /* param_count 20000: 0xa0 0x9c 0x01 */
	buf[len++] = 0xa0;
	buf[len++] = 0x9c;
	buf[len++] = 0x01;
	for (size_t i = 0; i < n; i++) {
		buf[len++] = 0x45;
		memset(buf + len, 0, 4);
		len += 4;
	}
	assert_int_equal(fm_proto_update_decode(buf, len, &out), -EBADMSG);
	assert_true(raw_is_zero(&out, sizeof(out)));
	free(buf);
}

/* ---- VERDICT ---------------------------------------------------------- */

static void
test_body_verdict_round_trip(void **state)
{
	for (uint32_t reason = 0; reason < FM_PROTO_REASON_COUNT; reason++) {
		fm_proto_verdict in = { .round = UINT64_MAX,
			.reason = reason,
			.clipped = reason == FM_PROTO_OK,
			.poll_ms = UINT32_MAX },
		                 out;
		uint8_t *buf = NULL;
		size_t len = 0;

		assert_int_equal(fm_proto_verdict_encode(&in, &buf, &len), 0);
		assert_int_equal(fm_proto_verdict_decode(buf, len, &out), 0);
		assert_verdict_equal(&out, &in);
		free(buf);
	}
	/* An all-default verdict is zero bytes long. */
	{
		fm_proto_verdict in = { 0 }, out;
		uint8_t *buf = NULL;
		size_t len = 1;

		assert_int_equal(fm_proto_verdict_encode(&in, &buf, &len), 0);
		assert_non_null(buf);
		assert_int_equal(len, 0);
		assert_int_equal(fm_proto_verdict_decode(buf, len, &out), 0);
		assert_verdict_equal(&out, &in);
		assert_int_equal(fm_proto_verdict_decode(NULL, 0, &out), 0);
		free(buf);
	}
}

static void
test_body_verdict_rejects(void **state)
{
	Fedmon__V1__Verdict m = FEDMON__V1__VERDICT__INIT;
	fm_proto_verdict v = { .reason = FM_PROTO_REASON_COUNT }, out;
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(fm_proto_verdict_encode(&v, &buf, &len), -EINVAL);
	v.reason = FM_PROTO_REASON_NORM;
	v.clipped = true; /* clipping comes with acceptance only */
	assert_int_equal(fm_proto_verdict_encode(&v, &buf, &len), -EINVAL);
	assert_null(buf);

	m.reason = FM_PROTO_REASON_COUNT;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_verdict_decode(buf, len, &out), -EBADMSG);
	assert_true(raw_is_zero(&out, sizeof(out)));
	free(buf);
	m.reason = FM_PROTO_REASON_NORM;
	m.clipped = true;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_verdict_decode(buf, len, &out), -EBADMSG);
	free(buf);
}

/* ---- all bodies ------------------------------------------------------- */

static void
test_body_cap_refused_unread(void **state)
{
	size_t len = FM_PROTO_BODY_MAX_BYTES + 1;
	uint8_t *buf = malloc(len);
	unsigned before;

	assert_non_null(buf);
	memset(buf, 0xff, len); /* garbage, were it parsed */
	before = fm_test_alloc_count();
	decode_all_expect(buf, len, -EMSGSIZE);
	decode_all_expect(buf, SIZE_MAX, -EMSGSIZE);
	assert_int_equal(fm_test_alloc_count(), before);
	free(buf);
}

static void
test_body_garbage(void **state)
{
	static const uint8_t truncated_varint[] = { 0x08, 0xff, 0xff };
	static const uint8_t bad_wire_type[] = { 0x0d, 1, 2, 3, 4 };
	static const uint8_t long_length[] = { 0x2a, 0x7f, 'x' };
	static const uint8_t field_zero[] = { 0x00, 0x01 };
	static const uint8_t group[] = { 0x0b, 0x0c };
	static const uint8_t text[] = "{\"round\": 1}";

	decode_all_expect(truncated_varint, sizeof(truncated_varint), -EBADMSG);
	decode_all_expect(bad_wire_type, sizeof(bad_wire_type), -EBADMSG);
	decode_all_expect(long_length, sizeof(long_length), -EBADMSG);
	decode_all_expect(field_zero, sizeof(field_zero), -EBADMSG);
	decode_all_expect(group, sizeof(group), -EBADMSG);
	decode_all_expect(text, sizeof(text) - 1, -EBADMSG);
}

/* Every allocation of every encoder and decoder may fail: -ENOMEM, the
 * result zeroed, nothing leaked (ASan). */
static void
test_body_enomem(void **state)
{
	fm_proto_hello h = sample_hello(), ho;
	fm_proto_round rd = sample_round(), ro;
	fm_proto_update u = sample_update(), uo;
	fm_proto_verdict v = { .round = 3, .reason = FM_PROTO_REASON_NORM }, vo;
	uint8_t *bufs[4] = { NULL }, *buf = NULL;
	size_t lens[4] = { 0 }, len = 0;
	int r;

	for (int which = 0; which < 4; which++) {
		fm_test_alloc_fail_after(0);
		switch (which) {
		case 0:
			r = fm_proto_hello_encode(&h, &buf, &len);
			break;
		case 1:
			r = fm_proto_round_encode(&rd, &buf, &len);
			break;
		case 2:
			r = fm_proto_update_encode(&u, &buf, &len);
			break;
		default:
			r = fm_proto_verdict_encode(&v, &buf, &len);
		}
		fm_test_alloc_fail_after(-1);
		assert_int_equal(r, -ENOMEM);
		assert_null(buf);
	}
	assert_int_equal(fm_proto_hello_encode(&h, &bufs[0], &lens[0]), 0);
	assert_int_equal(fm_proto_round_encode(&rd, &bufs[1], &lens[1]), 0);
	assert_int_equal(fm_proto_update_encode(&u, &bufs[2], &lens[2]), 0);
	assert_int_equal(fm_proto_verdict_encode(&v, &bufs[3], &lens[3]), 0);

	for (int which = 0; which < 4; which++) {
		int i;

		for (i = 0;; i++) {
			fm_test_alloc_fail_after(i);
			switch (which) {
			case 0:
				memset(&ho, 0x5a, sizeof(ho));
				r = fm_proto_hello_decode(
				    bufs[0], lens[0], &ho);
				break;
			case 1:
				memset(&ro, 0x5a, sizeof(ro));
				r = fm_proto_round_decode(
				    bufs[1], lens[1], &ro);
				break;
			case 2:
				memset(&uo, 0x5a, sizeof(uo));
				r = fm_proto_update_decode(
				    bufs[2], lens[2], &uo);
				break;
			default:
				memset(&vo, 0x5a, sizeof(vo));
				r = fm_proto_verdict_decode(
				    bufs[3], lens[3], &vo);
			}
			fm_test_alloc_fail_after(-1);
			if (r == 0)
				break;
			assert_int_equal(r, -ENOMEM);
			switch (which) {
			case 0:
				assert_true(raw_is_zero(&ho, sizeof(ho)));
				break;
			case 1:
				assert_true(raw_is_zero(&ro, sizeof(ro)));
				break;
			case 2:
				assert_true(raw_is_zero(&uo, sizeof(uo)));
				break;
			default:
				assert_true(raw_is_zero(&vo, sizeof(vo)));
			}
		}
		/* The message itself, and the array or string if any. */
		assert_true(i >= (which == 3 ? 1 : 2));
	}
	assert_hello_equal(&ho, &h);
	assert_round_equal(&ro, &rd);
	assert_update_equal(&uo, &u);
	assert_verdict_equal(&vo, &v);
	fm_proto_round_clear(&ro);
	fm_proto_update_clear(&uo);
	for (int i = 0; i < 4; i++)
		free(bufs[i]);
}

/* The sealed refusal of an ERROR: round trip, and what both sides
 * refuse (no reason, a floor with another reason than REPLAY). */
static void
test_body_refusal(void **state)
{
	fm_proto_refusal m = { .reason = FM_PROTO_REASON_REPLAY,
		.seq_floor = 1ull << 40 };
	fm_proto_refusal d;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(fm_proto_refusal_encode(&m, &buf, &len), 0);
	assert_int_equal(fm_proto_refusal_decode(buf, len, &d), 0);
	assert_int_equal(d.reason, m.reason);
	assert_int_equal(d.seq_floor, m.seq_floor);
	free(buf);
	m = (fm_proto_refusal) { .reason = FM_PROTO_REASON_CLOCK };
	assert_int_equal(fm_proto_refusal_encode(&m, &buf, &len), 0);
	assert_int_equal(fm_proto_refusal_decode(buf, len, &d), 0);
	assert_int_equal(d.reason, FM_PROTO_REASON_CLOCK);
	free(buf);
	m.seq_floor = 5;
	assert_int_equal(fm_proto_refusal_encode(&m, &buf, &len), -EINVAL);
	m = (fm_proto_refusal) { .reason = FM_PROTO_OK };
	assert_int_equal(fm_proto_refusal_encode(&m, &buf, &len), -EINVAL);
	m.reason = FM_PROTO_REASON_COUNT;
	assert_int_equal(fm_proto_refusal_encode(&m, &buf, &len), -EINVAL);
	/* An empty message is reason 0: refused. */
	assert_int_equal(
	    fm_proto_refusal_decode((const uint8_t *)"", 0, &d), -EBADMSG);
	/* reason CLOCK (7) with a floor: refused, *ret zeroed */
	assert_int_equal(
	    fm_proto_refusal_decode((const uint8_t *)"\x08\x07\x10\x05", 4, &d),
	    -EBADMSG);
	assert_int_equal(d.reason, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_hello_round_trip),
		cmocka_unit_test(test_body_hello_encode_rejects),
		cmocka_unit_test(test_body_hello_decode_rejects),
		cmocka_unit_test(test_body_round_round_trip),
		cmocka_unit_test(test_body_round_encode_rejects),
		cmocka_unit_test(test_body_round_decode_rejects),
		cmocka_unit_test(test_body_update_round_trip),
		cmocka_unit_test(test_body_update_at_the_cap),
		cmocka_unit_test(test_body_update_encode_rejects),
		cmocka_unit_test(test_body_update_decode_rejects),
		cmocka_unit_test(test_body_update_unpacked_params),
		cmocka_unit_test(test_body_verdict_round_trip),
		cmocka_unit_test(test_body_verdict_rejects),
		cmocka_unit_test(test_body_cap_refused_unread),
		cmocka_unit_test(test_body_garbage),
		cmocka_unit_test(test_body_enomem),
		cmocka_unit_test(test_body_refusal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
