/* auriga's metric families, declared on the generic registry, and the functions that feed them. */
#include "status/metrics.h"

#include "strmap.h"
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* What auriga_metrics_publish_status remembers of one deployment between passes. */
struct rollout_mem {
	char *name;
	char *strategy;
	int64_t started_at;	/* the status's started_at when last seen */
	int active;		/* a rollout was counted as started and has not ended */
	int seen;
};

struct auriga_rollout_track {
	struct rollout_mem *v;
	size_t n, cap;
	struct strmap index;	/* name -> index in v */
};

const char *const auriga_phases[] = { "Unknown", "Progressing", "Healthy", "Degraded", "Failed",
				      "RolledBack", "Pending", "Aborted", NULL };

static const char *const circuit_states[] = { "closed", "half-open", "open", NULL };

void auriga_metrics_init(struct auriga_metrics *m, const char *version)
{
	/* Seconds: reconcile passes and Git fetches are slower than Docker calls. */
	static const double pass_buckets[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120 };
	static const double git_buckets[] = { 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60 };
	static const double docker_buckets[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
						 1, 2.5, 5, 10, 30 };
	static const char *const dep[] = { "deployment", NULL };
	static const char *const dep_strategy[] = { "deployment", "strategy", NULL };
	struct metrics *r = metrics_new();

	memset(m, 0, sizeof(*m));
	m->reg = r;
	m->build_info = metrics_gauge(r, "auriga_build_info", "The running auriga's version, always 1.",
				      METRIC_LABELS("version"));
	metric_set(m->build_info, METRIC_LABELS(version), 1);
	m->reconcile_total = metrics_counter(r, "auriga_reconcile_total",
					     "Reconcile passes run, by result (ok or error).",
					     METRIC_LABELS("result"));
	m->reconcile_duration = metrics_histogram(r, "auriga_reconcile_duration_seconds",
						  "Time taken by one reconcile pass.", NULL,
						  pass_buckets, ARRAY_SIZE(pass_buckets));
	m->last_reconcile = metrics_gauge(r, "auriga_last_reconcile_success_timestamp_seconds",
					  "Unix time at which the last reconcile pass succeeded.", NULL);
	m->errors = metrics_counter(r, "auriga_errors_total",
				    "Errors met by the controller, by kind (git, docker, spec, probe, router, notes, ...).",
				    METRIC_LABELS("kind"));
	m->git_fetch_duration = metrics_histogram(r, "auriga_git_fetch_duration_seconds",
						  "Time taken by one fetch of the specs repo.", NULL,
						  git_buckets, ARRAY_SIZE(git_buckets));
	m->git_fetch_failures = metrics_counter(r, "auriga_git_fetch_failures_total",
						"Fetches of the specs repo that failed.", NULL);
	m->last_git_fetch = metrics_gauge(r, "auriga_last_git_fetch_success_timestamp_seconds",
					  "Unix time at which the specs repo was last fetched successfully.", NULL);
	m->docker_duration = metrics_histogram(r, "auriga_docker_request_duration_seconds",
					       "Time taken by one Docker Engine API call, by operation.",
					       METRIC_LABELS("op"), docker_buckets,
					       ARRAY_SIZE(docker_buckets));
	m->docker_failures = metrics_counter(r, "auriga_docker_request_failures_total",
					     "Docker Engine API calls that failed to get an answer, by operation.",
					     METRIC_LABELS("op"));
	m->peer_up = metrics_gauge(r, "auriga_peer_up",
				   "1 when the last call to the peer (git or docker) got an answer, else 0.",
				   METRIC_LABELS("peer"));
	m->circuit_state = metrics_gauge(r, "auriga_circuit_breaker_state",
					 "Circuit breaker state per peer: 1 for the current state (closed, half-open, open).",
					 METRIC_LABELS("peer", "state"));
	m->deployment_phase = metrics_gauge(r, "auriga_deployment_phase",
					    "Phase of each deployment: 1 for the current phase.",
					    METRIC_LABELS("deployment", "phase"));
	m->replicas_desired = metrics_gauge(r, "auriga_deployment_replicas_desired",
					    "Replicas the spec asks for.", dep);
	m->replicas_ready = metrics_gauge(r, "auriga_deployment_replicas_ready",
					  "Replicas passing their readiness probe.", dep);
	m->replicas_updated = metrics_gauge(r, "auriga_deployment_replicas_updated",
					    "Replicas running the desired revision.", dep);
	m->rollouts_started = metrics_counter(r, "auriga_rollouts_started_total",
					      "Rollouts started, by deployment and strategy.", dep_strategy);
	m->rollouts_succeeded = metrics_counter(r, "auriga_rollouts_succeeded_total",
						"Rollouts that completed, by deployment and strategy.",
						dep_strategy);
	m->rollouts_rolled_back = metrics_counter(r, "auriga_rollouts_rolled_back_total",
						  "Rollouts rolled back, by deployment and strategy.",
						  dep_strategy);
	m->rollouts_failed = metrics_counter(r, "auriga_rollouts_failed_total",
					     "Rollouts that failed with no healthy revision to return to, by deployment and strategy.",
					     dep_strategy);
	m->probe_results = metrics_counter(r, "auriga_probe_results_total",
					   "Health probe results, by deployment, probe and result.",
					   METRIC_LABELS("deployment", "probe", "result"));
	m->canary_weight = metrics_gauge(r, "auriga_canary_weight_percent",
					 "Percent of traffic the router sends to the canary.", dep);
	m->analysis_results = metrics_counter(r, "auriga_analysis_results_total",
					      "Release analysis measurements, by deployment, metric and result.",
					      METRIC_LABELS("deployment", "metric", "result"));
	m->http_requests = metrics_counter(r, "auriga_http_requests_total",
					   "Requests answered by the controller's HTTP server, by handler and status code.",
					   METRIC_LABELS("handler", "code"));
	m->observe_cached = metrics_counter(r, "auriga_observe_cached_passes_total",
					    "Passes decided from the endpoints' last container lists, without a Docker "
					    "call: their events said nothing changed since.", NULL);
	m->observe_corrections = metrics_counter(r, "auriga_observe_cache_corrections_total",
						 "Containers the periodic relist of an endpoint found otherwise than "
						 "its last list and the events since had them (events missed).",
						 METRIC_LABELS("endpoint"));
	m->http_cut_off = metrics_counter(r, "auriga_http_slow_requests_cut_total",
					  "Connections closed because a request was not read in time.", NULL);
	m->webhook_deliveries = metrics_counter(r, "auriga_webhook_deliveries_total",
						"Webhook deliveries, by provider and outcome.",
						METRIC_LABELS("provider", "outcome"));
	m->git_push_duration = metrics_histogram(r, "auriga_git_note_push_duration_seconds",
						 "Time taken to write and push one status note.", NULL,
						 git_buckets, ARRAY_SIZE(git_buckets));
	m->backup_last_success = metrics_gauge(r, "auriga_backup_last_success_timestamp_seconds",
					       "Unix time the newest good backup of each BackupPolicy started (backups.json).",
					       METRIC_LABELS("policy"));
	/* Series that exist from the start, so rate() and absent() behave before the first event. */
	metric_add(m->reconcile_total, METRIC_LABELS("ok"), 0);
	metric_add(m->reconcile_total, METRIC_LABELS("error"), 0);
	metric_add(m->git_fetch_failures, NULL, 0);
	metric_add(m->http_cut_off, NULL, 0);
	metric_add(m->observe_cached, NULL, 0);
	m->track = xcalloc(1, sizeof(*m->track));
}

static void track_free(struct auriga_rollout_track *t);

void auriga_metrics_release(struct auriga_metrics *m)
{
	track_free(m->track);
	metrics_free(m->reg);
	memset(m, 0, sizeof(*m));
}

void auriga_metrics_set_phase(struct auriga_metrics *m, const char *deployment, const char *phase)
{
	size_t i;
	int known = 0;

	/*
	 * Every known phase gets a series, so a dashboard sees the zeros too:
	 * one lookup each rather than a scan of the whole family (10,000
	 * deployments make 60,000 series of it).
	 */
	for (i = 0; auriga_phases[i]; i++) {
		int on = strcmp(auriga_phases[i], phase) == 0;

		known |= on;
		metric_set(m->deployment_phase, METRIC_LABELS(deployment, auriga_phases[i]), on);
	}
	if (!known)
		metric_set_state(m->deployment_phase, METRIC_LABELS(deployment, phase), 1);
}

void auriga_metrics_set_circuit(struct auriga_metrics *m, const char *peer, const char *state)
{
	size_t i;

	for (i = 0; circuit_states[i]; i++)
		if (metric_value(m->circuit_state, METRIC_LABELS(peer, circuit_states[i])) == 0)
			metric_set(m->circuit_state, METRIC_LABELS(peer, circuit_states[i]), 0);
	metric_set_state(m->circuit_state, METRIC_LABELS(peer, state), 1);
}

void auriga_metrics_forget_deployment(struct auriga_metrics *m, const char *deployment)
{
	struct metric *per_dep[] = { m->deployment_phase, m->replicas_desired, m->replicas_ready,
				     m->replicas_updated, m->rollouts_started, m->rollouts_succeeded,
				     m->rollouts_rolled_back, m->rollouts_failed, m->probe_results, m->canary_weight,
				     m->analysis_results };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(per_dep); i++)
		metric_forget(per_dep[i], 0, deployment);
}

/* ------------------------------------------------------------ feeding */

void auriga_metrics_error(struct auriga_metrics *m, const char *kind)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_inc(m->errors, METRIC_LABELS(kind));
}

/* Copies s into out (size n) lowercased, with spaces as underscores: "start container" -> "start_container". */
static const char *label_word(char *out, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n; i++) {
		char c = s[i];

		out[i] = c == ' ' ? '_' : (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[i] = '\0';
	return out;
}

void auriga_metrics_observe_cached_pass(struct auriga_metrics *m)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_inc(m->observe_cached, NULL);
}

void auriga_metrics_observe_corrections(struct auriga_metrics *m, const char *endpoint, size_t n)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_add(m->observe_corrections, METRIC_LABELS(endpoint), (double)n);
}

void auriga_metrics_docker_call(struct auriga_metrics *m, const char *op, double seconds, int tried,
				int failed)
{
	char word[64];

	if (m == NULL || m->reg == NULL)
		return;
	label_word(word, sizeof(word), op);
	if (tried)
		metric_observe(m->docker_duration, METRIC_LABELS(word), seconds);
	if (failed) {
		metric_inc(m->docker_failures, METRIC_LABELS(word));
		metric_inc(m->errors, METRIC_LABELS("docker"));
	} else {
		/* Creates the series, so failure rates divide by something from the first call. */
		metric_add(m->docker_failures, METRIC_LABELS(word), 0);
	}
	/* A refusal by the breaker says nothing new about the daemon: peer_up follows real answers. */
	if (tried)
		metric_set(m->peer_up, METRIC_LABELS("docker"), failed ? 0.0 : 1.0);
}

void auriga_metrics_git_fetch(struct auriga_metrics *m, double seconds, int ok)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_observe(m->git_fetch_duration, NULL, seconds);
	metric_set(m->peer_up, METRIC_LABELS("git"), ok ? 1.0 : 0.0);
	if (ok) {
		metric_set(m->last_git_fetch, NULL, (double)wall_ms() / 1000.0);
	} else {
		metric_inc(m->git_fetch_failures, NULL);
		metric_inc(m->errors, METRIC_LABELS("git"));
	}
}

void auriga_metrics_git_push(struct auriga_metrics *m, double seconds, int ok)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_observe(m->git_push_duration, NULL, seconds);
	if (!ok)
		metric_inc(m->errors, METRIC_LABELS("notes"));
}

void auriga_metrics_probe_result(struct auriga_metrics *m, const char *deployment, const char *probe,
				 const char *result)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_inc(m->probe_results, METRIC_LABELS(deployment, probe, result));
}

void auriga_metrics_set_canary_weight(struct auriga_metrics *m, const char *deployment, double percent)
{
	if (m == NULL || m->reg == NULL)
		return;
	metric_set(m->canary_weight, METRIC_LABELS(deployment), percent);
}

void auriga_metrics_analysis_result(struct auriga_metrics *m, const char *deployment, const char *metric,
				    const char *result)
{
	char word[32];

	if (m == NULL || m->reg == NULL)
		return;
	metric_inc(m->analysis_results, METRIC_LABELS(deployment, metric, label_word(word, sizeof(word), result)));
}

/* ------------------------------------------------------ status mirror */

static void track_free(struct auriga_rollout_track *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		FREE_ALL(t->v[i].name, t->v[i].strategy);
	free(t->v);
	strmap_clear(&t->index);
	free(t);
}

static struct rollout_mem *track_get(struct auriga_rollout_track *t, const char *name, int *fresh)
{
	size_t i;

	*fresh = 0;
	if (strmap_get_index(&t->index, name, &i))
		return &t->v[i];
	strmap_put_index(&t->index, name, t->n);
	XGROW(t->v, t->cap, t->n + 1);
	memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
	t->v[t->n].name = xstrdup(name);
	*fresh = 1;
	return &t->v[t->n++];
}

/* Returning to the last healthy revision: the engine says so with the Progressing condition's reason. */
static int returning(const struct status_deployment *d)
{
	size_t i;

	/* An abort by hand returns too: it counts as a rollback. */
	if (d->phase == STATUS_ROLLEDBACK || d->phase == STATUS_ABORTED)
		return 1;
	for (i = 0; i < d->nconditions; i++)
		if (d->conditions[i].type && strcmp(d->conditions[i].type, "Progressing") == 0)
			return d->conditions[i].reason && (strcmp(d->conditions[i].reason, "RolledBack") == 0 ||
							   strcmp(d->conditions[i].reason, "RolloutAborted") == 0);
	return 0;
}

static void track_rollout(struct auriga_metrics *m, struct rollout_mem *r, const struct status_deployment *d,
			  int fresh)
{
	const char *strategy = d->strategy ? d->strategy : "";
	int back = returning(d);

	if (r->active) {
		const char *lv[] = { d->name, r->strategy, NULL };

		if (back) {
			metric_inc(m->rollouts_rolled_back, lv);
			metric_inc(m->errors, METRIC_LABELS("rollout"));
			r->active = 0;
		} else if (d->phase == STATUS_FAILED) {
			metric_inc(m->rollouts_failed, lv);
			metric_inc(m->errors, METRIC_LABELS("rollout"));
			r->active = 0;
		} else if (d->phase == STATUS_HEALTHY) {
			metric_inc(m->rollouts_succeeded, lv);
			r->active = 0;
		}
	}
	/*
	 * A new start time while Progressing is a new rollout, unless it is the
	 * way back to the last healthy revision (already counted as rolled back).
	 */
	if (d->phase == STATUS_PROGRESSING && !back && d->started_at != 0 &&
	    (fresh || d->started_at != r->started_at)) {
		free(r->strategy);
		r->strategy = xstrdup(strategy);
		metric_inc(m->rollouts_started, METRIC_LABELS(d->name, r->strategy));
		/* The other outcomes exist from the start, so increase() sees their first one. */
		metric_add(m->rollouts_succeeded, METRIC_LABELS(d->name, r->strategy), 0);
		metric_add(m->rollouts_rolled_back, METRIC_LABELS(d->name, r->strategy), 0);
		metric_add(m->rollouts_failed, METRIC_LABELS(d->name, r->strategy), 0);
		r->active = 1;
	}
	/* Pending (no probe verdict yet) is not a start: the rollout is counted once it shows Progressing. */
	if (d->phase != STATUS_PENDING)
		r->started_at = d->started_at;
}

void auriga_metrics_publish_status(struct auriga_metrics *m, const struct fleet_status *s)
{
	struct auriga_rollout_track *t;
	size_t i;

	if (m == NULL || m->reg == NULL)
		return;
	t = m->track;
	for (i = 0; i < t->n; i++)
		t->v[i].seen = 0;
	for (i = 0; i < s->ndeployments; i++) {
		const struct status_deployment *d = &s->deployments[i];
		const char *lv[] = { d->name, NULL };
		struct rollout_mem *r;
		int fresh;

		if (d->name == NULL)
			continue;
		auriga_metrics_set_phase(m, d->name, status_phase_name(d->phase));
		metric_set(m->replicas_desired, lv, (double)d->desired);
		metric_set(m->replicas_ready, lv, (double)d->ready);
		metric_set(m->replicas_updated, lv, (double)d->updated);
		r = track_get(t, d->name, &fresh);
		r->seen = 1;
		track_rollout(m, r, d, fresh);
	}
	i = 0;
	while (i < t->n) {
		if (t->v[i].seen) {
			i++;
			continue;
		}
		auriga_metrics_forget_deployment(m, t->v[i].name);
		strmap_del(&t->index, t->v[i].name);
		free(t->v[i].name);
		free(t->v[i].strategy); /* NOLINT(clang-analyzer-unix.Malloc): each entry owns its own copy; the analyzer loses track across the swap */
		t->n--;
		if (i < t->n) {
			t->v[i] = t->v[t->n];
			strmap_put_index(&t->index, t->v[i].name, i);
		}
	}
}
