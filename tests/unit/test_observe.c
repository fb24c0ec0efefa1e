/* Unit tests for observe: Docker's container list JSON to the observed state, ownership by labels only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "model/observe.h"
#include "util.h"
#include "testmain.h"

#define REV_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define REV_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A list as GET /containers/json answers it (trimmed to the fields we read, plus some we do not). */
static const char *list_json =
	"["
	"{\"Id\":\"c3\",\"Names\":[\"/slim-1\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"exited\","
	" \"Status\":\"Exited (137) 2 seconds ago\",\"Created\":1700000003,\"Ports\":[],"
	" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
	"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"1\",\"auriga.io/slot\":\"\"}},"
	"{\"Id\":\"c1\",\"Names\":[\"/slim-0\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"running\","
	" \"Status\":\"Up 3 minutes\",\"Created\":1700000001,"
	" \"Ports\":[{\"IP\":\"127.0.0.1\",\"PrivatePort\":9003,\"PublicPort\":20000,\"Type\":\"tcp\"},"
	"          {\"IP\":\"::1\",\"PrivatePort\":9003,\"PublicPort\":20000,\"Type\":\"tcp\"}],"
	" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
	"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"0\",\"auriga.io/commit\":\"abc\","
	"   \"auriga.io/endpoint\":\"east\",\"team\":\"dlt\"}},"
	"{\"Id\":\"f1\",\"Names\":[\"/someone-else\"],\"Image\":\"busybox\",\"State\":\"running\","
	" \"Labels\":{\"auriga.io/managed-by\":\"other\",\"auriga.io/deployment\":\"slim\","
	"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"0\"}},"
	"{\"Id\":\"f2\",\"Names\":[\"/unlabelled\"],\"Image\":\"busybox\",\"State\":\"running\",\"Labels\":{}},"
	"{\"Id\":\"m1\",\"Names\":[\"/weird\"],\"Image\":\"x\",\"State\":\"running\","
	" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
	"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"-4\"}},"
	"{\"Id\":\"m2\",\"Names\":[\"/weird2\"],\"Image\":\"x\",\"State\":\"running\","
	" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"val\","
	"   \"auriga.io/revision\":\"NOT-HEX\",\"auriga.io/ordinal\":\"0\"}},"
	"{\"Id\":\"v0\",\"Names\":[\"/val-0\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"created\","
	" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"val\","
	"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"0\"}}"
	"]";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);

	assert_non_null(j);
	return j;
}

static void groups_by_deployment_and_ordinal(void **state)
{
	struct observed o;
	struct error *err = NULL;
	json_t *j = parse(list_json);
	const struct obs_deployment *slim, *val;

	(void)state;
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t1", j, &err), 0);
	/* Two foreign containers are not ours; the two malformed ones are ours but in no deployment. */
	assert_int_equal(o.n_containers, 5);
	assert_int_equal(o.n_deployments, 2);
	slim = observed_deployment(&o, "slim");
	val = observed_deployment(&o, "val");
	assert_non_null(slim);
	assert_non_null(val);
	assert_null(observed_deployment(&o, "business"));
	assert_int_equal(slim->n, 2);
	assert_string_equal(slim->v[0]->id, "c1");
	assert_int_equal(slim->v[0]->ordinal, 0);
	assert_string_equal(slim->v[0]->name, "slim-0");
	assert_string_equal(slim->v[0]->commit, "abc");
	/* Its host as recorded; one made before the label records none. */
	assert_non_null(slim->v[0]->endpoint);
	assert_string_equal(slim->v[0]->endpoint, "east");
	assert_null(slim->v[1]->endpoint);
	assert_int_equal(slim->v[0]->state, OBS_RUNNING);
	assert_true(obs_container_alive(slim->v[0]));
	/* The port appears once for both address families: kept once. */
	assert_int_equal(slim->v[0]->n_ports, 1);
	assert_int_equal(obs_container_host_port(slim->v[0], 9003), 20000);
	assert_int_equal(obs_container_host_port(slim->v[0], 9004), 0);
	assert_string_equal(slim->v[1]->id, "c3");
	assert_int_equal(slim->v[1]->state, OBS_EXITED);
	assert_false(obs_container_alive(slim->v[1]));
	assert_int_equal(val->n, 1);
	assert_int_equal(val->v[0]->state, OBS_CREATED);
	observed_release(&o);
	json_decref(j);
}

/* Two endpoints' lists: the union, each container tagged with its endpoint, a mislabelled one marked. */
static void lists_of_several_endpoints(void **state)
{
	static const char *east =
		"[{\"Id\":\"e0\",\"Names\":[\"/val-0\"],\"Image\":\"n:v1\",\"State\":\"running\","
		" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"val\","
		"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"0\",\"auriga.io/endpoint\":\"east\"}}]";
	static const char *west =
		"[{\"Id\":\"w1\",\"Names\":[\"/val-1\"],\"Image\":\"n:v1\",\"State\":\"running\","
		" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"val\","
		"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"1\",\"auriga.io/endpoint\":\"east\"}},"
		" {\"Id\":\"w2\",\"Names\":[\"/val-2\"],\"Image\":\"n:v1\",\"State\":\"running\","
		" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"val\","
		"   \"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"2\"}}]";
	json_t *je = parse(east), *jw = parse(west);
	struct obs_list lists[2] = { { "east", je, NULL, 0, NULL, 0 }, { "west", jw, NULL, 1, "10.0.0.2", 0 } };
	const struct obs_deployment *val;
	struct observed o;
	struct error *err = NULL;

	(void)state;
	observed_init(&o);
	assert_int_equal(observe_from_lists(&o, "t1", lists, 2, &err), 0);
	val = observed_deployment(&o, "val");
	assert_non_null(val);
	assert_int_equal(val->n, 3);
	/* Sorted by ordinal across the lists; each tagged with the endpoint it was listed from. */
	assert_string_equal(val->v[0]->host, "east");
	assert_false(val->v[0]->host_mismatch);
	assert_false(val->v[0]->unreachable);
	assert_string_equal(val->v[1]->host, "west");
	/* Its label says east, its list says west: reported, and west is where it is taken to run. */
	assert_true(val->v[1]->host_mismatch);
	assert_true(val->v[1]->unreachable);
	/* Reached at its endpoint's address; the loopback's have none. */
	assert_string_equal(val->v[1]->address, "10.0.0.2");
	assert_null(val->v[0]->address);
	/* One made before the label has no mismatch to report. */
	assert_string_equal(val->v[2]->host, "west");
	assert_false(val->v[2]->host_mismatch);
	/* A single unnamed list: each container's host is its label's, with nothing to mismatch. */
	assert_int_equal(observe_from_json(&o, "t1", je, &err), 0);
	assert_string_equal(o.containers[0]->host, "east");
	assert_false(o.containers[0]->host_mismatch);
	assert_int_equal(observe_from_json(&o, "t1", jw, &err), 0);
	assert_null(o.containers[1]->host);
	observed_release(&o);
	json_decref(je);
	json_decref(jw);
}

static void malformed_labels_are_kept_apart(void **state)
{
	struct observed o;
	struct error *err = NULL;
	json_t *j = parse(list_json);
	size_t i, n = 0;

	(void)state;
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t1", j, &err), 0);
	for (i = 0; i < o.n_containers; i++) {
		if (!o.containers[i]->malformed)
			continue;
		n++;
		assert_null(o.containers[i]->deployment);
		assert_int_equal(o.containers[i]->ordinal, -1);
		assert_non_null(o.containers[i]->malformed_why);
	}
	assert_int_equal(n, 2);
	observed_release(&o);
	json_decref(j);
}

/* A Swarm task's container: no ordinal label, its slot (from the task's name) less one; its service named. */
static void swarm_tasks_take_their_slot(void **state)
{
	static const char *tasks =
		"["
		"{\"Id\":\"t2\",\"Names\":[\"/p-slim.2.abc\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"running\","
		" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
		"   \"auriga.io/revision\":\"" REV_A "\",\"com.docker.swarm.service.name\":\"p-slim\","
		"   \"com.docker.swarm.task.name\":\"p-slim.2.abc\"}},"
		"{\"Id\":\"t9\",\"Names\":[\"/p-slim.x.abc\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"running\","
		" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
		"   \"auriga.io/revision\":\"" REV_A "\",\"com.docker.swarm.service.name\":\"p-slim\","
		"   \"com.docker.swarm.task.name\":\"p-slim.x.abc\"}},"
		"{\"Id\":\"t3\",\"Names\":[\"/q.1.abc\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"running\","
		" \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
		"   \"auriga.io/revision\":\"" REV_A "\",\"com.docker.swarm.service.name\":\"p-slim\","
		"   \"com.docker.swarm.task.name\":\"q.1.abc\"}}"
		"]";
	struct observed o;
	struct error *err = NULL;
	json_t *j = parse(tasks);
	size_t i;

	(void)state;
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t1", j, &err), 0);
	assert_int_equal(o.n_containers, 3);
	for (i = 0; i < o.n_containers; i++) {
		const struct obs_container *c = o.containers[i];

		if (strcmp(c->id, "t2") == 0) {
			assert_false(c->malformed);
			assert_int_equal(c->ordinal, 1);
			assert_string_equal(c->swarm_service, "p-slim");
		} else {
			/* A slot that is not a number, or a task name not of its service: no ordinal. */
			assert_true(c->malformed);
			assert_int_equal(c->ordinal, -1);
		}
	}
	observed_release(&o);
	json_decref(j);
}

/* Swarm's nodes, services and tasks read as one container list: what runs, wherever, and nothing else. */
static void swarm_tasks_as_a_list(void **state)
{
	static const char *nodes = "[{\"ID\":\"n1\",\"Status\":{\"Addr\":\"10.0.0.2\",\"State\":\"ready\"},"
				   "   \"Description\":{\"Hostname\":\"mgr\"}},"
				   " {\"ID\":\"n2\",\"Status\":{\"Addr\":\"10.0.0.3\",\"State\":\"down\"},"
				   "   \"Description\":{\"Hostname\":\"worker-1\"}}]";
	static const char *services = "[{\"ID\":\"s1\",\"Spec\":{\"Name\":\"p-web\"}}]";
	static const char *tasks =
		"["
		/* Running on the worker, with a health check: its container, healthy, its port at its node. */
		"{\"ID\":\"t1\",\"ServiceID\":\"s1\",\"NodeID\":\"n2\",\"Slot\":2,\"CreatedAt\":\"2026-12-05T16:09:29.1Z\","
		" \"Spec\":{\"ContainerSpec\":{\"Image\":\"auriga-demo-node:v1@sha256:abc\","
		"   \"Healthcheck\":{\"Test\":[\"CMD\",\"/probe\"]},"
		"   \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"web\","
		"     \"auriga.io/revision\":\"" REV_A "\"}}},"
		" \"Status\":{\"State\":\"running\",\"ContainerStatus\":{\"ContainerID\":\"c1\"},"
		"   \"PortStatus\":{\"Ports\":[{\"Protocol\":\"tcp\",\"TargetPort\":9003,\"PublishedPort\":30001}]}}},"
		/* Starting on the manager: not running yet. */
		"{\"ID\":\"t2\",\"ServiceID\":\"s1\",\"NodeID\":\"n1\",\"Slot\":1,"
		" \"Spec\":{\"ContainerSpec\":{\"Image\":\"auriga-demo-node:v1\","
		"   \"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"web\","
		"     \"auriga.io/revision\":\"" REV_A "\"}}},"
		" \"Status\":{\"State\":\"starting\"}},"
		/* History, and another service's: left out. */
		"{\"ID\":\"t3\",\"ServiceID\":\"s1\",\"NodeID\":\"n1\",\"Slot\":1,"
		" \"Spec\":{\"ContainerSpec\":{\"Image\":\"x\",\"Labels\":{}}},\"Status\":{\"State\":\"shutdown\"}},"
		"{\"ID\":\"t4\",\"ServiceID\":\"s9\",\"NodeID\":\"n1\",\"Slot\":1,"
		" \"Spec\":{\"ContainerSpec\":{\"Image\":\"x\",\"Labels\":{}}},\"Status\":{\"State\":\"running\"}}"
		"]";
	json_t *n = parse(nodes), *s = parse(services), *t = parse(tasks), *list;
	struct observed o;
	struct error *err = NULL;
	size_t i;

	(void)state;
	list = observe_swarm_list(n, s, t);
	assert_int_equal(json_array_size(list), 2);
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t1", list, &err), 0);
	assert_int_equal(o.n_containers, 2);
	for (i = 0; i < o.n_containers; i++) {
		const struct obs_container *c = o.containers[i];

		assert_string_equal(c->deployment, "web");
		assert_string_equal(c->swarm_service, "p-web");
		if (strcmp(c->id, "c1") == 0) {
			assert_int_equal(c->ordinal, 1);
			assert_int_equal(c->state, OBS_RUNNING);
			assert_int_equal(c->health, OBS_HEALTH_HEALTHY);
			assert_string_equal(c->image, "auriga-demo-node:v1");
			assert_string_equal(c->node_address, "10.0.0.3");
			assert_string_equal(c->node_name, "worker-1");
			assert_int_equal(c->n_ports, 1);
			assert_int_equal(c->ports[0].host_port, 30001);
			assert_true(c->created > 0);
			/* Its node is down: what it last said is not known now. */
			assert_true(c->node_down);
		} else {
			/* No container yet: the task stands for it. */
			assert_string_equal(c->id, "t2");
			assert_int_equal(c->ordinal, 0);
			assert_false(obs_container_alive(c));
			assert_string_equal(c->node_address, "10.0.0.2");
			assert_string_equal(c->node_name, "mgr");
			assert_false(c->node_down);
		}
	}
	observed_release(&o);
	json_decref(list);
	json_decref(n);
	json_decref(s);
	json_decref(t);
}

/* One running task of service p-web: its id, node, slot and revision. */
static json_t *web_task(const char *id, const char *node, int slot, const char *rev, const char *desired)
{
	return json_pack("{s:s,s:s,s:s,s:i,s:s,s:{s:{s:s,s:{s:s,s:s,s:s}}},s:{s:s,s:{s:s}}}", "ID", id, "ServiceID",
			 "s1", "NodeID", node, "Slot", slot, "DesiredState", desired, "Spec", "ContainerSpec", "Image",
			 "auriga-demo-node:v1", "Labels", "auriga.io/managed-by", "t1", "auriga.io/deployment", "web",
			 "auriga.io/revision", rev, "Status", "State", "running", "ContainerStatus", "ContainerID", id);
}

/* The moves pass by pass: tasks and node states as Swarm lists them, the moves found. */
static json_t *moves_after(json_t *placed, const char *n2_state, json_t *tasks)
{
	json_t *nodes = json_pack("[{s:s,s:{s:s,s:s},s:{s:s}},{s:s,s:{s:s,s:s},s:{s:s}}]", "ID", "n1", "Status",
				  "Addr", "10.0.0.2", "State", "ready", "Description", "Hostname", "mgr", "ID", "n2",
				  "Status", "Addr", "10.0.0.3", "State", n2_state, "Description", "Hostname", "worker-1");
	json_t *services = parse("[{\"ID\":\"s1\",\"Spec\":{\"Name\":\"p-web\"}}]");
	json_t *list = observe_swarm_list(nodes, services, tasks), *moves = json_array();
	struct observed o;
	struct error *err = NULL;

	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t1", list, &err), 0);
	observe_swarm_moves(placed, &o, nodes, moves);
	observed_release(&o);
	json_decref(list);
	json_decref(nodes);
	json_decref(services);
	json_decref(tasks);
	return moves;
}

/*
 * A replica Swarm starts on another node once its node is down is a move,
 * said once; a release that places a slot's new task elsewhere is not, nor
 * is a second task of a slot while the first still runs where it was.
 */
static void swarm_moves_seen(void **state)
{
	json_t *placed = json_object(), *m;

	(void)state;
	m = moves_after(placed, "ready",
			json_pack("[o,o]", web_task("a1", "n2", 1, REV_A, "running"),
				  web_task("a2", "n1", 2, REV_A, "running")));
	assert_int_equal(json_array_size(m), 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(placed, "p-web.1"), "node")), "worker-1");
	json_decref(m);
	/* Worker 1 down: Swarm starts slot 1 on the manager. */
	m = moves_after(placed, "down",
			json_pack("[o,o,o]", web_task("a1", "n2", 1, REV_A, "shutdown"),
				  web_task("b1", "n1", 1, REV_A, "running"), web_task("a2", "n1", 2, REV_A, "running")));
	assert_int_equal(json_array_size(m), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "deployment")), "web");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "task")), "p-web.1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "from")), "worker-1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "to")), "mgr");
	assert_string_equal(json_string_value(json_object_get(json_array_get(m, 0), "reason")), "node down");
	json_decref(m);
	/* The next pass: nothing new moved. */
	m = moves_after(placed, "down",
			json_pack("[o,o]", web_task("b1", "n1", 1, REV_A, "running"),
				  web_task("a2", "n1", 2, REV_A, "running")));
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
	/* A release: slot 2's new task on worker 1, beside the old one still running; then alone. */
	m = moves_after(placed, "ready",
			json_pack("[o,o,o]", web_task("b1", "n1", 1, REV_A, "running"),
				  web_task("a2", "n1", 2, REV_A, "running"), web_task("c2", "n2", 2, REV_B, "running")));
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
	m = moves_after(placed, "ready",
			json_pack("[o,o]", web_task("b1", "n1", 1, REV_A, "running"),
				  web_task("c2", "n2", 2, REV_B, "running")));
	assert_int_equal(json_array_size(m), 0);
	json_decref(m);
	/* The service gone: its replicas forgotten. */
	m = moves_after(placed, "ready", json_array());
	assert_int_equal(json_object_size(placed), 0);
	json_decref(m);
	json_decref(placed);
}

static void another_instance_sees_only_its_own(void **state)
{
	struct observed o;
	struct error *err = NULL;
	json_t *j = parse(list_json);

	(void)state;
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "other", j, &err), 0);
	assert_int_equal(o.n_containers, 1);
	assert_string_equal(o.containers[0]->id, "f1");
	observed_release(&o);
	assert_int_equal(observe_from_json(&o, "nobody", j, &err), 0);
	assert_int_equal(o.n_containers, 0);
	observed_release(&o);
	json_decref(j);
}

static void bad_bodies_are_protocol_errors(void **state)
{
	struct observed o;
	struct error *err = NULL;
	json_t *j = parse("{\"message\":\"not a list\"}");

	(void)state;
	observed_init(&o);
	assert_int_equal(observe_from_json(&o, "t1", j, &err), ERR_PROTOCOL);
	assert_non_null(err);
	error_clear(&err);
	json_decref(j);
	j = parse("[{\"Names\":[\"/x\"],\"Labels\":{\"auriga.io/managed-by\":\"t1\"}}]");
	assert_int_equal(observe_from_json(&o, "t1", j, &err), ERR_PROTOCOL);
	assert_non_null(strstr(error_msg(err), "no Id"));
	error_clear(&err);
	assert_int_equal(o.n_containers, 0);
	json_decref(j);
	observed_release(&o);
}

/* Two observed states hold the same containers, field by field, in the same order. */
static void assert_same(const struct observed *a, const struct observed *b)
{
	size_t i, k;

	assert_int_equal(a->n_containers, b->n_containers);
	assert_int_equal(a->n_deployments, b->n_deployments);
	for (i = 0; i < a->n_containers; i++) {
		const struct obs_container *x = a->containers[i], *y = b->containers[i];
		const char *const sx[] = { x->id, x->name, x->image, x->deployment, x->revision, x->slot, x->commit,
					   x->endpoint, x->host, x->address, x->malformed_why, x->swarm_service,
					   x->node_address, x->node_name, x->network_ip };
		const char *const sy[] = { y->id, y->name, y->image, y->deployment, y->revision, y->slot, y->commit,
					   y->endpoint, y->host, y->address, y->malformed_why, y->swarm_service,
					   y->node_address, y->node_name, y->network_ip };

		for (k = 0; k < sizeof(sx) / sizeof(sx[0]); k++) {
			if (sx[k] == NULL || sy[k] == NULL)
				assert_ptr_equal(sx[k], sy[k]);
			else
				assert_string_equal(sx[k], sy[k]);
		}
		assert_int_equal(x->ordinal, y->ordinal);
		assert_int_equal(x->malformed, y->malformed);
		assert_int_equal(x->state, y->state);
		assert_int_equal(x->health, y->health);
		assert_int_equal(x->created, y->created);
		assert_int_equal(x->unreachable, y->unreachable);
		assert_int_equal(x->host_mismatch, y->host_mismatch);
		assert_int_equal(x->n_ports, y->n_ports);
		if (x->n_ports)
			assert_memory_equal(x->ports, y->ports, x->n_ports * sizeof(x->ports[0]));
	}
	for (i = 0; i < a->n_deployments; i++) {
		assert_string_equal(a->deployments[i].name, b->deployments[i].name);
		assert_int_equal(a->deployments[i].n, b->deployments[i].n);
	}
}

/*
 * The list read one entry at a time (the engine's way: never a whole tree)
 * gives what the whole tree gives, tagged the same once joined; a body that
 * is not a list of objects, cut short, or with anything after it, is
 * refused with the byte where it went wrong.
 */
static void list_read_entry_by_entry(void **state)
{
	struct observed whole, one, joined;
	struct error *err = NULL;
	json_t *j = parse(list_json);
	struct obs_list lw = { "west", j, NULL, 1, "10.0.0.2", 0 }, lp = { "west", NULL, &one, 1, "10.0.0.2", 0 };
	struct obs_list lu = { NULL, NULL, &one, 0, NULL, 0 };
	static const struct {
		const char *body, *says;
		size_t len;	/* 0: strlen(body) */
	} bad[] = {
		{ "{\"message\":\"not a list\"}", "not a JSON list", 0 },
		{ "", "not a JSON list", 0 },
		{ "[{\"Id\":\"a\"},", "malformed JSON in the container list at byte 12", 0 },
		{ "[{\"Id\":\"a\"} {\"Id\":\"b\"}]", "',' or ']' expected after entry 0", 0 },
		{ "[{\"Id\":\"a\"}] x", "end of text expected", 0 },
		{ "[]\0\0", "a NUL byte at byte 2", 4 },
		{ "[1]", "at byte 2: '[' or '{' expected", 0 },
		{ "[{\"Id\":\"a\"},[1]]", "entry 1 is not an object", 0 },
		{ "[{\"Id\":\"a\",\"Id\":\"b\"}]", "malformed JSON", 0 },
		{ "[{\"Names\":[\"/x\"],\"Labels\":{\"auriga.io/managed-by\":\"t1\"}}]", "no Id", 0 },
	};
	size_t i;

	(void)state;
	observed_init(&whole);
	observed_init(&one);
	observed_init(&joined);
	assert_int_equal(observe_from_json(&whole, "t1", j, &err), 0);
	assert_int_equal(observe_parse_list(&one, "t1", list_json, strlen(list_json), &err), 0);
	/* Read, its containers are not tagged with an endpoint yet: joining them does. */
	assert_null(one.containers[0]->host);
	assert_int_equal(observe_from_lists(&joined, "t1", &lu, 1, &err), 0);
	assert_same(&whole, &joined);
	assert_int_equal(observe_from_lists(&whole, "t1", &lw, 1, &err), 0);
	assert_int_equal(observe_from_lists(&joined, "t1", &lp, 1, &err), 0);
	assert_same(&whole, &joined);
	assert_string_equal(joined.containers[0]->address, "10.0.0.2");
	/* White space anywhere between entries, and an empty list. */
	assert_int_equal(observe_parse_list(&one, "t1", " \n[ ]\r\n", 7, &err), 0);
	assert_int_equal(one.n_containers, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].body);

		assert_int_equal(observe_parse_list(&one, "t1", bad[i].body, len, &err), ERR_PROTOCOL);
		if (strstr(error_msg(err), bad[i].says) == NULL)
			fail_msg("body %s: got '%s', want '%s'", bad[i].body, error_msg(err), bad[i].says);
		error_clear(&err);
		assert_int_equal(one.n_containers, 0);
	}
	observed_release(&whole);
	observed_release(&one);
	observed_release(&joined);
	json_decref(j);
}

/*
 * A union built from lists that outlive it (the engine's cache) holds their
 * containers themselves rather than copies: the same containers as a copy,
 * each tagged with its own endpoint and address; each deployment named by
 * its containers; the union owning none of its own. Releasing the union
 * leaves the lists whole (the sanitizers see a double free or a leak
 * otherwise), and a union built again over it frees what it held.
 */
static void a_union_lends_from_its_lists(void **state)
{
	struct observed one, copied, lent;
	struct error *err = NULL;
	struct obs_list lc = { "west", NULL, &one, 1, "10.0.0.2", 0 }, ll = lc;
	const struct obs_deployment *d;
	size_t i, k;

	(void)state;
	observed_init(&one);
	observed_init(&copied);
	observed_init(&lent);
	ll.lend = 1;
	assert_int_equal(observe_parse_list(&one, "t1", list_json, strlen(list_json), &err), 0);
	assert_true(one.n_containers > 1);
	assert_int_equal(observe_from_lists(&copied, "t1", &lc, 1, &err), 0);
	assert_int_equal(observe_from_lists(&lent, "t1", &ll, 1, &err), 0);
	assert_same(&copied, &lent);
	for (i = 0; i < lent.n_containers; i++) {
		const struct obs_container *c = lent.containers[i];

		for (k = 0; k < one.n_containers && strcmp(one.containers[k]->id, c->id) != 0; k++)
			;
		assert_true(k < one.n_containers);
		assert_ptr_equal(c, one.containers[k]);
		assert_ptr_not_equal(copied.containers[i], one.containers[k]);
		assert_ptr_equal(c->id, one.containers[k]->id);
		assert_ptr_equal(c->image, one.containers[k]->image);
		assert_ptr_equal(c->ports, one.containers[k]->ports);
		/* A copy is a container of its own that shares the list's strings, never changed once read. */
		assert_ptr_equal(copied.containers[i]->id, one.containers[k]->id);
		assert_true(copied.containers[i]->ports == NULL || copied.containers[i]->ports != one.containers[k]->ports);
		assert_string_equal(c->host, "west");
		assert_string_equal(c->address, "10.0.0.2");
		assert_true(c->unreachable);
	}
	assert_int_equal(lent.n_own, 0);
	assert_int_equal(copied.n_own, one.n_containers);
	for (i = 0; i < lent.n_deployments; i++) {
		d = &lent.deployments[i];
		assert_true(d->n > 0);
		assert_ptr_equal(d->name, d->v[0]->deployment);
		for (k = 0; k < d->n; k++)
			assert_string_equal(d->v[k]->deployment, d->name);
	}
	/* Built again over the lent one, then released: the list is whole after both. */
	assert_int_equal(observe_from_lists(&lent, "t1", &ll, 1, &err), 0);
	assert_same(&copied, &lent);
	observed_release(&lent);
	observed_release(&copied);
	assert_int_equal(observe_from_lists(&copied, "t1", &lc, 1, &err), 0);
	assert_int_equal(copied.n_containers, one.n_containers);
	for (i = 0; i < one.n_containers; i++)
		assert_non_null(one.containers[i]->id);
	observed_release(&copied);
	observed_release(&one);
}

/*
 * The list read as it arrives: cut into pieces of every size from one byte,
 * and after a first answer cut short and started over (a retried call), it
 * reads as the whole body does; a body cut short or wrong fails in pieces as
 * it does whole.
 */
static void list_read_as_it_arrives(void **state)
{
	struct observed whole, got;
	struct error *err = NULL;
	size_t len = strlen(list_json), k, at;
	struct observe_stream *s = observe_stream_new("t1");

	(void)state;
	observed_init(&whole);
	observed_init(&got);
	assert_int_equal(observe_parse_list(&whole, "t1", list_json, len, &err), 0);
	assert_true(whole.n_containers > 0);
	for (k = 1; k <= len; k++) {
		for (at = 0; at < len; at += k)
			observe_stream_feed(s, list_json + at, len - at < k ? len - at : k);
		assert_int_equal(observe_stream_finish(s, &got, &err), 0);
		assert_same(&whole, &got);
	}
	/* An answer cut off half-way, then the whole one again. */
	observe_stream_feed(s, list_json, len / 2);
	observe_stream_reset(s);
	observe_stream_feed(s, list_json, len);
	assert_int_equal(observe_stream_finish(s, &got, &err), 0);
	assert_same(&whole, &got);
	/* Cut short, in pieces: refused, and the stream reads the next answer afresh. */
	for (at = 0; at < len - 1; at += 7)
		observe_stream_feed(s, list_json + at, len - 1 - at < 7 ? len - 1 - at : 7);
	assert_int_equal(observe_stream_finish(s, &got, &err), ERR_PROTOCOL);
	assert_non_null(strstr(error_msg(err), "the answer ended inside the list"));
	error_clear(&err);
	observe_stream_feed(s, "[{\"Id\":\"a\"} x", strlen("[{\"Id\":\"a\"} x"));
	observe_stream_feed(s, "]", 1);
	assert_int_equal(observe_stream_finish(s, &got, &err), ERR_PROTOCOL);
	assert_non_null(strstr(error_msg(err), "',' or ']' expected after entry 0"));
	error_clear(&err);
	observe_stream_feed(s, list_json, len);
	assert_int_equal(observe_stream_finish(s, &got, &err), 0);
	assert_same(&whole, &got);
	observe_stream_free(s);
	observed_release(&whole);
	observed_release(&got);
}

/* o's container of id, or NULL. */
static const struct obs_container *by_id_in(const struct observed *o, const char *id)
{
	size_t i;

	for (i = 0; i < o->n_containers; i++)
		if (strcmp(o->containers[i]->id, id) == 0)
			return o->containers[i];
	return NULL;
}

/*
 * A relist read like the last list: the containers whose strings it repeats
 * share the last list's (their status text may move on: it is not kept), the
 * one changed (v0's image) and the one new (n1) have their own, and the list
 * reads as it does afresh, after the last list is gone too.
 */
static void a_relist_shares_what_it_repeats(void **state)
{
	struct observed prev, got, fresh;
	struct error *err = NULL;
	struct observe_stream *s = observe_stream_new("t1");
	char *changed = xstrdup(list_json), *p, *more;
	size_t i;

	(void)state;
	observed_init(&prev);
	observed_init(&got);
	observed_init(&fresh);
	p = strstr(changed, "Up 3 minutes");
	p[3] = '4';
	p = strstr(changed, "\"Id\":\"v0\"");
	p = strstr(p, "node:v1");
	p[6] = '2';
	p = strrchr(changed, ']');
	*p = '\0';
	more = xasprintf("%s,{\"Id\":\"n1\",\"Names\":[\"/val-1\"],\"Image\":\"auriga-demo-node:v1\","
			 "\"State\":\"running\",\"Labels\":{\"auriga.io/managed-by\":\"t1\","
			 "\"auriga.io/deployment\":\"val\",\"auriga.io/revision\":\"" REV_A "\","
			 "\"auriga.io/ordinal\":\"1\"}}]", changed);
	assert_int_equal(observe_parse_list(&prev, "t1", list_json, strlen(list_json), &err), 0);
	assert_int_equal(observe_parse_list(&fresh, "t1", more, strlen(more), &err), 0);
	observe_stream_like(s, &prev);
	/* A retried answer keeps what the list is like. */
	observe_stream_feed(s, more, 10);
	observe_stream_reset(s);
	observe_stream_feed(s, more, strlen(more));
	assert_int_equal(observe_stream_finish(s, &got, &err), 0);
	assert_same(&fresh, &got);
	assert_int_equal(got.n_containers, prev.n_containers + 1);
	for (i = 0; i < got.n_containers; i++) {
		const struct obs_container *c = got.containers[i], *was = by_id_in(&prev, c->id);
		int same = was != NULL && strcmp(c->id, "v0") != 0;

		if (same) {
			assert_ptr_equal(c->id, was->id);
			assert_ptr_equal(c->name, was->name);
		} else {
			assert_true(was == NULL || c->id != was->id);
		}
	}
	assert_string_equal(by_id_in(&got, "v0")->image, "auriga-demo-node:v2");
	/* The last list goes: what shared its strings still holds them. */
	observed_release(&prev);
	assert_same(&fresh, &got);
	/* finish forgot it: the next answer shares nothing with it. */
	observe_stream_feed(s, more, strlen(more));
	assert_int_equal(observe_stream_finish(s, &prev, &err), 0);
	assert_same(&fresh, &prev);
	for (i = 0; i < prev.n_containers; i++)
		assert_true(prev.containers[i]->id != by_id_in(&got, prev.containers[i]->id)->id);
	observe_stream_free(s);
	observed_release(&prev);
	observed_release(&got);
	observed_release(&fresh);
	free(changed);
	free(more);
}

/* What a periodic relist counts as corrected: containers new, gone, or changed in what the engine reads. */
static void differences_between_lists(void **state)
{
	struct observed a, b;
	struct error *err = NULL;
	char *changed = xstrdup(list_json), *p;
	static const char one[] =
		"[{\"Id\":\"c1\",\"Names\":[\"/slim-0\"],\"Image\":\"auriga-demo-node:v1\",\"State\":\"running\","
		"\"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
		"\"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"0\"}}]";

	(void)state;
	observed_init(&a);
	observed_init(&b);
	assert_int_equal(observe_parse_list(&a, "t1", list_json, strlen(list_json), &err), 0);
	assert_int_equal(observe_parse_list(&b, "t1", list_json, strlen(list_json), &err), 0);
	assert_int_equal(observed_differences(&a, &b), 0);
	/* Status text alone ("Up 3 minutes" to "Up 4 minutes") is no change. */
	p = strstr(changed, "Up 3 minutes");
	assert_non_null(p);
	p[3] = '4';
	assert_int_equal(observe_parse_list(&b, "t1", changed, strlen(changed), &err), 0);
	assert_int_equal(observed_differences(&a, &b), 0);
	/* c3 exited, then paused: one container changed. */
	p = strstr(changed, "\"State\":\"exited\"");
	assert_non_null(p);
	memcpy(p, "\"State\":\"paused\"", 16);
	assert_int_equal(observe_parse_list(&b, "t1", changed, strlen(changed), &err), 0);
	assert_int_equal(observed_differences(&a, &b), 1);
	/* A container's ports listed in another order: no change. */
	{
		static const char fmt[] =
			"[{\"Id\":\"p1\",\"Names\":[\"/slim-0\"],\"State\":\"running\",\"Ports\":[%s,%s],"
			"\"Labels\":{\"auriga.io/managed-by\":\"t1\",\"auriga.io/deployment\":\"slim\","
			"\"auriga.io/revision\":\"" REV_A "\",\"auriga.io/ordinal\":\"0\"}}]";
		static const char p9003[] = "{\"IP\":\"127.0.0.1\",\"PrivatePort\":9003,\"PublicPort\":20000,\"Type\":\"tcp\"}";
		static const char p9100[] = "{\"IP\":\"127.0.0.1\",\"PrivatePort\":9100,\"PublicPort\":20001,\"Type\":\"tcp\"}";
		char *x = xasprintf(fmt, p9003, p9100), *y = xasprintf(fmt, p9100, p9003);
		struct observed ox, oy;

		observed_init(&ox);
		observed_init(&oy);
		assert_int_equal(observe_parse_list(&ox, "t1", x, strlen(x), &err), 0);
		assert_int_equal(observe_parse_list(&oy, "t1", y, strlen(y), &err), 0);
		assert_int_equal(ox.containers[0]->n_ports, 2);
		assert_int_equal(observed_differences(&ox, &oy), 0);
		observed_release(&ox);
		observed_release(&oy);
		free(x);
		free(y);
	}
	/* Only c1 left, without its published port: the others of t1 (c3, m1, m2, v0) are gone, c1 changed. */
	assert_int_equal(a.n_containers, 5);
	assert_int_equal(observe_parse_list(&b, "t1", one, strlen(one), &err), 0);
	assert_int_equal(observed_differences(&a, &b), 5);
	assert_int_equal(observed_differences(&b, &a), 5);
	observed_release(&a);
	observed_release(&b);
	free(changed);
}

static void filter_names_the_instance(void **state)
{
	char *f = observe_filter("prod-1");

	(void)state;
	assert_string_equal(f, "label=auriga.io/managed-by=prod-1");
	free(f);
}

/* Revisions compare by prefix, at least 6 digits; NULL never matches. */
static void revision_prefixes(void **state)
{
	(void)state;
	assert_true(obs_revision_eq("5bf5356b5e93", "5bf5356b5e93"));
	assert_true(obs_revision_eq("5bf5356b5e93", "5bf5356b5e93aa11ff"));
	assert_true(obs_revision_eq("5bf535", "5bf5356b5e93"));
	assert_false(obs_revision_eq("5bf53", "5bf5356b5e93"));
	assert_false(obs_revision_eq("5bf5356b5e94", "5bf5356b5e93"));
	assert_false(obs_revision_eq(NULL, "5bf5356b5e93"));
	assert_false(obs_revision_eq("5bf5356b5e93", NULL));
	assert_false(obs_revision_eq("", ""));
}

TEST_MAIN(
	cmocka_unit_test(revision_prefixes),
	cmocka_unit_test(groups_by_deployment_and_ordinal),
	cmocka_unit_test(lists_of_several_endpoints),
	cmocka_unit_test(malformed_labels_are_kept_apart),
	cmocka_unit_test(swarm_tasks_take_their_slot),
	cmocka_unit_test(swarm_tasks_as_a_list),
	cmocka_unit_test(swarm_moves_seen),
	cmocka_unit_test(another_instance_sees_only_its_own),
	cmocka_unit_test(bad_bodies_are_protocol_errors),
	cmocka_unit_test(list_read_entry_by_entry),
	cmocka_unit_test(list_read_as_it_arrives),
	cmocka_unit_test(a_union_lends_from_its_lists),
	cmocka_unit_test(a_relist_shares_what_it_repeats),
	cmocka_unit_test(differences_between_lists),
	cmocka_unit_test(filter_names_the_instance))
