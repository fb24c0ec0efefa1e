/* The reconcile engine: level-triggered passes on the loop, phases in order, probes gating, rollback and self-heal. */
#include "engine/engine.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "engine/engine_internal.h"
#include "engine/engine_router.h"
#include "engine/job.h"
#include "probe/probe.h"
#include "runtime/config.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "strv.h"
#include "util.h"

static void start_pass(struct loop *l, void *arg);

const char *engine_outcome_name(enum engine_outcome o)
{
	static const char *const names[] = { "running", "converged", "rolled back", "failed" };

	return NAME_OF(names, o, "?");
}

/* ------------------------------------------------------------ scheduling */

static void schedule(struct engine *e, int64_t delay_ms)
{
	if (e->timer)
		loop_timer_cancel(e->loop, e->timer);
	e->timer = loop_timer_add(e->loop, delay_ms, start_pass, e);
}

void engine_kick(struct engine *e)
{
	if (e->pass_running) {
		e->pass_again = 1;
		return;
	}
	schedule(e, 0);
}

void engine_drain(struct engine *e)
{
	e->draining = 1;
}

void engine_relist(struct engine *e)
{
	for (size_t i = 0; i < e->n_hosts; i++)
		e->hosts[i].dirty = 1;
	engine_kick(e);
}

void engine_set_relist(struct engine *e, int64_t ms)
{
	e->o.relist_ms = ms > 0 ? ms : 60000;
}

void engine_hold(struct engine *e, int held)
{
	int took = e->held && !held;

	e->held = held;
	/*
	 * Taking over: the old leader's last operations may not have sent
	 * their events yet, and the cache knows only what the events said.
	 */
	if (took)
		engine_relist(e);
	else
		engine_kick(e);
}

/*
 * Reads the state file at path into st (its owner's, instance's): refused when
 * another instance wrote it; one without an instance is stamped with it (and
 * saved at the next pass). 0, or -1 with st released.
 */
static int state_load(struct statefile *st, const char *path, const char *instance, struct error **err)
{
	statefile_init(st, NULL);
	if (statefile_load(st, path, err) < 0) {
		statefile_release(st);
		return -1;
	}
	if (st->instance && strcmp(st->instance, instance) != 0) {
		error_set(err, ERR_INVALID, "state file '%s' belongs to instance '%s', not '%s'", path, st->instance,
			  instance);
		statefile_release(st);
		return -1;
	}
	if (st->instance == NULL) {
		st->instance = xstrdup(instance);
		st->dirty = 1;
	}
	return 0;
}

int engine_state_reload(struct engine *e, struct error **err)
{
	struct statefile st;

	if (e->state.path == NULL)
		return 0;
	if (state_load(&st, e->state.path, e->instance, err) < 0)
		return -1;
	statefile_release(&e->state);
	e->state = st;
	if (engine_traffic_reload(e->traffic, err) < 0)
		return -1;
	/* Another controller's state: what it did lately is read from the hosts, not the cache. */
	engine_relist(e);
	return 0;
}

int engine_idle(const struct engine *e)
{
	return !e->pass_running && e->n_ops_running == 0;
}

enum engine_outcome engine_outcome(const struct engine *e)
{
	return e->outcome;
}

const struct fleet_status *engine_status(const struct engine *e)
{
	return &e->status;
}

void engine_status_take(struct engine *e, struct fleet_status *dst)
{
	*dst = e->status;
	status_init(&e->status);
}

unsigned long engine_passes(const struct engine *e)
{
	return e->passes;
}

unsigned long engine_saves(const struct engine *e)
{
	return e->saves + engine_traffic_saves(e->traffic);
}

int engine_state_write(struct engine *e, struct error **err)
{
	if (statefile_save(&e->state, err) < 0)
		return -1;
	e->saves++;
	return 0;
}

int64_t engine_last_pass_us(const struct engine *e)
{
	return e->last_pass_us;
}

const char *engine_commit(const struct engine *e)
{
	return e->commit ? e->commit : "";
}

/* ------------------------------------------------------------ deployments */

struct eng_dep *engine_dep_find(const struct engine *e, const char *name)
{
	size_t i;

	return strmap_get_index(&e->dep_index, name, &i) ? &e->deps[i] : NULL;
}

struct eng_dep *engine_dep_get(struct engine *e, const char *name)
{
	struct eng_dep *d = engine_dep_find(e, name);

	if (d)
		return d;
	e->deps = xrealloc(e->deps, (e->n_deps + 1) * sizeof(*e->deps));
	strmap_put_index(&e->dep_index, name, e->n_deps);
	memset(&e->deps[e->n_deps], 0, sizeof(*e->deps));
	e->deps[e->n_deps].name = xstrdup(name);
	e->deps[e->n_deps].phase = STATUS_UNKNOWN;
	return &e->deps[e->n_deps++];
}

static void dep_release(struct eng_dep *d)
{
	job_orphan(d->hook);
	FREE_ALL(d->name, d->last_error, d->step, d->action, d->action_by, d->action_reason, d->place);
	free(d->hook_name);
	rollout_result_release(&d->res);
}

/* ---------------------------------------------------- failure and rollback */

/* Healthy at its desired revision, as the state file remembers (latched: a later hiccup does not undo it). */
int engine_reached(const struct engine *e, const struct desired_deployment *dd)
{
	const struct statefile_entry *se = statefile_get((struct statefile *)&e->state, dd->name, 0);
	const struct eng_dep *ed = engine_dep_find(e, dd->name);

	if (ed && (ed->failed || ed->rolled_back))
		return 0;
	return se && se->has_healthy && strcmp(se->healthy_rev, dd->revision) == 0;
}

/* Marks deployments of later phases that already run their new revision for return, before this one. */
static void cascade_rollback(struct engine *e, const struct desired_deployment *failed)
{
	size_t i, j;

	for (i = 0; i < e->desired.n; i++) {
		const struct desired_deployment *o = &e->desired.v[i];
		const struct obs_deployment *od;
		struct decide_cascade_in ci;
		struct eng_dep *ed;

		/* Later phases only: no record is made for the earlier ones. */
		if (o->phase <= failed->phase)
			continue;
		ed = engine_dep_get(e, o->name);
		memset(&ci, 0, sizeof(ci));
		ci.failed_phase = failed->phase;
		ci.phase = o->phase;
		ci.rolled_back = ed->rolled_back;
		ci.failed = ed->failed;
		od = observed_deployment(&e->obs, o->name);
		for (j = 0; od && j < od->n && !ci.runs_new; j++)
			ci.runs_new = obs_revision_eq(od->v[j]->revision, o->revision);
		if (decide_cascade(&ci)) {
			char *why = xasprintf("rolled back because '%s' failed", failed->name);

			engine_fail_deployment(e, o, why);
			free(why);
		}
	}
}

/* Where the deployment's failed release returns to (decide_rollback); automatic: the engine found it failing. */
static enum decide_back rollback_to(const struct engine *e, const struct desired_deployment *dd, int automatic)
{
	const struct statefile_entry *se = statefile_get((struct statefile *)&e->state, dd->name, 0);
	struct decide_rollback_in ri;

	if (se == NULL)
		return DECIDE_BACK_NONE;
	memset(&ri, 0, sizeof(ri));
	ri.automatic = automatic;
	ri.auto_rollback = dd->auto_rollback;
	ri.rev = dd->revision;
	ri.healthy_rev = se->has_healthy ? se->healthy_rev : NULL;
	ri.previous_rev = se->has_previous ? se->previous_rev : NULL;
	return decide_rollback(&ri);
}

void engine_fail_deployment(struct engine *e, const struct desired_deployment *dd, const char *reason)
{
	struct eng_dep *ed = engine_dep_get(e, dd->name);
	int can = rollback_to(e, dd, 1) != DECIDE_BACK_NONE;

	e->reach_ok = 0;
	str_set(&ed->last_error, reason);
	ed->finished_at = wall_ms();
	if (can) {
		/*
		 * On disk before it is told or acted on: a controller killed right
		 * after must not take the failed revision up again as healthy.
		 */
		statefile_set_failed(&e->state, dd->name, dd->revision, e->desired.commit, reason, wall_ms());
		engine_state_save(e);
		ed->rolled_back = 1;
	} else {
		ed->failed = 1;
	}
	log_error(COMPONENT, can ? "deployment failed, rolling back" : "deployment failed", "deployment", dd->name,
		  "revision", dd->revision, "reason", reason, (char *)NULL);
	if (can)
		cascade_rollback(e, dd);
}

int engine_rollback(struct engine *e, const char *deployment, const char *reason, struct error **err)
{
	const struct desired_deployment *dd = desired_find(&e->desired, deployment);
	struct eng_dep *ed;

	if (dd == NULL)
		return error_set(err, ERR_NOTFOUND, "no deployment '%s' in the specs", deployment);
	if (statefile_is_failed(&e->state, dd->name, dd->revision, e->desired.commit))
		return error_set(err, ERR_CONFLICT, "deployment '%s' is already rolled back from revision %.12s",
				 deployment, dd->revision);
	if (rollback_to(e, dd, 0) == DECIDE_BACK_NONE)
		return error_set(err, ERR_CONFLICT, "deployment '%s' has no earlier healthy revision to return to",
				 deployment);
	statefile_set_failed(&e->state, dd->name, dd->revision, e->desired.commit,
			     reason ? reason : "rolled back by hand", wall_ms());
	ed = engine_dep_get(e, deployment);
	ed->rolled_back = 1;
	str_set(&ed->last_error, reason ? reason : "rolled back by hand");
	cascade_rollback(e, dd);
	engine_kick(e);
	return 0;
}

/* A blue-green or canary deployment, or ERR_NOTFOUND / ERR_CONFLICT. */
static const struct desired_deployment *traffic_dep(struct engine *e, const char *deployment, const char *verb,
						   struct error **err)
{
	const struct desired_deployment *dd = desired_find(&e->desired, deployment);

	if (dd == NULL) {
		error_set(err, ERR_NOTFOUND, "no deployment '%s' in the specs", deployment);
		return NULL;
	}
	if (!engine_traffic_handles(dd)) {
		error_set(err, ERR_CONFLICT, "deployment '%s' is released by %s: nothing to %s", deployment,
			  plan_strategy_name(dd->strategy), verb);
		return NULL;
	}
	return dd;
}

int engine_promote(struct engine *e, const char *deployment, int full, struct error **err)
{
	const struct desired_deployment *dd = traffic_dep(e, deployment, "promote", err);

	if (dd == NULL)
		return -1;
	if (engine_reached(e, dd) || statefile_is_failed(&e->state, dd->name, dd->revision, e->desired.commit))
		return error_set(err, ERR_CONFLICT, "deployment '%s' has no release under way to promote", deployment);
	return engine_traffic_promote(e->traffic, deployment, dd->revision, full, err);
}

int engine_abort(struct engine *e, const char *deployment, const char *reason, struct error **err)
{
	const struct desired_deployment *dd = traffic_dep(e, deployment, "abort", err);

	if (dd == NULL)
		return -1;
	if (!engine_traffic_in_progress(e->traffic, deployment, dd->revision) ||
	    statefile_is_failed(&e->state, dd->name, dd->revision, e->desired.commit))
		return error_set(err, ERR_CONFLICT, "deployment '%s' has no release under way to abort", deployment);
	/* As a failed check would: the stable slot made whole, then back to it at 100 %, the new slot removed. */
	engine_fail_deployment(e, dd, reason ? reason : "aborted by hand");
	if (engine_dep_get(e, deployment)->rolled_back) {
		/* Its own phase (Aborted), here and after a restart. */
		engine_dep_get(e, deployment)->aborted = 1;
		statefile_set_aborted(&e->state, dd->name);
	}
	engine_kick(e);
	return 0;
}

/* --------------------------------------------------------------- the pass */

static void compute_outcome(struct engine *e, size_t issued)
{
	size_t i, n = e->desired.n;
	struct decide_outcome_dep *v = n ? xcalloc(n, sizeof(*v)) : NULL;

	for (i = 0; i < n; i++) {
		const struct eng_dep *ed = engine_dep_get(e, e->desired.v[i].name);

		v[i].failed = ed->failed;
		v[i].rolled_back = ed->rolled_back;
		v[i].complete = ed->complete;
		v[i].blocked = ed->blocked;
	}
	switch (decide_outcome(v, n, issued > 0 || e->n_ops_running > 0 || e->list_error != NULL)) {
	case DECIDE_RUNNING: e->outcome = ENGINE_RUNNING; break;
	case DECIDE_CONVERGED: e->outcome = ENGINE_CONVERGED; break;
	case DECIDE_ROLLEDBACK: e->outcome = ENGINE_ROLLEDBACK; break;
	case DECIDE_FAILED: e->outcome = ENGINE_FAILED; break;
	}
	free(v);
}

/* 1 when the allocator holds enough free memory for a trim to give back. */
static int heap_worth_trimming(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.fordblks > ((size_t)2 << 20);
}

/*
 * While work is left, the next pass comes within the pass interval, and as
 * soon as a ready container's minReadySeconds run out: a rolling update
 * takes its next step then, not up to an interval later (half a second a
 * replica on average at the default 500 ms).
 */
static int64_t next_pass_in(const struct engine *e)
{
	int64_t in;

	if (e->outcome != ENGINE_RUNNING)
		return e->o.resync_ms;
	in = e->wake_at > 0 ? e->wake_at - loop_now(e->loop) : e->o.pass_interval_ms;
	if (in > e->o.pass_interval_ms)
		in = e->o.pass_interval_ms;
	return in > 0 ? in : 0;
}

void engine_finish_pass(struct engine *e)
{
	struct error *err = NULL;
	int again = e->pass_again;

	e->pass_running = 0;
	e->pass_again = 0;
	if (e->state.dirty && engine_state_write(e, &err) < 0) {
		log_error(COMPONENT, "cannot save state", "error", error_msg(err), (char *)NULL);
		error_free(err);
	}
	engine_build_status(e);
	if (e->o.on_pass)
		e->o.on_pass(e, e->o.arg);
	/*
	 * A pass that read a container list freed what it parsed (at 10,000
	 * containers, tens of MB in small blocks), and every pass the status it
	 * replaced: give the pages back, or the resident size stays at the
	 * pass's peak between passes. The trim walks the heap (3 to 6 ms at
	 * 10,000 deployments): only when over 2 MB is free, so a small fleet's
	 * pass does not pay for it. At 10,000 deployments a quiet pass still
	 * leaves about 5 MB free between what stays (the status's arrays it
	 * replaced, the decisions' texts), in holes of a few KB: the trim gives
	 * it back, where a quarter of what is used as the bar gave none.
	 */
	if (e->pass_listed || heap_worth_trimming()) {
		e->pass_listed = 0;
		(void)malloc_trim(0);
	}
	if (e->draining)
		return;
	if (again)
		schedule(e, 0);
	else
		schedule(e, next_pass_in(e));
}

static void decide(struct engine *e)
{
	int64_t now = loop_now(e->loop);
	size_t i, issued = 0;

	for (i = 0; i < e->n_deps; i++)
		e->deps[i].seen = 0;
	/* The decisions see the phases as an array in the specs' order. */
	e->phases = xrealloc(e->phases, (e->desired.n ? e->desired.n : 1) * sizeof(*e->phases));
	for (i = 0; i < e->desired.n; i++)
		e->phases[i] = e->desired.v[i].phase;
	e->reach_ok = 0;
	for (i = 0; i < e->desired.n; i++)
		issued += engine_pass_deployment(e, &e->desired.v[i], now);
	/* Deployments marked for rollback during this pass act on the next one. */
	issued += engine_pass_orphans(e);
	engine_ops_held_pass(e);
	engine_probes_sweep(e);
	compute_outcome(e, issued);
	e->passes++;
	e->last_pass_us = now_us() - e->pass_started_us;
	if (e->n_ops_running == 0)
		engine_finish_pass(e);
}

void engine_list_failed(struct engine *e, const char *msg)
{
	log_warn(COMPONENT, "observe failed", "error", msg, (char *)NULL);
	str_set(&e->list_error, msg);
	e->outcome = ENGINE_RUNNING;
	e->pass_running = 0;
	engine_build_status(e);
	if (e->o.on_pass)
		e->o.on_pass(e, e->o.arg);
	if (!e->draining)
		schedule(e, e->o.pass_interval_ms * 4);
}

void engine_list_done(struct engine *e, const char *down)
{
	/* An endpoint that does not answer is shown, and keeps the outcome running, while the others go on. */
	str_set(&e->list_error, down);
	if (e->held) {
		/*
		 * A follower's pass: what runs is observed and shown; nothing is
		 * decided or done. Nor probed: the leader probes, and runners kept
		 * from a time this one led would probe containers long gone (and
		 * spend the probe budget it needs the moment it leads again).
		 */
		engine_probes_sweep(e);
		e->pass_running = 0;
		engine_build_status(e);
		if (e->o.on_pass)
			e->o.on_pass(e, e->o.arg);
		if (!e->draining)
			schedule(e, e->o.resync_ms);
		return;
	}
	decide(e);
}

static void start_pass(struct loop *l, void *arg)
{
	struct engine *e = arg;

	(void)l;
	e->timer = 0;
	if (e->pass_running || e->draining || e->set == NULL)
		return;
	e->pass_running = 1;
	e->pass_started_us = now_us();
	e->wake_at = 0;
	engine_hosts_list(e);
}

/* ------------------------------------------------------------------ events */

static void on_event(const struct docker_event *ev, void *arg)
{
	struct eng_host *h = arg;
	struct engine *e = h->e;

	if (ev->action == NULL)
		return;
	h->heard_ms = loop_now(e->loop);
	/* Execs (probes, health checks) change nothing a list shows; anything else may. */
	if (!str_has_prefix(ev->action, "exec_"))
		h->dirty = 1;
	if (strcmp(ev->action, "die") == 0 && ev->id != NULL) {
		struct eng_probe *p = engine_probe_find(e, ev->id);

		/*
		 * A container that died is not ready, however fast Docker's
		 * restart policy brings it back: its probes start over as for a
		 * new container, so the pass this event wakes sees it not ready
		 * (a release watching its monitor window must not miss a crash
		 * that fell between two probes).
		 */
		if (p != NULL)
			engine_probe_restart(p);
	}
	if (strcmp(ev->action, "die") == 0 || strcmp(ev->action, "destroy") == 0 ||
	    strcmp(ev->action, "stop") == 0 || strcmp(ev->action, "kill") == 0 ||
	    str_has_prefix(ev->action, "health_status") || strcmp(ev->action, "oom") == 0)
		engine_kick(e);
}

static void on_stream(int connected, enum docker_status st, const char *message, void *arg)
{
	struct eng_host *h = arg;
	struct engine *e = h->e;

	h->stream_up = connected;
	if (connected)
		h->heard_ms = loop_now(e->loop);
	/* Events may have been missed while it was not up: relist. */
	h->dirty = 1;
	if (connected) {
		engine_kick(e);
		return;
	}
	log_warn(COMPONENT, "event stream broken", "status", docker_status_name(st), "message",
		 message ? message : "", (char *)NULL);
	/* Its endpoint may be gone: the lists tell now rather than at the next resync. */
	engine_kick(e);
}

static void heartbeat(struct loop *l, void *arg)
{
	struct engine *e = arg;

	(void)l;
	e->heartbeat_timer = loop_timer_add(e->loop, e->o.resync_ms / 2 > 1000 ? e->o.resync_ms / 2 : 1000,
					    heartbeat, e);
	engine_hosts_heartbeat(e);
}

/* ------------------------------------------------------------------- setup */

static void traffic_kick(void *arg)
{
	engine_kick(arg);
}

struct engine *engine_new(struct loop *l, struct docker *d, struct http_client *http,
			  const struct engine_options *o, struct error **err)
{
	struct engine *e = xcalloc(1, sizeof(*e));
	size_t i;

	e->loop = l;
	e->born_wall_ms = wall_ms();
	e->docker = d;
	e->http = http;
	engine_hosts_init(e, d, o->endpoints, o->n_endpoints);
	e->o = *o;
	if (e->o.pass_interval_ms <= 0)
		e->o.pass_interval_ms = 500;
	if (e->o.resync_ms <= 0)
		e->o.resync_ms = 10000;
	if (e->o.relist_ms <= 0)
		e->o.relist_ms = 60000;
	/* One limit for every backup: the setting's own default when the caller read no setting. */
	if (e->o.backup_max_bytes == 0)
		e->o.backup_max_bytes = (size_t)strtoull(config_spec(CFG_BACKUP_MAX_BYTES)->def, NULL, 10);
	e->instance = xstrdup(o->instance && o->instance[0] ? o->instance : "auriga");
	e->o.instance = e->instance;
	e->o.endpoints = NULL;
	e->o.n_endpoints = 0;
	e->name_prefix = xstrdup(o->name_prefix ? o->name_prefix : e->instance);
	e->o.name_prefix = e->name_prefix;
	e->n_extra = o->n_extra_labels;
	e->extra = xcalloc(e->n_extra + 1, sizeof(*e->extra));
	for (i = 0; i < e->n_extra; i++)
		e->extra[i] = xstrdup(o->extra_labels[i]);
	e->o.extra_labels = (const char *const *)e->extra;
	e->filter = observe_filter(e->instance);
	probe_budget_init(&e->probe_budget, o->max_probes);
	desired_init(&e->desired);
	observed_init(&e->obs);
	status_init(&e->status);
	if (state_load(&e->state, o->state_path, e->instance, err) < 0) {
		engine_free(e);
		return NULL;
	}
	e->hooks = e->hosts[0].jobs;
	e->traffic = engine_traffic_new(l, d, http, o->state_path, traffic_kick, e, err);
	if (e->traffic == NULL) {
		engine_free(e);
		return NULL;
	}
	for (i = 0; i < e->n_hosts; i++)
		if (e->hosts[i].name)
			engine_traffic_add_endpoint(e->traffic, e->hosts[i].name, e->hosts[i].docker);
	engine_traffic_set_metrics(e->traffic, o->metrics);
	engine_traffic_set_router_error_log(e->traffic, o->router_error_log);
	engine_router_set_observed(engine_traffic_router(e->traffic), &e->obs);
	if (o->watch_events && engine_hosts_watch(e, on_event, on_stream, err) < 0) {
		engine_free(e);
		return NULL;
	}
	if (o->watch_events)
		e->heartbeat_timer = loop_timer_add(e->loop, e->o.resync_ms / 2 > 1000 ? e->o.resync_ms / 2 : 1000,
						    heartbeat, e);
	return e;
}

static void dep_restart(struct eng_dep *d)
{
	d->failed = 0;
	d->rolled_back = 0;
	d->aborted = 0;
	d->turn = 0;
	str_set(&d->last_error, NULL);
}

/*
 * Probe runners copy their settings, so a runner stays across new specs
 * while its deployment's revision and probes are the same: its verdicts
 * (a stable slot's readiness above all) are not lost to an unrelated
 * commit. The others are restarted with the new settings.
 */
static void probes_keep_same(struct engine *e, const struct desired *nd)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_probes; i++) {
		struct eng_probe *p = e->probes[i];
		const struct desired_deployment *was = desired_find(&e->desired, p->deployment);
		const struct desired_deployment *now = desired_find(nd, p->deployment);

		if (was && now && was->spec && now->spec && strcmp(was->revision, now->revision) == 0 &&
		    spec_probes_equal(spec_deployment_probes(was->spec), spec_deployment_probes(now->spec))) {
			e->probes[n++] = p;
			continue;
		}
		strmap_del(&e->probe_index, p->id);
		engine_probe_free(p);
	}
	e->n_probes = n;
}

int engine_set_specs(struct engine *e, struct spec_set *set, const char *commit, struct error **err)
{
	struct desired nd;
	size_t i;
	int rc, new_commit = e->commit == NULL || strcmp(e->commit, commit ? commit : "") != 0;

	desired_init(&nd);
	rc = desired_build(&nd, set, e->instance, commit, (const char *const *)e->extra, e->n_extra, err);
	if (rc < 0) {
		spec_set_free(set);
		return rc;
	}
	desired_set_name_prefix(&nd, e->name_prefix);
	/*
	 * A new commit starts every deployment afresh. A folder has no commit:
	 * there a deployment whose revision changed starts afresh, so a good
	 * release after a rolled-back one is not taken for the rollback still.
	 */
	for (i = 0; i < e->n_deps; i++) {
		const struct desired_deployment *was = desired_find(&e->desired, e->deps[i].name);
		const struct desired_deployment *now = desired_find(&nd, e->deps[i].name);

		if (new_commit || (now != NULL && (was == NULL || strcmp(was->revision, now->revision) != 0)))
			dep_restart(&e->deps[i]);
	}
	probes_keep_same(e, &nd);
	desired_release(&e->desired);
	e->desired = nd;
	if (e->set)
		spec_set_free(e->set);
	e->set = set;
	engine_hosts_address(e);
	engine_traffic_set_specs(e->traffic, e->set, &e->desired);
	str_set(&e->commit, commit ? commit : "");
	e->outcome = ENGINE_RUNNING;
	engine_kick(e);
	return 0;
}

void engine_free(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	if (e->timer)
		loop_timer_cancel(e->loop, e->timer);
	if (e->lists_timer)
		loop_timer_cancel(e->loop, e->lists_timer);
	if (e->heartbeat_timer)
		loop_timer_cancel(e->loop, e->heartbeat_timer);
	while (e->ops) {
		struct eng_op *op = e->ops;

		e->ops = op->next;
		op->pprev = NULL;
		engine_op_free(op);
	}
	for (i = 0; i < e->n_probes; i++)
		engine_probe_free(e->probes[i]);
	free(e->probes);
	probe_budget_release(&e->probe_budget);
	strmap_clear(&e->probe_index);
	strmap_clear(&e->ops_held);
	strmap_clear(&e->ops_held_before);
	for (i = 0; i < e->n_deps; i++)
		dep_release(&e->deps[i]);
	free(e->deps);
	strmap_clear(&e->dep_index);
	if (e->state.path && e->state.dirty) {
		struct error *err = NULL;

		if (statefile_save(&e->state, &err) < 0)
			error_free(err);
	}
	engine_traffic_free(e->traffic);
	engine_backup_release(e);
	engine_hosts_release(e);	/* e->hooks with the first endpoint's */
	statefile_release(&e->state);
	observed_release(&e->obs);
	desired_release(&e->desired);
	status_release(&e->status);
	if (e->set)
		spec_set_free(e->set);
	strv_free_n(e->extra, e->n_extra);
	FREE_ALL(e->filter, e->instance, e->name_prefix, e->commit, e->list_error, e->phases, e->git_error);
	free(e);
}

void engine_set_git_error(struct engine *e, const char *msg)
{
	free(e->git_error);
	e->git_error = msg && *msg ? xstrdup(msg) : NULL;
}
