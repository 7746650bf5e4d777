/*
 * Tests for the learner state file (agent/model/keep.c): its encoding
 * round trip and every refusal of the decoder (truncated, corrupt,
 * another version, another train_rows, values out of range), and a
 * learner that is stopped, or killed between two checkpoints, coming back
 * with its samples, minute ring, counters, schedule, model age and the
 * alarm in progress; a state file that does not fit set aside without
 * losing the models. Synthetic samples, fixed seed.
 */
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "agent/model/model-int.h"
#include "learn/learn.h"
#include "tests/agent/test-util.h"

#define NS_PER_SEC 1000000000LL
#define D          FM_FEATURE_COUNT

typedef struct host {
	uint64_t rng;
	int64_t t; /* seconds */
	char dir[64];
} host;

static double
uniform(host *h)
{
	h->rng = h->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(h->rng >> 11) * 0x1.0p-53;
}

/* A quiet host, one sample a second; cpu_extra adds to cpu.user. */
static void
sample(host *h, fm_collect_sample *s, double cpu_extra)
{
	double load = 0.2 + 0.05 * uniform(h);

	for (unsigned i = 0; i < D; i++)
		s->v[i] = (float)(0.3 + 0.1 * uniform(h));
	s->v[FM_F_CPU_USER] = (float)(load + cpu_extra);
	s->v[FM_F_CPU_SYSTEM] = (float)(0.5 * load + 0.01 * uniform(h));
	s->v[FM_F_SWAP_USED] = NAN;
	s->mono_ns = h->t * NS_PER_SEC;
	s->real_ns = 1700000000000000000LL + s->mono_ns;
	h->t++;
}

static void
host_init(host *h)
{
	*h = (host) { .rng = 7 };
	snprintf(h->dir, sizeof(h->dir), "/tmp/fedmon-test-keep-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
}

static void
host_cleanup(host *h)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	assert_int_equal(system(cmd), 0);
}

static fm_model_learner_config
config(const char *dir, uint32_t train_seconds)
{
	fm_agent_config ac;
	fm_model_learner_config c;

	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", dir);
	ac.learn_train_seconds = train_seconds;
	ac.learn_min_train_seconds = 300;
	ac.learn_retrain_seconds = 3600;
	ac.learn_horizon_minutes = 5;
	fm_agent_config_learner(&ac, &c);
	/* trainings inline: what a state file holds does not depend on how
	 * fast a training thread runs */
	c.synchronous = true;
	return c;
}

static fm_model_learner_status
status(fm_model_learner *l)
{
	fm_model_learner_status st;

	fm_model_learner_status_get(l, &st);
	return st;
}

/* Feeds samples until the first training's models score (the training
 * thread runs on its own; samples keep coming meanwhile). */
static void
feed_until_ready(fm_model_learner *l, host *h)
{
	fm_collect_sample s;

	for (int i = 0; i < 20000; i++) {
		sample(h, &s, 0.0);
		fm_model_learner_on_sample(l, &s, 0);
		if (status(l).ready)
			return;
		if (status(l).training)
			usleep(1000);
	}
	fail_msg("the learner never became ready");
}

/* Feeds a CPU burst until an alarm is up. */
static void
feed_until_alarm(fm_model_learner *l, host *h)
{
	fm_collect_sample s;

	for (int i = 0; i < 60; i++) {
		sample(h, &s, 0.7);
		fm_model_learner_on_sample(l, &s, 0);
		if (status(l).alarm)
			return;
	}
	fail_msg("no alarm");
}

static void
path_of(const host *h, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", h->dir, name);
}

static bool
exists(const host *h, const char *name)
{
	char path[128];
	struct stat sb;

	path_of(h, name, path, sizeof(path));
	return stat(path, &sb) == 0;
}

static void
read_file(const host *h, const char *name, uint8_t **buf, size_t *len)
{
	char path[128];

	path_of(h, name, path, sizeof(path));
	assert_int_equal(fm_file_read_all(path, 64u << 20, buf, len), 0);
}

static void
write_file(const host *h, const char *name, const uint8_t *buf, size_t len)
{
	char path[128];

	path_of(h, name, path, sizeof(path));
	assert_int_equal(fm_file_write_atomic(path, buf, len, 0600), 0);
}

/* ---- the file ------------------------------------------------------------ */

/* A state with a little of everything: 3 rows (one masked value), 4
 * minutes with a gap, counters, an alarm. */
static void
keep_example(fmi_model_keep *k, float *rows, fm_model_history_minute *m)
{
	*k = (fmi_model_keep) {
		.saved_real_ns = 1700000123000000000LL,
		.scored = 12345,
		.alarms = 7,
		.trainings = 3,
		.train_failures = 1,
		.trained_real_ns = 1700000100000000000LL,
		.trained_rows = 64,
		.train_cpu_seconds = 0.25,
		.last_train_real_ns = 1700000090000000000LL,
		.alarm = true,
		.events = 9,
		.accepts = 2,
		.seen_rows = 86400,
		.trained_n = 64,
		.alarm_rows = 2,
		.accepting = false,
		.held_labels = FM_LABEL_BIT(FM_LABEL_FS_FULL),
		.pend_held = 2, /* the alarm's: the last 2 rows again */
		.pend = rows + D,
		.train_rows = 100,
		.rows_held = 3,
		.rows = rows,
		.n_minutes = 4,
		.minutes = m,
	};
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		k->onsets[s] = s;
		k->probability[s] = 0.125f * (float)s;
	}
	for (size_t i = 0; i < 3 * D; i++)
		rows[i] = (float)i / 7.0f;
	rows[5] = NAN;
	memset(m, 0, 4 * sizeof(*m));
	for (unsigned i = 0; i < 4; i++) {
		/* minutes 0, 1, 2 and, after a gap, 9 */
		m[i].real_ns = (28333330LL + (i < 3 ? i : 9)) * 60 * NS_PER_SEC;
		m[i].count = 60 - i;
		m[i].label_onsets = i == 2 ? FM_LABEL_BIT(FM_LABEL_OOM) : 0;
		m[i].score = 0.5f * (float)i;
		for (unsigned f = 0; f < D; f++) {
			m[i].mean[f] = (float)(i + f);
			m[i].min[f] = (float)(i + f) - 1.0f;
			m[i].max[f] = (float)(i + f) + 1.0f;
		}
		m[i].mean[3] = m[i].min[3] = m[i].max[3] = NAN;
	}
	/* the minute being aggregated: 30 samples, feature 3 masked */
	k->has_current = true;
	k->current = m[3];
	k->current.real_ns += 60 * NS_PER_SEC;
	k->current.count = 30;
	k->current.label_onsets = FM_LABEL_BIT(FM_LABEL_MANUAL);
	for (unsigned f = 0; f < D; f++)
		k->current_n[f] = f == 3 ? 0 : 30;
}

static void
test_keep_round_trip(void **state)
{
	fm_model_history_minute m[4];
	float rows[3 * D];
	fmi_model_keep k, got;
	uint8_t *buf, *again;
	size_t len, again_len;

	(void)state;
	keep_example(&k, rows, m);
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), 0);
	assert_int_equal(fmi_model_keep_decode(buf, len, 100, 1440, &got), 0);
	assert_int_equal(got.saved_real_ns, k.saved_real_ns);
	assert_int_equal(got.scored, 12345);
	assert_int_equal(got.alarms, 7);
	assert_int_equal(got.trainings, 3);
	assert_int_equal(got.train_failures, 1);
	assert_int_equal(got.trained_real_ns, k.trained_real_ns);
	assert_int_equal(got.trained_rows, 64);
	assert_true(got.train_cpu_seconds == 0.25);
	assert_int_equal(got.last_train_real_ns, k.last_train_real_ns);
	assert_true(got.alarm);
	assert_int_equal(got.events, 9);
	assert_int_equal(got.accepts, 2);
	assert_int_equal(got.seen_rows, 86400);
	assert_int_equal(got.trained_n, 64);
	assert_int_equal(got.alarm_rows, 2);
	assert_false(got.accepting);
	assert_int_equal(got.held_labels, FM_LABEL_BIT(FM_LABEL_FS_FULL));
	assert_int_equal(got.pend_held, 2);
	for (size_t i = 0; i < 2 * D; i++)
		assert_true(i + D == 5 ? isnan(got.pend[i])
		                       : got.pend[i] == rows[D + i]);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		assert_int_equal(got.onsets[s], s);
		assert_true(got.probability[s] == k.probability[s]);
	}
	assert_int_equal(got.rows_held, 3);
	for (size_t i = 0; i < 3 * D; i++)
		assert_true(
		    i == 5 ? isnan(got.rows[i]) : got.rows[i] == rows[i]);
	assert_int_equal(got.n_minutes, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(got.minutes[i].real_ns, m[i].real_ns);
		assert_int_equal(got.minutes[i].count, m[i].count);
		assert_int_equal(
		    got.minutes[i].label_onsets, m[i].label_onsets);
		assert_true(got.minutes[i].score == m[i].score);
		assert_true(isnan(got.minutes[i].mean[3]));
		assert_true(got.minutes[i].max[D - 1] == m[i].max[D - 1]);
		assert_true(got.minutes[i].min[0] == m[i].min[0]);
	}
	assert_true(got.has_current);
	assert_int_equal(got.current.real_ns, k.current.real_ns);
	assert_int_equal(got.current.count, 30);
	assert_int_equal(got.current.label_onsets, k.current.label_onsets);
	assert_memory_equal(got.current_n, k.current_n, sizeof(k.current_n));
	assert_true(got.current.max[D - 1] == k.current.max[D - 1]);
	/* one encoding: decoding and encoding again gives the same bytes */
	assert_int_equal(fmi_model_keep_encode(&got, &again, &again_len), 0);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, buf, len);
	fmi_model_keep_release(&got);
	fmi_model_keep_release(NULL);
	free(again);
	free(buf);
}

static void
test_keep_decode_refuses_bad_files(void **state)
{
	fm_model_history_minute m[4];
	float rows[3 * D];
	fmi_model_keep k, got;
	uint8_t *buf;
	size_t len;

	(void)state;
	keep_example(&k, rows, m);
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), 0);
	/* truncated anywhere, or one bit flipped: refused, *ret zeroed */
	for (size_t cut = 0; cut < len; cut += 97) {
		memset(&got, 0xa5, sizeof(got));
		assert_true(
		    fmi_model_keep_decode(buf, cut, 100, 1440, &got) < 0);
		assert_null(got.rows);
		assert_null(got.minutes);
	}
	assert_int_equal(
	    fmi_model_keep_decode(buf, len - 1, 100, 1440, &got), -EBADMSG);
	for (size_t at = 12; at < len; at += 61) {
		buf[at] ^= 0x10;
		assert_int_equal(
		    fmi_model_keep_decode(buf, len, 100, 1440, &got), -EBADMSG);
		buf[at] ^= 0x10;
	}
	buf[0] ^= 1;
	assert_int_equal(
	    fmi_model_keep_decode(buf, len, 100, 1440, &got), -EPROTO);
	buf[0] ^= 1;
	buf[8] ^= 1; /* the container's version */
	assert_int_equal(
	    fmi_model_keep_decode(buf, len, 100, 1440, &got), -EPROTONOSUPPORT);
	buf[8] ^= 1;
	/* another configuration: train_rows, a ring too short */
	assert_int_equal(
	    fmi_model_keep_decode(buf, len, 101, 1440, &got), -ESTALE);
	assert_int_equal(
	    fmi_model_keep_decode(buf, len, 100, 3, &got), -ESTALE);
	assert_int_equal(
	    fmi_model_keep_decode(buf, len, 0, 1440, &got), -EINVAL);
	assert_int_equal(fmi_model_keep_decode(buf, len, 100, 1440, &got), 0);
	fmi_model_keep_release(&got);
	free(buf);
	/* what the encoder refuses: rows past the ring, a minute not whole
	 * or too far from the newest */
	k.rows_held = 101;
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), -EINVAL);
	k.rows_held = 3;
	m[1].real_ns = m[0].real_ns + 60 * NS_PER_SEC + 1;
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), -EINVAL);
	m[1].real_ns = m[3].real_ns - (1LL << 24) * 60 * NS_PER_SEC;
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), -EINVAL);
	m[1].real_ns = m[3].real_ns + (1LL << 24) * 60 * NS_PER_SEC;
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), -EINVAL);
	/* the wall clock stepped back: a minute again, or one later than
	 * the newest, is kept as it is */
	m[1].real_ns = m[0].real_ns;
	m[2].real_ns = m[3].real_ns + 5 * 60 * NS_PER_SEC;
	assert_int_equal(fmi_model_keep_encode(&k, &buf, &len), 0);
	assert_int_equal(fmi_model_keep_decode(buf, len, 100, 1440, &got), 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(got.minutes[i].real_ns, m[i].real_ns);
	fmi_model_keep_release(&got);
	free(buf);
}

/* Writes a state file with the writer directly: version, train_rows,
 * then what fill() adds, so every field check can be reached with a
 * valid checksum. */
static void
craft(uint32_t version, void (*fill)(fm_learn_model_writer *w, int bad),
    int bad, uint8_t **buf, size_t *len)
{
	fm_learn_model_info info = {
		.kind = 0x100,
		.schema_version = FM_COLLECT_SCHEMA_VERSION,
		.n_features = D,
	};
	fm_learn_model_writer w;

	assert_int_equal(fm_learn_model_writer_init(&w, &info, NULL, 0), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 1, version), 0);
	assert_int_equal(fm_learn_model_writer_put_u32(&w, 2, 100), 0);
	assert_int_equal(
	    fm_learn_model_writer_put_u32(&w, 3, FM_LABEL_COUNT), 0);
	fill(&w, bad);
	assert_int_equal(fm_learn_model_writer_finish(&w, buf, len), 0);
}

/* The sections after the first three, with field bad (1..) wrong. */
static void
fill(fm_learn_model_writer *w, int bad)
{
	float p[FM_LABEL_COUNT] = { 0 }, row[2 * D] = { 0 };
	float age[2] = { 1, 0 }, count[2] = { 60, 60 }, on[2] = { 0, 1 };
	float score[2] = { 0, 0 }, mm[2 * D] = { 0 };
	float cn[D] = { 0 }, cm[D] = { 0 };
	int r = 0;

	if (bad == 1)
		p[0] = 1.5f;
	if (bad == 2)
		row[3] = INFINITY;
	if (bad == 3)
		age[0] = 0.5f; /* not whole */
	if (bad == 14)
		age[0] = (float)(1u << 24); /* too far */
	if (bad == 4)
		age[1] = 1; /* the newest is not 0 */
	if (bad == 5)
		count[0] = 0;
	if (bad == 6)
		on[1] = (float)FM_LABEL_BIT(FM_LABEL_COUNT);
	r |= fm_learn_model_writer_put_u64(w, 4, 1);
	r |= fm_learn_model_writer_put_u64(w, 16, 10);
	r |= fm_learn_model_writer_put_u64(w, 17, 1);
	r |= fm_learn_model_writer_put_u32(w, 18, 1);
	r |= fm_learn_model_writer_put_u32(w, 19, 0);
	r |= fm_learn_model_writer_put_u64(
	    w, 20, bad == 7 ? UINT64_MAX : 1700000000000000000ull);
	r |= fm_learn_model_writer_put_u32(w, 21, bad == 8 ? 101 : 64);
	r |= fm_learn_model_writer_put_f64(w, 22, bad == 9 ? NAN : 0.5);
	r |= fm_learn_model_writer_put_u64(w, 23, 0);
	r |= fm_learn_model_writer_put_u32(w, 24, bad == 10 ? 2 : 1);
	r |= fm_learn_model_writer_put_f32(w, 25, 0, p, FM_LABEL_COUNT);
	/* learning through alarms: events, accepts, seen, the last
	 * training's rows, the alarm's samples, taken as normal */
	r |= fm_learn_model_writer_put_u64(w, 26, 2);
	r |= fm_learn_model_writer_put_u64(w, 27, 0);
	r |= fm_learn_model_writer_put_u64(w, 28, 700);
	r |= fm_learn_model_writer_put_u32(w, 29, bad == 20 ? 101 : 64);
	r |= fm_learn_model_writer_put_u32(w, 30, 1);
	r |= fm_learn_model_writer_put_u32(w, 31, bad == 21 ? 2 : 0);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		r |= fm_learn_model_writer_put_u64(w, 32 + s, 0);
	/* a row and a half */
	r |= fm_learn_model_writer_put_f32(
	    w, 48, 0, row, bad == 11 ? D + D / 2 : 2 * D);
	r |= fm_learn_model_writer_put_u64(
	    w, 64, bad == 12 ? (uint64_t)INT64_MAX : 28333333);
	r |= fm_learn_model_writer_put_f32(w, 65, 0, age, 2);
	r |= fm_learn_model_writer_put_f32(w, 66, 0, count, 2);
	r |= fm_learn_model_writer_put_f32(w, 67, 0, on, 2);
	r |= fm_learn_model_writer_put_f32(w, 68, 0, score, 2);
	r |= fm_learn_model_writer_put_f32(w, 69, 0, mm, 2 * D);
	r |= fm_learn_model_writer_put_f32(w, 70, 0, mm, 2 * D);
	/* a minute short */
	if (bad != 13)
		r |= fm_learn_model_writer_put_f32(w, 71, 0, mm, 2 * D);
	else
		r |= fm_learn_model_writer_put_f32(w, 71, 0, mm, D);
	/* the minute being aggregated: 20 samples, feature 0 in 10 */
	cn[0] = bad == 15 ? 21.0f : 10.0f;
	cm[0] = bad == 16 ? NAN : 1.0f;
	r |= fm_learn_model_writer_put_u64(w, 80, 28333334);
	r |= fm_learn_model_writer_put_u32(w, 81, 20);
	r |= fm_learn_model_writer_put_u32(w, 82, bad == 17 ? 1u << 20 : 2);
	r |= fm_learn_model_writer_put_f64(w, 83, bad == 18 ? 0.1 : 0.5);
	r |= fm_learn_model_writer_put_f32(w, 84, 0, cn, D);
	r |= fm_learn_model_writer_put_f32(w, 85, 0, cm, D);
	r |= fm_learn_model_writer_put_f32(w, 86, 0, cm, D);
	if (bad != 19)
		r |= fm_learn_model_writer_put_f32(w, 87, 0, cm, D);
	r |= fm_learn_model_writer_put_u32(
	    w, 88, bad == 22 ? FM_LABEL_BIT(FM_LABEL_COUNT) : 0);
	/* the alarm's one sample waiting; half a row, or an infinity */
	if (bad == 24)
		row[D] = INFINITY;
	r |= fm_learn_model_writer_put_f32(
	    w, 96, 0, row + D, bad == 23 ? D / 2 : D);
	assert_int_equal(r, 0);
}

static void
test_keep_decode_checks_every_value(void **state)
{
	fmi_model_keep got;
	uint8_t *buf;
	size_t len;

	(void)state;
	craft(FMI_MODEL_KEEP_VERSION, fill, 0, &buf, &len);
	assert_int_equal(fmi_model_keep_decode(buf, len, 100, 10, &got), 0);
	assert_int_equal(got.rows_held, 2);
	assert_int_equal(got.n_minutes, 2);
	assert_int_equal(got.minutes[1].real_ns, 28333333LL * 60 * NS_PER_SEC);
	assert_int_equal(got.minutes[1].label_onsets, 1);
	assert_true(got.has_current);
	assert_int_equal(got.current.real_ns, 28333334LL * 60 * NS_PER_SEC);
	assert_int_equal(got.current.count, 20);
	assert_int_equal(got.current.label_onsets, 2);
	assert_int_equal(got.current_n[0], 10);
	assert_int_equal(got.current_n[1], 0);
	fmi_model_keep_release(&got);
	free(buf);
	craft(FMI_MODEL_KEEP_VERSION + 1, fill, 0, &buf, &len);
	assert_int_equal(
	    fmi_model_keep_decode(buf, len, 100, 10, &got), -EPROTONOSUPPORT);
	free(buf);
	for (int bad = 1; bad <= 24; bad++) {
		craft(FMI_MODEL_KEEP_VERSION, fill, bad, &buf, &len);
		memset(&got, 0xa5, sizeof(got));
		if (fmi_model_keep_decode(buf, len, 100, 10, &got) != -EBADMSG)
			fail_msg("field %d: not refused", bad);
		assert_null(got.rows);
		assert_null(got.minutes);
		free(buf);
	}
}

/* ---- the learner across restarts -------------------------------------- */

/* Stopped in an alarm and started again: everything continues. */
static void
test_keep_restart_continues(void **state)
{
	fm_model_history_minute cur_a, cur_b;
	uint32_t cur_n[D];
	fm_model_learner_status a, b;
	fm_model_learner_config c;
	fm_model_learner *l;
	fm_collect_sample s;
	uint32_t minutes;
	host h;

	(void)state;
	host_init(&h);
	c = config(h.dir, 600);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	feed_until_ready(l, &h);
	feed_until_alarm(l, &h);
	a = status(l);
	minutes = fm_model_history_minute_count(fm_test_learner_history(l));
	assert_true(minutes >= 5);
	assert_true(fm_model_history_current(
	    fm_test_learner_history(l), &cur_a, cur_n));
	assert_true(a.alarm);
	assert_int_equal(a.alarms, 1);
	fm_test_learner_free(l);

	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	b = status(l);
	assert_true(b.ready);
	assert_true(b.alarm);
	assert_int_equal(b.alarms, a.alarms);
	assert_int_equal(b.scored, a.scored);
	assert_int_equal(b.trainings, a.trainings);
	assert_int_equal(b.rows_held, a.rows_held);
	assert_int_equal(b.trained_real_ns, a.trained_real_ns);
	assert_int_equal(b.trained_rows, a.trained_rows);
	assert_int_equal(
	    fm_model_history_minute_count(fm_test_learner_history(l)), minutes);
	/* and the minute being aggregated, with its samples so far */
	assert_true(fm_model_history_current(
	    fm_test_learner_history(l), &cur_b, cur_n));
	assert_int_equal(cur_b.real_ns, cur_a.real_ns);
	assert_int_equal(cur_b.count, cur_a.count);
	assert_true(cur_b.score == cur_a.score);
	assert_true(cur_b.max[FM_F_CPU_USER] == cur_a.max[FM_F_CPU_USER]);
	/* the alarm goes on: not a new onset */
	sample(&h, &s, 0.7);
	fm_model_learner_on_sample(l, &s, 0);
	b = status(l);
	assert_true(b.alarm);
	assert_int_equal(b.alarms, a.alarms);
	assert_int_equal(b.scored, a.scored + 1);
	/* the schedule continues: the next training an hour after the
	 * last, not at once (rows_held is far above min_rows) */
	for (int i = 0; i < 100; i++) {
		sample(&h, &s, 0.0);
		fm_model_learner_on_sample(l, &s, 0);
	}
	b = status(l);
	assert_false(b.training);
	assert_int_equal(b.trainings, a.trainings);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* Copies the state directory's files aside: what a SIGKILL leaves. */
static void
snapshot(const host *h, const char *to)
{
	char cmd[512];

	snprintf(
	    cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, h->dir, to);
	assert_int_equal(system(cmd), 0);
}

/* Killed (no exit path runs): the last checkpoint, at most
 * FM_MODEL_LEARNER_KEEP_SECONDS of samples old, is what comes back. */
static void
test_keep_checkpoint_survives_a_kill(void **state)
{
	fm_model_learner_status a, b;
	fm_model_learner_config c;
	fm_model_learner *l, *l2;
	fm_collect_sample s;
	char dead[96];
	host h;

	(void)state;
	host_init(&h);
	snprintf(dead, sizeof(dead), "%s.killed", h.dir);
	c = config(h.dir, 600);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	/* before the first training: the samples are kept already */
	for (int i = 0; i < (int)FM_MODEL_LEARNER_KEEP_SECONDS + 1; i++) {
		sample(&h, &s, 0.0);
		fm_model_learner_on_sample(l, &s, 0);
	}
	assert_true(exists(&h, FM_MODEL_LEARNER_STATE_FILE));
	/* a checkpoint follows the training, at the sample that adopts
	 * its models */
	feed_until_ready(l, &h);
	a = status(l);
	snapshot(&h, dead);
	/* samples after the checkpoint, an alarm: lost with the process */
	feed_until_alarm(l, &h);
	c = config(dead, 600);
	assert_int_equal(fm_test_learner_new(&c, &l2), 0);
	b = status(l2);
	assert_true(b.ready);
	assert_false(b.alarm);
	assert_int_equal(b.trainings, 1);
	assert_int_equal(b.scored, a.scored);
	assert_int_equal(b.rows_held, a.rows_held);
	assert_int_equal(b.trained_real_ns, a.trained_real_ns);
	fm_test_learner_free(l2);

	/* the alarm goes on until a checkpoint: killed then, it is still
	 * in progress after the restart, and not a new onset */
	for (int i = 0; i < (int)FM_MODEL_LEARNER_KEEP_SECONDS + 1; i++) {
		sample(&h, &s, 0.7);
		fm_model_learner_on_sample(l, &s, 0);
	}
	a = status(l);
	assert_true(a.alarm);
	snapshot(&h, dead);
	fm_test_learner_free(l);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	b = status(l);
	assert_true(b.alarm);
	assert_int_equal(b.alarms, a.alarms);
	assert_true(b.scored > a.scored - FM_MODEL_LEARNER_KEEP_SECONDS);
	sample(&h, &s, 0.7);
	fm_model_learner_on_sample(l, &s, 0);
	b = status(l);
	assert_true(b.alarm);
	assert_int_equal(b.alarms, a.alarms);
	fm_test_learner_free(l);
	fm_test_tmpdir_remove(dead);
	host_cleanup(&h);
}

/* A state file for another configuration or damaged on disk: set aside,
 * the learner starts without it, and keeps its models. */
static void
test_keep_bad_file_is_set_aside(void **state)
{
	fm_model_learner_status b;
	fm_model_learner_config c;
	fm_model_learner *l;
	uint8_t *buf;
	size_t len;
	host h;

	(void)state;
	host_init(&h);
	c = config(h.dir, 600);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	feed_until_ready(l, &h);
	fm_test_learner_free(l);
	read_file(&h, FM_MODEL_LEARNER_STATE_FILE, &buf, &len);

	/* train_seconds changed: another ring */
	c = config(h.dir, 700);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	b = status(l);
	assert_true(b.ready);
	assert_int_equal(b.rows_held, 0);
	assert_int_equal(b.scored, 0);
	assert_int_equal(b.trainings, 0);
	assert_false(exists(&h, FM_MODEL_LEARNER_STATE_FILE));
	assert_true(exists(&h, FM_MODEL_LEARNER_STATE_FILE ".rejected"));
	fm_test_learner_free(l);

	/* truncated, then one byte flipped */
	c = config(h.dir, 600);
	write_file(&h, FM_MODEL_LEARNER_STATE_FILE, buf, len / 2);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	b = status(l);
	assert_true(b.ready);
	assert_int_equal(b.rows_held, 0);
	assert_false(exists(&h, FM_MODEL_LEARNER_STATE_FILE));
	fm_test_learner_free(l);
	buf[len / 3] ^= 0x40;
	write_file(&h, FM_MODEL_LEARNER_STATE_FILE, buf, len);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	b = status(l);
	assert_true(b.ready);
	assert_int_equal(b.scored, 0);
	assert_false(exists(&h, FM_MODEL_LEARNER_STATE_FILE));
	fm_test_learner_free(l);
	/* intact: loaded */
	buf[len / 3] ^= 0x40;
	write_file(&h, FM_MODEL_LEARNER_STATE_FILE, buf, len);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	b = status(l);
	assert_true(b.rows_held > 0);
	assert_true(b.scored > 0);
	fm_test_learner_free(l);
	free(buf);
	host_cleanup(&h);
}

/* Writes the seed corpus of tests/fuzz/fuzz-keep.c (train_rows 100, a
 * ring of 16 minutes) into dir: `test-agent-keep --corpus DIR`. */
static int
write_corpus(const char *dir)
{
	fm_model_history_minute m[4];
	float rows[3 * D];
	fmi_model_keep k;
	char path[512];
	uint8_t *buf;
	size_t len;

	keep_example(&k, rows, m);
	if (fmi_model_keep_encode(&k, &buf, &len) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/example", dir);
	if (fm_file_write_atomic(path, buf, len, 0644) < 0)
		return 1;
	free(buf);
	k = (fmi_model_keep) { .train_rows = 100 };
	if (fmi_model_keep_encode(&k, &buf, &len) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/empty", dir);
	if (fm_file_write_atomic(path, buf, len, 0644) < 0)
		return 1;
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keep_round_trip),
		cmocka_unit_test(test_keep_decode_refuses_bad_files),
		cmocka_unit_test(test_keep_decode_checks_every_value),
		cmocka_unit_test(test_keep_restart_continues),
		cmocka_unit_test(test_keep_checkpoint_survives_a_kill),
		cmocka_unit_test(test_keep_bad_file_is_set_aside),
	};

	if (argc == 3 && strcmp(argv[1], "--corpus") == 0)
		return write_corpus(argv[2]);
	fm_learn_blas_single_thread();
	fm_log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
