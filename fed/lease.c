/*
 * The sequence lease: a file holding the highest sequence number the
 * agent may use, written ahead of use, so that a restart (even after
 * kill -9) continues above every number already sent.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed/fed-int.h"

int
fmi_fed_lease_parse(const uint8_t *buf, size_t len, uint64_t *ret)
{
	const size_t magic_len = strlen(FMI_FED_LEASE_MAGIC);
	char digits[FMI_FED_LEASE_MAX_BYTES];
	size_t n;
	uint64_t v;

	if (len > FMI_FED_LEASE_MAX_BYTES || len < magic_len + 2 ||
	    memcmp(buf, FMI_FED_LEASE_MAGIC, magic_len) != 0 ||
	    buf[len - 1] != '\n')
		return -EBADMSG;
	n = len - magic_len - 1;
	memcpy(digits, buf + magic_len, n);
	digits[n] = '\0';
	/* Digits only: no sign, blank or NUL (fm_parse_u64 would see a
	 * shorter string). */
	for (size_t i = 0; i < n; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return -EBADMSG;
	if (fm_parse_u64(digits, &v) < 0)
		return -EBADMSG;
	/* No real agent gets here: room for a lease and its extension. */
	if (v > UINT64_MAX - 2 * (uint64_t)FM_FED_SEQ_LEASE)
		return -EBADMSG;
	*ret = v;
	return 0;
}

static int
lease_write(const char *path, uint64_t bound)
{
	char text[FMI_FED_LEASE_MAX_BYTES];
	int n;

	n = snprintf(
	    text, sizeof(text), FMI_FED_LEASE_MAGIC "%" PRIu64 "\n", bound);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -EIO;
	return fm_file_write_atomic(path, text, (size_t)n, FMI_FED_LEASE_MODE);
}

int
fmi_fed_lease_open(const char *path, fmi_fed_lease *ret)
{
	fmi_fed_lease l = { .last = 0, .bound = UINT64_MAX };
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t stored = 0;
	size_t path_len;
	int r;

	if (!ret)
		return -EINVAL;
	if (!path) {
		*ret = l;
		return 0;
	}
	r = fm_file_read_all(path, FMI_FED_LEASE_MAX_BYTES, &buf, &len);
	if (r == -EFBIG)
		return -EBADMSG;
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		r = fmi_fed_lease_parse(buf, len, &stored);
		free(buf);
		if (r < 0)
			return r;
	}
	/* malloc, not strdup: the tests' allocation hook sees it. */
	path_len = strlen(path) + 1;
	l.path = malloc(path_len);
	if (!l.path)
		return -ENOMEM;
	memcpy(l.path, path, path_len);
	l.last = stored;
	l.bound = stored + FM_FED_SEQ_LEASE;
	r = lease_write(l.path, l.bound);
	if (r < 0) {
		fmi_fed_lease_clear(&l);
		return r;
	}
	*ret = l;
	return 0;
}

int
fmi_fed_lease_next(fmi_fed_lease *l, uint64_t *ret)
{
	int r;

	if (l->last == l->bound) {
		if (!l->path || l->bound > UINT64_MAX - FM_FED_SEQ_LEASE)
			return -EOVERFLOW;
		r = lease_write(l->path, l->bound + FM_FED_SEQ_LEASE);
		if (r < 0)
			return r;
		l->bound += FM_FED_SEQ_LEASE;
	}
	*ret = ++l->last;
	return 0;
}

int
fmi_fed_lease_rebase(fmi_fed_lease *l, uint64_t floor)
{
	uint64_t bound = l->bound;
	int r;

	if (floor <= l->last)
		return 0;
	/* Room for a lease above, as the file's parser demands. */
	if (floor > UINT64_MAX - 2 * (uint64_t)FM_FED_SEQ_LEASE)
		return -EOVERFLOW;
	if (l->path && floor >= l->bound) {
		bound = floor + FM_FED_SEQ_LEASE;
		r = lease_write(l->path, bound);
		if (r < 0)
			return r;
	}
	l->bound = bound;
	l->last = floor;
	return 0;
}

void
fmi_fed_lease_clear(fmi_fed_lease *l)
{
	if (!l)
		return;
	free(l->path);
	*l = (fmi_fed_lease) { 0 };
}
