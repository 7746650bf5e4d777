/*
 * Tests for proto/msg.c, the message table: its rows are consistent
 * (types, names, replies, phases), every row's codec round-trips and
 * writes the same bytes as the typed encoder, and the envelope takes
 * exactly the types the table has.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/proto/raw.h"

static float params[] = { 0.5f, -1.25f, 3.0e-7f, -0.0f };
#define N_PARAMS ((uint32_t)FM_ELEMENTSOF(params))

/* The wire's type numbers and names: stable. */
static const struct {
	uint32_t type;
	const char *name;
	uint32_t reply_type;
} expected[] = {
	{ FM_PROTO_HELLO, "hello", FM_PROTO_ROUND },
	{ FM_PROTO_ROUND, "round", 0 },
	{ FM_PROTO_UPDATE, "update", FM_PROTO_VERDICT },
	{ FM_PROTO_VERDICT, "verdict", 0 },
	{ FM_PROTO_ERROR, "error", 0 },
};

static void
test_msg_rows(void **state)
{
	size_t rows = 0;

	(void)state;
	assert_int_equal(FM_PROTO_HELLO, 1);
	assert_int_equal(FM_PROTO_ERROR, 5);
	assert_int_equal(FM_PROTO_TYPE_END, 6);
	for (uint32_t type = 0; type < FM_PROTO_TYPE_END; type++) {
		const fm_proto_msg *m = fm_proto_msg_get(type);
		const fm_proto_msg *reply;

		if (!m)
			continue;
		rows++;
		assert_int_equal(m->type, type);
		if (!fm_proto_msg_is_request(m)) {
			assert_int_equal(m->phases, 0);
			continue;
		}
		/* A request has a body and a reply with one; it is taken in
		 * some phase. */
		assert_non_null(m->codec);
		assert_int_not_equal(m->phases, 0);
		reply = fm_proto_msg_get(m->reply_type);
		assert_non_null(reply);
		assert_false(fm_proto_msg_is_request(reply));
		assert_non_null(reply->codec);
	}
	assert_int_equal(rows, FM_ELEMENTSOF(expected));
	for (size_t i = 0; i < FM_ELEMENTSOF(expected); i++) {
		const fm_proto_msg *m = fm_proto_msg_get(expected[i].type);

		assert_non_null(m);
		assert_string_equal(m->name, expected[i].name);
		assert_int_equal(m->reply_type, expected[i].reply_type);
		/* Only ERROR has no body: it carries a reason in the clear. */
		assert_true(
		    (m->codec == NULL) == (expected[i].type == FM_PROTO_ERROR));
		if (m->codec)
			assert_true(m->codec->size <= sizeof(fm_proto_body));
	}
	assert_null(fm_proto_msg_get(0));
	assert_null(fm_proto_msg_get(FM_PROTO_TYPE_END));
	assert_null(fm_proto_msg_get(UINT32_MAX));
	assert_false(fm_proto_msg_is_request(NULL));
}

static void
test_msg_phases(void **state)
{
	const fm_proto_msg *hello = fm_proto_msg_get(FM_PROTO_HELLO);
	const fm_proto_msg *update = fm_proto_msg_get(FM_PROTO_UPDATE);
	const fm_proto_msg *round = fm_proto_msg_get(FM_PROTO_ROUND);

	(void)state;
	assert_true(fm_proto_msg_is_allowed_in(hello, FM_PROTO_PHASE_IDLE));
	assert_true(fm_proto_msg_is_allowed_in(hello, FM_PROTO_PHASE_COLLECT));
	assert_false(fm_proto_msg_is_allowed_in(update, FM_PROTO_PHASE_IDLE));
	assert_true(fm_proto_msg_is_allowed_in(update, FM_PROTO_PHASE_COLLECT));
	/* Replies are never taken; phases out of range never allow. */
	assert_false(fm_proto_msg_is_allowed_in(round, FM_PROTO_PHASE_COLLECT));
	assert_false(fm_proto_msg_is_allowed_in(NULL, FM_PROTO_PHASE_COLLECT));
	assert_false(fm_proto_msg_is_allowed_in(hello, 0));
	assert_false(fm_proto_msg_is_allowed_in(hello, 31));
	assert_false(fm_proto_msg_is_allowed_in(hello, 32));
	assert_false(fm_proto_msg_is_allowed_in(hello, UINT32_MAX));
}

/* A sample of each body, by type. */
static void
sample(uint32_t type, fm_proto_body *ret)
{
	memset(ret, 0, sizeof(*ret));
	switch (type) {
	case FM_PROTO_HELLO:
		ret->hello = (fm_proto_hello) { .schema_version = 3,
			.layout_id = 0xdeadbeef,
			.n_params = 123456,
			.have_version = 77,
			.agent_version = "0.1.0-12-gabcdef" };
		break;
	case FM_PROTO_ROUND:
		ret->round = (fm_proto_round) { .round = 9,
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
		break;
	case FM_PROTO_UPDATE:
		ret->update = (fm_proto_update) { .round = 9,
			.base_version = 8,
			.layout_id = 0xdeadbeef,
			.kind = FM_PROTO_UPDATE_DELTA,
			.samples = 1ull << 33,
			.loss = 0.125f,
			.n_params = N_PARAMS,
			.params = params };
		break;
	case FM_PROTO_VERDICT:
		ret->verdict = (fm_proto_verdict) { .round = 9,
			.reason = FM_PROTO_OK,
			.clipped = true,
			.poll_ms = 4000 };
		break;
	default:
		fail_msg("no sample for type %u", type);
	}
}

/* What the typed encoder of type writes for m. */
static int
typed_encode(
    uint32_t type, const fm_proto_body *m, uint8_t **ret_buf, size_t *ret_len)
{
	switch (type) {
	case FM_PROTO_HELLO:
		return fm_proto_hello_encode(&m->hello, ret_buf, ret_len);
	case FM_PROTO_ROUND:
		return fm_proto_round_encode(&m->round, ret_buf, ret_len);
	case FM_PROTO_UPDATE:
		return fm_proto_update_encode(&m->update, ret_buf, ret_len);
	case FM_PROTO_VERDICT:
		return fm_proto_verdict_encode(&m->verdict, ret_buf, ret_len);
	default:
		return -EINVAL;
	}
}

/* Every row with a body: the codec writes what the typed encoder does,
 * decodes it back to a struct that encodes to the same bytes, and its
 * clear frees (ASan) and zeroes; a byte that is no body fails. */
static void
test_msg_codecs_round_trip(void **state)
{
	size_t bodies = 0;

	(void)state;
	for (uint32_t type = 0; type < FM_PROTO_TYPE_END; type++) {
		const fm_proto_msg *m = fm_proto_msg_get(type);
		fm_proto_body in, out, zero;
		uint8_t *buf = NULL, *typed = NULL, *again = NULL;
		size_t len = 0, typed_len = 0, again_len = 0;

		if (!m || !m->codec)
			continue;
		bodies++;
		sample(type, &in);
		assert_int_equal(m->codec->encode(&in, &buf, &len), 0);
		assert_int_equal(
		    typed_encode(type, &in, &typed, &typed_len), 0);
		assert_int_equal(len, typed_len);
		assert_memory_equal(buf, typed, len);
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(m->codec->decode(buf, len, &out), 0);
		assert_int_equal(m->codec->encode(&out, &again, &again_len), 0);
		assert_int_equal(again_len, len);
		assert_memory_equal(again, buf, len);
		m->codec->clear(&out);
		memset(&zero, 0, sizeof(zero));
		assert_memory_equal(&out, &zero, m->codec->size);
		m->codec->clear(&out); /* idempotent */
		m->codec->clear(NULL);
		/* A truncated varint is no body of any type. */
		memset(&out, 0x5a, sizeof(out));
		assert_int_equal(
		    m->codec->decode((const uint8_t *)"\x08", 1, &out),
		    -EBADMSG);
		assert_memory_equal(&out, &zero, m->codec->size);
		free(again);
		free(typed);
		free(buf);
	}
	assert_int_equal(bodies, 4);
}

static int
decode_raw_type(uint32_t type, fm_proto_envelope *e)
{
	static uint8_t sealed[48] = { 1 };
	Fedmon__V1__Envelope m = FEDMON__V1__ENVELOPE__INIT;
	uint8_t *buf;
	size_t len;
	int r;

	m.version = FM_PROTO_VERSION;
	m.type = type;
	m.sender = 1;
	m.recipient = 2;
	m.seq = 3;
	if (fm_proto_msg_get(type) && !fm_proto_msg_get(type)->codec) {
		m.error = FM_PROTO_REASON_REPLAY;
	} else {
		m.sealed.data = sealed;
		m.sealed.len = sizeof(sealed);
	}
	buf = raw_pack(&m.base, &len);
	r = fm_proto_envelope_decode(buf, len, e);
	free(buf);
	return r;
}

/* The envelope takes the types the table has and refuses the others,
 * on both sides. */
static void
test_msg_envelope_takes_table_types(void **state)
{
	static const uint8_t sealed[48] = { 1 };
	static const uint32_t types[] = { 0, 1, 2, 3, 4, 5, 6, 7, 64, 255,
		UINT32_MAX };

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(types); i++) {
		const fm_proto_msg *row = fm_proto_msg_get(types[i]);
		fm_proto_header h = { .version = FM_PROTO_VERSION,
			.type = types[i],
			.sender = 1,
			.recipient = 2,
			.seq = 3 };
		bool body = !row || row->codec;
		fm_proto_envelope e;
		uint8_t *buf = NULL;
		size_t len = 0;

		assert_int_equal(
		    fm_proto_envelope_encode(&h,
		        body ? FM_PROTO_OK : FM_PROTO_REASON_REPLAY,
		        body ? sealed : NULL, body ? sizeof(sealed) : 0, &buf,
		        &len),
		    row ? 0 : -EINVAL);
		free(buf);
		assert_int_equal(
		    decode_raw_type(types[i], &e), row ? 0 : -EBADMSG);
		if (row)
			assert_int_equal(e.h.type, types[i]);
		else
			assert_true(raw_is_zero(&e, sizeof(e)));
		fm_proto_envelope_clear(&e);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_msg_rows),
		cmocka_unit_test(test_msg_phases),
		cmocka_unit_test(test_msg_codecs_round_trip),
		cmocka_unit_test(test_msg_envelope_takes_table_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
