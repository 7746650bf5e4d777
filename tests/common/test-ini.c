/* Tests for common/ini.c: errors name file, line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

struct seen {
	int count;
	char last[64];
};

static int
handler(void *userdata, const char *section, const char *key, const char *value,
    char *why)
{
	struct seen *s = userdata;

	if (strcmp(key, "bad") == 0) {
		snprintf(why, FM_INI_WHY_BYTES, "refused");
		return -EINVAL;
	}
	s->count++;
	snprintf(s->last, sizeof(s->last), "%s.%s=%s", section, key, value);
	return 0;
}

static char *
write_tmp(const char *content)
{
	char *path = strdup("/tmp/fm-test-ini-XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(
	    write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return path;
}

static void
test_ini_reads_keys(void **state)
{
	char err[FM_INI_ERROR_BYTES];
	struct seen s = { 0 };
	char *p = write_tmp("# comment\n[a]\nx = 1\n; other\n[b]\ny=two\n");

	assert_int_equal(fm_ini_parse_file(p, handler, &s, err), 0);
	assert_int_equal(s.count, 2);
	assert_string_equal(s.last, "b.y=two");
	unlink(p);
	free(p);
}

static void
test_ini_refused_key_names_line(void **state)
{
	char err[FM_INI_ERROR_BYTES];
	struct seen s = { 0 };
	char *p = write_tmp("[a]\nx = 1\n\nbad = 3\n");
	char want[512];

	assert_int_equal(fm_ini_parse_file(p, handler, &s, err), -EINVAL);
	snprintf(want, sizeof(want), "%s:4: refused 'bad' in section [a]", p);
	assert_string_equal(err, want);
	unlink(p);
	free(p);
}

static void
test_ini_syntax_error_names_line(void **state)
{
	char err[FM_INI_ERROR_BYTES];
	struct seen s = { 0 };
	char *p = write_tmp("[a]\nx = 1\nno equals sign here\n");
	char want[64];

	assert_int_equal(fm_ini_parse_file(p, handler, &s, err), -EINVAL);
	snprintf(want, sizeof(want), "%s:3: syntax error", p);
	assert_memory_equal(err, want, strlen(want));
	unlink(p);
	free(p);
}

static void
test_ini_overlong_line_is_error(void **state)
{
	char err[FM_INI_ERROR_BYTES];
	struct seen s = { 0 };
	char content[400];
	char *p;

	snprintf(content, sizeof(content), "[a]\nx = %0300d\n", 1);
	p = write_tmp(content);
	assert_int_equal(fm_ini_parse_file(p, handler, &s, err), -EINVAL);
	assert_non_null(strstr(err, ":2: line longer than 198 characters"));
	unlink(p);
	free(p);
}

static void
test_ini_missing_file(void **state)
{
	char err[FM_INI_ERROR_BYTES];
	struct seen s = { 0 };

	assert_int_equal(
	    fm_ini_parse_file("/nonexistent/fm.conf", handler, &s, err),
	    -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/fm.conf"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ini_reads_keys),
		cmocka_unit_test(test_ini_refused_key_names_line),
		cmocka_unit_test(test_ini_syntax_error_names_line),
		cmocka_unit_test(test_ini_overlong_line_is_error),
		cmocka_unit_test(test_ini_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
