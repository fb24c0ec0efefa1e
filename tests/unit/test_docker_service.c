/* Unit tests for a Swarm service's body: a container create spec as Swarm's task template, the strategy as its update config. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "testmain.h"
#include "util.h"

static const char *path_str(json_t *o, const char *a, const char *b, const char *c)
{
	json_t *v = json_object_get(o, a);

	if (b)
		v = json_object_get(v, b);
	if (c)
		v = json_object_get(v, c);
	return json_string_value(v);
}

static void a_create_spec_becomes_a_task_template(void **state)
{
	const char *entry[] = { "/demo-node", NULL }, *cmd[] = { "serve", NULL }, *env[] = { "A=1", NULL };
	const char *caps[] = { "NET_ADMIN", NULL }, *cons[] = { "node.labels.zone==a", NULL };
	const char *test[] = { "CMD", "/demo-node", "probe", NULL };
	struct kv tl[] = { { "auriga.io/revision", "r1" } }, sl[] = { { "auriga.io/managed-by", "prod" } };
	struct docker_port ports[] = { { 9003, "tcp", "127.0.0.1", 19003 }, { 9004, NULL, NULL, 0 } };
	struct docker_mount mounts[] = { { "web.data.{{.Task.Slot}}.ab", "/data", 0, 0 } };
	struct docker_healthcheck hc = { test, 1000, 5000, 0, 2 };
	struct docker_create_spec t = {
		.image = "auriga-demo-node:v1", .entrypoint = entry, .cmd = cmd, .env = env, .labels = tl,
		.n_labels = 1, .ports = ports, .n_ports = 2, .mounts = mounts, .n_mounts = 1,
		.memory_bytes = 512 << 20, .nano_cpus = 500000000, .restart_policy = "on-failure",
		.restart_max_retries = 3, .cap_add = caps, .healthcheck = &hc, .stop_timeout_s = 7,
		.hostname = "web-{{.Task.Slot}}",
	};
	struct docker_service_spec s = {
		.name = "prod-web", .task = &t, .labels = sl, .n_labels = 1, .replicas = 3, .parallelism = 2,
		.start_first = 1, .monitor_ms = 1500, .max_per_node = 1, .constraints = cons,
	};
	struct error *err = NULL;
	json_t *b, *tt, *cs, *p;

	(void)state;
	b = docker_service_body(&s, &err);
	assert_non_null(b);
	assert_string_equal(path_str(b, "Name", NULL, NULL), "prod-web");
	assert_string_equal(path_str(b, "Labels", "auriga.io/managed-by", NULL), "prod");
	tt = json_object_get(b, "TaskTemplate");
	cs = json_object_get(tt, "ContainerSpec");
	/* Docker's entrypoint is Swarm's Command; its command Swarm's Args. */
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "Command"), 0)), "/demo-node");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "Args"), 0)), "serve");
	assert_string_equal(path_str(cs, "Labels", "auriga.io/revision", NULL), "r1");
	assert_string_equal(path_str(cs, "Hostname", NULL, NULL), "web-{{.Task.Slot}}");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(cs, "Mounts"), 0),
							      "Source")), "web.data.{{.Task.Slot}}.ab");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(cs, "Healthcheck"), "Interval")),
			 1000000000);
	assert_int_equal(json_integer_value(json_object_get(cs, "StopGracePeriod")), INT64_C(7000000000));
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "CapabilityAdd"), 0)), "NET_ADMIN");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(tt, "Resources"), "Limits"),
							    "MemoryBytes")), 512 << 20);
	/* on-failure keeps its attempts; Swarm's words for it. */
	assert_string_equal(path_str(tt, "RestartPolicy", "Condition", NULL), "on-failure");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tt, "RestartPolicy"), "MaxAttempts")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(tt, "Placement"), "MaxReplicas")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(b, "Mode"), "Replicated"),
							    "Replicas")), 3);
	/* Auriga judges the release: Swarm pauses on a failure and does not roll back on its own. */
	assert_string_equal(path_str(b, "UpdateConfig", "Order", NULL), "start-first");
	assert_string_equal(path_str(b, "UpdateConfig", "FailureAction", NULL), "pause");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "UpdateConfig"), "Parallelism")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "UpdateConfig"), "Monitor")),
			 INT64_C(1500000000));
	/* Ports in host mode, each task on its own node; without a host port, Swarm picks one. */
	p = json_object_get(json_object_get(b, "EndpointSpec"), "Ports");
	assert_int_equal(json_array_size(p), 2);
	assert_string_equal(path_str(json_array_get(p, 0), "PublishMode", NULL, NULL), "host");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(p, 0), "PublishedPort")), 19003);
	assert_null(json_object_get(json_array_get(p, 1), "PublishedPort"));
	json_decref(b);
}

static void what_swarm_cannot_run_is_refused(void **state)
{
	struct docker_create_spec t = { .image = "x", .privileged = 1 };
	struct docker_service_spec s = { .name = "web", .task = &t, .replicas = 1 };
	struct error *err = NULL;

	(void)state;
	assert_null(docker_service_body(&s, &err));
	assert_non_null(strstr(error_msg(err), "privileged"));
	error_free(err);
	err = NULL;
	t.privileged = 0;
	s.replicas = -1;
	assert_null(docker_service_body(&s, &err));
	assert_non_null(strstr(error_msg(err), "negative"));
	error_free(err);
	err = NULL;
	s.replicas = 1;
	s.name = "";
	assert_null(docker_service_body(&s, &err));
	error_free(err);
}

TEST_MAIN(
	cmocka_unit_test(a_create_spec_becomes_a_task_template),
	cmocka_unit_test(what_swarm_cannot_run_is_refused))
