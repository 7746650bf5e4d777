/* Counter arithmetic: deltas with wrap and reset, per-second rates. */
#include <math.h>

#include "agent/collect/collect-int.h"

bool
fmi_counter_delta(uint64_t prev, uint64_t cur, unsigned bits, uint64_t *ret)
{
	uint64_t wrapped;

	if (cur >= prev) {
		*ret = cur - prev;
		return true;
	}
	/* Backwards: a 32-bit counter that wrapped moves by less than half its
	 * range; anything else is a reset. */
	if (bits == 32 && prev <= UINT32_MAX) {
		wrapped = (cur + (UINT64_C(1) << 32) - prev);
		if (cur <= UINT32_MAX && wrapped < (UINT64_C(1) << 31)) {
			*ret = wrapped;
			return true;
		}
	}
	return false;
}

double
fmi_per_second(uint64_t delta, int64_t dt_ns)
{
	if (dt_ns <= 0)
		return NAN;
	return (double)delta * 1e9 / (double)dt_ns;
}

double
fmi_counter_rate(uint64_t prev, uint64_t cur, unsigned bits, int64_t dt_ns,
    double max_per_sec)
{
	uint64_t d;
	double rate;

	if (!fmi_counter_delta(prev, cur, bits, &d))
		return NAN;
	rate = fmi_per_second(d, dt_ns);
	return rate <= max_per_sec ? rate : NAN;
}
