/*
 * The pressure-stall (PSI) collector: avg10 of /proc/pressure/{cpu,memory,
 * io} as a fraction of time. Kernels without CONFIG_PSI have no
 * /proc/pressure; with psi=0 on older kernels the files exist but reads
 * fail with EOPNOTSUPP. Either way the source is absent, file by file.
 */
#include <errno.h>
#include <string.h>

#include "agent/collect/collect-int.h"

#define NO_FEATURE FM_FEATURE_COUNT

enum {
	SEEN_SOME = 1u << 0,
	SEEN_FULL = 1u << 1,
};

typedef struct psi_source {
	const char *rel;      /* under the procfs root */
	enum fm_collect_feature some; /* avg10 of the "some" line */
	enum fm_collect_feature full; /* of the "full" line, or NO_FEATURE */
} psi_source;

static const psi_source sources[] = {
	{ "pressure/cpu", FM_F_PSI_CPU_SOME, NO_FEATURE },
	{ "pressure/memory", FM_F_PSI_MEM_SOME, FM_F_PSI_MEM_FULL },
	{ "pressure/io", FM_F_PSI_IO_SOME, FM_F_PSI_IO_FULL },
};

#define SOURCES_COUNT FM_ELEMENTSOF(sources)

typedef struct pressure_state {
	bool present[SOURCES_COUNT]; /* opened (the kernel has it) */
	fmi_procfile files[SOURCES_COUNT];
} pressure_state;

/*
 * Parses the "name=value" fields after "some" or "full" into *ret_avg10.
 * avg10, avg60 and avg300 must be decimals and total an integer; avg10 is
 * required. Fields of future kernels are skipped but need their '='.
 */
static int
parse_fields(const char *p, const char *end, double *ret_avg10)
{
	bool has_avg10 = false;
	double avg10 = 0.0;

	for (;;) {
		const char *name;
		size_t name_len;
		double d;
		uint64_t u;
		int r;

		fm_collect_scan_skip_blanks(&p, end);
		if (p == end)
			break;
		name = p;
		while (p < end && !fm_collect_scan_is_blank(*p) && *p != '=')
			p++;
		name_len = (size_t)(p - name);
		if (fm_collect_scan_char(&p, end, '=') < 0)
			return -EINVAL;
		if (FM_COLLECT_SCAN_IS(name, name_len, "avg10")) {
			if (has_avg10)
				return -EINVAL;
			has_avg10 = true;
			r = fm_collect_scan_decimal(&p, end, &avg10);
		} else if (FM_COLLECT_SCAN_IS(name, name_len, "avg60") ||
		    FM_COLLECT_SCAN_IS(name, name_len, "avg300")) {
			r = fm_collect_scan_decimal(&p, end, &d);
		} else if (FM_COLLECT_SCAN_IS(name, name_len, "total")) {
			r = fm_collect_scan_u64(&p, end, &u);
		} else {
			(void)fm_collect_scan_skip_word(&p, end);
			r = 0;
		}
		if (r < 0)
			return r;
		if (p < end && !fm_collect_scan_is_blank(*p))
			return -EINVAL;
	}
	if (!has_avg10)
		return -EINVAL;
	*ret_avg10 = avg10;
	return 0;
}

/*
 * Parses one /proc/pressure file: a "some" line (required) and a "full"
 * line (optional: cpu has none before 5.13), each holding avg10=, avg60=,
 * avg300= and total=. Other lines are ignored, for kernels to come. Returns
 * 0, or -EINVAL (no "some" line, a repeated line or field, a malformed
 * number, one beyond UINT64_MAX). *ret is written only on success. Pure and
 * reentrant.
 */
int
fm_collect_pressure_parse(const char *buf, size_t len, fm_collect_pressure *ret)
{
	fm_collect_span rest = { buf, len }, line;
	fm_collect_pressure ps = { 0 };
	uint32_t seen = 0;

	while (fm_collect_scan_next_line(&rest, &line)) {
		const char *p = line.p, *end = line.p + line.len;
		size_t key_len = fm_collect_scan_skip_word(&p, end);
		uint32_t bit = 0;
		double avg10;
		int r;

		if (FM_COLLECT_SCAN_IS(line.p, key_len, "some"))
			bit = SEEN_SOME;
		else if (FM_COLLECT_SCAN_IS(line.p, key_len, "full"))
			bit = SEEN_FULL;
		if (bit == 0)
			continue;
		if (seen & bit)
			return -EINVAL;
		seen |= bit;
		r = parse_fields(p, end, &avg10);
		if (r < 0)
			return r;
		if (bit == SEEN_SOME)
			ps.some_avg10 = avg10;
		else
			ps.full_avg10 = avg10;
	}
	if (!(seen & SEEN_SOME))
		return -EINVAL;
	ps.has_full = (seen & SEEN_FULL) != 0;
	*ret = ps;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

static bool
is_absent(int error)
{
	return error == -ENOENT || error == -EOPNOTSUPP;
}

/* Stores avg10 (percent) as a fraction in [0, 1]. */
static void
set_avg10(fmi_collect_ctx *ctx, enum fm_collect_feature f, double avg10)
{
	double v = avg10 / 100.0;

	if (f == NO_FEATURE)
		return;
	fmi_feature_set(ctx, f, v > 1.0 ? 1.0 : v);
}

/* Opens each file this kernel has; -ENOENT only when it has none. */
static int
pressure_open(void *state, const fm_collect_sampler_config *cfg)
{
	pressure_state *s = state;
	bool any = false;

	for (size_t i = 0; i < SOURCES_COUNT; i++) {
		int r = fmi_procfile_open(
		    &s->files[i], cfg->procfs, sources[i].rel);

		if (is_absent(r))
			continue;
		if (r < 0)
			return r;
		s->present[i] = true;
		any = true;
	}
	return any ? 0 : -ENOENT;
}

/* Reads every present file; one that fails leaves its own features masked
 * and the others are still set. Returns the first error. */
static int
pressure_read(void *state, fmi_collect_ctx *ctx)
{
	pressure_state *s = state;
	int ret = 0;

	for (size_t i = 0; i < SOURCES_COUNT; i++) {
		fm_collect_pressure ps;
		int r;

		if (!s->present[i])
			continue;
		r = fmi_procfile_read(&s->files[i]);
		if (r >= 0)
			r = fm_collect_pressure_parse(
			    s->files[i].buf, s->files[i].len, &ps);
		if (r < 0) {
			if (ret == 0)
				ret = r;
			continue;
		}
		set_avg10(ctx, sources[i].some, ps.some_avg10);
		if (ps.has_full)
			set_avg10(ctx, sources[i].full, ps.full_avg10);
	}
	return ret;
}

static void
pressure_close(void *state)
{
	pressure_state *s = state;

	for (size_t i = 0; i < SOURCES_COUNT; i++) {
		fmi_procfile_close(&s->files[i]);
		s->present[i] = false;
	}
}

/* The PSI collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_pressure = {
	.name = "pressure",
	.state_bytes = sizeof(pressure_state),
	.open = pressure_open,
	.read = pressure_read,
	.close = pressure_close,
};
