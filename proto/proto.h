/*
 * proto: the federation protocol's messages, as plain C structs, and their
 * protobuf encoding (proto/fedmon.proto, compiled by protoc-c at build
 * time). The only module that sees *.pb-c.h.
 *
 * Every message travels in an envelope: a header in the clear (protocol
 * version, type, sender and recipient key ids, round, sequence, timestamp)
 * and a body sealed by crypto/ with the header as associated data
 * (fm_proto_header_ad()), so neither can be changed or swapped alone. An
 * envelope whose sender cannot be answered with a sealed body (unknown
 * key, body that does not open, garbage) gets an unsealed FM_PROTO_ERROR
 * envelope carrying only a reason code, which the agent treats as a hint.
 * An ERROR to a request that did open (REPLAY) also carries a sealed
 * fm_proto_refusal, which the agent can believe.
 *
 * The control socket's messages (fedmonctl and the agent) are declared in
 * proto/ctl.h, which this header includes at its end.
 *
 * Exchanges (the agent always asks, the aggregator only answers; the
 * message table below, fm_proto_msg_get(), is the list code reads):
 *   HELLO  -> ROUND     join, and ask what round is open (also the poll)
 *   UPDATE -> VERDICT   contribute to the open round
 *   any    -> ERROR     could not be answered sealed (reason in clear)
 * No message carries samples: bodies hold model parameters, counts and
 * settings only (test-proto checks every field of every message).
 *
 * Caps are checked before anything is decoded or allocated: an envelope
 * is at most FM_PROTO_ENVELOPE_MAX_BYTES, a body FM_PROTO_BODY_MAX_BYTES,
 * a parameter vector FM_PROTO_MAX_PARAMS floats; callers may impose
 * tighter limits (the daemons' max_message_bytes) before calling in.
 *
 * Decoders are pure (bytes in, struct out), allocate only what the struct
 * owns, and are the fuzz targets' entry points. Errors:
 *   -EMSGSIZE         longer than the cap
 *   -EBADMSG          not a valid protobuf message of that type, or a
 *                     field out of its range (a type the message
 *                     table lacks, an unknown reason,
 *                     a params vector whose length disagrees with
 *                     n_params, a string too long), or an encoding
 *                     that would need more than twice its length (+16
 *                     KiB) of memory to decode (thousands of tiny or
 *                     unknown fields, unpacked params); the encoders
 *                     never produce one
 *   -EDOM             a non-finite parameter or float setting
 *   -EPROTONOSUPPORT  (envelope) a protocol version other than
 *                     FM_PROTO_VERSION (0, the field's absence, is
 *                     -EBADMSG); the header is still returned so the
 *                     caller can say which
 *   -ENOMEM
 */
#ifndef FM_PROTO_H
#define FM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define FM_PROTO_VERSION 1u

#define FM_PROTO_MAX_PARAMS        (1u << 22) /* 4 Mi floats, 16 MiB */
#define FM_PROTO_BODY_MAX_BYTES    ((size_t)FM_PROTO_MAX_PARAMS * 4 + 4096)
/* Body, seal overhead (crypto: 40 bytes) and header fields, with room. */
#define FM_PROTO_ENVELOPE_MAX_BYTES (FM_PROTO_BODY_MAX_BYTES + 1024)
#define FM_PROTO_AD_BYTES          56
#define FM_PROTO_VERSION_TEXT_BYTES 32 /* agent version string, NUL incl. */

enum fm_proto_type {
	FM_PROTO_HELLO = 1,   /* agent -> aggregator: join / poll */
	FM_PROTO_ROUND = 2,   /* aggregator -> agent: round state, model */
	FM_PROTO_UPDATE = 3,  /* agent -> aggregator: a model update */
	FM_PROTO_VERDICT = 4, /* aggregator -> agent: accepted or why not */
	FM_PROTO_ERROR = 5,   /* aggregator -> agent, unsealed: reason only */
	FM_PROTO_TYPE_END     /* one above the last: bounds arrays by type;
	                       * which types exist is the message table's
	                       * (fm_proto_msg_get()) */
};

/* Why a message was refused. Stable numbers: they go on the wire and
 * into /metrics labels (fm_proto_reason_name()). */
enum fm_proto_reason {
	FM_PROTO_OK = 0,
	FM_PROTO_REASON_MALFORMED = 1,    /* not a valid message */
	FM_PROTO_REASON_VERSION = 2,      /* protocol version not spoken */
	FM_PROTO_REASON_TOO_LARGE = 3,    /* over the size limit */
	FM_PROTO_REASON_UNKNOWN_KEY = 4,  /* sender not enrolled */
	FM_PROTO_REASON_BAD_SEAL = 5,     /* body did not open */
	FM_PROTO_REASON_REPLAY = 6,       /* sequence seen before */
	FM_PROTO_REASON_CLOCK = 7,        /* timestamp outside the window */
	FM_PROTO_REASON_ROUND_CLOSED = 8, /* update for a round not open */
	FM_PROTO_REASON_LAYOUT = 9,       /* another model layout */
	FM_PROTO_REASON_NORM = 10,        /* update norm over the bound */
	FM_PROTO_REASON_DUPLICATE = 11,   /* already contributed this round */
	FM_PROTO_REASON_UNEXPECTED = 12,  /* message type not valid here */
	FM_PROTO_REASON_STALE_BASE = 13,  /* based on an old global model */
	FM_PROTO_REASON_RECIPIENT = 14,   /* addressed to another key */
	FM_PROTO_REASON_INTERNAL = 15,    /* the aggregator failed */
	FM_PROTO_REASON_COUNT
};

/* A stable lowercase name ("ok", "malformed", "unknown_key", ...), or
 * "unknown" out of range. */
const char *fm_proto_reason_name(uint32_t reason);

/* The envelope header (all of it authenticated as associated data). */
typedef struct fm_proto_header {
	uint32_t version;      /* FM_PROTO_VERSION */
	uint32_t type;         /* enum fm_proto_type */
	uint64_t sender;       /* key id (crypto: fm_crypto_key_id()) */
	uint64_t recipient;    /* key id of the intended recipient */
	uint64_t round;        /* the round the message is about (0 none) */
	uint64_t seq;          /* sender's sequence; a reply echoes the
	                        * request's */
	int64_t timestamp_ms;  /* sender's wall clock, ms since the epoch */
} fm_proto_header;

/*
 * The associated data binding h to a sealed body: a fixed
 * FM_PROTO_AD_BYTES encoding (tag "fedmon\0\1", then every field
 * little-endian in the order above). Pure.
 */
void fm_proto_header_ad(
    const fm_proto_header *h, uint8_t ret[FM_PROTO_AD_BYTES]);

/* A decoded envelope. sealed points into memory the envelope owns. */
typedef struct fm_proto_envelope {
	fm_proto_header h;
	uint32_t error;        /* FM_PROTO_ERROR: the reason; else 0 */
	const uint8_t *sealed; /* the sealed body; for ERROR its optional
	                        * sealed refusal (wire field sealed_refusal),
	                        * NULL, 0 without */
	size_t sealed_len;
	void *priv;            /* private: what the envelope owns */
} fm_proto_envelope;

/*
 * Encodes h and sealed[sealed_len] (or, for FM_PROTO_ERROR, error and
 * optionally a sealed fm_proto_refusal, sent as the field older agents
 * ignore) into a new buffer *ret_buf (malloc'd; the caller frees) of
 * *ret_len bytes. h->version is written as given. Errors: -EMSGSIZE
 * (over the cap), -EINVAL (version 0, a type without a row in the
 * message table, an ERROR with error not a reason other than
 * FM_PROTO_OK, another type without a body or with error not 0),
 * -ENOMEM. Thread-safe.
 */
int fm_proto_envelope_encode(const fm_proto_header *h, uint32_t error,
    const uint8_t *sealed, size_t sealed_len, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/*
 * Decodes buf[len] into *ret (which the caller later passes to
 * fm_proto_envelope_clear(); *ret is overwritten, so it must own
 * nothing). Checks len against the cap first, then the version, the type
 * (one with a row in the message table) and, for FM_PROTO_ERROR (the
 * row without a body), the reason (not FM_PROTO_OK) and the absence
 * of a body (a sealed refusal may come); any other type must have a body,
 * error 0 and no sealed refusal. Errors: see
 * the top; on -EPROTONOSUPPORT ret->h is filled (and must be cleared),
 * on any other error *ret is left cleared. Thread-safe.
 */
int fm_proto_envelope_decode(
    const uint8_t *buf, size_t len, fm_proto_envelope *ret) FM_WUR;

/* Frees what e owns and zeroes it; idempotent; NULL is fine. */
void fm_proto_envelope_clear(fm_proto_envelope *e);

/* ---- bodies ----------------------------------------------------------- */

/* HELLO: an agent joins, or asks what is going on. */
typedef struct fm_proto_hello {
	uint32_t schema_version; /* the agent's feature schema */
	uint32_t layout_id;      /* its model's layout (0: no model yet) */
	uint32_t n_params;       /* its shared parameter count */
	uint64_t have_version;   /* global model version it holds (0: none) */
	char agent_version[FM_PROTO_VERSION_TEXT_BYTES]; /* printable ASCII
	                        * (0x20-0x7e), NUL-terminated */
} fm_proto_hello;

enum fm_proto_phase {
	FM_PROTO_PHASE_IDLE = 1,    /* between rounds: nothing to send */
	FM_PROTO_PHASE_COLLECT = 2, /* round open: updates welcome */
};

/* ROUND: the aggregator's reply to HELLO. */
typedef struct fm_proto_round {
	uint64_t round;        /* open round (COLLECT), or the last (IDLE) */
	uint32_t phase;        /* enum fm_proto_phase */
	uint64_t version;      /* global model version: the round that made
	                        * it; 0 when there is none yet */
	uint32_t layout_id;    /* global model layout; 0 while none is fixed */
	uint32_t n_params;     /* length of the global model */
	float *params;         /* the global model, n_params floats, sent
	                        * only when the agent lacks this version;
	                        * else NULL (owned by the struct) */
	/* Settings for the local training of this round. */
	float prox_mu;         /* FedProx mu, >= 0 (0: plain FedAvg) */
	uint32_t local_steps;  /* Adam steps to train (0: agent's default) */
	uint32_t deadline_ms;  /* time left to send an update (COLLECT) */
	uint32_t poll_ms;      /* when to send the next HELLO */
	bool contributed;      /* this agent's update is in this round */
} fm_proto_round;

enum fm_proto_update_kind {
	FM_PROTO_UPDATE_PARAMS = 1, /* the locally trained parameters */
	FM_PROTO_UPDATE_DELTA = 2,  /* trained minus the base global model */
};

/* UPDATE: one agent's contribution to one round. */
typedef struct fm_proto_update {
	uint64_t round;        /* the round it is for */
	uint64_t base_version; /* global version it trained from (0: none) */
	uint32_t layout_id;
	uint32_t kind;         /* enum fm_proto_update_kind */
	uint64_t samples;      /* training rows behind it (FedAvg weight) */
	float loss;            /* local training loss after the round */
	uint32_t n_params;
	float *params;         /* n_params floats (owned by the struct) */
} fm_proto_update;

/* VERDICT: the aggregator's reply to UPDATE. */
typedef struct fm_proto_verdict {
	uint64_t round;
	uint32_t reason;       /* FM_PROTO_OK when accepted */
	bool clipped;          /* accepted, but scaled to the norm bound
	                        * (only with FM_PROTO_OK) */
	uint32_t poll_ms;      /* when to send the next HELLO */
} fm_proto_verdict;

/*
 * Encoders: *ret_buf (malloc'd, never NULL; the caller frees) of *ret_len
 * bytes (0 for an all-default message). Errors: -EINVAL (a field out of
 * range, UPDATE params NULL with n_params > 0; a ROUND without params,
 * NULL, is valid: the agent has that version), -EDOM (non-finite float),
 * -EMSGSIZE (n_params over FM_PROTO_MAX_PARAMS), -ENOMEM. Thread-safe.
 */
int fm_proto_hello_encode(
    const fm_proto_hello *m, uint8_t **ret_buf, size_t *ret_len) FM_WUR;
int fm_proto_round_encode(
    const fm_proto_round *m, uint8_t **ret_buf, size_t *ret_len) FM_WUR;
int fm_proto_update_encode(
    const fm_proto_update *m, uint8_t **ret_buf, size_t *ret_len) FM_WUR;
int fm_proto_verdict_encode(
    const fm_proto_verdict *m, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/*
 * Decoders: fill *ret from buf[len]; a struct holding params owns them
 * (free with its _clear()); a ROUND without params has params NULL and
 * n_params the model's length. *ret is overwritten, so it must own
 * nothing; on failure it is zeroed and owns nothing. Errors: see the
 * top. Thread-safe.
 */
int fm_proto_hello_decode(
    const uint8_t *buf, size_t len, fm_proto_hello *ret) FM_WUR;
int fm_proto_round_decode(
    const uint8_t *buf, size_t len, fm_proto_round *ret) FM_WUR;
int fm_proto_update_decode(
    const uint8_t *buf, size_t len, fm_proto_update *ret) FM_WUR;
int fm_proto_verdict_decode(
    const uint8_t *buf, size_t len, fm_proto_verdict *ret) FM_WUR;

/*
 * The sealed part of an ERROR (fedmon.proto: Refusal): what the
 * aggregator says, authenticated, when it opened the request it refuses.
 * Not a row of the message table: it rides in an ERROR envelope (whose
 * row has no body), sealed with that envelope's header as associated
 * data (fed/: fm_fed_refusal_encode()).
 */
typedef struct fm_proto_refusal {
	uint32_t reason;    /* enum fm_proto_reason, not FM_PROTO_OK */
	uint64_t seq_floor; /* REPLAY: the highest sequence taken from the
	                     * key; 0 otherwise */
} fm_proto_refusal;

/* Encodes m into *ret_buf (malloc'd) of *ret_len bytes. Errors: -EINVAL
 * (reason FM_PROTO_OK or out of range, a seq_floor with another reason
 * than REPLAY), -ENOMEM. Thread-safe. */
int fm_proto_refusal_encode(
    const fm_proto_refusal *m, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/* Decodes buf[len] into *ret (zeroed on failure). Errors: -EMSGSIZE,
 * -EBADMSG (not a Refusal, or what the encoder refuses), -ENOMEM. Pure. */
int fm_proto_refusal_decode(
    const uint8_t *buf, size_t len, fm_proto_refusal *ret) FM_WUR;

/* Free what a decoded (or caller-filled, params malloc'd) struct owns and
 * zero it; idempotent; NULL is fine. */
void fm_proto_round_clear(fm_proto_round *m);
void fm_proto_update_clear(fm_proto_update *m);

/* Any one body, for code that holds a message whatever its type (the
 * aggregator's dispatch). A new body struct gets a member here. */
typedef union fm_proto_body {
	fm_proto_hello hello;
	fm_proto_round round;
	fm_proto_update update;
	fm_proto_verdict verdict;
} fm_proto_body;

/* ---- the message table (msg.c) ------------------------------------------ */

/*
 * One row per message type, the only list of them: what the type's body
 * is (its codec), which type answers it and in which phases of a round
 * the aggregator takes it. The envelope's type check, the agent's client
 * (fed/: fm_fed_client_call()) and the aggregator's dispatch (an array
 * of handlers by type, aggregator/dispatch.c) read it, so nothing else
 * lists the types. To add a message: the .proto message (and its line in
 * tests/proto/test-schema.c), its struct above and a member of
 * fm_proto_body, a body file with its encoder, decoder and codec (like
 * hello.c), the type in enum fm_proto_type, its row in msg.c, and, for a
 * request, its handler in the aggregator's array.
 */

/* A body's codec, over the body struct as void * (the typed functions
 * above do the work). encode and decode as the typed ones; clear frees
 * what a decoded struct owns and zeroes it (NULL-safe). */
typedef struct fm_proto_codec {
	size_t size; /* sizeof the body struct, <= sizeof(fm_proto_body) */
	int (*encode)(const void *m, uint8_t **ret_buf, size_t *ret_len);
	int (*decode)(const uint8_t *buf, size_t len, void *ret);
	void (*clear)(void *m);
} fm_proto_codec;

/* The phases of enum fm_proto_phase as bits of fm_proto_msg.phases. */
#define FM_PROTO_PHASE_BIT(phase) (1u << (phase))
#define FM_PROTO_PHASES_ANY                                                    \
	(FM_PROTO_PHASE_BIT(FM_PROTO_PHASE_IDLE) |                             \
	    FM_PROTO_PHASE_BIT(FM_PROTO_PHASE_COLLECT))

typedef struct fm_proto_msg {
	uint32_t type;               /* enum fm_proto_type */
	const char *name;            /* "hello", ...: stable, lowercase */
	const fm_proto_codec *codec; /* its body; NULL: none (ERROR) */
	uint32_t reply_type;         /* a request (agent -> aggregator): the
	                              * type answering it when all is well
	                              * (ERROR may always come instead);
	                              * 0: a reply */
	uint32_t phases;             /* a request: the FM_PROTO_PHASE_BIT()s
	                              * of the round phases it is taken in
	                              * (ROUND_CLOSED in others); 0: a reply */
} fm_proto_msg;

/* The row of type, or NULL when the table has none: the type does not
 * exist in this protocol version. Pure, thread-safe. */
const fm_proto_msg *fm_proto_msg_get(uint32_t type);

/* Whether m is a request, sent by the agent and answered by the
 * aggregator (it has a reply type). */
bool fm_proto_msg_is_request(const fm_proto_msg *m);

/* Whether the aggregator takes request m in round phase (enum
 * fm_proto_phase); false for a reply or a phase out of range. */
bool fm_proto_msg_is_allowed_in(const fm_proto_msg *m, uint32_t phase);

/* The control socket's messages (fedmonctl <-> agent). */
#include "proto/ctl.h"

#endif
