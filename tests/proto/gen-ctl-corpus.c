/*
 * Writes the seed corpus of tests/fuzz/fuzz-ctl.c into DIR: a valid
 * encoding of every control request and of every kind of reply, one of
 * another version, and a few broken ones. Deterministic.
 *
 * Usage: gen-ctl-corpus DIR  (DIR must exist)
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static const char *dir;

static void
emit(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "gen-ctl-corpus: cannot write '%s'\n", path);
		exit(1);
	}
}

static void
check(int r, const char *what)
{
	if (r < 0) {
		fprintf(stderr, "gen-ctl-corpus: %s: %s\n", what, strerror(-r));
		exit(1);
	}
}

static void
emit_request(const char *name, uint32_t version, uint32_t kind, bool failing)
{
	fm_proto_ctl_request m = {
		.version = version, .kind = kind, .failing = failing
	};
	uint8_t *buf;
	size_t len;

	check(fm_proto_ctl_request_encode(&m, &buf, &len), name);
	emit(name, buf, len);
	free(buf);
}

static void
emit_reply(const char *name, const fm_proto_ctl_reply *m, size_t cut)
{
	uint8_t *buf;
	size_t len;

	check(fm_proto_ctl_reply_encode(m, &buf, &len), name);
	emit(name, buf, cut && cut < len ? cut : len);
	free(buf);
}

/* A status as a standalone agent with one rule and one action shows. */
static void
fill_status(fm_proto_ctl_status *s)
{
	static const char *const sources[] = { "oom", "fs_full", "health",
		"manual" };

	snprintf(s->agent_version, sizeof(s->agent_version), "0.1.0");
	s->pid = 1234;
	s->start_real_ns = 1700000000000000000LL;
	s->uptime_ms = 3600000;
	snprintf(
	    s->config_path, sizeof(s->config_path), "/etc/fedmon/agent.conf");
	snprintf(s->state_dir, sizeof(s->state_dir), "/var/lib/fedmon");
	snprintf(s->metrics_url, sizeof(s->metrics_url),
	    "http://127.0.0.1:9741/metrics");
	s->interval_ms = 1000;
	s->n_problems = 1;
	snprintf(s->problems[0], sizeof(s->problems[0]),
	    "collectors failing: pressure");
	s->samples = 3600;
	snprintf(s->collectors_missing, sizeof(s->collectors_missing), "snmp");
	snprintf(
	    s->collectors_failing, sizeof(s->collectors_failing), "pressure");
	s->last_sample_real_ns = 1700000003600000000LL;
	s->last_sample_age_ms = 300;
	s->learning = s->ready = s->alarm = true;
	s->trainings = 3;
	s->trained_real_ns = 1700000003000000000LL;
	s->rows_held = 3600;
	s->min_rows = 600;
	s->score = 2.5f;
	s->threshold = 1.0f;
	s->scored = 3000;
	s->alarms = 2;
	s->n_top = 2;
	snprintf(s->top[0].name, sizeof(s->top[0].name), "cpu.user");
	s->top[0].contrib = 0.6f;
	snprintf(s->top[1].name, sizeof(s->top[1].name), "mem.used");
	s->top[1].contrib = 0.3f;
	s->n_predictors = 4;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(s->predictors[i].name, sizeof(s->predictors[i].name),
		    "%s", sources[i]);
		s->predictors[i].enabled = i != 2;
		s->predictors[i].trained = i == 0;
		s->predictors[i].probability = i == 0 ? 0.25f : 0;
		s->predictors[i].onsets = i == 0 ? 2 : 0;
		s->predictors[i].events = i == 0 ? 2 : 0;
	}
	s->acting = true;
	s->n_rules = 1;
	snprintf(s->rules[0].name, sizeof(s->rules[0].name), "restart-web");
	snprintf(s->rules[0].kind, sizeof(s->rules[0].kind), "restart");
	s->rules[0].ok = 1;
	s->rules[0].suppressed = 4;
	s->rules[0].last_run_real_ns = 1700000003500000000LL;
	s->n_recent = 1;
	s->recent[0].real_ns = 1700000003500000000LL;
	snprintf(s->recent[0].rule, sizeof(s->recent[0].rule), "restart-web");
	snprintf(s->recent[0].kind, sizeof(s->recent[0].kind), "restart");
	snprintf(s->recent[0].result, sizeof(s->recent[0].result), "ok");
	s->recent[0].duration_ms = 120;
	s->recent[0].value = 2.5f;
}

int
main(int argc, char **argv)
{
	static const uint8_t garbage[] = { 0x08, 0xff, 0xff, 0x0b, 0x7a };
	fm_proto_ctl_reply *m;

	if (argc != 2) {
		fprintf(stderr, "usage: gen-ctl-corpus DIR\n");
		return 2;
	}
	dir = argv[1];
	emit_request(
	    "request-status", FM_PROTO_CTL_VERSION, FM_PROTO_CTL_STATUS, false);
	emit_request("request-features", FM_PROTO_CTL_VERSION,
	    FM_PROTO_CTL_FEATURES, false);
	emit_request("request-label-failure", FM_PROTO_CTL_VERSION,
	    FM_PROTO_CTL_LABEL, true);
	emit_request("request-version-2", 2, FM_PROTO_CTL_STATUS, false);
	emit("garbage", garbage, sizeof(garbage));

	m = calloc(1, sizeof(*m));
	if (!m)
		return 1;
	m->version = FM_PROTO_CTL_VERSION;
	m->kind = FM_PROTO_CTL_STATUS;
	fill_status(&m->status);
	emit_reply("reply-status", m, 0);
	emit_reply("reply-status-truncated", m, 100);

	memset(m, 0, sizeof(*m));
	m->version = FM_PROTO_CTL_VERSION;
	m->kind = FM_PROTO_CTL_FEATURES;
	m->features.real_ns = 1700000003600000000LL;
	m->features.schema_version = 1;
	m->features.n = 3;
	snprintf(
	    m->features.f[0].name, sizeof(m->features.f[0].name), "cpu.user");
	snprintf(
	    m->features.f[0].unit, sizeof(m->features.f[0].unit), "fraction");
	m->features.f[0].value = 0.25f;
	snprintf(
	    m->features.f[1].name, sizeof(m->features.f[1].name), "swap.used");
	snprintf(
	    m->features.f[1].unit, sizeof(m->features.f[1].unit), "fraction");
	m->features.f[1].value = NAN;
	snprintf(
	    m->features.f[2].name, sizeof(m->features.f[2].name), "cpu.ctxt");
	snprintf(
	    m->features.f[2].unit, sizeof(m->features.f[2].unit), "log1p(1/s)");
	m->features.f[2].value = 7.5f;
	emit_reply("reply-features", m, 0);

	memset(m, 0, sizeof(*m));
	m->version = FM_PROTO_CTL_VERSION;
	m->kind = FM_PROTO_CTL_LABEL;
	m->label_changed = true;
	emit_reply("reply-label", m, 0);

	memset(m, 0, sizeof(*m));
	m->version = FM_PROTO_CTL_VERSION;
	m->error = -EPROTONOSUPPORT;
	snprintf(m->message, sizeof(m->message),
	    "control protocol version 2 not spoken (this agent speaks 1)");
	emit_reply("reply-error", m, 0);
	free(m);
	return 0;
}
