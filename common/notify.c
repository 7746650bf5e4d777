/* TEMPORARY SHIM: replaced by the sd_notify implementation. */
#include "common/common.h"

int fm_notify(const char *state) { (void)state; return 0; }
uint64_t fm_notify_watchdog_usec(void) { return 0; }
