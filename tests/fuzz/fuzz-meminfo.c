/*
 * Fuzz target for fm_collect_meminfo_parse() (/proc/meminfo): aborts when the
 * verdict is neither 0 nor -EINVAL, when a failure wrote *ret, or when a
 * success lacks MemTotal or marks a field the header does not define.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fm_collect_meminfo mi, sentinel;
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	mi = sentinel;
	r = fm_collect_meminfo_parse((const char *)data, size, &mi);
	if (r == -EINVAL) {
		if (memcmp(&mi, &sentinel, sizeof(mi)) != 0)
			abort();
		return 0;
	}
	if (r != 0 || !(mi.has & FM_COLLECT_MEM_TOTAL) ||
	    (mi.has & ~((FM_COLLECT_MEM_SWAP_FREE << 1) - 1)) != 0)
		abort();
	return 0;
}
