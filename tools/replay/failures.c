/*
 * fedmon-replay --failures: every client's failure predictor, as the
 * agent's learner keeps one per label source. A client's labelled history
 * (rows before its TEST, with a 0/1 failure flag a row) is normalised and
 * scored by the client's detector, turned into the predictor's inputs
 * (learn/predictor.c) and learned from; in federated mode the predictor
 * travels in the client's shared vector (learn/fleet.c). The output,
 * DIR/NAME.failures, is one probability a TEST row that a failure begins
 * within the horizon.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/replay/replay.h"

#define FAILURES_MAX_BYTES (1u << 20)

typedef struct failures_ctx {
	const char *path;
	replay_client *c;
	size_t n;
} failures_ctx;

/* Counts the failures beginning in events[n] (0/1 floats), or returns
 * -EINVAL for another value. */
static int
count_onsets(const fm_replay_csv *events, uint64_t *ret)
{
	uint64_t onsets = 0;

	for (size_t t = 0; t < events->rows; t++) {
		float e = events->v[t];

		if (e != 0.0f && e != 1.0f)
			return -EINVAL;
		onsets += e == 1.0f && (t == 0 || events->v[t - 1] == 0.0f);
	}
	*ret = onsets;
	return 0;
}

/* One "NAME<TAB>ROWS<TAB>EVENTS" line. */
static int
failures_line(void *userdata, char *text, size_t lineno)
{
	failures_ctx *x = userdata;
	replay_client *c = NULL;
	char *f[3];
	size_t nf;

	fm_replay_split_tabs(text, f, 3, &nf);
	if (nf != 3) {
		fprintf(stderr,
		    "%s:%zu: want 3 tab-separated fields (NAME, "
		    "ROWS, EVENTS), not %s\n",
		    x->path, lineno, nf > 3 ? "more" : "fewer");
		return -EINVAL;
	}
	for (size_t i = 0; i < x->n; i++) {
		if (strcmp(x->c[i].name, f[0]) == 0)
			c = &x->c[i];
	}
	if (!c) {
		fprintf(stderr, "%s:%zu: no client '%s' in the clients file\n",
		    x->path, lineno, f[0]);
		return -EINVAL;
	}
	if (c->frows) {
		fprintf(stderr, "%s:%zu: client '%s' named twice\n", x->path,
		    lineno, f[0]);
		return -EINVAL;
	}
	if (!f[1][0] || !f[2][0]) {
		fprintf(stderr, "%s:%zu: empty file name\n", x->path, lineno);
		return -EINVAL;
	}
	if (fm_replay_read_csv(f[1], &c->frows) < 0 ||
	    fm_replay_read_csv(f[2], &c->fevents) < 0)
		return -EINVAL;
	if (c->frows->cols != c->train->cols) {
		fprintf(stderr,
		    "%s:%zu: '%s' has %zu fields a row, client "
		    "'%s' %zu\n",
		    x->path, lineno, f[1], c->frows->cols, c->name,
		    c->train->cols);
		return -EINVAL;
	}
	if (c->fevents->cols != 1 || c->fevents->rows != c->frows->rows) {
		fprintf(stderr,
		    "%s:%zu: '%s' must hold one 0/1 a line for "
		    "each of the %zu rows of '%s'\n",
		    x->path, lineno, f[2], c->frows->rows, f[1]);
		return -EINVAL;
	}
	if (count_onsets(c->fevents, &c->onsets) < 0) {
		fprintf(stderr,
		    "%s:%zu: '%s' holds a value other than 0 or "
		    "1\n",
		    x->path, lineno, f[2]);
		return -EINVAL;
	}
	return 0;
}

int
fm_replay_failures_load(
    const char *path, replay_client *c, size_t n, const replay_fed_args *a)
{
	fm_learn_predictor_config pcfg;
	failures_ctx x = { .path = path, .c = c, .n = n };
	int r;

	fm_learn_predictor_config_default(&pcfg);
	pcfg.n_features = (uint32_t)c[0].train->cols;
	pcfg.window = REPLAY_PREDICT_WINDOW;
	pcfg.n_extra = 1; /* the anomaly score */
	pcfg.seed = a->seed;
	for (size_t i = 0; i < n; i++) {
		c[i].pcfg = pcfg;
		r = fm_learn_predictor_new(&pcfg, &c[i].pred);
		if (r < 0)
			return r;
		c[i].horizon = a->horizon;
	}
	return fm_replay_read_lines(
	    path, FAILURES_MAX_BYTES, failures_line, &x);
}

/*
 * The predictor's inputs for the labelled history of c: each row
 * normalised by c's detector and scored causally by a copy of it (the
 * detector that scores TEST is left as it is), into x[rows x p].
 */
static int
history_inputs(const replay_client *c, float *x)
{
	size_t d = c->frows->cols, rows = c->frows->rows;
	size_t p = fm_learn_predictor_n_inputs(&c->pcfg);
	fm_learn_detector *copy = NULL;
	fm_learn_verdict v;
	uint8_t *buf = NULL;
	float *z, *score;
	size_t len;
	int r;

	z = malloc(rows * d * sizeof(float));
	score = malloc(rows * sizeof(float));
	r = z && score ? 0 : -ENOMEM;
	if (r == 0)
		r = fm_learn_detector_save(c->det, &buf, &len);
	if (r == 0)
		r = fm_learn_detector_load(buf, len, c->dcfg, &copy);
	for (size_t t = 0; r == 0 && t < rows; t++) {
		const float *row = c->frows->v + t * d;

		fm_learn_detector_score(copy, row, &v);
		fm_learn_detector_normalise(copy, row, z + t * d);
		score[t] = v.ready ? v.score : NAN;
	}
	for (size_t t = 0; r == 0 && t < rows; t++)
		r = fm_learn_predictor_features(
		    &c->pcfg, z, rows, t, &score[t], x + t * p);
	fm_learn_detector_free(copy);
	free(buf);
	free(score);
	free(z);
	return r;
}

/* The training targets of c's history: 1 when a failure begins within
 * the horizon (fm_learn_predictor_labels()), into y[rows]. */
static int
history_targets(const replay_client *c, uint8_t *y)
{
	size_t rows = c->fevents->rows;

	for (size_t t = 0; t < rows; t++)
		y[t] = c->fevents->v[t] != 0.0f;
	return fm_learn_predictor_labels(y, rows, c->horizon, y);
}

int
fm_replay_failures_train(replay_client *c)
{
	size_t rows, p = fm_learn_predictor_n_inputs(&c->pcfg);
	float *x;
	uint8_t *y;
	int r;

	if (!c->frows || c->onsets == 0)
		return 0; /* nothing to learn: the fleet's, or untrained */
	rows = c->frows->rows;
	x = malloc(rows * p * sizeof(float));
	y = malloc(rows);
	r = x && y ? 0 : -ENOMEM;
	if (r == 0)
		r = history_inputs(c, x);
	if (r == 0)
		r = history_targets(c, y);
	if (r == 0)
		r = fm_learn_predictor_train(
		    c->pred, x, y, c->frows->rows, NULL);
	if (r < 0)
		fprintf(stderr,
		    "fedmon-replay: training the failure predictor "
		    "of client '%s' failed: %s\n",
		    c->name, strerror(-r));
	free(x);
	free(y);
	return r;
}

/* Copies src into every client's predictor through a model file, so the
 * copies predict as it does, calibration included. */
static int
pool_copy(const fm_learn_predictor *src, replay_client *c, size_t n)
{
	fm_learn_model_info info = {
		.kind = FM_LEARN_KIND_PREDICTOR,
		.schema_version = c[0].pcfg.schema_version,
		.n_features = c[0].pcfg.n_features,
	};
	fm_learn_model_writer w;
	fm_learn_model_reader rd;
	uint8_t *buf = NULL;
	size_t len;
	int r;

	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	if (r == 0)
		r = fm_learn_predictor_save(src, 1, &w);
	if (r == 0)
		r = fm_learn_model_writer_finish(&w, &buf, &len);
	fm_learn_model_writer_release(&w);
	if (r == 0)
		r = fm_learn_model_decode(buf, len, &info, &rd);
	for (size_t i = 0; r == 0 && i < n; i++) {
		fm_learn_predictor *copy;

		r = fm_learn_predictor_load(&rd, 1, &c[i].pcfg, &copy);
		if (r == 0) {
			fm_learn_predictor_free(c[i].pred);
			c[i].pred = copy;
		}
	}
	free(buf);
	return r;
}

int
fm_replay_failures_pool(replay_client *c, size_t n)
{
	size_t p = fm_learn_predictor_n_inputs(&c[0].pcfg), rows = 0, at = 0;
	fm_learn_predictor *pool = NULL;
	float *x = NULL;
	uint8_t *y = NULL;
	int r;

	for (size_t i = 0; i < n; i++)
		rows += c[i].frows ? c[i].frows->rows : 0;
	if (rows == 0)
		return 0;
	x = malloc(rows * p * sizeof(float));
	y = malloc(rows);
	r = x && y ? 0 : -ENOMEM;
	/* each client's rows in turn, windows never crossing clients */
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!c[i].frows)
			continue;
		r = history_inputs(&c[i], x + at * p);
		if (r == 0)
			r = history_targets(&c[i], y + at);
		at += c[i].frows->rows;
	}
	if (r == 0)
		r = fm_learn_predictor_new(&c[0].pcfg, &pool);
	if (r == 0)
		r = fm_learn_predictor_train(pool, x, y, rows, NULL);
	if (r == 0)
		r = pool_copy(pool, c, n);
	if (r < 0)
		fprintf(stderr,
		    "fedmon-replay: pooled training of the failure "
		    "predictor failed: %s\n",
		    strerror(-r));
	fm_learn_predictor_free(pool);
	free(x);
	free(y);
	return r;
}

double
fm_replay_failures_weight(const replay_client *c)
{
	if (!c->trained || c->train->rows == 0)
		return 0.0;
	return (double)c->onsets / (double)c->train->rows;
}

int
fm_replay_failures_write(
    const replay_client *c, const char *dir, const float *z, const float *score)
{
	float *x =
	    malloc(fm_learn_predictor_n_inputs(&c->pcfg) * sizeof(float));
	char path[REPLAY_PATH_BYTES];
	FILE *f;
	int r;

	if (!x)
		return -ENOMEM;
	r = fm_replay_out_open(dir, c->name, "failures", path, &f);
	for (size_t t = 0; r == 0 && t < c->test->rows; t++) {
		/* causal: rows 0 … t only */
		r = fm_learn_predictor_features(
		    &c->pcfg, z, t + 1, t, &score[t], x);
		if (r == 0)
			fprintf(f, "%.6g\n",
			    fm_learn_predictor_predict(c->pred, x));
	}
	if (f)
		r = fm_replay_out_close(f, path, r);
	free(x);
	return r;
}

void
fm_replay_failures_free(replay_client *c)
{
	c->pred = fm_learn_predictor_free(c->pred);
	fm_replay_csv_free(c->frows);
	fm_replay_csv_free(c->fevents);
	c->frows = c->fevents = NULL;
}
