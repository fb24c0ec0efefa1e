/* auriga's own metric families, built on the generic registry in runtime/metrics_registry.h. */
#ifndef AURIGA_METRICS_H
#define AURIGA_METRICS_H

#include "runtime/metrics_registry.h"
#include "status/status.h"

/*
 * auriga's own metric families, declared in one place so the engine only
 * updates them. Names, labels and meanings are a contract with the alerting
 * rules in deploy/alerts.yml and the README's list.
 */
struct auriga_rollout_track;

struct auriga_metrics {
	struct metrics *reg;
	struct metric *build_info;		/* gauge {version} = 1 */
	struct metric *reconcile_total;		/* counter {result: ok|error} */
	struct metric *reconcile_duration;	/* histogram, seconds */
	struct metric *last_reconcile;		/* gauge: unix time of the last successful pass */
	struct metric *errors;			/* counter {kind} */
	struct metric *git_fetch_duration;	/* histogram, seconds */
	struct metric *git_fetch_failures;	/* counter */
	struct metric *last_git_fetch;		/* gauge: unix time of the last successful fetch */
	struct metric *docker_duration;		/* histogram {op}, seconds */
	struct metric *docker_failures;		/* counter {op} */
	struct metric *peer_up;			/* gauge {peer: git|docker} 1 or 0 */
	struct metric *circuit_state;		/* gauge {peer, state: closed|open|half-open} state set */
	struct metric *deployment_phase;	/* gauge {deployment, phase} state set */
	struct metric *replicas_desired;	/* gauge {deployment} */
	struct metric *replicas_ready;		/* gauge {deployment} */
	struct metric *replicas_updated;	/* gauge {deployment} */
	struct metric *rollouts_started;	/* counter {deployment, strategy} */
	struct metric *rollouts_succeeded;	/* counter {deployment, strategy} */
	struct metric *rollouts_rolled_back;	/* counter {deployment, strategy} */
	struct metric *rollouts_failed;		/* counter {deployment, strategy}: failed, nothing to return to */
	struct metric *probe_results;		/* counter {deployment, probe, result: success|failure|timeout} */
	struct metric *canary_weight;		/* gauge {deployment}, percent of traffic on the canary */
	struct metric *analysis_results;	/* counter {deployment, metric, result} */
	struct metric *http_requests;		/* counter {handler, code} */
	struct metric *http_cut_off;		/* counter: connections closed for reading a request too slowly */
	struct metric *webhook_deliveries;	/* counter {provider, outcome} */
	struct metric *git_push_duration;	/* histogram, seconds: status note pushes */
	struct metric *backup_last_success;	/* gauge {policy}: unix time of the newest good backup */
	struct metric *observe_cached;		/* counter: passes decided from the last lists, no Docker call */
	struct metric *observe_corrections;	/* counter {endpoint}: containers a periodic relist found changed */
	struct auriga_rollout_track *track;	/* what auriga_metrics_publish_status remembers */
};

/* The phases a deployment can be in; deployment_phase has one series per phase. */
extern const char *const auriga_phases[];

void auriga_metrics_init(struct auriga_metrics *m, const char *version);
void auriga_metrics_release(struct auriga_metrics *m);
/* Sets the deployment's phase (1 for phase, 0 for every other phase in auriga_phases). */
void auriga_metrics_set_phase(struct auriga_metrics *m, const char *deployment, const char *phase);
/* Sets the circuit breaker state of peer: "closed", "half-open" or "open". */
void auriga_metrics_set_circuit(struct auriga_metrics *m, const char *peer, const char *state);
/* Drops every per-deployment series of a deployment that no longer exists. */
void auriga_metrics_forget_deployment(struct auriga_metrics *m, const char *deployment);

/*
 * The feeding functions below take m == NULL as "no metrics" and do nothing,
 * so code that runs both in the daemon and in one-shot commands may call them
 * unconditionally. Every one may be called from any thread unless it says
 * otherwise.
 */

/* Counts an error of kind ("git", "docker", "spec", "notes", "probe", "rollout", ...). */
void auriga_metrics_error(struct auriga_metrics *m, const char *kind);

/*
 * One Docker Engine API call that ended: op is what it did ("start
 * container"; spaces become underscores in the label). tried: at least one
 * HTTP request went out, so seconds is a latency worth observing; failed:
 * the daemon gave no usable answer (transport, timeout, 5xx, refused by the
 * breaker or the bulkhead). A 404 or 409 is an answer, not a failure.
 */
void auriga_metrics_docker_call(struct auriga_metrics *m, const char *op, double seconds, int tried,
				int failed);

/* A pass decided from the endpoints' last lists (their events said nothing changed): no Docker call. */
void auriga_metrics_observe_cached_pass(struct auriga_metrics *m);
/* n containers of endpoint that the periodic relist found otherwise than the cache had them (events missed). */
void auriga_metrics_observe_corrections(struct auriga_metrics *m, const char *endpoint, size_t n);

/* One fetch of the specs repo: its duration, and ok or not; sets peer_up{peer="git"}. */
void auriga_metrics_git_fetch(struct auriga_metrics *m, double seconds, int ok);
/* One push (or local write) of a status note: its duration; a failure counts as an error of kind notes. */
void auriga_metrics_git_push(struct auriga_metrics *m, double seconds, int ok);

/* One attempt of a health probe: probe is startup, readiness or liveness; result success, failure or timeout. */
void auriga_metrics_probe_result(struct auriga_metrics *m, const char *deployment, const char *probe,
				 const char *result);

/*
 * For canary releases: the percent of the deployment's traffic the router
 * now sends to the canary (0 to 100; set it back to 0 when the release ends
 * either way).
 */
void auriga_metrics_set_canary_weight(struct auriga_metrics *m, const char *deployment, double percent);
/*
 * For canary and blue-green analysis: one measurement of metric (the
 * AnalysisTemplate's metric name) ended with result ("successful", "failed",
 * "inconclusive": analysis_result_name()).
 */
void auriga_metrics_analysis_result(struct auriga_metrics *m, const char *deployment, const char *metric,
				    const char *result);

/*
 * Mirrors the status after a reconcile pass: phase and replica gauges per
 * deployment, series of deployments gone from the status forgotten, and the
 * rollout counters derived from how each deployment moved since the last
 * call:
 * - started: its rollout start time changed (a new target revision, or its
 *   turn came with work to do) while it is Progressing and not returning
 *   to its last healthy revision;
 * - succeeded: a started rollout reached Healthy;
 * - rolled back: a started rollout was returned to the last healthy
 *   revision (phase RolledBack, or Progressing with the RolledBack reason);
 * - failed: a started rollout ended Failed with nothing to return to.
 * A rollout superseded by a newer revision counts as started again and
 * ends only once. Call it from one thread (the loop's).
 */
void auriga_metrics_publish_status(struct auriga_metrics *m, const struct fleet_status *s);

#endif
