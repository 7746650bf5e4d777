/* UPDATE: one agent's model update for one round. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto-int.h"

static bool
kind_is_valid(uint32_t kind)
{
	return kind == FM_PROTO_UPDATE_PARAMS || kind == FM_PROTO_UPDATE_DELTA;
}

int
fm_proto_update_encode(
    const fm_proto_update *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__V1__Update pm = FEDMON__V1__UPDATE__INIT;

	assert(m && ret_buf && ret_len);
	if (m->n_params > FM_PROTO_MAX_PARAMS)
		return -EMSGSIZE;
	if (!kind_is_valid(m->kind) || (!m->params && m->n_params > 0))
		return -EINVAL;
	if (!isfinite(m->loss) ||
	    !fmi_proto_floats_are_finite(m->params, m->n_params))
		return -EDOM;

	pm.round = m->round;
	pm.base_version = m->base_version;
	pm.layout_id = m->layout_id;
	pm.kind = m->kind;
	pm.samples = m->samples;
	pm.loss = m->loss;
	pm.param_count = m->n_params;
	pm.n_params = m->n_params;
	pm.params = m->params;
	return fmi_proto_pack(
	    &pm.base, FM_PROTO_BODY_MAX_BYTES, ret_buf, ret_len);
}

/* Checks a decoded update: -EBADMSG for a field out of range, then -EDOM
 * for a non-finite float. */
static int
validate(const Fedmon__V1__Update *pm)
{
	if (!kind_is_valid(pm->kind) || pm->param_count > FM_PROTO_MAX_PARAMS ||
	    pm->n_params != pm->param_count)
		return -EBADMSG;
	if (!isfinite(pm->loss) ||
	    !fmi_proto_floats_are_finite(pm->params, pm->n_params))
		return -EDOM;
	return 0;
}

int
fm_proto_update_decode(const uint8_t *buf, size_t len, fm_proto_update *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__V1__Update *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__v1__update__descriptor, buf, len,
	    FM_PROTO_BODY_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__V1__Update *)p;
	r = validate(pm);
	if (r < 0)
		goto out_free;
	ret->round = pm->round;
	ret->base_version = pm->base_version;
	ret->layout_id = pm->layout_id;
	ret->kind = pm->kind;
	ret->samples = pm->samples;
	ret->loss = pm->loss;
	ret->n_params = pm->param_count;
	/* Take the parameters over (malloc'd, see fmi_proto_unpack()). */
	ret->params = pm->params;
	pm->params = NULL;
	pm->n_params = 0;
out_free:
	fmi_proto_message_free(p);
	return r;
}

void
fm_proto_update_clear(fm_proto_update *m)
{
	if (!m)
		return;
	free(m->params);
	memset(m, 0, sizeof(*m));
}

/* The message table's view of the codec (msg.c). */
static int
codec_encode(const void *m, uint8_t **ret_buf, size_t *ret_len)
{
	return fm_proto_update_encode(m, ret_buf, ret_len);
}

static int
codec_decode(const uint8_t *buf, size_t len, void *ret)
{
	return fm_proto_update_decode(buf, len, ret);
}

static void
codec_clear(void *m)
{
	fm_proto_update_clear(m);
}

const fm_proto_codec fmi_proto_update_codec = {
	.size = sizeof(fm_proto_update),
	.encode = codec_encode,
	.decode = codec_decode,
	.clear = codec_clear,
};
