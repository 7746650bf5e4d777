/*
 * crypto/ internals shared by its files; no other folder includes this.
 */
#ifndef FM_CRYPTO_INT_H
#define FM_CRYPTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* Base64 text of a 32-byte key without its NUL. */
#define FMI_CRYPTO_KEY_TEXT_LEN (FM_CRYPTO_KEY_TEXT_BYTES - 1)

/*
 * A long-term key pair. Lives in one sodium_malloc() block (guard pages,
 * locked when the limit allows), read-only once built; sodium_free()
 * wipes it.
 */
struct fm_crypto_identity {
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];
	uint8_t sk[FM_CRYPTO_SECRET_KEY_BYTES];
};

/* Whether fm_crypto_init() has succeeded (constructors assert it: libsodium
 * allocates guarded memory only after sodium_init()). */
bool fmi_crypto_is_ready(void);

/*
 * Decodes text[len] (no NUL needed), which must be exactly the 44-byte
 * canonical base64 of 32 bytes, into ret[32]. ret may be written even on
 * failure, so a caller decoding a secret passes guarded memory. Returns 0
 * or -EINVAL. Pure.
 */
int fmi_crypto_key_decode(const char *text, size_t len, uint8_t ret[32]) FM_WUR;

#endif
