/*
 * FedAvg (McMahan et al., 2017) as a server step: the global model moves
 * by the server learning rate times the sample-weighted mean of the
 * deltas. With lr = 1 that is the weighted mean of the trained models
 * when every agent trained from the current global one. Round 1 (no
 * global model yet) is the weighted mean of the models sent, whatever
 * the learning rate.
 */
#include "aggregator/aggregator-int.h"

static int
fedavg_finish(void *state, float *next, float *const *next_opt)
{
	const fmi_agg_sum *s = state;
	const float *g = s->rd.global;
	const double scale = s->rd.lr / s->wsum;

	(void)next_opt;
	if (!g) {
		fmi_agg_sum_mean(s, next);
		return 0;
	}
	for (size_t i = 0; i < s->rd.n; i++)
		next[i] = (float)((double)g[i] + scale * s->acc[i]);
	return 0;
}

const fmi_agg_rule fmi_agg_rule_fedavg = {
	.id = FM_AGG_RULE_FEDAVG,
	.name = "fedavg",
	.default_lr = 1.0,
	.n_opt = 0,
	.begin = fmi_agg_sum_begin,
	.add = fmi_agg_sum_add,
	.finish = fedavg_finish,
	.end = fmi_agg_sum_end,
};
