/*
 * The hook action: the rule's command (an absolute program and its
 * arguments, no shell) run by spawn.c with an environment that says what
 * fired it, so that one script can serve several rules.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "agent/act/act-int.h"

#define HOOK_ENV_MAX   12   /* variables, NULL excluded */
#define HOOK_ENV_BYTES 2048 /* all of them, NULs included */

static int
hook_check(const fm_act_rule *r, char *why)
{
	int n;
	char buf[FM_SPAWN_COMMAND_BYTES];
	char *argv[FM_SPAWN_COMMAND_ARGS_MAX + 1];

	n = fm_spawn_split(r->command, buf, argv);
	if (n <= 0) {
		snprintf(why, FM_INI_WHY_BYTES,
		    n == 0 ? "kind = hook needs key 'command'"
		           : "key 'command' must be an absolute program path "
		             "and at most %d arguments",
		    FM_SPAWN_COMMAND_ARGS_MAX - 1);
		return -EINVAL;
	}
	if (r->unit[0]) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "kind = hook does not take key 'unit'");
		return -EINVAL;
	}
	return 0;
}

static void
hook_describe(const fmi_act_ctx *ctx, char *buf)
{
	snprintf(
	    buf, FMI_ACT_DESCRIPTION_BYTES, "run '%s'", ctx->rule->command);
}

/* The environment under construction: NAME=value strings packed in buf. */
struct env {
	char buf[HOOK_ENV_BYTES];
	size_t used;
	char *vars[HOOK_ENV_MAX + 1];
	unsigned n;
};

/* Appends one variable; one that does not fit is left out (the sizes
 * above hold every variable at its longest). */
static void FM_PRINTF(2, 3) env_add(struct env *e, const char *fmt, ...)
{
	size_t left = sizeof(e->buf) - e->used;
	va_list ap;
	int n;

	if (e->n == HOOK_ENV_MAX)
		return;
	va_start(ap, fmt);
	n = vsnprintf(e->buf + e->used, left, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= left)
		return;
	e->vars[e->n++] = e->buf + e->used;
	e->vars[e->n] = NULL;
	e->used += (size_t)n + 1;
}

static void
hook_env(const fmi_act_ctx *ctx, struct env *e)
{
	const fm_act_input *in = ctx->in;
	char when[48], top[512];

	fmi_act_when_format(ctx->rule, when, sizeof(when));
	fmi_act_top_format(in, top, sizeof(top));
	e->used = 0;
	e->n = 0;
	e->vars[0] = NULL;
	env_add(e, "PATH=%s", FMI_ACT_PATH);
	env_add(e, "FEDMON_RULE=%s", ctx->rule->name);
	env_add(e, "FEDMON_WHEN=%s", when);
	env_add(e, "FEDMON_SCORE=%.6g", (double)in->score);
	env_add(e, "FEDMON_THRESHOLD=%.6g", (double)in->threshold);
	env_add(e, "FEDMON_ALARM=%d", in->alarm ? 1 : 0);
	if (ctx->rule->when == FM_ACT_WHEN_FAILURE)
		env_add(e, "FEDMON_PROBABILITY=%.6g", (double)ctx->value);
	env_add(e, "FEDMON_TOP_FEATURES=%s", top);
	env_add(
	    e, "FEDMON_TIME=%lld", (long long)(in->real_ns / FM_NSEC_PER_SEC));
}

static void
hook_run(const fmi_act_ctx *ctx, fmi_act_outcome *ret)
{
	char buf[FM_SPAWN_COMMAND_BYTES];
	char *argv[FM_SPAWN_COMMAND_ARGS_MAX + 1];
	struct env e;

	/* hook_check() accepted the command: it splits */
	if (fm_spawn_split(ctx->rule->command, buf, argv) <= 0) {
		*ret = (fmi_act_outcome) {
			.result = FM_ACT_RESULT_ERROR,
			.code = -EINVAL,
		};
		return;
	}
	hook_env(ctx, &e);
	fmi_act_spawn(ctx, argv, e.vars, ret);
}

const fmi_act_ops fmi_act_kind_hook = {
	.kind = FM_ACT_KIND_HOOK,
	.check = hook_check,
	.describe = hook_describe,
	.run = hook_run,
};
