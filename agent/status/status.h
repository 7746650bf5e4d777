/*
 * agent/status: the operator's view of the running agent, its fourth
 * room. The sampling loop's live counters (live.c), what is wrong in a
 * few sentences (health.c), fedmonctl's control socket (control.c) and
 * Prometheus /metrics (metrics.c) all read the other rooms through one
 * fm_status_view of borrowed parts and their thread-safe getters; they
 * change nothing but the operator's failure label. No internal header:
 * the four files share nothing but this one.
 */
#ifndef FM_AGENT_STATUS_H
#define FM_AGENT_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/act/act.h"
#include "agent/collect/collect.h"
#include "agent/model/model.h"
#include "common/common.h"

/* ---- live counters of the sampling loop (live.c) ----------------------- */

/*
 * What the sampling thread knows that the control socket and /metrics
 * show: the last sample, counts, and a histogram of sample read times.
 * Written by the sampling thread once per sample, read from any thread.
 */
#define FM_STATUS_LIVE_BUCKETS 10 /* histogram buckets below +Inf */

/* The buckets' upper bounds in seconds, ascending (Prometheus "le"). */
extern const double fm_status_live_bucket_le[FM_STATUS_LIVE_BUCKETS];

typedef struct fm_status_live_snapshot {
	int64_t start_real_ns; /* when the agent started */
	int64_t start_mono_ns;
	uint64_t samples;  /* taken */
	uint64_t failed;   /* with no source readable */
	fm_collect_sample last; /* the latest sample (all masked before one) */
	char failing[128]; /* fm_collect_sampler_failing() at the latest sample
	                    */
	/* read times: count per bucket (not cumulative) and +Inf last */
	uint64_t read_bucket[FM_STATUS_LIVE_BUCKETS + 1];
	double read_sum_seconds;
} fm_status_live_snapshot;

typedef struct fm_status_live fm_status_live;

/* Allocates live counters stamped with the current time. Errors:
 * -ENOMEM. */
int fm_status_live_new(fm_status_live **ret) FM_WUR;
fm_status_live *fm_status_live_free(fm_status_live *l);

/* Records a sample (failed: the sampler read nothing; failing: the
 * sources that failed, as fm_collect_sampler_failing(), copied, truncated). */
void fm_status_live_on_sample(fm_status_live *l, const fm_collect_sample *s,
    bool failed, const char *failing);

/* Copies the counters into *ret; any thread. */
void fm_status_live_get(fm_status_live *l, fm_status_live_snapshot *ret);

/* ---- what the control socket and /metrics read, health (health.c) ----- */

/*
 * The running agent's parts, borrowed (they outlive every reader). Any
 * part but live may be NULL: learning off, no aggregator, no actions
 * configured. Every reader goes through the parts' thread-safe getters.
 */
typedef struct fm_status_view {
	fm_status_live *live;
	fm_model_learner *learner;
	fm_model_labels *labels;
	fm_model_federation *fed;
	fm_act *actions;
	const char *missing; /* fm_collect_sampler_missing() */
	uint32_t interval_ms;
	uint32_t min_train_rows; /* samples before the first training */
	const char *aggregator;  /* the URL, "" when standalone */
	const char *metrics_url; /* "http://127.0.0.1:PORT/metrics", "" off */
	const char *state_dir;
	const char *config_path; /* "" = built-in defaults */
} fm_status_view;

/*
 * Health (health.c): what is wrong with the running agent, for
 * fedmonctl status (exit 1 "degraded") and /metrics (fedmon_agent_healthy).
 * Fills problems[max] with one short sentence each (e.g. "collector
 * pressure missing", "aggregator unreachable since 12:03:44", "detector
 * not trained yet: 312 of 600 samples") and returns how many; 0 = healthy.
 */
#define FM_STATUS_PROBLEMS_MAX  8
#define FM_STATUS_PROBLEM_BYTES 128

uint32_t fm_status_problems(const fm_status_view *v,
    char problems[][FM_STATUS_PROBLEM_BYTES], uint32_t max);

/* ---- the control socket (control.c) ----------------------------------- */

/*
 * fedmonctl talks to the running agent over NNG REP on ipc://PATH with
 * proto/'s control messages (one request, one reply): status, the current
 * sample, and the operator's failure label. The socket file is mode 0660,
 * owned by group gid ((gid_t)-1: the process's own). A thread of its own
 * serves it; requests are bounded (proto/'s control caps).
 */
#define FM_STATUS_CONTROL_SOCKET "control.sock" /* in runtime_dir */

/* How often the thread checks that its socket still delivers requests
 * (a probe dials it and sends one). NNG 1.5's ipc listener stops
 * delivering after a client that closes before the handshake (nng issue
 * #1518): two failed probes in a row and a new listener replaces it, so a
 * local client cannot cut fedmonctl off for much longer than this. A
 * probe costs about a millisecond of CPU: hence not more often. */
#define FM_STATUS_CONTROL_CHECK_MS 60000

typedef struct fm_status_control fm_status_control;

/* Listens on ipc://path (a stale socket file left by a dead agent is
 * replaced; a live agent's is not: -EADDRINUSE) and starts the thread.
 * view is copied; its parts are borrowed. On success *ret owns it.
 * Errors: -EINVAL, -EADDRINUSE, -EACCES, -EPERM (chown), -ENOMEM. */
int fm_status_control_new(const char *path, gid_t gid,
    const fm_status_view *view, fm_status_control **ret) FM_WUR;

/* Sets how often the socket is checked (ms, at least 100; default
 * FM_STATUS_CONTROL_CHECK_MS), from the next check on. -EINVAL out of range. */
int fm_status_control_set_check_ms(fm_status_control *c, uint32_t ms) FM_WUR;

/* Stops the thread, closes the socket, removes the socket file.
 * NULL-safe; returns NULL. */
fm_status_control *fm_status_control_free(fm_status_control *c);

/* ---- Prometheus /metrics (metrics.c) ---------------------------------- */

#define FM_STATUS_METRICS_DEFAULT_LISTEN "127.0.0.1:9741"

/* Renders the agent's metrics in the Prometheus text format 0.0.4 into
 * *ret (malloc'd, NUL-terminated, the caller frees) of *ret_len bytes.
 * Errors: -ENOMEM. */
int fm_status_metrics_render(
    const fm_status_view *v, char **ret, size_t *ret_len) FM_WUR;

#endif
