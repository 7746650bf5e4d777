/*
 * REQ/REP sockets over NNG. Every wait goes through one nng_aio per
 * socket with an explicit timeout, so a call never blocks longer than it
 * was told, and nng_close() from another thread completes the wait with
 * NNG_ECLOSED (-ECANCELED here).
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "net/net.h"

/*
 * The transports (tcp, ipc) compare NNG_OPT_RECVMAXSZ with the whole
 * SP message, which carries the REQ/REP header (request id and routing
 * backtrace, at most 4 bytes per hop of NNG_OPT_MAXTTL <= 15) in front
 * of the body. The socket limit is the caller's plus this allowance, and
 * fm_net_recv() checks the body exactly, so the cap is the same on every
 * transport.
 */
#define SP_HEADER_ALLOWANCE_BYTES 256u

struct fm_net_sock {
	nng_socket sock;
	nng_aio *aio; /* every send and receive waits on it */
	bool is_req;
	atomic_bool closed;
	atomic_bool interrupted; /* fm_net_sock_interrupt() not yet seen */
	atomic_bool receiving;   /* the aio carries a receive, or soon */
	size_t recv_max_bytes;
	uint32_t send_timeout_ms;
	uint32_t recv_timeout_ms;
	uint16_t tcp_port; /* first TCP listener's bound port, or 0 */
};

void
fm_net_options_init(fm_net_options *ret)
{
	*ret = (fm_net_options) {
		.recv_max_bytes = 1u << 20,
		.send_timeout_ms = 5000,
		.recv_timeout_ms = 5000,
		.reconnect_min_ms = 100,
		.reconnect_max_ms = 60000,
	};
}

int
fm_net_errno(int nng_rv)
{
	switch (nng_rv) {
	case 0:
		return 0;
	case NNG_ETIMEDOUT:
		return -ETIMEDOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return -ECANCELED;
	case NNG_ECONNREFUSED:
		return -ECONNREFUSED;
	case NNG_ECONNRESET:
	case NNG_ECONNABORTED:
	case NNG_ECONNSHUT:
		return -ECONNRESET;
	case NNG_EMSGSIZE:
		return -EMSGSIZE;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return -EINVAL;
	case NNG_ENOTSUP:
		return -ENOTSUP;
	case NNG_EADDRINUSE:
		return -EADDRINUSE;
	case NNG_ESTATE:
		return -EBADFD;
	case NNG_ENOMEM:
	case NNG_ENOFILES:
		return -ENOMEM;
	case NNG_EPERM:
		return -EACCES;
	default:
		return -EIO;
	}
}

/* The transports fedmon speaks; NNG's others (ws, tls+tcp, zt) are
 * refused rather than half-configured. */
static const char *const url_schemes[] = {
	"tcp://",
	"tcp4://",
	"tcp6://",
	"ipc://",
	"inproc://",
};

/* 0 when NNG may parse url, -EINVAL (too long) or -ENOTSUP (scheme).
 * Text that is no URL at all is left for NNG to refuse (-EINVAL). */
static int
url_check(const char *url)
{
	if (strnlen(url, FM_NET_URL_BYTES) >= FM_NET_URL_BYTES)
		return -EINVAL;
	if (!strstr(url, "://"))
		return 0;
	for (size_t i = 0; i < FM_ELEMENTSOF(url_schemes); i++)
		if (strncmp(url, url_schemes[i], strlen(url_schemes[i])) == 0)
			return 0;
	return -ENOTSUP;
}

static bool
ms_is_valid(uint32_t ms)
{
	return ms > 0 && ms <= INT32_MAX;
}

static bool
options_are_valid(const fm_net_options *o, bool is_req)
{
	if (!o || o->recv_max_bytes == 0 || !ms_is_valid(o->send_timeout_ms) ||
	    !ms_is_valid(o->recv_timeout_ms))
		return false;
	if (is_req &&
	    (!ms_is_valid(o->reconnect_min_ms) ||
	        !ms_is_valid(o->reconnect_max_ms) ||
	        o->reconnect_max_ms < o->reconnect_min_ms))
		return false;
	return true;
}

/* The transport limit for a body cap: NNG takes at most UINT32_MAX. */
static size_t
transport_max_bytes(size_t recv_max_bytes)
{
	if (recv_max_bytes > UINT32_MAX - SP_HEADER_ALLOWANCE_BYTES)
		return UINT32_MAX;
	return recv_max_bytes + SP_HEADER_ALLOWANCE_BYTES;
}

/* Opens the socket and applies the options every socket has. On failure
 * nothing is left open. */
static int
sock_open(bool is_req, const fm_net_options *o, fm_net_sock **ret)
{
	fm_net_sock *s;
	int rv;

	if (!options_are_valid(o, is_req))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->is_req = is_req;
	s->recv_max_bytes = o->recv_max_bytes;
	s->send_timeout_ms = o->send_timeout_ms;
	s->recv_timeout_ms = o->recv_timeout_ms;
	atomic_init(&s->closed, true);
	atomic_init(&s->interrupted, false);
	atomic_init(&s->receiving, false);

	rv = nng_aio_alloc(&s->aio, NULL, NULL);
	if (rv != 0)
		goto out_free;
	rv = is_req ? nng_req0_open(&s->sock) : nng_rep0_open(&s->sock);
	if (rv != 0)
		goto out_free_aio;
	atomic_store(&s->closed, false);

	rv = nng_socket_set_size(
	    s->sock, NNG_OPT_RECVMAXSZ, transport_max_bytes(o->recv_max_bytes));
	if (rv == 0)
		rv = nng_socket_set_ms(s->sock, NNG_OPT_SENDTIMEO,
		    (nng_duration)o->send_timeout_ms);
	if (rv == 0)
		rv = nng_socket_set_ms(s->sock, NNG_OPT_RECVTIMEO,
		    (nng_duration)o->recv_timeout_ms);
	if (rv == 0 && is_req)
		rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMINT,
		    (nng_duration)o->reconnect_min_ms);
	if (rv == 0 && is_req)
		rv = nng_socket_set_ms(s->sock, NNG_OPT_RECONNMAXT,
		    (nng_duration)o->reconnect_max_ms);
	/* The caller resends, with a new sequence number. */
	if (rv == 0 && is_req)
		rv = nng_socket_set_ms(
		    s->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if (rv != 0)
		goto out_free_sock;
	*ret = s;
	return 0;

out_free_sock:
	(void)fm_net_sock_free(s);
	return fm_net_errno(rv);
out_free_aio:
	nng_aio_free(s->aio);
out_free:
	free(s);
	return fm_net_errno(rv);
}

int
fm_net_req_dial(const char *url, const fm_net_options *o, fm_net_sock **ret)
{
	fm_net_sock *s = NULL;
	int r, rv;

	if (!url || !ret)
		return -EINVAL;
	r = url_check(url);
	if (r < 0)
		return r;
	r = sock_open(true, o, &s);
	if (r < 0)
		return r;
	/* NONBLOCK: a peer that is not there yet is redialled in the
	 * background instead of failing the call. */
	rv = nng_dial(s->sock, url, NULL, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		(void)fm_net_sock_free(s);
		return fm_net_errno(rv);
	}
	*ret = s;
	return 0;
}

int
fm_net_listen_add(fm_net_sock *s, const char *url)
{
	nng_listener l;
	int port, rv, r;

	if (!s || !url || s->is_req)
		return -EINVAL;
	r = url_check(url);
	if (r < 0)
		return r;
	if (atomic_load(&s->closed))
		return -ECANCELED;
	rv = nng_listen(s->sock, url, &l, 0);
	if (rv != 0)
		return fm_net_errno(rv);
	/* Only tcp listeners have a bound port; the others say ENOTSUP. */
	if (s->tcp_port == 0 &&
	    nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0 &&
	    port > 0 && port <= UINT16_MAX)
		s->tcp_port = (uint16_t)port;
	return 0;
}

int
fm_net_rep_listen(const char *url, const fm_net_options *o, fm_net_sock **ret)
{
	fm_net_sock *s = NULL;
	int r;

	if (!url || !ret)
		return -EINVAL;
	r = sock_open(false, o, &s);
	if (r < 0)
		return r;
	r = fm_net_listen_add(s, url);
	if (r < 0) {
		(void)fm_net_sock_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

uint16_t
fm_net_listen_port(const fm_net_sock *s)
{
	return s ? s->tcp_port : 0;
}

/* The errno of a failed wait. Closing a socket first closes its
 * connections, which may end the wait with a connection error before
 * the close itself is seen: once closed, it is -ECANCELED. */
static int
wait_errno(const fm_net_sock *s, int rv)
{
	if (atomic_load(&s->closed))
		return -ECANCELED;
	return fm_net_errno(rv);
}

/* Waits for the operation just started on s->aio, which a close (or,
 * for a receive, an interrupt) from another thread cancels: the close
 * either comes after the start (and cancels the aio itself) or before
 * this check (which does). */
static void
interruptible_wait(fm_net_sock *s, bool by_interrupt)
{
	if (atomic_load(&s->closed) ||
	    (by_interrupt && atomic_load(&s->interrupted)))
		nng_aio_cancel(s->aio);
	nng_aio_wait(s->aio);
}

int
fm_net_send(fm_net_sock *s, const uint8_t *buf, size_t len)
{
	nng_msg *m;
	int rv;

	if (!s || (!buf && len > 0))
		return -EINVAL;
	if (atomic_load(&s->closed))
		return -ECANCELED;
	rv = nng_msg_alloc(&m, len);
	if (rv != 0)
		return fm_net_errno(rv);
	if (len > 0)
		memcpy(nng_msg_body(m), buf, len);
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, (nng_duration)s->send_timeout_ms);
	nng_send_aio(s->sock, s->aio);
	interruptible_wait(s, false);
	rv = nng_aio_result(s->aio);
	if (rv != 0) {
		/* Not consumed: still ours. */
		nng_msg_free(nng_aio_get_msg(s->aio));
		nng_aio_set_msg(s->aio, NULL);
		return wait_errno(s, rv);
	}
	return 0;
}

int
fm_net_recv(
    fm_net_sock *s, uint32_t timeout_ms, uint8_t **ret_buf, size_t *ret_len)
{
	nng_msg *m;
	uint8_t *buf;
	size_t len;
	int rv;

	if (!s || !ret_buf || !ret_len || timeout_ms > INT32_MAX)
		return -EINVAL;
	if (atomic_load(&s->closed))
		return -ECANCELED;
	/* receiving before the flag is read: an interrupt after this point
	 * either is seen below or cancels the receive */
	atomic_store(&s->receiving, true);
	if (atomic_exchange(&s->interrupted, false)) {
		atomic_store(&s->receiving, false);
		return -EINTR;
	}
	nng_aio_set_timeout(s->aio,
	    (nng_duration)(timeout_ms > 0 ? timeout_ms : s->recv_timeout_ms));
	nng_recv_aio(s->sock, s->aio);
	interruptible_wait(s, true);
	atomic_store(&s->receiving, false);
	rv = nng_aio_result(s->aio);
	/* a cancel that is no close was an interrupt; one that came too
	 * late to cancel anything is left for the next receive */
	if (rv == NNG_ECANCELED && !atomic_load(&s->closed) &&
	    atomic_exchange(&s->interrupted, false))
		return -EINTR;
	if (rv != 0)
		return wait_errno(s, rv);
	m = nng_aio_get_msg(s->aio);
	nng_aio_set_msg(s->aio, NULL);
	len = nng_msg_len(m);
	/* inproc does not apply NNG_OPT_RECVMAXSZ, and the transports
	 * allow for the SP header: the exact check is here. */
	if (len > s->recv_max_bytes) {
		nng_msg_free(m);
		return -EMSGSIZE;
	}
	buf = malloc(len > 0 ? len : 1);
	if (!buf) {
		nng_msg_free(m);
		return -ENOMEM;
	}
	if (len > 0)
		memcpy(buf, nng_msg_body(m), len);
	nng_msg_free(m);
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/*
 * Close only marks the socket closed and cancels a wait in progress; the
 * NNG socket itself is closed by fm_net_sock_free(), in the thread that
 * owns it once no call is in progress. Closing an NNG REQ socket while
 * another thread waits in it can deadlock NNG (nanomsg/nng#1827, seen
 * here as a hang in nng_aio_free() about once in ten runs of the
 * federation client's cancel test under load); cancelling the aio is
 * NNG's supported way to interrupt a wait.
 */
void
fm_net_sock_close(fm_net_sock *s)
{
	if (!s)
		return;
	if (!atomic_exchange(&s->closed, true))
		nng_aio_cancel(s->aio);
}

/*
 * Like close, an interrupt cancels the aio, but only while it carries a
 * receive: a reply being sent (REP) is not cut short. The flag makes the
 * interrupt stick until a receive has seen it, so one that arrives
 * during a send or between two receives is not lost.
 */
void
fm_net_sock_interrupt(fm_net_sock *s)
{
	if (!s)
		return;
	atomic_store(&s->interrupted, true);
	if (atomic_load(&s->receiving))
		nng_aio_cancel(s->aio);
}

fm_net_sock *
fm_net_sock_free(fm_net_sock *s)
{
	if (!s)
		return NULL;
	/* every fm_net_sock here has an open NNG socket */
	atomic_store(&s->closed, true);
	nng_aio_stop(s->aio);
	(void)nng_close(s->sock);
	nng_aio_free(s->aio);
	free(s);
	return NULL;
}

int
fm_net_rep_listen_ipc(
    const char *url, uint32_t mode, const fm_net_options *o, fm_net_sock **ret)
{
	fm_net_sock *s = NULL;
	nng_listener l;
	int r, rv;

	if (!url || !ret || strncmp(url, "ipc://", strlen("ipc://")) != 0 ||
	    mode > 0777)
		return -EINVAL;
	r = url_check(url);
	if (r < 0)
		return r;
	r = sock_open(false, o, &s);
	if (r < 0)
		return r;
	/* NNG chmods the file between bind() and listen(): a connect
	 * before the mode is set is refused, not accepted. */
	rv = nng_listener_create(&l, s->sock, url);
	if (rv == 0)
		rv =
		    nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, (int)mode);
	if (rv == 0)
		rv = nng_listener_start(l, 0);
	if (rv != 0) {
		(void)fm_net_sock_free(s);
		return fm_net_errno(rv);
	}
	*ret = s;
	return 0;
}
