/*
 * Swarm beneath: the Cluster's one endpoint is a Swarm manager and each Deployment a replicated
 * service named for it. auriga keeps the order (phases, dependsOn), the judgement (its probes on
 * the tasks' containers, the deadline, the rollback) and the record (state, status, notes); Swarm
 * makes, replaces and removes the tasks. Each pass lists the nodes, the instance's services and
 * their tasks; a deployment whose service that list found elsewhere than its target (revision
 * label, replicas) or not at all has it updated at the version listed (a change made meanwhile is
 * refused, not overwritten) or created. While Swarm replaces the tasks, nothing is asked of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "runtime/log.h"
#include "kv.h"
#include "util.h"

/* The service wanted: the task's container as a create spec would make it, and the service around it. */
struct swarm_want {
	struct docker_service_spec s;
	struct kv *labels;		/* the service's */
	size_t n_labels;
	struct kv *task_labels;		/* the task's: the container's but its ordinal (the slot says it) */
	size_t n_task_labels;
	char *rev;
	char *hostname;
	char **volumes;			/* per-replica volume names, templated by slot */
	size_t n_volumes;
	char *pin;			/* a pinned ordinal's constraint: "node.id==<id>" */
	const char *constraints[2];
};

void engine_swarm_want_free(struct swarm_want *w)
{
	size_t i;

	kv_free(w->labels, w->n_labels);
	kv_free(w->task_labels, w->n_task_labels);
	for (i = 0; i < w->n_volumes; i++)
		free(w->volumes[i]);
	FREE_ALL(w->volumes, w->rev, w->hostname, w->pin);
	free(w);
}

int engine_swarm(const struct engine *e)
{
	return spec_set_swarm(e->set);
}


/* The update config from the strategy: Rolling replaces maxSurge new before old, else maxUnavailable old first. */
static void map_strategy(const struct desired_deployment *dd, struct docker_service_spec *s)
{
	rollout_swarm_order(dd->strategy, dd->max_surge, dd->max_unavailable, &s->start_first, &s->parallelism);
	s->monitor_ms = (int64_t)dd->min_ready_seconds * 1000;
}

/*
 * A per-replica volume is the slot's own: "<deployment>.<volume>.{{.Task.Slot}}.<h>",
 * which Swarm fills in for each task (slots count from 1; h as for a volume the
 * replicas share).
 */
static char *slot_volume_name(const char *instance, const char *dep, const char *vol)
{
	char *shared = desired_volume_name(instance, dep, vol, -1), *out;
	const char *dot = strrchr(shared, '.');

	out = dot ? xasprintf("%.*s.{{.Task.Slot}}%s", (int)(dot - shared), shared, dot)
		  : xasprintf("%s.{{.Task.Slot}}", shared);
	free(shared);
	return out;
}

static struct swarm_want *want_build(struct engine *e, struct eng_op *op, const struct desired_deployment *dd,
				     const struct plan_target *t, const struct rollout_op *rop, size_t nodes,
				     const char *node)
{
	struct swarm_want *w = xcalloc(1, sizeof(*w));
	struct desired_create *c = &op->create;
	int pinned = node != NULL;
	size_t i;

	w->rev = xstrdup(t->rev);
	/* A pinned ordinal's task keeps its ordinal label: its slot is always 1. */
	for (i = 0; i < c->n_labels; i++)
		if (pinned || strcmp(c->labels[i].key, OBS_LABEL_ORDINAL) != 0)
			kv_put(&w->task_labels, &w->n_task_labels, c->labels[i].key, c->labels[i].value);
	c->spec.labels = w->task_labels;
	c->spec.n_labels = w->n_task_labels;
	/* The operator's extra labels on the service too, not only on its tasks' containers. */
	for (i = 0; i < e->desired.n_extra_labels; i++)
		kv_put(&w->labels, &w->n_labels, e->desired.extra_labels[i].key, e->desired.extra_labels[i].value);
	kv_put(&w->labels, &w->n_labels, OBS_LABEL_MANAGED_BY, e->desired.instance);
	kv_put(&w->labels, &w->n_labels, OBS_LABEL_DEPLOYMENT, dd->name);
	kv_put(&w->labels, &w->n_labels, OBS_LABEL_REVISION, t->rev);
	kv_put(&w->labels, &w->n_labels, OBS_LABEL_COMMIT, e->desired.commit ? e->desired.commit : "");
	w->hostname = pinned ? xasprintf("%s-%d", dd->name, rop->ordinal + 1) : xasprintf("%s-{{.Task.Slot}}", dd->name);
	c->spec.hostname = w->hostname;
	/* The mounts are the template's volumes, in its order (desired_create_build). */
	w->volumes = xcalloc(c->spec.n_mounts + 1, sizeof(*w->volumes));
	for (i = 0; !pinned && i < c->spec.n_mounts && i < t->tmpl->n_volumes; i++) {
		const struct desired_volume *v = &t->tmpl->volumes[i];

		if (c->mounts[i].bind || !v->per_replica)
			continue;
		w->volumes[w->n_volumes] = slot_volume_name(e->desired.instance, dd->name, v->name);
		c->mounts[i].source = w->volumes[w->n_volumes++];
	}
	w->s.name = op->name;
	w->s.task = &c->spec;
	w->s.labels = w->labels;
	w->s.n_labels = w->n_labels;
	w->s.replicas = rop->replicas;
	map_strategy(dd, &w->s);
	/* A slot's service is updated only while the router sends it nothing: all its tasks at once. */
	if (rop->slot[0]) {
		w->s.start_first = 0;
		w->s.parallelism = 0;
		w->s.monitor_ms = 0;
	}
	/* An ordinal's service: its one task stops before the next starts, on the node it is pinned to. */
	if (pinned) {
		w->s.start_first = 0;
		w->s.parallelism = 1;
		w->pin = xasprintf("node.id==%s", node);
		w->constraints[0] = w->pin;
		w->s.constraints = w->constraints;
	}
	/* Validators one per node where the swarm has enough, as on endpoints (a quorum never shares a host). */
	if (!pinned && dd->role && strcmp(dd->role, "validator") == 0 && nodes >= (size_t)dd->replicas)
		w->s.max_per_node = 1;
	return w;
}

static void swarm_failed(struct eng_op *op, const char *what, const struct docker_result *r)
{
	struct eng_dep *ed = engine_dep_get(op->e, op->deployment);
	char *m = xasprintf("cannot %s service '%s': %s", what, op->name, docker_result_reason(r));

	log_warn(COMPONENT, "operation failed", "deployment", op->deployment, "error", m, (char *)NULL);
	str_set(&ed->last_error, m);
	free(m);
}

static void swarm_changed(struct docker_result *r, void *arg)
{
	struct eng_op *op = arg;

	if (!docker_status_ok(r->status))
		swarm_failed(op, op->id ? "update" : "create", r);
	else
		log_info(COMPONENT, op->id ? "service updated" : "service created", "deployment", op->deployment,
			 "service", op->name, "revision", op->swarm->rev, (char *)NULL);
	engine_op_end(op);
}

/* The template has a volume per replica. */
static int slot_volumes(const struct desired_tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n_volumes; i++)
		if (t->volumes[i].per_replica && t->volumes[i].host_path == NULL)
			return 1;
	return 0;
}

/* An exec probe auriga runs itself (startup, liveness): readiness by exec is Docker's health check. */
static int node_exec(const struct desired_deployment *dd)
{
	return spec_deployment_probes(dd->spec)->startup.kind == SPEC_PROBE_EXEC ||
	       spec_deployment_probes(dd->spec)->liveness.kind == SPEC_PROBE_EXEC;
}

/*
 * Why the deployment cannot go onto this swarm yet (malloc'd), or NULL. On
 * several nodes: a pinned replica's new task needs its old one's volume, so
 * no surge; a single service's slot may start where its volume is not; an
 * exec probe or a smoke-test Job auriga runs itself goes through the
 * manager, whose API reaches its own node's containers alone. Refused,
 * never half done.
 */
static char *refusal(const struct eng_host *h, const struct desired_deployment *dd, const struct plan_target *t,
		     int pinned)
{
	if (h->swarm_nodes <= 1)
		return NULL;
	if (pinned && dd->max_surge > 0)
		return xasprintf("a rolling update with a surge (maxSurge %ld, or a disruption budget that lets no "
				 "replica down) cannot be made with per-replica volumes on a swarm of %zu nodes: each "
				 "replica is a service pinned to the node of its volume, whose new task replaces the old "
				 "one there (give maxSurge: 0 and a maxUnavailable the budget allows): nothing is changed",
				 dd->max_surge, h->swarm_nodes);
	if (!pinned && slot_volumes(t->tmpl))
		return xasprintf("per-replica volumes are not supported on a swarm of %zu nodes for a service made "
				 "on one node (Swarm may start a slot's task on a node without its volume; remove the "
				 "service for each replica to be made pinned to a node): nothing is changed",
				 h->swarm_nodes);
	if (node_exec(dd))
		return xasprintf("exec startup and liveness probes are not supported on a swarm of %zu nodes yet "
				 "(auriga runs them through the manager, which reaches only its own node's "
				 "containers; an exec readiness probe is Swarm's health check): nothing is changed",
				 h->swarm_nodes);
	if (dd->spec->strategy.smoke_test_job && engine_traffic_handles(dd))
		return xasprintf("a smoke-test Job is not supported on a swarm of %zu nodes yet (it runs beside the "
				 "new slot's task through the manager, which reaches only its own node's "
				 "containers): nothing is changed", h->swarm_nodes);
	return NULL;
}

static void swarm_removed(struct docker_result *r, void *arg)
{
	struct eng_op *op = arg;

	if (docker_status_ok(r->status))
		log_info(COMPONENT, "service removed", "deployment", op->deployment, "service", op->name, (char *)NULL);
	else if (r->status != DOCKER_NOT_FOUND)
		swarm_failed(op, "remove", r);
	engine_op_end(op);
}

/*
 * The node an ordinal's service is pinned to: the one its listed spec
 * names; for a new one, the ready and active node with the fewest of the
 * deployment's ordinals (the lowest id on a tie). The choice is kept in the
 * list until the next one, so that ordinals made in one pass spread.
 * malloc'd, or NULL when no node can take it.
 */
static char *pin_node(struct eng_host *h, const char *dep, const char *svc)
{
	const char *pinned = json_string_value(json_object_get(json_object_get(h->swarm_services, svc), "node"));
	const char *best = NULL, *key;
	size_t best_n = (size_t)-1, i;
	json_t *n, *s;
	char *out;

	if (pinned)
		return xstrdup(pinned);
	json_array_foreach(h->swarm_node_list, i, n) {
		const char *id = json_string_value(json_object_get(n, "ID"));
		const char *state = json_string_value(json_object_get(json_object_get(n, "Status"), "State"));
		const char *avail = json_string_value(json_object_get(json_object_get(n, "Spec"), "Availability"));
		size_t count = 0;

		if (id == NULL || state == NULL || strcmp(state, "ready") != 0 || avail == NULL ||
		    strcmp(avail, "active") != 0)
			continue;
		json_object_foreach(h->swarm_services, key, s) {
			const char *d = json_string_value(json_object_get(s, "deployment"));
			const char *at = json_string_value(json_object_get(s, "node"));

			count += d && at && strcmp(d, dep) == 0 && strcmp(at, id) == 0;
		}
		if (count < best_n || (count == best_n && strcmp(id, best) < 0)) {
			best = id;
			best_n = count;
		}
	}
	if (best == NULL)
		return NULL;
	out = xstrdup(best);
	json_object_set_new(h->swarm_services, svc, json_pack("{s:s,s:s}", "deployment", dep, "node", out));
	return out;
}

int engine_swarm_pinned(const struct engine *e, const struct desired_deployment *dd, const struct plan_target *t)
{
	const struct eng_host *h;
	const char *key;
	char *own;
	json_t *s;
	int legacy, any = 0;

	if (!engine_swarm(e) || e->n_hosts == 0 || t->tmpl == NULL || !slot_volumes(t->tmpl))
		return 0;
	h = &e->hosts[0];
	own = desired_prefixed(e->desired.name_prefix, dd->name);
	legacy = json_object_get(h->swarm_services, own) != NULL;
	free(own);
	json_object_foreach(h->swarm_services, key, s) {
		const char *d = json_string_value(json_object_get(s, "deployment"));

		any |= d && strcmp(d, dd->name) == 0 && json_is_string(json_object_get(s, "node"));
	}
	/* Once pinned, always: a swarm that shrank to one node keeps its ordinals where their volumes are. */
	return any || (h->swarm_nodes > 1 && !legacy);
}

/* A service that goes (a slot released, a service of an earlier release): removed, its tasks with it. */
static int service_remove(struct engine *e, struct eng_host *h, const char *deployment, const struct rollout_op *rop)
{
	struct rollout_op named = *rop;
	struct error *err = NULL;
	struct eng_op *op;

	if (json_object_get(h->swarm_services, rop->name) == NULL)
		return 0;	/* gone already, or never made */
	named.c = NULL;
	op = engine_op_start(e, h, deployment, &named, 1);
	log_info(COMPONENT, "remove service", "deployment", deployment, "service", op->name, "why", rop->why,
		 (char *)NULL);
	if (docker_service_remove(h->docker, DOCKER_ROLLOUT, op->name, swarm_removed, op, &err) < 0) {
		error_free(err);
		engine_op_end(op);
	}
	return 1;
}

/* The service listed is at rev with replicas already: Swarm is at work, nothing to ask. */
static int listed_at(const json_t *listed, const char *rev, int replicas)
{
	const char *r = json_string_value(json_object_get(listed, "revision"));
	const json_t *n = json_object_get(listed, "replicas");

	return r && strcmp(r, rev) == 0 && json_is_integer(n) && json_integer_value(n) == replicas;
}

int engine_swarm_issue(struct engine *e, const struct desired_deployment *dd, const struct plan_target *t,
		       const struct rollout_op *rop)
{
	struct eng_host *h = &e->hosts[0];
	struct rollout_op named = *rop;
	struct error *err = NULL;
	struct eng_op *op;
	const char *id;
	json_t *listed, *ver;
	char *m, *node = NULL, reps[16];
	int rc;

	if (h->down)
		return 0;	/* the pass waits for the endpoint (its containers count as unavailable) */
	if (rop->replicas <= 0)
		return service_remove(e, h, dd->name, rop);
	if (listed_at(json_object_get(h->swarm_services, rop->name), t->rev, rop->replicas))
		return 0;
	m = refusal(h, dd, t, rop->ordinal >= 0);
	if (m) {
		struct eng_dep *ed = engine_dep_get(e, dd->name);

		if (ed->last_error == NULL || strcmp(ed->last_error, m) != 0)
			log_error(COMPONENT, "refused on swarm", "deployment", dd->name, "reason", m, (char *)NULL);
		str_set(&ed->last_error, m);
		free(m);
		return 0;
	}
	if (rop->ordinal >= 0) {
		node = pin_node(h, dd->name, rop->name);
		if (node == NULL) {
			struct eng_dep *ed = engine_dep_get(e, dd->name);

			str_set(&ed->last_error, "no node of the swarm is ready and active to pin a replica to");
			return 0;
		}
	}
	op = engine_op_start(e, h, dd->name, &named, 1);
	desired_create_build(&op->create, &e->desired, dd->name, t->tmpl, t->rev, rop->ordinal >= 0 ? rop->ordinal : 0,
			     op->name, h->name, 0);
	/* A blue-green or canary slot's tasks carry it, as its containers would. */
	if (rop->slot[0])
		engine_op_set_slot(&op->create, rop->slot);
	op->swarm = want_build(e, op, dd, t, rop, h->swarm_nodes, node);
	free(node);
	snprintf(reps, sizeof(reps), "%d", rop->replicas);
	/* The pass's list read it: updated at the version read there (a change since is refused), or made. */
	listed = json_object_get(h->swarm_services, op->name);
	id = json_string_value(json_object_get(listed, "id"));
	ver = json_object_get(listed, "version");
	if (id && json_is_integer(ver)) {
		op->id = xstrdup(id);
		const char *from = json_string_value(json_object_get(listed, "revision"));

		log_info(COMPONENT, "update service", "deployment", op->deployment, "service", op->name, "from",
			 from ? from : "", "revision", t->rev, "replicas", reps, (char *)NULL);
		rc = docker_service_update(h->docker, DOCKER_ROLLOUT, id, (uint64_t)json_integer_value(ver),
					   &op->swarm->s, swarm_changed, op, &err);
	} else {
		log_info(COMPONENT, "create service", "deployment", op->deployment, "service", op->name, "revision",
			 t->rev, "replicas", reps, (char *)NULL);
		rc = docker_service_create(h->docker, DOCKER_ROLLOUT, &op->swarm->s, swarm_changed, op, &err);
	}
	if (rc < 0) {
		struct eng_dep *ed = engine_dep_get(e, dd->name);

		str_set(&ed->last_error, error_msg(err));
		error_free(err);
		engine_op_end(op);
	}
	return 1;
}

int engine_swarm_remove_orphan(struct engine *e, const struct rollout_op *rop)
{
	struct eng_host *h = engine_host_of(e, rop->c);
	struct rollout_op named = *rop;
	struct error *err = NULL;
	struct eng_op *op;

	if (h == NULL || h->down)
		return 0;
	named.kind = ROLLOUT_SERVICE;
	named.c = NULL;
	named.name = rop->c->swarm_service;
	op = engine_op_start(e, h, rop->c->deployment ? rop->c->deployment : "", &named, 0);
	if (docker_service_remove(h->docker, DOCKER_ROLLOUT, op->name, swarm_removed, op, &err) < 0) {
		error_free(err);
		engine_op_end(op);
	}
	return 1;
}

/*
 * Listing a swarm: its nodes (where each task's ports are reached), the instance's services, and
 * their tasks, read as a container list would show them (observe.c reads it): a task's container is
 * a replica wherever Swarm placed it, which the manager's own container list would not show.
 */
struct swarm_listing {
	struct eng_host *h;
	json_t *nodes;		/* GET /nodes's answer */
	json_t *services;	/* GET /services's: the instance's */
	json_t *specs;		/* service name -> {"revision", "replicas"}: the host's swarm_services once listed */
};

static void listing_free(struct swarm_listing *sl)
{
	json_decref(sl->nodes);
	json_decref(sl->services);
	json_decref(sl->specs);
	free(sl);
}

/* The client went with a call of the listing in its hands (docker_set_drop): the callback never runs. */
static void listing_drop(void *arg)
{
	listing_free(arg);
}

/* Replicas Swarm moved since the last list: logged, and kept (the latest STATUS_MOVES_MAX) for the status. */
static void note_moves(struct eng_host *h, const struct observed *seen)
{
	json_t *moves = json_array(), *m;
	size_t i;

	if (h->swarm_placed == NULL)
		h->swarm_placed = json_object();
	if (h->swarm_moves == NULL)
		h->swarm_moves = json_array();
	observe_swarm_moves(h->swarm_placed, seen, h->swarm_node_list, moves);
	json_array_foreach(moves, i, m) {
		log_info(COMPONENT, "task moved", "deployment", json_string_value(json_object_get(m, "deployment")),
			 "task", json_string_value(json_object_get(m, "task")), "from",
			 json_string_value(json_object_get(m, "from")), "to", json_string_value(json_object_get(m, "to")),
			 "reason", json_string_value(json_object_get(m, "reason")), (char *)NULL);
		json_object_set_new(m, "at", json_integer(wall_ms()));
		json_array_append(h->swarm_moves, m);
		if (json_array_size(h->swarm_moves) > STATUS_MOVES_MAX)
			json_array_remove(h->swarm_moves, 0);
	}
	json_decref(moves);
}

static void listing_end(struct swarm_listing *sl, struct observed *seen, char *m)
{
	struct eng_host *h = sl->h;

	if (seen) {
		json_decref(h->swarm_services);
		h->swarm_services = json_incref(sl->specs);
		h->swarm_nodes = json_array_size(sl->nodes);
		json_decref(h->swarm_node_list);
		h->swarm_node_list = json_incref(sl->nodes);
		note_moves(h, seen);
	}
	listing_free(sl);
	engine_host_listed(h, seen, m);
}

int engine_swarm_service_at(const struct engine *e, const struct desired_deployment *dd, const char *rev)
{
	char *name = desired_prefixed(e->desired.name_prefix, dd->name);
	int at = e->n_hosts && listed_at(json_object_get(e->hosts[0].swarm_services, name), rev, dd->replicas);

	free(name);
	return at;
}

static void listing_failed(struct swarm_listing *sl, const char *what, const struct docker_result *r)
{
	listing_end(sl, NULL, xasprintf("cannot list the swarm's %s: %s", what, docker_result_reason(r)));
}

static void on_tasks(struct docker_result *r, void *arg)
{
	struct swarm_listing *sl = arg;
	struct observed *seen;
	struct error *err = NULL;
	json_t *list;

	if (!docker_status_ok(r->status) || !json_is_array(r->json)) {
		listing_failed(sl, "tasks", r);
		return;
	}
	list = observe_swarm_list(sl->nodes, sl->services, r->json);
	seen = xcalloc(1, sizeof(*seen));
	observed_init(seen);
	if (observe_from_json(seen, sl->h->e->instance, list, &err) < 0) {
		char *m = xasprintf("cannot read the swarm's tasks: %s", error_msg(err));

		error_free(err);
		observed_release(seen);
		free(seen);
		json_decref(list);
		listing_end(sl, NULL, m);
		return;
	}
	json_decref(list);
	listing_end(sl, seen, NULL);
}

static void on_services(struct docker_result *r, void *arg)
{
	struct swarm_listing *sl = arg;
	struct error *err = NULL;
	json_t *s;
	size_t i;

	if (!docker_status_ok(r->status) || !json_is_array(r->json)) {
		listing_failed(sl, "services", r);
		return;
	}
	sl->services = json_incref(r->json);
	json_array_foreach(r->json, i, s) {
		json_t *spec = json_object_get(s, "Spec");
		json_t *name = json_object_get(spec, "Name");
		json_t *rev = json_object_get(json_object_get(spec, "Labels"), OBS_LABEL_REVISION);
		json_t *reps = json_object_get(json_object_get(json_object_get(spec, "Mode"), "Replicated"), "Replicas");

		json_t *id = json_object_get(s, "ID");
		json_t *ver = json_object_get(json_object_get(s, "Version"), "Index");

		json_t *dep = json_object_get(json_object_get(spec, "Labels"), OBS_LABEL_DEPLOYMENT);
		json_t *cons = json_object_get(json_object_get(json_object_get(spec, "TaskTemplate"), "Placement"),
					       "Constraints");
		json_t *entry, *c;
		size_t k;

		if (!json_is_string(name))
			continue;
		entry = json_pack("{s:O,s:O,s:O,s:O,s:O}", "revision", rev ? rev : json_null(), "replicas",
				  reps ? reps : json_null(), "id", id ? id : json_null(), "version", ver ? ver : json_null(),
				  "deployment", dep ? dep : json_null());
		/* An ordinal pinned to its node (node.id==<id>), as pin_node made it. */
		json_array_foreach(cons, k, c)
			if (json_is_string(c) && strncmp(json_string_value(c), "node.id==", 9) == 0)
				json_object_set_new(entry, "node", json_string(json_string_value(c) + 9));
		json_object_set_new(sl->specs, json_string_value(name), entry);
	}
	if (docker_task_list(sl->h->docker, DOCKER_OBSERVE, NULL, on_tasks, sl, &err) < 0) {
		listing_end(sl, NULL, xasprintf("cannot list the swarm's tasks: %s", error_msg(err)));
		error_free(err);
		return;
	}
	docker_set_drop(sl->h->docker, sl, listing_drop);
}

static void on_nodes(struct docker_result *r, void *arg)
{
	struct swarm_listing *sl = arg;
	struct error *err = NULL;
	char filter[300];
	const char *filters[] = { filter, NULL };

	if (!docker_status_ok(r->status) || !json_is_array(r->json)) {
		listing_failed(sl, "nodes", r);
		return;
	}
	sl->nodes = json_incref(r->json);
	snprintf(filter, sizeof(filter), "label=%s=%s", OBS_LABEL_MANAGED_BY, sl->h->e->instance);
	if (docker_service_list(sl->h->docker, DOCKER_OBSERVE, filters, on_services, sl, &err) < 0) {
		listing_end(sl, NULL, xasprintf("cannot list the swarm's services: %s", error_msg(err)));
		error_free(err);
		return;
	}
	docker_set_drop(sl->h->docker, sl, listing_drop);
}

int engine_swarm_list(struct eng_host *h, struct error **err)
{
	struct swarm_listing *sl = xcalloc(1, sizeof(*sl));

	sl->h = h;
	sl->specs = json_object();
	if (docker_node_list(h->docker, DOCKER_OBSERVE, NULL, on_nodes, sl, err) < 0) {
		listing_free(sl);
		return -1;
	}
	docker_set_drop(h->docker, sl, listing_drop);
	return 0;
}
