/*
 * A host's shared vector: the detector's shared parameters, then the share
 * of each failure predictor (learn/predictor.c), under one layout id.
 * What federation averages; everything else a host knows stays local.
 */
#include <errno.h>
#include <math.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

uint32_t
fm_learn_fleet_layout_id(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred)
{
	uint32_t dims[2 + FM_LEARN_FLEET_MAX_PREDICTORS];

	if (n_pred == 0)
		return fm_learn_detector_layout_id(det);
	if (n_pred > FM_LEARN_FLEET_MAX_PREDICTORS)
		return 0;
	dims[0] = fm_learn_detector_layout_id(det);
	dims[1] = (uint32_t)n_pred;
	for (size_t s = 0; s < n_pred; s++)
		dims[2 + s] = fm_learn_predictor_layout_id(pred[s]);
	return fm_learn_layout_id_compute(
	    FM_LEARN_KIND_FLEET, 0, dims, 2 + n_pred);
}

size_t
fm_learn_fleet_count(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred)
{
	size_t n = fm_learn_detector_params_count(det);

	for (size_t s = 0; s < n_pred; s++)
		n += fm_learn_predictor_share_count(pred[s]);
	return n;
}

int
fm_learn_fleet_export(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, const double *weights, size_t n_pred,
    float *dst, size_t cap, size_t *ret_n)
{
	size_t n, at;
	int r;

	if (n_pred > FM_LEARN_FLEET_MAX_PREDICTORS)
		return -EINVAL;
	n = fm_learn_fleet_count(det, pred, n_pred);
	if (n > cap)
		return -ENOBUFS;
	r = fm_learn_detector_params_export(det, dst, cap, &at);
	for (size_t s = 0; r == 0 && s < n_pred; s++) {
		size_t k = fm_learn_predictor_share_count(pred[s]);

		r = fm_learn_predictor_share_export(
		    pred[s], weights[s], dst + at, k);
		at += k;
	}
	if (r == 0)
		*ret_n = n;
	return r;
}

/* Whether src[n] claims the layout of (det, pred) and is all finite. */
static int
check(const fm_learn_detector *det, fm_learn_predictor *const *pred,
    size_t n_pred, uint32_t layout_id, const float *src, size_t n)
{
	if (n_pred > FM_LEARN_FLEET_MAX_PREDICTORS)
		return -EINVAL;
	if (layout_id != fm_learn_fleet_layout_id(det, pred, n_pred))
		return -ESTALE;
	if (n != fm_learn_fleet_count(det, pred, n_pred))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(src[i]))
			return -EDOM;
	}
	return 0;
}

int
fm_learn_fleet_import_detector(fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred, uint32_t layout_id,
    const float *src, size_t n)
{
	int r = check(det, pred, n_pred, layout_id, src, n);

	if (r < 0)
		return r;
	return fm_learn_detector_params_import(det,
	    fm_learn_detector_layout_id(det), src,
	    fm_learn_detector_params_count(det));
}

int
fm_learn_fleet_import_predictors(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred, uint32_t layout_id,
    const float *src, size_t n)
{
	size_t at = fm_learn_detector_params_count(det);
	int r = check(det, pred, n_pred, layout_id, src, n), taken = 0;

	/* every share first, so a bad one changes nothing */
	for (size_t s = 0; r == 0 && s < n_pred; s++) {
		size_t k = fm_learn_predictor_share_count(pred[s]);

		r = fmi_learn_predictor_share_check(pred[s], src + at, k);
		if (r == -ENODATA)
			r = 0;
		at += k;
	}
	if (r < 0)
		return r;
	at = fm_learn_detector_params_count(det);
	for (size_t s = 0; s < n_pred; s++) {
		size_t k = fm_learn_predictor_share_count(pred[s]);

		if (fm_learn_predictor_share_import(pred[s], src + at, k) == 0)
			taken++;
		at += k;
	}
	return taken;
}
