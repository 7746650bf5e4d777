/*
 * fedmon-replay's parts, shared by its single mode (main.c), its
 * federated mode (federate.c) and its agent mode (agent.c). Internal to
 * tools/replay.
 */
#ifndef FM_REPLAY_H
#define FM_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agent/model/model.h"
#include "crypto/crypto.h"
#include "learn/learn.h"
#include "tools/replay/csv.h"

#define EXIT_USAGE 2 /* bad flag or malformed input */

/* The default number of federated rounds (documented in the usage text
 * and README.md, "Federated replay"). */
#define REPLAY_ROUNDS_DEFAULT 3u
/* The failure predictor's default horizon and window, in rows. */
#define REPLAY_HORIZON_DEFAULT 30u
#define REPLAY_PREDICT_WINDOW  10u

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
	const char *failures; /* the failures file, or NULL */
	uint32_t horizon;     /* rows, with failures */
} replay_fed_args;

#define REPLAY_NAME_BYTES 128

/* One client of --federate. */
typedef struct replay_client {
	char name[REPLAY_NAME_BYTES];
	fm_replay_csv *train;
	fm_replay_csv *test;
	fm_learn_detector *det;
	const fm_learn_detector_config *dcfg; /* the detectors' */
	const fm_learn_ae_train_config *tcfg; /* the default training */
	bool trained;
	uint64_t version; /* fleet version the models descend from */
	float loss;
	fm_crypto_identity *id;
	fm_model_federation *fed;
	/* with --failures (failures.c): every client has a predictor, those
	 * without a labelled history an untrained one */
	fm_learn_predictor_config pcfg;
	fm_learn_predictor *pred;
	fm_replay_csv *frows;   /* the labelled history, before TEST */
	fm_replay_csv *fevents; /* one 0/1 a row of frows */
	uint64_t onsets;        /* failures beginning in frows */
	uint32_t horizon;       /* rows */
} replay_client;

/*
 * Reads a small text file whole (at most max_bytes) and calls line(ctx,
 * text, lineno) for each line that is neither blank nor a "#" comment,
 * with any "\r" dropped; the text may be changed in place. Errors are
 * printed as "FILE:LINE: why"; line() prints its own. Returns 0 or
 * -EINVAL.
 */
int fm_replay_read_lines(const char *path, size_t max_bytes,
    int (*line)(void *ctx, char *text, size_t lineno), void *ctx);

/* Splits text at tabs into at most max fields; *ret_n gets the count, or
 * max + 1 when there are more. */
void fm_replay_split_tabs(char *text, char **ret_f, size_t max, size_t *ret_n);

/*
 * The failure predictors (failures.c). _load reads the failures file
 * (lines NAME<TAB>ROWS<TAB>EVENTS naming clients of c[n]) and gives every
 * client a predictor with a window of REPLAY_PREDICT_WINDOW rows and the
 * anomaly score as its extra input. Prints "FILE:LINE: why"; returns 0,
 * -EINVAL or -ENOMEM.
 */
int fm_replay_failures_load(
    const char *path, replay_client *c, size_t n, const replay_fed_args *a);

/* Trains c's predictor on its labelled history, normalised and scored by
 * its current detector (warm start: from the fleet's, in a fleet). */
int fm_replay_failures_train(replay_client *c);

/* Trains one predictor on every client's labelled history and gives each
 * client a copy (pooled mode). */
int fm_replay_failures_pool(replay_client *c, size_t n);

/* A client's weight in the fleet's predictor, per training row: its
 * failures (fm_learn_predictor_share_export()). */
double fm_replay_failures_weight(const replay_client *c);

/* Writes DIR/NAME.failures: for each TEST row, the probability that a
 * failure begins within the horizon, from the rows normalised by the
 * detector, z[test rows x d], and its scores. */
int fm_replay_failures_write(const replay_client *c, const char *dir,
    const float *z, const float *score);

void fm_replay_failures_free(replay_client *c);

#define REPLAY_PATH_BYTES 4096

/* Creates DIR/NAME.EXT for writing into *ret (path[] gets its name), or
 * prints why not (*ret NULL). Returns 0 or a negative errno. */
int fm_replay_out_open(const char *dir, const char *name, const char *ext,
    char path[REPLAY_PATH_BYTES], FILE **ret);

/* Flushes and closes f, the file at path that fm_replay_out_open() made,
 * whose writing so far returned r. Returns r when it is an error, else
 * the flush's or close's; an error is printed with the path. */
int fm_replay_out_close(FILE *f, const char *path, int r);

/* Reads a CSV file, or prints why not as "FILE:LINE: why". Returns 0 or
 * a negative errno. */
int fm_replay_read_csv(const char *path, fm_replay_csv **ret);

/* Runs --federate; returns the process exit status. */
int fm_replay_federate(const replay_fed_args *a);

/* When --agent adopts the models of a training (--adopt). */
enum replay_adopt {
	/* at the row where the recording's trainings counter rose, as the
	 * agent's training thread did; REPLAY_ADOPT_NEXT without that
	 * column */
	REPLAY_ADOPT_RECORDED = 1,
	/* at the next row, as a training that takes no time */
	REPLAY_ADOPT_NEXT,
};

typedef struct replay_agent_args {
	const char *file;   /* the recording (fedmonctl watch --csv) */
	const char *config; /* the agent.conf it ran with, or NULL */
	const char *out;    /* the rows' file, or NULL: stdout */
	enum replay_adopt adopt;
} replay_agent_args;

/* Runs --agent (agent.c); returns the process exit status. */
int fm_replay_agent(const replay_agent_args *a);

#endif
