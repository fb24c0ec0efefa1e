/* One rollout step of one deployment: from its containers and their readiness, the changes allowed now. */
#ifndef AURIGA_ROLLOUT_H
#define AURIGA_ROLLOUT_H

#include <stddef.h>

#include "buf.h"
#include "model/desired.h"
#include "model/observe.h"

/*
 * The executor is level-triggered: every pass it calls rollout_step for each
 * deployment whose turn it is, with what runs now, and carries out the
 * operations returned; the next pass sees their effect in the labels. So a
 * controller killed between any two calls loses nothing: the step recomputes
 * from the containers themselves. Pure: no I/O and no clock (readiness and
 * availability are inputs), unit-tested with tables.
 *
 * Kubernetes semantics for Rolling: at most replicas + maxSurge containers
 * exist and at least replicas - maxUnavailable ordinals are available
 * (ready for minReadySeconds) at every step. Recreate stops an ordinal's old
 * container first and then starts the new one on the same named volumes,
 * never more than the disruption budget at once.
 */

struct rollout_ctr {
	const struct obs_container *c;
	int known;		/* its probes have answered (or it is not running): availability is a fact */
	int ready;		/* the readiness probe passes now */
	int available;		/* ready for at least minReadySeconds */
};

struct rollout_input {
	const char *deployment;
	const char *name_prefix;	/* before the names of containers it creates (desired.name_prefix) */
	enum spec_strategy_type strategy;
	int replicas;
	long max_surge;
	long max_unavailable;
	const char *rev;		/* the target revision */
	const struct desired_tmpl *tmpl;	/* its template (host ports, image for drift) */
	int heal_only;		/* not this deployment's turn: only restore what is missing or stopped at the target */
	const struct rollout_ctr *v;	/* the deployment's containers, sorted by ordinal */
	size_t n;
	int service_at_target;	/* Swarm: its service's spec is the target's (revision and replicas) */
	const char *service;	/* Swarm: its service's name ("<prefix>-<deployment>"); NULL: the deployment's */
};

enum rollout_op_kind {
	ROLLOUT_CREATE,		/* create and start a container at the target */
	ROLLOUT_START,		/* start a stopped container at the target */
	ROLLOUT_REMOVE,		/* stop and remove a container */
	ROLLOUT_SERVICE,	/* Swarm: the deployment's service made or updated to the target (rollout_swarm_step) */
};

const char *rollout_op_name(enum rollout_op_kind k);

struct rollout_op {
	enum rollout_op_kind kind;
	int ordinal;
	const struct obs_container *c;	/* START and REMOVE */
	char *name;			/* CREATE: the container name */
	int port_offset;		/* CREATE: added to each hostPort */
	char slot[8];			/* CREATE: the auriga.io/slot label ("" for rolling and recreate) */
	int stable;			/* CREATE: at the last healthy revision (a canary's stable slot grown back) */
	int replicas;			/* SERVICE of a slot: the tasks it runs (0: it goes); else the deployment's */
	char *why;
};

struct rollout_result {
	struct rollout_op *ops;
	size_t n_ops;
	/* Counts over ordinals below replicas, as Kubernetes reports them. */
	int updated;		/* ordinals with a container at the target */
	int ready;		/* containers ready (any revision) */
	int available;		/* ordinals available (any revision) */
	int total;		/* containers of the deployment */
	int complete;		/* every ordinal has exactly one container, at the target, available; nothing else */
	int waiting;		/* nothing to do now, but not complete: waiting on readiness */
	int held;		/* Swarm, not asked: 1 the update would take more down than the budget allows, 2 what serves is not known yet */
};

void rollout_result_release(struct rollout_result *r);
void rollout_step(const struct rollout_input *in, struct rollout_result *out);

/* Strategy steps (strategy_rolling.c, strategy_recreate.c), after the common cleanup. */
struct rollout_slot {
	int ordinal;
	const struct rollout_ctr *cur;	/* at the target, alive */
	const struct rollout_ctr *old[4];	/* other revisions at this ordinal */
	size_t n_old;
	int avail;		/* some container of the ordinal is available */
	int busy;		/* an operation on this ordinal was already chosen this step */
};

void rollout_add_op(struct rollout_result *r, enum rollout_op_kind k, int ordinal, const struct obs_container *c,
		    const char *name, int port_offset, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
/*
 * A name and port offset for a new container of slot s that clashes
 * neither with what runs nor with a container r already creates.
 */
void rollout_new_identity(const struct rollout_input *in, const struct rollout_slot *s,
			  const struct rollout_result *r, char **name, int *port_offset);
void strategy_rolling_step(const struct rollout_input *in, struct rollout_slot *slots, struct rollout_result *r);
void strategy_recreate_step(const struct rollout_input *in, struct rollout_slot *slots, struct rollout_result *r);
/*
 * A deployment on Swarm (strategy_swarm.c): Swarm makes, replaces and
 * removes the tasks, so the step only counts them (a task is its
 * container; one that stopped is history and not counted) and, when it is
 * its turn and the service's spec is not the target's, asks for one
 * operation, ROLLOUT_SERVICE: the service brought to the target. Complete
 * needs the service at the target too. An update Swarm makes stop-first
 * takes up to its parallelism of available tasks down at once: while that
 * would leave fewer available than the disruption budget allows (tasks on
 * a node that is down count as unavailable), it is not asked (held).
 */
void rollout_swarm_step(const struct rollout_input *in, struct rollout_result *out);

/*
 * A blue-green or canary release on Swarm: each slot is a service,
 * "<prefix>-<deployment>-<slot>", whose task in Swarm's slot k is the
 * container of ordinal k - 1. The release's operations on containers
 * (traffic_decide, after the router's hold of removals) become at most one
 * ROLLOUT_SERVICE per service, in res: with creates, the slot's service at
 * their revision (stable: the last healthy one) with the ordinals it keeps
 * and gains; with removals alone, scaled to the ordinals it keeps, or gone
 * (replicas 0) when it keeps none. A stopped task Swarm restarts itself.
 * Removals are only ever of a slot's highest ordinals or of all of it
 * (traffic_input.stable_full), so Swarm, which picks the tasks a smaller
 * service loses, can only take unrouted ones.
 */
void rollout_swarm_slots(struct rollout_result *res, const struct rollout_ctr *v, size_t n, const char *name_prefix,
			 const char *deployment);

/*
 * A deployment with a volume per replica on a swarm of several nodes:
 * each ordinal is a service of one task, "<prefix>-<deployment>-<ordinal>",
 * pinned to a node, so that its task always starts where its volume is.
 * The rollout is rollout_step's over the tasks' containers; what it asks
 * of an ordinal's container is asked of the ordinal's service, in res: at
 * the target (made, or updated: Swarm stops its task, then starts the new
 * one on the same node), or gone when the ordinal is past the replicas.
 * A stopped task Swarm restarts itself.
 */
void rollout_swarm_ordinals(struct rollout_result *res, int replicas, const char *name_prefix,
			    const char *deployment);

/*
 * How Swarm replaces a service's tasks for a strategy: Rolling with a surge
 * starts the new tasks first, max_surge at a time; anything else stops old
 * ones first, max_unavailable at a time (at least one).
 */
void rollout_swarm_order(enum spec_strategy_type strategy, long max_surge, long max_unavailable, int *start_first,
			 int *parallelism);

/* "rolling business-2 5/7", "recreate validators 2/5", "waiting for phase 2": for status. */
void rollout_describe(const struct rollout_input *in, const struct rollout_result *r, struct buf *out);

#endif
