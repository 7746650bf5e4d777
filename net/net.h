/*
 * net: the only module that calls NNG. Request/reply sockets for the
 * federation protocol: agents dial out with a REQ socket, the aggregator
 * listens with a REP socket and never connects to anyone. URLs are NNG's:
 * tcp://host:port (also tcp4://, tcp6://), ipc:///path, inproc://name
 * (tests, fedmon-replay), shorter than FM_NET_URL_BYTES; NNG's other
 * schemes (ws, tls+tcp, zt) are refused with -ENOTSUP.
 *
 * Every socket has a receive-size limit (checked by the transport before
 * it buffers a message, and again here for inproc, which has none), a
 * send timeout and a receive timeout: no call waits forever. NNG's codes
 * are converted to negative errno in one place (fm_net_errno()).
 *
 * A socket is used by one thread at a time, except fm_net_sock_close()
 * and fm_net_sock_interrupt(), which another thread may call to end a
 * wait (the waiting call returns -ECANCELED, or -EINTR); free it once
 * no call is in progress. The connections and listeners end at
 * fm_net_sock_free(), not at close.
 */
#ifndef FM_NET_H
#define FM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define FM_NET_URL_BYTES 256

typedef struct fm_net_sock fm_net_sock;

typedef struct fm_net_options {
	size_t recv_max_bytes;      /* larger messages are dropped; > 0 */
	uint32_t send_timeout_ms;   /* > 0 */
	uint32_t recv_timeout_ms;   /* > 0 */
	/* REQ only: NNG redials a lost connection after a delay doubling
	 * from reconnect_min_ms up to reconnect_max_ms. */
	uint32_t reconnect_min_ms;
	uint32_t reconnect_max_ms;
} fm_net_options;

/* Fills *ret with defaults: 1 MiB, 5 s, 5 s, 100 ms, 60 s. */
void fm_net_options_init(fm_net_options *ret);

/* Converts an NNG error code (positive) to a negative errno: 0 to 0,
 * timeouts to -ETIMEDOUT, closed or canceled to -ECANCELED, refused to
 * -ECONNREFUSED, reset, aborted or shut connections to -ECONNRESET,
 * message too large to -EMSGSIZE, bad URL or address to -EINVAL, unknown
 * scheme (not supported) to -ENOTSUP, address in use to -EADDRINUSE,
 * wrong protocol state to -EBADFD, no memory or no file descriptors to
 * -ENOMEM, permission to -EACCES; others to -EIO. */
int fm_net_errno(int nng_rv);

/*
 * Opens a REQ socket dialling url in the background: the call does not
 * wait for the peer, and NNG keeps redialling (backoff as in *o) while it
 * is away. A request not answered within recv_timeout_ms fails with
 * -ETIMEDOUT (NNG's own resend is disabled: the caller decides, with a
 * fresh sequence number). On success *ret owns the socket. Errors:
 * -EINVAL (bad URL or options), -ENOTSUP (unknown scheme), -ENOMEM.
 */
int fm_net_req_dial(
    const char *url, const fm_net_options *o, fm_net_sock **ret) FM_WUR;

/*
 * Opens a REP socket listening on url (several URLs: call
 * fm_net_listen_add() for the rest). For ipc:// the socket file is
 * created with the process umask. On success *ret owns the socket.
 * Errors: -EINVAL, -ENOTSUP, -EADDRINUSE, -EACCES, -ENOMEM.
 */
int fm_net_rep_listen(
    const char *url, const fm_net_options *o, fm_net_sock **ret) FM_WUR;

/* Adds another listening URL to a REP socket. Errors as above. */
int fm_net_listen_add(fm_net_sock *s, const char *url) FM_WUR;

/*
 * For a listener on tcp:// with port 0, the port the kernel chose, or 0
 * when s does not listen on TCP. For tests and the demo.
 */
uint16_t fm_net_listen_port(const fm_net_sock *s);

/*
 * Sends buf[len] (copied), waiting at most the send timeout. REQ: a
 * request (it abandons a request still unanswered; while no peer is
 * connected it waits for one); REP: the reply to the last request
 * received. Returns 0, -ETIMEDOUT, -ECANCELED (socket closed), -EBADFD
 * (REP: nothing to reply to), -EINVAL (buf NULL with len > 0), -ENOMEM,
 * -EIO.
 */
int fm_net_send(fm_net_sock *s, const uint8_t *buf, size_t len) FM_WUR;

/*
 * Receives one message into *ret_buf (malloc'd; the caller frees) of
 * *ret_len bytes, waiting at most timeout_ms (0: the socket's receive
 * timeout; at most INT32_MAX). REQ: the reply to the last request (a
 * timeout abandons that request: receive again only after a new send);
 * REP: the next request.
 *
 * No message over recv_max_bytes is ever returned. Over tcp:// and
 * ipc://, a message more than a few hundred bytes over it is refused by
 * the transport before it is buffered, which drops the connection: the
 * receiver sees nothing arrive (-ETIMEDOUT), a REQ sender whose request
 * was on that connection gets -ECONNRESET from its fm_net_recv(), and
 * NNG redials. Any other oversized message (inproc://, which has no
 * transport limit, or one just over the cap) is discarded here and the
 * call returns -EMSGSIZE; for REQ that consumes the reply, for REP the
 * request may still be answered (with a reason) by fm_net_send().
 *
 * Returns 0, -ETIMEDOUT, -EMSGSIZE, -ECONNRESET (REQ: the connection
 * carrying the request dropped), -ECANCELED, -EINTR (woken by
 * fm_net_sock_interrupt()), -EBADFD (REQ: no request pending), -EINVAL,
 * -ENOMEM, -EIO.
 */
int fm_net_recv(fm_net_sock *s, uint32_t timeout_ms, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/* Closes s: calls in progress and later ones return -ECANCELED. Safe
 * from any thread, idempotent. */
void fm_net_sock_close(fm_net_sock *s);

/*
 * Wakes the receive waiting on s, or the next one if none is waiting:
 * that fm_net_recv() returns -EINTR (once per interrupt; several before
 * it count as one) and the socket stays open; a message already taken
 * is returned, and the interrupt waits for the next receive. REP: a
 * request not yet received stays queued. So a thread can wait without a
 * timeout and still be woken (a signal, a reload). Safe from any thread
 * while s is not freed; sends are not interrupted.
 */
void fm_net_sock_interrupt(fm_net_sock *s);

/* Closes s if still open and frees it (NULL-safe); returns NULL. */
fm_net_sock *fm_net_sock_free(fm_net_sock *s);

/* ---- a small HTTP server for /metrics (net/http.c) -------------------- */

/*
 * Serves GET (and HEAD) of one path over HTTP/1.1 with NNG's HTTP server;
 * any other path is 404, any other method 405. Each request calls
 * handler, on one of NNG's threads (several may run at once: the handler
 * must be thread-safe), for a body (malloc'd; fm_net_http frees it) with
 * content_type; a handler error is answered 500. Requests are bounded by
 * NNG's header limits; a body sent with one is read (at most 64 KiB, a
 * larger one is answered 400) and ignored. A request arriving while
 * fm_net_http_free() runs is answered 503.
 */
typedef struct fm_net_http fm_net_http;

typedef int (*fm_net_http_handler)(
    void *userdata, char **ret_body, size_t *ret_len);

/* Listens on listen ("ADDR:PORT", IPv4 or [IPv6]; port 0 picks a free
 * one, see fm_net_http_port()) and serves path. path, content_type are
 * copied; userdata is borrowed. On success *ret owns the server. Errors:
 * -EINVAL (bad address or path), -EADDRINUSE, -EACCES, -ENOMEM. */
int fm_net_http_serve(const char *listen, const char *path,
    const char *content_type, fm_net_http_handler handler, void *userdata,
    fm_net_http **ret) FM_WUR;

/* Whether listen has the form fm_net_http_serve() takes: "ADDR:PORT"
 * (ADDR non-empty, "[v6]" for IPv6; PORT 0 to 65535), under 128 bytes.
 * Neither resolves nor binds it (for config parsers). Pure. */
bool fm_net_http_listen_is_valid(const char *listen);

/* The TCP port it listens on (the chosen one for port 0). */
uint16_t fm_net_http_port(const fm_net_http *h);

/* Stops serving (waiting for handlers in progress) and frees h.
 * NULL-safe; returns NULL. */
fm_net_http *fm_net_http_free(fm_net_http *h);

/* The Prometheus text exposition format's content type. */
#define FM_NET_PROMETHEUS_CONTENT_TYPE                                         \
	"text/plain; version=0.0.4; charset=utf-8"

/* ---- a REP listener on ipc:// with its socket file's mode ------------- */

/*
 * fm_net_rep_listen() for an ipc:// url whose socket file gets the
 * permission bits mode (e.g. 0660) before the listener takes any
 * connection, so no peer ever connects through the umask's mode. A
 * socket file left at the path by a listener that is gone (nobody
 * answers a connect) is replaced; one a live listener holds is
 * -EADDRINUSE. NNG probes with a plain connect(), which makes a live
 * NNG 1.5 listener stop accepting (nng issue #1518): a caller that may
 * find a live listener there probes it first with fm_net_req_dial().
 * Closing s removes the file. Errors: those of
 * fm_net_rep_listen(), -EINVAL (not ipc://, mode beyond 0777).
 */
int fm_net_rep_listen_ipc(const char *url, uint32_t mode,
    const fm_net_options *o, fm_net_sock **ret) FM_WUR;

#endif
