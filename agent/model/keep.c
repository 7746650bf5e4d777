/*
 * The learner state file (FM_MODEL_LEARNER_STATE_FILE in state_dir): what
 * the learner knows besides its models, so a restart, even after SIGKILL,
 * continues where the last run was: the samples kept to train on, the
 * minute ring the failure predictors learn from, the counters, the
 * training schedule and an alarm in progress. The detector's scoring
 * state (its window, its alarm and the alarm's event totals) is in the
 * detector's own file, which is written with it.
 *
 * The file is a learn/ model container (magic, format version, length,
 * CRC-32C; learn/model.h) of kind KEEP_KIND, written crash-safe by
 * store.c's fmi_model_file_write(): every FM_MODEL_LEARNER_KEEP_SECONDS
 * of samples and after each training (on the sampling thread, while no
 * training runs, so the training thread never writes the detector's file
 * at the same time), and at exit. Its sections, in id order:
 *
 *    1 u32  FMI_MODEL_KEEP_VERSION       2 u32  train_rows
 *    3 u32  FM_LABEL_COUNT               4 u64  when it was written
 *   16 u64  samples scored              17 u64  alarms raised
 *   18 u32  trainings                   19 u32  failed trainings
 *   20 u64  end of the last training    21 u32  its rows
 *   22 f64  its CPU seconds             23 u64  start of the last training
 *   24 u32  alarm in progress (0, 1)    25 f32  probability[FM_LABEL_COUNT]
 *   26 u64  events begun                27 u64  alarms taken as normal
 *   28 u64  samples seen                29 u32  rows of the last training
 *   30 u32  samples in the alarm        31 u32  taken as normal (0, 1)
 *   32+s u64 onsets of label source s
 *   48 f32  the samples kept, held x d, oldest first
 *   64 u64  the newest minute (minutes since the epoch)
 *           the minutes, in the ring's order (oldest pushed first):
 *   65 f32  each minute's age (minutes before the newest, the last)
 *   66 f32  samples in it           67 f32  its label onsets (mask)
 *   68 f32  its mean score          69-71 f32  mean, min, max (n x d)
 *           the minute being aggregated (none: 0 samples):
 *   80 u64  the minute              81 u32  samples in it so far
 *   82 u32  its label onsets        83 f64  its mean score
 *   84 f32  each feature's unmasked samples (d)
 *   85-87 f32  mean, min, max (d)
 *   88 u32  failures labelled during the alarm (mask)
 *   96 f32  the alarm's samples waiting, held x d, oldest first
 *
 * Times are nanoseconds since the epoch (0: never). The schedule is kept
 * as wall-clock time, since the monotonic clock starts again at boot.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model/model-int.h"

/* The learner state file's kind: learn/'s kinds are small numbers. */
#define KEEP_KIND 0x100u

#define NSEC_PER_MIN (60 * FM_NSEC_PER_SEC)

/* Minute indices whose start in ns, plus or minus the largest age,
 * cannot overflow. */
#define MINUTE_INDEX_MAX                                                       \
	(INT64_MAX / NSEC_PER_MIN - (int64_t)FMI_MODEL_KEEP_MAX_AGE_MINUTES)

/* Section ids. */
enum {
	SEC_VERSION = 1,
	SEC_TRAIN_ROWS,
	SEC_LABELS,
	SEC_SAVED,
	SEC_SCORED = 16,
	SEC_ALARMS,
	SEC_TRAININGS,
	SEC_TRAIN_FAILURES,
	SEC_TRAINED_REAL,
	SEC_TRAINED_ROWS,
	SEC_TRAIN_CPU,
	SEC_LAST_TRAIN_REAL,
	SEC_ALARM,
	SEC_PROBABILITY,
	SEC_EVENTS,
	SEC_ACCEPTS,
	SEC_SEEN,
	SEC_TRAINED_N,
	SEC_ALARM_ROWS,
	SEC_ACCEPTING,
	SEC_ONSETS = 32, /* + label source */
	SEC_ROWS = 48,
	SEC_MIN_NEWEST = 64,
	SEC_MIN_AGE,
	SEC_MIN_COUNT,
	SEC_MIN_ONSETS,
	SEC_MIN_SCORE,
	SEC_MIN_MEAN,
	SEC_MIN_MIN,
	SEC_MIN_MAX,
	SEC_CUR_MINUTE = 80,
	SEC_CUR_COUNT,
	SEC_CUR_ONSETS,
	SEC_CUR_SCORE,
	SEC_CUR_N,
	SEC_CUR_MEAN,
	SEC_CUR_MIN,
	SEC_CUR_MAX,
	SEC_HELD_LABELS,
	SEC_PEND = 96,
};

_Static_assert(FM_LABEL_COUNT <= SEC_ROWS - SEC_ONSETS,
    "the onset sections must fit below the rows");

/* ---- the file: encoding and decoding (pure) ------------------------------ */

/* The minute index of real_ns (floor division). */
static int64_t
minute_of(int64_t real_ns)
{
	int64_t q = real_ns / NSEC_PER_MIN;

	return real_ns % NSEC_PER_MIN < 0 ? q - 1 : q;
}

/* Appends one f32 array per minute field; v is scratch of n x d floats. */
static void
put_minutes(const fmi_model_keep *k, float *v, fm_learn_model_writer *w)
{
	const size_t d = FM_FEATURE_COUNT;
	int64_t newest =
	    k->n_minutes ? minute_of(k->minutes[k->n_minutes - 1].real_ns) : 0;
	uint32_t n = k->n_minutes;

	(void)!fm_learn_model_writer_put_u64(
	    w, SEC_MIN_NEWEST, (uint64_t)newest);
	for (uint32_t i = 0; i < n; i++)
		v[i] = (float)(newest - minute_of(k->minutes[i].real_ns));
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_AGE, 0, v, n);
	for (uint32_t i = 0; i < n; i++)
		v[i] = (float)k->minutes[i].count;
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_COUNT, 0, v, n);
	for (uint32_t i = 0; i < n; i++)
		v[i] = (float)k->minutes[i].label_onsets;
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_ONSETS, 0, v, n);
	for (uint32_t i = 0; i < n; i++)
		v[i] = k->minutes[i].score;
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_SCORE, 0, v, n);
	for (uint32_t i = 0; i < n; i++)
		memcpy(v + i * d, k->minutes[i].mean, d * sizeof(float));
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_MEAN, 0, v, n * d);
	for (uint32_t i = 0; i < n; i++)
		memcpy(v + i * d, k->minutes[i].min, d * sizeof(float));
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_MIN, 0, v, n * d);
	for (uint32_t i = 0; i < n; i++)
		memcpy(v + i * d, k->minutes[i].max, d * sizeof(float));
	(void)!fm_learn_model_writer_put_f32(w, SEC_MIN_MAX, 0, v, n * d);
}

/* Appends the minute being aggregated (zeros without one); v is scratch
 * of d floats. */
static void
put_current(const fmi_model_keep *k, float *v, fm_learn_model_writer *w)
{
	const fm_model_history_minute *c = &k->current;
	const size_t d = FM_FEATURE_COUNT;
	bool has = k->has_current;

	(void)!fm_learn_model_writer_put_u64(
	    w, SEC_CUR_MINUTE, has ? (uint64_t)minute_of(c->real_ns) : 0);
	(void)!fm_learn_model_writer_put_u32(
	    w, SEC_CUR_COUNT, has ? c->count : 0);
	(void)!fm_learn_model_writer_put_u32(
	    w, SEC_CUR_ONSETS, has ? c->label_onsets : 0);
	(void)!fm_learn_model_writer_put_f64(
	    w, SEC_CUR_SCORE, has ? c->score : 0.0);
	for (size_t f = 0; f < d; f++)
		v[f] = has ? (float)k->current_n[f] : 0.0f;
	(void)!fm_learn_model_writer_put_f32(w, SEC_CUR_N, 0, v, d);
	for (size_t f = 0; f < d; f++)
		v[f] = has ? c->mean[f] : 0.0f;
	(void)!fm_learn_model_writer_put_f32(w, SEC_CUR_MEAN, 0, v, d);
	for (size_t f = 0; f < d; f++)
		v[f] = has ? c->min[f] : 0.0f;
	(void)!fm_learn_model_writer_put_f32(w, SEC_CUR_MIN, 0, v, d);
	for (size_t f = 0; f < d; f++)
		v[f] = has ? c->max[f] : 0.0f;
	(void)!fm_learn_model_writer_put_f32(w, SEC_CUR_MAX, 0, v, d);
}

/* Whether the minute being aggregated is one the file codes exactly:
 * whole, within the representable minutes, counts and onsets in range,
 * a feature seen in it with finite aggregates. */
static bool
current_is_valid(const fmi_model_keep *k)
{
	const fm_model_history_minute *c = &k->current;
	int64_t minute;

	if (!k->has_current)
		return true;
	minute = minute_of(c->real_ns);
	if (c->real_ns % NSEC_PER_MIN != 0 || minute > MINUTE_INDEX_MAX ||
	    minute < -MINUTE_INDEX_MAX || c->count == 0 ||
	    c->count > FMI_MODEL_KEEP_MAX_AGE_MINUTES ||
	    c->label_onsets >= FM_LABEL_BIT(FM_LABEL_COUNT) ||
	    !(isfinite(c->score) || isnan(c->score)))
		return false;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		if (k->current_n[f] > c->count ||
		    (k->current_n[f] > 0 &&
		        !(isfinite(c->mean[f]) && isfinite(c->min[f]) &&
		            isfinite(c->max[f]))))
			return false;
	}
	return true;
}

/* Whether k's minutes are whole minutes within the span the file can
 * tell of the newest (the last pushed), with counts and onsets it codes
 * exactly. Their times need not rise: the wall clock may step back. */
static bool
minutes_are_valid(const fmi_model_keep *k)
{
	int64_t newest;

	if (k->n_minutes == 0)
		return true;
	newest = minute_of(k->minutes[k->n_minutes - 1].real_ns);
	if (newest > MINUTE_INDEX_MAX || newest < -MINUTE_INDEX_MAX)
		return false;
	for (uint32_t i = 0; i < k->n_minutes; i++) {
		const fm_model_history_minute *m = &k->minutes[i];
		int64_t age = newest - minute_of(m->real_ns);

		if (m->real_ns % NSEC_PER_MIN != 0 ||
		    age >= (int64_t)FMI_MODEL_KEEP_MAX_AGE_MINUTES ||
		    age <= -(int64_t)FMI_MODEL_KEEP_MAX_AGE_MINUTES ||
		    m->count == 0 ||
		    m->count > FMI_MODEL_KEEP_MAX_AGE_MINUTES ||
		    m->label_onsets >= FM_LABEL_BIT(FM_LABEL_COUNT))
			return false;
	}
	return true;
}

int
fmi_model_keep_encode(
    const fmi_model_keep *k, uint8_t **ret_buf, size_t *ret_len)
{
	fm_learn_model_info info = {
		.kind = KEEP_KIND,
		.schema_version = FM_COLLECT_SCHEMA_VERSION,
		.n_features = FM_FEATURE_COUNT,
	};
	size_t d = FM_FEATURE_COUNT;
	fm_learn_model_writer w;
	float *v;
	int r;

	if (k->rows_held > k->train_rows || k->train_rows == 0 ||
	    k->pend_held > k->train_rows || k->trained_n > k->train_rows ||
	    k->held_labels >= FM_LABEL_BIT(FM_LABEL_COUNT) ||
	    !minutes_are_valid(k) || !current_is_valid(k))
		return -EINVAL;
	v = malloc(((size_t)k->n_minutes * d + d) * sizeof(float));
	if (!v)
		return -ENOMEM;
	r = fm_learn_model_writer_init(&w, &info, NULL, 0);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_VERSION, FMI_MODEL_KEEP_VERSION);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_TRAIN_ROWS, k->train_rows);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_LABELS, FM_LABEL_COUNT);
	(void)!fm_learn_model_writer_put_u64(
	    &w, SEC_SAVED, (uint64_t)k->saved_real_ns);
	(void)!fm_learn_model_writer_put_u64(&w, SEC_SCORED, k->scored);
	(void)!fm_learn_model_writer_put_u64(&w, SEC_ALARMS, k->alarms);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_TRAININGS, k->trainings);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_TRAIN_FAILURES, k->train_failures);
	(void)!fm_learn_model_writer_put_u64(
	    &w, SEC_TRAINED_REAL, (uint64_t)k->trained_real_ns);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_TRAINED_ROWS, k->trained_rows);
	(void)!fm_learn_model_writer_put_f64(
	    &w, SEC_TRAIN_CPU, k->train_cpu_seconds);
	(void)!fm_learn_model_writer_put_u64(
	    &w, SEC_LAST_TRAIN_REAL, (uint64_t)k->last_train_real_ns);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_ALARM, k->alarm ? 1 : 0);
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_PROBABILITY, 0, k->probability, FM_LABEL_COUNT);
	(void)!fm_learn_model_writer_put_u64(&w, SEC_EVENTS, k->events);
	(void)!fm_learn_model_writer_put_u64(&w, SEC_ACCEPTS, k->accepts);
	(void)!fm_learn_model_writer_put_u64(&w, SEC_SEEN, k->seen_rows);
	(void)!fm_learn_model_writer_put_u32(&w, SEC_TRAINED_N, k->trained_n);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_ALARM_ROWS, k->alarm_rows);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_ACCEPTING, k->accepting ? 1 : 0);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		(void)!fm_learn_model_writer_put_u64(
		    &w, SEC_ONSETS + s, k->onsets[s]);
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_ROWS, 0, k->rows, (size_t)k->rows_held * d);
	put_minutes(k, v, &w);
	put_current(k, v, &w);
	(void)!fm_learn_model_writer_put_u32(
	    &w, SEC_HELD_LABELS, k->held_labels);
	(void)!fm_learn_model_writer_put_f32(
	    &w, SEC_PEND, 0, k->pend, (size_t)k->pend_held * d);
	if (r == 0)
		r = fm_learn_model_writer_finish(&w, ret_buf, ret_len);
	fm_learn_model_writer_release(&w);
	free(v);
	return r;
}

void
fmi_model_keep_release(fmi_model_keep *k)
{
	if (!k)
		return;
	free(k->rows);
	free(k->pend);
	free(k->minutes);
	memset(k, 0, sizeof(*k));
}

/* Whether x is a value a sample or a minute's aggregate may hold: a
 * number, or NaN (masked); never an infinity. */
static bool
value_is_valid(float x)
{
	return isfinite(x) || isnan(x);
}

/* Whether x is an exact whole number in [lo, hi]. */
static bool
whole_is_valid(float x, double lo, double hi)
{
	return isfinite(x) && x == floorf(x) && x >= lo && x <= hi;
}

/* Reads an f32 section of exactly n values into dst. */
static int
get_exact(const fm_learn_model_reader *rd, uint32_t id, float *dst, size_t n)
{
	fm_learn_section_info si;

	if (fm_learn_model_reader_find(rd, id, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count != n ||
	    fm_learn_model_reader_get_f32(rd, id, dst, n) < 0)
		return -EBADMSG;
	return 0;
}

/* Reads the scalar sections into *k; every one must be there. */
static int
get_scalars(const fm_learn_model_reader *rd, fmi_model_keep *k)
{
	uint64_t saved, trained, last;
	uint32_t alarm, accepting;
	int r = 0;

	r |= fm_learn_model_reader_get_u64(rd, SEC_SAVED, &saved);
	r |= fm_learn_model_reader_get_u64(rd, SEC_SCORED, &k->scored);
	r |= fm_learn_model_reader_get_u64(rd, SEC_ALARMS, &k->alarms);
	r |= fm_learn_model_reader_get_u32(rd, SEC_TRAININGS, &k->trainings);
	r |= fm_learn_model_reader_get_u32(
	    rd, SEC_TRAIN_FAILURES, &k->train_failures);
	r |= fm_learn_model_reader_get_u64(rd, SEC_TRAINED_REAL, &trained);
	r |= fm_learn_model_reader_get_u32(
	    rd, SEC_TRAINED_ROWS, &k->trained_rows);
	r |= fm_learn_model_reader_get_f64(
	    rd, SEC_TRAIN_CPU, &k->train_cpu_seconds);
	r |= fm_learn_model_reader_get_u64(rd, SEC_LAST_TRAIN_REAL, &last);
	r |= fm_learn_model_reader_get_u32(rd, SEC_ALARM, &alarm);
	r |= fm_learn_model_reader_get_u64(rd, SEC_EVENTS, &k->events);
	r |= fm_learn_model_reader_get_u64(rd, SEC_ACCEPTS, &k->accepts);
	r |= fm_learn_model_reader_get_u64(rd, SEC_SEEN, &k->seen_rows);
	r |= fm_learn_model_reader_get_u32(rd, SEC_TRAINED_N, &k->trained_n);
	r |= fm_learn_model_reader_get_u32(
	    rd, SEC_ALARM_ROWS, &k->alarm_rows);
	r |= fm_learn_model_reader_get_u32(rd, SEC_ACCEPTING, &accepting);
	r |= fm_learn_model_reader_get_u32(
	    rd, SEC_HELD_LABELS, &k->held_labels);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		r |= fm_learn_model_reader_get_u64(
		    rd, SEC_ONSETS + s, &k->onsets[s]);
	if (r != 0)
		return -EBADMSG;
	/* times are never before the epoch; the rest within its range */
	if (saved > INT64_MAX || trained > INT64_MAX || last > INT64_MAX ||
	    alarm > 1 || accepting > 1 || k->trained_n > k->train_rows ||
	    k->held_labels >= FM_LABEL_BIT(FM_LABEL_COUNT) ||
	    k->trained_rows > k->train_rows ||
	    !isfinite(k->train_cpu_seconds) || k->train_cpu_seconds < 0.0)
		return -EBADMSG;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		if (k->onsets[s] > FM_MODEL_HISTORY_MAX_MINUTES)
			return -EBADMSG;
	}
	k->saved_real_ns = (int64_t)saved;
	k->trained_real_ns = (int64_t)trained;
	k->last_train_real_ns = (int64_t)last;
	k->alarm = alarm == 1;
	k->accepting = accepting == 1;
	r = get_exact(rd, SEC_PROBABILITY, k->probability, FM_LABEL_COUNT);
	for (unsigned s = 0; r == 0 && s < FM_LABEL_COUNT; s++) {
		if (!(k->probability[s] >= 0.0f && k->probability[s] <= 1.0f))
			r = -EBADMSG;
	}
	return r;
}

/* Reads the samples kept: a whole number of rows, at most train_rows. */
static int
get_rows(const fm_learn_model_reader *rd, fmi_model_keep *k)
{
	const size_t d = FM_FEATURE_COUNT;
	fm_learn_section_info si;
	size_t n;

	if (fm_learn_model_reader_find(rd, SEC_ROWS, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count % d != 0 ||
	    si.count / d > k->train_rows)
		return -EBADMSG;
	n = si.count;
	k->rows = malloc((n + 1) * sizeof(float));
	if (!k->rows)
		return -ENOMEM;
	if (get_exact(rd, SEC_ROWS, k->rows, n) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!value_is_valid(k->rows[i]))
			return -EBADMSG;
	}
	k->rows_held = (uint32_t)(n / d);
	return 0;
}

/* Reads the alarm's waiting samples: a whole number of rows, at most
 * train_rows (the learner keeps the newest it has room for). */
static int
get_pend(const fm_learn_model_reader *rd, fmi_model_keep *k)
{
	const size_t d = FM_FEATURE_COUNT;
	fm_learn_section_info si;
	size_t n;

	if (fm_learn_model_reader_find(rd, SEC_PEND, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 || si.count % d != 0 ||
	    si.count / d > k->train_rows)
		return -EBADMSG;
	n = si.count;
	k->pend = malloc((n + 1) * sizeof(float));
	if (!k->pend)
		return -ENOMEM;
	if (get_exact(rd, SEC_PEND, k->pend, n) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!value_is_valid(k->pend[i]))
			return -EBADMSG;
	}
	k->pend_held = (uint32_t)(n / d);
	return 0;
}

/* Reads one f32 minute field of n x per values into v, and checks them. */
static int
get_field(const fm_learn_model_reader *rd, uint32_t id, size_t n, float *v)
{
	if (get_exact(rd, id, v, n) < 0)
		return -EBADMSG;
	for (size_t i = 0; i < n; i++) {
		if (!value_is_valid(v[i]))
			return -EBADMSG;
	}
	return 0;
}

/* Reads the minute ring: n minutes, each field n long, the ages whole
 * and within the span, 0 at the newest (the last), and counts and onsets
 * in range. */
static int
get_minutes(
    const fm_learn_model_reader *rd, uint32_t max_minutes, fmi_model_keep *k)
{
	const size_t d = FM_FEATURE_COUNT;
	fm_learn_section_info si;
	uint64_t newest_bits;
	int64_t newest;
	float *v = NULL;
	size_t n;
	int r;

	if (fm_learn_model_reader_get_u64(rd, SEC_MIN_NEWEST, &newest_bits) <
	        0 ||
	    fm_learn_model_reader_find(rd, SEC_MIN_AGE, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32)
		return -EBADMSG;
	newest = (int64_t)newest_bits;
	n = si.count;
	if (n > max_minutes)
		return -ESTALE;
	if (newest > MINUTE_INDEX_MAX || newest < -MINUTE_INDEX_MAX)
		return -EBADMSG;
	if (n == 0)
		return 0;
	k->minutes = calloc(n, sizeof(*k->minutes));
	v = malloc(n * d * sizeof(float));
	if (!k->minutes || !v) {
		r = -ENOMEM;
		goto out;
	}
	r = get_field(rd, SEC_MIN_AGE, n, v);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!whole_is_valid(v[i],
		        -(double)(FMI_MODEL_KEEP_MAX_AGE_MINUTES - 1),
		        FMI_MODEL_KEEP_MAX_AGE_MINUTES - 1) ||
		    (i == n - 1 && v[i] != 0))
			r = -EBADMSG;
		else
			k->minutes[i].real_ns =
			    (newest - (int64_t)v[i]) * NSEC_PER_MIN;
	}
	if (r == 0)
		r = get_field(rd, SEC_MIN_COUNT, n, v);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!whole_is_valid(v[i], 1, FMI_MODEL_KEEP_MAX_AGE_MINUTES))
			r = -EBADMSG;
		else
			k->minutes[i].count = (uint32_t)v[i];
	}
	if (r == 0)
		r = get_field(rd, SEC_MIN_ONSETS, n, v);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (!whole_is_valid(v[i], 0, FM_LABEL_BIT(FM_LABEL_COUNT) - 1))
			r = -EBADMSG;
		else
			k->minutes[i].label_onsets = (uint32_t)v[i];
	}
	if (r == 0)
		r = get_field(rd, SEC_MIN_SCORE, n, v);
	for (size_t i = 0; r == 0 && i < n; i++)
		k->minutes[i].score = v[i];
	if (r == 0)
		r = get_field(rd, SEC_MIN_MEAN, n * d, v);
	for (size_t i = 0; r == 0 && i < n; i++)
		memcpy(k->minutes[i].mean, v + i * d, d * sizeof(float));
	if (r == 0)
		r = get_field(rd, SEC_MIN_MIN, n * d, v);
	for (size_t i = 0; r == 0 && i < n; i++)
		memcpy(k->minutes[i].min, v + i * d, d * sizeof(float));
	if (r == 0)
		r = get_field(rd, SEC_MIN_MAX, n * d, v);
	for (size_t i = 0; r == 0 && i < n; i++)
		memcpy(k->minutes[i].max, v + i * d, d * sizeof(float));
	if (r == 0)
		k->n_minutes = (uint32_t)n;
out:
	free(v);
	return r;
}

/* Reads the minute being aggregated: present always, meaningful with a
 * sample or more, then checked as current_is_valid() does. */
static int
get_current(const fm_learn_model_reader *rd, fmi_model_keep *k)
{
	fm_model_history_minute *c = &k->current;
	float n[FM_FEATURE_COUNT];
	uint64_t minute_bits;
	double score;
	int64_t minute;

	if (fm_learn_model_reader_get_u64(rd, SEC_CUR_MINUTE, &minute_bits) <
	        0 ||
	    fm_learn_model_reader_get_u32(rd, SEC_CUR_COUNT, &c->count) < 0 ||
	    fm_learn_model_reader_get_u32(
	        rd, SEC_CUR_ONSETS, &c->label_onsets) < 0 ||
	    fm_learn_model_reader_get_f64(rd, SEC_CUR_SCORE, &score) < 0 ||
	    get_exact(rd, SEC_CUR_N, n, FM_FEATURE_COUNT) < 0 ||
	    get_exact(rd, SEC_CUR_MEAN, c->mean, FM_FEATURE_COUNT) < 0 ||
	    get_exact(rd, SEC_CUR_MIN, c->min, FM_FEATURE_COUNT) < 0 ||
	    get_exact(rd, SEC_CUR_MAX, c->max, FM_FEATURE_COUNT) < 0)
		return -EBADMSG;
	if (c->count == 0) {
		memset(c, 0, sizeof(*c));
		return 0;
	}
	minute = (int64_t)minute_bits;
	if (minute > MINUTE_INDEX_MAX || minute < -MINUTE_INDEX_MAX ||
	    (float)score != score)
		return -EBADMSG;
	c->real_ns = minute * NSEC_PER_MIN;
	c->score = (float)score;
	for (unsigned f = 0; f < FM_FEATURE_COUNT; f++) {
		if (!whole_is_valid(n[f], 0, FMI_MODEL_KEEP_MAX_AGE_MINUTES))
			return -EBADMSG;
		k->current_n[f] = (uint32_t)n[f];
	}
	k->has_current = true;
	return current_is_valid(k) ? 0 : -EBADMSG;
}

int
fmi_model_keep_decode(const uint8_t *buf, size_t len, uint32_t train_rows,
    uint32_t max_minutes, fmi_model_keep *ret)
{
	fm_learn_model_info expect = {
		.kind = KEEP_KIND,
		.schema_version = FM_COLLECT_SCHEMA_VERSION,
		.n_features = FM_FEATURE_COUNT,
	};
	fmi_model_keep k = { .train_rows = train_rows };
	fm_learn_model_reader rd;
	uint32_t version, rows, labels;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (train_rows == 0 || max_minutes == 0)
		return -EINVAL;
	r = fm_learn_model_decode(buf, len, &expect, &rd);
	if (r < 0)
		return r;
	if (fm_learn_model_reader_get_u32(&rd, SEC_VERSION, &version) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_TRAIN_ROWS, &rows) < 0 ||
	    fm_learn_model_reader_get_u32(&rd, SEC_LABELS, &labels) < 0)
		return -EBADMSG;
	if (version != FMI_MODEL_KEEP_VERSION)
		return -EPROTONOSUPPORT;
	if (rows != train_rows || labels != FM_LABEL_COUNT)
		return -ESTALE;
	r = get_scalars(&rd, &k);
	if (r == 0)
		r = get_rows(&rd, &k);
	if (r == 0)
		r = get_minutes(&rd, max_minutes, &k);
	if (r == 0)
		r = get_current(&rd, &k);
	if (r == 0)
		r = get_pend(&rd, &k);
	if (r < 0) {
		fmi_model_keep_release(&k);
		return r;
	}
	*ret = k;
	return 0;
}

/* ---- the learner's side ----------------------------------------------------
 */

int
fmi_model_keep_load(fm_model_learner *l)
{
	const size_t d = FM_FEATURE_COUNT;
	bool ready = fm_learn_detector_is_ready(l->det);
	fmi_model_keep k;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (fmi_model_file_read(l, FM_MODEL_LEARNER_STATE_FILE, &buf, &len) < 0)
		return 0; /* none, or unreadable (logged) */
	r = fmi_model_keep_decode(buf, len, l->cfg.train_rows,
	    fm_model_history_capacity(l->history), &k);
	free(buf);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		fmi_model_file_reject(l, FM_MODEL_LEARNER_STATE_FILE, r);
		return 0;
	}
	r = fm_model_history_restore(l->history, k.minutes, k.n_minutes);
	if (r == 0 && k.has_current)
		r = fm_model_history_restore_current(
		    l->history, &k.current, k.current_n);
	if (r < 0)
		fm_log_errno(LOG_WARNING, r,
		    "Failed to restore the minute ring from '%s/%s', ignoring",
		    l->cfg.state_dir, FM_MODEL_LEARNER_STATE_FILE);
	memcpy(l->rows, k.rows, (size_t)k.rows_held * d * sizeof(float));
	l->rows_held = k.rows_held;
	l->rows_head = k.rows_held % l->cfg.train_rows;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		l->onsets[s] = k.onsets[s];
	l->seen_rows = k.seen_rows;
	pthread_mutex_lock(&l->status_lock);
	l->status.events = k.events;
	l->status.accepts = k.accepts;
	l->status.seen_rows = k.seen_rows;
	l->status.scored = k.scored;
	l->status.alarms = k.alarms;
	l->status.trainings = k.trainings;
	l->status.train_failures = k.train_failures;
	l->status.rows_held = k.rows_held;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		l->status.failure[s].onsets = k.onsets[s];
		l->status.failure[s].probability = k.probability[s];
	}
	/* what the loaded detector was trained on and is doing; without it
	 * the schedule starts again (it trains as soon as rows suffice) */
	if (ready) {
		if (k.trained_real_ns > 0)
			l->status.trained_real_ns = k.trained_real_ns;
		l->status.trained_rows = k.trained_rows;
		l->status.train_cpu_seconds = k.train_cpu_seconds;
		l->status.alarm = k.alarm;
		l->keep_train_real_ns = k.last_train_real_ns;
		l->trained_n = k.trained_n;
		/* the alarm in progress and its samples waiting (the newest
		 * that fit, should accept_seconds have shrunk) */
		if (k.alarm) {
			uint32_t n = k.pend_held < l->pend_cap ? k.pend_held
			                                       : l->pend_cap;

			memcpy(l->pend,
			    k.pend + (size_t)(k.pend_held - n) * d,
			    (size_t)n * d * sizeof(float));
			l->pend_held = n;
			l->pend_head = n % l->pend_cap;
			l->alarm_rows = k.alarm_rows;
			l->accepting = k.accepting;
			l->held_labels = k.held_labels;
		}
		l->trained_once = k.trainings > 0;
	}
	l->keep_trainings = l->status.trainings;
	pthread_mutex_unlock(&l->status_lock);
	fm_log(LOG_INFO,
	    "Restored the learner state from '%s/%s': %u samples and %u "
	    "minutes kept, %llu alarms, %u trainings%s",
	    l->cfg.state_dir, FM_MODEL_LEARNER_STATE_FILE, k.rows_held,
	    k.n_minutes, (unsigned long long)k.alarms, k.trainings,
	    ready && k.alarm ? ", an alarm in progress" : "");
	fmi_model_keep_release(&k);
	return 0;
}

/* Copies ring rows[cap] (head: next slot, held rows) out oldest first. */
static void
rows_unwrap(
    const float *ring, uint32_t cap, uint32_t head, uint32_t held, float *dst)
{
	const size_t d = FM_FEATURE_COUNT;
	uint32_t first = (head + cap - held) % cap;
	uint32_t n1 = held < cap - first ? held : cap - first;

	memcpy(dst, ring + (size_t)first * d, (size_t)n1 * d * sizeof(float));
	memcpy(dst + (size_t)n1 * d, ring,
	    (size_t)(held - n1) * d * sizeof(float));
}

void
fmi_model_keep_save(fm_model_learner *l)
{
	fmi_model_keep k = {
		.saved_real_ns = l->keep_real_ns,
		.train_rows = l->cfg.train_rows,
		.rows_held = l->rows_held,
		.n_minutes = fm_model_history_minute_count(l->history),
	};
	uint8_t *buf = NULL;
	size_t len;
	int r;

	if (!l->keep_seen || !l->cfg.state_dir[0])
		return;
	pthread_mutex_lock(&l->status_lock);
	k.scored = l->status.scored;
	k.alarms = l->status.alarms;
	k.trainings = l->status.trainings;
	k.train_failures = l->status.train_failures;
	k.trained_real_ns = l->status.trained_real_ns;
	k.trained_rows = l->status.trained_rows;
	k.train_cpu_seconds = l->status.train_cpu_seconds;
	k.alarm = l->status.alarm;
	k.events = l->status.events;
	k.accepts = l->status.accepts;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		k.probability[s] = l->status.failure[s].probability;
	pthread_mutex_unlock(&l->status_lock);
	k.seen_rows = l->seen_rows;
	k.trained_n = l->trained_n;
	k.alarm_rows = l->alarm_rows;
	k.accepting = l->accepting;
	k.held_labels = l->held_labels;
	k.pend_held = l->pend_held;
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		k.onsets[s] = l->onsets[s];
	/* the schedule in wall-clock time, by the last sample's clocks */
	if (l->last_train_mono_ns != 0)
		k.last_train_real_ns =
		    l->keep_real_ns - (l->keep_mono_ns - l->last_train_mono_ns);
	if (k.last_train_real_ns < 0)
		k.last_train_real_ns = 0;
	k.rows = malloc(
	    ((size_t)k.rows_held * FM_FEATURE_COUNT + 1) * sizeof(float));
	k.minutes = malloc(((size_t)k.n_minutes + 1) * sizeof(*k.minutes));
	k.pend = malloc(
	    ((size_t)k.pend_held * FM_FEATURE_COUNT + 1) * sizeof(float));
	if (!k.rows || !k.minutes || !k.pend) {
		r = -ENOMEM;
		goto out;
	}
	rows_unwrap(
	    l->rows, l->cfg.train_rows, l->rows_head, l->rows_held, k.rows);
	rows_unwrap(l->pend, l->pend_cap, l->pend_head, l->pend_held, k.pend);
	for (uint32_t i = 0; i < k.n_minutes; i++)
		k.minutes[i] = *fm_model_history_minute_get(
		    l->history, k.n_minutes - 1 - i);
	k.has_current =
	    fm_model_history_current(l->history, &k.current, k.current_n);
	r = fmi_model_keep_encode(&k, &buf, &len);
	if (r == 0)
		(void)fmi_model_file_write(
		    l, FM_MODEL_LEARNER_STATE_FILE, buf, len);
out:
	if (r < 0)
		fm_log_errno(LOG_WARNING, r,
		    "Failed to encode the learner state, ignoring");
	free(buf);
	fmi_model_keep_release(&k);
}

/* Writes the detector with its scoring state, then the state file. No
 * training runs, so nothing else writes the detector's file meanwhile. */
static void
checkpoint(fm_model_learner *l)
{
	int64_t t0 = fm_time_mono_ns();
	uint8_t *buf = NULL;
	size_t len;

	if (fm_learn_detector_is_ready(l->det) &&
	    fm_learn_detector_save(l->det, &buf, &len) == 0)
		(void)fmi_model_file_write(
		    l, FM_MODEL_LEARNER_DETECTOR_FILE, buf, len);
	free(buf);
	fmi_model_keep_save(l);
	l->keep_due_mono_ns = l->keep_mono_ns +
	    (int64_t)FM_MODEL_LEARNER_KEEP_SECONDS * FM_NSEC_PER_SEC;
	l->keep_trainings = l->status.trainings;
	fm_log(LOG_DEBUG, "Checkpointed the learner state in %.1f ms",
	    (double)(fm_time_mono_ns() - t0) / 1e6);
}

void
fmi_model_keep_on_sample(fm_model_learner *l, const fm_collect_sample *s)
{
	if (!l->keep_seen) {
		l->keep_seen = true;
		l->keep_due_mono_ns = s->mono_ns +
		    (int64_t)FM_MODEL_LEARNER_KEEP_SECONDS * FM_NSEC_PER_SEC;
	}
	l->keep_mono_ns = s->mono_ns;
	l->keep_real_ns = s->real_ns;
	/* the loaded schedule on this run's monotonic clock: the next
	 * training is due retrain_seconds after the last one began (a time
	 * before this boot is a negative time on it, which is fine) */
	if (l->keep_train_real_ns != 0) {
		int64_t ago = s->real_ns - l->keep_train_real_ns;

		l->last_train_mono_ns = s->mono_ns - (ago > 0 ? ago : 0);
		if (l->last_train_mono_ns == 0)
			l->last_train_mono_ns = -1; /* 0 means never */
		l->keep_train_real_ns = 0;
	}
	if (!l->cfg.state_dir[0] || l->busy)
		return;
	if (s->mono_ns >= l->keep_due_mono_ns ||
	    l->status.trainings != l->keep_trainings)
		checkpoint(l);
}
