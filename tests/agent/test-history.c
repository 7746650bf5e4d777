/* Tests for agent/model/history.c: the minute ring, its aggregates, scores and
 * label onsets. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/agent.h"

#define MIN_NS (60 * FM_NSEC_PER_SEC)

static fm_collect_sample
sample_at(int64_t real_ns, float v0)
{
	fm_collect_sample s = { .real_ns = real_ns, .mono_ns = real_ns };

	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++)
		s.v[f] = NAN;
	s.v[0] = v0;
	return s;
}

static void
test_history_rejects_bad_sizes(void **state)
{
	fm_model_history *h = NULL;

	assert_int_equal(fm_model_history_new(0, &h), -EINVAL);
	assert_int_equal(
	    fm_model_history_new(FM_MODEL_HISTORY_MAX_MINUTES + 1, &h),
	    -EINVAL);
	assert_null(h);
	assert_null(fm_model_history_free(NULL));
}

/* The learner's rows: a minute's mean score and its onsets, and push
 * saying when a minute closed (the predictors' cue). */
static void
test_history_minute_scores_and_onsets(void **state)
{
	const fm_model_history_minute *m;
	fm_model_history *h;
	fm_collect_sample s;

	assert_int_equal(fm_model_history_new(3, &h), 0);
	assert_int_equal(fm_model_history_capacity(h), 3);
	s = sample_at(5 * MIN_NS, 1.0f);
	assert_false(fm_model_history_push(h, &s, 1.0f, 0));
	s = sample_at(5 * MIN_NS + FM_NSEC_PER_SEC, 1.0f);
	assert_false(
	    fm_model_history_push(h, &s, 2.0f, FM_LABEL_BIT(FM_LABEL_OOM)));
	s = sample_at(5 * MIN_NS + 2 * FM_NSEC_PER_SEC, 1.0f);
	assert_false(
	    fm_model_history_push(h, &s, 6.0f, FM_LABEL_BIT(FM_LABEL_HEALTH)));
	s = sample_at(6 * MIN_NS, 1.0f);
	assert_true(fm_model_history_push(h, &s, 0.0f, 0));
	m = fm_model_history_minute_get(h, 0);
	assert_true(m->score == 3.0f);
	assert_int_equal(m->label_onsets,
	    FM_LABEL_BIT(FM_LABEL_OOM) | FM_LABEL_BIT(FM_LABEL_HEALTH));
	/* nothing scores (learning off): the score is NAN, onsets kept */
	s = sample_at(7 * MIN_NS, 1.0f);
	assert_true(fm_model_history_push(h, &s, NAN, 0));
	assert_true(fm_model_history_minute_get(h, 0)->score == 0.0f);
	assert_int_equal(fm_model_history_minute_get(h, 0)->label_onsets, 0);
	s = sample_at(8 * MIN_NS, 1.0f);
	assert_true(fm_model_history_push(h, &s, 0.0f, 0));
	assert_true(isnan(fm_model_history_minute_get(h, 0)->score));
	h = fm_model_history_free(h);
	assert_null(h);
}

static void
test_history_minute_aggregates_skip_masked(void **state)
{
	fm_model_history *h;
	const fm_model_history_minute *m;
	fm_collect_sample s;

	assert_int_equal(fm_model_history_new(2, &h), 0);
	s = sample_at(10 * MIN_NS + 1, 1.0f);
	(void)fm_model_history_push(h, &s, NAN, 0);
	s = sample_at(10 * MIN_NS + 2, 3.0f);
	(void)fm_model_history_push(h, &s, NAN, 0);
	s = sample_at(10 * MIN_NS + 3, NAN);
	(void)fm_model_history_push(h, &s, NAN, 0);
	assert_int_equal(fm_model_history_minute_count(h), 0); /* still open */
	s = sample_at(11 * MIN_NS, 8.0f);
	(void)fm_model_history_push(h, &s, NAN, 0);
	assert_int_equal(fm_model_history_minute_count(h), 1);
	m = fm_model_history_minute_get(h, 0);
	assert_non_null(m);
	assert_true(m->real_ns == 10 * MIN_NS);
	assert_int_equal(m->count, 3);
	assert_true(m->mean[0] == 2.0f);
	assert_true(m->min[0] == 1.0f);
	assert_true(m->max[0] == 3.0f);
	/* a feature masked all minute stays masked, not zero */
	assert_true(isnan(m->mean[1]) && isnan(m->min[1]) && isnan(m->max[1]));
	fm_model_history_free(h);
}

static void
test_history_minute_ring_keeps_last(void **state)
{
	fm_model_history *h;
	fm_collect_sample s;

	assert_int_equal(fm_model_history_new(2, &h), 0);
	for (int i = 0; i < 5; i++) {
		s = sample_at(i * MIN_NS, (float)i);
		(void)fm_model_history_push(h, &s, NAN, 0);
	}
	/* minutes 0..3 closed, ring of 2 keeps 3 and 2 */
	assert_int_equal(fm_model_history_minute_count(h), 2);
	assert_true(fm_model_history_minute_get(h, 0)->mean[0] == 3.0f);
	assert_true(fm_model_history_minute_get(h, 1)->mean[0] == 2.0f);
	assert_null(fm_model_history_minute_get(h, 2));
	fm_model_history_free(h);
}

/* A restart's minutes: the newest that fit, oldest first; pushing
 * continues after them; only an empty ring takes them. */
static void
test_history_restore(void **state)
{
	fm_model_history_minute m[5] = { 0 };
	fm_model_history *h;
	fm_collect_sample s;

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		m[i].real_ns = (10 + i) * MIN_NS;
		m[i].count = 60;
		m[i].score = (float)i;
	}
	assert_int_equal(fm_model_history_new(3, &h), 0);
	assert_int_equal(fm_model_history_restore(h, m, 5), 0);
	assert_int_equal(fm_model_history_minute_count(h), 3);
	assert_int_equal(
	    fm_model_history_minute_get(h, 0)->real_ns, 14 * MIN_NS);
	assert_int_equal(
	    fm_model_history_minute_get(h, 2)->real_ns, 12 * MIN_NS);
	assert_int_equal(fm_model_history_restore(h, m, 1), -EBUSY);
	s = sample_at(20 * MIN_NS, 1.0f);
	assert_false(fm_model_history_push(h, &s, 7.0f, 0));
	s = sample_at(21 * MIN_NS, 1.0f);
	assert_true(fm_model_history_push(h, &s, 0.0f, 0));
	assert_int_equal(fm_model_history_minute_count(h), 3);
	assert_int_equal(
	    fm_model_history_minute_get(h, 0)->real_ns, 20 * MIN_NS);
	assert_true(fm_model_history_minute_get(h, 0)->score == 7.0f);
	assert_int_equal(
	    fm_model_history_minute_get(h, 1)->real_ns, 14 * MIN_NS);
	fm_model_history_free(h);
	/* a ring aggregating a minute already is not empty */
	assert_int_equal(fm_model_history_new(3, &h), 0);
	s = sample_at(20 * MIN_NS, 1.0f);
	assert_false(fm_model_history_push(h, &s, 0.0f, 0));
	assert_int_equal(fm_model_history_restore(h, m, 2), -EBUSY);
	fm_model_history_free(h);
}

/* The minute being aggregated, handed to a new ring: a sample of the
 * same minute continues it, a later one closes it whole. */
static void
test_history_current_continues(void **state)
{
	fm_model_history_minute cur;
	uint32_t n[FM_FEATURE_COUNT];
	const fm_model_history_minute *m;
	fm_model_history *h, *h2;
	fm_collect_sample s;

	(void)state;
	assert_int_equal(fm_model_history_new(3, &h), 0);
	assert_false(fm_model_history_current(h, &cur, n));
	s = sample_at(7 * MIN_NS, 1.0f);
	assert_false(
	    fm_model_history_push(h, &s, 2.0f, FM_LABEL_BIT(FM_LABEL_OOM)));
	s = sample_at(7 * MIN_NS + FM_NSEC_PER_SEC, 3.0f);
	assert_false(fm_model_history_push(h, &s, 4.0f, 0));
	assert_true(fm_model_history_current(h, &cur, n));
	assert_int_equal(cur.real_ns, 7 * MIN_NS);
	assert_int_equal(cur.count, 2);
	assert_int_equal(cur.label_onsets, FM_LABEL_BIT(FM_LABEL_OOM));
	assert_true(cur.score == 3.0f);
	assert_int_equal(n[0], 2);
	assert_int_equal(n[1], 0);
	assert_true(cur.mean[0] == 2.0f && isnan(cur.mean[1]));

	assert_int_equal(fm_model_history_new(3, &h2), 0);
	assert_int_equal(fm_model_history_restore_current(h2, &cur, n), 0);
	assert_int_equal(fm_model_history_restore_current(h2, &cur, n), -EBUSY);
	s = sample_at(7 * MIN_NS + 2 * FM_NSEC_PER_SEC, 5.0f);
	assert_false(fm_model_history_push(h2, &s, 6.0f, 0));
	s = sample_at(8 * MIN_NS, 1.0f);
	assert_true(fm_model_history_push(h2, &s, 0.0f, 0));
	m = fm_model_history_minute_get(h2, 0);
	assert_int_equal(m->real_ns, 7 * MIN_NS);
	assert_int_equal(m->count, 3);
	assert_int_equal(m->label_onsets, FM_LABEL_BIT(FM_LABEL_OOM));
	assert_true(m->score == 4.0f);
	assert_true(m->mean[0] == 3.0f);
	assert_true(m->min[0] == 1.0f && m->max[0] == 5.0f);
	assert_true(isnan(m->mean[1]));
	fm_model_history_free(h2);
	fm_model_history_free(h);
}

static void
test_history_bytes_is_the_bound(void **state)
{
	size_t b = fm_model_history_bytes(1440);

	assert_true(b > sizeof(fm_model_history_minute) * 1440);
	/* the documented default, a day of minutes: under 1.2 MB */
	assert_true(b < 1200000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_history_rejects_bad_sizes),
		cmocka_unit_test(test_history_minute_scores_and_onsets),
		cmocka_unit_test(test_history_minute_aggregates_skip_masked),
		cmocka_unit_test(test_history_minute_ring_keeps_last),
		cmocka_unit_test(test_history_restore),
		cmocka_unit_test(test_history_current_continues),
		cmocka_unit_test(test_history_bytes_is_the_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
