/*
 * bench-procread: the floor under the agent's CPU per sample. Reads the
 * /proc files a one-second tick reads (no parsing, no rates), ROUNDS
 * times, sleeping SLEEP_MS between rounds as the agent does, and prints
 * the median CPU time of a round (CLOCK_THREAD_CPUTIME_ID) and each
 * file's mean. Whatever the agent costs above this is its own work.
 *
 * Usage: bench-procread [ROUNDS [SLEEP_MS]]   (default 60 1000)
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* Read every tick (the slow sources are read every 5th and not here). */
static const char *const files[] = {
	"/proc/stat",
	"/proc/loadavg",
	"/proc/pressure/cpu",
	"/proc/pressure/memory",
	"/proc/pressure/io",
	"/proc/meminfo",
	"/proc/diskstats",
	"/proc/net/dev",
};

#define N_FILES   (sizeof(files) / sizeof(files[0]))
#define BUF_BYTES (1 << 16)

static double
cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
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
	int rounds = argc > 1 ? atoi(argv[1]) : 60;
	int sleep_ms = argc > 2 ? atoi(argv[2]) : 1000;
	static char buf[BUF_BYTES];
	double per_file[N_FILES] = { 0 };
	double *per_round;
	int fds[N_FILES];

	if (rounds < 1 || rounds > 100000 || sleep_ms < 0 || sleep_ms > 10000) {
		fprintf(stderr, "usage: bench-procread [ROUNDS [SLEEP_MS]]\n");
		return 2;
	}
	per_round = calloc((size_t)rounds, sizeof(*per_round));
	if (!per_round)
		return 1;
	for (size_t i = 0; i < N_FILES; i++)
		fds[i] = open(files[i], O_RDONLY | O_CLOEXEC);
	for (int r = 0; r < rounds; r++) {
		double t0;

		if (sleep_ms)
			usleep((useconds_t)sleep_ms * 1000);
		t0 = cpu_us();
		for (size_t i = 0; i < N_FILES; i++) {
			double t = cpu_us();

			if (fds[i] >= 0 &&
			    pread(fds[i], buf, sizeof(buf), 0) < 0)
				return 1;
			per_file[i] += cpu_us() - t;
		}
		per_round[r] = cpu_us() - t0;
	}
	qsort(per_round, (size_t)rounds, sizeof(*per_round), cmp_double);
	for (size_t i = 0; i < N_FILES; i++)
		printf("%-24s %6.1f us%s\n", files[i], per_file[i] / rounds,
		    fds[i] < 0 ? " (absent)" : "");
	printf("reading the per-tick /proc files: median %.1f us CPU per "
	       "round (%d rounds, %d ms apart)\n",
	    per_round[rounds / 2], rounds, sleep_ms);
	free(per_round);
	return 0;
}
