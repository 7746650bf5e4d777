/*
 * The kinds of action, in one array: each row is a kind's name (the value
 * of key 'kind'), its ops table (one sibling file per kind) and the
 * [action NAME] keys it takes beyond the common ones. A new kind is one
 * file, one row here and one fm_act_kind value.
 */
#include <string.h>

#include "agent/act/act-int.h"

const char *const fmi_act_common_keys[] = {
	"when",
	"probability",
	"hold_seconds",
	"cooldown_seconds",
	"max_per_hour",
	"kind",
	"dry_run",
	NULL,
};

const fmi_act_kind fmi_act_kinds[FM_ACT_KIND_COUNT] = {
	[FM_ACT_KIND_LOG] = {
		.name = "log",
		.ops = &fmi_act_kind_log,
		.keys = (const char *const[]) { "priority", NULL },
	},
	[FM_ACT_KIND_HOOK] = {
		.name = "hook",
		.ops = &fmi_act_kind_hook,
		.keys = (const char *const[]) { "command", "timeout_ms", NULL },
	},
	[FM_ACT_KIND_RESTART] = {
		.name = "restart",
		.ops = &fmi_act_kind_restart,
		.keys = (const char *const[]) { "unit", "timeout_ms", NULL },
	},
};

/* Whether key is one of keys[] (NULL-terminated). */
static bool
key_is_in(const char *const *keys, const char *key)
{
	for (size_t i = 0; keys[i]; i++)
		if (strcmp(keys[i], key) == 0)
			return true;
	return false;
}

const char *
fm_act_kind_name(unsigned kind)
{
	return kind >= 1 && kind < FM_ACT_KIND_COUNT ? fmi_act_kinds[kind].name
	                                             : NULL;
}

bool
fm_act_kind_takes_key(unsigned kind, const char *key)
{
	if (kind < 1 || kind >= FM_ACT_KIND_COUNT)
		return false;
	return key_is_in(fmi_act_common_keys, key) ||
	    key_is_in(fmi_act_kinds[kind].keys, key);
}

bool
fm_act_key_is_known(const char *key)
{
	for (unsigned kind = 1; kind < FM_ACT_KIND_COUNT; kind++)
		if (fm_act_kind_takes_key(kind, key))
			return true;
	return false;
}
