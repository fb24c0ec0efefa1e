/* Traffic strategies (blue-green and canary): two slots of one deployment, and the router weights between them. */
#ifndef AURIGA_TRAFFIC_H
#define AURIGA_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>

#include "model/observe.h"
#include "rollout/rollout.h"
#include "spec.h"

/*
 * A deployment released blue-green or by canary runs in two slots, labelled
 * auriga.io/slot=blue and green. The stable slot holds the last healthy
 * revision and takes the traffic; the new revision is made in the other
 * slot beside it, and traffic moves at the router: all at once (blue-green,
 * after the smoke test and pre-promotion analysis) or in the canary's
 * steps. The decision is pure and level-triggered like rollout_step: the
 * containers and their readiness, the last healthy revision, the record
 * below (kept in a state file) and the verdict of the check that runs
 * (smoke test or analysis) are the whole input; a controller killed at any
 * moment recomputes the same decision from them.
 *
 * Blue slot containers publish hostPort + ordinal, green ones hostPort +
 * replicas + ordinal (spec_deployment_host_port_span), so the two never
 * clash; containers of an earlier Rolling or Recreate release (slot "")
 * use blue's ports and so count as blue.
 */

#define TRAFFIC_SLOT_BLUE "blue"
#define TRAFFIC_SLOT_GREEN "green"

/* What must outlive the process about one release (the revision in rev). */
struct traffic_record {
	char rev[SPEC_REVISION_HEX];	/* "" when none */
	int switched;			/* the active service points at the new slot */
	int64_t switched_at;		/* wall ms of the switch (scale-down delay and window count from it) */
	int step;			/* canary: steps done */
	int weight;			/* canary: the new slot's share (0..100) now */
	int64_t step_at;		/* wall ms the current pause began, 0 when none */
	int smoke_ok;			/* the smoke test passed */
	int pre_ok;			/* the pre-promotion analysis passed */
	int promote;			/* asked: skip the current pause, or the wait for promotion */
	int full;			/* asked: finish at once */
	/*
	 * Canary: the revision whose slot is being left and the share the
	 * router still gives it. A return to the stable revision (an abort, a
	 * failed step) keeps routing it until the stable slot has every
	 * replica ready again; then the share drops to 0.
	 */
	char left_rev[SPEC_REVISION_HEX];
	int left_weight;
};

/* The checks a release runs: the smoke-test Job and analysis runs. */
enum traffic_check_kind {
	TRAFFIC_CHECK_NONE,
	TRAFFIC_CHECK_SMOKE,		/* blue-green: the smoke-test Job against the preview */
	TRAFFIC_CHECK_PRE,		/* blue-green: prePromotionAnalysis against the new slot */
	TRAFFIC_CHECK_WINDOW,		/* blue-green: the same templates during the monitor window */
	TRAFFIC_CHECK_STEP,		/* canary: an analysis step (check_step is its index) */
};

const char *traffic_check_name(enum traffic_check_kind k);

enum traffic_check_state { TRAFFIC_CHECK_RUNNING, TRAFFIC_CHECK_PASSED, TRAFFIC_CHECK_FAILED };

struct traffic_ctr {
	const struct obs_container *c;
	int ready;		/* the readiness probe passes now */
	int unknown;		/* not probed yet (a controller just started): not ready, but not lost either */
};

struct traffic_input {
	const char *deployment;
	const char *name_prefix;	/* before the names of containers it creates (desired.name_prefix) */
	const struct spec_strategy *strategy;	/* BlueGreen or Canary */
	int replicas;
	const char *rev;		/* the target revision */
	const char *stable_rev;		/* the last healthy revision, NULL when none */
	int rollback;			/* the target is a revision returned to: no steps, straight to 100 % */
	int heal_only;			/* not its turn: only restore the target slot */
	/*
	 * A canary's stable slot keeps every replica until the release ends
	 * (Argo Rollouts' default under traffic routing): on Swarm, which
	 * chooses itself the task a smaller service loses, so one the router
	 * still sends requests to could go.
	 */
	int stable_full;
	int64_t now;			/* wall ms */
	const struct traffic_ctr *v;
	size_t n;
	/* The check that runs or ran for this revision, and its verdict. */
	enum traffic_check_kind check;
	int check_step;
	enum traffic_check_state check_state;
	const char *check_msg;
};

struct traffic_result {
	struct rollout_result res;	/* operations (with their slot) and counts; complete when done */
	char new_slot[8];		/* the slot of the target revision */
	int new_weight;			/* share of the active service for the new slot, 0..100 */
	int preview_new;		/* the preview service points at the new slot */
	enum traffic_check_kind want;	/* the check to run now (NONE: none) */
	int want_step;
	char *fail;			/* the release failed: why (switch back, remove the new slot) */
	int holding;			/* waiting on purpose (pause, window, promotion): not stuck */
	int more;			/* complete, but containers outside the new slot are still to go */
	char *step;			/* "canary api 20% (step 3 of 7): analysis", for status */
	/*
	 * The active service's routes: per input container (in->n entries)
	 * its server weight, TRAFFIC_ROUTE_BACKUP for a backup server, 0 when
	 * NGINX must not send it anything.
	 */
	int *route;
	/* Each slot's containers as the status shows them: the new slot first, then the other. */
	struct traffic_slot_count {
		char slot[8];
		int ready;	/* ready containers of the slot the release keeps */
		int desired;	/* the containers the slot runs at this weight */
	} slots[2];
};

#define TRAFFIC_ROUTE_BACKUP (-1)

void traffic_result_release(struct traffic_result *r);

/* 1 when a container belongs to the slot (slot "" counts as blue). */
int traffic_in_slot(const struct obs_container *c, const char *slot);
/* The host port offset of ordinal in slot. */
int traffic_port_offset(const char *slot, int replicas, int ordinal);

/*
 * Canary replicas follow the weight, as Argo Rollouts scales a canary:
 * at weight w of r replicas the new slot runs ceil(r*w/100) containers
 * (at least one, so a step before the first setWeight has something to
 * probe and analyse) and the stable slot ceil(r*(100-w)/100) (at least one
 * while w < 100, none at 100).
 */
int traffic_canary_new_count(int replicas, int weight);
int traffic_canary_stable_count(int replicas, int weight);
/*
 * Server weights that give n_new servers w % of the requests together and
 * n_old servers the rest (each between 1 and 1000; the shares are exact
 * while both products fit, rounded otherwise). 100 each when one side has
 * no server.
 */
void traffic_server_weights(int w, int n_new, int n_old, int *w_new, int *w_old);

/*
 * The decision of one pass. rec is read and updated (reset when it is about
 * another revision); the caller saves it when it changed.
 */
void traffic_decide(const struct traffic_input *in, struct traffic_record *rec, struct traffic_result *out);

/* The strategies' own progress, once the new slot is complete and ready (strategy_*.c). */
void strategy_bluegreen_progress(const struct traffic_input *in, struct traffic_record *rec,
				 struct traffic_result *out);
void strategy_canary_progress(const struct traffic_input *in, struct traffic_record *rec,
			      struct traffic_result *out);

#endif
