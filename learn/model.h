/*
 * learn/model.h: the model file container: a versioned, little-endian,
 * checksummed list of typed sections, its writer and its reader
 * (learn/serial.c).
 * Part of the learn module's public header: other folders include
 * "learn/learn.h", never this file.
 */
#ifndef FM_LEARN_MODEL_H
#define FM_LEARN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/*
 * A model file is a header, a list of typed sections and a checksum, all
 * little-endian whatever the host:
 *
 *   off  size  field
 *     0     8  magic "\x89FMM\r\n\x1a\n"
 *     8     4  format version (FM_LEARN_MODEL_VERSION)
 *    12     4  flags (0; reserved)
 *    16     4  model kind (FM_LEARN_KIND_…, never 0)
 *    20     4  feature-schema version
 *    24     4  feature count
 *    28     4  layout id (fm_learn_layout_id_compute(); 0 = no parameters)
 *    32     4  section count
 *    36     4  reserved (0)
 *    40     8  total file length in bytes, checksum included
 *    48        sections, each: u32 id, u16 type, u16 flags, u64 count,
 *              then count elements (f32/u32: 4 bytes, u64/f64: 8 bytes)
 *   len-4   4  CRC-32C of every byte before it
 *
 * Section ids are strictly increasing (so one model has exactly one byte
 * encoding). Scalar sections hold exactly one element.
 *
 * Caps: FM_LEARN_MODEL_MAX_BYTES per file, FM_LEARN_MODEL_MAX_SECTIONS
 * sections, FM_LEARN_MODEL_MAX_ELEMS elements per section. The decoder
 * allocates nothing; it checks the file cap, the magic, the version, the
 * length, the checksum, then each section (its caps before its bounds),
 * so a claimed length is never trusted before it is checked.
 *
 * Errors, the same from the writer and the decoder where they apply:
 *   -EPROTO           not a model file (bad magic: a foreign file)
 *   -EBADMSG          truncated, trailing bytes, checksum mismatch, kind
 *                     0, a reserved field not 0, or a malformed section
 *                     table (unknown type or flag, scalar with count != 1,
 *                     ids not increasing, sections not filling the file)
 *   -EPROTONOSUPPORT  format version other than FM_LEARN_MODEL_VERSION
 *   -EMSGSIZE         a length beyond a cap
 *   -EDOM             a NaN or infinity in a FM_LEARN_SECTION_PARAM section
 *   -ESTALE           a valid file for another model: kind, schema
 *                     version, feature count or layout id differ from
 *                     what the caller expects, or (getters) a section has
 *                     another type or element count than asked for
 *   -ENOENT           (getters) no section with that id
 */

#define FM_LEARN_MODEL_MAGIC_BYTES          8
#define FM_LEARN_MODEL_VERSION              1u
#define FM_LEARN_MODEL_HEADER_BYTES         48
#define FM_LEARN_MODEL_SECTION_HEADER_BYTES 16
#define FM_LEARN_MODEL_TRAILER_BYTES        4
#define FM_LEARN_MODEL_MAX_BYTES            (64u << 20) /* 64 MiB per file */
#define FM_LEARN_MODEL_MAX_SECTIONS         1024u
#define FM_LEARN_MODEL_MAX_ELEMS            10000000u /* per section */

/* The magic, for callers that sniff a file before reading it whole. */
extern const uint8_t fm_learn_model_magic[FM_LEARN_MODEL_MAGIC_BYTES];

/* Section element types (the on-disk u16). */
enum fm_learn_section_type {
	FM_LEARN_SECTION_F32 = 1, /* array of IEEE-754 binary32 */
	FM_LEARN_SECTION_U32 = 2, /* scalar */
	FM_LEARN_SECTION_U64 = 3, /* scalar */
	FM_LEARN_SECTION_F64 = 4, /* scalar, IEEE-754 binary64 */
};

/* Section flag: this f32 section is part of the model's shared parameter
 * vector (what federation exchanges). Its values must be finite. The flat
 * vector is the concatenation of the PARAM sections in id order. */
#define FM_LEARN_SECTION_PARAM 0x0001u

/* What a file says it holds. Kinds (FM_LEARN_KIND_…, defined by each
 * model's section of this header) are never 0. */
typedef struct fm_learn_model_info {
	uint32_t kind;
	uint32_t schema_version; /* feature schema the model was trained on */
	uint32_t n_features;
	uint32_t layout_id; /* 0 when the model has no PARAM sections */
} fm_learn_model_info;

/* One section's description, as the decoder found it. */
typedef struct fm_learn_section_info {
	uint32_t id;
	uint16_t type;  /* enum fm_learn_section_type */
	uint16_t flags; /* FM_LEARN_SECTION_PARAM or 0 */
	size_t count;   /* elements; 1 for scalars */
} fm_learn_section_info;

/*
 * CRC-32C (Castagnoli, reflected, as in iSCSI and ext4): pass crc = 0 to
 * start and the previous result to continue over more bytes.
 * crc32c("123456789") = 0xe3069283. Pure; thread-safe.
 */
uint32_t fm_learn_crc32c_update(uint32_t crc, const void *buf, size_t len);

/*
 * The layout id of a model: a hash of its kind, feature-schema version and
 * the dimensions that fix the order and length of its flat parameter
 * vector (e.g. { n_features, window, hidden }). Two hosts whose layout ids
 * match can add their vectors element by element. Never 0; the same on
 * every host (computed over a little-endian encoding). Pure; thread-safe.
 */
uint32_t fm_learn_layout_id_compute(uint32_t kind, uint32_t schema_version,
    const uint32_t *dims, size_t n_dims);

/*
 * Writer: builds a model file into a caller buffer (nothing allocated) or
 * into a growing heap buffer. The fields are private. The first error is
 * sticky: later calls return it and do nothing, so a caller may check
 * only _finish(). Not thread-safe (one writer, one thread).
 */
typedef struct fm_learn_model_writer {
	uint8_t *buf;
	size_t len;
	size_t cap;
	uint32_t n_sections;
	uint32_t last_id;
	bool growable;
	int error;
} fm_learn_model_writer;

/*
 * Starts a file holding info. With buf == NULL the writer grows its own
 * heap buffer (cap ignored); otherwise it writes into buf[cap], which the
 * caller keeps owning and must keep alive until _finish() or _release().
 * Returns 0; -EINVAL when info->kind is 0; -ENOBUFS when cap cannot hold
 * the header; -ENOMEM. Whatever it returns, *w must later be passed to
 * fm_learn_model_writer_release() (a no-op after a successful _finish()).
 */
int fm_learn_model_writer_init(fm_learn_model_writer *w,
    const fm_learn_model_info *info, uint8_t *buf, size_t cap) FM_WUR;

/*
 * Appends an f32 array section (copied, converted to little-endian).
 * flags is 0 or FM_LEARN_SECTION_PARAM. Returns 0; -EINVAL for an id not
 * above the previous one or an unknown flag; -EDOM for a non-finite value
 * in a PARAM section; -EMSGSIZE past a cap; -ENOBUFS when the caller
 * buffer is full; -ENOMEM; or an earlier sticky error.
 */
int fm_learn_model_writer_put_f32(fm_learn_model_writer *w, uint32_t id,
    uint16_t flags, const float *v, size_t n) FM_WUR;

/* Append a scalar section. Errors as fm_learn_model_writer_put_f32(). */
int fm_learn_model_writer_put_u32(
    fm_learn_model_writer *w, uint32_t id, uint32_t v) FM_WUR;
int fm_learn_model_writer_put_u64(
    fm_learn_model_writer *w, uint32_t id, uint64_t v) FM_WUR;
int fm_learn_model_writer_put_f64(
    fm_learn_model_writer *w, uint32_t id, double v) FM_WUR;

/*
 * Completes the file (section count, length, checksum). On success
 * *ret_buf and *ret_len describe the file: the caller's own buffer, or,
 * for a growing writer, a heap buffer the caller now owns and must free().
 * The writer then holds nothing. Returns 0, -ENOBUFS (no room for the
 * checksum), or the sticky error; on failure nothing is handed over.
 */
int fm_learn_model_writer_finish(
    fm_learn_model_writer *w, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/* Frees a growing writer's buffer and resets *w; NULL-safe, idempotent. */
void fm_learn_model_writer_release(fm_learn_model_writer *w);

/*
 * Reader: a validated view of a model file. It borrows the caller's
 * bytes, which must stay alive and unchanged while it is used. The fields
 * are private. Const functions on one reader are thread-safe.
 */
typedef struct fm_learn_model_reader {
	const uint8_t *buf;
	size_t len;
	uint32_t n_sections;
	fm_learn_model_info info;
} fm_learn_model_reader;

/*
 * Validates buf[len] whole (magic, version, length, checksum, section
 * table, caps, PARAM values finite) without allocating, then, when expect
 * is not NULL, compares the header with it: each non-zero field of expect
 * must match (-ESTALE otherwise). On success fills *ret. Errors: see the
 * table above. Thread-safe.
 */
int fm_learn_model_decode(const uint8_t *buf, size_t len,
    const fm_learn_model_info *expect, fm_learn_model_reader *ret) FM_WUR;

/* The header of a decoded file. */
const fm_learn_model_info *fm_learn_model_reader_info(
    const fm_learn_model_reader *r);

/* The number of sections in a decoded file. */
uint32_t fm_learn_model_reader_section_count(const fm_learn_model_reader *r);

/* Describes the index-th section (0-based, in file order). Returns 0 or
 * -ENOENT when index is out of range. */
int fm_learn_model_reader_section_at(const fm_learn_model_reader *r,
    uint32_t index, fm_learn_section_info *ret) FM_WUR;

/* Describes the section with id. Returns 0 or -ENOENT. */
int fm_learn_model_reader_find(const fm_learn_model_reader *r, uint32_t id,
    fm_learn_section_info *ret) FM_WUR;

/*
 * Copies f32 section id, which must hold exactly n elements, into
 * dst[n] in host order. Returns 0, -ENOENT, or -ESTALE (another type or
 * count); dst is written only on success.
 */
int fm_learn_model_reader_get_f32(
    const fm_learn_model_reader *r, uint32_t id, float *dst, size_t n) FM_WUR;

/* Reads a scalar section. Returns 0, -ENOENT or -ESTALE (another type). */
int fm_learn_model_reader_get_u32(
    const fm_learn_model_reader *r, uint32_t id, uint32_t *ret) FM_WUR;
int fm_learn_model_reader_get_u64(
    const fm_learn_model_reader *r, uint32_t id, uint64_t *ret) FM_WUR;
int fm_learn_model_reader_get_f64(
    const fm_learn_model_reader *r, uint32_t id, double *ret) FM_WUR;

/* The length of the file's flat parameter vector (PARAM sections). */
size_t fm_learn_model_reader_params_count(const fm_learn_model_reader *r);

/*
 * Copies the flat parameter vector (the PARAM sections in id order) into
 * dst[cap]; its layout id is fm_learn_model_reader_info(r)->layout_id.
 * Returns 0 and *ret_n, or -ENOBUFS when cap is too small.
 */
int fm_learn_model_reader_params_export(const fm_learn_model_reader *r,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

#endif
