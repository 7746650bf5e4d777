/*
 * The /proc/loadavg collector: load averages per core and the number of
 * threads (scheduling entities).
 */
#include <errno.h>

#include "agent/agent-int.h"

/* Fraction digits kept; more are accepted and ignored (the kernel prints
 * two). */
#define FRACTION_DIGITS_MAX 9

typedef struct loadavg_state {
	bool is_init; /* file initialised: close may touch it */
	fmi_procfile file;
} loadavg_state;

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Scans digits (at least one) into *ret and moves *p past them; a number
 * beyond UINT64_MAX is malformed: -EINVAL. */
static int
scan_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v = 0;

	if (q == end || !is_digit(*q))
		return -EINVAL;
	for (; q < end && is_digit(*q); q++) {
		unsigned d = (unsigned)(*q - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = q;
	*ret = v;
	return 0;
}

/* Scans "D+" or "D+.D+" (no sign, no exponent) into *ret. */
static int
scan_decimal(const char **p, const char *end, double *ret)
{
	const char *q = *p;
	uint64_t ip, frac = 0, scale = 1;
	int r;

	r = scan_u64(&q, end, &ip);
	if (r < 0)
		return r;
	if (q < end && *q == '.') {
		q++;
		if (q == end || !is_digit(*q))
			return -EINVAL;
		for (unsigned n = 0; q < end && is_digit(*q); q++, n++) {
			if (n >= FRACTION_DIGITS_MAX)
				continue;
			frac = frac * 10 + (uint64_t)(*q - '0');
			scale *= 10;
		}
	}
	*p = q;
	*ret = (double)ip + (double)frac / (double)scale;
	return 0;
}

/* Consumes the single character c at *p. */
static int
expect_char(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

static int
scan_u32(const char **p, const char *end, uint32_t *ret)
{
	uint64_t v;
	int r;

	r = scan_u64(p, end, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/*
 * Parses /proc/loadavg: "L1 L5 L15 RUNNING/TOTAL LASTPID", one space
 * between fields, then an optional newline and nothing else. Returns 0, or
 * -EINVAL for anything else (a missing field, a count beyond UINT32_MAX, a
 * number beyond UINT64_MAX). *ret is written only on success. Pure and
 * reentrant.
 */
int
fmi_loadavg_parse(const char *buf, size_t len, fmi_loadavg *ret)
{
	const char *p = buf, *end = buf + len;
	fmi_loadavg la;
	uint64_t last_pid;
	int r;

	r = scan_decimal(&p, end, &la.load1);
	if (r == 0)
		r = expect_char(&p, end, ' ');
	if (r == 0)
		r = scan_decimal(&p, end, &la.load5);
	if (r == 0)
		r = expect_char(&p, end, ' ');
	if (r == 0)
		r = scan_decimal(&p, end, &la.load15);
	if (r == 0)
		r = expect_char(&p, end, ' ');
	if (r == 0)
		r = scan_u32(&p, end, &la.running);
	if (r == 0)
		r = expect_char(&p, end, '/');
	if (r == 0)
		r = scan_u32(&p, end, &la.threads);
	if (r == 0)
		r = expect_char(&p, end, ' ');
	if (r == 0)
		r = scan_u64(&p, end, &last_pid);
	if (r < 0)
		return r;
	if (p < end && *p == '\n')
		p++;
	if (p != end)
		return -EINVAL;
	*ret = la;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static int
loadavg_open(void *state, const fm_sampler_config *cfg)
{
	loadavg_state *s = state;

	fmi_procfile_init(&s->file);
	s->is_init = true;
	return fmi_procfile_open(&s->file, cfg->procfs, "loadavg");
}

/* Load is divided by ctx->ncpu, which the stat collector set this tick;
 * without it the load features stay masked. */
static int
loadavg_read(void *state, fmi_collect_ctx *ctx)
{
	loadavg_state *s = state;
	fmi_loadavg la;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r < 0)
		return r;
	r = fmi_loadavg_parse(s->file.buf, s->file.len, &la);
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

	if (s->is_init)
		fmi_procfile_close(&s->file);
}

/* The /proc/loadavg collector (see agent-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_loadavg = {
	.name = "loadavg",
	.state_bytes = sizeof(loadavg_state),
	.open = loadavg_open,
	.read = loadavg_read,
	.close = loadavg_close,
};
