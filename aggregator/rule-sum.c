/*
 * The running weighted sum the plain rules (FedAvg, FedAdam) share as
 * their begin, add and end: sum of w_i * delta_i in double, as the
 * updates come, so a round holds n doubles however many agents take part.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "aggregator/aggregator-int.h"

int
fmi_agg_sum_begin(const fmi_agg_rule_round *rd, void **ret_state)
{
	fmi_agg_sum *s;

	s = calloc(1, offsetof(fmi_agg_sum, acc) + rd->n * sizeof(double));
	if (!s)
		return -ENOMEM;
	s->rd = *rd;
	*ret_state = s;
	return 0;
}

int
fmi_agg_sum_add(void *state, const fmi_agg_rule_update *u)
{
	fmi_agg_sum *s = state;
	const double w = u->weight, scale = u->scale;

	for (size_t i = 0; i < s->rd.n; i++)
		s->acc[i] += w * scale * fmi_agg_rule_update_diff(u, i);
	s->wsum += w;
	return 0;
}

void
fmi_agg_sum_end(void *state)
{
	free(state);
}

void
fmi_agg_sum_mean(const fmi_agg_sum *s, float *next)
{
	for (size_t i = 0; i < s->rd.n; i++)
		next[i] = (float)(s->acc[i] / s->wsum);
}
