/*
 * Fuzz target: the learner state file decoder (agent/model/keep.c), what
 * fedmon-agent reads from state_dir at start. Half of the time the
 * input's checksum is set right before decoding, so the fuzzer reaches
 * the field checks behind it. Whatever the bytes: a refusal is one of the
 * documented errors and leaves the state zeroed; an accepted state obeys
 * the decoder's rules (at most train_rows samples and max_minutes whole
 * minutes, no infinity) and survives encoding and decoding
 * again unchanged. The seed corpus comes from `test-agent-keep --corpus
 * DIR` (tests/agent/test-keep.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agent/model/model-int.h"
#include "learn/learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The decoder's limits here: those of the seed corpus. */
#define TRAIN_ROWS  100u
#define MAX_MINUTES 16u

/* The largest input tried: past the seeds, far below the file's caps. */
#define INPUT_MAX_BYTES (1u << 20)

static bool
error_is_documented(int r)
{
	return r == -EPROTO || r == -EBADMSG || r == -EPROTONOSUPPORT ||
	    r == -EMSGSIZE || r == -EDOM || r == -ESTALE || r == -ENOMEM;
}

static void
check_state(const fmi_model_keep *k)
{
	if (k->rows_held > TRAIN_ROWS || k->n_minutes > MAX_MINUTES ||
	    k->train_rows != TRAIN_ROWS || k->trained_rows > TRAIN_ROWS ||
	    (k->rows_held > 0 && !k->rows) || (k->n_minutes > 0 && !k->minutes))
		abort();
	for (size_t i = 0; i < (size_t)k->rows_held * FM_FEATURE_COUNT; i++)
		if (isinf(k->rows[i]))
			abort();
	for (uint32_t i = 0; i < k->n_minutes; i++) {
		const fm_model_history_minute *m = &k->minutes[i];

		if (m->count == 0 ||
		    m->label_onsets >= FM_LABEL_BIT(FM_LABEL_COUNT) ||
		    m->real_ns % (60 * FM_NSEC_PER_SEC) != 0)
			abort();
	}
}

/* Encodes k and decodes it again: the same state, bit for bit. */
static void
check_again(const fmi_model_keep *k)
{
	fmi_model_keep again;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fmi_model_keep_encode(k, &buf, &len) < 0 ||
	    fmi_model_keep_decode(buf, len, TRAIN_ROWS, MAX_MINUTES, &again) <
	        0)
		abort();
	if (again.rows_held != k->rows_held ||
	    again.n_minutes != k->n_minutes || again.scored != k->scored ||
	    again.alarms != k->alarms || again.alarm != k->alarm ||
	    again.trained_real_ns != k->trained_real_ns ||
	    again.last_train_real_ns != k->last_train_real_ns ||
	    memcmp(again.onsets, k->onsets, sizeof(k->onsets)) != 0 ||
	    (k->rows_held > 0 &&
	        memcmp(again.rows, k->rows,
	            (size_t)k->rows_held * FM_FEATURE_COUNT * sizeof(float)) !=
	            0) ||
	    (k->n_minutes > 0 &&
	        memcmp(again.minutes, k->minutes,
	            (size_t)k->n_minutes * sizeof(*k->minutes)) != 0) ||
	    again.has_current != k->has_current ||
	    memcmp(&again.current, &k->current, sizeof(k->current)) != 0 ||
	    memcmp(again.current_n, k->current_n, sizeof(k->current_n)) != 0)
		abort();
	fmi_model_keep_release(&again);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fmi_model_keep k;
	uint8_t *buf;
	int r;

	if (size > INPUT_MAX_BYTES)
		return 0;
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	/* a checksum that holds, half of the time */
	if (size >=
	        FM_LEARN_MODEL_HEADER_BYTES + FM_LEARN_MODEL_TRAILER_BYTES &&
	    (data[size - 1] & 1)) {
		uint32_t crc = fm_learn_crc32c_update(0, buf, size - 4);

		for (int i = 0; i < 4; i++)
			buf[size - 4 + i] = (uint8_t)(crc >> (8 * i));
	}
	r = fmi_model_keep_decode(buf, size, TRAIN_ROWS, MAX_MINUTES, &k);
	if (r < 0) {
		static const fmi_model_keep zero;

		if (!error_is_documented(r) ||
		    memcmp(&k, &zero, sizeof(k)) != 0)
			abort();
	} else {
		check_state(&k);
		check_again(&k);
		fmi_model_keep_release(&k);
	}
	free(buf);
	return 0;
}
