/* A deployment's part of a pass, step by step (turn, verdicts, strategy, liveness, deadline, completion); orphans. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "engine/engine_internal.h"
#include "engine/engine_service.h"
#include "probe/probe.h"
#include "runtime/log.h"
#include "util.h"

static int reached_at(const void *arg, size_t i)
{
	const struct engine *e = arg;

	return engine_reached(e, &e->desired.v[i]);
}

/*
 * The first earlier deployment this one waits for, or NULL when its turn has
 * come (decide_blocker). e->reach_ok carries the reached prefix of the specs'
 * order from one deployment of the pass to the next; engine_fail_deployment
 * starts it again.
 */
static const struct desired_deployment *blocker(struct engine *e, const struct desired_deployment *dd)
{
	struct decide_gate_in g;
	size_t i, *deps = dd->n_depends_on ? xcalloc(dd->n_depends_on, sizeof(*deps)) : NULL, first;

	for (i = 0; i < dd->n_depends_on; i++) {
		const struct desired_deployment *o = desired_find(&e->desired, dd->depends_on[i]);

		deps[i] = o != NULL ? (size_t)(o - e->desired.v) : e->desired.n;
	}
	memset(&g, 0, sizeof(g));
	g.phase = e->phases;
	g.n = e->desired.n;
	g.self = (size_t)(dd - e->desired.v);
	g.depends_on = deps;
	g.n_depends_on = dd->n_depends_on;
	g.reached = reached_at;
	g.arg = e;
	first = decide_blocker(&g, &e->reach_ok);
	free(deps);
	return first < e->desired.n ? &e->desired.v[first] : NULL;
}

/* A rollback of phase p waits until no later phase is still rolling back: phase by phase in reverse. */
static int later_rollback_pending(const struct engine *e, const struct desired_deployment *dd)
{
	size_t i, n = e->desired.n;
	unsigned char *rolling = xcalloc(n, 1);
	int pending;

	for (i = 0; i < n; i++) {
		const struct eng_dep *ed;

		if (e->desired.v[i].phase <= dd->phase)
			continue;
		ed = engine_dep_find(e, e->desired.v[i].name);
		rolling[i] = ed && ed->rolled_back && !ed->complete;
	}
	pending = decide_later_rollback(e->phases, rolling, n, (size_t)(dd - e->desired.v));
	free(rolling);
	return pending;
}

/* One deployment's part of a pass, carried from step to step. */
struct dep_pass {
	struct engine *e;
	const struct desired_deployment *dd;
	struct eng_dep *ed;
	const struct obs_deployment *od;
	const struct obs_container **v;	/* od's containers the rollout counts: not those moved off (engine_move.c) */
	const struct statefile_entry *se;
	const struct desired_deployment *wait;	/* the earlier deployment it waits for */
	struct plan_target t;
	int turn;
	int64_t now;
	struct rollout_input in;
	struct rollout_ctr *ctrs;
	struct decide_ctr *dc;		/* the same containers, as the decisions see them */
	struct engine_traffic_verdict tv;
	unsigned char *restart;		/* restart[i]: container i failed liveness and is to be made anew */
	char *hook_step;		/* a postDeploy or onRollback hook stands before complete: the step */
	char *service;			/* Swarm: the deployment's service's name */
	int host_wait;			/* a replica's endpoint does not answer: the deadline waits with it */
	size_t issued;
};

/* Nothing changes this pass: the step (and the deployment's state) says why. */
static void pass_stand(struct dep_pass *p, const char *why)
{
	struct eng_dep *ed = p->ed;
	struct buf step;

	rollout_result_release(&ed->res);
	ed->res.total = p->od ? (int)p->od->n : 0;
	ed->complete = 0;
	buf_init(&step, 1024);
	if (why)
		buf_puts(&step, why);
	else
		decide_step_standing(p->wait ? p->wait->name : NULL, &step);
	free(ed->step);
	ed->step = buf_detach(&step, NULL);
	ed->turn = 0;
}

/*
 * A template from the state file was written under the policy of its day:
 * one the operator's policy refuses now is not created. A rollback to it
 * fails the deployment (rollback: 1); a deployment waiting for its turn
 * keeps what runs and says why. What runs is left alone either way.
 */
static int held_refused(struct dep_pass *p, int rollback)
{
	struct eng_dep *ed = p->ed;
	char why[900], *msg;
	const char *seen;

	if (!engine_tmpl_refused(p->e, p->t.tmpl, p->t.rev, why, sizeof(why)))
		return 0;
	msg = xasprintf("%s: %s", rollback ? "cannot roll back" : "cannot keep the last healthy revision", why);
	seen = rollback ? ed->last_error : ed->step;
	if (seen == NULL || strcmp(seen, msg) != 0)
		log_error(COMPONENT, rollback ? "rollback refused by the operator's policy"
					      : "last healthy revision refused by the operator's policy",
			  "deployment", p->dd->name, "revision", p->t.rev, "reason", why, (char *)NULL);
	if (rollback) {
		str_set(&ed->last_error, msg);
		ed->failed = 1;
		ed->rolled_back = 0;
		ed->blocked = 1;
		pass_stand(p, "the rollback is refused by the operator's policy");
	} else {
		pass_stand(p, msg);
	}
	p->turn = 0;
	free(msg);
	return 1;
}

/*
 * The target and whether the deployment's turn has come. Returns 0 when it
 * is not its turn and nothing healthy is known to keep running: then there
 * is nothing to roll, and the step says why.
 */
static int pass_turn(struct dep_pass *p)
{
	struct eng_dep *ed = p->ed;
	struct decide_turn_in ti;
	struct decide_turn to;

	plan_target(&p->t, &p->e->desired, p->dd, &p->e->state);
	if (p->t.held && held_refused(p, 1))
		return 0;
	memset(&ti, 0, sizeof(ti));
	ti.held = p->t.held;
	if (p->t.held) {
		ed->rolled_back = 1;
		/* An abort by hand keeps its own phase, after a restart too. */
		ed->aborted = ed->aborted || (p->se != NULL && p->se->aborted);
		ti.later_rollback = later_rollback_pending(p->e, p->dd);
	} else {
		p->wait = blocker(p->e, p->dd);
		ti.waiting = p->wait != NULL;
	}
	ti.failed = ed->failed;
	ti.has_healthy = p->se != NULL && p->se->has_healthy;
	decide_turn(&ti, &to);
	p->turn = to.turn;
	ed->blocked = !p->turn;
	if (to.roll == DECIDE_ROLL_TARGET)
		return 1;
	if (to.roll == DECIDE_ROLL_NONE || p->se == NULL) {
		/* Not its turn and nothing healthy known to keep running: change nothing, say why. */
		pass_stand(p, NULL);
		return 0;
	}
	/* Not its turn: keep what was healthy running (under today's policy too). */
	p->t.rev = p->se->healthy_rev;
	p->t.tmpl = p->se->healthy_tmpl;
	return !held_refused(p, 0);
}

/* One container's verdict: its probe runner (started when it has none), Docker's health and the clock. */
static void pass_verdict(struct dep_pass *p, size_t i)
{
	const struct obs_container *c = p->v[i];
	struct decide_container_in ci;
	struct decide_verdict v;
	struct eng_probe *pr;
	struct probe_state bare;
	const struct probe_state *st;

	p->ctrs[i].c = c;
	if (c->unreachable) {
		/* Its endpoint does not answer: unavailable in every budget, whatever its probes last said. */
		p->ctrs[i].known = 1;
		p->host_wait = 1;
		return;
	}
	memset(&ci, 0, sizeof(ci));
	ci.alive = obs_container_alive(c);
	if (ci.alive)
		engine_probe_ensure(p->e, p->dd, c);
	/* A container that stopped since the last pass still has its runner until the sweep: its failures count. */
	pr = engine_probe_find(p->e, c->id);
	st = engine_probe_state(pr, &bare);
	ci.probed = ci.alive && st != NULL;
	if (st) {
		ci.started = st->started;
		ci.ready = st->ready;
		ci.startup_failed = st->startup_failed;
		ci.readiness_attempts = st->attempts[PROBE_READINESS];
		ci.ready_since_ms = st->ready_since_ms;
		ci.healthy_since = pr->healthy_since;
		p->dc[i].probed = 1;
		p->dc[i].startup_failed = st->startup_failed;
		p->dc[i].live_failed = st->live_failed;
	}
	ci.readiness_none = spec_deployment_probes(p->dd->spec)->readiness.kind == SPEC_PROBE_NONE;
	ci.docker_health = p->dd->tmpl.health_cmd != NULL;
	ci.exec_first = pr != NULL && pr->exec_first;
	ci.health = (enum decide_health)c->health;
	ci.min_ready_ms = (int64_t)p->dd->min_ready_seconds * 1000;
	ci.now = p->now;
	ci.wall_now = wall_ms();
	ci.created_ms = c->created * 1000;
	ci.born_wall_ms = p->e->born_wall_ms;
	decide_container(&ci, &v);
	if (st)
		pr->healthy_since = v.healthy_since;
	if (v.available_at > 0 && (p->e->wake_at == 0 || v.available_at < p->e->wake_at))
		p->e->wake_at = v.available_at;
	if (ci.probed) {
		p->ed->verdicts += v.known;
		p->ed->unknown += !v.known;
	}
	p->ctrs[i].known = v.known;
	p->ctrs[i].ready = v.ready;
	p->ctrs[i].available = v.available;
	p->dc[i].ready = v.ready;
}

/* The rollout input: the target and every container's verdict. */
static void pass_gather(struct dep_pass *p)
{
	const struct desired_deployment *dd = p->dd;
	size_t i;

	memset(&p->in, 0, sizeof(p->in));
	p->in.deployment = dd->name;
	p->in.name_prefix = p->e->desired.name_prefix;
	p->in.strategy = dd->strategy;
	p->in.replicas = dd->replicas;
	p->in.max_surge = dd->max_surge;
	p->in.max_unavailable = dd->max_unavailable;
	p->in.rev = p->t.rev;
	p->in.tmpl = p->t.tmpl;
	/* Paused by hand: what is missing is healed, but the rollout takes no step (a return to safety does). */
	p->in.heal_only = !p->turn || (p->ed->paused && !p->t.held);
	p->v = xcalloc((p->od ? p->od->n : 0) + 1, sizeof(struct obs_container *));
	for (i = 0; p->od && i < p->od->n; i++)
		if (!engine_move_old(p->e, dd, p->ed, p->od, p->od->v[i]))
			p->v[p->in.n++] = p->od->v[i];
	p->ed->unknown = 0;
	p->ed->verdicts = 0;
	p->ctrs = p->in.n ? xcalloc(p->in.n, sizeof(*p->ctrs)) : NULL;
	p->dc = p->in.n ? xcalloc(p->in.n, sizeof(*p->dc)) : NULL;
	for (i = 0; i < p->in.n; i++) {
		pass_verdict(p, i);
		p->dc[i].at_target = obs_revision_eq(p->v[i]->revision, p->t.rev);
	}
	p->in.v = p->ctrs;
	/*
	 * A container whose liveness failed is restarted, and leaves the
	 * router's upstreams first: from here it counts as not ready, so the
	 * routes of this pass leave it out, and pass_liveness stops it once
	 * NGINX serves them.
	 */
	p->restart = p->in.n ? xcalloc(p->in.n, 1) : NULL;
	(void)decide_restarts(p->dc, p->in.n, p->e->draining, p->restart);
	for (i = 0; i < p->in.n; i++)
		if (p->restart[i]) {
			p->ctrs[i].ready = 0;
			p->ctrs[i].available = 0;
		}
}

/* The step the strategy allows: the traffic releases (blue-green, canary) or rollout_step. */
static void pass_strategy(struct dep_pass *p)
{
	struct eng_dep *ed = p->ed;

	rollout_result_release(&ed->res);
	engine_traffic_verdict_release(&p->tv);
	if (!engine_traffic_handles(p->dd)) {
		if (engine_swarm_pinned(p->e, p->dd, &p->t)) {
			/* Each ordinal a service pinned to its node: the rollout is over its task, as over a container. */
			rollout_step(&p->in, &ed->res);
			rollout_swarm_ordinals(&ed->res, p->dd->replicas, p->e->desired.name_prefix, p->dd->name);
		} else if (engine_swarm(p->e)) {
			p->in.service_at_target = engine_swarm_service_at(p->e, p->dd, p->t.rev);
			p->service = desired_prefixed(p->e->desired.name_prefix, p->dd->name);
			p->in.service = p->service;
			rollout_swarm_step(&p->in, &ed->res);
		} else {
			rollout_step(&p->in, &ed->res);
		}
		/* Its Services follow the ready replicas: one leaves NGINX before it is removed. */
		engine_service_pass(engine_traffic_router(p->e->traffic), p->e->set, p->dd, p->ctrs, p->in.n,
				    &ed->res, &p->tv.fail, &p->tv.unserved);
	} else {
		engine_traffic_pass(p->e->traffic, p->dd, p->t.rev,
				    p->se && p->se->has_healthy ? p->se->healthy_rev : NULL, p->t.held, !p->turn,
				    p->ctrs, p->in.n, &ed->res, &p->tv);
		memcpy(ed->slots, p->tv.slots, sizeof(ed->slots));
		/* On Swarm each slot is a service: what the release does to its containers, done to it. */
		if (engine_swarm(p->e))
			rollout_swarm_slots(&ed->res, p->ctrs, p->in.n, p->e->desired.name_prefix, p->dd->name);
		if (p->tv.holding)
			ed->progress_at = p->now;
		/* The old slot is still to be released: the pass is not quiet yet. */
		if (p->tv.more && p->turn)
			p->issued++;
	}
	if (p->tv.fail && p->turn && !p->t.held) {
		/* The next pass returns to the stable slot: nothing of this decision is carried out. */
		engine_fail_deployment(p->e, p->dd, p->tv.fail);
		rollout_result_release(&ed->res);
		engine_kick(p->e);
	}
}

/* When the deployment last made progress: the deadline counts from there, across restarts too. */
static void pass_progress(struct dep_pass *p)
{
	struct engine *e = p->e;
	struct eng_dep *ed = p->ed;
	struct decide_progress_in pi;
	struct decide_progress po;

	memset(&pi, 0, sizeof(pi));
	pi.turn = p->turn;
	pi.was_turn = ed->turn;
	pi.retarget = strcmp(ed->target, p->t.rev) != 0;
	pi.complete = ed->res.complete;
	pi.was_complete = ed->complete;
	pi.updated = ed->res.updated;
	pi.available = ed->res.available;
	pi.last_updated = ed->last_updated;
	pi.last_available = ed->last_available;
	pi.now = p->now;
	pi.progress_at = ed->progress_at;
	pi.wall = wall_ms();
	pi.started_at = ed->started_at;
	pi.recorded = statefile_progress(&e->state, p->dd->name, p->t.rev);
	pi.paused = ed->paused || p->host_wait;
	decide_progress(&pi, &po);
	if (pi.retarget)
		snprintf(ed->target, sizeof(ed->target), "%s", p->t.rev);
	ed->turn = p->turn;
	ed->progress_at = po.progress_at;
	ed->started_at = po.started_at;
	if (po.finished_reset)
		ed->finished_at = 0;
	ed->last_updated = po.last_updated;
	ed->last_available = po.last_available;
	if (po.record == DECIDE_RECORD_NOW)
		statefile_set_progress(&e->state, p->dd->name, p->t.rev, pi.wall);
	else if (po.record == DECIDE_RECORD_FORGET)
		statefile_set_progress(&e->state, p->dd->name, "", 0);
}

/*
 * Liveness failures restart the container: it goes, and the next pass makes
 * it anew. One that a Service routes leaves NGINX first, as a replica a
 * rollout removes does: while NGINX is not yet seen serving the routes
 * without it, it keeps running, and a later pass (the confirmation's) stops it.
 * These removals are issued here, after the strategy's step, not by it (for
 * blue-green and canary the step's result is built inside the traffic
 * pass), so they do not go through that step's hold of removals: the step
 * says instead whether NGINX serves its routes yet (tv.unserved).
 */
static void pass_liveness(struct dep_pass *p)
{
	size_t i;

	for (i = 0; i < p->in.n; i++) {
		const struct obs_container *c = p->ctrs[i].c;
		struct eng_probe *pr;
		struct rollout_op op;

		pr = engine_probe_find(p->e, c->id);
		if (!p->restart[i]) {
			if (pr != NULL)
				pr->leaving_router = 0;
			continue;
		}
		if (p->tv.unserved) {
			if (!pr->leaving_router)
				log_info(COMPONENT, "liveness failed: leaving the router first", "deployment", p->dd->name,
					 "container", c->name, (char *)NULL);
			pr->leaving_router = 1;
			continue;
		}
		pr->leaving_router = 0;
		memset(&op, 0, sizeof(op));
		op.kind = ROLLOUT_REMOVE;
		op.c = c;
		op.ordinal = c->ordinal;
		op.why = xasprintf("liveness failed: %s", probe_runner_state(pr->r)->last_failure);
		if (engine_op_issue(p->e, p->dd, &p->t, &op)) {
			p->issued++;
			p->ed->restarts++;
		}
		free(op.why);
	}
}

/* A startup probe that failed, or no progress within the deadline, fails the deployment. Returns 1 then. */
static int pass_deadline(struct dep_pass *p)
{
	struct decide_deadline_in di;
	struct eng_probe *failing = NULL;
	struct buf why;
	size_t startup, fail_at;
	enum decide_failure f;

	memset(&di, 0, sizeof(di));
	di.turn = p->turn;
	di.held = p->t.held;
	di.complete = p->ed->res.complete;
	di.paused = p->ed->paused || p->host_wait;
	di.now = p->now;
	di.progress_at = p->ed->progress_at;
	di.deadline_seconds = p->dd->progress_deadline_seconds;
	f = decide_deadline(&di, p->dc, p->in.n, &startup, &fail_at);
	if (f == DECIDE_GOING)
		return 0;
	if (fail_at < p->in.n)
		failing = engine_probe_find(p->e, p->ctrs[fail_at].c->id);
	buf_init(&why, 4096);
	if (f == DECIDE_STARTUP_FAILED)
		(void)buf_printf(&why, "container '%s' failed its startup probe", p->ctrs[startup].c->name);
	else
		(void)buf_printf(&why, "progress deadline of %ds exceeded: %d/%d updated, %d available",
				 p->dd->progress_deadline_seconds, p->ed->res.updated, p->dd->replicas,
				 p->ed->res.available);
	engine_probe_describe(failing, &why);
	engine_fail_deployment(p->e, p->dd, why.data);
	buf_release(&why);
	return 1;
}

/* A complete deployment is recorded healthy; the step's operations are recorded applied and issued. */
static void pass_complete(struct dep_pass *p)
{
	struct engine *e = p->e;
	struct eng_dep *ed = p->ed;
	struct decide_complete_in ci;
	struct decide_complete co;

	memset(&ci, 0, sizeof(ci));
	ci.complete = ed->res.complete;
	ci.was_complete = ed->complete;
	ci.turn = p->turn;
	ci.held = p->t.held;
	ci.failed = ed->failed;
	ci.n_ops = ed->res.n_ops;
	ci.draining = e->draining;
	decide_complete(&ci, &co);
	/* The hooks after the rollout (or the rollback) stand between it and complete. */
	if (ed->res.complete && p->turn && !ed->failed)
		p->hook_step = engine_hooks_after(e, p->dd, p->t.held, p->t.rev);
	if (p->hook_step) {
		co.record_healthy = 0;
		co.finished = 0;
		co.clear_error = 0;
	}
	if (co.record_healthy)
		statefile_set_healthy(&e->state, p->dd->name, p->t.rev, p->t.tmpl, e->desired.commit, wall_ms());
	if (co.finished)
		ed->finished_at = wall_ms();
	if (co.clear_error)
		str_set(&ed->last_error, NULL);
	ed->complete = ed->res.complete && p->hook_step == NULL;
	if (co.record_applied)
		statefile_set_applied(&e->state, p->dd->name, p->t.rev, p->t.tmpl);
	for (size_t i = 0; co.issue && i < ed->res.n_ops; i++) {
		const struct rollout_op *op = &ed->res.ops[i];
		struct plan_target healthy = p->t;

		if (op->stable) {
			char why[900];

			/* A canary's stable slot grown back: at the last healthy revision, under today's policy. */
			if (p->se == NULL || !p->se->has_healthy)
				continue;
			healthy.rev = p->se->healthy_rev;
			healthy.tmpl = p->se->healthy_tmpl;
			if (engine_tmpl_refused(e, healthy.tmpl, healthy.rev, why, sizeof(why)))
				continue;
		}
		p->issued += (size_t)engine_op_issue(e, p->dd, &healthy, op);
	}
}

/* The step shown in the status: the release's or the strategy's, and whom it waits for. */
static void pass_describe(struct dep_pass *p)
{
	struct decide_step_in si;
	struct rollout_input shown = p->in;
	struct buf step;

	memset(&si, 0, sizeof(si));
	si.held = p->t.held;
	si.complete = p->ed->res.complete;
	si.paused = p->ed->paused;
	si.release_step = p->tv.step;
	si.waiting_for = p->wait ? p->wait->name : NULL;
	/* A paused step is told as the strategy's own, not as healing. */
	shown.heal_only = !p->turn;
	buf_init(&step, 1024);
	if (p->hook_step)
		(void)buf_puts(&step, p->hook_step);
	else
		decide_step(&si, &shown, &p->ed->res, &step);
	free(p->ed->step);
	p->ed->step = buf_detach(&step, NULL);
}

/* The preDeploy hooks of a new revision run before any container of it is touched: 1 while they stand in the way. */
static int pass_hooks(struct dep_pass *p)
{
	char *step = engine_hooks_pre(p->e, p->dd, p->turn, p->t.held, p->t.rev);

	if (step == NULL)
		return 0;
	pass_stand(p, step);
	free(step);
	/* Standing is not blocked: the deployment is moving, behind its hook. */
	p->ed->blocked = 0;
	return 1;
}

/* One deployment's part of a pass; returns the number of operations issued. */
size_t engine_pass_deployment(struct engine *e, const struct desired_deployment *dd, int64_t now)
{
	struct dep_pass p;
	const struct eng_host *unknown;
	size_t i;

	memset(&p, 0, sizeof(p));
	p.e = e;
	p.dd = dd;
	p.ed = engine_dep_get(e, dd->name);
	p.od = observed_deployment(&e->obs, dd->name);
	p.se = statefile_get(&e->state, dd->name, 0);
	p.now = now;
	p.ed->seen = 1;
	/* Only Rolling and Recreate pause (engine_pause); a strategy changed since leaves the mark unused. */
	p.ed->paused = p.se != NULL && p.se->paused && !engine_traffic_handles(dd);
	engine_hosts_place(e, dd, p.ed);
	for (i = 0; (int)i < p.ed->n_place; i++)
		p.host_wait |= p.ed->place[i] >= 0 && e->hosts[p.ed->place[i]].down;
	unknown = engine_host_unknown(e, dd);
	if (unknown == NULL)
		p.issued += engine_move_remove_old(e, dd, p.ed, p.od);
	if (unknown) {
		/* Its replicas there are not known: making them elsewhere could start one twice. */
		char *why = xasprintf("waits for endpoint '%s' to answer once (its replicas there are not known)",
				      engine_host_name(unknown));

		pass_stand(&p, why);
		free(why);
	} else if (pass_turn(&p) && !pass_hooks(&p)) {
		pass_gather(&p);
		pass_strategy(&p);
		pass_progress(&p);
		pass_liveness(&p);
		if (!pass_deadline(&p)) {
			pass_complete(&p);
			pass_describe(&p);
		}
	}
	free(p.v);
	free(p.ctrs);
	free(p.dc);
	free(p.restart);
	free(p.hook_step);
	free(p.service);
	engine_traffic_verdict_release(&p.tv);
	for (i = 0; p.od && i < p.od->n; i++) {
		struct eng_probe *pr = engine_probe_find(e, p.od->v[i]->id);

		if (pr && obs_container_alive(p.od->v[i]) && !p.od->v[i]->unreachable)
			pr->seen = 1;
	}
	snprintf(p.ed->rev_shown, sizeof(p.ed->rev_shown), "%s", p.t.rev);
	return p.issued;
}

/* Containers of deployments no longer in the specs (prune, guarded) and ours with unusable labels. */
size_t engine_pass_orphans(struct engine *e)
{
	size_t i, issued = 0, going = 0, n = e->obs.n_containers, n_orphans;
	unsigned char *orphan = n ? xcalloc(n, 1) : NULL, *go = n ? xcalloc(n, 1) : NULL;

	for (i = 0; i < n; i++) {
		const struct obs_container *c = e->obs.containers[i];

		/* One on an endpoint that does not answer is left until it does. */
		orphan[i] = !c->unreachable &&
			    (c->malformed || (e->o.prune && desired_find(&e->desired, c->deployment) == NULL));
	}
	n_orphans = decide_prune(orphan, n, e->o.prune_max_percent, e->draining, go);
	for (i = 0; i < n; i++) {
		const struct obs_container *c = e->obs.containers[i];
		struct rollout_op op;

		if (!go[i])
			continue;
		going++;
		memset(&op, 0, sizeof(op));
		op.kind = ROLLOUT_REMOVE;
		op.c = c;
		op.why = c->malformed ? xasprintf("ours, but %s", c->malformed_why)
				      : xasprintf("deployment '%s' is gone from the specs", c->deployment);
		issued += (size_t)engine_op_remove_orphan(e, &op);
		free(op.why);
	}
	if (n_orphans > going && !e->draining)
		log_info(COMPONENT, "prune held back", "reason", "at most a share of the fleet per pass", (char *)NULL);
	free(orphan);
	free(go);
	return issued;
}
