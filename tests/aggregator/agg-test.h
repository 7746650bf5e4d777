/*
 * Helpers shared by the aggregator tests: a fleet of real identities
 * (the aggregator's and its agents'), sealed requests made with the
 * crypto/ and fed/ APIs, and replies opened and decoded as an agent
 * would. Every helper fails the running cmocka test when something it
 * needs goes wrong. Include after <cmocka.h>.
 */
#ifndef FM_TESTS_AGG_TEST_H
#define FM_TESTS_AGG_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aggregator/aggregator-int.h"

#define FLEET_MAX 8
#define T0        1700000000000LL /* a wall clock, ms */
#define LAYOUT    0x1234abcdu

typedef struct fleet {
	fm_crypto_identity *agg;
	uint64_t agg_id;
	fm_crypto_identity *agent[FLEET_MAX];
	fm_crypto_session *sess[FLEET_MAX]; /* agent side */
	uint64_t id[FLEET_MAX];
	uint64_t seq[FLEET_MAX]; /* last used */
	size_t n;
} fleet;

/* n agents and an aggregator, fresh keys. */
void fleet_init(fleet *f, size_t n);
void fleet_free(fleet *f);

/* A keyring of agents [0, n_enrolled). */
fm_crypto_keyring *fleet_keyring(const fleet *f, size_t n_enrolled);

/* Memory-only defaults for tests: fast phases, no clip. */
void test_config(fm_agg_config *c);

/* A new aggregator for f with the first n_enrolled agents. */
fm_agg *agg_start(const fm_agg_config *c, fleet *f, size_t n_enrolled);

/* Sealed envelope from agent i with header fields filled (type, round,
 * next seq, timestamp now), body body[len]. */
uint8_t *seal_from(fleet *f, size_t i, uint32_t type, uint64_t round,
    const uint8_t *body, size_t len, int64_t now_ms, size_t *ret_len);

uint8_t *make_hello(
    fleet *f, size_t i, uint64_t have_version, int64_t now_ms, size_t *ret_len);
uint8_t *make_update(fleet *f, size_t i, const fm_proto_update *u,
    int64_t now_ms, size_t *ret_len);

/* The reason of an unsealed ERROR reply (fails the test on another
 * type). */
uint32_t error_reason(const uint8_t *reply, size_t len);

/* Opens a sealed reply to agent i's last request, of type, into a new
 * body. */
uint8_t *open_reply(fleet *f, size_t i, const uint8_t *reply, size_t len,
    uint32_t type, size_t *ret_len);

/* Sends a HELLO from agent i; asserts a sealed ROUND and decodes it. */
void do_hello(fm_agg *a, fleet *f, size_t i, uint64_t have_version,
    int64_t now_ms, fm_proto_round *ret);

/* Sends an UPDATE from agent i; asserts a sealed VERDICT, returns its
 * reason (also checked against fm_agg_handle's return). */
uint32_t do_update(fm_agg *a, fleet *f, size_t i, const fm_proto_update *u,
    int64_t now_ms, fm_proto_verdict *ret);

/* Sends raw req; returns handle's result; *ret_reply owned by caller. */
int do_raw(fm_agg *a, const uint8_t *req, size_t len, int64_t now_ms,
    uint8_t **ret_reply, size_t *ret_len);

/* An update of n params p for the round, based on version. */
fm_proto_update update_of(
    uint64_t round, uint64_t base, uint64_t samples, float *p, uint32_t n);

/* A fresh temporary directory "/tmp/fm-agg-test-XXXXXX" into dir[64]. */
void temp_dir(char dir[64]);
/* rm -r dir */
void remove_dir(const char *dir);

/* Counts events by type (userdata: unsigned[16]). */
void count_events(void *userdata, const fm_agg_event *ev);

#endif
