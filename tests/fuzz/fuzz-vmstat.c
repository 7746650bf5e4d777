/*
 * Fuzz target for fm_collect_vmstat_parse() (/proc/vmstat): aborts when the
 * verdict is neither 0 nor -EINVAL, when a failure wrote *ret, or when a
 * success marks no field or one the header does not define.
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
	fm_collect_vmstat vm, sentinel;
	int r;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	vm = sentinel;
	r = fm_collect_vmstat_parse((const char *)data, size, &vm);
	if (r == -EINVAL) {
		if (memcmp(&vm, &sentinel, sizeof(vm)) != 0)
			abort();
		return 0;
	}
	if (r != 0 || vm.has == 0 ||
	    (vm.has & ~((FM_COLLECT_VM_OOM_KILL << 1) - 1)) != 0)
		abort();
	return 0;
}
