/*
 * Integration: every Docker call auriga makes, against the real engine on the default socket; and a
 * call dropped with its client frees what waited for it (a Job's run).
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
#include "engine/job.h"
#include "kv.h"
#include "model/desired.h"
#include "runtime/loop.h"
#include "testloop.h"
#include "util.h"

#define IMAGE "auriga-test-sleeper:1"

static struct loop *L;
static struct docker *D;
static char run_label[80];	/* label=auriga.test.run=<value>, as a filter */
static char run_value[48];
static char prefix[48];		/* names of everything this run makes */

/* Runs one call synchronously: the macro passes the waiter as the callback's argument. */
#define SYNC(w, call_expr)                                                   \
	do {                                                                 \
		struct error *e_ = NULL;                                     \
		memset(&(w), 0, sizeof(w));                                  \
		assert_int_equal((call_expr), 0);                            \
		(void)e_;                                                    \
		docker_wait(D, &(w));                                        \
		if (!docker_status_ok((w).result.status))                    \
			printf("# %s: %s\n", docker_status_name((w).result.status), (w).result.message); \
	} while (0)

/* SYNC, then the call's status must be want; its result is released. */
#define SYNC_EXPECT(w, call_expr, want)                      \
	do {                                                 \
		SYNC(w, call_expr);                          \
		assert_int_equal((w).result.status, (want)); \
		docker_result_release(&(w).result);          \
	} while (0)

static void cleanup_label(void)
{
	struct docker_waiter w;
	const char *f[] = { run_label, NULL };
	size_t i;

	SYNC(w, docker_container_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	for (i = 0; i < w.result.n_containers; i++) {
		struct docker_waiter r;

		SYNC(r, docker_container_remove(D, DOCKER_ROLLOUT, w.result.containers[i].id, 1, 1,
						docker_waiter_done, &r, NULL));
		docker_result_release(&r.result);
	}
	docker_result_release(&w.result);
	SYNC(w, docker_network_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	for (i = 0; i < w.result.n_objects; i++) {
		struct docker_waiter r;

		SYNC(r, docker_network_remove(D, DOCKER_ROLLOUT, w.result.objects[i].id, docker_waiter_done, &r, NULL));
		docker_result_release(&r.result);
	}
	docker_result_release(&w.result);
	SYNC(w, docker_volume_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	for (i = 0; i < w.result.n_objects; i++) {
		struct docker_waiter r;

		SYNC(r, docker_volume_remove(D, DOCKER_ROLLOUT, w.result.objects[i].id, 1, docker_waiter_done, &r, NULL));
		docker_result_release(&r.result);
	}
	docker_result_release(&w.result);
}

static int setup(void **state)
{

	(void)state;
	if (system("tests/fakes/build-test-image.sh " IMAGE) != 0) {
		fprintf(stderr, "cannot build the test image\n");
		return -1;
	}
	snprintf(run_value, sizeof(run_value), "docker-engine-%d", (int)getpid());
	snprintf(run_label, sizeof(run_label), "label=auriga.test.run=%s", run_value);
	snprintf(prefix, sizeof(prefix), "auriga-t%d", (int)getpid());
	if (test_loop_new(&L, NULL) != 0)
		return -1;
	D = test_docker_new(L, 0);
	return D != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cleanup_label();
	docker_free(D);
	test_loop_free(L, NULL);
	return 0;
}

static void negotiates_version(void **state)
{
	struct docker_waiter w;

	(void)state;
	SYNC(w, docker_negotiate(D, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	/* The engine here speaks 1.41; we speak up to DOCKER_API_MAX, so 1.41 it is. */
	assert_true(docker_api_compare(w.result.api_version, DOCKER_API_MIN) >= 0);
	assert_string_equal(docker_api_version(D), w.result.api_version);
	docker_result_release(&w.result);
	SYNC(w, docker_ping(D, DOCKER_OBSERVE, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_non_null(w.result.api_version);
	docker_result_release(&w.result);
}

static void image_inspect_names_missing_image(void **state)
{
	struct docker_waiter w;

	(void)state;
	SYNC(w, docker_image_inspect(D, DOCKER_OBSERVE, IMAGE, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.n_objects, 1);
	assert_true(str_has_prefix(w.result.objects[0].id, "sha256:"));
	assert_string_equal(kv_get(w.result.objects[0].labels, w.result.objects[0].n_labels,
					     "auriga.test.image"), "sleeper");
	docker_result_release(&w.result);
	SYNC(w, docker_image_inspect(D, DOCKER_OBSERVE, "auriga-no-such-image:v9", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_FOUND);
	assert_non_null(strstr(w.result.message, "no such image 'auriga-no-such-image:v9'"));
	/* A 404 is an answer: not retried. */
	assert_int_equal(w.result.attempts, 1);
	docker_result_release(&w.result);
}

/* What the observer heard, and whether the call's own callback had run by then. */
struct heard {
	int n;
	char op[64];
	enum docker_status status;
	int http_status;
	unsigned attempts;
	int64_t duration_ms;
	int callback_ran_first;
	const struct docker_waiter *w;
};

static void on_call(const struct docker_call_info *ci, void *arg)
{
	struct heard *h = arg;

	h->n++;
	snprintf(h->op, sizeof(h->op), "%s", ci->op);
	h->status = ci->status;
	h->http_status = ci->http_status;
	h->attempts = ci->attempts;
	h->duration_ms = ci->duration_ms;
	h->callback_ran_first = h->w && h->w->done;
}

static void observer_hears_every_call(void **state)
{
	struct docker_waiter w;
	struct docker_config cfg;
	struct docker *dead;
	struct error *err = NULL;
	struct heard h;

	(void)state;
	memset(&h, 0, sizeof(h));
	h.w = &w;
	docker_set_observer(D, on_call, &h);
	SYNC(w, docker_image_inspect(D, DOCKER_OBSERVE, "auriga-no-such-image:v9", docker_waiter_done, &w, NULL));
	assert_int_equal(h.n, 1);
	assert_string_equal(h.op, "inspect image");
	assert_int_equal(h.status, DOCKER_NOT_FOUND);
	assert_int_equal(h.http_status, 404);
	assert_int_equal(h.attempts, 1);
	assert_true(h.duration_ms >= 0 && h.duration_ms < 30000);
	assert_false(h.callback_ran_first);
	docker_result_release(&w.result);
	docker_set_observer(D, NULL, NULL);
	SYNC(w, docker_ping(D, DOCKER_OBSERVE, docker_waiter_done, &w, NULL));
	assert_int_equal(h.n, 1);
	docker_result_release(&w.result);

	/* A socket nobody listens on: every attempt fails, the observer hears one failed call. */
	docker_config_default(&cfg);
	cfg.host = "unix:///nonexistent/auriga-test.sock";
	cfg.retry.max_attempts = 2;
	dead = docker_new(L, &cfg, &err);
	assert_non_null(dead);
	memset(&h, 0, sizeof(h));
	h.w = &w;
	docker_set_observer(dead, on_call, &h);
	memset(&w, 0, sizeof(w));
	assert_int_equal(docker_ping(dead, DOCKER_OBSERVE, docker_waiter_done, &w, NULL), 0);
	docker_wait(dead, &w);
	assert_int_equal(w.result.status, DOCKER_TRANSPORT);
	assert_int_equal(h.n, 1);
	assert_string_equal(h.op, "ping");
	assert_int_equal(h.status, DOCKER_TRANSPORT);
	assert_int_equal(h.http_status, 0);
	assert_int_equal(h.attempts, 2);
	docker_result_release(&w.result);
	docker_free(dead);
}

static void networks_and_volumes(void **state)
{
	struct docker_waiter w;
	struct kv labels[] = { { "auriga.test.run", run_value } };
	const char *f[] = { run_label, NULL };
	char name[96];

	(void)state;
	snprintf(name, sizeof(name), "%s-net", prefix);
	SYNC(w, docker_network_create(D, DOCKER_ROLLOUT, name, NULL, 0, labels, 1, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(strlen(w.result.id), 64);
	docker_result_release(&w.result);
	SYNC_EXPECT(w, docker_network_create(D, DOCKER_ROLLOUT, name, NULL, 0, labels, 1, docker_waiter_done, &w, NULL),
		    DOCKER_CONFLICT);
	SYNC(w, docker_network_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.n_objects, 1);
	assert_string_equal(w.result.objects[0].name, name);
	assert_string_equal(kv_get(w.result.objects[0].labels, w.result.objects[0].n_labels,
					     "auriga.test.run"), run_value);
	docker_result_release(&w.result);

	snprintf(name, sizeof(name), "%s-vol", prefix);
	SYNC(w, docker_volume_create(D, DOCKER_ROLLOUT, name, labels, 1, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_string_equal(w.result.id, name);
	docker_result_release(&w.result);
	SYNC(w, docker_volume_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.n_objects, 1);
	assert_string_equal(w.result.objects[0].id, name);
	assert_string_equal(w.result.objects[0].driver, "local");
	docker_result_release(&w.result);
}

static int find_env(json_t *inspect, const char *want)
{
	json_t *env = json_object_get(json_object_get(inspect, "Config"), "Env");
	size_t i;

	for (i = 0; i < json_array_size(env); i++)
		if (strcmp(json_string_value(json_array_get(env, i)), want) == 0)
			return 1;
	return 0;
}

/* The created container as Docker inspects it: every field of the create request. */
static void check_created(const char *name, const char *id, const char *net, const char *vol)
{
	struct docker_waiter w;
	json_t *host;

	SYNC(w, docker_container_inspect(D, DOCKER_OBSERVE, name, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_string_equal(w.result.container.id, id);
	assert_string_equal(w.result.container.name, name);
	assert_string_equal(w.result.container.image, IMAGE);
	assert_string_equal(w.result.container.status, "created");
	assert_false(w.result.container.running);
	assert_string_equal(kv_get(w.result.container.labels, w.result.container.n_labels,
					     "auriga.io/deployment"), "web");
	assert_true(find_env(w.result.json, "GREETING=hello"));
	host = json_object_get(w.result.json, "HostConfig");
	assert_int_equal(json_integer_value(json_object_get(host, "Memory")), 64 << 20);
	assert_int_equal(json_integer_value(json_object_get(host, "NanoCpus")), 500000000);
	assert_string_equal(json_string_value(json_object_get(json_object_get(host, "RestartPolicy"), "Name")),
			    "on-failure");
	assert_string_equal(json_string_value(json_object_get(host, "NetworkMode")), net);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
				json_object_get(host, "PortBindings"), "8080/tcp"), 0), "HostIp")), "127.0.0.1");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(host, "Mounts"), 0),
							      "Source")), vol);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(w.result.json, "Config"),
									       "Healthcheck"), "Retries")), 3);
	docker_result_release(&w.result);
}

/* Exec: one run, and its create, start and inspect steps by hand. */
static void check_exec(const char *id)
{
	struct docker_waiter w;
	const char *argv_ok[] = { "/t", "exit", "3", NULL };

	/* Exec: create, start attached, inspect; the exit code and both streams come back. */
	SYNC(w, docker_exec_run(D, DOCKER_PROBE, id, argv_ok, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.exit_code, 3);
	assert_string_equal(w.result.out.data, "out 3\n");
	assert_string_equal(w.result.err.data, "err 3\n");
	assert_int_equal(w.result.attempts, 3);
	docker_result_release(&w.result);
	{
		char exec_id[80];

		SYNC(w, docker_exec_create(D, DOCKER_PROBE, id, argv_ok, 0, docker_waiter_done, &w, NULL));
		assert_int_equal(w.result.status, DOCKER_OK);
		snprintf(exec_id, sizeof(exec_id), "%s", w.result.id);
		docker_result_release(&w.result);
		SYNC_EXPECT(w, docker_exec_start(D, DOCKER_PROBE, exec_id, 1, docker_waiter_done, &w, NULL), DOCKER_OK);
		for (int i = 0; i < 100; i++) {
			SYNC(w, docker_exec_inspect(D, DOCKER_PROBE, exec_id, docker_waiter_done, &w, NULL));
			assert_int_equal(w.result.status, DOCKER_OK);
			if (!w.result.running)
				break;
			docker_result_release(&w.result);
			usleep(50000);
		}
		assert_false(w.result.running);
		assert_int_equal(w.result.exit_code, 3);
		docker_result_release(&w.result);
	}
}

/* Stop (twice: the second is not modified), wait for 0; start, kill and wait for 137. */
static void check_stop_and_kill(const char *id)
{
	struct docker_waiter w;

	SYNC_EXPECT(w, docker_container_stop(D, DOCKER_ROLLOUT, id, 5, docker_waiter_done, &w, NULL), DOCKER_OK);
	SYNC_EXPECT(w, docker_container_stop(D, DOCKER_ROLLOUT, id, 5, docker_waiter_done, &w, NULL), DOCKER_NOT_MODIFIED);
	SYNC(w, docker_container_wait(D, DOCKER_ROLLOUT, id, NULL, 10000, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.exit_code, 0);	/* the sleeper exits 0 on SIGTERM */
	docker_result_release(&w.result);
	SYNC(w, docker_container_kill(D, DOCKER_ROLLOUT, id, NULL, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_CONFLICT);	/* not running */
	docker_result_release(&w.result);

	/* Start again, kill, and wait sees 137. */
	SYNC_EXPECT(w, docker_container_start(D, DOCKER_ROLLOUT, id, docker_waiter_done, &w, NULL), DOCKER_OK);
	SYNC_EXPECT(w, docker_container_kill(D, DOCKER_ROLLOUT, id, "KILL", docker_waiter_done, &w, NULL), DOCKER_OK);
	SYNC(w, docker_container_wait(D, DOCKER_ROLLOUT, id, "not-running", 10000, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.exit_code, 137);
	docker_result_release(&w.result);
}

static void container_lifecycle(void **state)
{
	struct docker_waiter w;
	struct kv labels[] = { { "auriga.test.run", run_value }, { "auriga.io/deployment", "web" } };
	struct docker_port ports[] = { { 8080, "tcp", "127.0.0.1", 0 } };
	char vol[96], net[96], name[96], renamed[96], id[80];
	struct docker_mount mounts[] = { { vol, "/data", 0, 0 } };
	const char *env[] = { "GREETING=hello", "NODE_TYPE=validator", NULL };
	const char *cmd[] = { "serve", NULL };
	const char *htest[] = { "CMD", "/t", "exit", "0", NULL };
	struct docker_healthcheck hc = { htest, 1000, 1000, 0, 3 };
	const char *f[] = { run_label, "label=auriga.io/deployment=web", NULL };
	struct docker_create_spec spec = { 0 };

	(void)state;
	snprintf(vol, sizeof(vol), "%s-vol", prefix);
	snprintf(net, sizeof(net), "%s-net", prefix);
	snprintf(name, sizeof(name), "%s-web-0", prefix);
	snprintf(renamed, sizeof(renamed), "%s-web-0-old", prefix);
	spec.name = name;
	spec.image = IMAGE;
	spec.cmd = cmd;
	spec.env = env;
	spec.labels = labels;
	spec.n_labels = 2;
	spec.ports = ports;
	spec.n_ports = 1;
	spec.mounts = mounts;
	spec.n_mounts = 1;
	spec.memory_bytes = 64 << 20;
	spec.nano_cpus = 500000000;
	spec.restart_policy = "on-failure";
	spec.restart_max_retries = 2;
	spec.network = net;
	spec.healthcheck = &hc;

	SYNC(w, docker_container_create(D, DOCKER_ROLLOUT, &spec, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(strlen(w.result.id), 64);
	snprintf(id, sizeof(id), "%s", w.result.id);
	docker_result_release(&w.result);

	/* The same name again: a conflict the caller decides on, never retried. */
	SYNC(w, docker_container_create(D, DOCKER_ROLLOUT, &spec, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_CONFLICT);
	assert_int_equal(w.result.http_status, 409);
	assert_int_equal(w.result.attempts, 1);
	assert_non_null(strstr(w.result.message, "already in use"));
	docker_result_release(&w.result);

	check_created(name, id, net, vol);

	SYNC_EXPECT(w, docker_container_start(D, DOCKER_ROLLOUT, id, docker_waiter_done, &w, NULL), DOCKER_OK);
	SYNC(w, docker_container_start(D, DOCKER_ROLLOUT, id, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_MODIFIED);
	assert_true(docker_status_ok(w.result.status));
	docker_result_release(&w.result);

	/* One list call for the pass, filtered by our labels. */
	SYNC(w, docker_container_list(D, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.n_containers, 1);
	assert_string_equal(w.result.containers[0].id, id);
	assert_string_equal(w.result.containers[0].name, name);
	assert_string_equal(w.result.containers[0].state, "running");
	docker_result_release(&w.result);

	check_exec(id);

	SYNC(w, docker_container_logs(D, DOCKER_PROBE, id, 10, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_string_equal(w.result.out.data, "started hello\n");
	assert_string_equal(w.result.err.data, "warming\n");
	docker_result_release(&w.result);

	SYNC_EXPECT(w, docker_container_rename(D, DOCKER_ROLLOUT, id, renamed, docker_waiter_done, &w, NULL), DOCKER_OK);
	SYNC(w, docker_container_inspect(D, DOCKER_OBSERVE, renamed, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_string_equal(w.result.container.name, renamed);
	assert_true(w.result.container.running);
	assert_non_null(w.result.container.ip_address);
	docker_result_release(&w.result);

	check_stop_and_kill(id);

	SYNC_EXPECT(w, docker_container_remove(D, DOCKER_ROLLOUT, id, 1, 1, docker_waiter_done, &w, NULL), DOCKER_OK);
	SYNC(w, docker_container_inspect(D, DOCKER_OBSERVE, id, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_FOUND);
	assert_int_equal(w.result.attempts, 1);
	docker_result_release(&w.result);
	SYNC_EXPECT(w, docker_container_remove(D, DOCKER_ROLLOUT, id, 1, 1, docker_waiter_done, &w, NULL), DOCKER_NOT_FOUND);
}

struct seen {
	int die;
	int start;
	int64_t exit_code;
	int streams;
	char id[80];
};

static void on_event(const struct docker_event *ev, void *arg)
{
	struct seen *s = arg;
	const char *code;

	if (strcmp(ev->type, "container") != 0 || strcmp(ev->id, s->id) != 0)
		return;
	if (strcmp(ev->action, "start") == 0)
		s->start++;
	if (strcmp(ev->action, "die") == 0) {
		s->die++;
		code = kv_get(ev->attributes, ev->n_attributes, "exitCode");
		s->exit_code = code ? strtol(code, NULL, 10) : -1;
		assert_true(ev->time_ns > 1000000000LL * 1600000000LL);
		assert_string_equal(kv_get(ev->attributes, ev->n_attributes, "auriga.test.run"), run_value);
	}
}

static void on_stream(int connected, enum docker_status st, const char *msg, void *arg)
{
	struct seen *s = arg;

	(void)st;
	(void)msg;
	if (connected)
		s->streams++;
}

static void events_see_container_die(void **state)
{
	struct docker_waiter w;
	struct kv labels[] = { { "auriga.test.run", run_value } };
	char name[96];
	struct docker_create_spec spec = { 0 };
	const char *f[] = { run_label, "type=container", NULL };
	struct seen s = { 0 };
	struct docker_watch *watch;
	int64_t until;

	(void)state;
	snprintf(name, sizeof(name), "%s-ev", prefix);
	spec.name = name;
	spec.image = IMAGE;
	spec.labels = labels;
	spec.n_labels = 1;
	SYNC(w, docker_container_create(D, DOCKER_ROLLOUT, &spec, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	snprintf(s.id, sizeof(s.id), "%s", w.result.id);
	docker_result_release(&w.result);

	watch = docker_events_watch(D, f, 0, on_event, on_stream, &s, NULL);
	assert_non_null(watch);
	until = now_ms() + 10000;
	while (s.streams == 0 && now_ms() < until)
		loop_run_once(L, 100);
	assert_int_equal(s.streams, 1);

	SYNC(w, docker_container_start(D, DOCKER_ROLLOUT, s.id, docker_waiter_done, &w, NULL));
	docker_result_release(&w.result);
	SYNC_EXPECT(w, docker_container_kill(D, DOCKER_ROLLOUT, s.id, "KILL", docker_waiter_done, &w, NULL), DOCKER_OK);
	until = now_ms() + 10000;
	while (s.die == 0 && now_ms() < until)
		loop_run_once(L, 100);
	assert_int_equal(s.start, 1);
	assert_int_equal(s.die, 1);
	assert_int_equal(s.exit_code, 137);
	assert_true(docker_watch_last_ns(watch) > 0);
	docker_events_stop(watch);
}

/* A Job's container, by name, as Docker says it is: 1 running, 0 not (yet), -1 not there. */
static int container_running(const char *name)
{
	struct docker_waiter w;
	int running;

	SYNC(w, docker_container_inspect(D, DOCKER_OBSERVE, name, docker_waiter_done, &w, NULL));
	running = w.result.status == DOCKER_NOT_FOUND ? -1 : w.result.container.running;
	docker_result_release(&w.result);
	return running;
}

static void on_job_done(int succeeded, int attempts, const char *message, void *arg)
{
	(void)succeeded;
	(void)attempts;
	(void)message;
	(*(int *)arg)++;
}

/*
 * A runner stopped with a Job in flight, then its Docker client, as a daemon
 * that stops does: the run reports nothing and goes with its call (the leak
 * checker of the sanitizer build sees a run left behind).
 */
static void job_runner_stopped_with_job_in_flight(void **state)
{
	struct kv labels[] = { { (char *)JOB_OF_LABEL, prefix }, { (char *)"auriga.test.run", run_value } };
	struct desired_tmpl tmpl;
	struct docker_waiter w;
	struct job_spec js;
	struct job_runner *jr = job_runner_new(D);
	char name[80];
	int done = 0;
	int64_t until;

	(void)state;
	snprintf(name, sizeof(name), "%s-job", prefix);
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.image = (char *)IMAGE;
	memset(&js, 0, sizeof(js));
	js.name = name;
	js.tmpl = &tmpl;
	js.labels = labels;
	js.n_labels = ARRAY_SIZE(labels);
	js.deadline_ms = 120000;
	assert_non_null(job_start(jr, &js, on_job_done, &done));
	/* The sleeper serves until stopped: once it runs, the run waits for its end. */
	until = now_ms() + 60000;
	while (container_running(name) != 1 && now_ms() < until)
		loop_run_once(L, 200);
	assert_int_equal(container_running(name), 1);
	loop_run_once(L, 200);
	job_runner_free(jr);
	docker_free(D);
	assert_int_equal(done, 0);
	/* A client of its own removes the container the run left behind. */
	D = test_docker_new(L, 0);
	assert_non_null(D);
	SYNC_EXPECT(w, docker_container_remove(D, DOCKER_ROLLOUT, name, 1, 0, docker_waiter_done, &w, NULL), DOCKER_OK);
	assert_int_equal(container_running(name), -1);
	assert_int_equal(done, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(negotiates_version),
		cmocka_unit_test(image_inspect_names_missing_image),
		cmocka_unit_test(observer_hears_every_call),
		cmocka_unit_test(networks_and_volumes),
		cmocka_unit_test(container_lifecycle),
		cmocka_unit_test(events_see_container_die),
		cmocka_unit_test(job_runner_stopped_with_job_in_flight),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
