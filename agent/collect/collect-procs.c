/*
 * The process-count collector: the number of all-digit directories in the
 * procfs root, read with getdents64(2) into a buffer inside the collector's
 * state, so that a tick neither allocates nor opens anything.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "agent/collect/collect-int.h"

/* struct linux_dirent64 as the kernel writes it; glibc's struct dirent64
 * has the same layout up to d_name. */
#define DIRENT_RECLEN_OFFSET offsetof(struct dirent64, d_reclen)
#define DIRENT_TYPE_OFFSET   offsetof(struct dirent64, d_type)
#define DIRENT_NAME_OFFSET   offsetof(struct dirent64, d_name)

/* getdents64 buffer. A record is at most 280 bytes (a 255-byte name), so
 * any buffer above that works; one this size lists a few hundred entries
 * per call, and the collector loops until the directory ends, so it never
 * needs to grow. */
#define DIRENT_BUF_BYTES 16384

/*
 * Counts the process directories in len bytes of getdents64(2) records:
 * entries whose name is all digits and whose type is DT_DIR (or
 * DT_UNKNOWN, from file systems that do not fill d_type). A record
 * shorter than its header plus one name byte, one reaching past len, one
 * whose name has no NUL inside the record, or trailing bytes too short for
 * a record are -EINVAL. The buffer needs no alignment. *ret_count is
 * written only on success. Pure and reentrant.
 */
int
fm_collect_procdir_count(const void *buf, size_t len, uint32_t *ret_count)
{
	const unsigned char *p = buf;
	uint32_t count = 0;
	size_t off = 0;

	while (off < len) {
		const char *name;
		const char *nul;
		uint16_t reclen;
		unsigned char type;

		if (len - off < DIRENT_NAME_OFFSET + 1)
			return -EINVAL;
		memcpy(&reclen, p + off + DIRENT_RECLEN_OFFSET, sizeof(reclen));
		if (reclen < DIRENT_NAME_OFFSET + 1 || reclen > len - off)
			return -EINVAL;
		name = (const char *)p + off + DIRENT_NAME_OFFSET;
		nul = memchr(name, '\0', reclen - DIRENT_NAME_OFFSET);
		if (!nul)
			return -EINVAL;
		type = p[off + DIRENT_TYPE_OFFSET];
		if ((type == DT_DIR || type == DT_UNKNOWN) &&
		    fm_collect_scan_is_digits(name, (size_t)(nul - name)))
			count++;
		off += reclen;
	}
	*ret_count = count;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

/* A zeroed state is closed: has_fd, not fd, says whether fd is ours (a
 * zeroed fd is 0, stdin). */
typedef struct procs_state {
	bool has_fd;
	int fd; /* the procfs root, O_DIRECTORY, while has_fd */
	_Alignas(8) unsigned char buf[DIRENT_BUF_BYTES];
} procs_state;

static int
procs_open(void *state, const fm_collect_sampler_config *cfg)
{
	procs_state *s = state;
	int fd = open(cfg->procfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	s->fd = fd;
	s->has_fd = true;
	return 0;
}

/* Lists the procfs root from its start and counts the processes. */
static int
procs_read(void *state, fmi_collect_ctx *ctx)
{
	procs_state *s = state;
	uint32_t total = 0;

	if (!s->has_fd)
		return -EBADF;
	if (lseek(s->fd, 0, SEEK_SET) < 0)
		return -errno;
	for (;;) {
		ssize_t n = getdents64(s->fd, s->buf, sizeof(s->buf));
		uint32_t count;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		r = fm_collect_procdir_count(s->buf, (size_t)n, &count);
		if (r < 0)
			return r;
		total = count > UINT32_MAX - total ? UINT32_MAX : total + count;
	}
	fmi_feature_set(ctx, FM_F_PROC_COUNT, log1p((double)total));
	return 0;
}

static void
procs_close(void *state)
{
	procs_state *s = state;

	if (s->has_fd)
		close(s->fd);
	s->has_fd = false;
}

/* The process-count collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_procs = {
	.name = "procs",
	.state_bytes = sizeof(procs_state),
	.open = procs_open,
	.read = procs_read,
	.close = procs_close,
};
