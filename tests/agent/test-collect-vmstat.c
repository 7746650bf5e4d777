/* Tests for agent/collect-vmstat.c: the /proc/vmstat parser and
 * collector. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent-int.h"

#define T0  FM_FIXTURES "/proc-debian12-t0"
#define T1  FM_FIXTURES "/proc-debian12-t1"
#define SEC 1000000000LL

#define VM_ALL ((1u << 5) - 1)

/* A collector on a temporary procfs root whose files the test rewrites in
 * place (the collector keeps them open). */
typedef struct fixture {
	char dir[32];
	void *state;
	float v[FM_FEATURE_COUNT];
	fmi_collect_ctx ctx;
} fixture;

static const fmi_collector_ops *const ops = &fmi_collector_vmstat;

static char *
slurp(const char *path, size_t *ret_len)
{
	char *buf = malloc(1 << 16);
	ssize_t n;
	int fd;

	assert_non_null(buf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	n = read(fd, buf, (1 << 16) - 1);
	assert_true(n > 0);
	close(fd);
	buf[n] = '\0';
	*ret_len = (size_t)n;
	return buf;
}

static void
put_bytes(fixture *fx, const void *buf, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/vmstat", fx->dir);
	/* Rewritten in place (the collector holds it open); no O_TRUNC, which
	 * on ext4 forces a flush at close and makes per-offset loops slow. */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

static void
put_text(fixture *fx, const char *text)
{
	put_bytes(fx, text, strlen(text));
}

static void
put_fixture(fixture *fx, const char *path)
{
	size_t len;
	char *buf = slurp(path, &len);

	put_bytes(fx, buf, len);
	free(buf);
}

/* Writes a vmstat file with the five counters (two allocstall zones). */
static void
put_counters(fixture *fx, uint64_t majfault, uint64_t swpin, uint64_t swpout,
    uint64_t stall, uint64_t oom)
{
	char text[512];

	snprintf(text, sizeof(text),
	    "nr_free_pages 5\npswpin %llu\npswpout %llu\n"
	    "allocstall_dma32 %llu\nallocstall_normal 1\n"
	    "pgmajfault %llu\noom_kill %llu\n",
	    (unsigned long long)swpin, (unsigned long long)swpout,
	    (unsigned long long)stall, (unsigned long long)majfault,
	    (unsigned long long)oom);
	put_text(fx, text);
}

static int
collect(fixture *fx, int64_t dt_ns)
{
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		fx->v[i] = NAN;
	fx->ctx.dt_ns = dt_ns;
	fx->ctx.ncpu = 2;
	fx->ctx.v = fx->v;
	return ops->read(fx->state, &fx->ctx);
}

static int
open_collector(fixture *fx)
{
	fm_sampler_config cfg = { .procfs = fx->dir };

	return ops->open(fx->state, &cfg);
}

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	strcpy(fx->dir, "/tmp/fm-vmstat-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->state = calloc(1, ops->state_bytes);
	assert_non_null(fx->state);
	*state = fx;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int
teardown(void **state)
{
	fixture *fx = *state;

	ops->close(fx->state);
	ops->close(fx->state); /* idempotent */
	free(fx->state);
	assert_int_equal(
	    nftw(fx->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	free(fx);
	return 0;
}

#define assert_feature(v, f, x) check_feature((v), (f), (x), __FILE__, __LINE__)
#define assert_masked(v, f)     check_masked((v), (f), __FILE__, __LINE__)

static void
check_feature(const float *v, enum fm_feature f, double expected,
    const char *file, int line)
{
	char what[128];
	double tol = 1e-6 * fmax(1.0, fabs(expected));

	snprintf(what, sizeof(what), "feature %d is %.9g, expected %.9g", f,
	    v[f], expected);
	_assert_true(
	    !isnan(v[f]) && fabs(v[f] - expected) <= tol, what, file, line);
}

static void
check_masked(const float *v, enum fm_feature f, const char *file, int line)
{
	char what[64];

	snprintf(
	    what, sizeof(what), "feature %d is %.9g, expected masked", f, v[f]);
	_assert_true(isnan(v[f]), what, file, line);
}

static void
assert_all_masked(const float *v)
{
	for (int f = 0; f < FM_FEATURE_COUNT; f++)
		assert_masked(v, f);
}

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fmi_vmstat *ret)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = fmi_vmstat_parse(copy, len, ret);
	free(copy);
	return r;
}

static int
parse_str(const char *s, fmi_vmstat *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_vmstat_parse_fixture(void **state)
{
	fmi_vmstat vm;
	size_t len;
	char *buf = slurp(T0 "/vmstat", &len);

	assert_int_equal(parse(buf, len, &vm), 0);
	assert_int_equal(vm.has, VM_ALL);
	assert_int_equal(vm.pgmajfault, 760);
	assert_int_equal(vm.pswpin, 0);
	assert_int_equal(vm.pswpout, 0);
	assert_int_equal(vm.allocstall, 0);
	assert_int_equal(vm.oom_kill, 0);
	free(buf);

	buf = slurp(T1 "/vmstat", &len);
	assert_int_equal(parse(buf, len, &vm), 0);
	assert_int_equal(vm.pgmajfault, 762);
	free(buf);
}

static void
test_collect_vmstat_parse_forms(void **state)
{
	fmi_vmstat vm;

	/* Per-zone stalls are summed; no trailing newline. */
	assert_int_equal(parse_str("allocstall_dma 1\nallocstall_normal 2\n"
	                           "allocstall_movable 4\nallocstall_ 100\n"
	                           "allocstalls 100",
	                     &vm),
	    0);
	assert_int_equal(vm.has, FMI_VM_ALLOCSTALL);
	assert_int_equal(vm.allocstall, 7);
	/* Before 4.8: one "allocstall" line. */
	assert_int_equal(parse_str("allocstall 9\npgmajfault 3\n", &vm), 0);
	assert_int_equal(vm.has, FMI_VM_ALLOCSTALL | FMI_VM_PGMAJFAULT);
	assert_int_equal(vm.allocstall, 9);
	/* Before 4.13: no oom_kill; odd lines of others are not read. */
	assert_int_equal(parse_str("weird line here\npgmajfault\t12  \n"
	                           "pswpin 18446744073709551615\n",
	                     &vm),
	    0);
	assert_int_equal(vm.has, FMI_VM_PGMAJFAULT | FMI_VM_PSWPIN);
	assert_int_equal(vm.pgmajfault, 12);
	assert_true(vm.pswpin == UINT64_MAX);
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
	fmi_vmstat vm, untouched;

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
	char *buf = slurp(T0 "/vmstat", &len);
	char *skipped = strstr(buf, "nr_free_pages");
	char *used = strstr(buf, "pgmajfault");
	fmi_vmstat vm;

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
	char *buf = slurp(T0 "/vmstat", &len);
	unsigned failures = 0;

	for (size_t n = 0; n <= len; n++) {
		fmi_vmstat vm;
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
		fmi_vmstat vm;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % sizeof(buf));
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[j] = (char)x;
		}
		assert_int_equal(parse(buf, len, &vm), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_vmstat_fixture_rates(void **state)
{
	fixture *fx = *state;

	put_fixture(fx, T0 "/vmstat");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	assert_all_masked(fx->v);

	/* One second later: 2 major faults, nothing else moved. */
	put_fixture(fx, T1 "/vmstat");
	assert_int_equal(collect(fx, SEC), 0);
	assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(2.0));
	assert_feature(fx->v, FM_F_SWAP_IN, 0.0);
	assert_feature(fx->v, FM_F_SWAP_OUT, 0.0);
	assert_feature(fx->v, FM_F_MEM_ALLOCSTALLS, 0.0);
	assert_feature(fx->v, FM_F_MEM_OOM_KILLS, 0.0);
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f < FM_F_MEM_MAJFAULTS || f > FM_F_MEM_OOM_KILLS)
			assert_masked(fx->v, f);
	}

	/* The same interval measured as a quarter second. */
	put_fixture(fx, T0 "/vmstat");
	assert_int_equal(collect(fx, SEC), 0); /* a reset: masked */
	assert_masked(fx->v, FM_F_MEM_MAJFAULTS);
	put_fixture(fx, T1 "/vmstat");
	assert_int_equal(collect(fx, SEC / 4), 0);
	assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(8.0));
}

static void
test_collect_vmstat_rates(void **state)
{
	fixture *fx = *state;

	put_counters(fx, 100, 10, 20, 1, 3);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_counters(fx, 300, 50, 21, 7, 5);
	assert_int_equal(collect(fx, 2 * SEC), 0);
	assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(100.0));
	assert_feature(fx->v, FM_F_SWAP_IN, log1p(20.0));
	assert_feature(fx->v, FM_F_SWAP_OUT, log1p(0.5));
	assert_feature(fx->v, FM_F_MEM_ALLOCSTALLS, log1p(3.0));
	/* OOM kills are rare: a plain rate. */
	assert_feature(fx->v, FM_F_MEM_OOM_KILLS, 1.0);
}

static void
test_collect_vmstat_zero_dt_masks_rates(void **state)
{
	fixture *fx = *state;

	put_counters(fx, 100, 10, 20, 1, 3);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_counters(fx, 300, 50, 21, 7, 5);
	assert_int_equal(collect(fx, 0), 0);
	assert_all_masked(fx->v);
}

static void
test_collect_vmstat_counter_reset(void **state)
{
	fixture *fx = *state;

	put_counters(fx, 1000, 10, 10, 10, 10);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_counters(fx, 5, 11, 11, 11, 11);
	assert_int_equal(collect(fx, SEC), 0);
	assert_masked(fx->v, FM_F_MEM_MAJFAULTS);
	assert_feature(fx->v, FM_F_SWAP_IN, log1p(1.0));
	assert_feature(fx->v, FM_F_MEM_OOM_KILLS, 1.0);
	put_counters(fx, 9, 11, 11, 11, 11);
	assert_int_equal(collect(fx, SEC), 0);
	assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(4.0));
}

/* vmstat counters are unsigned long: a 32-bit wrap only where long is
 * 32 bits; with 64-bit longs going back near 2^32 is a reset. */
static void
test_collect_vmstat_counter_wrap(void **state)
{
	fixture *fx = *state;

	put_counters(fx, 4294967290u, 0, 0, 0, 0);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_counters(fx, 10, 0, 0, 0, 0);
	assert_int_equal(collect(fx, SEC), 0);
	if (sizeof(unsigned long) == 4)
		assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(16.0));
	else
		assert_masked(fx->v, FM_F_MEM_MAJFAULTS);
	assert_feature(fx->v, FM_F_SWAP_IN, 0.0);
}

static void
test_collect_vmstat_absurd_rate_masked(void **state)
{
	fixture *fx = *state;

	put_counters(fx, 0, 0, 0, 0, 0);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_counters(fx, 1000000000001ull, 1000000000000ull, 0, 0, 0);
	assert_int_equal(collect(fx, SEC), 0);
	assert_masked(fx->v, FM_F_MEM_MAJFAULTS);
	assert_feature(fx->v, FM_F_SWAP_IN, log1p(1e12));
}

/* A counter this kernel lacks stays masked; one that appears only in the
 * current tick has no previous value yet. */
static void
test_collect_vmstat_missing_field(void **state)
{
	fixture *fx = *state;

	put_text(fx, "pgmajfault 10\npswpin 0\n");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_text(fx, "pgmajfault 20\npswpin 0\noom_kill 3\n");
	assert_int_equal(collect(fx, SEC), 0);
	assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(10.0));
	assert_feature(fx->v, FM_F_SWAP_IN, 0.0);
	assert_masked(fx->v, FM_F_SWAP_OUT);
	assert_masked(fx->v, FM_F_MEM_ALLOCSTALLS);
	assert_masked(fx->v, FM_F_MEM_OOM_KILLS);
	put_text(fx, "pgmajfault 20\npswpin 0\noom_kill 4\n");
	assert_int_equal(collect(fx, SEC), 0);
	assert_feature(fx->v, FM_F_MEM_OOM_KILLS, 1.0);
	assert_masked(fx->v, FM_F_SWAP_OUT);
}

/* A tick that does not parse masks everything and forgets the previous
 * tick, so the next good one has no rates (t0 against t0 would otherwise
 * be a zero rate). */
static void
test_collect_vmstat_parse_failure_gap(void **state)
{
	fixture *fx = *state;

	put_fixture(fx, T0 "/vmstat");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	put_text(fx, "pgmajfault lots\n");
	assert_int_equal(collect(fx, SEC), -EINVAL);
	assert_all_masked(fx->v);
	put_fixture(fx, T0 "/vmstat");
	assert_int_equal(collect(fx, SEC), 0);
	assert_all_masked(fx->v);
	put_fixture(fx, T1 "/vmstat");
	assert_int_equal(collect(fx, SEC), 0);
	assert_feature(fx->v, FM_F_MEM_MAJFAULTS, log1p(2.0));
}

static void
test_collect_vmstat_truncated_file(void **state)
{
	fixture *fx = *state;
	size_t len;
	char *buf = slurp(T0 "/vmstat", &len);

	put_bytes(fx, buf, len);
	assert_int_equal(open_collector(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		put_bytes(fx, buf, n);
		r = collect(fx, SEC);
		assert_int_equal(r, prefix_parses(buf, n) ? 0 : -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
	}
	free(buf);
}

static void
test_collect_vmstat_missing_file(void **state)
{
	fixture *fx = *state;

	assert_int_equal(open_collector(fx), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_vmstat_parse_fixture),
		cmocka_unit_test(test_collect_vmstat_parse_forms),
		cmocka_unit_test(test_collect_vmstat_parse_rejects_malformed),
		cmocka_unit_test(test_collect_vmstat_parse_embedded_nul),
		cmocka_unit_test(test_collect_vmstat_parse_truncated),
		cmocka_unit_test(test_collect_vmstat_parse_garbage),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_fixture_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_zero_dt_masks_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_counter_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_counter_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_absurd_rate_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_missing_field, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_parse_failure_gap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_truncated_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_vmstat_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
