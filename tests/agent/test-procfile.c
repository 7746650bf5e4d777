/* Tests for agent/collect/procfile.c: open once, pread again, growth,
 * absence. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

static void
test_procfile_reads_fixture(void **state)
{
	fmi_procfile f;

	assert_int_equal(
	    fmi_procfile_open(&f, FM_FIXTURES "/proc-debian12-t0", "loadavg"),
	    0);
	assert_true(f.len > 10);
	assert_int_equal(f.buf[f.len], '\0');
	assert_int_equal(f.buf[1], '.'); /* "0.24 0.50 ..." */
	fmi_procfile_close(&f);
	assert_int_equal(f.fd, -1);
	assert_null(f.buf);
	fmi_procfile_close(&f); /* idempotent */
}

static void
test_procfile_rereads_in_place(void **state)
{
	char dir[FM_TEST_DIR_BYTES];
	fmi_procfile f;

	fm_test_tmpdir_new(dir, "procfile");
	fm_test_write_text(dir, "x", "one\n");
	assert_int_equal(fmi_procfile_open(&f, dir, "x"), 0);
	assert_string_equal(f.buf, "one\n");
	/* Rewritten in place (same inode), as procfs content changes. */
	fm_test_write_text(dir, "x", "two!!\n");
	assert_int_equal(fmi_procfile_read(&f), 6);
	assert_string_equal(f.buf, "two!!\n");
	fmi_procfile_close(&f);
	fm_test_tmpdir_remove(dir);
}

static void
test_procfile_grows_for_big_files(void **state)
{
	char dir[FM_TEST_DIR_BYTES];
	size_t big = 100000;
	char *content = malloc(big);
	fmi_procfile f;

	assert_non_null(content);
	memset(content, 'a', big);
	fm_test_tmpdir_new(dir, "procfile");
	fm_test_write_text(dir, "x", "small\n");
	assert_int_equal(fmi_procfile_open(&f, dir, "x"), 0);
	fm_test_write_file(dir, "x", content, big);
	assert_int_equal(fmi_procfile_read(&f), (int)big);
	assert_int_equal(f.len, big);
	assert_true(f.cap > big);
	assert_int_equal(f.buf[big - 1], 'a');
	fmi_procfile_close(&f);
	free(content);
	fm_test_tmpdir_remove(dir);
}

static void
test_procfile_missing_is_enoent(void **state)
{
	fmi_procfile f;

	assert_int_equal(fmi_procfile_open(&f, FM_FIXTURES "/proc-debian12-t0",
	                     "no-such-file"),
	    -ENOENT);
	assert_int_equal(f.fd, -1);
	assert_null(f.buf);
	assert_int_equal(fmi_procfile_read(&f), -EBADF);
}

static void
test_procfile_real_proc_pread(void **state)
{
	fmi_procfile f;
	int n1, n2;

	/* /proc/stat is a seq_file: pread at 0 must give a fresh copy. */
	assert_int_equal(fmi_procfile_open(&f, "/proc", "stat"), 0);
	n1 = (int)f.len;
	n2 = fmi_procfile_read(&f);
	assert_true(n1 > 0 && n2 > 0);
	assert_false(f.reopen);
	assert_int_equal(strncmp(f.buf, "cpu ", 4), 0);
	fmi_procfile_close(&f);
}

static void
test_procfile_path_too_long(void **state)
{
	char root[PATH_MAX + 10];
	fmi_procfile f;

	memset(root, 'r', sizeof(root) - 1);
	root[sizeof(root) - 1] = '\0';
	assert_int_equal(fmi_procfile_open(&f, root, "stat"), -ENAMETOOLONG);
	assert_int_equal(f.fd, -1);
}

/* A procfile that was never opened is closed, whatever its fd says: a
 * zeroed one holds fd 0, which close must leave alone. */
static void
test_procfile_close_never_opened(void **state)
{
	bool stdin_open = fcntl(0, F_GETFD) >= 0;
	fmi_procfile f;

	memset(&f, 0, sizeof(f));
	assert_int_equal(fmi_procfile_read(&f), -EBADF);
	fmi_procfile_close(&f);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, stdin_open);
	fmi_procfile_init(&f);
	fmi_procfile_close(&f);
	assert_int_equal(f.fd, -1);
	/* After a failed open, twice. */
	assert_int_equal(fmi_procfile_open(&f, FM_FIXTURES "/proc-debian12-t0",
	                     "no-such-file"),
	    -ENOENT);
	fmi_procfile_close(&f);
	fmi_procfile_close(&f);
	assert_int_equal(f.fd, -1);
	assert_null(f.buf);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, stdin_open);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_procfile_reads_fixture),
		cmocka_unit_test(test_procfile_rereads_in_place),
		cmocka_unit_test(test_procfile_grows_for_big_files),
		cmocka_unit_test(test_procfile_missing_is_enoent),
		cmocka_unit_test(test_procfile_real_proc_pread),
		cmocka_unit_test(test_procfile_path_too_long),
		cmocka_unit_test(test_procfile_close_never_opened),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
