/*
 * Tests for fed/wire.c and fed/lease.c: sealed envelopes round trip in
 * both directions and refuse every altered byte of the body, every
 * altered header field, another key and a reflected body with -EBADMSG;
 * the unsealed ERROR reply; freshness at the edges of the window and of
 * int64_t; the sequence lease file (format, corruption, extension, a
 * failed extension) and allocation failures (malloc is hooked).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fed/fed-int.h"
#include "fed/fed.h"
#include "tests/support/alloc-hook.h"

/* crypto calls made to fail (-Wl,--wrap): their "cannot happen" codes
 * must not leak out of fed as if they were fed's. */
static int crypto_fail_rv;

int __real_fm_crypto_seal(const fm_crypto_session *, const uint8_t *, size_t,
    const uint8_t *, size_t, uint8_t *, size_t);
int __wrap_fm_crypto_seal(const fm_crypto_session *, const uint8_t *, size_t,
    const uint8_t *, size_t, uint8_t *, size_t);
int __real_fm_crypto_open(const fm_crypto_session *, const uint8_t *, size_t,
    const uint8_t *, size_t, uint8_t *, size_t, size_t *);
int __wrap_fm_crypto_open(const fm_crypto_session *, const uint8_t *, size_t,
    const uint8_t *, size_t, uint8_t *, size_t, size_t *);

int
__wrap_fm_crypto_seal(const fm_crypto_session *s, const uint8_t *ad,
    size_t ad_len, const uint8_t *plain, size_t len, uint8_t *out,
    size_t out_cap)
{
	if (crypto_fail_rv)
		return crypto_fail_rv;
	return __real_fm_crypto_seal(s, ad, ad_len, plain, len, out, out_cap);
}

int
__wrap_fm_crypto_open(const fm_crypto_session *s, const uint8_t *ad,
    size_t ad_len, const uint8_t *sealed, size_t len, uint8_t *out,
    size_t out_cap, size_t *ret_len)
{
	if (crypto_fail_rv)
		return crypto_fail_rv;
	return __real_fm_crypto_open(
	    s, ad, ad_len, sealed, len, out, out_cap, ret_len);
}

static fm_crypto_identity *agent, *aggregator, *stranger;
static fm_crypto_session *agent_s, *aggregator_s, *stranger_s;
static char tmp_dir[64];

static int
setup(void **state)
{
	(void)state;
	if (fm_crypto_init() < 0 || fm_crypto_identity_generate(&agent) < 0 ||
	    fm_crypto_identity_generate(&aggregator) < 0 ||
	    fm_crypto_identity_generate(&stranger) < 0)
		return -1;
	/* The agent's session with the aggregator and back; a stranger
	 * (another aggregator key) with the agent. */
	if (fm_crypto_session_new(agent, FM_CRYPTO_ROLE_AGENT,
	        fm_crypto_identity_public(aggregator), &agent_s) < 0 ||
	    fm_crypto_session_new(aggregator, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(agent), &aggregator_s) < 0 ||
	    fm_crypto_session_new(stranger, FM_CRYPTO_ROLE_AGGREGATOR,
	        fm_crypto_identity_public(agent), &stranger_s) < 0)
		return -1;
	strcpy(tmp_dir, "/tmp/fm-test-fed-XXXXXX");
	if (!mkdtemp(tmp_dir))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	agent_s = fm_crypto_session_free(agent_s);
	aggregator_s = fm_crypto_session_free(aggregator_s);
	stranger_s = fm_crypto_session_free(stranger_s);
	agent = fm_crypto_identity_free(agent);
	aggregator = fm_crypto_identity_free(aggregator);
	stranger = fm_crypto_identity_free(stranger);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_dir);
	(void)!system(cmd);
	return 0;
}

static fm_proto_header
request_header(void)
{
	return (fm_proto_header) {
		.version = FM_PROTO_VERSION,
		.type = FM_PROTO_UPDATE,
		.sender = fm_crypto_identity_key_id(agent),
		.recipient = fm_crypto_identity_key_id(aggregator),
		.round = 42,
		.seq = 1025,
		.timestamp_ms = 1700000000123,
	};
}

static const uint8_t sample_body[] = "a body: params, counts, settings";

/* Seals body under h with from, decodes the envelope into *ret. */
static void
seal_decode(const fm_crypto_session *from, const fm_proto_header *h,
    const uint8_t *body, size_t len, fm_proto_envelope *ret)
{
	uint8_t *buf = NULL;
	size_t buf_len = 0;

	assert_int_equal(fm_fed_seal(from, h, body, len, &buf, &buf_len), 0);
	assert_int_equal(fm_proto_envelope_decode(buf, buf_len, ret), 0);
	free(buf);
}

static void
assert_header_equal(const fm_proto_header *a, const fm_proto_header *b)
{
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->sender, b->sender);
	assert_int_equal(a->recipient, b->recipient);
	assert_int_equal(a->round, b->round);
	assert_int_equal(a->seq, b->seq);
	assert_int_equal(a->timestamp_ms, b->timestamp_ms);
}

/* ---- seal and open ---------------------------------------------------- */

static void
test_fed_seal_open_round_trip(void **state)
{
	fm_proto_header h = request_header();
	fm_proto_envelope e = { 0 };
	uint8_t *body = NULL;
	size_t len = 0;

	(void)state;
	/* Agent to aggregator. */
	seal_decode(agent_s, &h, sample_body, sizeof(sample_body), &e);
	assert_header_equal(&e.h, &h);
	assert_int_equal(
	    e.sealed_len, sizeof(sample_body) + FM_CRYPTO_SEAL_OVERHEAD_BYTES);
	assert_int_equal(fm_fed_open(aggregator_s, &e, &body, &len), 0);
	assert_int_equal(len, sizeof(sample_body));
	assert_memory_equal(body, sample_body, len);
	free(body);
	fm_proto_envelope_clear(&e);

	/* Aggregator to agent, an empty body. */
	h.type = FM_PROTO_VERDICT;
	h.sender = fm_crypto_identity_key_id(aggregator);
	h.recipient = fm_crypto_identity_key_id(agent);
	seal_decode(aggregator_s, &h, NULL, 0, &e);
	body = NULL;
	assert_int_equal(fm_fed_open(agent_s, &e, &body, &len), 0);
	assert_int_equal(len, 0);
	assert_non_null(body);
	free(body);
	fm_proto_envelope_clear(&e);
}

/* Every byte of the sealed body (nonce, ciphertext, MAC) matters. */
static void
test_fed_open_flipped_byte(void **state)
{
	fm_proto_header h = request_header();
	fm_proto_envelope e = { 0 }, t;
	uint8_t *copy, *body = NULL;
	size_t len = 0;

	(void)state;
	seal_decode(agent_s, &h, sample_body, sizeof(sample_body), &e);
	copy = malloc(e.sealed_len);
	assert_non_null(copy);
	for (size_t i = 0; i < e.sealed_len; i++) {
		memcpy(copy, e.sealed, e.sealed_len);
		copy[i] ^= 0x01;
		t = e;
		t.sealed = copy;
		assert_int_equal(
		    fm_fed_open(aggregator_s, &t, &body, &len), -EBADMSG);
		assert_null(body);
	}
	/* Truncated: shorter than the overhead, and by one byte. */
	t = e;
	t.sealed_len = FM_CRYPTO_SEAL_OVERHEAD_BYTES - 1;
	assert_int_equal(fm_fed_open(aggregator_s, &t, &body, &len), -EBADMSG);
	t.sealed_len = e.sealed_len - 1;
	assert_int_equal(fm_fed_open(aggregator_s, &t, &body, &len), -EBADMSG);
	free(copy);
	fm_proto_envelope_clear(&e);
}

/* The header is the associated data: any field changed, no body. */
static void
test_fed_open_header_changed(void **state)
{
	fm_proto_header h = request_header();
	fm_proto_envelope e = { 0 }, t;
	uint8_t *body = NULL;
	size_t len = 0;

	(void)state;
	seal_decode(agent_s, &h, sample_body, sizeof(sample_body), &e);
	for (int field = 0; field < 7; field++) {
		t = e;
		switch (field) {
		case 0:
			t.h.version++;
			break;
		case 1:
			t.h.type = FM_PROTO_HELLO;
			break;
		case 2:
			t.h.sender ^= 1;
			break;
		case 3:
			t.h.recipient ^= 1u << 20;
			break;
		case 4:
			t.h.round++;
			break;
		case 5:
			t.h.seq--;
			break;
		default:
			t.h.timestamp_ms += 1;
			break;
		}
		assert_int_equal(
		    fm_fed_open(aggregator_s, &t, &body, &len), -EBADMSG);
	}
	assert_null(body);
	/* Unchanged, it still opens. */
	assert_int_equal(fm_fed_open(aggregator_s, &e, &body, &len), 0);
	free(body);
	fm_proto_envelope_clear(&e);
}

/* Another key cannot forge, and a body cannot be reflected back. */
static void
test_fed_open_other_key(void **state)
{
	fm_proto_header h = request_header();
	fm_proto_envelope e = { 0 };
	uint8_t *body = NULL;
	size_t len = 0;

	(void)state;
	h.type = FM_PROTO_ROUND;
	h.sender = fm_crypto_identity_key_id(aggregator);
	seal_decode(stranger_s, &h, sample_body, sizeof(sample_body), &e);
	assert_int_equal(fm_fed_open(agent_s, &e, &body, &len), -EBADMSG);
	fm_proto_envelope_clear(&e);

	seal_decode(agent_s, &h, sample_body, sizeof(sample_body), &e);
	assert_int_equal(fm_fed_open(agent_s, &e, &body, &len), -EBADMSG);
	assert_null(body);
	fm_proto_envelope_clear(&e);
}

static void
test_fed_seal_errors(void **state)
{
	fm_proto_header h = request_header();
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	h.type = FM_PROTO_ERROR;
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, &buf, &len), -EINVAL);
	h = request_header();
	h.type = 0;
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, &buf, &len), -EINVAL);
	h.type = FM_PROTO_ERROR + 1;
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, &buf, &len), -EINVAL);
	h = request_header();
	h.version = 0;
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, &buf, &len), -EINVAL);
	h = request_header();
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, NULL, 4, &buf, &len), -EINVAL);
	assert_int_equal(
	    fm_fed_seal(NULL, &h, sample_body, 4, &buf, &len), -EINVAL);
	assert_int_equal(
	    fm_fed_seal(agent_s, NULL, sample_body, 4, &buf, &len), -EINVAL);
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, NULL, &len), -EINVAL);
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, &buf, NULL), -EINVAL);
	/* Refused on the length alone, before anything is read or
	 * allocated. */
	fm_test_alloc_fail_after(0);
	assert_int_equal(fm_fed_seal(agent_s, &h, sample_body,
	                     FM_PROTO_BODY_MAX_BYTES + 1, &buf, &len),
	    -EMSGSIZE);
	fm_test_alloc_fail_after(-1);
	assert_null(buf);
}

static void
test_fed_open_errors(void **state)
{
	fm_proto_header h = request_header();
	fm_proto_envelope e = { 0 }, t;
	uint8_t *buf = NULL, *body = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(
	    fm_fed_error_encode(&h, 7, FM_PROTO_REASON_REPLAY, 1, &buf, &len),
	    0);
	assert_int_equal(fm_proto_envelope_decode(buf, len, &e), 0);
	buf = (free(buf), NULL);
	assert_int_equal(fm_fed_open(agent_s, &e, &body, &len), -EINVAL);
	fm_proto_envelope_clear(&e);

	seal_decode(agent_s, &h, sample_body, sizeof(sample_body), &e);
	/* crypto's -ENOBUFS (ruled out by the sizes fed passes) is -EIO. */
	crypto_fail_rv = -ENOBUFS;
	assert_int_equal(fm_fed_open(aggregator_s, &e, &body, &len), -EIO);
	assert_int_equal(
	    fm_fed_seal(agent_s, &h, sample_body, 4, &buf, &len), -EIO);
	crypto_fail_rv = 0;
	assert_null(buf);
	t = e;
	t.sealed = NULL;
	assert_int_equal(fm_fed_open(aggregator_s, &t, &body, &len), -EINVAL);
	assert_int_equal(fm_fed_open(NULL, &e, &body, &len), -EINVAL);
	assert_int_equal(fm_fed_open(aggregator_s, NULL, &body, &len), -EINVAL);
	assert_int_equal(fm_fed_open(aggregator_s, &e, NULL, &len), -EINVAL);
	assert_int_equal(fm_fed_open(aggregator_s, &e, &body, NULL), -EINVAL);
	assert_null(body);
	fm_proto_envelope_clear(&e);
}

/* Every allocation failing in turn gives -ENOMEM, then it works. */
static void
test_fed_wire_out_of_memory(void **state)
{
	fm_proto_header h = request_header();
	fm_proto_envelope e = { 0 };
	uint8_t *buf = NULL, *body = NULL;
	size_t len = 0, body_len = 0;
	int n, r;

	(void)state;
	for (n = 0;; n++) {
		fm_test_alloc_fail_after(n);
		r = fm_fed_seal(
		    agent_s, &h, sample_body, sizeof(sample_body), &buf, &len);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_true(n < 100);
	}
	assert_true(n > 0);
	assert_int_equal(fm_proto_envelope_decode(buf, len, &e), 0);
	free(buf);
	fm_test_alloc_fail_after(0);
	assert_int_equal(
	    fm_fed_open(aggregator_s, &e, &body, &body_len), -ENOMEM);
	fm_test_alloc_fail_after(-1);
	assert_null(body);
	fm_proto_envelope_clear(&e);

	for (n = 0;; n++) {
		fm_test_alloc_fail_after(n);
		r = fm_fed_error_encode(
		    &h, 1, FM_PROTO_REASON_CLOCK, 2, &buf, &len);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_true(n < 100);
	}
	free(buf);
}

/* ---- ERROR ------------------------------------------------------------ */

static void
check_error(const fm_proto_header *req, uint32_t reason)
{
	fm_proto_envelope e = { 0 };
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(
	    fm_fed_error_encode(req, 77, reason, -5, &buf, &len), 0);
	assert_int_equal(fm_proto_envelope_decode(buf, len, &e), 0);
	free(buf);
	assert_int_equal(e.h.version, FM_PROTO_VERSION);
	assert_int_equal(e.h.type, FM_PROTO_ERROR);
	assert_int_equal(e.h.sender, 77);
	assert_int_equal(e.h.recipient, req ? req->sender : 0);
	assert_int_equal(e.h.round, req ? req->round : 0);
	assert_int_equal(e.h.seq, req ? req->seq : 0);
	assert_int_equal(e.h.timestamp_ms, -5);
	assert_int_equal(e.error, reason);
	assert_null(e.sealed);
	assert_int_equal(e.sealed_len, 0);
	fm_proto_envelope_clear(&e);
}

static void
test_fed_error_encode(void **state)
{
	fm_proto_header h = request_header();
	uint8_t *buf = NULL;
	size_t len = 0;

	(void)state;
	for (uint32_t reason = FM_PROTO_REASON_MALFORMED;
	     reason < FM_PROTO_REASON_COUNT; reason++)
		check_error(&h, reason);
	check_error(NULL, FM_PROTO_REASON_MALFORMED);
	/* An error has a reason. */
	assert_int_equal(
	    fm_fed_error_encode(&h, 1, FM_PROTO_OK, 0, &buf, &len), -EINVAL);
	assert_int_equal(
	    fm_fed_error_encode(&h, 1, FM_PROTO_REASON_COUNT, 0, &buf, &len),
	    -EINVAL);
	assert_int_equal(
	    fm_fed_error_encode(&h, 1, FM_PROTO_REASON_CLOCK, 0, NULL, &len),
	    -EINVAL);
	assert_null(buf);
}

/* ---- freshness -------------------------------------------------------- */

static void
test_fed_timestamp_is_fresh(void **state)
{
	const int64_t now = 1700000000000, w = FM_FED_SKEW_MS_DEFAULT;

	(void)state;
	assert_true(fm_fed_timestamp_is_fresh(now, now, w));
	assert_true(fm_fed_timestamp_is_fresh(now - w, now, w));
	assert_true(fm_fed_timestamp_is_fresh(now + w, now, w));
	assert_false(fm_fed_timestamp_is_fresh(now - w - 1, now, w));
	assert_false(fm_fed_timestamp_is_fresh(now + w + 1, now, w));
	assert_true(fm_fed_timestamp_is_fresh(now, now, 0));
	assert_false(fm_fed_timestamp_is_fresh(now + 1, now, 0));
	assert_false(fm_fed_timestamp_is_fresh(now, now, -1));
	/* The ends of int64_t. */
	assert_false(fm_fed_timestamp_is_fresh(INT64_MIN, now, w));
	assert_false(fm_fed_timestamp_is_fresh(INT64_MAX, now, w));
	assert_false(
	    fm_fed_timestamp_is_fresh(INT64_MIN, INT64_MAX, INT64_MAX));
	assert_false(
	    fm_fed_timestamp_is_fresh(INT64_MAX, INT64_MIN, INT64_MAX));
	assert_true(fm_fed_timestamp_is_fresh(INT64_MAX, 0, INT64_MAX));
	assert_true(fm_fed_timestamp_is_fresh(INT64_MIN + 1, 0, INT64_MAX));
	assert_false(fm_fed_timestamp_is_fresh(INT64_MIN, 0, INT64_MAX));
	assert_true(fm_fed_timestamp_is_fresh(INT64_MAX, INT64_MAX - w, w));
	assert_true(fm_fed_timestamp_is_fresh(INT64_MIN, INT64_MIN + w, w));
	assert_false(fm_fed_timestamp_is_fresh(-1, w, w));
	assert_true(fm_fed_timestamp_is_fresh(-1, w - 1, w));
}

/* ---- the sequence lease ----------------------------------------------- */

static void
lease_path(const char *name, char ret[128])
{
	snprintf(ret, 128, "%s/%s", tmp_dir, name);
}

static void
write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static uint64_t
stored_bound(const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t v = 0;

	assert_int_equal(fm_file_read_all(path, 64, &buf, &len), 0);
	assert_int_equal(fmi_fed_lease_parse(buf, len, &v), 0);
	free(buf);
	return v;
}

static void
test_fed_lease_parse(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"fedmon-seq-lease-v1 \n",
		"fedmon-seq-lease-v1 12",
		"fedmon-seq-lease-v1 12\n\n",
		"fedmon-seq-lease-v1 -12\n",
		"fedmon-seq-lease-v1 +12\n",
		"fedmon-seq-lease-v1  12\n",
		"fedmon-seq-lease-v1 12 \n",
		"fedmon-seq-lease-v1 1x\n",
		"fedmon-seq-lease-v2 12\n",
		"fedmon-seq-lease-v1 18446744073709551616\n",
		/* No room for another lease above it. */
		"fedmon-seq-lease-v1 18446744073709551615\n",
		"12\n",
		"fedmon-seq-lease-v1 "
		"1234567890123456789012345678901234567890\n",
	};
	uint64_t v = 99;
	char text[64];
	int n;

	(void)state;
	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++)
		assert_int_equal(fmi_fed_lease_parse((const uint8_t *)bad[i],
		                     strlen(bad[i]), &v),
		    -EBADMSG);
	/* A NUL inside. */
	assert_int_equal(
	    fmi_fed_lease_parse(
	        (const uint8_t *)"fedmon-seq-lease-v1 1\0002\n", 24, &v),
	    -EBADMSG);
	assert_int_equal(v, 99);
	assert_int_equal(
	    fmi_fed_lease_parse(
	        (const uint8_t *)"fedmon-seq-lease-v1 0\n", 22, &v),
	    0);
	assert_int_equal(v, 0);
	n = snprintf(text, sizeof(text), "fedmon-seq-lease-v1 %" PRIu64 "\n",
	    UINT64_MAX - 2 * (uint64_t)FM_FED_SEQ_LEASE);
	assert_int_equal(
	    fmi_fed_lease_parse((const uint8_t *)text, (size_t)n, &v), 0);
	assert_true(v == UINT64_MAX - 2 * (uint64_t)FM_FED_SEQ_LEASE);
	n = snprintf(text, sizeof(text), "fedmon-seq-lease-v1 %" PRIu64 "\n",
	    UINT64_MAX - 2 * (uint64_t)FM_FED_SEQ_LEASE + 1);
	assert_int_equal(
	    fmi_fed_lease_parse((const uint8_t *)text, (size_t)n, &v),
	    -EBADMSG);
}

/* Numbers continue above the lease across restarts; the file is
 * extended before a number above it is handed out. */
static void
test_fed_lease_extends(void **state)
{
	fmi_fed_lease l = { 0 };
	char path[128];
	uint64_t seq = 0, prev = 0;
	struct stat st;

	(void)state;
	lease_path("lease", path);
	assert_int_equal(fmi_fed_lease_open(path, &l), 0);
	assert_int_equal(stored_bound(path), FM_FED_SEQ_LEASE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	for (unsigned i = 1; i <= FM_FED_SEQ_LEASE; i++) {
		assert_int_equal(fmi_fed_lease_next(&l, &seq), 0);
		assert_int_equal(seq, i);
	}
	assert_int_equal(stored_bound(path), FM_FED_SEQ_LEASE);
	assert_int_equal(fmi_fed_lease_next(&l, &seq), 0);
	assert_int_equal(seq, FM_FED_SEQ_LEASE + 1);
	assert_int_equal(stored_bound(path), 2 * FM_FED_SEQ_LEASE);
	fmi_fed_lease_clear(&l);
	fmi_fed_lease_clear(&l);

	/* Restart: above everything reserved, a new lease written. */
	assert_int_equal(fmi_fed_lease_open(path, &l), 0);
	assert_int_equal(stored_bound(path), 3 * FM_FED_SEQ_LEASE);
	assert_int_equal(fmi_fed_lease_next(&l, &prev), 0);
	assert_int_equal(prev, 2 * FM_FED_SEQ_LEASE + 1);
	fmi_fed_lease_clear(&l);

	/* Memory only: from 1, nothing written. */
	assert_int_equal(fmi_fed_lease_open(NULL, &l), 0);
	assert_int_equal(fmi_fed_lease_next(&l, &seq), 0);
	assert_int_equal(seq, 1);
	l.last = UINT64_MAX;
	assert_int_equal(fmi_fed_lease_next(&l, &seq), -EOVERFLOW);
	fmi_fed_lease_clear(&l);
}

/* A lease that cannot be extended: the number is not handed out, and
 * nothing is skipped once the file can be written again. */
static void
test_fed_lease_extend_fails(void **state)
{
	fmi_fed_lease l = { 0 };
	char path[128], inner[160];
	uint64_t seq = 0;

	(void)state;
	lease_path("lease-fail", path);
	assert_int_equal(fmi_fed_lease_open(path, &l), 0);
	l.last = l.bound - 1;
	assert_int_equal(fmi_fed_lease_next(&l, &seq), 0);
	assert_int_equal(seq, FM_FED_SEQ_LEASE);
	/* A non-empty directory where the file was: rename fails. */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/x", path);
	write_text(inner, "x", 1);
	assert_true(fmi_fed_lease_next(&l, &seq) < 0);
	assert_int_equal(l.last, FM_FED_SEQ_LEASE);
	assert_int_equal(unlink(inner), 0);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(fmi_fed_lease_next(&l, &seq), 0);
	assert_int_equal(seq, FM_FED_SEQ_LEASE + 1);
	assert_int_equal(stored_bound(path), 2 * FM_FED_SEQ_LEASE);

	/* No room above. */
	l.last = l.bound = UINT64_MAX - 1;
	assert_int_equal(fmi_fed_lease_next(&l, &seq), -EOVERFLOW);
	fmi_fed_lease_clear(&l);
}

static void
test_fed_lease_open_errors(void **state)
{
	fmi_fed_lease l = { 0 };
	char path[128];
	char big[100];

	(void)state;
	lease_path("corrupt", path);
	write_text(path, "garbage\n", 8);
	assert_int_equal(fmi_fed_lease_open(path, &l), -EBADMSG);
	/* Left as it was, for the operator to look at. */
	assert_int_equal(access(path, F_OK), 0);
	memset(big, '1', sizeof(big));
	write_text(path, big, sizeof(big));
	assert_int_equal(fmi_fed_lease_open(path, &l), -EBADMSG);
	write_text(path, "", 0);
	assert_int_equal(fmi_fed_lease_open(path, &l), -EBADMSG);

	lease_path("no-such-dir/lease", path);
	assert_int_equal(fmi_fed_lease_open(path, &l), -ENOENT);
	assert_int_equal(fmi_fed_lease_open(tmp_dir, &l), -EISDIR);
	assert_int_equal(fmi_fed_lease_open(tmp_dir, NULL), -EINVAL);
	assert_null(l.path);

	lease_path("oom", path);
	for (int n = 0;; n++) {
		int r;

		fm_test_alloc_fail_after(n);
		r = fmi_fed_lease_open(path, &l);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_true(n < 100);
	}
	fmi_fed_lease_clear(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fed_seal_open_round_trip),
		cmocka_unit_test(test_fed_open_flipped_byte),
		cmocka_unit_test(test_fed_open_header_changed),
		cmocka_unit_test(test_fed_open_other_key),
		cmocka_unit_test(test_fed_seal_errors),
		cmocka_unit_test(test_fed_open_errors),
		cmocka_unit_test(test_fed_wire_out_of_memory),
		cmocka_unit_test(test_fed_error_encode),
		cmocka_unit_test(test_fed_timestamp_is_fresh),
		cmocka_unit_test(test_fed_lease_parse),
		cmocka_unit_test(test_fed_lease_extends),
		cmocka_unit_test(test_fed_lease_extend_fails),
		cmocka_unit_test(test_fed_lease_open_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
