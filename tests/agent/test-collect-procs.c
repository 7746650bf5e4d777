/* Tests for agent/collect/collect-procs.c: getdents64 record counting and the
 * collector. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
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

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

/* d_ino, d_off, d_reclen, d_type, then the name. */
#define NAME_OFFSET 19

/*
 * Appends one record at buf + *off: name with its NUL, padded to 8 bytes
 * like the kernel does, unless reclen is not 0 (then it is written as
 * given, for malformed records). Returns the record's start.
 */
static size_t
put_record(unsigned char *buf, size_t *off, const char *name,
    unsigned char type, uint16_t reclen)
{
	size_t start = *off;
	size_t name_len = strlen(name) + 1;
	uint16_t len = (uint16_t)((NAME_OFFSET + name_len + 7) & ~7u);
	uint64_t ino = 42;
	int64_t next = (int64_t)(start + len);

	memset(buf + start, 0, len);
	memcpy(buf + start, &ino, 8);
	memcpy(buf + start + 8, &next, 8);
	if (reclen == 0)
		reclen = len;
	memcpy(buf + start + 16, &reclen, 2);
	buf[start + 18] = type;
	memcpy(buf + start + NAME_OFFSET, name, name_len);
	*off += len;
	return start;
}

/* Counts from a buffer of exactly len bytes (ASan sees over-reads). */
static int
count_exact(const unsigned char *buf, size_t len, uint32_t *ret)
{
	unsigned char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = fm_collect_procdir_count(copy, len, ret);
	free(copy);
	return r;
}

/* ---- parser --------------------------------------------------------- */

static void
test_collect_procs_counts_records(void **state)
{
	unsigned char buf[1024];
	size_t off = 0;
	uint32_t n = 99;

	put_record(buf, &off, ".", DT_DIR, 0);
	put_record(buf, &off, "..", DT_DIR, 0);
	put_record(buf, &off, "1", DT_DIR, 0);
	put_record(buf, &off, "4242", DT_DIR, 0);
	put_record(buf, &off, "77", DT_UNKNOWN, 0); /* d_type not filled */
	put_record(buf, &off, "self", DT_LNK, 0);
	put_record(buf, &off, "123", DT_REG, 0); /* a file: not a process */
	put_record(buf, &off, "12a", DT_DIR, 0);
	put_record(buf, &off, "", DT_DIR, 0);
	put_record(buf, &off, "4294967296", DT_DIR, 0);
	assert_int_equal(count_exact(buf, off, &n), 0);
	assert_int_equal(n, 4);
	/* An empty buffer: nothing, fine. */
	assert_int_equal(count_exact(buf, 0, &n), 0);
	assert_int_equal(n, 0);
	/* A record with exactly one name byte (the NUL) is the smallest. */
	off = 0;
	put_record(buf, &off, "", DT_DIR, NAME_OFFSET + 1);
	assert_int_equal(count_exact(buf, NAME_OFFSET + 1, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_collect_procs_rejects_malformed(void **state)
{
	unsigned char buf[1024];
	size_t off = 0, rec;
	uint32_t n = 99;
	uint16_t bad;

	/* d_reclen 0 would loop for ever. */
	off = 0;
	put_record(buf, &off, "1", DT_DIR, 0);
	rec = put_record(buf, &off, "2", DT_DIR, 0);
	bad = 0;
	memcpy(buf + rec + 16, &bad, 2);
	assert_int_equal(count_exact(buf, off, &n), -EINVAL);
	/* Shorter than its header plus a NUL. */
	bad = NAME_OFFSET;
	memcpy(buf + rec + 16, &bad, 2);
	assert_int_equal(count_exact(buf, off, &n), -EINVAL);
	/* Reaching past the end. */
	bad = (uint16_t)(off - rec + 8);
	memcpy(buf + rec + 16, &bad, 2);
	assert_int_equal(count_exact(buf, off, &n), -EINVAL);
	/* A name without its NUL inside the record. */
	off = 0;
	rec = put_record(buf, &off, "1234", DT_DIR, 0);
	memset(buf + rec + NAME_OFFSET, '9', off - rec - NAME_OFFSET);
	assert_int_equal(count_exact(buf, off, &n), -EINVAL);
	/* Trailing bytes too short for a header. */
	off = 0;
	put_record(buf, &off, "1", DT_DIR, 0);
	assert_int_equal(count_exact(buf, off + 5, &n), -EINVAL);
	assert_int_equal(count_exact(buf, NAME_OFFSET, &n), -EINVAL);
	assert_int_equal(n, 99);
}

static void
test_collect_procs_every_prefix(void **state)
{
	unsigned char buf[4096];
	size_t off = 0;

	for (int i = 0; i < 50; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%d", i * 37);
		put_record(buf, &off, name, DT_DIR, 0);
	}
	for (size_t len = 0; len <= off; len++) {
		uint32_t n = 0;
		int r = count_exact(buf, len, &n);

		if (r != 0 && r != -EINVAL)
			fail_msg("prefix %zu: %d", len, r);
		if (r == 0)
			assert_true(n <= 50);
	}
}

static void
test_collect_procs_real_getdents(void **state)
{
	unsigned char buf[8192];
	int fd = open(T0, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ssize_t n;
	uint32_t count = 0;

	assert_true(fd >= 0);
	n = getdents64(fd, buf, sizeof(buf));
	assert_true(n > 0);
	/* 1, 10, 11 and 1163; the rest are files and other directories. */
	assert_int_equal(fm_collect_procdir_count(buf, (size_t)n, &count), 0);
	assert_int_equal(count, 4);
	assert_int_equal(getdents64(fd, buf, sizeof(buf)), 0);
	close(fd);
}

/* ---- collector ------------------------------------------------------ */

static int
collector_read(void *st, float *v)
{
	fmi_collect_ctx ctx = { .dt_ns = 0, .ncpu = 2, .v = v };

	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		v[i] = NAN;
	return fmi_collector_procs.read(st, &ctx);
}

static void
test_collect_procs_fixture(void **state)
{
	float v[FM_FEATURE_COUNT];
	fm_collect_sampler_config cfg;
	void *st = calloc(1, fmi_collector_procs.state_bytes);

	assert_non_null(st);
	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = T0;
	assert_int_equal(fmi_collector_procs.open(st, &cfg), 0);
	for (int i = 0; i < 3; i++) {
		/* Every tick lists from the start again. */
		assert_int_equal(collector_read(st, v), 0);
		assert_near(v[FM_F_PROC_COUNT], log1p(4.0));
		for (int f = 0; f < FM_FEATURE_COUNT; f++) {
			if (f != FM_F_PROC_COUNT)
				assert_true(fm_collect_feature_is_masked(v[f]));
		}
	}
	fmi_collector_procs.close(st);
	fmi_collector_procs.close(st);
	free(st);
}

static void
test_collect_procs_many_and_changing(void **state)
{
	enum { DIRS = 1000 };
	char dir[FM_TEST_DIR_BYTES];
	char path[PATH_MAX];
	float v[FM_FEATURE_COUNT];
	fm_collect_sampler_config cfg;
	void *st = calloc(1, fmi_collector_procs.state_bytes);
	int fd;

	assert_non_null(st);
	fm_test_tmpdir_new(dir, "procs");
	/* More entries than one getdents64 buffer holds. */
	for (int i = 1; i <= DIRS; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		assert_int_equal(mkdir(path, 0700), 0);
	}
	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = dir;
	assert_int_equal(fmi_collector_procs.open(st, &cfg), 0);
	assert_int_equal(collector_read(st, v), 0);
	assert_near(v[FM_F_PROC_COUNT], log1p((double)DIRS));
	/* A process exits; a numeric file is no process. */
	snprintf(path, sizeof(path), "%s/%d", dir, DIRS);
	assert_int_equal(rmdir(path), 0);
	snprintf(path, sizeof(path), "%s/99999", dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(collector_read(st, v), 0);
	assert_near(v[FM_F_PROC_COUNT], log1p((double)DIRS - 1));
	fmi_collector_procs.close(st);
	free(st);
	fm_test_tmpdir_remove(dir);
}

static void
test_collect_procs_host_proc(void **state)
{
	float v[FM_FEATURE_COUNT];
	fm_collect_sampler_config cfg;
	void *st = calloc(1, fmi_collector_procs.state_bytes);

	assert_non_null(st);
	fm_collect_sampler_config_init(&cfg);
	assert_int_equal(fmi_collector_procs.open(st, &cfg), 0);
	assert_int_equal(collector_read(st, v), 0);
	/* At least this process. */
	assert_true(v[FM_F_PROC_COUNT] >= (float)log1p(1.0));
	fmi_collector_procs.close(st);
	free(st);
}

static void
test_collect_procs_open_errors(void **state)
{
	fm_collect_sampler_config cfg;
	void *st = calloc(1, fmi_collector_procs.state_bytes);
	float v[FM_FEATURE_COUNT];

	assert_non_null(st);
	/* close on a state open never saw */
	fmi_collector_procs.close(st);
	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = "/nonexistent-fedmon";
	assert_int_equal(fmi_collector_procs.open(st, &cfg), -ENOENT);
	assert_int_equal(collector_read(st, v), -EBADF);
	fmi_collector_procs.close(st);
	cfg.procfs = T0 "/diskstats"; /* a file */
	assert_int_equal(fmi_collector_procs.open(st, &cfg), -ENOTDIR);
	fmi_collector_procs.close(st);
	free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_procs_counts_records),
		cmocka_unit_test(test_collect_procs_rejects_malformed),
		cmocka_unit_test(test_collect_procs_every_prefix),
		cmocka_unit_test(test_collect_procs_real_getdents),
		cmocka_unit_test(test_collect_procs_fixture),
		cmocka_unit_test(test_collect_procs_many_and_changing),
		cmocka_unit_test(test_collect_procs_host_proc),
		cmocka_unit_test(test_collect_procs_open_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
