/*
 * Running a program with a timeout: what the health command (labels.c)
 * and the hook and restart actions (agent/act/kind-hook.c,
 * kind-restart.c) share.
 *
 * The child is waited for by polling waitid(WNOHANG | WNOWAIT) with a
 * backoff from 1 to SPAWN_POLL_MAX_MS: that works on every kernel
 * (pidfd_open needs 5.3, RHEL 8 runs 4.18), costs microseconds per run,
 * and leaves SIGCHLD to the main program. The child is reaped only once
 * it is known to be gone, so its pid (and process group id) cannot name
 * another process while it is signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "agent/spawn/spawn.h"

#define SPAWN_POLL_MAX_MS 16

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

int
fm_spawn_split(const char *command, char *buf, char **argv)
{
	size_t len = strlen(command);
	int n = 0;

	if (len >= FM_SPAWN_COMMAND_BYTES)
		return -ENAMETOOLONG;
	memcpy(buf, command, len + 1);
	for (char *p = buf; *p;) {
		if (is_blank(*p)) {
			*p++ = '\0';
			continue;
		}
		if (n == FM_SPAWN_COMMAND_ARGS_MAX)
			return -E2BIG;
		argv[n++] = p;
		while (*p && !is_blank(*p))
			p++;
	}
	argv[n] = NULL;
	if (n > 0 && argv[0][0] != '/')
		return -EINVAL;
	return n;
}

int
fm_spawn_thread_start(pthread_t *ret, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(ret, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

/* Milliseconds from now to deadline_ns, rounded up, at least 0. */
static int
ms_until(int64_t deadline_ns)
{
	int64_t left = deadline_ns - fm_time_mono_ns();

	if (left <= 0)
		return 0;
	left = (left + FM_NSEC_PER_MSEC - 1) / FM_NSEC_PER_MSEC;
	return left > INT32_MAX ? INT32_MAX : (int)left;
}

bool
fm_spawn_sleep(int stop_fd, int64_t deadline_ns)
{
	for (;;) {
		struct pollfd pfd = { .fd = stop_fd, .events = POLLIN };
		int t = ms_until(deadline_ns), r;

		if (t == 0)
			return false;
		r = poll(&pfd, stop_fd >= 0 ? 1 : 0, t);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR) {
			/* ENOMEM: wait all the same, rather than spin */
			struct timespec ts = { 0, 10 * FM_NSEC_PER_MSEC };

			(void)nanosleep(&ts, NULL);
		}
	}
}

/* Prepares what every run shares: stdin, stdout and stderr on /dev/null;
 * a new process group; default signal dispositions (the agent ignores
 * SIGPIPE, and an ignored signal survives exec); no blocked signals (the
 * agent's workers block them all). Returns 0 or a negative errno; the
 * caller destroys both objects either way. */
static int
spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr)
{
	sigset_t none, all;
	int r = 0;

	for (int fd = 0; fd < 3 && r == 0; fd++)
		r = posix_spawn_file_actions_addopen(
		    fa, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY, 0);
	if (r != 0)
		return -r;
	sigemptyset(&none);
	sigfillset(&all);
	sigdelset(&all, SIGKILL);
	sigdelset(&all, SIGSTOP);
	r = posix_spawnattr_setflags(attr,
	    POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	        POSIX_SPAWN_SETSIGDEF);
	if (r == 0)
		r = posix_spawnattr_setpgroup(attr, 0);
	if (r == 0)
		r = posix_spawnattr_setsigmask(attr, &none);
	if (r == 0)
		r = posix_spawnattr_setsigdefault(attr, &all);
	return -r;
}

enum child_wait {
	CHILD_EXITED,   /* it can be reaped without blocking */
	CHILD_DEADLINE, /* still running at the deadline */
	CHILD_STOP,     /* asked to stop (stop_fd readable) */
};

/* Waits, without reaping it, until the child pid exits, deadline_ns
 * passes, or stop_fd (-1: none) becomes readable. A child that cannot be
 * waited for (ECHILD) counts as exited: the reap reports it. */
static enum child_wait
child_wait(pid_t pid, int64_t deadline_ns, int stop_fd)
{
	int64_t step_ms = 1;

	for (;;) {
		int64_t now = fm_time_mono_ns(), until;
		siginfo_t si;

		memset(&si, 0, sizeof(si));
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) <
		    0) {
			if (errno != EINTR)
				return CHILD_EXITED;
		} else if (si.si_pid != 0) {
			return CHILD_EXITED;
		}
		if (now >= deadline_ns)
			return CHILD_DEADLINE;
		until = now + step_ms * FM_NSEC_PER_MSEC;
		if (fm_spawn_sleep(
		        stop_fd, until < deadline_ns ? until : deadline_ns))
			return CHILD_STOP;
		if (step_ms < SPAWN_POLL_MAX_MS)
			step_ms *= 2;
	}
}

/* Kills the process group of pid, the child we have not reaped yet (so
 * its id cannot name another group): SIGTERM, then after the grace
 * SIGKILL, also for what the leader left behind. */
static void
kill_group(pid_t pid)
{
	int64_t grace_ns = (int64_t)FM_SPAWN_KILL_GRACE_MS * FM_NSEC_PER_MSEC;

	(void)kill(-pid, SIGTERM);
	(void)child_wait(pid, fm_time_mono_ns() + grace_ns, -1);
	(void)kill(-pid, SIGKILL);
}

/* Reaps pid. Returns its wait status, or a negative errno. */
static int
reap(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return status;
}

static uint32_t
elapsed_ms(int64_t start_ns)
{
	int64_t ms = (fm_time_mono_ns() - start_ns) / FM_NSEC_PER_MSEC;

	return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)ms;
}

/* Starts argv with envp as spawn_setup() prepares it. Returns 0 and the
 * child's pid in *ret, or a negative errno. */
static int
spawn_child(char *const argv[], char *const envp[], pid_t *ret)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int r;

	r = -posix_spawn_file_actions_init(&fa);
	if (r < 0)
		return r;
	r = -posix_spawnattr_init(&attr);
	if (r < 0)
		goto out_destroy_fa;
	r = spawn_setup(&fa, &attr);
	if (r == 0)
		r = -posix_spawn(ret, argv[0], &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
out_destroy_fa:
	posix_spawn_file_actions_destroy(&fa);
	return r;
}

void
fm_spawn_run(char *const argv[], char *const envp[], uint32_t timeout_ms,
    int stop_fd, fm_spawn_result *ret)
{
	int64_t start = fm_time_mono_ns();
	fm_spawn_result res = { .outcome = FM_SPAWN_EXITED };
	enum child_wait w;
	pid_t pid = 0;
	int r;

	r = spawn_child(argv, envp, &pid);
	if (r < 0) {
		res.outcome = FM_SPAWN_ERROR;
		res.code = r;
		goto out;
	}
	w = child_wait(
	    pid, start + (int64_t)timeout_ms * FM_NSEC_PER_MSEC, stop_fd);
	if (w != CHILD_EXITED)
		kill_group(pid);
	r = reap(pid);
	if (w == CHILD_STOP) {
		res.outcome = FM_SPAWN_STOPPED;
	} else if (w == CHILD_DEADLINE) {
		res.outcome = FM_SPAWN_TIMEOUT;
	} else if (r < 0) {
		res.outcome = FM_SPAWN_ERROR;
		res.code = r;
	} else if (WIFSIGNALED(r)) {
		res.outcome = FM_SPAWN_SIGNALED;
		res.code = WTERMSIG(r);
	} else {
		res.code = WEXITSTATUS(r);
	}
out:
	res.duration_ms = elapsed_ms(start);
	*ret = res;
}

int64_t
fm_spawn_next_deadline(int64_t start_ns, int64_t period_ns, int64_t now_ns)
{
	int64_t k;

	if (now_ns < start_ns)
		return start_ns + period_ns;
	k = (now_ns - start_ns) / period_ns + 1;
	return start_ns + k * period_ns;
}
