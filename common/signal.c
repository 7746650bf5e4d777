/* The daemons' signals: SIGTERM/SIGINT ask to stop, SIGHUP to reload. */
#include <errno.h>
#include <signal.h>
#include <stddef.h>

#include "common/common.h"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

int
fm_signals_install(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must interrupt a sleep or a wait. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGHUP, &sa, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

bool
fm_signals_stop_requested(void)
{
	return stop_requested != 0;
}

bool
fm_signals_take_reload(void)
{
	if (!reload_requested)
		return false;
	reload_requested = 0;
	return true;
}
