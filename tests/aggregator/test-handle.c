/*
 * Tests for aggregator/handle.c: HELLO and UPDATE answered with real
 * sealed envelopes, every refusal with its reason, and the good agent
 * served right after each bad request.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg-test.h"
#include "fed/fed.h"
#include "tests/support/alloc-hook.h"

#define N 4

static float p1[N] = { 1, 2, 3, 4 };

/* A good agent (index good) still gets its update accepted. */
static void
assert_good_accepted(fm_agg *a, fleet *f, size_t good, int64_t now)
{
	fm_proto_update u = update_of(1, 0, 10, p1, N);
	fm_proto_verdict v;

	assert_int_equal(do_update(a, f, good, &u, now, &v), FM_PROTO_OK);
}

static void
test_handle_hello_round(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_round m;
	unsigned events[16] = { 0 };
	fm_agg_status st;

	fleet_init(&f, 2);
	test_config(&c);
	c.prox_mu = 0.25f;
	c.local_steps = 7;
	a = agg_start(&c, &f, 2);
	fm_agg_set_event_handler(a, count_events, events);
	do_hello(a, &f, 0, 0, T0, &m);
	assert_int_equal(m.round, 1);
	assert_int_equal(m.phase, FM_PROTO_PHASE_COLLECT);
	assert_int_equal(m.version, 0);
	assert_int_equal(m.layout_id, 0);
	assert_int_equal(m.n_params, 0);
	assert_null(m.params);
	assert_true(m.prox_mu == 0.25f);
	assert_int_equal(m.local_steps, 7);
	assert_int_equal(m.deadline_ms, 10000);
	assert_int_equal(m.poll_ms, 5000);
	assert_false(m.contributed);
	fm_proto_round_clear(&m);
	/* A second HELLO later: the deadline counts down; one JOINED. */
	do_hello(a, &f, 0, 0, T0 + 8000, &m);
	assert_int_equal(m.deadline_ms, 2000);
	assert_int_equal(m.poll_ms, 2000);
	fm_proto_round_clear(&m);
	assert_int_equal(events[FM_AGG_EVENT_JOINED], 1);
	assert_int_equal(events[FM_AGG_EVENT_ROUND_OPENED], 1);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.round, 1);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);
	assert_int_equal(st.requests, 2);
	assert_int_equal(st.enrolled, 2);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_handle_hello_sends_model_when_missing(void **state)
{
	float p2[N] = { 3, 4, 5, 6 };
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_round m;
	fm_proto_update u;
	fm_proto_verdict v;

	fleet_init(&f, 2);
	test_config(&c);
	a = agg_start(&c, &f, 2);
	u = update_of(1, 0, 1, p1, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0, &v), FM_PROTO_OK);
	assert_false(v.clipped);
	do_hello(a, &f, 0, 0, T0 + 1, &m);
	assert_true(m.contributed);
	assert_null(m.params);
	fm_proto_round_clear(&m);
	u = update_of(1, 0, 1, p2, N);
	assert_int_equal(do_update(a, &f, 1, &u, T0 + 2, &v), FM_PROTO_OK);
	/* Quorum of 2: published, IDLE until T0 + 2 + interval. */
	do_hello(a, &f, 0, 0, T0 + 3, &m);
	assert_int_equal(m.phase, FM_PROTO_PHASE_IDLE);
	assert_int_equal(m.version, 1);
	assert_int_equal(m.layout_id, LAYOUT);
	assert_int_equal(m.n_params, N);
	assert_non_null(m.params);
	for (int i = 0; i < N; i++)
		assert_true(m.params[i] == (p1[i] + p2[i]) / 2);
	assert_int_equal(m.poll_ms, 999);
	assert_false(m.contributed);
	fm_proto_round_clear(&m);
	/* The agent holding version 1 gets no parameters. */
	do_hello(a, &f, 0, 1, T0 + 4, &m);
	assert_null(m.params);
	assert_int_equal(m.n_params, N);
	fm_proto_round_clear(&m);
	fm_agg_free(a);
	fleet_free(&f);
}

/* Flips one byte in the middle of the sealed body of envelope req. */
static void
flip_sealed_byte(uint8_t *req, size_t len)
{
	fm_proto_envelope e;
	uint8_t *at;

	assert_int_equal(fm_proto_envelope_decode(req, len, &e), 0);
	at = memmem(req, len, e.sealed, e.sealed_len);
	assert_non_null(at);
	at[e.sealed_len / 2] ^= 0x01;
	fm_proto_envelope_clear(&e);
}

/* Sends req and expects an unsealed ERROR with reason. */
static void
expect_error(
    fm_agg *a, const uint8_t *req, size_t len, int64_t now, uint32_t reason)
{
	uint8_t *reply = NULL;
	size_t reply_len;

	assert_int_equal(
	    do_raw(a, req, len, now, &reply, &reply_len), (int)reason);
	assert_int_equal(error_reason(reply, reply_len), reason);
	free(reply);
}

static void
test_handle_envelope_refusals(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	uint8_t *req, *reply = NULL, *body = NULL;
	size_t len, body_len;
	fm_proto_header h;
	fm_agg_status st;
	fm_proto_update u = update_of(1, 0, 10, p1, N);
	fm_proto_verdict v;

	/* agents 0, 1, 2 enrolled; 3 is not. Agent 0 is the good one. */
	fleet_init(&f, 4);
	test_config(&c);
	c.quorum = 5;
	c.max_message_bytes = 4096;
	a = agg_start(&c, &f, 3);

	/* BAD_SEAL: one byte in the middle of the sealed body flipped. */
	req = make_update(&f, 1, &u, T0, &len);
	flip_sealed_byte(req, len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_BAD_SEAL);
	free(req);
	assert_good_accepted(a, &f, 0, T0);

	/* UNKNOWN_KEY: a well-sealed update from an unenrolled key. */
	req = make_update(&f, 3, &u, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_UNKNOWN_KEY);
	free(req);

	/* REPLAY: agent 1's good update, then the same bytes again. */
	req = make_update(&f, 1, &u, T0, &len);
	assert_int_equal(do_raw(a, req, len, T0, &reply, &len), FM_PROTO_OK);
	free(reply);
	free(req);
	f.seq[1]--; /* the very same sequence, freshly sealed */
	req = make_update(&f, 1, &u, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_REPLAY);
	free(req);
	f.seq[1] -= 2; /* an older one */
	req = make_hello(&f, 1, 0, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_REPLAY);
	free(req);
	f.seq[1] += 2;

	/* TOO_LARGE: over max_message_bytes, before anything is read. */
	{
		float big[2000] = { 0 };
		fm_proto_update ub = update_of(1, 0, 1, big, 2000);

		req = make_update(&f, 2, &ub, T0, &len);
		assert_true(len > 4096);
		expect_error(a, req, len, T0, FM_PROTO_REASON_TOO_LARGE);
		free(req);
	}

	/* MALFORMED: garbage that is not an envelope. */
	{
		uint8_t junk[64];

		memset(junk, 0xff, sizeof(junk));
		expect_error(
		    a, junk, sizeof(junk), T0, FM_PROTO_REASON_MALFORMED);
		expect_error(a, junk, 0, T0, FM_PROTO_REASON_MALFORMED);
	}

	/* RECIPIENT: sealed to this aggregator but addressed elsewhere. */
	h = (fm_proto_header) { .version = FM_PROTO_VERSION,
		.type = FM_PROTO_HELLO,
		.sender = f.id[2],
		.recipient = f.agg_id ^ 1,
		.seq = ++f.seq[2],
		.timestamp_ms = T0 };
	assert_int_equal(
	    fm_fed_seal(f.sess[2], &h, (const uint8_t *)"", 0, &req, &len), 0);
	expect_error(a, req, len, T0, FM_PROTO_REASON_RECIPIENT);
	free(req);

	/* CLOCK: ten minutes late, and ten minutes early. */
	req = make_hello(&f, 2, 0, T0 - 600000, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_CLOCK);
	free(req);
	req = make_hello(&f, 2, 0, T0 + 600000, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_CLOCK);
	free(req);

	/* VERSION: a protocol this aggregator does not speak. */
	h.version = FM_PROTO_VERSION + 1;
	h.recipient = f.agg_id;
	h.seq = ++f.seq[2];
	assert_int_equal(
	    fm_fed_seal(f.sess[2], &h, (const uint8_t *)"x", 1, &req, &len), 0);
	expect_error(a, req, len, T0, FM_PROTO_REASON_VERSION);
	free(req);

	/* UNEXPECTED: a ROUND sealed by an agent, and an ERROR. */
	req = seal_from(
	    &f, 2, FM_PROTO_ROUND, 1, (const uint8_t *)"x", 1, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_UNEXPECTED);
	free(req);
	h.version = FM_PROTO_VERSION;
	assert_int_equal(fm_fed_error_encode(&h, f.id[2],
	                     FM_PROTO_REASON_MALFORMED, T0, &req, &len),
	    0);
	expect_error(a, req, len, T0, FM_PROTO_REASON_UNEXPECTED);
	free(req);

	/* MALFORMED body: a HELLO whose body is not a HELLO (unsealed
	 * error), an UPDATE whose body is not an UPDATE (sealed verdict). */
	req = seal_from(
	    &f, 2, FM_PROTO_HELLO, 0, (const uint8_t *)"\xff\xff", 2, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_MALFORMED);
	free(req);
	req = seal_from(&f, 2, FM_PROTO_UPDATE, 1, (const uint8_t *)"\xff\xff",
	    2, T0, &len);
	assert_int_equal(
	    do_raw(a, req, len, T0, &reply, &len), FM_PROTO_REASON_MALFORMED);
	body = open_reply(&f, 2, reply, len, FM_PROTO_VERDICT, &body_len);
	assert_int_equal(fm_proto_verdict_decode(body, body_len, &v), 0);
	assert_int_equal(v.reason, FM_PROTO_REASON_MALFORMED);
	free(body);
	free(reply);
	free(req);

	/* After all that, agent 2 still contributes. */
	assert_good_accepted(a, &f, 2, T0);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.participants, 3);
	assert_int_equal(st.accepted, 3);
	assert_int_equal(st.rejections[FM_PROTO_REASON_BAD_SEAL], 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_UNKNOWN_KEY], 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_REPLAY], 2);
	assert_int_equal(st.rejections[FM_PROTO_REASON_TOO_LARGE], 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_MALFORMED], 4);
	assert_int_equal(st.rejections[FM_PROTO_REASON_RECIPIENT], 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_CLOCK], 2);
	assert_int_equal(st.rejections[FM_PROTO_REASON_VERSION], 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_UNEXPECTED], 2);
	assert_int_equal(st.rejections[FM_PROTO_OK], 0);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_handle_update_refusals(void **state)
{
	float p2[N + 1] = { 0 };
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_update u;
	fm_proto_verdict v;
	fm_agg_status st;

	fleet_init(&f, 3);
	test_config(&c);
	c.quorum = 3;
	a = agg_start(&c, &f, 3);
	/* Round 1 is open: round 2 and round 0 are not. */
	u = update_of(2, 0, 10, p1, N);
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_ROUND_CLOSED);
	assert_int_equal(v.round, 1);
	u = update_of(0, 0, 10, p1, N);
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_ROUND_CLOSED);
	/* No samples, no parameters. */
	u = update_of(1, 0, 0, p1, N);
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_MALFORMED);
	u = update_of(1, 0, 10, NULL, 0);
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_MALFORMED);
	/* Trained from a version that does not exist. */
	u = update_of(1, 3, 10, p1, N);
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_STALE_BASE);
	/* Layout 0 is none. */
	u = update_of(1, 0, 10, p1, N);
	u.layout_id = 0;
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_LAYOUT);
	/* The first accepted update fixes the layout ... */
	u = update_of(1, 0, 10, p1, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0, &v), FM_PROTO_OK);
	assert_int_equal(v.round, 1);
	assert_int_equal(v.poll_ms, 5000);
	/* ... and once in is enough. */
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_DUPLICATE);
	/* Another layout id, or another length. */
	u.layout_id = LAYOUT + 1;
	assert_int_equal(
	    do_update(a, &f, 1, &u, T0, &v), FM_PROTO_REASON_LAYOUT);
	u = update_of(1, 0, 10, p2, N + 1);
	assert_int_equal(
	    do_update(a, &f, 1, &u, T0, &v), FM_PROTO_REASON_LAYOUT);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.layout_id, LAYOUT);
	assert_int_equal(st.n_params, N);
	assert_int_equal(st.participants, 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_ROUND_CLOSED], 2);
	assert_int_equal(st.rejections[FM_PROTO_REASON_MALFORMED], 2);
	assert_int_equal(st.rejections[FM_PROTO_REASON_STALE_BASE], 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_LAYOUT], 3);
	assert_int_equal(st.rejections[FM_PROTO_REASON_DUPLICATE], 1);
	/* At the deadline the round closes with one update (min 1). */
	u = update_of(1, 0, 10, p1, N);
	assert_int_equal(do_update(a, &f, 1, &u, T0 + 10000, &v),
	    FM_PROTO_REASON_ROUND_CLOSED);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_handle_pinned_layout(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_update u;
	fm_proto_verdict v;
	fm_proto_round m;

	fleet_init(&f, 1);
	test_config(&c);
	c.layout_id = LAYOUT + 7;
	a = agg_start(&c, &f, 1);
	do_hello(a, &f, 0, 0, T0, &m);
	assert_int_equal(m.layout_id, LAYOUT + 7);
	assert_int_equal(m.n_params, 0);
	fm_proto_round_clear(&m);
	u = update_of(1, 0, 10, p1, N);
	assert_int_equal(
	    do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_LAYOUT);
	u.layout_id = LAYOUT + 7;
	assert_int_equal(do_update(a, &f, 0, &u, T0, &v), FM_PROTO_OK);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_handle_norm_clip_and_refuse(void **state)
{
	float big[N] = { 30, 0, 40, 0 }; /* norm 50 */
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_update u;
	fm_proto_verdict v;
	fm_agg_model m;
	fm_agg_status st;

	fleet_init(&f, 2);
	test_config(&c);
	c.quorum = 1;
	c.clip_norm = 5;
	a = agg_start(&c, &f, 2);
	/* Round 1, no global: the params themselves are the delta. */
	u = update_of(1, 0, 10, big, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0, &v), FM_PROTO_OK);
	assert_true(v.clipped);
	assert_int_equal(fm_agg_model_get(a, &m), 0);
	assert_int_equal(m.version, 1);
	assert_float_equal(m.params[0], 3, 1e-6);
	assert_float_equal(m.params[1], 0, 1e-6);
	assert_float_equal(m.params[2], 4, 1e-6);
	fm_agg_model_clear(&m);
	/* Round 2 opens after the interval: a small delta goes in as is. */
	{
		float ok[N] = { 3, 1, 4, 0 };

		u = update_of(2, 1, 10, ok, N);
		assert_int_equal(
		    do_update(a, &f, 1, &u, T0 + 1000, &v), FM_PROTO_OK);
		assert_false(v.clipped);
		assert_int_equal(fm_agg_model_get(a, &m), 0);
		assert_int_equal(m.version, 2);
		assert_float_equal(m.params[1], 1, 1e-6);
		fm_agg_model_clear(&m);
	}
	fm_agg_free(a);

	/* refuse: NORM, and the round stays open for the others. */
	c.norm_action = FM_AGG_NORM_REFUSE;
	a = agg_start(&c, &f, 2);
	u = update_of(1, 0, 10, big, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0, &v), FM_PROTO_REASON_NORM);
	assert_false(v.clipped);
	u = update_of(1, 0, 10, p1, N); /* norm sqrt(30) > 5, also refused */
	assert_int_equal(do_update(a, &f, 1, &u, T0, &v), FM_PROTO_REASON_NORM);
	{
		float small[N] = { 1, 1, 1, 1 };

		u = update_of(1, 0, 10, small, N);
		assert_int_equal(do_update(a, &f, 1, &u, T0, &v), FM_PROTO_OK);
	}
	fm_agg_status_get(a, &st);
	assert_int_equal(st.rejections[FM_PROTO_REASON_NORM], 2);
	assert_int_equal(st.version, 1);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_handle_keyring_replace(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_round m;
	uint8_t *req;
	size_t len;
	fm_agg_status st;

	fleet_init(&f, 2);
	test_config(&c);
	a = agg_start(&c, &f, 2);
	do_hello(a, &f, 1, 0, T0, &m);
	fm_proto_round_clear(&m);
	/* Agent 1 removed: refused from the next request on. */
	fm_agg_keyring_replace(a, fleet_keyring(&f, 1));
	req = make_hello(&f, 1, 0, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_UNKNOWN_KEY);
	free(req);
	do_hello(a, &f, 0, 0, T0, &m);
	fm_proto_round_clear(&m);
	/* Enrolled again: its replay mark survived the reload. */
	fm_agg_keyring_replace(a, fleet_keyring(&f, 2));
	f.seq[1] = 0; /* its first sequence again */
	req = make_hello(&f, 1, 0, T0, &len);
	expect_error(a, req, len, T0, FM_PROTO_REASON_REPLAY);
	free(req);
	do_hello(a, &f, 1, 0, T0, &m);
	fm_proto_round_clear(&m);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.enrolled, 2);
	assert_int_equal(st.peers, 2);
	fm_agg_free(a);
	fleet_free(&f);
}

/* Every allocation in a request failing in turn: the reply is an
 * INTERNAL error or the request's normal answer, or -ENOMEM; nothing
 * leaks (ASan) and the aggregator serves on. */
static void
test_handle_allocation_failures(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_update u;
	fm_proto_verdict v;
	fm_proto_round m;
	int internal = 0;

	fleet_init(&f, 2);
	test_config(&c);
	c.quorum = 2;
	for (int n = 0;; n++) {
		uint8_t *req, *reply = NULL;
		size_t len, reply_len;
		int r;

		a = agg_start(&c, &f, 2);
		u = update_of(1, 0, 10, p1, N);
		req = make_update(&f, 0, &u, T0, &len);
		fm_test_alloc_fail_after(n);
		r = do_raw(a, req, len, T0, &reply, &reply_len);
		fm_test_alloc_fail_after(-1);
		free(req);
		if (r == -ENOMEM) {
			assert_null(reply);
		} else if (r == FM_PROTO_REASON_INTERNAL ||
		    r == FM_PROTO_REASON_MALFORMED) {
			/* protobuf-c reports a failed allocation as a
			 * message it could not unpack. */
			internal++;
			free(reply);
		} else {
			assert_int_equal(r, FM_PROTO_OK);
			free(reply);
			fm_agg_free(a);
			break;
		}
		/* Still serving: agent 1 gets a ROUND. */
		do_hello(a, &f, 1, 0, T0, &m);
		fm_proto_round_clear(&m);
		assert_true(n < 200);
		fm_agg_free(a);
	}
	assert_true(internal > 0);
	/* A HELLO under the same treatment. */
	for (int n = 0;; n++) {
		uint8_t *req, *reply = NULL;
		size_t len, reply_len;
		int r;

		a = agg_start(&c, &f, 2);
		req = make_hello(&f, 0, 0, T0, &len);
		fm_test_alloc_fail_after(n);
		r = do_raw(a, req, len, T0, &reply, &reply_len);
		fm_test_alloc_fail_after(-1);
		free(req);
		free(reply);
		if (r == FM_PROTO_OK) {
			fm_agg_free(a);
			break;
		}
		assert_true(r == -ENOMEM || r == FM_PROTO_REASON_INTERNAL ||
		    r == FM_PROTO_REASON_MALFORMED);
		u = update_of(1, 0, 10, p1, N);
		assert_int_equal(do_update(a, &f, 1, &u, T0, &v), FM_PROTO_OK);
		assert_true(n < 200);
		fm_agg_free(a);
	}
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handle_hello_round),
		cmocka_unit_test(test_handle_hello_sends_model_when_missing),
		cmocka_unit_test(test_handle_envelope_refusals),
		cmocka_unit_test(test_handle_update_refusals),
		cmocka_unit_test(test_handle_pinned_layout),
		cmocka_unit_test(test_handle_norm_clip_and_refuse),
		cmocka_unit_test(test_handle_keyring_replace),
		cmocka_unit_test(test_handle_allocation_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
