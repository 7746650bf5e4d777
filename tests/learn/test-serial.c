/*
 * Tests for learn/serial.c: the model file container. Round trips, the
 * on-disk byte order, every single-byte corruption and every truncation
 * refused with its exact code, caps refused before anything is allocated
 * (malloc, calloc and realloc are wrapped and counted).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "learn/learn.h"
#include "tests/support/alloc-hook.h"

#define KIND     7u
#define SCHEMA   3u
#define FEATURES 38u

static const float weights[] = { 0.5f, -1.25f, 3.0e-7f, 1e30f, -0.0f };
static const float medians[] = { 1.0f, NAN, 2.0f }; /* not PARAM: NaN ok */

static fm_learn_model_info
sample_info(void)
{
	static const uint32_t dims[] = { FEATURES, 5 };

	return (fm_learn_model_info) { .kind = KIND,
		.schema_version = SCHEMA,
		.n_features = FEATURES,
		.layout_id =
		    fm_learn_layout_id_compute(KIND, SCHEMA, dims, 2) };
}

/* Writes the sample model into a new heap buffer. */
static uint8_t *
sample_file(size_t *ret_len)
{
	fm_learn_model_info info = sample_info();
	fm_learn_model_writer w;
	uint8_t *buf = NULL;

	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 1, 0x01020304u), 0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 2, FM_LEARN_SECTION_PARAM, weights, 5),
	    0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 5, 0, medians, 3), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_u64(&w, 9, 0x1122334455667788ull), 0);
	assert_int_equal(fm_learn_model_writer_put_f64(&w, 10, -2.5), 0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 11, FM_LEARN_SECTION_PARAM, weights + 3, 2),
	    0);
	assert_int_equal(fm_learn_model_writer_finish(&w, &buf, ret_len), 0);
	fm_learn_model_writer_release(&w);
	return buf;
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

/* Rewrites the length field and the checksum after a tamper, so that the
 * decoder reaches the check under test. */
static void
reseal(uint8_t *buf, size_t len)
{
	put_le64(buf + 40, len);
	put_le32(buf + len - 4, fm_learn_crc32c_update(0, buf, len - 4));
}

static void
test_serial_crc32c_known_vector(void **state)
{
	const char *s = "123456789";

	assert_true(fm_learn_crc32c_update(0, s, 9) == 0xe3069283u);
	assert_true(fm_learn_crc32c_update(fm_learn_crc32c_update(0, s, 4),
	                s + 4, 5) == 0xe3069283u);
	assert_true(fm_learn_crc32c_update(0, s, 0) == 0);
}

static void
test_serial_round_trip(void **state)
{
	fm_learn_model_info info = sample_info();
	fm_learn_model_reader r;
	fm_learn_section_info si;
	float f[5] = { 0 }, flat[7];
	uint32_t u32 = 0;
	uint64_t u64 = 0;
	double f64 = 0;
	size_t len, n = 0;
	uint8_t *buf = sample_file(&len);

	assert_int_equal(len,
	    48 + (16 + 4) + (16 + 20) + (16 + 12) + (16 + 8) + (16 + 8) +
	        (16 + 8) + 4);
	assert_int_equal(fm_learn_model_decode(buf, len, &info, &r), 0);
	assert_true(fm_learn_model_reader_info(&r)->kind == KIND);
	assert_true(fm_learn_model_reader_info(&r)->schema_version == SCHEMA);
	assert_true(fm_learn_model_reader_info(&r)->n_features == FEATURES);
	assert_true(
	    fm_learn_model_reader_info(&r)->layout_id == info.layout_id);
	assert_int_equal(fm_learn_model_reader_section_count(&r), 6);

	assert_int_equal(fm_learn_model_reader_get_u32(&r, 1, &u32), 0);
	assert_true(u32 == 0x01020304u);
	assert_int_equal(fm_learn_model_reader_get_f32(&r, 2, f, 5), 0);
	assert_memory_equal(f, weights, sizeof(weights)); /* bit-exact, -0 */
	assert_int_equal(fm_learn_model_reader_get_f32(&r, 5, f, 3), 0);
	assert_true(f[0] == 1.0f && isnan(f[1]) && f[2] == 2.0f);
	assert_int_equal(fm_learn_model_reader_get_u64(&r, 9, &u64), 0);
	assert_true(u64 == 0x1122334455667788ull);
	assert_int_equal(fm_learn_model_reader_get_f64(&r, 10, &f64), 0);
	assert_true(f64 == -2.5);

	assert_int_equal(fm_learn_model_reader_section_at(&r, 1, &si), 0);
	assert_int_equal(si.id, 2);
	assert_int_equal(si.type, FM_LEARN_SECTION_F32);
	assert_int_equal(si.flags, FM_LEARN_SECTION_PARAM);
	assert_int_equal(si.count, 5);
	assert_int_equal(fm_learn_model_reader_section_at(&r, 6, &si), -ENOENT);
	assert_int_equal(fm_learn_model_reader_find(&r, 10, &si), 0);
	assert_int_equal(si.type, FM_LEARN_SECTION_F64);

	/* the flat vector: PARAM sections 2 and 11, in id order */
	assert_int_equal(fm_learn_model_reader_params_count(&r), 7);
	assert_int_equal(
	    fm_learn_model_reader_params_export(&r, flat, 6, &n), -ENOBUFS);
	assert_int_equal(n, 0);
	assert_int_equal(
	    fm_learn_model_reader_params_export(&r, flat, 7, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(flat, weights, sizeof(weights));
	assert_memory_equal(flat + 5, weights + 3, 2 * sizeof(float));
	free(buf);
}

static void
test_serial_bytes_are_little_endian(void **state)
{
	size_t len;
	uint8_t *buf = sample_file(&len);
	static const uint8_t magic[8] = { 0x89, 'F', 'M', 'M', '\r', '\n', 0x1a,
		'\n' };
	static const uint8_t one_half[4] = { 0x00, 0x00, 0x00, 0x3f };

	assert_memory_equal(buf, magic, 8);
	assert_memory_equal(fm_learn_model_magic, magic, 8);
	/* version 1, flags 0, kind 7, schema 3, features 38 */
	assert_int_equal(buf[8], 1);
	assert_int_equal(buf[9] | buf[10] | buf[11], 0);
	assert_int_equal(buf[16], KIND);
	assert_int_equal(buf[20], SCHEMA);
	assert_int_equal(buf[24], FEATURES);
	assert_int_equal(buf[32], 6);   /* sections */
	assert_int_equal(buf[40], len); /* total length, low byte */
	/* section 1: id 1, type u32 (2), flags 0, count 1, 0x01020304 */
	assert_int_equal(buf[48], 1);
	assert_int_equal(buf[52], FM_LEARN_SECTION_U32);
	assert_int_equal(buf[56], 1);
	assert_int_equal(buf[64], 0x04);
	assert_int_equal(buf[65], 0x03);
	assert_int_equal(buf[66], 0x02);
	assert_int_equal(buf[67], 0x01);
	/* section 2: its first float, 0.5f = 0x3f000000 */
	assert_int_equal(buf[68 + 6], FM_LEARN_SECTION_PARAM);
	assert_memory_equal(buf + 68 + 16, one_half, 4);
	free(buf);
}

static void
test_serial_caller_buffer_matches_growing(void **state)
{
	fm_learn_model_info info = sample_info();
	fm_learn_model_writer w;
	size_t len, got = 0;
	uint8_t *ref = sample_file(&len);
	uint8_t *buf = calloc(1, len), *out = NULL;
	unsigned before;

	/* exact size: identical bytes, and no allocation at all */
	before = fm_test_alloc_count();
	assert_int_equal(fm_learn_model_writer_init(&w, &info, buf, len), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 1, 0x01020304u), 0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 2, FM_LEARN_SECTION_PARAM, weights, 5),
	    0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 5, 0, medians, 3), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_u64(&w, 9, 0x1122334455667788ull), 0);
	assert_int_equal(fm_learn_model_writer_put_f64(&w, 10, -2.5), 0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 11, FM_LEARN_SECTION_PARAM, weights + 3, 2),
	    0);
	assert_int_equal(fm_learn_model_writer_finish(&w, &out, &got), 0);
	assert_int_equal(fm_test_alloc_count(), before);
	assert_ptr_equal(out, buf);
	assert_int_equal(got, len);
	assert_memory_equal(buf, ref, len);
	fm_learn_model_writer_release(&w);

	/* one byte short: the checksum does not fit */
	out = NULL;
	assert_int_equal(
	    fm_learn_model_writer_init(&w, &info, buf, len - 1), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 1, 1), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 2, 0, weights, 5), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 5, 0, medians, 3), 0);
	assert_int_equal(fm_learn_model_writer_put_u64(&w, 9, 1), 0);
	assert_int_equal(fm_learn_model_writer_put_f64(&w, 10, 1), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 11, 0, weights, 2), 0);
	assert_int_equal(
	    fm_learn_model_writer_finish(&w, &out, &got), -ENOBUFS);
	assert_null(out);
	fm_learn_model_writer_release(&w);

	/* a buffer that cannot hold the header */
	assert_int_equal(
	    fm_learn_model_writer_init(&w, &info, buf, 47), -ENOBUFS);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 1, 1), -ENOBUFS);
	fm_learn_model_writer_release(&w);
	free(buf);
	free(ref);
}

static void
test_serial_writer_errors_are_sticky(void **state)
{
	fm_learn_model_info info = sample_info();
	fm_learn_model_info zero = { 0 };
	fm_learn_model_writer w;
	const float bad[] = { 1.0f, INFINITY };
	uint8_t *out = NULL;
	size_t len = 0;

	assert_int_equal(
	    fm_learn_model_writer_init(&w, &zero, NULL, 0), -EINVAL);
	fm_learn_model_writer_release(&w);

	/* ids must increase */
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 4, 1), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 4, 1), -EINVAL);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 5, 1), -EINVAL);
	assert_int_equal(fm_learn_model_writer_finish(&w, &out, &len), -EINVAL);
	assert_null(out);
	fm_learn_model_writer_release(&w);

	/* non-finite parameters, unknown flags */
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 1, FM_LEARN_SECTION_PARAM, bad, 2),
	    -EDOM);
	fm_learn_model_writer_release(&w);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 1, 0x2, bad, 2), -EINVAL);
	fm_learn_model_writer_release(&w);

	/* caps: elements per section (checked before reading v), sections */
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&w, 1, FM_LEARN_SECTION_PARAM, bad,
	        FM_LEARN_MODEL_MAX_ELEMS + 1u),
	    -EMSGSIZE);
	fm_learn_model_writer_release(&w);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	for (uint32_t i = 0; i < FM_LEARN_MODEL_MAX_SECTIONS; i++)
		assert_int_equal(fm_learn_model_writer_put_u32(&w, i, i), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 5000, 1), -EMSGSIZE);
	fm_learn_model_writer_release(&w);
	fm_learn_model_writer_release(NULL);
}

static void
test_serial_writer_caps_file_size(void **state)
{
	fm_learn_model_info info = sample_info();
	fm_learn_model_writer w;
	float *big = calloc(FM_LEARN_MODEL_MAX_ELEMS, sizeof(float));

	assert_non_null(big);
	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 1, 0, big, FM_LEARN_MODEL_MAX_ELEMS),
	    0);
	assert_int_equal(fm_learn_model_writer_put_f32(
	                     &w, 2, 0, big, FM_LEARN_MODEL_MAX_ELEMS),
	    -EMSGSIZE);
	fm_learn_model_writer_release(&w);
	free(big);
}

static void
test_serial_writer_out_of_memory(void **state)
{
	fm_learn_model_info info = sample_info();
	fm_learn_model_writer w;
	float *big = calloc(100000, sizeof(float));
	uint8_t *out = NULL;
	size_t len = 0;
	int r;

	fm_test_alloc_fail_after(0);
	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	fm_test_alloc_fail_after(-1);
	assert_int_equal(r, -ENOMEM);
	fm_learn_model_writer_release(&w);

	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	fm_test_alloc_fail_after(0);
	r = fm_learn_model_writer_put_f32(&w, 1, 0, big, 100000);
	fm_test_alloc_fail_after(-1);
	assert_int_equal(r, -ENOMEM);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 2, 1), -ENOMEM);
	assert_int_equal(fm_learn_model_writer_finish(&w, &out, &len), -ENOMEM);
	assert_null(out);
	fm_learn_model_writer_release(&w);
	free(big);
}

static void
test_serial_every_byte_flip_detected(void **state)
{
	fm_learn_model_reader r;
	size_t len;
	uint8_t *buf = sample_file(&len);

	for (size_t i = 0; i < len; i++) {
		int want = i < 8 ? -EPROTO
		    : i < 12     ? -EPROTONOSUPPORT
		                 : -EBADMSG;

		for (unsigned x = 1; x < 256; x++) {
			buf[i] ^= (uint8_t)x;
			if (fm_learn_model_decode(buf, len, NULL, &r) != want)
				fail_msg(
				    "byte %zu ^ 0x%02x: not %d", i, x, want);
			buf[i] ^= (uint8_t)x;
		}
	}
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	free(buf);
}

static void
test_serial_every_truncation_refused(void **state)
{
	fm_learn_model_reader r = { 0 };
	size_t len;
	uint8_t *buf = sample_file(&len);
	uint8_t *longer;

	for (size_t n = 0; n < len; n++) {
		/* an exact-size copy, so ASan sees any over-read */
		uint8_t *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		assert_int_equal(
		    fm_learn_model_decode(cut, n, NULL, &r), -EBADMSG);
		free(cut);
	}
	assert_null(r.buf); /* untouched on failure */
	assert_int_equal(fm_learn_model_decode(NULL, 0, NULL, &r), -EBADMSG);
	/* trailing bytes */
	longer = calloc(1, len + 1);
	memcpy(longer, buf, len);
	assert_int_equal(
	    fm_learn_model_decode(longer, len + 1, NULL, &r), -EBADMSG);
	free(longer);
	free(buf);
}

static void
test_serial_foreign_files_refused(void **state)
{
	static const uint8_t png[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a,
		'\n', 0, 0, 0, 13 };
	static const uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2, 1, 1, 0 };
	static const char text[] = "1.0,2.0,3.0\n4.0,5.0,6.0\n";
	fm_learn_model_reader r;

	assert_int_equal(
	    fm_learn_model_decode(png, sizeof(png), NULL, &r), -EPROTO);
	assert_int_equal(
	    fm_learn_model_decode(elf, sizeof(elf), NULL, &r), -EPROTO);
	assert_int_equal(fm_learn_model_decode(
	                     (const uint8_t *)text, sizeof(text) - 1, NULL, &r),
	    -EPROTO);
	assert_int_equal(fm_learn_model_decode(elf, 1, NULL, &r), -EPROTO);
	/* a prefix of the magic is a truncated model file */
	assert_int_equal(
	    fm_learn_model_decode(fm_learn_model_magic, 3, NULL, &r), -EBADMSG);
}

static void
test_serial_other_versions_refused(void **state)
{
	fm_learn_model_reader r;
	size_t len;
	uint8_t *buf = sample_file(&len);

	put_le32(buf + 8, 2);
	reseal(buf, len);
	assert_int_equal(
	    fm_learn_model_decode(buf, len, NULL, &r), -EPROTONOSUPPORT);
	put_le32(buf + 8, 0);
	reseal(buf, len);
	assert_int_equal(
	    fm_learn_model_decode(buf, len, NULL, &r), -EPROTONOSUPPORT);
	/* a future file shorter than a v1 header: still "unsupported" */
	assert_int_equal(
	    fm_learn_model_decode(buf, 12, NULL, &r), -EPROTONOSUPPORT);
	free(buf);
}

static void
test_serial_wrong_model_is_stale(void **state)
{
	fm_learn_model_info want = sample_info(), e;
	fm_learn_model_reader r;
	size_t len;
	uint8_t *buf = sample_file(&len);

	e = want;
	e.kind++;
	assert_int_equal(fm_learn_model_decode(buf, len, &e, &r), -ESTALE);
	e = want;
	e.schema_version++;
	assert_int_equal(fm_learn_model_decode(buf, len, &e, &r), -ESTALE);
	e = want;
	e.n_features = 37;
	assert_int_equal(fm_learn_model_decode(buf, len, &e, &r), -ESTALE);
	e = want;
	e.layout_id ^= 1;
	assert_int_equal(fm_learn_model_decode(buf, len, &e, &r), -ESTALE);
	/* zero fields are wildcards */
	e = (fm_learn_model_info) { .kind = KIND };
	assert_int_equal(fm_learn_model_decode(buf, len, &e, &r), 0);
	free(buf);
}

static void
test_serial_caps_refused_without_allocating(void **state)
{
	fm_learn_model_reader r;
	uint8_t hdr[48 + 16 + 64 + 4] = { 0 };
	size_t len = sizeof(hdr);
	unsigned before;
	uint8_t *huge;
	int rc;

	/* a well-sealed file whose one section claims 2^40 floats */
	memcpy(hdr, fm_learn_model_magic, 8);
	put_le32(hdr + 8, 1);
	put_le32(hdr + 16, KIND);
	put_le32(hdr + 32, 1);
	put_le32(hdr + 48, 1);
	hdr[52] = FM_LEARN_SECTION_F32;
	put_le64(hdr + 56, 1ull << 40);
	reseal(hdr, len);
	before = fm_test_alloc_count();
	rc = fm_learn_model_decode(hdr, len, NULL, &r);
	assert_int_equal(fm_test_alloc_count(), before);
	assert_int_equal(rc, -EMSGSIZE);

	/* one element past the per-section cap */
	put_le64(hdr + 56, FM_LEARN_MODEL_MAX_ELEMS + 1ull);
	reseal(hdr, len);
	assert_int_equal(fm_learn_model_decode(hdr, len, NULL, &r), -EMSGSIZE);
	/* under the cap but beyond the bytes: truncated */
	put_le64(hdr + 56, FM_LEARN_MODEL_MAX_ELEMS);
	reseal(hdr, len);
	assert_int_equal(fm_learn_model_decode(hdr, len, NULL, &r), -EBADMSG);
	/* 2^32-1 sections */
	put_le64(hdr + 56, 16);
	put_le32(hdr + 32, UINT32_MAX);
	reseal(hdr, len);
	assert_int_equal(fm_learn_model_decode(hdr, len, NULL, &r), -EMSGSIZE);
	put_le32(hdr + 32, 1);
	reseal(hdr, len);
	assert_int_equal(fm_learn_model_decode(hdr, len, NULL, &r), 0);

	/* a buffer beyond the file cap is refused before it is read */
	huge = calloc(1, FM_LEARN_MODEL_MAX_BYTES + 1u);
	assert_non_null(huge);
	before = fm_test_alloc_count();
	rc = fm_learn_model_decode(
	    huge, FM_LEARN_MODEL_MAX_BYTES + 1u, NULL, &r);
	assert_int_equal(fm_test_alloc_count(), before);
	assert_int_equal(rc, -EMSGSIZE);
	free(huge);
}

static void
test_serial_decode_never_allocates(void **state)
{
	fm_learn_model_reader r;
	size_t len, n = 0;
	uint8_t *buf = sample_file(&len);
	float flat[7];
	unsigned before = fm_test_alloc_count();
	int rc;

	rc = fm_learn_model_decode(buf, len, NULL, &r);
	rc |= fm_learn_model_reader_params_export(&r, flat, 7, &n);
	assert_int_equal(fm_test_alloc_count(), before);
	assert_int_equal(rc, 0);
	free(buf);
}

static void
test_serial_nonfinite_params_refused(void **state)
{
	fm_learn_model_reader r;
	size_t len;
	uint8_t *buf = sample_file(&len);
	/* section 2 (PARAM f32 x5) starts at 68, its data at 84 */
	const uint32_t nan_bits = 0x7fc00000u, inf_bits = 0xff800000u;

	put_le32(buf + 84 + 8, nan_bits);
	reseal(buf, len);
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), -EDOM);
	put_le32(buf + 84 + 8, inf_bits);
	reseal(buf, len);
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), -EDOM);
	/* the same value in a non-PARAM section is the model's business */
	buf[68 + 6] = 0;
	reseal(buf, len);
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	free(buf);
}

static void
test_serial_malformed_tables_refused(void **state)
{
	fm_learn_model_reader r;
	size_t len;
	uint8_t *ref = sample_file(&len);
	uint8_t *buf = malloc(len);

	/* each case: one tamper, resealed, expected code */
	struct {
		size_t off;
		uint8_t value;
		int want;
	} cases[] = {
		{ 52, 9, -EBADMSG }, /* unknown type */
		{ 52, 0, -EBADMSG }, /* type 0 */
		{ 56, 2, -EBADMSG }, /* scalar with 2 values */
		{ 68, 1, -EBADMSG }, /* id 1 again */
		{ 68, 0, -EBADMSG }, /* ids decrease */
		{ 54, FM_LEARN_SECTION_PARAM, -EBADMSG }, /* PARAM u32 */
		{ 68 + 6, 0x4, -EBADMSG },                /* unknown flag */
		{ 12, 1, -EBADMSG },                      /* header flags */
		{ 36, 1, -EBADMSG },                      /* reserved */
		{ 16, 0, -EBADMSG },                      /* kind 0 */
		{ 32, 5, -EBADMSG },                      /* fewer sections */
		{ 32, 7, -EBADMSG },                      /* more sections */
		{ 180 + 8, 3, -EBADMSG }, /* last section runs past the end */
		{ 180 + 8, 1, -EBADMSG }, /* or stops short of it */
	};

	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		memcpy(buf, ref, len);
		buf[cases[i].off] = cases[i].value;
		reseal(buf, len);
		if (fm_learn_model_decode(buf, len, NULL, &r) != cases[i].want)
			fail_msg("case %zu: not %d", i, cases[i].want);
	}
	free(buf);
	free(ref);
}

static void
test_serial_getters_check_type_and_count(void **state)
{
	fm_learn_model_reader r;
	size_t len;
	uint8_t *buf = sample_file(&len);
	float f[5] = { 9, 9, 9, 9, 9 };
	uint32_t u32 = 9;
	uint64_t u64 = 9;
	double f64 = 9;
	fm_learn_section_info si = { .id = 99 };

	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &r), 0);
	assert_int_equal(fm_learn_model_reader_get_f32(&r, 3, f, 5), -ENOENT);
	assert_int_equal(fm_learn_model_reader_get_f32(&r, 2, f, 4), -ESTALE);
	assert_int_equal(fm_learn_model_reader_get_f32(&r, 1, f, 1), -ESTALE);
	assert_true(f[0] == 9 && f[4] == 9);
	assert_int_equal(fm_learn_model_reader_get_u32(&r, 10, &u32), -ESTALE);
	assert_int_equal(fm_learn_model_reader_get_u32(&r, 100, &u32), -ENOENT);
	assert_int_equal(fm_learn_model_reader_get_u64(&r, 1, &u64), -ESTALE);
	assert_int_equal(fm_learn_model_reader_get_f64(&r, 9, &f64), -ESTALE);
	assert_int_equal(fm_learn_model_reader_get_f64(&r, 0, &f64), -ENOENT);
	assert_true(u32 == 9 && u64 == 9 && f64 == 9);
	assert_int_equal(fm_learn_model_reader_find(&r, 6, &si), -ENOENT);
	assert_int_equal(si.id, 99);
	free(buf);
}

static void
test_serial_layout_id_is_stable(void **state)
{
	const uint32_t dims[] = { 38, 8, 16 };
	const uint32_t other[] = { 38, 8, 17 };
	uint32_t id = fm_learn_layout_id_compute(2, 1, dims, 3);

	/* pinned: the same on every host and every build */
	assert_true(id == 0xf95c2e75u);
	assert_true(id != fm_learn_layout_id_compute(2, 1, other, 3));
	assert_true(id != fm_learn_layout_id_compute(3, 1, dims, 3));
	assert_true(id != fm_learn_layout_id_compute(2, 2, dims, 3));
	assert_true(id != fm_learn_layout_id_compute(2, 1, dims, 2));
	assert_true(fm_learn_layout_id_compute(0, 0, NULL, 0) != 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial_crc32c_known_vector),
		cmocka_unit_test(test_serial_round_trip),
		cmocka_unit_test(test_serial_bytes_are_little_endian),
		cmocka_unit_test(test_serial_caller_buffer_matches_growing),
		cmocka_unit_test(test_serial_writer_errors_are_sticky),
		cmocka_unit_test(test_serial_writer_caps_file_size),
		cmocka_unit_test(test_serial_writer_out_of_memory),
		cmocka_unit_test(test_serial_every_byte_flip_detected),
		cmocka_unit_test(test_serial_every_truncation_refused),
		cmocka_unit_test(test_serial_foreign_files_refused),
		cmocka_unit_test(test_serial_other_versions_refused),
		cmocka_unit_test(test_serial_wrong_model_is_stale),
		cmocka_unit_test(test_serial_caps_refused_without_allocating),
		cmocka_unit_test(test_serial_decode_never_allocates),
		cmocka_unit_test(test_serial_nonfinite_params_refused),
		cmocka_unit_test(test_serial_malformed_tables_refused),
		cmocka_unit_test(test_serial_getters_check_type_and_count),
		cmocka_unit_test(test_serial_layout_id_is_stable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
