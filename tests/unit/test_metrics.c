/* auriga's metric families: their names, types, labels and help texts, state sets, feeding, rollout counters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "status/metrics.h"
#include "testmain.h"
#include "testmetrics.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *render(struct metrics *r)
{
	char *text = test_metrics_text(r);

	assert_non_null(text);
	return text;
}

/*
 * The families, in declaration order, byte for byte: the alerting rules in
 * deploy/alerts.yml, the dashboards and the README's list read these names,
 * label names and help texts. A change here is a change of that contract.
 */
#define FAMILY(f) offsetof(struct auriga_metrics, f)

static const struct family_row {
	size_t field;
	const char *type;
	const char *name;
	const char *help;
	const char *labels[4];
} family_rows[] = {
		{ FAMILY(build_info), "gauge", "auriga_build_info",
		  "The running auriga's version, always 1.",
		  { "version", NULL } },
		{ FAMILY(reconcile_total), "counter", "auriga_reconcile_total",
		  "Reconcile passes run, by result (ok or error).",
		  { "result", NULL } },
		{ FAMILY(reconcile_duration), "histogram", "auriga_reconcile_duration_seconds",
		  "Time taken by one reconcile pass.",
		  { NULL } },
		{ FAMILY(last_reconcile), "gauge", "auriga_last_reconcile_success_timestamp_seconds",
		  "Unix time at which the last reconcile pass succeeded.",
		  { NULL } },
		{ FAMILY(errors), "counter", "auriga_errors_total",
		  "Errors met by the controller, by kind (git, docker, spec, probe, router, notes, ...).",
		  { "kind", NULL } },
		{ FAMILY(git_fetch_duration), "histogram", "auriga_git_fetch_duration_seconds",
		  "Time taken by one fetch of the specs repo.",
		  { NULL } },
		{ FAMILY(git_fetch_failures), "counter", "auriga_git_fetch_failures_total",
		  "Fetches of the specs repo that failed.",
		  { NULL } },
		{ FAMILY(last_git_fetch), "gauge", "auriga_last_git_fetch_success_timestamp_seconds",
		  "Unix time at which the specs repo was last fetched successfully.",
		  { NULL } },
		{ FAMILY(docker_duration), "histogram", "auriga_docker_request_duration_seconds",
		  "Time taken by one Docker Engine API call, by operation.",
		  { "op", NULL } },
		{ FAMILY(docker_failures), "counter", "auriga_docker_request_failures_total",
		  "Docker Engine API calls that failed to get an answer, by operation.",
		  { "op", NULL } },
		{ FAMILY(peer_up), "gauge", "auriga_peer_up",
		  "1 when the last call to the peer (git or docker) got an answer, else 0.",
		  { "peer", NULL } },
		{ FAMILY(circuit_state), "gauge", "auriga_circuit_breaker_state",
		  "Circuit breaker state per peer: 1 for the current state (closed, half-open, open).",
		  { "peer", "state", NULL } },
		{ FAMILY(deployment_phase), "gauge", "auriga_deployment_phase",
		  "Phase of each deployment: 1 for the current phase.",
		  { "deployment", "phase", NULL } },
		{ FAMILY(replicas_desired), "gauge", "auriga_deployment_replicas_desired",
		  "Replicas the spec asks for.",
		  { "deployment", NULL } },
		{ FAMILY(replicas_ready), "gauge", "auriga_deployment_replicas_ready",
		  "Replicas passing their readiness probe.",
		  { "deployment", NULL } },
		{ FAMILY(replicas_updated), "gauge", "auriga_deployment_replicas_updated",
		  "Replicas running the desired revision.",
		  { "deployment", NULL } },
		{ FAMILY(rollouts_started), "counter", "auriga_rollouts_started_total",
		  "Rollouts started, by deployment and strategy.",
		  { "deployment", "strategy", NULL } },
		{ FAMILY(rollouts_succeeded), "counter", "auriga_rollouts_succeeded_total",
		  "Rollouts that completed, by deployment and strategy.",
		  { "deployment", "strategy", NULL } },
		{ FAMILY(rollouts_rolled_back), "counter", "auriga_rollouts_rolled_back_total",
		  "Rollouts rolled back, by deployment and strategy.",
		  { "deployment", "strategy", NULL } },
		{ FAMILY(rollouts_failed), "counter", "auriga_rollouts_failed_total",
		  "Rollouts that failed with no healthy revision to return to, by deployment and strategy.",
		  { "deployment", "strategy", NULL } },
		{ FAMILY(probe_results), "counter", "auriga_probe_results_total",
		  "Health probe results, by deployment, probe and result.",
		  { "deployment", "probe", "result", NULL } },
		{ FAMILY(canary_weight), "gauge", "auriga_canary_weight_percent",
		  "Percent of traffic the router sends to the canary.",
		  { "deployment", NULL } },
		{ FAMILY(analysis_results), "counter", "auriga_analysis_results_total",
		  "Release analysis measurements, by deployment, metric and result.",
		  { "deployment", "metric", "result", NULL } },
		{ FAMILY(http_requests), "counter", "auriga_http_requests_total",
		  "Requests answered by the controller's HTTP server, by handler and status code.",
		  { "handler", "code", NULL } },
		{ FAMILY(observe_cached), "counter", "auriga_observe_cached_passes_total",
		  "Passes decided from the endpoints' last container lists, without a Docker call: their events "
		  "said nothing changed since.",
		  { NULL } },
		{ FAMILY(observe_corrections), "counter", "auriga_observe_cache_corrections_total",
		  "Containers the periodic relist of an endpoint found otherwise than its last list and the "
		  "events since had them (events missed).",
		  { "endpoint", NULL } },
		{ FAMILY(http_cut_off), "counter", "auriga_http_slow_requests_cut_total",
		  "Connections closed because a request was not read in time.",
		  { NULL } },
		{ FAMILY(webhook_deliveries), "counter", "auriga_webhook_deliveries_total",
		  "Webhook deliveries, by provider and outcome.",
		  { "provider", "outcome", NULL } },
		{ FAMILY(git_push_duration), "histogram", "auriga_git_note_push_duration_seconds",
		  "Time taken to write and push one status note.",
		  { NULL } },
		{ FAMILY(backup_last_success), "gauge", "auriga_backup_last_success_timestamp_seconds",
		  "Unix time the newest good backup of each BackupPolicy started (backups.json).",
		  { "policy", NULL } },
};

/* The first line of the family's series, up to the value: name{l1="v",l2="v"} (a histogram's first bucket). */
static void series_line(char *out, size_t n, const struct family_row *row)
{
	size_t len, i;
	int hist = strcmp(row->type, "histogram") == 0;

	len = (size_t)snprintf(out, n, "\n%s%s", row->name, hist ? "_bucket" : "");
	for (i = 0; row->labels[i]; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s=\"v\"", i ? "," : "{", row->labels[i]);
	if (hist)
		len += (size_t)snprintf(out + len, n - len, "%sle=", i ? "," : "{");
	else if (i)
		len += (size_t)snprintf(out + len, n - len, "}");
	snprintf(out + len, n - len, "%s", hist ? "" : " ");
}

static void test_families(void **state)
{
	static const char *const vv[] = { "v", "v", "v", "v", NULL };
	struct auriga_metrics m;
	const char *at;
	char *text, want[512];
	size_t i, nhelp = 0;

	(void)state;
	auriga_metrics_init(&m, "v");
	/* One series in every family, every label "v", so each family shows its label names. */
	for (i = 0; i < ARRAY_SIZE(family_rows); i++) {
		const struct family_row *row = &family_rows[i];
		struct metric *f = *(struct metric **)((char *)&m + row->field);
		size_t nl = 0;

		while (row->labels[nl])
			nl++;
		if (strcmp(row->type, "counter") == 0)
			metric_inc(f, nl ? vv + 4 - nl : NULL);
		else if (strcmp(row->type, "gauge") == 0)
			metric_set(f, nl ? vv + 4 - nl : NULL, 1);
		else
			metric_observe(f, nl ? vv + 4 - nl : NULL, 1);
	}
	text = render(m.reg);
	for (at = text; (at = strstr(at, "# HELP ")) != NULL; at++)
		nhelp++;
	assert_int_equal(nhelp, ARRAY_SIZE(family_rows));
	at = text;
	for (i = 0; i < ARRAY_SIZE(family_rows); i++) {
		const struct family_row *row = &family_rows[i];
		const char *found, *next;

		snprintf(want, sizeof(want), "# HELP %s %s\n# TYPE %s %s\n", row->name, row->help, row->name, row->type);
		found = strstr(at, want);
		if (found == NULL)
			fail_msg("family %zu: no \"%s\" after the family before it", i, want);
		at = found + strlen(want);
		next = strstr(at, "# HELP ");
		series_line(want, sizeof(want), row);
		found = strstr(at - 1, want);
		if (found == NULL || (next != NULL && found > next))
			fail_msg("family %s: no series line \"%s\"", row->name, want + 1);
	}
	free(text);
	auriga_metrics_release(&m);
}

static void test_state_set_and_forget(void **state)
{
	struct auriga_metrics m;
	char *text;

	(void)state;
	auriga_metrics_init(&m, "1.2.3");
	auriga_metrics_set_phase(&m, "slim", "Progressing");
	auriga_metrics_set_phase(&m, "slim", "Healthy");
	auriga_metrics_set_phase(&m, "validators", "Degraded");
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("slim", "Healthy")) == 1);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("slim", "Progressing")) == 0);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("validators", "Degraded")) == 1);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("validators", "Healthy")) == 0);
	auriga_metrics_set_circuit(&m, "docker", "open");
	auriga_metrics_set_circuit(&m, "docker", "closed");
	assert_true(metric_value(m.circuit_state, METRIC_LABELS("docker", "open")) == 0);
	assert_true(metric_value(m.circuit_state, METRIC_LABELS("docker", "closed")) == 1);
	metric_set(m.replicas_ready, METRIC_LABELS("slim"), 5);
	auriga_metrics_forget_deployment(&m, "slim");
	text = render(m.reg);
	assert_null(strstr(text, "deployment=\"slim\""));
	assert_non_null(strstr(text, "deployment=\"validators\""));
	assert_non_null(strstr(text, "auriga_build_info{version=\"1.2.3\"} 1\n"));
	assert_non_null(strstr(text, "auriga_reconcile_total{result=\"error\"} 0\n"));
	free(text);
	auriga_metrics_release(&m);
}

static void test_feeding(void **state)
{
	struct auriga_metrics m;
	char *text;

	(void)state;
	auriga_metrics_init(&m, "t");
	auriga_metrics_docker_call(&m, "start container", 0.002, 1, 0);
	auriga_metrics_docker_call(&m, "start container", 0.3, 1, 1);
	/* Refused by the breaker: a failure, but no latency to observe and nothing new about the daemon. */
	auriga_metrics_docker_call(&m, "start container", 0, 0, 1);
	assert_true(metric_value(m.docker_duration, METRIC_LABELS("start_container")) == 2);
	assert_true(metric_sum(m.docker_duration, METRIC_LABELS("start_container")) == 0.302);
	assert_true(metric_value(m.docker_failures, METRIC_LABELS("start_container")) == 2);
	assert_true(metric_value(m.errors, METRIC_LABELS("docker")) == 2);
	assert_true(metric_value(m.peer_up, METRIC_LABELS("docker")) == 0);
	auriga_metrics_docker_call(&m, "list containers", 0.001, 1, 0);
	assert_true(metric_value(m.peer_up, METRIC_LABELS("docker")) == 1);
	assert_true(metric_value(m.docker_failures, METRIC_LABELS("list_containers")) == 0);

	auriga_metrics_git_fetch(&m, 0.2, 1);
	assert_true(metric_value(m.peer_up, METRIC_LABELS("git")) == 1);
	assert_true(metric_value(m.last_git_fetch, NULL) > 1.0e9);
	auriga_metrics_git_fetch(&m, 1.5, 0);
	assert_true(metric_value(m.git_fetch_duration, NULL) == 2);
	assert_true(metric_value(m.git_fetch_failures, NULL) == 1);
	assert_true(metric_value(m.peer_up, METRIC_LABELS("git")) == 0);
	assert_true(metric_value(m.errors, METRIC_LABELS("git")) == 1);
	auriga_metrics_git_push(&m, 0.1, 0);
	assert_true(metric_value(m.errors, METRIC_LABELS("notes")) == 1);

	auriga_metrics_probe_result(&m, "slim", "readiness", "success");
	auriga_metrics_probe_result(&m, "slim", "readiness", "success");
	auriga_metrics_probe_result(&m, "slim", "liveness", "timeout");
	assert_true(metric_value(m.probe_results, METRIC_LABELS("slim", "readiness", "success")) == 2);
	assert_true(metric_value(m.probe_results, METRIC_LABELS("slim", "liveness", "timeout")) == 1);
	auriga_metrics_set_canary_weight(&m, "api", 20);
	auriga_metrics_analysis_result(&m, "api", "error-rate", "Successful");
	auriga_metrics_analysis_result(&m, "api", "error-rate", "Failed");
	assert_true(metric_value(m.canary_weight, METRIC_LABELS("api")) == 20);
	assert_true(metric_value(m.analysis_results, METRIC_LABELS("api", "error-rate", "successful")) == 1);
	assert_true(metric_value(m.analysis_results, METRIC_LABELS("api", "error-rate", "failed")) == 1);
	auriga_metrics_error(&m, "spec");
	text = render(m.reg);
	assert_non_null(strstr(text, "auriga_docker_request_duration_seconds_bucket{op=\"start_container\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(text, "auriga_docker_request_duration_seconds_count{op=\"start_container\"} 2\n"));
	assert_non_null(strstr(text, "auriga_errors_total{kind=\"spec\"} 1\n"));
	assert_non_null(strstr(text, "auriga_canary_weight_percent{deployment=\"api\"} 20\n"));
	free(text);
	auriga_metrics_release(&m);

	/* Without a registry every feeding function does nothing. */
	auriga_metrics_docker_call(NULL, "ping", 0.1, 1, 1);
	auriga_metrics_git_fetch(NULL, 0.1, 0);
	auriga_metrics_git_push(NULL, 0.1, 0);
	auriga_metrics_probe_result(NULL, "a", "readiness", "success");
	auriga_metrics_set_canary_weight(NULL, "a", 5);
	auriga_metrics_analysis_result(NULL, "a", "m", "Failed");
	auriga_metrics_error(NULL, "git");
	auriga_metrics_publish_status(NULL, NULL);
}

/* One deployment as a pass shows it. */
struct pass_row {
	const char *name;
	enum status_phase phase;
	const char *reason;	/* of the Progressing condition */
	int64_t started_at;
	long ready;
};

static void publish(struct auriga_metrics *m, const struct pass_row *rows, size_t n)
{
	struct fleet_status s;
	size_t i;

	status_init(&s);
	for (i = 0; i < n; i++) {
		struct status_deployment *d = status_add_deployment(&s, rows[i].name);
		struct status_condition *c = status_add_condition(d, "Progressing");

		c->reason = xstrdup(rows[i].reason);
		d->phase = rows[i].phase;
		d->strategy = xstrdup("Rolling");
		d->started_at = rows[i].started_at;
		d->desired = 3;
		d->ready = rows[i].ready;
		d->updated = rows[i].ready;
	}
	auriga_metrics_publish_status(m, &s);
	status_release(&s);
}

static double count(struct metric *c, const char *dep)
{
	return metric_value(c, METRIC_LABELS(dep, "Rolling"));
}

static void test_rollouts_from_status(void **state)
{
	struct auriga_metrics m;

	(void)state;
	auriga_metrics_init(&m, "t");
	/* Already healthy when first seen (a controller restarted on a converged fleet): no rollout. */
	publish(&m, (struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 100, 3 } }, 1);
	assert_true(count(m.rollouts_started, "slim") == 0);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("slim", "Healthy")) == 1);
	assert_true(metric_value(m.replicas_ready, METRIC_LABELS("slim")) == 3);

	/* A new revision: started once however many passes it takes, then succeeded once. */
	publish(&m, (struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RollingOut", 200, 1 } }, 1);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RollingOut", 200, 2 } }, 1);
	assert_true(count(m.rollouts_started, "slim") == 1);
	assert_true(count(m.rollouts_succeeded, "slim") == 0);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 200, 3 } }, 1);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 200, 3 } }, 1);
	assert_true(count(m.rollouts_succeeded, "slim") == 1);

	/* Self-healing a lost container (same start time) is not a rollout. */
	publish(&m, (struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RollingOut", 200, 2 } }, 1);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 200, 3 } }, 1);
	assert_true(count(m.rollouts_started, "slim") == 1);
	assert_true(count(m.rollouts_succeeded, "slim") == 1);

	/* A bad revision: rolled back, and the way back (a new start time) is not a new rollout. */
	publish(&m, (struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RollingOut", 300, 2 } }, 1);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RolledBack", 300, 2 } }, 1);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RolledBack", 400, 2 } }, 1);
	publish(&m, (struct pass_row[]){ { "slim", STATUS_ROLLEDBACK, "RolledBack", 400, 3 } }, 1);
	assert_true(count(m.rollouts_started, "slim") == 2);
	assert_true(count(m.rollouts_rolled_back, "slim") == 1);
	assert_true(count(m.rollouts_succeeded, "slim") == 1);
	assert_true(metric_value(m.errors, METRIC_LABELS("rollout")) == 1);

	/* A first deployment that fails with nothing to return to; a second one superseded mid-way. */
	publish(&m,
		(struct pass_row[]){ { "slim", STATUS_ROLLEDBACK, "RolledBack", 400, 3 },
				     { "api", STATUS_PROGRESSING, "RollingOut", 500, 0 } },
		2);
	publish(&m,
		(struct pass_row[]){ { "slim", STATUS_ROLLEDBACK, "RolledBack", 400, 3 },
				     { "api", STATUS_FAILED, "ProgressDeadlineExceeded", 500, 0 } },
		2);
	assert_true(count(m.rollouts_started, "api") == 1);
	assert_true(count(m.rollouts_failed, "api") == 1);
	publish(&m,
		(struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RollingOut", 600, 1 },
				     { "api", STATUS_FAILED, "ProgressDeadlineExceeded", 500, 0 } },
		2);
	publish(&m,
		(struct pass_row[]){ { "slim", STATUS_PROGRESSING, "RollingOut", 700, 1 },
				     { "api", STATUS_FAILED, "ProgressDeadlineExceeded", 500, 0 } },
		2);
	publish(&m,
		(struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 700, 3 },
				     { "api", STATUS_FAILED, "ProgressDeadlineExceeded", 500, 0 } },
		2);
	assert_true(count(m.rollouts_started, "slim") == 4);
	assert_true(count(m.rollouts_succeeded, "slim") == 2);
	assert_true(count(m.rollouts_failed, "api") == 1);

	/* A deployment gone from the specs loses its series; seen again, it starts afresh. */
	publish(&m, (struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 700, 3 } }, 1);
	assert_true(count(m.rollouts_started, "api") == 0);
	assert_true(metric_value(m.deployment_phase, METRIC_LABELS("api", "Failed")) == 0);
	publish(&m,
		(struct pass_row[]){ { "slim", STATUS_HEALTHY, "NewRevisionAvailable", 700, 3 },
				     { "api", STATUS_PROGRESSING, "RollingOut", 500, 0 } },
		2);
	assert_true(count(m.rollouts_started, "api") == 1);
	auriga_metrics_release(&m);
}

TEST_MAIN(
	cmocka_unit_test(test_families),
	cmocka_unit_test(test_state_set_and_forget),
	cmocka_unit_test(test_feeding),
	cmocka_unit_test(test_rollouts_from_status))
