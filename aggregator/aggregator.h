/*
 * aggregator: the core of fedmon-aggregator, as a library the daemon,
 * fedmon-replay (in-process, over inproc://), the tests and the benchmark
 * share. It answers sealed HELLO and UPDATE envelopes, runs rounds as
 * phases, merges updates into the fleet's global model, and keeps what
 * matters crash-safe in its state directory.
 *
 * Rounds. One explicit state machine (fm_agg_tick()):
 *
 *   OPEN -> COLLECT -> AGGREGATE -> PERSIST -> PUBLISH -> IDLE -> OPEN ...
 *
 * OPEN numbers the round (one above the last round ever opened) and
 * writes that number to the state file before any update is taken, so
 * after a crash the next round is fresh and updates for the crashed one
 * are ROUND_CLOSED. COLLECT takes updates until `quorum` were accepted or
 * the deadline passes; at the deadline with fewer than `min_updates` the
 * round is abandoned (no new global model) and the next one opens at
 * once. Each accepted update goes to the aggregation rule as it comes
 * (FedAvg and FedAdam fold it into a weighted sum of deltas, so memory
 * does not grow with the agents); AGGREGATE asks the rule for a candidate
 * model, from round 1 on (the rule decides what a model's first round
 * makes: for both, the weighted mean of the models sent); PERSIST writes
 * it (a
 * failed write is retried at every tick; nothing is published that is
 * not on disk); PUBLISH makes it the global model, whose version is the
 * round that made it. IDLE pauses `interval_ms` while agents fetch it.
 * After `max_rounds` published rounds (0: never) no round opens again
 * and the last model is served in IDLE. Later phases (secure
 * aggregation's masking and unmasking) slot in between COLLECT and
 * AGGREGATE as further rows of the phase table in round.c.
 *
 * Checks, in order, each answered with its reason (proto.h). Before the
 * body is opened, with an unsealed ERROR: size over max_message_bytes
 * (TOO_LARGE), not an envelope (MALFORMED), another protocol version
 * (VERSION), a type that is not a request of proto's message table
 * (ERROR, ROUND, VERDICT: UNEXPECTED), another recipient (RECIPIENT), a
 * sender not enrolled (UNKNOWN_KEY), a timestamp outside the skew window
 * (CLOCK), a body that does not open with the sender's session
 * (BAD_SEAL), a sequence not above the highest seen from that sender, in
 * this process or before a restart (REPLAY). Then by the type's row of
 * the message table and its handler (aggregator/handle.c): the body
 * decoded with the row's codec (MALFORMED), the handler's own check of
 * it, the round in a phase the row allows (ROUND_CLOSED), the handler's
 * answer. A HELLO is taken in every phase and answered with a sealed
 * ROUND; its refusals (MALFORMED) are unsealed. An UPDATE is answered
 * with a sealed VERDICT, also when refused: body not decoding, 0 samples
 * or no parameters (MALFORMED), a phase other than COLLECT or another
 * round (ROUND_CLOSED), already contributed (DUPLICATE), another layout
 * or length (LAYOUT), trained
 * from another global version (STALE_BASE), delta norm over clip_norm
 * with norm_action refuse (NORM; with clip it is scaled to the bound and
 * the verdict says clipped). The sample weight is capped at
 * max_samples_weight. Every refusal is counted by reason.
 *
 * Replay marks. The highest sequence of every sender is appended to
 * STATE_DIR/aggregator.journal with write(2) before the reply leaves, so
 * it survives the process being killed; it is fsync'd with every state
 * write, when the marks are folded into the state file and the journal
 * emptied. After a power loss (not a kill) the marks of the last moments
 * may be gone; what could then be replayed is a HELLO (harmless) or an
 * UPDATE for a round that no longer is open (ROUND_CLOSED). A full disk
 * refuses the request (INTERNAL) whose mark cannot be written whole, and
 * cuts the torn record off again (journal.c); fm_agg_new() drops bytes
 * of the journal that hold no whole record, whatever their cause, and
 * says how many in fm_agg_status.
 *
 * State. STATE_DIR/aggregator.state (see state.c) holds the last round
 * opened, the global model (version, layout, parameters), the rule's
 * optimiser state, the rounds published and the replay marks; it is
 * replaced crash-safe (fm_file_write_atomic). A state file that is
 * corrupt, from a newer format, or holds another layout than the one the
 * configuration pins makes fm_agg_new() fail: the aggregator never
 * silently starts over. The operator's way out is to move the file aside
 * (documented in configs/aggregator.conf).
 *
 * Time. now_ms arguments are the wall clock in ms since the epoch: it
 * stamps replies, checks freshness and drives deadlines.
 *
 * Threads. Every function on an fm_agg takes its lock, so status and
 * model readers (a /metrics thread) may run beside the serving thread.
 * The event handler is called with the lock held: it must not call back.
 *
 * Library: nothing here logs above debug; the daemon logs the events.
 */
#ifndef FM_AGGREGATOR_H
#define FM_AGGREGATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "net/net.h"
#include "proto/proto.h"

#define FM_AGG_PATH_BYTES   256
#define FM_AGG_LISTEN_MAX   8
#define FM_AGG_STATE_FILE   "aggregator.state"
#define FM_AGG_JOURNAL_FILE "aggregator.journal"
/* Replay marks kept at most (senders ever seen); the state file refuses
 * more. */
#define FM_AGG_MAX_PEERS (4u * FM_CRYPTO_KEYRING_MAX_KEYS)
/* The shortest poll_ms ever suggested to an agent. */
#define FM_AGG_POLL_MIN_MS 50u

enum fm_agg_rule_id {
	FM_AGG_RULE_FEDAVG = 1,  /* G += lr * weighted mean delta */
	FM_AGG_RULE_FEDADAM = 2, /* Reddi et al. 2021, server Adam */
};

enum fm_agg_norm_action {
	FM_AGG_NORM_CLIP = 1,   /* scale the delta down to clip_norm */
	FM_AGG_NORM_REFUSE = 2, /* refuse the update (NORM) */
};

/* ---- configuration (aggregator.conf) --------------------------------- */

typedef struct fm_agg_config {
	/* [aggregator] */
	char key_file[FM_AGG_PATH_BYTES];                 /* daemon only */
	char authorized_agents[FM_AGG_PATH_BYTES];        /* daemon only */
	char state_dir[FM_AGG_PATH_BYTES];                /* "": memory only */
	char listen[FM_AGG_LISTEN_MAX][FM_NET_URL_BYTES]; /* daemon only */
	uint32_t n_listen;
	int log_level;              /* LOG_ERR .. LOG_DEBUG */
	uint32_t max_message_bytes; /* request cap, <= the envelope cap */
	uint32_t skew_ms;           /* freshness window, either way */
	/* /metrics: "ADDR:PORT" ("[v6]:PORT"; port 0 picks one), "" = off;
	 * daemon only */
	char metrics_listen[FM_AGG_PATH_BYTES];
	/* [round] */
	uint32_t quorum;          /* updates that close a round early;
	                           * 0: every enrolled key */
	uint32_t min_updates;     /* fewer at the deadline: abandoned */
	uint32_t deadline_ms;     /* COLLECT lasts at most this */
	uint32_t interval_ms;     /* IDLE pause after publishing */
	uint64_t max_rounds;      /* published rounds, then stop; 0: never */
	uint32_t poll_ms;         /* an idle agent's next HELLO, at most */
	uint32_t collect_poll_ms; /* the same while a round collects */
	uint32_t layout_id;       /* pinned model layout; 0: the first
	                           * accepted update's */
	/* [train]: settings sent to the agents */
	float prox_mu;        /* FedProx mu; 0: plain local training */
	uint32_t local_steps; /* 0: the agent's default */
	/* [aggregate] */
	uint32_t rule;    /* enum fm_agg_rule_id */
	double server_lr; /* 0: the rule's default (1, or 0.01) */
	double adam_beta1, adam_beta2, adam_tau;
	double clip_norm;     /* L2 bound on an update's delta; 0: none */
	uint32_t norm_action; /* enum fm_agg_norm_action */
	uint64_t max_samples_weight; /* FedAvg weight cap per update */
} fm_agg_config;

/* Fills *ret with the defaults documented in configs/aggregator.conf. */
void fm_agg_config_init(fm_agg_config *ret);

/* Every key of aggregator.conf: section, type, bounds, default,
 * description (aggregator/config.c; common/conf.h). */
extern const fm_conf_schema fm_agg_config_schema;

/*
 * Applies the keys of the INI file at path over *c, then those of its
 * drop-ins (the *.conf files in path.d/, in lexical order); on failure *c
 * may be partly changed. Returns 0, or a negative errno with
 * err[FM_INI_ERROR_BYTES] naming the file, line and key (see
 * fm_conf_load()).
 */
int fm_agg_config_load(fm_agg_config *c, const char *path, char *err) FM_WUR;

/* Writes *c as an aggregator.conf that loads back to the same
 * configuration (--dump-config). Returns 0, or -EINVAL / -EIO with
 * err[FM_INI_ERROR_BYTES] saying why (fm_conf_dump()). */
int fm_agg_config_dump(const fm_agg_config *c, FILE *f, char *err) FM_WUR;

/* Checks the keys against each other (e.g. min_updates <= quorum).
 * Returns 0 or -EINVAL with err[FM_INI_ERROR_BYTES] saying why. */
int fm_agg_config_check(const fm_agg_config *c, char *err) FM_WUR;

/* The lowercase name of a rule ("fedavg", "fedadam") or "unknown". */
const char *fm_agg_rule_name(uint32_t rule);

/* ---- the aggregator --------------------------------------------------- */

typedef struct fm_agg fm_agg;

/*
 * Creates an aggregator answering as self (borrowed: it must outlive the
 * aggregator) to the agents enrolled in kr (taken: owned by the
 * aggregator from the call on, success or failure). cfg is copied and
 * must pass fm_agg_config_check(). With a state_dir (which must exist)
 * it resumes from the state file and the journal there, or starts fresh
 * when neither exists. The first fm_agg_tick() (or request) opens a
 * round. On success *ret owns the aggregator. Errors: -EINVAL (cfg);
 * -EBADMSG (state file corrupt: truncated, checksum, values out of
 * range); -EPROTONOSUPPORT (state file of another format version);
 * -ESTALE (state holds another layout than cfg pins); these three are
 * the state file's only: the journal's torn or damaged records are
 * dropped, not refused. -EFBIG (journal over 64 MiB), the errno of
 * reading either file or of opening and repairing the journal, -ENOSPC
 * (more senders than FM_AGG_MAX_PEERS), -ENOMEM.
 */
int fm_agg_new(const fm_agg_config *cfg, const fm_crypto_identity *self,
    fm_crypto_keyring *kr, fm_agg **ret) FM_WUR;

/* Frees a (NULL-safe). Persists nothing: call fm_agg_persist() first to
 * keep the replay marks compacted. Returns NULL. */
fm_agg *fm_agg_free(fm_agg *a);

/*
 * Answers the request req[len] received at now_ms: first runs
 * fm_agg_tick(now_ms), then the checks listed at the top. Always yields
 * a reply in *ret_reply (malloc'd; the caller frees and sends it) of
 * *ret_len bytes: a sealed ROUND or VERDICT, or an unsealed ERROR.
 * Returns the reason the request was refused with (FM_PROTO_OK when it
 * was answered as asked; an UPDATE refused by a sealed VERDICT returns
 * that verdict's reason), a non-negative value; or a negative errno when
 * not even an ERROR could be built: -ENOMEM. req is only read.
 */
int fm_agg_handle(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len) FM_WUR;

/*
 * Runs the phase transitions due at now_ms (opening a round, closing it
 * at quorum or deadline, aggregating, persisting, publishing). Failures
 * (a state write) are reported as events and retried at the next tick.
 */
void fm_agg_tick(fm_agg *a, int64_t now_ms);

/*
 * Milliseconds from now_ms until the next timed transition (deadline,
 * end of IDLE, a retry), or UINT32_MAX when none is due (finished).
 */
uint32_t fm_agg_next_tick_ms(fm_agg *a, int64_t now_ms);

/*
 * Serves one request from the REP socket s: waits at most wait_ms (and
 * no longer than the next timed transition), handles the request, sends
 * the reply, then ticks; the wall clock is read here. Returns the number
 * of requests served (0 or 1), or a negative errno of the socket:
 * -ECANCELED (closed: stop serving); -EMSGSIZE (a request over the
 * socket's receive limit was dropped, counted TOO_LARGE), -ETIMEDOUT
 * (the reply could not be sent in time), -EIO, -ENOMEM, which the caller
 * may log and keep serving after. Holds the lock only while handling.
 */
int fm_agg_serve(fm_agg *a, fm_net_sock *s, uint32_t wait_ms) FM_WUR;

/*
 * Writes the state file now (and empties the journal) when there is a
 * state_dir; a no-op otherwise. For a clean shutdown. Returns 0 or the
 * negative errno of the write.
 */
int fm_agg_persist(fm_agg *a) FM_WUR;

/*
 * Replaces the enrolled keys with kr (taken, as in fm_agg_new()) and
 * drops every cached session; replay marks stay. A key removed is
 * refused (UNKNOWN_KEY) from the next request on. Never fails.
 */
void fm_agg_keyring_replace(fm_agg *a, fm_crypto_keyring *kr);

/* ---- events: what the daemon logs ------------------------------------- */

enum fm_agg_event_type {
	FM_AGG_EVENT_JOINED = 1,   /* first HELLO from key_id (label) in
	                            * this process */
	FM_AGG_EVENT_ROUND_OPENED, /* round, version */
	FM_AGG_EVENT_ACCEPTED,     /* key_id, round, samples, clipped, norm */
	FM_AGG_EVENT_REFUSED,      /* key_id (0 unknown), reason */
	FM_AGG_EVENT_ROUND_CLOSED, /* round, n_updates, by_deadline */
	FM_AGG_EVENT_ROUND_ABANDONED, /* round, n_updates (< min_updates) */
	FM_AGG_EVENT_PUBLISHED, /* round, version, n_updates, duration_ms */
	FM_AGG_EVENT_FINISHED,  /* max_rounds reached: version */
	FM_AGG_EVENT_FAILED,    /* what, error: a state or journal write
	                         * failed (retried) */
};

typedef struct fm_agg_event {
	enum fm_agg_event_type type;
	uint64_t round;
	uint64_t version;
	uint64_t key_id;
	const char *label; /* JOINED: the keyring's label or "" */
	uint32_t reason;   /* REFUSED */
	uint32_t n_updates;
	uint64_t samples; /* ACCEPTED: the weight used (capped) */
	double norm;      /* ACCEPTED: the delta's norm before clipping */
	bool clipped;
	bool by_deadline;    /* ROUND_CLOSED: deadline, not quorum */
	int64_t duration_ms; /* PUBLISHED: open to publish */
	const char *what;    /* FAILED: a verb phrase, "write the state
	                      * file", ... */
	const char *object;  /* FAILED: the path, or "" */
	int error;           /* FAILED: negative errno */
} fm_agg_event;

typedef void (*fm_agg_event_fn)(void *userdata, const fm_agg_event *ev);

/* Sets the function called for each event (NULL: none). Strings in an
 * event are valid during the call only. */
void fm_agg_set_event_handler(fm_agg *a, fm_agg_event_fn fn, void *userdata);

/* ---- status and model: for /metrics, fedmon-replay and tests ---------- */

enum fm_agg_phase {
	FM_AGG_PHASE_OPEN = 1,
	FM_AGG_PHASE_COLLECT,
	FM_AGG_PHASE_AGGREGATE,
	FM_AGG_PHASE_PERSIST,
	FM_AGG_PHASE_PUBLISH,
	FM_AGG_PHASE_IDLE,
};

/* A phase's lowercase name ("collect", ...), or "unknown". */
const char *fm_agg_phase_name(uint32_t phase);

typedef struct fm_agg_status {
	uint64_t round;     /* last round opened (0: none yet) */
	uint32_t phase;     /* enum fm_agg_phase */
	uint64_t version;   /* global model version (0: none) */
	uint32_t layout_id; /* 0 while none is fixed */
	uint32_t n_params;
	uint32_t participants;     /* updates accepted in the open round */
	uint64_t rounds_published; /* in the model's whole history */
	uint64_t rounds_abandoned; /* by this process */
	bool finished;             /* max_rounds reached */
	uint64_t requests;         /* handled by this process */
	uint64_t accepted;         /* updates accepted by this process */
	uint64_t clipped;          /* of which clipped */
	uint64_t rejections[FM_PROTO_REASON_COUNT]; /* by reason */
	int64_t last_round_ms; /* last published round, open to publish;
	                        * -1 none in this process */
	uint64_t enrolled;     /* keys in the keyring */
	uint64_t peers;        /* senders with a replay mark */
	/* What fm_agg_new() cut out of the replay journal: bytes in no
	 * whole record, and the runs they formed (about one record each) */
	uint64_t journal_dropped_bytes;
	uint64_t journal_dropped_runs;
} fm_agg_status;

/* Fills *ret with a consistent snapshot. Thread-safe. */
void fm_agg_status_get(fm_agg *a, fm_agg_status *ret);

/* A copy of the global model. */
typedef struct fm_agg_model {
	uint64_t round;   /* last round opened */
	uint64_t version; /* 0: no global model yet (params NULL) */
	uint32_t layout_id;
	uint32_t n_params;
	float *params; /* n_params floats, malloc'd */
} fm_agg_model;

/* Copies the global model into *ret (clear it with fm_agg_model_clear()).
 * Returns 0 or -ENOMEM (*ret then zeroed). Thread-safe. */
int fm_agg_model_get(fm_agg *a, fm_agg_model *ret) FM_WUR;

/* Frees what m holds and zeroes it; idempotent. */
void fm_agg_model_clear(fm_agg_model *m);

/* ---- Prometheus /metrics (aggregator/metrics.c) ----------------------- */

#define FM_AGG_METRICS_DEFAULT_LISTEN "127.0.0.1:9742"

/*
 * Renders the aggregator's metrics in the Prometheus text format 0.0.4
 * from one fm_agg_status snapshot: round, phase, global model version,
 * participants in the open round, rounds published and abandoned,
 * requests, updates accepted and clipped, rejections by reason (every
 * reason, zeros included), the last round's duration (once a round
 * published in this process), enrolled keys, and the process's own cost.
 * *ret (malloc'd, NUL-terminated; the caller frees) holds *ret_len bytes.
 * Thread-safe, as fm_agg_status_get(). Errors: -ENOMEM.
 */
int fm_agg_metrics_render(fm_agg *a, char **ret, size_t *ret_len) FM_WUR;

#endif
