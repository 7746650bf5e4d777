/*
 * Bounded scanning for the /proc parsers: lines, tokens, keywords and
 * numbers out of a buffer that is not NUL-terminated, never reading past
 * its end. The contracts are in agent-int.h.
 */
#include <errno.h>
#include <string.h>

#include "agent/agent-int.h"

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

void
fmi_scan_skip_blanks(const char **p, const char *end)
{
	while (*p < end && fmi_scan_is_blank(**p))
		(*p)++;
}

size_t
fmi_scan_skip_word(const char **p, const char *end)
{
	const char *start = *p;

	while (*p < end && !fmi_scan_is_blank(**p))
		(*p)++;
	return (size_t)(*p - start);
}

bool
fmi_scan_next_line(fmi_span *rest, fmi_span *ret)
{
	const char *eol;

	if (rest->len == 0)
		return false;
	eol = memchr(rest->p, '\n', rest->len);
	ret->p = rest->p;
	ret->len = eol ? (size_t)(eol - rest->p) : rest->len;
	rest->p += ret->len + (eol ? 1 : 0);
	rest->len -= ret->len + (eol ? 1 : 0);
	return true;
}

bool
fmi_scan_next_token(fmi_span *line, fmi_span *ret)
{
	const char *p = line->p, *end = line->p + line->len;

	fmi_scan_skip_blanks(&p, end);
	if (p == end) {
		line->p = p;
		line->len = 0;
		return false;
	}
	ret->p = p;
	ret->len = fmi_scan_skip_word(&p, end);
	line->p = p;
	line->len = (size_t)(end - p);
	return true;
}

bool
fmi_scan_is(const char *s, size_t len, const char *word)
{
	return len == strlen(word) && memcmp(s, word, len) == 0;
}

bool
fmi_scan_is_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	return len > 0;
}

bool
fmi_scan_is_name(fmi_span tok)
{
	for (size_t i = 0; i < tok.len; i++) {
		unsigned char c = (unsigned char)tok.p[i];

		if (c < 0x21 || c == 0x7f)
			return false;
	}
	return tok.len > 0;
}

int
fmi_scan_end(const char *p, const char *end)
{
	if (p < end && *p == '\n')
		p++;
	return p == end ? 0 : -EINVAL;
}

int
fmi_scan_char(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int
fmi_scan_u64(const char **p, const char *end, uint64_t *ret)
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

int
fmi_scan_u32(const char **p, const char *end, uint32_t *ret)
{
	const char *q = *p;
	uint64_t v;
	int r;

	r = fmi_scan_u64(&q, end, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -EINVAL;
	*p = q;
	*ret = (uint32_t)v;
	return 0;
}

int
fmi_scan_u64_field(const char **p, const char *end, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v;
	int r;

	fmi_scan_skip_blanks(&q, end);
	r = fmi_scan_u64(&q, end, &v);
	if (r < 0)
		return r;
	if (q < end && !fmi_scan_is_blank(*q) && *q != '\n')
		return -EINVAL;
	*p = q;
	*ret = v;
	return 0;
}

int
fmi_scan_u64_alone(
    const char *p, const char *end, const char *unit, uint64_t *ret)
{
	uint64_t v;
	int r;

	fmi_scan_skip_blanks(&p, end);
	r = fmi_scan_u64(&p, end, &v);
	if (r < 0)
		return r;
	fmi_scan_skip_blanks(&p, end);
	if (unit && (size_t)(end - p) >= strlen(unit) &&
	    memcmp(p, unit, strlen(unit)) == 0)
		p += strlen(unit);
	fmi_scan_skip_blanks(&p, end);
	if (p != end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int
fmi_scan_token_u64(fmi_span tok, uint64_t max, uint64_t *ret)
{
	const char *p = tok.p, *end = tok.p + tok.len;
	uint64_t v;

	if (fmi_scan_u64(&p, end, &v) < 0 || p != end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

int
fmi_scan_decimal(const char **p, const char *end, double *ret)
{
	const char *q = *p;
	uint64_t ip, frac = 0, scale = 1;
	int r;

	r = fmi_scan_u64(&q, end, &ip);
	if (r < 0)
		return r;
	if (q < end && *q == '.') {
		q++;
		if (q == end || !is_digit(*q))
			return -EINVAL;
		for (unsigned n = 0; q < end && is_digit(*q); q++, n++) {
			if (n >= FMI_SCAN_FRACTION_DIGITS_MAX)
				continue;
			frac = frac * 10 + (uint64_t)(*q - '0');
			scale *= 10;
		}
	}
	*p = q;
	*ret = (double)ip + (double)frac / (double)scale;
	return 0;
}

const fmi_scan_key *
fmi_scan_key_find(
    const fmi_scan_key *keys, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (fmi_scan_is(name, len, keys[i].name))
			return &keys[i];
	}
	return NULL;
}
