/* The probe budget (max-probes): attempts in flight across runners are capped, the rest not run and reported. */
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

static struct probe_runner *runner(const char *id, struct probe_budget *b, struct tally *w)
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
	probes.readiness.timeout_seconds = 60;
	probes.readiness.success_threshold = 1;
	probes.readiness.failure_threshold = 3;
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

static int errors(const struct tally *w)
{
	int n = 0;

	for (int i = 0; i < RUNNERS; i++)
		n += (int)w[i].results[PROBE_ERROR];
	return n;
}

/* Runs the loop until the budget holds want attempts and (when errs) some attempt was not run. */
static int run_until(const struct probe_budget *b, unsigned want, int errs, const struct tally *w)
{
	int64_t end = now_ms() + WAIT_MS;

	while (!(b->in_flight == want && (!errs || errors(w) > 0)) && now_ms() < end)
		loop_run_once(L, 100);
	return b->in_flight == want && (!errs || errors(w) > 0);
}

static void cap_holds(void **state)
{
	static const char *const ids[RUNNERS] = { "c1", "c2", "c3" };
	struct probe_runner *r[RUNNERS];
	struct tally w[RUNNERS];
	struct probe_budget b;
	int refused = -1;

	(void)state;
	memset(w, 0, sizeof(w));
	probe_budget_init(&b, 2);
	for (int i = 0; i < RUNNERS; i++)
		r[i] = runner(ids[i], &b, &w[i]);
	assert_true(run_until(&b, 2, 1, w));
	for (int i = 0; i < RUNNERS; i++)
		if (w[i].results[PROBE_ERROR] > 0)
			refused = i;
	assert_true(refused >= 0);
	assert_true(b.refused >= 1);
	print_message("# %s: %s\n", ids[refused], probe_runner_state(r[refused])->last_message);
	assert_string_equal(probe_runner_state(r[refused])->last_message,
			    "readiness: not run: 2 probe attempts in flight, the most max-probes allows");
	/* A refusal is no verdict: the container is neither ready nor failing. */
	assert_int_equal(probe_runner_state(r[refused])->consecutive_fail[PROBE_READINESS], 0);
	/* A runner that goes away gives its slot back, and the one refused gets it a period later. */
	for (int i = 0; i < RUNNERS; i++) {
		if (i != refused) {
			probe_runner_free(r[i]);
			r[i] = NULL;
			break;
		}
	}
	assert_int_equal(b.in_flight, 1);
	assert_true(run_until(&b, 2, 0, w));
	for (int i = 0; i < RUNNERS; i++)
		probe_runner_free(r[i]);
	assert_int_equal(b.in_flight, 0);
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
		r[i] = runner(ids[i], &b, &w[i]);
	assert_true(run_until(&b, RUNNERS, 0, w));
	assert_int_equal(errors(w), 0);
	assert_int_equal(b.refused, 0);
	for (int i = 0; i < RUNNERS; i++)
		probe_runner_free(r[i]);
	assert_int_equal(b.in_flight, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cap_holds),
		cmocka_unit_test(no_cap),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
