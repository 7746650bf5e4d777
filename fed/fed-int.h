/*
 * fed's internals, shared by its .c files only.
 */
#ifndef FM_FED_INT_H
#define FM_FED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "fed/fed.h"

/* The lease file: one line "fedmon-seq-lease-v1 <bound>\n". */
#define FMI_FED_LEASE_MAGIC     "fedmon-seq-lease-v1 "
#define FMI_FED_LEASE_MAX_BYTES 64
#define FMI_FED_LEASE_MODE      0600

/*
 * The agent's sequence numbers: last is the last one handed out, bound
 * the highest one the lease file reserves (none is handed out above it
 * before the file says so). Without a path, bound is UINT64_MAX and
 * nothing is written.
 */
typedef struct fmi_fed_lease {
	char *path;
	uint64_t last;
	uint64_t bound;
} fmi_fed_lease;

/*
 * Parses a lease file's text buf[len] into *ret (the bound it stores).
 * Pure. Errors: -EBADMSG (anything but the one line, or a bound so high
 * no lease fits above it).
 */
int fmi_fed_lease_parse(const uint8_t *buf, size_t len, uint64_t *ret) FM_WUR;

/*
 * Starts the sequence from the lease at path (NULL: memory only, from 1):
 * the next number is the stored bound + 1 (1 when the file is missing),
 * and a new lease above it is written before this returns. On success
 * *ret owns a copy of path. Errors: the errno of reading or writing the
 * file, -EBADMSG (corrupt), -ENOMEM. *ret is untouched on failure.
 */
int fmi_fed_lease_open(const char *path, fmi_fed_lease *ret) FM_WUR;

/*
 * The next sequence number into *ret: strictly greater than every one
 * before, under this lease and every earlier one. Extends the lease file
 * by FM_FED_SEQ_LEASE first when the current one is used up; when that
 * write fails the number is not handed out. Errors: the errno of the
 * write, -EOVERFLOW (2^64 numbers used).
 */
int fmi_fed_lease_next(fmi_fed_lease *l, uint64_t *ret) FM_WUR;

/*
 * Moves the sequence up so that the next number is floor + 1, when that
 * is above the next one anyway (else does nothing): the aggregator has
 * seen numbers up to floor from this key (a lease file restored from a
 * backup, or lost). A lease covering floor is written first when the
 * current one does not; when that write fails nothing moves. Errors: the
 * errno of the write, -EOVERFLOW (floor so high no lease fits above it).
 */
int fmi_fed_lease_rebase(fmi_fed_lease *l, uint64_t floor) FM_WUR;

/* Frees what l owns (idempotent). */
void fmi_fed_lease_clear(fmi_fed_lease *l);

#endif
