/* Swarm: the tasks counted as Kubernetes counts replicas; Swarm moves them, auriga asks for the service at the target. */
#include "rollout/rollout.h"

#include <stdio.h>
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

/*
 * The deployment's other services (the slots of an earlier blue-green or
 * canary release): they serve until its own service is complete, then go.
 */
static void remove_others(const struct rollout_input *in, const char **others, size_t n, struct rollout_result *out)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i && strcmp(others[j], others[i]) != 0; j++)
			;
		if (j == i)
			rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, others[i], 0,
				       "%s: service %s of an earlier release goes, %s being complete", in->deployment,
				       others[i], in->service);
	}
}

void rollout_swarm_step(const struct rollout_input *in, struct rollout_result *out)
{
	int R = in->replicas, i, extra = 0, old = 0, old_at_risk = 0, unknown = 0, own = 0, own_done;
	size_t n = R > 0 ? (size_t)R : 1, k, n_others = 0;
	unsigned char *cur = xcalloc(n, 1), *avail = xcalloc(n, 1), *cur_avail = xcalloc(n, 1);
	const char **others = xcalloc(in->n + 1, sizeof(*others));

	memset(out, 0, sizeof(*out));
	for (k = 0; k < in->n; k++) {
		const struct rollout_ctr *x = &in->v[k];
		const struct obs_container *c = x->c;
		int at = obs_revision_eq(c->revision, in->rev);

		if (c->state == OBS_REMOVING)
			continue;
		/* Another service's task, even one Swarm still starts: that service goes once this one is complete. */
		if (in->service && c->swarm_service && strcmp(c->swarm_service, in->service) != 0) {
			others[n_others++] = c->swarm_service;
			out->total++;
			out->ready += x->ready;
			if (x->available && c->ordinal >= 0 && c->ordinal < R)
				avail[c->ordinal] = 1;
			continue;
		}
		/* A task that stopped is history (Swarm keeps a few). */
		if (!obs_container_alive(c))
			continue;
		out->total++;
		if (x->ready)
			out->ready++;
		own++;
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
	own_done = extra == 0 && old == 0 && own == R && in->service_at_target;
	for (i = 0; i < R; i++) {
		out->updated += cur[i];
		out->available += avail[i];
		if (!cur_avail[i])
			own_done = 0;
	}
	out->complete = own_done && n_others == 0;
	/* While the service is at the target, Swarm is at work: nothing to ask of it. */
	if (!in->service_at_target && !in->heal_only) {
		out->held = breaks_budget(in, out->available, old_at_risk, unknown);
		if (!out->held) {
			rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, in->service ? in->service : in->deployment, 0,
				       "%s at %.12s: %d/%d tasks updated, %d available", in->deployment, in->rev,
				       out->updated, R, out->available);
			out->ops[out->n_ops - 1].replicas = R;
		}
	} else if (own_done && !in->heal_only) {
		remove_others(in, others, n_others, out);
	}
	out->waiting = !out->complete && out->n_ops == 0;
	free(others);
	free(cur);
	free(avail);
	free(cur_avail);
}

/* One service of a traffic release: what its containers and the release's operations make of it. */
struct slot_service {
	char *name;
	char slot[8];
	int keep;	/* ordinals below it keep a task */
	int alive;	/* tasks running or starting */
	int removed;	/* of those, tasks the release removes */
	int create;	/* ordinals below it are wanted (0: no create) */
	int stable;	/* created at the last healthy revision */
};

static struct slot_service *slot_service_get(struct slot_service **v, size_t *n, const char *name, const char *slot)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].name, name) == 0)
			return &(*v)[i];
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	memset(&(*v)[*n], 0, sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	snprintf((*v)[*n].slot, sizeof((*v)[*n].slot), "%s", slot ? slot : "");
	return &(*v)[(*n)++];
}

static int removed_by(const struct rollout_result *res, const struct obs_container *c)
{
	size_t i;

	for (i = 0; i < res->n_ops; i++)
		if (res->ops[i].kind == ROLLOUT_REMOVE && res->ops[i].c == c)
			return 1;
	return 0;
}

static void slot_service_op(struct rollout_result *out, const struct slot_service *s, const char *deployment)
{
	size_t k = out->n_ops;

	if (s->create > 0) {
		int r = s->keep > s->create ? s->keep : s->create;

		rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, s->name, 0, "%s slot %s: %d task%s%s", deployment,
			       s->slot[0] ? s->slot : "blue", r, r == 1 ? "" : "s",
			       s->stable ? " at the last healthy revision" : "");
		out->ops[k].replicas = r;
	} else if (s->removed > 0) {
		if (s->keep > 0)
			rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, s->name, 0, "%s slot %s: %d of %d tasks kept",
				       deployment, s->slot[0] ? s->slot : "blue", s->keep, s->alive);
		else
			rollout_add_op(out, ROLLOUT_SERVICE, -1, NULL, s->name, 0, "%s slot %s released", deployment,
				       s->slot[0] ? s->slot : "blue");
		out->ops[k].replicas = s->keep;
	} else {
		return;
	}
	snprintf(out->ops[k].slot, sizeof(out->ops[k].slot), "%s", s->slot);
	out->ops[k].stable = s->stable;
}

void rollout_swarm_slots(struct rollout_result *res, const struct rollout_ctr *v, size_t n, const char *name_prefix,
			 const char *deployment)
{
	struct slot_service *svc = NULL;
	struct rollout_result out = *res;
	size_t n_svc = 0, i;

	for (i = 0; i < n; i++) {
		const struct obs_container *c = v[i].c;
		struct slot_service *s;

		/* Every task listed is one Swarm runs or starts (one that stopped is not a container here). */
		if (c->state == OBS_REMOVING || c->swarm_service == NULL)
			continue;
		s = slot_service_get(&svc, &n_svc, c->swarm_service, c->slot);
		s->alive++;
		if (removed_by(res, c))
			s->removed++;
		else if (c->ordinal >= 0 && c->ordinal + 1 > s->keep)
			s->keep = c->ordinal + 1;
	}
	for (i = 0; i < res->n_ops; i++) {
		const struct rollout_op *op = &res->ops[i];
		struct slot_service *s;
		char base[256], *name;

		if (op->kind != ROLLOUT_CREATE)
			continue;
		snprintf(base, sizeof(base), "%s-%s", deployment, op->slot[0] ? op->slot : "blue");
		name = desired_prefixed(name_prefix, base);
		s = slot_service_get(&svc, &n_svc, name, op->slot);
		free(name);
		if (op->ordinal + 1 > s->create)
			s->create = op->ordinal + 1;
		s->stable |= op->stable;
	}
	out.ops = NULL;
	out.n_ops = 0;
	for (i = 0; i < n_svc; i++) {
		slot_service_op(&out, &svc[i], deployment);
		free(svc[i].name);
	}
	free(svc);
	rollout_result_release(res);
	*res = out;
	res->waiting = !res->complete && res->n_ops == 0;
}

void rollout_swarm_ordinals(struct rollout_result *res, int replicas, const char *name_prefix,
			    const char *deployment)
{
	struct rollout_result out = *res;
	size_t i, j;

	out.ops = NULL;
	out.n_ops = 0;
	for (i = 0; i < res->n_ops; i++) {
		const struct rollout_op *op = &res->ops[i];
		int ord = op->kind == ROLLOUT_CREATE ? op->ordinal : op->c ? op->c->ordinal : -1;
		char base[256], *name;

		if (op->kind == ROLLOUT_START || ord < 0)
			continue;
		snprintf(base, sizeof(base), "%s-%d", deployment, ord);
		name = desired_prefixed(name_prefix, base);
		/* A task of another service (not an ordinal's) goes with its service. */
		if (op->kind == ROLLOUT_REMOVE && op->c->swarm_service && strcmp(op->c->swarm_service, name) != 0) {
			free(name);
			name = xstrdup(op->c->swarm_service);
			ord = replicas;
		}
		for (j = 0; j < out.n_ops && strcmp(out.ops[j].name, name) != 0; j++)
			;
		if (j == out.n_ops) {
			rollout_add_op(&out, ROLLOUT_SERVICE, ord, NULL, name, 0, "%s", op->why);
			out.ops[j].replicas = ord < replicas ? 1 : 0;
		}
		free(name);
	}
	rollout_result_release(res);
	*res = out;
	res->waiting = !res->complete && res->n_ops == 0;
}
