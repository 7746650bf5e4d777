/*
 * bench-sample: CPU time of one sampler tick (every collector reading and
 * parsing its /proc source, rates, masking) and of one history push,
 * measured with CLOCK_THREAD_CPUTIME_ID over many ticks, repeated; prints
 * the median per tick. The filesystem worker thread runs beside it and is
 * not counted here (bench/agent-cost.sh counts the whole process).
 *
 * Usage: bench-sample [TICKS [REPEATS [PROCFS [SLEEP_MS]]]]
 *        (default 2000 7 /proc 0)
 * With SLEEP_MS > 0 the thread sleeps between ticks, as the agent does, so
 * each tick runs with cold caches: the cost the agent really pays.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"

static int64_t
thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * FM_NSEC_PER_SEC + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 2000;
	int repeats = argc > 2 ? atoi(argv[2]) : 7;
	int sleep_ms = argc > 4 ? atoi(argv[4]) : 0;
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s;
	fm_model_history *h;
	fm_collect_sample smp;
	double *per_tick;
	int r;

	if (ticks < 1 || repeats < 1 || repeats > 1000) {
		fprintf(
		    stderr, "usage: bench-sample [TICKS [REPEATS [PROCFS]]]\n");
		return 2;
	}
	fm_collect_sampler_config_init(&cfg);
	if (argc > 3)
		cfg.procfs = argv[3];
	r = fm_collect_sampler_new(&cfg, &s);
	if (r < 0) {
		fprintf(stderr, "bench-sample: cannot open %s: %d\n",
		    cfg.procfs, r);
		return 1;
	}
	r = fm_model_history_new(1440, &h);
	if (r < 0)
		return 1;
	per_tick = calloc((size_t)repeats, sizeof(*per_tick));
	if (!per_tick)
		return 1;
	(void)!fm_collect_sampler_read(s, &smp); /* warm-up: sizes buffers */
	for (int k = 0; k < repeats; k++) {
		int64_t cpu = 0;

		for (int i = 0; i < ticks; i++) {
			int64_t t0;

			if (sleep_ms)
				usleep((useconds_t)sleep_ms * 1000);
			t0 = thread_cpu_ns();
			if (fm_collect_sampler_read(s, &smp) < 0)
				return 1;
			(void)fm_model_history_push(h, &smp, NAN, 0);
			cpu += thread_cpu_ns() - t0;
		}
		per_tick[k] = (double)cpu / ticks / 1e3;
	}
	qsort(per_tick, (size_t)repeats, sizeof(*per_tick), cmp_double);
	printf("sampler tick + history push: median %.1f us CPU per sample "
	       "(min %.1f, max %.1f; %d repeats of %d ticks, %d ms apart; "
	       "%u features)\n",
	    per_tick[repeats / 2], per_tick[0], per_tick[repeats - 1], repeats,
	    ticks, sleep_ms, FM_FEATURE_COUNT);
	free(per_tick);
	fm_model_history_free(h);
	fm_collect_sampler_free(s);
	return 0;
}
