/*
 * The /proc/diskstats collector: reads, writes and bytes per second, the
 * busiest disk's utilisation, the mean wait per request and the mean queue
 * length, over whole disks (partitions and virtual devices are skipped so
 * that nothing is counted twice).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent-int.h"

/* A rate above these is a broken counter, not a busy host: masked. */
#define BYTES_PER_SEC_MAX  1e13
#define EVENTS_PER_SEC_MAX 1e10

/* Sectors in /proc/diskstats are always 512 bytes, whatever the device's
 * logical block size. */
#define SECTOR_BYTES 512.0

/* The kernel keeps I/O counts and sectors as unsigned long (they wrap at
 * the word size); the four time fields are printed as 32-bit ms. */
#define ULONG_BITS ((unsigned)(sizeof(unsigned long) * CHAR_BIT))
#define MS_BITS    32

/* The eleven fields every kernel since 2.6 prints for a whole disk, after
 * "major minor name"; 4.18 added discards, 5.5 flushes (ignored). */
#define DISK_FIELDS 11

/* Disks the collector makes room for at first; it doubles on demand up to
 * FMI_DISKS_MAX. */
#define DISKS_INITIAL 16

typedef struct span {
	const char *p;
	size_t len;
} span;

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Cuts the next line (without its '\n') off *rest; false when none is
 * left. A last line without '\n' is a line. */
static bool
next_line(span *rest, span *ret)
{
	const char *eol;

	if (rest->len == 0)
		return false;
	eol = memchr(rest->p, '\n', rest->len);
	ret->p = rest->p;
	ret->len = eol ? (size_t)(eol - rest->p) : rest->len;
	rest->p += ret->len + (eol ? 1 : 0);
	rest->len -= ret->len + (eol ? 1 : 0);
	return true;
}

/* Cuts the next blank-separated token off *line; false when none is
 * left. */
static bool
next_token(span *line, span *ret)
{
	while (line->len > 0 && is_blank(*line->p)) {
		line->p++;
		line->len--;
	}
	if (line->len == 0)
		return false;
	ret->p = line->p;
	while (line->len > 0 && !is_blank(*line->p)) {
		line->p++;
		line->len--;
	}
	ret->len = (size_t)(line->p - ret->p);
	return true;
}

/* Parses a token of decimal digits. Anything else, or a value beyond max,
 * is -EINVAL. */
static int
parse_u64(span tok, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (tok.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < tok.len; i++) {
		unsigned d = (unsigned)(unsigned char)tok.p[i] - '0';

		if (d > 9 || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* Whether a device name holds only printable bytes: a NUL would cut it
 * short into a name another device may own. */
static bool
name_is_valid(span tok)
{
	for (size_t i = 0; i < tok.len; i++) {
		unsigned char c = (unsigned char)tok.p[i];

		if (c < 0x21 || c == 0x7f)
			return false;
	}
	return true;
}

static bool
has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Skips the ASCII digits at s (at least one); NULL when there are none. */
static const char *
skip_digits(const char *s)
{
	const char *p = s;

	while (*p >= '0' && *p <= '9')
		p++;
	return p > s ? p : NULL;
}

/* Whether s is "<digits>" followed by sep and more "<digits>", up to the
 * end: the "0p1" of mmcblk0p1. */
static bool
is_digits_sep_digits(const char *s, char sep)
{
	s = skip_digits(s);
	if (!s || *s != sep)
		return false;
	s = skip_digits(s + 1);
	return s && *s == '\0';
}

/* sda1, hdb2, vdc3, xvda4: a SCSI/IDE/virtio/Xen disk's partition. */
static bool
is_sd_partition(const char *name)
{
	const char *p;

	if (has_prefix(name, "xvd"))
		p = name + 3;
	else if ((name[0] == 's' || name[0] == 'h' || name[0] == 'v') &&
	    name[1] == 'd')
		p = name + 2;
	else
		return false;
	if (*p < 'a' || *p > 'z')
		return false;
	while (*p >= 'a' && *p <= 'z')
		p++;
	p = skip_digits(p);
	return p && *p == '\0';
}

/* nvme0n1p2 */
static bool
is_nvme_partition(const char *name)
{
	const char *p;

	if (!has_prefix(name, "nvme"))
		return false;
	p = skip_digits(name + 4);
	if (!p || *p != 'n')
		return false;
	return is_digits_sep_digits(p + 1, 'p');
}

/* mmcblk0p1 */
static bool
is_mmc_partition(const char *name)
{
	return has_prefix(name, "mmcblk") &&
	    is_digits_sep_digits(name + 6, 'p');
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
fmi_disk_is_counted(const char *name)
{
	static const char *const skipped[] = { "loop", "ram", "zram", "fd",
		"dm-", "md", "sr" };

	if (!name || name[0] == '\0')
		return false;
	for (size_t i = 0; i < FM_ELEMENTSOF(skipped); i++) {
		if (has_prefix(name, skipped[i]))
			return false;
	}
	return !is_sd_partition(name) && !is_nvme_partition(name) &&
	    !is_mmc_partition(name);
}

/*
 * Parses one line. Returns 1 and fills *ret for a counted disk, 0 for a
 * device that is skipped (or a blank line), -EINVAL for a malformed line. A
 * name longer than FMI_DEV_NAME_BYTES - 1 is skipped: the kernel's own limit
 * (DISK_NAME_LEN) is shorter, and truncating it could make it collide with
 * another disk.
 */
static int
parse_line(span line, fmi_disk *ret)
{
	uint64_t v[DISK_FIELDS];
	uint64_t major, minor, x;
	span tok, name;
	unsigned n = 0;
	fmi_disk d;

	if (!next_token(&line, &tok))
		return 0; /* a blank line */
	if (parse_u64(tok, UINT32_MAX, &major) < 0)
		return -EINVAL;
	if (!next_token(&line, &tok) || parse_u64(tok, UINT32_MAX, &minor) < 0)
		return -EINVAL;
	if (!next_token(&line, &name) || !name_is_valid(name))
		return -EINVAL;
	/* Every field must be a number, also those we do not use. */
	while (next_token(&line, &tok)) {
		if (parse_u64(tok, UINT64_MAX, &x) < 0)
			return -EINVAL;
		if (n < DISK_FIELDS)
			v[n] = x;
		if (n < UINT_MAX)
			n++;
	}
	if (name.len >= FMI_DEV_NAME_BYTES)
		return 0;
	memset(&d, 0, sizeof(d));
	memcpy(d.name, name.p, name.len);
	if (!fmi_disk_is_counted(d.name))
		return 0;
	if (n < DISK_FIELDS)
		return -EINVAL;
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

/* One pass over the file: counts the disks into *ret_n and, when disks is
 * not NULL, stores them (the caller has checked that they fit). */
static int
parse_all(const char *buf, size_t len, fmi_disk *disks, uint32_t *ret_n)
{
	span rest = { buf, len }, line;
	uint32_t n = 0;

	while (next_line(&rest, &line)) {
		fmi_disk d;
		int r;

		r = parse_line(line, &d);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (n == FMI_DISKS_MAX)
			return -E2BIG;
		if (disks)
			disks[n] = d;
		n++;
	}
	*ret_n = n;
	return 0;
}

/*
 * Parses /proc/diskstats (see agent-int.h). Lines of skipped devices must
 * still be well-formed: "major minor name" and numbers only. A counted
 * disk needs the eleven classic fields; later ones (discards, flushes) are
 * checked and ignored. Blank lines are ignored; an empty file has no
 * disks. Numbers beyond their type (major/minor beyond 32 bits, counters
 * beyond 64) are -EINVAL, as is any other malformed line. More than cap
 * (or FMI_DISKS_MAX) counted disks: -E2BIG. disks[] and *ret_n are written
 * only on success. Pure and reentrant.
 */
int
fmi_diskstats_parse(
    const char *buf, size_t len, fmi_disk *disks, uint32_t cap, uint32_t *ret_n)
{
	uint32_t n;
	int r;

	/* Validate and count first, so that a failure leaves disks[]
	 * untouched. */
	r = parse_all(buf, len, NULL, &n);
	if (r < 0)
		return r;
	if (n > cap)
		return -E2BIG;
	r = parse_all(buf, len, disks, &n);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

typedef struct diskstats_state {
	bool is_init; /* file initialised: close may touch it */
	fmi_procfile file;
	fmi_disk *prev; /* cap each; prev_n of prev hold the last tick */
	fmi_disk *cur;
	uint32_t cap;
	uint32_t prev_n;
	bool has_prev;
} diskstats_state;

/* The movement of one disk over a tick. */
typedef struct disk_delta {
	uint64_t reads, read_sectors, read_ms;
	uint64_t writes, write_sectors, write_ms;
	uint64_t io_ms, weighted_ms;
} disk_delta;

/* Sums over the disks present in both ticks. */
typedef struct disk_sums {
	uint32_t matched;
	double reads, writes, read_bytes, write_bytes; /* per second */
	double requests, wait_ms; /* completed over the tick, and their ms */
	double io_ms, queue;      /* ms busy; weighted ms per ms */
	double busiest;           /* NAN until a disk is seen */
} disk_sums;

static bool
disk_is_same(const fmi_disk *a, const fmi_disk *b)
{
	return a->major == b->major && a->minor == b->minor &&
	    strcmp(a->name, b->name) == 0;
}

/* The previous tick's entry for cur[i]: usually at the same index. */
static const fmi_disk *
find_prev(const diskstats_state *s, uint32_t i)
{
	const fmi_disk *c = &s->cur[i];

	if (i < s->prev_n && disk_is_same(&s->prev[i], c))
		return &s->prev[i];
	for (uint32_t j = 0; j < s->prev_n; j++) {
		if (disk_is_same(&s->prev[j], c))
			return &s->prev[j];
	}
	return NULL;
}

/* False when any counter went backwards (beyond a 32-bit wrap of the
 * time fields): the device was removed and re-added, or reset. */
static bool
disk_delta_of(const fmi_disk *p, const fmi_disk *c, disk_delta *ret)
{
	disk_delta d;

	if (!fmi_counter_delta(p->reads, c->reads, ULONG_BITS, &d.reads) ||
	    !fmi_counter_delta(p->read_sectors, c->read_sectors, ULONG_BITS,
	        &d.read_sectors) ||
	    !fmi_counter_delta(p->read_ms, c->read_ms, MS_BITS, &d.read_ms) ||
	    !fmi_counter_delta(p->writes, c->writes, ULONG_BITS, &d.writes) ||
	    !fmi_counter_delta(p->write_sectors, c->write_sectors, ULONG_BITS,
	        &d.write_sectors) ||
	    !fmi_counter_delta(
	        p->write_ms, c->write_ms, MS_BITS, &d.write_ms) ||
	    !fmi_counter_delta(p->io_ms, c->io_ms, MS_BITS, &d.io_ms) ||
	    !fmi_counter_delta(
	        p->weighted_ms, c->weighted_ms, MS_BITS, &d.weighted_ms))
		return false;
	*ret = d;
	return true;
}

static void
sums_add(disk_sums *sum, const disk_delta *d, int64_t dt_ns)
{
	/* ms per second / 1000: the fraction of the tick spent busy. */
	double busy = fmi_per_second(d->io_ms, dt_ns) / 1000.0;

	sum->matched++;
	sum->reads += fmi_per_second(d->reads, dt_ns);
	sum->writes += fmi_per_second(d->writes, dt_ns);
	sum->read_bytes +=
	    fmi_per_second(d->read_sectors, dt_ns) * SECTOR_BYTES;
	sum->write_bytes +=
	    fmi_per_second(d->write_sectors, dt_ns) * SECTOR_BYTES;
	sum->requests += (double)d->reads + (double)d->writes;
	sum->wait_ms += (double)d->read_ms + (double)d->write_ms;
	sum->io_ms += (double)d->io_ms;
	sum->queue += fmi_per_second(d->weighted_ms, dt_ns) / 1000.0;
	if (busy > 1.0)
		busy = 1.0; /* io_ticks is sampled, and ticks are not exact */
	if (isnan(sum->busiest) || busy > sum->busiest)
		sum->busiest = busy;
}

/* log1p(rate), masked when the rate is beyond max. */
static void
set_rate(fmi_collect_ctx *ctx, enum fm_feature f, double rate, double max)
{
	fmi_feature_set(ctx, f, rate <= max ? fmi_log1p_rate(rate) : NAN);
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
set_features(const diskstats_state *s, uint32_t n, fmi_collect_ctx *ctx)
{
	disk_sums sum = { .busiest = NAN };
	disk_delta d;

	for (uint32_t i = 0; i < n; i++) {
		const fmi_disk *p = find_prev(s, i);

		if (p && disk_delta_of(p, &s->cur[i], &d))
			sums_add(&sum, &d, ctx->dt_ns);
	}
	if (sum.matched == 0)
		return; /* no disks, or all of them new or reset */
	set_rate(ctx, FM_F_DISK_READ_OPS, sum.reads, EVENTS_PER_SEC_MAX);
	set_rate(ctx, FM_F_DISK_WRITE_OPS, sum.writes, EVENTS_PER_SEC_MAX);
	set_rate(ctx, FM_F_DISK_READ_BYTES, sum.read_bytes, BYTES_PER_SEC_MAX);
	set_rate(
	    ctx, FM_F_DISK_WRITE_BYTES, sum.write_bytes, BYTES_PER_SEC_MAX);
	fmi_feature_set(ctx, FM_F_DISK_BUSIEST, sum.busiest);
	fmi_feature_set(ctx, FM_F_DISK_AWAIT, fmi_log1p_rate(await_ms(&sum)));
	/* In-flight requests per disk are far below this; more is a broken
	 * counter. */
	set_rate(ctx, FM_F_DISK_QUEUE, sum.queue, EVENTS_PER_SEC_MAX);
}

/* Doubles the disk arrays (up to FMI_DISKS_MAX), keeping the last tick. */
static int
grow(diskstats_state *s)
{
	uint32_t cap;
	fmi_disk *p;

	if (s->cap >= FMI_DISKS_MAX)
		return -E2BIG;
	cap = s->cap > FMI_DISKS_MAX / 2 ? FMI_DISKS_MAX : 2 * s->cap;
	p = realloc(s->prev, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->prev = p;
	p = realloc(s->cur, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->cur = p;
	s->cap = cap;
	return 0;
}

static int
diskstats_open(void *state, const fm_sampler_config *cfg)
{
	diskstats_state *s = state;

	fmi_procfile_init(&s->file);
	s->is_init = true;
	s->prev = calloc(DISKS_INITIAL, sizeof(*s->prev));
	s->cur = calloc(DISKS_INITIAL, sizeof(*s->cur));
	if (!s->prev || !s->cur)
		return -ENOMEM;
	s->cap = DISKS_INITIAL;
	/* A file without disks (a container) opens fine; the features stay
	 * masked. */
	return fmi_procfile_open(&s->file, cfg->procfs, "diskstats");
}

/*
 * Parses this tick into cur, computes the features against prev, and
 * swaps the two. A failed read or parse forgets the previous tick: the
 * next rate would otherwise span two intervals but be divided by one.
 */
static int
diskstats_read(void *state, fmi_collect_ctx *ctx)
{
	diskstats_state *s = state;
	fmi_disk *t;
	uint32_t n;
	int r;

	if (!s->cur)
		return -EBADF;
	r = fmi_procfile_read(&s->file);
	while (r >= 0) {
		r = fmi_diskstats_parse(
		    s->file.buf, s->file.len, s->cur, s->cap, &n);
		if (r != -E2BIG)
			break;
		r = grow(s);
	}
	if (r < 0) {
		s->has_prev = false;
		return r;
	}
	if (s->has_prev && ctx->dt_ns > 0)
		set_features(s, n, ctx);
	t = s->prev;
	s->prev = s->cur;
	s->cur = t;
	s->prev_n = n;
	s->has_prev = true;
	return 0;
}

static void
diskstats_close(void *state)
{
	diskstats_state *s = state;

	if (s->is_init)
		fmi_procfile_close(&s->file);
	free(s->prev);
	free(s->cur);
	s->prev = NULL;
	s->cur = NULL;
	s->cap = 0;
	s->prev_n = 0;
	s->has_prev = false;
}

/* The /proc/diskstats collector (see agent-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_diskstats = {
	.name = "diskstats",
	.state_bytes = sizeof(diskstats_state),
	.open = diskstats_open,
	.read = diskstats_read,
	.close = diskstats_close,
};
