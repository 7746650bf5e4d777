/*
 * agent/act internals: the kinds of action and what they share. Each kind
 * is one file (kind-log.c, kind-hook.c, kind-restart.c) exporting one ops
 * table; kinds.c lists them in one array, indexed by fm_act_kind, with
 * each kind's name and the [action NAME] keys it takes; rules.c runs them
 * on its worker thread. Dry runs never reach a kind's run: the engine logs
 * the kind's describe() instead. Included only by agent/act/ and its
 * tests; no other folder includes it.
 */
#ifndef FM_AGENT_ACT_INT_H
#define FM_AGENT_ACT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/act/act.h"
#include "agent/spawn/spawn.h"

#define FMI_ACT_DESCRIPTION_BYTES 512

/* What one run of a rule knows. */
typedef struct fmi_act_ctx {
	const fm_act_rule *rule;
	const fm_act_input *in; /* the sample that fired it */
	float value;            /* the score or the probability */
	const char *systemctl;  /* the systemctl binary */
	int stop_fd;            /* readable when the agent stops */
} fmi_act_ctx;

/* How a run ended. */
typedef struct fmi_act_outcome {
	fm_act_result result;
	int code;             /* see fm_act_result */
	uint32_t duration_ms; /* 0 for runs that start nothing */
	bool stopped;         /* killed because the agent stops (TIMEOUT) */
} fmi_act_outcome;

typedef struct fmi_act_ops {
	fm_act_kind kind;
	/* Checks the kind's own keys of r (the common ones are checked by
	 * fm_act_rule_check()). Returns 0 or -EINVAL with
	 * why[FM_INI_WHY_BYTES] naming the key. */
	int (*check)(const fm_act_rule *r, char *why);
	/* What a run would do, for the dry-run log line, into
	 * buf[FMI_ACT_DESCRIPTION_BYTES] (truncated). */
	void (*describe)(const fmi_act_ctx *ctx, char *buf);
	/* Runs it once (on the actions' worker thread). */
	void (*run)(const fmi_act_ctx *ctx, fmi_act_outcome *ret);
	/* A run that succeeds is itself one journal line: the engine adds
	 * no "done" line after it (one line per event). */
	bool run_is_log_line;
} fmi_act_ops;

extern const fmi_act_ops fmi_act_kind_log;
extern const fmi_act_ops fmi_act_kind_hook;
extern const fmi_act_ops fmi_act_kind_restart;

/* One row of the kinds (kinds.c). */
typedef struct fmi_act_kind {
	const char *name; /* the value of key 'kind' */
	const fmi_act_ops *ops;
	const char *const *keys; /* the keys it takes beyond the common ones
	                          * (fmi_act_common_keys), NULL-terminated */
} fmi_act_kind;

/* The kinds, indexed by fm_act_kind; row 0 is empty. */
extern const fmi_act_kind fmi_act_kinds[FM_ACT_KIND_COUNT];

/* The [action NAME] keys every kind takes, NULL-terminated. */
extern const char *const fmi_act_common_keys[];

/* The PATH actions run with. */
#define FMI_ACT_PATH                                                           \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Runs argv with envp as fm_spawn_run() does, within the rule's
 * timeout_ms, and turns how it ended into an action outcome (a stop counts
 * as a timeout). */
void fmi_act_spawn(const fmi_act_ctx *ctx, char *const argv[],
    char *const envp[], fmi_act_outcome *ret);

/* The rule's condition as FEDMON_WHEN says it: "anomaly" or
 * "failure:SOURCE", into buf[size]. */
void fmi_act_when_format(const fm_act_rule *r, char *buf, size_t size);

/* Writes "name=contribution,..." of in's top features, most first, into
 * buf[size] (truncated at a whole entry). */
void fmi_act_top_format(const fm_act_input *in, char *buf, size_t size);

#endif
