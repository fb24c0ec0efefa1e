/* Placement: which Docker endpoint each ordinal of a deployment runs on, decided from what it is given. */
#ifndef AURIGA_PLACEMENT_H
#define AURIGA_PLACEMENT_H

#include <stddef.h>

#include "kv.h"

struct spec_placement;

/* One endpoint of the Cluster, as the assignment sees it. */
struct placement_endpoint {
	const char *name;
	const struct kv *labels;
	size_t n_labels;
	int down;	/* it does not answer (its breaker is open): it takes no new replica */
	int leave;	/* down for the deployment's grace period: its replicas there are placed anew */
};

/*
 * What one deployment's assignment starts from. current[o] is the index (into
 * endpoints) of the endpoint ordinal o is recorded on, -1 for none; current
 * may be NULL (a deployment placed for the first time).
 */
struct placement_request {
	const struct placement_endpoint *endpoints;	/* the Cluster's, in its order */
	size_t n_endpoints;
	const struct spec_placement *placement;		/* NULL: every endpoint, no bound, spread evenly */
	int replicas;
	const int *current;
	/*
	 * A replica on an endpoint that is down stays there (and counts there)
	 * unless move_down is set, or that endpoint's leave: stateful replicas
	 * never move, stateless ones only once the caller's grace period is over.
	 */
	int move_down;
};

/* 1 when endpoint e may run replicas of placement p (its names, its selector, its spreadBy label). */
int placement_eligible(const struct spec_placement *p, const struct placement_endpoint *e);

/*
 * Gives each ordinal 0..replicas-1 an endpoint in out[] (indexes into
 * endpoints; -1 when none may take it). Stable: an ordinal keeps the
 * endpoint it is recorded on while that endpoint is eligible and within
 * maxPerEndpoint (lower ordinals first), and while it is down unless
 * move_down or the endpoint's leave. The others go, in ordinal order, to an eligible endpoint that
 * is up and below maxPerEndpoint: with spreadBy, to the label value holding
 * the fewest replicas, then within it to the endpoint holding the fewest;
 * ties go to the endpoint listed first. Returns how many ordinals got none.
 */
int placement_assign(const struct placement_request *r, int *out);

/* The most replicas out[] puts on one endpoint, and which (its index in *at; -1 when out is empty). */
int placement_max_on_one(const int *out, int replicas, size_t n_endpoints, long *at);

#endif
