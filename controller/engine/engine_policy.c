/* A template taken back from the state file is held against the operator's policy in force now. */
#include "engine/engine_internal.h"
#include "engine/plan.h"

int engine_tmpl_refused(const struct engine *e, const struct desired_tmpl *t, const char *rev, char *msg, size_t n)
{
	return plan_tmpl_refused(e->set, t, rev, msg, n) > 0;
}
