/*
 * The message table: one row per message type (proto.h says what each
 * column means and how to add a message). Every other list of the types
 * is derived from this one.
 */
#include <assert.h>

#include "proto/proto-int.h"

static const fm_proto_msg table[] = {
	[FM_PROTO_HELLO] = {
		.type = FM_PROTO_HELLO,
		.name = "hello",
		.codec = &fmi_proto_hello_codec,
		.reply_type = FM_PROTO_ROUND,
		.phases = FM_PROTO_PHASES_ANY, /* the join, and the poll */
	},
	[FM_PROTO_ROUND] = {
		.type = FM_PROTO_ROUND,
		.name = "round",
		.codec = &fmi_proto_round_codec,
	},
	[FM_PROTO_UPDATE] = {
		.type = FM_PROTO_UPDATE,
		.name = "update",
		.codec = &fmi_proto_update_codec,
		.reply_type = FM_PROTO_VERDICT,
		.phases = FM_PROTO_PHASE_BIT(FM_PROTO_PHASE_COLLECT),
	},
	[FM_PROTO_VERDICT] = {
		.type = FM_PROTO_VERDICT,
		.name = "verdict",
		.codec = &fmi_proto_verdict_codec,
	},
	[FM_PROTO_ERROR] = {
		.type = FM_PROTO_ERROR,
		.name = "error",
	},
};

static_assert(FM_ELEMENTSOF(table) == FM_PROTO_TYPE_END,
    "FM_PROTO_TYPE_END is one above the table's last row");

const fm_proto_msg *
fm_proto_msg_get(uint32_t type)
{
	/* A type left out of the designated initialisers is a zeroed row. */
	if (type == 0 || type >= FM_ELEMENTSOF(table) ||
	    table[type].type != type)
		return NULL;
	return &table[type];
}

bool
fm_proto_msg_is_request(const fm_proto_msg *m)
{
	return m && m->reply_type != 0;
}

bool
fm_proto_msg_is_allowed_in(const fm_proto_msg *m, uint32_t phase)
{
	return fm_proto_msg_is_request(m) && phase < 32 &&
	    (m->phases & FM_PROTO_PHASE_BIT(phase)) != 0;
}
