/* Tests for agent/collect/scan.c: the bounded scanners the parsers share. Every
 * input sits in an exact-size heap copy, so ASan sees a read past it. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect.h"
#include "tests/agent/test-util.h"

/* A cursor scanner, its result behind a void pointer. */
typedef int (*scanner)(const char **p, const char *end, void *ret);

static int
u64_at(const char **p, const char *end, void *ret)
{
	return fm_collect_scan_u64(p, end, ret);
}

static int
u64_field_at(const char **p, const char *end, void *ret)
{
	return fm_collect_scan_u64_field(p, end, ret);
}

static int
decimal_at(const char **p, const char *end, void *ret)
{
	return fm_collect_scan_decimal(p, end, ret);
}

/* Runs fn over an exact-size heap copy of s (ASan sees a read past it);
 * *ret_used is how far the cursor moved. */
static int
scan(scanner fn, const char *s, void *ret, size_t *ret_used)
{
	size_t len = strlen(s);
	char *copy = fm_test_exact_copy(s, len);
	const char *p = copy;
	int r = fn(&p, copy + len, ret);

	*ret_used = (size_t)(p - copy);
	free(copy);
	return r;
}

static void
test_scan_u64(void **state)
{
	uint64_t v = 7;
	size_t used = 99;

	assert_int_equal(scan(u64_at, "0", &v, &used), 0);
	assert_true(v == 0 && used == 1);
	assert_int_equal(scan(u64_at, "0042x", &v, &used), 0);
	assert_true(v == 42 && used == 4);
	assert_int_equal(scan(u64_at, "18446744073709551615 ", &v, &used), 0);
	assert_true(v == UINT64_MAX && used == 20);
	/* Failures leave the cursor and *ret alone. */
	v = 7;
	assert_int_equal(
	    scan(u64_at, "18446744073709551616", &v, &used), -EINVAL);
	assert_true(v == 7 && used == 0);
	assert_int_equal(
	    scan(u64_at, "99999999999999999999", &v, &used), -EINVAL);
	assert_int_equal(scan(u64_at, "", &v, &used), -EINVAL);
	assert_int_equal(scan(u64_at, " 1", &v, &used), -EINVAL);
	assert_int_equal(scan(u64_at, "-1", &v, &used), -EINVAL);
	assert_int_equal(scan(u64_at, "+1", &v, &used), -EINVAL);
	assert_true(v == 7 && used == 0);
}

static void
test_scan_u32(void **state)
{
	const char s[] = "4294967295 4294967296";
	char *copy = fm_test_exact_copy(s, sizeof(s) - 1);
	const char *p = copy, *end = copy + sizeof(s) - 1;
	uint32_t v = 0;

	assert_int_equal(fm_collect_scan_u32(&p, end, &v), 0);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(fm_collect_scan_char(&p, end, ' '), 0);
	assert_int_equal(fm_collect_scan_u32(&p, end, &v), -EINVAL);
	assert_int_equal(v, UINT32_MAX);
	assert_ptr_equal(p, copy + strlen("4294967295 "));
	free(copy);
}

static void
test_scan_char(void **state)
{
	char *copy = fm_test_exact_copy("/", 1);
	const char *p = copy;

	assert_int_equal(fm_collect_scan_char(&p, copy + 1, ' '), -EINVAL);
	assert_ptr_equal(p, copy);
	assert_int_equal(fm_collect_scan_char(&p, copy + 1, '/'), 0);
	assert_ptr_equal(p, copy + 1);
	/* At the end: nothing is read. */
	assert_int_equal(fm_collect_scan_char(&p, copy + 1, '/'), -EINVAL);
	free(copy);
}

static void
test_scan_end(void **state)
{
	char *copy = fm_test_exact_copy("\n\nx", 3);

	assert_int_equal(fm_collect_scan_end(copy, copy), 0);
	assert_int_equal(fm_collect_scan_end(copy + 1, copy + 2), 0);
	assert_int_equal(fm_collect_scan_end(copy, copy + 2), -EINVAL);
	assert_int_equal(fm_collect_scan_end(copy + 2, copy + 3), -EINVAL);
	free(copy);
}

static void
test_scan_decimal(void **state)
{
	double d = -1.0;
	size_t used = 0;

	assert_int_equal(scan(decimal_at, "29.53", &d, &used), 0);
	assert_true(fabs(d - 29.53) < 1e-12 && used == 5);
	assert_int_equal(scan(decimal_at, "7 ", &d, &used), 0);
	assert_true(d == 7.0 && used == 1);
	assert_int_equal(scan(decimal_at, "0.1234567891234", &d, &used), 0);
	assert_true(fabs(d - 0.123456789) < 1e-15 && used == 15);
	assert_int_equal(scan(decimal_at, "1.5.5", &d, &used), 0);
	assert_true(d == 1.5 && used == 3);
	d = -1.0;
	assert_int_equal(scan(decimal_at, "1.", &d, &used), -EINVAL);
	assert_int_equal(scan(decimal_at, "1.x", &d, &used), -EINVAL);
	assert_int_equal(scan(decimal_at, ".5", &d, &used), -EINVAL);
	assert_int_equal(scan(decimal_at, "-1.0", &d, &used), -EINVAL);
	assert_int_equal(
	    scan(decimal_at, "18446744073709551616.0", &d, &used), -EINVAL);
	assert_true(d == -1.0 && used == 0);
}

static void
test_scan_u64_field(void **state)
{
	uint64_t v = 0;
	size_t used = 0;

	assert_int_equal(scan(u64_field_at, " \t12 3", &v, &used), 0);
	assert_true(v == 12 && used == 4);
	assert_int_equal(scan(u64_field_at, "12\n", &v, &used), 0);
	assert_true(v == 12 && used == 2);
	assert_int_equal(scan(u64_field_at, "12", &v, &used), 0);
	v = 5;
	used = 9;
	assert_int_equal(scan(u64_field_at, "12x", &v, &used), -EINVAL);
	assert_int_equal(scan(u64_field_at, "  ", &v, &used), -EINVAL);
	assert_int_equal(scan(u64_field_at, "", &v, &used), -EINVAL);
	assert_true(v == 5 && used == 0);
}

static int
scan_alone(const char *s, const char *unit, uint64_t *ret)
{
	size_t len = strlen(s);
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_scan_u64_alone(copy, copy + len, unit, ret);

	free(copy);
	return r;
}

static void
test_scan_u64_alone(void **state)
{
	static const char *const bad[] = { "", " ", "x", "1 2", "1x", "1 k",
		"1 kBB", "1 kB 2", "1 MB", "-1", "18446744073709551616" };
	uint64_t v = 0;

	assert_int_equal(scan_alone(" 42 ", NULL, &v), 0);
	assert_true(v == 42);
	assert_int_equal(scan_alone("\t7 kB  ", "kB", &v), 0);
	assert_true(v == 7);
	assert_int_equal(scan_alone("8kB", "kB", &v), 0);
	assert_true(v == 8);
	assert_int_equal(scan_alone("9", "kB", &v), 0);
	assert_true(v == 9);
	/* Without a unit to accept, "kB" is trailing garbage. */
	assert_int_equal(scan_alone("1 kB", NULL, &v), -EINVAL);
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		v = 3;
		assert_int_equal(scan_alone(bad[i], "kB", &v), -EINVAL);
		assert_true(v == 3);
	}
}

static int
token_u64(const char *s, uint64_t max, uint64_t *ret)
{
	size_t len = strlen(s);
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_scan_token_u64(
	    (fm_collect_span) { copy, len }, max, ret);

	free(copy);
	return r;
}

static void
test_scan_token_u64(void **state)
{
	uint64_t v = 0;

	assert_int_equal(token_u64("4294967295", UINT32_MAX, &v), 0);
	assert_true(v == UINT32_MAX);
	assert_int_equal(token_u64("007", UINT64_MAX, &v), 0);
	assert_true(v == 7);
	v = 1;
	assert_int_equal(token_u64("4294967296", UINT32_MAX, &v), -EINVAL);
	assert_int_equal(token_u64("", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(token_u64("1 ", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(token_u64("1.5", UINT64_MAX, &v), -EINVAL);
	assert_int_equal(
	    token_u64("18446744073709551616", UINT64_MAX, &v), -EINVAL);
	assert_true(v == 1);
}

static void
test_scan_lines(void **state)
{
	static const char s[] = "a b\n\n\tc\nlast";
	char *copy = fm_test_exact_copy(s, sizeof(s) - 1);
	fm_collect_span rest = { copy, sizeof(s) - 1 }, line;

	assert_true(fm_collect_scan_next_line(&rest, &line));
	assert_true(line.p == copy && line.len == 3);
	assert_true(fm_collect_scan_next_line(&rest, &line));
	assert_int_equal(line.len, 0);
	assert_true(fm_collect_scan_next_line(&rest, &line));
	assert_true(line.len == 2 && line.p[0] == '\t');
	/* A last line without '\n' is a line. */
	assert_true(fm_collect_scan_next_line(&rest, &line));
	assert_true(line.len == 4 && memcmp(line.p, "last", 4) == 0);
	assert_false(fm_collect_scan_next_line(&rest, &line));
	/* "x\n" is one line, not two. */
	rest = (fm_collect_span) { copy + 4, 1 };
	assert_true(fm_collect_scan_next_line(&rest, &line));
	assert_int_equal(line.len, 0);
	assert_false(fm_collect_scan_next_line(&rest, &line));
	free(copy);
}

static void
test_scan_tokens(void **state)
{
	static const char s[] = " \tab  c\t";
	char *copy = fm_test_exact_copy(s, sizeof(s) - 1);
	fm_collect_span line = { copy, sizeof(s) - 1 }, tok;
	const char *p = copy, *end = copy + sizeof(s) - 1;

	assert_true(fm_collect_scan_next_token(&line, &tok));
	assert_true(tok.len == 2 && memcmp(tok.p, "ab", 2) == 0);
	assert_true(fm_collect_scan_next_token(&line, &tok));
	assert_true(tok.len == 1 && tok.p[0] == 'c');
	assert_false(fm_collect_scan_next_token(&line, &tok));
	assert_int_equal(line.len, 0);
	/* The word at a cursor: none at a blank. */
	assert_int_equal(fm_collect_scan_skip_word(&p, end), 0);
	fm_collect_scan_skip_blanks(&p, end);
	assert_ptr_equal(p, copy + 2);
	assert_int_equal(fm_collect_scan_skip_word(&p, end), 2);
	fm_collect_scan_skip_blanks(&p, end);
	assert_int_equal(fm_collect_scan_skip_word(&p, end), 1);
	fm_collect_scan_skip_blanks(&p, end);
	assert_ptr_equal(p, end);
	free(copy);
}

static void
test_scan_predicates(void **state)
{
	char *copy = fm_test_exact_copy("cpu12", 5);

	assert_true(fm_collect_scan_is(copy, 3, "cpu"));
	assert_false(fm_collect_scan_is(copy, 4, "cpu"));
	assert_false(fm_collect_scan_is(copy, 2, "cpu"));
	assert_true(fm_collect_scan_is(copy, 0, ""));
	assert_true(fm_collect_scan_is_digits(copy + 3, 2));
	assert_false(fm_collect_scan_is_digits(copy + 2, 3));
	assert_false(fm_collect_scan_is_digits(copy, 0));
	assert_true(fm_collect_scan_is_name((fm_collect_span) { copy, 5 }));
	assert_false(fm_collect_scan_is_name((fm_collect_span) { copy, 0 }));
	assert_false(fm_collect_scan_is_name((fm_collect_span) { "a b", 3 }));
	assert_false(fm_collect_scan_is_name((fm_collect_span) { "a\0b", 3 }));
	assert_false(fm_collect_scan_is_name((fm_collect_span) { "a\x7f", 2 }));
	assert_true(
	    fm_collect_scan_is_name((fm_collect_span) { "caf\xc3\xa9|", 6 }));
	assert_true(
	    fm_collect_scan_is_blank(' ') && fm_collect_scan_is_blank('\t'));
	assert_false(fm_collect_scan_is_blank('\n'));
	free(copy);
}

static void
test_scan_key_find(void **state)
{
	static const fm_collect_scan_key keys[] = {
		{ "MemTotal", 1u, 0 },
		{ "MemFree", 2u, 8 },
	};
	char *copy = fm_test_exact_copy("MemFreeX", 8);

	assert_ptr_equal(fm_collect_scan_key_find(keys, 2, copy, 7), &keys[1]);
	assert_null(fm_collect_scan_key_find(keys, 2, copy, 8));
	assert_null(fm_collect_scan_key_find(keys, 2, copy, 3));
	assert_null(fm_collect_scan_key_find(keys, 0, copy, 7));
	free(copy);
}

/* fm_collect_scan_u64_list() over an exact-size copy of s, storing at most cap
 * values in v[]. */
static int
u64_list(const char *s, uint64_t *v, size_t cap, uint32_t *ret_n)
{
	size_t len = strlen(s);
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_scan_u64_list(copy, copy + len, v, cap, ret_n);

	free(copy);
	return r;
}

static void
test_scan_u64_list(void **state)
{
	/* Leading zeros: 40 digits, still UINT64_MAX. */
	static const char *const long_ok =
	    " 1 "
	    "0000000000000000000018446744073709551615"
	    " 2";
	static const char *const bad[] = { "1 x", "1 2a", "-1", "1 +2", "1\n2",
		"1 2 18446744073709551616",
		"00000000000000000000018446744073709551616",
		"99999999999999999999 1" };
	uint64_t v[3] = { 7, 7, 7 };
	uint32_t n = 99;

	assert_int_equal(u64_list("", v, 3, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(u64_list(" \t ", NULL, 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(u64_list("\t12 0\t 345  6 7", v, 3, &n), 0);
	assert_int_equal(n, 5); /* every token counted, three stored */
	assert_true(v[0] == 12 && v[1] == 0 && v[2] == 345);
	/* cap 0 only checks and counts, whatever the path it takes. */
	assert_int_equal(u64_list("\t12 0\t 345  6 7", NULL, 0, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(u64_list(long_ok, v, 3, &n), 0);
	assert_true(n == 3 && v[0] == 1 && v[1] == UINT64_MAX && v[2] == 2);
	assert_int_equal(u64_list(long_ok, NULL, 0, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(u64_list("10000000000000000000", v, 1, &n), 0);
	assert_true(n == 1 && v[0] == 10000000000000000000u);
	/* Failures leave *ret_n alone, with and without values. */
	n = 99;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		size_t len = strlen(bad[i]);
		char *copy = fm_test_exact_copy(bad[i], len);

		if (fm_collect_scan_u64_list(copy, copy + len, v, 3, &n) !=
		        -EINVAL ||
		    fm_collect_scan_u64_list(copy, copy + len, NULL, 0, &n) !=
		        -EINVAL)
			fail_msg("\"%s\" should be rejected", bad[i]);
		free(copy);
	}
	/* A NUL is not a blank. */
	assert_int_equal(
	    fm_collect_scan_u64_list("1\0", "1\0" + 2, v, 3, &n), -EINVAL);
	assert_int_equal(
	    fm_collect_scan_u64_list("1\0", "1\0" + 2, NULL, 0, &n), -EINVAL);
	assert_int_equal(n, 99);
}

static void
test_scan_key_find_word(void **state)
{
	static const fm_collect_scan_key keys[] = {
		{ "pswpin", 1u, 0 },
		{ "pswpout", 2u, 8 },
		{ "oom_kill", 4u, 16 },
	};
	static const char *const misses[] = { "", " pswpin 1", "pswpinx 1",
		"pswp 1", "oom_kil", "pswpin:1", "x" };
	const char *after = NULL;
	char *copy = fm_test_exact_copy("pswpout\t5", 9);

	assert_ptr_equal(
	    fm_collect_scan_key_find_word(keys, 3, copy, copy + 9, &after),
	    &keys[1]);
	assert_ptr_equal(after, copy + 7);
	/* The name alone, up to the end. */
	assert_ptr_equal(
	    fm_collect_scan_key_find_word(keys, 3, copy, copy + 7, &after),
	    &keys[1]);
	assert_ptr_equal(after, copy + 7);
	assert_null(
	    fm_collect_scan_key_find_word(keys, 3, copy, copy + 6, &after));
	assert_null(
	    fm_collect_scan_key_find_word(keys, 0, copy, copy + 9, &after));
	free(copy);
	for (size_t i = 0; i < FM_ELEMENTSOF(misses); i++) {
		size_t len = strlen(misses[i]);

		copy = fm_test_exact_copy(misses[i], len);
		if (fm_collect_scan_key_find_word(
		        keys, 3, copy, copy + len, &after))
			fail_msg("\"%s\" should match no key", misses[i]);
		free(copy);
	}
	/* A NUL ends no name. */
	assert_null(fm_collect_scan_key_find_word(
	    keys, 3, "oom_kill\0", "oom_kill\0" + 9, &after));
}

static void
test_scan_key_find_before(void **state)
{
	static const fm_collect_scan_key keys[] = {
		{ "MemTotal", 1u, 0 },
		{ "MemFree", 2u, 8 },
	};
	static const char *const misses[] = { "", "MemFree", "MemFree ",
		"MemFreeX:", " MemFree:", "Mem:", "SwapFree:" };
	const char *after = NULL;
	char *copy = fm_test_exact_copy("MemFree: 5 kB", 13);

	assert_ptr_equal(fm_collect_scan_key_find_before(
	                     keys, 2, copy, copy + 13, ':', &after),
	    &keys[1]);
	assert_ptr_equal(after, copy + 8);
	assert_ptr_equal(fm_collect_scan_key_find_before(
	                     keys, 2, copy, copy + 8, ':', &after),
	    &keys[1]);
	assert_ptr_equal(after, copy + 8);
	assert_null(fm_collect_scan_key_find_before(
	    keys, 2, copy, copy + 7, ':', &after));
	assert_null(fm_collect_scan_key_find_before(
	    keys, 2, copy, copy + 13, ' ', &after));
	free(copy);
	for (size_t i = 0; i < FM_ELEMENTSOF(misses); i++) {
		size_t len = strlen(misses[i]);

		copy = fm_test_exact_copy(misses[i], len);
		if (fm_collect_scan_key_find_before(
		        keys, 2, copy, copy + len, ':', &after))
			fail_msg("\"%s\" should match no key", misses[i]);
		free(copy);
	}
}

static void
test_scan_firsts(void **state)
{
	static const fm_collect_scan_key keys[] = {
		{ "pgmajfault", 1u, 0 },
		{ "oom_kill", 2u, 8 },
		{ "\xff", 4u, 16 },
	};
	char *copy = fm_test_exact_copy("po\xff\x01"
	                                "a",
	    5);
	fm_collect_scan_firsts f;

	memset(&f, 0xa5, sizeof(f));
	fm_collect_scan_firsts_init(&f, keys, 3);
	assert_true(fm_collect_scan_firsts_has(&f, copy, copy + 5));
	assert_true(fm_collect_scan_firsts_has(&f, copy + 1, copy + 5));
	assert_true(fm_collect_scan_firsts_has(&f, copy + 2, copy + 5));
	assert_false(fm_collect_scan_firsts_has(&f, copy + 3, copy + 5));
	assert_false(fm_collect_scan_firsts_has(&f, copy + 4, copy + 5));
	/* Nothing at the end. */
	assert_false(fm_collect_scan_firsts_has(&f, copy + 5, copy + 5));
	fm_collect_scan_firsts_add(&f, 'a');
	fm_collect_scan_firsts_add(&f, '\x01');
	assert_true(fm_collect_scan_firsts_has(&f, copy + 4, copy + 5));
	assert_true(fm_collect_scan_firsts_has(&f, copy + 3, copy + 5));
	fm_collect_scan_firsts_init(&f, keys, 0);
	assert_false(fm_collect_scan_firsts_has(&f, copy, copy + 5));
	free(copy);
}

static void
test_scan_starts_with(void **state)
{
	char *copy = fm_test_exact_copy("cpu12", 5);
	const char *after = NULL;

	assert_true(fm_collect_scan_starts_with(copy, copy + 5, "cpu", &after));
	assert_ptr_equal(after, copy + 3);
	assert_true(
	    fm_collect_scan_starts_with(copy, copy + 5, "cpu12", &after));
	assert_ptr_equal(after, copy + 5);
	assert_true(fm_collect_scan_starts_with(copy, copy + 5, "", &after));
	assert_ptr_equal(after, copy);
	after = NULL;
	assert_false(
	    fm_collect_scan_starts_with(copy, copy + 5, "cpu123", &after));
	assert_false(
	    fm_collect_scan_starts_with(copy, copy + 2, "cpu", &after));
	assert_false(
	    fm_collect_scan_starts_with(copy, copy + 5, "cpx", &after));
	assert_null(after);
	/* The literal form of fm_collect_scan_is(). */
	assert_true(FM_COLLECT_SCAN_IS(copy, 3, "cpu"));
	assert_false(FM_COLLECT_SCAN_IS(copy, 4, "cpu"));
	assert_false(FM_COLLECT_SCAN_IS(copy, 2, "cpu"));
	assert_true(FM_COLLECT_SCAN_IS(copy, 0, ""));
	free(copy);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_u64),
		cmocka_unit_test(test_scan_u32),
		cmocka_unit_test(test_scan_char),
		cmocka_unit_test(test_scan_end),
		cmocka_unit_test(test_scan_decimal),
		cmocka_unit_test(test_scan_u64_field),
		cmocka_unit_test(test_scan_u64_alone),
		cmocka_unit_test(test_scan_token_u64),
		cmocka_unit_test(test_scan_lines),
		cmocka_unit_test(test_scan_tokens),
		cmocka_unit_test(test_scan_predicates),
		cmocka_unit_test(test_scan_key_find),
		cmocka_unit_test(test_scan_u64_list),
		cmocka_unit_test(test_scan_key_find_word),
		cmocka_unit_test(test_scan_key_find_before),
		cmocka_unit_test(test_scan_firsts),
		cmocka_unit_test(test_scan_starts_with),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
