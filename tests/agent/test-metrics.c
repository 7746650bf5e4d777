/*
 * Tests for agent/status/metrics.c: the agent's /metrics over a view with real
 * live counters and no other part, then with a real learner, labels and
 * actions; every family checked by the strict reader
 * (tests/support/prom-check), the histogram against the live counters,
 * masked features left out, every rule x result written.
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
#include "fm-config.h"
#include "tests/agent/test-util.h"
#include "tests/support/prom-check.h"

static char *
render(const fm_status_view *v, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(fm_status_metrics_render(v, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	prom_check(text, len);
	*ret_len = len;
	return text;
}

/* A sample with every feature at i / 100, a few masked, read in
 * read_ns. */
static void
sample_at(fm_collect_sample *s, int64_t t, int64_t read_ns)
{
	memset(s, 0, sizeof(*s));
	s->mono_ns = t * SEC;
	s->real_ns = 1700000000 * SEC + t * SEC;
	s->read_ns = read_ns;
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		s->v[i] = (float)i / 100.0f;
	s->v[FM_F_SWAP_USED] = NAN;
	s->v[FM_F_PSI_CPU_SOME] = NAN;
}

static fm_status_view
view_of(fm_status_live *live)
{
	return (fm_status_view) {
		.live = live,
		.missing = "",
		.interval_ms = 1000,
		.min_train_rows = 600,
		.aggregator = "",
		.metrics_url = "http://127.0.0.1:9741/metrics",
		.state_dir = "/nonexistent",
		.config_path = "",
	};
}

static void
test_metrics_live_only(void **state)
{
	/* read times landing in the first, a middle and the +Inf bucket */
	static const int64_t reads_ns[] = { 100000, 100000, 3000000, 40000000,
		2000000000, 0 };
	fm_status_live *live = NULL;
	fm_status_view v;
	fm_status_live_snapshot ls;
	fm_collect_sample s;
	char series[128], le[FM_PROM_DOUBLE_BYTES];
	uint64_t cumulative = 0;
	size_t len;
	char *text;

	(void)state;
	assert_int_equal(fm_status_live_new(&live), 0);
	v = view_of(live);

	/* before any sample: nothing but the always-present families */
	text = render(&v, &len);
	assert_true(prom_value(text, "fedmon_samples_total") == 0);
	assert_false(prom_has(text, "fedmon_sample_timestamp_seconds"));
	assert_null(strstr(text, "fedmon_feature_value{"));
	assert_true(
	    prom_value(text,
	        "fedmon_sample_read_duration_seconds_bucket{le=\"+Inf\"}") ==
	    0);
	free(text);

	for (size_t i = 0; i < FM_ELEMENTSOF(reads_ns); i++) {
		sample_at(&s, (int64_t)i, reads_ns[i]);
		fm_status_live_on_sample(
		    live, &s, i == 3, i == 3 ? "stat" : "");
	}
	fm_status_live_get(live, &ls);
	text = render(&v, &len);

	assert_string_equal(prom_type(text, "fedmon_agent_info"), "gauge");
	assert_true(prom_value(text,
	                "fedmon_agent_info{version=\"" FM_VERSION "\"}") == 1);
	assert_true(prom_has(text, "fedmon_agent_healthy"));
	assert_true(prom_has(text, "fedmon_agent_problems"));
	/* healthy iff no problems */
	assert_true(prom_value(text, "fedmon_agent_healthy") ==
	    (prom_value(text, "fedmon_agent_problems") == 0));
	assert_true(prom_value(text, "fedmon_samples_total") == 6);
	assert_true(prom_value(text, "fedmon_sample_failures_total") == 1);
	assert_string_equal(
	    prom_type(text, "fedmon_sample_read_duration_seconds"),
	    "histogram");
	/* cumulative buckets agree with the live counters */
	for (unsigned b = 0; b < FM_STATUS_LIVE_BUCKETS; b++) {
		cumulative += ls.read_bucket[b];
		fm_prom_format_double(fm_status_live_bucket_le[b], le);
		snprintf(series, sizeof(series),
		    "fedmon_sample_read_duration_seconds_bucket{le=\"%s\"}",
		    le);
		assert_true(prom_value(text, series) == (double)cumulative);
	}
	assert_true(prom_value(text,
	                "fedmon_sample_read_duration_seconds_"
	                "bucket{le=\"0.00025\"}") == 3);
	assert_true(prom_value(text,
	                "fedmon_sample_read_duration_seconds_"
	                "bucket{le=\"1\"}") == 5);
	assert_true(prom_value(text,
	                "fedmon_sample_read_duration_seconds_"
	                "bucket{le=\"+Inf\"}") == 6);
	assert_true(
	    prom_value(text, "fedmon_sample_read_duration_seconds_count") == 6);
	assert_true(
	    fabs(prom_value(text, "fedmon_sample_read_duration_seconds_sum") -
	        2.0432) < 1e-9);
	assert_true(prom_value(text, "fedmon_sample_timestamp_seconds") ==
	    1700000005.0);

	/* the last sample's features, the masked ones left out */
	assert_true(fabs(prom_value(text,
	                "fedmon_feature_value{feature=\"cpu.user\"}")) == 0);
	snprintf(series, sizeof(series), "fedmon_feature_value{feature=\"%s\"}",
	    fm_collect_feature_get(FM_F_LOAD_1)->name);
	/* written as the shortest text that reads back as the float */
	assert_true(
	    (float)prom_value(text, series) == (float)FM_F_LOAD_1 / 100.0f);
	snprintf(series, sizeof(series), "fedmon_feature_value{feature=\"%s\"}",
	    fm_collect_feature_get(FM_F_SWAP_USED)->name);
	assert_false(prom_has(text, series));
	snprintf(series, sizeof(series), "fedmon_feature_value{feature=\"%s\"}",
	    fm_collect_feature_get(FM_F_PSI_CPU_SOME)->name);
	assert_false(prom_has(text, series));

	/* absent parts: their families are left out */
	assert_null(prom_type(text, "fedmon_anomaly_score"));
	assert_null(prom_type(text, "fedmon_feature_contribution"));
	assert_null(prom_type(text, "fedmon_failure_onsets_total"));
	assert_null(prom_type(text, "fedmon_federation_reachable"));
	assert_null(prom_type(text, "fedmon_actions_total"));
	/* own cost */
	assert_string_equal(
	    prom_type(text, "process_cpu_seconds_total"), "counter");
	assert_true(prom_value(text, "process_resident_memory_bytes") > 0);
	assert_true(prom_has(text, "process_start_time_seconds"));
	free(text);
	fm_status_live_free(live);
}

static fm_act_rule
log_rule(const char *name)
{
	fm_act_rule r = {
		.when = FM_ACT_WHEN_ANOMALY,
		.max_per_hour = 3600,
		.kind = FM_ACT_KIND_LOG,
		.priority = LOG_DEBUG,
		.timeout_ms = 5000,
	};

	snprintf(r.name, sizeof(r.name), "%s", name);
	return r;
}

static void
test_metrics_all_parts(void **state)
{
	char dir[FM_TEST_DIR_BYTES] = "/tmp/fm-test-metrics-XXXXXX";
	fm_act_rule rules[2] = { log_rule("page-ops"), log_rule("note") };
	fm_model_labels_config lc;
	fm_model_learner_config c;
	fm_agent_config ac;
	fm_status_live *live = NULL;
	fm_model_learner *l = NULL;
	fm_model_labels *labels = NULL;
	fm_act *a = NULL;
	fm_act_input in = { .ready = true, .alarm = true, .score = 9 };
	fm_act_status ast;
	fm_status_view v;
	fm_collect_sample s;
	char series[1200], cmd[128];
	size_t len;
	char *text;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(fm_status_live_new(&live), 0);
	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", dir);
	fm_agent_config_learner(&ac, &c);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_labels_config_init(&lc);
	assert_int_equal(fm_model_labels_new(&lc, &labels), 0);
	rules[1].dry_run = true;
	assert_int_equal(
	    fm_act_new(rules, 2, "/usr/bin/systemctl", false, &a), 0);
	for (int t = 0; t < 3; t++) {
		sample_at(&s, t, 500000);
		fm_status_live_on_sample(live, &s, false, "");
		fm_model_learner_on_sample(
		    l, &s, fm_model_labels_on_sample(labels, &s));
	}
	/* one run of each rule, waited for */
	in.mono_ns = s.mono_ns;
	in.real_ns = s.real_ns;
	fm_act_on_sample(a, &in);
	for (int i = 0; i < 1000; i++) {
		fm_act_status_get(a, &ast);
		if (ast.rules[0].runs[FM_ACT_RESULT_OK] == 1 &&
		    ast.rules[1].runs[FM_ACT_RESULT_DRY_RUN] == 1)
			break;
		usleep(10000);
	}
	assert_int_equal(ast.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_int_equal(ast.rules[1].runs[FM_ACT_RESULT_DRY_RUN], 1);

	v = view_of(live);
	v.learner = l;
	v.labels = labels;
	v.actions = a;
	text = render(&v, &len);

	/* the learner's, untrained */
	assert_true(prom_value(text, "fedmon_detector_ready") == 0);
	assert_true(prom_value(text, "fedmon_detector_trainings_total") == 0);
	assert_true(prom_has(text, "fedmon_detector_training_failures_total"));
	assert_true(prom_value(text,
	                "fedmon_detector_last_trained_timestamp_seconds") == 0);
	assert_true(prom_has(text, "fedmon_anomaly_score"));
	assert_true(prom_has(text, "fedmon_anomaly_threshold"));
	assert_true(prom_value(text, "fedmon_anomaly_alarm") == 0);
	assert_true(prom_value(text, "fedmon_anomaly_alarms_total") == 0);
	assert_true(prom_value(text, "fedmon_anomaly_events_total") == 0);
	assert_true(prom_value(text, "fedmon_anomaly_accepted_total") == 0);
	assert_true(
	    prom_value(text, "fedmon_detector_young_prior_weight") == 0);
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		snprintf(series, sizeof(series),
		    "fedmon_feature_contribution{feature=\"%s\"}",
		    fm_collect_feature_get(i)->name);
		assert_true(prom_value(text, series) == 0);
	}
	for (unsigned src = 0; src < FM_LABEL_COUNT; src++) {
		snprintf(series, sizeof(series),
		    "fedmon_failure_probability{source=\"%s\"}",
		    fm_model_label_source_name(src));
		assert_true(prom_value(text, series) == 0);
		snprintf(series, sizeof(series),
		    "fedmon_failure_predictor_trained{source=\"%s\"}",
		    fm_model_label_source_name(src));
		assert_true(prom_value(text, series) == 0);
		snprintf(series, sizeof(series),
		    "fedmon_failure_predictor_trusted{source=\"%s\"}",
		    fm_model_label_source_name(src));
		assert_true(prom_value(text, series) == 0);
		/* the samples' OOM-kill rate (0.31/s) is an onset */
		snprintf(series, sizeof(series),
		    "fedmon_failure_onsets_total{source=\"%s\"}",
		    fm_model_label_source_name(src));
		assert_true(
		    prom_value(text, series) == (src == FM_LABEL_OOM ? 1 : 0));
	}
	/* every rule x result, zeros included */
	for (unsigned r = 0; r < 2; r++)
		for (unsigned res = 0; res < FM_ACT_RESULT_COUNT; res++) {
			double want = (r == 0 && res == FM_ACT_RESULT_OK) ||
			        (r == 1 && res == FM_ACT_RESULT_DRY_RUN)
			    ? 1
			    : 0;

			snprintf(series, sizeof(series),
			    "fedmon_actions_total{rule=\"%s\",kind=\"log\","
			    "result=\"%s\"}",
			    rules[r].name, fm_act_result_name(res));
			assert_true(prom_value(text, series) == want);
		}
	assert_true(prom_value(text,
	                "fedmon_actions_suppressed_total{rule=\"note\"}") == 0);
	assert_true(prom_value(text,
	                "fedmon_action_last_run_timestamp_seconds"
	                "{rule=\"page-ops\"}") > 1e9);
	/* no federation: left out */
	assert_null(prom_type(text, "fedmon_federation_round"));
	free(text);

	/* no rules: the action families are left out, not empty */
	fm_act_free(a);
	a = NULL;
	assert_int_equal(
	    fm_act_new(NULL, 0, "/usr/bin/systemctl", false, &a), 0);
	v.actions = a;
	text = render(&v, &len);
	assert_null(prom_type(text, "fedmon_actions_total"));
	free(text);

	fm_act_free(a);
	fm_model_labels_free(labels);
	fm_test_learner_free(l);
	fm_status_live_free(live);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_live_only),
		cmocka_unit_test(test_metrics_all_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
