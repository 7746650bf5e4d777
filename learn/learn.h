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

/* ---- failure predictor (learn/predictor.c) ---- */

/*
 * A supervised, calibrated failure predictor: the probability that a
 * failure of one kind (an OOM kill, a full filesystem, a failing health
 * check, a manual label: one predictor per label source) begins within
 * the next H rows. Logistic regression on a causal window of the
 * caller's normalised rows, trained by Adam on seeded mini-batches with
 * an L2 penalty and a positive-class weight (failures are rare), then
 * calibrated so that the weighting does not inflate the probability.
 *
 * Inputs. Rows are normalised per feature (0 = typical) by the caller;
 * NaN marks a masked value. fm_learn_predictor_features() turns row t of
 * a history into the input x_t of n_inputs = 3 n_features + n_extra
 * values: z_t, the window mean, the change over the window, then the
 * caller's extra scalars (e.g. the detector's anomaly score). Every input
 * the model sees, from the builder or not, is sanitised the same way in
 * training and in prediction: NaN and infinities count as 0 (masked =
 * typical) and finite values are clipped to +-FM_LEARN_PREDICTOR_INPUT_MAX,
 * so no input can make a weight non-finite.
 *
 * Bias and calibration. Training weights each positive by pos_weight =
 * n_neg / n_pos of the call's data (clamped to [1, max_pos_weight]) and
 * fits the logit w.x + b + log(pos_weight): the weighted optimum is the
 * unweighted one shifted by log(pos_weight) (the prior correction), so
 * the stored bias b is already on the unweighted scale. That keeps the
 * shared parameters comparable between hosts whose failure rates, hence
 * weights, differ. With FM_LEARN_PREDICTOR_CALIB_PLATT (the default) the
 * output is then sigmoid(a (w.x + b) + c) with (a, c) fitted on the
 * training rows by Newton's method on the unweighted log loss with
 * Platt's smoothed targets, which also undoes the shrinkage of L2; with
 * FM_LEARN_PREDICTOR_CALIB_PRIOR, a = 1 and c = 0. The calibration and
 * the counts are local state, saved but not among the shared parameters.
 *
 * Untrained. Until a training call sees a positive (or trained weights
 * are loaded or imported) the predictor is untrained: it predicts 0, the
 * base rate of the failures it has seen, and says so in its status.
 *
 * Threads: fm_learn_predictor_predict() and the getters may run
 * concurrently with each other; everything that modifies the predictor
 * (train, loss_grad, import, reset) needs the caller's exclusion.
 */

/* The model-file kind of a file holding only a predictor. */
#define FM_LEARN_KIND_PREDICTOR 3u

#define FM_LEARN_PREDICTOR_MAX_FEATURES 4096u   /* per row */
#define FM_LEARN_PREDICTOR_MAX_WINDOW   100000u /* rows */
#define FM_LEARN_PREDICTOR_MAX_EXTRA    16u     /* extra scalars */
#define FM_LEARN_PREDICTOR_MAX_BATCH    4096u   /* rows per step */
#define FM_LEARN_PREDICTOR_MAX_EPOCHS   10000u
#define FM_LEARN_PREDICTOR_MAX_ROWS     10000000u /* per training call */
#define FM_LEARN_PREDICTOR_MAX_HORIZON  1000000u  /* rows */
/* |input| beyond this is clipped: a z-score of 1000 is extreme enough,
 * and the bound keeps every gradient finite. */
#define FM_LEARN_PREDICTOR_INPUT_MAX 1000.0f
/* An imported weight or bias beyond +-this is refused: no fit reaches it
 * (inputs are clipped to +-FM_LEARN_PREDICTOR_INPUT_MAX and w is
 * L2-penalised), and the bound keeps w.x + b finite, so a fleet model
 * cannot make a prediction NaN. */
#define FM_LEARN_PREDICTOR_PARAM_MAX 1e6
/* A training target excluded from training (see _labels()). */
#define FM_LEARN_PREDICTOR_LABEL_SKIP 0xffu
/* Section ids base … base + FM_LEARN_PREDICTOR_SECTIONS - 1 hold a saved
 * predictor. */
#define FM_LEARN_PREDICTOR_SECTIONS 16u
/* Parameter blocks: the weights w (n_inputs), then the bias b (1). */
#define FM_LEARN_PREDICTOR_PARAM_BLOCKS 2u

typedef struct fm_learn_predictor fm_learn_predictor;

/* How probabilities are calibrated (see above). */
enum fm_learn_predictor_calibration {
	FM_LEARN_PREDICTOR_CALIB_PRIOR = 0, /* a = 1, c = 0 */
	FM_LEARN_PREDICTOR_CALIB_PLATT = 1, /* (a, c) fitted when trained */
};

typedef struct fm_learn_predictor_config {
	/* The input's shape, part of the layout id. */
	uint32_t n_features;     /* d, values per row, 1…MAX_FEATURES */
	uint32_t window;         /* W rows, 1…MAX_WINDOW; default 10 */
	uint32_t n_extra;        /* extra scalars, 0…MAX_EXTRA; default 1 */
	uint32_t schema_version; /* of the rows' feature schema; default 0 */
	/* Training. */
	float l2;             /* penalty on w (not b), [0, 1]; 1e-4 */
	float lr;             /* Adam step, (0, 1]; default 0.01 */
	uint32_t epochs;      /* passes per training call, 1…; default 10 */
	uint32_t batch;       /* rows per step, 1…MAX_BATCH; default 64 */
	uint64_t seed;        /* of the shuffling; default 1 */
	float max_pos_weight; /* cap of pos_weight, [1, 1e6]; default 100 */
	enum fm_learn_predictor_calibration calibration; /* default PLATT */
} fm_learn_predictor_config;

/* What one training call did. */
typedef struct fm_learn_predictor_stats {
	double loss;       /* after training, as from _loss_grad() */
	double pos_weight; /* the weight given to positives */
	size_t n_pos;      /* rows used, by target */
	size_t n_neg;
	size_t n_skipped; /* targets FM_LEARN_PREDICTOR_LABEL_SKIP */
	uint32_t epochs;  /* run: 0 when the data held no positive */
} fm_learn_predictor_stats;

typedef struct fm_learn_predictor_status {
	bool trained; /* false: predicts base_rate */
	enum fm_learn_predictor_calibration calibration; /* in use */
	double calib_a, calib_c; /* p = sigmoid(a (w.x + b) + c) */
	uint64_t n_pos, n_neg;   /* rows trained on since new or reset */
	double base_rate;        /* n_pos / (n_pos + n_neg), 0 with none */
} fm_learn_predictor_status;

/* Fills *ret with the defaults above; n_features is 0 and must be set. */
void fm_learn_predictor_config_default(fm_learn_predictor_config *ret);

/* Whether cfg holds values fm_learn_predictor_new() accepts. */
bool fm_learn_predictor_config_is_valid(const fm_learn_predictor_config *cfg);

/* The input length of a predictor of cfg: 3 n_features + n_extra. Pure. */
size_t fm_learn_predictor_n_inputs(const fm_learn_predictor_config *cfg);

/*
 * Builds the input of row t from rows[n_rows x n_features] (row-major,
 * time order, NaN = masked) and extra[n_extra] (NULL: all masked) into
 * ret_x[n_inputs]:
 *   x[0, d)   z_t
 *   x[d, 2d)  mean of the finite z over rows max(0, t-W+1) … t (0 when
 *             none: the mean of observed values, so a masked value does
 *             not drag it towards 0)
 *   x[2d, 3d) z_t - z_s, s = max(0, t-W+1) (0 when either is masked: an
 *             unknown change is no evidence of one)
 *   x[3d, …)  extra
 * after clipping each z to +-FM_LEARN_PREDICTOR_INPUT_MAX; masked values
 * become 0. Causal: only rows up to t are read, so rows after t may be
 * absent or change freely. Returns 0, or -EINVAL for an invalid cfg,
 * NULL rows or t >= n_rows; ret_x is written only on success. Pure;
 * thread-safe.
 */
int fm_learn_predictor_features(const fm_learn_predictor_config *cfg,
    const float *rows, size_t n_rows, size_t t, const float *extra,
    float *ret_x) FM_WUR;

/*
 * Turns per-row event flags (non-zero: the failure is present in the
 * row) into training targets for a horizon of H rows. An event begins at
 * row s when events[s] != 0 and s is 0 or events[s - 1] == 0. Then:
 *   1     when an event begins in (t, t + H];
 *   SKIP  otherwise, when events[t] != 0 (during an event nothing is left
 *         to predict, and its rows are not normal ones either);
 *   SKIP  otherwise, when t + H >= n (the end of the data cuts the
 *         horizon short: a failure may yet follow);
 *   0     otherwise.
 * SKIP is FM_LEARN_PREDICTOR_LABEL_SKIP. ret_y[n] may be events itself.
 * Returns 0, -EINVAL for horizon 0 or above FM_LEARN_PREDICTOR_MAX_HORIZON
 * or a NULL array with n > 0, -EMSGSIZE for n above
 * FM_LEARN_PREDICTOR_MAX_ROWS (nothing written). Pure; thread-safe.
 */
int fm_learn_predictor_labels(
    const uint8_t *events, size_t n, uint32_t horizon, uint8_t *ret_y) FM_WUR;

/*
 * Allocates an untrained predictor (zero weights, every buffer training
 * steps will use) with a copy of cfg. On success *ret owns it
 * (fm_learn_predictor_free()); on failure *ret is untouched. Returns 0,
 * -EINVAL for an invalid cfg, -ENOMEM.
 */
int fm_learn_predictor_new(
    const fm_learn_predictor_config *cfg, fm_learn_predictor **ret) FM_WUR;

/* Frees p (NULL-safe); returns NULL. */
fm_learn_predictor *fm_learn_predictor_free(fm_learn_predictor *p);

/* Forgets everything learned: zero weights, no calibration, no counts,
 * untrained. Never fails. */
void fm_learn_predictor_reset(fm_learn_predictor *p);

/*
 * Trains p on X[n x n_inputs] (row-major, borrowed for the call) with
 * targets y[n] (0, 1 or FM_LEARN_PREDICTOR_LABEL_SKIP), continuing from
 * the current weights (warm start: e.g. a fleet model, fine-tuned): cfg
 * epochs of Adam over seeded shuffles (fresh moments each call), then the
 * calibration refit on the same rows. Same predictor state, data and
 * seed give bit-identical weights (on one host, one cblas build). With no
 * positive in the data the weights and calibration are left alone and
 * only the counts grow (no error). Non-finite and out-of-range inputs are
 * sanitised (see above), never skipped. Allocates scratch for the call
 * (O(n)). Fills *ret_stats when it is not NULL. Returns 0; -EINVAL for a
 * NULL array with n > 0 or a target other than 0, 1, SKIP; -EMSGSIZE for
 * n above FM_LEARN_PREDICTOR_MAX_ROWS; -ENOMEM. On failure p is unchanged.
 */
int fm_learn_predictor_train(fm_learn_predictor *p, const float *X,
    const uint8_t *y, size_t n, fm_learn_predictor_stats *ret_stats) FM_WUR;

/*
 * The calibrated probability, in [0, 1], that a failure begins within
 * the horizon, for the input x[n_inputs] (sanitised as in training).
 * Untrained: the base rate, 0. Never allocates; thread-safe against
 * other readers.
 */
double fm_learn_predictor_predict(const fm_learn_predictor *p, const float *x);

/*
 * The training objective at the current parameters on X[n x n_inputs]
 * and y[n] (rows with target SKIP left out), for gradient checks:
 *   L = (1/N) sum_i c_i l(w.x_i + b + log(pw), y_i) + (l2/2) |w|^2
 * with l the log loss, c_i = pw for positives and 1 for negatives, pw as
 * in training (1 with no positive), N the rows used (L = (l2/2)|w|^2
 * when N = 0). Writes L and dL/d(w, b) into ret_grad[n_inputs + 1] (w
 * then b). Uses p's scratch buffers (allocates nothing); parameters
 * unchanged. Returns 0; -EINVAL, -EMSGSIZE as fm_learn_predictor_train().
 */
int fm_learn_predictor_loss_grad(fm_learn_predictor *p, const float *X,
    const uint8_t *y, size_t n, double *ret_loss, float *ret_grad) FM_WUR;

/* Fills *ret with p's state. */
void fm_learn_predictor_status_get(
    const fm_learn_predictor *p, fm_learn_predictor_status *ret);

/*
 * Describes p's shared parameters as FM_LEARN_PREDICTOR_PARAM_BLOCKS
 * blocks in flat-vector order (w, then b) in blocks[cap], for
 * fm_learn_params_export(). The blocks point into p and live as long as
 * it does. Writing through them changes the weights but not the state or
 * the calibration; use fm_learn_predictor_params_import() to install a
 * fleet model. Returns the number of blocks, or -ENOBUFS when cap is too
 * small.
 */
int fm_learn_predictor_params(
    fm_learn_predictor *p, fm_learn_param_block *blocks, size_t cap) FM_WUR;

/*
 * The layout id of p's flat parameter vector: kind FM_LEARN_KIND_PREDICTOR,
 * cfg schema_version, dims { n_features, window, n_extra }. Two predictors
 * with equal ids may average their vectors. Pure.
 */
uint32_t fm_learn_predictor_layout_id(const fm_learn_predictor *p);

/*
 * Installs the flat parameter vector src[n] (w, then b) that claims
 * layout src_layout_id, e.g. a fleet model. All or nothing. On success p
 * is trained and calibrated by the prior correction (a = 1, c = 0) until
 * the next training call with a positive refits it; counts are kept.
 * Returns 0; -ESTALE for another layout; -EINVAL when n is not
 * n_inputs + 1; -EDOM for a non-finite value or one beyond
 * FM_LEARN_PREDICTOR_PARAM_MAX. On failure p is unchanged.
 */
int fm_learn_predictor_params_import(fm_learn_predictor *p,
    uint32_t src_layout_id, const float *src, size_t n) FM_WUR;

/*
 * The predictor's share in a fleet model: its weights and bias scaled by
 * a weight k >= 0, then k itself (n_inputs + 2 floats). A sum of shares
 * with any non-negative coefficients (FedAvg's, by sample count) divided
 * by its last value is a weighted mean of the hosts' predictors, each
 * weighted by its coefficient times its k; a host that sends k = 0 (or
 * whose predictor is untrained) adds nothing. A host sets k to the
 * failures it learned from per sample of its update, so that under
 * FedAvg a host's say in the fleet's predictor is its count of failures,
 * not of rows: the labels are rare, and the fleet's predictor is made of
 * them. FedAvg keeps that meaning; a server optimiser (FedAdam) moves
 * the shares by steps and does not.
 */
#define FM_LEARN_PREDICTOR_SHARE_MIN_WEIGHT 1e-20 /* below: no fleet model */

/* The share's length: n_inputs + 2. Pure. */
size_t fm_learn_predictor_share_count(const fm_learn_predictor *p);

/*
 * Writes p's share with weight k into dst[n] (all zeros when p is
 * untrained). Returns 0; -EINVAL when n is not the share count; -EDOM for
 * a negative or non-finite k, or one that overflows a float (nothing
 * written).
 */
int fm_learn_predictor_share_export(const fm_learn_predictor *p,
    double weight, float *dst, size_t n) FM_WUR;

/*
 * Installs the fleet's predictor from a sum of shares src[n] (see above):
 * the weights are src[i] / k. All or nothing. On success p is trained and
 * calibrated by the prior correction (a = 1, c = 0), as after
 * fm_learn_predictor_params_import(); counts are kept. Returns 0;
 * -ENODATA when k is below FM_LEARN_PREDICTOR_SHARE_MIN_WEIGHT (no host
 * has learned anything: p is unchanged); -EINVAL when n is not the share
 * count; -EDOM for a non-finite or negative value, or a quotient beyond
 * FM_LEARN_PREDICTOR_PARAM_MAX. The caller checks the layout
 * (fm_learn_fleet_layout_id()).
 */
int fm_learn_predictor_share_import(
    fm_learn_predictor *p, const float *src, size_t n) FM_WUR;

/*
 * Appends p (its shape, state, calibration, counts, and the weights as
 * FM_LEARN_SECTION_PARAM sections) as sections base … base +
 * FM_LEARN_PREDICTOR_SECTIONS - 1, so several predictors and a detector
 * can share a file; a file of its own uses kind FM_LEARN_KIND_PREDICTOR.
 * The training settings are not saved: they are the loader's cfg.
 * Returns 0, -EINVAL when the ids would overflow or do not follow the
 * writer's last id, or the writer's error.
 */
int fm_learn_predictor_save(const fm_learn_predictor *p, uint32_t base,
    fm_learn_model_writer *w) FM_WUR;

/*
 * Restores a predictor saved at base in a decoded file, with the
 * training settings of cfg, whose shape (n_features, window, n_extra,
 * schema_version) must be the saved one. The restored predictor predicts
 * bit-identically to the saved one. On success *ret owns a new predictor;
 * on failure *ret is untouched. Returns 0; -EINVAL for an invalid cfg or
 * a base that would overflow; -ENOENT when nothing is saved at base;
 * -ESTALE when another model is saved there or the shape differs;
 * -EPROTONOSUPPORT for an unknown state version; -EDOM for a non-finite
 * or out-of-domain value (calibration slope <= 0); -EBADMSG for missing
 * or inconsistent sections; -ENOMEM.
 */
int fm_learn_predictor_load(const fm_learn_model_reader *r, uint32_t base,
    const fm_learn_predictor_config *cfg, fm_learn_predictor **ret) FM_WUR;

/* ---- the BLAS (learn/ae.c) ------------------------------------------- */

/*
 * Makes the BLAS run every call on the calling thread: no worker threads
 * (whose stacks and buffers would cost the agent megabytes) and results
 * that do not depend on how work was split. Call once, before any other
 * learn/ function, from a process's main thread.
 */
void fm_learn_blas_single_thread(void);

/* The BLAS's build description (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH …
 * Haswell"), static, for benchmarks and --version. */
const char *fm_learn_blas_config(void);

/* ---- linear autoencoder (learn/ae.c) ---------------------------------- */

/*
 * A linear autoencoder: h = E x + be (k latent units), y = Dm h + bd,
 * trained by Adam on mini-batches to minimise the mean squared
 * reconstruction error (1 / (n D)) sum ||y - x||^2 over n rows of D
 * inputs. At its optimum it spans the principal subspace (what PCA
 * finds), but unlike an eigen-decomposition it continues from where it
 * stands: from the fleet's model, from yesterday's, with a proximal term
 * toward its starting point (FedProx), and its parameters average
 * (FedAvg). The parameters are one flat float vector, in this order:
 * E (k x D, row-major), be (k), Dm (D x k, row-major), bd (D).
 *
 * An autoencoder is not thread-safe: one thread at a time.
 */
typedef struct fm_learn_ae fm_learn_ae;

#define FM_LEARN_AE_MAX_INPUTS 16384u
#define FM_LEARN_AE_MAX_LATENT 1024u
#define FM_LEARN_AE_MAX_BATCH  65536u
#define FM_LEARN_AE_MAX_ROWS   100000000u

/* Fills batch[n x D] (row-major) with the rows idx[n] of the caller's
 * data; the trainer owns nothing the callback touches. */
typedef void (*fm_learn_rows_fn)(
    void *userdata, const uint32_t *idx, size_t n, float *batch);

typedef struct fm_learn_ae_train_config {
	uint32_t steps; /* mini-batch steps; default 2000 */
	uint32_t batch; /* rows per step (fewer if there are fewer); 64 */
	float lr;       /* peak step size, cosine-decayed to 0; 3e-3 */
	float beta1;    /* Adam; 0.9 */
	float beta2;    /* Adam; 0.999 */
	float eps;      /* Adam; 1e-8 */
	float prox_mu;  /* FedProx mu / 2 ||theta - anchor||^2; 0 */
	uint64_t seed;  /* mini-batch order; 1 */
	/* The proximal term's anchor, params_count floats the caller keeps
	 * alive during training (e.g. the fleet's model while training a
	 * personal one, as in Ditto); NULL: the starting point (FedProx). */
	const float *prox_anchor;
} fm_learn_ae_train_config;

typedef struct fm_learn_ae_train_stats {
	double loss_first; /* mean squared error of the first mini-batch */
	double loss_last;  /* … of the last one */
	uint32_t steps;
} fm_learn_ae_train_stats;

/* Fills *ret with the defaults above. */
void fm_learn_ae_train_config_default(fm_learn_ae_train_config *ret);

/* Whether fm_learn_ae_train() accepts c. Pure. */
bool fm_learn_ae_train_config_is_valid(const fm_learn_ae_train_config *c);

/*
 * Allocates an autoencoder with n_inputs inputs (D, 1 … MAX_INPUTS) and
 * n_latent latent units (1 … min(D, MAX_LATENT)), initialised from seed:
 * every weight ~ N(0, 1/D), biases 0. On success *ret owns it. Errors:
 * -EINVAL, -ENOMEM.
 */
int fm_learn_ae_new(uint32_t n_inputs, uint32_t n_latent, uint64_t seed,
    fm_learn_ae **ret) FM_WUR;

/* Frees ae (NULL-safe); returns NULL. */
fm_learn_ae *fm_learn_ae_free(fm_learn_ae *ae);

uint32_t fm_learn_ae_inputs(const fm_learn_ae *ae);
uint32_t fm_learn_ae_latent(const fm_learn_ae *ae);

/* The flat parameter vector (fm_learn_ae_params_count() floats), owned
 * by ae, valid while it lives; callers may write it (import). */
float *fm_learn_ae_params(fm_learn_ae *ae);
size_t fm_learn_ae_params_count(const fm_learn_ae *ae);

/*
 * The mean squared reconstruction error over x[n x D] in *ret_loss and,
 * if grad is not NULL, its gradient in grad[params_count]. Allocates
 * scratch. Errors: -EINVAL (n = 0 or above MAX_BATCH), -ENOMEM.
 */
int fm_learn_ae_loss_grad(fm_learn_ae *ae, const float *x, size_t n,
    double *ret_loss, float *grad) FM_WUR;

/*
 * Trains on n_rows rows that fill() supplies, cfg->steps Adam steps on
 * mini-batches drawn without replacement (reshuffled every pass) with
 * cfg->seed, from the current parameters. Rows must be finite: the
 * caller masks before. If training ends with a non-finite loss or
 * parameter, the parameters go back to where it started and -EDOM is
 * returned.
 * *ret (may be NULL) gets the losses. Errors: -EINVAL (bad config,
 * n_rows 0 or above MAX_ROWS), -ENOMEM, -EDOM.
 */
int fm_learn_ae_train(fm_learn_ae *ae, const fm_learn_ae_train_config *cfg,
    size_t n_rows, fm_learn_rows_fn fill, void *userdata,
    fm_learn_ae_train_stats *ret) FM_WUR;

/*
 * The reconstruction residual of one row, for its first n_out inputs:
 * ret_r[j] = x[j] - y[j], j < n_out <= D. Two matrix-vector products,
 * no allocation.
 */
void fm_learn_ae_residual(
    fm_learn_ae *ae, const float *x, uint32_t n_out, float *ret_r);

/*
 * The residuals of n rows x[n x D] at once (matrix products), their first
 * n_out columns into ret_r[n x n_out]. Allocates scratch. Errors:
 * -EINVAL, -ENOMEM.
 */
int fm_learn_ae_residual_batch(fm_learn_ae *ae, const float *x, size_t n,
    uint32_t n_out, float *ret_r) FM_WUR;

/* ---- anomaly detector (learn/detector.c) ------------------------------ */

/*
 * The anomaly detector of one host, over rows of d features (set at run
 * time; NaN or infinite = masked):
 *
 *  1. normalise: z_j = (x_j - m_j) / s_j with the host's own mean and
 *     standard deviation (s_j at least std_floor; a feature never seen
 *     in training, or masked now, gives z_j = 0);
 *  2. a linear autoencoder over a window of the last `window` rows of z
 *     clipped to +-clip (current row first) gives the residual r_j of the
 *     current row; rho_j is r_j's RMS over the training rows;
 *  3. per feature contribution c_j = (min((r_j/rho_j)^2, cap) +
 *     z_weight min(z_j^2, cap)) / d: the autoencoder catches a broken
 *     relation between features, the z term a feature far from its own
 *     normal (the cheap per-feature baseline). The raw score is sum c_j;
 *  4. smoothing by an EMA of span ema_span rows;
 *  5. relative score R = smoothed / b, where b, the score's baseline,
 *     follows slow drift (time constant baseline_rows) but only learns
 *     from rows with R < baseline_gate: an incident is never absorbed;
 *  6. a POT threshold (fm_learn_pot) calibrated on the training rows'
 *     R, raised to guard_factor times the median of R over the last days
 *     (an exponentially fading log-histogram with a half-life of
 *     guard_half_rows) when that is higher: an alarm needs a score well
 *     above what is now typical for the host, so a lasting level shift
 *     the baseline's gate keeps out does not hold an alarm for days,
 *     while an incident shorter than the half-life cannot move the
 *     median;
 *  7. the score is R, or, when higher, the onset term: the raw score
 *     relative to b, divided by onset_factor (0 = no onset term). A
 *     sudden change is then seen at its first row rather than after the
 *     EMA has caught up with it, while the smoothed R, whose noise is
 *     smaller, still decides every ordinary crossing. An alarm is
 *     raised after alarm_on rows in a row with the score at or above
 *     the threshold, or at once by a row whose onset term is, and
 *     cleared after alarm_off rows in a row below clear_ratio times it.
 *
 * In a fleet (after the first fm_learn_detector_params_import()) the
 * detector keeps two autoencoders: the fleet's, personalised on the
 * host's rows at every training (the only parameters ever exported), and
 * the host's own, which only ever learns from the host (it starts as the
 * model trained before joining, or from the seed on a host that joins
 * before its first training). The residual term of step 3 is then the
 * mean of the two, each against its own rho: an output-level mix of the
 * personal and the global model, as in APFL (Deng et al. 2020), so the
 * fleet's knowledge adds to the host's own model instead of replacing
 * it.
 *
 * Scoring is causal (row t uses rows <= t only), costs two
 * matrix-vector products (four in a fleet) and never allocates. Before the first training
 * every row scores 0 without alarm. A detector is not thread-safe; the
 * agent trains a new one in the background and swaps it in.
 */
typedef struct fm_learn_detector fm_learn_detector;

/* The model-file kind of a detector. */
#define FM_LEARN_KIND_DETECTOR 2u

#define FM_LEARN_DETECTOR_MAX_FEATURES 1024u
#define FM_LEARN_DETECTOR_MAX_WINDOW   64u
#define FM_LEARN_DETECTOR_MIN_ROWS     64u /* training rows needed */
#define FM_LEARN_DETECTOR_MAX_ROWS     10000000u

typedef struct fm_learn_detector_config {
	uint32_t n_features;     /* d, 1 … MAX_FEATURES */
	uint32_t schema_version; /* carried into files; 0 = none (replay) */
	uint32_t window;         /* rows of context, 1 … MAX_WINDOW; 5 */
	uint32_t latent;         /* autoencoder units, <= window * d; 8 */
	float std_floor;         /* > 0; 0.01 */
	float clip;              /* autoencoder inputs clipped, > 0; 10 */
	float rho_floor;         /* > 0; 1e-3 */
	float cap;               /* of each squared term, > 0; 100 */
	float z_weight;          /* >= 0; 1 */
	float ema_span;          /* rows, >= 1 (1 = no smoothing); 10 */
	float baseline_rows;     /* baseline time constant, rows; 3 days */
	float baseline_gate;     /* > 1; 3 */
	uint32_t alarm_on;       /* rows at or above the threshold; 3 */
	float onset_factor;      /* 0 (off) or >= 1; 5: see above */
	uint32_t alarm_off;      /* rows below it to clear; 10 */
	float clear_ratio;       /* (0, 1]; 1 */
	float guard_factor;      /* level-shift guard, >= 0 (0 = off); 2 */
	float guard_half_rows;   /* its memory's half-life, rows; 1.5 days */
	float prior_rows;        /* the fleet's scales' weight, rows, >= 0
				  * (0 = none): see above; 1 day */
	bool threshold_online;   /* keep fitting the tail while scoring */
	fm_learn_ae_train_config train;
	fm_learn_pot_config pot; /* 0.95 / 0.02 quantile and risk */
} fm_learn_detector_config;

/* One row's verdict. */
typedef struct fm_learn_verdict {
	float score;     /* relative score (step 7), finite, >= 0 */
	float raw;       /* unsmoothed score (sum of contributions) */
	float threshold; /* current alarm threshold (INFINITY untrained) */
	bool alarm;
	bool ready; /* trained: score and alarm mean something */
} fm_learn_verdict;

typedef struct fm_learn_detector_train_stats {
	uint32_t rows;
	uint32_t features_seen; /* features with finite training values */
	double loss_first;      /* autoencoder, first and last mini-batch */
	double loss_last;
	float threshold;
	float baseline;
} fm_learn_detector_train_stats;

/* Fills *ret with the defaults above for d features sampled rows_per_day
 * times a day (the baseline's 3 days are in rows). */
void fm_learn_detector_config_default(fm_learn_detector_config *ret,
    uint32_t n_features, uint32_t rows_per_day);

/* Whether cfg holds values fm_learn_detector_new() accepts. */
bool fm_learn_detector_config_is_valid(const fm_learn_detector_config *cfg);

/* Allocates an untrained detector; *ret owns it on success. Errors:
 * -EINVAL (invalid cfg), -ENOMEM. */
int fm_learn_detector_new(
    const fm_learn_detector_config *cfg, fm_learn_detector **ret) FM_WUR;

/* Frees det (NULL-safe); returns NULL. */
fm_learn_detector *fm_learn_detector_free(fm_learn_detector *det);

/*
 * Trains on rows[n x d] (row-major, oldest first): the normalisation,
 * then the autoencoder, continuing from its current parameters (random
 * from cfg->train.seed at first; the fleet's after an import), in a
 * fleet the host's own autoencoder too (without a proximal term), then the
 * residual scales, the baseline and the threshold; the scoring state
 * then continues from the last row. Masked values never reach the
 * weights. Allocates scratch of about n * d floats. On failure det is
 * unchanged. Errors: -ENODATA (fewer than MIN_ROWS rows), -EINVAL
 * (more than MAX_ROWS), -ENOMEM, -EDOM (training diverged).
 */
int fm_learn_detector_train(fm_learn_detector *det, const float *rows,
    size_t n, fm_learn_detector_train_stats *ret) FM_WUR;

/* Scores one row x[d] (causal; see above) into *ret. Never fails, never
 * allocates. */
void fm_learn_detector_score(
    fm_learn_detector *det, const float *x, fm_learn_verdict *ret);

/*
 * Replaces the autoencoder's training settings for the next trainings
 * (e.g. a federated round's steps and FedProx mu; the proximal term pulls
 * toward the parameters training starts from, the fleet's after an
 * import). Returns 0 or -EINVAL (invalid c; nothing changes).
 */
int fm_learn_detector_set_train_config(
    fm_learn_detector *det, const fm_learn_ae_train_config *c) FM_WUR;

/* The autoencoder's current training settings. */
const fm_learn_ae_train_config *fm_learn_detector_train_config(
    const fm_learn_detector *det);

/* Whether det was trained (or loaded trained). */
bool fm_learn_detector_is_ready(const fm_learn_detector *det);

/* The per-feature contributions of the last scored row (d floats, sum =
 * raw score), valid while det lives. */
const float *fm_learn_detector_contrib(const fm_learn_detector *det);

/*
 * The indices of the (at most) k features contributing most, highest
 * first, into ret_idx[k]: summed over the rows of the alarm in progress,
 * else of the last row. Returns how many were written (features with a
 * zero contribution are left out).
 */
size_t fm_learn_detector_top(
    const fm_learn_detector *det, size_t k, uint32_t *ret_idx);

/* The normalised row of x[d] into ret_z[d], as the autoencoder sees it:
 * z clipped to +-clip, 0 for a masked or unseen feature; all 0 before
 * the first training. For models that share the detector's scale. */
void fm_learn_detector_normalise(
    const fm_learn_detector *det, const float *x, float *ret_z);

/* Carries the scoring state that belongs to the host rather than to a
 * model (the recent rows of the window and the alarm in progress) from
 * prev into det, a newly trained detector with the same d and window.
 * Returns 0 or -ESTALE (another shape). */
int fm_learn_detector_continue(
    fm_learn_detector *det, const fm_learn_detector *prev) FM_WUR;

/*
 * Serialises det (model and scoring state) into a new model file in
 * *ret_buf (malloc'd; the caller frees) of *ret_len bytes. Errors:
 * -ENOMEM, -EMSGSIZE.
 */
int fm_learn_detector_save(const fm_learn_detector *det, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/*
 * Loads a detector saved by fm_learn_detector_save(), using the
 * hyperparameters of cfg (the file's shape must match: d, schema,
 * window, latent). On success *ret owns a new detector. Errors: those of
 * fm_learn_model_decode() (-EPROTO foreign, -EBADMSG corrupt or
 * truncated, -EPROTONOSUPPORT, -EMSGSIZE), -ESTALE (another shape or
 * schema), -EDOM (a non-finite or out-of-range value), -EINVAL, -ENOMEM.
 */
int fm_learn_detector_load(const uint8_t *buf, size_t len,
    const fm_learn_detector_config *cfg, fm_learn_detector **ret) FM_WUR;

/* The layout id of the detector's shared parameters (the autoencoder):
 * kind, schema, d, window and latent. */
uint32_t fm_learn_detector_layout_id(const fm_learn_detector *det);

/* The length of the shared parameter vector. */
size_t fm_learn_detector_params_count(const fm_learn_detector *det);

/* Exports the shared parameters into dst[cap]; *ret_n gets the count.
 * Errors: -ENOBUFS. */
int fm_learn_detector_params_export(const fm_learn_detector *det,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

/* Imports shared parameters (the fleet's) into the autoencoder; the
 * first import puts the detector in a fleet (see above), the model
 * trained so far becoming the host's own. The host's own parts
 * (normalisation, residual scales, baseline, threshold) are refit by the
 * next training, which continues from the imported parameters: train
 * soon after an import. Errors: -ESTALE (layout), -EINVAL (count), -EDOM
 * (non-finite), -ENOMEM; on error nothing changes. */
int fm_learn_detector_params_import(fm_learn_detector *det,
    uint32_t layout_id, const float *src, size_t n) FM_WUR;

/* ---- a host's shared vector (learn/fleet.c) ---- */

/*
 * What a host shares with the fleet, as one flat vector under one layout
 * id: the detector's shared parameters (fm_learn_detector_params_export()),
 * then the share of each of n_pred failure predictors in order
 * (fm_learn_predictor_share_export()). With n_pred = 0 it is the
 * detector's vector and layout id alone. Hosts whose vectors have equal
 * layout ids average them element by element.
 */
#define FM_LEARN_KIND_FLEET 4u /* of the layout id only: never a file */
#define FM_LEARN_FLEET_MAX_PREDICTORS 16u

/* The layout id of the vector: the detector's when n_pred is 0, else a
 * hash of it and the predictors' (kind FM_LEARN_KIND_FLEET); 0 for more
 * than FM_LEARN_FLEET_MAX_PREDICTORS. Pure. */
uint32_t fm_learn_fleet_layout_id(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred);

/* The vector's length in floats. Pure. */
size_t fm_learn_fleet_count(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred);

/*
 * Writes the vector into dst[cap], predictor s weighted by weights[s]
 * (see fm_learn_predictor_share_export()); *ret_n gets its length.
 * Returns 0; -ENOBUFS when cap is short; -EINVAL for too many
 * predictors; -EDOM for a bad weight.
 */
int fm_learn_fleet_export(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, const double *weights, size_t n_pred,
    float *dst, size_t cap, size_t *ret_n) FM_WUR;

/*
 * Imports the detector's part of a fleet vector src[n] claiming
 * layout_id, after checking the whole vector: -ESTALE for another layout,
 * -EINVAL for another length, -EDOM for a non-finite value; then the
 * errors of fm_learn_detector_params_import(). On error nothing changes.
 */
int fm_learn_fleet_import_detector(fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred, uint32_t layout_id,
    const float *src, size_t n) FM_WUR;

/*
 * Imports the predictors' part of src[n] (checked as above, and every
 * share as by fm_learn_predictor_share_import() before any is taken):
 * each predictor whose share carries a fleet model takes it, the others
 * (no host had learned that failure) are left alone. Returns how many
 * took one, or a negative errno with nothing changed.
 */
int fm_learn_fleet_import_predictors(const fm_learn_detector *det,
    fm_learn_predictor *const *pred, size_t n_pred, uint32_t layout_id,
    const float *src, size_t n) FM_WUR;

#endif
