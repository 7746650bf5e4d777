/*
 * Tests for agent/model/labels.c: onsets of each label source, the health
 * command run for real (/bin/true, /bin/false, sleep, scripts), manual
 * reports from another thread, and the failure paths of fm_model_labels_new().
 * pthread_create and eventfd are wrapped (-Wl,--wrap) to fail on demand;
 * malloc and friends are counted (tests/support/alloc-hook).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "tests/agent/test-util.h"
#include "tests/support/alloc-hook.h"

#define OOM    FM_LABEL_BIT(FM_LABEL_OOM)
#define FSFULL FM_LABEL_BIT(FM_LABEL_FS_FULL)
#define HEALTH FM_LABEL_BIT(FM_LABEL_HEALTH)
#define MANUAL FM_LABEL_BIT(FM_LABEL_MANUAL)

/* ---- wrapped calls ---------------------------------------------------- */

static int pthread_create_error; /* 0: call through */
static int eventfd_errno;        /* 0: call through */

int __real_pthread_create(
    pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(
    pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __real_eventfd(unsigned int initval, int flags);
int __wrap_eventfd(unsigned int initval, int flags);

int
__wrap_pthread_create(
    pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (pthread_create_error)
		return pthread_create_error;
	return __real_pthread_create(t, attr, fn, arg);
}

int
__wrap_eventfd(unsigned int initval, int flags)
{
	if (eventfd_errno) {
		errno = eventfd_errno;
		return -1;
	}
	return __real_eventfd(initval, flags);
}

/* ---- helpers ---------------------------------------------------------- */

/* A sample with every feature masked but the two the labels read. */
static fm_collect_sample
sample(float oom, float fs, int64_t real_ns)
{
	fm_collect_sample s;

	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		s.v[i] = NAN;
	s.v[FM_F_MEM_OOM_KILLS] = oom;
	s.v[FM_F_FS_FULLEST] = fs;
	s.mono_ns = real_ns;
	s.real_ns = real_ns;
	return s;
}

static uint32_t
feed(fm_model_labels *l, float oom, float fs)
{
	fm_collect_sample s = sample(oom, fs, fm_time_real_ns());

	return fm_model_labels_on_sample(l, &s);
}

/* Labels with only the sources the test names. */
static fm_model_labels *
labels_new(uint32_t fs_full_percent, const char *command, uint32_t interval_ms,
    uint32_t timeout_ms)
{
	fm_model_labels_config cfg;
	fm_model_labels *l = NULL;

	fm_model_labels_config_init(&cfg);
	cfg.fs_full_percent = fs_full_percent;
	cfg.health_command = command;
	cfg.health_interval_ms = interval_ms;
	cfg.health_timeout_ms = timeout_ms;
	assert_int_equal(fm_model_labels_new(&cfg, &l), 0);
	assert_non_null(l);
	return l;
}

/* Waits (at most 3 s) until n health runs finished; returns the status. */
static fm_model_labels_status
wait_runs(fm_model_labels *l, uint64_t n)
{
	int64_t start = fm_time_mono_ns();
	fm_model_labels_status st;

	for (;;) {
		fm_model_labels_status_get(l, &st);
		if (st.health_runs >= n)
			return st;
		assert_true(fm_test_ms_since(start) < 3000);
		fm_test_sleep_ms(2);
	}
}

static unsigned
count_substr(const char *s, const char *sub)
{
	unsigned n = 0;

	for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub))
		n++;
	return n;
}

/* ---- names and configuration ------------------------------------------ */

static void
test_labels_source_names_are_stable(void **state)
{
	assert_string_equal(fm_model_label_source_name(FM_LABEL_OOM), "oom");
	assert_string_equal(
	    fm_model_label_source_name(FM_LABEL_FS_FULL), "fs_full");
	assert_string_equal(
	    fm_model_label_source_name(FM_LABEL_HEALTH), "health");
	assert_string_equal(
	    fm_model_label_source_name(FM_LABEL_MANUAL), "manual");
	assert_null(fm_model_label_source_name(FM_LABEL_COUNT));
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		assert_int_equal(
		    fm_model_label_source_lookup(fm_model_label_source_name(s)),
		    (int)s);
	assert_int_equal(fm_model_label_source_lookup("OOM"), -ENOENT);
	assert_int_equal(fm_model_label_source_lookup(""), -ENOENT);
}

static void
test_labels_command_check(void **state)
{
	char words[40 * 2 + 1] = "/";
	char longest[FM_SPAWN_COMMAND_BYTES + 1];

	assert_int_equal(fm_model_labels_command_check(""), 0);
	assert_int_equal(fm_model_labels_command_check("/bin/true"), 0);
	assert_int_equal(fm_model_labels_command_check("/bin/x  -a\t b "), 0);
	assert_int_equal(fm_model_labels_command_check("true"), -EINVAL);
	assert_int_equal(fm_model_labels_command_check("./check -v"), -EINVAL);
	/* "/" and then 31 arguments: 32 words fit, 33 do not */
	for (int i = 0; i < 31; i++)
		strcat(words, " a");
	assert_int_equal(fm_model_labels_command_check(words), 0);
	strcat(words, " a");
	assert_int_equal(fm_model_labels_command_check(words), -E2BIG);
	memset(longest, 'x', sizeof(longest) - 1);
	longest[0] = '/';
	longest[sizeof(longest) - 1] = '\0';
	assert_int_equal(fm_model_labels_command_check(longest), -ENAMETOOLONG);
	longest[FM_SPAWN_COMMAND_BYTES - 1] = '\0';
	assert_int_equal(fm_model_labels_command_check(longest), 0);
}

static void
test_labels_new_rejects_bad_config(void **state)
{
	fm_model_labels *sentinel = (fm_model_labels *)&sentinel;
	fm_model_labels *l = sentinel;
	fm_model_labels_config cfg;

	fm_model_labels_config_init(&cfg);
	cfg.fs_full_percent = 101;
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EINVAL);
	fm_model_labels_config_init(&cfg);
	cfg.fs_full_percent = 2;
	cfg.fs_full_hysteresis_percent = 2;
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EINVAL);
	fm_model_labels_config_init(&cfg);
	cfg.health_command = "true";
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EINVAL);
	fm_model_labels_config_init(&cfg);
	cfg.health_command = "/bin/true";
	cfg.health_interval_ms = 0;
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EINVAL);
	fm_model_labels_config_init(&cfg);
	cfg.health_command = "/bin/true";
	cfg.health_timeout_ms = 0;
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EINVAL);
	assert_ptr_equal(l, sentinel);
	/* the hysteresis does not matter with the source off */
	fm_model_labels_config_init(&cfg);
	cfg.fs_full_percent = 0;
	cfg.fs_full_hysteresis_percent = 50;
	assert_int_equal(fm_model_labels_new(&cfg, &l), 0);
	l = fm_model_labels_free(l);
	assert_null(l);
	assert_null(fm_model_labels_free(NULL));
}

static void
test_labels_new_failures_leave_nothing(void **state)
{
	fm_model_labels *sentinel = (fm_model_labels *)&sentinel;
	fm_model_labels *l = sentinel;
	fm_model_labels_config cfg;

	fm_model_labels_config_init(&cfg);
	cfg.health_command = "/bin/true";
	fm_test_alloc_fail_after(0);
	assert_int_equal(fm_model_labels_new(&cfg, &l), -ENOMEM);
	fm_test_alloc_fail_after(-1);
	eventfd_errno = EMFILE;
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EMFILE);
	eventfd_errno = 0;
	pthread_create_error = EAGAIN;
	assert_int_equal(fm_model_labels_new(&cfg, &l), -EAGAIN);
	pthread_create_error = 0;
	assert_ptr_equal(l, sentinel);
	/* without a health command there is no thread to fail */
	cfg.health_command = "";
	pthread_create_error = EAGAIN;
	assert_int_equal(fm_model_labels_new(&cfg, &l), 0);
	pthread_create_error = 0;
	l = fm_model_labels_free(l);
}

/* ---- oom and fs_full -------------------------------------------------- */

static void
test_labels_oom_one_kill_is_one_onset(void **state)
{
	/* What the sampler gives with slow_every 5: the rate is masked
	 * until vmstat's second read, then each slow read's rate over its 5
	 * s interval is repeated for 5 samples. One kill reads as 0.2/s,
	 * five times. */
	static const float rates[] = {
		NAN, NAN, NAN, NAN, NAN,      /* first interval */
		0.0f, 0.0f, 0.0f, 0.0f, 0.0f, /* quiet */
		0.2f, 0.2f, 0.2f, 0.2f, 0.2f, /* one kill: onset */
		0.0f, 0.0f, 0.0f, 0.0f, 0.0f, /* quiet */
		0.4f, 0.4f, 0.4f, 0.4f, 0.4f, /* a storm: onset */
		0.2f, 0.2f, 0.2f, 0.2f, 0.2f, /* still going */
		NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN, /* vmstat lost */
		0.2f, 0.2f,      /* the same storm */
		0.0f, NAN, 0.2f, /* a gap: onset */
	};
	fm_model_labels *l = labels_new(0, NULL, 1000, 100);
	fm_model_labels_status st;
	unsigned onsets = 0;

	for (size_t i = 0; i < FM_ELEMENTSOF(rates); i++) {
		fm_collect_sample s =
		    sample(rates[i], 0.5f, (int64_t)(i + 1) * SEC);
		uint32_t mask = fm_model_labels_on_sample(l, &s);

		assert_int_equal(mask & ~OOM, 0);
		if (!mask)
			continue;
		onsets++;
		assert_true(i == 10 || i == 20 || i == 43);
	}
	assert_int_equal(onsets, 3);
	fm_model_labels_status_get(l, &st);
	assert_int_equal(st.events[FM_LABEL_OOM], 3);
	assert_true(st.last_event_real_ns[FM_LABEL_OOM] == 44 * SEC);
	assert_true(st.failing[FM_LABEL_OOM]);
	assert_true(feed(l, 0.0f, 0.5f) == 0);
	fm_model_labels_status_get(l, &st);
	assert_false(st.failing[FM_LABEL_OOM]);
	l = fm_model_labels_free(l);
}

static void
test_labels_fs_full_crosses_with_hysteresis(void **state)
{
	/* threshold 95 %, re-armed below 93 % */
	static const struct {
		float used;
		bool onset;
	} steps[] = {
		{ 0.90f, false },
		{ 0.95f, true }, /* reaching the line is crossing it */
		{ 0.949f, false },
		{ 0.951f, false }, /* flapping around the line */
		{ 0.94f, false },
		{ NAN, false }, /* unknown changes nothing */
		{ 0.99f, false },
		{ 0.931f, false }, /* not yet below 93 % */
		{ 1.0f, false },
		{ 0.929f, false }, /* re-armed */
		{ NAN, false },
		{ 0.96f, true },
		{ 0.97f, false },
	};
	fm_model_labels *l = labels_new(95, NULL, 1000, 100);
	fm_model_labels_status st;

	fm_model_labels_status_get(l, &st);
	assert_true(st.enabled[FM_LABEL_FS_FULL]);
	assert_false(st.enabled[FM_LABEL_HEALTH]);
	for (size_t i = 0; i < FM_ELEMENTSOF(steps); i++)
		assert_int_equal(
		    feed(l, 0.0f, steps[i].used), steps[i].onset ? FSFULL : 0);
	fm_model_labels_status_get(l, &st);
	assert_int_equal(st.events[FM_LABEL_FS_FULL], 2);
	assert_true(st.failing[FM_LABEL_FS_FULL]);
	l = fm_model_labels_free(l);
}

static void
test_labels_fs_full_at_start_and_off(void **state)
{
	fm_model_labels *l = labels_new(95, NULL, 1000, 100);
	fm_model_labels_status st;

	/* presumed healthy at start: already full is an onset */
	assert_int_equal(feed(l, NAN, NAN), 0);
	assert_int_equal(feed(l, NAN, 0.97f), FSFULL);
	l = fm_model_labels_free(l);
	l = labels_new(0, NULL, 1000, 100);
	assert_int_equal(feed(l, NAN, 1.0f), 0);
	fm_model_labels_status_get(l, &st);
	assert_false(st.enabled[FM_LABEL_FS_FULL]);
	assert_false(st.failing[FM_LABEL_FS_FULL]);
	l = fm_model_labels_free(l);
}

static void
test_labels_sample_never_allocates(void **state)
{
	fm_model_labels *l = labels_new(95, NULL, 1000, 100);
	unsigned before, onsets = 0;

	before = fm_test_alloc_count();
	/* onsets are logged too: the log line is formatted on the stack */
	for (int i = 0; i < 200; i++) {
		if (i % 50 == 0)
			(void)fm_model_labels_manual_set(l, i % 100 == 0);
		onsets +=
		    feed(l, (float)(i % 10 < 5), i % 20 < 10 ? 0.5f : 1.f) != 0;
	}
	assert_int_equal(fm_test_alloc_count(), before);
	assert_true(onsets >= 20);
	l = fm_model_labels_free(l);
}

/* ---- health ----------------------------------------------------------- */

static void
test_labels_health_true_passes(void **state)
{
	fm_model_labels *l = labels_new(0, "/bin/true", 20, 1000);
	fm_model_labels_status st = wait_runs(l, 2);

	assert_true(st.enabled[FM_LABEL_HEALTH]);
	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_OK);
	assert_int_equal(st.health.code, 0);
	assert_true(st.health.duration_ms < 1000);
	assert_true(st.health.real_ns > 0);
	assert_int_equal(feed(l, NAN, NAN), 0);
	fm_model_labels_status_get(l, &st);
	assert_false(st.failing[FM_LABEL_HEALTH]);
	assert_int_equal(st.events[FM_LABEL_HEALTH], 0);
	l = fm_model_labels_free(l);
}

static void
test_labels_health_false_is_one_onset(void **state)
{
	fm_model_labels *l = labels_new(0, "/bin/false --ignored", 20, 1000);
	fm_model_labels_status st = wait_runs(l, 1);

	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_EXITED);
	assert_int_equal(st.health.code, 1);
	assert_int_equal(feed(l, NAN, NAN), HEALTH);
	/* failing again and again is the same failure */
	st = wait_runs(l, st.health_runs + 2);
	assert_int_equal(feed(l, NAN, NAN), 0);
	fm_model_labels_status_get(l, &st);
	assert_true(st.failing[FM_LABEL_HEALTH]);
	assert_int_equal(st.events[FM_LABEL_HEALTH], 1);
	l = fm_model_labels_free(l);
}

static void
test_labels_health_timeout_kills(void **state)
{
	fm_model_labels *l = labels_new(0, "/bin/sleep 10", 10000, 200);
	int64_t start = fm_time_mono_ns();
	fm_model_labels_status st = wait_runs(l, 1);

	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_TIMEOUT);
	assert_true(st.health.duration_ms >= 200);
	assert_true(st.health.duration_ms < 200 + FM_SPAWN_KILL_GRACE_MS);
	assert_true(fm_test_ms_since(start) < 1000);
	assert_false(st.health_running);
	assert_int_equal(feed(l, NAN, NAN), HEALTH);
	l = fm_model_labels_free(l);
}

/* Whether process pid is gone (or a zombie left for its new parent). */
static bool
is_dead(long pid)
{
	char path[64], buf[256];
	const char *state;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return true;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	state = strrchr(buf, ')');
	return !state || state[1] == '\0' || state[2] == 'Z';
}

static void
test_labels_health_timeout_kills_group_after_grace(void **state)
{
	/* A check that ignores SIGTERM, as does the child it leaves in its
	 * process group: SIGKILL after the grace takes both. */
	char dir[FM_TEST_DIR_BYTES], script[PATH_MAX], pidfile[PATH_MAX];
	char body[512];
	fm_model_labels_status st;
	fm_model_labels *l;
	char *text;
	size_t len;
	long pid;

	fm_test_tmpdir_new(dir, "labels");
	snprintf(pidfile, sizeof(pidfile), "%s/child.pid", dir);
	snprintf(body, sizeof(body),
	    "#!/bin/sh\ntrap '' TERM\n/bin/sleep 10 &\necho $! > %.400s\n"
	    "wait\n",
	    pidfile);
	fm_test_write_script(dir, "stubborn", body, script);
	l = labels_new(0, script, 10000, 300);
	st = wait_runs(l, 1);
	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_TIMEOUT);
	assert_true(st.health.duration_ms >= 300 + FM_SPAWN_KILL_GRACE_MS);
	assert_true(st.health.duration_ms < 300 + FM_SPAWN_KILL_GRACE_MS + 500);
	text = fm_test_read_file(pidfile, &len);
	pid = strtol(text, NULL, 10);
	free(text);
	assert_true(pid > 0);
	for (int i = 0; i < 100 && !is_dead(pid); i++)
		fm_test_sleep_ms(5);
	assert_true(is_dead(pid));
	l = fm_model_labels_free(l);
	fm_test_tmpdir_remove(dir);
}

static void
test_labels_health_runs_detached(void **state)
{
	/* stdin, stdout and stderr on /dev/null, a process group of its
	 * own, no signal blocked, SIGPIPE back to its default (the agent
	 * ignores it). Only signals 1-31 are checked for being ignored:
	 * glibc's posix_spawn ignores its internal 32 and 33 in the child.
	 * The masks are read first, with builtins only: dash blocks every
	 * signal while it forks. */
	static const char body[] =
	    "#!/bin/sh\n"
	    "while read -r key value; do\n"
	    "  case $key in\n"
	    "  SigBlk:) blk=$value ;;\n"
	    "  SigIgn:) ign=$value ;;\n"
	    "  esac\n"
	    "done < /proc/$$/status\n"
	    "[ $((0x$ign & 0x7fffffff)) -eq 0 ] || exit 5\n"
	    "[ $((0x$blk)) -eq 0 ] || exit 6\n"
	    "read -r stat < /proc/$$/stat\n"
	    "set -- $stat\n"
	    "[ \"$5\" = \"$$\" ] || exit 4\n"
	    "for fd in 0 1 2; do\n"
	    "  [ \"$(readlink /proc/$$/fd/$fd)\" = /dev/null ] || exit 3\n"
	    "done\n";
	char dir[FM_TEST_DIR_BYTES], script[PATH_MAX];
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	fm_model_labels_status st;
	fm_model_labels *l;

	sigemptyset(&ign.sa_mask);
	assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
	fm_test_tmpdir_new(dir, "labels");
	fm_test_write_script(dir, "detached", body, script);
	l = labels_new(0, script, 10000, 2000);
	st = wait_runs(l, 1);
	assert_int_equal(st.health.code, 0);
	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_OK);
	l = fm_model_labels_free(l);
	fm_test_tmpdir_remove(dir);
	assert_int_equal(sigaction(SIGPIPE, &old, NULL), 0);
}

static void
test_labels_health_killed_by_signal(void **state)
{
	char dir[FM_TEST_DIR_BYTES], script[PATH_MAX];
	fm_model_labels_status st;
	fm_model_labels *l;

	fm_test_tmpdir_new(dir, "labels");
	fm_test_write_script(
	    dir, "suicide", "#!/bin/sh\nkill -TERM $$\nsleep 5\n", script);
	l = labels_new(0, script, 10000, 2000);
	st = wait_runs(l, 1);
	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_SIGNALED);
	assert_int_equal(st.health.code, SIGTERM);
	assert_int_equal(feed(l, NAN, NAN), HEALTH);
	l = fm_model_labels_free(l);
	fm_test_tmpdir_remove(dir);
}

static void
test_labels_health_missing_program_logs_once(void **state)
{
	static const char cmd[] = "/nonexistent/fedmon-check --flag";
	char log_path[64], want[256];
	fm_model_labels_status st;
	fm_model_labels *l;
	char *text;
	int saved;

	fm_log_set_max_level(LOG_INFO);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	l = labels_new(0, cmd, 10, 5);
	st = wait_runs(l, 3);
	l = fm_model_labels_free(l);
	text = fm_test_stderr_capture_end(saved, log_path);
	assert_int_equal(st.health.outcome, FM_MODEL_LABELS_HEALTH_ERROR);
	assert_int_equal(st.health.code, -ENOENT);
	snprintf(want, sizeof(want),
	    "<3>Failed to run health check '%s': No such file or directory\n",
	    cmd);
	assert_int_equal(count_substr(text, want), 1);
	assert_int_equal(count_substr(text, "health check"), 1);
	free(text);
}

static void
test_labels_health_free_during_check_is_prompt(void **state)
{
	fm_model_labels *l = labels_new(0, "/bin/sleep 10", 20000, 15000);
	int64_t start = fm_time_mono_ns();
	fm_model_labels_status st;

	do {
		assert_true(fm_test_ms_since(start) < 3000);
		fm_test_sleep_ms(2);
		fm_model_labels_status_get(l, &st);
	} while (!st.health_running);
	start = fm_time_mono_ns();
	l = fm_model_labels_free(l);
	assert_null(l);
	/* sleep dies on SIGTERM at once: well within the grace */
	assert_true(fm_test_ms_since(start) < FM_SPAWN_KILL_GRACE_MS);
}

static void
test_labels_health_free_while_idle_is_prompt(void **state)
{
	fm_model_labels *l = labels_new(0, "/bin/true", 60000, 1000);
	int64_t start;

	(void)wait_runs(l, 1);
	start = fm_time_mono_ns();
	l = fm_model_labels_free(l);
	assert_true(fm_test_ms_since(start) < 100);
}

/* ---- manual ----------------------------------------------------------- */

static void *
report_failure(void *arg)
{
	return fm_model_labels_manual_set(arg, true) ? arg : NULL;
}

static void
test_labels_manual_from_another_thread(void **state)
{
	fm_model_labels *l = labels_new(0, NULL, 1000, 100);
	fm_model_labels_status st;
	pthread_t t;
	void *changed;

	assert_int_equal(feed(l, NAN, NAN), 0);
	assert_int_equal(pthread_create(&t, NULL, report_failure, l), 0);
	assert_int_equal(pthread_join(t, &changed), 0);
	assert_ptr_equal(changed, l);
	fm_model_labels_status_get(l, &st);
	assert_true(st.failing[FM_LABEL_MANUAL]);
	assert_int_equal(st.events[FM_LABEL_MANUAL], 0);
	assert_int_equal(feed(l, NAN, NAN), MANUAL);
	assert_int_equal(feed(l, NAN, NAN), 0);
	/* sticky: a second report is the same failure */
	assert_false(fm_model_labels_manual_set(l, true));
	assert_int_equal(feed(l, NAN, NAN), 0);
	assert_true(fm_model_labels_manual_set(l, false));
	assert_false(fm_model_labels_manual_set(l, false));
	fm_model_labels_status_get(l, &st);
	assert_false(st.failing[FM_LABEL_MANUAL]);
	/* a failure reported and cleared between two samples still counts */
	assert_true(fm_model_labels_manual_set(l, true));
	assert_true(fm_model_labels_manual_set(l, false));
	assert_int_equal(feed(l, NAN, NAN), MANUAL);
	fm_model_labels_status_get(l, &st);
	assert_int_equal(st.events[FM_LABEL_MANUAL], 2);
	assert_true(st.last_event_real_ns[FM_LABEL_MANUAL] > 0);
	l = fm_model_labels_free(l);
}

static void
test_labels_sources_combine_in_one_mask(void **state)
{
	fm_model_labels *l = labels_new(90, "/bin/false", 10000, 1000);
	fm_collect_sample s = sample(1.0f, 0.99f, 1234 * SEC);
	fm_model_labels_status st;

	(void)wait_runs(l, 1);
	assert_true(fm_model_labels_manual_set(l, true));
	assert_int_equal(
	    fm_model_labels_on_sample(l, &s), OOM | FSFULL | HEALTH | MANUAL);
	fm_model_labels_status_get(l, &st);
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++) {
		assert_true(st.enabled[i]);
		assert_true(st.failing[i]);
		assert_int_equal(st.events[i], 1);
		assert_true(st.last_event_real_ns[i] == 1234 * SEC);
	}
	l = fm_model_labels_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels_source_names_are_stable),
		cmocka_unit_test(test_labels_command_check),
		cmocka_unit_test(test_labels_new_rejects_bad_config),
		cmocka_unit_test(test_labels_new_failures_leave_nothing),
		cmocka_unit_test(test_labels_oom_one_kill_is_one_onset),
		cmocka_unit_test(test_labels_fs_full_crosses_with_hysteresis),
		cmocka_unit_test(test_labels_fs_full_at_start_and_off),
		cmocka_unit_test(test_labels_sample_never_allocates),
		cmocka_unit_test(test_labels_health_true_passes),
		cmocka_unit_test(test_labels_health_false_is_one_onset),
		cmocka_unit_test(test_labels_health_timeout_kills),
		cmocka_unit_test(
		    test_labels_health_timeout_kills_group_after_grace),
		cmocka_unit_test(test_labels_health_runs_detached),
		cmocka_unit_test(test_labels_health_killed_by_signal),
		cmocka_unit_test(test_labels_health_missing_program_logs_once),
		cmocka_unit_test(
		    test_labels_health_free_during_check_is_prompt),
		cmocka_unit_test(test_labels_health_free_while_idle_is_prompt),
		cmocka_unit_test(test_labels_manual_from_another_thread),
		cmocka_unit_test(test_labels_sources_combine_in_one_mask),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
