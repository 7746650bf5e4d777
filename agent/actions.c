/* TEMPORARY SHIM: replaced by the actions implementation. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"

struct fm_actions { int unused; };

const char *fm_action_kind_name(unsigned kind) { (void)kind; return NULL; }
const char *fm_action_result_name(unsigned result) { (void)result; return NULL; }
void fm_actions_input_from_learner(const fm_learner_status *st,
    int64_t mono_ns, int64_t real_ns, fm_actions_input *ret)
{ (void)st; memset(ret, 0, sizeof(*ret)); ret->mono_ns = mono_ns; ret->real_ns = real_ns; }
int fm_action_rule_check(const fm_action_rule *r, char *why) { (void)r; (void)why; return 0; }
int fm_actions_new(const fm_action_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run, fm_actions **ret)
{ (void)rules; (void)n; (void)systemctl; (void)dry_run; *ret = calloc(1, sizeof(**ret)); return *ret ? 0 : -ENOMEM; }
fm_actions *fm_actions_free(fm_actions *a) { free(a); return NULL; }
void fm_actions_on_sample(fm_actions *a, const fm_actions_input *in) { (void)a; (void)in; }
int fm_actions_reload(fm_actions *a, const fm_action_rule *rules, uint32_t n,
    const char *systemctl, bool dry_run) { (void)a; (void)rules; (void)n; (void)systemctl; (void)dry_run; return 0; }
void fm_actions_status_get(fm_actions *a, fm_actions_status *ret) { (void)a; memset(ret, 0, sizeof(*ret)); }
bool fm_agent_config_may_restart(const fm_agent_config *c, const char *unit) { (void)c; (void)unit; return false; }
