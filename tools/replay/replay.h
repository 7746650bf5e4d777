/*
 * fedmon-replay's parts, shared by its single mode (main.c) and its
 * federated mode (federate.c). Internal to tools/replay.
 */
#ifndef FM_REPLAY_H
#define FM_REPLAY_H

#include <stdint.h>

#include "tools/replay/csv.h"

#define EXIT_USAGE 2 /* bad flag or malformed input */

/* The default number of federated rounds (documented in the usage text
 * and README.md, "Federated replay"). */
#define REPLAY_ROUNDS_DEFAULT 3u

enum replay_mode {
	REPLAY_FEDERATED = 1,
	REPLAY_LOCAL,
	REPLAY_POOLED,
};

typedef struct replay_fed_args {
	const char *clients; /* the clients file */
	const char *out;     /* directory for NAME.scores */
	enum replay_mode mode;
	uint64_t rounds;
	uint32_t rows_per_day;
	uint64_t seed;
} replay_fed_args;

/* Reads a CSV file, or prints why not as "FILE:LINE: why". Returns 0 or
 * a negative errno. */
int fm_replay_read_csv(const char *path, fm_replay_csv **ret);

/* Runs --federate; returns the process exit status. */
int fm_replay_federate(const replay_fed_args *a);

#endif
