/* Tests for agent/collect/rate.c: counter deltas with wrap and reset, rates. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"

static void
test_rate_delta_forward(void **state)
{
	uint64_t d = 0;

	assert_true(fmi_counter_delta(10, 25, 64, &d));
	assert_int_equal(d, 15);
	assert_true(fmi_counter_delta(7, 7, 64, &d));
	assert_int_equal(d, 0);
}

static void
test_rate_delta_32bit_wrap(void **state)
{
	uint64_t d = 0;

	assert_true(fmi_counter_delta(UINT32_MAX - 4, 5, 32, &d));
	assert_int_equal(d, 10);
}

static void
test_rate_delta_reset_is_refused(void **state)
{
	uint64_t d = 99;

	/* 64-bit counters never wrap in practice: backwards is a reset. */
	assert_false(fmi_counter_delta(1000, 5, 64, &d));
	/* A 32-bit counter far from its top going back: a reset too. */
	assert_false(fmi_counter_delta(1000, 5, 32, &d));
	/* A "wrap" of more than half the range is not believable. */
	assert_false(fmi_counter_delta(UINT32_MAX / 4, 5, 32, &d));
	/* A previous value beyond 32 bits cannot be a 32-bit wrap. */
	assert_false(fmi_counter_delta(UINT64_C(1) << 40, 5, 32, &d));
	assert_int_equal(d, 99);
}

static void
test_rate_per_second(void **state)
{
	assert_true(fmi_per_second(500, 500000000) == 1000.0);
	assert_true(fmi_per_second(3, 2000000000) == 1.5);
	assert_true(isnan(fmi_per_second(3, 0)));
	assert_true(isnan(fmi_per_second(3, -1)));
}

static void
test_rate_counter_rate(void **state)
{
	/* 50 over half a second, 32-bit wrap included. */
	assert_true(fmi_counter_rate(10, 60, 64, 500000000, 1e9) == 100.0);
	assert_true(
	    fmi_counter_rate(UINT32_MAX - 4, 45, 32, 500000000, 1e9) == 100.0);
	/* The limit itself passes; above it, a reset or no time: NAN. */
	assert_true(fmi_counter_rate(0, 100, 64, 1000000000, 100.0) == 100.0);
	assert_true(isnan(fmi_counter_rate(0, 101, 64, 1000000000, 100.0)));
	assert_true(isnan(fmi_counter_rate(60, 10, 64, 1000000000, 1e9)));
	assert_true(isnan(fmi_counter_rate(10, 60, 64, 0, 1e9)));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_delta_forward),
		cmocka_unit_test(test_rate_delta_32bit_wrap),
		cmocka_unit_test(test_rate_delta_reset_is_refused),
		cmocka_unit_test(test_rate_per_second),
		cmocka_unit_test(test_rate_counter_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
