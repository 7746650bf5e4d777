/*
 * Fuzz target: the envelope decoder (proto/envelope.c) and, behind it,
 * every body decoder on the sealed bytes (in the daemons those are opened
 * by crypto/ first; here the fuzzer reaches the body decoders through
 * plain bodies too). An envelope the decoder accepts must encode again
 * and decode to the same header, reason and body, and its associated
 * data must be computable. The seed corpus comes from
 * tests/proto/gen-proto-corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
try_bodies(const uint8_t *b, size_t len)
{
	fm_proto_hello hello;
	fm_proto_round round;
	fm_proto_update update;
	fm_proto_verdict verdict;

	if (fm_proto_hello_decode(b, len, &hello) == 0 &&
	    !memchr(hello.agent_version, 0, sizeof(hello.agent_version)))
		abort();
	if (fm_proto_round_decode(b, len, &round) == 0)
		fm_proto_round_clear(&round);
	if (fm_proto_update_decode(b, len, &update) == 0)
		fm_proto_update_clear(&update);
	if (fm_proto_verdict_decode(b, len, &verdict) == 0 &&
	    verdict.reason >= FM_PROTO_REASON_COUNT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ad[FM_PROTO_AD_BYTES];
	fm_proto_envelope e, again;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = fm_proto_envelope_decode(data, size, &e);
	if (r < 0) {
		fm_proto_envelope_clear(&e);
		return 0;
	}
	fm_proto_header_ad(&e.h, ad);
	if (fm_proto_envelope_encode(
	        &e.h, e.error, e.sealed, e.sealed_len, &buf, &len) < 0 ||
	    fm_proto_envelope_decode(buf, len, &again) < 0 ||
	    memcmp(&again.h, &e.h, sizeof(e.h)) != 0 ||
	    again.error != e.error || again.sealed_len != e.sealed_len ||
	    (e.sealed_len > 0 &&
	        memcmp(again.sealed, e.sealed, e.sealed_len) != 0))
		abort();
	try_bodies(e.sealed, e.sealed_len);
	fm_proto_envelope_clear(&again);
	fm_proto_envelope_clear(&e);
	free(buf);
	return 0;
}
