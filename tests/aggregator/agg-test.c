/* Helpers shared by the aggregator tests (agg-test.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg-test.h"
#include "fed/fed.h"

void
fleet_init(fleet *f, size_t n)
{
	assert_true(n <= FLEET_MAX);
	memset(f, 0, sizeof(*f));
	assert_int_equal(fm_crypto_init(), 0);
	assert_int_equal(fm_crypto_identity_generate(&f->agg), 0);
	f->agg_id = fm_crypto_identity_key_id(f->agg);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(fm_crypto_identity_generate(&f->agent[i]), 0);
		f->id[i] = fm_crypto_identity_key_id(f->agent[i]);
		assert_int_equal(
		    fm_crypto_session_new(f->agent[i], FM_CRYPTO_ROLE_AGENT,
		        fm_crypto_identity_public(f->agg), &f->sess[i]),
		    0);
	}
	f->n = n;
}

void
fleet_free(fleet *f)
{
	for (size_t i = 0; i < f->n; i++) {
		fm_crypto_session_free(f->sess[i]);
		fm_crypto_identity_free(f->agent[i]);
	}
	fm_crypto_identity_free(f->agg);
	memset(f, 0, sizeof(*f));
}

fm_crypto_keyring *
fleet_keyring(const fleet *f, size_t n_enrolled)
{
	uint8_t keys[FLEET_MAX][FM_CRYPTO_PUBLIC_KEY_BYTES];
	fm_crypto_keyring *kr = NULL;

	for (size_t i = 0; i < n_enrolled; i++)
		memcpy(keys[i], fm_crypto_identity_public(f->agent[i]),
		    FM_CRYPTO_PUBLIC_KEY_BYTES);
	assert_int_equal(fm_crypto_keyring_from_keys(
	                     (const uint8_t(*)[FM_CRYPTO_PUBLIC_KEY_BYTES])keys,
	                     n_enrolled, &kr),
	    0);
	return kr;
}

void
test_config(fm_agg_config *c)
{
	fm_agg_config_init(c);
	c->state_dir[0] = '\0';
	c->clip_norm = 0;
	c->quorum = 2;
	c->deadline_ms = 10000;
	c->interval_ms = 1000;
}

fm_agg *
agg_start(const fm_agg_config *c, fleet *f, size_t n_enrolled)
{
	fm_agg *a = NULL;

	assert_int_equal(
	    fm_agg_new(c, f->agg, fleet_keyring(f, n_enrolled), &a), 0);
	return a;
}

uint8_t *
seal_from(fleet *f, size_t i, uint32_t type, uint64_t round,
    const uint8_t *body, size_t len, int64_t now_ms, size_t *ret_len)
{
	fm_proto_header h = {
		.version = FM_PROTO_VERSION,
		.type = type,
		.sender = f->id[i],
		.recipient = f->agg_id,
		.round = round,
		.seq = ++f->seq[i],
		.timestamp_ms = now_ms,
	};
	uint8_t *buf = NULL;

	assert_int_equal(
	    fm_fed_seal(f->sess[i], &h, body, len, &buf, ret_len), 0);
	return buf;
}

uint8_t *
make_hello(
    fleet *f, size_t i, uint64_t have_version, int64_t now_ms, size_t *ret_len)
{
	fm_proto_hello m = {
		.schema_version = 1,
		.layout_id = LAYOUT,
		.have_version = have_version,
	};
	uint8_t *body = NULL, *buf;
	size_t len;

	snprintf(m.agent_version, sizeof(m.agent_version), "test");
	assert_int_equal(fm_proto_hello_encode(&m, &body, &len), 0);
	buf = seal_from(
	    f, i, FM_PROTO_HELLO, have_version, body, len, now_ms, ret_len);
	free(body);
	return buf;
}

uint8_t *
make_update(fleet *f, size_t i, const fm_proto_update *u, int64_t now_ms,
    size_t *ret_len)
{
	uint8_t *body = NULL, *buf;
	size_t len;

	assert_int_equal(fm_proto_update_encode(u, &body, &len), 0);
	buf = seal_from(
	    f, i, FM_PROTO_UPDATE, u->round, body, len, now_ms, ret_len);
	free(body);
	return buf;
}

uint32_t
error_reason(const uint8_t *reply, size_t len)
{
	fm_proto_envelope e;
	uint32_t reason;

	assert_int_equal(fm_proto_envelope_decode(reply, len, &e), 0);
	assert_int_equal(e.h.type, FM_PROTO_ERROR);
	reason = e.error;
	fm_proto_envelope_clear(&e);
	return reason;
}

uint8_t *
open_reply(fleet *f, size_t i, const uint8_t *reply, size_t len, uint32_t type,
    size_t *ret_len)
{
	fm_proto_envelope e;
	uint8_t *body = NULL;

	assert_int_equal(fm_proto_envelope_decode(reply, len, &e), 0);
	assert_int_equal(e.h.type, type);
	assert_true(e.h.sender == f->agg_id);
	assert_true(e.h.recipient == f->id[i]);
	assert_true(e.h.seq == f->seq[i]);
	assert_int_equal(fm_fed_open(f->sess[i], &e, &body, ret_len), 0);
	fm_proto_envelope_clear(&e);
	return body;
}

int
do_raw(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len)
{
	*ret_reply = NULL;
	return fm_agg_handle(a, req, len, now_ms, ret_reply, ret_len);
}

void
do_hello(fm_agg *a, fleet *f, size_t i, uint64_t have_version, int64_t now_ms,
    fm_proto_round *ret)
{
	uint8_t *req, *reply = NULL, *body;
	size_t len, reply_len, body_len;

	req = make_hello(f, i, have_version, now_ms, &len);
	assert_int_equal(do_raw(a, req, len, now_ms, &reply, &reply_len), 0);
	body = open_reply(f, i, reply, reply_len, FM_PROTO_ROUND, &body_len);
	assert_int_equal(fm_proto_round_decode(body, body_len, ret), 0);
	free(body);
	free(reply);
	free(req);
}

uint32_t
do_update(fm_agg *a, fleet *f, size_t i, const fm_proto_update *u,
    int64_t now_ms, fm_proto_verdict *ret)
{
	uint8_t *req, *reply = NULL, *body;
	size_t len, reply_len, body_len;
	int r;

	req = make_update(f, i, u, now_ms, &len);
	r = do_raw(a, req, len, now_ms, &reply, &reply_len);
	assert_true(r >= 0);
	body = open_reply(f, i, reply, reply_len, FM_PROTO_VERDICT, &body_len);
	assert_int_equal(fm_proto_verdict_decode(body, body_len, ret), 0);
	assert_int_equal(ret->reason, r);
	free(body);
	free(reply);
	free(req);
	return ret->reason;
}

fm_proto_update
update_of(uint64_t round, uint64_t base, uint64_t samples, float *p, uint32_t n)
{
	return (fm_proto_update) {
		.round = round,
		.base_version = base,
		.layout_id = LAYOUT,
		.kind = FM_PROTO_UPDATE_PARAMS,
		.samples = samples,
		.loss = 0.5f,
		.n_params = n,
		.params = p,
	};
}

void
temp_dir(char dir[64])
{
	snprintf(dir, 64, "/tmp/fm-agg-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

void
remove_dir(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

void
count_events(void *userdata, const fm_agg_event *ev)
{
	unsigned *n = userdata;

	assert_true(ev->type > 0 && ev->type < 16);
	n[ev->type]++;
}
