/*
 * common/conf.h: the one table-driven INI engine behind agent.conf and
 * aggregator.conf (included by common/common.h).
 *
 * A daemon declares every key once, in one array of fm_conf_key: its
 * section, name, type and bounds, default, whether a reload applies it,
 * and a one-line description. From that table the engine parses a file
 * into the daemon's struct, derives the error texts ("expected an integer
 * in [1, 3600]"), fills in the defaults and writes the effective
 * configuration back as INI (--dump-config).
 *
 * The syntax is the one inih read before, minus its quirks: "[section]",
 * "key = value" (or "key: value"), whole-line comments starting with '#'
 * or ';', inline comments starting with ';' after a blank, a UTF-8 byte
 * order mark; blanks around names and values are dropped. Refused, each
 * naming file and line: a malformed section header, an unknown section or
 * key, a key given twice in one section of one file, a line longer than
 * FM_CONF_LINE_MAX_CHARS. After the main file NAME, the drop-ins (the
 * *.conf files in NAME.d/) are read in lexical order, as systemd does: a
 * later file overrides a key of an earlier one.
 *
 * Repeated named sections ("[action NAME]", each an instance of the
 * section "action") are declared with fm_conf_section's callbacks; their
 * keys' offsets are in the instance's struct.
 */
#ifndef FM_COMMON_CONF_H
#define FM_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/common.h"

#define FM_CONF_ERROR_BYTES    512  /* a complete error message */
#define FM_CONF_WHY_BYTES      256  /* a callback's reason */
#define FM_CONF_LINE_MAX_CHARS 1024 /* a line, without its newline */
#define FM_CONF_FILE_MAX_BYTES (1u << 20)
#define FM_CONF_DROPINS_MAX    128 /* drop-in files read */
#define FM_CONF_KEYS_MAX       128 /* keys in one table */

/* The names the daemons' headers used before the engine moved here. */
#define FM_INI_ERROR_BYTES FM_CONF_ERROR_BYTES
#define FM_INI_WHY_BYTES   FM_CONF_WHY_BYTES

typedef enum fm_conf_type {
	FM_CONF_BOOL = 1,  /* bool: yes/no, true/false, on/off, 1/0 */
	FM_CONF_UINT,      /* uint32_t or uint64_t (by size), in range.u */
	FM_CONF_INT,       /* int32_t or int64_t (by size), in range.i */
	FM_CONF_FLOAT,     /* float or double (by size), in range.f; an end
	                    * is open with FM_CONF_MIN_OPEN, _MAX_OPEN */
	FM_CONF_STRING,    /* char[size]; then check(), when given */
	FM_CONF_PATH,      /* char[size]: an absolute path */
	FM_CONF_ENUM,      /* int: one of names[] */
	FM_CONF_LOG_LEVEL, /* int: a priority in range.i, by name or digit */
	FM_CONF_CUSTOM,    /* parse() and format() */
} fm_conf_type;

/* fm_conf_key.flags */
#define FM_CONF_RELOAD   (1u << 0) /* a reload applies it */
#define FM_CONF_EMPTY_OK (1u << 1) /* PATH: "" too */
#define FM_CONF_MIN_OPEN (1u << 2) /* FLOAT: min itself excluded */
#define FM_CONF_MAX_OPEN (1u << 3) /* FLOAT: max itself excluded */

/* One name of an FM_CONF_ENUM; a list ends with { NULL, 0 }. */
typedef struct fm_conf_name {
	const char *name;
	int value;
} fm_conf_name;

typedef struct fm_conf_key fm_conf_key;

struct fm_conf_key {
	const char *section; /* "agent"; "action" for every [action NAME] */
	const char *name;
	fm_conf_type type;
	size_t offset, size; /* the field, in the section's struct */
	union {
		struct {
			uint64_t min, max;
		} u;
		struct {
			int64_t min, max;
		} i;
		struct {
			double min, max;
		} f;
	} range; /* inclusive unless a FM_CONF_*_OPEN flag says */
	const fm_conf_name *names; /* ENUM */
	/* STRING (optional): 0, or a negative errno when value is not valid;
	 * may explain in why[FM_CONF_WHY_BYTES] (then used as "WHY 'key' in
	 * section [s]") instead of the derived "invalid value" text. */
	int (*check)(const char *value, char *why);
	/* CUSTOM: sets the field(s) in base (the section's struct) from
	 * value; 0 or a negative errno, why as check(). */
	int (*parse)(
	    const fm_conf_key *k, const char *value, void *base, char *why);
	/* CUSTOM: writes the value as the file spells it into buf[size];
	 * 0 or a negative errno. */
	int (*format)(
	    const fm_conf_key *k, const void *base, char *buf, size_t size);
	const char *expect; /* STRING with check, CUSTOM: valid values */
	const char *def;    /* the default as a file spells it; NULL in a
	                     * named section: the field starts zeroed */
	unsigned flags;     /* FM_CONF_RELOAD, ... */
	const char *description; /* one line */
};

/* The keys one file gave for one section instance (see after_key). */
typedef struct fm_conf_given fm_conf_given;

/* Whether the file being read set key k (of the same section) already. */
bool fm_conf_given_has(const fm_conf_given *g, const fm_conf_key *k);

typedef struct fm_conf_section {
	const char *name;
	/* A named section ([NAME INSTANCE]) has open(); the rest are
	 * optional. A callback's why[FM_CONF_WHY_BYTES] is completed as
	 * "PATH:LINE: WHY 'KEY' in section [NAME INSTANCE]" (check_name's:
	 * "PATH:LINE: WHY in section header [NAME INSTANCE]"). */
	/* At the header: whether instance is a valid name (0 or -EINVAL
	 * with why). */
	int (*check_name)(const char *instance, char *why);
	/* At the instance's first key in a file: finds or adds it in conf;
	 * *ret_base is the struct its keys' offsets are in. A new instance
	 * is zeroed and then given the keys' defaults with
	 * fm_conf_defaults_section(). 0 or -EINVAL with why. */
	int (*open)(
	    void *conf, const char *instance, void **ret_base, char *why);
	/* After each key of the section was set: checks it against the
	 * others (0 or -EINVAL with why). */
	int (*after_key)(void *base, const fm_conf_key *k,
	    const fm_conf_given *given, char *why);
	/* For the dump: the instances (count, then each with its name). */
	size_t (*count)(const void *conf);
	const void *(*get)(const void *conf, size_t i, const char **ret_name);
	/* For the dump: whether key k belongs in the instance's text. */
	bool (*dump_key)(const void *base, const fm_conf_key *k);
} fm_conf_section;

/* A daemon's whole declaration. Sections are dumped in this order. */
typedef struct fm_conf_schema {
	size_t conf_size; /* sizeof the daemon's struct */
	const fm_conf_section *sections;
	size_t n_sections;
	const fm_conf_key *keys; /* at most FM_CONF_KEYS_MAX */
	size_t n_keys;
} fm_conf_schema;

/* Zeroes conf and sets every key of the plain (unnamed) sections to its
 * default. A default that does not parse is a programmer error
 * (assert). */
void fm_conf_defaults(const fm_conf_schema *s, void *conf);

/* Sets every key of section (named or not) that has a default to it, in
 * base (the section's struct). */
void fm_conf_defaults_section(
    const fm_conf_schema *s, const char *section, void *base);

/*
 * Reads one INI file over conf: keys present override, keys absent keep
 * their value. Returns 0; the negative errno of reading it (-ENOENT,
 * -EACCES, -EFBIG over FM_CONF_FILE_MAX_BYTES, ...); -ENOMEM; or -EINVAL
 * for bad content. On failure conf may be partly changed and
 * err[FM_CONF_ERROR_BYTES] holds a message naming file, line and key,
 * e.g. "agent.conf:12: unknown key 'intervl' in section [agent]".
 * Thread-safe (no global state).
 */
int fm_conf_load_file(
    const fm_conf_schema *s, void *conf, const char *path, char *err) FM_WUR;

/*
 * Reads path as fm_conf_load_file(), then the drop-ins: the regular *.conf
 * files in path.d/ (names not starting with '.'), in strcmp() order. A
 * missing path.d is fine. Errors as fm_conf_load_file() (naming the
 * drop-in), also those of reading the directory, and -E2BIG for more
 * than FM_CONF_DROPINS_MAX drop-ins.
 */
int fm_conf_load(
    const fm_conf_schema *s, void *conf, const char *path, char *err) FM_WUR;

/*
 * Writes conf as an INI file that loads back to the same values: every
 * section and key in table order, each key after a comment with its
 * description, its default and whether a reload applies it. Returns 0,
 * -EINVAL (a value the syntax cannot carry, such as one with a newline or
 * with blanks at either end: err says which key) or -EIO.
 */
int fm_conf_dump(
    const fm_conf_schema *s, const void *conf, FILE *f, char *err) FM_WUR;

/*
 * A reload: copies the keys marked FM_CONF_RELOAD of the plain sections
 * from next into running, and lists the other keys whose value differs
 * ("[agent] interval_ms, [learn] alarm_samples", truncated to fit
 * restart[size]). Named sections are the caller's. Returns how many
 * differ.
 */
unsigned fm_conf_reload(const fm_conf_schema *s, void *running,
    const void *next, char *restart, size_t size);

/* What a valid value of k looks like, derived from its type and bounds
 * ("an integer in [100, 60000]", "yes or no"), into buf[size]. */
void fm_conf_key_expect(const fm_conf_key *k, char *buf, size_t size);

#endif
