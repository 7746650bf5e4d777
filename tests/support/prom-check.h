/*
 * A strict reader of the Prometheus text format 0.0.4 for the /metrics
 * tests (tests/support/prom-check.c): what promtool checks and a little
 * more. Every helper fails the running cmocka test on a violation.
 * Include after <cmocka.h>.
 */
#ifndef FM_TESTS_PROM_CHECK_H
#define FM_TESTS_PROM_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Checks text[len]: NUL-free lines ending in '\n'; each family announced
 * once by "# HELP name ..." then "# TYPE name type" right before its
 * samples, which follow contiguously; valid metric and label names; label
 * values escaped (only \\, \" and \n); values that parse (NaN, +Inf,
 * -Inf allowed); counters named *_total; no series twice; histograms
 * with ascending le, cumulative non-decreasing buckets, a last
 * le="+Inf" bucket equal to _count, and a _sum. Returns the number of
 * families.
 */
size_t prom_check(const char *text, size_t len);

/* Whether the series (the text before the value, e.g.
 * "fedmon_x{a=\"b\"}") is in text. */
bool prom_has(const char *text, const char *series);

/* The value of series; fails the test when it is absent. */
double prom_value(const char *text, const char *series);

/* The TYPE of family name, or NULL when it is not announced. The result
 * points into a static buffer, valid until the next call. */
const char *prom_type(const char *text, const char *name);

#endif
