/*
 * Tests for common/prom.c (the Prometheus text writer) and
 * common/proc-self.c (the process's own cost): escaping, number forms,
 * histograms, growth past the first buffer, allocation failure, the
 * /proc parsers on captured and hostile lines, and the live reading.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"
#include "tests/support/alloc-hook.h"
#include "tests/support/prom-check.h"

static char *
finish(fm_prom *p, size_t *ret_len)
{
	char *text = NULL;
	size_t len = 0;

	assert_int_equal(fm_prom_finish(p, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	*ret_len = len;
	return text;
}

static void
test_prom_family_and_samples(void **state)
{
	fm_prom p;
	char *text;
	size_t len;

	(void)state;
	fm_prom_init(&p);
	fm_prom_family(&p, "fm_x_total", "counter", "Things.");
	fm_prom_u64(&p, "fm_x_total", (const char *const[]) { "a", "b" }, 1,
	    UINT64_MAX);
	fm_prom_u64(&p, "fm_x_total",
	    (const char *const[]) { "a", "c", "k", "v" }, 2, 0);
	fm_prom_family(&p, "fm_g", "gauge", "A gauge.");
	fm_prom_double(&p, "fm_g", NULL, 0, 0.1);
	text = finish(&p, &len);
	assert_string_equal(text,
	    "# HELP fm_x_total Things.\n"
	    "# TYPE fm_x_total counter\n"
	    "fm_x_total{a=\"b\"} 18446744073709551615\n"
	    "fm_x_total{a=\"c\",k=\"v\"} 0\n"
	    "# HELP fm_g A gauge.\n"
	    "# TYPE fm_g gauge\n"
	    "fm_g 0.1\n");
	assert_int_equal(prom_check(text, len), 2);
	free(text);
	/* p was left empty: finishing again gives an empty text */
	text = finish(&p, &len);
	assert_string_equal(text, "");
	free(text);
}

static void
test_prom_escaping(void **state)
{
	fm_prom p;
	char *text;
	size_t len;

	(void)state;
	fm_prom_init(&p);
	fm_prom_family(&p, "fm_e", "gauge", "Back\\slash, \"quote\"\nline.");
	fm_prom_u64(&p, "fm_e",
	    (const char *const[]) { "v", "a\\b\"c\nd}e,f=g" }, 1, 1);
	text = finish(&p, &len);
	assert_string_equal(text,
	    "# HELP fm_e Back\\\\slash, \"quote\"\\nline.\n"
	    "# TYPE fm_e gauge\n"
	    "fm_e{v=\"a\\\\b\\\"c\\nd}e,f=g\"} 1\n");
	assert_int_equal(prom_check(text, len), 1);
	free(text);
}

static void
test_prom_numbers(void **state)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ 1, "1" },
		{ -2.5, "-2.5" },
		{ 0.1, "0.1" },
		{ 1e-300, "1.00000000000000e-300" },
		{ 1795269580.99, "1795269580.99" },
		{ 0.1 + 0.2, "0.30000000000000004" },
		{ NAN, "NaN" },
		{ INFINITY, "+Inf" },
		{ -INFINITY, "-Inf" },
	};
	char buf[FM_PROM_DOUBLE_BYTES];
	fm_prom p;
	char *text;
	size_t len;

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		fm_prom_format_double(cases[i].v, buf);
		if (isnan(cases[i].v) || isinf(cases[i].v) ||
		    cases[i].v == 1e-300) {
			if (cases[i].v != 1e-300)
				assert_string_equal(buf, cases[i].text);
			else
				assert_true(strtod(buf, NULL) == 1e-300);
			continue;
		}
		assert_string_equal(buf, cases[i].text);
		assert_true(strtod(buf, NULL) == cases[i].v);
	}
	/* floats: the shortest form that reads back as the float */
	fm_prom_init(&p);
	fm_prom_family(&p, "fm_f", "gauge", "Floats.");
	fm_prom_float(&p, "fm_f", (const char *const[]) { "i", "0" }, 1, 0.1f);
	fm_prom_float(
	    &p, "fm_f", (const char *const[]) { "i", "1" }, 1, 0.61904764f);
	fm_prom_float(&p, "fm_f", (const char *const[]) { "i", "2" }, 1, NAN);
	fm_prom_float(
	    &p, "fm_f", (const char *const[]) { "i", "3" }, 1, -INFINITY);
	text = finish(&p, &len);
	assert_non_null(strstr(text, "fm_f{i=\"0\"} 0.1\n"));
	assert_non_null(strstr(text, "fm_f{i=\"1\"} 0.61904764\n"));
	assert_non_null(strstr(text, "fm_f{i=\"2\"} NaN\n"));
	assert_non_null(strstr(text, "fm_f{i=\"3\"} -Inf\n"));
	assert_true(strtof("0.61904764", NULL) == 0.61904764f);
	prom_check(text, len);
	free(text);
}

static void
test_prom_histogram(void **state)
{
	static const double le[3] = { 0.001, 0.01, 0.1 };
	static const uint64_t counts[4] = { 5, 0, 2, 1 };
	fm_prom p;
	char *text;
	size_t len;

	(void)state;
	fm_prom_init(&p);
	fm_prom_histogram(&p, "fm_h_seconds", "Durations.", le, counts, 3, 0.5);
	text = finish(&p, &len);
	assert_string_equal(text,
	    "# HELP fm_h_seconds Durations.\n"
	    "# TYPE fm_h_seconds histogram\n"
	    "fm_h_seconds_bucket{le=\"0.001\"} 5\n"
	    "fm_h_seconds_bucket{le=\"0.01\"} 5\n"
	    "fm_h_seconds_bucket{le=\"0.1\"} 7\n"
	    "fm_h_seconds_bucket{le=\"+Inf\"} 8\n"
	    "fm_h_seconds_sum 0.5\n"
	    "fm_h_seconds_count 8\n");
	assert_int_equal(prom_check(text, len), 1);
	free(text);
}

static void
test_prom_grows(void **state)
{
	char value[64];
	fm_prom p;
	char *text;
	size_t len;

	(void)state;
	fm_prom_init(&p);
	fm_prom_family(&p, "fm_many", "gauge", "Many series.");
	for (int i = 0; i < 3000; i++) {
		snprintf(value, sizeof(value), "series-%d", i);
		fm_prom_u64(&p, "fm_many", (const char *const[]) { "n", value },
		    1, (uint64_t)i);
	}
	text = finish(&p, &len);
	assert_true(len > 60000);
	assert_int_equal(prom_check(text, len), 1);
	assert_true(prom_value(text, "fm_many{n=\"series-2999\"}") == 2999);
	free(text);
}

static void
test_prom_allocation_failure(void **state)
{
	char value[64];
	fm_prom p;
	char *text = (char *)&p;
	size_t len = 7;

	(void)state;
	/* the first buffer */
	fm_prom_init(&p);
	fm_test_alloc_fail_after(0);
	fm_prom_family(&p, "fm_x", "gauge", "X.");
	fm_test_alloc_fail_after(-1);
	fm_prom_u64(&p, "fm_x", NULL, 0, 1); /* sticky: nothing */
	assert_int_equal(fm_prom_finish(&p, &text, &len), -ENOMEM);
	assert_ptr_equal(text, (char *)&p);
	assert_int_equal(len, 7);
	/* a growth */
	fm_prom_init(&p);
	fm_prom_family(&p, "fm_x", "gauge", "X.");
	fm_test_alloc_fail_after(0);
	for (int i = 0; i < 1000; i++) {
		snprintf(value, sizeof(value), "%d", i);
		fm_prom_u64(
		    &p, "fm_x", (const char *const[]) { "n", value }, 1, 1);
	}
	fm_test_alloc_fail_after(-1);
	assert_int_equal(p.error, -ENOMEM);
	assert_int_equal(fm_prom_finish(&p, &text, &len), -ENOMEM);
	assert_null(p.buf);
	/* clear frees a half-made text */
	fm_prom_init(&p);
	fm_prom_family(&p, "fm_x", "gauge", "X.");
	fm_prom_clear(&p);
	assert_null(p.buf);
	fm_prom_clear(&p);
}

static void
test_proc_self_parsers(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_int_equal(
	    fm_proc_self_parse_statm("2000 1500 300 10 0 400 0\n", &v), 0);
	assert_int_equal(v, 1500);
	assert_int_equal(fm_proc_self_parse_statm("2000\n", &v), -EINVAL);
	assert_int_equal(fm_proc_self_parse_statm("", &v), -EINVAL);
	assert_int_equal(fm_proc_self_parse_statm("1 x", &v), -EINVAL);
	assert_int_equal(
	    fm_proc_self_parse_statm("1 99999999999999999999", &v), -EINVAL);

	/* a command name with blanks and parentheses; negative priority */
	assert_int_equal(fm_proc_self_parse_starttime(
	                     "4242 (fedmon (x) y) S 1 4242 4242 0 -1 4194560 "
	                     "100 0 0 0 5 3 0 0 -2 0 3 0 987654 1000000 200 "
	                     "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 "
	                     "1 0 0 0 0 0\n",
	                     &v),
	    0);
	assert_int_equal(v, 987654);
	assert_int_equal(
	    fm_proc_self_parse_starttime("4242 (x) S 1 2 3\n", &v), -EINVAL);
	assert_int_equal(
	    fm_proc_self_parse_starttime("4242 x S 1\n", &v), -EINVAL);
	assert_int_equal(
	    fm_proc_self_parse_starttime("4242 (x)S 1\n", &v), -EINVAL);
	assert_int_equal(fm_proc_self_parse_starttime("", &v), -EINVAL);

	assert_int_equal(fm_proc_self_parse_btime("cpu  1 2 3\nintr 5 6\n"
	                                          "btime 1700000000\n"
	                                          "processes 9\n",
	                     &v),
	    0);
	assert_int_equal(v, 1700000000);
	assert_int_equal(
	    fm_proc_self_parse_btime("cpu 1\nxbtime 5\n", &v), -EINVAL);
	assert_int_equal(fm_proc_self_parse_btime("btime x\n", &v), -EINVAL);
	assert_int_equal(fm_proc_self_parse_btime("", &v), -EINVAL);
}

static void
test_proc_self_fixture(void **state)
{
	char path[512];
	uint8_t *buf;
	size_t len;
	uint64_t v;

	(void)state;
	snprintf(path, sizeof(path), "%s/proc-debian12-t0/stat", FM_FIXTURES);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &len), 0);
	assert_int_equal(fm_proc_self_parse_btime((const char *)buf, &v), 0);
	assert_true(v > 1600000000 && v < 4000000000u);
	free(buf);
}

static void
test_proc_self_read(void **state)
{
	fm_proc_self a, b;
	double now = (double)time(NULL);
	volatile double x = 0;

	(void)state;
	assert_int_equal(fm_proc_self_read(&a), 0);
	for (int i = 0; i < 20000000; i++)
		x += i;
	assert_int_equal(fm_proc_self_read(&b), 0);
	assert_true(b.cpu_seconds > a.cpu_seconds);
	assert_true(a.resident_bytes > 4096);
	/* this process started within the last day, and not in the future
	 * (the clock's and btime's rounding allowed) */
	assert_true(a.start_time_seconds > now - 86400);
	assert_true(a.start_time_seconds < now + 2);
	assert_true(a.start_time_seconds == b.start_time_seconds);
}

static void
test_prom_process(void **state)
{
	fm_prom p;
	char *text;
	size_t len;

	(void)state;
	fm_prom_init(&p);
	fm_prom_process(&p);
	text = finish(&p, &len);
	assert_int_equal(prom_check(text, len), 3);
	assert_string_equal(
	    prom_type(text, "process_cpu_seconds_total"), "counter");
	assert_true(prom_value(text, "process_resident_memory_bytes") > 4096);
	assert_true(prom_value(text, "process_start_time_seconds") > 1e9);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prom_family_and_samples),
		cmocka_unit_test(test_prom_escaping),
		cmocka_unit_test(test_prom_numbers),
		cmocka_unit_test(test_prom_histogram),
		cmocka_unit_test(test_prom_grows),
		cmocka_unit_test(test_prom_allocation_failure),
		cmocka_unit_test(test_proc_self_parsers),
		cmocka_unit_test(test_proc_self_fixture),
		cmocka_unit_test(test_proc_self_read),
		cmocka_unit_test(test_prom_process),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
