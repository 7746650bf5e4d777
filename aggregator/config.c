/* aggregator.conf: defaults, the INI keys, and their validation. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aggregator/aggregator-int.h"
#include "fm-config.h"

_Static_assert(sizeof(FM_STATEDIR "-aggregator") <= FM_AGG_PATH_BYTES &&
        sizeof(FM_SYSCONFDIR "/authorized_agents") <= FM_AGG_PATH_BYTES,
    "default paths too long");

void
fm_agg_config_init(fm_agg_config *c)
{
	*c = (fm_agg_config) {
		.n_listen = 1,
		.log_level = LOG_INFO,
		.max_message_bytes = 8u << 20,
		.skew_ms = 300000,
		.quorum = 0,
		.min_updates = 1,
		.deadline_ms = 300000,
		.interval_ms = 60000,
		.max_rounds = 0,
		.poll_ms = 30000,
		.collect_poll_ms = 5000,
		.layout_id = 0,
		.prox_mu = 0.0f,
		.local_steps = 0,
		.rule = FM_AGG_RULE_FEDAVG,
		.server_lr = 0,
		.adam_beta1 = 0.9,
		.adam_beta2 = 0.99,
		.adam_tau = 1e-3,
		.clip_norm = 100,
		.norm_action = FM_AGG_NORM_CLIP,
		.max_samples_weight = 86400,
	};
	/* Build-time constants, checked to fit above. */
	snprintf(c->key_file, sizeof(c->key_file), "%s",
	    FM_SYSCONFDIR "/aggregator.key");
	snprintf(c->authorized_agents, sizeof(c->authorized_agents), "%s",
	    FM_SYSCONFDIR "/authorized_agents");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s",
	    FM_STATEDIR "-aggregator");
	snprintf(
	    c->listen[0], sizeof(c->listen[0]), "%s", "tcp://0.0.0.0:7300");
	snprintf(c->metrics_listen, sizeof(c->metrics_listen), "%s",
	    FM_AGG_METRICS_DEFAULT_LISTEN);
}

const char *
fm_agg_rule_name(uint32_t rule)
{
	const fmi_agg_rule *r = fmi_agg_rule_get(rule);

	return r ? r->name : "unknown";
}

enum key_kind {
	KEY_U32,
	KEY_U64,
	KEY_DOUBLE,
	KEY_FLOAT,
	KEY_PATH,
	KEY_URLS,
	KEY_LOGLEVEL,
	KEY_RULE,
	KEY_NORM_ACTION,
	KEY_LISTEN, /* ADDRESS:PORT, or empty */
};

struct key {
	const char *section;
	const char *name;
	enum key_kind kind;
	size_t offset;
	double min, max;    /* numbers: inclusive bounds */
	bool open_max;      /* KEY_DOUBLE: max itself excluded */
	const char *expect; /* what a valid value looks like */
};

#define OFF(field) offsetof(fm_agg_config, field)

static const struct key keys[] = {
	{ "aggregator", "key_file", KEY_PATH, OFF(key_file), 0, 0, false,
	    "an absolute path" },
	{ "aggregator", "authorized_agents", KEY_PATH, OFF(authorized_agents),
	    0, 0, false, "an absolute path" },
	{ "aggregator", "state_dir", KEY_PATH, OFF(state_dir), 0, 0, false,
	    "an absolute path" },
	{ "aggregator", "listen", KEY_URLS, OFF(listen), 0, 0, false,
	    "1 to 8 tcp/ipc/inproc URLs" },
	{ "aggregator", "log_level", KEY_LOGLEVEL, OFF(log_level), 0, 0, false,
	    "err, warning, notice, info or debug" },
	{ "aggregator", "max_message_bytes", KEY_U32, OFF(max_message_bytes),
	    4096, (double)FM_PROTO_ENVELOPE_MAX_BYTES, false,
	    "bytes, 4096 to 16782336" },
	{ "aggregator", "metrics_listen", KEY_LISTEN, OFF(metrics_listen), 0, 0,
	    false, "ADDRESS:PORT ([ADDRESS]:PORT for IPv6) or empty" },
	{ "aggregator", "skew_ms", KEY_U32, OFF(skew_ms), 1000, 86400000, false,
	    "milliseconds, 1000 to 86400000" },
	{ "round", "quorum", KEY_U32, OFF(quorum), 0,
	    FM_CRYPTO_KEYRING_MAX_KEYS, false,
	    "a number of updates, 0 (every enrolled agent) to 100000" },
	{ "round", "min_updates", KEY_U32, OFF(min_updates), 1,
	    FM_CRYPTO_KEYRING_MAX_KEYS, false,
	    "a number of updates, 1 to 100000" },
	{ "round", "deadline_ms", KEY_U32, OFF(deadline_ms), 100, 86400000,
	    false, "milliseconds, 100 to 86400000" },
	{ "round", "interval_ms", KEY_U32, OFF(interval_ms), 0, 86400000, false,
	    "milliseconds, 0 to 86400000" },
	{ "round", "max_rounds", KEY_U64, OFF(max_rounds), 0, 1e15, false,
	    "a number of rounds, 0 (no limit) to 10^15" },
	{ "round", "poll_ms", KEY_U32, OFF(poll_ms), FM_AGG_POLL_MIN_MS,
	    3600000, false, "milliseconds, 50 to 3600000" },
	{ "round", "collect_poll_ms", KEY_U32, OFF(collect_poll_ms),
	    FM_AGG_POLL_MIN_MS, 3600000, false, "milliseconds, 50 to 3600000" },
	{ "round", "layout_id", KEY_U32, OFF(layout_id), 0, UINT32_MAX, false,
	    "a layout id, 0 (the first update's) to 4294967295" },
	{ "train", "prox_mu", KEY_FLOAT, OFF(prox_mu), 0, 1000, false,
	    "a number, 0 to 1000" },
	{ "train", "local_steps", KEY_U32, OFF(local_steps), 0, 1000000, false,
	    "a number of steps, 0 (the agent's default) to 1000000" },
	{ "aggregate", "rule", KEY_RULE, OFF(rule), 0, 0, false,
	    "fedavg or fedadam" },
	{ "aggregate", "server_lr", KEY_DOUBLE, OFF(server_lr), 0, 100, false,
	    "a number, 0 (the rule's default) to 100" },
	{ "aggregate", "adam_beta1", KEY_DOUBLE, OFF(adam_beta1), 0, 1, true,
	    "a number, 0 to below 1" },
	{ "aggregate", "adam_beta2", KEY_DOUBLE, OFF(adam_beta2), 0, 1, true,
	    "a number, 0 to below 1" },
	{ "aggregate", "adam_tau", KEY_DOUBLE, OFF(adam_tau), 1e-9, 1, false,
	    "a number, 1e-9 to 1" },
	{ "aggregate", "clip_norm", KEY_DOUBLE, OFF(clip_norm), 0, 1e9, false,
	    "a number, 0 (no bound) to 1e9" },
	{ "aggregate", "norm_action", KEY_NORM_ACTION, OFF(norm_action), 0, 0,
	    false, "clip or refuse" },
	{ "aggregate", "max_samples_weight", KEY_U64, OFF(max_samples_weight),
	    1, 1e15, false, "a number of samples, 1 to 10^15" },
};

static bool
url_is_valid(const char *u)
{
	return strncmp(u, "tcp://", 6) == 0 || strncmp(u, "ipc://", 6) == 0 ||
	    strncmp(u, "inproc://", 9) == 0;
}

/* "" (off), or an address fm_net_http_serve() takes; the address itself
 * is checked when it is bound. */
static bool
metrics_listen_is_valid(const char *s)
{
	return !s[0] || fm_net_http_listen_is_valid(s);
}

/* Splits value on blanks into c->listen. All or nothing. */
static int
set_urls(fm_agg_config *c, const char *value)
{
	char urls[FM_AGG_LISTEN_MAX][FM_NET_URL_BYTES];
	uint32_t n = 0;
	const char *p = value;

	while (*p) {
		size_t len;

		p += strspn(p, " \t");
		if (!*p)
			break;
		len = strcspn(p, " \t");
		if (n == FM_AGG_LISTEN_MAX || len >= FM_NET_URL_BYTES)
			return -EINVAL;
		memcpy(urls[n], p, len);
		urls[n][len] = '\0';
		if (!url_is_valid(urls[n]))
			return -EINVAL;
		n++;
		p += len;
	}
	if (n == 0)
		return -EINVAL;
	memcpy(c->listen, urls, sizeof(urls[0]) * n);
	c->n_listen = n;
	return 0;
}

static int
set_key(const struct key *k, fm_agg_config *c, const char *value, char *why)
{
	char *field = (char *)c + k->offset;
	const fmi_agg_rule *rule;
	uint64_t u;
	double d;
	int r = -EINVAL;

	switch (k->kind) {
	case KEY_U32:
	case KEY_U64:
		r = fm_parse_u64_range(
		    value, (uint64_t)k->min, (uint64_t)k->max, &u);
		if (r < 0)
			break;
		if (k->kind == KEY_U32)
			*(uint32_t *)(void *)field = (uint32_t)u;
		else
			*(uint64_t *)(void *)field = u;
		return 0;
	case KEY_DOUBLE:
	case KEY_FLOAT:
		r = fm_parse_double(value, &d);
		if (r < 0)
			break;
		if (d < k->min || d > k->max || (k->open_max && d >= k->max)) {
			r = -ERANGE;
			break;
		}
		if (k->kind == KEY_DOUBLE)
			*(double *)(void *)field = d;
		else
			*(float *)(void *)field = (float)d;
		return 0;
	case KEY_PATH:
		if (value[0] != '/')
			break;
		r = fm_strlcpy(field, value, FM_AGG_PATH_BYTES);
		if (r < 0)
			break;
		return 0;
	case KEY_URLS:
		r = set_urls(c, value);
		if (r < 0)
			break;
		return 0;
	case KEY_LOGLEVEL:
		r = fm_log_level_from_string(value);
		if (r < LOG_ERR) {
			r = -EINVAL;
			break;
		}
		c->log_level = r;
		return 0;
	case KEY_RULE:
		rule = fmi_agg_rule_find(value);
		if (!rule)
			break;
		c->rule = rule->id;
		return 0;
	case KEY_LISTEN:
		if (!metrics_listen_is_valid(value))
			break;
		r = fm_strlcpy(field, value, FM_AGG_PATH_BYTES);
		if (r < 0)
			break;
		return 0;
	case KEY_NORM_ACTION:
		if (strcmp(value, "clip") == 0)
			c->norm_action = FM_AGG_NORM_CLIP;
		else if (strcmp(value, "refuse") == 0)
			c->norm_action = FM_AGG_NORM_REFUSE;
		else
			break;
		return 0;
	}
	snprintf(why, FM_INI_WHY_BYTES,
	    "invalid value '%.64s' (expected %s) for key", value, k->expect);
	return r < 0 ? r : -EINVAL;
}

static int
on_key(void *userdata, const char *section, const char *name, const char *value,
    char *why)
{
	fm_agg_config *c = userdata;
	bool section_known = false;

	for (size_t i = 0; i < FM_ELEMENTSOF(keys); i++) {
		if (strcmp(keys[i].section, section) != 0)
			continue;
		section_known = true;
		if (strcmp(keys[i].name, name) == 0)
			return set_key(&keys[i], c, value, why);
	}
	snprintf(why, FM_INI_WHY_BYTES, "%s",
	    section_known ? "unknown key" : "unknown section for key");
	return -EINVAL;
}

int
fm_agg_config_load(fm_agg_config *c, const char *path, char *err)
{
	return fm_ini_parse_file(path, on_key, c, err);
}

int
fm_agg_config_check(const fm_agg_config *c, char *err)
{
	if (c->quorum > 0 && c->min_updates > c->quorum) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[round] min_updates (%u) must be at most quorum (%u)",
		    c->min_updates, c->quorum);
		return -EINVAL;
	}
	if (c->collect_poll_ms > c->poll_ms) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[round] collect_poll_ms (%u) must be at most poll_ms (%u)",
		    c->collect_poll_ms, c->poll_ms);
		return -EINVAL;
	}
	if (!fmi_agg_rule_get(c->rule) ||
	    (c->norm_action != FM_AGG_NORM_CLIP &&
	        c->norm_action != FM_AGG_NORM_REFUSE) ||
	    c->min_updates < 1 || c->deadline_ms < 1 || c->poll_ms < 1 ||
	    c->collect_poll_ms < 1 || c->max_samples_weight < 1 ||
	    c->skew_ms < 1 || c->max_message_bytes < 1 ||
	    c->max_message_bytes > FM_PROTO_ENVELOPE_MAX_BYTES ||
	    c->n_listen > FM_AGG_LISTEN_MAX || !(c->clip_norm >= 0) ||
	    !(c->server_lr >= 0) || !(c->adam_beta1 >= 0) ||
	    !(c->adam_beta1 < 1) || !(c->adam_beta2 >= 0) ||
	    !(c->adam_beta2 < 1) || !(c->adam_tau > 0) || !(c->prox_mu >= 0)) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "a value is out of its documented range");
		return -EINVAL;
	}
	if (!metrics_listen_is_valid(c->metrics_listen)) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[aggregator] metrics_listen '%.64s' is not ADDRESS:PORT",
		    c->metrics_listen);
		return -EINVAL;
	}
	if (c->state_dir[0] && c->state_dir[0] != '/') {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "[aggregator] state_dir '%s' is not an absolute path",
		    c->state_dir);
		return -EINVAL;
	}
	return 0;
}
