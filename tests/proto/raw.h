/*
 * Helpers for proto's tests: pack a generated message as it stands, so a
 * test can put on the wire what our encoders refuse to.
 */
#ifndef FM_TESTS_PROTO_RAW_H
#define FM_TESTS_PROTO_RAW_H

#include <stdint.h>
#include <stdlib.h>

#include "proto/proto-int.h"

/* Packs m into a new heap buffer (aborts on failure). */
static inline uint8_t *
raw_pack(const ProtobufCMessage *m, size_t *ret_len)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len > 0 ? len : 1);

	if (!buf || protobuf_c_message_pack(m, buf) != len)
		abort();
	*ret_len = len;
	return buf;
}

/* Whether all n bytes at p are zero. */
static inline int
raw_is_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

#endif
