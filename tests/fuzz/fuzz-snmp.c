/*
 * Fuzz target for fm_collect_snmp_parse() (/proc/net/snmp): aborts when the
 * verdict is neither 0 nor -EINVAL, when a failure wrote *ret, when a
 * success left has bits other than Tcp and Udp, or when parsing the same
 * bytes twice disagrees.
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
	const char *buf = (const char *)data;
	fm_collect_snmp a, b, sentinel;
	int ra, rb;

	memset(&sentinel, 0x5a, sizeof(sentinel));
	a = sentinel;
	ra = fm_collect_snmp_parse(buf, size, &a);
	rb = fm_collect_snmp_parse(buf, size, &b);
	if (ra != rb || (ra != 0 && ra != -EINVAL))
		abort();
	if (ra < 0) {
		if (memcmp(&a, &sentinel, sizeof(a)) != 0)
			abort();
		return 0;
	}
	if ((a.has & ~(uint32_t)(FM_COLLECT_SNMP_TCP | FM_COLLECT_SNMP_UDP)) !=
	        0 ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	return 0;
}
