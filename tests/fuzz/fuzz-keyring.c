/*
 * Fuzz target: the authorized-agents parser (crypto/keyring.c). Whatever
 * the bytes: a refusal carries a message naming a line or the cap; an
 * accepted keyring holds every key under its own id, with a short label
 * free of control characters, and writing it back as text parses to the
 * same keyring.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_BYTES (FM_CRYPTO_KEY_TEXT_BYTES + FM_CRYPTO_KEY_NAME_BYTES + 1)

/* Parses canon[len], the keyring written back one "key label" a line,
 * and checks that it is the same keyring. */
static void
check_reparse(const fm_crypto_keyring *kr, const char *canon, size_t len)
{
	fm_crypto_keyring *again = NULL;
	const char *p = canon, *end = canon + len;

	if (fm_crypto_keyring_parse(canon, len, NULL, &again) < 0 ||
	    fm_crypto_keyring_count(again) != fm_crypto_keyring_count(kr))
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char key[FM_CRYPTO_KEY_TEXT_BYTES];
		uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];
		const char *a = NULL, *b = NULL;
		uint64_t id;

		memcpy(key, p, sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		if (!nl || fm_crypto_key_parse(key, pk) < 0)
			abort();
		id = fm_crypto_key_id(pk);
		if (!fm_crypto_keyring_find(kr, id, &a) ||
		    !fm_crypto_keyring_find(again, id, &b) || strcmp(a, b) != 0)
			abort();
		p = nl + 1;
	}
	fm_crypto_keyring_free(again);
}

/*
 * Finds every key line of text[size] in kr (an accepted text has no other
 * lines), checks what kr says about it, and writes the keyring back as
 * text to parse again.
 */
static void
check_keyring(const fm_crypto_keyring *kr, const char *text, size_t size)
{
	const char *p = text, *end = text + size;
	size_t n = fm_crypto_keyring_count(kr), found = 0, len = 0;
	char *canon;

	if (n > FM_CRYPTO_KEYRING_MAX_KEYS)
		abort();
	canon = malloc(n * LINE_MAX_BYTES + 1);
	if (!canon)
		abort();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end, *q = p, *name = NULL;
		char key[FM_CRYPTO_KEY_TEXT_BYTES];
		uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];
		const uint8_t *got;

		p = nl ? nl + 1 : end;
		while (q < eol && (*q == ' ' || *q == '\t'))
			q++;
		if (q == eol || *q == '#' || (*q == '\r' && q + 1 == eol))
			continue;
		if (eol - q < FM_CRYPTO_KEY_TEXT_BYTES - 1)
			abort(); /* accepted, so every other line is a key */
		memcpy(key, q, sizeof(key) - 1);
		key[sizeof(key) - 1] = '\0';
		if (fm_crypto_key_parse(key, pk) < 0)
			abort();
		got = fm_crypto_keyring_find(kr, fm_crypto_key_id(pk), &name);
		if (!got || memcmp(got, pk, sizeof(pk)) != 0 || !name ||
		    strlen(name) >= FM_CRYPTO_KEY_NAME_BYTES)
			abort();
		for (const char *c = name; *c; c++)
			if (((unsigned char)*c < 0x20 && *c != '\t') ||
			    *c == 0x7f)
				abort();
		if (++found > n)
			abort();
		len += (size_t)snprintf(
		    canon + len, LINE_MAX_BYTES + 1, "%s %s\n", key, name);
	}
	if (found != n)
		abort();
	check_reparse(kr, canon, len);
	free(canon);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[FM_INI_ERROR_BYTES];
	fm_crypto_keyring *kr = NULL;
	int r;

	memset(err, 0, sizeof(err));
	r = fm_crypto_keyring_parse((const char *)data, size, err, &kr);
	if (r < 0) {
		if (kr || (r != -EINVAL && r != -EMSGSIZE && r != -ENOMEM))
			abort();
		if (strnlen(err, sizeof(err)) == sizeof(err) || err[0] == '\0')
			abort();
		if (r == -EINVAL && strncmp(err, "line ", 5) != 0)
			abort();
		return 0;
	}
	check_keyring(kr, (const char *)data, size);
	fm_crypto_keyring_free(kr);
	return 0;
}
