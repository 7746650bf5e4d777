/*
 * Fuzz target for fm_collect_stat_parse() (/proc/stat): parses each input
 * without a per-CPU array and with one, and aborts when the two disagree, when
 * the verdict is neither 0 nor -EINVAL, or when a failure wrote *ret.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect.h"

#define CPUS_CAP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
stat_equal(const fm_collect_stat *a, const fm_collect_stat *b)
{
	return memcmp(&a->total, &b->total, sizeof(a->total)) == 0 &&
	    a->ncpu == b->ncpu && a->ctxt == b->ctxt && a->intr == b->intr &&
	    a->processes == b->processes &&
	    a->procs_running == b->procs_running &&
	    a->procs_blocked == b->procs_blocked;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	fm_collect_cpu_times cpus[CPUS_CAP];
	bool present[CPUS_CAP];
	fm_collect_stat a, b, sentinel;
	uint32_t n = 0;
	int ra, rb;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	a = sentinel;
	ra = fm_collect_stat_parse(buf, size, &a, NULL, NULL, 0);
	rb = fm_collect_stat_parse(buf, size, &b, cpus, present, CPUS_CAP);
	if (ra != rb || (ra != 0 && ra != -EINVAL))
		abort();
	if (ra < 0) {
		if (memcmp(&a, &sentinel, sizeof(a)) != 0)
			abort();
		return 0;
	}
	for (uint32_t i = 0; i < CPUS_CAP; i++)
		n += present[i];
	if (n > b.ncpu || !stat_equal(&a, &b))
		abort();
	return 0;
}
