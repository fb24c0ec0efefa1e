/*
 * Benchmark harness: the controller's HTTP server with the metrics and status of a 25-deployment
 * fleet, serving until SIGTERM. Usage: httpd_harness PORT [THREADS]
 */
#include "status/metrics.h"
#include "surface/httpd.h"
#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t done;

static void on_signal(int sig)
{
	(void)sig;
	done = 1;
}

static const char *const names[] = { "slim", "business-1", "business-2", "validators", "api" };

static json_t *fleet_status(void *ctx)
{
	json_t *deps = json_array();
	char name[32];
	int i;

	(void)ctx;
	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "%s-%d", names[i % 5], i / 5);
		json_array_append_new(deps, json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:s,s:s}", "name", name,
						      "phase", "Healthy", "revision",
						      "9a41c0ffee0123456789abcdef0123456789abcd", "desired", 1,
						      "ready", 1, "updated", 1, "strategy", "Rolling",
						      "image", "aurigraph/node:4.4.4"));
	}
	return json_pack("{s:s,s:s,s:i,s:i,s:o}", "commit", "3f2c0ffee0123456789abcdef0123456789abcd0",
			 "summary", "Healthy 25/25 ready", "ready", 25, "desired", 25, "deployments", deps);
}

static int always(void *ctx)
{
	(void)ctx;
	return 1;
}

static void fill(struct auriga_metrics *m)
{
	char name[32];
	int i, j;

	for (i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "%s-%d", names[i % 5], i / 5);
		auriga_metrics_set_phase(m, name, "Healthy");
		metric_set(m->replicas_desired, METRIC_LABELS(name), 1);
		metric_set(m->replicas_ready, METRIC_LABELS(name), 1);
		metric_set(m->replicas_updated, METRIC_LABELS(name), 1);
		metric_inc(m->rollouts_started, METRIC_LABELS(name, "Rolling"));
		metric_inc(m->rollouts_succeeded, METRIC_LABELS(name, "Rolling"));
		metric_add(m->probe_results, METRIC_LABELS(name, "readiness", "success"), 120);
	}
	for (j = 0; j < 200; j++) {
		metric_observe(m->reconcile_duration, NULL, 0.01 * j);
		metric_observe(m->docker_duration, METRIC_LABELS("list"), 0.002 * j);
		metric_observe(m->docker_duration, METRIC_LABELS("inspect"), 0.001 * j);
		metric_observe(m->git_fetch_duration, NULL, 0.05 * j);
	}
	auriga_metrics_set_circuit(m, "docker", "closed");
	auriga_metrics_set_circuit(m, "git", "closed");
	metric_set(m->peer_up, METRIC_LABELS("docker"), 1);
	metric_set(m->peer_up, METRIC_LABELS("git"), 1);
}

int main(int argc, char **argv)
{
	struct httpd_provider p = { .live = always, .ready = always, .started = always,
				    .status = fleet_status };
	struct auriga_metrics m;
	struct httpd_options o;
	struct httpd *h = NULL;
	struct error *e = NULL;
	char listen[64];
	long port, threads = 2;

	if (argc < 2 || parse_long(argv[1], 0, 65535, &port) < 0 ||
	    (argc > 2 && parse_long(argv[2], 1, 64, &threads) < 0)) {
		fprintf(stderr, "usage: httpd_harness PORT [THREADS]\n");
		return 2;
	}
	auriga_metrics_init(&m, "bench");
	fill(&m);
	httpd_options_init(&o);
	snprintf(listen, sizeof(listen), "127.0.0.1:%ld", port);
	o.listen = listen;
	o.metrics = &m;
	o.threads = (unsigned)threads;
	o.max_connections = 256;
	if (httpd_start(&h, &o, &p, &e) < 0) {
		fprintf(stderr, "httpd_harness: %s\n", error_msg(e));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	while (!done)
		pause();
	httpd_stop(h);
	auriga_metrics_release(&m);
	return 0;
}
