/* Release control by hand: pause and resume, and every request's verdict recorded with who asked and why. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "runtime/log.h"
#include "util.h"

const char *engine_action_name(enum engine_action a)
{
	static const char *const names[] = { "promote", "promote-full", "abort", "rollback", "pause", "resume" };

	return NAME_OF(names, a, "?");
}

/* A Rolling or Recreate deployment of the specs, or ERR_NOTFOUND / ERR_CONFLICT. */
static const struct desired_deployment *pausable(struct engine *e, const char *deployment, const char *verb,
						 struct error **err)
{
	const struct desired_deployment *dd = desired_find(&e->desired, deployment);

	if (dd == NULL) {
		error_set(err, ERR_NOTFOUND, "no deployment '%s' in the specs", deployment);
		return NULL;
	}
	if (engine_traffic_handles(dd)) {
		error_set(err, ERR_CONFLICT,
			  "deployment '%s' is released by %s: nothing to %s (its release waits at its pause steps; "
			  "promote or abort it)",
			  deployment, plan_strategy_name(dd->strategy), verb);
		return NULL;
	}
	return dd;
}

/* Marks the deployment paused (1) or not, and writes the state file at once: the mark must survive a crash. */
static int set_paused(struct engine *e, const char *deployment, int paused, struct error **err)
{
	const struct desired_deployment *dd = pausable(e, deployment, paused ? "pause" : "resume", err);
	const struct statefile_entry *se;

	if (dd == NULL)
		return -1;
	se = statefile_get(&e->state, dd->name, 0);
	if (paused && se != NULL && se->paused)
		return error_set(err, ERR_CONFLICT, "deployment '%s' is already paused", deployment);
	if (!paused && (se == NULL || !se->paused))
		return error_set(err, ERR_CONFLICT, "deployment '%s' is not paused", deployment);
	statefile_set_paused(&e->state, dd->name, paused);
	if (e->state.path != NULL && engine_state_write(e, err) < 0) {
		statefile_set_paused(&e->state, dd->name, !paused);
		return -1;
	}
	engine_kick(e);
	return 0;
}

int engine_pause(struct engine *e, const char *deployment, struct error **err)
{
	return set_paused(e, deployment, 1, err);
}

int engine_resume(struct engine *e, const char *deployment, struct error **err)
{
	return set_paused(e, deployment, 0, err);
}

/* The text a rollback or abort leaves as the deployment's last error: what, by whom, and why. */
static char *why_text(const char *done, const struct engine_request *rq)
{
	if (rq->reason != NULL && rq->reason[0] != '\0')
		return xasprintf("%s by %s: %s", done, rq->by, rq->reason);
	return xasprintf("%s by %s", done, rq->by);
}

int engine_control(struct engine *e, const struct engine_request *rq, struct error **err)
{
	struct eng_dep *ed;
	char *why = NULL;
	int rc;

	switch (rq->action) {
	case ENGINE_PROMOTE:
	case ENGINE_PROMOTE_FULL:
		rc = engine_promote(e, rq->deployment, rq->action == ENGINE_PROMOTE_FULL, err);
		break;
	case ENGINE_ABORT:
		why = why_text("aborted", rq);
		rc = engine_abort(e, rq->deployment, why, err);
		break;
	case ENGINE_ROLLBACK:
		why = why_text("rolled back", rq);
		rc = engine_rollback(e, rq->deployment, why, err);
		break;
	case ENGINE_PAUSE:
		rc = engine_pause(e, rq->deployment, err);
		break;
	case ENGINE_RESUME:
		rc = engine_resume(e, rq->deployment, err);
		break;
	default:
		rc = error_set(err, ERR_INVALID, "unknown action");
		break;
	}
	free(why);
	if (rc < 0)
		return rc;
	ed = engine_dep_get(e, rq->deployment);
	str_set(&ed->action, engine_action_name(rq->action));
	str_set(&ed->action_by, rq->by);
	str_set(&ed->action_reason, rq->reason != NULL && rq->reason[0] != '\0' ? rq->reason : NULL);
	ed->action_at = wall_ms();
	log_info(COMPONENT, "release control accepted", "action", engine_action_name(rq->action), "deployment",
		 rq->deployment, "by", rq->by, "reason", rq->reason ? rq->reason : "", (char *)NULL);
	/* The pass this request kicked shows it in the status and the note. */
	return 0;
}
