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
	assert_int_equal(c.history_raw_seconds, def.history_raw_seconds);
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
	assert_int_equal(fm_agent_config_check(&c, err), 0);
	assert_int_equal(fm_agent_config_raw_len(&c), 900);
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
	                   "yes\n[history]\nraw_seconds = 60\n"),
	        err),
	    0);
	unlink(tmp_path);
	assert_int_equal(c.interval_ms, 250);
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_true(c.fs_network);
	assert_int_equal(fm_agent_config_raw_len(&c), 240);
}

static void
test_config_labels_keys(void **state)
{
	fm_agent_config c;
	fm_labels_config lc, def;
	char err[FM_INI_ERROR_BYTES];

	fm_agent_config_init(&c);
	fm_labels_config_init(&def);
	fm_agent_config_labels(&c, &lc);
	/* the [labels] defaults are fm_labels_config's */
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
	static const struct {
		const char *content;
		const char *msg; /* after "PATH:" */
	} cases[] = {
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
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
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
	c.interval_ms = 60000;
	c.history_raw_seconds = 10;
	assert_int_equal(fm_agent_config_check(&c, err), -EINVAL);
	assert_non_null(strstr(err, "raw_seconds"));
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
	snprintf(c.fed_aggregator, sizeof(c.fed_aggregator),
	    "tcp://127.0.0.1:7300");
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
		cmocka_unit_test(test_config_labels_keys),
		cmocka_unit_test(test_config_errors_name_file_line_key),
		cmocka_unit_test(test_config_check_relations),
		cmocka_unit_test(test_config_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
