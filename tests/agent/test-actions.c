/*
 * Tests for agent/act/rules.c and its kinds (kind-log.c, kind-hook.c,
 * kind-restart.c): each kind run for real (scripts in a temporary
 * directory, a fake systemctl), dry runs, the schedule (hold, cooldown,
 * hourly cap, a run in progress) driven by synthetic sample times, hook
 * timeouts and failures, reloads, and allocation failures (malloc and
 * friends are counted: tests/support/alloc-hook).
 */
#include <errno.h>
#include <limits.h>
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

#include "agent/act/act.h"
#include "agent/agent.h"
#include "tests/agent/test-util.h"
#include "tests/support/alloc-hook.h"

#define SYSTEMCTL "/usr/bin/systemctl"

/* ---- helpers ---------------------------------------------------------- */

/* snprintf() into dst[size], which must hold it all. */
static void FM_PRINTF(3, 4) put(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < size);
}

/* A rule of kind with the parser's defaults, on the anomaly alarm, no
 * cooldown. */
static fm_act_rule
rule(const char *name, fm_act_kind kind)
{
	fm_act_rule r = {
		.when = FM_ACT_WHEN_ANOMALY,
		.cooldown_seconds = 0,
		.max_per_hour = 3600,
		.kind = kind,
		.priority = LOG_DEBUG,
		.timeout_ms = 5000,
	};

	put(r.name, sizeof(r.name), "%s", name);
	return r;
}

/* A sample at t seconds (monotonic; real time 1e9 s later), the detector
 * ready, with or without alarm, two top features. */
static fm_act_input
input(int64_t t, bool alarm)
{
	fm_act_input in = {
		.mono_ns = t * SEC,
		.real_ns = (1000000000 + t) * SEC,
		.ready = true,
		.alarm = alarm,
		.score = alarm ? 5.5f : 0.5f,
		.threshold = 1.0f,
		.n_top = 2,
		.top = { FM_F_CPU_USER, FM_F_LOAD_1 },
		.top_contrib = { 0.75f, 0.125f },
	};

	/* predictors trusted unless a test says otherwise */
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		in.failure_trusted[s] = true;
	return in;
}

static void
feed(fm_act *a, int64_t t, bool alarm)
{
	fm_act_input in = input(t, alarm);

	fm_act_on_sample(a, &in);
}

static fm_act *
actions_new(const fm_act_rule *rules, uint32_t n, bool dry_run)
{
	fm_act *a = NULL;

	assert_int_equal(fm_act_new(rules, n, SYSTEMCTL, dry_run, &a), 0);
	assert_non_null(a);
	return a;
}

static uint64_t
finished(const fm_act_rule_status *rs)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < FM_ACT_RESULT_COUNT; i++)
		n += rs->runs[i];
	return n;
}

/* Waits (at most 10 s) until rule i has finished n runs; returns the
 * status. */
static fm_act_status
wait_runs(fm_act *a, uint32_t i, uint64_t n)
{
	int64_t start = fm_time_mono_ns();
	fm_act_status st;

	for (;;) {
		fm_act_status_get(a, &st);
		assert_true(i < st.n_rules);
		if (finished(&st.rules[i]) >= n && !st.rules[i].running)
			return st;
		assert_true(fm_test_ms_since(start) < 10000);
		fm_test_sleep_ms(2);
	}
}

/* The first rule of a has finished n runs, has none in progress, and
 * counts suppressed. */
static void
check_counts(fm_act *a, uint64_t n, uint64_t suppressed)
{
	fm_act_status st;

	fm_act_status_get(a, &st);
	assert_int_equal(finished(&st.rules[0]), n);
	assert_false(st.rules[0].running);
	assert_int_equal(st.rules[0].suppressed, suppressed);
}

/* Whether the NUL-terminated text has the line line. */
static bool
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') &&
		    (p[n] == '\n' || p[n] == '\0'))
			return true;
	return false;
}

/* The lines in the NUL-terminated text. */
static unsigned
line_count(const char *text)
{
	unsigned n = 0;

	for (const char *p = text; (p = strchr(p, '\n')); p++)
		n++;
	return n;
}

/* ---- names, checks, construction -------------------------------------- */

static void
test_actions_names_are_stable(void **state)
{
	assert_string_equal(fm_act_kind_name(FM_ACT_KIND_LOG), "log");
	assert_string_equal(fm_act_kind_name(FM_ACT_KIND_HOOK), "hook");
	assert_string_equal(fm_act_kind_name(FM_ACT_KIND_RESTART), "restart");
	assert_null(fm_act_kind_name(0));
	assert_null(fm_act_kind_name(FM_ACT_KIND_COUNT));
	assert_string_equal(fm_act_result_name(FM_ACT_RESULT_OK), "ok");
	assert_string_equal(fm_act_result_name(FM_ACT_RESULT_FAILED), "failed");
	assert_string_equal(
	    fm_act_result_name(FM_ACT_RESULT_TIMEOUT), "timeout");
	assert_string_equal(fm_act_result_name(FM_ACT_RESULT_ERROR), "error");
	assert_string_equal(
	    fm_act_result_name(FM_ACT_RESULT_DRY_RUN), "dry_run");
	assert_null(fm_act_result_name(FM_ACT_RESULT_COUNT));
}

/* r must be refused, with why naming key. */
static void
check_refused(const fm_act_rule *r, const char *key)
{
	char why[FM_INI_WHY_BYTES] = "";

	assert_int_equal(fm_act_rule_check(r, why), -EINVAL);
	if (!strstr(why, key))
		fail_msg("'%s' does not name '%s'", why, key);
}

static void
test_actions_rule_check(void **state)
{
	char why[FM_INI_WHY_BYTES];
	fm_act_rule log = rule("log-1.x_Y", FM_ACT_KIND_LOG);
	fm_act_rule hook = rule("hook", FM_ACT_KIND_HOOK);
	fm_act_rule restart = rule("restart", FM_ACT_KIND_RESTART);
	fm_act_rule r;

	snprintf(hook.command, sizeof(hook.command), "/bin/true -a  b");
	snprintf(restart.unit, sizeof(restart.unit), "web@1:a_b-c.service");
	assert_int_equal(fm_act_rule_check(&log, why), 0);
	assert_int_equal(fm_act_rule_check(&hook, why), 0);
	assert_int_equal(fm_act_rule_check(&restart, why), 0);
	r = log;
	r.when = FM_ACT_WHEN_FAILURE;
	r.failure_source = FM_LABEL_HEALTH;
	r.probability = 1.0f;
	assert_int_equal(fm_act_rule_check(&r, why), 0);
	r.probability = 0.0f;
	check_refused(&r, "probability");
	r.probability = 1.5f;
	check_refused(&r, "probability");
	r.probability = NAN;
	check_refused(&r, "probability");
	r.probability = 0.5f;
	r.failure_source = FM_LABEL_COUNT;
	check_refused(&r, "when");
	r = log;
	r.probability = 0.5f; /* anomaly rules have none */
	check_refused(&r, "probability");
	r = log;
	r.when = 0;
	check_refused(&r, "when");
	r = log;
	r.kind = 0;
	check_refused(&r, "kind");
	r = log;
	r.kind = FM_ACT_KIND_COUNT;
	check_refused(&r, "kind");
	r = log;
	r.name[0] = '\0';
	check_refused(&r, "name");
	put(r.name, sizeof(r.name), "a b");
	check_refused(&r, "name");
	memset(r.name, 'a', sizeof(r.name)); /* no NUL */
	check_refused(&r, "name");
	r = log;
	r.max_per_hour = 0;
	check_refused(&r, "max_per_hour");
	r.max_per_hour = 3601;
	check_refused(&r, "max_per_hour");
	r = log;
	r.cooldown_seconds = 86401;
	check_refused(&r, "cooldown_seconds");
	r = log;
	r.priority = LOG_DEBUG + 1;
	check_refused(&r, "priority");
	r = log;
	put(r.command, sizeof(r.command), "/bin/true");
	check_refused(&r, "command");
	r = hook;
	r.command[0] = '\0';
	check_refused(&r, "command");
	put(r.command, sizeof(r.command), "true");
	check_refused(&r, "command");
	r = hook;
	put(r.unit, sizeof(r.unit), "a.service");
	check_refused(&r, "unit");
	r = hook;
	r.timeout_ms = 0;
	check_refused(&r, "timeout_ms");
	r = restart;
	r.unit[0] = '\0';
	check_refused(&r, "unit");
	/* not units: no type, an option, a bad byte, an unknown type */
	put(r.unit, sizeof(r.unit), "web");
	check_refused(&r, "unit");
	put(r.unit, sizeof(r.unit), "--force.service");
	check_refused(&r, "unit");
	put(r.unit, sizeof(r.unit), "a b.service");
	check_refused(&r, "unit");
	put(r.unit, sizeof(r.unit), "web.servic");
	check_refused(&r, "unit");
	put(r.unit, sizeof(r.unit), "backup.timer");
	assert_int_equal(fm_act_rule_check(&r, why), 0);
	put(r.command, sizeof(r.command), "/bin/true");
	check_refused(&r, "command");
}

static void
test_actions_new_rejects_bad_rules(void **state)
{
	fm_act *sentinel = (fm_act *)&sentinel;
	fm_act *a = sentinel;
	fm_act_rule rules[FM_ACT_RULES_MAX + 1];
	fm_act_status st;

	for (unsigned i = 0; i <= FM_ACT_RULES_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%u", i);
		rules[i] = rule(name, FM_ACT_KIND_LOG);
	}
	assert_int_equal(
	    fm_act_new(rules, FM_ACT_RULES_MAX + 1, SYSTEMCTL, false, &a),
	    -EINVAL);
	assert_int_equal(fm_act_new(rules, 2, "systemctl", false, &a), -EINVAL);
	assert_int_equal(fm_act_new(rules, 2, NULL, false, &a), -EINVAL);
	put(rules[1].name, sizeof(rules[1].name), "r0");
	assert_int_equal(fm_act_new(rules, 2, SYSTEMCTL, false, &a), -EINVAL);
	rules[1].kind = FM_ACT_KIND_HOOK; /* and no command */
	put(rules[1].name, sizeof(rules[1].name), "r1");
	assert_int_equal(fm_act_new(rules, 2, SYSTEMCTL, false, &a), -EINVAL);
	assert_ptr_equal(a, sentinel);
	/* 32 rules fit; none is fine too */
	rules[1].kind = FM_ACT_KIND_LOG;
	a = actions_new(rules, FM_ACT_RULES_MAX, false);
	fm_act_status_get(a, &st);
	assert_int_equal(st.n_rules, FM_ACT_RULES_MAX);
	a = fm_act_free(a);
	assert_null(a);
	a = actions_new(NULL, 0, false);
	feed(a, 0, true);
	fm_act_status_get(a, &st);
	assert_int_equal(st.n_rules, 0);
	assert_int_equal(st.n_recent, 0);
	a = fm_act_free(a);
	assert_null(fm_act_free(NULL));
}

static void
test_actions_new_allocation_failures(void **state)
{
	fm_act *sentinel = (fm_act *)&sentinel;
	fm_act *a = sentinel;
	fm_act_rule r = rule("a", FM_ACT_KIND_LOG);

	/* the object, the rule states, the rule's hourly ring */
	for (int i = 0; i < 3; i++) {
		fm_test_alloc_fail_after(i);
		assert_int_equal(
		    fm_act_new(&r, 1, SYSTEMCTL, false, &a), -ENOMEM);
		fm_test_alloc_fail_after(-1);
	}
	assert_ptr_equal(a, sentinel);
	a = actions_new(&r, 1, false);
	fm_test_alloc_fail_after(0);
	assert_int_equal(fm_act_reload(a, &r, 1, SYSTEMCTL, false), -ENOMEM);
	fm_test_alloc_fail_after(-1);
	a = fm_act_free(a);
}

static void
test_actions_input_from_learner(void **state)
{
	fm_model_learner_status st = {
		.ready = true,
		.alarm = true,
		.score = 3.0f,
		.threshold = 1.5f,
		.n_top = 2,
		.top = { 4, 7 },
		.top_contrib = { 0.5f, 0.25f },
	};
	fm_act_input in;

	st.failure[FM_LABEL_OOM].trained = true;
	st.failure[FM_LABEL_OOM].probability = 0.75f;
	st.failure[FM_LABEL_OOM].events = 2;
	st.failure[FM_LABEL_FS_FULL].trusted = true;
	st.failure_min_events = 3;
	fm_act_input_from_learner(&st, 5 * SEC, 7 * SEC, &in);
	assert_true(in.mono_ns == 5 * SEC);
	assert_true(in.real_ns == 7 * SEC);
	assert_true(in.ready && in.alarm);
	assert_true(in.score == 3.0f && in.threshold == 1.5f);
	assert_int_equal(in.n_top, 2);
	assert_int_equal(in.top[1], 7);
	assert_true(in.top_contrib[1] == 0.25f);
	assert_true(in.failure_trained[FM_LABEL_OOM]);
	assert_false(in.failure_trained[FM_LABEL_HEALTH]);
	assert_true(in.failure_probability[FM_LABEL_OOM] == 0.75f);
	assert_false(in.failure_trusted[FM_LABEL_OOM]);
	assert_true(in.failure_trusted[FM_LABEL_FS_FULL]);
	assert_int_equal(in.failure_events[FM_LABEL_OOM], 2);
	assert_int_equal(in.failure_min_events, 3);
}

/* ---- the kinds, run for real ------------------------------------------- */

static void
test_actions_log_writes_at_priority(void **state)
{
	fm_act_rule r = rule("disk-log", FM_ACT_KIND_LOG);
	char log_path[64];
	fm_act_status st;
	fm_act *a;
	char *text;
	int saved;

	r.priority = LOG_WARNING;
	fm_log_set_max_level(LOG_INFO);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	a = actions_new(&r, 1, false);
	feed(a, 0, true);
	st = wait_runs(a, 0, 1);
	a = fm_act_free(a);
	text = fm_test_stderr_capture_end(saved, log_path);
	fm_log_set_max_level(LOG_ERR);
	assert_true(has_line(text,
	    "<4>Action 'disk-log': anomaly, score 5.500 (threshold 1.000), "
	    "top features cpu.user=0.7500,load.1m=0.1250"));
	/* one line per event: no "done" line after the log line */
	assert_int_equal(line_count(text), 1);
	free(text);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_true(st.rules[0].last_run_real_ns == (1000000000 + 0) * SEC);
	assert_int_equal(st.n_recent, 1);
	assert_string_equal(st.recent[0].rule, "disk-log");
	assert_int_equal(st.recent[0].kind, FM_ACT_KIND_LOG);
	assert_int_equal(st.recent[0].result, FM_ACT_RESULT_OK);
	assert_int_equal(st.recent[0].code, 0);
	assert_true(st.recent[0].score == 5.5f);
	assert_true(st.recent[0].real_ns > 0);
}

static void
test_actions_hook_gets_environment(void **state)
{
	char dir[FM_TEST_DIR_BYTES], script[PATH_MAX], body[PATH_MAX + 64];
	char marker[PATH_MAX];
	fm_act_rule rules[2] = {
		rule("on-anomaly", FM_ACT_KIND_HOOK),
		rule("on-oom", FM_ACT_KIND_HOOK),
	};
	fm_act_input in = input(42, true);
	fm_act_status st;
	fm_act *a;
	char *text;
	size_t len;

	fm_test_tmpdir_new(dir, "actions");
	/* the hook writes its arguments and environment, one a line */
	snprintf(body, sizeof(body),
	    "#!/bin/sh\n{ echo \"args=$*\"; env; } > %s/$FEDMON_RULE.env\n",
	    dir);
	fm_test_write_script(dir, "hook", body, script);
	put(rules[0].command, sizeof(rules[0].command), "%s one  two", script);
	put(rules[1].command, sizeof(rules[1].command), "%s", script);
	rules[1].when = FM_ACT_WHEN_FAILURE;
	rules[1].failure_source = FM_LABEL_OOM;
	rules[1].probability = 0.5f;
	assert_int_equal(setenv("FM_TEST_NOT_PASSED", "1", 1), 0);
	a = actions_new(rules, 2, false);
	in.failure_trained[FM_LABEL_OOM] = true;
	in.failure_probability[FM_LABEL_OOM] = 0.625f;
	fm_act_on_sample(a, &in);
	st = wait_runs(a, 0, 1);
	st = wait_runs(a, 1, 1);
	a = fm_act_free(a);
	unsetenv("FM_TEST_NOT_PASSED");
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_int_equal(st.rules[1].runs[FM_ACT_RESULT_OK], 1);

	snprintf(marker, sizeof(marker), "%s/on-anomaly.env", dir);
	text = fm_test_read_file(marker, &len);
	assert_true(has_line(text, "args=one two"));
	assert_true(has_line(text, "FEDMON_RULE=on-anomaly"));
	assert_true(has_line(text, "FEDMON_WHEN=anomaly"));
	assert_true(has_line(text, "FEDMON_SCORE=5.5"));
	assert_true(has_line(text, "FEDMON_THRESHOLD=1"));
	assert_true(has_line(text, "FEDMON_ALARM=1"));
	assert_true(has_line(
	    text, "FEDMON_TOP_FEATURES=cpu.user=0.7500,load.1m=0.1250"));
	assert_true(has_line(text, "FEDMON_TIME=1000000042"));
	assert_true(has_line(text,
	    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
	    "/bin"));
	assert_null(strstr(text, "FEDMON_PROBABILITY"));
	assert_null(strstr(text, "FM_TEST_NOT_PASSED"));
	free(text);

	snprintf(marker, sizeof(marker), "%s/on-oom.env", dir);
	text = fm_test_read_file(marker, &len);
	assert_true(has_line(text, "args="));
	assert_true(has_line(text, "FEDMON_RULE=on-oom"));
	assert_true(has_line(text, "FEDMON_WHEN=failure:oom"));
	assert_true(has_line(text, "FEDMON_PROBABILITY=0.625"));
	free(text);
	assert_true(
	    st.recent[0].score == 0.625f || st.recent[1].score == 0.625f);
	fm_test_tmpdir_remove(dir);
}

static void
test_actions_restart_runs_systemctl(void **state)
{
	char dir[FM_TEST_DIR_BYTES], fake[PATH_MAX], body[PATH_MAX + 64];
	char argv_path[PATH_MAX];
	fm_act_rule r = rule("restart-web", FM_ACT_KIND_RESTART);
	fm_act_status st;
	fm_act *a = NULL;
	char *text;
	size_t len;

	fm_test_tmpdir_new(dir, "actions");
	snprintf(argv_path, sizeof(argv_path), "%s/argv", dir);
	snprintf(body, sizeof(body),
	    "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done > %s\n",
	    argv_path);
	fm_test_write_script(dir, "systemctl", body, fake);
	put(r.unit, sizeof(r.unit), "web@1.service");
	assert_int_equal(fm_act_new(&r, 1, fake, false, &a), 0);
	feed(a, 0, true);
	st = wait_runs(a, 0, 1);
	a = fm_act_free(a);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_int_equal(st.recent[0].kind, FM_ACT_KIND_RESTART);
	text = fm_test_read_file(argv_path, &len);
	assert_string_equal(
	    text, "--no-ask-password\nrestart\nweb@1.service\n");
	free(text);
	fm_test_tmpdir_remove(dir);
}

static void
test_actions_dry_run_runs_nothing(void **state)
{
	char dir[FM_TEST_DIR_BYTES], script[PATH_MAX], body[PATH_MAX + 64];
	char marker[PATH_MAX], log_path[64], want[PATH_MAX + 128];
	fm_act_rule rules[2] = {
		rule("hook", FM_ACT_KIND_HOOK),
		rule("restart", FM_ACT_KIND_RESTART),
	};
	fm_act_status st;
	fm_act *a;
	char *text;
	int saved;

	fm_test_tmpdir_new(dir, "actions");
	snprintf(marker, sizeof(marker), "%s/marker", dir);
	snprintf(body, sizeof(body), "#!/bin/sh\ntouch %s\n", marker);
	fm_test_write_script(dir, "hook", body, script);
	put(rules[0].command, sizeof(rules[0].command), "%s --now", script);
	put(rules[1].unit, sizeof(rules[1].unit), "web.service");
	rules[1].dry_run = true; /* this one on its own */
	fm_log_set_max_level(LOG_INFO);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	/* the systemctl does not exist: a real run would be an error */
	a = NULL;
	assert_int_equal(
	    fm_act_new(rules, 2, "/nonexistent/systemctl", false, &a), 0);
	feed(a, 0, true);
	st = wait_runs(a, 1, 1);
	st = wait_runs(a, 0, 1);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_false(st.rules[0].dry_run);
	assert_true(st.rules[1].dry_run);
	assert_int_equal(st.rules[1].runs[FM_ACT_RESULT_DRY_RUN], 1);
	assert_int_equal(unlink(marker), 0);
	/* [actions] dry_run = yes makes every rule a dry run */
	assert_int_equal(
	    fm_act_reload(a, rules, 2, "/nonexistent/systemctl", true), 0);
	feed(a, 1, true);
	st = wait_runs(a, 0, 2);
	st = wait_runs(a, 1, 2);
	a = fm_act_free(a);
	text = fm_test_stderr_capture_end(saved, log_path);
	fm_log_set_max_level(LOG_ERR);
	assert_true(st.rules[0].dry_run);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_DRY_RUN], 1);
	assert_int_equal(st.rules[1].runs[FM_ACT_RESULT_DRY_RUN], 2);
	assert_int_equal(st.rules[1].runs[FM_ACT_RESULT_ERROR], 0);
	assert_int_equal(access(marker, F_OK), -1);
	assert_int_equal(st.n_recent, 4);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(st.recent[i].result, FM_ACT_RESULT_DRY_RUN);
		assert_int_equal(st.recent[i].duration_ms, 0);
	}
	snprintf(want, sizeof(want),
	    "<5>Action 'hook' (dry run) would run '%s --now'.", script);
	assert_true(has_line(text, want));
	assert_true(has_line(text,
	    "<5>Action 'restart' (dry run) would run '/nonexistent/systemctl "
	    "--no-ask-password restart web.service'."));
	free(text);
	fm_test_tmpdir_remove(dir);
}

/* Actions with one hook rule running command, fired at 0 s. */
static fm_act *
hook_fired(const char *command, uint32_t timeout_ms)
{
	fm_act_rule r = rule("slow", FM_ACT_KIND_HOOK);
	fm_act *a;

	put(r.command, sizeof(r.command), "%s", command);
	r.timeout_ms = timeout_ms;
	a = actions_new(&r, 1, false);
	feed(a, 0, true);
	return a;
}

static void
test_actions_hook_timeout_kills(void **state)
{
	int64_t start = fm_time_mono_ns();
	fm_act *a = hook_fired("/bin/sleep 10", 200);
	fm_act_status st = wait_runs(a, 0, 1);

	assert_true(fm_test_ms_since(start) < 5000);
	a = fm_act_free(a);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_TIMEOUT], 1);
	assert_int_equal(st.recent[0].result, FM_ACT_RESULT_TIMEOUT);
	assert_true(st.recent[0].duration_ms >= 200);
	assert_true(st.recent[0].duration_ms < 200 + FM_SPAWN_KILL_GRACE_MS);
}

static void
test_actions_hook_failures(void **state)
{
	char dir[FM_TEST_DIR_BYTES], exit3[PATH_MAX], suicide[PATH_MAX];
	fm_act_rule rules[3] = {
		rule("exit3", FM_ACT_KIND_HOOK),
		rule("missing", FM_ACT_KIND_HOOK),
		rule("signal", FM_ACT_KIND_HOOK),
	};
	fm_act_status st;
	fm_act *a;

	fm_test_tmpdir_new(dir, "actions");
	fm_test_write_script(dir, "exit3", "#!/bin/sh\nexit 3\n", exit3);
	fm_test_write_script(
	    dir, "suicide", "#!/bin/sh\nkill -TERM $$\nsleep 5\n", suicide);
	put(rules[0].command, sizeof(rules[0].command), "%s", exit3);
	put(rules[1].command, sizeof(rules[1].command),
	    "/nonexistent/fedmon-hook --flag");
	put(rules[2].command, sizeof(rules[2].command), "%s", suicide);
	a = actions_new(rules, 3, false);
	feed(a, 0, true);
	for (uint32_t i = 0; i < 3; i++)
		st = wait_runs(a, i, 1);
	a = fm_act_free(a);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_FAILED], 1);
	assert_int_equal(st.rules[1].runs[FM_ACT_RESULT_ERROR], 1);
	assert_int_equal(st.rules[2].runs[FM_ACT_RESULT_FAILED], 1);
	assert_int_equal(st.n_recent, 3);
	for (uint32_t i = 0; i < 3; i++) {
		const fm_act_record *rec = &st.recent[i];

		if (strcmp(rec->rule, "exit3") == 0) {
			assert_int_equal(rec->result, FM_ACT_RESULT_FAILED);
			assert_int_equal(rec->code, 3);
		} else if (strcmp(rec->rule, "missing") == 0) {
			assert_int_equal(rec->result, FM_ACT_RESULT_ERROR);
			assert_int_equal(rec->code, -ENOENT);
		} else {
			assert_string_equal(rec->rule, "signal");
			assert_int_equal(rec->result, FM_ACT_RESULT_FAILED);
			assert_int_equal(rec->code, -SIGTERM);
		}
	}
	fm_test_tmpdir_remove(dir);
}

static void
test_actions_free_during_hook_is_prompt(void **state)
{
	int64_t start = fm_time_mono_ns();
	fm_act *a = hook_fired("/bin/sleep 10", 60000);
	fm_act_status st;

	do {
		/* running: queued or started; give the worker time to spawn */
		assert_true(fm_test_ms_since(start) < 3000);
		fm_test_sleep_ms(50);
		fm_act_status_get(a, &st);
	} while (!st.rules[0].running);
	start = fm_time_mono_ns();
	a = fm_act_free(a);
	assert_true(fm_test_ms_since(start) < FM_SPAWN_KILL_GRACE_MS);
}

/* ---- the schedule ------------------------------------------------------ */

static void
test_actions_hold_seconds(void **state)
{
	fm_act_rule r = rule("held", FM_ACT_KIND_LOG);
	fm_act_status st;
	fm_act *a;

	r.hold_seconds = 5;
	a = actions_new(&r, 1, false);
	/* held 0..3 s, broken at 4 s: the hold starts again */
	for (int t = 0; t < 4; t++)
		feed(a, t, true);
	fm_act_status_get(a, &st);
	assert_true(st.rules[0].holding);
	feed(a, 4, false);
	fm_act_status_get(a, &st);
	assert_false(st.rules[0].holding);
	for (int t = 5; t < 10; t++)
		feed(a, t, true);
	fm_act_status_get(a, &st);
	assert_false(st.rules[0].running);
	assert_true(st.rules[0].last_run_real_ns == 0);
	assert_int_equal(st.rules[0].suppressed, 0);
	/* 5 s after its start at 5 s */
	feed(a, 10, true);
	st = wait_runs(a, 0, 1);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_true(st.rules[0].last_run_real_ns == (1000000000 + 10) * SEC);
	/* a detector that is not ready never fires */
	a = fm_act_free(a);
	r.hold_seconds = 0;
	a = actions_new(&r, 1, false);
	for (int t = 0; t < 5; t++) {
		fm_act_input in = input(t, true);

		in.ready = false;
		fm_act_on_sample(a, &in);
	}
	fm_act_status_get(a, &st);
	assert_true(st.rules[0].last_run_real_ns == 0);
	a = fm_act_free(a);
}

static void
test_actions_cooldown(void **state)
{
	fm_act_rule r = rule("cool", FM_ACT_KIND_LOG);
	fm_act_status st;
	fm_act *a;

	r.cooldown_seconds = 10;
	a = actions_new(&r, 1, false);
	feed(a, 0, true);
	st = wait_runs(a, 0, 1);
	/* holding on: again after each cooldown, nothing suppressed */
	for (int t = 1; t < 10; t++)
		feed(a, t, true);
	check_counts(a, 1, 0);
	feed(a, 10, true);
	st = wait_runs(a, 0, 2);
	/* a new episode within the cooldown is suppressed once, and runs
	 * when the cooldown ends if it still holds */
	feed(a, 11, false);
	for (int t = 12; t < 20; t++)
		feed(a, t, true);
	check_counts(a, 2, 1);
	feed(a, 20, true);
	st = wait_runs(a, 0, 3);
	assert_int_equal(st.rules[0].suppressed, 1);
	assert_true(st.rules[0].last_run_real_ns == (1000000000 + 20) * SEC);
	a = fm_act_free(a);
}

static void
test_actions_hourly_cap(void **state)
{
	fm_act_rule r = rule("capped", FM_ACT_KIND_LOG);
	fm_act_status st;
	fm_act *a;

	r.max_per_hour = 3;
	a = actions_new(&r, 1, false);
	for (int t = 0; t < 3; t++) {
		feed(a, t, true);
		st = wait_runs(a, 0, (uint64_t)t + 1);
	}
	feed(a, 3, true);
	feed(a, 3599, true);
	check_counts(a, 3, 2);
	/* an hour after the first run, a slot is free */
	feed(a, 3600, true);
	st = wait_runs(a, 0, 4);
	feed(a, 3600, true); /* the same instant: the cap again */
	fm_act_status_get(a, &st);
	assert_int_equal(st.rules[0].suppressed, 3);
	feed(a, 3601, true);
	st = wait_runs(a, 0, 5);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 5);
	a = fm_act_free(a);
}

static void
test_actions_run_in_progress_is_suppressed(void **state)
{
	fm_act_rule r = rule("busy", FM_ACT_KIND_HOOK);
	fm_act_status st;
	fm_act *a;

	put(r.command, sizeof(r.command), "/bin/sleep 0.5");
	a = actions_new(&r, 1, false);
	feed(a, 0, true);
	feed(a, 1, true);
	feed(a, 2, true);
	fm_act_status_get(a, &st);
	assert_true(st.rules[0].running);
	assert_int_equal(st.rules[0].suppressed, 2);
	st = wait_runs(a, 0, 1);
	assert_int_equal(finished(&st.rules[0]), 1);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	a = fm_act_free(a);
}

static void
test_actions_failure_rules(void **state)
{
	fm_act_rule r = rule("oom", FM_ACT_KIND_LOG);
	fm_act_input in = input(0, false);
	fm_act_status st;
	fm_act *a;

	r.when = FM_ACT_WHEN_FAILURE;
	r.failure_source = FM_LABEL_OOM;
	r.probability = 0.5f;
	a = actions_new(&r, 1, false);
	/* an untrained predictor, another source, below, NAN: nothing */
	in.failure_probability[FM_LABEL_OOM] = 0.9f;
	fm_act_on_sample(a, &in);
	in.failure_trained[FM_LABEL_HEALTH] = true;
	in.failure_probability[FM_LABEL_HEALTH] = 1.0f;
	fm_act_on_sample(a, &in);
	in.failure_trained[FM_LABEL_OOM] = true;
	in.failure_probability[FM_LABEL_OOM] = 0.49f;
	fm_act_on_sample(a, &in);
	in.failure_probability[FM_LABEL_OOM] = NAN;
	fm_act_on_sample(a, &in);
	fm_act_status_get(a, &st);
	assert_false(st.rules[0].holding);
	assert_true(st.rules[0].last_run_real_ns == 0);
	/* at the probability, alarm or not */
	in.failure_probability[FM_LABEL_OOM] = 0.5f;
	fm_act_on_sample(a, &in);
	st = wait_runs(a, 0, 1);
	assert_true(st.recent[0].score == 0.5f);
	a = fm_act_free(a);
}

/*
 * A probability from a predictor that has learned from fewer than
 * failure_min_events onsets drives nothing (p(oom) 0.99 after 2 OOM kills
 * restarted a unit again and again on a live host), and the journal is
 * told once, not at every sample; once trusted, the rule runs.
 */
static void
test_actions_failure_rule_waits_for_min_events(void **state)
{
	fm_act_rule r = rule("oom-restart", FM_ACT_KIND_LOG);
	fm_act_input in = input(0, false);
	fm_act_status st;
	char log_path[64];
	char *text;
	fm_act *a;
	int saved;

	r.when = FM_ACT_WHEN_FAILURE;
	r.failure_source = FM_LABEL_OOM;
	r.probability = 0.8f;
	fm_log_set_max_level(LOG_INFO);
	saved = fm_test_stderr_capture_begin(log_path, sizeof(log_path));
	a = actions_new(&r, 1, false);
	in.failure_trained[FM_LABEL_OOM] = true;
	in.failure_probability[FM_LABEL_OOM] = 0.99f;
	in.failure_trusted[FM_LABEL_OOM] = false;
	in.failure_events[FM_LABEL_OOM] = 2;
	in.failure_min_events = 3;
	for (int t = 0; t < 30; t++) {
		in.mono_ns = t * SEC;
		in.real_ns = (1000000000 + t) * SEC;
		fm_act_on_sample(a, &in);
	}
	fm_act_status_get(a, &st);
	text = fm_test_stderr_capture_end(saved, log_path);
	assert_false(st.rules[0].holding);
	assert_true(st.rules[0].last_run_real_ns == 0);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 0);
	assert_true(has_line(text,
	    "<5>Rule 'oom-restart': p(oom) 0.99 is at or above 0.80, but its "
	    "predictor learned from 2 failure onsets (fewer than "
	    "failure_min_events = 3), not acting until it has."));
	assert_int_equal(line_count(text), 1);
	free(text);

	/* the third onset: trusted, it acts */
	in.failure_trusted[FM_LABEL_OOM] = true;
	in.failure_events[FM_LABEL_OOM] = 3;
	in.mono_ns = 30 * SEC;
	fm_act_on_sample(a, &in);
	st = wait_runs(a, 0, 1);
	assert_true(st.recent[0].score == 0.99f);
	a = fm_act_free(a);
	fm_log_set_max_level(LOG_ERR);
}

static void
test_actions_recent_ring_keeps_newest(void **state)
{
	fm_act_rule r = rule("many", FM_ACT_KIND_LOG);
	const int runs = FM_ACT_RECENT + 8;
	fm_act_status st;
	fm_act *a;

	a = actions_new(&r, 1, false);
	for (int t = 0; t < runs; t++) {
		feed(a, t, true);
		st = wait_runs(a, 0, (uint64_t)t + 1);
	}
	a = fm_act_free(a);
	assert_int_equal(st.n_recent, FM_ACT_RECENT);
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], runs);
	for (uint32_t i = 1; i < st.n_recent; i++)
		assert_true(st.recent[i - 1].real_ns >= st.recent[i].real_ns);
}

static void
test_actions_sample_never_allocates(void **state)
{
	fm_act_rule rules[2] = {
		rule("a", FM_ACT_KIND_LOG),
		rule("b", FM_ACT_KIND_LOG),
	};
	fm_act *a;
	unsigned before;

	rules[1].hold_seconds = 3;
	rules[1].cooldown_seconds = 2;
	rules[1].max_per_hour = 10;
	a = actions_new(rules, 2, true);
	before = fm_test_alloc_count();
	for (int t = 0; t < 200; t++)
		feed(a, t, t % 20 < 15);
	assert_int_equal(fm_test_alloc_count(), before);
	a = fm_act_free(a);
}

/* ---- reload ------------------------------------------------------------ */

static void
test_actions_reload_keeps_state_by_name(void **state)
{
	fm_act_rule before[2] = {
		rule("gone", FM_ACT_KIND_LOG),
		rule("kept", FM_ACT_KIND_LOG),
	};
	fm_act_rule after[2] = {
		rule("kept", FM_ACT_KIND_LOG),
		rule("new", FM_ACT_KIND_LOG),
	};
	fm_act_rule dup[2] = {
		rule("x", FM_ACT_KIND_LOG),
		rule("x", FM_ACT_KIND_LOG),
	};
	fm_act_status st;
	fm_act *a;

	before[0].cooldown_seconds = 100;
	before[1].cooldown_seconds = 100;
	before[1].max_per_hour = 2;
	after[0].cooldown_seconds = 100;
	after[0].max_per_hour = 2;
	after[0].priority = LOG_INFO; /* another priority: same condition */
	a = actions_new(before, 2, false);
	feed(a, 0, true);
	st = wait_runs(a, 0, 1);
	st = wait_runs(a, 1, 1);
	feed(a, 1, false);
	feed(a, 2, true); /* within kept's cooldown */
	fm_act_status_get(a, &st);
	assert_int_equal(st.rules[1].suppressed, 1);
	/* a broken set changes nothing */
	assert_int_equal(fm_act_reload(a, dup, 2, SYSTEMCTL, false), -EINVAL);
	assert_int_equal(
	    fm_act_reload(a, after, 2, "relative", false), -EINVAL);
	fm_act_status_get(a, &st);
	assert_int_equal(st.n_rules, 2);
	assert_string_equal(st.rules[0].name, "gone");

	assert_int_equal(fm_act_reload(a, after, 2, SYSTEMCTL, false), 0);
	fm_act_status_get(a, &st);
	assert_int_equal(st.n_rules, 2);
	assert_string_equal(st.rules[0].name, "kept");
	assert_int_equal(st.rules[0].runs[FM_ACT_RESULT_OK], 1);
	assert_int_equal(st.rules[0].suppressed, 1);
	assert_true(st.rules[0].holding);
	assert_true(st.rules[0].last_run_real_ns == (1000000000 + 0) * SEC);
	assert_string_equal(st.rules[1].name, "new");
	assert_int_equal(finished(&st.rules[1]), 0);
	assert_int_equal(st.n_recent, 2); /* the records stay */
	/* kept's cooldown goes on: nothing until 100 s after its run */
	for (int t = 3; t < 100; t++)
		feed(a, t, true);
	st = wait_runs(a, 1, 1);
	fm_act_status_get(a, &st);
	assert_int_equal(finished(&st.rules[0]), 1);
	feed(a, 100, true);
	st = wait_runs(a, 0, 2);
	/* and so does its hourly history: 2 runs in the hour */
	feed(a, 200, true);
	check_counts(a, 2, 2);
	/* a smaller cap keeps the newest runs */
	after[0].max_per_hour = 1;
	assert_int_equal(fm_act_reload(a, after, 2, SYSTEMCTL, false), 0);
	feed(a, 3601, true); /* the run at 0 s is out of the ring */
	fm_act_status_get(a, &st);
	assert_int_equal(finished(&st.rules[0]), 2);
	/* due again a cooldown after that suppressed due, over an hour
	 * after the run at 100 s */
	feed(a, 3700, true);
	fm_act_status_get(a, &st);
	assert_int_equal(finished(&st.rules[0]), 2);
	feed(a, 3701, true);
	st = wait_runs(a, 0, 3);
	assert_int_equal(st.rules[0].suppressed, 3);
	a = fm_act_free(a);
}

static void
test_actions_may_restart(void **state)
{
	fm_agent_config c;

	fm_agent_config_init(&c);
	assert_false(fm_agent_config_may_restart(&c, "web.service"));
	c.rules[0] = rule("log", FM_ACT_KIND_LOG);
	c.rules[1] = rule("web", FM_ACT_KIND_RESTART);
	put(c.rules[1].unit, sizeof(c.rules[1].unit), "web.service");
	/* a unit name in a rule that is not a restart */
	c.rules[2] = rule("db", FM_ACT_KIND_LOG);
	put(c.rules[2].unit, sizeof(c.rules[2].unit), "db.service");
	c.n_rules = 3;
	assert_true(fm_agent_config_may_restart(&c, "web.service"));
	assert_false(fm_agent_config_may_restart(&c, "web"));
	assert_false(fm_agent_config_may_restart(&c, "db.service"));
	assert_false(fm_agent_config_may_restart(&c, ""));
	c.n_rules = 1;
	assert_false(fm_agent_config_may_restart(&c, "web.service"));
}

/* The keys each kind takes, as agent.conf's [action NAME] sections
 * document them: one row per key, a column per kind. */
static void
test_actions_kind_takes_key(void **state)
{
	static const struct {
		const char *key;
		bool log, hook, restart;
	} keys[] = {
		{ "when", true, true, true },
		{ "probability", true, true, true },
		{ "hold_seconds", true, true, true },
		{ "cooldown_seconds", true, true, true },
		{ "max_per_hour", true, true, true },
		{ "kind", true, true, true },
		{ "dry_run", true, true, true },
		{ "priority", true, false, false },
		{ "command", false, true, false },
		{ "unit", false, false, true },
		{ "timeout_ms", false, true, true },
	};

	for (size_t i = 0; i < FM_ELEMENTSOF(keys); i++) {
		const char *k = keys[i].key;

		assert_int_equal(
		    fm_act_kind_takes_key(FM_ACT_KIND_LOG, k), keys[i].log);
		assert_int_equal(
		    fm_act_kind_takes_key(FM_ACT_KIND_HOOK, k), keys[i].hook);
		assert_int_equal(fm_act_kind_takes_key(FM_ACT_KIND_RESTART, k),
		    keys[i].restart);
		assert_true(fm_act_key_is_known(k));
		/* no kind out of range takes anything */
		assert_false(fm_act_kind_takes_key(0, k));
		assert_false(fm_act_kind_takes_key(FM_ACT_KIND_COUNT, k));
	}
	assert_false(fm_act_key_is_known("Kind"));
	assert_false(fm_act_key_is_known("timeout"));
	assert_false(fm_act_key_is_known(""));
	assert_false(fm_act_kind_takes_key(FM_ACT_KIND_HOOK, "systemctl"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_actions_names_are_stable),
		cmocka_unit_test(test_actions_rule_check),
		cmocka_unit_test(test_actions_new_rejects_bad_rules),
		cmocka_unit_test(test_actions_new_allocation_failures),
		cmocka_unit_test(test_actions_input_from_learner),
		cmocka_unit_test(test_actions_log_writes_at_priority),
		cmocka_unit_test(test_actions_hook_gets_environment),
		cmocka_unit_test(test_actions_restart_runs_systemctl),
		cmocka_unit_test(test_actions_dry_run_runs_nothing),
		cmocka_unit_test(test_actions_hook_timeout_kills),
		cmocka_unit_test(test_actions_hook_failures),
		cmocka_unit_test(test_actions_free_during_hook_is_prompt),
		cmocka_unit_test(test_actions_hold_seconds),
		cmocka_unit_test(test_actions_cooldown),
		cmocka_unit_test(test_actions_hourly_cap),
		cmocka_unit_test(test_actions_run_in_progress_is_suppressed),
		cmocka_unit_test(test_actions_failure_rules),
		cmocka_unit_test(
		    test_actions_failure_rule_waits_for_min_events),
		cmocka_unit_test(test_actions_recent_ring_keeps_newest),
		cmocka_unit_test(test_actions_sample_never_allocates),
		cmocka_unit_test(test_actions_reload_keeps_state_by_name),
		cmocka_unit_test(test_actions_may_restart),
		cmocka_unit_test(test_actions_kind_takes_key),
	};

	/* quiet, but for the tests that read the log */
	fm_log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
