/*
 * The aggregator's /metrics, in the Prometheus text format, from one
 * fm_agg_status snapshot (so the numbers agree with each other) taken on
 * one of the HTTP server's threads.
 */
#include <errno.h>

#include "aggregator/aggregator.h"
#include "fm-config.h"

static const uint32_t phases[] = {
	FM_AGG_PHASE_OPEN,
	FM_AGG_PHASE_COLLECT,
	FM_AGG_PHASE_AGGREGATE,
	FM_AGG_PHASE_PERSIST,
	FM_AGG_PHASE_PUBLISH,
	FM_AGG_PHASE_IDLE,
};

static void
render_rounds(fm_prom *p, const fm_agg_status *st)
{
	fm_prom_one_u64(p, "fedmon_aggregator_round", "gauge",
	    "The last round opened (0: none yet).", st->round);
	fm_prom_family(p, "fedmon_aggregator_phase", "gauge",
	    "1 for the phase the round is in, 0 for the others.");
	for (size_t i = 0; i < FM_ELEMENTSOF(phases); i++)
		fm_prom_u64(p, "fedmon_aggregator_phase",
		    (const char *const[]) {
		        "phase", fm_agg_phase_name(phases[i]) },
		    1, st->phase == phases[i]);
	fm_prom_one_u64(p, "fedmon_aggregator_finished", "gauge",
	    "1 once max_rounds rounds published: no round opens again.",
	    st->finished);
	fm_prom_one_u64(p, "fedmon_aggregator_global_version", "gauge",
	    "The global model's version, the round that made it (0: none).",
	    st->version);
	fm_prom_one_u64(p, "fedmon_aggregator_model_parameters", "gauge",
	    "Parameters of the global model's layout (0: none fixed yet).",
	    st->n_params);
	fm_prom_one_u64(p, "fedmon_aggregator_round_participants", "gauge",
	    "Updates accepted in the round now open.", st->participants);
	fm_prom_one_u64(p, "fedmon_aggregator_rounds_published_total",
	    "counter",
	    "Rounds that published a model, in the model's whole history.",
	    st->rounds_published);
	fm_prom_one_u64(p, "fedmon_aggregator_rounds_abandoned_total",
	    "counter",
	    "Rounds abandoned with fewer than min_updates updates by this "
	    "process.",
	    st->rounds_abandoned);
	/* No round published by this process yet: no duration to show. */
	if (st->last_round_ms >= 0) {
		fm_prom_one_double(p,
		    "fedmon_aggregator_last_round_duration_seconds", "gauge",
		    "The last published round, from opening to publishing.",
		    (double)st->last_round_ms / 1e3);
	}
}

static void
render_requests(fm_prom *p, const fm_agg_status *st)
{
	fm_prom_one_u64(p, "fedmon_aggregator_requests_total", "counter",
	    "Requests handled by this process.", st->requests);
	fm_prom_one_u64(p, "fedmon_aggregator_updates_accepted_total",
	    "counter", "Model updates accepted by this process.", st->accepted);
	fm_prom_one_u64(p, "fedmon_aggregator_updates_clipped_total", "counter",
	    "Accepted updates whose delta was scaled down to clip_norm.",
	    st->clipped);
	fm_prom_family(p, "fedmon_aggregator_rejections_total", "counter",
	    "Requests refused by this process, by reason.");
	for (uint32_t r = 0; r < FM_PROTO_REASON_COUNT; r++) {
		if (r == FM_PROTO_OK)
			continue;
		fm_prom_u64(p, "fedmon_aggregator_rejections_total",
		    (const char *const[]) { "reason", fm_proto_reason_name(r) },
		    1, st->rejections[r]);
	}
	fm_prom_one_u64(p, "fedmon_aggregator_enrolled_keys", "gauge",
	    "Agent keys enrolled (authorized_agents).", st->enrolled);
	fm_prom_one_u64(p, "fedmon_aggregator_peers", "gauge",
	    "Senders with a replay mark, ever.", st->peers);
}

int
fm_agg_metrics_render(fm_agg *a, char **ret, size_t *ret_len)
{
	fm_agg_status st;
	fm_prom p;

	fm_agg_status_get(a, &st);
	fm_prom_init(&p);
	fm_prom_family(&p, "fedmon_aggregator_info", "gauge",
	    "The running fedmon-aggregator's version, always 1.");
	fm_prom_u64(&p, "fedmon_aggregator_info",
	    (const char *const[]) { "version", FM_VERSION }, 1, 1);
	render_rounds(&p, &st);
	render_requests(&p, &st);
	fm_prom_process(&p);
	return fm_prom_finish(&p, ret, ret_len);
}
