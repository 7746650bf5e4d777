/*
 * fedmon-replay's input: rows of comma-separated floats without a header.
 * A pure parser (bytes in, matrix out) plus a file-reading convenience, so
 * tests and fuzzers call it directly.
 *
 * Grammar: lines end in "\n"; a trailing "\r" is dropped; lines holding
 * only spaces and tabs are blank and skipped (they still count for line
 * numbers). Every other line is a row of fields separated by ",", each a
 * decimal number (digits, sign, ".", exponent; surrounding spaces and
 * tabs allowed) whose value is finite as a float. Every row has as many
 * fields as the first. Parsing uses strtod, so the C locale is assumed.
 */
#ifndef FM_REPLAY_CSV_H
#define FM_REPLAY_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define FM_REPLAY_CSV_MAX_BYTES       (1024u << 20) /* 1 GiB of text */
#define FM_REPLAY_CSV_MAX_COLS        4096u
#define FM_REPLAY_CSV_MAX_ROWS        10000000u
#define FM_REPLAY_CSV_MAX_CELLS       (1u << 28) /* 1 GiB of floats */
#define FM_REPLAY_CSV_MAX_FIELD_BYTES 128u       /* characters in one field */
#define FM_REPLAY_CSV_WHY_BYTES       128

/* A parsed file: rows x cols floats, row-major, all finite. */
typedef struct fm_replay_csv {
	size_t rows;
	size_t cols;
	float *v; /* rows * cols; part of the same allocation */
} fm_replay_csv;

/* Where and why parsing failed, for "FILE:LINE: why" messages. */
typedef struct fm_replay_csv_error {
	uint64_t line;   /* 1-based; 0 when the error is not about a line */
	uint32_t column; /* 1-based field; 0 when not about one field */
	char why[FM_REPLAY_CSV_WHY_BYTES]; /* e.g. "non-finite field 'nan'" */
} fm_replay_csv_error;

/*
 * Parses buf[len] (need not be NUL-terminated). On success *ret owns a new
 * matrix (fm_replay_csv_free()). On failure *ret is untouched and, when
 * err is not NULL, *err says where and why. Returns 0;
 * -EINVAL for a malformed line (non-numeric, non-finite, empty or too
 * long field, or a row with another field count than the first);
 * -ENODATA when there is no row at all; -EFBIG past
 * FM_REPLAY_CSV_MAX_BYTES; -E2BIG past the column, row or cell cap
 * (checked before the matrix is allocated); -ENOMEM. Thread-safe.
 */
int fm_replay_csv_parse(const char *buf, size_t len, fm_replay_csv_error *err,
    fm_replay_csv **ret) FM_WUR;

/*
 * Reads the file at path whole (at most FM_REPLAY_CSV_MAX_BYTES, checked
 * before reading when its size is known) and parses it. Returns as
 * fm_replay_csv_parse(), or the negative errno of open/read (-ENOENT,
 * -EACCES, -EISDIR…), with err->line 0 then. Thread-safe.
 */
int fm_replay_csv_read_file(
    const char *path, fm_replay_csv_error *err, fm_replay_csv **ret) FM_WUR;

/* Frees m (NULL-safe); returns NULL. */
fm_replay_csv *fm_replay_csv_free(fm_replay_csv *m);

#endif
