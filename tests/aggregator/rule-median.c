/*
 * A test-only aggregation rule, compiled into test-rules and never
 * shipped: the coordinate-wise median of the round's deltas (unweighted;
 * the mean of the two middle values for an even count), applied with the
 * server learning rate; round 1 is the median of the models sent. It
 * buffers every update (k x n doubles), which the plain rules' running sum
 * avoids: it shows that the lifecycle lets such a rule be one file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"

typedef struct median {
	fmi_agg_rule_round rd;
	size_t k, cap;  /* updates buffered, room for */
	double *deltas; /* cap x rd.n, update-major */
} median;

static int
median_begin(const fmi_agg_rule_round *rd, void **ret_state)
{
	median *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->rd = *rd;
	*ret_state = s;
	return 0;
}

static int
median_add(void *state, const fmi_agg_rule_update *u)
{
	median *s = state;
	double *row;

	if (s->k == s->cap) {
		size_t cap =
		    s->cap ? 2 * s->cap : (s->rd.quorum ? s->rd.quorum : 1);
		double *d = realloc(s->deltas, cap * s->rd.n * sizeof(double));

		if (!d)
			return -ENOMEM;
		s->deltas = d;
		s->cap = cap;
	}
	row = s->deltas + s->k * s->rd.n;
	for (size_t i = 0; i < s->rd.n; i++)
		row[i] = u->scale * fmi_agg_rule_update_diff(u, i);
	s->k++;
	return 0;
}

static int
cmp_double(const void *x, const void *y)
{
	double p = *(const double *)x, q = *(const double *)y;

	return p < q ? -1 : p > q;
}

static int
median_finish(void *state, float *next, float *const *next_opt)
{
	const median *s = state;
	double *col = malloc(s->k * sizeof(double));

	(void)next_opt;
	if (!col)
		return -ENOMEM;
	for (size_t i = 0; i < s->rd.n; i++) {
		double m;

		for (size_t j = 0; j < s->k; j++)
			col[j] = s->deltas[j * s->rd.n + i];
		qsort(col, s->k, sizeof(double), cmp_double);
		m = s->k % 2 ? col[s->k / 2]
		             : (col[s->k / 2 - 1] + col[s->k / 2]) / 2;
		next[i] = s->rd.global
		    ? (float)((double)s->rd.global[i] + s->rd.lr * m)
		    : (float)m;
	}
	free(col);
	return 0;
}

static void
median_end(void *state)
{
	median *s = state;

	free(s->deltas);
	free(s);
}

const fmi_agg_rule fm_test_agg_rule_median = {
	.id = 100,
	.name = "median",
	.default_lr = 1.0,
	.n_opt = 0,
	.begin = median_begin,
	.add = median_add,
	.finish = median_finish,
	.end = median_end,
};
