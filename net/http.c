/*
 * A small HTTP server for one path (/metrics) on NNG's HTTP server.
 *
 * NNG matches the path and the method: GET and HEAD reach our callback
 * (HEAD is answered with GET's headers and no body), another method on
 * the path is 405, another path 404, malformed requests 400. A request
 * body is read (at most HTTP_BODY_MAX_BYTES, more is 400) and ignored.
 *
 * Lifetime: NNG calls a handler's callback on its own threads and keeps a
 * reference on the handler while one runs, so what the callback reads (the
 * caller's function, its userdata and the content type) lives in struct
 * endpoint, owned by the NNG handler and freed by its destructor. The
 * caller's userdata is only borrowed until fm_net_http_free(), which first
 * refuses new calls and waits for those in progress, so no callback
 * touches userdata once it returns.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "net/net.h"

/* Bodies sent with a GET are read and dropped; larger ones are refused. */
#define HTTP_BODY_MAX_BYTES (64u * 1024)
/* "http://" + "[" ADDR "]:" PORT + "/"; the listen text is bounded by it. */
#define HTTP_LISTEN_MAX_BYTES 128u
#define HTTP_PATH_MAX_BYTES   128u

struct endpoint {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* signalled when running drops to 0 */
	unsigned running;    /* callbacks inside handler() now */
	bool closing;        /* fm_net_http_free() began: no new calls */
	fm_net_http_handler handler;
	void *userdata;
	char *content_type;
};

struct fm_net_http {
	nng_http_server *server;
	nng_http_handler *handler; /* owned by server once added */
	struct endpoint *ep;       /* owned by handler */
	uint16_t port;
	bool started;
};

/* NNG's server is shared per address within a process; holding and
 * starting must not interleave between two fm_net_http_serve() calls, or
 * two servers on port 0 could be taken for one. */
static pthread_mutex_t serve_lock = PTHREAD_MUTEX_INITIALIZER;

static void
endpoint_free(void *arg)
{
	struct endpoint *ep = arg;

	if (!ep)
		return;
	pthread_cond_destroy(&ep->idle);
	pthread_mutex_destroy(&ep->lock);
	free(ep->content_type);
	free(ep);
}

/* Answers with the status code's error page. */
static void
reply_error(nng_aio *aio, uint16_t status)
{
	nng_http_res *res;
	int rv;

	rv = nng_http_res_alloc_error(&res, status);
	if (rv != 0) {
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* Builds the 200 reply around body[len]; 0 or an NNG error. */
static int
reply_ok(
    const struct endpoint *ep, const char *body, size_t len, nng_http_res **ret)
{
	nng_http_res *res;
	int rv;

	rv = nng_http_res_alloc(&res);
	if (rv != 0)
		return rv;
	rv = nng_http_res_set_header(res, "Content-Type", ep->content_type);
	if (rv == 0)
		rv = nng_http_res_set_header(res, "Cache-Control", "no-store");
	if (rv == 0)
		rv = nng_http_res_copy_data(res, body, len);
	if (rv != 0) {
		nng_http_res_free(res);
		return rv;
	}
	*ret = res;
	return 0;
}

/* NNG's callback for GET and HEAD of the path, on one of its threads. */
static void
handle(nng_aio *aio)
{
	nng_http_handler *h = nng_aio_get_input(aio, 1);
	struct endpoint *ep = nng_http_handler_get_data(h);
	nng_http_res *res = NULL;
	char *body = NULL;
	size_t len = 0;
	int r, rv;

	pthread_mutex_lock(&ep->lock);
	if (ep->closing) {
		pthread_mutex_unlock(&ep->lock);
		reply_error(aio, NNG_HTTP_STATUS_SERVICE_UNAVAILABLE);
		return;
	}
	ep->running++;
	pthread_mutex_unlock(&ep->lock);

	r = ep->handler(ep->userdata, &body, &len);
	rv = r < 0 ? NNG_EINTERNAL : reply_ok(ep, body, len, &res);
	free(body);

	pthread_mutex_lock(&ep->lock);
	if (--ep->running == 0)
		pthread_cond_broadcast(&ep->idle);
	pthread_mutex_unlock(&ep->lock);

	/* ep is not touched below: NNG may drop the handler once the aio
	 * completes. */
	if (rv != 0) {
		reply_error(aio, NNG_HTTP_STATUS_INTERNAL_SERVER_ERROR);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

/* Checks "ADDR:PORT" (ADDR non-empty, "[v6]" for IPv6; PORT 0 to 65535)
 * and writes NNG's URL for it into url[HTTP_LISTEN_MAX_BYTES + 16]. */
static int
listen_url(const char *listen, char *url, size_t url_size)
{
	const char *colon;
	uint64_t port;
	size_t host_len;

	if (!listen ||
	    strnlen(listen, HTTP_LISTEN_MAX_BYTES) >= HTTP_LISTEN_MAX_BYTES)
		return -EINVAL;
	colon = strrchr(listen, ':');
	if (!colon || colon == listen)
		return -EINVAL;
	if (fm_parse_u64_range(colon + 1, 0, 65535, &port) < 0)
		return -EINVAL;
	host_len = (size_t)(colon - listen);
	/* A bare IPv6 address ("::1:80") is ambiguous: brackets required. */
	if (memchr(listen, ':', host_len) &&
	    (listen[0] != '[' || listen[host_len - 1] != ']'))
		return -EINVAL;
	for (size_t i = 0; i < host_len; i++)
		if (listen[i] == '/' || listen[i] == '?' || listen[i] == '#' ||
		    listen[i] == '@' || listen[i] <= ' ')
			return -EINVAL;
	snprintf(url, url_size, "http://%.*s:%u/", (int)host_len, listen,
	    (unsigned)port);
	return 0;
}

static bool
path_is_valid(const char *path)
{
	size_t len;

	if (!path || path[0] != '/')
		return false;
	len = strnlen(path, HTTP_PATH_MAX_BYTES);
	if (len >= HTTP_PATH_MAX_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if (path[i] <= ' ' || path[i] == '?' || path[i] == '#' ||
		    path[i] == '%' || path[i] == 0x7f)
			return false;
	return true;
}

static uint16_t
bound_port(nng_http_server *server)
{
	nng_sockaddr sa;

	if (nng_http_server_get_addr(server, &sa) != 0)
		return 0;
	switch (sa.s_family) {
	case NNG_AF_INET:
		return ntohs(sa.s_in.sa_port);
	case NNG_AF_INET6:
		return ntohs(sa.s_in6.sa_port);
	default:
		return 0;
	}
}

/* Makes the handler and hands it (with ep) to h->server. */
static int
add_handler(fm_net_http *h, const char *path, const char *content_type,
    fm_net_http_handler handler, void *userdata)
{
	struct endpoint *ep;
	int rv;

	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	pthread_mutex_init(&ep->lock, NULL);
	pthread_cond_init(&ep->idle, NULL);
	ep->handler = handler;
	ep->userdata = userdata;
	ep->content_type = strdup(content_type);
	if (!ep->content_type) {
		endpoint_free(ep);
		return -ENOMEM;
	}
	rv = nng_http_handler_alloc(&h->handler, path, handle);
	if (rv != 0) {
		endpoint_free(ep);
		return fm_net_errno(rv);
	}
	rv = nng_http_handler_set_data(h->handler, ep, endpoint_free);
	if (rv != 0) {
		endpoint_free(ep);
		goto out_free_handler;
	}
	h->ep = ep;
	rv = nng_http_handler_collect_body(
	    h->handler, true, HTTP_BODY_MAX_BYTES);
	if (rv == 0)
		rv = nng_http_server_add_handler(h->server, h->handler);
	if (rv != 0)
		goto out_free_handler;
	return 0;
out_free_handler:
	nng_http_handler_free(h->handler); /* frees ep once set */
	h->handler = NULL;
	h->ep = NULL;
	return fm_net_errno(rv);
}

int
fm_net_http_serve(const char *listen, const char *path,
    const char *content_type, fm_net_http_handler handler, void *userdata,
    fm_net_http **ret)
{
	char text[HTTP_LISTEN_MAX_BYTES + 16];
	nng_url *url = NULL;
	fm_net_http *h;
	int r, rv;

	if (!path_is_valid(path) || !content_type || !handler)
		return -EINVAL;
	r = listen_url(listen, text, sizeof(text));
	if (r < 0)
		return r;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	rv = nng_url_parse(&url, text);
	if (rv != 0) {
		free(h);
		return fm_net_errno(rv);
	}
	pthread_mutex_lock(&serve_lock);
	rv = nng_http_server_hold(&h->server, url);
	nng_url_free(url);
	if (rv != 0) {
		pthread_mutex_unlock(&serve_lock);
		free(h);
		return fm_net_errno(rv);
	}
	r = add_handler(h, path, content_type, handler, userdata);
	if (r == 0) {
		rv = nng_http_server_start(h->server);
		r = fm_net_errno(rv);
		h->started = rv == 0;
	}
	pthread_mutex_unlock(&serve_lock);
	if (r == 0) {
		h->port = bound_port(h->server);
		if (h->port == 0)
			r = -EIO;
	}
	if (r < 0) {
		fm_net_http_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

bool
fm_net_http_listen_is_valid(const char *listen)
{
	char text[HTTP_LISTEN_MAX_BYTES + 16];

	return listen_url(listen, text, sizeof(text)) == 0;
}

uint16_t
fm_net_http_port(const fm_net_http *h)
{
	return h ? h->port : 0;
}

fm_net_http *
fm_net_http_free(fm_net_http *h)
{
	if (!h)
		return NULL;
	if (h->ep) {
		/* No new calls; wait for those in progress. */
		pthread_mutex_lock(&h->ep->lock);
		h->ep->closing = true;
		while (h->ep->running > 0)
			pthread_cond_wait(&h->ep->idle, &h->ep->lock);
		pthread_mutex_unlock(&h->ep->lock);
	}
	if (h->server) {
		if (h->handler &&
		    nng_http_server_del_handler(h->server, h->handler) == 0)
			nng_http_handler_free(h->handler);
		if (h->started)
			nng_http_server_stop(h->server);
		nng_http_server_release(h->server);
	}
	free(h);
	return NULL;
}
