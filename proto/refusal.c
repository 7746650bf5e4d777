/*
 * The sealed refusal an ERROR may carry (fedmon.proto: Refusal): not a
 * row of the message table, since it rides in the ERROR envelope's own
 * field, sealed by fed/ under that envelope's header.
 */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "proto/proto-int.h"

/* A reason, and a floor only with REPLAY. */
static bool
is_valid(uint32_t reason, uint64_t seq_floor)
{
	return reason > FM_PROTO_OK && reason < FM_PROTO_REASON_COUNT &&
	    (seq_floor == 0 || reason == FM_PROTO_REASON_REPLAY);
}

int
fm_proto_refusal_encode(
    const fm_proto_refusal *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__V1__Refusal pm = FEDMON__V1__REFUSAL__INIT;

	assert(m && ret_buf && ret_len);
	if (!is_valid(m->reason, m->seq_floor))
		return -EINVAL;
	pm.reason = m->reason;
	pm.seq_floor = m->seq_floor;
	return fmi_proto_pack(
	    &pm.base, FM_PROTO_BODY_MAX_BYTES, ret_buf, ret_len);
}

int
fm_proto_refusal_decode(const uint8_t *buf, size_t len, fm_proto_refusal *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__V1__Refusal *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__v1__refusal__descriptor, buf, len,
	    FM_PROTO_BODY_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__V1__Refusal *)p;
	if (is_valid(pm->reason, pm->seq_floor)) {
		ret->reason = pm->reason;
		ret->seq_floor = pm->seq_floor;
	} else {
		r = -EBADMSG;
	}
	fmi_proto_message_free(p);
	return r;
}
