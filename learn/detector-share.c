/*
 * The anomaly detector's shared parameters: what a host sends to and takes
 * from the fleet (learn/detector.h, "federation"). The vector is exactly
 * the file's THETA, M1 and M2 sections (detector-file.c), under one layout
 * id that names every dimension it depends on.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

uint32_t
fm_learn_detector_layout_id(const fm_learn_detector *det)
{
	/* the last: moments shared per feature */
	uint32_t dims[] = { det->d, det->cfg.window, det->cfg.latent, 2 };

	return fm_learn_layout_id_compute(FM_LEARN_KIND_DETECTOR,
	    det->cfg.schema_version, dims, FM_ELEMENTSOF(dims));
}

size_t
fm_learn_detector_params_count(const fm_learn_detector *det)
{
	return 2 * (size_t)det->cfg.latent * det->win_len + det->cfg.latent +
	    det->win_len + 2 * (size_t)det->d;
}

int
fm_learn_detector_params_export(
    const fm_learn_detector *det, float *dst, size_t cap, size_t *ret_n)
{
	size_t n = fm_learn_detector_params_count(det);
	fm_learn_param_block blocks[3];
	fm_learn_ae *ae = det->ae;
	int r;

	if (n > cap)
		return -ENOBUFS;
	if (!ae) {
		/* untrained: the seeded initial parameters (and moments 0) */
		r = fmi_learn_detector_ae_start(det, NULL, &ae);
		if (r < 0)
			return r;
	}
	blocks[0] = (fm_learn_param_block) { fm_learn_ae_params(ae),
		fm_learn_ae_params_count(ae) };
	blocks[1] = (fm_learn_param_block) { det->own_m1, det->d };
	blocks[2] = (fm_learn_param_block) { det->own_m2, det->d };
	r = fm_learn_params_export(blocks, 3, dst, cap, ret_n);
	if (ae != det->ae)
		fm_learn_ae_free(ae);
	return r;
}

int
fm_learn_detector_params_import(fm_learn_detector *det, uint32_t layout_id,
    const float *src, size_t n)
{
	fm_learn_param_block blocks[3];
	fm_learn_ae *own = NULL;
	int r;

	if (layout_id != fm_learn_detector_layout_id(det))
		return -ESTALE;
	if (n != fm_learn_detector_params_count(det))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(src[i]))
			return -EDOM;
	}
	if (!det->own && det->ae) {
		/* joining a fleet: the model trained so far is the host's
		 * own from now on */
		r = fmi_learn_detector_ae_start(det, det->ae, &own);
		if (r < 0)
			return r;
	}
	if (!det->ae) {
		r = fmi_learn_detector_ae_start(det, NULL, &det->ae);
		if (r < 0)
			return r; /* no model yet, so no own either */
	}
	blocks[0] = (fm_learn_param_block) { fm_learn_ae_params(det->ae),
		fm_learn_ae_params_count(det->ae) };
	blocks[1] = (fm_learn_param_block) { det->prior_m1, det->d };
	blocks[2] = (fm_learn_param_block) { det->prior_m2, det->d };
	r = fm_learn_params_import(blocks, 3, layout_id, layout_id, src, n);
	if (r < 0) {
		fm_learn_ae_free(own);
		return r;
	}
	if (own) {
		det->own = own;
		memcpy(det->rho_own, det->rho, det->d * sizeof(float));
	}
	det->fleet = true;
	det->has_prior = true;
	return 0;
}
