/*
 * The learner's model files in state_dir: the detector, the predictors
 * (one file), the fleet lineage; read at start, written after each
 * training and at exit, crash-safe; a file that cannot be used is set
 * aside as NAME.rejected. The formats are learn/'s and unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/model/model-int.h"

#define MODEL_FILE_MAX_BYTES (16u << 20)

/* The fleet lineage file: "fedmon-federation-v1 VERSION\n". */
#define FED_STATE_MAGIC "fedmon-federation-v1 "

static int
state_path(const fm_model_learner *l, const char *name, char *buf, size_t size)
{
	if (snprintf(buf, size, "%s/%s", l->cfg.state_dir, name) >= (int)size)
		return -ENAMETOOLONG;
	return 0;
}

/* Serialises the predictors into one model file. */
int
fmi_model_predictors_save(uint32_t d, fm_learn_predictor *const *pred,
    uint8_t **ret_buf, size_t *ret_len)
{
	fm_learn_model_info info = {
		.kind = FM_LEARN_KIND_PREDICTOR,
		.schema_version = FM_COLLECT_SCHEMA_VERSION,
		.n_features = d,
	};
	fm_learn_model_writer w;
	int r;

	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	for (unsigned s = 0; r == 0 && s < FM_LABEL_COUNT; s++)
		r = fm_learn_predictor_save(
		    pred[s], 1 + s * FM_LEARN_PREDICTOR_SECTIONS, &w);
	if (r == 0)
		r = fm_learn_model_writer_finish(&w, ret_buf, ret_len);
	fm_learn_model_writer_release(&w);
	return r;
}

/* Loads the predictors from a model file, or makes new ones for those it
 * does not hold. On failure nothing is returned. */
int
fmi_model_predictors_load(const fm_learn_predictor_config *pcfg,
    const uint8_t *buf, size_t len, fm_learn_predictor **ret)
{
	fm_learn_model_info expect = {
		.kind = FM_LEARN_KIND_PREDICTOR,
		.schema_version = FM_COLLECT_SCHEMA_VERSION,
		.n_features = pcfg->n_features,
	};
	fm_learn_predictor *pred[FM_LABEL_COUNT] = { 0 };
	fm_learn_model_reader rd;
	int r = 0;

	if (buf)
		r = fm_learn_model_decode(buf, len, &expect, &rd);
	for (unsigned s = 0; r == 0 && s < FM_LABEL_COUNT; s++) {
		r = -ENOENT;
		if (buf)
			r = fm_learn_predictor_load(&rd,
			    1 + s * FM_LEARN_PREDICTOR_SECTIONS, pcfg,
			    &pred[s]);
		if (r == -ENOENT)
			r = fm_learn_predictor_new(pcfg, &pred[s]);
	}
	if (r < 0) {
		for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
			fm_learn_predictor_free(pred[s]);
		return r;
	}
	memcpy(ret, pred, sizeof(pred));
	return 0;
}

/* Writes a model file into the state directory, crash-safe. Logs. */
int
fmi_model_file_write(
    const fm_model_learner *l, const char *name, const uint8_t *buf, size_t len)
{
	char path[FM_AGENT_PATH_BYTES + 32];
	int r;

	if (!l->cfg.state_dir[0])
		return 0;
	r = state_path(l, name, path, sizeof(path));
	if (r == 0)
		r = fm_file_write_atomic(path, buf, len, 0600);
	if (r < 0)
		return fm_log_errno(
		    LOG_WARNING, r, "Failed to save model '%s'", path);
	return 0;
}

/* Reads a model file from the state directory: 0 with the bytes, or
 * -ENOENT when there is none; other errors are logged. */
int
fmi_model_file_read(const fm_model_learner *l, const char *name,
    uint8_t **ret_buf, size_t *ret_len)
{
	char path[FM_AGENT_PATH_BYTES + 32];
	int r;

	if (!l->cfg.state_dir[0])
		return -ENOENT;
	r = state_path(l, name, path, sizeof(path));
	if (r == 0)
		r = fm_file_read_all(
		    path, MODEL_FILE_MAX_BYTES, ret_buf, ret_len);
	if (r < 0 && r != -ENOENT)
		fm_log_errno(LOG_WARNING, r, "Failed to read model '%s'", path);
	return r;
}

int64_t
fmi_model_file_mtime_ns(const fm_model_learner *l, const char *name)
{
	char path[FM_AGENT_PATH_BYTES + 32];
	struct stat sb;

	if (!l->cfg.state_dir[0] ||
	    state_path(l, name, path, sizeof(path)) < 0 || stat(path, &sb) < 0)
		return 0;
	return (int64_t)sb.st_mtim.tv_sec * FM_NSEC_PER_SEC +
	    sb.st_mtim.tv_nsec;
}

/* Moves a model file that cannot be used out of the way (kept for a
 * post-mortem as NAME.rejected), so it is not tried again. */
void
fmi_model_file_reject(const fm_model_learner *l, const char *name, int why)
{
	char path[FM_AGENT_PATH_BYTES + 32], to[FM_AGENT_PATH_BYTES + 48];

	if (state_path(l, name, path, sizeof(path)) < 0 ||
	    snprintf(to, sizeof(to), "%s.rejected", path) >= (int)sizeof(to))
		return;
	fm_log_errno(LOG_WARNING, why,
	    "Failed to load model '%s', moving it to '%s' and starting afresh",
	    path, to);
	if (rename(path, to) < 0)
		fm_log_errno(
		    LOG_WARNING, -errno, "Failed to rename '%s'", path);
}

int
fmi_model_fed_state_write(const fm_model_learner *l, uint64_t version)
{
	char text[64];
	int n = snprintf(text, sizeof(text), FED_STATE_MAGIC "%llu\n",
	    (unsigned long long)version);

	return fmi_model_file_write(l, FM_MODEL_LEARNER_FEDERATION_FILE,
	    (const uint8_t *)text, (size_t)n);
}

/* The lineage saved by the last run; 0 when none or unreadable (logged:
 * the next fleet model is then fetched again, nothing is lost). */
uint64_t
fmi_model_fed_state_read(const fm_model_learner *l)
{
	uint8_t *buf = NULL;
	size_t len;
	uint64_t v = 0;
	char *nl;

	if (fmi_model_file_read(
	        l, FM_MODEL_LEARNER_FEDERATION_FILE, &buf, &len) < 0)
		return 0;
	nl = memchr(buf, '\n', len);
	if (len <= strlen(FED_STATE_MAGIC) || !nl ||
	    (size_t)(nl - (char *)buf) != len - 1 ||
	    memcmp(buf, FED_STATE_MAGIC, strlen(FED_STATE_MAGIC)) != 0 ||
	    (*nl = '\0',
	        fm_parse_u64((char *)buf + strlen(FED_STATE_MAGIC), &v) < 0)) {
		fm_log(LOG_WARNING,
		    "Failed to parse '%s/%s', fetching the fleet model again",
		    l->cfg.state_dir, FM_MODEL_LEARNER_FEDERATION_FILE);
		v = 0;
	}
	free(buf);
	return v;
}

/* Saves the current models (at exit: the detector with its live state). */
void
fmi_model_learner_save_all(fm_model_learner *l)
{
	uint8_t *buf = NULL;
	size_t len;

	if (l->det && fm_learn_detector_is_ready(l->det) &&
	    fm_learn_detector_save(l->det, &buf, &len) == 0)
		(void)fmi_model_file_write(
		    l, FM_MODEL_LEARNER_DETECTOR_FILE, buf, len);
	free(buf);
	buf = NULL;
	if (l->pred[0] &&
	    fmi_model_predictors_save(
	        l->dcfg.n_features, l->pred, &buf, &len) == 0)
		(void)fmi_model_file_write(
		    l, FM_MODEL_LEARNER_PREDICTOR_FILE, buf, len);
	free(buf);
}
