/*
 * Tests for aggregator/state.c, journal.c and peers.c: the state file's
 * encoding round trip and every refusal of the decoder, the journal's
 * torn and damaged records (dropped, counted, cut out on disk), and the
 * peer table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "aggregator/aggregator-int.h"
#include "learn/learn.h"
#include "tests/support/alloc-hook.h"

static float params[3] = { 1.5f, -2, 3 };
static float m1[3] = { 0.1f, 0.2f, 0.3f }, v1[3] = { 1, 2, 3 };
static fmi_agg_mark marks[2] = { { 5, 100 }, { 9, 7 } };

static fmi_agg_state
sample_state(void)
{
	return (fmi_agg_state) {
		.rule = FM_AGG_RULE_FEDADAM,
		.last_opened = 12,
		.version = 11,
		.rounds_published = 10,
		.layout_id = 0xabcd,
		.n_params = 3,
		.n_opt = 2,
		.params = params,
		.opt = { m1, v1 },
		.n_marks = 2,
		.marks = marks,
	};
}

static void
test_state_round_trip(void **state)
{
	fmi_agg_state s = sample_state(), d;
	uint8_t *buf;
	size_t len;

	assert_int_equal(fmi_agg_state_encode(&s, &buf, &len), 0);
	assert_int_equal(len, FMI_AGG_STATE_HEADER_BYTES + 3 * 12 + 32 + 4);
	assert_int_equal(fmi_agg_state_decode(buf, len, &d), 0);
	assert_int_equal(d.rule, s.rule);
	assert_int_equal(d.last_opened, 12);
	assert_int_equal(d.version, 11);
	assert_int_equal(d.rounds_published, 10);
	assert_int_equal(d.layout_id, 0xabcd);
	assert_int_equal(d.n_params, 3);
	assert_int_equal(d.n_opt, 2);
	assert_memory_equal(d.params, params, sizeof(params));
	assert_memory_equal(d.opt[0], m1, sizeof(m1));
	assert_memory_equal(d.opt[1], v1, sizeof(v1));
	assert_int_equal(d.n_marks, 2);
	assert_memory_equal(d.marks, marks, sizeof(marks));
	fmi_agg_state_clear(&d);
	free(buf);

	/* No model yet, no marks. */
	s = (fmi_agg_state) { .rule = FM_AGG_RULE_FEDAVG, .last_opened = 3 };
	assert_int_equal(fmi_agg_state_encode(&s, &buf, &len), 0);
	assert_int_equal(fmi_agg_state_decode(buf, len, &d), 0);
	assert_int_equal(d.last_opened, 3);
	assert_null(d.params);
	assert_null(d.marks);
	fmi_agg_state_clear(&d);
	free(buf);
}

static void
test_state_encode_refuses_invalid(void **state)
{
	fmi_agg_state s;
	fmi_agg_mark bad[2] = { { 9, 1 }, { 5, 1 } };
	fmi_agg_mark zero[2] = { { 0, 1 }, { 1, 1 } };
	uint8_t *buf = NULL;
	size_t len;

#define REFUSED(field_change)                                                  \
	do {                                                                   \
		s = sample_state();                                            \
		field_change;                                                  \
		assert_int_equal(                                              \
		    fmi_agg_state_encode(&s, &buf, &len), -EINVAL);            \
	} while (0)
	REFUSED(s.rule = 0);
	REFUSED(s.version = 13);
	REFUSED(s.rounds_published = 13);
	REFUSED(s.n_params = FM_PROTO_MAX_PARAMS + 1);
	REFUSED(s.n_opt = 1);
	REFUSED(s.n_params = 0);
	REFUSED(s.layout_id = 0);
	REFUSED(s.params = NULL);
	REFUSED(s.opt[1] = NULL);
	REFUSED(s.marks = bad);
	REFUSED(s.marks = zero);
	REFUSED(s.version = 0);
	REFUSED(s.rounds_published = 0);
#undef REFUSED
	assert_null(buf);
}

/* Rewrites the checksum after a change. */
static void
reseal(uint8_t *buf, size_t len)
{
	uint32_t crc = fm_learn_crc32c_update(0, buf, len - 4);

	for (int i = 0; i < 4; i++)
		buf[len - 4 + i] = (uint8_t)(crc >> (8 * i));
}

static void
test_state_decode_refuses_corruption(void **state)
{
	fmi_agg_state s = sample_state(), d;
	uint8_t *buf, *copy;
	size_t len;

	assert_int_equal(fmi_agg_state_encode(&s, &buf, &len), 0);
	copy = malloc(len);
	/* Every single flipped bit is caught. */
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			int r;

			memcpy(copy, buf, len);
			copy[i] ^= (uint8_t)(1u << b);
			r = fmi_agg_state_decode(copy, len, &d);
			assert_true(r == -EBADMSG ||
			    (r == -EPROTONOSUPPORT && i >= 8 && i < 12));
			assert_null(d.params);
		}
	}
	/* Every truncation. */
	for (size_t n = 0; n < len; n++)
		assert_int_equal(fmi_agg_state_decode(buf, n, &d), -EBADMSG);
		/* Checksummed but inconsistent: each field out of range. */
#define FIELD(off, val, want)                                                  \
	do {                                                                   \
		memcpy(copy, buf, len);                                        \
		copy[off] = (val);                                             \
		reseal(copy, len);                                             \
		assert_int_equal(fmi_agg_state_decode(copy, len, &d), want);   \
	} while (0)
	FIELD(12, 7, -EBADMSG);  /* rule */
	FIELD(24, 13, -EBADMSG); /* version > last opened */
	FIELD(32, 13, -EBADMSG); /* published > last opened */
	FIELD(44, 4, -EBADMSG);  /* n_params: length disagrees */
	FIELD(48, 1, -EBADMSG);  /* n_opt 1 for fedadam */
	FIELD(52, 1, -EBADMSG);  /* reserved */
	FIELD(56, 3, -EBADMSG);  /* n_marks */
	FIELD(64, 0, -EBADMSG);  /* total length */
	FIELD(8, 2, -EPROTONOSUPPORT);
	/* A NaN parameter. */
	memcpy(copy, buf, len);
	memcpy(copy + FMI_AGG_STATE_HEADER_BYTES, "\x00\x00\xc0\x7f", 4);
	reseal(copy, len);
	assert_int_equal(fmi_agg_state_decode(copy, len, &d), -EBADMSG);
	/* Marks out of order. */
	memcpy(copy, buf, len);
	copy[len - 4 - 16] = 4; /* second mark's id 9 -> 4 < 5 */
	reseal(copy, len);
	assert_int_equal(fmi_agg_state_decode(copy, len, &d), -EBADMSG);
#undef FIELD
	free(copy);
	free(buf);
}

static void
test_state_decode_allocation_failures(void **state)
{
	fmi_agg_state s = sample_state(), d;
	uint8_t *buf;
	size_t len;
	int n;

	assert_int_equal(fmi_agg_state_encode(&s, &buf, &len), 0);
	for (n = 0;; n++) {
		int r;

		fm_test_alloc_fail_after(n);
		r = fmi_agg_state_decode(buf, len, &d);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_null(d.params);
	}
	assert_int_equal(n, 4); /* params, m, v, marks */
	fmi_agg_state_clear(&d);
	free(buf);
	fm_test_alloc_fail_after(0);
	assert_int_equal(fmi_agg_state_encode(&s, &buf, &len), -ENOMEM);
	fm_test_alloc_fail_after(-1);
}

struct seen {
	uint64_t id[8], seq[8];
	int n;
	int fail_at;
};

static int
collect(void *userdata, uint64_t id, uint64_t seq)
{
	struct seen *s = userdata;

	if (s->n == s->fail_at)
		return -ENOSPC;
	s->id[s->n] = id;
	s->seq[s->n++] = seq;
	return 0;
}

static void
test_state_journal(void **state)
{
	uint8_t j[3 * FMI_AGG_JOURNAL_RECORD_BYTES];
	uint8_t g[3 * FMI_AGG_JOURNAL_RECORD_BYTES + 7];
	struct seen s = { .fail_at = -1 };
	fmi_agg_journal_scan sc;

	fmi_agg_journal_record(7, 1, j);
	fmi_agg_journal_record(8, 2, j + 20);
	fmi_agg_journal_record(7, 3, j + 40);
	assert_int_equal(
	    fmi_agg_journal_parse(j, sizeof(j), collect, &s, &sc), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.id[1] == 8 && s.seq[1] == 2 && s.seq[2] == 3);
	assert_true(sc.records == 3 && sc.dropped_bytes == 0 &&
	    sc.dropped_runs == 0 && sc.first_dropped == sizeof(j));
	/* A partial record at the end is a torn write: dropped, counted. */
	s.n = 0;
	assert_int_equal(
	    fmi_agg_journal_parse(j, sizeof(j) - 7, collect, &s, &sc), 0);
	assert_int_equal(s.n, 2);
	assert_true(sc.records == 2 && sc.dropped_bytes == 13 &&
	    sc.dropped_runs == 1 && sc.first_dropped == 40);
	/* So is a damaged record, at the end or before others. */
	j[50] ^= 1;
	s.n = 0;
	assert_int_equal(
	    fmi_agg_journal_parse(j, sizeof(j), collect, &s, &sc), 0);
	assert_int_equal(s.n, 2);
	assert_true(sc.dropped_bytes == 20 && sc.dropped_runs == 1);
	j[50] ^= 1;
	j[30] ^= 1;
	s.n = 0;
	assert_int_equal(
	    fmi_agg_journal_parse(j, sizeof(j), collect, &s, &sc), 0);
	assert_int_equal(s.n, 2);
	assert_true(s.seq[0] == 1 && s.seq[1] == 3);
	assert_true(sc.dropped_bytes == 20 && sc.dropped_runs == 1 &&
	    sc.first_dropped == 20);
	j[30] ^= 1;
	/* Records appended after a torn one (the journal of an aggregator
	 * that appended with O_APPEND after a short write) are found at
	 * their offset. */
	memcpy(g, j, 20);
	memcpy(g + 20, j + 20, 7);
	memcpy(g + 27, j + 20, 40);
	s.n = 0;
	assert_int_equal(
	    fmi_agg_journal_parse(g, sizeof(g), collect, &s, &sc), 0);
	assert_int_equal(s.n, 3);
	assert_true(s.seq[0] == 1 && s.seq[1] == 2 && s.seq[2] == 3);
	assert_true(sc.records == 3 && sc.dropped_bytes == 7 &&
	    sc.dropped_runs == 1 && sc.first_dropped == 20);
	/* Key id 0 is never a sender. */
	fmi_agg_journal_record(0, 5, j);
	s.n = 0;
	assert_int_equal(
	    fmi_agg_journal_parse(j, sizeof(j), collect, &s, &sc), 0);
	assert_int_equal(s.n, 2);
	assert_true(sc.dropped_bytes == 20 && sc.first_dropped == 0);
	fmi_agg_journal_record(7, 1, j);
	/* Nothing at all. */
	assert_int_equal(fmi_agg_journal_parse(j, 0, collect, &s, &sc), 0);
	assert_true(sc.records == 0 && sc.dropped_bytes == 0);
	/* The callback's error is returned. */
	s = (struct seen) { .fail_at = 1 };
	assert_int_equal(
	    fmi_agg_journal_parse(j, sizeof(j), collect, &s, &sc), -ENOSPC);
}

/* The journal on disk: appends at the end of the last whole record,
 * reset, repair of a torn or damaged file, and the calls' errors. */
static void
test_state_journal_file(void **state)
{
	uint8_t j[3 * FMI_AGG_JOURNAL_RECORD_BYTES];
	uint8_t g[3 * FMI_AGG_JOURNAL_RECORD_BYTES + 7];
	char path[] = "/tmp/fm-agg-journal-XXXXXX";
	struct seen s = { .fail_at = -1 };
	fmi_agg_journal_scan sc;
	uint64_t len = 0;
	uint8_t *buf;
	size_t n;
	int fd;

	fmi_agg_journal_record(7, 1, j);
	fmi_agg_journal_record(8, 2, j + 20);
	fmi_agg_journal_record(7, 3, j + 40);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	fd = fmi_agg_journal_open(path);
	assert_true(fd >= 0);
	assert_int_equal(fmi_agg_journal_append(fd, &len, 7, 1), 0);
	assert_int_equal(fmi_agg_journal_append(fd, &len, 8, 2), 0);
	assert_int_equal(len, 40);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(n, 40);
	assert_memory_equal(buf, j, 40);
	free(buf);
	assert_int_equal(fmi_agg_journal_reset(fd, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(fmi_agg_journal_append(fd, &len, 7, 3), 0);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(n, 20);
	assert_memory_equal(buf, j + 40, 20);
	free(buf);
	/* A torn tail beyond len (a write cut short, then a kill before it
	 * was cut off) is overwritten by the next record. */
	assert_int_equal(pwrite(fd, "torn", 4, 20), 4);
	len = 20;
	assert_int_equal(fmi_agg_journal_append(fd, &len, 8, 2), 0);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(n, 40);
	assert_memory_equal(buf + 20, j + 20, 20);
	free(buf);

	/* Repair: a journal with a torn record in the middle is cut down
	 * to its whole records, in order, and parses again the same. */
	memcpy(g, j, 20);
	memcpy(g + 20, j + 20, 7);
	memcpy(g + 27, j + 20, 40);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pwrite(fd, g, sizeof(g), 0), (ssize_t)sizeof(g));
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(fmi_agg_journal_parse(buf, n, collect, &s, &sc), 0);
	assert_int_equal(fmi_agg_journal_repair(fd, buf, n, &sc), 0);
	free(buf);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(n, sizeof(j));
	assert_memory_equal(buf, j, sizeof(j));
	free(buf);
	/* A torn tail only: truncated. */
	assert_int_equal(pwrite(fd, "torn", 4, 60), 4);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(n, 64);
	assert_int_equal(fmi_agg_journal_parse(buf, n, collect, &s, &sc), 0);
	assert_int_equal(fmi_agg_journal_repair(fd, buf, n, &sc), 0);
	free(buf);
	assert_int_equal(fm_file_read_all(path, 1 << 20, &buf, &n), 0);
	assert_int_equal(n, 60);
	free(buf);
	close(fd);

	/* Errors of the calls; a failed append keeps len. */
	len = 20;
	assert_int_equal(fmi_agg_journal_append(fd, &len, 7, 4), -EBADF);
	assert_int_equal(len, 20);
	assert_int_equal(fmi_agg_journal_reset(fd, &len), -EBADF);
	assert_int_equal(len, 20);
	sc.dropped_bytes = 1;
	sc.first_dropped = 0;
	assert_int_equal(fmi_agg_journal_repair(fd, j, sizeof(j), &sc), -EBADF);
	assert_int_equal(fmi_agg_journal_open("/nonexistent/dir/j"), -ENOENT);
	unlink(path);
}

static void
test_state_peers(void **state)
{
	fmi_agg_peers t = { 0 };
	fmi_agg_peer *p;

	assert_null(fmi_agg_peers_find(&t, 1));
	for (uint64_t id = 1; id <= 1000; id++) {
		assert_int_equal(fmi_agg_peers_get(&t, id * 0x10000, &p), 0);
		assert_true(p->id == id * 0x10000);
		p->seq = id;
	}
	assert_int_equal(t.n, 1000);
	assert_true(t.cap >= 2000);
	for (uint64_t id = 1; id <= 1000; id++) {
		p = fmi_agg_peers_find(&t, id * 0x10000);
		assert_non_null(p);
		assert_true(p->seq == id);
	}
	assert_null(fmi_agg_peers_find(&t, 3));
	assert_null(fmi_agg_peers_find(&t, 0));
	/* An existing id is found, not added. */
	assert_int_equal(fmi_agg_peers_get(&t, 0x10000, &p), 0);
	assert_int_equal(t.n, 1000);
	/* Growing fails cleanly. */
	{
		fmi_agg_peers u = { 0 };

		fm_test_alloc_fail_after(0);
		assert_int_equal(fmi_agg_peers_get(&u, 5, &p), -ENOMEM);
		fm_test_alloc_fail_after(-1);
		assert_int_equal(u.n, 0);
		/* The cap. */
		u.n = FM_AGG_MAX_PEERS;
		assert_int_equal(fmi_agg_peers_get(&u, 5, &p), -ENOSPC);
		u.n = 0;
		fmi_agg_peers_clear(&u);
	}
	fmi_agg_peers_clear(&t);
	assert_int_equal(t.cap, 0);
	fmi_agg_peers_clear(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_state_encode_refuses_invalid),
		cmocka_unit_test(test_state_decode_refuses_corruption),
		cmocka_unit_test(test_state_decode_allocation_failures),
		cmocka_unit_test(test_state_journal),
		cmocka_unit_test(test_state_journal_file),
		cmocka_unit_test(test_state_peers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
