/* Tests for agent/history.c: raw ring order and per-minute aggregates. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/agent.h"

#define MIN_NS (60 * FM_NSEC_PER_SEC)

static fm_sample
sample_at(int64_t real_ns, float v0)
{
	fm_sample s = { .real_ns = real_ns, .mono_ns = real_ns };

	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++)
		s.v[f] = NAN;
	s.v[0] = v0;
	return s;
}

static void
test_history_rejects_bad_sizes(void **state)
{
	fm_history *h = NULL;

	assert_int_equal(fm_history_new(0, 10, &h), -EINVAL);
	assert_int_equal(fm_history_new(10, 0, &h), -EINVAL);
	assert_int_equal(fm_history_new(10000001, 10, &h), -EINVAL);
	assert_null(h);
	assert_null(fm_history_free(NULL));
}

static void
test_history_raw_ring_wraps_newest_first(void **state)
{
	fm_history *h;

	assert_int_equal(fm_history_new(3, 10, &h), 0);
	assert_null(fm_history_raw_get(h, 0));
	for (int i = 1; i <= 5; i++) {
		fm_sample s = sample_at(i * FM_NSEC_PER_SEC, (float)i);

		fm_history_push(h, &s);
	}
	assert_int_equal(fm_history_raw_count(h), 3);
	assert_true(fm_history_raw_get(h, 0)->v[0] == 5.0f);
	assert_true(fm_history_raw_get(h, 1)->v[0] == 4.0f);
	assert_true(fm_history_raw_get(h, 2)->v[0] == 3.0f);
	assert_null(fm_history_raw_get(h, 3));
	h = fm_history_free(h);
	assert_null(h);
}

static void
test_history_minute_aggregates_skip_masked(void **state)
{
	fm_history *h;
	const fm_history_minute *m;
	fm_sample s;

	assert_int_equal(fm_history_new(100, 2, &h), 0);
	s = sample_at(10 * MIN_NS + 1, 1.0f);
	fm_history_push(h, &s);
	s = sample_at(10 * MIN_NS + 2, 3.0f);
	fm_history_push(h, &s);
	s = sample_at(10 * MIN_NS + 3, NAN);
	fm_history_push(h, &s);
	assert_int_equal(fm_history_minute_count(h), 0); /* still open */
	s = sample_at(11 * MIN_NS, 8.0f);
	fm_history_push(h, &s);
	assert_int_equal(fm_history_minute_count(h), 1);
	m = fm_history_minute_get(h, 0);
	assert_non_null(m);
	assert_true(m->real_ns == 10 * MIN_NS);
	assert_int_equal(m->count, 3);
	assert_true(m->mean[0] == 2.0f);
	assert_true(m->min[0] == 1.0f);
	assert_true(m->max[0] == 3.0f);
	/* a feature masked all minute stays masked, not zero */
	assert_true(isnan(m->mean[1]) && isnan(m->min[1]) && isnan(m->max[1]));
	fm_history_free(h);
}

static void
test_history_minute_ring_keeps_last(void **state)
{
	fm_history *h;
	fm_sample s;

	assert_int_equal(fm_history_new(10, 2, &h), 0);
	for (int i = 0; i < 5; i++) {
		s = sample_at(i * MIN_NS, (float)i);
		fm_history_push(h, &s);
	}
	/* minutes 0..3 closed, ring of 2 keeps 3 and 2 */
	assert_int_equal(fm_history_minute_count(h), 2);
	assert_true(fm_history_minute_get(h, 0)->mean[0] == 3.0f);
	assert_true(fm_history_minute_get(h, 1)->mean[0] == 2.0f);
	assert_null(fm_history_minute_get(h, 2));
	fm_history_free(h);
}

static void
test_history_bytes_is_the_bound(void **state)
{
	size_t b = fm_history_bytes(900, 1440);

	assert_true(
	    b > sizeof(fm_sample) * 900 + sizeof(fm_history_minute) * 1440);
	/* the documented default: under 1.5 MB */
	assert_true(b < 1500000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_rejects_bad_sizes),
		cmocka_unit_test(test_history_raw_ring_wraps_newest_first),
		cmocka_unit_test(test_history_minute_aggregates_skip_masked),
		cmocka_unit_test(test_history_minute_ring_keeps_last),
		cmocka_unit_test(test_history_bytes_is_the_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
