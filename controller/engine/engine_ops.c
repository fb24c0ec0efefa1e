/* The engine's Docker operations: create (network, volumes, container, start), start, and stop-then-remove. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/network.h"
#include "policy.h"
#include "engine/volume.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "kv.h"
#include "util.h"

void engine_op_free(struct eng_op *op)
{
	if (op->pprev) {
		*op->pprev = op->next;
		if (op->next)
			op->next->pprev = op->pprev;
	}
	FREE_ALL(op->deployment, op->id, op->name);
	desired_create_release(&op->create);
	if (op->swarm)
		engine_swarm_want_free(op->swarm);
	kv_free(op->vlabels, op->n_vlabels);
	free(op);
}

static void op_end(struct eng_op *op, const struct docker_result *r, const char *what)
{
	struct engine *e = op->e;

	/* Its endpoint changed (or may have): the next pass lists it, whether or not the events came yet. */
	if (op->host != NULL) {
		op->host->dirty = 1;
		if (r != NULL && r->http_status != 0)
			op->host->heard_ms = loop_now(e->loop);
	}
	if (r && !docker_status_ok(r->status)) {
		struct eng_dep *ed = engine_dep_get(e, op->deployment);
		char *m = xasprintf("cannot %s container '%s': %s", what, op->name ? op->name : op->id,
				    docker_result_reason(r));

		log_warn(COMPONENT, "operation failed", "deployment", op->deployment, "error", m, (char *)NULL);
		str_set(&ed->last_error, m);
		free(m);
	}
	engine_op_free(op);
	e->n_ops_running--;
	if (e->n_ops_running == 0 && e->pass_running)
		engine_finish_pass(e);
}

static void op_start_done(struct docker_result *r, void *arg)
{
	op_end(arg, r, "start");
}

static void op_do_start(struct eng_op *op, const char *id)
{
	struct error *err = NULL;

	if (docker_container_start(op->host->docker, DOCKER_ROLLOUT, id, op_start_done, op, &err) < 0) {
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
		struct eng_dep *ed = engine_dep_get(op->e, op->deployment);
		char *m = xasprintf("cannot create container '%s': the name is in use (%s)", op->name,
			      r->message && r->message[0] ? r->message : "conflict");

		str_set(&ed->last_error, m);
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

static void op_volume_done(int ok, const char *name, const char *msg, void *arg);
static void op_network_done(enum network_outcome o, const char *used, const char *msg, void *arg);

static void op_create_step(struct eng_op *op)
{
	struct error *err = NULL;
	int rc;

	if (op->create.create_network && !op->net_done) {
		struct kv *nl;
		size_t nn;

		/* The template's network first (network.c): created and labelled when missing. */
		op->net_done = 1;
		desired_network_labels(&op->e->desired, &nl, &nn);
		rc = network_ensure(op->host->docker, DOCKER_ROLLOUT, op->create.create_network, op->create.network_legacy,
				    op->e->instance, nl, nn, op_network_done, op, &err);
		kv_free(nl, nn);
	} else if (op->create.volume_names[op->vol] != NULL) {
		struct volume_want w = {
			.name = op->create.volume_names[op->vol],
			.legacy = op->create.volume_legacy[op->vol],
			.instance = op->e->instance,
			.deployment = op->deployment,
			.ordinal = op->create.volume_per_replica[op->vol] ? op->create.ordinal_text : NULL,
			.labels = op->vlabels,
			.n_labels = op->n_vlabels,
		};

		/* Ours or refused (volume.c): a volume auriga does not own is never mounted. */
		rc = volume_ensure(op->host->docker, DOCKER_ROLLOUT, &w, op_volume_done, op, &err);
	} else {
		rc = docker_container_create(op->host->docker, DOCKER_ROLLOUT, &op->create.spec, op_created, op, &err);
	}
	if (rc < 0) {
		struct eng_dep *ed = engine_dep_get(op->e, op->deployment);

		str_set(&ed->last_error, error_msg(err));
		error_free(err);
		op_end(op, NULL, "create");
	}
}

static void op_network_done(enum network_outcome o, const char *used, const char *msg, void *arg)
{
	struct eng_op *op = arg;

	if (o == NETWORK_FAILED) {
		struct eng_dep *ed = engine_dep_get(op->e, op->deployment);

		str_set(&ed->last_error, msg);
		op_end(op, NULL, "create");
		return;
	}
	if (o == NETWORK_FOREIGN && !spec_policy_network_allowed(op->e->set ? op->e->set->policy : NULL, used)) {
		/* A network someone else made may reach what auriga must not: only those the operator lists. */
		struct eng_dep *ed = engine_dep_get(op->e, op->deployment);
		char *m = network_refusal(used, op->e->set ? op->e->set->policy : NULL);

		str_set(&ed->last_error, m);
		free(m);
		op_end(op, NULL, "create");
		return;
	}
	/* Ours under the name the fleet had before the prefix: joined there. */
	if (op->create.network_legacy && strcmp(used, op->create.network_legacy) == 0)
		op->create.spec.network = op->create.network_legacy;
	if (o == NETWORK_OWNED)
		desired_create_mark_network(&op->create);
	op_create_step(op);
}

static void op_volume_done(int ok, const char *name, const char *msg, void *arg)
{
	struct eng_op *op = arg;
	size_t i;

	if (!ok) {
		struct eng_dep *ed = engine_dep_get(op->e, op->deployment);

		log_warn(COMPONENT, "operation failed", "deployment", op->deployment, "error", msg, (char *)NULL);
		str_set(&ed->last_error, msg);
		op_end(op, NULL, "create");
		return;
	}
	/* A volume adopted under its earlier name is mounted by that name. */
	for (i = 0; i < op->create.spec.n_mounts; i++)
		if (op->create.mounts[i].source == op->create.volume_names[op->vol] &&
		    strcmp(name, op->create.volume_names[op->vol]) != 0)
			op->create.mounts[i].source = op->create.volume_legacy[op->vol];
	op->vol++;
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
	if (docker_container_remove(op->host->docker, DOCKER_ROLLOUT, op->id, 1, 1, op_removed, op, &err) < 0) {
		error_free(err);
		op_end(op, NULL, "remove");
	}
}

/* Blue-green and canary containers carry their slot (desired.c writes an empty one). */
void engine_op_set_slot(struct desired_create *c, const char *slot)
{
	kv_put(&c->labels, &c->n_labels, OBS_LABEL_SLOT, slot);
	c->spec.labels = c->labels;
	c->spec.n_labels = c->n_labels;
}

/* Links a new operation into those running, and logs what it does and why. */
static struct eng_op *op_new(struct engine *e, struct eng_host *h, const char *deployment,
			     const struct rollout_op *rop)
{
	return engine_op_start(e, h, deployment, rop, 0);
}

void engine_op_end(struct eng_op *op)
{
	op_end(op, NULL, "");
}

struct eng_op *engine_op_start(struct engine *e, struct eng_host *h, const char *deployment,
			       const struct rollout_op *rop, int quiet)
{
	struct eng_op *op = xcalloc(1, sizeof(*op));

	op->e = e;
	op->host = h;
	op->kind = rop->kind;
	op->deployment = xstrdup(deployment);
	op->name = xstrdup(rop->c ? rop->c->name : rop->name);
	op->id = rop->c ? xstrdup(rop->c->id) : NULL;
	op->next = e->ops;
	if (e->ops)
		e->ops->pprev = &op->next;
	op->pprev = &e->ops;
	e->ops = op;
	e->n_ops_running++;
	if (!quiet)
		log_info(COMPONENT, rollout_op_name(rop->kind), "deployment", op->deployment, "container", op->name,
			 "endpoint", h->name ? h->name : "", "why", rop->why, (char *)NULL);
	return op;
}

/* Starts or removes the operation's container. */
static void op_run(struct eng_op *op)
{
	struct error *err = NULL;
	int rc = 0;

	switch (op->kind) {
	case ROLLOUT_CREATE:
		BUG("create of '%s' without its deployment", op->name);
	case ROLLOUT_SERVICE:
		BUG("service '%s' without its deployment", op->name);
	case ROLLOUT_START:
		op_do_start(op, op->id);
		return;
	case ROLLOUT_REMOVE:
		rc = docker_container_stop(op->host->docker, DOCKER_ROLLOUT, op->id, 10, op_stopped, op, &err);
		break;
	}
	if (rc < 0) {
		log_warn(COMPONENT, "cannot remove", "container", op->name, "error", error_msg(err), (char *)NULL);
		error_free(err);
		op_end(op, NULL, "remove");
	}
}

/*
 * The endpoint an operation goes to: its container's, or for a create its
 * ordinal's. None answers: the operation waits, and the deployment says why.
 */
static struct eng_host *op_host(struct engine *e, const char *deployment, const struct rollout_op *rop)
{
	struct eng_dep *ed = deployment ? engine_dep_find(e, deployment) : NULL;
	char why[512];
	struct eng_host *h = engine_host_for_op(e, ed, rop, why, sizeof(why));

	if (h == NULL) {
		if (strmap_get(&e->ops_held, why) == NULL && strmap_get(&e->ops_held_before, why) == NULL)
			log_warn(COMPONENT, "operation held", "deployment", deployment ? deployment : "", "reason", why,
				 (char *)NULL);
		strmap_put(&e->ops_held, why, e);
		if (ed)
			str_set(&ed->last_error, why);
	}
	return h;
}

void engine_ops_held_pass(struct engine *e)
{
	strmap_clear(&e->ops_held_before);
	e->ops_held_before = e->ops_held;
	memset(&e->ops_held, 0, sizeof(e->ops_held));
}

int engine_op_issue(struct engine *e, const struct desired_deployment *dd, const struct plan_target *t,
		    const struct rollout_op *rop)
{
	struct eng_host *h;
	struct eng_op *op;

	if (rop->kind == ROLLOUT_SERVICE)
		return engine_swarm_issue(e, dd, t, rop);
	h = op_host(e, dd->name, rop);
	if (h == NULL)
		return 0;
	op = op_new(e, h, dd->name, rop);
	if (rop->kind != ROLLOUT_CREATE) {
		op_run(op);
		return 1;
	}
	/* Its label names the endpoint it is made on, as its list will show it. */
	desired_create_build(&op->create, &e->desired, dd->name, t->tmpl, t->rev, rop->ordinal, rop->name, h->name,
			     rop->port_offset);
	desired_volume_labels(&e->desired, dd->name, op->create.ordinal_text, &op->vlabels, &op->n_vlabels);
	if (rop->slot[0])
		engine_op_set_slot(&op->create, rop->slot);
	op_create_step(op);
	return 1;
}

int engine_op_remove_orphan(struct engine *e, const struct rollout_op *rop)
{
	const char *dep = rop->c && rop->c->deployment ? rop->c->deployment : "";
	struct eng_host *h;

	/* A task's container is Swarm's to replace: its service goes instead. */
	if (rop->c && rop->c->swarm_service)
		return engine_swarm_remove_orphan(e, rop);
	h = op_host(e, NULL, rop);
	if (h == NULL)
		return 0;
	op_run(op_new(e, h, dep, rop));
	return 1;
}
