/* Tests for agent/collect/collect-netdev.c: the parser and the collector. */
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

#define HEADER                                                                 \
	"Inter-|   Receive                                                |  " \
	"Transmit\n"                                                           \
	" face |bytes    packets errs drop fifo frame compressed multicast|"   \
	"bytes    packets errs drop fifo colls carrier compressed\n"

/* Parses s from a buffer of exactly its length, so that ASan sees any
 * read past the end. */
static int
parse_exact(const char *s, size_t len, fm_collect_nic *nics, uint32_t cap,
    uint32_t *ret_n)
{
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_netdev_parse(copy, len, nics, cap, ret_n);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_nic *nics, uint32_t cap, uint32_t *ret_n)
{
	return parse_exact(s, strlen(s), nics, cap, ret_n);
}

/* One interface line, in the kernel's layout. */
static size_t
nic_line(char *buf, size_t size, const char *name, uint64_t rx_bytes,
    uint64_t rx_packets, uint64_t rx_errs, uint64_t rx_drop, uint64_t tx_bytes,
    uint64_t tx_packets, uint64_t tx_errs, uint64_t tx_drop)
{
	int n = snprintf(buf, size,
	    "%6s: %7llu %7llu %4llu %4llu    0     0          0         0 "
	    "%8llu %7llu %4llu %4llu    0     0       0          0\n",
	    name, (unsigned long long)rx_bytes, (unsigned long long)rx_packets,
	    (unsigned long long)rx_errs, (unsigned long long)rx_drop,
	    (unsigned long long)tx_bytes, (unsigned long long)tx_packets,
	    (unsigned long long)tx_errs, (unsigned long long)tx_drop);

	assert_true(n > 0 && (size_t)n < size);
	return (size_t)n;
}

/* ---- parser --------------------------------------------------------- */

static void
test_collect_netdev_parses_fixture(void **state)
{
	fm_collect_nic nics[8];
	uint32_t n = 99;
	size_t len;
	char *buf = fm_test_read_file(T0 "/net/dev", &len);

	/* lo is skipped; ifb0, ifb1 and eth0 remain, in file order. */
	assert_int_equal(parse_exact(buf, len, nics, 8, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(nics[0].name, "ifb0");
	assert_string_equal(nics[1].name, "ifb1");
	assert_string_equal(nics[2].name, "eth0");
	assert_int_equal(nics[2].rx_bytes, 19283852);
	assert_int_equal(nics[2].rx_packets, 493);
	assert_int_equal(nics[2].rx_errs, 0);
	assert_int_equal(nics[2].rx_drop, 0);
	assert_int_equal(nics[2].tx_bytes, 28524);
	assert_int_equal(nics[2].tx_packets, 333);
	assert_int_equal(nics[2].tx_errs, 0);
	assert_int_equal(nics[2].tx_drop, 0);
	assert_int_equal(nics[0].rx_bytes, 0);
	free(buf);
}

static void
test_collect_netdev_field_positions(void **state)
{
	fm_collect_nic nics[2];
	uint32_t n = 0;

	/* Every field distinct, to pin each one's position; old kernels
	 * print no blank after the colon; extra fields are checked and
	 * ignored. */
	assert_int_equal(parse_str(HEADER "eth0:1 2 3 4 5 6 7 8 9 10 11 12 13 "
	                                  "14 15 16 17\n",
	                     nics, 2, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(nics[0].rx_bytes, 1);
	assert_int_equal(nics[0].rx_packets, 2);
	assert_int_equal(nics[0].rx_errs, 3);
	assert_int_equal(nics[0].rx_drop, 4);
	assert_int_equal(nics[0].tx_bytes, 9);
	assert_int_equal(nics[0].tx_packets, 10);
	assert_int_equal(nics[0].tx_errs, 11);
	assert_int_equal(nics[0].tx_drop, 12);
	/* Names may hold '|' and other printable bytes. */
	assert_int_equal(parse_str(HEADER " a|b.1: 1 2 3 4 5 6 7 8 9 10 11 12 "
	                                  "13 14 15 16",
	                     nics, 2, &n),
	    0);
	assert_int_equal(n, 1);
	assert_string_equal(nics[0].name, "a|b.1");
	/* The header alone, or only lo: no interfaces. */
	assert_int_equal(parse_str(HEADER, nics, 2, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse_str(HEADER "  lo: 1 2 3 4 5 6 7 8 9 10 11 12 13 "
	                                  "14 15 16\n",
	                     nics, 2, &n),
	    0);
	assert_int_equal(n, 0);
}

static void
test_collect_netdev_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"",
		"hello world\n",
		"eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		HEADER "eth0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15\n",
		HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 x\n",
		HEADER "eth0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 -1\n",
		HEADER ": 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		HEADER "et h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n",
		HEADER "eth0: 18446744073709551616 2 3 4 5 6 7 8 9 10 11 12 "
		       "13 14 15 16\n",
		"Inter-|\nbroken header: 1\n",
	};
	static const char nul_name[] =
	    HEADER "et\0h0: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
	fm_collect_nic nics[2];
	uint32_t n = 77;

	memset(nics, 0xa5, sizeof(nics));
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		if (parse_str(bad[i], nics, 2, &n) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(
	    parse_exact(nul_name, sizeof(nul_name) - 1, nics, 2, &n), -EINVAL);
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)nics)[0], 0xa5);
}

static void
test_collect_netdev_huge_numbers(void **state)
{
	fm_collect_nic nics[1];
	uint32_t n = 0;

	assert_int_equal(parse_str(HEADER "eth0: 18446744073709551615 2 3 4 5 "
	                                  "6 7 8 9 10 11 12 13 14 15 16\n",
	                     nics, 1, &n),
	    0);
	assert_true(nics[0].rx_bytes == UINT64_MAX);
}

static void
test_collect_netdev_names(void **state)
{
	char buf[512], line[256];
	fm_collect_nic nics[2];
	uint32_t n = 0;
	const char *name31 = "abcdefghijklmnopqrstuvwxyzabcde";
	const char *name32 = "abcdefghijklmnopqrstuvwxyzabcdef";

	nic_line(line, sizeof(line), name31, 1, 0, 0, 0, 0, 0, 0, 0);
	snprintf(buf, sizeof(buf), HEADER "%s", line);
	assert_int_equal(parse_str(buf, nics, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(nics[0].name, name31);
	/* Too long for fm_collect_nic: skipped, not cut into name31. */
	nic_line(line, sizeof(line), name32, 1, 0, 0, 0, 0, 0, 0, 0);
	snprintf(buf, sizeof(buf), HEADER "%s", line);
	assert_int_equal(parse_str(buf, nics, 2, &n), 0);
	assert_int_equal(n, 0);
	/* "lo" is skipped, "lo0" and "xlo" are not. */
	nic_line(line, sizeof(line), "lo0", 1, 0, 0, 0, 0, 0, 0, 0);
	snprintf(buf, sizeof(buf), HEADER "%s", line);
	assert_int_equal(parse_str(buf, nics, 2, &n), 0);
	assert_int_equal(n, 1);
}

static void
test_collect_netdev_every_prefix(void **state)
{
	const char *paths[] = { T0 "/net/dev", T1 "/net/dev" };

	for (size_t p = 0; p < FM_ELEMENTSOF(paths); p++) {
		size_t len;
		char *buf = fm_test_read_file(paths[p], &len);

		for (size_t i = 0; i <= len; i++) {
			fm_collect_nic nics[8];
			uint32_t n = 0;
			int r = parse_exact(buf, i, nics, 8, &n);

			if (r != 0 && r != -EINVAL)
				fail_msg("prefix %zu: %d", i, r);
			if (r == 0)
				assert_true(n <= 3);
		}
		free(buf);
	}
}

static void
test_collect_netdev_capacity(void **state)
{
	static fm_collect_nic many[FM_COLLECT_NICS_MAX + 1];
	size_t len, off;
	char *buf = fm_test_read_file(T0 "/net/dev", &len);
	char *big;
	uint32_t n = 77;

	assert_int_equal(parse_exact(buf, len, many, 2, &n), -E2BIG);
	assert_int_equal(n, 77);
	free(buf);
	big = malloc(sizeof(HEADER) + (FM_COLLECT_NICS_MAX + 1) * 256);
	assert_non_null(big);
	off = strlen(HEADER);
	memcpy(big, HEADER, off);
	for (unsigned i = 0; i <= FM_COLLECT_NICS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "veth%u", i);
		off += nic_line(big + off, 256, name, 1, 0, 0, 0, 0, 0, 0, 0);
	}
	assert_int_equal(
	    fm_collect_netdev_parse(big, off, many, FM_ELEMENTSOF(many), &n),
	    -E2BIG);
	free(big);
}

/* More interfaces than the parser keeps on its stack: a second pass
 * stores them, in file order, lo still skipped. */
static void
test_collect_netdev_many_nics(void **state)
{
	enum { NICS = 40 };
	static fm_collect_nic nics[NICS];
	char *big;
	size_t off;
	uint32_t n = 77;

	big = malloc(sizeof(HEADER) + (NICS + 1) * 256 + 16);
	assert_non_null(big);
	off = strlen(HEADER);
	memcpy(big, HEADER, off);
	for (unsigned i = 0; i < NICS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "veth%u", i);
		off +=
		    nic_line(big + off, 256, name, i, 0, 0, 0, 3 * i, 0, 0, 0);
		if (i == NICS / 2)
			off += nic_line(
			    big + off, 256, "lo", 1, 1, 1, 1, 1, 1, 1, 1);
	}
	assert_int_equal(parse_exact(big, off, nics, NICS, &n), 0);
	assert_int_equal(n, NICS);
	for (unsigned i = 0; i < NICS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "veth%u", i);
		assert_string_equal(nics[i].name, name);
		assert_true(nics[i].rx_bytes == i && nics[i].tx_bytes == 3 * i);
	}
	/* One short: -E2BIG; a bad line last: -EINVAL; nothing written. */
	memset(nics, 0xa5, sizeof(nics));
	n = 77;
	assert_int_equal(parse_exact(big, off, nics, NICS - 1, &n), -E2BIG);
	memcpy(big + off, "  eth9: 1 x\n", 12);
	assert_int_equal(parse_exact(big, off + 12, nics, NICS, &n), -EINVAL);
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)nics)[0], 0xa5);
	free(big);
}

/* ---- collector ------------------------------------------------------ */

static const fm_test_source source = { &fmi_collector_netdev, "net/dev" };

/* HEADER plus two interface lines. */
static void
two_nics(char *buf, size_t size, const char *a, const char *b)
{
	int n = snprintf(buf, size, HEADER "%s%s", a, b);

	assert_true(n > 0 && (size_t)n < size);
}

static void
test_collect_netdev_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

static void
test_collect_netdev_fixture_rates(void **state)
{
	size_t len;
	char *t0 = fm_test_read_file(T0 "/net/dev", &len);
	char *t1 = fm_test_read_file(T1 "/net/dev", &len);
	fm_test_fixture h;

	fm_test_fixture_open(&h, &source, t0);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_masked_in(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	assert_masked_outside(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	/* The capture saw no traffic in that second: every rate is a real
	 * 0, not a mask. */
	assert_int_equal(fm_test_read_text(&h, SEC, t1), 0);
	for (int f = FM_F_NET_RX_BYTES; f <= FM_F_NET_DROPS; f++)
		assert_near(h.v[f], 0.0);
	assert_masked_outside(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	fm_test_fixture_fini(&h);
	free(t0);
	free(t1);
}

static void
test_collect_netdev_rates(void **state)
{
	char a[256], b[256], lo[256], t[1024];
	fm_test_fixture h;

	nic_line(a, sizeof(a), "eth0", 1000, 10, 1, 2, 500, 5, 3, 4);
	nic_line(lo, sizeof(lo), "lo", 1, 1, 1, 1, 1, 1, 1, 1);
	two_nics(t, sizeof(t), lo, a);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* Over 0.5 s; lo's huge jump is ignored. */
	nic_line(a, sizeof(a), "eth0", 3000, 30, 2, 4, 1500, 15, 4, 6);
	nic_line(lo, sizeof(lo), "lo", 1u << 30, 1u << 20, 9, 9, 1, 1, 1, 1);
	two_nics(t, sizeof(t), lo, a);
	assert_int_equal(fm_test_read_text(&h, SEC / 2, t), 0);
	assert_near(h.v[FM_F_NET_RX_BYTES], log1p(4000.0));
	assert_near(h.v[FM_F_NET_TX_BYTES], log1p(2000.0));
	assert_near(h.v[FM_F_NET_RX_PACKETS], log1p(40.0));
	assert_near(h.v[FM_F_NET_TX_PACKETS], log1p(20.0));
	assert_near(h.v[FM_F_NET_ERRORS], log1p((1.0 + 1.0) * 2));
	assert_near(h.v[FM_F_NET_DROPS], log1p((2.0 + 2.0) * 2));
	/* A second interface is summed in. */
	nic_line(b, sizeof(b), "eth1", 0, 0, 0, 0, 0, 0, 0, 0);
	two_nics(t, sizeof(t), a, b);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0); /* eth1 is new */
	assert_near(h.v[FM_F_NET_RX_BYTES], 0.0);
	nic_line(a, sizeof(a), "eth0", 3100, 30, 2, 4, 1500, 15, 4, 6);
	nic_line(b, sizeof(b), "eth1", 50, 0, 0, 0, 0, 0, 0, 0);
	two_nics(t, sizeof(t), b, a); /* reordered */
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_NET_RX_BYTES], log1p(150.0));
	fm_test_fixture_fini(&h);
}

static void
test_collect_netdev_removed_and_reset(void **state)
{
	char a[256], b[256], t[1024];
	fm_test_fixture h;

	nic_line(a, sizeof(a), "eth0", 1000, 10, 0, 0, 1000, 10, 0, 0);
	nic_line(b, sizeof(b), "veth1", 900000, 900, 0, 0, 900000, 900, 0, 0);
	two_nics(t, sizeof(t), a, b);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* veth1 deleted and re-created: counters restart. */
	nic_line(a, sizeof(a), "eth0", 1100, 11, 0, 0, 1000, 10, 0, 0);
	nic_line(b, sizeof(b), "veth1", 10, 1, 0, 0, 0, 0, 0, 0);
	two_nics(t, sizeof(t), a, b);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_NET_RX_BYTES], log1p(100.0));
	assert_near(h.v[FM_F_NET_TX_BYTES], 0.0);
	/* Only the reset interface: masked. */
	nic_line(b, sizeof(b), "veth1", 5, 1, 0, 0, 0, 0, 0, 0);
	two_nics(t, sizeof(t), b, "");
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked_in(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	/* Gone entirely: masked, not an error. */
	assert_int_equal(fm_test_read_text(&h, SEC, HEADER), 0);
	assert_masked_in(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	fm_test_fixture_fini(&h);
}

static void
test_collect_netdev_absurd_and_failure(void **state)
{
	char a[256], t[1024];
	fm_test_fixture h;

	nic_line(a, sizeof(a), "eth0", 1000, 10, 0, 0, 1000, 10, 0, 0);
	two_nics(t, sizeof(t), a, "");
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* 2^50 bytes in a second: no NIC does that. */
	nic_line(a, sizeof(a), "eth0", 1000 + (1ull << 50), 11, 0, 0, 1000, 10,
	    0, 0);
	two_nics(t, sizeof(t), a, "");
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked(h.v[FM_F_NET_RX_BYTES]);
	assert_near(h.v[FM_F_NET_RX_PACKETS], log1p(1.0));
	/* A garbled tick, then no rate across it. */
	assert_int_equal(
	    fm_test_read_text(&h, SEC, HEADER "eth0: 1 2\n"), -EINVAL);
	assert_masked_in(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	nic_line(a, sizeof(a), "eth0", 1000 + (1ull << 50), 21, 0, 0, 1000, 10,
	    0, 0);
	two_nics(t, sizeof(t), a, "");
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked_in(h.v, FM_F_NET_RX_BYTES, FM_F_NET_DROPS);
	nic_line(a, sizeof(a), "eth0", 1000 + (1ull << 50), 26, 0, 0, 1000, 10,
	    0, 0);
	two_nics(t, sizeof(t), a, "");
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_NET_RX_PACKETS], log1p(5.0));
	fm_test_fixture_fini(&h);
}

static void
test_collect_netdev_grows(void **state)
{
	enum { NICS = 40 };
	char *t = malloc(sizeof(HEADER) + NICS * 256);
	fm_test_fixture h;

	assert_non_null(t);
	for (int tick = 0; tick < 2; tick++) {
		size_t off = strlen(HEADER);

		memcpy(t, HEADER, off);
		for (unsigned i = 0; i < NICS; i++) {
			char name[16];

			snprintf(name, sizeof(name), "veth%u", i);
			off += nic_line(t + off, 256, name, 100 + tick * i, 0,
			    0, 0, 0, 0, 0, 0);
		}
		if (tick == 0) {
			fm_test_fixture_open(&h, &source, t);
			assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
		} else {
			assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
		}
	}
	assert_near(h.v[FM_F_NET_RX_BYTES], log1p(780.0));
	fm_test_fixture_fini(&h);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_netdev_parses_fixture),
		cmocka_unit_test(test_collect_netdev_field_positions),
		cmocka_unit_test(test_collect_netdev_rejects_garbage),
		cmocka_unit_test(test_collect_netdev_huge_numbers),
		cmocka_unit_test(test_collect_netdev_names),
		cmocka_unit_test(test_collect_netdev_every_prefix),
		cmocka_unit_test(test_collect_netdev_capacity),
		cmocka_unit_test(test_collect_netdev_many_nics),
		cmocka_unit_test(test_collect_netdev_missing_file),
		cmocka_unit_test(test_collect_netdev_fixture_rates),
		cmocka_unit_test(test_collect_netdev_rates),
		cmocka_unit_test(test_collect_netdev_removed_and_reset),
		cmocka_unit_test(test_collect_netdev_absurd_and_failure),
		cmocka_unit_test(test_collect_netdev_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
