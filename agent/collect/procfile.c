/*
 * procfs files opened once and re-read with pread(2) at offset 0, which
 * seq_file and sysctl files support; a file that does not (ESPIPE) is
 * reopened on every read instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/collect/collect-int.h"

#define PROCFILE_INITIAL_BYTES 4096

void
fmi_procfile_init(fmi_procfile *f)
{
	f->fd = -1;
	f->reopen = false;
	f->buf = NULL;
	f->cap = 0;
	f->len = 0;
	f->path[0] = '\0';
}

/* An open procfile always holds a buffer (open allocates it before it
 * opens the file), so one without is closed, whatever its fd says. */
void
fmi_procfile_close(fmi_procfile *f)
{
	if (!f->buf)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->buf);
	fmi_procfile_init(f);
}

static int
open_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	return fd < 0 ? -errno : fd;
}

/* Reads the whole file into buf[cap - 1]. Returns the length, or -ENOBUFS
 * when it did not fit, or another negative errno. */
static int
read_whole(fmi_procfile *f)
{
	size_t off = 0;

	for (;;) {
		ssize_t n;

		if (off >= f->cap - 1)
			return -ENOBUFS;
		if (f->reopen)
			n = read(f->fd, f->buf + off, f->cap - 1 - off);
		else
			n = pread(
			    f->fd, f->buf + off, f->cap - 1 - off, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ESPIPE && !f->reopen && off == 0) {
				f->reopen = true;
				continue;
			}
			return -errno;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	f->buf[off] = '\0';
	return (int)off;
}

static int
grow(fmi_procfile *f)
{
	size_t cap = f->cap ? f->cap * 2 : PROCFILE_INITIAL_BYTES;
	char *b;

	if (cap > FMI_PROCFILE_MAX_BYTES)
		return -EFBIG;
	b = realloc(f->buf, cap);
	if (!b)
		return -ENOMEM;
	f->buf = b;
	f->cap = cap;
	return 0;
}

int
fmi_procfile_read(fmi_procfile *f)
{
	int r;

	if (!f->buf)
		return -EBADF;
	for (;;) {
		if (f->reopen) {
			int fd = open_path(f->path);

			if (fd < 0)
				return fd;
			if (f->fd >= 0)
				close(f->fd);
			f->fd = fd;
		}
		r = read_whole(f);
		if (r != -ENOBUFS)
			break;
		r = grow(f);
		if (r < 0)
			return r;
		if (f->reopen)
			continue;
	}
	if (r < 0)
		return r;
	f->len = (size_t)r;
	return r;
}

int
fmi_procfile_open(fmi_procfile *f, const char *root, const char *rel)
{
	int r;

	fmi_procfile_init(f);
	if (snprintf(f->path, sizeof(f->path), "%s/%s", root, rel) >=
	    (int)sizeof(f->path))
		return -ENAMETOOLONG;
	r = grow(f);
	if (r < 0)
		return r;
	r = open_path(f->path);
	if (r < 0)
		goto out_close;
	f->fd = r;
	r = fmi_procfile_read(f);
	if (r < 0)
		goto out_close;
	return 0;
out_close:
	fmi_procfile_close(f);
	return r;
}
