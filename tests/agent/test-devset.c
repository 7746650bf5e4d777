/* Tests for agent/collect/devset.c: per-device deltas between two reads, on a
 * made-up file of "name a b" lines (a wraps at 64 bits, b at 32). */
#include <errno.h>
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

#define FAKE_MAX 40 /* past the first doubling, not a power of two */

typedef struct fake_dev {
	char name[8];
	uint64_t a, b;
} fake_dev;

static int
fake_parse(
    const char *buf, size_t len, void *devs, uint32_t cap, uint32_t *ret_n)
{
	fm_collect_span rest = { buf, len }, line;
	uint32_t n = 0;

	while (fm_collect_scan_next_line(&rest, &line)) {
		fm_collect_span name, a, b;
		fake_dev d = { { 0 }, 0, 0 };

		if (!fm_collect_scan_next_token(&line, &name) ||
		    name.len >= sizeof(d.name) ||
		    !fm_collect_scan_next_token(&line, &a) ||
		    !fm_collect_scan_next_token(&line, &b) ||
		    fm_collect_scan_token_u64(a, UINT64_MAX, &d.a) < 0 ||
		    fm_collect_scan_token_u64(b, UINT64_MAX, &d.b) < 0)
			return -EINVAL;
		if (n == cap)
			return -E2BIG;
		memcpy(d.name, name.p, name.len);
		((fake_dev *)devs)[n++] = d;
	}
	*ret_n = n;
	return 0;
}

static bool
fake_is_same(const void *x, const void *y)
{
	return strcmp(((const fake_dev *)x)->name,
	           ((const fake_dev *)y)->name) == 0;
}

static const fmi_devset_counter fake_counters[] = {
	{ offsetof(fake_dev, a), 64 },
	{ offsetof(fake_dev, b), 32 },
};

static const fmi_devset_type fake_type = {
	.rel = "fake",
	.dev_bytes = sizeof(fake_dev),
	.max = FAKE_MAX,
	.parse = fake_parse,
	.is_same = fake_is_same,
	.counters = fake_counters,
	.ncounters = FM_ELEMENTSOF(fake_counters),
};

typedef struct harness {
	char dir[FM_TEST_DIR_BYTES];
	fmi_devset set;
} harness;

static int
setup(void **state)
{
	harness *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	fm_test_tmpdir_new(h->dir, "devset");
	*state = h;
	return 0;
}

static int
teardown(void **state)
{
	harness *h = *state;

	fmi_devset_close(&h->set);
	fmi_devset_close(&h->set); /* idempotent */
	fm_test_tmpdir_remove(h->dir);
	free(h);
	return 0;
}

/* Opens the set on a file holding text and reads the first tick. */
static void
open_with(harness *h, const char *text)
{
	fm_test_write_text(h->dir, "fake", text);
	assert_int_equal(fmi_devset_open(&h->set, &fake_type, h->dir), 0);
	assert_int_equal(fmi_devset_read(&h->set), 0);
}

/* Rewrites the file and reads it. */
static int
read_text(harness *h, const char *text)
{
	fm_test_write_text(h->dir, "fake", text);
	return fmi_devset_read(&h->set);
}

/* Sums the deltas of the last read: *ret_n devices, a and b summed. */
static void
sum_deltas(const harness *h, uint32_t *ret_n, uint64_t *ret_a, uint64_t *ret_b)
{
	uint64_t d[2];
	uint32_t pos = 0, n = 0;

	*ret_a = 0;
	*ret_b = 0;
	while (fmi_devset_next_delta(&h->set, &pos, d)) {
		n++;
		*ret_a += d[0];
		*ret_b += d[1];
	}
	*ret_n = n;
}

static void
test_devset_matches_by_identity(void **state)
{
	harness *h = *state;
	uint64_t a, b;
	uint32_t n;

	fm_test_write_text(h->dir, "fake", "x 10 10\ny 20 20\n");
	assert_int_equal(fmi_devset_open(&h->set, &fake_type, h->dir), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 0);
	/* The first tick: nothing to compare it with yet. */
	assert_int_equal(fmi_devset_read(&h->set), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 0);
	assert_int_equal(read_text(h, "x 11 12\ny 25 20\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 2);
	assert_true(a == 6 && b == 2);
	/* Reordered, y gone, z new: x alone. */
	assert_int_equal(read_text(h, "z 900 900\nx 13 12\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 1);
	assert_true(a == 2 && b == 0);
	/* z now has a previous value; x went back (reset): z alone. */
	assert_int_equal(read_text(h, "x 1 12\nz 901 903\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 1);
	assert_true(a == 1 && b == 3);
}

static void
test_devset_counter_widths(void **state)
{
	harness *h = *state;
	uint64_t a, b;
	uint32_t n;

	open_with(h, "x 4294967290 4294967290\n");
	/* b is 32-bit: it wrapped. a is 64-bit: backwards is a reset. */
	assert_int_equal(read_text(h, "x 4294967291 4\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_true(n == 1 && a == 1 && b == 10);
	assert_int_equal(read_text(h, "x 4 5\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 0);
}

/* A failed read forgets both ticks: no delta spans it. */
static void
test_devset_failure_forgets(void **state)
{
	harness *h = *state;
	uint64_t a, b;
	uint32_t n;

	open_with(h, "x 10 10\n");
	assert_int_equal(read_text(h, "x 12 10\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_true(n == 1 && a == 2);
	assert_int_equal(read_text(h, "x garbage\n"), -EINVAL);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 0);
	assert_int_equal(read_text(h, "x 20 10\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 0);
	assert_int_equal(read_text(h, "x 23 10\n"), 0);
	sum_deltas(h, &n, &a, &b);
	assert_true(n == 1 && a == 3);
}

/* Writes n devices "d0".."d<n-1>", a = base + i. */
static void
many_text(char *buf, size_t size, unsigned n, uint64_t base)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		int k = snprintf(buf + off, size - off, "d%u %llu 0\n", i,
		    (unsigned long long)(base + i));

		assert_true(k > 0 && (size_t)k < size - off);
		off += (size_t)k;
	}
}

static void
test_devset_grows_to_max(void **state)
{
	harness *h = *state;
	char text[2048];
	uint64_t a, b;
	uint32_t n;

	open_with(h, "d0 0 0\n");
	many_text(text, sizeof(text), FAKE_MAX, 100);
	assert_int_equal(read_text(h, text), 0);
	assert_int_equal(h->set.cap, FAKE_MAX);
	/* d0 matched across the growth. */
	sum_deltas(h, &n, &a, &b);
	assert_true(n == 1 && a == 100);
	many_text(text, sizeof(text), FAKE_MAX, 101);
	assert_int_equal(read_text(h, text), 0);
	sum_deltas(h, &n, &a, &b);
	assert_true(n == FAKE_MAX && a == FAKE_MAX);
	/* One more than max: -E2BIG, and the ticks are forgotten. */
	many_text(text, sizeof(text), FAKE_MAX + 1, 102);
	assert_int_equal(read_text(h, text), -E2BIG);
	sum_deltas(h, &n, &a, &b);
	assert_int_equal(n, 0);
}

static void
test_devset_closed_states(void **state)
{
	harness *h = *state;
	fmi_devset zeroed;
	uint64_t d[2];
	uint32_t pos = 0;

	/* Zeroed: closed; reading it is -EBADF, closing it is harmless. */
	memset(&zeroed, 0, sizeof(zeroed));
	assert_int_equal(fmi_devset_read(&zeroed), -EBADF);
	assert_false(fmi_devset_next_delta(&zeroed, &pos, d));
	fmi_devset_close(&zeroed);
	/* A failed open is cleaned up by close (teardown). */
	assert_int_equal(fmi_devset_open(&h->set, &fake_type, h->dir), -ENOENT);
	assert_int_equal(fmi_devset_read(&h->set), -EBADF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_devset_matches_by_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_devset_counter_widths, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_devset_failure_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_devset_grows_to_max, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_devset_closed_states, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
