/*
 * Fuzz target for fm_collect_mounts_parse() (/proc/self/mounts) and the fstype
 * predicates: parses each input with and without network filesystems and
 * with a small and a full array, and aborts when a verdict is not 0 or
 * -EINVAL, when the verdicts differ, when a failure wrote the outputs, or
 * when a kept mount is unterminated, relative, duplicated, pseudo, or
 * network without network.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect.h"

#define SMALL_CAP 2

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fm_collect_mount big[FM_COLLECT_MOUNTS_MAX];

static bool
mounts_are_sane(const fm_collect_mount *m, uint32_t n, bool network)
{
	for (uint32_t i = 0; i < n; i++) {
		if (!memchr(m[i].dir, '\0', sizeof(m[i].dir)) ||
		    !memchr(m[i].type, '\0', sizeof(m[i].type)) ||
		    m[i].dir[0] != '/' ||
		    fm_collect_fstype_is_pseudo(m[i].type) ||
		    (!network && fm_collect_fstype_is_network(m[i].type)))
			return false;
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(m[i].dir, m[j].dir) == 0)
				return false;
		}
	}
	return true;
}

static void
check(const char *buf, size_t size, bool network)
{
	fm_collect_mount small[SMALL_CAP], sentinel;
	uint32_t n_small = UINT32_MAX, n_big = UINT32_MAX;
	int rs, rb;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	for (unsigned i = 0; i < SMALL_CAP; i++)
		small[i] = sentinel;
	rs = fm_collect_mounts_parse(
	    buf, size, network, small, SMALL_CAP, &n_small);
	rb = fm_collect_mounts_parse(
	    buf, size, network, big, FM_COLLECT_MOUNTS_MAX, &n_big);
	if (rs != rb || (rb != 0 && rb != -EINVAL))
		abort();
	if (rb < 0) {
		if (n_small != UINT32_MAX ||
		    memcmp(&small[0], &sentinel, sizeof(sentinel)) != 0)
			abort();
		return;
	}
	if (n_small > SMALL_CAP || n_big > FM_COLLECT_MOUNTS_MAX ||
	    !mounts_are_sane(small, n_small, network) ||
	    !mounts_are_sane(big, n_big, network))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char type[FM_COLLECT_FSTYPE_BYTES * 2];
	size_t n;

	check((const char *)data, size, false);
	check((const char *)data, size, true);
	/* The predicates on the input as a C string. */
	n = size < sizeof(type) - 1 ? size : sizeof(type) - 1;
	memcpy(type, data, n);
	type[n] = '\0';
	if (fm_collect_fstype_is_pseudo(type) &&
	    fm_collect_fstype_is_network(type))
		abort();
	return 0;
}
