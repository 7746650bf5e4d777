/* Reason codes' stable names, used on /metrics labels and in logs. */
#include "proto/proto.h"

static const char *const reason_names[FM_PROTO_REASON_COUNT] = {
	[FM_PROTO_OK] = "ok",
	[FM_PROTO_REASON_MALFORMED] = "malformed",
	[FM_PROTO_REASON_VERSION] = "version",
	[FM_PROTO_REASON_TOO_LARGE] = "too_large",
	[FM_PROTO_REASON_UNKNOWN_KEY] = "unknown_key",
	[FM_PROTO_REASON_BAD_SEAL] = "bad_seal",
	[FM_PROTO_REASON_REPLAY] = "replay",
	[FM_PROTO_REASON_CLOCK] = "clock",
	[FM_PROTO_REASON_ROUND_CLOSED] = "round_closed",
	[FM_PROTO_REASON_LAYOUT] = "layout",
	[FM_PROTO_REASON_NORM] = "norm",
	[FM_PROTO_REASON_DUPLICATE] = "duplicate",
	[FM_PROTO_REASON_UNEXPECTED] = "unexpected",
	[FM_PROTO_REASON_STALE_BASE] = "stale_base",
	[FM_PROTO_REASON_RECIPIENT] = "recipient",
	[FM_PROTO_REASON_INTERNAL] = "internal",
};

const char *
fm_proto_reason_name(uint32_t reason)
{
	if (reason >= FM_PROTO_REASON_COUNT || !reason_names[reason])
		return "unknown";
	return reason_names[reason];
}
