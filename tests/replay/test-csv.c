/* Tests for tools/replay/csv.c: fedmon-replay's input parser. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tools/replay/csv.h"

void *__real_malloc(size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_realloc(void *p, size_t n);

static atomic_int fail_in = -1; /* fail the allocation after this many */

void *
__wrap_malloc(size_t n)
{
	return atomic_fetch_sub(&fail_in, 1) != 0 ? __real_malloc(n) : NULL;
}

void *
__wrap_realloc(void *p, size_t n)
{
	return atomic_fetch_sub(&fail_in, 1) != 0 ? __real_realloc(p, n) : NULL;
}

/* Parses the NUL-terminated text s, which must succeed. */
static fm_replay_csv *
parse_ok(const char *s, size_t rows, size_t cols)
{
	fm_replay_csv_error err = { 0 };
	fm_replay_csv *m = NULL;
	int r;

	r = fm_replay_csv_parse(s, strlen(s), &err, &m);
	if (r != 0)
		fail_msg("%d at %llu:%u: %s", r, (unsigned long long)err.line,
		    err.column, err.why);
	assert_int_equal(m->rows, rows);
	assert_int_equal(m->cols, cols);
	return m;
}

/* Parses buf[len], which must fail with want at line:column, with why
 * containing what. */
static void
parse_bad(const char *buf, size_t len, int want, uint64_t line, uint32_t column,
    const char *what)
{
	fm_replay_csv_error err = { 0 };
	fm_replay_csv *m = (fm_replay_csv *)&err; /* must stay untouched */
	int r;

	r = fm_replay_csv_parse(buf, len, &err, &m);
	if (r != want || err.line != line || err.column != column ||
	    !strstr(err.why, what))
		fail_msg("got %d at %llu:%u '%s', want %d at %llu:%u '%s'", r,
		    (unsigned long long)err.line, err.column, err.why, want,
		    (unsigned long long)line, column, what);
	assert_ptr_equal(m, (fm_replay_csv *)&err);
}

static void
parse_bad_str(
    const char *s, int want, uint64_t line, uint32_t column, const char *what)
{
	parse_bad(s, strlen(s), want, line, column, what);
}

static void
test_csv_parses_rows(void **state)
{
	fm_replay_csv *m = parse_ok("1,2,3\n4.5,-6e-1,+7\n", 2, 3);
	const float want[] = { 1, 2, 3, 4.5f, -0.6f, 7 };

	assert_memory_equal(m->v, want, sizeof(want));
	m = fm_replay_csv_free(m);
	assert_null(m);
	assert_null(fm_replay_csv_free(NULL));
}

static void
test_csv_last_line_without_newline(void **state)
{
	fm_replay_csv *m = parse_ok("1,2\n3,4", 2, 2);

	assert_true(m->v[3] == 4.0f);
	fm_replay_csv_free(m);
	m = parse_ok("0.25", 1, 1);
	assert_true(m->v[0] == 0.25f);
	fm_replay_csv_free(m);
}

static void
test_csv_crlf_and_blank_lines(void **state)
{
	fm_replay_csv *m =
	    parse_ok("\r\n\n1,2\r\n  \t\r\n\n3,4\r\n\r\n\n", 2, 2);
	const float want[] = { 1, 2, 3, 4 };

	assert_memory_equal(m->v, want, sizeof(want));
	fm_replay_csv_free(m);
}

static void
test_csv_spaces_around_fields(void **state)
{
	fm_replay_csv *m = parse_ok(" 1 ,\t2\t, .5\n5. ,1E2,-0\n", 2, 3);
	const float want[] = { 1, 2, 0.5f, 5, 100, -0.0f };

	assert_memory_equal(m->v, want, sizeof(want));
	fm_replay_csv_free(m);
}

static void
test_csv_non_numeric_fields(void **state)
{
	parse_bad_str("1,2\n3,x\n", -EINVAL, 2, 2, "non-numeric field 'x'");
	parse_bad_str("1.2.3\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad_str("0x10\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad_str("1e\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad_str("--1\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad_str("1 2\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad_str("1\r2\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad_str("a,b\n", -EINVAL, 1, 1, "non-numeric field 'a'");
	parse_bad_str("time,cpu\n1,2\n", -EINVAL, 1, 1, "non-numeric");
	parse_bad("1,\0,3\n", 6, -EINVAL, 1, 2, "non-numeric field '?'");
}

static void
test_csv_non_finite_fields(void **state)
{
	parse_bad_str(
	    "1,2\n\n3,nan\n", -EINVAL, 3, 2, "non-finite field 'nan'");
	parse_bad_str("inf\n", -EINVAL, 1, 1, "non-finite");
	parse_bad_str("1\n-Infinity\n", -EINVAL, 2, 1, "non-finite");
	parse_bad_str("+NaN\n", -EINVAL, 1, 1, "non-finite");
	parse_bad_str("1,1e999\n", -EINVAL, 1, 2, "out-of-range field '1e999'");
	/* finite as a double, not as a float */
	parse_bad_str("1e39\n", -EINVAL, 1, 1, "out-of-range");
	parse_bad_str("1e-999\n", -EINVAL, 1, 1, "out-of-range");
}

static void
test_csv_empty_fields(void **state)
{
	parse_bad_str("1,,2\n", -EINVAL, 1, 2, "empty field");
	parse_bad_str("1,2,\n", -EINVAL, 1, 3, "empty field");
	parse_bad_str(",1\n", -EINVAL, 1, 1, "empty field");
	parse_bad_str("1, \t,2\n", -EINVAL, 1, 2, "empty field");
}

static void
test_csv_ragged_rows(void **state)
{
	parse_bad_str(
	    "1,2,3\n4,5\n", -EINVAL, 2, 3, "expected 3 fields, found 2");
	parse_bad_str("1,2\n3,4\n\n\n5,6,7\n", -EINVAL, 5, 3,
	    "expected 2 fields, found 3");
	parse_bad_str(
	    "1,2\n3,4,\n", -EINVAL, 2, 3, "expected 2 fields, found 3");
	parse_bad_str(
	    "\n\n1\n2,3\r\n", -EINVAL, 4, 2, "expected 1 fields, found 2");
}

static void
test_csv_first_error_in_file_order(void **state)
{
	/* a bad number on line 2 comes before the ragged line 3 */
	parse_bad_str("1,2\n3,?\n4\n", -EINVAL, 2, 2, "non-numeric");
}

static void
test_csv_empty_input(void **state)
{
	parse_bad("", 0, -ENODATA, 0, 0, "no rows");
	parse_bad(NULL, 0, -ENODATA, 0, 0, "no rows");
	parse_bad_str("\n\r\n \t\n\n", -ENODATA, 0, 0, "no rows");
}

static void
test_csv_field_length_cap(void **state)
{
	char line[FM_REPLAY_CSV_MAX_FIELD_BYTES + 4];

	memset(line, '1', sizeof(line) - 2);
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	parse_bad_str(line, -EINVAL, 1, 1, "field longer than");
	/* exactly at the cap: accepted (leading zeros keep it small) */
	memset(line, '0', FM_REPLAY_CSV_MAX_FIELD_BYTES);
	line[FM_REPLAY_CSV_MAX_FIELD_BYTES - 1] = '7';
	line[FM_REPLAY_CSV_MAX_FIELD_BYTES] = '\0';
	fm_replay_csv_free(parse_ok(line, 1, 1));
}

static void
test_csv_column_cap(void **state)
{
	size_t n = FM_REPLAY_CSV_MAX_COLS + 1;
	char *s = malloc(2 * n + 1);

	for (size_t i = 0; i < n; i++) {
		s[2 * i] = '0';
		s[2 * i + 1] = ',';
	}
	s[2 * n - 1] = '\n';
	s[2 * n] = '\0';
	parse_bad_str(
	    s, -E2BIG, 1, FM_REPLAY_CSV_MAX_COLS + 1, "more than 4096 fields");
	/* at the cap: fine */
	s[2 * n - 3] = '\n';
	s[2 * n - 2] = '\0';
	fm_replay_csv_free(parse_ok(s, 1, FM_REPLAY_CSV_MAX_COLS));
	free(s);
}

static void
test_csv_row_cap_before_allocating(void **state)
{
	size_t rows = FM_REPLAY_CSV_MAX_ROWS + 1, len = 2 * rows;
	char *s = malloc(len);

	for (size_t i = 0; i < rows; i++) {
		s[2 * i] = '1';
		s[2 * i + 1] = '\n';
	}
	parse_bad(s, len, -E2BIG, FM_REPLAY_CSV_MAX_ROWS + 1, 0,
	    "more than 10000000 rows");
	free(s);
}

static void
test_csv_byte_cap(void **state)
{
	static const char one[] = "1\n";

	/* refused on the length alone, before a byte is read */
	parse_bad(
	    one, FM_REPLAY_CSV_MAX_BYTES + 1u, -EFBIG, 0, 0, "larger than");
}

static void
test_csv_null_error_struct(void **state)
{
	fm_replay_csv *m = NULL;

	assert_int_equal(fm_replay_csv_parse("x", 1, NULL, &m), -EINVAL);
	assert_int_equal(fm_replay_csv_parse("1", 1, NULL, &m), 0);
	fm_replay_csv_free(m);
}

/* Writes s to a new temporary file; returns its path (free it). */
static char *
temp_file(const char *s)
{
	char *path = strdup("/tmp/fedmon-test-csv-XXXXXX");
	int fd = mkstemp(path);
	size_t len = strlen(s);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_csv_read_file(void **state)
{
	fm_replay_csv_error err = { 0 };
	fm_replay_csv *m = NULL;
	char *good = temp_file("1,2\r\n3,4\r\n");
	char *bad = temp_file("1,2\n\n3,4\n5,nan\n");
	char *empty = temp_file("");

	assert_int_equal(fm_replay_csv_read_file(good, &err, &m), 0);
	assert_int_equal(m->rows, 2);
	assert_true(m->v[3] == 4.0f);
	m = fm_replay_csv_free(m);
	assert_int_equal(fm_replay_csv_read_file(bad, &err, &m), -EINVAL);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.column, 2);
	assert_int_equal(fm_replay_csv_read_file(empty, &err, &m), -ENODATA);
	assert_int_equal(
	    fm_replay_csv_read_file("/nonexistent/x.csv", &err, &m), -ENOENT);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.why, "cannot open"));
	assert_int_equal(fm_replay_csv_read_file("/tmp", &err, &m), -EISDIR);
	assert_null(m);
	unlink(good);
	unlink(bad);
	unlink(empty);
	free(good);
	free(bad);
	free(empty);
}

static void
test_csv_read_pipe(void **state)
{
	fm_replay_csv_error err = { 0 };
	fm_replay_csv *m = NULL;
	char path[64];
	int fds[2];

	/* not a regular file: read in chunks until EOF */
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], "1,2\n3,4\n", 8), 8);
	close(fds[1]);
	snprintf(path, sizeof(path), "/dev/fd/%d", fds[0]);
	assert_int_equal(fm_replay_csv_read_file(path, &err, &m), 0);
	assert_int_equal(m->rows, 2);
	fm_replay_csv_free(m);
	close(fds[0]);
}

static void
test_csv_out_of_memory(void **state)
{
	fm_replay_csv_error err = { 0 };
	fm_replay_csv *m = NULL;
	char *path = temp_file("1,2\n3,4\n");
	int r;

	atomic_store(&fail_in, 0);
	r = fm_replay_csv_parse("1,2\n", 4, &err, &m);
	atomic_store(&fail_in, -1);
	assert_int_equal(r, -ENOMEM);
	/* the read buffer, then the matrix */
	for (int k = 0; k < 2; k++) {
		atomic_store(&fail_in, k);
		r = fm_replay_csv_read_file(path, &err, &m);
		atomic_store(&fail_in, -1);
		assert_int_equal(r, -ENOMEM);
	}
	assert_null(m);
	unlink(path);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csv_parses_rows),
		cmocka_unit_test(test_csv_last_line_without_newline),
		cmocka_unit_test(test_csv_crlf_and_blank_lines),
		cmocka_unit_test(test_csv_spaces_around_fields),
		cmocka_unit_test(test_csv_non_numeric_fields),
		cmocka_unit_test(test_csv_non_finite_fields),
		cmocka_unit_test(test_csv_empty_fields),
		cmocka_unit_test(test_csv_ragged_rows),
		cmocka_unit_test(test_csv_first_error_in_file_order),
		cmocka_unit_test(test_csv_empty_input),
		cmocka_unit_test(test_csv_field_length_cap),
		cmocka_unit_test(test_csv_column_cap),
		cmocka_unit_test(test_csv_row_cap_before_allocating),
		cmocka_unit_test(test_csv_byte_cap),
		cmocka_unit_test(test_csv_null_error_struct),
		cmocka_unit_test(test_csv_read_file),
		cmocka_unit_test(test_csv_read_pipe),
		cmocka_unit_test(test_csv_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
