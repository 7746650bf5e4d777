/*
 * Fuzz target: the body decoders (proto/hello.c, round.c, update.c,
 * verdict.c), each on the same input. A body a decoder accepts must
 * encode again and decode to the same values (the decoders and encoders
 * agree on what is valid). Then every body codec of the message table
 * (proto/msg.c), so a new message is fuzzed from its row on: what it
 * decodes encodes, and that encoding is a fixed point. The seed corpus
 * comes from tests/proto/gen-proto-corpus.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
floats_equal(const float *a, const float *b, uint32_t n)
{
	if (!a || !b)
		return a == b;
	return memcmp(a, b, (size_t)n * sizeof(float)) == 0;
}

static void
check_hello(const uint8_t *data, size_t size)
{
	fm_proto_hello m, again;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fm_proto_hello_decode(data, size, &m) < 0)
		return;
	if (fm_proto_hello_encode(&m, &buf, &len) < 0 ||
	    fm_proto_hello_decode(buf, len, &again) < 0 ||
	    again.schema_version != m.schema_version ||
	    again.layout_id != m.layout_id || again.n_params != m.n_params ||
	    again.have_version != m.have_version ||
	    memcmp(again.agent_version, m.agent_version,
	        sizeof(m.agent_version)) != 0)
		abort();
	free(buf);
}

static void
check_round(const uint8_t *data, size_t size)
{
	fm_proto_round m, again;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fm_proto_round_decode(data, size, &m) < 0)
		return;
	if (fm_proto_round_encode(&m, &buf, &len) < 0 ||
	    fm_proto_round_decode(buf, len, &again) < 0 ||
	    again.round != m.round || again.phase != m.phase ||
	    again.version != m.version || again.layout_id != m.layout_id ||
	    again.n_params != m.n_params ||
	    !floats_equal(again.params, m.params, m.n_params) ||
	    memcmp(&again.prox_mu, &m.prox_mu, sizeof(float)) != 0 ||
	    again.local_steps != m.local_steps ||
	    again.deadline_ms != m.deadline_ms || again.poll_ms != m.poll_ms ||
	    again.contributed != m.contributed)
		abort();
	free(buf);
	fm_proto_round_clear(&again);
	fm_proto_round_clear(&m);
}

static void
check_update(const uint8_t *data, size_t size)
{
	fm_proto_update m, again;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fm_proto_update_decode(data, size, &m) < 0)
		return;
	if (fm_proto_update_encode(&m, &buf, &len) < 0 ||
	    fm_proto_update_decode(buf, len, &again) < 0 ||
	    again.round != m.round || again.base_version != m.base_version ||
	    again.layout_id != m.layout_id || again.kind != m.kind ||
	    again.samples != m.samples ||
	    memcmp(&again.loss, &m.loss, sizeof(float)) != 0 ||
	    again.n_params != m.n_params ||
	    !floats_equal(again.params, m.params, m.n_params))
		abort();
	free(buf);
	fm_proto_update_clear(&again);
	fm_proto_update_clear(&m);
}

static void
check_verdict(const uint8_t *data, size_t size)
{
	fm_proto_verdict m, again;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (fm_proto_verdict_decode(data, size, &m) < 0)
		return;
	if (fm_proto_verdict_encode(&m, &buf, &len) < 0 ||
	    fm_proto_verdict_decode(buf, len, &again) < 0 ||
	    again.round != m.round || again.reason != m.reason ||
	    again.clipped != m.clipped || again.poll_ms != m.poll_ms)
		abort();
	free(buf);
}

static void
check_row(const fm_proto_msg *row, const uint8_t *data, size_t size)
{
	fm_proto_body m, again;
	uint8_t *buf = NULL, *buf2 = NULL;
	size_t len = 0, len2 = 0;

	if (row->codec->decode(data, size, &m) < 0)
		return;
	if (row->codec->encode(&m, &buf, &len) < 0 ||
	    row->codec->decode(buf, len, &again) < 0 ||
	    row->codec->encode(&again, &buf2, &len2) < 0 || len2 != len ||
	    memcmp(buf2, buf, len) != 0)
		abort();
	free(buf2);
	free(buf);
	row->codec->clear(&again);
	row->codec->clear(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_hello(data, size);
	check_round(data, size);
	check_update(data, size);
	check_verdict(data, size);
	for (uint32_t type = 0; type < FM_PROTO_TYPE_END; type++) {
		const fm_proto_msg *row = fm_proto_msg_get(type);

		if (row && row->codec)
			check_row(row, data, size);
	}
	return 0;
}
