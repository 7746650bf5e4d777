/*
 * The envelope: the header in the clear around a sealed body (or, for
 * FM_PROTO_ERROR, a reason code and maybe a sealed refusal), and the
 * associated data that binds the header to the body.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto-int.h"

static const uint8_t ad_tag[8] = { 'f', 'e', 'd', 'm', 'o', 'n', 0, 1 };

static uint8_t *
put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 4;
}

static uint8_t *
put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
	return p + 8;
}

void
fm_proto_header_ad(const fm_proto_header *h, uint8_t ret[FM_PROTO_AD_BYTES])
{
	uint8_t *p = ret;

	memcpy(p, ad_tag, sizeof(ad_tag));
	p += sizeof(ad_tag);
	p = put_le32(p, h->version);
	p = put_le32(p, h->type);
	p = put_le64(p, h->sender);
	p = put_le64(p, h->recipient);
	p = put_le64(p, h->round);
	p = put_le64(p, h->seq);
	p = put_le64(p, (uint64_t)h->timestamp_ms);
	assert(p == ret + FM_PROTO_AD_BYTES);
}

static bool
reason_is_error(uint32_t reason)
{
	return reason > FM_PROTO_OK && reason < FM_PROTO_REASON_COUNT;
}

int
fm_proto_envelope_encode(const fm_proto_header *h, uint32_t error,
    const uint8_t *sealed, size_t sealed_len, uint8_t **ret_buf,
    size_t *ret_len)
{
	Fedmon__V1__Envelope m = FEDMON__V1__ENVELOPE__INIT;
	const fm_proto_msg *row;

	assert(h && ret_buf && ret_len);
	row = fm_proto_msg_get(h->type);
	if (h->version == 0 || !row)
		return -EINVAL;
	if (!row->codec) {
		if (!reason_is_error(error) || (!sealed && sealed_len > 0))
			return -EINVAL;
	} else if (error != FM_PROTO_OK || !sealed || sealed_len == 0) {
		return -EINVAL;
	}
	if (sealed_len > FM_PROTO_ENVELOPE_MAX_BYTES)
		return -EMSGSIZE;

	m.version = h->version;
	m.type = h->type;
	m.sender = h->sender;
	m.recipient = h->recipient;
	m.round = h->round;
	m.seq = h->seq;
	m.timestamp_ms = h->timestamp_ms;
	m.error = error;
	/* protobuf-c's type is not const; packing only reads it. An
	 * ERROR's sealed refusal has a field of its own, which agents that
	 * refuse an ERROR with a body ignore. */
	if (row->codec) {
		m.sealed.data = (uint8_t *)(uintptr_t)sealed;
		m.sealed.len = sealed_len;
	} else {
		m.sealed_refusal.data = (uint8_t *)(uintptr_t)sealed;
		m.sealed_refusal.len = sealed_len;
	}
	return fmi_proto_pack(
	    &m.base, FM_PROTO_ENVELOPE_MAX_BYTES, ret_buf, ret_len);
}

/* Checks a decoded envelope of our version: a type of the message
 * table; a reason and no body (a sealed refusal may come) for a type
 * without one (ERROR), else a body, no reason and no sealed refusal. 0
 * or -EBADMSG. */
static int
validate(const Fedmon__V1__Envelope *m)
{
	const fm_proto_msg *row = fm_proto_msg_get(m->type);

	if (!row)
		return -EBADMSG;
	if (!row->codec)
		return reason_is_error(m->error) && m->sealed.len == 0
		    ? 0
		    : -EBADMSG;
	return m->error == FM_PROTO_OK && m->sealed.len > 0 &&
	        m->sealed_refusal.len == 0
	    ? 0
	    : -EBADMSG;
}

int
fm_proto_envelope_decode(const uint8_t *buf, size_t len, fm_proto_envelope *ret)
{
	ProtobufCMessage *pm = NULL;
	Fedmon__V1__Envelope *m;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__v1__envelope__descriptor, buf, len,
	    FM_PROTO_ENVELOPE_MAX_BYTES, &pm);
	if (r < 0)
		return r;
	m = (Fedmon__V1__Envelope *)pm;

	/* Version 0 is the field's absence: not an envelope at all. */
	if (m->version == 0) {
		r = -EBADMSG;
		goto out_free;
	}
	if (m->version != FM_PROTO_VERSION) {
		/* The rest may mean something else in that version: only the
		 * header is returned, so the caller can say which. */
		r = -EPROTONOSUPPORT;
	} else {
		r = validate(m);
		if (r < 0)
			goto out_free;
	}
	ret->h = (fm_proto_header) { .version = m->version,
		.type = m->type,
		.sender = m->sender,
		.recipient = m->recipient,
		.round = m->round,
		.seq = m->seq,
		.timestamp_ms = m->timestamp_ms };
	if (r == 0) {
		ProtobufCBinaryData *body =
		    m->sealed.len ? &m->sealed : &m->sealed_refusal;

		ret->error = m->error;
		/* Take the body (or an ERROR's sealed refusal) over
		 * (malloc'd, see fmi_proto_unpack()). */
		if (body->len) {
			ret->priv = body->data;
			ret->sealed = body->data;
			ret->sealed_len = body->len;
			body->data = NULL;
			body->len = 0;
		}
	}
out_free:
	fmi_proto_message_free(pm);
	return r;
}

void
fm_proto_envelope_clear(fm_proto_envelope *e)
{
	if (!e)
		return;
	free(e->priv);
	memset(e, 0, sizeof(*e));
}
