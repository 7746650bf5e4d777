/*
 * Tests for common/file.c's atomic write: the order of its calls (the data
 * reach the disk before the rename makes them the file's, and the rename
 * is made durable after), and its failures. fsync(2) and rename(2) are
 * wrapped (-Wl,--wrap) to record the order and to fail on demand.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);

/* The calls seen: 'f' an fsync of a file, 'd' of a directory, 'r' a
 * rename. */
static char calls[16];
static size_t n_calls;
static int fail_fsync;  /* errno the next fsync of a file fails with */
static int fail_rename; /* errno the next rename fails with */

static void
record(char c)
{
	if (n_calls + 1 < sizeof(calls))
		calls[n_calls++] = c;
	calls[n_calls] = '\0';
}

int
__wrap_fsync(int fd)
{
	struct stat st;
	bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);

	record(dir ? 'd' : 'f');
	if (!dir && fail_fsync) {
		errno = fail_fsync;
		fail_fsync = 0;
		return -1;
	}
	return __real_fsync(fd);
}

int
__wrap_rename(const char *from, const char *to)
{
	record('r');
	if (fail_rename) {
		errno = fail_rename;
		fail_rename = 0;
		return -1;
	}
	return __real_rename(from, to);
}

static char dir[64], path[96], tmp[112];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fm-test-file-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n_calls = 0;
	calls[0] = '\0';
	fail_fsync = fail_rename = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(tmp);
	unlink(path);
	return rmdir(dir);
}

/* The content of path, or "" when it cannot be read. */
static const char *
content(const char *p)
{
	static char buf[64];
	uint8_t *b;
	size_t n;

	if (fm_file_read_all(p, sizeof(buf) - 1, &b, &n) < 0)
		return "";
	memcpy(buf, b, n + 1);
	free(b);
	return buf;
}

static void
test_file_write_atomic_fsyncs_before_rename(void **state)
{
	(void)state;
	assert_int_equal(fm_file_write_atomic(path, "new", 3, 0640), 0);
	/* the file's data, then the rename, then the directory's entry */
	assert_string_equal(calls, "frd");
	assert_string_equal(content(path), "new");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void
test_file_write_atomic_fsync_failure_keeps_old(void **state)
{
	(void)state;
	assert_int_equal(fm_file_write_atomic(path, "old", 3, 0640), 0);
	n_calls = 0;
	fail_fsync = EIO;
	assert_int_equal(fm_file_write_atomic(path, "new", 3, 0640), -EIO);
	/* no rename of data that may not be on disk */
	assert_string_equal(calls, "f");
	assert_string_equal(content(path), "old");
	assert_int_equal(access(tmp, F_OK), -1);
}

static void
test_file_write_atomic_rename_failure_removes_tmp(void **state)
{
	(void)state;
	fail_rename = EXDEV;
	assert_int_equal(fm_file_write_atomic(path, "new", 3, 0640), -EXDEV);
	assert_string_equal(calls, "fr");
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(access(tmp, F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_file_write_atomic_fsyncs_before_rename, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_write_atomic_fsync_failure_keeps_old, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_write_atomic_rename_failure_removes_tmp, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
