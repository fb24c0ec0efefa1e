/*
 * Swarm's tasks as a container list: GET /nodes, /services (the instance's) and /tasks, read as
 * GET /containers/json would show the tasks' containers were they all on one host, so that
 * observe_from_json reads them as it reads any endpoint's list. A task's container is a replica
 * wherever Swarm placed it; the manager's own container list would show only its own node's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/observe.h"
#include "utc.h"
#include "util.h"

/* The n digits at s as a number, or -1 when they are not all digits. */
static int digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Unix seconds of Docker's RFC 3339 time ("2026-12-05T16:09:29.142Z", UTC); 0 when it does not read. */
static int64_t unix_seconds(const char *t)
{
	int y, mo, d, hh, mm, ss;

	if (t == NULL || strlen(t) < 19 || t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':')
		return 0;
	y = digits(t, 4);
	mo = digits(t + 5, 2);
	d = digits(t + 8, 2);
	hh = digits(t + 11, 2);
	mm = digits(t + 14, 2);
	ss = digits(t + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh < 0 || mm < 0 || ss < 0)
		return 0;
	return utc_days_from(y, mo, d) * 86400 + hh * 3600 + mm * 60 + ss;
}

/* A task Swarm still runs or is bringing up: the others are its history. */
static int task_alive(const char *state)
{
	static const char *const alive[] = { "new",	  "pending", "assigned", "accepted",
					     "ready",	  "preparing", "starting", "running" };
	size_t i;

	for (i = 0; state && i < ARRAY_SIZE(alive); i++)
		if (strcmp(state, alive[i]) == 0)
			return 1;
	return 0;
}

/* One task as an entry of a container list, or NULL when it is not one of the instance's services' or is history. */
static json_t *task_entry(const json_t *nodes, const json_t *services, json_t *t)
{
	json_t *spec = json_object_get(json_object_get(t, "Spec"), "ContainerSpec");
	json_t *status = json_object_get(t, "Status"), *labels, *ports, *e, *p;
	const char *svc = json_string_value(json_object_get(services, json_string_value(json_object_get(t, "ServiceID"))));
	const char *id = json_string_value(json_object_get(t, "ID"));
	const char *state = json_string_value(json_object_get(status, "State"));
	const char *cid = json_string_value(json_object_get(json_object_get(status, "ContainerStatus"), "ContainerID"));
	const char *node = json_string_value(json_object_get(t, "NodeID"));
	const char *image = json_string_value(json_object_get(spec, "Image"));
	const char *test0 = json_string_value(json_array_get(json_object_get(json_object_get(spec, "Healthcheck"),
									     "Test"), 0));
	int healthcheck = test0 != NULL && strcmp(test0, "NONE") != 0;
	char *name, *img;
	size_t i;

	int down = node == NULL || !json_is_true(json_object_get(json_object_get(nodes, node), "ready"));
	const char *desired = json_string_value(json_object_get(t, "DesiredState"));

	if (svc == NULL || id == NULL || !task_alive(state) || !json_is_integer(json_object_get(t, "Slot")))
		return NULL;
	/* On a node that is not ready, one Swarm has already replaced is gone for it: not a replica. */
	if (down && desired != NULL && strcmp(desired, "running") != 0)
		return NULL;
	name = xasprintf("%s.%lld.%s", svc, (long long)json_integer_value(json_object_get(t, "Slot")), id);
	labels = json_is_object(json_object_get(spec, "Labels")) ? json_deep_copy(json_object_get(spec, "Labels"))
								 : json_object();
	json_object_set_new(labels, "com.docker.swarm.service.name", json_string(svc));
	json_object_set_new(labels, "com.docker.swarm.task.name", json_string(name));
	if (node)
		json_object_set_new(labels, "com.docker.swarm.node.id", json_string(node));
	e = json_object();
	json_object_set_new(e, "Id", json_string(cid && *cid ? cid : id));
	json_object_set_new(e, "Names", json_pack("[s+]", "/", name));
	/* The image as the spec names it, without the digest Swarm pins it to. */
	img = xstrdup(image ? image : "");
	if (strchr(img, '@'))
		*strchr(img, '@') = '\0';
	json_object_set_new(e, "Image", json_string(img));
	free(img);
	if (strcmp(state, "running") == 0) {
		json_object_set_new(e, "State", json_string("running"));
		/* Swarm counts a task with a health check running once Docker found it healthy. */
		json_object_set_new(e, "Status", json_string(healthcheck ? "Up (healthy)" : "Up"));
	} else {
		json_object_set_new(e, "State", json_string("created"));
		json_object_set_new(e, "Status", json_string(healthcheck ? "Created (health: starting)" : "Created"));
	}
	json_object_set_new(e, "Created", json_integer(unix_seconds(json_string_value(json_object_get(t, "CreatedAt")))));
	ports = json_array();
	json_array_foreach(json_object_get(json_object_get(status, "PortStatus"), "Ports"), i, p) {
		const char *proto = json_string_value(json_object_get(p, "Protocol"));
		json_t *o;

		if (!json_is_integer(json_object_get(p, "TargetPort")))
			continue;
		o = json_object();
		json_object_set_new(o, "IP", json_string("0.0.0.0"));
		json_object_set(o, "PrivatePort", json_object_get(p, "TargetPort"));
		if (json_is_integer(json_object_get(p, "PublishedPort")))
			json_object_set(o, "PublicPort", json_object_get(p, "PublishedPort"));
		json_object_set_new(o, "Type", json_string(proto ? proto : "tcp"));
		json_array_append_new(ports, o);
	}
	json_object_set_new(e, "Ports", ports);
	json_object_set_new(e, "Labels", labels);
	if (node && json_is_string(json_object_get(json_object_get(nodes, node), "addr")))
		json_object_set(e, "NodeAddress", json_object_get(json_object_get(nodes, node), "addr"));
	if (node && json_is_string(json_object_get(json_object_get(nodes, node), "name")))
		json_object_set(e, "NodeName", json_object_get(json_object_get(nodes, node), "name"));
	/* On a node that is not ready, a task's last state is not known: unreachable, as a host down. */
	if (down)
		json_object_set_new(e, "NodeDown", json_true());
	free(name);
	return e;
}

json_t *observe_swarm_list(const json_t *nodes, const json_t *services, const json_t *tasks)
{
	json_t *addr = json_object(), *names = json_object(), *list = json_array(), *x;
	size_t i;

	json_array_foreach(nodes, i, x) {
		const char *id = json_string_value(json_object_get(x, "ID"));
		json_t *a = json_object_get(json_object_get(x, "Status"), "Addr");
		const char *st = json_string_value(json_object_get(json_object_get(x, "Status"), "State"));
		json_t *h = json_object_get(json_object_get(x, "Description"), "Hostname");

		if (id)
			json_object_set_new(addr, id, json_pack("{s:O,s:b,s:O}", "addr", json_is_string(a) ? a : json_null(),
								"ready", st != NULL && strcmp(st, "ready") == 0, "name",
								json_is_string(h) ? h : json_null()));
	}
	json_array_foreach(services, i, x) {
		const char *id = json_string_value(json_object_get(x, "ID"));
		json_t *name = json_object_get(json_object_get(x, "Spec"), "Name");

		if (id && json_is_string(name))
			json_object_set(names, id, name);
	}
	json_array_foreach(tasks, i, x) {
		json_t *e = task_entry(addr, names, x);

		if (e)
			json_array_append_new(list, e);
	}
	json_decref(addr);
	json_decref(names);
	return list;
}

/* A node's state in GET /nodes's answer, by name; NULL when no node has that name. */
static const char *node_state(const json_t *nodes, const char *name)
{
	const json_t *x;
	size_t i;

	json_array_foreach(nodes, i, x) {
		const char *h = json_string_value(json_object_get(json_object_get(x, "Description"), "Hostname"));

		if (h && strcmp(h, name) == 0)
			return json_string_value(json_object_get(json_object_get(x, "Status"), "State"));
	}
	return NULL;
}

void observe_swarm_moves(json_t *placed, const struct observed *o, const json_t *nodes, json_t *moves)
{
	json_t *now = json_object(), *running = json_object(), *listed = json_object(), *was, *v;
	const char *key;
	void *tmp;
	size_t i;

	/* Each replica running now, on a node that is ready: where it runs (the first task listed), and every place it runs. */
	for (i = 0; i < o->n_containers; i++) {
		const struct obs_container *c = o->containers[i];
		char k[300], *at;

		if (c->swarm_service == NULL || c->node_name == NULL || c->state != OBS_RUNNING || c->node_down ||
		    c->ordinal < 0 || c->revision == NULL || c->deployment == NULL)
			continue;
		snprintf(k, sizeof(k), "%s.%d", c->swarm_service, c->ordinal + 1);
		at = xasprintf("%s\t%s\t%s", k, c->node_name, c->revision);
		json_object_set_new(running, at, json_true());
		free(at);
		if (json_object_get(now, k) == NULL)
			json_object_set_new(now, k, json_pack("{s:s,s:s,s:s}", "node", c->node_name, "revision",
							      c->revision, "deployment", c->deployment));
	}
	json_object_foreach(now, key, v) {
		const char *from, *rev, *st;
		char *at;
		int stayed;

		was = json_object_get(placed, key);
		from = json_string_value(json_object_get(was, "node"));
		rev = json_string_value(json_object_get(was, "revision"));
		/* New, or replaced by a release. */
		if (from == NULL || rev == NULL || strcmp(rev, json_string_value(json_object_get(v, "revision"))) != 0)
			continue;
		/* Still where it was (a second task on another node while one is updated). */
		at = xasprintf("%s\t%s\t%s", key, from, rev);
		stayed = json_object_get(running, at) != NULL;
		free(at);
		if (stayed)
			continue;
		st = node_state(nodes, from);
		json_array_append_new(moves, json_pack("{s:O,s:s,s:s,s:O,s:s}", "deployment",
						       json_object_get(v, "deployment"), "task", key, "from", from, "to",
						       json_object_get(v, "node"), "reason",
						       st && strcmp(st, "ready") == 0 ? "rescheduled" : "node down"));
	}
	/* A replica not running now keeps its last place (its move is seen once it runs again); one of a service gone is forgotten. */
	for (i = 0; i < o->n_containers; i++)
		if (o->containers[i]->deployment)
			json_object_set_new(listed, o->containers[i]->deployment, json_true());
	json_object_foreach_safe(placed, tmp, key, was) {
		const char *dep = json_string_value(json_object_get(was, "deployment"));

		if (json_object_get(now, key) == NULL && (dep == NULL || json_object_get(listed, dep) == NULL))
			json_object_del(placed, key);
	}
	json_object_update(placed, now);
	json_decref(now);
	json_decref(running);
	json_decref(listed);
}
