/* Tests for agent/collect/collect-diskstats.c: the parser and the collector. */
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

/* Parses s from a buffer of exactly its length, so that ASan sees any
 * read past the end. */
static int
parse_exact(const char *s, size_t len, fm_collect_disk *disks, uint32_t cap,
    uint32_t *ret_n)
{
	char *copy = fm_test_exact_copy(s, len);
	int r = fm_collect_diskstats_parse(copy, len, disks, cap, ret_n);

	free(copy);
	return r;
}

static int
parse_str(const char *s, fm_collect_disk *disks, uint32_t cap, uint32_t *ret_n)
{
	return parse_exact(s, strlen(s), disks, cap, ret_n);
}

/* One /proc/diskstats line for a whole disk (20 fields, as 5.5+). */
static void
disk_line(char *buf, size_t size, const char *name, uint64_t reads,
    uint64_t rsect, uint64_t rms, uint64_t writes, uint64_t wsect, uint64_t wms,
    uint64_t io, uint64_t weighted)
{
	int n = snprintf(buf, size,
	    " 254       0 %s %llu 0 %llu %llu %llu 0 %llu %llu 0 %llu %llu "
	    "0 0 0 0 0 0\n",
	    name, (unsigned long long)reads, (unsigned long long)rsect,
	    (unsigned long long)rms, (unsigned long long)writes,
	    (unsigned long long)wsect, (unsigned long long)wms,
	    (unsigned long long)io, (unsigned long long)weighted);

	assert_true(n > 0 && (size_t)n < size);
}

/* ---- parser --------------------------------------------------------- */

static void
test_collect_diskstats_parses_fixture(void **state)
{
	fm_collect_disk d[4];
	uint32_t n = 99;
	size_t len;
	char *buf = fm_test_read_file(T0 "/diskstats", &len);

	/* loop0-7 and zram0 are skipped: vda only. */
	assert_int_equal(parse_exact(buf, len, d, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].name, "vda");
	assert_int_equal(d[0].major, 254);
	assert_int_equal(d[0].minor, 0);
	assert_int_equal(d[0].reads, 26194);
	assert_int_equal(d[0].read_sectors, 2086466);
	assert_int_equal(d[0].read_ms, 10259);
	assert_int_equal(d[0].writes, 5076);
	assert_int_equal(d[0].write_sectors, 1687152);
	assert_int_equal(d[0].write_ms, 8003);
	assert_int_equal(d[0].in_flight, 0);
	assert_int_equal(d[0].io_ms, 6744);
	assert_int_equal(d[0].weighted_ms, 18665);
	free(buf);

	buf = fm_test_read_file(T1 "/diskstats", &len);
	assert_int_equal(parse_exact(buf, len, d, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].reads, 26221);
	assert_int_equal(d[0].read_sectors, 2087490);
	assert_int_equal(d[0].io_ms, 6748);
	free(buf);
}

static void
test_collect_diskstats_is_counted(void **state)
{
	static const char *const counted[] = { "sda", "sdaa", "vda", "hdb",
		"xvda", "nvme0n1", "nvme12n3", "mmcblk0", "nbd0", "rbd0",
		"mmcblk0boot0" };
	static const char *const skipped[] = { "", "sda1", "sdaa12", "vda1",
		"hdb3", "xvda1", "nvme0n1p1", "nvme12n3p45", "mmcblk0p1",
		"loop0", "loop12", "ram0", "zram0", "fd0", "dm-0", "dm-12",
		"md0", "md127", "sr0" };

	for (size_t i = 0; i < FM_ELEMENTSOF(counted); i++) {
		if (!fm_collect_disk_is_counted(counted[i]))
			fail_msg("%s should count", counted[i]);
	}
	for (size_t i = 0; i < FM_ELEMENTSOF(skipped); i++) {
		if (fm_collect_disk_is_counted(skipped[i]))
			fail_msg("%s should be skipped", skipped[i]);
	}
	assert_false(fm_collect_disk_is_counted(NULL));
}

static void
test_collect_diskstats_field_counts(void **state)
{
	fm_collect_disk d[2];
	uint32_t n = 0;

	/* Before 4.18: eleven fields. */
	assert_int_equal(
	    parse_str("   8  0 sda 1 2 3 4 5 6 7 8 9 10 11\n", d, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].reads, 1);
	assert_int_equal(d[0].read_sectors, 3);
	assert_int_equal(d[0].read_ms, 4);
	assert_int_equal(d[0].writes, 5);
	assert_int_equal(d[0].write_sectors, 7);
	assert_int_equal(d[0].write_ms, 8);
	assert_int_equal(d[0].in_flight, 9);
	assert_int_equal(d[0].io_ms, 10);
	assert_int_equal(d[0].weighted_ms, 11);
	/* 4.18 (15 fields), tabs, no trailing newline. */
	assert_int_equal(
	    parse_str("8\t0\tsda 1 2 3 4 5 6 7 8 9 10 11 1 2 3 4", d, 2, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].weighted_ms, 11);
	/* A counted disk short of the eleven: truncated. */
	n = 77;
	assert_int_equal(
	    parse_str("8 0 sda 1 2 3 4 5 6 7 8 9 10\n", d, 2, &n), -EINVAL);
	assert_int_equal(n, 77);
	/* 2.6 partitions had four fields: skipped, so fine. */
	assert_int_equal(parse_str("8 1 sda1 1 2 3 4\n", d, 2, &n), 0);
	assert_int_equal(n, 0);
	/* Blank lines and an empty file: no disks. */
	assert_int_equal(parse_str("\n  \n", d, 2, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(parse_exact("", 0, d, 2, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_collect_diskstats_rejects_garbage(void **state)
{
	static const char *const bad[] = {
		"hello world\n",
		"8 0\n",
		"8\n",
		"x 0 sda 1 2 3 4 5 6 7 8 9 10 11\n",
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 -11\n",
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 11 x\n",
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 1.5\n",
		"8 0 sda 1 2 3 4 5 6 7 8 9 10 11\r\n",
		/* A skipped device's numbers are checked too. */
		"7 0 loop0 a b c\n",
		/* Overflow: 2^64, and a major beyond 32 bits. */
		"8 0 sda 18446744073709551616 2 3 4 5 6 7 8 9 10 11\n",
		"4294967296 0 sda 1 2 3 4 5 6 7 8 9 10 11\n",
		"8 0 sda\x01 1 2 3 4 5 6 7 8 9 10 11\n",
	};
	fm_collect_disk d[2];
	uint32_t n = 77;

	memset(d, 0xa5, sizeof(d));
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		if (parse_str(bad[i], d, 2, &n) != -EINVAL)
			fail_msg("accepted: %s", bad[i]);
	}
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)d)[0], 0xa5);
}

static void
test_collect_diskstats_huge_numbers(void **state)
{
	fm_collect_disk d[1];
	uint32_t n = 0;

	assert_int_equal(parse_str("4294967295 4294967295 sda "
	                           "18446744073709551615 0 0 0 0 0 0 0 0 0 "
	                           "18446744073709551615\n",
	                     d, 1, &n),
	    0);
	assert_int_equal(n, 1);
	assert_int_equal(d[0].major, UINT32_MAX);
	assert_true(d[0].reads == UINT64_MAX);
	assert_true(d[0].weighted_ms == UINT64_MAX);
	/* Leading zeros are still a number. */
	assert_int_equal(
	    parse_str("8 0 sda 0001 0 0 0 0 0 0 0 0 0 0\n", d, 1, &n), 0);
	assert_int_equal(d[0].reads, 1);
}

static void
test_collect_diskstats_names(void **state)
{
	char line[256];
	fm_collect_disk d[2];
	uint32_t n = 0;
	const char *name31 = "sdabcdefghijklmnopqrstuvwxyzabc";
	const char *name32 = "sdabcdefghijklmnopqrstuvwxyzabcd";
	static const char nul_line[] = "8 0 sd\0a 1 2 3 4 5 6 7 8 9 10 11\n";

	assert_int_equal(strlen(name31), FM_COLLECT_DEV_NAME_BYTES - 1);
	disk_line(line, sizeof(line), name31, 1, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(parse_str(line, d, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(d[0].name, name31);
	/* One byte more does not fit: skipped, not cut into name31. */
	disk_line(line, sizeof(line), name32, 1, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(parse_str(line, d, 2, &n), 0);
	assert_int_equal(n, 0);
	/* A NUL inside a name would cut it: malformed. */
	assert_int_equal(
	    parse_exact(nul_line, sizeof(nul_line) - 1, d, 2, &n), -EINVAL);
}

static void
test_collect_diskstats_every_prefix(void **state)
{
	const char *paths[] = { T0 "/diskstats", T1 "/diskstats" };

	for (size_t p = 0; p < FM_ELEMENTSOF(paths); p++) {
		size_t len;
		char *buf = fm_test_read_file(paths[p], &len);

		for (size_t i = 0; i <= len; i++) {
			fm_collect_disk d[4];
			uint32_t n = 0;
			int r = parse_exact(buf, i, d, 4, &n);

			if (r != 0 && r != -EINVAL)
				fail_msg("prefix %zu: %d", i, r);
			if (r == 0)
				assert_true(n <= 1);
		}
		free(buf);
	}
}

static void
test_collect_diskstats_capacity(void **state)
{
	static fm_collect_disk many[FM_COLLECT_DISKS_MAX + 1];
	char line[256];
	fm_collect_disk d[2];
	uint32_t n = 77;
	char *big;
	size_t off = 0;

	memset(d, 0xa5, sizeof(d));
	disk_line(line, sizeof(line), "sda", 1, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(parse_str(line, d, 0, &n), -E2BIG);
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)d)[0], 0xa5);

	/* More than FM_COLLECT_DISKS_MAX disks: -E2BIG whatever the cap. */
	big = malloc((FM_COLLECT_DISKS_MAX + 1) * 128);
	assert_non_null(big);
	for (unsigned i = 0; i <= FM_COLLECT_DISKS_MAX; i++) {
		char name[16];

		snprintf(name, sizeof(name), "rbd%u", i);
		disk_line(line, sizeof(line), name, 1, 0, 0, 0, 0, 0, 0, 0);
		memcpy(big + off, line, strlen(line));
		off += strlen(line);
	}
	assert_int_equal(
	    fm_collect_diskstats_parse(big, off, many, FM_ELEMENTSOF(many), &n),
	    -E2BIG);
	free(big);
}

/* More counted disks than the parser keeps on its stack, between skipped
 * devices: a second pass stores them, in file order. */
static void
test_collect_diskstats_many_disks(void **state)
{
	enum { DISKS = 40 };
	static fm_collect_disk d[DISKS];
	char line[256], *big;
	size_t off = 0;
	uint32_t n = 77;

	big = malloc(DISKS * 3 * sizeof(line));
	assert_non_null(big);
	for (unsigned i = 0; i < DISKS; i++) {
		char name[16];
		int k;

		snprintf(name, sizeof(name), "rbd%u", i);
		disk_line(line, sizeof(line), name, i, 2 * i, 0, 0, 0, 0, 0, 0);
		memcpy(big + off, line, strlen(line));
		off += strlen(line);
		k = snprintf(big + off, 2 * sizeof(line),
		    "   7 %u loop%u 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
		    "   8 %u sda%u 1 2 3 4\n",
		    i, i, i, i);
		assert_true(k > 0);
		off += (size_t)k;
	}
	assert_int_equal(parse_exact(big, off, d, DISKS, &n), 0);
	assert_int_equal(n, DISKS);
	for (unsigned i = 0; i < DISKS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "rbd%u", i);
		assert_string_equal(d[i].name, name);
		assert_true(d[i].reads == i && d[i].read_sectors == 2 * i);
	}
	/* One short: -E2BIG, nothing written. */
	memset(d, 0xa5, sizeof(d));
	n = 77;
	assert_int_equal(parse_exact(big, off, d, DISKS - 1, &n), -E2BIG);
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)d)[0], 0xa5);
	/* A bad line after them all: -EINVAL, nothing written. */
	memcpy(big + off, "7 0 loop0 x\n", 12);
	assert_int_equal(parse_exact(big, off + 12, d, DISKS, &n), -EINVAL);
	assert_int_equal(n, 77);
	assert_int_equal(((unsigned char *)d)[0], 0xa5);
	free(big);
}

/* The numbers of a skipped device are checked like those of a counted
 * one, long runs of digits too. */
static void
test_collect_diskstats_skipped_numbers(void **state)
{
	fm_collect_disk d[2];
	uint32_t n = 77;

	assert_int_equal(parse_str("7 0 loop0 "
	                           "0000000000000000000000018446744073709551615"
	                           " 10000000000000000000\n",
	                     d, 2, &n),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    parse_str("7 0 loop0 1 18446744073709551616\n", d, 2, &n), -EINVAL);
	assert_int_equal(parse_str("7 0 loop0 1 00000000000000000000000"
	                           "018446744073709551616\n",
	                     d, 2, &n),
	    -EINVAL);
	assert_int_equal(parse_str("7 0 loop0 1\t2 -3\n", d, 2, &n), -EINVAL);
	assert_int_equal(parse_str("7 0 loop0 1\r\n", d, 2, &n), -EINVAL);
	assert_int_equal(n, 0);
}

/* ---- collector ------------------------------------------------------ */

static const fm_test_source source = { &fmi_collector_diskstats, "diskstats" };

static void
test_collect_diskstats_missing_file(void **state)
{
	fm_test_check_missing(&source);
}

static void
test_collect_diskstats_fixture_rates(void **state)
{
	size_t len;
	char *t0 = fm_test_read_file(T0 "/diskstats", &len);
	char *t1 = fm_test_read_file(T1 "/diskstats", &len);
	fm_test_fixture h;

	fm_test_fixture_open(&h, &source, t0);
	/* First read: no previous tick, every rate masked. */
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_masked_in(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	assert_masked_outside(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	/* vda over 1 s: 27 reads, 1024 sectors, 6 read ms, no writes, 4 ms
	 * busy, 6 weighted ms. */
	assert_int_equal(fm_test_read_text(&h, SEC, t1), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(27.0));
	assert_near(h.v[FM_F_DISK_WRITE_OPS], 0.0);
	assert_near(h.v[FM_F_DISK_READ_BYTES], log1p(1024.0 * 512.0));
	assert_near(h.v[FM_F_DISK_WRITE_BYTES], 0.0);
	assert_near(h.v[FM_F_DISK_BUSIEST], 0.004);
	assert_near(h.v[FM_F_DISK_AWAIT], log1p(6.0 / 27.0));
	assert_near(h.v[FM_F_DISK_QUEUE], log1p(0.006));
	assert_masked_outside(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	/* The same interval over 2 s: half the rates. */
	assert_int_equal(fm_test_read_text(&h, 0, t0), 0);
	assert_int_equal(fm_test_read_text(&h, 2 * SEC, t1), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(13.5));
	assert_near(h.v[FM_F_DISK_BUSIEST], 0.002);
	fm_test_fixture_fini(&h);
	free(t0);
	free(t1);
}

static void
test_collect_diskstats_device_added_removed(void **state)
{
	char a[256], b[256], c[256], t0[800], t1[800];
	fm_test_fixture h;

	disk_line(a, sizeof(a), "vda", 100, 0, 0, 0, 0, 0, 0, 0);
	disk_line(b, sizeof(b), "vdb", 100, 0, 0, 0, 0, 0, 0, 0);
	snprintf(t0, sizeof(t0), "%s%s", a, b);
	/* vdb removed, sdc added (with a large count, which must not be
	 * taken for a rate), vda +10 reads. */
	disk_line(a, sizeof(a), "vda", 110, 0, 0, 0, 0, 0, 0, 0);
	disk_line(c, sizeof(c), "sdc", 5000, 0, 0, 0, 0, 0, 0, 0);
	snprintf(t1, sizeof(t1), "%s%s", c, a);
	fm_test_fixture_open(&h, &source, t0);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_int_equal(fm_test_read_text(&h, SEC, t1), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(10.0));
	/* Next tick sdc has a previous value too. */
	disk_line(a, sizeof(a), "vda", 111, 0, 0, 0, 0, 0, 0, 0);
	disk_line(c, sizeof(c), "sdc", 5002, 0, 0, 0, 0, 0, 0, 0);
	snprintf(t1, sizeof(t1), "%s%s", a, c);
	assert_int_equal(fm_test_read_text(&h, SEC, t1), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(3.0));
	/* The same name with another major:minor is another device. */
	snprintf(t1, sizeof(t1), "%s 8 16 sdc 6000 0 0 0 0 0 0 0 0 0 0\n", a);
	assert_int_equal(fm_test_read_text(&h, SEC, t1), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], 0.0);
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_reset(void **state)
{
	char a[256], b[256], t[800];
	fm_test_fixture h;

	disk_line(a, sizeof(a), "vda", 1000, 8000, 50, 500, 4000, 40, 300, 90);
	disk_line(b, sizeof(b), "vdb", 1000, 8000, 50, 500, 4000, 40, 300, 90);
	snprintf(t, sizeof(t), "%s%s", a, b);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* vdb removed and re-added: its counters restart near 0. Only vda
	 * (+10 reads) counts; nothing negative, nothing absurd. */
	disk_line(a, sizeof(a), "vda", 1010, 8080, 60, 500, 4000, 40, 310, 100);
	disk_line(b, sizeof(b), "vdb", 3, 24, 1, 0, 0, 0, 2, 1);
	snprintf(t, sizeof(t), "%s%s", a, b);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(10.0));
	assert_near(h.v[FM_F_DISK_READ_BYTES], log1p(80.0 * 512.0));
	assert_near(h.v[FM_F_DISK_BUSIEST], 0.01);
	assert_near(h.v[FM_F_DISK_AWAIT], log1p(1.0));
	assert_near(h.v[FM_F_DISK_QUEUE], log1p(0.01));
	/* Only the reset disk: every disk feature masked. */
	disk_line(b, sizeof(b), "vdb", 1, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(
	    fm_test_read_text(&h, SEC, b), 0); /* vdb only, reset */
	assert_masked_in(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_io_ms_wrap(void **state)
{
	char t[256];
	fm_test_fixture h;

	/* The time fields are 32-bit ms: io_ms and weighted_ms wrap. */
	disk_line(t, sizeof(t), "vda", 10, 0, 4294967290ull, 0, 0, 0,
	    4294967290ull, 4294967000ull);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	disk_line(t, sizeof(t), "vda", 12, 0, 4, 0, 0, 0, 10, 200);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_DISK_BUSIEST], 16.0 / 1000.0);
	assert_near(h.v[FM_F_DISK_AWAIT], log1p(10.0 / 2.0));
	assert_near(h.v[FM_F_DISK_QUEUE], log1p(496.0 / 1000.0));
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(2.0));
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_busiest_is_max_and_clamped(void **state)
{
	char a[256], b[256], t[800];
	fm_test_fixture h;

	disk_line(a, sizeof(a), "vda", 0, 0, 0, 0, 0, 0, 100, 0);
	disk_line(b, sizeof(b), "vdb", 0, 0, 0, 0, 0, 0, 100, 0);
	snprintf(t, sizeof(t), "%s%s", a, b);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	disk_line(a, sizeof(a), "vda", 0, 0, 0, 0, 0, 0, 350, 0);
	disk_line(b, sizeof(b), "vdb", 0, 0, 0, 0, 0, 0, 200, 0);
	snprintf(t, sizeof(t), "%s%s", a, b);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_DISK_BUSIEST], 0.25);
	/* Busy and nothing completed: the wait is unknown, masked. */
	assert_masked(h.v[FM_F_DISK_AWAIT]);
	/* io_ticks a little ahead of the clock: 1, not more. */
	disk_line(a, sizeof(a), "vda", 0, 0, 0, 0, 0, 0, 1400, 0);
	snprintf(t, sizeof(t), "%s%s", a, b);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_DISK_BUSIEST], 1.0);
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_idle_await_is_zero(void **state)
{
	char t[256];
	fm_test_fixture h;

	disk_line(t, sizeof(t), "vda", 10, 80, 5, 10, 80, 5, 7, 10);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_int_equal(fm_test_read_text(&h, SEC, NULL), 0);
	/* Nothing moved: an idle disk waited 0 ms, a known value. */
	assert_near(h.v[FM_F_DISK_AWAIT], 0.0);
	assert_near(h.v[FM_F_DISK_BUSIEST], 0.0);
	assert_near(h.v[FM_F_DISK_QUEUE], 0.0);
	assert_near(h.v[FM_F_DISK_READ_OPS], 0.0);
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_absurd_rate_masked(void **state)
{
	char t[256];
	fm_test_fixture h;

	disk_line(t, sizeof(t), "vda", 10, 80, 5, 10, 80, 5, 7, 10);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	/* 2^60 sectors in a second is no disk. */
	disk_line(
	    t, sizeof(t), "vda", 11, 80 + (1ull << 60), 6, 10, 80, 5, 8, 11);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked(h.v[FM_F_DISK_READ_BYTES]);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(1.0));
	assert_near(h.v[FM_F_DISK_WRITE_BYTES], 0.0);
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_no_disks(void **state)
{
	fm_test_fixture h;

	fm_test_fixture_open(
	    &h, &source, "   7 0 loop0 0 0 0 0 0 0 0 0 0 0 0\n");
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_int_equal(fm_test_read_text(&h, SEC, NULL), 0);
	assert_masked_in(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	fm_test_fixture_fini(&h);

	fm_test_fixture_open(&h, &source, "");
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_int_equal(fm_test_read_text(&h, SEC, NULL), 0);
	assert_masked_in(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_parse_failure_forgets(void **state)
{
	char t[256];
	fm_test_fixture h;

	disk_line(t, sizeof(t), "vda", 10, 0, 0, 0, 0, 0, 0, 0);
	fm_test_fixture_open(&h, &source, t);
	assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
	assert_int_equal(
	    fm_test_read_text(&h, SEC, "8 0 sda garbage\n"), -EINVAL);
	assert_masked_in(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	/* No rate across the failed tick. */
	disk_line(t, sizeof(t), "vda", 30, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_masked_in(h.v, FM_F_DISK_READ_OPS, FM_F_DISK_QUEUE);
	disk_line(t, sizeof(t), "vda", 35, 0, 0, 0, 0, 0, 0, 0);
	assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(5.0));
	fm_test_fixture_fini(&h);
}

static void
test_collect_diskstats_grows(void **state)
{
	enum { DISKS = 40 };
	char *t = malloc(DISKS * 128);
	char line[128];
	fm_test_fixture h;

	assert_non_null(t);
	for (int tick = 0; tick < 2; tick++) {
		size_t off = 0;

		for (unsigned i = 0; i < DISKS; i++) {
			char name[16];

			snprintf(name, sizeof(name), "rbd%u", i);
			disk_line(line, sizeof(line), name, 100 + tick * i, 0,
			    0, 0, 0, 0, 0, 0);
			memcpy(t + off, line, strlen(line) + 1);
			off += strlen(line);
		}
		if (tick == 0) {
			fm_test_fixture_open(&h, &source, t);
			assert_int_equal(fm_test_read_text(&h, 0, NULL), 0);
		} else {
			assert_int_equal(fm_test_read_text(&h, SEC, t), 0);
		}
	}
	/* 0 + 1 + … + 39 reads. */
	assert_near(h.v[FM_F_DISK_READ_OPS], log1p(780.0));
	fm_test_fixture_fini(&h);
	free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_collect_diskstats_parses_fixture),
		cmocka_unit_test(test_collect_diskstats_is_counted),
		cmocka_unit_test(test_collect_diskstats_field_counts),
		cmocka_unit_test(test_collect_diskstats_rejects_garbage),
		cmocka_unit_test(test_collect_diskstats_huge_numbers),
		cmocka_unit_test(test_collect_diskstats_names),
		cmocka_unit_test(test_collect_diskstats_every_prefix),
		cmocka_unit_test(test_collect_diskstats_capacity),
		cmocka_unit_test(test_collect_diskstats_many_disks),
		cmocka_unit_test(test_collect_diskstats_skipped_numbers),
		cmocka_unit_test(test_collect_diskstats_missing_file),
		cmocka_unit_test(test_collect_diskstats_fixture_rates),
		cmocka_unit_test(test_collect_diskstats_device_added_removed),
		cmocka_unit_test(test_collect_diskstats_reset),
		cmocka_unit_test(test_collect_diskstats_io_ms_wrap),
		cmocka_unit_test(
		    test_collect_diskstats_busiest_is_max_and_clamped),
		cmocka_unit_test(test_collect_diskstats_idle_await_is_zero),
		cmocka_unit_test(test_collect_diskstats_absurd_rate_masked),
		cmocka_unit_test(test_collect_diskstats_no_disks),
		cmocka_unit_test(test_collect_diskstats_parse_failure_forgets),
		cmocka_unit_test(test_collect_diskstats_grows),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
