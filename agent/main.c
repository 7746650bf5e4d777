/*
 * fedmon-agent: samples the host every interval into the history, scores
 * and learns from every sample, federates with an aggregator when one is
 * configured, acts on its predictions ([action NAME] rules), answers
 * fedmonctl on its control socket and serves /metrics.
 *
 * Under systemd (Type=notify) it reports READY=1 once it samples and
 * serves, pings the watchdog from the sampling loop, and reports
 * RELOADING=1 and STOPPING=1. Signals: SIGTERM, SIGINT save the models
 * and exit 0; SIGHUP re-reads the configuration (a broken file keeps the
 * running one, and says why).
 *
 * Exit status: 0 success, 1 runtime failure, 2 usage or configuration
 * error. --may-restart UNIT: 0 when a restart rule names UNIT, 1 when
 * none does, 2 when the configuration cannot be read. --dump-config prints
 * the effective configuration (file, drop-ins, flags, defaults) as an INI
 * file that loads back to the same, and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "fm-config.h"
#include "learn/learn.h"
#include "net/net.h"

#define EXIT_USAGE     2
#define DEFAULT_CONFIG FM_SYSCONFDIR "/agent.conf"


struct options {
	const char *config; /* NULL: DEFAULT_CONFIG if it exists */
	const char *state_dir;
	const char *runtime_dir;
	const char *procfs;
	const char *log_level;
	const char *may_restart; /* --may-restart UNIT */
	bool once, json, list, print, dump;
	uint64_t duration_s; /* 0: until stopped */
};

struct run {
	fm_agent_config cfg;
	const struct options *opt;
	const char *config_path; /* the file actually read, or NULL */
	fm_collect_sample last;  /* --once: the latest sample */
	fm_model_labels *labels; /* the daemon's failure labels */
	fm_model_history *history; /* the minute ring */
	fm_model_learner *learner; /* and its models (they fill the ring) */
	fm_model_federation *fed;  /* talks to the aggregator, if any */
	fm_status_live *live;      /* counters for control and /metrics */
	fm_status_journal *journal; /* alarms and problems, as they change */
	int fed_start_error;        /* federation failed to start: -errno */
	fm_collect_sampler *sampler;
	fm_act *actions;         /* acts on the predictions */
	fm_status_control *control; /* fedmonctl's socket */
	fm_net_http *http;       /* /metrics */
	fm_status_view view;     /* what control and /metrics read */
	char metrics_url[FM_AGENT_PATH_BYTES + 32];
	char control_path[FM_AGENT_PATH_BYTES + 32];
	uint64_t watchdog_usec;  /* 0: no watchdog */
	int64_t watchdog_next_ns;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: fedmon-agent [OPTIONS]\n"
	    "\n"
	    "Samples this host every second and learns what normal looks "
	    "like.\n"
	    "\n"
	    "  -c, --config FILE      configuration (default %s)\n"
	    "      --state-dir DIR    override [agent] state_dir\n"
	    "      --runtime-dir DIR  override [agent] runtime_dir\n"
	    "      --procfs DIR       override [collect] procfs (tests)\n"
	    "      --log-level LEVEL  err, warning, notice, info, debug\n"
	    "      --once             take one sample over one interval, "
	    "print it, exit\n"
	    "      --json             with --once: print it as JSON\n"
	    "      --print            print a summary line every sample\n"
	    "      --duration SECS    stop after SECS seconds\n"
	    "      --list-features    print name<TAB>unit<TAB>description\n"
	    "      --dump-config      print the effective configuration "
	    "(the file,\n"
	    "                         its drop-ins FILE.d/*.conf, the flags "
	    "and the\n"
	    "                         defaults) as an INI file, exit\n"
	    "      --may-restart UNIT exit 0 if a restart rule names UNIT, 1 "
	    "if not,\n"
	    "                         2 if the configuration is unreadable "
	    "or broken\n"
	    "                         (asked by the packaged polkit rule)\n"
	    "  -h, --help             this help\n"
	    "      --version          print the version\n",
	    DEFAULT_CONFIG);
}

static int
parse_args(int argc, char **argv, struct options *o)
{
	enum {
		OPT_STATE = 256,
		OPT_RUNTIME,
		OPT_PROCFS,
		OPT_LOGLEVEL,
		OPT_ONCE,
		OPT_JSON,
		OPT_PRINT,
		OPT_DURATION,
		OPT_LIST,
		OPT_MAY_RESTART,
		OPT_DUMP,
		OPT_VERSION,
	};
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "runtime-dir", required_argument, NULL, OPT_RUNTIME },
		{ "procfs", required_argument, NULL, OPT_PROCFS },
		{ "log-level", required_argument, NULL, OPT_LOGLEVEL },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "print", no_argument, NULL, OPT_PRINT },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "list-features", no_argument, NULL, OPT_LIST },
		{ "may-restart", required_argument, NULL, OPT_MAY_RESTART },
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
			o->state_dir = optarg;
			break;
		case OPT_RUNTIME:
			o->runtime_dir = optarg;
			break;
		case OPT_PROCFS:
			o->procfs = optarg;
			break;
		case OPT_LOGLEVEL:
			if (fm_log_level_from_string(optarg) < LOG_ERR) {
				fprintf(stderr,
				    "fedmon-agent: invalid --log-level '%s'\n",
				    optarg);
				return -EINVAL;
			}
			o->log_level = optarg;
			break;
		case OPT_ONCE:
			o->once = true;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_PRINT:
			o->print = true;
			break;
		case OPT_DURATION:
			if (fm_parse_u64_range(
			        optarg, 1, 315360000, &o->duration_s) < 0) {
				fprintf(stderr,
				    "fedmon-agent: invalid --duration '%s' "
				    "(expected whole seconds)\n",
				    optarg);
				return -EINVAL;
			}
			break;
		case OPT_LIST:
			o->list = true;
			break;
		case OPT_MAY_RESTART:
			o->may_restart = optarg;
			break;
		case OPT_DUMP:
			o->dump = true;
			break;
		case 'h':
			usage(stdout);
			exit(EXIT_SUCCESS);
		case OPT_VERSION:
			printf("fedmon-agent %s\n", FM_VERSION);
			exit(EXIT_SUCCESS);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fedmon-agent: unexpected argument '%s'\n",
		    argv[optind]);
		return -EINVAL;
	}
	if (o->json && !o->once) {
		fprintf(stderr, "fedmon-agent: --json needs --once\n");
		return -EINVAL;
	}
	return 0;
}

/* Loads the configuration: built-in defaults, then the file, then flags.
 * Returns 0 or -EINVAL (reported, and said in err[FM_INI_ERROR_BYTES]). */
static int
load_config(const struct options *o, fm_agent_config *cfg,
    const char **ret_path, char *err)
{
	const char *path = o->config;
	int r;

	fm_agent_config_init(cfg);
	if (!path && access(DEFAULT_CONFIG, F_OK) == 0)
		path = DEFAULT_CONFIG;
	if (path) {
		r = fm_agent_config_load(cfg, path, err);
		if (r < 0) {
			fm_log(
			    LOG_ERR, "Failed to load configuration: %s", err);
			return -EINVAL;
		}
	}
	if (o->state_dir &&
	    fm_strlcpy(cfg->state_dir, o->state_dir, sizeof(cfg->state_dir)) <
	        0)
		goto out_long;
	if (o->runtime_dir &&
	    fm_strlcpy(
	        cfg->runtime_dir, o->runtime_dir, sizeof(cfg->runtime_dir)) < 0)
		goto out_long;
	if (o->procfs &&
	    fm_strlcpy(cfg->procfs, o->procfs, sizeof(cfg->procfs)) < 0)
		goto out_long;
	if (o->log_level)
		cfg->log_level = fm_log_level_from_string(o->log_level);
	r = fm_agent_config_check(cfg, err);
	if (r < 0) {
		fm_log(LOG_ERR, "Invalid configuration %s: %s",
		    path ? path : "(defaults)", err);
		return -EINVAL;
	}
	*ret_path = path;
	return 0;
out_long:
	snprintf(err, FM_INI_ERROR_BYTES,
	    "a directory given on the command line is longer than %d bytes",
	    FM_AGENT_PATH_BYTES - 1);
	fm_log(LOG_ERR,
	    "A directory given on the command line is longer "
	    "than %d bytes.",
	    FM_AGENT_PATH_BYTES - 1);
	return -EINVAL;
}

/* --dump-config: the configuration as loaded, as an INI file. */
static int
dump_config(const struct run *run)
{
	char err[FM_INI_ERROR_BYTES];
	int r;

	printf("# fedmon-agent %s --dump-config: the effective configuration\n",
	    FM_VERSION);
	if (run->config_path)
		printf("# (%.900s, then %.900s.d/*.conf, then the flags, over "
		       "the defaults)\n",
		    run->config_path, run->config_path);
	else
		printf("# (no file: the flags over the defaults)\n");
	r = fm_agent_config_dump(&run->cfg, stdout, err);
	if (r < 0) {
		fm_log(LOG_ERR, "Failed to print the configuration: %s", err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

static void
list_features(void)
{
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		const fm_collect_feature_info *f = fm_collect_feature_get(i);

		printf("%s\t%s\t%s\n", f->name, f->unit, f->description);
	}
}

static void
print_json(const fm_collect_sample *s)
{
	printf("{\"schema\": %d, \"timestamp\": %.3f, \"features\": {",
	    FM_COLLECT_SCHEMA_VERSION, (double)s->real_ns / 1e9);
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		printf("%s\"%s\": ", i ? ", " : "",
		    fm_collect_feature_get(i)->name);
		if (fm_collect_feature_is_masked(s->v[i]))
			printf("null");
		else
			printf("%.6g", (double)s->v[i]);
	}
	printf("}}\n");
}

static void
print_table(const fm_collect_sample *s)
{
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		const fm_collect_feature_info *f = fm_collect_feature_get(i);

		if (fm_collect_feature_is_masked(s->v[i]))
			printf("%-24s %12s  %s\n", f->name, "-", f->unit);
		else
			printf("%-24s %12.6g  %s\n", f->name, (double)s->v[i],
			    f->unit);
	}
}

/* Undoes log1p for display; masked stays NAN. */
static double
unlog(float v)
{
	return fm_collect_feature_is_masked(v) ? NAN : expm1((double)v);
}

static double
pct(float v)
{
	return fm_collect_feature_is_masked(v) ? NAN : 100.0 * (double)v;
}

/* Formats v with the given decimals into buf, or "-" when masked. */
static const char *
fmt_value(char *buf, size_t size, int decimals, double v)
{
	if (isnan(v))
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.*f", decimals, v);
	return buf;
}

static void
on_sample_print(void *userdata, const fm_collect_sample *s)
{
	const float *v = s->v;
	char b[13][24];

	(void)userdata;
	printf("cpu %s%% busiest %s%%  load/core %s  mem %s%%  "
	       "disk r/w %s/%s kB/s  net rx/tx %s/%s kB/s  "
	       "psi cpu/mem/io %s/%s/%s%%  fs %s%%  procs %s",
	    fmt_value(b[0], 24, 1, 100.0 - pct(v[FM_F_CPU_IDLE])),
	    fmt_value(b[1], 24, 1, pct(v[FM_F_CPU_BUSIEST])),
	    fmt_value(b[2], 24, 2, (double)v[FM_F_LOAD_1]),
	    fmt_value(b[3], 24, 1, pct(v[FM_F_MEM_USED])),
	    fmt_value(b[4], 24, 1, unlog(v[FM_F_DISK_READ_BYTES]) / 1e3),
	    fmt_value(b[5], 24, 1, unlog(v[FM_F_DISK_WRITE_BYTES]) / 1e3),
	    fmt_value(b[6], 24, 1, unlog(v[FM_F_NET_RX_BYTES]) / 1e3),
	    fmt_value(b[7], 24, 1, unlog(v[FM_F_NET_TX_BYTES]) / 1e3),
	    fmt_value(b[8], 24, 1, pct(v[FM_F_PSI_CPU_SOME])),
	    fmt_value(b[9], 24, 1, pct(v[FM_F_PSI_MEM_SOME])),
	    fmt_value(b[10], 24, 1, pct(v[FM_F_PSI_IO_SOME])),
	    fmt_value(b[11], 24, 1, pct(v[FM_F_FS_FULLEST])),
	    fmt_value(b[12], 24, 0, unlog(v[FM_F_PROC_COUNT])));
}

/* The learner's verdict on the last sample, for --print. */
static void
print_verdict(fm_model_learner *l)
{
	fm_model_learner_status st;

	fm_model_learner_status_get(l, &st);
	if (!st.ready) {
		printf("  learning (%u samples kept%s)\n", st.rows_held,
		    st.training ? ", training" : "");
		return;
	}
	printf("  score %.2f / %.2f%s", (double)st.score,
	    (double)st.threshold, st.alarm ? "  ALARM:" : "");
	for (uint32_t i = 0; st.alarm && i < st.n_top && i < 3; i++)
		printf(" %s", fm_collect_feature_get(st.top[i])->name);
	printf("\n");
}

static bool
sample_is_empty(const fm_collect_sample *s)
{
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		if (!fm_collect_feature_is_masked(s->v[i]))
			return false;
	return true;
}

/* The daemon's per-sample work: labels, the models, then the actions. */
static void
on_sample_daemon(void *userdata, const fm_collect_sample *s)
{
	struct run *run = userdata;
	uint32_t onsets = 0;

	if (run->labels)
		onsets = fm_model_labels_on_sample(run->labels, s);
	if (run->learner)
		fm_model_learner_on_sample(run->learner, s, onsets);
	else
		(void)fm_model_history_push(run->history, s, NAN, onsets);
	fm_status_live_on_sample(run->live, s, sample_is_empty(s),
	    fm_collect_sampler_failing(run->sampler));
	fm_status_journal_on_sample(run->journal, &run->view, s->real_ns);
	if (run->actions && run->learner) {
		fm_model_learner_status st;
		fm_act_input in;

		fm_model_learner_status_get(run->learner, &st);
		fm_act_input_from_learner(&st, s->mono_ns, s->real_ns, &in);
		fm_act_on_sample(run->actions, &in);
	}
	if (run->opt->print) {
		on_sample_print(run, s);
		if (run->learner)
			print_verdict(run->learner);
		else
			printf("\n");
		fflush(stdout);
	}
}

static void
on_sample_keep(void *userdata, const fm_collect_sample *s)
{
	struct run *run = userdata;

	run->last = *s;
}

/* Re-reads the configuration on SIGHUP. A broken file keeps the running
 * configuration; what a reload applies is the key table's
 * (fm_agent_config_apply_reload()), the keys that need a restart are
 * named. */
static void
reload(struct run *run)
{
	char restart[512], err[FM_INI_ERROR_BYTES];
	fm_agent_config next;
	const char *path;
	unsigned n;

	fm_notify("RELOADING=1");
	if (load_config(run->opt, &next, &path, err) < 0) {
		fm_status_live_on_reload(run->live, err);
		fm_log(LOG_WARNING,
		    "Keeping the running configuration, ignoring.");
		fm_notify("READY=1\nSTATUS=Reload failed: kept the "
				"running configuration");
		return;
	}
	if (run->actions) {
		int r = fm_act_reload(run->actions, next.rules, next.n_rules,
		    next.actions_systemctl, next.actions_dry_run);

		if (r < 0) {
			snprintf(err, sizeof(err),
			    "failed to apply the new action rules: %s",
			    strerror(-r));
			fm_status_live_on_reload(run->live, err);
			fm_log_errno(LOG_WARNING, r,
			    "Failed to apply the new action rules, keeping "
			    "the running ones");
			fm_notify("READY=1");
			return;
		}
	}
	fm_status_live_on_reload(run->live, NULL);
	n = fm_agent_config_apply_reload(
	    &run->cfg, &next, restart, sizeof(restart));
	fm_log_set_max_level(run->cfg.log_level);
	if (n > 0)
		fm_log(LOG_NOTICE,
		    "Configuration reloaded (log level, [actions] and the "
		    "[action NAME] rules applied); changes to %s take effect "
		    "at the next restart.",
		    restart);
	else
		fm_log(LOG_INFO, "Configuration reloaded.");
	fm_notify("READY=1");
}

/* Pings systemd's watchdog from the sampling loop, at half its period: a
 * loop that stops sampling stops pinging. */
static void
watchdog_ping(struct run *run)
{
	int64_t now;

	if (!run->watchdog_usec)
		return;
	now = fm_time_mono_ns();
	if (now < run->watchdog_next_ns)
		return;
	fm_notify("WATCHDOG=1");
	run->watchdog_next_ns =
	    now + (int64_t)(run->watchdog_usec / 2) * FM_NSEC_PER_USEC;
}

static bool
keep_running(void *userdata)
{
	struct run *run = userdata;

	if (fm_signals_take_reload())
		reload(run);
	watchdog_ping(run);
	return !fm_signals_stop_requested();
}

/* Starts federating when an aggregator is configured. A failure (no key
 * file, say) is logged and the agent goes on standalone: monitoring
 * must not stop because federation cannot start. */
static void
start_federation(struct run *run)
{
	fm_model_federation_config fcfg;
	fm_model_federation_model m;
	int r;

	if (!run->cfg.fed_aggregator[0]) {
		fm_log(LOG_INFO, "No aggregator configured: learning "
				 "standalone");
		return;
	}
	fm_agent_config_federation(&run->cfg, &fcfg);
	fm_model_learner_fed_model(run->learner, &m);
	r = fm_model_federation_new(&fcfg, &m, true, &run->fed);
	if (r < 0) {
		/* the key file, or the sequence lease beside the state */
		run->fed_start_error = fm_log_errno(LOG_ERR, r,
		    "Failed to start federating with '%s' (key file '%s', "
		    "sequence lease '%s%s'), learning standalone",
		    fcfg.url, fcfg.key_file, fcfg.state_dir,
		    fcfg.state_dir[0] ? "/fed.seq" : "(none)");
		return;
	}
	fm_log(LOG_INFO, "Federating with aggregator '%s'", fcfg.url);
}

/* /metrics: renders on one of NNG's threads from the parts' thread-safe
 * getters. */
static int
render_metrics(void *userdata, char **ret_body, size_t *ret_len)
{
	const struct run *run = userdata;

	return fm_status_metrics_render(&run->view, ret_body, ret_len);
}

/* The control socket's group: control_group, or the process's own. */
static gid_t
control_gid(const char *name)
{
	struct group gr, *found = NULL;
	char buf[4096];
	int r;

	if (!name[0])
		return (gid_t)-1;
	r = getgrnam_r(name, &gr, buf, sizeof(buf), &found);
	if (r != 0 || !found) {
		fm_log_errno(LOG_WARNING, r ? -r : -ENOENT,
		    "Failed to find group '%s' for the control socket, "
		    "keeping the agent's own",
		    name);
		return (gid_t)-1;
	}
	return gr.gr_gid;
}

/*
 * Starts what reads the running agent: /metrics and the control socket.
 * Neither is needed to monitor, so a failure is logged and the agent goes
 * on without it (fedmonctl then reports the agent unreachable).
 */
static void
start_interfaces(struct run *run)
{
	const fm_agent_config *cfg = &run->cfg;
	int r;

	run->view = (fm_status_view) {
		.live = run->live,
		.learner = run->learner,
		.labels = run->labels,
		.fed = run->fed,
		.actions = run->actions,
		.missing = fm_collect_sampler_missing(run->sampler),
		.interval_ms = cfg->interval_ms,
		.min_train_rows =
		    (uint32_t)((uint64_t)cfg->learn_min_train_seconds * 1000 /
		        cfg->interval_ms),
		.aggregator = run->fed ? cfg->fed_aggregator : "",
		.fed_start_error = run->fed_start_error,
		.fed_url = cfg->fed_aggregator,
		.metrics_url = run->metrics_url,
		.metrics_listen = cfg->metrics_listen,
		.state_dir = cfg->state_dir,
		.config_path = run->config_path ? run->config_path : "",
	};
	if (cfg->metrics_listen[0]) {
		r = fm_net_http_serve(cfg->metrics_listen, "/metrics",
		    FM_NET_PROMETHEUS_CONTENT_TYPE, render_metrics, run,
		    &run->http);
		if (r < 0)
			run->view.metrics_error = fm_log_errno(LOG_ERR, r,
			    "Failed to serve /metrics on '%s', going on "
			    "without",
			    cfg->metrics_listen);
		else {
			const char *colon = strrchr(cfg->metrics_listen, ':');
			int host_len = (int)(colon - cfg->metrics_listen);

			snprintf(run->metrics_url, sizeof(run->metrics_url),
			    "http://%.*s:%u/metrics", host_len,
			    cfg->metrics_listen,
			    (unsigned)fm_net_http_port(run->http));
			fm_log(LOG_INFO, "Serving metrics on %s",
			    run->metrics_url);
		}
	}
	snprintf(run->control_path, sizeof(run->control_path), "%s/%s",
	    cfg->runtime_dir, FM_STATUS_CONTROL_SOCKET);
	r = fm_status_control_new(run->control_path,
	    control_gid(cfg->control_group), &run->view, &run->control);
	if (r < 0)
		fm_log_errno(LOG_ERR, r,
		    "Failed to open the control socket '%s', going on "
		    "without: fedmonctl cannot reach this agent",
		    run->control_path);
}

static int
run_daemon(struct run *run)
{
	const fm_agent_config *cfg = &run->cfg;
	fm_collect_sampler_config scfg;
	fm_model_labels_config lcfg;
	fm_model_learner_config learner_cfg;
	fm_collect_sampler *sampler = NULL;
	fm_loop_stats stats;
	fm_loop_hooks hooks = {
		.on_sample = on_sample_daemon,
		.keep_running = keep_running,
		.userdata = run,
	};
	uint64_t max_ticks = 0;
	uint32_t minutes;
	int r;

	if (!run->opt->once) {
		r = fm_file_mkdir_p(cfg->state_dir, 0750);
		if (r < 0)
			return fm_log_errno(LOG_ERR, r,
			    "Failed to create state directory '%s'",
			    cfg->state_dir);
		r = fm_file_mkdir_p(cfg->runtime_dir, 0755);
		if (r < 0)
			return fm_log_errno(LOG_ERR, r,
			    "Failed to create runtime directory '%s'",
			    cfg->runtime_dir);
	}
	fm_collect_sampler_config_init(&scfg);
	scfg.procfs = cfg->procfs;
	scfg.fs_network = cfg->fs_network;
	scfg.fs_refresh_ms = cfg->fs_refresh_ms;
	scfg.fs_stale_ms = cfg->fs_stale_ms;
	/* --once reads twice: every source both times. */
	scfg.slow_every = run->opt->once ? 1 : cfg->slow_every;
	r = fm_collect_sampler_new(&scfg, &sampler);
	if (r < 0)
		return fm_log_errno(LOG_ERR, r,
		    "Failed to open the host's metrics under '%s'",
		    cfg->procfs);
	run->sampler = sampler;

	if (run->opt->once) {
		/* Two reads one interval apart: rates need an interval. */
		hooks.on_sample = on_sample_keep;
		r = fm_loop_run(sampler, cfg->interval_ms, 2, &hooks, &stats);
		if (r < 0)
			goto out;
		if (fm_signals_stop_requested()) {
			r = -EINTR;
			goto out;
		}
		if (run->opt->json)
			print_json(&run->last);
		else
			print_table(&run->last);
		goto out;
	}

	if (cfg->history_raw_seconds)
		fm_log(LOG_WARNING,
		    "[history] raw_seconds is deprecated: the agent keeps no "
		    "raw samples, ignoring.");
	/* the minute ring: as configured, and what the learner needs */
	fm_agent_config_learner(cfg, &learner_cfg);
	minutes = cfg->history_minutes;
	if (cfg->learn_enabled &&
	    minutes < fm_model_learner_minutes(&learner_cfg))
		minutes = fm_model_learner_minutes(&learner_cfg);
	r = fm_model_history_new(minutes, &run->history);
	if (r < 0) {
		fm_log_errno(LOG_ERR, r, "Failed to allocate the history");
		goto out;
	}
	fm_agent_config_labels(cfg, &lcfg);
	r = fm_model_labels_new(&lcfg, &run->labels);
	if (r < 0) {
		fm_log_errno(LOG_ERR, r, "Failed to start the failure labels");
		goto out;
	}
	if (cfg->learn_enabled) {
		r = fm_model_learner_new(
		    &learner_cfg, run->history, &run->learner);
		if (r < 0) {
			fm_log_errno(LOG_ERR, r, "Failed to start learning");
			goto out;
		}
	}
	if (run->learner)
		start_federation(run);
	if (run->learner) {
		r = fm_act_new(cfg->rules, cfg->n_rules, cfg->actions_systemctl,
		    cfg->actions_dry_run, &run->actions);
		if (r < 0) {
			fm_log_errno(LOG_ERR, r, "Failed to start the actions");
			goto out;
		}
	} else if (cfg->n_rules)
		fm_log(LOG_WARNING,
		    "[learn] enabled = no: the %u action rules have no "
		    "predictions to act on, ignoring.",
		    cfg->n_rules);
	r = fm_status_live_new(&run->live);
	if (r < 0)
		goto out;
	r = fm_status_journal_new(&run->journal);
	if (r < 0)
		goto out;
	start_interfaces(run);
	if (run->opt->duration_s)
		max_ticks = run->opt->duration_s * 1000 / cfg->interval_ms;
	fm_log(LOG_INFO,
	    "fedmon-agent %s sampling every %u ms (%u features, schema %d), "
	    "config %s, state %s",
	    FM_VERSION, cfg->interval_ms, FM_FEATURE_COUNT,
	    FM_COLLECT_SCHEMA_VERSION,
	    run->config_path ? run->config_path : "(built-in defaults)",
	    cfg->state_dir);
	run->watchdog_usec = fm_notify_watchdog_usec();
	fm_notify("READY=1\nSTATUS=Sampling");
	r = fm_loop_run(sampler, cfg->interval_ms, max_ticks, &hooks, &stats);
	fm_log(LOG_INFO,
	    "Stopping after %llu samples (%llu missed deadlines, worst "
	    "wake-up %.1f ms late).",
	    (unsigned long long)stats.ticks, (unsigned long long)stats.missed,
	    (double)stats.max_lateness_ns / 1e6);
	fm_notify("STOPPING=1\nSTATUS=Saving the models");
out:
	/* the readers of the parts first */
	run->control = fm_status_control_free(run->control);
	run->http = fm_net_http_free(run->http);
	run->actions = fm_act_free(run->actions);
	run->fed = fm_model_federation_free(run->fed);
	/* the learner saves its models on the way out */
	run->learner = fm_model_learner_free(run->learner);
	run->labels = fm_model_labels_free(run->labels);
	run->history = fm_model_history_free(run->history);
	run->live = fm_status_live_free(run->live);
	run->journal = fm_status_journal_free(run->journal);
	run->sampler = fm_collect_sampler_free(sampler);
	return r;
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct run run = { .opt = &opt };
	char err[FM_INI_ERROR_BYTES];
	int r;

	if (parse_args(argc, argv, &opt) < 0)
		return EXIT_USAGE;
	if (opt.list) {
		list_features();
		return EXIT_SUCCESS;
	}
	if (opt.may_restart) {
		fm_log_set_max_level(LOG_ERR);
		if (load_config(&opt, &run.cfg, &run.config_path, err) < 0)
			return EXIT_USAGE;
		return fm_agent_config_may_restart(&run.cfg, opt.may_restart)
		           ? EXIT_SUCCESS
		           : EXIT_FAILURE;
	}
	if (load_config(&opt, &run.cfg, &run.config_path, err) < 0)
		return EXIT_USAGE;
	if (opt.dump)
		return dump_config(&run);
	fm_log_set_max_level(run.cfg.log_level);
	r = fm_signals_install();
	if (r < 0)
		return fm_log_errno(LOG_ERR, r,
		           "Failed to install signal "
		           "handlers"),
		       EXIT_FAILURE;
	/* the models train on a thread of their own, at idle priority */
	fm_learn_blas_single_thread();
	r = run_daemon(&run);
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
