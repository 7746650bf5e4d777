/*
 * Tests for aggregator/dispatch.c: the handlers cover exactly the request
 * rows of proto's message table, and the table's phases decide when a
 * request is taken (ROUND_CLOSED, in a sealed VERDICT, as ever).
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

#define N 4

static float p1[N] = { 1, 2, 3, 4 };

static void
test_dispatch_handlers_match_table(void **state)
{
	unsigned requests = 0;

	(void)state;
	assert_true(fmi_agg_handlers_match_table());
	for (uint32_t type = 0; type < FM_PROTO_TYPE_END; type++) {
		const fm_proto_msg *row = fm_proto_msg_get(type);

		if (!fm_proto_msg_is_request(row)) {
			assert_null(fmi_agg_handlers[type].answer);
			continue;
		}
		assert_non_null(fmi_agg_handlers[type].answer);
		requests++;
	}
	assert_int_equal(requests, 2); /* HELLO and UPDATE */
}

/* The round in IDLE after it published: the UPDATE row does not allow
 * IDLE, so an update for the very round that just closed is ROUND_CLOSED
 * (and not what the handler would say: STALE_BASE). */
static void
test_dispatch_phase_refused(void **state)
{
	const fm_proto_msg *update = fm_proto_msg_get(FM_PROTO_UPDATE);
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_proto_update u;
	fm_proto_verdict v;
	fm_proto_round m;
	fm_agg_status st;

	(void)state;
	assert_true(fm_proto_msg_is_allowed_in(update, FM_PROTO_PHASE_COLLECT));
	assert_false(fm_proto_msg_is_allowed_in(update, FM_PROTO_PHASE_IDLE));
	fleet_init(&f, 2);
	test_config(&c);
	a = agg_start(&c, &f, 2);
	u = update_of(1, 0, 10, p1, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0, &v), FM_PROTO_OK);
	/* At the deadline round 1 is published: IDLE, still round 1. */
	assert_int_equal(do_update(a, &f, 1, &u, T0 + 10000, &v),
	    FM_PROTO_REASON_ROUND_CLOSED);
	assert_int_equal(v.round, 1);
	assert_false(v.clipped);
	assert_true(v.poll_ms > 0);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
	assert_int_equal(st.round, 1);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.rejections[FM_PROTO_REASON_ROUND_CLOSED], 1);
	/* The body's own check comes before the phase: still MALFORMED. */
	u = update_of(1, 0, 0, p1, N);
	assert_int_equal(
	    do_update(a, &f, 1, &u, T0 + 10000, &v), FM_PROTO_REASON_MALFORMED);
	/* HELLO is taken in every phase: a ROUND saying IDLE. */
	assert_true(fm_proto_msg_is_allowed_in(
	    fm_proto_msg_get(FM_PROTO_HELLO), FM_PROTO_PHASE_IDLE));
	do_hello(a, &f, 1, 1, T0 + 10000, &m);
	assert_int_equal(m.phase, FM_PROTO_PHASE_IDLE);
	assert_int_equal(m.round, 1);
	fm_proto_round_clear(&m);
	/* The next round takes updates again. */
	u = update_of(2, 1, 10, p1, N);
	assert_int_equal(do_update(a, &f, 1, &u, T0 + 11000, &v), FM_PROTO_OK);
	fm_agg_free(a);
	fleet_free(&f);
}

/* A type the table has but the aggregator is not sent (a reply) is
 * UNEXPECTED, unsealed, counted (test-handle: ROUND and ERROR). */
static void
test_dispatch_type_refused(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	uint8_t *req, *reply = NULL;
	size_t len, reply_len;
	fm_agg_status st;
	fm_proto_envelope e;

	(void)state;
	fleet_init(&f, 1);
	test_config(&c);
	a = agg_start(&c, &f, 1);
	req = seal_from(
	    &f, 0, FM_PROTO_VERDICT, 1, (const uint8_t *)"x", 1, T0, &len);
	assert_int_equal(do_raw(a, req, len, T0, &reply, &reply_len),
	    FM_PROTO_REASON_UNEXPECTED);
	assert_int_equal(
	    error_reason(reply, reply_len), FM_PROTO_REASON_UNEXPECTED);
	/* The ERROR echoes the request's header. */
	assert_int_equal(fm_proto_envelope_decode(reply, reply_len, &e), 0);
	assert_true(e.h.recipient == f.id[0]);
	assert_true(e.h.seq == f.seq[0]);
	fm_proto_envelope_clear(&e);
	free(reply);
	free(req);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.rejections[FM_PROTO_REASON_UNEXPECTED], 1);
	fm_agg_free(a);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dispatch_handlers_match_table),
		cmocka_unit_test(test_dispatch_phase_refused),
		cmocka_unit_test(test_dispatch_type_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
