/* The restart action: `SYSTEMCTL --no-ask-password restart UNIT`, run as
 * the hooks are (spawn.c). Whether this agent may restart UNIT at all is
 * the polkit rule's question, which `fedmon-agent --may-restart UNIT`
 * answers from the configuration. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "agent/act/act-int.h"

/* What systemd calls a unit type: the suffix of a unit name. */
static const char *const unit_suffixes[] = {
	".service",
	".socket",
	".target",
	".timer",
	".mount",
	".automount",
	".path",
	".swap",
	".slice",
	".scope",
	".device",
};

bool
fm_act_unit_is_valid(const char *unit)
{
	size_t n = strnlen(unit, FM_ACT_UNIT_BYTES);
	const char *dot;

	if (n == 0 || n == FM_ACT_UNIT_BYTES || unit[0] == '-' ||
	    unit[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = unit[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		    !(c >= '0' && c <= '9') && !strchr(":_.@-", c))
			return false;
	}
	dot = strrchr(unit, '.');
	if (!dot)
		return false;
	for (size_t i = 0; i < FM_ELEMENTSOF(unit_suffixes); i++)
		if (strcmp(dot, unit_suffixes[i]) == 0)
			return true;
	return false;
}

static int
restart_check(const fm_act_rule *r, char *why)
{
	if (!fm_act_unit_is_valid(r->unit)) {
		snprintf(why, FM_INI_WHY_BYTES,
		    r->unit[0] ? "key 'unit' is not a unit name "
		                 "(NAME.service, NAME.socket, ...)"
		               : "kind = restart needs key 'unit'");
		return -EINVAL;
	}
	if (r->command[0]) {
		snprintf(why, FM_INI_WHY_BYTES,
		    "kind = restart does not take key 'command'");
		return -EINVAL;
	}
	return 0;
}

static void
restart_describe(const fmi_act_ctx *ctx, char *buf)
{
	snprintf(buf, FMI_ACT_DESCRIPTION_BYTES,
	    "run '%s --no-ask-password restart %s'", ctx->systemctl,
	    ctx->rule->unit);
}

static void
restart_run(const fmi_act_ctx *ctx, fmi_act_outcome *ret)
{
	char path[] = "PATH=" FMI_ACT_PATH;
	char *envp[] = { path, NULL };
	char *argv[] = {
		(char *)ctx->systemctl,
		(char *)"--no-ask-password",
		(char *)"restart",
		(char *)ctx->rule->unit,
		NULL,
	};

	fmi_act_spawn(ctx, argv, envp, ret);
}

const fmi_act_ops fmi_act_kind_restart = {
	.kind = FM_ACT_KIND_RESTART,
	.check = restart_check,
	.describe = restart_describe,
	.run = restart_run,
};
