/*
 * FedAvg (McMahan et al., 2017) as a server step: the global model moves
 * by the server learning rate times the sample-weighted mean of the
 * deltas. With lr = 1 that is the weighted mean of the trained models
 * when every agent trained from the current global one.
 */
#include "aggregator/aggregator-int.h"

static void
fedavg_apply(const fmi_agg_rule_args *args)
{
	const double scale = args->lr / args->wsum;

	for (size_t i = 0; i < args->n; i++)
		args->g[i] = (float)((double)args->g[i] + scale * args->acc[i]);
}

const fmi_agg_rule fmi_agg_rule_fedavg = {
	.id = FM_AGG_RULE_FEDAVG,
	.name = "fedavg",
	.default_lr = 1.0,
	.n_opt = 0,
	.apply = fedavg_apply,
};
