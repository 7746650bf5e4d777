/*
 * The keyring: the aggregator's enrolled agents, parsed from the
 * authorized-agents file into an array sorted by key id.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto-int.h"

struct keyring_entry {
	uint64_t id;
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];
	char name[FM_CRYPTO_KEY_NAME_BYTES];
	size_t line; /* where it came from (1-based; from_keys(): index + 1) */
};

struct fm_crypto_keyring {
	size_t n;
	struct keyring_entry *e; /* n, sorted by id, ids unique */
};

/* Why a line was refused: its number and a reason, formatted by the
 * caller as "line N: why" or "path:N: why". */
struct parse_error {
	size_t line; /* 0: not about one line (the size cap) */
	char why[FM_INI_ERROR_BYTES / 2];
};

static void fail(struct parse_error *pe, size_t line, const char *fmt, ...)
    FM_PRINTF(3, 4);

static void
fail(struct parse_error *pe, size_t line, const char *fmt, ...)
{
	va_list ap;

	pe->line = line;
	va_start(ap, fmt);
	(void)vsnprintf(pe->why, sizeof(pe->why), fmt, ap);
	va_end(ap);
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
cmp_entry(const void *a, const void *b)
{
	const struct keyring_entry *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	/* among equal ids, file order: the later line is the duplicate */
	return x->line < y->line ? -1 : x->line > y->line;
}

static int
cmp_id(const void *key, const void *elem)
{
	uint64_t id = *(const uint64_t *)key;
	const struct keyring_entry *e = elem;

	return id < e->id ? -1 : id > e->id;
}

/*
 * Sorts e[n] and refuses two entries with one key id (so also one key),
 * naming the earliest line that repeats an earlier one. Returns 0 or
 * -EINVAL.
 */
static int
sort_and_check(struct keyring_entry *e, size_t n, struct parse_error *pe)
{
	const struct keyring_entry *dup = NULL, *orig = NULL;

	if (n > 1)
		qsort(e, n, sizeof(*e), cmp_entry);
	for (size_t i = 1; i < n; i++) {
		if (e[i].id != e[i - 1].id)
			continue;
		if (!dup || e[i].line < dup->line) {
			dup = &e[i];
			orig = &e[i - 1];
		}
		/* later entries with this id repeat it too: the first
		 * one (sorted by line) is the earliest repeat */
		while (i + 1 < n && e[i + 1].id == e[i].id)
			i++;
	}
	if (!dup)
		return 0;
	if (memcmp(dup->pk, orig->pk, sizeof(dup->pk)) == 0)
		fail(pe, dup->line, "duplicate key (also on line %zu)",
		    orig->line);
	else
		fail(
		    pe, dup->line, "key id collides with line %zu", orig->line);
	return -EINVAL;
}

/* Whether the line [p, end) holds a key: not blank, not a comment. */
static bool
line_has_key(const char *p, const char *end)
{
	while (p < end && is_blank(*p))
		p++;
	return p < end && *p != '#';
}

/*
 * Parses one key line [p, end) (no line end) into *e. Leading and
 * trailing blanks are dropped; the key is the first word, the label the
 * rest after blanks.
 */
static int
parse_line(const char *p, const char *end, size_t line, struct keyring_entry *e,
    struct parse_error *pe)
{
	const char *key, *label;
	size_t label_len;

	while (p < end && is_blank(*p))
		p++;
	while (end > p && is_blank(end[-1]))
		end--;
	key = p;
	while (p < end && !is_blank(*p))
		p++;
	if (fmi_crypto_key_decode(key, (size_t)(p - key), e->pk) < 0) {
		fail(pe, line, "not a base64 public key");
		return -EINVAL;
	}
	while (p < end && is_blank(*p))
		p++;
	label = p;
	label_len = (size_t)(end - label);
	if (label_len >= sizeof(e->name)) {
		fail(pe, line, "label longer than %zu bytes",
		    sizeof(e->name) - 1);
		return -EINVAL;
	}
	for (size_t i = 0; i < label_len; i++) {
		unsigned char c = (unsigned char)label[i];

		/* labels end up in logs: no line breaks or escapes */
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			fail(pe, line, "control character in label");
			return -EINVAL;
		}
	}
	memcpy(e->name, label, label_len);
	e->name[label_len] = '\0';
	e->id = fm_crypto_key_id(e->pk);
	e->line = line;
	return 0;
}

/* Splits text[len] at '\n'; sets *p and *eol to the next line (without
 * its "\r\n" or "\n") and returns false past the end. */
static bool
next_line(const char **cur, const char *end, const char **p, const char **eol)
{
	const char *nl;

	if (*cur >= end)
		return false;
	*p = *cur;
	nl = memchr(*cur, '\n', (size_t)(end - *cur));
	*eol = nl ? nl : end;
	*cur = nl ? nl + 1 : end;
	if (*eol > *p && (*eol)[-1] == '\r')
		(*eol)--;
	return true;
}

static int
parse(const char *text, size_t len, struct parse_error *pe,
    fm_crypto_keyring **ret)
{
	const char *end, *cur, *p, *eol;
	fm_crypto_keyring *kr;
	size_t line, n = 0;
	int r;

	if (len == 0)
		text = ""; /* may be NULL then */
	end = text + len;

	if (len > FM_CRYPTO_KEYRING_MAX_BYTES) {
		fail(pe, 0, "larger than %u bytes",
		    (unsigned)FM_CRYPTO_KEYRING_MAX_BYTES);
		return -EMSGSIZE;
	}
	if (len > 0 && memchr(text, '\0', len)) {
		line = 1;
		for (p = text; *p; p++)
			line += *p == '\n';
		fail(pe, line, "NUL byte");
		return -EINVAL;
	}
	/* count first, so the array is allocated once, within the cap */
	for (cur = text, line = 1; next_line(&cur, end, &p, &eol); line++) {
		if (!line_has_key(p, eol))
			continue;
		if (++n > FM_CRYPTO_KEYRING_MAX_KEYS) {
			fail(pe, line, "more than %u keys",
			    (unsigned)FM_CRYPTO_KEYRING_MAX_KEYS);
			return -EMSGSIZE;
		}
	}
	kr = calloc(1, sizeof(*kr));
	if (!kr || (n > 0 && !(kr->e = calloc(n, sizeof(*kr->e))))) {
		fail(pe, 0, "%s", strerror(ENOMEM));
		r = -ENOMEM;
		goto out_free;
	}
	for (cur = text, line = 1; next_line(&cur, end, &p, &eol); line++) {
		if (!line_has_key(p, eol))
			continue;
		r = parse_line(p, eol, line, &kr->e[kr->n], pe);
		if (r < 0)
			goto out_free;
		kr->n++;
	}
	r = sort_and_check(kr->e, kr->n, pe);
	if (r < 0)
		goto out_free;
	*ret = kr;
	return 0;
out_free:
	fm_crypto_keyring_free(kr);
	return r;
}

/* Formats pe into err[FM_INI_ERROR_BYTES] (when err is not NULL),
 * prefixed with "path:N: " or "path: " when path is not NULL, else with
 * "line N: " */
static void
format_error(const struct parse_error *pe, const char *path, char *err)
{
	if (!err)
		return;
	if (path && pe->line > 0)
		snprintf(err, FM_INI_ERROR_BYTES, "%s:%zu: %s", path, pe->line,
		    pe->why);
	else if (path)
		snprintf(err, FM_INI_ERROR_BYTES, "%s: %s", path, pe->why);
	else if (pe->line > 0)
		snprintf(
		    err, FM_INI_ERROR_BYTES, "line %zu: %s", pe->line, pe->why);
	else
		snprintf(err, FM_INI_ERROR_BYTES, "%s", pe->why);
}

int
fm_crypto_keyring_parse(
    const char *text, size_t len, char *err, fm_crypto_keyring **ret)
{
	struct parse_error pe = { 0 };
	int r;

	r = parse(text, len, &pe, ret);
	if (r < 0)
		format_error(&pe, NULL, err);
	return r;
}

int
fm_crypto_keyring_load(const char *path, char *err, fm_crypto_keyring **ret)
{
	struct parse_error pe = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = fm_file_read_all(path, FM_CRYPTO_KEYRING_MAX_BYTES, &buf, &len);
	if (r == -EFBIG) {
		fail(&pe, 0, "larger than %u bytes",
		    (unsigned)FM_CRYPTO_KEYRING_MAX_BYTES);
		r = -EMSGSIZE;
	} else if (r < 0) {
		fail(&pe, 0, "%s", strerror(-r));
	} else {
		r = parse((const char *)buf, len, &pe, ret);
		free(buf);
	}
	if (r < 0)
		format_error(&pe, path, err);
	return r;
}

int
fm_crypto_keyring_from_keys(const uint8_t (*keys)[FM_CRYPTO_PUBLIC_KEY_BYTES],
    size_t n, fm_crypto_keyring **ret)
{
	struct parse_error pe;
	fm_crypto_keyring *kr;
	int r;

	if (n > FM_CRYPTO_KEYRING_MAX_KEYS)
		return -EMSGSIZE;
	kr = calloc(1, sizeof(*kr));
	if (!kr)
		return -ENOMEM;
	if (n > 0) {
		kr->e = calloc(n, sizeof(*kr->e));
		if (!kr->e) {
			r = -ENOMEM;
			goto out_free;
		}
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(kr->e[i].pk, keys[i], FM_CRYPTO_PUBLIC_KEY_BYTES);
		kr->e[i].id = fm_crypto_key_id(keys[i]);
		kr->e[i].line = i + 1; /* the order for sort_and_check() */
	}
	kr->n = n;
	r = sort_and_check(kr->e, kr->n, &pe);
	if (r < 0)
		goto out_free;
	*ret = kr;
	return 0;
out_free:
	fm_crypto_keyring_free(kr);
	return r;
}

const uint8_t *
fm_crypto_keyring_find(
    const fm_crypto_keyring *kr, uint64_t id, const char **ret_name)
{
	const struct keyring_entry *e;

	if (kr->n == 0)
		return NULL;
	e = bsearch(&id, kr->e, kr->n, sizeof(*kr->e), cmp_id);
	if (!e)
		return NULL;
	if (ret_name)
		*ret_name = e->name;
	return e->pk;
}

size_t
fm_crypto_keyring_count(const fm_crypto_keyring *kr)
{
	return kr->n;
}

fm_crypto_keyring *
fm_crypto_keyring_free(fm_crypto_keyring *kr)
{
	if (kr) {
		free(kr->e);
		free(kr);
	}
	return NULL;
}
