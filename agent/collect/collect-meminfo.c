/*
 * The /proc/meminfo collector: used, cache, dirty and committed memory and
 * used swap, each as a fraction.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "agent/collect/collect-int.h"

static const fm_collect_scan_key keys[] = {
	{ "MemTotal", FM_COLLECT_MEM_TOTAL,
	    offsetof(fm_collect_meminfo, total) },
	{ "MemFree", FM_COLLECT_MEM_FREE, offsetof(fm_collect_meminfo, free) },
	{ "MemAvailable", FM_COLLECT_MEM_AVAILABLE,
	    offsetof(fm_collect_meminfo, available) },
	{ "Buffers", FM_COLLECT_MEM_BUFFERS,
	    offsetof(fm_collect_meminfo, buffers) },
	{ "Cached", FM_COLLECT_MEM_CACHED,
	    offsetof(fm_collect_meminfo, cached) },
	{ "SwapTotal", FM_COLLECT_MEM_SWAP_TOTAL,
	    offsetof(fm_collect_meminfo, swap_total) },
	{ "SwapFree", FM_COLLECT_MEM_SWAP_FREE,
	    offsetof(fm_collect_meminfo, swap_free) },
	{ "Dirty", FM_COLLECT_MEM_DIRTY, offsetof(fm_collect_meminfo, dirty) },
	{ "Writeback", FM_COLLECT_MEM_WRITEBACK,
	    offsetof(fm_collect_meminfo, writeback) },
	{ "Committed_AS", FM_COLLECT_MEM_COMMITTED,
	    offsetof(fm_collect_meminfo, committed_as) },
};

typedef struct meminfo_state {
	fmi_procfile file;
} meminfo_state;

/*
 * Parses /proc/meminfo, keeping the fields fm_collect_meminfo names (in kB) and
 * marking each in has. Lines it does not use are skipped unread, so new
 * kernels' fields cannot break it. MemTotal is required (without it there
 * is no fraction to compute, and garbage has none): -EINVAL otherwise, and
 * for a used field that is repeated, malformed or beyond UINT64_MAX. *ret
 * is written only on success. Pure and reentrant.
 */
int
fm_collect_meminfo_parse(const char *buf, size_t len, fm_collect_meminfo *ret)
{
	fm_collect_span rest = { buf, len }, line;
	fm_collect_meminfo mi = { 0 };
	fm_collect_scan_firsts firsts;

	fm_collect_scan_firsts_init(&firsts, keys, FM_ELEMENTSOF(keys));
	while (fm_collect_scan_next_line(&rest, &line)) {
		const char *end = line.p + line.len, *value;
		const fm_collect_scan_key *f;
		uint64_t v;
		int r;

		if (!fm_collect_scan_firsts_has(&firsts, line.p, end))
			continue;
		/* The name is what comes before the first ':'. */
		f = fm_collect_scan_key_find_before(
		    keys, FM_ELEMENTSOF(keys), line.p, end, ':', &value);
		if (!f)
			continue;
		if (mi.has & f->bit)
			return -EINVAL;
		/* A number, an optional " kB", nothing else. */
		r = fm_collect_scan_u64_alone(value, end, "kB", &v);
		if (r < 0)
			return r;
		memcpy((char *)&mi + f->off, &v, sizeof(v));
		mi.has |= f->bit;
	}
	if (!(mi.has & FM_COLLECT_MEM_TOTAL))
		return -EINVAL;
	*ret = mi;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static bool
has_all(const fm_collect_meminfo *mi, uint32_t bits)
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
set_features(fmi_collect_ctx *ctx, const fm_collect_meminfo *mi)
{
	double total = (double)mi->total;

	if (mi->total > 0) {
		if (has_all(mi, FM_COLLECT_MEM_AVAILABLE))
			fmi_feature_set(ctx, FM_F_MEM_USED,
			    fmi_clamp01(1.0 - (double)mi->available / total));
		if (has_all(mi, FM_COLLECT_MEM_CACHED | FM_COLLECT_MEM_BUFFERS))
			fmi_feature_set(ctx, FM_F_MEM_CACHE,
			    fmi_clamp01(
			        ((double)mi->cached + (double)mi->buffers) /
			        total));
		if (has_all(
		        mi, FM_COLLECT_MEM_DIRTY | FM_COLLECT_MEM_WRITEBACK))
			fmi_feature_set(ctx, FM_F_MEM_DIRTY,
			    fmi_clamp01(
			        ((double)mi->dirty + (double)mi->writeback) /
			        total));
		if (has_all(mi,
		        FM_COLLECT_MEM_COMMITTED | FM_COLLECT_MEM_SWAP_TOTAL))
			fmi_feature_set(ctx, FM_F_MEM_COMMITTED,
			    (double)mi->committed_as /
			        (total + (double)mi->swap_total));
	}
	/* Without swap 1 - 0/0 is not a zero: the feature stays masked. */
	if (has_all(mi, FM_COLLECT_MEM_SWAP_TOTAL | FM_COLLECT_MEM_SWAP_FREE) &&
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
	fm_collect_meminfo mi;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r < 0)
		return r;
	r = fm_collect_meminfo_parse(s->file.buf, s->file.len, &mi);
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

/* The /proc/meminfo collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_meminfo = {
	.name = "meminfo",
	.state_bytes = sizeof(meminfo_state),
	.open = meminfo_open,
	.read = meminfo_read,
	.close = meminfo_close,
};
