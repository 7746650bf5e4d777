/* common's internal header: what conf.c and conf-value.c share. */
#ifndef FM_COMMON_INT_H
#define FM_COMMON_INT_H

#include "common/common.h"

/* The longest value text fmi_conf_value_format() writes, NUL included. */
#define FMI_CONF_VALUE_BYTES (FM_CONF_LINE_MAX_CHARS + 1)

/*
 * Parses value into k's field in base (the section's struct) after
 * checking it against k's type and bounds. Returns 0, or a negative errno
 * with why[FM_CONF_WHY_BYTES] saying what was wrong in words that read
 * before " 'KEY' in section [SECTION]" (e.g. "invalid value '5' (expected
 * an integer in [100, 60000]) for key"). base is untouched on failure,
 * except by a CUSTOM parser that says otherwise.
 */
int fmi_conf_value_set(
    const fm_conf_key *k, void *base, const char *value, char *why);

/* Writes k's field in base as a file spells it into buf[size]. Returns 0,
 * -ENOBUFS (too long) or -EINVAL (a value no name stands for). */
int fmi_conf_value_format(
    const fm_conf_key *k, const void *base, char *buf, size_t size);

#endif
