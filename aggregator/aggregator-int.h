/*
 * aggregator internals, shared by the files of aggregator/ only (and its
 * tests): the object, the peer table, the rules' ops table, the state
 * file, the replay journal and the request handlers.
 */
#ifndef FM_AGGREGATOR_INT_H
#define FM_AGGREGATOR_INT_H

#include <pthread.h>

#include "aggregator/aggregator.h"

/* A failed state or journal write is retried this much later. */
#define FMI_AGG_RETRY_MS 1000

/* ---- rules: one ops table per file (rule-*.c), listed in round.c ------ */

/*
 * An aggregation rule turns a round's verified updates into the next
 * global model. Its lifecycle, driven by round.c with a->lock held:
 *
 *   begin   the round takes its first update (so the dimensions are known:
 *           a model's first round adopts them from that update); the
 *           rule allocates its state for the round.
 *   add     once per accepted update, in the order accepted.
 *   finish  at AGGREGATE: the candidate model (and the rule's persisted
 *           vectors) from the state. It does not change the state, so a
 *           failed finish is simply called again at the next retry.
 *   end     the round is over (aggregated or abandoned): frees the state.
 *
 * A round that takes no update never begins. Persistence: a rule keeps
 * n_opt vectors of n floats between rounds (FedAdam's moments); the
 * aggregator stores them in the state file (state.c) and hands them to
 * begin, zeroed when the file holds another rule's. What a round holds
 * besides is not persisted: a round open at a crash is never resumed (the
 * next one is fresh, aggregator.h), so nothing of a rule's round state is
 * replayed at start-up. The plain rules keep a running weighted sum
 * (rule-sum.c), whose memory does not grow with the agents; a rule that
 * needs every update (a coordinate median) may buffer them.
 *
 * To add a rule: one file exporting an fmi_agg_rule, one row in rules[]
 * (round.c), an id in enum fm_agg_rule_id; the [aggregate] rule key
 * selects it by name.
 */

#define FMI_AGG_MAX_OPT_VECS 2

/* What a round starts from. The pointers are borrowed until end. */
typedef struct fmi_agg_rule_round {
	size_t n;            /* parameters */
	const float *global; /* n; NULL: no global model yet (round 1) */
	/* the rule's n_opt persisted vectors, n each; NULL with global */
	const float *opt[FMI_AGG_MAX_OPT_VECS];
	double lr; /* server learning rate (config or the rule's default) */
	double beta1, beta2, tau; /* [aggregate] adam_* */
	uint32_t quorum; /* updates that close the round early: a size hint
	                  * only (a keyring reload may change it) */
} fmi_agg_rule_round;

/* One verified update (checked, weighed, clipped). Borrowed during add. */
typedef struct fmi_agg_rule_update {
	const float *params; /* n: a model, or a delta when base is NULL */
	const float *base;   /* n: the model it was trained from; NULL */
	double weight;       /* n_i: samples, capped at max_samples_weight */
	double scale;        /* clip factor in (0, 1]; its delta is
	                      * scale * (params - base) */
} fmi_agg_rule_update;

/* params[i] - base[i] in double (params[i] without a base): the update's
 * delta before the clip factor. */
static inline double
fmi_agg_rule_update_diff(const fmi_agg_rule_update *u, size_t i)
{
	double d = (double)u->params[i];

	if (u->base)
		d -= (double)u->base[i];
	return d;
}

typedef struct fmi_agg_rule {
	uint32_t id;      /* enum fm_agg_rule_id, in the state file */
	const char *name; /* the [aggregate] rule value */
	double default_lr;
	uint32_t n_opt; /* vectors persisted between rounds, <= MAX_OPT */
	/* Allocates the round's state into *ret_state. 0 or -ENOMEM. */
	int (*begin)(const fmi_agg_rule_round *rd, void **ret_state);
	/* Takes one update. 0, or a negative errno (-ENOMEM) with the
	 * state as it was: the update is then refused (INTERNAL). */
	int (*add)(void *state, const fmi_agg_rule_update *u);
	/* Writes the candidate model next[n] and the persisted vectors
	 * next_opt[k][n] (k < n_opt). Called after at least one add. 0 or a
	 * negative errno (-ENOMEM: retried). Non-finite values are the
	 * caller's to catch. */
	int (*finish)(void *state, float *next, float *const *next_opt);
	/* Frees the state (not NULL). */
	void (*end)(void *state);
} fmi_agg_rule;

extern const fmi_agg_rule fmi_agg_rule_fedavg;
extern const fmi_agg_rule fmi_agg_rule_fedadam;

/* The rule with that id or name, or NULL. */
const fmi_agg_rule *fmi_agg_rule_get(uint32_t id);
const fmi_agg_rule *fmi_agg_rule_find(const char *name);

/*
 * rule-sum.c: the running weighted sum the plain rules share, as their
 * begin, add and end. A rule's finish reads it as fmi_agg_sum.
 */
typedef struct fmi_agg_sum {
	fmi_agg_rule_round rd; /* a copy; its pointers borrowed */
	double wsum;           /* sum of w_i */
	double acc[];          /* rd.n: sum of w_i * scale_i * diff_i */
} fmi_agg_sum;

int fmi_agg_sum_begin(const fmi_agg_rule_round *rd, void **ret_state) FM_WUR;
int fmi_agg_sum_add(void *state, const fmi_agg_rule_update *u) FM_WUR;
void fmi_agg_sum_end(void *state);

/* The weighted mean acc / wsum into next[rd.n]: round 1 of the plain
 * rules, the mean of the models sent. */
void fmi_agg_sum_mean(const fmi_agg_sum *s, float *next);

/* ---- peers: one slot per sender key id (open addressing) -------------- */

typedef struct fmi_agg_peer {
	uint64_t id;                /* key id; 0: free slot */
	uint64_t seq;               /* replay mark: highest sequence seen */
	uint64_t contributed;       /* round of its last accepted update */
	fm_crypto_session *session; /* cached; NULL until needed */
	bool joined;                /* HELLO seen by this process */
} fmi_agg_peer;

typedef struct fmi_agg_peers {
	fmi_agg_peer *slots; /* cap slots, a power of two */
	size_t cap;
	size_t n;
	size_t n_sessions; /* cached sessions, <= FMI_AGG_SESSIONS_MAX */
} fmi_agg_peers;

/* Sessions cached at most. Each holds its keys in guarded memory (four
 * mappings: crypto.h), and a process has about 65,000 mappings, so the
 * cache is emptied when full and sessions are derived again as agents
 * come back (one X25519 multiplication each). */
#define FMI_AGG_SESSIONS_MAX 8192u

/* The peer with id, or NULL. */
fmi_agg_peer *fmi_agg_peers_find(fmi_agg_peers *t, uint64_t id);

/* The peer with id, added (zeroed) when missing. id != 0. Errors:
 * -ENOMEM, -ENOSPC (FM_AGG_MAX_PEERS reached). */
int fmi_agg_peers_get(fmi_agg_peers *t, uint64_t id, fmi_agg_peer **ret) FM_WUR;

/* Frees every cached session (keyring reload). */
void fmi_agg_peers_drop_sessions(fmi_agg_peers *t);

/* Frees the table and its sessions; idempotent. */
void fmi_agg_peers_clear(fmi_agg_peers *t);

/* ---- the state file (state.c) ----------------------------------------- */

typedef struct fmi_agg_mark {
	uint64_t id;
	uint64_t seq;
} fmi_agg_mark;

typedef struct fmi_agg_state {
	uint32_t rule;        /* whose optimiser state opt[] holds */
	uint64_t last_opened; /* last round opened */
	uint64_t version;     /* global model version; 0: none */
	uint64_t rounds_published;
	uint32_t layout_id; /* 0 while none is fixed */
	uint32_t n_params;  /* 0 when version is 0 */
	uint32_t n_opt;     /* optimiser vectors (0 when version 0) */
	float *params;      /* n_params (NULL when version 0) */
	float *opt[FMI_AGG_MAX_OPT_VECS];
	uint64_t n_marks;
	fmi_agg_mark *marks; /* ids strictly increasing, never 0 */
} fmi_agg_state;

#define FMI_AGG_STATE_HEADER_BYTES 72
#define FMI_AGG_STATE_FORMAT       1u
/* The largest state file read (every cap at once). */
#define FMI_AGG_STATE_MAX_BYTES                                                \
	(FMI_AGG_STATE_HEADER_BYTES +                                          \
	    (size_t)FM_PROTO_MAX_PARAMS * 4 * (1 + FMI_AGG_MAX_OPT_VECS) +     \
	    (size_t)FM_AGG_MAX_PEERS * 16 + 4)

/*
 * Encodes s into *ret_buf (malloc'd) of *ret_len bytes. Borrowed
 * pointers only. Errors: -EINVAL (s breaks the rules decode checks),
 * -ENOMEM.
 */
int fmi_agg_state_encode(
    const fmi_agg_state *s, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/*
 * Decodes buf[len] into *ret, which then owns its arrays (free with
 * fmi_agg_state_clear()). Pure. Errors: -EBADMSG (bad magic, length,
 * checksum, reserved field, counts over caps, values out of range or
 * non-finite, marks not increasing), -EPROTONOSUPPORT (another format
 * version), -ENOMEM; *ret is zeroed on failure.
 */
int fmi_agg_state_decode(
    const uint8_t *buf, size_t len, fmi_agg_state *ret) FM_WUR;

/* Frees what s owns (after decode) and zeroes it. */
void fmi_agg_state_clear(fmi_agg_state *s);

/* ---- the replay journal (journal.c) ----------------------------------- */

#define FMI_AGG_JOURNAL_RECORD_BYTES 20

/* Opens (creating, mode 0600) the journal at path for reading and
 * writing. Returns the fd or a negative errno. */
int fmi_agg_journal_open(const char *path) FM_WUR;

/* What a parse took and what it dropped. */
typedef struct fmi_agg_journal_scan {
	uint64_t records;       /* whole records taken */
	uint64_t dropped_bytes; /* bytes in no whole record */
	uint64_t dropped_runs;  /* runs of such bytes (about one torn or
	                         * damaged record each) */
	size_t first_dropped;   /* offset of the first; the length when
	                         * none was */
} fmi_agg_journal_scan;

/*
 * Calls fn(userdata, id, seq) for each whole record of buf[len] (its
 * checksum holds and its id is not 0), in order, and describes the scan
 * in *ret_scan. Bytes in no whole record (a write cut short by a full
 * disk or a crash, a damaged record, a partial record at the end) are
 * skipped up to the next whole record, at any offset, and counted. fn may
 * fail: its error is returned (*ret_scan untouched). Pure.
 */
int fmi_agg_journal_parse(const uint8_t *buf, size_t len,
    int (*fn)(void *userdata, uint64_t id, uint64_t seq), void *userdata,
    fmi_agg_journal_scan *ret_scan) FM_WUR;

/*
 * Cuts what scan (of buf[len], the journal's contents) dropped out of
 * the journal open on fd: the whole records after the first dropped byte
 * move down over it in buf and in the file, which is truncated after the
 * last and fsync'd. The file then holds scan->records records. Writes
 * nothing new at the end, so it needs no free space on a file system
 * that overwrites in place. A crash half-way leaves a file that parses
 * to the same marks. Returns 0 or a negative errno.
 */
int fmi_agg_journal_repair(
    int fd, uint8_t *buf, size_t len, const fmi_agg_journal_scan *scan) FM_WUR;

/* Encodes one record into out[FMI_AGG_JOURNAL_RECORD_BYTES]. */
void fmi_agg_journal_record(
    uint64_t id, uint64_t seq, uint8_t out[FMI_AGG_JOURNAL_RECORD_BYTES]);

/*
 * Writes one record at offset *len (the end of the last whole record)
 * and advances *len. A record not written whole (a full disk: ENOSPC,
 * or a short write) is cut off again and *len kept, so the next record
 * starts where this one did: no record lands after a torn one. Returns 0
 * or a negative errno (-EIO when the kernel wrote nothing and said no
 * error).
 */
int fmi_agg_journal_append(
    int fd, uint64_t *len, uint64_t id, uint64_t seq) FM_WUR;

/* Empties the journal (*len = 0 once it is truncated) and fsyncs it.
 * Returns 0 or a negative errno. */
int fmi_agg_journal_reset(int fd, uint64_t *len) FM_WUR;

/* ---- the object --------------------------------------------------------- */

struct fm_agg {
	pthread_mutex_t lock;
	fm_agg_config cfg;
	const fmi_agg_rule *rule;
	double lr;
	const fm_crypto_identity *self;
	uint64_t self_id;
	fm_crypto_keyring *kr;
	fmi_agg_peers peers;
	int journal_fd;           /* -1: memory only */
	uint64_t journal_len;     /* bytes of whole records in it */
	uint64_t journal_records; /* appended since the last save */
	fmi_agg_journal_scan journal_scan; /* what start-up read */
	char state_path[FM_AGG_PATH_BYTES + 32];
	char journal_path[FM_AGG_PATH_BYTES + 32];
	fm_agg_event_fn on_event;
	void *userdata;

	/* The global model. */
	uint64_t last_opened;
	uint64_t version;
	uint64_t rounds_published;
	uint32_t layout_id; /* 0 while none is fixed */
	uint32_t n_params;  /* 0 while unknown */
	float *global;      /* n_params; NULL while version 0 */
	float *opt[FMI_AGG_MAX_OPT_VECS];

	/* The round in progress. */
	uint32_t phase;
	bool finished;
	int64_t opened_ms;
	int64_t deadline_ms;   /* COLLECT ends */
	int64_t idle_until_ms; /* IDLE ends */
	int64_t retry_ms;      /* a failed phase is retried */
	uint32_t n_updates;
	void *rule_state; /* the rule's, from the round's first update */
	float *next; /* AGGREGATE's candidate model */
	float *next_opt[FMI_AGG_MAX_OPT_VECS];

	/* Counters. */
	uint64_t requests, accepted, clipped, abandoned;
	uint64_t rejections[FM_PROTO_REASON_COUNT];
	int64_t last_round_ms;
};

/* round.c: the phase machine, with a->lock held. */
void fmi_agg_tick(fm_agg *a, int64_t now_ms);
uint32_t fmi_agg_next_tick(const fm_agg *a, int64_t now_ms);
/* Updates the open round needs (quorum 0: every enrolled key). */
uint32_t fmi_agg_quorum(const fm_agg *a);
/*
 * Gives one verified update of layout_id and n_params to the rule,
 * beginning the round's rule state at its first update (a model's first
 * round then adopts the layout). 0, or the negative errno of begin or
 * add (-ENOMEM) with nothing changed.
 */
int fmi_agg_round_add(fm_agg *a, uint32_t layout_id, uint32_t n_params,
    const fmi_agg_rule_update *u) FM_WUR;

/* agg.c, with a->lock held. */
void fmi_agg_emit(fm_agg *a, const fm_agg_event *ev);
/* Writes the state file with the model given (the global one, or the
 * candidate at PERSIST), then empties the journal. 0 without a
 * state_dir. */
int fmi_agg_save(fm_agg *a, uint64_t last_opened, uint64_t version,
    uint64_t rounds_published, const float *params, float *const *opt) FM_WUR;

/* Writes the state file when the journal has grown long. */
void fmi_agg_compact(fm_agg *a);

/* ---- requests: the dispatch (dispatch.c) and the handlers (handle.c) -- */

/* A request being answered. */
typedef struct fmi_agg_req {
	fm_proto_envelope e;
	bool have_header;   /* e.h can be echoed */
	const char *label;  /* the sender's keyring label */
	fmi_agg_peer *peer; /* once the sender is enrolled */
	uint8_t *body;      /* opened body */
	size_t body_len;
} fmi_agg_req;

/*
 * The aggregator's side of one request row of proto's message table.
 * Before answer is called, the dispatch has passed the envelope checks,
 * decoded the body with the row's codec, run check, and found the round
 * in a phase the row allows (else ROUND_CLOSED). All with a->lock held.
 */
typedef struct fmi_agg_handler {
	/* Optional: the reason the decoded body in earns by itself, before
	 * the phase is looked at (MALFORMED), or FM_PROTO_OK. Pure. */
	uint32_t (*check)(const void *in);
	/* Acts on in (the request's body struct) and fills out (the reply
	 * row's body struct, zeroed; what it points to is borrowed from a,
	 * never freed by the dispatch). Returns FM_PROTO_OK, or the reason
	 * the request is refused with. */
	uint32_t (*answer)(fm_agg *a, fmi_agg_req *q, const void *in, void *out,
	    int64_t now_ms);
	/* NULL: every refusal is an unsealed ERROR. Else refusals are
	 * sealed replies (UPDATE's VERDICT): this fills out (zeroed) to say
	 * reason for a refusal before answer ran; answer fills out itself. */
	void (*refusal)(
	    const fm_agg *a, uint32_t reason, void *out, int64_t now_ms);
} fmi_agg_handler;

/* The handlers by message type (handle.c): exactly the request rows of
 * the message table have an answer. */
extern const fmi_agg_handler fmi_agg_handlers[FM_PROTO_TYPE_END];

/* Whether fmi_agg_handlers[] has an answer for every request row of the
 * message table and for nothing else (asserted by fm_agg_new()). */
bool fmi_agg_handlers_match_table(void);

/* The round's phase as the agents see it (enum fm_proto_phase), which
 * the message table's phases refer to: COLLECT, or IDLE for the rest. */
uint32_t fmi_agg_wire_phase(const fm_agg *a);

/* dispatch.c, with a->lock held. */
int fmi_agg_handle(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len) FM_WUR;

#endif
