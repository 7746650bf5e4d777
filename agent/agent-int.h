/*
 * agent internals: the action kinds. Included only
 * by agent/ and its tests; no other folder includes it.
 */
#ifndef FM_AGENT_INT_H
#define FM_AGENT_INT_H

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/spawn/spawn.h"

/* ---- action kinds (action-*.c) -------------------------------------------
 *
 * One kind of action per file, each exporting one ops table; actions.c
 * lists them in one array indexed by fm_action_kind and runs them on its
 * worker thread. Dry runs never reach a kind's run: the engine logs the
 * kind's describe() instead.
 */

#define FMI_ACTION_DESCRIPTION_BYTES 512

/* What one run of a rule knows. */
typedef struct fmi_action_ctx {
	const fm_action_rule *rule;
	const fm_actions_input *in; /* the sample that fired it */
	float value;                /* the score or the probability */
	const char *systemctl;      /* the systemctl binary */
	int stop_fd;                /* readable when the agent stops */
} fmi_action_ctx;

/* How a run ended. */
typedef struct fmi_action_outcome {
	fm_action_result result;
	int code;             /* see fm_action_result */
	uint32_t duration_ms; /* 0 for runs that start nothing */
	bool stopped;         /* killed because the agent stops (TIMEOUT) */
} fmi_action_outcome;

typedef struct fmi_action_ops {
	fm_action_kind kind;
	/* Checks the kind's own keys of r (the common ones are checked by
	 * fm_action_rule_check()). Returns 0 or -EINVAL with
	 * why[FM_INI_WHY_BYTES] naming the key. */
	int (*check)(const fm_action_rule *r, char *why);
	/* What a run would do, for the dry-run log line, into
	 * buf[FMI_ACTION_DESCRIPTION_BYTES] (truncated). */
	void (*describe)(const fmi_action_ctx *ctx, char *buf);
	/* Runs it once (on the actions' worker thread). */
	void (*run)(const fmi_action_ctx *ctx, fmi_action_outcome *ret);
} fmi_action_ops;

extern const fmi_action_ops fmi_action_log;
extern const fmi_action_ops fmi_action_hook;
extern const fmi_action_ops fmi_action_restart;

/* Whether unit is a systemd unit name the restart action takes:
 * [A-Za-z0-9:_.@-], not starting with '-' or '.', shorter than
 * FM_ACTIONS_UNIT_BYTES, ending in a unit type (".service", ".timer"...). */
bool fmi_action_unit_is_valid(const char *unit);

/* The PATH actions run with. */
#define FMI_ACTION_PATH                                                        \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Runs argv with envp as fm_spawn_run() does, within the rule's
 * timeout_ms, and turns how it ended into an action outcome (a stop counts
 * as a timeout). */
void fmi_action_spawn(const fmi_action_ctx *ctx, char *const argv[],
    char *const envp[], fmi_action_outcome *ret);

/* The rule's condition as FEDMON_WHEN says it: "anomaly" or
 * "failure:SOURCE", into buf[size]. */
void fmi_action_when_format(const fm_action_rule *r, char *buf, size_t size);

/* Writes "name=contribution,..." of in's top features, most first, into
 * buf[size] (truncated at a whole entry). */
void fmi_action_top_format(const fm_actions_input *in, char *buf, size_t size);

#endif
