/* Tests for agent/loop.c: absolute deadlines and stopping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent/agent.h"

#define MS FM_NSEC_PER_MSEC

static void
test_loop_deadlines_do_not_drift(void **state)
{
	/* However late a tick ends within its period, the next deadline is
	 * on the grid start + k * period. */
	assert_true(fm_spawn_next_deadline(0, 1000 * MS, 0) == 1000 * MS);
	assert_true(
	    fm_spawn_next_deadline(0, 1000 * MS, 999 * MS) == 1000 * MS);
	assert_true(
	    fm_spawn_next_deadline(0, 1000 * MS, 1000 * MS) == 2000 * MS);
	assert_true(fm_spawn_next_deadline(500, 1000 * MS, 1000 * MS + 7) ==
	    1000 * MS + 500);
	assert_true(fm_spawn_next_deadline(500, 1000 * MS, 1000 * MS + 500) ==
	    2000 * MS + 500);
}

static void
test_loop_skips_missed_deadlines(void **state)
{
	/* A tick that overran 3.5 periods resumes on the grid, without a
	 * burst of catch-up samples. */
	assert_true(
	    fm_spawn_next_deadline(0, 1000 * MS, 3500 * MS) == 4000 * MS);
	assert_true(fm_spawn_next_deadline(0, 1000 * MS, -5) == 1000 * MS);
}

struct counter {
	unsigned samples;
	unsigned stop_after;
	int64_t last_mono;
	bool monotonic;
};

static void
on_sample(void *userdata, const fm_collect_sample *s)
{
	struct counter *c = userdata;

	c->monotonic &= s->mono_ns > c->last_mono;
	c->last_mono = s->mono_ns;
	c->samples++;
}

static bool
keep_running(void *userdata)
{
	struct counter *c = userdata;

	return c->samples < c->stop_after;
}

static void
test_loop_runs_ticks_and_stops(void **state)
{
	fm_collect_sampler_config cfg;
	fm_collect_sampler *s;
	struct counter c = { .stop_after = 1000, .monotonic = true };
	fm_loop_hooks hooks = { on_sample, keep_running, &c };
	fm_loop_stats st;

	fm_collect_sampler_config_init(&cfg);
	cfg.procfs = FM_FIXTURES "/proc-debian12-t0";
	assert_int_equal(fm_collect_sampler_new(&cfg, &s), 0);
	assert_int_equal(fm_loop_run(s, 10, 3, &hooks, &st), 0);
	assert_int_equal(c.samples, 3);
	assert_true(st.ticks == 3);
	assert_true(c.monotonic);
	/* keep_running stops it */
	c.samples = 0;
	c.stop_after = 2;
	assert_int_equal(fm_loop_run(s, 10, 0, &hooks, &st), 0);
	assert_int_equal(c.samples, 2);
	assert_int_equal(fm_loop_run(s, 0, 1, &hooks, &st), -EINVAL);
	fm_collect_sampler_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loop_deadlines_do_not_drift),
		cmocka_unit_test(test_loop_skips_missed_deadlines),
		cmocka_unit_test(test_loop_runs_ticks_and_stops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
