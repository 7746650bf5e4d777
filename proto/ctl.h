/*
 * proto/ctl.h: the control socket's messages (proto/control.proto,
 * proto/ctl.c). Part of proto's public interface: include
 * "proto/proto.h", which includes this file.
 */
#ifndef FM_PROTO_CTL_H
#define FM_PROTO_CTL_H

#ifndef FM_PROTO_H
#error "include proto/proto.h, not proto/ctl.h"
#endif

/*
 * fedmonctl asks the running agent, over the agent's local control
 * socket (whose file mode guards it: these messages are not sealed), one
 * request and gets one reply: the agent's status, its current sample, or
 * the outcome of the operator's failure label.
 *
 * The structs are fixed-size and own nothing: every list has a cap
 * (FM_PROTO_CTL_*_MAX) and every text a size; text is printable ASCII
 * (0x20-0x7e, it goes to a terminal), NUL-terminated. Floats are carried
 * as they are (NaN is a masked feature). The encoders write every field
 * (a zero field costs nothing on the wire), so a reply carries whatever
 * parts the caller filled in; the decoders fill every field they find.
 *
 * Errors of the decoders (on any error but -EPROTONOSUPPORT, *ret is
 * left zeroed):
 *   -EMSGSIZE         longer than FM_PROTO_CTL_{REQUEST,REPLY}_MAX_BYTES
 *                     (checked before anything is read)
 *   -EBADMSG          not a valid encoding; version 0 (absent); a kind
 *                     out of range; a list over its cap, or the lists of
 *                     one table of different lengths; text too long or
 *                     not printable; an encoding needing more memory to
 *                     decode than the budget of proto-int.h
 *   -EPROTONOSUPPORT  a version other than FM_PROTO_CTL_VERSION, the
 *                     message otherwise valid: *ret is filled, so the
 *                     agent can answer which version it speaks
 *   -ENOMEM
 * Errors of the encoders: -EINVAL (a field the decoder would refuse:
 * version 0, kind out of range, a count over its cap, text without its
 * NUL within its size or not printable), -EMSGSIZE, -ENOMEM.
 * Everything here is pure and thread-safe.
 */
#define FM_PROTO_CTL_VERSION 1u

#define FM_PROTO_CTL_REQUEST_MAX_BYTES 64
#define FM_PROTO_CTL_REPLY_MAX_BYTES   (64u * 1024)

#define FM_PROTO_CTL_TEXT_BYTES    256 /* paths, URLs, lists, messages */
#define FM_PROTO_CTL_NAME_BYTES    48  /* names, units, kinds, results */
#define FM_PROTO_CTL_PROBLEM_BYTES 128 /* one problem, a short sentence */
#define FM_PROTO_CTL_PROBLEMS_MAX   8
#define FM_PROTO_CTL_TOP_MAX        8   /* features named for a score */
#define FM_PROTO_CTL_PREDICTORS_MAX 8   /* failure predictors */
#define FM_PROTO_CTL_RULES_MAX      32  /* action rules */
#define FM_PROTO_CTL_RECENT_MAX     32  /* recent actions */
#define FM_PROTO_CTL_FEATURES_MAX   128 /* features of a sample */

enum fm_proto_ctl_kind {
	FM_PROTO_CTL_STATUS = 1,   /* everything `fedmonctl status` shows */
	FM_PROTO_CTL_FEATURES = 2, /* the current sample */
	FM_PROTO_CTL_LABEL = 3,    /* the operator's failure label */
	FM_PROTO_CTL_ACCEPT = 4,   /* take the current state as normal */
};

typedef struct fm_proto_ctl_request {
	uint32_t version; /* FM_PROTO_CTL_VERSION */
	uint32_t kind;    /* enum fm_proto_ctl_kind */
	bool failing;     /* LABEL: a failure (true), or it is over */
} fm_proto_ctl_request;

/* A feature's share of the anomaly score. */
typedef struct fm_proto_ctl_top {
	char name[FM_PROTO_CTL_NAME_BYTES];
	float contrib; /* to the last sample */
	float event;   /* summed over the event in progress (0: none) */
} fm_proto_ctl_top;

/* One label source's failure predictor. */
typedef struct fm_proto_ctl_predictor {
	char name[FM_PROTO_CTL_NAME_BYTES]; /* "oom", "fs_full", ... */
	bool enabled;      /* the source watches */
	bool trained;      /* the predictor has onsets to learn from */
	bool failing;      /* the source sees a failure now */
	float probability; /* of an onset within the horizon */
	uint64_t onsets;   /* the predictor learned from */
	uint64_t events;   /* onsets the source reported since start */
	bool trusted;      /* its probability may drive an action */
} fm_proto_ctl_predictor;

/* One action rule and its counters. */
typedef struct fm_proto_ctl_rule {
	char name[FM_PROTO_CTL_NAME_BYTES];
	char kind[FM_PROTO_CTL_NAME_BYTES]; /* "log", "hook", "restart" */
	bool dry_run;
	bool holding; /* its condition holds now */
	bool running; /* a run is in progress */
	uint64_t ok, failed, timeout, error, dry_runs; /* runs by result */
	uint64_t suppressed;
	int64_t last_run_real_ns; /* 0 = never */
} fm_proto_ctl_rule;

/* One action taken. */
typedef struct fm_proto_ctl_action {
	int64_t real_ns; /* when it started */
	char rule[FM_PROTO_CTL_NAME_BYTES];
	char kind[FM_PROTO_CTL_NAME_BYTES];
	char result[FM_PROTO_CTL_NAME_BYTES]; /* "ok", "failed", ... */
	int32_t code;         /* exit status, -signal or -errno */
	uint32_t duration_ms;
	float value;          /* the score or probability that fired it */
} fm_proto_ctl_action;

typedef struct fm_proto_ctl_status {
	/* the agent */
	char agent_version[FM_PROTO_VERSION_TEXT_BYTES];
	uint32_t pid;
	int64_t start_real_ns;
	uint64_t uptime_ms;
	char config_path[FM_PROTO_CTL_TEXT_BYTES]; /* "" = built-in defaults */
	char state_dir[FM_PROTO_CTL_TEXT_BYTES];
	char metrics_url[FM_PROTO_CTL_TEXT_BYTES]; /* "" = not served */
	uint32_t interval_ms;
	uint32_t n_problems; /* 0 = healthy */
	char problems[FM_PROTO_CTL_PROBLEMS_MAX][FM_PROTO_CTL_PROBLEM_BYTES];
	/* sampling */
	uint64_t samples;
	uint64_t samples_failed;
	char collectors_missing[FM_PROTO_CTL_TEXT_BYTES]; /* comma-separated */
	char collectors_failing[FM_PROTO_CTL_TEXT_BYTES];
	int64_t last_sample_real_ns; /* 0 = none yet */
	uint64_t last_sample_age_ms;
	/* the anomaly detector */
	bool learning; /* configured */
	bool ready;    /* trained: scores the samples */
	bool training; /* a training runs now */
	bool alarm;
	uint32_t trainings;
	uint32_t train_failures;
	int32_t train_error;     /* of the last failed training, or 0 */
	int64_t trained_real_ns; /* 0 = never */
	uint32_t rows_held;      /* samples kept to train on */
	uint32_t min_rows;       /* before the first training */
	float score;
	float threshold;
	uint64_t scored;
	uint64_t alarms;
	uint64_t events;       /* alarms raised and new faults during one */
	int64_t event_real_ns; /* the event in progress began; 0 = none */
	uint32_t alarm_seconds; /* the alarm has been up */
	uint32_t pending_rows;  /* its samples waiting to be judged */
	bool accepted;          /* it was taken as a new normal */
	uint32_t held_labels;   /* FM_LABEL_BIT: failures keeping it from that */
	uint64_t accepts;       /* alarms taken as normal */
	uint64_t seen_rows;     /* samples the learner has seen */
	uint64_t mature_rows;   /* ... before its model is mature (0 = off) */
	float young_prior;      /* the typical scales' share in the model's
	                         * scales, [0, 1); 0 = trained mature */
	uint32_t n_top;
	fm_proto_ctl_top top[FM_PROTO_CTL_TOP_MAX]; /* most first */
	uint32_t n_predictors;
	fm_proto_ctl_predictor predictors[FM_PROTO_CTL_PREDICTORS_MAX];
	/* federation */
	bool federating; /* an aggregator is configured */
	char aggregator[FM_PROTO_CTL_TEXT_BYTES];
	bool reachable;
	int64_t last_contact_real_ns; /* 0 = never */
	uint64_t round;
	uint64_t fleet_version;
	uint64_t applied_version;
	uint64_t updates_sent;
	uint64_t updates_accepted;
	uint64_t updates_refused;
	int32_t fed_error;                       /* of the last exchange */
	char fed_reason[FM_PROTO_CTL_NAME_BYTES]; /* of the last refusal */
	uint64_t exchanges;
	uint64_t fed_failures;
	/* actions */
	bool acting; /* the actions run (rules may still be none) */
	uint32_t n_rules;
	fm_proto_ctl_rule rules[FM_PROTO_CTL_RULES_MAX];
	uint32_t n_recent;
	fm_proto_ctl_action recent[FM_PROTO_CTL_RECENT_MAX]; /* newest first */
} fm_proto_ctl_status;

typedef struct fm_proto_ctl_feature {
	char name[FM_PROTO_CTL_NAME_BYTES];
	char unit[FM_PROTO_CTL_NAME_BYTES];
	float value; /* NAN = masked */
} fm_proto_ctl_feature;

/* A sample. */
typedef struct fm_proto_ctl_features {
	int64_t real_ns; /* when it was taken; 0 = none yet */
	uint32_t schema_version;
	uint32_t n;
	fm_proto_ctl_feature f[FM_PROTO_CTL_FEATURES_MAX];
} fm_proto_ctl_features;

typedef struct fm_proto_ctl_reply {
	uint32_t version; /* FM_PROTO_CTL_VERSION */
	uint32_t kind;    /* the request's, or 0 when it was not understood */
	int32_t error;    /* 0, or a negative errno: the request failed */
	char message[FM_PROTO_CTL_TEXT_BYTES]; /* with an error: why */
	bool label_changed;           /* LABEL: false = it already was so */
	fm_proto_ctl_status status;   /* STATUS */
	fm_proto_ctl_features features; /* FEATURES */
} fm_proto_ctl_reply;

/* Encode into *ret_buf (malloc'd, never NULL; the caller frees) of
 * *ret_len bytes. Errors: see above. */
int fm_proto_ctl_request_encode(const fm_proto_ctl_request *m,
    uint8_t **ret_buf, size_t *ret_len) FM_WUR;
int fm_proto_ctl_reply_encode(const fm_proto_ctl_reply *m, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/* Decode buf[len] into *ret. Errors: see above. */
int fm_proto_ctl_request_decode(
    const uint8_t *buf, size_t len, fm_proto_ctl_request *ret) FM_WUR;
int fm_proto_ctl_reply_decode(
    const uint8_t *buf, size_t len, fm_proto_ctl_reply *ret) FM_WUR;

/* Copies src into dst[size] as control text: bytes outside printable
 * ASCII become '?', and it is cut to fit (with its NUL). NULL is "". */
void fm_proto_ctl_text_copy(char *dst, size_t size, const char *src);

#endif
