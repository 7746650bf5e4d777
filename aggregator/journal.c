/*
 * The replay journal: one 20-byte record per authenticated request,
 * (u64 key id, u64 sequence, u32 CRC-32C of those 16 bytes), all
 * little-endian, appended with one write(2) before the reply is sent. A
 * killed process loses nothing (the kernel has the bytes); the journal is
 * fsync'd and emptied each time the state file takes the marks in.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "aggregator/aggregator-int.h"
#include "learn/learn.h"

int
fmi_agg_journal_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

	return fd < 0 ? -errno : fd;
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

void
fmi_agg_journal_record(
    uint64_t id, uint64_t seq, uint8_t out[FMI_AGG_JOURNAL_RECORD_BYTES])
{
	uint32_t crc;

	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(id >> (8 * i));
		out[8 + i] = (uint8_t)(seq >> (8 * i));
	}
	crc = fm_learn_crc32c_update(0, out, 16);
	for (int i = 0; i < 4; i++)
		out[16 + i] = (uint8_t)(crc >> (8 * i));
}

int
fmi_agg_journal_parse(const uint8_t *buf, size_t len,
    int (*fn)(void *userdata, uint64_t id, uint64_t seq), void *userdata)
{
	const size_t rec = FMI_AGG_JOURNAL_RECORD_BYTES;
	size_t n = len / rec;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + i * rec;
		uint8_t want[FMI_AGG_JOURNAL_RECORD_BYTES];
		uint64_t id = le64(p), seq = le64(p + 8);
		int r;

		fmi_agg_journal_record(id, seq, want);
		if (memcmp(want, p, rec) != 0 || id == 0) {
			/* A torn last append is not corruption. */
			if (i + 1 == n)
				return 0;
			return -EBADMSG;
		}
		r = fn(userdata, id, seq);
		if (r < 0)
			return r;
	}
	return 0;
}

int
fmi_agg_journal_append(int fd, uint64_t id, uint64_t seq)
{
	uint8_t rec[FMI_AGG_JOURNAL_RECORD_BYTES];
	ssize_t n;

	fmi_agg_journal_record(id, seq, rec);
	do
		n = write(fd, rec, sizeof(rec));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(rec) ? 0 : -EIO;
}

int
fmi_agg_journal_reset(int fd)
{
	if (ftruncate(fd, 0) < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}
