/*
 * Tests for agent/collect/sampler.c on the fixture trees and on this machine's
 * real /proc, including the promise that a tick never allocates: malloc,
 * calloc and realloc are wrapped (-Wl,--wrap) and counted.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/collect/collect.h"
#include "tests/support/alloc-hook.h"
#include "tests/agent/test-util.h"

static unsigned
count_unmasked(const fm_collect_sample *s)
{
	unsigned n = 0;

	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++)
		n += !fm_collect_feature_is_masked(s->v[f]);
	return n;
}

static void
test_sampler_fixture_all_sources(void **state)
{
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s;
	fm_collect_sample a, b;

	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = FM_FIXTURES "/proc-debian12-t0";
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), 0);
	assert_string_equal(fm_collect_sampler_missing(s), "");
	assert_int_equal(fm_collect_sampler_read(s, &a), 0);
	/* first read: rates masked, gauges known */
	assert_true(fm_collect_feature_is_masked(a.v[FM_F_CPU_USER]));
	assert_true(fm_collect_feature_is_masked(a.v[FM_F_DISK_READ_OPS]));
	assert_false(fm_collect_feature_is_masked(a.v[FM_F_MEM_USED]));
	assert_false(fm_collect_feature_is_masked(a.v[FM_F_LOAD_1]));
	assert_true(a.v[FM_F_MEM_USED] > 0.0f && a.v[FM_F_MEM_USED] < 1.0f);
	assert_int_equal(fm_collect_sampler_read(s, &b), 0);
	assert_true(b.mono_ns > a.mono_ns);
	/* second read over unchanged files: rates are real zeros now */
	assert_false(fm_collect_feature_is_masked(b.v[FM_F_DISK_READ_OPS]));
	assert_true(b.v[FM_F_DISK_READ_OPS] == 0.0f);
	/* CPU fractions of an unchanged /proc/stat: no time passed, masked */
	assert_true(fm_collect_feature_is_masked(b.v[FM_F_CPU_USER]));
	fm_collect_sampler_free(s);
}

static void
test_sampler_missing_sources_are_masked(void **state)
{
	char dir[FM_TEST_DIR_BYTES];
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s = NULL;
	fm_collect_sample a;

	fm_test_tmpdir_new(dir, "sampler");
	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = dir;
	/* No /proc/stat: not a procfs at all. */
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), -ENOENT);
	assert_null(s);
	/* Only /proc/stat: everything else missing and masked. */
	fm_test_write_text(dir, "stat",
	    "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0 0 0\n"
	    "ctxt 5\nprocesses 3\nprocs_running 1\nprocs_blocked 0\n");
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), 0);
	assert_non_null(strstr(fm_collect_sampler_missing(s), "meminfo"));
	assert_non_null(strstr(fm_collect_sampler_missing(s), "pressure"));
	/* "stat" itself is present ("vmstat" is not) */
	assert_int_not_equal(
	    strncmp(fm_collect_sampler_missing(s), "stat,", 5), 0);
	assert_null(strstr(fm_collect_sampler_missing(s), ",stat,"));
	assert_int_equal(fm_collect_sampler_read(s, &a), 0);
	assert_true(fm_collect_feature_is_masked(a.v[FM_F_MEM_USED]));
	assert_true(fm_collect_feature_is_masked(a.v[FM_F_PSI_IO_SOME]));
	assert_true(fm_collect_feature_is_masked(a.v[FM_F_FS_FULLEST]));
	fm_collect_sampler_free(s);
	fm_test_tmpdir_remove(dir);
}

static void
test_sampler_real_proc(void **state)
{
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s;
	fm_collect_sample a, b;
	double sum;

	fm_collect_sampler_config_init(&cfg);
	cfg.slow_every = 1; /* every source on both reads */
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), 0);
	assert_int_equal(fm_collect_sampler_read(s, &a), 0);
	usleep(200000);
	assert_int_equal(fm_collect_sampler_read(s, &b), 0);
	/* This machine has /proc/stat, meminfo, disks, NICs: most features
	 * are real after two reads. */
	assert_true(count_unmasked(&b) >= 40);
	sum = b.v[FM_F_CPU_USER] + b.v[FM_F_CPU_SYSTEM] + b.v[FM_F_CPU_IOWAIT] +
	    b.v[FM_F_CPU_IRQ] + b.v[FM_F_CPU_STEAL] + b.v[FM_F_CPU_IDLE];
	assert_true(sum > 0.95 && sum < 1.05);
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++)
		assert_true(fm_collect_feature_is_masked(b.v[f]) ||
		    (isfinite(b.v[f]) && b.v[f] >= 0.0f));
	fm_collect_sampler_free(s);
}

static void
test_sampler_slow_sources_held_between_reads(void **state)
{
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s;
	fm_collect_sample a[4];

	fm_collect_sampler_config_init(&cfg);
	cfg.slow_every = 3;
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fm_collect_sampler_read(s, &a[i]), 0);
		usleep(20000);
	}
	/* tcp.established (net/snmp, slow) is read on calls 0 and 3 and
	 * repeated bit for bit in between */
	assert_false(fm_collect_feature_is_masked(a[0].v[FM_F_TCP_ESTAB]));
	assert_memory_equal(
	    &a[1].v[FM_F_TCP_ESTAB], &a[0].v[FM_F_TCP_ESTAB], sizeof(float));
	assert_memory_equal(
	    &a[2].v[FM_F_TCP_ESTAB], &a[0].v[FM_F_TCP_ESTAB], sizeof(float));
	assert_memory_equal(
	    &a[1].v[FM_F_PROC_COUNT], &a[0].v[FM_F_PROC_COUNT], sizeof(float));
	/* slow rates need two slow reads: masked until call 3 */
	for (int i = 0; i < 3; i++) {
		assert_true(
		    fm_collect_feature_is_masked(a[i].v[FM_F_MEM_MAJFAULTS]));
		assert_true(
		    fm_collect_feature_is_masked(a[i].v[FM_F_TCP_RETRANS]));
	}
	assert_false(fm_collect_feature_is_masked(a[3].v[FM_F_MEM_MAJFAULTS]));
	assert_false(fm_collect_feature_is_masked(a[3].v[FM_F_TCP_RETRANS]));
	/* fast rates are there from call 1 on */
	assert_false(fm_collect_feature_is_masked(a[1].v[FM_F_DISK_READ_OPS]));
	fm_collect_sampler_free(s);
	cfg.slow_every = 0;
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), -EINVAL);
}

static void
test_sampler_tick_never_allocates(void **state)
{
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s;
	fm_model_history *h;
	fm_collect_sample a;
	unsigned before;

	fm_collect_sampler_config_init(&cfg);
	before = fm_test_alloc_count();
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), 0);
	/* the hook is live: start-up does allocate */
	assert_true(fm_test_alloc_count() > before);
	assert_int_equal(fm_model_history_new(5, &h), 0);
	/* warm-up: the first reads may size buffers */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(fm_collect_sampler_read(s, &a), 0);
		(void)fm_model_history_push(h, &a, NAN, 0);
	}
	before = fm_test_alloc_count();
	for (int i = 0; i < 50; i++) {
		assert_int_equal(fm_collect_sampler_read(s, &a), 0);
		(void)fm_model_history_push(h, &a, NAN, 0);
		usleep(1000);
	}
	assert_int_equal(fm_test_alloc_count(), before);
	fm_model_history_free(h);
	fm_collect_sampler_free(s);
}

static void
test_sampler_rejects_bad_config(void **state)
{
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s = NULL;

	fm_collect_sampler_config_init(&cfg);
	cfg.fs_stale_ms = cfg.fs_refresh_ms - 1;
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), -EINVAL);
	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = NULL;
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), -EINVAL);
	assert_null(s);
	assert_null(fm_collect_sampler_free(NULL));
}

int
main(int argc, char **argv)
{
	/* what this host's own /proc gives (see test-util.h) */
	const struct CMUnitTest host_tests[] = {
		cmocka_unit_test(test_sampler_real_proc),
		cmocka_unit_test(test_sampler_slow_sources_held_between_reads),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sampler_fixture_all_sources),
		cmocka_unit_test(test_sampler_missing_sources_are_masked),
		cmocka_unit_test(test_sampler_tick_never_allocates),
		cmocka_unit_test(test_sampler_rejects_bad_config),
	};

	if (fm_test_is_host_run(argc, argv)) {
		if (!fm_test_host_has_real_fs() || !fm_test_host_has_disk() ||
		    !fm_test_host_has_nic())
			return fm_test_host_skip("this host lacks a real "
			                         "filesystem, a disk or a NIC");
		return cmocka_run_group_tests(host_tests, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
