/*
 * Tests for the learner (agent/model/score.c, train.c, store.c):
 * training in the background without holding up samples, every sample
 * scored, alarms with named features, models persisted and loaded across
 * restarts, a corrupt file set aside, label onsets reaching the failure
 * predictors. Synthetic samples, fixed seed.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/agent.h"
#include "learn/learn.h"
#include "tests/agent/test-util.h"

#define INTERVAL_MS 1000
#define NS_PER_MS   1000000LL

typedef struct host {
	uint64_t rng;
	int64_t t;
	char dir[64];
} host;

static double
uniform(host *h)
{
	h->rng = h->rng * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(h->rng >> 11) * 0x1.0p-53;
}

/* A quiet host: every feature a level plus noise; cpu.user and
 * cpu.system move together. */
static void
sample(host *h, fm_collect_sample *s, double cpu_extra)
{
	double load = 0.2 + 0.05 * uniform(h);

	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		s->v[i] = (float)(0.3 + 0.1 * uniform(h));
	s->v[FM_F_CPU_USER] = (float)(load + cpu_extra);
	s->v[FM_F_CPU_SYSTEM] = (float)(0.5 * load + 0.01 * uniform(h));
	s->v[FM_F_SWAP_USED] = NAN; /* no swap on this host */
	s->mono_ns = h->t * INTERVAL_MS * NS_PER_MS;
	s->real_ns = 1700000000000000000LL + s->mono_ns;
	h->t++;
}

static fm_model_learner_config
config(const host *h)
{
	fm_agent_config ac;
	fm_model_learner_config c;

	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", h->dir);
	ac.learn_train_seconds = 600;
	ac.learn_min_train_seconds = 300;
	ac.learn_retrain_seconds = 300;
	ac.learn_horizon_minutes = 5;
	ac.learn_mature_seconds = 0; /* no young model's caution */
	fm_agent_config_learner(&ac, &c);
	return c;
}

static void
host_init(host *h)
{
	*h = (host) { .rng = 42 };
	snprintf(h->dir, sizeof(h->dir), "/tmp/fedmon-test-learner-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
}

static void
host_cleanup(host *h)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	assert_int_equal(system(cmd), 0);
}

/* Feeds samples until the learner has a trained model (the training
 * thread runs on its own; samples keep coming meanwhile). */
static void
feed_until_ready(fm_model_learner *l, host *h)
{
	fm_model_learner_status st;
	fm_collect_sample s;

	for (int i = 0; i < 20000; i++) {
		sample(h, &s, 0.0);
		fm_model_learner_on_sample(l, &s, 0);
		fm_model_learner_status_get(l, &st);
		if (st.ready)
			return;
		if (st.training)
			usleep(1000);
	}
	fail_msg("the learner never became ready");
}

static void
test_learner_trains_in_background_and_scores(void **state)
{
	fm_model_learner_status st;
	fm_model_learner_config c;
	fm_model_learner *l;
	fm_collect_sample s;
	bool named = false;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_learner_status_get(l, &st);
	assert_false(st.ready);
	feed_until_ready(l, &h);
	fm_model_learner_status_get(l, &st);
	assert_int_equal(st.trainings, 1);
	assert_true(st.trained_rows >= c.min_rows);
	assert_true(st.train_cpu_seconds > 0.0);
	assert_true(st.trained_real_ns > 0);
	assert_int_equal(st.scored, (uint64_t)h.t);
	/* a CPU burst far outside anything seen: an alarm naming cpu.user */
	for (int i = 0; i < 20; i++) {
		sample(&h, &s, 0.7);
		fm_model_learner_on_sample(l, &s, 0);
		fm_model_learner_status_get(l, &st);
		if (st.alarm && st.n_top > 0)
			named |= st.top[0] == FM_F_CPU_USER ||
			    st.top[1] == FM_F_CPU_USER;
	}
	assert_true(st.alarm);
	assert_true(named);
	assert_int_equal(st.alarms, 1);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

static void
test_learner_models_survive_a_restart(void **state)
{
	fm_model_learner_status st, before;
	fm_model_learner_config c;
	fm_model_learner *l;
	char path[128];
	struct stat sb;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	feed_until_ready(l, &h);
	fm_model_learner_status_get(l, &before);
	fm_test_learner_free(l);
	snprintf(
	    path, sizeof(path), "%s/%s", h.dir, FM_MODEL_LEARNER_DETECTOR_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/%s", h.dir,
	    FM_MODEL_LEARNER_PREDICTOR_FILE);
	assert_int_equal(stat(path, &sb), 0);
	/* a new process: ready before its first sample, with the model's
	 * true age, that of its training (status said "model from never",
	 * then the file's time, which the exit rewrote) */
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_learner_status_get(l, &st);
	assert_true(st.ready);
	assert_true(before.trained_real_ns > 0);
	assert_true(st.trained_real_ns == before.trained_real_ns);
	fm_test_learner_free(l);
	/* without the state file (an older version's state_dir) the age is
	 * still known: the detector file's time */
	snprintf(
	    path, sizeof(path), "%s/%s", h.dir, FM_MODEL_LEARNER_STATE_FILE);
	assert_int_equal(unlink(path), 0);
	snprintf(
	    path, sizeof(path), "%s/%s", h.dir, FM_MODEL_LEARNER_DETECTOR_FILE);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_learner_status_get(l, &st);
	assert_true(st.ready);
	assert_true(st.trained_real_ns ==
	    (int64_t)sb.st_mtim.tv_sec * FM_NSEC_PER_SEC + sb.st_mtim.tv_nsec);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

static void
test_learner_sets_a_corrupt_model_aside(void **state)
{
	fm_model_learner_status st;
	fm_model_learner_config c;
	fm_model_learner *l;
	char path[128], rejected[160];
	struct stat sb;
	FILE *f;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	snprintf(
	    path, sizeof(path), "%s/%s", h.dir, FM_MODEL_LEARNER_DETECTOR_FILE);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("FEDMONMD this is not a model", f);
	fclose(f);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_learner_status_get(l, &st);
	assert_false(st.ready);
	snprintf(rejected, sizeof(rejected), "%s.rejected", path);
	assert_int_equal(stat(rejected, &sb), 0);
	assert_int_equal(stat(path, &sb), -1);
	/* and it learns afresh */
	feed_until_ready(l, &h);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* Feeds an hour of samples with an OOM onset every 20 minutes, each
 * after 3 minutes of rising memory use, and waits for the training that
 * learns from them. */
static void
feed_oom_hour(fm_model_learner *l, host *h)
{
	fm_model_learner_status st;
	fm_collect_sample s;

	for (int i = 0; i < 3600; i++) {
		uint32_t onsets = 0;
		int phase = i % 1200;

		sample(h, &s, 0.0);
		if (phase >= 1020)
			s.v[FM_F_MEM_USED] =
			    (float)(0.5 + (phase - 1020) / 400.0);
		if (phase == 1199)
			onsets = FM_LABEL_BIT(FM_LABEL_OOM);
		fm_model_learner_on_sample(l, &s, onsets);
	}
	for (int i = 0; i < 5000; i++) {
		fm_model_learner_status_get(l, &st);
		if (!st.training && st.failure[FM_LABEL_OOM].onsets > 0)
			break;
		usleep(1000);
		sample(h, &s, 0.0);
		fm_model_learner_on_sample(l, &s, 0);
	}
}

static void
test_learner_label_onsets_train_the_predictor(void **state)
{
	fm_model_learner_status st;
	fm_model_learner_config c;
	fm_model_learner *l;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.retrain_seconds = 1; /* every sample after the minimum */
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	feed_oom_hour(l, &h);
	fm_model_learner_status_get(l, &st);
	assert_true(st.failure[FM_LABEL_OOM].onsets >= 2);
	assert_true(st.failure[FM_LABEL_OOM].trained);
	assert_false(st.failure[FM_LABEL_HEALTH].trained);
	/* the onsets the weights rest on, fewer than the shipped minimum
	 * of 3 here or not: the status says whether they may act */
	assert_int_equal(st.failure_min_events, 3);
	assert_true(st.failure[FM_LABEL_OOM].events >= 2);
	assert_int_equal(st.failure[FM_LABEL_OOM].trusted,
	    st.failure[FM_LABEL_OOM].events >= 3);
	assert_false(st.failure[FM_LABEL_HEALTH].trusted);
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++)
		assert_true(st.failure[i].probability >= 0.0f &&
		    st.failure[i].probability <= 1.0f);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* Feeds samples until the learner's models descend from fleet version
 * (a training already running when the offer came finishes first). */
static void
feed_until_version(fm_model_learner *l, host *h, uint64_t version)
{
	fm_collect_sample s;

	for (int i = 0; i < 20000; i++) {
		sample(h, &s, 0.0);
		fm_model_learner_on_sample(l, &s, 0);
		if (fm_model_learner_fed_version(l) == version)
			return;
		usleep(1000);
	}
	fail_msg("the learner never trained on fleet version %llu",
	    (unsigned long long)version);
}

/* Federation's hand-over: the local model's update (lineage 0), a fleet
 * model offered and trained on at once (not after retrain_seconds), the
 * update then made from it, its version kept across a restart; bad
 * offers refused whole. */
static void
test_learner_federation_hand_over(void **state)
{
	fm_model_learner_config c;
	fm_model_learner_global g;
	fm_model_learner_update u;
	fm_model_learner *l;
	uint32_t layout, n;
	float *p, *q, bad = NAN;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.retrain_seconds = 86400;
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	fm_model_learner_fed_layout(l, &layout, &n);
	assert_true(n > 0);
	assert_int_not_equal(layout, 0);
	p = calloc(n, sizeof(float));
	q = calloc(n, sizeof(float));
	assert_non_null(p);
	assert_non_null(q);
	assert_int_equal(fm_model_learner_fed_update(l, p, n, &u), -ENODATA);
	assert_int_equal(fm_model_learner_fed_version(l), 0);
	feed_until_ready(l, &h);
	assert_int_equal(
	    fm_model_learner_fed_update(l, p, n - 1, &u), -ENOBUFS);
	assert_int_equal(fm_model_learner_fed_update(l, p, n, &u), 0);
	assert_int_equal(u.base_version, 0);
	assert_int_equal(u.layout_id, layout);
	assert_int_equal(u.n_params, n);
	assert_true(u.samples >= c.min_rows);
	assert_true(isfinite(u.loss));

	g = (fm_model_learner_global) { .version = 7,
		.layout_id = layout,
		.n_params = n,
		.params = p,
		.prox_mu = 0.1f,
		.local_steps = 50 };
	g.layout_id = layout + 1;
	assert_int_equal(fm_model_learner_fed_offer(l, &g), -ESTALE);
	g.layout_id = layout;
	g.n_params = n - 1;
	assert_int_equal(fm_model_learner_fed_offer(l, &g), -EINVAL);
	g.n_params = n;
	g.version = 0;
	assert_int_equal(fm_model_learner_fed_offer(l, &g), -EINVAL);
	g.version = 7;
	q[0] = bad;
	g.params = q;
	assert_int_equal(fm_model_learner_fed_offer(l, &g), -EDOM);
	g.params = p;
	assert_int_equal(fm_model_learner_fed_offer(l, &g), 0);
	/* retrain_seconds is a day: only the offer can start a training
	 * within the 20000 samples fed at most */
	feed_until_version(l, &h, 7);
	assert_int_equal(fm_model_learner_fed_update(l, q, n, &u), 0);
	assert_int_equal(u.base_version, 7);
	fm_test_learner_free(l);

	/* the lineage survives a restart */
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	assert_int_equal(fm_model_learner_fed_version(l), 7);
	fm_test_learner_free(l);
	free(p);
	free(q);
	host_cleanup(&h);
}

/* The failure predictors travel in the shared vector: a host that saw OOM
 * kills shares its OOM predictor (weighted by the kills it learned from)
 * and nothing for the sources it never saw; a host that never saw one
 * takes the fleet's and predicts with it. */
static void
test_learner_federates_the_failure_predictors(void **state)
{
	const size_t share = 3 * (size_t)FM_FEATURE_COUNT + 1 + 2;
	fm_model_learner_config ca, cb;
	fm_model_learner_status st;
	fm_model_learner_global g;
	fm_model_learner_update u;
	fm_model_learner *a, *b;
	uint32_t layout, n, layout_b, n_b;
	size_t det_n;
	float *p;
	host ha, hb;

	(void)state;
	host_init(&ha);
	host_init(&hb);
	ca = config(&ha);
	ca.retrain_seconds = 1;
	cb = config(&hb);
	cb.retrain_seconds = 86400;
	assert_int_equal(fm_test_learner_new(&ca, &a), 0);
	assert_int_equal(fm_test_learner_new(&cb, &b), 0);
	fm_model_learner_fed_layout(a, &layout, &n);
	fm_model_learner_fed_layout(b, &layout_b, &n_b);
	assert_int_equal(layout, layout_b);
	assert_int_equal(n, n_b);
	assert_true(n > FM_LABEL_COUNT * share);
	det_n = n - FM_LABEL_COUNT * share;
	p = calloc(n, sizeof(float));
	assert_non_null(p);

	feed_oom_hour(a, &ha);
	fm_model_learner_status_get(a, &st);
	assert_true(st.failure[FM_LABEL_OOM].trained);
	assert_int_equal(fm_model_learner_fed_update(a, p, n, &u), 0);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		const float *sh = p + det_n + s * share;
		double nz = 0.0;

		for (size_t i = 0; i < share; i++)
			nz += fabs(sh[i]);
		if (s == FM_LABEL_OOM) {
			/* the weight: kills learned from per sample */
			assert_true(sh[share - 1] > 0.0f);
			assert_float_equal(sh[share - 1],
			    (double)st.failure[FM_LABEL_OOM].onsets /
				(double)u.samples,
			    1e-6);
			assert_true(nz > sh[share - 1]);
		} else {
			assert_true(nz == 0.0);
		}
	}

	/* b never saw a kill: untrained, until the fleet's model comes */
	feed_until_ready(b, &hb);
	fm_model_learner_status_get(b, &st);
	assert_false(st.failure[FM_LABEL_OOM].trained);
	g = (fm_model_learner_global) {
		.version = 3, .layout_id = layout, .n_params = n, .params = p
	};
	assert_int_equal(fm_model_learner_fed_offer(b, &g), 0);
	feed_until_version(b, &hb, 3);
	fm_model_learner_status_get(b, &st);
	assert_true(st.failure[FM_LABEL_OOM].trained);
	assert_false(st.failure[FM_LABEL_HEALTH].trained);
	assert_int_equal(st.failure[FM_LABEL_OOM].onsets, 0);
	/* and it shares nothing for OOM: it learned from no kill */
	assert_int_equal(fm_model_learner_fed_update(b, p, n, &u), 0);
	assert_true(p[det_n + FM_LABEL_OOM * share + share - 1] == 0.0f);

	fm_test_learner_free(a);
	fm_test_learner_free(b);
	free(p);
	host_cleanup(&ha);
	host_cleanup(&hb);
}

/* The minute ring is the learner's per-minute history: every sample lands
 * in it with its score and label onsets. */
/*
 * Minutes of samples whose fullest filesystem is at level0 + rate x
 * minutes (plus noise of 0.001); returns the learner's fs_full status.
 */
static fm_model_learner_failure
feed_disk(fm_model_learner *l, host *h, int minutes, double level0, double rate)
{
	fm_model_learner_status st;
	fm_collect_sample s;

	for (int i = 0; i < minutes * 60; i++) {
		sample(h, &s, 0.0);
		s.v[FM_F_FS_FULLEST] =
		    (float)(level0 + rate * i / 60.0 + 0.001 * uniform(h));
		fm_model_learner_on_sample(l, &s, 0);
	}
	fm_model_learner_status_get(l, &st);
	return st.failure[FM_LABEL_FS_FULL];
}

/*
 * fs_full from the fill rate, with no fs_full onset ever learned: a disk
 * standing at 90% (threshold 95%, horizon 5 minutes) is no failure ahead
 * (p about 0), one filling 2 points a minute, at 90% now, reaches 95%
 * within the horizon (p about 1); both trusted, as the fill rate needs no
 * failures to learn from. Another source stays untrusted.
 */
static void
test_learner_fs_full_follows_the_fill_rate(void **state)
{
	fm_model_learner_config c;
	fm_model_learner_failure f;
	fm_model_learner_status st;
	fm_model_learner *l;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	assert_true(c.fs_full_fraction == 0.95f);
	assert_int_equal(c.horizon_minutes, 5);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	f = feed_disk(l, &h, 20, 0.90, 0.0);
	assert_false(f.trained);
	assert_true(f.trusted);
	if (!(f.probability < 0.01f))
		fail_msg("static 90%%: p(fs_full) %.4f", (double)f.probability);
	fm_model_learner_status_get(l, &st);
	assert_false(st.failure[FM_LABEL_OOM].trusted);
	fm_test_learner_free(l);
	host_cleanup(&h);

	host_init(&h);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	f = feed_disk(l, &h, 20, 0.50, 0.02);
	assert_true(f.trusted);
	if (!(f.probability > 0.9f))
		fail_msg("filling: p(fs_full) %.4f", (double)f.probability);
	/* at the threshold already: its onset is behind, nothing ahead */
	f = feed_disk(l, &h, 3, 0.97, 0.0);
	if (!(f.probability < 0.01f))
		fail_msg("full: p(fs_full) %.4f", (double)f.probability);
	fm_test_learner_free(l);
	host_cleanup(&h);

	/* the source off: no fill estimate, nothing trusted */
	host_init(&h);
	c.fs_full_fraction = 0.0f;
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	f = feed_disk(l, &h, 20, 0.50, 0.02);
	assert_false(f.trusted);
	assert_true(f.probability == 0.0f);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

static void
test_learner_fills_the_minute_ring(void **state)
{
	const fm_model_history_minute *m;
	fm_model_learner_config c;
	fm_model_learner *l;
	fm_model_history *ring;
	uint32_t samples = 0, onsets = 0;
	fm_collect_sample s;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	/* a day, or 48 horizons */
	assert_int_equal(fm_model_learner_minutes(&c), 1440);
	c.horizon_minutes = 31;
	assert_int_equal(fm_model_learner_minutes(&c), 31 * 48);
	c = config(&h);
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	ring = fm_test_learner_history(l);
	for (int i = 0; i < 200; i++) {
		sample(&h, &s, 0.0);
		fm_model_learner_on_sample(
		    l, &s, i == 70 ? FM_LABEL_BIT(FM_LABEL_MANUAL) : 0);
	}
	/* 200 samples a second apart: three minutes closed, one open */
	assert_int_equal(fm_model_history_minute_count(ring), 3);
	for (uint32_t i = 0; i < 3; i++) {
		m = fm_model_history_minute_get(ring, i);
		samples += m->count;
		onsets |= m->label_onsets;
		assert_true(isfinite(m->score));
		assert_true(m->mean[FM_F_CPU_USER] >= 0.2f &&
		    m->mean[FM_F_CPU_USER] <= 0.25f);
		assert_true(
		    fm_collect_feature_is_masked(m->mean[FM_F_SWAP_USED]));
	}
	assert_true(samples > 120 && samples < 200);
	assert_int_equal(onsets, FM_LABEL_BIT(FM_LABEL_MANUAL));
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* One sample of a host with cpu_extra more CPU and, when disk > 0, the
 * disk queue at that level (synchronous learners: a training it starts
 * ends within it, and the next sample adopts its models). */
static void
step(fm_model_learner *l, host *h, double cpu_extra, double disk,
    uint32_t labels, fm_model_learner_status *st)
{
	fm_collect_sample s;

	sample(h, &s, cpu_extra);
	if (disk > 0.0)
		s.v[FM_F_DISK_QUEUE] = (float)disk;
	fm_model_learner_on_sample(l, &s, labels);
	fm_model_learner_status_get(l, st);
}

/* A level shift with no failure becomes normal after accept_seconds:
 * its samples are learned, a training starts at once, the alarm clears;
 * without acceptance (0) the alarm stays and the kept samples freeze. */
static void
test_learner_lasting_change_becomes_normal(void **state)
{
	fm_model_learner_status st;
	fm_model_learner_config c;
	fm_model_learner *l;
	uint32_t held, trainings;
	int cleared_at = -1;
	host h;

	(void)state;
	for (int accept = 0; accept < 2; accept++) {
		host_init(&h);
		c = config(&h);
		c.synchronous = true; /* the same samples, the same verdicts */
		c.accept_seconds = accept ? 120 : 0;
		c.retrain_seconds = 86400; /* only acceptance retrains */
		assert_int_equal(fm_test_learner_new(&c, &l), 0);
		feed_until_ready(l, &h);
		step(l, &h, 0.7, 0.0, 0, &st);
		for (int i = 0; i < 10 && !st.alarm; i++)
			step(l, &h, 0.7, 0.0, 0, &st);
		assert_true(st.alarm);
		held = st.rows_held;
		trainings = st.trainings;
		for (int i = 0; i < 400; i++) {
			step(l, &h, 0.7, 0.0, 0, &st);
			if (!st.alarm && cleared_at < 0)
				cleared_at = i;
			if (i == 100) { /* before accept_seconds */
				assert_int_equal(st.trainings, trainings);
				assert_int_equal(st.rows_held, held);
				assert_false(st.accepted);
				assert_true(st.pending_rows > 90);
			}
		}
		if (accept) {
			assert_true(st.trainings > trainings);
			assert_int_equal(st.accepts, 1);
			assert_true(cleared_at >= 110 && cleared_at < 200);
			assert_false(st.alarm);
			assert_true(st.rows_held > held);
			assert_int_equal(st.pending_rows, 0);
		} else {
			/* (the detector's level-shift guard may clear the
			 * alarm later on its own; the samples waited) */
			assert_int_equal(st.accepts, 0);
		}
		fm_test_learner_free(l);
		host_cleanup(&h);
		cleared_at = -1;
	}
}

/* A failure labelled during the alarm keeps it from becoming normal;
 * the operator's accept still takes it at once. */
static void
test_learner_failure_keeps_the_alarm_and_accept_overrides(void **state)
{
	fm_model_learner_status st = { 0 };
	fm_model_learner_config c;
	fm_model_learner *l;
	uint32_t trainings;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.synchronous = true; /* the same samples, the same verdicts */
	c.accept_seconds = 60;
	c.retrain_seconds = 86400;
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	assert_int_equal(fm_model_learner_accept(l), -EAGAIN);
	feed_until_ready(l, &h);
	for (int i = 0; i < 10 && !st.alarm; i++)
		step(l, &h, 0.7, 0.0, 0, &st);
	assert_true(st.alarm);
	step(l, &h, 0.7, 0.0, FM_LABEL_BIT(FM_LABEL_OOM), &st);
	trainings = st.trainings;
	for (int i = 0; i < 200; i++)
		step(l, &h, 0.7, 0.0, 0, &st);
	assert_true(st.alarm);
	assert_false(st.accepted);
	assert_int_equal(st.held_labels, FM_LABEL_BIT(FM_LABEL_OOM));
	assert_int_equal(st.trainings, trainings);
	/* the operator's word: normal at once, the alarm clears soon */
	assert_int_equal(fm_model_learner_accept(l), 0);
	for (int i = 0; i < 40 && st.alarm; i++)
		step(l, &h, 0.7, 0.0, 0, &st);
	assert_false(st.alarm);
	assert_int_equal(st.trainings, trainings + 1);
	assert_int_equal(st.accepts, 1);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* A second fault during an alarm is a new event named by its own
 * feature, not by the first fault's. */
static void
test_learner_new_fault_during_an_alarm(void **state)
{
	fm_model_learner_status st = { 0 };
	fm_model_learner_config c;
	fm_model_learner *l;
	uint64_t events;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.synchronous = true; /* the same samples, the same verdicts */
	c.retrain_seconds = 86400;
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	feed_until_ready(l, &h);
	for (int i = 0; i < 10 && !st.alarm; i++)
		step(l, &h, 0.7, 0.0, 0, &st);
	assert_true(st.alarm);
	for (int i = 0; i < 30; i++)
		step(l, &h, 0.7, 0.0, 0, &st);
	assert_true(st.alarm);
	events = st.events;
	assert_int_equal(events, 1); /* the CPU wandering is one event */
	assert_int_equal(st.top[0], FM_F_CPU_USER);
	for (int i = 0; i < 5 && st.events == events; i++)
		step(l, &h, 0.7, 3.0, 0, &st);
	assert_true(st.alarm);
	assert_int_equal(st.events, events + 1);
	assert_int_equal(st.alarms, 1);
	assert_int_equal(st.top[0], FM_F_DISK_QUEUE);
	/* one signal is named once */
	for (uint32_t i = 0; i < st.n_top; i++)
		for (uint32_t k = 0; k < i; k++)
			assert_int_not_equal(fm_collect_feature_signal(st.top[i]),
			    fm_collect_feature_signal(st.top[k]));
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* A labelled failure is an anomaly event whatever its score (one OOM
 * kill is one sample); the operator's own label is not; the alarm then
 * clears as any does. */
static void
test_learner_labelled_failure_raises(void **state)
{
	fm_model_learner_status st;
	fm_model_learner_config c;
	fm_model_learner *l;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.synchronous = true; /* the same samples, the same verdicts */
	c.retrain_seconds = 86400;
	assert_int_equal(fm_test_learner_new(&c, &l), 0);
	feed_until_ready(l, &h);
	step(l, &h, 0.0, 0.0, FM_LABEL_BIT(FM_LABEL_MANUAL), &st);
	assert_false(st.alarm);
	assert_int_equal(st.events, 0);
	step(l, &h, 0.0, 0.0, FM_LABEL_BIT(FM_LABEL_OOM), &st);
	assert_true(st.alarm);
	assert_int_equal(st.events, 1);
	assert_int_equal(st.alarms, 1);
	for (int i = 0; i < 30 && st.alarm; i++)
		step(l, &h, 0.0, 0.0, 0, &st);
	assert_false(st.alarm);
	assert_int_equal(st.events, 1);
	fm_test_learner_free(l);
	host_cleanup(&h);
}

/* A young model leans on the typical scales, less as it sees more, and
 * so does not alarm at a change of a few typical scales in a feature
 * that barely moved in its minutes, which a model without the prior
 * does; the training window grows as the kept samples double. */
static void
test_learner_young_model(void **state)
{
	fm_model_learner_status st, old;
	fm_model_learner_config c;
	fm_model_learner *l;
	bool alarmed[2] = { false, false };
	host h;

	(void)state;
	for (int young = 0; young < 2; young++) {
		host_init(&h);
		c = config(&h);
		c.synchronous = true; /* the same samples, the same verdicts */
		c.min_rows = 100;
		c.train_rows = 600;
		c.retrain_seconds = 86400;
		c.mature_seconds = young ? 2000 : 0;
		assert_int_equal(fm_test_learner_new(&c, &l), 0);
		feed_until_ready(l, &h);
		fm_model_learner_status_get(l, &st);
		if (young) /* (2000 - seen) / (2000 - seen + ~100) */
			assert_true(st.young_prior > 0.9f);
		else
			assert_true(st.young_prior == 0.0f);
		/* cpu.system, steady within 0.01, up 0.1: 2 typical scales
		 * of a fraction */
		for (int i = 0; i < 30; i++) {
			fm_collect_sample s;

			sample(&h, &s, 0.0);
			s.v[FM_F_CPU_SYSTEM] += 0.1f;
			fm_model_learner_on_sample(l, &s, 0);
			fm_model_learner_status_get(l, &st);
			alarmed[young] |= st.alarm;
		}
		for (int i = 0; i < 20 && st.alarm; i++)
			step(l, &h, 0.0, 0.0, 0, &st);
		assert_false(st.alarm);
		if (!young) {
			fm_test_learner_free(l);
			host_cleanup(&h);
			continue;
		}
		old = st;
		/* doubling: 100 kept, then 200, 400 and 600 (full) */
		for (int i = 0; i < 700; i++)
			step(l, &h, 0.0, 0.0, 0, &st);
		assert_int_equal(st.trainings, 4);
		assert_int_equal(st.trained_rows, 600);
		assert_true(st.young_prior < old.young_prior);
		assert_true(st.young_prior > 0.0f);
		assert_true(st.seen_rows < st.mature_rows);
		/* mature: the next training takes no prior */
		for (int i = 0; i < 1300; i++)
			step(l, &h, 0.0, 0.0, 0, &st);
		assert_true(st.seen_rows >= st.mature_rows);
		assert_int_equal(st.trainings, 4);
		assert_true(fm_model_learner_accept(l) == 0);
		step(l, &h, 0.0, 0.0, 0, &st);
		step(l, &h, 0.0, 0.0, 0, &st);
		assert_int_equal(st.trainings, 5);
		assert_true(st.young_prior == 0.0f);
		fm_test_learner_free(l);
		host_cleanup(&h);
	}
	assert_true(alarmed[0]);
	assert_false(alarmed[1]);
}

/* A synchronous learner (fedmon-replay --agent) trains at the sample
 * that makes min_rows, and its models score from the next sample on; two
 * such learners fed the same samples agree bit for bit; a held model
 * waits until released, the current one scoring meanwhile. */
static void
test_learner_synchronous_trains_inline_and_holds(void **state)
{
	fm_model_learner_status st[3];
	fm_model_learner_config c;
	fm_model_learner *l[3];
	fm_collect_sample s;
	uint32_t release;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.state_dir[0] = '\0';
	c.synchronous = true;
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(fm_test_learner_new(&c, &l[k]), 0);
	fm_model_learner_hold(l[2], true);
	release = c.min_rows + 10;
	for (uint32_t i = 0; i < c.min_rows + 20; i++) {
		sample(&h, &s, i >= c.min_rows + 5 ? 0.7 : 0.0);
		if (i == release)
			fm_model_learner_hold(l[2], false);
		for (unsigned k = 0; k < 3; k++) {
			fm_model_learner_on_sample(l[k], &s, 0);
			fm_model_learner_status_get(l[k], &st[k]);
		}
		/* trained at sample min_rows - 1, without a thread */
		assert_int_equal(st[0].training, i + 1 == c.min_rows);
		assert_int_equal(st[0].ready, i >= c.min_rows);
		assert_int_equal(st[0].trainings, i >= c.min_rows ? 1 : 0);
		assert_int_equal(st[2].ready, i >= release);
		assert_int_equal(
		    st[2].training, i + 1 >= c.min_rows && i < release);
		assert_memory_equal(&st[0].score, &st[1].score, sizeof(float));
		assert_int_equal(st[0].alarm, st[1].alarm);
		if (i >= release) {
			/* the same model, adopted later, on the same rows */
			assert_int_equal(st[2].trainings, 1);
			assert_int_equal(
			    st[2].trained_rows, st[0].trained_rows);
		}
	}
	/* the burst from min_rows + 5 on raised the alarm */
	assert_true(st[0].alarm);
	assert_true(st[2].alarm);
	for (unsigned k = 0; k < 3; k++)
		fm_test_learner_free(l[k]);
	host_cleanup(&h);
}

static void
test_learner_rejects_bad_config(void **state)
{
	fm_model_learner_config c;
	fm_model_learner *l = NULL;
	fm_model_history *ring;
	host h;

	(void)state;
	host_init(&h);
	c = config(&h);
	c.min_rows = FM_MODEL_LEARNER_MIN_ROWS - 1;
	assert_int_equal(fm_test_learner_new(&c, &l), -EINVAL);
	c = config(&h);
	c.train_rows = c.min_rows - 1;
	assert_int_equal(fm_test_learner_new(&c, &l), -EINVAL);
	assert_null(l);
	/* the minute ring: there, and long enough for the predictors */
	c = config(&h);
	assert_int_equal(fm_model_learner_new(&c, NULL, &l), -EINVAL);
	assert_int_equal(
	    fm_model_history_new(fm_model_learner_minutes(&c) - 1, &ring), 0);
	assert_int_equal(fm_model_learner_new(&c, ring, &l), -EINVAL);
	assert_null(l);
	fm_model_history_free(ring);
	assert_null(fm_model_learner_free(NULL));
	host_cleanup(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learner_trains_in_background_and_scores),
		cmocka_unit_test(test_learner_models_survive_a_restart),
		cmocka_unit_test(test_learner_sets_a_corrupt_model_aside),
		cmocka_unit_test(test_learner_label_onsets_train_the_predictor),
		cmocka_unit_test(test_learner_federation_hand_over),
		cmocka_unit_test(test_learner_federates_the_failure_predictors),
		cmocka_unit_test(test_learner_fs_full_follows_the_fill_rate),
		cmocka_unit_test(test_learner_fills_the_minute_ring),
		cmocka_unit_test(test_learner_lasting_change_becomes_normal),
		cmocka_unit_test(
		    test_learner_failure_keeps_the_alarm_and_accept_overrides),
		cmocka_unit_test(test_learner_new_fault_during_an_alarm),
		cmocka_unit_test(test_learner_labelled_failure_raises),
		cmocka_unit_test(test_learner_young_model),
		cmocka_unit_test(test_learner_rejects_bad_config),
		cmocka_unit_test(
		    test_learner_synchronous_trains_inline_and_holds),
	};

	fm_learn_blas_single_thread();
	fm_log_set_max_level(LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
