/*
 * Tests for agent/status/health.c: each problem fm_status_problems() names,
 * over real parts (live counters, a learner warming up, a federation client
 * whose aggregator is not there), and what is not a problem (a missing
 * collector, learning off, federation before its first exchange).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/status/status.h"
#include "crypto/crypto.h"
#include "tests/agent/test-util.h"

typedef char problem_list[FM_STATUS_PROBLEMS_MAX][FM_STATUS_PROBLEM_BYTES];

static fm_status_view
view_of(fm_status_live *live)
{
	return (fm_status_view) { .live = live,
		.missing = "snmp",
		.interval_ms = 1000,
		.min_train_rows = 64,
		.aggregator = "",
		.metrics_url = "",
		.state_dir = "",
		.config_path = "" };
}

static void
push(fm_status_live *live, int64_t mono_ns, const char *failing)
{
	fm_collect_sample s = { .mono_ns = mono_ns,
		.real_ns = fm_time_real_ns() };

	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		s.v[i] = 0.5f;
	fm_status_live_on_sample(live, &s, false, failing);
}

static uint32_t
problems(const fm_status_view *v, problem_list out)
{
	return fm_status_problems(v, out, FM_STATUS_PROBLEMS_MAX);
}

static void
test_health_healthy(void **state)
{
	fm_status_live *live = NULL;
	fm_status_view v;
	problem_list p;

	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);
	/* just started, nothing sampled yet: not overdue */
	assert_int_equal(problems(&v, p), 0);
	/* a missing collector and learning off are not problems */
	push(live, fm_time_mono_ns(), "");
	assert_int_equal(problems(&v, p), 0);
	fm_status_live_free(live);
}

static void
test_health_collector_failing(void **state)
{
	fm_status_live *live = NULL;
	fm_status_view v;
	problem_list p;

	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);
	push(live, fm_time_mono_ns(), "pressure,netdev");
	assert_int_equal(problems(&v, p), 1);
	assert_string_equal(p[0], "collectors failing: pressure,netdev");
	/* it recovers */
	push(live, fm_time_mono_ns(), "");
	assert_int_equal(problems(&v, p), 0);
	fm_status_live_free(live);
}

static void
test_health_sampling_stalled(void **state)
{
	fm_status_live *live = NULL;
	fm_status_view v;
	problem_list p;

	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);
	/* the last sample four intervals ago */
	push(live, fm_time_mono_ns() - 4 * SEC, "");
	assert_int_equal(problems(&v, p), 1);
	assert_non_null(strstr(p[0], "no sample for 4."));
	/* two intervals ago is not late yet */
	push(live, fm_time_mono_ns() - 2 * SEC, "");
	assert_int_equal(problems(&v, p), 0);
	fm_status_live_free(live);

	/* never a sample, three intervals after the start */
	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);
	v.interval_ms = 10;
	usleep(100 * 1000);
	assert_int_equal(problems(&v, p), 1);
	assert_non_null(strstr(p[0], "no sample for"));
	fm_status_live_free(live);
}

static void
test_health_max(void **state)
{
	fm_status_live *live = NULL;
	fm_status_view v;
	problem_list p;

	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);
	push(live, fm_time_mono_ns() - 10 * SEC, "stat");
	assert_int_equal(problems(&v, p), 2);
	/* no more than asked for */
	assert_int_equal(fm_status_problems(&v, p, 1), 1);
	assert_string_equal(p[0], "collectors failing: stat");
	assert_int_equal(fm_status_problems(&v, NULL, 0), 0);
	fm_status_live_free(live);
}

/* A learner before its first training: "warming up", with the count. */
static void
test_health_detector_warming_up(void **state)
{
	char dir[FM_TEST_DIR_BYTES];
	fm_agent_config ac;
	fm_model_learner_config c;
	fm_model_learner *l = NULL;
	fm_status_live *live = NULL;
	fm_status_view v;
	problem_list p;

	fm_test_tmpdir_new(dir, "health");
	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", dir);
	fm_agent_config_learner(&ac, &c);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);
	v.learner = l;
	v.min_train_rows = c.min_rows;
	for (int i = 0; i < 10; i++) {
		fm_collect_sample s = { .mono_ns = fm_time_mono_ns() + i * SEC,
			.real_ns = fm_time_real_ns() };

		for (unsigned j = 0; j < FM_FEATURE_COUNT; j++)
			s.v[j] = 0.25f;
		fm_model_learner_on_sample(l, &s, 0);
	}
	push(live, fm_time_mono_ns(), "");
	assert_int_equal(problems(&v, p), 1);
	{
		char want[FM_STATUS_PROBLEM_BYTES];

		snprintf(want, sizeof(want),
		    "detector warming up: 10 of %u samples", c.min_rows);
		assert_string_equal(p[0], want);
	}
	fm_test_learner_free(l);
	fm_status_live_free(live);
	fm_test_tmpdir_remove(dir);
}

/* An aggregator that is not there: nothing to say before the first
 * exchange, unreachable after it failed. */
static void
test_health_aggregator_unreachable(void **state)
{
	char dir[FM_TEST_DIR_BYTES];
	fm_crypto_identity *self = NULL, *agg = NULL;
	fm_model_federation_config fc = { .timeout_ms = 200,
		.retry_min_ms = 100,
		.retry_max_ms = 200,
		.max_message_bytes = 1u << 20,
		.skew_seconds = 300 };
	fm_model_federation_model m;
	fm_model_federation *fed = NULL;
	fm_agent_config ac;
	fm_model_learner_config c;
	fm_model_learner *l = NULL;
	fm_status_live *live = NULL;
	fm_status_view v;
	problem_list p;
	uint32_t wait_ms;

	fm_test_tmpdir_new(dir, "health");
	assert_int_equal(fm_crypto_init(), 0);
	assert_int_equal(fm_crypto_identity_generate(&self), 0);
	assert_int_equal(fm_crypto_identity_generate(&agg), 0);
	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", dir);
	fm_agent_config_learner(&ac, &c);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_learner_fed_model(l, &m);
	fc.identity = self;
	memcpy(fc.aggregator_key, fm_crypto_identity_public(agg),
	    sizeof(fc.aggregator_key));
	snprintf(fc.url, sizeof(fc.url), "ipc://%s/nobody.sock", dir);
	assert_int_equal(fm_model_federation_new(&fc, &m, false, &fed), 0);
	assert_int_equal(fm_status_live_new(&live), 0);
	push(live, fm_time_mono_ns(), "");
	v = view_of(live);
	v.fed = fed;
	v.aggregator = fc.url;

	assert_int_equal(problems(&v, p), 0);
	assert_int_not_equal(fm_model_federation_step(fed, &wait_ms), 0);
	assert_int_equal(problems(&v, p), 1);
	assert_non_null(strstr(p[0], "aggregator ipc://"));
	assert_non_null(strstr(p[0], "nobody.sock unreachable"));

	fm_model_federation_free(fed);
	fm_test_learner_free(l);
	fm_status_live_free(live);
	fm_crypto_identity_free(agg);
	fm_crypto_identity_free(self);
	fm_test_tmpdir_remove(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health_healthy),
		cmocka_unit_test(test_health_collector_failing),
		cmocka_unit_test(test_health_sampling_stalled),
		cmocka_unit_test(test_health_max),
		cmocka_unit_test(test_health_detector_warming_up),
		cmocka_unit_test(test_health_aggregator_unreachable),
	};

	fm_log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests_name("agent-health", tests, NULL, NULL);
}
