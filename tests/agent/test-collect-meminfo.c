/* Tests for agent/collect/collect-meminfo.c: the /proc/meminfo parser and
 * collector. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

#define MEM_ALL ((1u << 10) - 1)

static fm_test_source source = { &fmi_collector_meminfo, "meminfo" };

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fm_collect_meminfo *ret)
{
	char *copy = fm_test_exact_copy(buf, len);
	int r = fm_collect_meminfo_parse(copy, len, ret);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_meminfo *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_meminfo_parse_fixture(void **state)
{
	fm_collect_meminfo mi;
	size_t len;
	char *buf = fm_test_read_file(T0 "/meminfo", &len);

	assert_int_equal(parse(buf, len, &mi), 0);
	assert_int_equal(mi.has, MEM_ALL);
	assert_int_equal(mi.total, 24684092);
	assert_int_equal(mi.free, 23945864);
	assert_int_equal(mi.available, 24141824);
	assert_int_equal(mi.buffers, 10640);
	assert_int_equal(mi.cached, 375060);
	assert_int_equal(mi.swap_total, 0);
	assert_int_equal(mi.swap_free, 0);
	assert_int_equal(mi.dirty, 200);
	assert_int_equal(mi.writeback, 0);
	assert_int_equal(mi.committed_as, 647604);
	free(buf);

	buf = fm_test_read_file(T1 "/meminfo", &len);
	assert_int_equal(parse(buf, len, &mi), 0);
	assert_int_equal(mi.available, 24125452);
	assert_int_equal(mi.dirty, 340);
	assert_int_equal(mi.committed_as, 676336);
	free(buf);
}

static void
test_collect_meminfo_parse_forms(void **state)
{
	fm_collect_meminfo mi;

	/* Only MemTotal is required; no "kB", no newline, odd lines. */
	assert_int_equal(parse_str("Weird line\nFoo: bar\n: 5\n"
	                           "MemTotal:18446744073709551615",
	                     &mi),
	    0);
	assert_int_equal(mi.has, FM_COLLECT_MEM_TOTAL);
	assert_true(mi.total == UINT64_MAX);
	assert_int_equal(
	    parse_str("MemTotal: 100 kB  \nDirty:\t7 kB\n", &mi), 0);
	assert_int_equal(mi.has, FM_COLLECT_MEM_TOTAL | FM_COLLECT_MEM_DIRTY);
	assert_int_equal(mi.dirty, 7);
	/* A name is matched whole. */
	assert_int_equal(parse_str("MemTotalX: 5 kB\nMemTotal: 6 kB\n"
	                           "Cached2: x\n",
	                     &mi),
	    0);
	assert_int_equal(mi.total, 6);
	assert_int_equal(mi.has, FM_COLLECT_MEM_TOTAL);
}

static void
test_collect_meminfo_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"MemFree: 5 kB\n",
		"MemTotal:\n",
		"MemTotal: kB\n",
		"MemTotal: x kB\n",
		"MemTotal: -5 kB\n",
		"MemTotal: 5 MB\n",
		"MemTotal: 5 k\n",
		"MemTotal: 5 kBB\n",
		"MemTotal: 5 kX\n",
		"MemTotal: 5 kB 6\n",
		"MemTotal: 5.5 kB\n",
		"MemTotal: 18446744073709551616 kB\n",
		"MemTotal: 5 kB\nMemTotal: 5 kB\n",
		"MemTotal: 5 kB\nCached: oops\n",
	};
	fm_collect_meminfo mi, untouched;

	memset(&mi, 0xa5, sizeof(mi));
	untouched = mi;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &mi), -EINVAL);
		assert_memory_equal(&mi, &untouched, sizeof(mi));
	}
}

static void
test_collect_meminfo_parse_embedded_nul(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/meminfo", &len);
	char *active = strstr(buf, "Active:");
	char *dirty = strstr(buf, "Dirty:");
	fm_collect_meminfo mi;

	/* In a line it skips: harmless. */
	active[10] = '\0';
	assert_int_equal(parse(buf, len, &mi), 0);
	assert_int_equal(mi.dirty, 200);
	/* In a line it uses: malformed. */
	dirty[strlen("Dirty:               2")] = '\0';
	assert_int_equal(parse(buf, len, &mi), -EINVAL);
	free(buf);
}

static const char *const used_names[] = { "MemTotal", "MemFree", "MemAvailable",
	"Buffers", "Cached", "SwapTotal", "SwapFree", "Dirty", "Writeback",
	"Committed_AS" };

/* Whether a prefix of meminfo is expected to parse: MemTotal has a digit,
 * and a used field cut last has its digit and was not cut inside "kB". */
static bool
prefix_parses(const char *buf, size_t n)
{
	const char *line = buf, *colon;
	bool digit = false;

	if (n < strlen("MemTotal:       2"))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n')
			line = buf + i + 1;
	}
	colon = memchr(line, ':', (size_t)(buf + n - line));
	if (!colon)
		return true;
	for (size_t i = 0; i < FM_ELEMENTSOF(used_names); i++) {
		size_t k = strlen(used_names[i]);

		if ((size_t)(colon - line) != k ||
		    memcmp(line, used_names[i], k))
			continue;
		for (const char *p = colon; p < buf + n; p++)
			digit |= *p >= '0' && *p <= '9';
		return digit && buf[n - 1] != 'k';
	}
	return true;
}

/* Every prefix parses or fails with -EINVAL, exactly as predicted. */
static void
test_collect_meminfo_parse_truncated(void **state)
{
	size_t len;
	char *buf = fm_test_read_file(T0 "/meminfo", &len);
	unsigned failures = 0;

	for (size_t n = 0; n <= len; n++) {
		fm_collect_meminfo mi;
		int r = parse(buf, n, &mi);

		assert_int_equal(r, prefix_parses(buf, n) ? 0 : -EINVAL);
		failures += r < 0;
	}
	/* The oracle must not be trivially "always parses". */
	assert_true(failures > 17);
	free(buf);
}

static void
test_collect_meminfo_parse_garbage(void **state)
{
	uint64_t x = 0x0123456789abcdefull;

	for (int i = 0; i < 2000; i++) {
		char buf[128];
		size_t len;
		fm_collect_meminfo mi;

		len = fm_test_rand_bytes(&x, buf, sizeof(buf),
		    i & 1 ? NULL : "MemTotal: 0123456789kB\n");
		if (memmem(buf, len, "MemTotal:", 9))
			continue;
		assert_int_equal(parse(buf, len, &mi), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_meminfo_fixture(void **state)
{
	fm_test_fixture *fx = *state;
	const double total = 24684092;

	fm_test_put_fixture(fx, T0 "/meminfo");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_USED], 1.0 - 24141824 / total);
	assert_near(fx->v[FM_F_MEM_CACHE], (375060 + 10640) / total);
	assert_near(fx->v[FM_F_MEM_DIRTY], 200 / total);
	assert_near(fx->v[FM_F_MEM_COMMITTED], 647604 / total);
	/* SwapTotal 0: 1 - 0/0 is unknown, not 0. */
	assert_masked(fx->v[FM_F_SWAP_USED]);
	assert_masked_outside(fx->v, FM_F_MEM_USED, FM_F_SWAP_USED);

	fm_test_put_fixture(fx, T1 "/meminfo");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_USED], 1.0 - 24125452 / total);
	assert_near(fx->v[FM_F_MEM_DIRTY], 340 / total);
}

static void
test_collect_meminfo_swap(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx,
	    "MemTotal: 1000 kB\nMemAvailable: 250 kB\n"
	    "Buffers: 10 kB\nCached: 90 kB\nDirty: 5 kB\n"
	    "Writeback: 5 kB\nSwapTotal: 1000 kB\nSwapFree: 750 kB\n"
	    "Committed_AS: 3000 kB\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_USED], 0.75);
	assert_near(fx->v[FM_F_MEM_CACHE], 0.1);
	assert_near(fx->v[FM_F_MEM_DIRTY], 0.01);
	assert_near(fx->v[FM_F_SWAP_USED], 0.25);
	/* Overcommit shows above 1. */
	assert_near(fx->v[FM_F_MEM_COMMITTED], 1.5);
}

/* Fields this kernel lacks (MemAvailable before 3.14) stay masked. */
static void
test_collect_meminfo_missing_fields(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx,
	    "MemTotal: 1000 kB\nBuffers: 10 kB\nCached: 90 kB\n"
	    "SwapTotal: 100 kB\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_masked(fx->v[FM_F_MEM_USED]);
	assert_near(fx->v[FM_F_MEM_CACHE], 0.1);
	assert_masked(fx->v[FM_F_MEM_DIRTY]);
	assert_masked(fx->v[FM_F_MEM_COMMITTED]);
	assert_masked(fx->v[FM_F_SWAP_USED]);
}

/* Values beyond the total (racy reads, bogus files) stay in [0, 1], and
 * sums of huge values do not wrap into small fractions. */
static void
test_collect_meminfo_clamped(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx,
	    "MemTotal: 1000 kB\nMemAvailable: 2000 kB\n"
	    "Buffers: 18446744073709551615 kB\n"
	    "Cached: 18446744073709551615 kB\n"
	    "SwapTotal: 10 kB\nSwapFree: 20 kB\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_USED], 0.0);
	assert_near(fx->v[FM_F_MEM_CACHE], 1.0);
	assert_near(fx->v[FM_F_SWAP_USED], 0.0);

	/* No swap but a SwapFree: 1 - 5/0 must not clamp to a real 0. */
	fm_test_put_text(
	    fx, "MemTotal: 1000 kB\nSwapTotal: 0 kB\nSwapFree: 5 kB\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_masked(fx->v[FM_F_SWAP_USED]);
}

static void
test_collect_meminfo_zero_total(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_text(fx,
	    "MemTotal: 0 kB\nMemAvailable: 0 kB\nBuffers: 0 kB\n"
	    "Cached: 0 kB\nDirty: 0 kB\nWriteback: 0 kB\n"
	    "Committed_AS: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_all_masked(fx->v);
}

static void
test_collect_meminfo_garbage_file(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_put_fixture(fx, T0 "/meminfo");
	assert_int_equal(fm_test_open(fx), 0);
	fm_test_put_text(fx, "MemTotal: lots\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_all_masked(fx->v);
	fm_test_put_fixture(fx, T0 "/meminfo");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_MEM_DIRTY], 200 / 24684092.0);
}

static void
test_collect_meminfo_truncated_file(void **state)
{
	fm_test_fixture *fx = *state;
	size_t len;
	char *buf = fm_test_read_file(T0 "/meminfo", &len);

	fm_test_put_bytes(fx, buf, len);
	assert_int_equal(fm_test_open(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		fm_test_put_bytes(fx, buf, n);
		r = fm_test_read(fx, SEC, 2);
		assert_int_equal(r, prefix_parses(buf, n) ? 0 : -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
		assert_masked(fx->v[FM_F_SWAP_USED]);
	}
	free(buf);
}

static void
test_collect_meminfo_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_meminfo_parse_fixture),
		cmocka_unit_test(test_collect_meminfo_parse_forms),
		cmocka_unit_test(test_collect_meminfo_parse_rejects_malformed),
		cmocka_unit_test(test_collect_meminfo_parse_embedded_nul),
		cmocka_unit_test(test_collect_meminfo_parse_truncated),
		cmocka_unit_test(test_collect_meminfo_parse_garbage),
		fm_test_collector_test(test_collect_meminfo_fixture, &source),
		fm_test_collector_test(test_collect_meminfo_swap, &source),
		fm_test_collector_test(
		    test_collect_meminfo_missing_fields, &source),
		fm_test_collector_test(test_collect_meminfo_clamped, &source),
		fm_test_collector_test(
		    test_collect_meminfo_zero_total, &source),
		fm_test_collector_test(
		    test_collect_meminfo_garbage_file, &source),
		fm_test_collector_test(
		    test_collect_meminfo_truncated_file, &source),
		cmocka_unit_test(test_collect_meminfo_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
