/*
 * The Prometheus text exposition format 0.0.4, written into a growing
 * buffer: families with HELP and TYPE, samples with escaped label values,
 * histograms, and the process_* families of the daemon's own cost.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define PROM_INITIAL_BYTES 4096u

void
fm_prom_init(fm_prom *p)
{
	*p = (fm_prom) { 0 };
}

/* Makes room for n more bytes and the NUL. */
static bool
reserve(fm_prom *p, size_t n)
{
	size_t cap;
	char *buf;

	if (p->error)
		return false;
	if (n < p->cap - p->len)
		return true;
	if (n > SIZE_MAX / 2 - p->len) {
		p->error = -ENOMEM;
		return false;
	}
	cap = p->cap ? p->cap : PROM_INITIAL_BYTES;
	while (cap - p->len <= n)
		cap *= 2;
	buf = realloc(p->buf, cap);
	if (!buf) {
		p->error = -ENOMEM;
		return false;
	}
	p->buf = buf;
	p->cap = cap;
	p->buf[p->len] = '\0';
	return true;
}

static void
put(fm_prom *p, const char *s, size_t n)
{
	if (!reserve(p, n))
		return;
	memcpy(p->buf + p->len, s, n);
	p->len += n;
	p->buf[p->len] = '\0';
}

static void
puts_(fm_prom *p, const char *s)
{
	put(p, s, strlen(s));
}

static void FM_PRINTF(2, 3) putf(fm_prom *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->error)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		p->error = -EINVAL;
		return;
	}
	if (!reserve(p, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(p->buf + p->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	p->len += (size_t)n;
}

/* Writes s escaped: backslash and newline always, the double quote in
 * label values. */
static void
put_escaped(fm_prom *p, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(p, "\\\\", 2);
		else if (*s == '\n')
			put(p, "\\n", 2);
		else if (quote && *s == '"')
			put(p, "\\\"", 2);
		else
			put(p, s, 1);
	}
}

void
fm_prom_format_double(double v, char buf[FM_PROM_DOUBLE_BYTES])
{
	if (isnan(v)) {
		snprintf(buf, FM_PROM_DOUBLE_BYTES, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, FM_PROM_DOUBLE_BYTES, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* The shortest of 15 or 17 digits that reads back exactly. */
	snprintf(buf, FM_PROM_DOUBLE_BYTES, "%.15g", v);
	if (strtod(buf, NULL) != v)
		snprintf(buf, FM_PROM_DOUBLE_BYTES, "%.17g", v);
}

/* As fm_prom_format_double() for a float: the shortest of 6 to 9 digits
 * that reads back as the same float. */
static void
format_float(float v, char buf[FM_PROM_DOUBLE_BYTES])
{
	if (isnan(v) || isinf(v)) {
		fm_prom_format_double(v, buf);
		return;
	}
	for (int digits = 6; digits <= 9; digits++) {
		snprintf(buf, FM_PROM_DOUBLE_BYTES, "%.*g", digits, (double)v);
		if (strtof(buf, NULL) == v)
			return;
	}
}

void
fm_prom_family(fm_prom *p, const char *name, const char *type, const char *help)
{
	putf(p, "# HELP %s ", name);
	put_escaped(p, help, false);
	putf(p, "\n# TYPE %s %s\n", name, type);
}

/* name{k="v",...} */
static void
put_series(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, const char *extra_name, const char *extra_value)
{
	bool any = n_pairs > 0 || extra_name;

	puts_(p, name);
	if (!any)
		return;
	put(p, "{", 1);
	for (size_t i = 0; i < n_pairs; i++) {
		if (i)
			put(p, ",", 1);
		puts_(p, labels[2 * i]);
		put(p, "=\"", 2);
		put_escaped(p, labels[2 * i + 1], true);
		put(p, "\"", 1);
	}
	if (extra_name) {
		if (n_pairs)
			put(p, ",", 1);
		putf(p, "%s=\"%s\"", extra_name, extra_value);
	}
	put(p, "}", 1);
}

/* One sample line: name{labels} num. */
static void
put_sample(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, const char *num)
{
	put_series(p, name, labels, n_pairs, NULL, NULL);
	put(p, " ", 1);
	puts_(p, num);
	put(p, "\n", 1);
}

void
fm_prom_double(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, double v)
{
	char num[FM_PROM_DOUBLE_BYTES];

	fm_prom_format_double(v, num);
	put_sample(p, name, labels, n_pairs, num);
}

void
fm_prom_float(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, float v)
{
	char num[FM_PROM_DOUBLE_BYTES];

	format_float(v, num);
	put_sample(p, name, labels, n_pairs, num);
}

void
fm_prom_u64(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, uint64_t v)
{
	char num[FM_PROM_DOUBLE_BYTES];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	put_sample(p, name, labels, n_pairs, num);
}

void
fm_prom_one_double(
    fm_prom *p, const char *name, const char *type, const char *help, double v)
{
	fm_prom_family(p, name, type, help);
	fm_prom_double(p, name, NULL, 0, v);
}

void
fm_prom_one_float(
    fm_prom *p, const char *name, const char *type, const char *help, float v)
{
	fm_prom_family(p, name, type, help);
	fm_prom_float(p, name, NULL, 0, v);
}

void
fm_prom_one_u64(fm_prom *p, const char *name, const char *type,
    const char *help, uint64_t v)
{
	fm_prom_family(p, name, type, help);
	fm_prom_u64(p, name, NULL, 0, v);
}

void
fm_prom_histogram(fm_prom *p, const char *name, const char *help,
    const double *le, const uint64_t *counts, size_t n, double sum)
{
	char num[FM_PROM_DOUBLE_BYTES];
	char series[128];
	uint64_t total = 0;

	fm_prom_family(p, name, "histogram", help);
	snprintf(series, sizeof(series), "%s_bucket", name);
	for (size_t i = 0; i <= n; i++) {
		total += counts[i];
		if (i < n)
			fm_prom_format_double(le[i], num);
		put_series(p, series, NULL, 0, "le", i < n ? num : "+Inf");
		putf(p, " %llu\n", (unsigned long long)total);
	}
	snprintf(series, sizeof(series), "%s_sum", name);
	fm_prom_double(p, series, NULL, 0, sum);
	snprintf(series, sizeof(series), "%s_count", name);
	fm_prom_u64(p, series, NULL, 0, total);
}

void
fm_prom_process(fm_prom *p)
{
	fm_proc_self self;

	/* Unreadable (no /proc): the families are left out, not faked. */
	if (fm_proc_self_read(&self) < 0)
		return;
	fm_prom_one_double(p, "process_cpu_seconds_total", "counter",
	    "Total user and system CPU time spent in seconds.",
	    self.cpu_seconds);
	fm_prom_one_u64(p, "process_resident_memory_bytes", "gauge",
	    "Resident memory size in bytes.", self.resident_bytes);
	if (self.start_time_seconds > 0)
		fm_prom_one_double(p, "process_start_time_seconds", "gauge",
		    "Start time of the process since unix epoch in seconds.",
		    self.start_time_seconds);
}

int
fm_prom_finish(fm_prom *p, char **ret, size_t *ret_len)
{
	int r = p->error;

	if (r == 0 && !p->buf)
		(void)reserve(p, 0);
	r = p->error;
	if (r < 0) {
		free(p->buf);
		*p = (fm_prom) { 0 };
		return r;
	}
	*ret = p->buf;
	*ret_len = p->len;
	*p = (fm_prom) { 0 };
	return 0;
}

void
fm_prom_clear(fm_prom *p)
{
	free(p->buf);
	*p = (fm_prom) { 0 };
}
