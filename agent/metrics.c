/* TEMPORARY SHIM: replaced by the metrics implementation. */
#include <errno.h>

#include "agent/agent.h"

int fm_agent_metrics_render(const fm_agent_view *v, char **ret, size_t *ret_len)
{ (void)v; (void)ret; (void)ret_len; return -ENOTSUP; }
