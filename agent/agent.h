/*
 * agent: host metric collection for fedmon-agent.
 *
 * The agent turns /proc and statvfs into one host-invariant feature
 * vector per tick: the same features, in the same order, on every host
 * whatever its core, disk or NIC count, so that a fleet can share a model.
 * A masked feature (its source is missing on this kernel, or the value is
 * not known yet, e.g. a rate on the first tick) is NAN, never a zero.
 */
#ifndef FM_AGENT_H
#define FM_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/common.h"

/* Bumped whenever a feature is added, removed, reordered or redefined.
 * Every model carries the schema version it was trained on. */
#define FM_SCHEMA_VERSION 1

/* The feature vector, in its fixed order. Names are stable (see schema.c). */
enum fm_feature {
	/* /proc/stat */
	FM_F_CPU_USER,     /* user+nice, fraction of all CPUs */
	FM_F_CPU_SYSTEM,   /* system */
	FM_F_CPU_IOWAIT,   /* iowait */
	FM_F_CPU_IRQ,      /* irq+softirq */
	FM_F_CPU_STEAL,    /* steal */
	FM_F_CPU_IDLE,     /* idle */
	FM_F_CPU_BUSIEST,  /* busy fraction of the busiest core */
	FM_F_CPU_CTXT,     /* log1p(context switches/s per core) */
	FM_F_CPU_INTR,     /* log1p(interrupts/s per core) */
	FM_F_PROC_FORKS,   /* log1p(processes created/s) */
	FM_F_PROC_RUNNING, /* runnable tasks per core */
	FM_F_PROC_BLOCKED, /* tasks blocked on I/O per core */
	/* /proc/loadavg */
	FM_F_LOAD_1, /* 1-min load average per core */
	FM_F_LOAD_5,
	FM_F_LOAD_15,
	FM_F_PROC_THREADS, /* log1p(threads) */
	/* /proc (directory listing) */
	FM_F_PROC_COUNT, /* log1p(processes) */
	/* /proc/pressure/{cpu,memory,io}: avg10 as a fraction */
	FM_F_PSI_CPU_SOME,
	FM_F_PSI_MEM_SOME,
	FM_F_PSI_MEM_FULL,
	FM_F_PSI_IO_SOME,
	FM_F_PSI_IO_FULL,
	/* /proc/meminfo */
	FM_F_MEM_USED,      /* 1 - MemAvailable/MemTotal */
	FM_F_MEM_CACHE,     /* (Cached+Buffers)/MemTotal */
	FM_F_MEM_DIRTY,     /* (Dirty+Writeback)/MemTotal */
	FM_F_MEM_COMMITTED, /* Committed_AS/(MemTotal+SwapTotal) */
	FM_F_SWAP_USED,     /* 1 - SwapFree/SwapTotal; masked without swap */
	/* /proc/vmstat */
	FM_F_MEM_MAJFAULTS,   /* log1p(major faults/s) */
	FM_F_SWAP_IN,         /* log1p(pages swapped in/s) */
	FM_F_SWAP_OUT,        /* log1p(pages swapped out/s) */
	FM_F_MEM_ALLOCSTALLS, /* log1p(direct reclaim stalls/s) */
	FM_F_MEM_OOM_KILLS,   /* OOM kills/s */
	/* /proc/diskstats, whole disks, loop/ram/zram/partitions skipped */
	FM_F_DISK_READ_OPS, /* log1p(reads completed/s), all disks */
	FM_F_DISK_WRITE_OPS,
	FM_F_DISK_READ_BYTES, /* log1p(bytes read/s) */
	FM_F_DISK_WRITE_BYTES,
	FM_F_DISK_BUSIEST, /* busy (io_ticks) fraction of the busiest disk */
	FM_F_DISK_AWAIT,   /* log1p(mean ms per completed request) */
	FM_F_DISK_QUEUE,   /* log1p(mean requests in flight), all disks */
	/* /proc/net/dev, lo skipped */
	FM_F_NET_RX_BYTES, /* log1p(bytes/s), all NICs */
	FM_F_NET_TX_BYTES,
	FM_F_NET_RX_PACKETS, /* log1p(packets/s) */
	FM_F_NET_TX_PACKETS,
	FM_F_NET_ERRORS, /* log1p(rx+tx errors/s) */
	FM_F_NET_DROPS,  /* log1p(rx+tx drops/s) */
	/* /proc/net/snmp */
	FM_F_TCP_ACTIVE_OPENS, /* log1p(/s) */
	FM_F_TCP_PASSIVE_OPENS,
	FM_F_TCP_RETRANS,       /* log1p(retransmitted segments/s) */
	FM_F_TCP_RETRANS_RATIO, /* retransmitted / all sent, in [0, 1] */
	FM_F_TCP_RESETS,        /* log1p((EstabResets+OutRsts)/s) */
	FM_F_TCP_ESTAB,         /* log1p(established connections) */
	FM_F_TCP_ERRORS,        /* log1p((InErrs+AttemptFails)/s) */
	FM_F_UDP_ERRORS, /* log1p((InErrors+RcvbufErrors+SndbufErrors)/s) */
	/* /proc/sys/fs/file-nr */
	FM_F_FD_USED, /* allocated / max file handles */
	/* statvfs of real filesystems from /proc/self/mounts */
	FM_F_FS_FULLEST,        /* used fraction of the fullest filesystem */
	FM_F_FS_INODES_FULLEST, /* used inode fraction, fullest filesystem */
	FM_FEATURE_COUNT
};

typedef struct fm_feature_info {
	const char *name;        /* stable, e.g. "cpu.user" */
	const char *unit;        /* e.g. "fraction", "log1p(1/s)" */
	const char *description; /* one line */
} fm_feature_info;

/* The description of feature i (0 <= i < FM_FEATURE_COUNT), or NULL. */
const fm_feature_info *fm_feature_get(unsigned i);

/* The index of the feature named name, or -ENOENT. */
int fm_feature_lookup(const char *name) FM_WUR;

/* Whether a feature value is masked (unknown). */
static inline bool
fm_feature_is_masked(float v)
{
	return v != v; /* NaN */
}

/* One tick's output. */
typedef struct fm_sample {
	int64_t mono_ns;           /* CLOCK_MONOTONIC at the end of the read */
	int64_t real_ns;           /* CLOCK_REALTIME at the end of the read */
	int64_t read_ns;           /* how long the read took (CLOCK_MONOTONIC) */
	float v[FM_FEATURE_COUNT]; /* NAN = masked */
} fm_sample;

#define FM_AGENT_PATH_BYTES 256

/* ---- action rules (the [action NAME] sections of agent.conf) ---------- */

#define FM_ACTIONS_RULES_MAX   32 /* [action NAME] sections */
#define FM_ACTIONS_NAME_BYTES  48 /* a rule's name, NUL included */
#define FM_ACTIONS_UNIT_BYTES  128 /* a systemd unit name, NUL included */
#define FM_ACTIONS_RECENT      32 /* action records kept for status */

/* What makes a rule fire. */
typedef enum fm_action_when {
	FM_ACTION_WHEN_ANOMALY = 1, /* the anomaly detector's alarm is up */
	FM_ACTION_WHEN_FAILURE,     /* a failure predictor's probability is
	                             * at or above the rule's probability */
} fm_action_when;

/* What a rule does. Each kind is one sibling file (action-log.c,
 * action-hook.c, action-restart.c) exporting one ops table. */
typedef enum fm_action_kind {
	FM_ACTION_LOG = 1, /* a log line at a journald priority */
	FM_ACTION_HOOK,    /* runs a program (argv, no shell) */
	FM_ACTION_RESTART, /* systemctl restart UNIT */
	FM_ACTION_KIND_COUNT
} fm_action_kind;

/* One [action NAME] section. */
typedef struct fm_action_rule {
	char name[FM_ACTIONS_NAME_BYTES]; /* [A-Za-z0-9_.-], unique */
	fm_action_when when;
	uint32_t failure_source;   /* WHEN_FAILURE: enum fm_label_source */
	float probability;         /* WHEN_FAILURE: in (0, 1] */
	uint32_t hold_seconds;     /* the condition held this long first */
	uint32_t cooldown_seconds; /* between two runs of this rule */
	uint32_t max_per_hour;     /* runs in any 3600 s; >= 1 */
	fm_action_kind kind;
	int priority;                       /* LOG: LOG_EMERG..LOG_DEBUG */
	char command[FM_AGENT_PATH_BYTES];  /* HOOK: program and arguments */
	char unit[FM_ACTIONS_UNIT_BYTES];   /* RESTART: the unit */
	uint32_t timeout_ms;                /* HOOK, RESTART: then killed */
	bool dry_run;                       /* log what would run, run none */
} fm_action_rule;

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
	uint32_t history_raw_seconds; /* raw samples kept, in seconds */
	uint32_t history_minutes;     /* per-minute aggregates kept */
	/* [labels] (see fm_labels_config) */
	uint32_t labels_fs_full_percent;                 /* 0 = off */
	uint32_t labels_fs_full_hysteresis_percent;      /* percentage points */
	char labels_health_command[FM_AGENT_PATH_BYTES]; /* "" = off */
	uint32_t labels_health_interval_ms;
	uint32_t labels_health_timeout_ms;
	/* [learn] (see fm_learner_config) */
	bool learn_enabled;
	uint32_t learn_train_seconds;     /* samples kept to train on */
	uint32_t learn_min_train_seconds; /* before the first training */
	uint32_t learn_retrain_seconds;   /* between trainings */
	uint32_t learn_alarm_samples;     /* above the threshold to raise */
	uint32_t learn_onset_factor;      /* onset path factor; 0 = off */
	uint32_t learn_clear_samples;     /* below it to clear */
	uint32_t learn_horizon_minutes;   /* failure prediction horizon */
	/* [federation] (see fm_federation_config) */
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
	fm_action_rule rules[FM_ACTIONS_RULES_MAX];
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

/* Raw samples the history keeps: history_raw_seconds / interval. */
uint32_t fm_agent_config_raw_len(const fm_agent_config *c);

/* ---- sampler: all collectors behind one call ------------------------- */

typedef struct fm_sampler fm_sampler;

typedef struct fm_sampler_config {
	const char *procfs;     /* procfs root, "/proc" on a host */
	bool fs_network;        /* also statvfs network filesystems */
	uint32_t fs_refresh_ms; /* statvfs period (worker thread) */
	uint32_t fs_stale_ms;   /* mask fs features older than this */
	uint32_t slow_every;    /* read the slow sources every N reads */
} fm_sampler_config;

/* Fills *cfg with the defaults (procfs "/proc", fs refresh 10 s, stale
 * after 30 s, network filesystems skipped, slow sources every 5th read).
 *
 * Slow sources are those whose kernel side costs most to produce and whose
 * features move slowly (vmstat, net/snmp, file-nr, the process count):
 * they are read on every slow_every-th call only, their rates averaged
 * over their own interval, and their last values repeated in between.
 * slow_every 1 reads everything every time. */
void fm_sampler_config_init(fm_sampler_config *cfg);

/*
 * Opens every collector's sources under cfg->procfs and starts the
 * filesystem worker thread. A source this kernel lacks is not an error:
 * its features stay masked, and it is named by fm_sampler_missing().
 * On success *ret owns a new sampler. Errors: -ENOMEM, -EINVAL (bad
 * config), or an error from opening procfs itself (-ENOENT when
 * cfg->procfs has no "stat").
 */
int fm_sampler_new(const fm_sampler_config *cfg, fm_sampler **ret) FM_WUR;

/* Stops the worker thread and frees everything. Accepts NULL; returns
 * NULL. */
fm_sampler *fm_sampler_free(fm_sampler *s);

/*
 * Reads every source once and writes one sample into *ret. Rates are
 * computed against the previous call; on the first call they are masked.
 * Never allocates after the first call. Returns 0, or a negative errno
 * when no source at all could be read (the sample is then all masked).
 * Single-threaded: one caller at a time.
 */
int fm_sampler_read(fm_sampler *s, fm_sample *ret) FM_WUR;

/* Collector names whose source was missing at start-up, as one
 * comma-separated string ("" when none). Valid while s lives. */
const char *fm_sampler_missing(const fm_sampler *s);

/* Present sources whose last read failed, comma-separated ("" when none).
 * Changes with each fm_sampler_read(): the sampling thread only. */
const char *fm_sampler_failing(const fm_sampler *s);

/* ---- history: in-memory ring of recent samples ----------------------- */

typedef struct fm_history fm_history;

/* Per-minute aggregate of a feature over the samples of that minute. */
typedef struct fm_history_minute {
	int64_t real_ns; /* start of the minute */
	uint32_t count;  /* samples aggregated */
	float mean[FM_FEATURE_COUNT];
	float min[FM_FEATURE_COUNT];
	float max[FM_FEATURE_COUNT];
} fm_history_minute;

/* Bytes fm_history_new() allocates for the given sizes (the memory bound
 * documented in README.md). */
size_t fm_history_bytes(uint32_t raw_len, uint32_t minute_len);

/*
 * Allocates a history keeping the last raw_len samples and the last
 * minute_len per-minute aggregates. Both must be in [1, 1e7].
 * On success *ret owns it. Errors: -EINVAL, -ENOMEM.
 */
int fm_history_new(
    uint32_t raw_len, uint32_t minute_len, fm_history **ret) FM_WUR;

fm_history *fm_history_free(fm_history *h);

/* Appends a sample (copied). Closes the current minute aggregate when the
 * sample falls into a new wall-clock minute. Never allocates. */
void fm_history_push(fm_history *h, const fm_sample *s);

/* Number of raw samples held (<= raw_len). */
uint32_t fm_history_raw_count(const fm_history *h);

/* The i-th most recent raw sample (0 = newest), or NULL if i is out of
 * range. Valid until the next push. */
const fm_sample *fm_history_raw_get(const fm_history *h, uint32_t i);

/* Number of closed minute aggregates held (<= minute_len). */
uint32_t fm_history_minute_count(const fm_history *h);

/* The i-th most recent closed minute (0 = newest), or NULL. */
const fm_history_minute *fm_history_minute_get(const fm_history *h, uint32_t i);

/* ---- failure labels (agent/labels.c) -------------------------------- */

/*
 * The host labels its own failures, for the failure predictor to learn
 * from. Each source watches one kind of failure and reports its onsets: a
 * sample's label mask has FM_LABEL_BIT(source) set when that source's
 * failure began at that sample, and clear while it goes on or after it
 * ended. Every source starts presumed healthy, so a failure already under
 * way when the agent starts is an onset at the first sample that shows it.
 */
enum fm_label_source {
	FM_LABEL_OOM,     /* "oom": the kernel OOM-killed processes */
	FM_LABEL_FS_FULL, /* "fs_full": the fullest filesystem filled up */
	FM_LABEL_HEALTH,  /* "health": the health command began failing */
	FM_LABEL_MANUAL,  /* "manual": the operator reported a failure */
	FM_LABEL_COUNT
};

#define FM_LABEL_BIT(source) (1u << (source))

/* The stable name of label source s ("oom", "fs_full", "health",
 * "manual"), or NULL when s >= FM_LABEL_COUNT. */
const char *fm_label_source_name(unsigned s);

/* The label source named name, or -ENOENT. */
int fm_label_source_lookup(const char *name) FM_WUR;

#define FM_LABELS_COMMAND_BYTES    FM_AGENT_PATH_BYTES
#define FM_LABELS_COMMAND_ARGS_MAX 32  /* the program and its arguments */
#define FM_LABELS_KILL_GRACE_MS    500 /* SIGTERM, then SIGKILL after this */

typedef struct fm_labels_config {
	/* fs_full: the used fraction of the fullest filesystem reaching
	 * fs_full_percent / 100 is an onset (0 = source off); the source
	 * re-arms once it falls below fs_full_percent -
	 * fs_full_hysteresis_percent, so flapping around the line is one
	 * onset. The hysteresis must be below fs_full_percent. */
	uint32_t fs_full_percent;            /* 0 to 100 */
	uint32_t fs_full_hysteresis_percent; /* percentage points */
	/* health: NULL or "" = source off. Otherwise an absolute program path
	 * and its arguments separated by blanks (no shell, no quoting, at
	 * most FM_LABELS_COMMAND_ARGS_MAX words), run at start and then every
	 * health_interval_ms; a run still going after health_timeout_ms is
	 * killed. Copied by fm_labels_new(). */
	const char *health_command;
	uint32_t health_interval_ms; /* > 0 */
	uint32_t health_timeout_ms;  /* > 0 */
} fm_labels_config;

/* Fills *cfg with the defaults documented in configs/agent.conf:
 * fs_full at 95 % with 2 points of hysteresis, no health command, every
 * 30 s with a 5 s timeout. */
void fm_labels_config_init(fm_labels_config *cfg);

/* Fills *ret from the [labels] keys of c. ret->health_command points into
 * c, which must outlive *ret (fm_labels_new() copies it). */
void fm_agent_config_labels(const fm_agent_config *c, fm_labels_config *ret);

/*
 * Checks a health command: "" (off), or an absolute program path followed
 * by arguments, split on spaces and tabs. Returns 0, -EINVAL (the program
 * is not an absolute path), -ENAMETOOLONG (FM_LABELS_COMMAND_BYTES or
 * more) or -E2BIG (more than FM_LABELS_COMMAND_ARGS_MAX words). Pure.
 */
int fm_labels_command_check(const char *command) FM_WUR;

/* How the last health check run ended. */
typedef enum fm_labels_health_outcome {
	FM_LABELS_HEALTH_NONE,     /* no run finished yet (or source off) */
	FM_LABELS_HEALTH_OK,       /* exited with status 0 */
	FM_LABELS_HEALTH_EXITED,   /* exited with status code (nonzero) */
	FM_LABELS_HEALTH_SIGNALED, /* killed by signal code */
	FM_LABELS_HEALTH_TIMEOUT,  /* ran past the timeout; its group killed */
	FM_LABELS_HEALTH_ERROR,    /* could not be started or waited for:
	                            * code is a negative errno (-ENOENT: no
	                            * such program) */
} fm_labels_health_outcome;

typedef struct fm_labels_health_result {
	fm_labels_health_outcome outcome;
	int code;             /* see the outcome; 0 otherwise */
	uint32_t duration_ms; /* from its start until it was reaped */
	int64_t real_ns;      /* CLOCK_REALTIME when it ended; 0 = NONE */
} fm_labels_health_result;

/* Whether a run with this outcome counts as a failing check. */
static inline bool
fm_labels_health_is_failing(fm_labels_health_outcome o)
{
	return o != FM_LABELS_HEALTH_NONE && o != FM_LABELS_HEALTH_OK;
}

typedef struct fm_labels_status {
	bool enabled[FM_LABEL_COUNT];    /* fs_full and health can be off */
	bool failing[FM_LABEL_COUNT];    /* in a failure now */
	uint64_t events[FM_LABEL_COUNT]; /* onsets reported so far */
	/* real_ns of the sample of the last onset; 0 = none yet */
	int64_t last_event_real_ns[FM_LABEL_COUNT];
	bool health_running;            /* a health check runs now */
	uint64_t health_runs;           /* finished runs */
	fm_labels_health_result health; /* the last finished run */
} fm_labels_status;

typedef struct fm_labels fm_labels;

/*
 * Validates cfg (-EINVAL: fs_full_percent above 100, a hysteresis not below
 * a nonzero fs_full_percent, a health command fm_labels_command_check()
 * refuses, a zero health interval or timeout) and, with a health command,
 * starts the health worker thread, which runs the command at once and then
 * every health_interval_ms: with stdin, stdout and stderr on /dev/null, in
 * its own process group, default signal dispositions and an empty signal
 * mask. A run past its timeout has its group sent SIGTERM, then SIGKILL
 * after FM_LABELS_KILL_GRACE_MS, and is reaped. The process must not
 * ignore SIGCHLD (its children would not be waitable). On success *ret
 * owns a new fm_labels; on failure *ret is untouched. Errors: -EINVAL,
 * -ENOMEM, or the errno of creating the thread or its wake-up eventfd.
 */
int fm_labels_new(const fm_labels_config *cfg, fm_labels **ret) FM_WUR;

/* Stops the health worker, killing a running check's process group as on
 * a timeout and reaping it (so it returns within about
 * FM_LABELS_KILL_GRACE_MS), and frees l. Accepts NULL; returns NULL. No
 * other call on l may run concurrently or follow. */
fm_labels *fm_labels_free(fm_labels *l);

/*
 * Labels one sample: returns its mask of FM_LABEL_BIT()s, one bit per
 * source whose failure began at this sample, and counts those onsets.
 *   oom: the OOM-kill rate is > 0 after a sample where it was 0. The rate
 *     is read every slow_every-th sample and repeated in between, so one
 *     kill is one onset, and so is a run of consecutive intervals with
 *     kills. A masked rate (unknown) changes nothing.
 *   fs_full: see fm_labels_config; a masked value changes nothing.
 *   health: a run failed after one that passed (or none), since the
 *     previous sample.
 *   manual: fm_labels_manual_set(l, true) began a failure since the
 *     previous sample.
 * Logs each onset at LOG_NOTICE. Never allocates. One thread at a time
 * (the sampling thread); safe against the other calls.
 */
uint32_t fm_labels_on_sample(fm_labels *l, const fm_sample *s);

/*
 * The operator's report: failing = true begins a sticky manual failure,
 * an onset at the next sample; failing = false ends it, so that the next
 * report is a new onset. Returns whether the state changed (false: it
 * already was so). Logs the change at LOG_NOTICE. Thread-safe.
 */
bool fm_labels_manual_set(fm_labels *l, bool failing);

/* Copies the current counts, states and last health result into *ret.
 * Thread-safe. */
void fm_labels_status_get(fm_labels *l, fm_labels_status *ret);

/* ---- on-device learning (agent/learner.c) ------------------------------ */

/*
 * The host's models, fed every sample: the anomaly detector (learn/'s,
 * over the samples themselves) and one failure predictor per label source
 * (over per-minute rows, predicting an onset within a horizon). Samples
 * taken outside an alarm are kept, the last train_rows of them; training
 * runs on a background thread at the lowest CPU priority (SCHED_IDLE,
 * nice 19) on a copy of them, every retrain_seconds, continuing from the
 * current models, and never delays sampling: the new models are swapped
 * in by the next sample after training ends. Every sample is scored with
 * whatever model is current. Models are written to state_dir after each
 * training and at exit (crash-safe), and loaded at start, so they survive
 * restarts.
 */
typedef struct fm_learner fm_learner;

#define FM_LEARNER_MIN_ROWS 64u /* learn/'s minimum, in samples */
#define FM_LEARNER_TOP      5u  /* features named for an alarm */
#define FM_LEARNER_DETECTOR_FILE  "detector.fmm"
#define FM_LEARNER_PREDICTOR_FILE "predictor.fmm"
#define FM_LEARNER_FEDERATION_FILE "federation.state"

typedef struct fm_learner_config {
	char state_dir[FM_AGENT_PATH_BYTES]; /* "" = nothing persisted */
	uint32_t interval_ms;                /* sampling period */
	uint32_t train_rows;      /* samples kept to train on, >= min_rows */
	uint32_t min_rows;        /* before the first training, >= MIN_ROWS */
	uint32_t retrain_seconds; /* between trainings */
	uint32_t alarm_samples;   /* at or above the threshold to raise */
	uint32_t onset_factor;    /* raw score / threshold raising at once */
	uint32_t clear_samples;   /* below it to clear */
	uint32_t horizon_minutes; /* failure within this many minutes */
	uint64_t seed;            /* training seed */
} fm_learner_config;

/* The learner's view of one label source's predictor. */
typedef struct fm_learner_failure {
	bool trained;      /* has a model: its own onsets, or the fleet's */
	float probability; /* of an onset within the horizon, [0, 1] */
	uint64_t onsets;   /* learned from, over the minute history */
} fm_learner_failure;

/* A consistent snapshot for the status interface. */
typedef struct fm_learner_status {
	bool ready;        /* a trained detector scores the samples */
	bool training;     /* a training runs now */
	float score;       /* relative score of the last sample */
	float threshold;   /* its alarm threshold */
	bool alarm;
	uint32_t n_top;    /* features in top[] */
	uint32_t top[FM_LEARNER_TOP]; /* feature indices, most first */
	float top_contrib[FM_LEARNER_TOP];
	/* every feature's share of the last score (0 while not ready) */
	float contrib[FM_FEATURE_COUNT];
	uint64_t scored;      /* samples scored */
	uint64_t alarms;      /* alarms raised */
	uint32_t trainings;   /* completed since start */
	uint32_t train_failures;
	int last_error;       /* of the last failed training, or 0 */
	int64_t trained_real_ns; /* end of the last training, 0 = never */
	uint32_t trained_rows;   /* samples it used */
	double train_cpu_seconds; /* CPU time of the last training */
	uint32_t rows_held;      /* samples kept to train on */
	fm_learner_failure failure[FM_LABEL_COUNT];
} fm_learner_status;

/* Fills *ret from the [agent] and [learn] keys of c. */
void fm_agent_config_learner(const fm_agent_config *c, fm_learner_config *ret);

/*
 * Creates the models (loading those saved in cfg->state_dir when their
 * shape matches; a file that does not is logged and set aside) and starts
 * the training thread. On success *ret owns the learner. Errors: -EINVAL,
 * -ENOMEM, or the errno of creating the thread.
 */
int fm_learner_new(const fm_learner_config *cfg, fm_learner **ret) FM_WUR;

/* Stops the training thread (waiting for a training in progress), saves
 * the models, frees everything. NULL-safe; returns NULL. */
fm_learner *fm_learner_free(fm_learner *l);

/*
 * Scores sample s, learns from it, and takes the label onsets of this
 * sample (FM_LABEL_BIT mask). Adopts models a finished training made and
 * starts the next training when due. Never blocks on training and does
 * not allocate, except when a training is handed over (every
 * retrain_seconds). The sampling thread only.
 */
void fm_learner_on_sample(
    fm_learner *l, const fm_sample *s, uint32_t label_onsets);

/* Fills *ret with a snapshot; any thread. */
void fm_learner_status_get(fm_learner *l, fm_learner_status *ret);

/*
 * Federation (agent/federation.c talks to the learner only through these;
 * any thread). The shared part of the models is the detector's
 * autoencoder and each feature's first and second moments over the
 * host's training rows (aggregates, never samples); normalisation
 * (shrunk toward the fleet's moments), residual scales, baseline and
 * threshold stay the host's own, the host keeps its own autoencoder
 * beside the fleet's, and every fleet model is personalised by a local
 * training before it scores anything (learn.h, the detector).
 */

/* A fleet model version, as the aggregator published it. */
typedef struct fm_learner_global {
	uint64_t version;     /* > 0 */
	uint32_t layout_id;
	uint32_t n_params;
	const float *params;  /* n_params floats (borrowed for the call) */
	float prox_mu;        /* FedProx mu for the personalising training */
	uint32_t local_steps; /* its Adam steps; 0: the learner's default */
} fm_learner_global;

/* What a training made for the fleet: the detector's shared parameters. */
typedef struct fm_learner_update {
	uint64_t base_version; /* fleet version its lineage started from, 0:
	                        * purely local */
	uint32_t layout_id;
	uint32_t n_params;
	uint64_t samples;      /* training rows behind it */
	float loss;            /* autoencoder loss at the end of training */
	int64_t made_real_ns;  /* when the training ended */
} fm_learner_update;

/* The layout id and length of the shared parameters (fixed by the
 * configuration; known before any training). */
void fm_learner_fed_layout(
    const fm_learner *l, uint32_t *ret_layout_id, uint32_t *ret_n_params);

/* The fleet version the current models descend from (0: none), persisted
 * in state_dir across restarts. */
uint64_t fm_learner_fed_version(fm_learner *l);

/*
 * Hands a fleet model to the learner (copied): the next training starts
 * as soon as enough samples are kept, without waiting for
 * retrain_seconds; it imports g into the current detector, trains it on
 * the host's samples with g's settings (personalisation), and the result
 * scores from then on. A later offer replaces one not yet trained on.
 * Returns 0; -ESTALE (another layout); -EINVAL (count or version 0);
 * -EDOM (a non-finite parameter); -ENOMEM.
 */
int fm_learner_fed_offer(fm_learner *l, const fm_learner_global *g) FM_WUR;

/*
 * Copies the shared parameters of the last training's models into
 * dst[cap] and describes them in *ret. Returns 0; -ENODATA when nothing
 * was trained since start; -ENOBUFS when cap is too small.
 */
int fm_learner_fed_update(fm_learner *l, float *dst, size_t cap,
    fm_learner_update *ret) FM_WUR;

/* ---- federation (agent/federation.c) ------------------------------------ */

/*
 * The agent's side of federated learning: it asks the aggregator (it
 * never listens), fetches each new fleet model and hands it to the models
 * to personalise, and sends the models' update for every round it can
 * join. Raw samples never leave: the only things sent are the shared
 * model parameters, a sample count and a loss (proto/'s messages have no
 * field that could carry more). The models keep scoring and acting
 * whatever the aggregator does; while it is away the agent retries with
 * exponential backoff and jitter.
 *
 * The models are reached through fm_federation_model, so the daemon
 * (the learner, training in the background) and fedmon-replay (its
 * detectors, training synchronously) run the same federation code.
 */
typedef struct fm_federation fm_federation;

typedef struct fm_federation_model {
	/* the shared parameters' layout id and length */
	void (*layout)(void *userdata, uint32_t *ret_layout_id,
	    uint32_t *ret_n_params);
	/* the fleet version the models descend from (0: none) */
	uint64_t (*version)(void *userdata);
	/* a new fleet model to personalise (errors as fm_learner_fed_offer) */
	int (*offer)(void *userdata, const fm_learner_global *g);
	/* the latest trained shared parameters (as fm_learner_fed_update) */
	int (*update)(void *userdata, float *dst, size_t cap,
	    fm_learner_update *ret);
	void *userdata;
} fm_federation_model;

/* The learner as a federation model (the daemon's). */
void fm_learner_fed_model(fm_learner *l, fm_federation_model *ret);

#define FM_FEDERATION_KEY_BYTES 32 /* an X25519 public key */

typedef struct fm_federation_config {
	char url[FM_AGENT_PATH_BYTES]; /* aggregator: tcp:// or ipc:// */
	uint8_t aggregator_key[FM_FEDERATION_KEY_BYTES]; /* pinned */
	char key_file[FM_AGENT_PATH_BYTES];   /* this agent's secret key */
	/* or, when not NULL, this identity (borrowed; fedmon-replay) */
	const struct fm_crypto_identity *identity;
	char state_dir[FM_AGENT_PATH_BYTES];  /* sequence lease; "" none */
	uint32_t timeout_ms;        /* per request */
	uint32_t retry_min_ms;      /* backoff while unreachable, from */
	uint32_t retry_max_ms;      /* ... to */
	uint32_t max_message_bytes; /* larger replies are refused */
	uint32_t skew_seconds;      /* clock-skew window for replies */
} fm_federation_config;

/* What federation is doing, for status and /metrics. */
typedef struct fm_federation_status {
	bool reachable;            /* the last exchange got a sealed reply */
	int64_t last_contact_ns;   /* CLOCK_REALTIME of it, 0 = never */
	uint64_t round;            /* the aggregator's open or last round */
	bool collecting;           /* that round takes updates */
	uint64_t fleet_version;    /* the newest fleet model announced */
	uint64_t applied_version;  /* what the models descend from */
	uint64_t updates_sent;
	uint64_t updates_accepted;
	uint64_t updates_refused;
	uint32_t last_reason;      /* proto/'s reason of the last refusal */
	int last_error;            /* of the last failed exchange, or 0 */
	uint64_t exchanges;        /* requests answered */
	uint64_t failures;         /* requests not answered or refused */
} fm_federation_status;

/* Fills *ret from the [federation] keys of c (key_file defaults to
 * state_dir/agent.key). */
void fm_agent_config_federation(
    const fm_agent_config *c, fm_federation_config *ret);

/*
 * Loads this agent's key pair from cfg->key_file and opens the client
 * (dialling in the background). With threaded, starts a thread that
 * steps until freed; otherwise the caller calls fm_federation_step().
 * m is copied; its userdata must outlive f. On success *ret owns f.
 * Errors: those of loading the key (-ENOENT, -EPERM, -EINVAL), of the
 * client (-EINVAL bad URL), -ENOMEM, or the errno of creating the thread.
 */
int fm_federation_new(const fm_federation_config *cfg,
    const fm_federation_model *m, bool threaded, fm_federation **ret) FM_WUR;

/* Stops the thread (interrupting a request in progress), frees f.
 * NULL-safe; returns NULL. */
fm_federation *fm_federation_free(fm_federation *f);

/*
 * One exchange with the aggregator: HELLO; hands a new fleet model to
 * the models; sends an update when a round is open that this agent has
 * not joined and the models hold one trained from that round's fleet
 * model. Returns 0 and the wait before the next step in *ret_wait_ms
 * (the aggregator's advice, or the backoff after a failure, with
 * jitter), or the error of the exchange (the status says which). Not for
 * a threaded f.
 */
int fm_federation_step(fm_federation *f, uint32_t *ret_wait_ms) FM_WUR;

/* Fills *ret with a snapshot; any thread. */
void fm_federation_status_get(fm_federation *f, fm_federation_status *ret);

/* ---- actions (agent/actions.c, action-*.c) -------------------------- */

/*
 * The agent acts on its own predictions. Each rule (fm_action_rule, from
 * an [action NAME] section) watches one condition every sample: the
 * anomaly alarm, or one failure predictor's probability at or above the
 * rule's. Once the condition has held for hold_seconds (0: at the first
 * sample that shows it) the rule runs, at most once per cooldown_seconds
 * and max_per_hour times in any hour; while the condition keeps holding,
 * it runs again after each cooldown (within the hourly cap). A run that
 * the cooldown or the cap prevents is counted as suppressed, not queued.
 *
 * Runs happen on a worker thread, so a slow hook never delays sampling;
 * a rule whose previous run has not finished is not run again (counted
 * as suppressed). Every run is recorded (time, rule, kind, result,
 * exit code, duration) and the last FM_ACTIONS_RECENT records are kept
 * for status.
 *
 * Hooks run argv directly (no shell) with stdin, stdout and stderr on
 * /dev/null, in their own process group, killed (SIGTERM, then SIGKILL
 * after FM_LABELS_KILL_GRACE_MS) past timeout_ms, with an environment of
 * PATH, FEDMON_RULE, FEDMON_WHEN ("anomaly" or "failure:SOURCE"),
 * FEDMON_SCORE, FEDMON_THRESHOLD, FEDMON_ALARM (0/1), FEDMON_PROBABILITY
 * (failure rules), FEDMON_TOP_FEATURES ("name=contribution,..." most
 * first) and FEDMON_TIME (Unix seconds of the sample). Restarts run
 * `SYSTEMCTL --no-ask-password restart UNIT` the same way. Dry-run rules
 * log, at LOG_NOTICE, the command they would run and record DRY_RUN.
 */
typedef struct fm_actions fm_actions;

/* How a recorded run ended. */
typedef enum fm_action_result {
	FM_ACTION_RESULT_OK = 0,  /* logged, or exited 0 */
	FM_ACTION_RESULT_FAILED,  /* exited nonzero (code) or killed by a
	                           * signal (code = -signal) */
	FM_ACTION_RESULT_TIMEOUT, /* ran past timeout_ms, killed */
	FM_ACTION_RESULT_ERROR,   /* could not be started (code: -errno) */
	FM_ACTION_RESULT_DRY_RUN, /* would have run */
	FM_ACTION_RESULT_COUNT
} fm_action_result;

/* Stable lowercase names: "log", "hook", "restart"; "ok", "failed",
 * "timeout", "error", "dry_run"; NULL when out of range. */
const char *fm_action_kind_name(unsigned kind);
const char *fm_action_result_name(unsigned result);

/* What the rules look at, one sample's worth. */
typedef struct fm_actions_input {
	int64_t mono_ns; /* of the sample */
	int64_t real_ns;
	bool ready; /* the detector is trained */
	bool alarm;
	float score;
	float threshold;
	uint32_t n_top;
	uint32_t top[FM_LEARNER_TOP]; /* feature indices, most first */
	float top_contrib[FM_LEARNER_TOP];
	bool failure_trained[FM_LABEL_COUNT];
	float failure_probability[FM_LABEL_COUNT];
} fm_actions_input;

/* Fills *ret from a learner snapshot and the sample's times. */
void fm_actions_input_from_learner(const fm_learner_status *st,
    int64_t mono_ns, int64_t real_ns, fm_actions_input *ret);

typedef struct fm_action_record {
	int64_t real_ns; /* when the run started */
	char rule[FM_ACTIONS_NAME_BYTES];
	fm_action_kind kind;
	fm_action_result result;
	int code;             /* see fm_action_result */
	uint32_t duration_ms; /* start to end (0 for log and dry-run) */
	float score;          /* the value that fired it: score or
	                       * probability */
} fm_action_record;

typedef struct fm_actions_rule_status {
	char name[FM_ACTIONS_NAME_BYTES];
	fm_action_kind kind;
	bool dry_run;
	bool holding;            /* the condition holds now */
	bool running;            /* a run is in progress */
	uint64_t runs[FM_ACTION_RESULT_COUNT]; /* finished runs by result */
	uint64_t suppressed;     /* prevented by cooldown, cap or a run in
	                          * progress */
	int64_t last_run_real_ns; /* 0 = never */
} fm_actions_rule_status;

typedef struct fm_actions_status {
	uint32_t n_rules;
	fm_actions_rule_status rules[FM_ACTIONS_RULES_MAX];
	uint32_t n_recent;                          /* records in recent[] */
	fm_action_record recent[FM_ACTIONS_RECENT]; /* newest first */
} fm_actions_status;

/* Checks one rule on its own (what the config parser and
 * fm_actions_new() call). Returns 0, or -EINVAL with why[FM_INI_WHY_BYTES]
 * naming the key. */
int fm_action_rule_check(const fm_action_rule *r, char *why) FM_WUR;

/*
 * Validates the rules (names unique; each as fm_action_rule_check()) and
 * starts the worker thread. rules[n] is copied. systemctl is the absolute
 * path of the systemctl binary (copied); dry_run makes every rule a
 * dry run. On success *ret owns a new fm_actions; on failure *ret is
 * untouched. Errors: -EINVAL, -ENOMEM, or the errno of creating the
 * thread. n may be 0 (nothing to do, status still works).
 */
int fm_actions_new(const fm_action_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run, fm_actions **ret) FM_WUR;

/* Stops the worker, killing a running hook as on a timeout, and frees a.
 * NULL-safe; returns NULL. */
fm_actions *fm_actions_free(fm_actions *a);

/* Evaluates every rule against one sample and queues the runs due.
 * Never blocks on a run and never allocates. The sampling thread only. */
void fm_actions_on_sample(fm_actions *a, const fm_actions_input *in);

/*
 * Replaces the rules (SIGHUP): validated as by fm_actions_new(); a rule
 * keeping its name keeps its counters, cooldown and hourly history; the
 * recent records are kept. On error the running rules stay. The sampling
 * thread only. Returns 0, -EINVAL, -ENOMEM.
 */
int fm_actions_reload(fm_actions *a, const fm_action_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run) FM_WUR;

/* Fills *ret with a snapshot; any thread. */
void fm_actions_status_get(fm_actions *a, fm_actions_status *ret);

/* Whether a rule of kind restart in c names unit (what the packaged
 * polkit rule asks, through `fedmon-agent --may-restart UNIT`). */
bool fm_agent_config_may_restart(const fm_agent_config *c, const char *unit);

/* ---- live counters of the sampling loop (agent/live.c) --------------- */

/*
 * What the sampling thread knows that the control socket and /metrics
 * show: the last sample, counts, and a histogram of sample read times.
 * Written by the sampling thread once per sample, read from any thread.
 */
#define FM_LIVE_BUCKETS 10 /* histogram buckets below +Inf */

/* The buckets' upper bounds in seconds, ascending (Prometheus "le"). */
extern const double fm_live_bucket_le[FM_LIVE_BUCKETS];

typedef struct fm_live_snapshot {
	int64_t start_real_ns; /* when the agent started */
	int64_t start_mono_ns;
	uint64_t samples; /* taken */
	uint64_t failed;  /* with no source readable */
	fm_sample last;   /* the latest sample (all masked before one) */
	char failing[128]; /* fm_sampler_failing() at the latest sample */
	/* read times: count per bucket (not cumulative) and +Inf last */
	uint64_t read_bucket[FM_LIVE_BUCKETS + 1];
	double read_sum_seconds;
} fm_live_snapshot;

typedef struct fm_live fm_live;

/* Allocates live counters stamped with the current time. Errors:
 * -ENOMEM. */
int fm_live_new(fm_live **ret) FM_WUR;
fm_live *fm_live_free(fm_live *l);

/* Records a sample (failed: the sampler read nothing; failing: the
 * sources that failed, as fm_sampler_failing(), copied, truncated). */
void fm_live_on_sample(
    fm_live *l, const fm_sample *s, bool failed, const char *failing);

/* Copies the counters into *ret; any thread. */
void fm_live_get(fm_live *l, fm_live_snapshot *ret);

/* ---- what the control socket and /metrics read ------------------------ */

/*
 * The running agent's parts, borrowed (they outlive every reader). Any
 * part but live may be NULL: learning off, no aggregator, no actions
 * configured. Every reader goes through the parts' thread-safe getters.
 */
typedef struct fm_agent_view {
	fm_live *live;
	fm_learner *learner;
	fm_labels *labels;
	fm_federation *fed;
	fm_actions *actions;
	const char *missing;      /* fm_sampler_missing() */
	uint32_t interval_ms;
	uint32_t min_train_rows;  /* samples before the first training */
	const char *aggregator;   /* the URL, "" when standalone */
	const char *metrics_url;  /* "http://127.0.0.1:PORT/metrics", "" off */
	const char *state_dir;
	const char *config_path;  /* "" = built-in defaults */
} fm_agent_view;

/*
 * Health (agent/health.c): what is wrong with the running agent, for
 * fedmonctl status (exit 1 "degraded") and /metrics (fedmon_agent_healthy).
 * Fills problems[max] with one short sentence each (e.g. "collector
 * pressure missing", "aggregator unreachable since 12:03:44", "detector
 * not trained yet: 312 of 600 samples") and returns how many; 0 = healthy.
 */
#define FM_AGENT_PROBLEMS_MAX  8
#define FM_AGENT_PROBLEM_BYTES 128

uint32_t fm_agent_problems(const fm_agent_view *v,
    char problems[][FM_AGENT_PROBLEM_BYTES], uint32_t max);

/* ---- the control socket (agent/control.c) ----------------------------- */

/*
 * fedmonctl talks to the running agent over NNG REP on ipc://PATH with
 * proto/'s control messages (one request, one reply): status, the current
 * sample, and the operator's failure label. The socket file is mode 0660,
 * owned by group gid ((gid_t)-1: the process's own). A thread of its own
 * serves it; requests are bounded (proto/'s control caps).
 */
#define FM_CONTROL_SOCKET "control.sock" /* in runtime_dir */

/* How often the thread checks that its socket still delivers requests
 * (a probe dials it and sends one). NNG 1.5's ipc listener stops
 * delivering after a client that closes before the handshake (nng issue
 * #1518): two failed probes in a row and a new listener replaces it, so a
 * local client cannot cut fedmonctl off for much longer than this. A
 * probe costs about a millisecond of CPU: hence not more often. */
#define FM_CONTROL_CHECK_MS 60000

typedef struct fm_control fm_control;

/* Listens on ipc://path (a stale socket file left by a dead agent is
 * replaced; a live agent's is not: -EADDRINUSE) and starts the thread.
 * view is copied; its parts are borrowed. On success *ret owns it.
 * Errors: -EINVAL, -EADDRINUSE, -EACCES, -EPERM (chown), -ENOMEM. */
int fm_control_new(const char *path, gid_t gid, const fm_agent_view *view,
    fm_control **ret) FM_WUR;

/* Sets how often the socket is checked (ms, at least 100; default
 * FM_CONTROL_CHECK_MS), from the next check on. -EINVAL out of range. */
int fm_control_set_check_ms(fm_control *c, uint32_t ms) FM_WUR;

/* Stops the thread, closes the socket, removes the socket file.
 * NULL-safe; returns NULL. */
fm_control *fm_control_free(fm_control *c);

/* ---- Prometheus /metrics (agent/metrics.c) ---------------------------- */

#define FM_METRICS_DEFAULT_LISTEN "127.0.0.1:9741"

/* Renders the agent's metrics in the Prometheus text format 0.0.4 into
 * *ret (malloc'd, NUL-terminated, the caller frees) of *ret_len bytes.
 * Errors: -ENOMEM. */
int fm_agent_metrics_render(
    const fm_agent_view *v, char **ret, size_t *ret_len) FM_WUR;

/* ---- the sampling loop ---------------------------------------------- */

typedef struct fm_loop_hooks {
	/* Called after each sample is pushed into the history. */
	void (*on_sample)(void *userdata, const fm_sample *s);
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
 * The deadline following now on the grid start + k * period_ns (k >= 1):
 * absolute, so sleeping to it never accumulates drift; deadlines already
 * in the past are skipped, not caught up in a burst.
 */
int64_t fm_loop_next_deadline(
    int64_t start_ns, int64_t period_ns, int64_t now_ns);

/*
 * Samples every period_ms on CLOCK_MONOTONIC absolute deadlines until
 * max_ticks samples were taken (0: no limit) or hooks->keep_running
 * returns false (checked after every tick and every interrupted sleep, so
 * a signal handler's flag stops it promptly). Each sample goes into
 * history (may be NULL) and to hooks->on_sample. Allocates nothing.
 * Returns 0, or -EINVAL for a zero period. *stats (may be NULL) is filled.
 */
int fm_loop_run(fm_sampler *s, fm_history *h, uint32_t period_ms,
    uint64_t max_ticks, const fm_loop_hooks *hooks,
    fm_loop_stats *stats) FM_WUR;

#endif
