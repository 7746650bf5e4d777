/* ROUND: the aggregator's answer to HELLO, with the global model when the
 * agent lacks it. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto-int.h"

static bool
phase_is_valid(uint32_t phase)
{
	return phase == FM_PROTO_PHASE_IDLE || phase == FM_PROTO_PHASE_COLLECT;
}

int
fm_proto_round_encode(
    const fm_proto_round *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__V1__Round pm = FEDMON__V1__ROUND__INIT;

	assert(m && ret_buf && ret_len);
	if (m->n_params > FM_PROTO_MAX_PARAMS)
		return -EMSGSIZE;
	if (!phase_is_valid(m->phase) || m->prox_mu < 0)
		return -EINVAL;
	if (!isfinite(m->prox_mu) ||
	    (m->params && !fmi_proto_floats_are_finite(m->params, m->n_params)))
		return -EDOM;

	pm.round = m->round;
	pm.phase = m->phase;
	pm.version = m->version;
	pm.layout_id = m->layout_id;
	pm.param_count = m->n_params;
	if (m->params) {
		pm.n_params = m->n_params;
		pm.params = m->params;
	}
	pm.prox_mu = m->prox_mu;
	pm.local_steps = m->local_steps;
	pm.deadline_ms = m->deadline_ms;
	pm.poll_ms = m->poll_ms;
	pm.contributed = m->contributed;
	return fmi_proto_pack(
	    &pm.base, FM_PROTO_BODY_MAX_BYTES, ret_buf, ret_len);
}

/* Checks a decoded round: -EBADMSG for a field out of range, then -EDOM
 * for a non-finite float. */
static int
validate(const Fedmon__V1__Round *pm)
{
	if (!phase_is_valid(pm->phase) ||
	    pm->param_count > FM_PROTO_MAX_PARAMS ||
	    (pm->n_params > 0 && pm->n_params != pm->param_count) ||
	    pm->prox_mu < 0)
		return -EBADMSG;
	if (!isfinite(pm->prox_mu) ||
	    !fmi_proto_floats_are_finite(pm->params, pm->n_params))
		return -EDOM;
	return 0;
}

int
fm_proto_round_decode(const uint8_t *buf, size_t len, fm_proto_round *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__V1__Round *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__v1__round__descriptor, buf, len,
	    FM_PROTO_BODY_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__V1__Round *)p;
	r = validate(pm);
	if (r < 0)
		goto out_free;
	ret->round = pm->round;
	ret->phase = pm->phase;
	ret->version = pm->version;
	ret->layout_id = pm->layout_id;
	ret->n_params = pm->param_count;
	/* Take the parameters over (malloc'd, see fmi_proto_unpack()). */
	ret->params = pm->params;
	pm->params = NULL;
	pm->n_params = 0;
	ret->prox_mu = pm->prox_mu;
	ret->local_steps = pm->local_steps;
	ret->deadline_ms = pm->deadline_ms;
	ret->poll_ms = pm->poll_ms;
	ret->contributed = pm->contributed;
out_free:
	fmi_proto_message_free(p);
	return r;
}

void
fm_proto_round_clear(fm_proto_round *m)
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
	return fm_proto_round_encode(m, ret_buf, ret_len);
}

static int
codec_decode(const uint8_t *buf, size_t len, void *ret)
{
	return fm_proto_round_decode(buf, len, ret);
}

static void
codec_clear(void *m)
{
	fm_proto_round_clear(m);
}

const fm_proto_codec fmi_proto_round_codec = {
	.size = sizeof(fm_proto_round),
	.encode = codec_encode,
	.decode = codec_decode,
	.clear = codec_clear,
};
