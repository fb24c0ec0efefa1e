/* Integration: the error matrix against a fake daemon that speaks the Engine API's JSON, with request counts to check retries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker/docker.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "util.h"

#include <curl/curl.h>

static struct loop *L;
static struct http_client *H;
static char dir[64], sock[128], old_sock[128];
static pid_t fake_pid, old_pid;

static pid_t start_fake(const char *path, const char *api)
{
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		/* Debian's python3 (hack/deps.sh), so the pid we signal is the interpreter's. */
		execl("/usr/bin/python3", "python3", "tests/fakes/fake_dockerd.py", path, "--api", api, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		struct stat st;

		if (stat(path, &st) == 0)
			return pid;
		usleep(50000);
	}
	return -1;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/auriga-fake-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(sock, sizeof(sock), "%s/docker.sock", dir);
	snprintf(old_sock, sizeof(old_sock), "%s/old.sock", dir);
	fake_pid = start_fake(sock, "1.41");
	old_pid = start_fake(old_sock, "1.39");
	L = loop_new(NULL);
	H = http_client_new(L, NULL);
	return fake_pid > 0 && old_pid > 0 && L && H ? 0 : -1;
}

static void stop_fake(pid_t pid)
{
	int i;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 50; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static int teardown(void **state)
{
	(void)state;
	stop_fake(fake_pid);
	stop_fake(old_pid);
	http_client_free(H);
	loop_free(L);
	unlink(sock);
	unlink(old_sock);
	rmdir(dir);
	return 0;
}

struct fetched {
	int done;
	json_t *json;
};

static void on_fetched(struct http_response *r, void *arg)
{
	struct fetched *f = arg;

	f->json = r->result == 0 ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
	f->done = 1;
}

/* What the fake saw: GET /_fake/<what>?key=<METHOD path>. */
static json_t *fake_query(const char *what, const char *key)
{
	struct http_request_opts o = { 0 };
	struct fetched f = { 0 };
	char url[512];
	char *esc = curl_easy_escape(NULL, key, 0);

	snprintf(url, sizeof(url), "http://localhost/_fake/%s?key=%s", what, esc);
	curl_free(esc);
	o.url = url;
	o.unix_socket = sock;
	o.timeout_ms = 5000;
	o.max_body = 4096;
	assert_non_null(http_client_start(H, &o, on_fetched, &f, NULL));
	while (!f.done)
		loop_run_once(L, 100);
	assert_non_null(f.json);
	return f.json;
}

static long fake_count(const char *key)
{
	json_t *j = fake_query("count", key);
	long n = (long)json_integer_value(json_object_get(j, "count"));

	json_decref(j);
	return n;
}

static struct docker *client(const char *path, void (*tweak)(struct docker_config *))
{
	struct docker_config cfg;
	char host[160];
	struct error *err = NULL;
	struct docker *d;

	docker_config_default(&cfg);
	snprintf(host, sizeof(host), "unix://%s", path);
	cfg.host = host;
	/* The guide's schedule, scaled down so the matrix runs in seconds; the shape is the same. */
	cfg.retry.initial_ms = 5;
	cfg.retry.max_ms = 40;
	cfg.timeout_ms[DOCKER_OBSERVE] = 1500;
	cfg.timeout_ms[DOCKER_ROLLOUT] = 5000;
	cfg.max_body = 1 << 20;
	if (tweak)
		tweak(&cfg);
	d = docker_new(L, &cfg, &err);
	if (d == NULL)
		fail_msg("%s", error_msg(err));
	return d;
}

#define SYNC(d, w, call_expr)                          \
	do {                                           \
		memset(&(w), 0, sizeof(w));            \
		assert_int_equal((call_expr), 0);      \
		docker_wait((d), &(w));                \
	} while (0)

static void list_then_inspect_gone_is_404(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;
	const char *f[] = { "label=auriga.io/managed-by=fake", NULL };
	char id[80];
	long before;
	json_t *last;

	(void)state;
	SYNC(d, w, docker_container_list(d, DOCKER_OBSERVE, f, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.n_containers, 1);
	assert_string_equal(w.result.containers[0].name, "gone");
	snprintf(id, sizeof(id), "%s", w.result.containers[0].id);
	docker_result_release(&w.result);
	/* The filter went out as Docker's JSON, URL-encoded, on a versioned path. */
	last = fake_query("last", "GET /v1.41/containers/json");
	assert_non_null(strstr(json_string_value(json_object_get(last, "last")),
			       "filters=%7B%22label%22%3A%7B%22auriga.io%2Fmanaged-by%3Dfake%22%3Atrue%7D%7D"));
	json_decref(last);

	before = fake_count("GET /v1.41/containers/gone" "000000000000000000000000000000000000000000000000000000000000/json");
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, id, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_FOUND);
	assert_int_equal(w.result.http_status, 404);
	assert_int_equal(w.result.attempts, 1);
	assert_non_null(strstr(w.result.message, "No such container"));
	assert_int_equal(fake_count("GET /v1.41/containers/gone"
				    "000000000000000000000000000000000000000000000000000000000000/json"), before + 1);
	docker_result_release(&w.result);
	docker_free(d);
}

static void create_name_conflict_is_409(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;
	struct docker_create_spec s = { .name = "taken", .image = "img:1" };

	(void)state;
	SYNC(d, w, docker_container_create(d, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_CONFLICT);
	assert_int_equal(w.result.attempts, 1);
	assert_non_null(strstr(w.result.message, "cannot create container 'taken': 409 Conflict"));
	docker_result_release(&w.result);
	docker_free(d);
}

static void already_started_or_stopped_is_304_success(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_start(d, DOCKER_ROLLOUT, "started", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_MODIFIED);
	assert_true(docker_status_ok(w.result.status));
	assert_int_equal(w.result.attempts, 1);
	docker_result_release(&w.result);
	SYNC(d, w, docker_container_stop(d, DOCKER_ROLLOUT, "started", 1, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_NOT_MODIFIED);
	docker_result_release(&w.result);
	docker_free(d);
}

static void daemon_below_minimum_is_refused(void **state)
{
	struct docker *d = client(old_sock, NULL);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_list(d, DOCKER_OBSERVE, NULL, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_BAD_REQUEST);
	assert_non_null(strstr(w.result.message, "speaks API 1.39 at most; auriga needs 1.40 or newer"));
	assert_null(docker_api_version(d));
	docker_result_release(&w.result);
	docker_free(d);
}

static void server_errors_retried_only_when_idempotent(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;
	struct docker_create_spec s = { .name = "boom", .image = "img:1" };
	long before;

	(void)state;
	before = fake_count("POST /v1.41/containers/boom/stop");
	SYNC(d, w, docker_container_stop(d, DOCKER_ROLLOUT, "boom", 1, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_SERVER_ERROR);
	assert_int_equal(w.result.attempts, 5);
	assert_int_equal(fake_count("POST /v1.41/containers/boom/stop"), before + 5);
	assert_non_null(strstr(w.result.message, "500 Cannot stop container boom"));
	docker_result_release(&w.result);

	before = fake_count("POST /v1.41/containers/create");
	SYNC(d, w, docker_container_create(d, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_SERVER_ERROR);
	assert_int_equal(w.result.attempts, 1);
	assert_int_equal(fake_count("POST /v1.41/containers/create"), before + 1);
	docker_result_release(&w.result);

	/* 503 twice, then an answer: an idempotent read recovers on the third attempt. */
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "flaky", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	assert_int_equal(w.result.attempts, 3);
	assert_true(w.result.container.running);
	docker_result_release(&w.result);
	docker_free(d);
}

static void bad_request_is_not_retried(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_kill(d, DOCKER_ROLLOUT, "badreq", "SIGFOO", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_BAD_REQUEST);
	assert_int_equal(w.result.attempts, 1);
	assert_int_equal(fake_count("POST /v1.41/containers/badreq/kill"), 1);
	docker_result_release(&w.result);
	docker_free(d);
}

static void hung_socket_times_out(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "hang", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_TIMEOUT);
	/* The whole deadline went to the first attempt: no time was left to retry. */
	assert_int_equal(w.result.attempts, 1);
	docker_result_release(&w.result);
	docker_free(d);
}

static void truncated_body_is_transport_and_retried(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "trunc", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_TRANSPORT);
	assert_int_equal(w.result.attempts, 5);
	assert_int_equal(fake_count("GET /v1.41/containers/trunc/json"), 5);
	docker_result_release(&w.result);
	docker_free(d);
}

static void long_deadline(struct docker_config *c)
{
	/* Time enough for the fake to produce 20 MiB on a busy machine: the bound must be what ends it. */
	c->timeout_ms[DOCKER_OBSERVE] = 20000;
}

static void huge_body_is_toobig(void **state)
{
	struct docker *d = client(sock, long_deadline);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "huge", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_TOOBIG);
	assert_int_equal(w.result.attempts, 1);
	assert_non_null(strstr(w.result.message, "larger than 1048576 bytes"));
	docker_result_release(&w.result);
	docker_free(d);
}

static void malformed_json_is_protocol(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;

	(void)state;
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "badjson", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_PROTOCOL);
	assert_int_equal(w.result.attempts, 1);
	assert_non_null(strstr(w.result.message, "malformed JSON"));
	docker_result_release(&w.result);
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "wrongtype", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_PROTOCOL);
	assert_non_null(strstr(w.result.message, "'Id' in the answer is not a string"));
	docker_result_release(&w.result);
	docker_free(d);
}

static void connection_closed_before_answer(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;
	struct docker_create_spec s = { .name = "closed", .image = "img:1" };
	long before = fake_count("POST /v1.41/containers/create");

	(void)state;
	SYNC(d, w, docker_container_create(d, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_TRANSPORT);
	/* The daemon may have created it: create is not sent again; the caller relists. */
	assert_int_equal(w.result.attempts, 1);
	assert_int_equal(fake_count("POST /v1.41/containers/create"), before + 1);
	docker_result_release(&w.result);
	docker_free(d);
}

struct evs {
	char seen[16];
	int n;
	int connects, breaks;
};

static void on_ev(const struct docker_event *ev, void *arg)
{
	struct evs *e = arg;
	const char *n = kv_get(ev->attributes, ev->n_attributes, "n");

	if (e->n + 1 < (int)sizeof(e->seen) && n)
		e->seen[e->n++] = n[0];
}

static void on_stream_change(int connected, enum docker_status st, const char *msg, void *arg)
{
	struct evs *e = arg;

	(void)msg;
	if (connected) {
		e->connects++;
	} else {
		e->breaks++;
		assert_int_equal(st, DOCKER_TRANSPORT);
	}
}

static void events_resume_with_since_after_a_break(void **state)
{
	struct docker *d = client(sock, NULL);
	const char *f[] = { "label=auriga.io/managed-by=fake", NULL };
	struct evs e = { 0 };
	struct docker_watch *w;
	json_t *last;
	int64_t until = now_ms() + 10000;

	(void)state;
	w = docker_events_watch(d, f, 0, on_ev, on_stream_change, &e, NULL);
	assert_non_null(w);
	while (e.n < 4 && now_ms() < until)
		loop_run_once(L, 100);
	/* 1 and 2, a break inside 3, then (resumed) 2 again, 3, junk and 4: each delivered once. */
	assert_string_equal(e.seen, "1234");
	assert_int_equal(e.connects, 2);
	assert_int_equal(e.breaks, 1);
	assert_int_equal(docker_watch_connects(w), 2);
	last = fake_query("last", "GET /v1.41/events");
	assert_non_null(strstr(json_string_value(json_object_get(last, "last")), "since=1700000000.000002000"));
	assert_non_null(strstr(json_string_value(json_object_get(last, "last")), "filters="));
	json_decref(last);
	docker_events_stop(w);
	docker_free(d);
}

static void short_open(struct docker_config *c)
{
	c->breaker.open_ms = 300;
}

static void breaker_opens_and_recovers(void **state)
{
	struct docker *d = client(sock, short_open);
	struct docker_waiter w;
	long before;
	int i;

	(void)state;
	assert_int_equal(docker_breaker_state(d), BREAKER_CLOSED);
	/*
	 * Negotiation made 2 good requests; every stop makes up to 5 failed
	 * ones. At 20 requests with 18 failed the circuit opens, and the retry
	 * that would have been the 21st is refused without reaching the daemon.
	 */
	before = fake_count("POST /v1.41/containers/boom/stop");
	for (i = 0; i < 10; i++) {
		SYNC(d, w, docker_container_stop(d, DOCKER_ROLLOUT, "boom", 1, docker_waiter_done, &w, NULL));
		if (w.result.status == DOCKER_CIRCUIT_OPEN)
			break;
		assert_int_equal(w.result.status, DOCKER_SERVER_ERROR);
		docker_result_release(&w.result);
	}
	assert_int_equal(w.result.status, DOCKER_CIRCUIT_OPEN);
	assert_int_equal(w.result.attempts, 3);
	docker_result_release(&w.result);
	assert_int_equal(fake_count("POST /v1.41/containers/boom/stop"), before + 18);
	assert_int_equal(docker_breaker_state(d), BREAKER_OPEN);
	before = fake_count("GET /v1.41/containers/fine/json");
	SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "fine", docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_CIRCUIT_OPEN);
	assert_int_equal(w.result.attempts, 0);
	assert_non_null(strstr(w.result.message, "circuit"));
	assert_int_equal(fake_count("GET /v1.41/containers/fine/json"), before);	/* never sent */
	docker_result_release(&w.result);
	usleep(350000);
	assert_int_equal(docker_breaker_state(d), BREAKER_HALF_OPEN);
	for (i = 0; i < 2; i++) {
		SYNC(d, w, docker_container_inspect(d, DOCKER_OBSERVE, "fine", docker_waiter_done, &w, NULL));
		assert_int_equal(w.result.status, DOCKER_OK);
		docker_result_release(&w.result);
	}
	assert_int_equal(docker_breaker_state(d), BREAKER_CLOSED);
	docker_free(d);
}

static void two_probes_reject(struct docker_config *c)
{
	c->bulkhead_limit[DOCKER_PROBE] = 2;
	c->bulkhead_mode = DOCKER_BULKHEAD_REJECT;
	c->timeout_ms[DOCKER_PROBE] = 1500;
}

struct order {
	char seq[8];
	int n;
};

struct tagged {
	struct order *o;
	char tag;
	enum docker_status st;
};

static void on_tagged(struct docker_result *r, void *arg)
{
	struct tagged *t = arg;

	t->st = r->status;
	t->o->seq[t->o->n++] = t->tag;
}

static void bulkheads_keep_probes_from_starving_rollout(void **state)
{
	struct docker *d = client(sock, two_probes_reject);
	struct order o = { 0 };
	struct tagged p1 = { &o, 'p', 0 }, p2 = { &o, 'q', 0 }, p3 = { &o, 'x', 0 }, r1 = { &o, 'r', 0 };
	unsigned active, queued;
	int64_t until = now_ms() + 10000;

	(void)state;
	assert_int_equal(docker_container_inspect(d, DOCKER_PROBE, "hang", on_tagged, &p1, NULL), 0);
	assert_int_equal(docker_container_inspect(d, DOCKER_PROBE, "hang", on_tagged, &p2, NULL), 0);
	assert_int_equal(docker_container_inspect(d, DOCKER_PROBE, "hang", on_tagged, &p3, NULL), 0);
	assert_int_equal(docker_container_start(d, DOCKER_ROLLOUT, "web", on_tagged, &r1, NULL), 0);
	docker_bulkhead_usage(d, DOCKER_PROBE, &active, &queued);
	assert_int_equal(active, 2);
	while (o.n < 4 && now_ms() < until)
		loop_run_once(L, 100);
	/* The third probe is refused at once, the rollout call finishes while two probes hang. */
	assert_int_equal(o.n, 4);
	assert_int_equal(o.seq[0], 'x');
	assert_int_equal(p3.st, DOCKER_BULKHEAD_FULL);
	assert_int_equal(o.seq[1], 'r');
	assert_int_equal(r1.st, DOCKER_OK);
	assert_int_equal(p1.st, DOCKER_TIMEOUT);
	assert_int_equal(p2.st, DOCKER_TIMEOUT);
	docker_bulkhead_usage(d, DOCKER_PROBE, &active, &queued);
	assert_int_equal(active, 0);
	docker_free(d);
}

static void on_dropped(void *arg)
{
	((struct tagged *)arg)->tag = 'd';
}

static void freeing_with_calls_in_flight_runs_no_callback(void **state)
{
	struct docker *d = client(sock, NULL);
	struct order o = { 0 };
	struct tagged t = { &o, 'h', 0 }, t2 = { &o, 'x', 0 };
	const char *argv[] = { "/t", NULL };
	int i;

	(void)state;
	assert_int_equal(docker_container_inspect(d, DOCKER_OBSERVE, "hang", on_tagged, &t, NULL), 0);
	assert_int_equal(docker_exec_run(d, DOCKER_PROBE, "hang", argv, on_tagged, &t2, NULL), 0);
	/* What waited for the run (an exec probe's attempt) is told it is dropped, and only that. */
	docker_set_drop(d, &t2, on_dropped);
	for (i = 0; i < 5; i++)
		loop_run_once(L, 20);
	docker_free(d);
	for (i = 0; i < 5; i++)
		loop_run_once(L, 20);
	assert_int_equal(o.n, 0);
	assert_int_equal(t2.tag, 'd');
	assert_int_equal(t.tag, 'h');
}

/* The fence: lets through the first `allow` questions, then refuses, saying why. */
struct fence {
	int allow, asked;
};

static int fence_fn(void *arg, char *token, size_t token_len, char *why, size_t why_len)
{
	struct fence *f = arg;

	snprintf(token, token_len, "7");
	snprintf(why, why_len, "not the leader");
	return f->asked++ < f->allow ? 0 : 1;
}

/*
 * A fenced client sends no request that may change the host, neither when
 * the fence refuses as the call starts nor when it refuses at the last
 * moment, connected (a controller paused between the two); reads go on.
 */
static void fenced_calls_never_leave(void **state)
{
	struct docker *d = client(sock, NULL);
	struct docker_waiter w;
	struct docker_create_spec s = { .name = "fenced", .image = "img:1" };
	struct fence f = { 0, 0 };
	long before = fake_count("POST /v1.41/containers/create");

	(void)state;
	docker_set_fence(d, fence_fn, &f, "auriga.io/fence");
	SYNC(d, w, docker_container_create(d, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_FENCED);
	assert_int_equal(w.result.attempts, 0);
	assert_string_equal(w.result.message, "cannot create container 'fenced': not the leader");
	docker_result_release(&w.result);
	/* Allowed for the label and as the call starts; refused once connected. */
	f.allow = 2;
	f.asked = 0;
	SYNC(d, w, docker_container_create(d, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL));
	assert_int_equal(f.asked, 3);
	assert_int_equal(w.result.status, DOCKER_FENCED);
	docker_result_release(&w.result);
	assert_int_equal(fake_count("POST /v1.41/containers/create"), before);
	/* Allowed throughout: it goes out. */
	f.allow = 100;
	SYNC(d, w, docker_container_create(d, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	docker_result_release(&w.result);
	assert_int_equal(fake_count("POST /v1.41/containers/create"), before + 1);
	/* Reads are never fenced. */
	f.allow = 0;
	SYNC(d, w, docker_container_list(d, DOCKER_OBSERVE, NULL, docker_waiter_done, &w, NULL));
	assert_int_equal(w.result.status, DOCKER_OK);
	docker_result_release(&w.result);
	docker_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_then_inspect_gone_is_404),
		cmocka_unit_test(create_name_conflict_is_409),
		cmocka_unit_test(already_started_or_stopped_is_304_success),
		cmocka_unit_test(daemon_below_minimum_is_refused),
		cmocka_unit_test(server_errors_retried_only_when_idempotent),
		cmocka_unit_test(bad_request_is_not_retried),
		cmocka_unit_test(hung_socket_times_out),
		cmocka_unit_test(truncated_body_is_transport_and_retried),
		cmocka_unit_test(huge_body_is_toobig),
		cmocka_unit_test(malformed_json_is_protocol),
		cmocka_unit_test(connection_closed_before_answer),
		cmocka_unit_test(events_resume_with_since_after_a_break),
		cmocka_unit_test(breaker_opens_and_recovers),
		cmocka_unit_test(bulkheads_keep_probes_from_starving_rollout),
		cmocka_unit_test(freeing_with_calls_in_flight_runs_no_callback),
		cmocka_unit_test(fenced_calls_never_leave),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
