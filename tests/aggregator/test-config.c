/* Tests for aggregator/config.c: defaults, the shipped file, bad files. */
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

#include "aggregator/aggregator.h"

static char tmp_path[64];

static const char *
write_conf(const char *content)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/fm-agg-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	assert_int_equal(
	    write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	return tmp_path;
}

/* Field by field: the structs' padding is not compared. */
static bool
config_equal(const fm_agg_config *x, const fm_agg_config *y)
{
	if (x->n_listen != y->n_listen)
		return false;
	for (uint32_t i = 0; i < x->n_listen; i++)
		if (strcmp(x->listen[i], y->listen[i]) != 0)
			return false;
	return strcmp(x->key_file, y->key_file) == 0 &&
	    strcmp(x->authorized_agents, y->authorized_agents) == 0 &&
	    strcmp(x->state_dir, y->state_dir) == 0 &&
	    strcmp(x->metrics_listen, y->metrics_listen) == 0 &&
	    x->log_level == y->log_level &&
	    x->max_message_bytes == y->max_message_bytes &&
	    x->skew_ms == y->skew_ms && x->quorum == y->quorum &&
	    x->min_updates == y->min_updates &&
	    x->deadline_ms == y->deadline_ms &&
	    x->interval_ms == y->interval_ms &&
	    x->max_rounds == y->max_rounds && x->poll_ms == y->poll_ms &&
	    x->collect_poll_ms == y->collect_poll_ms &&
	    x->layout_id == y->layout_id && x->prox_mu == y->prox_mu &&
	    x->local_steps == y->local_steps && x->rule == y->rule &&
	    x->server_lr == y->server_lr && x->adam_beta1 == y->adam_beta1 &&
	    x->adam_beta2 == y->adam_beta2 && x->adam_tau == y->adam_tau &&
	    x->clip_norm == y->clip_norm && x->norm_action == y->norm_action &&
	    x->max_samples_weight == y->max_samples_weight;
}

static void
test_config_shipped_file_equals_defaults(void **state)
{
	fm_agg_config def, c;
	char err[FM_INI_ERROR_BYTES];

	fm_agg_config_init(&def);
	fm_agg_config_init(&c);
	assert_int_equal(fm_agg_config_load(&c,
	                     FM_SOURCE_ROOT "/configs/aggregator.conf", err),
	    0);
	assert_string_equal(c.key_file, "/etc/fedmon/aggregator.key");
	assert_string_equal(
	    c.authorized_agents, "/etc/fedmon/authorized_agents");
	assert_string_equal(c.state_dir, "/var/lib/fedmon-aggregator");
	/* Built with another prefix, the defaults differ from the file
	 * only in those paths; every other key must match. */
	memcpy(c.key_file, def.key_file, sizeof(c.key_file));
	memcpy(c.authorized_agents, def.authorized_agents,
	    sizeof(c.authorized_agents));
	memcpy(c.state_dir, def.state_dir, sizeof(c.state_dir));
	assert_true(config_equal(&c, &def));
	assert_int_equal(def.n_listen, 1);
	assert_string_equal(def.listen[0], "tcp://0.0.0.0:7300");
	assert_string_equal(def.metrics_listen, "127.0.0.1:9742");
	assert_int_equal(def.rule, FM_AGG_RULE_FEDAVG);
	assert_int_equal(def.norm_action, FM_AGG_NORM_CLIP);
	assert_true(def.clip_norm == 100);
	assert_int_equal(def.max_message_bytes, 8u << 20);
	assert_int_equal(fm_agg_config_check(&def, err), 0);
}

static void
test_config_overrides(void **state)
{
	fm_agg_config c;
	char err[FM_INI_ERROR_BYTES];

	fm_agg_config_init(&c);
	assert_int_equal(
	    fm_agg_config_load(&c,
	        write_conf("[aggregator]\nlisten = tcp://127.0.0.1:0  "
	                   "ipc:///tmp/x.sock\nstate_dir = /tmp/s\n"
	                   "log_level = debug\nskew_ms = 1000\n"
	                   "[round]\nquorum = 3\nmin_updates = 2\n"
	                   "deadline_ms = 100\nmax_rounds = 3\n"
	                   "layout_id = 4294967295\n"
	                   "[train]\nprox_mu = 0\nlocal_steps = 50\n"
	                   "[aggregate]\nrule = fedadam\nserver_lr = 0.05\n"
	                   "adam_beta1 = 0\nadam_tau = 1e-9\n"
	                   "norm_action = refuse\nclip_norm = 0\n"),
	        err),
	    0);
	unlink(tmp_path);
	assert_int_equal(c.n_listen, 2);
	assert_string_equal(c.listen[0], "tcp://127.0.0.1:0");
	assert_string_equal(c.listen[1], "ipc:///tmp/x.sock");
	assert_string_equal(c.state_dir, "/tmp/s");
	assert_int_equal(c.log_level, LOG_DEBUG);
	assert_int_equal(c.skew_ms, 1000);
	assert_int_equal(c.quorum, 3);
	assert_int_equal(c.min_updates, 2);
	assert_int_equal(c.deadline_ms, 100);
	assert_int_equal(c.max_rounds, 3);
	assert_int_equal(c.layout_id, UINT32_MAX);
	assert_true(c.prox_mu == 0);
	assert_int_equal(c.local_steps, 50);
	assert_int_equal(c.rule, FM_AGG_RULE_FEDADAM);
	assert_true(c.server_lr == 0.05);
	assert_true(c.adam_beta1 == 0);
	assert_true(c.adam_tau == 1e-9);
	assert_int_equal(c.norm_action, FM_AGG_NORM_REFUSE);
	assert_true(c.clip_norm == 0);
	assert_int_equal(fm_agg_config_check(&c, err), 0);
	assert_string_equal(fm_agg_rule_name(c.rule), "fedadam");
	assert_string_equal(fm_agg_rule_name(0), "unknown");
}

static void
test_config_bad_values(void **state)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "[round]\nquorum = -1\n",
		    ":2: invalid value '-1' (expected an integer in [0, "
		    "100000]) for key 'quorum' in section [round]" },
		{ "[round]\nmin_updates = 0\n", "for key 'min_updates'" },
		{ "[round]\ndeadline_ms = 99\n", "for key 'deadline_ms'" },
		{ "[round]\nlayout_id = 4294967296\n", "for key 'layout_id'" },
		{ "[round]\npoll_ms = 49\n", "for key 'poll_ms'" },
		{ "[aggregate]\nrule = fedsgd\n",
		    "invalid value 'fedsgd' (expected fedavg or fedadam)" },
		{ "[aggregate]\nnorm_action = drop\n",
		    "for key 'norm_action'" },
		{ "[aggregate]\nadam_beta1 = 1\n", "for key 'adam_beta1'" },
		{ "[aggregate]\nadam_beta2 = -0.1\n", "for key 'adam_beta2'" },
		{ "[aggregate]\nadam_tau = 0\n", "for key 'adam_tau'" },
		{ "[aggregate]\nclip_norm = nan\n", "for key 'clip_norm'" },
		{ "[aggregate]\nserver_lr = 101\n", "for key 'server_lr'" },
		{ "[aggregate]\nmax_samples_weight = 0\n",
		    "for key 'max_samples_weight'" },
		{ "[train]\nprox_mu = -1\n", "for key 'prox_mu'" },
		{ "[aggregator]\nstate_dir = var/lib\n",
		    "for key 'state_dir'" },
		{ "[aggregator]\nlisten = http://x\n", "for key 'listen'" },
		{ "[aggregator]\nlisten =\n", "for key 'listen'" },
		{ "[aggregator]\nlisten = tcp://a:1 tcp://a:2 tcp://a:3 "
		  "tcp://a:4 tcp://a:5 tcp://a:6 tcp://a:7 tcp://a:8 "
		  "tcp://a:9\n",
		    "for key 'listen'" },
		{ "[aggregator]\nmetrics_listen = 127.0.0.1\n",
		    "for key 'metrics_listen'" },
		{ "[aggregator]\nmetrics_listen = :9742\n",
		    "for key 'metrics_listen'" },
		{ "[aggregator]\nmetrics_listen = 127.0.0.1:65536\n",
		    "for key 'metrics_listen'" },
		{ "[aggregator]\nmax_message_bytes = 4095\n",
		    "for key 'max_message_bytes'" },
		{ "[aggregator]\nlog_level = loud\n", "for key 'log_level'" },
		{ "[aggregator]\nlistn = tcp://a:1\n", "unknown key 'listn'" },
		{ "[agent]\ninterval_ms = 1000\n",
		    ":1: unknown section [agent]" },
		{ "[round]\nquorum = 1\nquorum = 2\n",
		    ":3: key 'quorum' in section [round] is already set on "
		    "line 2" },
		{ "[round]\nquorum = 1\n[aggregate\nrule = fedavg\n",
		    ":3: malformed section header" },
		{ "[aggregate]\nadam_beta1 = 1\n",
		    ":2: invalid value '1' (expected a number in [0, 1)) for "
		    "key 'adam_beta1' in section [aggregate]" },
		{ "[aggregator]\nmax_message_bytes = 4095\n",
		    ":2: invalid value '4095' (expected an integer in [4096, "
		    "16782336]) for key 'max_message_bytes'" },
		{ "[aggregate]\nnorm_action = drop\n",
		    "(expected clip or refuse)" },
	};
	char err[FM_INI_ERROR_BYTES];

	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		fm_agg_config c;

		fm_agg_config_init(&c);
		assert_int_equal(
		    fm_agg_config_load(&c, write_conf(cases[i].text), err),
		    -EINVAL);
		unlink(tmp_path);
		if (!strstr(err, cases[i].err))
			fail_msg(
			    "case %zu: '%s' lacks '%s'", i, err, cases[i].err);
	}
	/* A missing file. */
	{
		fm_agg_config c;

		fm_agg_config_init(&c);
		assert_int_equal(
		    fm_agg_config_load(&c, "/nonexistent/x", err), -ENOENT);
	}
}

static void
test_config_check(void **state)
{
	fm_agg_config c;
	char err[FM_INI_ERROR_BYTES];

	fm_agg_config_init(&c);
	c.quorum = 2;
	c.min_updates = 3;
	assert_int_equal(fm_agg_config_check(&c, err), -EINVAL);
	assert_string_equal(
	    err, "[round] min_updates (3) must be at most quorum (2)");
	c.quorum = 0; /* every enrolled key: not known here */
	assert_int_equal(fm_agg_config_check(&c, err), 0);
	c.collect_poll_ms = c.poll_ms + 1;
	assert_int_equal(fm_agg_config_check(&c, err), -EINVAL);
	assert_string_equal(err,
	    "[round] collect_poll_ms (30001) must be at most poll_ms (30000)");
	fm_agg_config_init(&c);
	c.rule = 9;
	assert_int_equal(fm_agg_config_check(&c, err), -EINVAL);
	fm_agg_config_init(&c);
	snprintf(c.state_dir, sizeof(c.state_dir), "relative");
	assert_int_equal(fm_agg_config_check(&c, err), -EINVAL);
	c.state_dir[0] = '\0'; /* memory only */
	assert_int_equal(fm_agg_config_check(&c, err), 0);
	/* metrics_listen set by a flag is checked here */
	snprintf(c.metrics_listen, sizeof(c.metrics_listen), "localhost");
	assert_int_equal(fm_agg_config_check(&c, err), -EINVAL);
	assert_string_equal(err,
	    "[aggregator] metrics_listen 'localhost' is not ADDRESS:PORT");
	c.metrics_listen[0] = '\0'; /* off */
	assert_int_equal(fm_agg_config_check(&c, err), 0);
	snprintf(c.metrics_listen, sizeof(c.metrics_listen), "[::1]:0");
	assert_int_equal(fm_agg_config_check(&c, err), 0);
}

static void
test_config_metrics_listen(void **state)
{
	fm_agg_config c;
	char err[FM_INI_ERROR_BYTES];

	fm_agg_config_init(&c);
	assert_int_equal(fm_agg_config_load(&c,
	                     write_conf("[aggregator]\nmetrics_listen = "
	                                "127.0.0.1:0\n"),
	                     err),
	    0);
	unlink(tmp_path);
	assert_string_equal(c.metrics_listen, "127.0.0.1:0");
	assert_int_equal(fm_agg_config_load(&c,
	                     write_conf("[aggregator]\nmetrics_listen =\n"),
	                     err),
	    0);
	unlink(tmp_path);
	assert_string_equal(c.metrics_listen, "");
}

/* Writes c's dump into a new temporary file (its path in tmp_path) and
 * returns the text (malloc'd). */
static char *
dump_conf(const fm_agg_config *c)
{
	char err[FM_INI_ERROR_BYTES];
	uint8_t *text;
	size_t n;
	FILE *f;
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/fm-agg-conf-XXXXXX");
	fd = mkstemp(tmp_path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fm_agg_config_dump(c, f, err), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fm_file_read_all(tmp_path, 1 << 20, &text, &n), 0);
	return (char *)text;
}

/* --dump-config: the file, a drop-in over it, the defaults; the dump
 * loads back to the same configuration. */
static void
test_config_dropin_and_dump_round_trip(void **state)
{
	char err[FM_INI_ERROR_BYTES], main_path[64], dir[80], dropin[112];
	fm_agg_config c, back;
	char *text, *again;
	FILE *f;

	(void)state;
	snprintf(main_path, sizeof(main_path), "%s",
	    write_conf("[aggregator]\nlisten = tcp://127.0.0.1:0  "
	               "ipc:///tmp/x.sock\nlog_level = debug\n"
	               "[round]\nquorum = 3\nmax_rounds = 7\n"
	               "[aggregate]\nrule = fedadam\nadam_beta1 = 0.8\n"
	               "norm_action = refuse\n"));
	snprintf(dir, sizeof(dir), "%s.d", main_path);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dropin, sizeof(dropin), "%s/10-site.conf", dir);
	f = fopen(dropin, "w");
	assert_non_null(f);
	fputs("[round]\nquorum = 5\n[train]\nprox_mu = 0.01\n", f);
	assert_int_equal(fclose(f), 0);
	fm_agg_config_init(&c);
	assert_int_equal(fm_agg_config_load(&c, main_path, err), 0);
	unlink(dropin);
	rmdir(dir);
	unlink(main_path);
	assert_int_equal(c.quorum, 5);
	assert_int_equal(c.max_rounds, 7);
	assert_true(c.prox_mu == 0.01f);
	assert_int_equal(fm_agg_config_check(&c, err), 0);
	text = dump_conf(&c);
	assert_non_null(
	    strstr(text, "listen = tcp://127.0.0.1:0 ipc:///tmp/x.sock\n"));
	assert_non_null(strstr(text, "rule = fedadam\n"));
	assert_non_null(strstr(text, "adam_beta1 = 0.8\n"));
	assert_non_null(strstr(text, "prox_mu = 0.01\n"));
	fm_agg_config_init(&back);
	assert_int_equal(fm_agg_config_load(&back, tmp_path, err), 0);
	unlink(tmp_path);
	assert_true(config_equal(&back, &c));
	assert_memory_equal(&back, &c, sizeof(c));
	again = dump_conf(&back);
	unlink(tmp_path);
	assert_string_equal(again, text);
	free(again);
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_shipped_file_equals_defaults),
		cmocka_unit_test(test_config_overrides),
		cmocka_unit_test(test_config_bad_values),
		cmocka_unit_test(test_config_check),
		cmocka_unit_test(test_config_metrics_listen),
		cmocka_unit_test(test_config_dropin_and_dump_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
