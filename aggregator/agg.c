/*
 * The aggregator object: creation (resuming from the state directory),
 * saving, the keyring, events, status and the model's copy.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "aggregator/aggregator-int.h"

/* The journal is folded into the state file once it holds this many
 * records beyond four per peer, so it stays bounded while the model
 * does not change (IDLE after max_rounds). */
#define JOURNAL_COMPACT_RECORDS 65536u
/* A longer journal than this is refused at start-up. */
#define JOURNAL_MAX_BYTES (64u << 20)

void
fmi_agg_emit(fm_agg *a, const fm_agg_event *ev)
{
	if (a->on_event)
		a->on_event(a->userdata, ev);
}

static int
mark_cmp(const void *x, const void *y)
{
	const fmi_agg_mark *p = x, *q = y;

	return p->id < q->id ? -1 : p->id > q->id;
}

int
fmi_agg_save(fm_agg *a, uint64_t last_opened, uint64_t version,
    uint64_t rounds_published, const float *params, float *const *opt)
{
	fmi_agg_state s = {
		.rule = a->rule->id,
		.last_opened = last_opened,
		.version = version,
		.rounds_published = rounds_published,
	};
	fmi_agg_mark *marks = NULL;
	uint8_t *buf = NULL;
	size_t len, n = 0;
	int r;

	if (!a->cfg.state_dir[0])
		return 0;
	if (version) {
		s.layout_id = a->layout_id;
		s.n_params = a->n_params;
		s.n_opt = a->rule->n_opt;
		s.params = (float *)params;
		for (uint32_t k = 0; k < s.n_opt; k++)
			s.opt[k] = opt[k];
	}
	if (a->peers.n) {
		marks = malloc(a->peers.n * sizeof(*marks));
		if (!marks)
			return -ENOMEM;
	}
	for (size_t i = 0; i < a->peers.cap; i++)
		if (a->peers.slots[i].id && a->peers.slots[i].seq)
			marks[n++] = (fmi_agg_mark) { a->peers.slots[i].id,
				a->peers.slots[i].seq };
	if (n)
		qsort(marks, n, sizeof(*marks), mark_cmp);
	s.marks = marks;
	s.n_marks = n;
	r = fmi_agg_state_encode(&s, &buf, &len);
	free(marks);
	if (r < 0)
		return r;
	r = fm_file_write_atomic(a->state_path, buf, len, 0600);
	free(buf);
	if (r < 0)
		return r;
	/* The marks are on disk: the journal's records are redundant. A
	 * failure here leaves them, which is harmless. */
	if (a->journal_fd >= 0) {
		int k = fmi_agg_journal_reset(a->journal_fd, &a->journal_len);

		if (k < 0)
			fmi_agg_emit(a,
			    &(fm_agg_event) { .type = FM_AGG_EVENT_FAILED,
			        .what = "empty the replay journal",
			        .object = a->journal_path,
			        .error = k });
		else
			a->journal_records = 0;
	}
	return 0;
}

uint32_t
fmi_agg_quorum(const fm_agg *a)
{
	size_t n;

	if (a->cfg.quorum)
		return a->cfg.quorum;
	n = fm_crypto_keyring_count(a->kr);
	return n ? (uint32_t)n : 1;
}

static int
mark_add(void *userdata, uint64_t id, uint64_t seq)
{
	fm_agg *a = userdata;
	fmi_agg_peer *p;
	int r;

	r = fmi_agg_peers_get(&a->peers, id, &p);
	if (r < 0)
		return r;
	if (seq > p->seq)
		p->seq = seq;
	return 0;
}

/* Adopts a decoded state: its arrays move into a. */
static int
adopt_state(fm_agg *a, fmi_agg_state *s)
{
	int r;

	if (s->version && a->cfg.layout_id && s->layout_id != a->cfg.layout_id)
		return -ESTALE;
	a->last_opened = s->last_opened;
	a->version = s->version;
	a->rounds_published = s->rounds_published;
	if (s->version) {
		a->layout_id = s->layout_id;
		a->n_params = s->n_params;
		a->global = s->params;
		s->params = NULL;
		/* Another rule's moments do not carry over: start at 0. */
		for (uint32_t k = 0; k < a->rule->n_opt; k++) {
			if (s->rule == a->rule->id &&
			    s->n_opt == a->rule->n_opt) {
				a->opt[k] = s->opt[k];
				s->opt[k] = NULL;
				continue;
			}
			a->opt[k] = calloc(a->n_params, sizeof(float));
			if (!a->opt[k])
				return -ENOMEM;
		}
	}
	for (uint64_t i = 0; i < s->n_marks; i++) {
		r = mark_add(a, s->marks[i].id, s->marks[i].seq);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Takes the marks of the journal just opened in, and cuts out what held
 * no whole record (torn by a full disk or a crash, or damaged), so that
 * appends go on after the last whole record. What was cut is kept in
 * a->journal_scan for the daemon to report.
 */
static int
load_journal(fm_agg *a)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = fm_file_read_fd(a->journal_fd, JOURNAL_MAX_BYTES, &buf, &len);
	if (r < 0)
		return r;
	r = fmi_agg_journal_parse(buf, len, mark_add, a, &a->journal_scan);
	if (r == 0)
		r = fmi_agg_journal_repair(
		    a->journal_fd, buf, len, &a->journal_scan);
	free(buf);
	if (r < 0)
		return r;
	a->journal_records = a->journal_scan.records;
	a->journal_len = a->journal_scan.records * FMI_AGG_JOURNAL_RECORD_BYTES;
	return 0;
}

static int
load_state(fm_agg *a)
{
	const char *journal_path = a->journal_path;
	fmi_agg_state s = { 0 };
	uint8_t *buf = NULL;
	size_t len;
	int r;

	if ((size_t)snprintf(a->state_path, sizeof(a->state_path), "%s/%s",
	        a->cfg.state_dir, FM_AGG_STATE_FILE) >= sizeof(a->state_path) ||
	    (size_t)snprintf(a->journal_path, sizeof(a->journal_path), "%s/%s",
	        a->cfg.state_dir,
	        FM_AGG_JOURNAL_FILE) >= sizeof(a->journal_path))
		return -ENAMETOOLONG;
	r = fm_file_read_all(
	    a->state_path, FMI_AGG_STATE_MAX_BYTES, &buf, &len);
	if (r == -EFBIG)
		return -EBADMSG;
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		r = fmi_agg_state_decode(buf, len, &s);
		free(buf);
		buf = NULL;
		if (r < 0)
			return r;
		r = adopt_state(a, &s);
		fmi_agg_state_clear(&s);
		if (r < 0)
			return r;
	}
	r = fmi_agg_journal_open(journal_path);
	if (r < 0)
		return r;
	a->journal_fd = r;
	return load_journal(a);
}

int
fm_agg_new(const fm_agg_config *cfg, const fm_crypto_identity *self,
    fm_crypto_keyring *kr, fm_agg **ret)
{
	char err[FM_INI_ERROR_BYTES];
	fm_agg *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a) {
		fm_crypto_keyring_free(kr);
		return -ENOMEM;
	}
	a->kr = kr;
	a->journal_fd = -1;
	r = pthread_mutex_init(&a->lock, NULL);
	if (r != 0) {
		fm_crypto_keyring_free(kr);
		free(a);
		return -r;
	}
	if (!self || !kr || fm_agg_config_check(cfg, err) < 0) {
		r = -EINVAL;
		goto out_free;
	}
	/* A programmer's error: a request row of proto's message table
	 * without its handler would be refused as UNEXPECTED, a handler
	 * without a row never run. */
	assert(fmi_agg_handlers_match_table());
	a->cfg = *cfg;
	a->rule = fmi_agg_rule_get(cfg->rule);
	a->lr = cfg->server_lr > 0 ? cfg->server_lr : a->rule->default_lr;
	a->self = self;
	a->self_id = fm_crypto_identity_key_id(self);
	a->layout_id = cfg->layout_id;
	a->phase = FM_AGG_PHASE_OPEN;
	a->last_round_ms = -1;
	if (cfg->state_dir[0]) {
		r = load_state(a);
		if (r < 0)
			goto out_free;
	}
	if (cfg->max_rounds && a->rounds_published >= cfg->max_rounds) {
		a->finished = true;
		a->phase = FM_AGG_PHASE_IDLE;
	}
	*ret = a;
	return 0;
out_free:
	fm_agg_free(a);
	return r;
}

fm_agg *
fm_agg_free(fm_agg *a)
{
	if (!a)
		return NULL;
	if (a->journal_fd >= 0)
		close(a->journal_fd);
	fmi_agg_peers_clear(&a->peers);
	fm_crypto_keyring_free(a->kr);
	if (a->rule_state)
		a->rule->end(a->rule_state);
	free(a->global);
	free(a->next);
	for (int k = 0; k < FMI_AGG_MAX_OPT_VECS; k++) {
		free(a->opt[k]);
		free(a->next_opt[k]);
	}
	pthread_mutex_destroy(&a->lock);
	free(a);
	return NULL;
}

/* Folds a long journal into the state file. */
void
fmi_agg_compact(fm_agg *a)
{
	int r;

	if (a->journal_fd < 0 ||
	    a->journal_records < JOURNAL_COMPACT_RECORDS + 4 * a->peers.n)
		return;
	r = fmi_agg_save(a, a->last_opened, a->version, a->rounds_published,
	    a->global, a->opt);
	if (r < 0)
		fmi_agg_emit(a,
		    &(fm_agg_event) { .type = FM_AGG_EVENT_FAILED,
		        .what = "write the state file",
		        .object = a->state_path,
		        .error = r });
}

int
fm_agg_persist(fm_agg *a)
{
	int r;

	pthread_mutex_lock(&a->lock);
	r = fmi_agg_save(a, a->last_opened, a->version, a->rounds_published,
	    a->global, a->opt);
	pthread_mutex_unlock(&a->lock);
	return r;
}

void
fm_agg_keyring_replace(fm_agg *a, fm_crypto_keyring *kr)
{
	pthread_mutex_lock(&a->lock);
	fm_crypto_keyring_free(a->kr);
	a->kr = kr;
	fmi_agg_peers_drop_sessions(&a->peers);
	pthread_mutex_unlock(&a->lock);
}

void
fm_agg_set_event_handler(fm_agg *a, fm_agg_event_fn fn, void *userdata)
{
	pthread_mutex_lock(&a->lock);
	a->on_event = fn;
	a->userdata = userdata;
	pthread_mutex_unlock(&a->lock);
}

const char *
fm_agg_phase_name(uint32_t phase)
{
	static const char *const names[] = {
		[FM_AGG_PHASE_OPEN] = "open",
		[FM_AGG_PHASE_COLLECT] = "collect",
		[FM_AGG_PHASE_AGGREGATE] = "aggregate",
		[FM_AGG_PHASE_PERSIST] = "persist",
		[FM_AGG_PHASE_PUBLISH] = "publish",
		[FM_AGG_PHASE_IDLE] = "idle",
	};

	if (phase >= FM_ELEMENTSOF(names) || !names[phase])
		return "unknown";
	return names[phase];
}

void
fm_agg_status_get(fm_agg *a, fm_agg_status *ret)
{
	pthread_mutex_lock(&a->lock);
	*ret = (fm_agg_status) {
		.round = a->last_opened,
		.phase = a->phase,
		.version = a->version,
		.layout_id = a->layout_id,
		.n_params = a->n_params,
		.participants =
		    a->phase == FM_AGG_PHASE_COLLECT ? a->n_updates : 0,
		.rounds_published = a->rounds_published,
		.rounds_abandoned = a->abandoned,
		.finished = a->finished,
		.requests = a->requests,
		.accepted = a->accepted,
		.clipped = a->clipped,
		.last_round_ms = a->last_round_ms,
		.enrolled = fm_crypto_keyring_count(a->kr),
		.peers = a->peers.n,
		.journal_dropped_bytes = a->journal_scan.dropped_bytes,
		.journal_dropped_runs = a->journal_scan.dropped_runs,
	};
	memcpy(ret->rejections, a->rejections, sizeof(ret->rejections));
	pthread_mutex_unlock(&a->lock);
}

int
fm_agg_model_get(fm_agg *a, fm_agg_model *ret)
{
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&a->lock);
	if (a->version) {
		ret->params = malloc((size_t)a->n_params * sizeof(float));
		if (!ret->params) {
			r = -ENOMEM;
			goto out;
		}
		memcpy(ret->params, a->global,
		    (size_t)a->n_params * sizeof(float));
		ret->n_params = a->n_params;
		ret->layout_id = a->layout_id;
	}
	ret->version = a->version;
	ret->round = a->last_opened;
out:
	pthread_mutex_unlock(&a->lock);
	return r;
}

void
fm_agg_model_clear(fm_agg_model *m)
{
	free(m->params);
	memset(m, 0, sizeof(*m));
}
