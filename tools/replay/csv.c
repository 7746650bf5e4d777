/*
 * fedmon-replay's CSV reader: rows of comma-separated floats. Two passes
 * over the bytes: the first finds the rows and the first row's field
 * count, so the caps are checked and the matrix allocated once; the
 * second converts the fields, reporting the first error in file order.
 */
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tools/replay/csv.h"

#define QUOTE_CHARS      40 /* of a field, in a message */

static int set_error(fm_replay_csv_error *err, int error, uint64_t line,
    uint32_t column, const char *fmt, ...) FM_PRINTF(5, 6);

/* Fills *err (when not NULL) and returns error. */
static int
set_error(fm_replay_csv_error *err, int error, uint64_t line, uint32_t column,
    const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return error;
	err->line = line;
	err->column = column;
	va_start(ap, fmt);
	(void)vsnprintf(err->why, sizeof(err->why), fmt, ap);
	va_end(ap);
	return error;
}

/* Writes field s[n] into out[QUOTE_CHARS + 4] for a message: printable
 * ASCII kept, the rest as '?', cut with "..." when long. */
static void
quote(const char *s, size_t n, char *out)
{
	size_t k = 0;

	for (size_t i = 0; i < n && i < QUOTE_CHARS; i++)
		out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	if (n > QUOTE_CHARS) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = '\0';
}

static bool
is_blank_char(char c)
{
	return c == ' ' || c == '\t';
}

/* One line: [start, end) without "\n" and a trailing "\r". */
typedef struct line {
	const char *s;
	size_t n;
	const char *next; /* start of the following line, or NULL */
} line;

static void
line_at(const char *buf, size_t len, const char *start, line *ret)
{
	size_t rest = len - (size_t)(start - buf);
	const char *nl = memchr(start, '\n', rest);
	size_t n = nl ? (size_t)(nl - start) : rest;

	if (n > 0 && start[n - 1] == '\r')
		n--;
	ret->s = start;
	ret->n = n;
	ret->next = nl && nl + 1 < buf + len ? nl + 1 : NULL;
}

static bool
line_is_blank(const line *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (!is_blank_char(l->s[i]))
			return false;
	}
	return true;
}

static size_t
line_fields(const line *l)
{
	size_t n = 1;

	for (size_t i = 0; i < l->n; i++)
		n += l->s[i] == ',';
	return n;
}

static bool
is_number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' ||
	    c == 'e' || c == 'E';
}

/* Whether s (NUL-terminated) spells a NaN or an infinity. */
static bool
is_nonfinite_word(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	return strcasecmp(s, "nan") == 0 || strcasecmp(s, "inf") == 0 ||
	    strcasecmp(s, "infinity") == 0;
}

/* Converts field s[n] of line lineno, column col into *ret. */
static int
parse_field(const char *s, size_t n, uint64_t lineno, uint32_t col,
    fm_replay_csv_error *err, float *ret)
{
	char tmp[FM_REPLAY_CSV_MAX_FIELD_BYTES + 1];
	char q[QUOTE_CHARS + 4];
	double d;
	int r;

	while (n > 0 && is_blank_char(*s)) {
		s++;
		n--;
	}
	while (n > 0 && is_blank_char(s[n - 1]))
		n--;
	quote(s, n, q);
	if (n == 0)
		return set_error(err, -EINVAL, lineno, col, "empty field");
	if (n > FM_REPLAY_CSV_MAX_FIELD_BYTES)
		return set_error(err, -EINVAL, lineno, col,
		    "field longer than %u characters '%s'",
		    FM_REPLAY_CSV_MAX_FIELD_BYTES, q);
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (is_number_char(tmp[i]))
			continue;
		if (is_nonfinite_word(tmp))
			return set_error(err, -EINVAL, lineno, col,
			    "non-finite field '%s'", q);
		return set_error(
		    err, -EINVAL, lineno, col, "non-numeric field '%s'", q);
	}
	r = fm_parse_double(tmp, &d);
	if (r == -ERANGE || (r == 0 && fabs(d) > FLT_MAX))
		return set_error(err, -EINVAL, lineno, col,
		    "non-finite or out-of-range field '%s'", q);
	if (r < 0)
		return set_error(
		    err, -EINVAL, lineno, col, "non-numeric field '%s'", q);
	*ret = (float)d;
	return 0;
}

/* Parses the row l (cols fields) into out[cols]. */
static int
parse_row(const line *l, uint64_t lineno, size_t cols, fm_replay_csv_error *err,
    float *out)
{
	size_t found = line_fields(l), start = 0;
	int r;

	if (found != cols)
		return set_error(err, -EINVAL, lineno,
		    (uint32_t)((found < cols ? found : cols) + 1),
		    "expected %zu fields, found %zu", cols, found);
	for (size_t c = 0; c < cols; c++) {
		const char *comma = memchr(l->s + start, ',', l->n - start);
		size_t end = comma ? (size_t)(comma - l->s) : l->n;

		r = parse_field(l->s + start, end - start, lineno,
		    (uint32_t)(c + 1), err, &out[c]);
		if (r < 0)
			return r;
		start = end + 1;
	}
	return 0;
}

int
fm_replay_csv_parse(
    const char *buf, size_t len, fm_replay_csv_error *err, fm_replay_csv **ret)
{
	fm_replay_csv *m;
	uint64_t lineno = 0, first_line = 0;
	size_t rows = 0, cols = 0, row = 0;
	line l;
	int r;

	if (len > FM_REPLAY_CSV_MAX_BYTES)
		return set_error(err, -EFBIG, 0, 0, "larger than %u bytes",
		    FM_REPLAY_CSV_MAX_BYTES);

	/* Pass 1: count rows, size the first one, check the caps. */
	for (const char *p = len > 0 ? buf : NULL; p; p = l.next) {
		line_at(buf, len, p, &l);
		lineno++;
		if (line_is_blank(&l))
			continue;
		if (rows == 0) {
			first_line = lineno;
			cols = line_fields(&l);
			if (cols > FM_REPLAY_CSV_MAX_COLS)
				return set_error(err, -E2BIG, lineno,
				    FM_REPLAY_CSV_MAX_COLS + 1,
				    "more than %u fields",
				    FM_REPLAY_CSV_MAX_COLS);
		}
		if (rows >= FM_REPLAY_CSV_MAX_ROWS)
			return set_error(err, -E2BIG, lineno, 0,
			    "more than %u rows", FM_REPLAY_CSV_MAX_ROWS);
		if (rows + 1 > FM_REPLAY_CSV_MAX_CELLS / cols)
			return set_error(err, -E2BIG, lineno, 0,
			    "more than %u values", FM_REPLAY_CSV_MAX_CELLS);
		rows++;
	}
	if (rows == 0)
		return set_error(err, -ENODATA, 0, 0, "no rows");

	m = malloc(sizeof(*m) + rows * cols * sizeof(float));
	if (!m)
		return set_error(err, -ENOMEM, 0, 0, "out of memory");
	m->rows = rows;
	m->cols = cols;
	m->v = (float *)(m + 1);

	/* Pass 2: convert, from the first row on. */
	lineno = 0;
	for (const char *p = buf; p; p = l.next) {
		line_at(buf, len, p, &l);
		lineno++;
		if (lineno < first_line || line_is_blank(&l))
			continue;
		r = parse_row(&l, lineno, cols, err, m->v + row * cols);
		if (r < 0)
			goto out_free;
		row++;
	}
	*ret = m;
	return 0;
out_free:
	free(m);
	return r;
}

fm_replay_csv *
fm_replay_csv_free(fm_replay_csv *m)
{
	free(m);
	return NULL;
}

int
fm_replay_csv_read_file(
    const char *path, fm_replay_csv_error *err, fm_replay_csv **ret)
{
	char why[64];
	uint8_t *raw = NULL;
	size_t len = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		return set_error(err, r, 0, 0, "cannot open: %s",
		    strerror_r(-r, why, sizeof(why)));
	}
	r = fm_file_read_fd(fd, FM_REPLAY_CSV_MAX_BYTES, &raw, &len);
	(void)close(fd);
	if (r == -EFBIG)
		return set_error(err, r, 0, 0, "larger than %u bytes",
		    FM_REPLAY_CSV_MAX_BYTES);
	if (r < 0)
		return set_error(err, r, 0, 0, "cannot read: %s",
		    strerror_r(-r, why, sizeof(why)));
	r = fm_replay_csv_parse((const char *)raw, len, err, ret);
	free(raw);
	return r;
}
