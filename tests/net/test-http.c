/*
 * Tests for net/http.c: the /metrics server, spoken to over a raw TCP
 * socket (GET, HEAD, other paths and methods, a failing handler), port 0,
 * two servers in one process, address errors, an address in use, and
 * fm_net_http_free() waiting for a handler in progress.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "net/net.h"

#define IO_TIMEOUT_S   20
#define RESPONSE_BYTES 65536

/* ---- a raw HTTP client ------------------------------------------------ */

typedef struct response {
	int status;
	char head[4096]; /* status line and headers */
	char body[RESPONSE_BYTES];
	size_t body_len;
} response;

/* Sends request to 127.0.0.1:port and reads the reply to EOF (the
 * requests say Connection: close). */
static void
http_exchange(uint16_t port, const char *request, response *ret)
{
	static char buf[RESPONSE_BYTES + 4096];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	size_t len = 0, req_len = strlen(request);
	const char *end;
	ssize_t n;
	int fd;

	memset(ret, 0, sizeof(*ret));
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(write(fd, request, req_len), (ssize_t)req_len);
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	assert_int_equal(n, 0); /* EOF, not a timeout */
	close(fd);
	buf[len] = '\0';
	end = strstr(buf, "\r\n\r\n");
	assert_non_null(end);
	assert_true((size_t)(end - buf) < sizeof(ret->head));
	memcpy(ret->head, buf, (size_t)(end - buf));
	ret->body_len = len - (size_t)(end + 4 - buf);
	memcpy(ret->body, end + 4, ret->body_len);
	assert_int_equal(sscanf(buf, "HTTP/1.1 %d ", &ret->status), 1);
}

/* The value of header name in r, or NULL. */
static const char *
header(const response *r, const char *name, char *value, size_t size)
{
	const char *p = r->head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\r\n")) != NULL) {
		p += 2;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1, *e;

			v += strspn(v, " ");
			e = strstr(v, "\r\n");
			if (!e)
				e = v + strlen(v);
			snprintf(value, size, "%.*s", (int)(e - v), v);
			return value;
		}
	}
	return NULL;
}

static void
get(uint16_t port, const char *method, const char *path, response *ret)
{
	char req[512];

	snprintf(req, sizeof(req),
	    "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
	    method, path);
	http_exchange(port, req, ret);
}

/* ---- handlers --------------------------------------------------------- */

struct body {
	const char *text; /* NULL: fail */
	atomic_uint calls;
};

static int
serve_body(void *userdata, char **ret_body, size_t *ret_len)
{
	struct body *b = userdata;

	atomic_fetch_add(&b->calls, 1);
	if (!b->text)
		return -EIO;
	*ret_body = strdup(b->text);
	if (!*ret_body)
		return -ENOMEM;
	*ret_len = strlen(b->text);
	return 0;
}

/* A server on a free port of 127.0.0.1 for /metrics. */
static fm_net_http *
serve(const char *content_type, fm_net_http_handler handler, void *userdata)
{
	fm_net_http *h = NULL;

	assert_int_equal(fm_net_http_serve("127.0.0.1:0", "/metrics",
	                     content_type, handler, userdata, &h),
	    0);
	assert_true(fm_net_http_port(h) > 0);
	return h;
}

/* ---- tests ------------------------------------------------------------ */

static void
test_http_get(void **state)
{
	struct body b = { .text = "fedmon_up 1\n" };
	fm_net_http *h = NULL;
	char v[256];
	response r;

	(void)state;
	h = serve(FM_NET_PROMETHEUS_CONTENT_TYPE, serve_body, &b);

	get(fm_net_http_port(h), "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_non_null(header(&r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, FM_NET_PROMETHEUS_CONTENT_TYPE);
	assert_non_null(header(&r, "Content-Length", v, sizeof(v)));
	assert_string_equal(v, "12");
	assert_int_equal(r.body_len, strlen(b.text));
	assert_memory_equal(r.body, b.text, r.body_len);
	/* a query string is not part of the path */
	get(fm_net_http_port(h), "GET", "/metrics?x=1", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(atomic_load(&b.calls), 2);
	fm_net_http_free(h);
}

static void
test_http_head(void **state)
{
	struct body b = { .text = "fedmon_up 1\n" };
	fm_net_http *h = NULL;
	char v[256];
	response r;

	(void)state;
	h = serve(FM_NET_PROMETHEUS_CONTENT_TYPE, serve_body, &b);
	get(fm_net_http_port(h), "HEAD", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	assert_non_null(header(&r, "Content-Type", v, sizeof(v)));
	assert_string_equal(v, FM_NET_PROMETHEUS_CONTENT_TYPE);
	fm_net_http_free(h);
}

static void
test_http_not_found_and_bad_method(void **state)
{
	struct body b = { .text = "x 1\n" };
	fm_net_http *h = NULL;
	response r;

	(void)state;
	h = serve("text/plain", serve_body, &b);
	get(fm_net_http_port(h), "GET", "/", &r);
	assert_int_equal(r.status, 404);
	get(fm_net_http_port(h), "GET", "/metrics/more", &r);
	assert_int_equal(r.status, 404);
	get(fm_net_http_port(h), "GET", "/metricsx", &r);
	assert_int_equal(r.status, 404);
	get(fm_net_http_port(h), "POST", "/metrics", &r);
	assert_int_equal(r.status, 405);
	get(fm_net_http_port(h), "DELETE", "/metrics", &r);
	assert_int_equal(r.status, 405);
	assert_int_equal(atomic_load(&b.calls), 0);
	fm_net_http_free(h);
}

static void
test_http_body_ignored_and_bounded(void **state)
{
	struct body b = { .text = "x 1\n" };
	fm_net_http *h = NULL;
	char req[512];
	response r;

	(void)state;
	h = serve("text/plain", serve_body, &b);
	snprintf(req, sizeof(req),
	    "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	http_exchange(fm_net_http_port(h), req, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "x 1\n", 4);
	/* a body over the cap is refused before it is read */
	snprintf(req, sizeof(req),
	    "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n"
	    "Content-Length: 100000000\r\n\r\n");
	http_exchange(fm_net_http_port(h), req, &r);
	assert_int_equal(r.status, 400);
	/* HTTP/1.1 without Host */
	http_exchange(fm_net_http_port(h),
	    "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n", &r);
	assert_int_equal(r.status, 400);
	assert_int_equal(atomic_load(&b.calls), 1);
	fm_net_http_free(h);
}

static void
test_http_handler_error_is_500(void **state)
{
	struct body b = { .text = NULL };
	fm_net_http *h = NULL;
	response r;

	(void)state;
	h = serve("text/plain", serve_body, &b);
	get(fm_net_http_port(h), "GET", "/metrics", &r);
	assert_int_equal(r.status, 500);
	assert_int_equal(atomic_load(&b.calls), 1);
	/* the server goes on */
	b.text = "y 2\n";
	get(fm_net_http_port(h), "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "y 2\n", 4);
	fm_net_http_free(h);
}

static void
test_http_two_servers_port_zero(void **state)
{
	struct body b1 = { .text = "one 1\n" }, b2 = { .text = "two 2\n" };
	fm_net_http *h1 = NULL, *h2 = NULL, *h3 = NULL;
	response r;

	(void)state;
	h1 = serve("text/plain", serve_body, &b1);
	h2 = serve("text/plain", serve_body, &b2);
	assert_true(fm_net_http_port(h1) > 0);
	assert_true(fm_net_http_port(h2) > 0);
	assert_int_not_equal(fm_net_http_port(h1), fm_net_http_port(h2));
	get(fm_net_http_port(h1), "GET", "/metrics", &r);
	assert_memory_equal(r.body, "one 1\n", 6);
	get(fm_net_http_port(h2), "GET", "/metrics", &r);
	assert_memory_equal(r.body, "two 2\n", 6);
	/* a fixed port: the one h2 got, freed first */
	{
		char listen[64];
		uint16_t port = fm_net_http_port(h2);

		h2 = fm_net_http_free(h2);
		assert_null(h2);
		snprintf(listen, sizeof(listen), "127.0.0.1:%u", port);
		assert_int_equal(fm_net_http_serve(listen, "/metrics",
		                     "text/plain", serve_body, &b2, &h3),
		    0);
		assert_int_equal(fm_net_http_port(h3), port);
		get(port, "GET", "/metrics", &r);
		assert_memory_equal(r.body, "two 2\n", 6);
	}
	fm_net_http_free(h1);
	fm_net_http_free(h3);
}

static void
test_http_address_in_use(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct body b = { .text = "x 1\n" };
	fm_net_http *h = (fm_net_http *)&b; /* must stay untouched */
	char addr[64];
	int fd;

	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	assert_int_equal(fm_net_http_serve(addr, "/metrics", "text/plain",
	                     serve_body, &b, &h),
	    -EADDRINUSE);
	assert_ptr_equal(h, &b);
	close(fd);
}

static void
test_http_bad_arguments(void **state)
{
	static const char *const bad_listen[] = {
		"",
		"127.0.0.1",
		":9741",
		"127.0.0.1:",
		"127.0.0.1:65536",
		"127.0.0.1:-1",
		"127.0.0.1:97x",
		"::1:9741",
		"[::1:9741",
		"a/b:9741",
		"user@host:9741",
		"127.0.0.1 :9741",
	};
	struct body b = { .text = "x 1\n" };
	fm_net_http *h = NULL;
	char longer[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++)
		assert_int_equal(fm_net_http_serve(bad_listen[i], "/metrics",
		                     "text/plain", serve_body, &b, &h),
		    -EINVAL);
	memset(longer, 'a', sizeof(longer));
	snprintf(longer + sizeof(longer) - 8, 8, ":9741");
	assert_int_equal(fm_net_http_serve(longer, "/metrics", "text/plain",
	                     serve_body, &b, &h),
	    -EINVAL);
	assert_int_equal(fm_net_http_serve(NULL, "/metrics", "text/plain",
	                     serve_body, &b, &h),
	    -EINVAL);
	assert_int_equal(fm_net_http_serve("127.0.0.1:0", "metrics",
	                     "text/plain", serve_body, &b, &h),
	    -EINVAL);
	assert_int_equal(fm_net_http_serve("127.0.0.1:0", "/a b", "text/plain",
	                     serve_body, &b, &h),
	    -EINVAL);
	assert_int_equal(fm_net_http_serve("127.0.0.1:0", NULL, "text/plain",
	                     serve_body, &b, &h),
	    -EINVAL);
	assert_int_equal(fm_net_http_serve("127.0.0.1:0", "/metrics", NULL,
	                     serve_body, &b, &h),
	    -EINVAL);
	assert_int_equal(fm_net_http_serve("127.0.0.1:0", "/metrics",
	                     "text/plain", NULL, &b, &h),
	    -EINVAL);
	/* an address this host does not have */
	assert_int_equal(fm_net_http_serve("192.0.2.1:0", "/metrics",
	                     "text/plain", serve_body, &b, &h) < 0,
	    true);
	assert_null(h);
	for (size_t i = 0; i < sizeof(bad_listen) / sizeof(bad_listen[0]); i++)
		assert_false(fm_net_http_listen_is_valid(bad_listen[i]));
	assert_false(fm_net_http_listen_is_valid(NULL));
	assert_false(fm_net_http_listen_is_valid(longer));
	assert_true(fm_net_http_listen_is_valid("127.0.0.1:9741"));
	assert_true(fm_net_http_listen_is_valid("[::1]:0"));
	assert_true(fm_net_http_listen_is_valid("localhost:65535"));
	assert_null(fm_net_http_free(NULL));
	assert_int_equal(fm_net_http_port(NULL), 0);
}

static void
test_http_ipv6_loopback(void **state)
{
	struct body b = { .text = "x 1\n" };
	fm_net_http *h = NULL;
	int r;

	(void)state;
	r = fm_net_http_serve(
	    "[::1]:0", "/metrics", "text/plain", serve_body, &b, &h);
	if (r == -EINVAL || r == -EADDRNOTAVAIL || r == -EIO) {
		/* no IPv6 loopback in this container */
		skip();
	}
	assert_int_equal(r, 0);
	assert_true(fm_net_http_port(h) > 0);
	fm_net_http_free(h);
}

/* A handler that blocks until told, to catch free() not waiting. */
struct slow {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool entered;
	bool release;
	bool finished;
};

static int
serve_slow(void *userdata, char **ret_body, size_t *ret_len)
{
	struct slow *s = userdata;

	pthread_mutex_lock(&s->lock);
	s->entered = true;
	pthread_cond_broadcast(&s->cond);
	while (!s->release)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	/* still using userdata after the release */
	usleep(100 * 1000);
	pthread_mutex_lock(&s->lock);
	s->finished = true;
	pthread_mutex_unlock(&s->lock);
	*ret_body = strdup("slow 1\n");
	*ret_len = 7;
	return *ret_body ? 0 : -ENOMEM;
}

struct client_arg {
	uint16_t port;
	int fd;
};

/* Sends a request and leaves the reply unread (the server may close). */
static void *
client(void *arg)
{
	struct client_arg *c = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	static const char req[] =
	    "GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

	sa.sin_port = htons(c->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd >= 0 &&
	    connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		(void)!write(c->fd, req, sizeof(req) - 1);
	return NULL;
}

static void *
releaser(void *arg)
{
	struct slow *s = arg;

	usleep(200 * 1000);
	pthread_mutex_lock(&s->lock);
	s->release = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void
test_http_free_waits_for_handler(void **state)
{
	struct slow s = { .lock = PTHREAD_MUTEX_INITIALIZER,
		.cond = PTHREAD_COND_INITIALIZER };
	struct client_arg c = { 0 };
	fm_net_http *h = NULL;
	pthread_t tc, tr;

	(void)state;
	h = serve("text/plain", serve_slow, &s);
	c.port = fm_net_http_port(h);
	assert_int_equal(pthread_create(&tc, NULL, client, &c), 0);
	pthread_mutex_lock(&s.lock);
	while (!s.entered)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	assert_int_equal(pthread_create(&tr, NULL, releaser, &s), 0);
	fm_net_http_free(h);
	/* free returned: the handler is done with userdata */
	pthread_mutex_lock(&s.lock);
	assert_true(s.finished);
	pthread_mutex_unlock(&s.lock);
	pthread_join(tr, NULL);
	pthread_join(tc, NULL);
	if (c.fd >= 0)
		close(c.fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_get),
		cmocka_unit_test(test_http_head),
		cmocka_unit_test(test_http_not_found_and_bad_method),
		cmocka_unit_test(test_http_body_ignored_and_bounded),
		cmocka_unit_test(test_http_handler_error_is_500),
		cmocka_unit_test(test_http_two_servers_port_zero),
		cmocka_unit_test(test_http_address_in_use),
		cmocka_unit_test(test_http_bad_arguments),
		cmocka_unit_test(test_http_ipv6_loopback),
		cmocka_unit_test(test_http_free_waits_for_handler),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
