/* TEMPORARY SHIM: replaced by the health implementation. */
#include "agent/agent.h"

uint32_t fm_agent_problems(const fm_agent_view *v,
    char problems[][FM_AGENT_PROBLEM_BYTES], uint32_t max)
{ (void)v; (void)problems; (void)max; return 0; }
