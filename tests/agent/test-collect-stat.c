/* Tests for agent/collect/collect-stat.c: the /proc/stat parser and
 * collector. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

static fm_test_source source = { &fmi_collector_stat, "stat" };

/* Writes a stat file with one aggregate line, the given per-CPU lines and
 * the counters. */
static void
put_stat(fm_test_fixture *fx, const char *cpu, const char *percpu,
    uint64_t ctxt, uint64_t intr, uint64_t processes)
{
	char text[4096];

	snprintf(text, sizeof(text),
	    "cpu  %s\n%sintr %llu 0 1\nctxt %llu\nbtime 1\n"
	    "processes %llu\nprocs_running 4\nprocs_blocked 1\n",
	    cpu, percpu, (unsigned long long)intr, (unsigned long long)ctxt,
	    (unsigned long long)processes);
	fm_test_put_text(fx, text);
}

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fm_collect_stat *ret,
    fm_collect_cpu_times *cpus, bool *present, uint32_t cap)
{
	char *copy = fm_test_exact_copy(buf, len);
	int r = fm_collect_stat_parse(copy, len, ret, cpus, present, cap);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_stat *ret)
{
	return parse(s, strlen(s), ret, NULL, NULL, 0);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_stat_parse_fixture(void **state)
{
	fm_collect_cpu_times cpus[4];
	bool present[4] = { true, true, true, true };
	fm_collect_stat st;
	size_t len;
	char *buf = fm_test_read_file(T0 "/stat", &len);

	assert_int_equal(parse(buf, len, &st, cpus, present, 4), 0);
	assert_int_equal(st.total.user, 7846);
	assert_int_equal(st.total.nice, 0);
	assert_int_equal(st.total.system, 3525);
	assert_int_equal(st.total.idle, 25509);
	assert_int_equal(st.total.iowait, 502);
	assert_int_equal(st.total.irq, 0);
	assert_int_equal(st.total.softirq, 32);
	assert_int_equal(st.total.steal, 83);
	assert_int_equal(st.ncpu, 2);
	assert_true(present[0] && present[1]);
	assert_false(present[2] || present[3]);
	assert_int_equal(cpus[0].user, 3663);
	assert_int_equal(cpus[0].idle, 13413);
	assert_int_equal(cpus[1].iowait, 486);
	assert_int_equal(cpus[1].steal, 45);
	assert_int_equal(st.intr, 132413);
	assert_int_equal(st.ctxt, 2311154);
	assert_int_equal(st.processes, 2946);
	assert_int_equal(st.procs_running, 3);
	assert_int_equal(st.procs_blocked, 0);
	free(buf);

	buf = fm_test_read_file(T1 "/stat", &len);
	assert_int_equal(parse(buf, len, &st, NULL, NULL, 0), 0);
	assert_int_equal(st.total.user, 8050);
	assert_int_equal(st.total.idle, 25519);
	assert_int_equal(st.ctxt, 2311553);
	assert_int_equal(st.intr, 133093);
	assert_int_equal(st.processes, 2973);
	assert_int_equal(st.ncpu, 2);
	free(buf);
}

static void
test_collect_stat_parse_old_kernel_fields(void **state)
{
	/* Four CPU fields (2.4-era), no trailing newline. */
	const char *s = "cpu  1 2 3 4\ncpu0 5 6 7 8\nintr 9\nctxt 10\n"
	                "processes 11\nprocs_running 12\nprocs_blocked 13";
	fm_collect_cpu_times cpus[1];
	bool present[1];
	fm_collect_stat st;

	assert_int_equal(parse(s, strlen(s), &st, cpus, present, 1), 0);
	assert_int_equal(st.total.user, 1);
	assert_int_equal(st.total.idle, 4);
	assert_int_equal(st.total.iowait, 0);
	assert_int_equal(st.total.steal, 0);
	assert_int_equal(cpus[0].system, 7);
	assert_int_equal(st.intr, 9);
	assert_int_equal(st.procs_blocked, 13);
}

static void
test_collect_stat_parse_skips_unknown_lines(void **state)
{
	fm_collect_cpu_times cpus[1];
	bool present[1];
	fm_collect_stat st;
	const char *s;

	/* Lines it does not know are skipped, whatever they hold. */
	s = "cpu  1 2 3 4\ncpux 1 2 x\ncpu0x 5\nintr 9\nctxt 10\n"
	    "processes 11\nprocs_running 12\nprocs_blocked 13\n"
	    "softirq garbage\nnew_line_2030 \xff\n";
	assert_int_equal(parse(s, strlen(s), &st, cpus, present, 1), 0);
	assert_int_equal(st.ncpu, 0);
	assert_false(present[0]);
}

static void
test_collect_stat_parse_number_limits(void **state)
{
	const char *head = "cpu  1 2 3 4\nintr 9\nprocesses 11\n"
	                   "procs_running 12\nprocs_blocked 13\n";
	char s[512];
	fm_collect_stat st;

	snprintf(s, sizeof(s), "%sctxt 18446744073709551615\n", head);
	assert_int_equal(parse_str(s, &st), 0);
	assert_true(st.ctxt == UINT64_MAX);
	snprintf(s, sizeof(s), "%sctxt 18446744073709551616\n", head);
	assert_int_equal(parse_str(s, &st), -EINVAL);
	snprintf(s, sizeof(s), "%sctxt 99999999999999999999\n", head);
	assert_int_equal(parse_str(s, &st), -EINVAL);

	snprintf(s, sizeof(s),
	    "cpu  1 2 3 4\nintr 9\nctxt 1\nprocesses 1\n"
	    "procs_running 4294967295\nprocs_blocked 4294967296\n");
	assert_int_equal(parse_str(s, &st), -EINVAL);
	snprintf(s, sizeof(s),
	    "cpu  1 2 3 4\nintr 9\nctxt 1\nprocesses 1\n"
	    "procs_running 4294967295\nprocs_blocked 0\n");
	assert_int_equal(parse_str(s, &st), 0);
	assert_int_equal(st.procs_running, UINT32_MAX);
}

static void
test_collect_stat_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"cpu  1 2 3\nintr 9\nctxt 1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"intr 9\nctxt 1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2 3 4\nctxt 1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2 3 4\nintr 9\nctxt 1\nprocesses 1\nprocs_running 1\n",
		"cpu  1 -2 3 4\nintr 9\nctxt 1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2x 3 4\nintr 9\nctxt 1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2 3 4\nintr 9\nctxt 1 2\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2 3 4\nintr 9\nctxt +1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2 3 4\nintr 9\nctxt\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		"cpu  1 2 3 4\nintr x\nctxt 1\nprocesses 1\nprocs_running 1\n"
		"procs_blocked 1\n",
		/* repeated lines */
		"cpu  1 2 3 4\ncpu  1 2 3 4\nintr 9\nctxt 1\nprocesses 1\n"
		"procs_running 1\nprocs_blocked 1\n",
		"cpu  1 2 3 4\nintr 9\nctxt 1\nctxt 1\nprocesses 1\n"
		"procs_running 1\nprocs_blocked 1\n",
		/* bad CPU indexes */
		"cpu  1 2 3 4\ncpu01 1 2 3 4\nintr 9\nctxt 1\nprocesses 1\n"
		"procs_running 1\nprocs_blocked 1\n",
		"cpu  1 2 3 4\ncpu4294967296 1 2 3 4\nintr 9\nctxt 1\n"
		"processes 1\nprocs_running 1\nprocs_blocked 1\n",
	};
	fm_collect_stat st, untouched;

	memset(&st, 0xa5, sizeof(st));
	untouched = st;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		fm_collect_cpu_times cpus[2];
		bool present[2];

		assert_int_equal(
		    parse(bad[i], strlen(bad[i]), &st, cpus, present, 2),
		    -EINVAL);
		assert_memory_equal(&st, &untouched, sizeof(st));
	}
}

static void
test_collect_stat_parse_embedded_nul(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/stat", &len);
	char *btime = strstr(buf, "btime");
	char *ctxt = strstr(buf, "ctxt");
	char saved = ctxt[6];
	fm_collect_stat st;

	/* In a line the parser uses: malformed. */
	ctxt[6] = '\0';
	assert_int_equal(parse(buf, len, &st, NULL, NULL, 0), -EINVAL);
	ctxt[6] = saved;
	assert_int_equal(parse(buf, len, &st, NULL, NULL, 0), 0);
	/* In the btime line, which it skips: harmless. */
	btime[7] = '\0';
	assert_int_equal(parse(buf, len, &st, NULL, NULL, 0), 0);
	assert_int_equal(st.ctxt, 2311154);
	free(buf);
}

static void
test_collect_stat_parse_cpus_beyond_cap(void **state)
{
	const char *s = "cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu3 2 2 2 2\n"
	                "cpu9000 3 3 3 3\nintr 9\nctxt 1\nprocesses 1\n"
	                "procs_running 1\nprocs_blocked 1\n";
	fm_collect_cpu_times cpus[4];
	bool present[4] = { false, true, true, false };
	fm_collect_stat st;

	assert_int_equal(parse(s, strlen(s), &st, cpus, present, 4), 0);
	assert_int_equal(st.ncpu, 3);
	assert_true(present[0] && present[3]);
	assert_false(present[1] || present[2]);
	assert_int_equal(cpus[3].user, 2);
	/* With no array at all the count is the same. */
	assert_int_equal(parse(s, strlen(s), &st, NULL, NULL, 0), 0);
	assert_int_equal(st.ncpu, 3);
	/* A repeated cpuN line (never printed) counts, the last one kept,
	 * whatever the array: the verdict must not depend on cpus_cap. */
	s = "cpu  1 2 3 4\ncpu0 1 1 1 1\ncpu0 2 2 2 2\nintr 9\nctxt 1\n"
	    "processes 1\nprocs_running 1\nprocs_blocked 1\n";
	assert_int_equal(parse(s, strlen(s), &st, cpus, present, 4), 0);
	assert_int_equal(st.ncpu, 2);
	assert_int_equal(cpus[0].user, 2);
	assert_int_equal(parse(s, strlen(s), &st, NULL, NULL, 0), 0);
}

/* Every prefix parses or fails with -EINVAL; the result flips exactly
 * where the last required line (procs_blocked) gets its number. */
static void
test_collect_stat_parse_truncated(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/stat", &len);
	size_t ok_from = (size_t)(strstr(buf, "procs_blocked 0") - buf) +
	    strlen("procs_blocked 0");

	for (size_t n = 0; n <= len; n++) {
		fm_collect_cpu_times cpus[2];
		bool present[2];
		fm_collect_stat st;
		int r = parse(buf, n, &st, cpus, present, 2);

		assert_int_equal(r, n >= ok_from ? 0 : -EINVAL);
	}
	free(buf);
}

static void
test_collect_stat_parse_garbage(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (int i = 0; i < 2000; i++) {
		char buf[257];
		size_t len;
		fm_collect_stat st;

		/* Half the inputs from a stat-like alphabet. */
		len = fm_test_rand_bytes(
		    &x, buf, sizeof(buf), i & 1 ? NULL : "cpu0123456789 \n");
		assert_int_equal(parse(buf, len, &st, NULL, NULL, 0), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_stat_fixture_rates(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/stat");
	assert_int_equal(fm_test_open(fx), 0);

	/* First tick: gauges only. */
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	assert_int_equal(fx->ctx.ncpu, 2);
	assert_near(fx->v[FM_F_PROC_RUNNING], 1.5);
	assert_near(fx->v[FM_F_PROC_BLOCKED], 0.0);
	for (int f = FM_F_CPU_USER; f <= FM_F_PROC_FORKS; f++)
		assert_masked(fx->v[f]);
	assert_masked_outside(fx->v, FM_F_CPU_USER, FM_F_PROC_BLOCKED);

	/* t1, one second later. Total deltas: user 204, system 6, idle 10,
	 * steal 1 (221); cpu0 111 with idle 5, cpu1 112 with idle 6;
	 * ctxt +399, intr +680, processes +27. */
	fm_test_put_fixture(fx, T1 "/stat");
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_int_equal(fx->ctx.ncpu, 2);
	assert_near(fx->v[FM_F_CPU_USER], 204.0 / 221);
	assert_near(fx->v[FM_F_CPU_SYSTEM], 6.0 / 221);
	assert_near(fx->v[FM_F_CPU_IOWAIT], 0.0);
	assert_near(fx->v[FM_F_CPU_IRQ], 0.0);
	assert_near(fx->v[FM_F_CPU_STEAL], 1.0 / 221);
	assert_near(fx->v[FM_F_CPU_IDLE], 10.0 / 221);
	assert_near(fx->v[FM_F_CPU_BUSIEST], 106.0 / 111);
	assert_near(fx->v[FM_F_CPU_CTXT], log1p(399.0 / 2));
	assert_near(fx->v[FM_F_CPU_INTR], log1p(680.0 / 2));
	assert_near(fx->v[FM_F_PROC_FORKS], log1p(27.0));
	assert_near(fx->v[FM_F_PROC_RUNNING], 1.5);
	assert_near(fx->v[FM_F_PROC_BLOCKED], 0.0);
	assert_masked_outside(fx->v, FM_F_CPU_USER, FM_F_PROC_BLOCKED);
}

static void
test_collect_stat_rates_scale_with_dt(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/stat");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	fm_test_put_fixture(fx, T1 "/stat");
	assert_int_equal(fm_test_read(fx, SEC / 4, 0), 0);
	assert_near(fx->v[FM_F_CPU_CTXT], log1p(399.0 * 4 / 2));
	assert_near(fx->v[FM_F_PROC_FORKS], log1p(27.0 * 4));
	/* Fractions do not depend on dt. */
	assert_near(fx->v[FM_F_CPU_USER], 204.0 / 221);
}

static void
test_collect_stat_zero_dt_masks_rates(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/stat");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	fm_test_put_fixture(fx, T1 "/stat");
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	for (int f = FM_F_CPU_USER; f <= FM_F_PROC_FORKS; f++)
		assert_masked(fx->v[f]);
	assert_near(fx->v[FM_F_PROC_RUNNING], 1.5);
}

static void
test_collect_stat_counter_reset(void **state)
{
	fm_test_fixture *fx = *state;
	const char *cpu0 = "cpu0 10 0 10 10 0 0 0 0\n";

	put_stat(fx, "10 0 10 10 0 0 0 0", cpu0, 5000, 7000, 300);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);

	/* ctxt goes backwards: a reset, masked; the others move on. */
	put_stat(fx, "20 0 10 20 0 0 0 0", cpu0, 100, 7100, 310);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_masked(fx->v[FM_F_CPU_CTXT]);
	assert_near(fx->v[FM_F_CPU_INTR], log1p(100.0));
	assert_near(fx->v[FM_F_PROC_FORKS], log1p(10.0));
	assert_near(fx->v[FM_F_CPU_USER], 0.5);

	/* The next tick measures from the reset value. */
	put_stat(fx, "30 0 10 30 0 0 0 0", cpu0, 150, 7200, 320);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_near(fx->v[FM_F_CPU_CTXT], log1p(50.0));
	assert_near(fx->v[FM_F_CPU_INTR], log1p(100.0));
}

/* ctxt and intr are u64: going back from near 2^32 is a reset, not a
 * wrap. processes is an unsigned long: it wraps at 32 bits only where long
 * is 32 bits. */
static void
test_collect_stat_counter_wrap(void **state)
{
	fm_test_fixture *fx = *state;
	const char *cpu0 = "cpu0 10 0 10 10 0 0 0 0\n";

	put_stat(fx, "10 0 10 10 0 0 0 0", cpu0, 4294967290u, 4294967290u,
	    4294967290u);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	put_stat(fx, "20 0 10 20 0 0 0 0", cpu0, 10, 4294967300u, 10);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_masked(fx->v[FM_F_CPU_CTXT]);
	assert_near(fx->v[FM_F_CPU_INTR], log1p(10.0));
	if (sizeof(unsigned long) == 4)
		assert_near(fx->v[FM_F_PROC_FORKS], log1p(16.0));
	else
		assert_masked(fx->v[FM_F_PROC_FORKS]);
}

static void
test_collect_stat_absurd_rate_masked(void **state)
{
	fm_test_fixture *fx = *state;
	const char *cpu0 = "cpu0 10 0 10 10 0 0 0 0\n";

	put_stat(fx, "10 0 10 10 0 0 0 0", cpu0, 1, 1, 1);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	/* 2e12 context switches in a second: a broken counter. */
	put_stat(fx, "20 0 10 20 0 0 0 0", cpu0, 2000000000001ull,
	    1000000000001ull, 2);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_masked(fx->v[FM_F_CPU_CTXT]);
	assert_near(fx->v[FM_F_CPU_INTR], log1p(1e12));
	assert_near(fx->v[FM_F_PROC_FORKS], log1p(1.0));
}

/* iowait stepping back (NO_HZ) counts as 0; fractions are over the sum of
 * the deltas that remain. */
static void
test_collect_stat_cpu_time_backwards(void **state)
{
	fm_test_fixture *fx = *state;

	put_stat(fx, "100 0 100 100 50 0 0 0", "cpu0 100 0 100 100 50 0 0 0\n",
	    1, 1, 1);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	put_stat(fx, "150 0 100 140 40 0 0 0", "cpu0 150 0 100 140 40 0 0 0\n",
	    1, 1, 1);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_near(fx->v[FM_F_CPU_USER], 50.0 / 90);
	assert_near(fx->v[FM_F_CPU_IDLE], 40.0 / 90);
	assert_near(fx->v[FM_F_CPU_IOWAIT], 0.0);
	assert_near(fx->v[FM_F_CPU_SYSTEM], 0.0);
	assert_near(fx->v[FM_F_CPU_BUSIEST], 50.0 / 90);
}

/* A core waiting on I/O is not busy: busiest is 1 - (idle+iowait)/total
 * per core, and the aggregate iowait is a fraction of its own. */
static void
test_collect_stat_iowait_is_not_busy(void **state)
{
	fm_test_fixture *fx = *state;

	put_stat(fx, "0 0 0 0 0 0 0 0",
	    "cpu0 0 0 0 0 0 0 0 0\ncpu1 0 0 0 0 0 0 0 0\n", 1, 1, 1);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	/* cpu0: 10 user, 90 iowait; cpu1: 30 system, 5 irq, 5 softirq,
	 * 60 idle. */
	put_stat(fx, "10 0 30 60 90 5 5 0",
	    "cpu0 10 0 0 0 90 0 0 0\ncpu1 0 0 30 60 0 5 5 0\n", 1, 1, 1);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_near(fx->v[FM_F_CPU_BUSIEST], 0.4);
	assert_near(fx->v[FM_F_CPU_IOWAIT], 0.45);
	assert_near(fx->v[FM_F_CPU_IRQ], 0.05);
	assert_near(fx->v[FM_F_CPU_SYSTEM], 0.15);
	assert_near(fx->v[FM_F_CPU_USER], 0.05);
	assert_near(fx->v[FM_F_CPU_IDLE], 0.3);
}

/* No CPU time passed: fractions are 0/0, masked; counters that did not
 * move are a real zero rate. */
static void
test_collect_stat_no_time_passed(void **state)
{
	fm_test_fixture *fx = *state;

	put_stat(
	    fx, "10 0 10 10 0 0 0 0", "cpu0 10 0 10 10 0 0 0 0\n", 5, 5, 5);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	for (int f = FM_F_CPU_USER; f <= FM_F_CPU_BUSIEST; f++)
		assert_masked(fx->v[f]);
	assert_near(fx->v[FM_F_CPU_CTXT], 0.0);
	assert_near(fx->v[FM_F_CPU_INTR], 0.0);
	assert_near(fx->v[FM_F_PROC_FORKS], 0.0);
	assert_near(fx->v[FM_F_PROC_RUNNING], 4.0);
}

/* CPUs beyond this host's count (sparse, from a bigger host) are sized
 * at open; a CPU only in one of the two ticks is left out of busiest. */
static void
test_collect_stat_sparse_cpus(void **state)
{
	fm_test_fixture *fx = *state;

	put_stat(fx, "0 0 0 0 0 0 0 0",
	    "cpu0 0 0 0 0\ncpu5 0 0 0 0\ncpu200 0 0 0 0\n", 1, 1, 1);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	assert_int_equal(fx->ctx.ncpu, 3);
	put_stat(fx, "170 0 0 130 0 0 0 0",
	    "cpu0 10 0 0 90\ncpu5 70 0 0 30\ncpu7 100 0 0 0\n"
	    "cpu200 90 0 0 10\n",
	    1, 1, 1);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_int_equal(fx->ctx.ncpu, 4);
	assert_near(fx->v[FM_F_CPU_BUSIEST], 0.9);
	assert_near(fx->v[FM_F_CPU_USER], 170.0 / 300);
	assert_near(fx->v[FM_F_PROC_RUNNING], 1.0);
	assert_near(fx->v[FM_F_PROC_BLOCKED], 0.25);
}

/* A CPU index no array can hold still counts, but no busiest is known. */
static void
test_collect_stat_cpu_beyond_max(void **state)
{
	fm_test_fixture *fx = *state;

	put_stat(fx, "0 0 0 0", "cpu9000 0 0 0 0\n", 1, 1, 1);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	put_stat(fx, "5 0 0 5", "cpu9000 5 0 0 5\n", 1, 1, 1);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_int_equal(fx->ctx.ncpu, 1);
	assert_masked(fx->v[FM_F_CPU_BUSIEST]);
	assert_near(fx->v[FM_F_CPU_USER], 0.5);
}

/* No cpuN lines: nothing to normalise per core by. */
static void
test_collect_stat_no_percpu_lines(void **state)
{
	fm_test_fixture *fx = *state;

	put_stat(fx, "0 0 0 0", "", 1, 1, 1);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);
	put_stat(fx, "5 0 0 5", "", 3, 3, 3);
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_int_equal(fx->ctx.ncpu, 0);
	assert_masked(fx->v[FM_F_CPU_CTXT]);
	assert_masked(fx->v[FM_F_CPU_INTR]);
	assert_masked(fx->v[FM_F_PROC_RUNNING]);
	assert_masked(fx->v[FM_F_PROC_BLOCKED]);
	assert_masked(fx->v[FM_F_CPU_BUSIEST]);
	assert_near(fx->v[FM_F_PROC_FORKS], log1p(2.0));
	assert_near(fx->v[FM_F_CPU_USER], 0.5);
}

/* A tick that does not parse masks everything and forgets the previous
 * tick: the next good tick has no rates (its interval would span the
 * gap); the one after has them again. */
static void
test_collect_stat_parse_failure_gap(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/stat");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 0), 0);

	fm_test_put_text(fx, "cpu  garbage\n");
	assert_int_equal(fm_test_read(fx, SEC, 0), -EINVAL);
	assert_masked_in(fx->v, FM_F_CPU_USER, FM_F_PROC_BLOCKED);
	assert_int_equal(fx->ctx.ncpu, 2); /* the last good count */

	fm_test_put_fixture(fx, T0 "/stat");
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	/* With t0 kept as previous this would be a zero rate, not masked. */
	assert_masked(fx->v[FM_F_CPU_CTXT]);
	assert_masked(fx->v[FM_F_PROC_FORKS]);
	assert_near(fx->v[FM_F_PROC_RUNNING], 1.5);

	fm_test_put_fixture(fx, T1 "/stat");
	assert_int_equal(fm_test_read(fx, SEC, 0), 0);
	assert_near(fx->v[FM_F_CPU_CTXT], log1p(399.0 / 2));
	assert_near(fx->v[FM_F_CPU_BUSIEST], 106.0 / 111);
}

/* The file truncated at every byte offset: read fails with -EINVAL and
 * masks everything, or succeeds; it never crashes. */
static void
test_collect_stat_truncated_file(void **state)
{
	fm_test_fixture *fx = *state;
	size_t len;
	char *buf = fm_test_read_file(T0 "/stat", &len);
	size_t ok_from = (size_t)(strstr(buf, "procs_blocked 0") - buf) +
	    strlen("procs_blocked 0");

	fm_test_put_fixture(fx, T0 "/stat");
	assert_int_equal(fm_test_open(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		fm_test_put_bytes(fx, buf, n);
		r = fm_test_read(fx, SEC, 0);
		assert_int_equal(r, n >= ok_from ? 0 : -EINVAL);
		if (r < 0)
			assert_masked_in(
			    fx->v, FM_F_CPU_USER, FM_F_PROC_BLOCKED);
	}
	free(buf);
}

static void
test_collect_stat_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

static void
test_collect_stat_close_without_open(void **state)
{
	fm_test_fixture *fx = *state;

	bool stdin_open = fcntl(0, F_GETFD) >= 0;

	/* A zeroed state holds fd 0 in its file: close must not close it. */
	fx->src.ops->close(fx->state);
	assert_int_equal(fcntl(0, F_GETFD) >= 0, stdin_open);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_stat_parse_fixture),
		cmocka_unit_test(test_collect_stat_parse_old_kernel_fields),
		cmocka_unit_test(test_collect_stat_parse_skips_unknown_lines),
		cmocka_unit_test(test_collect_stat_parse_number_limits),
		cmocka_unit_test(test_collect_stat_parse_rejects_malformed),
		cmocka_unit_test(test_collect_stat_parse_embedded_nul),
		cmocka_unit_test(test_collect_stat_parse_cpus_beyond_cap),
		cmocka_unit_test(test_collect_stat_parse_truncated),
		cmocka_unit_test(test_collect_stat_parse_garbage),
		fm_test_collector_test(
		    test_collect_stat_fixture_rates, &source),
		fm_test_collector_test(
		    test_collect_stat_rates_scale_with_dt, &source),
		fm_test_collector_test(
		    test_collect_stat_zero_dt_masks_rates, &source),
		fm_test_collector_test(
		    test_collect_stat_counter_reset, &source),
		fm_test_collector_test(test_collect_stat_counter_wrap, &source),
		fm_test_collector_test(
		    test_collect_stat_absurd_rate_masked, &source),
		fm_test_collector_test(
		    test_collect_stat_cpu_time_backwards, &source),
		fm_test_collector_test(
		    test_collect_stat_iowait_is_not_busy, &source),
		fm_test_collector_test(
		    test_collect_stat_no_time_passed, &source),
		fm_test_collector_test(test_collect_stat_sparse_cpus, &source),
		fm_test_collector_test(
		    test_collect_stat_cpu_beyond_max, &source),
		fm_test_collector_test(
		    test_collect_stat_no_percpu_lines, &source),
		fm_test_collector_test(
		    test_collect_stat_parse_failure_gap, &source),
		fm_test_collector_test(
		    test_collect_stat_truncated_file, &source),
		cmocka_unit_test(test_collect_stat_missing_file),
		fm_test_collector_test(
		    test_collect_stat_close_without_open, &source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
