/* Tests for agent/collect-loadavg.c: the /proc/loadavg parser and
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

#define T0 FM_FIXTURES "/proc-debian12-t0"
#define T1 FM_FIXTURES "/proc-debian12-t1"

/* A collector on a temporary procfs root whose files the test rewrites in
 * place (the collector keeps them open). */
typedef struct fixture {
	char dir[32];
	void *state;
	float v[FM_FEATURE_COUNT];
	fmi_collect_ctx ctx;
} fixture;

static const fmi_collector_ops *const ops = &fmi_collector_loadavg;

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

	snprintf(path, sizeof(path), "%s/loadavg", fx->dir);
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

static int
collect(fixture *fx, uint32_t ncpu)
{
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		fx->v[i] = NAN;
	fx->ctx.dt_ns = 1000000000;
	fx->ctx.ncpu = ncpu;
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
	strcpy(fx->dir, "/tmp/fm-loadavg-XXXXXX");
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
parse(const char *buf, size_t len, fmi_loadavg *ret)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = fmi_loadavg_parse(copy, len, ret);
	free(copy);
	return r;
}

static int
parse_str(const char *s, fmi_loadavg *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_loadavg_parse_fixture(void **state)
{
	fmi_loadavg la;
	size_t len;
	char *buf = slurp(T0 "/loadavg", &len);

	assert_int_equal(parse(buf, len, &la), 0);
	assert_true(fabs(la.load1 - 1.21) < 1e-12);
	assert_true(fabs(la.load5 - 0.43) < 1e-12);
	assert_true(fabs(la.load15 - 0.16) < 1e-12);
	assert_int_equal(la.running, 3);
	assert_int_equal(la.threads, 91);
	free(buf);

	buf = slurp(T1 "/loadavg", &len);
	assert_int_equal(parse(buf, len, &la), 0);
	assert_int_equal(la.running, 2);
	assert_int_equal(la.threads, 91);
	free(buf);
}

static void
test_collect_loadavg_parse_number_forms(void **state)
{
	fmi_loadavg la;

	/* No newline; integers without a fraction; many fraction digits. */
	assert_int_equal(parse_str("0.00 12 100.125 0/4294967295 1", &la), 0);
	assert_true(la.load1 == 0.0);
	assert_true(la.load5 == 12.0);
	assert_true(fabs(la.load15 - 100.125) < 1e-12);
	assert_int_equal(la.running, 0);
	assert_int_equal(la.threads, UINT32_MAX);
	assert_int_equal(parse_str("1.1234567891234 0.5 0.25 1/2 3\n", &la), 0);
	assert_true(fabs(la.load1 - 1.123456789) < 1e-12);
	assert_int_equal(
	    parse_str("18446744073709551615.99 0 0 1/2 3", &la), 0);
	assert_true(la.load1 > 1.8e19);
}

static void
test_collect_loadavg_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"1.21 0.43 0.16 3/91\n",
		"1.21 0.43 0.16 3/91 \n",
		"1.21 0.43 0.16 3/91 2948 7\n",
		"1.21 0.43 0.16 3/91 2948\nextra",
		"1.21 0.43 0.16 3/91 2948\n\n",
		"1.21 0.43 0.16 3 91 2948\n",
		"1.21  0.43 0.16 3/91 2948\n",
		" 1.21 0.43 0.16 3/91 2948\n",
		"-1.21 0.43 0.16 3/91 2948\n",
		"+1.21 0.43 0.16 3/91 2948\n",
		"1. 0.43 0.16 3/91 2948\n",
		".5 0.43 0.16 3/91 2948\n",
		"1.2.1 0.43 0.16 3/91 2948\n",
		"1e3 0.43 0.16 3/91 2948\n",
		"nan 0.43 0.16 3/91 2948\n",
		"1.21 0.43 0.16 3/4294967296 2948\n",
		"1.21 0.43 0.16 4294967296/1 2948\n",
		"18446744073709551616 0.43 0.16 3/91 2948\n",
		"1.21 0.43 0.16 3/91 18446744073709551616\n",
	};
	fmi_loadavg la, untouched;

	memset(&la, 0xa5, sizeof(la));
	untouched = la;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &la), -EINVAL);
		assert_memory_equal(&la, &untouched, sizeof(la));
	}
}

static void
test_collect_loadavg_parse_embedded_nul(void **state)
{
	const char s[] = "1.21 0.43 0.16 3/91 2948\n";
	char buf[sizeof(s)];
	fmi_loadavg la;

	for (size_t i = 0; i < sizeof(s) - 1; i++) {
		memcpy(buf, s, sizeof(s));
		buf[i] = '\0';
		assert_int_equal(parse(buf, sizeof(s) - 1, &la), -EINVAL);
	}
	/* The NUL after the text is a byte too, not a terminator. */
	assert_int_equal(parse(s, sizeof(s), &la), -EINVAL);
}

/* Every prefix of the fixture parses or fails with -EINVAL; the result
 * flips where the last field gets its first digit. */
static void
test_collect_loadavg_parse_truncated(void **state)
{
	size_t len;
	char *buf = slurp(T0 "/loadavg", &len);
	size_t ok_from = (size_t)(strstr(buf, " 2948") - buf) + 2;

	for (size_t n = 0; n <= len; n++) {
		fmi_loadavg la;

		assert_int_equal(
		    parse(buf, n, &la), n >= ok_from ? 0 : -EINVAL);
	}
	free(buf);
}

static void
test_collect_loadavg_parse_garbage(void **state)
{
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (int i = 0; i < 2000; i++) {
		char buf[64];
		size_t len;
		fmi_loadavg la;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		len = (size_t)(x % sizeof(buf));
		for (size_t j = 0; j < len; j++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Digits and separators, but never a '/'. */
			buf[j] = i & 1 ? (char)x : "0123456789. \n"[x % 13];
		}
		if (memchr(buf, '/', len))
			continue;
		assert_int_equal(parse(buf, len, &la), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_loadavg_fixture(void **state)
{
	fixture *fx = *state;
	size_t len;
	char *buf = slurp(T0 "/loadavg", &len);

	put_bytes(fx, buf, len);
	free(buf);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 2), 0);
	assert_feature(fx->v, FM_F_LOAD_1, 1.21 / 2);
	assert_feature(fx->v, FM_F_LOAD_5, 0.43 / 2);
	assert_feature(fx->v, FM_F_LOAD_15, 0.16 / 2);
	assert_feature(fx->v, FM_F_PROC_THREADS, log1p(91.0));
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f < FM_F_LOAD_1 || f > FM_F_PROC_THREADS)
			assert_masked(fx->v, f);
	}

	/* Re-read: the file is kept open and read again. */
	put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(collect(fx, 4), 0);
	assert_feature(fx->v, FM_F_LOAD_1, 1.0);
	assert_feature(fx->v, FM_F_LOAD_5, 0.5);
	assert_feature(fx->v, FM_F_LOAD_15, 0.25);
	assert_feature(fx->v, FM_F_PROC_THREADS, log1p(300.0));
}

/* Without a CPU count (stat failed) load cannot be per core: masked. */
static void
test_collect_loadavg_no_ncpu(void **state)
{
	fixture *fx = *state;

	put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx, 0), 0);
	assert_masked(fx->v, FM_F_LOAD_1);
	assert_masked(fx->v, FM_F_LOAD_5);
	assert_masked(fx->v, FM_F_LOAD_15);
	assert_feature(fx->v, FM_F_PROC_THREADS, log1p(300.0));
}

static void
test_collect_loadavg_garbage_file(void **state)
{
	fixture *fx = *state;

	put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(open_collector(fx), 0);
	put_text(fx, "load: high\n");
	assert_int_equal(collect(fx, 2), -EINVAL);
	assert_all_masked(fx->v);
	put_text(fx, "4.00 2.00 1.00 1/300 5\n");
	assert_int_equal(collect(fx, 2), 0);
	assert_feature(fx->v, FM_F_LOAD_1, 2.0);
}

static void
test_collect_loadavg_truncated_file(void **state)
{
	fixture *fx = *state;
	size_t len;
	char *buf = slurp(T0 "/loadavg", &len);
	size_t ok_from = (size_t)(strstr(buf, " 2948") - buf) + 2;

	put_bytes(fx, buf, len);
	assert_int_equal(open_collector(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		put_bytes(fx, buf, n);
		r = collect(fx, 2);
		assert_int_equal(r, n >= ok_from ? 0 : -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
		else
			assert_feature(fx->v, FM_F_LOAD_1, 1.21 / 2);
	}
	free(buf);
}

static void
test_collect_loadavg_missing_file(void **state)
{
	fixture *fx = *state;

	assert_int_equal(open_collector(fx), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_loadavg_parse_fixture),
		cmocka_unit_test(test_collect_loadavg_parse_number_forms),
		cmocka_unit_test(test_collect_loadavg_parse_rejects_malformed),
		cmocka_unit_test(test_collect_loadavg_parse_embedded_nul),
		cmocka_unit_test(test_collect_loadavg_parse_truncated),
		cmocka_unit_test(test_collect_loadavg_parse_garbage),
		cmocka_unit_test_setup_teardown(
		    test_collect_loadavg_fixture, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_loadavg_no_ncpu, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_loadavg_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_loadavg_truncated_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_loadavg_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
