/*
 * FedAdam (Reddi et al., "Adaptive Federated Optimization", ICLR 2021,
 * Algorithm 2): the weighted mean delta is the pseudo-gradient of a
 * server Adam step without bias correction,
 *   m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;
 *   g += lr m / (sqrt(v) + tau),
 * tau bounding the step where v is small. m and v persist between rounds
 * (opt[0], opt[1]); the arithmetic is in double, stored as float. Round 1
 * (no global model yet) is the weighted mean of the models sent, with m
 * and v at 0.
 */
#include <math.h>
#include <string.h>

#include "aggregator/aggregator-int.h"

static int
fedadam_finish(void *state, float *next, float *const *next_opt)
{
	const fmi_agg_sum *s = state;
	const fmi_agg_rule_round *rd = &s->rd;
	const float *m = rd->opt[0], *v = rd->opt[1];

	if (!rd->global) {
		fmi_agg_sum_mean(s, next);
		memset(next_opt[0], 0, rd->n * sizeof(float));
		memset(next_opt[1], 0, rd->n * sizeof(float));
		return 0;
	}
	for (size_t i = 0; i < rd->n; i++) {
		double d = s->acc[i] / s->wsum;
		double mi = rd->beta1 * m[i] + (1.0 - rd->beta1) * d;
		double vi = rd->beta2 * v[i] + (1.0 - rd->beta2) * d * d;

		next_opt[0][i] = (float)mi;
		next_opt[1][i] = (float)vi;
		next[i] = (float)((double)rd->global[i] +
		    rd->lr * mi / (sqrt(vi) + rd->tau));
	}
	return 0;
}

const fmi_agg_rule fmi_agg_rule_fedadam = {
	.id = FM_AGG_RULE_FEDADAM,
	.name = "fedadam",
	.default_lr = 0.01,
	.n_opt = 2,
	.begin = fmi_agg_sum_begin,
	.add = fmi_agg_sum_add,
	.finish = fedadam_finish,
	.end = fmi_agg_sum_end,
};
