/*
 * learn/ internals shared between its files; no other folder includes
 * this header.
 */
#ifndef FM_LEARN_INT_H
#define FM_LEARN_INT_H

#include <stddef.h>
#include <stdint.h>

/* ---- the GPD fit (learn/gpd.c) ----------------------------------------- */

/*
 * Peaks in time order: a ring's two segments. A positive value is an
 * excess over the POT threshold t; a negative one, -c, is censored: a
 * score known only to exceed t + c. The sums are over the ring.
 */
typedef struct fmi_learn_peaks {
	const float *seg[2];
	size_t n[2];
	size_t n_exact; /* uncensored peaks */
	double sum_y;   /* of the uncensored */
	double sum_c;   /* of the censoring points */
	double ymax;    /* of all, censoring points included */
} fmi_learn_peaks;

/* Describes the held values of ring[cap] whose next slot is head. The
 * view borrows ring. */
void fmi_learn_peaks_init(fmi_learn_peaks *v, const float *ring, uint32_t cap,
    uint32_t head, uint32_t held);

/*
 * Fits a GPD to v by maximum likelihood, censored points included.
 * Needs v->n_exact > 0. Returns 0 with the shape and scale, or -EDOM when
 * no maximum with gamma > -0.999 and a finite scale exists.
 */
int fmi_learn_gpd_fit_mle(
    const fmi_learn_peaks *v, double *ret_gamma, double *ret_sigma);

/* Fits a GPD to the uncensored peaks of v by the method of moments.
 * Returns 0, or -EDOM when their variance is 0 or the fit is invalid. */
int fmi_learn_gpd_fit_mom(
    const fmi_learn_peaks *v, double *ret_gamma, double *ret_sigma);

#endif
