/*
 * Bounded scanning for the /proc parsers: lines, tokens, keywords and
 * numbers out of a buffer that is not NUL-terminated, never reading past
 * its end. The contracts are in parse.h.
 */
#include <errno.h>
#include <string.h>

#include "agent/collect/collect-int.h"

/* Decimal digits that fit a uint64_t whatever they are: 10^19 - 1 is
 * below UINT64_MAX, so the first 19 digits need no overflow check. */
#define U64_SAFE_DIGITS 19

static inline bool
is_digit(char c)
{
	return (unsigned)((unsigned char)c - '0') < 10u;
}

/* Scans the digits of [p, end) into *ret checking every step for
 * overflow, and returns where they end: the slow path for runs longer
 * than U64_SAFE_DIGITS (leading zeros are allowed). NULL beyond
 * UINT64_MAX. */
static const char *
scan_digits_checked(const char *p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;

	for (; p < end && is_digit(*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return NULL;
		v = v * 10 + d;
	}
	*ret = v;
	return p;
}

/* Scans the digits at p (none is fine: then *ret is 0 and p is returned)
 * into *ret and returns where they end, or NULL beyond UINT64_MAX. */
static inline const char *
scan_digits(const char *p, const char *end, uint64_t *ret)
{
	const char *start = p;
	uint64_t v = 0;

	/* Unchecked, and only when the run is long re-scanned with checks:
	 * the wrapped value is thrown away. */
	for (; p < end && is_digit(*p); p++)
		v = v * 10 + (unsigned)(*p - '0');
	if (p - start > U64_SAFE_DIGITS)
		return scan_digits_checked(start, p, ret);
	*ret = v;
	return p;
}

/* Whether the C string word starts [p, end); *ret_after is then past it. */
static inline bool
starts_with(
    const char *p, const char *end, const char *word, const char **ret_after)
{
	for (; *word != '\0'; p++, word++) {
		if (p == end || *p != *word)
			return false;
	}
	*ret_after = p;
	return true;
}

bool
fm_collect_scan_next_line(fm_collect_span *rest, fm_collect_span *ret)
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
fm_collect_scan_next_token(fm_collect_span *line, fm_collect_span *ret)
{
	const char *p = line->p, *end = line->p + line->len, *start;

	while (p < end && fm_collect_scan_is_blank(*p))
		p++;
	if (p == end) {
		line->p = p;
		line->len = 0;
		return false;
	}
	start = p;
	while (p < end && !fm_collect_scan_is_blank(*p))
		p++;
	ret->p = start;
	ret->len = (size_t)(p - start);
	line->p = p;
	line->len = (size_t)(end - p);
	return true;
}

bool
fm_collect_scan_is(const char *s, size_t len, const char *word)
{
	/* Without measuring word first: most words differ in their first
	 * byte. */
	for (size_t i = 0; i < len; i++) {
		if (word[i] != s[i] || word[i] == '\0')
			return false;
	}
	return word[len] == '\0';
}

bool
fm_collect_scan_is_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	return len > 0;
}

bool
fm_collect_scan_is_name(fm_collect_span tok)
{
	for (size_t i = 0; i < tok.len; i++) {
		unsigned char c = (unsigned char)tok.p[i];

		if (c < 0x21 || c == 0x7f)
			return false;
	}
	return tok.len > 0;
}

int
fm_collect_scan_end(const char *p, const char *end)
{
	if (p < end && *p == '\n')
		p++;
	return p == end ? 0 : -EINVAL;
}

int
fm_collect_scan_char(const char **p, const char *end, char c)
{
	if (*p == end || **p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int
fm_collect_scan_u64(const char **p, const char *end, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v;

	if (q == end || !is_digit(*q))
		return -EINVAL;
	q = scan_digits(q, end, &v);
	if (!q)
		return -EINVAL;
	*p = q;
	*ret = v;
	return 0;
}

int
fm_collect_scan_u32(const char **p, const char *end, uint32_t *ret)
{
	const char *q = *p;
	uint64_t v;
	int r;

	r = fm_collect_scan_u64(&q, end, &v);
	if (r < 0)
		return r;
	if (v > UINT32_MAX)
		return -EINVAL;
	*p = q;
	*ret = (uint32_t)v;
	return 0;
}

int
fm_collect_scan_u64_field(const char **p, const char *end, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v;
	int r;

	fm_collect_scan_skip_blanks(&q, end);
	r = fm_collect_scan_u64(&q, end, &v);
	if (r < 0)
		return r;
	if (q < end && !fm_collect_scan_is_blank(*q) && *q != '\n')
		return -EINVAL;
	*p = q;
	*ret = v;
	return 0;
}

int
fm_collect_scan_u64_alone(
    const char *p, const char *end, const char *unit, uint64_t *ret)
{
	uint64_t v;
	int r;

	fm_collect_scan_skip_blanks(&p, end);
	r = fm_collect_scan_u64(&p, end, &v);
	if (r < 0)
		return r;
	fm_collect_scan_skip_blanks(&p, end);
	if (unit)
		(void)starts_with(p, end, unit, &p);
	fm_collect_scan_skip_blanks(&p, end);
	if (p != end)
		return -EINVAL;
	*ret = v;
	return 0;
}

int
fm_collect_scan_token_u64(fm_collect_span tok, uint64_t max, uint64_t *ret)
{
	const char *end = tok.p + tok.len, *p;
	uint64_t v = 0;

	if (tok.len == 0)
		return -EINVAL;
	p = scan_digits(tok.p, end, &v);
	if (p != end || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* fm_collect_scan_u64_list(), building every value. */
static int
list_values(
    const char *p, const char *end, uint64_t *ret, size_t cap, uint32_t *ret_n)
{
	uint32_t n = 0;

	for (;;) {
		const char *start;
		uint64_t v = 0;

		while (p < end && fm_collect_scan_is_blank(*p))
			p++;
		if (p == end)
			break;
		start = p;
		p = scan_digits(p, end, &v);
		if (!p || p == start ||
		    (p < end && !fm_collect_scan_is_blank(*p)))
			return -EINVAL;
		if (n < cap)
			ret[n] = v;
		if (n < UINT32_MAX)
			n++;
	}
	*ret_n = n;
	return 0;
}

/* fm_collect_scan_u64_list() with cap 0, one byte at a time: no value is built,
 * and only a run of digits too long to be sure it fits is parsed. */
static int
list_check(const char *p, const char *end, uint32_t *ret_n)
{
	const char *start = p;
	unsigned run = 0;
	uint32_t n = 0;

	for (; p < end; p++) {
		if (is_digit(*p)) {
			if (run == 0 && n < UINT32_MAX)
				n++;
			if (++run > U64_SAFE_DIGITS)
				return list_values(start, end, NULL, 0, ret_n);
		} else if (fm_collect_scan_is_blank(*p)) {
			run = 0;
		} else {
			return -EINVAL;
		}
	}
	*ret_n = n;
	return 0;
}

int
fm_collect_scan_u64_list(
    const char *p, const char *end, uint64_t *ret, size_t cap, uint32_t *ret_n)
{
	if (cap == 0)
		return list_check(p, end, ret_n);
	return list_values(p, end, ret, cap, ret_n);
}

int
fm_collect_scan_decimal(const char **p, const char *end, double *ret)
{
	const char *q = *p;
	uint64_t ip, frac = 0, scale = 1;
	int r;

	r = fm_collect_scan_u64(&q, end, &ip);
	if (r < 0)
		return r;
	if (q < end && *q == '.') {
		q++;
		if (q == end || !is_digit(*q))
			return -EINVAL;
		for (unsigned n = 0; q < end && is_digit(*q); q++, n++) {
			if (n >= FM_COLLECT_SCAN_FRACTION_DIGITS_MAX)
				continue;
			frac = frac * 10 + (uint64_t)(*q - '0');
			scale *= 10;
		}
	}
	*p = q;
	*ret = (double)ip + (double)frac / (double)scale;
	return 0;
}

const fm_collect_scan_key *
fm_collect_scan_key_find(
    const fm_collect_scan_key *keys, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (fm_collect_scan_is(name, len, keys[i].name))
			return &keys[i];
	}
	return NULL;
}

void
fm_collect_scan_firsts_init(
    fm_collect_scan_firsts *ret, const fm_collect_scan_key *keys, size_t n)
{
	*ret = (fm_collect_scan_firsts) { { 0 } };
	for (size_t i = 0; i < n; i++)
		fm_collect_scan_firsts_add(ret, keys[i].name[0]);
}

const fm_collect_scan_key *
fm_collect_scan_key_find_word(const fm_collect_scan_key *keys, size_t n,
    const char *p, const char *end, const char **ret_after)
{
	if (p == end)
		return NULL; /* names are not empty */
	for (size_t i = 0; i < n; i++) {
		const char *q;

		if (keys[i].name[0] != *p)
			continue;
		if (starts_with(p, end, keys[i].name, &q) &&
		    (q == end || fm_collect_scan_is_blank(*q))) {
			*ret_after = q;
			return &keys[i];
		}
	}
	return NULL;
}

const fm_collect_scan_key *
fm_collect_scan_key_find_before(const fm_collect_scan_key *keys, size_t n,
    const char *p, const char *end, char sep, const char **ret_after)
{
	if (p == end)
		return NULL; /* names are not empty */
	for (size_t i = 0; i < n; i++) {
		const char *q;

		if (keys[i].name[0] != *p)
			continue;
		if (starts_with(p, end, keys[i].name, &q) && q < end &&
		    *q == sep) {
			*ret_after = q + 1;
			return &keys[i];
		}
	}
	return NULL;
}

bool
fm_collect_scan_starts_with(
    const char *p, const char *end, const char *word, const char **ret_after)
{
	return starts_with(p, end, word, ret_after);
}
