/*
 * Tests for common/conf.c and conf-value.c, the INI engine, on a table of
 * its own: every type and its derived error text, the syntax and its
 * errors (file, line, key), named sections, drop-ins, the dump's round
 * trip and the reload.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

#define ITEMS_MAX 3

struct item {
	char name[8];
	uint32_t weight;
	int kind;      /* 1 small, 2 large */
	uint32_t size; /* kind = large only */
};

struct tconf {
	bool flag;
	uint32_t u32;
	uint64_t u64;
	int32_t i32;
	int64_t i64;
	float ratio;
	double scale;
	char word[8];
	char dir[16];
	char opt_dir[16];
	int color;
	int level;
	uint32_t hex;
	char checked[8];
	uint32_t n_items;
	struct item items[ITEMS_MAX];
};

static int
parse_hex(const fm_conf_key *k, const char *value, void *base, char *why)
{
	char *end;
	unsigned long v;

	(void)why;
	if (strncmp(value, "0x", 2) != 0 || !value[2])
		return -EINVAL;
	v = strtoul(value + 2, &end, 16);
	if (*end || v > UINT32_MAX)
		return -EINVAL;
	*(uint32_t *)(void *)((char *)base + k->offset) = (uint32_t)v;
	return 0;
}

static int
format_hex(const fm_conf_key *k, const void *base, char *buf, size_t size)
{
	uint32_t v =
	    *(const uint32_t *)(const void *)((const char *)base + k->offset);

	return snprintf(buf, size, "0x%x", v) < (int)size ? 0 : -ENOBUFS;
}

/* Lower-case letters only; "x" is refused with a reason of its own. */
static int
check_lower(const char *value, char *why)
{
	if (strcmp(value, "x") == 0) {
		snprintf(why, FM_CONF_WHY_BYTES, "x is reserved, for key");
		return -EINVAL;
	}
	for (const char *p = value; *p; p++)
		if (*p < 'a' || *p > 'z')
			return -EINVAL;
	return 0;
}

static const fm_conf_name colors[] = {
	{ "red", 1 },
	{ "green", 2 },
	{ "blue", 3 },
	{ NULL, 0 },
};

static const fm_conf_name kinds[] = {
	{ "small", 1 },
	{ "large", 2 },
	{ NULL, 0 },
};

#define T(f)                                                                   \
	.offset = offsetof(struct tconf, f),                                   \
	.size = sizeof(((struct tconf *)0)->f)
#define I(f)                                                                   \
	.offset = offsetof(struct item, f),                                    \
	.size = sizeof(((struct item *)0)->f)

static const fm_conf_key keys[] = {
	{ "main", "flag", .type = FM_CONF_BOOL, T(flag), .def = "no",
	    .description = "a flag" },
	{ "main", "u32", .type = FM_CONF_UINT, .range.u = { 1, 3600 }, T(u32),
	    .def = "3", .flags = FM_CONF_RELOAD, .description = "an unsigned" },
	{ "main", "u64", .type = FM_CONF_UINT,
	    .range.u = { 0, 1000000000000000 }, T(u64), .def = "0",
	    .description = "a big unsigned" },
	{ "main", "i32", .type = FM_CONF_INT, .range.i = { -5, 5 }, T(i32),
	    .def = "-1", .description = "a signed" },
	{ "main", "i64", .type = FM_CONF_INT,
	    .range.i = { INT64_MIN, INT64_MAX }, T(i64), .def = "0",
	    .description = "a big signed" },
	{ "main", "ratio", .type = FM_CONF_FLOAT, .range.f = { 0, 1 }, T(ratio),
	    .flags = FM_CONF_MIN_OPEN, .def = "0.5",
	    .description = "a float in (0, 1]" },
	{ "main", "scale", .type = FM_CONF_FLOAT, .range.f = { 0, 1 }, T(scale),
	    .flags = FM_CONF_MAX_OPEN, .def = "0.9",
	    .description = "a double in [0, 1)" },
	{ "main", "word", .type = FM_CONF_STRING, T(word), .def = "hi",
	    .description = "a string" },
	{ "more", "dir", .type = FM_CONF_PATH, T(dir), .def = "/var",
	    .flags = FM_CONF_RELOAD, .description = "a path" },
	{ "more", "opt_dir", .type = FM_CONF_PATH, T(opt_dir), .def = "",
	    .flags = FM_CONF_EMPTY_OK, .description = "a path or empty" },
	{ "more", "color", .type = FM_CONF_ENUM, .names = colors, T(color),
	    .def = "green", .description = "a color" },
	{ "more", "level", .type = FM_CONF_LOG_LEVEL, .range.i = { 3, 7 },
	    T(level), .def = "info", .description = "a log level" },
	{ "more", "hex", .type = FM_CONF_CUSTOM, T(hex), .parse = parse_hex,
	    .format = format_hex, .expect = "0x and hexadecimal digits",
	    .def = "0x10", .description = "a custom value" },
	{ "more", "checked", .type = FM_CONF_STRING, T(checked),
	    .check = check_lower, .expect = "lower-case letters", .def = "",
	    .description = "a checked string" },
	{ "item", "weight", .type = FM_CONF_UINT, .range.u = { 0, 10 },
	    I(weight), .def = "1", .description = "an item's weight" },
	{ "item", "kind", .type = FM_CONF_ENUM, .names = kinds, I(kind),
	    .description = "an item's kind" },
	{ "item", "size", .type = FM_CONF_UINT, .range.u = { 1, 9 }, I(size),
	    .def = "1", .description = "a large item's size" },
};

extern const fm_conf_schema schema;

static int
item_check_name(const char *name, char *why)
{
	if (strlen(name) >= sizeof(((struct item *)0)->name) ||
	    strchr(name, ' ')) {
		snprintf(why, FM_CONF_WHY_BYTES, "bad item name");
		return -EINVAL;
	}
	return 0;
}

static int
item_open(void *conf, const char *name, void **ret_base, char *why)
{
	struct tconf *c = conf;
	struct item *it;

	for (uint32_t i = 0; i < c->n_items; i++)
		if (strcmp(c->items[i].name, name) == 0) {
			*ret_base = &c->items[i];
			return 0;
		}
	if (c->n_items == ITEMS_MAX) {
		snprintf(why, FM_CONF_WHY_BYTES, "too many items, at key");
		return -EINVAL;
	}
	it = &c->items[c->n_items++];
	memset(it, 0, sizeof(*it));
	memcpy(it->name, name, strlen(name) + 1);
	fm_conf_defaults_section(&schema, "item", it);
	*ret_base = it;
	return 0;
}

/* size is for kind = large only, whichever comes first. */
static int
item_after_key(
    void *base, const fm_conf_key *k, const fm_conf_given *given, char *why)
{
	const struct item *it = base;

	(void)k;
	if (it->kind == 1 && fm_conf_given_has(given, &keys[16])) {
		snprintf(why, FM_CONF_WHY_BYTES,
		    "a small item takes no size, "
		    "at key");
		return -EINVAL;
	}
	return 0;
}

static size_t
item_count(const void *conf)
{
	return ((const struct tconf *)conf)->n_items;
}

static const void *
item_get(const void *conf, size_t i, const char **ret_name)
{
	const struct item *it = &((const struct tconf *)conf)->items[i];

	*ret_name = it->name;
	return it;
}

/* size is a large item's key only */
static bool
item_dump_key(const void *base, const fm_conf_key *k)
{
	return strcmp(k->name, "size") != 0 ||
	    ((const struct item *)base)->kind == 2;
}

static const fm_conf_section sections[] = {
	{ .name = "main" },
	{ .name = "more" },
	{ .name = "item",
	    .check_name = item_check_name,
	    .open = item_open,
	    .after_key = item_after_key,
	    .count = item_count,
	    .get = item_get,
	    .dump_key = item_dump_key },
};

const fm_conf_schema schema = {
	.conf_size = sizeof(struct tconf),
	.sections = sections,
	.n_sections = FM_ELEMENTSOF(sections),
	.keys = keys,
	.n_keys = FM_ELEMENTSOF(keys),
};

/* ---- helpers ------------------------------------------------------------ */

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/fm-test-conf-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Writes content to dir/name; returns its path (static). */
static const char *
put(const char *name, const char *content)
{
	static char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(
	    fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	return path;
}

static int
load_text(struct tconf *c, const char *text, char *err)
{
	fm_conf_defaults(&schema, c);
	return fm_conf_load(&schema, c, put("t.conf", text), err);
}

/* A file that must not load: its content and the message after
 * "PATH:". */
struct bad {
	const char *content, *msg;
};

static void
check_bad(const struct bad *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char err[FM_CONF_ERROR_BYTES], want[FM_CONF_ERROR_BYTES];
		struct tconf c;

		if (load_text(&c, cases[i].content, err) != -EINVAL)
			fail_msg("case %zu loaded: %s", i, cases[i].content);
		snprintf(want, sizeof(want), "%s/t.conf:%s", dir, cases[i].msg);
		assert_string_equal(err, want);
	}
}

/* ---- tests --------------------------------------------------------------- */

static void
test_conf_defaults(void **state)
{
	struct tconf c;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	fm_conf_defaults(&schema, &c);
	assert_false(c.flag);
	assert_int_equal(c.u32, 3);
	assert_int_equal(c.u64, 0);
	assert_int_equal(c.i32, -1);
	assert_true(c.ratio == 0.5f);
	assert_true(c.scale == 0.9);
	assert_string_equal(c.word, "hi");
	assert_string_equal(c.dir, "/var");
	assert_string_equal(c.opt_dir, "");
	assert_int_equal(c.color, 2);
	assert_int_equal(c.level, 6);
	assert_int_equal(c.hex, 16);
	assert_int_equal(c.n_items, 0); /* zeroed */
}

static void
test_conf_every_type(void **state)
{
	char err[FM_CONF_ERROR_BYTES];
	struct tconf c;

	(void)state;
	assert_int_equal(load_text(&c,
	                     "\xEF\xBB\xBF# a comment\n"
	                     "; another\n"
	                     "[main]\r\n"
	                     "flag = On\n"
	                     "  u32=3600  \n"
	                     "u64: 1000000000000000\n"
	                     "i32 = -5\n"
	                     "i64 = -9223372036854775808\n"
	                     "ratio = 1 ; inline comment\n"
	                     "scale = 0\n"
	                     "word = a;b #c\n"
	                     "[more] # comment\n"
	                     "dir = /a/b\n"
	                     "opt_dir =\n"
	                     "color = blue\n"
	                     "level = 7\n"
	                     "hex = 0xff\n"
	                     "checked = abc\n",
	                     err),
	    0);
	assert_true(c.flag);
	assert_int_equal(c.u32, 3600);
	assert_int_equal(c.u64, 1000000000000000);
	assert_int_equal(c.i32, -5);
	assert_true(c.i64 == INT64_MIN);
	assert_true(c.ratio == 1.0f);
	assert_true(c.scale == 0.0);
	assert_string_equal(c.word, "a;b #c");
	assert_string_equal(c.dir, "/a/b");
	assert_string_equal(c.opt_dir, "");
	assert_int_equal(c.color, 3);
	assert_int_equal(c.level, 7);
	assert_int_equal(c.hex, 255);
	assert_string_equal(c.checked, "abc");
	/* log levels by name are case-insensitive */
	assert_int_equal(load_text(&c, "[more]\nlevel = ERR\n", err), 0);
	assert_int_equal(c.level, 3);
}

static void
test_conf_bound_errors(void **state)
{
	static const struct bad cases[] = {
		{ "[main]\nflag = maybe\n",
		    "2: invalid value 'maybe' (expected yes or no) for key "
		    "'flag' in section [main]" },
		{ "[main]\nu32 = 0\n",
		    "2: invalid value '0' (expected an integer in [1, 3600]) "
		    "for key 'u32' in section [main]" },
		{ "[main]\nu32 = 3601\n",
		    "2: invalid value '3601' (expected an integer in [1, "
		    "3600]) for key 'u32' in section [main]" },
		{ "[main]\nu32 = -1\n",
		    "2: invalid value '-1' (expected an integer in [1, 3600]) "
		    "for key 'u32' in section [main]" },
		{ "[main]\nu32 = 2.5\n",
		    "2: invalid value '2.5' (expected an integer in [1, 3600]) "
		    "for key 'u32' in section [main]" },
		{ "[main]\nu64 = 1000000000000001\n",
		    "2: invalid value '1000000000000001' (expected an integer "
		    "in [0, 1000000000000000]) for key 'u64' in section "
		    "[main]" },
		{ "[main]\nu64 = 99999999999999999999999\n",
		    "2: invalid value '99999999999999999999999' (expected an "
		    "integer in [0, 1000000000000000]) for key 'u64' in "
		    "section [main]" },
		{ "[main]\ni32 = -6\n",
		    "2: invalid value '-6' (expected an integer in [-5, 5]) "
		    "for key 'i32' in section [main]" },
		{ "[main]\ni32 = 6\n",
		    "2: invalid value '6' (expected an integer in [-5, 5]) "
		    "for key 'i32' in section [main]" },
		{ "[main]\ni32 = --1\n",
		    "2: invalid value '--1' (expected an integer in [-5, 5]) "
		    "for key 'i32' in section [main]" },
		{ "[main]\ni64 = 9223372036854775808\n",
		    "2: invalid value '9223372036854775808' (expected an "
		    "integer in [-9223372036854775808, 9223372036854775807]) "
		    "for key 'i64' in section [main]" },
		{ "[main]\nratio = 0\n",
		    "2: invalid value '0' (expected a number in (0, 1]) for "
		    "key 'ratio' in section [main]" },
		{ "[main]\nratio = 1.5\n",
		    "2: invalid value '1.5' (expected a number in (0, 1]) for "
		    "key 'ratio' in section [main]" },
		{ "[main]\nratio = nan\n",
		    "2: invalid value 'nan' (expected a number in (0, 1]) for "
		    "key 'ratio' in section [main]" },
		{ "[main]\nscale = 1\n",
		    "2: invalid value '1' (expected a number in [0, 1)) for "
		    "key 'scale' in section [main]" },
		{ "[main]\nscale = -0.1\n",
		    "2: invalid value '-0.1' (expected a number in [0, 1)) for "
		    "key 'scale' in section [main]" },
		{ "[main]\nword = 12345678\n",
		    "2: a value longer than 7 characters for key 'word' in "
		    "section [main]" },
		{ "[more]\ndir = a/b\n",
		    "2: invalid value 'a/b' (expected an absolute path) for "
		    "key 'dir' in section [more]" },
		{ "[more]\ndir =\n",
		    "2: invalid value '' (expected an absolute path) for key "
		    "'dir' in section [more]" },
		{ "[more]\ndir = /0123456789abcdef\n",
		    "2: a value longer than 15 characters for key 'dir' in "
		    "section [more]" },
		{ "[more]\nopt_dir = a\n",
		    "2: invalid value 'a' (expected an absolute path, or "
		    "empty) for key 'opt_dir' in section [more]" },
		{ "[more]\ncolor = Red\n",
		    "2: invalid value 'Red' (expected red, green or blue) for "
		    "key 'color' in section [more]" },
		{ "[more]\nlevel = crit\n",
		    "2: invalid value 'crit' (expected err, warning, notice, "
		    "info or debug) for key 'level' in section [more]" },
		{ "[more]\nlevel = 8\n",
		    "2: invalid value '8' (expected err, warning, notice, info "
		    "or debug) for key 'level' in section [more]" },
		{ "[more]\nhex = 12\n",
		    "2: invalid value '12' (expected 0x and hexadecimal "
		    "digits) for key 'hex' in section [more]" },
		{ "[more]\nchecked = ABC\n",
		    "2: invalid value 'ABC' (expected lower-case letters) for "
		    "key 'checked' in section [more]" },
		{ "[more]\nchecked = x\n",
		    "2: x is reserved, for key 'checked' in section [more]" },
	};

	(void)state;
	check_bad(cases, FM_ELEMENTSOF(cases));
}

static void
test_conf_syntax_errors(void **state)
{
	char long_line[FM_CONF_LINE_MAX_CHARS + 32], err[FM_CONF_ERROR_BYTES];
	static const struct bad cases[] = {
		/* a broken header is reported on its own line, not as an
		 * unknown key of the section before */
		{ "[main]\nu32 = 2\n[more\ndir = /x\n",
		    "3: malformed section header (expected '[NAME]')" },
		{ "[main] u32 = 2\n",
		    "1: malformed section header: text after ']' (expected "
		    "'[NAME]')" },
		{ "[]\n", "1: malformed section header: no name" },
		{ "[mian]\nu32 = 2\n", "1: unknown section [mian]" },
		{ "[main x]\n", "1: unknown section [main x]" },
		{ "[ main ]\n", "1: unknown section [ main ]" },
		{ "[main]\nu33 = 2\n",
		    "2: unknown key 'u33' in section [main]" },
		{ "[main]\ndir = /x\n",
		    "2: unknown key 'dir' in section [main]" },
		{ "u32 = 2\n", "1: key 'u32' before any [section]" },
		{ "[main]\nu32\n",
		    "2: syntax error (expected '[section]' or 'key = value')" },
		{ "[main]\n = 2\n", "2: syntax error: no key before '='" },
		{ "[main]\nu32 ;x = 2\n",
		    "2: syntax error (expected '[section]' or 'key = value')" },
		/* a key twice in one section of one file */
		{ "[main]\nu32 = 2\n\nu32 = 3\n",
		    "4: key 'u32' in section [main] is already set on line 2" },
		{ "[main]\nu32 = 2\n[more]\ndir = /x\n[main]\nu32 = 3\n",
		    "6: key 'u32' in section [main] is already set on line 2" },
	};
	struct tconf c;

	(void)state;
	check_bad(cases, FM_ELEMENTSOF(cases));
	/* the longest line passes, one more character does not */
	snprintf(long_line, sizeof(long_line), "[main]\n#%0*d\n",
	    FM_CONF_LINE_MAX_CHARS - 1, 0);
	assert_int_equal(load_text(&c, long_line, err), 0);
	snprintf(long_line, sizeof(long_line), "[main]\n#%0*d\n",
	    FM_CONF_LINE_MAX_CHARS, 0);
	assert_int_equal(load_text(&c, long_line, err), -EINVAL);
	assert_non_null(strstr(err,
	    "t.conf:2: line longer than 1024 "
	    "characters"));
}

static void
test_conf_file_errors(void **state)
{
	char err[FM_CONF_ERROR_BYTES], want[FM_CONF_ERROR_BYTES];
	struct tconf c;
	const char *p;
	FILE *f;

	(void)state;
	fm_conf_defaults(&schema, &c);
	assert_int_equal(
	    fm_conf_load(&schema, &c, "/nonexistent/t.conf", err), -ENOENT);
	assert_string_equal(
	    err, "/nonexistent/t.conf: No such file or directory");
	p = put("nul.conf", "");
	f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("[main]\n\0", 1, 8, f), 8);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fm_conf_load(&schema, &c, p, err), -EINVAL);
	snprintf(
	    want, sizeof(want), "%s: contains a NUL byte, not a text file", p);
	assert_string_equal(err, want);
}

static void
test_conf_named_sections(void **state)
{
	static const struct bad cases[] = {
		{ "[item]\nweight = 1\n",
		    "1: section [item] needs a name: [item NAME]" },
		{ "[item a b]\n",
		    "1: bad item name in section header [item a b]" },
		{ "[item a]\nweight = 1\n[main]\n[item a]\nweight = 2\n",
		    "4: second section [item a] in this file (the first is on "
		    "line 1)" },
		{ "[item a]\nweight = 1\nweight = 2\n",
		    "3: key 'weight' in section [item a] is already set on "
		    "line 2" },
		{ "[item a]\nweight = 11\n",
		    "2: invalid value '11' (expected an integer in [0, 10]) "
		    "for key 'weight' in section [item a]" },
		{ "[item a]\ncolor = red\n",
		    "2: unknown key 'color' in section [item a]" },
		{ "[item a]\nkind = x\n[item b]\nkind = x\n",
		    "2: invalid value 'x' (expected small or large) for key "
		    "'kind' in section [item a]" },
		/* the section callbacks: a cap, checks between keys */
		{ "[item a]\nkind = small\n[item b]\nkind = small\n"
		  "[item c]\nkind = small\n[item d]\nkind = small\n",
		    "8: too many items, at key 'kind' in section [item d]" },
		{ "[item a]\nsize = 2\nkind = small\n",
		    "3: a small item takes no size, at key 'kind' in section "
		    "[item a]" },
	};
	char err[FM_CONF_ERROR_BYTES];
	struct tconf c;

	(void)state;
	check_bad(cases, FM_ELEMENTSOF(cases));
	assert_int_equal(load_text(&c,
	                     "[item a]\nkind = large\nsize = 9\n"
	                     "[item empty]\n"
	                     "[item b]\nkind = small\n",
	                     err),
	    0);
	/* an instance is made at its first key, with the defaults */
	assert_int_equal(c.n_items, 2);
	assert_string_equal(c.items[0].name, "a");
	assert_int_equal(c.items[0].kind, 2);
	assert_int_equal(c.items[0].size, 9);
	assert_int_equal(c.items[0].weight, 1);
	assert_string_equal(c.items[1].name, "b");
	assert_int_equal(c.items[1].kind, 1);
}

static void
test_conf_dropins_in_order(void **state)
{
	char err[FM_CONF_ERROR_BYTES], want[FM_CONF_ERROR_BYTES], sub[96];
	char bad[160];
	struct tconf c;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/t.conf.d", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	put("t.conf.d/20-b.conf", "[main]\nu32 = 20\n[item a]\nweight = 3\n");
	put("t.conf.d/10-a.conf",
	    "[main]\nu32 = 10\nword = ten\n[more]\ndir = /ten\n"
	    "[item a]\nweight = 2\n");
	put("t.conf.d/README", "not INI at all\n");
	put("t.conf.d/.hidden.conf", "not INI at all\n");
	put("t.conf.d/30-c.conf~", "not INI at all\n");
	snprintf(sub, sizeof(sub), "%s/t.conf.d/40-dir.conf", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	/* the main file, then 10-a, then 20-b: each overrides the one
	 * before, a named section too */
	assert_int_equal(load_text(&c,
	                     "[main]\nu32 = 1\nflag = yes\n"
	                     "[item a]\nkind = small\nweight = 1\n",
	                     err),
	    0);
	assert_int_equal(c.u32, 20);
	assert_string_equal(c.word, "ten");
	assert_string_equal(c.dir, "/ten");
	assert_true(c.flag);
	assert_int_equal(c.n_items, 1);
	assert_int_equal(c.items[0].kind, 1);
	assert_int_equal(c.items[0].weight, 3);
	/* an error in a drop-in names the drop-in */
	snprintf(bad, sizeof(bad), "%s",
	    put("t.conf.d/15-bad.conf", "[main]\n\nu32 = 0\n"));
	assert_int_equal(load_text(&c, "[main]\n", err), -EINVAL);
	snprintf(want, sizeof(want),
	    "%s:3: invalid value '0' (expected an integer in [1, 3600]) for "
	    "key 'u32' in section [main]",
	    bad);
	assert_string_equal(err, want);
	/* fm_conf_load_file() reads the one file */
	fm_conf_defaults(&schema, &c);
	assert_int_equal(
	    fm_conf_load_file(&schema, &c, put("t.conf", "[main]\n"), err), 0);
	assert_int_equal(c.u32, 3);
}

/* Dumps c into dir/name and returns the text (malloc'd). */
static char *
dump(const struct tconf *c, const char *name)
{
	char err[FM_CONF_ERROR_BYTES], path[128];
	uint8_t *text;
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fm_conf_dump(&schema, c, f, err), 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &text, &n), 0);
	return (char *)text;
}

static void
test_conf_dump_round_trip(void **state)
{
	char err[FM_CONF_ERROR_BYTES], path[128];
	struct tconf c, back;
	char *text, *again;

	(void)state;
	assert_int_equal(load_text(&c,
	                     "[main]\nflag = yes\nu32 = 77\nu64 = 12345\n"
	                     "i32 = -4\ni64 = 9223372036854775807\n"
	                     "ratio = 0.1\nscale = 0.3\nword = a;b\n"
	                     "[more]\nopt_dir = /o\ncolor = red\n"
	                     "level = debug\nhex = 0xabc\nchecked = zz\n"
	                     "[item big]\nkind = large\nsize = 4\n"
	                     "[item tiny]\nkind = small\nweight = 0\n",
	                     err),
	    0);
	text = dump(&c, "dump.conf");
	/* descriptions, defaults, what a reload applies; only the keys an
	 * instance takes */
	assert_non_null(strstr(text,
	    "[main]\n# a flag (default: no)\n"
	    "flag = yes\n"));
	assert_non_null(strstr(text,
	    "# an unsigned (default: 3; a reload "
	    "applies it)\nu32 = 77\n"));
	assert_non_null(strstr(text,
	    "# a path or empty (default: empty)\n"
	    "opt_dir = /o\n"));
	assert_non_null(strstr(text, "ratio = 0.1\n"));
	assert_non_null(strstr(text, "scale = 0.3\n"));
	assert_non_null(strstr(text, "[item big]\n"));
	assert_non_null(strstr(text, "size = 4\n"));
	assert_non_null(strstr(text,
	    "[item tiny]\n# an item's weight (default: 1)\nweight = 0\n"
	    "# an item's kind (default: none)\nkind = small\n"));
	assert_null(strstr(strstr(text, "[item tiny]"), "size ="));
	/* loads back to the same bytes, and dumps to the same text */
	snprintf(path, sizeof(path), "%s/dump.conf", dir);
	fm_conf_defaults(&schema, &back);
	assert_int_equal(fm_conf_load(&schema, &back, path, err), 0);
	assert_memory_equal(&back, &c, sizeof(c));
	again = dump(&back, "again.conf");
	assert_string_equal(again, text);
	free(again);
	free(text);
	/* the defaults as well */
	fm_conf_defaults(&schema, &c);
	text = dump(&c, "dump.conf");
	fm_conf_defaults(&schema, &back);
	back.u32 = 9;
	assert_int_equal(fm_conf_load(&schema, &back, path, err), 0);
	assert_memory_equal(&back, &c, sizeof(c));
	free(text);
}

static void
test_conf_dump_refuses_what_ini_cannot_carry(void **state)
{
	static const char *const words[] = { " a", "a ", "a ;b", "a\nb" };
	char err[FM_CONF_ERROR_BYTES];
	struct tconf c;

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(words); i++) {
		FILE *f = fopen("/dev/null", "w");

		assert_non_null(f);
		fm_conf_defaults(&schema, &c);
		memcpy(c.word, words[i], strlen(words[i]) + 1);
		assert_int_equal(fm_conf_dump(&schema, &c, f, err), -EINVAL);
		assert_string_equal(err,
		    "the value of key 'word' in section [main] cannot be "
		    "written as INI");
		fclose(f);
	}
}

static void
test_conf_reload(void **state)
{
	char restart[64];
	struct tconf running, next;

	(void)state;
	fm_conf_defaults(&schema, &running);
	fm_conf_defaults(&schema, &next);
	assert_int_equal(
	    fm_conf_reload(&schema, &running, &next, restart, sizeof(restart)),
	    0);
	assert_string_equal(restart, "");
	next.u32 = 5;                /* a reload applies it */
	memcpy(next.dir, "/new", 5); /* this one too */
	next.flag = true;            /* needs a restart */
	next.hex = 1;                /* a restart too */
	memcpy(next.word, "xy", 3);  /* and this one */
	next.items[0].weight = 7;    /* named: the caller's */
	assert_int_equal(
	    fm_conf_reload(&schema, &running, &next, restart, sizeof(restart)),
	    3);
	assert_string_equal(restart, "[main] flag, word, [more] hex");
	assert_int_equal(running.u32, 5);
	assert_string_equal(running.dir, "/new");
	assert_false(running.flag);
	assert_int_equal(running.hex, 16);
	assert_int_equal(running.items[0].weight, 0);
	/* a short buffer truncates the list, the count stays */
	assert_int_equal(
	    fm_conf_reload(&schema, &running, &next, restart, 8), 3);
	assert_string_equal(restart, "[main] ");
}

/* Each test in a directory of its own. */
#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_conf_defaults),
		TEST(test_conf_every_type),
		TEST(test_conf_bound_errors),
		TEST(test_conf_syntax_errors),
		TEST(test_conf_file_errors),
		TEST(test_conf_named_sections),
		TEST(test_conf_dropins_in_order),
		TEST(test_conf_dump_round_trip),
		TEST(test_conf_dump_refuses_what_ini_cannot_carry),
		TEST(test_conf_reload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
