/*
 * Tests for crypto/session.c: sessions between an agent and the
 * aggregator, bodies sealed and opened both ways, a known answer computed
 * outside libsodium, and every way a body must fail to open: each byte
 * altered (nonce, ciphertext, MAC), other associated data, another key,
 * reflection, truncation; buffers too small; weak peer keys; guarded
 * memory exhausted.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "tests/crypto/sodium-hook.h"

#define OVERHEAD FM_CRYPTO_SEAL_OVERHEAD_BYTES

struct fixture {
	fm_crypto_identity *agent_id, *agg_id, *other_id;
	fm_crypto_session *agent; /* agent's session with the aggregator */
	fm_crypto_session *agg;   /* aggregator's session with the agent */
	fm_crypto_session *other; /* aggregator's session with another */
};

static const uint8_t ad[] = "fedmon header v1";

static fm_crypto_identity *
seeded(uint8_t byte)
{
	uint8_t seed[FM_CRYPTO_SEED_BYTES];
	fm_crypto_identity *id = NULL;

	memset(seed, byte, sizeof(seed));
	assert_int_equal(fm_crypto_identity_from_seed(seed, &id), 0);
	return id;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || fm_crypto_init() < 0)
		return -1;
	f->agent_id = seeded(1);
	f->agg_id = seeded(2);
	f->other_id = seeded(3);
	assert_int_equal(
	    fm_crypto_session_new(f->agent_id, FM_CRYPTO_ROLE_AGENT,
	        fm_crypto_identity_public(f->agg_id), &f->agent),
	    0);
	assert_int_equal(
	    fm_crypto_session_new(f->agg_id, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(f->agent_id), &f->agg),
	    0);
	assert_int_equal(
	    fm_crypto_session_new(f->agg_id, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(f->other_id), &f->other),
	    0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	assert_null(fm_crypto_session_free(f->agent));
	fm_crypto_session_free(f->agg);
	fm_crypto_session_free(f->other);
	fm_crypto_identity_free(f->agent_id);
	fm_crypto_identity_free(f->agg_id);
	fm_crypto_identity_free(f->other_id);
	free(f);
	fm_test_sodium_fail_after(-1);
	return fm_test_sodium_live() == 0 ? 0 : -1;
}

/* Seals plain[len] with s into a new buffer of exactly len + OVERHEAD. */
static uint8_t *
seal(const fm_crypto_session *s, const uint8_t *a, size_t a_len,
    const void *plain, size_t len)
{
	uint8_t *out = malloc(len + OVERHEAD);

	assert_non_null(out);
	assert_int_equal(
	    fm_crypto_seal(s, a, a_len, plain, len, out, len + OVERHEAD), 0);
	return out;
}

/* Asserts that sealed[len] does not open with s and ad a[a_len], and that
 * the output buffer is wiped. */
static void
assert_no_open(const fm_crypto_session *s, const uint8_t *a, size_t a_len,
    const uint8_t *sealed, size_t len)
{
	size_t cap = len > OVERHEAD ? len - OVERHEAD : 0;
	uint8_t *out = malloc(cap + 1);
	size_t got = 12345;

	assert_non_null(out);
	memset(out, 0xaa, cap + 1);
	assert_int_equal(
	    fm_crypto_open(s, a, a_len, sealed, len, out, cap, &got), -EBADMSG);
	assert_int_equal(got, 12345);
	for (size_t i = 0; i < cap; i++)
		assert_int_equal(out[i], 0);
	assert_int_equal(out[cap], 0xaa); /* and nothing past it */
	free(out);
}

static void
assert_opens(const fm_crypto_session *s, const uint8_t *a, size_t a_len,
    const uint8_t *sealed, size_t len, const void *plain, size_t plain_len)
{
	uint8_t *out = malloc(plain_len + 1);
	size_t got = 0;

	assert_non_null(out);
	assert_int_equal(len, plain_len + OVERHEAD);
	assert_int_equal(
	    fm_crypto_open(s, a, a_len, sealed, len, out, plain_len, &got), 0);
	assert_int_equal(got, plain_len);
	if (plain_len > 0)
		assert_memory_equal(out, plain, plain_len);
	free(out);
}

static void
test_session_round_trip_both_ways(void **state)
{
	struct fixture *f = *state;
	const char *up = "model update, round 7";
	const char *down = "verdict: accepted";
	uint8_t *a, *b;

	a = seal(f->agent, ad, sizeof(ad), up, strlen(up));
	assert_opens(
	    f->agg, ad, sizeof(ad), a, strlen(up) + OVERHEAD, up, strlen(up));
	b = seal(f->agg, ad, sizeof(ad), down, strlen(down));
	assert_opens(f->agent, ad, sizeof(ad), b, strlen(down) + OVERHEAD, down,
	    strlen(down));
	free(a);
	free(b);

	/* empty body, no associated data, NULL pointers for both */
	a = seal(f->agent, NULL, 0, NULL, 0);
	assert_opens(f->agg, NULL, 0, a, OVERHEAD, NULL, 0);
	assert_opens(f->agg, (const uint8_t *)"", 0, a, OVERHEAD, NULL, 0);
	{
		size_t got = 99;

		assert_int_equal(
		    fm_crypto_open(f->agg, NULL, 0, a, OVERHEAD, NULL, 0, &got),
		    0);
		assert_int_equal(got, 0);
	}
	free(a);
}

static void
test_session_large_body_and_bigger_buffers(void **state)
{
	struct fixture *f = *state;
	const size_t len = 1u << 20;
	uint8_t *plain = malloc(len), *sealed = malloc(len + OVERHEAD + 100);
	uint8_t *out = malloc(len + 100);
	size_t got = 0;

	assert_non_null(plain);
	assert_non_null(sealed);
	assert_non_null(out);
	for (size_t i = 0; i < len; i++)
		plain[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(fm_crypto_seal(f->agent, ad, sizeof(ad), plain, len,
	                     sealed, len + OVERHEAD + 100),
	    0);
	assert_int_equal(fm_crypto_open(f->agg, ad, sizeof(ad), sealed,
	                     len + OVERHEAD, out, len + 100, &got),
	    0);
	assert_int_equal(got, len);
	assert_memory_equal(out, plain, len);
	free(plain);
	free(sealed);
	free(out);
}

static void
test_session_nonce_is_random(void **state)
{
	struct fixture *f = *state;
	const char *m = "same body";
	uint8_t *a = seal(f->agent, ad, sizeof(ad), m, strlen(m));
	uint8_t *b = seal(f->agent, ad, sizeof(ad), m, strlen(m));

	assert_memory_not_equal(a, b, FM_CRYPTO_NONCE_BYTES);
	assert_memory_not_equal(a + FM_CRYPTO_NONCE_BYTES,
	    b + FM_CRYPTO_NONCE_BYTES, strlen(m) + FM_CRYPTO_MAC_BYTES);
	/* the plaintext does not appear */
	assert_null(memmem(a, strlen(m) + OVERHEAD, m, strlen(m)));
	free(a);
	free(b);
}

static void
test_session_known_answer(void **state)
{
	struct fixture *f = *state;
	/* Sealed by the agent (seed 01…) to the aggregator (seed 02…) with
	 * nonce 40 41 … 57 and ad "fedmon header", computed with Python's
	 * hashlib and cryptography packages: crypto_kx's client keys
	 * (BLAKE2b-512 of the X25519 point and both public keys), HChaCha20
	 * and ChaCha20-Poly1305. Pins the wire format. */
	static const uint8_t sealed[] = { 0x40, 0x41, 0x42, 0x43, 0x44, 0x45,
		0x46, 0x47, 0x48, 0x49, 0x4a, 0x4b, 0x4c, 0x4d, 0x4e, 0x4f,
		0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x7d, 0x97,
		0xb8, 0xfb, 0xa3, 0x30, 0xe1, 0xdb, 0x8a, 0xe3, 0x27, 0xc6,
		0x11, 0xb1, 0xeb, 0x5a, 0xa9, 0xba, 0xe1, 0x9c, 0xb7, 0xcf,
		0xc4, 0xfb, 0x25, 0xe2, 0x96, 0xc8, 0xd7, 0x09, 0xea, 0xd3,
		0x58 };
	const uint8_t hdr[] = "fedmon header";
	const char *m = "hello, aggregator";

	assert_int_equal(sizeof(sealed), strlen(m) + OVERHEAD);
	assert_opens(
	    f->agg, hdr, sizeof(hdr) - 1, sealed, sizeof(sealed), m, strlen(m));
	/* the agent's own session does not open its own body */
	assert_no_open(f->agent, hdr, sizeof(hdr) - 1, sealed, sizeof(sealed));
}

static void
test_session_tamper_every_byte(void **state)
{
	struct fixture *f = *state;
	const char *m = "cpu 0.93 mem 0.41 disk 0.12";
	const size_t len = strlen(m) + OVERHEAD;
	uint8_t *sealed = seal(f->agent, ad, sizeof(ad), m, strlen(m));
	static const uint8_t flips[] = { 0x01, 0x80, 0xff };

	/* [0, 24) nonce, [24, len - 16) ciphertext, [len - 16, len) MAC */
	for (size_t i = 0; i < len; i++) {
		for (size_t j = 0; j < sizeof(flips); j++) {
			sealed[i] ^= flips[j];
			assert_no_open(f->agg, ad, sizeof(ad), sealed, len);
			sealed[i] ^= flips[j];
		}
	}
	assert_opens(f->agg, ad, sizeof(ad), sealed, len, m, strlen(m));
	free(sealed);
}

static void
test_session_wrong_associated_data(void **state)
{
	struct fixture *f = *state;
	const char *m = "body";
	const size_t len = strlen(m) + OVERHEAD;
	uint8_t *sealed = seal(f->agent, ad, sizeof(ad), m, strlen(m));
	uint8_t other[sizeof(ad)];

	for (size_t i = 0; i < sizeof(ad); i++) {
		memcpy(other, ad, sizeof(ad));
		other[i] ^= 0x01;
		assert_no_open(f->agg, other, sizeof(ad), sealed, len);
	}
	assert_no_open(f->agg, ad, sizeof(ad) - 1, sealed, len);
	assert_no_open(f->agg, NULL, 0, sealed, len);
	free(sealed);
	/* sealed without ad, opened with some */
	sealed = seal(f->agent, NULL, 0, m, strlen(m));
	assert_no_open(f->agg, ad, 1, sealed, len);
	free(sealed);
}

static void
test_session_wrong_key_and_reflection(void **state)
{
	struct fixture *f = *state;
	const char *m = "for the aggregator only";
	const size_t len = strlen(m) + OVERHEAD;
	uint8_t *sealed = seal(f->agent, ad, sizeof(ad), m, strlen(m));
	fm_crypto_session *impostor = NULL;

	/* the aggregator's session with another agent */
	assert_no_open(f->other, ad, sizeof(ad), sealed, len);
	/* reflection: the agent's own session, either way round */
	assert_no_open(f->agent, ad, sizeof(ad), sealed, len);
	free(sealed);
	sealed = seal(f->agg, ad, sizeof(ad), m, strlen(m));
	assert_no_open(f->agg, ad, sizeof(ad), sealed, len);
	free(sealed);

	/* a third party claiming to be the agent: it has the aggregator's
	 * public key but not the agent's secret */
	assert_int_equal(
	    fm_crypto_session_new(f->other_id, FM_CRYPTO_ROLE_AGENT,
	        fm_crypto_identity_public(f->agg_id), &impostor),
	    0);
	sealed = seal(impostor, ad, sizeof(ad), m, strlen(m));
	assert_no_open(f->agg, ad, sizeof(ad), sealed, len);
	assert_opens(f->other, ad, sizeof(ad), sealed, len, m, strlen(m));
	free(sealed);
	fm_crypto_session_free(impostor);

	/* both sides in the same role derive unrelated keys */
	assert_int_equal(fm_crypto_session_new(f->agg_id, FM_CRYPTO_ROLE_AGENT,
	                     fm_crypto_identity_public(f->agent_id), &impostor),
	    0);
	sealed = seal(f->agent, ad, sizeof(ad), m, strlen(m));
	assert_no_open(impostor, ad, sizeof(ad), sealed, len);
	free(sealed);
	fm_crypto_session_free(impostor);
}

static void
test_session_truncated(void **state)
{
	struct fixture *f = *state;
	const char *m = "truncate me";
	const size_t len = strlen(m) + OVERHEAD;
	uint8_t *sealed = seal(f->agent, ad, sizeof(ad), m, strlen(m));
	uint8_t out[64];
	size_t got = 7;

	for (size_t n = 0; n < len; n++)
		assert_no_open(f->agg, ad, sizeof(ad), sealed, n);
	/* shorter than the overhead: refused before anything else */
	assert_int_equal(fm_crypto_open(f->agg, ad, sizeof(ad), sealed,
	                     OVERHEAD - 1, out, 0, &got),
	    -EBADMSG);
	assert_int_equal(
	    fm_crypto_open(f->agg, ad, sizeof(ad), NULL, 0, NULL, 0, &got),
	    -EBADMSG);
	assert_int_equal(got, 7);
	/* one byte more is not accepted either */
	{
		uint8_t *longer = malloc(len + 1);

		assert_non_null(longer);
		memcpy(longer, sealed, len);
		longer[len] = 0;
		assert_no_open(f->agg, ad, sizeof(ad), longer, len + 1);
		free(longer);
	}
	free(sealed);
}

static void
test_session_buffers_too_small(void **state)
{
	struct fixture *f = *state;
	const char *m = "sixteen bytes!!!";
	const size_t len = strlen(m) + OVERHEAD;
	uint8_t sealed[64], out[64];
	size_t got = 5;

	memset(sealed, 0x11, sizeof(sealed));
	assert_int_equal(fm_crypto_seal(f->agent, ad, sizeof(ad),
	                     (const uint8_t *)m, strlen(m), sealed, len - 1),
	    -ENOBUFS);
	assert_int_equal(fm_crypto_seal(f->agent, ad, sizeof(ad),
	                     (const uint8_t *)m, strlen(m), sealed, 0),
	    -ENOBUFS);
	assert_int_equal(
	    fm_crypto_seal(f->agent, NULL, 0, NULL, 0, sealed, OVERHEAD - 1),
	    -ENOBUFS);
	/* a length whose sealed size overflows size_t */
	assert_int_equal(fm_crypto_seal(f->agent, NULL, 0, (const uint8_t *)m,
	                     SIZE_MAX - 10, sealed, SIZE_MAX),
	    -ENOBUFS);
	for (size_t i = 0; i < sizeof(sealed); i++)
		assert_int_equal(sealed[i], 0x11); /* untouched */

	assert_int_equal(fm_crypto_seal(f->agent, ad, sizeof(ad),
	                     (const uint8_t *)m, strlen(m), sealed, len),
	    0);
	assert_int_equal(fm_crypto_open(f->agg, ad, sizeof(ad), sealed, len,
	                     out, strlen(m) - 1, &got),
	    -ENOBUFS);
	assert_int_equal(got, 5);
	assert_int_equal(fm_crypto_open(f->agg, ad, sizeof(ad), sealed, len,
	                     out, strlen(m), &got),
	    0);
	assert_int_equal(got, strlen(m));
	assert_memory_equal(out, m, strlen(m));
}

static void
test_session_weak_peer_keys(void **state)
{
	struct fixture *f = *state;
	/* points of small order: X25519 with them gives the all-zero
	 * output whatever the secret */
	uint8_t weak[3][FM_CRYPTO_PUBLIC_KEY_BYTES] = { { 0 }, { 1 }, { 0 } };
	fm_crypto_session *s = NULL;

	/* p itself: 2^255 - 19, the same point as 0 */
	memset(weak[2], 0xff, sizeof(weak[2]));
	weak[2][0] = 0xed;
	weak[2][31] = 0x7f;
	for (size_t i = 0; i < FM_ELEMENTSOF(weak); i++) {
		assert_int_equal(fm_crypto_session_new(f->agent_id,
		                     FM_CRYPTO_ROLE_AGENT, weak[i], &s),
		    -EBADMSG);
		assert_int_equal(fm_crypto_session_new(f->agg_id,
		                     FM_CRYPTO_ROLE_AGGREGATOR, weak[i], &s),
		    -EBADMSG);
		assert_null(s);
	}
	assert_int_equal(
	    fm_crypto_session_new(f->agent_id, (enum fm_crypto_role)7,
	        fm_crypto_identity_public(f->agg_id), &s),
	    -EINVAL);
	assert_null(s);
}

static void
test_session_outlives_identity(void **state)
{
	struct fixture *f = *state;
	fm_crypto_identity *id = seeded(9);
	fm_crypto_session *s = NULL;
	const char *m = "still here";
	uint8_t *sealed;

	assert_int_equal(fm_crypto_session_new(id, FM_CRYPTO_ROLE_AGENT,
	                     fm_crypto_identity_public(f->agg_id), &s),
	    0);
	fm_crypto_identity_free(id);
	sealed = seal(s, ad, sizeof(ad), m, strlen(m));
	fm_crypto_session_free(s);
	/* the aggregator opens it with a session for seed 9's key */
	id = seeded(9);
	assert_int_equal(
	    fm_crypto_session_new(f->agg_id, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(id), &s),
	    0);
	assert_opens(
	    s, ad, sizeof(ad), sealed, strlen(m) + OVERHEAD, m, strlen(m));
	fm_crypto_session_free(s);
	fm_crypto_identity_free(id);
	free(sealed);
}

static void
test_session_out_of_memory(void **state)
{
	struct fixture *f = *state;
	fm_crypto_session *s = NULL;

	fm_test_sodium_fail_after(0);
	assert_int_equal(
	    fm_crypto_session_new(f->agent_id, FM_CRYPTO_ROLE_AGENT,
	        fm_crypto_identity_public(f->agg_id), &s),
	    -ENOMEM);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_session_round_trip_both_ways, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_large_body_and_bigger_buffers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_nonce_is_random, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_tamper_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_wrong_associated_data, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_wrong_key_and_reflection, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_buffers_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_weak_peer_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_outlives_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_session_out_of_memory, setup, teardown),
	};

	return cmocka_run_group_tests_name("crypto-session", tests, NULL, NULL);
}
