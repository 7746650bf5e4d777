/* The INI reader: wraps inih, the only user of <ini.h>. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "common/common.h"

struct ini_ctx {
	fm_ini_handler handler;
	void *userdata;
	bool failed; /* a key was refused */
	char section[64];
	char key[64];
	char why[FM_INI_WHY_BYTES];
	int r;
};

/* inih's callback: 1 accepts the line, 0 marks it as an error (inih then
 * reports the line number of the first error). */
static int
on_key(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *c = user;
	char why[FM_INI_WHY_BYTES] = "";
	int r;

	if (c->failed)
		return 0; /* only the first error is reported */
	r = c->handler(c->userdata, section, key, value, why);
	if (r >= 0)
		return 1;
	c->failed = true;
	c->r = r;
	snprintf(c->section, sizeof(c->section), "%s", section);
	snprintf(c->key, sizeof(c->key), "%s", key);
	snprintf(c->why, sizeof(c->why), "%s", why);
	return 0;
}

#define INI_FILE_MAX_BYTES (1u << 20)
/* inih delivers the first INI_MAX_LINE - 2 bytes of a longer line as if
 * they were the whole line, so long lines are refused before inih sees
 * them. */
#define INI_LINE_MAX_CHARS (INI_MAX_LINE - 2)

/* Reads the whole file (at most INI_FILE_MAX_BYTES) into a new
 * NUL-terminated buffer. */
static int
read_file(const char *path, char **ret)
{
	uint8_t *buf;
	size_t n;
	int r;

	r = fm_file_read_all(path, INI_FILE_MAX_BYTES, &buf, &n);
	if (r < 0)
		return r;
	if (strlen((const char *)buf) != n) {
		free(buf);
		return -EBADMSG; /* a NUL byte: not a text file */
	}
	*ret = (char *)buf;
	return 0;
}

/* The 1-based number of the first line longer than INI_LINE_MAX_CHARS,
 * or 0. */
static int
first_long_line(const char *s)
{
	size_t len = 0;
	int line = 1;

	for (const char *p = s;; p++) {
		if (*p == '\n' || *p == '\0') {
			if (len > 0 && p[-1] == '\r')
				len--;
			if (len > INI_LINE_MAX_CHARS)
				return line;
			if (*p == '\0')
				return 0;
			line++;
			len = 0;
			continue;
		}
		len++;
	}
}

int
fm_ini_parse_file(
    const char *path, fm_ini_handler handler, void *userdata, char *err)
{
	struct ini_ctx c = { .handler = handler, .userdata = userdata };
	char *text = NULL;
	int line, r;

	r = read_file(path, &text);
	if (r < 0) {
		snprintf(err, FM_INI_ERROR_BYTES, "%s: %s", path,
		    r == -EBADMSG ? "contains a NUL byte, not a text file"
		                  : strerror(-r));
		return r == -EBADMSG ? -EINVAL : r;
	}
	line = first_long_line(text);
	if (line > 0) {
		free(text);
		snprintf(err, FM_INI_ERROR_BYTES,
		    "%s:%d: line longer than %d characters", path, line,
		    INI_LINE_MAX_CHARS);
		return -EINVAL;
	}
	line = ini_parse_string(text, on_key, &c);
	free(text);
	if (line == 0)
		return 0;
	if (line < 0) {
		snprintf(err, FM_INI_ERROR_BYTES, "%s: out of memory", path);
		return -ENOMEM;
	}
	if (c.failed) {
		snprintf(err, FM_INI_ERROR_BYTES,
		    "%s:%d: %s '%s' in section [%s]", path, line,
		    c.why[0] ? c.why : "invalid key", c.key, c.section);
		return -EINVAL;
	}
	snprintf(err, FM_INI_ERROR_BYTES,
	    "%s:%d: syntax error (expected '[section]' or 'key = value')", path,
	    line);
	return -EINVAL;
}
