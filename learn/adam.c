/*
 * The optimiser and the random numbers every trained model of learn/
 * shares: Adam (Kingma & Ba, ICLR 2015) and a seeded splitmix64 stream,
 * so that a model depends on its seed and data alone.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "learn/learn-int.h"

double
fmi_learn_rng_normal(fmi_learn_rng *g)
{
	double u1 = 1.0 - fmi_learn_rng_uniform(g); /* (0, 1]: log is finite */
	double u2 = fmi_learn_rng_uniform(g);

	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

void
fmi_learn_rng_shuffle(fmi_learn_rng *g, uint32_t *idx, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		uint32_t j = fmi_learn_rng_below(g, (uint32_t)i);
		uint32_t t = idx[i - 1];

		idx[i - 1] = idx[j];
		idx[j] = t;
	}
}

int
fmi_learn_adam_init(fmi_learn_adam *a, size_t n)
{
	a->m = calloc(n ? 2 * n : 1, sizeof(float));
	if (!a->m)
		return -ENOMEM;
	a->v = a->m + n;
	a->n = n;
	a->t = 0;
	return 0;
}

void
fmi_learn_adam_release(fmi_learn_adam *a)
{
	free(a->m);
	a->m = a->v = NULL;
	a->n = 0;
	a->t = 0;
}

void
fmi_learn_adam_step(fmi_learn_adam *a, float *theta, const float *g,
    float lr, float beta1, float beta2, float eps)
{
	double c1, c2;
	float step;

	a->t++;
	c1 = 1.0 - pow(beta1, (double)a->t);
	c2 = 1.0 - pow(beta2, (double)a->t);
	/* the bias corrections folded into one step size */
	step = (float)(lr * sqrt(c2) / c1);
	for (size_t i = 0; i < a->n; i++) {
		float gi = g[i];

		a->m[i] = beta1 * a->m[i] + (1.0f - beta1) * gi;
		a->v[i] = beta2 * a->v[i] + (1.0f - beta2) * gi * gi;
		theta[i] -= step * a->m[i] / (sqrtf(a->v[i]) + eps);
	}
}
