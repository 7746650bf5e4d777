/*
 * agent internals: procfs file handles, counter arithmetic, the pure
 * parsers (bytes in, struct out) and the collector ops table. Included only
 * by agent/ and its tests; no other folder includes it.
 *
 * Parsers never read past len and never need NUL termination; they accept
 * anything (garbage gives -EINVAL, never a crash) and write their output
 * only on success.
 */
#ifndef FM_AGENT_INT_H
#define FM_AGENT_INT_H

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"

/* ---- procfs files: opened once, re-read with pread(…, 0) ------------- */

#define FMI_PROCFILE_MAX_BYTES (4u << 20) /* cap on one file's size */

typedef struct fmi_procfile {
	int fd;      /* -1 when closed */
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

/* Closes f and frees its buffer. Idempotent; safe on a zeroed struct only
 * after fmi_procfile_init(). */
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

/*
 * A collector: one source, one file agent/collect-<name>.c. The sampler
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
	int (*open)(void *state, const fm_sampler_config *cfg);
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
