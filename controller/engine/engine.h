/* The reconcile engine: passes on the loop that observe, plan and roll out in phases, with probes, rollback and self-heal. */
#ifndef AURIGA_ENGINE_H
#define AURIGA_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "spec.h"
#include "status/status.h"

struct loop;
struct docker;
struct http_client;
struct engine;
struct auriga_metrics;

/*
 * A pass: one labelled container list, then for every deployment in phase
 * order its target (the desired revision, or the last healthy one when that
 * failed), whether its turn has come (every deployment of earlier phases and
 * of its dependsOn is healthy at its desired revision), and the rollout step
 * its strategy allows given the probes' verdicts; the operations run
 * concurrently on the loop and the next pass starts when they are done.
 * Nothing the engine needs to continue lives only in memory: labels say what
 * runs, the state file says what was healthy and what failed.
 */
/* A Docker endpoint of the Cluster and its client (borrowed: the caller frees it after the engine). */
struct engine_endpoint {
	const char *name;
	struct docker *docker;
};

struct engine_options {
	const char *instance;		/* the managed-by label value */
	/* Before the names of the containers and networks it makes: NULL for the instance, "" for none. */
	const char *name_prefix;
	const char *state_path;		/* the state file */
	const char *const *extra_labels;	/* "key=value" on every container and volume */
	size_t n_extra_labels;
	int prune;			/* remove containers of deployments gone from the specs */
	int prune_max_percent;		/* at most this share of our containers per pass (default 25) */
	int64_t pass_interval_ms;	/* between passes while something changes (default 500) */
	int64_t resync_ms;		/* between passes when all is quiet (default 10 s) */
	/*
	 * With watch_events: a pass lists an endpoint only when its events
	 * (or an operation of the engine's there) say something changed since
	 * its last list, or its event stream is not up, or relist_ms passed
	 * since that list (default 60 s); otherwise it decides from the last list.
	 */
	int64_t relist_ms;
	int watch_events;		/* follow Docker's events to wake up at once */
	/* Called on the loop after every pass (status updated); may call engine functions except engine_free. */
	void (*on_pass)(struct engine *e, void *arg);
	/*
	 * Optional: called on the loop as a pass's status is about to be built
	 * (on_pass follows), so the holder of the last one may let it go first
	 * rather than hold two: at 10,000 deployments each is about 6 MB.
	 */
	void (*before_status)(struct engine *e, void *arg);
	void *arg;
	/* Fed with probe results (and, by the strategies, release progress); NULL: none. */
	struct auriga_metrics *metrics;
	/* NGINX's error log, quoted when a reload is not served (the operator's setting); NULL: none. */
	const char *router_error_log;
	/* Probe attempts in flight at once, across containers (probe_budget); 0: no cap. */
	unsigned max_probes;
	/* The largest dump a backup before a rollout reads back to hash (backup-max-bytes); 0: that setting's default. */
	size_t backup_max_bytes;
	/*
	 * The Cluster's endpoints, in its order, each with its client: every
	 * one is listed each pass and each replica made on its ordinal's. The
	 * first's client is the d of engine_new. None: d alone, unnamed.
	 */
	const struct engine_endpoint *endpoints;
	size_t n_endpoints;
};

enum engine_outcome {
	ENGINE_RUNNING,		/* work is left, or readiness is awaited */
	ENGINE_CONVERGED,	/* every deployment is healthy at its desired revision */
	ENGINE_ROLLEDBACK,	/* quiet, but some deployment was returned to its last healthy revision */
	ENGINE_FAILED,		/* quiet, but some deployment failed with nothing to return to */
};

const char *engine_outcome_name(enum engine_outcome o);

struct engine *engine_new(struct loop *l, struct docker *d, struct http_client *http,
			  const struct engine_options *o, struct error **err);
/* Stops every probe and watch; operations still running are cancelled with the docker client. */
void engine_free(struct engine *e);

/*
 * What the Git source refuses of the branch head (a signature, a
 * non-fast-forward move), shown as the status's source error ("git: ...")
 * from the next pass on; NULL or "" clears it.
 */
void engine_set_git_error(struct engine *e, const char *msg);

/*
 * Replaces the spec set (the engine owns set from now on; it must be
 * finished with no diags) and the commit it came from ("" for a folder),
 * and runs a pass soon. A new commit lets failed revisions be tried again.
 */
int engine_set_specs(struct engine *e, struct spec_set *set, const char *commit, struct error **err);
/* Runs a pass as soon as possible (events, probe changes, on demand). */
void engine_kick(struct engine *e);
/* Stops starting operations; engine_idle() says when those running have ended (SIGTERM). */
void engine_drain(struct engine *e);
int engine_idle(const struct engine *e);
/*
 * Held, the engine's passes observe only: the containers are listed and the
 * status built, nothing is decided, probed or done (a follower, which does
 * not hold the lease). Released, the next pass (run at once) decides from
 * labels and the state file, as after a restart.
 */
void engine_hold(struct engine *e, int held);
/* A pass now that lists every endpoint, whatever its events said (a sync asked for by hand). */
void engine_relist(struct engine *e);
/* The full relist's interval (engine_options.relist_ms), for a reloaded setting. */
void engine_set_relist(struct engine *e, int64_t ms);
/*
 * Reads the state file and the release records again from disk, in place of
 * what the engine holds: a new leader's, once it wrote there the state its
 * instance shares. Call it while held. ERR_INVALID naming the file.
 */
int engine_state_reload(struct engine *e, struct error **err);

/*
 * Returns a deployment to its last healthy revision (or the one before,
 * when the current one is the last healthy), as an automatic rollback
 * would: ERR_NOTFOUND for an unknown deployment, ERR_CONFLICT when there is
 * no earlier healthy revision to return to.
 */
int engine_rollback(struct engine *e, const char *deployment, const char *reason, struct error **err);

/*
 * Blue-green and canary releases under way: promote skips the current pause
 * or the wait for promotion (full: the new slot takes all traffic at once);
 * abort returns all traffic to the stable slot and removes the new one, as
 * a failed check would, and the revision is not tried again until the
 * commit changes. ERR_NOTFOUND for an unknown deployment, ERR_CONFLICT for
 * one of another strategy or with no release under way.
 */
int engine_promote(struct engine *e, const char *deployment, int full, struct error **err);
int engine_abort(struct engine *e, const char *deployment, const char *reason, struct error **err);

/*
 * Pause holds a Rolling or Recreate deployment at its current step: no
 * container is created for, or removed by, the rollout (what is missing at
 * the target is still healed), its probes go on, and its progress deadline
 * does not run. Resume lets it go on, its deadline counted from then. The
 * mark is kept in the state file, so it survives a restart and a new commit.
 * ERR_NOTFOUND for an unknown deployment; ERR_CONFLICT when it is already
 * paused (pause), not paused (resume), or released blue-green or by canary.
 */
int engine_pause(struct engine *e, const char *deployment, struct error **err);
int engine_resume(struct engine *e, const char *deployment, struct error **err);

enum engine_action {
	ENGINE_PROMOTE,
	ENGINE_PROMOTE_FULL,
	ENGINE_ABORT,
	ENGINE_ROLLBACK,
	ENGINE_PAUSE,
	ENGINE_RESUME,
};

/* "promote", "promote-full", "abort", "rollback", "pause", "resume". */
const char *engine_action_name(enum engine_action a);

/* A release control asked of the engine, by whom and why (reason may be NULL or ""). */
struct engine_request {
	enum engine_action action;
	const char *deployment;
	const char *by;
	const char *reason;
};

/*
 * Carries out a request through the functions above and answers with their
 * verdict: 0 when accepted, which the deployment's status (so its note)
 * records with who asked, why and when; a refusal records nothing.
 */
int engine_control(struct engine *e, const struct engine_request *rq, struct error **err);

enum engine_outcome engine_outcome(const struct engine *e);
/* The status after the last pass; valid until the next pass. */
const struct fleet_status *engine_status(const struct engine *e);
/*
 * Moves the last pass's status into *dst (the caller releases it); the
 * engine's is empty until its next pass. For the one who keeps it (the
 * daemon serves it), so it is not held twice.
 */
void engine_status_take(struct engine *e, struct fleet_status *dst);
/* Passes run so far, and the time the last one took (µs, list to decision). */
unsigned long engine_passes(const struct engine *e);
int64_t engine_last_pass_us(const struct engine *e);
/*
 * How many times the engine wrote its files so far (the state file, its
 * release records): grows by one per write, so a caller that saw a value
 * knows whether they changed since.
 */
unsigned long engine_saves(const struct engine *e);
const char *engine_commit(const struct engine *e);

#endif
