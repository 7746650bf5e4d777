/*
 * learn: on-device models and their maths. Schema-agnostic (the feature
 * count is a run-time parameter), all dense maths through cblas, no I/O,
 * no sockets, no logging above debug. Callers own every buffer they pass.
 */
#ifndef FM_LEARN_H
#define FM_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

/* ---- model container: versioned, little-endian, checksummed ---------- */
/* (section owned by learn/serial.c; flat vectors by learn/params.c) */

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

/*
 * A model's parameters in memory, as blocks in flat-vector order (the
 * order the model writes its PARAM sections in). The model owns v.
 */
typedef struct fm_learn_param_block {
	float *v;
	size_t n;
} fm_learn_param_block;

/* The flat vector length of blocks[n_blocks]. Pure. */
size_t fm_learn_params_count(
    const fm_learn_param_block *blocks, size_t n_blocks);

/*
 * Gathers blocks[n_blocks] into one flat vector dst[cap]. Returns 0 and
 * *ret_n, or -ENOBUFS when cap is too small (dst untouched). Thread-safe
 * against other readers of the blocks.
 */
int fm_learn_params_export(const fm_learn_param_block *blocks, size_t n_blocks,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

/*
 * Scatters the flat vector src[n], which claims layout src_layout_id, into
 * blocks[n_blocks] of a model whose layout is layout_id. All or nothing:
 * returns 0; -ESTALE when the layout ids differ; -EINVAL when n is not the
 * blocks' total length; -EDOM when src holds a NaN or infinity. Nothing is
 * written on failure. The caller serialises it against users of the model.
 */
int fm_learn_params_import(const fm_learn_param_block *blocks, size_t n_blocks,
    uint32_t layout_id, uint32_t src_layout_id, const float *src,
    size_t n) FM_WUR;

/* ---- thresholds: POT/SPOT and the alarm state machine ---------------- */
/* (section owned by learn/threshold.c) */

/*
 * An unsupervised threshold on anomaly scores by peaks over threshold
 * (SPOT, and DSPOT with drift_window > 0; Siffer et al., KDD 2017).
 * Calibration sets an initial threshold t at a high empirical quantile,
 * fits a generalised Pareto distribution to the excesses over t (maximum
 * likelihood, else method of moments, else an exponential tail) and sets
 * the alarm threshold z where a score exceeds it with probability risk.
 * Each later score below z that exceeds t joins the peaks (a ring of
 * max_peaks, so memory is fixed) and z is refit. A lone exceedance of z
 * (the scores before and after it are below z) joins them too, censored:
 * known only to exceed z. Without it the fit would see a tail cut at z,
 * lower z, cut more, and spiral down (plain SPOT's bias). With fewer
 * than min_peaks uncensored peaks z is a robust quantile instead:
 * median + Phi^-1(1 - risk) * 1.4826 * MAD of the calibration scores (at
 * least t).
 *
 * On top sits the alarm: raised once min_duration consecutive scores
 * exceed z, cleared by the first score below the clear level
 * z - (1 - clear_ratio) * |z| (= z * clear_ratio for z >= 0). Nothing is
 * learned while an alarm is raised, nor from runs of exceedances, so an
 * ongoing incident is never learned as normal. NaN and infinite scores
 * are ignored: never learned, never raise an alarm, and they break a run
 * of exceedances; they do not clear a raised alarm.
 *
 * With drift_window = d > 0 every comparison is on the residual score -
 * (mean of the last d learned scores), so a slow drift in the score level
 * does not alarm. All arithmetic is deterministic; updating never
 * allocates. A pot is not thread-safe: one thread at a time, or a lock.
 */

/* The model-file kind of a file holding only a threshold's state. */
#define FM_LEARN_KIND_POT 1u

#define FM_LEARN_POT_MAX_PEAKS        1000000u
#define FM_LEARN_POT_MAX_DRIFT_WINDOW 1000000u
#define FM_LEARN_POT_MAX_DURATION     1000000u
#define FM_LEARN_POT_MIN_CALIBRATION  16u       /* finite scores, after d */
#define FM_LEARN_POT_MAX_CALIBRATION  10000000u /* scores passed */
/* Section ids base … base + FM_LEARN_POT_SECTIONS - 1 hold a saved pot. */
#define FM_LEARN_POT_SECTIONS 32u

typedef struct fm_learn_pot fm_learn_pot;

typedef struct fm_learn_pot_config {
	double init_quantile;  /* level of t, in (0, 1); default 0.98 */
	double risk;           /* q, in (0, 1 - init_quantile); default 1e-4 */
	double clear_ratio;    /* in (0, 1]; default 0.8 */
	uint32_t min_duration; /* samples above z to raise, >= 1; default 3 */
	uint32_t max_peaks;    /* peaks kept, min_peaks…; default 1000 */
	uint32_t min_peaks;    /* fewer: robust quantile, >= 3; default 20 */
	uint32_t drift_window; /* samples, 0 = no drift removal; default 0 */
} fm_learn_pot_config;

/* How the current threshold was obtained. */
enum fm_learn_pot_fit {
	FM_LEARN_POT_FIT_NONE = 0,   /* not calibrated */
	FM_LEARN_POT_FIT_MLE = 1,    /* GPD by maximum likelihood */
	FM_LEARN_POT_FIT_MOM = 2,    /* GPD by the method of moments */
	FM_LEARN_POT_FIT_EXP = 3,    /* exponential tail, gamma = 0 */
	FM_LEARN_POT_FIT_ROBUST = 4, /* too few peaks: median + k MAD */
};

/* Flags returned by fm_learn_pot_update(). */
#define FM_LEARN_POT_ALARM   0x1u /* the alarm is raised after this score */
#define FM_LEARN_POT_ABOVE   0x2u /* the score exceeded the threshold */
#define FM_LEARN_POT_PEAK    0x4u /* a peak was learned; z moved */
#define FM_LEARN_POT_SKIPPED 0x8u /* non-finite, or not calibrated */

typedef struct fm_learn_pot_status {
	bool ready; /* calibrated */
	bool alarm;
	uint32_t run; /* consecutive scores above the threshold */
	enum fm_learn_pot_fit fit;
	double threshold;      /* z, in score units (drift mean added) */
	double clear_level;    /* in score units */
	double init_threshold; /* t, in residual units */
	double gamma, sigma;   /* GPD shape and scale (0 unless a GPD fit) */
	uint64_t n_obs;        /* scores learned, calibration included */
	uint64_t n_peaks;      /* of which above t */
	uint32_t peaks_held;   /* peaks in the ring */
} fm_learn_pot_status;

/* Fills *ret with the defaults above. */
void fm_learn_pot_config_default(fm_learn_pot_config *ret);

/* Whether cfg holds values fm_learn_pot_new() accepts. */
bool fm_learn_pot_config_is_valid(const fm_learn_pot_config *cfg);

/*
 * Allocates an uncalibrated pot (every buffer it will ever use) with a
 * copy of cfg. On success *ret owns it (fm_learn_pot_free()). Returns 0,
 * -EINVAL for an invalid cfg, -ENOMEM.
 */
int fm_learn_pot_new(const fm_learn_pot_config *cfg, fm_learn_pot **ret) FM_WUR;

/* Frees p (NULL-safe); returns NULL. */
fm_learn_pot *fm_learn_pot_free(fm_learn_pot *p);

/*
 * (Re)calibrates p from scores[n] in time order, e.g. the detector's
 * scores on its training data; non-finite scores are skipped. Clears the
 * alarm and all learned state. Allocates scratch for the call (sorting).
 * Returns 0; -EMSGSIZE when n > FM_LEARN_POT_MAX_CALIBRATION; -ENODATA
 * with fewer than drift_window + FM_LEARN_POT_MIN_CALIBRATION finite
 * scores; -ENOMEM. On failure p is unchanged.
 */
int fm_learn_pot_calibrate(
    fm_learn_pot *p, const float *scores, size_t n) FM_WUR;

/*
 * Feeds the next score: decides the alarm, then learns the score when it
 * is normal (see above). Returns FM_LEARN_POT_* flags; ALARM is the
 * detector's 0/1 output for this sample. An uncalibrated pot returns
 * FM_LEARN_POT_SKIPPED. Never allocates; O(1) except on a peak, which
 * costs O(1) amortised (a full refit, O(peaks held), every peaks held/32
 * peaks).
 */
unsigned fm_learn_pot_update(fm_learn_pot *p, float score);

/* The current threshold z in score units (INFINITY when not calibrated). */
double fm_learn_pot_threshold_get(const fm_learn_pot *p);

/* Fills *ret with p's state. */
void fm_learn_pot_status_get(const fm_learn_pot *p, fm_learn_pot_status *ret);

/*
 * Appends p's complete state (configuration, fit, peaks, drift window,
 * alarm) as sections base … base + FM_LEARN_POT_SECTIONS - 1, so it can
 * share a file with its detector; a file of its own uses kind
 * FM_LEARN_KIND_POT. Returns 0, -EINVAL when the ids would overflow or do
 * not follow the writer's last id, or the writer's error.
 */
int fm_learn_pot_save(
    const fm_learn_pot *p, uint32_t base, fm_learn_model_writer *w) FM_WUR;

/*
 * Restores a pot saved at base in a decoded file. With cfg NULL the saved
 * configuration is used; otherwise cfg must match it in init_quantile,
 * risk, max_peaks, min_peaks and drift_window (-ESTALE: recalibrate) and
 * its clear_ratio and min_duration are taken. The restored pot makes the
 * same decisions the saved one would have. On success *ret owns a new
 * pot. Returns 0; -ENOENT when no pot is saved at base; -EBADMSG for
 * missing or inconsistent state; -EPROTONOSUPPORT for an unknown state
 * version; -EINVAL for an invalid cfg; -ENOMEM.
 */
int fm_learn_pot_load(const fm_learn_model_reader *r, uint32_t base,
    const fm_learn_pot_config *cfg, fm_learn_pot **ret) FM_WUR;

#endif
