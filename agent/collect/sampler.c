/*
 * The sampler: runs every collector once per tick into one feature vector.
 * Collectors are listed once, here, in the order they run.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/collect/collect-int.h"

struct collector {
	const fmi_collector_ops *ops;
	bool slow; /* costly to produce and slow-moving: every slow_every */
};

/* Kernel-side cost per read measured on a 2-vCPU VM: getdents of /proc
 * 42 us, vmstat 25 us, net/snmp 18 us, file-nr 7 us; the others 2-11 us. */
static const struct collector collectors[] = {
	{ &fmi_collector_stat, false }, /* first: sets ctx->ncpu */
	{ &fmi_collector_loadavg, false }, { &fmi_collector_procs, true },
	{ &fmi_collector_pressure, false }, { &fmi_collector_meminfo, false },
	{ &fmi_collector_vmstat, true }, { &fmi_collector_diskstats, false },
	{ &fmi_collector_netdev, false }, { &fmi_collector_snmp, true },
	{ &fmi_collector_filenr, true },
	{ &fmi_collector_fs, false }, /* cheap: copies the worker's result */
};

#define N_COLLECTORS  FM_ELEMENTSOF(collectors)
#define MISSING_BYTES 256

struct slot {
	void *state;
	bool present;         /* opened successfully */
	int last_error;       /* of the last read, for transition logging */
	int64_t prev_mono_ns; /* of its previous read, 0 before the first */
	/* slow collectors: the features their last read set, repeated until
	 * their next read */
	bool owned[FM_FEATURE_COUNT];
	float held[FM_FEATURE_COUNT];
};

struct fm_collect_sampler {
	fm_collect_sampler_config cfg;
	char procfs[PATH_MAX];
	struct slot slots[N_COLLECTORS];
	uint64_t reads; /* calls to fm_collect_sampler_read so far */
	char missing[MISSING_BYTES];
	char failing[MISSING_BYTES]; /* sources whose last read failed */
};

void
fm_collect_sampler_config_init(fm_collect_sampler_config *cfg)
{
	*cfg = (fm_collect_sampler_config) {
		.procfs = "/proc",
		.fs_network = false,
		.fs_refresh_ms = 10000,
		.fs_stale_ms = 30000,
		.slow_every = 5,
	};
}

fm_collect_sampler *
fm_collect_sampler_free(fm_collect_sampler *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < N_COLLECTORS; i++) {
		if (!s->slots[i].state)
			continue;
		collectors[i].ops->close(s->slots[i].state);
		free(s->slots[i].state);
	}
	free(s);
	return NULL;
}

static void
note_missing(fm_collect_sampler *s, const char *name)
{
	size_t n = strlen(s->missing);

	(void)snprintf(
	    s->missing + n, sizeof(s->missing) - n, "%s%s", n ? "," : "", name);
}

int
fm_collect_sampler_new(
    const fm_collect_sampler_config *cfg, fm_collect_sampler **ret)
{
	fm_collect_sampler *s;
	int r;

	if (!cfg || !cfg->procfs || cfg->fs_refresh_ms == 0 ||
	    cfg->fs_stale_ms < cfg->fs_refresh_ms || cfg->slow_every == 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = fm_strlcpy(s->procfs, cfg->procfs, sizeof(s->procfs));
	if (r < 0)
		goto out_free;
	s->cfg = *cfg;
	s->cfg.procfs = s->procfs;
	for (size_t i = 0; i < N_COLLECTORS; i++) {
		const fmi_collector_ops *c = collectors[i].ops;

		s->slots[i].state = calloc(1, c->state_bytes);
		if (!s->slots[i].state) {
			r = -ENOMEM;
			goto out_free;
		}
		r = c->open(s->slots[i].state, &s->cfg);
		if (r == -ENOENT) {
			note_missing(s, c->name);
			fm_log(LOG_NOTICE,
			    "Source '%s' is not available on this host, its "
			    "features stay masked, ignoring.",
			    c->name);
			continue;
		}
		if (r < 0) {
			fm_log_errno(
			    LOG_ERR, r, "Failed to open source '%s'", c->name);
			goto out_free;
		}
		s->slots[i].present = true;
	}
	/* Without /proc/stat there is no procfs at all. */
	if (!s->slots[0].present) {
		r = -ENOENT;
		goto out_free;
	}
	*ret = s;
	return 0;
out_free:
	fm_collect_sampler_free(s);
	return r;
}

const char *
fm_collect_sampler_missing(const fm_collect_sampler *s)
{
	return s->missing;
}

const char *
fm_collect_sampler_failing(const fm_collect_sampler *s)
{
	return s->failing;
}

/* Names the present sources whose last read failed in s->failing. */
static void
list_failing(fm_collect_sampler *s)
{
	size_t n = 0;

	s->failing[0] = '\0';
	for (size_t i = 0; i < N_COLLECTORS; i++) {
		const struct slot *sl = &s->slots[i];
		int m;

		if (!sl->present || sl->last_error == 0)
			continue;
		m = snprintf(s->failing + n, sizeof(s->failing) - n, "%s%s",
		    n ? "," : "", collectors[i].ops->name);
		if (m < 0 || (size_t)m >= sizeof(s->failing) - n)
			break;
		n += (size_t)m;
	}
}

/* Runs one collector, with the interval since its own previous read. */
static int
read_one(fm_collect_sampler *s, size_t i, int64_t now, float *v, uint32_t *ncpu)
{
	struct slot *sl = &s->slots[i];
	fmi_collect_ctx ctx = {
		.dt_ns = sl->prev_mono_ns ? now - sl->prev_mono_ns : 0,
		.ncpu = *ncpu,
		.v = v,
	};
	bool was_masked[FM_FEATURE_COUNT];
	int r;

	if (collectors[i].slow)
		for (size_t f = 0; f < FM_FEATURE_COUNT; f++)
			was_masked[f] = fm_collect_feature_is_masked(v[f]);
	r = collectors[i].ops->read(sl->state, &ctx);
	sl->prev_mono_ns = now;
	*ncpu = ctx.ncpu;
	if (collectors[i].slow)
		for (size_t f = 0; f < FM_FEATURE_COUNT; f++) {
			sl->owned[f] = was_masked[f] &&
			    !fm_collect_feature_is_masked(v[f]);
			sl->held[f] = v[f];
		}
	return r;
}

int
fm_collect_sampler_read(fm_collect_sampler *s, fm_collect_sample *ret)
{
	int64_t now = fm_time_mono_ns();
	bool slow_turn = s->reads % s->cfg.slow_every == 0;
	uint32_t ncpu = 0;
	unsigned ok = 0;

	for (size_t f = 0; f < FM_FEATURE_COUNT; f++)
		ret->v[f] = NAN;
	for (size_t i = 0; i < N_COLLECTORS; i++) {
		struct slot *sl = &s->slots[i];
		int r;

		if (!sl->present)
			continue;
		if (collectors[i].slow && !slow_turn) {
			for (size_t f = 0; f < FM_FEATURE_COUNT; f++)
				if (sl->owned[f])
					ret->v[f] = sl->held[f];
			ok += sl->last_error == 0;
			continue;
		}
		r = read_one(s, i, now, ret->v, &ncpu);
		if (r < 0 && sl->last_error == 0)
			fm_log_errno(LOG_WARNING, r,
			    "Failed to read source '%s', masking its "
			    "features until it recovers",
			    collectors[i].ops->name);
		else if (r == 0 && sl->last_error < 0)
			fm_log(LOG_NOTICE, "Source '%s' recovered.",
			    collectors[i].ops->name);
		sl->last_error = r < 0 ? r : 0;
		ok += r == 0;
	}
	s->reads++;
	list_failing(s);
	ret->mono_ns = fm_time_mono_ns();
	ret->real_ns = fm_time_real_ns();
	ret->read_ns = ret->mono_ns - now;
	return ok ? 0 : -EIO;
}
