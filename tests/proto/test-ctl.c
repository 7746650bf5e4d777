/*
 * Tests for the control socket's messages (proto/ctl.c): round trips of
 * every field at its caps, every validation error of the encoders and
 * decoders with its exact code (the decoders' through raw messages that
 * our encoders refuse to write), caps refused before anything is read,
 * garbage, the memory budget with the worst legitimate reply, and
 * allocation failures without leaks.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/control.pb-c.h"
#include "tests/proto/raw.h"
#include "tests/support/alloc-hook.h"

typedef ProtobufCBinaryData bin;

/* Writes text of exactly len characters, cycling through a-z from
 * seed, into dst. */
static void
put_text(char *dst, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		dst[i] = (char)('a' + (seed + i) % 26);
	dst[len] = '\0';
}

/*
 * A reply with every list at its cap. Text is name_len characters long
 * (capped to each field's size) and numbers vary by index, so a field
 * read into the wrong slot shows.
 */
static fm_proto_ctl_reply *
full_reply(size_t name_len)
{
	fm_proto_ctl_reply *rp = calloc(1, sizeof(*rp));
	fm_proto_ctl_status *s;

#define LEN(field) (name_len < sizeof(field) ? name_len : sizeof(field) - 1)
	assert_non_null(rp);
	s = &rp->status;
	rp->version = FM_PROTO_CTL_VERSION;
	rp->kind = FM_PROTO_CTL_STATUS;
	rp->error = -ENOTSUP;
	put_text(rp->message, LEN(rp->message), 1);
	rp->label_changed = true;

	put_text(s->agent_version, LEN(s->agent_version), 2);
	s->pid = 4242;
	s->start_real_ns = 1700000000123456789LL;
	s->uptime_ms = 123456789;
	put_text(s->config_path, LEN(s->config_path), 3);
	put_text(s->state_dir, LEN(s->state_dir), 4);
	put_text(s->metrics_url, LEN(s->metrics_url), 5);
	s->interval_ms = 1000;
	s->n_problems = FM_PROTO_CTL_PROBLEMS_MAX;
	for (unsigned i = 0; i < s->n_problems; i++)
		put_text(s->problems[i], LEN(s->problems[i]), 6 + i);
	s->samples = 1ull << 40;
	s->samples_failed = 3;
	put_text(s->collectors_missing, LEN(s->collectors_missing), 7);
	put_text(s->collectors_failing, LEN(s->collectors_failing), 8);
	s->last_sample_real_ns = -5; /* signed on the wire */
	s->last_sample_age_ms = 400;

	s->learning = s->ready = s->alarm = true;
	s->training = false;
	s->trainings = 7;
	s->train_failures = 2;
	s->train_error = -ENOMEM;
	s->trained_real_ns = 1700000000000000000LL;
	s->rows_held = 3600;
	s->min_rows = 600;
	s->score = 3.5f;
	s->threshold = -1.5f;
	s->scored = 99999;
	s->alarms = 12;
	s->n_top = FM_PROTO_CTL_TOP_MAX;
	for (unsigned i = 0; i < s->n_top; i++) {
		put_text(s->top[i].name, LEN(s->top[i].name), 9 + i);
		s->top[i].contrib = 0.5f / (float)(i + 1);
	}
	s->n_predictors = FM_PROTO_CTL_PREDICTORS_MAX;
	for (unsigned i = 0; i < s->n_predictors; i++) {
		fm_proto_ctl_predictor *p = &s->predictors[i];

		put_text(p->name, LEN(p->name), 10 + i);
		p->enabled = i % 2;
		p->trained = i % 3 == 0;
		p->failing = i == 5;
		p->probability = (float)i / 8;
		p->onsets = i * 3;
		p->events = i * 5 + 1;
		p->trusted = i % 4 == 1; /* not as trained: sent */
	}

	s->federating = s->reachable = true;
	put_text(s->aggregator, LEN(s->aggregator), 11);
	s->last_contact_real_ns = 1700000001000000000LL;
	s->round = 17;
	s->fleet_version = 16;
	s->applied_version = 15;
	s->updates_sent = 10;
	s->updates_accepted = 9;
	s->updates_refused = 1;
	s->fed_error = -ETIMEDOUT;
	put_text(s->fed_reason, LEN(s->fed_reason), 12);
	s->exchanges = 1000;
	s->fed_failures = 4;

	s->acting = true;
	s->n_rules = FM_PROTO_CTL_RULES_MAX;
	for (unsigned i = 0; i < s->n_rules; i++) {
		fm_proto_ctl_rule *u = &s->rules[i];

		put_text(u->name, LEN(u->name), 13 + i);
		put_text(u->kind, LEN(u->kind), 14 + i);
		u->dry_run = i % 2;
		u->holding = i % 3 == 1;
		u->running = i % 5 == 2;
		u->ok = i + 1;
		u->failed = i + 2;
		u->timeout = i + 3;
		u->error = i + 4;
		u->dry_runs = i + 5;
		u->suppressed = i + 6;
		u->last_run_real_ns = (int64_t)i * 1000000007LL;
	}
	s->n_recent = FM_PROTO_CTL_RECENT_MAX;
	for (unsigned i = 0; i < s->n_recent; i++) {
		fm_proto_ctl_action *a = &s->recent[i];

		a->real_ns = 1700000002000000000LL - (int64_t)i;
		put_text(a->rule, LEN(a->rule), 15 + i);
		put_text(a->kind, LEN(a->kind), 16 + i);
		put_text(a->result, LEN(a->result), 17 + i);
		a->code = i % 2 ? -(int)i : (int)i;
		a->duration_ms = i * 100;
		a->value = (float)i * 0.25f;
	}

	rp->features.real_ns = 1700000003000000000LL;
	rp->features.schema_version = 1;
	rp->features.n = FM_PROTO_CTL_FEATURES_MAX;
	for (unsigned i = 0; i < rp->features.n; i++) {
		fm_proto_ctl_feature *f = &rp->features.f[i];

		put_text(f->name, LEN(f->name), 18 + i);
		put_text(f->unit, LEN(f->unit), 19 + i);
		f->value = i % 7 == 0 ? NAN : (float)i / 3;
	}
#undef LEN
	return rp;
}

static void
reply_round_trip(const fm_proto_ctl_reply *in)
{
	fm_proto_ctl_reply *out = malloc(sizeof(*out));
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_non_null(out);
	assert_int_equal(fm_proto_ctl_reply_encode(in, &buf, &len), 0);
	assert_true(len <= FM_PROTO_CTL_REPLY_MAX_BYTES);
	memset(out, 0x5a, sizeof(*out));
	assert_int_equal(fm_proto_ctl_reply_decode(buf, len, out), 0);
	/* both were zeroed before being filled: padding compares too */
	assert_memory_equal(in, out, sizeof(*in));
	free(buf);
	free(out);
}

/* ---- request ------------------------------------------------------------ */

static void
test_ctl_request_round_trip(void **state)
{
	for (uint32_t kind = FM_PROTO_CTL_STATUS; kind <= FM_PROTO_CTL_ACCEPT;
	     kind++) {
		for (int failing = 0; failing < 2; failing++) {
			fm_proto_ctl_request in = { .version =
				                        FM_PROTO_CTL_VERSION,
				.kind = kind,
				.failing = failing };
			fm_proto_ctl_request out;
			uint8_t *buf = NULL;
			size_t len = 0;

			assert_int_equal(
			    fm_proto_ctl_request_encode(&in, &buf, &len), 0);
			assert_true(len <= FM_PROTO_CTL_REQUEST_MAX_BYTES);
			memset(&out, 0x5a, sizeof(out));
			assert_int_equal(
			    fm_proto_ctl_request_decode(buf, len, &out), 0);
			assert_int_equal(out.version, in.version);
			assert_int_equal(out.kind, in.kind);
			assert_int_equal(out.failing, in.failing);
			free(buf);
		}
	}
}

static void
test_ctl_request_invalid(void **state)
{
	Fedmon__Ctl__V1__Request m = FEDMON__CTL__V1__REQUEST__INIT;
	fm_proto_ctl_request in = { .version = 0, .kind = 1 }, out;
	uint8_t *buf = NULL;
	size_t len = 0;

	/* the encoder refuses what the decoder would */
	assert_int_equal(fm_proto_ctl_request_encode(&in, &buf, &len), -EINVAL);
	in.version = FM_PROTO_CTL_VERSION;
	in.kind = 0;
	assert_int_equal(fm_proto_ctl_request_encode(&in, &buf, &len), -EINVAL);
	in.kind = FM_PROTO_CTL_ACCEPT + 1;
	assert_int_equal(fm_proto_ctl_request_encode(&in, &buf, &len), -EINVAL);
	assert_null(buf);

	/* version absent */
	m.kind = FM_PROTO_CTL_STATUS;
	buf = raw_pack(&m.base, &len);
	memset(&out, 0x5a, sizeof(out));
	assert_int_equal(fm_proto_ctl_request_decode(buf, len, &out), -EBADMSG);
	assert_true(raw_is_zero(&out, sizeof(out)));
	free(buf);
	/* kinds out of range */
	m.version = FM_PROTO_CTL_VERSION;
	m.kind = 0;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_ctl_request_decode(buf, len, &out), -EBADMSG);
	free(buf);
	m.kind = FM_PROTO_CTL_ACCEPT + 1;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(fm_proto_ctl_request_decode(buf, len, &out), -EBADMSG);
	free(buf);
	/* another version: refused, but filled so the agent can say */
	m.version = FM_PROTO_CTL_VERSION + 1;
	m.kind = FM_PROTO_CTL_LABEL;
	m.failing = true;
	buf = raw_pack(&m.base, &len);
	assert_int_equal(
	    fm_proto_ctl_request_decode(buf, len, &out), -EPROTONOSUPPORT);
	assert_int_equal(out.version, FM_PROTO_CTL_VERSION + 1);
	assert_int_equal(out.kind, FM_PROTO_CTL_LABEL);
	assert_true(out.failing);
	free(buf);
}

/* ---- reply ------------------------------------------------------------ */

static void
test_ctl_reply_round_trip(void **state)
{
	fm_proto_ctl_reply *rp = full_reply(20);

	reply_round_trip(rp);
	/* a LABEL answer, nothing else */
	memset(rp, 0, sizeof(*rp));
	rp->version = FM_PROTO_CTL_VERSION;
	rp->kind = FM_PROTO_CTL_LABEL;
	rp->label_changed = true;
	reply_round_trip(rp);
	/* an error answer to a request not understood */
	memset(rp, 0, sizeof(*rp));
	rp->version = FM_PROTO_CTL_VERSION;
	rp->error = -EBADMSG;
	snprintf(rp->message, sizeof(rp->message), "malformed request");
	reply_round_trip(rp);
	free(rp);
}

/* Every text at its longest: the largest reply fits the cap. */
static void
test_ctl_reply_largest_fits(void **state)
{
	fm_proto_ctl_reply *rp = full_reply(SIZE_MAX);

	reply_round_trip(rp);
	free(rp);
}

/* Every list at its cap with one-letter text and zero numbers: the most
 * fields per byte a legitimate reply has still decodes within proto's
 * memory budget. */
static void
test_ctl_reply_densest_decodes(void **state)
{
	fm_proto_ctl_reply *rp = full_reply(1);
	fm_proto_ctl_status *s = &rp->status;

	for (unsigned i = 0; i < FM_PROTO_CTL_RULES_MAX; i++) {
		memset(&s->rules[i], 0, sizeof(s->rules[i]));
		s->rules[i].name[0] = s->rules[i].kind[0] = 'r';
	}
	for (unsigned i = 0; i < FM_PROTO_CTL_RECENT_MAX; i++) {
		memset(&s->recent[i], 0, sizeof(s->recent[i]));
		s->recent[i].rule[0] = s->recent[i].kind[0] = 'a';
		s->recent[i].result[0] = 'a';
	}
	for (unsigned i = 0; i < FM_PROTO_CTL_FEATURES_MAX; i++)
		rp->features.f[i].value = 0;
	reply_round_trip(rp);
	free(rp);
}

static void
expect_encode_einval(fm_proto_ctl_reply *rp)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(fm_proto_ctl_reply_encode(rp, &buf, &len), -EINVAL);
	assert_null(buf);
}

static void
test_ctl_reply_encode_invalid(void **state)
{
	fm_proto_ctl_reply *rp = full_reply(8);
	fm_proto_ctl_status *s = &rp->status;

	rp->version = 0;
	expect_encode_einval(rp);
	rp->version = FM_PROTO_CTL_VERSION;
	rp->kind = FM_PROTO_CTL_ACCEPT + 1;
	expect_encode_einval(rp);
	rp->kind = 0; /* valid: a request not understood */

	s->n_problems++;
	expect_encode_einval(rp);
	s->n_problems--;
	s->n_top++;
	expect_encode_einval(rp);
	s->n_top--;
	s->n_predictors++;
	expect_encode_einval(rp);
	s->n_predictors--;
	s->n_rules++;
	expect_encode_einval(rp);
	s->n_rules--;
	s->n_recent++;
	expect_encode_einval(rp);
	s->n_recent--;
	rp->features.n++;
	expect_encode_einval(rp);
	rp->features.n--;

	/* text that is not printable, or has no NUL within its size */
	rp->message[2] = '\n';
	expect_encode_einval(rp);
	rp->message[2] = 'm';
	s->recent[31].result[0] = '\x80';
	expect_encode_einval(rp);
	s->recent[31].result[0] = 'r';
	memset(rp->features.f[127].unit, 'u', sizeof(rp->features.f[127].unit));
	expect_encode_einval(rp);
	memset(rp->features.f[127].unit, 0, sizeof(rp->features.f[127].unit));
	memset(s->state_dir, 's', sizeof(s->state_dir));
	expect_encode_einval(rp);
	s->state_dir[FM_PROTO_CTL_TEXT_BYTES - 1] = '\0';

	reply_round_trip(rp);
	free(rp);
}

/* Packs a raw reply and expects its decoder to return want with the
 * result zeroed. */
static void
expect_decode(const Fedmon__Ctl__V1__Reply *m, int want)
{
	fm_proto_ctl_reply *out = malloc(sizeof(*out));
	size_t len;
	uint8_t *buf = raw_pack(&m->base, &len);

	assert_non_null(out);
	memset(out, 0x5a, sizeof(*out));
	assert_int_equal(fm_proto_ctl_reply_decode(buf, len, out), want);
	if (want < 0 && want != -EPROTONOSUPPORT)
		assert_true(raw_is_zero(out, sizeof(*out)));
	free(buf);
	free(out);
}

/* A text list of n items, each "n". */
static bin
names_list(size_t n)
{
	static const uint8_t items[] = "n\0n\0n\0n\0n\0n\0n\0n\0n\0n\0";

	assert_true(2 * n <= sizeof(items) - 1);
	return (bin) { .len = 2 * n, .data = (uint8_t *)items };
}

static void
test_ctl_reply_decode_invalid(void **state)
{
	Fedmon__Ctl__V1__Reply m = FEDMON__CTL__V1__REPLY__INIT;
	float floats[FM_PROTO_CTL_TOP_MAX + 1] = { 0 };
	char long_text[FM_PROTO_CTL_TEXT_BYTES];
	uint8_t list[FM_PROTO_CTL_PROBLEM_BYTES + 4];
	fm_proto_ctl_reply *out;
	uint8_t *buf;
	size_t len;

	memset(long_text, 'x', sizeof(long_text));

	/* version absent, kind out of range */
	m.kind = FM_PROTO_CTL_STATUS;
	expect_decode(&m, -EBADMSG);
	m.version = FM_PROTO_CTL_VERSION;
	m.kind = FM_PROTO_CTL_ACCEPT + 1;
	expect_decode(&m, -EBADMSG);
	m.kind = FM_PROTO_CTL_STATUS;
	expect_decode(&m, 0);

	/* the lists of one table disagree */
	m.top_names = names_list(2);
	m.n_top_contrib = 1;
	m.top_contrib = floats;
	expect_decode(&m, -EBADMSG);
	m.n_top_contrib = 2;
	expect_decode(&m, 0);
	m.feature_names = names_list(3);
	m.feature_units = names_list(3);
	m.n_feature_value = 2;
	m.feature_value = floats;
	expect_decode(&m, -EBADMSG);
	m.n_feature_value = 3;
	expect_decode(&m, 0);
	m.feature_units = names_list(2);
	expect_decode(&m, -EBADMSG);
	m.feature_names = m.feature_units = names_list(0);
	m.n_feature_value = 0;
	m.action_rules = names_list(1);
	expect_decode(&m, -EBADMSG);
	m.action_rules = names_list(0);
	m.predictor_names = names_list(1);
	expect_decode(&m, -EBADMSG);
	m.predictor_names = names_list(0);
	m.rule_kinds = names_list(1);
	expect_decode(&m, -EBADMSG);
	m.rule_kinds = names_list(0);

	/* a list over its cap, its table consistent */
	m.top_names = names_list(FM_PROTO_CTL_TOP_MAX + 1);
	m.n_top_contrib = FM_PROTO_CTL_TOP_MAX + 1;
	expect_decode(&m, -EBADMSG);
	m.top_names = names_list(0);
	m.n_top_contrib = 0;
	m.problems = names_list(FM_PROTO_CTL_PROBLEMS_MAX + 1);
	expect_decode(&m, -EBADMSG);
	m.problems = names_list(FM_PROTO_CTL_PROBLEMS_MAX);
	expect_decode(&m, 0);

	/* a text list whose last item lacks its NUL, an item too long or
	 * not printable */
	m.problems = (bin) { .len = 3, .data = (uint8_t *)"a\0b" };
	expect_decode(&m, -EBADMSG);
	memset(list, 'p', sizeof(list));
	list[FM_PROTO_CTL_PROBLEM_BYTES] = '\0';
	m.problems =
	    (bin) { .len = FM_PROTO_CTL_PROBLEM_BYTES + 1, .data = list };
	expect_decode(&m, -EBADMSG);
	list[FM_PROTO_CTL_PROBLEM_BYTES - 1] = '\0'; /* fits with its NUL */
	m.problems.len = FM_PROTO_CTL_PROBLEM_BYTES;
	expect_decode(&m, 0);
	m.problems = names_list(0);
	m.feature_names = m.feature_units = (bin) { .len = 4,
		.data = (uint8_t *)"a\x1b"
		                   "b\0" };
	m.n_feature_value = 1;
	expect_decode(&m, -EBADMSG);
	m.feature_names = m.feature_units = names_list(0);
	m.n_feature_value = 0;

	/* text too long, or not printable */
	m.message =
	    (bin) { .len = sizeof(long_text), .data = (uint8_t *)long_text };
	expect_decode(&m, -EBADMSG);
	m.message.len = sizeof(long_text) - 1; /* fits with its NUL */
	expect_decode(&m, 0);
	m.message.len = 0;
	m.agent_version = (bin) { .len = FM_PROTO_VERSION_TEXT_BYTES,
		.data = (uint8_t *)long_text };
	expect_decode(&m, -EBADMSG);
	m.agent_version.len = 0;
	m.fed_reason = (bin) { .len = 3, .data = (uint8_t *)"a\tb" };
	expect_decode(&m, -EBADMSG);
	m.fed_reason = (bin) { .len = 2, .data = (uint8_t *)"a\0" };
	expect_decode(&m, -EBADMSG);
	m.fed_reason.len = 0;

	/* another version: refused, but filled */
	m.version = FM_PROTO_CTL_VERSION + 1;
	m.error = -EPROTONOSUPPORT;
	m.message = (bin) { .len = 5, .data = (uint8_t *)"newer" };
	buf = raw_pack(&m.base, &len);
	out = malloc(sizeof(*out));
	assert_non_null(out);
	assert_int_equal(
	    fm_proto_ctl_reply_decode(buf, len, out), -EPROTONOSUPPORT);
	assert_int_equal(out->version, FM_PROTO_CTL_VERSION + 1);
	assert_int_equal(out->error, -EPROTONOSUPPORT);
	assert_string_equal(out->message, "newer");
	free(out);
	free(buf);
}

/* ---- both ------------------------------------------------------------ */

static void
test_ctl_cap_refused_unread(void **state)
{
	size_t len = FM_PROTO_CTL_REPLY_MAX_BYTES + 1;
	uint8_t *buf = malloc(len);
	fm_proto_ctl_reply *out = malloc(sizeof(*out));
	fm_proto_ctl_request rq;
	unsigned before;

	assert_non_null(buf);
	assert_non_null(out);
	memset(buf, 0xff, len); /* garbage, were it parsed */
	before = fm_test_alloc_count();
	assert_int_equal(fm_proto_ctl_request_decode(
	                     buf, FM_PROTO_CTL_REQUEST_MAX_BYTES + 1, &rq),
	    -EMSGSIZE);
	assert_int_equal(fm_proto_ctl_reply_decode(buf, len, out), -EMSGSIZE);
	assert_int_equal(
	    fm_proto_ctl_reply_decode(buf, SIZE_MAX, out), -EMSGSIZE);
	assert_int_equal(fm_test_alloc_count(), before);
	free(out);
	free(buf);
}

static void
test_ctl_garbage(void **state)
{
	static const uint8_t truncated_varint[] = { 0x08, 0xff, 0xff };
	static const uint8_t bad_wire_type[] = { 0x0d, 1, 2, 3, 4 };
	static const uint8_t long_length[] = { 0x22, 0x7f, 'x' };
	static const uint8_t field_zero[] = { 0x00, 0x01 };
	static const uint8_t group[] = { 0x0b, 0x0c };
	static const uint8_t text[] = "{\"kind\": 1}";
	const struct {
		const uint8_t *buf;
		size_t len;
	} cases[] = {
		{ truncated_varint, sizeof(truncated_varint) },
		{ bad_wire_type, sizeof(bad_wire_type) },
		{ long_length, sizeof(long_length) },
		{ field_zero, sizeof(field_zero) }, { group, sizeof(group) },
		{ text, sizeof(text) - 1 },
		{ NULL, 0 }, /* empty: version absent */
	};
	fm_proto_ctl_reply *out = malloc(sizeof(*out));
	fm_proto_ctl_request rq;

	assert_non_null(out);
	for (size_t i = 0; i < FM_ELEMENTSOF(cases); i++) {
		assert_int_equal(fm_proto_ctl_request_decode(
		                     cases[i].buf, cases[i].len, &rq),
		    -EBADMSG);
		assert_int_equal(
		    fm_proto_ctl_reply_decode(cases[i].buf, cases[i].len, out),
		    -EBADMSG);
	}
	free(out);
}

/* Every allocation of the encoders and decoders may fail: -ENOMEM, the
 * result zeroed, nothing leaked (ASan). */
static void
test_ctl_enomem(void **state)
{
	fm_proto_ctl_request rq = { .version = FM_PROTO_CTL_VERSION,
		.kind = FM_PROTO_CTL_LABEL,
		.failing = true },
	                     rq_out;
	fm_proto_ctl_reply *rp = full_reply(12);
	fm_proto_ctl_reply *out = malloc(sizeof(*out));
	uint8_t *rq_buf = NULL, *rp_buf = NULL, *buf = NULL;
	size_t rq_len = 0, rp_len = 0, len = 0;
	int r;

	assert_non_null(out);
	for (int i = 0;; i++) {
		fm_test_alloc_fail_after(i);
		r = fm_proto_ctl_reply_encode(rp, &buf, &len);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_null(buf);
	}
	free(buf);
	buf = NULL;
	fm_test_alloc_fail_after(0);
	r = fm_proto_ctl_request_encode(&rq, &buf, &len);
	fm_test_alloc_fail_after(-1);
	assert_int_equal(r, -ENOMEM);
	assert_null(buf);

	assert_int_equal(fm_proto_ctl_request_encode(&rq, &rq_buf, &rq_len), 0);
	assert_int_equal(fm_proto_ctl_reply_encode(rp, &rp_buf, &rp_len), 0);
	for (int i = 0;; i++) {
		memset(&rq_out, 0x5a, sizeof(rq_out));
		fm_test_alloc_fail_after(i);
		r = fm_proto_ctl_request_decode(rq_buf, rq_len, &rq_out);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_true(raw_is_zero(&rq_out, sizeof(rq_out)));
	}
	for (int i = 0;; i++) {
		memset(out, 0x5a, sizeof(*out));
		fm_test_alloc_fail_after(i);
		r = fm_proto_ctl_reply_decode(rp_buf, rp_len, out);
		fm_test_alloc_fail_after(-1);
		if (r == 0)
			break;
		assert_int_equal(r, -ENOMEM);
		assert_true(raw_is_zero(out, sizeof(*out)));
	}
	assert_memory_equal(rp, out, sizeof(*rp));
	free(rq_buf);
	free(rp_buf);
	free(out);
	free(rp);
}

static void
test_ctl_text_copy(void **state)
{
	char small[6];

	fm_proto_ctl_text_copy(small, sizeof(small), "a\tb\xc3\xa9");
	assert_string_equal(small, "a?b??");
	fm_proto_ctl_text_copy(small, sizeof(small), "/run/fedmon");
	assert_string_equal(small, "/run/");
	fm_proto_ctl_text_copy(small, sizeof(small), NULL);
	assert_string_equal(small, "");
	fm_proto_ctl_text_copy(small, 1, "x");
	assert_string_equal(small, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ctl_request_round_trip),
		cmocka_unit_test(test_ctl_request_invalid),
		cmocka_unit_test(test_ctl_reply_round_trip),
		cmocka_unit_test(test_ctl_reply_largest_fits),
		cmocka_unit_test(test_ctl_reply_densest_decodes),
		cmocka_unit_test(test_ctl_reply_encode_invalid),
		cmocka_unit_test(test_ctl_reply_decode_invalid),
		cmocka_unit_test(test_ctl_cap_refused_unread),
		cmocka_unit_test(test_ctl_garbage),
		cmocka_unit_test(test_ctl_enomem),
		cmocka_unit_test(test_ctl_text_copy),
	};

	return cmocka_run_group_tests_name("proto-ctl", tests, NULL, NULL);
}
