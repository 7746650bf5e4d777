/* Tests for agent/collect/collect-loadavg.c: the /proc/loadavg parser and
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

static fm_test_source source = { &fmi_collector_loadavg, "loadavg" };

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fm_collect_loadavg *ret)
{
	char *copy = fm_test_exact_copy(buf, len);
	int r = fm_collect_loadavg_parse(copy, len, ret);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_loadavg *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_loadavg_parse_fixture(void **state)
{
	fm_collect_loadavg la;
	size_t len;
	char *buf = fm_test_read_file(T0 "/loadavg", &len);

	assert_int_equal(parse(buf, len, &la), 0);
	assert_true(fabs(la.load1 - 1.21) < 1e-12);
	assert_true(fabs(la.load5 - 0.43) < 1e-12);
	assert_true(fabs(la.load15 - 0.16) < 1e-12);
	assert_int_equal(la.running, 3);
	assert_int_equal(la.threads, 91);
	free(buf);

	buf = fm_test_read_file(T1 "/loadavg", &len);
	assert_int_equal(parse(buf, len, &la), 0);
	assert_int_equal(la.running, 2);
	assert_int_equal(la.threads, 91);
	free(buf);
}

static void
test_collect_loadavg_parse_number_forms(void **state)
{
	fm_collect_loadavg la;

	/* No newline; integers without a fraction; many fraction digits. */
	assert_int_equal(parse_str("0.00 12 100.125 0/4294967295 1", &la), 0);
	assert_true(la.load1 == 0.0);
	assert_true(la.load5 == 12.0);
	assert_true(fabs(la.load15 - 100.125) < 1e-12);
	assert_int_equal(la.running, 0);
	assert_int_equal(la.threads, UINT32_MAX);
	assert_int_equal(parse_str("1.1234567891234 0.5 0.25 1/2 3\n", &la), 0);
	assert_true(fabs(la.load1 - 1.123456789) < 1e-12);
	assert_int_equal(
	    parse_str("18446744073709551615.99 0 0 1/2 3", &la), 0);
	assert_true(la.load1 > 1.8e19);
}

static void
test_collect_loadavg_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1.21 0.43 0.16 3/91\n",
		"1.21 0.43 0.16 3/91 \n",
		"1.21 0.43 0.16 3/91 2948 7\n",
		"1.21 0.43 0.16 3/91 2948\nextra",
		"1.21 0.43 0.16 3/91 2948\n\n",
		"1.21 0.43 0.16 3 91 2948\n",
		"1.21  0.43 0.16 3/91 2948\n",
		" 1.21 0.43 0.16 3/91 2948\n",
		"-1.21 0.43 0.16 3/91 2948\n",
		"+1.21 0.43 0.16 3/91 2948\n",
		"1. 0.43 0.16 3/91 2948\n",
		".5 0.43 0.16 3/91 2948\n",
		"1.2.1 0.43 0.16 3/91 2948\n",
		"1e3 0.43 0.16 3/91 2948\n",
		"nan 0.43 0.16 3/91 2948\n",
		"1.21 0.43 0.16 3/4294967296 2948\n",
		"1.21 0.43 0.16 4294967296/1 2948\n",
		"18446744073709551616 0.43 0.16 3/91 2948\n",
		"1.21 0.43 0.16 3/91 18446744073709551616\n",
	};
	fm_collect_loadavg la, untouched;

	memset(&la, 0xa5, sizeof(la));
	untouched = la;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &la), -EINVAL);
		assert_memory_equal(&la, &untouched, sizeof(la));
	}
}

static void
test_collect_loadavg_parse_embedded_nul(void **state)
{
	const char s[] = "1.21 0.43 0.16 3/91 2948\n";
	char buf[sizeof(s)];
	fm_collect_loadavg la;

	for (size_t i = 0; i < sizeof(s) - 1; i++) {
		memcpy(buf, s, sizeof(s));
		buf[i] = '\0';
		assert_int_equal(parse(buf, sizeof(s) - 1, &la), -EINVAL);
	}
	/* The NUL after the text is a byte too, not a terminator. */
	assert_int_equal(parse(s, sizeof(s), &la), -EINVAL);
}

/* Every prefix of the fixture parses or fails with -EINVAL; the result
 * flips where the last field gets its first digit. */
static void
test_collect_loadavg_parse_truncated(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/loadavg", &len);
	size_t ok_from = (size_t)(strstr(buf, " 2948") - buf) + 2;

	for (size_t n = 0; n <= len; n++) {
		fm_collect_loadavg la;

		assert_int_equal(
		    parse(buf, n, &la), n >= ok_from ? 0 : -EINVAL);
	}
	free(buf);
}

static void
test_collect_loadavg_parse_garbage(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int i = 0; i < 2000; i++) {
		char buf[64];
		size_t len;
		fm_collect_loadavg la;

		/* Digits and separators, but never a '/'. */
		len = fm_test_rand_bytes(
		    &x, buf, sizeof(buf), i & 1 ? NULL : "0123456789. \n");
		if (memchr(buf, '/', len))
			continue;
		assert_int_equal(parse(buf, len, &la), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_loadavg_fixture(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/loadavg");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_LOAD_1], 1.21 / 2);
	assert_near(fx->v[FM_F_LOAD_5], 0.43 / 2);
	assert_near(fx->v[FM_F_LOAD_15], 0.16 / 2);
	assert_near(fx->v[FM_F_PROC_THREADS], log1p(91.0));
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f < FM_F_LOAD_1 || f > FM_F_PROC_THREADS)
			assert_masked(fx->v[f]);
	}

	/* Re-read: the file is kept open and read again. */
	fm_test_put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(fm_test_read(fx, SEC, 4), 0);
	assert_near(fx->v[FM_F_LOAD_1], 1.0);
	assert_near(fx->v[FM_F_LOAD_5], 0.5);
	assert_near(fx->v[FM_F_LOAD_15], 0.25);
	assert_near(fx->v[FM_F_PROC_THREADS], log1p(300.0));
}

/* Without a CPU count (stat failed) load cannot be per core: masked. */
static void
test_collect_loadavg_no_ncpu(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_masked(fx->v[FM_F_LOAD_1]);
	assert_masked(fx->v[FM_F_LOAD_5]);
	assert_masked(fx->v[FM_F_LOAD_15]);
	assert_near(fx->v[FM_F_PROC_THREADS], log1p(300.0));
}

static void
test_collect_loadavg_garbage_file(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(fm_test_open(fx), 0);
	fm_test_put_text(fx, "load: high\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_all_masked(fx->v);
	fm_test_put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_LOAD_1], 2.0);
}

static void
test_collect_loadavg_truncated_file(void **state)
{
	fm_test_fixture *fx = *state;
	size_t len;
	char *buf = fm_test_read_file(T0 "/loadavg", &len);
	size_t ok_from = (size_t)(strstr(buf, " 2948") - buf) + 2;

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
			assert_near(fx->v[FM_F_LOAD_1], 1.21 / 2);
	}
	free(buf);
}

static void
test_collect_loadavg_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_loadavg_parse_fixture),
		cmocka_unit_test(test_collect_loadavg_parse_number_forms),
		cmocka_unit_test(test_collect_loadavg_parse_rejects_malformed),
		cmocka_unit_test(test_collect_loadavg_parse_embedded_nul),
		cmocka_unit_test(test_collect_loadavg_parse_truncated),
		cmocka_unit_test(test_collect_loadavg_parse_garbage),
		fm_test_collector_test(test_collect_loadavg_fixture, &source),
		fm_test_collector_test(test_collect_loadavg_no_ncpu, &source),
		fm_test_collector_test(
		    test_collect_loadavg_garbage_file, &source),
		fm_test_collector_test(
		    test_collect_loadavg_truncated_file, &source),
		cmocka_unit_test(test_collect_loadavg_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
