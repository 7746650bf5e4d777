/*
 * proto/ internals: the glue between the C structs of proto/proto.h and
 * the protoc-c generated code (proto/fedmon.pb-c.h), which no other
 * module sees. Included by the .c files of proto/ and by its own tests.
 */
#ifndef FM_PROTO_INT_H
#define FM_PROTO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/fedmon.pb-c.h"
#include "proto/proto.h"

/*
 * Bytes a decode may allocate beyond twice the input's length: the
 * message struct and protobuf-c's scan slabs. Our own encodings need at
 * most the input's length plus a few hundred bytes; a crafted input that
 * would need more (thousands of tiny fields, unknown fields, unpacked
 * floats) is refused as malformed instead of allocating up to 30 times
 * its size.
 */
#define FMI_PROTO_ALLOC_SLACK_BYTES 16384u

/*
 * Unpacks buf[len] as a message of descriptor d, after checking len
 * against cap (-EMSGSIZE, before anything is read or allocated). Every
 * allocation goes through malloc() within a budget of 2 * len +
 * FMI_PROTO_ALLOC_SLACK_BYTES, so arrays in the result may be taken over
 * and released with free(). On success *ret is a new message, freed with
 * fmi_proto_message_free(). Errors: -EMSGSIZE, -EBADMSG (not a valid
 * encoding, or over the budget), -ENOMEM. Thread-safe.
 */
int fmi_proto_unpack(const ProtobufCMessageDescriptor *d, const uint8_t *buf,
    size_t len, size_t cap, ProtobufCMessage **ret) FM_WUR;

/* Frees a message from fmi_proto_unpack() (NULL is fine). */
void fmi_proto_message_free(ProtobufCMessage *m);

/*
 * Packs m into a new malloc'd buffer *ret_buf of *ret_len bytes (never
 * NULL, even for an empty message). Errors: -EMSGSIZE (over cap),
 * -ENOMEM. Thread-safe.
 */
int fmi_proto_pack(const ProtobufCMessage *m, size_t cap, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/* Whether all n floats of v are finite (true for n = 0). */
bool fmi_proto_floats_are_finite(const float *v, size_t n);

/* The body codecs of the message table (msg.c), one per body file. */
extern const fm_proto_codec fmi_proto_hello_codec;
extern const fm_proto_codec fmi_proto_round_codec;
extern const fm_proto_codec fmi_proto_update_codec;
extern const fm_proto_codec fmi_proto_verdict_codec;

#endif
