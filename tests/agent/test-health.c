/*
 * Tests for agent/status/health.c and journal.c: each problem
 * fm_status_problems() names, over real parts (live counters, a learner
 * warming up, a federation client whose aggregator is not there), and
 * what is not a problem (a missing
 * collector, learning off, federation before its first exchange, the
 * detector's warm-up); and the journal's one line per alarm onset, clear,
 * problem start and end.
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
	assert_string_equal(p[0], "collectors: pressure,netdev failing");
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
	assert_non_null(strstr(p[0], "sampling: no sample for 4."));
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
	assert_string_equal(p[0], "collectors: stat failing");
	assert_int_equal(fm_status_problems(&v, NULL, 0), 0);
	fm_status_live_free(live);
}

/* A learner before its first training is learning, not a problem: the
 * count and the time left are in the health. */
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
	assert_int_equal(problems(&v, p), 0);
	{
		fm_status_health h;

		fm_status_health_get(&v, &h);
		assert_true(h.learning);
		assert_int_equal(h.n_on, 0);
		assert_int_equal(h.rows_held, 10);
		assert_int_equal(h.min_rows, c.min_rows);
		assert_true(
		    h.learning_left_ms == (uint64_t)(c.min_rows - 10) * 1000);
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

/* The problems the daemon tells the view about: federation that cannot
 * start, /metrics not served, a reload that failed (until one succeeds). */
static void
test_health_named_problems(void **state)
{
	fm_status_live *live = NULL;
	fm_status_health h;
	fm_status_view v;
	problem_list p;

	assert_int_equal(fm_status_live_new(&live), 0);
	push(live, fm_time_mono_ns(), "");
	v = view_of(live);
	v.fed_start_error = -EACCES;
	v.fed_url = "tcp://agg:9740";
	v.metrics_error = -EADDRINUSE;
	v.metrics_listen = "127.0.0.1:9741";
	fm_status_live_on_reload(live, "agent.conf:3: unknown key 'x'");
	assert_int_equal(problems(&v, p), 3);
	assert_string_equal(p[0],
	    "federation: cannot federate with tcp://agg:9740: Permission "
	    "denied (learning standalone)");
	assert_string_equal(p[1],
	    "metrics: not served on 127.0.0.1:9741: Address already "
	    "in use");
	assert_non_null(strstr(p[2], "reload: failed at "));
	assert_non_null(strstr(p[2],
	    ", running configuration kept: agent.conf:3: unknown key 'x'"));
	fm_status_health_get(&v, &h);
	assert_int_equal(h.n_on, 3);
	assert_true(h.on[FM_STATUS_PROBLEM_FEDERATION]);
	assert_true(h.on[FM_STATUS_PROBLEM_METRICS]);
	assert_true(h.on[FM_STATUS_PROBLEM_RELOAD]);
	assert_false(h.on[FM_STATUS_PROBLEM_SAVE]);
	assert_false(h.learning);
	/* a reload that succeeds ends the reload problem */
	fm_status_live_on_reload(live, NULL);
	assert_int_equal(problems(&v, p), 2);
	fm_status_live_free(live);

	for (unsigned i = 0; i < FM_STATUS_PROBLEM_COUNT; i++)
		assert_non_null(fm_status_problem_name(i));
	assert_string_equal(
	    fm_status_problem_name(FM_STATUS_PROBLEM_FEDERATION), "federation");
	assert_null(fm_status_problem_name(FM_STATUS_PROBLEM_COUNT));
}

/* The lines the text holds that start with prefix. */
static unsigned
lines_starting(const char *text, const char *prefix)
{
	unsigned n = 0;
	size_t len = strlen(prefix);

	for (const char *p = text; p && *p;) {
		if (strncmp(p, prefix, len) == 0)
			n++;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return n;
}

/* An alarm raised, held and cleared: exactly one onset line and one clear
 * line, with the score, the threshold and the top features. */
static void
test_journal_alarm_one_line_each(void **state)
{
	fm_model_learner_status st = { .ready = true, .threshold = 1.5f };
	fm_status_journal *j = NULL;
	char log_path[64];
	char *text;
	int saved;
	/* quiet, alarm for three samples (peak 4), quiet again */
	const float score[] = { 0.5f, 3.0f, 4.0f, 2.5f, 0.7f, 0.6f };
	const bool alarm[] = { false, true, true, true, false, false };

	st.n_top = 2;
	st.top[0] = 0;
	st.top[1] = 1;
	st.top_contrib[0] = 0.75f;
	st.top_contrib[1] = 0.125f;
	assert_int_equal(fm_status_journal_new(&j), 0);
	fm_log_set_max_level(LOG_INFO);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	for (unsigned i = 0; i < sizeof(score) / sizeof(score[0]); i++) {
		st.score = score[i];
		st.alarm = alarm[i];
		fm_status_journal_alarm(j, &st, (int64_t)(100 + i) * SEC);
	}
	text = fm_test_stderr_capture_end(saved, log_path);
	fm_log_set_max_level(LOG_ERR);
	j = fm_status_journal_free(j);
	{
		char onset[256], clear[256];
		const char *f0 = fm_collect_feature_get(0)->name;
		const char *f1 = fm_collect_feature_get(1)->name;

		snprintf(onset, sizeof(onset),
		    "<4>Anomaly alarm raised: score 3.000 (threshold 1.500), "
		    "top features %s=0.7500,%s=0.1250\n",
		    f0, f1);
		snprintf(clear, sizeof(clear),
		    "<5>Anomaly alarm cleared after 3 s: score 0.700 "
		    "(threshold 1.500, peak 4.000), top features "
		    "%s=0.7500,%s=0.1250\n",
		    f0, f1);
		assert_non_null(strstr(text, onset));
		assert_non_null(strstr(text, clear));
	}
	assert_int_equal(lines_starting(text, "<4>Anomaly alarm raised"), 1);
	assert_int_equal(lines_starting(text, "<5>Anomaly alarm cleared"), 1);
	assert_int_equal(lines_starting(text, "<"), 2);
	free(text);
}

/* A detector not ready never raises an alarm line. */
static void
test_journal_no_alarm_before_ready(void **state)
{
	fm_model_learner_status st = { .alarm = true, .score = 9.0f };
	fm_status_journal *j = NULL;
	char log_path[64];
	char *text;
	int saved;

	assert_int_equal(fm_status_journal_new(&j), 0);
	fm_log_set_max_level(LOG_DEBUG);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	fm_status_journal_alarm(j, &st, SEC);
	fm_log(LOG_INFO, "end"); /* the capture wants a line */
	text = fm_test_stderr_capture_end(saved, log_path);
	fm_log_set_max_level(LOG_ERR);
	j = fm_status_journal_free(j);
	assert_string_equal(text, "<6>end\n");
	free(text);
}

/* A problem that starts, goes on and ends: one line as it starts (its
 * text), one as it ends. */
static void
test_journal_problem_start_end(void **state)
{
	fm_status_health h = { 0 };
	fm_status_journal *j = NULL;
	char log_path[64];
	char *text;
	int saved;

	assert_int_equal(fm_status_journal_new(&j), 0);
	fm_log_set_max_level(LOG_INFO);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	fm_status_journal_health(j, &h);
	h.on[FM_STATUS_PROBLEM_SAVE] = true;
	h.n_on = 1;
	snprintf(h.text[FM_STATUS_PROBLEM_SAVE], FM_STATUS_PROBLEM_BYTES,
	    "save: models not saved in /s: No space left on device");
	fm_status_journal_health(j, &h);
	fm_status_journal_health(j, &h);
	fm_status_journal_health(j, &h);
	h.on[FM_STATUS_PROBLEM_SAVE] = false;
	h.n_on = 0;
	fm_status_journal_health(j, &h);
	fm_status_journal_health(j, &h);
	text = fm_test_stderr_capture_end(saved, log_path);
	fm_log_set_max_level(LOG_ERR);
	j = fm_status_journal_free(j);
	assert_string_equal(text,
	    "<4>Problem save: models not saved in /s: No space left on device\n"
	    "<5>Problem save: resolved.\n");
	free(text);
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
		cmocka_unit_test(test_health_named_problems),
		cmocka_unit_test(test_journal_alarm_one_line_each),
		cmocka_unit_test(test_journal_no_alarm_before_ready),
		cmocka_unit_test(test_journal_problem_start_end),
	};

	fm_log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests_name("agent-health", tests, NULL, NULL);
}
