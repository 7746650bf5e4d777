/*
 * A strict reader of the Prometheus text format for the /metrics tests.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/support/prom-check.h"

#define LINE_BYTES   4096
#define SERIES_MAX   4096
#define FAMILY_BYTES 200

static bool
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	    c == ':';
}

static bool
is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

/* The length of the metric (or, without colons, label) name at p. */
static size_t
name_len(const char *p, bool label)
{
	size_t n = 0;

	if (!is_name_start(p[0]) || (label && p[0] == ':'))
		return 0;
	while (is_name_char(p[n]) && !(label && p[n] == ':'))
		n++;
	return n;
}

static bool
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static bool
parse_value(const char *s, double *ret)
{
	char *end;

	if (strcmp(s, "NaN") == 0) {
		*ret = NAN;
		return true;
	}
	if (strcmp(s, "+Inf") == 0) {
		*ret = INFINITY;
		return true;
	}
	if (strcmp(s, "-Inf") == 0) {
		*ret = -INFINITY;
		return true;
	}
	if (!*s || strchr(s, 'n') || strchr(s, 'N') || strchr(s, 'x'))
		return false; /* "nan", "inf", hex: not Go's ParseFloat forms */
	*ret = strtod(s, &end);
	return *end == '\0';
}

struct hist {
	double last_le;
	double last_count;
	bool has_inf, has_sum, has_count;
	double inf_count, count;
};

/* Checks the labels at *pp ("{...}"), moving past them; writes the le
 * label's value (or "") into le[64]. */
static void
check_labels(const char **pp, const char *line, char *le)
{
	const char *p = *pp;
	bool first = true;

	le[0] = '\0';
	if (*p != '{')
		return;
	p++;
	while (*p != '}') {
		size_t n;
		char lname[128];
		char value[256];
		size_t vlen = 0;

		if (!first) {
			if (*p != ',')
				fail_msg("bad label separator in '%s'", line);
			p++;
		}
		first = false;
		n = name_len(p, true);
		if (n == 0 || n >= sizeof(lname))
			fail_msg("bad label name in '%s'", line);
		memcpy(lname, p, n);
		lname[n] = '\0';
		p += n;
		if (p[0] != '=' || p[1] != '"')
			fail_msg("bad label in '%s'", line);
		p += 2;
		while (*p != '"') {
			if (*p == '\0')
				fail_msg(
				    "unterminated label value in '%s'", line);
			if (*p == '\\') {
				if (p[1] != '\\' && p[1] != '"' && p[1] != 'n')
					fail_msg("bad escape in '%s'", line);
				if (vlen < sizeof(value) - 1)
					value[vlen++] = p[1];
				p += 2;
				continue;
			}
			if (vlen < sizeof(value) - 1)
				value[vlen++] = *p;
			p++;
		}
		value[vlen] = '\0';
		p++;
		if (strcmp(lname, "le") == 0)
			snprintf(le, 64, "%.63s", value);
	}
	*pp = p + 1;
}

size_t
prom_check(const char *text, size_t len)
{
	static char series[SERIES_MAX][256];
	size_t n_series = 0, n_families = 0;
	char family[FAMILY_BYTES] = "", type[32] = "";
	char help_for[FAMILY_BYTES] = "";
	char seen[256][FAMILY_BYTES];
	size_t n_seen = 0;
	struct hist h = { 0 };
	const char *p = text, *end = text + len;

	assert_true(len > 0);
	assert_int_equal(memchr(text, '\0', len), NULL);
	assert_true(text[len - 1] == '\n');
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[LINE_BYTES];
		size_t n = (size_t)(nl - p);

		assert_true(n < sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			size_t k = name_len(line + 7, false);

			if (k == 0 || line[7 + k] != ' ')
				fail_msg("bad HELP '%s'", line);
			snprintf(help_for, sizeof(help_for), "%.*s", (int)k,
			    line + 7);
			for (const char *q = line + 8 + k; *q; q++)
				if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
					fail_msg("bad escape in '%s'", line);
				else if (*q == '\\')
					q++;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			size_t k = name_len(line + 7, false);
			const char *t = line + 8 + k;

			if (k == 0 || line[7 + k] != ' ')
				fail_msg("bad TYPE '%s'", line);
			if (h.has_inf || h.has_count)
				assert_true(h.has_inf && h.has_sum &&
				    h.has_count && h.inf_count == h.count);
			h = (struct hist) { .last_le = -INFINITY };
			snprintf(
			    family, sizeof(family), "%.*s", (int)k, line + 7);
			if (strcmp(family, help_for) != 0)
				fail_msg("no HELP right before '%s'", line);
			help_for[0] = '\0';
			if (strcmp(t, "counter") != 0 &&
			    strcmp(t, "gauge") != 0 &&
			    strcmp(t, "histogram") != 0 &&
			    strcmp(t, "untyped") != 0)
				fail_msg("bad type in '%s'", line);
			snprintf(type, sizeof(type), "%s", t);
			if (strcmp(type, "counter") == 0 &&
			    !ends_with(family, "_total"))
				fail_msg("counter '%s' not *_total", family);
			for (size_t i = 0; i < n_seen; i++)
				if (strcmp(seen[i], family) == 0)
					fail_msg("family '%s' twice", family);
			assert_true(n_seen < 256);
			snprintf(seen[n_seen++], FAMILY_BYTES, "%s", family);
			n_families++;
			continue;
		}
		if (line[0] == '#' || line[0] == '\0')
			fail_msg("unexpected line '%s'", line);
		{
			size_t k = name_len(line, false);
			char name[FAMILY_BYTES], le[64];
			const char *q = line + k;
			double v;

			if (k == 0 || k >= sizeof(name))
				fail_msg("bad sample '%s'", line);
			snprintf(name, sizeof(name), "%.*s", (int)k, line);
			if (!family[0])
				fail_msg("sample before any TYPE: '%s'", line);
			check_labels(&q, line, le);
			if (*q != ' ')
				fail_msg("no value in '%s'", line);
			if (!parse_value(q + 1, &v))
				fail_msg("bad value in '%s'", line);
			/* unique series */
			for (size_t i = 0; i < n_series; i++)
				if (strlen(series[i]) == (size_t)(q - line) &&
				    strncmp(series[i], line,
				        (size_t)(q - line)) == 0)
					fail_msg("series twice: '%s'", line);
			assert_true(n_series < SERIES_MAX);
			assert_true((size_t)(q - line) < sizeof(series[0]));
			snprintf(series[n_series++], sizeof(series[0]), "%.*s",
			    (int)(q - line), line);
			if (strcmp(type, "histogram") != 0) {
				if (strcmp(name, family) != 0)
					fail_msg("sample '%s' outside family "
					         "'%s'",
					    line, family);
				continue;
			}
			if (strncmp(name, family, strlen(family)) != 0)
				fail_msg(
				    "sample '%s' outside '%s'", line, family);
			if (strcmp(name + strlen(family), "_bucket") == 0) {
				double bound;

				assert_false(h.has_inf);
				if (!le[0] || !parse_value(le, &bound))
					fail_msg("bad le in '%s'", line);
				assert_true(bound > h.last_le);
				assert_true(v >= h.last_count);
				h.last_le = bound;
				h.last_count = v;
				if (isinf(bound)) {
					h.has_inf = true;
					h.inf_count = v;
				}
			} else if (strcmp(name + strlen(family), "_sum") == 0) {
				h.has_sum = true;
			} else if (strcmp(name + strlen(family), "_count") ==
			    0) {
				h.has_count = true;
				h.count = v;
			} else {
				fail_msg(
				    "sample '%s' outside '%s'", line, family);
			}
		}
	}
	if (h.has_inf || h.has_count)
		assert_true(h.has_inf && h.has_sum && h.has_count &&
		    h.inf_count == h.count);
	return n_families;
}

/* The line of series in text, or NULL. */
static const char *
find_series(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, series, n) == 0 && p[n] == ' ')
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

bool
prom_has(const char *text, const char *series)
{
	return find_series(text, series) != NULL;
}

double
prom_value(const char *text, const char *series)
{
	const char *line = find_series(text, series);
	char value[64];
	double v;
	size_t n;

	if (!line)
		fail_msg("no series '%s'", series);
	line += strlen(series) + 1;
	n = strcspn(line, "\n");
	assert_true(n < sizeof(value));
	memcpy(value, line, n);
	value[n] = '\0';
	assert_true(parse_value(value, &v));
	return v;
}

const char *
prom_type(const char *text, const char *name)
{
	static char type[32];
	char prefix[FAMILY_BYTES + 16];
	const char *p;

	snprintf(prefix, sizeof(prefix), "\n# TYPE %s ", name);
	if (strncmp(text, prefix + 1, strlen(prefix + 1)) == 0)
		p = text + strlen(prefix + 1);
	else if ((p = strstr(text, prefix)) != NULL)
		p += strlen(prefix);
	else
		return NULL;
	snprintf(type, sizeof(type), "%.*s", (int)strcspn(p, "\n"), p);
	return type;
}
