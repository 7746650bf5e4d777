/*
 * The agent's /metrics, in the Prometheus text format, rendered on one of
 * the HTTP server's threads from the parts' thread-safe getters.
 *
 * Always present: fedmon_agent_info, fedmon_agent_healthy,
 * fedmon_agent_problems, fedmon_agent_problem{problem} (every problem
 * status.h names, 0 or 1, so a feature turned off reads 0 and an alert
 * never waits on a missing series), fedmon_agent_learning,
 * fedmon_samples_total,
 * fedmon_sample_failures_total, fedmon_sample_read_duration_seconds
 * (histogram), fedmon_feature_value{feature} (masked features left out)
 * and the process_* families (common/prom.c). A part the view lacks
 * leaves its families out rather than show zeros that would read as
 * values: the learner's (fedmon_anomaly_*, fedmon_detector_*,
 * fedmon_feature_contribution, fedmon_failure_probability and
 * fedmon_failure_predictor_trained and _trusted), the labels'
 * (fedmon_failure_onsets_total, fedmon_failure_active), federation's
 * (fedmon_federation_*) and the actions' (fedmon_actions_*, fedmon_action_*).
 * Series of an enumeration (every feature, label source, rule x result) are all
 * written, zeros included, so a rate() never starts from a missing series.
 */
#include <errno.h>
#include <stdlib.h>

#include "agent/status/status.h"
#include "fm-config.h"

#define NS_PER_S 1e9

/* A Unix time in seconds from a CLOCK_REALTIME stamp (0 stays 0). */
static double
seconds(int64_t real_ns)
{
	return (double)real_ns / NS_PER_S;
}

static void
render_agent(
    fm_prom *p, const fm_status_view *v, const fm_status_live_snapshot *ls)
{
	fm_status_health h;

	fm_status_health_get(v, &h);
	fm_prom_family(p, "fedmon_agent_info", "gauge",
	    "The running fedmon-agent's version, always 1.");
	fm_prom_double(p, "fedmon_agent_info",
	    (const char *const[]) { "version", FM_VERSION }, 1, 1);
	fm_prom_one_u64(p, "fedmon_agent_healthy", "gauge",
	    "1 when fedmonctl status finds nothing wrong (learning included), "
	    "0 when degraded.",
	    h.n_on == 0);
	fm_prom_one_u64(p, "fedmon_agent_problems", "gauge",
	    "Problems fedmonctl status names.", h.n_on);
	fm_prom_family(p, "fedmon_agent_problem", "gauge",
	    "1 while the named problem goes on, else 0 (every name always "
	    "written).");
	for (unsigned i = 0; i < FM_STATUS_PROBLEM_COUNT; i++)
		fm_prom_u64(p, "fedmon_agent_problem",
		    (const char *const[]) {
		        "problem", fm_status_problem_name(i) },
		    1, h.on[i]);
	fm_prom_one_u64(p, "fedmon_agent_learning", "gauge",
	    "1 while the detector warms up (not trained yet), else 0.",
	    h.learning);

	fm_prom_one_u64(p, "fedmon_samples_total", "counter",
	    "Samples taken since the agent started.", ls->samples);
	fm_prom_one_u64(p, "fedmon_sample_failures_total", "counter",
	    "Samples in which no source could be read.", ls->failed);
	fm_prom_histogram(p, "fedmon_sample_read_duration_seconds",
	    "Time to read every source for one sample.",
	    fm_status_live_bucket_le, ls->read_bucket, FM_STATUS_LIVE_BUCKETS,
	    ls->read_sum_seconds);
	fm_prom_one_double(p, "fedmon_sample_interval_seconds", "gauge",
	    "The sampling period.", v->interval_ms / 1e3);
	if (ls->samples > 0) {
		fm_prom_one_double(p, "fedmon_sample_timestamp_seconds",
		    "gauge", "When the latest sample was taken, Unix time.",
		    seconds(ls->last.real_ns));
	}

	fm_prom_family(p, "fedmon_feature_value", "gauge",
	    "The latest sample's features (see fedmon-agent "
	    "--list-features for units); unknown ones are left out.");
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++) {
		if (fm_collect_feature_is_masked(ls->last.v[i]))
			continue;
		fm_prom_float(p, "fedmon_feature_value",
		    (const char *const[]) {
		        "feature", fm_collect_feature_get(i)->name },
		    1, ls->last.v[i]);
	}
}

static void
render_learner(fm_prom *p, fm_model_learner *l)
{
	fm_model_learner_status st;

	fm_model_learner_status_get(l, &st);
	fm_prom_one_u64(p, "fedmon_detector_ready", "gauge",
	    "1 when a trained anomaly detector scores the samples.", st.ready);
	fm_prom_one_u64(p, "fedmon_detector_training", "gauge",
	    "1 while a training runs.", st.training);
	fm_prom_one_u64(p, "fedmon_detector_trainings_total", "counter",
	    "Trainings completed since the agent started.", st.trainings);
	fm_prom_one_u64(p, "fedmon_detector_training_failures_total", "counter",
	    "Trainings that failed since the agent started.",
	    st.train_failures);
	fm_prom_one_double(p, "fedmon_detector_last_trained_timestamp_seconds",
	    "gauge", "When the last training ended, Unix time; 0 = never.",
	    seconds(st.trained_real_ns));
	fm_prom_one_u64(p, "fedmon_detector_training_samples", "gauge",
	    "Samples kept to train on.", st.rows_held);
	fm_prom_one_double(p, "fedmon_detector_last_training_cpu_seconds",
	    "gauge", "CPU time the last training took.", st.train_cpu_seconds);

	fm_prom_one_float(p, "fedmon_anomaly_score", "gauge",
	    "The latest sample's anomaly score, relative to the host's normal.",
	    st.score);
	fm_prom_one_float(p, "fedmon_anomaly_threshold", "gauge",
	    "The score at or above which samples count towards an alarm.",
	    st.threshold);
	fm_prom_one_u64(p, "fedmon_anomaly_alarm", "gauge",
	    "1 while the anomaly alarm is raised.", st.alarm);
	fm_prom_one_u64(p, "fedmon_anomaly_alarms_total", "counter",
	    "Anomaly alarms raised since the agent started.", st.alarms);
	fm_prom_one_u64(p, "fedmon_anomaly_events_total", "counter",
	    "Anomaly events since the agent started: alarms raised, and new "
	    "faults that began during one.",
	    st.events);
	fm_prom_one_u64(p, "fedmon_anomaly_accepted_total", "counter",
	    "Alarms taken as the new normal (accept_seconds, or fedmonctl "
	    "accept).",
	    st.accepts);
	fm_prom_one_u64(p, "fedmon_anomaly_alarm_pending_samples", "gauge",
	    "The alarm's samples waiting: learned as normal if it lasts, "
	    "dropped if it clears.",
	    st.pending_rows);
	fm_prom_one_float(p, "fedmon_detector_young_prior_weight", "gauge",
	    "A young model's caution: the share of each feature's typical "
	    "scale in the current model's scales, 0 once trained mature.",
	    st.ready ? st.young_prior : 0.0f);
	fm_prom_one_u64(p, "fedmon_detector_seen_samples_total", "counter",
	    "Samples the learner has seen (the model's experience; restarts "
	    "keep it).",
	    st.seen_rows);
	fm_prom_one_u64(p, "fedmon_anomaly_scored_samples_total", "counter",
	    "Samples the learner scored.", st.scored);

	fm_prom_family(p, "fedmon_feature_contribution", "gauge",
	    "Each feature's share of the latest anomaly score (0 while no "
	    "detector is ready).");
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		fm_prom_float(p, "fedmon_feature_contribution",
		    (const char *const[]) {
		        "feature", fm_collect_feature_get(i)->name },
		    1, st.contrib[i]);

	fm_prom_family(p, "fedmon_failure_probability", "gauge",
	    "Probability of a failure of this kind within the horizon (0 "
	    "while its predictor is untrained).");
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_prom_float(p, "fedmon_failure_probability",
		    (const char *const[]) {
		        "source", fm_model_label_source_name(s) },
		    1,
		    st.failure[s].trained || st.failure[s].trusted
		        ? st.failure[s].probability
		        : 0);
	fm_prom_family(p, "fedmon_failure_predictor_trained", "gauge",
	    "1 when the failure predictor has onsets to learn from.");
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_prom_u64(p, "fedmon_failure_predictor_trained",
		    (const char *const[]) {
		        "source", fm_model_label_source_name(s) },
		    1, st.failure[s].trained);
	fm_prom_family(p, "fedmon_failure_predictor_trusted", "gauge",
	    "1 when the failure probability may drive an action: the "
	    "predictor learned from [learn] failure_min_events onsets.");
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_prom_u64(p, "fedmon_failure_predictor_trusted",
		    (const char *const[]) {
		        "source", fm_model_label_source_name(s) },
		    1, st.failure[s].trusted);
}

static void
render_labels(fm_prom *p, fm_model_labels *l)
{
	fm_model_labels_status st;

	fm_model_labels_status_get(l, &st);
	fm_prom_family(p, "fedmon_failure_onsets_total", "counter",
	    "Failure onsets this host labelled itself, by source.");
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_prom_u64(p, "fedmon_failure_onsets_total",
		    (const char *const[]) {
		        "source", fm_model_label_source_name(s) },
		    1, st.events[s]);
	fm_prom_family(p, "fedmon_failure_active", "gauge",
	    "1 while a failure of this source goes on.");
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fm_prom_u64(p, "fedmon_failure_active",
		    (const char *const[]) {
		        "source", fm_model_label_source_name(s) },
		    1, st.failing[s]);
}

static void
render_federation(fm_prom *p, fm_model_federation *f)
{
	fm_model_federation_status st;

	fm_model_federation_status_get(f, &st);
	fm_prom_one_u64(p, "fedmon_federation_reachable", "gauge",
	    "1 when the last exchange with the aggregator got a sealed reply.",
	    st.reachable);
	fm_prom_one_double(p,
	    "fedmon_federation_last_contact_timestamp_seconds", "gauge",
	    "When the aggregator last answered, Unix time; 0 = never.",
	    seconds(st.last_contact_ns));
	fm_prom_one_u64(p, "fedmon_federation_round", "gauge",
	    "The aggregator's open or last round.", st.round);
	fm_prom_one_u64(p, "fedmon_federation_collecting", "gauge",
	    "1 while that round takes updates.", st.collecting);
	fm_prom_one_u64(p, "fedmon_federation_global_version", "gauge",
	    "The newest fleet model version the aggregator announced.",
	    st.fleet_version);
	fm_prom_one_u64(p, "fedmon_federation_applied_version", "gauge",
	    "The fleet model version this host's models descend from.",
	    st.applied_version);
	fm_prom_family(p, "fedmon_federation_updates_total", "counter",
	    "Model updates sent to the aggregator, and its verdicts.");
	fm_prom_u64(p, "fedmon_federation_updates_total",
	    (const char *const[]) { "result", "sent" }, 1, st.updates_sent);
	fm_prom_u64(p, "fedmon_federation_updates_total",
	    (const char *const[]) { "result", "accepted" }, 1,
	    st.updates_accepted);
	fm_prom_u64(p, "fedmon_federation_updates_total",
	    (const char *const[]) { "result", "refused" }, 1,
	    st.updates_refused);
	fm_prom_family(p, "fedmon_federation_exchanges_total", "counter",
	    "Requests to the aggregator, by outcome.");
	fm_prom_u64(p, "fedmon_federation_exchanges_total",
	    (const char *const[]) { "result", "answered" }, 1, st.exchanges);
	fm_prom_u64(p, "fedmon_federation_exchanges_total",
	    (const char *const[]) { "result", "failed" }, 1, st.failures);
}

static void
render_actions(fm_prom *p, fm_act *a)
{
	fm_act_status *st;

	/* A few KiB: not on an NNG thread's stack. */
	st = malloc(sizeof(*st));
	if (!st) {
		p->error = -ENOMEM;
		return;
	}
	fm_act_status_get(a, st);
	if (st->n_rules == 0)
		goto out; /* no series: no families either */
	fm_prom_family(p, "fedmon_actions_total", "counter",
	    "Finished runs of each [action] rule, by result.");
	for (uint32_t i = 0; i < st->n_rules; i++) {
		const fm_act_rule_status *r = &st->rules[i];

		for (unsigned res = 0; res < FM_ACT_RESULT_COUNT; res++)
			fm_prom_u64(p, "fedmon_actions_total",
			    (const char *const[]) { "rule", r->name, "kind",
			        fm_act_kind_name(r->kind), "result",
			        fm_act_result_name(res) },
			    3, r->runs[res]);
	}
	fm_prom_family(p, "fedmon_actions_suppressed_total", "counter",
	    "Runs a rule's cooldown, hourly cap or a run in progress "
	    "prevented.");
	for (uint32_t i = 0; i < st->n_rules; i++)
		fm_prom_u64(p, "fedmon_actions_suppressed_total",
		    (const char *const[]) { "rule", st->rules[i].name }, 1,
		    st->rules[i].suppressed);
	fm_prom_family(p, "fedmon_action_condition_holding", "gauge",
	    "1 while a rule's condition holds.");
	for (uint32_t i = 0; i < st->n_rules; i++)
		fm_prom_u64(p, "fedmon_action_condition_holding",
		    (const char *const[]) { "rule", st->rules[i].name }, 1,
		    st->rules[i].holding);
	fm_prom_family(p, "fedmon_action_last_run_timestamp_seconds", "gauge",
	    "When a rule last ran, Unix time; 0 = never.");
	for (uint32_t i = 0; i < st->n_rules; i++)
		fm_prom_double(p, "fedmon_action_last_run_timestamp_seconds",
		    (const char *const[]) { "rule", st->rules[i].name }, 1,
		    seconds(st->rules[i].last_run_real_ns));
out:
	free(st);
}

int
fm_status_metrics_render(const fm_status_view *v, char **ret, size_t *ret_len)
{
	fm_status_live_snapshot *ls;
	fm_prom p;

	/* The snapshot holds a whole sample: not on an NNG thread's
	 * stack. */
	ls = malloc(sizeof(*ls));
	if (!ls)
		return -ENOMEM;
	fm_status_live_get(v->live, ls);
	fm_prom_init(&p);
	render_agent(&p, v, ls);
	free(ls);
	if (v->learner)
		render_learner(&p, v->learner);
	if (v->labels)
		render_labels(&p, v->labels);
	if (v->fed)
		render_federation(&p, v->fed);
	if (v->actions)
		render_actions(&p, v->actions);
	fm_prom_process(&p);
	return fm_prom_finish(&p, ret, ret_len);
}
