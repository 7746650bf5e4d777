/*
 * Writes the seed corpus of tests/fuzz/fuzz-model.c into DIR: valid model
 * files (parameters, a standalone threshold, a threshold inside a model,
 * an empty one) and broken ones (truncated, corrupted, foreign, future
 * version, NaN parameter, a count past the cap). Deterministic.
 *
 * Usage: gen-model-corpus DIR
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

static const char *dir;

static void
die(const char *what)
{
	fprintf(stderr, "gen-model-corpus: %s\n", what);
	exit(1);
}

static void
check(int r, const char *what)
{
	if (r < 0) {
		fprintf(
		    stderr, "gen-model-corpus: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

static void
emit(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

static void
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Emits buf after a tamper, with length and checksum made valid again. */
static void
emit_resealed(const char *name, uint8_t *buf, size_t len)
{
	put_le64(buf + 40, len);
	put_le32(buf + len - 4, fm_learn_crc32c_update(0, buf, len - 4));
	emit(name, buf, len);
}

static uint64_t seed = 1;

static float
uniform(void)
{
	seed = seed * 6364136223846793005ull + 1442695040888963407ull;
	return ((float)(seed >> 40) + 0.5f) / 16777216.0f;
}

static fm_learn_pot *
calibrated_pot(uint32_t drift_window)
{
	fm_learn_pot_config c;
	fm_learn_pot *p;
	float s[600];

	fm_learn_pot_config_default(&c);
	c.max_peaks = 40;
	c.min_peaks = 5;
	c.drift_window = drift_window;
	check(fm_learn_pot_new(&c, &p), "pot");
	for (size_t i = 0; i < 600; i++)
		s[i] = -logf(uniform());
	check(fm_learn_pot_calibrate(p, s, 600), "calibrate");
	for (int i = 0; i < 700; i++)
		(void)fm_learn_pot_update(p, -logf(uniform()));
	return p;
}

int
main(int argc, char **argv)
{
	static const uint32_t dims[] = { 4, 3 };
	const float w[12] = { 0.5f, -1, 2, 0, 1e-3f, 3, -2, 0.25f, 7, 8, 9,
		-0.125f };
	fm_learn_model_info info = { .kind = 2,
		.schema_version = 1,
		.n_features = 4,
		.layout_id = fm_learn_layout_id_compute(2, 1, dims, 2) };
	fm_learn_model_info pot_info = { .kind = FM_LEARN_KIND_POT };
	fm_learn_model_writer wr;
	fm_learn_pot *p;
	uint8_t *buf, *copy;
	size_t len;

	if (argc != 2)
		die("usage: gen-model-corpus DIR");
	dir = argv[1];

	/* a model: parameters, a non-PARAM array with a NaN, scalars */
	check(fm_learn_model_writer_init(&wr, &info, NULL, 0), "init");
	check(fm_learn_model_writer_put_u32(&wr, 1, 3), "u32");
	check(fm_learn_model_writer_put_f32(
	          &wr, 2, FM_LEARN_SECTION_PARAM, w, 12),
	    "f32");
	check(fm_learn_model_writer_put_f32(
	          &wr, 3, 0, (const float[]) { 1, NAN, 2, 3 }, 4),
	    "f32");
	check(fm_learn_model_writer_put_u64(&wr, 4, 86400), "u64");
	check(fm_learn_model_writer_put_f64(&wr, 5, 0.001), "f64");
	check(fm_learn_model_writer_finish(&wr, &buf, &len), "finish");
	emit("valid-model.fmm", buf, len);
	emit("truncated-header.fmm", buf, 30);
	emit("truncated-section.fmm", buf, len / 2);
	emit("truncated-checksum.fmm", buf, len - 1);
	copy = malloc(len);
	memcpy(copy, buf, len);
	copy[len / 2] ^= 0x10;
	emit("corrupt-byte.fmm", copy, len);
	memcpy(copy, buf, len);
	copy[0] = 'X';
	emit("foreign-magic.fmm", copy, len);
	memcpy(copy, buf, len);
	put_le32(copy + 8, 2);
	emit_resealed("future-version.fmm", copy, len);
	memcpy(copy, buf, len);
	put_le32(copy + 68 + 16 + 4, 0x7fc00000u); /* NaN in section 2 */
	emit_resealed("nan-param.fmm", copy, len);
	memcpy(copy, buf, len);
	put_le64(copy + 68 + 8, 1ull << 40); /* section 2: 2^40 floats */
	emit_resealed("huge-count.fmm", copy, len);
	free(copy);
	free(buf);

	/* an empty model */
	check(fm_learn_model_writer_init(&wr, &info, NULL, 0), "init");
	check(fm_learn_model_writer_finish(&wr, &buf, &len), "finish");
	emit("valid-empty.fmm", buf, len);
	free(buf);

	/* standalone thresholds, one with drift removal */
	p = calibrated_pot(0);
	check(fm_learn_model_writer_init(&wr, &pot_info, NULL, 0), "init");
	check(fm_learn_pot_save(p, 0, &wr), "save");
	check(fm_learn_model_writer_finish(&wr, &buf, &len), "finish");
	emit("valid-pot.fmm", buf, len);
	emit("truncated-pot.fmm", buf, len - 40);
	free(buf);
	fm_learn_pot_free(p);
	p = calibrated_pot(8);
	for (int i = 0; i < 3; i++)
		(void)fm_learn_pot_update(p, 1e6f); /* mid-alarm */
	check(fm_learn_model_writer_init(&wr, &pot_info, NULL, 0), "init");
	check(fm_learn_pot_save(p, 0, &wr), "save");
	check(fm_learn_model_writer_finish(&wr, &buf, &len), "finish");
	emit("valid-pot-drift-alarm.fmm", buf, len);
	free(buf);

	/* a threshold inside a model file */
	check(fm_learn_model_writer_init(&wr, &info, NULL, 0), "init");
	check(fm_learn_model_writer_put_f32(
	          &wr, 1, FM_LEARN_SECTION_PARAM, w, 12),
	    "f32");
	check(fm_learn_pot_save(p, 100, &wr), "save");
	check(fm_learn_model_writer_finish(&wr, &buf, &len), "finish");
	emit("valid-model-with-pot.fmm", buf, len);
	free(buf);
	fm_learn_pot_free(p);

	emit("foreign-text.fmm", (const uint8_t *)"1,2,3\n4,5,6\n", 12);
	return 0;
}
