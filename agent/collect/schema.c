/*
 * The feature schema: stable names, units and descriptions, in the order
 * of enum fm_collect_feature. Changing anything here that changes a feature's
 * meaning requires bumping FM_COLLECT_SCHEMA_VERSION.
 */
#include <errno.h>
#include <string.h>

#include "agent/collect/collect.h"

#define F(id, n, u, d) [id] = { .name = n, .unit = u, .description = d }

static const fm_collect_feature_info features[FM_FEATURE_COUNT] = {
	F(FM_F_CPU_USER, "cpu.user", "fraction",
	    "CPU time in user mode (user+nice), fraction of all CPUs"),
	F(FM_F_CPU_SYSTEM, "cpu.system", "fraction",
	    "CPU time in kernel mode, fraction of all CPUs"),
	F(FM_F_CPU_IOWAIT, "cpu.iowait", "fraction",
	    "CPU time idle waiting for I/O, fraction of all CPUs"),
	F(FM_F_CPU_IRQ, "cpu.irq", "fraction",
	    "CPU time serving hard and soft interrupts, fraction of all CPUs"),
	F(FM_F_CPU_STEAL, "cpu.steal", "fraction",
	    "CPU time stolen by the hypervisor, fraction of all CPUs"),
	F(FM_F_CPU_IDLE, "cpu.idle", "fraction",
	    "CPU time idle, fraction of all CPUs"),
	F(FM_F_CPU_BUSIEST, "cpu.busiest_core", "fraction",
	    "Busy (non-idle, non-iowait) fraction of the busiest core"),
	F(FM_F_CPU_CTXT, "cpu.context_switches", "log1p(1/s/core)",
	    "Context switches per second per core"),
	F(FM_F_CPU_INTR, "cpu.interrupts", "log1p(1/s/core)",
	    "Interrupts serviced per second per core"),
	F(FM_F_PROC_FORKS, "proc.forks", "log1p(1/s)",
	    "Processes and threads created per second"),
	F(FM_F_PROC_RUNNING, "proc.runnable", "per core",
	    "Tasks in runnable state, per core"),
	F(FM_F_PROC_BLOCKED, "proc.blocked", "per core",
	    "Tasks blocked waiting for I/O, per core"),
	F(FM_F_LOAD_1, "load.1m", "per core", "1-minute load average per core"),
	F(FM_F_LOAD_5, "load.5m", "per core", "5-minute load average per core"),
	F(FM_F_LOAD_15, "load.15m", "per core",
	    "15-minute load average per core"),
	F(FM_F_PROC_THREADS, "proc.threads", "log1p(count)",
	    "Threads (kernel scheduling entities) in existence"),
	F(FM_F_PROC_COUNT, "proc.processes", "log1p(count)",
	    "Processes in existence"),
	F(FM_F_PSI_CPU_SOME, "psi.cpu.some", "fraction",
	    "Share of time some runnable task waited for a CPU (PSI avg10)"),
	F(FM_F_PSI_MEM_SOME, "psi.memory.some", "fraction",
	    "Share of time some task stalled on memory (PSI avg10)"),
	F(FM_F_PSI_MEM_FULL, "psi.memory.full", "fraction",
	    "Share of time all non-idle tasks stalled on memory (PSI avg10)"),
	F(FM_F_PSI_IO_SOME, "psi.io.some", "fraction",
	    "Share of time some task stalled on I/O (PSI avg10)"),
	F(FM_F_PSI_IO_FULL, "psi.io.full", "fraction",
	    "Share of time all non-idle tasks stalled on I/O (PSI avg10)"),
	F(FM_F_MEM_USED, "mem.used", "fraction",
	    "Memory in use: 1 - MemAvailable/MemTotal"),
	F(FM_F_MEM_CACHE, "mem.cache", "fraction",
	    "Page cache and buffers, fraction of MemTotal"),
	F(FM_F_MEM_DIRTY, "mem.dirty", "fraction",
	    "Dirty and writeback pages, fraction of MemTotal"),
	F(FM_F_MEM_COMMITTED, "mem.committed", "fraction",
	    "Committed_AS over MemTotal+SwapTotal (above 1: overcommitted)"),
	F(FM_F_SWAP_USED, "swap.used", "fraction",
	    "Swap in use, fraction of SwapTotal (masked without swap)"),
	F(FM_F_MEM_MAJFAULTS, "mem.major_faults", "log1p(1/s)",
	    "Major page faults (pages read from disk) per second"),
	F(FM_F_SWAP_IN, "swap.in", "log1p(pages/s)",
	    "Pages swapped in per second"),
	F(FM_F_SWAP_OUT, "swap.out", "log1p(pages/s)",
	    "Pages swapped out per second"),
	F(FM_F_MEM_ALLOCSTALLS, "mem.alloc_stalls", "log1p(1/s)",
	    "Allocations that stalled in direct reclaim per second"),
	F(FM_F_MEM_OOM_KILLS, "mem.oom_kills", "1/s",
	    "Processes killed by the OOM killer per second"),
	F(FM_F_DISK_READ_OPS, "disk.read_ops", "log1p(1/s)",
	    "Reads completed per second, all disks"),
	F(FM_F_DISK_WRITE_OPS, "disk.write_ops", "log1p(1/s)",
	    "Writes completed per second, all disks"),
	F(FM_F_DISK_READ_BYTES, "disk.read_bytes", "log1p(B/s)",
	    "Bytes read per second, all disks"),
	F(FM_F_DISK_WRITE_BYTES, "disk.write_bytes", "log1p(B/s)",
	    "Bytes written per second, all disks"),
	F(FM_F_DISK_BUSIEST, "disk.busiest_util", "fraction",
	    "Busy (I/O in progress) fraction of the busiest disk"),
	F(FM_F_DISK_AWAIT, "disk.await", "log1p(ms)",
	    "Mean time per completed request, queueing included, all disks"),
	F(FM_F_DISK_QUEUE, "disk.queue", "log1p(requests)",
	    "Mean number of requests in flight, all disks"),
	F(FM_F_NET_RX_BYTES, "net.rx_bytes", "log1p(B/s)",
	    "Bytes received per second, all interfaces but lo"),
	F(FM_F_NET_TX_BYTES, "net.tx_bytes", "log1p(B/s)",
	    "Bytes sent per second, all interfaces but lo"),
	F(FM_F_NET_RX_PACKETS, "net.rx_packets", "log1p(1/s)",
	    "Packets received per second, all interfaces but lo"),
	F(FM_F_NET_TX_PACKETS, "net.tx_packets", "log1p(1/s)",
	    "Packets sent per second, all interfaces but lo"),
	F(FM_F_NET_ERRORS, "net.errors", "log1p(1/s)",
	    "Receive and transmit errors per second, all interfaces but lo"),
	F(FM_F_NET_DROPS, "net.drops", "log1p(1/s)",
	    "Received and sent packets dropped per second, all interfaces but "
	    "lo"),
	F(FM_F_TCP_ACTIVE_OPENS, "tcp.active_opens", "log1p(1/s)",
	    "TCP connections opened by this host per second"),
	F(FM_F_TCP_PASSIVE_OPENS, "tcp.passive_opens", "log1p(1/s)",
	    "TCP connections accepted per second"),
	F(FM_F_TCP_RETRANS, "tcp.retransmits", "log1p(1/s)",
	    "TCP segments retransmitted per second"),
	F(FM_F_TCP_RETRANS_RATIO, "tcp.retransmit_ratio", "fraction",
	    "TCP segments retransmitted over all segments sent, "
	    "retransmissions included"),
	F(FM_F_TCP_RESETS, "tcp.resets", "log1p(1/s)",
	    "TCP resets sent and established connections reset per second"),
	F(FM_F_TCP_ESTAB, "tcp.established", "log1p(count)",
	    "TCP connections currently established"),
	F(FM_F_TCP_ERRORS, "tcp.errors", "log1p(1/s)",
	    "TCP segments received in error and failed connection attempts per "
	    "second"),
	F(FM_F_UDP_ERRORS, "udp.errors", "log1p(1/s)",
	    "UDP receive errors and buffer overruns per second"),
	F(FM_F_FD_USED, "fd.used", "fraction",
	    "Allocated file handles over the system-wide maximum"),
	F(FM_F_FS_FULLEST, "fs.fullest", "fraction",
	    "Used space of the fullest real filesystem (as df computes it)"),
	F(FM_F_FS_INODES_FULLEST, "fs.inodes_fullest", "fraction",
	    "Used inodes of the filesystem with the most inodes in use"),
};

const fm_collect_feature_info *
fm_collect_feature_get(unsigned i)
{
	return i < FM_FEATURE_COUNT ? &features[i] : NULL;
}

/* Features that are one signal, mapped to the signal's first feature;
 * those not listed are a signal of their own. */
static const struct {
	uint8_t feature, signal;
} same_signal[] = {
	{ FM_F_CPU_BUSIEST, FM_F_CPU_IDLE },
	{ FM_F_LOAD_5, FM_F_LOAD_1 },
	{ FM_F_LOAD_15, FM_F_LOAD_1 },
	{ FM_F_PROC_COUNT, FM_F_PROC_THREADS },
	{ FM_F_PSI_MEM_FULL, FM_F_PSI_MEM_SOME },
	{ FM_F_PSI_IO_FULL, FM_F_PSI_IO_SOME },
	{ FM_F_DISK_READ_BYTES, FM_F_DISK_READ_OPS },
	{ FM_F_DISK_WRITE_BYTES, FM_F_DISK_WRITE_OPS },
	{ FM_F_NET_RX_PACKETS, FM_F_NET_RX_BYTES },
	{ FM_F_NET_TX_PACKETS, FM_F_NET_TX_BYTES },
	{ FM_F_TCP_RETRANS_RATIO, FM_F_TCP_RETRANS },
};
_Static_assert(FM_FEATURE_COUNT <= 256, "same_signal holds uint8_t");

unsigned
fm_collect_feature_signal(unsigned i)
{
	for (size_t k = 0; k < FM_ELEMENTSOF(same_signal); k++) {
		if (same_signal[k].feature == i)
			return same_signal[k].signal;
	}
	return i;
}

/* Fractions that stay small on an ordinary host: their typical scale is
 * their own, not a fraction's. */
static const struct {
	uint8_t feature;
	float scale;
} small_fraction[] = {
	{ FM_F_CPU_IRQ, 0.01f },
	{ FM_F_CPU_STEAL, 0.01f },
	{ FM_F_CPU_IOWAIT, 0.02f },
	{ FM_F_MEM_DIRTY, 0.005f },
	{ FM_F_SWAP_USED, 0.01f },
	{ FM_F_TCP_RETRANS_RATIO, 0.01f },
	{ FM_F_FD_USED, 0.001f },
	{ FM_F_FS_FULLEST, 0.01f },
	{ FM_F_FS_INODES_FULLEST, 0.005f },
};

float
fm_collect_feature_typical_scale(unsigned i)
{
	const char *u = features[i].unit;

	for (size_t k = 0; k < FM_ELEMENTSOF(small_fraction); k++) {
		if (small_fraction[k].feature == i)
			return small_fraction[k].scale;
	}
	if (strcmp(u, "fraction") == 0)
		return 0.05f;
	if (strcmp(u, "per core") == 0)
		return 0.25f;
	if (strcmp(u, "log1p(count)") == 0 || strcmp(u, "1/s") == 0)
		return 0.1f;
	return 0.5f; /* log1p of a rate, a size or a time */
}

int
fm_collect_feature_lookup(const char *name)
{
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		if (strcmp(features[i].name, name) == 0)
			return (int)i;
	return -ENOENT;
}
