/* The engine's side of blue-green and canary: release records, the router, smoke-test Jobs and analysis runs. */
#ifndef AURIGA_ENGINE_TRAFFIC_H
#define AURIGA_ENGINE_TRAFFIC_H

#include <stddef.h>

#include "error.h"
#include "model/desired.h"
#include "rollout/rollout.h"
#include "spec.h"

struct loop;
struct docker;
struct http_client;
struct engine_traffic;
struct status_deployment;
struct engine_router;
struct auriga_metrics;

/*
 * Owned by the engine. It keeps one release record per deployment in
 * "<state file>.traffic" (written atomically, read back at start), applies
 * the router (from the Cluster's spec.router, made on first use) and runs
 * the checks the decision asks for: the smoke-test Job as a one-shot
 * container in the network namespace of a container of the new slot (so it
 * reaches the release under test on 127.0.0.1 and nothing of the host's
 * network; AURIGA_PREVIEW_URL, AURIGA_PREVIEW_HOST and AURIGA_PREVIEW_PORT
 * tell it where), and analysis runs against the new slot's containers. A finished check calls kick(arg) to run a pass.
 */
struct engine_traffic *engine_traffic_new(struct loop *l, struct docker *d, struct http_client *h,
					  const char *state_path, void (*kick)(void *arg), void *arg,
					  struct error **err);
void engine_traffic_free(struct engine_traffic *t);
/*
 * One of the Cluster's endpoints, named as its containers' endpoint label
 * says (d borrowed): a smoke test or verification Job beside a container
 * of that endpoint runs there. Once one is added, a container of an
 * endpoint not added gets none (its check fails saying so); with none
 * added every Job runs on the client given to engine_traffic_new.
 */
void engine_traffic_add_endpoint(struct engine_traffic *t, const char *name, struct docker *d);
/* Reads the release records file again, in place of every record and check held (a new leader's). */
int engine_traffic_reload(struct engine_traffic *t, struct error **err);
/* The release records file kept beside the state file at state_path (freed by the caller). */
char *engine_traffic_records_path(const char *state_path);
/* How many times the release records file was written so far. */
unsigned long engine_traffic_saves(const struct engine_traffic *t);
/*
 * Where release progress goes (borrowed; NULL: nowhere): the share of traffic
 * the router gives the new slot while a release is under way
 * (auriga_canary_weight_percent, 0 once it is complete or rolled back) and
 * every analysis measurement's result (auriga_analysis_results_total).
 */
void engine_traffic_set_metrics(struct engine_traffic *t, struct auriga_metrics *m);
/* NGINX's error log for the router (copied; NULL or "": none), from the operator's settings. */
void engine_traffic_set_router_error_log(struct engine_traffic *t, const char *path);
/* The spec set and desired state in use (borrowed until the next call). */
void engine_traffic_set_specs(struct engine_traffic *t, const struct spec_set *set, const struct desired *d);

/* 1 when the deployment is released blue-green or by canary. */
int engine_traffic_handles(const struct desired_deployment *dd);

struct engine_traffic_verdict {
	char *fail;		/* the release failed: why (the engine fails the deployment) */
	char *step;		/* status text */
	int holding;		/* waiting on purpose: no progress deadline */
	int more;		/* complete, but the old slot is still to be released: not quiet yet */
	/*
	 * NGINX is not yet seen serving the routes of this pass (a change being
	 * confirmed, readiness not known yet): a container they leave out must
	 * keep running until it is.
	 */
	int unserved;
	/* Each slot's containers, ready against what it runs now (the new slot first; "" when none). */
	struct engine_traffic_slot {
		char slot[8];
		int ready, desired;
	} slots[2];
};

/*
 * One deployment's pass: the decision (traffic_decide) on its containers,
 * the router set to the resulting weights (only once every routed
 * container's readiness is known, so a restarted controller never empties
 * an upstream NGINX still serves from), the check the decision wants
 * started. out receives the operations (created containers carry their
 * slot) and counts.
 */
void engine_traffic_pass(struct engine_traffic *t, const struct desired_deployment *dd, const char *rev,
			 const char *stable_rev, int rollback, int heal_only, const struct rollout_ctr *v, size_t n,
			 struct rollout_result *out, struct engine_traffic_verdict *verdict);
void engine_traffic_verdict_release(struct engine_traffic_verdict *v);

/*
 * Promote: skips the current pause or the wait for promotion (full: finishes
 * the release at once). ERR_CONFLICT when no release of rev is under way.
 */
int engine_traffic_promote(struct engine_traffic *t, const char *deployment, const char *rev, int full,
			   struct error **err);
/*
 * Drops the removal of every running container from res: NGINX may still
 * send traffic to it, so it goes once the router has moved off it, a pass
 * later.
 */
void engine_traffic_keep_routed(struct rollout_result *res);
/* The router the releases and the Services of every other deployment share. */
struct engine_router *engine_traffic_router(struct engine_traffic *t);

/*
 * The verifications dd's release declares, with their verdicts for dd's
 * revision, onto sd (verify_book_status): what the status note says of them.
 */
void engine_traffic_verification(const struct engine_traffic *t, const struct desired_deployment *dd,
				 struct status_deployment *sd);

/* 1 when a release of rev is under way (not yet complete). */
int engine_traffic_in_progress(const struct engine_traffic *t, const char *deployment, const char *rev);

#endif
