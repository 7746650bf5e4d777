/* Tests for common/log.c: priority prefixes and errno suffixes. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

/* Runs fn with stderr redirected to a pipe and returns what it wrote. */
static void
capture(void (*fn)(void), char *out, size_t cap)
{
	int p[2], saved;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	saved = dup(STDERR_FILENO);
	dup2(p[1], STDERR_FILENO);
	close(p[1]);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = read(p[0], out, cap - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
}

static void
emit_errno(void)
{
	int r = fm_log_errno(LOG_ERR, -ENOENT, "Failed to open '%s'", "x");

	assert_int_equal(r, -ENOENT);
}

static void
emit_debug(void)
{
	fm_log(LOG_DEBUG, "hidden");
	fm_log(LOG_WARNING, "shown");
}

static void
test_log_errno_prefix_and_reason(void **state)
{
	char buf[256];

	fm_log_set_max_level(LOG_INFO);
	capture(emit_errno, buf, sizeof(buf));
	assert_string_equal(
	    buf, "<3>Failed to open 'x': No such file or directory\n");
}

static void
test_log_filters_by_level(void **state)
{
	char buf[256];

	fm_log_set_max_level(LOG_INFO);
	capture(emit_debug, buf, sizeof(buf));
	assert_string_equal(buf, "<4>shown\n");
}

static void
test_log_level_names(void **state)
{
	assert_int_equal(fm_log_level_from_string("debug"), LOG_DEBUG);
	assert_int_equal(fm_log_level_from_string("ERR"), LOG_ERR);
	assert_int_equal(fm_log_level_from_string("6"), LOG_INFO);
	assert_int_equal(fm_log_level_from_string("verbose"), -EINVAL);
	assert_int_equal(fm_log_level_from_string("8"), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_errno_prefix_and_reason),
		cmocka_unit_test(test_log_filters_by_level),
		cmocka_unit_test(test_log_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
