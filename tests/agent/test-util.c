/* Helpers shared by the agent tests; see test-util.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/agent/test-util.h"

/* ---- files ----------------------------------------------------------- */

char *
fm_test_read_file(const char *path, size_t *ret_len)
{
	char *buf = malloc(FM_TEST_FILE_MAX_BYTES);
	size_t len = 0;
	int fd;

	assert_non_null(buf);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (;;) {
		ssize_t n = read(fd, buf + len, FM_TEST_FILE_MAX_BYTES - len);

		assert_true(n >= 0);
		if (n == 0)
			break;
		len += (size_t)n;
		assert_true(len < FM_TEST_FILE_MAX_BYTES);
	}
	close(fd);
	assert_true(len > 0);
	buf[len] = '\0';
	*ret_len = len;
	return buf;
}

char *
fm_test_exact_copy(const void *buf, size_t len)
{
	char *copy = malloc(len ? len : 1);

	assert_non_null(copy);
	memcpy(copy, buf, len);
	return copy;
}

static uint64_t
xorshift64(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

size_t
fm_test_rand_bytes(uint64_t *x, char *buf, size_t size, const char *alphabet)
{
	size_t len = (size_t)(xorshift64(x) % size);

	for (size_t j = 0; j < len; j++) {
		uint64_t r = xorshift64(x);

		buf[j] = alphabet ? alphabet[r % strlen(alphabet)] : (char)r;
	}
	return len;
}

/* Creates the directories of root/rel's parent that do not exist yet. */
static void
make_parents(const char *root, const char *rel)
{
	char path[PATH_MAX];

	for (const char *slash = strchr(rel, '/'); slash;
	     slash = strchr(slash + 1, '/')) {
		int n = snprintf(path, sizeof(path), "%s/%.*s", root,
		    (int)(slash - rel), rel);

		assert_true(n > 0 && (size_t)n < sizeof(path));
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
	}
}

void
fm_test_write_file(
    const char *root, const char *rel, const void *buf, size_t len)
{
	char path[PATH_MAX];
	int fd, n;

	make_parents(root, rel);
	n = snprintf(path, sizeof(path), "%s/%s", root, rel);
	assert_true(n > 0 && (size_t)n < sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	close(fd);
}

void
fm_test_write_text(const char *root, const char *rel, const char *text)
{
	fm_test_write_file(root, rel, text, strlen(text));
}

void
fm_test_tmpdir_new(char *dir, const char *tag)
{
	int n = snprintf(dir, FM_TEST_DIR_BYTES, "/tmp/fm-test-%s-XXXXXX", tag);

	assert_true(n > 0 && n < FM_TEST_DIR_BYTES);
	assert_non_null(mkdtemp(dir));
}

static int
remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

void
fm_test_tmpdir_remove(const char *dir)
{
	assert_int_equal(nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
}

void
fm_test_write_script(
    const char *dir, const char *name, const char *body, char *path)
{
	fm_test_write_text(dir, name, body);
	snprintf(path, PATH_MAX, "%s/%s", dir, name);
	assert_int_equal(chmod(path, 0755), 0);
}

/* ---- time and the log -------------------------------------------------- */

int64_t
fm_test_ms_since(int64_t start_ns)
{
	return (fm_time_mono_ns() - start_ns) / FM_NSEC_PER_MSEC;
}

void
fm_test_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * FM_NSEC_PER_MSEC };

	nanosleep(&ts, NULL);
}

int
fm_test_stderr_capture_begin(char *path, size_t size)
{
	int fd, saved;

	snprintf(path, size, "/tmp/fm-test-log-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	close(fd);
	return saved;
}

char *
fm_test_stderr_capture_end(int saved, const char *path)
{
	size_t len;
	char *text;

	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	text = fm_test_read_file(path, &len);
	unlink(path);
	return text;
}

/* ---- a collector on a temporary procfs root -------------------------- */

void
fm_test_fixture_init(fm_test_fixture *fx, const fm_test_source *src)
{
	memset(fx, 0, sizeof(*fx));
	fx->src = *src;
	fm_test_tmpdir_new(fx->dir, src->ops->name);
	fm_collect_sampler_config_init(&fx->cfg);
	fx->cfg.procfs = fx->dir;
	fx->state = calloc(1, src->ops->state_bytes);
	assert_non_null(fx->state);
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		fx->v[i] = NAN;
	fx->ctx.v = fx->v;
}

void
fm_test_fixture_fini(fm_test_fixture *fx)
{
	fx->src.ops->close(fx->state);
	fx->src.ops->close(fx->state); /* idempotent */
	free(fx->state);
	fx->state = NULL;
	fm_test_tmpdir_remove(fx->dir);
}

int
fm_test_fixture_setup(void **state)
{
	const fm_test_source *src = *state;
	fm_test_fixture *fx = malloc(sizeof(*fx));

	assert_non_null(src);
	assert_non_null(fx);
	fm_test_fixture_init(fx, src);
	*state = fx;
	return 0;
}

int
fm_test_fixture_teardown(void **state)
{
	fm_test_fixture *fx = *state;

	fm_test_fixture_fini(fx);
	free(fx);
	return 0;
}

void
fm_test_check_missing(const fm_test_source *src)
{
	fm_test_fixture fx;

	fm_test_fixture_init(&fx, src);
	assert_int_equal(fm_test_open(&fx), -ENOENT);
	fm_test_fixture_fini(&fx); /* closes twice */
	fm_test_fixture_init(&fx, src);
	fx.cfg.procfs = "/nonexistent-fedmon";
	assert_int_equal(fm_test_open(&fx), -ENOENT);
	fm_test_fixture_fini(&fx);
	fm_test_fixture_init(&fx, src);
	fm_test_fixture_fini(&fx); /* open never ran */
}

int
fm_test_open(fm_test_fixture *fx)
{
	return fx->src.ops->open(fx->state, &fx->cfg);
}

void
fm_test_fixture_open(
    fm_test_fixture *fx, const fm_test_source *src, const char *text)
{
	fm_test_fixture_init(fx, src);
	fm_test_put_text(fx, text);
	assert_int_equal(fm_test_open(fx), 0);
}

int
fm_test_read(fm_test_fixture *fx, int64_t dt_ns, uint32_t ncpu)
{
	for (size_t i = 0; i < FM_FEATURE_COUNT; i++)
		fx->v[i] = NAN;
	fx->ctx.dt_ns = dt_ns;
	fx->ctx.ncpu = ncpu;
	fx->ctx.v = fx->v;
	return fx->src.ops->read(fx->state, &fx->ctx);
}

int
fm_test_read_text(fm_test_fixture *fx, int64_t dt_ns, const char *text)
{
	if (text)
		fm_test_put_text(fx, text);
	return fm_test_read(fx, dt_ns, 2);
}

void
fm_test_put_bytes(fm_test_fixture *fx, const void *buf, size_t len)
{
	fm_test_write_file(fx->dir, fx->src.rel, buf, len);
}

void
fm_test_put_text(fm_test_fixture *fx, const char *text)
{
	fm_test_write_file(fx->dir, fx->src.rel, text, strlen(text));
}

void
fm_test_put_fixture(fm_test_fixture *fx, const char *path)
{
	size_t len;
	char *buf = fm_test_read_file(path, &len);

	fm_test_put_bytes(fx, buf, len);
	free(buf);
}

/* ---- feature asserts ------------------------------------------------- */

void
fm_test_check_near(
    float got, double want, const char *expr, const char *file, int line)
{
	char what[256];
	double tol = 1e-6 * fmax(1.0, fabs(want));

	snprintf(what, sizeof(what), "%s is %.9g, expected %.9g", expr,
	    (double)got, want);
	_assert_true(
	    !isnan(got) && fabs((double)got - want) <= tol, what, file, line);
}

void
fm_test_check_masked(float got, const char *expr, const char *file, int line)
{
	char what[256];

	snprintf(what, sizeof(what), "%s is %.9g, expected masked", expr,
	    (double)got);
	_assert_true(fm_collect_feature_is_masked(got), what, file, line);
}

void
fm_test_check_masked_range(const float *v, int first, int last, bool inside,
    const char *file, int line)
{
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		char what[96];

		if ((f >= first && f <= last) != inside)
			continue;
		snprintf(what, sizeof(what),
		    "feature %d is %.9g, expected masked", f, (double)v[f]);
		_assert_true(
		    fm_collect_feature_is_masked(v[f]), what, file, line);
	}
}

/* The host's procfs file rel, read as the collectors read it, or NULL
 * (absent, unreadable); the caller closes *f either way. */
static const char *
host_file(fmi_procfile *f, const char *rel, size_t *ret_len)
{
	fmi_procfile_init(f);
	if (fmi_procfile_open(f, "/proc", rel) < 0 || fmi_procfile_read(f) < 0)
		return NULL;
	*ret_len = f->len;
	return f->buf;
}

bool
fm_test_host_has_real_fs(void)
{
	static fm_collect_mount mounts[FM_COLLECT_MOUNTS_MAX];
	fmi_procfile f;
	const char *buf;
	uint32_t n = 0;
	bool found = false;
	size_t len;

	buf = host_file(&f, "self/mounts", &len);
	if (buf &&
	    fm_collect_mounts_parse(
	        buf, len, false, mounts, FM_COLLECT_MOUNTS_MAX, &n) < 0)
		n = 0;
	/* statfs, not statvfs: test-collect-fs wraps statvfs64 */
	for (uint32_t i = 0; i < n && i < FM_COLLECT_MOUNTS_MAX && !found;
	     i++) {
		struct statfs st;

		found = statfs(mounts[i].dir, &st) == 0 && st.f_blocks > 0;
	}
	fmi_procfile_close(&f);
	return found;
}

bool
fm_test_host_has_disk(void)
{
	static fm_collect_disk disks[FM_COLLECT_DISKS_MAX];
	fmi_procfile f;
	const char *buf;
	uint32_t n = 0;
	size_t len;

	buf = host_file(&f, "diskstats", &len);
	if (buf &&
	    fm_collect_diskstats_parse(
	        buf, len, disks, FM_COLLECT_DISKS_MAX, &n) < 0)
		n = 0;
	fmi_procfile_close(&f);
	return n > 0;
}

bool
fm_test_host_has_nic(void)
{
	static fm_collect_nic nics[FM_COLLECT_NICS_MAX];
	fmi_procfile f;
	const char *buf;
	uint32_t n = 0;
	size_t len;

	buf = host_file(&f, "net/dev", &len);
	if (buf &&
	    fm_collect_netdev_parse(buf, len, nics, FM_COLLECT_NICS_MAX, &n) <
	        0)
		n = 0;
	fmi_procfile_close(&f);
	return n > 0;
}

bool
fm_test_is_host_run(int argc, char **argv)
{
	return argc == 2 && strcmp(argv[1], "--host") == 0;
}

int
fm_test_host_skip(const char *reason)
{
	fprintf(stderr, "SKIP: %s\n", reason);
	return FM_TEST_SKIPPED;
}

/* The learners fm_test_learner_new() made and their rings. */
static struct {
	fm_model_learner *l;
	fm_model_history *h;
} learners[4];

int
fm_test_learner_new(const fm_model_learner_config *cfg, fm_model_learner **ret)
{
	fm_model_history *h = NULL;
	size_t i;
	int r;

	for (i = 0; i < FM_ELEMENTSOF(learners) && learners[i].l; i++)
		;
	assert_true(i < FM_ELEMENTSOF(learners));
	assert_int_equal(
	    fm_model_history_new(fm_model_learner_minutes(cfg), &h), 0);
	r = fm_model_learner_new(cfg, h, ret);
	if (r < 0) {
		fm_model_history_free(h);
		return r;
	}
	learners[i].l = *ret;
	learners[i].h = h;
	return 0;
}

fm_model_history *
fm_test_learner_history(const fm_model_learner *l)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(learners); i++)
		if (l && learners[i].l == l)
			return learners[i].h;
	fail_msg("not a learner of fm_test_learner_new()");
	return NULL;
}

fm_model_learner *
fm_test_learner_free(fm_model_learner *l)
{
	for (size_t i = 0; l && i < FM_ELEMENTSOF(learners); i++) {
		if (learners[i].l != l)
			continue;
		fm_model_learner_free(l);
		fm_model_history_free(learners[i].h);
		learners[i].l = NULL;
		learners[i].h = NULL;
		return NULL;
	}
	assert_null(l);
	return NULL;
}
