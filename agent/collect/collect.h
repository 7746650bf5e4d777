/*
 * agent/collect: host metric collection, the agent's first room.
 *
 * Collectors (collect-*.c, one per /proc source, each one ops table listed
 * in sampler.c) turn /proc and statvfs into one host-invariant feature
 * vector per tick: the same features, in the same order, on every host
 * whatever its core, disk or NIC count, so that a fleet can share a model.
 * A masked feature (its source is missing on this kernel, or the value is
 * not known yet, e.g. a rate on the first tick) is NAN, never a zero.
 *
 * Every public name says fm_collect_ (FM_COLLECT_), but for the feature
 * vector's index constants (FM_F_* and FM_FEATURE_COUNT), which every
 * room uses by the hundred and which keep their short names. This header
 * is the room's one public include: it includes parse.h, the bounded
 * scanners and the pure parsers of each /proc text, which the tests and
 * fuzzers call directly. Internals (procfs files, counters, the collector
 * ops, per-device counters) are in collect-int.h, for this folder and its
 * tests only.
 */
#ifndef FM_AGENT_COLLECT_H
#define FM_AGENT_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/collect/parse.h"
#include "common/common.h"

/* The size of a path or command buffer anywhere in the agent. */
#define FM_AGENT_PATH_BYTES 256

/* Bumped whenever a feature is added, removed, reordered or redefined.
 * Every model carries the schema version it was trained on. */
#define FM_COLLECT_SCHEMA_VERSION 1

/* The feature vector, in its fixed order. Names are stable (see schema.c). */
enum fm_collect_feature {
	/* /proc/stat */
	FM_F_CPU_USER,     /* user+nice, fraction of all CPUs */
	FM_F_CPU_SYSTEM,   /* system */
	FM_F_CPU_IOWAIT,   /* iowait */
	FM_F_CPU_IRQ,      /* irq+softirq */
	FM_F_CPU_STEAL,    /* steal */
	FM_F_CPU_IDLE,     /* idle */
	FM_F_CPU_BUSIEST,  /* busy fraction of the busiest core */
	FM_F_CPU_CTXT,     /* log1p(context switches/s per core) */
	FM_F_CPU_INTR,     /* log1p(interrupts/s per core) */
	FM_F_PROC_FORKS,   /* log1p(processes created/s) */
	FM_F_PROC_RUNNING, /* runnable tasks per core */
	FM_F_PROC_BLOCKED, /* tasks blocked on I/O per core */
	/* /proc/loadavg */
	FM_F_LOAD_1, /* 1-min load average per core */
	FM_F_LOAD_5,
	FM_F_LOAD_15,
	FM_F_PROC_THREADS, /* log1p(threads) */
	/* /proc (directory listing) */
	FM_F_PROC_COUNT, /* log1p(processes) */
	/* /proc/pressure/{cpu,memory,io}: avg10 as a fraction */
	FM_F_PSI_CPU_SOME,
	FM_F_PSI_MEM_SOME,
	FM_F_PSI_MEM_FULL,
	FM_F_PSI_IO_SOME,
	FM_F_PSI_IO_FULL,
	/* /proc/meminfo */
	FM_F_MEM_USED,      /* 1 - MemAvailable/MemTotal */
	FM_F_MEM_CACHE,     /* (Cached+Buffers)/MemTotal */
	FM_F_MEM_DIRTY,     /* (Dirty+Writeback)/MemTotal */
	FM_F_MEM_COMMITTED, /* Committed_AS/(MemTotal+SwapTotal) */
	FM_F_SWAP_USED,     /* 1 - SwapFree/SwapTotal; masked without swap */
	/* /proc/vmstat */
	FM_F_MEM_MAJFAULTS,   /* log1p(major faults/s) */
	FM_F_SWAP_IN,         /* log1p(pages swapped in/s) */
	FM_F_SWAP_OUT,        /* log1p(pages swapped out/s) */
	FM_F_MEM_ALLOCSTALLS, /* log1p(direct reclaim stalls/s) */
	FM_F_MEM_OOM_KILLS,   /* OOM kills/s */
	/* /proc/diskstats, whole disks, loop/ram/zram/partitions skipped */
	FM_F_DISK_READ_OPS, /* log1p(reads completed/s), all disks */
	FM_F_DISK_WRITE_OPS,
	FM_F_DISK_READ_BYTES, /* log1p(bytes read/s) */
	FM_F_DISK_WRITE_BYTES,
	FM_F_DISK_BUSIEST, /* busy (io_ticks) fraction of the busiest disk */
	FM_F_DISK_AWAIT,   /* log1p(mean ms per completed request) */
	FM_F_DISK_QUEUE,   /* log1p(mean requests in flight), all disks */
	/* /proc/net/dev, lo skipped */
	FM_F_NET_RX_BYTES, /* log1p(bytes/s), all NICs */
	FM_F_NET_TX_BYTES,
	FM_F_NET_RX_PACKETS, /* log1p(packets/s) */
	FM_F_NET_TX_PACKETS,
	FM_F_NET_ERRORS, /* log1p(rx+tx errors/s) */
	FM_F_NET_DROPS,  /* log1p(rx+tx drops/s) */
	/* /proc/net/snmp */
	FM_F_TCP_ACTIVE_OPENS, /* log1p(/s) */
	FM_F_TCP_PASSIVE_OPENS,
	FM_F_TCP_RETRANS,       /* log1p(retransmitted segments/s) */
	FM_F_TCP_RETRANS_RATIO, /* retransmitted / all sent, in [0, 1] */
	FM_F_TCP_RESETS,        /* log1p((EstabResets+OutRsts)/s) */
	FM_F_TCP_ESTAB,         /* log1p(established connections) */
	FM_F_TCP_ERRORS,        /* log1p((InErrs+AttemptFails)/s) */
	FM_F_UDP_ERRORS, /* log1p((InErrors+RcvbufErrors+SndbufErrors)/s) */
	/* /proc/sys/fs/file-nr */
	FM_F_FD_USED, /* allocated / max file handles */
	/* statvfs of real filesystems from /proc/self/mounts */
	FM_F_FS_FULLEST,        /* used fraction of the fullest filesystem */
	FM_F_FS_INODES_FULLEST, /* used inode fraction, fullest filesystem */
	FM_FEATURE_COUNT
};

typedef struct fm_collect_feature_info {
	const char *name;        /* stable, e.g. "cpu.user" */
	const char *unit;        /* e.g. "fraction", "log1p(1/s)" */
	const char *description; /* one line */
} fm_collect_feature_info;

/* The description of feature i (0 <= i < FM_FEATURE_COUNT), or NULL. */
const fm_collect_feature_info *fm_collect_feature_get(unsigned i);

/* The index of the feature named name, or -ENOENT. */
int fm_collect_feature_lookup(const char *name) FM_WUR;

/*
 * The signal feature i measures, as the index of the signal's first
 * feature (i itself for most). Features that are one signal seen two
 * ways (cpu.idle and cpu.busiest_core; a load average over three
 * spans; bytes and packets in one direction) share it, so a list of
 * the features behind an alarm names each signal once. i must be below
 * FM_FEATURE_COUNT.
 */
unsigned fm_collect_feature_signal(unsigned i);

/*
 * A typical standard deviation of feature i over a day of an ordinary
 * host, by its unit (0.05 for a fraction, 0.5 for a log1p rate, 0.25 per
 * core, 0.1 for a log1p count or a rate of rare events), and its own for
 * the fractions that stay small (file handles 0.001 of the maximum, the
 * fullest filesystem 0.01, iowait 0.02, ...): not a
 * measurement of any host, a prior a young model's scales lean on until
 * it has seen enough of its own (fm_learn_detector_set_young_prior()).
 * i must be below FM_FEATURE_COUNT.
 */
float fm_collect_feature_typical_scale(unsigned i);

/* Whether a feature value is masked (unknown). */
static inline bool
fm_collect_feature_is_masked(float v)
{
	return v != v; /* NaN */
}

/* One tick's output. */
typedef struct fm_collect_sample {
	int64_t mono_ns; /* CLOCK_MONOTONIC at the end of the read */
	int64_t real_ns; /* CLOCK_REALTIME at the end of the read */
	int64_t read_ns; /* how long the read took (CLOCK_MONOTONIC) */
	float v[FM_FEATURE_COUNT]; /* NAN = masked */
} fm_collect_sample;

/* ---- sampler: all collectors behind one call ------------------------- */

typedef struct fm_collect_sampler fm_collect_sampler;

typedef struct fm_collect_sampler_config {
	const char *procfs;     /* procfs root, "/proc" on a host */
	bool fs_network;        /* also statvfs network filesystems */
	uint32_t fs_refresh_ms; /* statvfs period (worker thread) */
	uint32_t fs_stale_ms;   /* mask fs features older than this */
	uint32_t slow_every;    /* read the slow sources every N reads */
} fm_collect_sampler_config;

/* Fills *cfg with the defaults (procfs "/proc", fs refresh 10 s, stale
 * after 30 s, network filesystems skipped, slow sources every 5th read).
 *
 * Slow sources are those whose kernel side costs most to produce and whose
 * features move slowly (vmstat, net/snmp, file-nr, the process count):
 * they are read on every slow_every-th call only, their rates averaged
 * over their own interval, and their last values repeated in between.
 * slow_every 1 reads everything every time. */
void fm_collect_sampler_config_init(fm_collect_sampler_config *cfg);

/*
 * Opens every collector's sources under cfg->procfs and starts the
 * filesystem worker thread. A source this kernel lacks is not an error:
 * its features stay masked, and it is named by fm_collect_sampler_missing().
 * On success *ret owns a new sampler. Errors: -ENOMEM, -EINVAL (bad
 * config), or an error from opening procfs itself (-ENOENT when
 * cfg->procfs has no "stat").
 */
int fm_collect_sampler_new(
    const fm_collect_sampler_config *cfg, fm_collect_sampler **ret) FM_WUR;

/* Stops the worker thread and frees everything. Accepts NULL; returns
 * NULL. */
fm_collect_sampler *fm_collect_sampler_free(fm_collect_sampler *s);

/*
 * Reads every source once and writes one sample into *ret. Rates are
 * computed against the previous call; on the first call they are masked.
 * Never allocates after the first call. Returns 0, or a negative errno
 * when no source at all could be read (the sample is then all masked).
 * Single-threaded: one caller at a time.
 */
int fm_collect_sampler_read(
    fm_collect_sampler *s, fm_collect_sample *ret) FM_WUR;

/* Collector names whose source was missing at start-up, as one
 * comma-separated string ("" when none). Valid while s lives. */
const char *fm_collect_sampler_missing(const fm_collect_sampler *s);

/* Present sources whose last read failed, comma-separated ("" when none).
 * Changes with each fm_collect_sampler_read(): the sampling thread only. */
const char *fm_collect_sampler_failing(const fm_collect_sampler *s);

#endif
