/*
 * Fuzz target for fm_collect_filenr_parse() (/proc/sys/fs/file-nr): aborts when
 * the verdict is neither 0 nor -EINVAL or when a failure wrote *ret.
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
	fm_collect_filenr fn, sentinel;
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	fn = sentinel;
	r = fm_collect_filenr_parse((const char *)data, size, &fn);
	if (r == -EINVAL) {
		if (memcmp(&fn, &sentinel, sizeof(fn)) != 0)
			abort();
		return 0;
	}
	if (r != 0)
		abort();
	return 0;
}
