/*
 * The rules engine: the agent acting on its own predictions. The sampling
 * thread evaluates every rule against each sample (fm_act_on_sample) and
 * queues the runs due; a worker thread runs them, one at a time, through
 * the kind's ops table (kinds.c lists them), or logs what they would do
 * for a dry run, and records how they ended.
 *
 * A rule's schedule, in the sample's CLOCK_MONOTONIC time: once its
 * condition has held for hold_seconds, it is due at once and then every
 * cooldown_seconds while the condition keeps holding. A due run that the
 * cooldown of the previous run prevents (a new episode soon after the last
 * run) is suppressed and the rule is due again when the cooldown ends; one
 * that the hourly cap or a run still in progress prevents is suppressed
 * and due again a cooldown later. So a long episode counts one suppression
 * per cooldown, not one per sample.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/act/act-int.h"

#define HOUR_NS          (3600 * FM_NSEC_PER_SEC)
#define MAX_PER_HOUR_MAX 3600u
#define RULE_SECONDS_MAX 86400u
#define TIMEOUT_MS_MIN   10u
#define TIMEOUT_MS_MAX   3600000u

static const char *const result_names[FM_ACT_RESULT_COUNT] = {
	[FM_ACT_RESULT_OK] = "ok",
	[FM_ACT_RESULT_FAILED] = "failed",
	[FM_ACT_RESULT_TIMEOUT] = "timeout",
	[FM_ACT_RESULT_ERROR] = "error",
	[FM_ACT_RESULT_DRY_RUN] = "dry_run",
};

/* One rule and what it remembers across samples (and reloads). */
struct rule_state {
	fm_act_rule rule;         /* dry_run includes [actions] dry_run */
	bool holding;             /* the condition held at the last sample */
	int64_t holding_since_ns; /* since this sample */
	bool scheduled;           /* held long enough: next_due_ns is set */
	int64_t next_due_ns;
	bool has_run;
	int64_t last_run_ns; /* the sample that queued the last run */
	int64_t *hour_ns;    /* ring of the last max_per_hour runs' times */
	uint32_t hour_next;  /* slot written next: the oldest when full */
	uint32_t hour_len;   /* slots used */
	bool running;        /* queued or running */
	uint64_t runs[FM_ACT_RESULT_COUNT];
	uint64_t suppressed;
	int64_t last_run_real_ns;
	/* The probability reached the rule's while its predictor was not
	 * trusted, and the journal was told: not again until it is. */
	bool untrusted_logged;
};

/* A run for the worker: copies, so that a reload cannot pull anything
 * from under it. */
struct job {
	fm_act_rule rule;
	fm_act_input in;
	float value;
	char systemctl[FM_AGENT_PATH_BYTES];
};

struct fm_act {
	int stop_fd; /* eventfd written by fm_act_free(); -1 */
	bool has_lock, has_cond, has_worker;
	pthread_t worker; /* all signals blocked */

	/* Everything below is under lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a job was queued, or stopping */
	bool stopping;
	char systemctl[FM_AGENT_PATH_BYTES];
	uint32_t n;
	struct rule_state rules[FM_ACT_RULES_MAX];
	/* At most one job per rule is queued or running, so a ring of
	 * FM_ACT_RULES_MAX never overflows (checked all the same). */
	struct job queue[FM_ACT_RULES_MAX];
	uint32_t queue_head, queue_len;
	fm_act_record recent[FM_ACT_RECENT];
	uint32_t recent_next, n_recent;
};

const char *
fm_act_result_name(unsigned result)
{
	return result < FM_ACT_RESULT_COUNT ? result_names[result] : NULL;
}

void
fm_act_input_from_learner(const fm_model_learner_status *st, int64_t mono_ns,
    int64_t real_ns, fm_act_input *ret)
{
	fm_act_input in = {
		.mono_ns = mono_ns,
		.real_ns = real_ns,
		.ready = st->ready,
		.alarm = st->alarm,
		.score = st->score,
		.threshold = st->threshold,
		.n_top = st->n_top < FM_MODEL_LEARNER_TOP
		    ? st->n_top
		    : FM_MODEL_LEARNER_TOP,
	};

	memcpy(in.top, st->top, sizeof(in.top));
	memcpy(in.top_contrib, st->top_contrib, sizeof(in.top_contrib));
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		in.failure_trained[s] = st->failure[s].trained;
		in.failure_probability[s] = st->failure[s].probability;
		in.failure_trusted[s] = st->failure[s].trusted;
		in.failure_events[s] = st->failure[s].events;
	}
	in.failure_min_events = st->failure_min_events;
	*ret = in;
}

/* ---- formatting shared by the kinds ------------------------------------ */

void
fmi_act_when_format(const fm_act_rule *r, char *buf, size_t size)
{
	if (r->when == FM_ACT_WHEN_FAILURE)
		snprintf(buf, size, "failure:%s",
		    fm_model_label_source_name(r->failure_source));
	else
		snprintf(buf, size, "anomaly");
}

void
fmi_act_top_format(const fm_act_input *in, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < in->n_top && i < FM_MODEL_LEARNER_TOP; i++) {
		const fm_collect_feature_info *f =
		    fm_collect_feature_get(in->top[i]);
		int n;

		if (!f)
			continue;
		n = snprintf(buf + used, size - used, "%s%s=%.4f",
		    used ? "," : "", f->name, (double)in->top_contrib[i]);
		if (n < 0 || (size_t)n >= size - used) {
			buf[used] = '\0'; /* whole entries only */
			break;
		}
		used += (size_t)n;
	}
}

void
fmi_act_spawn(const fmi_act_ctx *ctx, char *const argv[], char *const envp[],
    fmi_act_outcome *ret)
{
	fm_spawn_result sr;
	fmi_act_outcome out = { .result = FM_ACT_RESULT_OK };

	fm_spawn_run(argv, envp, ctx->rule->timeout_ms, ctx->stop_fd, &sr);
	switch (sr.outcome) {
	case FM_SPAWN_EXITED:
		if (sr.code != 0) {
			out.result = FM_ACT_RESULT_FAILED;
			out.code = sr.code;
		}
		break;
	case FM_SPAWN_SIGNALED:
		out.result = FM_ACT_RESULT_FAILED;
		out.code = -sr.code;
		break;
	case FM_SPAWN_STOPPED:
		out.stopped = true;
		out.result = FM_ACT_RESULT_TIMEOUT;
		break;
	case FM_SPAWN_TIMEOUT:
		out.result = FM_ACT_RESULT_TIMEOUT;
		break;
	case FM_SPAWN_ERROR:
		out.result = FM_ACT_RESULT_ERROR;
		out.code = sr.code;
		break;
	}
	out.duration_ms = sr.duration_ms;
	*ret = out;
}

/* ---- checking rules ------------------------------------------------------ */

static bool
name_is_valid(const char *name)
{
	size_t n = strnlen(name, FM_ACT_NAME_BYTES);

	if (n == 0 || n == FM_ACT_NAME_BYTES)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

int
fm_act_rule_check(const fm_act_rule *r, char *why)
{
	if (!name_is_valid(r->name)) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "the rule's name must be 1 to %d characters of "
		    "[A-Za-z0-9_.-]",
		    FM_ACT_NAME_BYTES - 1);
		return -EINVAL;
	}
	switch (r->when) {
	case FM_ACT_WHEN_ANOMALY:
		if (r->probability != 0.0f) {
			snprintf(why, FM_INI_WHY_BYTES,
			    "key 'probability' is only for when = "
			    "failure:SOURCE");
			return -EINVAL;
		}
		break;
	case FM_ACT_WHEN_FAILURE:
		if (r->failure_source >= FM_LABEL_COUNT) {
			snprintf(why, FM_INI_WHY_BYTES,
			    "key 'when' names no failure label source");
			return -EINVAL;
		}
		if (!(r->probability > 0.0f && r->probability <= 1.0f)) {
			snprintf(why, FM_INI_WHY_BYTES,
			    "when = failure:SOURCE needs key 'probability', "
			    "above 0 and at most 1");
			return -EINVAL;
		}
		break;
	default:
		snprintf(why, FM_INI_WHY_BYTES,
		    "key 'when' is missing (anomaly or failure:SOURCE)");
		return -EINVAL;
	}
	if (r->hold_seconds > RULE_SECONDS_MAX ||
	    r->cooldown_seconds > RULE_SECONDS_MAX) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "keys 'hold_seconds' and 'cooldown_seconds' must be at "
		    "most %u",
		    RULE_SECONDS_MAX);
		return -EINVAL;
	}
	if (r->max_per_hour < 1 || r->max_per_hour > MAX_PER_HOUR_MAX) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "key 'max_per_hour' must be 1 to %u", MAX_PER_HOUR_MAX);
		return -EINVAL;
	}
	if (r->kind < 1 || r->kind >= FM_ACT_KIND_COUNT) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "key 'kind' is missing (log, hook or restart)");
		return -EINVAL;
	}
	if (fm_act_kind_takes_key(r->kind, "timeout_ms") &&
	    (r->timeout_ms < TIMEOUT_MS_MIN ||
	        r->timeout_ms > TIMEOUT_MS_MAX)) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "key 'timeout_ms' must be %u to %u", TIMEOUT_MS_MIN,
		    TIMEOUT_MS_MAX);
		return -EINVAL;
	}
	return fmi_act_kinds[r->kind].ops->check(r, why);
}

/* Checks a whole set of rules as fm_act_new() takes it. */
static int
rules_check(const fm_act_rule *rules, uint32_t n, const char *systemctl)
{
	char why[FM_INI_WHY_BYTES];

	if (n > FM_ACT_RULES_MAX || (n > 0 && !rules) || !systemctl ||
	    systemctl[0] != '/' ||
	    strnlen(systemctl, FM_AGENT_PATH_BYTES) == FM_AGENT_PATH_BYTES)
		return -EINVAL;
	for (uint32_t i = 0; i < n; i++) {
		if (fm_act_rule_check(&rules[i], why) < 0)
			return -EINVAL;
		for (uint32_t j = 0; j < i; j++)
			if (strcmp(rules[i].name, rules[j].name) == 0)
				return -EINVAL;
	}
	return 0;
}

/* ---- the rule set, replaced as a whole on reload ------------------------- */

/* The state of the rule named name in a, or NULL. Under the lock. */
static struct rule_state *
rule_find(fm_act *a, const char *name)
{
	for (uint32_t i = 0; i < a->n; i++)
		if (strcmp(a->rules[i].rule.name, name) == 0)
			return &a->rules[i];
	return NULL;
}

/* Whether two rules watch the same condition. */
static bool
same_condition(const fm_act_rule *x, const fm_act_rule *y)
{
	return x->when == y->when && x->failure_source == y->failure_source &&
	    x->probability == y->probability &&
	    x->hold_seconds == y->hold_seconds;
}

/* Makes *ret the state of rule r: what old (NULL: a new rule) remembers,
 * with the hourly history (the newest runs that fit) in hour_ns, a new
 * ring of r->max_per_hour slots that *ret then owns. */
static void
rule_state_carry(struct rule_state *ret, const fm_act_rule *r, bool dry_run,
    const struct rule_state *old, int64_t *hour_ns)
{
	struct rule_state s = { .rule = *r, .hour_ns = hour_ns };

	s.rule.dry_run = r->dry_run || dry_run;
	if (old) {
		uint32_t keep = old->hour_len < r->max_per_hour
		    ? old->hour_len
		    : r->max_per_hour;
		uint32_t oldest = old->hour_len - keep;
		uint32_t first =
		    (old->hour_next + old->rule.max_per_hour - old->hour_len) %
		    old->rule.max_per_hour;

		/* oldest first, so that the new ring's order is the same */
		for (uint32_t i = 0; i < keep; i++)
			s.hour_ns[i] = old->hour_ns[(first + oldest + i) %
			    old->rule.max_per_hour];
		s.hour_len = keep;
		s.hour_next = keep % r->max_per_hour;
		s.has_run = old->has_run;
		s.last_run_ns = old->last_run_ns;
		s.running = old->running;
		memcpy(s.runs, old->runs, sizeof(s.runs));
		s.suppressed = old->suppressed;
		s.last_run_real_ns = old->last_run_real_ns;
		if (same_condition(&old->rule, r)) {
			s.holding = old->holding;
			s.holding_since_ns = old->holding_since_ns;
			s.scheduled = old->scheduled;
			s.next_due_ns = old->next_due_ns;
		}
	}
	*ret = s;
}

/* Drops the queued (not yet running) jobs of rules a no longer has. */
static void
queue_prune(fm_act *a)
{
	struct job *q = a->queue;
	uint32_t kept = 0;

	for (uint32_t i = 0; i < a->queue_len; i++) {
		uint32_t from = (a->queue_head + i) % FM_ACT_RULES_MAX;
		uint32_t to = (a->queue_head + kept) % FM_ACT_RULES_MAX;

		if (!rule_find(a, q[from].rule.name))
			continue;
		if (to != from)
			q[to] = q[from];
		kept++;
	}
	a->queue_len = kept;
}

/*
 * Replaces a's rules with rules[n] (checked), carrying the state of every
 * rule that keeps its name. Allocates before it takes the lock and frees
 * after, so the lock is held for copies only. Returns 0 or -ENOMEM (a is
 * then unchanged).
 */
static int
rules_apply(fm_act *a, const fm_act_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run)
{
	int64_t *fresh[FM_ACT_RULES_MAX] = { NULL };
	int64_t *stale[FM_ACT_RULES_MAX] = { NULL };
	struct rule_state *next;
	uint32_t n_stale;

	next = calloc(FM_ACT_RULES_MAX, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		fresh[i] = calloc(rules[i].max_per_hour, sizeof(int64_t));
		if (!fresh[i]) {
			for (uint32_t j = 0; j < i; j++)
				free(fresh[j]);
			free(next);
			return -ENOMEM;
		}
	}
	pthread_mutex_lock(&a->lock);
	for (uint32_t i = 0; i < n; i++)
		rule_state_carry(&next[i], &rules[i], dry_run,
		    rule_find(a, rules[i].name), fresh[i]);
	n_stale = a->n;
	for (uint32_t i = 0; i < a->n; i++)
		stale[i] = a->rules[i].hour_ns;
	memcpy(a->rules, next, (size_t)n * sizeof(*next));
	a->n = n;
	memcpy(a->systemctl, systemctl, strlen(systemctl) + 1);
	queue_prune(a);
	pthread_mutex_unlock(&a->lock);
	for (uint32_t i = 0; i < n_stale; i++)
		free(stale[i]);
	free(next);
	return 0;
}

/* ---- the worker ------------------------------------------------------------
 */

/* Records a finished run: the ring of recent records, and the counters of
 * its rule if a still has it. Under the lock. */
static void
record_add(fm_act *a, const fm_act_record *rec)
{
	struct rule_state *s = rule_find(a, rec->rule);

	a->recent[a->recent_next] = *rec;
	a->recent_next = (a->recent_next + 1) % FM_ACT_RECENT;
	if (a->n_recent < FM_ACT_RECENT)
		a->n_recent++;
	if (s) {
		s->running = false;
		s->runs[rec->result]++;
	}
}

/* Logs how a run ended: the worker is where that is decided. */
static void
run_log(const fm_act_record *rec, const char *what)
{
	switch (rec->result) {
	case FM_ACT_RESULT_OK:
		fm_log(LOG_INFO, "Action '%s' (%s) done in %u ms.", rec->rule,
		    what, rec->duration_ms);
		break;
	case FM_ACT_RESULT_FAILED:
		if (rec->code < 0)
			fm_log(LOG_WARNING,
			    "Action '%s' (%s) killed by signal %d after %u "
			    "ms.",
			    rec->rule, what, -rec->code, rec->duration_ms);
		else
			fm_log(LOG_WARNING,
			    "Action '%s' (%s) failed: exit status %d after %u "
			    "ms.",
			    rec->rule, what, rec->code, rec->duration_ms);
		break;
	case FM_ACT_RESULT_TIMEOUT:
		fm_log(LOG_WARNING,
		    "Action '%s' (%s) still running after %u ms, killed.",
		    rec->rule, what, rec->duration_ms);
		break;
	case FM_ACT_RESULT_ERROR:
		(void)fm_log_errno(LOG_ERR, rec->code,
		    "Failed to run action '%s' (%s)", rec->rule, what);
		break;
	default:
		break;
	}
}

/* Runs one job (or, for a dry run, logs what it would do) into *ret. */
static void
job_run(const fm_act *a, const struct job *job, fm_act_record *ret)
{
	const fmi_act_ops *ops = fmi_act_kinds[job->rule.kind].ops;
	fmi_act_ctx ctx = {
		.rule = &job->rule,
		.in = &job->in,
		.value = job->value,
		.systemctl = job->systemctl,
		.stop_fd = a->stop_fd,
	};
	fm_act_record rec = {
		.real_ns = fm_time_real_ns(),
		.kind = job->rule.kind,
		.score = job->value,
	};
	char what[FMI_ACT_DESCRIPTION_BYTES];

	memcpy(rec.rule, job->rule.name, sizeof(rec.rule));
	ops->describe(&ctx, what);
	if (job->rule.dry_run) {
		fm_log(LOG_NOTICE, "Action '%s' (dry run) would %s.",
		    job->rule.name, what);
		rec.result = FM_ACT_RESULT_DRY_RUN;
	} else {
		fmi_act_outcome out;

		ops->run(&ctx, &out);
		rec.result = out.result;
		rec.code = out.code;
		rec.duration_ms = out.duration_ms;
		if (out.stopped)
			fm_log(LOG_NOTICE,
			    "Action '%s' (%s) killed after %u ms: the agent "
			    "is stopping.",
			    rec.rule, what, rec.duration_ms);
		else if (!(ops->run_is_log_line &&
		             rec.result == FM_ACT_RESULT_OK))
			run_log(&rec, what);
	}
	*ret = rec;
}

/* Runs the queued jobs in order until asked to stop. */
static void *
worker_main(void *arg)
{
	fm_act *a = arg;

	(void)pthread_setname_np(pthread_self(), "fm:actions");
	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct job job;
		fm_act_record rec;

		while (!a->stopping && a->queue_len == 0)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stopping)
			break;
		job = a->queue[a->queue_head];
		a->queue_head = (a->queue_head + 1) % FM_ACT_RULES_MAX;
		a->queue_len--;
		pthread_mutex_unlock(&a->lock);
		job_run(a, &job, &rec);
		pthread_mutex_lock(&a->lock);
		record_add(a, &rec);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* ---- the object ------------------------------------------------------------
 */

fm_act *
fm_act_free(fm_act *a)
{
	if (!a)
		return NULL;
	if (a->has_worker) {
		pthread_mutex_lock(&a->lock);
		a->stopping = true;
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
		(void)eventfd_write(a->stop_fd, 1);
		pthread_join(a->worker, NULL);
	}
	for (uint32_t i = 0; i < a->n; i++)
		free(a->rules[i].hour_ns);
	if (a->stop_fd >= 0)
		close(a->stop_fd);
	if (a->has_cond)
		pthread_cond_destroy(&a->cond);
	if (a->has_lock)
		pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

int
fm_act_new(const fm_act_rule *rules, uint32_t n, const char *systemctl,
    bool dry_run, fm_act **ret)
{
	fm_act *a;
	int r;

	r = rules_check(rules, n, systemctl);
	if (r < 0)
		return r;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->stop_fd = -1;
	r = -pthread_mutex_init(&a->lock, NULL);
	if (r < 0)
		goto out_free;
	a->has_lock = true;
	r = -pthread_cond_init(&a->cond, NULL);
	if (r < 0)
		goto out_free;
	a->has_cond = true;
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->stop_fd < 0) {
		r = -errno;
		goto out_free;
	}
	r = rules_apply(a, rules, n, systemctl, dry_run);
	if (r < 0)
		goto out_free;
	r = fm_spawn_thread_start(&a->worker, worker_main, a);
	if (r < 0)
		goto out_free;
	a->has_worker = true;
	*ret = a;
	return 0;
out_free:
	fm_act_free(a);
	return r;
}

int
fm_act_reload(fm_act *a, const fm_act_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run)
{
	int r;

	r = rules_check(rules, n, systemctl);
	if (r < 0)
		return r;
	return rules_apply(a, rules, n, systemctl, dry_run);
}

/* ---- evaluating the rules
 * ---------------------------------------------------- */

/*
 * Whether s's condition holds in *in; *ret_value is what it compared. A
 * failure probability at or above the rule's from a predictor that is not
 * yet trusted does not hold: that is logged once, until it is trusted.
 */
static bool
condition_holds(struct rule_state *s, const fm_act_input *in, float *ret_value)
{
	const fm_act_rule *r = &s->rule;
	unsigned src = r->failure_source;
	float p;

	if (r->when == FM_ACT_WHEN_ANOMALY) {
		*ret_value = in->score;
		return in->ready && in->alarm;
	}
	p = in->failure_probability[src];
	*ret_value = p;
	if (!in->failure_trained[src] || !(p >= r->probability))
		return false;
	if (in->failure_trusted[src]) {
		s->untrusted_logged = false;
		return true;
	}
	if (!s->untrusted_logged) {
		s->untrusted_logged = true;
		fm_log(LOG_NOTICE,
		    "Rule '%s': p(%s) %.2f is at or above %.2f, but its "
		    "predictor learned from %" PRIu64 " failure onsets "
		    "(fewer than failure_min_events = %" PRIu32 "), not "
		    "acting until it has.",
		    r->name, fm_model_label_source_name(src), (double)p,
		    (double)r->probability, in->failure_events[src],
		    in->failure_min_events);
	}
	return false;
}

/* Whether max_per_hour runs happened in the hour up to now_ns. */
static bool
hour_is_full(const struct rule_state *s, int64_t now_ns)
{
	/* full ring: hour_next is the oldest of the last max_per_hour */
	return s->hour_len == s->rule.max_per_hour &&
	    now_ns - s->hour_ns[s->hour_next] < HOUR_NS;
}

/* Queues a run of s. Under the lock; the caller checked the queue has
 * room. */
static void
run_queue(fm_act *a, struct rule_state *s, const fm_act_input *in, float value)
{
	struct job *job =
	    &a->queue[(a->queue_head + a->queue_len) % FM_ACT_RULES_MAX];

	job->rule = s->rule;
	job->in = *in;
	job->value = value;
	memcpy(job->systemctl, a->systemctl, sizeof(job->systemctl));
	a->queue_len++;
	s->running = true;
	s->has_run = true;
	s->last_run_ns = in->mono_ns;
	s->last_run_real_ns = in->real_ns;
	s->hour_ns[s->hour_next] = in->mono_ns;
	s->hour_next = (s->hour_next + 1) % s->rule.max_per_hour;
	if (s->hour_len < s->rule.max_per_hour)
		s->hour_len++;
}

/* One rule, one sample. Returns whether a run was queued. Under the
 * lock. */
static bool
rule_step(fm_act *a, struct rule_state *s, const fm_act_input *in)
{
	int64_t now = in->mono_ns;
	int64_t hold_ns = (int64_t)s->rule.hold_seconds * FM_NSEC_PER_SEC;
	int64_t cooldown_ns =
	    (int64_t)s->rule.cooldown_seconds * FM_NSEC_PER_SEC;
	float value;

	if (!condition_holds(s, in, &value)) {
		s->holding = false;
		s->scheduled = false;
		return false;
	}
	if (!s->holding) {
		s->holding = true;
		s->holding_since_ns = now;
	}
	if (now - s->holding_since_ns < hold_ns)
		return false;
	if (!s->scheduled) {
		s->scheduled = true;
		s->next_due_ns = now;
	}
	if (now < s->next_due_ns)
		return false;
	if (s->has_run && now - s->last_run_ns < cooldown_ns) {
		s->suppressed++;
		s->next_due_ns = s->last_run_ns + cooldown_ns;
		return false;
	}
	s->next_due_ns = now + cooldown_ns;
	if (s->running || hour_is_full(s, now) ||
	    a->queue_len == FM_ACT_RULES_MAX) {
		s->suppressed++;
		return false;
	}
	run_queue(a, s, in, value);
	return true;
}

void
fm_act_on_sample(fm_act *a, const fm_act_input *in)
{
	bool queued = false;

	pthread_mutex_lock(&a->lock);
	for (uint32_t i = 0; i < a->n; i++)
		queued |= rule_step(a, &a->rules[i], in);
	if (queued)
		pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

void
fm_act_status_get(fm_act *a, fm_act_status *ret)
{
	pthread_mutex_lock(&a->lock);
	memset(ret, 0, sizeof(*ret));
	ret->n_rules = a->n;
	for (uint32_t i = 0; i < a->n; i++) {
		const struct rule_state *s = &a->rules[i];
		fm_act_rule_status *rs = &ret->rules[i];

		memcpy(rs->name, s->rule.name, sizeof(rs->name));
		rs->kind = s->rule.kind;
		rs->dry_run = s->rule.dry_run;
		rs->holding = s->holding;
		rs->running = s->running;
		memcpy(rs->runs, s->runs, sizeof(rs->runs));
		rs->suppressed = s->suppressed;
		rs->last_run_real_ns = s->last_run_real_ns;
	}
	ret->n_recent = a->n_recent;
	for (uint32_t i = 0; i < a->n_recent; i++)
		ret->recent[i] =
		    a->recent[(a->recent_next + FM_ACT_RECENT - 1 - i) %
		        FM_ACT_RECENT];
	pthread_mutex_unlock(&a->lock);
}
