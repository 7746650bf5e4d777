/*
 * agent/act: the agent acting on its own predictions, its third room.
 *
 * A rule (fm_act_rule, one [action NAME] section of agent.conf) watches
 * one condition every sample and, once it has held long enough, runs an
 * action of one kind. The rules engine (rules.c) schedules the runs and
 * runs them on a worker thread; each kind is one sibling file (kind-log.c,
 * kind-hook.c, kind-restart.c) exporting one ops table, and kinds.c lists
 * them in one array with the [action NAME] keys each takes, which
 * fm_act_kind_takes_key() answers from. The kinds' ops and the helpers
 * they share are in act-int.h, for this folder and its tests only.
 */
#ifndef FM_AGENT_ACT_H
#define FM_AGENT_ACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect/collect.h"
#include "agent/model/model.h"
#include "common/common.h"
/* ---- rules (the [action NAME] sections of agent.conf) ------------------ */

#define FM_ACT_RULES_MAX  32  /* [action NAME] sections */
#define FM_ACT_NAME_BYTES 48  /* a rule's name, NUL included */
#define FM_ACT_UNIT_BYTES 128 /* a systemd unit name, NUL included */
#define FM_ACT_RECENT     32  /* action records kept for status */

/* What makes a rule fire. */
typedef enum fm_act_when {
	FM_ACT_WHEN_ANOMALY = 1, /* the anomaly detector's alarm is up */
	FM_ACT_WHEN_FAILURE,     /* a failure predictor's probability is
	                          * at or above the rule's probability */
} fm_act_when;

/* What a rule does. Each kind is one sibling file (kind-log.c,
 * kind-hook.c, kind-restart.c) exporting one ops table, listed in
 * kinds.c. */
typedef enum fm_act_kind {
	FM_ACT_KIND_LOG = 1, /* a log line at a journald priority */
	FM_ACT_KIND_HOOK,    /* runs a program (argv, no shell) */
	FM_ACT_KIND_RESTART, /* systemctl restart UNIT */
	FM_ACT_KIND_COUNT
} fm_act_kind;

/* One [action NAME] section. */
typedef struct fm_act_rule {
	char name[FM_ACT_NAME_BYTES]; /* [A-Za-z0-9_.-], unique */
	fm_act_when when;
	uint32_t failure_source; /* WHEN_FAILURE: enum fm_model_label_source */
	float probability;         /* WHEN_FAILURE: in (0, 1] */
	uint32_t hold_seconds;     /* the condition held this long first */
	uint32_t cooldown_seconds; /* between two runs of this rule */
	uint32_t max_per_hour;     /* runs in any 3600 s; >= 1 */
	fm_act_kind kind;
	int priority;                      /* LOG: LOG_EMERG..LOG_DEBUG */
	char command[FM_AGENT_PATH_BYTES]; /* HOOK: program and arguments */
	char unit[FM_ACT_UNIT_BYTES];      /* RESTART: the unit */
	uint32_t timeout_ms;               /* HOOK, RESTART: then killed */
	bool dry_run;                      /* log what would run, run none */
} fm_act_rule;

/* ---- the kinds and their keys (kinds.c) --------------------------------- */

/* The kind's stable lowercase name ("log", "hook", "restart", the value
 * of key 'kind'); NULL when out of range. */
const char *fm_act_kind_name(unsigned kind);

/*
 * Whether a rule of kind takes the [action NAME] key named key: the keys
 * every kind takes (when, probability, hold_seconds, cooldown_seconds,
 * max_per_hour, kind, dry_run) and the kind's own (log: priority; hook:
 * command, timeout_ms; restart: unit, timeout_ms), as kinds.c lists them.
 * False for a kind out of range and for a key no kind takes. Any thread.
 */
bool fm_act_kind_takes_key(unsigned kind, const char *key);

/* Whether some kind takes the [action NAME] key named key. Any thread. */
bool fm_act_key_is_known(const char *key);

/* Whether unit is a systemd unit name the restart action takes:
 * [A-Za-z0-9:_.@-], not starting with '-' or '.', shorter than
 * FM_ACT_UNIT_BYTES, ending in a unit type (".service", ".timer"...). */
bool fm_act_unit_is_valid(const char *unit);

/* ---- the rules engine (rules.c) ----------------------------------------- */

/*
 * The agent acts on its own predictions. Each rule (fm_act_rule, from
 * an [action NAME] section) watches one condition every sample: the
 * anomaly alarm, or one failure predictor's probability at or above the
 * rule's. A failure predictor's probability counts only once the
 * predictor is trusted (it has learned from [learn] failure_min_events
 * onsets: fm_model_learner_failure); below that the rule does not hold,
 * and says so in the journal once per rule until the predictor is
 * trusted. Once the condition has held for hold_seconds (0: at the first
 * sample that shows it) the rule runs, at most once per cooldown_seconds
 * and max_per_hour times in any hour; while the condition keeps holding,
 * it runs again after each cooldown (within the hourly cap). A run that
 * the cooldown or the cap prevents is counted as suppressed, not queued.
 *
 * Runs happen on a worker thread, so a slow hook never delays sampling;
 * a rule whose previous run has not finished is not run again (counted
 * as suppressed). Every run is recorded (time, rule, kind, result,
 * exit code, duration) and the last FM_ACT_RECENT records are kept
 * for status.
 *
 * Hooks run argv directly (no shell) with stdin, stdout and stderr on
 * /dev/null, in their own process group, killed (SIGTERM, then SIGKILL
 * after FM_SPAWN_KILL_GRACE_MS) past timeout_ms, with an environment of
 * PATH, FEDMON_RULE, FEDMON_WHEN ("anomaly" or "failure:SOURCE"),
 * FEDMON_SCORE, FEDMON_THRESHOLD, FEDMON_ALARM (0/1), FEDMON_PROBABILITY
 * (failure rules), FEDMON_TOP_FEATURES ("name=contribution,..." most
 * first) and FEDMON_TIME (Unix seconds of the sample). Restarts run
 * `SYSTEMCTL --no-ask-password restart UNIT` the same way. Dry-run rules
 * log, at LOG_NOTICE, the command they would run and record DRY_RUN.
 */
typedef struct fm_act fm_act;

/* How a recorded run ended. */
typedef enum fm_act_result {
	FM_ACT_RESULT_OK = 0,  /* logged, or exited 0 */
	FM_ACT_RESULT_FAILED,  /* exited nonzero (code) or killed by a
	                        * signal (code = -signal) */
	FM_ACT_RESULT_TIMEOUT, /* ran past timeout_ms, killed */
	FM_ACT_RESULT_ERROR,   /* could not be started (code: -errno) */
	FM_ACT_RESULT_DRY_RUN, /* would have run */
	FM_ACT_RESULT_COUNT
} fm_act_result;

/* Stable lowercase names: "ok", "failed", "timeout", "error", "dry_run";
 * NULL when out of range. */
const char *fm_act_result_name(unsigned result);

/* What the rules look at, one sample's worth. */
typedef struct fm_act_input {
	int64_t mono_ns; /* of the sample */
	int64_t real_ns;
	bool ready; /* the detector is trained */
	bool alarm;
	float score;
	float threshold;
	uint32_t n_top;
	uint32_t top[FM_MODEL_LEARNER_TOP]; /* feature indices, most first */
	float top_contrib[FM_MODEL_LEARNER_TOP];
	bool failure_trained[FM_LABEL_COUNT];
	float failure_probability[FM_LABEL_COUNT];
	bool failure_trusted[FM_LABEL_COUNT];    /* may drive an action */
	uint64_t failure_events[FM_LABEL_COUNT]; /* onsets it rests on */
	uint32_t failure_min_events;             /* the config's */
} fm_act_input;

/* Fills *ret from a learner snapshot and the sample's times. */
void fm_act_input_from_learner(const fm_model_learner_status *st,
    int64_t mono_ns, int64_t real_ns, fm_act_input *ret);

typedef struct fm_act_record {
	int64_t real_ns; /* when the run started */
	char rule[FM_ACT_NAME_BYTES];
	fm_act_kind kind;
	fm_act_result result;
	int code;             /* see fm_act_result */
	uint32_t duration_ms; /* start to end (0 for log and dry-run) */
	float score;          /* the value that fired it: score or
	                       * probability */
} fm_act_record;

typedef struct fm_act_rule_status {
	char name[FM_ACT_NAME_BYTES];
	fm_act_kind kind;
	bool dry_run;
	bool holding;                       /* the condition holds now */
	bool running;                       /* a run is in progress */
	uint64_t runs[FM_ACT_RESULT_COUNT]; /* finished runs by result */
	uint64_t suppressed;      /* prevented by cooldown, cap or a run in
	                           * progress */
	int64_t last_run_real_ns; /* 0 = never */
} fm_act_rule_status;

typedef struct fm_act_status {
	uint32_t n_rules;
	fm_act_rule_status rules[FM_ACT_RULES_MAX];
	uint32_t n_recent;                   /* records in recent[] */
	fm_act_record recent[FM_ACT_RECENT]; /* newest first */
} fm_act_status;

/* Checks one rule on its own (what the config parser and
 * fm_act_new() call). Returns 0, or -EINVAL with why[FM_INI_WHY_BYTES]
 * naming the key. */
int fm_act_rule_check(const fm_act_rule *r, char *why) FM_WUR;

/*
 * Validates the rules (names unique; each as fm_act_rule_check()) and
 * starts the worker thread. rules[n] is copied. systemctl is the absolute
 * path of the systemctl binary (copied); dry_run makes every rule a
 * dry run. On success *ret owns a new fm_act; on failure *ret is
 * untouched. Errors: -EINVAL, -ENOMEM, or the errno of creating the
 * thread. n may be 0 (nothing to do, status still works).
 */
int fm_act_new(const fm_act_rule *rules, uint32_t n, const char *systemctl,
    bool dry_run, fm_act **ret) FM_WUR;

/* Stops the worker, killing a running hook as on a timeout, and frees a.
 * NULL-safe; returns NULL. */
fm_act *fm_act_free(fm_act *a);

/* Evaluates every rule against one sample and queues the runs due.
 * Never blocks on a run and never allocates. The sampling thread only. */
void fm_act_on_sample(fm_act *a, const fm_act_input *in);

/*
 * Replaces the rules (SIGHUP): validated as by fm_act_new(); a rule
 * keeping its name keeps its counters, cooldown and hourly history; the
 * recent records are kept. On error the running rules stay. The sampling
 * thread only. Returns 0, -EINVAL, -ENOMEM.
 */
int fm_act_reload(fm_act *a, const fm_act_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run) FM_WUR;

/* Fills *ret with a snapshot; any thread. */
void fm_act_status_get(fm_act *a, fm_act_status *ret);

#endif
