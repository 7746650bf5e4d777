/* The log action: one line at the rule's journald priority, and no other
 * line for the run (the engine's "done" line is left out). */
#include <errno.h>
#include <stdio.h>

#include "agent/act/act-int.h"

static int
log_check(const fm_act_rule *r, char *why)
{
	if (r->priority < LOG_EMERG || r->priority > LOG_DEBUG) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "key 'priority' must be emerg to debug (0 to 7)");
		return -EINVAL;
	}
	if (r->command[0] || r->unit[0]) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "kind = log takes neither key 'command' nor 'unit'");
		return -EINVAL;
	}
	return 0;
}

/* The line logged: the rule, its condition and what fired it. */
static void
log_line(const fmi_act_ctx *ctx, char *buf, size_t size)
{
	const fm_act_input *in = ctx->in;
	char when[48], top[256];

	fmi_act_when_format(ctx->rule, when, sizeof(when));
	fmi_act_top_format(in, top, sizeof(top));
	if (ctx->rule->when == FM_ACT_WHEN_FAILURE)
		snprintf(buf, size,
		    "Action '%s': %s, probability %.3f (at least %.3f); "
		    "anomaly score %.3f (threshold %.3f)%s%s",
		    ctx->rule->name, when, (double)ctx->value,
		    (double)ctx->rule->probability, (double)in->score,
		    (double)in->threshold, top[0] ? ", top features " : "",
		    top);
	else
		snprintf(buf, size,
		    "Action '%s': %s, score %.3f (threshold %.3f)%s%s",
		    ctx->rule->name, when, (double)in->score,
		    (double)in->threshold, top[0] ? ", top features " : "",
		    top);
}

static void
log_describe(const fmi_act_ctx *ctx, char *buf)
{
	char line[FMI_ACT_DESCRIPTION_BYTES - 32];

	log_line(ctx, line, sizeof(line));
	snprintf(buf, FMI_ACT_DESCRIPTION_BYTES, "log at priority %d: %s",
	    ctx->rule->priority, line);
}

static void
log_run(const fmi_act_ctx *ctx, fmi_act_outcome *ret)
{
	char line[FMI_ACT_DESCRIPTION_BYTES];

	log_line(ctx, line, sizeof(line));
	fm_log(ctx->rule->priority, "%s", line);
	*ret = (fmi_act_outcome) { .result = FM_ACT_RESULT_OK };
}

const fmi_act_ops fmi_act_kind_log = {
	.kind = FM_ACT_KIND_LOG,
	.check = log_check,
	.describe = log_describe,
	.run = log_run,
	.run_is_log_line = true,
};
