/*
 * fedmon-aggregator: listens for the enrolled agents' sealed requests,
 * runs federated rounds (aggregator.h) and keeps the global model
 * crash-safe in its state directory. Never connects to an agent.
 *
 * Serves /metrics (Prometheus text format) on [aggregator]
 * metrics_listen. Under systemd (Type=notify) it reports READY=1 once it
 * listens, pings the watchdog from the serving loop, and reports
 * RELOADING=1 and STOPPING=1.
 *
 * Signals: SIGTERM, SIGINT: write the state and exit 0; SIGHUP: re-read
 * the authorized-agents file (a broken file keeps the running list).
 * Exit status: 0 success, 1 runtime failure (keys, state, sockets),
 * 2 usage or configuration error. --dump-config prints the effective
 * configuration (file, drop-ins, flags, defaults) as an INI file that
 * loads back to the same, and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aggregator/aggregator.h"
#include "fm-config.h"

#define EXIT_USAGE     2
#define DEFAULT_CONFIG FM_SYSCONFDIR "/aggregator.conf"
/* The longest a request wait lasts when no round, retry or watchdog is
 * due sooner. Signals do not wait for it: the watcher wakes the loop. */
#define SERVE_WAIT_MS 60000


struct options {
	const char *config; /* NULL: DEFAULT_CONFIG if it exists */
	const char *state_dir;
	const char *listen[FM_AGG_LISTEN_MAX];
	unsigned n_listen;
	const char *log_level;
	const char *metrics_listen;
	bool dump; /* --dump-config */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: fedmon-aggregator [OPTIONS]\n"
	    "\n"
	    "Merges the enrolled agents' model updates into the fleet "
	    "model.\n"
	    "\n"
	    "  -c, --config FILE      configuration (default %s)\n"
	    "      --state-dir DIR    override [aggregator] state_dir\n"
	    "      --listen URL       listen on URL instead of [aggregator] "
	    "listen\n"
	    "                         (repeatable: tcp://, ipc://)\n"
	    "      --log-level LEVEL  err, warning, notice, info, debug\n"
	    "      --metrics-listen ADDR:PORT\n"
	    "                         serve /metrics there instead of "
	    "[aggregator]\n"
	    "                         metrics_listen (\"\" turns it off)\n"
	    "      --foreground       accepted for compatibility: it never "
	    "forks\n"
	    "      --dump-config      print the effective configuration "
	    "(the file,\n"
	    "                         its drop-ins FILE.d/*.conf, the flags "
	    "and the\n"
	    "                         defaults) as an INI file, exit\n"
	    "  -h, --help             this help\n"
	    "      --version          print the version\n",
	    DEFAULT_CONFIG);
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_STATE = 256,
		OPT_LISTEN,
		OPT_LOGLEVEL,
		OPT_METRICS,
		OPT_FOREGROUND,
		OPT_DUMP,
		OPT_VERSION,
	};
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "log-level", required_argument, NULL, OPT_LOGLEVEL },
		{ "metrics-listen", required_argument, NULL, OPT_METRICS },
		{ "foreground", no_argument, NULL, OPT_FOREGROUND },
		{ "dump-config", no_argument, NULL, OPT_DUMP },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c':
			o->config = optarg;
			break;
		case OPT_STATE:
			if (optarg[0] != '/') {
				fprintf(stderr,
				    "fedmon-aggregator: --state-dir '%s' is "
				    "not an absolute path\n",
				    optarg);
				return -EINVAL;
			}
			o->state_dir = optarg;
			break;
		case OPT_LISTEN:
			if (o->n_listen == FM_AGG_LISTEN_MAX) {
				fprintf(stderr,
				    "fedmon-aggregator: more than %d "
				    "--listen\n",
				    FM_AGG_LISTEN_MAX);
				return -EINVAL;
			}
			if (strlen(optarg) >= FM_NET_URL_BYTES) {
				fprintf(stderr,
				    "fedmon-aggregator: --listen URL longer "
				    "than %d bytes\n",
				    FM_NET_URL_BYTES - 1);
				return -EINVAL;
			}
			o->listen[o->n_listen++] = optarg;
			break;
		case OPT_LOGLEVEL:
			if (fm_log_level_from_string(optarg) < LOG_ERR) {
				fprintf(stderr,
				    "fedmon-aggregator: invalid --log-level "
				    "'%s'\n",
				    optarg);
				return -EINVAL;
			}
			o->log_level = optarg;
			break;
		case OPT_METRICS:
			o->metrics_listen = optarg;
			break;
		case OPT_FOREGROUND:
			break;
		case OPT_DUMP:
			o->dump = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("fedmon-aggregator %s\n", FM_VERSION);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fedmon-aggregator: unexpected argument '%s'\n",
		    argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Built-in defaults, then the file, then flags. Returns 0 or -EINVAL
 * (reported). */
static int
load_config(const struct options *o, fm_agg_config *cfg, const char **ret_path)
{
	char err[FM_INI_ERROR_BYTES];
	const char *path = o->config;
	int r;

	fm_agg_config_init(cfg);
	if (!path && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path) {
		r = fm_agg_config_load(cfg, path, err);
		if (r < 0) {
			fm_log(
			    LOG_ERR, "Failed to load configuration: %s", err);
			return -EINVAL;
		}
	}
	if (o->state_dir &&
	    fm_strlcpy(cfg->state_dir, o->state_dir, sizeof(cfg->state_dir)) <
	        0) {
		fm_log(LOG_ERR, "--state-dir is longer than %d bytes.",
		    FM_AGG_PATH_BYTES - 1);
		return -EINVAL;
	}
	for (unsigned i = 0; i < o->n_listen; i++)
		snprintf(
		    cfg->listen[i], sizeof(cfg->listen[i]), "%s", o->listen[i]);
	if (o->n_listen)
		cfg->n_listen = o->n_listen;
	if (o->log_level)
		cfg->log_level = fm_log_level_from_string(o->log_level);
	if (o->metrics_listen &&
	    fm_strlcpy(cfg->metrics_listen, o->metrics_listen,
	        sizeof(cfg->metrics_listen)) < 0) {
		fm_log(LOG_ERR, "--metrics-listen is longer than %d bytes.",
		    FM_AGG_PATH_BYTES - 1);
		return -EINVAL;
	}
	r = fm_agg_config_check(cfg, err);
	if (r == 0 && (!cfg->state_dir[0] || cfg->n_listen == 0)) {
		snprintf(err, sizeof(err), "%s",
		    "the daemon needs a state_dir and at least one listen URL");
		r = -EINVAL;
	}
	if (r < 0) {
		fm_log(LOG_ERR, "Invalid configuration %s: %s",
		    path ? path : "(defaults)", err);
		return -EINVAL;
	}
	*ret_path = path;
	return 0;
}

/* --dump-config: the configuration as loaded, as an INI file. */
static int
dump_config(const fm_agg_config *cfg, const char *config_path)
{
	char err[FM_INI_ERROR_BYTES];
	int r;

	printf("# fedmon-aggregator %s --dump-config: the effective "
	       "configuration\n",
	    FM_VERSION);
	if (config_path)
		printf("# (%.900s, then %.900s.d/*.conf, then the flags, over "
		       "the defaults)\n",
		    config_path, config_path);
	else
		printf("# (no file: the flags over the defaults)\n");
	r = fm_agg_config_dump(cfg, stdout, err);
	if (r < 0) {
		fm_log(LOG_ERR, "Failed to print the configuration: %s", err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

/*
 * Refusals are logged, but at most once a minute per reason (/metrics
 * counts every one): a peer that keeps sending garbage must not flood
 * the journal. What a misbehaving or unenrolled peer causes is a
 * warning; what agents racing the round schedule cause (a closed round,
 * a stale base model, a second update) is routine, at debug.
 */
#define REFUSAL_LOG_INTERVAL_NS (60 * FM_NSEC_PER_SEC)

static void
log_refusal(const fm_agg_event *ev, const char *id)
{
	static struct {
		int64_t last_ns;
		uint64_t more;
		bool logged;
	} seen[FM_PROTO_REASON_COUNT];
	uint32_t reason = ev->reason < FM_PROTO_REASON_COUNT ? ev->reason : 0;
	int64_t now = fm_time_mono_ns();
	int level;

	switch (reason) {
	case FM_PROTO_REASON_ROUND_CLOSED:
	case FM_PROTO_REASON_STALE_BASE:
	case FM_PROTO_REASON_DUPLICATE:
		level = LOG_DEBUG;
		break;
	default:
		level = LOG_WARNING;
		break;
	}
	if (seen[reason].logged &&
	    now - seen[reason].last_ns < REFUSAL_LOG_INTERVAL_NS) {
		seen[reason].more++;
		return;
	}
	if (seen[reason].more > 0)
		fm_log(level,
		    "Refused a request from %s: %s (%llu more for that "
		    "reason since the last such line).",
		    ev->key_id ? id : "(unknown key)",
		    fm_proto_reason_name(ev->reason),
		    (unsigned long long)seen[reason].more);
	else
		fm_log(level, "Refused a request from %s: %s.",
		    ev->key_id ? id : "(unknown key)",
		    fm_proto_reason_name(ev->reason));
	seen[reason].logged = true;
	seen[reason].last_ns = now;
	seen[reason].more = 0;
}

/*
 * A failed write (a full disk: the state file is retried every second,
 * and every request's journal append fails) is logged at once, then at
 * most once a minute for the same action and file, with the count of
 * failures in between.
 */
#define FAILURE_LOG_INTERVAL_NS (60 * FM_NSEC_PER_SEC)
#define FAILURE_KINDS           8

static void
log_failure(const fm_agg_event *ev)
{
	static struct {
		char what[64];
		char object[FM_AGG_PATH_BYTES + 32];
		int64_t last_ns;
		uint64_t more;
	} seen[FAILURE_KINDS];
	const char *object = ev->object ? ev->object : "";
	int64_t now = fm_time_mono_ns();
	char more[96] = "";
	size_t i;

	for (i = 0; i < FAILURE_KINDS - 1 && seen[i].what[0]; i++)
		if (strcmp(seen[i].what, ev->what) == 0 &&
		    strcmp(seen[i].object, object) == 0)
			break;
	/* the last slot takes whatever the others do not */
	if (strcmp(seen[i].what, ev->what) != 0 ||
	    strcmp(seen[i].object, object) != 0) {
		snprintf(seen[i].what, sizeof(seen[i].what), "%s", ev->what);
		snprintf(seen[i].object, sizeof(seen[i].object), "%s", object);
		seen[i].more = 0;
	} else if (now - seen[i].last_ns < FAILURE_LOG_INTERVAL_NS) {
		seen[i].more++;
		return;
	}
	if (seen[i].more > 0)
		snprintf(more, sizeof(more),
		    " (%llu more such failures since the last such line)",
		    (unsigned long long)seen[i].more);
	if (object[0])
		fm_log_errno(LOG_ERR, ev->error,
		    "Failed to %s '%s'%s, retrying", ev->what, object, more);
	else
		fm_log_errno(LOG_ERR, ev->error, "Failed to %s%s, retrying",
		    ev->what, more);
	seen[i].last_ns = now;
	seen[i].more = 0;
}

static void
on_event(void *userdata, const fm_agg_event *ev)
{
	char id[FM_CRYPTO_KEY_ID_TEXT_BYTES];

	(void)userdata;
	fm_crypto_key_id_format(ev->key_id, id);
	switch (ev->type) {
	case FM_AGG_EVENT_JOINED:
		fm_log(LOG_INFO, "Agent %s%s%s%s joined.", id,
		    ev->label[0] ? " (" : "", ev->label,
		    ev->label[0] ? ")" : "");
		break;
	case FM_AGG_EVENT_ROUND_OPENED:
		fm_log(LOG_INFO, "Round %llu open (global model version %llu).",
		    (unsigned long long)ev->round,
		    (unsigned long long)ev->version);
		break;
	case FM_AGG_EVENT_ACCEPTED:
		fm_log(LOG_DEBUG,
		    "Round %llu: update %u from %s (%s) accepted, weight "
		    "%llu, delta norm %.4g%s.",
		    (unsigned long long)ev->round, ev->n_updates, id, ev->label,
		    (unsigned long long)ev->samples, ev->norm,
		    ev->clipped ? ", clipped" : "");
		break;
	case FM_AGG_EVENT_REFUSED:
		log_refusal(ev, id);
		break;
	case FM_AGG_EVENT_ROUND_CLOSED:
		fm_log(LOG_INFO, "Round %llu closed with %u updates (%s).",
		    (unsigned long long)ev->round, ev->n_updates,
		    ev->by_deadline ? "deadline" : "quorum");
		break;
	case FM_AGG_EVENT_ROUND_ABANDONED:
		fm_log(LOG_NOTICE,
		    "Round %llu abandoned with %u updates, fewer than "
		    "min_updates; keeping model version %llu.",
		    (unsigned long long)ev->round, ev->n_updates,
		    (unsigned long long)ev->version);
		break;
	case FM_AGG_EVENT_PUBLISHED:
		fm_log(LOG_INFO,
		    "Published global model version %llu (%u updates, round "
		    "took %lld ms).",
		    (unsigned long long)ev->version, ev->n_updates,
		    (long long)ev->duration_ms);
		break;
	case FM_AGG_EVENT_FINISHED:
		fm_log(LOG_NOTICE,
		    "Reached max_rounds: serving model version %llu, opening "
		    "no more rounds.",
		    (unsigned long long)ev->version);
		break;
	case FM_AGG_EVENT_FAILED:
		log_failure(ev);
		break;
	}
}

static int
load_keyring(const char *path, fm_crypto_keyring **ret)
{
	char err[FM_INI_ERROR_BYTES];
	int r;

	r = fm_crypto_keyring_load(path, err, ret);
	if (r < 0)
		fm_log(LOG_ERR, "Failed to load authorized agents '%s': %s",
		    path, err);
	return r;
}

static void
reload_keyring(fm_agg *a, const fm_agg_config *cfg)
{
	fm_crypto_keyring *kr = NULL;
	fm_agg_status st;

	if (load_keyring(cfg->authorized_agents, &kr) < 0) {
		fm_agg_status_get(a, &st);
		fm_log(LOG_WARNING,
		    "Keeping the %llu enrolled keys loaded before, ignoring.",
		    (unsigned long long)st.enrolled);
		return;
	}
	fm_log(LOG_INFO, "Reloaded authorized agents '%s': %zu keys.",
	    cfg->authorized_agents, fm_crypto_keyring_count(kr));
	fm_agg_keyring_replace(a, kr);
}

/* Why a state directory cannot be resumed, in words. */
static const char *
state_error(int r)
{
	switch (r) {
	case -EBADMSG:
		return "corrupt (bad checksum, length or values)";
	case -EPROTONOSUPPORT:
		return "written by another format version";
	case -ESTALE:
		return "holds a model of another layout than [round] layout_id";
	default:
		return strerror(-r);
	}
}

/* Why fm_agg_new() failed, naming the file it failed on. */
static void
report_resume_error(const fm_agg_config *cfg, int r)
{
	switch (r) {
	case -EBADMSG:
	case -EPROTONOSUPPORT:
	case -ESTALE:
		/* only the state file is refused for what it holds: the
		 * journal's damaged records are dropped (and reported) */
		fm_log(LOG_ERR,
		    "Failed to resume from state file '%s/%s': %s. To start "
		    "over, move it aside.",
		    cfg->state_dir, FM_AGG_STATE_FILE, state_error(r));
		break;
	default:
		fm_log_errno(LOG_ERR, r,
		    "Failed to resume from state directory '%s' (%s, %s)",
		    cfg->state_dir, FM_AGG_STATE_FILE, FM_AGG_JOURNAL_FILE);
		break;
	}
}

/* Says what start-up cut out of the replay journal, and what it means. */
static void
report_journal_repair(fm_agg *a, const fm_agg_config *cfg)
{
	fm_agg_status st;

	fm_agg_status_get(a, &st);
	if (st.journal_dropped_bytes == 0)
		return;
	fm_log(LOG_WARNING,
	    "Dropped %llu bytes in %llu places of replay journal '%s/%s' "
	    "that held no whole record. A record torn by a full disk "
	    "belonged to a request that was refused, so nothing is lost; "
	    "one damaged otherwise (a power loss, bad storage) may lower "
	    "its sender's replay mark, letting "
	    "an old request of it be replayed: a HELLO, which is harmless, "
	    "or an UPDATE for a round that is over, which is refused.",
	    (unsigned long long)st.journal_dropped_bytes,
	    (unsigned long long)st.journal_dropped_runs, cfg->state_dir,
	    FM_AGG_JOURNAL_FILE);
}

static int
open_listeners(const fm_agg_config *cfg, fm_net_sock **ret)
{
	fm_net_options o;
	fm_net_sock *s = NULL;
	bool tcp_seen = false;
	int r;

	fm_net_options_init(&o);
	o.recv_max_bytes = cfg->max_message_bytes;
	for (uint32_t i = 0; i < cfg->n_listen; i++) {
		const char *url = cfg->listen[i];
		size_t len = strlen(url);

		r = i == 0 ? fm_net_rep_listen(url, &o, &s)
		           : fm_net_listen_add(s, url);
		if (r < 0) {
			fm_log_errno(
			    LOG_ERR, r, "Failed to listen on '%s'", url);
			fm_net_sock_free(s);
			return r;
		}
		/* net/ knows the first TCP listener's port. */
		if (strncmp(url, "tcp://", 6) == 0 && !tcp_seen && len > 2 &&
		    strcmp(url + len - 2, ":0") == 0)
			fm_log(LOG_INFO, "Listening on %.*s:%u", (int)(len - 2),
			    url, fm_net_listen_port(s));
		else
			fm_log(LOG_INFO, "Listening on %s", url);
		tcp_seen = tcp_seen || strncmp(url, "tcp://", 6) == 0;
	}
	*ret = s;
	return 0;
}

/* /metrics: renders on one of NNG's threads from fm_agg_status_get(),
 * which takes the aggregator's lock. */
static int
render_metrics(void *userdata, char **ret_body, size_t *ret_len)
{
	return fm_agg_metrics_render(userdata, ret_body, ret_len);
}

/* Serves /metrics on cfg->metrics_listen ("" = off). Not needed to
 * aggregate, so a failure is logged and the aggregator goes on without. */
static fm_net_http *
start_metrics(const fm_agg_config *cfg, fm_agg *a)
{
	const char *listen = cfg->metrics_listen;
	const char *colon = strrchr(listen, ':');
	fm_net_http *h = NULL;
	int r;

	if (!listen[0] || !colon)
		return NULL;
	r = fm_net_http_serve(listen, "/metrics",
	    FM_NET_PROMETHEUS_CONTENT_TYPE, render_metrics, a, &h);
	if (r < 0) {
		fm_log_errno(LOG_ERR, r,
		    "Failed to serve /metrics on '%s', going on without",
		    listen);
		return NULL;
	}
	fm_log(LOG_INFO, "Serving metrics on http://%.*s:%u/metrics",
	    (int)(colon - listen), listen, (unsigned)fm_net_http_port(h));
	return h;
}

/*
 * The signal watcher: the one thread that takes the daemon's signals.
 * The serving loop waits in NNG without a timeout to poll with (a poll
 * every 250 ms was most of an idle aggregator's CPU, in NNG's timer
 * thread), so a signal's handler alone would not wake it. Every other
 * thread, NNG's included, blocks SIGTERM, SIGINT and SIGHUP; the watcher
 * unblocks them only inside sigsuspend(), where the handlers
 * (fm_signals_install()) run, and then interrupts the loop's wait.
 */
struct watcher {
	fm_net_sock *sock; /* set before the thread starts */
	atomic_bool done;
	pthread_t thread;
	bool started;
};

static void
daemon_signals(sigset_t *ret)
{
	sigemptyset(ret);
	sigaddset(ret, SIGTERM);
	sigaddset(ret, SIGINT);
	sigaddset(ret, SIGHUP);
}

static void *
watcher_main(void *userdata)
{
	struct watcher *w = userdata;
	sigset_t during;

	(void)pthread_setname_np(pthread_self(), "fm:signals");
	pthread_sigmask(SIG_SETMASK, NULL, &during);
	sigdelset(&during, SIGTERM);
	sigdelset(&during, SIGINT);
	sigdelset(&during, SIGHUP);
	while (!atomic_load(&w->done)) {
		/* a signal that came since the last turn is pending: it
		 * ends this at once */
		sigsuspend(&during);
		fm_net_sock_interrupt(w->sock);
	}
	return NULL;
}

/* Starts the watcher for s. The caller's thread already blocks the
 * daemon's signals (and so every thread started after it). */
static int
watcher_start(struct watcher *w, fm_net_sock *s)
{
	int r;

	w->sock = s;
	atomic_init(&w->done, false);
	r = -pthread_create(&w->thread, NULL, watcher_main, w);
	if (r < 0)
		return r;
	w->started = true;
	return 0;
}

/* Stops the watcher (NULL-safe for one never started); a SIGHUP of our
 * own ends its wait, which only marks a reload nobody will do. */
static void
watcher_stop(struct watcher *w)
{
	if (!w->started)
		return;
	atomic_store(&w->done, true);
	pthread_kill(w->thread, SIGHUP);
	pthread_join(w->thread, NULL);
	w->started = false;
}

/* How long the loop may wait: the watchdog's next ping (if any) or
 * SERVE_WAIT_MS; fm_agg_serve() shortens it for the rounds. */
static uint32_t
serve_wait_ms(uint64_t watchdog_usec, int64_t watchdog_next_ns)
{
	int64_t ms;

	if (!watchdog_usec)
		return SERVE_WAIT_MS;
	ms = (watchdog_next_ns - fm_time_mono_ns()) / FM_NSEC_PER_MSEC + 1;
	if (ms < 1)
		return 1;
	return ms < SERVE_WAIT_MS ? (uint32_t)ms : SERVE_WAIT_MS;
}

static int
run(const fm_agg_config *cfg, const char *config_path)
{
	struct watcher watcher = { 0 };
	fm_crypto_identity *self = NULL;
	fm_crypto_keyring *kr = NULL;
	fm_agg *a = NULL;
	fm_net_sock *s = NULL;
	fm_net_http *http = NULL;
	char id[FM_CRYPTO_KEY_ID_TEXT_BYTES];
	fm_agg_status st;
	uint64_t watchdog_usec;
	int64_t watchdog_next_ns = 0;
	int r;

	r = fm_crypto_init();
	if (r < 0)
		return fm_log_errno(
		    LOG_ERR, r, "Failed to initialise libsodium");
	r = fm_crypto_identity_load(cfg->key_file, &self);
	if (r < 0)
		return fm_log_errno(
		    LOG_ERR, r, "Failed to load key file '%s'", cfg->key_file);
	r = load_keyring(cfg->authorized_agents, &kr);
	if (r < 0)
		goto out;
	r = fm_file_mkdir_p(cfg->state_dir, 0700);
	if (r < 0) {
		fm_log_errno(LOG_ERR, r,
		    "Failed to create state directory '%s'", cfg->state_dir);
		fm_crypto_keyring_free(kr);
		goto out;
	}
	r = fm_agg_new(cfg, self, kr, &a);
	if (r < 0) {
		report_resume_error(cfg, r);
		goto out;
	}
	fm_agg_set_event_handler(a, on_event, NULL);
	report_journal_repair(a, cfg);
	r = open_listeners(cfg, &s);
	if (r < 0)
		goto out;
	r = watcher_start(&watcher, s);
	if (r < 0) {
		fm_log_errno(LOG_ERR, r, "Failed to start the signal watcher");
		goto out;
	}
	http = start_metrics(cfg, a);
	fm_agg_status_get(a, &st);
	fm_crypto_key_id_format(fm_crypto_identity_key_id(self), id);
	fm_log(LOG_INFO,
	    "fedmon-aggregator %s as %s: %llu enrolled keys, rule %s, "
	    "global model version %llu after round %llu, config %s, state %s",
	    FM_VERSION, id, (unsigned long long)st.enrolled,
	    fm_agg_rule_name(cfg->rule), (unsigned long long)st.version,
	    (unsigned long long)st.round,
	    config_path ? config_path : "(built-in defaults)", cfg->state_dir);
	/* systemd (Type=notify): ready once listening; the watchdog is
	 * pinged from the serving loop, at half its period */
	watchdog_usec = fm_notify_watchdog_usec();
	(void)fm_notify("READY=1\nSTATUS=Serving");
	while (!fm_signals_stop_requested()) {
		if (watchdog_usec && fm_time_mono_ns() >= watchdog_next_ns) {
			(void)fm_notify("WATCHDOG=1");
			watchdog_next_ns = fm_time_mono_ns() +
			    (int64_t)(watchdog_usec / 2) * FM_NSEC_PER_USEC;
		}
		if (fm_signals_take_reload()) {
			(void)fm_notify("RELOADING=1");
			reload_keyring(a, cfg);
			(void)fm_notify("READY=1");
		}
		r = fm_agg_serve(
		    a, s, serve_wait_ms(watchdog_usec, watchdog_next_ns));
		if (r == -EINTR) /* a signal: the loop's checks above */
			continue;
		if (r == -ECANCELED) {
			fm_log(
			    LOG_ERR, "The listening socket closed, stopping.");
			break;
		}
		if (r < 0 && r != -EMSGSIZE)
			fm_log_errno(LOG_WARNING, r,
			    "Failed to answer a request, ignoring");
	}
	(void)fm_notify("STOPPING=1\nSTATUS=Writing the state");
	r = fm_agg_persist(a);
	if (r < 0)
		fm_log_errno(LOG_ERR, r, "Failed to write state in '%s'",
		    cfg->state_dir);
	else
		fm_log(LOG_INFO, "Stopping: state written.");
	if (!fm_signals_stop_requested() && r == 0)
		r = -ECANCELED;
out:
	watcher_stop(&watcher); /* before s, which it interrupts */
	fm_net_http_free(http); /* before a, which its handler reads */
	fm_net_sock_free(s);
	fm_agg_free(a);
	fm_crypto_identity_free(self);
	return r;
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	const char *config_path = NULL;
	fm_agg_config cfg;
	sigset_t blocked;
	int r;

	if (parse_args(argc, argv, &opt) < 0)
		return EXIT_USAGE;
	if (load_config(&opt, &cfg, &config_path) < 0)
		return EXIT_USAGE;
	if (opt.dump)
		return dump_config(&cfg, config_path);
	fm_log_set_max_level(cfg.log_level);
	/* Every request allocates a few buffers the size of a model: keep
	 * them in the heap for the next one instead of handing them back to
	 * the kernel and faulting them in again (a third of a round's CPU,
	 * bench/bench-agg). Peak RSS is unchanged. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	r = fm_signals_install();
	if (r < 0) {
		fm_log_errno(LOG_ERR, r, "Failed to install signal handlers");
		return EXIT_FAILURE;
	}
	/* From here on only the watcher (run()) takes them: every thread
	 * inherits this mask, NNG's too. */
	daemon_signals(&blocked);
	pthread_sigmask(SIG_BLOCK, &blocked, NULL);
	r = run(&cfg, config_path);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
