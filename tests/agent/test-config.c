/* Tests for agent/config.c: defaults, the shipped file, and bad files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
		    "3: invalid value '0' (expected a probability above 0 and "
		    "at most 1) for key 'probability' in section [action a]" },
		{ "[action a]\nprobability = 1.5\n",
		    "2: invalid value '1.5' (expected a probability above 0 "
		    "and "
		    "at most 1) for key 'probability' in section [action a]" },
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
		    "2: invalid value '0' (expected runs, 1 to 3600) for key "
		    "'max_per_hour' in section [action a]" },
		{ "[action a]\ntimeout_ms = 5\n",
		    "2: invalid value '5' (expected milliseconds, 10 to "
		    "3600000) for key 'timeout_ms' in section [action a]" },
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
		    "2: rule name not of [A-Za-z0-9_.-], at key 'kind' in "
		    "section [action a b]" },
		{ "[action a]\nkind = log\n[action b]\nkind = log\n"
		  "[action a]\nwhen = anomaly\n",
		    "6: second section of the same name, at key 'when' in "
		    "section [action a]" },
		{ "[action]\nkind = log\n",
		    "2: unknown section for key 'kind' in section [action]" },
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
		    "3: invalid value '5' (expected milliseconds, 100 to "
		    "60000) for key 'interval_ms' in section [agent]" },
		{ "[agent]\nintervl = 500\n",
		    "2: unknown key 'intervl' in section [agent]" },
		{ "[agnet]\ninterval_ms = 500\n",
		    "2: unknown section for key 'interval_ms' in section "
		    "[agnet]" },
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
		    "milliseconds, 100 to 60000) for key 'interval_ms' in "
		    "section [agent]" },
		{ "[labels]\nfs_full_percent = 101\n",
		    "2: invalid value '101' (expected a percentage, 0 (off) "
		    "to 100) for key 'fs_full_percent' in section [labels]" },
		{ "[labels]\nfs_full_hysteresis_percent = -1\n",
		    "2: invalid value '-1' (expected percentage points, 0 to "
		    "50) for key 'fs_full_hysteresis_percent' in section "
		    "[labels]" },
		{ "[labels]\n# a relative path\nhealth_command = check -v\n",
		    "3: invalid value 'check -v' (expected an absolute program "
		    "path) for key 'health_command' in section [labels]" },
		{ "[labels]\nhealth_command = /bin/c a b c d e f g h i j k l "
		  "m n o p q r s t u v w x y z 1 2 3 4 5 6\n",
		    "2: more than 32 words (a program and its arguments) for "
		    "key 'health_command' in section [labels]" },
		{ "[labels]\nhealth_interval_ms = 50\n",
		    "2: invalid value '50' (expected milliseconds, 100 to "
		    "86400000) for key 'health_interval_ms' in section "
		    "[labels]" },
		{ "[labels]\nhealth_timeout_ms = 5s\n",
		    "2: invalid value '5s' (expected milliseconds, 10 to "
		    "3600000) for key 'health_timeout_ms' in section "
		    "[labels]" },
		{ "[labels]\nhealth_interval_s = 30\n",
		    "2: unknown key 'health_interval_s' in section [labels]" },
		{ "[learn]\nonset_factor = 2.5\n",
		    "2: invalid value '2.5' (expected a factor, 0 (off) or 1 to "
		    "1000) for key 'onset_factor' in section [learn]" },
		{ "[learn]\nonset_factor = 1001\n",
		    "2: invalid value '1001' (expected a factor, 0 (off) or 1 to "
		    "1000) for key 'onset_factor' in section [learn]" },
	};

	check_load_errors(cases, FM_ELEMENTSOF(cases));
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
