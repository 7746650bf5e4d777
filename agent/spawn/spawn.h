/*
 * agent/spawn: running programs the agent's way, for the health command
 * (the labels) and the hook and restart actions, which run programs the
 * same way: argv directly (no shell), stdin, stdout and
 * stderr on /dev/null, a process group of their own, default signal
 * dispositions and an empty signal mask; past the timeout (or when asked
 * to stop) the group gets SIGTERM, then SIGKILL after
 * FM_SPAWN_KILL_GRACE_MS, and the child is reaped. The process must not
 * ignore SIGCHLD (its children would not be waitable).
 */
#ifndef FM_AGENT_SPAWN_H
#define FM_AGENT_SPAWN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"

#define FM_SPAWN_COMMAND_BYTES    256 /* a command line, NUL included */
#define FM_SPAWN_COMMAND_ARGS_MAX 32  /* the program and its arguments */
#define FM_SPAWN_KILL_GRACE_MS    500 /* SIGTERM, then SIGKILL after this */

/*
 * Splits command into words: copies it into buf[FM_SPAWN_COMMAND_BYTES]
 * with a NUL after each word and points argv[FM_SPAWN_COMMAND_ARGS_MAX +
 * 1] at them, NULL-terminated. Returns the word count (0 for "") or the
 * errors: -EINVAL (the program is not an absolute path), -ENAMETOOLONG
 * (FM_SPAWN_COMMAND_BYTES or more) or -E2BIG (more than
 * FM_SPAWN_COMMAND_ARGS_MAX words). Pure.
 */
int fm_spawn_split(const char *command, char *buf, char **argv) FM_WUR;

typedef enum fm_spawn_outcome {
	FM_SPAWN_EXITED,   /* code: its exit status (0 = success) */
	FM_SPAWN_SIGNALED, /* code: the signal that killed it */
	FM_SPAWN_TIMEOUT,  /* ran past the timeout; its group killed */
	FM_SPAWN_STOPPED,  /* stop_fd became readable; its group killed */
	FM_SPAWN_ERROR,    /* not started or not waited for: code is a
	                    * negative errno (-ENOENT: no such program) */
} fm_spawn_outcome;

typedef struct fm_spawn_result {
	fm_spawn_outcome outcome;
	int code;             /* see the outcome */
	uint32_t duration_ms; /* from the start until it was reaped */
} fm_spawn_result;

/*
 * Runs argv[0] (an absolute path) with argv and the environment envp and
 * waits for it, at most timeout_ms, or until stop_fd (an eventfd or pipe;
 * -1: none) is readable; stop_fd is only polled, never read, so one write
 * stops every later run too. Blocks the calling thread for the whole run
 * (plus up to FM_SPAWN_KILL_GRACE_MS after a timeout or stop). Allocates
 * (posix_spawn's file actions). Thread-safe.
 */
void fm_spawn_run(char *const argv[], char *const envp[], uint32_t timeout_ms,
    int stop_fd, fm_spawn_result *ret);

/* Starts fn(arg) on a new thread (*ret) with every signal blocked: they
 * are the main thread's to handle, and the programs a worker spawns get
 * an empty mask anyway. Returns 0 or the negative errno of
 * pthread_create(). */
int fm_spawn_thread_start(
    pthread_t *ret, void *(*fn)(void *), void *arg) FM_WUR;

/* Sleeps until deadline_ns (CLOCK_MONOTONIC), or less when stop_fd (-1:
 * none) is or becomes readable. Returns whether stop_fd was readable. */
bool fm_spawn_sleep(int stop_fd, int64_t deadline_ns);

/*
 * The deadline following now on the grid start + k * period_ns (k >= 1):
 * absolute, so sleeping to it never accumulates drift; deadlines already
 * in the past are skipped, not caught up in a burst. The sampling loop
 * and the health command run on it.
 */
int64_t fm_spawn_next_deadline(
    int64_t start_ns, int64_t period_ns, int64_t now_ns);

#endif
