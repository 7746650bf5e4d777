/*
 * systemd's readiness protocol without libsystemd: sd_notify(3)'s
 * documented datagram protocol. The state is one datagram of
 * newline-separated assignments sent to the AF_UNIX socket named by
 * $NOTIFY_SOCKET: a filesystem path ("/run/systemd/notify"), or "@name"
 * for a name in the abstract namespace. The service manager learns the
 * sender from the kernel's credentials (it sets SO_PASSCRED), so nothing
 * but the state is sent.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/common.h"

/*
 * Fills addr from a NOTIFY_SOCKET value. Returns the address length to
 * pass to sendto(2), or -EINVAL for anything but an absolute path or an
 * "@name" that fits sun_path (vsock addresses, which newer systemd
 * versions may hand out, are not supported).
 */
static int
notify_address(const char *e, struct sockaddr_un *addr)
{
	size_t len = strlen(e);

	*addr = (struct sockaddr_un) { .sun_family = AF_UNIX };
	if (len < 2 || (e[0] != '/' && e[0] != '@'))
		return -EINVAL;
	if (e[0] == '/') {
		/* a path, with its NUL */
		if (len >= sizeof(addr->sun_path))
			return -EINVAL;
		memcpy(addr->sun_path, e, len + 1);
		return (int)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	}
	/* abstract: a NUL byte, then the name, and no terminator */
	if (len > sizeof(addr->sun_path))
		return -EINVAL;
	memcpy(addr->sun_path + 1, e + 1, len - 1);
	return (int)(offsetof(struct sockaddr_un, sun_path) + len);
}

int
fm_notify(const char *state)
{
	struct sockaddr_un addr;
	const char *e;
	size_t len;
	ssize_t n;
	int addr_len, fd, r;

	e = getenv("NOTIFY_SOCKET");
	if (!e)
		return 0;
	if (!state)
		return -EINVAL;
	len = strnlen(state, FM_NOTIFY_STATE_MAX_BYTES + 1);
	if (len == 0 || len > FM_NOTIFY_STATE_MAX_BYTES)
		return -EINVAL;
	addr_len = notify_address(e, &addr);
	if (addr_len < 0)
		return addr_len;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Blocking, like sd_notify(): a full queue at the manager delays the
	 * caller rather than losing READY=1. A signal may interrupt it. */
	do
		n = sendto(fd, state, len, MSG_NOSIGNAL,
		    (const struct sockaddr *)&addr, (socklen_t)addr_len);
	while (n < 0 && errno == EINTR);
	/* a datagram is sent whole or not at all */
	r = n < 0 ? -errno : 1;
	close(fd);
	return r;
}

uint64_t
fm_notify_watchdog_usec(void)
{
	const char *s, *p;
	uint64_t usec, pid;

	s = getenv("WATCHDOG_USEC");
	if (!s)
		return 0;
	/* systemd's own bounds: 0 and USEC_INFINITY are not periods */
	if (fm_parse_u64_range(s, 1, UINT64_MAX - 1, &usec) < 0)
		return 0;
	p = getenv("WATCHDOG_PID");
	if (p) {
		/* the watchdog is meant for another process (our parent's,
		 * inherited): not ours to ping */
		if (fm_parse_u64_range(p, 1, INT32_MAX, &pid) < 0)
			return 0;
		if ((pid_t)pid != getpid())
			return 0;
	}
	return usec;
}
