/*
 * Tests for crypto/identity.c: key pairs generated and derived from a
 * seed (a known answer), the secret key file written and read back, its
 * modes, and every refusal of the reader and the writer with its exact
 * code. Guarded blocks are counted: each test ends with none live.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/crypto.h"
#include "tests/crypto/sodium-hook.h"

/* seed 01 01 … 01; computed independently with Python (hashlib BLAKE2b,
 * the cryptography package's X25519) */
#define AGENT_SK_TEXT "9Azq+G5XdpIzMrjY/TvvhJytsZxplrwnKvH2SNlWakw="
#define AGENT_PK_TEXT "qy/KMomDIsII+y2rUEi9Q8NVxkMPWIiXy1dJYc+pgG8="
#define AGENT_KEY_ID  0x8c7b85f0e446d487ull
#define TAG           "fedmon-secret-key-v1 "

static char dir[] = "/tmp/fm-test-identity-XXXXXX";

static void
path_in_dir(char *ret, const char *name)
{
	int n = snprintf(ret, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

/* Writes text to name in the test directory with mode, returns its path
 * in ret[PATH_MAX]. */
static void
write_file(
    char *ret, const char *name, const void *text, size_t len, mode_t mode)
{
	int fd;

	path_in_dir(ret, name);
	(void)unlink(ret);
	fd = open(ret, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_true(write(fd, text, len) == (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

static size_t
read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, cap - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return (size_t)n;
}

static fm_crypto_identity *
agent_identity(void)
{
	uint8_t seed[FM_CRYPTO_SEED_BYTES];
	fm_crypto_identity *id = NULL;

	memset(seed, 1, sizeof(seed));
	assert_int_equal(fm_crypto_identity_from_seed(seed, &id), 0);
	return id;
}

static void
assert_public_text(const fm_crypto_identity *id, const char *text)
{
	char t[FM_CRYPTO_KEY_TEXT_BYTES];

	fm_crypto_key_format(fm_crypto_identity_public(id), t);
	assert_string_equal(t, text);
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	/* the directory itself stays */
	if (f->level == 0)
		return 0;
	return remove(path) < 0 ? -1 : 0;
}

/* Empties the test directory. */
static int
empty_dir(void)
{
	return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

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
	if (empty_dir() < 0 || rmdir(dir) < 0)
		return -1;
	return 0;
}

static int
setup(void **state)
{
	return empty_dir() < 0 ? -1 : 0;
}

static int
teardown(void **state)
{
	fm_test_sodium_fail_after(-1);
	/* every guarded block freed */
	return fm_test_sodium_live() == 0 ? 0 : -1;
}

static void
test_identity_generate(void **state)
{
	fm_crypto_identity *a = NULL, *b = NULL;
	const uint8_t zero[FM_CRYPTO_PUBLIC_KEY_BYTES] = { 0 };

	assert_int_equal(fm_crypto_identity_generate(&a), 0);
	assert_int_equal(fm_crypto_identity_generate(&b), 0);
	assert_memory_not_equal(fm_crypto_identity_public(a),
	    fm_crypto_identity_public(b), FM_CRYPTO_PUBLIC_KEY_BYTES);
	assert_memory_not_equal(
	    fm_crypto_identity_public(a), zero, sizeof(zero));
	assert_true(fm_crypto_identity_key_id(a) ==
	    fm_crypto_key_id(fm_crypto_identity_public(a)));
	assert_true(
	    fm_crypto_identity_key_id(a) != fm_crypto_identity_key_id(b));
	assert_null(fm_crypto_identity_free(a));
	assert_null(fm_crypto_identity_free(b));
	assert_null(fm_crypto_identity_free(NULL));
}

static void
test_identity_from_seed_known_answer(void **state)
{
	uint8_t seed[FM_CRYPTO_SEED_BYTES];
	fm_crypto_identity *a = agent_identity(), *b = agent_identity();
	fm_crypto_identity *c = NULL;

	assert_public_text(a, AGENT_PK_TEXT);
	assert_true(fm_crypto_identity_key_id(a) == AGENT_KEY_ID);
	assert_memory_equal(fm_crypto_identity_public(a),
	    fm_crypto_identity_public(b), FM_CRYPTO_PUBLIC_KEY_BYTES);
	memset(seed, 1, sizeof(seed));
	seed[31] = 2;
	assert_int_equal(fm_crypto_identity_from_seed(seed, &c), 0);
	assert_memory_not_equal(fm_crypto_identity_public(a),
	    fm_crypto_identity_public(c), FM_CRYPTO_PUBLIC_KEY_BYTES);
	fm_crypto_identity_free(a);
	fm_crypto_identity_free(b);
	fm_crypto_identity_free(c);
}

static void
test_identity_save_load_round_trip(void **state)
{
	char path[PATH_MAX], pub[PATH_MAX], text[512];
	fm_crypto_identity *a = agent_identity(), *back = NULL, *gen = NULL;
	struct stat st;
	mode_t old = umask(077); /* the .pub is 0644 whatever the umask */

	path_in_dir(path, "agent.key");
	path_in_dir(pub, "agent.key.pub");
	assert_int_equal(fm_crypto_identity_save(a, path, false), 0);
	umask(old);

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(lstat(pub, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	/* the exact bytes: a comment, then the tagged secret */
	read_file(path, text, sizeof(text));
	assert_true(text[0] == '#');
	assert_non_null(strstr(text, "\n" TAG AGENT_SK_TEXT "\n"));
	assert_string_equal(strstr(text, "\n" TAG) + 1, TAG AGENT_SK_TEXT "\n");
	read_file(pub, text, sizeof(text));
	assert_string_equal(text, AGENT_PK_TEXT "\n");

	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_memory_equal(fm_crypto_identity_public(a),
	    fm_crypto_identity_public(back), FM_CRYPTO_PUBLIC_KEY_BYTES);
	fm_crypto_identity_free(back);

	/* a generated identity survives the round trip too */
	path_in_dir(path, "gen.key");
	assert_int_equal(fm_crypto_identity_generate(&gen), 0);
	assert_int_equal(fm_crypto_identity_save(gen, path, false), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_memory_equal(fm_crypto_identity_public(gen),
	    fm_crypto_identity_public(back), FM_CRYPTO_PUBLIC_KEY_BYTES);
	fm_crypto_identity_free(back);
	fm_crypto_identity_free(gen);
	fm_crypto_identity_free(a);

	/* nothing left behind but the two pairs */
	path_in_dir(path, "agent.key.new");
	assert_int_equal(access(path, F_OK), -1);
	path_in_dir(path, "agent.key.tmp");
	assert_int_equal(access(path, F_OK), -1);
}

static void
test_identity_save_refuses_existing(void **state)
{
	char path[PATH_MAX], text[512];
	fm_crypto_identity *a = agent_identity(), *g = NULL, *back = NULL;

	assert_int_equal(fm_crypto_identity_generate(&g), 0);
	write_file(path, "host.key", "precious\n", 9, 0600);
	assert_int_equal(fm_crypto_identity_save(a, path, false), -EEXIST);
	read_file(path, text, sizeof(text));
	assert_string_equal(text, "precious\n");
	/* a dangling symbolic link is an existing name as well */
	path_in_dir(path, "link.key");
	assert_int_equal(symlink("/nonexistent/fedmon", path), 0);
	assert_int_equal(fm_crypto_identity_save(a, path, false), -EEXIST);

	/* overwrite replaces a key file, and the .pub with it */
	path_in_dir(path, "host.key");
	assert_int_equal(fm_crypto_identity_save(a, path, false), -EEXIST);
	assert_int_equal(fm_crypto_identity_save(g, path, true), 0);
	assert_int_equal(fm_crypto_identity_save(a, path, true), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_public_text(back, AGENT_PK_TEXT);
	path_in_dir(path, "host.key.pub");
	read_file(path, text, sizeof(text));
	assert_string_equal(text, AGENT_PK_TEXT "\n");
	/* overwrite also creates */
	path_in_dir(path, "fresh.key");
	assert_int_equal(fm_crypto_identity_save(g, path, true), 0);
	fm_crypto_identity_free(back);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_memory_equal(fm_crypto_identity_public(g),
	    fm_crypto_identity_public(back), FM_CRYPTO_PUBLIC_KEY_BYTES);
	fm_crypto_identity_free(back);
	fm_crypto_identity_free(g);
	fm_crypto_identity_free(a);
}

static void
test_identity_save_errors(void **state)
{
	char path[PATH_MAX + 64];
	fm_crypto_identity *a = agent_identity();

	/* no such directory */
	path_in_dir(path, "missing/agent.key");
	assert_int_equal(fm_crypto_identity_save(a, path, false), -ENOENT);
	assert_int_equal(fm_crypto_identity_save(a, path, true), -ENOENT);
	/* a name the .pub or .new cannot extend */
	memset(path, 'a', PATH_MAX - 2);
	path[PATH_MAX - 2] = '\0';
	assert_int_equal(
	    fm_crypto_identity_save(a, path, false), -ENAMETOOLONG);

	/* the .pub cannot be written (a directory there): a new secret key
	 * file is removed again, a replaced one stays */
	path_in_dir(path, "agent.key.pub");
	assert_int_equal(mkdir(path, 0755), 0);
	path_in_dir(path, "agent.key");
	assert_int_equal(fm_crypto_identity_save(a, path, false), -EISDIR);
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(fm_crypto_identity_save(a, path, true), -EISDIR);
	assert_int_equal(access(path, F_OK), 0);

	/* out of guarded memory for the file's text */
	path_in_dir(path, "nomem.key");
	fm_test_sodium_fail_after(0);
	assert_int_equal(fm_crypto_identity_save(a, path, false), -ENOMEM);
	assert_int_equal(access(path, F_OK), -1);
	fm_crypto_identity_free(a);
}

static void
test_identity_load_checks_mode_and_owner(void **state)
{
	static const mode_t loose[] = { 0640, 0604, 0620, 0602, 0610, 0601,
		0644, 0666, 0700 | 0070 };
	char path[PATH_MAX];
	fm_crypto_identity *a = agent_identity(), *back = NULL;

	path_in_dir(path, "agent.key");
	assert_int_equal(fm_crypto_identity_save(a, path, false), 0);
	for (size_t i = 0; i < FM_ELEMENTSOF(loose); i++) {
		assert_int_equal(chmod(path, loose[i]), 0);
		assert_int_equal(fm_crypto_identity_load(path, &back), -EPERM);
		assert_null(back);
	}
	/* the owner's own bits do not matter */
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	back = fm_crypto_identity_free(back);
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	back = fm_crypto_identity_free(back);
	assert_int_equal(chmod(path, 0600), 0);

	/* another owner, unless it is root */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_int_equal(fm_crypto_identity_load(path, &back), -EPERM);
		assert_int_equal(chown(path, 0, 0), 0);
	} else {
		assert_int_equal(chown(path, geteuid(), getegid()), 0);
	}
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	fm_crypto_identity_free(back);
	fm_crypto_identity_free(a);
}

static void
test_identity_load_refuses_foreign_content(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"# only a comment\n",
		"# no newline after the comment",
		TAG AGENT_SK_TEXT,        /* no final newline */
		TAG AGENT_SK_TEXT "\n\n", /* something after it */
		TAG AGENT_SK_TEXT "\n# late\n",
		TAG AGENT_SK_TEXT "\r\n",
		TAG AGENT_SK_TEXT " \n",
		" " TAG AGENT_SK_TEXT "\n",
		"\n" TAG AGENT_SK_TEXT "\n", /* blank line before */
		"fedmon-secret-key-v2 " AGENT_SK_TEXT "\n",
		"fedmon-secret-key-v1  " AGENT_SK_TEXT "\n",
		"fedmon-secret-key-v1\t" AGENT_SK_TEXT "\n",
		TAG "9Azq+G5XdpIzMrjY/TvvhJytsZxplrwnKvH2SNlWak=\n",
		TAG "9Azq+G5XdpIzMrjY/TvvhJytsZxplrwnKvH2SNlWakx=\n",
		TAG "9Azq+G5XdpIzMrjY/TvvhJytsZxplrwnKvH2SNlWa*w=\n",
		AGENT_PK_TEXT "\n", /* a .pub file */
		"-----BEGIN OPENSSH PRIVATE KEY-----\n",
	};
	char path[PATH_MAX];
	fm_crypto_identity *back = NULL;

	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		write_file(path, "bad.key", bad[i], strlen(bad[i]), 0600);
		assert_int_equal(fm_crypto_identity_load(path, &back), -EINVAL);
		assert_null(back);
	}
	/* and the forms it does accept */
	write_file(path, "ok.key", TAG AGENT_SK_TEXT "\n",
	    strlen(TAG AGENT_SK_TEXT "\n"), 0600);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_public_text(back, AGENT_PK_TEXT);
	back = fm_crypto_identity_free(back);
	write_file(path, "ok.key", "#\n# two\n" TAG AGENT_SK_TEXT "\n",
	    strlen("#\n# two\n" TAG AGENT_SK_TEXT "\n"), 0600);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_public_text(back, AGENT_PK_TEXT);
	fm_crypto_identity_free(back);
}

static void
test_identity_load_size_cap(void **state)
{
	const char *key = TAG AGENT_SK_TEXT "\n";
	char path[PATH_MAX], *text;
	size_t keylen = strlen(key), max = FM_CRYPTO_KEY_FILE_MAX_BYTES;
	fm_crypto_identity *back = NULL;

	/* exactly at the cap: comments padding a valid key */
	text = malloc(max + 1);
	assert_non_null(text);
	memset(text, 'x', max - keylen);
	text[0] = '#';
	text[max - keylen - 1] = '\n';
	memcpy(text + max - keylen, key, keylen);
	write_file(path, "max.key", text, max, 0600);
	assert_int_equal(fm_crypto_identity_load(path, &back), 0);
	assert_public_text(back, AGENT_PK_TEXT);
	back = fm_crypto_identity_free(back);
	/* one byte more */
	memmove(text + 1, text, max);
	write_file(path, "big.key", text, max + 1, 0600);
	assert_int_equal(fm_crypto_identity_load(path, &back), -EFBIG);
	assert_null(back);
	free(text);
}

static void
test_identity_load_file_errors(void **state)
{
	char path[PATH_MAX], target[PATH_MAX];
	fm_crypto_identity *a = agent_identity(), *back = NULL;

	path_in_dir(path, "missing.key");
	assert_int_equal(fm_crypto_identity_load(path, &back), -ENOENT);
	path_in_dir(path, "sub");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), -EISDIR);
	/* a symbolic link, even to a good key file */
	path_in_dir(target, "agent.key");
	assert_int_equal(fm_crypto_identity_save(a, target, false), 0);
	path_in_dir(path, "link.key");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), -ELOOP);
	/* a FIFO: refused at once, not waited on */
	path_in_dir(path, "fifo.key");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(fm_crypto_identity_load(path, &back), -EINVAL);
	/* not a directory on the way */
	path_in_dir(path, "agent.key/x");
	assert_int_equal(fm_crypto_identity_load(path, &back), -ENOTDIR);
	assert_null(back);

	/* the errno of read(2): pagemap reads only whole 8-byte entries */
	if (access("/proc/self/pagemap", R_OK) == 0)
		assert_int_equal(
		    fm_crypto_identity_load("/proc/self/pagemap", &back),
		    -EINVAL);
	assert_null(back);

	/* out of guarded memory: for the text, then for the identity */
	for (int i = 0; i < 2; i++) {
		fm_test_sodium_fail_after(i);
		assert_int_equal(
		    fm_crypto_identity_load(target, &back), -ENOMEM);
		assert_null(back);
		assert_int_equal(fm_test_sodium_live(), 1);
	}
	fm_test_sodium_fail_after(-1);
	fm_crypto_identity_free(a);
}

static void
test_identity_load_cap_while_reading(void **state)
{
	static char pad[FM_CRYPTO_KEY_FILE_MAX_BYTES + 16];
	char *argv[] = { "sleep", "30", NULL }, *envp[] = { pad, NULL };
	char path[64];
	fm_crypto_identity *back = NULL;
	pid_t pid;
	int status;

	/* /proc/PID/environ: ours (mode 0400), stat() size 0, and here
	 * longer than the cap, which must hold while reading */
	memset(pad, 'x', sizeof(pad) - 1);
	memcpy(pad, "PAD=", 4);
	assert_int_equal(
	    posix_spawn(&pid, "/bin/sleep", NULL, NULL, argv, envp), 0);
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	/* the parent of a vfork runs on before exec fills in the new
	 * environment: wait until it reads */
	for (int i = 0; i < 1000; i++) {
		char c;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n;

		assert_true(fd >= 0);
		n = read(fd, &c, 1);
		close(fd);
		if (n == 1)
			break;
		usleep(1000);
	}
	assert_int_equal(fm_crypto_identity_load(path, &back), -EFBIG);
	assert_null(back);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
test_identity_out_of_memory(void **state)
{
	uint8_t seed[FM_CRYPTO_SEED_BYTES] = { 0 };
	fm_crypto_identity *id = NULL;

	fm_test_sodium_fail_after(0);
	assert_int_equal(fm_crypto_identity_generate(&id), -ENOMEM);
	fm_test_sodium_fail_after(0);
	assert_int_equal(fm_crypto_identity_from_seed(seed, &id), -ENOMEM);
	assert_null(id);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_identity_generate, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_from_seed_known_answer, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_save_load_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_save_refuses_existing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_save_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_load_checks_mode_and_owner, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_load_refuses_foreign_content, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_load_size_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_load_file_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_load_cap_while_reading, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_identity_out_of_memory, setup, teardown),
	};

	return cmocka_run_group_tests_name(
	    "crypto-identity", tests, setup_group, teardown_group);
}
