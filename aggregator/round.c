/*
 * Rounds as phases. Each row of the phase table is one step function that
 * returns the phase to be in next (its own to wait); fmi_agg_tick() runs
 * them until one waits. Secure aggregation's masking and unmasking will
 * be rows between COLLECT and AGGREGATE. The aggregation rules are the
 * sibling files rule-*.c, listed in rules[] below, and driven here through
 * their lifecycle (aggregator-int.h): begin at a round's first update,
 * add for each, finish at AGGREGATE, end when the round is over.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "aggregator/aggregator-int.h"

/* Every rule, selected by the [aggregate] rule key (by name) and stored in
 * the state file (by id). A new rule is one file and one row here. */
static const fmi_agg_rule *const rules[] = {
	&fmi_agg_rule_fedavg,
	&fmi_agg_rule_fedadam,
};

const fmi_agg_rule *
fmi_agg_rule_get(uint32_t id)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(rules); i++)
		if (rules[i]->id == id)
			return rules[i];
	return NULL;
}

const fmi_agg_rule *
fmi_agg_rule_find(const char *name)
{
	for (size_t i = 0; i < FM_ELEMENTSOF(rules); i++)
		if (strcmp(rules[i]->name, name) == 0)
			return rules[i];
	return NULL;
}

static void
failed(
    fm_agg *a, int64_t now_ms, const char *what, const char *object, int error)
{
	a->retry_ms = now_ms + FMI_AGG_RETRY_MS;
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_FAILED,
	        .round = a->last_opened,
	        .what = what,
	        .object = object,
	        .error = error });
}

/* Frees the rule's state of the round, if it began. */
static void
round_end(fm_agg *a)
{
	if (a->rule_state)
		a->rule->end(a->rule_state);
	a->rule_state = NULL;
}

int
fmi_agg_round_add(fm_agg *a, uint32_t layout_id, uint32_t n_params,
    const fmi_agg_rule_update *u)
{
	bool began = false;
	int r;

	if (!a->rule_state) {
		fmi_agg_rule_round rd = {
			.n = n_params,
			.lr = a->lr,
			.beta1 = a->cfg.adam_beta1,
			.beta2 = a->cfg.adam_beta2,
			.tau = a->cfg.adam_tau,
			.quorum = fmi_agg_quorum(a),
		};

		if (a->version) {
			rd.global = a->global;
			for (uint32_t k = 0; k < a->rule->n_opt; k++)
				rd.opt[k] = a->opt[k];
		}
		r = a->rule->begin(&rd, &a->rule_state);
		if (r < 0)
			return r;
		began = true;
	}
	r = a->rule->add(a->rule_state, u);
	if (r < 0) {
		if (began)
			round_end(a);
		return r;
	}
	if (began) {
		/* A model's first round: the layout is the first update's
		 * (the caller checked it against a pinned one). */
		a->layout_id = layout_id;
		a->n_params = n_params;
	}
	return 0;
}

/* Ends the open round without a new model. */
static uint32_t
abandon(fm_agg *a)
{
	a->abandoned++;
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_ROUND_ABANDONED,
	        .round = a->last_opened,
	        .version = a->version,
	        .n_updates = a->n_updates });
	round_end(a);
	/* A layout adopted from this round's updates was never published. */
	if (a->version == 0 && a->n_params) {
		a->layout_id = a->cfg.layout_id;
		a->n_params = 0;
	}
	a->n_updates = 0;
	return FM_AGG_PHASE_OPEN;
}

static uint32_t
phase_open(fm_agg *a, int64_t now_ms)
{
	uint64_t round = a->last_opened + 1;
	int r;

	if (a->finished)
		return FM_AGG_PHASE_IDLE;
	if (now_ms < a->retry_ms)
		return FM_AGG_PHASE_OPEN;
	/* The round number is on disk before any update for it is taken. */
	r = fmi_agg_save(
	    a, round, a->version, a->rounds_published, a->global, a->opt);
	if (r < 0) {
		failed(a, now_ms, "write the state file", a->state_path, r);
		return FM_AGG_PHASE_OPEN;
	}
	assert(!a->rule_state);
	a->last_opened = round;
	a->n_updates = 0;
	a->opened_ms = now_ms;
	a->deadline_ms = now_ms + a->cfg.deadline_ms;
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_ROUND_OPENED,
	        .round = round,
	        .version = a->version });
	return FM_AGG_PHASE_COLLECT;
}

static uint32_t
phase_collect(fm_agg *a, int64_t now_ms)
{
	bool by_deadline;

	if (a->n_updates >= fmi_agg_quorum(a))
		by_deadline = false;
	else if (now_ms < a->deadline_ms)
		return FM_AGG_PHASE_COLLECT;
	else if (a->n_updates >= a->cfg.min_updates)
		by_deadline = true;
	else
		return abandon(a);
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_ROUND_CLOSED,
	        .round = a->last_opened,
	        .version = a->version,
	        .n_updates = a->n_updates,
	        .by_deadline = by_deadline });
	return FM_AGG_PHASE_AGGREGATE;
}

/* Allocates the candidate model and its optimiser vectors once. */
static int
alloc_next(fm_agg *a)
{
	size_t n = a->n_params;

	if (!a->next) {
		a->next = malloc(n * sizeof(float));
		if (!a->next)
			return -ENOMEM;
	}
	for (uint32_t k = 0; k < a->rule->n_opt; k++) {
		if (a->next_opt[k])
			continue;
		a->next_opt[k] = malloc(n * sizeof(float));
		if (!a->next_opt[k])
			return -ENOMEM;
	}
	return 0;
}

static uint32_t
phase_aggregate(fm_agg *a, int64_t now_ms)
{
	size_t n = a->n_params;
	int r;

	if (now_ms < a->retry_ms)
		return FM_AGG_PHASE_AGGREGATE;
	r = alloc_next(a);
	if (r < 0) {
		failed(a, now_ms, "allocate the next model", "", r);
		return FM_AGG_PHASE_AGGREGATE;
	}
	r = a->rule->finish(a->rule_state, a->next, a->next_opt);
	if (r < 0) {
		failed(a, now_ms, "aggregate the updates", "", r);
		return FM_AGG_PHASE_AGGREGATE;
	}
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(a->next[i])) {
			/* Only without clip_norm can sums overflow a float. */
			failed(a, now_ms, "aggregate the updates", "", -EDOM);
			a->retry_ms = 0;
			return abandon(a);
		}
	}
	round_end(a);
	return FM_AGG_PHASE_PERSIST;
}

static uint32_t
phase_persist(fm_agg *a, int64_t now_ms)
{
	int r;

	if (now_ms < a->retry_ms)
		return FM_AGG_PHASE_PERSIST;
	r = fmi_agg_save(a, a->last_opened, a->last_opened,
	    a->rounds_published + 1, a->next, a->next_opt);
	if (r < 0) {
		failed(a, now_ms, "write the state file", a->state_path, r);
		return FM_AGG_PHASE_PERSIST;
	}
	return FM_AGG_PHASE_PUBLISH;
}

static uint32_t
phase_publish(fm_agg *a, int64_t now_ms)
{
	float *t;

	t = a->global;
	a->global = a->next;
	a->next = t;
	for (uint32_t k = 0; k < a->rule->n_opt; k++) {
		t = a->opt[k];
		a->opt[k] = a->next_opt[k];
		a->next_opt[k] = t;
	}
	a->version = a->last_opened;
	a->rounds_published++;
	a->last_round_ms = now_ms - a->opened_ms;
	fmi_agg_emit(a,
	    &(fm_agg_event) { .type = FM_AGG_EVENT_PUBLISHED,
	        .round = a->last_opened,
	        .version = a->version,
	        .n_updates = a->n_updates,
	        .duration_ms = a->last_round_ms });
	if (a->cfg.max_rounds && a->rounds_published >= a->cfg.max_rounds) {
		a->finished = true;
		fmi_agg_emit(a,
		    &(fm_agg_event) { .type = FM_AGG_EVENT_FINISHED,
		        .round = a->last_opened,
		        .version = a->version });
	}
	a->idle_until_ms = now_ms + a->cfg.interval_ms;
	return FM_AGG_PHASE_IDLE;
}

static uint32_t
phase_idle(fm_agg *a, int64_t now_ms)
{
	if (a->finished || now_ms < a->idle_until_ms)
		return FM_AGG_PHASE_IDLE;
	return FM_AGG_PHASE_OPEN;
}

typedef uint32_t (*phase_fn)(fm_agg *a, int64_t now_ms);

static const phase_fn phases[] = {
	[FM_AGG_PHASE_OPEN] = phase_open,
	[FM_AGG_PHASE_COLLECT] = phase_collect,
	[FM_AGG_PHASE_AGGREGATE] = phase_aggregate,
	[FM_AGG_PHASE_PERSIST] = phase_persist,
	[FM_AGG_PHASE_PUBLISH] = phase_publish,
	[FM_AGG_PHASE_IDLE] = phase_idle,
};

void
fmi_agg_tick(fm_agg *a, int64_t now_ms)
{
	/* A whole round passes through each phase once; more steps than
	 * phases would be a loop. */
	for (size_t i = 0; i < 2 * FM_ELEMENTSOF(phases); i++) {
		uint32_t next = phases[a->phase](a, now_ms);

		if (next == a->phase)
			break;
		a->phase = next;
		a->retry_ms = 0;
	}
	fmi_agg_compact(a);
}

void
fm_agg_tick(fm_agg *a, int64_t now_ms)
{
	pthread_mutex_lock(&a->lock);
	fmi_agg_tick(a, now_ms);
	pthread_mutex_unlock(&a->lock);
}

static uint32_t
ms_until(int64_t t, int64_t now_ms)
{
	if (t <= now_ms)
		return 0;
	return t - now_ms > UINT32_MAX - 1 ? UINT32_MAX - 1
	                                   : (uint32_t)(t - now_ms);
}

uint32_t
fmi_agg_next_tick(const fm_agg *a, int64_t now_ms)
{
	switch (a->phase) {
	case FM_AGG_PHASE_COLLECT:
		return ms_until(a->deadline_ms, now_ms);
	case FM_AGG_PHASE_IDLE:
		return a->finished ? UINT32_MAX
		                   : ms_until(a->idle_until_ms, now_ms);
	default:
		return ms_until(a->retry_ms, now_ms);
	}
}

uint32_t
fm_agg_next_tick_ms(fm_agg *a, int64_t now_ms)
{
	uint32_t ms;

	pthread_mutex_lock(&a->lock);
	ms = fmi_agg_next_tick(a, now_ms);
	pthread_mutex_unlock(&a->lock);
	return ms;
}
