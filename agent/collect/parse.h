/*
 * agent/collect: the bounded scanners and the pure parsers built on them,
 * one per /proc text (bytes in, struct out, no I/O). They are part of the
 * room's public face, included by collect.h, because the tests and the
 * fuzzers call them directly (STYLE.md: parsers are pure so that they
 * can); the collectors (collect-int.h) feed them what they read.
 *
 * Parsers never read past len and never need NUL termination; they accept
 * anything (garbage gives -EINVAL, never a crash) and write their output
 * only on success.
 */
#ifndef FM_AGENT_COLLECT_PARSE_H
#define FM_AGENT_COLLECT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/common.h"

/* ---- bounded scanning (scan.c) ---------------------------------------
 *
 * The pieces the parsers share. Each reads only [p, end) (or a span's len
 * bytes), never past it, and never needs NUL termination. A cursor
 * (const char **p) is moved, and *ret written, only on success. Pure and
 * reentrant.
 */

/* A run of bytes inside a buffer, not NUL-terminated: a line, a token. */
typedef struct fm_collect_span {
	const char *p;
	size_t len;
} fm_collect_span;

/* Whether c separates fields: a space or a tab. */
static inline bool
fm_collect_scan_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Moves *p past the blanks at it. Inline: every parser calls it per
 * field. */
static inline void
fm_collect_scan_skip_blanks(const char **p, const char *end)
{
	const char *q = *p;

	while (q < end && fm_collect_scan_is_blank(*q))
		q++;
	*p = q;
}

/* Moves *p past the non-blank bytes at it (none when it is at a blank)
 * and returns how many there were: the key that starts a line. */
static inline size_t
fm_collect_scan_skip_word(const char **p, const char *end)
{
	const char *q = *p, *start = *p;

	while (q < end && !fm_collect_scan_is_blank(*q))
		q++;
	*p = q;
	return (size_t)(q - start);
}

/* Cuts the next line (without its '\n') off *rest into *ret; false when
 * rest is empty. A last line without '\n' is a line: "a\nb" is two lines,
 * "a\n" one, "\n" one empty one. */
bool fm_collect_scan_next_line(fm_collect_span *rest, fm_collect_span *ret);

/* Cuts the next blank-separated token off *line into *ret; false when only
 * blanks are left. */
bool fm_collect_scan_next_token(fm_collect_span *line, fm_collect_span *ret);

/* Whether the len bytes at s are exactly the C string word (a keyword
 * match: no prefix, no case folding). */
bool fm_collect_scan_is(const char *s, size_t len, const char *word);

/* fm_collect_scan_is() of a string literal lit (anything else does not
 * compile), folded into a length check and a few compares. */
#define FM_COLLECT_SCAN_IS(s, len, lit)                                        \
	((len) == sizeof("" lit) - 1 &&                                        \
	    memcmp((s), "" lit, sizeof("" lit) - 1) == 0)

/* Whether the len bytes at s are ASCII digits, at least one. */
bool fm_collect_scan_is_digits(const char *s, size_t len);

/* Whether tok can be a device name: not empty, no blank, control byte,
 * NUL or DEL (a NUL would cut it short into a name another device may
 * own). Bytes above 0x7f are allowed. */
bool fm_collect_scan_is_name(fm_collect_span tok);

/* Checks that [p, end) is the end of a one-line file: empty, or a single
 * '\n'. -EINVAL when anything else is left. */
int fm_collect_scan_end(const char *p, const char *end) FM_WUR;

/* Consumes the byte c at *p. -EINVAL when *p is at another byte or at
 * end. */
int fm_collect_scan_char(const char **p, const char *end, char c) FM_WUR;

/* Scans the decimal digits at *p (at least one: no sign, no blank) into
 * *ret. -EINVAL without a digit or beyond UINT64_MAX. */
int fm_collect_scan_u64(const char **p, const char *end, uint64_t *ret) FM_WUR;

/* fm_collect_scan_u64(), but beyond UINT32_MAX is -EINVAL too. */
int fm_collect_scan_u32(const char **p, const char *end, uint32_t *ret) FM_WUR;

/* Skips blanks, then fm_collect_scan_u64(); the number must end the field: be
 * followed by end, a blank or a '\n'. -EINVAL otherwise. */
int fm_collect_scan_u64_field(
    const char **p, const char *end, uint64_t *ret) FM_WUR;

/*
 * Parses [p, end) holding one number and nothing else: blanks, digits,
 * blanks, then unit (e.g. "kB"; NULL for none; optional even when given,
 * and it may follow the digits without a blank) and blanks. -EINVAL for
 * anything else or beyond UINT64_MAX.
 */
int fm_collect_scan_u64_alone(
    const char *p, const char *end, const char *unit, uint64_t *ret) FM_WUR;

/* Parses a whole token of decimal digits (at least one) whose value is at
 * most max. -EINVAL otherwise. */
int fm_collect_scan_token_u64(
    fm_collect_span tok, uint64_t max, uint64_t *ret) FM_WUR;

/*
 * Parses the rest of a line, [p, end): blank-separated tokens, each of
 * them decimal digits (at least one) at most UINT64_MAX, as a loop of
 * fm_collect_scan_next_token() and fm_collect_scan_token_u64() would, in one
 * pass. Stores the first cap values in ret[cap] (NULL when cap is 0) and the
 * number of tokens, saturated at UINT32_MAX, in *ret_n. -EINVAL for any
 * other token; *ret_n is written only on success, ret[] may then hold
 * some of the values.
 */
int fm_collect_scan_u64_list(const char *p, const char *end, uint64_t *ret,
    size_t cap, uint32_t *ret_n) FM_WUR;

/* Fraction digits fm_collect_scan_decimal() keeps; more are checked and
 * ignored (the kernel prints two). */
#define FM_COLLECT_SCAN_FRACTION_DIGITS_MAX 9

/* Scans the decimal at *p, "D+" or "D+.D+" (no sign, no exponent), into
 * *ret. -EINVAL without a digit at *p or after a '.', or for an integer
 * part beyond UINT64_MAX. */
int fm_collect_scan_decimal(
    const char **p, const char *end, double *ret) FM_WUR;

/* A key of a "key value" file whose value a parser keeps: one row of its
 * table, naming a uint64_t of the parser's output struct. */
typedef struct fm_collect_scan_key {
	const char *name;
	uint32_t bit; /* marks the field found in the output's has mask */
	size_t off;   /* of the uint64_t in the output struct */
} fm_collect_scan_key;

/* The row of keys[n] named by the len bytes at name, or NULL. */
const fm_collect_scan_key *fm_collect_scan_key_find(
    const fm_collect_scan_key *keys, size_t n, const char *name, size_t len);

/*
 * The first bytes of the names of a key table, so that a parser rejects
 * most lines of a long file (vmstat, meminfo) on their first byte, before
 * comparing any key. Names must not be empty.
 */
typedef struct fm_collect_scan_firsts {
	uint64_t bits[4]; /* bit c set: a name starts with byte c */
} fm_collect_scan_firsts;

/* Sets *ret to the first bytes of the names of keys[n]. */
void fm_collect_scan_firsts_init(
    fm_collect_scan_firsts *ret, const fm_collect_scan_key *keys, size_t n);

/* Adds the byte c to *f. */
static inline void
fm_collect_scan_firsts_add(fm_collect_scan_firsts *f, char c)
{
	unsigned char u = (unsigned char)c;

	f->bits[u >> 6] |= UINT64_C(1) << (u & 63);
}

/* Whether [p, end) is not empty and starts with a byte of *f. */
static inline bool
fm_collect_scan_firsts_has(
    const fm_collect_scan_firsts *f, const char *p, const char *end)
{
	unsigned char u;

	if (p == end)
		return false;
	u = (unsigned char)*p;
	return (f->bits[u >> 6] >> (u & 63)) & 1u;
}

/*
 * The row of keys[n] named by the first word of the line [p, end) (its
 * bytes up to a blank or end), or NULL: fm_collect_scan_key_find() of that
 * word, but without scanning a word that no key starts like, which keeps the
 * lines a parser does not use cheap. Names must not be empty nor hold a
 * blank. On a match *ret_after is set past the name.
 */
const fm_collect_scan_key *fm_collect_scan_key_find_word(
    const fm_collect_scan_key *keys, size_t n, const char *p, const char *end,
    const char **ret_after);

/*
 * The row of keys[n] named by the bytes of [p, end) before its first byte
 * sep (as a "Key:" of meminfo), or NULL, also when there is no sep: like
 * fm_collect_scan_key_find_word(), without searching for sep first. Names must
 * not be empty nor hold sep. On a match *ret_after is set past the sep.
 */
const fm_collect_scan_key *fm_collect_scan_key_find_before(
    const fm_collect_scan_key *keys, size_t n, const char *p, const char *end,
    char sep, const char **ret_after);

/* Whether [p, end) starts with the C string word (no byte past end is
 * read); *ret_after is then set past it. */
bool fm_collect_scan_starts_with(
    const char *p, const char *end, const char *word, const char **ret_after);

/* ---- pure parsers ---------------------------------------------------- */

/* /proc/stat. Times in USER_HZ ticks; guest time is already in user. */
typedef struct fm_collect_cpu_times {
	uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
} fm_collect_cpu_times;

#define FM_COLLECT_STAT_MAX_CPUS 8192

typedef struct fm_collect_stat {
	fm_collect_cpu_times total; /* the "cpu " line */
	uint32_t ncpu;              /* number of "cpuN" lines */
	uint64_t ctxt, intr, processes;
	uint32_t procs_running, procs_blocked;
} fm_collect_stat;

/*
 * Parses /proc/stat. Per-CPU lines go to cpus[N] for "cpuN" when
 * N < cpus_cap, and their index is marked in present[N] (both arrays
 * cpus_cap long; may be NULL when cpus_cap is 0). Fields a line lacks
 * (older kernels) read as 0, but the first four CPU fields are required.
 * Returns 0 or -EINVAL (no "cpu " line, a malformed line). On failure
 * *ret is untouched but cpus[] and present[] hold garbage.
 */
int fm_collect_stat_parse(const char *buf, size_t len, fm_collect_stat *ret,
    fm_collect_cpu_times *cpus, bool *present, uint32_t cpus_cap) FM_WUR;

/* /proc/loadavg */
typedef struct fm_collect_loadavg {
	double load1, load5, load15;
	uint32_t running, threads; /* "running/total" scheduling entities */
} fm_collect_loadavg;

int fm_collect_loadavg_parse(
    const char *buf, size_t len, fm_collect_loadavg *ret) FM_WUR;

/* /proc/pressure/{cpu,memory,io}. avg10 in percent as printed. */
typedef struct fm_collect_pressure {
	double some_avg10;
	double full_avg10;
	bool has_full; /* "full" line present (cpu has it since 5.13) */
} fm_collect_pressure;

int fm_collect_pressure_parse(
    const char *buf, size_t len, fm_collect_pressure *ret) FM_WUR;

/* /proc/meminfo, in kB. has bit set for each field found. */
enum {
	FM_COLLECT_MEM_TOTAL = 1u << 0,
	FM_COLLECT_MEM_AVAILABLE = 1u << 1,
	FM_COLLECT_MEM_FREE = 1u << 2,
	FM_COLLECT_MEM_CACHED = 1u << 3,
	FM_COLLECT_MEM_BUFFERS = 1u << 4,
	FM_COLLECT_MEM_DIRTY = 1u << 5,
	FM_COLLECT_MEM_WRITEBACK = 1u << 6,
	FM_COLLECT_MEM_COMMITTED = 1u << 7,
	FM_COLLECT_MEM_SWAP_TOTAL = 1u << 8,
	FM_COLLECT_MEM_SWAP_FREE = 1u << 9,
};

typedef struct fm_collect_meminfo {
	uint32_t has;
	uint64_t total, available, free, cached, buffers, dirty, writeback,
	    committed_as, swap_total, swap_free;
} fm_collect_meminfo;

int fm_collect_meminfo_parse(
    const char *buf, size_t len, fm_collect_meminfo *ret) FM_WUR;

/* /proc/vmstat. allocstall sums allocstall_* (or the old "allocstall"). */
enum {
	FM_COLLECT_VM_PGMAJFAULT = 1u << 0,
	FM_COLLECT_VM_PSWPIN = 1u << 1,
	FM_COLLECT_VM_PSWPOUT = 1u << 2,
	FM_COLLECT_VM_ALLOCSTALL = 1u << 3,
	FM_COLLECT_VM_OOM_KILL = 1u << 4,
};

typedef struct fm_collect_vmstat {
	uint32_t has;
	uint64_t pgmajfault, pswpin, pswpout, allocstall, oom_kill;
} fm_collect_vmstat;

int fm_collect_vmstat_parse(
    const char *buf, size_t len, fm_collect_vmstat *ret) FM_WUR;

/* /proc/diskstats: whole disks only (see fm_collect_disk_is_counted). */
#define FM_COLLECT_DEV_NAME_BYTES 32
#define FM_COLLECT_DISKS_MAX      1024

typedef struct fm_collect_disk {
	char name[FM_COLLECT_DEV_NAME_BYTES];
	uint32_t major, minor;
	uint64_t reads, read_sectors, read_ms;
	uint64_t writes, write_sectors, write_ms;
	uint64_t in_flight, io_ms, weighted_ms;
} fm_collect_disk;

/* Whether a block device name is a whole, physical-ish disk: not a
 * partition, loop, ram, zram, device-mapper, md or optical device. */
bool fm_collect_disk_is_counted(const char *name);

/* Parses /proc/diskstats, keeping counted disks only, into disks[cap];
 * *ret_n is their number. More than cap counted disks: -E2BIG. */
int fm_collect_diskstats_parse(const char *buf, size_t len,
    fm_collect_disk *disks, uint32_t cap, uint32_t *ret_n) FM_WUR;

/* /proc/net/dev: every interface but lo. */
#define FM_COLLECT_NICS_MAX 1024

typedef struct fm_collect_nic {
	char name[FM_COLLECT_DEV_NAME_BYTES];
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
} fm_collect_nic;

int fm_collect_netdev_parse(const char *buf, size_t len, fm_collect_nic *nics,
    uint32_t cap, uint32_t *ret_n) FM_WUR;

/* /proc/net/snmp, Tcp: and Udp: rows. */
enum {
	FM_COLLECT_SNMP_TCP = 1u << 0,
	FM_COLLECT_SNMP_UDP = 1u << 1,
};

typedef struct fm_collect_snmp {
	uint32_t has;
	uint64_t tcp_active_opens, tcp_passive_opens, tcp_attempt_fails,
	    tcp_estab_resets, tcp_curr_estab, tcp_in_segs, tcp_out_segs,
	    tcp_retrans_segs, tcp_in_errs, tcp_out_rsts;
	uint64_t udp_in_errors, udp_rcvbuf_errors, udp_sndbuf_errors;
} fm_collect_snmp;

int fm_collect_snmp_parse(
    const char *buf, size_t len, fm_collect_snmp *ret) FM_WUR;

/* /proc/sys/fs/file-nr */
typedef struct fm_collect_filenr {
	uint64_t allocated, unused, max;
} fm_collect_filenr;

int fm_collect_filenr_parse(
    const char *buf, size_t len, fm_collect_filenr *ret) FM_WUR;

/* /proc/self/mounts: real filesystems only. */
#define FM_COLLECT_MOUNTS_MAX      512
#define FM_COLLECT_MOUNT_DIR_BYTES 512
#define FM_COLLECT_FSTYPE_BYTES    32

typedef struct fm_collect_mount {
	char dir[FM_COLLECT_MOUNT_DIR_BYTES]; /* octal escapes (\040) decoded */
	char type[FM_COLLECT_FSTYPE_BYTES];
} fm_collect_mount;

/* Whether fstype is a pseudo filesystem (proc, sysfs, tmpfs, overlay…)
 * whose fullness says nothing about the host's disks. */
bool fm_collect_fstype_is_pseudo(const char *type);

/* Whether fstype is a network filesystem (nfs, cifs, ceph, fuse.sshfs…). */
bool fm_collect_fstype_is_network(const char *type);

/* Parses mounts, skipping pseudo filesystems (and network ones unless
 * network), duplicates of a directory and over-long paths; keeps at most
 * cap (the rest are ignored: the count is returned in *ret_n). */
int fm_collect_mounts_parse(const char *buf, size_t len, bool network,
    fm_collect_mount *mounts, uint32_t cap, uint32_t *ret_n) FM_WUR;

/* Counts the process directories (all-digit names) in a buffer of
 * struct linux_dirent64 records as getdents64(2) returns them. -EINVAL on
 * a malformed record. */
int fm_collect_procdir_count(
    const void *buf, size_t len, uint32_t *ret_count) FM_WUR;

#endif
