/* The plan: a pure diff from desired to observed state, as ordered actions grouped by phase. */
#ifndef AURIGA_PLAN_H
#define AURIGA_PLAN_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "engine/statefile.h"
#include "model/desired.h"
#include "model/observe.h"

/*
 * plan_build looks at each desired deployment's target (its desired
 * revision, or the last healthy one when the desired revision failed at this
 * commit and is held back), and at every container auriga owns, and says
 * what must happen for them to match: no I/O, no clock, so the same inputs
 * always give the same plan. The rollout executor decides the order and pace
 * (strategy, budget, probes); the plan only says what differs and why.
 */
enum plan_kind {
	PLAN_CREATE,		/* an ordinal below replicas has no container */
	PLAN_REPLACE,		/* an ordinal runs another revision, or drifted from its template */
	PLAN_START,		/* the ordinal's container is at the target but not running */
	PLAN_REMOVE_SUPERSEDED,	/* an old container beside its replacement (a rollout in progress) */
	PLAN_REMOVE_DUPLICATE,	/* a second container at the target for one ordinal */
	PLAN_SCALE_DOWN,	/* an ordinal at or above replicas */
	PLAN_REMOVE_ORPHAN,	/* a deployment gone from the specs (prune), or unusable labels */
	PLAN_KIND_COUNT
};

const char *plan_kind_name(enum plan_kind k);

struct plan_action {
	enum plan_kind kind;
	char *deployment;
	int ordinal;		/* -1 for malformed containers */
	char *container;	/* container name: existing, or the one create will use */
	char *container_id;	/* NULL for creates */
	char *from_rev;		/* NULL for creates */
	char *to_rev;		/* NULL for removals */
	char *reason;
	char *host;		/* the Docker endpoint it happens on: its container's, a create's by plan_place */
	char *node;		/* a Swarm task's: the node it runs on; NULL else */
};

struct plan_deployment {
	char *name;
	char *role;
	int phase;
	const char *strategy;	/* "Rolling", "Recreate", ... */
	char to_rev[SPEC_REVISION_HEX];
	char *from_rev;		/* the revision most of its containers run now; NULL when none */
	int desired;
	int observed;		/* containers of it now */
	int up_to_date;		/* ordinals below replicas at the target and running */
	int held;		/* the desired revision failed at this commit: the target is the last healthy one */
	char *held_reason;
	/*
	 * The held template (taken back from the state file) is one the
	 * operator's policy refuses now: "cannot roll back: revision REV:
	 * FIELD: message", as apply fails it; or what only the engine can tell
	 * (plan_refuse: a network that is not auriga's). No action is listed.
	 */
	char *refused;
	char **backups;		/* the BackupPolicies (spec.before) whose backup the change takes first */
	size_t n_backups;
	char **hooks;		/* the preDeploy hooks the change runs first (Job names) */
	size_t n_hooks;
	char **post_hooks;	/* the postDeploy hooks it runs once healthy at the new revision */
	size_t n_post_hooks;
	/* The onRollback hooks: run should the change be rolled back, or (held) once back, when not run yet. */
	char **rollback_hooks;
	size_t n_rollback_hooks;
	char **diff;		/* template field diffs, from -> to; NULL-terminated */
	size_t n_diff;
	struct plan_action *actions;
	size_t n_actions;
};

struct plan {
	struct plan_deployment *deps;	/* in phase order, then by name */
	size_t n_deps;
	struct plan_action *orphans;	/* deployments not in the specs, malformed containers */
	size_t n_orphans;
	size_t n_kept;		/* orphan containers left alone because prune is off */
	int n_phases;
	size_t counts[PLAN_KIND_COUNT];
	size_t n_changes;	/* every action, orphans included */
	size_t n_refused;	/* deployments refused (plan_deployment.refused) */
};

struct plan_options {
	int prune;		/* remove the containers of deployments gone from the specs */
	/*
	 * Hold a template taken back from the state file against the policy in
	 * force, as apply does: set's (NULL: the built-in one) and its Cluster's.
	 */
	int check_policy;
	const struct spec_set *set;
};

/*
 * How many fields of template t (revision rev) the policy in force for set
 * refuses (set NULL: the built-in policy); the first as "revision REV: FIELD:
 * message" in msg.
 */
size_t plan_tmpl_refused(const struct spec_set *set, const struct desired_tmpl *t, const char *rev, char *msg,
			 size_t n);

/* The revision and template a deployment should run, with the rollback hold applied. */
struct plan_target {
	const char *rev;
	const struct desired_tmpl *tmpl;
	int held;
	const char *name_prefix;	/* desired.name_prefix: the names of containers it creates */
};
void plan_target(struct plan_target *t, const struct desired *d, const struct desired_deployment *dd,
		 const struct statefile *st);

/*
 * Which preDeploy hooks of dd stand before its rollout to rev (decide_pre_deploy
 * over the state file's records): done[i] is set for each one completed;
 * returns the next to run, or dd's n_pre_deploy when none stands in the way.
 * turn: its turn has come; held: it returns to its last healthy revision.
 */
size_t plan_pre_deploy(const struct desired_deployment *dd, const struct statefile *st,
		       const struct obs_deployment *od, const char *rev, int turn, int held, unsigned char *done);
/* The same over any stage's list of jobs run before a rollout: the next to run, or n. */
size_t plan_before_rollout(const struct desired_deployment *dd, const struct statefile *st,
			   const struct obs_deployment *od, const char *rev, int turn, int held, const char *stage,
			   char *const *jobs, size_t n, unsigned char *done);

/* The state file's stage of a backup before a rollout: its records are "backup/POLICY". */
#define PLAN_BACKUP_STAGE "backup"

/*
 * The BackupPolicies of set whose spec.before names dd, into *names (*n of
 * them, NULL-terminated; the caller frees it), and which one stands next
 * before its rollout to rev (as plan_pre_deploy), or *n when none does.
 */
size_t plan_backups_before(const struct spec_set *set, const struct desired_deployment *dd,
			   const struct statefile *st, const struct obs_deployment *od, const char *rev, int turn,
			   int held, char ***names, size_t *n);

/* done[i]: hook jobs[i] of stage ("postDeploy") ran for rev of the deployment, as the state file records. */
void plan_hooks_done(const struct statefile *st, const char *deployment, const char *rev, const char *stage,
		     char *const *jobs, size_t n, unsigned char *done);

/*
 * Refuses deployment in p with why (apply would fail it when it reaches the
 * engine): its actions are dropped from the plan and the counts. 1 when it
 * is in the plan and was not refused already, else 0.
 */
int plan_refuse(struct plan *p, const char *deployment, const char *why);

void plan_init(struct plan *p);
void plan_release(struct plan *p);
/* st may be NULL (no memory of earlier runs). */
void plan_build(struct plan *p, const struct desired *d, const struct observed *o, const struct statefile *st,
		const struct plan_options *opt);

/* terraform-plan-like text; color adds ANSI colours (for a terminal). */
void plan_render_text(const struct plan *p, const struct desired *d, struct buf *out, int color);
json_t *plan_to_json(const struct plan *p, const struct desired *d);
/*
 * Gives each create its endpoint: its ordinal's by the deployment's placement
 * (set: the specs the desired state was built from). An action on a container
 * has its container's already.
 */
void plan_place(struct plan *p, const struct desired *d, const struct observed *o, const struct spec_set *set);

const char *plan_strategy_name(enum spec_strategy_type t);

#endif
