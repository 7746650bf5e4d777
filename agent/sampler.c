/*
 * The sampler: runs every collector once per tick into one feature vector.
 * Collectors are listed once, here, in the order they run.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent-int.h"

static const fmi_collector_ops *const collectors[] = {
	&fmi_collector_stat, /* first: sets ctx->ncpu */
	&fmi_collector_loadavg,
	&fmi_collector_procs,
	&fmi_collector_pressure,
	&fmi_collector_meminfo,
	&fmi_collector_vmstat,
	&fmi_collector_diskstats,
	&fmi_collector_netdev,
	&fmi_collector_snmp,
	&fmi_collector_filenr,
	&fmi_collector_fs,
};

#define N_COLLECTORS  FM_ELEMENTSOF(collectors)
#define MISSING_BYTES 256

struct slot {
	void *state;
	bool present;   /* opened successfully */
	int last_error; /* of the last read, for transition logging */
};

struct fm_sampler {
	fm_sampler_config cfg;
	char procfs[PATH_MAX];
	struct slot slots[N_COLLECTORS];
	int64_t prev_mono_ns; /* 0 before the first read */
	char missing[MISSING_BYTES];
};

void
fm_sampler_config_init(fm_sampler_config *cfg)
{
	*cfg = (fm_sampler_config) {
		.procfs = "/proc",
		.fs_network = false,
		.fs_refresh_ms = 10000,
		.fs_stale_ms = 30000,
	};
}

fm_sampler *
fm_sampler_free(fm_sampler *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < N_COLLECTORS; i++) {
		if (!s->slots[i].state)
			continue;
		collectors[i]->close(s->slots[i].state);
		free(s->slots[i].state);
	}
	free(s);
	return NULL;
}

static void
note_missing(fm_sampler *s, const char *name)
{
	size_t n = strlen(s->missing);

	(void)snprintf(
	    s->missing + n, sizeof(s->missing) - n, "%s%s", n ? "," : "", name);
}

int
fm_sampler_new(const fm_sampler_config *cfg, fm_sampler **ret)
{
	fm_sampler *s;
	int r;

	if (!cfg || !cfg->procfs || cfg->fs_refresh_ms == 0 ||
	    cfg->fs_stale_ms < cfg->fs_refresh_ms)
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
		const fmi_collector_ops *c = collectors[i];

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
	fm_sampler_free(s);
	return r;
}

const char *
fm_sampler_missing(const fm_sampler *s)
{
	return s->missing;
}

int
fm_sampler_read(fm_sampler *s, fm_sample *ret)
{
	fmi_collect_ctx ctx;
	int64_t now = fm_time_mono_ns();
	unsigned ok = 0;

	for (size_t f = 0; f < FM_FEATURE_COUNT; f++)
		ret->v[f] = NAN;
	ctx = (fmi_collect_ctx) {
		.dt_ns = s->prev_mono_ns ? now - s->prev_mono_ns : 0,
		.ncpu = 0,
		.v = ret->v,
	};
	for (size_t i = 0; i < N_COLLECTORS; i++) {
		struct slot *sl = &s->slots[i];
		int r;

		if (!sl->present)
			continue;
		r = collectors[i]->read(sl->state, &ctx);
		if (r < 0 && sl->last_error == 0)
			fm_log_errno(LOG_WARNING, r,
			    "Failed to read source '%s', masking its "
			    "features until it recovers",
			    collectors[i]->name);
		else if (r == 0 && sl->last_error < 0)
			fm_log(LOG_NOTICE, "Source '%s' recovered.",
			    collectors[i]->name);
		sl->last_error = r < 0 ? r : 0;
		ok += r == 0;
	}
	s->prev_mono_ns = now;
	ret->mono_ns = fm_time_mono_ns();
	ret->real_ns = fm_time_real_ns();
	return ok ? 0 : -EIO;
}
