/* The engine's decisions that depend on their inputs alone: turns, rollback, progress, failure, readiness, status. */
#ifndef AURIGA_DECIDE_H
#define AURIGA_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "rollout/rollout.h"

/*
 * Nothing here reads a clock or does I/O: the pass gathers what it observed
 * (the container list, the probe runners' state, the clock) into these
 * structures and carries out what comes back. hack/check-layers.py holds
 * decide.c to the rules of the pure rooms.
 */

/*
 * Which orphans (containers of deployments gone from the specs, or ours with
 * unusable labels) go this pass: at most max_percent of the n containers
 * listed (25 when not positive), at least one, in list order; none while
 * draining. orphan[i] says whether container i is one; go[i] is set to
 * whether it goes. Returns the number of orphans, gone or held back.
 */
size_t decide_prune(const unsigned char *orphan, size_t n, int max_percent, int draining, unsigned char *go);

/* What the pass knows of one observed container of a deployment, for the decisions below. */
struct decide_ctr {
	int at_target;		/* runs the revision the deployment is rolled to */
	int probed;		/* a probe runner watches it */
	int startup_failed;	/* its startup probe failed failureThreshold times */
	int live_failed;	/* its liveness probe failed failureThreshold times */
	int ready;		/* ready, as decide_container said */
};

/*
 * Which containers a liveness failure restarts (removes, for the next pass
 * to make anew): every probed one whose liveness failed, none while the
 * controller drains. Returns how many.
 */
size_t decide_restarts(const struct decide_ctr *v, size_t n, int draining, unsigned char *restart);

enum decide_failure {
	DECIDE_GOING,			/* nothing failed */
	DECIDE_STARTUP_FAILED,		/* a container at the target failed its startup probe */
	DECIDE_DEADLINE_EXCEEDED,	/* no progress for progressDeadlineSeconds */
};

struct decide_deadline_in {
	int turn;		/* the deployment's turn has come */
	int held;		/* held at (returning to) its last healthy revision */
	int complete;		/* the rollout step found it complete */
	int paused;		/* held at its step by hand: no deadline runs */
	int64_t now;		/* loop ms */
	int64_t progress_at;	/* loop ms of the last progress */
	int deadline_seconds;	/* progressDeadlineSeconds */
};

/*
 * Whether a rollout under way has failed: only while it is the deployment's
 * turn, not held, and not complete; a startup failure comes before the
 * deadline. *startup is set to the last probed container at the target that
 * failed its startup probe, *failing to the last probed one at the target
 * that is not ready (the one whose probe failure the reason quotes); n when
 * there is none.
 */
enum decide_failure decide_deadline(const struct decide_deadline_in *in, const struct decide_ctr *v, size_t n,
				    size_t *startup, size_t *failing);

/* Docker's health verdict, as the container list reports it (the values of enum obs_health). */
enum decide_health { DECIDE_HEALTH_NONE, DECIDE_HEALTH_STARTING, DECIDE_HEALTH_HEALTHY, DECIDE_HEALTH_UNHEALTHY };

struct decide_container_in {
	int alive;			/* running (or restarting) */
	int probed;			/* a probe runner watches it */
	/* The runner's state (probe_state). */
	int started, ready, startup_failed;
	unsigned readiness_attempts;
	int64_t ready_since_ms;		/* loop ms ready became 1; -1 while not ready */
	int readiness_none;		/* the spec has no readiness probe */
	int docker_health;		/* readiness is Docker's HEALTHCHECK, its verdict in health */
	/*
	 * With docker_health: the runner also makes the same exec check from
	 * the start until it first passes (started says it did), so readiness
	 * is known before Docker's first check, one interval after the start.
	 */
	int exec_first;
	enum decide_health health;
	int64_t healthy_since;		/* loop ms a pass first saw Docker say healthy; 0 when not */
	int64_t min_ready_ms;		/* minReadySeconds */
	int64_t now;			/* loop ms */
	int64_t wall_now;		/* wall ms */
	int64_t created_ms;		/* wall ms the container was created */
	int64_t born_wall_ms;		/* wall ms the engine was made */
};

struct decide_verdict {
	int known;		/* its readiness is known (not taken for down while unprobed) */
	int ready;
	int available;		/* ready for minReadySeconds */
	int64_t available_at;	/* loop ms it becomes available when nothing changes (ready, minReadySeconds still running); 0 when not */
	int64_t healthy_since;	/* the new value of decide_container_in.healthy_since */
};

/* A container's readiness and availability from its probe state, Docker's health and the clock. */
void decide_container(const struct decide_container_in *in, struct decide_verdict *out);

/* ----------------------------------------------------------- turns */

/*
 * Which earlier deployment this one waits for: the first of an earlier phase
 * not reached (healthy at its desired revision), or a dependsOn not reached,
 * whichever comes first in the specs' order; n when its turn has come. The
 * deployments are in the specs' order, sorted by phase, so the earlier phases
 * are a prefix: *reach_ok keeps how far that prefix was found reached in this
 * pass (0 at its start, and again after a failure, which can undo a reached
 * deployment), so that a pass asks reached() a linear number of times.
 */
struct decide_gate_in {
	const int *phase;		/* every deployment's phase, in the specs' order */
	size_t n;
	size_t self;			/* the deployment deciding */
	const size_t *depends_on;	/* indices of its dependsOn (n: not in the specs) */
	size_t n_depends_on;
	int (*reached)(const void *arg, size_t i);	/* asked only when needed (a look-up in the engine's records) */
	const void *arg;
};

size_t decide_blocker(const struct decide_gate_in *in, size_t *reach_ok);

/*
 * Whether a later phase is still rolling back (returned to its healthy
 * revision and not there yet): a rollback goes phase by phase in reverse, so
 * the deployment self waits for it. rolling_back[i] is read for later phases only.
 */
int decide_later_rollback(const int *phase, const unsigned char *rolling_back, size_t n, size_t self);

struct decide_turn_in {
	int held;		/* its release failed: held at (returning to) its last healthy revision */
	int later_rollback;	/* a later phase still rolls back (asked only when held) */
	int waiting;		/* an earlier deployment it waits for is not there yet (asked only when not held) */
	int failed;		/* failed with nothing to return to */
	int has_healthy;	/* the state file knows a healthy revision of it */
};

enum decide_roll {
	DECIDE_ROLL_TARGET,	/* roll towards the target (its desired revision, or the held one) */
	DECIDE_ROLL_HEALTHY,	/* not its turn: keep its last healthy revision running (heal only) */
	DECIDE_ROLL_NONE,	/* not its turn and nothing healthy known: change nothing */
};

struct decide_turn {
	int turn;		/* its turn has come: it may change */
	enum decide_roll roll;
};

void decide_turn(const struct decide_turn_in *in, struct decide_turn *out);

/* --------------------------------------------------------- rollback */

struct decide_rollback_in {
	int automatic;		/* the engine found it failing (0: by hand, or a failure already recorded) */
	int auto_rollback;	/* the spec's autoRollback (read when automatic) */
	const char *rev;	/* the failed revision (the desired one) */
	const char *healthy_rev;	/* the state file's last healthy revision; NULL when none */
	const char *previous_rev;	/* the healthy one before it; NULL when none */
};

enum decide_back {
	DECIDE_BACK_NONE,	/* nothing to return to: the deployment stops */
	DECIDE_BACK_HEALTHY,	/* back to the last healthy revision */
	DECIDE_BACK_PREVIOUS,	/* the last healthy one is the failed one (a rollback by hand): the one before */
};

/* Whether a failed release goes back, and to which revision. */
enum decide_back decide_rollback(const struct decide_rollback_in *in);

struct decide_cascade_in {
	int failed_phase;	/* the phase of the deployment that failed */
	int phase;		/* this deployment's */
	int rolled_back, failed;	/* already returned, or stopped */
	int runs_new;		/* some container of it runs its desired (new) revision */
};

/* Whether a deployment of a later phase returns with the failed one: only when it already runs its new revision. */
int decide_cascade(const struct decide_cascade_in *in);

/* --------------------------------------------------------- progress */

struct decide_progress_in {
	int turn, was_turn;	/* its turn has come in this pass, in the last */
	int retarget;		/* the target differs from the last pass's (always so after a restart) */
	int complete, was_complete;	/* the rollout step found it complete, now and in the last pass */
	int updated, available;	/* the step's counts */
	int last_updated, last_available;	/* the last pass's */
	int64_t now;		/* loop ms */
	int64_t progress_at;	/* loop ms of the last progress */
	int64_t wall;		/* wall ms */
	int64_t started_at;	/* wall ms the rollout started; 0 when not */
	int64_t recorded;	/* wall ms of the last progress the state file records for this target; 0 none */
	int paused;		/* held at its step by hand: the deadline starts again on resume */
};

enum decide_record {
	DECIDE_RECORD_KEEP,	/* leave the state file's record */
	DECIDE_RECORD_NOW,	/* record progress at wall */
	DECIDE_RECORD_FORGET,	/* complete: forget it */
};

struct decide_progress {
	int64_t progress_at;	/* the new values */
	int64_t started_at;
	int finished_reset;	/* a new rollout: it has not finished */
	int last_updated, last_available;
	enum decide_record record;
};

/*
 * When the deployment last made progress (the deadline counts from there):
 * its turn coming, a new target, a complete deployment losing a container,
 * or more containers updated or available. After a restart in the middle of
 * a rollout, the state file's record carries the deadline on. Progress is
 * recorded at most once a second (a slot held at the router counts on every
 * pass); a complete deployment's record is forgotten, for a restart sees no
 * container ready until the probes run again. A paused deployment counts as
 * making progress on every pass, without recording it: its deadline starts
 * when it is resumed.
 */
void decide_progress(const struct decide_progress_in *in, struct decide_progress *out);

/* ------------------------------------------------------- completion */

struct decide_complete_in {
	int complete, was_complete;	/* the step found it complete, now and in the last pass */
	int turn;
	int held;		/* rolling back */
	int failed;
	size_t n_ops;		/* operations the step asks for */
	int draining;
};

struct decide_complete {
	int record_healthy;	/* the state file records the target healthy */
	int finished;		/* it got there in this pass */
	int clear_error;	/* a deployment that got there has no error to show */
	int record_applied;	/* the state file records the target applied */
	int issue;		/* the step's operations are issued */
};

void decide_complete(const struct decide_complete_in *in, struct decide_complete *out);

/* ------------------------------------------------------------ hooks */

struct decide_hook_in {
	int turn;		/* its turn has come */
	int held;		/* returning to its last healthy revision: no new revision is rolled out */
	/*
	 * The rollout of the target has begun (healthy or applied at it, or a
	 * container runs it): containers of it were touched already, so the
	 * preDeploy hooks are behind it (or were added to the spec later).
	 */
	int begun;
	const unsigned char *done;	/* done[i]: preDeploy hook i completed for the target revision */
	size_t n;
};

/*
 * Which preDeploy hook runs next, in the spec's order: the first not done
 * while the deployment's turn has come for a revision whose rollout has not
 * begun; n when the rollout may go on (all done, none, or no new revision).
 */
size_t decide_pre_deploy(const struct decide_hook_in *in);

struct decide_after_in {
	int turn;		/* its turn has come */
	int held;		/* returning to (or back at) its last healthy revision */
	int complete;		/* the rollout step found it complete at its target */
	/*
	 * postDeploy: the state file records the target healthy already, so its
	 * postDeploy hooks are behind it (or were added to the spec later).
	 */
	int reached;
	const unsigned char *done;	/* done[i]: hook i of the stage ran for the revision */
	size_t n;
};

/*
 * Which postDeploy hook runs next, in the spec's order: the first not done
 * once the deployment is complete at a new revision not yet recorded
 * healthy, in its turn and not held; n when none is to run.
 */
size_t decide_post_deploy(const struct decide_after_in *in);

/*
 * Which onRollback hook runs next, in the spec's order: the first not done
 * once a held deployment is complete at the revision it returned to, in its
 * turn (later phases first); n when none is to run.
 */
size_t decide_on_rollback(const struct decide_after_in *in);

/* ------------------------------------------------------------ status */

/* The values of enum status_phase a deployment or the fleet can have. */
enum decide_phase {
	DECIDE_PHASE_PROGRESSING,
	DECIDE_PHASE_HEALTHY,
	DECIDE_PHASE_DEGRADED,
	DECIDE_PHASE_FAILED,
	DECIDE_PHASE_ROLLEDBACK,
	DECIDE_PHASE_PENDING,	/* its containers run, but no probe has given a verdict yet */
	DECIDE_PHASE_ABORTED,	/* a release stopped by hand (abort): returning to, or back at, the stable revision */
};

struct decide_status_in {
	int failed, rolled_back, complete, blocked;
	int aborted;		/* the rollback was an abort asked for by hand */
	int paused;		/* held at its current step by hand (pause) */
	int replicas;
	long max_unavailable;
	int available, total;	/* available containers, and all observed */
	int ready;		/* ready containers, of any revision (two at one ordinal during a surge) */
	int unknown;		/* running containers no probe has given a verdict on yet */
	int verdicts;		/* running containers with a verdict (ready or not) */
};

struct decide_status {
	enum decide_phase phase;
	int progressing;	/* counts as moving (the summary names the first such) */
	int available;		/* condition Available: at least replicas - maxUnavailable available */
	const char *available_reason;
	int progress_ok;	/* condition Progressing: not failed */
	const char *progress_reason;
	int show_error;		/* the Progressing condition quotes the last error */
	int ready;		/* the ready count shown: never more than replicas */
	int surge;		/* containers past replicas (a surge, or a scale-down under way), shown apart */
};

/*
 * A deployment's phase, conditions and shown counts from its counts and its
 * flags. Pending while its containers run and none has a probe verdict yet
 * (a restarted controller, a fresh apply on a running fleet): a container
 * nobody has judged is neither ready nor down, so it never makes the
 * deployment Degraded either. Ready is capped at replicas; the containers
 * past replicas are counted as surge.
 */
void decide_status(const struct decide_status_in *in, struct decide_status *out);

struct decide_fleet_in {
	size_t n_failed, n_rolled_back, n_progressing;
	size_t n_aborted;	/* of n_rolled_back, those aborted by hand */
	size_t n_pending;
	int running;		/* the engine's outcome is running */
};

enum decide_phase decide_fleet_phase(const struct decide_fleet_in *in);

/*
 * Whether the fleet's summary line names this deployment (the first such):
 * it failed, or is back at its healthy revision for its own failure, not
 * for an earlier phase's.
 */
int decide_summary_names(int failed, int rolled_back, const char *last_error);

/* The values of enum engine_outcome. */
enum decide_outcome { DECIDE_RUNNING, DECIDE_CONVERGED, DECIDE_ROLLEDBACK, DECIDE_FAILED };

struct decide_outcome_dep {
	int failed, rolled_back, complete, blocked;
};

/*
 * The engine's outcome after a pass: running while work is left (operations
 * issued or running, the container list failing, a deployment moving or
 * rolling back, or one blocked behind a phase still moving), else failed,
 * rolled back or converged.
 */
enum decide_outcome decide_outcome(const struct decide_outcome_dep *v, size_t n, int busy);

struct decide_step_in {
	int held;		/* rolling back */
	int complete;
	int paused;		/* held at its step by hand */
	const char *release_step;	/* the blue-green or canary release's step; NULL: the strategy's */
	const char *waiting_for;	/* the deployment it waits for; NULL when none */
};

/* The step shown in the status; ri and res feed rollout_describe when there is no release step. */
void decide_step(const struct decide_step_in *in, const struct rollout_input *ri, const struct rollout_result *res,
		 struct buf *out);

/* The step of a deployment standing still (DECIDE_ROLL_NONE): for whom it waits (NULL: none), or that it stopped. */
void decide_step_standing(const char *waiting_for, struct buf *out);

#endif
