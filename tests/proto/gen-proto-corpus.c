/*
 * Writes the seed corpora of tests/fuzz/fuzz-envelope.c and
 * tests/fuzz/fuzz-body.c into DIR/envelope and DIR/body: a valid
 * encoding of every message (envelopes carry a plain body where the
 * sealed one would be, so the fuzzer reaches the body decoders through
 * them) and a few broken ones. Deterministic.
 *
 * Usage: gen-proto-corpus DIR  (DIR/envelope and DIR/body must exist)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static const char *dir;

static void
die(const char *what)
{
	fprintf(stderr, "gen-proto-corpus: %s\n", what);
	exit(1);
}

static void
check(int r, const char *what)
{
	if (r < 0) {
		fprintf(
		    stderr, "gen-proto-corpus: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

static void
emit(const char *sub, const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		die(path);
}

/* Emits body as a body, and inside an envelope of type. */
static void
emit_both(const char *name, uint32_t type, uint8_t *body, size_t len)
{
	fm_proto_header h = { .version = FM_PROTO_VERSION,
		.type = type,
		.sender = 0x0102030405060708ull,
		.recipient = 0x1112131415161718ull,
		.round = 7,
		.seq = 1234,
		.timestamp_ms = 1700000000000ll };
	uint8_t *env;
	size_t env_len;

	emit("body", name, body, len);
	/* An envelope needs a body: the empty verdict gets one byte. */
	check(fm_proto_envelope_encode(&h, 0, len ? body : (const uint8_t *)"",
	          len ? len : 1, &env, &env_len),
	    "envelope");
	emit("envelope", name, env, env_len);
	free(env);
	free(body);
}

int
main(int argc, char **argv)
{
	float params[16], bad[4] = { 1, 2, NAN, 4 };
	fm_proto_hello hello = { .schema_version = 1,
		.layout_id = 0x1234abcd,
		.n_params = 16,
		.have_version = 6,
		.agent_version = "0.1.0" };
	fm_proto_round round = { .round = 7,
		.phase = FM_PROTO_PHASE_COLLECT,
		.version = 6,
		.layout_id = 0x1234abcd,
		.n_params = 16,
		.params = params,
		.prox_mu = 0.01f,
		.local_steps = 100,
		.deadline_ms = 60000,
		.poll_ms = 5000 };
	fm_proto_update update = { .round = 7,
		.base_version = 6,
		.layout_id = 0x1234abcd,
		.kind = FM_PROTO_UPDATE_DELTA,
		.samples = 86400,
		.loss = 0.03f,
		.n_params = 16,
		.params = params };
	fm_proto_verdict verdict = { .round = 7,
		.reason = FM_PROTO_OK,
		.clipped = true,
		.poll_ms = 5000 };
	fm_proto_header h = { .version = FM_PROTO_VERSION,
		.type = FM_PROTO_ERROR,
		.sender = 0x1112131415161718ull,
		.recipient = 0x0102030405060708ull,
		.seq = 99,
		.timestamp_ms = 1700000000001ll };
	uint8_t *buf;
	size_t len;

	if (argc != 2)
		die("usage: gen-proto-corpus DIR");
	dir = argv[1];
	for (int i = 0; i < 16; i++)
		params[i] = (float)(i - 8) / 3.0f;

	check(fm_proto_hello_encode(&hello, &buf, &len), "hello");
	emit_both("valid-hello", FM_PROTO_HELLO, buf, len);
	check(fm_proto_round_encode(&round, &buf, &len), "round");
	emit("body", "truncated-round", buf, len / 2);
	emit_both("valid-round", FM_PROTO_ROUND, buf, len);
	round.params = NULL;
	round.phase = FM_PROTO_PHASE_IDLE;
	check(fm_proto_round_encode(&round, &buf, &len), "round");
	emit_both("valid-round-idle", FM_PROTO_ROUND, buf, len);
	check(fm_proto_update_encode(&update, &buf, &len), "update");
	emit_both("valid-update", FM_PROTO_UPDATE, buf, len);
	check(fm_proto_verdict_encode(&verdict, &buf, &len), "verdict");
	emit_both("valid-verdict", FM_PROTO_VERDICT, buf, len);
	verdict = (fm_proto_verdict) { 0 };
	check(fm_proto_verdict_encode(&verdict, &buf, &len), "verdict");
	emit_both("valid-empty", FM_PROTO_VERDICT, buf, len);

	/* an update whose fourth float became a NaN */
	update.n_params = 4;
	update.params = bad;
	bad[2] = 3;
	check(fm_proto_update_encode(&update, &buf, &len), "update");
	memcpy(buf + len - 8, &(float) { NAN }, 4);
	emit("body", "nan-param", buf, len);
	free(buf);

	check(fm_proto_envelope_encode(
	          &h, FM_PROTO_REASON_UNKNOWN_KEY, NULL, 0, &buf, &len),
	    "error");
	emit("envelope", "valid-error", buf, len);
	free(buf);
	h.version = 2;
	h.type = FM_PROTO_HELLO;
	check(fm_proto_envelope_encode(
	          &h, 0, (const uint8_t *)"\x08\x01", 2, &buf, &len),
	    "envelope");
	emit("envelope", "version-2", buf, len);
	emit("envelope", "truncated", buf, len - 1);
	free(buf);

	emit("envelope", "garbage", (const uint8_t *)"\xff\xff\xff\xff", 4);
	emit("body", "garbage", (const uint8_t *)"\x0b\x0c\x08\xff", 4);
	return 0;
}
