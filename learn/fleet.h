/*
 * learn/fleet.h: a host's shared vector: the detector's and the failure
 * predictors' parameters under one layout id (learn/fleet.c).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_FLEET_H
#define FM_LEARN_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "learn/detector.h"
#include "learn/predictor.h"

/*
 * What a host shares with the fleet, as one flat vector under one layout
 * id: the detector's shared parameters (fm_learn_detector_params_export()),
 * then the share of each of n_pred failure predictors in order
 * (fm_learn_predictor_share_export()). With n_pred = 0 it is the
 * detector's vector and layout id alone. Hosts whose vectors have equal
 * layout ids average them element by element.
 */
#define FM_LEARN_KIND_FLEET 4u /* of the layout id only: never a file */
#define FM_LEARN_FLEET_MAX_PREDICTORS 16u

/* The layout id of the vector: the detector's when n_pred is 0, else a
 * hash of it and the predictors' (kind FM_LEARN_KIND_FLEET); 0 for more
 * than FM_LEARN_FLEET_MAX_PREDICTORS. Pure. */
uint32_t fm_learn_fleet_layout_id(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred);

/* The vector's length in floats. Pure. */
size_t fm_learn_fleet_count(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred);

/*
 * Writes the vector into dst[cap], predictor s weighted by weights[s]
 * (see fm_learn_predictor_share_export()); *ret_n gets its length.
 * Returns 0; -ENOBUFS when cap is short; -EINVAL for too many
 * predictors; -EDOM for a bad weight.
 */
int fm_learn_fleet_export(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, const double *weights, size_t n_pred,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

/*
 * Imports the detector's part of a fleet vector src[n] claiming
 * layout_id, after checking the whole vector: -ESTALE for another layout,
 * -EINVAL for another length, -EDOM for a non-finite value; then the
 * errors of fm_learn_detector_params_import(). On error nothing changes.
 */
int fm_learn_fleet_import_detector(fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred, uint32_t layout_id,
    const float *src, size_t n) FM_WUR;

/*
 * Imports the predictors' part of src[n] (checked as above, and every
 * share as by fm_learn_predictor_share_import() before any is taken):
 * each predictor whose share carries a fleet model takes it, the others
 * (no host had learned that failure) are left alone. Returns how many
 * took one, or a negative errno with nothing changed.
 */
int fm_learn_fleet_import_predictors(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred, uint32_t layout_id,
    const float *src, size_t n) FM_WUR;

#endif
