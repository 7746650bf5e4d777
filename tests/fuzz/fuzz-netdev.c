/*
 * Fuzz target for fm_collect_netdev_parse() (/proc/net/dev): parses each input
 * with a small and a full array and aborts when the verdicts disagree
 * (beyond -E2BIG for the small one), when a verdict is not 0, -EINVAL or
 * -E2BIG, when a failure wrote the outputs, or when a kept interface's name
 * is unterminated, empty or "lo".
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

static fm_collect_nic big[FM_COLLECT_NICS_MAX];

static bool
nic_is_sane(const fm_collect_nic *nic)
{
	return memchr(nic->name, '\0', sizeof(nic->name)) != NULL &&
	    nic->name[0] != '\0' && strcmp(nic->name, "lo") != 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	fm_collect_nic small[SMALL_CAP], sentinel;
	uint32_t n_small = UINT32_MAX, n_big = UINT32_MAX;
	int rs, rb;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	for (unsigned i = 0; i < SMALL_CAP; i++)
		small[i] = sentinel;
	rs = fm_collect_netdev_parse(buf, size, small, SMALL_CAP, &n_small);
	rb = fm_collect_netdev_parse(
	    buf, size, big, FM_COLLECT_NICS_MAX, &n_big);
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
			if (!nic_is_sane(&big[i]))
				abort();
		}
	}
	return 0;
}
