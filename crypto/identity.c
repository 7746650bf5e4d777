/*
 * Long-term identities: an X25519 key pair in guarded memory, and its
 * secret key file (a comment, then "fedmon-secret-key-v1 <base64>\n";
 * mode 0600) with the public key beside it in "<path>.pub".
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/crypto-int.h"

#define KEY_FILE_TAG     "fedmon-secret-key-v1 "
#define KEY_FILE_TAG_LEN (sizeof(KEY_FILE_TAG) - 1)
#define KEY_FILE_COMMENT                                                       \
	"# fedmon secret key; keep it private (the public key is in .pub)\n"
#define PUB_SUFFIX "pub"
#define NEW_SUFFIX "new"

/* An identity block, writable, wiped (sodium_malloc fills it with 0xdb,
 * not zero). NULL when guarded memory is exhausted. */
static fm_crypto_identity *
identity_alloc(void)
{
	fm_crypto_identity *id;

	assert(fmi_crypto_is_ready());
	id = sodium_malloc(sizeof(*id));
	if (id)
		sodium_memzero(id, sizeof(*id));
	return id;
}

/* Seals a finished identity against writes and hands it out. */
static void
identity_finish(fm_crypto_identity *id, fm_crypto_identity **ret)
{
	/* a failure only leaves the block writable: not worth failing for */
	(void)sodium_mprotect_readonly(id);
	*ret = id;
}

int
fm_crypto_identity_generate(fm_crypto_identity **ret)
{
	fm_crypto_identity *id = identity_alloc();

	if (!id)
		return -ENOMEM;
	(void)crypto_kx_keypair(id->pk, id->sk);
	identity_finish(id, ret);
	return 0;
}

int
fm_crypto_identity_from_seed(
    const uint8_t seed[FM_CRYPTO_SEED_BYTES], fm_crypto_identity **ret)
{
	fm_crypto_identity *id = identity_alloc();

	if (!id)
		return -ENOMEM;
	(void)crypto_kx_seed_keypair(id->pk, id->sk, seed);
	identity_finish(id, ret);
	return 0;
}

const uint8_t *
fm_crypto_identity_public(const fm_crypto_identity *id)
{
	return id->pk;
}

uint64_t
fm_crypto_identity_key_id(const fm_crypto_identity *id)
{
	return fm_crypto_key_id(id->pk);
}

fm_crypto_identity *
fm_crypto_identity_free(fm_crypto_identity *id)
{
	/* sodium_free() makes the block writable and wipes it first */
	sodium_free(id);
	return NULL;
}

/* ---- the key file ------------------------------------------------------ */

/*
 * Parses a key file's text[len] into id->sk and derives id->pk. Returns 0
 * or -EINVAL. Bytes of the secret may be left in id on failure.
 */
static int
key_file_parse(const char *text, size_t len, fm_crypto_identity *id)
{
	const char *p = text, *end = text + len, *nl;

	/* '#' comment lines, then the key line and nothing after it */
	while (p < end && *p == '#') {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return -EINVAL;
		p = nl + 1;
	}
	if ((size_t)(end - p) !=
	        KEY_FILE_TAG_LEN + FMI_CRYPTO_KEY_TEXT_LEN + 1 ||
	    memcmp(p, KEY_FILE_TAG, KEY_FILE_TAG_LEN) != 0 || end[-1] != '\n')
		return -EINVAL;
	p += KEY_FILE_TAG_LEN;
	if (fmi_crypto_key_decode(p, FMI_CRYPTO_KEY_TEXT_LEN, id->sk) < 0)
		return -EINVAL;
	/* X25519 clamps any 32 bytes into a scalar: every secret is usable */
	if (crypto_scalarmult_base(id->pk, id->sk) < 0)
		return -EINVAL;
	return 0;
}

/*
 * Reads fd, a regular file of at most FM_CRYPTO_KEY_FILE_MAX_BYTES, whole
 * into buf[FM_CRYPTO_KEY_FILE_MAX_BYTES + 1]. Reading into the caller's
 * guarded buffer (not fm_file_read_fd()) leaves no unwiped copy behind a
 * realloc() should the file grow under us.
 */
static int
key_file_read(int fd, uint8_t *buf, size_t *ret_len)
{
	const size_t cap = FM_CRYPTO_KEY_FILE_MAX_BYTES + 1;
	size_t len = 0;

	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > FM_CRYPTO_KEY_FILE_MAX_BYTES)
		return -EFBIG;
	*ret_len = len;
	return 0;
}

/* Whether st is a key file its reader may trust: owned by us or root,
 * nothing for group or others. Returns 0 or a negative errno. */
static int
key_file_check(const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return -EISDIR;
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_uid != geteuid() && st->st_uid != 0)
		return -EPERM;
	if ((st->st_mode & 077) != 0)
		return -EPERM;
	if ((uint64_t)st->st_size > FM_CRYPTO_KEY_FILE_MAX_BYTES)
		return -EFBIG;
	return 0;
}

int
fm_crypto_identity_load(const char *path, fm_crypto_identity **ret)
{
	fm_crypto_identity *id = NULL;
	uint8_t *buf;
	struct stat st;
	size_t len = 0;
	int fd, r;

	/* O_NONBLOCK: a FIFO planted at path must not hang us before the
	 * type check; it changes nothing for a regular file */
	fd = open(
	    path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	r = key_file_check(&st);
	if (r < 0)
		goto out_close;
	buf = sodium_malloc(FM_CRYPTO_KEY_FILE_MAX_BYTES + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out_close;
	}
	r = key_file_read(fd, buf, &len);
	if (r < 0)
		goto out_free_buf;
	id = identity_alloc();
	if (!id) {
		r = -ENOMEM;
		goto out_free_buf;
	}
	r = key_file_parse((const char *)buf, len, id);
	if (r < 0) {
		id = fm_crypto_identity_free(id);
		goto out_free_buf;
	}
	identity_finish(id, ret);
out_free_buf:
	sodium_free(buf); /* wipes the text */
out_close:
	close(fd);
	return r;
}

/* Joins path, '.' and suffix into ret[PATH_MAX]. */
static int
path_with_suffix(const char *path, const char *suffix, char *ret)
{
	int n = snprintf(ret, PATH_MAX, "%s.%s", path, suffix);

	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* fsyncs the directory holding path, making a link or unlink durable. */
static int
fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, r;

	if (fm_strlcpy(dir, path, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		memcpy(dir, ".", 2);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

/*
 * Writes text[len] to path, crash safe, failing with -EEXIST when path
 * exists. The file is complete under "<path>.new" first, then hard-linked
 * to path (link(2) never replaces), so neither a rival writer nor a crash
 * leaves path empty or half written.
 */
static int
write_exclusive(const char *path, const void *text, size_t len)
{
	char tmp[PATH_MAX];
	int r;

	r = path_with_suffix(path, NEW_SUFFIX, tmp);
	if (r < 0)
		return r;
	/* fails early, before a secret touches the disk */
	if (access(path, F_OK) == 0)
		return -EEXIST;
	r = fm_file_write_atomic(tmp, text, len, 0600);
	if (r < 0)
		return r;
	r = link(tmp, path) < 0 ? -errno : 0;
	(void)unlink(tmp);
	if (r < 0)
		return r;
	return fsync_parent(path);
}

int
fm_crypto_identity_save(
    const fm_crypto_identity *id, const char *path, bool overwrite)
{
	/* comment, tag, key, '\n'; in guarded memory: it holds the secret */
	const size_t text_len = sizeof(KEY_FILE_COMMENT) - 1 +
	    KEY_FILE_TAG_LEN + FMI_CRYPTO_KEY_TEXT_LEN + 1;
	char pub_path[PATH_MAX], pub[FM_CRYPTO_KEY_TEXT_BYTES];
	char *text, *p;
	int r;

	r = path_with_suffix(path, PUB_SUFFIX, pub_path);
	if (r < 0)
		return r;
	text = sodium_malloc(text_len + 1);
	if (!text)
		return -ENOMEM;
	p = text;
	memcpy(p, KEY_FILE_COMMENT, sizeof(KEY_FILE_COMMENT) - 1);
	p += sizeof(KEY_FILE_COMMENT) - 1;
	memcpy(p, KEY_FILE_TAG, KEY_FILE_TAG_LEN);
	p += KEY_FILE_TAG_LEN;
	(void)sodium_bin2base64(p, FM_CRYPTO_KEY_TEXT_BYTES, id->sk,
	    FM_CRYPTO_SECRET_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL);
	p += FMI_CRYPTO_KEY_TEXT_LEN;
	*p = '\n';

	if (overwrite)
		r = fm_file_write_atomic(path, text, text_len, 0600);
	else
		r = write_exclusive(path, text, text_len);
	sodium_free(text); /* wipes it */
	if (r < 0)
		return r;

	fm_crypto_key_format(id->pk, pub);
	pub[FMI_CRYPTO_KEY_TEXT_LEN] = '\n';
	r = fm_file_write_atomic(
	    pub_path, pub, FMI_CRYPTO_KEY_TEXT_LEN + 1, 0644);
	if (r < 0 && !overwrite) {
		/* leave nothing a retry would trip over */
		(void)unlink(path);
		(void)fsync_parent(path);
	}
	return r;
}
