/*
 * Tests for crypto/keyring.c: the authorized-agents file parsed with its
 * comments, blanks, labels and line ends; every refusal with its exact
 * code and message; the caps; lookups; from_keys(); the file reader; and
 * allocation failures (malloc, calloc and realloc are wrapped).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "tests/support/alloc-hook.h"

#define K1    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" /* 00 01 … 1f */
#define K2    "qy/KMomDIsII+y2rUEi9Q8NVxkMPWIiXy1dJYc+pgG8="
#define K3    "/Dszk2elIl1TqS04AyOv0DXXgXttG+R9lG9rCanL3AY="
#define K1_ID 0x057e1ffc60512fcbull

/* ISO C11 converts uint8_t (*)[32] to const uint8_t (*)[32] only by a
 * cast (C23 drops the rule) */
#define CONST_KEYS(k) ((const uint8_t(*)[FM_CRYPTO_PUBLIC_KEY_BYTES])(k))

static char dir[] = "/tmp/fm-test-keyring-XXXXXX";

static int
setup_group(void **state)
{
	if (fm_crypto_init() < 0 || !mkdtemp(dir))
		return -1;
	return 0;
}

static int
teardown_group(void **state)
{
	static const char *const names[] = { "agents", "big" };
	char path[PATH_MAX];

	for (size_t i = 0; i < FM_ELEMENTSOF(names); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	return rmdir(dir) < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	fm_test_alloc_fail_after(-1);
	return 0;
}

static uint64_t
id_of(const char *text)
{
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];

	assert_int_equal(fm_crypto_key_parse(text, pk), 0);
	return fm_crypto_key_id(pk);
}

/* Asserts that kr holds the key text with label name. */
static void
assert_has(const fm_crypto_keyring *kr, const char *text, const char *name)
{
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES];
	const char *got = "unset";
	const uint8_t *found;

	assert_int_equal(fm_crypto_key_parse(text, pk), 0);
	found = fm_crypto_keyring_find(kr, fm_crypto_key_id(pk), &got);
	assert_non_null(found);
	assert_memory_equal(found, pk, sizeof(pk));
	assert_string_equal(got, name);
	assert_true(
	    fm_crypto_keyring_find(kr, fm_crypto_key_id(pk), NULL) == found);
}

/* Parses s, expecting error code and message. */
static void
assert_refused(const char *s, size_t len, int code, const char *msg)
{
	char err[FM_INI_ERROR_BYTES] = "";
	fm_crypto_keyring *kr = NULL;

	assert_int_equal(fm_crypto_keyring_parse(s, len, err, &kr), code);
	assert_null(kr);
	assert_string_equal(err, msg);
	/* err is optional */
	assert_int_equal(fm_crypto_keyring_parse(s, len, NULL, &kr), code);
	assert_null(kr);
}

static void
assert_refused_str(const char *s, int code, const char *msg)
{
	assert_refused(s, strlen(s), code, msg);
}

static void
test_keyring_parse_comments_blanks_labels(void **state)
{
	const char *text =
	    "# fedmon authorized agents\n"
	    "\n" K1 "\n"
	    "   \t \n"
	    "  # indented comment " K3 "\n" K2 "  web-01.example.org  \n"
	    "\t" K3 "\tdb 2 (rack\t7)";
	char err[FM_INI_ERROR_BYTES] = "untouched";
	fm_crypto_keyring *kr = NULL;

	assert_int_equal(
	    fm_crypto_keyring_parse(text, strlen(text), err, &kr), 0);
	assert_string_equal(err, "untouched");
	assert_int_equal(fm_crypto_keyring_count(kr), 3);
	assert_has(kr, K1, "");
	assert_has(kr, K2, "web-01.example.org");
	assert_has(kr, K3, "db 2 (rack\t7)");
	assert_true(id_of(K1) == K1_ID);
	assert_null(fm_crypto_keyring_find(kr, 0, NULL));
	assert_null(fm_crypto_keyring_find(kr, K1_ID + 1, NULL));
	assert_null(fm_crypto_keyring_find(kr, UINT64_MAX, NULL));
	assert_null(fm_crypto_keyring_free(kr));
	assert_null(fm_crypto_keyring_free(NULL));
}

static void
test_keyring_parse_crlf(void **state)
{
	const char *text =
	    "# windows\r\n\r\n" K1 "\r\n" K2 " host-2\r\n" K3 " last\r";
	fm_crypto_keyring *kr = NULL;

	assert_int_equal(
	    fm_crypto_keyring_parse(text, strlen(text), NULL, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), 3);
	assert_has(kr, K1, "");
	assert_has(kr, K2, "host-2");
	assert_has(kr, K3, "last");
	fm_crypto_keyring_free(kr);
}

static void
test_keyring_parse_empty(void **state)
{
	static const char *const empty[] = { "", "\n", "# nobody yet\n",
		"\r\n \t\r\n#\n" };
	fm_crypto_keyring *kr = NULL;

	assert_int_equal(fm_crypto_keyring_parse(NULL, 0, NULL, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), 0);
	assert_null(fm_crypto_keyring_find(kr, K1_ID, NULL));
	kr = fm_crypto_keyring_free(kr);
	for (size_t i = 0; i < FM_ELEMENTSOF(empty); i++) {
		assert_int_equal(fm_crypto_keyring_parse(
		                     empty[i], strlen(empty[i]), NULL, &kr),
		    0);
		assert_int_equal(fm_crypto_keyring_count(kr), 0);
		kr = fm_crypto_keyring_free(kr);
	}
}

static void
test_keyring_parse_label_length(void **state)
{
	char text[256], label[FM_CRYPTO_KEY_NAME_BYTES + 1];
	fm_crypto_keyring *kr = NULL;

	memset(label, 'n', FM_CRYPTO_KEY_NAME_BYTES - 1);
	label[FM_CRYPTO_KEY_NAME_BYTES - 1] = '\0';
	snprintf(text, sizeof(text), "%s %s\n", K1, label);
	assert_int_equal(
	    fm_crypto_keyring_parse(text, strlen(text), NULL, &kr), 0);
	assert_has(kr, K1, label);
	kr = fm_crypto_keyring_free(kr);
	/* trailing blanks do not count */
	snprintf(text, sizeof(text), "%s %s \t \n", K1, label);
	assert_int_equal(
	    fm_crypto_keyring_parse(text, strlen(text), NULL, &kr), 0);
	assert_has(kr, K1, label);
	kr = fm_crypto_keyring_free(kr);
	label[FM_CRYPTO_KEY_NAME_BYTES - 1] = 'n';
	label[FM_CRYPTO_KEY_NAME_BYTES] = '\0';
	snprintf(text, sizeof(text), "\n%s %s\n", K1, label);
	assert_refused_str(text, -EINVAL, "line 2: label longer than 63 bytes");
}

static void
test_keyring_parse_rejects_bad_lines(void **state)
{
	assert_refused_str("# x\n" K1 "\nnot-a-key\n", -EINVAL,
	    "line 3: not a base64 public key");
	/* 43 characters, junk, URL-safe alphabet, a glued label */
	assert_refused_str("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
	    -EINVAL, "line 1: not a base64 public key");
	assert_refused_str(
	    K2 "\n\nAAECAwQFBgcICQoLDA0ODxAREhMU*RYXGBkaGxwdHh8=", -EINVAL,
	    "line 3: not a base64 public key");
	assert_refused_str("AAECAwQFBgcICQoLDA0ODxAREhMU_RYXGBkaGxwdHh8=",
	    -EINVAL, "line 1: not a base64 public key");
	assert_refused_str(
	    K1 "host\n", -EINVAL, "line 1: not a base64 public key");
	assert_refused_str(
	    K1 ",host\n", -EINVAL, "line 1: not a base64 public key");
	/* a secret key line is not a public key line */
	assert_refused_str("fedmon-secret-key-v1 " K1 "\n", -EINVAL,
	    "line 1: not a base64 public key");
	/* a carriage return that does not end the line */
	assert_refused_str(
	    K1 "\r \n", -EINVAL, "line 1: not a base64 public key");
	assert_refused_str(
	    K1 " a\rb\n", -EINVAL, "line 1: control character in label");
	assert_refused_str(
	    K1 " a\033[2Jb\n", -EINVAL, "line 1: control character in label");
	assert_refused_str(
	    K1 " a\177\n", -EINVAL, "line 1: control character in label");
	/* vertical tab and form feed are not blanks */
	assert_refused_str(
	    "\v" K1 "\n", -EINVAL, "line 1: not a base64 public key");
	assert_refused_str(
	    K1 "\n\f\n", -EINVAL, "line 2: not a base64 public key");
	assert_refused("# a\n" K1 " x\0y\n", strlen("# a\n" K1 " x") + 3,
	    -EINVAL, "line 2: NUL byte");
	assert_refused("\0", 1, -EINVAL, "line 1: NUL byte");
}

static void
test_keyring_parse_rejects_duplicates(void **state)
{
	assert_refused_str(K1 "\n" K2 "\n# again\n" K1 " other-name\n", -EINVAL,
	    "line 4: duplicate key (also on line 1)");
	assert_refused_str(K2 "\n" K1 "\n" K1 "\n" K2 "\n" K1 "\n", -EINVAL,
	    "line 3: duplicate key (also on line 2)");
	assert_refused_str(K3 "\r\n" K3 "\r\n", -EINVAL,
	    "line 2: duplicate key (also on line 1)");
}

/* Writes n distinct key lines into a new buffer. */
static char *
many_keys(size_t n, size_t *ret_len)
{
	char *text = malloc(n * FM_CRYPTO_KEY_TEXT_BYTES);
	char *p = text;

	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES] = { 0 };

		memcpy(pk, &i, sizeof(i));
		fm_crypto_key_format(pk, p);
		p[FM_CRYPTO_KEY_TEXT_BYTES - 1] = '\n';
		p += FM_CRYPTO_KEY_TEXT_BYTES;
	}
	*ret_len = (size_t)(p - text);
	return text;
}

static void
test_keyring_parse_caps(void **state)
{
	const size_t max = FM_CRYPTO_KEYRING_MAX_KEYS;
	char err[FM_INI_ERROR_BYTES], *text;
	fm_crypto_keyring *kr = NULL;
	size_t len;
	uint8_t pk[FM_CRYPTO_PUBLIC_KEY_BYTES] = { 0 };
	const char *name = NULL;

	/* as many keys as allowed, each found */
	text = many_keys(max + 1, &len);
	assert_int_equal(fm_crypto_keyring_parse(text, len - 45, err, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), max);
	for (size_t i = 0; i < max; i += 997) {
		memcpy(pk, &i, sizeof(i));
		assert_non_null(
		    fm_crypto_keyring_find(kr, fm_crypto_key_id(pk), &name));
		assert_string_equal(name, "");
	}
	kr = fm_crypto_keyring_free(kr);
	/* one more */
	assert_refused(
	    text, len, -EMSGSIZE, "line 100001: more than 100000 keys");
	free(text);

	/* bytes: a file of blank lines one byte over the cap */
	len = FM_CRYPTO_KEYRING_MAX_BYTES + 1;
	text = malloc(len);
	assert_non_null(text);
	memset(text, '\n', len);
	assert_refused(text, len, -EMSGSIZE, "larger than 16777216 bytes");
	assert_int_equal(fm_crypto_keyring_parse(text, len - 1, err, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), 0);
	fm_crypto_keyring_free(kr);
	free(text);
}

static void
test_keyring_from_keys(void **state)
{
	uint8_t keys[3][FM_CRYPTO_PUBLIC_KEY_BYTES];
	uint8_t(*huge)[FM_CRYPTO_PUBLIC_KEY_BYTES];
	fm_crypto_keyring *kr = NULL;

	assert_int_equal(fm_crypto_key_parse(K1, keys[0]), 0);
	assert_int_equal(fm_crypto_key_parse(K2, keys[1]), 0);
	assert_int_equal(fm_crypto_key_parse(K3, keys[2]), 0);
	assert_int_equal(
	    fm_crypto_keyring_from_keys(CONST_KEYS(keys), 3, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), 3);
	assert_has(kr, K1, "");
	assert_has(kr, K2, "");
	assert_has(kr, K3, "");
	kr = fm_crypto_keyring_free(kr);

	assert_int_equal(fm_crypto_keyring_from_keys(NULL, 0, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), 0);
	kr = fm_crypto_keyring_free(kr);

	memcpy(keys[2], keys[0], sizeof(keys[0]));
	assert_int_equal(
	    fm_crypto_keyring_from_keys(CONST_KEYS(keys), 3, &kr), -EINVAL);
	assert_null(kr);

	huge = calloc(FM_CRYPTO_KEYRING_MAX_KEYS + 1, sizeof(*huge));
	assert_non_null(huge);
	assert_int_equal(fm_crypto_keyring_from_keys(CONST_KEYS(huge),
	                     FM_CRYPTO_KEYRING_MAX_KEYS + 1, &kr),
	    -EMSGSIZE);
	assert_null(kr);
	free(huge);
}

static void
write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_true(write(fd, text, len) == (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

static void
test_keyring_load(void **state)
{
	char path[PATH_MAX], want[FM_INI_ERROR_BYTES + PATH_MAX];
	char err[FM_INI_ERROR_BYTES];
	fm_crypto_keyring *kr = NULL;
	char *big;

	snprintf(path, sizeof(path), "%s/agents", dir);
	write_text(path, "# enrolled\n" K1 " a\n" K2 " b\n", 11 + 47 + 47);
	assert_int_equal(fm_crypto_keyring_load(path, err, &kr), 0);
	assert_int_equal(fm_crypto_keyring_count(kr), 2);
	assert_has(kr, K1, "a");
	assert_has(kr, K2, "b");
	kr = fm_crypto_keyring_free(kr);

	write_text(path, K1 "\n\n" K1 "\n", 45 + 1 + 45);
	assert_int_equal(fm_crypto_keyring_load(path, err, &kr), -EINVAL);
	snprintf(
	    want, sizeof(want), "%s:3: duplicate key (also on line 1)", path);
	assert_string_equal(err, want);
	assert_null(kr);

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(fm_crypto_keyring_load(path, err, &kr), -ENOENT);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);
	assert_int_equal(fm_crypto_keyring_load(dir, err, &kr), -EISDIR);
	snprintf(want, sizeof(want), "%s: %s", dir, strerror(EISDIR));
	assert_string_equal(err, want);
	assert_int_equal(fm_crypto_keyring_load(path, NULL, &kr), -ENOENT);
	assert_null(kr);

	snprintf(path, sizeof(path), "%s/big", dir);
	big = malloc(FM_CRYPTO_KEYRING_MAX_BYTES + 1);
	assert_non_null(big);
	memset(big, '#', FM_CRYPTO_KEYRING_MAX_BYTES + 1);
	write_text(path, big, FM_CRYPTO_KEYRING_MAX_BYTES + 1);
	free(big);
	assert_int_equal(fm_crypto_keyring_load(path, err, &kr), -EMSGSIZE);
	snprintf(want, sizeof(want), "%s: larger than 16777216 bytes", path);
	assert_string_equal(err, want);
	assert_null(kr);
}

static void
test_keyring_out_of_memory(void **state)
{
	const char *text = K1 "\n" K2 "\n";
	char path[PATH_MAX], want[FM_INI_ERROR_BYTES + PATH_MAX];
	char err[FM_INI_ERROR_BYTES];
	uint8_t keys[1][FM_CRYPTO_PUBLIC_KEY_BYTES] = { { 0 } };
	fm_crypto_keyring *kr = NULL;

	/* the keyring, then its array */
	for (int i = 0; i < 2; i++) {
		fm_test_alloc_fail_after(i);
		assert_int_equal(
		    fm_crypto_keyring_parse(text, strlen(text), err, &kr),
		    -ENOMEM);
		fm_test_alloc_fail_after(-1);
		assert_string_equal(err, strerror(ENOMEM));
		assert_null(kr);
		fm_test_alloc_fail_after(i);
		assert_int_equal(
		    fm_crypto_keyring_from_keys(CONST_KEYS(keys), 1, &kr),
		    -ENOMEM);
		fm_test_alloc_fail_after(-1);
		assert_null(kr);
	}
	/* an empty keyring has no array to allocate */
	fm_test_alloc_fail_after(1);
	assert_int_equal(fm_crypto_keyring_parse("\n", 1, err, &kr), 0);
	fm_test_alloc_fail_after(-1);
	kr = fm_crypto_keyring_free(kr);

	/* the file's buffer, the keyring, its array */
	snprintf(path, sizeof(path), "%s/agents", dir);
	write_text(path, text, strlen(text));
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOMEM));
	for (int i = 0; i < 3; i++) {
		fm_test_alloc_fail_after(i);
		assert_int_equal(
		    fm_crypto_keyring_load(path, err, &kr), -ENOMEM);
		fm_test_alloc_fail_after(-1);
		assert_string_equal(err, want);
		assert_null(kr);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring_parse_comments_blanks_labels),
		cmocka_unit_test(test_keyring_parse_crlf),
		cmocka_unit_test(test_keyring_parse_empty),
		cmocka_unit_test(test_keyring_parse_label_length),
		cmocka_unit_test(test_keyring_parse_rejects_bad_lines),
		cmocka_unit_test(test_keyring_parse_rejects_duplicates),
		cmocka_unit_test(test_keyring_parse_caps),
		cmocka_unit_test(test_keyring_from_keys),
		cmocka_unit_test(test_keyring_load),
		cmocka_unit_test_teardown(test_keyring_out_of_memory, teardown),
	};

	return cmocka_run_group_tests_name(
	    "crypto-keyring", tests, setup_group, teardown_group);
}
