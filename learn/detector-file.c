/*
 * The anomaly detector's file (its shared parameters are in
 * detector-share.c). The file is one model container (learn/model.h) of
 * kind FM_LEARN_KIND_DETECTOR; the table below lists its sections once,
 * and save and load both walk it, so what is written and what is read
 * cannot drift apart.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

#define DETECTOR_STATE_VERSION 1u

/* Section ids of a detector file. */
enum {
	SEC_VERSION = 1,
	SEC_WINDOW,
	SEC_LATENT,
	SEC_MEAN = 16,
	SEC_SCALE,
	SEC_RHO,
	SEC_THETA = 32, /* the shared parameters: the autoencoder, … */
	SEC_OWN_M1,     /* … the host's moments, */
	SEC_OWN_M2,
	SEC_OWN_THETA, /* in a fleet, once trained: the host's own … */
	SEC_OWN_RHO,   /* … and its residual RMS; never exported */
	SEC_PRIOR_M1,  /* the fleet's moments, once imported */
	SEC_PRIOR_M2,
	SEC_RING = 48,  /* raw rows, oldest first; may hold NaN */
	SEC_EMA,
	SEC_BASELINE,
	SEC_FLAGS, /* bit 0 EMA started, bit 1 alarm, bit 2 fleet */
	SEC_RUN_ON,
	SEC_RUN_OFF,
	SEC_EVENT,
	SEC_GUARD_HIST,
	SEC_GUARD,
	SEC_GUARD_COUNT,
	SEC_POT = 64, /* … + FM_LEARN_POT_SECTIONS - 1 */
};

/* ---- the file ------------------------------------------------------------ */

/* The sections that fix a file's shape, compared with the loader's
 * configuration before anything is allocated. */
typedef struct file_shape {
	uint32_t version; /* DETECTOR_STATE_VERSION */
	uint32_t window;
	uint32_t latent;
} file_shape;

/* How a section's values are written and read. */
enum codec {
	CODEC_SHAPE, /* u32: the file_shape field at off */
	CODEC_U32,   /* u32: the uint32_t at off in the detector */
	CODEC_F64,   /* f64: the double at off */
	CODEC_FLAGS, /* u32: bit 0 EMA started, bit 1 alarm, bit 2 fleet */
	CODEC_ROW,   /* f32[d]: the floats the float * at off points to */
	CODEC_BINS,  /* f32[FMI_LEARN_GUARD_BINS]: the array at off */
	CODEC_AE,    /* f32: the parameters of the fm_learn_ae * at off */
	CODEC_RING,  /* f32[held x d]: the ring's raw rows, oldest first */
	CODEC_POT,   /* the fm_learn_pot * at off: FM_LEARN_POT_SECTIONS */
};

/* When a section is in the file. A group (WITH_OWN, WITH_PRIOR) is
 * whole or absent, and only ever in a fleet's file. */
enum when {
	ALWAYS,
	WITH_OWN,   /* once the host's own autoencoder exists */
	WITH_PRIOR, /* once the fleet's moments were imported */
};

/* What a loaded section's values may be; anything else is -EDOM. */
enum check {
	CHECK_NONE,
	CHECK_FINITE,
	CHECK_NONNEG,   /* finite and >= 0 */
	CHECK_POSITIVE, /* finite and > 0 */
	CHECK_REFRESH,  /* below FMI_LEARN_GUARD_REFRESH */
	CHECK_FLAGS,    /* no bit but the three known */
};

#define AT(field) offsetof(fm_learn_detector, field)

/*
 * A detector file, section by section in id order (the writer refuses
 * any other): what each holds, how it is coded, where its value lives,
 * when it is present and what its values may be. Load reads the shape
 * first, then the sections always present, then the groups (which the
 * flags allow), then checks the values, then reads the threshold.
 */
static const struct section {
	uint32_t id;
	enum codec codec;
	size_t off;     /* in file_shape (CODEC_SHAPE) or fm_learn_detector */
	uint16_t flags; /* FM_LEARN_SECTION_PARAM or 0 */
	enum when when;
	enum check check;
} sections[] = {
	/* the shape */
	{ SEC_VERSION, CODEC_SHAPE, offsetof(file_shape, version), 0, ALWAYS,
	    CHECK_NONE },
	{ SEC_WINDOW, CODEC_SHAPE, offsetof(file_shape, window), 0, ALWAYS,
	    CHECK_NONE },
	{ SEC_LATENT, CODEC_SHAPE, offsetof(file_shape, latent), 0, ALWAYS,
	    CHECK_NONE },
	/* the normaliser (a scale of 0: a feature unseen in training) and
	 * the residual scales */
	{ SEC_MEAN, CODEC_ROW, AT(m), 0, ALWAYS, CHECK_FINITE },
	{ SEC_SCALE, CODEC_ROW, AT(s), 0, ALWAYS, CHECK_NONNEG },
	{ SEC_RHO, CODEC_ROW, AT(rho), 0, ALWAYS, CHECK_POSITIVE },
	/* the shared parameters, in the flat vector's order */
	{ SEC_THETA, CODEC_AE, AT(ae), FM_LEARN_SECTION_PARAM, ALWAYS,
	    CHECK_FINITE },
	{ SEC_OWN_M1, CODEC_ROW, AT(own_m1), FM_LEARN_SECTION_PARAM, ALWAYS,
	    CHECK_FINITE },
	{ SEC_OWN_M2, CODEC_ROW, AT(own_m2), FM_LEARN_SECTION_PARAM, ALWAYS,
	    CHECK_FINITE },
	/* in a fleet: the host's own model, never exported */
	{ SEC_OWN_THETA, CODEC_AE, AT(own), 0, WITH_OWN, CHECK_FINITE },
	{ SEC_OWN_RHO, CODEC_ROW, AT(rho_own), 0, WITH_OWN, CHECK_POSITIVE },
	/* in a fleet: the fleet's moments, a prior on the host's scales */
	{ SEC_PRIOR_M1, CODEC_ROW, AT(prior_m1), 0, WITH_PRIOR, CHECK_FINITE },
	{ SEC_PRIOR_M2, CODEC_ROW, AT(prior_m2), 0, WITH_PRIOR, CHECK_FINITE },
	/* the scoring state; the ring's rows may hold NaN (masked) */
	{ SEC_RING, CODEC_RING, AT(ring), 0, ALWAYS, CHECK_NONE },
	{ SEC_EMA, CODEC_F64, AT(sm.ema), 0, ALWAYS, CHECK_NONNEG },
	{ SEC_BASELINE, CODEC_F64, AT(sm.baseline), 0, ALWAYS, CHECK_POSITIVE },
	{ SEC_FLAGS, CODEC_FLAGS, 0, 0, ALWAYS, CHECK_FLAGS },
	{ SEC_RUN_ON, CODEC_U32, AT(run_on), 0, ALWAYS, CHECK_NONE },
	{ SEC_RUN_OFF, CODEC_U32, AT(run_off), 0, ALWAYS, CHECK_NONE },
	{ SEC_EVENT, CODEC_ROW, AT(event), 0, ALWAYS, CHECK_FINITE },
	{ SEC_GUARD_HIST, CODEC_BINS, AT(guard_hist), 0, ALWAYS, CHECK_NONNEG },
	{ SEC_GUARD, CODEC_F64, AT(guard), 0, ALWAYS, CHECK_NONNEG },
	{ SEC_GUARD_COUNT, CODEC_U32, AT(guard_count), 0, ALWAYS,
	    CHECK_REFRESH },
	/* the threshold, in sections of its own */
	{ SEC_POT, CODEC_POT, AT(pot), 0, ALWAYS, CHECK_NONE },
};

/* Whether det's file holds sec. */
static bool
section_is_present(const fm_learn_detector *det, const struct section *sec)
{
	switch (sec->when) {
	case WITH_OWN:
		return det->own != NULL;
	case WITH_PRIOR:
		return det->has_prior;
	default:
		return true;
	}
}

/* Appends sec of det to w; shape and ring[held x d] (oldest first) are
 * what CODEC_SHAPE and CODEC_RING write. The writer's errors are sticky:
 * _finish() reports the first. */
static void
section_put(const fm_learn_detector *det, const file_shape *shape,
    const float *ring, const struct section *sec, fm_learn_model_writer *w)
{
	const char *v = (const char *)det + sec->off;
	uint32_t d = det->d, flags;
	fm_learn_ae *ae;

	switch (sec->codec) {
	case CODEC_SHAPE:
		v = (const char *)shape + sec->off;
		(void)!fm_learn_model_writer_put_u32(
		    w, sec->id, *(const uint32_t *)v);
		break;
	case CODEC_U32:
		(void)!fm_learn_model_writer_put_u32(
		    w, sec->id, *(const uint32_t *)v);
		break;
	case CODEC_F64:
		(void)!fm_learn_model_writer_put_f64(
		    w, sec->id, *(const double *)v);
		break;
	case CODEC_FLAGS:
		flags = (det->sm.started ? 1u : 0u) | (det->alarm ? 2u : 0u) |
		    (det->fleet ? 4u : 0u);
		(void)!fm_learn_model_writer_put_u32(w, sec->id, flags);
		break;
	case CODEC_ROW:
		(void)!fm_learn_model_writer_put_f32(
		    w, sec->id, sec->flags, *(float *const *)v, d);
		break;
	case CODEC_BINS:
		(void)!fm_learn_model_writer_put_f32(w, sec->id, sec->flags,
		    (const float *)v, FMI_LEARN_GUARD_BINS);
		break;
	case CODEC_AE:
		ae = *(fm_learn_ae *const *)v;
		(void)!fm_learn_model_writer_put_f32(w, sec->id, sec->flags,
		    fm_learn_ae_params(ae), fm_learn_ae_params_count(ae));
		break;
	case CODEC_RING:
		(void)!fm_learn_model_writer_put_f32(
		    w, sec->id, sec->flags, ring, (size_t)det->ring_held * d);
		break;
	case CODEC_POT:
		(void)!fm_learn_pot_save(*(fm_learn_pot *const *)v, sec->id, w);
		break;
	}
}

int
fm_learn_detector_save(
    const fm_learn_detector *det, uint8_t **ret_buf, size_t *ret_len)
{
	fm_learn_model_info info = {
		.kind = FM_LEARN_KIND_DETECTOR,
		.schema_version = det->cfg.schema_version,
		.n_features = det->d,
		.layout_id = fm_learn_detector_layout_id(det),
	};
	file_shape shape = {
		.version = DETECTOR_STATE_VERSION,
		.window = det->cfg.window,
		.latent = det->cfg.latent,
	};
	uint32_t d = det->d;
	fm_learn_model_writer w;
	float *ring = NULL;
	int r;

	if (!det->ready)
		return -ENODATA;
	ring = malloc(((size_t)det->ring_held + 1) * d * sizeof(float));
	if (!ring)
		return -ENOMEM;
	for (uint32_t i = 0; i < det->ring_held; i++)
		memcpy(ring + (size_t)i * d,
		    fmi_learn_detector_ring_back(det, det->ring_held - i),
		    d * sizeof(float));
	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		if (section_is_present(det, &sections[i]))
			section_put(det, &shape, ring, &sections[i], &w);
	}
	r = fm_learn_model_writer_finish(&w, ret_buf, ret_len);
out:
	fm_learn_model_writer_release(&w);
	free(ring);
	return r;
}

/* Reads an f32 section of exactly n values. */
static int
get_exact(const fm_learn_model_reader *rd, uint32_t id, float *dst, size_t n)
{
	fm_learn_section_info si;

	if (fm_learn_model_reader_find(rd, id, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count != n)
		return -EBADMSG;
	return fm_learn_model_reader_get_f32(rd, id, dst, n) < 0 ? -EBADMSG
								 : 0;
}

/* Reads the ring's rows, at most window - 1 of them. */
static int
get_ring(const fm_learn_model_reader *rd, uint32_t id, fm_learn_detector *det)
{
	uint32_t d = det->d, cap = det->cfg.window - 1;
	fm_learn_section_info si;

	if (fm_learn_model_reader_find(rd, id, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count % d != 0 ||
	    si.count / d > cap ||
	    fm_learn_model_reader_get_f32(rd, id, det->ring, si.count) < 0)
		return -EBADMSG;
	det->ring_held = (uint32_t)(si.count / d);
	det->ring_head = cap > 0 ? det->ring_held % cap : 0;
	return 0;
}

/*
 * Reads sec into det (CODEC_SHAPE: into *shape; det is not used) and,
 * for CODEC_FLAGS, the raw flags into *ret_flags. Allocates the
 * autoencoder a CODEC_AE section fills, and the threshold. Returns 0;
 * -EBADMSG when the section is missing or has another type or length;
 * -ENOMEM; or the errors of fm_learn_pot_load() for the threshold.
 */
static int
section_get(const fm_learn_model_reader *rd, const struct section *sec,
    fm_learn_detector *det, file_shape *shape, uint32_t *ret_flags)
{
	fm_learn_ae **ae;
	char *v;
	int r;

	if (sec->codec == CODEC_SHAPE) {
		v = (char *)shape + sec->off;
		r = fm_learn_model_reader_get_u32(rd, sec->id, (uint32_t *)v);
		return r < 0 ? -EBADMSG : 0;
	}
	v = (char *)det + sec->off;
	switch (sec->codec) {
	case CODEC_U32:
		r = fm_learn_model_reader_get_u32(rd, sec->id, (uint32_t *)v);
		break;
	case CODEC_F64:
		r = fm_learn_model_reader_get_f64(rd, sec->id, (double *)v);
		break;
	case CODEC_FLAGS:
		r = fm_learn_model_reader_get_u32(rd, sec->id, ret_flags);
		if (r == 0) {
			det->sm.started = *ret_flags & 1u;
			det->alarm = *ret_flags & 2u;
			det->fleet = *ret_flags & 4u;
		}
		break;
	case CODEC_ROW:
		return get_exact(rd, sec->id, *(float **)v, det->d);
	case CODEC_BINS:
		return get_exact(rd, sec->id, (float *)v, FMI_LEARN_GUARD_BINS);
	case CODEC_AE:
		ae = (fm_learn_ae **)v;
		if (!*ae) {
			r = fm_learn_ae_new(det->win_len, det->cfg.latent,
			    det->cfg.train.seed, ae);
			if (r < 0)
				return r;
		}
		return get_exact(rd, sec->id, fm_learn_ae_params(*ae),
		    fm_learn_ae_params_count(*ae));
	case CODEC_RING:
		return get_ring(rd, sec->id, det);
	case CODEC_POT:
		r = fm_learn_pot_load(rd, sec->id, NULL, (fm_learn_pot **)v);
		return r == -ENOENT ? -EBADMSG : r;
	default:
		r = -EBADMSG;
		break;
	}
	return r < 0 ? -EBADMSG : 0;
}

/*
 * Reads the sections of group when (WITH_OWN or WITH_PRIOR): all of them
 * or none, and only in a fleet's file (flag bit 2, read before). Returns
 * 1 when read, 0 when absent, -EBADMSG or -ENOMEM.
 */
static int
group_get(
    const fm_learn_model_reader *rd, fm_learn_detector *det, enum when when)
{
	fm_learn_section_info si;
	size_t n = 0, found = 0;
	int r;

	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		if (sections[i].when != when)
			continue;
		n++;
		if (fm_learn_model_reader_find(rd, sections[i].id, &si) == 0)
			found++;
	}
	if (found == 0)
		return 0;
	if (found != n || !det->fleet)
		return -EBADMSG;
	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		if (sections[i].when != when)
			continue;
		r = section_get(rd, &sections[i], det, NULL, NULL);
		if (r < 0)
			return r;
	}
	return 1;
}

/* Whether x is a value check allows. */
static bool
value_is_valid(double x, enum check check)
{
	switch (check) {
	case CHECK_FINITE:
		return isfinite(x);
	case CHECK_NONNEG:
		return isfinite(x) && x >= 0.0;
	case CHECK_POSITIVE:
		return isfinite(x) && x > 0.0;
	case CHECK_REFRESH:
		return x < FMI_LEARN_GUARD_REFRESH;
	default:
		return true;
	}
}

/* Whether the loaded values of sec in det (and flags, the raw flags)
 * are ones sec->check allows. */
static bool
section_is_valid(
    const fm_learn_detector *det, const struct section *sec, uint32_t flags)
{
	const char *v = (const char *)det + sec->off;
	const float *f;
	size_t n;

	switch (sec->codec) {
	case CODEC_U32:
		return value_is_valid(*(const uint32_t *)v, sec->check);
	case CODEC_F64:
		return value_is_valid(*(const double *)v, sec->check);
	case CODEC_FLAGS:
		return sec->check != CHECK_FLAGS || (flags & ~7u) == 0;
	case CODEC_ROW:
		f = *(float *const *)v;
		n = det->d;
		break;
	case CODEC_BINS:
		f = (const float *)v;
		n = FMI_LEARN_GUARD_BINS;
		break;
	case CODEC_AE:
		f = fm_learn_ae_params(*(fm_learn_ae *const *)v);
		n = fm_learn_ae_params_count(*(fm_learn_ae *const *)v);
		break;
	default: /* the shape, the ring, the threshold: checked on reading */
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (!value_is_valid(f[i], sec->check))
			return false;
	}
	return true;
}

int
fm_learn_detector_load(const uint8_t *buf, size_t len,
    const fm_learn_detector_config *cfg, fm_learn_detector **ret)
{
	fm_learn_model_info expect = {
		.kind = FM_LEARN_KIND_DETECTOR,
		.n_features = cfg->n_features,
	};
	fm_learn_model_reader rd;
	fm_learn_detector *det = NULL;
	file_shape shape;
	uint32_t flags = 0;
	int r;

	if (!fm_learn_detector_config_is_valid(cfg))
		return -EINVAL;
	r = fm_learn_model_decode(buf, len, &expect, &rd);
	if (r < 0)
		return r;
	if (fm_learn_model_reader_info(&rd)->schema_version !=
	    cfg->schema_version)
		return -ESTALE;
	/* the shape: nothing is allocated for a file of another one */
	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		if (sections[i].codec == CODEC_SHAPE &&
		    section_get(&rd, &sections[i], NULL, &shape, NULL) < 0)
			return -EBADMSG;
	}
	if (shape.version != DETECTOR_STATE_VERSION)
		return -EPROTONOSUPPORT;
	if (shape.window != cfg->window || shape.latent != cfg->latent)
		return -ESTALE;
	r = fm_learn_detector_new(cfg, &det);
	if (r < 0)
		return r;
	r = -EBADMSG;
	if (fm_learn_model_reader_info(&rd)->layout_id !=
	    fm_learn_detector_layout_id(det))
		goto out_free;
	/* the sections always present but the threshold, then the groups,
	 * which the flags allow */
	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		const struct section *sec = &sections[i];

		if (sec->when != ALWAYS || sec->codec == CODEC_SHAPE ||
		    sec->codec == CODEC_POT)
			continue;
		r = section_get(&rd, sec, det, NULL, &flags);
		if (r < 0)
			goto out_free;
	}
	r = group_get(&rd, det, WITH_OWN);
	if (r >= 0) {
		r = group_get(&rd, det, WITH_PRIOR);
		det->has_prior = r > 0;
	}
	if (r < 0)
		goto out_free;
	/* then their values */
	r = -EDOM;
	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		if (section_is_present(det, &sections[i]) &&
		    !section_is_valid(det, &sections[i], flags))
			goto out_free;
	}
	/* then the threshold */
	for (size_t i = 0; i < FM_ELEMENTSOF(sections); i++) {
		if (sections[i].codec != CODEC_POT)
			continue;
		r = section_get(&rd, &sections[i], det, NULL, NULL);
		if (r < 0)
			goto out_free;
	}
	det->ready = true;
	/* An alarm in progress goes on, but each feature's peak in it is
	 * not in the file: until it clears, nothing in it is taken for a
	 * new fault (a new event needs contributions above the peaks). */
	if (det->alarm) {
		for (uint32_t j = 0; j < det->d; j++)
			det->peak[j] = FLT_MAX;
	}
	*ret = det;
	return 0;
out_free:
	fm_learn_detector_free(det);
	return r;
}
