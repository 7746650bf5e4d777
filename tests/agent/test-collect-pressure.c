/* Tests for agent/collect/collect-pressure.c: the PSI parser and collector.
 * Linked with --wrap=fmi_procfile_open and --wrap=fmi_procfile_read so
 * that the errors a real kernel gives (EOPNOTSUPP with psi=0, EIO, EACCES)
 * can be injected. */
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

static fm_test_source source = { &fmi_collector_pressure, "pressure/cpu" };

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

/* Writes rel ("cpu", "memory", "io") under the root's pressure/. */
static void
put_bytes(fm_test_fixture *fx, const char *rel, const void *buf, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "pressure/%s", rel);
	fm_test_write_file(fx->dir, path, buf, len);
}

static void
put_text(fm_test_fixture *fx, const char *rel, const char *text)
{
	put_bytes(fx, rel, text, strlen(text));
}

static void
put_fixtures(fm_test_fixture *fx)
{
	static const char *const rels[] = { "cpu", "memory", "io" };

	for (size_t i = 0; i < FM_ELEMENTSOF(rels); i++) {
		char path[256];
		size_t len;
		char *buf;

		snprintf(path, sizeof(path), T0 "/pressure/%s", rels[i]);
		buf = fm_test_read_file(path, &len);
		put_bytes(fx, rels[i], buf, len);
		free(buf);
	}
}

/* No failure is injected unless a test asks for it. */
static int
setup(void **state)
{
	fail_open_rel = NULL;
	fail_read_rel = NULL;
	return fm_test_fixture_setup(state);
}

static int
teardown(void **state)
{
	fail_open_rel = NULL;
	fail_read_rel = NULL;
	return fm_test_fixture_teardown(state);
}

/* Calls the parser on an exact-size heap copy, so ASan sees over-reads. */
static int
parse(const char *buf, size_t len, fm_collect_pressure *ret)
{
	char *copy = fm_test_exact_copy(buf, len);
	int r = fm_collect_pressure_parse(copy, len, ret);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_pressure *ret)
{
	return parse(s, strlen(s), ret);
}

/* ---- parser ------------------------------------------------------------ */

static void
test_collect_pressure_parse_fixture(void **state)
{
	fm_collect_pressure ps;
	size_t len;
	char *buf = fm_test_read_file(T0 "/pressure/cpu", &len);

	assert_int_equal(parse(buf, len, &ps), 0);
	assert_true(fabs(ps.some_avg10 - 29.53) < 1e-12);
	assert_true(ps.has_full);
	assert_true(ps.full_avg10 == 0.0);
	free(buf);

	buf = fm_test_read_file(T0 "/pressure/io", &len);
	assert_int_equal(parse(buf, len, &ps), 0);
	assert_true(ps.some_avg10 == 0.0);
	assert_true(ps.has_full);
	free(buf);
}

static void
test_collect_pressure_parse_forms(void **state)
{
	fm_collect_pressure ps;

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
	fm_collect_pressure ps, untouched;

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
	fm_collect_pressure ps;

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
	char *buf = fm_test_read_file(T0 "/pressure/cpu", &len);
	size_t first_ok = strlen("some avg10=2");

	for (size_t n = 0; n <= len; n++) {
		fm_collect_pressure ps;
		int r = parse(buf, n, &ps);

		assert_true(r == 0 || r == -EINVAL);
		if (n < first_ok)
			assert_int_equal(r, -EINVAL);
		if (r == 0)
			assert_true(ps.some_avg10 <= 29.53 + 1e-9);
	}
	assert_int_equal(parse(buf, first_ok, &(fm_collect_pressure) { 0 }), 0);
	assert_int_equal(parse(buf, len, &(fm_collect_pressure) { 0 }), 0);
	free(buf);
}

static void
test_collect_pressure_parse_garbage(void **state)
{
	uint64_t x = 0xdeadbeefcafef00dull;

	for (int i = 0; i < 2000; i++) {
		char buf[128];
		size_t len;
		fm_collect_pressure ps;

		len = fm_test_rand_bytes(&x, buf, sizeof(buf), NULL);
		assert_int_equal(parse(buf, len, &ps), -EINVAL);
	}
}

/* ---- collector --------------------------------------------------------- */

static void
test_collect_pressure_fixture(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.2953);
	assert_near(fx->v[FM_F_PSI_MEM_SOME], 0.0);
	assert_near(fx->v[FM_F_PSI_MEM_FULL], 0.0);
	assert_near(fx->v[FM_F_PSI_IO_SOME], 0.0);
	assert_near(fx->v[FM_F_PSI_IO_FULL], 0.0);
	assert_masked_outside(fx->v, FM_F_PSI_CPU_SOME, FM_F_PSI_IO_FULL);

	put_text(fx, "memory",
	    "some avg10=12.50 avg60=0 avg300=0 total=9\n"
	    "full avg10=250.00 avg60=0 avg300=0 total=9\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_PSI_MEM_SOME], 0.125);
	assert_near(fx->v[FM_F_PSI_MEM_FULL], 1.0); /* clamped */
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.2953);
}

static void
test_collect_pressure_no_full_line(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	put_text(fx, "memory", "some avg10=5.00 avg60=0 avg300=0 total=9\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_PSI_MEM_SOME], 0.05);
	assert_masked(fx->v[FM_F_PSI_MEM_FULL]);
	assert_near(fx->v[FM_F_PSI_IO_FULL], 0.0);
}

/* A kernel without CONFIG_PSI has no /proc/pressure. */
static void
test_collect_pressure_missing_dir(void **state)
{
	fm_test_fixture *fx = *state;

	assert_int_equal(fm_test_open(fx), -ENOENT);
}

static void
test_collect_pressure_some_files_missing(void **state)
{
	fm_test_fixture *fx = *state;

	put_text(fx, "cpu", "some avg10=50.00 avg60=0 avg300=0 total=9\n");
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.5);
	assert_masked(fx->v[FM_F_PSI_MEM_SOME]);
	assert_masked(fx->v[FM_F_PSI_MEM_FULL]);
	assert_masked(fx->v[FM_F_PSI_IO_SOME]);
	assert_masked(fx->v[FM_F_PSI_IO_FULL]);
	assert_masked_outside(fx->v, FM_F_PSI_CPU_SOME, FM_F_PSI_IO_FULL);
}

/* psi=0: the files exist but reading them fails with EOPNOTSUPP. */
static void
test_collect_pressure_psi_disabled(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	fail_open_rel = "pressure/";
	fail_open_error = -EOPNOTSUPP;
	assert_int_equal(fm_test_open(fx), -ENOENT);
}

static void
test_collect_pressure_one_file_unsupported(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	fail_open_rel = "pressure/io";
	fail_open_error = -EOPNOTSUPP;
	assert_int_equal(fm_test_open(fx), 0);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.2953);
	assert_near(fx->v[FM_F_PSI_MEM_FULL], 0.0);
	assert_masked(fx->v[FM_F_PSI_IO_SOME]);
	assert_masked(fx->v[FM_F_PSI_IO_FULL]);
}

/* Any other error opening a file that exists is the sampler's to judge. */
static void
test_collect_pressure_open_error(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	fail_open_rel = "pressure/memory";
	fail_open_error = -EACCES;
	assert_int_equal(fm_test_open(fx), -EACCES);
}

/* One file failing a tick masks its own features only; the error is
 * returned, and the next tick is whole again. */
static void
test_collect_pressure_read_error(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	assert_int_equal(fm_test_open(fx), 0);
	fail_read_rel = "pressure/cpu";
	fail_read_error = -EIO;
	assert_int_equal(fm_test_read(fx, SEC, 2), -EIO);
	assert_masked(fx->v[FM_F_PSI_CPU_SOME]);
	assert_near(fx->v[FM_F_PSI_MEM_SOME], 0.0);
	assert_near(fx->v[FM_F_PSI_IO_FULL], 0.0);
	/* With io garbage too, the first error (cpu's) is the one returned. */
	put_text(fx, "io", "garbage\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EIO);
	assert_near(fx->v[FM_F_PSI_MEM_SOME], 0.0);
	assert_masked(fx->v[FM_F_PSI_IO_SOME]);
	fail_read_rel = NULL;
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.2953);
	put_fixtures(fx);
	assert_int_equal(fm_test_read(fx, SEC, 2), 0);
	assert_near(fx->v[FM_F_PSI_IO_FULL], 0.0);
}

static void
test_collect_pressure_garbage_file(void **state)
{
	fm_test_fixture *fx = *state;

	put_fixtures(fx);
	assert_int_equal(fm_test_open(fx), 0);
	put_text(fx, "io", "\x01\x02garbage\x7f");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.2953);
	assert_masked(fx->v[FM_F_PSI_IO_SOME]);
	assert_masked(fx->v[FM_F_PSI_IO_FULL]);
	/* Two bad files: the first error is returned. */
	put_text(fx, "cpu", "some avg10=x\n");
	assert_int_equal(fm_test_read(fx, SEC, 2), -EINVAL);
	assert_masked(fx->v[FM_F_PSI_CPU_SOME]);
	assert_near(fx->v[FM_F_PSI_MEM_SOME], 0.0);
}

static void
test_collect_pressure_truncated_file(void **state)
{
	fm_test_fixture *fx = *state;
	size_t len;
	char *buf = fm_test_read_file(T0 "/pressure/cpu", &len);

	put_text(fx, "cpu", buf);
	assert_int_equal(fm_test_open(fx), 0);
	for (size_t n = 0; n <= len; n++) {
		int r;

		put_bytes(fx, "cpu", buf, n);
		r = fm_test_read(fx, SEC, 2);
		assert_true(r == 0 || r == -EINVAL);
		if (n < strlen("some avg10=2"))
			assert_int_equal(r, -EINVAL);
		if (r < 0)
			assert_all_masked(fx->v);
		else
			assert_false(isnan(fx->v[FM_F_PSI_CPU_SOME]));
	}
	assert_near(fx->v[FM_F_PSI_CPU_SOME], 0.2953);
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
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_fixture, setup, teardown, &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_no_full_line, setup, teardown,
		    &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_missing_dir, setup, teardown,
		    &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_some_files_missing, setup, teardown,
		    &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_psi_disabled, setup, teardown,
		    &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_one_file_unsupported, setup, teardown,
		    &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_open_error, setup, teardown, &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_read_error, setup, teardown, &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_garbage_file, setup, teardown,
		    &source),
		cmocka_unit_test_prestate_setup_teardown(
		    test_collect_pressure_truncated_file, setup, teardown,
		    &source),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
