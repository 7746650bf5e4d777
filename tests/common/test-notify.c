/* Tests for common/notify.c: sd_notify's datagram protocol and the
 * watchdog's environment, against a socket bound by the test. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/common.h"

struct listener {
	char dir[64];
	char path[128];
	int fd;
};

/* Binds a datagram socket at path (a file under a new temporary directory,
 * or, when abstract, "@name") and points NOTIFY_SOCKET at it. */
static void
listen_on(struct listener *l, bool abstract)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len;
	struct timeval tv = { .tv_sec = 10 };

	snprintf(l->dir, sizeof(l->dir), "/tmp/fm-notify-XXXXXX");
	assert_non_null(mkdtemp(l->dir));
	l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(l->fd >= 0);
	if (abstract) {
		/* unique per directory, so parallel runs never collide */
		snprintf(l->path, sizeof(l->path), "@fm-notify-test%s",
		    strrchr(l->dir, '-'));
		memcpy(a.sun_path + 1, l->path + 1, strlen(l->path) - 1);
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    strlen(l->path));
	} else {
		snprintf(l->path, sizeof(l->path), "%s/notify", l->dir);
		memcpy(a.sun_path, l->path, strlen(l->path) + 1);
		len = (socklen_t)sizeof(a);
	}
	assert_int_equal(bind(l->fd, (struct sockaddr *)&a, len), 0);
	/* a missing datagram fails the test instead of hanging it */
	assert_int_equal(
	    setsockopt(l->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", l->path, 1), 0);
}

static void
listener_close(struct listener *l)
{
	char path[160];

	close(l->fd);
	snprintf(path, sizeof(path), "%s/notify", l->dir);
	(void)unlink(path);
	assert_int_equal(rmdir(l->dir), 0);
	unsetenv("NOTIFY_SOCKET");
}

/* Receives one datagram into buf (NUL-terminated); returns its length. */
static size_t
receive(struct listener *l, char *buf, size_t size)
{
	ssize_t n = recv(l->fd, buf, size - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

/* Whether a datagram is waiting. */
static bool
pending(struct listener *l)
{
	char c;

	return recv(l->fd, &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
}

static void
test_notify_unset_is_a_no_op(void **state)
{
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(fm_notify("READY=1"), 0);
	/* not under systemd, even a bad state is nothing to send */
	assert_int_equal(fm_notify(""), 0);
}

static void
test_notify_sends_to_path(void **state)
{
	struct listener l;
	char buf[256];

	listen_on(&l, false);
	assert_int_equal(fm_notify("READY=1"), 1);
	assert_int_equal(receive(&l, buf, sizeof(buf)), 7);
	assert_string_equal(buf, "READY=1");
	/* several assignments travel in one datagram, as given */
	assert_int_equal(fm_notify("STOPPING=1\nSTATUS=Saving"), 1);
	receive(&l, buf, sizeof(buf));
	assert_string_equal(buf, "STOPPING=1\nSTATUS=Saving");
	assert_false(pending(&l));
	listener_close(&l);
}

static void
test_notify_sends_to_abstract(void **state)
{
	struct listener l;
	char buf[256];

	listen_on(&l, true);
	assert_int_equal(fm_notify("WATCHDOG=1"), 1);
	receive(&l, buf, sizeof(buf));
	assert_string_equal(buf, "WATCHDOG=1");
	listener_close(&l);
}

static void
test_notify_state_bounds(void **state)
{
	struct listener l;
	char *big, *buf;

	big = malloc(FM_NOTIFY_STATE_MAX_BYTES + 2);
	buf = malloc(FM_NOTIFY_STATE_MAX_BYTES + 2);
	assert_non_null(big);
	assert_non_null(buf);
	listen_on(&l, false);
	assert_int_equal(fm_notify(NULL), -EINVAL);
	assert_int_equal(fm_notify(""), -EINVAL);
	memset(big, 'x', FM_NOTIFY_STATE_MAX_BYTES + 1);
	big[FM_NOTIFY_STATE_MAX_BYTES + 1] = '\0';
	assert_int_equal(fm_notify(big), -EINVAL);
	assert_false(pending(&l));
	/* the cap itself is sent whole */
	memcpy(big, "STATUS=", 7);
	big[FM_NOTIFY_STATE_MAX_BYTES] = '\0';
	assert_int_equal(fm_notify(big), 1);
	assert_int_equal(receive(&l, buf, FM_NOTIFY_STATE_MAX_BYTES + 2),
	    FM_NOTIFY_STATE_MAX_BYTES);
	assert_string_equal(buf, big);
	listener_close(&l);
	free(buf);
	free(big);
}

static void
test_notify_rejects_bad_sockets(void **state)
{
	char long_path[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];
	static const char *const bad[] = {
		"",
		"relative/notify",
		"@",
		"/",
		"vsock:2:1234",
	};

	for (size_t i = 0; i < FM_ELEMENTSOF(bad); i++) {
		assert_int_equal(setenv("NOTIFY_SOCKET", bad[i], 1), 0);
		assert_int_equal(fm_notify("READY=1"), -EINVAL);
	}
	/* a path must fit sun_path with its NUL; an abstract name without */
	memset(long_path, 'a', sizeof(long_path));
	long_path[0] = '/';
	long_path[sizeof(long_path) - 2] = '\0'; /* 108 characters */
	assert_int_equal(setenv("NOTIFY_SOCKET", long_path, 1), 0);
	assert_int_equal(fm_notify("READY=1"), -EINVAL);
	long_path[sizeof(long_path) - 3] = '\0'; /* 107: fits, nobody there */
	assert_int_equal(setenv("NOTIFY_SOCKET", long_path, 1), 0);
	assert_int_equal(fm_notify("READY=1"), -ENOENT);
	long_path[0] = '@';
	long_path[sizeof(long_path) - 3] = 'a';
	long_path[sizeof(long_path) - 2] = 'a';
	long_path[sizeof(long_path) - 1] = '\0'; /* '@' and 108: too long */
	assert_int_equal(setenv("NOTIFY_SOCKET", long_path, 1), 0);
	assert_int_equal(fm_notify("READY=1"), -EINVAL);
	long_path[sizeof(long_path) - 2] = '\0'; /* '@' and 107: fits */
	assert_int_equal(setenv("NOTIFY_SOCKET", long_path, 1), 0);
	assert_int_equal(fm_notify("READY=1"), -ECONNREFUSED);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_reports_send_errors(void **state)
{
	char dir[] = "/tmp/fm-notify-XXXXXX";
	char path[64];
	int before, after;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	before = dup(0);
	assert_true(before >= 0);
	close(before);
	assert_int_equal(fm_notify("READY=1"), -ENOENT);
	assert_int_equal(setenv("NOTIFY_SOCKET", "@fm-notify-nobody-listens",
	                     1),
	    0);
	assert_int_equal(fm_notify("READY=1"), -ECONNREFUSED);
	/* the socket is closed on every path: no descriptor leaks */
	after = dup(0);
	assert_int_equal(after, before);
	close(after);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(rmdir(dir), 0);
}

static void
set_watchdog(const char *usec, const char *pid)
{
	if (usec)
		assert_int_equal(setenv("WATCHDOG_USEC", usec, 1), 0);
	else
		unsetenv("WATCHDOG_USEC");
	if (pid)
		assert_int_equal(setenv("WATCHDOG_PID", pid, 1), 0);
	else
		unsetenv("WATCHDOG_PID");
}

static void
test_notify_watchdog_usec(void **state)
{
	char self[32], other[32];

	snprintf(self, sizeof(self), "%d", (int)getpid());
	/* a pid that is not ours, whatever ours is */
	snprintf(other, sizeof(other), "%d", getpid() == 1 ? 2 : 1);

	set_watchdog(NULL, NULL);
	assert_true(fm_notify_watchdog_usec() == 0);
	set_watchdog("30000000", NULL);
	assert_true(fm_notify_watchdog_usec() == 30000000);
	set_watchdog("2000000", self);
	assert_true(fm_notify_watchdog_usec() == 2000000);
	/* inherited from a parent that was meant to ping */
	set_watchdog("2000000", other);
	assert_true(fm_notify_watchdog_usec() == 0);
	set_watchdog(NULL, self);
	assert_true(fm_notify_watchdog_usec() == 0);
}

static void
test_notify_watchdog_rejects_bad_values(void **state)
{
	char self[32];
	static const char *const bad_usec[] = {
		"", "0", "-1", "1s", " 5", "0x10", "18446744073709551615",
		"99999999999999999999",
	};
	static const char *const bad_pid[] = {
		"", "0", "-1", "abc", "2147483648", "12 ",
	};

	snprintf(self, sizeof(self), "%d", (int)getpid());
	for (size_t i = 0; i < FM_ELEMENTSOF(bad_usec); i++) {
		set_watchdog(bad_usec[i], NULL);
		assert_true(fm_notify_watchdog_usec() == 0);
		set_watchdog(bad_usec[i], self);
		assert_true(fm_notify_watchdog_usec() == 0);
	}
	for (size_t i = 0; i < FM_ELEMENTSOF(bad_pid); i++) {
		set_watchdog("1000000", bad_pid[i]);
		assert_true(fm_notify_watchdog_usec() == 0);
	}
	/* the largest period systemd can mean */
	set_watchdog("18446744073709551614", NULL);
	assert_true(fm_notify_watchdog_usec() == UINT64_MAX - 1);
	set_watchdog(NULL, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_unset_is_a_no_op),
		cmocka_unit_test(test_notify_sends_to_path),
		cmocka_unit_test(test_notify_sends_to_abstract),
		cmocka_unit_test(test_notify_state_bounds),
		cmocka_unit_test(test_notify_rejects_bad_sockets),
		cmocka_unit_test(test_notify_reports_send_errors),
		cmocka_unit_test(test_notify_watchdog_usec),
		cmocka_unit_test(test_notify_watchdog_rejects_bad_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
