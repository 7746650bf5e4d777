/* TEMPORARY SHIM: replaced by the control socket implementation. */
#include <errno.h>

#include "agent/agent.h"

int fm_control_new(const char *path, gid_t gid, const fm_agent_view *view,
    fm_control **ret) { (void)path; (void)gid; (void)view; (void)ret; return -ENOTSUP; }
fm_control *fm_control_free(fm_control *c) { (void)c; return NULL; }
