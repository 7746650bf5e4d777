/*
 * Writes the seed corpus of tests/fuzz/fuzz-open.c into DIR: bodies
 * sealed with the fuzz target's fixed identities (seeds 01… for the agent,
 * 02… for the aggregator), both ways, with and without associated data,
 * and broken ones (a flipped MAC byte, a flipped ciphertext byte,
 * truncated, reflected). Each file is: one byte ad_len, ad, sealed body.
 * The nonces are random, so the bytes differ on every run.
 *
 * Usage: gen-open-corpus DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

#define OVERHEAD FM_CRYPTO_SEAL_OVERHEAD_BYTES
#define MAX_BODY 1024

static const char *dir;

static void
check(int r, const char *what)
{
	if (r < 0) {
		fprintf(
		    stderr, "gen-open-corpus: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

static void
emit(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen-open-corpus: cannot write %s\n", path);
		exit(1);
	}
}

/* Seals body with s under ad into *buf as one corpus input; returns its
 * length. flip_at (when not SIZE_MAX) alters one byte of the sealed
 * body, cut removes bytes from its end. */
static size_t
input(const fm_crypto_session *s, const char *ad, const char *body,
    size_t flip_at, size_t cut, uint8_t *buf)
{
	size_t ad_len = strlen(ad), len = strlen(body);
	uint8_t *sealed = buf + 1 + ad_len;

	buf[0] = (uint8_t)ad_len;
	memcpy(buf + 1, ad, ad_len);
	check(fm_crypto_seal(s, (const uint8_t *)ad, ad_len,
	          (const uint8_t *)body, len, sealed, len + OVERHEAD),
	    "seal");
	if (flip_at != SIZE_MAX)
		sealed[flip_at] ^= 0x01;
	return 1 + ad_len + len + OVERHEAD - cut;
}

static fm_crypto_identity *
seeded(uint8_t byte)
{
	uint8_t seed[FM_CRYPTO_SEED_BYTES];
	fm_crypto_identity *id = NULL;

	memset(seed, byte, sizeof(seed));
	check(fm_crypto_identity_from_seed(seed, &id), "identity");
	return id;
}

int
main(int argc, char **argv)
{
	static uint8_t buf[1 + 255 + MAX_BODY + OVERHEAD];
	static char big[MAX_BODY + 1];
	fm_crypto_identity *agent_id, *agg_id;
	fm_crypto_session *agent = NULL, *agg = NULL;
	const char *hdr = "fedmon header";
	size_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-open-corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	check(fm_crypto_init(), "init");
	agent_id = seeded(1);
	agg_id = seeded(2);
	check(fm_crypto_session_new(agent_id, FM_CRYPTO_ROLE_AGENT,
	          fm_crypto_identity_public(agg_id), &agent),
	    "agent session");
	check(fm_crypto_session_new(agg_id, FM_CRYPTO_ROLE_AGGREGATOR,
	          fm_crypto_identity_public(agent_id), &agg),
	    "aggregator session");
	memset(big, 'm', MAX_BODY);

	n = input(agent, hdr, "model update", SIZE_MAX, 0, buf);
	emit("valid-agent-to-aggregator.bin", buf, n);
	n = input(agg, hdr, "verdict: accepted", SIZE_MAX, 0, buf);
	emit("valid-aggregator-to-agent.bin", buf, n);
	n = input(agent, "", "no associated data", SIZE_MAX, 0, buf);
	emit("valid-no-ad.bin", buf, n);
	n = input(agent, hdr, "", SIZE_MAX, 0, buf);
	emit("valid-empty-body.bin", buf, n);
	n = input(agent, "", "", SIZE_MAX, 0, buf);
	emit("valid-empty-all.bin", buf, n);
	n = input(agg, hdr, big, SIZE_MAX, 0, buf);
	emit("valid-large-body.bin", buf, n);
	n = input(agent, hdr, "model update", 30, 0, buf);
	emit("flipped-ciphertext.bin", buf, n);
	n = input(agent, hdr, "model update", 12 + OVERHEAD - 1, 0, buf);
	emit("flipped-mac.bin", buf, n);
	n = input(agent, hdr, "model update", 3, 0, buf);
	emit("flipped-nonce.bin", buf, n);
	n = input(agent, hdr, "model update", SIZE_MAX, 1, buf);
	emit("truncated-mac.bin", buf, n);
	n = input(agent, hdr, "", SIZE_MAX, 1, buf);
	emit("truncated-below-overhead.bin", buf, n);
	/* a body whose ad was altered after sealing */
	n = input(agent, hdr, "model update", SIZE_MAX, 0, buf);
	buf[1] ^= 0x20;
	emit("altered-ad.bin", buf, n);
	/* ad_len claims more bytes than follow */
	buf[0] = 0xff;
	emit("ad-len-past-end.bin", buf, 1 + strlen(hdr));

	fm_crypto_session_free(agent);
	fm_crypto_session_free(agg);
	fm_crypto_identity_free(agent_id);
	fm_crypto_identity_free(agg_id);
	return 0;
}
