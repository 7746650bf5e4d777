/*
 * learn: on-device models and their maths. Schema-agnostic (the feature
 * count is a run-time parameter), all dense maths through cblas, no I/O,
 * no sockets, no logging above debug. Callers own every buffer they pass.
 */
#ifndef FM_LEARN_H
#define FM_LEARN_H

/*
 * The module's one public include: an umbrella over one header per
 * model, in the order they build on each other. Other folders include
 * this file only; learn/learn-int.h is for learn/ itself.
 */
#include "learn/model.h"     /* the model file container */
#include "learn/params.h"    /* flat parameter vectors */
#include "learn/threshold.h" /* POT thresholds and alarms */
#include "learn/predictor.h" /* the failure predictor */
#include "learn/ae.h"        /* the BLAS, the linear autoencoder */
#include "learn/detector.h"  /* the anomaly detector */
#include "learn/fleet.h"     /* a host's shared vector */

#endif
