/*
 * The control socket's messages (proto/control.proto): the C structs of
 * proto/proto.h to and from protobuf-c's. A table travels as parallel
 * packed numbers and text lists (items each followed by a NUL, in one
 * bytes field); the encoder points protobuf-c's fields into a scratch
 * block, the decoder checks each table's lengths agree and fit the caps.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "proto/control.pb-c.h"
#include "proto/proto-int.h"

typedef ProtobufCBinaryData bin;

static bool
text_is_printable(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

void
fm_proto_ctl_text_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	assert(dst && size > 0);
	for (; src && src[i] && i + 1 < size; i++) {
		unsigned char c = (unsigned char)src[i];

		dst[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
	}
	dst[i] = '\0';
}

/* Points *ret at the text s[size] (its NUL within size). */
static int
text_put(const char *s, size_t size, bin *ret)
{
	const char *end = memchr(s, 0, size);

	if (!end || !text_is_printable((const uint8_t *)s, (size_t)(end - s)))
		return -EINVAL;
	ret->data = (uint8_t *)(uintptr_t)s;
	ret->len = (size_t)(end - s);
	return 0;
}

/* Copies the text b into dst[size] with its NUL. */
static int
text_get(const bin *b, char *dst, size_t size)
{
	if (b->len >= size || !text_is_printable(b->data, b->len))
		return -EBADMSG;
	if (b->len > 0)
		memcpy(dst, b->data, b->len);
	dst[b->len] = '\0';
	return 0;
}

/*
 * A text list: n items, item i at src + i * stride (a char[size] inside
 * an array of structs), written into buf[n * size] as each item followed
 * by a NUL byte, and *ret pointed at it.
 */
static int
text_list_put(const char *src, size_t n, size_t stride, size_t size,
    uint8_t *buf, bin *ret)
{
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		const char *item = src + i * stride;
		const char *end = memchr(item, 0, size);
		size_t len;

		if (!end ||
		    !text_is_printable(
		        (const uint8_t *)item, (size_t)(end - item)))
			return -EINVAL;
		len = (size_t)(end - item) + 1;
		memcpy(buf + at, item, len);
		at += len;
	}
	ret->data = buf;
	ret->len = at;
	return 0;
}

/* The number of items in the text list b, or SIZE_MAX when its last
 * item lacks its NUL (which no table length matches). */
static size_t
text_list_count(const bin *b)
{
	size_t n = 0;

	if (b->len > 0 && b->data[b->len - 1] != '\0')
		return SIZE_MAX;
	for (size_t i = 0; i < b->len; i++)
		n += b->data[i] == '\0';
	return n;
}

/* Copies the n items of the text list b (text_list_count() said n) to
 * dst + i * stride, each a char[size]. */
static int
text_list_get(const bin *b, size_t n, char *dst, size_t stride, size_t size)
{
	size_t at = 0;

	for (size_t i = 0; i < n; i++) {
		const uint8_t *item = b->data + at;
		size_t len = strlen((const char *)item);

		if (len >= size || !text_is_printable(item, len))
			return -EBADMSG;
		memcpy(dst + i * stride, item, len + 1);
		at += len + 1;
	}
	return 0;
}

/* ---- request ------------------------------------------------------------ */

static bool
kind_is_valid(uint32_t kind)
{
	return kind >= FM_PROTO_CTL_STATUS && kind <= FM_PROTO_CTL_ACCEPT;
}

int
fm_proto_ctl_request_encode(
    const fm_proto_ctl_request *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__Ctl__V1__Request pm = FEDMON__CTL__V1__REQUEST__INIT;

	assert(m && ret_buf && ret_len);
	if (m->version == 0 || !kind_is_valid(m->kind))
		return -EINVAL;
	pm.version = m->version;
	pm.kind = m->kind;
	pm.failing = m->failing;
	return fmi_proto_pack(
	    &pm.base, FM_PROTO_CTL_REQUEST_MAX_BYTES, ret_buf, ret_len);
}

int
fm_proto_ctl_request_decode(
    const uint8_t *buf, size_t len, fm_proto_ctl_request *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__Ctl__V1__Request *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__ctl__v1__request__descriptor, buf, len,
	    FM_PROTO_CTL_REQUEST_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__Ctl__V1__Request *)p;
	if (pm->version == 0 || !kind_is_valid(pm->kind)) {
		r = -EBADMSG;
		goto out_free;
	}
	ret->version = pm->version;
	ret->kind = pm->kind;
	ret->failing = pm->failing;
	if (pm->version != FM_PROTO_CTL_VERSION)
		r = -EPROTONOSUPPORT;
out_free:
	fmi_proto_message_free(p);
	return r;
}

/* ---- reply: encoding ------------------------------------------------ */

/* Where protobuf-c's repeated fields point while a reply is packed. */
typedef struct scratch {
	uint8_t
	    problems[FM_PROTO_CTL_PROBLEMS_MAX * FM_PROTO_CTL_PROBLEM_BYTES];
	uint8_t top_names[FM_PROTO_CTL_TOP_MAX * FM_PROTO_CTL_NAME_BYTES];
	float top_contrib[FM_PROTO_CTL_TOP_MAX];
	float top_event[FM_PROTO_CTL_TOP_MAX];
	uint8_t
	    pred_names[FM_PROTO_CTL_PREDICTORS_MAX * FM_PROTO_CTL_NAME_BYTES];
	protobuf_c_boolean pred_enabled[FM_PROTO_CTL_PREDICTORS_MAX];
	protobuf_c_boolean pred_trained[FM_PROTO_CTL_PREDICTORS_MAX];
	protobuf_c_boolean pred_failing[FM_PROTO_CTL_PREDICTORS_MAX];
	float pred_probability[FM_PROTO_CTL_PREDICTORS_MAX];
	uint64_t pred_onsets[FM_PROTO_CTL_PREDICTORS_MAX];
	uint64_t pred_events[FM_PROTO_CTL_PREDICTORS_MAX];
	protobuf_c_boolean pred_trusted[FM_PROTO_CTL_PREDICTORS_MAX];
	uint8_t rule_names[FM_PROTO_CTL_RULES_MAX * FM_PROTO_CTL_NAME_BYTES];
	uint8_t rule_kinds[FM_PROTO_CTL_RULES_MAX * FM_PROTO_CTL_NAME_BYTES];
	protobuf_c_boolean rule_dry_run[FM_PROTO_CTL_RULES_MAX];
	protobuf_c_boolean rule_holding[FM_PROTO_CTL_RULES_MAX];
	protobuf_c_boolean rule_running[FM_PROTO_CTL_RULES_MAX];
	uint64_t rule_ok[FM_PROTO_CTL_RULES_MAX];
	uint64_t rule_failed[FM_PROTO_CTL_RULES_MAX];
	uint64_t rule_timeout[FM_PROTO_CTL_RULES_MAX];
	uint64_t rule_error[FM_PROTO_CTL_RULES_MAX];
	uint64_t rule_dry_runs[FM_PROTO_CTL_RULES_MAX];
	uint64_t rule_suppressed[FM_PROTO_CTL_RULES_MAX];
	int64_t rule_last_run[FM_PROTO_CTL_RULES_MAX];
	int64_t action_real_ns[FM_PROTO_CTL_RECENT_MAX];
	uint8_t action_rules[FM_PROTO_CTL_RECENT_MAX * FM_PROTO_CTL_NAME_BYTES];
	uint8_t action_kinds[FM_PROTO_CTL_RECENT_MAX * FM_PROTO_CTL_NAME_BYTES];
	uint8_t
	    action_results[FM_PROTO_CTL_RECENT_MAX * FM_PROTO_CTL_NAME_BYTES];
	int32_t action_code[FM_PROTO_CTL_RECENT_MAX];
	uint32_t action_duration_ms[FM_PROTO_CTL_RECENT_MAX];
	float action_value[FM_PROTO_CTL_RECENT_MAX];
	uint8_t
	    feature_names[FM_PROTO_CTL_FEATURES_MAX * FM_PROTO_CTL_NAME_BYTES];
	uint8_t
	    feature_units[FM_PROTO_CTL_FEATURES_MAX * FM_PROTO_CTL_NAME_BYTES];
	float feature_value[FM_PROTO_CTL_FEATURES_MAX];
} scratch;

static int
put_agent(const fm_proto_ctl_status *s, scratch *x, Fedmon__Ctl__V1__Reply *pm)
{
	int r;

	if (s->n_problems > FM_PROTO_CTL_PROBLEMS_MAX)
		return -EINVAL;
	pm->pid = s->pid;
	pm->start_real_ns = s->start_real_ns;
	pm->uptime_ms = s->uptime_ms;
	pm->interval_ms = s->interval_ms;
	r = text_put(
	    s->agent_version, sizeof(s->agent_version), &pm->agent_version);
	if (r == 0)
		r = text_put(
		    s->config_path, sizeof(s->config_path), &pm->config_path);
	if (r == 0)
		r = text_put(
		    s->state_dir, sizeof(s->state_dir), &pm->state_dir);
	if (r == 0)
		r = text_put(
		    s->metrics_url, sizeof(s->metrics_url), &pm->metrics_url);
	if (r == 0)
		r = text_list_put(s->problems[0], s->n_problems,
		    sizeof(s->problems[0]), sizeof(s->problems[0]), x->problems,
		    &pm->problems);

	pm->samples = s->samples;
	pm->samples_failed = s->samples_failed;
	pm->last_sample_real_ns = s->last_sample_real_ns;
	pm->last_sample_age_ms = s->last_sample_age_ms;
	if (r == 0)
		r = text_put(s->collectors_missing,
		    sizeof(s->collectors_missing), &pm->collectors_missing);
	if (r == 0)
		r = text_put(s->collectors_failing,
		    sizeof(s->collectors_failing), &pm->collectors_failing);
	return r;
}

static int
put_models(const fm_proto_ctl_status *s, scratch *x, Fedmon__Ctl__V1__Reply *pm)
{
	int r = 0;

	if (s->n_top > FM_PROTO_CTL_TOP_MAX ||
	    s->n_predictors > FM_PROTO_CTL_PREDICTORS_MAX)
		return -EINVAL;
	pm->learning = s->learning;
	pm->ready = s->ready;
	pm->training = s->training;
	pm->trainings = s->trainings;
	pm->train_failures = s->train_failures;
	pm->train_error = s->train_error;
	pm->trained_real_ns = s->trained_real_ns;
	pm->rows_held = s->rows_held;
	pm->min_rows = s->min_rows;
	pm->score = s->score;
	pm->threshold = s->threshold;
	pm->alarm = s->alarm;
	pm->scored = s->scored;
	pm->alarms = s->alarms;
	pm->events = s->events;
	pm->event_real_ns = s->event_real_ns;
	pm->alarm_seconds = s->alarm_seconds;
	pm->pending_rows = s->pending_rows;
	pm->accepted = s->accepted;
	pm->held_labels = s->held_labels;
	pm->accepts = s->accepts;
	pm->seen_rows = s->seen_rows;
	pm->mature_rows = s->mature_rows;
	pm->young_prior = s->young_prior;
	for (uint32_t i = 0; i < s->n_top; i++) {
		x->top_contrib[i] = s->top[i].contrib;
		x->top_event[i] = s->top[i].event;
	}
	pm->n_top_contrib = s->n_top;
	pm->top_contrib = x->top_contrib;
	pm->n_top_event = s->n_top;
	pm->top_event = x->top_event;
	r = text_list_put(s->top[0].name, s->n_top, sizeof(s->top[0]),
	    sizeof(s->top[0].name), x->top_names, &pm->top_names);

	for (uint32_t i = 0; i < s->n_predictors; i++) {
		const fm_proto_ctl_predictor *p = &s->predictors[i];

		x->pred_enabled[i] = p->enabled;
		x->pred_trained[i] = p->trained;
		x->pred_failing[i] = p->failing;
		x->pred_probability[i] = p->probability;
		x->pred_onsets[i] = p->onsets;
		x->pred_events[i] = p->events;
		x->pred_trusted[i] = p->trusted;
	}
	if (r == 0)
		r = text_list_put(s->predictors[0].name, s->n_predictors,
		    sizeof(s->predictors[0]), sizeof(s->predictors[0].name),
		    x->pred_names, &pm->predictor_names);
	pm->n_predictor_enabled = pm->n_predictor_trained =
	    pm->n_predictor_failing = pm->n_predictor_probability =
	        pm->n_predictor_onsets = pm->n_predictor_events =
	            pm->n_predictor_trusted = s->n_predictors;
	pm->predictor_enabled = x->pred_enabled;
	pm->predictor_trained = x->pred_trained;
	pm->predictor_failing = x->pred_failing;
	pm->predictor_probability = x->pred_probability;
	pm->predictor_onsets = x->pred_onsets;
	pm->predictor_events = x->pred_events;
	pm->predictor_trusted = x->pred_trusted;
	return r;
}

static int
put_federation(const fm_proto_ctl_status *s, Fedmon__Ctl__V1__Reply *pm)
{
	int r;

	pm->federating = s->federating;
	pm->reachable = s->reachable;
	pm->last_contact_real_ns = s->last_contact_real_ns;
	pm->round = s->round;
	pm->fleet_version = s->fleet_version;
	pm->applied_version = s->applied_version;
	pm->updates_sent = s->updates_sent;
	pm->updates_accepted = s->updates_accepted;
	pm->updates_refused = s->updates_refused;
	pm->fed_error = s->fed_error;
	pm->exchanges = s->exchanges;
	pm->fed_failures = s->fed_failures;
	r = text_put(s->aggregator, sizeof(s->aggregator), &pm->aggregator);
	if (r == 0)
		r = text_put(
		    s->fed_reason, sizeof(s->fed_reason), &pm->fed_reason);
	return r;
}

static int
put_actions(
    const fm_proto_ctl_status *s, scratch *x, Fedmon__Ctl__V1__Reply *pm)
{
	int r = 0;

	if (s->n_rules > FM_PROTO_CTL_RULES_MAX ||
	    s->n_recent > FM_PROTO_CTL_RECENT_MAX)
		return -EINVAL;
	pm->acting = s->acting;
	r = text_list_put(s->rules[0].name, s->n_rules, sizeof(s->rules[0]),
	    sizeof(s->rules[0].name), x->rule_names, &pm->rule_names);
	if (r == 0)
		r = text_list_put(s->rules[0].kind, s->n_rules,
		    sizeof(s->rules[0]), sizeof(s->rules[0].kind),
		    x->rule_kinds, &pm->rule_kinds);
	for (uint32_t i = 0; i < s->n_rules; i++) {
		const fm_proto_ctl_rule *u = &s->rules[i];

		x->rule_dry_run[i] = u->dry_run;
		x->rule_holding[i] = u->holding;
		x->rule_running[i] = u->running;
		x->rule_ok[i] = u->ok;
		x->rule_failed[i] = u->failed;
		x->rule_timeout[i] = u->timeout;
		x->rule_error[i] = u->error;
		x->rule_dry_runs[i] = u->dry_runs;
		x->rule_suppressed[i] = u->suppressed;
		x->rule_last_run[i] = u->last_run_real_ns;
	}
	pm->n_rule_dry_run = pm->n_rule_holding = pm->n_rule_running =
	    pm->n_rule_ok = pm->n_rule_failed = pm->n_rule_timeout =
	        pm->n_rule_error = pm->n_rule_dry_runs = pm->n_rule_suppressed =
	            pm->n_rule_last_run_real_ns = s->n_rules;
	pm->rule_dry_run = x->rule_dry_run;
	pm->rule_holding = x->rule_holding;
	pm->rule_running = x->rule_running;
	pm->rule_ok = x->rule_ok;
	pm->rule_failed = x->rule_failed;
	pm->rule_timeout = x->rule_timeout;
	pm->rule_error = x->rule_error;
	pm->rule_dry_runs = x->rule_dry_runs;
	pm->rule_suppressed = x->rule_suppressed;
	pm->rule_last_run_real_ns = x->rule_last_run;

	if (r == 0)
		r = text_list_put(s->recent[0].rule, s->n_recent,
		    sizeof(s->recent[0]), sizeof(s->recent[0].rule),
		    x->action_rules, &pm->action_rules);
	if (r == 0)
		r = text_list_put(s->recent[0].kind, s->n_recent,
		    sizeof(s->recent[0]), sizeof(s->recent[0].kind),
		    x->action_kinds, &pm->action_kinds);
	if (r == 0)
		r = text_list_put(s->recent[0].result, s->n_recent,
		    sizeof(s->recent[0]), sizeof(s->recent[0].result),
		    x->action_results, &pm->action_results);
	for (uint32_t i = 0; i < s->n_recent; i++) {
		const fm_proto_ctl_action *a = &s->recent[i];

		x->action_real_ns[i] = a->real_ns;
		x->action_code[i] = a->code;
		x->action_duration_ms[i] = a->duration_ms;
		x->action_value[i] = a->value;
	}
	pm->n_action_real_ns = pm->n_action_code = pm->n_action_duration_ms =
	    pm->n_action_value = s->n_recent;
	pm->action_real_ns = x->action_real_ns;
	pm->action_code = x->action_code;
	pm->action_duration_ms = x->action_duration_ms;
	pm->action_value = x->action_value;
	return r;
}

static int
put_features(
    const fm_proto_ctl_features *f, scratch *x, Fedmon__Ctl__V1__Reply *pm)
{
	int r = 0;

	if (f->n > FM_PROTO_CTL_FEATURES_MAX)
		return -EINVAL;
	pm->sample_real_ns = f->real_ns;
	pm->schema_version = f->schema_version;
	r = text_list_put(f->f[0].name, f->n, sizeof(f->f[0]),
	    sizeof(f->f[0].name), x->feature_names, &pm->feature_names);
	if (r == 0)
		r = text_list_put(f->f[0].unit, f->n, sizeof(f->f[0]),
		    sizeof(f->f[0].unit), x->feature_units, &pm->feature_units);
	for (uint32_t i = 0; i < f->n; i++)
		x->feature_value[i] = f->f[i].value;
	pm->n_feature_value = f->n;
	pm->feature_value = x->feature_value;
	return r;
}

int
fm_proto_ctl_reply_encode(
    const fm_proto_ctl_reply *m, uint8_t **ret_buf, size_t *ret_len)
{
	Fedmon__Ctl__V1__Reply pm = FEDMON__CTL__V1__REPLY__INIT;
	scratch *x;
	int r;

	assert(m && ret_buf && ret_len);
	if (m->version == 0 || (m->kind != 0 && !kind_is_valid(m->kind)))
		return -EINVAL;
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	pm.version = m->version;
	pm.kind = m->kind;
	pm.error = m->error;
	pm.label_changed = m->label_changed;
	r = text_put(m->message, sizeof(m->message), &pm.message);
	if (r == 0)
		r = put_agent(&m->status, x, &pm);
	if (r == 0)
		r = put_models(&m->status, x, &pm);
	if (r == 0)
		r = put_federation(&m->status, &pm);
	if (r == 0)
		r = put_actions(&m->status, x, &pm);
	if (r == 0)
		r = put_features(&m->features, x, &pm);
	if (r == 0)
		r = fmi_proto_pack(
		    &pm.base, FM_PROTO_CTL_REPLY_MAX_BYTES, ret_buf, ret_len);
	free(x);
	return r;
}

/* ---- reply: decoding ------------------------------------------------ */

/* Whether the n lengths in lens[] are equal and at most max. */
static bool
table_is_valid(const size_t *lens, size_t n, size_t max)
{
	for (size_t i = 0; i < n; i++)
		if (lens[i] != lens[0] || lens[i] > max)
			return false;
	return true;
}

static int
get_agent(const Fedmon__Ctl__V1__Reply *pm, fm_proto_ctl_status *s)
{
	int r;

	size_t n_problems = text_list_count(&pm->problems);

	if (n_problems > FM_PROTO_CTL_PROBLEMS_MAX)
		return -EBADMSG;
	s->pid = pm->pid;
	s->start_real_ns = pm->start_real_ns;
	s->uptime_ms = pm->uptime_ms;
	s->interval_ms = pm->interval_ms;
	r = text_get(
	    &pm->agent_version, s->agent_version, sizeof(s->agent_version));
	if (r == 0)
		r = text_get(
		    &pm->config_path, s->config_path, sizeof(s->config_path));
	if (r == 0)
		r = text_get(
		    &pm->state_dir, s->state_dir, sizeof(s->state_dir));
	if (r == 0)
		r = text_get(
		    &pm->metrics_url, s->metrics_url, sizeof(s->metrics_url));
	s->n_problems = (uint32_t)n_problems;
	if (r == 0)
		r = text_list_get(&pm->problems, n_problems, s->problems[0],
		    sizeof(s->problems[0]), sizeof(s->problems[0]));

	s->samples = pm->samples;
	s->samples_failed = pm->samples_failed;
	s->last_sample_real_ns = pm->last_sample_real_ns;
	s->last_sample_age_ms = pm->last_sample_age_ms;
	if (r == 0)
		r = text_get(&pm->collectors_missing, s->collectors_missing,
		    sizeof(s->collectors_missing));
	if (r == 0)
		r = text_get(&pm->collectors_failing, s->collectors_failing,
		    sizeof(s->collectors_failing));
	return r;
}

static int
get_models(const Fedmon__Ctl__V1__Reply *pm, fm_proto_ctl_status *s)
{
	const size_t top[] = { text_list_count(&pm->top_names),
		pm->n_top_contrib };
	const size_t pred[] = { text_list_count(&pm->predictor_names),
		pm->n_predictor_enabled, pm->n_predictor_trained,
		pm->n_predictor_failing, pm->n_predictor_probability,
		pm->n_predictor_onsets, pm->n_predictor_events };
	int r = 0;

	if (!table_is_valid(top, FM_ELEMENTSOF(top), FM_PROTO_CTL_TOP_MAX) ||
	    (pm->n_top_event != 0 && pm->n_top_event != top[0]) ||
	    !(pm->young_prior >= 0.0f && pm->young_prior < 1.0f) ||
	    !table_is_valid(
	        pred, FM_ELEMENTSOF(pred), FM_PROTO_CTL_PREDICTORS_MAX))
		return -EBADMSG;
	/* trusted came later: absent, or one per predictor */
	if (pm->n_predictor_trusted != 0 && pm->n_predictor_trusted != pred[0])
		return -EBADMSG;
	s->learning = pm->learning;
	s->ready = pm->ready;
	s->training = pm->training;
	s->trainings = pm->trainings;
	s->train_failures = pm->train_failures;
	s->train_error = pm->train_error;
	s->trained_real_ns = pm->trained_real_ns;
	s->rows_held = pm->rows_held;
	s->min_rows = pm->min_rows;
	s->score = pm->score;
	s->threshold = pm->threshold;
	s->alarm = pm->alarm;
	s->scored = pm->scored;
	s->alarms = pm->alarms;
	s->events = pm->events;
	s->event_real_ns = pm->event_real_ns;
	s->alarm_seconds = pm->alarm_seconds;
	s->pending_rows = pm->pending_rows;
	s->accepted = pm->accepted;
	s->held_labels = pm->held_labels;
	s->accepts = pm->accepts;
	s->seen_rows = pm->seen_rows;
	s->mature_rows = pm->mature_rows;
	s->young_prior = pm->young_prior;
	s->n_top = (uint32_t)top[0];
	r = text_list_get(&pm->top_names, s->n_top, s->top[0].name,
	    sizeof(s->top[0]), sizeof(s->top[0].name));
	for (uint32_t i = 0; i < s->n_top; i++) {
		s->top[i].contrib = pm->top_contrib[i];
		s->top[i].event = pm->n_top_event ? pm->top_event[i] : 0.0f;
	}
	s->n_predictors = (uint32_t)pred[0];
	if (r == 0)
		r = text_list_get(&pm->predictor_names, s->n_predictors,
		    s->predictors[0].name, sizeof(s->predictors[0]),
		    sizeof(s->predictors[0].name));
	for (uint32_t i = 0; i < s->n_predictors; i++) {
		fm_proto_ctl_predictor *p = &s->predictors[i];

		p->enabled = pm->predictor_enabled[i];
		p->trained = pm->predictor_trained[i];
		p->failing = pm->predictor_failing[i];
		p->probability = pm->predictor_probability[i];
		p->onsets = pm->predictor_onsets[i];
		p->events = pm->predictor_events[i];
		p->trusted = pm->n_predictor_trusted ? pm->predictor_trusted[i]
		                                     : p->trained;
	}
	return r;
}

static int
get_federation(const Fedmon__Ctl__V1__Reply *pm, fm_proto_ctl_status *s)
{
	int r;

	s->federating = pm->federating;
	s->reachable = pm->reachable;
	s->last_contact_real_ns = pm->last_contact_real_ns;
	s->round = pm->round;
	s->fleet_version = pm->fleet_version;
	s->applied_version = pm->applied_version;
	s->updates_sent = pm->updates_sent;
	s->updates_accepted = pm->updates_accepted;
	s->updates_refused = pm->updates_refused;
	s->fed_error = pm->fed_error;
	s->exchanges = pm->exchanges;
	s->fed_failures = pm->fed_failures;
	r = text_get(&pm->aggregator, s->aggregator, sizeof(s->aggregator));
	if (r == 0)
		r = text_get(
		    &pm->fed_reason, s->fed_reason, sizeof(s->fed_reason));
	return r;
}

static int
get_actions(const Fedmon__Ctl__V1__Reply *pm, fm_proto_ctl_status *s)
{
	const size_t rules[] = { text_list_count(&pm->rule_names),
		text_list_count(&pm->rule_kinds), pm->n_rule_dry_run,
		pm->n_rule_holding, pm->n_rule_running, pm->n_rule_ok,
		pm->n_rule_failed, pm->n_rule_timeout, pm->n_rule_error,
		pm->n_rule_dry_runs, pm->n_rule_suppressed,
		pm->n_rule_last_run_real_ns };
	const size_t recent[] = { pm->n_action_real_ns,
		text_list_count(&pm->action_rules),
		text_list_count(&pm->action_kinds),
		text_list_count(&pm->action_results), pm->n_action_code,
		pm->n_action_duration_ms, pm->n_action_value };
	int r = 0;

	if (!table_is_valid(
	        rules, FM_ELEMENTSOF(rules), FM_PROTO_CTL_RULES_MAX) ||
	    !table_is_valid(
	        recent, FM_ELEMENTSOF(recent), FM_PROTO_CTL_RECENT_MAX))
		return -EBADMSG;
	s->acting = pm->acting;
	s->n_rules = (uint32_t)rules[0];
	r = text_list_get(&pm->rule_names, s->n_rules, s->rules[0].name,
	    sizeof(s->rules[0]), sizeof(s->rules[0].name));
	if (r == 0)
		r = text_list_get(&pm->rule_kinds, s->n_rules, s->rules[0].kind,
		    sizeof(s->rules[0]), sizeof(s->rules[0].kind));
	for (uint32_t i = 0; i < s->n_rules; i++) {
		fm_proto_ctl_rule *u = &s->rules[i];

		u->dry_run = pm->rule_dry_run[i];
		u->holding = pm->rule_holding[i];
		u->running = pm->rule_running[i];
		u->ok = pm->rule_ok[i];
		u->failed = pm->rule_failed[i];
		u->timeout = pm->rule_timeout[i];
		u->error = pm->rule_error[i];
		u->dry_runs = pm->rule_dry_runs[i];
		u->suppressed = pm->rule_suppressed[i];
		u->last_run_real_ns = pm->rule_last_run_real_ns[i];
	}
	s->n_recent = (uint32_t)recent[0];
	if (r == 0)
		r = text_list_get(&pm->action_rules, s->n_recent,
		    s->recent[0].rule, sizeof(s->recent[0]),
		    sizeof(s->recent[0].rule));
	if (r == 0)
		r = text_list_get(&pm->action_kinds, s->n_recent,
		    s->recent[0].kind, sizeof(s->recent[0]),
		    sizeof(s->recent[0].kind));
	if (r == 0)
		r = text_list_get(&pm->action_results, s->n_recent,
		    s->recent[0].result, sizeof(s->recent[0]),
		    sizeof(s->recent[0].result));
	for (uint32_t i = 0; i < s->n_recent; i++) {
		fm_proto_ctl_action *a = &s->recent[i];

		a->real_ns = pm->action_real_ns[i];
		a->code = pm->action_code[i];
		a->duration_ms = pm->action_duration_ms[i];
		a->value = pm->action_value[i];
	}
	return r;
}

static int
get_features(const Fedmon__Ctl__V1__Reply *pm, fm_proto_ctl_features *f)
{
	const size_t lens[] = { text_list_count(&pm->feature_names),
		text_list_count(&pm->feature_units), pm->n_feature_value };
	int r = 0;

	if (!table_is_valid(
	        lens, FM_ELEMENTSOF(lens), FM_PROTO_CTL_FEATURES_MAX))
		return -EBADMSG;
	f->real_ns = pm->sample_real_ns;
	f->schema_version = pm->schema_version;
	f->n = (uint32_t)lens[0];
	r = text_list_get(&pm->feature_names, f->n, f->f[0].name,
	    sizeof(f->f[0]), sizeof(f->f[0].name));
	if (r == 0)
		r = text_list_get(&pm->feature_units, f->n, f->f[0].unit,
		    sizeof(f->f[0]), sizeof(f->f[0].unit));
	for (uint32_t i = 0; i < f->n; i++)
		f->f[i].value = pm->feature_value[i];
	return r;
}

int
fm_proto_ctl_reply_decode(
    const uint8_t *buf, size_t len, fm_proto_ctl_reply *ret)
{
	ProtobufCMessage *p = NULL;
	Fedmon__Ctl__V1__Reply *pm;
	int r;

	assert(ret);
	memset(ret, 0, sizeof(*ret));
	r = fmi_proto_unpack(&fedmon__ctl__v1__reply__descriptor, buf, len,
	    FM_PROTO_CTL_REPLY_MAX_BYTES, &p);
	if (r < 0)
		return r;
	pm = (Fedmon__Ctl__V1__Reply *)p;
	if (pm->version == 0 || (pm->kind != 0 && !kind_is_valid(pm->kind))) {
		r = -EBADMSG;
		goto out_free;
	}
	ret->version = pm->version;
	ret->kind = pm->kind;
	ret->error = pm->error;
	ret->label_changed = pm->label_changed;
	r = text_get(&pm->message, ret->message, sizeof(ret->message));
	if (r == 0)
		r = get_agent(pm, &ret->status);
	if (r == 0)
		r = get_models(pm, &ret->status);
	if (r == 0)
		r = get_federation(pm, &ret->status);
	if (r == 0)
		r = get_actions(pm, &ret->status);
	if (r == 0)
		r = get_features(pm, &ret->features);
	if (r < 0) {
		memset(ret, 0, sizeof(*ret));
		goto out_free;
	}
	if (pm->version != FM_PROTO_CTL_VERSION)
		r = -EPROTONOSUPPORT;
out_free:
	fmi_proto_message_free(p);
	return r;
}
