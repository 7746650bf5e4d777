/*
 * Writes the seed corpus of tests/fuzz/fuzz-detector.c: a trained
 * detector and a predictor of the shapes the target expects, and damaged
 * copies. Run by hand after a format change:
 * ninja -C BUILD tests/learn/gen-detector-corpus &&
 * BUILD/tests/learn/gen-detector-corpus tests/fuzz/corpus/detector
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

static const char *dir;

static void
die(const char *what)
{
	fprintf(stderr, "gen-detector-corpus: %s\n", what);
	exit(1);
}

static void
emit(const char *name, const uint8_t *buf, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/* The file, then a truncated and a corrupted copy of it. */
static void
emit_family(const char *stem, const uint8_t *buf, size_t len)
{
	char name[128];
	uint8_t *copy = malloc(len);

	if (!copy)
		die("out of memory");
	snprintf(name, sizeof(name), "%s.fmm", stem);
	emit(name, buf, len);
	snprintf(name, sizeof(name), "%s-truncated.fmm", stem);
	emit(name, buf, len / 2);
	memcpy(copy, buf, len);
	copy[len / 3] ^= 0x08;
	snprintf(name, sizeof(name), "%s-corrupt.fmm", stem);
	emit(name, copy, len);
	free(copy);
}

int
main(int argc, char **argv)
{
	fm_learn_detector_config dc;
	fm_learn_predictor_config pc;
	fm_learn_model_info info = { .kind = FM_LEARN_KIND_PREDICTOR,
		.n_features = 3 };
	fm_learn_model_writer w;
	fm_learn_detector *det;
	fm_learn_predictor *p;
	fm_learn_verdict v;
	float rows[200][3];
	uint8_t y[200], *buf;
	size_t len;

	if (argc != 2)
		die("usage: gen-detector-corpus DIR");
	dir = argv[1];
	fm_learn_blas_single_thread();
	for (int t = 0; t < 200; t++) {
		rows[t][0] = (float)sin(t * 0.1);
		rows[t][1] = 0.5f * rows[t][0] + 0.01f * (float)(t % 7);
		rows[t][2] = t % 11 == 0 ? NAN : (float)(t % 5) * 0.1f;
		y[t] = t % 50 == 49;
	}
	fm_learn_detector_config_default(&dc, 3, 1440);
	dc.window = 2;
	dc.latent = 2;
	dc.train.steps = 50;
	if (fm_learn_detector_new(&dc, &det) < 0 ||
	    fm_learn_detector_train(det, &rows[0][0], 200, NULL) < 0)
		die("train detector");
	for (int t = 0; t < 20; t++) /* into an alarm: its state saved too */
		fm_learn_detector_score(det, (const float[]) { 5, -5, 1 }, &v);
	if (fm_learn_detector_save(det, &buf, &len) < 0)
		die("save detector");
	emit_family("detector", buf, len);
	free(buf);
	/* in a fleet: another host's model imported, its own kept beside,
	 * the fleet's moments as a prior */
	{
		fm_learn_detector *other;
		float shifted[200][3], params[64];
		size_t n;

		for (int t = 0; t < 200; t++)
			for (int j = 0; j < 3; j++)
				shifted[t][j] = rows[t][j] * 1.5f + 0.2f;
		if (fm_learn_detector_params_count(det) > 64 ||
		    fm_learn_detector_new(&dc, &other) < 0 ||
		    fm_learn_detector_train(other, &shifted[0][0], 200, NULL) <
		        0 ||
		    fm_learn_detector_params_export(other, params, 64, &n) < 0 ||
		    fm_learn_detector_params_import(det,
		        fm_learn_detector_layout_id(det), params, n) < 0 ||
		    fm_learn_detector_train(det, &rows[0][0], 200, NULL) < 0)
			die("fleet detector");
		fm_learn_detector_free(other);
	}
	if (fm_learn_detector_save(det, &buf, &len) < 0)
		die("save fleet detector");
	emit_family("detector-fleet", buf, len);
	free(buf);
	fm_learn_detector_free(det);

	fm_learn_predictor_config_default(&pc);
	pc.n_features = 3;
	if (fm_learn_predictor_new(&pc, &p) < 0)
		die("new predictor");
	{
		float *X = malloc(200 * 10 * sizeof(float));

		if (!X)
			die("out of memory");
		for (int t = 0; t < 200; t++) {
			if (fm_learn_predictor_features(&pc, &rows[0][0], 200,
			        (size_t)t, &rows[t][0], X + t * 10) < 0)
				die("features");
		}
		if (fm_learn_predictor_train(p, X, y, 200, NULL) < 0)
			die("train predictor");
		free(X);
	}
	if (fm_learn_model_writer_init(&w, &info, NULL, 0) < 0 ||
	    fm_learn_predictor_save(p, 1, &w) < 0 ||
	    fm_learn_model_writer_finish(&w, &buf, &len) < 0)
		die("save predictor");
	fm_learn_model_writer_release(&w);
	emit_family("predictor", buf, len);
	free(buf);
	fm_learn_predictor_free(p);
	return 0;
}
