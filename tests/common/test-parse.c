/* Tests for common/parse.c: strict numbers and booleans. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/common.h"

static void
test_parse_u64_accepts_whole_numbers(void **state)
{
	uint64_t v = 7;

	assert_int_equal(fm_parse_u64("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fm_parse_u64("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
}

static void
test_parse_u64_rejects_garbage(void **state)
{
	uint64_t v = 7;

	assert_int_equal(fm_parse_u64("", &v), -EINVAL);
	assert_int_equal(fm_parse_u64("-1", &v), -EINVAL);
	assert_int_equal(fm_parse_u64(" 1", &v), -EINVAL);
	assert_int_equal(fm_parse_u64("1 ", &v), -EINVAL);
	assert_int_equal(fm_parse_u64("0x10", &v), -EINVAL);
	assert_int_equal(fm_parse_u64("18446744073709551616", &v), -ERANGE);
	assert_int_equal(v, 7); /* untouched on failure */
}

static void
test_parse_u64_range_bounds(void **state)
{
	uint64_t v = 7;

	assert_int_equal(fm_parse_u64_range("100", 100, 200, &v), 0);
	assert_int_equal(v, 100);
	assert_int_equal(fm_parse_u64_range("99", 100, 200, &v), -ERANGE);
	assert_int_equal(fm_parse_u64_range("201", 100, 200, &v), -ERANGE);
	assert_int_equal(v, 100);
}

static void
test_parse_double_strict(void **state)
{
	double d = 0;

	assert_int_equal(fm_parse_double("1.5", &d), 0);
	assert_true(d == 1.5);
	assert_int_equal(fm_parse_double("-2e3", &d), 0);
	assert_true(d == -2000.0);
	assert_int_equal(fm_parse_double("nan", &d), -ERANGE);
	assert_int_equal(fm_parse_double("inf", &d), -ERANGE);
	assert_int_equal(fm_parse_double("1e999", &d), -ERANGE);
	assert_int_equal(fm_parse_double("1.5x", &d), -EINVAL);
	assert_int_equal(fm_parse_double(" 1", &d), -EINVAL);
	assert_int_equal(fm_parse_double("", &d), -EINVAL);
	assert_true(d == -2000.0);
}

static void
test_parse_bool_words(void **state)
{
	bool b = false;

	assert_int_equal(fm_parse_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(fm_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(fm_parse_bool("maybe", &b), -EINVAL);
	assert_int_equal(fm_parse_bool("", &b), -EINVAL);
}

static void
test_parse_strlcpy_refuses_truncation(void **state)
{
	char buf[4] = "abc";

	assert_int_equal(fm_strlcpy(buf, "xyz", sizeof(buf)), 0);
	assert_string_equal(buf, "xyz");
	assert_int_equal(fm_strlcpy(buf, "long", sizeof(buf)), -ENAMETOOLONG);
	assert_string_equal(buf, "xyz");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64_accepts_whole_numbers),
		cmocka_unit_test(test_parse_u64_rejects_garbage),
		cmocka_unit_test(test_parse_u64_range_bounds),
		cmocka_unit_test(test_parse_double_strict),
		cmocka_unit_test(test_parse_bool_words),
		cmocka_unit_test(test_parse_strlcpy_refuses_truncation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
