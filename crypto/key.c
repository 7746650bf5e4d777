/*
 * Public keys as text (base64, original alphabet, padded) and their key
 * ids (a BLAKE2b prefix).
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto-int.h"

#define KEY_ID_HASH_BYTES 32 /* BLAKE2b-256 */

uint64_t
fm_crypto_key_id(const uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES])
{
	uint8_t h[KEY_ID_HASH_BYTES];
	uint64_t id = 0;

	/* BLAKE2b with a 32-byte output and no key cannot fail */
	(void)crypto_generichash(
	    h, sizeof(h), pk, FM_CRYPTO_PUBLIC_KEY_BYTES, NULL, 0);
	for (int i = 0; i < 8; i++)
		id |= (uint64_t)h[i] << (8 * i);
	/* 0 means "no key" in envelope headers */
	return id ? id : 1;
}

void
fm_crypto_key_id_format(uint64_t id, char ret[FM_CRYPTO_KEY_ID_TEXT_BYTES])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 16; i++)
		ret[i] = hex[(id >> (60 - 4 * i)) & 0xf];
	ret[16] = '\0';
}

void
fm_crypto_key_format(const uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES],
    char ret[FM_CRYPTO_KEY_TEXT_BYTES])
{
	(void)sodium_bin2base64(ret, FM_CRYPTO_KEY_TEXT_BYTES, pk,
	    FM_CRYPTO_PUBLIC_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
}

int
fmi_crypto_key_decode(const char *text, size_t len, uint8_t ret[32])
{
	const char *end = NULL;
	size_t n = 0;

	/* Checking the length first bounds the decoder's work; libsodium
	 * then refuses bad characters, bad padding and non-zero trailing
	 * bits, so every key has exactly one text. */
	if (len != FMI_CRYPTO_KEY_TEXT_LEN)
		return -EINVAL;
	if (sodium_base642bin(ret, 32, text, len, NULL, &n, &end,
	        sodium_base64_VARIANT_ORIGINAL) < 0)
		return -EINVAL;
	if (n != 32 || end != text + len)
		return -EINVAL;
	return 0;
}

int
fm_crypto_key_parse(const char *text, uint8_t ret[FM_CRYPTO_PUBLIC_KEY_BYTES])
{
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];
	int r;

	if (!text)
		return -EINVAL;
	r = fmi_crypto_key_decode(
	    text, strnlen(text, FM_CRYPTO_KEY_TEXT_BYTES), pk);
	if (r < 0)
		return r;
	memcpy(ret, pk, sizeof(pk));
	return 0;
}
