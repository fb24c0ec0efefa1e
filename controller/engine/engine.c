/* The reconcile engine: level-triggered passes on the loop, phases in order, probes gating, rollback and self-heal. */
#include "engine/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker/docker.h"
#include "engine/engine_traffic.h"
#include "engine/network.h"
#include "engine/plan.h"
#include "engine/statefile.h"
#include "model/desired.h"
#include "model/observe.h"
#include "probe/probe.h"
#include "rollout/rollout.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "status/metrics.h"
#include "strmap.h"
#include "util.h"

#define COMPONENT "engine"

/* What the engine remembers about a deployment between passes (rebuilt from labels after a restart). */
struct eng_dep {
	char *name;
	char target[SPEC_REVISION_HEX];	/* the target of the last pass */
	int turn;			/* its turn had come in the last pass */
	int64_t progress_at;		/* loop ms of the last progress (the deadline counts from here) */
	int last_updated, last_available;
	int failed;			/* failed with nothing to return to: left alone until the specs change */
	int rolled_back;		/* returned to its last healthy revision in this run */
	int complete;
	int blocked;
	char *last_error;
	int64_t started_at, finished_at;	/* wall ms */
	unsigned restarts;		/* liveness restarts, reported in the status */
	struct rollout_result res;
	char *step;
	enum status_phase phase;
	char rev_shown[SPEC_REVISION_HEX];
	int seen;
};

/* One probe runner per running container of a desired deployment, keyed by container id. */
struct eng_probe {
	struct engine *e;
	char *id;
	char *deployment;
	struct probe_runner *r;
	int seen;
	int64_t healthy_since;	/* loop time a pass first saw Docker's health say healthy; 0 when not */
};

/* One operation on Docker: a short chain of calls. */
struct eng_op {
	struct engine *e;
	struct eng_op *next, **pprev;
	enum rollout_op_kind kind;
	char *deployment;
	char *id;		/* START, REMOVE */
	char *name;
	struct desired_create create;
	size_t vol;		/* CREATE: next volume to make */
	int net_done;		/* CREATE: the template's network is ensured */
	struct docker_label *vlabels;
	size_t n_vlabels;
};

struct engine {
	struct loop *loop;
	struct docker *docker;
	struct http_client *http;
	struct engine_options o;
	char *instance;
	char **extra;
	size_t n_extra;
	char *filter;

	struct spec_set *set;
	char *commit;
	struct desired desired;
	struct statefile state;
	struct observed obs;

	struct eng_dep *deps;
	size_t n_deps;
	struct strmap dep_index;	/* name -> index into deps */
	struct eng_probe **probes;
	size_t n_probes;
	struct strmap probe_index;	/* container id -> its runner */
	struct eng_op *ops;	/* running */
	size_t n_ops_running;

	int pass_running;
	int pass_again;
	int draining;
	uint64_t timer;
	int64_t pass_started;
	int64_t last_pass_ms;
	unsigned long passes;
	size_t reach_ok;	/* leading entries of desired.v found reached in this pass (blocker) */
	enum engine_outcome outcome;
	struct fleet_status status;
	char *list_error;
	struct docker_watch *watch;
	struct engine_traffic *traffic;	/* blue-green and canary releases */
	int64_t born_wall_ms;	/* wall clock when the engine was made */
};

static void start_pass(struct loop *l, void *arg);

const char *engine_outcome_name(enum engine_outcome o)
{
	switch (o) {
	case ENGINE_RUNNING: return "running";
	case ENGINE_CONVERGED: return "converged";
	case ENGINE_ROLLEDBACK: return "rolled back";
	case ENGINE_FAILED: return "failed";
	}
	return "?";
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));

static char *fmt(const char *f, ...)
{
	struct buf b;
	va_list ap;

	buf_init(&b, 16384);
	va_start(ap, f);
	(void)buf_vprintf(&b, f, ap);
	va_end(ap);
	return buf_detach(&b, NULL);
}

static void set_str(char **dst, const char *v)
{
	if (*dst && v && strcmp(*dst, v) == 0)
		return;
	free(*dst);
	*dst = v ? xstrdup(v) : NULL;
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

unsigned long engine_passes(const struct engine *e)
{
	return e->passes;
}

int64_t engine_last_pass_ms(const struct engine *e)
{
	return e->last_pass_ms;
}

const char *engine_commit(const struct engine *e)
{
	return e->commit ? e->commit : "";
}

/* ------------------------------------------------------------ deployments */

/* The deployment's record, or NULL when it has none yet. */
static struct eng_dep *dep_find(const struct engine *e, const char *name)
{
	size_t i;

	return strmap_get_index(&e->dep_index, name, &i) ? &e->deps[i] : NULL;
}

static struct eng_dep *dep_get(struct engine *e, const char *name)
{
	struct eng_dep *d = dep_find(e, name);

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
	free(d->name);
	free(d->last_error);
	free(d->step);
	rollout_result_release(&d->res);
}

/* ----------------------------------------------------------------- probes */

static void on_probe_change(struct probe_runner *r, const struct probe_state *st, unsigned changed, void *arg)
{
	struct eng_probe *p = arg;

	(void)r;
	(void)st;
	if (changed & (PROBE_CHANGED_READY | PROBE_CHANGED_LIVE_FAILED | PROBE_CHANGED_STARTUP_FAILED |
		       PROBE_CHANGED_STARTED))
		engine_kick(p->e);
}

/* Every probe attempt, counted per deployment for /metrics. */
static void on_probe_result(struct probe_runner *r, enum probe_type t, enum probe_result res, void *arg)
{
	struct eng_probe *p = arg;

	(void)r;
	auriga_metrics_probe_result(p->e->o.metrics, p->deployment, probe_type_name(t), probe_result_name(res));
}

static struct eng_probe *probe_find(struct engine *e, const char *id)
{
	return strmap_get(&e->probe_index, id);
}

static void probe_free(struct eng_probe *p)
{
	probe_runner_free(p->r);
	free(p->id);
	free(p->deployment);
	free(p);
}

static void probe_ensure(struct engine *e, const struct desired_deployment *dd, const struct obs_container *c)
{
	struct eng_probe *p = probe_find(e, c->id);
	struct probe_port ports[16];
	struct probe_config pc;
	struct spec_probes probes;
	struct error *err = NULL;
	size_t i, n = 0;

	if (p) {
		p->seen = 1;
		return;
	}
	/*
	 * On a network auriga owns, probes go to the container's own address:
	 * a published port answers every connect through docker-proxy, even
	 * when nothing listens inside. Elsewhere, the published port.
	 */
	for (i = 0; c->network_ip == NULL && i < c->n_ports && n < ARRAY_SIZE(ports); i++) {
		if (c->ports[i].host_port == 0)
			continue;
		ports[n].container_port = c->ports[i].container_port;
		/* Published on 127.0.0.1 (or all addresses): probe through the loopback. */
		snprintf(ports[n].target.host, sizeof(ports[n].target.host), "%s",
			 strchr(c->ports[i].host_ip, ':') ? "::1" : "127.0.0.1");
		ports[n].target.port = c->ports[i].host_port;
		n++;
	}
	/*
	 * An exec readiness probe is Docker's HEALTHCHECK too (desired.c): Docker
	 * runs it, and the pass reads its verdict from the container list, so
	 * the runner keeps only startup and liveness.
	 */
	probes = dd->spec->probes;
	if (dd->tmpl.health_cmd)
		probes.readiness.kind = SPEC_PROBE_NONE;
	memset(&pc, 0, sizeof(pc));
	pc.loop = e->loop;
	pc.http = e->http;
	pc.docker = e->docker;
	pc.container_id = c->id;
	pc.container = &dd->spec->tmpl;
	pc.probes = &probes;
	pc.ports = ports;
	pc.n_ports = n;
	pc.address = c->network_ip;
	pc.on_change = on_probe_change;
	pc.on_result = on_probe_result;
	p = xcalloc(1, sizeof(*p));
	p->e = e;
	p->id = xstrdup(c->id);
	p->deployment = xstrdup(dd->name);
	p->seen = 1;
	pc.arg = p;
	p->r = probe_runner_new(&pc, &err);
	if (p->r == NULL) {
		struct eng_dep *ed = dep_get(e, dd->name);
		char *m = fmt("cannot probe '%s': %s", c->name, error_msg(err));

		log_warn(COMPONENT, "probe setup failed", "deployment", dd->name, "container", c->name, "error",
			 error_msg(err), (char *)NULL);
		set_str(&ed->last_error, m);
		free(m);
		error_free(err);
	}
	e->probes = xrealloc(e->probes, (e->n_probes + 1) * sizeof(struct eng_probe *));
	e->probes[e->n_probes++] = p;
	strmap_put(&e->probe_index, p->id, p);
}

/* Frees runners of containers that are gone, stopped or no longer desired. */
static void probes_sweep(struct engine *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_probes; i++) {
		if (e->probes[i]->seen) {
			e->probes[n++] = e->probes[i];
		} else {
			strmap_del(&e->probe_index, e->probes[i]->id);
			probe_free(e->probes[i]);
		}
	}
	e->n_probes = n;
	for (i = 0; i < e->n_probes; i++)
		e->probes[i]->seen = 0;
}

/* ------------------------------------------------------------ operations */

static void op_free(struct eng_op *op)
{
	size_t i;

	if (op->pprev) {
		*op->pprev = op->next;
		if (op->next)
			op->next->pprev = op->pprev;
	}
	free(op->deployment);
	free(op->id);
	free(op->name);
	desired_create_release(&op->create);
	for (i = 0; i < op->n_vlabels; i++) {
		free(op->vlabels[i].key);
		free(op->vlabels[i].value);
	}
	free(op->vlabels);
	free(op);
}

static void finish_pass(struct engine *e);

static void op_end(struct eng_op *op, const struct docker_result *r, const char *what)
{
	struct engine *e = op->e;

	if (r && !docker_status_ok(r->status)) {
		struct eng_dep *ed = dep_get(e, op->deployment);
		char *m = fmt("cannot %s container '%s': %s", what, op->name ? op->name : op->id,
			      r->message && r->message[0] ? r->message : docker_status_name(r->status));

		log_warn(COMPONENT, "operation failed", "deployment", op->deployment, "error", m, (char *)NULL);
		set_str(&ed->last_error, m);
		free(m);
	}
	op_free(op);
	e->n_ops_running--;
	if (e->n_ops_running == 0 && e->pass_running)
		finish_pass(e);
}

static void op_start_done(struct docker_result *r, void *arg)
{
	op_end(arg, r, "start");
}

static void op_do_start(struct eng_op *op, const char *id)
{
	struct error *err = NULL;

	if (docker_container_start(op->e->docker, DOCKER_ROLLOUT, id, op_start_done, op, &err) < 0) {
		log_warn(COMPONENT, "cannot start", "container", id, "error", error_msg(err), (char *)NULL);
		error_free(err);
		op_end(op, NULL, "start");
	}
}

static void op_created(struct docker_result *r, void *arg)
{
	struct eng_op *op = arg;

	if (r->status == DOCKER_CONFLICT) {
		/*
		 * The name is taken. When an earlier create of ours got through, the
		 * next pass sees it and moves on; when a container auriga does not
		 * own holds the name, the deployment waits, and says why.
		 */
		struct eng_dep *ed = dep_get(op->e, op->deployment);
		char *m = fmt("cannot create container '%s': the name is in use (%s)", op->name,
			      r->message && r->message[0] ? r->message : "conflict");

		set_str(&ed->last_error, m);
		free(m);
		op_end(op, NULL, "create");
		return;
	}
	if (!docker_status_ok(r->status) || r->id == NULL) {
		op_end(op, r, "create");
		return;
	}
	log_info(COMPONENT, "created", "deployment", op->deployment, "container", op->name, (char *)NULL);
	op_do_start(op, r->id);
}

static void op_next_volume(struct docker_result *r, void *arg);
static void op_network_done(enum network_outcome o, const char *msg, void *arg);

static void op_create_step(struct eng_op *op)
{
	struct error *err = NULL;
	int rc;

	if (op->create.create_network && !op->net_done) {
		struct docker_label *nl;
		size_t nn, i;

		/* The template's network first (network.c): created and labelled when missing. */
		op->net_done = 1;
		desired_network_labels(&op->e->desired, &nl, &nn);
		rc = network_ensure(op->e->docker, DOCKER_ROLLOUT, op->create.create_network, op->e->instance, nl, nn,
				    op_network_done, op, &err);
		for (i = 0; i < nn; i++) {
			free(nl[i].key);
			free(nl[i].value);
		}
		free(nl);
	} else if (op->create.volume_names[op->vol] != NULL) {
		rc = docker_volume_create(op->e->docker, DOCKER_ROLLOUT, op->create.volume_names[op->vol],
					  op->vlabels, op->n_vlabels, op_next_volume, op, &err);
		op->vol++;
	} else {
		rc = docker_container_create(op->e->docker, DOCKER_ROLLOUT, &op->create.spec, op_created, op, &err);
	}
	if (rc < 0) {
		struct eng_dep *ed = dep_get(op->e, op->deployment);

		set_str(&ed->last_error, error_msg(err));
		error_free(err);
		op_end(op, NULL, "create");
	}
}

static void op_network_done(enum network_outcome o, const char *msg, void *arg)
{
	struct eng_op *op = arg;

	if (o == NETWORK_FAILED) {
		struct eng_dep *ed = dep_get(op->e, op->deployment);

		set_str(&ed->last_error, msg);
		op_end(op, NULL, "create");
		return;
	}
	if (o == NETWORK_OWNED)
		desired_create_mark_network(&op->create);
	op_create_step(op);
}

static void op_next_volume(struct docker_result *r, void *arg)
{
	struct eng_op *op = arg;

	if (!docker_status_ok(r->status)) {
		op_end(op, r, "create a volume for");
		return;
	}
	op_create_step(op);
}

static void op_removed(struct docker_result *r, void *arg)
{
	struct eng_op *op = arg;

	if (r->status == DOCKER_NOT_FOUND || r->status == DOCKER_CONFLICT) {
		/* Already gone, or Docker is removing it already. */
		op_end(op, NULL, "remove");
		return;
	}
	if (docker_status_ok(r->status))
		log_info(COMPONENT, "removed", "deployment", op->deployment, "container", op->name, (char *)NULL);
	op_end(op, r, "remove");
}

static void op_stopped(struct docker_result *r, void *arg)
{
	struct eng_op *op = arg;
	struct error *err = NULL;

	(void)r;
	/* Whatever the stop said (stopped, already stopped, gone), the remove decides. */
	if (docker_container_remove(op->e->docker, DOCKER_ROLLOUT, op->id, 1, 0, op_removed, op, &err) < 0) {
		error_free(err);
		op_end(op, NULL, "remove");
	}
}

/* Blue-green and canary containers carry their slot (desired.c writes an empty one). */
static void set_slot_label(struct desired_create *c, const char *slot)
{
	size_t i;

	for (i = 0; i < c->n_labels; i++)
		if (strcmp(c->labels[i].key, OBS_LABEL_SLOT) == 0) {
			free(c->labels[i].value);
			c->labels[i].value = xstrdup(slot);
		}
}

static void op_issue(struct engine *e, const struct desired_deployment *dd, const struct plan_target *t,
		     const struct rollout_op *rop)
{
	struct eng_op *op = xcalloc(1, sizeof(*op));
	struct error *err = NULL;
	int rc = 0;

	op->e = e;
	op->kind = rop->kind;
	op->deployment = xstrdup(dd ? dd->name : rop->c && rop->c->deployment ? rop->c->deployment : "");
	op->name = xstrdup(rop->c ? rop->c->name : rop->name);
	op->id = rop->c ? xstrdup(rop->c->id) : NULL;
	op->next = e->ops;
	if (e->ops)
		e->ops->pprev = &op->next;
	op->pprev = &e->ops;
	e->ops = op;
	e->n_ops_running++;
	log_info(COMPONENT, rollout_op_name(rop->kind), "deployment", op->deployment, "container", op->name,
		 "why", rop->why, (char *)NULL);
	switch (rop->kind) {
	case ROLLOUT_CREATE:
		desired_create_build(&op->create, &e->desired, dd->name, t->tmpl, t->rev, rop->ordinal, rop->name,
				     rop->port_offset);
		desired_volume_labels(&e->desired, dd->name, op->create.ordinal_text, &op->vlabels, &op->n_vlabels);
		if (rop->slot[0])
			set_slot_label(&op->create, rop->slot);
		op_create_step(op);
		return;
	case ROLLOUT_START:
		op_do_start(op, op->id);
		return;
	case ROLLOUT_REMOVE:
		rc = docker_container_stop(e->docker, DOCKER_ROLLOUT, op->id, 10, op_stopped, op, &err);
		break;
	}
	if (rc < 0) {
		log_warn(COMPONENT, "cannot remove", "container", op->name, "error", error_msg(err), (char *)NULL);
		error_free(err);
		op_end(op, NULL, "remove");
	}
}

/* --------------------------------------------------------------- the pass */

/* Healthy at its desired revision, as the state file remembers (latched: a later hiccup does not undo it). */
static int reached(const struct engine *e, const struct desired_deployment *dd)
{
	const struct statefile_entry *se = statefile_get((struct statefile *)&e->state, dd->name, 0);
	const struct eng_dep *ed = dep_find(e, dd->name);

	if (ed && (ed->failed || ed->rolled_back))
		return 0;
	return se && se->has_healthy && strcmp(se->healthy_rev, dd->revision) == 0;
}

/*
 * The first earlier deployment this one waits for, or NULL when its turn has
 * come. desired.v is sorted by phase and the pass goes through it in order,
 * so the earlier phases are a prefix of it: reach_ok keeps how far that prefix
 * was found reached in this pass, which makes the check linear over a pass
 * rather than quadratic. A failure can undo a reached deployment, so
 * fail_deployment starts the count again.
 */
static const struct desired_deployment *blocker(struct engine *e, const struct desired_deployment *dd)
{
	const struct desired_deployment *first = NULL;
	size_t i;

	while (e->reach_ok < e->desired.n && e->desired.v[e->reach_ok].phase < dd->phase &&
	       reached(e, &e->desired.v[e->reach_ok]))
		e->reach_ok++;
	if (e->reach_ok < e->desired.n && e->desired.v[e->reach_ok].phase < dd->phase)
		first = &e->desired.v[e->reach_ok];
	for (i = 0; i < dd->n_depends_on; i++) {
		const struct desired_deployment *o = desired_find(&e->desired, dd->depends_on[i]);

		if (o != NULL && o != dd && !reached(e, o) && (first == NULL || o < first))
			first = o;
	}
	return first;
}

static void fail_deployment(struct engine *e, const struct desired_deployment *dd, const char *reason);

/* Marks deployments of later phases that already run their new revision for return, before this one. */
static void cascade_rollback(struct engine *e, const struct desired_deployment *failed)
{
	size_t i, j;

	for (i = 0; i < e->desired.n; i++) {
		const struct desired_deployment *o = &e->desired.v[i];
		const struct obs_deployment *od;
		struct eng_dep *ed;

		if (o->phase <= failed->phase)
			continue;
		ed = dep_get(e, o->name);
		if (ed->rolled_back || ed->failed)
			continue;
		od = observed_deployment(&e->obs, o->name);
		for (j = 0; od && j < od->n; j++)
			if (obs_revision_eq(od->v[j]->revision, o->revision)) {
				char *why = fmt("rolled back because '%s' failed", failed->name);

				fail_deployment(e, o, why);
				free(why);
				break;
			}
	}
}

static void fail_deployment(struct engine *e, const struct desired_deployment *dd, const char *reason)
{
	struct eng_dep *ed = dep_get(e, dd->name);
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	int can = dd->auto_rollback && se &&
		  ((se->has_healthy && strcmp(se->healthy_rev, dd->revision) != 0) ||
		   (se->has_previous && strcmp(se->previous_rev, dd->revision) != 0));

	e->reach_ok = 0;
	log_error(COMPONENT, can ? "deployment failed, rolling back" : "deployment failed", "deployment", dd->name,
		  "revision", dd->revision, "reason", reason, (char *)NULL);
	set_str(&ed->last_error, reason);
	ed->finished_at = wall_ms();
	if (can) {
		statefile_set_failed(&e->state, dd->name, dd->revision, e->desired.commit, reason, wall_ms());
		ed->rolled_back = 1;
		cascade_rollback(e, dd);
	} else {
		ed->failed = 1;
	}
}

int engine_rollback(struct engine *e, const char *deployment, const char *reason, struct error **err)
{
	const struct desired_deployment *dd = desired_find(&e->desired, deployment);
	const struct statefile_entry *se;
	struct eng_dep *ed;

	if (dd == NULL)
		return error_set(err, ERR_NOTFOUND, "no deployment '%s' in the specs", deployment);
	se = statefile_get(&e->state, deployment, 0);
	if (se == NULL || !((se->has_healthy && strcmp(se->healthy_rev, dd->revision) != 0) ||
			    (se->has_previous && strcmp(se->previous_rev, dd->revision) != 0)))
		return error_set(err, ERR_CONFLICT, "deployment '%s' has no earlier healthy revision to return to",
				 deployment);
	statefile_set_failed(&e->state, dd->name, dd->revision, e->desired.commit,
			     reason ? reason : "rolled back by hand", wall_ms());
	ed = dep_get(e, deployment);
	ed->rolled_back = 1;
	set_str(&ed->last_error, reason ? reason : "rolled back by hand");
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
	if (reached(e, dd) || statefile_is_failed(&e->state, dd->name, dd->revision, e->desired.commit))
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
	/* As a failed check would: back to the stable slot at 100 %, the new slot removed. */
	fail_deployment(e, dd, reason ? reason : "aborted by hand");
	engine_kick(e);
	return 0;
}

/* A rollback of phase p waits until no later phase is still rolling back: phase by phase in reverse. */
static int later_rollback_pending(const struct engine *e, const struct desired_deployment *dd)
{
	size_t i;

	for (i = 0; i < e->desired.n; i++) {
		const struct desired_deployment *o = &e->desired.v[i];
		const struct eng_dep *ed;

		if (o->phase <= dd->phase)
			continue;
		ed = dep_find(e, o->name);
		if (ed && ed->rolled_back && !ed->complete)
			return 1;
	}
	return 0;
}

static void describe_probe(const struct eng_probe *p, struct buf *b)
{
	const struct probe_state *st;

	if (p == NULL || p->r == NULL)
		return;
	st = probe_runner_state(p->r);
	if (st->last_failure[0])
		(void)buf_printf(b, "; last probe failure: %s", st->last_failure);
}

/* One deployment's part of a pass; returns the number of operations issued. */
static size_t pass_deployment(struct engine *e, const struct desired_deployment *dd, int64_t now)
{
	struct eng_dep *ed = dep_get(e, dd->name);
	const struct obs_deployment *od = observed_deployment(&e->obs, dd->name);
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	const struct desired_deployment *wait = NULL;
	struct rollout_ctr *ctrs = NULL;
	struct engine_traffic_verdict tv = { 0 };
	struct rollout_input in;
	struct plan_target t;
	struct buf step;
	size_t i, issued = 0;
	int turn;

	ed->seen = 1;
	plan_target(&t, &e->desired, dd, &e->state);
	if (t.held) {
		ed->rolled_back = 1;
		turn = !later_rollback_pending(e, dd);
	} else {
		wait = blocker(e, dd);
		turn = wait == NULL && !ed->failed;
	}
	ed->blocked = !turn;
	if (!turn && !t.held) {
		/* Not its turn: keep what was healthy running, change nothing. */
		if (se == NULL || !se->has_healthy || ed->failed) {
			rollout_result_release(&ed->res);
			ed->res.total = od ? (int)od->n : 0;
			ed->complete = 0;
			free(ed->step);
			ed->step = wait ? fmt("waiting for '%s'", wait->name) : xstrdup("stopped after a failure");
			ed->turn = 0;
			goto probes;
		}
		t.rev = se->healthy_rev;
		t.tmpl = &se->healthy_tmpl;
	}

	memset(&in, 0, sizeof(in));
	in.deployment = dd->name;
	in.strategy = dd->strategy;
	in.replicas = dd->replicas;
	in.max_surge = dd->max_surge;
	in.max_unavailable = dd->max_unavailable;
	in.rev = t.rev;
	in.tmpl = t.tmpl;
	in.heal_only = !turn;
	in.n = od ? od->n : 0;
	ctrs = in.n ? xcalloc(in.n, sizeof(*ctrs)) : NULL;
	for (i = 0; i < in.n; i++) {
		const struct obs_container *c = od->v[i];
		struct eng_probe *p;

		ctrs[i].c = c;
		if (!obs_container_alive(c)) {
			ctrs[i].known = 1;
			continue;
		}
		probe_ensure(e, dd, c);
		p = probe_find(e, c->id);
		if (p && p->r) {
			const struct probe_state *st = probe_runner_state(p->r);

			ctrs[i].ready = st->ready;
			ctrs[i].known = st->ready || st->startup_failed ||
					st->attempts[PROBE_READINESS] > 0 ||
					(dd->spec->probes.readiness.kind == SPEC_PROBE_NONE && st->started);
			int64_t since = st->ready_since_ms, min_ready = (int64_t)dd->min_ready_seconds * 1000;

			if (dd->tmpl.health_cmd) {
				/* Readiness is Docker's verdict (see probe_ensure). */
				ctrs[i].ready = st->ready && c->health == OBS_HEALTH_HEALTHY;
				ctrs[i].known = st->startup_failed || c->health == OBS_HEALTH_HEALTHY ||
						c->health == OBS_HEALTH_UNHEALTHY;
				/* minReadySeconds counts from Docker's healthy verdict, not from the runner's start. */
				if (!ctrs[i].ready)
					p->healthy_since = 0;
				else if (p->healthy_since == 0)
					p->healthy_since = now;
				since = ctrs[i].ready ? p->healthy_since : -1;
			}
			ctrs[i].available = ctrs[i].ready && since >= 0 && now - since >= min_ready;
			/*
			 * A container made before this engine started cannot have its
			 * ready time known here; when it is ready and has existed for
			 * minReadySeconds it counts as available, or a restarted
			 * controller would take every old replica for unavailable and
			 * remove them all at once, breaking maxUnavailable.
			 */
			if (ctrs[i].ready && !ctrs[i].available && c->created * 1000 < e->born_wall_ms &&
			    wall_ms() - c->created * 1000 >= min_ready)
				ctrs[i].available = 1;
		} else {
			ctrs[i].known = 1;
		}
	}
	in.v = ctrs;
	rollout_result_release(&ed->res);
	engine_traffic_verdict_release(&tv);
	if (engine_traffic_handles(dd)) {
		const char *stable = se && se->has_healthy ? se->healthy_rev : NULL;

		engine_traffic_pass(e->traffic, dd, t.rev, stable, t.held, !turn, ctrs, in.n, &ed->res, &tv);
		if (tv.holding)
			ed->progress_at = now;
		/* The old slot is still to be released: the pass is not quiet yet. */
		if (tv.more && turn)
			issued++;
		if (tv.fail && turn && !t.held) {
			/* The next pass returns to the stable slot: nothing of this decision is carried out. */
			fail_deployment(e, dd, tv.fail);
			rollout_result_release(&ed->res);
			engine_kick(e);
		}
	} else {
		rollout_step(&in, &ed->res);
	}

	if (turn && !ed->turn) {
		ed->progress_at = now;
		if (!ed->res.complete && ed->started_at == 0)
			ed->started_at = wall_ms();
	}
	if (strcmp(ed->target, t.rev) != 0) {
		int64_t was = statefile_progress(&e->state, dd->name, t.rev), wall = wall_ms();

		snprintf(ed->target, sizeof(ed->target), "%s", t.rev);
		ed->progress_at = now;
		ed->started_at = wall;
		ed->finished_at = 0;
		/* A restart in the middle of this rollout: its deadline runs on from the state file. */
		if (was > 0 && was <= wall && !ed->res.complete) {
			ed->progress_at = now - (wall - was);
			ed->last_updated = ed->res.updated;
			ed->last_available = ed->res.available;
		}
	}
	ed->turn = turn;
	/* A deployment that was complete and lost a container starts a new deadline, not an old one. */
	if (ed->complete && !ed->res.complete)
		ed->progress_at = now;
	if (ed->res.updated > ed->last_updated || ed->res.available > ed->last_available)
		ed->progress_at = now;
	ed->last_updated = ed->res.updated;
	ed->last_available = ed->res.available;
	if (ed->progress_at == now && !ed->res.complete) {
		int64_t wall = wall_ms();

		/* At most once a second: a slot held at the router counts as progress on every pass. */
		if (wall - statefile_progress(&e->state, dd->name, t.rev) >= 1000)
			statefile_set_progress(&e->state, dd->name, t.rev, wall);
	} else if (ed->res.complete) {
		/*
		 * Done: forget it. A restart sees no container ready until the probes
		 * run again, and must not take that for a rollout stalled since then.
		 */
		statefile_set_progress(&e->state, dd->name, "", 0);
	}

	/* Liveness failures restart the container: it goes, and the next pass makes it anew. */
	for (i = 0; i < in.n; i++) {
		struct eng_probe *p = probe_find(e, ctrs[i].c->id);
		const struct probe_state *st = p && p->r ? probe_runner_state(p->r) : NULL;

		if (st && st->live_failed) {
			struct rollout_op op;

			memset(&op, 0, sizeof(op));
			op.kind = ROLLOUT_REMOVE;
			op.c = ctrs[i].c;
			op.ordinal = ctrs[i].c->ordinal;
			op.why = fmt("liveness failed: %s", st->last_failure);
			/* A draining controller restarts nothing, so it counts nothing either. */
			if (!e->draining) {
				op_issue(e, dd, &t, &op);
				issued++;
				ed->restarts++;
			}
			free(op.why);
		}
	}

	if (turn && !t.held && !ed->res.complete) {
		const char *startup_failure = NULL;
		struct eng_probe *failing = NULL;

		for (i = 0; i < in.n; i++) {
			struct eng_probe *p = probe_find(e, ctrs[i].c->id);

			if (p && p->r && obs_revision_eq(ctrs[i].c->revision, t.rev)) {
				if (probe_runner_state(p->r)->startup_failed)
					startup_failure = ctrs[i].c->name;
				if (!ctrs[i].ready)
					failing = p;
			}
		}
		if (startup_failure) {
			struct buf why;

			buf_init(&why, 4096);
			(void)buf_printf(&why, "container '%s' failed its startup probe", startup_failure);
			describe_probe(probe_find(e, failing ? failing->id : ""), &why);
			fail_deployment(e, dd, why.data);
			buf_release(&why);
			goto out;
		}
		if (now - ed->progress_at > (int64_t)dd->progress_deadline_seconds * 1000) {
			struct buf why;

			buf_init(&why, 4096);
			(void)buf_printf(&why, "progress deadline of %ds exceeded: %d/%d updated, %d available",
					 dd->progress_deadline_seconds, ed->res.updated, dd->replicas,
					 ed->res.available);
			describe_probe(failing, &why);
			fail_deployment(e, dd, why.data);
			buf_release(&why);
			goto out;
		}
	}

	if (ed->res.complete && turn) {
		if (!t.held && !ed->failed)
			statefile_set_healthy(&e->state, dd->name, t.rev, t.tmpl, e->desired.commit, wall_ms());
		if (!ed->complete)
			ed->finished_at = wall_ms();
		/* A deployment that got there has no error to show (a failure stays: it says why it is back). */
		if (!t.held)
			set_str(&ed->last_error, NULL);
	}
	ed->complete = ed->res.complete;
	if (ed->res.n_ops && turn)
		statefile_set_applied(&e->state, dd->name, t.rev, t.tmpl);
	if (!e->draining)
		for (i = 0; i < ed->res.n_ops; i++) {
			op_issue(e, dd, &t, &ed->res.ops[i]);
			issued++;
		}

	buf_init(&step, 1024);
	if (t.held && !ed->res.complete)
		(void)buf_printf(&step, "rolling back ");
	if (tv.step)
		(void)buf_puts(&step, tv.step);
	else
		rollout_describe(&in, &ed->res, &step);
	/* Held at its healthy revision while an earlier one is not there yet: say for whom. */
	if (wait != NULL)
		(void)buf_printf(&step, "; waiting for '%s'", wait->name);
	free(ed->step);
	ed->step = buf_detach(&step, NULL);
out:
	free(ctrs);
probes:
	engine_traffic_verdict_release(&tv);
	for (i = 0; od && i < od->n; i++) {
		struct eng_probe *p = probe_find(e, od->v[i]->id);

		if (p && obs_container_alive(od->v[i]))
			p->seen = 1;
	}
	snprintf(ed->rev_shown, sizeof(ed->rev_shown), "%s", t.rev);
	return issued;
}

/* Containers of deployments no longer in the specs (prune, guarded) and ours with unusable labels. */
static size_t pass_orphans(struct engine *e)
{
	size_t i, issued = 0, limit, n_orphans = 0;
	int pct = e->o.prune_max_percent > 0 ? e->o.prune_max_percent : 25;

	limit = (e->obs.n_containers * (size_t)pct) / 100;
	if (limit < 1)
		limit = 1;
	for (i = 0; i < e->obs.n_containers; i++) {
		const struct obs_container *c = &e->obs.containers[i];
		struct rollout_op op;

		if (!c->malformed && (desired_find(&e->desired, c->deployment) != NULL || !e->o.prune))
			continue;
		n_orphans++;
		if (e->draining || issued >= limit)
			continue;
		memset(&op, 0, sizeof(op));
		op.kind = ROLLOUT_REMOVE;
		op.c = c;
		op.why = c->malformed ? fmt("ours, but %s", c->malformed_why)
				      : fmt("deployment '%s' is gone from the specs", c->deployment);
		op_issue(e, NULL, NULL, &op);
		free(op.why);
		issued++;
	}
	if (n_orphans > issued && !e->draining)
		log_info(COMPONENT, "prune held back", "reason", "at most a share of the fleet per pass", (char *)NULL);
	return issued;
}

static void build_status(struct engine *e)
{
	struct fleet_status *s = &e->status;
	size_t i, n_prog = 0, n_failed = 0, n_rb = 0;
	const char *first_prog = NULL;
	int prog_phase = -1;
	char *summary = NULL;

	status_release(s);
	status_init(s);
	s->commit = xstrdup(e->desired.commit ? e->desired.commit : "");
	s->observed_at = wall_ms();
	if (e->list_error)
		s->source_error = fmt("docker: %s", e->list_error);
	for (i = 0; i < e->desired.n; i++) {
		const struct desired_deployment *dd = &e->desired.v[i];
		struct eng_dep *ed = dep_get(e, dd->name);
		struct status_deployment *sd = status_add_deployment(s, dd->name);
		struct status_condition *c;

		sd->role = xstrdup(dd->role);
		sd->revision = xstrdup(ed->rev_shown[0] ? ed->rev_shown : dd->revision);
		sd->desired = dd->replicas;
		sd->ready = ed->res.ready;
		sd->updated = ed->res.updated;
		sd->available = ed->res.available;
		sd->restarts = ed->restarts;
		sd->strategy = xstrdup(plan_strategy_name(dd->strategy));
		sd->step = ed->step ? xstrdup(ed->step) : NULL;
		sd->last_error = ed->last_error ? xstrdup(ed->last_error) : NULL;
		sd->started_at = ed->started_at;
		sd->finished_at = ed->finished_at;
		if (ed->failed) {
			sd->phase = STATUS_FAILED;
			n_failed++;
		} else if (ed->rolled_back) {
			sd->phase = ed->complete ? STATUS_ROLLEDBACK : STATUS_PROGRESSING;
			n_rb++;
		} else if (ed->complete && !ed->blocked) {
			sd->phase = STATUS_HEALTHY;
		} else if (ed->blocked && ed->res.available < dd->replicas && ed->res.total > 0) {
			sd->phase = STATUS_DEGRADED;
		} else {
			sd->phase = STATUS_PROGRESSING;
		}
		if (sd->phase == STATUS_PROGRESSING && !ed->blocked) {
			n_prog++;
			if (first_prog == NULL) {
				first_prog = ed->step;
				prog_phase = dd->phase;
			}
		}
		c = status_add_condition(sd, "Available");
		c->status = xstrdup(ed->res.available >= dd->replicas - dd->max_unavailable ? "True" : "False");
		c->reason = xstrdup(ed->res.available >= dd->replicas ? "AllAvailable" : "SomeUnavailable");
		c = status_add_condition(sd, "Progressing");
		c->status = xstrdup(ed->failed ? "False" : "True");
		c->reason = xstrdup(ed->failed		 ? "ProgressDeadlineExceeded"
				    : ed->rolled_back	 ? "RolledBack"
				    : ed->complete	 ? "NewRevisionAvailable"
				    : ed->blocked	 ? "WaitingForEarlierPhase"
							 : "RollingOut");
		if (ed->last_error && (ed->failed || ed->rolled_back))
			c->message = xstrdup(ed->last_error);
		ed->phase = sd->phase;
	}
	if (n_failed)
		s->phase = STATUS_FAILED;
	else if (n_rb)
		s->phase = e->outcome == ENGINE_RUNNING ? STATUS_PROGRESSING : STATUS_ROLLEDBACK;
	else if (n_prog || e->outcome == ENGINE_RUNNING)
		s->phase = STATUS_PROGRESSING;
	else
		s->phase = STATUS_HEALTHY;
	for (i = 0; i < s->ndeployments && summary == NULL; i++) {
		const struct status_deployment *sd = &s->deployments[i];

		if (sd->phase == STATUS_FAILED || (sd->phase == STATUS_ROLLEDBACK && sd->last_error &&
						   !str_has_prefix(sd->last_error, "rolled back because")))
			summary = fmt("%s %s: %s", sd->name, sd->phase == STATUS_FAILED ? "failed" : "rolled back",
				      sd->last_error ? sd->last_error : "");
	}
	if (summary == NULL && first_prog)
		summary = fmt("phase %d of %d, %s", prog_phase + 1, e->desired.n_phases, first_prog);
	s->summary = summary;
}

static void compute_outcome(struct engine *e, size_t issued)
{
	size_t i;
	int busy = issued > 0 || e->n_ops_running > 0, failed = 0, rb = 0;

	for (i = 0; i < e->desired.n; i++) {
		struct eng_dep *ed = dep_get(e, e->desired.v[i].name);

		if (ed->failed) {
			failed = 1;
			continue;
		}
		if (ed->rolled_back)
			rb = 1;
		if (!ed->complete && !ed->blocked)
			busy = 1;
		if (ed->rolled_back && !ed->complete)
			busy = 1;
	}
	/* Blocked deployments wait for a phase that is still moving, or are stopped by a failure. */
	if (!busy && !failed && !rb)
		for (i = 0; i < e->desired.n; i++)
			if (dep_get(e, e->desired.v[i].name)->blocked)
				busy = 1;
	if (e->list_error)
		busy = 1;
	e->outcome = busy ? ENGINE_RUNNING : failed ? ENGINE_FAILED : rb ? ENGINE_ROLLEDBACK : ENGINE_CONVERGED;
}

static void finish_pass(struct engine *e)
{
	struct error *err = NULL;
	int again = e->pass_again;

	e->pass_running = 0;
	e->pass_again = 0;
	if (e->state.dirty && statefile_save(&e->state, &err) < 0) {
		log_error(COMPONENT, "cannot save state", "error", error_msg(err), (char *)NULL);
		error_free(err);
	}
	build_status(e);
	if (e->o.on_pass)
		e->o.on_pass(e, e->o.arg);
	if (e->draining)
		return;
	if (again)
		schedule(e, 0);
	else
		schedule(e, e->outcome == ENGINE_RUNNING ? e->o.pass_interval_ms : e->o.resync_ms);
}

static void decide(struct engine *e)
{
	int64_t now = loop_now(e->loop);
	size_t i, issued = 0;

	for (i = 0; i < e->n_deps; i++)
		e->deps[i].seen = 0;
	e->reach_ok = 0;
	for (i = 0; i < e->desired.n; i++)
		issued += pass_deployment(e, &e->desired.v[i], now);
	/* Deployments marked for rollback during this pass act on the next one. */
	issued += pass_orphans(e);
	probes_sweep(e);
	compute_outcome(e, issued);
	e->passes++;
	e->last_pass_ms = now_ms() - e->pass_started;
	if (e->n_ops_running == 0)
		finish_pass(e);
}

static void on_list(struct docker_result *r, void *arg)
{
	struct engine *e = arg;
	struct error *err = NULL;

	if (!docker_status_ok(r->status) || r->json == NULL ||
	    observe_from_json(&e->obs, e->instance, r->json, &err) < 0) {
		char *m = err ? xstrdup(error_msg(err)) : fmt("cannot list containers: %s",
							       r->message && r->message[0] ? r->message
										    : docker_status_name(r->status));

		log_warn(COMPONENT, "observe failed", "error", m, (char *)NULL);
		free(e->list_error);
		e->list_error = m;
		error_free(err);
		e->outcome = ENGINE_RUNNING;
		e->pass_running = 0;
		build_status(e);
		if (e->o.on_pass)
			e->o.on_pass(e, e->o.arg);
		if (!e->draining)
			schedule(e, e->o.pass_interval_ms * 4);
		return;
	}
	free(e->list_error);
	e->list_error = NULL;
	decide(e);
}

static void start_pass(struct loop *l, void *arg)
{
	struct engine *e = arg;
	const char *filters[] = { e->filter, NULL };
	struct error *err = NULL;

	(void)l;
	e->timer = 0;
	if (e->pass_running || e->draining || e->set == NULL)
		return;
	e->pass_running = 1;
	e->pass_started = now_ms();
	if (docker_container_list(e->docker, DOCKER_OBSERVE, filters, on_list, e, &err) < 0) {
		log_error(COMPONENT, "cannot list containers", "error", error_msg(err), (char *)NULL);
		error_free(err);
		e->pass_running = 0;
		schedule(e, e->o.resync_ms);
	}
}

/* ------------------------------------------------------------------ events */

static void on_event(const struct docker_event *ev, void *arg)
{
	struct engine *e = arg;

	if (ev->action == NULL)
		return;
	if (strcmp(ev->action, "die") == 0 && ev->id != NULL) {
		struct eng_probe *p = probe_find(e, ev->id);

		/*
		 * A container that died is not ready, however fast Docker's
		 * restart policy brings it back: its probes start over as for a
		 * new container, so the pass this event wakes sees it not ready
		 * (a release watching its monitor window must not miss a crash
		 * that fell between two probes).
		 */
		if (p != NULL) {
			p->healthy_since = 0;
			probe_runner_restart(p->r, 0);
		}
	}
	if (strcmp(ev->action, "die") == 0 || strcmp(ev->action, "destroy") == 0 ||
	    strcmp(ev->action, "stop") == 0 || strcmp(ev->action, "kill") == 0 ||
	    str_has_prefix(ev->action, "health_status") || strcmp(ev->action, "oom") == 0)
		engine_kick(e);
}

static void on_stream(int connected, enum docker_status st, const char *message, void *arg)
{
	struct engine *e = arg;

	if (connected) {
		engine_kick(e);	/* events may have been missed: relist */
		return;
	}
	log_warn(COMPONENT, "event stream broken", "status", docker_status_name(st), "message",
		 message ? message : "", (char *)NULL);
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
	e->o = *o;
	if (e->o.pass_interval_ms <= 0)
		e->o.pass_interval_ms = 500;
	if (e->o.resync_ms <= 0)
		e->o.resync_ms = 10000;
	e->instance = xstrdup(o->instance && o->instance[0] ? o->instance : "auriga");
	e->o.instance = e->instance;
	e->n_extra = o->n_extra_labels;
	e->extra = xcalloc(e->n_extra + 1, sizeof(*e->extra));
	for (i = 0; i < e->n_extra; i++)
		e->extra[i] = xstrdup(o->extra_labels[i]);
	e->o.extra_labels = (const char *const *)e->extra;
	e->filter = observe_filter(e->instance);
	desired_init(&e->desired);
	observed_init(&e->obs);
	status_init(&e->status);
	statefile_init(&e->state, NULL);
	if (statefile_load(&e->state, o->state_path, err) < 0) {
		engine_free(e);
		return NULL;
	}
	if (e->state.instance && strcmp(e->state.instance, e->instance) != 0) {
		error_set(err, ERR_INVALID, "state file '%s' belongs to instance '%s', not '%s'", o->state_path,
			  e->state.instance, e->instance);
		engine_free(e);
		return NULL;
	}
	if (e->state.instance == NULL) {
		e->state.instance = xstrdup(e->instance);
		e->state.dirty = 1;
	}
	e->traffic = engine_traffic_new(l, d, http, o->state_path, traffic_kick, e, err);
	if (e->traffic == NULL) {
		engine_free(e);
		return NULL;
	}
	engine_traffic_set_metrics(e->traffic, o->metrics);
	engine_traffic_set_router_error_log(e->traffic, o->router_error_log);
	if (o->watch_events) {
		const char *filters[] = { e->filter, "type=container", NULL };

		e->watch = docker_events_watch(d, filters, 0, on_event, on_stream, e, err);
		if (e->watch == NULL) {
			engine_free(e);
			return NULL;
		}
	}
	return e;
}

static void dep_restart(struct eng_dep *d)
{
	d->failed = 0;
	d->rolled_back = 0;
	d->turn = 0;
	set_str(&d->last_error, NULL);
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
	desired_release(&e->desired);
	e->desired = nd;
	if (e->set)
		spec_set_free(e->set);
	e->set = set;
	engine_traffic_set_specs(e->traffic, e->set, &e->desired);
	set_str(&e->commit, commit ? commit : "");
	/* Probe runners borrow nothing from the old set (they copy), but may use old probe settings: restart them. */
	for (i = 0; i < e->n_probes; i++)
		probe_free(e->probes[i]);
	e->n_probes = 0;
	strmap_clear(&e->probe_index);
	e->outcome = ENGINE_RUNNING;
	engine_kick(e);
	return 0;
}

void engine_free(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	if (e->watch)
		docker_events_stop(e->watch);
	if (e->timer)
		loop_timer_cancel(e->loop, e->timer);
	while (e->ops) {
		struct eng_op *op = e->ops;

		e->ops = op->next;
		op->pprev = NULL;
		op_free(op);
	}
	for (i = 0; i < e->n_probes; i++)
		probe_free(e->probes[i]);
	free(e->probes);
	strmap_clear(&e->probe_index);
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
	statefile_release(&e->state);
	observed_release(&e->obs);
	desired_release(&e->desired);
	status_release(&e->status);
	if (e->set)
		spec_set_free(e->set);
	for (i = 0; i < e->n_extra; i++)
		free(e->extra[i]);
	free(e->extra);
	free(e->filter);
	free(e->instance);
	free(e->commit);
	free(e->list_error);
	free(e);
}
