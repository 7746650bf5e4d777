/*
 * crypto: every call into libsodium. Long-term identities (X25519 key
 * pairs) and their files, the operator's list of enrolled keys, and the
 * authenticated encryption of message bodies between an agent and the
 * aggregator. Secrets live only in this module's objects, in guarded
 * memory, and are wiped when freed; nothing here logs.
 *
 * Construction. An agent (client) and the aggregator (server) derive two
 * directional 32-byte keys from their long-term key pairs with libsodium's
 * key exchange (crypto_kx: X25519, then BLAKE2b over the shared point and
 * both public keys). A body is encrypted with XChaCha20-Poly1305 (IETF
 * AEAD) under the sender's transmit key, with a random 24-byte nonce and
 * the caller's associated data (the envelope header), so it is readable
 * only by the recipient and authentic to the sender, and the header cannot
 * be altered or moved to another body. Only the holder of one of the two
 * secret keys can produce a body the other side opens; reflecting a body
 * back to its sender fails because the two directions use different keys.
 *
 * Errors are negative errno codes. A body that fails to open is -EBADMSG
 * whatever the cause (wrong key, altered byte, wrong associated data).
 */
#ifndef FM_CRYPTO_H
#define FM_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define FM_CRYPTO_PUBLIC_KEY_BYTES 32
#define FM_CRYPTO_SECRET_KEY_BYTES 32
#define FM_CRYPTO_SEED_BYTES       32 /* fm_crypto_identity_from_seed() */
#define FM_CRYPTO_NONCE_BYTES      24
#define FM_CRYPTO_MAC_BYTES        16
/* A sealed body is nonce || ciphertext || MAC. */
#define FM_CRYPTO_SEAL_OVERHEAD_BYTES                                          \
	(FM_CRYPTO_NONCE_BYTES + FM_CRYPTO_MAC_BYTES)
/* Base64 text of a 32-byte key (original alphabet, padded: 44 chars) and
 * its NUL. */
#define FM_CRYPTO_KEY_TEXT_BYTES 45
/* A key id as text: 16 lowercase hex digits and the NUL. */
#define FM_CRYPTO_KEY_ID_TEXT_BYTES 17
/* Caps on what the file readers accept before reading further. */
#define FM_CRYPTO_KEY_FILE_MAX_BYTES 4096
/* authorized-agents file: room for the most keys, each with the longest
 * label and a CRLF (100000 x 110 bytes), and comments */
#define FM_CRYPTO_KEYRING_MAX_BYTES (16u << 20)
#define FM_CRYPTO_KEYRING_MAX_KEYS  100000u
#define FM_CRYPTO_KEY_NAME_BYTES    64 /* a key's label, NUL included */

/*
 * Initialises libsodium. Call once before anything else in this module
 * (further calls are cheap no-ops); the constructors of identities and
 * sessions assert that it succeeded. Returns 0, or -EIO when libsodium
 * cannot initialise (no usable entropy source). Thread-safe.
 */
int fm_crypto_init(void) FM_WUR;

/* ---- keys and key ids ----------------------------------------------- */

/*
 * The key id of a public key: the first 8 bytes of BLAKE2b-256(pk), read
 * little-endian. Identifies a sender in envelope headers and logs; never
 * 0 for a real key (a 0 hash prefix is mapped to 1). Pure.
 */
uint64_t fm_crypto_key_id(const uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES]);

/* Formats id as 16 lowercase hex digits into ret[], most significant
 * first (so the text reads as the number printed with PRIx64). */
void fm_crypto_key_id_format(
    uint64_t id, char ret[FM_CRYPTO_KEY_ID_TEXT_BYTES]);

/* Formats a public key as base64 text into ret[]. */
void fm_crypto_key_format(const uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES],
    char ret[FM_CRYPTO_KEY_TEXT_BYTES]);

/*
 * Parses a base64 public key: exactly the 44 characters
 * fm_crypto_key_format() writes (32 bytes once decoded, padded, canonical
 * trailing bits; surrounding blanks are not accepted). Writes ret only on
 * success. Returns 0 or -EINVAL (also for text NULL). Pure.
 */
int fm_crypto_key_parse(
    const char *text, uint8_t ret[FM_CRYPTO_PUBLIC_KEY_BYTES]) FM_WUR;

/* ---- identities: a long-term key pair -------------------------------- */

typedef struct fm_crypto_identity fm_crypto_identity;

/* Generates a new key pair. On success *ret owns it. Errors: -ENOMEM
 * (guarded memory exhausted). */
int fm_crypto_identity_generate(fm_crypto_identity **ret) FM_WUR;

/*
 * Derives a key pair from seed, deterministically: the same seed always
 * gives the same identity. For tests, fuzz targets and reproducible
 * replays only; a real identity comes from fm_crypto_identity_generate().
 * On success *ret owns it. Errors: -ENOMEM.
 */
int fm_crypto_identity_from_seed(
    const uint8_t seed[FM_CRYPTO_SEED_BYTES], fm_crypto_identity **ret) FM_WUR;

/*
 * Reads the secret key file at path: the line "fedmon-secret-key-v1 "
 * followed by the base64 secret key, then a newline, and nothing after
 * it; '#' comment lines are allowed before it. The file must be a
 * regular file (a symbolic link is not followed) owned by the caller's
 * effective uid (or root) and not readable, writable or executable by
 * group or others. The public key is derived from the secret. On success
 * *ret owns the identity. Errors: the errno of opening or reading it
 * (-ENOENT, -EACCES, -ELOOP for a symbolic link…); -EISDIR; -EPERM
 * (looser mode or foreign owner); -EFBIG (over
 * FM_CRYPTO_KEY_FILE_MAX_BYTES); -EINVAL (not a regular file, or not a
 * key file); -ENOMEM. Every copy of the secret read on the way is wiped.
 */
int fm_crypto_identity_load(const char *path, fm_crypto_identity **ret) FM_WUR;

/*
 * Writes id's secret key to path in the format above (after a comment
 * line), mode 0600, crash safe (temporary file, fsync, rename), and its
 * public key to "<path>.pub" (one base64 line, mode 0644, replaced if
 * present). Refuses to replace an existing secret key file: -EEXIST
 * (unless overwrite); without overwrite the file is written as
 * "<path>.new" and hard-linked to path, so a rival writer or a crash
 * never leaves path empty or replaced, and a failure writing the .pub
 * removes the new secret key file again. Other errors: the errno of the
 * file calls, -ENAMETOOLONG, -ENOMEM. Thread-safe against readers of id.
 */
int fm_crypto_identity_save(
    const fm_crypto_identity *id, const char *path, bool overwrite) FM_WUR;

/* The public key, 32 bytes, valid while id lives. */
const uint8_t *fm_crypto_identity_public(const fm_crypto_identity *id);

/* fm_crypto_key_id() of the public key. */
uint64_t fm_crypto_identity_key_id(const fm_crypto_identity *id);

/* Wipes and frees id (NULL-safe); returns NULL. */
fm_crypto_identity *fm_crypto_identity_free(fm_crypto_identity *id);

/* ---- keyring: the enrolled agents ----------------------------------- */

/*
 * The aggregator's authorized-agents list: one base64 public key a line,
 * optionally followed by blanks and a label (the rest of the line without
 * trailing blanks, at most FM_CRYPTO_KEY_NAME_BYTES - 1 bytes, no control
 * characters but tab, e.g. a host name); blank lines and lines whose
 * first non-blank character is '#' are ignored; leading blanks are
 * allowed; CRLF line ends are accepted. Blanks are spaces and tabs.
 * Immutable once built, so one keyring may be read from several threads.
 */
typedef struct fm_crypto_keyring fm_crypto_keyring;

/*
 * Parses text[len] (not NUL-terminated; NULL when len is 0). Bad lines
 * are errors, not skipped (an operator's typo must not silently lock a
 * host out): -EINVAL with err[FM_INI_ERROR_BYTES] naming the line and why
 * ("line 3: not a base64 public key"); a NUL byte, or two lines with the
 * same key or key id: -EINVAL likewise (the later line is named); more
 * than FM_CRYPTO_KEYRING_MAX_KEYS keys or FM_CRYPTO_KEYRING_MAX_BYTES
 * bytes: -EMSGSIZE; -ENOMEM. err is written only on failure, and may be
 * NULL. An empty list is valid. On success *ret owns a new keyring.
 * Pure apart from allocation: the fuzz target's entry point.
 */
int fm_crypto_keyring_parse(
    const char *text, size_t len, char *err, fm_crypto_keyring **ret) FM_WUR;

/*
 * Reads and parses the file at path. Errors: those of the parser (err
 * then reads "path:3: why"), -EMSGSIZE for a file over the cap too, or the
 * errno of opening or reading the file (err: "path: strerror").
 */
int fm_crypto_keyring_load(
    const char *path, char *err, fm_crypto_keyring **ret) FM_WUR;

/* Builds a keyring from keys[n][32] (tests, fedmon-replay; keys may be
 * NULL when n is 0), with empty labels. Errors: -EINVAL (duplicate key or
 * key id), -EMSGSIZE (n over FM_CRYPTO_KEYRING_MAX_KEYS), -ENOMEM. ISO
 * C11 wants a cast to pass a non-const uint8_t[n][32] (-Wpedantic):
 * (const uint8_t(*)[FM_CRYPTO_PUBLIC_KEY_BYTES])keys. */
int fm_crypto_keyring_from_keys(
    const uint8_t (*keys)[FM_CRYPTO_PUBLIC_KEY_BYTES], size_t n,
    fm_crypto_keyring **ret) FM_WUR;

/*
 * Looks up the key whose id is id: its public key (valid while kr lives)
 * and, when ret_name is not NULL, its label ("" when none), or NULL when
 * the id is not enrolled. O(log n). Thread-safe.
 */
const uint8_t *fm_crypto_keyring_find(
    const fm_crypto_keyring *kr, uint64_t id, const char **ret_name);

/* The number of keys. */
size_t fm_crypto_keyring_count(const fm_crypto_keyring *kr);

/* Frees kr (NULL-safe); returns NULL. */
fm_crypto_keyring *fm_crypto_keyring_free(fm_crypto_keyring *kr);

/* ---- sessions: the keys shared by one agent and the aggregator ------- */

typedef struct fm_crypto_session fm_crypto_session;

enum fm_crypto_role {
	FM_CRYPTO_ROLE_AGENT,      /* crypto_kx client */
	FM_CRYPTO_ROLE_AGGREGATOR, /* crypto_kx server */
};

/*
 * Derives the two directional keys between self (in role) and the peer
 * whose public key is peer_pk. Costs one X25519 multiplication: callers
 * keep sessions rather than derive one per message. Each session's keys
 * live in their own guarded block (four memory mappings), so with the
 * default vm.max_map_count (65530) a process holds at most about 16000
 * sessions before this returns -ENOMEM: keep sessions for the peers being
 * talked to now, not one for every enrolled key. On success *ret owns
 * a session, which does not reference self. Errors: -EBADMSG (peer_pk is
 * a point of small order, so the shared secret would be public), -EINVAL
 * (unknown role), -ENOMEM.
 */
int fm_crypto_session_new(const fm_crypto_identity *self,
    enum fm_crypto_role role, const uint8_t peer_pk[FM_CRYPTO_PUBLIC_KEY_BYTES],
    fm_crypto_session **ret) FM_WUR;

/* Wipes and frees s (NULL-safe); returns NULL. */
fm_crypto_session *fm_crypto_session_free(fm_crypto_session *s);

/*
 * Encrypts plain[len] to the peer, binding ad[ad_len], into
 * out[len + FM_CRYPTO_SEAL_OVERHEAD_BYTES] (out may not overlap plain;
 * plain and ad may be NULL when their length is 0). The nonce is random.
 * Returns 0, or -ENOBUFS when out_cap is too small. Thread-safe (the
 * session is only read).
 */
int fm_crypto_seal(const fm_crypto_session *s, const uint8_t *ad, size_t ad_len,
    const uint8_t *plain, size_t len, uint8_t *out, size_t out_cap) FM_WUR;

/*
 * Opens sealed[len], a body sealed by the peer with the same ad, into
 * out[len - FM_CRYPTO_SEAL_OVERHEAD_BYTES] (no overlap; out may be NULL
 * when that is 0). Returns 0 and the plaintext length in *ret_len;
 * -EBADMSG when it does not open (shorter than the overhead, altered,
 * another key or other ad), out[len - overhead] then wiped; -ENOBUFS
 * when out_cap is too small (checked after the length, before the MAC).
 * *ret_len is written only on success. Thread-safe.
 */
int fm_crypto_open(const fm_crypto_session *s, const uint8_t *ad, size_t ad_len,
    const uint8_t *sealed, size_t len, uint8_t *out, size_t out_cap,
    size_t *ret_len) FM_WUR;

/* ---- randomness ------------------------------------------------------ */

/* A uniformly random 64-bit value from libsodium's CSPRNG (backoff jitter,
 * nonces elsewhere). Thread-safe. */
uint64_t fm_crypto_random_u64(void);

#endif
