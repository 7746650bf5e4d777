/*
 * The /proc/loadavg collector: load averages per core and the number of
 * threads (scheduling entities).
 */
#include <errno.h>

#include "agent/collect/collect-int.h"

typedef struct loadavg_state {
	fmi_procfile file;
} loadavg_state;

/*
 * Parses /proc/loadavg: "L1 L5 L15 RUNNING/TOTAL LASTPID", one space
 * between fields, then an optional newline and nothing else. Returns 0, or
 * -EINVAL for anything else (a missing field, a count beyond UINT32_MAX, a
 * number beyond UINT64_MAX). *ret is written only on success. Pure and
 * reentrant.
 */
int
fm_collect_loadavg_parse(const char *buf, size_t len, fm_collect_loadavg *ret)
{
	const char *p = buf, *end = buf + len;
	fm_collect_loadavg la;
	uint64_t last_pid;
	int r;

	r = fm_collect_scan_decimal(&p, end, &la.load1);
	if (r == 0)
		r = fm_collect_scan_char(&p, end, ' ');
	if (r == 0)
		r = fm_collect_scan_decimal(&p, end, &la.load5);
	if (r == 0)
		r = fm_collect_scan_char(&p, end, ' ');
	if (r == 0)
		r = fm_collect_scan_decimal(&p, end, &la.load15);
	if (r == 0)
		r = fm_collect_scan_char(&p, end, ' ');
	if (r == 0)
		r = fm_collect_scan_u32(&p, end, &la.running);
	if (r == 0)
		r = fm_collect_scan_char(&p, end, '/');
	if (r == 0)
		r = fm_collect_scan_u32(&p, end, &la.threads);
	if (r == 0)
		r = fm_collect_scan_char(&p, end, ' ');
	if (r == 0)
		r = fm_collect_scan_u64(&p, end, &last_pid);
	if (r == 0)
		r = fm_collect_scan_end(p, end);
	if (r < 0)
		return r;
	*ret = la;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static int
loadavg_open(void *state, const fm_collect_sampler_config *cfg)
{
	loadavg_state *s = state;

	return fmi_procfile_open(&s->file, cfg->procfs, "loadavg");
}

/* Load is divided by ctx->ncpu, which the stat collector set this tick;
 * without it the load features stay masked. */
static int
loadavg_read(void *state, fmi_collect_ctx *ctx)
{
	loadavg_state *s = state;
	fm_collect_loadavg la;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r < 0)
		return r;
	r = fm_collect_loadavg_parse(s->file.buf, s->file.len, &la);
	if (r < 0)
		return r;
	if (ctx->ncpu > 0) {
		fmi_feature_set(ctx, FM_F_LOAD_1, la.load1 / ctx->ncpu);
		fmi_feature_set(ctx, FM_F_LOAD_5, la.load5 / ctx->ncpu);
		fmi_feature_set(ctx, FM_F_LOAD_15, la.load15 / ctx->ncpu);
	}
	fmi_feature_set(ctx, FM_F_PROC_THREADS, log1p((double)la.threads));
	return 0;
}

static void
loadavg_close(void *state)
{
	loadavg_state *s = state;

	fmi_procfile_close(&s->file);
}

/* The /proc/loadavg collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_loadavg = {
	.name = "loadavg",
	.state_bytes = sizeof(loadavg_state),
	.open = loadavg_open,
	.read = loadavg_read,
	.close = loadavg_close,
};
