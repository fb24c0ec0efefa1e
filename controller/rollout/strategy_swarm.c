/* Swarm: the tasks counted as Kubernetes counts replicas; Swarm moves them, auriga asks for the service at the target. */
#include "rollout/rollout.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void rollout_swarm_step(const struct rollout_input *in, struct rollout_result *out)
{
	int R = in->replicas, i, extra = 0, old = 0;
	size_t n = R > 0 ? (size_t)R : 1, k;
	unsigned char *cur = xcalloc(n, 1), *avail = xcalloc(n, 1), *cur_avail = xcalloc(n, 1);

	memset(out, 0, sizeof(*out));
	for (k = 0; k < in->n; k++) {
		const struct rollout_ctr *x = &in->v[k];
		const struct obs_container *c = x->c;
		int at = obs_revision_eq(c->revision, in->rev);

		/* A task that stopped is history (Swarm keeps a few); one being removed is going. */
		if (!obs_container_alive(c) || c->state == OBS_REMOVING)
			continue;
		out->total++;
		if (x->ready)
			out->ready++;
		if (c->ordinal < 0 || c->ordinal >= R) {
			/* Scaled down: Swarm removes the task of a slot past the replicas. */
			extra++;
			continue;
		}
		if (at)
			cur[c->ordinal] = 1;
		else
			old++;
		if (x->available) {
			avail[c->ordinal] = 1;
			if (at)
				cur_avail[c->ordinal] = 1;
		}
	}
	/*
	 * The tasks alone do not say it: a paused update leaves the old tasks
	 * running under a spec Swarm would make the next one from.
	 */
	out->complete = extra == 0 && old == 0 && out->total == R && in->service_at_target;
	for (i = 0; i < R; i++) {
		out->updated += cur[i];
		out->available += avail[i];
		if (!cur_avail[i])
			out->complete = 0;
	}
	/* While the service is at the target, Swarm is at work: nothing to ask of it. */
	if (!in->service_at_target && !in->heal_only)
		rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, in->deployment, 0,
			       "%s at %.12s: %d/%d tasks updated, %d available", in->deployment, in->rev, out->updated, R,
			       out->available);
	out->waiting = !out->complete && out->n_ops == 0;
	free(cur);
	free(avail);
	free(cur_avail);
}
