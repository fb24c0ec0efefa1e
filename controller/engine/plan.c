/* The plan: compares desired and observed state and lists what differs and why, grouped by phase. */
#include "engine/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "policy.h"
#include "spec_backup.h"
#include "strv.h"
#include "util.h"

const char *plan_kind_name(enum plan_kind k)
{
	static const char *const names[PLAN_KIND_COUNT] = {
		"create", "replace", "start", "remove-superseded", "remove-duplicate", "scale-down", "remove-orphan",
	};

	return NAME_OF(names, k, "?");
}

const char *plan_strategy_name(enum spec_strategy_type t)
{
	static const char *const names[] = { "Rolling", "Recreate", "BlueGreen", "Canary" };

	return NAME_OF(names, t, "?");
}

void plan_init(struct plan *p)
{
	memset(p, 0, sizeof(*p));
}

static void action_release(struct plan_action *a)
{
	FREE_ALL(a->deployment, a->container, a->container_id, a->from_rev, a->to_rev, a->reason, a->host, a->node);
}

void plan_release(struct plan *p)
{
	size_t i, j;

	for (i = 0; i < p->n_deps; i++) {
		struct plan_deployment *pd = &p->deps[i];

		FREE_ALL(pd->name, pd->role, pd->from_rev, pd->held_reason, pd->refused);
		strv_free_n(pd->diff, pd->n_diff);
		strv_free_n(pd->backups, pd->n_backups);
		strv_free_n(pd->hooks, pd->n_hooks);
		strv_free_n(pd->post_hooks, pd->n_post_hooks);
		strv_free_n(pd->rollback_hooks, pd->n_rollback_hooks);
		for (j = 0; j < pd->n_actions; j++)
			action_release(&pd->actions[j]);
		free(pd->actions);
	}
	free(p->deps);
	for (i = 0; i < p->n_orphans; i++)
		action_release(&p->orphans[i]);
	free(p->orphans);
	memset(p, 0, sizeof(*p));
}

int plan_refuse(struct plan *p, const char *deployment, const char *why)
{
	size_t i, j;

	for (i = 0; i < p->n_deps; i++) {
		struct plan_deployment *pd = &p->deps[i];

		if (strcmp(pd->name, deployment) != 0 || pd->refused)
			continue;
		for (j = 0; j < pd->n_actions; j++) {
			p->counts[pd->actions[j].kind]--;
			p->n_changes--;
			action_release(&pd->actions[j]);
		}
		free(pd->actions);
		pd->actions = NULL;
		pd->n_actions = 0;
		pd->refused = xstrdup(why);
		p->n_refused++;
		return 1;
	}
	return 0;
}

void plan_target(struct plan_target *t, const struct desired *d, const struct desired_deployment *dd,
		 const struct statefile *st)
{
	const struct statefile_entry *e = st ? statefile_get((struct statefile *)st, dd->name, 0) : NULL;
	struct decide_rollback_in ri;

	t->rev = dd->revision;
	t->tmpl = &dd->tmpl;
	t->held = 0;
	t->name_prefix = d->name_prefix;
	if (e == NULL || !statefile_is_failed(st, dd->name, dd->revision, d->commit))
		return;
	/* Back to the last healthy revision; when that is the failed one (a rollback by hand), the one before. */
	memset(&ri, 0, sizeof(ri));
	ri.rev = dd->revision;
	ri.healthy_rev = e->has_healthy ? e->healthy_rev : NULL;
	ri.previous_rev = e->has_previous ? e->previous_rev : NULL;
	switch (decide_rollback(&ri)) {
	case DECIDE_BACK_HEALTHY:
		t->rev = e->healthy_rev;
		t->tmpl = e->healthy_tmpl;
		t->held = 1;
		break;
	case DECIDE_BACK_PREVIOUS:
		t->rev = e->previous_rev;
		t->tmpl = e->previous_tmpl;
		t->held = 1;
		break;
	case DECIDE_BACK_NONE:
		break;
	}
}

size_t plan_tmpl_refused(const struct spec_set *set, const struct desired_tmpl *t, const char *rev, char *msg,
			 size_t n)
{
	struct spec_policy_tmpl pt;
	char **hp = xcalloc(t->n_volumes + 1, sizeof(*hp));
	size_t i, refused;

	for (i = 0; i < t->n_volumes; i++)
		hp[i] = t->volumes[i].host_path;
	memset(&pt, 0, sizeof(pt));
	pt.privileged = t->privileged;
	pt.network = t->network;
	pt.image = t->image;
	pt.cap_add = t->cap_add;
	pt.n_cap_add = strv_len(t->cap_add);
	pt.host_paths = hp;
	pt.n_volumes = t->n_volumes;
	pt.memory_limit = t->memory_bytes;
	pt.cpu_millis = t->cpu_millis;
	refused = spec_policy_check_set_template(set, &pt, rev, msg, n);
	free(hp);
	return refused;
}

static void add_action(struct plan_action **v, size_t *n, enum plan_kind k, const char *dep, int ordinal,
		       const struct obs_container *c, const char *create_name, const char *to_rev, char *reason)
{
	struct plan_action *a;

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	a = &(*v)[(*n)++];
	memset(a, 0, sizeof(*a));
	a->kind = k;
	a->deployment = xstrdup(dep ? dep : "");
	a->ordinal = ordinal;
	a->container = xstrdup(c ? c->name : (create_name ? create_name : ""));
	a->container_id = c ? xstrdup(c->id) : NULL;
	a->host = c ? xstrdup_or_null(c->host) : NULL;
	a->node = c ? xstrdup_or_null(c->node_name) : NULL;
	a->from_rev = c ? xstrdup_or_null(c->revision) : NULL;
	a->to_rev = xstrdup_or_null(to_rev);
	a->reason = reason;
}

static int short_eq(const char *a, const char *b)
{
	/* A label may hold a short revision: equal when one is a prefix of the other. */
	size_t n;

	if (a == NULL || b == NULL)
		return 0;
	n = strlen(a) < strlen(b) ? strlen(a) : strlen(b);
	return n >= 6 && strncmp(a, b, n) == 0;
}

/* An image name that differs from the template's, other than Docker's id-for-a-moved-tag. */
static int image_drift(const struct obs_container *c, const struct desired_tmpl *t)
{
	if (c->image == NULL || t->image == NULL || observe_image_is_id(c->image))
		return 0;
	return strcmp(c->image, t->image) != 0;
}

/* The container whose revision most containers run: what a replacement comes from (the first such). */
static size_t most_common(const struct obs_deployment *od)
{
	size_t i, j, best = 0;

	for (i = 0; i < od->n; i++) {
		size_t count = 0, bcount = 0;

		for (j = 0; j < od->n; j++) {
			if (strcmp(od->v[j]->revision, od->v[i]->revision) == 0)
				count++;
			if (strcmp(od->v[j]->revision, od->v[best]->revision) == 0)
				bcount++;
		}
		if (count > bcount)
			best = i;
	}
	return best;
}

/* What changes from the revision most containers run (from, pd->from_rev) to the target's template. */
static void plan_diff(struct plan_deployment *pd, const struct desired_deployment *dd, const struct obs_container *from,
		      const struct plan_target *t, const struct statefile *st)
{
	const struct desired_tmpl *known;

	if (pd->from_rev == NULL || short_eq(pd->from_rev, t->rev))
		return;
	known = st ? statefile_tmpl(st, dd->name, pd->from_rev) : NULL;
	if (known) {
		desired_tmpl_diff(known, t->tmpl, &pd->diff, &pd->n_diff);
		return;
	}
	pd->diff = xcalloc(2, sizeof(*pd->diff));
	pd->n_diff = 1;
	if (from->image && t->tmpl->image && strcmp(from->image, t->tmpl->image) != 0)
		pd->diff[0] = xasprintf("image: %s -> %s", from->image, t->tmpl->image);
	else
		pd->diff[0] = xasprintf("template: revision %.12s -> %.12s (the earlier template is not known)",
				  pd->from_rev, t->rev);
}

/* The containers at an ordinal that are not the one standing for it (cur): why each goes. */
static void plan_others(struct plan_deployment *pd, const struct desired_deployment *dd,
			const struct obs_deployment *od, const struct plan_target *t, int ordinal, size_t start,
			size_t end, const struct obs_container *cur)
{
	size_t j;

	for (j = start; j < end; j++) {
		const struct obs_container *c = od->v[j];

		if (c == cur)
			continue;
		if (short_eq(c->revision, t->rev) && !image_drift(c, t->tmpl))
			add_action(&pd->actions, &pd->n_actions, PLAN_REMOVE_DUPLICATE, dd->name, ordinal, c, NULL,
				   NULL, xasprintf("second container at revision %.12s", t->rev));
		else if (cur != NULL)
			add_action(&pd->actions, &pd->n_actions, PLAN_REMOVE_SUPERSEDED, dd->name, ordinal, c, NULL,
				   NULL, xasprintf("replaced by %s", cur->name));
		else if (short_eq(c->revision, t->rev))
			add_action(&pd->actions, &pd->n_actions, PLAN_REPLACE, dd->name, ordinal, c, NULL, t->rev,
				   xasprintf("changed by hand: image %s, the template says %s", c->image, t->tmpl->image));
		else
			add_action(&pd->actions, &pd->n_actions, PLAN_REPLACE, dd->name, ordinal, c, NULL, t->rev,
				   xasprintf("revision %.12s -> %.12s", c->revision, t->rev));
	}
}

/* One ordinal within replicas, its containers od->v[start..end): create, replace, remove or start. */
static void plan_ordinal(struct plan_deployment *pd, const struct desired_deployment *dd,
			 const struct obs_deployment *od, const struct plan_target *t, int ordinal, size_t start,
			 size_t end)
{
	const struct obs_container *cur = NULL;
	size_t j;

	if (start == end) {
		char *name = desired_container_name(t->name_prefix, dd->name, ordinal, NULL);

		add_action(&pd->actions, &pd->n_actions, PLAN_CREATE, dd->name, ordinal, NULL, name, t->rev,
			   pd->observed > 0 && ordinal >= pd->observed ? xasprintf("scale up to %d replicas", dd->replicas)
								       : xstrdup("missing"));
		free(name);
		return;
	}
	/* The container at the target that best stands for the ordinal: running first. */
	for (j = start; j < end; j++) {
		const struct obs_container *c = od->v[j];

		if (!short_eq(c->revision, t->rev) || image_drift(c, t->tmpl))
			continue;
		if (cur == NULL || (!obs_container_alive(cur) && obs_container_alive(c)))
			cur = c;
	}
	plan_others(pd, dd, od, t, ordinal, start, end, cur);
	if (cur && !obs_container_alive(cur))
		add_action(&pd->actions, &pd->n_actions, PLAN_START, dd->name, ordinal, cur, NULL, t->rev,
			   xasprintf("%s, not running", obs_state_name(cur->state)));
	else if (cur)
		pd->up_to_date++;
}

/*
 * A held template the policy refuses now: apply fails the deployment and
 * changes nothing of it (engine_pass.c), so the plan lists no action, only why.
 */
static int plan_refused(struct plan *p, struct plan_deployment *pd, const struct plan_target *t,
			const struct plan_options *opt)
{
	char why[900];

	if (!t->held || opt == NULL || !opt->check_policy)
		return 0;
	if (plan_tmpl_refused(opt->set, t->tmpl, t->rev, why, sizeof(why)) == 0)
		return 0;
	pd->refused = xasprintf("cannot roll back: %s", why);
	p->n_refused++;
	return 1;
}

/*
 * Whether the rollout of rev has begun: healthy or applied at it, or a
 * container runs it. Its containers were touched already, so no preDeploy
 * hook stands before it.
 */
static int rollout_begun(const struct statefile_entry *se, const struct obs_deployment *od, const char *rev)
{
	size_t i;

	if (se && ((se->has_healthy && strcmp(se->healthy_rev, rev) == 0) ||
		   (se->has_applied && strcmp(se->applied_rev, rev) == 0)))
		return 1;
	for (i = 0; od && i < od->n; i++)
		if (obs_revision_eq(od->v[i]->revision, rev))
			return 1;
	return 0;
}

void plan_hooks_done(const struct statefile *st, const char *deployment, const char *rev, const char *stage,
		     char *const *jobs, size_t n, unsigned char *done)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *key = xasprintf("%s/%s", stage, jobs[i]);

		done[i] = (unsigned char)(st != NULL && statefile_hook_done(st, deployment, rev, key));
		free(key);
	}
}

size_t plan_before_rollout(const struct desired_deployment *dd, const struct statefile *st,
			   const struct obs_deployment *od, const char *rev, int turn, int held, const char *stage,
			   char *const *jobs, size_t n, unsigned char *done)
{
	struct decide_hook_in in;

	plan_hooks_done(st, dd->name, rev, stage, jobs, n, done);
	memset(&in, 0, sizeof(in));
	in.turn = turn;
	in.held = held;
	in.begun = rollout_begun(statefile_get((struct statefile *)st, dd->name, 0), od, rev);
	in.done = done;
	in.n = n;
	return decide_pre_deploy(&in);
}

size_t plan_pre_deploy(const struct desired_deployment *dd, const struct statefile *st,
		       const struct obs_deployment *od, const char *rev, int turn, int held, unsigned char *done)
{
	const struct spec_hooks *hk = &dd->spec->hooks;

	return plan_before_rollout(dd, st, od, rev, turn, held, "preDeploy", hk->pre_deploy, hk->n_pre_deploy, done);
}

size_t plan_backups_before(const struct spec_set *set, const struct desired_deployment *dd,
			   const struct statefile *st, const struct obs_deployment *od, const char *rev, int turn,
			   int held, char ***names, size_t *n)
{
	const struct spec_backup_policy **pols = NULL;
	unsigned char *done;
	size_t i, next;

	*n = spec_backup_before(set, dd->name, &pols);
	*names = xcalloc(*n + 1, sizeof(**names));
	for (i = 0; i < *n; i++)
		(*names)[i] = xstrdup(pols[i]->meta.name);
	free(pols);
	done = xcalloc(*n + 1, 1);
	next = plan_before_rollout(dd, st, od, rev, turn, held, PLAN_BACKUP_STAGE, *names, *n, done);
	free(done);
	return next;
}

/* The jobs of a stage whose done[i] is 0, into *out (NULL and 0 when none). */
static void hooks_left(char *const *jobs, size_t n, const unsigned char *done, char ***out, size_t *n_out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (done[i])
			continue;
		if (*out == NULL)
			*out = xcalloc(n, sizeof(char *));
		(*out)[(*n_out)++] = xstrdup(jobs[i]);
	}
}

/*
 * The hooks of a change of the deployment (its turn taken to come): the
 * preDeploy ones it runs first, the postDeploy ones it runs once healthy at
 * the new revision (until it is recorded so), and the onRollback ones it
 * would run when rolled back; held, those not run yet since it failed.
 */
static void plan_hooks(struct plan_deployment *pd, const struct desired_deployment *dd,
		       const struct obs_deployment *od, const struct plan_target *t, const struct statefile *st,
		       const struct spec_set *opt_set)
{
	const struct spec_hooks *hk = dd->spec ? &dd->spec->hooks : NULL;
	const struct statefile_entry *se = st ? statefile_get((struct statefile *)st, dd->name, 0) : NULL;
	size_t n = hk ? hk->n_pre_deploy + hk->n_post_deploy + hk->n_on_rollback : 0;
	unsigned char *done;
	int reached = se && se->has_healthy && strcmp(se->healthy_rev, t->rev) == 0;

	if (pd->n_actions > 0 && dd->spec && opt_set != NULL) {
		char **names = NULL;
		size_t nb = 0, next = plan_backups_before(opt_set, dd, st, od, t->rev, 1, t->held, &names, &nb), i;

		for (i = next; i < nb; i++) {
			if (pd->backups == NULL)
				pd->backups = xcalloc(nb, sizeof(char *));
			pd->backups[pd->n_backups++] = xstrdup(names[i]);
		}
		strv_free(names);
	}
	if (n == 0)
		return;
	done = xcalloc(n, 1);
	if (pd->n_actions > 0 && plan_pre_deploy(dd, st, od, t->rev, 1, t->held, done) < hk->n_pre_deploy)
		hooks_left(hk->pre_deploy, hk->n_pre_deploy, done, &pd->hooks, &pd->n_hooks);
	if (!t->held && !reached) {
		plan_hooks_done(st, dd->name, t->rev, "postDeploy", hk->post_deploy, hk->n_post_deploy, done);
		hooks_left(hk->post_deploy, hk->n_post_deploy, done, &pd->post_hooks, &pd->n_post_hooks);
	}
	if (t->held || (pd->n_actions > 0 && !reached)) {
		/* Their records go under the revision rolled back from: the desired one. */
		plan_hooks_done(st, dd->name, dd->revision, "onRollback", hk->on_rollback, hk->n_on_rollback, done);
		hooks_left(hk->on_rollback, hk->n_on_rollback, done, &pd->rollback_hooks, &pd->n_rollback_hooks);
	}
	free(done);
}

/* od without the stopped tasks' containers, in *keep (its v allocated: the caller frees it). */
static const struct obs_deployment *swarm_tasks(const struct obs_deployment *od, struct obs_deployment *keep)
{
	size_t i;

	keep->name = od->name;
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers, one a container */
	keep->v = xcalloc(od->n + 1, sizeof(*keep->v));
	keep->n = 0;
	for (i = 0; i < od->n; i++)
		if (obs_container_alive(od->v[i]) && od->v[i]->state != OBS_REMOVING)
			keep->v[keep->n++] = od->v[i];
	return keep;
}

static void plan_one(struct plan *p, struct plan_deployment *pd, const struct desired *d,
		     const struct desired_deployment *dd, const struct obs_deployment *od,
		     const struct statefile *st, const struct plan_options *opt)
{
	struct plan_target t;
	struct obs_deployment tasks;
	size_t i = 0, j;
	int ordinal;

	memset(&tasks, 0, sizeof(tasks));
	/* On a swarm, a task's container that stopped is history, not a replica. */
	if (od && opt && spec_set_swarm(opt->set))
		od = swarm_tasks(od, &tasks);

	plan_target(&t, d, dd, st);
	pd->name = xstrdup(dd->name);
	pd->role = xstrdup(dd->role ? dd->role : "");
	pd->phase = dd->phase;
	pd->strategy = plan_strategy_name(dd->strategy);
	snprintf(pd->to_rev, sizeof(pd->to_rev), "%s", t.rev);
	pd->desired = dd->replicas;
	pd->observed = od ? (int)od->n : 0;
	pd->held = t.held;
	if (od && od->n)
		pd->from_rev = xstrdup(od->v[most_common(od)]->revision);
	if (plan_refused(p, pd, &t, opt)) {
		free(tasks.v);
		return;
	}
	if (t.held) {
		const struct statefile_entry *e = statefile_get((struct statefile *)st, dd->name, 0);

		pd->held_reason = xasprintf("revision %.12s failed%s%s; holding the last healthy revision %.12s",
				      dd->revision, statefile_failed_reason(e) ? ": " : "",
				      statefile_failed_reason(e) ? statefile_failed_reason(e) : "", t.rev);
	}
	if (od && od->n)
		plan_diff(pd, dd, od->v[most_common(od)], &t, st);
	/* od is sorted by ordinal: each ordinal's containers are the run that starts at i. */
	for (ordinal = 0; ordinal < dd->replicas || (od && i < od->n); ordinal++) {
		size_t start = i;

		while (od && i < od->n && od->v[i]->ordinal == ordinal)
			i++;
		if (ordinal < dd->replicas) {
			plan_ordinal(pd, dd, od, &t, ordinal, start, i);
			continue;
		}
		for (j = start; j < i; j++)
			add_action(&pd->actions, &pd->n_actions, PLAN_SCALE_DOWN, dd->name, ordinal, od->v[j], NULL,
				   NULL, xasprintf("ordinal %d is past replicas %d", ordinal, dd->replicas));
	}
	plan_hooks(pd, dd, od, &t, st, opt ? opt->set : NULL);
	for (j = 0; j < pd->n_actions; j++)
		p->counts[pd->actions[j].kind]++;
	p->n_changes += pd->n_actions;
	free(tasks.v);
}

void plan_build(struct plan *p, const struct desired *d, const struct observed *o, const struct statefile *st,
		const struct plan_options *opt)
{
	size_t i;

	plan_release(p);
	p->n_phases = d->n_phases;
	p->deps = d->n ? xcalloc(d->n, sizeof(*p->deps)) : NULL;
	for (i = 0; i < d->n; i++)
		plan_one(p, &p->deps[p->n_deps++], d, &d->v[i], observed_deployment(o, d->v[i].name), st, opt);
	for (i = 0; i < o->n_deployments; i++) {
		const struct obs_deployment *od = &o->deployments[i];
		size_t j;

		if (desired_find(d, od->name) != NULL)
			continue;
		if (!(opt && opt->prune)) {
			p->n_kept += od->n;
			continue;
		}
		for (j = 0; j < od->n; j++)
			add_action(&p->orphans, &p->n_orphans, PLAN_REMOVE_ORPHAN, od->name, od->v[j]->ordinal,
				   od->v[j], NULL, NULL, xstrdup("deployment removed from the specs"));
	}
	for (i = 0; i < o->n_containers; i++) {
		const struct obs_container *c = o->containers[i];

		if (c->malformed)
			add_action(&p->orphans, &p->n_orphans, PLAN_REMOVE_ORPHAN, NULL, -1, c, NULL, NULL,
				   xasprintf("ours, but %s", c->malformed_why));
	}
	p->counts[PLAN_REMOVE_ORPHAN] += p->n_orphans;
	p->n_changes += p->n_orphans;
}

/* -------------------------------------------------------------- output */

static const char *sym(enum plan_kind k)
{
	switch (k) {
	case PLAN_CREATE: return "+";
	case PLAN_REPLACE: return "-/+";
	case PLAN_START: return "~";
	default: return "-";
	}
}

static const char *colour(enum plan_kind k)
{
	switch (k) {
	case PLAN_CREATE: return "\033[32m";
	case PLAN_REPLACE: return "\033[33m";
	case PLAN_START: return "\033[33m";
	default: return "\033[31m";
	}
}

static void render_action(struct buf *out, const struct plan_action *a, int color)
{
	(void)buf_printf(out, "      %s%s %s %s%s%s%s  (%s)\n", color ? colour(a->kind) : "", sym(a->kind),
			 plan_kind_name(a->kind), a->container, a->node ? " on node " : "", a->node ? a->node : "",
			 color ? "\033[0m" : "", a->reason);
}

/* The deployment's hooks, each on a line of its own under it. */
static void render_hooks(struct buf *out, const struct plan_deployment *pd)
{
	size_t j;

	for (j = 0; j < pd->n_backups; j++)
		(void)buf_printf(out, "      backup '%s' (BackupPolicy spec.before) is taken first\n", pd->backups[j]);
	for (j = 0; j < pd->n_hooks; j++)
		(void)buf_printf(out, "      preDeploy hook '%s' runs first\n", pd->hooks[j]);
	for (j = 0; j < pd->n_post_hooks; j++)
		(void)buf_printf(out, "      postDeploy hook '%s' runs once healthy\n", pd->post_hooks[j]);
	for (j = 0; j < pd->n_rollback_hooks; j++)
		(void)buf_printf(out, "      onRollback hook '%s' runs %s\n", pd->rollback_hooks[j],
				 pd->held ? "once rolled back" : "on rollback");
}

void plan_render_text(const struct plan *p, const struct desired *d, struct buf *out, int color)
{
	int phase;
	size_t i, j, held_refused = 0;
	size_t removes = p->counts[PLAN_REMOVE_SUPERSEDED] + p->counts[PLAN_REMOVE_DUPLICATE] +
			 p->counts[PLAN_SCALE_DOWN] + p->counts[PLAN_REMOVE_ORPHAN];

	(void)buf_printf(out, "auriga plan for instance '%s'%s%s: %zu deployments in %d phases\n\n", d->instance,
			 d->commit && d->commit[0] ? " at commit " : "", d->commit ? d->commit : "", p->n_deps,
			 p->n_phases);
	for (phase = 0; phase < p->n_phases; phase++) {
		const char *role = NULL;

		for (i = 0; i < p->n_deps; i++)
			if (p->deps[i].phase == phase && role == NULL)
				role = p->deps[i].role;
		(void)buf_printf(out, "phase %d%s%s%s\n", phase + 1, role && role[0] ? " (" : "", role ? role : "",
				 role && role[0] ? ")" : "");
		for (i = 0; i < p->n_deps; i++) {
			const struct plan_deployment *pd = &p->deps[i];

			if (pd->phase != phase)
				continue;
			if (pd->refused) {
				(void)buf_printf(out, "  ! %s%s: %s, %d replicas, revision %.12s -> %.12s refused\n"
						 "      ! %s\n", pd->name, pd->held ? " (held)" : "", pd->strategy, pd->desired,
						 pd->from_rev ? pd->from_rev : "(none)", pd->to_rev, pd->refused);
				continue;
			}
			if (pd->n_actions == 0) {
				(void)buf_printf(out, "  = %s%s: up to date, %d/%d at revision %.12s\n", pd->name,
						 pd->held ? " (held)" : "", pd->up_to_date, pd->desired, pd->to_rev);
				if (pd->held_reason)
					(void)buf_printf(out, "      ! %s\n", pd->held_reason);
				render_hooks(out, pd);
				continue;
			}
			(void)buf_printf(out, "  %s %s%s: %s, %d replicas, revision %.12s -> %.12s\n",
					 pd->observed ? "~" : "+", pd->name, pd->held ? " (held)" : "", pd->strategy,
					 pd->desired, pd->from_rev ? pd->from_rev : "(none)", pd->to_rev);
			if (pd->held_reason)
				(void)buf_printf(out, "      ! %s\n", pd->held_reason);
			render_hooks(out, pd);
			for (j = 0; j < pd->n_diff; j++)
				(void)buf_printf(out, "      %s\n", pd->diff[j]);
			for (j = 0; j < pd->n_actions; j++)
				render_action(out, &pd->actions[j], color);
		}
		(void)buf_putc(out, '\n');
	}
	if (p->n_orphans) {
		(void)buf_printf(out, "not in the specs\n");
		for (i = 0; i < p->n_orphans; i++)
			render_action(out, &p->orphans[i], color);
		(void)buf_putc(out, '\n');
	}
	if (p->n_kept)
		(void)buf_printf(out, "%zu containers of deployments no longer in the specs are kept (prune is off)\n\n",
				 p->n_kept);
	for (i = 0; i < p->n_deps; i++)
		held_refused += p->deps[i].refused && p->deps[i].held;
	if (held_refused)
		(void)buf_printf(out, "Refused: %zu deployment%s cannot be rolled back under the operator's policy; "
				 "apply fails %s.\n", held_refused, held_refused == 1 ? "" : "s",
				 held_refused == 1 ? "it" : "them");
	if (p->n_refused > held_refused)
		(void)buf_printf(out, "Refused: %zu deployment%s the operator's policy refuses on the engine; apply "
				 "fails %s.\n", p->n_refused - held_refused, p->n_refused - held_refused == 1 ? "" : "s",
				 p->n_refused - held_refused == 1 ? "it" : "them");
	if (p->n_changes == 0)
		(void)buf_printf(out, p->n_refused ? "No other changes.\n" : "No changes. The fleet matches the specs.\n");
	else
		(void)buf_printf(out, "Plan: %zu to create, %zu to replace, %zu to start, %zu to remove.\n",
				 p->counts[PLAN_CREATE], p->counts[PLAN_REPLACE], p->counts[PLAN_START], removes);
}

/* An action as JSON: a NULL string (s*) leaves its key out, as for a create's container id. */
static json_t *action_json(const struct plan_action *a)
{
	return json_pack("{s:s*, s:s*, s:i, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*, s:s*}", "action",
			 plan_kind_name(a->kind), "deployment", a->deployment[0] ? a->deployment : NULL, "ordinal",
			 a->ordinal, "container", a->container, "containerId", a->container_id, "fromRevision",
			 a->from_rev, "toRevision", a->to_rev, "reason", a->reason, "host", a->host, "node", a->node);
}

json_t *plan_to_json(const struct plan *p, const struct desired *d)
{
	json_t *root = json_object(), *phases = json_array(), *orphans = json_array(), *counts = json_object();
	int phase;
	size_t i, j;

	json_object_set_new(root, "instance", json_string(d->instance));
	json_object_set_new(root, "commit", json_string(d->commit ? d->commit : ""));
	for (phase = 0; phase < p->n_phases; phase++) {
		json_t *ph = json_object(), *deps = json_array();

		json_object_set_new(ph, "phase", json_integer(phase));
		for (i = 0; i < p->n_deps; i++) {
			const struct plan_deployment *pd = &p->deps[i];
			json_t *o, *diff, *acts;

			if (pd->phase != phase)
				continue;
			o = json_object();
			diff = json_array();
			acts = json_array();
			json_object_set_new(o, "name", json_string(pd->name));
			json_object_set_new(o, "role", json_string(pd->role));
			json_object_set_new(o, "strategy", json_string(pd->strategy));
			json_object_set_new(o, "revision", json_string(pd->to_rev));
			json_object_set_new(o, "fromRevision", pd->from_rev ? json_string(pd->from_rev) : json_null());
			json_object_set_new(o, "desired", json_integer(pd->desired));
			json_object_set_new(o, "observed", json_integer(pd->observed));
			json_object_set_new(o, "upToDate", json_integer(pd->up_to_date));
			json_object_set_new(o, "held", json_boolean(pd->held));
			if (pd->held_reason)
				json_object_set_new(o, "heldReason", json_string(pd->held_reason));
			if (pd->refused)
				json_object_set_new(o, "refused", json_string(pd->refused));
			for (j = 0; j < pd->n_diff; j++)
				json_array_append_new(diff, json_string(pd->diff[j]));
			json_object_set_new(o, "diff", diff);
			json_object_set_new(o, "backupsBefore", strv_to_json(pd->backups, pd->n_backups));
			json_object_set_new(o, "preDeployHooks", strv_to_json(pd->hooks, pd->n_hooks));
			json_object_set_new(o, "postDeployHooks", strv_to_json(pd->post_hooks, pd->n_post_hooks));
			json_object_set_new(o, "onRollbackHooks",
					    strv_to_json(pd->rollback_hooks, pd->n_rollback_hooks));
			for (j = 0; j < pd->n_actions; j++)
				json_array_append_new(acts, action_json(&pd->actions[j]));
			json_object_set_new(o, "actions", acts);
			json_array_append_new(deps, o);
		}
		json_object_set_new(ph, "deployments", deps);
		json_array_append_new(phases, ph);
	}
	json_object_set_new(root, "phases", phases);
	for (i = 0; i < p->n_orphans; i++)
		json_array_append_new(orphans, action_json(&p->orphans[i]));
	json_object_set_new(root, "orphans", orphans);
	json_object_set_new(root, "kept", json_integer((json_int_t)p->n_kept));
	for (i = 0; i < PLAN_KIND_COUNT; i++)
		json_object_set_new(counts, plan_kind_name((enum plan_kind)i), json_integer((json_int_t)p->counts[i]));
	json_object_set_new(root, "counts", counts);
	json_object_set_new(root, "changes", json_integer((json_int_t)p->n_changes));
	json_object_set_new(root, "refused", json_integer((json_int_t)p->n_refused));
	return root;
}

void plan_place(struct plan *p, const struct desired *d, const struct observed *o, const struct spec_set *set)
{
	size_t i, j;

	for (i = 0; i < p->n_deps; i++) {
		struct plan_deployment *pd = &p->deps[i];
		const struct desired_deployment *dd = desired_find(d, pd->name);
		int *at = NULL;

		for (j = 0; j < pd->n_actions; j++) {
			struct plan_action *a = &pd->actions[j];

			if (a->container_id || dd == NULL || a->ordinal < 0 || a->ordinal >= dd->replicas)
				continue;
			if (at == NULL) {
				at = xcalloc((size_t)dd->replicas + 1, sizeof(*at));
				desired_place(set, dd, observed_deployment(o, dd->name), NULL, at);
			}
			if (at[a->ordinal] >= 0)
				a->host = xstrdup(desired_endpoint_name(set, (size_t)at[a->ordinal]));
		}
		free(at);
	}
}
