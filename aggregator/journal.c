/*
 * The replay journal: one 20-byte record per authenticated request,
 * (u64 key id, u64 sequence, u32 CRC-32C of those 16 bytes), all
 * little-endian, written before the reply is sent. A killed process loses
 * nothing (the kernel has the bytes); the journal is fsync'd and emptied
 * each time the state file takes the marks in.
 *
 * Full disks. Each record is written at the end of the last whole one
 * (pwrite at a length the aggregator keeps, not O_APPEND), and a record
 * that could not be written whole is cut off again, so no record ever
 * lands after a torn one. Journals written before that rule (or damaged
 * otherwise) are read by resynchronising on the next record whose
 * checksum holds; what is skipped is counted and cut out at start-up.
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
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

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

/* Whether the FMI_AGG_JOURNAL_RECORD_BYTES at p are a whole record. */
static bool
record_is_whole(const uint8_t *p)
{
	uint8_t want[FMI_AGG_JOURNAL_RECORD_BYTES];
	uint64_t id = le64(p);

	fmi_agg_journal_record(id, le64(p + 8), want);
	return id != 0 && memcmp(want, p, sizeof(want)) == 0;
}

/*
 * The offset of the first whole record at or after *off in buf[len]
 * into *off; false (and *off = len) when there is none.
 */
static bool
next_record(const uint8_t *buf, size_t len, size_t *off)
{
	for (size_t p = *off; len >= FMI_AGG_JOURNAL_RECORD_BYTES &&
	     p <= len - FMI_AGG_JOURNAL_RECORD_BYTES;
	     p++) {
		if (record_is_whole(buf + p)) {
			*off = p;
			return true;
		}
	}
	*off = len;
	return false;
}

int
fmi_agg_journal_parse(const uint8_t *buf, size_t len,
    int (*fn)(void *userdata, uint64_t id, uint64_t seq), void *userdata,
    fmi_agg_journal_scan *ret_scan)
{
	fmi_agg_journal_scan scan = { .first_dropped = len };
	size_t off = 0;

	while (off < len) {
		size_t at = off;
		bool found = next_record(buf, len, &at);
		int r;

		if (at > off) {
			if (scan.dropped_bytes == 0)
				scan.first_dropped = off;
			scan.dropped_bytes += at - off;
			scan.dropped_runs++;
		}
		if (!found)
			break;
		r = fn(userdata, le64(buf + at), le64(buf + at + 8));
		if (r < 0)
			return r;
		scan.records++;
		off = at + FMI_AGG_JOURNAL_RECORD_BYTES;
	}
	*ret_scan = scan;
	return 0;
}

int
fmi_agg_journal_repair(
    int fd, uint8_t *buf, size_t len, const fmi_agg_journal_scan *scan)
{
	const size_t rec = FMI_AGG_JOURNAL_RECORD_BYTES;
	size_t off = scan->first_dropped, end = off;

	if (scan->dropped_bytes == 0)
		return 0;
	/* The whole records after the first gap move down over it. */
	while (next_record(buf, len, &off)) {
		memmove(buf + end, buf + off, rec);
		end += rec;
		off += rec;
	}
	for (size_t done = scan->first_dropped; done < end;) {
		ssize_t n = pwrite(fd, buf + done, end - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	if (ftruncate(fd, (off_t)end) < 0 || fsync(fd) < 0)
		return -errno;
	return 0;
}

int
fmi_agg_journal_append(int fd, uint64_t *len, uint64_t id, uint64_t seq)
{
	uint8_t rec[FMI_AGG_JOURNAL_RECORD_BYTES];
	size_t done = 0;
	int r;

	fmi_agg_journal_record(id, seq, rec);
	while (done < sizeof(rec)) {
		ssize_t n = pwrite(
		    fd, rec + done, sizeof(rec) - done, (off_t)(*len + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out_cut;
		}
		done += (size_t)n;
	}
	*len += sizeof(rec);
	return 0;
out_cut:
	/* A torn record does not stay (the next one would overwrite it
	 * anyway, since it is written at *len). */
	if (done > 0)
		(void)ftruncate(fd, (off_t)*len);
	return r;
}

int
fmi_agg_journal_reset(int fd, uint64_t *len)
{
	if (ftruncate(fd, 0) < 0)
		return -errno;
	*len = 0;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}
