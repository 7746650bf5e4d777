/*
 * The /proc/net/dev collector: bytes and packets received and sent per
 * second, errors and drops per second, summed over every interface but lo.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "agent/collect/collect-int.h"

/* /proc/net/dev prints the u64 rtnl_link_stats64: no wrap below 64 bits. */
#define NIC_BITS 64

/* The sixteen fields every kernel since 2.2 prints: eight received, eight
 * sent. */
#define NIC_FIELDS 16

/* The two header lines ("Inter-|   Receive …", " face |bytes …"). */
#define HEADER_LINES 2

/*
 * Parses one interface line "  name: rx… tx…". Returns 1 and fills *ret
 * for a counted interface, 0 for lo, a blank line, or a name longer than
 * FM_COLLECT_DEV_NAME_BYTES - 1 (the kernel's IFNAMSIZ is shorter, and
 * truncating it could make it collide with another interface), -EINVAL for a
 * malformed line.
 */
static int
parse_line(fm_collect_span line, fm_collect_nic *ret)
{
	const char *p = line.p, *end = line.p + line.len;
	uint64_t v[NIC_FIELDS];
	const char *colon;
	fm_collect_span name;
	uint32_t n;
	fm_collect_nic nic;

	fm_collect_scan_skip_blanks(&p, end);
	if (p == end)
		return 0;
	/* Names never hold ':'; old kernels print no blank after it. */
	colon = memchr(p, ':', (size_t)(end - p));
	if (!colon)
		return -EINVAL;
	name = (fm_collect_span) { p, (size_t)(colon - p) };
	if (!fm_collect_scan_is_name(name))
		return -EINVAL;
	if (fm_collect_scan_u64_list(colon + 1, end, v, NIC_FIELDS, &n) < 0 ||
	    n < NIC_FIELDS)
		return -EINVAL;
	if (name.len >= FM_COLLECT_DEV_NAME_BYTES ||
	    (name.len == 2 && memcmp(name.p, "lo", 2) == 0))
		return 0;
	memset(&nic, 0, sizeof(nic));
	memcpy(nic.name, name.p, name.len);
	nic.rx_bytes = v[0];
	nic.rx_packets = v[1];
	nic.rx_errs = v[2];
	nic.rx_drop = v[3];
	nic.tx_bytes = v[8];
	nic.tx_packets = v[9];
	nic.tx_errs = v[10];
	nic.tx_drop = v[11];
	*ret = nic;
	return 1;
}

/* Interfaces that the validating pass keeps on the stack: a host with up
 * to this many is parsed once. */
#define STAGED_NICS 16

/* One pass over the file: counts the interfaces into *ret_n and stores the
 * first out_cap of them in out[]. */
static int
parse_all(const char *buf, size_t len, fm_collect_nic *out, uint32_t out_cap,
    uint32_t *ret_n)
{
	fm_collect_span rest = { buf, len }, line;
	unsigned lineno = 0;
	uint32_t n = 0;

	while (fm_collect_scan_next_line(&rest, &line)) {
		fm_collect_nic nic;
		int r;

		if (lineno < HEADER_LINES) {
			/* Interface names may hold '|', but these are the
			 * header lines and hold no ':'. */
			if (!memchr(line.p, '|', line.len) ||
			    memchr(line.p, ':', line.len))
				return -EINVAL;
			lineno++;
			continue;
		}
		r = parse_line(line, &nic);
		if (r < 0)
			return r;
		if (r == 0)
			continue;
		if (n == FM_COLLECT_NICS_MAX)
			return -E2BIG;
		if (n < out_cap)
			out[n] = nic;
		n++;
	}
	if (lineno == 0)
		return -EINVAL; /* not /proc/net/dev */
	*ret_n = n;
	return 0;
}

/*
 * Parses /proc/net/dev (see parse.h): the two header lines (each must
 * hold a '|'), then one line per interface with at least the sixteen
 * classic counters, all of them numbers. lo is skipped, and so is a name
 * longer than FM_COLLECT_DEV_NAME_BYTES - 1 (see parse_line). A file without
 * the header (also an empty one) or with any malformed line is -EINVAL; more
 * than cap (or FM_COLLECT_NICS_MAX) interfaces is -E2BIG. nics[] and *ret_n are
 * written only on success. Pure and reentrant.
 */
int
fm_collect_netdev_parse(const char *buf, size_t len, fm_collect_nic *nics,
    uint32_t cap, uint32_t *ret_n)
{
	fm_collect_nic staged[STAGED_NICS];
	uint32_t n;
	int r;

	/* Validate and count first, so that a failure leaves nics[]
	 * untouched; a second pass only when the interfaces did not all fit
	 * on the stack. */
	r = parse_all(buf, len, staged, STAGED_NICS, &n);
	if (r < 0)
		return r;
	if (n > cap)
		return -E2BIG;
	if (n > STAGED_NICS) {
		r = parse_all(buf, len, nics, n, &n);
		if (r < 0)
			return r;
	} else if (n > 0) {
		memcpy(nics, staged, n * sizeof(*nics));
	}
	*ret_n = n;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

/* The counters the features need: indexes into the deltas that
 * fmi_devset_next_delta() gives. */
enum {
	N_RX_BYTES,
	N_RX_PACKETS,
	N_RX_ERRS,
	N_RX_DROP,
	N_TX_BYTES,
	N_TX_PACKETS,
	N_TX_ERRS,
	N_TX_DROP,
	N_COUNT
};

static const fmi_devset_counter counters[N_COUNT] = {
	[N_RX_BYTES] = { offsetof(fm_collect_nic, rx_bytes), NIC_BITS },
	[N_RX_PACKETS] = { offsetof(fm_collect_nic, rx_packets), NIC_BITS },
	[N_RX_ERRS] = { offsetof(fm_collect_nic, rx_errs), NIC_BITS },
	[N_RX_DROP] = { offsetof(fm_collect_nic, rx_drop), NIC_BITS },
	[N_TX_BYTES] = { offsetof(fm_collect_nic, tx_bytes), NIC_BITS },
	[N_TX_PACKETS] = { offsetof(fm_collect_nic, tx_packets), NIC_BITS },
	[N_TX_ERRS] = { offsetof(fm_collect_nic, tx_errs), NIC_BITS },
	[N_TX_DROP] = { offsetof(fm_collect_nic, tx_drop), NIC_BITS },
};

static int
parse_nics(
    const char *buf, size_t len, void *nics, uint32_t cap, uint32_t *ret_n)
{
	return fm_collect_netdev_parse(buf, len, nics, cap, ret_n);
}

/* The same interface: the same name (a counter that went backwards tells
 * one deleted and re-created under it). */
static bool
nic_is_same(const void *a, const void *b)
{
	const fm_collect_nic *x = a, *y = b;

	return strcmp(x->name, y->name) == 0;
}

static const fmi_devset_type nic_type = {
	.rel = "net/dev",
	.dev_bytes = sizeof(fm_collect_nic),
	.max = FM_COLLECT_NICS_MAX,
	.parse = parse_nics,
	.is_same = nic_is_same,
	.counters = counters,
	.ncounters = N_COUNT,
};

/* Per-second sums over the interfaces present in both ticks. */
typedef struct nic_sums {
	uint32_t matched;
	double rx_bytes, tx_bytes, rx_packets, tx_packets, errors, drops;
} nic_sums;

static void
sums_add(nic_sums *sum, const uint64_t *d, int64_t dt_ns)
{
	sum->matched++;
	sum->rx_bytes += fmi_per_second(d[N_RX_BYTES], dt_ns);
	sum->tx_bytes += fmi_per_second(d[N_TX_BYTES], dt_ns);
	sum->rx_packets += fmi_per_second(d[N_RX_PACKETS], dt_ns);
	sum->tx_packets += fmi_per_second(d[N_TX_PACKETS], dt_ns);
	sum->errors += fmi_per_second(d[N_RX_ERRS], dt_ns) +
	    fmi_per_second(d[N_TX_ERRS], dt_ns);
	sum->drops += fmi_per_second(d[N_RX_DROP], dt_ns) +
	    fmi_per_second(d[N_TX_DROP], dt_ns);
}

static void
set_features(const fmi_devset *s, fmi_collect_ctx *ctx)
{
	nic_sums sum = { 0 };
	uint64_t d[N_COUNT];
	uint32_t pos = 0;

	while (fmi_devset_next_delta(s, &pos, d))
		sums_add(&sum, d, ctx->dt_ns);
	if (sum.matched == 0)
		return; /* no interfaces, or all of them new or reset */
	fmi_feature_set_rate(
	    ctx, FM_F_NET_RX_BYTES, sum.rx_bytes, FMI_BYTES_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_NET_TX_BYTES, sum.tx_bytes, FMI_BYTES_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_NET_RX_PACKETS, sum.rx_packets, FMI_EVENTS_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_NET_TX_PACKETS, sum.tx_packets, FMI_EVENTS_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_NET_ERRORS, sum.errors, FMI_EVENTS_PER_SEC_MAX);
	fmi_feature_set_rate(
	    ctx, FM_F_NET_DROPS, sum.drops, FMI_EVENTS_PER_SEC_MAX);
}

static int
netdev_open(void *state, const fm_collect_sampler_config *cfg)
{
	return fmi_devset_open(state, &nic_type, cfg->procfs);
}

/* Reads this tick and sums the deltas of the interfaces the previous tick
 * also had; a failed read or parse leaves no previous tick (see
 * fmi_devset_read). */
static int
netdev_read(void *state, fmi_collect_ctx *ctx)
{
	int r = fmi_devset_read(state);

	if (r < 0)
		return r;
	if (ctx->dt_ns > 0)
		set_features(state, ctx);
	return 0;
}

static void
netdev_close(void *state)
{
	fmi_devset_close(state);
}

/* The /proc/net/dev collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_netdev = {
	.name = "netdev",
	.state_bytes = sizeof(fmi_devset),
	.open = netdev_open,
	.read = netdev_read,
	.close = netdev_close,
};
