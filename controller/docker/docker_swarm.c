/* The Swarm calls: the node's swarm state, services (list, inspect, create, update, remove), tasks and nodes. */
#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Swarm takes durations in nanoseconds. */
#define NS_PER_MS INT64_C(1000000)

static int json_get(struct docker *d, enum docker_kind k, const char *what, const char *path, const char *id,
		    const char *const *filters, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c = docker_call_new(d, k, "GET", what, id, done, arg);

	(void)buf_puts(&c->path, path);
	if (id != NULL)
		docker_call_path_escaped(c, id);
	if (filters != NULL && docker_call_filters(c, filters, strchr(path, '?') ? '&' : '?', err) < 0) {
		docker_call_free(c);
		return ERR_INVALID;
	}
	c->idempotent = 1;
	c->parse = DP_JSON;
	docker_call_submit(c);
	return 0;
}

int docker_info(struct docker *d, enum docker_kind k, docker_done_fn done, void *arg, struct error **err)
{
	return json_get(d, k, "read the engine's info", "/info", NULL, NULL, done, arg, err);
}

int docker_service_list(struct docker *d, enum docker_kind k, const char *const *filters,
			docker_done_fn done, void *arg, struct error **err)
{
	/* status=true: each service's running and desired task counts (API 1.41). */
	return json_get(d, k, "list services", "/services?status=true", NULL, filters, done, arg, err);
}

int docker_service_inspect(struct docker *d, enum docker_kind k, const char *id,
			   docker_done_fn done, void *arg, struct error **err)
{
	if (id == NULL || *id == '\0')
		return error_set(err, ERR_INVALID, "docker call without a service id");
	return json_get(d, k, "inspect service", "/services/", id, NULL, done, arg, err);
}

int docker_task_list(struct docker *d, enum docker_kind k, const char *const *filters,
		     docker_done_fn done, void *arg, struct error **err)
{
	return json_get(d, k, "list tasks", "/tasks", NULL, filters, done, arg, err);
}

int docker_node_list(struct docker *d, enum docker_kind k, const char *const *filters,
		     docker_done_fn done, void *arg, struct error **err)
{
	return json_get(d, k, "list nodes", "/nodes", NULL, filters, done, arg, err);
}

/* Every refusal of a service spec: its task template's as a container's, then what Swarm has not. */
static int service_check(const struct docker_service_spec *s, struct error **err)
{
	const char *name = s->name ? s->name : "";
	size_t i;

	if (*name == '\0')
		return error_set(err, ERR_INVALID, "docker call without a service name");
	if (s->task == NULL)
		return error_set(err, ERR_INVALID, "service '%s' has no image", name);
	if (docker__create_check(s->task, "service", name, err) < 0)
		return ERR_INVALID;
	if (s->task->privileged)
		return error_set(err, ERR_INVALID, "service '%s': Swarm runs no privileged task", name);
	if (s->replicas < 0)
		return error_set(err, ERR_INVALID, "service '%s': replicas %d is negative", name, s->replicas);
	for (i = 0; i < s->n_labels; i++)
		if (s->labels[i].key == NULL || s->labels[i].value == NULL || *s->labels[i].key == '\0')
			return error_set(err, ERR_INVALID, "service '%s': service label %zu has no key or value", name,
					 i);
	return 0;
}

/* Docker's container restart policy as Swarm's: no restart, always, or on failure (with its attempts). */
static json_t *restart_json(const struct docker_create_spec *t)
{
	json_t *rp = json_object();
	const char *p = t->restart_policy ? t->restart_policy : "no";

	if (strcmp(p, "on-failure") == 0) {
		json_object_set_new(rp, "Condition", json_string("on-failure"));
		if (t->restart_max_retries > 0)
			json_object_set_new(rp, "MaxAttempts", json_integer(t->restart_max_retries));
	} else {
		json_object_set_new(rp, "Condition", json_string(strcmp(p, "no") == 0 ? "none" : "any"));
	}
	return rp;
}

static json_t *container_spec_json(const struct docker_create_spec *t)
{
	json_t *cs = json_object();

	json_object_set_new(cs, "Image", json_string(t->image));
	/* The image's entrypoint is Swarm's Command, its command Swarm's Args. */
	if (t->entrypoint)
		json_object_set_new(cs, "Command", docker__strv(t->entrypoint));
	if (t->cmd)
		json_object_set_new(cs, "Args", docker__strv(t->cmd));
	json_object_set_new(cs, "Env", docker__strv(t->env));
	json_object_set_new(cs, "Labels", docker__labels_json(t->labels, t->n_labels));
	if (t->user)
		json_object_set_new(cs, "User", json_string(t->user));
	if (t->workdir)
		json_object_set_new(cs, "Dir", json_string(t->workdir));
	if (t->hostname)
		json_object_set_new(cs, "Hostname", json_string(t->hostname));
	if (t->n_mounts)
		json_object_set_new(cs, "Mounts", docker__mounts_json(t));
	if (t->healthcheck)
		json_object_set_new(cs, "Healthcheck", docker__healthcheck_json(t->healthcheck));
	if (t->stop_timeout_s > 0)
		json_object_set_new(cs, "StopGracePeriod", json_integer(t->stop_timeout_s * 1000 * NS_PER_MS));
	if (t->cap_add && t->cap_add[0])
		json_object_set_new(cs, "CapabilityAdd", docker__strv(t->cap_add));
	return cs;
}

static json_t *update_json(const struct docker_service_spec *s)
{
	json_t *u = json_object();

	json_object_set_new(u, "Parallelism", json_integer(s->parallelism > 0 ? s->parallelism : 1));
	json_object_set_new(u, "Delay", json_integer(s->delay_ms * NS_PER_MS));
	/* auriga judges a release and rolls it back itself: Swarm only stops where it is. */
	json_object_set_new(u, "FailureAction", json_string("pause"));
	json_object_set_new(u, "Monitor", json_integer(s->monitor_ms * NS_PER_MS));
	json_object_set_new(u, "MaxFailureRatio", json_integer(0));
	json_object_set_new(u, "Order", json_string(s->start_first ? "start-first" : "stop-first"));
	return u;
}

json_t *docker_service_body(const struct docker_service_spec *s, struct error **err)
{
	const struct docker_create_spec *t = s->task;
	json_t *b, *tt, *res, *lim, *mode, *rep;

	if (service_check(s, err) < 0)
		return NULL;
	b = json_object();
	json_object_set_new(b, "Name", json_string(s->name));
	json_object_set_new(b, "Labels", docker__labels_json(s->labels, s->n_labels));
	tt = json_object();
	json_object_set_new(tt, "ContainerSpec", container_spec_json(t));
	res = json_object();
	lim = json_object();
	if (t->nano_cpus > 0)
		json_object_set_new(lim, "NanoCPUs", json_integer(t->nano_cpus));
	if (t->memory_bytes > 0)
		json_object_set_new(lim, "MemoryBytes", json_integer(t->memory_bytes));
	json_object_set_new(res, "Limits", lim);
	json_object_set_new(tt, "Resources", res);
	json_object_set_new(tt, "RestartPolicy", restart_json(t));
	if (s->max_per_node > 0 || (s->constraints && s->constraints[0])) {
		json_t *pl = json_object();

		if (s->constraints && s->constraints[0])
			json_object_set_new(pl, "Constraints", docker__strv(s->constraints));
		if (s->max_per_node > 0)
			json_object_set_new(pl, "MaxReplicas", json_integer(s->max_per_node));
		json_object_set_new(tt, "Placement", pl);
	}
	if (t->network) {
		json_t *nets = json_array(), *n = json_object();

		json_object_set_new(n, "Target", json_string(t->network));
		if (t->aliases)
			json_object_set_new(n, "Aliases", docker__strv(t->aliases));
		json_array_append_new(nets, n);
		json_object_set_new(tt, "Networks", nets);
	}
	json_object_set_new(b, "TaskTemplate", tt);
	mode = json_object();
	rep = json_object();
	json_object_set_new(rep, "Replicas", json_integer(s->replicas));
	json_object_set_new(mode, "Replicated", rep);
	json_object_set_new(b, "Mode", mode);
	json_object_set_new(b, "UpdateConfig", update_json(s));
	json_object_set_new(b, "RollbackConfig", update_json(s));
	if (t->n_ports) {
		json_t *ep = json_object(), *ports = json_array();
		size_t i;

		for (i = 0; i < t->n_ports; i++) {
			const struct docker_port *p = &t->ports[i];
			json_t *o = json_object();

			json_object_set_new(o, "Protocol", json_string(p->protocol ? p->protocol : "tcp"));
			json_object_set_new(o, "TargetPort", json_integer(p->container_port));
			if (p->host_port)
				json_object_set_new(o, "PublishedPort", json_integer(p->host_port));
			/* Each task publishes on its own node: the routing mesh needs IPVS, which not every kernel has. */
			json_object_set_new(o, "PublishMode", json_string("host"));
			json_array_append_new(ports, o);
		}
		json_object_set_new(ep, "Ports", ports);
		json_object_set_new(b, "EndpointSpec", ep);
	}
	return b;
}

/* What a leader creates or changes carries its generation: the fencing token, as a service label. */
static void fence_label(struct docker *d, json_t *body)
{
	char token[32];

	if (d->fence_label && docker__fence_token(d, token, sizeof(token)) == 0)
		json_object_set_new(json_object_get(body, "Labels"), d->fence_label, json_string(token));
}

int docker_service_create(struct docker *d, enum docker_kind k, const struct docker_service_spec *spec,
			  docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body = docker_service_body(spec, err);

	if (body == NULL)
		return ERR_INVALID;
	fence_label(d, body);
	c = docker_call_new(d, k, "POST", "create service", spec->name, done, arg);
	(void)buf_puts(&c->path, "/services/create");
	docker__set_body(c, body);
	c->parse = DP_SERVICE_ID;
	docker_call_submit(c);
	return 0;
}

int docker_service_update(struct docker *d, enum docker_kind k, const char *id, uint64_t version,
			  const struct docker_service_spec *spec, docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;
	json_t *body;
	char q[48];

	if (id == NULL || *id == '\0')
		return error_set(err, ERR_INVALID, "docker call without a service id");
	body = docker_service_body(spec, err);
	if (body == NULL)
		return ERR_INVALID;
	fence_label(d, body);
	c = docker_call_new(d, k, "POST", "update service", spec->name, done, arg);
	(void)buf_puts(&c->path, "/services/");
	docker_call_path_escaped(c, id);
	/* The version read: an update made on what someone else changed since is refused, not merged. */
	snprintf(q, sizeof(q), "/update?version=%llu", (unsigned long long)version);
	(void)buf_puts(&c->path, q);
	docker__set_body(c, body);
	/* The same version twice is refused the second time: repeating it is safe. */
	c->idempotent = 1;
	c->parse = DP_JSON;
	docker_call_submit(c);
	return 0;
}

int docker_service_remove(struct docker *d, enum docker_kind k, const char *id,
			  docker_done_fn done, void *arg, struct error **err)
{
	struct docker_call *c;

	if (id == NULL || *id == '\0')
		return error_set(err, ERR_INVALID, "docker call without a service id");
	c = docker_call_new(d, k, "DELETE", "remove service", id, done, arg);
	(void)buf_puts(&c->path, "/services/");
	docker_call_path_escaped(c, id);
	c->idempotent = 1;
	c->parse = DP_NONE;
	docker_call_submit(c);
	return 0;
}
