/*
 * Fuzz target for fm_collect_procdir_count() (getdents64 records of the procfs
 * root): aborts when the verdict is neither 0 nor -EINVAL, when a failure
 * wrote the count, or when the count exceeds the records that fit (one
 * record takes at least 20 bytes).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "agent/collect/collect.h"

#define MIN_RECORD_BYTES 20

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t count = UINT32_MAX;
	int r;

	r = fm_collect_procdir_count(data, size, &count);
	if (r != 0 && r != -EINVAL)
		abort();
	if (r < 0 ? count != UINT32_MAX : count > size / MIN_RECORD_BYTES)
		abort();
	return 0;
}
