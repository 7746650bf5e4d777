/* agent.conf: defaults, the INI keys, and their validation. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "crypto/crypto.h"
#include "net/net.h"
#include "fm-config.h"

_Static_assert(sizeof(FM_STATEDIR) <= FM_AGENT_PATH_BYTES &&
        sizeof(FM_RUNTIMEDIR) <= FM_AGENT_PATH_BYTES,
    "default paths too long");

void
fm_agent_config_init(fm_agent_config *c)
{
	*c = (fm_agent_config) {
		.interval_ms = 1000,
		.log_level = LOG_INFO,
		.fs_network = false,
		.fs_refresh_ms = 10000,
		.fs_stale_ms = 30000,
		.slow_every = 5,
		.history_minutes = 1440,
		.labels_fs_full_percent = 95,
		.labels_fs_full_hysteresis_percent = 2,
		.labels_health_interval_ms = 30000,
		.labels_health_timeout_ms = 5000,
		.learn_enabled = true,
		.learn_train_seconds = 3600,
		.learn_min_train_seconds = 600,
		.learn_retrain_seconds = 900,
		.learn_alarm_samples = 3,
		.learn_onset_factor = 5,
		.learn_clear_samples = 10,
		.learn_horizon_minutes = 30,
		.fed_timeout_ms = 10000,
		.fed_retry_min_ms = 1000,
		.fed_retry_max_ms = 300000,
		.fed_max_message_bytes = 8u << 20,
		.fed_skew_seconds = 300,
	};
	/* Build-time constants, checked to fit below. */
	snprintf(c->state_dir, sizeof(c->state_dir), "%s", FM_STATEDIR);
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s", FM_RUNTIMEDIR);
	snprintf(c->procfs, sizeof(c->procfs), "%s", "/proc");
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s",
	    FM_STATUS_METRICS_DEFAULT_LISTEN);
	snprintf(c->actions_systemctl, sizeof(c->actions_systemctl), "%s",
	    "/usr/bin/systemctl");
}

/* POSIX portable names plus what useradd allows: [A-Za-z0-9._-], not
 * starting with '-'. Empty is valid (the agent's own group). */
static bool
group_name_is_valid(const char *s)
{
	size_t n = strlen(s);

	if (n >= 64 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

enum key_kind {
	KEY_U32,
	KEY_PATH,
	KEY_BOOL,
	KEY_LOGLEVEL,
	KEY_COMMAND,
	KEY_URL,
	KEY_PUBKEY,
	KEY_OPTPATH, /* an absolute path, or empty */
	KEY_GROUP,   /* a group name, or empty */
	KEY_LISTEN,  /* ADDRESS:PORT, or empty */
	/* [action NAME] only */
	KEY_WHEN,        /* anomaly or failure:SOURCE */
	KEY_PROBABILITY, /* (0, 1] */
	KEY_KIND,        /* log, hook or restart */
	KEY_PRIORITY,    /* emerg ... debug */
	KEY_UNIT,        /* a systemd unit name */
};

struct key {
	const char *section; /* "action" for every [action NAME] */
	const char *name;
	enum key_kind kind;
	size_t offset;      /* in fm_agent_config, or fm_act_rule */
	uint64_t min, max;  /* KEY_U32 */
	const char *expect; /* what a valid value looks like */
};

/* A key of the [action NAME] sections, offset in fm_act_rule. */
struct rule_key {
	struct key key;
	unsigned kinds; /* the kinds taking it (KIND_BIT); 0 = all */
};

#define OFF(field) offsetof(fm_agent_config, field)

static const struct key keys[] = {
	{ "agent", "interval_ms", KEY_U32, OFF(interval_ms), 100, 60000,
	    "milliseconds, 100 to 60000" },
	{ "agent", "state_dir", KEY_PATH, OFF(state_dir), 0, 0,
	    "an absolute path" },
	{ "agent", "runtime_dir", KEY_PATH, OFF(runtime_dir), 0, 0,
	    "an absolute path" },
	{ "agent", "log_level", KEY_LOGLEVEL, OFF(log_level), 0, 0,
	    "err, warning, notice, info or debug" },
	{ "agent", "control_group", KEY_GROUP, OFF(control_group), 0, 0,
	    "a group name, or empty" },
	{ "agent", "metrics_listen", KEY_LISTEN, OFF(metrics_listen), 0, 0,
	    "ADDRESS:PORT, or empty" },
	{ "collect", "procfs", KEY_PATH, OFF(procfs), 0, 0,
	    "an absolute path" },
	{ "collect", "fs_network", KEY_BOOL, OFF(fs_network), 0, 0,
	    "yes or no" },
	{ "collect", "fs_refresh_ms", KEY_U32, OFF(fs_refresh_ms), 100, 3600000,
	    "milliseconds, 100 to 3600000" },
	{ "collect", "fs_stale_ms", KEY_U32, OFF(fs_stale_ms), 100, 86400000,
	    "milliseconds, 100 to 86400000" },
	{ "collect", "slow_every", KEY_U32, OFF(slow_every), 1, 60,
	    "a number of samples, 1 to 60" },
	{ "history", "raw_seconds", KEY_U32, OFF(history_raw_seconds), 10,
	    86400, "seconds, 10 to 86400" },
	{ "history", "minutes", KEY_U32, OFF(history_minutes), 1, 43200,
	    "minutes, 1 to 43200" },
	{ "labels", "fs_full_percent", KEY_U32, OFF(labels_fs_full_percent), 0,
	    100, "a percentage, 0 (off) to 100" },
	{ "labels", "fs_full_hysteresis_percent", KEY_U32,
	    OFF(labels_fs_full_hysteresis_percent), 0, 50,
	    "percentage points, 0 to 50" },
	{ "labels", "health_command", KEY_COMMAND, OFF(labels_health_command),
	    0, 0, "an absolute program path" },
	{ "labels", "health_interval_ms", KEY_U32,
	    OFF(labels_health_interval_ms), 100, 86400000,
	    "milliseconds, 100 to 86400000" },
	{ "labels", "health_timeout_ms", KEY_U32, OFF(labels_health_timeout_ms),
	    10, 3600000, "milliseconds, 10 to 3600000" },
	{ "learn", "enabled", KEY_BOOL, OFF(learn_enabled), 0, 0, "yes or no" },
	{ "learn", "train_seconds", KEY_U32, OFF(learn_train_seconds), 10,
	    86400, "seconds, 10 to 86400" },
	{ "learn", "min_train_seconds", KEY_U32, OFF(learn_min_train_seconds),
	    10, 86400, "seconds, 10 to 86400" },
	{ "learn", "retrain_seconds", KEY_U32, OFF(learn_retrain_seconds), 10,
	    604800, "seconds, 10 to 604800" },
	{ "learn", "alarm_samples", KEY_U32, OFF(learn_alarm_samples), 1, 3600,
	    "samples, 1 to 3600" },
	{ "learn", "clear_samples", KEY_U32, OFF(learn_clear_samples), 1, 3600,
	    "samples, 1 to 3600" },
	{ "learn", "onset_factor", KEY_U32, OFF(learn_onset_factor), 0, 1000,
	    "a factor, 0 (off) or 1 to 1000" },
	{ "learn", "horizon_minutes", KEY_U32, OFF(learn_horizon_minutes), 1,
	    10080, "minutes, 1 to 10080" },
	{ "federation", "aggregator", KEY_URL, OFF(fed_aggregator), 0, 0,
	    "tcp://HOST:PORT or ipc:///PATH, or empty" },
	{ "federation", "aggregator_key", KEY_PUBKEY, OFF(fed_aggregator_key),
	    0, 0, "a base64 public key of 32 bytes" },
	{ "federation", "key_file", KEY_OPTPATH, OFF(fed_key_file), 0, 0,
	    "an absolute path, or empty" },
	{ "federation", "timeout_ms", KEY_U32, OFF(fed_timeout_ms), 100, 600000,
	    "milliseconds, 100 to 600000" },
	{ "federation", "retry_min_ms", KEY_U32, OFF(fed_retry_min_ms), 100,
	    3600000, "milliseconds, 100 to 3600000" },
	{ "federation", "retry_max_ms", KEY_U32, OFF(fed_retry_max_ms), 100,
	    86400000, "milliseconds, 100 to 86400000" },
	{ "federation", "max_message_bytes", KEY_U32,
	    OFF(fed_max_message_bytes), 65536, 268435456,
	    "bytes, 65536 to 268435456" },
	{ "federation", "skew_seconds", KEY_U32, OFF(fed_skew_seconds), 1,
	    86400, "seconds, 1 to 86400" },
	{ "actions", "dry_run", KEY_BOOL, OFF(actions_dry_run), 0, 0,
	    "yes or no" },
	{ "actions", "systemctl", KEY_PATH, OFF(actions_systemctl), 0, 0,
	    "an absolute path" },
};

#define ROFF(field) offsetof(fm_act_rule, field)
#define KIND_BIT(k) (1u << (k))
#define SPAWNS      (KIND_BIT(FM_ACT_KIND_HOOK) | KIND_BIT(FM_ACT_KIND_RESTART))

/* The keys of an [action NAME] section; at most 32 (a bit each). */
static const struct rule_key rule_keys[] = {
	{ { "action", "when", KEY_WHEN, ROFF(when), 0, 0,
	      "anomaly or failure:SOURCE, SOURCE one of oom, fs_full, health, "
	      "manual" },
	    0 },
	{ { "action", "probability", KEY_PROBABILITY, ROFF(probability), 0, 0,
	      "a probability above 0 and at most 1" },
	    0 },
	{ { "action", "hold_seconds", KEY_U32, ROFF(hold_seconds), 0, 86400,
	      "seconds, 0 to 86400" },
	    0 },
	{ { "action", "cooldown_seconds", KEY_U32, ROFF(cooldown_seconds), 0,
	      86400, "seconds, 0 to 86400" },
	    0 },
	{ { "action", "max_per_hour", KEY_U32, ROFF(max_per_hour), 1, 3600,
	      "runs, 1 to 3600" },
	    0 },
	{ { "action", "kind", KEY_KIND, ROFF(kind), 0, 0,
	      "log, hook or restart" },
	    0 },
	{ { "action", "dry_run", KEY_BOOL, ROFF(dry_run), 0, 0, "yes or no" },
	    0 },
	{ { "action", "priority", KEY_PRIORITY, ROFF(priority), 0, 0,
	      "emerg, alert, crit, err, warning, notice, info or debug" },
	    KIND_BIT(FM_ACT_KIND_LOG) },
	{ { "action", "command", KEY_COMMAND, ROFF(command), 0, 0,
	      "an absolute program path" },
	    KIND_BIT(FM_ACT_KIND_HOOK) },
	{ { "action", "unit", KEY_UNIT, ROFF(unit), 0, 0,
	      "a unit name such as NAME.service" },
	    KIND_BIT(FM_ACT_KIND_RESTART) },
	{ { "action", "timeout_ms", KEY_U32, ROFF(timeout_ms), 10, 3600000,
	      "milliseconds, 10 to 3600000" },
	    SPAWNS },
};

_Static_assert(FM_ELEMENTSOF(rule_keys) <= 32, "a bit per key");
_Static_assert(sizeof(((fm_act_rule *)0)->command) == FM_SPAWN_COMMAND_BYTES,
    "command must fit the split");

_Static_assert(sizeof(((fm_agent_config *)0)->labels_health_command) ==
        FM_SPAWN_COMMAND_BYTES,
    "health_command must fit fm_model_labels");

/* Parses value into the field of k in base (an fm_agent_config, or an
 * fm_act_rule for rule_keys). */
static int
set_key(const struct key *k, void *base, const char *value, char *why)
{
	char *field = (char *)base + k->offset;
	uint64_t u;
	double d;
	bool b;
	int r;

	switch (k->kind) {
	case KEY_U32:
		r = fm_parse_u64_range(value, k->min, k->max, &u);
		if (r < 0)
			break;
		*(uint32_t *)(void *)field = (uint32_t)u;
		return 0;
	case KEY_OPTPATH:
	case KEY_PATH:
		if (value[0] != '/' && (k->kind == KEY_PATH || value[0])) {
			r = -EINVAL;
			break;
		}
		r = fm_strlcpy(field, value, FM_AGENT_PATH_BYTES);
		if (r < 0)
			break;
		return 0;
	case KEY_BOOL:
		r = fm_parse_bool(value, &b);
		if (r < 0)
			break;
		*(bool *)(void *)field = b;
		return 0;
	case KEY_LOGLEVEL:
		r = fm_log_level_from_string(value);
		if (r < 0 || r < LOG_ERR)
			break;
		*(int *)(void *)field = r;
		return 0;
	case KEY_URL:
		if (value[0] && strncmp(value, "tcp://", 6) != 0 &&
		    strncmp(value, "ipc:///", 7) != 0) {
			r = -EINVAL;
			break;
		}
		r = fm_strlcpy(field, value, FM_AGENT_PATH_BYTES);
		if (r < 0)
			break;
		return 0;
	case KEY_PUBKEY: {
		uint8_t pk[FM_MODEL_FEDERATION_KEY_BYTES];

		if (value[0] && fm_crypto_key_parse(value, pk) < 0) {
			r = -EINVAL;
			break;
		}
		r = fm_strlcpy(field, value,
		    sizeof(((fm_agent_config *)0)->fed_aggregator_key));
		if (r < 0)
			break;
		return 0;
	}
	case KEY_GROUP:
		if (!group_name_is_valid(value)) {
			r = -EINVAL;
			break;
		}
		r = fm_strlcpy(field, value,
		    sizeof(((fm_agent_config *)0)->control_group));
		if (r < 0)
			break;
		return 0;
	case KEY_LISTEN:
		if (value[0] && !fm_net_http_listen_is_valid(value)) {
			r = -EINVAL;
			break;
		}
		r = fm_strlcpy(field, value, FM_AGENT_PATH_BYTES);
		if (r < 0)
			break;
		return 0;
	case KEY_COMMAND:
		r = fm_model_labels_command_check(value);
		if (r == -E2BIG) {
			snprintf(why, FM_INI_WHY_BYTES,
			    "more than %d words (a program and its arguments) "
			    "for key",
			    FM_SPAWN_COMMAND_ARGS_MAX);
			return -EINVAL;
		}
		if (r < 0)
			break;
		r = fm_strlcpy(field, value, FM_SPAWN_COMMAND_BYTES);
		if (r < 0)
			break;
		return 0;
	case KEY_WHEN: {
		fm_act_rule *rule = base;

		if (strcmp(value, "anomaly") == 0) {
			rule->when = FM_ACT_WHEN_ANOMALY;
			rule->failure_source = 0;
			return 0;
		}
		if (strncmp(value, "failure:", 8) != 0 ||
		    (r = fm_model_label_source_lookup(value + 8)) < 0)
			break;
		rule->when = FM_ACT_WHEN_FAILURE;
		rule->failure_source = (uint32_t)r;
		return 0;
	}
	case KEY_PROBABILITY:
		if (fm_parse_double(value, &d) < 0 || !(d > 0.0 && d <= 1.0))
			break;
		*(float *)(void *)field = (float)d;
		return 0;
	case KEY_KIND:
		for (unsigned kind = 1; kind < FM_ACT_KIND_COUNT; kind++)
			if (strcmp(value, fm_act_kind_name(kind)) == 0) {
				*(fm_act_kind *)(void *)field = kind;
				return 0;
			}
		break;
	case KEY_PRIORITY:
		r = fm_log_level_from_string(value);
		if (r < 0)
			break;
		*(int *)(void *)field = r;
		return 0;
	case KEY_UNIT:
		if (!fm_act_unit_is_valid(value))
			break;
		r = fm_strlcpy(field, value, FM_ACT_UNIT_BYTES);
		if (r < 0)
			break;
		return 0;
	}
	snprintf(why, FM_INI_WHY_BYTES,
	    "invalid value '%.64s' (expected %s) for key", value, k->expect);
	return -EINVAL;
}

/* What one load remembers between keys. */
struct load {
	fm_agent_config *c;
	uint32_t first_rule;  /* rules before it were there before the load */
	char section[64];     /* of the previous key ("" before the first) */
	fm_act_rule *rule;    /* of the current [action NAME], or NULL */
	/* keys given, a bit per rule_keys[] entry, per rule of this load */
	uint32_t given[FM_ACT_RULES_MAX];
};

/* A new rule with the defaults documented in configs/agent.conf. */
static void
rule_init(fm_act_rule *r, const char *name)
{
	*r = (fm_act_rule) {
		.cooldown_seconds = 300,
		.max_per_hour = 6,
		.priority = LOG_WARNING,
		.timeout_ms = 30000,
	};
	memcpy(r->name, name, strlen(name) + 1);
}

/* The first key of the section "action NAME": finds or adds the rule.
 * A rule this load already defined is a duplicate section. */
static int
rule_section_begin(struct load *ld, const char *name, char *why)
{
	fm_agent_config *c = ld->c;
	char check[FM_INI_WHY_BYTES];
	fm_act_rule probe;

	if (strlen(name) >= FM_ACT_NAME_BYTES) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "rule name longer than %d characters, at key",
		    FM_ACT_NAME_BYTES - 1);
		return -EINVAL;
	}
	rule_init(&probe, name);
	probe.when = FM_ACT_WHEN_ANOMALY;
	probe.kind = FM_ACT_KIND_LOG;
	if (fm_act_rule_check(&probe, check) < 0) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "rule name not of [A-Za-z0-9_.-], at key");
		return -EINVAL;
	}
	for (uint32_t i = 0; i < c->n_rules; i++) {
		if (strcmp(c->rules[i].name, name) != 0)
			continue;
		if (i >= ld->first_rule) {
			snprintf(why, FM_INI_WHY_BYTES,
			    "second section of the same name, at key");
			return -EINVAL;
		}
		ld->rule = &c->rules[i];
		return 0;
	}
	if (c->n_rules == FM_ACT_RULES_MAX) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "more than %d [action NAME] sections, at key",
		    FM_ACT_RULES_MAX);
		return -EINVAL;
	}
	ld->rule = &c->rules[c->n_rules++];
	rule_init(ld->rule, name);
	return 0;
}

/* Whether the rule's kind (when set) takes key k. */
static bool
kind_takes(const fm_act_rule *r, const struct rule_key *k)
{
	return !k->kinds || !r->kind || (k->kinds & KIND_BIT(r->kind));
}

/* One key of the current [action NAME] section. Keys that only some
 * kinds take are refused as soon as both the key and the kind are known,
 * whichever comes first, so that the error names the line. */
static int
rule_key(struct load *ld, const char *name, const char *value, char *why)
{
	fm_act_rule *r = ld->rule;
	uint32_t idx = (uint32_t)(r - ld->c->rules);
	uint32_t *given = idx >= ld->first_rule ? &ld->given[idx] : NULL;
	const struct rule_key *k = NULL;
	size_t ki;
	int ret;

	for (ki = 0; ki < FM_ELEMENTSOF(rule_keys); ki++)
		if (strcmp(rule_keys[ki].key.name, name) == 0) {
			k = &rule_keys[ki];
			break;
		}
	if (!k) {
		snprintf(why, FM_INI_WHY_BYTES, "unknown key");
		return -EINVAL;
	}
	ret = set_key(&k->key, r, value, why);
	if (ret < 0)
		return ret;
	if (given)
		*given |= 1u << ki;
	if (!kind_takes(r, k)) {
		snprintf(why, FM_INI_WHY_BYTES, "kind = %s does not take key",
		    fm_act_kind_name(r->kind));
		return -EINVAL;
	}
	for (size_t i = 0; given && i < FM_ELEMENTSOF(rule_keys); i++)
		if ((*given & (1u << i)) && !kind_takes(r, &rule_keys[i])) {
			snprintf(why, FM_INI_WHY_BYTES,
			    "kind = %s does not take '%s' (given above), "
			    "for key",
			    fm_act_kind_name(r->kind), rule_keys[i].key.name);
			return -EINVAL;
		}
	if (r->when == FM_ACT_WHEN_ANOMALY && r->probability != 0.0f) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "probability is only for when = failure:SOURCE, at key");
		return -EINVAL;
	}
	return 0;
}

static int
on_key(void *userdata, const char *section, const char *name, const char *value,
    char *why)
{
	struct load *ld = userdata;
	bool section_known = false, begins;
	size_t len;
	int r;

	begins = strcmp(section, ld->section) != 0;
	/* inih's sections are shorter (INI_MAX_SECTION, 50) */
	len = strnlen(section, sizeof(ld->section) - 1);
	memcpy(ld->section, section, len);
	ld->section[len] = '\0';
	if (strncmp(section, "action ", 7) == 0) {
		if (begins) {
			ld->rule = NULL;
			r = rule_section_begin(ld, section + 7, why);
			if (r < 0)
				return r;
		}
		return rule_key(ld, name, value, why);
	}
	for (size_t i = 0; i < FM_ELEMENTSOF(keys); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(keys[i].name, name) == 0)
			return set_key(&keys[i], ld->c, value, why);
	}
	snprintf(why, FM_INI_WHY_BYTES, "%s",
	    section_known ? "unknown key" : "unknown section for key");
	return -EINVAL;
}

int
fm_agent_config_load(fm_agent_config *c, const char *path, char *err)
{
	struct load ld = { .c = c, .first_rule = c->n_rules };

	return fm_ini_parse_file(path, on_key, &ld, err);
}

/* The [actions] keys and the rules, each as fm_act_rule_check(). */
static int
actions_check(const fm_agent_config *c, char *err)
{
	char why[FM_INI_WHY_BYTES];

	if (c->n_rules > FM_ACT_RULES_MAX) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "more than %d [action NAME] sections", FM_ACT_RULES_MAX);
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
