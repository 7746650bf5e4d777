/*
 * Sessions: the two directional keys one agent shares with the
 * aggregator (crypto_kx), and the sealing of bodies under them with
 * XChaCha20-Poly1305: sealed = nonce || ciphertext || MAC.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "crypto/crypto-int.h"

#define KEY_BYTES 32

/* In one sodium_malloc() block, read-only once derived. */
struct fm_crypto_session {
	uint8_t rx[KEY_BYTES]; /* opens what the peer sealed */
	uint8_t tx[KEY_BYTES]; /* seals for the peer */
};

_Static_assert(crypto_kx_SESSIONKEYBYTES == KEY_BYTES, "kx key size");
_Static_assert(
    crypto_aead_xchacha20poly1305_ietf_KEYBYTES == KEY_BYTES, "aead key size");
_Static_assert(
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == FM_CRYPTO_NONCE_BYTES,
    "nonce size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == FM_CRYPTO_MAC_BYTES,
    "mac size");
_Static_assert(crypto_kx_PUBLICKEYBYTES == FM_CRYPTO_PUBLIC_KEY_BYTES &&
        crypto_kx_SECRETKEYBYTES == FM_CRYPTO_SECRET_KEY_BYTES &&
        crypto_kx_SEEDBYTES == FM_CRYPTO_SEED_BYTES,
    "kx key sizes");

int
fm_crypto_session_new(const fm_crypto_identity *self, enum fm_crypto_role role,
    const uint8_t peer_pk[FM_CRYPTO_PUBLIC_KEY_BYTES], fm_crypto_session **ret)
{
	fm_crypto_session *s;
	int r;

	assert(fmi_crypto_is_ready());
	if (role != FM_CRYPTO_ROLE_AGENT && role != FM_CRYPTO_ROLE_AGGREGATOR)
		return -EINVAL;
	s = sodium_malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	/* both fail only when the shared point is the identity: peer_pk is
	 * of small order, so the keys would be public */
	if (role == FM_CRYPTO_ROLE_AGENT)
		r = crypto_kx_client_session_keys(
		    s->rx, s->tx, self->pk, self->sk, peer_pk);
	else
		r = crypto_kx_server_session_keys(
		    s->rx, s->tx, self->pk, self->sk, peer_pk);
	if (r < 0) {
		sodium_free(s); /* wipes it */
		return -EBADMSG;
	}
	(void)sodium_mprotect_readonly(s);
	*ret = s;
	return 0;
}

fm_crypto_session *
fm_crypto_session_free(fm_crypto_session *s)
{
	/* sodium_free() makes the block writable and wipes it first */
	sodium_free(s);
	return NULL;
}

int
fm_crypto_seal(const fm_crypto_session *s, const uint8_t *ad, size_t ad_len,
    const uint8_t *plain, size_t len, uint8_t *out, size_t out_cap)
{
	/* also keeps len within the cipher's MESSAGEBYTES_MAX (SIZE_MAX - 16),
	 * above which libsodium aborts */
	if (out_cap < FM_CRYPTO_SEAL_OVERHEAD_BYTES ||
	    out_cap - FM_CRYPTO_SEAL_OVERHEAD_BYTES < len)
		return -ENOBUFS;
	/* 192-bit random nonces: collisions are negligible without state */
	randombytes_buf(out, FM_CRYPTO_NONCE_BYTES);
	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + FM_CRYPTO_NONCE_BYTES, NULL, plain, len, ad, ad_len, NULL,
	    out, s->tx);
	return 0;
}

int
fm_crypto_open(const fm_crypto_session *s, const uint8_t *ad, size_t ad_len,
    const uint8_t *sealed, size_t len, uint8_t *out, size_t out_cap,
    size_t *ret_len)
{
	size_t plain_len;

	if (len < FM_CRYPTO_SEAL_OVERHEAD_BYTES)
		return -EBADMSG;
	plain_len = len - FM_CRYPTO_SEAL_OVERHEAD_BYTES;
	if (out_cap < plain_len)
		return -ENOBUFS;
	/* the MAC is checked before anything is decrypted into out */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL,
	        sealed + FM_CRYPTO_NONCE_BYTES, len - FM_CRYPTO_NONCE_BYTES, ad,
	        ad_len, sealed, s->rx) < 0) {
		if (plain_len > 0)
			sodium_memzero(out, plain_len);
		return -EBADMSG;
	}
	*ret_len = plain_len;
	return 0;
}
