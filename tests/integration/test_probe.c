/*
 * Integration tests for the probe runner against real demo-node containers: http, tcp and exec
 * probes each shown to follow what the container does (ready, not ready, liveness failure).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "docker/docker.h"
#include "error.h"
#include "probe/probe.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "spec.h"
#include "testloop.h"
#include "testsh.h"
#include "util.h"

#define IMAGE_REPO "auriga-demo-node"
#define NODE_PORT 9003

static struct loop *L;
static struct http_client *H;
static struct docker *D;
static char label[96];		/* auriga.test.run=test_probe-<pid>: every object the test makes */
static char net[96];		/* a network of the test's own, for traffic to container addresses */

/* ------------------------------------------------------------ docker CLI helpers */

static void cleanup(void)
{
	if (label[0] == '\0')
		return;
	test_sh(NULL, 0, "ids=$(docker ps -aq --filter label=%s); [ -z \"$ids\" ] || docker rm -fv $ids >/dev/null 2>&1",
	   label);
	test_sh(NULL, 0, "ids=$(docker network ls -q --filter label=%s); [ -z \"$ids\" ] || docker network rm $ids "
		    ">/dev/null 2>&1", label);
}

struct ctr {
	char id[80];
	int port;		/* published on 127.0.0.1 */
	char ip[64];		/* on the test's network */
	int64_t run_ms;		/* loop time just before docker run */
};

/* Starts a demo node (tag, extra docker run arguments) on the test network with 9003 published on 127.0.0.1. */
static void ctr_run(struct ctr *c, const char *tag, const char *args)
{
	char out[128];

	memset(c, 0, sizeof(*c));
	loop_run_once(L, 0);
	c->run_ms = loop_now(L);
	assert_int_equal(test_sh(c->id, sizeof(c->id), "docker run -d --label %s --network %s -p 127.0.0.1::%d %s %s:%s",
			    label, net, NODE_PORT, args, IMAGE_REPO, tag), 0);
	assert_true(strlen(c->id) >= 12);
	assert_int_equal(test_sh(out, sizeof(out), "docker port %s %d/tcp | sed -n 's/^127\\.0\\.0\\.1://p'", c->id,
			    NODE_PORT), 0);
	assert_int_equal(parse_long(out, 1, 65535, (long[]){ 0 }), 0);
	c->port = (int)strtol(out, NULL, 10);
	assert_int_equal(test_sh(c->ip, sizeof(c->ip), "docker inspect -f '{{(index .NetworkSettings.Networks \"%s\").IPAddress}}' %s",
			    net, c->id), 0);
	assert_true(strlen(c->ip) >= 7);
}

/* ------------------------------------------------------------------ specs */

static char *path_ready = "/q/health/ready";
static char *path_live = "/q/health/live";
static char *path_startup = "/q/health/startup";
static char *port_name = "http";
static char *cmd_ready[] = { "/demo-node", "probe", "/q/health/ready" };
static char *cmd_live[] = { "/demo-node", "probe", "/q/health/live" };
static struct spec_port tmpl_ports[] = { { .name = "http", .container_port = NODE_PORT } };
static const struct spec_container tmpl = { .ports = tmpl_ports, .n_ports = 1 };

static struct spec_probe timing(struct spec_probe p, int period, int timeout, int success, int failure)
{
	p.period_seconds = period;
	p.timeout_seconds = timeout;
	p.success_threshold = success;
	p.failure_threshold = failure;
	return p;
}

/* httpGet on the named port "http". */
static struct spec_probe http(char *path, int period, int timeout, int success, int failure)
{
	struct spec_probe p = { .kind = SPEC_PROBE_HTTP, .http_path = path, .port = { .name = port_name } };

	return timing(p, period, timeout, success, failure);
}

static struct spec_probe tcp(int port, int period, int timeout, int success, int failure)
{
	struct spec_probe p = { .kind = SPEC_PROBE_TCP, .port = { .number = port } };

	return timing(p, period, timeout, success, failure);
}

static struct spec_probe exec_probe(char **cmd, int period, int timeout, int success, int failure)
{
	struct spec_probe p = { .kind = SPEC_PROBE_EXEC, .exec_command = cmd, .n_exec_command = 3 };

	return timing(p, period, timeout, success, failure);
}

/* --------------------------------------------------------------- watching */

static void done(struct probe_runner *r);

struct change {
	int64_t at;
	unsigned changed;
	struct probe_state st;
};

struct watch {
	struct change ev[64];
	size_t n;
	int free_in_callback;	/* frees the runner from inside the callback on the first change */
	struct probe_runner **self;
	unsigned results[PROBE_TYPE_COUNT][PROBE_ERROR + 1];	/* what the result callback was told */
};

static void on_result(struct probe_runner *r, enum probe_type t, enum probe_result res, void *arg)
{
	struct watch *w = arg;

	(void)r;
	w->results[t][res]++;
}

static unsigned results_of(const struct watch *w, enum probe_type t)
{
	unsigned n = 0;

	for (int i = 0; i <= PROBE_ERROR; i++)
		n += w->results[t][i];
	return n;
}

static void on_change(struct probe_runner *r, const struct probe_state *st, unsigned changed, void *arg)
{
	struct watch *w = arg;

	if (w->n < sizeof(w->ev) / sizeof(w->ev[0])) {
		w->ev[w->n].at = loop_now(L);
		w->ev[w->n].changed = changed;
		w->ev[w->n].st = *st;
		w->n++;
	}
	if (w->free_in_callback) {
		done(r);
		*w->self = NULL;
	}
}

/* The first recorded change with bit set and the flag then equal to value; NULL when none. */
static const struct change *find(const struct watch *w, unsigned bit, int value)
{
	for (size_t i = 0; i < w->n; i++) {
		const struct probe_state *s = &w->ev[i].st;
		int v = bit == PROBE_CHANGED_STARTED ? s->started
			: bit == PROBE_CHANGED_READY ? s->ready
			: bit == PROBE_CHANGED_LIVE_FAILED ? s->live_failed : s->startup_failed;

		if ((w->ev[i].changed & bit) && v == value)
			return &w->ev[i];
	}
	return NULL;
}

/* Every runner a test makes, so that a failed assertion (cmocka jumps out of the test) leaves none behind. */
static struct probe_runner *made[256];

static void track(struct probe_runner *r)
{
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		if (made[i] == NULL) {
			made[i] = r;
			return;
		}
	}
	fail_msg("more than %zu runners", sizeof(made) / sizeof(made[0]));
}

/* Frees a runner the test made (NULL: one that freed itself, already untracked). */
static void done(struct probe_runner *r)
{
	for (size_t i = 0; r != NULL && i < sizeof(made) / sizeof(made[0]); i++)
		if (made[i] == r)
			made[i] = NULL;
	probe_runner_free(r);
}

static int test_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++) {
		probe_runner_free(made[i]);
		made[i] = NULL;
	}
	return 0;
}

enum target_mode { VIA_PUBLISHED, VIA_ADDRESS };

static struct probe_runner *runner(const struct ctr *c, const struct spec_probes *p, enum target_mode mode,
				   struct watch *w)
{
	struct probe_port pm = { .container_port = NODE_PORT, .target = { "127.0.0.1", c->port } };
	struct probe_config cfg = {
		.loop = L,
		.http = H,
		.docker = D,
		.container_id = c->id,
		.container = &tmpl,
		.probes = p,
		.ports = mode == VIA_PUBLISHED ? &pm : NULL,
		.n_ports = mode == VIA_PUBLISHED ? 1 : 0,
		.address = mode == VIA_ADDRESS ? c->ip : NULL,
		.started_at_ms = c->run_ms,
		.on_change = on_change,
		.on_result = on_result,
		.arg = w,
	};
	struct error *err = NULL;
	struct probe_runner *r = probe_runner_new(&cfg, &err);

	if (r == NULL)
		fail_msg("probe_runner_new: %s", error_msg(err));
	track(r);
	return r;
}

/* Runs the loop until pred(r) or timeout_ms pass; returns pred's last value. */
static int run_until(struct probe_runner *r, int (*pred)(const struct probe_state *), int64_t timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;

	while (!pred(probe_runner_state(r)) && now_ms() < end)
		loop_run_once(L, 100);
	return pred(probe_runner_state(r));
}

static void run_for(int64_t ms)
{
	int64_t end = now_ms() + ms;

	while (now_ms() < end)
		loop_run_once(L, end - now_ms());
}

static int is_ready(const struct probe_state *s) { return s->ready; }
static int is_not_ready(const struct probe_state *s) { return !s->ready; }
static int is_live_failed(const struct probe_state *s) { return s->live_failed; }
static int live_ok(const struct probe_state *s) { return s->consecutive_ok[PROBE_LIVENESS] >= 1; }
static int three_readiness(const struct probe_state *s) { return s->attempts[PROBE_READINESS] >= 3; }

static void expect_contains(const char *s, const char *part)
{
	if (strstr(s, part) == NULL)
		fail_msg("'%s' does not contain '%s'", s, part);
}

/* ================================================================== http */

/*
 * A node that starts slowly: startup fails until DEMO_START_DELAY_MS has
 * passed, holding the other two back; then it is started, then ready.
 */
static void http_startup_gates_readiness(void **state)
{
	struct spec_probes p = { .startup = http(path_startup, 1, 1, 1, 30),
				 .readiness = http(path_ready, 1, 1, 1, 3),
				 .liveness = http(path_live, 1, 1, 1, 3) };
	struct watch w = { .n = 0 };
	const struct change *started, *ready;
	struct probe_runner *r;
	struct ctr c;

	(void)state;
	ctr_run(&c, "slow-start", "-e DEMO_START_DELAY_MS=3000");
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	assert_int_equal(probe_runner_state(r)->started, 0);
	assert_int_equal(probe_runner_state(r)->ready, 0);
	assert_true(run_until(r, is_ready, 20000));

	started = find(&w, PROBE_CHANGED_STARTED, 1);
	ready = find(&w, PROBE_CHANGED_READY, 1);
	assert_non_null(started);
	assert_non_null(ready);
	/* The node said DOWN first: startup failed before it passed, and nothing else ran meanwhile. */
	assert_true(started->st.attempts[PROBE_STARTUP] >= 2);
	assert_int_equal(started->st.attempts[PROBE_READINESS], 0);
	assert_int_equal(started->st.attempts[PROBE_LIVENESS], 0);
	assert_true(started->at - c.run_ms >= 2500);
	assert_true(ready->at >= started->at);
	assert_int_equal(probe_runner_state(r)->live_failed, 0);
	assert_int_equal(probe_runner_state(r)->startup_failed, 0);
	expect_contains(probe_runner_state(r)->last_failure, "startup: GET http://127.0.0.1:");
	expect_contains(probe_runner_state(r)->last_failure, "/q/health/startup: 503");
	done(r);
}

/* A node whose readiness never turns UP is never ready, with the node's own answer as the reason. */
static void http_never_ready(void **state)
{
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 1), .liveness = http(path_live, 1, 1, 1, 1) };
	struct watch w = { .n = 0 };
	struct probe_runner *r;
	struct ctr c;

	(void)state;
	ctr_run(&c, "never-ready", "");
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	assert_true(run_until(r, three_readiness, 15000));
	assert_int_equal(probe_runner_state(r)->started, 1);
	assert_int_equal(probe_runner_state(r)->ready, 0);
	assert_int_equal(probe_runner_state(r)->live_failed, 0);
	assert_null(find(&w, PROBE_CHANGED_READY, 1));
	expect_contains(probe_runner_state(r)->last_failure, "readiness: GET http://127.0.0.1:");
	expect_contains(probe_runner_state(r)->last_failure, ": 503");
	done(r);
}

/* Liveness passes while the node says UP and fails once DEMO_LIVE_FAIL_AFTER_S has run out; then it stops. */
static void http_liveness_failure(void **state)
{
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 3), .liveness = http(path_live, 1, 1, 1, 2) };
	struct watch w = { .n = 0 };
	const struct change *failed;
	struct probe_runner *r;
	unsigned attempts;
	struct ctr c;

	(void)state;
	ctr_run(&c, "v1", "-e DEMO_LIVE_FAIL_AFTER_S=4");
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	assert_true(run_until(r, is_ready, 10000));
	assert_int_equal(probe_runner_state(r)->live_failed, 0);
	assert_true(run_until(r, is_live_failed, 15000));
	failed = find(&w, PROBE_CHANGED_LIVE_FAILED, 1);
	assert_non_null(failed);
	assert_true(failed->at - c.run_ms >= 4000);
	assert_true(failed->st.attempts[PROBE_LIVENESS] >= 3);
	expect_contains(failed->st.last_failure, "liveness: GET http://127.0.0.1:");
	expect_contains(failed->st.last_failure, "/q/health/live: 503");
	/* A failed liveness probe stops running (the engine restarts the container). */
	attempts = probe_runner_state(r)->attempts[PROBE_LIVENESS];
	run_for(2500);
	assert_int_equal(probe_runner_state(r)->attempts[PROBE_LIVENESS], attempts);
	/* After a restart in place, every probe starts over. */
	probe_runner_restart(r, 0);
	assert_int_equal(probe_runner_state(r)->live_failed, 0);
	assert_int_equal(probe_runner_state(r)->ready, 0);
	done(r);
}

/* A draining node (SIGTERM, DEMO_DRAIN_MS) turns readiness DOWN: ready, then not ready. */
static void http_ready_then_not_ready(void **state)
{
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 2) };
	struct watch w = { .n = 0 };
	const struct change *down;
	struct probe_runner *r;
	int64_t term_at;
	struct ctr c;

	(void)state;
	ctr_run(&c, "v1", "-e DEMO_DRAIN_MS=30000");
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	assert_true(run_until(r, is_ready, 10000));
	loop_run_once(L, 0);
	term_at = loop_now(L);
	assert_int_equal(test_sh(NULL, 0, "docker kill -s TERM %s >/dev/null", c.id), 0);
	assert_true(run_until(r, is_not_ready, 10000));
	down = find(&w, PROBE_CHANGED_READY, 0);
	assert_non_null(down);
	assert_true(down->at >= term_at);
	assert_true(down->st.consecutive_fail[PROBE_READINESS] >= 2);
	expect_contains(down->st.last_failure, "/q/health/ready: 503");
	assert_int_equal(probe_runner_state(r)->ready_since_ms, -1);
	done(r);
}

/* A paused container does not answer: the attempts time out, which counts as failure; unpaused, it is ready again. */
static void http_timeout_is_failure(void **state)
{
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 2) };
	struct watch w = { .n = 0 };
	struct probe_runner *r;
	struct ctr c;

	(void)state;
	ctr_run(&c, "v1", "");
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	assert_true(run_until(r, is_ready, 10000));
	assert_int_equal(test_sh(NULL, 0, "docker pause %s >/dev/null", c.id), 0);
	assert_true(run_until(r, is_not_ready, 10000));
	expect_contains(probe_runner_state(r)->last_failure, "timed out after 1000 ms");
	assert_int_equal(test_sh(NULL, 0, "docker unpause %s >/dev/null", c.id), 0);
	assert_true(run_until(r, is_ready, 10000));
	/* The result callback heard every attempt, the timeouts as timeouts. */
	assert_true(w.results[PROBE_READINESS][PROBE_TIMEOUT] >= 2);
	assert_true(w.results[PROBE_READINESS][PROBE_SUCCESS] >= 2);
	assert_int_equal(results_of(&w, PROBE_READINESS), probe_runner_state(r)->attempts[PROBE_READINESS]);
	assert_int_equal(results_of(&w, PROBE_LIVENESS), 0);
	done(r);
}

/* =================================================================== tcp */

/* To the container's address on the test's network: a listening node is ready, one listening elsewhere is not. */
static void tcp_ready_and_not_ready(void **state)
{
	struct spec_probes p = { .readiness = tcp(NODE_PORT, 1, 1, 1, 1) };
	struct watch w1 = { .n = 0 }, w2 = { .n = 0 };
	struct probe_runner *r1, *r2;
	struct ctr good, wrong;

	(void)state;
	ctr_run(&good, "v1", "");
	ctr_run(&wrong, "v1", "-e DEMO_PORT=9004");
	r1 = runner(&good, &p, VIA_ADDRESS, &w1);
	r2 = runner(&wrong, &p, VIA_ADDRESS, &w2);
	assert_true(run_until(r1, is_ready, 10000));
	assert_true(run_until(r2, three_readiness, 10000));
	assert_int_equal(probe_runner_state(r2)->ready, 0);
	assert_true(probe_runner_state(r1)->ready);
	expect_contains(probe_runner_state(r1)->last_message, "readiness: tcp ");
	expect_contains(probe_runner_state(r1)->last_message, ":9003: connected");
	expect_contains(probe_runner_state(r2)->last_failure, "Connection refused");
	done(r1);
	done(r2);
}

/* A node that crashes (DEMO_CRASH_AFTER_S) stops accepting: tcp liveness fails. */
static void tcp_liveness_failure(void **state)
{
	struct spec_probes p = { .liveness = tcp(NODE_PORT, 1, 1, 1, 2) };
	struct watch w = { .n = 0 };
	const struct change *failed;
	struct probe_runner *r;
	struct ctr c;

	(void)state;
	ctr_run(&c, "v1", "-e DEMO_CRASH_AFTER_S=3");
	r = runner(&c, &p, VIA_ADDRESS, &w);
	run_for(1500);
	assert_int_equal(probe_runner_state(r)->live_failed, 0);
	assert_true(probe_runner_state(r)->consecutive_ok[PROBE_LIVENESS] >= 1);
	assert_true(run_until(r, is_live_failed, 15000));
	failed = find(&w, PROBE_CHANGED_LIVE_FAILED, 1);
	assert_non_null(failed);
	assert_true(failed->at - c.run_ms >= 3000);
	expect_contains(failed->st.last_failure, "liveness: tcp ");
	done(r);
}

/* ================================================================== exec */

static void exec_ready_and_never_ready(void **state)
{
	/* Docker's exec (create, start, inspect) is slow on a loaded host: timeouts of 5 s, as the guide's. */
	struct spec_probes p = { .readiness = exec_probe(cmd_ready, 1, 5, 1, 1) };
	const struct change *up;
	struct watch w1 = { .n = 0 }, w2 = { .n = 0 };
	struct probe_runner *r1, *r2;
	struct ctr good, never;

	(void)state;
	ctr_run(&good, "v1", "");
	ctr_run(&never, "never-ready", "");
	r1 = runner(&good, &p, VIA_PUBLISHED, &w1);
	r2 = runner(&never, &p, VIA_PUBLISHED, &w2);
	assert_true(run_until(r1, is_ready, 20000));
	assert_true(run_until(r2, three_readiness, 30000));
	assert_int_equal(probe_runner_state(r2)->ready, 0);
	up = find(&w1, PROBE_CHANGED_READY, 1);
	assert_non_null(up);
	expect_contains(up->st.last_message, "readiness: exec /demo-node probe /q/health/ready: exit 0");
	expect_contains(probe_runner_state(r2)->last_failure, "readiness: exec /demo-node probe /q/health/ready: exit ");
	done(r1);
	done(r2);
	/* Let exec calls still inside Docker come back and free themselves. */
	run_for(2500);
}

static void exec_liveness_failure(void **state)
{
	struct spec_probes p = { .liveness = exec_probe(cmd_live, 1, 5, 1, 2) };
	struct watch w = { .n = 0 };
	const struct change *failed;
	struct probe_runner *r;
	struct ctr c;

	(void)state;
	ctr_run(&c, "v1", "-e DEMO_LIVE_FAIL_AFTER_S=3");
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	/* It passes while the node says UP... */
	assert_true(run_until(r, live_ok, 10000));
	assert_int_equal(probe_runner_state(r)->live_failed, 0);
	/* ...and fails once DEMO_LIVE_FAIL_AFTER_S has run out. */
	assert_true(run_until(r, is_live_failed, 30000));
	failed = find(&w, PROBE_CHANGED_LIVE_FAILED, 1);
	assert_non_null(failed);
	assert_true(failed->at - c.run_ms >= 3000);
	expect_contains(failed->st.last_failure, "liveness: exec /demo-node probe /q/health/live: exit ");
	done(r);
	run_for(2500);
}

/* ============================================================ the runner */

/* Freed from inside its callback, or while attempts run: no callback afterwards, nothing left behind. */
static void runner_free_cancels(void **state)
{
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 1), .liveness = exec_probe(cmd_live, 1, 2, 1, 3) };
	struct watch w = { .n = 0 }, w2 = { .n = 0 };
	struct probe_runner *r, *r2;
	unsigned timers;
	struct ctr c;

	(void)state;
	ctr_run(&c, "v1", "");
	timers = loop_timer_count(L);
	r = runner(&c, &p, VIA_PUBLISHED, &w);
	w.free_in_callback = 1;
	w.self = &r;
	r2 = runner(&c, &p, VIA_PUBLISHED, &w2);
	/* Both runners start attempts; the first frees itself on its first change (ready). */
	run_for(3000);
	assert_null(r);
	assert_int_equal(w.n, 1);
	assert_true(probe_runner_state(r2)->ready);
	/* r2 freed while an attempt may be running: no further callback. */
	loop_run_once(L, 0);
	done(r2);
	w2.n = 0;
	run_for(3000);
	assert_int_equal(w2.n, 0);
	assert_int_equal(http_client_active(H), 0);
	/* Nothing of theirs is left on the loop once Docker has answered the exec calls in flight. */
	for (int64_t end = now_ms() + 15000; loop_timer_count(L) > timers + 1 && now_ms() < end;)
		loop_run_once(L, 100);
	assert_int_equal(w2.n, 0);
	assert_true(loop_timer_count(L) <= timers + 1);
}

/* A ticker on the loop: how late it ever ran shows whether anything blocked the loop. */
struct ticker {
	int64_t due;
	int64_t worst_late;
	unsigned ticks;
	int stop;
};

static void tick(struct loop *l, void *arg)
{
	struct ticker *t = arg;
	int64_t late = now_ms() - t->due;

	if (late > t->worst_late)
		t->worst_late = late;
	t->ticks++;
	if (t->stop)
		return;
	t->due = now_ms() + 20;
	loop_timer_add(l, 20, tick, t);
}

/*
 * Many runners at once on one loop (200: 50 per container over 4 containers, each with an
 * http readiness and a tcp liveness probe every second): all become ready, and the loop is
 * never held up by them.
 */
static void many_runners_share_the_loop(void **state)
{
	enum { NC = 4, PER = 50, N = NC * PER };
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 3), .liveness = tcp(NODE_PORT, 1, 1, 1, 3) };
	static struct watch w[N];
	struct probe_runner *r[N];
	struct ticker t = { .worst_late = 0 };
	unsigned ready = 0, attempts = 0, peak = 0;
	struct ctr c[NC];
	int64_t start, all_ready_ms = -1;

	(void)state;
	struct ticker base = { .worst_late = 0 };

	for (int i = 0; i < NC; i++)
		ctr_run(&c[i], "v1", "");
	memset(w, 0, sizeof(w));
	/* The same ticker alone first: what the machine's load alone does to it. */
	base.due = now_ms() + 20;
	loop_timer_add(L, 20, tick, &base);
	run_for(2000);
	base.stop = 1;
	run_for(50);
	loop_run_once(L, 0);
	start = now_ms();
	for (int i = 0; i < N; i++)
		r[i] = runner(&c[i % NC], &p, VIA_PUBLISHED, &w[i]);
	t.due = now_ms() + 20;
	loop_timer_add(L, 20, tick, &t);
	while (now_ms() - start < 6000) {
		loop_run_once(L, 50);
		if (http_client_active(H) > peak)
			peak = http_client_active(H);
		ready = 0;
		for (int i = 0; i < N; i++)
			ready += probe_runner_state(r[i])->ready ? 1u : 0u;
		if (ready == N && all_ready_ms < 0)
			all_ready_ms = now_ms() - start;
	}
	t.stop = 1;
	for (int i = 0; i < N; i++) {
		attempts += probe_runner_state(r[i])->attempts[PROBE_READINESS] +
			    probe_runner_state(r[i])->attempts[PROBE_LIVENESS];
		assert_int_equal(probe_runner_state(r[i])->live_failed, 0);
		done(r[i]);
	}
	print_message("%d runners: all ready after %lld ms, %u attempts in 6 s, %u http requests at once at most; "
		      "20 ms ticker at worst %lld ms late over %u ticks (alone: %lld ms over %u ticks)\n", N,
		      (long long)all_ready_ms, attempts, peak, (long long)t.worst_late, t.ticks,
		      (long long)base.worst_late, base.ticks);
	assert_int_equal(ready, N);
	/* Every runner probed about once a second for 6 s, both probes: nothing starved. */
	assert_true(attempts >= (unsigned)N * 2 * 4);
	/* A probe blocking the loop for its timeout (1 s) would show here. */
	assert_true(t.worst_late < 1000);
	run_for(100);
}

/* Bad configurations are refused with the field named. */
static void runner_rejects_bad_config(void **state)
{
	char *bad = "metrics";
	struct spec_probes p = { .readiness = http(path_ready, 1, 1, 1, 1) };
	struct probe_config cfg = { .loop = L, .http = H, .docker = D, .container_id = "x", .container = &tmpl,
				    .probes = &p };
	struct error *err = NULL;

	(void)state;
	p.readiness.port.name = bad;
	assert_null(probe_runner_new(&cfg, &err));
	expect_contains(error_msg(err), "readiness probe of 'x': port 'metrics' is not a port of the container");
	error_clear(&err);

	p.readiness = exec_probe(cmd_ready, 1, 1, 1, 1);
	cfg.docker = NULL;
	assert_null(probe_runner_new(&cfg, &err));
	expect_contains(error_msg(err), "exec needs a docker client");
	error_clear(&err);
}

/* ================================================================= setup */

static int group_setup(void **state)
{
	(void)state;
	snprintf(label, sizeof(label), "auriga.test.run=test_probe-%ld", (long)getpid());
	snprintf(net, sizeof(net), "test_probe-%ld", (long)getpid());
	atexit(cleanup);
	for (size_t i = 0; i < 4; i++) {
		static const char *const tags[] = { "v1", "never-ready", "slow-start", "v1" };

		if (test_sh(NULL, 0, "docker image inspect %s:%s >/dev/null 2>&1", IMAGE_REPO, tags[i]) != 0) {
			fprintf(stderr, "image %s:%s is missing (hack/build-images.sh builds it)\n", IMAGE_REPO, tags[i]);
			return -1;
		}
	}
	if (test_sh(NULL, 0, "docker network create --label %s %s >/dev/null", label, net) != 0)
		return -1;
	if (test_loop_new(&L, &H) != 0)
		return -1;
	D = test_docker_new(L, 1);
	return D != NULL ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	/* Exec calls of freed runners free themselves when Docker answers: let them. */
	for (int64_t end = now_ms() + 15000; now_ms() < end;) {
		unsigned active = 0, queued = 0;

		docker_bulkhead_usage(D, DOCKER_PROBE, &active, &queued);
		if (active + queued == 0)
			break;
		loop_run_once(L, 100);
	}
	cleanup();
	docker_free(D);
	test_loop_free(L, H);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(runner_rejects_bad_config, test_teardown),
		cmocka_unit_test_teardown(http_startup_gates_readiness, test_teardown),
		cmocka_unit_test_teardown(http_never_ready, test_teardown),
		cmocka_unit_test_teardown(http_liveness_failure, test_teardown),
		cmocka_unit_test_teardown(http_ready_then_not_ready, test_teardown),
		cmocka_unit_test_teardown(http_timeout_is_failure, test_teardown),
		cmocka_unit_test_teardown(tcp_ready_and_not_ready, test_teardown),
		cmocka_unit_test_teardown(tcp_liveness_failure, test_teardown),
		cmocka_unit_test_teardown(exec_ready_and_never_ready, test_teardown),
		cmocka_unit_test_teardown(exec_liveness_failure, test_teardown),
		cmocka_unit_test_teardown(runner_free_cancels, test_teardown),
		cmocka_unit_test_teardown(many_runners_share_the_loop, test_teardown),
	};

	/* TEST_PROBE_FILTER=pattern (cmocka's wildcards) runs a subset while developing. */
	if (getenv("TEST_PROBE_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_PROBE_FILTER"));
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
