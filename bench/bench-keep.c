/*
 * How long the learner's checkpoint (agent/model/keep.c) holds up the
 * sampling thread at the shipped settings: a learner with the shipped
 * [learn] keys (3600 samples kept at 1 s), its minute ring full (1440
 * minutes), fed 4860 synthetic samples; every call of
 * fm_model_learner_on_sample() is timed, and the calls that wrote the
 * state file (its mtime changed) are told apart from the others once the
 * 3600 samples are held.
 *
 * Usage: bench-keep DIR  (an empty directory on the disk to measure,
 * e.g. one under /var/lib)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "learn/learn.h"

#define SAMPLES (3600 + 1260)
#define MINUTES 1440

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *v, size_t n)
{
	if (n == 0) {
		printf("%s: none\n", what);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	printf("%s: n=%zu min %.3f ms, median %.3f ms, max %.3f ms\n", what, n,
	    v[0], v[n / 2], v[n - 1]);
}

static int64_t
mtime_ns(const char *path)
{
	struct stat sb;

	if (stat(path, &sb) < 0)
		return 0;
	return (int64_t)sb.st_mtim.tv_sec * FM_NSEC_PER_SEC +
	    sb.st_mtim.tv_nsec;
}

int
main(int argc, char **argv)
{
	static fm_model_history_minute m[MINUTES];
	static double saved[SAMPLES], plain[SAMPLES];
	int64_t t0 = 1700000000LL * FM_NSEC_PER_SEC, last = 0;
	size_t n_saved = 0, n_plain = 0;
	fm_model_learner_config c;
	fm_model_history *h;
	fm_model_learner *l;
	fm_agent_config ac;
	char path[512];
	uint64_t rng = 1;
	struct stat sb;

	if (argc != 2) {
		fprintf(stderr, "usage: bench-keep DIR\n");
		return 2;
	}
	fm_learn_blas_single_thread();
	fm_log_set_max_level(LOG_WARNING);
	fm_agent_config_init(&ac);
	snprintf(ac.state_dir, sizeof(ac.state_dir), "%s", argv[1]);
	snprintf(
	    path, sizeof(path), "%s/%s", argv[1], FM_MODEL_LEARNER_STATE_FILE);
	if (stat(path, &sb) == 0) {
		fprintf(stderr, "bench-keep: %s exists already\n", path);
		return 1;
	}
	fm_agent_config_learner(&ac, &c);
	if (fm_model_history_new(fm_model_learner_minutes(&c), &h) < 0)
		return 1;
	/* a day of minutes before the first sample */
	for (int i = 0; i < MINUTES; i++) {
		m[i].real_ns = (t0 / (60 * FM_NSEC_PER_SEC) - MINUTES + i) *
		    60 * FM_NSEC_PER_SEC;
		m[i].count = 60;
		m[i].score = 1.0f;
		for (int f = 0; f < FM_FEATURE_COUNT; f++)
			m[i].mean[f] = m[i].min[f] = m[i].max[f] =
			    0.3f + (float)f * 0.01f;
	}
	if (fm_model_history_restore(h, m, MINUTES) < 0 ||
	    fm_model_learner_new(&c, h, &l) < 0)
		return 1;
	printf("train_rows %u, %u minutes, %d features\n", c.train_rows,
	    MINUTES, FM_FEATURE_COUNT);
	for (int64_t t = 0; t < SAMPLES; t++) {
		fm_collect_sample s;
		int64_t a, b, mt;

		for (int f = 0; f < FM_FEATURE_COUNT; f++) {
			rng = rng * 6364136223846793005ull +
			    1442695040888963407ull;
			s.v[f] = (float)(0.3 +
			    0.1 * (double)(rng >> 11) * 0x1.0p-53);
		}
		s.mono_ns = t * FM_NSEC_PER_SEC;
		s.real_ns = t0 + s.mono_ns;
		a = fm_time_mono_ns();
		fm_model_learner_on_sample(l, &s, 0);
		b = fm_time_mono_ns();
		mt = mtime_ns(path);
		if (t >= (int64_t)c.train_rows) {
			if (mt != last)
				saved[n_saved++] = (double)(b - a) / 1e6;
			else
				plain[n_plain++] = (double)(b - a) / 1e6;
		}
		last = mt;
		/* let a training on the background thread end */
		usleep(2000);
	}
	stat(path, &sb);
	printf("state file: %lld bytes\n", (long long)sb.st_size);
	report("samples that checkpointed", saved, n_saved);
	report("other samples", plain, n_plain);
	fm_model_learner_free(l);
	fm_model_history_free(h);
	return 0;
}
