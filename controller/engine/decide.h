/* The engine's decisions that depend on their inputs alone: prune share, failure, liveness restarts, readiness. */
#ifndef AURIGA_DECIDE_H
#define AURIGA_DECIDE_H

#include <stddef.h>
#include <stdint.h>

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
	int64_t healthy_since;	/* the new value of decide_container_in.healthy_since */
};

/* A container's readiness and availability from its probe state, Docker's health and the clock. */
void decide_container(const struct decide_container_in *in, struct decide_verdict *out);

#endif
