/*
 * The /proc/vmstat collector: major faults, swap-ins and swap-outs, direct
 * reclaim stalls and OOM kills per second.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "agent/collect/collect-int.h"

/* A rate above this is a broken counter, not a busy host: masked. */
#define RATE_MAX_PER_SEC 1e12

/* "allocstall" before 4.8, one "allocstall_<zone>" per zone since. */
#define ALLOCSTALL "allocstall"

static const fm_collect_scan_key keys[] = {
	{ "pgmajfault", FM_COLLECT_VM_PGMAJFAULT,
	    offsetof(fm_collect_vmstat, pgmajfault) },
	{ "pswpin", FM_COLLECT_VM_PSWPIN, offsetof(fm_collect_vmstat, pswpin) },
	{ "pswpout", FM_COLLECT_VM_PSWPOUT,
	    offsetof(fm_collect_vmstat, pswpout) },
	{ "oom_kill", FM_COLLECT_VM_OOM_KILL,
	    offsetof(fm_collect_vmstat, oom_kill) },
};

/* How each rate feature is derived from the counter of one field. */
typedef struct vmstat_rate {
	uint32_t bit;
	size_t off;
	enum fm_collect_feature feature;
	bool log1p;
} vmstat_rate;

static const vmstat_rate rates[] = {
	{ FM_COLLECT_VM_PGMAJFAULT, offsetof(fm_collect_vmstat, pgmajfault),
	    FM_F_MEM_MAJFAULTS, true },
	{ FM_COLLECT_VM_PSWPIN, offsetof(fm_collect_vmstat, pswpin),
	    FM_F_SWAP_IN, true },
	{ FM_COLLECT_VM_PSWPOUT, offsetof(fm_collect_vmstat, pswpout),
	    FM_F_SWAP_OUT, true },
	{ FM_COLLECT_VM_ALLOCSTALL, offsetof(fm_collect_vmstat, allocstall),
	    FM_F_MEM_ALLOCSTALLS, true },
	{ FM_COLLECT_VM_OOM_KILL, offsetof(fm_collect_vmstat, oom_kill),
	    FM_F_MEM_OOM_KILLS, false },
};

typedef struct vmstat_state {
	fmi_procfile file;
	bool has_prev; /* prev holds the last successful tick */
	fm_collect_vmstat prev;
} vmstat_state;

/*
 * Whether the line [p, end) is an allocstall line: its name is
 * "allocstall" or "allocstall_" with a zone after it. *ret_value is then
 * set past the name.
 */
static bool
is_allocstall(const char *p, const char *end, const char **ret_value)
{
	const char *q;

	if (!fm_collect_scan_starts_with(p, end, ALLOCSTALL, &q))
		return false;
	if (q < end && !fm_collect_scan_is_blank(*q)) {
		if (*q != '_')
			return false; /* another name */
		q++;
		if (q == end || fm_collect_scan_is_blank(*q))
			return false; /* "allocstall_": no zone */
		(void)fm_collect_scan_skip_word(&q, end);
	}
	*ret_value = q;
	return true;
}

/* Parses one "name value" line into *vm. Most lines are not ours: they
 * are rejected on their first bytes (firsts), without scanning their
 * name. */
static int
parse_line(const char *p, const char *end, const fm_collect_scan_firsts *firsts,
    fm_collect_vmstat *vm)
{
	const fm_collect_scan_key *f;
	const char *value;
	uint64_t v;
	int r;

	if (!fm_collect_scan_firsts_has(firsts, p, end))
		return 0;
	if (*p == ALLOCSTALL[0] && is_allocstall(p, end, &value)) {
		r = fm_collect_scan_u64_alone(value, end, NULL, &v);
		if (r < 0)
			return r;
		/* The sum wraps like the counters do; a wrap reads as a
		 * reset, which masks one tick. */
		vm->allocstall += v;
		vm->has |= FM_COLLECT_VM_ALLOCSTALL;
		return 0;
	}
	f = fm_collect_scan_key_find_word(
	    keys, FM_ELEMENTSOF(keys), p, end, &value);
	if (!f)
		return 0;
	if (vm->has & f->bit)
		return -EINVAL;
	r = fm_collect_scan_u64_alone(value, end, NULL, &v);
	if (r < 0)
		return r;
	memcpy((char *)vm + f->off, &v, sizeof(v));
	vm->has |= f->bit;
	return 0;
}

/*
 * Parses /proc/vmstat, keeping the counters fm_collect_vmstat names and marking
 * each in has; allocstall is the sum of the per-zone allocstall_* lines
 * (or the single "allocstall" of kernels before 4.8). Lines it does not use
 * are skipped unread. Returns 0, or -EINVAL when a used line is repeated,
 * malformed or beyond UINT64_MAX, or when no used counter is found at all
 * (not a vmstat file). *ret is written only on success. Pure and
 * reentrant.
 */
int
fm_collect_vmstat_parse(const char *buf, size_t len, fm_collect_vmstat *ret)
{
	fm_collect_span rest = { buf, len }, line;
	fm_collect_vmstat vm = { 0 };
	fm_collect_scan_firsts firsts;

	fm_collect_scan_firsts_init(&firsts, keys, FM_ELEMENTSOF(keys));
	fm_collect_scan_firsts_add(&firsts, ALLOCSTALL[0]);
	while (fm_collect_scan_next_line(&rest, &line)) {
		int r = parse_line(line.p, line.p + line.len, &firsts, &vm);

		if (r < 0)
			return r;
	}
	if (vm.has == 0)
		return -EINVAL;
	*ret = vm;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static uint64_t
counter_at(const fm_collect_vmstat *vm, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)vm + off, sizeof(v));
	return v;
}

/* vmstat counters are unsigned long: they wrap at the kernel's word size. */
static void
set_rates(fmi_collect_ctx *ctx, const fm_collect_vmstat *prev,
    const fm_collect_vmstat *cur)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(rates); i++) {
		const vmstat_rate *rt = &rates[i];
		double rate;

		if (!(prev->has & cur->has & rt->bit))
			continue;
		rate = fmi_counter_rate(counter_at(prev, rt->off),
		    counter_at(cur, rt->off), FMI_ULONG_BITS, ctx->dt_ns,
		    RATE_MAX_PER_SEC);
		fmi_feature_set(
		    ctx, rt->feature, rt->log1p ? fmi_log1p_rate(rate) : rate);
	}
}

static int
vmstat_open(void *state, const fm_collect_sampler_config *cfg)
{
	vmstat_state *s = state;

	return fmi_procfile_open(&s->file, cfg->procfs, "vmstat");
}

/* A failed read or parse forgets the previous tick: the next rate would
 * otherwise span two intervals but be divided by one. */
static int
vmstat_read(void *state, fmi_collect_ctx *ctx)
{
	vmstat_state *s = state;
	fm_collect_vmstat vm;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r >= 0)
		r = fm_collect_vmstat_parse(s->file.buf, s->file.len, &vm);
	if (r < 0) {
		s->has_prev = false;
		return r;
	}
	if (s->has_prev && ctx->dt_ns > 0)
		set_rates(ctx, &s->prev, &vm);
	s->prev = vm;
	s->has_prev = true;
	return 0;
}

static void
vmstat_close(void *state)
{
	vmstat_state *s = state;

	fmi_procfile_close(&s->file);
	s->has_prev = false;
}

/* The /proc/vmstat collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_vmstat = {
	.name = "vmstat",
	.state_bytes = sizeof(vmstat_state),
	.open = vmstat_open,
	.read = vmstat_read,
	.close = vmstat_close,
};
