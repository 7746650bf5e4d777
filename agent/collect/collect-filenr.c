/*
 * The /proc/sys/fs/file-nr collector: the used fraction of the system-wide
 * file handle limit.
 */
#include <errno.h>

#include "agent/collect/collect-int.h"

typedef struct filenr_state {
	fmi_procfile file;
} filenr_state;

/*
 * Parses /proc/sys/fs/file-nr: "ALLOCATED\tUNUSED\tMAX", blanks between,
 * then optional blanks and one optional newline, nothing else. Returns 0
 * or -EINVAL (a missing field, an extra one, a number beyond UINT64_MAX).
 * *ret is written only on success. Pure and reentrant.
 */
int
fm_collect_filenr_parse(const char *buf, size_t len, fm_collect_filenr *ret)
{
	const char *p = buf, *end = buf + len;
	fm_collect_filenr fn;
	int r;

	r = fm_collect_scan_u64_field(&p, end, &fn.allocated);
	if (r == 0)
		r = fm_collect_scan_u64_field(&p, end, &fn.unused);
	if (r == 0)
		r = fm_collect_scan_u64_field(&p, end, &fn.max);
	if (r < 0)
		return r;
	fm_collect_scan_skip_blanks(&p, end);
	r = fm_collect_scan_end(p, end);
	if (r < 0)
		return r;
	*ret = fn;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static int
filenr_open(void *state, const fm_collect_sampler_config *cfg)
{
	filenr_state *s = state;

	return fmi_procfile_open(&s->file, cfg->procfs, "sys/fs/file-nr");
}

static int
filenr_read(void *state, fmi_collect_ctx *ctx)
{
	filenr_state *s = state;
	fm_collect_filenr fn;
	double used;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r < 0)
		return r;
	r = fm_collect_filenr_parse(s->file.buf, s->file.len, &fn);
	if (r < 0)
		return r;
	if (fn.max == 0)
		return 0; /* no limit to be a fraction of: masked */
	/* The header defines it as allocated/max; "unused" has been 0 since
	 * 2.6 and would not change the value. */
	used = (double)fn.allocated / (double)fn.max;
	fmi_feature_set(ctx, FM_F_FD_USED, used > 1.0 ? 1.0 : used);
	return 0;
}

static void
filenr_close(void *state)
{
	filenr_state *s = state;

	fmi_procfile_close(&s->file);
}

/* The file-nr collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_filenr = {
	.name = "filenr",
	.state_bytes = sizeof(filenr_state),
	.open = filenr_open,
	.read = filenr_read,
	.close = filenr_close,
};
