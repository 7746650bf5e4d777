/*
 * Fuzz target: opening a sealed body (crypto/session.c) with fixed
 * sessions between two seeded identities. Input: one byte ad_len, then
 * ad_len bytes of associated data, then the sealed body. Whatever the
 * bytes: a body that fails to open leaves the output wiped; a body opens
 * under at most one direction (never reflected); one that opens seals
 * again and opens to the same plaintext; a too-small buffer is -ENOBUFS.
 * The seed corpus comes from tests/crypto/gen-open-corpus.c.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fm_crypto_session *agent, *agg; /* agent's and aggregator's view */

static fm_crypto_identity *
seeded(uint8_t byte)
{
	uint8_t seed[FM_CRYPTO_SEED_BYTES];
	fm_crypto_identity *id = NULL;

	memset(seed, byte, sizeof(seed));
	if (fm_crypto_identity_from_seed(seed, &id) < 0)
		abort();
	return id;
}

/* Builds the two sessions once; they live for the whole process. */
static void
setup(void)
{
	fm_crypto_identity *agent_id, *agg_id;

	if (agent)
		return;
	if (fm_crypto_init() < 0)
		abort();
	agent_id = seeded(1);
	agg_id = seeded(2);
	if (fm_crypto_session_new(agent_id, FM_CRYPTO_ROLE_AGENT,
	        fm_crypto_identity_public(agg_id), &agent) < 0 ||
	    fm_crypto_session_new(agg_id, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(agent_id), &agg) < 0)
		abort();
	fm_crypto_identity_free(agent_id);
	fm_crypto_identity_free(agg_id);
}

/* Opens sealed[len] with s into an exactly sized buffer; returns it (the
 * caller frees) when it opens, else checks the refusal and returns NULL. */
static uint8_t *
open_with(const fm_crypto_session *s, const uint8_t *ad, size_t ad_len,
    const uint8_t *sealed, size_t len, size_t *ret_len)
{
	size_t plen = len >= FM_CRYPTO_SEAL_OVERHEAD_BYTES
	    ? len - FM_CRYPTO_SEAL_OVERHEAD_BYTES
	    : 0;
	uint8_t *out = malloc(plen ? plen : 1);
	size_t got = SIZE_MAX;
	int r;

	if (!out)
		abort();
	if (len >= FM_CRYPTO_SEAL_OVERHEAD_BYTES && plen > 0 &&
	    fm_crypto_open(s, ad, ad_len, sealed, len, out, plen - 1, &got) !=
	        -ENOBUFS)
		abort();
	memset(out, 0xaa, plen ? plen : 1);
	r = fm_crypto_open(s, ad, ad_len, sealed, len, out, plen, &got);
	if (r == 0 && len >= FM_CRYPTO_SEAL_OVERHEAD_BYTES && got == plen) {
		*ret_len = got;
		return out;
	}
	if (r != -EBADMSG || got != SIZE_MAX)
		abort();
	for (size_t i = 0; i < plen; i++)
		if (out[i] != 0)
			abort();
	free(out);
	return NULL;
}

/* A body that opened with receiver must seal back to the same bytes. */
static void
check_reseal(const fm_crypto_session *sender, const fm_crypto_session *receiver,
    const uint8_t *ad, size_t ad_len, const uint8_t *plain, size_t len)
{
	uint8_t *sealed = malloc(len + FM_CRYPTO_SEAL_OVERHEAD_BYTES);
	uint8_t *back;
	size_t got = 0;

	if (!sealed ||
	    fm_crypto_seal(sender, ad, ad_len, plain, len, sealed,
	        len + FM_CRYPTO_SEAL_OVERHEAD_BYTES) < 0)
		abort();
	back = open_with(receiver, ad, ad_len, sealed,
	    len + FM_CRYPTO_SEAL_OVERHEAD_BYTES, &got);
	if (!back || got != len || (len > 0 && memcmp(back, plain, len) != 0))
		abort();
	free(back);
	free(sealed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *ad, *sealed;
	uint8_t *up, *down;
	size_t ad_len, len, up_len = 0, down_len = 0;

	setup();
	if (size < 1)
		return 0;
	ad_len = data[0] < size - 1 ? data[0] : size - 1;
	ad = data + 1;
	sealed = ad + ad_len;
	len = size - 1 - ad_len;

	up = open_with(agg, ad, ad_len, sealed, len, &up_len);
	down = open_with(agent, ad, ad_len, sealed, len, &down_len);
	if (up && down)
		abort(); /* one body, both directions: reflection */
	if (up)
		check_reseal(agent, agg, ad, ad_len, up, up_len);
	if (down)
		check_reseal(agg, agent, ad, ad_len, down, down_len);
	free(up);
	free(down);
	return 0;
}
