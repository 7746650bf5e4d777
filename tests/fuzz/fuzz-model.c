/*
 * Fuzz target: the model file decoder (learn/serial.c) and, behind it,
 * the threshold state loader (learn/threshold.c). A file the decoder
 * accepts must re-encode to the same bytes (one encoding per model), and
 * a threshold it restores must keep working and save again.
 * The seed corpus comes from tests/learn/gen-model-corpus.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Re-encodes every section of r; aborts unless the bytes are identical. */
static void
check_reencode(const fm_learn_model_reader *r, const uint8_t *data, size_t size)
{
	fm_learn_model_writer w;
	uint8_t *out = NULL;
	size_t len = 0;
	int e;

	e = fm_learn_model_writer_init(
	    &w, fm_learn_model_reader_info(r), NULL, 0);
	for (uint32_t i = 0;
	     e == 0 && i < fm_learn_model_reader_section_count(r); i++) {
		fm_learn_section_info si;
		uint32_t u32;
		uint64_t u64;
		double f64;
		float *f;

		if (fm_learn_model_reader_section_at(r, i, &si) < 0)
			abort();
		switch (si.type) {
		case FM_LEARN_SECTION_U32:
			e = fm_learn_model_reader_get_u32(r, si.id, &u32);
			e = e ? e
			      : fm_learn_model_writer_put_u32(&w, si.id, u32);
			break;
		case FM_LEARN_SECTION_U64:
			e = fm_learn_model_reader_get_u64(r, si.id, &u64);
			e = e ? e
			      : fm_learn_model_writer_put_u64(&w, si.id, u64);
			break;
		case FM_LEARN_SECTION_F64:
			e = fm_learn_model_reader_get_f64(r, si.id, &f64);
			e = e ? e
			      : fm_learn_model_writer_put_f64(&w, si.id, f64);
			break;
		default:
			f = malloc((si.count ? si.count : 1) * sizeof(*f));
			if (!f)
				abort();
			e = fm_learn_model_reader_get_f32(
			    r, si.id, f, si.count);
			e = e ? e
			      : fm_learn_model_writer_put_f32(
			            &w, si.id, si.flags, f, si.count);
			free(f);
		}
	}
	e = e ? e : fm_learn_model_writer_finish(&w, &out, &len);
	if (e < 0 || len != size || memcmp(out, data, size) != 0)
		abort();
	free(out);
	fm_learn_model_writer_release(&w);
}

/* Restores a threshold saved at base (if any), exercises it and saves it
 * again. */
static void
check_pot(const fm_learn_model_reader *r, uint32_t base)
{
	static const float scores[] = { 0.0f, 1.0f, 1e9f, 1e9f, 1e9f, -1.0f,
		NAN, 0.5f, 2.0f, 1e-3f };
	fm_learn_model_info info = { .kind = FM_LEARN_KIND_POT };
	fm_learn_model_writer w;
	fm_learn_pot_status st;
	fm_learn_pot *p = NULL;
	uint8_t *out = NULL;
	size_t len = 0;
	int e;

	if (fm_learn_pot_load(r, base, NULL, &p) < 0)
		return;
	for (size_t i = 0; i < sizeof(scores) / sizeof(scores[0]); i++)
		(void)fm_learn_pot_update(p, scores[i]);
	fm_learn_pot_status_get(p, &st);
	e = fm_learn_model_writer_init(&w, &info, NULL, 0);
	e = e ? e : fm_learn_pot_save(p, 0, &w);
	e = e ? e : fm_learn_model_writer_finish(&w, &out, &len);
	if (e < 0)
		abort();
	free(out);
	fm_learn_model_writer_release(&w);
	fm_learn_pot_free(p);
}

static void
check_file(const uint8_t *data, size_t size)
{
	fm_learn_model_reader r;
	float *flat;
	size_t n, got = 0;

	if (fm_learn_model_decode(data, size, NULL, &r) < 0)
		return;
	n = fm_learn_model_reader_params_count(&r);
	flat = malloc((n ? n : 1) * sizeof(*flat));
	if (!flat ||
	    fm_learn_model_reader_params_export(&r, flat, n, &got) < 0 ||
	    got != n)
		abort();
	free(flat);
	check_reencode(&r, data, size);
	check_pot(&r, 0);
	check_pot(&r, 100); /* where the corpus embeds one in a model */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t min =
	    FM_LEARN_MODEL_HEADER_BYTES + FM_LEARN_MODEL_TRAILER_BYTES;
	uint8_t *copy;
	uint32_t crc;

	check_file(data, size);
	/* Mutations rarely keep the checksum right: decode a copy with its
	 * length and checksum fixed too, so the section table gets fuzzed. */
	if (size < min || size > FM_LEARN_MODEL_MAX_BYTES)
		return 0;
	copy = malloc(size);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	for (int i = 0; i < 8; i++)
		copy[40 + i] = (uint8_t)((uint64_t)size >> (8 * i));
	crc = fm_learn_crc32c_update(0, copy, size - 4);
	for (int i = 0; i < 4; i++)
		copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
	check_file(copy, size);
	free(copy);
	return 0;
}
