/* agent.conf: every key declared once (common/conf.h), and the checks
 * between keys. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "crypto/crypto.h"
#include "learn/learn.h"
#include "net/net.h"
#include "fm-config.h"

_Static_assert(sizeof(FM_STATEDIR) <= FM_AGENT_PATH_BYTES &&
        sizeof(FM_RUNTIMEDIR) <= FM_AGENT_PATH_BYTES,
    "default paths too long");

/* POSIX portable names plus what useradd allows: [A-Za-z0-9._-], not
 * starting with '-'. Empty is valid (the agent's own group). */
static int
check_group(const char *s, char *why)
{
	size_t n = strlen(s);

	(void)why;
	if (n >= 64 || s[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return -EINVAL;
	return 0;
}

static int
check_listen(const char *s, char *why)
{
	(void)why;
	return !s[0] || fm_net_http_listen_is_valid(s) ? 0 : -EINVAL;
}

static int
check_url(const char *s, char *why)
{
	(void)why;
	return !s[0] || strncmp(s, "tcp://", 6) == 0 ||
	        strncmp(s, "ipc:///", 7) == 0
	    ? 0
	    : -EINVAL;
}

static int
check_pubkey(const char *s, char *why)
{
	uint8_t pk[FM_MODEL_FEDERATION_KEY_BYTES];

	(void)why;
	return !s[0] || fm_crypto_key_parse(s, pk) == 0 ? 0 : -EINVAL;
}

static int
check_command(const char *s, char *why)
{
	int r = fm_model_labels_command_check(s);

	if (r == -E2BIG)
		snprintf(why, FM_CONF_WHY_BYTES,
		    "more than %d words (a program and its arguments) for key",
		    FM_SPAWN_COMMAND_ARGS_MAX);
	return r < 0 ? -EINVAL : 0;
}

static int
check_unit(const char *s, char *why)
{
	(void)why;
	return fm_act_unit_is_valid(s) ? 0 : -EINVAL;
}

/* when = anomaly | failure:SOURCE: sets when and failure_source. */
static int
parse_when(const fm_conf_key *k, const char *value, void *base, char *why)
{
	fm_act_rule *rule = base;
	int r;

	(void)k;
	(void)why;
	if (strcmp(value, "anomaly") == 0) {
		rule->when = FM_ACT_WHEN_ANOMALY;
		rule->failure_source = 0;
		return 0;
	}
	if (strncmp(value, "failure:", 8) != 0)
		return -EINVAL;
	r = fm_model_label_source_lookup(value + 8);
	if (r < 0)
		return -EINVAL;
	rule->when = FM_ACT_WHEN_FAILURE;
	rule->failure_source = (uint32_t)r;
	return 0;
}

static int
format_when(const fm_conf_key *k, const void *base, char *buf, size_t size)
{
	const fm_act_rule *rule = base;
	const char *source = fm_model_label_source_name(rule->failure_source);
	int n;

	(void)k;
	if (rule->when == FM_ACT_WHEN_ANOMALY)
		n = snprintf(buf, size, "anomaly");
	else if (rule->when == FM_ACT_WHEN_FAILURE && source)
		n = snprintf(buf, size, "failure:%s", source);
	else
		return -EINVAL;
	return n >= 0 && (size_t)n < size ? 0 : -ENOBUFS;
}

/* The kinds, by the names fm_act_kind_name() gives them (a test
 * checks that they agree). */
static const fm_conf_name kind_names[] = {
	{ "log", FM_ACT_KIND_LOG },
	{ "hook", FM_ACT_KIND_HOOK },
	{ "restart", FM_ACT_KIND_RESTART },
	{ NULL, 0 },
};

/*
 * The detector raises its alarm after alarm_on rows in a row at or above
 * its threshold: fm_learn_detector_config_is_valid() takes 1 to
 * FM_LEARN_POT_MAX_DURATION; the agent takes 1 to an hour of samples.
 */
#define ALARM_SAMPLES_MIN 1
#define ALARM_SAMPLES_MAX 3600
_Static_assert(ALARM_SAMPLES_MAX <= FM_LEARN_POT_MAX_DURATION,
    "alarm_samples must stay within what the detector takes");

#define FIELD(type, f)                                                         \
	.offset = offsetof(type, f), .size = sizeof(((type *)0)->f)
#define CFG(f)       FIELD(fm_agent_config, f)
#define RULE(f)      FIELD(fm_act_rule, f)
#define UINT(lo, hi) .type = FM_CONF_UINT, .range.u = { lo, hi }

/* Every key of agent.conf, once: configs/agent.conf documents them. */
static const fm_conf_key keys[] = {
	{ "agent", "interval_ms", UINT(100, 60000), CFG(interval_ms),
	    .def = "1000", .description = "sampling period, milliseconds" },
	{ "agent", "state_dir", .type = FM_CONF_PATH, CFG(state_dir),
	    .def = FM_STATEDIR,
	    .description = "where models and federation state are kept" },
	{ "agent", "runtime_dir", .type = FM_CONF_PATH, CFG(runtime_dir),
	    .def = FM_RUNTIMEDIR,
	    .description = "where the control socket lives" },
	{ "agent", "log_level", .type = FM_CONF_LOG_LEVEL,
	    .range.i = { LOG_ERR, LOG_DEBUG }, CFG(log_level), .def = "info",
	    .flags = FM_CONF_RELOAD,
	    .description = "most verbose priority logged" },
	{ "agent", "control_group", .type = FM_CONF_STRING, CFG(control_group),
	    .check = check_group, .expect = "a group name, or empty", .def = "",
	    .description = "group owning the control socket; empty: the "
	                   "agent's own" },
	{ "agent", "metrics_listen", .type = FM_CONF_STRING,
	    CFG(metrics_listen), .check = check_listen,
	    .expect = "ADDRESS:PORT, or empty",
	    .def = FM_STATUS_METRICS_DEFAULT_LISTEN,
	    .description = "where /metrics is served; empty: off" },
	{ "collect", "procfs", .type = FM_CONF_PATH, CFG(procfs),
	    .def = "/proc", .description = "procfs root" },
	{ "collect", "fs_network", .type = FM_CONF_BOOL, CFG(fs_network),
	    .def = "no",
	    .description = "whether network filesystems are counted" },
	{ "collect", "fs_refresh_ms", UINT(100, 3600000), CFG(fs_refresh_ms),
	    .def = "10000",
	    .description = "how often the mount table is re-read, "
	                   "milliseconds" },
	{ "collect", "fs_stale_ms", UINT(100, 86400000), CFG(fs_stale_ms),
	    .def = "30000",
	    .description = "a filesystem slower than this is masked, "
	                   "milliseconds" },
	{ "collect", "slow_every", UINT(1, 60), CFG(slow_every), .def = "5",
	    .description = "the slow sources are read every N samples" },
	{ "history", "raw_seconds", UINT(0, 86400), CFG(history_raw_seconds),
	    .def = "0",
	    .description = "deprecated and ignored (no raw samples are kept)" },
	{ "history", "minutes", UINT(1, 43200), CFG(history_minutes),
	    .def = "1440", .description = "per-minute aggregates kept" },
	{ "labels", "fs_full_percent", UINT(0, 100),
	    CFG(labels_fs_full_percent), .def = "95",
	    .description = "a filesystem this full is a failure; 0: off" },
	{ "labels", "fs_full_hysteresis_percent", UINT(0, 50),
	    CFG(labels_fs_full_hysteresis_percent), .def = "2",
	    .description = "percentage points below it that clear it" },
	{ "labels", "health_command", .type = FM_CONF_STRING,
	    CFG(labels_health_command), .check = check_command,
	    .expect = "an absolute program path", .def = "",
	    .description = "a health check whose failure is a failure; "
	                   "empty: off" },
	{ "labels", "health_interval_ms", UINT(100, 86400000),
	    CFG(labels_health_interval_ms), .def = "30000",
	    .description = "how often the health check runs, milliseconds" },
	{ "labels", "health_timeout_ms", UINT(10, 3600000),
	    CFG(labels_health_timeout_ms), .def = "5000",
	    .description = "a health check running longer fails, "
	                   "milliseconds" },
	{ "learn", "enabled", .type = FM_CONF_BOOL, CFG(learn_enabled),
	    .def = "yes",
	    .description = "whether the agent learns and scores" },
	{ "learn", "train_seconds", UINT(10, 86400), CFG(learn_train_seconds),
	    .def = "3600", .description = "samples kept to train on, seconds" },
	{ "learn", "min_train_seconds", UINT(10, 86400),
	    CFG(learn_min_train_seconds), .def = "600",
	    .description = "samples needed before the first training, "
	                   "seconds" },
	{ "learn", "retrain_seconds", UINT(10, 604800),
	    CFG(learn_retrain_seconds), .def = "900",
	    .description = "time between two trainings, seconds" },
	{ "learn", "alarm_samples", UINT(ALARM_SAMPLES_MIN, ALARM_SAMPLES_MAX),
	    CFG(learn_alarm_samples), .def = "3",
	    .description = "samples in a row above the threshold that raise "
	                   "the alarm" },
	{ "learn", "clear_samples", UINT(1, 3600), CFG(learn_clear_samples),
	    .def = "10",
	    .description = "samples in a row below it that clear the alarm" },
	{ "learn", "onset_factor", UINT(0, 1000), CFG(learn_onset_factor),
	    .def = "5",
	    .description = "a score this many times the threshold raises "
	                   "the alarm at once; 0: off" },
	{ "learn", "horizon_minutes", UINT(1, 10080),
	    CFG(learn_horizon_minutes), .def = "30",
	    .description = "how far ahead failures are predicted, minutes" },
	{ "learn", "accept_seconds", UINT(0, 604800),
	    CFG(learn_accept_seconds), .def = "900",
	    .description = "an alarm lasting this long with no failure "
	                   "labelled is a lasting change, learned as the new "
	                   "normal; 0: only fedmonctl accept" },
	{ "learn", "threshold_risk", .type = FM_CONF_FLOAT,
	    .range.f = { 0, 0.05 }, CFG(learn_threshold_risk),
	    .def = "0.005", .flags = FM_CONF_MIN_OPEN,
	    .description = "the chance that a normal sample's score passes "
	                   "the alarm threshold: lower is fewer false alarms "
	                   "and later, fewer detections" },
	{ "learn", "mature_seconds", UINT(0, 31536000),
	    CFG(learn_mature_seconds), .def = "7200",
	    .description = "until the agent has sampled this long, each "
	                   "feature's scale leans on a typical one, the time "
	                   "not seen yet weighing against the samples; 0: "
	                   "off" },
	{ "learn", "failure_min_events", UINT(0, 1000),
	    CFG(learn_failure_min_events), .def = "3",
	    .description = "failure onsets a predictor must have learned from "
	                   "before its probability may drive an action" },
	{ "federation", "aggregator", .type = FM_CONF_STRING,
	    CFG(fed_aggregator), .check = check_url,
	    .expect = "tcp://HOST:PORT or ipc:///PATH, or empty", .def = "",
	    .description = "the aggregator's URL; empty: standalone" },
	{ "federation", "aggregator_key", .type = FM_CONF_STRING,
	    CFG(fed_aggregator_key), .check = check_pubkey,
	    .expect = "a base64 public key of 32 bytes", .def = "",
	    .description = "the aggregator's pinned public key" },
	{ "federation", "key_file", .type = FM_CONF_PATH, CFG(fed_key_file),
	    .flags = FM_CONF_EMPTY_OK, .def = "",
	    .description = "this agent's secret key; empty: "
	                   "state_dir/agent.key" },
	{ "federation", "timeout_ms", UINT(100, 600000), CFG(fed_timeout_ms),
	    .def = "10000",
	    .description = "a request's timeout, milliseconds" },
	{ "federation", "retry_min_ms", UINT(100, 3600000),
	    CFG(fed_retry_min_ms), .def = "1000",
	    .description = "the first retry's delay, milliseconds" },
	{ "federation", "retry_max_ms", UINT(100, 86400000),
	    CFG(fed_retry_max_ms), .def = "300000",
	    .description = "the longest retry delay, milliseconds" },
	{ "federation", "max_message_bytes", UINT(65536, 268435456),
	    CFG(fed_max_message_bytes), .def = "8388608",
	    .description = "the largest reply taken, bytes" },
	{ "federation", "skew_seconds", UINT(1, 86400), CFG(fed_skew_seconds),
	    .def = "300",
	    .description = "clock difference tolerated with the aggregator, "
	                   "seconds" },
	{ "actions", "dry_run", .type = FM_CONF_BOOL, CFG(actions_dry_run),
	    .def = "no", .flags = FM_CONF_RELOAD,
	    .description = "every rule logs what it would run and runs "
	                   "nothing" },
	{ "actions", "systemctl", .type = FM_CONF_PATH, CFG(actions_systemctl),
	    .def = "/usr/bin/systemctl", .flags = FM_CONF_RELOAD,
	    .description = "the systemctl program" },
	/* [action NAME]: which kinds take a key is the kinds' own word
	 * (agent/act/kinds.c, fm_act_kind_takes_key()) */
	{ "action", "when", .type = FM_CONF_CUSTOM, RULE(when),
	    .parse = parse_when, .format = format_when,
	    .expect = "anomaly or failure:SOURCE, SOURCE one of oom, "
	              "fs_full, health, manual",
	    .flags = FM_CONF_RELOAD,
	    .description = "what makes the rule fire (required)" },
	{ "action", "probability", .type = FM_CONF_FLOAT, .range.f = { 0, 1 },
	    RULE(probability), .flags = FM_CONF_RELOAD | FM_CONF_MIN_OPEN,
	    .description = "when = failure:SOURCE: the predicted "
	                   "probability that fires it" },
	{ "action", "hold_seconds", UINT(0, 86400), RULE(hold_seconds),
	    .def = "0", .flags = FM_CONF_RELOAD,
	    .description = "how long the condition holds first" },
	{ "action", "cooldown_seconds", UINT(0, 86400), RULE(cooldown_seconds),
	    .def = "300", .flags = FM_CONF_RELOAD,
	    .description = "time between two runs" },
	{ "action", "max_per_hour", UINT(1, 3600), RULE(max_per_hour),
	    .def = "6", .flags = FM_CONF_RELOAD,
	    .description = "runs in any hour, at most" },
	{ "action", "kind", .type = FM_CONF_ENUM, .names = kind_names,
	    RULE(kind), .flags = FM_CONF_RELOAD,
	    .description = "what the rule does (required)" },
	{ "action", "dry_run", .type = FM_CONF_BOOL, RULE(dry_run), .def = "no",
	    .flags = FM_CONF_RELOAD,
	    .description = "log what would run, run nothing" },
	{ "action", "priority", .type = FM_CONF_LOG_LEVEL,
	    .range.i = { LOG_EMERG, LOG_DEBUG }, RULE(priority),
	    .def = "warning", .flags = FM_CONF_RELOAD,
	    .description = "kind = log: the line's priority" },
	{ "action", "command", .type = FM_CONF_STRING, RULE(command),
	    .check = check_command, .expect = "an absolute program path",
	    .def = "", .flags = FM_CONF_RELOAD,
	    .description = "kind = hook: the program and its arguments" },
	{ "action", "unit", .type = FM_CONF_STRING, RULE(unit),
	    .check = check_unit, .expect = "a unit name such as NAME.service",
	    .flags = FM_CONF_RELOAD,
	    .description = "kind = restart: the unit restarted" },
	{ "action", "timeout_ms", UINT(10, 3600000), RULE(timeout_ms),
	    .def = "30000", .flags = FM_CONF_RELOAD,
	    .description = "kind = hook, restart: killed after this long, "
	                   "milliseconds" },
};

_Static_assert(
    sizeof(((fm_act_rule *)0)->command) == FM_SPAWN_COMMAND_BYTES,
    "command must fit the split");

_Static_assert(sizeof(((fm_agent_config *)0)->labels_health_command) ==
        FM_SPAWN_COMMAND_BYTES,
    "health_command must fit fm_model_labels");

/* ---- the [action NAME] sections ---------------------------------------- */

static int
rule_check_name(const char *name, char *why)
{
	char check[FM_CONF_WHY_BYTES];
	fm_act_rule probe = {
		.when = FM_ACT_WHEN_ANOMALY,
		.kind = FM_ACT_KIND_LOG,
		.max_per_hour = 1,
	};

	if (strlen(name) >= FM_ACT_NAME_BYTES) {
		snprintf(why, FM_CONF_WHY_BYTES,
		    "rule name longer than %d characters",
		    FM_ACT_NAME_BYTES - 1);
		return -EINVAL;
	}
	memcpy(probe.name, name, strlen(name) + 1);
	if (fm_act_rule_check(&probe, check) < 0) {
		snprintf(
		    why, FM_CONF_WHY_BYTES, "rule name not of [A-Za-z0-9_.-]");
		return -EINVAL;
	}
	return 0;
}

/* The first key of a file's [action NAME]: finds the rule (an earlier
 * file's), or adds it with the defaults documented in configs/agent.conf
 * (cap FM_ACT_RULES_MAX). */
static int
rule_open(void *conf, const char *name, void **ret_base, char *why)
{
	fm_agent_config *c = conf;
	fm_act_rule *r;

	for (uint32_t i = 0; i < c->n_rules; i++)
		if (strcmp(c->rules[i].name, name) == 0) {
			*ret_base = &c->rules[i];
			return 0;
		}
	if (c->n_rules == FM_ACT_RULES_MAX) {
		snprintf(why, FM_CONF_WHY_BYTES,
		    "more than %d [action NAME] sections, at key",
		    FM_ACT_RULES_MAX);
		return -EINVAL;
	}
	r = &c->rules[c->n_rules++];
	memset(r, 0, sizeof(*r));
	memcpy(r->name, name, strlen(name) + 1); /* rule_check_name() */
	fm_conf_defaults_section(&fm_agent_config_schema, "action", r);
	*ret_base = r;
	return 0;
}

/* Whether the rule's kind (when set) takes key k. */
static bool
kind_takes(const fm_act_rule *r, const fm_conf_key *k)
{
	return !r->kind || fm_act_kind_takes_key(r->kind, k->name);
}

/* Keys that only some kinds take are refused as soon as both the key
 * and the kind are known, whichever comes first, so that the error names
 * the line. */
static int
rule_after_key(
    void *base, const fm_conf_key *k, const fm_conf_given *given, char *why)
{
	const fm_act_rule *r = base;

	if (!kind_takes(r, k)) {
		snprintf(why, FM_CONF_WHY_BYTES, "kind = %s does not take key",
		    fm_act_kind_name(r->kind));
		return -EINVAL;
	}
	for (size_t i = 0; i < FM_ELEMENTSOF(keys); i++)
		if (strcmp(keys[i].section, "action") == 0 &&
		    fm_conf_given_has(given, &keys[i]) &&
		    !kind_takes(r, &keys[i])) {
			snprintf(why, FM_CONF_WHY_BYTES,
			    "kind = %s does not take '%s' (given above), "
			    "for key",
			    fm_act_kind_name(r->kind), keys[i].name);
			return -EINVAL;
		}
	if (r->when == FM_ACT_WHEN_ANOMALY && r->probability != 0.0f) {
		snprintf(why, FM_CONF_WHY_BYTES,
		    "probability is only for when = failure:SOURCE, at key");
		return -EINVAL;
	}
	return 0;
}

static size_t
rule_count(const void *conf)
{
	return ((const fm_agent_config *)conf)->n_rules;
}

static const void *
rule_get(const void *conf, size_t i, const char **ret_name)
{
	const fm_act_rule *r = &((const fm_agent_config *)conf)->rules[i];

	*ret_name = r->name;
	return r;
}

/* A rule's text holds the keys its kind and its when take. */
static bool
rule_dump_key(const void *base, const fm_conf_key *k)
{
	const fm_act_rule *r = base;

	if (strcmp(k->name, "probability") == 0)
		return r->when == FM_ACT_WHEN_FAILURE;
	return kind_takes(r, k);
}

static const fm_conf_section sections[] = {
	{ .name = "agent" },
	{ .name = "collect" },
	{ .name = "history" },
	{ .name = "labels" },
	{ .name = "learn" },
	{ .name = "federation" },
	{ .name = "actions" },
	{ .name = "action",
	    .check_name = rule_check_name,
	    .open = rule_open,
	    .after_key = rule_after_key,
	    .count = rule_count,
	    .get = rule_get,
	    .dump_key = rule_dump_key },
};

const fm_conf_schema fm_agent_config_schema = {
	.conf_size = sizeof(fm_agent_config),
	.sections = sections,
	.n_sections = FM_ELEMENTSOF(sections),
	.keys = keys,
	.n_keys = FM_ELEMENTSOF(keys),
};

_Static_assert(FM_ELEMENTSOF(keys) <= FM_CONF_KEYS_MAX, "the engine's cap");

void
fm_agent_config_init(fm_agent_config *c)
{
	fm_conf_defaults(&fm_agent_config_schema, c);
}

int
fm_agent_config_load(fm_agent_config *c, const char *path, char *err)
{
	return fm_conf_load(&fm_agent_config_schema, c, path, err);
}

int
fm_agent_config_dump(const fm_agent_config *c, FILE *f, char *err)
{
	return fm_conf_dump(&fm_agent_config_schema, c, f, err);
}

unsigned
fm_agent_config_apply_reload(fm_agent_config *running,
    const fm_agent_config *next, char *restart, size_t size)
{
	unsigned n;

	n = fm_conf_reload(
	    &fm_agent_config_schema, running, next, restart, size);
	/* every key of [action NAME] is FM_CONF_RELOAD: the rules go whole */
	memcpy(running->rules, next->rules, sizeof(next->rules));
	running->n_rules = next->n_rules;
	return n;
}

/* The [actions] keys and the rules, each as fm_act_rule_check(). */
static int
actions_check(const fm_agent_config *c, char *err)
{
	char why[FM_INI_WHY_BYTES];

	if (c->n_rules > FM_ACT_RULES_MAX) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "more than %d [action NAME] sections",
		    FM_ACT_RULES_MAX);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->n_rules; i++) {
		const fm_act_rule *r = &c->rules[i];

		if (fm_act_rule_check(r, why) < 0) {
			snprintf(err, FM_INI_ERROR_BYTES, "[action %.*s] %s",
			    FM_ACT_NAME_BYTES - 1, r->name, why);
			return -EINVAL;
		}
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(c->rules[j].name, r->name) == 0) {
				snprintf(err, FM_INI_ERROR_BYTES,
				    "[action %s] defined twice", r->name);
				return -EINVAL;
			}
	}
	if (c->actions_systemctl[0] != '/') {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[actions] systemctl must be an absolute path");
		return -EINVAL;
	}
	return 0;
}

int
fm_agent_config_check(const fm_agent_config *c, char *err)
{
	if (c->fs_stale_ms < c->fs_refresh_ms) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[collect] fs_stale_ms (%u) must be at least fs_refresh_ms "
		    "(%u)",
		    c->fs_stale_ms, c->fs_refresh_ms);
		return -EINVAL;
	}
	if (c->labels_fs_full_percent > 0 &&
	    c->labels_fs_full_hysteresis_percent >= c->labels_fs_full_percent) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[labels] fs_full_hysteresis_percent (%u) must be below "
		    "fs_full_percent (%u)",
		    c->labels_fs_full_hysteresis_percent,
		    c->labels_fs_full_percent);
		return -EINVAL;
	}
	if (c->learn_min_train_seconds > c->learn_train_seconds) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[learn] min_train_seconds (%u) must be at most "
		    "train_seconds (%u)",
		    c->learn_min_train_seconds, c->learn_train_seconds);
		return -EINVAL;
	}
	if ((uint64_t)c->learn_min_train_seconds * 1000 / c->interval_ms <
	    FM_MODEL_LEARNER_MIN_ROWS) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[learn] min_train_seconds (%u) must hold at least %u "
		    "samples of [agent] interval_ms (%u)",
		    c->learn_min_train_seconds, FM_MODEL_LEARNER_MIN_ROWS,
		    c->interval_ms);
		return -EINVAL;
	}
	if (c->labels_health_timeout_ms > c->labels_health_interval_ms) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[labels] health_timeout_ms (%u) must be at most "
		    "health_interval_ms (%u)",
		    c->labels_health_timeout_ms, c->labels_health_interval_ms);
		return -EINVAL;
	}
	if (c->fed_aggregator[0] && !c->fed_aggregator_key[0]) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[federation] aggregator is set but aggregator_key is not: "
		    "the agent must pin the aggregator's public key");
		return -EINVAL;
	}
	if (c->fed_aggregator[0] && !c->learn_enabled) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[federation] aggregator needs [learn] enabled = yes");
		return -EINVAL;
	}
	if (c->fed_retry_max_ms < c->fed_retry_min_ms) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[federation] retry_max_ms (%u) must be at least "
		    "retry_min_ms (%u)",
		    c->fed_retry_max_ms, c->fed_retry_min_ms);
		return -EINVAL;
	}
	return actions_check(c, err);
}

void
fm_agent_config_labels(const fm_agent_config *c, fm_model_labels_config *ret)
{
	*ret = (fm_model_labels_config) {
		.fs_full_percent = c->labels_fs_full_percent,
		.fs_full_hysteresis_percent =
		    c->labels_fs_full_hysteresis_percent,
		.health_command = c->labels_health_command,
		.health_interval_ms = c->labels_health_interval_ms,
		.health_timeout_ms = c->labels_health_timeout_ms,
	};
}
