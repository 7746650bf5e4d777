/* Tests for agent/collect/collect-filenr.c: the /proc/sys/fs/file-nr parser and
 * collector. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

static fm_test_source source = { &fmi_collector_filenr, "sys/fs/file-nr" };

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fm_collect_filenr *ret)
{
	char *copy = fm_test_exact_copy(buf, len);
	int r = fm_collect_filenr_parse(copy, len, ret);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_filenr *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_filenr_parse_fixture(void **state)
{
	fm_collect_filenr fn;
	size_t len;
	char *buf = fm_test_read_file(T0 "/sys/fs/file-nr", &len);

	assert_int_equal(parse(buf, len, &fn), 0);
	assert_int_equal(fn.allocated, 416);
	assert_int_equal(fn.unused, 0);
	assert_int_equal(fn.max, 2466186);
	free(buf);

	buf = fm_test_read_file(T1 "/sys/fs/file-nr", &len);
	assert_int_equal(parse(buf, len, &fn), 0);
	assert_int_equal(fn.allocated, 415);
	free(buf);
}

static void
test_collect_filenr_parse_forms(void **state)
{
	fm_collect_filenr fn;

	assert_int_equal(parse_str("1 2 3", &fn), 0);
	assert_int_equal(fn.allocated, 1);
	assert_int_equal(fn.unused, 2);
	assert_int_equal(fn.max, 3);
	assert_int_equal(parse_str("7\t0\t9223372036854775807 \n", &fn), 0);
	assert_true(fn.max == INT64_MAX);
	assert_int_equal(parse_str("0 0 18446744073709551615", &fn), 0);
	assert_true(fn.max == UINT64_MAX);
}

static void
test_collect_filenr_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"416\t0\n",
		"416\t0\t\n",
		"416\t0\t2466186\t5\n",
		"416\t0\t2466186\n\n",
		"416\t0\t2466186\nx",
		"416,0,2466186\n",
		"-416\t0\t2466186\n",
		"416\t0\t0x100\n",
		"416\t0\t18446744073709551616\n",
		"18446744073709551616\t0\t1\n",
		"a\tb\tc\n",
	};
	fm_collect_filenr fn, untouched;

	memset(&fn, 0xa5, sizeof(fn));
	untouched = fn;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &fn), -EINVAL);
		assert_memory_equal(&fn, &untouched, sizeof(fn));
	}
}

static void
test_collect_filenr_parse_embedded_nul(void **state)
{
	const char s[] = "416\t0\t2466186\n";
	char buf[sizeof(s)];
	fm_collect_filenr fn;

	for (size_t i = 0; i < sizeof(s) - 1; i++) {
		memcpy(buf, s, sizeof(s));
		buf[i] = '\0';
		assert_int_equal(parse(buf, sizeof(s) - 1, &fn), -EINVAL);
	}
	assert_int_equal(parse(s, sizeof(s), &fn), -EINVAL);
}

/* Every prefix fails with -EINVAL until max has its first digit. */
static void
test_collect_filenr_parse_truncated(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/sys/fs/file-nr", &len);
	size_t ok_from = strlen("416\t0\t2");

	for (size_t n = 0; n <= len; n++) {
		fm_collect_filenr fn;

		assert_int_equal(
		    parse(buf, n, &fn), n >= ok_from ? 0 : -EINVAL);
	}
	free(buf);
}

static void
test_collect_filenr_parse_garbage(void **state)
{
	uint64_t x = 0x5851f42d4c957f2dull;

	for (int i = 0; i < 2000; i++) {
		char buf[64];
		size_t len;
		fm_collect_filenr fn;

		len = fm_test_rand_bytes(&x, buf, sizeof(buf), NULL);
		assert_int_equal(parse(buf, len, &fn), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_filenr_fixture(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/sys/fs/file-nr");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_FD_USED], 416.0 / 2466186);
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f != FM_F_FD_USED)
			assert_masked(fx->v[f]);
	}
	fm_test_put_text(fx, "500\t0\t1000\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_FD_USED], 0.5);
}

static void
test_collect_filenr_limits(void **state)
{
	fm_test_fixture *fx = *state;

	/* No limit to be a fraction of: masked, not an error. */
	fm_test_put_text(fx, "5\t0\t0\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_masked(fx->v[FM_F_FD_USED]);
	/* Over the limit (it was lowered): clamped. */
	fm_test_put_text(fx, "2000\t0\t1000\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_FD_USED], 1.0);
}

static void
test_collect_filenr_garbage_file(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx, "1\t0\t4\n");
	assert_int_equal(fm_test_open(fx), 0);
	fm_test_put_text(fx, "many\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_all_masked(fx->v);
	fm_test_put_text(fx, "1\t0\t4\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_FD_USED], 0.25);
}

static void
test_collect_filenr_truncated_file(void **state)
{
	fm_test_fixture *fx = *state;
	size_t len;
	char *buf = fm_test_read_file(T0 "/sys/fs/file-nr", &len);
	size_t ok_from = strlen("416\t0\t2");

	fm_test_put_bytes(fx, buf, len);
	assert_int_equal(fm_test_open(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		fm_test_put_bytes(fx, buf, n);
		r = fm_test_read(fx, SEC, 2);
		assert_int_equal(r, n >= ok_from ? 0 : -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
		else
			assert_false(isnan(fx->v[FM_F_FD_USED]));
	}
	free(buf);
}

static void
test_collect_filenr_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_filenr_parse_fixture),
		cmocka_unit_test(test_collect_filenr_parse_forms),
		cmocka_unit_test(test_collect_filenr_parse_rejects_malformed),
		cmocka_unit_test(test_collect_filenr_parse_embedded_nul),
		cmocka_unit_test(test_collect_filenr_parse_truncated),
		cmocka_unit_test(test_collect_filenr_parse_garbage),
		fm_test_collector_test(test_collect_filenr_fixture, &source),
		fm_test_collector_test(test_collect_filenr_limits, &source),
		fm_test_collector_test(
		    test_collect_filenr_garbage_file, &source),
		fm_test_collector_test(
		    test_collect_filenr_truncated_file, &source),
		cmocka_unit_test(test_collect_filenr_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
