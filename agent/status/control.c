/*
 * The control socket: fedmonctl's way into the running agent. One thread
 * answers proto/'s control requests on NNG REP over ipc://PATH, one at a
 * time, from the parts' thread-safe getters (fm_status_view). The socket
 * file is mode 0660 from the moment it accepts anyone and belongs to the
 * configured group, so that group's members (and root) may ask. Every
 * FM_STATUS_CONTROL_CHECK_MS the thread checks that the socket still delivers
 * requests, and listens again when it does not (nng issue #1518).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/status/status.h"
#include "fm-config.h"
#include "net/net.h"
#include "proto/proto.h"

#define CONTROL_MODE    0660
#define RETRY_PAUSE_MS  250  /* while listening again keeps failing */
#define SEND_TIMEOUT_MS 1000 /* a client that does not read its reply */
#define ERROR_PAUSE_MS  100  /* after an unexpected receive error */
#define LIVE_CHECK_MS   2000 /* for an agent already there to connect */
#define CHECK_MIN_MS    100

static_assert(FM_FEATURE_COUNT <= FM_PROTO_CTL_FEATURES_MAX,
    "a sample fits a FEATURES reply");
static_assert(FM_LABEL_COUNT <= FM_PROTO_CTL_PREDICTORS_MAX,
    "every label source fits a STATUS reply");
static_assert(FM_MODEL_LEARNER_TOP <= FM_PROTO_CTL_TOP_MAX,
    "the top features fit a STATUS reply");
static_assert(FM_ACT_RULES_MAX <= FM_PROTO_CTL_RULES_MAX &&
        FM_ACT_RECENT <= FM_PROTO_CTL_RECENT_MAX,
    "the rules and recent actions fit a STATUS reply");
static_assert(FM_STATUS_PROBLEMS_MAX <= FM_PROTO_CTL_PROBLEMS_MAX &&
        FM_STATUS_PROBLEM_BYTES <= FM_PROTO_CTL_PROBLEM_BYTES,
    "the problems fit a STATUS reply");

struct fm_status_control {
	fm_status_view view;
	char path[FM_NET_URL_BYTES];
	char url[FM_NET_URL_BYTES];
	gid_t gid;
	/* only the thread replaces sock (holding lock);
	 * fm_status_control_free() closes it holding lock to interrupt the
	 * thread's wait */
	pthread_mutex_t lock;
	fm_net_sock *sock;
	/* the self-check (check_socket), the thread's own */
	fm_net_sock *probe;     /* a probe's request in flight, or NULL */
	int64_t probe_deadline; /* mono ns: its request must arrive by then */
	int64_t next_check;     /* mono ns */
	unsigned probe_failures;
	atomic_uint check_ms;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	fm_proto_ctl_reply reply; /* the thread's, rebuilt per request */
};

static void
text(char *dst, size_t size, const char *src)
{
	fm_proto_ctl_text_copy(dst, size, src);
}

static uint64_t
ns_to_ms(int64_t ns)
{
	return ns > 0 ? (uint64_t)(ns / FM_NSEC_PER_MSEC) : 0;
}

/* ---- STATUS -------------------------------------------------------- */

static void
status_agent(const fm_status_view *v, const fm_status_live_snapshot *live,
    fm_proto_ctl_status *s)
{
	char problems[FM_STATUS_PROBLEMS_MAX][FM_STATUS_PROBLEM_BYTES];
	int64_t now = fm_time_mono_ns();

	text(s->agent_version, sizeof(s->agent_version), FM_VERSION);
	s->pid = (uint32_t)getpid();
	s->start_real_ns = live->start_real_ns;
	s->uptime_ms = ns_to_ms(now - live->start_mono_ns);
	text(s->config_path, sizeof(s->config_path), v->config_path);
	text(s->state_dir, sizeof(s->state_dir), v->state_dir);
	text(s->metrics_url, sizeof(s->metrics_url), v->metrics_url);
	s->interval_ms = v->interval_ms;
	s->n_problems = fm_status_problems(v, problems, FM_STATUS_PROBLEMS_MAX);
	for (uint32_t i = 0; i < s->n_problems; i++)
		text(s->problems[i], sizeof(s->problems[i]), problems[i]);

	s->samples = live->samples;
	s->samples_failed = live->failed;
	text(s->collectors_missing, sizeof(s->collectors_missing), v->missing);
	text(s->collectors_failing, sizeof(s->collectors_failing),
	    live->failing);
	if (live->samples > 0) {
		s->last_sample_real_ns = live->last.real_ns;
		s->last_sample_age_ms = ns_to_ms(now - live->last.mono_ns);
	}
}

static void
status_models(const fm_status_view *v, fm_proto_ctl_status *s)
{
	fm_model_learner_status st = { 0 };
	fm_model_labels_status ls = { 0 };

	if (v->labels)
		fm_model_labels_status_get(v->labels, &ls);
	if (v->learner) {
		fm_model_learner_status_get(v->learner, &st);
		s->learning = true;
		s->ready = st.ready;
		s->training = st.training;
		s->trainings = st.trainings;
		s->train_failures = st.train_failures;
		s->train_error = st.last_error;
		s->trained_real_ns = st.trained_real_ns;
		s->rows_held = st.rows_held;
		s->min_rows = v->min_train_rows;
		s->score = st.score;
		s->threshold = st.threshold;
		s->alarm = st.alarm;
		s->scored = st.scored;
		s->alarms = st.alarms;
		s->events = st.events;
		s->event_real_ns = st.event_real_ns;
		s->alarm_seconds = st.alarm_seconds;
		s->pending_rows = st.pending_rows;
		s->accepted = st.accepted;
		s->held_labels = st.held_labels;
		s->accepts = st.accepts;
		s->seen_rows = st.seen_rows;
		s->mature_rows = st.mature_rows;
		s->young_prior = st.young_prior;
		for (uint32_t i = 0; i < st.n_top && i < FM_MODEL_LEARNER_TOP;
		     i++) {
			const fm_collect_feature_info *f =
			    fm_collect_feature_get(st.top[i]);

			if (!f)
				continue;
			text(s->top[s->n_top].name, sizeof(s->top[0].name),
			    f->name);
			s->top[s->n_top].contrib = st.top_contrib[i];
			s->top[s->n_top].event = st.top_event[i];
			s->n_top++;
		}
	}
	if (!v->learner && !v->labels)
		return;
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++) {
		fm_proto_ctl_predictor *p = &s->predictors[i];

		text(p->name, sizeof(p->name), fm_model_label_source_name(i));
		p->enabled = ls.enabled[i];
		p->failing = ls.failing[i];
		p->events = ls.events[i];
		p->trained = st.failure[i].trained;
		p->probability = st.failure[i].probability;
		p->onsets = st.failure[i].onsets;
		p->trusted = st.failure[i].trusted;
	}
	s->n_predictors = FM_LABEL_COUNT;
}

static void
status_federation(const fm_status_view *v, fm_proto_ctl_status *s)
{
	fm_model_federation_status st;

	if (!v->fed)
		return;
	fm_model_federation_status_get(v->fed, &st);
	s->federating = true;
	text(s->aggregator, sizeof(s->aggregator), v->aggregator);
	s->reachable = st.reachable;
	s->last_contact_real_ns = st.last_contact_ns;
	s->round = st.round;
	s->fleet_version = st.fleet_version;
	s->applied_version = st.applied_version;
	s->updates_sent = st.updates_sent;
	s->updates_accepted = st.updates_accepted;
	s->updates_refused = st.updates_refused;
	s->fed_error = st.last_error;
	if (st.last_reason != FM_PROTO_OK)
		text(s->fed_reason, sizeof(s->fed_reason),
		    fm_proto_reason_name(st.last_reason));
	s->exchanges = st.exchanges;
	s->fed_failures = st.failures;
}

static const char *
name_or(const char *name)
{
	return name ? name : "unknown";
}

static void
status_actions(const fm_status_view *v, fm_proto_ctl_status *s)
{
	fm_act_status *st;

	if (!v->actions)
		return;
	s->acting = true;
	/* a few kilobytes: not on the thread's stack */
	st = malloc(sizeof(*st));
	if (!st)
		return;
	fm_act_status_get(v->actions, st);
	for (uint32_t i = 0; i < st->n_rules && i < FM_ACT_RULES_MAX; i++) {
		const fm_act_rule_status *in = &st->rules[i];
		fm_proto_ctl_rule *u = &s->rules[i];

		text(u->name, sizeof(u->name), in->name);
		text(u->kind, sizeof(u->kind),
		    name_or(fm_act_kind_name(in->kind)));
		u->dry_run = in->dry_run;
		u->holding = in->holding;
		u->running = in->running;
		u->ok = in->runs[FM_ACT_RESULT_OK];
		u->failed = in->runs[FM_ACT_RESULT_FAILED];
		u->timeout = in->runs[FM_ACT_RESULT_TIMEOUT];
		u->error = in->runs[FM_ACT_RESULT_ERROR];
		u->dry_runs = in->runs[FM_ACT_RESULT_DRY_RUN];
		u->suppressed = in->suppressed;
		u->last_run_real_ns = in->last_run_real_ns;
		s->n_rules++;
	}
	for (uint32_t i = 0; i < st->n_recent && i < FM_ACT_RECENT; i++) {
		const fm_act_record *in = &st->recent[i];
		fm_proto_ctl_action *a = &s->recent[i];

		a->real_ns = in->real_ns;
		text(a->rule, sizeof(a->rule), in->rule);
		text(a->kind, sizeof(a->kind),
		    name_or(fm_act_kind_name(in->kind)));
		text(a->result, sizeof(a->result),
		    name_or(fm_act_result_name(in->result)));
		a->code = in->code;
		a->duration_ms = in->duration_ms;
		a->value = in->score;
		s->n_recent++;
	}
	free(st);
}

static void
reply_status(const fm_status_view *v, fm_proto_ctl_reply *rp)
{
	fm_status_live_snapshot live;

	fm_status_live_get(v->live, &live);
	status_agent(v, &live, &rp->status);
	status_models(v, &rp->status);
	status_federation(v, &rp->status);
	status_actions(v, &rp->status);
}

/* ---- FEATURES, ACCEPT and LABEL ----------------------------------- */

static void
reply_features(const fm_status_view *v, fm_proto_ctl_reply *rp)
{
	fm_proto_ctl_features *f = &rp->features;
	fm_status_live_snapshot live;

	fm_status_live_get(v->live, &live);
	f->real_ns = live.samples > 0 ? live.last.real_ns : 0;
	f->schema_version = FM_COLLECT_SCHEMA_VERSION;
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		const fm_collect_feature_info *info = fm_collect_feature_get(i);

		text(f->f[i].name, sizeof(f->f[i].name), info->name);
		text(f->f[i].unit, sizeof(f->f[i].unit), info->unit);
		f->f[i].value = live.last.v[i];
	}
	f->n = FM_FEATURE_COUNT;
}

static void FM_PRINTF(3, 4)
    reply_error(fm_proto_ctl_reply *rp, int error, const char *fmt, ...)
{
	char msg[FM_PROTO_CTL_TEXT_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp->error = error;
	text(rp->message, sizeof(rp->message), msg);
}

static void
reply_accept(const fm_status_view *v, fm_proto_ctl_reply *rp)
{
	int r;

	if (!v->learner) {
		reply_error(rp, -ENOTSUP, "this agent runs without learning");
		return;
	}
	r = fm_model_learner_accept(v->learner);
	if (r == -EAGAIN)
		reply_error(rp, r,
		    "no model yet: the first training has not run");
	else if (r < 0)
		reply_error(rp, r, "%s", strerror(-r));
}

static void
reply_label(const fm_status_view *v, bool failing, fm_proto_ctl_reply *rp)
{
	if (!v->labels) {
		reply_error(
		    rp, -ENOTSUP, "this agent runs without failure labels");
		return;
	}
	rp->label_changed = fm_model_labels_manual_set(v->labels, failing);
}

/* ---- the thread ---------------------------------------------------- */

static int probe_send(const char *url, fm_net_sock **ret);
static int listen_on(fm_status_control *c, fm_net_sock **ret);

static int64_t
check_ns(fm_status_control *c)
{
	return (int64_t)atomic_load(&c->check_ms) * FM_NSEC_PER_MSEC;
}

/* Replaces the listener: closing the old one removes its file, the new
 * one makes it again. A failure is logged; the next check retries. */
static void
listen_again(fm_status_control *c)
{
	fm_net_sock *fresh = NULL;
	int r;

	pthread_mutex_lock(&c->lock);
	if (!atomic_load(&c->stop)) {
		c->sock = fm_net_sock_free(c->sock);
		if (unlink(c->path) < 0 && errno != ENOENT)
			fm_log_errno(LOG_WARNING, -errno,
			    "Failed to remove '%s'", c->path);
		r = listen_on(c, &fresh);
		if (r < 0)
			fm_log_errno(LOG_ERR, r,
			    "Failed to listen on '%s' again, retrying in %u ms",
			    c->path, atomic_load(&c->check_ms));
		c->sock = fresh;
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * The self-check, called every turn of the thread's loop with got_request
 * telling whether the socket just delivered a request. Every
 * FM_STATUS_CONTROL_CHECK_MS a probe dials the socket and sends a request; any
 * request delivered within LIVE_CHECK_MS (the probe's or a client's)
 * proves the socket works. Two probes in a row without one mean it does
 * not: a new listener replaces it.
 */
static void
check_socket(fm_status_control *c, bool got_request)
{
	int64_t now = fm_time_mono_ns();

	if (got_request) {
		c->probe = fm_net_sock_free(c->probe);
		c->probe_failures = 0;
		c->next_check = now + check_ns(c);
		return;
	}
	if (c->probe) {
		if (now < c->probe_deadline)
			return;
		/* the probe's request did not get through */
		c->probe = fm_net_sock_free(c->probe);
		c->probe_failures++;
	} else if (c->probe_failures == 0 && now < c->next_check) {
		return;
	}
	if (!c->sock || c->probe_failures >= 2) {
		if (c->sock)
			fm_log(LOG_WARNING,
			    "Control socket '%s' stopped delivering requests, "
			    "listening again.",
			    c->path);
		listen_again(c);
		c->probe_failures = 0;
		c->next_check = now + check_ns(c);
		return;
	}
	if (probe_send(c->url, &c->probe) < 0)
		c->probe_failures++; /* could not even send: a failed probe */
	c->probe_deadline = fm_time_mono_ns() + LIVE_CHECK_MS * FM_NSEC_PER_MSEC;
}

/* Builds the reply to the request buf[len] (r: the error receiving it). */
static void
answer(fm_status_control *c, int r, const uint8_t *buf, size_t len)
{
	fm_proto_ctl_reply *rp = &c->reply;
	fm_proto_ctl_request rq = { 0 };

	memset(rp, 0, sizeof(*rp));
	rp->version = FM_PROTO_CTL_VERSION;
	if (r == 0)
		r = fm_proto_ctl_request_decode(buf, len, &rq);
	if (r == -EPROTONOSUPPORT) {
		reply_error(rp, r,
		    "control protocol version %u not spoken (this agent "
		    "speaks %u)",
		    rq.version, FM_PROTO_CTL_VERSION);
		return;
	}
	if (r < 0) {
		fm_log(LOG_DEBUG,
		    "Failed to decode a control request: %s, "
		    "answering with an error.",
		    strerror(-r));
		reply_error(rp, r, "malformed request: %s", strerror(-r));
		return;
	}
	rp->kind = rq.kind;
	switch (rq.kind) {
	case FM_PROTO_CTL_STATUS:
		reply_status(&c->view, rp);
		break;
	case FM_PROTO_CTL_FEATURES:
		reply_features(&c->view, rp);
		break;
	case FM_PROTO_CTL_LABEL:
		reply_label(&c->view, rq.failing, rp);
		break;
	case FM_PROTO_CTL_ACCEPT:
		reply_accept(&c->view, rp);
		break;
	default:
		assert(!"decoder let an unknown kind through");
	}
}

/* How long the thread may wait for a request: until the self-check's
 * next step (the next probe, or the deadline of a probe in flight or
 * just failed), at least 1 ms. */
static uint32_t
next_wait_ms(const fm_status_control *c)
{
	int64_t due = c->probe || c->probe_failures > 0 ? c->probe_deadline
	                                                : c->next_check;
	int64_t ms = (due - fm_time_mono_ns()) / FM_NSEC_PER_MSEC + 1;

	if (ms < 1)
		return 1;
	return ms > INT32_MAX ? INT32_MAX : (uint32_t)ms;
}

static void *
thread_main(void *userdata)
{
	fm_status_control *c = userdata;

	(void)pthread_setname_np(pthread_self(), "fm:control");
	c->next_check = fm_time_mono_ns() + check_ns(c);
	while (!atomic_load(&c->stop)) {
		uint8_t *buf = NULL, *out = NULL;
		size_t len = 0, out_len = 0;
		int r;

		if (!c->sock) { /* listening again failed: wait to retry */
			usleep(RETRY_PAUSE_MS * 1000);
			check_socket(c, false);
			continue;
		}
		/* no poll: a stop closes the socket, which ends the wait */
		r = fm_net_recv(c->sock, next_wait_ms(c), &buf, &len);
		/* replaces the socket only when no request came: r < 0 */
		check_socket(c, r == 0 || r == -EMSGSIZE);
		if (r == -ETIMEDOUT)
			continue;
		if (r == -ECANCELED)
			break;
		if (r < 0 && r != -EMSGSIZE) {
			/* not a request: nothing to answer */
			fm_log_errno(LOG_DEBUG, r,
			    "Failed to receive a control request, ignoring");
			usleep(ERROR_PAUSE_MS * 1000);
			continue;
		}
		answer(c, r, buf, len);
		free(buf);
		r = fm_proto_ctl_reply_encode(&c->reply, &out, &out_len);
		if (r < 0) {
			fm_log_errno(LOG_WARNING, r,
			    "Failed to encode a control reply, ignoring");
			continue;
		}
		r = fm_net_send(c->sock, out, out_len);
		free(out);
		if (r < 0 && r != -ECANCELED)
			fm_log_errno(LOG_DEBUG, r,
			    "Failed to send a control reply, ignoring");
	}
	c->probe = fm_net_sock_free(c->probe);
	return NULL;
}

/* ---- lifetime ------------------------------------------------------ */

/* Dials url and sends it a FEATURES request, waiting at most
 * LIVE_CHECK_MS for a connection (the SP handshake done); on success *ret
 * is the dialled socket, still open for the reply. */
static int
probe_send(const char *url, fm_net_sock **ret)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_FEATURES };
	fm_net_options o;
	fm_net_sock *s = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	fm_net_options_init(&o);
	o.send_timeout_ms = o.recv_timeout_ms = LIVE_CHECK_MS;
	o.reconnect_min_ms = 20;
	o.reconnect_max_ms = 100;
	r = fm_proto_ctl_request_encode(&rq, &buf, &len);
	if (r == 0)
		r = fm_net_req_dial(url, &o, &s);
	/* a REQ send completes once a peer is connected */
	if (r == 0)
		r = fm_net_send(s, buf, len);
	free(buf);
	if (r < 0) {
		fm_net_sock_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

/*
 * Whether an agent serves the socket at url: an NNG dial connects (the
 * SP handshake done) within LIVE_CHECK_MS. Not a plain connect(): NNG 1.5
 * listeners stop serving after a peer that closes before the handshake
 * (nng issue #1518), so probing a live agent that way would cut it off.
 */
static int
socket_is_live(const char *url, bool *ret)
{
	fm_net_sock *s = NULL;
	uint8_t *reply = NULL;
	size_t len;
	int r;

	r = probe_send(url, &s);
	/* the agent's reply, so that no request is outstanding when the
	 * probe closes: NNG 1.5 can hang in nng_close() of a REQ socket
	 * whose request an ipc peer is answering (seen about once in 40
	 * runs of test-agent-control under load); a live agent that
	 * does not answer in time still counts as live */
	if (r == 0)
		(void)!fm_net_recv(s, LIVE_CHECK_MS, &reply, &len);
	free(reply);
	fm_net_sock_free(s);
	if (r == 0 || r == -ETIMEDOUT) {
		*ret = r == 0;
		return 0;
	}
	return r;
}

/* Makes way for the socket at path: a live agent's is -EADDRINUSE, one
 * left by an agent that is gone is removed, and a file that is not a
 * socket is not ours to remove (-EADDRINUSE). */
static int
clear_path(const char *path, const char *url)
{
	struct stat st;
	bool live = false;
	int r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EADDRINUSE;
	r = socket_is_live(url, &live);
	if (r < 0)
		return r;
	if (live)
		return -EADDRINUSE;
	fm_log(LOG_INFO, "Replacing the stale control socket '%s'.", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

/* Listens on c->url with mode 0660 and group c->gid. */
static int
listen_on(fm_status_control *c, fm_net_sock **ret)
{
	fm_net_options o;
	fm_net_sock *s = NULL;
	int r;

	fm_net_options_init(&o);
	o.recv_max_bytes = FM_PROTO_CTL_REQUEST_MAX_BYTES;
	o.send_timeout_ms = SEND_TIMEOUT_MS;
	/* unused: every receive gives its own timeout */
	o.recv_timeout_ms = LIVE_CHECK_MS;
	r = fm_net_rep_listen_ipc(c->url, CONTROL_MODE, &o, &s);
	if (r < 0)
		return r;
	if (c->gid != (gid_t)-1 && chown(c->path, (uid_t)-1, c->gid) < 0) {
		r = -errno;
		fm_net_sock_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int
fm_status_control_new(const char *path, gid_t gid, const fm_status_view *view,
    fm_status_control **ret)
{
	sigset_t all, old;
	fm_status_control *c;
	int r;

	if (!path || !path[0] || !view || !view->live || !ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (snprintf(c->path, sizeof(c->path), "%s", path) >=
		(int)sizeof(c->path) ||
	    snprintf(c->url, sizeof(c->url), "ipc://%s", path) >=
		(int)sizeof(c->url)) {
		free(c);
		return -EINVAL;
	}
	r = clear_path(c->path, c->url);
	if (r < 0) {
		free(c);
		return r;
	}
	c->view = *view;
	c->gid = gid;
	atomic_init(&c->stop, false);
	atomic_init(&c->check_ms, FM_STATUS_CONTROL_CHECK_MS);
	pthread_mutex_init(&c->lock, NULL);
	r = listen_on(c, &c->sock);
	if (r < 0)
		goto out_free;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = -pthread_create(&c->thread, NULL, thread_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		goto out_free;
	c->thread_started = true;
	*ret = c;
	return 0;
out_free:
	fm_status_control_free(c);
	return r;
}

int
fm_status_control_set_check_ms(fm_status_control *c, uint32_t ms)
{
	if (!c || ms < CHECK_MIN_MS)
		return -EINVAL;
	atomic_store(&c->check_ms, ms);
	return 0;
}

fm_status_control *
fm_status_control_free(fm_status_control *c)
{
	if (!c)
		return NULL;
	atomic_store(&c->stop, true);
	/* interrupts a wait in progress; closing removes the file */
	pthread_mutex_lock(&c->lock);
	fm_net_sock_close(c->sock);
	pthread_mutex_unlock(&c->lock);
	if (c->thread_started)
		pthread_join(c->thread, NULL);
	c->sock = fm_net_sock_free(c->sock);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}
