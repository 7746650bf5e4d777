/*
 * The INI engine: the line syntax, the section and key tables, drop-ins,
 * defaults, the dump and the reload (common/conf.h). Values are
 * conf-value.c's.
 */
#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/common-int.h"

struct fm_conf_given {
	const fm_conf_schema *s;
	int line[FM_CONF_KEYS_MAX]; /* per key: where this file set it; 0 */
};

bool
fm_conf_given_has(const fm_conf_given *g, const fm_conf_key *k)
{
	size_t i = (size_t)(k - g->s->keys);

	return i < g->s->n_keys && g->line[i] > 0;
}

/* One instance of a named section that this file names. */
struct instance {
	size_t section; /* in s->sections */
	char *name;
	int header_line;
	void *base; /* NULL until its first key */
	fm_conf_given given;
};

/* What reading one file keeps. */
struct reader {
	const fm_conf_schema *s;
	void *conf;
	const char *path;
	char *err;
	int line;
	/* the current section: none, a plain one, or an instance */
	const fm_conf_section *section;
	size_t instance;     /* in instances, when section is named */
	fm_conf_given plain; /* keys of the plain sections this file set */
	struct instance *instances;
	size_t n_instances;
};

static bool
is_named(const fm_conf_section *sec)
{
	return sec->open != NULL;
}

/* Formats err[FM_CONF_ERROR_BYTES] (truncating). */
static void errf(char *err, const char *fmt, ...) FM_PRINTF(2, 3);

static void
errf(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, FM_CONF_ERROR_BYTES, fmt, ap);
	va_end(ap);
}

/* Formats "PATH:LINE: ..." into r->err; returns -EINVAL. */
static int fail(struct reader *r, const char *fmt, ...) FM_PRINTF(2, 3);

static int
fail(struct reader *r, const char *fmt, ...)
{
	char msg[FM_CONF_ERROR_BYTES];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errf(r->err, "%s:%d: %s", r->path, r->line, msg);
	return -EINVAL;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

static char *
skip_blanks(char *p)
{
	while (is_blank(*p))
		p++;
	return p;
}

/* Cuts the blanks at the end of s. */
static void
cut_blanks(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
}

/* Where in p the first of chars is, or an inline comment (';' after a
 * blank) starts, or p ends. */
static size_t
find_or_comment(const char *p, const char *chars)
{
	bool after_blank = false;
	size_t i;

	for (i = 0; p[i]; i++) {
		if (chars && strchr(chars, p[i]))
			break;
		if (after_blank && p[i] == ';')
			break;
		after_blank = is_blank(p[i]);
	}
	return i;
}

static const fm_conf_section *
section_find(const fm_conf_schema *s, const char *name, size_t len)
{
	for (size_t i = 0; i < s->n_sections; i++)
		if (strlen(s->sections[i].name) == len &&
		    memcmp(s->sections[i].name, name, len) == 0)
			return &s->sections[i];
	return NULL;
}

/* "[NAME]" or "[NAME INSTANCE]" at p (after the '['). */
static int
on_header(struct reader *r, char *p)
{
	char *end = p + find_or_comment(p, "]"), *rest, *space;
	const fm_conf_section *sec;
	struct instance *in;
	char why[FM_CONF_WHY_BYTES] = "";

	if (*end != ']')
		return fail(r, "malformed section header (expected '[NAME]')");
	*end = '\0';
	rest = skip_blanks(end + 1);
	if (*rest && *rest != '#' && *rest != ';')
		return fail(r,
		    "malformed section header: text after ']' (expected "
		    "'[NAME]')");
	if (!*p)
		return fail(r, "malformed section header: no name");
	space = strchr(p, ' ');
	sec = section_find(r->s, p, space ? (size_t)(space - p) : strlen(p));
	if (!sec || (space && !is_named(sec)))
		return fail(r, "unknown section [%s]", p);
	if (!is_named(sec)) {
		r->section = sec;
		return 0;
	}
	if (!space || !space[1])
		return fail(
		    r, "section [%s] needs a name: [%s NAME]", p, sec->name);
	if (sec->check_name && sec->check_name(space + 1, why) < 0)
		return fail(r, "%s in section header [%s]", why, p);
	for (size_t i = 0; i < r->n_instances; i++) {
		in = &r->instances[i];
		if (&r->s->sections[in->section] == sec &&
		    strcmp(in->name, space + 1) == 0)
			return fail(r,
			    "second section [%s] in this file (the first is "
			    "on line %d)",
			    p, in->header_line);
	}
	in = realloc(r->instances, (r->n_instances + 1) * sizeof(*in));
	if (!in)
		return -ENOMEM;
	r->instances = in;
	in = &r->instances[r->n_instances];
	*in = (struct instance) {
		.section = (size_t)(sec - r->s->sections),
		.name = strdup(space + 1),
		.header_line = r->line,
		.given = { .s = r->s },
	};
	if (!in->name)
		return -ENOMEM;
	r->instance = r->n_instances++;
	r->section = sec;
	return 0;
}

static const fm_conf_key *
key_find(const fm_conf_schema *s, const char *section, const char *name)
{
	for (size_t i = 0; i < s->n_keys; i++)
		if (strcmp(s->keys[i].section, section) == 0 &&
		    strcmp(s->keys[i].name, name) == 0)
			return &s->keys[i];
	return NULL;
}

/* The section's name as its header spelled it. */
static const char *
header_of(struct reader *r, char *buf, size_t size)
{
	if (is_named(r->section))
		snprintf(buf, size, "%s %s", r->section->name,
		    r->instances[r->instance].name);
	else
		snprintf(buf, size, "%s", r->section->name);
	return buf;
}

/* "name = value" of the current section. */
static int
on_key(struct reader *r, const char *name, const char *value)
{
	char why[FM_CONF_WHY_BYTES] = "", header[FM_CONF_LINE_MAX_CHARS + 1];
	const fm_conf_section *sec = r->section;
	struct instance *in = NULL;
	fm_conf_given *given = &r->plain;
	const fm_conf_key *k;
	void *base = r->conf;
	size_t idx;
	int ret;

	if (!sec)
		return fail(r, "key '%s' before any [section]", name);
	header_of(r, header, sizeof(header));
	k = key_find(r->s, sec->name, name);
	if (!k)
		return fail(
		    r, "unknown key '%s' in section [%s]", name, header);
	idx = (size_t)(k - r->s->keys);
	if (is_named(sec)) {
		in = &r->instances[r->instance];
		given = &in->given;
	}
	if (given->line[idx] > 0)
		return fail(r,
		    "key '%s' in section [%s] is already set on line %d", name,
		    header, given->line[idx]);
	if (in && !in->base) {
		ret = sec->open(r->conf, in->name, &in->base, why);
		if (ret < 0)
			return fail(
			    r, "%s '%s' in section [%s]", why, name, header);
	}
	if (in)
		base = in->base;
	ret = fmi_conf_value_set(k, base, value, why);
	if (ret < 0)
		return fail(r, "%s '%s' in section [%s]", why, name, header);
	given->line[idx] = r->line;
	if (sec->after_key) {
		ret = sec->after_key(base, k, given, why);
		if (ret < 0)
			return fail(
			    r, "%s '%s' in section [%s]", why, name, header);
	}
	return 0;
}

/* One line, without its newline. */
static int
on_line(struct reader *r, char *line)
{
	char *p = skip_blanks(line), *sep, *value;

	if (!*p || *p == '#' || *p == ';')
		return 0;
	if (*p == '[')
		return on_header(r, p + 1);
	sep = p + find_or_comment(p, "=:");
	if (*sep != '=' && *sep != ':')
		return fail(
		    r, "syntax error (expected '[section]' or 'key = value')");
	*sep = '\0';
	cut_blanks(p);
	if (!*p)
		return fail(r, "syntax error: no key before '='");
	value = skip_blanks(sep + 1);
	/* a ';' right at the start of the value is part of it, as in inih */
	if (*value)
		value[1 + find_or_comment(value + 1, NULL)] = '\0';
	cut_blanks(value);
	return on_key(r, p, value);
}

/* Reads path whole (a text file of at most FM_CONF_FILE_MAX_BYTES). */
static int
read_text(const char *path, char **ret, char *err)
{
	uint8_t *buf;
	size_t n;
	int r;

	r = fm_file_read_all(path, FM_CONF_FILE_MAX_BYTES, &buf, &n);
	if (r < 0) {
		errf(err, "%s: %s", path,
		    r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
		return r;
	}
	if (strlen((const char *)buf) != n) {
		free(buf);
		errf(err, "%s: contains a NUL byte, not a text file", path);
		return -EINVAL;
	}
	*ret = (char *)buf;
	return 0;
}

static int
parse_text(struct reader *r, char *text)
{
	char *p = text;
	int ret;

	if (strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3; /* a UTF-8 byte order mark */
	for (r->line = 1; *p; r->line++) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		if (nl)
			*nl = '\0';
		if (len > 0 && p[len - 1] == '\r')
			p[--len] = '\0';
		if (len > FM_CONF_LINE_MAX_CHARS)
			return fail(r, "line longer than %d characters",
			    FM_CONF_LINE_MAX_CHARS);
		ret = on_line(r, p);
		if (ret == -ENOMEM)
			errf(r->err, "%s: out of memory", r->path);
		if (ret < 0)
			return ret;
		if (!nl)
			break;
		p = nl + 1;
	}
	return 0;
}

int
fm_conf_load_file(
    const fm_conf_schema *s, void *conf, const char *path, char *err)
{
	struct reader r = {
		.s = s,
		.conf = conf,
		.path = path,
		.err = err,
		.plain = { .s = s },
	};
	char *text;
	int ret;

	assert(s->n_keys <= FM_CONF_KEYS_MAX);
	ret = read_text(path, &text, err);
	if (ret < 0)
		return ret;
	ret = parse_text(&r, text);
	for (size_t i = 0; i < r.n_instances; i++)
		free(r.instances[i].name);
	free(r.instances);
	free(text);
	return ret;
}

static int
compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_dropin_name(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 5 && strcmp(name + n - 5, ".conf") == 0;
}

/* The names of the drop-ins in dir, sorted; *ret_n 0 when dir is
 * missing. */
static int
list_dropins(const char *dir, char ***ret, size_t *ret_n, char *err)
{
	char **names = NULL, full[PATH_MAX];
	size_t n = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0;

	d = opendir(dir);
	if (!d) {
		if (errno == ENOENT) {
			*ret = NULL;
			*ret_n = 0;
			return 0;
		}
		r = -errno;
		errf(err, "%s: %s", dir, strerror(-r));
		return r;
	}
	names = calloc(FM_CONF_DROPINS_MAX, sizeof(*names));
	if (!names) {
		r = -ENOMEM;
		goto out;
	}
	while ((de = readdir(d))) {
		if (!is_dropin_name(de->d_name))
			continue;
		if (snprintf(full, sizeof(full), "%s/%s", dir, de->d_name) >=
		        (int)sizeof(full) ||
		    stat(full, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == FM_CONF_DROPINS_MAX) {
			errf(err, "%s: more than %d drop-ins", dir,
			    FM_CONF_DROPINS_MAX);
			r = -E2BIG;
			goto out;
		}
		names[n] = strdup(de->d_name);
		if (!names[n]) {
			r = -ENOMEM;
			goto out;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), compare_names);
	*ret = names;
	*ret_n = n;
	names = NULL;
out:
	if (r == -ENOMEM)
		errf(err, "%s: out of memory", dir);
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

int
fm_conf_load(const fm_conf_schema *s, void *conf, const char *path, char *err)
{
	char dir[PATH_MAX], file[PATH_MAX];
	char **names = NULL;
	size_t n = 0;
	int r;

	r = fm_conf_load_file(s, conf, path, err);
	if (r < 0)
		return r;
	if (snprintf(dir, sizeof(dir), "%s.d", path) >= (int)sizeof(dir)) {
		errf(err, "%s.d: %s", path, strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	r = list_dropins(dir, &names, &n, err);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n && r == 0; i++) {
		/* fits: list_dropins() built the same path */
		if (snprintf(file, sizeof(file), "%s/%s", dir, names[i]) <
		    (int)sizeof(file))
			r = fm_conf_load_file(s, conf, file, err);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

void
fm_conf_defaults_section(
    const fm_conf_schema *s, const char *section, void *base)
{
	char why[FM_CONF_WHY_BYTES];

	for (size_t i = 0; i < s->n_keys; i++) {
		const fm_conf_key *k = &s->keys[i];
		int r;

		if (!k->def || strcmp(k->section, section) != 0)
			continue;
		r = fmi_conf_value_set(k, base, k->def, why);
		assert(r == 0); /* the table's own default must parse */
		(void)r;
	}
}

void
fm_conf_defaults(const fm_conf_schema *s, void *conf)
{
	memset(conf, 0, s->conf_size);
	for (size_t i = 0; i < s->n_sections; i++)
		if (!is_named(&s->sections[i]))
			fm_conf_defaults_section(s, s->sections[i].name, conf);
}

/* Whether the syntax carries value as it is: no newline, no blank at
 * either end, no inline comment. */
static bool
value_is_writable(const char *v)
{
	size_t n = strlen(v);

	if (n > 0 && (is_blank(v[0]) || is_blank(v[n - 1])))
		return false;
	if (strchr(v, '\n'))
		return false;
	return n == 0 || !v[1 + find_or_comment(v + 1, NULL)];
}

/* Writes the keys of section (named or not) from base. */
static int
dump_keys(const fm_conf_schema *s, const fm_conf_section *sec, const void *base,
    FILE *f, char *err)
{
	char value[FMI_CONF_VALUE_BYTES];

	for (size_t i = 0; i < s->n_keys; i++) {
		const fm_conf_key *k = &s->keys[i];

		if (strcmp(k->section, sec->name) != 0)
			continue;
		if (sec->dump_key && !sec->dump_key(base, k))
			continue;
		if (fmi_conf_value_format(k, base, value, sizeof(value)) < 0 ||
		    !value_is_writable(value)) {
			errf(err,
			    "the value of key '%s' in section [%s] cannot be "
			    "written as INI",
			    k->name, k->section);
			return -EINVAL;
		}
		fprintf(f, "# %s (default: %s%s)\n", k->description,
		    !k->def         ? "none"
		        : k->def[0] ? k->def
		                    : "empty",
		    k->flags & FM_CONF_RELOAD ? "; a reload applies it" : "");
		fprintf(f, "%s =%s%s\n", k->name, value[0] ? " " : "", value);
	}
	return 0;
}

int
fm_conf_dump(const fm_conf_schema *s, const void *conf, FILE *f, char *err)
{
	int r;

	for (size_t i = 0; i < s->n_sections; i++) {
		const fm_conf_section *sec = &s->sections[i];

		if (!is_named(sec)) {
			fprintf(f, "\n[%s]\n", sec->name);
			r = dump_keys(s, sec, conf, f, err);
			if (r < 0)
				return r;
			continue;
		}
		for (size_t j = 0; sec->count && j < sec->count(conf); j++) {
			const char *name;
			const void *base = sec->get(conf, j, &name);

			fprintf(f, "\n[%s %s]\n", sec->name, name);
			r = dump_keys(s, sec, base, f, err);
			if (r < 0)
				return r;
		}
	}
	if (fflush(f) != 0 || ferror(f)) {
		errf(err, "%s", strerror(EIO));
		return -EIO;
	}
	return 0;
}

unsigned
fm_conf_reload(const fm_conf_schema *s, void *running, const void *next,
    char *restart, size_t size)
{
	char a[FMI_CONF_VALUE_BYTES], b[FMI_CONF_VALUE_BYTES];
	char why[FM_CONF_WHY_BYTES];
	const char *last_section = NULL;
	size_t used = 0;
	unsigned n = 0;

	if (size)
		restart[0] = '\0';
	for (size_t i = 0; i < s->n_keys; i++) {
		const fm_conf_key *k = &s->keys[i];
		const fm_conf_section *sec =
		    section_find(s, k->section, strlen(k->section));
		int w;

		if (!sec || is_named(sec))
			continue;
		if (fmi_conf_value_format(k, next, b, sizeof(b)) < 0)
			continue; /* the loader wrote it: cannot happen */
		if (k->flags & FM_CONF_RELOAD) {
			(void)fmi_conf_value_set(k, running, b, why);
			continue;
		}
		if (fmi_conf_value_format(k, running, a, sizeof(a)) == 0 &&
		    strcmp(a, b) == 0)
			continue;
		n++;
		if (used >= size)
			continue;
		if (last_section && strcmp(last_section, k->section) == 0)
			w = snprintf(
			    restart + used, size - used, ", %s", k->name);
		else
			w = snprintf(restart + used, size - used, "%s[%s] %s",
			    used ? ", " : "", k->section, k->name);
		last_section = k->section;
		if (w > 0)
			used += (size_t)w;
	}
	return n;
}
