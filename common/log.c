/* Logging to stderr with "<N>" priority prefixes (journald's format). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/common.h"

#define LOG_LINE_BYTES 1024

static int max_level = LOG_INFO;

void
fm_log_set_max_level(int prio)
{
	if (prio < LOG_EMERG)
		prio = LOG_EMERG;
	if (prio > LOG_DEBUG)
		prio = LOG_DEBUG;
	max_level = prio;
}

/* syslog's priorities, LOG_EMERG (0) to LOG_DEBUG (7). */
static const char *const level_names[] = {
	"emerg",
	"alert",
	"crit",
	"err",
	"warning",
	"notice",
	"info",
	"debug",
};

int
fm_log_level_from_string(const char *s)
{
	if (!s)
		return -EINVAL;
	for (int i = 0; i < (int)FM_ELEMENTSOF(level_names); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return i;
	if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

const char *
fm_log_level_to_string(int prio)
{
	if (prio < 0 || prio >= (int)FM_ELEMENTSOF(level_names))
		return NULL;
	return level_names[prio];
}

bool
fm_log_is_enabled(int prio)
{
	return prio <= max_level;
}

/* Formats one line and writes it with a single write(2), so lines from
 * several threads never interleave. */
static void
log_line(int prio, int error, const char *fmt, va_list ap)
{
	char line[LOG_LINE_BYTES];
	int n, m;

	n = snprintf(line, sizeof(line), "<%d>", prio & 7);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (m < 0)
		return;
	n += m;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	if (error < 0) {
		char ebuf[128];
		const char *es = strerror_r(-error, ebuf, sizeof(ebuf));

		m = snprintf(line + n, sizeof(line) - (size_t)n, ": %s", es);
		if (m > 0)
			n += m;
		if (n > (int)sizeof(line) - 2)
			n = (int)sizeof(line) - 2;
	}
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
}

void
fm_log(int prio, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (!fm_log_is_enabled(prio))
		return;
	va_start(ap, fmt);
	log_line(prio, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

int
fm_log_errno(int prio, int error, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	if (fm_log_is_enabled(prio)) {
		va_start(ap, fmt);
		log_line(prio, error, fmt, ap);
		va_end(ap);
	}
	errno = saved;
	return error;
}
