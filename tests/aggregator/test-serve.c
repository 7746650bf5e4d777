/*
 * Tests for aggregator/serve.c: fm_agg_serve() over a net/ REP socket on
 * inproc:// (as fedmon-replay runs it): a request served, a wait with
 * nothing to serve, an oversized request dropped and counted, a closed
 * socket.
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

static void
test_serve_inproc(void **state)
{
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_net_options o;
	fm_net_sock *rep = NULL, *req = NULL;
	fm_agg_status st;
	uint8_t *msg, *reply = NULL;
	size_t len, reply_len;
	int64_t now = fm_time_real_ns() / FM_NSEC_PER_MSEC;

	fleet_init(&f, 1);
	test_config(&c);
	a = agg_start(&c, &f, 1);
	fm_net_options_init(&o);
	o.recv_max_bytes = 4096;
	assert_int_equal(fm_net_rep_listen("inproc://agg-serve", &o, &rep), 0);
	assert_int_equal(fm_net_req_dial("inproc://agg-serve", &o, &req), 0);

	/* Nothing within the wait: 0, and the round opened on the way. */
	assert_int_equal(fm_agg_serve(a, rep, 10), 0);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);

	/* A HELLO: served, the sealed ROUND comes back. */
	msg = make_hello(&f, 0, 0, now, &len);
	assert_int_equal(fm_net_send(req, msg, len), 0);
	free(msg);
	assert_int_equal(fm_agg_serve(a, rep, 5000), 1);
	assert_int_equal(fm_net_recv(req, 5000, &reply, &reply_len), 0);
	free(open_reply(&f, 0, reply, reply_len, FM_PROTO_ROUND, &len));
	free(reply);

	/* Over the socket's limit: dropped, counted, no reply. */
	{
		uint8_t big[8192] = { 0 };

		assert_int_equal(fm_net_send(req, big, sizeof(big)), 0);
		assert_int_equal(fm_agg_serve(a, rep, 5000), -EMSGSIZE);
		fm_agg_status_get(a, &st);
		assert_int_equal(st.rejections[FM_PROTO_REASON_TOO_LARGE], 1);
		assert_int_equal(st.requests, 2);
	}

	/* Closed: -ECANCELED, the caller stops. */
	fm_net_sock_close(rep);
	assert_int_equal(fm_agg_serve(a, rep, 5000), -ECANCELED);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
	fm_agg_free(a);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serve_inproc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
