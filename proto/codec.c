/*
 * The one place that calls protobuf-c's runtime: unpacking within a
 * memory budget, packing into a malloc'd buffer. protobuf-c reports every
 * unpack failure as NULL; the allocator below remembers whether malloc()
 * failed, so callers can tell -ENOMEM from a bad encoding.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "proto/proto-int.h"

typedef struct budget {
	ProtobufCAllocator base; /* base.allocator_data points here */
	size_t left;             /* bytes still allowed */
	bool failed;             /* malloc() returned NULL */
} budget;

static void *
budget_alloc(void *data, size_t size)
{
	budget *b = data;
	void *p;

	if (size > b->left)
		return NULL;
	p = malloc(size > 0 ? size : 1);
	if (!p) {
		b->failed = true;
		return NULL;
	}
	b->left -= size;
	return p;
}

static void
budget_free(void *data, void *p)
{
	free(p);
}

int
fmi_proto_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len, size_t cap, ProtobufCMessage **ret)
{
	budget b = { .base = { .alloc = budget_alloc, .free = budget_free } };
	ProtobufCMessage *m;

	assert(d && ret);
	assert(buf || len == 0);
	if (len > cap)
		return -EMSGSIZE;
	/* cap is far below SIZE_MAX / 2: no overflow. */
	b.left = 2 * len + FMI_PROTO_ALLOC_SLACK_BYTES;
	b.base.allocator_data = &b;
	m = protobuf_c_message_unpack(d, &b.base, len, buf);
	if (!m)
		return b.failed ? -ENOMEM : -EBADMSG;
	*ret = m;
	return 0;
}

void
fmi_proto_message_free(ProtobufCMessage *m)
{
	ProtobufCAllocator a = { .alloc = NULL, .free = budget_free };

	if (m)
		protobuf_c_message_free_unpacked(m, &a);
}

int
fmi_proto_pack(
    const ProtobufCMessage *m, size_t cap, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t *buf;
	size_t len, written;

	assert(m && ret_buf && ret_len);
	len = protobuf_c_message_get_packed_size(m);
	if (len > cap)
		return -EMSGSIZE;
	buf = malloc(len > 0 ? len : 1);
	if (!buf)
		return -ENOMEM;
	written = protobuf_c_message_pack(m, buf);
	assert(written == len);
	(void)written;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

bool
fmi_proto_floats_are_finite(const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isfinite(v[i]))
			return false;
	return true;
}
