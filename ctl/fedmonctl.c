/*
 * fedmonctl: the operator's command for a host's agent. It talks to the
 * running fedmon-agent over the agent's control socket (NNG REQ/REP over
 * ipc://RUNTIME_DIR/control.sock, mode 0660, proto/'s control messages),
 * and makes the agent's key pair.
 *
 *   fedmonctl [--runtime-dir DIR | --socket PATH] [--json] [--timeout MS]
 *             status | features | label failure|ok | accept
 *   fedmonctl [...] watch [--interval-ms MS] [--csv] [--count N]
 *   fedmonctl keygen [--force] FILE
 *
 * status    a compact summary: health (the problems named), sampling, the
 *           models (training state and ages), the current score, alarm
 *           and top features, failure probabilities, federation, recent
 *           actions, and the agent's /metrics URL.
 * features  the current sample: name, value (- when masked), unit.
 * label     the operator's failure label for the failure predictor:
 *           "failure" begins a manual failure, "ok" ends it.
 * accept    the operator's word that the current state is normal (a
 *           lasting change, not a fault): the detector retrains at once
 *           weighing it, and the alarm clears.
 * watch     one line (or CSV row) per new sample, from one process that
 *           polls status and features at a steady rhythm over one
 *           connection, until a signal or --count rows: recording a host
 *           this way forks nothing, so it is not itself an anomaly.
 *
 * --json prints one JSON object instead; its keys are listed in
 * docs/fedmonctl.md (status: healthy, problems, agent, sampling,
 * detector, failure_predictors, federation, actions, metrics_url).
 *
 * Exit status, read as Nagios reads a plugin's: 0 OK, healthy or
 * learning (the detector warming up; status says how long is left) or
 * done; 1 WARNING, degraded (status names each problem) or the agent
 * refused the request; 2 usage error (Nagios: CRITICAL); 3 UNKNOWN, the
 * agent is unreachable (no socket, permission denied, or no answer within
 * the timeout). keygen: 0 success, 1 failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "crypto/crypto.h"
#include "fm-config.h"
#include "net/net.h"
#include "proto/proto.h"

#define EXIT_DEGRADED    1
#define EXIT_USAGE       2
#define EXIT_UNREACHABLE 3

/* FM_STATUS_CONTROL_SOCKET (agent/status/status.h) */
#define CONTROL_SOCKET     "control.sock"
#define DEFAULT_TIMEOUT_MS 5000u
#define MAX_TIMEOUT_MS     600000u
#define RECENT_SHOWN       3 /* actions in the human summary */
#define WATCH_MIN_MS       10u
#define WATCH_MAX_MS       60000u

typedef struct ctl {
	char socket[FM_NET_URL_BYTES];
	bool json;
	uint32_t timeout_ms;
	/* watch's options; watch_opts: one of them was given */
	bool watch_opts;
	bool csv;
	uint32_t interval_ms; /* 0 = half the agent's */
	uint64_t count;       /* rows; 0 = until a signal */
} ctl;

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: fedmonctl [OPTIONS] COMMAND [ARGS]\n"
	    "\n"
	    "Asks the running fedmon-agent over its control socket.\n"
	    "\n"
	    "Commands:\n"
	    "  status                  health, sampling, models, score and "
	    "alarm, failure\n"
	    "                          probabilities, federation, recent "
	    "actions, /metrics URL\n"
	    "  features                the current sample: name, value, unit\n"
	    "  label failure|ok        report a failure to the failure "
	    "predictor, or its end\n"
	    "  accept                  take the current state as normal: "
	    "the detector\n"
	    "                          retrains at once with it and the "
	    "alarm clears\n"
	    "  watch [--interval-ms MS] [--csv] [--count N]\n"
	    "                          one line per new sample (time, score, "
	    "threshold,\n"
	    "                          alarm, top features); --csv: a header, "
	    "then one row\n"
	    "                          per sample with every feature's value "
	    "and the\n"
	    "                          failure probabilities. Polls every MS "
	    "(default half\n"
	    "                          the agent's interval) over one "
	    "connection, forking\n"
	    "                          nothing; stops on SIGINT or SIGTERM "
	    "(exit 0) or\n"
	    "                          after N rows; waits out an agent "
	    "restart\n"
	    "  keygen [--force] FILE   generate a key pair: the secret key "
	    "in FILE (mode\n"
	    "                          0600), the public key in FILE.pub; "
	    "prints the public\n"
	    "                          key. Refuses to replace FILE without "
	    "--force.\n"
	    "\n"
	    "Options:\n"
	    "      --runtime-dir DIR   the agent's runtime directory (default "
	    "%s);\n"
	    "                          the socket is DIR/%s\n"
	    "      --socket PATH       the control socket itself\n"
	    "      --json              one JSON object (keys: see "
	    "fedmonctl(1);\n"
	    "                          status: healthy, problems, agent, "
	    "sampling, detector,\n"
	    "                          failure_predictors, federation, "
	    "actions, metrics_url)\n"
	    "      --timeout MS        wait at most MS for the agent (default "
	    "%u)\n"
	    "  -h, --help              this help\n"
	    "      --version           print the version\n"
	    "\n"
	    "Exit status (Nagios's reading in brackets):\n"
	    "  0 [OK]        healthy, or learning (the detector warming up), "
	    "or done\n"
	    "  1 [WARNING]   degraded (status names each problem), or the "
	    "agent refused\n"
	    "                the request\n"
	    "  2 [CRITICAL]  usage error\n"
	    "  3 [UNKNOWN]   agent unreachable (no socket, permission "
	    "denied, or no\n"
	    "                answer within the timeout)\n"
	    "keygen: 0 success, 1 failure, 2 usage error.\n",
	    FM_RUNTIMEDIR, CONTROL_SOCKET, DEFAULT_TIMEOUT_MS);
}

/* ---- keygen ---------------------------------------------------------- */

static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char text[FM_CRYPTO_KEY_TEXT_BYTES], id[FM_CRYPTO_KEY_ID_TEXT_BYTES];
	fm_crypto_identity *key = NULL;
	bool force = false;
	int c, r;

	/* 0, not 1: glibc then starts a fresh scan, which permutes operands
	 * last (`keygen FILE --force`) despite main's "+" scan before */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "fedmonctl keygen: unknown flag '%s'\n",
			    argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "fedmonctl keygen: wants one FILE\n");
		return EXIT_USAGE;
	}
	r = fm_crypto_init();
	if (r == 0)
		r = fm_crypto_identity_generate(&key);
	if (r == 0)
		r = fm_crypto_identity_save(key, argv[optind], force);
	if (r == -EEXIST) {
		fprintf(stderr,
		    "fedmonctl keygen: '%s' exists; not replacing a key "
		    "(use --force to replace it, which breaks its enrolment)\n",
		    argv[optind]);
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "fedmonctl keygen: cannot write '%s': %s\n",
		    argv[optind], strerror(-r));
		goto out;
	}
	fm_crypto_key_format(fm_crypto_identity_public(key), text);
	fm_crypto_key_id_format(fm_crypto_identity_key_id(key), id);
	printf("%s\n", text);
	fprintf(stderr,
	    "Wrote secret key '%s' (mode 0600) and public key '%s.pub'; key "
	    "id %s.\n",
	    argv[optind], argv[optind], id);
out:
	fm_crypto_identity_free(key);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- talking to the agent ------------------------------------------- */

/*
 * Whether o->socket is a control socket this process may use; says why
 * not on stderr.
 */
static bool
socket_usable(const ctl *o)
{
	struct stat st;

	if (stat(o->socket, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		fprintf(stderr,
		    "fedmonctl: no control socket at '%s': is fedmon-agent "
		    "running (with this --runtime-dir)?\n",
		    o->socket);
		return false;
	}
	if (access(o->socket, R_OK | W_OK) < 0) {
		fprintf(stderr,
		    "fedmonctl: cannot use '%s': %s (members of the agent's "
		    "control group may)\n",
		    o->socket, strerror(errno));
		return false;
	}
	return true;
}

/*
 * Opens a REQ socket to the agent in *ret, dialling in the background
 * (NNG redials while the agent is away). Returns 0 or a negative errno.
 */
static int
connect_agent(const ctl *o, fm_net_sock **ret)
{
	char url[FM_NET_URL_BYTES + 8];
	fm_net_options opt;

	snprintf(url, sizeof(url), "ipc://%s", o->socket);
	fm_net_options_init(&opt);
	opt.recv_max_bytes = FM_PROTO_CTL_REPLY_MAX_BYTES;
	opt.send_timeout_ms = o->timeout_ms;
	opt.recv_timeout_ms = o->timeout_ms;
	opt.reconnect_min_ms = 10;
	opt.reconnect_max_ms = 200;
	return fm_net_req_dial(url, &opt, ret);
}

/*
 * Sends rq over s and decodes the agent's reply into *rp, waiting at most
 * o->timeout_ms. Returns 0, or EXIT_UNREACHABLE after saying why on
 * stderr (unless quiet).
 */
static int
ask_on(const ctl *o, fm_net_sock *s, const fm_proto_ctl_request *rq,
    fm_proto_ctl_reply *rp, bool quiet)
{
	uint8_t *req = NULL, *buf = NULL;
	size_t req_len = 0, len = 0;
	int64_t deadline;
	int r, left_ms;

	deadline =
	    fm_time_mono_ns() + (int64_t)o->timeout_ms * FM_NSEC_PER_MSEC;
	r = fm_proto_ctl_request_encode(rq, &req, &req_len);
	if (r == 0)
		r = fm_net_send(s, req, req_len);
	if (r == 0) {
		left_ms =
		    (int)((deadline - fm_time_mono_ns()) / FM_NSEC_PER_MSEC);
		r = fm_net_recv(
		    s, left_ms > 0 ? (uint32_t)left_ms : 1, &buf, &len);
	}
	if (r == 0)
		r = fm_proto_ctl_reply_decode(buf, len, rp);
	free(req);
	free(buf);
	if (r == 0)
		return 0;
	if (quiet)
		return EXIT_UNREACHABLE;
	if (r == -ETIMEDOUT)
		fprintf(stderr,
		    "fedmonctl: no answer from the agent at '%s' within %u "
		    "ms\n",
		    o->socket, o->timeout_ms);
	else
		fprintf(stderr,
		    "fedmonctl: cannot talk to the agent at '%s': %s\n",
		    o->socket, strerror(-r));
	return EXIT_UNREACHABLE;
}

/*
 * Sends rq to the agent and decodes its reply into *rp. Returns 0, or an
 * exit status (EXIT_UNREACHABLE) after saying why on stderr.
 */
static int
ask(const ctl *o, const fm_proto_ctl_request *rq, fm_proto_ctl_reply *rp)
{
	fm_net_sock *s = NULL;
	int r;

	if (!socket_usable(o))
		return EXIT_UNREACHABLE;
	r = connect_agent(o, &s);
	if (r < 0) {
		fprintf(stderr,
		    "fedmonctl: cannot talk to the agent at '%s': %s\n",
		    o->socket, strerror(-r));
		return EXIT_UNREACHABLE;
	}
	r = ask_on(o, s, rq, rp, false);
	fm_net_sock_free(s);
	return r;
}

/* ---- formatting helpers ---------------------------------------------- */

/* "12:03:44", or with the date when t is not within the last day. */
static const char *
fmt_time(char *buf, size_t size, int64_t real_ns)
{
	time_t t = (time_t)(real_ns / FM_NSEC_PER_SEC);
	time_t now = time(NULL);
	struct tm tm;

	if (real_ns <= 0 || !localtime_r(&t, &tm)) {
		snprintf(buf, size, "never");
		return buf;
	}
	strftime(buf, size,
	    now - t < 86400 && t - now < 86400 ? "%H:%M:%S" : "%Y-%m-%d %H:%M",
	    &tm);
	return buf;
}

/* "0.4 s", "4m10s", "2h03m", "3d04h". */
static const char *
fmt_age(char *buf, size_t size, double seconds)
{
	uint64_t s;

	if (!(seconds >= 0))
		seconds = 0;
	if (seconds < 60) {
		snprintf(buf, size, "%.1f s", seconds);
		return buf;
	}
	s = (uint64_t)seconds;
	if (s < 3600)
		snprintf(
		    buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s / 3600 % 24);
	return buf;
}

static double
age_seconds(int64_t real_ns)
{
	return (double)(fm_time_real_ns() - real_ns) / 1e9;
}

static const char *
err_text(int error)
{
	return error < 0 ? strerror(-error) : "error";
}

/* JSON: a string (text is printable ASCII; escaped all the same). */
static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A string, or null when it is empty. */
static void
json_str_or_null(const char *s)
{
	if (s[0])
		json_str(s);
	else
		printf("null");
}

static void
json_float(double v)
{
	if (isfinite(v))
		printf("%.6g", v);
	else
		printf("null");
}

/* Unix seconds, or null for 0 (never). */
static void
json_time(int64_t real_ns)
{
	if (real_ns > 0)
		printf("%.3f", (double)real_ns / 1e9);
	else
		printf("null");
}

static void
json_error(int error)
{
	if (error < 0)
		json_str(strerror(-error));
	else
		printf("null");
}

/* A comma-separated list as a JSON array of strings. */
static void
json_list(const char *csv)
{
	const char *p = csv;
	bool first = true;

	putchar('[');
	while (*p) {
		size_t n = strcspn(p, ",");
		char item[FM_PROTO_CTL_TEXT_BYTES];

		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		if (n > 0) {
			printf("%s", first ? "" : ", ");
			json_str(item);
			first = false;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	putchar(']');
}

/* ---- status: the human summary --------------------------------------- */

/* Whether the agent's detector is warming up: learning, not degraded. */
static bool
is_learning(const fm_proto_ctl_status *s)
{
	return s->learning && !s->ready;
}

static void
print_health(const fm_proto_ctl_status *s)
{
	char left[32];

	if (s->n_problems == 0 && is_learning(s)) {
		printf("health:     learning: detector warming up, %u of %u "
		       "samples",
		    s->rows_held, s->min_rows);
		if (s->rows_held < s->min_rows)
			printf(", %s left\n",
			    fmt_age(left, sizeof(left),
			        (double)(s->min_rows - s->rows_held) *
			            s->interval_ms / 1e3));
		else
			printf(", first training %s\n",
			    s->training ? "under way" : "due");
		return;
	}
	if (s->n_problems == 0) {
		printf("health:     healthy\n");
		return;
	}
	printf("health:     degraded: ");
	for (uint32_t i = 0; i < s->n_problems; i++)
		printf("%s%s", i ? "; " : "", s->problems[i]);
	printf("\n");
}

static void
print_sampling(const fm_proto_ctl_status *s)
{
	char age[32];

	printf("sampling:   every %u ms, %" PRIu64 " samples (%" PRIu64
	       " failed)",
	    s->interval_ms, s->samples, s->samples_failed);
	if (s->last_sample_real_ns > 0)
		printf(", last %s ago",
		    fmt_age(
		        age, sizeof(age), (double)s->last_sample_age_ms / 1e3));
	if (s->collectors_failing[0])
		printf("; failing: %s", s->collectors_failing);
	if (s->collectors_missing[0])
		printf("; missing here: %s", s->collectors_missing);
	printf("\n");
}

/* The names of the label sources in mask (FM_LABEL_BIT, in the
 * predictors' order) into buf. */
static const char *
label_names(const fm_proto_ctl_status *s, uint32_t mask, char *buf,
    size_t size)
{
	size_t at = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < s->n_predictors && i < 32; i++) {
		int n;

		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + at, size - at, "%s%s", at ? "," : "",
		    s->predictors[i].name);
		if (n < 0 || (size_t)n >= size - at)
			break;
		at += (size_t)n;
	}
	return buf;
}

/* The alarm in progress: its age, its events, and what becomes of its
 * samples (learned as normal, waiting, or held by a failure). */
static void
print_alarm(const fm_proto_ctl_status *s)
{
	char age[32], when[32], names[128];

	printf("            alarm up %s, %" PRIu64 " events so far",
	    fmt_age(age, sizeof(age), (double)s->alarm_seconds), s->events);
	if (s->event_real_ns > 0)
		printf(", the last from %s",
		    fmt_time(when, sizeof(when), s->event_real_ns));
	if (s->accepted)
		printf("; taken as the new normal\n");
	else if (s->held_labels)
		printf("; failure %s during it: not learned as normal "
		       "(fedmonctl accept does)\n",
		    label_names(s, s->held_labels, names, sizeof(names)));
	else
		printf("; %u samples waiting (learned as normal if it "
		       "lasts; fedmonctl accept: now)\n",
		    s->pending_rows);
}

static void
print_detector(const fm_proto_ctl_status *s)
{
	char when[32], age[32];

	if (!s->learning) {
		printf("detector:   off (learning disabled)\n");
		return;
	}
	if (!s->ready)
		printf("detector:   warming up, %u of %u samples%s",
		    s->rows_held, s->min_rows,
		    s->training ? ", training now" : "");
	else
		printf(
		    "detector:   score %.2f / threshold %.2f, %s; model from "
		    "%s (%s old), %u trainings%s",
		    (double)s->score, (double)s->threshold,
		    s->alarm ? "ALARM" : "no alarm",
		    fmt_time(when, sizeof(when), s->trained_real_ns),
		    fmt_age(age, sizeof(age), age_seconds(s->trained_real_ns)),
		    s->trainings, s->training ? ", training now" : "");
	if (s->train_failures > 0)
		printf(", %u failed%s%s", s->train_failures,
		    s->train_error ? " (last: " : "",
		    s->train_error ? err_text(s->train_error) : "");
	if (s->train_failures > 0 && s->train_error)
		printf(")");
	printf("\n");
	if (s->ready && s->seen_rows < s->mature_rows)
		printf("            young model: %s of samples seen, mature at "
		       "%s; its scales lean %.0f%% on typical ones\n",
		    fmt_age(age, sizeof(age),
		        (double)s->seen_rows * s->interval_ms / 1e3),
		    fmt_age(when, sizeof(when),
		        (double)s->mature_rows * s->interval_ms / 1e3),
		    100.0 * (double)s->young_prior);
	if (s->ready && s->alarm)
		print_alarm(s);
	if (s->ready && s->n_top > 0) {
		/* ranked by the last sample; with an alarm, the event's
		 * total beside each */
		printf("            top%s:", s->alarm ? " (now, event total)" : "");
		for (uint32_t i = 0; i < s->n_top; i++) {
			printf("%s %s %.2f", i ? "," : "", s->top[i].name,
			    (double)s->top[i].contrib);
			if (s->alarm)
				printf(" (%.1f)", (double)s->top[i].event);
		}
		printf("\n");
	}
}

static void
print_predictors(const fm_proto_ctl_status *s)
{
	if (s->n_predictors == 0)
		return;
	printf("failure:   ");
	for (uint32_t i = 0; i < s->n_predictors; i++) {
		const fm_proto_ctl_predictor *p = &s->predictors[i];

		printf("%s %s ", i ? "," : "", p->name);
		if (!p->enabled && !p->trained)
			printf("off");
		else if (!p->trained && !p->trusted)
			printf("untrained");
		else
			printf("%.0f%%", 100.0 * (double)p->probability);
		if (p->trained && !p->trusted)
			printf(" (too few onsets to act on)");
		if (p->failing)
			printf(" (failing now)");
	}
	printf("\n");
}

static void
print_federation(const fm_proto_ctl_status *s)
{
	char when[32];

	if (!s->federating) {
		printf("federation: standalone (no aggregator)\n");
		return;
	}
	printf("federation: %s %s, last contact %s, round %" PRIu64
	       ", fleet model v%" PRIu64 " (applied v%" PRIu64
	       "), updates %" PRIu64 " sent / %" PRIu64 " accepted / %" PRIu64
	       " refused",
	    s->aggregator, s->reachable ? "reachable" : "UNREACHABLE",
	    fmt_time(when, sizeof(when), s->last_contact_real_ns), s->round,
	    s->fleet_version, s->applied_version, s->updates_sent,
	    s->updates_accepted, s->updates_refused);
	if (s->fed_error)
		printf("; last error: %s", err_text(s->fed_error));
	printf("\n");
}

static void
print_actions(const fm_proto_ctl_status *s)
{
	char when[32];

	if (!s->acting) {
		printf("actions:    off\n");
		return;
	}
	printf("actions:    %u rule%s", s->n_rules, s->n_rules == 1 ? "" : "s");
	if (s->n_recent == 0)
		printf(", none taken\n");
	else
		printf(", %u recent:\n", s->n_recent);
	for (uint32_t i = 0; i < s->n_recent && i < RECENT_SHOWN; i++) {
		const fm_proto_ctl_action *a = &s->recent[i];

		printf("            %s %s %s: %s (code %d, %u ms)\n",
		    fmt_time(when, sizeof(when), a->real_ns), a->rule, a->kind,
		    a->result, a->code, a->duration_ms);
	}
}

static void
print_status(const fm_proto_ctl_status *s)
{
	char age[32];

	printf("fedmon-agent %s (pid %u), up %s; config %s, state %s\n",
	    s->agent_version, s->pid,
	    fmt_age(age, sizeof(age), (double)s->uptime_ms / 1e3),
	    s->config_path[0] ? s->config_path : "(built-in defaults)",
	    s->state_dir);
	print_health(s);
	print_sampling(s);
	print_detector(s);
	print_predictors(s);
	print_federation(s);
	print_actions(s);
	printf("metrics:    %s\n", s->metrics_url[0] ? s->metrics_url : "off");
}

/* ---- status: JSON ---------------------------------------------------- */

static void
json_status_agent(const fm_proto_ctl_status *s)
{
	const char *state = "healthy";

	if (s->n_problems > 0)
		state = "degraded";
	else if (is_learning(s))
		state = "learning";
	printf("\"state\": \"%s\", \"healthy\": %s, \"problems\": [", state,
	    s->n_problems == 0 ? "true" : "false");
	for (uint32_t i = 0; i < s->n_problems; i++) {
		printf("%s", i ? ", " : "");
		json_str(s->problems[i]);
	}
	printf("], \"agent\": {\"version\": ");
	json_str(s->agent_version);
	printf(", \"pid\": %u, \"started\": ", s->pid);
	json_time(s->start_real_ns);
	printf(", \"uptime_seconds\": %.3f, \"config_path\": ",
	    (double)s->uptime_ms / 1e3);
	json_str_or_null(s->config_path);
	printf(", \"state_dir\": ");
	json_str(s->state_dir);
	printf("}, \"sampling\": {\"interval_ms\": %u, \"samples\": %" PRIu64
	       ", \"failed\": %" PRIu64 ", \"missing\": ",
	    s->interval_ms, s->samples, s->samples_failed);
	json_list(s->collectors_missing);
	printf(", \"failing\": ");
	json_list(s->collectors_failing);
	printf(", \"last_sample_time\": ");
	json_time(s->last_sample_real_ns);
	printf(", \"last_sample_age_seconds\": ");
	if (s->last_sample_real_ns > 0)
		printf("%.3f", (double)s->last_sample_age_ms / 1e3);
	else
		printf("null");
	printf("}");
}

static void
json_status_models(const fm_proto_ctl_status *s)
{
	printf(", \"detector\": {\"enabled\": %s, \"ready\": %s, "
	       "\"training\": %s, \"trainings\": %u, \"train_failures\": %u, "
	       "\"last_error\": ",
	    s->learning ? "true" : "false", s->ready ? "true" : "false",
	    s->training ? "true" : "false", s->trainings, s->train_failures);
	json_error(s->train_error);
	printf(", \"trained_time\": ");
	json_time(s->trained_real_ns);
	printf(", \"model_age_seconds\": ");
	if (s->trained_real_ns > 0)
		printf("%.3f", age_seconds(s->trained_real_ns));
	else
		printf("null");
	printf(", \"rows_held\": %u, \"min_rows\": %u, \"score\": ",
	    s->rows_held, s->min_rows);
	if (s->ready)
		json_float((double)s->score);
	else
		printf("null");
	printf(", \"threshold\": ");
	if (s->ready)
		json_float((double)s->threshold);
	else
		printf("null");
	printf(", \"alarm\": %s, \"scored\": %" PRIu64 ", \"alarms\": %" PRIu64
	       ", \"events\": %" PRIu64 ", \"alarm_seconds\": %u"
	       ", \"pending_samples\": %u, \"accepted\": %s"
	       ", \"accepts\": %" PRIu64 ", \"held_by_failures\": [",
	    s->alarm ? "true" : "false", s->scored, s->alarms, s->events,
	    s->alarm ? s->alarm_seconds : 0, s->pending_rows,
	    s->accepted ? "true" : "false", s->accepts);
	for (uint32_t i = 0, k = 0; i < s->n_predictors && i < 32; i++) {
		if (!(s->held_labels & (1u << i)))
			continue;
		printf("%s", k++ ? ", " : "");
		json_str(s->predictors[i].name);
	}
	printf("], \"young\": %s, \"seen_seconds\": %.0f, "
	       "\"mature_seconds\": %.0f, \"prior_weight\": ",
	    s->seen_rows < s->mature_rows ? "true" : "false",
	    (double)s->seen_rows * s->interval_ms / 1e3,
	    (double)s->mature_rows * s->interval_ms / 1e3);
	json_float((double)s->young_prior);
	printf(", \"top_features\": [");
	for (uint32_t i = 0; i < s->n_top; i++) {
		printf("%s{\"name\": ", i ? ", " : "");
		json_str(s->top[i].name);
		printf(", \"contribution\": ");
		json_float((double)s->top[i].contrib);
		printf(", \"event_total\": ");
		json_float((double)s->top[i].event);
		printf("}");
	}
	printf("]}, \"failure_predictors\": [");
	for (uint32_t i = 0; i < s->n_predictors; i++) {
		const fm_proto_ctl_predictor *p = &s->predictors[i];

		printf("%s{\"source\": ", i ? ", " : "");
		json_str(p->name);
		printf(", \"enabled\": %s, \"trained\": %s, \"probability\": ",
		    p->enabled ? "true" : "false",
		    p->trained ? "true" : "false");
		if (p->trained || p->trusted)
			json_float((double)p->probability);
		else
			printf("null");
		printf(", \"onsets\": %" PRIu64 ", \"events\": %" PRIu64
		       ", \"failing\": %s, \"trusted\": %s}",
		    p->onsets, p->events, p->failing ? "true" : "false",
		    p->trusted ? "true" : "false");
	}
	printf("]");
}

static void
json_status_federation(const fm_proto_ctl_status *s)
{
	printf(", \"federation\": {\"configured\": %s, \"aggregator\": ",
	    s->federating ? "true" : "false");
	json_str_or_null(s->aggregator);
	printf(", \"reachable\": %s, \"last_contact_time\": ",
	    s->reachable ? "true" : "false");
	json_time(s->last_contact_real_ns);
	printf(", \"round\": %" PRIu64 ", \"fleet_version\": %" PRIu64
	       ", \"applied_version\": %" PRIu64 ", \"updates_sent\": %" PRIu64
	       ", \"updates_accepted\": %" PRIu64
	       ", \"updates_refused\": %" PRIu64 ", \"exchanges\": %" PRIu64
	       ", \"failures\": %" PRIu64 ", \"last_error\": ",
	    s->round, s->fleet_version, s->applied_version, s->updates_sent,
	    s->updates_accepted, s->updates_refused, s->exchanges,
	    s->fed_failures);
	json_error(s->fed_error);
	printf(", \"last_refusal\": ");
	json_str_or_null(s->fed_reason);
	printf("}");
}

static void
json_status_actions(const fm_proto_ctl_status *s)
{
	printf(", \"actions\": {\"enabled\": %s, \"rules\": [",
	    s->acting ? "true" : "false");
	for (uint32_t i = 0; i < s->n_rules; i++) {
		const fm_proto_ctl_rule *u = &s->rules[i];

		printf("%s{\"name\": ", i ? ", " : "");
		json_str(u->name);
		printf(", \"kind\": ");
		json_str(u->kind);
		printf(", \"dry_run\": %s, \"holding\": %s, \"running\": %s, "
		       "\"runs\": {\"ok\": %" PRIu64 ", \"failed\": %" PRIu64
		       ", \"timeout\": %" PRIu64 ", \"error\": %" PRIu64
		       ", \"dry_run\": %" PRIu64 "}, \"suppressed\": %" PRIu64
		       ", \"last_run_time\": ",
		    u->dry_run ? "true" : "false",
		    u->holding ? "true" : "false",
		    u->running ? "true" : "false", u->ok, u->failed, u->timeout,
		    u->error, u->dry_runs, u->suppressed);
		json_time(u->last_run_real_ns);
		printf("}");
	}
	printf("], \"recent\": [");
	for (uint32_t i = 0; i < s->n_recent; i++) {
		const fm_proto_ctl_action *a = &s->recent[i];

		printf("%s{\"time\": ", i ? ", " : "");
		json_time(a->real_ns);
		printf(", \"rule\": ");
		json_str(a->rule);
		printf(", \"kind\": ");
		json_str(a->kind);
		printf(", \"result\": ");
		json_str(a->result);
		printf(", \"code\": %d, \"duration_ms\": %u, \"value\": ",
		    a->code, a->duration_ms);
		json_float((double)a->value);
		printf("}");
	}
	printf("]}");
}

static void
json_status(const fm_proto_ctl_status *s)
{
	printf("{");
	json_status_agent(s);
	json_status_models(s);
	json_status_federation(s);
	json_status_actions(s);
	printf(", \"metrics_url\": ");
	json_str_or_null(s->metrics_url);
	printf("}\n");
}

/* ---- the commands that ask -------------------------------------------- */

/* An error the agent answered with: said on stderr, exit 1. */
static int
refused(const fm_proto_ctl_reply *rp)
{
	fprintf(stderr, "fedmonctl: the agent refused: %s\n",
	    rp->message[0] ? rp->message : err_text(rp->error));
	return EXIT_FAILURE;
}

static int
cmd_status(const ctl *o, fm_proto_ctl_reply *rp)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_STATUS };
	int r = ask(o, &rq, rp);

	if (r != 0)
		return r;
	if (rp->error)
		return refused(rp);
	if (o->json)
		json_status(&rp->status);
	else
		print_status(&rp->status);
	return rp->status.n_problems == 0 ? EXIT_SUCCESS : EXIT_DEGRADED;
}

static int
cmd_features(const ctl *o, fm_proto_ctl_reply *rp)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_FEATURES };
	const fm_proto_ctl_features *f = &rp->features;
	char when[32];
	int r = ask(o, &rq, rp);

	if (r != 0)
		return r;
	if (rp->error)
		return refused(rp);
	if (o->json) {
		printf("{\"schema\": %u, \"timestamp\": ", f->schema_version);
		json_time(f->real_ns);
		printf(", \"features\": [");
		for (uint32_t i = 0; i < f->n; i++) {
			printf("%s{\"name\": ", i ? ", " : "");
			json_str(f->f[i].name);
			printf(", \"value\": ");
			json_float((double)f->f[i].value);
			printf(", \"unit\": ");
			json_str(f->f[i].unit);
			printf("}");
		}
		printf("]}\n");
		return EXIT_SUCCESS;
	}
	printf("# sample of %s, schema %u\n",
	    fmt_time(when, sizeof(when), f->real_ns), f->schema_version);
	for (uint32_t i = 0; i < f->n; i++) {
		if (isnan(f->f[i].value))
			printf("%-24s %12s  %s\n", f->f[i].name, "-",
			    f->f[i].unit);
		else
			printf("%-24s %12.6g  %s\n", f->f[i].name,
			    (double)f->f[i].value, f->f[i].unit);
	}
	return EXIT_SUCCESS;
}

static int
cmd_label(const ctl *o, const char *what, fm_proto_ctl_reply *rp)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_LABEL };
	int r;

	if (strcmp(what, "failure") == 0)
		rq.failing = true;
	else if (strcmp(what, "ok") != 0) {
		fprintf(stderr,
		    "fedmonctl label: wants 'failure' or 'ok', not '%s'\n",
		    what);
		return EXIT_USAGE;
	}
	r = ask(o, &rq, rp);
	if (r != 0)
		return r;
	if (rp->error)
		return refused(rp);
	if (o->json)
		printf("{\"label\": \"%s\", \"changed\": %s}\n", what,
		    rp->label_changed ? "true" : "false");
	else if (rp->label_changed)
		printf("Manual label set to '%s'.\n", what);
	else
		printf("Manual label already '%s'; nothing changed.\n", what);
	return EXIT_SUCCESS;
}

static int
cmd_accept(const ctl *o, fm_proto_ctl_reply *rp)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_ACCEPT };
	int r;

	r = ask(o, &rq, rp);
	if (r != 0)
		return r;
	if (rp->error)
		return refused(rp);
	if (o->json)
		printf("{\"accepted\": true}\n");
	else
		printf("The current state is taken as normal: the detector "
		       "retrains now, and an alarm clears when it is done.\n");
	return EXIT_SUCCESS;
}

/* ---- watch ------------------------------------------------------------ */

static volatile sig_atomic_t watch_stop;

static void
watch_on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

/* A CSV field that is a float: empty when masked or not finite. */
static void
csv_float(double v)
{
	if (isfinite(v))
		printf(",%.6g", v);
	else
		printf(",");
}

/* A feature value: as csv_float(), but with the 9 significant digits
 * that give back the agent's float exactly, so that fedmon-replay --agent
 * feeds a recorded run's learner the very samples the agent saw. */
static void
csv_feature(float v)
{
	if (isfinite(v))
		printf(",%.9g", (double)v);
	else
		printf(",");
}

/* The CSV header: the columns of the rows csv_row() prints. */
static void
csv_header(const fm_proto_ctl_status *s, const fm_proto_ctl_features *f)
{
	printf("time,sample,ready,score,threshold,alarm,alarms,events,"
	       "trainings,top_features");
	for (uint32_t i = 0; i < f->n; i++)
		printf(",%s", f->f[i].name);
	for (uint32_t i = 0; i < s->n_predictors; i++)
		printf(",p_%s,events_%s", s->predictors[i].name,
		    s->predictors[i].name);
	printf("\n");
}

/* One CSV row: the sample f and the status s that scored it. */
static void
csv_row(const fm_proto_ctl_status *s, const fm_proto_ctl_features *f)
{
	printf("%.3f,%" PRIu64 ",%d", (double)f->real_ns / 1e9, s->samples,
	    s->ready ? 1 : 0);
	csv_float(s->ready ? (double)s->score : NAN);
	csv_float(s->ready ? (double)s->threshold : NAN);
	printf(",%d,%" PRIu64 ",%" PRIu64 ",%u,", s->alarm ? 1 : 0, s->alarms,
	    s->events, s->trainings);
	for (uint32_t i = 0; i < s->n_top; i++)
		printf("%s%s=%.4g", i ? ";" : "", s->top[i].name,
		    (double)s->top[i].contrib);
	for (uint32_t i = 0; i < f->n; i++)
		csv_feature(f->f[i].value);
	for (uint32_t i = 0; i < s->n_predictors; i++) {
		const fm_proto_ctl_predictor *p = &s->predictors[i];

		csv_float(
		    p->trained || p->trusted ? (double)p->probability : NAN);
		printf(",%" PRIu64, p->events);
	}
	printf("\n");
}

/* One human line: time, score and threshold, alarm, top features. */
static void
text_row(const fm_proto_ctl_status *s, const fm_proto_ctl_features *f)
{
	char when[32];

	printf("%s ", fmt_time(when, sizeof(when), f->real_ns));
	if (!s->ready) {
		printf("warming up, %u of %u samples\n", s->rows_held,
		    s->min_rows);
		return;
	}
	printf("score %.2f / %.2f %s", (double)s->score, (double)s->threshold,
	    s->alarm ? "ALARM" : "ok");
	for (uint32_t i = 0; i < s->n_top && i < 3; i++)
		printf("%s %s %.2f", i ? "," : " top:", s->top[i].name,
		    (double)s->top[i].contrib);
	printf("\n");
}

/*
 * One poll: the status, and when it shows a sample newer than *last, that
 * sample's features, asked until both describe the same sample (a sample
 * taken between the two asks is asked again, at most twice). Returns 1
 * with a new sample in st and ft, 0 when there is none yet, or
 * EXIT_UNREACHABLE.
 */
static int
watch_poll(const ctl *o, fm_net_sock *s, fm_proto_ctl_reply *st,
    fm_proto_ctl_reply *ft, int64_t last, bool quiet)
{
	fm_proto_ctl_request rs = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_STATUS };
	fm_proto_ctl_request rf = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_FEATURES };
	int r;

	r = ask_on(o, s, &rs, st, quiet);
	if (r != 0 || st->error)
		return EXIT_UNREACHABLE;
	for (int tries = 0; tries < 3; tries++) {
		if (st->status.last_sample_real_ns <= last)
			return 0;
		r = ask_on(o, s, &rf, ft, quiet);
		if (r != 0 || ft->error)
			return EXIT_UNREACHABLE;
		if (ft->features.real_ns == st->status.last_sample_real_ns)
			return 1;
		r = ask_on(o, s, &rs, st, quiet);
		if (r != 0 || st->error)
			return EXIT_UNREACHABLE;
	}
	return 0;
}

/* Sleeps until *next (CLOCK_MONOTONIC), then moves it on by period_ns
 * (skipping periods already past). Returns early on a signal. */
static void
watch_sleep(int64_t *next, int64_t period_ns)
{
	struct timespec ts = { .tv_sec = *next / FM_NSEC_PER_SEC,
		.tv_nsec = *next % FM_NSEC_PER_SEC };
	int64_t now;

	(void)clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	now = fm_time_mono_ns();
	*next += period_ns;
	if (*next <= now)
		*next = now + period_ns - (now - *next) % period_ns;
}

/* watch: see usage(). st and ft are the replies' room (status, features). */
static int
cmd_watch(const ctl *o, fm_proto_ctl_reply *st, fm_proto_ctl_reply *ft)
{
	uint32_t interval_ms = o->interval_ms;
	struct sigaction sa = { .sa_handler = watch_on_signal };
	fm_net_sock *s = NULL;
	int64_t last = 0, next, period_ns;
	uint64_t rows = 0;
	bool header = false, away = false;
	int r;

	if (!socket_usable(o))
		return EXIT_UNREACHABLE;
	r = connect_agent(o, &s);
	if (r < 0) {
		fprintf(stderr,
		    "fedmonctl: cannot talk to the agent at '%s': %s\n",
		    o->socket, strerror(-r));
		return EXIT_UNREACHABLE;
	}
	/* the first answer decides the rhythm, and whether there is an
	 * agent at all */
	r = watch_poll(o, s, st, ft, INT64_MAX, false);
	if (r == EXIT_UNREACHABLE) {
		if (st->error)
			r = refused(st);
		fm_net_sock_free(s);
		return r;
	}
	if (interval_ms == 0)
		interval_ms = st->status.interval_ms / 2 > WATCH_MIN_MS
		    ? st->status.interval_ms / 2
		    : WATCH_MIN_MS;
	period_ns = (int64_t)interval_ms * FM_NSEC_PER_MSEC;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGINT, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	next = fm_time_mono_ns();
	while (!watch_stop && (o->count == 0 || rows < o->count)) {
		r = watch_poll(o, s, st, ft, last, away);
		if (r == EXIT_UNREACHABLE && !away && !watch_stop)
			fprintf(stderr,
			    "fedmonctl watch: the agent is away; still "
			    "trying\n");
		away = r == EXIT_UNREACHABLE;
		if (r == 1) {
			if (o->csv && !header)
				csv_header(&st->status, &ft->features);
			header = true;
			if (o->csv)
				csv_row(&st->status, &ft->features);
			else
				text_row(&st->status, &ft->features);
			(void)fflush(stdout);
			last = ft->features.real_ns;
			rows++;
		}
		if (watch_stop || (o->count > 0 && rows >= o->count))
			break;
		watch_sleep(&next, period_ns);
	}
	fm_net_sock_free(s);
	return ferror(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- main ------------------------------------------------------------ */

enum {
	OPT_RUNTIME = 256,
	OPT_SOCKET,
	OPT_JSON,
	OPT_TIMEOUT,
	OPT_VERSION,
	OPT_INTERVAL,
	OPT_CSV,
	OPT_COUNT,
};

/* Parses the global options in argv from optind on (stopping at the
 * first operand when stop is set). Returns 0, 1 (done: help or version
 * printed) or -EINVAL (said why). */
static int
parse_options(int argc, char **argv, bool stop, ctl *o, const char **dir,
    const char **sock)
{
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "interval-ms", required_argument, NULL, OPT_INTERVAL },
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ 0 },
	};
	uint64_t ms;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, stop ? "+h" : "h", opts, NULL)) !=
	    -1) {
		switch (c) {
		case OPT_RUNTIME:
			*dir = optarg;
			break;
		case OPT_SOCKET:
			*sock = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_TIMEOUT:
			if (fm_parse_u64_range(optarg, 1, MAX_TIMEOUT_MS, &ms) <
			    0) {
				fprintf(stderr,
				    "fedmonctl: invalid --timeout '%s' (1 to "
				    "%u ms)\n",
				    optarg, MAX_TIMEOUT_MS);
				return -EINVAL;
			}
			o->timeout_ms = (uint32_t)ms;
			break;
		case OPT_INTERVAL:
			if (fm_parse_u64_range(
			        optarg, WATCH_MIN_MS, WATCH_MAX_MS, &ms) < 0) {
				fprintf(stderr,
				    "fedmonctl: invalid --interval-ms '%s' "
				    "(%u to %u)\n",
				    optarg, WATCH_MIN_MS, WATCH_MAX_MS);
				return -EINVAL;
			}
			o->interval_ms = (uint32_t)ms;
			o->watch_opts = true;
			break;
		case OPT_CSV:
			o->csv = true;
			o->watch_opts = true;
			break;
		case OPT_COUNT:
			if (fm_parse_u64_range(
			        optarg, 1, UINT64_MAX, &o->count) < 0) {
				fprintf(stderr,
				    "fedmonctl: invalid --count '%s'\n",
				    optarg);
				return -EINVAL;
			}
			o->watch_opts = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("fedmonctl %s\n", FM_VERSION);
			return 1;
		default:
			fprintf(stderr,
			    "fedmonctl: unknown or incomplete option "
			    "'%s'\n",
			    argv[optind - 1]);
			return -EINVAL;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	ctl o = { .timeout_ms = DEFAULT_TIMEOUT_MS };
	const char *dir = NULL, *sock = NULL, *cmd;
	char **operands;
	fm_proto_ctl_reply *rp, *rp2 = NULL;
	int r, cmd_at, n, len;

	r = parse_options(argc, argv, true, &o, &dir, &sock);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd_at = optind;
	cmd = argv[cmd_at];
	if (strcmp(cmd, "keygen") == 0) {
		if (dir || sock || o.json) {
			fprintf(stderr,
			    "fedmonctl keygen: talks to no agent; "
			    "--runtime-dir, --socket and --json do "
			    "not apply\n");
			return EXIT_USAGE;
		}
		return cmd_keygen(argc - cmd_at, argv + cmd_at);
	}
	if (strcmp(cmd, "status") != 0 && strcmp(cmd, "features") != 0 &&
	    strcmp(cmd, "label") != 0 && strcmp(cmd, "watch") != 0 &&
	    strcmp(cmd, "accept") != 0) {
		fprintf(stderr, "fedmonctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	/* options may follow the command too, before or after its operand
	 * (`fedmonctl status --json`, `label failure --json`): a fresh scan
	 * (optind 0 resets glibc's getopt, "+" included) of the arguments
	 * from the command on, which permutes the operands last */
	optind = 0;
	r = parse_options(argc - cmd_at, argv + cmd_at, false, &o, &dir, &sock);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	operands = argv + cmd_at + optind;
	n = argc - cmd_at - optind;
	if (dir && sock) {
		fprintf(stderr,
		    "fedmonctl: --runtime-dir and --socket exclude each "
		    "other\n");
		return EXIT_USAGE;
	}
	if (sock)
		len = snprintf(o.socket, sizeof(o.socket), "%s", sock);
	else
		len = snprintf(o.socket, sizeof(o.socket), "%s/%s",
		    dir ? dir : FM_RUNTIMEDIR, CONTROL_SOCKET);
	/* the URL is "ipc://" and the path */
	if (len < 0 || (size_t)len >= sizeof(o.socket) - strlen("ipc://")) {
		fprintf(stderr, "fedmonctl: the socket path is too long\n");
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "label") == 0 ? n != 1 : n != 0) {
		fprintf(stderr, "fedmonctl %s: unexpected arguments\n", cmd);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "watch") == 0 && o.json) {
		fprintf(stderr,
		    "fedmonctl watch: --json does not apply "
		    "(--csv does)\n");
		return EXIT_USAGE;
	}
	if (strcmp(cmd, "watch") != 0 && o.watch_opts) {
		fprintf(stderr,
		    "fedmonctl %s: --interval-ms, --csv and --count are "
		    "watch's\n",
		    cmd);
		return EXIT_USAGE;
	}
	rp = calloc(1, sizeof(*rp));
	if (strcmp(cmd, "watch") == 0)
		rp2 = calloc(1, sizeof(*rp2));
	if (!rp || (strcmp(cmd, "watch") == 0 && !rp2)) {
		fprintf(stderr, "fedmonctl: out of memory\n");
		free(rp);
		return EXIT_FAILURE;
	}
	if (strcmp(cmd, "status") == 0)
		r = cmd_status(&o, rp);
	else if (strcmp(cmd, "features") == 0)
		r = cmd_features(&o, rp);
	else if (strcmp(cmd, "watch") == 0)
		r = cmd_watch(&o, rp, rp2);
	else if (strcmp(cmd, "accept") == 0)
		r = cmd_accept(&o, rp);
	else
		r = cmd_label(&o, operands[0], rp);
	free(rp);
	free(rp2);
	return r;
}
