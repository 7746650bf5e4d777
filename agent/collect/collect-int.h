/*
 * agent/collect internals: procfs file handles, counter arithmetic, the
 * collector ops table, per-device counters, the bounded scanners and the
 * pure parsers built on them (bytes in, struct out). Included only by
 * agent/collect/ and its tests (and the fuzzers of the parsers); no other
 * folder includes it.
 *
 * Parsers never read past len and never need NUL termination; they accept
 * anything (garbage gives -EINVAL, never a crash) and write their output
 * only on success.
 */
#ifndef FM_AGENT_COLLECT_INT_H
#define FM_AGENT_COLLECT_INT_H

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "agent/collect/collect.h"

/* ---- procfs files: opened once, re-read with pread(…, 0) ------------- */

#define FMI_PROCFILE_MAX_BYTES (4u << 20) /* cap on one file's size */

/* Open exactly while buf is set: a zeroed struct is closed. */
typedef struct fmi_procfile {
	int fd;      /* ours while buf is set; -1 after a close */
	bool reopen; /* pread unsupported: reopen on every read */
	char *buf;   /* cap bytes, NUL-terminated after a read */
	size_t cap;
	size_t len; /* bytes of the last read */
	char path[PATH_MAX];
} fmi_procfile;

/*
 * Opens root/rel (e.g. "/proc" + "stat") and reads it once to size the
 * buffer. Returns 0, -ENOENT when the file does not exist (a source this
 * kernel lacks), -EFBIG beyond FMI_PROCFILE_MAX_BYTES, or another negative
 * errno. On failure f is left closed (fd -1, no buffer).
 */
int fmi_procfile_open(
    fmi_procfile *f, const char *root, const char *rel) FM_WUR;

/*
 * Re-reads the whole file from offset 0 into f->buf (NUL-terminated).
 * Grows the buffer only when the file outgrew it (rare; bounded by
 * FMI_PROCFILE_MAX_BYTES). Returns the length read, or a negative errno.
 */
int fmi_procfile_read(fmi_procfile *f) FM_WUR;

/*
 * Closes f and frees its buffer. A procfile is open exactly while it holds
 * a buffer, so this is idempotent and safe on one that was never opened:
 * zeroed (its fd 0 is not ours and stays open), initialised, or left
 * closed by a failed open.
 */
void fmi_procfile_close(fmi_procfile *f);

/* Puts f in the closed state (fd -1, no buffer). */
void fmi_procfile_init(fmi_procfile *f);

/* ---- counters and rates ---------------------------------------------- */

/*
 * The increase of a counter from prev to cur. A counter that went
 * backwards is either a 32-bit wrap (bits == 32 and the wrapped increase is
 * below 2^31) or a reset (reboot, device re-added): then false is returned
 * and the caller must not use a rate for this interval.
 */
bool fmi_counter_delta(
    uint64_t prev, uint64_t cur, unsigned bits, uint64_t *ret);

/* delta per second over dt_ns, or NAN when dt_ns <= 0. */
double fmi_per_second(uint64_t delta, int64_t dt_ns);

/* The per-second increase of a counter from prev to cur over dt_ns (see
 * fmi_counter_delta() for bits), or NAN on a reset, when dt_ns <= 0, or
 * above max_per_sec (a broken counter, not a busy host). */
double fmi_counter_rate(uint64_t prev, uint64_t cur, unsigned bits,
    int64_t dt_ns, double max_per_sec);

/* The width of the kernel's unsigned long counters (most /proc counters):
 * they wrap at the word size, and a 32-bit agent runs on a 32-bit kernel. */
#define FMI_ULONG_BITS ((unsigned)(sizeof(unsigned long) * CHAR_BIT))

/* Summed rates above these are broken counters, not a busy host. */
#define FMI_BYTES_PER_SEC_MAX  1e13
#define FMI_EVENTS_PER_SEC_MAX 1e10

/* ---- collectors ------------------------------------------------------ */

typedef struct fmi_collect_ctx {
	int64_t dt_ns; /* since the previous read; 0 on the first read */
	uint32_t ncpu; /* online CPUs, set by the stat collector (first);
	                * the last good count when this tick's read failed,
	                * 0 before any good read */
	float *v;      /* FM_FEATURE_COUNT values, NAN (masked) on entry */
} fmi_collect_ctx;

/* Stores v into feature f, masking it when v is not finite. */
static inline void
fmi_feature_set(fmi_collect_ctx *ctx, enum fm_feature f, double v)
{
	ctx->v[f] = isfinite(v) ? (float)v : NAN;
}

/* log1p of a non-negative rate; NAN stays NAN. */
static inline double
fmi_log1p_rate(double rate)
{
	return rate >= 0.0 ? log1p(rate) : NAN;
}

/* Stores log1p(rate) into feature f, masked when the rate is NAN or above
 * max_per_sec. */
static inline void
fmi_feature_set_rate(
    fmi_collect_ctx *ctx, enum fm_feature f, double rate, double max_per_sec)
{
	fmi_feature_set(
	    ctx, f, rate <= max_per_sec ? fmi_log1p_rate(rate) : NAN);
}

/* x clamped to [0, 1]; NAN stays NAN. */
static inline double
fmi_clamp01(double x)
{
	if (x < 0.0)
		return 0.0;
	return x > 1.0 ? 1.0 : x;
}

/*
 * A collector: one source, one file agent/collect/collect-<name>.c. The sampler
 * allocates state_bytes of zeroed state for it, calls open once, read once
 * per tick (its features are NAN on entry; whatever it does not set stays
 * masked), and close once: always after open, also after a failed open.
 *  open: 0; -ENOENT when the source is absent on this kernel (its features
 *        stay masked, the agent logs it once); another negative errno is
 *        fatal for the sampler.
 *  read: 0, or a negative errno when this tick's read or parse failed (its
 *        features stay masked this tick). Must not allocate after the first
 *        successful read, except to grow a buffer the source outgrew.
 */
typedef struct fmi_collector_ops {
	const char *name;
	size_t state_bytes;
	int (*open)(void *state, const fm_collect_sampler_config *cfg);
	int (*read)(void *state, fmi_collect_ctx *ctx);
	void (*close)(void *state);
} fmi_collector_ops;

/* In the order the sampler runs them; stat comes first (it sets ncpu). */
extern const fmi_collector_ops fmi_collector_stat;
extern const fmi_collector_ops fmi_collector_loadavg;
extern const fmi_collector_ops fmi_collector_procs;
extern const fmi_collector_ops fmi_collector_pressure;
extern const fmi_collector_ops fmi_collector_meminfo;
extern const fmi_collector_ops fmi_collector_vmstat;
extern const fmi_collector_ops fmi_collector_diskstats;
extern const fmi_collector_ops fmi_collector_netdev;
extern const fmi_collector_ops fmi_collector_snmp;
extern const fmi_collector_ops fmi_collector_filenr;
extern const fmi_collector_ops fmi_collector_fs;

/* ---- per-device counters (devset.c) ---------------------------------- */

/* One counter of a device record: where it is and how wide it wraps. */
typedef struct fmi_devset_counter {
	size_t off;    /* of the uint64_t in the record */
	unsigned bits; /* see fmi_counter_delta() */
} fmi_devset_counter;

/* Counters a device record has at most. */
#define FMI_DEVSET_COUNTERS_MAX 16

/* What a device set reads: a file listing one record per device. */
typedef struct fmi_devset_type {
	const char *rel;  /* under the procfs root, e.g. "diskstats" */
	size_t dev_bytes; /* one record, e.g. sizeof(fmi_disk) */
	uint32_t max;     /* records held at most, e.g. FMI_DISKS_MAX */
	/* The file's parser, with fmi_diskstats_parse()'s contract. */
	int (*parse)(const char *buf, size_t len, void *devs, uint32_t cap,
	    uint32_t *ret_n);
	/* Whether two records are the same device. */
	bool (*is_same)(const void *a, const void *b);
	const fmi_devset_counter *counters; /* ncounters of them */
	size_t ncounters; /* at most FMI_DEVSET_COUNTERS_MAX */
} fmi_devset_type;

/*
 * The devices of the last two good reads of one file, so that a collector
 * sums per-device deltas over the devices present in both. A zeroed struct
 * is closed. Single-threaded.
 */
typedef struct fmi_devset {
	const fmi_devset_type *type;
	fmi_procfile file;
	void *cur;  /* cap records, cur_n of them the last good read */
	void *prev; /* cap records, prev_n of them the read before */
	uint32_t cap;
	uint32_t cur_n, prev_n;
	bool has_cur, has_prev; /* cur (prev) holds a good read */
} fmi_devset;

/*
 * Opens <procfs>/<type->rel> into a closed *s (see fmi_procfile_open); the
 * first tick is the first fmi_devset_read(). type must outlive s. Returns
 * 0, -ENOMEM, or fmi_procfile_open()'s errors (-ENOENT when the file is
 * absent); on failure fmi_devset_close() still cleans up.
 */
int fmi_devset_open(
    fmi_devset *s, const fmi_devset_type *type, const char *procfs) FM_WUR;

/*
 * Reads and parses the file as the new current tick; the old one becomes
 * the previous tick. Grows the arrays when the file lists more devices
 * than they hold, up to type->max. Returns 0, or a negative errno (of the
 * read or the parser, -E2BIG beyond type->max, -ENOMEM, -EBADF when not
 * open); a failure forgets both ticks, so that no delta spans it (it
 * would cover two intervals but be divided by one).
 */
int fmi_devset_read(fmi_devset *s) FM_WUR;

/*
 * Steps *pos (start at 0) to the next device of the current tick that the
 * previous tick also had and stores the increase of each of its counters
 * in ret_deltas[type->ncounters]. Devices new in this tick, and those with
 * a counter that went backwards (removed and re-added, or reset), are
 * skipped. Returns false when no device is left; always unless the last
 * two reads both succeeded.
 */
bool fmi_devset_next_delta(
    const fmi_devset *s, uint32_t *pos, uint64_t *ret_deltas);

/* Closes the file and frees the arrays. Idempotent; safe on a zeroed
 * struct and after a failed open. */
void fmi_devset_close(fmi_devset *s);

/* ---- bounded scanning (scan.c) ---------------------------------------
 *
 * The pieces the parsers share. Each reads only [p, end) (or a span's len
 * bytes), never past it, and never needs NUL termination. A cursor
 * (const char **p) is moved, and *ret written, only on success. Pure and
 * reentrant.
 */

/* A run of bytes inside a buffer, not NUL-terminated: a line, a token. */
typedef struct fmi_span {
	const char *p;
	size_t len;
} fmi_span;

/* Whether c separates fields: a space or a tab. */
static inline bool
fmi_scan_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Moves *p past the blanks at it. Inline: every parser calls it per
 * field. */
static inline void
fmi_scan_skip_blanks(const char **p, const char *end)
{
	const char *q = *p;

	while (q < end && fmi_scan_is_blank(*q))
		q++;
	*p = q;
}

/* Moves *p past the non-blank bytes at it (none when it is at a blank)
 * and returns how many there were: the key that starts a line. */
static inline size_t
fmi_scan_skip_word(const char **p, const char *end)
{
	const char *q = *p, *start = *p;

	while (q < end && !fmi_scan_is_blank(*q))
		q++;
	*p = q;
	return (size_t)(q - start);
}

/* Cuts the next line (without its '\n') off *rest into *ret; false when
 * rest is empty. A last line without '\n' is a line: "a\nb" is two lines,
 * "a\n" one, "\n" one empty one. */
bool fmi_scan_next_line(fmi_span *rest, fmi_span *ret);

/* Cuts the next blank-separated token off *line into *ret; false when only
 * blanks are left. */
bool fmi_scan_next_token(fmi_span *line, fmi_span *ret);

/* Whether the len bytes at s are exactly the C string word (a keyword
 * match: no prefix, no case folding). */
bool fmi_scan_is(const char *s, size_t len, const char *word);

/* fmi_scan_is() of a string literal lit (anything else does not compile),
 * folded into a length check and a few compares. */
#define FMI_SCAN_IS(s, len, lit)                                               \
	((len) == sizeof("" lit) - 1 &&                                        \
	    memcmp((s), "" lit, sizeof("" lit) - 1) == 0)

/* Whether the len bytes at s are ASCII digits, at least one. */
bool fmi_scan_is_digits(const char *s, size_t len);

/* Whether tok can be a device name: not empty, no blank, control byte,
 * NUL or DEL (a NUL would cut it short into a name another device may
 * own). Bytes above 0x7f are allowed. */
bool fmi_scan_is_name(fmi_span tok);

/* Checks that [p, end) is the end of a one-line file: empty, or a single
 * '\n'. -EINVAL when anything else is left. */
int fmi_scan_end(const char *p, const char *end) FM_WUR;

/* Consumes the byte c at *p. -EINVAL when *p is at another byte or at
 * end. */
int fmi_scan_char(const char **p, const char *end, char c) FM_WUR;

/* Scans the decimal digits at *p (at least one: no sign, no blank) into
 * *ret. -EINVAL without a digit or beyond UINT64_MAX. */
int fmi_scan_u64(const char **p, const char *end, uint64_t *ret) FM_WUR;

/* fmi_scan_u64(), but beyond UINT32_MAX is -EINVAL too. */
int fmi_scan_u32(const char **p, const char *end, uint32_t *ret) FM_WUR;

/* Skips blanks, then fmi_scan_u64(); the number must end the field: be
 * followed by end, a blank or a '\n'. -EINVAL otherwise. */
int fmi_scan_u64_field(const char **p, const char *end, uint64_t *ret) FM_WUR;

/*
 * Parses [p, end) holding one number and nothing else: blanks, digits,
 * blanks, then unit (e.g. "kB"; NULL for none; optional even when given,
 * and it may follow the digits without a blank) and blanks. -EINVAL for
 * anything else or beyond UINT64_MAX.
 */
int fmi_scan_u64_alone(
    const char *p, const char *end, const char *unit, uint64_t *ret) FM_WUR;

/* Parses a whole token of decimal digits (at least one) whose value is at
 * most max. -EINVAL otherwise. */
int fmi_scan_token_u64(fmi_span tok, uint64_t max, uint64_t *ret) FM_WUR;

/*
 * Parses the rest of a line, [p, end): blank-separated tokens, each of
 * them decimal digits (at least one) at most UINT64_MAX, as a loop of
 * fmi_scan_next_token() and fmi_scan_token_u64() would, in one pass.
 * Stores the first cap values in ret[cap] (NULL when cap is 0) and the
 * number of tokens, saturated at UINT32_MAX, in *ret_n. -EINVAL for any
 * other token; *ret_n is written only on success, ret[] may then hold
 * some of the values.
 */
int fmi_scan_u64_list(const char *p, const char *end, uint64_t *ret, size_t cap,
    uint32_t *ret_n) FM_WUR;

/* Fraction digits fmi_scan_decimal() keeps; more are checked and
 * ignored (the kernel prints two). */
#define FMI_SCAN_FRACTION_DIGITS_MAX 9

/* Scans the decimal at *p, "D+" or "D+.D+" (no sign, no exponent), into
 * *ret. -EINVAL without a digit at *p or after a '.', or for an integer
 * part beyond UINT64_MAX. */
int fmi_scan_decimal(const char **p, const char *end, double *ret) FM_WUR;

/* A key of a "key value" file whose value a parser keeps: one row of its
 * table, naming a uint64_t of the parser's output struct. */
typedef struct fmi_scan_key {
	const char *name;
	uint32_t bit; /* marks the field found in the output's has mask */
	size_t off;   /* of the uint64_t in the output struct */
} fmi_scan_key;

/* The row of keys[n] named by the len bytes at name, or NULL. */
const fmi_scan_key *fmi_scan_key_find(
    const fmi_scan_key *keys, size_t n, const char *name, size_t len);

/*
 * The first bytes of the names of a key table, so that a parser rejects
 * most lines of a long file (vmstat, meminfo) on their first byte, before
 * comparing any key. Names must not be empty.
 */
typedef struct fmi_scan_firsts {
	uint64_t bits[4]; /* bit c set: a name starts with byte c */
} fmi_scan_firsts;

/* Sets *ret to the first bytes of the names of keys[n]. */
void fmi_scan_firsts_init(
    fmi_scan_firsts *ret, const fmi_scan_key *keys, size_t n);

/* Adds the byte c to *f. */
static inline void
fmi_scan_firsts_add(fmi_scan_firsts *f, char c)
{
	unsigned char u = (unsigned char)c;

	f->bits[u >> 6] |= UINT64_C(1) << (u & 63);
}

/* Whether [p, end) is not empty and starts with a byte of *f. */
static inline bool
fmi_scan_firsts_has(const fmi_scan_firsts *f, const char *p, const char *end)
{
	unsigned char u;

	if (p == end)
		return false;
	u = (unsigned char)*p;
	return (f->bits[u >> 6] >> (u & 63)) & 1u;
}

/*
 * The row of keys[n] named by the first word of the line [p, end) (its
 * bytes up to a blank or end), or NULL: fmi_scan_key_find() of that word,
 * but without scanning a word that no key starts like, which keeps the
 * lines a parser does not use cheap. Names must not be empty nor hold a
 * blank. On a match *ret_after is set past the name.
 */
const fmi_scan_key *fmi_scan_key_find_word(const fmi_scan_key *keys, size_t n,
    const char *p, const char *end, const char **ret_after);

/*
 * The row of keys[n] named by the bytes of [p, end) before its first byte
 * sep (as a "Key:" of meminfo), or NULL, also when there is no sep: like
 * fmi_scan_key_find_word(), without searching for sep first. Names must
 * not be empty nor hold sep. On a match *ret_after is set past the sep.
 */
const fmi_scan_key *fmi_scan_key_find_before(const fmi_scan_key *keys, size_t n,
    const char *p, const char *end, char sep, const char **ret_after);

/* Whether [p, end) starts with the C string word (no byte past end is
 * read); *ret_after is then set past it. */
bool fmi_scan_starts_with(
    const char *p, const char *end, const char *word, const char **ret_after);

/* ---- pure parsers ---------------------------------------------------- */

/* /proc/stat. Times in USER_HZ ticks; guest time is already in user. */
typedef struct fmi_cpu_times {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
} fmi_cpu_times;

#define FMI_STAT_MAX_CPUS 8192

typedef struct fmi_stat {
	fmi_cpu_times total; /* the "cpu " line */
	uint32_t ncpu;       /* number of "cpuN" lines */
	uint64_t ctxt, intr, processes;
	uint32_t procs_running, procs_blocked;
} fmi_stat;

/*
 * Parses /proc/stat. Per-CPU lines go to cpus[N] for "cpuN" when
 * N < cpus_cap, and their index is marked in present[N] (both arrays
 * cpus_cap long; may be NULL when cpus_cap is 0). Fields a line lacks
 * (older kernels) read as 0, but the first four CPU fields are required.
 * Returns 0 or -EINVAL (no "cpu " line, a malformed line). On failure
 * *ret is untouched but cpus[] and present[] hold garbage.
 */
int fmi_stat_parse(const char *buf, size_t len, fmi_stat *ret,
    fmi_cpu_times *cpus, bool *present, uint32_t cpus_cap) FM_WUR;

/* /proc/loadavg */
typedef struct fmi_loadavg {
	double load1, load5, load15;
	uint32_t running, threads; /* "running/total" scheduling entities */
} fmi_loadavg;

int fmi_loadavg_parse(const char *buf, size_t len, fmi_loadavg *ret) FM_WUR;

/* /proc/pressure/{cpu,memory,io}. avg10 in percent as printed. */
typedef struct fmi_pressure {
	double some_avg10;
	double full_avg10;
	bool has_full; /* "full" line present (cpu has it since 5.13) */
} fmi_pressure;

int fmi_pressure_parse(const char *buf, size_t len, fmi_pressure *ret) FM_WUR;

/* /proc/meminfo, in kB. has bit set for each field found. */
enum {
	FMI_MEM_TOTAL = 1u << 0,
	FMI_MEM_AVAILABLE = 1u << 1,
	FMI_MEM_FREE = 1u << 2,
	FMI_MEM_CACHED = 1u << 3,
	FMI_MEM_BUFFERS = 1u << 4,
	FMI_MEM_DIRTY = 1u << 5,
	FMI_MEM_WRITEBACK = 1u << 6,
	FMI_MEM_COMMITTED = 1u << 7,
	FMI_MEM_SWAP_TOTAL = 1u << 8,
	FMI_MEM_SWAP_FREE = 1u << 9,
};

typedef struct fmi_meminfo {
	uint32_t has;
	uint64_t total, available, free, cached, buffers, dirty, writeback,
	    committed_as, swap_total, swap_free;
} fmi_meminfo;

int fmi_meminfo_parse(const char *buf, size_t len, fmi_meminfo *ret) FM_WUR;

/* /proc/vmstat. allocstall sums allocstall_* (or the old "allocstall"). */
enum {
	FMI_VM_PGMAJFAULT = 1u << 0,
	FMI_VM_PSWPIN = 1u << 1,
	FMI_VM_PSWPOUT = 1u << 2,
	FMI_VM_ALLOCSTALL = 1u << 3,
	FMI_VM_OOM_KILL = 1u << 4,
};

typedef struct fmi_vmstat {
	uint32_t has;
	uint64_t pgmajfault, pswpin, pswpout, allocstall, oom_kill;
} fmi_vmstat;

int fmi_vmstat_parse(const char *buf, size_t len, fmi_vmstat *ret) FM_WUR;

/* /proc/diskstats: whole disks only (see fmi_disk_is_counted). */
#define FMI_DEV_NAME_BYTES 32
#define FMI_DISKS_MAX      1024

typedef struct fmi_disk {
	char name[FMI_DEV_NAME_BYTES];
	uint32_t major, minor;
	uint64_t reads, read_sectors, read_ms;
	uint64_t writes, write_sectors, write_ms;
	uint64_t in_flight, io_ms, weighted_ms;
} fmi_disk;

/* Whether a block device name is a whole, physical-ish disk: not a
 * partition, loop, ram, zram, device-mapper, md or optical device. */
bool fmi_disk_is_counted(const char *name);

/* Parses /proc/diskstats, keeping counted disks only, into disks[cap];
 * *ret_n is their number. More than cap counted disks: -E2BIG. */
int fmi_diskstats_parse(const char *buf, size_t len, fmi_disk *disks,
    uint32_t cap, uint32_t *ret_n) FM_WUR;

/* /proc/net/dev: every interface but lo. */
#define FMI_NICS_MAX 1024

typedef struct fmi_nic {
	char name[FMI_DEV_NAME_BYTES];
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
} fmi_nic;

int fmi_netdev_parse(const char *buf, size_t len, fmi_nic *nics, uint32_t cap,
    uint32_t *ret_n) FM_WUR;

/* /proc/net/snmp, Tcp: and Udp: rows. */
enum {
	FMI_SNMP_TCP = 1u << 0,
	FMI_SNMP_UDP = 1u << 1,
};

typedef struct fmi_snmp {
	uint32_t has;
	uint64_t tcp_active_opens, tcp_passive_opens, tcp_attempt_fails,
	    tcp_estab_resets, tcp_curr_estab, tcp_in_segs, tcp_out_segs,
	    tcp_retrans_segs, tcp_in_errs, tcp_out_rsts;
	uint64_t udp_in_errors, udp_rcvbuf_errors, udp_sndbuf_errors;
} fmi_snmp;

int fmi_snmp_parse(const char *buf, size_t len, fmi_snmp *ret) FM_WUR;

/* /proc/sys/fs/file-nr */
typedef struct fmi_filenr {
	uint64_t allocated, unused, max;
} fmi_filenr;

int fmi_filenr_parse(const char *buf, size_t len, fmi_filenr *ret) FM_WUR;

/* /proc/self/mounts: real filesystems only. */
#define FMI_MOUNTS_MAX      512
#define FMI_MOUNT_DIR_BYTES 512
#define FMI_FSTYPE_BYTES    32

typedef struct fmi_mount {
	char dir[FMI_MOUNT_DIR_BYTES]; /* octal escapes (\040) decoded */
	char type[FMI_FSTYPE_BYTES];
} fmi_mount;

/* Whether fstype is a pseudo filesystem (proc, sysfs, tmpfs, overlay…)
 * whose fullness says nothing about the host's disks. */
bool fmi_fstype_is_pseudo(const char *type);

/* Whether fstype is a network filesystem (nfs, cifs, ceph, fuse.sshfs…). */
bool fmi_fstype_is_network(const char *type);

/* Parses mounts, skipping pseudo filesystems (and network ones unless
 * network), duplicates of a directory and over-long paths; keeps at most
 * cap (the rest are ignored: the count is returned in *ret_n). */
int fmi_mounts_parse(const char *buf, size_t len, bool network,
    fmi_mount *mounts, uint32_t cap, uint32_t *ret_n) FM_WUR;

/* Counts the process directories (all-digit names) in a buffer of
 * struct linux_dirent64 records as getdents64(2) returns them. -EINVAL on
 * a malformed record. */
int fmi_procdir_count(const void *buf, size_t len, uint32_t *ret_count) FM_WUR;

#endif
