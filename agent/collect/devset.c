/*
 * Per-device counters between two ticks, for the collectors that sum over
 * a list of devices (/proc/diskstats, /proc/net/dev): devices are matched
 * by identity, not position, and only those present in both ticks whose
 * counters all moved forward give a delta. A device added, removed, or
 * removed and re-added (its counters restart) is left out of that tick
 * rather than read as a burst or a negative rate.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect-int.h"

/* Devices made room for at first; the arrays double on demand up to the
 * type's max. */
#define DEVSET_INITIAL 16

static void *
dev_at(const fmi_devset *s, void *devs, uint32_t i)
{
	return (char *)devs + (size_t)i * s->type->dev_bytes;
}

/* Doubles both arrays (up to type->max), keeping their contents. */
static int
grow(fmi_devset *s)
{
	uint32_t max = s->type->max;
	uint32_t cap;
	void *p;

	if (s->cap >= max)
		return -E2BIG;
	cap = s->cap > max / 2 ? max : 2 * s->cap;
	p = realloc(s->prev, (size_t)cap * s->type->dev_bytes);
	if (!p)
		return -ENOMEM;
	s->prev = p;
	p = realloc(s->cur, (size_t)cap * s->type->dev_bytes);
	if (!p)
		return -ENOMEM;
	s->cur = p;
	s->cap = cap;
	return 0;
}

int
fmi_devset_open(fmi_devset *s, const fmi_devset_type *type, const char *procfs)
{
	assert(type->ncounters <= FMI_DEVSET_COUNTERS_MAX);
	s->type = type;
	s->prev = calloc(DEVSET_INITIAL, type->dev_bytes);
	s->cur = calloc(DEVSET_INITIAL, type->dev_bytes);
	if (!s->prev || !s->cur)
		return -ENOMEM;
	s->cap = DEVSET_INITIAL;
	/* A file without devices (a container) opens fine. */
	return fmi_procfile_open(&s->file, procfs, type->rel);
}

int
fmi_devset_read(fmi_devset *s)
{
	void *t;
	uint32_t n;
	int r;

	if (!s->prev || !s->cur)
		return -EBADF;
	/* Parse into the older array, so that growing keeps the newer. */
	r = fmi_procfile_read(&s->file);
	while (r >= 0) {
		r = s->type->parse(
		    s->file.buf, s->file.len, s->prev, s->cap, &n);
		if (r != -E2BIG)
			break;
		r = grow(s);
	}
	if (r < 0) {
		s->has_cur = false;
		s->has_prev = false;
		return r;
	}
	t = s->prev;
	s->prev = s->cur;
	s->cur = t;
	s->prev_n = s->cur_n;
	s->has_prev = s->has_cur;
	s->cur_n = n;
	s->has_cur = true;
	return 0;
}

/* The previous tick's record of the current tick's device i: usually at
 * the same index. */
static const void *
find_prev(const fmi_devset *s, uint32_t i)
{
	const void *c = dev_at(s, s->cur, i);

	if (i < s->prev_n && s->type->is_same(dev_at(s, s->prev, i), c))
		return dev_at(s, s->prev, i);
	for (uint32_t j = 0; j < s->prev_n; j++) {
		if (s->type->is_same(dev_at(s, s->prev, j), c))
			return dev_at(s, s->prev, j);
	}
	return NULL;
}

static uint64_t
counter_at(const void *dev, const fmi_devset_counter *c)
{
	uint64_t v;

	memcpy(&v, (const char *)dev + c->off, sizeof(v));
	return v;
}

/* False when any counter went backwards beyond a wrap of its width. */
static bool
delta_of(const fmi_devset *s, const void *p, const void *c, uint64_t *ret)
{
	uint64_t d[FMI_DEVSET_COUNTERS_MAX];
	size_t n = s->type->ncounters;

	for (size_t k = 0; k < n; k++) {
		const fmi_devset_counter *ctr = &s->type->counters[k];

		if (!fmi_counter_delta(counter_at(p, ctr), counter_at(c, ctr),
		        ctr->bits, &d[k]))
			return false;
	}
	memcpy(ret, d, n * sizeof(*d));
	return true;
}

bool
fmi_devset_next_delta(const fmi_devset *s, uint32_t *pos, uint64_t *ret_deltas)
{
	if (!s->has_cur || !s->has_prev)
		return false;
	while (*pos < s->cur_n) {
		uint32_t i = (*pos)++;
		const void *p = find_prev(s, i);

		if (p && delta_of(s, p, dev_at(s, s->cur, i), ret_deltas))
			return true;
	}
	return false;
}

void
fmi_devset_close(fmi_devset *s)
{
	fmi_procfile_close(&s->file);
	free(s->prev);
	free(s->cur);
	s->prev = NULL;
	s->cur = NULL;
	s->cap = 0;
	s->cur_n = 0;
	s->prev_n = 0;
	s->has_cur = false;
	s->has_prev = false;
}
