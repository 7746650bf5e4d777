/* Tests for agent/collect-pressure.c: the PSI parser and collector.
 * Linked with --wrap=fmi_procfile_open and --wrap=fmi_procfile_read so
 * that the errors a real kernel gives (EOPNOTSUPP with psi=0, EIO, EACCES)
 * can be injected. */
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

/* A collector on a temporary procfs root whose files the test rewrites in
 * place (the collector keeps them open). */
typedef struct fixture {
	char dir[32];
	void *state;
	float v[FM_FEATURE_COUNT];
	fmi_collect_ctx ctx;
} fixture;

static const fmi_collector_ops *const ops = &fmi_collector_pressure;

/* Injected failures: opening or reading a file whose path contains
 * fail_*_rel returns fail_*_error. */
static const char *fail_open_rel;
static int fail_open_error;
static const char *fail_read_rel;
static int fail_read_error;

int __real_fmi_procfile_open(
    fmi_procfile *f, const char *root, const char *rel);
int __wrap_fmi_procfile_open(
    fmi_procfile *f, const char *root, const char *rel);
int __real_fmi_procfile_read(fmi_procfile *f);
int __wrap_fmi_procfile_read(fmi_procfile *f);

int
__wrap_fmi_procfile_open(fmi_procfile *f, const char *root, const char *rel)
{
	if (fail_open_rel && strstr(rel, fail_open_rel)) {
		fmi_procfile_init(f);
		return fail_open_error;
	}
	return __real_fmi_procfile_open(f, root, rel);
}

int
__wrap_fmi_procfile_read(fmi_procfile *f)
{
	if (fail_read_rel && strstr(f->path, fail_read_rel))
		return fail_read_error;
	return __real_fmi_procfile_read(f);
}

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

/* Writes rel ("cpu", "memory", "io") under the root's pressure/. */
static void
put_bytes(fixture *fx, const char *rel, const void *buf, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/pressure", fx->dir);
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/pressure/%s", fx->dir, rel);
	/* Rewritten in place (the collector holds it open); no O_TRUNC, which
	 * on ext4 forces a flush at close and makes per-offset loops slow. */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

static void
put_text(fixture *fx, const char *rel, const char *text)
{
	put_bytes(fx, rel, text, strlen(text));
}

static void
put_fixtures(fixture *fx)
{
	static const char *const rels[] = { "cpu", "memory", "io" };

	for (size_t i = 0; i < FM_ELEMENTSOF(rels); i++) {
		char path[256];
		size_t len;
		char *buf;

		snprintf(path, sizeof(path), T0 "/pressure/%s", rels[i]);
		buf = slurp(path, &len);
		put_bytes(fx, rels[i], buf, len);
		free(buf);
	}
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
	strcpy(fx->dir, "/tmp/fm-psi-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	fx->state = calloc(1, ops->state_bytes);
	assert_non_null(fx->state);
	fail_open_rel = NULL;
	fail_read_rel = NULL;
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
	fail_open_rel = NULL;
	fail_read_rel = NULL;
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
assert_others_masked(const float *v)
{
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f < FM_F_PSI_CPU_SOME || f > FM_F_PSI_IO_FULL)
			assert_masked(v, f);
	}
}

static void
assert_all_masked(const float *v)
{
	for (int f = 0; f < FM_FEATURE_COUNT; f++)
		assert_masked(v, f);
}

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fmi_pressure *ret)
{
	char *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = fmi_pressure_parse(copy, len, ret);
	free(copy);
	return r;
}

static int
parse_str(const char *s, fmi_pressure *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_pressure_parse_fixture(void **state)
{
	fmi_pressure ps;
	size_t len;
	char *buf = slurp(T0 "/pressure/cpu", &len);

	assert_int_equal(parse(buf, len, &ps), 0);
	assert_true(fabs(ps.some_avg10 - 29.53) < 1e-12);
	assert_true(ps.has_full);
	assert_true(ps.full_avg10 == 0.0);
	free(buf);

	buf = slurp(T0 "/pressure/io", &len);
	assert_int_equal(parse(buf, len, &ps), 0);
	assert_true(ps.some_avg10 == 0.0);
	assert_true(ps.has_full);
	free(buf);
}

static void
test_collect_pressure_parse_forms(void **state)
{
	fmi_pressure ps;

	/* cpu before 5.13: no full line; no trailing newline. */
	assert_int_equal(
	    parse_str("some avg10=1.50 avg60=0.00 avg300=0.00 total=5", &ps),
	    0);
	assert_true(ps.some_avg10 == 1.5);
	assert_false(ps.has_full);
	/* Fields and lines of future kernels are skipped. */
	assert_int_equal(parse_str("some avg10=2.25 avg30=7 total=1 new=x\n"
	                           "full avg10=100.00 avg60=0 avg300=0 "
	                           "total=18446744073709551615\n"
	                           "peak avg10=zzz\n",
	                     &ps),
	    0);
	assert_true(ps.some_avg10 == 2.25);
	assert_true(ps.has_full);
	assert_true(ps.full_avg10 == 100.0);
	/* Only avg10 is required. */
	assert_int_equal(
	    parse_str("full avg10=3.00\nsome avg10=4.00\n", &ps), 0);
	assert_true(ps.some_avg10 == 4.0);
	assert_true(ps.full_avg10 == 3.0);
}

static void
test_collect_pressure_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"some avg60=0.00 avg300=0.00 total=0\n",
		"some\n",
		"some avg10\n",
		"some avg10=\n",
		"some avg10=abc\n",
		"some avg10=-1.00\n",
		"some avg10=1.\n",
		"some avg10=1.5.5\n",
		"some avg10=1e2\n",
		"some avg10=1,5\n",
		"some avg10=1.00 avg10=2.00\n",
		"some avg10=1.00 avg60=x\n",
		"some avg10=1.00 total=-1\n",
		"some avg10=1.00 total=18446744073709551616\n",
		"some avg10=18446744073709551616.00\n",
		"some avg10=1.00\nsome avg10=1.00\n",
		"some avg10=1.00\nfull avg10=1.00\nfull avg10=1.00\n",
		"some avg10=1.00\nfull avg60=1.00\n",
	};
	fmi_pressure ps, untouched;

	memset(&ps, 0xa5, sizeof(ps));
	untouched = ps;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(parse_str(bad[i], &ps), -EINVAL);
		assert_memory_equal(&ps, &untouched, sizeof(ps));
	}
}

static void
test_collect_pressure_parse_embedded_nul(void **state)
{
	const char s[] = "some avg10=29.53 avg60=15.29 avg300=4.51 total=1\n";
	char buf[sizeof(s)];
	fmi_pressure ps;

	/* Anywhere from "some" to the end of avg10's value: malformed. */
	for (size_t i = 0; i < strlen("some avg10=29.53"); i++) {
		memcpy(buf, s, sizeof(s));
		buf[i] = '\0';
		assert_int_equal(parse(buf, sizeof(s) - 1, &ps), -EINVAL);
	}
}

/* Every prefix of the fixture parses or fails with -EINVAL; short ones
 * fail, the whole parses. */
static void
test_collect_pressure_parse_truncated(void **state)
{
	size_t len;
	char *buf = slurp(T0 "/pressure/cpu", &len);
	size_t first_ok = strlen("some avg10=2");

	for (size_t n = 0; n <= len; n++) {
		fmi_pressure ps;
		int r = parse(buf, n, &ps);

		assert_true(r == 0 || r == -EINVAL);
		if (n < first_ok)
			assert_int_equal(r, -EINVAL);
		if (r == 0)
			assert_true(ps.some_avg10 <= 29.53 + 1e-9);
	}
	assert_int_equal(parse(buf, first_ok, &(fmi_pressure) { 0 }), 0);
	assert_int_equal(parse(buf, len, &(fmi_pressure) { 0 }), 0);
	free(buf);
}

static void
test_collect_pressure_parse_garbage(void **state)
{
	uint64_t x = 0xdeadbeefcafef00dull;

	for (int i = 0; i < 2000; i++) {
		char buf[128];
		size_t len;
		fmi_pressure ps;

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
		assert_int_equal(parse(buf, len, &ps), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_pressure_fixture(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.2953);
	assert_feature(fx->v, FM_F_PSI_MEM_SOME, 0.0);
	assert_feature(fx->v, FM_F_PSI_MEM_FULL, 0.0);
	assert_feature(fx->v, FM_F_PSI_IO_SOME, 0.0);
	assert_feature(fx->v, FM_F_PSI_IO_FULL, 0.0);
	assert_others_masked(fx->v);

	put_text(fx, "memory",
	    "some avg10=12.50 avg60=0 avg300=0 total=9\n"
	    "full avg10=250.00 avg60=0 avg300=0 total=9\n");
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_PSI_MEM_SOME, 0.125);
	assert_feature(fx->v, FM_F_PSI_MEM_FULL, 1.0); /* clamped */
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.2953);
}

static void
test_collect_pressure_no_full_line(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	put_text(fx, "memory", "some avg10=5.00 avg60=0 avg300=0 total=9\n");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_PSI_MEM_SOME, 0.05);
	assert_masked(fx->v, FM_F_PSI_MEM_FULL);
	assert_feature(fx->v, FM_F_PSI_IO_FULL, 0.0);
}

/* A kernel without CONFIG_PSI has no /proc/pressure. */
static void
test_collect_pressure_missing_dir(void **state)
{
	fixture *fx = *state;

	assert_int_equal(open_collector(fx), -ENOENT);
}

static void
test_collect_pressure_some_files_missing(void **state)
{
	fixture *fx = *state;

	put_text(fx, "cpu", "some avg10=50.00 avg60=0 avg300=0 total=9\n");
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.5);
	assert_masked(fx->v, FM_F_PSI_MEM_SOME);
	assert_masked(fx->v, FM_F_PSI_MEM_FULL);
	assert_masked(fx->v, FM_F_PSI_IO_SOME);
	assert_masked(fx->v, FM_F_PSI_IO_FULL);
	assert_others_masked(fx->v);
}

/* psi=0: the files exist but reading them fails with EOPNOTSUPP. */
static void
test_collect_pressure_psi_disabled(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	fail_open_rel = "pressure/";
	fail_open_error = -EOPNOTSUPP;
	assert_int_equal(open_collector(fx), -ENOENT);
}

static void
test_collect_pressure_one_file_unsupported(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	fail_open_rel = "pressure/io";
	fail_open_error = -EOPNOTSUPP;
	assert_int_equal(open_collector(fx), 0);
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.2953);
	assert_feature(fx->v, FM_F_PSI_MEM_FULL, 0.0);
	assert_masked(fx->v, FM_F_PSI_IO_SOME);
	assert_masked(fx->v, FM_F_PSI_IO_FULL);
}

/* Any other error opening a file that exists is the sampler's to judge. */
static void
test_collect_pressure_open_error(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	fail_open_rel = "pressure/memory";
	fail_open_error = -EACCES;
	assert_int_equal(open_collector(fx), -EACCES);
}

/* One file failing a tick masks its own features only; the error is
 * returned, and the next tick is whole again. */
static void
test_collect_pressure_read_error(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	assert_int_equal(open_collector(fx), 0);
	fail_read_rel = "pressure/cpu";
	fail_read_error = -EIO;
	assert_int_equal(collect(fx), -EIO);
	assert_masked(fx->v, FM_F_PSI_CPU_SOME);
	assert_feature(fx->v, FM_F_PSI_MEM_SOME, 0.0);
	assert_feature(fx->v, FM_F_PSI_IO_FULL, 0.0);
	/* With io garbage too, the first error (cpu's) is the one returned. */
	put_text(fx, "io", "garbage\n");
	assert_int_equal(collect(fx), -EIO);
	assert_feature(fx->v, FM_F_PSI_MEM_SOME, 0.0);
	assert_masked(fx->v, FM_F_PSI_IO_SOME);
	fail_read_rel = NULL;
	assert_int_equal(collect(fx), -EINVAL);
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.2953);
	put_fixtures(fx);
	assert_int_equal(collect(fx), 0);
	assert_feature(fx->v, FM_F_PSI_IO_FULL, 0.0);
}

static void
test_collect_pressure_garbage_file(void **state)
{
	fixture *fx = *state;

	put_fixtures(fx);
	assert_int_equal(open_collector(fx), 0);
	put_text(fx, "io", "\x01\x02garbage\x7f");
	assert_int_equal(collect(fx), -EINVAL);
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.2953);
	assert_masked(fx->v, FM_F_PSI_IO_SOME);
	assert_masked(fx->v, FM_F_PSI_IO_FULL);
	/* Two bad files: the first error is returned. */
	put_text(fx, "cpu", "some avg10=x\n");
	assert_int_equal(collect(fx), -EINVAL);
	assert_masked(fx->v, FM_F_PSI_CPU_SOME);
	assert_feature(fx->v, FM_F_PSI_MEM_SOME, 0.0);
}

static void
test_collect_pressure_truncated_file(void **state)
{
	fixture *fx = *state;
	size_t len;
	char *buf = slurp(T0 "/pressure/cpu", &len);

	put_text(fx, "cpu", buf);
	assert_int_equal(open_collector(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		put_bytes(fx, "cpu", buf, n);
		r = collect(fx);
		assert_true(r == 0 || r == -EINVAL);
		if (n < strlen("some avg10=2"))
			assert_int_equal(r, -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
		else
			assert_false(isnan(fx->v[FM_F_PSI_CPU_SOME]));
	}
	assert_feature(fx->v, FM_F_PSI_CPU_SOME, 0.2953);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_pressure_parse_fixture),
		cmocka_unit_test(test_collect_pressure_parse_forms),
		cmocka_unit_test(test_collect_pressure_parse_rejects_malformed),
		cmocka_unit_test(test_collect_pressure_parse_embedded_nul),
		cmocka_unit_test(test_collect_pressure_parse_truncated),
		cmocka_unit_test(test_collect_pressure_parse_garbage),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_fixture, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_no_full_line, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_missing_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_some_files_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_psi_disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_one_file_unsupported, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_open_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_read_error, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_garbage_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_collect_pressure_truncated_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
