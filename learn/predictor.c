/*
 * The failure predictor: logistic regression on a causal window of
 * normalised rows, trained by Adam on seeded mini-batches with a
 * positive-class weight, then calibrated (prior correction, refined by
 * Platt scaling). Dense maths through cblas; the loops here are
 * elementwise. Every buffer a training step uses is allocated by
 * fm_learn_predictor_new(); a training call allocates its shuffle order
 * and the logits the calibration is fitted on.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "learn/learn.h"
#include "learn/learn-int.h"

#define PREDICTOR_STATE_VERSION 1u
#define ADAM_BETA1              0.9f
#define ADAM_BETA2              0.999f
#define ADAM_EPSILON            1e-8f
/* Platt's Newton iterations (Lin, Lin and Weng, 2007): a cap, the
 * gradient norm per row that stops them, the Armijo constant, the
 * smallest step of the backtracking, the ridge that keeps the Hessian
 * invertible. */
#define PLATT_MAX_ITER  100
#define PLATT_GRAD_TOL  1e-9
#define PLATT_ARMIJO    1e-4
#define PLATT_MIN_STEP  1e-10
#define PLATT_RIDGE     1e-12
#define PLATT_MAX_SLOPE 1e3

struct fm_learn_predictor {
	fm_learn_predictor_config cfg;
	size_t n_in;  /* n_inputs */
	bool trained; /* weights and calibration are meaningful */
	enum fm_learn_predictor_calibration calibration; /* in use */
	double calib_a, calib_c;
	uint64_t n_pos, n_neg;
	/* Failure onsets (runs of positive targets) in the data the weights
	 * were last fitted on here, when counted is set: they set the
	 * shrinkage toward the base rate. Weights from a fleet, or from a
	 * save made before the count, have no count and are not shrunk. */
	uint64_t events;
	bool counted;
	float *theta; /* n_in + 1: w, then b */
	/* Scratch of training steps and _loss_grad. */
	float *adam_m; /* n_in + 1 */
	float *adam_v; /* n_in + 1 */
	float *grad;   /* n_in + 1 */
	float *xb;     /* batch x n_in, sanitised rows */
	float *zb;     /* batch: logits, then residuals */
	float *yb;     /* batch: targets 0/1 */
	uint32_t *ib;  /* batch: row indices */
};

/* Section ids, relative to the caller's base. */
enum {
	SEC_KIND, /* FM_LEARN_KIND_PREDICTOR: what is saved at base */
	SEC_VERSION,
	SEC_N_FEATURES,
	SEC_WINDOW,
	SEC_N_EXTRA,
	SEC_SCHEMA_VERSION,
	SEC_FLAGS,       /* bit 0: trained */
	SEC_CALIBRATION, /* enum fm_learn_predictor_calibration in use */
	SEC_CALIB_A,
	SEC_CALIB_C,
	SEC_N_POS,
	SEC_N_NEG,
	SEC_W, /* PARAM, n_inputs */
	SEC_B, /* PARAM, 1 */
	/* Added after the first release, and written only when the onsets
	 * behind the weights were counted: a save without it (the first
	 * release's, or a fleet's weights) predicts unshrunk, as it did,
	 * until a training refits it, and is saved again byte for byte. */
	SEC_EVENTS, /* u64 */
	SEC_COUNT
};
_Static_assert(SEC_COUNT <= FM_LEARN_PREDICTOR_SECTIONS, "too many sections");

/* ---- configuration ------------------------------------------------------ */

void
fm_learn_predictor_config_default(fm_learn_predictor_config *ret)
{
	*ret = (fm_learn_predictor_config) {
		.n_features = 0,
		.window = 10,
		.n_extra = 1,
		.schema_version = 0,
		.l2 = 1e-4f,
		.lr = 0.01f,
		.epochs = 10,
		.batch = 64,
		.seed = 1,
		.max_pos_weight = 100.0f,
		.prior_events = FM_LEARN_PREDICTOR_PRIOR_EVENTS,
		.calibration = FM_LEARN_PREDICTOR_CALIB_PLATT,
	};
}

bool
fm_learn_predictor_config_is_valid(const fm_learn_predictor_config *cfg)
{
	/* written so that NaNs fail every comparison */
	return cfg->n_features >= 1 &&
	    cfg->n_features <= FM_LEARN_PREDICTOR_MAX_FEATURES &&
	    cfg->window >= 1 && cfg->window <= FM_LEARN_PREDICTOR_MAX_WINDOW &&
	    cfg->n_extra <= FM_LEARN_PREDICTOR_MAX_EXTRA && cfg->l2 >= 0.0f &&
	    cfg->l2 <= 1.0f && cfg->lr > 0.0f && cfg->lr <= 1.0f &&
	    cfg->epochs >= 1 && cfg->epochs <= FM_LEARN_PREDICTOR_MAX_EPOCHS &&
	    cfg->batch >= 1 && cfg->batch <= FM_LEARN_PREDICTOR_MAX_BATCH &&
	    cfg->max_pos_weight >= 1.0f && cfg->max_pos_weight <= 1e6f &&
	    cfg->prior_events >= 0.0f && cfg->prior_events <= 1e6f &&
	    (cfg->calibration == FM_LEARN_PREDICTOR_CALIB_PRIOR ||
	        cfg->calibration == FM_LEARN_PREDICTOR_CALIB_PLATT);
}

size_t
fm_learn_predictor_n_inputs(const fm_learn_predictor_config *cfg)
{
	return 3 * (size_t)cfg->n_features + cfg->n_extra;
}

/* ---- inputs and targets ------------------------------------------------- */

/* v as a model input: non-finite (masked) is 0, the rest clipped. */
static float
sanitise(float v)
{
	if (isnan(v))
		return 0.0f;
	if (v > FM_LEARN_PREDICTOR_INPUT_MAX)
		return isinf(v) ? 0.0f : FM_LEARN_PREDICTOR_INPUT_MAX;
	if (v < -FM_LEARN_PREDICTOR_INPUT_MAX)
		return isinf(v) ? 0.0f : -FM_LEARN_PREDICTOR_INPUT_MAX;
	return v;
}

static bool
is_clean(float v)
{
	return v >= -FM_LEARN_PREDICTOR_INPUT_MAX &&
	    v <= FM_LEARN_PREDICTOR_INPUT_MAX;
}

int
fm_learn_predictor_features(const fm_learn_predictor_config *cfg,
    const float *rows, size_t n_rows, size_t t, const float *extra,
    float *ret_x)
{
	size_t d, s;

	if (!fm_learn_predictor_config_is_valid(cfg) || !rows || t >= n_rows)
		return -EINVAL;
	d = cfg->n_features;
	s = t + 1 >= cfg->window ? t + 1 - cfg->window : 0;
	for (size_t j = 0; j < d; j++) {
		float zt = rows[t * d + j], zs = rows[s * d + j];
		double sum = 0.0;
		size_t k = 0;

		for (size_t i = s; i <= t; i++) {
			float v = rows[i * d + j];

			if (isfinite(v)) {
				sum += sanitise(v);
				k++;
			}
		}
		ret_x[j] = sanitise(zt);
		ret_x[d + j] = k > 0 ? (float)(sum / (double)k) : 0.0f;
		ret_x[2 * d + j] = isfinite(zt) && isfinite(zs)
		    ? sanitise(sanitise(zt) - sanitise(zs))
		    : 0.0f;
	}
	for (size_t j = 0; j < cfg->n_extra; j++)
		ret_x[3 * d + j] = extra ? sanitise(extra[j]) : 0.0f;
	return 0;
}

int
fm_learn_predictor_labels(
    const uint8_t *events, size_t n, uint32_t horizon, uint8_t *ret_y)
{
	size_t next = SIZE_MAX; /* the first onset after t */

	if (horizon == 0 || horizon > FM_LEARN_PREDICTOR_MAX_HORIZON)
		return -EINVAL;
	if (n > FM_LEARN_PREDICTOR_MAX_ROWS)
		return -EMSGSIZE;
	if (n > 0 && (!events || !ret_y))
		return -EINVAL;
	/* Backwards, reading events[t] and events[t - 1] before writing
	 * ret_y[t], so ret_y may be events. */
	for (size_t t = n; t-- > 0;) {
		bool during = events[t] != 0;
		bool onset = during && (t == 0 || events[t - 1] == 0);

		if (next != SIZE_MAX && next - t <= horizon)
			ret_y[t] = 1;
		else if (during || t + horizon >= n)
			ret_y[t] = FM_LEARN_PREDICTOR_LABEL_SKIP;
		else
			ret_y[t] = 0;
		if (onset)
			next = t;
	}
	return 0;
}

/* ---- lifecycle ---------------------------------------------------------- */

int
fm_learn_predictor_new(
    const fm_learn_predictor_config *cfg, fm_learn_predictor **ret)
{
	fm_learn_predictor *p;
	size_t n_in, np, b;

	if (!fm_learn_predictor_config_is_valid(cfg))
		return -EINVAL;
	n_in = fm_learn_predictor_n_inputs(cfg);
	np = n_in + 1;
	b = cfg->batch;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->cfg = *cfg;
	p->n_in = n_in;
	/* one block: theta, m, v, grad, xb, zb, yb */
	p->theta = calloc(4 * np + b * n_in + 2 * b, sizeof(float));
	if (!p->theta)
		goto out_free;
	p->adam_m = p->theta + np;
	p->adam_v = p->adam_m + np;
	p->grad = p->adam_v + np;
	p->xb = p->grad + np;
	p->zb = p->xb + b * n_in;
	p->yb = p->zb + b;
	p->ib = calloc(b, sizeof(*p->ib));
	if (!p->ib)
		goto out_free;
	fm_learn_predictor_reset(p);
	*ret = p;
	return 0;
out_free:
	fm_learn_predictor_free(p);
	return -ENOMEM;
}

fm_learn_predictor *
fm_learn_predictor_free(fm_learn_predictor *p)
{
	if (!p)
		return NULL;
	free(p->theta);
	free(p->ib);
	free(p);
	return NULL;
}

void
fm_learn_predictor_reset(fm_learn_predictor *p)
{
	memset(p->theta, 0, (p->n_in + 1) * sizeof(*p->theta));
	p->trained = false;
	p->calibration = FM_LEARN_PREDICTOR_CALIB_PRIOR;
	p->calib_a = 1.0;
	p->calib_c = 0.0;
	p->n_pos = p->n_neg = 0;
	p->events = 0;
	p->counted = false;
}

/* ---- numerics ----------------------------------------------------------- */

static double
sigmoid(double z)
{
	double e;

	if (z >= 0.0)
		return 1.0 / (1.0 + exp(-z));
	e = exp(z);
	return e / (1.0 + e);
}

/* log(1 + e^z) without overflow. */
static double
softplus(double z)
{
	return (z > 0.0 ? z : 0.0) + log1p(exp(-fabs(z)));
}

/* The weight of positives for n_pos positives and n_neg negatives. */
static double
pos_weight_of(const fm_learn_predictor *p, size_t n_pos, size_t n_neg)
{
	double pw;

	if (n_pos == 0)
		return 1.0;
	pw = (double)n_neg / (double)n_pos;
	if (pw < 1.0)
		return 1.0;
	return pw < p->cfg.max_pos_weight ? pw : p->cfg.max_pos_weight;
}

/* Validates targets y[n] and counts them. */
static int
count_targets(const float *X, const uint8_t *y, size_t n, size_t *ret_pos,
    size_t *ret_neg)
{
	size_t pos = 0, neg = 0;

	if (n > FM_LEARN_PREDICTOR_MAX_ROWS)
		return -EMSGSIZE;
	if (n > 0 && (!X || !y))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (y[i] == 1)
			pos++;
		else if (y[i] == 0)
			neg++;
		else if (y[i] != FM_LEARN_PREDICTOR_LABEL_SKIP)
			return -EINVAL;
	}
	*ret_pos = pos;
	*ret_neg = neg;
	return 0;
}

/* The failure onsets behind targets y[n]: runs of positive targets (the
 * rows before one onset, or before several within a horizon of each
 * other: those are not independent evidence either). */
static uint64_t
count_events(const uint8_t *y, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += y[i] == 1 && (i == 0 || y[i - 1] != 1);
	return k;
}

/* Copies the k rows of X listed in p->ib into p->xb, sanitised, and their
 * targets into p->yb. */
static void
gather(fm_learn_predictor *p, const float *X, const uint8_t *y, size_t k)
{
	size_t n_in = p->n_in;

	for (size_t r = 0; r < k; r++) {
		const float *src = X + (size_t)p->ib[r] * n_in;
		float *dst = p->xb + r * n_in;

		for (size_t j = 0; j < n_in; j++)
			dst[j] = sanitise(src[j]);
		p->yb[r] = y[p->ib[r]] == 1 ? 1.0f : 0.0f;
	}
}

/* p->zb[0, k) = p->xb w + b: the unweighted-scale logits of a batch. */
static void
forward(fm_learn_predictor *p, size_t k)
{
	float b = p->theta[p->n_in];

	cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)k, (int)p->n_in, 1.0f,
	    p->xb, (int)p->n_in, p->theta, 1, 0.0f, p->zb, 1);
	for (size_t r = 0; r < k; r++)
		p->zb[r] += b;
}

/*
 * For the batch in p->xb/zb/yb: returns sum_r c_r l_r (in double) and,
 * when scale > 0, adds scale * sum_r c_r dl/dz_r x_r to p->grad (the w
 * part by the transposed product, then the bias), where l is the log loss
 * of z + log pw and dl/dz = sigmoid(z + log pw) - y. Overwrites p->zb with
 * the residuals.
 */
static double
backward(fm_learn_predictor *p, size_t k, double pw, double scale)
{
	double log_pw = log(pw), loss = 0.0, gb = 0.0;

	for (size_t r = 0; r < k; r++) {
		double z = (double)p->zb[r] + log_pw, yr = p->yb[r];
		double c = yr > 0.5 ? pw : 1.0;

		loss += c * (softplus(z) - yr * z);
		p->zb[r] = (float)(scale * c * (sigmoid(z) - yr));
		gb += p->zb[r];
	}
	if (scale > 0.0) {
		cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)p->n_in,
		    1.0f, p->xb, (int)p->n_in, p->zb, 1, 1.0f, p->grad, 1);
		p->grad[p->n_in] += (float)gb;
	}
	return loss;
}

/* Adds the L2 term to p->grad; returns (l2/2) |w|^2. */
static double
penalty(fm_learn_predictor *p)
{
	float l2 = p->cfg.l2;
	int n = (int)p->n_in;

	cblas_saxpy(n, l2, p->theta, 1, p->grad, 1);
	return 0.5 * l2 * cblas_sdot(n, p->theta, 1, p->theta, 1);
}

/*
 * One pass over the used rows of X in order, batch by batch: the mean
 * weighted loss plus penalty, and, when with_grad, its gradient in
 * p->grad; the logits (unweighted scale) into logits[N] when not NULL.
 */
static double
full_pass(fm_learn_predictor *p, const float *X, const uint8_t *y, size_t n,
    size_t n_used, double pw, bool with_grad, float *logits)
{
	size_t k = 0, out = 0;
	double loss = 0.0, scale;

	memset(p->grad, 0, (p->n_in + 1) * sizeof(*p->grad));
	if (n_used == 0)
		return penalty(p);
	scale = with_grad ? 1.0 / (double)n_used : 0.0;
	for (size_t i = 0; i < n; i++) {
		if (y[i] != FM_LEARN_PREDICTOR_LABEL_SKIP)
			p->ib[k++] = (uint32_t)i;
		if (k < p->cfg.batch && !(i + 1 == n && k > 0))
			continue;
		gather(p, X, y, k);
		forward(p, k);
		if (logits) {
			memcpy(logits + out, p->zb, k * sizeof(*logits));
			out += k;
		}
		loss += backward(p, k, pw, scale);
		k = 0;
	}
	return loss / (double)n_used + penalty(p);
}

/* ---- calibration -------------------------------------------------------- */

/* Platt's objective at (a, c) over logits z[n] with smoothed targets. */
static double
platt_objective(const float *z, const uint8_t *y, size_t n, double t_pos,
    double t_neg, double a, double c)
{
	double f = 0.0;

	for (size_t i = 0, k = 0; i < n; i++) {
		double u, t;

		if (y[i] == FM_LEARN_PREDICTOR_LABEL_SKIP)
			continue;
		u = a * z[k++] + c;
		t = y[i] == 1 ? t_pos : t_neg;
		f += softplus(u) - t * u;
	}
	return f;
}

/*
 * Fits sigmoid(a z + c) to the targets of the used rows (logits z[n_used]
 * in row order) by Newton's method with backtracking, from (1, 0), on the
 * log loss with Platt's targets (n_pos + 1)/(n_pos + 2) and
 * 1/(n_neg + 2), which keep (a, c) finite when the training logits
 * separate the classes. Returns 0 with (a, c), or -EDOM when the fit does
 * not give a finite slope in (0, PLATT_MAX_SLOPE].
 */
static int
platt_fit(const float *z, const uint8_t *y, size_t n, size_t n_pos,
    size_t n_neg, double *ret_a, double *ret_c)
{
	double t_pos = ((double)n_pos + 1.0) / ((double)n_pos + 2.0);
	double t_neg = 1.0 / ((double)n_neg + 2.0);
	double a = 1.0, c = 0.0, f;
	size_t n_used = n_pos + n_neg;

	f = platt_objective(z, y, n, t_pos, t_neg, a, c);
	for (int it = 0; it < PLATT_MAX_ITER; it++) {
		double ga = 0.0, gc = 0.0, haa = PLATT_RIDGE, hac = 0.0;
		double hcc = PLATT_RIDGE, det, da, dc, step, gd;

		for (size_t i = 0, k = 0; i < n; i++) {
			double zi, q, t, s;

			if (y[i] == FM_LEARN_PREDICTOR_LABEL_SKIP)
				continue;
			zi = z[k++];
			q = sigmoid(a * zi + c);
			t = y[i] == 1 ? t_pos : t_neg;
			s = q * (1.0 - q);
			ga += (q - t) * zi;
			gc += q - t;
			haa += s * zi * zi;
			hac += s * zi;
			hcc += s;
		}
		if (fabs(ga) + fabs(gc) < PLATT_GRAD_TOL * (double)n_used)
			break;
		det = haa * hcc - hac * hac;
		if (!(det > 0.0))
			break;
		da = -(hcc * ga - hac * gc) / det;
		dc = -(haa * gc - hac * ga) / det;
		gd = ga * da + gc * dc;
		for (step = 1.0; step >= PLATT_MIN_STEP; step /= 2.0) {
			double fn = platt_objective(z, y, n, t_pos, t_neg,
			    a + step * da, c + step * dc);

			if (fn <= f + PLATT_ARMIJO * step * gd) {
				a += step * da;
				c += step * dc;
				f = fn;
				break;
			}
		}
		if (step < PLATT_MIN_STEP)
			break; /* no progress: at the optimum within rounding */
	}
	if (!isfinite(a) || !isfinite(c) || !(a > 0.0) || a > PLATT_MAX_SLOPE)
		return -EDOM;
	*ret_a = a;
	*ret_c = c;
	return 0;
}

/* ---- training and prediction -------------------------------------------- */

int
fm_learn_predictor_train(fm_learn_predictor *p, const float *X,
    const uint8_t *y, size_t n, fm_learn_predictor_stats *ret_stats)
{
	fm_learn_predictor_stats st = { 0 };
	size_t n_pos, n_neg, n_used, batch = p->cfg.batch;
	uint32_t *order;
	float *logits;
	fmi_learn_adam adam;
	fmi_learn_rng rng;
	double a = 1.0, c = 0.0;
	int r;

	r = count_targets(X, y, n, &n_pos, &n_neg);
	if (r < 0)
		return r;
	n_used = n_pos + n_neg;
	st.n_pos = n_pos;
	st.n_neg = n_neg;
	st.n_skipped = n - n_used;
	st.pos_weight = pos_weight_of(p, n_pos, n_neg);
	st.n_events = count_events(y, n);
	if (n_pos == 0) {
		/* Nothing to discriminate: only the counts learn. */
		st.loss =
		    full_pass(p, X, y, n, n_used, st.pos_weight, false, NULL);
		p->n_neg += n_neg;
		if (ret_stats)
			*ret_stats = st;
		return 0;
	}
	order = malloc(n_used * sizeof(*order));
	logits = malloc(n_used * sizeof(*logits));
	if (!order || !logits) {
		r = -ENOMEM;
		goto out_free;
	}

	/* From here on nothing fails. */
	for (size_t i = 0, k = 0; i < n; i++) {
		if (y[i] != FM_LEARN_PREDICTOR_LABEL_SKIP)
			order[k++] = (uint32_t)i;
	}
	/* fresh moments in the predictor's own storage: no allocation */
	memset(p->adam_m, 0, (p->n_in + 1) * sizeof(*p->adam_m));
	memset(p->adam_v, 0, (p->n_in + 1) * sizeof(*p->adam_v));
	adam = (fmi_learn_adam) {
		.m = p->adam_m, .v = p->adam_v, .n = p->n_in + 1
	};
	/* the stream starts at the seed itself, as it did before this
	 * file shared learn/'s generator: the measured calibration holds */
	rng.s = p->cfg.seed;
	for (uint32_t e = 0; e < p->cfg.epochs; e++) {
		fmi_learn_rng_shuffle(&rng, order, n_used);
		for (size_t s = 0; s < n_used; s += batch) {
			size_t k = n_used - s < batch ? n_used - s : batch;

			memcpy(p->ib, order + s, k * sizeof(*p->ib));
			gather(p, X, y, k);
			forward(p, k);
			memset(p->grad, 0, (p->n_in + 1) * sizeof(*p->grad));
			(void)backward(p, k, st.pos_weight, 1.0 / (double)k);
			(void)penalty(p);
			fmi_learn_adam_step(&adam, p->theta, p->grad, p->cfg.lr,
			    ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON);
		}
	}
	st.epochs = p->cfg.epochs;
	st.loss = full_pass(p, X, y, n, n_used, st.pos_weight, false, logits);
	if (p->cfg.calibration == FM_LEARN_PREDICTOR_CALIB_PLATT &&
	    platt_fit(logits, y, n, n_pos, n_neg, &a, &c) == 0) {
		p->calibration = FM_LEARN_PREDICTOR_CALIB_PLATT;
	} else {
		p->calibration = FM_LEARN_PREDICTOR_CALIB_PRIOR;
		a = 1.0;
		c = 0.0;
	}
	p->calib_a = a;
	p->calib_c = c;
	p->trained = true;
	p->counted = true;
	p->events = count_events(y, n);
	st.n_events = p->events;
	p->n_pos += n_pos;
	p->n_neg += n_neg;
	if (ret_stats)
		*ret_stats = st;
	r = 0;
out_free:
	free(order);
	free(logits);
	return r;
}

int
fm_learn_predictor_loss_grad(fm_learn_predictor *p, const float *X,
    const uint8_t *y, size_t n, double *ret_loss, float *ret_grad)
{
	size_t n_pos, n_neg;
	double loss;
	int r;

	r = count_targets(X, y, n, &n_pos, &n_neg);
	if (r < 0)
		return r;
	loss = full_pass(p, X, y, n, n_pos + n_neg,
	    pos_weight_of(p, n_pos, n_neg), true, NULL);
	*ret_loss = loss;
	memcpy(ret_grad, p->grad, (p->n_in + 1) * sizeof(*ret_grad));
	return 0;
}

static double
base_rate(const fm_learn_predictor *p)
{
	uint64_t n = p->n_pos + p->n_neg;

	return n > 0 ? (double)p->n_pos / (double)n : 0.0;
}

/* The weight of the fitted model against the base rate: E / (E + E0)
 * for E counted onsets behind local weights, 1 for uncounted ones. */
static double
trust_of(const fm_learn_predictor *p)
{
	double e = (double)p->events, e0 = p->cfg.prior_events;

	if (!p->counted)
		return 1.0;
	if (e + e0 <= 0.0)
		return 1.0;
	return e / (e + e0);
}

double
fm_learn_predictor_predict(const fm_learn_predictor *p, const float *x)
{
	const float *w = p->theta;
	double z = 0.0, lambda;
	bool clean = true;

	if (!p->trained)
		return base_rate(p);
	for (size_t j = 0; j < p->n_in; j++)
		clean = clean && is_clean(x[j]);
	if (clean) {
		z = cblas_sdot((int)p->n_in, x, 1, w, 1);
	} else {
		/* rare: masked or out-of-range inputs, as in training */
		for (size_t j = 0; j < p->n_in; j++)
			z += (double)sanitise(x[j]) * w[j];
	}
	z += w[p->n_in];
	lambda = trust_of(p);
	return lambda * sigmoid(p->calib_a * z + p->calib_c) +
	    (1.0 - lambda) * base_rate(p);
}

void
fm_learn_predictor_status_get(
    const fm_learn_predictor *p, fm_learn_predictor_status *ret)
{
	*ret = (fm_learn_predictor_status) {
		.trained = p->trained,
		.calibration = p->calibration,
		.calib_a = p->calib_a,
		.calib_c = p->calib_c,
		.n_pos = p->n_pos,
		.n_neg = p->n_neg,
		.base_rate = base_rate(p),
		.events = p->events,
		.shrunk = p->trained && p->counted,
		.trust = p->trained ? trust_of(p) : 0.0,
	};
}

/* ---- parameters --------------------------------------------------------- */

static void
blocks_of(fm_learn_predictor *p,
    fm_learn_param_block blocks[FM_LEARN_PREDICTOR_PARAM_BLOCKS])
{
	blocks[0] = (fm_learn_param_block) { .v = p->theta, .n = p->n_in };
	blocks[1] = (fm_learn_param_block) { .v = p->theta + p->n_in, .n = 1 };
}

int
fm_learn_predictor_params(
    fm_learn_predictor *p, fm_learn_param_block *blocks, size_t cap)
{
	if (cap < FM_LEARN_PREDICTOR_PARAM_BLOCKS)
		return -ENOBUFS;
	blocks_of(p, blocks);
	return FM_LEARN_PREDICTOR_PARAM_BLOCKS;
}

/* Imported weights are trained and calibrated by the prior correction
 * alone, until a training with a positive refits the calibration. */
static void
take_imported(fm_learn_predictor *p)
{
	p->trained = true;
	p->counted = false;
	p->events = 0;
	p->calibration = FM_LEARN_PREDICTOR_CALIB_PRIOR;
	p->calib_a = 1.0;
	p->calib_c = 0.0;
}

static uint32_t
layout_id_of(const fm_learn_predictor_config *cfg)
{
	const uint32_t dims[] = { cfg->n_features, cfg->window, cfg->n_extra };

	return fm_learn_layout_id_compute(FM_LEARN_KIND_PREDICTOR,
	    cfg->schema_version, dims, FM_ELEMENTSOF(dims));
}

uint32_t
fm_learn_predictor_layout_id(const fm_learn_predictor *p)
{
	return layout_id_of(&p->cfg);
}

int
fm_learn_predictor_params_import(
    fm_learn_predictor *p, uint32_t src_layout_id, const float *src, size_t n)
{
	fm_learn_param_block blocks[FM_LEARN_PREDICTOR_PARAM_BLOCKS];
	int r;

	if (src_layout_id == fm_learn_predictor_layout_id(p) &&
	    n == p->n_in + 1) {
		for (size_t i = 0; i < n; i++) {
			if (fabsf(src[i]) > FM_LEARN_PREDICTOR_PARAM_MAX)
				return -EDOM;
		}
	}
	blocks_of(p, blocks);
	r = fm_learn_params_import(blocks, FM_ELEMENTSOF(blocks),
	    fm_learn_predictor_layout_id(p), src_layout_id, src, n);
	if (r < 0)
		return r;
	take_imported(p);
	return 0;
}

/* ---- the share in a fleet model ------------------------------------------ */

size_t
fm_learn_predictor_share_count(const fm_learn_predictor *p)
{
	return p->n_in + 2;
}

int
fm_learn_predictor_share_export(
    const fm_learn_predictor *p, double weight, float *dst, size_t n)
{
	if (n != fm_learn_predictor_share_count(p))
		return -EINVAL;
	if (!(weight >= 0.0) || !isfinite(weight) || weight > FLT_MAX)
		return -EDOM;
	if (!p->trained)
		weight = 0.0;
	for (size_t i = 0; i <= p->n_in; i++) {
		if (!(fabs(weight * p->theta[i]) <= FLT_MAX))
			return -EDOM;
	}
	for (size_t i = 0; i <= p->n_in; i++)
		dst[i] = (float)(weight * p->theta[i]);
	dst[p->n_in + 1] = (float)weight;
	return 0;
}

int
fmi_learn_predictor_share_check(
    const fm_learn_predictor *p, const float *src, size_t n)
{
	double weight;

	if (n != fm_learn_predictor_share_count(p))
		return -EINVAL;
	weight = src[p->n_in + 1];
	if (!isfinite(weight) || weight < 0.0)
		return -EDOM;
	for (size_t i = 0; i <= p->n_in; i++) {
		if (!isfinite(src[i]))
			return -EDOM;
	}
	if (weight < FM_LEARN_PREDICTOR_SHARE_MIN_WEIGHT)
		return -ENODATA;
	for (size_t i = 0; i <= p->n_in; i++) {
		if (!(fabs((double)src[i] / weight) <=
			FM_LEARN_PREDICTOR_PARAM_MAX))
			return -EDOM;
	}
	return 0;
}

int
fm_learn_predictor_share_import(
    fm_learn_predictor *p, const float *src, size_t n)
{
	int r = fmi_learn_predictor_share_check(p, src, n);

	if (r < 0)
		return r;
	for (size_t i = 0; i <= p->n_in; i++)
		p->theta[i] = (float)((double)src[i] / src[p->n_in + 1]);
	take_imported(p);
	return 0;
}

/* ---- persistence -------------------------------------------------------- */

int
fm_learn_predictor_save(
    const fm_learn_predictor *p, uint32_t base, fm_learn_model_writer *w)
{
	const uint32_t u32s[][2] = {
		{ SEC_KIND, FM_LEARN_KIND_PREDICTOR },
		{ SEC_VERSION, PREDICTOR_STATE_VERSION },
		{ SEC_N_FEATURES, p->cfg.n_features },
		{ SEC_WINDOW, p->cfg.window },
		{ SEC_N_EXTRA, p->cfg.n_extra },
		{ SEC_SCHEMA_VERSION, p->cfg.schema_version },
		{ SEC_FLAGS, p->trained ? 1u : 0u },
		{ SEC_CALIBRATION, (uint32_t)p->calibration },
	};
	int r = 0;

	if (base > UINT32_MAX - (FM_LEARN_PREDICTOR_SECTIONS - 1))
		return -EINVAL;
	for (size_t i = 0; r == 0 && i < FM_ELEMENTSOF(u32s); i++)
		r = fm_learn_model_writer_put_u32(
		    w, base + u32s[i][0], u32s[i][1]);
	if (r == 0)
		r = fm_learn_model_writer_put_f64(
		    w, base + SEC_CALIB_A, p->calib_a);
	if (r == 0)
		r = fm_learn_model_writer_put_f64(
		    w, base + SEC_CALIB_C, p->calib_c);
	if (r == 0)
		r = fm_learn_model_writer_put_u64(
		    w, base + SEC_N_POS, p->n_pos);
	if (r == 0)
		r = fm_learn_model_writer_put_u64(
		    w, base + SEC_N_NEG, p->n_neg);
	if (r == 0)
		r = fm_learn_model_writer_put_f32(
		    w, base + SEC_W, FM_LEARN_SECTION_PARAM, p->theta, p->n_in);
	if (r == 0)
		r = fm_learn_model_writer_put_f32(w, base + SEC_B,
		    FM_LEARN_SECTION_PARAM, p->theta + p->n_in, 1);
	if (r == 0 && p->counted)
		r = fm_learn_model_writer_put_u64(
		    w, base + SEC_EVENTS, p->events);
	return r;
}

/* Reads a u32 that must be present: any failure is a malformed save. */
static int
get_u32(const fm_learn_model_reader *r, uint32_t id, uint32_t *ret)
{
	return fm_learn_model_reader_get_u32(r, id, ret) < 0 ? -EBADMSG : 0;
}

/* Reads the PARAM f32 section id of exactly n values into dst (finite:
 * the decoder checked every PARAM section). */
static int
get_param(const fm_learn_model_reader *r, uint32_t id, float *dst, size_t n)
{
	fm_learn_section_info si;

	if (fm_learn_model_reader_find(r, id, &si) < 0 ||
	    si.type != FM_LEARN_SECTION_F32 ||
	    si.flags != FM_LEARN_SECTION_PARAM || si.count != n ||
	    fm_learn_model_reader_get_f32(r, id, dst, n) < 0)
		return -EBADMSG;
	return 0;
}

int
fm_learn_predictor_load(const fm_learn_model_reader *r, uint32_t base,
    const fm_learn_predictor_config *cfg, fm_learn_predictor **ret)
{
	fm_learn_predictor *p = NULL;
	uint32_t kind, version, d, win, extra, schema, flags, calib;
	double a, c;
	uint64_t n_pos, n_neg, events = 0;
	bool counted;
	int e;

	if (base > UINT32_MAX - (FM_LEARN_PREDICTOR_SECTIONS - 1) || !cfg ||
	    !fm_learn_predictor_config_is_valid(cfg))
		return -EINVAL;
	e = fm_learn_model_reader_get_u32(r, base + SEC_KIND, &kind);
	if (e == -ENOENT)
		return -ENOENT;
	if (e < 0 || kind != FM_LEARN_KIND_PREDICTOR)
		return -ESTALE; /* another model's section at base */
	if (get_u32(r, base + SEC_VERSION, &version) < 0)
		return -EBADMSG;
	if (version != PREDICTOR_STATE_VERSION)
		return -EPROTONOSUPPORT;
	if (get_u32(r, base + SEC_N_FEATURES, &d) < 0 ||
	    get_u32(r, base + SEC_WINDOW, &win) < 0 ||
	    get_u32(r, base + SEC_N_EXTRA, &extra) < 0 ||
	    get_u32(r, base + SEC_SCHEMA_VERSION, &schema) < 0 ||
	    get_u32(r, base + SEC_FLAGS, &flags) < 0 ||
	    get_u32(r, base + SEC_CALIBRATION, &calib) < 0 ||
	    fm_learn_model_reader_get_f64(r, base + SEC_CALIB_A, &a) < 0 ||
	    fm_learn_model_reader_get_f64(r, base + SEC_CALIB_C, &c) < 0 ||
	    fm_learn_model_reader_get_u64(r, base + SEC_N_POS, &n_pos) < 0 ||
	    fm_learn_model_reader_get_u64(r, base + SEC_N_NEG, &n_neg) < 0)
		return -EBADMSG;
	if (d != cfg->n_features || win != cfg->window ||
	    extra != cfg->n_extra || schema != cfg->schema_version)
		return -ESTALE;
	if ((flags & ~1u) != 0 || calib > FM_LEARN_PREDICTOR_CALIB_PLATT ||
	    n_pos > UINT64_MAX - n_neg)
		return -EBADMSG;
	if (!isfinite(a) || !isfinite(c) || !(a > 0.0))
		return -EDOM;
	/* optional: absent in the first release's saves and for weights
	 * whose onsets were not counted */
	e = fm_learn_model_reader_get_u64(r, base + SEC_EVENTS, &events);
	if (e < 0 && e != -ENOENT)
		return -EBADMSG;
	counted = e == 0;

	e = fm_learn_predictor_new(cfg, &p);
	if (e < 0)
		return e;
	e = get_param(r, base + SEC_W, p->theta, p->n_in);
	if (e == 0)
		e = get_param(r, base + SEC_B, p->theta + p->n_in, 1);
	if (e < 0) {
		fm_learn_predictor_free(p);
		return e;
	}
	p->trained = flags & 1u;
	p->calibration = (enum fm_learn_predictor_calibration)calib;
	p->calib_a = a;
	p->calib_c = c;
	p->n_pos = n_pos;
	p->n_neg = n_neg;
	p->events = events;
	p->counted = counted;
	*ret = p;
	return 0;
}
