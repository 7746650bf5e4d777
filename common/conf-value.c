/*
 * The INI engine's values: each fm_conf_type parsed against its bounds,
 * written back, and described ("an integer in [1, 3600]") from the same
 * declaration, so that an error text never restates a bound by hand.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common-int.h"

/* Appends the formatted text to buf[size] at *used (truncating). */
static void append(char *buf, size_t size, size_t *used, const char *fmt, ...)
    FM_PRINTF(4, 5);

static void
append(char *buf, size_t size, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *used, size - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used += (size_t)n;
}

/* "a, b or c" from the names of an ENUM. */
static void
expect_names(const fm_conf_name *names, char *buf, size_t size)
{
	size_t used = 0, n = 0;

	while (names[n].name)
		n++;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		append(buf, size, &used, "%s%s",
		    i == 0           ? ""
		        : i + 1 == n ? " or "
		                     : ", ",
		    names[i].name);
}

/* The same for the priorities in [min, max]. */
static void
expect_levels(int64_t min, int64_t max, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int64_t p = min; p <= max; p++)
		append(buf, size, &used, "%s%s",
		    p == min       ? ""
		        : p == max ? " or "
		                   : ", ",
		    fm_log_level_to_string((int)p));
}

void
fm_conf_key_expect(const fm_conf_key *k, char *buf, size_t size)
{
	switch (k->type) {
	case FM_CONF_BOOL:
		snprintf(buf, size, "yes or no");
		return;
	case FM_CONF_UINT:
		snprintf(buf, size, "an integer in [%" PRIu64 ", %" PRIu64 "]",
		    k->range.u.min, k->range.u.max);
		return;
	case FM_CONF_INT:
		snprintf(buf, size, "an integer in [%" PRId64 ", %" PRId64 "]",
		    k->range.i.min, k->range.i.max);
		return;
	case FM_CONF_FLOAT:
		snprintf(buf, size, "a number in %c%g, %g%c",
		    k->flags & FM_CONF_MIN_OPEN ? '(' : '[', k->range.f.min,
		    k->range.f.max, k->flags & FM_CONF_MAX_OPEN ? ')' : ']');
		return;
	case FM_CONF_STRING:
		if (k->expect)
			snprintf(buf, size, "%s", k->expect);
		else
			snprintf(
			    buf, size, "at most %zu characters", k->size - 1);
		return;
	case FM_CONF_PATH:
		snprintf(buf, size, "an absolute path%s",
		    k->flags & FM_CONF_EMPTY_OK ? ", or empty" : "");
		return;
	case FM_CONF_ENUM:
		expect_names(k->names, buf, size);
		return;
	case FM_CONF_LOG_LEVEL:
		expect_levels(k->range.i.min, k->range.i.max, buf, size);
		return;
	case FM_CONF_CUSTOM:
		snprintf(buf, size, "%s", k->expect ? k->expect : "?");
		return;
	}
	snprintf(buf, size, "?");
}

/* "invalid value 'V' (expected E) for key", E derived from k. */
static int
invalid(const fm_conf_key *k, const char *value, char *why)
{
	char expect[FM_CONF_WHY_BYTES];
	size_t used = 0;

	fm_conf_key_expect(k, expect, sizeof(expect));
	append(why, FM_CONF_WHY_BYTES, &used,
	    "invalid value '%.64s' (expected %s) for key", value, expect);
	return -EINVAL;
}

/* The same for a string longer than its field. */
static int
too_long(const fm_conf_key *k, char *why)
{
	snprintf(why, FM_CONF_WHY_BYTES,
	    "a value longer than %zu characters for key", k->size - 1);
	return -EINVAL;
}

/* A whole decimal integer with an optional '-'; 0, -EINVAL or -ERANGE. */
static int
parse_i64(const char *s, int64_t *ret)
{
	bool neg = s[0] == '-';
	uint64_t u;
	int r;

	r = fm_parse_u64(s + neg, &u);
	if (r < 0)
		return r;
	if (u > (uint64_t)INT64_MAX + neg)
		return -ERANGE;
	*ret = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

static void
store_uint(const fm_conf_key *k, void *field, uint64_t v)
{
	if (k->size == sizeof(uint32_t)) {
		uint32_t v32 = (uint32_t)v;

		memcpy(field, &v32, sizeof(v32));
	} else
		memcpy(field, &v, sizeof(v));
}

static void
store_int(const fm_conf_key *k, void *field, int64_t v)
{
	if (k->size == sizeof(int32_t)) {
		int32_t v32 = (int32_t)v;

		memcpy(field, &v32, sizeof(v32));
	} else
		memcpy(field, &v, sizeof(v));
}

static bool
float_in_range(const fm_conf_key *k, double d)
{
	if (d < k->range.f.min || d > k->range.f.max)
		return false;
	if ((k->flags & FM_CONF_MIN_OPEN) && d == k->range.f.min)
		return false;
	return !((k->flags & FM_CONF_MAX_OPEN) && d == k->range.f.max);
}

/* Copies a string value of a STRING or PATH key into its field, zeroed
 * past it: the same value is the same bytes. */
static int
set_string(const fm_conf_key *k, char *field, const char *value, char *why)
{
	if (strlen(value) >= k->size)
		return too_long(k, why);
	memset(field, 0, k->size);
	memcpy(field, value, strlen(value));
	return 0;
}

int
fmi_conf_value_set(
    const fm_conf_key *k, void *base, const char *value, char *why)
{
	char *field = (char *)base + k->offset;
	uint64_t u;
	int64_t i;
	double d;
	bool b;
	int r;

	why[0] = '\0';
	switch (k->type) {
	case FM_CONF_BOOL:
		if (fm_parse_bool(value, &b) < 0)
			return invalid(k, value, why);
		memcpy(field, &b, sizeof(b));
		return 0;
	case FM_CONF_UINT:
		assert(k->size == 4 || k->size == 8);
		assert(k->size == 8 || k->range.u.max <= UINT32_MAX);
		if (fm_parse_u64_range(
		        value, k->range.u.min, k->range.u.max, &u) < 0)
			return invalid(k, value, why);
		store_uint(k, field, u);
		return 0;
	case FM_CONF_INT:
		assert(k->size == 4 || k->size == 8);
		if (parse_i64(value, &i) < 0 || i < k->range.i.min ||
		    i > k->range.i.max)
			return invalid(k, value, why);
		store_int(k, field, i);
		return 0;
	case FM_CONF_FLOAT:
		if (fm_parse_double(value, &d) < 0 || !float_in_range(k, d))
			return invalid(k, value, why);
		if (k->size == sizeof(float)) {
			float f = (float)d;

			memcpy(field, &f, sizeof(f));
		} else
			memcpy(field, &d, sizeof(d));
		return 0;
	case FM_CONF_STRING:
		if (k->check) {
			r = k->check(value, why);
			if (r < 0)
				return why[0] ? r : invalid(k, value, why);
		}
		return set_string(k, field, value, why);
	case FM_CONF_PATH:
		if (value[0] != '/' &&
		    !(value[0] == '\0' && (k->flags & FM_CONF_EMPTY_OK)))
			return invalid(k, value, why);
		return set_string(k, field, value, why);
	case FM_CONF_ENUM:
		assert(k->size == sizeof(int));
		for (const fm_conf_name *n = k->names; n->name; n++)
			if (strcmp(n->name, value) == 0) {
				memcpy(field, &n->value, sizeof(int));
				return 0;
			}
		return invalid(k, value, why);
	case FM_CONF_LOG_LEVEL:
		assert(k->size == sizeof(int));
		r = fm_log_level_from_string(value);
		if (r < k->range.i.min || r > k->range.i.max)
			return invalid(k, value, why);
		memcpy(field, &r, sizeof(r));
		return 0;
	case FM_CONF_CUSTOM:
		r = k->parse(k, value, base, why);
		if (r < 0 && !why[0])
			return invalid(k, value, why);
		return r < 0 ? r : 0;
	}
	return -EINVAL;
}

/* The shortest "%.*g" of d that reads back as the same double, or as the
 * same float when is_float. */
static int
format_number(double d, bool is_float, char *buf, size_t size)
{
	/* a whole number as a person writes it (100, not 1e+02) */
	if (d > -1e15 && d < 1e15 && d == (double)(long long)d) {
		int n = snprintf(buf, size, "%.0f", d);

		return n >= 0 && (size_t)n < size ? 0 : -ENOBUFS;
	}
	for (int prec = 1; prec <= 17; prec++) {
		int n = snprintf(buf, size, "%.*g", prec, d);

		if (n < 0 || (size_t)n >= size)
			return -ENOBUFS;
		if (is_float ? (float)strtod(buf, NULL) == (float)d
		             : strtod(buf, NULL) == d)
			return 0;
	}
	return 0;
}

/* snprintf()'s result as 0 or -ENOBUFS. */
static int
fits(int n, size_t size)
{
	return n >= 0 && (size_t)n < size ? 0 : -ENOBUFS;
}

int
fmi_conf_value_format(
    const fm_conf_key *k, const void *base, char *buf, size_t size)
{
	const char *field = (const char *)base + k->offset;
	uint32_t u32;
	uint64_t u64;
	int32_t i32;
	int64_t i64;
	float f;
	double d;
	bool b;
	int v;

	switch (k->type) {
	case FM_CONF_BOOL:
		memcpy(&b, field, sizeof(b));
		return fits(snprintf(buf, size, "%s", b ? "yes" : "no"), size);
	case FM_CONF_UINT:
		if (k->size == sizeof(u32)) {
			memcpy(&u32, field, sizeof(u32));
			u64 = u32;
		} else
			memcpy(&u64, field, sizeof(u64));
		return fits(snprintf(buf, size, "%" PRIu64, u64), size);
	case FM_CONF_INT:
		if (k->size == sizeof(i32)) {
			memcpy(&i32, field, sizeof(i32));
			i64 = i32;
		} else
			memcpy(&i64, field, sizeof(i64));
		return fits(snprintf(buf, size, "%" PRId64, i64), size);
	case FM_CONF_FLOAT:
		if (k->size == sizeof(f)) {
			memcpy(&f, field, sizeof(f));
			return format_number((double)f, true, buf, size);
		}
		memcpy(&d, field, sizeof(d));
		return format_number(d, false, buf, size);
	case FM_CONF_STRING:
	case FM_CONF_PATH:
		return fits(
		    snprintf(buf, size, "%.*s", (int)k->size, field), size);
	case FM_CONF_ENUM:
		memcpy(&v, field, sizeof(v));
		for (const fm_conf_name *n = k->names; n->name; n++)
			if (n->value == v)
				return fits(
				    snprintf(buf, size, "%s", n->name), size);
		return -EINVAL;
	case FM_CONF_LOG_LEVEL:
		memcpy(&v, field, sizeof(v));
		if (!fm_log_level_to_string(v))
			return -EINVAL;
		return fits(
		    snprintf(buf, size, "%s", fm_log_level_to_string(v)), size);
	case FM_CONF_CUSTOM:
		return k->format(k, base, buf, size);
	}
	return -EINVAL;
}
