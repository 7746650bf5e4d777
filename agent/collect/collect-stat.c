/*
 * The /proc/stat collector: CPU time fractions by mode, the busiest core,
 * context switches, interrupts and forks per second, runnable and blocked
 * tasks. It runs first and tells the later collectors the CPU count.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "agent/collect/collect-int.h"

/* A rate above this is a broken counter, not a busy host: masked. */
#define RATE_MAX_PER_SEC 1e12

/* CPU line fields: user nice system idle, then optional ones. */
#define CPU_FIELDS_MIN 4
#define CPU_FIELDS_MAX 8

enum {
	SEEN_CPU = 1u << 0,
	SEEN_INTR = 1u << 1,
	SEEN_CTXT = 1u << 2,
	SEEN_PROCESSES = 1u << 3,
	SEEN_RUNNING = 1u << 4,
	SEEN_BLOCKED = 1u << 5,
	SEEN_ALL = (1u << 6) - 1,
};

typedef struct stat_state {
	fmi_procfile file;
	uint32_t cap;        /* CPUs one half of cpus/present holds */
	fm_collect_cpu_times *cpus; /* 2 x cap: halves swap roles every tick */
	bool *present;       /* 2 x cap, alongside cpus */
	unsigned half;       /* 0 or 1: the half the next parse writes */
	bool has_prev;       /* prev and the other half hold the last tick */
	fm_collect_stat prev;
	uint32_t ncpu; /* from the last successful parse */
} stat_state;

/* Parses the times of a "cpu" line; fields past the eighth (guest time,
 * already counted in user) are checked and dropped. */
static int
scan_cpu_times(const char *p, const char *end, fm_collect_cpu_times *ret)
{
	uint64_t v[CPU_FIELDS_MAX] = { 0 };
	uint32_t n;
	int r;

	r = fm_collect_scan_u64_list(p, end, v, CPU_FIELDS_MAX, &n);
	if (r < 0)
		return r;
	if (n < CPU_FIELDS_MIN)
		return -EINVAL;
	*ret = (fm_collect_cpu_times) { .user = v[0],
		.nice = v[1],
		.system = v[2],
		.idle = v[3],
		.iowait = v[4],
		.irq = v[5],
		.softirq = v[6],
		.steal = v[7] };
	return 0;
}

/* Whether a key is "cpu" followed by digits only. */
static bool
is_cpu_key(const char *key, size_t key_len)
{
	return key_len > 3 && memcmp(key, "cpu", 3) == 0 &&
	    fm_collect_scan_is_digits(key + 3, key_len - 3);
}

/* Parses the N of a "cpuN" key: no leading zero, at most UINT32_MAX. */
static int
scan_cpu_index(const char *p, const char *end, uint32_t *ret)
{
	if (end - p > 1 && *p == '0')
		return -EINVAL;
	return fm_collect_scan_u32(&p, end, ret);
}

/* Records a key seen once; a second occurrence is malformed. */
static int
mark_seen(uint32_t *seen, uint32_t bit)
{
	if (*seen & bit)
		return -EINVAL;
	*seen |= bit;
	return 0;
}

/* Parses a line holding exactly one number at most UINT32_MAX (p is after
 * the key). */
static int
parse_u32_line(const char *p, const char *end, uint32_t *ret)
{
	uint64_t v;
	int r;

	r = fm_collect_scan_u64_alone(p, end, NULL, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* Parses one line [p, end) into st, cpus and present. */
static int
parse_line(const char *p, const char *end, fm_collect_stat *st, uint32_t *seen,
    fm_collect_cpu_times *cpus, bool *present, uint32_t cpus_cap)
{
	const char *key = p;
	size_t key_len = fm_collect_scan_skip_word(&p, end);
	uint32_t idx;
	fm_collect_cpu_times t;
	int r;

	if (FM_COLLECT_SCAN_IS(key, key_len, "cpu")) {
		r = mark_seen(seen, SEEN_CPU);
		return r < 0 ? r : scan_cpu_times(p, end, &st->total);
	}
	if (is_cpu_key(key, key_len)) {
		r = scan_cpu_index(key + 3, key + key_len, &idx);
		if (r < 0)
			return r;
		r = scan_cpu_times(p, end, &t);
		if (r < 0)
			return r;
		if (st->ncpu == UINT32_MAX)
			return -EINVAL;
		st->ncpu++;
		if (idx < cpus_cap) {
			present[idx] = true;
			cpus[idx] = t;
		}
		return 0;
	}
	if (FM_COLLECT_SCAN_IS(key, key_len, "intr")) {
		/* The total, then one count per IRQ, which we do not use. */
		r = mark_seen(seen, SEEN_INTR);
		if (r < 0)
			return r;
		return fm_collect_scan_u64_field(&p, end, &st->intr);
	}
	if (FM_COLLECT_SCAN_IS(key, key_len, "ctxt")) {
		r = mark_seen(seen, SEEN_CTXT);
		return r < 0
		    ? r
		    : fm_collect_scan_u64_alone(p, end, NULL, &st->ctxt);
	}
	if (FM_COLLECT_SCAN_IS(key, key_len, "processes")) {
		r = mark_seen(seen, SEEN_PROCESSES);
		if (r < 0)
			return r;
		return fm_collect_scan_u64_alone(p, end, NULL, &st->processes);
	}
	if (FM_COLLECT_SCAN_IS(key, key_len, "procs_running")) {
		r = mark_seen(seen, SEEN_RUNNING);
		return r < 0 ? r : parse_u32_line(p, end, &st->procs_running);
	}
	if (FM_COLLECT_SCAN_IS(key, key_len, "procs_blocked")) {
		r = mark_seen(seen, SEEN_BLOCKED);
		return r < 0 ? r : parse_u32_line(p, end, &st->procs_blocked);
	}
	return 0; /* btime, softirq, lines of future kernels */
}

/*
 * Parses /proc/stat (see parse.h). Besides the "cpu " line, the intr,
 * ctxt, processes, procs_running and procs_blocked lines are required
 * (every kernel since 2.6 prints them): a file without them is truncated,
 * and reading their counters as 0 would fake a rate. A number beyond
 * UINT64_MAX (UINT32_MAX for the procs_ counts), a repeated aggregate or
 * counter line, or a "cpuN" key with a leading zero is malformed: -EINVAL.
 * Other lines (btime, softirq, "cpufoo" of a future kernel) are skipped.
 * A repeated "cpuN" line is counted twice and the last one kept, so the
 * verdict never depends on cpus_cap. present[] is rewritten whole; on
 * failure cpus[] and present[] hold garbage and *ret is untouched. Pure
 * and reentrant.
 */
int
fm_collect_stat_parse(const char *buf, size_t len, fm_collect_stat *ret,
    fm_collect_cpu_times *cpus, bool *present, uint32_t cpus_cap)
{
	fm_collect_span rest = { buf, len }, line;
	fm_collect_stat st = { 0 };
	uint32_t seen = 0;

	if (cpus_cap > 0)
		memset(present, 0, cpus_cap * sizeof(*present));
	while (fm_collect_scan_next_line(&rest, &line)) {
		int r = parse_line(line.p, line.p + line.len, &st, &seen, cpus,
		    present, cpus_cap);

		if (r < 0)
			return r;
	}
	if (seen != SEEN_ALL)
		return -EINVAL;
	*ret = st;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static uint64_t
mode_delta(uint64_t prev, uint64_t cur)
{
	/* iowait (and on some kernels idle) can step back under NO_HZ. */
	return cur > prev ? cur - prev : 0;
}

typedef struct cpu_deltas {
	double user, system, iowait, irq, steal, idle, total;
} cpu_deltas;

static cpu_deltas
cpu_deltas_of(const fm_collect_cpu_times *a, const fm_collect_cpu_times *b)
{
	cpu_deltas d;

	d.user = (double)mode_delta(a->user, b->user) +
	    (double)mode_delta(a->nice, b->nice);
	d.system = (double)mode_delta(a->system, b->system);
	d.iowait = (double)mode_delta(a->iowait, b->iowait);
	d.irq = (double)mode_delta(a->irq, b->irq) +
	    (double)mode_delta(a->softirq, b->softirq);
	d.steal = (double)mode_delta(a->steal, b->steal);
	d.idle = (double)mode_delta(a->idle, b->idle);
	d.total = d.user + d.system + d.iowait + d.irq + d.steal + d.idle;
	return d;
}

static void
set_fraction(
    fmi_collect_ctx *ctx, enum fm_collect_feature f, double part, double total)
{
	fmi_feature_set(ctx, f, fmi_clamp01(part / total));
}

/* Per-second rate of a counter, or NAN on a reset or an absurd rate. */
static double
counter_rate(uint64_t prev, uint64_t cur, unsigned bits, int64_t dt_ns)
{
	return fmi_counter_rate(prev, cur, bits, dt_ns, RATE_MAX_PER_SEC);
}

static void
set_cpu_fractions(fmi_collect_ctx *ctx, const fm_collect_stat *prev,
    const fm_collect_stat *cur)
{
	cpu_deltas d = cpu_deltas_of(&prev->total, &cur->total);

	if (d.total <= 0.0)
		return;
	set_fraction(ctx, FM_F_CPU_USER, d.user, d.total);
	set_fraction(ctx, FM_F_CPU_SYSTEM, d.system, d.total);
	set_fraction(ctx, FM_F_CPU_IOWAIT, d.iowait, d.total);
	set_fraction(ctx, FM_F_CPU_IRQ, d.irq, d.total);
	set_fraction(ctx, FM_F_CPU_STEAL, d.steal, d.total);
	set_fraction(ctx, FM_F_CPU_IDLE, d.idle, d.total);
}

static void
set_busiest(stat_state *s, fmi_collect_ctx *ctx)
{
	const fm_collect_cpu_times *cur = s->cpus + (size_t)s->half * s->cap;
	const fm_collect_cpu_times *prev =
	    s->cpus + (size_t)(s->half ^ 1) * s->cap;
	const bool *cur_present = s->present + (size_t)s->half * s->cap;
	const bool *prev_present = s->present + (size_t)(s->half ^ 1) * s->cap;
	double busiest = NAN;

	for (uint32_t i = 0; i < s->cap; i++) {
		cpu_deltas d;
		double busy;

		if (!prev_present[i] || !cur_present[i])
			continue;
		d = cpu_deltas_of(&prev[i], &cur[i]);
		if (d.total <= 0.0)
			continue;
		busy = fmi_clamp01(1.0 - (d.idle + d.iowait) / d.total);
		if (isnan(busiest) || busy > busiest)
			busiest = busy;
	}
	fmi_feature_set(ctx, FM_F_CPU_BUSIEST, busiest);
}

static double
per_core(double v, uint32_t ncpu)
{
	return ncpu > 0 ? v / ncpu : NAN;
}

static void
set_rates(stat_state *s, fmi_collect_ctx *ctx, const fm_collect_stat *cur)
{
	const fm_collect_stat *prev = &s->prev;
	double r;

	set_cpu_fractions(ctx, prev, cur);
	set_busiest(s, ctx);
	r = counter_rate(prev->ctxt, cur->ctxt, 64, ctx->dt_ns);
	fmi_feature_set(
	    ctx, FM_F_CPU_CTXT, fmi_log1p_rate(per_core(r, cur->ncpu)));
	r = counter_rate(prev->intr, cur->intr, 64, ctx->dt_ns);
	fmi_feature_set(
	    ctx, FM_F_CPU_INTR, fmi_log1p_rate(per_core(r, cur->ncpu)));
	r = counter_rate(
	    prev->processes, cur->processes, FMI_ULONG_BITS, ctx->dt_ns);
	fmi_feature_set(ctx, FM_F_PROC_FORKS, fmi_log1p_rate(r));
}

static int
cpus_alloc(stat_state *s, uint32_t cap)
{
	fm_collect_cpu_times *cpus;
	bool *present;

	cpus = calloc(2 * (size_t)cap, sizeof(*cpus));
	present = calloc(2 * (size_t)cap, sizeof(*present));
	if (!cpus || !present) {
		free(cpus);
		free(present);
		return -ENOMEM;
	}
	free(s->cpus);
	free(s->present);
	s->cpus = cpus;
	s->present = present;
	s->cap = cap;
	return 0;
}

static uint32_t
count_present(const bool *present, uint32_t cap)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < cap; i++)
		n += present[i];
	return n;
}

/*
 * Sizes the per-CPU arrays: the configured CPU count, doubled while the
 * file shows CPUs beyond it (a CPU hot-added later, a fixture tree from a
 * bigger host), up to FM_COLLECT_STAT_MAX_CPUS. A file that does not parse now
 * is not an error here: read reports it on every tick.
 */
static int
cpus_size(stat_state *s)
{
	int conf = get_nprocs_conf();
	uint32_t cap = conf < 1 ? 1 : (uint32_t)conf;
	fm_collect_stat st;
	int r;

	if (cap > FM_COLLECT_STAT_MAX_CPUS)
		cap = FM_COLLECT_STAT_MAX_CPUS;
	for (;;) {
		r = cpus_alloc(s, cap);
		if (r < 0)
			return r;
		if (fmi_procfile_read(&s->file) < 0 ||
		    fm_collect_stat_parse(s->file.buf, s->file.len, &st,
		        s->cpus, s->present, cap) < 0 ||
		    count_present(s->present, cap) == st.ncpu ||
		    cap == FM_COLLECT_STAT_MAX_CPUS)
			return 0;
		cap = cap > FM_COLLECT_STAT_MAX_CPUS / 2
		    ? FM_COLLECT_STAT_MAX_CPUS
		    : 2 * cap;
	}
}

static int
stat_open(void *state, const fm_collect_sampler_config *cfg)
{
	stat_state *s = state;
	int r;

	r = fmi_procfile_open(&s->file, cfg->procfs, "stat");
	if (r < 0)
		return r;
	return cpus_size(s);
}

/*
 * Parses this tick into the free half of the per-CPU arrays. A failed read
 * or parse forgets the previous tick: the next rate would otherwise span
 * two intervals but be divided by one. ctx->ncpu is the CPU count of the
 * last good parse even when this one fails, so load stays normalised.
 */
static int
stat_read(void *state, fmi_collect_ctx *ctx)
{
	stat_state *s = state;
	fm_collect_cpu_times *cpus;
	bool *present;
	fm_collect_stat st;
	int r;

	if (!s->cpus)
		return -EBADF;
	cpus = s->cpus + (size_t)s->half * s->cap;
	present = s->present + (size_t)s->half * s->cap;
	r = fmi_procfile_read(&s->file);
	if (r >= 0)
		r = fm_collect_stat_parse(
		    s->file.buf, s->file.len, &st, cpus, present, s->cap);
	if (r < 0) {
		s->has_prev = false;
		ctx->ncpu = s->ncpu;
		return r;
	}
	s->ncpu = st.ncpu;
	ctx->ncpu = st.ncpu;
	fmi_feature_set(
	    ctx, FM_F_PROC_RUNNING, per_core(st.procs_running, st.ncpu));
	fmi_feature_set(
	    ctx, FM_F_PROC_BLOCKED, per_core(st.procs_blocked, st.ncpu));
	if (s->has_prev && ctx->dt_ns > 0)
		set_rates(s, ctx, &st);
	s->prev = st;
	s->half ^= 1;
	s->has_prev = true;
	return 0;
}

static void
stat_close(void *state)
{
	stat_state *s = state;

	fmi_procfile_close(&s->file);
	free(s->cpus);
	free(s->present);
	s->cpus = NULL;
	s->present = NULL;
	s->has_prev = false;
}

/* The /proc/stat collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_stat = {
	.name = "stat",
	.state_bytes = sizeof(stat_state),
	.open = stat_open,
	.read = stat_read,
	.close = stat_close,
};
