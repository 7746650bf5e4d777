/*
 * The /proc/net/dev collector: bytes and packets received and sent per
 * second, errors and drops per second, summed over every interface but lo.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent-int.h"

/* A rate above these is a broken counter, not a busy host: masked. */
#define BYTES_PER_SEC_MAX  1e13
#define EVENTS_PER_SEC_MAX 1e10

/* /proc/net/dev prints the u64 rtnl_link_stats64: no wrap below 64 bits. */
#define NIC_BITS 64

/* The sixteen fields every kernel since 2.2 prints: eight received, eight
 * sent. */
#define NIC_FIELDS 16

/* The two header lines ("Inter-|   Receive …", " face |bytes …"). */
#define HEADER_LINES 2

/* Interfaces the collector makes room for at first; it doubles on demand
 * up to FMI_NICS_MAX. */
#define NICS_INITIAL 16

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

static void
skip_blanks(span *line)
{
	while (line->len > 0 && is_blank(*line->p)) {
		line->p++;
		line->len--;
	}
}

/* Cuts the next blank-separated token off *line; false when none is
 * left. */
static bool
next_token(span *line, span *ret)
{
	skip_blanks(line);
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

/* Parses a token of decimal digits. Anything else, or a value beyond
 * UINT64_MAX, is -EINVAL. */
static int
parse_u64(span tok, uint64_t *ret)
{
	uint64_t v = 0;

	if (tok.len == 0)
		return -EINVAL;
	for (size_t i = 0; i < tok.len; i++) {
		unsigned d = (unsigned)(unsigned char)tok.p[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* Whether an interface name is one the kernel could print: no blank, no
 * control byte (a NUL would cut it short into a name another interface
 * may own), not empty. */
static bool
name_is_valid(span tok)
{
	if (tok.len == 0)
		return false;
	for (size_t i = 0; i < tok.len; i++) {
		unsigned char c = (unsigned char)tok.p[i];

		if (c < 0x21 || c == 0x7f)
			return false;
	}
	return true;
}

/*
 * Parses one interface line "  name: rx… tx…". Returns 1 and fills *ret
 * for a counted interface, 0 for lo, a blank line, or a name longer than
 * FMI_DEV_NAME_BYTES - 1 (the kernel's IFNAMSIZ is shorter, and truncating
 * it could make it collide with another interface), -EINVAL for a
 * malformed line.
 */
static int
parse_line(span line, fmi_nic *ret)
{
	uint64_t v[NIC_FIELDS];
	const char *colon;
	unsigned n = 0;
	span name, tok;
	fmi_nic nic;

	skip_blanks(&line);
	if (line.len == 0)
		return 0;
	/* Names never hold ':'; old kernels print no blank after it. */
	colon = memchr(line.p, ':', line.len);
	if (!colon)
		return -EINVAL;
	name.p = line.p;
	name.len = (size_t)(colon - line.p);
	if (!name_is_valid(name))
		return -EINVAL;
	line.p = colon + 1;
	line.len -= name.len + 1;
	while (next_token(&line, &tok)) {
		uint64_t x;

		if (parse_u64(tok, &x) < 0)
			return -EINVAL;
		if (n < NIC_FIELDS)
			v[n] = x;
		if (n < NIC_FIELDS + 1)
			n++;
	}
	if (n < NIC_FIELDS)
		return -EINVAL;
	if (name.len >= FMI_DEV_NAME_BYTES ||
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

/* One pass over the file: counts the interfaces into *ret_n and, when nics
 * is not NULL, stores them (the caller has checked that they fit). */
static int
parse_all(const char *buf, size_t len, fmi_nic *nics, uint32_t *ret_n)
{
	span rest = { buf, len }, line;
	unsigned lineno = 0;
	uint32_t n = 0;

	while (next_line(&rest, &line)) {
		fmi_nic nic;
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
		if (n == FMI_NICS_MAX)
			return -E2BIG;
		if (nics)
			nics[n] = nic;
		n++;
	}
	if (lineno == 0)
		return -EINVAL; /* not /proc/net/dev */
	*ret_n = n;
	return 0;
}

/*
 * Parses /proc/net/dev (see agent-int.h): the two header lines (each must
 * hold a '|'), then one line per interface with at least the sixteen
 * classic counters, all of them numbers. lo is skipped, and so is a name
 * longer than FMI_DEV_NAME_BYTES - 1 (see parse_line). A file without the
 * header (also an empty one) or with any malformed line is -EINVAL; more
 * than cap (or FMI_NICS_MAX) interfaces is -E2BIG. nics[] and *ret_n are
 * written only on success. Pure and reentrant.
 */
int
fmi_netdev_parse(
    const char *buf, size_t len, fmi_nic *nics, uint32_t cap, uint32_t *ret_n)
{
	uint32_t n;
	int r;

	/* Validate and count first, so that a failure leaves nics[]
	 * untouched. */
	r = parse_all(buf, len, NULL, &n);
	if (r < 0)
		return r;
	if (n > cap)
		return -E2BIG;
	r = parse_all(buf, len, nics, &n);
	if (r < 0)
		return r;
	*ret_n = n;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

typedef struct netdev_state {
	bool is_init; /* file initialised: close may touch it */
	fmi_procfile file;
	fmi_nic *prev; /* cap each; prev_n of prev hold the last tick */
	fmi_nic *cur;
	uint32_t cap;
	uint32_t prev_n;
	bool has_prev;
} netdev_state;

/* The movement of one interface over a tick. */
typedef struct nic_delta {
	uint64_t rx_bytes, rx_packets, rx_errs, rx_drop;
	uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
} nic_delta;

/* Per-second sums over the interfaces present in both ticks. */
typedef struct nic_sums {
	uint32_t matched;
	double rx_bytes, tx_bytes, rx_packets, tx_packets, errors, drops;
} nic_sums;

/* The previous tick's entry for cur[i]: usually at the same index. */
static const fmi_nic *
find_prev(const netdev_state *s, uint32_t i)
{
	const fmi_nic *c = &s->cur[i];

	if (i < s->prev_n && strcmp(s->prev[i].name, c->name) == 0)
		return &s->prev[i];
	for (uint32_t j = 0; j < s->prev_n; j++) {
		if (strcmp(s->prev[j].name, c->name) == 0)
			return &s->prev[j];
	}
	return NULL;
}

/* False when any counter went backwards: the interface was removed and
 * re-created under the same name, or its driver reset its counters. */
static bool
nic_delta_of(const fmi_nic *p, const fmi_nic *c, nic_delta *ret)
{
	nic_delta d;

	if (!fmi_counter_delta(
	        p->rx_bytes, c->rx_bytes, NIC_BITS, &d.rx_bytes) ||
	    !fmi_counter_delta(
	        p->rx_packets, c->rx_packets, NIC_BITS, &d.rx_packets) ||
	    !fmi_counter_delta(p->rx_errs, c->rx_errs, NIC_BITS, &d.rx_errs) ||
	    !fmi_counter_delta(p->rx_drop, c->rx_drop, NIC_BITS, &d.rx_drop) ||
	    !fmi_counter_delta(
	        p->tx_bytes, c->tx_bytes, NIC_BITS, &d.tx_bytes) ||
	    !fmi_counter_delta(
	        p->tx_packets, c->tx_packets, NIC_BITS, &d.tx_packets) ||
	    !fmi_counter_delta(p->tx_errs, c->tx_errs, NIC_BITS, &d.tx_errs) ||
	    !fmi_counter_delta(p->tx_drop, c->tx_drop, NIC_BITS, &d.tx_drop))
		return false;
	*ret = d;
	return true;
}

static void
sums_add(nic_sums *sum, const nic_delta *d, int64_t dt_ns)
{
	sum->matched++;
	sum->rx_bytes += fmi_per_second(d->rx_bytes, dt_ns);
	sum->tx_bytes += fmi_per_second(d->tx_bytes, dt_ns);
	sum->rx_packets += fmi_per_second(d->rx_packets, dt_ns);
	sum->tx_packets += fmi_per_second(d->tx_packets, dt_ns);
	sum->errors += fmi_per_second(d->rx_errs, dt_ns) +
	    fmi_per_second(d->tx_errs, dt_ns);
	sum->drops += fmi_per_second(d->rx_drop, dt_ns) +
	    fmi_per_second(d->tx_drop, dt_ns);
}

/* log1p(rate), masked when the rate is beyond max. */
static void
set_rate(fmi_collect_ctx *ctx, enum fm_feature f, double rate, double max)
{
	fmi_feature_set(ctx, f, rate <= max ? fmi_log1p_rate(rate) : NAN);
}

static void
set_features(const netdev_state *s, uint32_t n, fmi_collect_ctx *ctx)
{
	nic_sums sum = { 0 };
	nic_delta d;

	for (uint32_t i = 0; i < n; i++) {
		const fmi_nic *p = find_prev(s, i);

		if (p && nic_delta_of(p, &s->cur[i], &d))
			sums_add(&sum, &d, ctx->dt_ns);
	}
	if (sum.matched == 0)
		return; /* no interfaces, or all of them new or reset */
	set_rate(ctx, FM_F_NET_RX_BYTES, sum.rx_bytes, BYTES_PER_SEC_MAX);
	set_rate(ctx, FM_F_NET_TX_BYTES, sum.tx_bytes, BYTES_PER_SEC_MAX);
	set_rate(ctx, FM_F_NET_RX_PACKETS, sum.rx_packets, EVENTS_PER_SEC_MAX);
	set_rate(ctx, FM_F_NET_TX_PACKETS, sum.tx_packets, EVENTS_PER_SEC_MAX);
	set_rate(ctx, FM_F_NET_ERRORS, sum.errors, EVENTS_PER_SEC_MAX);
	set_rate(ctx, FM_F_NET_DROPS, sum.drops, EVENTS_PER_SEC_MAX);
}

/* Doubles the interface arrays (up to FMI_NICS_MAX), keeping the last
 * tick. */
static int
grow(netdev_state *s)
{
	uint32_t cap;
	fmi_nic *p;

	if (s->cap >= FMI_NICS_MAX)
		return -E2BIG;
	cap = s->cap > FMI_NICS_MAX / 2 ? FMI_NICS_MAX : 2 * s->cap;
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
netdev_open(void *state, const fm_sampler_config *cfg)
{
	netdev_state *s = state;

	fmi_procfile_init(&s->file);
	s->is_init = true;
	s->prev = calloc(NICS_INITIAL, sizeof(*s->prev));
	s->cur = calloc(NICS_INITIAL, sizeof(*s->cur));
	if (!s->prev || !s->cur)
		return -ENOMEM;
	s->cap = NICS_INITIAL;
	return fmi_procfile_open(&s->file, cfg->procfs, "net/dev");
}

/*
 * Parses this tick into cur, computes the features against prev, and
 * swaps the two. A failed read or parse forgets the previous tick: the
 * next rate would otherwise span two intervals but be divided by one.
 */
static int
netdev_read(void *state, fmi_collect_ctx *ctx)
{
	netdev_state *s = state;
	fmi_nic *t;
	uint32_t n;
	int r;

	if (!s->cur)
		return -EBADF;
	r = fmi_procfile_read(&s->file);
	while (r >= 0) {
		r = fmi_netdev_parse(
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
netdev_close(void *state)
{
	netdev_state *s = state;

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

/* The /proc/net/dev collector (see agent-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_netdev = {
	.name = "netdev",
	.state_bytes = sizeof(netdev_state),
	.open = netdev_open,
	.read = netdev_read,
	.close = netdev_close,
};
