/*
 * The /proc/meminfo collector: used, cache, dirty and committed memory and
 * used swap, each as a fraction.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "agent/collect/collect-int.h"

static const fmi_scan_key keys[] = {
	{ "MemTotal", FMI_MEM_TOTAL, offsetof(fmi_meminfo, total) },
	{ "MemFree", FMI_MEM_FREE, offsetof(fmi_meminfo, free) },
	{ "MemAvailable", FMI_MEM_AVAILABLE, offsetof(fmi_meminfo, available) },
	{ "Buffers", FMI_MEM_BUFFERS, offsetof(fmi_meminfo, buffers) },
	{ "Cached", FMI_MEM_CACHED, offsetof(fmi_meminfo, cached) },
	{ "SwapTotal", FMI_MEM_SWAP_TOTAL, offsetof(fmi_meminfo, swap_total) },
	{ "SwapFree", FMI_MEM_SWAP_FREE, offsetof(fmi_meminfo, swap_free) },
	{ "Dirty", FMI_MEM_DIRTY, offsetof(fmi_meminfo, dirty) },
	{ "Writeback", FMI_MEM_WRITEBACK, offsetof(fmi_meminfo, writeback) },
	{ "Committed_AS", FMI_MEM_COMMITTED,
	    offsetof(fmi_meminfo, committed_as) },
};

typedef struct meminfo_state {
	fmi_procfile file;
} meminfo_state;

/*
 * Parses /proc/meminfo, keeping the fields fmi_meminfo names (in kB) and
 * marking each in has. Lines it does not use are skipped unread, so new
 * kernels' fields cannot break it. MemTotal is required (without it there
 * is no fraction to compute, and garbage has none): -EINVAL otherwise, and
 * for a used field that is repeated, malformed or beyond UINT64_MAX. *ret
 * is written only on success. Pure and reentrant.
 */
int
fmi_meminfo_parse(const char *buf, size_t len, fmi_meminfo *ret)
{
	fmi_span rest = { buf, len }, line;
	fmi_meminfo mi = { 0 };
	fmi_scan_firsts firsts;

	fmi_scan_firsts_init(&firsts, keys, FM_ELEMENTSOF(keys));
	while (fmi_scan_next_line(&rest, &line)) {
		const char *end = line.p + line.len, *value;
		const fmi_scan_key *f;
		uint64_t v;
		int r;

		if (!fmi_scan_firsts_has(&firsts, line.p, end))
			continue;
		/* The name is what comes before the first ':'. */
		f = fmi_scan_key_find_before(
		    keys, FM_ELEMENTSOF(keys), line.p, end, ':', &value);
		if (!f)
			continue;
		if (mi.has & f->bit)
			return -EINVAL;
		/* A number, an optional " kB", nothing else. */
		r = fmi_scan_u64_alone(value, end, "kB", &v);
		if (r < 0)
			return r;
		memcpy((char *)&mi + f->off, &v, sizeof(v));
		mi.has |= f->bit;
	}
	if (!(mi.has & FMI_MEM_TOTAL))
		return -EINVAL;
	*ret = mi;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static bool
has_all(const fmi_meminfo *mi, uint32_t bits)
{
	return (mi->has & bits) == bits;
}

/*
 * Sums are taken in double: kB values near UINT64_MAX (never real, but
 * bytes from the file) must not wrap into a plausible small fraction.
 * Committed_AS/(MemTotal+SwapTotal) is left unclamped above 1: an
 * overcommitted host is exactly what that feature is there to show.
 */
static void
set_features(fmi_collect_ctx *ctx, const fmi_meminfo *mi)
{
	double total = (double)mi->total;

	if (mi->total > 0) {
		if (has_all(mi, FMI_MEM_AVAILABLE))
			fmi_feature_set(ctx, FM_F_MEM_USED,
			    fmi_clamp01(1.0 - (double)mi->available / total));
		if (has_all(mi, FMI_MEM_CACHED | FMI_MEM_BUFFERS))
			fmi_feature_set(ctx, FM_F_MEM_CACHE,
			    fmi_clamp01(
			        ((double)mi->cached + (double)mi->buffers) /
			        total));
		if (has_all(mi, FMI_MEM_DIRTY | FMI_MEM_WRITEBACK))
			fmi_feature_set(ctx, FM_F_MEM_DIRTY,
			    fmi_clamp01(
			        ((double)mi->dirty + (double)mi->writeback) /
			        total));
		if (has_all(mi, FMI_MEM_COMMITTED | FMI_MEM_SWAP_TOTAL))
			fmi_feature_set(ctx, FM_F_MEM_COMMITTED,
			    (double)mi->committed_as /
			        (total + (double)mi->swap_total));
	}
	/* Without swap 1 - 0/0 is not a zero: the feature stays masked. */
	if (has_all(mi, FMI_MEM_SWAP_TOTAL | FMI_MEM_SWAP_FREE) &&
	    mi->swap_total > 0)
		fmi_feature_set(ctx, FM_F_SWAP_USED,
		    fmi_clamp01(
		        1.0 - (double)mi->swap_free / (double)mi->swap_total));
}

static int
meminfo_open(void *state, const fm_collect_sampler_config *cfg)
{
	meminfo_state *s = state;

	return fmi_procfile_open(&s->file, cfg->procfs, "meminfo");
}

static int
meminfo_read(void *state, fmi_collect_ctx *ctx)
{
	meminfo_state *s = state;
	fmi_meminfo mi;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r < 0)
		return r;
	r = fmi_meminfo_parse(s->file.buf, s->file.len, &mi);
	if (r < 0)
		return r;
	set_features(ctx, &mi);
	return 0;
}

static void
meminfo_close(void *state)
{
	meminfo_state *s = state;

	fmi_procfile_close(&s->file);
}

/* The /proc/meminfo collector (see agent-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_meminfo = {
	.name = "meminfo",
	.state_bytes = sizeof(meminfo_state),
	.open = meminfo_open,
	.read = meminfo_read,
	.close = meminfo_close,
};
