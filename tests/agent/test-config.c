/* Tests for agent/config.c: defaults, the shipped file, and bad files. */
#include <errno.h>
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

#include "agent/agent.h"
#include "learn/learn.h"

static char tmp_path[64];

static const char *
write_conf(const char *content)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/fm-test-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(
	    write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return tmp_path;
}

/* A file that must not load, and the error it gives. */
struct load_error {
	const char *content;
	const char *msg; /* after "PATH:" */
};

/* Loads each case's content over the defaults: -EINVAL and its msg. */
static void
check_load_errors(const struct load_error *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fm_agent_config c;
		char err[FM_INI_ERROR_BYTES], want[FM_INI_ERROR_BYTES];
		const char *p = write_conf(cases[i].content);

		fm_agent_config_init(&c);
		assert_int_equal(fm_agent_config_load(&c, p, err), -EINVAL);
		snprintf(want, sizeof(want), "%s:%s", p, cases[i].msg);
		assert_string_equal(err, want);
		unlink(p);
	}
}

static void
test_config_shipped_file_equals_defaults(void **state)
{
	fm_agent_config def, c;
	char err[FM_INI_ERROR_BYTES];

	fm_agent_config_init(&def);
	fm_agent_config_init(&c);
	/* configs/agent.conf documents the defaults: loading it changes
	 * nothing. */
	assert_int_equal(
	    fm_agent_config_load(&c, FM_SOURCE_ROOT "/configs/agent.conf", err),
	    0);
	assert_int_equal(c.interval_ms, def.interval_ms);
	assert_string_equal(c.state_dir, "/var/lib/fedmon");
	assert_string_equal(c.runtime_dir, "/run/fedmon");
	assert_string_equal(c.procfs, def.procfs);
	assert_int_equal(c.log_level, def.log_level);
	assert_int_equal(c.fs_network, def.fs_network);
	assert_int_equal(c.fs_refresh_ms, def.fs_refresh_ms);
	assert_int_equal(c.fs_stale_ms, def.fs_stale_ms);
	assert_int_equal(c.slow_every, 5);
	assert_int_equal(c.slow_every, def.slow_every);
	assert_int_equal(c.history_raw_seconds, 0); /* deprecated, unset */
	assert_int_equal(c.learn_failure_min_events, 3);
	assert_int_equal(
	    c.learn_failure_min_events, def.learn_failure_min_events);
	assert_int_equal(c.history_minutes, def.history_minutes);
	assert_int_equal(c.labels_fs_full_percent, 95);
	assert_int_equal(c.labels_fs_full_percent, def.labels_fs_full_percent);
	assert_int_equal(c.labels_fs_full_hysteresis_percent,
	    def.labels_fs_full_hysteresis_percent);
	assert_string_equal(c.labels_health_command, "");
	assert_int_equal(
	    c.labels_health_interval_ms, def.labels_health_interval_ms);
	assert_int_equal(
	    c.labels_health_timeout_ms, def.labels_health_timeout_ms);
	assert_int_equal(c.learn_alarm_samples, def.learn_alarm_samples);
	assert_int_equal(c.learn_clear_samples, def.learn_clear_samples);
	assert_int_equal(c.learn_onset_factor, 5);
	assert_int_equal(c.learn_onset_factor, def.learn_onset_factor);
	assert_false(c.actions_dry_run);
	assert_string_equal(c.actions_systemctl, "/usr/bin/systemctl");
	assert_string_equal(c.actions_systemctl, def.actions_systemctl);
	assert_int_equal(c.n_rules, 0);
	assert_int_equal(fm_agent_config_check(&c, err), 0);
}

static void
test_config_action_rules(void **state)
{
	fm_agent_config c;
	char err[FM_INI_ERROR_BYTES];
	const fm_act_rule *r;

	fm_agent_config_init(&c);
	assert_int_equal(
	    fm_agent_config_load(&c,
	        write_conf("[actions]\ndry_run = yes\n"
	                   "systemctl = /bin/systemctl\n"
	                   "[action anomaly-log]\nwhen = anomaly\n"
	                   "hold_seconds = 10\nkind = log\n"
	                   "priority = crit\n"
	                   "[action hook_1.x]\nkind = hook\nwhen = anomaly\n"
	                   "command = /usr/local/bin/on-anomaly --a  b\n"
	                   "timeout_ms = 10000\ncooldown_seconds = 0\n"
	                   "dry_run = no\n"
	                   "[action oom-restart]\nwhen = failure:oom\n"
	                   "probability = 0.8\nkind = restart\n"
	                   "unit = my-app@1.service\nmax_per_hour = 2\n"),
	        err),
	    0);
	unlink(tmp_path);
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	assert_true(c.actions_dry_run);
	assert_string_equal(c.actions_systemctl, "/bin/systemctl");
	assert_int_equal(c.n_rules, 3);
	r = &c.rules[0];
	assert_string_equal(r->name, "anomaly-log");
	assert_int_equal(r->when, FM_ACT_WHEN_ANOMALY);
	assert_int_equal(r->hold_seconds, 10);
	assert_int_equal(r->kind, FM_ACT_KIND_LOG);
	assert_int_equal(r->priority, LOG_CRIT);
	/* the defaults */
	assert_int_equal(r->cooldown_seconds, 300);
	assert_int_equal(r->max_per_hour, 6);
	assert_int_equal(r->timeout_ms, 30000);
	assert_false(r->dry_run);
	r = &c.rules[1];
	assert_string_equal(r->name, "hook_1.x");
	assert_int_equal(r->kind, FM_ACT_KIND_HOOK);
	assert_string_equal(r->command, "/usr/local/bin/on-anomaly --a  b");
	assert_int_equal(r->timeout_ms, 10000);
	assert_int_equal(r->cooldown_seconds, 0);
	assert_int_equal(r->priority, LOG_WARNING);
	r = &c.rules[2];
	assert_int_equal(r->when, FM_ACT_WHEN_FAILURE);
	assert_int_equal(r->failure_source, FM_LABEL_OOM);
	assert_true(r->probability == 0.8f);
	assert_int_equal(r->kind, FM_ACT_KIND_RESTART);
	assert_string_equal(r->unit, "my-app@1.service");
	assert_int_equal(r->max_per_hour, 2);
	assert_true(fm_agent_config_may_restart(&c, "my-app@1.service"));
	assert_false(fm_agent_config_may_restart(&c, "my-app@2.service"));
}

static void
test_config_action_errors_name_file_line_key(void **state)
{
	static const struct load_error cases[] = {
		{ "[actions]\nsystemctl = systemctl\n",
		    "2: invalid value 'systemctl' (expected an absolute path) "
		    "for key 'systemctl' in section [actions]" },
		{ "[actions]\ndry_run = maybe\n",
		    "2: invalid value 'maybe' (expected yes or no) for key "
		    "'dry_run' in section [actions]" },
		{ "[action a]\nkind = log\nwhen = always\n",
		    "3: invalid value 'always' (expected anomaly or "
		    "failure:SOURCE, SOURCE one of oom, fs_full, health, "
		    "manual) for key 'when' in section [action a]" },
		{ "[action a]\nwhen = failure:disk\n",
		    "2: invalid value 'failure:disk' (expected anomaly or "
		    "failure:SOURCE, SOURCE one of oom, fs_full, health, "
		    "manual) for key 'when' in section [action a]" },
		{ "[action a]\nkind = email\n",
		    "2: invalid value 'email' (expected log, hook or restart) "
		    "for key 'kind' in section [action a]" },
		{ "[action a]\nwhen = failure:oom\nprobability = 0\n",
		    "3: invalid value '0' (expected a number in (0, 1]) for "
		    "key "
		    "'probability' in section [action a]" },
		{ "[action a]\nprobability = 1.5\n",
		    "2: invalid value '1.5' (expected a number in (0, 1]) for "
		    "key 'probability' in section [action a]" },
		{ "[action a]\nwhen = anomaly\nprobability = 0.5\n",
		    "3: probability is only for when = failure:SOURCE, at key "
		    "'probability' in section [action a]" },
		{ "[action a]\nkind = restart\nunit = web\n",
		    "3: invalid value 'web' (expected a unit name such as "
		    "NAME.service) for key 'unit' in section [action a]" },
		{ "[action a]\nunit = --now.service\n",
		    "2: invalid value '--now.service' (expected a unit name "
		    "such as NAME.service) for key 'unit' in section "
		    "[action a]" },
		{ "[action a]\ncommand = on-anomaly\n",
		    "2: invalid value 'on-anomaly' (expected an absolute "
		    "program path) for key 'command' in section [action a]" },
		{ "[action a]\npriority = loud\n",
		    "2: invalid value 'loud' (expected emerg, alert, crit, "
		    "err, "
		    "warning, notice, info or debug) for key 'priority' in "
		    "section [action a]" },
		{ "[action a]\nmax_per_hour = 0\n",
		    "2: invalid value '0' (expected an integer in [1, 3600]) "
		    "for key 'max_per_hour' in section [action a]" },
		{ "[action a]\ntimeout_ms = 5\n",
		    "2: invalid value '5' (expected an integer in [10, "
		    "3600000]) for key 'timeout_ms' in section [action a]" },
		{ "[action a]\ncooldown = 5\n",
		    "2: unknown key 'cooldown' in section [action a]" },
		{ "[action a]\nkind = hook\nunit = web.service\n",
		    "3: kind = hook does not take key 'unit' in section "
		    "[action a]" },
		{ "[action a]\npriority = info\n\nkind = restart\n",
		    "4: kind = restart does not take 'priority' (given above), "
		    "for key 'kind' in section [action a]" },
		{ "[action a]\nkind = log\ntimeout_ms = 100\n",
		    "3: kind = log does not take key 'timeout_ms' in section "
		    "[action a]" },
		{ "[action a b]\nkind = log\n",
		    "1: rule name not of [A-Za-z0-9_.-] in section header "
		    "[action a b]" },
		{ "[action a]\nkind = log\n[action b]\nkind = log\n"
		  "[action a]\nwhen = anomaly\n",
		    "5: second section [action a] in this file (the first is "
		    "on line 1)" },
		{ "[action]\nkind = log\n",
		    "1: section [action] needs a name: [action NAME]" },
	};

	check_load_errors(cases, FM_ELEMENTSOF(cases));
}

static void
test_config_action_too_many_rules(void **state)
{
	char text[FM_ACT_RULES_MAX * 40 + 64] = "";
	char err[FM_INI_ERROR_BYTES], want[FM_INI_ERROR_BYTES];
	fm_agent_config c;
	const char *p;

	for (unsigned i = 0; i <= FM_ACT_RULES_MAX; i++) {
		char section[40];

		snprintf(
		    section, sizeof(section), "[action r%u]\nkind = log\n", i);
		strcat(text, section);
	}
	p = write_conf(text);
	fm_agent_config_init(&c);
	assert_int_equal(fm_agent_config_load(&c, p, err), -EINVAL);
	snprintf(want, sizeof(want),
	    "%s:%d: more than %d [action NAME] sections, at key 'kind' in "
	    "section [action r%d]",
	    p, 2 * FM_ACT_RULES_MAX + 2, FM_ACT_RULES_MAX, FM_ACT_RULES_MAX);
	assert_string_equal(err, want);
	unlink(p);
}

static void
test_config_action_check(void **state)
{
	static const struct {
		const char *content;
		const char *err;
	} cases[] = {
		{ "[action a]\nwhen = anomaly\n",
		    "[action a] key 'kind' is missing (log, hook or restart)" },
		{ "[action a]\nkind = log\n",
		    "[action a] key 'when' is missing (anomaly or "
		    "failure:SOURCE)" },
		{ "[action a]\nwhen = anomaly\nkind = hook\n",
		    "[action a] kind = hook needs key 'command'" },
		{ "[action a]\nwhen = anomaly\nkind = restart\n",
		    "[action a] kind = restart needs key 'unit'" },
		{ "[action a]\nwhen = failure:health\nkind = log\n",
		    "[action a] when = failure:SOURCE needs key 'probability', "
		    "above 0 and at most 1" },
	};
	fm_agent_config c;
	char err[FM_INI_ERROR_BYTES];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *p = write_conf(cases[i].content);

		fm_agent_config_init(&c);
		assert_int_equal(fm_agent_config_load(&c, p, err), 0);
		unlink(p);
		assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
		assert_string_equal(err, cases[i].err);
	}
	/* rules made by hand: names twice, more than the cap */
	fm_agent_config_init(&c);
	c.rules[0] = (fm_act_rule) { .name = "x",
		.when = FM_ACT_WHEN_ANOMALY,
		.max_per_hour = 1,
		.kind = FM_ACT_KIND_LOG,
		.priority = LOG_INFO };
	c.rules[1] = c.rules[0];
	c.n_rules = 2;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_string_equal(err, "[action x] defined twice");
	c.n_rules = 1;
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	c.n_rules = FM_ACT_RULES_MAX + 1;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_string_equal(err, "more than 32 [action NAME] sections");
}

static void
test_config_overrides(void **state)
{
	fm_agent_config c;
	char err[FM_INI_ERROR_BYTES];

	fm_agent_config_init(&c);
	assert_int_equal(
	    fm_agent_config_load(&c,
	        write_conf("[agent]\ninterval_ms = 250\nlog_level = debug\n"
	                   "[collect]\nfs_network = "
	                   "yes\n[history]\nraw_seconds = 60\n"
	                   "[learn]\nonset_factor = 0\n"),
	        err),
	    0);
	unlink(tmp_path);
	assert_int_equal(c.interval_ms, 250);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.fs_network);
	/* deprecated but accepted: the daemon warns and ignores it */
	assert_int_equal(c.history_raw_seconds, 60);
	assert_int_equal(c.learn_onset_factor, 0);
}

/* The agent's alarm defaults are the detector's, which fedmon-replay (and
 * so tools/replay/eval.py) uses: the quality measured is what ships. */
static void
test_config_learn_defaults_are_the_detectors(void **state)
{
	fm_learn_detector_config dc;
	fm_model_learner_config lc;
	fm_agent_config c;

	(void)state;
	fm_agent_config_init(&c);
	fm_agent_config_learner(&c, &lc);
	fm_learn_detector_config_default(&dc, FM_FEATURE_COUNT, 86400);
	assert_int_equal(lc.alarm_samples, dc.alarm_on);
	assert_int_equal(lc.clear_samples, dc.alarm_off);
	assert_float_equal((float)lc.onset_factor, dc.onset_factor, 0);
}

static void
test_config_labels_keys(void **state)
{
	fm_agent_config c;
	fm_model_labels_config lc, def;
	char err[FM_INI_ERROR_BYTES];

	fm_agent_config_init(&c);
	fm_model_labels_config_init(&def);
	fm_agent_config_labels(&c, &lc);
	/* the [labels] defaults are fm_model_labels_config's */
	assert_int_equal(lc.fs_full_percent, def.fs_full_percent);
	assert_int_equal(
	    lc.fs_full_hysteresis_percent, def.fs_full_hysteresis_percent);
	assert_string_equal(lc.health_command, "");
	assert_int_equal(lc.health_interval_ms, def.health_interval_ms);
	assert_int_equal(lc.health_timeout_ms, def.health_timeout_ms);
	assert_int_equal(
	    fm_agent_config_load(&c,
	        write_conf("[labels]\nfs_full_percent = 0\n"
	                   "fs_full_hysteresis_percent = 50\n"
	                   "health_command = /usr/bin/check -H  localhost\n"
	                   "health_interval_ms = 1000\n"
	                   "health_timeout_ms = 1000\n"),
	        err),
	    0);
	unlink(tmp_path);
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	fm_agent_config_labels(&c, &lc);
	assert_int_equal(lc.fs_full_percent, 0);
	assert_int_equal(lc.fs_full_hysteresis_percent, 50);
	assert_string_equal(lc.health_command, "/usr/bin/check -H  localhost");
	assert_int_equal(lc.health_interval_ms, 1000);
	assert_int_equal(lc.health_timeout_ms, 1000);
	/* an empty command turns the source off again */
	assert_int_equal(fm_agent_config_load(&c,
	                     write_conf("[labels]\nhealth_command =\n"), err),
	    0);
	unlink(tmp_path);
	assert_string_equal(c.labels_health_command, "");
}

static void
test_config_errors_name_file_line_key(void **state)
{
	static const struct load_error cases[] = {
		{ "[agent]\n\ninterval_ms = 5\n",
		    "3: invalid value '5' (expected an integer in [100, "
		    "60000]) for key 'interval_ms' in section [agent]" },
		{ "[agent]\nintervl = 500\n",
		    "2: unknown key 'intervl' in section [agent]" },
		{ "[agnet]\ninterval_ms = 500\n",
		    "1: unknown section [agnet]" },
		/* a broken header on its own line, not as an unknown key of
		 * the section before */
		{ "[agent]\ninterval_ms = 500\n[collect\nprocfs = /p\n",
		    "3: malformed section header (expected '[NAME]')" },
		/* a key twice in one section of one file */
		{ "[agent]\ninterval_ms = 500\n[collect]\n[agent]\n"
		  "interval_ms = 600\n",
		    "5: key 'interval_ms' in section [agent] is already set on "
		    "line 2" },
		{ "[federation]\naggregator = http://example.org\n",
		    "2: invalid value 'http://example.org' (expected "
		    "tcp://HOST:PORT or ipc:///PATH, or empty) for key "
		    "'aggregator' in section [federation]" },
		{ "[federation]\naggregator_key = c2hvcnQ=\n",
		    "2: invalid value 'c2hvcnQ=' (expected a base64 public key "
		    "of 32 bytes) for key 'aggregator_key' in section "
		    "[federation]" },
		{ "[federation]\nkey_file = agent.key\n",
		    "2: invalid value 'agent.key' (expected an absolute path, "
		    "or empty) for key 'key_file' in section [federation]" },
		{ "[agent]\nstate_dir = relative/dir\n",
		    "2: invalid value 'relative/dir' (expected an absolute "
		    "path) for key 'state_dir' in section [agent]" },
		{ "[collect]\nfs_network = perhaps\n",
		    "2: invalid value 'perhaps' (expected yes or no) for key "
		    "'fs_network' in section [collect]" },
		{ "[agent]\nlog_level = loud\n",
		    "2: invalid value 'loud' (expected err, warning, notice, "
		    "info or debug) for key 'log_level' in section [agent]" },
		{ "[agent]\ninterval_ms = 99999999999999999999999\n",
		    "2: invalid value '99999999999999999999999' (expected "
		    "an integer in [100, 60000]) for key 'interval_ms' in "
		    "section [agent]" },
		{ "[labels]\nfs_full_percent = 101\n",
		    "2: invalid value '101' (expected an integer in [0, 100]) "
		    "for key 'fs_full_percent' in section [labels]" },
		{ "[labels]\nfs_full_hysteresis_percent = -1\n",
		    "2: invalid value '-1' (expected an integer in [0, 50]) "
		    "for key 'fs_full_hysteresis_percent' in section "
		    "[labels]" },
		{ "[labels]\n# a relative path\nhealth_command = check -v\n",
		    "3: invalid value 'check -v' (expected an absolute program "
		    "path) for key 'health_command' in section [labels]" },
		{ "[labels]\nhealth_command = /bin/c a b c d e f g h i j k l "
		  "m n o p q r s t u v w x y z 1 2 3 4 5 6\n",
		    "2: more than 32 words (a program and its arguments) for "
		    "key 'health_command' in section [labels]" },
		{ "[labels]\nhealth_interval_ms = 50\n",
		    "2: invalid value '50' (expected an integer in [100, "
		    "86400000]) for key 'health_interval_ms' in section "
		    "[labels]" },
		{ "[labels]\nhealth_timeout_ms = 5s\n",
		    "2: invalid value '5s' (expected an integer in [10, "
		    "3600000]) for key 'health_timeout_ms' in section "
		    "[labels]" },
		{ "[labels]\nhealth_interval_s = 30\n",
		    "2: unknown key 'health_interval_s' in section [labels]" },
		{ "[learn]\nonset_factor = 2.5\n",
		    "2: invalid value '2.5' (expected an integer in [0, 1000]) "
		    "for key 'onset_factor' in section [learn]" },
		{ "[learn]\nonset_factor = 1001\n",
		    "2: invalid value '1001' (expected an integer in [0, "
		    "1000]) for key 'onset_factor' in section [learn]" },
	};

	check_load_errors(cases, FM_ELEMENTSOF(cases));
}

/* alarm_samples = 0 would never raise the alarm's run and the detector
 * refuses it (fm_learn_detector_config_is_valid(): alarm_on >= 1): the
 * config refuses it first, naming the line and the bounds. */
static void
test_config_alarm_samples_at_least_one(void **state)
{
	static const struct load_error cases[] = {
		{ "[learn]\nalarm_samples = 0\n",
		    "2: invalid value '0' (expected an integer in [1, 3600]) "
		    "for key 'alarm_samples' in section [learn]" },
		{ "[learn]\nalarm_samples = 3601\n",
		    "2: invalid value '3601' (expected an integer in [1, "
		    "3600]) for key 'alarm_samples' in section [learn]" },
	};
	fm_learn_detector_config dc;
	char err[FM_INI_ERROR_BYTES];
	fm_agent_config c;

	(void)state;
	check_load_errors(cases, FM_ELEMENTSOF(cases));
	fm_agent_config_init(&c);
	assert_int_equal(fm_agent_config_load(&c,
	                     write_conf("[learn]\nalarm_samples = 1\n"), err),
	    0);
	unlink(tmp_path);
	assert_int_equal(c.learn_alarm_samples, 1);
	/* the bounds are within what the detector takes */
	fm_learn_detector_config_default(&dc, FM_FEATURE_COUNT, 86400);
	dc.alarm_on = 0;
	assert_false(fm_learn_detector_config_is_valid(&dc));
	dc.alarm_on = 1;
	assert_true(fm_learn_detector_config_is_valid(&dc));
	dc.alarm_on = 3600;
	assert_true(fm_learn_detector_config_is_valid(&dc));
}

/* Writes c's dump into a new temporary file; returns its text (malloc'd)
 * and leaves the path in tmp_path. */
static char *
dump_conf(const fm_agent_config *c)
{
	char err[FM_INI_ERROR_BYTES];
	uint8_t *text;
	size_t n;
	FILE *f;
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/fm-test-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fm_agent_config_dump(c, f, err), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fm_file_read_all(tmp_path, 1 << 20, &text, &n), 0);
	return (char *)text;
}

/* The shipped file sets every key to its default: the dumps agree. */
static void
test_config_shipped_file_sets_every_default(void **state)
{
	char err[FM_INI_ERROR_BYTES];
	fm_agent_config def, c;
	char *a, *b;

	(void)state;
	fm_agent_config_init(&def);
	fm_agent_config_init(&c);
	assert_int_equal(
	    fm_agent_config_load(&c, FM_SOURCE_ROOT "/configs/agent.conf", err),
	    0);
	/* built with another prefix, only these differ */
	memcpy(c.state_dir, def.state_dir, sizeof(c.state_dir));
	memcpy(c.runtime_dir, def.runtime_dir, sizeof(c.runtime_dir));
	a = dump_conf(&def);
	unlink(tmp_path);
	b = dump_conf(&c);
	unlink(tmp_path);
	assert_string_equal(a, b);
	free(a);
	free(b);
}

/* --dump-config: main file, drop-ins and defaults, as an INI file that
 * loads back to the same configuration. */
static void
test_config_dump_round_trip(void **state)
{
	char err[FM_INI_ERROR_BYTES], dir[80], main_path[64], dropin[112];
	fm_agent_config c, back;
	char *text, *again;
	FILE *f;

	(void)state;
	snprintf(main_path, sizeof(main_path), "%s",
	    write_conf("[agent]\ninterval_ms = 500\nlog_level = debug\n"
	               "control_group = adm\n"
	               "[collect]\nfs_network = yes\n"
	               "[labels]\nhealth_command = /usr/bin/check -H  x\n"
	               "[federation]\naggregator = tcp://agg:7300\n"
	               "aggregator_key = "
	               "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	               "[actions]\ndry_run = yes\n"
	               "[action log]\nwhen = anomaly\nkind = log\n"
	               "priority = crit\n"
	               "[action hook]\nkind = hook\nwhen = failure:oom\n"
	               "probability = 0.3\ncommand = /bin/h a\n"));
	snprintf(dir, sizeof(dir), "%s.d", main_path);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dropin, sizeof(dropin), "%s/50-site.conf", dir);
	f = fopen(dropin, "w");
	assert_non_null(f);
	fputs("[agent]\ninterval_ms = 250\n[action hook]\ntimeout_ms = 99\n"
	      "[action restart]\nkind = restart\nwhen = anomaly\n"
	      "unit = web.service\n",
	    f);
	assert_int_equal(fclose(f), 0);
	fm_agent_config_init(&c);
	assert_int_equal(fm_agent_config_load(&c, main_path, err), 0);
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	unlink(dropin);
	rmdir(dir);
	unlink(main_path);
	/* the drop-in overrode the main file, and added a rule */
	assert_int_equal(c.interval_ms, 250);
	assert_int_equal(c.n_rules, 3);
	assert_int_equal(c.rules[1].timeout_ms, 99);
	assert_string_equal(c.rules[2].unit, "web.service");
	text = dump_conf(&c);
	assert_non_null(strstr(text,
	    "[agent]\n# sampling period, "
	    "milliseconds (default: 1000)\n"
	    "interval_ms = 250\n"));
	assert_non_null(strstr(text, "log_level = debug\n"));
	assert_non_null(strstr(text, "[action hook]\n"));
	assert_non_null(strstr(text, "probability = 0.3\n"));
	/* a log rule's text has no keys of the other kinds, nor an
	 * anomaly rule's a probability */
	{
		const char *log = strstr(text, "[action log]\n");
		const char *end = strstr(text, "[action hook]\n");

		assert_non_null(log);
		assert_true(end > log);
		for (const char *k = log; k < end; k = strchr(k, '\n') + 1)
			if (strncmp(k, "command =", 9) == 0 ||
			    strncmp(k, "unit =", 6) == 0 ||
			    strncmp(k, "timeout_ms =", 12) == 0 ||
			    strncmp(k, "probability =", 13) == 0)
				fail_msg("[action log] has %.20s", k);
	}
	fm_agent_config_init(&back);
	assert_int_equal(fm_agent_config_load(&back, tmp_path, err), 0);
	assert_memory_equal(&back, &c, sizeof(c));
	again = dump_conf(&back);
	unlink(tmp_path);
	assert_string_equal(again, text);
	free(again);
	free(text);
}

/* A reload applies what agent/main.c applied before the key table: the
 * log level, [actions], the rules; the other keys are named. */
static void
test_config_reload_applies_the_tables_keys(void **state)
{
	const fm_conf_schema *s = &fm_agent_config_schema;
	fm_agent_config running, next;
	char restart[256];

	(void)state;
	for (size_t i = 0; i < s->n_keys; i++) {
		const fm_conf_key *k = &s->keys[i];
		bool reload = strcmp(k->section, "action") == 0 ||
		    strcmp(k->section, "actions") == 0 ||
		    (strcmp(k->section, "agent") == 0 &&
		        strcmp(k->name, "log_level") == 0);

		assert_non_null(k->description);
		if (reload != !!(k->flags & FM_CONF_RELOAD))
			fail_msg("[%s] %s", k->section, k->name);
	}
	fm_agent_config_init(&running);
	fm_agent_config_init(&next);
	assert_int_equal(fm_agent_config_apply_reload(
	                     &running, &next, restart, sizeof(restart)),
	    0);
	next.log_level = LOG_DEBUG;
	next.actions_dry_run = true;
	next.n_rules = 1;
	memcpy(next.rules[0].name, "r", 2);
	next.interval_ms = 2000;
	next.learn_alarm_samples = 4;
	memcpy(next.fed_aggregator, "tcp://a:1", 10);
	assert_int_equal(fm_agent_config_apply_reload(
	                     &running, &next, restart, sizeof(restart)),
	    3);
	assert_string_equal(restart,
	    "[agent] interval_ms, [learn] alarm_samples, [federation] "
	    "aggregator");
	assert_int_equal(running.log_level, LOG_DEBUG);
	assert_true(running.actions_dry_run);
	assert_int_equal(running.n_rules, 1);
	assert_string_equal(running.rules[0].name, "r");
	assert_int_equal(running.interval_ms, 1000);
	assert_int_equal(running.learn_alarm_samples, 3);
	assert_string_equal(running.fed_aggregator, "");
}

/* The table's kind names are the actions' own. */
static void
test_config_kind_names_are_the_actions(void **state)
{
	const fm_conf_schema *s = &fm_agent_config_schema;
	unsigned seen = 0;

	(void)state;
	for (size_t i = 0; i < s->n_keys; i++) {
		if (strcmp(s->keys[i].section, "action") != 0 ||
		    strcmp(s->keys[i].name, "kind") != 0)
			continue;
		for (const fm_conf_name *n = s->keys[i].names; n->name; n++) {
			assert_string_equal(
			    n->name, fm_act_kind_name((unsigned)n->value));
			seen++;
		}
	}
	assert_int_equal(seen, FM_ACT_KIND_COUNT - 1);
}

/* The [action NAME] keys of the table are exactly those some kind takes
 * (agent/act/kinds.c), and a kind's keys are refused for the others. */
static void
test_config_action_keys_are_the_kinds(void **state)
{
	const fm_conf_schema *s = &fm_agent_config_schema;
	unsigned n = 0;

	(void)state;
	for (size_t i = 0; i < s->n_keys; i++) {
		if (strcmp(s->keys[i].section, "action") != 0)
			continue;
		assert_true(fm_act_key_is_known(s->keys[i].name));
		n++;
	}
	assert_int_equal(n, 11);
	assert_false(fm_act_key_is_known("cooldown"));
	assert_true(fm_act_kind_takes_key(FM_ACT_KIND_HOOK, "command"));
	assert_false(fm_act_kind_takes_key(FM_ACT_KIND_RESTART, "command"));
	assert_true(fm_act_kind_takes_key(FM_ACT_KIND_RESTART, "unit"));
	assert_false(fm_act_kind_takes_key(FM_ACT_KIND_LOG, "timeout_ms"));
	assert_true(fm_act_kind_takes_key(FM_ACT_KIND_LOG, "priority"));
	assert_false(fm_act_kind_takes_key(FM_ACT_KIND_HOOK, "priority"));
	assert_false(fm_act_kind_takes_key(FM_ACT_KIND_COUNT, "when"));
}

static void
test_config_check_relations(void **state)
{
	fm_agent_config c;
	char err[FM_INI_ERROR_BYTES];

	fm_agent_config_init(&c);
	c.fs_refresh_ms = 20000;
	c.fs_stale_ms = 10000;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_non_null(strstr(err, "fs_stale_ms"));
	fm_agent_config_init(&c);
	c.labels_fs_full_percent = 2;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_string_equal(err,
	    "[labels] fs_full_hysteresis_percent (2) must be below "
	    "fs_full_percent (2)");
	c.labels_fs_full_percent = 0; /* off: the hysteresis is moot */
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	fm_agent_config_init(&c);
	c.labels_health_interval_ms = 1000;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_string_equal(err,
	    "[labels] health_timeout_ms (5000) must be at most "
	    "health_interval_ms (1000)");
	fm_agent_config_init(&c);
	snprintf(
	    c.fed_aggregator, sizeof(c.fed_aggregator), "tcp://127.0.0.1:7300");
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_non_null(strstr(err, "aggregator_key is not"));
	snprintf(c.fed_aggregator_key, sizeof(c.fed_aggregator_key),
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	c.learn_enabled = false;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_non_null(strstr(err, "[learn] enabled"));
	c.learn_enabled = true;
	c.fed_retry_max_ms = 10;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_non_null(strstr(err, "retry_max_ms"));
}

static void
test_config_missing_file(void **state)
{
	fm_agent_config c;
	char err[FM_INI_ERROR_BYTES];

	fm_agent_config_init(&c);
	assert_int_equal(
	    fm_agent_config_load(&c, "/nonexistent/agent.conf", err), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_shipped_file_equals_defaults),
		cmocka_unit_test(test_config_overrides),
		cmocka_unit_test(test_config_learn_defaults_are_the_detectors),
		cmocka_unit_test(test_config_labels_keys),
		cmocka_unit_test(test_config_errors_name_file_line_key),
		cmocka_unit_test(test_config_check_relations),
		cmocka_unit_test(test_config_missing_file),
		cmocka_unit_test(test_config_action_rules),
		cmocka_unit_test(test_config_action_errors_name_file_line_key),
		cmocka_unit_test(test_config_action_too_many_rules),
		cmocka_unit_test(test_config_action_check),
		cmocka_unit_test(test_config_alarm_samples_at_least_one),
		cmocka_unit_test(test_config_shipped_file_sets_every_default),
		cmocka_unit_test(test_config_dump_round_trip),
		cmocka_unit_test(test_config_reload_applies_the_tables_keys),
		cmocka_unit_test(test_config_kind_names_are_the_actions),
		cmocka_unit_test(test_config_action_keys_are_the_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
