/* Tests for agent/collect/collect-vmstat.c: the /proc/vmstat parser and
 * collector. */
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

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

#define VM_ALL ((1u << 5) - 1)

static fm_test_source source = { &fmi_collector_vmstat, "vmstat" };

/* Writes a vmstat file with the five counters (two allocstall zones). */
static void
put_counters(fm_test_fixture *fx, uint64_t majfault, uint64_t swpin,
    uint64_t swpout, uint64_t stall, uint64_t oom)
{
	char text[512];

	snprintf(text, sizeof(text),
	    "nr_free_pages 5\npswpin %llu\npswpout %llu\n"
	    "allocstall_dma32 %llu\nallocstall_normal 1\n"
	    "pgmajfault %llu\noom_kill %llu\n",
	    (unsigned long long)swpin, (unsigned long long)swpout,
	    (unsigned long long)stall, (unsigned long long)majfault,
	    (unsigned long long)oom);
	fm_test_put_text(fx, text);
}

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fm_collect_vmstat *ret)
{
	char *copy = fm_test_exact_copy(buf, len);
	int r = fm_collect_vmstat_parse(copy, len, ret);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_vmstat *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_vmstat_parse_fixture(void **state)
{
	fm_collect_vmstat vm;
	size_t len;
	char *buf = fm_test_read_file(T0 "/vmstat", &len);

	assert_int_equal(parse(buf, len, &vm), 0);
	assert_int_equal(vm.has, VM_ALL);
	assert_int_equal(vm.pgmajfault, 760);
	assert_int_equal(vm.pswpin, 0);
	assert_int_equal(vm.pswpout, 0);
	assert_int_equal(vm.allocstall, 0);
	assert_int_equal(vm.oom_kill, 0);
	free(buf);

	buf = fm_test_read_file(T1 "/vmstat", &len);
	assert_int_equal(parse(buf, len, &vm), 0);
	assert_int_equal(vm.pgmajfault, 762);
	free(buf);
}

static void
test_collect_vmstat_parse_forms(void **state)
{
	fm_collect_vmstat vm;

	/* Per-zone stalls are summed; no trailing newline. */
	assert_int_equal(parse_str("allocstall_dma 1\nallocstall_normal 2\n"
	                           "allocstall_movable 4\nallocstall_ 100\n"
	                           "allocstalls 100",
	                     &vm),
	    0);
	assert_int_equal(vm.has, FM_COLLECT_VM_ALLOCSTALL);
	assert_int_equal(vm.allocstall, 7);
	/* Before 4.8: one "allocstall" line. */
	assert_int_equal(parse_str("allocstall 9\npgmajfault 3\n", &vm), 0);
	assert_int_equal(
	    vm.has, FM_COLLECT_VM_ALLOCSTALL | FM_COLLECT_VM_PGMAJFAULT);
	assert_int_equal(vm.allocstall, 9);
	/* Before 4.13: no oom_kill; odd lines of others are not read. */
	assert_int_equal(parse_str("weird line here\npgmajfault\t12  \n"
	                           "pswpin 18446744073709551615\n",
	                     &vm),
	    0);
	assert_int_equal(
	    vm.has, FM_COLLECT_VM_PGMAJFAULT | FM_COLLECT_VM_PSWPIN);
	assert_int_equal(vm.pgmajfault, 12);
	assert_true(vm.pswpin == UINT64_MAX);
}

/* Lines that start like ours but name something else are not read, nor
 * is a name after a blank; a tab ends a name like a space. */
static void
test_collect_vmstat_parse_lookalikes(void **state)
{
	fm_collect_vmstat vm;

	assert_int_equal(parse_str("pgmajfaults x\n pgmajfault y\n"
	                           "oom_kill_x z\npswpinpswpout w\n"
	                           "allocstallx v\nallocstall_\tu\n"
	                           "pswpout\t5\nallocstall_dma\t2\n"
	                           "allocstall_normal 3",
	                     &vm),
	    0);
	assert_int_equal(
	    vm.has, FM_COLLECT_VM_PSWPOUT | FM_COLLECT_VM_ALLOCSTALL);
	assert_int_equal(vm.pswpout, 5);
	assert_int_equal(vm.allocstall, 5);
}

static void
test_collect_vmstat_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"nr_free_pages 5\n",
		"pgmajfault\n",
		"pgmajfault \n",
		"pgmajfault x\n",
		"pgmajfault -1\n",
		"pgmajfault 1 2\n",
		"pgmajfault 1x\n",
		"pgmajfault 18446744073709551616\n",
		"pgmajfault 1\npgmajfault 2\n",
		"oom_kill 1\nallocstall_dma y\n",
		"allocstall\n",
	};
	fm_collect_vmstat vm, untouched;

	memset(&vm, 0xa5, sizeof(vm));
	untouched = vm;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &vm), -EINVAL);
		assert_memory_equal(&vm, &untouched, sizeof(vm));
	}
}

static void
test_collect_vmstat_parse_embedded_nul(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/vmstat", &len);
	char *skipped = strstr(buf, "nr_free_pages");
	char *used = strstr(buf, "pgmajfault");
	fm_collect_vmstat vm;

	skipped[3] = '\0';
	assert_int_equal(parse(buf, len, &vm), 0);
	assert_int_equal(vm.pgmajfault, 760);
	used[strlen("pgmajfault 7")] = '\0';
	assert_int_equal(parse(buf, len, &vm), -EINVAL);
	free(buf);
}

static bool
is_used_name(const char *name, size_t len)
{
	static const char *const names[] = { "pgmajfault", "pswpin", "pswpout",
		"oom_kill", "allocstall" };

	for (size_t i = 0; i < FM_ELEMENTSOF(names); i++) {
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return true;
	}
	return len > strlen("allocstall_") &&
	    memcmp(name, "allocstall_", strlen("allocstall_")) == 0;
}

/* Whether a prefix of vmstat is expected to parse: some used counter has
 * its value, and a used line cut last still has a digit. */
static bool
prefix_parses(const char *buf, size_t n)
{
	bool any = false;
	size_t i = 0;

	while (i < n) {
		const char *line = buf + i, *nl = memchr(line, '\n', n - i);
		size_t line_len = nl ? (size_t)(nl - line) : n - i;
		size_t name_len = 0;

		while (name_len < line_len && line[name_len] != ' ')
			name_len++;
		if (is_used_name(line, name_len)) {
			if (name_len + 1 >= line_len)
				return false; /* no digit */
			any = true;
		}
		i += line_len + 1;
	}
	return any;
}

/* Every prefix parses or fails with -EINVAL, exactly as predicted. */
static void
test_collect_vmstat_parse_truncated(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/vmstat", &len);
	unsigned failures = 0;

	for (size_t n = 0; n <= len; n++) {
		fm_collect_vmstat vm;
		int r = parse(buf, n, &vm);

		assert_int_equal(r, prefix_parses(buf, n) ? 0 : -EINVAL);
		failures += r < 0;
	}
	/* Everything before "pswpin 0" at least fails. */
	assert_true(failures > (unsigned)(strstr(buf, "pswpin") - buf));
	free(buf);
}

static void
test_collect_vmstat_parse_garbage(void **state)
{
	uint64_t x = 0xfeedfacecafebeefull;

	for (int i = 0; i < 2000; i++) {
		char buf[128];
		size_t len;
		fm_collect_vmstat vm;

		len = fm_test_rand_bytes(&x, buf, sizeof(buf), NULL);
		assert_int_equal(parse(buf, len, &vm), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_vmstat_fixture_rates(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/vmstat");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	assert_all_masked(fx->v);

	/* One second later: 2 major faults, nothing else moved. */
	fm_test_put_fixture(fx, T1 "/vmstat");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(2.0));
	assert_near(fx->v[FM_F_SWAP_IN], 0.0);
	assert_near(fx->v[FM_F_SWAP_OUT], 0.0);
	assert_near(fx->v[FM_F_MEM_ALLOCSTALLS], 0.0);
	assert_near(fx->v[FM_F_MEM_OOM_KILLS], 0.0);
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f < FM_F_MEM_MAJFAULTS || f > FM_F_MEM_OOM_KILLS)
			assert_masked(fx->v[f]);
	}

	/* The same interval measured as a quarter second. */
	fm_test_put_fixture(fx, T0 "/vmstat");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0); /* a reset: masked */
	assert_masked(fx->v[FM_F_MEM_MAJFAULTS]);
	fm_test_put_fixture(fx, T1 "/vmstat");
	assert_int_equal(fm_test_read(fx, SEC / 4, 2), 0);
	assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(8.0));
}

static void
test_collect_vmstat_rates(void **state)
{
	fm_test_fixture *fx = *state;

	put_counters(fx, 100, 10, 20, 1, 3);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	put_counters(fx, 300, 50, 21, 7, 5);
	assert_int_equal(fm_test_read(fx, 2 * SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(100.0));
	assert_near(fx->v[FM_F_SWAP_IN], log1p(20.0));
	assert_near(fx->v[FM_F_SWAP_OUT], log1p(0.5));
	assert_near(fx->v[FM_F_MEM_ALLOCSTALLS], log1p(3.0));
	/* OOM kills are rare: a plain rate. */
	assert_near(fx->v[FM_F_MEM_OOM_KILLS], 1.0);
}

static void
test_collect_vmstat_zero_dt_masks_rates(void **state)
{
	fm_test_fixture *fx = *state;

	put_counters(fx, 100, 10, 20, 1, 3);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	put_counters(fx, 300, 50, 21, 7, 5);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	assert_all_masked(fx->v);
}

static void
test_collect_vmstat_counter_reset(void **state)
{
	fm_test_fixture *fx = *state;

	put_counters(fx, 1000, 10, 10, 10, 10);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	put_counters(fx, 5, 11, 11, 11, 11);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_masked(fx->v[FM_F_MEM_MAJFAULTS]);
	assert_near(fx->v[FM_F_SWAP_IN], log1p(1.0));
	assert_near(fx->v[FM_F_MEM_OOM_KILLS], 1.0);
	put_counters(fx, 9, 11, 11, 11, 11);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(4.0));
}

/* vmstat counters are unsigned long: a 32-bit wrap only where long is
 * 32 bits; with 64-bit longs going back near 2^32 is a reset. */
static void
test_collect_vmstat_counter_wrap(void **state)
{
	fm_test_fixture *fx = *state;

	put_counters(fx, 4294967290u, 0, 0, 0, 0);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	put_counters(fx, 10, 0, 0, 0, 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	if (sizeof(unsigned long) == 4)
		assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(16.0));
	else
		assert_masked(fx->v[FM_F_MEM_MAJFAULTS]);
	assert_near(fx->v[FM_F_SWAP_IN], 0.0);
}

static void
test_collect_vmstat_absurd_rate_masked(void **state)
{
	fm_test_fixture *fx = *state;

	put_counters(fx, 0, 0, 0, 0, 0);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	put_counters(fx, 1000000000001ull, 1000000000000ull, 0, 0, 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_masked(fx->v[FM_F_MEM_MAJFAULTS]);
	assert_near(fx->v[FM_F_SWAP_IN], log1p(1e12));
}

/* A counter this kernel lacks stays masked; one that appears only in the
 * current tick has no previous value yet. */
static void
test_collect_vmstat_missing_field(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx, "pgmajfault 10\npswpin 0\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	fm_test_put_text(fx, "pgmajfault 20\npswpin 0\noom_kill 3\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(10.0));
	assert_near(fx->v[FM_F_SWAP_IN], 0.0);
	assert_masked(fx->v[FM_F_SWAP_OUT]);
	assert_masked(fx->v[FM_F_MEM_ALLOCSTALLS]);
	assert_masked(fx->v[FM_F_MEM_OOM_KILLS]);
	fm_test_put_text(fx, "pgmajfault 20\npswpin 0\noom_kill 4\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_OOM_KILLS], 1.0);
	assert_masked(fx->v[FM_F_SWAP_OUT]);
}

/* A tick that does not parse masks everything and forgets the previous
 * tick, so the next good one has no rates (t0 against t0 would otherwise
 * be a zero rate). */
static void
test_collect_vmstat_parse_failure_gap(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/vmstat");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, 0, 2), 0);
	fm_test_put_text(fx, "pgmajfault lots\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_all_masked(fx->v);
	fm_test_put_fixture(fx, T0 "/vmstat");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_all_masked(fx->v);
	fm_test_put_fixture(fx, T1 "/vmstat");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_MAJFAULTS], log1p(2.0));
}

static void
test_collect_vmstat_truncated_file(void **state)
{
	fm_test_fixture *fx = *state;
	size_t len;
	char *buf = fm_test_read_file(T0 "/vmstat", &len);

	fm_test_put_bytes(fx, buf, len);
	assert_int_equal(fm_test_open(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		fm_test_put_bytes(fx, buf, n);
		r = fm_test_read(fx, SEC, 2);
		assert_int_equal(r, prefix_parses(buf, n) ? 0 : -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
	}
	free(buf);
}

static void
test_collect_vmstat_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_vmstat_parse_fixture),
		cmocka_unit_test(test_collect_vmstat_parse_forms),
		cmocka_unit_test(test_collect_vmstat_parse_lookalikes),
		cmocka_unit_test(test_collect_vmstat_parse_rejects_malformed),
		cmocka_unit_test(test_collect_vmstat_parse_embedded_nul),
		cmocka_unit_test(test_collect_vmstat_parse_truncated),
		cmocka_unit_test(test_collect_vmstat_parse_garbage),
		fm_test_collector_test(
		    test_collect_vmstat_fixture_rates, &source),
		fm_test_collector_test(test_collect_vmstat_rates, &source),
		fm_test_collector_test(
		    test_collect_vmstat_zero_dt_masks_rates, &source),
		fm_test_collector_test(
		    test_collect_vmstat_counter_reset, &source),
		fm_test_collector_test(
		    test_collect_vmstat_counter_wrap, &source),
		fm_test_collector_test(
		    test_collect_vmstat_absurd_rate_masked, &source),
		fm_test_collector_test(
		    test_collect_vmstat_missing_field, &source),
		fm_test_collector_test(
		    test_collect_vmstat_parse_failure_gap, &source),
		fm_test_collector_test(
		    test_collect_vmstat_truncated_file, &source),
		cmocka_unit_test(test_collect_vmstat_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
