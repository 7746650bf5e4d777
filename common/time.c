/* Clocks. */
#include <time.h>

#include "common/common.h"

static int64_t
clock_ns(clockid_t id)
{
	struct timespec ts;

	/* Cannot fail for these clocks on Linux. */
	(void)clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * FM_NSEC_PER_SEC + ts.tv_nsec;
}

int64_t
fm_time_mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

int64_t
fm_time_real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}
