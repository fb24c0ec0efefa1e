/* Replicas moved off an endpoint that did not answer for their deployment's moveAfter: their old containers. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "runtime/log.h"
#include "util.h"

/* 1 when the ordinal of c has a container on its endpoint of this pass. */
static int has_one_at_place(const struct engine *e, const struct eng_dep *ed, const struct obs_deployment *od,
			    const struct obs_container *c)
{
	const struct eng_host *at = &e->hosts[ed->place[c->ordinal]];
	size_t i;

	for (i = 0; i < od->n; i++)
		if (od->v[i]->ordinal == c->ordinal && engine_host_of(e, od->v[i]) == at)
			return 1;
	return 0;
}

int engine_move_old(const struct engine *e, const struct desired_deployment *dd, const struct eng_dep *ed,
		    const struct obs_deployment *od, const struct obs_container *c)
{
	const struct eng_host *h;

	if (dd->spec == NULL || !dd->spec->placement.set || dd->spec->placement.move_after_ms <= 0)
		return 0;
	if (c->ordinal < 0 || c->ordinal >= ed->n_place || ed->place[c->ordinal] < 0)
		return 0;
	h = engine_host_of(e, c);
	if (h == NULL || h == &e->hosts[ed->place[c->ordinal]])
		return 0;
	/*
	 * Placed elsewhere while its endpoint does not answer: moved. One that
	 * answers is the old container of a moved ordinal once the ordinal has
	 * one where it is placed (a placement changed in the specs alone moves
	 * nothing).
	 */
	return c->unreachable || has_one_at_place(e, ed, od, c);
}

size_t engine_move_remove_old(struct engine *e, const struct desired_deployment *dd, const struct eng_dep *ed,
			      const struct obs_deployment *od)
{
	size_t i, issued = 0;

	for (i = 0; od && i < od->n; i++) {
		const struct obs_container *c = od->v[i];
		struct rollout_op op;

		if (c->unreachable || c->state == OBS_REMOVING || !engine_move_old(e, dd, ed, od, c))
			continue;
		memset(&op, 0, sizeof(op));
		op.kind = ROLLOUT_REMOVE;
		op.c = c;
		op.ordinal = c->ordinal;
		op.why = xasprintf("replica moved off endpoint '%s' while it was down: removing its old container",
				   c->host ? c->host : "?");
		/* Told once issued: a held removal (its endpoint busy) is not one yet. */
		if (engine_op_issue(e, dd, NULL, &op)) {
			issued++;
			log_info(COMPONENT, op.why, "deployment", dd->name, "container", c->name, "ordinal-endpoint",
				 engine_host_name(&e->hosts[ed->place[c->ordinal]]), (char *)NULL);
		}
		free(op.why);
	}
	return issued;
}
