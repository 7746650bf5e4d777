/*
 * Fuzz target for fm_collect_diskstats_parse() (/proc/diskstats) and
 * fm_collect_disk_is_counted(): parses each input with a small and a full array
 * and aborts when the verdicts disagree (beyond -E2BIG for the small one),
 * when a verdict is not 0, -EINVAL or -E2BIG, when a failure wrote the
 * outputs, or when a kept disk's name is unterminated or not counted.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect.h"

#define SMALL_CAP 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fm_collect_disk big[FM_COLLECT_DISKS_MAX];

static bool
disk_is_sane(const fm_collect_disk *d)
{
	return memchr(d->name, '\0', sizeof(d->name)) != NULL &&
	    fm_collect_disk_is_counted(d->name);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	fm_collect_disk small[SMALL_CAP], sentinel;
	uint32_t n_small = UINT32_MAX, n_big = UINT32_MAX;
	char name[FM_COLLECT_DEV_NAME_BYTES * 2];
	int rs, rb;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	for (unsigned i = 0; i < SMALL_CAP; i++)
		small[i] = sentinel;
	rs = fm_collect_diskstats_parse(buf, size, small, SMALL_CAP, &n_small);
	rb = fm_collect_diskstats_parse(
	    buf, size, big, FM_COLLECT_DISKS_MAX, &n_big);
	if (rb != 0 && rb != -EINVAL && rb != -E2BIG)
		abort();
	if (rs != rb && !(rs == -E2BIG && rb == 0 && n_big > SMALL_CAP))
		abort();
	if (rs < 0) {
		if (n_small != UINT32_MAX ||
		    memcmp(&small[0], &sentinel, sizeof(sentinel)) != 0)
			abort();
	} else if (n_small != n_big || n_small > SMALL_CAP ||
	    memcmp(small, big, n_small * sizeof(*small)) != 0) {
		abort();
	}
	if (rb == 0) {
		for (uint32_t i = 0; i < n_big; i++) {
			if (!disk_is_sane(&big[i]))
				abort();
		}
	}
	/* The name predicate on the input as a C string. */
	size = size < sizeof(name) - 1 ? size : sizeof(name) - 1;
	memcpy(name, data, size);
	name[size] = '\0';
	(void)fm_collect_disk_is_counted(name);
	return 0;
}
