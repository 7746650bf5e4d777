/*
 * Tests for aggregator/metrics.c: the aggregator's /metrics through a
 * round (collecting, then published), refusals counted by reason with
 * every reason written, the phase as a set of 0/1 series, checked by the
 * strict reader (tests/support/prom-check); and an allocation failure.
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
#include "fm-config.h"
#include "tests/support/alloc-hook.h"
#include "tests/support/prom-check.h"

#define N 3

static char *
render(fm_agg *a)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(fm_agg_metrics_render(a, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	prom_check(text, len);
	return text;
}

static void
assert_phase(const char *text, uint32_t phase)
{
	char series[128];

	for (uint32_t p = FM_AGG_PHASE_OPEN; p <= FM_AGG_PHASE_IDLE; p++) {
		snprintf(series, sizeof(series),
		    "fedmon_aggregator_phase{phase=\"%s\"}",
		    fm_agg_phase_name(p));
		assert_true(prom_value(text, series) == (p == phase));
	}
}

static void
assert_rejections(const char *text, fm_agg *a)
{
	char series[128];
	fm_agg_status st;

	fm_agg_status_get(a, &st);
	assert_false(prom_has(
	    text, "fedmon_aggregator_rejections_total{reason=\"ok\"}"));
	for (uint32_t r = 1; r < FM_PROTO_REASON_COUNT; r++) {
		snprintf(series, sizeof(series),
		    "fedmon_aggregator_rejections_total{reason=\"%s\"}",
		    fm_proto_reason_name(r));
		assert_true(
		    prom_value(text, series) == (double)st.rejections[r]);
	}
}

static void
test_metrics_through_a_round(void **state)
{
	float p0[N] = { 1, 2, 3 }, p1[N] = { 3, 2, 1 };
	fm_proto_update u;
	fm_proto_verdict v;
	fm_proto_round rnd;
	fm_agg_config c;
	fleet f;
	fm_agg *a;
	char *text;

	(void)state;
	fleet_init(&f, 3);
	test_config(&c);
	a = agg_start(&c, &f, 2); /* agent 2 is not enrolled */

	text = render(a);
	assert_true(
	    prom_value(text,
	        "fedmon_aggregator_info{version=\"" FM_VERSION "\"}") == 1);
	assert_true(prom_value(text, "fedmon_aggregator_round") == 0);
	assert_true(prom_value(text, "fedmon_aggregator_global_version") == 0);
	assert_true(prom_value(text, "fedmon_aggregator_enrolled_keys") == 2);
	assert_false(
	    prom_has(text, "fedmon_aggregator_last_round_duration_seconds"));
	assert_string_equal(
	    prom_type(text, "fedmon_aggregator_requests_total"), "counter");
	assert_string_equal(
	    prom_type(text, "process_resident_memory_bytes"), "gauge");
	assert_rejections(text, a);
	free(text);

	/* round 1 collecting, one update in; an unknown sender refused */
	do_hello(a, &f, 0, 0, T0, &rnd);
	u = update_of(1, 0, 10, p0, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0 + 1, &v), FM_PROTO_OK);
	{
		uint8_t *req, *reply = NULL;
		size_t len, reply_len;

		req = make_hello(&f, 2, 0, T0 + 2, &len);
		assert_int_equal(
		    do_raw(a, req, len, T0 + 2, &reply, &reply_len),
		    FM_PROTO_REASON_UNKNOWN_KEY);
		free(req);
		free(reply);
	}
	text = render(a);
	assert_true(prom_value(text, "fedmon_aggregator_round") == 1);
	assert_phase(text, FM_AGG_PHASE_COLLECT);
	assert_true(
	    prom_value(text, "fedmon_aggregator_round_participants") == 1);
	assert_true(prom_value(text, "fedmon_aggregator_requests_total") == 3);
	assert_true(
	    prom_value(text, "fedmon_aggregator_updates_accepted_total") == 1);
	assert_true(prom_value(text,
	                "fedmon_aggregator_rejections_total"
	                "{reason=\"unknown_key\"}") == 1);
	assert_rejections(text, a);
	free(text);

	/* the quorum's second update publishes version 1 */
	u = update_of(1, 0, 10, p1, N);
	assert_int_equal(do_update(a, &f, 1, &u, T0 + 500, &v), FM_PROTO_OK);
	/* a late one for the closed round */
	u = update_of(1, 0, 10, p1, N);
	assert_int_equal(do_update(a, &f, 0, &u, T0 + 501, &v),
	    FM_PROTO_REASON_ROUND_CLOSED);
	text = render(a);
	assert_true(prom_value(text, "fedmon_aggregator_global_version") == 1);
	assert_true(
	    prom_value(text, "fedmon_aggregator_model_parameters") == N);
	assert_true(
	    prom_value(text, "fedmon_aggregator_rounds_published_total") == 1);
	assert_true(
	    prom_value(text, "fedmon_aggregator_rounds_abandoned_total") == 0);
	assert_phase(text, FM_AGG_PHASE_IDLE);
	assert_true(prom_value(text,
	                "fedmon_aggregator_last_round_duration_seconds") >= 0);
	assert_true(prom_value(text,
	                "fedmon_aggregator_last_round_duration_seconds") < 1);
	assert_true(prom_value(text,
	                "fedmon_aggregator_rejections_total"
	                "{reason=\"round_closed\"}") == 1);
	assert_rejections(text, a);
	free(text);

	fm_agg_free(a);
	fleet_free(&f);
}

static void
test_metrics_allocation_failure(void **state)
{
	char *text = (char *)state;
	size_t len = 5;
	fm_agg_config c;
	fleet f;
	fm_agg *a;

	fleet_init(&f, 1);
	test_config(&c);
	a = agg_start(&c, &f, 1);
	fm_test_alloc_fail_after(0);
	assert_int_equal(fm_agg_metrics_render(a, &text, &len), -ENOMEM);
	fm_test_alloc_fail_after(-1);
	assert_ptr_equal(text, (char *)state);
	assert_int_equal(len, 5);
	fm_agg_free(a);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_through_a_round),
		cmocka_unit_test(test_metrics_allocation_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
