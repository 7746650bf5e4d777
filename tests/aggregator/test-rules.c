/*
 * Tests for the aggregation rules' lifecycle (begin, add, finish, end):
 * the rules table; FedAvg and FedAdam driven through it, round 1
 * included, bit for bit equal to the arithmetic they had before the
 * lifecycle (a running sum folded in handle.c, then one step applied in
 * round.c: reproduced below as the reference); and a test-only rule, a
 * coordinate-wise median over buffered updates (rule-median.c), that
 * plugs into the same lifecycle, alone and inside a running aggregator.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg-test.h"

/* rule-median.c, compiled into this test only. */
extern const fmi_agg_rule fm_test_agg_rule_median;

#define N 5
#define K 3

/* A fixed example: a global model, FedAdam's moments, three updates with
 * awkward weights, one clipped (scale < 1). */
static const float global[N] = { 0.25f, -1.5f, 3.0f, 1e-3f, -7.125f };
static const float moment1[N] = { 0.01f, -0.02f, 0, 0.5f, 1e-5f };
static const float moment2[N] = { 1e-4f, 4e-4f, 0, 0.25f, 3e-7f };
static const float params[K][N] = {
	{ 0.3f, -1.25f, 2.9f, 0.1f, -7.0f },
	{ 1.7f, 0.33f, 3.3f, -0.2f, -6.5f },
	{ 0.26f, -1.49f, 3.01f, 0.0011f, -7.2f },
};
static const double weights[K] = { 100, 300, 86400 };
static const double scales[K] = { 1, 0.3731234, 1 };

static fmi_agg_rule_round
round_of(const float *g, double lr)
{
	fmi_agg_rule_round rd = {
		.n = N,
		.global = g,
		.lr = lr,
		.beta1 = 0.9,
		.beta2 = 0.99,
		.tau = 1e-3,
		.quorum = K,
	};

	if (g) {
		rd.opt[0] = moment1;
		rd.opt[1] = moment2;
	}
	return rd;
}

/* Update j as handle.c hands it over: against the global when one is. */
static fmi_agg_rule_update
update(size_t j, const float *g)
{
	return (fmi_agg_rule_update) {
		.params = params[j],
		.base = g,
		.weight = weights[j],
		.scale = scales[j],
	};
}

/* The whole lifecycle: begin, add the K updates, finish, end. */
static void
run(const fmi_agg_rule *rule, const fmi_agg_rule_round *rd, float *next,
    float *const *next_opt)
{
	void *s = NULL;

	assert_int_equal(rule->begin(rd, &s), 0);
	assert_non_null(s);
	for (size_t j = 0; j < K; j++) {
		fmi_agg_rule_update u = update(j, rd->global);

		assert_int_equal(rule->add(s, &u), 0);
	}
	assert_int_equal(rule->finish(s, next, next_opt), 0);
	rule->end(s);
}

/*
 * The reference: the code the lifecycle replaced. handle.c folded each
 * update into acc (acc[i] += w * scale * d, d against the global) and
 * wsum; round.c then wrote the weighted mean in a model's first round
 * (moments at 0), or copied the global model and moments and applied
 * the rule's step in place.
 */
static void
old_sum_of(size_t k, const float *g, double acc[N], double *ret_wsum)
{
	double wsum = 0;

	memset(acc, 0, N * sizeof(double));
	for (size_t j = 0; j < k; j++) {
		double w = weights[j], scale = scales[j];

		for (size_t i = 0; i < N; i++) {
			double d = (double)params[j][i];

			if (g)
				d -= (double)g[i];
			acc[i] += w * scale * d;
		}
		wsum += w;
	}
	*ret_wsum = wsum;
}

static void
old_sum(const float *g, double acc[N], double *ret_wsum)
{
	old_sum_of(K, g, acc, ret_wsum);
}

static void
old_fedavg(const float *g, double lr, float out[N])
{
	double acc[N], wsum, scale;

	old_sum(g, acc, &wsum);
	if (!g) {
		for (size_t i = 0; i < N; i++)
			out[i] = (float)(acc[i] / wsum);
		return;
	}
	memcpy(out, g, N * sizeof(float));
	scale = lr / wsum;
	for (size_t i = 0; i < N; i++)
		out[i] = (float)((double)out[i] + scale * acc[i]);
}

static void
old_fedadam(const float *g, double lr, float out[N], float m[N], float v[N])
{
	const double b1 = 0.9, b2 = 0.99, tau = 1e-3;
	double acc[N], wsum;

	old_sum(g, acc, &wsum);
	if (!g) {
		for (size_t i = 0; i < N; i++)
			out[i] = (float)(acc[i] / wsum);
		memset(m, 0, N * sizeof(float));
		memset(v, 0, N * sizeof(float));
		return;
	}
	memcpy(out, g, N * sizeof(float));
	memcpy(m, moment1, N * sizeof(float));
	memcpy(v, moment2, N * sizeof(float));
	for (size_t i = 0; i < N; i++) {
		double d = acc[i] / wsum;
		double mi = b1 * m[i] + (1.0 - b1) * d;
		double vi = b2 * v[i] + (1.0 - b2) * d * d;

		m[i] = (float)mi;
		v[i] = (float)vi;
		out[i] = (float)((double)out[i] + lr * mi / (sqrt(vi) + tau));
	}
}

static void
test_rules_table(void **state)
{
	const fmi_agg_rule *fedavg = fmi_agg_rule_get(FM_AGG_RULE_FEDAVG);
	const fmi_agg_rule *fedadam = fmi_agg_rule_get(FM_AGG_RULE_FEDADAM);

	assert_ptr_equal(fedavg, &fmi_agg_rule_fedavg);
	assert_ptr_equal(fedadam, &fmi_agg_rule_fedadam);
	assert_ptr_equal(fmi_agg_rule_find("fedavg"), fedavg);
	assert_ptr_equal(fmi_agg_rule_find("fedadam"), fedadam);
	assert_null(fmi_agg_rule_get(0));
	assert_null(fmi_agg_rule_get(fm_test_agg_rule_median.id));
	assert_null(fmi_agg_rule_find("median"));
	assert_string_equal(fm_agg_rule_name(FM_AGG_RULE_FEDADAM), "fedadam");
	assert_int_equal(fedavg->n_opt, 0);
	assert_int_equal(fedadam->n_opt, 2);
}

/* The running sum the plain rules share, bit for bit after each update:
 * a double that differs in its last bit rarely shows in the float
 * model. */
static void
test_rules_sum_as_before(void **state)
{
	for (int round1 = 1; round1 >= 0; round1--) {
		const float *g = round1 ? NULL : global;
		fmi_agg_rule_round rd = round_of(g, 1);
		double want[N], wsum;
		fmi_agg_sum *s = NULL;

		assert_int_equal(fmi_agg_sum_begin(&rd, (void **)&s), 0);
		for (size_t j = 0; j < K; j++) {
			fmi_agg_rule_update u = update(j, g);

			assert_int_equal(fmi_agg_sum_add(s, &u), 0);
			old_sum_of(j + 1, g, want, &wsum);
			assert_memory_equal(s->acc, want, sizeof(want));
			assert_true(s->wsum == wsum);
		}
		fmi_agg_sum_end(s);
	}
}

static void
test_rules_fedavg_as_before(void **state)
{
	float got[N], want[N];

	/* Round 1: the weighted mean of the models, whatever lr. */
	{
		fmi_agg_rule_round rd = round_of(NULL, 0.7);

		run(&fmi_agg_rule_fedavg, &rd, got, NULL);
		old_fedavg(NULL, 0.7, want);
		assert_memory_equal(got, want, sizeof(got));
		/* A hand check of the first coordinate. */
		assert_float_equal(got[0],
		    (100 * 0.3 + 300 * 0.3731234 * 1.7 + 86400 * 0.26) / 86800,
		    1e-6);
	}
	/* Later rounds: a step of lr times the weighted mean delta. */
	for (int k = 0; k < 2; k++) {
		const double lr = k ? 1.0 : 0.7;
		fmi_agg_rule_round rd = round_of(global, lr);

		run(&fmi_agg_rule_fedavg, &rd, got, NULL);
		old_fedavg(global, lr, want);
		assert_memory_equal(got, want, sizeof(got));
	}
}

static void
test_rules_fedadam_as_before(void **state)
{
	float got[N], m[N], v[N], want[N], wm[N], wv[N];
	float *next_opt[2] = { m, v };

	for (int round1 = 1; round1 >= 0; round1--) {
		const float *g = round1 ? NULL : global;
		fmi_agg_rule_round rd = round_of(g, 0.01);

		memset(m, 0xff, sizeof(m)); /* NaN: must be overwritten */
		memset(v, 0xff, sizeof(v));
		run(&fmi_agg_rule_fedadam, &rd, got, next_opt);
		old_fedadam(g, 0.01, want, wm, wv);
		assert_memory_equal(got, want, sizeof(got));
		assert_memory_equal(m, wm, sizeof(m));
		assert_memory_equal(v, wv, sizeof(v));
	}
}

/* finish leaves the state as it was: a retried AGGREGATE (after an
 * allocation failure) produces the same model. */
static void
test_rules_finish_is_repeatable(void **state)
{
	const fmi_agg_rule *rules[] = { &fmi_agg_rule_fedavg,
		&fmi_agg_rule_fedadam, &fm_test_agg_rule_median };

	for (size_t r = 0; r < FM_ELEMENTSOF(rules); r++) {
		fmi_agg_rule_round rd = round_of(global, 0.5);
		float a[N], b[N], m[2][N], v[2][N];
		float *opt_a[2] = { m[0], v[0] }, *opt_b[2] = { m[1], v[1] };
		void *s = NULL;

		assert_int_equal(rules[r]->begin(&rd, &s), 0);
		for (size_t j = 0; j < K; j++) {
			fmi_agg_rule_update u = update(j, global);

			assert_int_equal(rules[r]->add(s, &u), 0);
		}
		assert_int_equal(rules[r]->finish(s, a, opt_a), 0);
		assert_int_equal(rules[r]->finish(s, b, opt_b), 0);
		assert_memory_equal(a, b, sizeof(a));
		for (uint32_t k = 0; k < rules[r]->n_opt; k++)
			assert_memory_equal(opt_a[k], opt_b[k], sizeof(m[0]));
		rules[r]->end(s);
	}
}

/* The median rule alone, by hand: odd and even counts, an outlier. */
static void
test_rules_median_by_hand(void **state)
{
	const float g[2] = { 10, -1 };
	const float p[4][2] = { { 11, -1 }, { 1000, 3 }, { 9, 0 }, { 12, -9 } };
	const fmi_agg_rule *rule = &fm_test_agg_rule_median;
	fmi_agg_rule_round rd = { .n = 2, .global = g, .lr = 0.5, .quorum = 1 };
	float next[2];
	void *s = NULL;

	assert_int_equal(rule->begin(&rd, &s), 0);
	for (size_t j = 0; j < 4; j++) {
		fmi_agg_rule_update u = { .params = p[j],
			.base = g,
			.weight = j == 1 ? 1e6 : 1, /* weights play no part */
			.scale = 1 };

		assert_int_equal(rule->add(s, &u), 0);
		assert_int_equal(rule->finish(s, next, NULL), 0);
		switch (j) {
		case 0: /* deltas {1}, {0}: the update itself, times lr */
			assert_true(next[0] == 10.5f && next[1] == -1.0f);
			break;
		case 1: /* {1, 990}: 495.5; {0, 4}: 2 */
			assert_true(next[0] == 10 + 0.5f * 495.5f);
			assert_true(next[1] == -1 + 0.5f * 2);
			break;
		case 2: /* {-1, 1, 990}: 1; {0, 1, 4}: 1 */
			assert_true(next[0] == 10.5f && next[1] == -0.5f);
			break;
		case 3: /* {-1, 1, 2, 990}: 1.5; {-8, 0, 1, 4}: 0.5 */
			assert_true(next[0] == 10.75f && next[1] == -0.75f);
			break;
		}
	}
	rule->end(s);
	/* Round 1 (no global): the median of the models; a clipped update
	 * counts scaled (3 * 0.5). */
	rd = (fmi_agg_rule_round) { .n = 2, .lr = 0.5 };
	assert_int_equal(rule->begin(&rd, &s), 0);
	for (size_t j = 0; j < 3; j++) {
		fmi_agg_rule_update u = {
			.params = p[j], .weight = 1, .scale = j == 1 ? 0.5 : 1
		};

		assert_int_equal(rule->add(s, &u), 0);
	}
	assert_int_equal(rule->finish(s, next, NULL), 0);
	/* {11, 500, 9}: 11; {-1, 1.5, 0}: 0 */
	assert_true(next[0] == 11.0f && next[1] == 0.0f);
	rule->end(s);
}

#define M 3

static void
send(fm_agg *a, fleet *f, size_t i, uint64_t round, uint64_t base,
    uint64_t samples, float *p, int64_t now)
{
	fm_proto_update u = update_of(round, base, samples, p, M);
	fm_proto_verdict v;

	assert_int_equal(do_update(a, f, i, &u, now, &v), FM_PROTO_OK);
}

static void
model_is(fm_agg *a, uint64_t version, const float want[M])
{
	fm_agg_model m;

	assert_int_equal(fm_agg_model_get(a, &m), 0);
	assert_int_equal(m.version, version);
	assert_int_equal(m.n_params, M);
	assert_memory_equal(m.params, want, sizeof(float) * M);
	fm_agg_model_clear(&m);
}

/*
 * The median inside a running aggregator, through handle.c and round.c
 * like the shipped rules: round 1 from the models, round 2 from deltas
 * against the global, an abandoned round and one open at the end freed
 * (ASan finds a leak otherwise).
 */
static void
test_rules_median_in_aggregator(void **state)
{
	float r1[K][M] = { { 1, 10, -4 }, { 2, -5, 0 }, { 9, 0, 3 } };
	float r2[K][M] = { { 3, 0, 0 }, { 2, 7, 0 }, { -98, 1, 5 } };
	const float g1[M] = { 2, 0, 0 }, g2[M] = { 2, 1, 0 };
	fm_agg_config c;
	fm_agg_status st;
	fleet f;
	fm_agg *a;

	fleet_init(&f, K);
	test_config(&c);
	c.quorum = K;
	c.min_updates = 2;
	a = agg_start(&c, &f, K);
	/* Not selectable by configuration: plugged in before round 1. */
	a->rule = &fm_test_agg_rule_median;
	/* Weights play no part: the heavy third agent does not pull. */
	for (size_t i = 0; i < K; i++)
		send(a, &f, i, 1, 0, i == 2 ? 1000 : 1, r1[i], T0);
	model_is(a, 1, g1);
	for (size_t i = 0; i < K; i++)
		send(a, &f, i, 2, 1, 1, r2[i], T0 + 1000);
	model_is(a, 2, g2);
	/* Round 3: one update, then the deadline: abandoned. */
	send(a, &f, 0, 3, 2, 1, r2[0], T0 + 2000);
	fm_agg_tick(a, T0 + 2000 + c.deadline_ms);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.rounds_abandoned, 1);
	assert_int_equal(st.round, 4);
	model_is(a, 2, g2);
	/* Round 4 begun, then the aggregator is freed. */
	send(a, &f, 1, 4, 2, 1, r2[1], T0 + 2000 + c.deadline_ms);
	fm_agg_free(a);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules_table),
		cmocka_unit_test(test_rules_sum_as_before),
		cmocka_unit_test(test_rules_fedavg_as_before),
		cmocka_unit_test(test_rules_fedadam_as_before),
		cmocka_unit_test(test_rules_finish_is_repeatable),
		cmocka_unit_test(test_rules_median_by_hand),
		cmocka_unit_test(test_rules_median_in_aggregator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
