/* The probe budget (max-probes): attempts in flight across runners are capped, the rest wait their turn. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "probe/probe.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "spec.h"
#include "util.h"

#define RUNNERS 3
#define WAIT_MS 30000	/* a generous bound: every wait below ends on an event */

static struct loop *L;
static struct http_client *H;
static int listener = -1;
static int port;

static const struct spec_container tmpl = { .n_ports = 0 };

struct tally {
	unsigned results[PROBE_ERROR + 1];
};

static void on_result(struct probe_runner *r, enum probe_type t, enum probe_result res, void *arg)
{
	struct tally *w = arg;

	(void)r;
	(void)t;
	w->results[res]++;
}

static void on_change(struct probe_runner *r, const struct probe_state *st, unsigned changed, void *arg)
{
	(void)r;
	(void)st;
	(void)changed;
	(void)arg;
}

/* A server that takes connections into its backlog and never answers: an attempt stays in flight. */
static int group_setup(void **state)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	struct error *err = NULL;

	(void)state;
	L = loop_new(&err);
	assert_non_null(L);
	H = http_client_new(L, &err);
	assert_non_null(H);
	listener = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(listener >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(listener, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(listener, 64), 0);
	assert_int_equal(getsockname(listener, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	http_client_free(H);
	loop_free(L);
	close(listener);
	return 0;
}

static struct probe_runner *runner2(const char *id, struct probe_budget *b, struct tally *w, int timeout_s,
				     int liveness);

static struct probe_runner *runner(const char *id, struct probe_budget *b, struct tally *w, int timeout_s)
{
	return runner2(id, b, w, timeout_s, 0);
}

/* A runner whose readiness (and liveness, when asked) probe the silent server. */
static struct probe_runner *runner2(const char *id, struct probe_budget *b, struct tally *w, int timeout_s,
				     int liveness)
{
	static char path[] = "/ready";
	struct spec_probes probes;
	struct probe_port pm = { .container_port = 9003, .target = { "127.0.0.1", port } };
	struct probe_config cfg;
	struct error *err = NULL;
	struct probe_runner *r;

	memset(&probes, 0, sizeof(probes));
	probes.readiness.kind = SPEC_PROBE_HTTP;
	probes.readiness.http_path = path;
	probes.readiness.port.number = 9003;
	probes.readiness.period_seconds = 1;
	probes.readiness.timeout_seconds = timeout_s;
	probes.readiness.success_threshold = 1;
	probes.readiness.failure_threshold = 3;
	if (liveness)
		probes.liveness = probes.readiness;
	memset(&cfg, 0, sizeof(cfg));
	cfg.loop = L;
	cfg.http = H;
	cfg.container_id = id;
	cfg.container = &tmpl;
	cfg.probes = &probes;
	cfg.ports = &pm;
	cfg.n_ports = 1;
	cfg.on_change = on_change;
	cfg.on_result = on_result;
	cfg.arg = w;
	cfg.budget = b;
	r = probe_runner_new(&cfg, &err);
	if (r == NULL)
		fail_msg("probe_runner_new: %s", error_msg(err));
	return r;
}

static unsigned ran(const struct tally *w)
{
	unsigned n = 0;

	for (int i = 0; i <= PROBE_ERROR; i++)
		n += w->results[i];
	return n;
}

/* Runs the loop until the budget holds want attempts in flight and waiting ones. */
static int run_until(const struct probe_budget *b, unsigned want, unsigned waiting)
{
	int64_t end = now_ms() + WAIT_MS;

	while (!(b->in_flight == want && b->waiting == waiting) && now_ms() < end)
		loop_run_once(L, 100);
	return b->in_flight == want && b->waiting == waiting;
}

static void cap_holds(void **state)
{
	static const char *const ids[RUNNERS] = { "c1", "c2", "c3" };
	struct probe_runner *r[RUNNERS];
	struct tally w[RUNNERS];
	struct probe_budget b;

	(void)state;
	memset(w, 0, sizeof(w));
	probe_budget_init(&b, 2);
	for (int i = 0; i < RUNNERS; i++)
		r[i] = runner(ids[i], &b, &w[i], 60);
	/* Two attempts hang on the silent server; the third waits, and is not reported as anything. */
	assert_true(run_until(&b, 2, 1));
	assert_true(b.waited >= 1);
	for (int i = 0; i < RUNNERS; i++) {
		assert_int_equal(ran(&w[i]), 0);
		assert_string_equal(probe_runner_state(r[i])->last_message, "");
	}
	/* A runner that goes away gives its slot back, and the waiting attempt starts at once. */
	probe_runner_free(r[0]);
	r[0] = NULL;
	assert_int_equal(b.in_flight, 1);
	assert_true(run_until(&b, 2, 0));
	for (int i = 1; i < RUNNERS; i++)
		probe_runner_free(r[i]);
	assert_int_equal(b.in_flight, 0);
	assert_int_equal(b.waiting, 0);
	probe_budget_release(&b);
}

/*
 * Every runner falls due in the same tick, each period (runners made
 * together, or a process woken from a pause), and each attempt holds its
 * slot until its timeout: with more runners than slots, those that lost the
 * first tick used to lose every later one, and never ran. Each waits its
 * turn now: all of them run, the same number of times give or take one.
 */
static void no_starvation(void **state)
{
	enum { N = 7, SLOTS = 3, ROUNDS = 2 };
	struct probe_runner *r[N];
	struct tally w[N];
	struct probe_budget b;
	char ids[N][8];
	unsigned lo = ~0u, hi = 0;
	int64_t end;

	(void)state;
	memset(w, 0, sizeof(w));
	probe_budget_init(&b, SLOTS);
	for (int i = 0; i < N; i++) {
		snprintf(ids[i], sizeof(ids[i]), "s%d", i);
		r[i] = runner(ids[i], &b, &w[i], 1);
	}
	end = now_ms() + WAIT_MS;
	for (;;) {
		unsigned total = 0;

		for (int i = 0; i < N; i++)
			total += ran(&w[i]);
		if (total >= (unsigned)(N * ROUNDS) || now_ms() >= end)
			break;
		assert_true(b.in_flight <= SLOTS);
		loop_run_once(L, 100);
	}
	for (int i = 0; i < N; i++) {
		unsigned n = ran(&w[i]);

		print_message("# %s: %u attempts, %u timed out\n", ids[i], n, w[i].results[PROBE_TIMEOUT]);
		lo = n < lo ? n : lo;
		hi = n > hi ? n : hi;
		/* They timed out on the silent server: a verdict, never an attempt not run. */
		assert_int_equal(w[i].results[PROBE_ERROR], 0);
	}
	assert_true(lo >= 1);
	assert_true(hi - lo <= 1);
	assert_true(b.waited > 0);
	for (int i = 0; i < N; i++)
		probe_runner_free(r[i]);
	assert_int_equal(b.in_flight, 0);
	probe_budget_release(&b);
}

/*
 * A runner with two attempts waiting (readiness and liveness, due in the same
 * tick) under one slot: they take turns, never both at once.
 */
static void two_waiting_one_slot(void **state)
{
	struct probe_runner *r[2];
	struct tally w[2];
	struct probe_budget b;
	int64_t end;

	(void)state;
	memset(w, 0, sizeof(w));
	probe_budget_init(&b, 1);
	r[0] = runner2("t0", &b, &w[0], 1, 1);
	r[1] = runner2("t1", &b, &w[1], 1, 1);
	end = now_ms() + WAIT_MS;
	while (ran(&w[0]) + ran(&w[1]) < 6 && now_ms() < end) {
		assert_true(b.in_flight <= 1);
		loop_run_once(L, 100);
	}
	assert_true(ran(&w[0]) + ran(&w[1]) >= 6);
	assert_true(ran(&w[0]) >= 2 && ran(&w[1]) >= 2);
	for (int i = 0; i < 2; i++)
		probe_runner_free(r[i]);
	assert_int_equal(b.in_flight, 0);
	assert_int_equal(b.waiting, 0);
	probe_budget_release(&b);
}

static void no_cap(void **state)
{
	static const char *const ids[RUNNERS] = { "d1", "d2", "d3" };
	struct probe_runner *r[RUNNERS];
	struct tally w[RUNNERS];
	struct probe_budget b;

	(void)state;
	memset(w, 0, sizeof(w));
	probe_budget_init(&b, 0);
	for (int i = 0; i < RUNNERS; i++)
		r[i] = runner(ids[i], &b, &w[i], 60);
	assert_true(run_until(&b, RUNNERS, 0));
	assert_int_equal(b.waited, 0);
	for (int i = 0; i < RUNNERS; i++)
		probe_runner_free(r[i]);
	assert_int_equal(b.in_flight, 0);
	probe_budget_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cap_holds),
		cmocka_unit_test(no_starvation),
		cmocka_unit_test(two_waiting_one_slot),
		cmocka_unit_test(no_cap),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
