/*
 * What this process costs, for the process_* metrics both daemons export:
 * CPU seconds (getrusage), resident memory (/proc/self/statm) and the
 * start time (/proc/self/stat's starttime after /proc/stat's btime), read
 * the way node_exporter's procfs package reads them. The parsers are pure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/common.h"

/* /proc/self/stat and statm are a line each; /proc/stat grows with the
 * CPU count and interrupt lines, a few hundred KiB on the largest hosts. */
#define SELF_STAT_MAX_BYTES (16u * 1024)
#define PROC_STAT_MAX_BYTES (4u * 1024 * 1024)

/* Reads the decimal field starting at p (after blanks) into *ret; returns
 * the end, or NULL. */
static const char *
field_u64(const char *p, uint64_t *ret)
{
	uint64_t v = 0;

	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != ' ' && *p != '\n' && *p != '\0')
		return NULL;
	*ret = v;
	return p;
}

int
fm_proc_self_parse_statm(const char *text, uint64_t *ret_resident_pages)
{
	uint64_t size, resident;
	const char *p;

	p = field_u64(text, &size);
	if (p)
		p = field_u64(p, &resident);
	if (!p)
		return -EINVAL;
	*ret_resident_pages = resident;
	return 0;
}

int
fm_proc_self_parse_starttime(const char *text, uint64_t *ret_ticks)
{
	/* "pid (comm) state ppid ...": comm may hold blanks and ')', so the
	 * fields start after the last ')'; starttime is field 22, the 20th
	 * after comm. */
	const char *p = strrchr(text, ')');
	uint64_t v = 0;

	if (!p || p[1] != ' ')
		return -EINVAL;
	p += 2;
	/* state: one character */
	if (!*p || p[1] != ' ')
		return -EINVAL;
	p += 1;
	for (int field = 4; field <= 22; field++) {
		/* a few fields may be negative (priority, nice) */
		while (*p == ' ')
			p++;
		if (*p == '-')
			p++;
		p = field_u64(p, &v);
		if (!p)
			return -EINVAL;
	}
	*ret_ticks = v;
	return 0;
}

int
fm_proc_self_parse_btime(const char *text, uint64_t *ret_seconds)
{
	const char *p = text;

	while (p && *p) {
		if (strncmp(p, "btime ", 6) == 0)
			return field_u64(p + 6, ret_seconds) ? 0 : -EINVAL;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -EINVAL;
}

/* The start time never changes: read once. */
static pthread_once_t start_once = PTHREAD_ONCE_INIT;
static double start_seconds; /* 0: unknown */

static int
read_text(const char *path, size_t max, char **ret)
{
	uint8_t *buf;
	size_t len;
	int r;

	r = fm_file_read_all(path, max, &buf, &len);
	if (r < 0)
		return r;
	*ret = (char *)buf; /* NUL-terminated by fm_file_read_all() */
	return 0;
}

static void
start_read(void)
{
	char *self = NULL, *stat = NULL;
	uint64_t ticks, btime;
	long hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 ||
	    read_text("/proc/self/stat", SELF_STAT_MAX_BYTES, &self) < 0)
		goto out;
	if (read_text("/proc/stat", PROC_STAT_MAX_BYTES, &stat) < 0)
		goto out;
	if (fm_proc_self_parse_starttime(self, &ticks) == 0 &&
	    fm_proc_self_parse_btime(stat, &btime) == 0)
		start_seconds = (double)btime + (double)ticks / (double)hz;
out:
	free(self);
	free(stat);
}

int
fm_proc_self_read(fm_proc_self *ret)
{
	struct rusage ru;
	char *statm = NULL;
	uint64_t pages;
	long page_size = sysconf(_SC_PAGESIZE);
	int r;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return -errno;
	r = read_text("/proc/self/statm", SELF_STAT_MAX_BYTES, &statm);
	if (r < 0)
		return r;
	r = fm_proc_self_parse_statm(statm, &pages);
	free(statm);
	if (r < 0)
		return r;
	if (page_size <= 0)
		return -EINVAL;
	(void)pthread_once(&start_once, start_read);
	*ret = (fm_proc_self) {
		.cpu_seconds = (double)ru.ru_utime.tv_sec +
		    (double)ru.ru_utime.tv_usec / 1e6 +
		    (double)ru.ru_stime.tv_sec +
		    (double)ru.ru_stime.tv_usec / 1e6,
		.resident_bytes = pages * (uint64_t)page_size,
		.start_time_seconds = start_seconds,
	};
	return 0;
}
