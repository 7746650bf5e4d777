/*
 * Fuzz target: the aggregator's state file and replay journal decoders
 * (aggregator/state.c, aggregator/journal.c), what a restart reads from
 * disk. The first byte picks the decoder. For the state file the input's
 * checksum is set right before decoding half of the time, so the fuzzer
 * reaches the field checks behind it. Whatever the bytes: a refusal is
 * -EBADMSG, -EPROTONOSUPPORT or -ENOMEM and leaves the state zeroed; an
 * accepted state obeys the decoder's documented rules and encodes back
 * to the same bytes; the journal reports each record once, in order, and
 * accounts for every byte.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"
#include "learn/learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest input tried: well past the header and a few marks, far
 * below the state's caps (which only cost the fuzzer time). */
#define INPUT_MAX_BYTES (1u << 20)

static void
check_state(const fmi_agg_state *s, const uint8_t *buf, size_t len)
{
	uint8_t *again = NULL;
	size_t again_len = 0;

	if (s->version == 0 && (s->n_params || s->params))
		abort();
	for (uint32_t i = 0; i < s->n_params; i++)
		if (!isfinite(s->params[i]))
			abort();
	for (uint64_t i = 0; i < s->n_marks; i++)
		if (s->marks[i].id == 0 ||
		    (i && s->marks[i].id <= s->marks[i - 1].id))
			abort();
	if (fmi_agg_state_encode(s, &again, &again_len) < 0)
		abort();
	if (again_len != len || memcmp(again, buf, len) != 0)
		abort();
	free(again);
}

static void
fuzz_state(const uint8_t *data, size_t size, bool fix_crc)
{
	fmi_agg_state s;
	uint8_t *buf;
	int r;

	buf = malloc(size ? size : 1);
	if (!buf)
		return;
	memcpy(buf, data, size);
	if (fix_crc && size >= 4) {
		uint32_t crc = fm_learn_crc32c_update(0, buf, size - 4);

		/* the state file stores it little-endian, like every field */
		buf[size - 4] = (uint8_t)crc;
		buf[size - 3] = (uint8_t)(crc >> 8);
		buf[size - 2] = (uint8_t)(crc >> 16);
		buf[size - 1] = (uint8_t)(crc >> 24);
	}
	memset(&s, 0xa5, sizeof(s));
	r = fmi_agg_state_decode(buf, size, &s);
	if (r == 0) {
		check_state(&s, buf, size);
		fmi_agg_state_clear(&s);
	} else {
		static const fmi_agg_state zero;

		if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMEM)
			abort();
		if (memcmp(&s, &zero, sizeof(s)) != 0)
			abort();
	}
	free(buf);
}

struct seen {
	size_t n;
	size_t cap;
};

static int
on_record(void *userdata, uint64_t id, uint64_t seq)
{
	struct seen *seen = userdata;

	(void)id;
	(void)seq;
	if (++seen->n > seen->cap)
		abort();
	return 0;
}

static void
fuzz_journal(const uint8_t *data, size_t size)
{
	struct seen seen = { .cap = size / FMI_AGG_JOURNAL_RECORD_BYTES };
	fmi_agg_journal_scan scan;

	/* Nothing is refused: every byte is in a record taken or dropped. */
	if (fmi_agg_journal_parse(data, size, on_record, &seen, &scan) != 0 ||
	    scan.records != seen.n ||
	    scan.records * FMI_AGG_JOURNAL_RECORD_BYTES + scan.dropped_bytes !=
	        size ||
	    (scan.dropped_bytes == 0) != (scan.dropped_runs == 0) ||
	    scan.first_dropped > size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > INPUT_MAX_BYTES)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_state(data + 1, size - 1, false);
		break;
	case 1:
		fuzz_state(data + 1, size - 1, true);
		break;
	default:
		fuzz_journal(data + 1, size - 1);
		break;
	}
	return 0;
}
