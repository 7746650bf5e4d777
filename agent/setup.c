/*
 * What each room gets from agent.conf: the daemon's translations of
 * fm_agent_config into the rooms' own configurations (the rooms know
 * nothing of agent.conf).
 */
#include <stdio.h>
#include <string.h>

#include "agent/agent.h"
#include "crypto/crypto.h"

void
fm_agent_config_learner(const fm_agent_config *c, fm_model_learner_config *ret)
{
	uint64_t per_s = 1000;

	*ret = (fm_model_learner_config) {
		.interval_ms = c->interval_ms,
		.train_rows = (uint32_t)((uint64_t)c->learn_train_seconds *
		    per_s / c->interval_ms),
		.min_rows = (uint32_t)((uint64_t)c->learn_min_train_seconds *
		    per_s / c->interval_ms),
		.retrain_seconds = c->learn_retrain_seconds,
		.alarm_samples = c->learn_alarm_samples,
		.onset_factor = c->learn_onset_factor,
		.clear_samples = c->learn_clear_samples,
		.horizon_minutes = c->learn_horizon_minutes,
		.accept_seconds = c->learn_accept_seconds,
		.mature_seconds = c->learn_mature_seconds,
		.threshold_risk = c->learn_threshold_risk,
		.failure_min_events = c->learn_failure_min_events,
		.fs_full_fraction = (float)c->labels_fs_full_percent / 100.0f,
		.seed = 1,
	};
	snprintf(ret->state_dir, sizeof(ret->state_dir), "%s", c->state_dir);
}

void
fm_agent_config_federation(
    const fm_agent_config *c, fm_model_federation_config *ret)
{
	*ret = (fm_model_federation_config) {
		.timeout_ms = c->fed_timeout_ms,
		.retry_min_ms = c->fed_retry_min_ms,
		.retry_max_ms = c->fed_retry_max_ms,
		.max_message_bytes = c->fed_max_message_bytes,
		.skew_seconds = c->fed_skew_seconds,
	};
	snprintf(ret->url, sizeof(ret->url), "%s", c->fed_aggregator);
	/* the config check has parsed the key already */
	if (c->fed_aggregator_key[0])
		(void)!fm_crypto_key_parse(
		    c->fed_aggregator_key, ret->aggregator_key);
	if (c->fed_key_file[0])
		snprintf(ret->key_file, sizeof(ret->key_file), "%s",
		    c->fed_key_file);
	else if (snprintf(ret->key_file, sizeof(ret->key_file), "%s/agent.key",
	             c->state_dir) >= (int)sizeof(ret->key_file))
		ret->key_file[0] =
		    '\0'; /* fm_model_federation_new() refuses it */
	snprintf(ret->state_dir, sizeof(ret->state_dir), "%s", c->state_dir);
}

bool
fm_agent_config_may_restart(const fm_agent_config *c, const char *unit)
{
	for (uint32_t i = 0; i < c->n_rules && i < FM_ACT_RULES_MAX; i++)
		if (c->rules[i].kind == FM_ACT_KIND_RESTART &&
		    strcmp(c->rules[i].unit, unit) == 0)
			return true;
	return false;
}
