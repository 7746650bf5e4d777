/* Tests for agent/collect-filenr.c: the /proc/sys/fs/file-nr parser and
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
#include <sys/stat.h>
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

static const fmi_collector_ops *const ops = &fmi_collector_filenr;

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

	snprintf(path, sizeof(path), "%s/sys", fx->dir);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/sys/fs", fx->dir);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/sys/fs/file-nr", fx->dir);
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
collect(fixture *fx)
{
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		fx->v[i] = NAN;
	fx->ctx.dt_ns = 1000000000;
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
	strcpy(fx->dir, "/tmp/fm-filenr-XXXXXX");
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
parse(const char *buf, size_t len, fmi_filenr *ret)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = fmi_filenr_parse(copy, len, ret);
	free(copy);
	return r;
}

static int
parse_str(const char *s, fmi_filenr *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_filenr_parse_fixture(void **state)
{
	fmi_filenr fn;
	size_t len;
	char *buf = slurp(T0 "/sys/fs/file-nr", &len);

	assert_int_equal(parse(buf, len, &fn), 0);
	assert_int_equal(fn.allocated, 416);
	assert_int_equal(fn.unused, 0);
	assert_int_equal(fn.max, 2466186);
	free(buf);

	buf = slurp(T1 "/sys/fs/file-nr", &len);
	assert_int_equal(parse(buf, len, &fn), 0);
	assert_int_equal(fn.allocated, 415);
	free(buf);
}

static void
test_collect_filenr_parse_forms(void **state)
{
	fmi_filenr fn;

	assert_int_equal(parse_str("1 2 3", &fn), 0);
	assert_int_equal(fn.allocated, 1);
	assert_int_equal(fn.unused, 2);
	assert_int_equal(fn.max, 3);
	assert_int_equal(parse_str("7\t0\t9223372036854775807 \n", &fn), 0);
	assert_true(fn.max == INT64_MAX);
	assert_int_equal(parse_str("0 0 18446744073709551615", &fn), 0);
	assert_true(fn.max == UINT64_MAX);
}

static void
test_collect_filenr_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"416\t0\n",
		"416\t0\t\n",
		"416\t0\t2466186\t5\n",
		"416\t0\t2466186\n\n",
		"416\t0\t2466186\nx",
		"416,0,2466186\n",
		"-416\t0\t2466186\n",
		"416\t0\t0x100\n",
		"416\t0\t18446744073709551616\n",
		"18446744073709551616\t0\t1\n",
		"a\tb\tc\n",
	};
	fmi_filenr fn, untouched;

	memset(&fn, 0xa5, sizeof(fn));
	untouched = fn;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &fn), -EINVAL);
		assert_memory_equal(&fn, &untouched, sizeof(fn));
	}
}

static void
test_collect_filenr_parse_embedded_nul(void **state)
{
	const char s[] = "416\t0\t2466186\n";
	char buf[sizeof(s)];
	fmi_filenr fn;

	for (size_t i = 0; i < sizeof(s) - 1; i++) {
		memcpy(buf, s, sizeof(s));
		buf[i] = '\0';
		assert_int_equal(parse(buf, sizeof(s) - 1, &fn), -EINVAL);
	}
	assert_int_equal(parse(s, sizeof(s), &fn), -EINVAL);
}

/* Every prefix fails with -EINVAL until max has its first digit. */
static void
test_collect_filenr_parse_truncated(void **state)
{
	size_t len;
	char *buf = slurp(T0 "/sys/fs/file-nr", &len);
	size_t ok_from = strlen("416\t0\t2");

	for (size_t n = 0; n <= len; n++) {
		fmi_filenr fn;

		assert_int_equal(
		    parse(buf, n, &fn), n >= ok_from ? 0 : -EINVAL);
	}
	free(buf);
}

static void
test_collect_filenr_parse_garbage(void **state)
{
	uint64_t x = 0x5851f42d4c957f2dull;

	for (int i = 0; i < 2000; i++) {
		char buf[64];
		size_t len;
		fmi_filenr fn;

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
		assert_int_equal(parse(buf, len, &fn), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_filenr_fixture(void **state)
{
	fixture *fx = *state;
	size_t len;
	char *buf = slurp(T0 "/sys/fs/file-nr", &len);

	put_bytes(fx, buf, len);
	free(buf);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_FD_USED, 416.0 / 2466186);
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f != FM_F_FD_USED)
			assert_masked(fx->v, f);
	}
	put_text(fx, "500\t0\t1000\n");
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_FD_USED, 0.5);
}

static void
test_collect_filenr_limits(void **state)
{
	fixture *fx = *state;

	/* No limit to be a fraction of: masked, not an error. */
	put_text(fx, "5\t0\t0\n");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx), 0);
	assert_masked(fx->v, FM_F_FD_USED);
	/* Over the limit (it was lowered): clamped. */
	put_text(fx, "2000\t0\t1000\n");
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_FD_USED, 1.0);
}

static void
test_collect_filenr_garbage_file(void **state)
{
	fixture *fx = *state;

	put_text(fx, "1\t0\t4\n");
	assert_int_equal(open_collector(fx), 0);
	put_text(fx, "many\n");
	assert_int_equal(collect(fx), -EINVAL);
	assert_all_masked(fx->v);
	put_text(fx, "1\t0\t4\n");
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_FD_USED, 0.25);
}

static void
test_collect_filenr_truncated_file(void **state)
{
	fixture *fx = *state;
	size_t len;
	char *buf = slurp(T0 "/sys/fs/file-nr", &len);
	size_t ok_from = strlen("416\t0\t2");

	put_bytes(fx, buf, len);
	assert_int_equal(open_collector(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		put_bytes(fx, buf, n);
		r = collect(fx);
		assert_int_equal(r, n >= ok_from ? 0 : -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
		else
			assert_false(isnan(fx->v[FM_F_FD_USED]));
	}
	free(buf);
}

static void
test_collect_filenr_missing_file(void **state)
{
	fixture *fx = *state;

	assert_int_equal(open_collector(fx), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_filenr_parse_fixture),
		cmocka_unit_test(test_collect_filenr_parse_forms),
		cmocka_unit_test(test_collect_filenr_parse_rejects_malformed),
		cmocka_unit_test(test_collect_filenr_parse_embedded_nul),
		cmocka_unit_test(test_collect_filenr_parse_truncated),
		cmocka_unit_test(test_collect_filenr_parse_garbage),
		cmocka_unit_test_setup_teardown(
		    test_collect_filenr_fixture, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_filenr_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_filenr_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_filenr_truncated_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_filenr_missing_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
