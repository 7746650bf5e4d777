/*
 * bench-learn: the anomaly detector's speed targets, medians of REPEATS
 * runs, BLAS single-threaded as in the agent:
 *
 *  score   fm_learn_detector_score() per row (target <= 10 us CPU), the
 *          detector trained on the whole training file, scoring
 *          SCORE_ROWS test rows per repeat (CPU time and wall time);
 *  train   fm_learn_detector_train() on one day of one-minute rows
 *          (TRAIN_ROWS x d, a fresh detector each repeat; target <= 1 s
 *          CPU);
 *  gflops  fm_learn_ae_loss_grad() (forward and backward of the
 *          detector's autoencoder on one mini-batch) in GFLOP/s, beside
 *          cblas_sgemm on PEAK_N x PEAK_N matrices, the BLAS's peak on
 *          this machine, and their ratio.
 *
 * Data: DATA_DIR/train/MACHINE.txt and DATA_DIR/test/MACHINE.txt (rows
 * of comma-separated floats, as fedmon-replay reads), DATA_DIR from the
 * command line, else $FEDMON_BENCH_DATA, else the dev copy of SMD;
 * MACHINE from $FEDMON_BENCH_MACHINE, else machine-1-2. When the default
 * directory is absent (or DATA_DIR is "synthetic") a seeded generator
 * stands in: correlated features with a daily cycle, slow drift, noise,
 * bursts and a few injected incidents. The output says which was used.
 * A DATA_DIR given explicitly but unreadable is an error.
 *
 * Usage: bench-learn [REPEATS [DATA_DIR]]   (default 7)
 * Exit status: 0 whether or not a target is met (this is a measurement),
 * 1 on error, 2 on bad usage.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "common/common.h"
#include "learn/learn.h"
#include "tools/replay/csv.h"

#define DEFAULT_REPEATS  7u
#define MAX_REPEATS      1000u
#define DEFAULT_DATA_DIR "/work/shared/data/smd-dev"
#define DEFAULT_MACHINE  "machine-1-2"
#define ROWS_PER_DAY     1440u  /* one row a minute */
#define TRAIN_ROWS       1440u  /* 24 h of one-minute rows */
#define SCORE_ROWS       20000u /* scored per repeat */
#define WARMUP_ROWS      1000u
#define AE_CALLS         1000u /* loss+grad calls per repeat */
#define PEAK_N           1024  /* square sgemm for the BLAS's peak */
#define PEAK_CALLS       2u    /* per repeat */
#define SCORE_TARGET_US  10.0
#define TRAIN_TARGET_S   1.0
/* The synthetic stand-in: SMD's width and about its length. */
#define SYNTH_FEATURES   38u
#define SYNTH_TRAIN_ROWS (7u * ROWS_PER_DAY)
#define SYNTH_TEST_ROWS  (SCORE_ROWS + WARMUP_ROWS)
#define SYNTH_SEED       42u

/* Every result is added here, so no measured call can be optimised out. */
static volatile double sink;

typedef struct bench_data {
	const float *train; /* train_rows x d */
	const float *test;  /* test_rows x d */
	size_t train_rows;
	size_t test_rows;
	uint32_t d;
	char name[128];  /* short, for the score line */
	char label[640]; /* what the data is and where it came from */
	fm_replay_csv *csv_train;
	fm_replay_csv *csv_test;
	float *synth; /* (train_rows + test_rows) x d */
} bench_data;

/* Wall and CPU clocks, in seconds. The process CPU clock also counts
 * any BLAS worker thread, were one left running. */
typedef struct stamp {
	double wall;
	double cpu;
} stamp;

static double
clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static stamp
stamp_now(void)
{
	return (stamp) {
		.wall = clock_s(CLOCK_MONOTONIC),
		.cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID),
	};
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v[n] in place and returns its median. */
static double
median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* ---- synthetic data ---------------------------------------------------- */

/* splitmix64: a small, seeded, portable generator. */
static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
static double
rng_uniform(uint64_t *s)
{
	return ((double)(rng_next(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double
rng_normal(uint64_t *s)
{
	double u = rng_uniform(s), v = rng_uniform(s);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

#define SYNTH_FACTORS 4

/*
 * Fills x[n x SYNTH_FEATURES] with host-like rows, one a minute: four shared
 * factors (a daily cycle in two phases, a slow AR(1) drift, a fast AR(1) load)
 * mixed into each feature with its own loadings, level and noise; every
 * fifth feature also bursts now and then. Rows from first_test on get an
 * incident every 4000 rows: three features shifted for an hour.
 */
static void
synth_fill(float *x, size_t n, size_t first_test, uint64_t seed)
{
	const uint32_t d = SYNTH_FEATURES;
	double load[SYNTH_FEATURES][SYNTH_FACTORS];
	double base[SYNTH_FEATURES], noise[SYNTH_FEATURES];
	double slow = 0.0, fast = 0.0;
	uint64_t s = seed;

	for (uint32_t j = 0; j < d; j++) {
		for (int f = 0; f < SYNTH_FACTORS; f++)
			load[j][f] = 0.5 * rng_normal(&s);
		base[j] = 0.1 + 0.4 * rng_uniform(&s);
		noise[j] = 0.01 + 0.04 * rng_uniform(&s);
	}
	for (size_t t = 0; t < n; t++) {
		double day = 2.0 * M_PI * (double)(t % ROWS_PER_DAY) /
		    (double)ROWS_PER_DAY;
		double fac[SYNTH_FACTORS];

		slow = 0.995 * slow + 0.05 * rng_normal(&s);
		fast = 0.8 * fast + 0.3 * rng_normal(&s);
		fac[0] = sin(day);
		fac[1] = cos(day);
		fac[2] = slow;
		fac[3] = fast;
		for (uint32_t j = 0; j < d; j++) {
			double v = base[j] + noise[j] * rng_normal(&s);

			for (int f = 0; f < SYNTH_FACTORS; f++)
				v += 0.1 * load[j][f] * fac[f];
			if (j % 5 == 4 && rng_uniform(&s) < 0.01)
				v += 0.3 * -log(rng_uniform(&s));
			if (t >= first_test &&
			    (t - first_test) % 4000 >= 2000 &&
			    (t - first_test) % 4000 < 2060 && j % 13 == 1)
				v += 0.3;
			x[t * d + j] = (float)v;
		}
	}
}

static int
data_synth(bench_data *b, const char *why)
{
	size_t n = SYNTH_TRAIN_ROWS + SYNTH_TEST_ROWS;

	b->synth = malloc(n * SYNTH_FEATURES * sizeof(float));
	if (!b->synth)
		return -ENOMEM;
	synth_fill(b->synth, n, SYNTH_TRAIN_ROWS, SYNTH_SEED);
	b->d = SYNTH_FEATURES;
	b->train = b->synth;
	b->train_rows = SYNTH_TRAIN_ROWS;
	b->test = b->synth + (size_t)SYNTH_TRAIN_ROWS * SYNTH_FEATURES;
	b->test_rows = SYNTH_TEST_ROWS;
	snprintf(b->name, sizeof(b->name), "synthetic");
	snprintf(b->label, sizeof(b->label),
	    "SYNTHETIC, seeded generator (correlated features, daily cycle, "
	    "drift, noise, bursts; %s)",
	    why);
	return 0;
}

/* ---- real data --------------------------------------------------------- */

/* Reads a CSV file, or says why not. */
static int
read_csv(const char *path, fm_replay_csv **ret)
{
	fm_replay_csv_error err = { 0 };
	int r;

	r = fm_replay_csv_read_file(path, &err, ret);
	if (r == 0)
		return 0;
	if (err.line > 0)
		fprintf(stderr, "bench-learn: Failed to parse '%s:%llu': %s\n",
		    path, (unsigned long long)err.line, err.why);
	else
		fprintf(stderr, "bench-learn: Failed to read '%s': %s\n", path,
		    err.why[0] ? err.why : strerror(-r));
	return r;
}

static int
data_read(bench_data *b, const char *dir, const char *machine)
{
	const char *base;
	char path[4096];
	int r;

	snprintf(path, sizeof(path), "%s/train/%s.txt", dir, machine);
	r = read_csv(path, &b->csv_train);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s/test/%s.txt", dir, machine);
	r = read_csv(path, &b->csv_test);
	if (r < 0)
		return r;
	if (b->csv_test->cols != b->csv_train->cols ||
	    b->csv_train->cols > FM_LEARN_DETECTOR_MAX_FEATURES ||
	    b->csv_train->rows < FM_LEARN_DETECTOR_MIN_ROWS) {
		fprintf(stderr,
		    "bench-learn: Failed to use '%s/{train,test}/%s.txt': "
		    "%zu and %zu columns, %zu training rows\n",
		    dir, machine, b->csv_train->cols, b->csv_test->cols,
		    b->csv_train->rows);
		return -EINVAL;
	}
	b->d = (uint32_t)b->csv_train->cols;
	b->train = b->csv_train->v;
	b->train_rows = b->csv_train->rows;
	b->test = b->csv_test->v;
	b->test_rows = b->csv_test->rows;
	base = strrchr(dir, '/');
	base = base && base[1] ? base + 1 : dir;
	snprintf(b->name, sizeof(b->name), "%s %s", base, machine);
	snprintf(
	    b->label, sizeof(b->label), "%s/{train,test}/%s.txt", dir, machine);
	return 0;
}

static void
data_release(bench_data *b)
{
	b->csv_train = fm_replay_csv_free(b->csv_train);
	b->csv_test = fm_replay_csv_free(b->csv_test);
	free(b->synth);
	b->synth = NULL;
}

/* ---- the measurements -------------------------------------------------- */

/*
 * Scores SCORE_ROWS test rows (cycling through the test file) per repeat
 * on a detector trained on the whole training file; per-row medians in
 * microseconds.
 */
static int
bench_score(const bench_data *b, const fm_learn_detector_config *cfg,
    unsigned repeats, double *ret_cpu_us, double *ret_wall_us)
{
	double *cpu = calloc(repeats, sizeof(double));
	double *wall = calloc(repeats, sizeof(double));
	fm_learn_detector *det = NULL;
	fm_learn_verdict v;
	size_t t = 0;
	double acc = 0.0;
	int r;

	if (!cpu || !wall) {
		r = -ENOMEM;
		goto out;
	}
	r = fm_learn_detector_new(cfg, &det);
	if (r < 0)
		goto out;
	r = fm_learn_detector_train(det, b->train, b->train_rows, NULL);
	if (r < 0)
		goto out;
	for (unsigned i = 0; i < WARMUP_ROWS; i++) {
		fm_learn_detector_score(det, b->test + t * b->d, &v);
		acc += v.score;
		t = (t + 1) % b->test_rows;
	}
	for (unsigned k = 0; k < repeats; k++) {
		stamp s0 = stamp_now(), s1;

		for (unsigned i = 0; i < SCORE_ROWS; i++) {
			fm_learn_detector_score(det, b->test + t * b->d, &v);
			acc += v.score + (double)v.alarm;
			t = (t + 1) % b->test_rows;
		}
		s1 = stamp_now();
		cpu[k] = (s1.cpu - s0.cpu) / SCORE_ROWS * 1e6;
		wall[k] = (s1.wall - s0.wall) / SCORE_ROWS * 1e6;
	}
	sink += acc;
	*ret_cpu_us = median(cpu, repeats);
	*ret_wall_us = median(wall, repeats);
out:
	fm_learn_detector_free(det);
	free(wall);
	free(cpu);
	return r;
}

/* Trains a fresh detector on the first TRAIN_ROWS training rows per
 * repeat; medians in seconds. */
static int
bench_train(const bench_data *b, const fm_learn_detector_config *cfg,
    unsigned repeats, size_t rows, double *ret_cpu_s, double *ret_wall_s)
{
	double *cpu = calloc(repeats, sizeof(double));
	double *wall = calloc(repeats, sizeof(double));
	int r = 0;

	if (!cpu || !wall) {
		r = -ENOMEM;
		goto out;
	}
	for (unsigned k = 0; k < repeats; k++) {
		fm_learn_detector_train_stats st;
		fm_learn_detector *det;
		stamp s0, s1;

		r = fm_learn_detector_new(cfg, &det);
		if (r < 0)
			goto out;
		s0 = stamp_now();
		r = fm_learn_detector_train(det, b->train, rows, &st);
		s1 = stamp_now();
		fm_learn_detector_free(det);
		if (r < 0)
			goto out;
		sink += st.loss_last + st.threshold;
		cpu[k] = s1.cpu - s0.cpu;
		wall[k] = s1.wall - s0.wall;
	}
	*ret_cpu_s = median(cpu, repeats);
	*ret_wall_s = median(wall, repeats);
out:
	free(wall);
	free(cpu);
	return r;
}

/*
 * The floating-point operations of one fm_learn_ae_loss_grad() call on
 * n rows of d inputs, k latent units, from the shapes of the BLAS calls
 * learn/ae.c makes (keep in step with it): sgemm m x n x k counts 2mnk,
 * sgemv m x n 2mn, axpy and dot 2n, scal n; the bias copies count none.
 *   forward   h = x E^T (n x k x d), y = h Dm^T (n x d x k)
 *   residual  y - x (axpy), loss (n dots of d), dL/dy (scal)
 *   backward  dDm = dy^T h (d x k x n), dh = dy Dm (n x k x d),
 *             dE = dh^T x (k x d x n), dbd, dbe (gemv n x d, n x k)
 */
static double
ae_loss_grad_flops(double n, double d, double k)
{
	double gemm = 2.0 * n * k * d;

	return 2 * gemm + (2 * n * d + 2 * n * d + n * d) + 3 * gemm +
	    (2 * n * d + 2 * n * k);
}

/* Median GFLOP/s (CPU time) of fm_learn_ae_loss_grad() on one mini-batch
 * of the detector's shape, windows of the training rows. */
static int
bench_ae(const bench_data *b, const fm_learn_detector_config *cfg,
    unsigned repeats, uint32_t *ret_batch, uint32_t *ret_inputs,
    double *ret_gflops)
{
	uint32_t w = cfg->window, k = cfg->latent, d = b->d;
	uint32_t in = w * d;
	uint32_t n = cfg->train.batch;
	double *gf = calloc(repeats, sizeof(double));
	float *x = NULL, *grad = NULL;
	fm_learn_ae *ae = NULL;
	double flops, loss, acc = 0.0;
	int r;

	if (b->train_rows < (size_t)n + w - 1)
		n = (uint32_t)(b->train_rows - w + 1);
	x = malloc((size_t)n * in * sizeof(float));
	if (!gf || !x) {
		r = -ENOMEM;
		goto out;
	}
	/* row i: training rows t, t-1, …, t-w+1, current first */
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t l = 0; l < w; l++)
			memcpy(x + (size_t)i * in + (size_t)l * d,
			    b->train + (size_t)(w - 1 + i - l) * d,
			    d * sizeof(float));
	r = fm_learn_ae_new(in, k, 1, &ae);
	if (r < 0)
		goto out;
	grad = malloc(fm_learn_ae_params_count(ae) * sizeof(float));
	if (!grad) {
		r = -ENOMEM;
		goto out;
	}
	flops = ae_loss_grad_flops(n, in, k);
	for (unsigned c = 0; c < AE_CALLS / 10; c++) { /* warm-up */
		r = fm_learn_ae_loss_grad(ae, x, n, &loss, grad);
		if (r < 0)
			goto out;
	}
	for (unsigned rep = 0; rep < repeats; rep++) {
		stamp s0 = stamp_now(), s1;

		for (unsigned c = 0; c < AE_CALLS; c++) {
			r = fm_learn_ae_loss_grad(ae, x, n, &loss, grad);
			if (r < 0)
				goto out;
			acc += loss + grad[c % fm_learn_ae_params_count(ae)];
		}
		s1 = stamp_now();
		gf[rep] = flops * AE_CALLS / (s1.cpu - s0.cpu) * 1e-9;
	}
	sink += acc;
	*ret_batch = n;
	*ret_inputs = in;
	*ret_gflops = median(gf, repeats);
out:
	fm_learn_ae_free(ae);
	free(grad);
	free(x);
	free(gf);
	return r;
}

/* The BLAS's peak here: median GFLOP/s (CPU time) of cblas_sgemm on
 * PEAK_N x PEAK_N matrices. */
static int
bench_peak(unsigned repeats, double *ret_gflops)
{
	size_t nn = (size_t)PEAK_N * PEAK_N;
	double *gf = calloc(repeats, sizeof(double));
	float *a = malloc(3 * nn * sizeof(float));
	float *bm, *c;
	double flops = 2.0 * PEAK_N * PEAK_N * PEAK_N;
	uint64_t s = 7;

	if (!gf || !a) {
		free(gf);
		free(a);
		return -ENOMEM;
	}
	bm = a + nn;
	c = bm + nn;
	for (size_t i = 0; i < 2 * nn; i++)
		a[i] = (float)(rng_uniform(&s) - 0.5);
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N,
	    PEAK_N, 1.0f, a, PEAK_N, bm, PEAK_N, 0.0f, c, PEAK_N); /* warm-up */
	for (unsigned k = 0; k < repeats; k++) {
		stamp s0 = stamp_now(), s1;

		for (unsigned i = 0; i < PEAK_CALLS; i++) {
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			    PEAK_N, PEAK_N, PEAK_N, 1.0f, a, PEAK_N, bm, PEAK_N,
			    0.0f, c, PEAK_N);
			sink += c[i];
		}
		s1 = stamp_now();
		gf[k] = flops * PEAK_CALLS / (s1.cpu - s0.cpu) * 1e-9;
	}
	*ret_gflops = median(gf, repeats);
	free(a);
	free(gf);
	return 0;
}

static const char *
verdict(bool met)
{
	return met ? "met" : "MISSED";
}

int
main(int argc, char **argv)
{
	const char *dir = getenv("FEDMON_BENCH_DATA");
	const char *machine = getenv("FEDMON_BENCH_MACHINE");
	bool explicit_dir;
	fm_learn_detector_config cfg;
	bench_data b = { 0 };
	double score_cpu, score_wall, train_cpu, train_wall, ae_gf, peak_gf;
	uint32_t ae_batch, ae_inputs;
	size_t train_rows;
	uint64_t repeats = DEFAULT_REPEATS;
	int r;

	if (argc > 3 ||
	    (argc > 1 &&
	        fm_parse_u64_range(argv[1], 1, MAX_REPEATS, &repeats) < 0)) {
		fprintf(stderr,
		    "usage: bench-learn [REPEATS [DATA_DIR]]   "
		    "(REPEATS 1…%u, default %u; DATA_DIR or \"synthetic\")\n",
		    MAX_REPEATS, DEFAULT_REPEATS);
		return 2;
	}
	if (argc > 2)
		dir = argv[2];
	explicit_dir = dir && dir[0];
	if (!explicit_dir)
		dir = DEFAULT_DATA_DIR;
	if (!machine || !machine[0])
		machine = DEFAULT_MACHINE;

	fm_learn_blas_single_thread();

	if (strcmp(dir, "synthetic") == 0)
		r = data_synth(&b, "asked for");
	else if (!explicit_dir) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/train/%s.txt", dir, machine);
		f = fopen(path, "r");
		if (f) {
			fclose(f);
			r = data_read(&b, dir, machine);
		} else {
			char why[sizeof(path) + 32];

			snprintf(why, sizeof(why), "no real data: %s: %s", path,
			    strerror(errno));
			r = data_synth(&b, why);
		}
	} else
		r = data_read(&b, dir, machine);
	if (r < 0)
		goto out;

	fm_learn_detector_config_default(&cfg, b.d, ROWS_PER_DAY);
	train_rows = b.train_rows < TRAIN_ROWS ? b.train_rows : TRAIN_ROWS;
	printf("bench-learn: %u repeats, %u features, data: %s\n",
	    (unsigned)repeats, b.d, b.label);
	printf("blas: %s, single thread\n", fm_learn_blas_config());
	fflush(stdout);

	r = bench_score(&b, &cfg, (unsigned)repeats, &score_cpu, &score_wall);
	if (r < 0) {
		fprintf(
		    stderr, "bench-learn: Failed to score: %s\n", strerror(-r));
		goto out;
	}
	printf("score: median %.2f us/sample cpu (%.2f wall), %u features, "
	       "%u samples x %u repeats (data: %s)\n",
	    score_cpu, score_wall, b.d, SCORE_ROWS, (unsigned)repeats, b.name);
	fflush(stdout);

	r = bench_train(
	    &b, &cfg, (unsigned)repeats, train_rows, &train_cpu, &train_wall);
	if (r < 0) {
		fprintf(
		    stderr, "bench-learn: Failed to train: %s\n", strerror(-r));
		goto out;
	}
	printf("train: %zux%u median %.3f s cpu (%.3f s wall), "
	       "%u steps of %u rows, %u repeats\n",
	    train_rows, b.d, train_cpu, train_wall, cfg.train.steps,
	    cfg.train.batch, (unsigned)repeats);
	fflush(stdout);

	r = bench_ae(
	    &b, &cfg, (unsigned)repeats, &ae_batch, &ae_inputs, &ae_gf);
	if (r < 0) {
		fprintf(stderr,
		    "bench-learn: Failed to run the autoencoder: %s\n",
		    strerror(-r));
		goto out;
	}
	r = bench_peak((unsigned)repeats, &peak_gf);
	if (r < 0) {
		fprintf(stderr, "bench-learn: Failed to run sgemm: %s\n",
		    strerror(-r));
		goto out;
	}
	printf("gflops: autoencoder loss+grad (%ux%u, latent %u) %.2f "
	       "GFLOP/s, sgemm %d peak %.1f GFLOP/s (%.1f%%), cpu time, "
	       "single thread\n",
	    ae_batch, ae_inputs, cfg.latent, ae_gf, PEAK_N, peak_gf,
	    100.0 * ae_gf / peak_gf);
	printf("targets: score <= %g us: %s, train <= %g s: %s\n",
	    SCORE_TARGET_US, verdict(score_cpu <= SCORE_TARGET_US),
	    TRAIN_TARGET_S, verdict(train_cpu <= TRAIN_TARGET_S));
out:
	data_release(&b);
	return r < 0 ? 1 : 0;
}
