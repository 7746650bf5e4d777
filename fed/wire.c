/*
 * The federation wire: envelopes whose body is sealed under the header
 * (proto/ encodes, crypto/ seals), the ERROR reply (unsealed, or with a
 * sealed refusal), and the freshness test both sides apply to
 * timestamps.
 */
#include <errno.h>
#include <stdlib.h>

#include "fed/fed.h"

/* Seals body[len] under h into an envelope with error (FM_PROTO_OK, or
 * the reason of an ERROR whose sealed refusal body is). */
static int
seal(const fm_crypto_session *s, const fm_proto_header *h, uint32_t error,
    const uint8_t *body, size_t len, uint8_t **ret_buf, size_t *ret_len)
{
	uint8_t ad[FM_PROTO_AD_BYTES];
	uint8_t *sealed;
	size_t sealed_len;
	int r;

	if (len > FM_PROTO_BODY_MAX_BYTES)
		return -EMSGSIZE;
	sealed_len = len + FM_CRYPTO_SEAL_OVERHEAD_BYTES;
	sealed = malloc(sealed_len);
	if (!sealed)
		return -ENOMEM;
	fm_proto_header_ad(h, ad);
	r = fm_crypto_seal(s, ad, sizeof(ad), body, len, sealed, sealed_len);
	if (r < 0) {
		/* Only -ENOBUFS, which the size above rules out. */
		r = -EIO;
		goto out_free;
	}
	r = fm_proto_envelope_encode(
	    h, error, sealed, sealed_len, ret_buf, ret_len);
out_free:
	free(sealed);
	return r;
}

int
fm_fed_seal(const fm_crypto_session *s, const fm_proto_header *h,
    const uint8_t *body, size_t len, uint8_t **ret_buf, size_t *ret_len)
{
	if (!s || !h || (!body && len > 0) || !ret_buf || !ret_len ||
	    h->type == FM_PROTO_ERROR)
		return -EINVAL;
	return seal(s, h, FM_PROTO_OK, body, len, ret_buf, ret_len);
}

int
fm_fed_open(const fm_crypto_session *s, const fm_proto_envelope *e,
    uint8_t **ret_body, size_t *ret_len)
{
	uint8_t ad[FM_PROTO_AD_BYTES];
	uint8_t *body;
	size_t cap, len;
	int r;

	if (!s || !e || !ret_body || !ret_len)
		return -EINVAL;
	if (!e->sealed)
		return -EINVAL;
	if (e->sealed_len < FM_CRYPTO_SEAL_OVERHEAD_BYTES)
		return -EBADMSG;
	cap = e->sealed_len - FM_CRYPTO_SEAL_OVERHEAD_BYTES;
	/* An empty body still gets a buffer the caller can free. */
	body = malloc(cap > 0 ? cap : 1);
	if (!body)
		return -ENOMEM;
	fm_proto_header_ad(&e->h, ad);
	r = fm_crypto_open(
	    s, ad, sizeof(ad), e->sealed, e->sealed_len, body, cap, &len);
	if (r < 0) {
		free(body);
		/* -ENOBUFS cannot happen with cap as above. */
		return r == -EBADMSG ? -EBADMSG : -EIO;
	}
	*ret_body = body;
	*ret_len = len;
	return 0;
}

/* The ERROR header answering req. */
static fm_proto_header
error_header(const fm_proto_header *req, uint64_t self_id, int64_t now_ms)
{
	fm_proto_header h = {
		.version = FM_PROTO_VERSION,
		.type = FM_PROTO_ERROR,
		.sender = self_id,
		.timestamp_ms = now_ms,
	};

	if (req) {
		h.recipient = req->sender;
		h.round = req->round;
		h.seq = req->seq;
	}
	return h;
}

int
fm_fed_error_encode(const fm_proto_header *req, uint64_t self_id,
    uint32_t reason, int64_t now_ms, uint8_t **ret_buf, size_t *ret_len)
{
	fm_proto_header h = error_header(req, self_id, now_ms);

	if (!ret_buf || !ret_len)
		return -EINVAL;
	return fm_proto_envelope_encode(&h, reason, NULL, 0, ret_buf, ret_len);
}

int
fm_fed_refusal_encode(const fm_crypto_session *s, const fm_proto_header *req,
    uint64_t self_id, const fm_proto_refusal *m, int64_t now_ms,
    uint8_t **ret_buf, size_t *ret_len)
{
	fm_proto_header h;
	uint8_t *body = NULL;
	size_t len;
	int r;

	if (!s || !req || !m || !ret_buf || !ret_len)
		return -EINVAL;
	h = error_header(req, self_id, now_ms);
	r = fm_proto_refusal_encode(m, &body, &len);
	if (r < 0)
		return r;
	r = seal(s, &h, m->reason, body, len, ret_buf, ret_len);
	free(body);
	return r;
}

bool
fm_fed_timestamp_is_fresh(int64_t ts_ms, int64_t now_ms, int64_t window_ms)
{
	uint64_t diff;

	if (window_ms < 0)
		return false;
	/* The distance in unsigned arithmetic: no overflow at the ends. */
	diff = ts_ms >= now_ms ? (uint64_t)ts_ms - (uint64_t)now_ms
	                       : (uint64_t)now_ms - (uint64_t)ts_ms;
	return diff <= (uint64_t)window_ms;
}
