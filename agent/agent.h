/*
 * agent: fedmon-agent, the daemon, over its rooms, each a library with one
 * public header: agent/collect (the feature vector of each tick),
 * agent/spawn (running programs), agent/model (the minute ring, labels,
 * learner, federation), agent/act (rules and the kinds of action) and
 * agent/status (live counters, health, the control socket, /metrics).
 * This header holds what is the daemon's own: the configuration
 * (agent.conf, config.c), what each room gets from it (setup.c) and the
 * sampling loop (loop.c); main.c wires the rooms together. It includes
 * the rooms' headers, so the daemon and its tests include this one.
 */
#ifndef FM_AGENT_H
#define FM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/act/act.h"
#include "agent/collect/collect.h"
#include "agent/model/model.h"
#include "agent/spawn/spawn.h"
#include "agent/status/status.h"
#include "common/common.h"

/* ---- configuration (agent.conf) -------------------------------------- */

typedef struct fm_agent_config {
	/* [agent] */
	uint32_t interval_ms; /* sampling period */
	char state_dir[FM_AGENT_PATH_BYTES];
	char runtime_dir[FM_AGENT_PATH_BYTES];
	int log_level; /* LOG_ERR … LOG_DEBUG */
	/* [collect] */
	char procfs[FM_AGENT_PATH_BYTES];
	bool fs_network;
	uint32_t fs_refresh_ms;
	uint32_t fs_stale_ms;
	uint32_t slow_every;              /* slow sources every N samples */
	/* [history] */
	uint32_t history_raw_seconds; /* deprecated, ignored; 0 = not set */
	uint32_t history_minutes;     /* per-minute aggregates kept, at
	                               * least fm_model_learner_minutes() */
	/* [labels] (see fm_model_labels_config) */
	uint32_t labels_fs_full_percent;                 /* 0 = off */
	uint32_t labels_fs_full_hysteresis_percent;      /* percentage points */
	char labels_health_command[FM_AGENT_PATH_BYTES]; /* "" = off */
	uint32_t labels_health_interval_ms;
	uint32_t labels_health_timeout_ms;
	/* [learn] (see fm_model_learner_config) */
	bool learn_enabled;
	uint32_t learn_train_seconds;      /* samples kept to train on */
	uint32_t learn_min_train_seconds;  /* before the first training */
	uint32_t learn_retrain_seconds;    /* between trainings */
	uint32_t learn_alarm_samples;      /* above the threshold to raise */
	uint32_t learn_onset_factor;       /* onset path factor; 0 = off */
	uint32_t learn_clear_samples;      /* below it to clear */
	uint32_t learn_horizon_minutes;    /* failure prediction horizon */
	uint32_t learn_accept_seconds;     /* a lasting alarm becomes normal */
	uint32_t learn_mature_seconds;     /* a young model's caution ends */
	double learn_threshold_risk;       /* the alarm threshold's tail */
	uint32_t learn_failure_min_events; /* onsets before a probability
	                                    * may drive an action */
	/* [federation] (see fm_model_federation_config) */
	char fed_aggregator[FM_AGENT_PATH_BYTES]; /* "" = standalone */
	char fed_aggregator_key[64];              /* base64 */
	char fed_key_file[FM_AGENT_PATH_BYTES];   /* "" = state_dir/agent.key */
	uint32_t fed_timeout_ms;
	uint32_t fed_retry_min_ms;
	uint32_t fed_retry_max_ms;
	uint32_t fed_max_message_bytes;
	uint32_t fed_skew_seconds;
	/* [agent], continued */
	char control_group[64]; /* group of the control socket; "" = own */
	char metrics_listen[FM_AGENT_PATH_BYTES]; /* "ADDR:PORT"; "" = off */
	/* [actions] and the [action NAME] sections */
	bool actions_dry_run;                      /* every rule dry-run */
	char actions_systemctl[FM_AGENT_PATH_BYTES]; /* the systemctl binary */
	uint32_t n_rules;
	fm_act_rule rules[FM_ACT_RULES_MAX];
} fm_agent_config;

/* Fills *c with the built-in defaults (those documented in
 * configs/agent.conf). */
void fm_agent_config_init(fm_agent_config *c);

/* Every key of agent.conf: section, type, bounds, default, whether a
 * reload applies it, description (agent/config.c; common/conf.h). */
extern const fm_conf_schema fm_agent_config_schema;

/*
 * Reads the INI file at path over *c, then its drop-ins (the *.conf files
 * in path.d/, in lexical order): keys present override, keys absent keep
 * their current value. Unknown sections and keys, a key given twice in
 * one section of one file and a malformed section header are errors (a
 * typo must not be silently ignored). On failure *c may be partly updated
 * and err[FM_INI_ERROR_BYTES] names the file, line and key. Returns 0,
 * -EINVAL (bad content) or the errno of opening a file (fm_conf_load()).
 */
int fm_agent_config_load(
    fm_agent_config *c, const char *path, char *err) FM_WUR;

/* Writes *c as an agent.conf that loads back to the same configuration
 * (--dump-config). Returns 0, or -EINVAL / -EIO with
 * err[FM_INI_ERROR_BYTES] saying why (fm_conf_dump()). */
int fm_agent_config_dump(const fm_agent_config *c, FILE *f, char *err) FM_WUR;

/*
 * SIGHUP: copies into *running what a reload applies (the keys the table
 * marks FM_CONF_RELOAD: [agent] log_level, [actions], every [action NAME]
 * rule) from *next, and lists in restart[size] the other keys whose value
 * differs ("[agent] interval_ms, [learn] alarm_samples"): those take
 * effect at the next restart. Returns how many differ.
 */
unsigned fm_agent_config_apply_reload(fm_agent_config *running,
    const fm_agent_config *next, char *restart, size_t size);

/* Checks the relations between keys (e.g. fs_stale_ms >= fs_refresh_ms).
 * Returns 0 or -EINVAL with err[FM_INI_ERROR_BYTES] naming the keys. */
int fm_agent_config_check(const fm_agent_config *c, char *err) FM_WUR;

/* ---- what each room gets from agent.conf (agent/setup.c) ----------- */

/* Fills *ret from the [labels] keys of c. ret->health_command points into
 * c, which must outlive *ret (fm_model_labels_new() copies it). */
void fm_agent_config_labels(
    const fm_agent_config *c, fm_model_labels_config *ret);

/* Fills *ret from the [agent] and [learn] keys of c. */
void fm_agent_config_learner(
    const fm_agent_config *c, fm_model_learner_config *ret);

/* Fills *ret from the [federation] keys of c (key_file defaults to
 * state_dir/agent.key). */
void fm_agent_config_federation(
    const fm_agent_config *c, fm_model_federation_config *ret);

/* Whether a rule of kind restart in c names unit (what the packaged
 * polkit rule asks, through `fedmon-agent --may-restart UNIT`). */
bool fm_agent_config_may_restart(const fm_agent_config *c, const char *unit);

/* ---- the sampling loop ---------------------------------------------- */

typedef struct fm_loop_hooks {
	/* Called with each sample. */
	void (*on_sample)(void *userdata, const fm_collect_sample *s);
	/* Called between ticks; returning false stops the loop. */
	bool (*keep_running)(void *userdata);
	void *userdata;
} fm_loop_hooks;

typedef struct fm_loop_stats {
	uint64_t ticks;          /* samples taken */
	uint64_t failed;         /* samples with no source readable */
	uint64_t missed;         /* deadlines skipped because a tick overran */
	int64_t max_lateness_ns; /* worst wake-up after its deadline */
} fm_loop_stats;

/*
 * Samples every period_ms on CLOCK_MONOTONIC absolute deadlines until
 * max_ticks samples were taken (0: no limit) or hooks->keep_running
 * returns false (checked after every tick and every interrupted sleep, so
 * a signal handler's flag stops it promptly). Each sample goes to
 * hooks->on_sample. Allocates nothing.
 * Returns 0, or -EINVAL for a zero period. *stats (may be NULL) is filled.
 */
int fm_loop_run(fm_collect_sampler *s, uint32_t period_ms, uint64_t max_ticks,
    const fm_loop_hooks *hooks, fm_loop_stats *stats) FM_WUR;

#endif
