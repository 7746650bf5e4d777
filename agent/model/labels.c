/*
 * Failure labels: the onsets of OOM kills, a full filesystem, a failing
 * health command and the operator's reports, one bit per source per
 * sample, for the failure predictor to learn from.
 *
 * The health command runs in a worker thread, so a slow check never delays
 * sampling; spawn.c runs it (as it runs the action hooks).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "agent/model/model.h"

static const char *const source_names[FM_LABEL_COUNT] = {
	[FM_LABEL_OOM] = "oom",
	[FM_LABEL_FS_FULL] = "fs_full",
	[FM_LABEL_HEALTH] = "health",
	[FM_LABEL_MANUAL] = "manual",
};

struct fm_model_labels {
	/* Set by fm_model_labels_new(), read-only after. */
	float fs_full;                        /* threshold fraction; 0 = off */
	float fs_rearm;                       /* re-arm below this fraction */
	char command[FM_SPAWN_COMMAND_BYTES]; /* as configured, for logs */
	char argbuf[FM_SPAWN_COMMAND_BYTES];  /* the words, NUL-separated */
	char *argv[FM_SPAWN_COMMAND_ARGS_MAX + 1];
	int64_t interval_ns;
	uint32_t timeout_ms;

	/* The health worker. */
	int stop_fd;      /* eventfd fm_model_labels_free() writes; -1 */
	bool has_mutex;   /* mutex initialised */
	bool has_worker;  /* worker started: free must join it */
	pthread_t worker; /* all signals blocked */
	int logged_error; /* worker only: the ERROR code last logged */

	/* Everything below is under mutex. */
	pthread_mutex_t mutex;
	bool oom_active;     /* the last known OOM-kill rate was > 0 */
	bool fs_armed;       /* an fs_full onset can be reported */
	bool health_failing; /* the last finished run failed */
	bool health_onset;   /* to report at the next sample */
	bool manual_failing; /* sticky, until fm_model_labels_manual_set(false)
	                      */
	bool manual_onset;   /* to report at the next sample */
	fm_model_labels_status status;
};

const char *
fm_model_label_source_name(unsigned s)
{
	return s < FM_LABEL_COUNT ? source_names[s] : NULL;
}

int
fm_model_label_source_lookup(const char *name)
{
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		if (strcmp(source_names[s], name) == 0)
			return (int)s;
	return -ENOENT;
}

void
fm_model_labels_config_init(fm_model_labels_config *cfg)
{
	*cfg = (fm_model_labels_config) {
		.fs_full_percent = 95,
		.fs_full_hysteresis_percent = 2,
		.health_command = NULL,
		.health_interval_ms = 30000,
		.health_timeout_ms = 5000,
	};
}

int
fm_model_labels_command_check(const char *command)
{
	char buf[FM_SPAWN_COMMAND_BYTES];
	char *argv[FM_SPAWN_COMMAND_ARGS_MAX + 1];
	int r;

	r = fm_spawn_split(command, buf, argv);
	return r < 0 ? r : 0;
}

/* ---- the health worker ------------------------------------------------ */

/*
 * Runs the health command once into *ret. Returns false, with *ret
 * unwritten, when asked to stop during the run (the child is then killed
 * and reaped all the same).
 */
static bool
health_run(fm_model_labels *l, fm_model_labels_health_result *ret)
{
	fm_model_labels_health_result res = { .outcome =
		                                  FM_MODEL_LABELS_HEALTH_OK };
	fm_spawn_result sr;

	pthread_mutex_lock(&l->mutex);
	l->status.health_running = true;
	pthread_mutex_unlock(&l->mutex);
	fm_spawn_run(l->argv, environ, l->timeout_ms, l->stop_fd, &sr);
	pthread_mutex_lock(&l->mutex);
	l->status.health_running = false;
	pthread_mutex_unlock(&l->mutex);
	switch (sr.outcome) {
	case FM_SPAWN_STOPPED:
		return false;
	case FM_SPAWN_TIMEOUT:
		res.outcome = FM_MODEL_LABELS_HEALTH_TIMEOUT;
		break;
	case FM_SPAWN_ERROR:
		res.outcome = FM_MODEL_LABELS_HEALTH_ERROR;
		res.code = sr.code;
		break;
	case FM_SPAWN_SIGNALED:
		res.outcome = FM_MODEL_LABELS_HEALTH_SIGNALED;
		res.code = sr.code;
		break;
	case FM_SPAWN_EXITED:
		if (sr.code != 0) {
			res.outcome = FM_MODEL_LABELS_HEALTH_EXITED;
			res.code = sr.code;
		}
		break;
	}
	res.duration_ms = sr.duration_ms;
	res.real_ns = fm_time_real_ns();
	*ret = res;
	return true;
}

/* Logs a run that changed the check's state, and every new reason it could
 * not run at all (a missing program is logged once, not every interval). */
static void
health_log(fm_model_labels *l, const fm_model_labels_health_result *res,
    bool was_failing)
{
	bool failing = fm_model_labels_health_is_failing(res->outcome);

	if (res->outcome == FM_MODEL_LABELS_HEALTH_ERROR) {
		if (res->code != l->logged_error)
			(void)fm_log_errno(LOG_ERR, res->code,
			    "Failed to run health check '%s'", l->command);
		l->logged_error = res->code;
		return;
	}
	l->logged_error = 0;
	if (failing == was_failing)
		return;
	switch (res->outcome) {
	case FM_MODEL_LABELS_HEALTH_OK:
		fm_log(
		    LOG_NOTICE, "Health check '%s' passes again.", l->command);
		break;
	case FM_MODEL_LABELS_HEALTH_EXITED:
		fm_log(LOG_WARNING,
		    "Health check '%s' failing: exit status %d after %u ms.",
		    l->command, res->code, res->duration_ms);
		break;
	case FM_MODEL_LABELS_HEALTH_SIGNALED:
		fm_log(LOG_WARNING,
		    "Health check '%s' failing: killed by signal %d after "
		    "%u ms.",
		    l->command, res->code, res->duration_ms);
		break;
	case FM_MODEL_LABELS_HEALTH_TIMEOUT:
		fm_log(LOG_WARNING,
		    "Health check '%s' failing: still running after %u ms, "
		    "killed.",
		    l->command, res->duration_ms);
		break;
	default:
		break;
	}
}

/* Publishes a finished run; a failure after a pass is an onset. */
static void
health_publish(fm_model_labels *l, const fm_model_labels_health_result *res)
{
	bool failing = fm_model_labels_health_is_failing(res->outcome);
	bool was_failing;

	pthread_mutex_lock(&l->mutex);
	was_failing = l->health_failing;
	if (failing && !was_failing)
		l->health_onset = true;
	l->health_failing = failing;
	l->status.health = *res;
	l->status.health_runs++;
	pthread_mutex_unlock(&l->mutex);
	health_log(l, res, was_failing);
}

/* Runs the check at once, then on the grid start + k * interval; a run
 * longer than the interval skips the runs it overlapped. */
static void *
health_worker(void *arg)
{
	fm_model_labels *l = arg;
	int64_t start = fm_time_mono_ns();

	(void)pthread_setname_np(pthread_self(), "fm:health");
	for (;;) {
		fm_model_labels_health_result res;

		if (!health_run(l, &res))
			break;
		health_publish(l, &res);
		if (fm_spawn_sleep(l->stop_fd,
		        fm_spawn_next_deadline(
		            start, l->interval_ns, fm_time_mono_ns())))
			break;
	}
	return NULL;
}

/* Starts the worker and its wake-up eventfd. */
static int
health_start(fm_model_labels *l)
{
	int r;

	l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->stop_fd < 0)
		return -errno;
	r = fm_spawn_thread_start(&l->worker, health_worker, l);
	if (r < 0)
		return r;
	l->has_worker = true;
	return 0;
}

/* ---- the object ------------------------------------------------------- */

static int
config_check(const fm_model_labels_config *cfg)
{
	const char *cmd = cfg->health_command ? cfg->health_command : "";

	if (cfg->fs_full_percent > 100)
		return -EINVAL;
	if (cfg->fs_full_percent > 0 &&
	    cfg->fs_full_hysteresis_percent >= cfg->fs_full_percent)
		return -EINVAL;
	if (cmd[0] &&
	    (cfg->health_interval_ms == 0 || cfg->health_timeout_ms == 0))
		return -EINVAL;
	return fm_model_labels_command_check(cmd) < 0 ? -EINVAL : 0;
}

fm_model_labels *
fm_model_labels_free(fm_model_labels *l)
{
	if (!l)
		return NULL;
	if (l->has_worker) {
		(void)eventfd_write(l->stop_fd, 1);
		pthread_join(l->worker, NULL);
	}
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	if (l->has_mutex)
		pthread_mutex_destroy(&l->mutex);
	free(l);
	return NULL;
}

int
fm_model_labels_new(const fm_model_labels_config *cfg, fm_model_labels **ret)
{
	const char *cmd = cfg->health_command ? cfg->health_command : "";
	fm_model_labels *l;
	int n, r;

	r = config_check(cfg);
	if (r < 0)
		return r;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->stop_fd = -1;
	r = -pthread_mutex_init(&l->mutex, NULL);
	if (r < 0)
		goto out_free;
	l->has_mutex = true;
	if (cfg->fs_full_percent > 0) {
		l->fs_full = (float)cfg->fs_full_percent / 100.0f;
		l->fs_rearm = (float)(cfg->fs_full_percent -
		                  cfg->fs_full_hysteresis_percent) /
		    100.0f;
	}
	l->fs_armed = true;
	n = fm_spawn_split(cmd, l->argbuf, l->argv);
	assert(n >= 0); /* config_check() accepted it */
	memcpy(l->command, cmd, strlen(cmd) + 1);
	l->interval_ns = (int64_t)cfg->health_interval_ms * FM_NSEC_PER_MSEC;
	l->timeout_ms = cfg->health_timeout_ms;
	l->status.enabled[FM_LABEL_OOM] = true;
	l->status.enabled[FM_LABEL_FS_FULL] = cfg->fs_full_percent > 0;
	l->status.enabled[FM_LABEL_HEALTH] = n > 0;
	l->status.enabled[FM_LABEL_MANUAL] = true;
	if (n > 0) {
		r = health_start(l);
		if (r < 0)
			goto out_free;
	}
	*ret = l;
	return 0;
out_free:
	fm_model_labels_free(l);
	return r;
}

/* ---- the sources ------------------------------------------------------ */

/* The oom source: an onset where the rate turns positive. */
static bool
oom_onset(fm_model_labels *l, float rate)
{
	bool active;

	if (fm_collect_feature_is_masked(rate))
		return false;
	active = rate > 0.0f;
	if (active == l->oom_active)
		return false;
	l->oom_active = active;
	return active;
}

/* The fs_full source: an onset where the fraction reaches the threshold
 * while armed; re-armed below the threshold minus the hysteresis. */
static bool
fs_full_onset(fm_model_labels *l, float used)
{
	if (l->fs_full <= 0.0f || fm_collect_feature_is_masked(used))
		return false;
	if (l->fs_armed && used >= l->fs_full) {
		l->fs_armed = false;
		return true;
	}
	if (!l->fs_armed && used < l->fs_rearm)
		l->fs_armed = true;
	return false;
}

static void
log_onsets(const fm_model_labels *l, uint32_t mask, const fm_collect_sample *s)
{
	if (mask & FM_LABEL_BIT(FM_LABEL_OOM))
		fm_log(LOG_NOTICE, "Failure label 'oom': %.3g OOM kills/s.",
		    (double)s->v[FM_F_MEM_OOM_KILLS]);
	if (mask & FM_LABEL_BIT(FM_LABEL_FS_FULL))
		fm_log(LOG_NOTICE,
		    "Failure label 'fs_full': the fullest filesystem is "
		    "%.1f%% used (threshold %.0f%%).",
		    100.0 * (double)s->v[FM_F_FS_FULLEST],
		    100.0 * (double)l->fs_full);
	if (mask & FM_LABEL_BIT(FM_LABEL_HEALTH))
		fm_log(LOG_NOTICE, "Failure label 'health': '%s' failing.",
		    l->command);
	if (mask & FM_LABEL_BIT(FM_LABEL_MANUAL))
		fm_log(LOG_NOTICE, "Failure label 'manual'.");
}

uint32_t
fm_model_labels_on_sample(fm_model_labels *l, const fm_collect_sample *s)
{
	fm_model_labels_status *st = &l->status;
	uint32_t mask = 0;

	pthread_mutex_lock(&l->mutex);
	if (oom_onset(l, s->v[FM_F_MEM_OOM_KILLS]))
		mask |= FM_LABEL_BIT(FM_LABEL_OOM);
	if (fs_full_onset(l, s->v[FM_F_FS_FULLEST]))
		mask |= FM_LABEL_BIT(FM_LABEL_FS_FULL);
	if (l->health_onset)
		mask |= FM_LABEL_BIT(FM_LABEL_HEALTH);
	if (l->manual_onset)
		mask |= FM_LABEL_BIT(FM_LABEL_MANUAL);
	l->health_onset = false;
	l->manual_onset = false;
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++) {
		if (!(mask & FM_LABEL_BIT(i)))
			continue;
		st->events[i]++;
		st->last_event_real_ns[i] = s->real_ns;
	}
	pthread_mutex_unlock(&l->mutex);
	if (mask)
		log_onsets(l, mask, s);
	return mask;
}

bool
fm_model_labels_manual_set(fm_model_labels *l, bool failing)
{
	bool changed;

	pthread_mutex_lock(&l->mutex);
	changed = l->manual_failing != failing;
	if (changed && failing)
		l->manual_onset = true;
	l->manual_failing = failing;
	pthread_mutex_unlock(&l->mutex);
	if (changed)
		fm_log(LOG_NOTICE, "Manual failure label %s by the operator.",
		    failing ? "set" : "cleared");
	return changed;
}

void
fm_model_labels_status_get(fm_model_labels *l, fm_model_labels_status *ret)
{
	pthread_mutex_lock(&l->mutex);
	*ret = l->status;
	ret->failing[FM_LABEL_OOM] = l->oom_active;
	ret->failing[FM_LABEL_FS_FULL] = l->fs_full > 0.0f && !l->fs_armed;
	ret->failing[FM_LABEL_HEALTH] = l->health_failing;
	ret->failing[FM_LABEL_MANUAL] = l->manual_failing;
	pthread_mutex_unlock(&l->mutex);
}
