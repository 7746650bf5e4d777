/* Tests for agent/collect/collect-snmp.c: the parser and the collector. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent/collect/collect-int.h"
#include "tests/agent/test-util.h"

#define TCP_HEADER                                                             \
	"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens "    \
	"AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs "       \
	"InErrs OutRsts InCsumErrors\n"
#define UDP_HEADER                                                             \
	"Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors "         \
	"SndbufErrors InCsumErrors IgnoredMulti MemErrors\n"

/* Parses s from a buffer of exactly its length, so that ASan sees any
 * read past the end. */
static int
parse_exact(const char *s, size_t len, fm_collect_snmp *ret)
{
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_snmp_parse(copy, len, ret);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_snmp *ret)
{
	return parse_exact(s, strlen(s), ret);
}

/* A Tcp and Udp pair with the given counters, in the kernel's layout. */
static void
snmp_text(char *buf, size_t size, uint64_t active, uint64_t passive,
    uint64_t fails, uint64_t estab_resets, uint64_t estab, uint64_t out,
    uint64_t retrans, uint64_t in_errs, uint64_t out_rsts,
    uint64_t udp_in_errors, uint64_t rcvbuf, uint64_t sndbuf)
{
	int n = snprintf(buf, size,
	    "Ip: Forwarding DefaultTTL\nIp: 2 64\n" TCP_HEADER
	    "Tcp: 1 200 120000 -1 %llu %llu %llu %llu %llu 7 %llu %llu %llu "
	    "%llu 0\n" UDP_HEADER "Udp: 1 0 %llu 1 %llu %llu 0 0 0\n",
	    (unsigned long long)active, (unsigned long long)passive,
	    (unsigned long long)fails, (unsigned long long)estab_resets,
	    (unsigned long long)estab, (unsigned long long)out,
	    (unsigned long long)retrans, (unsigned long long)in_errs,
	    (unsigned long long)out_rsts, (unsigned long long)udp_in_errors,
	    (unsigned long long)rcvbuf, (unsigned long long)sndbuf);

	assert_true(n > 0 && (size_t)n < size);
}

/* ---- parser --------------------------------------------------------- */

static void
test_collect_snmp_parses_fixture(void **state)
{
	fm_collect_snmp s;
	size_t len;
	char *buf = fm_test_read_file(T0 "/net/snmp", &len);

	assert_int_equal(parse_exact(buf, len, &s), 0);
	assert_int_equal(s.has, FM_COLLECT_SNMP_TCP | FM_COLLECT_SNMP_UDP);
	assert_int_equal(s.tcp_active_opens, 13);
	assert_int_equal(s.tcp_passive_opens, 2);
	assert_int_equal(s.tcp_attempt_fails, 0);
	assert_int_equal(s.tcp_estab_resets, 0);
	assert_int_equal(s.tcp_curr_estab, 0);
	assert_int_equal(s.tcp_in_segs, 493);
	assert_int_equal(s.tcp_out_segs, 326);
	assert_int_equal(s.tcp_retrans_segs, 0);
	assert_int_equal(s.tcp_in_errs, 0);
	assert_int_equal(s.tcp_out_rsts, 2);
	assert_int_equal(s.udp_in_errors, 0);
	assert_int_equal(s.udp_rcvbuf_errors, 0);
	assert_int_equal(s.udp_sndbuf_errors, 0);
	free(buf);
}

static void
test_collect_snmp_columns_by_name(void **state)
{
	fm_collect_snmp s;

	/* Reordered, with columns of a future kernel, MaxConn -1, no
	 * trailing newline; UdpLite is not Udp. */
	assert_int_equal(
	    parse_str(
	        "Tcp: NewThing OutRsts InErrs RetransSegs OutSegs InSegs "
	        "CurrEstab "
	        "EstabResets AttemptFails PassiveOpens ActiveOpens MaxConn\n"
	        "Tcp: -5 10 9 8 7 6 5 4 3 2 1 -1\n"
	        "UdpLite: InErrors RcvbufErrors SndbufErrors\n"
	        "UdpLite: 99 99 99\n"
	        "Udp: SndbufErrors Future RcvbufErrors InErrors\n"
	        "Udp: 13 -2 12 11",
	        &s),
	    0);
	assert_int_equal(s.has, FM_COLLECT_SNMP_TCP | FM_COLLECT_SNMP_UDP);
	assert_int_equal(s.tcp_active_opens, 1);
	assert_int_equal(s.tcp_passive_opens, 2);
	assert_int_equal(s.tcp_attempt_fails, 3);
	assert_int_equal(s.tcp_estab_resets, 4);
	assert_int_equal(s.tcp_curr_estab, 5);
	assert_int_equal(s.tcp_in_segs, 6);
	assert_int_equal(s.tcp_out_segs, 7);
	assert_int_equal(s.tcp_retrans_segs, 8);
	assert_int_equal(s.tcp_in_errs, 9);
	assert_int_equal(s.tcp_out_rsts, 10);
	assert_int_equal(s.udp_in_errors, 11);
	assert_int_equal(s.udp_rcvbuf_errors, 12);
	assert_int_equal(s.udp_sndbuf_errors, 13);
}

static void
test_collect_snmp_missing_columns(void **state)
{
	fm_collect_snmp s;

	/* Tcp lacking OutRsts: the Tcp bit stays clear. */
	assert_int_equal(parse_str("Tcp: ActiveOpens PassiveOpens AttemptFails "
	                           "EstabResets CurrEstab "
	                           "InSegs OutSegs RetransSegs InErrs\n"
	                           "Tcp: 1 2 3 4 5 6 7 8 9\n" UDP_HEADER
	                           "Udp: 1 2 3 4 5 6 7 8 9\n",
	                     &s),
	    0);
	assert_int_equal(s.has, FM_COLLECT_SNMP_UDP);
	assert_int_equal(s.udp_in_errors, 3);
	assert_int_equal(s.udp_rcvbuf_errors, 5);
	assert_int_equal(s.udp_sndbuf_errors, 6);
	/* No Udp at all; and nothing at all. */
	assert_int_equal(parse_str(TCP_HEADER "Tcp: 1 2 3 -1 5 6 7 8 9 10 11 "
	                                      "12 13 14 15\n",
	                     &s),
	    0);
	assert_int_equal(s.has, FM_COLLECT_SNMP_TCP);
	assert_int_equal(s.tcp_out_rsts, 14);
	assert_int_equal(parse_str("Ip: a b\nIp: 1 2\n\n", &s), 0);
	assert_int_equal(s.has, 0);
	assert_int_equal(parse_exact("", 0, &s), 0);
	assert_int_equal(s.has, 0);
}

static void
test_collect_snmp_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"hello world\n",
		"Tcp ActiveOpens\nTcp 1\n",
		":\n:\n",
		"Tcp:ActiveOpens\nTcp:1\n",
		/* A Tcp header without its values (truncated), at the end
		 * or followed by another protocol. */
		TCP_HEADER,
		TCP_HEADER UDP_HEADER "Udp: 1 2 3 4 5 6 7 8 9\n",
		/* Column and value counts differ. */
		"Tcp: ActiveOpens PassiveOpens\nTcp: 1\n",
		"Tcp: ActiveOpens\nTcp: 1 2\n",
		"Ip: a b\nIp: 1\n",
		/* Not integers, anywhere. */
		"Tcp: ActiveOpens\nTcp: x\n",
		"Tcp: ActiveOpens\nTcp: -\n",
		"Tcp: ActiveOpens\nTcp: 1.5\n",
		"Ip: a\nIp: --1\n",
		"Tcp: ActiveOpens\nTcp: 18446744073709551616\n",
		/* A negative counter we read. */
		"Tcp: ActiveOpens\nTcp: -1\n",
		/* Repeats. */
		"Tcp: ActiveOpens ActiveOpens\nTcp: 1 2\n",
		"Udp: InErrors\nUdp: 1\nUdp: InErrors\nUdp: 2\n",
	};
	static const char nul[] = "Tcp: Active\0Opens\nTcp: 1\n";
	fm_collect_snmp s;

	memset(&s, 0xa5, sizeof(s));
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		if (parse_str(bad[i], &s) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(parse_exact(nul, sizeof(nul) - 1, &s), -EINVAL);
	assert_int_equal(((unsigned char *)&s)[0], 0xa5);
}

static void
test_collect_snmp_huge_numbers(void **state)
{
	fm_collect_snmp s;

	assert_int_equal(parse_str("Tcp: MaxConn ActiveOpens\n"
	                           "Tcp: -18446744073709551615 "
	                           "18446744073709551615\n",
	                     &s),
	    0);
	assert_true(s.tcp_active_opens == UINT64_MAX);
	assert_int_equal(s.has, 0);
}

static void
test_collect_snmp_every_prefix(void **state)
{
	const char *paths[] = { T0 "/net/snmp", T1 "/net/snmp" };

	for (size_t p = 0; p < FM_ELEMENTSOF(paths); p++) {
		size_t len;
		char *buf = fm_test_read_file(paths[p], &len);

		for (size_t i = 0; i <= len; i++) {
			fm_collect_snmp s;
			int r = parse_exact(buf, i, &s);

			if (r != 0 && r != -EINVAL)
				fail_msg("prefix %zu: %d", i, r);
		}
		free(buf);
	}
}

/* ---- collector ------------------------------------------------------ */

static const fm_test_source source = { &fmi_collector_snmp, "net/snmp" };

static const enum fm_collect_feature rate_features[] = {
	FM_F_TCP_ACTIVE_OPENS,
	FM_F_TCP_PASSIVE_OPENS,
	FM_F_TCP_RETRANS,
	FM_F_TCP_RETRANS_RATIO,
	FM_F_TCP_RESETS,
	FM_F_TCP_ERRORS,
	FM_F_UDP_ERRORS,
};

static void
assert_rates_masked(const float *v)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(rate_features); i++)
		assert_masked(v[rate_features[i]]);
}

static void
test_collect_snmp_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

static void
test_collect_snmp_fixture_rates(void **state)
{
	size_t len;
	char *t0 = fm_test_read_file(T0 "/net/snmp", &len);
	char *t1 = fm_test_read_file(T1 "/net/snmp", &len);
	fm_test_fixture h;

	fm_test_fixture_open(&h, &source, t0);
	/* First read: the gauge only. */
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_near(h.v[FM_F_TCP_ESTAB], 0.0);
	assert_rates_masked(h.v);
	assert_masked_outside(h.v, FM_F_TCP_ACTIVE_OPENS, FM_F_UDP_ERRORS);
	/* Nothing moved in the captured second: real zeros, but no
	 * segment was sent, so there is no retransmission ratio. */
	assert_int_equal(fm_test_read_text(&h, SEC, t1), 0);
	assert_near(h.v[FM_F_TCP_ACTIVE_OPENS], 0.0);
	assert_near(h.v[FM_F_TCP_PASSIVE_OPENS], 0.0);
	assert_near(h.v[FM_F_TCP_RETRANS], 0.0);
	assert_masked(h.v[FM_F_TCP_RETRANS_RATIO]);
	assert_near(h.v[FM_F_TCP_RESETS], 0.0);
	assert_near(h.v[FM_F_TCP_ERRORS], 0.0);
	assert_near(h.v[FM_F_UDP_ERRORS], 0.0);
	assert_near(h.v[FM_F_TCP_ESTAB], 0.0);
	assert_masked_outside(h.v, FM_F_TCP_ACTIVE_OPENS, FM_F_UDP_ERRORS);
	fm_test_fixture_fini(&h);
	free(t0);
	free(t1);
}

static void
test_collect_snmp_rates(void **state)
{
	char t[2048];
	fm_test_fixture h;

	snmp_text(t, sizeof(t), 100, 200, 10, 20, 5, 1000, 10, 1, 30, 2, 3, 4);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_near(h.v[FM_F_TCP_ESTAB], log1p(5.0));
	/* Over 2 s. */
	snmp_text(t, sizeof(t), 120, 204, 12, 26, 9, 1400, 30, 3, 36, 4, 7, 8);
	assert_int_equal(fm_test_read_text(&h, 2 * SEC, t), 0);
	assert_near(h.v[FM_F_TCP_ACTIVE_OPENS], log1p(10.0));
	assert_near(h.v[FM_F_TCP_PASSIVE_OPENS], log1p(2.0));
	assert_near(h.v[FM_F_TCP_RETRANS], log1p(10.0));
	/* 20 retransmitted of 400 new + 20 retransmitted segments. */
	assert_near(h.v[FM_F_TCP_RETRANS_RATIO], 20.0 / 420.0);
	assert_near(h.v[FM_F_TCP_RESETS], log1p((6.0 + 6.0) / 2.0));
	assert_near(h.v[FM_F_TCP_ERRORS], log1p((2.0 + 2.0) / 2.0));
	assert_near(h.v[FM_F_UDP_ERRORS], log1p((2.0 + 4.0 + 4.0) / 2.0));
	assert_near(h.v[FM_F_TCP_ESTAB], log1p(9.0));
	assert_masked_outside(h.v, FM_F_TCP_ACTIVE_OPENS, FM_F_UDP_ERRORS);
	/* OutSegs counts only segments with new data, so a tick of mostly
	 * retransmissions (10 new, 30 again) is 30 of 40 sent: 0.75, where
	 * retransmitted / OutSegs would be 3. */
	snmp_text(t, sizeof(t), 120, 204, 12, 26, 9, 1410, 60, 3, 36, 4, 7, 8);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_TCP_RETRANS_RATIO], 0.75);
	fm_test_fixture_fini(&h);
}

/* The ratio is a fraction of all segments sent: 1 when only
 * retransmissions went out, masked when nothing did (0 / 0). */
static void
test_collect_snmp_retrans_ratio_bounds(void **state)
{
	char t[2048];
	fm_test_fixture h;

	snmp_text(t, sizeof(t), 100, 200, 10, 20, 5, 1000, 10, 1, 30, 2, 3, 4);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* No new data, 5 retransmissions. */
	snmp_text(t, sizeof(t), 100, 200, 10, 20, 5, 1000, 15, 1, 30, 2, 3, 4);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_TCP_RETRANS_RATIO], 1.0);
	assert_near(h.v[FM_F_TCP_RETRANS], log1p(5.0));
	/* Nothing sent at all. */
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked(h.v[FM_F_TCP_RETRANS_RATIO]);
	assert_near(h.v[FM_F_TCP_RETRANS], 0.0);
	/* New data only. */
	snmp_text(t, sizeof(t), 100, 200, 10, 20, 5, 1700, 15, 1, 30, 2, 3, 4);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_TCP_RETRANS_RATIO], 0.0);
	fm_test_fixture_fini(&h);
}

static void
test_collect_snmp_reset_and_absurd(void **state)
{
	char t[2048];
	fm_test_fixture h;

	snmp_text(t, sizeof(t), 100, 200, 10, 20, 5, 1000, 10, 1, 30, 2, 3, 4);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* ActiveOpens went back (a reset) and RetransSegs leapt by 2^40 in
	 * a second: those two masked, the rest fine. */
	snmp_text(t, sizeof(t), 50, 201, 10, 20, 5, 1100, 10 + (1ull << 40), 1,
	    30, 2, 3, 4);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked(h.v[FM_F_TCP_ACTIVE_OPENS]);
	assert_masked(h.v[FM_F_TCP_RETRANS]);
	assert_masked(h.v[FM_F_TCP_RETRANS_RATIO]);
	assert_near(h.v[FM_F_TCP_PASSIVE_OPENS], log1p(1.0));
	assert_near(h.v[FM_F_TCP_RESETS], 0.0);
	assert_near(h.v[FM_F_UDP_ERRORS], 0.0);
	/* A reset of one counter of a sum masks the sum. */
	snmp_text(t, sizeof(t), 50, 201, 10, 20, 5, 1100, 10 + (1ull << 40), 1,
	    29, 2, 3, 4);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked(h.v[FM_F_TCP_RESETS]);
	assert_near(h.v[FM_F_TCP_ERRORS], 0.0);
	fm_test_fixture_fini(&h);
}

static void
test_collect_snmp_failure_and_missing_proto(void **state)
{
	char t[2048];
	fm_test_fixture h;

	snmp_text(t, sizeof(t), 100, 200, 10, 20, 5, 1000, 10, 1, 30, 2, 3, 4);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* Truncated: an error, everything masked, and no rate across it. */
	assert_int_equal(fm_test_read_text(&h, SEC, TCP_HEADER), -EINVAL);
	assert_masked(h.v[FM_F_TCP_ESTAB]);
	assert_rates_masked(h.v);
	snmp_text(t, sizeof(t), 110, 200, 10, 20, 5, 1000, 10, 1, 30, 2, 3, 4);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_rates_masked(h.v);
	assert_near(h.v[FM_F_TCP_ESTAB], log1p(5.0));
	/* Udp only this tick: Tcp features masked, Udp ones computed. */
	assert_int_equal(
	    fm_test_read_text(&h, SEC, UDP_HEADER "Udp: 1 0 3 1 3 5 0 0 0\n"),
	    0);
	assert_masked(h.v[FM_F_TCP_ESTAB]);
	assert_masked(h.v[FM_F_TCP_ACTIVE_OPENS]);
	assert_near(h.v[FM_F_UDP_ERRORS], log1p(2.0));
	/* Tcp back: no previous Tcp, so no Tcp rate yet. */
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked(h.v[FM_F_TCP_ACTIVE_OPENS]);
	assert_near(h.v[FM_F_TCP_ESTAB], log1p(5.0));
	fm_test_fixture_fini(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_snmp_parses_fixture),
		cmocka_unit_test(test_collect_snmp_columns_by_name),
		cmocka_unit_test(test_collect_snmp_missing_columns),
		cmocka_unit_test(test_collect_snmp_rejects_garbage),
		cmocka_unit_test(test_collect_snmp_huge_numbers),
		cmocka_unit_test(test_collect_snmp_every_prefix),
		cmocka_unit_test(test_collect_snmp_missing_file),
		cmocka_unit_test(test_collect_snmp_fixture_rates),
		cmocka_unit_test(test_collect_snmp_rates),
		cmocka_unit_test(test_collect_snmp_retrans_ratio_bounds),
		cmocka_unit_test(test_collect_snmp_reset_and_absurd),
		cmocka_unit_test(test_collect_snmp_failure_and_missing_proto),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
