/* HELLO: an agent joins, or polls for the round that is open. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "proto/proto-int.h"

/* The version string is shown in logs and metrics: printable ASCII. */
static bool
version_text_is_valid(const uint8_t *s, size_t len)
{
	if (len >= FM_PROTO_VERSION_TEXT_BYTES)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

int
fm_proto_hello_encode(
    const fm_proto_hello *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__V1__Hello pm = FEDMON__V1__HELLO__INIT;
	const char *end;

	assert(m && ret_buf && ret_len);
	if (m->n_params > FM_PROTO_MAX_PARAMS)
		return -EMSGSIZE;
	end = memchr(m->agent_version, 0, sizeof(m->agent_version));
	if (!end ||
	    !version_text_is_valid((const uint8_t *)m->agent_version,
	        (size_t)(end - m->agent_version)))
		return -EINVAL;

	pm.schema_version = m->schema_version;
	pm.layout_id = m->layout_id;
	pm.param_count = m->n_params;
	pm.have_version = m->have_version;
	pm.agent_version.data = (uint8_t *)(uintptr_t)m->agent_version;
	pm.agent_version.len = (size_t)(end - m->agent_version);
	return fmi_proto_pack(
	    &pm.base, FM_PROTO_BODY_MAX_BYTES, ret_buf, ret_len);
}

int
fm_proto_hello_decode(const uint8_t *buf, size_t len, fm_proto_hello *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__V1__Hello *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__v1__hello__descriptor, buf, len,
	    FM_PROTO_BODY_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__V1__Hello *)p;
	if (pm->param_count > FM_PROTO_MAX_PARAMS ||
	    !version_text_is_valid(
	        pm->agent_version.data, pm->agent_version.len)) {
		r = -EBADMSG;
		goto out_free;
	}
	ret->schema_version = pm->schema_version;
	ret->layout_id = pm->layout_id;
	ret->n_params = pm->param_count;
	ret->have_version = pm->have_version;
	if (pm->agent_version.len > 0)
		memcpy(ret->agent_version, pm->agent_version.data,
		    pm->agent_version.len);
out_free:
	fmi_proto_message_free(p);
	return r;
}

/* The message table's view of the codec (msg.c). */
static int
codec_encode(const void *m, uint8_t **ret_buf, size_t *ret_len)
{
	return fm_proto_hello_encode(m, ret_buf, ret_len);
}

static int
codec_decode(const uint8_t *buf, size_t len, void *ret)
{
	return fm_proto_hello_decode(buf, len, ret);
}

/* A HELLO owns nothing: clearing is zeroing. */
static void
codec_clear(void *m)
{
	if (m)
		memset(m, 0, sizeof(fm_proto_hello));
}

const fm_proto_codec fmi_proto_hello_codec = {
	.size = sizeof(fm_proto_hello),
	.encode = codec_encode,
	.decode = codec_decode,
	.clear = codec_clear,
};
