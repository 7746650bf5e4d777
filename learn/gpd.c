/*
 * The generalised Pareto fit behind the POT threshold: maximum
 * likelihood with censored points, by Grimshaw's reduction to one
 * variable x = gamma/sigma, maximised over a scale-free grid and refined
 * by golden-section search; and the method of moments as a fallback.
 * Pure functions of the peaks; deterministic.
 */
#include <errno.h>
#include <math.h>

#include "common/common.h"
#include "learn/learn-int.h"

/* The GPD likelihood is unbounded for gamma below -1. */
#define GAMMA_MIN    (-0.999)
#define GOLDEN_ITERS 24

void
fmi_learn_peaks_init(fmi_learn_peaks *v, const float *ring, uint32_t cap,
    uint32_t head, uint32_t held)
{
	uint32_t start = (head + cap - held) % cap;

	*v = (fmi_learn_peaks) { .seg = { ring + start, ring } };
	v->n[0] = cap - start < held ? cap - start : held;
	v->n[1] = held - v->n[0];
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < v->n[k]; i++) {
			double y = v->seg[k][i];

			if (y > 0.0) {
				v->n_exact++;
				v->sum_y += y;
			} else {
				y = -y;
				v->sum_c += y;
			}
			if (y > v->ymax)
				v->ymax = y;
		}
	}
}

/*
 * The censored GPD log-likelihood per exact peak, profiled over sigma at
 * x = gamma/sigma. With A = sum log1p(x y) over exact peaks and B the same
 * over censoring points, the maximum over gamma at fixed x is at
 * gamma = (A + B) / N, sigma = gamma / x, where it is
 * -log(sigma) - A/N - 1 (without censoring, Grimshaw's reduction).
 * x = 0 is the exponential. -INFINITY outside the support and for
 * gamma <= GAMMA_MIN, where the likelihood is unbounded: a bounded tail
 * then gets the constrained maximum, near its upper end point.
 */
static double
profile_ll(
    const fmi_learn_peaks *v, double x, double *ret_gamma, double *ret_sigma)
{
	double a = 0.0, b = 0.0, n = (double)v->n_exact, g, sigma;

	if (x == 0.0) {
		sigma = (v->sum_y + v->sum_c) / n;
		*ret_gamma = 0.0;
		*ret_sigma = sigma;
		return -log(sigma) - 1.0;
	}
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < v->n[k]; i++) {
			double y = v->seg[k][i];
			double xy = x * (y > 0.0 ? y : -y);

			if (xy <= -1.0)
				return -INFINITY;
			if (y > 0.0)
				a += log1p(xy);
			else
				b += log1p(xy);
		}
	}
	g = (a + b) / n;
	sigma = g / x;
	if (!(g > GAMMA_MIN) || !(sigma > 0.0) || !isfinite(sigma))
		return -INFINITY;
	*ret_gamma = g;
	*ret_sigma = sigma;
	return -log(sigma) - a / n - 1.0;
}

/* Grid points: x = -v/ymax on the bounded side, x = u/mean on the heavy
 * side; both scale-free. */
static const double grid_neg[] = { 0.999, 0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5,
	0.4, 0.3, 0.2, 0.1, 0.03, 0.01, 0.003, 0.001 };
static const double grid_pos[] = { 0.001, 0.00316, 0.01, 0.0316, 0.1, 0.178,
	0.316, 0.562, 1.0, 1.78, 3.16, 5.62, 10.0, 31.6, 100.0, 1000.0 };
#define GRID_N (FM_ELEMENTSOF(grid_neg) + 1 + FM_ELEMENTSOF(grid_pos))

static double
grid_x(const fmi_learn_peaks *v, size_t i)
{
	size_t nn = FM_ELEMENTSOF(grid_neg);

	if (i < nn)
		return -grid_neg[i] / v->ymax;
	if (i == nn)
		return 0.0;
	return grid_pos[i - nn - 1] * (double)v->n_exact / v->sum_y;
}

int
fmi_learn_gpd_fit_mle(
    const fmi_learn_peaks *v, double *ret_gamma, double *ret_sigma)
{
	double best = -INFINITY, bg = 0.0, bs = 0.0, g = 0.0, s = 0.0;
	double a, b, c, d, fc, fd, gc = 0.0, sc = 0.0, gd = 0.0, sd = 0.0;
	const double phi = 0.6180339887498949;
	size_t ib = 0;

	for (size_t i = 0; i < GRID_N; i++) {
		double ll = profile_ll(v, grid_x(v, i), &g, &s);

		if (ll > best) {
			best = ll;
			bg = g;
			bs = s;
			ib = i;
		}
	}
	if (!isfinite(best))
		return -EDOM;
	/* refine between the best grid point's neighbours */
	a = grid_x(v, ib > 0 ? ib - 1 : ib);
	b = grid_x(v, ib + 1 < GRID_N ? ib + 1 : ib);
	c = b - phi * (b - a);
	d = a + phi * (b - a);
	fc = profile_ll(v, c, &gc, &sc);
	fd = profile_ll(v, d, &gd, &sd);
	for (int it = 0; it < GOLDEN_ITERS; it++) {
		if (fc >= fd) {
			b = d;
			d = c;
			fd = fc;
			gd = gc;
			sd = sc;
			c = b - phi * (b - a);
			fc = profile_ll(v, c, &gc, &sc);
		} else {
			a = c;
			c = d;
			fc = fd;
			gc = gd;
			sc = sd;
			d = a + phi * (b - a);
			fd = profile_ll(v, d, &gd, &sd);
		}
	}
	if (fc > best) {
		best = fc;
		bg = gc;
		bs = sc;
	}
	if (fd > best) {
		bg = gd;
		bs = sd;
	}
	if (!(bg > GAMMA_MIN) || !isfinite(bg) || !(bs > 0.0) || !isfinite(bs))
		return -EDOM;
	*ret_gamma = bg;
	*ret_sigma = bs;
	return 0;
}

/* mean = sigma/(1-gamma), var = mean^2/(1-2 gamma) */
int
fmi_learn_gpd_fit_mom(
    const fmi_learn_peaks *v, double *ret_gamma, double *ret_sigma)
{
	double m = v->sum_y / (double)v->n_exact, ss = 0.0, var, r, g, s;

	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < v->n[k]; i++) {
			double e = v->seg[k][i] - m;

			if (v->seg[k][i] > 0.0f)
				ss += e * e;
		}
	}
	var = ss / (double)v->n_exact;
	if (!(var > 0.0))
		return -EDOM;
	r = m * m / var;
	g = 0.5 * (1.0 - r);
	s = 0.5 * m * (1.0 + r);
	if (!(g > GAMMA_MIN) || !isfinite(g) || !(s > 0.0) || !isfinite(s))
		return -EDOM;
	*ret_gamma = g;
	*ret_sigma = s;
	return 0;
}
