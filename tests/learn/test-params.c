/* Tests for learn/params.c: flat parameter vectors and their layout id. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "learn/learn.h"

#define LAYOUT 0x1234u

static void
test_params_export_import_round_trip(void **state)
{
	float w[6] = { 1, 2, 3, 4, 5, 6 }, b[2] = { 7, 8 };
	float w2[6] = { 0 }, b2[2] = { 0 };
	fm_learn_param_block blocks[] = { { w, 6 }, { NULL, 0 }, { b, 2 } };
	fm_learn_param_block dst[] = { { w2, 6 }, { NULL, 0 }, { b2, 2 } };
	float flat[8];
	size_t n = 0;

	assert_int_equal(fm_learn_params_count(blocks, 3), 8);
	assert_int_equal(fm_learn_params_export(blocks, 3, flat, 8, &n), 0);
	assert_int_equal(n, 8);
	for (int i = 0; i < 8; i++)
		assert_true(flat[i] == (float)(i + 1));
	assert_int_equal(
	    fm_learn_params_import(dst, 3, LAYOUT, LAYOUT, flat, 8), 0);
	assert_memory_equal(w2, w, sizeof(w));
	assert_memory_equal(b2, b, sizeof(b));
}

static void
test_params_export_needs_room(void **state)
{
	float w[3] = { 1, 2, 3 };
	fm_learn_param_block blocks[] = { { w, 3 } };
	float flat[2] = { 9, 9 };
	size_t n = 77;

	assert_int_equal(
	    fm_learn_params_export(blocks, 1, flat, 2, &n), -ENOBUFS);
	assert_int_equal(n, 77);
	assert_true(flat[0] == 9 && flat[1] == 9);
}

static void
test_params_import_checks_layout_length_values(void **state)
{
	float w[3] = { 1, 2, 3 };
	fm_learn_param_block blocks[] = { { w, 3 } };
	const float good[3] = { 4, 5, 6 };
	const float nan3[3] = { 4, NAN, 6 };
	const float inf3[3] = { 4, 5, -INFINITY };

	assert_int_equal(
	    fm_learn_params_import(blocks, 1, LAYOUT, LAYOUT + 1, good, 3),
	    -ESTALE);
	assert_int_equal(
	    fm_learn_params_import(blocks, 1, LAYOUT, LAYOUT, good, 2),
	    -EINVAL);
	assert_int_equal(
	    fm_learn_params_import(blocks, 1, LAYOUT, LAYOUT, nan3, 3), -EDOM);
	assert_int_equal(
	    fm_learn_params_import(blocks, 1, LAYOUT, LAYOUT, inf3, 3), -EDOM);
	/* all or nothing: the first value of nan3 was not written */
	assert_true(w[0] == 1 && w[1] == 2 && w[2] == 3);
}

static void
test_params_file_vector_matches_blocks(void **state)
{
	float w[4] = { 0.25f, -1, 2, 8 }, b[2] = { 3, -3 };
	fm_learn_param_block blocks[] = { { w, 4 }, { b, 2 } };
	const uint32_t dims[] = { 4, 2 };
	fm_learn_model_info info = { .kind = 9,
		.schema_version = 1,
		.n_features = 4,
		.layout_id = fm_learn_layout_id_compute(9, 1, dims, 2) };
	fm_learn_model_writer wr;
	fm_learn_model_reader r;
	float from_blocks[6], from_file[6];
	uint8_t *buf = NULL;
	size_t len = 0, n1 = 0, n2 = 0;

	assert_int_equal(fm_learn_model_writer_init(&wr, &info, NULL, 0), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&wr, 1, FM_LEARN_SECTION_PARAM, w, 4),
	    0);
	assert_int_equal(fm_learn_model_writer_put_u32(&wr, 2, 42), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_f32(&wr, 3, FM_LEARN_SECTION_PARAM, b, 2),
	    0);
	assert_int_equal(fm_learn_model_writer_finish(&wr, &buf, &len), 0);
	assert_int_equal(fm_learn_model_decode(buf, len, &info, &r), 0);
	assert_int_equal(
	    fm_learn_params_export(blocks, 2, from_blocks, 6, &n1), 0);
	assert_int_equal(
	    fm_learn_model_reader_params_export(&r, from_file, 6, &n2), 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(from_blocks, from_file, sizeof(from_file));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_params_export_import_round_trip),
		cmocka_unit_test(test_params_export_needs_room),
		cmocka_unit_test(
		    test_params_import_checks_layout_length_values),
		cmocka_unit_test(test_params_file_vector_matches_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
