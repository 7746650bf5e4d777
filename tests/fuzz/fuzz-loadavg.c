/*
 * Fuzz target for fm_collect_loadavg_parse() (/proc/loadavg): aborts when the
 * verdict is neither 0 nor -EINVAL, when a failure wrote *ret, or when a
 * success holds a negative or non-finite load.
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
	fm_collect_loadavg la, sentinel;
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	la = sentinel;
	r = fm_collect_loadavg_parse((const char *)data, size, &la);
	if (r == -EINVAL) {
		if (memcmp(&la, &sentinel, sizeof(la)) != 0)
			abort();
		return 0;
	}
	if (r != 0)
		abort();
	if (!(la.load1 >= 0.0 && la.load5 >= 0.0 && la.load15 >= 0.0) ||
	    !isfinite(la.load1) || !isfinite(la.load5) || !isfinite(la.load15))
		abort();
	return 0;
}
