/*
 * An agent whose sequence lease went backwards (fed.seq restored from an
 * older backup) against the real aggregator, served over inproc:// by a
 * thread: the first exchange after the restore is answered (the sealed
 * REPLAY refusal names the floor, the client moves above it and sends
 * again), and requests the aggregator has taken stay refused as replays,
 * their refusal naming the same floor.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg-test.h"
#include "fed/fed.h"

#define URL "inproc://agg-lease"

struct server {
	fm_agg *a;
	fm_net_sock *rep;
	pthread_t thread;
};

static void *
serve(void *arg)
{
	struct server *sv = arg;

	while (fm_agg_serve(sv->a, sv->rep, 50) != -ECANCELED)
		;
	return NULL;
}

static void
write_lease(const char *path, uint64_t bound)
{
	char text[64];
	int n = snprintf(
	    text, sizeof(text), "fedmon-seq-lease-v1 %" PRIu64 "\n", bound);

	assert_int_equal(fm_file_write_atomic(path, text, (size_t)n, 0600), 0);
}

static fm_fed_client *
client_new(const fleet *f, const char *seq_path)
{
	fm_fed_client_config cfg;
	fm_fed_client *c = NULL;

	fm_fed_client_config_init(&cfg);
	cfg.url = URL;
	memcpy(cfg.aggregator_pk, fm_crypto_identity_public(f->agg),
	    FM_CRYPTO_PUBLIC_KEY_BYTES);
	cfg.seq_path = seq_path;
	cfg.timeout_ms = 5000;
	cfg.reconnect_min_ms = 10;
	cfg.reconnect_max_ms = 50;
	assert_int_equal(fm_fed_client_new(&cfg, f->agent[0], &c), 0);
	return c;
}

static uint32_t
hello(fm_fed_client *c)
{
	fm_proto_hello m = { .schema_version = 1, .layout_id = LAYOUT };
	fm_proto_round rd;
	uint32_t reason;
	int r;

	snprintf(m.agent_version, sizeof(m.agent_version), "test");
	r = fm_fed_client_hello(c, &m, &rd, &reason);
	if (r == 0)
		fm_proto_round_clear(&rd);
	return r == 0 ? FM_PROTO_OK : reason;
}

/* Sends a HELLO of agent 0 sealed with sequence seq straight to the
 * aggregator; returns its refusal's reason and sealed floor. */
static uint32_t
raw_hello(fm_agg *a, fleet *f, uint64_t seq, uint64_t *ret_floor)
{
	int64_t now = fm_time_real_ns() / FM_NSEC_PER_MSEC;
	uint8_t *req, *reply = NULL, *body = NULL;
	size_t len, reply_len, body_len;
	fm_proto_envelope e;
	fm_proto_refusal m = { 0 };
	int r;

	f->seq[0] = seq - 1;
	req = make_hello(f, 0, 0, now, &len);
	r = fm_agg_handle(a, req, len, now, &reply, &reply_len);
	free(req);
	assert_true(r >= 0);
	assert_int_equal(fm_proto_envelope_decode(reply, reply_len, &e), 0);
	free(reply);
	assert_int_equal(e.h.type, FM_PROTO_ERROR);
	assert_int_equal(e.error, (uint32_t)r);
	/* The floor is sealed to the agent, under the reply's header. */
	assert_int_equal(fm_fed_open(f->sess[0], &e, &body, &body_len), 0);
	assert_int_equal(fm_proto_refusal_decode(body, body_len, &m), 0);
	assert_int_equal(m.reason, (uint32_t)r);
	free(body);
	fm_proto_envelope_clear(&e);
	*ret_floor = m.seq_floor;
	return (uint32_t)r;
}

static void
test_lease_rolled_back_recovers_in_one_exchange(void **state)
{
	char dir[64], path[128];
	struct server sv = { 0 };
	fm_agg_config c;
	fm_net_options o;
	fm_agg_status st;
	fm_fed_client *cl;
	uint64_t high, floor;
	fleet f;

	fleet_init(&f, 1);
	test_config(&c);
	c.quorum = 1;
	sv.a = agg_start(&c, &f, 1);
	fm_net_options_init(&o);
	assert_int_equal(fm_net_rep_listen(URL, &o, &sv.rep), 0);
	assert_int_equal(pthread_create(&sv.thread, NULL, serve, &sv), 0);
	temp_dir(dir);
	snprintf(path, sizeof(path), "%s/fed.seq", dir);

	/* Today: the agent has used numbers up to 5001. */
	write_lease(path, 5000);
	cl = client_new(&f, path);
	assert_int_equal(hello(cl), FM_PROTO_OK);
	high = fm_fed_client_seq(cl);
	assert_int_equal(high, 5001);
	fm_fed_client_free(cl);

	/* A backup from when the lease stood at 40 is restored: the next
	 * exchange is answered all the same. */
	write_lease(path, 40);
	cl = client_new(&f, path);
	assert_int_equal(hello(cl), FM_PROTO_OK);
	assert_int_equal(fm_fed_client_seq(cl), high + 1);
	fm_agg_status_get(sv.a, &st);
	assert_int_equal(st.rejections[FM_PROTO_REASON_REPLAY], 1);
	/* ... and the next, with no refusal. */
	assert_int_equal(hello(cl), FM_PROTO_OK);
	assert_int_equal(fm_fed_client_seq(cl), high + 2);
	fm_agg_status_get(sv.a, &st);
	assert_int_equal(st.rejections[FM_PROTO_REASON_REPLAY], 1);
	fm_fed_client_free(cl);

	/* Replays stay refused: a number the aggregator took, or one below,
	 * each with the floor sealed in. */
	assert_int_equal(
	    raw_hello(sv.a, &f, high + 2, &floor), FM_PROTO_REASON_REPLAY);
	assert_int_equal(floor, high + 2);
	assert_int_equal(
	    raw_hello(sv.a, &f, 41, &floor), FM_PROTO_REASON_REPLAY);
	assert_int_equal(floor, high + 2);

	fm_net_sock_close(sv.rep);
	assert_int_equal(pthread_join(sv.thread, NULL), 0);
	fm_net_sock_free(sv.rep);
	fm_agg_free(sv.a);
	remove_dir(dir);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_lease_rolled_back_recovers_in_one_exchange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
