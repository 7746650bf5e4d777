/*
 * bench-agg: the aggregator's cost for rounds of 1,000 agents with a
 * 50,000-parameter model (issue 4, point 10: one round in <= 2 s of CPU
 * and <= 64 MB peak RSS).
 *
 * The parent makes the agents' identities and enrolls them, then runs
 * REPEATS times: it starts a fresh child (this program, re-executed, so
 * the child's memory is the aggregator's alone) that serves the real
 * aggregator core (fm_agg_serve) on an ipc:// REP socket with a state
 * directory, and plays every agent in turn over one REQ socket: a sealed
 * HELLO (the reply carries the global model when the agent lacks it) and
 * a sealed UPDATE made on the fly (the model plus a random delta; nothing
 * per agent is held). Round 1 starts with no global model; round 2, the
 * steady state, starts from round 1's. The child measures its own CPU
 * time (CLOCK_PROCESS_CPUTIME_ID, every thread: NNG's included) from
 * each round's opening to its publication, and its peak RSS (VmHWM).
 *
 * Usage: bench-agg [REPEATS [AGENTS [PARAMS]]]   (default 5 1000 50000)
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aggregator/aggregator.h"
#include "fed/fed.h"

#define ROUNDS 2

static int64_t
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * FM_NSEC_PER_SEC + ts.tv_nsec;
}

/* A field of /proc/self/status in kB, or -1. */
static long
status_kb(const char *field)
{
	char line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':')
			v = strtol(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static void
die(int r, const char *what)
{
	fprintf(stderr, "bench-agg: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

/* ---- the child: the aggregator ------------------------------------------ */

struct child {
	int64_t opened_ns[ROUNDS + 1];
	int64_t cpu_ns[ROUNDS + 1];
};

static void
on_event(void *userdata, const fm_agg_event *ev)
{
	struct child *c = userdata;

	if (ev->round == 0 || ev->round > ROUNDS)
		return;
	if (ev->type == FM_AGG_EVENT_ROUND_OPENED)
		c->opened_ns[ev->round] = cpu_ns();
	if (ev->type == FM_AGG_EVENT_PUBLISHED)
		c->cpu_ns[ev->round] = cpu_ns() - c->opened_ns[ev->round];
}

static _Noreturn void
child_main(char **argv)
{
	const char *key = argv[0], *auth = argv[1], *state = argv[2],
	           *url = argv[3];
	unsigned agents = (unsigned)strtoul(argv[4], NULL, 10);
	char err[FM_INI_ERROR_BYTES];
	struct child c = { 0 };
	fm_crypto_identity *self = NULL;
	fm_crypto_keyring *kr = NULL;
	fm_agg_config cfg;
	fm_agg_status st;
	fm_net_options o;
	fm_net_sock *s = NULL;
	fm_agg *a = NULL;
	long rss0;
	int r;

	/* As fedmon-aggregator does: request-sized buffers are reused. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	if (fm_crypto_init() < 0)
		die(EIO, "libsodium");
	r = fm_crypto_identity_load(key, &self);
	if (r < 0)
		die(r, key);
	r = fm_crypto_keyring_load(auth, err, &kr);
	if (r < 0)
		die(r, err);
	fm_agg_config_init(&cfg);
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", state);
	cfg.quorum = agents;
	cfg.deadline_ms = 3600000;
	cfg.interval_ms = 0;
	cfg.max_rounds = ROUNDS;
	r = fm_agg_new(&cfg, self, kr, &a);
	if (r < 0)
		die(r, "fm_agg_new");
	fm_agg_set_event_handler(a, on_event, &c);
	fm_net_options_init(&o);
	o.recv_max_bytes = cfg.max_message_bytes;
	r = fm_net_rep_listen(url, &o, &s);
	if (r < 0)
		die(r, url);
	rss0 = status_kb("VmRSS");
	printf("ready\n");
	fflush(stdout);
	do {
		r = fm_agg_serve(a, s, 1000);
		if (r < 0 && r != -ETIMEDOUT)
			die(r, "fm_agg_serve");
		fm_agg_status_get(a, &st);
	} while (!st.finished);
	printf("%lld %lld %ld %ld %llu\n", (long long)c.cpu_ns[1],
	    (long long)c.cpu_ns[2], status_kb("VmHWM"), rss0,
	    (unsigned long long)st.accepted);
	fflush(stdout);
	/* The last reply may still be on its way: the parent ends us once
	 * it has it. */
	for (;;)
		pause();
}

/* ---- the parent: the agents --------------------------------------------- */

struct fleet {
	unsigned n;
	uint32_t n_params;
	fm_crypto_identity *agg;
	uint64_t agg_id;
	fm_crypto_session **sess;
	uint64_t *id, *seq;
	float *params; /* the update being made */
	uint64_t rng;
};

/* xorshift64*, uniform in [-1, 1). */
static float
uniform(struct fleet *f)
{
	f->rng ^= f->rng >> 12;
	f->rng ^= f->rng << 25;
	f->rng ^= f->rng >> 27;
	return (float)((double)((f->rng * 2685821657736338717ULL) >> 11) /
	        (double)(1ULL << 52) -
	    1.0);
}

/* Sends one sealed request from agent i and opens the reply body. */
static void
exchange(struct fleet *f, fm_net_sock *s, unsigned i, uint32_t type,
    uint64_t round, const uint8_t *body, size_t len, uint8_t **ret_body,
    size_t *ret_len)
{
	fm_proto_header h = {
		.version = FM_PROTO_VERSION,
		.type = type,
		.sender = f->id[i],
		.recipient = f->agg_id,
		.round = round,
		.seq = ++f->seq[i],
		.timestamp_ms = fm_time_real_ns() / FM_NSEC_PER_MSEC,
	};
	fm_proto_envelope e;
	uint8_t *req, *reply;
	size_t req_len, reply_len;
	int r;

	r = fm_fed_seal(f->sess[i], &h, body, len, &req, &req_len);
	if (r < 0)
		die(r, "seal");
	r = fm_net_send(s, req, req_len);
	free(req);
	if (r < 0)
		die(r, "send");
	r = fm_net_recv(s, 0, &reply, &reply_len);
	if (r < 0)
		die(r, "recv");
	r = fm_proto_envelope_decode(reply, reply_len, &e);
	free(reply);
	if (r < 0)
		die(r, "decode reply");
	if (e.h.type == FM_PROTO_ERROR) {
		fprintf(stderr, "bench-agg: refused: %s\n",
		    fm_proto_reason_name(e.error));
		exit(1);
	}
	r = fm_fed_open(f->sess[i], &e, ret_body, ret_len);
	fm_proto_envelope_clear(&e);
	if (r < 0)
		die(r, "open reply");
}

static void
play_round(struct fleet *f, fm_net_sock *s, uint64_t round)
{
	float *global = NULL;
	uint64_t version = round - 1;

	for (unsigned i = 0; i < f->n; i++) {
		fm_proto_hello hello = { .schema_version = 1,
			.layout_id = 0x5eed,
			.n_params = f->n_params,
			.have_version = 0 };
		fm_proto_round m;
		fm_proto_update u = {
			.round = round,
			.base_version = version,
			.layout_id = 0x5eed,
			.kind = FM_PROTO_UPDATE_PARAMS,
			.samples = 1000 + i,
			.loss = 0.1f,
			.n_params = f->n_params,
			.params = f->params,
		};
		fm_proto_verdict v;
		uint8_t *body, *reply;
		size_t len, reply_len;
		int r;

		/* HELLO: every agent fetches the model it lacks. */
		r = fm_proto_hello_encode(&hello, &body, &len);
		if (r < 0)
			die(r, "hello");
		exchange(
		    f, s, i, FM_PROTO_HELLO, 0, body, len, &reply, &reply_len);
		free(body);
		r = fm_proto_round_decode(reply, reply_len, &m);
		free(reply);
		if (r < 0)
			die(r, "round");
		if (m.round != round || m.phase != FM_PROTO_PHASE_COLLECT ||
		    m.version != version) {
			fprintf(stderr, "bench-agg: round %llu not open\n",
			    (unsigned long long)round);
			exit(1);
		}
		if (!global && m.params) {
			global = m.params; /* kept: the base of every update */
			m.params = NULL;
		}
		fm_proto_round_clear(&m);
		/* UPDATE, made now: the model plus a small random delta. */
		for (uint32_t k = 0; k < f->n_params; k++)
			f->params[k] = (global ? global[k] : 0) +
			    (global ? 0.01f : 0.5f) * uniform(f);
		r = fm_proto_update_encode(&u, &body, &len);
		if (r < 0)
			die(r, "update");
		exchange(f, s, i, FM_PROTO_UPDATE, round, body, len, &reply,
		    &reply_len);
		free(body);
		r = fm_proto_verdict_decode(reply, reply_len, &v);
		free(reply);
		if (r < 0 || v.reason != FM_PROTO_OK) {
			fprintf(stderr, "bench-agg: update refused: %s\n",
			    fm_proto_reason_name(v.reason));
			exit(1);
		}
	}
	free(global);
}

static int
cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static int64_t
median(int64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_i64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	int repeats = argc > 1 ? atoi(argv[1]) : 5;
	unsigned agents = argc > 2 ? (unsigned)atoi(argv[2]) : 1000;
	uint32_t n_params = argc > 3 ? (uint32_t)atoi(argv[3]) : 50000;
	char dir[] = "/tmp/fm-bench-agg-XXXXXX";
	char key[64], auth[64], url[96], state[64], cmd[128], n_text[16];
	int64_t cpu1[64], cpu2[64], hwm[64], rss0[64], wall[64];
	struct fleet f = { .n = agents, .n_params = n_params, .rng = 42 };
	FILE *kf;
	int r;

	if (argc > 1 && strcmp(argv[1], "--child") == 0 && argc == 7)
		child_main(argv + 2);
	if (repeats < 1 || repeats > 64 || agents < 1 || agents > 100000 ||
	    n_params < 1 || n_params > FM_PROTO_MAX_PARAMS) {
		fprintf(stderr,
		    "Usage: bench-agg [REPEATS (1-64) [AGENTS [PARAMS]]]\n");
		return 2;
	}
	if (fm_crypto_init() < 0 || !mkdtemp(dir))
		die(EIO, "setup");
	snprintf(key, sizeof(key), "%s/agg.key", dir);
	snprintf(auth, sizeof(auth), "%s/authorized", dir);
	snprintf(url, sizeof(url), "ipc://%s/agg.sock", dir);
	snprintf(n_text, sizeof(n_text), "%u", agents);
	r = fm_crypto_identity_generate(&f.agg);
	if (r < 0 || (r = fm_crypto_identity_save(f.agg, key, false)) < 0)
		die(r, key);
	f.agg_id = fm_crypto_identity_key_id(f.agg);
	f.sess = calloc(agents, sizeof(*f.sess));
	f.id = calloc(agents, sizeof(*f.id));
	f.seq = calloc(agents, sizeof(*f.seq));
	f.params = malloc(sizeof(float) * n_params);
	kf = fopen(auth, "w");
	if (!f.sess || !f.id || !f.seq || !f.params || !kf)
		die(ENOMEM, "setup");
	for (unsigned i = 0; i < agents; i++) {
		fm_crypto_identity *id;
		char text[FM_CRYPTO_KEY_TEXT_BYTES];

		r = fm_crypto_identity_generate(&id);
		if (r < 0)
			die(r, "keygen");
		r = fm_crypto_session_new(id, FM_CRYPTO_ROLE_AGENT,
		    fm_crypto_identity_public(f.agg), &f.sess[i]);
		if (r < 0)
			die(r, "session");
		f.id[i] = fm_crypto_identity_key_id(id);
		fm_crypto_key_format(fm_crypto_identity_public(id), text);
		fprintf(kf, "%s agent-%u\n", text, i);
		fm_crypto_identity_free(id);
	}
	fclose(kf);
	printf("bench-agg: %d repeats, %u agents, %u parameters (%.1f MB a "
	       "model), %d rounds each (HELLO with the model + UPDATE per "
	       "agent), ipc, state dir on %s\n",
	    repeats, agents, n_params, n_params * 4 / 1e6, ROUNDS, dir);
	for (int k = 0; k < repeats; k++) {
		int out[2];
		pid_t pid;
		fm_net_sock *s = NULL;
		fm_net_options o;
		char line[256];
		FILE *from;
		long long c1, c2;
		long h, r0;
		unsigned long long acc;
		int64_t t0;

		snprintf(state, sizeof(state), "%s/state%d", dir, k);
		snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", state);
		if (system(cmd) != 0 || pipe(out) < 0)
			die(EIO, "mkdir");
		pid = fork();
		if (pid == 0) {
			char *args[] = { argv[0], "--child", key, auth, state,
				url, n_text, NULL };

			dup2(out[1], 1);
			close(out[0]);
			execv("/proc/self/exe", args);
			_exit(127);
		}
		close(out[1]);
		from = fdopen(out[0], "r");
		if (!fgets(line, sizeof(line), from) ||
		    strcmp(line, "ready\n") != 0)
			die(EIO, "child did not start");
		fm_net_options_init(&o);
		o.recv_max_bytes = 16u << 20;
		o.recv_timeout_ms = 60000;
		o.send_timeout_ms = 60000;
		r = fm_net_req_dial(url, &o, &s);
		if (r < 0)
			die(r, "dial");
		t0 = fm_time_mono_ns();
		for (uint64_t round = 1; round <= ROUNDS; round++)
			play_round(&f, s, round);
		wall[k] = fm_time_mono_ns() - t0;
		if (!fgets(line, sizeof(line), from) ||
		    sscanf(line, "%lld %lld %ld %ld %llu", &c1, &c2, &h, &r0,
		        &acc) != 5)
			die(EIO, "child result");
		fclose(from);
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
		fm_net_sock_free(s);
		cpu1[k] = c1;
		cpu2[k] = c2;
		hwm[k] = h;
		rss0[k] = r0;
		printf("run %d: round 1 %.3f s cpu, round 2 %.3f s cpu, peak "
		       "RSS %.1f MB (%.1f MB before the first round), %llu "
		       "updates, both rounds %.2f s wall\n",
		    k + 1, c1 / 1e9, c2 / 1e9, h / 1024.0, r0 / 1024.0, acc,
		    wall[k] / 1e9);
		fflush(stdout);
	}
	{
		double m1 = median(cpu1, repeats) / 1e9;
		double m2 = median(cpu2, repeats) / 1e9;
		double mh = median(hwm, repeats) / 1024.0;

		printf("median: round 1 (no global) %.3f s cpu, round 2 (from "
		       "a global) %.3f s cpu, peak RSS %.1f MB (%.1f MB "
		       "before), both rounds %.2f s wall\n",
		    m1, m2, mh, median(rss0, repeats) / 1024.0,
		    median(wall, repeats) / 1e9);
		printf("targets: round <= 2 s cpu: %s, peak RSS <= 64 MB: %s\n",
		    m1 <= 2 && m2 <= 2 ? "met" : "MISSED",
		    mh <= 64 ? "met" : "MISSED");
	}
	for (unsigned i = 0; i < agents; i++)
		fm_crypto_session_free(f.sess[i]);
	fm_crypto_identity_free(f.agg);
	free(f.sess);
	free(f.id);
	free(f.seq);
	free(f.params);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : 1;
}
