/* aggregator.conf: every key declared once (common/conf.h), and the
 * checks between keys. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aggregator/aggregator-int.h"
#include "fm-config.h"

_Static_assert(sizeof(FM_STATEDIR "-aggregator") <= FM_AGG_PATH_BYTES &&
        sizeof(FM_SYSCONFDIR "/authorized_agents") <= FM_AGG_PATH_BYTES,
    "default paths too long");

const char *
fm_agg_rule_name(uint32_t rule)
{
	const fmi_agg_rule *r = fmi_agg_rule_get(rule);

	return r ? r->name : "unknown";
}

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

static int
check_metrics_listen(const char *s, char *why)
{
	(void)why;
	return metrics_listen_is_valid(s) ? 0 : -EINVAL;
}

/* listen: splits value on blanks into c->listen. All or nothing. */
static int
parse_urls(const fm_conf_key *k, const char *value, void *base, char *why)
{
	char urls[FM_AGG_LISTEN_MAX][FM_NET_URL_BYTES] = { { 0 } };
	fm_agg_config *c = base;
	uint32_t n = 0;
	const char *p = value;

	(void)k;
	(void)why;
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
	/* whole rows, zeroed past each URL and past the last: the same
	 * value is the same bytes */
	memcpy(c->listen, urls, sizeof(urls));
	c->n_listen = n;
	return 0;
}

static int
format_urls(const fm_conf_key *k, const void *base, char *buf, size_t size)
{
	const fm_agg_config *c = base;
	size_t used = 0;

	(void)k;
	buf[0] = '\0';
	for (uint32_t i = 0; i < c->n_listen && i < FM_AGG_LISTEN_MAX; i++) {
		int n = snprintf(buf + used, size - used, "%s%s", i ? " " : "",
		    c->listen[i]);

		if (n < 0 || (size_t)n >= size - used)
			return -ENOBUFS;
		used += (size_t)n;
	}
	return 0;
}

static int
parse_rule(const fm_conf_key *k, const char *value, void *base, char *why)
{
	const fmi_agg_rule *rule = fmi_agg_rule_find(value);

	(void)k;
	(void)why;
	if (!rule)
		return -EINVAL;
	((fm_agg_config *)base)->rule = rule->id;
	return 0;
}

static int
format_rule(const fm_conf_key *k, const void *base, char *buf, size_t size)
{
	const fmi_agg_rule *rule =
	    fmi_agg_rule_get(((const fm_agg_config *)base)->rule);
	int n;

	(void)k;
	if (!rule)
		return -EINVAL;
	n = snprintf(buf, size, "%s", rule->name);
	return n >= 0 && (size_t)n < size ? 0 : -ENOBUFS;
}

static const fm_conf_name norm_action_names[] = {
	{ "clip", FM_AGG_NORM_CLIP },
	{ "refuse", FM_AGG_NORM_REFUSE },
	{ NULL, 0 },
};

#define CFG(f)                                                                 \
	.offset = offsetof(fm_agg_config, f),                                  \
	.size = sizeof(((fm_agg_config *)0)->f)
#define UINT(lo, hi)  .type = FM_CONF_UINT, .range.u = { lo, hi }
#define FLOAT(lo, hi) .type = FM_CONF_FLOAT, .range.f = { lo, hi }

/* Every key of aggregator.conf, once: configs/aggregator.conf documents
 * them. SIGHUP re-reads only the authorized-agents file: no key is
 * FM_CONF_RELOAD. */
static const fm_conf_key keys[] = {
	{ "aggregator", "key_file", .type = FM_CONF_PATH, CFG(key_file),
	    .def = FM_SYSCONFDIR "/aggregator.key",
	    .description = "the aggregator's secret key" },
	{ "aggregator", "authorized_agents", .type = FM_CONF_PATH,
	    CFG(authorized_agents), .def = FM_SYSCONFDIR "/authorized_agents",
	    .description = "the enrolled agents' public keys" },
	{ "aggregator", "state_dir", .type = FM_CONF_PATH, CFG(state_dir),
	    .def = FM_STATEDIR "-aggregator",
	    .description = "where the global model and replay marks are "
	                   "kept" },
	{ "aggregator", "listen", .type = FM_CONF_CUSTOM, CFG(listen),
	    .parse = parse_urls, .format = format_urls,
	    .expect = "1 to 8 tcp/ipc/inproc URLs", .def = "tcp://0.0.0.0:7300",
	    .description = "where the agents' requests are taken" },
	{ "aggregator", "log_level", .type = FM_CONF_LOG_LEVEL,
	    .range.i = { LOG_ERR, LOG_DEBUG }, CFG(log_level), .def = "info",
	    .description = "most verbose priority logged" },
	{ "aggregator", "max_message_bytes",
	    UINT(4096, FM_PROTO_ENVELOPE_MAX_BYTES), CFG(max_message_bytes),
	    .def = "8388608",
	    .description = "the largest request taken, bytes" },
	{ "aggregator", "metrics_listen", .type = FM_CONF_STRING,
	    CFG(metrics_listen), .check = check_metrics_listen,
	    .expect = "ADDRESS:PORT ([ADDRESS]:PORT for IPv6) or empty",
	    .def = FM_AGG_METRICS_DEFAULT_LISTEN,
	    .description = "where /metrics is served; empty: off" },
	{ "aggregator", "skew_ms", UINT(1000, 86400000), CFG(skew_ms),
	    .def = "300000",
	    .description = "clock difference tolerated either way, "
	                   "milliseconds" },
	{ "round", "quorum", UINT(0, FM_CRYPTO_KEYRING_MAX_KEYS), CFG(quorum),
	    .def = "0",
	    .description = "updates that close a round early; 0: every "
	                   "enrolled agent" },
	{ "round", "min_updates", UINT(1, FM_CRYPTO_KEYRING_MAX_KEYS),
	    CFG(min_updates), .def = "1",
	    .description = "fewer at the deadline abandon the round" },
	{ "round", "deadline_ms", UINT(100, 86400000), CFG(deadline_ms),
	    .def = "300000",
	    .description = "how long a round collects, at most, "
	                   "milliseconds" },
	{ "round", "interval_ms", UINT(0, 86400000), CFG(interval_ms),
	    .def = "60000",
	    .description = "pause after publishing, milliseconds" },
	{ "round", "max_rounds", UINT(0, 1000000000000000), CFG(max_rounds),
	    .def = "0",
	    .description = "published rounds, then stop; 0: no limit" },
	{ "round", "poll_ms", UINT(FM_AGG_POLL_MIN_MS, 3600000), CFG(poll_ms),
	    .def = "30000",
	    .description = "an idle agent's next HELLO, at most, "
	                   "milliseconds" },
	{ "round", "collect_poll_ms", UINT(FM_AGG_POLL_MIN_MS, 3600000),
	    CFG(collect_poll_ms), .def = "5000",
	    .description = "the same while a round collects, milliseconds" },
	{ "round", "layout_id", UINT(0, UINT32_MAX), CFG(layout_id), .def = "0",
	    .description = "the model layout pinned; 0: the first "
	                   "update's" },
	{ "train", "prox_mu", FLOAT(0, 1000), CFG(prox_mu), .def = "0",
	    .description = "FedProx mu sent to the agents; 0: plain local "
	                   "training" },
	{ "train", "local_steps", UINT(0, 1000000), CFG(local_steps),
	    .def = "0",
	    .description = "local training steps; 0: the agent's default" },
	{ "aggregate", "rule", .type = FM_CONF_CUSTOM, CFG(rule),
	    .parse = parse_rule, .format = format_rule,
	    .expect = "fedavg or fedadam", .def = "fedavg",
	    .description = "how the updates are merged" },
	{ "aggregate", "server_lr", FLOAT(0, 100), CFG(server_lr), .def = "0",
	    .description = "server learning rate; 0: the rule's default" },
	{ "aggregate", "adam_beta1", FLOAT(0, 1), CFG(adam_beta1),
	    .flags = FM_CONF_MAX_OPEN, .def = "0.9",
	    .description = "FedAdam's first-moment decay" },
	{ "aggregate", "adam_beta2", FLOAT(0, 1), CFG(adam_beta2),
	    .flags = FM_CONF_MAX_OPEN, .def = "0.99",
	    .description = "FedAdam's second-moment decay" },
	{ "aggregate", "adam_tau", FLOAT(1e-9, 1), CFG(adam_tau),
	    .def = "0.001", .description = "FedAdam's adaptivity" },
	{ "aggregate", "clip_norm", FLOAT(0, 1e9), CFG(clip_norm), .def = "100",
	    .description = "L2 bound on an update's delta; 0: none" },
	{ "aggregate", "norm_action", .type = FM_CONF_ENUM,
	    .names = norm_action_names, CFG(norm_action), .def = "clip",
	    .description = "what a delta over clip_norm gets" },
	{ "aggregate", "max_samples_weight", UINT(1, 1000000000000000),
	    CFG(max_samples_weight), .def = "86400",
	    .description = "an update's weight, at most, samples" },
};

static const fm_conf_section sections[] = {
	{ .name = "aggregator" },
	{ .name = "round" },
	{ .name = "train" },
	{ .name = "aggregate" },
};

const fm_conf_schema fm_agg_config_schema = {
	.conf_size = sizeof(fm_agg_config),
	.sections = sections,
	.n_sections = FM_ELEMENTSOF(sections),
	.keys = keys,
	.n_keys = FM_ELEMENTSOF(keys),
};

void
fm_agg_config_init(fm_agg_config *c)
{
	fm_conf_defaults(&fm_agg_config_schema, c);
}

int
fm_agg_config_load(fm_agg_config *c, const char *path, char *err)
{
	return fm_conf_load(&fm_agg_config_schema, c, path, err);
}

int
fm_agg_config_dump(const fm_agg_config *c, FILE *f, char *err)
{
	return fm_conf_dump(&fm_agg_config_schema, c, f, err);
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
