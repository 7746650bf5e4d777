/*
 * The /proc/net/snmp collector: TCP connection opens, retransmissions,
 * resets and errors per second, the retransmitted fraction of all
 * segments sent, established connections, and UDP errors per second.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "agent/collect/collect-int.h"

/* A column we read, by protocol and name, and where it goes. */
typedef struct column {
	uint32_t proto; /* FM_COLLECT_SNMP_TCP or FM_COLLECT_SNMP_UDP */
	const char *name;
	size_t offset; /* of the uint64_t in fm_collect_snmp */
} column;

static const column columns[] = {
	{ FM_COLLECT_SNMP_TCP, "ActiveOpens",
	    offsetof(fm_collect_snmp, tcp_active_opens) },
	{ FM_COLLECT_SNMP_TCP, "PassiveOpens",
	    offsetof(fm_collect_snmp, tcp_passive_opens) },
	{ FM_COLLECT_SNMP_TCP, "AttemptFails",
	    offsetof(fm_collect_snmp, tcp_attempt_fails) },
	{ FM_COLLECT_SNMP_TCP, "EstabResets",
	    offsetof(fm_collect_snmp, tcp_estab_resets) },
	{ FM_COLLECT_SNMP_TCP, "CurrEstab",
	    offsetof(fm_collect_snmp, tcp_curr_estab) },
	{ FM_COLLECT_SNMP_TCP, "InSegs",
	    offsetof(fm_collect_snmp, tcp_in_segs) },
	{ FM_COLLECT_SNMP_TCP, "OutSegs",
	    offsetof(fm_collect_snmp, tcp_out_segs) },
	{ FM_COLLECT_SNMP_TCP, "RetransSegs",
	    offsetof(fm_collect_snmp, tcp_retrans_segs) },
	{ FM_COLLECT_SNMP_TCP, "InErrs",
	    offsetof(fm_collect_snmp, tcp_in_errs) },
	{ FM_COLLECT_SNMP_TCP, "OutRsts",
	    offsetof(fm_collect_snmp, tcp_out_rsts) },
	{ FM_COLLECT_SNMP_UDP, "InErrors",
	    offsetof(fm_collect_snmp, udp_in_errors) },
	{ FM_COLLECT_SNMP_UDP, "RcvbufErrors",
	    offsetof(fm_collect_snmp, udp_rcvbuf_errors) },
	{ FM_COLLECT_SNMP_UDP, "SndbufErrors",
	    offsetof(fm_collect_snmp, udp_sndbuf_errors) },
};

/* Bit i set: columns[i] was found. */
#define COLUMNS_TCP 0x3ffu
#define COLUMNS_UDP 0x1c00u

static bool
span_is(fm_collect_span s, const char *word)
{
	return fm_collect_scan_is(s.p, s.len, word);
}

static bool
span_equal(fm_collect_span a, fm_collect_span b)
{
	return a.len == b.len && memcmp(a.p, b.p, a.len) == 0;
}

/*
 * Parses a decimal integer with an optional '-' (Tcp MaxConn is -1).
 * *ret_negative tells the sign; *ret is the magnitude, at most UINT64_MAX.
 * Anything else is -EINVAL.
 */
static int
parse_integer(fm_collect_span tok, bool *ret_negative, uint64_t *ret)
{
	bool negative = tok.len > 0 && tok.p[0] == '-';
	uint64_t v;

	if (negative) {
		tok.p++;
		tok.len--;
	}
	if (fm_collect_scan_token_u64(tok, UINT64_MAX, &v) < 0)
		return -EINVAL;
	*ret_negative = negative;
	*ret = v;
	return 0;
}

/*
 * Splits "Proto: rest" into its protocol name and the rest. A line with no
 * ':' in its first token, or an empty protocol name, is -EINVAL.
 */
static int
split_proto(
    fm_collect_span line, fm_collect_span *ret_proto, fm_collect_span *ret_rest)
{
	fm_collect_span tok;
	const char *colon;

	if (!fm_collect_scan_next_token(&line, &tok))
		return -EINVAL;
	colon = memchr(tok.p, ':', tok.len);
	if (!colon || colon == tok.p || colon != tok.p + tok.len - 1)
		return -EINVAL;
	ret_proto->p = tok.p;
	ret_proto->len = tok.len - 1;
	*ret_rest = line;
	return 0;
}

/* The index of the column proto/name in columns[], or -1. */
static int
column_find(uint32_t proto, fm_collect_span name)
{
	if (name.len == 0)
		return -1;
	for (size_t i = 0; i < FM_ELEMENTSOF(columns); i++) {
		if (columns[i].proto == proto &&
		    columns[i].name[0] == name.p[0] &&
		    span_is(name, columns[i].name))
			return (int)i;
	}
	return -1;
}

/* The number of blank-separated tokens in s. */
static uint32_t
count_tokens(fm_collect_span s)
{
	const char *p = s.p, *end = s.p + s.len;
	uint32_t n = 0;

	for (;;) {
		fm_collect_scan_skip_blanks(&p, end);
		if (p == end)
			return n;
		(void)fm_collect_scan_skip_word(&p, end);
		n++;
	}
}

/* Checks that every token of s is an integer (see parse_integer) and
 * counts them into *ret_n. -EINVAL otherwise. */
static int
check_integers(fm_collect_span s, uint32_t *ret_n)
{
	const char *p = s.p, *end = s.p + s.len;
	uint32_t n = 0;

	for (;;) {
		uint64_t v;

		fm_collect_scan_skip_blanks(&p, end);
		if (p == end)
			break;
		if (*p == '-')
			p++;
		if (fm_collect_scan_u64(&p, end, &v) < 0 ||
		    (p < end && !fm_collect_scan_is_blank(*p)))
			return -EINVAL;
		n++;
	}
	*ret_n = n;
	return 0;
}

/*
 * Matches a header line's column names against its value line's numbers.
 * Both must hold the same number of tokens, and every value must be an
 * integer. The columns of proto (0 for a protocol we do not read) go into
 * *snmp and their bits into *found; one of them negative is -EINVAL (they
 * are counters and a gauge).
 */
static int
parse_pair(uint32_t proto, fm_collect_span names, fm_collect_span values,
    fm_collect_snmp *snmp, uint32_t *found)
{
	fm_collect_span name, value;
	uint32_t n;

	/* A protocol we do not read: its names need no matching. */
	if (!proto) {
		if (check_integers(values, &n) < 0 || n != count_tokens(names))
			return -EINVAL;
		return 0;
	}
	for (;;) {
		bool has_name = fm_collect_scan_next_token(&names, &name);
		bool has_value = fm_collect_scan_next_token(&values, &value);
		bool negative;
		uint64_t v;
		int i;

		if (has_name != has_value)
			return -EINVAL;
		if (!has_name)
			return 0;
		if (parse_integer(value, &negative, &v) < 0)
			return -EINVAL;
		i = column_find(proto, name);
		if (i < 0)
			continue;
		if (negative || (*found & (1u << i)))
			return -EINVAL;
		*found |= 1u << i;
		memcpy((char *)snmp + columns[i].offset, &v, sizeof(v));
	}
}

static uint32_t
proto_of(fm_collect_span proto)
{
	if (span_is(proto, "Tcp"))
		return FM_COLLECT_SNMP_TCP;
	if (span_is(proto, "Udp"))
		return FM_COLLECT_SNMP_UDP;
	return 0;
}

/*
 * Parses /proc/net/snmp (see parse.h): pairs of lines, "Proto: names…"
 * then "Proto: values…", columns matched by name (kernels add columns).
 * Every line must read "Proto: …"; each header line must be followed by a
 * value line of the same protocol and token count, all integers (signed:
 * MaxConn is -1). A Tcp or Udp header without its value line (a truncated
 * file), a repeated Tcp or Udp pair, or a negative value in a column we
 * read is -EINVAL. FM_COLLECT_SNMP_TCP (FM_COLLECT_SNMP_UDP) is set in has when
 * the Tcp (Udp) pair holds every column fm_collect_snmp has for it; a pair
 * lacking one (no kernel since 2.6.18) leaves its bit clear, so its features
 * are masked rather than fed a zero. A file without those pairs parses with has
 * 0. Blank lines are ignored; a NUL byte anywhere is -EINVAL. *ret is written
 * only on success. Pure and reentrant.
 */
int
fm_collect_snmp_parse(const char *buf, size_t len, fm_collect_snmp *ret)
{
	fm_collect_span rest = { buf, len }, line, proto;
	fm_collect_span header_proto = { NULL, 0 }, header = { NULL, 0 };
	fm_collect_snmp snmp = { 0 };
	uint32_t found = 0, seen = 0;
	bool pending = false;

	while (fm_collect_scan_next_line(&rest, &line)) {
		fm_collect_span tok, body, probe = line;
		uint32_t p;
		int r;

		if (!fm_collect_scan_next_token(&probe, &tok))
			continue; /* blank */
		if (memchr(line.p, '\0', line.len))
			return -EINVAL;
		r = split_proto(line, &proto, &body);
		if (r < 0)
			return r;
		if (!pending) {
			header_proto = proto;
			header = body;
			pending = true;
			continue;
		}
		if (!span_equal(proto, header_proto)) {
			/* Only IcmpMsg comes in pairs the kernel may skip;
			 * a header of ours without values is a truncation. */
			if (proto_of(header_proto))
				return -EINVAL;
			header_proto = proto;
			header = body;
			continue;
		}
		pending = false;
		p = proto_of(proto);
		if (p & seen)
			return -EINVAL;
		seen |= p;
		r = parse_pair(p, header, body, &snmp, &found);
		if (r < 0)
			return r;
	}
	if (pending && proto_of(header_proto))
		return -EINVAL;
	if ((found & COLUMNS_TCP) == COLUMNS_TCP)
		snmp.has |= FM_COLLECT_SNMP_TCP;
	if ((found & COLUMNS_UDP) == COLUMNS_UDP)
		snmp.has |= FM_COLLECT_SNMP_UDP;
	*ret = snmp;
	return 0;
}

/* ---- the collector ---------------------------------------------------- */

typedef struct snmp_state {
	fmi_procfile file;
	fm_collect_snmp prev;
	bool has_prev;
} snmp_state;

/* The per-second increase of an SNMP counter (an unsigned long), or NAN
 * on a reset or an absurd rate. */
static double
counter_rate(uint64_t prev, uint64_t cur, int64_t dt_ns)
{
	return fmi_counter_rate(
	    prev, cur, FMI_ULONG_BITS, dt_ns, FMI_EVENTS_PER_SEC_MAX);
}

/* log1p(rate), masked when it is NAN or absurd. */
static void
set_rate(fmi_collect_ctx *ctx, enum fm_collect_feature f, double rate)
{
	fmi_feature_set_rate(ctx, f, rate, FMI_EVENTS_PER_SEC_MAX);
}

/*
 * Retransmitted segments over all segments sent in the tick,
 * retransmissions included: Linux counts in OutSegs only segments that
 * carry new data (RFC 1213), so the segments sent are OutSegs plus
 * RetransSegs, and the ratio is a fraction in [0, 1]. Masked when nothing
 * was sent (no ratio), a counter was reset, or the retransmission rate is
 * absurd.
 */
static double
retrans_ratio(const fm_collect_snmp *p, const fm_collect_snmp *c, int64_t dt_ns)
{
	uint64_t retrans, out;
	double sent;

	if (!fmi_counter_delta(p->tcp_retrans_segs, c->tcp_retrans_segs,
	        FMI_ULONG_BITS, &retrans) ||
	    !fmi_counter_delta(
	        p->tcp_out_segs, c->tcp_out_segs, FMI_ULONG_BITS, &out) ||
	    !(fmi_per_second(retrans, dt_ns) <= FMI_EVENTS_PER_SEC_MAX))
		return NAN;
	/* In double: the two deltas may sum beyond UINT64_MAX. */
	sent = (double)out + (double)retrans;
	return sent > 0.0 ? (double)retrans / sent : NAN;
}

static void
set_tcp_rates(
    fmi_collect_ctx *ctx, const fm_collect_snmp *p, const fm_collect_snmp *c)
{
	int64_t dt = ctx->dt_ns;

	set_rate(ctx, FM_F_TCP_ACTIVE_OPENS,
	    counter_rate(p->tcp_active_opens, c->tcp_active_opens, dt));
	set_rate(ctx, FM_F_TCP_PASSIVE_OPENS,
	    counter_rate(p->tcp_passive_opens, c->tcp_passive_opens, dt));
	set_rate(ctx, FM_F_TCP_RETRANS,
	    counter_rate(p->tcp_retrans_segs, c->tcp_retrans_segs, dt));
	fmi_feature_set(ctx, FM_F_TCP_RETRANS_RATIO, retrans_ratio(p, c, dt));
	set_rate(ctx, FM_F_TCP_RESETS,
	    counter_rate(p->tcp_estab_resets, c->tcp_estab_resets, dt) +
	        counter_rate(p->tcp_out_rsts, c->tcp_out_rsts, dt));
	set_rate(ctx, FM_F_TCP_ERRORS,
	    counter_rate(p->tcp_in_errs, c->tcp_in_errs, dt) +
	        counter_rate(p->tcp_attempt_fails, c->tcp_attempt_fails, dt));
}

static void
set_udp_rates(
    fmi_collect_ctx *ctx, const fm_collect_snmp *p, const fm_collect_snmp *c)
{
	int64_t dt = ctx->dt_ns;

	set_rate(ctx, FM_F_UDP_ERRORS,
	    counter_rate(p->udp_in_errors, c->udp_in_errors, dt) +
	        counter_rate(p->udp_rcvbuf_errors, c->udp_rcvbuf_errors, dt) +
	        counter_rate(p->udp_sndbuf_errors, c->udp_sndbuf_errors, dt));
}

static int
snmp_open(void *state, const fm_collect_sampler_config *cfg)
{
	snmp_state *s = state;

	return fmi_procfile_open(&s->file, cfg->procfs, "net/snmp");
}

/*
 * Sets the established-connection gauge from this tick and the rates
 * against the previous one (a protocol missing from either tick leaves
 * its features masked). A failed read or parse forgets the previous tick:
 * the next rate would otherwise span two intervals but be divided by one.
 */
static int
snmp_read(void *state, fmi_collect_ctx *ctx)
{
	snmp_state *s = state;
	fm_collect_snmp cur;
	uint32_t both;
	int r;

	r = fmi_procfile_read(&s->file);
	if (r >= 0)
		r = fm_collect_snmp_parse(s->file.buf, s->file.len, &cur);
	if (r < 0) {
		s->has_prev = false;
		return r;
	}
	if (cur.has & FM_COLLECT_SNMP_TCP)
		fmi_feature_set(
		    ctx, FM_F_TCP_ESTAB, log1p((double)cur.tcp_curr_estab));
	both = s->has_prev && ctx->dt_ns > 0 ? cur.has & s->prev.has : 0;
	if (both & FM_COLLECT_SNMP_TCP)
		set_tcp_rates(ctx, &s->prev, &cur);
	if (both & FM_COLLECT_SNMP_UDP)
		set_udp_rates(ctx, &s->prev, &cur);
	s->prev = cur;
	s->has_prev = true;
	return 0;
}

static void
snmp_close(void *state)
{
	snmp_state *s = state;

	fmi_procfile_close(&s->file);
	s->has_prev = false;
}

/* The /proc/net/snmp collector (see collect-int.h for the ops contract). */
const fmi_collector_ops fmi_collector_snmp = {
	.name = "snmp",
	.state_bytes = sizeof(snmp_state),
	.open = snmp_open,
	.read = snmp_read,
	.close = snmp_close,
};
