/*
 * Tests for aggregator/round.c and the rules: FedAvg and FedAdam against
 * hand computations, quorum and deadline, an agent vanishing, abandoned
 * rounds, max_rounds (also across a restart), and the state directory:
 * resumed after a clean stop and after a kill, replay marks remembered, corrupt
 * state refused, failed writes retried.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg-test.h"
#include "tests/support/alloc-hook.h"

#define N 3

static void
accept(fm_agg *a, fleet *f, size_t i, uint64_t round, uint64_t base,
    uint64_t samples, float *p, int64_t now)
{
	fm_proto_update u = update_of(round, base, samples, p, N);
	fm_proto_verdict v;

	assert_int_equal(do_update(a, f, i, &u, now, &v), FM_PROTO_OK);
}

static void
model_of(fm_agg *a, uint64_t version, float ret[N])
{
	fm_agg_model m;

	assert_int_equal(fm_agg_model_get(a, &m), 0);
	assert_int_equal(m.version, version);
	assert_int_equal(m.n_params, N);
	assert_int_equal(m.layout_id, LAYOUT);
	memcpy(ret, m.params, sizeof(float) * N);
	fm_agg_model_clear(&m);
}

static void
test_round_fedavg_weighting(void **state)
{
	float a1[N] = { 1, 2, 3 }, a2[N] = { 5, -2, 7 };
	float g[N];
	fm_agg_config c;
	fleet f;
	fm_agg *a;

	fleet_init(&f, 2);
	test_config(&c);
	c.max_samples_weight = 300;
	a = agg_start(&c, &f, 2);
	/* Round 1, no global: the weighted mean (weights 100 and 300). */
	accept(a, &f, 0, 1, 0, 100, a1, T0);
	accept(a, &f, 1, 1, 0, 300, a2, T0);
	model_of(a, 1, g);
	assert_float_equal(g[0], (100 * 1 + 300 * 5) / 400.0, 1e-6);
	assert_float_equal(g[1], (100 * 2 + 300 * -2) / 400.0, 1e-6);
	assert_float_equal(g[2], (100 * 3 + 300 * 7) / 400.0, 1e-6);
	/* Round 2: params minus the global are the deltas; agent 1 claims
	 * 1000 samples but weighs max_samples_weight = 300. */
	{
		float g1[N], b1[N], b2[N];

		memcpy(g1, g, sizeof(g));
		for (int i = 0; i < N; i++) {
			b1[i] = g1[i] + 1.0f;
			b2[i] = g1[i] - (float)(i + 1);
		}
		accept(a, &f, 0, 2, 1, 100, b1, T0 + 1000);
		accept(a, &f, 1, 2, 1, 1000, b2, T0 + 1000);
		model_of(a, 2, g);
		for (int i = 0; i < N; i++)
			assert_float_equal(g[i],
			    g1[i] + (100 * 1.0 + 300 * -(i + 1.0)) / 400.0,
			    1e-5);
	}
	fm_agg_free(a);
	/* server_lr scales the mean delta; DELTA updates are deltas. */
	c.server_lr = 0.5;
	a = agg_start(&c, &f, 2);
	accept(a, &f, 0, 1, 0, 1, a1, T0);
	accept(a, &f, 1, 1, 0, 1, a1, T0);
	{
		float d[N] = { 2, 4, -6 };
		fm_proto_update u = update_of(2, 1, 1, d, N);
		fm_proto_verdict v;

		u.kind = FM_PROTO_UPDATE_DELTA;
		assert_int_equal(do_update(a, &f, 0, &u, T0 + 1000, &v), 0);
		assert_int_equal(do_update(a, &f, 1, &u, T0 + 1000, &v), 0);
	}
	model_of(a, 2, g);
	assert_float_equal(g[0], 1 + 0.5 * 2, 1e-6);
	assert_float_equal(g[1], 2 + 0.5 * 4, 1e-6);
	assert_float_equal(g[2], 3 + 0.5 * -6, 1e-6);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_round_fedadam_step(void **state)
{
	const double b1 = 0.9, b2 = 0.99, tau = 1e-3, lr = 0.01;
	float g0[N] = { 1, 2, 3 }, g[N], p[N];
	double m[N] = { 0 }, v[N] = { 0 }, want[N];
	fm_agg_config c;
	fleet f;
	fm_agg *a;

	fleet_init(&f, 1);
	test_config(&c);
	c.quorum = 1;
	c.rule = FM_AGG_RULE_FEDADAM; /* server_lr 0: the rule's 0.01 */
	a = agg_start(&c, &f, 1);
	accept(a, &f, 0, 1, 0, 5, g0, T0);
	model_of(a, 1, g);
	for (int i = 0; i < N; i++) {
		assert_true(g[i] == g0[i]);
		want[i] = g0[i];
	}
	/* Two steps with deltas (0.5, -1, 0) then (0.5, 1, 2). */
	for (int step = 0; step < 2; step++) {
		const double d[2][N] = { { 0.5, -1, 0 }, { 0.5, 1, 2 } };

		for (int i = 0; i < N; i++) {
			p[i] = (float)(want[i] + d[step][i]);
			/* the delta as the float arithmetic will see it */
			double di = (double)p[i] - (double)(float)want[i];

			m[i] = b1 * m[i] + (1 - b1) * di;
			v[i] = b2 * v[i] + (1 - b2) * di * di;
			want[i] =
			    (float)want[i] + lr * m[i] / (sqrt(v[i]) + tau);
		}
		accept(
		    a, &f, 0, 2 + step, 1 + step, 5, p, T0 + 1000 * (step + 1));
		model_of(a, 2 + step, g);
		for (int i = 0; i < N; i++)
			assert_float_equal(g[i], want[i], 1e-6);
	}
	/* The first step moves each coordinate by about lr: 0.01 * 0.1 /
	 * (sqrt(0.01 * 0.25) + tau) = 0.0196 for d = 0.5. */
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_round_quorum_and_vanished_agent(void **state)
{
	float p[N] = { 1, 1, 1 };
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	unsigned events[16] = { 0 };

	fleet_init(&f, 3);
	test_config(&c);
	c.quorum = 0; /* every enrolled key: 3 */
	a = agg_start(&c, &f, 3);
	fm_agg_set_event_handler(a, count_events, events);
	accept(a, &f, 0, 1, 0, 1, p, T0);
	accept(a, &f, 1, 1, 0, 1, p, T0 + 100);
	/* Agent 2 vanished: nothing before the deadline ... */
	fm_agg_tick(a, T0 + 9999);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);
	assert_int_equal(st.participants, 2);
	assert_int_equal(fm_agg_next_tick_ms(a, T0 + 9999), 1);
	/* ... and at it, the round closes with the other two. */
	fm_agg_tick(a, T0 + 10000);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.last_round_ms, 10000);
	assert_int_equal(events[FM_AGG_EVENT_ROUND_CLOSED], 1);
	assert_int_equal(events[FM_AGG_EVENT_PUBLISHED], 1);
	assert_int_equal(fm_agg_next_tick_ms(a, T0 + 10000), 1000);
	/* Round 2 after the interval; all three in: closed by quorum. */
	fm_agg_tick(a, T0 + 11000);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.round, 2);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);
	for (size_t i = 0; i < 3; i++)
		accept(a, &f, i, 2, 1, 1, p, T0 + 11001);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.last_round_ms, 1);
	assert_int_equal(st.rounds_published, 2);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_round_abandoned_below_min_updates(void **state)
{
	float p[N] = { 1, 1, 1 };
	float q[N + 1] = { 1, 1, 1, 1 };
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	unsigned events[16] = { 0 };

	fleet_init(&f, 3);
	test_config(&c);
	c.quorum = 3;
	c.min_updates = 2;
	a = agg_start(&c, &f, 3);
	fm_agg_set_event_handler(a, count_events, events);
	accept(a, &f, 0, 1, 0, 1, p, T0);
	fm_agg_tick(a, T0 + 10000);
	fm_agg_status_get(a, &st);
	/* Abandoned, and round 2 opened at once; no model. */
	assert_int_equal(events[FM_AGG_EVENT_ROUND_ABANDONED], 1);
	assert_int_equal(st.rounds_abandoned, 1);
	assert_int_equal(st.round, 2);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);
	assert_int_equal(st.version, 0);
	/* The layout adopted from the abandoned round is forgotten. */
	assert_int_equal(st.layout_id, 0);
	assert_int_equal(st.n_params, 0);
	{
		fm_proto_update u = update_of(2, 0, 1, q, N + 1);
		fm_proto_verdict v;

		assert_int_equal(do_update(a, &f, 1, &u, T0 + 10001, &v), 0);
		assert_int_equal(do_update(a, &f, 2, &u, T0 + 10001, &v), 0);
	}
	fm_agg_tick(a, T0 + 20001);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 2);
	assert_int_equal(st.n_params, N + 1);
	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_round_max_rounds(void **state)
{
	float p[N] = { 1, 2, 3 };
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	fm_proto_round m;
	unsigned events[16] = { 0 };

	fleet_init(&f, 1);
	test_config(&c);
	c.quorum = 1;
	c.max_rounds = 2;
	a = agg_start(&c, &f, 1);
	fm_agg_set_event_handler(a, count_events, events);
	accept(a, &f, 0, 1, 0, 1, p, T0);
	accept(a, &f, 0, 2, 1, 1, p, T0 + 1000);
	assert_int_equal(events[FM_AGG_EVENT_FINISHED], 1);
	/* Much later: no round 3, the last model served in IDLE. */
	fm_agg_tick(a, T0 + 1000000);
	fm_agg_status_get(a, &st);
	assert_true(st.finished);
	assert_int_equal(st.round, 2);
	assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
	assert_int_equal(fm_agg_next_tick_ms(a, T0 + 1000000), UINT32_MAX);
	do_hello(a, &f, 0, 1, T0 + 1000001, &m);
	assert_int_equal(m.phase, FM_PROTO_PHASE_IDLE);
	assert_int_equal(m.round, 2);
	assert_int_equal(m.version, 2);
	assert_non_null(m.params);
	assert_int_equal(m.poll_ms, c.poll_ms);
	fm_proto_round_clear(&m);
	{
		fm_proto_update u = update_of(3, 2, 1, p, N);
		fm_proto_verdict v;

		assert_int_equal(do_update(a, &f, 0, &u, T0 + 1000002, &v),
		    FM_PROTO_REASON_ROUND_CLOSED);
	}
	fm_agg_free(a);
	fleet_free(&f);
}

static void
config_in(fm_agg_config *c, const char *dir)
{
	test_config(c);
	c->quorum = 2;
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", dir);
}

static fm_agg *
start_in(fm_agg_config *c, fleet *f, const char *dir)
{
	config_in(c, dir);
	return agg_start(c, f, 2);
}

static void
test_round_state_resumed(void **state)
{
	float p[N] = { 1, 2, 3 }, g[N], g2[N];
	char dir[64];
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	uint8_t *req, *reply;
	size_t len, reply_len;

	fleet_init(&f, 2);
	temp_dir(dir);
	a = start_in(&c, &f, dir);
	accept(a, &f, 0, 1, 0, 1, p, T0);
	accept(a, &f, 1, 1, 0, 1, p, T0);
	model_of(a, 1, g);
	assert_int_equal(fm_agg_persist(a), 0);
	fm_agg_free(a);

	/* A clean restart: the model, version and round are back, and the
	 * next round is 2; an old sequence is a replay (state marks). */
	a = start_in(&c, &f, dir);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.round, 1);
	assert_int_equal(st.rounds_published, 1);
	assert_int_equal(st.peers, 2);
	model_of(a, 1, g2);
	assert_memory_equal(g, g2, sizeof(g));
	f.seq[0]--;
	req = make_hello(&f, 0, 1, T0 + 5000, &len);
	assert_int_equal(do_raw(a, req, len, T0 + 5000, &reply, &reply_len),
	    FM_PROTO_REASON_REPLAY);
	free(reply);
	free(req);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.round, 2);
	/* Killed now (no persist): the journal has the marks. */
	{
		fm_proto_round m;

		do_hello(a, &f, 1, 1, T0 + 5001, &m);
		fm_proto_round_clear(&m);
	}
	fm_agg_free(a);
	a = start_in(&c, &f, dir);
	f.seq[1]--;
	req = make_hello(&f, 1, 1, T0 + 6000, &len);
	assert_int_equal(do_raw(a, req, len, T0 + 6000, &reply, &reply_len),
	    FM_PROTO_REASON_REPLAY);
	free(reply);
	free(req);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.round, 3); /* round 2 was open: never reused */
	fm_agg_free(a);
	remove_dir(dir);
	fleet_free(&f);
}

/*
 * An aggregator whose state already holds max_rounds published rounds
 * publishes nothing more when restarted (killed after its last round, or
 * restarted with a lower max_rounds): finished from the start, round and
 * model as they were, updates for a next round refused; with a higher
 * max_rounds it goes on.
 */
static void
test_round_max_rounds_after_restart(void **state)
{
	float p[N] = { 1, 2, 3 }, q[N] = { 4, 5, 6 }, g[N];
	char dir[64];
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	fm_proto_round m;
	fm_proto_update u;
	fm_proto_verdict v;

	fleet_init(&f, 2);
	temp_dir(dir);
	config_in(&c, dir);
	c.max_rounds = 2;
	a = agg_start(&c, &f, 2);
	for (uint64_t r = 1; r <= 2; r++)
		for (size_t i = 0; i < 2; i++)
			accept(a, &f, i, r, r - 1, 1, p, T0 + 1000 * r);
	fm_agg_status_get(a, &st);
	assert_true(st.finished);
	fm_agg_free(a); /* killed: no persist */

	for (uint64_t max = 2; max >= 1; max--) {
		unsigned events[16] = { 0 };

		c.max_rounds = max;
		a = agg_start(&c, &f, 2);
		fm_agg_set_event_handler(a, count_events, events);
		fm_agg_tick(a, T0 + 1000000);
		do_hello(a, &f, 0, 2, T0 + 1000001, &m);
		assert_int_equal(m.phase, FM_PROTO_PHASE_IDLE);
		assert_int_equal(m.round, 2);
		assert_int_equal(m.version, 2);
		fm_proto_round_clear(&m);
		/* Both agents' updates for a round 3 are refused. */
		for (size_t i = 0; i < 2; i++) {
			u = update_of(3, 2, 1, q, N);
			assert_int_equal(
			    do_update(a, &f, i, &u, T0 + 1000002, &v),
			    FM_PROTO_REASON_ROUND_CLOSED);
		}
		fm_agg_tick(a, T0 + 2000000);
		fm_agg_status_get(a, &st);
		assert_true(st.finished);
		assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
		assert_int_equal(
		    fm_agg_next_tick_ms(a, T0 + 2000000), UINT32_MAX);
		assert_int_equal(st.round, 2);
		assert_int_equal(st.version, 2);
		assert_int_equal(st.rounds_published, 2);
		assert_int_equal(events[FM_AGG_EVENT_ROUND_OPENED], 0);
		assert_int_equal(events[FM_AGG_EVENT_PUBLISHED], 0);
		model_of(a, 2, g);
		assert_memory_equal(g, p, sizeof(p));
		fm_agg_free(a);
	}

	/* One more allowed: round 3 opens and publishes, then no more. */
	c.max_rounds = 3;
	a = agg_start(&c, &f, 2);
	fm_agg_status_get(a, &st);
	assert_false(st.finished);
	for (size_t i = 0; i < 2; i++)
		accept(a, &f, i, 3, 2, 1, q, T0 + 3000000);
	fm_agg_status_get(a, &st);
	assert_true(st.finished);
	assert_int_equal(st.version, 3);
	model_of(a, 3, g);
	assert_memory_equal(g, q, sizeof(q));
	fm_agg_free(a);
	remove_dir(dir);
	fleet_free(&f);
}

static void
test_round_killed_mid_round(void **state)
{
	float p[N] = { 1, 2, 3 }, q[N] = { 2, 3, 4 }, g[N];
	char dir[64];
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	fm_proto_update u;
	fm_proto_verdict v;

	fleet_init(&f, 2);
	temp_dir(dir);
	a = start_in(&c, &f, dir);
	accept(a, &f, 0, 1, 0, 1, p, T0);
	accept(a, &f, 1, 1, 0, 1, p, T0);
	/* Round 2 open, one of two updates in, then the process dies. */
	accept(a, &f, 0, 2, 1, 1, q, T0 + 1000);
	fm_agg_free(a);
	a = start_in(&c, &f, dir);
	model_of(a, 1, g);
	assert_memory_equal(g, p, sizeof(p));
	/* The other agent's update for round 2 is for a closed round; the
	 * first agent's is a replay no more: a new round 3. */
	u = update_of(2, 1, 1, q, N);
	assert_int_equal(do_update(a, &f, 1, &u, T0 + 2000, &v),
	    FM_PROTO_REASON_ROUND_CLOSED);
	assert_int_equal(v.round, 3);
	accept(a, &f, 0, 3, 1, 1, q, T0 + 2000);
	accept(a, &f, 1, 3, 1, 1, q, T0 + 2000);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 3);
	model_of(a, 3, g);
	assert_memory_equal(g, q, sizeof(q));
	fm_agg_free(a);
	remove_dir(dir);
	fleet_free(&f);
}

static void
write_bytes(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void
test_round_corrupt_state_refused(void **state)
{
	float p[N] = { 1, 2, 3 };
	char dir[64], path[128], jpath[128];
	fm_agg_config c;
	fleet f;
	fm_agg *a = NULL;
	uint8_t *buf;
	size_t len;

	fleet_init(&f, 2);
	temp_dir(dir);
	a = start_in(&c, &f, dir);
	accept(a, &f, 0, 1, 0, 1, p, T0);
	accept(a, &f, 1, 1, 0, 1, p, T0);
	assert_int_equal(fm_agg_persist(a), 0);
	fm_agg_free(a);
	snprintf(path, sizeof(path), "%s/%s", dir, FM_AGG_STATE_FILE);
	snprintf(jpath, sizeof(jpath), "%s/%s", dir, FM_AGG_JOURNAL_FILE);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &len), 0);

	/* One flipped bit in the model. */
	buf[FMI_AGG_STATE_HEADER_BYTES + 1] ^= 0x10;
	write_bytes(path, buf, len);
	config_in(&c, dir);
	a = NULL;
	assert_int_equal(
	    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), -EBADMSG);
	assert_null(a);
	buf[FMI_AGG_STATE_HEADER_BYTES + 1] ^= 0x10;
	/* Truncated. */
	write_bytes(path, buf, len - 1);
	assert_int_equal(
	    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), -EBADMSG);
	/* Empty. */
	write_bytes(path, buf, 0);
	assert_int_equal(
	    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), -EBADMSG);
	/* Another format version. */
	buf[8] = 2;
	write_bytes(path, buf, len);
	assert_int_equal(
	    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), -EPROTONOSUPPORT);
	buf[8] = 1;
	/* Intact, but the configuration pins another layout. */
	write_bytes(path, buf, len);
	c.layout_id = LAYOUT + 1;
	assert_int_equal(
	    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), -ESTALE);
	c.layout_id = LAYOUT;
	assert_int_equal(fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), 0);
	a = fm_agg_free(a);
	/* A journal with a bad record before a good one starts: the bad
	 * one is dropped, counted and cut out of the file; the good one's
	 * mark holds. */
	{
		uint8_t j[2 * FMI_AGG_JOURNAL_RECORD_BYTES];
		fm_agg_status st;

		fmi_agg_journal_record(f.id[0], 100, j);
		fmi_agg_journal_record(f.id[0], 101, j + 20);
		j[3] ^= 1;
		write_bytes(jpath, j, sizeof(j));
		assert_int_equal(
		    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), 0);
		fm_agg_status_get(a, &st);
		assert_int_equal(st.journal_dropped_bytes, 20);
		assert_int_equal(st.journal_dropped_runs, 1);
		assert_int_equal(
		    fmi_agg_peers_find(&a->peers, f.id[0])->seq, 101);
		a = fm_agg_free(a);
		free(buf);
		assert_int_equal(
		    fm_file_read_all(jpath, 1 << 20, &buf, &len), 0);
		assert_int_equal(len, 20);
		assert_memory_equal(buf, j + 20, 20);
		free(buf);
		assert_int_equal(
		    fm_file_read_all(path, 1 << 20, &buf, &len), 0);
		/* ... and so is a torn last record. */
		j[3] ^= 1;
		j[23] ^= 1;
		write_bytes(jpath, j, sizeof(j) - 1);
		assert_int_equal(
		    fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a), 0);
		fm_agg_status_get(a, &st);
		assert_int_equal(st.journal_dropped_bytes, 19);
		assert_int_equal(
		    fmi_agg_peers_find(&a->peers, f.id[0])->seq, 100);
		a = fm_agg_free(a);
	}
	/* A directory where the state file should be. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_true(fm_agg_new(&c, f.agg, fleet_keyring(&f, 2), &a) < 0);
	assert_null(a);
	free(buf);
	remove_dir(dir);
	fleet_free(&f);
}

static void
test_round_failed_writes_retried(void **state)
{
	float p[N] = { 1, 2, 3 };
	char dir[64], tmp[128];
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	fm_proto_round m;
	unsigned events[16] = { 0 };

	fleet_init(&f, 2);
	temp_dir(dir);
	/* A directory in the way of the temporary file: every write
	 * fails, even as root. */
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, FM_AGG_STATE_FILE);
	assert_int_equal(mkdir(tmp, 0700), 0);
	a = start_in(&c, &f, dir);
	fm_agg_set_event_handler(a, count_events, events);
	fm_agg_tick(a, T0);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_OPEN);
	assert_int_equal(st.round, 0);
	assert_int_equal(events[FM_AGG_EVENT_FAILED], 1);
	assert_int_equal(fm_agg_next_tick_ms(a, T0), FMI_AGG_RETRY_MS);
	do_hello(a, &f, 0, 0, T0 + 10, &m);
	assert_int_equal(m.phase, FM_PROTO_PHASE_IDLE);
	assert_int_equal(m.round, 0);
	fm_proto_round_clear(&m);
	/* Not before the retry time. */
	fm_agg_tick(a, T0 + 500);
	assert_int_equal(events[FM_AGG_EVENT_FAILED], 1);
	assert_int_equal(rmdir(tmp), 0);
	fm_agg_tick(a, T0 + FMI_AGG_RETRY_MS);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);
	assert_int_equal(st.round, 1);
	accept(a, &f, 0, 1, 0, 1, p, T0 + 2000);
	/* PERSIST fails: nothing is published until it is on disk. */
	assert_int_equal(mkdir(tmp, 0700), 0);
	accept(a, &f, 1, 1, 0, 1, p, T0 + 2000);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_PERSIST);
	assert_int_equal(st.version, 0);
	assert_int_equal(fm_agg_persist(a), -EISDIR);
	assert_int_equal(rmdir(tmp), 0);
	fm_agg_tick(a, T0 + 3000);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
	assert_int_equal(st.version, 1);
	fm_agg_free(a);
	/* What was published is what was written. */
	a = start_in(&c, &f, dir);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 1);
	fm_agg_free(a);
	remove_dir(dir);
	fleet_free(&f);
}

/* An allocation failing while the round aggregates (the candidate model,
 * FedAdam's two moment vectors): reported, retried, then published. */
static void
test_round_aggregate_allocation_failure(void **state)
{
	float p[N] = { 1, 2, 3 };
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;

	fleet_init(&f, 1);
	test_config(&c);
	c.rule = FM_AGG_RULE_FEDADAM;
	for (int k = 0; k < 3; k++) {
		unsigned events[16] = { 0 };

		a = agg_start(&c, &f, 1);
		fm_agg_set_event_handler(a, count_events, events);
		accept(a, &f, 0, 1, 0, 1, p, T0);
		fm_test_alloc_fail_after(k);
		fm_agg_tick(a, T0 + 10000);
		fm_test_alloc_fail_after(-1);
		fm_agg_status_get(a, &st);
		assert_int_equal(st.phase, FM_AGG_PHASE_AGGREGATE);
		assert_int_equal(events[FM_AGG_EVENT_FAILED], 1);
		fm_agg_tick(a, T0 + 10000 + FMI_AGG_RETRY_MS - 1);
		assert_int_equal(events[FM_AGG_EVENT_FAILED], 1);
		fm_agg_tick(a, T0 + 10000 + FMI_AGG_RETRY_MS);
		fm_agg_status_get(a, &st);
		assert_int_equal(st.phase, FM_AGG_PHASE_IDLE);
		assert_int_equal(st.version, 1);
		fm_agg_free(a);
	}
	fleet_free(&f);
}

/* A step that overflows a float (no clip_norm, a huge server_lr) makes
 * no model: the round is abandoned and the last model kept. */
static void
test_round_overflow_abandoned(void **state)
{
	float lo[N] = { -3e38f, 0, 0 }, hi[N] = { 3e38f, 0, 0 }, g[N];
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	fm_agg_status st;
	unsigned events[16] = { 0 };

	fleet_init(&f, 1);
	test_config(&c);
	c.quorum = 1;
	c.server_lr = 100;
	a = agg_start(&c, &f, 1);
	fm_agg_set_event_handler(a, count_events, events);
	accept(a, &f, 0, 1, 0, 1, lo, T0);
	accept(a, &f, 0, 2, 1, 1, hi, T0 + 1000);
	assert_int_equal(events[FM_AGG_EVENT_FAILED], 1);
	assert_int_equal(events[FM_AGG_EVENT_ROUND_ABANDONED], 1);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.version, 1);
	assert_int_equal(st.round, 3);
	assert_int_equal(st.phase, FM_AGG_PHASE_COLLECT);
	model_of(a, 1, g);
	assert_memory_equal(g, lo, sizeof(lo));
	fm_agg_free(a);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_fedavg_weighting),
		cmocka_unit_test(test_round_fedadam_step),
		cmocka_unit_test(test_round_quorum_and_vanished_agent),
		cmocka_unit_test(test_round_abandoned_below_min_updates),
		cmocka_unit_test(test_round_max_rounds),
		cmocka_unit_test(test_round_state_resumed),
		cmocka_unit_test(test_round_max_rounds_after_restart),
		cmocka_unit_test(test_round_killed_mid_round),
		cmocka_unit_test(test_round_corrupt_state_refused),
		cmocka_unit_test(test_round_failed_writes_retried),
		cmocka_unit_test(test_round_aggregate_allocation_failure),
		cmocka_unit_test(test_round_overflow_abandoned),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
