/*
 * The filesystem collector: the used block and inode fractions of the
 * fullest real filesystem.
 *
 * statvfs(2) on a hung network mount or a dead disk blocks, possibly for
 * ever, so it never runs on the sampling thread: a worker thread re-reads
 * the mount list and calls statvfs on every filesystem each refresh
 * period, and publishes its result under a mutex; a tick only copies the
 * latest result, masking it once it is older than the stale limit. On
 * close the worker is asked to stop and waited for a bounded time; a
 * worker stuck in statvfs is detached, and the state the two share is
 * freed by whichever of them lets go of it last.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "agent/collect/collect-int.h"

/* How long close waits for the worker before detaching it. */
#define FS_CLOSE_WAIT_MS 2000

/* A mount-table change triggers a rescan before the refresh period ends,
 * but not sooner than this after the previous one (a container runtime
 * can change the table many times a second). */
#define FS_RESCAN_GAP_MS 1000

/* The fields of a /proc/self/mounts line: source, directory, type,
 * options, dump frequency and fsck pass. */
#define MOUNT_FIELDS 6

/* ---- pure parsing ----------------------------------------------------- */

/*
 * Pseudo and read-only image filesystems: their fullness says nothing
 * about the host's disks (tmpfs is memory; squashfs, iso9660 and erofs
 * images are always full by design; overlay and aufs show the fullness of
 * a disk that is listed on its own).
 */
static const char *const pseudo_types[] = { "anon_inodefs", "aufs", "autofs",
	"binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "cpuset",
	"cramfs", "debugfs", "devfs", "devpts", "devtmpfs", "efivarfs", "erofs",
	"fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.portal", "fuse.snapfuse",
	"fusectl", "hugetlbfs", "iso9660", "mqueue", "nfsd", "nsfs", "overlay",
	"pipefs", "proc", "pstore", "ramfs", "romfs", "rootfs", "rpc_pipefs",
	"securityfs", "selinuxfs", "smackfs", "sockfs", "squashfs", "sysfs",
	"tmpfs", "tracefs", "usbfs" };

/* Filesystems whose storage is on another host. */
static const char *const network_types[] = { "9p", "afs", "beegfs", "ceph",
	"cifs", "davfs", "glusterfs", "gpfs", "lustre", "ncpfs", "nfs", "nfs4",
	"orangefs", "smb3", "smbfs", "virtiofs" };

static bool
is_in(const char *type, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(type, list[i]) == 0)
			return true;
	}
	return false;
}

/*
 * Whether fstype is a pseudo filesystem (see pseudo_types above: proc,
 * sysfs, tmpfs, cgroup, overlay, squashfs, fuse.lxcfs…). NULL is not.
 * Pure and reentrant.
 */
bool
fm_collect_fstype_is_pseudo(const char *type)
{
	return type && is_in(type, pseudo_types, FM_ELEMENTSOF(pseudo_types));
}

/*
 * Whether fstype is a network filesystem: nfs, cifs, ceph, 9p, virtiofs…
 * (see network_types above), and every FUSE filesystem that is not a
 * pseudo one ("fuse", "fuse.sshfs", "fuse.s3fs"…): a FUSE daemon can hang
 * like a remote server, and one backed by a local disk shows that disk's
 * fullness, which is measured on its own. "fuseblk" (ntfs-3g, exfat on a
 * local block device) is not network. NULL is not. Pure and reentrant.
 */
bool
fm_collect_fstype_is_network(const char *type)
{
	if (!type || fm_collect_fstype_is_pseudo(type))
		return false;
	if (strcmp(type, "fuse") == 0 || strncmp(type, "fuse.", 5) == 0)
		return true;
	return is_in(type, network_types, FM_ELEMENTSOF(network_types));
}

static bool
is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/*
 * Decodes a mount field's octal escapes (the kernel writes space, tab,
 * newline and backslash as \040, \011, \012, \134) into dst[cap] with a
 * NUL. Returns the decoded length, -ENAMETOOLONG when it does not fit, or
 * -EINVAL for a NUL or control byte, a backslash not followed by three
 * octal digits, or an escape of NUL or beyond 0377.
 */
static int
unescape(fm_collect_span tok, char *dst, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < tok.len; i++) {
		unsigned char c = (unsigned char)tok.p[i];

		if (c < 0x20 || c == 0x7f)
			return -EINVAL;
		if (c == '\\') {
			unsigned v;

			if (tok.len - i < 4 || !is_octal(tok.p[i + 1]) ||
			    !is_octal(tok.p[i + 2]) || !is_octal(tok.p[i + 3]))
				return -EINVAL;
			v = (unsigned)(tok.p[i + 1] - '0') * 64 +
			    (unsigned)(tok.p[i + 2] - '0') * 8 +
			    (unsigned)(tok.p[i + 3] - '0');
			if (v == 0 || v > 0xff)
				return -EINVAL;
			c = (unsigned char)v;
			i += 3;
		}
		if (n + 1 >= cap)
			return -ENAMETOOLONG;
		dst[n++] = (char)c;
	}
	dst[n] = '\0';
	return (int)n;
}

/*
 * Parses one mounts line into *ret. Returns 1, 0 for a line to skip (a
 * directory or type too long for fm_collect_mount: kept out rather than cut
 * into a path that may name another mount), or -EINVAL for a malformed line.
 */
static int
parse_line(fm_collect_span line, fm_collect_mount *ret)
{
	fm_collect_span tok[MOUNT_FIELDS], extra;
	int r, dir_r;

	for (unsigned i = 0; i < MOUNT_FIELDS; i++) {
		if (!fm_collect_scan_next_token(&line, &tok[i]))
			return -EINVAL;
	}
	/* The kernel shows paths from the reader's root: always absolute.
	 * A relative one would be statvfs'ed against our working
	 * directory. */
	if (fm_collect_scan_next_token(&line, &extra) || tok[1].p[0] != '/' ||
	    !fm_collect_scan_is_digits(tok[4].p, tok[4].len) ||
	    !fm_collect_scan_is_digits(tok[5].p, tok[5].len))
		return -EINVAL;
	dir_r = unescape(tok[1], ret->dir, sizeof(ret->dir));
	if (dir_r == -EINVAL)
		return dir_r;
	r = unescape(tok[2], ret->type, sizeof(ret->type));
	if (r == -EINVAL)
		return r;
	if (dir_r == -ENAMETOOLONG || r == -ENAMETOOLONG)
		return 0;
	return 1;
}

/* The index of the kept mount on dir, or -1. */
static int
find_dir(const fm_collect_mount *mounts, uint32_t n, const char *dir)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(mounts[i].dir, dir) == 0)
			return (int)i;
	}
	return -1;
}

/*
 * Parses /proc/self/mounts (see parse.h). A directory mounted more
 * than once is statvfs'ed as its last (topmost) mount, so the last line
 * for a directory decides: a real filesystem replaces the kept entry's
 * type in place, a pseudo (or, unless network, network) one removes it.
 * Directories and types that do not fit fm_collect_mount are skipped. Beyond
 * cap kept mounts, further new directories are ignored; *ret_n is the number
 * kept (<= cap). Every line needs exactly six fields, the last two
 * numbers, an absolute directory and valid escapes; otherwise -EINVAL.
 * Blank lines are ignored. mounts[] and *ret_n are written only on
 * success. Pure and reentrant; it compares each line with the kept
 * entries, so it is O(lines x cap).
 */
int
fm_collect_mounts_parse(const char *buf, size_t len, bool network,
    fm_collect_mount *mounts, uint32_t cap, uint32_t *ret_n)
{
	fm_collect_span rest = { buf, len }, line;
	fm_collect_mount m;
	uint32_t n = 0;

	/* First pass: validate, so that a failure leaves mounts[]
	 * untouched. */
	while (fm_collect_scan_next_line(&rest, &line)) {
		fm_collect_span probe = line, tok;

		if (fm_collect_scan_next_token(&probe, &tok) &&
		    parse_line(line, &m) < 0)
			return -EINVAL;
	}
	rest = (fm_collect_span) { buf, len };
	while (fm_collect_scan_next_line(&rest, &line)) {
		fm_collect_span probe = line, tok;
		bool kept;
		int i;

		if (!fm_collect_scan_next_token(&probe, &tok) ||
		    parse_line(line, &m) == 0)
			continue;
		kept = !fm_collect_fstype_is_pseudo(m.type) &&
		    (network || !fm_collect_fstype_is_network(m.type));
		i = find_dir(mounts, n, m.dir);
		if (i >= 0 && kept) {
			memcpy(mounts[i].type, m.type, sizeof(m.type));
		} else if (i >= 0) {
			memmove(&mounts[i], &mounts[i + 1],
			    (n - (uint32_t)i - 1) * sizeof(*mounts));
			n--;
		} else if (kept && n < cap) {
			mounts[n++] = m;
		}
	}
	*ret_n = n;
	return 0;
}

/* ---- the worker ------------------------------------------------------- */

/* The state the collector and its worker share. */
typedef struct fs_shared {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; signalled on exit */
	bool has_sync;       /* lock and cond initialised */
	unsigned refs;       /* under lock: collector, worker */
	bool exited;         /* under lock: the worker is done */
	atomic_bool stop;    /* asked to stop */
	int stop_fd;         /* eventfd the collector writes; -1 */

	/* The latest result, under lock. */
	bool has_result;
	int64_t result_mono_ns; /* when the scan started */
	double fullest;         /* NAN without a measurable filesystem */
	double inodes_fullest;  /* NAN without one reporting inodes */

	/* Owned by the worker once it runs. */
	bool network;
	uint32_t refresh_ms;
	fmi_procfile mounts_file;
	fm_collect_mount mounts[FM_COLLECT_MOUNTS_MAX];
} fs_shared;

static void
fs_shared_destroy(fs_shared *sh)
{
	fmi_procfile_close(&sh->mounts_file);
	if (sh->stop_fd >= 0)
		close(sh->stop_fd);
	if (sh->has_sync) {
		pthread_cond_destroy(&sh->cond);
		pthread_mutex_destroy(&sh->lock);
	}
	free(sh);
}

/* Drops one reference; the last one frees the shared state. */
static void
fs_shared_unref(fs_shared *sh)
{
	bool last;

	pthread_mutex_lock(&sh->lock);
	last = --sh->refs == 0;
	pthread_mutex_unlock(&sh->lock);
	if (last)
		fs_shared_destroy(sh);
}

/* Folds one filesystem into the two maxima. Its block fraction is the
 * one df prints: used / (used + available to unprivileged users). */
static void
fold_statvfs(const struct statvfs *st, double *fullest, double *inodes)
{
	if (st->f_blocks > 0 && st->f_bfree <= st->f_blocks) {
		double used = (double)(st->f_blocks - st->f_bfree);
		double total = used + (double)st->f_bavail;

		if (total > 0.0 && (isnan(*fullest) || used / total > *fullest))
			*fullest = used / total;
	}
	if (st->f_files > 0 && st->f_ffree <= st->f_files) {
		double f =
		    (double)(st->f_files - st->f_ffree) / (double)st->f_files;

		if (isnan(*inodes) || f > *inodes)
			*inodes = f;
	}
}

/*
 * Re-reads the mount list, statvfs()es every mount and publishes the
 * result. A mount list that cannot be read or parsed publishes nothing:
 * the previous result ages until read() masks it. A mount statvfs fails
 * on (unmounted since, no permission) is left out.
 */
static void
fs_scan(fs_shared *sh, int64_t start_ns)
{
	double fullest = NAN, inodes = NAN;
	uint32_t n;

	if (fmi_procfile_read(&sh->mounts_file) < 0 ||
	    fm_collect_mounts_parse(sh->mounts_file.buf, sh->mounts_file.len,
	        sh->network, sh->mounts, FM_COLLECT_MOUNTS_MAX, &n) < 0)
		return;
	for (uint32_t i = 0; i < n; i++) {
		struct statvfs st;

		if (atomic_load(&sh->stop))
			return;
		if (statvfs(sh->mounts[i].dir, &st) == 0)
			fold_statvfs(&st, &fullest, &inodes);
	}
	pthread_mutex_lock(&sh->lock);
	sh->has_result = true;
	sh->result_mono_ns = start_ns;
	sh->fullest = fullest;
	sh->inodes_fullest = inodes;
	pthread_mutex_unlock(&sh->lock);
}

/*
 * Waits until the next scan is due: refresh_ms after the last one began,
 * or FS_RESCAN_GAP_MS after it once the mount table changed (procfs
 * reports a change as POLLPRI|POLLERR on the mounts file; a regular file
 * never does). Returns false when asked to stop.
 */
static bool
fs_wait(fs_shared *sh, int64_t start_ns)
{
	int64_t due = start_ns + (int64_t)sh->refresh_ms * FM_NSEC_PER_MSEC;
	int64_t gap = (int64_t)FS_RESCAN_GAP_MS * FM_NSEC_PER_MSEC;
	const struct timespec retry_pause = { 0, 10 * FM_NSEC_PER_MSEC };
	bool changed = false;

	for (;;) {
		struct pollfd fds[2] = {
			{ .fd = sh->stop_fd, .events = POLLIN },
			{ .fd = sh->mounts_file.fd, .events = POLLPRI },
		};
		int64_t now = fm_time_mono_ns();
		int64_t left_ms;

		if (atomic_load(&sh->stop))
			return false;
		if (changed && start_ns + gap < due)
			due = start_ns + gap;
		if (now >= due)
			return true;
		left_ms = (due - now + FM_NSEC_PER_MSEC - 1) / FM_NSEC_PER_MSEC;
		if (left_ms > INT32_MAX)
			left_ms = INT32_MAX;
		/* Once a change is seen, only the stop request matters. */
		if (poll(fds, changed ? 1 : 2, (int)left_ms) < 0) {
			/* The deadline is absolute: retry. A failure other
			 * than EINTR (ENOMEM) must not spin. */
			if (errno != EINTR)
				(void)nanosleep(&retry_pause, NULL);
			continue;
		}
		if (fds[0].revents)
			return false;
		if (fds[1].revents & (POLLPRI | POLLERR))
			changed = true;
	}
}

static void *
fs_worker(void *arg)
{
	fs_shared *sh = arg;
	bool last;

	(void)pthread_setname_np(pthread_self(), "fm:fs");
	for (;;) {
		int64_t start_ns = fm_time_mono_ns();

		fs_scan(sh, start_ns);
		if (!fs_wait(sh, start_ns))
			break;
	}
	pthread_mutex_lock(&sh->lock);
	sh->exited = true;
	pthread_cond_broadcast(&sh->cond);
	last = --sh->refs == 0;
	pthread_mutex_unlock(&sh->lock);
	if (last)
		fs_shared_destroy(sh); /* the collector detached us */
	return NULL;
}

/* ---- the collector ---------------------------------------------------- */

/* A zeroed state is closed. */
typedef struct fs_state {
	fs_shared *shared; /* NULL when closed */
	pthread_t worker;
	bool has_worker;  /* worker started: close must stop it */
	int64_t stale_ns; /* cfg->fs_stale_ms */
	int64_t open_mono_ns;
} fs_state;

static int
fs_shared_new(const fm_collect_sampler_config *cfg, fs_shared **ret)
{
	pthread_condattr_t attr;
	fs_shared *sh;
	int r;

	sh = calloc(1, sizeof(*sh));
	if (!sh)
		return -ENOMEM;
	fmi_procfile_init(&sh->mounts_file);
	sh->stop_fd = -1;
	sh->refs = 1;
	sh->network = cfg->fs_network;
	sh->refresh_ms = cfg->fs_refresh_ms;
	atomic_init(&sh->stop, false);
	r = pthread_condattr_init(&attr);
	if (r != 0)
		goto out_free;
	r = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	if (r == 0)
		r = pthread_cond_init(&sh->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (r != 0)
		goto out_free;
	r = pthread_mutex_init(&sh->lock, NULL);
	if (r != 0) {
		pthread_cond_destroy(&sh->cond);
		goto out_free;
	}
	sh->has_sync = true;
	*ret = sh;
	return 0;
out_free:
	free(sh);
	return -r;
}

/* Starts the worker with every signal blocked: they are the main
 * thread's to handle. */
static int
fs_worker_start(fs_state *s)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	s->shared->refs = 2;
	r = pthread_create(&s->worker, NULL, fs_worker, s->shared);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		s->shared->refs = 1;
		return -r;
	}
	s->has_worker = true;
	return 0;
}

/*
 * Opens <procfs>/self/mounts (-ENOENT without it) and starts the worker,
 * which scans at once and then every cfg->fs_refresh_ms. A refresh period
 * of 0 is -EINVAL. On failure close cleans up.
 */
static int
fs_open(void *state, const fm_collect_sampler_config *cfg)
{
	fs_state *s = state;
	int r;

	s->shared = NULL;
	s->has_worker = false;
	s->stale_ns = (int64_t)cfg->fs_stale_ms * FM_NSEC_PER_MSEC;
	s->open_mono_ns = fm_time_mono_ns();
	if (cfg->fs_refresh_ms == 0)
		return -EINVAL;
	r = fs_shared_new(cfg, &s->shared);
	if (r < 0)
		return r;
	r = fmi_procfile_open(
	    &s->shared->mounts_file, cfg->procfs, "self/mounts");
	if (r < 0)
		return r;
	s->shared->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->shared->stop_fd < 0)
		return -errno;
	return fs_worker_start(s);
}

/*
 * Copies the worker's latest result. Masked, and -ESTALE, when it began
 * more than fs_stale_ms ago (a scan is stuck), or when there has been no
 * result for that long since open; masked but 0 while the first scan is
 * still young. A filesystem-less result (a container with only overlay
 * and tmpfs) is masked and 0. Never blocks on the worker: it holds the
 * lock only to publish.
 */
static int
fs_read(void *state, fmi_collect_ctx *ctx)
{
	fs_state *s = state;
	fs_shared *sh = s->shared;
	double fullest, inodes;
	int64_t since;
	bool has;

	if (!s->has_worker)
		return -EBADF;
	pthread_mutex_lock(&sh->lock);
	has = sh->has_result;
	since = has ? sh->result_mono_ns : s->open_mono_ns;
	fullest = sh->fullest;
	inodes = sh->inodes_fullest;
	pthread_mutex_unlock(&sh->lock);
	if (fm_time_mono_ns() - since > s->stale_ns)
		return -ESTALE;
	if (!has)
		return 0;
	fmi_feature_set(ctx, FM_F_FS_FULLEST, fullest);
	fmi_feature_set(ctx, FM_F_FS_INODES_FULLEST, inodes);
	return 0;
}

/* Waits up to FS_CLOSE_WAIT_MS for the worker to exit. */
static bool
fs_worker_wait(fs_shared *sh)
{
	struct timespec due;
	bool exited;

	clock_gettime(CLOCK_MONOTONIC, &due);
	due.tv_sec += FS_CLOSE_WAIT_MS / 1000;
	due.tv_nsec += (long)(FS_CLOSE_WAIT_MS % 1000) * FM_NSEC_PER_MSEC;
	if (due.tv_nsec >= FM_NSEC_PER_SEC) {
		due.tv_sec++;
		due.tv_nsec -= FM_NSEC_PER_SEC;
	}
	pthread_mutex_lock(&sh->lock);
	while (!sh->exited) {
		if (pthread_cond_timedwait(&sh->cond, &sh->lock, &due) ==
		    ETIMEDOUT)
			break;
	}
	exited = sh->exited;
	pthread_mutex_unlock(&sh->lock);
	return exited;
}

/*
 * Stops the worker: joins it when it exits within FS_CLOSE_WAIT_MS, and
 * otherwise (stuck in statvfs on a hung mount) detaches it, leaving the
 * shared state for it to free when statvfs returns. Never blocks longer.
 */
static void
fs_close(void *state)
{
	fs_state *s = state;
	fs_shared *sh = s->shared;

	if (!sh)
		return;
	if (s->has_worker) {
		atomic_store(&sh->stop, true);
		(void)eventfd_write(sh->stop_fd, 1);
		if (fs_worker_wait(sh)) {
			pthread_join(s->worker, NULL);
		} else {
			fm_log(LOG_WARNING,
			    "Filesystem worker did not stop "
			    "within %d ms (a hung mount?), detaching it.",
			    FS_CLOSE_WAIT_MS);
			pthread_detach(s->worker);
		}
		s->has_worker = false;
	}
	fs_shared_unref(sh);
	s->shared = NULL;
}

/* The filesystem collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_fs = {
	.name = "fs",
	.state_bytes = sizeof(fs_state),
	.open = fs_open,
	.read = fs_read,
	.close = fs_close,
};
