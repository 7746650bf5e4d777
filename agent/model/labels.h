/*
 * agent/model: the host's failure labels (labels.c). Include
 * agent/model/model.h.
 */
#ifndef FM_AGENT_MODEL_LABELS_H
#define FM_AGENT_MODEL_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect/collect.h"
#include "agent/spawn/spawn.h"
#include "common/common.h"

/*
 * The host labels its own failures, for the failure predictor to learn
 * from. Each source watches one kind of failure and reports its onsets: a
 * sample's label mask has FM_LABEL_BIT(source) set when that source's
 * failure began at that sample, and clear while it goes on or after it
 * ended. Every source starts presumed healthy, so a failure already under
 * way when the agent starts is an onset at the first sample that shows it.
 */
enum fm_model_label_source {
	FM_LABEL_OOM,     /* "oom": the kernel OOM-killed processes */
	FM_LABEL_FS_FULL, /* "fs_full": the fullest filesystem filled up */
	FM_LABEL_HEALTH,  /* "health": the health command began failing */
	FM_LABEL_MANUAL,  /* "manual": the operator reported a failure */
	FM_LABEL_COUNT
};

#define FM_LABEL_BIT(source) (1u << (source))

/* The stable name of label source s ("oom", "fs_full", "health",
 * "manual"), or NULL when s >= FM_LABEL_COUNT. */
const char *fm_model_label_source_name(unsigned s);

/* The label source named name, or -ENOENT. */
int fm_model_label_source_lookup(const char *name) FM_WUR;

typedef struct fm_model_labels_config {
	/* fs_full: the used fraction of the fullest filesystem reaching
	 * fs_full_percent / 100 is an onset (0 = source off); the source
	 * re-arms once it falls below fs_full_percent -
	 * fs_full_hysteresis_percent, so flapping around the line is one
	 * onset. The hysteresis must be below fs_full_percent. */
	uint32_t fs_full_percent;            /* 0 to 100 */
	uint32_t fs_full_hysteresis_percent; /* percentage points */
	/* health: NULL or "" = source off. Otherwise an absolute program path
	 * and its arguments separated by blanks (no shell, no quoting, at
	 * most FM_SPAWN_COMMAND_ARGS_MAX words), run at start and then every
	 * health_interval_ms; a run still going after health_timeout_ms is
	 * killed. Copied by fm_model_labels_new(). */
	const char *health_command;
	uint32_t health_interval_ms; /* > 0 */
	uint32_t health_timeout_ms;  /* > 0 */
} fm_model_labels_config;

/* Fills *cfg with the defaults documented in configs/agent.conf:
 * fs_full at 95 % with 2 points of hysteresis, no health command, every
 * 30 s with a 5 s timeout. */
void fm_model_labels_config_init(fm_model_labels_config *cfg);

/*
 * Checks a health command: "" (off), or an absolute program path followed
 * by arguments, split on spaces and tabs. Returns 0, -EINVAL (the program
 * is not an absolute path), -ENAMETOOLONG (FM_SPAWN_COMMAND_BYTES or
 * more) or -E2BIG (more than FM_SPAWN_COMMAND_ARGS_MAX words). Pure.
 */
int fm_model_labels_command_check(const char *command) FM_WUR;

/* How the last health check run ended. */
typedef enum fm_model_labels_health_outcome {
	FM_MODEL_LABELS_HEALTH_NONE,   /* no run finished yet (or source off) */
	FM_MODEL_LABELS_HEALTH_OK,     /* exited with status 0 */
	FM_MODEL_LABELS_HEALTH_EXITED, /* exited with status code (nonzero) */
	FM_MODEL_LABELS_HEALTH_SIGNALED, /* killed by signal code */
	FM_MODEL_LABELS_HEALTH_TIMEOUT,  /* ran past the timeout; its group
	                                    killed */
	FM_MODEL_LABELS_HEALTH_ERROR,    /* could not be started or waited for:
	                                  * code is a negative errno (-ENOENT: no
	                                  * such program) */
} fm_model_labels_health_outcome;

typedef struct fm_model_labels_health_result {
	fm_model_labels_health_outcome outcome;
	int code;             /* see the outcome; 0 otherwise */
	uint32_t duration_ms; /* from its start until it was reaped */
	int64_t real_ns;      /* CLOCK_REALTIME when it ended; 0 = NONE */
} fm_model_labels_health_result;

/* Whether a run with this outcome counts as a failing check. */
static inline bool
fm_model_labels_health_is_failing(fm_model_labels_health_outcome o)
{
	return o != FM_MODEL_LABELS_HEALTH_NONE &&
	    o != FM_MODEL_LABELS_HEALTH_OK;
}

typedef struct fm_model_labels_status {
	bool enabled[FM_LABEL_COUNT];    /* fs_full and health can be off */
	bool failing[FM_LABEL_COUNT];    /* in a failure now */
	uint64_t events[FM_LABEL_COUNT]; /* onsets reported so far */
	/* real_ns of the sample of the last onset; 0 = none yet */
	int64_t last_event_real_ns[FM_LABEL_COUNT];
	bool health_running;                  /* a health check runs now */
	uint64_t health_runs;                 /* finished runs */
	fm_model_labels_health_result health; /* the last finished run */
} fm_model_labels_status;

typedef struct fm_model_labels fm_model_labels;

/*
 * Validates cfg (-EINVAL: fs_full_percent above 100, a hysteresis not below
 * a nonzero fs_full_percent, a health command fm_model_labels_command_check()
 * refuses, a zero health interval or timeout) and, with a health command,
 * starts the health worker thread, which runs the command at once and then
 * every health_interval_ms: with stdin, stdout and stderr on /dev/null, in
 * its own process group, default signal dispositions and an empty signal
 * mask. A run past its timeout has its group sent SIGTERM, then SIGKILL
 * after FM_SPAWN_KILL_GRACE_MS, and is reaped. The process must not
 * ignore SIGCHLD (its children would not be waitable). On success *ret
 * owns a new fm_model_labels; on failure *ret is untouched. Errors: -EINVAL,
 * -ENOMEM, or the errno of creating the thread or its wake-up eventfd.
 */
int fm_model_labels_new(
    const fm_model_labels_config *cfg, fm_model_labels **ret) FM_WUR;

/* Stops the health worker, killing a running check's process group as on
 * a timeout and reaping it (so it returns within about
 * FM_SPAWN_KILL_GRACE_MS), and frees l. Accepts NULL; returns NULL. No
 * other call on l may run concurrently or follow. */
fm_model_labels *fm_model_labels_free(fm_model_labels *l);

/*
 * Labels one sample: returns its mask of FM_LABEL_BIT()s, one bit per
 * source whose failure began at this sample, and counts those onsets.
 *   oom: the OOM-kill rate is > 0 after a sample where it was 0. The rate
 *     is read every slow_every-th sample and repeated in between, so one
 *     kill is one onset, and so is a run of consecutive intervals with
 *     kills. A masked rate (unknown) changes nothing.
 *   fs_full: see fm_model_labels_config; a masked value changes nothing.
 *   health: a run failed after one that passed (or none), since the
 *     previous sample.
 *   manual: fm_model_labels_manual_set(l, true) began a failure since the
 *     previous sample.
 * Logs each onset at LOG_NOTICE. Never allocates. One thread at a time
 * (the sampling thread); safe against the other calls.
 */
uint32_t fm_model_labels_on_sample(
    fm_model_labels *l, const fm_collect_sample *s);

/*
 * The operator's report: failing = true begins a sticky manual failure,
 * an onset at the next sample; failing = false ends it, so that the next
 * report is a new onset. Returns whether the state changed (false: it
 * already was so). Logs the change at LOG_NOTICE. Thread-safe.
 */
bool fm_model_labels_manual_set(fm_model_labels *l, bool failing);

/* Copies the current counts, states and last health result into *ret.
 * Thread-safe. */
void fm_model_labels_status_get(
    fm_model_labels *l, fm_model_labels_status *ret);

#endif
