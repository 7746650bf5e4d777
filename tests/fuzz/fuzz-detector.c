/*
 * Fuzz target: the model files the agent reads back from its state
 * directory: an anomaly detector (learn/detector.c) and a failure
 * predictor (learn/predictor.c) behind the container decoder. A file that
 * loads must score and predict finite values, and save again.
 * The seed corpus comes from tests/learn/gen-detector-corpus.c, whose
 * shapes FUZZ_* below must match.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

#define FUZZ_FEATURES 3
#define FUZZ_WINDOW   2
#define FUZZ_LATENT   2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_detector(const uint8_t *data, size_t size)
{
	fm_learn_detector_config cfg;
	fm_learn_detector *det;
	fm_learn_verdict v;
	float rows[4][FUZZ_FEATURES] = { { 0.1f, 0.2f, 0.3f },
		{ 1e30f, -1e30f, 0.0f }, { NAN, INFINITY, 0.5f },
		{ 0.4f, 0.4f, 0.4f } };
	uint32_t top[FUZZ_FEATURES];
	uint8_t *buf;
	size_t len;

	fm_learn_detector_config_default(&cfg, FUZZ_FEATURES, 1440);
	cfg.window = FUZZ_WINDOW;
	cfg.latent = FUZZ_LATENT;
	if (fm_learn_detector_load(data, size, &cfg, &det) < 0)
		return;
	for (int i = 0; i < 4; i++) {
		fm_learn_detector_score(det, rows[i], &v);
		if (!isfinite(v.score) || !isfinite(v.raw) || v.score < 0.0f)
			abort();
		(void)fm_learn_detector_top(det, FUZZ_FEATURES, top);
	}
	if (fm_learn_detector_save(det, &buf, &len) != 0)
		abort();
	free(buf);
	fm_learn_detector_free(det);
}

static void
try_predictor(const uint8_t *data, size_t size)
{
	fm_learn_predictor_config cfg;
	fm_learn_model_reader rd;
	fm_learn_predictor *p;
	float x[3 * FUZZ_FEATURES + 1] = { 0 };
	double prob;

	fm_learn_predictor_config_default(&cfg);
	cfg.n_features = FUZZ_FEATURES;
	if (fm_learn_model_decode(data, size, NULL, &rd) < 0 ||
	    fm_learn_predictor_load(&rd, 1, &cfg, &p) < 0)
		return;
	x[0] = 1e30f;
	x[1] = NAN;
	prob = fm_learn_predictor_predict(p, x);
	if (!(prob >= 0.0 && prob <= 1.0))
		abort();
	fm_learn_predictor_free(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try_detector(data, size);
	try_predictor(data, size);
	return 0;
}
