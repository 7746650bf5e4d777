/*
 * The /proc/diskstats collector: reads, writes and bytes per second, the
 * busiest disk's utilisation, the mean wait per request and the mean queue
 * length, over whole disks (partitions and virtual devices are skipped so
 * that nothing is counted twice).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "agent/collect/collect-int.h"

/* Sectors in /proc/diskstats are always 512 bytes, whatever the device's
 * logical block size. */
#define SECTOR_BYTES 512.0

/* The kernel keeps I/O counts and sectors as unsigned long (they wrap at
 * the word size, FMI_ULONG_BITS); the four time fields are printed as
 * 32-bit ms. */
#define MS_BITS 32

/* The eleven fields every kernel since 2.6 prints for a whole disk, after
 * "major minor name"; 4.18 added discards, 5.5 flushes (ignored). */
#define DISK_FIELDS 11

/* A device name as parse_line() cuts it: not NUL-terminated. */
typedef struct name_span {
	const char *p, *end;
} name_span;

/* Whether name starts with prefix; *rest is then what follows it. */
static bool
has_prefix(name_span name, const char *prefix, name_span *rest)
{
	const char *q;

	if (!fm_collect_scan_starts_with(name.p, name.end, prefix, &q))
		return false;
	*rest = (name_span) { q, name.end };
	return true;
}

/* Skips the ASCII digits at p (at least one); NULL when there are none. */
static const char *
skip_digits(const char *p, const char *end)
{
	const char *s = p;

	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p > s ? p : NULL;
}

/* Whether s is "<digits>" followed by sep and more "<digits>", up to the
 * end: the "0p1" of mmcblk0p1. */
static bool
is_digits_sep_digits(name_span s, char sep)
{
	const char *p = skip_digits(s.p, s.end);

	if (!p || p == s.end || *p != sep)
		return false;
	return skip_digits(p + 1, s.end) == s.end;
}

/* sda1, hdb2, vdc3, xvda4: a SCSI/IDE/virtio/Xen disk's partition. */
static bool
is_sd_partition(name_span name)
{
	const char *p, *end = name.end;
	name_span rest;

	if (has_prefix(name, "xvd", &rest))
		p = rest.p;
	else if (end - name.p >= 2 &&
	    (name.p[0] == 's' || name.p[0] == 'h' || name.p[0] == 'v') &&
	    name.p[1] == 'd')
		p = name.p + 2;
	else
		return false;
	if (p == end || *p < 'a' || *p > 'z')
		return false;
	while (p < end && *p >= 'a' && *p <= 'z')
		p++;
	return skip_digits(p, end) == end;
}

/* nvme0n1p2 */
static bool
is_nvme_partition(name_span name)
{
	name_span rest;
	const char *p;

	if (!has_prefix(name, "nvme", &rest))
		return false;
	p = skip_digits(rest.p, rest.end);
	if (!p || p == rest.end || *p != 'n')
		return false;
	return is_digits_sep_digits((name_span) { p + 1, rest.end }, 'p');
}

/* mmcblk0p1 */
static bool
is_mmc_partition(name_span name)
{
	name_span rest;

	return has_prefix(name, "mmcblk", &rest) &&
	    is_digits_sep_digits(rest, 'p');
}

/* fm_collect_disk_is_counted() of a name that is not NUL-terminated (and holds
 * no NUL). */
static bool
name_is_counted(name_span name)
{
	static const char *const skipped[] = { "loop", "ram", "zram", "fd",
		"dm-", "md", "sr" };
	name_span rest;

	if (name.p == name.end)
		return false;
	for (size_t i = 0; i < FM_ELEMENTSOF(skipped); i++) {
		if (has_prefix(name, skipped[i], &rest))
			return false;
	}
	return !is_sd_partition(name) && !is_nvme_partition(name) &&
	    !is_mmc_partition(name);
}

/*
 * Whether a block device name is a whole disk that /proc/diskstats
 * features count: not loop*, ram*, zram*, fd* (floppy), dm-* (device
 * mapper, already counted on its disks), md* (RAID, likewise), sr*
 * (optical), nor a partition of sd/hd/vd/xvd, nvme or mmcblk disks. Any
 * other name (sda, vda, nvme0n1, mmcblk0, nbd0, rbd0…) counts. NULL and ""
 * do not. Pure and reentrant.
 */
bool
fm_collect_disk_is_counted(const char *name)
{
	if (!name)
		return false;
	return name_is_counted((name_span) { name, name + strlen(name) });
}

/* Scans the number that ends a field at *p (after blanks) into *ret: at
 * most UINT32_MAX. */
static int
scan_u32_field(const char **p, const char *end, uint64_t *ret)
{
	const char *q = *p;
	uint64_t v;

	if (fm_collect_scan_u64_field(&q, end, &v) < 0 || v > UINT32_MAX)
		return -EINVAL;
	*p = q;
	*ret = v;
	return 0;
}

/*
 * Parses one line. Returns 1 and fills *ret for a counted disk, 0 for a
 * device that is skipped (or a blank line), -EINVAL for a malformed line. A
 * name longer than FM_COLLECT_DEV_NAME_BYTES - 1 is skipped: the kernel's own
 * limit (DISK_NAME_LEN) is shorter, and truncating it could make it collide
 * with another disk. The name decides first, so that the numbers of a skipped
 * device (most lines: loop, zram, partitions) are only checked, not
 * stored, and not even checked when valid tells that this buffer passed
 * this parser before.
 */
static int
parse_line(fm_collect_span line, bool valid, fm_collect_disk *ret)
{
	const char *p = line.p, *end = line.p + line.len;
	uint64_t v[DISK_FIELDS];
	uint64_t major, minor;
	fm_collect_span name;
	uint32_t n;
	fm_collect_disk d;
	int r;

	fm_collect_scan_skip_blanks(&p, end);
	if (p == end)
		return 0; /* a blank line */
	if (scan_u32_field(&p, end, &major) < 0 ||
	    scan_u32_field(&p, end, &minor) < 0)
		return -EINVAL;
	fm_collect_scan_skip_blanks(&p, end);
	name.p = p;
	name.len = fm_collect_scan_skip_word(&p, end);
	if (!fm_collect_scan_is_name(name))
		return -EINVAL;
	/* Every field must be a number, also those we do not use. */
	if (name.len >= FM_COLLECT_DEV_NAME_BYTES ||
	    !name_is_counted((name_span) { name.p, name.p + name.len })) {
		if (valid)
			return 0;
		r = fm_collect_scan_u64_list(p, end, NULL, 0, &n);
		return r < 0 ? r : 0;
	}
	if (fm_collect_scan_u64_list(p, end, v, DISK_FIELDS, &n) < 0 ||
	    n < DISK_FIELDS)
		return -EINVAL;
	memset(&d, 0, sizeof(d));
	memcpy(d.name, name.p, name.len);
	d.major = (uint32_t)major;
	d.minor = (uint32_t)minor;
	/* v[1] and v[5] are merged reads and writes: not used. */
	d.reads = v[0];
	d.read_sectors = v[2];
	d.read_ms = v[3];
	d.writes = v[4];
	d.write_sectors = v[6];
	d.write_ms = v[7];
	d.in_flight = v[8];
	d.io_ms = v[9];
	d.weighted_ms = v[10];
	*ret = d;
	return 1;
}

/* Counted disks that the validating pass keeps on the stack: a host with
 * up to this many is parsed once. */
#define STAGED_DISKS 16

/*
 * One pass over the file: counts the disks into *ret_n and stores the first
 * out_cap of them in out[]. valid tells that these bytes passed this
 * function before, so that the numbers of skipped devices need no check.
 */
static int
parse_all(const char *buf, size_t len, bool valid, fm_collect_disk *out,
    uint32_t out_cap, uint32_t *ret_n)
{
	fm_collect_span rest = { buf, len }, line;
	uint32_t n = 0;

	while (fm_collect_scan_next_line(&rest, &line)) {
		fm_collect_disk d;
		int r;

		r = parse_line(line, valid, &d);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (n == FM_COLLECT_DISKS_MAX)
			return -E2BIG;
		if (n < out_cap)
			out[n] = d;
		n++;
	}
	*ret_n = n;
	return 0;
}

/*
 * Parses /proc/diskstats (see parse.h). Lines of skipped devices must
 * still be well-formed: "major minor name" and numbers only. A counted
 * disk needs the eleven classic fields; later ones (discards, flushes) are
 * checked and ignored. Blank lines are ignored; an empty file has no
 * disks. Numbers beyond their type (major/minor beyond 32 bits, counters
 * beyond 64) are -EINVAL, as is any other malformed line. More than cap
 * (or FM_COLLECT_DISKS_MAX) counted disks: -E2BIG. disks[] and *ret_n are
 * written only on success. Pure and reentrant.
 */
int
fm_collect_diskstats_parse(const char *buf, size_t len, fm_collect_disk *disks,
    uint32_t cap, uint32_t *ret_n)
{
	fm_collect_disk staged[STAGED_DISKS];
	uint32_t n;
	int r;

	/* Validate and count first, so that a failure leaves disks[]
	 * untouched; a second pass only when the disks did not all fit on
	 * the stack. */
	r = parse_all(buf, len, false, staged, STAGED_DISKS, &n);
	if (r < 0)
		return r;
	if (n > cap)
		return -E2BIG;
	if (n > STAGED_DISKS) {
		r = parse_all(buf, len, true, disks, n, &n);
		if (r < 0)
			return r;
	} else if (n > 0) {
		memcpy(disks, staged, n * sizeof(*disks));
	}
	*ret_n = n;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

/* The counters the features need: indexes into the deltas that
 * fmi_devset_next_delta() gives. */
enum {
	D_READS,
	D_READ_SECTORS,
	D_READ_MS,
	D_WRITES,
	D_WRITE_SECTORS,
	D_WRITE_MS,
	D_IO_MS,
	D_WEIGHTED_MS,
	D_COUNT
};

static const fmi_devset_counter counters[D_COUNT] = {
	[D_READS] = { offsetof(fm_collect_disk, reads), FMI_ULONG_BITS },
	[D_READ_SECTORS] = { offsetof(fm_collect_disk, read_sectors),
	    FMI_ULONG_BITS },
	[D_READ_MS] = { offsetof(fm_collect_disk, read_ms), MS_BITS },
	[D_WRITES] = { offsetof(fm_collect_disk, writes), FMI_ULONG_BITS },
	[D_WRITE_SECTORS] = { offsetof(fm_collect_disk, write_sectors),
	    FMI_ULONG_BITS },
	[D_WRITE_MS] = { offsetof(fm_collect_disk, write_ms), MS_BITS },
	[D_IO_MS] = { offsetof(fm_collect_disk, io_ms), MS_BITS },
	[D_WEIGHTED_MS] = { offsetof(fm_collect_disk, weighted_ms), MS_BITS },
};

static int
parse_disks(
    const char *buf, size_t len, void *disks, uint32_t cap, uint32_t *ret_n)
{
	return fm_collect_diskstats_parse(buf, len, disks, cap, ret_n);
}

/* The same disk: the same name on the same major:minor. */
static bool
disk_is_same(const void *a, const void *b)
{
	const fm_collect_disk *x = a, *y = b;

	return x->major == y->major && x->minor == y->minor &&
	    strcmp(x->name, y->name) == 0;
}

static const fmi_devset_type disk_type = {
	.rel = "diskstats",
	.dev_bytes = sizeof(fm_collect_disk),
	.max = FM_COLLECT_DISKS_MAX,
	.parse = parse_disks,
	.is_same = disk_is_same,
	.counters = counters,
	.ncounters = D_COUNT,
};

/* Sums over the disks present in both ticks. */
typedef struct disk_sums {
	uint32_t matched;
	double reads, writes, read_bytes, write_bytes; /* per second */
	double requests, wait_ms; /* completed over the tick, and their ms */
	double io_ms, queue;      /* ms busy; weighted ms per ms */
	double busiest;           /* NAN until a disk is seen */
} disk_sums;

static void
sums_add(disk_sums *sum, const uint64_t *d, int64_t dt_ns)
{
	/* ms per second / 1000: the fraction of the tick spent busy. */
	double busy = fmi_per_second(d[D_IO_MS], dt_ns) / 1000.0;

	sum->matched++;
	sum->reads += fmi_per_second(d[D_READS], dt_ns);
	sum->writes += fmi_per_second(d[D_WRITES], dt_ns);
	sum->read_bytes +=
	    fmi_per_second(d[D_READ_SECTORS], dt_ns) * SECTOR_BYTES;
	sum->write_bytes +=
	    fmi_per_second(d[D_WRITE_SECTORS], dt_ns) * SECTOR_BYTES;
	sum->requests += (double)d[D_READS] + (double)d[D_WRITES];
	sum->wait_ms += (double)d[D_READ_MS] + (double)d[D_WRITE_MS];
	sum->io_ms += (double)d[D_IO_MS];
	sum->queue += fmi_per_second(d[D_WEIGHTED_MS], dt_ns) / 1000.0;
	if (busy > 1.0)
		busy = 1.0; /* io_ticks is sampled, and ticks are not exact */
	if (isnan(sum->busiest) || busy > sum->busiest)
		sum->busiest = busy;
}

/*
 * The mean wait per completed request. A tick in which no request
 * completed has no mean; it is 0 when the disks were idle (nothing was
 * waiting, which is a known state, not an unknown one: masking it would
 * hide every idle tick from the model), and masked when they were busy
 * without completing anything (a hung disk: the wait is unknown and
 * growing, and 0 would report it as fast).
 */
static double
await_ms(const disk_sums *sum)
{
	if (sum->requests > 0.0)
		return sum->wait_ms / sum->requests;
	return sum->io_ms == 0.0 && sum->queue == 0.0 ? 0.0 : NAN;
}

static void
set_features(const fmi_devset *s, fmi_collect_ctx *ctx)
{
	disk_sums sum = { .busiest = NAN };
	uint64_t d[D_COUNT];
	uint32_t pos = 0;

	while (fmi_devset_next_delta(s, &pos, d))
		sums_add(&sum, d, ctx->dt_ns);
	if (sum.matched == 0)
		return; /* no disks, or all of them new or reset */
	fmi_feature_set_rate(
	    ctx, FM_F_DISK_READ_OPS, sum.reads, FMI_EVENTS_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_DISK_WRITE_OPS, sum.writes, FMI_EVENTS_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_DISK_READ_BYTES, sum.read_bytes, FMI_BYTES_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_DISK_WRITE_BYTES, sum.write_bytes, FMI_BYTES_PER_SEC_MAX);
	fmi_feature_set(ctx, FM_F_DISK_BUSIEST, sum.busiest);
	fmi_feature_set(ctx, FM_F_DISK_AWAIT, fmi_log1p_rate(await_ms(&sum)));
	/* In-flight requests per disk are far below this; more is a broken
	 * counter. */
	fmi_feature_set_rate(
	    ctx, FM_F_DISK_QUEUE, sum.queue, FMI_EVENTS_PER_SEC_MAX);
}

/* A file without disks (a container) opens fine; the features stay
 * masked. */
static int
diskstats_open(void *state, const fm_collect_sampler_config *cfg)
{
	return fmi_devset_open(state, &disk_type, cfg->procfs);
}

/* Reads this tick and sums the deltas of the disks the previous tick also
 * had; a failed read or parse leaves no previous tick (see
 * fmi_devset_read). */
static int
diskstats_read(void *state, fmi_collect_ctx *ctx)
{
	int r = fmi_devset_read(state);

	if (r < 0)
		return r;
	if (ctx->dt_ns > 0)
		set_features(state, ctx);
	return 0;
}

static void
diskstats_close(void *state)
{
	fmi_devset_close(state);
}

/* The /proc/diskstats collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_diskstats = {
	.name = "diskstats",
	.state_bytes = sizeof(fmi_devset),
	.open = diskstats_open,
	.read = diskstats_read,
	.close = diskstats_close,
};
