/*
 * Fuzz target for fm_collect_pressure_parse() (/proc/pressure/{cpu,memory,io}):
 * aborts when the verdict is neither 0 nor -EINVAL, when a failure wrote
 * *ret, or when a success holds a negative or non-finite avg10.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fm_collect_pressure ps, sentinel;
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	ps = sentinel;
	r = fm_collect_pressure_parse((const char *)data, size, &ps);
	if (r == -EINVAL) {
		if (memcmp(&ps, &sentinel, sizeof(ps)) != 0)
			abort();
		return 0;
	}
	if (r != 0)
		abort();
	if (!(ps.some_avg10 >= 0.0) || !isfinite(ps.some_avg10) ||
	    !(ps.full_avg10 >= 0.0) || !isfinite(ps.full_avg10) ||
	    (!ps.has_full && ps.full_avg10 != 0.0))
		abort();
	return 0;
}
