/*
 * Integration: the Swarm calls against a real single-node swarm (tests/helpers/swarm-host.sh: a
 * dockerd of the test's own in a network namespace, made a manager). A service made from a
 * container create spec runs its replicas with the labels given and the update order asked for; an
 * update at the version read replaces every task by the new revision; an update at a stale version
 * is refused and leaves the service's spec as it was; a spec Swarm cannot run is refused before any
 * call; a removed service leaves no task.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker/docker.h"
#include "kv.h"
#include "runtime/loop.h"
#include "testloop.h"
#include "util.h"

static struct loop *L;
static struct docker *D;
static char dir[256];
static char url[512];
static char svc[64];

#define SYNC(w, call_expr)                                                                       \
	do {                                                                                     \
		memset(&(w), 0, sizeof(w));                                                      \
		assert_int_equal((call_expr), 0);                                                \
		docker_wait(D, &(w));                                                            \
		if (!docker_status_ok((w).result.status))                                        \
			printf("# %s: %s\n", docker_status_name((w).result.status), (w).result.message); \
	} while (0)

static int setup(void **state)
{
	struct docker_config dc;
	struct error *err = NULL;
	char cmd[512], line[600];
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/auriga-test-swarm.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "tests/helpers/swarm-host.sh start %s auriga-demo-node:v1 auriga-demo-node:v2", dir);
	f = popen(cmd, "r");
	if (f == NULL || fgets(line, sizeof(line), f) == NULL || pclose(f) != 0) {
		fprintf(stderr, "setup: no swarm\n");
		return -1;
	}
	if (sscanf(line, "%511s", url) != 1)
		return -1;
	snprintf(svc, sizeof(svc), "auriga-tsw%d", (int)getpid());
	if (test_loop_new(&L, NULL) != 0)
		return -1;
	docker_config_default(&dc);
	dc.host = url;
	D = docker_new(L, &dc, &err);
	if (D == NULL) {
		fprintf(stderr, "setup: %s\n", error_msg(err));
		error_free(err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[600];
	int rc;

	(void)state;
	docker_free(D);
	test_loop_free(L, NULL);
	snprintf(cmd, sizeof(cmd), "tests/helpers/swarm-host.sh stop %s && rm -rf %s", dir, dir);
	rc = system(cmd);
	return rc == 0 ? 0 : -1;
}

/* The spec of the test's service at revision rev (image auriga-demo-node:<image>). */
struct spec_parts {
	struct kv task_labels[2], labels[2];
	const char *env[2];
	struct docker_healthcheck hc;
	const char *hc_test[5];
	struct docker_create_spec task;
	struct docker_service_spec s;
};

static void make_spec(struct spec_parts *p, const char *rev, const char *image)
{
	memset(p, 0, sizeof(*p));
	p->task_labels[0] = (struct kv){ "auriga.io/deployment", "web" };
	p->task_labels[1] = (struct kv){ "auriga.io/revision", (char *)rev };
	p->labels[0] = (struct kv){ "auriga.io/managed-by", "tsw" };
	p->labels[1] = (struct kv){ "auriga.io/revision", (char *)rev };
	p->env[0] = "DEMO_READY_AFTER_MS=0";
	p->hc_test[0] = "CMD";
	p->hc_test[1] = "/demo-node";
	p->hc_test[2] = "probe";
	p->hc_test[3] = "/q/health/ready";
	p->hc = (struct docker_healthcheck){ .test = p->hc_test, .interval_ms = 1000, .timeout_ms = 3000, .retries = 1 };
	p->task.image = image;
	p->task.env = p->env;
	p->task.labels = p->task_labels;
	p->task.n_labels = 2;
	p->task.healthcheck = &p->hc;
	p->task.restart_policy = "always";
	p->task.stop_timeout_s = 2;
	p->s.name = svc;
	p->s.task = &p->task;
	p->s.labels = p->labels;
	p->s.n_labels = 2;
	p->s.replicas = 2;
	p->s.parallelism = 1;
	p->s.start_first = 1;
	p->s.monitor_ms = 500;
}

/* The service's tasks meant to run, and how many run at revision rev. */
static void tasks_at(const char *rev, size_t *n_wanted, size_t *n_running_at_rev)
{
	struct docker_waiter w;
	char f0[128];
	const char *f[] = { f0, "desired-state=running", NULL };
	size_t i;

	snprintf(f0, sizeof(f0), "service=%s", svc);
	SYNC(w, docker_task_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_true(json_is_array(w.result.json));
	*n_wanted = json_array_size(w.result.json);
	*n_running_at_rev = 0;
	for (i = 0; i < *n_wanted; i++) {
		json_t *t = json_array_get(w.result.json, i);
		const char *state = json_string_value(json_object_get(json_object_get(t, "Status"), "State"));
		json_t *labels = json_object_get(json_object_get(json_object_get(t, "Spec"), "ContainerSpec"), "Labels");
		const char *r = json_string_value(json_object_get(labels, "auriga.io/revision"));

		if (state && strcmp(state, "running") == 0 && r && strcmp(r, rev) == 0)
			(*n_running_at_rev)++;
	}
	docker_result_release(&w.result);
}

/* Waits up to 60 s for both replicas to run at rev and nothing else to be meant to run. */
static int converged(const char *rev)
{
	size_t wanted = 0, at = 0;
	int i;

	for (i = 0; i < 300; i++) {
		tasks_at(rev, &wanted, &at);
		if (wanted == 2 && at == 2)
			return 1;
		usleep(200 * 1000);
	}
	printf("# tasks meant to run %zu, running at %s %zu\n", wanted, rev, at);
	return 0;
}

static uint64_t version_of(const char *id, char *rev_out, size_t n)
{
	struct docker_waiter w;
	json_t *v;
	uint64_t version;

	SYNC(w, docker_service_inspect(D, DOCKER_OBSERVE, id, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	v = json_object_get(json_object_get(w.result.json, "Version"), "Index");
	assert_true(json_is_integer(v));
	version = (uint64_t)json_integer_value(v);
	snprintf(rev_out, n, "%s",
		 json_string_value(json_object_get(json_object_get(json_object_get(w.result.json, "Spec"), "Labels"),
						   "auriga.io/revision")));
	docker_result_release(&w.result);
	return version;
}

static void the_engine_is_a_swarm_manager(void **state)
{
	struct docker_waiter w;
	json_t *sw;

	(void)state;
	SYNC(w, docker_info(D, DOCKER_OBSERVE, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	sw = json_object_get(w.result.json, "Swarm");
	assert_string_equal(json_string_value(json_object_get(sw, "LocalNodeState")), "active");
	assert_true(json_is_true(json_object_get(sw, "ControlAvailable")));
	docker_result_release(&w.result);
}

static void a_spec_swarm_cannot_run_is_refused_before_any_call(void **state)
{
	struct spec_parts p;
	struct error *err = NULL;
	unsigned long before, after, retries;

	(void)state;
	make_spec(&p, "r1", "auriga-demo-node:v1");
	p.task.privileged = 1;
	docker_counters(D, &before, &retries);
	assert_int_equal(docker_service_create(D, DOCKER_ROLLOUT, &p.s, docker_waiter_done, NULL, &err), ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "privileged"));
	error_free(err);
	err = NULL;
	make_spec(&p, "r1", "");
	assert_int_equal(docker_service_update(D, DOCKER_ROLLOUT, "x", 1, &p.s, docker_waiter_done, NULL, &err),
			 ERR_INVALID);
	assert_non_null(strstr(error_msg(err), "no image"));
	error_free(err);
	docker_counters(D, &after, &retries);
	assert_int_equal(before, after);
}

static void a_service_runs_updates_and_goes(void **state)
{
	struct spec_parts p;
	struct docker_waiter w;
	char id[128], rev[32], filter[64];
	const char *f[] = { filter, NULL };
	uint64_t v1, v2;
	json_t *s;

	(void)state;
	/* Made: both replicas run at r1, the service carries its labels, its status counts them. */
	make_spec(&p, "r1", "auriga-demo-node:v1");
	SYNC(w, docker_service_create(D, DOCKER_ROLLOUT, &p.s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_non_null(w.result.id);
	snprintf(id, sizeof(id), "%s", w.result.id);
	docker_result_release(&w.result);
	assert_true(converged("r1"));
	snprintf(filter, sizeof(filter), "label=auriga.io/managed-by=tsw");
	SYNC(w, docker_service_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(json_array_size(w.result.json), 1);
	s = json_array_get(w.result.json, 0);
	assert_string_equal(json_string_value(json_object_get(s, "ID")), id);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "ServiceStatus"), "DesiredTasks")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "ServiceStatus"), "RunningTasks")), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(s, "Spec"),
									      "UpdateConfig"), "Order")),
			    "start-first");
	docker_result_release(&w.result);

	/* Updated at the version read: every task is replaced by r2. */
	v1 = version_of(id, rev, sizeof(rev));
	assert_string_equal(rev, "r1");
	make_spec(&p, "r2", "auriga-demo-node:v2");
	SYNC(w, docker_service_update(D, DOCKER_ROLLOUT, id, v1, &p.s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	docker_result_release(&w.result);
	assert_true(converged("r2"));

	/* At a stale version (someone changed it since): refused, and the service stays at r2. */
	v2 = version_of(id, rev, sizeof(rev));
	assert_true(v2 > v1);
	make_spec(&p, "r3", "auriga-demo-node:v1");
	SYNC(w, docker_service_update(D, DOCKER_ROLLOUT, id, v1, &p.s, docker_waiter_done, &w, NULL));
	assert_false(docker_status_ok(w.result.status));
	assert_non_null(strstr(w.result.message, "out of sequence"));
	docker_result_release(&w.result);
	/* (Its version moves on by itself as Swarm records the update's progress: the spec is what is checked.) */
	assert_true(version_of(id, rev, sizeof(rev)) >= v2);
	assert_string_equal(rev, "r2");
	assert_true(converged("r2"));

	/* Removed: nothing of it is meant to run; removing it again finds nothing. */
	SYNC(w, docker_service_remove(D, DOCKER_ROLLOUT, id, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	docker_result_release(&w.result);
	SYNC(w, docker_service_remove(D, DOCKER_ROLLOUT, id, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_FOUND);
	docker_result_release(&w.result);
	SYNC(w, docker_service_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(json_array_size(w.result.json), 0);
	docker_result_release(&w.result);
}

static void nodes_are_listed(void **state)
{
	struct docker_waiter w;
	json_t *n;

	(void)state;
	SYNC(w, docker_node_list(D, DOCKER_OBSERVE, NULL, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(json_array_size(w.result.json), 1);
	n = json_array_get(w.result.json, 0);
	assert_string_equal(json_string_value(json_object_get(json_object_get(n, "Status"), "State")), "ready");
	assert_string_equal(json_string_value(json_object_get(json_object_get(n, "Spec"), "Role")), "manager");
	docker_result_release(&w.result);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_engine_is_a_swarm_manager),
		cmocka_unit_test(a_spec_swarm_cannot_run_is_refused_before_any_call),
		cmocka_unit_test(a_service_runs_updates_and_goes),
		cmocka_unit_test(nodes_are_listed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
