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
		cmocka_unit_test(test_config_errors_name_file_line_key),
		cmocka_unit_test(test_config_check_relations),
		cmocka_unit_test(test_config_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
