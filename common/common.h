/*
 * common: logging, clocks, strict number parsing, files and the INI
 * engine (common/conf.h) shared by fedmon's daemons and tools.
 *
 * Library modules (learn, crypto, proto, net, common) never log above
 * LOG_DEBUG; the daemons log where they decide. Every line goes to stderr
 * with a "<N>" priority prefix, which journald understands.
 */
#ifndef FM_COMMON_H
#define FM_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <syslog.h>

#define FM_WUR          __attribute__((warn_unused_result))
#define FM_PRINTF(a, b) __attribute__((format(printf, a, b)))

#define FM_NSEC_PER_SEC  1000000000LL
#define FM_NSEC_PER_MSEC 1000000LL
#define FM_NSEC_PER_USEC 1000LL

#define FM_ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

/* The INI engine: agent.conf, aggregator.conf (common/conf.c). */
#include "common/conf.h"

/* ---- logging ---------------------------------------------------------- */

/* Sets the most verbose priority written (LOG_ERR … LOG_DEBUG). Default
 * LOG_INFO. Not thread-safe against concurrent fm_log(); call at start-up. */
void fm_log_set_max_level(int prio);

/* Parses "err", "warning", "notice", "info", "debug" (or 3…7).
 * Returns the priority, or -EINVAL. */
int fm_log_level_from_string(const char *s) FM_WUR;

/* The name of priority prio (0 "emerg" … 7 "debug"), or NULL. */
const char *fm_log_level_to_string(int prio);

/* Whether messages at prio are written. */
bool fm_log_is_enabled(int prio);

/* Writes one line "<prio>message\n" to stderr when prio is enabled.
 * Thread-safe (a single write(2) per line). */
void fm_log(int prio, const char *fmt, ...) FM_PRINTF(2, 3);

/* As fm_log(), appending ": <strerror(-error)>". Returns error, which must
 * be a negative errno, so callers can "return fm_log_errno(...)". */
int fm_log_errno(int prio, int error, const char *fmt, ...) FM_PRINTF(3, 4);

/* ---- clocks ----------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t fm_time_mono_ns(void);

/* CLOCK_REALTIME in nanoseconds since the Unix epoch. */
int64_t fm_time_real_ns(void);

/* ---- strict parsing --------------------------------------------------- */

/* Parses a whole decimal unsigned integer (no sign, no trailing garbage,
 * no overflow). Returns 0, -EINVAL or -ERANGE; *ret written on success. */
int fm_parse_u64(const char *s, uint64_t *ret) FM_WUR;

/* As fm_parse_u64(), bounded to [min, max] (else -ERANGE). */
int fm_parse_u64_range(
    const char *s, uint64_t min, uint64_t max, uint64_t *ret) FM_WUR;

/* Parses a whole finite double. Returns 0, -EINVAL or -ERANGE. */
int fm_parse_double(const char *s, double *ret) FM_WUR;

/* Parses yes/no/true/false/on/off/1/0 (case-insensitive). 0 or -EINVAL. */
int fm_parse_bool(const char *s, bool *ret) FM_WUR;

/* Copies src into dst of size dst_size. Returns 0, or -ENAMETOOLONG when
 * src does not fit (dst is then left untouched). */
int fm_strlcpy(char *dst, const char *src, size_t dst_size) FM_WUR;

/* ---- files (common/file.c) ------------------------------------------- */

/*
 * Reads fd to its end, if that is at most max bytes (max < SIZE_MAX): a
 * regular file is read in one buffer of its size, a pipe in a growing
 * one. On success *ret_buf (malloc'd; the caller frees) holds *ret_len
 * bytes followed by a NUL byte, not counted. Errors: the negative errno
 * of fstat/read, -EISDIR, -EFBIG (more than max), -ENOMEM.
 */
int fm_file_read_fd(
    int fd, size_t max, uint8_t **ret_buf, size_t *ret_len) FM_WUR;

/* Opens path and reads it whole as fm_file_read_fd(); also the negative
 * errno of open. */
int fm_file_read_all(const char *path, size_t max, uint8_t **ret_buf,
    size_t *ret_len) FM_WUR;

/*
 * Replaces the file at path with buf[len] so that a crash at any moment
 * leaves either the old or the new content: it writes path.tmp with the
 * given mode, fsyncs it, renames it over path and fsyncs the directory.
 * Returns 0 or a negative errno (path.tmp is removed on failure).
 */
int fm_file_write_atomic(const char *path, const void *buf, size_t len,
    mode_t mode) FM_WUR;

/*
 * A daemon's signals: SIGTERM and SIGINT ask it to stop, SIGHUP to reload
 * its configuration; SIGPIPE is ignored. Handlers only set flags (no
 * SA_RESTART, so a signal interrupts a sleep). Returns 0 or -errno.
 */
int fm_signals_install(void) FM_WUR;

/* Whether SIGTERM or SIGINT arrived. Async-signal-safe to read anywhere. */
bool fm_signals_stop_requested(void);

/* Whether SIGHUP arrived since the last call (the flag is cleared). */
bool fm_signals_take_reload(void);

/* Creates directory path and its missing parents (like mkdir -p): the
 * last component gets mode, parents 0755; an existing directory is fine.
 * Returns 0, -ENAMETOOLONG (4096 bytes or more), -ENOTDIR (a non-directory
 * is in the way), or the errno of mkdir(2). */
int fm_file_mkdir_p(const char *path, mode_t mode) FM_WUR;

/*
 * systemd's readiness protocol (common/notify.c; sd_notify(3)'s datagram
 * protocol, no libsystemd): sends state ("READY=1", "WATCHDOG=1",
 * "RELOADING=1", "STOPPING=1", "STATUS=...", newline-separated) to
 * $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 * Returns 1 when sent, 0 when NOTIFY_SOCKET is unset (not under systemd:
 * nothing to do), or a negative errno (-EINVAL: a bad NOTIFY_SOCKET, or
 * state NULL, empty or longer than FM_NOTIFY_STATE_MAX_BYTES; the errno of
 * socket(2) or sendto(2)). Thread-safe; may block while the manager's
 * queue is full, as sd_notify() does.
 */
#define FM_NOTIFY_STATE_MAX_BYTES 4096
int fm_notify(const char *state);

/* The watchdog period systemd expects pings within, in microseconds, from
 * $WATCHDOG_USEC (and $WATCHDOG_PID, when set, naming this process);
 * 0 when the watchdog is off. Ping at half of it. */
uint64_t fm_notify_watchdog_usec(void);

/* ---- the process's own cost (common/proc-self.c) ---------------------- */

typedef struct fm_proc_self {
	double cpu_seconds;        /* user + system, all threads */
	uint64_t resident_bytes;   /* resident set size */
	double start_time_seconds; /* since the Unix epoch; 0 = unknown */
} fm_proc_self;

/* Reads this process's CPU time (getrusage), resident memory
 * (/proc/self/statm) and start time (/proc/self/stat and /proc/stat's
 * btime, read once). Returns 0, or the negative errno of reading statm
 * (-EINVAL: it did not parse). Thread-safe. */
int fm_proc_self_read(fm_proc_self *ret) FM_WUR;

/* The parsers behind it, pure: statm's second field (resident pages);
 * /proc/PID/stat's field 22 (starttime, clock ticks after boot; the
 * command name may hold blanks and parentheses); /proc/stat's "btime"
 * (boot time, Unix seconds). Each returns 0 or -EINVAL. */
int fm_proc_self_parse_statm(
    const char *text, uint64_t *ret_resident_pages) FM_WUR;
int fm_proc_self_parse_starttime(const char *text, uint64_t *ret_ticks) FM_WUR;
int fm_proc_self_parse_btime(const char *text, uint64_t *ret_seconds) FM_WUR;

/* ---- Prometheus text exposition 0.0.4 (common/prom.c) ----------------- */

/*
 * A growing text for /metrics. Every family is announced once with
 * fm_prom_family() (HELP, then TYPE) right before its samples. Label
 * values and HELP text are escaped as the format says (backslash, newline,
 * and the double quote in label values); metric and label names are the
 * caller's constants and are written as given. An allocation failure is
 * sticky: later calls do nothing and fm_prom_finish() returns -ENOMEM.
 * Labels are passed as n_pairs pairs: labels[2i] the name, labels[2i+1]
 * the value. One thread per fm_prom.
 */
typedef struct fm_prom {
	char *buf;
	size_t len, cap;
	int error; /* 0, or the first failure */
} fm_prom;

#define FM_PROM_DOUBLE_BYTES 32

/* Starts an empty text (allocates nothing yet). */
void fm_prom_init(fm_prom *p);

/* "# HELP name help" and "# TYPE name type" (counter, gauge,
 * histogram, ...). */
void fm_prom_family(
    fm_prom *p, const char *name, const char *type, const char *help);

/* One sample "name{labels} value": a double or a float (the shortest
 * form that reads back exactly; NaN, +Inf, -Inf as the format spells
 * them) or an exact integer. */
void fm_prom_double(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, double v);
void fm_prom_float(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, float v);
void fm_prom_u64(fm_prom *p, const char *name, const char *const *labels,
    size_t n_pairs, uint64_t v);

/* A family of one unlabelled sample: fm_prom_family(), then the value. */
void fm_prom_one_double(fm_prom *p, const char *name, const char *type,
    const char *help, double v);
void fm_prom_one_float(fm_prom *p, const char *name, const char *type,
    const char *help, float v);
void fm_prom_one_u64(fm_prom *p, const char *name, const char *type,
    const char *help, uint64_t v);

/* A whole histogram family: name_bucket{le} (cumulative, from the
 * per-bucket counts[n + 1], +Inf last), name_sum and name_count. le[n]
 * ascending, in the unit name ends with. */
void fm_prom_histogram(fm_prom *p, const char *name, const char *help,
    const double *le, const uint64_t *counts, size_t n, double sum);

/* process_cpu_seconds_total, process_resident_memory_bytes and
 * process_start_time_seconds from fm_proc_self_read() (left out when
 * /proc cannot be read). */
void fm_prom_process(fm_prom *p);

/* Writes v as the format spells a value into buf. */
void fm_prom_format_double(double v, char buf[FM_PROM_DOUBLE_BYTES]);

/* Hands the text over: *ret (malloc'd, NUL-terminated; the caller frees)
 * of *ret_len bytes, and leaves p empty. Returns 0, or -ENOMEM after an
 * allocation failed (nothing to free then). */
int fm_prom_finish(fm_prom *p, char **ret, size_t *ret_len) FM_WUR;

/* Frees what p holds (for an error path before fm_prom_finish()). */
void fm_prom_clear(fm_prom *p);

#endif
