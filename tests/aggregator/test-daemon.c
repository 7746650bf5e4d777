/*
 * The real fedmon-aggregator (argv[1]) on a TCP loopback port with a
 * temporary state directory, driven by the agents' fed client: a round,
 * a SIGKILL after one of two updates of the next, a restart that keeps
 * the global model and moves to a fresh round, SIGHUP with a broken and
 * then a good authorized-agents file, SIGTERM; and the exit statuses of
 * bad configurations and a corrupt state file.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg-test.h"
#include "fed/fed.h"

#define NP 5

static const char *binary;
static char dir[64];
static char conf[128], auth[128], keyf[128], log_path[128];
static uint16_t port;
static fm_crypto_identity *agg_id;
static fm_crypto_identity *agent[3];
static fm_fed_client *client[3];

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A port free right now on 127.0.0.1 (the kernel's pick). */
static uint16_t
free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The authorized-agents text enrolling the agents whose bit is set. */
static void
write_authorized(unsigned mask)
{
	char text[1024] = "# test fleet\n", line[128];

	for (int i = 0; i < 3; i++) {
		char key[FM_CRYPTO_KEY_TEXT_BYTES];

		if (!(mask & (1u << i)))
			continue;
		fm_crypto_key_format(fm_crypto_identity_public(agent[i]), key);
		snprintf(line, sizeof(line), "%s host-%d\n", key, i);
		strcat(text, line);
	}
	write_text(auth, text);
}

/* Starts the daemon with extra arguments; stderr goes to log_path. */
static pid_t
spawn(const char *const *extra)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[16] = { binary, "--config", conf };
		int n = 3, fd;

		for (; extra && *extra; extra++)
			argv[n++] = *extra;
		/* dies with the test, even a failed one, and holds none of
		 * its output pipes open */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
			_exit(127);
		fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		execv(binary, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static int
wait_exit(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Whether the log holds text, waiting up to 10 s for it. */
static bool
log_has(const char *text)
{
	for (int i = 0; i < 1000; i++) {
		uint8_t *buf = NULL;
		size_t len;
		bool found = false;

		if (fm_file_read_all(log_path, 1 << 24, &buf, &len) == 0) {
			found = strstr((char *)buf, text) != NULL;
			free(buf);
		}
		if (found)
			return true;
		sleep_ms(10);
	}
	return false;
}

/* HELLO, retried while the daemon is away. Returns the client's result
 * of the last try. */
static int
hello(int i, uint64_t have, fm_proto_round *m, uint32_t *reason)
{
	fm_proto_hello h = { .schema_version = 1,
		.layout_id = LAYOUT,
		.n_params = NP,
		.have_version = have };
	int r;

	for (int tries = 0; tries < 40; tries++) {
		/* a daemon just killed or restarting: try again */
		r = fm_fed_client_hello(client[i], &h, m, reason);
		if (r != -ETIMEDOUT && r != -ECONNRESET)
			return r;
	}
	return r;
}

static uint32_t
update(int i, uint64_t round, uint64_t base, float *p)
{
	fm_proto_update u = update_of(round, base, 10, p, NP);
	fm_proto_verdict v;
	uint32_t reason;
	int r;

	for (int tries = 0; tries < 40; tries++) {
		r = fm_fed_client_update(client[i], &u, &v, &reason);
		if (r != -ETIMEDOUT && r != -ECONNRESET)
			break;
	}
	assert_int_equal(r, 0);
	return v.reason;
}

/* Polls until the daemon has round in COLLECT. */
static void
wait_collect(int i, uint64_t round)
{
	for (int tries = 0; tries < 500; tries++) {
		fm_proto_round m;
		uint32_t reason;

		assert_int_equal(hello(i, 0, &m, &reason), 0);
		if (m.round == round && m.phase == FM_PROTO_PHASE_COLLECT) {
			fm_proto_round_clear(&m);
			return;
		}
		assert_true(m.round <= round);
		fm_proto_round_clear(&m);
		sleep_ms(20);
	}
	fail_msg("round %llu never opened", (unsigned long long)round);
}

/* The global model the daemon serves. */
static void
model(uint64_t *ret_version, float ret[NP])
{
	fm_proto_round m;
	uint32_t reason;

	assert_int_equal(hello(0, 0, &m, &reason), 0);
	*ret_version = m.version;
	if (m.version) {
		assert_int_equal(m.n_params, NP);
		assert_non_null(m.params);
		memcpy(ret, m.params, sizeof(float) * NP);
	}
	fm_proto_round_clear(&m);
}

static int
setup(void **state)
{
	fm_fed_client_config cc;
	char text[1024];

	temp_dir(dir);
	snprintf(conf, sizeof(conf), "%s/aggregator.conf", dir);
	snprintf(auth, sizeof(auth), "%s/authorized_agents", dir);
	snprintf(keyf, sizeof(keyf), "%s/aggregator.key", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	assert_int_equal(fm_crypto_init(), 0);
	assert_int_equal(fm_crypto_identity_generate(&agg_id), 0);
	assert_int_equal(fm_crypto_identity_save(agg_id, keyf, false), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fm_crypto_identity_generate(&agent[i]), 0);
	write_authorized(3);
	port = free_port();
	snprintf(text, sizeof(text),
	    "[aggregator]\nkey_file = %s\nauthorized_agents = %s\n"
	    "state_dir = %s/state\nlisten = tcp://127.0.0.1:%u\n"
	    "log_level = debug\n"
	    "[round]\nquorum = 2\ndeadline_ms = 60000\ninterval_ms = 200\n"
	    "collect_poll_ms = 100\npoll_ms = 1000\n"
	    "[aggregate]\nclip_norm = 0\n",
	    keyf, auth, dir, port);
	write_text(conf, text);
	fm_fed_client_config_init(&cc);
	snprintf(text, sizeof(text), "tcp://127.0.0.1:%u", port);
	cc.url = text;
	memcpy(cc.aggregator_pk, fm_crypto_identity_public(agg_id),
	    FM_CRYPTO_PUBLIC_KEY_BYTES);
	cc.timeout_ms = 500;
	cc.reconnect_min_ms = 20;
	cc.reconnect_max_ms = 100;
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    fm_fed_client_new(&cc, agent[i], &client[i]), 0);
	return 0;
}

static int
teardown(void **state)
{
	for (int i = 0; i < 3; i++) {
		client[i] = fm_fed_client_free(client[i]);
		agent[i] = fm_crypto_identity_free(agent[i]);
	}
	agg_id = fm_crypto_identity_free(agg_id);
	remove_dir(dir);
	return 0;
}

static void
test_daemon_killed_mid_round_resumes(void **state)
{
	float a0[NP] = { 1, 2, 3, 4, 5 }, a1[NP] = { 3, 2, 1, 0, -1 };
	float g1[NP], g[NP], b[NP];
	uint64_t version;
	uint32_t reason;
	fm_proto_round m;
	pid_t pid;

	pid = spawn(NULL);
	assert_true(log_has("Listening on tcp://127.0.0.1:"));
	/* Round 1: both agents; the mean is the global model. */
	wait_collect(0, 1);
	assert_int_equal(update(0, 1, 0, a0), FM_PROTO_OK);
	assert_int_equal(update(1, 1, 0, a1), FM_PROTO_OK);
	model(&version, g1);
	assert_int_equal(version, 1);
	for (int i = 0; i < NP; i++)
		assert_float_equal(g1[i], (a0[i] + a1[i]) / 2, 1e-6);
	assert_true(log_has("joined."));
	assert_true(log_has("(host-0) joined."));
	/* Round 2: one of two updates, then SIGKILL. */
	wait_collect(0, 2);
	for (int i = 0; i < NP; i++)
		b[i] = g1[i] + 1;
	assert_int_equal(update(0, 2, 1, b), FM_PROTO_OK);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);

	/* Restarted: model 1 intact, round 2 closed, round 3 open; agent
	 * 0's old sequence numbers stay spent. */
	pid = spawn(NULL);
	model(&version, g);
	assert_int_equal(version, 1);
	assert_memory_equal(g, g1, sizeof(g));
	assert_int_equal(update(1, 2, 1, b), FM_PROTO_REASON_ROUND_CLOSED);
	assert_int_equal(hello(1, 1, &m, &reason), 0);
	assert_int_equal(m.round, 3);
	assert_int_equal(m.phase, FM_PROTO_PHASE_COLLECT);
	assert_null(m.params);
	fm_proto_round_clear(&m);
	assert_int_equal(update(0, 3, 1, b), FM_PROTO_OK);
	assert_int_equal(update(1, 3, 1, b), FM_PROTO_OK);
	model(&version, g);
	assert_int_equal(version, 3);
	for (int i = 0; i < NP; i++)
		assert_float_equal(g[i], b[i], 1e-6);

	/* SIGHUP with a broken file: the old list stays. */
	write_text(auth, "not a key\n");
	assert_int_equal(kill(pid, SIGHUP), 0);
	assert_true(log_has("Keeping the 2 enrolled keys"));
	assert_int_equal(hello(1, 3, &m, &reason), 0);
	fm_proto_round_clear(&m);
	assert_int_equal(hello(2, 0, &m, &reason), -EPERM);
	assert_int_equal(reason, FM_PROTO_REASON_UNKNOWN_KEY);
	/* A good file: agent 2 in, agent 1 out. */
	write_authorized(5);
	assert_int_equal(kill(pid, SIGHUP), 0);
	assert_true(log_has("Reloaded authorized agents"));
	assert_int_equal(hello(2, 0, &m, &reason), 0);
	assert_int_equal(m.version, 3);
	fm_proto_round_clear(&m);
	assert_int_equal(hello(1, 3, &m, &reason), -EPERM);
	assert_int_equal(reason, FM_PROTO_REASON_UNKNOWN_KEY);

	/* SIGTERM: state written, exit 0. */
	assert_int_equal(kill(pid, SIGTERM), 0);
	assert_int_equal(wait_exit(pid), 0);
	assert_true(log_has("Stopping: state written."));
}

static void
test_daemon_port_zero_and_exit_statuses(void **state)
{
	const char *const port0[] = { "--listen", "tcp://127.0.0.1:0", NULL };
	const char *const bad_flag[] = { "--bogus", NULL };
	const char *const bad_level[] = { "--log-level", "loud", NULL };
	char path[160], text[1024];
	pid_t pid;
	uint8_t *buf;
	size_t len;

	/* Port 0: the log names the port the kernel chose. */
	assert_int_equal(truncate(log_path, 0), 0);
	pid = spawn(port0);
	assert_true(log_has("Listening on tcp://127.0.0.1:"));
	assert_int_equal(fm_file_read_all(log_path, 1 << 20, &buf, &len), 0);
	assert_null(strstr((char *)buf, "Listening on tcp://127.0.0.1:0\n"));
	free(buf);
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(wait_exit(pid), 0);

	/* Usage and configuration errors: 2. */
	assert_int_equal(wait_exit(spawn(bad_flag)), 2);
	assert_int_equal(wait_exit(spawn(bad_level)), 2);
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	write_text(path, "[round]\nquorum = lots\n");
	{
		const char *const bad_conf[] = { "--config", path, NULL };

		assert_int_equal(wait_exit(spawn(bad_conf)), 2);
		assert_true(log_has("bad.conf:2: invalid value 'lots'"));
	}

	/* A corrupt state file: 1, and the way out is named. */
	snprintf(path, sizeof(path), "%s/state/%s", dir, FM_AGG_STATE_FILE);
	assert_int_equal(fm_file_read_all(path, 1 << 24, &buf, &len), 0);
	buf[len / 2] ^= 0x40;
	write_text(path, "");
	{
		int fd = open(path, O_WRONLY | O_TRUNC);

		assert_true(fd >= 0);
		assert_int_equal(write(fd, buf, len), (ssize_t)len);
		close(fd);
	}
	free(buf);
	assert_int_equal(wait_exit(spawn(NULL)), 1);
	assert_true(log_has("aggregator.state': corrupt (bad checksum, "
	                    "length or values). To start over, move it "
	                    "aside."));

	/* A missing key file: 1. */
	snprintf(text, sizeof(text), "%s/none.conf", dir);
	write_text(text, "[aggregator]\nkey_file = /nonexistent/key\n");
	{
		const char *const no_key[] = { "--config", text, NULL };

		assert_int_equal(wait_exit(spawn(no_key)), 1);
		assert_true(
		    log_has("Failed to load key file '/nonexistent/key'"));
	}
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daemon_killed_mid_round_resumes),
		cmocka_unit_test(test_daemon_port_zero_and_exit_statuses),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s FEDMON_AGGREGATOR\n", argv[0]);
		return 2;
	}
	binary = argv[1];
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup, teardown);
}
