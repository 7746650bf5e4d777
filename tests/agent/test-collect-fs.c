/*
 * Tests for agent/collect/collect-fs.c: the mounts parser, the type lists, and
 * the collector with its worker thread. statvfs is wrapped so that a test can
 * give it fixed answers, make it fail, or make it hang like a dead NFS server.
 * meson builds with _FILE_OFFSET_BITS=64, under which glibc's header renames
 * statvfs to statvfs64: that is the symbol wrapped (-Wl,--wrap=statvfs64).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

#define MS 1000000LL

/* ---- the statvfs wrapper -------------------------------------------- */

int __real_statvfs64(const char *path, struct statvfs *buf);
int __wrap_statvfs64(const char *path, struct statvfs *buf);

typedef struct fake_fs {
	const char *dir;
	uint64_t blocks, bfree, bavail, files, ffree;
} fake_fs;

static pthread_mutex_t wrap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wrap_cond = PTHREAD_COND_INITIALIZER;
static bool wrap_hang;            /* block every call until cleared */
static unsigned wrap_blocked;     /* calls blocked right now */
static int wrap_errno;            /* fail every call with this */
static const fake_fs *wrap_fakes; /* answer from here when set */
static size_t wrap_nfakes;
static unsigned wrap_calls;

int
__wrap_statvfs64(const char *path, struct statvfs *buf)
{
	int err;

	pthread_mutex_lock(&wrap_lock);
	wrap_calls++;
	wrap_blocked++;
	while (wrap_hang)
		pthread_cond_wait(&wrap_cond, &wrap_lock);
	wrap_blocked--;
	err = wrap_errno;
	for (size_t i = 0; !err && wrap_fakes && i < wrap_nfakes; i++) {
		const fake_fs *f = &wrap_fakes[i];

		if (strcmp(f->dir, path) != 0)
			continue;
		memset(buf, 0, sizeof(*buf));
		buf->f_bsize = buf->f_frsize = 4096;
		buf->f_blocks = f->blocks;
		buf->f_bfree = f->bfree;
		buf->f_bavail = f->bavail;
		buf->f_files = f->files;
		buf->f_ffree = f->ffree;
		buf->f_favail = f->ffree;
		pthread_mutex_unlock(&wrap_lock);
		return 0;
	}
	pthread_mutex_unlock(&wrap_lock);
	if (err) {
		errno = err;
		return -1;
	}
	if (wrap_fakes) {
		errno = ENOENT;
		return -1;
	}
	return __real_statvfs64(path, buf);
}

static void
wrap_set(const fake_fs *fakes, size_t n, int err)
{
	pthread_mutex_lock(&wrap_lock);
	wrap_fakes = fakes;
	wrap_nfakes = n;
	wrap_errno = err;
	pthread_mutex_unlock(&wrap_lock);
}

static void
wrap_set_hang(bool hang)
{
	pthread_mutex_lock(&wrap_lock);
	wrap_hang = hang;
	pthread_cond_broadcast(&wrap_cond);
	pthread_mutex_unlock(&wrap_lock);
}

static unsigned
wrap_get_blocked(void)
{
	unsigned n;

	pthread_mutex_lock(&wrap_lock);
	n = wrap_blocked;
	pthread_mutex_unlock(&wrap_lock);
	return n;
}

static unsigned
wrap_get_calls(void)
{
	unsigned n;

	pthread_mutex_lock(&wrap_lock);
	n = wrap_calls;
	pthread_mutex_unlock(&wrap_lock);
	return n;
}

static int
reset_wrap(void **state)
{
	wrap_set_hang(false);
	wrap_set(NULL, 0, 0);
	return 0;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * MS };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t
now_ms(void)
{
	return fm_time_mono_ns() / MS;
}

/* Waits up to 2 s for statvfs to have been called n times in all. */
static void
wait_calls(unsigned n)
{
	int64_t until = now_ms() + 2000;

	while (wrap_get_calls() < n) {
		if (now_ms() > until)
			fail_msg("statvfs not called %u times within 2 s", n);
		sleep_ms(1);
	}
}

/* Waits up to 2 s for a statvfs call to block. */
static void
wait_blocked(void)
{
	int64_t until = now_ms() + 2000;

	while (wrap_get_blocked() == 0) {
		if (now_ms() > until)
			fail_msg("no statvfs call blocked within 2 s");
		sleep_ms(1);
	}
}

/* ---- parser --------------------------------------------------------- */

static int
parse_exact(const char *s, size_t len, bool network, fm_collect_mount *m,
    uint32_t cap, uint32_t *ret_n)
{
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_mounts_parse(copy, len, network, m, cap, ret_n);

	free(copy);
	return r;
}

static int
parse_str(const char *s, bool network, fm_collect_mount *m, uint32_t cap,
    uint32_t *ret_n)
{
	return parse_exact(s, strlen(s), network, m, cap, ret_n);
}

static void
test_collect_fs_parses_fixture(void **state)
{
	static fm_collect_mount m[8];
	uint32_t n = 99;
	size_t len;
	char *buf = fm_test_read_file(T0 "/self/mounts", &len);

	/* proc, sysfs, tmpfs, devpts, cgroup…: only / is a real disk. */
	assert_int_equal(parse_exact(buf, len, false, m, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].dir, "/");
	assert_string_equal(m[0].type, "ext4");
	free(buf);
}

static void
test_collect_fs_types(void **state)
{
	static const char *const pseudo[] = { "proc", "sysfs", "tmpfs",
		"devtmpfs", "devpts", "cgroup", "cgroup2", "overlay",
		"squashfs", "autofs", "mqueue", "debugfs", "tracefs",
		"securityfs", "pstore", "bpf", "configfs", "fusectl",
		"hugetlbfs", "binfmt_misc", "nsfs", "ramfs", "rpc_pipefs",
		"efivarfs", "selinuxfs", "fuse.lxcfs" };
	static const char *const network[] = { "nfs", "nfs4", "cifs", "smb3",
		"ceph", "glusterfs", "9p", "fuse.sshfs", "fuse.s3fs", "fuse",
		"virtiofs" };
	static const char *const real[] = { "ext4", "xfs", "btrfs", "vfat",
		"zfs", "f2fs", "fuseblk", "ext2", "nfsx", "" };

	for (size_t i = 0; i < FM_ELEMENTSOF(pseudo); i++) {
		if (!fm_collect_fstype_is_pseudo(pseudo[i]) ||
		    fm_collect_fstype_is_network(pseudo[i]))
			fail_msg("%s should be pseudo", pseudo[i]);
	}
	for (size_t i = 0; i < FM_ELEMENTSOF(network); i++) {
		if (!fm_collect_fstype_is_network(network[i]) ||
		    fm_collect_fstype_is_pseudo(network[i]))
			fail_msg("%s should be network", network[i]);
	}
	for (size_t i = 0; i < FM_ELEMENTSOF(real); i++) {
		if (fm_collect_fstype_is_network(real[i]) ||
		    fm_collect_fstype_is_pseudo(real[i]))
			fail_msg("%s should be real", real[i]);
	}
	assert_false(fm_collect_fstype_is_pseudo(NULL));
	assert_false(fm_collect_fstype_is_network(NULL));
}

static void
test_collect_fs_escapes(void **state)
{
	fm_collect_mount m[4];
	uint32_t n = 0;

	assert_int_equal(
	    parse_str(
	        "/dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n"
	        "/dev/sdc1 /mnt/tab\\011new\\012back\\134slash xfs rw 0 0\n"
	        "/dev/sdd1 /mnt/caf\\303\\251 btrfs rw 0 0",
	        false, m, 4, &n),
	    0);
	assert_int_equal(n, 3);
	assert_string_equal(m[0].dir, "/mnt/my disk");
	assert_string_equal(m[1].dir, "/mnt/tab\tnew\nback\\slash");
	assert_string_equal(m[1].type, "xfs");
	assert_string_equal(m[2].dir, "/mnt/caf\xc3\xa9");
}

static void
test_collect_fs_filters(void **state)
{
	fm_collect_mount m[8];
	uint32_t n = 0;
	const char *text = "/dev/sda1 / ext4 rw 0 0\n"
	                   "server:/export /mnt/nfs nfs4 rw 0 0\n"
	                   "tmpfs /run tmpfs rw 0 0\n"
	                   "//host/share /mnt/smb cifs rw 0 0\n"
	                   "user@host: /mnt/ssh fuse.sshfs rw 0 0\n"
	                   "overlay /var/lib/docker/x overlay rw 0 0\n";

	assert_int_equal(parse_str(text, false, m, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].dir, "/");
	assert_int_equal(parse_str(text, true, m, 8, &n), 0);
	assert_int_equal(n, 4);
	assert_string_equal(m[1].dir, "/mnt/nfs");
	assert_string_equal(m[1].type, "nfs4");
	assert_string_equal(m[2].dir, "/mnt/smb");
	assert_string_equal(m[3].dir, "/mnt/ssh");
}

static void
test_collect_fs_last_mount_wins(void **state)
{
	fm_collect_mount m[8];
	uint32_t n = 0;

	/* Mounted over by another disk: one entry, the top one's type. */
	assert_int_equal(parse_str("/dev/sda1 /mnt ext4 rw 0 0\n"
	                           "/dev/sdb1 / xfs rw 0 0\n"
	                           "/dev/sdc1 /mnt btrfs rw 0 0\n",
	                     false, m, 8, &n),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(m[0].dir, "/mnt");
	assert_string_equal(m[0].type, "btrfs");
	assert_string_equal(m[1].dir, "/");
	/* Mounted over by tmpfs: statvfs would see the tmpfs, so gone. */
	assert_int_equal(parse_str("/dev/sda1 /mnt ext4 rw 0 0\n"
	                           "/dev/sdb1 / xfs rw 0 0\n"
	                           "tmpfs /mnt tmpfs rw 0 0\n",
	                     false, m, 8, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].dir, "/");
	/* And the other way round. */
	assert_int_equal(parse_str("tmpfs /mnt tmpfs rw 0 0\n"
	                           "/dev/sda1 /mnt ext4 rw 0 0\n",
	                     false, m, 8, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(m[0].type, "ext4");
}

static void
test_collect_fs_long_names_and_cap(void **state)
{
	static fm_collect_mount m[4];
	char dir[FM_COLLECT_MOUNT_DIR_BYTES + 8], line[2048];
	uint32_t n = 0;

	/* A directory of exactly FM_COLLECT_MOUNT_DIR_BYTES - 1 bytes fits; one
	 * byte more is skipped (not cut into another path). An escape
	 * counts as one byte. */
	memset(dir, 'a', sizeof(dir));
	dir[0] = '/';
	dir[FM_COLLECT_MOUNT_DIR_BYTES - 1] = '\0';
	snprintf(line, sizeof(line), "/dev/sda1 %s ext4 rw 0 0\n", dir);
	assert_int_equal(parse_str(line, false, m, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(strlen(m[0].dir), FM_COLLECT_MOUNT_DIR_BYTES - 1);
	snprintf(line, sizeof(line), "/dev/sda1 %s\\040 ext4 rw 0 0\n", dir);
	assert_int_equal(parse_str(line, false, m, 4, &n), 0);
	assert_int_equal(n, 0);
	dir[FM_COLLECT_MOUNT_DIR_BYTES - 2] = '\0';
	snprintf(line, sizeof(line), "/dev/sda1 %s\\040 ext4 rw 0 0\n", dir);
	assert_int_equal(parse_str(line, false, m, 4, &n), 0);
	assert_int_equal(n, 1);
	/* A type too long for fm_collect_mount: skipped. */
	assert_int_equal(parse_str("x /a abcdefghijklmnopqrstuvwxyzabcdef rw "
	                           "0 0\n",
	                     false, m, 4, &n),
	    0);
	assert_int_equal(n, 0);
	/* Beyond cap: the first cap kept. */
	assert_int_equal(parse_str("a /a ext4 rw 0 0\nb /b ext4 rw 0 0\n"
	                           "c /c ext4 rw 0 0\n",
	                     false, m, 2, &n),
	    0);
	assert_int_equal(n, 2);
	assert_string_equal(m[1].dir, "/b");
	assert_int_equal(parse_str("a /a ext4 rw 0 0\n", false, m, 0, &n), 0);
	assert_int_equal(n, 0);
	/* Empty and blank: nothing. */
	assert_int_equal(parse_exact("", 0, false, m, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse_str("\n \n", false, m, 4, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_collect_fs_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"hello world\n",
		"/dev/sda1 / ext4 rw 0\n",
		"/dev/sda1 / ext4\n",
		"/dev/sda1 / ext4 rw 0 0 extra\n",
		"/dev/sda1 / ext4 rw x 0\n",
		"/dev/sda1 / ext4 rw 0 -1\n",
		"/dev/sda1 relative ext4 rw 0 0\n",
		"/dev/sda1 /a\\04 ext4 rw 0 0\n",
		"/dev/sda1 /a\\0 ext4 rw 0 0\n",
		"/dev/sda1 /a\\ ext4 rw 0 0\n",
		"/dev/sda1 /a\\000b ext4 rw 0 0\n",
		"/dev/sda1 /a\\400 ext4 rw 0 0\n",
		"/dev/sda1 /a\\08a ext4 rw 0 0\n",
		"/dev/sda1 /a\x01 ext4 rw 0 0\n",
		"/dev/sda1 / ext4 rw 0 0\r\n",
		/* A bad line after good ones. */
		"/dev/sda1 / ext4 rw 0 0\nbroken\n",
	};
	static const char nul[] = "/dev/sda1 /a\0b ext4 rw 0 0\n";
	fm_collect_mount m[2];
	uint32_t n = 77;

	memset(m, 0xa5, sizeof(m));
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		if (parse_str(bad[i], false, m, 2, &n) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(
	    parse_exact(nul, sizeof(nul) - 1, false, m, 2, &n), -EINVAL);
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)m)[0], 0xa5);
}

static void
test_collect_fs_every_prefix(void **state)
{
	static fm_collect_mount m[8];
	size_t len;
	char *buf = fm_test_read_file(T0 "/self/mounts", &len);

	for (size_t i = 0; i <= len; i++) {
		uint32_t n = 0;
		int r = parse_exact(buf, i, true, m, 8, &n);

		if (r != 0 && r != -EINVAL)
			fail_msg("prefix %zu: %d", i, r);
		if (r == 0)
			assert_true(n <= 1);
	}
	free(buf);
}

/* ---- collector ------------------------------------------------------ */

static const fm_test_source source = { &fmi_collector_fs, "self/mounts" };

/* A procfs tree holding self/mounts only; the collector is not opened. */
static void
h_init(fm_test_fixture *h, const char *mounts, uint32_t refresh_ms,
    uint32_t stale_ms)
{
	fm_test_fixture_init(h, &source);
	fm_test_put_text(h, mounts);
	h->cfg.fs_refresh_ms = refresh_ms;
	h->cfg.fs_stale_ms = stale_ms;
}

static void
h_open(fm_test_fixture *h, const char *mounts, uint32_t refresh_ms,
    uint32_t stale_ms)
{
	h_init(h, mounts, refresh_ms, stale_ms);
	assert_int_equal(fm_test_open(h), 0);
}

static int
h_read(fm_test_fixture *h)
{
	return fm_test_read(h, 0, 2);
}

/* Reads until FS_FULLEST is set (the worker's first scan), up to 2 s. */
static void
h_read_until_set(fm_test_fixture *h)
{
	int64_t until = now_ms() + 2000;

	do {
		int r = h_read(h);

		/* Stale until a fresh scan lands, after a hang. */
		assert_true(r == 0 || r == -ESTALE);
		if (r == 0 &&
		    !fm_collect_feature_is_masked(h->v[FM_F_FS_FULLEST]))
			return;
		sleep_ms(2);
	} while (now_ms() < until);
	fail_msg("no filesystem result within 2 s");
}

/* Closes the collector and returns how long close took, in ms; then
 * cleans up. */
static int64_t
h_close(fm_test_fixture *h)
{
	int64_t start = now_ms();
	int64_t took;

	h->src.ops->close(h->state);
	took = now_ms() - start;
	fm_test_fixture_fini(h);
	return took;
}

static const fake_fs fakes[] = {
	{ "/", 1000, 400, 300, 1000, 100 }, /* 600/900, inodes 0.9 */
	{ "/data", 100, 10, 5, 0, 0 },      /* 90/95, no inodes */
	{ "/mnt/nfs", 100, 1, 1, 10, 9 },   /* 99/100, inodes 0.1 */
	{ "/empty", 0, 0, 0, 0, 0 },        /* nothing to measure */
	{ "/run", 10, 0, 0, 10, 0 },        /* tmpfs: never asked */
};

#define FAKE_MOUNTS                                                            \
	"/dev/sda1 / ext4 rw 0 0\n"                                            \
	"/dev/sdb1 /data xfs rw 0 0\n"                                         \
	"server:/export /mnt/nfs nfs4 rw 0 0\n"                                \
	"/dev/sdc1 /empty ext4 rw 0 0\n"                                       \
	"tmpfs /run tmpfs rw 0 0\n"

static void
test_collect_fs_fullest(void **state)
{
	fm_test_fixture h;

	wrap_set(fakes, FM_ELEMENTSOF(fakes), 0);
	h_open(&h, FAKE_MOUNTS, 10000, 30000);
	h_read_until_set(&h);
	assert_near(h.v[FM_F_FS_FULLEST], 90.0 / 95.0);
	assert_near(h.v[FM_F_FS_INODES_FULLEST], 0.9);
	for (int f = 0; f < FM_FEATURE_COUNT; f++) {
		if (f != FM_F_FS_FULLEST && f != FM_F_FS_INODES_FULLEST)
			assert_true(fm_collect_feature_is_masked(h.v[f]));
	}
	assert_true(h_close(&h) < 1000);

	/* With network filesystems. */
	h_init(&h, FAKE_MOUNTS, 10000, 30000);
	h.cfg.fs_network = true;
	assert_int_equal(fmi_collector_fs.open(h.state, &h.cfg), 0);
	h_read_until_set(&h);
	assert_near(h.v[FM_F_FS_FULLEST], 0.99);
	assert_near(h.v[FM_F_FS_INODES_FULLEST], 0.9);
	assert_true(h_close(&h) < 1000);
}

static void
test_collect_fs_real_statvfs(void **state)
{
	struct statvfs st;
	fm_test_fixture h;
	size_t len;
	char *mounts = fm_test_read_file(T0 "/self/mounts", &len);
	double used;

	/* The fixture lists / as ext4: compare with statvfs("/") now. */
	h_open(&h, mounts, 10000, 30000);
	h_read_until_set(&h);
	assert_int_equal(__real_statvfs64("/", &st), 0);
	used = (double)(st.f_blocks - st.f_bfree);
	assert_float_equal(
	    h.v[FM_F_FS_FULLEST], used / (used + (double)st.f_bavail), 1e-3);
	assert_true(h.v[FM_F_FS_FULLEST] >= 0.0f);
	assert_true(h.v[FM_F_FS_FULLEST] <= 1.0f);
	if (st.f_files > 0)
		assert_float_equal(h.v[FM_F_FS_INODES_FULLEST],
		    (double)(st.f_files - st.f_ffree) / (double)st.f_files,
		    1e-3);
	assert_true(h_close(&h) < 1000);
	free(mounts);
}

static void
test_collect_fs_host_proc(void **state)
{
	fm_collect_sampler_config cfg;
	void *st;
	float v[FM_FEATURE_COUNT];
	fmi_collect_ctx ctx = { .v = v };
	int64_t until, start;

	/* The host's own /proc/self/mounts, a seq_file the worker polls
	 * for mount-table changes. */
	st = calloc(1, fmi_collector_fs.state_bytes);
	until = now_ms() + 2000;
	assert_non_null(st);
	fm_collect_sampler_config_init(&cfg);
	cfg.fs_refresh_ms = 60000;
	assert_int_equal(fmi_collector_fs.open(st, &cfg), 0);
	do {
		for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
			v[i] = NAN;
		assert_int_equal(fmi_collector_fs.read(st, &ctx), 0);
		sleep_ms(2);
	} while (fm_collect_feature_is_masked(v[FM_F_FS_FULLEST]) &&
	    now_ms() < until);
	assert_true(v[FM_F_FS_FULLEST] >= 0.0f && v[FM_F_FS_FULLEST] <= 1.0f);
	start = now_ms();
	fmi_collector_fs.close(st);
	assert_true(now_ms() - start < 1000);
	free(st);
}

static void
test_collect_fs_stale(void **state)
{
	fm_test_fixture h;

	/* One scan a minute, stale after 50 ms. */
	wrap_set(fakes, FM_ELEMENTSOF(fakes), 0);
	h_open(&h, FAKE_MOUNTS, 60000, 50);
	h_read_until_set(&h);
	sleep_ms(120);
	assert_int_equal(h_read(&h), -ESTALE);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_INODES_FULLEST]));
	/* close wakes the waiting worker at once. */
	assert_true(h_close(&h) < 1000);
}

static void
test_collect_fs_rescans(void **state)
{
	fm_test_fixture h;
	int64_t until;

	wrap_set(fakes, FM_ELEMENTSOF(fakes), 0);
	h_open(&h, "/dev/sda1 / ext4 rw 0 0\n", 10, 30000);
	h_read_until_set(&h);
	assert_near(h.v[FM_F_FS_FULLEST], 600.0 / 900.0);
	/* A new mount shows up on a later scan. */
	fm_test_put_text(&h, FAKE_MOUNTS);
	until = now_ms() + 2000;
	do {
		sleep_ms(5);
		assert_int_equal(h_read(&h), 0);
	} while (fabs(h.v[FM_F_FS_FULLEST] - 90.0 / 95.0) > 1e-6 &&
	    now_ms() < until);
	assert_near(h.v[FM_F_FS_FULLEST], 90.0 / 95.0);
	assert_true(h_close(&h) < 1000);
}

static void
test_collect_fs_statvfs_fails(void **state)
{
	fm_test_fixture h;
	unsigned calls = wrap_get_calls();

	/* Every statvfs fails: a result, with nothing measured. */
	wrap_set(fakes, FM_ELEMENTSOF(fakes), EACCES);
	h_open(&h, FAKE_MOUNTS, 10, 30000);
	wait_calls(calls + 8);
	assert_int_equal(h_read(&h), 0);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_INODES_FULLEST]));
	assert_true(h_close(&h) < 1000);
	/* Only pseudo filesystems (a container): nothing to measure. */
	h_open(&h, "overlay / overlay rw 0 0\nproc /proc proc rw 0 0\n", 10,
	    30000);
	sleep_ms(50);
	assert_int_equal(h_read(&h), 0);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	assert_true(h_close(&h) < 1000);
}

static void
test_collect_fs_bad_mounts_go_stale(void **state)
{
	fm_test_fixture h;

	/* A mount list that never parses publishes nothing. */
	h_open(&h, "garbage\n", 10, 300);
	assert_int_equal(h_read(&h), 0);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	sleep_ms(400);
	assert_int_equal(h_read(&h), -ESTALE);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	assert_true(h_close(&h) < 1000);
}

static void
test_collect_fs_hung_statvfs(void **state)
{
	fm_test_fixture h;
	int64_t took, until;

	/* The first scan hangs, like statvfs on a dead NFS server. */
	wrap_set(fakes, FM_ELEMENTSOF(fakes), 0);
	wrap_set_hang(true);
	h_open(&h, FAKE_MOUNTS, 10, 300);
	wait_blocked();
	/* read never blocks: no result yet, masked. */
	assert_int_equal(h_read(&h), 0);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	sleep_ms(400);
	assert_int_equal(h_read(&h), -ESTALE);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	/* close gives up after its bounded wait and detaches. */
	took = h_close(&h);
	assert_in_range(took, 1900, 3000);
	/* The mount comes back: the worker finishes and frees the shared
	 * state (ASan and LSan check this). */
	wrap_set_hang(false);
	until = now_ms() + 2000;
	while (wrap_get_blocked() > 0 && now_ms() < until)
		sleep_ms(1);
	assert_int_equal(wrap_get_blocked(), 0);
	sleep_ms(50);
}

static void
test_collect_fs_hang_after_result(void **state)
{
	fm_test_fixture h;
	unsigned calls;

	wrap_set(fakes, FM_ELEMENTSOF(fakes), 0);
	h_open(&h, FAKE_MOUNTS, 10, 100);
	h_read_until_set(&h);
	/* Later scans hang: the last result ages, then is masked. */
	wrap_set_hang(true);
	wait_blocked();
	sleep_ms(150);
	assert_int_equal(h_read(&h), -ESTALE);
	assert_true(fm_collect_feature_is_masked(h.v[FM_F_FS_FULLEST]));
	/* It recovers: fresh results again. */
	calls = wrap_get_calls();
	wrap_set_hang(false);
	wait_calls(calls + 8);
	h_read_until_set(&h);
	assert_near(h.v[FM_F_FS_FULLEST], 90.0 / 95.0);
	assert_true(h_close(&h) < 1000);
}

static void
test_collect_fs_open_errors(void **state)
{
	fm_collect_sampler_config cfg;
	void *st = calloc(1, fmi_collector_fs.state_bytes);
	float v[FM_FEATURE_COUNT];
	fmi_collect_ctx ctx = { .v = v };
	fm_test_fixture h;

	assert_non_null(st);
	fmi_collector_fs.close(st); /* never opened */
	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = "/nonexistent-fedmon";
	assert_int_equal(fmi_collector_fs.open(st, &cfg), -ENOENT);
	assert_int_equal(fmi_collector_fs.read(st, &ctx), -EBADF);
	fmi_collector_fs.close(st);
	fmi_collector_fs.close(st);
	free(st);
	/* A zero refresh period would spin. */
	h_init(&h, FAKE_MOUNTS, 0, 100);
	assert_int_equal(fmi_collector_fs.open(h.state, &h.cfg), -EINVAL);
	h_close(&h);
}

int
main(int argc, char **argv)
{
	/* what this host's own mounts give (see test-util.h) */
	const struct CMUnitTest host_tests[] = {
		cmocka_unit_test_setup(test_collect_fs_host_proc, reset_wrap),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_fs_parses_fixture),
		cmocka_unit_test(test_collect_fs_types),
		cmocka_unit_test(test_collect_fs_escapes),
		cmocka_unit_test(test_collect_fs_filters),
		cmocka_unit_test(test_collect_fs_last_mount_wins),
		cmocka_unit_test(test_collect_fs_long_names_and_cap),
		cmocka_unit_test(test_collect_fs_rejects_garbage),
		cmocka_unit_test(test_collect_fs_every_prefix),
		cmocka_unit_test_setup(test_collect_fs_fullest, reset_wrap),
		cmocka_unit_test_setup(
		    test_collect_fs_real_statvfs, reset_wrap),
		cmocka_unit_test_setup(test_collect_fs_stale, reset_wrap),
		cmocka_unit_test_setup(test_collect_fs_rescans, reset_wrap),
		cmocka_unit_test_setup(
		    test_collect_fs_statvfs_fails, reset_wrap),
		cmocka_unit_test_setup(
		    test_collect_fs_bad_mounts_go_stale, reset_wrap),
		cmocka_unit_test_setup(
		    test_collect_fs_hung_statvfs, reset_wrap),
		cmocka_unit_test_setup(
		    test_collect_fs_hang_after_result, reset_wrap),
		cmocka_unit_test_setup(test_collect_fs_open_errors, reset_wrap),
	};

	if (fm_test_is_host_run(argc, argv)) {
		if (!fm_test_host_has_real_fs())
			return fm_test_host_skip("no real filesystem in this "
			                         "host's /proc/self/mounts");
		return cmocka_run_group_tests(host_tests, NULL, NULL);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
