/*
 * Tests for crypto/key.c: key ids (a known answer, the hex text) and
 * public keys as base64 text (known answer, round trips, and every kind
 * of malformed text refused with ret untouched).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/crypto.h"

/* bytes 0, 1, …, 31 */
static void
counting_key(uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES])
{
	for (int i = 0; i < FM_CRYPTO_PUBLIC_KEY_BYTES; i++)
		pk[i] = (uint8_t)i;
}

static int
setup(void **state)
{
	return fm_crypto_init();
}

static void
test_key_id_known_answer(void **state)
{
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];

	/* BLAKE2b-256 of 00 01 … 1f, first 8 bytes little-endian (computed
	 * independently with Python's hashlib) */
	counting_key(pk);
	assert_true(fm_crypto_key_id(pk) == 0x057e1ffc60512fcbull);
	assert_true(fm_crypto_key_id(pk) == fm_crypto_key_id(pk));
	pk[31] ^= 1;
	assert_true(fm_crypto_key_id(pk) != 0x057e1ffc60512fcbull);
	assert_true(fm_crypto_key_id(pk) != 0);
}

static void
test_key_id_format_hex(void **state)
{
	char t[FM_CRYPTO_KEY_ID_TEXT_BYTES];

	memset(t, 'x', sizeof(t));
	fm_crypto_key_id_format(0, t);
	assert_string_equal(t, "0000000000000000");
	fm_crypto_key_id_format(0x0123456789abcdefull, t);
	assert_string_equal(t, "0123456789abcdef");
	fm_crypto_key_id_format(UINT64_MAX, t);
	assert_string_equal(t, "ffffffffffffffff");
	fm_crypto_key_id_format(0x057e1ffc60512fcbull, t);
	assert_string_equal(t, "057e1ffc60512fcb");
}

static void
test_key_format_known_answer(void **state)
{
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES],
	    back[FM_CRYPTO_PUBLIC_KEY_BYTES];
	char t[FM_CRYPTO_KEY_TEXT_BYTES];

	counting_key(pk);
	fm_crypto_key_format(pk, t);
	assert_string_equal(t, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
	assert_int_equal(strlen(t), FM_CRYPTO_KEY_TEXT_BYTES - 1);
	assert_int_equal(fm_crypto_key_parse(t, back), 0);
	assert_memory_equal(back, pk, sizeof(pk));
}

static void
test_key_round_trip_random(void **state)
{
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES],
	    back[FM_CRYPTO_PUBLIC_KEY_BYTES];
	char t[FM_CRYPTO_KEY_TEXT_BYTES];

	for (int n = 0; n < 1000; n++) {
		for (int i = 0; i < 4; i++) {
			uint64_t v = fm_crypto_random_u64();

			memcpy(pk + 8 * i, &v, 8);
		}
		if (n == 0)
			memset(pk, 0, sizeof(pk));
		if (n == 1)
			memset(pk, 0xff, sizeof(pk));
		fm_crypto_key_format(pk, t);
		assert_int_equal(fm_crypto_key_parse(t, back), 0);
		assert_memory_equal(back, pk, sizeof(pk));
	}
}

static void
test_key_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		/* 43 characters: no padding */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		/* 45: one too many */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==",
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= ",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\t",
		/* junk character, URL-safe alphabet */
		"AAECAwQFBgcICQoLDA0ODxAREhMU*RYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMU-RYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMU_RYXGBkaGxwdHh8=",
		/* a blank inside */
		"AAECAwQFBgcICQoLDA0ODxAREh MUFRYXGBkaGxwdHh8=",
		/* 44 characters but padding in the middle or none at all */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd=h8A",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",
		/* non-zero trailing bits: "8" -> "9" encodes the same bytes
		 * in a second, non-canonical text */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
		/* decodes to 33 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",
		/* 24 bytes */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYX",
		"============================================",
	};
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];

	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		memset(pk, 0x5a, sizeof(pk));
		assert_int_equal(fm_crypto_key_parse(bad[i], pk), -EINVAL);
		for (size_t j = 0; j < sizeof(pk); j++)
			assert_int_equal(pk[j], 0x5a); /* untouched */
	}
	assert_int_equal(fm_crypto_key_parse(NULL, pk), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_id_known_answer),
		cmocka_unit_test(test_key_id_format_hex),
		cmocka_unit_test(test_key_format_known_answer),
		cmocka_unit_test(test_key_round_trip_random),
		cmocka_unit_test(test_key_parse_rejects),
	};

	return cmocka_run_group_tests_name("crypto-key", tests, setup, NULL);
}
