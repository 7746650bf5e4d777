/*
 * FedAdam (Reddi et al., "Adaptive Federated Optimization", ICLR 2021,
 * Algorithm 2): the weighted mean delta is the pseudo-gradient of a
 * server Adam step without bias correction,
 *   m = b1 m + (1 - b1) d;  v = b2 v + (1 - b2) d^2;
 *   g += lr m / (sqrt(v) + tau),
 * tau bounding the step where v is small. m and v persist between rounds
 * (opt[0], opt[1]); the arithmetic is in double, stored as float.
 */
#include <math.h>

#include "aggregator/aggregator-int.h"

static void
fedadam_apply(const fmi_agg_rule_args *args)
{
	float *m = args->opt[0], *v = args->opt[1];

	for (size_t i = 0; i < args->n; i++) {
		double d = args->acc[i] / args->wsum;
		double mi = args->beta1 * m[i] + (1.0 - args->beta1) * d;
		double vi = args->beta2 * v[i] + (1.0 - args->beta2) * d * d;

		m[i] = (float)mi;
		v[i] = (float)vi;
		args->g[i] = (float)((double)args->g[i] +
		    args->lr * mi / (sqrt(vi) + args->tau));
	}
}

const fmi_agg_rule fmi_agg_rule_fedadam = {
	.id = FM_AGG_RULE_FEDADAM,
	.name = "fedadam",
	.default_lr = 0.01,
	.n_opt = 2,
	.apply = fedadam_apply,
};
