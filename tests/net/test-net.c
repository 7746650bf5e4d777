/*
 * Tests for net/net.c: REQ/REP round trips over inproc, ipc and tcp;
 * timeouts; the receive-size cap on every transport; redial when the
 * listener appears later or restarts; close from another thread; URL and
 * address errors; the NNG error table. NNG calls that cannot be made to
 * fail otherwise are wrapped (-Wl,--wrap) and malloc is hooked.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

/* The wrapped NNG calls need NNG's prototypes: a test of net/ may. */
#include <nng/nng.h>

#include "net/net.h"
#include "tests/support/alloc-hook.h"

#define SHORT_MS 50u
#define LONG_MS  5000u

/* ---- wrapped NNG calls ------------------------------------------------ */

/* The NNG call to fail next (its name) and the NNG code it returns. */
static const char *fail_call;
static int fail_rv;

static int
fail_now(const char *name)
{
	int rv;

	if (!fail_call || strcmp(fail_call, name) != 0)
		return 0;
	rv = fail_rv;
	fail_call = NULL;
	return rv;
}

static void
fail_next(const char *name, int rv)
{
	fail_call = name;
	fail_rv = rv;
}

int __real_nng_aio_alloc(nng_aio **, void (*)(void *), void *);
int __wrap_nng_aio_alloc(nng_aio **, void (*)(void *), void *);
int __real_nng_req0_open(nng_socket *);
int __wrap_nng_req0_open(nng_socket *);
int __real_nng_rep0_open(nng_socket *);
int __wrap_nng_rep0_open(nng_socket *);
int __real_nng_socket_set_ms(nng_socket, const char *, nng_duration);
int __wrap_nng_socket_set_ms(nng_socket, const char *, nng_duration);
int __real_nng_socket_set_size(nng_socket, const char *, size_t);
int __wrap_nng_socket_set_size(nng_socket, const char *, size_t);
int __real_nng_listen(nng_socket, const char *, nng_listener *, int);
int __wrap_nng_listen(nng_socket, const char *, nng_listener *, int);
int __real_nng_msg_alloc(nng_msg **, size_t);
int __wrap_nng_msg_alloc(nng_msg **, size_t);

int
__wrap_nng_aio_alloc(nng_aio **a, void (*cb)(void *), void *arg)
{
	int rv = fail_now("nng_aio_alloc");

	return rv ? rv : __real_nng_aio_alloc(a, cb, arg);
}

int
__wrap_nng_req0_open(nng_socket *s)
{
	int rv = fail_now("nng_req0_open");

	return rv ? rv : __real_nng_req0_open(s);
}

int
__wrap_nng_rep0_open(nng_socket *s)
{
	int rv = fail_now("nng_rep0_open");

	return rv ? rv : __real_nng_rep0_open(s);
}

int
__wrap_nng_socket_set_ms(nng_socket s, const char *name, nng_duration d)
{
	int rv = fail_now(name);

	return rv ? rv : __real_nng_socket_set_ms(s, name, d);
}

int
__wrap_nng_socket_set_size(nng_socket s, const char *name, size_t z)
{
	int rv = fail_now(name);

	return rv ? rv : __real_nng_socket_set_size(s, name, z);
}

int
__wrap_nng_listen(nng_socket s, const char *url, nng_listener *l, int flags)
{
	int rv = fail_now("nng_listen");

	return rv ? rv : __real_nng_listen(s, url, l, flags);
}

int
__wrap_nng_msg_alloc(nng_msg **m, size_t len)
{
	int rv = fail_now("nng_msg_alloc");

	return rv ? rv : __real_nng_msg_alloc(m, len);
}

/* ---- helpers ---------------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Fast options for tests: short timeouts, quick redial. */
static fm_net_options
test_options(size_t max_bytes, uint32_t timeout_ms)
{
	fm_net_options o;

	fm_net_options_init(&o);
	o.recv_max_bytes = max_bytes;
	o.send_timeout_ms = timeout_ms;
	o.recv_timeout_ms = timeout_ms;
	o.reconnect_min_ms = 10;
	o.reconnect_max_ms = 50;
	return o;
}

/* Sends buf[len] on s and checks it arrives unchanged on d. */
static void
pass(fm_net_sock *s, fm_net_sock *d, const uint8_t *buf, size_t len)
{
	uint8_t *got = NULL;
	size_t got_len = 0;

	assert_int_equal(fm_net_send(s, buf, len), 0);
	assert_int_equal(fm_net_recv(d, LONG_MS, &got, &got_len), 0);
	assert_int_equal(got_len, len);
	if (len > 0)
		assert_memory_equal(got, buf, len);
	free(got);
}

/* One request and its reply between req and rep. */
static void
exchange(fm_net_sock *req, fm_net_sock *rep)
{
	static const uint8_t ping[] = "ping", pong[] = "pong, longer";

	pass(req, rep, ping, sizeof(ping));
	pass(rep, req, pong, sizeof(pong));
}

static void
round_trip(const char *listen_url, const char *dial_url)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;

	assert_int_equal(fm_net_rep_listen(listen_url, &o, &rep), 0);
	assert_int_equal(fm_net_req_dial(dial_url, &o, &req), 0);
	exchange(req, rep);
	exchange(req, rep);
	/* An empty message is a message. */
	pass(req, rep, (const uint8_t *)"", 0);
	pass(rep, req, NULL, 0);
	assert_null(fm_net_sock_free(req));
	assert_null(fm_net_sock_free(rep));
}

/* A tcp URL on a port some REP socket just had: free to listen on. */
static fm_net_sock *
listen_tcp_any(const fm_net_options *o, char url[FM_NET_URL_BYTES])
{
	fm_net_sock *rep = NULL;

	assert_int_equal(fm_net_rep_listen("tcp://127.0.0.1:0", o, &rep), 0);
	assert_int_not_equal(fm_net_listen_port(rep), 0);
	snprintf(url, FM_NET_URL_BYTES, "tcp://127.0.0.1:%u",
	    (unsigned)fm_net_listen_port(rep));
	return rep;
}

/* A temporary directory for ipc sockets; removed by ipc_dir_remove(). */
static char ipc_dir[64];

static void
ipc_url(const char *name, char url[FM_NET_URL_BYTES])
{
	if (!ipc_dir[0]) {
		strcpy(ipc_dir, "/tmp/fm-test-net-XXXXXX");
		assert_non_null(mkdtemp(ipc_dir));
	}
	snprintf(url, FM_NET_URL_BYTES, "ipc://%s/%s", ipc_dir, name);
}

static int
ipc_dir_remove(void **state)
{
	char cmd[128];

	(void)state;
	if (ipc_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ipc_dir);
		(void)!system(cmd);
	}
	return 0;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_net_options_defaults(void **state)
{
	fm_net_options o;

	(void)state;
	fm_net_options_init(&o);
	assert_int_equal(o.recv_max_bytes, 1u << 20);
	assert_int_equal(o.send_timeout_ms, 5000);
	assert_int_equal(o.recv_timeout_ms, 5000);
	assert_int_equal(o.reconnect_min_ms, 100);
	assert_int_equal(o.reconnect_max_ms, 60000);
}

static void
test_net_errno_table(void **state)
{
	static const struct {
		int nng, err;
	} table[] = {
		{ 0, 0 },
		{ NNG_ETIMEDOUT, -ETIMEDOUT },
		{ NNG_ECLOSED, -ECANCELED },
		{ NNG_ECANCELED, -ECANCELED },
		{ NNG_ECONNREFUSED, -ECONNREFUSED },
		{ NNG_ECONNRESET, -ECONNRESET },
		{ NNG_ECONNABORTED, -ECONNRESET },
		{ NNG_ECONNSHUT, -ECONNRESET },
		{ NNG_EMSGSIZE, -EMSGSIZE },
		{ NNG_EINVAL, -EINVAL },
		{ NNG_EADDRINVAL, -EINVAL },
		{ NNG_ENOTSUP, -ENOTSUP },
		{ NNG_EADDRINUSE, -EADDRINUSE },
		{ NNG_ESTATE, -EBADFD },
		{ NNG_ENOMEM, -ENOMEM },
		{ NNG_ENOFILES, -ENOMEM },
		{ NNG_EPERM, -EACCES },
		{ NNG_EPROTO, -EIO },
		{ NNG_EINTERNAL, -EIO },
		{ NNG_ESYSERR | 5, -EIO },
		{ NNG_ETRANERR | 1, -EIO },
		{ 12345, -EIO },
	};

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(table); i++)
		assert_int_equal(fm_net_errno(table[i].nng), table[i].err);
}

static void
test_net_round_trip_inproc(void **state)
{
	(void)state;
	round_trip("inproc://fm-test-rt", "inproc://fm-test-rt");
}

static void
test_net_round_trip_ipc(void **state)
{
	char url[FM_NET_URL_BYTES];

	(void)state;
	ipc_url("rt.sock", url);
	round_trip(url, url);
}

static void
test_net_round_trip_tcp(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	char url[FM_NET_URL_BYTES];

	(void)state;
	rep = listen_tcp_any(&o, url);
	assert_int_equal(fm_net_req_dial(url, &o, &req), 0);
	exchange(req, rep);
	/* The REQ side listens nowhere. */
	assert_int_equal(fm_net_listen_port(req), 0);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
}

static void
test_net_listen_port(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL;
	char url[FM_NET_URL_BYTES];
	uint16_t port;

	(void)state;
	assert_int_equal(fm_net_listen_port(NULL), 0);
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-port", &o, &rep), 0);
	assert_int_equal(fm_net_listen_port(rep), 0);
	/* The first tcp listener's port, also when added later. */
	assert_int_equal(fm_net_listen_add(rep, "tcp://127.0.0.1:0"), 0);
	port = fm_net_listen_port(rep);
	assert_int_not_equal(port, 0);
	assert_int_equal(fm_net_listen_add(rep, "tcp://127.0.0.1:0"), 0);
	assert_int_equal(fm_net_listen_port(rep), port);
	fm_net_sock_free(rep);

	rep = listen_tcp_any(&o, url);
	fm_net_sock_free(rep);
}

/* A REP socket listening on inproc, ipc and tcp at once answers all. */
static void
test_net_listen_add_several(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	char ipc[FM_NET_URL_BYTES], tcp[FM_NET_URL_BYTES];
	const char *urls[3];

	(void)state;
	ipc_url("several.sock", ipc);
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-sev", &o, &rep), 0);
	assert_int_equal(fm_net_listen_add(rep, ipc), 0);
	assert_int_equal(fm_net_listen_add(rep, "tcp://127.0.0.1:0"), 0);
	snprintf(tcp, sizeof(tcp), "tcp://127.0.0.1:%u",
	    (unsigned)fm_net_listen_port(rep));
	urls[0] = "inproc://fm-test-sev";
	urls[1] = ipc;
	urls[2] = tcp;
	for (size_t i = 0; i < FM_ELEMENTSOF(urls); i++) {
		assert_int_equal(fm_net_req_dial(urls[i], &o, &req), 0);
		exchange(req, rep);
		req = fm_net_sock_free(req);
	}
	fm_net_sock_free(rep);
}

static void
test_net_recv_timeout(void **state)
{
	fm_net_options o = test_options(1024, SHORT_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int64_t t0, dt;

	(void)state;
	assert_int_equal(fm_net_rep_listen("inproc://fm-test-to", &o, &rep), 0);
	/* Explicit timeout. */
	t0 = now_ms();
	assert_int_equal(fm_net_recv(rep, SHORT_MS, &buf, &len), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= SHORT_MS - 5 && dt < 2000);
	/* 0: the socket's receive timeout (SHORT_MS here). */
	t0 = now_ms();
	assert_int_equal(fm_net_recv(rep, 0, &buf, &len), -ETIMEDOUT);
	dt = now_ms() - t0;
	assert_true(dt >= SHORT_MS - 5 && dt < 2000);
	assert_null(buf);

	/* A REQ whose request is not answered in time. */
	assert_int_equal(fm_net_req_dial("inproc://fm-test-to", &o, &req), 0);
	assert_int_equal(fm_net_send(req, (const uint8_t *)"a", 1), 0);
	assert_int_equal(fm_net_recv(req, SHORT_MS, &buf, &len), -ETIMEDOUT);
	/* The timeout abandoned the request. */
	assert_int_equal(fm_net_recv(req, SHORT_MS, &buf, &len), -EBADFD);
	/* It asks again; the late answer to the first request is
	 * discarded, the REQ gets the answer to the second. */
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), 0);
	assert_true(len == 1 && buf[0] == 'a');
	buf = (free(buf), NULL);
	assert_int_equal(fm_net_send(req, (const uint8_t *)"b", 1), 0);
	assert_int_equal(fm_net_send(rep, (const uint8_t *)"late", 4), 0);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), 0);
	assert_true(len == 1 && buf[0] == 'b');
	buf = (free(buf), NULL);
	pass(rep, req, (const uint8_t *)"B", 1);
	exchange(req, rep);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
}

/* A REQ with no peer waits for one at most its send timeout. */
static void
test_net_send_timeout(void **state)
{
	fm_net_options o = test_options(1024, SHORT_MS);
	fm_net_sock *req = NULL;
	int64_t t0;

	(void)state;
	assert_int_equal(
	    fm_net_req_dial("inproc://fm-test-nobody", &o, &req), 0);
	t0 = now_ms();
	assert_int_equal(fm_net_send(req, (const uint8_t *)"a", 1), -ETIMEDOUT);
	assert_true(now_ms() - t0 < 2000);
	fm_net_sock_free(req);
}

/* Over inproc nothing stops a large message on the way: it arrives, is
 * discarded, and the call says -EMSGSIZE. */
static void
test_net_oversized_inproc(void **state)
{
	fm_net_options o = test_options(64, LONG_MS);
	fm_net_options big = test_options(4096, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	uint8_t msg[1000], *buf = NULL;
	size_t len = 0;

	(void)state;
	memset(msg, 'x', sizeof(msg));
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-big", &o, &rep), 0);
	assert_int_equal(
	    fm_net_req_dial("inproc://fm-test-big", &big, &req), 0);
	pass(req, rep, msg, 64);
	pass(rep, req, msg, 64);
	assert_int_equal(fm_net_send(req, msg, 65), 0);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -EMSGSIZE);
	/* The REP may still answer it (say, with a reason). */
	pass(rep, req, (const uint8_t *)"too large", 9);
	assert_int_equal(fm_net_send(req, msg, sizeof(msg)), 0);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -EMSGSIZE);
	assert_null(buf);
	/* Still usable. */
	pass(req, rep, msg, 10);
	pass(rep, req, msg, 10);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);

	/* The same for a REQ refusing a large reply. */
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-big2", &big, &rep), 0);
	assert_int_equal(fm_net_req_dial("inproc://fm-test-big2", &o, &req), 0);
	pass(req, rep, msg, 10);
	assert_int_equal(fm_net_send(rep, msg, sizeof(msg)), 0);
	assert_int_equal(fm_net_recv(req, LONG_MS, &buf, &len), -EMSGSIZE);
	exchange(req, rep);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
}

/*
 * Over a stream transport the cap is exact too: just over it arrives and
 * is refused with -EMSGSIZE; far over it is refused by the transport
 * before it is buffered, so the receiver sees nothing and the REQ whose
 * connection dropped gets -ECONNRESET; NNG redials and the pair works.
 */
static void
oversized_stream(const char *url)
{
	fm_net_options o = test_options(64, LONG_MS);
	fm_net_options big = test_options(1 << 20, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	uint8_t *msg, *buf = NULL;
	size_t len = 0;

	msg = calloc(1, 100000);
	assert_non_null(msg);
	assert_int_equal(fm_net_rep_listen(url, &o, &rep), 0);
	assert_int_equal(fm_net_req_dial(url, &big, &req), 0);
	pass(req, rep, msg, 64);
	pass(rep, req, msg, 64);

	assert_int_equal(fm_net_send(req, msg, 65), 0);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -EMSGSIZE);
	pass(rep, req, (const uint8_t *)"too large", 9);

	assert_int_equal(fm_net_send(req, msg, 100000), 0);
	assert_int_equal(fm_net_recv(rep, SHORT_MS, &buf, &len), -ETIMEDOUT);
	assert_int_equal(fm_net_recv(req, LONG_MS, &buf, &len), -ECONNRESET);
	assert_null(buf);
	exchange(req, rep);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);

	/* A REQ refusing a large reply: the connection drops, the REQ
	 * sees it drop, redials and asks again. */
	assert_int_equal(fm_net_rep_listen(url, &big, &rep), 0);
	assert_int_equal(fm_net_req_dial(url, &o, &req), 0);
	pass(req, rep, msg, 10);
	assert_int_equal(fm_net_send(rep, msg, 100000), 0);
	assert_int_equal(fm_net_recv(req, LONG_MS, &buf, &len), -ECONNRESET);
	exchange(req, rep);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
	free(msg);
}

static void
test_net_oversized_tcp(void **state)
{
	fm_net_options o = test_options(64, LONG_MS);
	char url[FM_NET_URL_BYTES];

	(void)state;
	fm_net_sock_free(listen_tcp_any(&o, url));
	oversized_stream(url);
}

static void
test_net_oversized_ipc(void **state)
{
	char url[FM_NET_URL_BYTES];

	(void)state;
	ipc_url("big.sock", url);
	oversized_stream(url);
}

struct late_listener {
	char url[FM_NET_URL_BYTES];
	unsigned delay_ms;
	int result;
};

/* Listens on url after delay_ms and answers one request. */
static void *
late_listener_run(void *arg)
{
	struct late_listener *l = arg;
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	sleep_ms(l->delay_ms);
	r = fm_net_rep_listen(l->url, &o, &rep);
	if (r == 0)
		r = fm_net_recv(rep, LONG_MS, &buf, &len);
	if (r == 0)
		r = fm_net_send(rep, buf, len);
	free(buf);
	/* Let the reply leave before the socket goes. */
	if (r == 0)
		sleep_ms(100);
	fm_net_sock_free(rep);
	l->result = r;
	return NULL;
}

/* Dials before anything listens; the request waits and goes through once
 * the listener is there; then the listener restarts and NNG redials. */
static void
late_listener(const char *url)
{
	fm_net_options o = test_options(1024, LONG_MS);
	struct late_listener l = { .delay_ms = 100 };
	fm_net_sock *req = NULL;
	static const uint8_t msg[] = "hello?";
	uint8_t *buf = NULL;
	size_t len = 0;
	pthread_t t;

	for (int i = 0; i < 2; i++) {
		snprintf(l.url, sizeof(l.url), "%s", url);
		l.result = 1;
		if (!req)
			assert_int_equal(fm_net_req_dial(url, &o, &req), 0);
		assert_int_equal(
		    pthread_create(&t, NULL, late_listener_run, &l), 0);
		/* After the restart a request may still leave on the old
		 * connection before NNG sees it close: that request fails
		 * with -ECONNRESET (NNG's resend is off, the caller decides)
		 * and a new one takes the redialled connection. */
		for (int attempt = 0;; attempt++) {
			int r;

			assert_int_equal(fm_net_send(req, msg, sizeof(msg)), 0);
			r = fm_net_recv(req, LONG_MS, &buf, &len);
			if (r == -ECONNRESET && i > 0 && attempt < 3)
				continue;
			assert_int_equal(r, 0);
			break;
		}
		assert_int_equal(len, sizeof(msg));
		assert_memory_equal(buf, msg, len);
		buf = (free(buf), NULL);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(l.result, 0);
	}
	fm_net_sock_free(req);
}

static void
test_net_late_listener_tcp(void **state)
{
	fm_net_options o = test_options(64, LONG_MS);
	char url[FM_NET_URL_BYTES];

	(void)state;
	fm_net_sock_free(listen_tcp_any(&o, url));
	late_listener(url);
}

static void
test_net_late_listener_ipc(void **state)
{
	char url[FM_NET_URL_BYTES];

	(void)state;
	ipc_url("late.sock", url);
	late_listener(url);
}

struct waiter {
	fm_net_sock *s;
	bool send;
	int result;
	int64_t elapsed_ms;
};

static void *
waiter_run(void *arg)
{
	struct waiter *w = arg;
	uint8_t *buf = NULL;
	size_t len;
	int64_t t0 = now_ms();

	if (w->send)
		w->result = fm_net_send(w->s, (const uint8_t *)"x", 1);
	else
		w->result = fm_net_recv(w->s, LONG_MS, &buf, &len);
	w->elapsed_ms = now_ms() - t0;
	free(buf);
	return NULL;
}

/* Closes w->s from here while another thread waits in it. */
static void
interrupt(struct waiter *w)
{
	uint8_t *buf = NULL;
	size_t len;
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, waiter_run, w), 0);
	sleep_ms(SHORT_MS);
	fm_net_sock_close(w->s);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w->result, -ECANCELED);
	assert_true(w->elapsed_ms < LONG_MS / 2);
	/* Later calls fail the same way; close is idempotent. */
	assert_int_equal(fm_net_recv(w->s, SHORT_MS, &buf, &len), -ECANCELED);
	assert_int_equal(
	    fm_net_send(w->s, (const uint8_t *)"x", 1), -ECANCELED);
	fm_net_sock_close(w->s);
	fm_net_sock_close(NULL);
	assert_null(fm_net_sock_free(w->s));
}

static void
test_net_close_interrupts(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	struct waiter w = { 0 };

	(void)state;
	/* A REP waiting for a request. */
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-close", &o, &rep), 0);
	w = (struct waiter) { .s = rep };
	interrupt(&w);

	/* A REQ waiting for its reply. */
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-close", &o, &rep), 0);
	assert_int_equal(
	    fm_net_req_dial("inproc://fm-test-close", &o, &req), 0);
	assert_int_equal(fm_net_send(req, (const uint8_t *)"x", 1), 0);
	w = (struct waiter) { .s = req };
	interrupt(&w);
	fm_net_sock_free(rep);

	/* A REQ waiting for a peer to send to. */
	assert_int_equal(fm_net_req_dial("inproc://fm-test-none", &o, &req), 0);
	w = (struct waiter) { .s = req, .send = true };
	interrupt(&w);

	/* Closed before listening more. */
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-close", &o, &rep), 0);
	fm_net_sock_close(rep);
	assert_int_equal(
	    fm_net_listen_add(rep, "inproc://fm-test-c2"), -ECANCELED);
	fm_net_sock_free(rep);
	assert_null(fm_net_sock_free(NULL));
}

/* An interrupt wakes a REP waiting for a request (-EINTR, socket still
 * open, the next request still served); one made between receives is
 * kept for the next receive, once; a message already queued is not lost. */
static void
test_net_interrupt_wakes(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	struct waiter w = { 0 };
	uint8_t *buf = NULL;
	size_t len;
	pthread_t t;

	(void)state;
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-intr", &o, &rep), 0);
	assert_int_equal(fm_net_req_dial("inproc://fm-test-intr", &o, &req), 0);
	w = (struct waiter) { .s = rep };
	assert_int_equal(pthread_create(&t, NULL, waiter_run, &w), 0);
	sleep_ms(SHORT_MS);
	fm_net_sock_interrupt(rep);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(w.result, -EINTR);
	assert_true(w.elapsed_ms < LONG_MS / 2);
	/* seen once: the next receive waits again */
	assert_int_equal(fm_net_recv(rep, SHORT_MS, &buf, &len), -ETIMEDOUT);
	exchange(req, rep);

	/* Between receives: kept, counted once. */
	fm_net_sock_interrupt(rep);
	fm_net_sock_interrupt(rep);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -EINTR);
	assert_int_equal(fm_net_recv(rep, SHORT_MS, &buf, &len), -ETIMEDOUT);

	/* A request queued before the interrupt is still delivered. */
	assert_int_equal(fm_net_send(req, (const uint8_t *)"q", 1), 0);
	sleep_ms(SHORT_MS);
	fm_net_sock_interrupt(rep);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -EINTR);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 'q');
	free(buf);
	/* An interrupt between a request and its reply: the reply goes
	 * out, the interrupt waits for the next receive. */
	fm_net_sock_interrupt(rep);
	assert_int_equal(fm_net_send(rep, (const uint8_t *)"r", 1), 0);
	buf = NULL;
	assert_int_equal(fm_net_recv(req, LONG_MS, &buf, &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(buf[0], 'r');
	free(buf);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -EINTR);

	/* Close still wins over an interrupt. */
	fm_net_sock_interrupt(rep);
	fm_net_sock_close(rep);
	assert_int_equal(fm_net_recv(rep, SHORT_MS, &buf, &len), -ECANCELED);
	fm_net_sock_interrupt(NULL);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
}

static void
test_net_bad_url(void **state)
{
	static const char *const bad[] = { "not a url", "", "tcp://",
		"tcp://127.0.0.1", "ipc://" };
	static const char *const bad_listen[] = { "not a url", "", "tcp://",
		"tcp://127.0.0.1:99999", "ipc://",
		"tcp://no.such.host.invalid:80" };
	static const char *const unknown[] = { "foo://bar", "zt://x",
		"ws://127.0.0.1:0/x", "tls+tcp://127.0.0.1:0", "TCP://x:1" };
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *s = NULL;
	char url[FM_NET_URL_BYTES + 8];

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++)
		assert_int_equal(fm_net_req_dial(bad[i], &o, &s), -EINVAL);
	for (size_t i = 0; i < FM_ELEMENTSOF(bad_listen); i++)
		assert_int_equal(
		    fm_net_rep_listen(bad_listen[i], &o, &s), -EINVAL);
	for (size_t i = 0; i < FM_ELEMENTSOF(unknown); i++) {
		assert_int_equal(fm_net_req_dial(unknown[i], &o, &s), -ENOTSUP);
		assert_int_equal(
		    fm_net_rep_listen(unknown[i], &o, &s), -ENOTSUP);
	}
	/* One character too long. */
	memset(url, 'a', sizeof(url));
	memcpy(url, "inproc://", 9);
	url[FM_NET_URL_BYTES] = '\0';
	assert_int_equal(fm_net_req_dial(url, &o, &s), -EINVAL);
	assert_int_equal(fm_net_rep_listen(url, &o, &s), -EINVAL);
	url[FM_NET_URL_BYTES - 1] = '\0';
	assert_int_equal(fm_net_req_dial(url, &o, &s), 0);
	s = fm_net_sock_free(s);
	assert_int_equal(fm_net_req_dial(NULL, &o, &s), -EINVAL);
	assert_int_equal(fm_net_rep_listen(NULL, &o, &s), -EINVAL);
	assert_null(s);

	/* A listener that failed leaves the socket as it was. */
	assert_int_equal(fm_net_rep_listen("inproc://fm-test-bad", &o, &s), 0);
	assert_int_equal(fm_net_listen_add(s, "foo://bar"), -ENOTSUP);
	assert_int_equal(fm_net_listen_add(s, "tcp://"), -EINVAL);
	assert_int_equal(fm_net_listen_add(s, NULL), -EINVAL);
	assert_int_equal(fm_net_listen_add(NULL, "inproc://x"), -EINVAL);
	fm_net_sock_free(s);
}

static void
test_net_address_in_use(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *a = NULL, *b = NULL;
	char url[FM_NET_URL_BYTES];

	(void)state;
	a = listen_tcp_any(&o, url);
	assert_int_equal(fm_net_rep_listen(url, &o, &b), -EADDRINUSE);
	fm_net_sock_free(a);

	assert_int_equal(fm_net_rep_listen("inproc://fm-test-use", &o, &a), 0);
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-use", &o, &b), -EADDRINUSE);
	assert_int_equal(
	    fm_net_listen_add(a, "inproc://fm-test-use"), -EADDRINUSE);
	fm_net_sock_free(a);

	ipc_url("use.sock", url);
	assert_int_equal(fm_net_rep_listen(url, &o, &a), 0);
	assert_int_equal(fm_net_rep_listen(url, &o, &b), -EADDRINUSE);
	fm_net_sock_free(a);
	assert_null(b);
}

static void
test_net_bad_options(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS), bad;
	fm_net_sock *s = NULL;

	(void)state;
	assert_int_equal(fm_net_req_dial("inproc://x", NULL, &s), -EINVAL);
	assert_int_equal(fm_net_req_dial("inproc://x", &o, NULL), -EINVAL);
	bad = o;
	bad.recv_max_bytes = 0;
	assert_int_equal(fm_net_req_dial("inproc://x", &bad, &s), -EINVAL);
	assert_int_equal(fm_net_rep_listen("inproc://x", &bad, &s), -EINVAL);
	bad = o;
	bad.send_timeout_ms = 0;
	assert_int_equal(fm_net_req_dial("inproc://x", &bad, &s), -EINVAL);
	bad = o;
	bad.recv_timeout_ms = (uint32_t)INT32_MAX + 1;
	assert_int_equal(fm_net_rep_listen("inproc://x", &bad, &s), -EINVAL);
	bad = o;
	bad.reconnect_min_ms = 0;
	assert_int_equal(fm_net_req_dial("inproc://x", &bad, &s), -EINVAL);
	bad = o;
	bad.reconnect_max_ms = bad.reconnect_min_ms - 1;
	assert_int_equal(fm_net_req_dial("inproc://x", &bad, &s), -EINVAL);
	/* REP does not redial: the redial options do not matter. */
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-opt", &bad, &s), 0);
	s = fm_net_sock_free(s);
	/* SIZE_MAX: no overflow adding the header allowance. */
	bad = o;
	bad.recv_max_bytes = SIZE_MAX;
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-opt", &bad, &s), 0);
	s = fm_net_sock_free(s);
	assert_null(s);
}

/* Calls out of order on either side, and arguments. */
static void
test_net_wrong_state(void **state)
{
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(fm_net_rep_listen("inproc://fm-test-st", &o, &rep), 0);
	assert_int_equal(fm_net_req_dial("inproc://fm-test-st", &o, &req), 0);
	assert_int_equal(fm_net_send(rep, (const uint8_t *)"x", 1), -EBADFD);
	assert_int_equal(fm_net_recv(req, SHORT_MS, &buf, &len), -EBADFD);
	assert_int_equal(
	    fm_net_listen_add(req, "inproc://fm-test-st2"), -EINVAL);
	assert_int_equal(fm_net_send(req, NULL, 1), -EINVAL);
	assert_int_equal(fm_net_send(NULL, buf, 0), -EINVAL);
	assert_int_equal(fm_net_recv(NULL, 0, &buf, &len), -EINVAL);
	assert_int_equal(fm_net_recv(req, 0, NULL, &len), -EINVAL);
	assert_int_equal(fm_net_recv(req, 0, &buf, NULL), -EINVAL);
	assert_int_equal(
	    fm_net_recv(req, (uint32_t)INT32_MAX + 1, &buf, &len), -EINVAL);
	exchange(req, rep);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
}

/* Every failure of an NNG call or an allocation comes back as its errno
 * and leaves nothing behind (the sanitizer build checks leaks). */
static void
test_net_faults(void **state)
{
	static const char *const setup_calls[] = { "nng_aio_alloc",
		"nng_req0_open", NNG_OPT_RECVMAXSZ, NNG_OPT_SENDTIMEO,
		NNG_OPT_RECVTIMEO, NNG_OPT_RECONNMINT, NNG_OPT_RECONNMAXT,
		"req:resend-time" };
	fm_net_options o = test_options(1024, LONG_MS);
	fm_net_sock *rep = NULL, *req = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(setup_calls); i++) {
		fail_next(setup_calls[i], NNG_ENOMEM);
		assert_int_equal(
		    fm_net_req_dial("inproc://fm-test-f", &o, &req), -ENOMEM);
		assert_null(fail_call); /* the call was made */
	}
	fm_test_alloc_fail_after(0);
	assert_int_equal(
	    fm_net_req_dial("inproc://fm-test-f", &o, &req), -ENOMEM);
	fm_test_alloc_fail_after(-1);
	assert_null(req);

	fail_next("nng_rep0_open", NNG_ENOMEM);
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-f", &o, &rep), -ENOMEM);
	fail_next(NNG_OPT_RECVMAXSZ, NNG_EINVAL);
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-f", &o, &rep), -EINVAL);

	/* No permission to listen. */
	fail_next("nng_listen", NNG_EPERM);
	assert_int_equal(
	    fm_net_rep_listen("inproc://fm-test-f", &o, &rep), -EACCES);
	assert_null(rep);

	assert_int_equal(fm_net_rep_listen("inproc://fm-test-f", &o, &rep), 0);
	assert_int_equal(fm_net_req_dial("inproc://fm-test-f", &o, &req), 0);
	fail_next("nng_msg_alloc", NNG_ENOMEM);
	assert_int_equal(fm_net_send(req, (const uint8_t *)"x", 1), -ENOMEM);
	/* The copy out of the message. */
	assert_int_equal(fm_net_send(req, (const uint8_t *)"x", 1), 0);
	fm_test_alloc_fail_after(0);
	assert_int_equal(fm_net_recv(rep, LONG_MS, &buf, &len), -ENOMEM);
	fm_test_alloc_fail_after(-1);
	assert_null(buf);
	exchange(req, rep);
	fm_net_sock_free(req);
	fm_net_sock_free(rep);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_net_options_defaults),
		cmocka_unit_test(test_net_errno_table),
		cmocka_unit_test(test_net_round_trip_inproc),
		cmocka_unit_test(test_net_round_trip_ipc),
		cmocka_unit_test(test_net_round_trip_tcp),
		cmocka_unit_test(test_net_listen_port),
		cmocka_unit_test(test_net_listen_add_several),
		cmocka_unit_test(test_net_recv_timeout),
		cmocka_unit_test(test_net_send_timeout),
		cmocka_unit_test(test_net_oversized_inproc),
		cmocka_unit_test(test_net_oversized_tcp),
		cmocka_unit_test(test_net_oversized_ipc),
		cmocka_unit_test(test_net_late_listener_tcp),
		cmocka_unit_test(test_net_late_listener_ipc),
		cmocka_unit_test(test_net_close_interrupts),
		cmocka_unit_test(test_net_interrupt_wakes),
		cmocka_unit_test(test_net_bad_url),
		cmocka_unit_test(test_net_address_in_use),
		cmocka_unit_test(test_net_bad_options),
		cmocka_unit_test(test_net_wrong_state),
		cmocka_unit_test(test_net_faults),
	};

	return cmocka_run_group_tests(tests, NULL, ipc_dir_remove);
}
