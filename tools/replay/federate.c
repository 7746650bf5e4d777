/*
 * fedmon-replay --federate: several clients, each with its own training
 * and test files, learn together through the real aggregator
 * (aggregator/, in a thread of this process) and the real agent side
 * (agent/model/federation.c, fed/, proto/, crypto/) over NNG's inproc
 * transport: every update is sealed, sent, opened and checked exactly as
 * between hosts. Only the clock of the training differs: a client trains
 * synchronously when it receives a fleet model, where the agent trains in
 * the background. The contract: README.md,
 * "Federated replay", and fedmon-replay(1).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/model/model.h"
#include "aggregator/aggregator.h"
#include "crypto/crypto.h"
#include "learn/learn.h"
#include "net/net.h"
#include "tools/replay/csv.h"
#include "tools/replay/replay.h"

#define CLIENTS_MAX_BYTES (1u << 20)
#define CLIENTS_MAX       1024u
/* A federated run that makes no progress for this long has failed. */
#define STALL_NS (120 * FM_NSEC_PER_SEC)

typedef replay_client client;

/* ---- the clients file ---------------------------------------------------- */

static bool
name_is_valid(const char *s)
{
	if (!s[0] || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (; *s; s++) {
		if (*s == '/' || (unsigned char)*s < 0x20)
			return false;
	}
	return true;
}

void
fm_replay_split_tabs(char *text, char **ret_f, size_t max, size_t *ret_n)
{
	size_t n = 0;

	for (char *p = text;; p++) {
		if (n == max) {
			*ret_n = max + 1;
			return;
		}
		ret_f[n++] = p;
		p = strchr(p, '\t');
		if (!p)
			break;
		*p = '\0';
	}
	*ret_n = n;
}

int
fm_replay_read_lines(const char *path, size_t max_bytes,
    int (*line)(void *ctx, char *text, size_t lineno), void *ctx)
{
	uint8_t *buf = NULL;
	size_t len, lineno = 0;
	const uint8_t *z;
	char *text, *next;
	int r;

	r = fm_file_read_all(path, max_bytes, &buf, &len);
	if (r < 0) {
		if (r == -EFBIG)
			fprintf(stderr, "%s:0: cannot read: larger than %zu "
					"KiB\n",
			    path, max_bytes >> 10);
		else
			fprintf(stderr, "%s:0: cannot read: %s\n", path,
			    strerror(-r));
		return -EINVAL;
	}
	z = memchr(buf, '\0', len);
	if (z) {
		for (const uint8_t *p = buf; p < z; p++)
			lineno += *p == '\n';
		fprintf(stderr, "%s:%zu: a NUL byte in the line\n", path,
		    lineno + 1);
		free(buf);
		return -EINVAL;
	}
	r = 0;
	for (text = (char *)buf; r == 0 && text && *text; text = next) {
		lineno++;
		next = strchr(text, '\n');
		if (next)
			*next++ = '\0';
		if (strlen(text) > 0 && text[strlen(text) - 1] == '\r')
			text[strlen(text) - 1] = '\0';
		if (text[0] && text[0] != '#')
			r = line(ctx, text, lineno);
	}
	free(buf);
	return r;
}

/* Parses one "NAME<TAB>TRAIN<TAB>TEST[<TAB>MAX_TRAIN_ROWS]" line in
 * place. Returns 0, or -EINVAL with why set. */
static int
parse_line(char *line, char **ret_f, uint64_t *ret_max, const char **why)
{
	size_t n;

	fm_replay_split_tabs(line, ret_f, 4, &n);
	if (n > 4) {
		*why = "more than 4 tab-separated fields";
		return -EINVAL;
	}
	if (n < 3) {
		*why = "fewer than 3 tab-separated fields (NAME, TRAIN, TEST)";
		return -EINVAL;
	}
	if (strlen(ret_f[0]) >= REPLAY_NAME_BYTES) {
		*why = "client name longer than 127 bytes";
		return -EINVAL;
	}
	if (!name_is_valid(ret_f[0])) {
		*why = "invalid client name (empty, '.', '..', or holding '/' "
		       "or a control character)";
		return -EINVAL;
	}
	if (!ret_f[1][0] || !ret_f[2][0]) {
		*why = "empty file name";
		return -EINVAL;
	}
	*ret_max = 0;
	if (n == 4 &&
	    (fm_parse_u64_range(ret_f[3], 1, UINT32_MAX, ret_max) < 0)) {
		*why = "MAX_TRAIN_ROWS is not an integer from 1 to 4294967295";
		return -EINVAL;
	}
	return 0;
}

typedef struct clients_ctx {
	const char *path;
	client *c;
	size_t n;
} clients_ctx;

static int
client_line(void *userdata, char *line, size_t lineno)
{
	clients_ctx *x = userdata;
	client *c = x->c;
	const char *path = x->path, *why;
	size_t n = x->n;
	char *f[4];
	uint64_t max;
	int r;

	if (parse_line(line, f, &max, &why) < 0) {
		fprintf(stderr, "%s:%zu: %s\n", path, lineno, why);
		return -EINVAL;
	}
	if (n == CLIENTS_MAX) {
		fprintf(stderr, "%s:%zu: more than %u clients\n", path, lineno,
		    CLIENTS_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(c[i].name, f[0]) == 0) {
			fprintf(stderr, "%s:%zu: client '%s' named twice\n",
			    path, lineno, f[0]);
			return -EINVAL;
		}
	}
	x->n++; /* from here its files are freed with the others */
	snprintf(c[n].name, sizeof(c[n].name), "%s", f[0]);
	r = fm_replay_read_csv(f[1], &c[n].train);
	if (r == 0)
		r = fm_replay_read_csv(f[2], &c[n].test);
	if (r < 0)
		return -EINVAL;
	if (max > 0 && c[n].train->rows > max)
		c[n].train->rows = (size_t)max;
	if (c[n].test->cols != c[n].train->cols ||
	    c[n].train->cols != c[0].train->cols) {
		fprintf(stderr,
		    "%s:%zu: client '%s' has %zu fields a row in '%s' and %zu "
		    "in '%s'; every file must have the %zu of the first "
		    "client\n",
		    path, lineno, f[0], c[n].train->cols, f[1], c[n].test->cols,
		    f[2], c[0].train->cols);
		return -EINVAL;
	}
	if (c[n].train->cols > FM_LEARN_DETECTOR_MAX_FEATURES) {
		fprintf(stderr,
		    "%s:1: %zu fields a row, more than the %u the "
		    "detector takes\n",
		    f[1], c[n].train->cols, FM_LEARN_DETECTOR_MAX_FEATURES);
		return -EINVAL;
	}
	return 0;
}

static void
clients_free(client *c, size_t n)
{
	if (!c)
		return;
	for (size_t i = 0; i < n; i++) {
		fm_learn_detector_free(c[i].det);
		fm_crypto_identity_free(c[i].id);
		fm_replay_csv_free(c[i].train);
		fm_replay_csv_free(c[i].test);
		fm_replay_failures_free(&c[i]);
	}
	free(c);
}

/* Reads the clients file and their CSV files. Errors are printed as
 * "FILE:LINE: why"; returns 0, -EINVAL or -ENOMEM. */
static int
load_clients(const char *path, client **ret, size_t *ret_n)
{
	clients_ctx x = { .path = path };
	int r;

	x.c = calloc(CLIENTS_MAX, sizeof(*x.c));
	if (!x.c)
		return -ENOMEM;
	r = fm_replay_read_lines(path, CLIENTS_MAX_BYTES, client_line, &x);
	if (r == 0 && x.n == 0) {
		fprintf(stderr,
		    "%s:1: no clients (only blank lines and "
		    "comments)\n",
		    path);
		r = -EINVAL;
	}
	if (r < 0) {
		clients_free(x.c, x.n);
		return r;
	}
	*ret = x.c;
	*ret_n = x.n;
	return 0;
}

/* ---- a client as the federation's model ---------------------------------- */

static void
model_layout(void *userdata, uint32_t *ret_layout_id, uint32_t *ret_n_params)
{
	client *c = userdata;

	size_t n_pred = c->pred ? 1 : 0;

	*ret_layout_id = fm_learn_fleet_layout_id(c->det, &c->pred, n_pred);
	*ret_n_params =
	    (uint32_t)fm_learn_fleet_count(c->det, &c->pred, n_pred);
}

static uint64_t
model_version(void *userdata)
{
	return ((client *)userdata)->version;
}

/* Personalises the fleet model on the client's training rows, as the
 * agent's learner does, but at once. */
static int
model_offer(void *userdata, const fm_model_learner_global *g)
{
	client *c = userdata;
	fm_learn_ae_train_config tc = *c->tcfg;
	fm_learn_detector_train_stats st;
	size_t n_pred = c->pred ? 1 : 0;
	int r;

	tc.prox_mu = g->prox_mu;
	if (g->local_steps > 0)
		tc.steps = g->local_steps;
	r = fm_learn_detector_set_train_config(c->det, &tc);
	if (r == 0)
		r = fm_learn_fleet_import_detector(c->det, &c->pred, n_pred,
		    g->layout_id, g->params, g->n_params);
	if (r == 0)
		r = fm_learn_detector_train(
		    c->det, c->train->v, c->train->rows, &st);
	(void)!fm_learn_detector_set_train_config(c->det, c->tcfg);
	if (r == 0 && n_pred > 0) {
		r = fm_learn_fleet_import_predictors(c->det, &c->pred, n_pred,
		    g->layout_id, g->params, g->n_params);
		if (r >= 0)
			r = fm_replay_failures_train(c);
	}
	if (r < 0)
		return r;
	c->loss = (float)st.loss_last;
	c->version = g->version;
	return 0;
}

static int
model_update(
    void *userdata, float *dst, size_t cap, fm_model_learner_update *ret)
{
	client *c = userdata;
	size_t n_pred = c->pred ? 1 : 0, n;
	double weight = n_pred > 0 ? fm_replay_failures_weight(c) : 0.0;
	int r;

	if (!c->trained)
		return -ENODATA;
	r = fm_learn_fleet_export(
	    c->det, &c->pred, &weight, n_pred, dst, cap, &n);
	if (r < 0)
		return r;
	*ret = (fm_model_learner_update) {
		.base_version = c->version,
		.layout_id = fm_learn_fleet_layout_id(c->det, &c->pred, n_pred),
		.n_params = (uint32_t)n,
		.samples = c->train->rows,
		.loss = c->loss,
	};
	return 0;
}

/* ---- the aggregator's thread --------------------------------------------- */

typedef struct server {
	fm_agg *agg;
	fm_net_sock *sock;
	int error;
} server;

static void *
serve_main(void *userdata)
{
	server *s = userdata;

	for (;;) {
		int r = fm_agg_serve(s->agg, s->sock, 50);

		if (r == -ECANCELED)
			break;
		if (r < 0 && r != -ETIMEDOUT && r != -EMSGSIZE) {
			s->error = r;
			break;
		}
	}
	return NULL;
}

/* ---- the modes ----------------------------------------------------------- */

static int
train_local(client *c, const char *what)
{
	fm_learn_detector_train_stats st;
	int r;

	r = fm_learn_detector_train(c->det, c->train->v, c->train->rows, &st);
	if (r == -ENODATA) {
		fprintf(stderr,
		    "fedmon-replay: client '%s' has %zu %s rows, fewer than "
		    "the %u training needs; it takes no part and every row "
		    "scores 0\n",
		    c->name, c->train->rows, what, FM_LEARN_DETECTOR_MIN_ROWS);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "fedmon-replay: training client '%s' failed: "
				"%s\n",
		    c->name, strerror(-r));
		return r;
	}
	c->trained = true;
	c->loss = (float)st.loss_last;
	return c->pred ? fm_replay_failures_train(c) : 0;
}

static int
run_pooled(client *c, size_t n, const fm_learn_detector_config *cfg)
{
	fm_learn_detector *pool = NULL;
	size_t rows = 0, d = c[0].train->cols, at = 0;
	uint8_t *buf = NULL;
	size_t len;
	float *all;
	int r;

	for (size_t i = 0; i < n; i++)
		rows += c[i].train->rows;
	all = malloc((rows ? rows : 1) * d * sizeof(float));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		memcpy(all + at * d, c[i].train->v,
		    c[i].train->rows * d * sizeof(float));
		at += c[i].train->rows;
	}
	r = fm_learn_detector_new(cfg, &pool);
	if (r == 0)
		r = fm_learn_detector_train(pool, all, rows, NULL);
	if (r == -ENODATA) {
		fprintf(stderr, "fedmon-replay: the clients have %zu rows in "
				"all, fewer than the %u training needs; every "
				"row scores 0\n",
		    rows, FM_LEARN_DETECTOR_MIN_ROWS);
		r = 0;
		goto out;
	}
	if (r == 0)
		r = fm_learn_detector_save(pool, &buf, &len);
	/* every client scores with its own copy of the pooled model */
	for (size_t i = 0; r == 0 && i < n; i++) {
		fm_learn_detector *copy;

		r = fm_learn_detector_load(buf, len, cfg, &copy);
		if (r == 0) {
			fm_learn_detector_free(c[i].det);
			c[i].det = copy;
		}
	}
	if (r < 0)
		fprintf(stderr, "fedmon-replay: pooled training failed: %s\n",
		    strerror(-r));
out:
	free(buf);
	free(all);
	fm_learn_detector_free(pool);
	return r;
}

/* Whether every client that trains has the fleet's last model. */
static bool
all_done(const client *c, size_t n, fm_agg *agg)
{
	fm_agg_status st;

	fm_agg_status_get(agg, &st);
	if (!st.finished)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (c[i].trained && c[i].version != st.version)
			return false;
	}
	return true;
}

static int
run_federated(client *c, size_t n, const replay_fed_args *a)
{
	char url[FM_NET_URL_BYTES];
	fm_crypto_identity *self = NULL;
	fm_crypto_keyring *kr = NULL;
	uint8_t (*keys)[FM_CRYPTO_PUBLIC_KEY_BYTES] = NULL;
	fm_net_options no;
	fm_agg_config acfg;
	server srv = { 0 };
	pthread_t thread;
	bool thread_started = false;
	uint64_t active = 0, progress = 0, last_progress = UINT64_MAX;
	int64_t stalled_since = fm_time_mono_ns();
	char err[FM_INI_ERROR_BYTES];
	int r;

	for (size_t i = 0; i < n; i++)
		active += c[i].trained;
	if (active == 0)
		return 0; /* nobody can learn: every row scores 0 */
	r = fm_crypto_init();
	if (r < 0)
		goto out;
	keys = calloc(n, sizeof(*keys));
	if (!keys) {
		r = -ENOMEM;
		goto out;
	}
	r = fm_crypto_identity_generate(&self);
	for (size_t i = 0; r == 0 && i < n; i++) {
		r = fm_crypto_identity_generate(&c[i].id);
		if (r == 0)
			memcpy(keys[i], fm_crypto_identity_public(c[i].id),
			    sizeof(keys[i]));
	}
	if (r == 0)
		r = fm_crypto_keyring_from_keys(
		    (const uint8_t(*)[FM_CRYPTO_PUBLIC_KEY_BYTES])keys, n, &kr);
	if (r < 0)
		goto out;

	/* the production defaults, but in memory, waiting for everyone */
	fm_agg_config_init(&acfg);
	acfg.state_dir[0] = '\0';
	acfg.quorum = (uint32_t)active;
	acfg.min_updates = (uint32_t)active;
	acfg.deadline_ms = 3600000;
	acfg.interval_ms = 0;
	acfg.max_rounds = a->rounds;
	r = fm_agg_config_check(&acfg, err);
	if (r == 0)
		r = fm_agg_new(&acfg, self, kr, &srv.agg);
	kr = NULL; /* taken */
	if (r < 0)
		goto out;
	snprintf(url, sizeof(url), "inproc://fedmon-replay-%ld",
	    (long)getpid());
	fm_net_options_init(&no);
	no.recv_max_bytes = acfg.max_message_bytes;
	r = fm_net_rep_listen(url, &no, &srv.sock);
	if (r < 0)
		goto out;
	r = -pthread_create(&thread, NULL, serve_main, &srv);
	if (r < 0)
		goto out;
	thread_started = true;

	for (size_t i = 0; i < n; i++) {
		fm_model_federation_config fcfg = {
			.identity = c[i].id,
			.timeout_ms = 600000,
			.retry_min_ms = 100,
			.retry_max_ms = 1000,
			.max_message_bytes = acfg.max_message_bytes,
			.skew_seconds = 300,
		};
		fm_model_federation_model m = {
			.layout = model_layout,
			.version = model_version,
			.offer = model_offer,
			.update = model_update,
			.userdata = &c[i],
		};

		if (!c[i].trained)
			continue;
		snprintf(fcfg.url, sizeof(fcfg.url), "%s", url);
		memcpy(fcfg.aggregator_key, fm_crypto_identity_public(self),
		    sizeof(fcfg.aggregator_key));
		r = fm_model_federation_new(&fcfg, &m, false, &c[i].fed);
		if (r < 0)
			goto out;
	}
	/* clients take turns, in file order: the fleet model sums their
	 * updates in that order, so a seed gives one output */
	while (!all_done(c, n, srv.agg)) {
		fm_agg_status st;

		for (size_t i = 0; i < n; i++) {
			uint32_t wait;

			if (!c[i].fed)
				continue;
			r = fm_model_federation_step(c[i].fed, &wait);
			if (r < 0 && r != -ETIMEDOUT)
				goto out;
		}
		fm_agg_status_get(srv.agg, &st);
		progress = st.accepted + st.version * 1000003u;
		for (size_t i = 0; i < n; i++)
			progress += c[i].version;
		if (progress != last_progress) {
			last_progress = progress;
			stalled_since = fm_time_mono_ns();
		} else if (fm_time_mono_ns() - stalled_since > STALL_NS) {
			fprintf(stderr, "fedmon-replay: federation made no "
					"progress for 120 s (round %llu)\n",
			    (unsigned long long)st.round);
			r = -ETIMEDOUT;
			goto out;
		} else {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
		if (srv.error) {
			r = srv.error;
			goto out;
		}
	}
	r = 0;
out:
	if (r < 0)
		fprintf(stderr, "fedmon-replay: federation failed: %s\n",
		    strerror(-r));
	for (size_t i = 0; i < n; i++)
		c[i].fed = fm_model_federation_free(c[i].fed);
	if (srv.sock)
		fm_net_sock_close(srv.sock);
	if (thread_started)
		pthread_join(thread, NULL);
	fm_net_sock_free(srv.sock);
	fm_agg_free(srv.agg);
	fm_crypto_keyring_free(kr);
	fm_crypto_identity_free(self);
	free(keys);
	return r;
}

int
fm_replay_out_open(const char *dir, const char *name, const char *ext,
    char path[REPLAY_PATH_BYTES], FILE **ret)
{
	int r;

	*ret = NULL;
	if (snprintf(path, REPLAY_PATH_BYTES, "%s/%s.%s", dir, name, ext) >=
	    REPLAY_PATH_BYTES) {
		fprintf(stderr, "fedmon-replay: path too long for client "
				"'%s'\n",
		    name);
		return -ENAMETOOLONG;
	}
	*ret = fopen(path, "w");
	if (!*ret) {
		r = -errno;
		fprintf(stderr, "fedmon-replay: cannot write '%s': %s\n",
		    path, strerror(-r));
		return r;
	}
	return 0;
}

int
fm_replay_out_close(FILE *f, const char *path, int r)
{
	int e = 0;

	if (fflush(f) != 0 || ferror(f))
		e = -EIO;
	if (fclose(f) != 0 && e == 0)
		e = -errno;
	if (r == 0)
		r = e;
	if (r < 0)
		fprintf(stderr, "fedmon-replay: cannot write '%s': %s\n",
		    path, strerror(-r));
	return r;
}

static int
write_scores(client *c, const char *dir)
{
	size_t d = c->test->cols, rows = c->test->rows;
	char path[REPLAY_PATH_BYTES];
	fm_learn_verdict v;
	float *z = NULL, *score = NULL;
	FILE *f;
	int r;

	if (c->pred) {
		/* the predictor reads the rows as the detector sees them */
		z = malloc(rows * d * sizeof(float));
		score = malloc(rows * sizeof(float));
		if (!z || !score) {
			r = -ENOMEM;
			goto out;
		}
	}
	r = fm_replay_out_open(dir, c->name, "scores", path, &f);
	if (r < 0)
		goto out;
	for (size_t t = 0; t < rows; t++) {
		const float *row = c->test->v + t * d;

		fm_learn_detector_score(c->det, row, &v);
		fprintf(f, "%.6g,%d\n", (double)v.score, v.alarm ? 1 : 0);
		if (z) {
			fm_learn_detector_normalise(c->det, row, z + t * d);
			score[t] = v.ready ? v.score : NAN;
		}
	}
	r = fm_replay_out_close(f, path, 0);
	if (r == 0 && z)
		r = fm_replay_failures_write(c, dir, z, score);
out:
	free(z);
	free(score);
	return r;
}

static int
make_out_dir(const char *dir)
{
	int r = fm_file_mkdir_p(dir, 0755);

	if (r == 0)
		return 0;
	fprintf(stderr, "fedmon-replay: cannot create '%s': %s\n", dir,
	    strerror(-r));
	return -EINVAL;
}

int
fm_replay_federate(const replay_fed_args *a)
{
	fm_learn_detector_config cfg;
	client *c = NULL;
	size_t n = 0;
	int r, status = EXIT_FAILURE;

	r = load_clients(a->clients, &c, &n);
	if (r == -EINVAL)
		return EXIT_USAGE;
	if (r < 0) {
		fprintf(stderr, "fedmon-replay: %s\n", strerror(-r));
		return EXIT_FAILURE;
	}
	if (make_out_dir(a->out) < 0) {
		status = EXIT_USAGE;
		goto out;
	}
	fm_learn_detector_config_default(
	    &cfg, (uint32_t)c[0].train->cols, a->rows_per_day);
	cfg.train.seed = a->seed;
	if (cfg.latent > cfg.window * cfg.n_features)
		cfg.latent = cfg.window * cfg.n_features;
	for (size_t i = 0; i < n; i++) {
		r = fm_learn_detector_new(&cfg, &c[i].det);
		if (r < 0) {
			fprintf(stderr, "fedmon-replay: cannot create the "
					"detector: %s\n",
			    strerror(-r));
			goto out;
		}
		c[i].dcfg = &cfg;
		c[i].tcfg = &cfg.train;
	}
	if (a->failures) {
		r = fm_replay_failures_load(a->failures, c, n, a);
		if (r < 0) {
			status = r == -EINVAL ? EXIT_USAGE : EXIT_FAILURE;
			goto out;
		}
	}
	if (a->mode == REPLAY_POOLED) {
		r = run_pooled(c, n, &cfg);
		if (r == 0 && a->failures)
			r = fm_replay_failures_pool(c, n);
	} else {
		/* local, and the first federated round: each on its own */
		r = 0;
		for (size_t i = 0; r == 0 && i < n; i++)
			r = train_local(&c[i], "training");
		if (r == 0 && a->mode == REPLAY_FEDERATED)
			r = run_federated(c, n, a);
	}
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		r = write_scores(&c[i], a->out);
		if (r < 0)
			goto out;
	}
	status = EXIT_SUCCESS;
out:
	clients_free(c, n);
	return status;
}
