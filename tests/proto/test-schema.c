/*
 * Tests for the wire schema itself (proto/fedmon.proto) and the reason
 * codes. No message may be able to carry samples: every field of every
 * message is listed here by name, number and type, so a new field (or a
 * new message) fails this test until someone changes the lists below on
 * purpose, having checked it carries only parameters, counts or settings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/proto/raw.h"

typedef struct field {
	const char *name;
	uint32_t id;
	ProtobufCType type;
	ProtobufCLabel label;
} field;

/* clang-format off */
#define ONE(n, i, t) { n, i, PROTOBUF_C_TYPE_##t, PROTOBUF_C_LABEL_NONE }
#define MANY(n, i, t) { n, i, PROTOBUF_C_TYPE_##t, PROTOBUF_C_LABEL_REPEATED }

static const field envelope_fields[] = {
	ONE("version", 1, UINT32),
	ONE("type", 2, UINT32),
	ONE("sender", 3, FIXED64),
	ONE("recipient", 4, FIXED64),
	ONE("round", 5, UINT64),
	ONE("seq", 6, UINT64),
	ONE("timestamp_ms", 7, SFIXED64),
	ONE("error", 8, UINT32),
	ONE("sealed", 9, BYTES), /* one of the bodies below, sealed */
	ONE("sealed_refusal", 10, BYTES), /* ERROR: a Refusal, sealed */
};

static const field hello_fields[] = {
	ONE("schema_version", 1, UINT32),
	ONE("layout_id", 2, UINT32),
	ONE("param_count", 3, UINT32),
	ONE("have_version", 4, UINT64),
	ONE("agent_version", 5, BYTES), /* < 32 printable bytes */
};

static const field round_fields[] = {
	ONE("round", 1, UINT64),
	ONE("phase", 2, UINT32),
	ONE("version", 3, UINT64),
	ONE("layout_id", 4, UINT32),
	ONE("param_count", 5, UINT32),
	MANY("params", 6, FLOAT), /* the global model */
	ONE("prox_mu", 7, FLOAT),
	ONE("local_steps", 8, UINT32),
	ONE("deadline_ms", 9, UINT32),
	ONE("poll_ms", 10, UINT32),
	ONE("contributed", 11, BOOL),
};

static const field update_fields[] = {
	ONE("round", 1, UINT64),
	ONE("base_version", 2, UINT64),
	ONE("layout_id", 3, UINT32),
	ONE("kind", 4, UINT32),
	ONE("samples", 5, UINT64), /* a count of rows, not rows */
	ONE("loss", 6, FLOAT),
	ONE("param_count", 7, UINT32),
	MANY("params", 8, FLOAT), /* model parameters or their delta */
};

static const field verdict_fields[] = {
	ONE("round", 1, UINT64),
	ONE("reason", 2, UINT32),
	ONE("clipped", 3, BOOL),
	ONE("poll_ms", 4, UINT32),
};

static const field refusal_fields[] = {
	ONE("reason", 1, UINT32),
	ONE("seq_floor", 2, UINT64), /* a sequence number, not a sample */
};
/* clang-format on */

static const struct {
	const ProtobufCMessageDescriptor *d;
	const char *name;
	const field *fields;
	size_t n_fields;
} messages[] = {
	{ &fedmon__v1__envelope__descriptor, "fedmon.v1.Envelope",
	    envelope_fields, FM_ELEMENTSOF(envelope_fields) },
	{ &fedmon__v1__hello__descriptor, "fedmon.v1.Hello", hello_fields,
	    FM_ELEMENTSOF(hello_fields) },
	{ &fedmon__v1__round__descriptor, "fedmon.v1.Round", round_fields,
	    FM_ELEMENTSOF(round_fields) },
	{ &fedmon__v1__update__descriptor, "fedmon.v1.Update", update_fields,
	    FM_ELEMENTSOF(update_fields) },
	{ &fedmon__v1__verdict__descriptor, "fedmon.v1.Verdict", verdict_fields,
	    FM_ELEMENTSOF(verdict_fields) },
	{ &fedmon__v1__refusal__descriptor, "fedmon.v1.Refusal", refusal_fields,
	    FM_ELEMENTSOF(refusal_fields) },
};

static const ProtobufCFieldDescriptor *
find_field(const ProtobufCMessageDescriptor *d, const char *name)
{
	for (unsigned i = 0; i < d->n_fields; i++)
		if (strcmp(d->fields[i].name, name) == 0)
			return &d->fields[i];
	return NULL;
}

static void
test_schema_fields_are_exactly_these(void **state)
{
	for (size_t m = 0; m < FM_ELEMENTSOF(messages); m++) {
		const ProtobufCMessageDescriptor *d = messages[m].d;

		assert_int_equal(
		    d->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
		assert_string_equal(d->name, messages[m].name);
		assert_int_equal(d->n_fields, messages[m].n_fields);
		for (size_t i = 0; i < messages[m].n_fields; i++) {
			const field *want = &messages[m].fields[i];
			const ProtobufCFieldDescriptor *f =
			    find_field(d, want->name);

			if (!f) {
				fail_msg(
				    "%s: no field '%s'", d->name, want->name);
				return;
			}
			assert_int_equal(f->id, want->id);
			assert_int_equal(f->type, want->type);
			assert_int_equal(f->label, want->label);
			assert_null(f->descriptor); /* no sub-messages */
			/* Repeated means packed floats: 4 bytes each. */
			assert_int_equal(f->label == PROTOBUF_C_LABEL_REPEATED,
			    (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) != 0);
			assert_int_equal(
			    f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF, 0);
		}
	}
}

/* The rules of the file's header, for every field of every message. */
static void
test_schema_rules_hold(void **state)
{
	for (size_t m = 0; m < FM_ELEMENTSOF(messages); m++) {
		const ProtobufCMessageDescriptor *d = messages[m].d;

		for (unsigned i = 0; i < d->n_fields; i++) {
			const ProtobufCFieldDescriptor *f = &d->fields[i];

			assert_int_not_equal(f->type, PROTOBUF_C_TYPE_MESSAGE);
			assert_int_not_equal(f->type, PROTOBUF_C_TYPE_STRING);
			assert_int_not_equal(f->type, PROTOBUF_C_TYPE_ENUM);
			if (f->label == PROTOBUF_C_LABEL_REPEATED) {
				assert_int_equal(
				    f->type, PROTOBUF_C_TYPE_FLOAT);
				assert_string_equal(f->name, "params");
			}
			if (f->type == PROTOBUF_C_TYPE_BYTES)
				assert_true(strcmp(f->name, "sealed") == 0 ||
				    strcmp(f->name, "sealed_refusal") == 0 ||
				    strcmp(f->name, "agent_version") == 0);
		}
	}
}

/* The .proto declares exactly the messages listed above, and nothing
 * that could smuggle in another (imports, maps, oneofs). */
static void
test_schema_proto_file_declares_these_messages(void **state)
{
	char line[512];
	size_t seen = 0;
	FILE *f = fopen(FM_SOURCE_ROOT "/proto/fedmon.proto", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char name[64];
		bool known = false;

		assert_null(strstr(line, "import "));
		assert_null(strstr(line, "map<"));
		assert_null(strstr(line, "oneof "));
		assert_null(strstr(line, "extend "));
		if (sscanf(line, "message %63s", name) != 1)
			continue;
		for (size_t m = 0; m < FM_ELEMENTSOF(messages); m++)
			known |= strcmp(messages[m].name + strlen("fedmon.v1."),
			             name) == 0;
		assert_true(known);
		seen++;
	}
	fclose(f);
	assert_int_equal(seen, FM_ELEMENTSOF(messages));
}

static void
test_schema_reason_names(void **state)
{
	static const char *const names[] = { "ok", "malformed", "version",
		"too_large", "unknown_key", "bad_seal", "replay", "clock",
		"round_closed", "layout", "norm", "duplicate", "unexpected",
		"stale_base", "recipient", "internal" };

	assert_int_equal(FM_ELEMENTSOF(names), FM_PROTO_REASON_COUNT);
	for (uint32_t r = 0; r < FM_PROTO_REASON_COUNT; r++)
		assert_string_equal(fm_proto_reason_name(r), names[r]);
	assert_string_equal(
	    fm_proto_reason_name(FM_PROTO_REASON_COUNT), "unknown");
	assert_string_equal(fm_proto_reason_name(UINT32_MAX), "unknown");
	/* Wire numbers are stable. */
	assert_int_equal(FM_PROTO_REASON_UNKNOWN_KEY, 4);
	assert_int_equal(FM_PROTO_REASON_INTERNAL, 15);
	assert_int_equal(FM_PROTO_ERROR, 5);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_fields_are_exactly_these),
		cmocka_unit_test(test_schema_rules_hold),
		cmocka_unit_test(
		    test_schema_proto_file_declares_these_messages),
		cmocka_unit_test(test_schema_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
