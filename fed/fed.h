/*
 * fed: the federation wire, shared by the agent and the aggregator. It
 * joins proto/ (messages) and crypto/ (sealing) into envelopes, and holds
 * the agent's client: one REQ socket (net/) to the aggregator, a
 * sequence number that never repeats (a lease persisted in the agent's
 * state directory), and the checks every reply must pass before it is
 * believed (it opens with the pinned aggregator key, it answers this very
 * request, its timestamp is within the window).
 *
 * Errors are negative errno codes; nothing here logs above debug.
 */
#ifndef FM_FED_H
#define FM_FED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "proto/proto.h"

/* Default clock-skew window: a message whose timestamp is further than
 * this from the receiver's clock is refused. */
#define FM_FED_SKEW_MS_DEFAULT (5 * 60 * 1000)

/*
 * Seals body[len] under header h with session s (AEAD with h's
 * associated data) and encodes the envelope into *ret_buf (malloc'd; the
 * caller frees) of *ret_len bytes. Errors: -EMSGSIZE (body over
 * FM_PROTO_BODY_MAX_BYTES), -EINVAL (h of type FM_PROTO_ERROR or out of
 * range, body NULL with len > 0), -ENOMEM. Thread-safe.
 */
int fm_fed_seal(const fm_crypto_session *s, const fm_proto_header *h,
    const uint8_t *body, size_t len, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/*
 * Opens the body of a decoded envelope e with session s into *ret_body
 * (malloc'd, also for an empty body; the caller frees) of *ret_len
 * bytes; for an ERROR, its sealed refusal. Errors: -EBADMSG (does not
 * open: altered, another key, another header), -EINVAL (no body: an
 * ERROR without a sealed refusal), -ENOMEM. Only the body is
 * authenticated here: the caller still checks the header's sender,
 * recipient, sequence and timestamp. Thread-safe.
 */
int fm_fed_open(const fm_crypto_session *s, const fm_proto_envelope *e,
    uint8_t **ret_body, size_t *ret_len) FM_WUR;

/*
 * Encodes the unsealed FM_PROTO_ERROR reply to a request whose header is
 * req (NULL when even the header could not be read: recipient, round and
 * seq are then 0): sender self_id, recipient req->sender, same round and
 * seq, timestamp now_ms, and the reason. Errors: -EINVAL (reason is
 * FM_PROTO_OK or out of range), -ENOMEM.
 */
int fm_fed_error_encode(const fm_proto_header *req, uint64_t self_id,
    uint32_t reason, int64_t now_ms, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/*
 * Encodes the FM_PROTO_ERROR reply to the request whose header is req
 * and whose body opened with session s, as fm_fed_error_encode() does
 * with m->reason, and with m sealed under the reply's header as its
 * sealed refusal: what the agent may believe (REPLAY's seq_floor).
 * Errors: -EINVAL (an argument NULL, m refused by
 * fm_proto_refusal_encode()), -ENOMEM. Thread-safe.
 */
int fm_fed_refusal_encode(const fm_crypto_session *s,
    const fm_proto_header *req, uint64_t self_id, const fm_proto_refusal *m,
    int64_t now_ms, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/* Whether timestamp ts_ms is within window_ms of now_ms, either way
 * (the bounds included; false for a negative window). No overflow at
 * the ends of int64_t. */
bool fm_fed_timestamp_is_fresh(int64_t ts_ms, int64_t now_ms,
    int64_t window_ms);

/* ---- the agent's client ------------------------------------------------ */

typedef struct fm_fed_client fm_fed_client;

typedef struct fm_fed_client_config {
	const char *url;           /* aggregator: tcp://, ipc://, inproc:// */
	uint8_t aggregator_pk[FM_CRYPTO_PUBLIC_KEY_BYTES]; /* pinned */
	const char *seq_path;      /* sequence lease file; NULL: memory only
	                            * (tests, fedmon-replay) */
	uint32_t timeout_ms;       /* per request, send and reply */
	size_t max_message_bytes;  /* replies larger are dropped */
	int64_t skew_ms;           /* freshness window for replies */
	uint32_t reconnect_min_ms; /* NNG redial backoff */
	uint32_t reconnect_max_ms;
} fm_fed_client_config;

/* Fills *ret with defaults (url NULL, key zero, seq_path NULL, 10 s,
 * 8 MiB, FM_FED_SKEW_MS_DEFAULT, 100 ms, 60 s). */
void fm_fed_client_config_init(fm_fed_client_config *ret);

/*
 * Opens a client for self (borrowed: it must outlive the client) talking
 * to the aggregator of cfg. Dials in the background; does not wait for
 * the aggregator. Calls fm_crypto_init(). With a seq_path, the next
 * sequence number continues above the lease stored there (created if
 * missing, one line "fedmon-seq-lease-v1 <bound>", mode 0600): the
 * client starts at the stored bound + 1 and writes a new lease before it
 * returns, then rewrites it crash-safe every FM_FED_SEQ_LEASE numbers,
 * so sequence numbers never repeat across restarts, even after kill -9
 * (a restart skips what was left of the lease). Without one, numbers
 * start at 1. On success *ret owns the client. Errors: -EINVAL (config:
 * url NULL, timeout_ms 0 or over INT32_MAX, max_message_bytes 0,
 * skew_ms < 0), -EBADMSG (aggregator key unusable), the errno of the
 * lease file (-EBADMSG when it is corrupt), those of fm_net_req_dial(),
 * -EIO (fm_crypto_init()), -ENOMEM.
 */
#define FM_FED_SEQ_LEASE 1024u
int fm_fed_client_new(const fm_fed_client_config *cfg,
    const fm_crypto_identity *self, fm_fed_client **ret) FM_WUR;

/* Closes and frees c (NULL-safe); returns NULL. */
fm_fed_client *fm_fed_client_free(fm_fed_client *c);

/* Interrupts a request in progress from another thread (it returns
 * -ECANCELED); later requests fail the same way. Idempotent. */
void fm_fed_client_cancel(fm_fed_client *c);

/*
 * One request and its reply, as proto's message table says: sends m
 * (the body struct of type, a request row of the table) in an envelope
 * with header round, and waits for the reply of the row's reply type
 * into *ret (that type's body struct; the caller clears it with the
 * reply codec's clear, e.g. fm_proto_round_clear(); *ret is written only
 * when a reply was opened, and owns nothing on failure). Each request
 * uses a new sequence number, spent even when the request fails;
 * timeout_ms bounds the send and the reply together. A request refused
 * as a REPLAY by an ERROR whose sealed refusal opens (the lease went
 * backwards: a state directory restored from a backup) moves the lease
 * above the floor the aggregator names, persisted first, and is sent
 * once more, with its own timeout_ms; an unsealed REPLAY moves nothing. One
 * thread at a time per client (fm_fed_client_cancel() excepted). Returns 0, or:
 *   -ETIMEDOUT     no reply in time (aggregator away or slow)
 *   -ECONNRESET    the connection dropped while waiting (aggregator
 *                  restarted, or it refused an oversized request)
 *   -ECANCELED     fm_fed_client_cancel()
 *   -EPERM         the aggregator refused with an unsealed ERROR from
 *                  its key id that answers this request (or names no
 *                  request: it could not read ours); the reason is in
 *                  *ret_reason (unauthenticated, never checked for
 *                  freshness: a hint)
 *   -EBADMSG       a reply that does not open with the pinned key, is
 *                  from another key id or to another, is not fresh,
 *                  answers another request, or is malformed
 *   -EPROTO        a valid reply of another type than the table's
 *   -EINVAL        type not a request of the table, an argument NULL,
 *                  or m out of range (the encoder's check), -EDOM
 *                  (non-finite float in m); no sequence number spent
 *   -EMSGSIZE, -ENOMEM, -EIO
 *   the errno of extending the lease file (nothing was sent, or, after
 *                  a sealed REPLAY refusal, nothing more)
 * *ret_reason is set on every return: the ERROR's reason with -EPERM,
 * else FM_PROTO_OK.
 */
int fm_fed_client_call(fm_fed_client *c, uint32_t type, uint64_t round,
    const void *m, void *ret, uint32_t *ret_reason) FM_WUR;

/*
 * Typed calls for the agent's two requests: HELLO m (header round 0)
 * answered by a ROUND (clear with fm_proto_round_clear()), and UPDATE m
 * (header round m->round) answered by a VERDICT, whose reason says
 * whether it was accepted (0 then means a sealed verdict came back,
 * accepted or not). Errors: those of fm_fed_client_call().
 */
int fm_fed_client_hello(fm_fed_client *c, const fm_proto_hello *m,
    fm_proto_round *ret, uint32_t *ret_reason) FM_WUR;
int fm_fed_client_update(fm_fed_client *c, const fm_proto_update *m,
    fm_proto_verdict *ret, uint32_t *ret_reason) FM_WUR;

/* The last sequence number used (0 before the first request). */
uint64_t fm_fed_client_seq(const fm_fed_client *c);

#endif
