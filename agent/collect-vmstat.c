/*
 * The /proc/vmstat collector: major faults, swap-ins and swap-outs, direct
 * reclaim stalls and OOM kills per second.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "agent/agent-int.h"

/* A rate above this is a broken counter, not a busy host: masked. */
#define RATE_MAX_PER_SEC 1e12

/* vmstat counters are unsigned long: they wrap at the kernel's word size,
 * and a 32-bit agent runs on a 32-bit kernel. */
#define ULONG_BITS ((unsigned)(sizeof(unsigned long) * CHAR_BIT))

#define ALLOCSTALL_PREFIX "allocstall_"

typedef struct vmstat_field {
	const char *name;
	uint32_t bit; /* FMI_VM_* */
	size_t off;   /* of the uint64_t in fmi_vmstat */
} vmstat_field;

static const vmstat_field fields[] = {
	{ "pgmajfault", FMI_VM_PGMAJFAULT, offsetof(fmi_vmstat, pgmajfault) },
	{ "pswpin", FMI_VM_PSWPIN, offsetof(fmi_vmstat, pswpin) },
	{ "pswpout", FMI_VM_PSWPOUT, offsetof(fmi_vmstat, pswpout) },
	{ "oom_kill", FMI_VM_OOM_KILL, offsetof(fmi_vmstat, oom_kill) },
};

/* How each rate feature is derived from the counter of one field. */
typedef struct vmstat_rate {
	uint32_t bit;
	size_t off;
	enum fm_feature feature;
	bool log1p;
} vmstat_rate;

static const vmstat_rate rates[] = {
	{ FMI_VM_PGMAJFAULT, offsetof(fmi_vmstat, pgmajfault),
	    FM_F_MEM_MAJFAULTS, true },
	{ FMI_VM_PSWPIN, offsetof(fmi_vmstat, pswpin), FM_F_SWAP_IN, true },
	{ FMI_VM_PSWPOUT, offsetof(fmi_vmstat, pswpout), FM_F_SWAP_OUT, true },
	{ FMI_VM_ALLOCSTALL, offsetof(fmi_vmstat, allocstall),
	    FM_F_MEM_ALLOCSTALLS, true },
	{ FMI_VM_OOM_KILL, offsetof(fmi_vmstat, oom_kill), FM_F_MEM_OOM_KILLS,
	    false },
};

typedef struct vmstat_state {
	bool is_init; /* file initialised: close may touch it */
	fmi_procfile file;
	bool has_prev; /* prev holds the last successful tick */
	fmi_vmstat prev;
} vmstat_state;

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Scans digits (at least one) into *ret and moves *p past them; a number
 * beyond UINT64_MAX is malformed: -EINVAL. */
static int
scan_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v = 0;

	if (q == end || *q < '0' || *q > '9')
		return -EINVAL;
	for (; q < end && *q >= '0' && *q <= '9'; q++) {
		unsigned d = (unsigned)(*q - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = q;
	*ret = v;
	return 0;
}

/* Parses the value after a name: blanks, one number, optional blanks. */
static int
scan_value(const char *p, const char *end, uint64_t *ret)
{
	uint64_t v;
	int r;

	while (p < end && is_blank(*p))
		p++;
	r = scan_u64(&p, end, &v);
	if (r < 0)
		return r;
	while (p < end && is_blank(*p))
		p++;
	if (p != end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static const vmstat_field *
field_lookup(const char *name, size_t name_len)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(fields); i++) {
		if (strlen(fields[i].name) == name_len &&
		    memcmp(fields[i].name, name, name_len) == 0)
			return &fields[i];
	}
	return NULL;
}

static bool
is_allocstall(const char *name, size_t name_len)
{
	size_t n = strlen(ALLOCSTALL_PREFIX);

	/* "allocstall" before 4.8, one "allocstall_<zone>" per zone since */
	if (name_len == n - 1)
		return memcmp(name, ALLOCSTALL_PREFIX, n - 1) == 0;
	return name_len > n && memcmp(name, ALLOCSTALL_PREFIX, n) == 0;
}

/* Parses one "name value" line into *vm. */
static int
parse_line(const char *p, const char *end, fmi_vmstat *vm)
{
	const char *name = p;
	const vmstat_field *f;
	size_t name_len;
	uint64_t v;
	int r;

	while (p < end && !is_blank(*p))
		p++;
	name_len = (size_t)(p - name);
	if (is_allocstall(name, name_len)) {
		r = scan_value(p, end, &v);
		if (r < 0)
			return r;
		/* The sum wraps like the counters do; a wrap reads as a
		 * reset, which masks one tick. */
		vm->allocstall += v;
		vm->has |= FMI_VM_ALLOCSTALL;
		return 0;
	}
	f = field_lookup(name, name_len);
	if (!f)
		return 0;
	if (vm->has & f->bit)
		return -EINVAL;
	r = scan_value(p, end, &v);
	if (r < 0)
		return r;
	memcpy((char *)vm + f->off, &v, sizeof(v));
	vm->has |= f->bit;
	return 0;
}

/*
 * Parses /proc/vmstat, keeping the counters fmi_vmstat names and marking
 * each in has; allocstall is the sum of the per-zone allocstall_* lines
 * (or the single "allocstall" of kernels before 4.8). Lines it does not use
 * are skipped unread. Returns 0, or -EINVAL when a used line is repeated,
 * malformed or beyond UINT64_MAX, or when no used counter is found at all
 * (not a vmstat file). *ret is written only on success. Pure and
 * reentrant.
 */
int
fmi_vmstat_parse(const char *buf, size_t len, fmi_vmstat *ret)
{
	const char *p = buf, *end = buf + len;
	fmi_vmstat vm = { 0 };

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		int r;

		if (!eol)
			eol = end;
		r = parse_line(p, eol, &vm);
		if (r < 0)
			return r;
		p = eol < end ? eol + 1 : end;
	}
	if (vm.has == 0)
		return -EINVAL;
	*ret = vm;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static uint64_t
counter_at(const fmi_vmstat *vm, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)vm + off, sizeof(v));
	return v;
}

/* Per-second rate of a counter, or NAN on a reset or an absurd rate. */
static double
counter_rate(uint64_t prev, uint64_t cur, int64_t dt_ns)
{
	uint64_t d;
	double rate;

	if (!fmi_counter_delta(prev, cur, ULONG_BITS, &d))
		return NAN;
	rate = fmi_per_second(d, dt_ns);
	return rate <= RATE_MAX_PER_SEC ? rate : NAN;
}

static void
set_rates(fmi_collect_ctx *ctx, const fmi_vmstat *prev, const fmi_vmstat *cur)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(rates); i++) {
		const vmstat_rate *rt = &rates[i];
		double rate;

		if (!(prev->has & cur->has & rt->bit))
			continue;
		rate = counter_rate(counter_at(prev, rt->off),
		    counter_at(cur, rt->off), ctx->dt_ns);
		fmi_feature_set(
		    ctx, rt->feature, rt->log1p ? fmi_log1p_rate(rate) : rate);
	}
}

static int
vmstat_open(void *state, const fm_sampler_config *cfg)
{
	vmstat_state *s = state;

	fmi_procfile_init(&s->file);
	s->is_init = true;
	return fmi_procfile_open(&s->file, cfg->procfs, "vmstat");
}

/* A failed read or parse forgets the previous tick: the next rate would
 * otherwise span two intervals but be divided by one. */
static int
vmstat_read(void *state, fmi_collect_ctx *ctx)
{
	vmstat_state *s = state;
	fmi_vmstat vm;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r >= 0)
		r = fmi_vmstat_parse(s->file.buf, s->file.len, &vm);
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

	if (s->is_init)
		fmi_procfile_close(&s->file);
	s->has_prev = false;
}

/* The /proc/vmstat collector (see agent-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_vmstat = {
	.name = "vmstat",
	.state_bytes = sizeof(vmstat_state),
	.open = vmstat_open,
	.read = vmstat_read,
	.close = vmstat_close,
};
