/* VERDICT: the aggregator's answer to an update. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "proto/proto-int.h"

/* A clipped update was accepted: clipping comes only with FM_PROTO_OK. */
static bool
is_valid(uint32_t reason, bool clipped)
{
	return reason < FM_PROTO_REASON_COUNT &&
	    (!clipped || reason == FM_PROTO_OK);
}

int
fm_proto_verdict_encode(
    const fm_proto_verdict *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__V1__Verdict pm = FEDMON__V1__VERDICT__INIT;

	assert(m && ret_buf && ret_len);
	if (!is_valid(m->reason, m->clipped))
		return -EINVAL;
	pm.round = m->round;
	pm.reason = m->reason;
	pm.clipped = m->clipped;
	pm.poll_ms = m->poll_ms;
	return fmi_proto_pack(
	    &pm.base, FM_PROTO_BODY_MAX_BYTES, ret_buf, ret_len);
}

int
fm_proto_verdict_decode(const uint8_t *buf, size_t len, fm_proto_verdict *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__V1__Verdict *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__v1__verdict__descriptor, buf, len,
	    FM_PROTO_BODY_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__V1__Verdict *)p;
	if (!is_valid(pm->reason, pm->clipped)) {
		r = -EBADMSG;
		goto out_free;
	}
	ret->round = pm->round;
	ret->reason = pm->reason;
	ret->clipped = pm->clipped;
	ret->poll_ms = pm->poll_ms;
out_free:
	fmi_proto_message_free(p);
	return r;
}

/* The message table's view of the codec (msg.c). */
static int
codec_encode(const void *m, uint8_t **ret_buf, size_t *ret_len)
{
	return fm_proto_verdict_encode(m, ret_buf, ret_len);
}

static int
codec_decode(const uint8_t *buf, size_t len, void *ret)
{
	return fm_proto_verdict_decode(buf, len, ret);
}

/* A VERDICT owns nothing: clearing is zeroing. */
static void
codec_clear(void *m)
{
	if (m)
		memset(m, 0, sizeof(fm_proto_verdict));
}

const fm_proto_codec fmi_proto_verdict_codec = {
	.size = sizeof(fm_proto_verdict),
	.encode = codec_encode,
	.decode = codec_decode,
	.clear = codec_clear,
};
