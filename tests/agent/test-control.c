/*
 * Tests for agent/status/control.c: a real control socket on a temporary ipc://
 * path, asked over NNG REQ as fedmonctl does, with a view over real live
 * counters and failure labels (the other parts NULL): status, features,
 * the manual label, error replies to malformed, oversized and
 * other-version requests, the socket file's mode and group, a stale
 * socket replaced, a live one refused, a non-socket file left alone, the
 * file removed on free, and a failed thread start. pthread_create is
 * wrapped (-Wl,--wrap) to fail on demand.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/status/status.h"
#include "fm-config.h"
#include "net/net.h"
#include "proto/proto.h"
#include "tests/agent/test-util.h"

#define ASK_TIMEOUT_MS 10000 /* generous: a loaded shared machine */
#define CHECK_MS       1000  /* the self-check, sped up */

/* ---- wrapped calls ---------------------------------------------------- */

static int pthread_create_error; /* 0: call through */

int __real_pthread_create(
    pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int __wrap_pthread_create(
    pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);

int
__wrap_pthread_create(
    pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (pthread_create_error)
		return pthread_create_error;
	return __real_pthread_create(t, attr, fn, arg);
}

/* ---- fixture ---------------------------------------------------------- */

typedef struct fixture {
	char dir[FM_TEST_DIR_BYTES];
	char path[FM_TEST_DIR_BYTES + 32];
	fm_status_live *live;
	fm_model_labels *labels;
	fm_status_view view;
	fm_proto_ctl_reply reply;
} fixture;

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));
	fm_model_labels_config lcfg;

	assert_non_null(fx);
	fm_test_tmpdir_new(fx->dir, "control");
	snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir,
	    FM_STATUS_CONTROL_SOCKET);
	assert_int_equal(fm_status_live_new(&fx->live), 0);
	fm_model_labels_config_init(&lcfg);
	assert_int_equal(fm_model_labels_new(&lcfg, &fx->labels), 0);
	fx->view = (fm_status_view) {
		.live = fx->live,
		.labels = fx->labels,
		.missing = "snmp",
		.interval_ms = 1000,
		.min_train_rows = 600,
		.aggregator = "",
		.metrics_url = "http://127.0.0.1:9741/metrics",
		.state_dir = "/var/lib/fedmon",
		.config_path = "",
	};
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture *fx = *state;

	fm_model_labels_free(fx->labels);
	fm_status_live_free(fx->live);
	fm_test_tmpdir_remove(fx->dir);
	free(fx);
	return 0;
}

/* Sends the request bytes req[len] to the socket at path and returns
 * what decoding the reply into *ret returns. */
static int
ask_raw(const char *path, const uint8_t *req, size_t len, int timeout_ms,
    fm_proto_ctl_reply *ret)
{
	char url[FM_NET_URL_BYTES];
	fm_net_options o;
	fm_net_sock *s = NULL;
	uint8_t *buf = NULL;
	size_t blen = 0;
	int r;

	snprintf(url, sizeof(url), "ipc://%s", path);
	fm_net_options_init(&o);
	o.recv_max_bytes = FM_PROTO_CTL_REPLY_MAX_BYTES;
	o.send_timeout_ms = o.recv_timeout_ms = timeout_ms;
	o.reconnect_min_ms = 10;
	o.reconnect_max_ms = 100;
	assert_int_equal(fm_net_req_dial(url, &o, &s), 0);
	r = fm_net_send(s, req, len);
	if (r == 0)
		r = fm_net_recv(s, 0, &buf, &blen);
	if (r == 0)
		r = fm_proto_ctl_reply_decode(buf, blen, ret);
	free(buf);
	fm_net_sock_free(s);
	return r;
}

static void
ask(const char *path, uint32_t kind, bool failing, fm_proto_ctl_reply *ret)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = kind,
		.failing = failing };
	uint8_t *req = NULL;
	size_t len = 0;

	assert_int_equal(fm_proto_ctl_request_encode(&rq, &req, &len), 0);
	assert_int_equal(ask_raw(path, req, len, ASK_TIMEOUT_MS, ret), 0);
	free(req);
	assert_int_equal(ret->version, FM_PROTO_CTL_VERSION);
	assert_int_equal(ret->kind, kind);
}

/* A sample with every feature set to i / 100, a few masked. */
static void
push_sample(fixture *fx, const char *failing)
{
	fm_collect_sample s = { .mono_ns = fm_time_mono_ns(),
		.real_ns = 1700000000123456789LL,
		.read_ns = 1000000 };

	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		s.v[i] = i % 10 == 3 ? NAN : (float)i / 100;
	fm_status_live_on_sample(fx->live, &s, false, failing);
}

static bool
has_problem(const fm_proto_ctl_status *s, const char *prefix)
{
	for (uint32_t i = 0; i < s->n_problems; i++)
		if (strncmp(s->problems[i], prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* ---- requests ---------------------------------------------------------- */

static void
test_control_status(void **state)
{
	fixture *fx = *state;
	fm_proto_ctl_status *s = &fx->reply.status;
	fm_status_control *c = NULL;

	push_sample(fx, "pressure");
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	ask(fx->path, FM_PROTO_CTL_STATUS, false, &fx->reply);
	assert_int_equal(fx->reply.error, 0);
	assert_string_equal(s->agent_version, FM_VERSION);
	assert_int_equal(s->pid, getpid());
	assert_string_equal(s->config_path, "");
	assert_string_equal(s->state_dir, "/var/lib/fedmon");
	assert_string_equal(s->metrics_url, "http://127.0.0.1:9741/metrics");
	assert_int_equal(s->interval_ms, 1000);
	assert_int_equal(s->samples, 1);
	assert_int_equal(s->samples_failed, 0);
	assert_string_equal(s->collectors_missing, "snmp");
	assert_string_equal(s->collectors_failing, "pressure");
	assert_true(s->last_sample_real_ns == 1700000000123456789LL);
	/* the failing collector is the problem; the missing one is not */
	assert_true(has_problem(s, "collectors: pressure failing"));
	assert_false(has_problem(s, "collector snmp"));
	/* no learner, no aggregator, no actions */
	assert_false(s->learning);
	assert_false(s->ready);
	assert_int_equal(s->n_top, 0);
	assert_false(s->federating);
	assert_false(s->acting);
	assert_int_equal(s->n_rules, 0);
	/* the label sources, from the labels alone */
	assert_int_equal(s->n_predictors, FM_LABEL_COUNT);
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++) {
		assert_string_equal(
		    s->predictors[i].name, fm_model_label_source_name(i));
		assert_false(s->predictors[i].trained);
	}
	assert_true(s->predictors[FM_LABEL_FS_FULL].enabled);
	assert_false(s->predictors[FM_LABEL_HEALTH].enabled);
	/* nothing of another kind */
	assert_int_equal(fx->reply.features.n, 0);
	fm_status_control_free(c);
}

static void
test_control_features(void **state)
{
	fixture *fx = *state;
	fm_proto_ctl_features *f = &fx->reply.features;
	fm_status_control *c = NULL;

	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	/* before the first sample: all masked, no time */
	ask(fx->path, FM_PROTO_CTL_FEATURES, false, &fx->reply);
	assert_int_equal(f->n, FM_FEATURE_COUNT);
	assert_true(f->real_ns == 0);
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		assert_true(isnan(f->f[i].value));

	push_sample(fx, "");
	ask(fx->path, FM_PROTO_CTL_FEATURES, false, &fx->reply);
	assert_int_equal(fx->reply.error, 0);
	assert_int_equal(f->schema_version, FM_COLLECT_SCHEMA_VERSION);
	assert_true(f->real_ns == 1700000000123456789LL);
	assert_int_equal(f->n, FM_FEATURE_COUNT);
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		assert_string_equal(
		    f->f[i].name, fm_collect_feature_get(i)->name);
		assert_string_equal(
		    f->f[i].unit, fm_collect_feature_get(i)->unit);
		if (i % 10 == 3)
			assert_true(isnan(f->f[i].value));
		else
			assert_true(f->f[i].value == (float)i / 100);
	}
	assert_int_equal(fx->reply.status.n_problems, 0);
	fm_status_control_free(c);
}

static void
test_control_label(void **state)
{
	fixture *fx = *state;
	fm_model_labels_status ls;
	fm_status_control *c = NULL;

	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	ask(fx->path, FM_PROTO_CTL_LABEL, true, &fx->reply);
	assert_int_equal(fx->reply.error, 0);
	assert_true(fx->reply.label_changed);
	fm_model_labels_status_get(fx->labels, &ls);
	assert_true(ls.failing[FM_LABEL_MANUAL]);
	ask(fx->path, FM_PROTO_CTL_LABEL, true, &fx->reply);
	assert_false(fx->reply.label_changed);
	ask(fx->path, FM_PROTO_CTL_LABEL, false, &fx->reply);
	assert_true(fx->reply.label_changed);
	fm_model_labels_status_get(fx->labels, &ls);
	assert_false(ls.failing[FM_LABEL_MANUAL]);
	ask(fx->path, FM_PROTO_CTL_LABEL, false, &fx->reply);
	assert_false(fx->reply.label_changed);
	fm_status_control_free(c);

	/* an agent without failure labels says so */
	fx->view.labels = NULL;
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	ask(fx->path, FM_PROTO_CTL_LABEL, true, &fx->reply);
	assert_int_equal(fx->reply.error, -ENOTSUP);
	assert_false(fx->reply.label_changed);
	assert_true(strstr(fx->reply.message, "failure labels") != NULL);
	/* and its status lists no label sources */
	ask(fx->path, FM_PROTO_CTL_STATUS, false, &fx->reply);
	assert_int_equal(fx->reply.status.n_predictors, 0);
	fm_status_control_free(c);
}

/* Requests the agent cannot serve get an error reply, and the socket
 * goes on serving. */
static void
test_control_bad_requests(void **state)
{
	static const uint8_t garbage[] = { 0x08, 0xff, 0xff };
	fixture *fx = *state;
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION + 1,
		.kind = FM_PROTO_CTL_STATUS };
	uint8_t big[FM_PROTO_CTL_REQUEST_MAX_BYTES + 40] = { 0 };
	uint8_t *req = NULL;
	size_t len = 0;
	fm_status_control *c = NULL;

	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	assert_int_equal(
	    ask_raw(fx->path, garbage, sizeof(garbage), ASK_TIMEOUT_MS,
		&fx->reply),
	    0);
	assert_int_equal(fx->reply.error, -EBADMSG);
	assert_int_equal(fx->reply.kind, 0);
	assert_true(strstr(fx->reply.message, "malformed") != NULL);

	assert_int_equal(
	    ask_raw(fx->path, big, sizeof(big), ASK_TIMEOUT_MS, &fx->reply), 0);
	assert_int_equal(fx->reply.error, -EMSGSIZE);

	assert_int_equal(fm_proto_ctl_request_encode(&rq, &req, &len), 0);
	assert_int_equal(
	    ask_raw(fx->path, req, len, ASK_TIMEOUT_MS, &fx->reply), 0);
	free(req);
	assert_int_equal(fx->reply.error, -EPROTONOSUPPORT);
	assert_true(strstr(fx->reply.message, "version 2") != NULL);

	ask(fx->path, FM_PROTO_CTL_STATUS, false, &fx->reply);
	assert_int_equal(fx->reply.error, 0);
	fm_status_control_free(c);
}

/* ---- the socket file ------------------------------------------------ */

static void
test_control_socket_mode(void **state)
{
	fixture *fx = *state;
	const mode_t umasks[] = { 0, 022, 077 };
	fm_status_control *c = NULL;
	struct stat st;

	for (size_t i = 0; i < FM_ELEMENTSOF(umasks); i++) {
		mode_t old = umask(umasks[i]);

		assert_int_equal(
		    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c),
		    0);
		umask(old);
		assert_int_equal(lstat(fx->path, &st), 0);
		assert_true(S_ISSOCK(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0660);
		assert_int_equal(st.st_gid, getegid());
		c = fm_status_control_free(c);
		/* removed on free */
		assert_int_equal(lstat(fx->path, &st), -1);
		assert_int_equal(errno, ENOENT);
	}
}

static void
test_control_socket_group(void **state)
{
	fixture *fx = *state;
	gid_t other = getegid() == 4242 ? 4243 : 4242;
	fm_status_control *c = NULL;
	struct stat st;

	assert_int_equal(
	    fm_status_control_new(fx->path, getegid(), &fx->view, &c), 0);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_int_equal(st.st_gid, getegid());
	c = fm_status_control_free(c);

	if (geteuid() != 0) {
		/* a group the process is not in: -EPERM, nothing left */
		assert_int_equal(
		    fm_status_control_new(fx->path, other, &fx->view, &c),
		    -EPERM);
		assert_null(c);
		assert_int_equal(access(fx->path, F_OK), -1);
		return;
	}
	assert_int_equal(
	    fm_status_control_new(fx->path, other, &fx->view, &c), 0);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_int_equal(st.st_gid, other);
	assert_int_equal(st.st_mode & 07777, 0660);
	fm_status_control_free(c);
}

/* A socket file bound by a process that is gone: nobody answers it. */
static void
make_stale_socket(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd); /* the file stays, with no listener behind it */
}

static void
test_control_stale_socket_replaced(void **state)
{
	fixture *fx = *state;
	fm_status_control *c = NULL;
	struct stat st;

	make_stale_socket(fx->path);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	ask(fx->path, FM_PROTO_CTL_STATUS, false, &fx->reply);
	assert_int_equal(fx->reply.error, 0);
	fm_status_control_free(c);
}

/* Asks for features, waiting at most timeout_ms; returns 0 when the
 * agent answered. */
static int
try_ask(fixture *fx, int timeout_ms)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_FEATURES };
	uint8_t *req = NULL;
	size_t len = 0;
	int r;

	assert_int_equal(fm_proto_ctl_request_encode(&rq, &req, &len), 0);
	r = ask_raw(fx->path, req, len, timeout_ms, &fx->reply);
	free(req);
	return r;
}

/* A local client that connects and closes before NNG's handshake makes
 * NNG 1.5's ipc listener stop accepting (nng issue #1518): the agent's
 * self-check notices and listens again, with the same mode. */
static void
test_control_listens_again_after_a_hangup(void **state)
{
	fixture *fx = *state;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	fm_status_control *c = NULL;
	struct stat st;
	int64_t deadline;
	ino_t ino;
	int fd, r = -1;

	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	assert_int_equal(fm_status_control_set_check_ms(c, 99), -EINVAL);
	assert_int_equal(fm_status_control_set_check_ms(c, CHECK_MS), 0);
	assert_int_equal(try_ask(fx, ASK_TIMEOUT_MS), 0);
	/* a socket that works passes its checks: the same file throughout */
	assert_int_equal(lstat(fx->path, &st), 0);
	ino = st.st_ino;
	usleep(4 * CHECK_MS * 1000);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_int_equal(st.st_ino, ino);
	assert_int_equal(try_ask(fx, ASK_TIMEOUT_MS), 0);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	strcpy(sun.sun_path, fx->path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	/* a check, two probes of 2 s, and room for a loaded machine */
	deadline = fm_time_mono_ns() + 20 * CHECK_MS * FM_NSEC_PER_MSEC;
	while (fm_time_mono_ns() < deadline) {
		r = try_ask(fx, 1000);
		if (r == 0)
			break;
	}
	assert_int_equal(r, 0);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	fm_status_control_free(c);
	assert_int_equal(access(fx->path, F_OK), -1);
}

static void
test_control_live_socket_refused(void **state)
{
	fixture *fx = *state;
	fm_status_control *c = NULL, *second = NULL;

	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &second),
	    -EADDRINUSE);
	assert_null(second);
	/* the first still serves, through the same file */
	ask(fx->path, FM_PROTO_CTL_STATUS, false, &fx->reply);
	assert_int_equal(fx->reply.error, 0);
	fm_status_control_free(c);
	assert_int_equal(access(fx->path, F_OK), -1);
}

static void
test_control_not_a_socket(void **state)
{
	fixture *fx = *state;
	fm_status_control *c = NULL;
	struct stat st;

	fm_test_write_text(fx->dir, FM_STATUS_CONTROL_SOCKET, "not a socket\n");
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c),
	    -EADDRINUSE);
	assert_null(c);
	assert_int_equal(lstat(fx->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void
test_control_invalid(void **state)
{
	fixture *fx = *state;
	fm_status_view no_live = fx->view;
	char long_path[FM_NET_URL_BYTES];
	fm_status_control *c = NULL;

	no_live.live = NULL;
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	assert_int_equal(
	    fm_status_control_new(NULL, (gid_t)-1, &fx->view, &c), -EINVAL);
	assert_int_equal(
	    fm_status_control_new("", (gid_t)-1, &fx->view, &c), -EINVAL);
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, NULL, &c), -EINVAL);
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &no_live, &c), -EINVAL);
	assert_int_equal(
	    fm_status_control_new(long_path, (gid_t)-1, &fx->view, &c),
	    -EINVAL);
	/* too long for a unix socket (108 bytes), short enough for a URL */
	long_path[200] = '\0';
	assert_int_equal(
	    fm_status_control_new(long_path, (gid_t)-1, &fx->view, &c),
	    -EINVAL);
	/* a directory that does not exist */
	snprintf(long_path, sizeof(long_path), "%s/none/control.sock", fx->dir);
	assert_int_not_equal(
	    fm_status_control_new(long_path, (gid_t)-1, &fx->view, &c), 0);
	assert_null(c);
	assert_null(fm_status_control_free(NULL));
}

static void
test_control_thread_fails(void **state)
{
	fixture *fx = *state;
	fm_status_control *c = NULL;

	pthread_create_error = EAGAIN;
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), -EAGAIN);
	pthread_create_error = 0;
	assert_null(c);
	/* nothing left behind: the path is free for the next try */
	assert_int_equal(access(fx->path, F_OK), -1);
	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	fm_status_control_free(c);
}

/* free() stops a thread waiting for requests promptly: well within the
 * test's timeout even while a client is connected. */
static void
test_control_free_while_connected(void **state)
{
	fixture *fx = *state;
	char url[FM_NET_URL_BYTES];
	fm_net_options o;
	fm_net_sock *s = NULL;
	fm_status_control *c = NULL;
	int64_t t0;

	assert_int_equal(
	    fm_status_control_new(fx->path, (gid_t)-1, &fx->view, &c), 0);
	snprintf(url, sizeof(url), "ipc://%s", fx->path);
	fm_net_options_init(&o);
	assert_int_equal(fm_net_req_dial(url, &o, &s), 0);
	ask(fx->path, FM_PROTO_CTL_STATUS, false, &fx->reply);
	t0 = fm_time_mono_ns();
	fm_status_control_free(c);
	assert_true(fm_time_mono_ns() - t0 < 5 * SEC);
	assert_int_equal(access(fx->path, F_OK), -1);
	fm_net_sock_free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		T(test_control_status),
		T(test_control_features),
		T(test_control_label),
		T(test_control_bad_requests),
		T(test_control_socket_mode),
		T(test_control_socket_group),
		T(test_control_stale_socket_replaced),
		T(test_control_live_socket_refused),
		T(test_control_not_a_socket),
		T(test_control_invalid),
		T(test_control_thread_fails),
		T(test_control_free_while_connected),
	};

	/* apart: NNG leaks the listener that bug wedges, so the sanitizer
	 * build runs it with NNG's leaks suppressed (tests/agent/meson.build) */
	const struct CMUnitTest hangup[] = {
		T(test_control_listens_again_after_a_hangup),
	};

	fm_log_set_max_level(LOG_WARNING);
	if (argc > 1 && strcmp(argv[1], "--hangup") == 0)
		return cmocka_run_group_tests_name(
		    "agent-control-hangup", hangup, NULL, NULL);
	return cmocka_run_group_tests_name("agent-control", tests, NULL, NULL);
}
