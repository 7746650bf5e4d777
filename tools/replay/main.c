/*
 * fedmon-replay: trains the detector on a CSV file as the agent would on
 * its history, then scores another CSV file row by row, causally, and
 * prints one "SCORE,ALARM" line per row; or (--agent) runs the agent's
 * own learning loop over a recorded run (agent.c). The contract (flags, output,
 * exit status) is relied on by other tools; see README.md, "fedmon-replay",
 * and fedmon-replay(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "fm-config.h"
#include "learn/learn.h"
#include "tools/replay/csv.h"
#include "tools/replay/replay.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: fedmon-replay --train TRAIN --test TEST "
	    "[--rows-per-day N] [--seed N]\n"
	    "       fedmon-replay --federate CLIENTS --out DIR "
	    "[--mode federated|local|pooled]\n"
	    "                     [--rounds R] [--rows-per-day N] [--seed "
	    "N]\n"
	    "                     [--failures FILE [--horizon H]]\n"
	    "       fedmon-replay --agent FILE [--config AGENT_CONF] "
	    "[--out FILE]\n"
	    "                     [--adopt recorded|next]\n"
	    "\n"
	    "Trains the anomaly detector on TRAIN, then scores TEST row by "
	    "row, causally,\n"
	    "printing one SCORE,ALARM line per TEST row on stdout. Files "
	    "hold rows of\n"
	    "comma-separated floats without a header.\n"
	    "\n"
	    "With --federate, each client of CLIENTS (lines "
	    "NAME<TAB>TRAIN<TAB>TEST[<TAB>MAX_TRAIN_ROWS])\n"
	    "trains on its TRAIN (its first MAX_TRAIN_ROWS rows if given) "
	    "and scores its\n"
	    "TEST into DIR/NAME.scores. federated: through the real "
	    "aggregator and agent\n"
	    "code, sealed updates over NNG inproc; local: each client "
	    "alone; pooled: one\n"
	    "model on every client's rows (a reference only: it breaks "
	    "privacy).\n"
	    "\n"
	    "  --train FILE        training rows (unlabelled)\n"
	    "  --test FILE         rows to score\n"
	    "  --rows-per-day N    sampling rate (default 1440: one row a "
	    "minute)\n"
	    "  --seed N            training seed (default 1); the same seed "
	    "gives the\n"
	    "                      same output on the same machine\n"
	    "  --federate FILE     the clients file\n"
	    "  --out DIR           where NAME.scores go (created if "
	    "missing)\n"
	    "  --mode MODE         federated (default), local or pooled\n"
	    "  --rounds R          federated rounds (default 3)\n"
	    "  --failures FILE     lines NAME<TAB>ROWS<TAB>EVENTS: a client's "
	    "labelled\n"
	    "                      history (rows before TEST, one 0/1 a line "
	    "in EVENTS);\n"
	    "                      its failure predictor learns from it, "
	    "federated in\n"
	    "                      federated mode, and writes "
	    "DIR/NAME.failures\n"
	    "  --horizon H         rows ahead the predictor looks (default "
	    "30)\n"
	    "\n"
	    "With --agent, FILE is a run recorded by fedmonctl watch --csv "
	    "(columns by\n"
	    "name: time, sample, trainings, the features, events_SOURCE; "
	    "others ignored,\n"
	    "missing features masked). The agent's own learner (retention, "
	    "retraining\n"
	    "schedule, warm-up, minute ring, failure predictors, labels) "
	    "runs over it,\n"
	    "training on this thread, and writes one row per sample with "
	    "watch's\n"
	    "columns (time, sample, ready, score, threshold, alarm, alarms, "
	    "trainings,\n"
	    "top_features, p_SOURCE, events_SOURCE) to --out FILE or "
	    "stdout, and a\n"
	    "summary on stderr. Samples the recording missed are filled "
	    "in with the one\n"
	    "before. Nothing is read from or written to the agent's state "
	    "directory.\n"
	    "  --agent FILE        the recorded run\n"
	    "  --config FILE       the agent.conf it ran with ([agent] "
	    "interval_ms,\n"
	    "                      [history], [labels], [learn]; default: "
	    "the built-in\n"
	    "                      defaults)\n"
	    "  --adopt WHEN        recorded (default): a training's models "
	    "score from the\n"
	    "                      row where the recording's trainings "
	    "counter rose, as\n"
	    "                      the agent's training thread took that "
	    "long; next: from\n"
	    "                      the next row, as a training that takes "
	    "no time\n"
	    "  --out FILE          (with --agent) the rows' file\n"
	    "  -h, --help          this text\n"
	    "  --version           the version\n"
	    "\n"
	    "Exit status: 0 success, 1 runtime failure (training, federation,\n"
	    "writing the scores), 2 bad flag or malformed input.\n");
}

int
fm_replay_read_csv(const char *path, fm_replay_csv **ret)
{
	fm_replay_csv_error err = { 0 };
	int r;

	r = fm_replay_csv_read_file(path, &err, ret);
	if (r == 0)
		return 0;
	if (r == -ENODATA)
		fprintf(stderr, "%s:1: no rows (the file is empty)\n", path);
	else if (err.line > 0)
		fprintf(stderr, "%s:%llu: %s\n", path,
		    (unsigned long long)err.line, err.why);
	else if (err.why[0])
		fprintf(stderr, "%s:0: %s\n", path, err.why);
	else
		fprintf(stderr, "%s:0: cannot read: %s\n", path, strerror(-r));
	return r;
}

typedef struct replay_args {
	const char *train;
	const char *test;
	uint32_t rows_per_day;
	uint64_t seed;
	bool mode_set, rounds_set, horizon_set, rpd_set, seed_set;
	replay_fed_args fed; /* fed.clients set: --federate */
	replay_agent_args agent; /* agent.file set: --agent */
	bool adopt_set;
} replay_args;

/* Parses argv; returns 0, 1 (help or version printed) or -EINVAL. */
static int
parse_args(int argc, char **argv, replay_args *a)
{
	enum {
		OPT_TRAIN = 256,
		OPT_TEST,
		OPT_RPD,
		OPT_SEED,
		OPT_VERSION,
		OPT_FEDERATE,
		OPT_OUT,
		OPT_MODE,
		OPT_ROUNDS,
		OPT_FAILURES,
		OPT_HORIZON,
		OPT_AGENT,
		OPT_CONFIG,
		OPT_ADOPT,
	};
	static const struct option opts[] = {
		{ "train", required_argument, NULL, OPT_TRAIN },
		{ "test", required_argument, NULL, OPT_TEST },
		{ "federate", required_argument, NULL, OPT_FEDERATE },
		{ "out", required_argument, NULL, OPT_OUT },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "failures", required_argument, NULL, OPT_FAILURES },
		{ "horizon", required_argument, NULL, OPT_HORIZON },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "adopt", required_argument, NULL, OPT_ADOPT },
		{ "rows-per-day", required_argument, NULL, OPT_RPD },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ 0 },
	};
	uint64_t v;
	int c;

	*a = (replay_args) {
		.rows_per_day = 1440,
		.seed = 1,
		.fed = { .mode = REPLAY_FEDERATED,
		    .rounds = REPLAY_ROUNDS_DEFAULT,
		    .horizon = REPLAY_HORIZON_DEFAULT },
		.agent = { .adopt = REPLAY_ADOPT_RECORDED },
	};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_TRAIN:
			a->train = optarg;
			break;
		case OPT_TEST:
			a->test = optarg;
			break;
		case OPT_RPD:
			if (fm_parse_u64_range(optarg, 1, 86400000, &v) < 0) {
				fprintf(stderr,
				    "fedmon-replay: --rows-per-day wants an "
				    "integer from 1 to 86400000, not '%s'\n",
				    optarg);
				return -EINVAL;
			}
			a->rows_per_day = (uint32_t)v;
			a->rpd_set = true;
			break;
		case OPT_SEED:
			if (fm_parse_u64(optarg, &v) < 0) {
				fprintf(stderr,
				    "fedmon-replay: --seed wants an unsigned "
				    "integer, not '%s'\n",
				    optarg);
				return -EINVAL;
			}
			a->seed = v;
			a->seed_set = true;
			break;
		case OPT_FEDERATE:
			a->fed.clients = optarg;
			break;
		case OPT_OUT:
			a->fed.out = optarg;
			break;
		case OPT_MODE:
			a->mode_set = true;
			if (strcmp(optarg, "federated") == 0)
				a->fed.mode = REPLAY_FEDERATED;
			else if (strcmp(optarg, "local") == 0)
				a->fed.mode = REPLAY_LOCAL;
			else if (strcmp(optarg, "pooled") == 0)
				a->fed.mode = REPLAY_POOLED;
			else {
				fprintf(stderr,
				    "fedmon-replay: --mode wants federated, "
				    "local or pooled, not '%s'\n",
				    optarg);
				return -EINVAL;
			}
			break;
		case OPT_ROUNDS:
			if (fm_parse_u64_range(optarg, 1, 10000, &v) < 0) {
				fprintf(stderr,
				    "fedmon-replay: --rounds wants an integer "
				    "from 1 to 10000, not '%s'\n",
				    optarg);
				return -EINVAL;
			}
			a->rounds_set = true;
			a->fed.rounds = v;
			break;
		case OPT_FAILURES:
			a->fed.failures = optarg;
			break;
		case OPT_HORIZON:
			if (fm_parse_u64_range(optarg, 1, 100000, &v) < 0) {
				fprintf(stderr,
				    "fedmon-replay: --horizon wants an integer "
				    "from 1 to 100000, not '%s'\n",
				    optarg);
				return -EINVAL;
			}
			a->horizon_set = true;
			a->fed.horizon = (uint32_t)v;
			break;
		case OPT_AGENT:
			a->agent.file = optarg;
			break;
		case OPT_CONFIG:
			a->agent.config = optarg;
			break;
		case OPT_ADOPT:
			a->adopt_set = true;
			if (strcmp(optarg, "recorded") == 0)
				a->agent.adopt = REPLAY_ADOPT_RECORDED;
			else if (strcmp(optarg, "next") == 0)
				a->agent.adopt = REPLAY_ADOPT_NEXT;
			else {
				fprintf(stderr,
				    "fedmon-replay: --adopt wants recorded or "
				    "next, not '%s'\n",
				    optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			printf("fedmon-replay %s\n", FM_VERSION);
			return 1;
		default:
			if (optopt)
				fprintf(stderr,
				    "fedmon-replay: bad or incomplete flag "
				    "'%s'\n",
				    argv[optind - 1]);
			else
				fprintf(stderr,
				    "fedmon-replay: unknown flag '%s'\n",
				    argv[optind - 1]);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fedmon-replay: unexpected argument '%s'\n",
		    argv[optind]);
		return -EINVAL;
	}
	a->fed.rows_per_day = a->rows_per_day;
	a->fed.seed = a->seed;
	if (a->agent.file) {
		if (a->train || a->test || a->fed.clients || a->mode_set ||
		    a->rounds_set || a->fed.failures || a->horizon_set ||
		    a->rpd_set || a->seed_set) {
			fprintf(stderr,
			    "fedmon-replay: --agent takes only --config, "
			    "--out and --adopt (the agent.conf sets the "
			    "rest)\n");
			return -EINVAL;
		}
		a->agent.out = a->fed.out;
		return 0;
	}
	if (a->agent.config || a->adopt_set) {
		fprintf(stderr,
		    "fedmon-replay: --config and --adopt go with --agent\n");
		return -EINVAL;
	}
	if (a->fed.clients) {
		if (a->train || a->test) {
			fprintf(stderr, "fedmon-replay: --federate takes no "
					"--train or --test (the clients file "
					"names them)\n");
			return -EINVAL;
		}
		if (!a->fed.out) {
			fprintf(stderr,
			    "fedmon-replay: --federate needs "
			    "--out DIR\n");
			return -EINVAL;
		}
		if (a->horizon_set && !a->fed.failures) {
			fprintf(stderr,
			    "fedmon-replay: --horizon goes with "
			    "--failures\n");
			return -EINVAL;
		}
		return 0;
	}
	if (a->fed.out || a->mode_set || a->rounds_set || a->fed.failures ||
	    a->horizon_set) {
		fprintf(stderr,
		    "fedmon-replay: --out, --mode, --rounds, "
		    "--failures and --horizon go with --federate\n");
		return -EINVAL;
	}
	if (!a->train || !a->test) {
		fprintf(stderr, "fedmon-replay: --train and --test are "
				"required\n");
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	fm_replay_csv *train = NULL, *test = NULL;
	fm_learn_detector_config cfg;
	fm_learn_detector *det = NULL;
	fm_learn_verdict v;
	replay_args a;
	int r, status = EXIT_FAILURE;

	r = parse_args(argc, argv, &a);
	if (r != 0)
		return r > 0 ? EXIT_SUCCESS : EXIT_USAGE;
	fm_learn_blas_single_thread();
	if (a.agent.file) {
		/* the learner and the labels narrate their decisions */
		fm_log_set_max_level(LOG_WARNING);
		return fm_replay_agent(&a.agent);
	}
	if (a.fed.clients) {
		/* the agent and aggregator code narrate every round */
		fm_log_set_max_level(LOG_WARNING);
		return fm_replay_federate(&a.fed);
	}
	if (fm_replay_read_csv(a.train, &train) < 0 ||
	    fm_replay_read_csv(a.test, &test) < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	if (test->cols != train->cols) {
		fprintf(stderr,
		    "%s:1: %zu fields a row, but the training file '%s' has "
		    "%zu\n",
		    a.test, test->cols, a.train, train->cols);
		status = EXIT_USAGE;
		goto out;
	}
	if (train->cols > FM_LEARN_DETECTOR_MAX_FEATURES) {
		fprintf(stderr, "%s:1: %zu fields a row, more than the %u "
				"the detector takes\n",
		    a.train, train->cols, FM_LEARN_DETECTOR_MAX_FEATURES);
		status = EXIT_USAGE;
		goto out;
	}
	fm_learn_detector_config_default(
	    &cfg, (uint32_t)train->cols, a.rows_per_day);
	cfg.train.seed = a.seed;
	if (cfg.latent > cfg.window * cfg.n_features)
		cfg.latent = cfg.window * cfg.n_features;
	r = fm_learn_detector_new(&cfg, &det);
	if (r < 0) {
		fprintf(stderr, "fedmon-replay: cannot create the detector: "
				"%s\n",
		    strerror(-r));
		goto out;
	}
	r = fm_learn_detector_train(det, train->v, train->rows, NULL);
	if (r == -ENODATA)
		fprintf(stderr,
		    "fedmon-replay: %s has %zu rows, fewer than the %u "
		    "training needs; every row scores 0\n",
		    a.train, train->rows, FM_LEARN_DETECTOR_MIN_ROWS);
	else if (r < 0) {
		fprintf(stderr, "fedmon-replay: training failed: %s\n",
		    strerror(-r));
		goto out;
	}
	for (size_t t = 0; t < test->rows; t++) {
		fm_learn_detector_score(det, test->v + t * test->cols, &v);
		printf("%.6g,%d\n", (double)v.score, v.alarm ? 1 : 0);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "fedmon-replay: cannot write the scores: %s\n",
		    strerror(errno));
		goto out;
	}
	status = EXIT_SUCCESS;
out:
	fm_learn_detector_free(det);
	fm_replay_csv_free(test);
	fm_replay_csv_free(train);
	return status;
}
