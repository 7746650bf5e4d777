/*
 * Files written by fedmon 0.1.0 (commit f78490c, before the issue 15
 * refactor) load in the current code with the same meaning: the agent's
 * detector, predictors, fleet lineage and sequence lease, and the
 * aggregator's state and replay journal. The files are in
 * tests/fixtures/compat/0.1.0/ (its README says how they were made); the
 * expected values below are what 0.1.0's own code read from them.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "fed/fed-int.h"
#include "learn/learn.h"
#include "tests/aggregator/agg-test.h"

#define AGENT_DIR FM_FIXTURES "/compat/0.1.0/agent"
#define AGG_DIR   FM_FIXTURES "/compat/0.1.0/aggregator"

/* The agent's shape in 0.1.0: 56 features of schema 1, sampled every
 * 100 ms; predictors over 10 minutes plus the minute's score. */
#define D              56u
#define SCHEMA         1u
#define INTERVAL_MS    100u
#define PREDICT_WINDOW 10u

/* What 0.1.0 reported for these files. */
#define DETECTOR_LAYOUT  0x79c555eau
#define DETECTOR_PARAMS  4880u
#define PREDICTOR_LAYOUT 0xcd7fb348u
#define FLEET_LAYOUT     0x5504d13eu /* detector and four predictors */
#define FLEET_PARAMS     5564u
#define FLEET_VERSION    69u   /* federation.state */
#define LEASE_BOUND      2048u /* fed.seq */
#define AGENT_KEY_ID     0xc731037b68e0a706ull
#define AGG_ROUND        71u /* last round opened */
#define AGG_VERSION      69u
#define AGG_PUBLISHED    69u
#define STATE_MARK       302u /* the agent's mark in aggregator.state */
#define JOURNAL_RECORDS  40u  /* its later marks in aggregator.journal */
#define JOURNAL_FIRST    1025u
#define JOURNAL_LAST     1064u

static uint8_t *
slurp(const char *path, size_t *ret_len)
{
	uint8_t *buf = NULL;

	assert_int_equal(fm_file_read_all(path, 1u << 20, &buf, ret_len), 0);
	return buf;
}

static void
copy_file(const char *from, const char *dir, const char *name)
{
	char path[256];
	uint8_t *buf;
	size_t len;

	buf = slurp(from, &len);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(fm_file_write_atomic(path, buf, len, 0600), 0);
	free(buf);
}

/* Whether dir/name holds exactly the bytes of the file at ref. */
static bool
same_bytes(const char *dir, const char *name, const char *ref)
{
	char path[256];
	uint8_t *a, *b;
	size_t na, nb;
	bool same;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	a = slurp(path, &na);
	b = slurp(ref, &nb);
	same = na == nb && memcmp(a, b, na) == 0;
	free(a);
	free(b);
	return same;
}

/* The number of files in dir whose name has suffix. */
static unsigned
count_suffix(const char *dir, const char *suffix)
{
	struct dirent *e;
	unsigned n = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name), s = strlen(suffix);

		n += l > s && strcmp(e->d_name + l - s, suffix) == 0;
	}
	closedir(d);
	return n;
}

static void
detector_config(fm_learn_detector_config *c)
{
	fm_learn_detector_config_default(c, D, 86400000u / INTERVAL_MS);
	c->schema_version = SCHEMA;
}

static void
predictor_config(fm_learn_predictor_config *c)
{
	fm_learn_predictor_config_default(c);
	c->n_features = D;
	c->window = PREDICT_WINDOW;
	c->n_extra = 1;
	c->schema_version = SCHEMA;
}

/* ---- the detector -------------------------------------------------------- */

/* 0.1.0's verdicts on the rows below: its scores and alarm (1 from row 23
 * to row 47). */
static const float old_scores[60] = { 59.8413391f, 59.7787819f, 60.0448456f,
	59.2825356f, 57.9300041f, 57.0064964f, 55.7707901f, 55.354332f,
	55.134552f, 54.5616913f, 54.2723427f, 53.2936668f, 53.2274055f,
	53.1730537f, 53.116066f, 53.2615318f, 52.7503815f, 52.7502708f,
	52.7418518f, 52.6725197f, 79.2938538f, 100.803902f, 118.469757f,
	132.180542f, 144.250992f, 154.126816f, 162.207047f, 168.81813f,
	174.227203f, 178.652802f, 182.273758f, 185.236359f, 164.074203f,
	146.520309f, 132.170685f, 118.685219f, 106.703949f, 96.9759979f,
	88.4064789f, 82.0197144f, 76.5708313f, 72.2917862f, 68.7141037f,
	65.8228378f, 63.3840408f, 61.3844604f, 59.7598648f, 58.3661461f,
	56.760582f, 55.7073441f, 55.2822685f, 54.781456f, 54.4049683f,
	54.0142097f, 53.0803719f, 53.2076492f, 52.8920555f, 52.8100433f,
	52.1284218f, 52.003231f };

/* Row t: each feature at the file's own mean plus a uniform draw of its
 * scale in [-0.5, 0.5), 30 scales higher for rows 20 to 31. */
static void
make_row(const float *m, const float *s, uint32_t *rng, unsigned t, float *row)
{
	for (unsigned j = 0; j < D; j++) {
		float u;

		*rng = *rng * 1664525u + 1013904223u;
		u = (float)(*rng >> 8) / 16777216.0f - 0.5f;
		row[j] = m[j] + s[j] * (u + (t >= 20 && t < 32 ? 30.0f : 0.0f));
	}
}

static void
test_detector_loads_and_scores_as_before(void **state)
{
	fm_learn_detector_config c;
	fm_learn_detector *det = NULL;
	fm_learn_model_reader rd;
	uint8_t *buf, *again = NULL;
	size_t len, again_len;
	float m[D], s[D], row[D];
	uint32_t rng = 12345;

	(void)state;
	buf = slurp(AGENT_DIR "/detector.fmm", &len);
	detector_config(&c);
	assert_int_equal(fm_learn_detector_load(buf, len, &c, &det), 0);
	assert_true(fm_learn_detector_is_ready(det));
	assert_int_equal(fm_learn_detector_layout_id(det), DETECTOR_LAYOUT);
	assert_int_equal(fm_learn_detector_params_count(det), DETECTOR_PARAMS);

	/* one model, one encoding: saved again, the same bytes */
	assert_int_equal(fm_learn_detector_save(det, &again, &again_len), 0);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, buf, len);
	free(again);

	/* scores as 0.1.0 scored them (the normaliser's sections: 16, 17) */
	assert_int_equal(fm_learn_model_decode(buf, len, NULL, &rd), 0);
	assert_int_equal(fm_learn_model_reader_get_f32(&rd, 16, m, D), 0);
	assert_int_equal(fm_learn_model_reader_get_f32(&rd, 17, s, D), 0);
	for (unsigned t = 0; t < FM_ELEMENTSOF(old_scores); t++) {
		fm_learn_verdict v;

		make_row(m, s, &rng, t, row);
		fm_learn_detector_score(det, row, &v);
		assert_true(v.ready);
		/* BLAS kernels differ by CPU: equal to a few ulps */
		if (fabsf(v.score - old_scores[t]) > 1e-4f * old_scores[t])
			fail_msg("row %u: score %.9g, 0.1.0 gave %.9g", t,
			    (double)v.score, (double)old_scores[t]);
		assert_int_equal(v.alarm, t >= 23 && t <= 47);
	}
	fm_learn_detector_free(det);
	free(buf);
}

/* ---- the predictors ------------------------------------------------------ */

static void
test_predictors_load_as_before(void **state)
{
	fm_learn_model_info expect = {
		.kind = FM_LEARN_KIND_PREDICTOR,
		.schema_version = SCHEMA,
		.n_features = D,
	};
	fm_learn_predictor *pred[FM_LABEL_COUNT] = { 0 };
	fm_learn_predictor_config pc;
	fm_learn_predictor_status st;
	fm_learn_model_writer w;
	fm_learn_model_reader rd;
	fm_learn_detector_config dc;
	fm_learn_detector *det = NULL;
	uint8_t *buf, *dbuf, *again = NULL;
	size_t len, dlen, again_len, p;
	float *x;

	(void)state;
	buf = slurp(AGENT_DIR "/predictor.fmm", &len);
	predictor_config(&pc);
	assert_int_equal(fm_learn_model_decode(buf, len, &expect, &rd), 0);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		assert_int_equal(
		    fm_learn_predictor_load(&rd,
		        1 + s * FM_LEARN_PREDICTOR_SECTIONS, &pc, &pred[s]),
		    0);
		assert_int_equal(
		    fm_learn_predictor_layout_id(pred[s]), PREDICTOR_LAYOUT);
		fm_learn_predictor_status_get(pred[s], &st);
		/* only the manual source had onsets (17 positive rows) */
		assert_int_equal(st.trained, s == FM_LABEL_MANUAL);
	}
	fm_learn_predictor_status_get(pred[FM_LABEL_MANUAL], &st);
	assert_int_equal(st.n_pos, 17);
	assert_int_equal(st.n_neg, 0);
	assert_true(fabs(st.calib_a - 0.0584138416) < 1e-8);
	assert_true(fabs(st.calib_c - -0.0718730054) < 1e-8);
	p = fm_learn_predictor_n_inputs(&pc);
	x = calloc(p, sizeof(float));
	assert_non_null(x);
	for (size_t i = 0; i < p; i++)
		x[i] = (float)((int)(i % 7) - 3) * 0.25f;
	assert_true(fabs(fm_learn_predictor_predict(pred[FM_LABEL_MANUAL], x) -
	                0.495334172) < 1e-6);
	free(x);

	/* saved again as the agent saves them: the same bytes */
	assert_int_equal(fm_learn_model_writer_init(&w, &expect, NULL, 0), 0);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		assert_int_equal(fm_learn_predictor_save(pred[s],
		                     1 + s * FM_LEARN_PREDICTOR_SECTIONS, &w),
		    0);
	assert_int_equal(
	    fm_learn_model_writer_finish(&w, &again, &again_len), 0);
	fm_learn_model_writer_release(&w);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, buf, len);
	free(again);

	/* the fleet vector the aggregator's state file holds */
	dbuf = slurp(AGENT_DIR "/detector.fmm", &dlen);
	detector_config(&dc);
	assert_int_equal(fm_learn_detector_load(dbuf, dlen, &dc, &det), 0);
	assert_int_equal(
	    fm_learn_fleet_layout_id(det, pred, FM_LABEL_COUNT), FLEET_LAYOUT);
	assert_int_equal(
	    fm_learn_fleet_count(det, pred, FM_LABEL_COUNT), FLEET_PARAMS);
	fm_learn_detector_free(det);
	free(dbuf);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_learn_predictor_free(pred[s]);
	free(buf);
}

/* ---- the agent's state directory ----------------------------------------- */

static const char *const agent_files[] = { "detector.fmm", "predictor.fmm",
	"federation.state", "fed.seq" };

/* The learner loads all three model files (nothing set aside), with the
 * fleet lineage and layout 0.1.0 had, and writes the detector and the
 * predictors back byte for byte when it stops. */
static void
test_agent_learner_loads_state_dir(void **state)
{
	fm_model_learner_config c;
	fm_model_learner_status st;
	fm_model_learner *l = NULL;
	fm_model_history *h = NULL;
	fm_agent_config ac;
	uint32_t layout, n;
	char dir[64];

	(void)state;
	temp_dir(dir);
	for (size_t i = 0; i < FM_ELEMENTSOF(agent_files); i++) {
		char from[256];

		snprintf(
		    from, sizeof(from), "%s/%s", AGENT_DIR, agent_files[i]);
		copy_file(from, dir, agent_files[i]);
	}
	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", dir);
	ac.interval_ms = INTERVAL_MS;
	fm_agent_config_learner(&ac, &c);
	assert_int_equal(
	    fm_model_history_new(fm_model_learner_minutes(&c), &h), 0);
	assert_int_equal(fm_model_learner_new(&c, h, &l), 0);
	fm_model_learner_status_get(l, &st);
	assert_true(st.ready);
	/* the model's age is its file's, and the loaded manual predictor
	 * is shown trained, the others not */
	assert_true(st.trained_real_ns > 0);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		assert_int_equal(st.failure[s].trained, s == FM_LABEL_MANUAL);
	assert_int_equal(fm_model_learner_fed_version(l), FLEET_VERSION);
	fm_model_learner_fed_layout(l, &layout, &n);
	assert_int_equal(layout, FLEET_LAYOUT);
	assert_int_equal(n, FLEET_PARAMS);
	fm_model_learner_free(l);
	fm_model_history_free(h);

	assert_int_equal(count_suffix(dir, ".rejected"), 0);
	assert_true(same_bytes(dir, "detector.fmm", AGENT_DIR "/detector.fmm"));
	assert_true(
	    same_bytes(dir, "predictor.fmm", AGENT_DIR "/predictor.fmm"));
	remove_dir(dir);
}

/* The sequence lease: the next number is above 0.1.0's bound. */
static void
test_agent_seq_lease_continues(void **state)
{
	fmi_fed_lease lease = { 0 };
	uint64_t bound, next;
	uint8_t *buf;
	size_t len;
	char dir[64], path[128];

	(void)state;
	buf = slurp(AGENT_DIR "/fed.seq", &len);
	assert_int_equal(fmi_fed_lease_parse(buf, len, &bound), 0);
	assert_int_equal(bound, LEASE_BOUND);
	free(buf);

	temp_dir(dir);
	copy_file(AGENT_DIR "/fed.seq", dir, "fed.seq");
	snprintf(path, sizeof(path), "%s/fed.seq", dir);
	assert_int_equal(fmi_fed_lease_open(path, &lease), 0);
	assert_int_equal(fmi_fed_lease_next(&lease, &next), 0);
	assert_int_equal(next, LEASE_BOUND + 1);
	fmi_fed_lease_clear(&lease);
	remove_dir(dir);
}

/* ---- the aggregator's state directory ------------------------------------ */

static int
journal_check(void *userdata, uint64_t id, uint64_t seq)
{
	uint64_t *n = userdata;

	assert_int_equal(id, AGENT_KEY_ID);
	assert_int_equal(seq, JOURNAL_FIRST + *n);
	++*n;
	return 0;
}

/* The state file decodes to 0.1.0's values and encodes back to its
 * bytes; the journal's records are whole. */
static void
test_aggregator_files_decode(void **state)
{
	fmi_agg_journal_scan scan;
	fmi_agg_state s;
	uint8_t *buf, *again = NULL;
	size_t len, again_len;
	uint64_t n = 0;

	(void)state;
	buf = slurp(AGG_DIR "/aggregator.state", &len);
	assert_int_equal(fmi_agg_state_decode(buf, len, &s), 0);
	assert_int_equal(s.rule, FM_AGG_RULE_FEDAVG);
	assert_int_equal(s.last_opened, AGG_ROUND);
	assert_int_equal(s.version, AGG_VERSION);
	assert_int_equal(s.rounds_published, AGG_PUBLISHED);
	assert_int_equal(s.layout_id, FLEET_LAYOUT);
	assert_int_equal(s.n_params, FLEET_PARAMS);
	assert_int_equal(s.n_opt, 0);
	assert_int_equal(s.n_marks, 1);
	assert_int_equal(s.marks[0].id, AGENT_KEY_ID);
	assert_int_equal(s.marks[0].seq, STATE_MARK);
	assert_int_equal(fmi_agg_state_encode(&s, &again, &again_len), 0);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, buf, len);
	free(again);
	fmi_agg_state_clear(&s);
	free(buf);

	buf = slurp(AGG_DIR "/aggregator.journal", &len);
	assert_int_equal(
	    fmi_agg_journal_parse(buf, len, journal_check, &n, &scan), 0);
	assert_int_equal(n, JOURNAL_RECORDS);
	assert_int_equal(scan.records, JOURNAL_RECORDS);
	assert_int_equal(scan.dropped_bytes, 0);
	free(buf);
}

/* fm_agg_new() resumes from both files: the round, the model and its
 * parameters, and the agent's mark from the journal, which the next state
 * write folds in. */
static void
test_aggregator_resumes_state_dir(void **state)
{
	fm_agg_config c;
	fm_agg_status st;
	fm_agg_model m;
	fmi_agg_state old, now;
	fm_agg *a;
	uint8_t *buf;
	size_t len;
	char dir[64], path[128];
	fleet f;

	(void)state;
	fleet_init(&f, 1);
	temp_dir(dir);
	copy_file(AGG_DIR "/aggregator.state", dir, FM_AGG_STATE_FILE);
	copy_file(AGG_DIR "/aggregator.journal", dir, FM_AGG_JOURNAL_FILE);
	test_config(&c);
	snprintf(c.state_dir, sizeof(c.state_dir), "%s", dir);
	a = agg_start(&c, &f, 1);
	fm_agg_status_get(a, &st);
	assert_int_equal(st.round, AGG_ROUND);
	assert_int_equal(st.version, AGG_VERSION);
	assert_int_equal(st.rounds_published, AGG_PUBLISHED);
	assert_int_equal(st.layout_id, FLEET_LAYOUT);
	assert_int_equal(st.journal_dropped_bytes, 0);
	assert_int_equal(fm_agg_model_get(a, &m), 0);
	assert_int_equal(m.version, AGG_VERSION);
	assert_int_equal(m.layout_id, FLEET_LAYOUT);
	assert_int_equal(m.n_params, FLEET_PARAMS);
	buf = slurp(AGG_DIR "/aggregator.state", &len);
	assert_int_equal(fmi_agg_state_decode(buf, len, &old), 0);
	free(buf);
	assert_memory_equal(m.params, old.params, FLEET_PARAMS * sizeof(float));
	fm_agg_model_clear(&m);

	assert_int_equal(fm_agg_persist(a), 0);
	fm_agg_free(a);
	snprintf(path, sizeof(path), "%s/%s", dir, FM_AGG_STATE_FILE);
	buf = slurp(path, &len);
	assert_int_equal(fmi_agg_state_decode(buf, len, &now), 0);
	free(buf);
	assert_int_equal(now.last_opened, AGG_ROUND);
	assert_int_equal(now.version, AGG_VERSION);
	assert_int_equal(now.n_marks, 1);
	assert_int_equal(now.marks[0].id, AGENT_KEY_ID);
	assert_int_equal(now.marks[0].seq, JOURNAL_LAST);
	assert_memory_equal(
	    now.params, old.params, FLEET_PARAMS * sizeof(float));
	fmi_agg_state_clear(&now);
	fmi_agg_state_clear(&old);
	remove_dir(dir);
	fleet_free(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_detector_loads_and_scores_as_before),
		cmocka_unit_test(test_predictors_load_as_before),
		cmocka_unit_test(test_agent_learner_loads_state_dir),
		cmocka_unit_test(test_agent_seq_lease_continues),
		cmocka_unit_test(test_aggregator_files_decode),
		cmocka_unit_test(test_aggregator_resumes_state_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
