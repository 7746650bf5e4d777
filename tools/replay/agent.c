/*
 * fedmon-replay --agent: the agent's own learning loop (agent/model's
 * learner: its retention rule, retraining schedule, warm-up, minute ring
 * and failure predictors, and labels.c's label rules) over a run
 * recorded with `fedmonctl watch --csv`, one row a sample, so that the
 * run's verdicts can be reproduced, compared and changed offline. The
 * learner is the daemon's, made synchronous (a due training runs at
 * once, on this thread), so a replay is the same on every run. The
 * contract: README.md, "Replay", and the usage text.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "tools/replay/csv.h"
#include "tools/replay/replay.h"

#define MAX_FIELDS FM_REPLAY_CSV_MAX_COLS
/* The longest run of samples the recording may have missed that is
 * filled in (an agent restart, or a longer gap, is not). */
#define FILL_MAX 600u

/* What a column of the recorded file is to the replay. */
enum col_role {
	COL_IGNORED, /* score, top_features, regime and the like */
	COL_TIME,
	COL_SAMPLE,
	COL_TRAININGS,
	COL_FEATURE, /* index: the feature */
	COL_EVENTS,  /* index: the label source */
};

typedef struct col {
	enum col_role role;
	unsigned index;
} col;

/* The replay's state, over the rows. */
typedef struct rec {
	const replay_agent_args *a;
	const char *path;
	FILE *out;
	size_t ncols;
	col *cols;
	bool has_sample, has_trainings, labels_recorded;
	fm_agent_config cfg;
	fm_model_history *history;
	fm_model_labels *labels;
	fm_model_learner *learner;
	uint64_t fill_max; /* samples */
	int64_t interval_ns;
	/* the previous row fed */
	bool have_prev;
	fm_collect_sample prev;
	uint64_t prev_sample;
	double prev_trainings;
	double prev_events[FM_LABEL_COUNT];
	/* labels fed, and what the summary reports */
	uint64_t events[FM_LABEL_COUNT];
	uint64_t rows, filled, gaps_left, restarts;
	uint64_t adopted_with_recording, released_unmatched;
	uint64_t held_since; /* row a model became held; 0 = none */
	uint64_t owed;       /* recorded adoptions with none held */
	uint32_t hold_max;   /* rows */
} rec;

/*
 * Splits one line of comma-separated fields in place into f[max]
 * (*ret_n: their count, or max + 1 when there are more): a field in
 * double quotes may hold commas and "" for a quote. Returns 0, or
 * -EINVAL for an unterminated quote.
 */
static int
split_fields(char *s, char **f, size_t max, size_t *ret_n)
{
	size_t n = 0;

	for (;;) {
		char *w;

		if (n == max) {
			*ret_n = max + 1;
			return 0;
		}
		f[n++] = s;
		if (*s == '"') {
			/* unquote in place */
			w = s;
			for (s++;; s++) {
				if (*s == '\0')
					return -EINVAL;
				if (*s == '"' && s[1] == '"')
					s++;
				else if (*s == '"')
					break;
				*w++ = *s;
			}
			s++;
			if (*s != ',' && *s != '\0')
				return -EINVAL;
			*w = '\0';
		} else {
			s += strcspn(s, ",");
		}
		if (*s == '\0')
			break;
		*s++ = '\0';
	}
	*ret_n = n;
	return 0;
}

/* A numeric field: "" is NAN (masked, or not known). */
static int
field_value(const char *s, double *ret)
{
	if (!s[0]) {
		*ret = NAN;
		return 0;
	}
	return fm_parse_double(s, ret);
}

/* A time in seconds since the epoch, as watch writes it ("%.3f"), into
 * nanoseconds exactly (a double would be off by hundreds of them, and the
 * retraining clock compares differences). Returns 0 or -EINVAL. */
static int
parse_time_ns(const char *s, int64_t *ret)
{
	char whole[16];
	const char *dot = strchr(s, '.');
	size_t n = dot ? (size_t)(dot - s) : strlen(s);
	int64_t frac = 0, scale = FM_NSEC_PER_SEC;
	uint64_t sec;

	if (n == 0 || n >= sizeof(whole))
		return -EINVAL;
	memcpy(whole, s, n);
	whole[n] = '\0';
	if (fm_parse_u64_range(whole, 1, 100000000000ull, &sec) < 0)
		return -EINVAL;
	for (const char *p = dot ? dot + 1 : ""; *p; p++) {
		if (*p < '0' || *p > '9' || scale == 1)
			return -EINVAL;
		scale /= 10;
		frac += (*p - '0') * scale;
	}
	if (dot && !dot[1])
		return -EINVAL;
	*ret = (int64_t)sec * FM_NSEC_PER_SEC + frac;
	return 0;
}

/* Reads the header: which column is what. */
static int
header_read(rec *x, char **f, size_t n)
{
	bool seen[FM_FEATURE_COUNT] = { false };
	unsigned features = 0, events = 0;
	bool time = false;

	x->cols = calloc(n, sizeof(*x->cols));
	if (!x->cols)
		return -ENOMEM;
	x->ncols = n;
	for (size_t i = 0; i < n; i++) {
		col *c = &x->cols[i];
		int k;

		if (strcmp(f[i], "time") == 0) {
			c->role = COL_TIME;
			time = true;
		} else if (strcmp(f[i], "sample") == 0) {
			c->role = COL_SAMPLE;
			x->has_sample = true;
		} else if (strcmp(f[i], "trainings") == 0) {
			c->role = COL_TRAININGS;
			x->has_trainings = true;
		} else if (strncmp(f[i], "events_", 7) == 0 &&
		    (k = fm_model_label_source_lookup(f[i] + 7)) >= 0) {
			c->role = COL_EVENTS;
			c->index = (unsigned)k;
			events++;
		} else if ((k = fm_collect_feature_lookup(f[i])) >= 0) {
			if (seen[k]) {
				fprintf(stderr, "%s:1: column '%s' twice\n",
				    x->path, f[i]);
				return -EINVAL;
			}
			seen[k] = true;
			c->role = COL_FEATURE;
			c->index = (unsigned)k;
			features++;
		}
	}
	if (!time || features == 0) {
		fprintf(stderr,
		    "%s:1: no 'time' column or no feature column: not a "
		    "recording of fedmonctl watch --csv\n",
		    x->path);
		return -EINVAL;
	}
	/* onsets as the agent counted them, health and manual too; else
	 * labels.c's rules on the features */
	x->labels_recorded = events == FM_LABEL_COUNT;
	return 0;
}

static void
header_write(FILE *f)
{
	fprintf(f,
	    "time,sample,ready,score,threshold,alarm,alarms,events,"
	    "trainings,top_features");
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++)
		fprintf(f, ",p_%s,events_%s", fm_model_label_source_name(s),
		    fm_model_label_source_name(s));
	fprintf(f, "\n");
}

/* As fedmonctl watch's csv_float(): empty when not finite. */
static void
out_float(FILE *f, double v)
{
	if (isfinite(v))
		fprintf(f, ",%.6g", v);
	else
		fprintf(f, ",");
}

/* One output row, as fedmonctl watch --csv writes it, for the sample at
 * time t (as recorded) with the agent's sample number. */
static void
row_write(rec *x, const char *t, uint64_t sample)
{
	fm_model_learner_status st;

	fm_model_learner_status_get(x->learner, &st);
	fprintf(x->out, "%s,%llu,%d", t, (unsigned long long)sample,
	    st.ready ? 1 : 0);
	out_float(x->out, st.ready ? (double)st.score : NAN);
	out_float(x->out, st.ready ? (double)st.threshold : NAN);
	fprintf(x->out, ",%d,%llu,%llu,%u,", st.alarm ? 1 : 0,
	    (unsigned long long)st.alarms, (unsigned long long)st.events,
	    st.trainings);
	for (uint32_t i = 0; i < st.n_top && i < FM_MODEL_LEARNER_TOP; i++)
		fprintf(x->out, "%s%s=%.4g", i ? ";" : "",
		    fm_collect_feature_get(st.top[i])->name,
		    (double)st.top_contrib[i]);
	for (unsigned s = 0; s < FM_LABEL_COUNT; s++) {
		out_float(x->out,
		    st.failure[s].trained ? (double)st.failure[s].probability
		                          : NAN);
		fprintf(x->out, ",%llu", (unsigned long long)x->events[s]);
	}
	fprintf(x->out, "\n");
}

/* Feeds one sample, as the daemon's on_sample does: labels, then the
 * learner. onsets: the recorded ones (labels_recorded). */
static void
feed(rec *x, const fm_collect_sample *s, uint32_t onsets)
{
	if (!x->labels_recorded)
		onsets = fm_model_labels_on_sample(x->labels, s);
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++)
		x->events[i] += (onsets >> i) & 1u;
	fm_model_learner_on_sample(x->learner, s, onsets);
}

/*
 * The samples the recording missed before this one (its sample number
 * says how many): each filled in with the previous sample again, at its
 * interval, so that the learner's counts (rows kept, the alarm's runs,
 * the retraining clock) stay the agent's. An agent restart (the number
 * falls) or a gap over fill_max is not filled.
 */
static void
fill_gap(rec *x, uint64_t sample, const fm_collect_sample *s)
{
	uint64_t expect = x->have_prev ? x->prev_sample + 1 : 1, missed;
	fm_collect_sample g;

	if (!x->has_sample || sample == expect)
		return;
	if (sample < expect) {
		x->restarts++;
		return;
	}
	missed = sample - expect;
	if (missed > x->fill_max) {
		x->gaps_left++;
		return;
	}
	/* before the first row: the first row, at the interval back */
	g = x->have_prev ? x->prev : *s;
	for (uint64_t k = 0; k < missed; k++) {
		int64_t dt = x->have_prev
		    ? (int64_t)(k + 1) * x->interval_ns
		    : -(int64_t)(missed - k) * x->interval_ns;

		g.mono_ns = (x->have_prev ? x->prev.mono_ns : s->mono_ns) + dt;
		g.real_ns = (x->have_prev ? x->prev.real_ns : s->real_ns) + dt;
		feed(x, &g, 0);
		x->filled++;
	}
}

/*
 * --adopt recorded: a finished training's models wait for the row where
 * the recorded agent's trainings counter rose (its training thread took
 * that long), or hold_max rows at most (the recording and the replay
 * have parted ways). Called before and after each row is fed.
 */
static void
hold_before(rec *x, double trainings)
{
	bool rose = x->have_prev && isfinite(trainings) &&
	    isfinite(x->prev_trainings) && trainings > x->prev_trainings;

	if (x->a->adopt != REPLAY_ADOPT_RECORDED || !x->has_trainings)
		return;
	if (rose && !x->held_since)
		x->owed++;
	if (rose && x->held_since)
		x->adopted_with_recording++;
	if (x->held_since && !rose && x->rows - x->held_since >= x->hold_max)
		x->released_unmatched++;
	else if (!rose)
		return;
	x->held_since = 0;
	fm_model_learner_hold(x->learner, false);
}

static void
hold_after(rec *x)
{
	fm_model_learner_status st;

	if (x->a->adopt != REPLAY_ADOPT_RECORDED || !x->has_trainings)
		return;
	fm_model_learner_status_get(x->learner, &st);
	if (!st.training || x->held_since) {
		fm_model_learner_hold(x->learner, true);
		return;
	}
	if (x->owed) {
		/* the recording adopted first: the next row adopts this */
		x->owed--;
		x->released_unmatched++;
		fm_model_learner_hold(x->learner, false);
		return;
	}
	fm_model_learner_hold(x->learner, true);
	x->held_since = x->rows;
}

/* One data line (fields f[n]), lineno for messages. */
static int
row_read(rec *x, char **f, size_t n, size_t lineno)
{
	fm_collect_sample s;
	double sample = NAN, trainings = NAN, v;
	const char *t = NULL;
	double events[FM_LABEL_COUNT];
	uint32_t onsets = 0;
	uint64_t number;

	if (n != x->ncols) {
		fprintf(stderr, "%s:%zu: expected %zu fields, found %zu\n",
		    x->path, lineno, x->ncols, n);
		return -EINVAL;
	}
	for (unsigned i = 0; i < FM_FEATURE_COUNT; i++)
		s.v[i] = NAN;
	for (unsigned i = 0; i < FM_LABEL_COUNT; i++)
		events[i] = NAN;
	for (size_t i = 0; i < n; i++) {
		const col *c = &x->cols[i];

		if (c->role == COL_IGNORED)
			continue;
		if (c->role == COL_TIME) {
			t = f[i];
			continue;
		}
		if (field_value(f[i], &v) < 0 || fabs(v) > FLT_MAX) {
			fprintf(stderr, "%s:%zu: field %zu is not a number\n",
			    x->path, lineno, i + 1);
			return -EINVAL;
		}
		switch (c->role) {
		case COL_SAMPLE:
			sample = v;
			break;
		case COL_TRAININGS:
			trainings = v;
			break;
		case COL_FEATURE:
			s.v[c->index] = (float)v;
			break;
		case COL_EVENTS:
			events[c->index] = v;
			break;
		default:
			break;
		}
	}
	/* the agent's clocks: realtime from the row's time, and (the only
	 * differences it ever takes) monotonic the same */
	if (parse_time_ns(t, &s.real_ns) < 0 ||
	    (x->has_sample && !(sample >= 1.0 && sample < 1e15))) {
		fprintf(stderr, "%s:%zu: no valid time or sample number\n",
		    x->path, lineno);
		return -EINVAL;
	}
	s.mono_ns = s.real_ns;
	s.read_ns = 0;
	if (x->have_prev && s.real_ns <= x->prev.real_ns) {
		fprintf(stderr,
		    "%s:%zu: time %s does not follow the row "
		    "before\n",
		    x->path, lineno, t);
		return -EINVAL;
	}
	for (unsigned i = 0; x->labels_recorded && i < FM_LABEL_COUNT; i++) {
		if (x->have_prev && events[i] > x->prev_events[i])
			onsets |= FM_LABEL_BIT(i);
		x->prev_events[i] = events[i];
	}
	number = x->has_sample ? (uint64_t)sample : x->rows + 1;
	fill_gap(x, number, &s);
	hold_before(x, trainings);
	feed(x, &s, onsets);
	x->rows++;
	hold_after(x);
	row_write(x, t, number);
	x->prev = s;
	x->prev_sample = number;
	x->prev_trainings = trainings;
	x->have_prev = true;
	return 0;
}

/* The agent's configuration, as the daemon reads it; the replay keeps
 * nothing on disk and runs no health command. */
static int
config_read(rec *x)
{
	char err[FM_INI_ERROR_BYTES] = "";
	int r = 0;

	fm_agent_config_init(&x->cfg);
	if (x->a->config) {
		r = fm_agent_config_load(&x->cfg, x->a->config, err);
		if (r == 0)
			r = fm_agent_config_check(&x->cfg, err);
	}
	if (r < 0) {
		fprintf(stderr, "fedmon-replay: %s: %s\n", x->a->config,
		    err[0] ? err : strerror(-r));
		return r;
	}
	if (!x->cfg.learn_enabled) {
		fprintf(stderr,
		    "fedmon-replay: %s: [learn] enabled = no: there is no "
		    "learner to replay\n",
		    x->a->config);
		return -EINVAL;
	}
	return 0;
}

/* Makes the minute ring, the labels and the learner as the daemon does. */
static int
parts_new(rec *x)
{
	fm_model_learner_config lc;
	fm_model_labels_config bc;
	uint32_t minutes;
	int r;

	fm_agent_config_learner(&x->cfg, &lc);
	lc.state_dir[0] = '\0';
	lc.synchronous = true;
	minutes = x->cfg.history_minutes;
	if (minutes < fm_model_learner_minutes(&lc))
		minutes = fm_model_learner_minutes(&lc);
	r = fm_model_history_new(minutes, &x->history);
	if (r == 0) {
		fm_agent_config_labels(&x->cfg, &bc);
		bc.health_command = NULL;
		r = fm_model_labels_new(&bc, &x->labels);
	}
	if (r == 0)
		r = fm_model_learner_new(&lc, x->history, &x->learner);
	if (r < 0) {
		fprintf(stderr, "fedmon-replay: cannot make the learner: %s\n",
		    strerror(-r));
		return r;
	}
	x->interval_ns = (int64_t)x->cfg.interval_ms * FM_NSEC_PER_MSEC;
	x->fill_max = FILL_MAX;
	x->hold_max = (uint32_t)((uint64_t)x->cfg.learn_retrain_seconds *
	    1000u / x->cfg.interval_ms);
	return 0;
}

/* The lines of buf, the header first; every error is printed. */
static int
lines_read(rec *x, char *buf, size_t len)
{
	char **f;
	size_t lineno = 0, n;
	bool header = true;
	int r = 0;

	f = malloc((MAX_FIELDS + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (char *p = buf, *next; r == 0 && p < buf + len; p = next) {
		char *nl = memchr(p, '\n', (size_t)(buf + len - p));
		size_t l;

		next = nl ? nl + 1 : buf + len;
		if (nl)
			*nl = '\0';
		else
			buf[len] = '\0'; /* fm_file_read_all() leaves room */
		lineno++;
		l = strlen(p);
		if (l > 0 && p[l - 1] == '\r')
			p[--l] = '\0';
		if (l == 0)
			continue;
		if (split_fields(p, f, MAX_FIELDS, &n) < 0) {
			fprintf(stderr, "%s:%zu: unterminated quote\n", x->path,
			    lineno);
			r = -EINVAL;
		} else if (n > MAX_FIELDS) {
			fprintf(stderr, "%s:%zu: more than %u fields\n",
			    x->path, lineno, MAX_FIELDS);
			r = -E2BIG;
		} else if (header) {
			r = header_read(x, f, n);
			header = false;
			if (r == 0)
				header_write(x->out);
		} else {
			r = row_read(x, f, n, lineno);
		}
	}
	if (r == 0 && header) {
		fprintf(
		    stderr, "%s:1: no header (the file is empty)\n", x->path);
		r = -ENODATA;
	}
	free(f);
	return r;
}

static void
summary(const rec *x)
{
	fm_model_learner_status st;

	fm_model_learner_status_get(x->learner, &st);
	fprintf(stderr,
	    "fedmon-replay: %llu rows (%llu missed samples filled in), %u "
	    "trainings, %llu alarms; labels %s",
	    (unsigned long long)x->rows, (unsigned long long)x->filled,
	    st.trainings, (unsigned long long)st.alarms,
	    x->labels_recorded ? "as recorded" : "from the features");
	if (x->a->adopt == REPLAY_ADOPT_RECORDED && x->has_trainings)
		fprintf(stderr,
		    "; %llu models adopted at the recorded row, %llu not",
		    (unsigned long long)x->adopted_with_recording,
		    (unsigned long long)x->released_unmatched);
	fprintf(stderr, "\n");
	if (x->gaps_left || x->restarts)
		fprintf(stderr,
		    "fedmon-replay: warning: %llu gaps over %u samples and "
		    "%llu agent restarts in the recording: the replay "
		    "differs from there on\n",
		    (unsigned long long)x->gaps_left, FILL_MAX,
		    (unsigned long long)x->restarts);
}

int
fm_replay_agent(const replay_agent_args *a)
{
	rec x = { .a = a, .path = a->file, .out = stdout };
	uint8_t *buf = NULL;
	size_t len;
	int r, status = EXIT_USAGE;

	if (config_read(&x) < 0)
		return EXIT_USAGE;
	r = fm_file_read_all(a->file, FM_REPLAY_CSV_MAX_BYTES, &buf, &len);
	if (r < 0) {
		fprintf(
		    stderr, "%s:0: cannot read: %s\n", a->file, strerror(-r));
		return EXIT_USAGE;
	}
	if (parts_new(&x) < 0) {
		status = EXIT_FAILURE;
		goto out;
	}
	if (a->out) {
		x.out = fopen(a->out, "we");
		if (!x.out) {
			fprintf(stderr,
			    "fedmon-replay: cannot create '%s': %s\n", a->out,
			    strerror(errno));
			status = EXIT_FAILURE;
			goto out;
		}
	}
	r = lines_read(&x, (char *)buf, len);
	if (r == -ENOMEM)
		status = EXIT_FAILURE;
	if (r < 0)
		goto out;
	summary(&x);
	status = EXIT_SUCCESS;
out:
	if (x.out && x.out != stdout)
		r = fm_replay_out_close(x.out, a->out, 0);
	else
		r = fflush(stdout) != 0 || ferror(stdout) ? -EIO : 0;
	if (r < 0 && status == EXIT_SUCCESS) {
		fprintf(stderr, "fedmon-replay: cannot write the rows\n");
		status = EXIT_FAILURE;
	}
	fm_model_learner_free(x.learner);
	fm_model_labels_free(x.labels);
	fm_model_history_free(x.history);
	free(x.cols);
	free(buf);
	return status;
}
