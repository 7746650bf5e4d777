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
	/* the last SIGHUP that failed, until one succeeds (0: none) */
	int64_t reload_failed_real_ns;
	char reload_why[96]; /* why, truncated */
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

/* Records how a reload (SIGHUP) ended: why NULL when it succeeded (which
 * clears a failure recorded before), else why it failed (copied,
 * truncated). */
void fm_status_live_on_reload(fm_status_live *l, const char *why);

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
	/* an aggregator is configured but federation failed to start
	 * (fed is NULL; the key file, say): -errno, else 0 */
	int fed_start_error;
	const char *fed_url;     /* with fed_start_error: the URL */
	const char *metrics_url; /* "http://127.0.0.1:PORT/metrics", "" off */
	/* [agent] metrics_listen is set but /metrics is not served (the
	 * port taken, say): -errno, else 0 */
	int metrics_error;
	const char *metrics_listen; /* with metrics_error: ADDR:PORT */
	const char *state_dir;
	const char *config_path; /* "" = built-in defaults */
} fm_status_view;

/*
 * Health (health.c): what is wrong with the running agent, for
 * fedmonctl status (exit 1 "degraded"), /metrics (fedmon_agent_healthy,
 * fedmon_agent_problem{problem}) and the journal (journal.c). Each
 * problem has a name, listed here once; a problem is on or off, never
 * absent, so /metrics always writes every name.
 *
 * Warm-up is not a problem: until its first training the detector is
 * "learning" (fedmonctl status exit 0, with the time left).
 */
typedef enum fm_status_problem {
	FM_STATUS_PROBLEM_COLLECTORS, /* "collectors": a source failing */
	FM_STATUS_PROBLEM_SAMPLING,   /* "sampling": no sample for a while */
	FM_STATUS_PROBLEM_FEDERATION, /* "federation": cannot start, or the
	                               * aggregator unreachable or refusing */
	FM_STATUS_PROBLEM_METRICS,    /* "metrics": /metrics not served */
	FM_STATUS_PROBLEM_RELOAD,     /* "reload": the last SIGHUP failed */
	FM_STATUS_PROBLEM_TRAINING,   /* "training": the last one failed */
	FM_STATUS_PROBLEM_SAVE,       /* "save": a model file not saved
	                               * (the state disk full, say) */
	FM_STATUS_PROBLEM_COUNT,
} fm_status_problem;

#define FM_STATUS_PROBLEMS_MAX  FM_STATUS_PROBLEM_COUNT
#define FM_STATUS_PROBLEM_BYTES 128

/* A problem's name ("federation"), or NULL out of range. */
const char *fm_status_problem_name(unsigned problem);

typedef struct fm_status_health {
	bool on[FM_STATUS_PROBLEM_COUNT];
	/* for each problem on: "NAME: what is wrong" (one short sentence,
	 * e.g. "federation: aggregator tcp://a:9740 unreachable since
	 * 12:03:44: Connection refused") */
	char text[FM_STATUS_PROBLEM_COUNT][FM_STATUS_PROBLEM_BYTES];
	uint32_t n_on;
	/* the detector is warming up: not trained yet (learning on) */
	bool learning;
	uint32_t rows_held, min_rows; /* samples kept, needed to train */
	uint64_t learning_left_ms;    /* until the first training is due;
	                               * 0 once it is (or runs) */
} fm_status_health;

/* Fills *ret with the view's health now. Any thread. */
void fm_status_health_get(const fm_status_view *v, fm_status_health *ret);

/* Fills problems[max] with the text of each problem on, in the order of
 * fm_status_problem, and returns how many; 0 = healthy (or learning). */
uint32_t fm_status_problems(const fm_status_view *v,
    char problems[][FM_STATUS_PROBLEM_BYTES], uint32_t max);

/* ---- the journal: alarms and problems as they start and end (journal.c) */

/*
 * What the sampling thread logs after each sample, whether or not any
 * [action] rule exists: one line when the anomaly alarm is raised
 * (LOG_WARNING) and one when it clears (LOG_NOTICE), each with the score,
 * the threshold and the top features with their contributions; one line
 * when a named problem starts (LOG_WARNING, its text) and one when it
 * ends (LOG_NOTICE). Not thread-safe: one caller.
 */
typedef struct fm_status_journal fm_status_journal;

/* Errors: -ENOMEM. */
int fm_status_journal_new(fm_status_journal **ret) FM_WUR;
fm_status_journal *fm_status_journal_free(fm_status_journal *j);

/* Logs the alarm's onset or clear when st->alarm changed since the last
 * call (real_ns: the sample's time, for the alarm's duration). */
void fm_status_journal_alarm(
    fm_status_journal *j, const fm_model_learner_status *st, int64_t real_ns);

/* Logs each problem of *h that started or ended since the last call. */
void fm_status_journal_health(fm_status_journal *j, const fm_status_health *h);

/* Both, from the view's parts (no alarm without a learner). */
void fm_status_journal_on_sample(
    fm_status_journal *j, const fm_status_view *v, int64_t real_ns);

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
