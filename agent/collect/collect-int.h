/*
 * agent/collect internals: procfs file handles, counter arithmetic, the
 * collector ops table and per-device counters: the I/O side of the
 * collectors, which feed what they read to the pure parsers (parse.h,
 * public through collect.h). Included only by agent/collect/ and its
 * tests; no other folder includes it.
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
fmi_feature_set(fmi_collect_ctx *ctx, enum fm_collect_feature f, double v)
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
fmi_feature_set_rate(fmi_collect_ctx *ctx, enum fm_collect_feature f,
    double rate, double max_per_sec)
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
	size_t dev_bytes; /* one record, e.g. sizeof(fm_collect_disk) */
	uint32_t max;     /* records held at most, e.g. FM_COLLECT_DISKS_MAX */
	/* The file's parser, with fm_collect_diskstats_parse()'s contract. */
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

#endif
