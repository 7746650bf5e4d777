/*
 * Fuzz target: the control socket's decoders (proto/ctl.c), request and
 * reply, on the same input. A message a decoder accepts (or fills while
 * refusing its version) must encode again, and that encoding must decode
 * and encode to the same bytes: the decoders and encoders agree on what
 * is valid. The seed corpus comes from tests/proto/gen-ctl-corpus.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
accepted(int r)
{
	return r == 0 || r == -EPROTONOSUPPORT;
}

static void
check_request(const uint8_t *data, size_t size)
{
	fm_proto_ctl_request m, again;
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (!accepted(fm_proto_ctl_request_decode(data, size, &m)))
		return;
	if (fm_proto_ctl_request_encode(&m, &b1, &l1) < 0 ||
	    !accepted(fm_proto_ctl_request_decode(b1, l1, &again)) ||
	    fm_proto_ctl_request_encode(&again, &b2, &l2) < 0 || l1 != l2 ||
	    memcmp(b1, b2, l1) != 0 || again.version != m.version ||
	    again.kind != m.kind || again.failing != m.failing)
		abort();
	free(b1);
	free(b2);
}

static void
check_reply(const uint8_t *data, size_t size)
{
	fm_proto_ctl_reply *m = malloc(sizeof(*m));
	fm_proto_ctl_reply *again = malloc(sizeof(*again));
	uint8_t *b1 = NULL, *b2 = NULL;
	size_t l1 = 0, l2 = 0;

	if (!m || !again)
		abort();
	if (accepted(fm_proto_ctl_reply_decode(data, size, m)) &&
	    (fm_proto_ctl_reply_encode(m, &b1, &l1) < 0 ||
	        !accepted(fm_proto_ctl_reply_decode(b1, l1, again)) ||
	        fm_proto_ctl_reply_encode(again, &b2, &l2) < 0 || l1 != l2 ||
	        memcmp(b1, b2, l1) != 0))
		abort();
	free(b1);
	free(b2);
	free(again);
	free(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_request(data, size);
	check_reply(data, size);
	return 0;
}
