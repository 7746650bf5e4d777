/*
 * Helpers shared by the agent tests (tests/agent/test-util.c, linked into
 * every tests/agent binary): fixture files, temporary procfs roots,
 * files rewritten in place, a collector under test, and feature asserts.
 * Every helper fails the running cmocka test when something it needs
 * goes wrong, so the tests do not check their results. Include after
 * <cmocka.h>.
 */
#ifndef FM_TESTS_AGENT_TEST_UTIL_H
#define FM_TESTS_AGENT_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/agent.h"
#include "agent/collect/collect-int.h"

/* The procfs trees of tests/fixtures, captured one second apart. */
#define T0 FM_FIXTURES "/proc-debian12-t0"
#define T1 FM_FIXTURES "/proc-debian12-t1"

#define SEC 1000000000LL /* one second, in ns */

/* A file fm_test_read_file() reads is shorter than this. */
#define FM_TEST_FILE_MAX_BYTES (1 << 16)

/* A temporary directory's path: "/tmp/fm-test-<tag>-XXXXXX". */
#define FM_TEST_DIR_BYTES 64

/* ---- files ----------------------------------------------------------- */

/* Reads the whole file at path, which must hold 1 to
 * FM_TEST_FILE_MAX_BYTES - 1 bytes, into a new NUL-terminated buffer the
 * caller frees; *ret_len is its length without the NUL. */
char *fm_test_read_file(const char *path, size_t *ret_len);

/* A new heap copy of len bytes of buf, of exactly that size (one byte for
 * len 0), so that ASan sees a parser read past it. The caller frees it. */
char *fm_test_exact_copy(const void *buf, size_t len);

/*
 * Writes len bytes of buf as root/rel, creating rel's missing directories.
 * An existing file is rewritten in place, as procfs content changes: the
 * same inode, so that a collector holding it open reads the new bytes. No
 * O_TRUNC, which on ext4 forces a flush at close and makes per-offset
 * loops slow.
 */
void fm_test_write_file(
    const char *root, const char *rel, const void *buf, size_t len);

/* fm_test_write_file() of the string text (without its NUL). */
void fm_test_write_text(const char *root, const char *rel, const char *text);

/* Fills buf with a random number of random bytes, fewer than size, and
 * returns that number; the bytes are drawn from the string alphabet
 * unless it is NULL. *x (non-zero) is an xorshift64 state: a fixed seed
 * gives the same inputs on every run. */
size_t fm_test_rand_bytes(
    uint64_t *x, char *buf, size_t size, const char *alphabet);

/* Creates a new empty directory "/tmp/fm-test-<tag>-XXXXXX" into
 * dir[FM_TEST_DIR_BYTES]. */
void fm_test_tmpdir_new(char *dir, const char *tag);

/* Removes dir and everything below it. */
void fm_test_tmpdir_remove(const char *dir);

/* Writes body as the executable (0755) file dir/name; its path goes to
 * path[PATH_MAX]. */
void fm_test_write_script(
    const char *dir, const char *name, const char *body, char *path);

/* ---- time and the log -------------------------------------------------- */

/* Milliseconds since start_ns (CLOCK_MONOTONIC, fm_time_mono_ns()). */
int64_t fm_test_ms_since(int64_t start_ns);

/* Sleeps ms milliseconds. */
void fm_test_sleep_ms(long ms);

/* Redirects stderr (where fm_log() writes) into a new temporary file,
 * whose path goes to path[size]; returns the saved stderr for
 * fm_test_stderr_capture_end(). */
int fm_test_stderr_capture_begin(char *path, size_t size);

/* Restores stderr and removes the file; returns what was written (the
 * caller frees it). */
char *fm_test_stderr_capture_end(int saved, const char *path);

/* ---- a collector on a temporary procfs root -------------------------- */

/* What a fixture runs: a collector and the file it reads, which the
 * fm_test_put_* helpers write. */
typedef struct fm_test_source {
	const fmi_collector_ops *ops;
	const char *rel; /* under the procfs root, e.g. "net/dev" */
} fm_test_source;

typedef struct fm_test_fixture {
	fm_test_source src;
	char dir[FM_TEST_DIR_BYTES]; /* the procfs root, a new directory */
	fm_collect_sampler_config cfg; /* defaults, procfs = dir */
	void *state;                 /* zeroed, src.ops->state_bytes */
	float v[FM_FEATURE_COUNT];   /* the features of the last read */
	fmi_collect_ctx ctx;         /* of the last read, v = v */
} fm_test_fixture;

/* Sets up *fx for src: an empty procfs root and a zeroed collector state;
 * the collector is not opened. */
void fm_test_fixture_init(fm_test_fixture *fx, const fm_test_source *src);

/* Closes the collector twice (close must be idempotent, and safe when
 * open never ran or failed), frees its state and removes the root. */
void fm_test_fixture_fini(fm_test_fixture *fx);

/* cmocka setup and teardown of a heap fixture whose fm_test_source is the
 * test's prestate (see fm_test_collector_test). */
int fm_test_fixture_setup(void **state);
int fm_test_fixture_teardown(void **state);

/* A cmocka test of f on a fixture for the fm_test_source *src (not
 * const: cmocka keeps a test's prestate as a void *). */
#define fm_test_collector_test(f, src)                                         \
	cmocka_unit_test_prestate_setup_teardown(                              \
	    f, fm_test_fixture_setup, fm_test_fixture_teardown, (src))

/* Checks a collector whose file is absent: open is -ENOENT on a procfs
 * root without it and without a procfs root at all, and close is harmless
 * after that, twice, and on a state open never saw. */
void fm_test_check_missing(const fm_test_source *src);

/* Opens the collector on fx->cfg; returns what open returns. */
int fm_test_open(fm_test_fixture *fx);

/* fm_test_fixture_init(), the source's file holding text, and an open
 * that must succeed. */
void fm_test_fixture_open(
    fm_test_fixture *fx, const fm_test_source *src, const char *text);

/* Reads once into fx->v (all masked first) with the given interval and
 * CPU count in fx->ctx; returns what read returns. */
int fm_test_read(fm_test_fixture *fx, int64_t dt_ns, uint32_t ncpu);

/* Rewrites the source's file to text (unless text is NULL), then
 * fm_test_read() with 2 CPUs. */
int fm_test_read_text(fm_test_fixture *fx, int64_t dt_ns, const char *text);

/* Writes the source's file (see fm_test_write_file). */
void fm_test_put_bytes(fm_test_fixture *fx, const void *buf, size_t len);
void fm_test_put_text(fm_test_fixture *fx, const char *text);

/* Copies the file at path (a fixture capture) to the source's file. */
void fm_test_put_fixture(fm_test_fixture *fx, const char *path);

/* ---- feature asserts ------------------------------------------------- */

/* got is a feature value near want: not masked, and within 1e-6 relative
 * (absolute below 1). */
#define assert_near(got, want)                                                 \
	fm_test_check_near((got), (want), #got, __FILE__, __LINE__)

/* got is a masked feature value. */
#define assert_masked(got) fm_test_check_masked((got), #got, __FILE__, __LINE__)

/* Every feature of v[FM_FEATURE_COUNT] from first to last (inclusive) is
 * masked; every one outside them; every one. */
#define assert_masked_in(v, first, last)                                       \
	fm_test_check_masked_range(                                            \
	    (v), (first), (last), true, __FILE__, __LINE__)
#define assert_masked_outside(v, first, last)                                  \
	fm_test_check_masked_range(                                            \
	    (v), (first), (last), false, __FILE__, __LINE__)
#define assert_all_masked(v) assert_masked_in((v), 0, FM_FEATURE_COUNT - 1)

/* ---- a learner with its minute ring ---------------------------------- */

/* fm_model_learner_new() on a new minute ring of fm_model_learner_minutes(cfg)
 * minutes, which fm_test_learner_free() frees with the learner (a few
 * learners at a time). Returns fm_model_learner_new()'s result. */
int fm_test_learner_new(
    const fm_model_learner_config *cfg, fm_model_learner **ret);

/* The minute ring of a learner made by fm_test_learner_new(). */
fm_model_history *fm_test_learner_history(const fm_model_learner *l);

/* Frees a learner made by fm_test_learner_new() and its ring. NULL-safe;
 * returns NULL. */
fm_model_learner *fm_test_learner_free(fm_model_learner *l);

/* ---- what the build host has ----------------------------------------
 *
 * Tests that read the host's own /proc depend on what the host has (a
 * real filesystem, a disk, a NIC); a build chroot or a container may lack
 * it. Such tests form a binary's second cmocka group, run with --host as
 * a meson test of its own ("UNIT-host", exit-code protocol), which skips
 * (exit status 77, the reason on stderr) where the host lacks what they
 * need. Tests on fixture trees are in the first group and never skip.
 * (cmocka 1.1.5's skip() prints "not ok # SKIP", which meson counts as a
 * failure: hence a group of their own rather than skip().)
 */

#define FM_TEST_SKIPPED 77 /* the exit status meson reads as skipped */

/* Whether /proc/self/mounts lists a real filesystem (one the fs collector
 * keeps: not pseudo, not network) that statfs(2) reaches with blocks. */
bool fm_test_host_has_real_fs(void);

/* Whether /proc/diskstats lists a disk the diskstats collector counts. */
bool fm_test_host_has_disk(void);

/* Whether /proc/net/dev lists an interface other than lo. */
bool fm_test_host_has_nic(void);

/* Whether the binary was asked for its host group (argv[1] "--host"). */
bool fm_test_is_host_run(int argc, char **argv);

/* Says on stderr that the host group is skipped and why; returns
 * FM_TEST_SKIPPED, for main() to return. */
int fm_test_host_skip(const char *reason);

void fm_test_check_near(
    float got, double want, const char *expr, const char *file, int line);
void fm_test_check_masked(
    float got, const char *expr, const char *file, int line);
void fm_test_check_masked_range(const float *v, int first, int last,
    bool inside, const char *file, int line);

#endif
