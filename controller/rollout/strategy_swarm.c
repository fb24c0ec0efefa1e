/* Swarm: the tasks counted as Kubernetes counts replicas; Swarm moves them, auriga asks for the service at the target. */
#include "rollout/rollout.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void rollout_swarm_order(enum spec_strategy_type strategy, long max_surge, long max_unavailable, int *start_first,
			 int *parallelism)
{
	if (strategy == SPEC_STRATEGY_ROLLING && max_surge > 0) {
		*start_first = 1;
		*parallelism = (int)max_surge;
	} else {
		/* Recreate, or Rolling without surge: an old task stops first, within the disruption budget. */
		*start_first = 0;
		*parallelism = max_unavailable > 0 ? (int)max_unavailable : 1;
	}
}

/*
 * Stop-first, Swarm takes down up to its parallelism of the tasks not at
 * the target at once, serving ones among them: 1 (held) when that leaves
 * fewer available than the budget keeps (replicas less max_unavailable, at
 * least one down allowed); 2 (held) while a task's readiness is not known
 * yet (a controller just started, a new spec's probes), so that what
 * serves cannot be told.
 */
static int breaks_budget(const struct rollout_input *in, int available, int old_at_risk, int unknown)
{
	int start_first, par, takes;
	long floor = in->replicas - (in->max_unavailable > 0 ? in->max_unavailable : 1);

	rollout_swarm_order(in->strategy, in->max_surge, in->max_unavailable, &start_first, &par);
	takes = start_first ? 0 : par < old_at_risk ? par : old_at_risk;
	if (takes == 0)
		return 0;
	if (unknown > 0)
		return 2;
	return available - takes < floor;
}

void rollout_swarm_step(const struct rollout_input *in, struct rollout_result *out)
{
	int R = in->replicas, i, extra = 0, old = 0, old_at_risk = 0, unknown = 0;
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
		unknown += !x->known;
		if (c->ordinal < 0 || c->ordinal >= R) {
			/* Scaled down: Swarm removes the task of a slot past the replicas. */
			extra++;
			continue;
		}
		if (at)
			cur[c->ordinal] = 1;
		else
			old++;
		/* An old task that serves, or may: one Swarm could stop first. */
		if (!at && (x->available || !x->known))
			old_at_risk++;
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
	if (!in->service_at_target && !in->heal_only) {
		out->held = breaks_budget(in, out->available, old_at_risk, unknown);
		if (!out->held)
			rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, in->deployment, 0,
				       "%s at %.12s: %d/%d tasks updated, %d available", in->deployment, in->rev,
				       out->updated, R, out->available);
	}
	out->waiting = !out->complete && out->n_ops == 0;
	free(cur);
	free(avail);
	free(cur_avail);
}
