/* The engine's private state, shared by its files: the pass (engine.c), probes, Docker operations and status. */
#ifndef AURIGA_ENGINE_INTERNAL_H
#define AURIGA_ENGINE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "docker/docker.h"
#include "engine/engine.h"
#include "engine/engine_traffic.h"
#include "engine/plan.h"
#include "engine/statefile.h"
#include "model/desired.h"
#include "model/observe.h"
#include "probe/probe.h"
#include "rollout/rollout.h"
#include "strmap.h"

#define COMPONENT "engine"

/* The hook stages, in the order of a rollout. */
enum engine_hook_stage { ENGINE_HOOK_PRE, ENGINE_HOOK_POST, ENGINE_HOOK_ROLLBACK, ENGINE_HOOK_BACKUP };

/* What the engine remembers about a deployment between passes (rebuilt from labels after a restart). */
struct eng_dep {
	char *name;
	char target[SPEC_REVISION_HEX];	/* the target of the last pass */
	int turn;			/* its turn had come in the last pass */
	int64_t progress_at;		/* loop ms of the last progress (the deadline counts from here) */
	int last_updated, last_available;
	int failed;			/* failed with nothing to return to: left alone until the specs change */
	int rolled_back;		/* returned to its last healthy revision in this run */
	int complete;
	int blocked;
	int aborted;			/* rolled_back by an abort asked for by hand */
	int paused;			/* held at its step by hand (the state file's mark, as of the last pass) */
	int unknown, verdicts;		/* running containers without a probe verdict yet, and with one */
	char *last_error;
	/* The last release control accepted for it (engine_control), shown in the status. */
	char *action, *action_by, *action_reason;
	int64_t action_at;		/* wall ms */
	int64_t started_at, finished_at;	/* wall ms */
	unsigned restarts;		/* liveness restarts, reported in the status */
	struct rollout_result res;
	struct engine_traffic_slot slots[2];	/* blue-green and canary: each slot's containers, for the status */
	char *step;
	enum status_phase phase;
	char rev_shown[SPEC_REVISION_HEX];
	int seen;
	int *place;			/* each ordinal's endpoint this pass (an index into engine.hosts; -1: none) */
	int n_place;
	struct job_run *hook;		/* the hook Job under way, or NULL */
	char *hook_name;		/* its Job's name */
	enum engine_hook_stage hook_stage;	/* its stage */
};

/* One probe runner per running container of a desired deployment, keyed by container id. */
struct eng_probe {
	struct engine *e;
	char *id;
	char *deployment;
	/*
	 * NULL when it could not be made (then it is never ready), or when the
	 * deployment has no probe auriga runs (bare).
	 */
	struct probe_runner *r;
	/*
	 * No startup, readiness or liveness probe of auriga's (Docker's health
	 * check may still judge it): started and ready from bare_since, as a
	 * runner with nothing to run would say, without its 2 kB.
	 */
	int bare;
	int64_t bare_since;
	int exec_first;		/* its startup slot is the exec readiness check made until it first passes */
	int seen;
	int64_t healthy_since;	/* loop time a pass first saw Docker's health say healthy; 0 when not */
	/*
	 * Liveness failed and NGINX is not yet seen serving the routes without
	 * it: kept running until it is (logged once). Reset when it is
	 * restarted, or when its liveness no longer fails.
	 */
	int leaving_router;
};

/* One Docker endpoint the engine drives: its client, its event stream, its last list. */
struct eng_host {
	struct engine *e;
	char *name;		/* the Cluster's name for it; NULL: the one client of an engine given no endpoints */
	struct docker *docker;	/* borrowed from the caller */
	struct docker_watch *watch;
	struct job_runner *jobs;	/* its Jobs (hooks); the first endpoint's are engine.hooks too */
	struct observed *seen;	/* its last container list that answered, read; NULL before the first */
	int seen_lent;		/* e->obs, the union, points at seen's containers (tagged there) */
	int union_down;		/* down when the union was built (its containers tagged unreachable or not) */
	/* The list the union points into when seen has been replaced since: freed when the union is built again. */
	struct observed *lent;
	struct observe_stream *reading;	/* the list under way, read as it arrives */
	int listing;		/* a list of its is under way (perhaps of an earlier pass) */
	/*
	 * The cache: its last list is current while its event stream is up
	 * (stream_up), nothing changed there since the list began (dirty: an
	 * event, or an operation of the engine's), and relist_ms has not passed
	 * since (listed_ms, loop time the list began).
	 */
	int stream_up;
	int dirty;
	int64_t list_began_ms;	/* of the list under way */
	int64_t listed_ms;	/* of the last list that answered */
	int relist_due;		/* the list under way is the periodic one: what it corrects is counted */
	unsigned long skipped;	/* docker_events_skipped when the last list began: one more is a change unknown */
	/*
	 * The heartbeat: a cached endpoint that said nothing (list, event,
	 * answer to an operation) for resync_ms is pinged; a ping that fails or
	 * is not answered within the lists' deadline makes it dirty, so the next
	 * pass lists it and finds it down. A hung daemon keeps its event stream
	 * open and quiet: without this, it would look up until the relist.
	 */
	int64_t heard_ms;	/* loop time it last answered */
	int pinging;
	int64_t ping_sent_ms;
	uint64_t ping_timer;
	int awaited;		/* this pass waits for that list (lists_pending counts it) */
	int down;		/* its last list failed: nothing is done there, its replicas count as unavailable */
	int64_t down_since;	/* loop time of its first failed list after it answered */
	char *error;		/* why, while down */
	char *address;		/* where its published ports are reached, when not this machine's loopback */
	/* A swarm's services as its last list saw them: name -> {"revision", "replicas", "id", "version"}. */
	json_t *swarm_services;
	size_t swarm_nodes;	/* and how many nodes it has */
	json_t *swarm_node_list;	/* GET /nodes's last answer */
	json_t *swarm_placed;	/* where each replica last ran (observe_swarm_moves) */
	json_t *swarm_moves;	/* the latest replicas Swarm moved, oldest first, each with its "at" (wall ms) */
};

/* One operation on Docker: a short chain of calls. */
struct eng_op {
	struct engine *e;
	struct eng_host *host;	/* where it is carried out */
	struct eng_op *next, **pprev;
	enum rollout_op_kind kind;
	char *deployment;
	char *id;		/* START, REMOVE */
	char *name;
	struct desired_create create;
	size_t vol;		/* CREATE: next volume to make */
	int net_done;		/* CREATE: the template's network is ensured */
	struct kv *vlabels;
	size_t n_vlabels;
	struct swarm_want *swarm;	/* SERVICE: the service wanted (engine_swarm.c) */
};

struct engine {
	struct loop *loop;
	struct docker *docker;	/* the first endpoint's: the router, releases by traffic, Jobs, backups */
	struct eng_host *hosts;	/* every endpoint, in the Cluster's order (hosts[0].docker is docker) */
	size_t n_hosts;
	size_t lists_pending;
	uint64_t lists_timer;	/* the pass's lists' deadline */
	struct http_client *http;
	struct engine_options o;
	char *instance;
	char *name_prefix;		/* engine_options.name_prefix, the instance when that is NULL */
	char **extra;
	size_t n_extra;
	char *filter;

	struct spec_set *set;
	char *commit;
	struct desired desired;
	struct statefile state;
	struct observed obs;
	int obs_current;	/* obs is the union of the hosts' last lists as they are (lists_done keeps it) */

	struct eng_dep *deps;
	size_t n_deps;
	struct strmap dep_index;	/* name -> index into deps */
	struct eng_probe **probes;
	size_t n_probes;
	struct strmap probe_index;	/* container id -> its runner */
	struct probe_budget probe_budget;	/* max_probes: attempts in flight at once */
	struct eng_op *ops;	/* running */
	size_t n_ops_running;
	/* The operations held (their reasons) in this pass and the one before: each is logged when it starts. */
	struct strmap ops_held, ops_held_before;

	int pass_running;
	int pass_again;
	int pass_listed;	/* this pass asked an endpoint for its container list */
	/*
	 * The earliest loop ms at which a container this pass found ready becomes
	 * available (its minReadySeconds run out), 0 when none waits: the next
	 * pass comes then, not a whole pass interval later.
	 */
	int64_t wake_at;
	int draining;
	int held;		/* engine_hold: observe only */
	uint64_t timer;
	int64_t pass_started_us;
	int64_t last_pass_us;
	unsigned long passes;
	/* engine_hosts_heartbeat, every resync_ms / 2 while events are followed. */
	uint64_t heartbeat_timer;
	unsigned long saves;	/* writes of the state file (engine_state_write) */
	size_t reach_ok;	/* leading entries of desired.v found reached in this pass (blocker) */
	int *phases;		/* desired.v's phases, in its order, for the decisions (set each pass) */
	enum engine_outcome outcome;
	struct fleet_status status;
	char *list_error;
	char *git_error;	/* the source's refusal of the branch head (engine_set_git_error), or NULL */
	struct engine_traffic *traffic;	/* blue-green and canary releases */
	int64_t born_wall_ms;	/* wall clock when the engine was made */
	struct job_runner *hooks;	/* the deployments' hook Jobs */
	struct job_run *prune;		/* the removal of backups retention no longer keeps, or NULL */
	void *prune_call;		/* its state (engine_backup.c), freed with it */
};

/* engine.c: shared helpers and the end of a pass. */
/* The deployment's record, or NULL when it has none yet. */
struct eng_dep *engine_dep_find(const struct engine *e, const char *name);
/* The deployment's record, made when it has none yet. */
struct eng_dep *engine_dep_get(struct engine *e, const char *name);
/* Saves the state, builds the status and schedules the next pass (the last operation has ended). */
void engine_finish_pass(struct engine *e);

/* Healthy at its desired revision, as the state file remembers (latched: a later hiccup does not undo it). */
int engine_reached(const struct engine *e, const struct desired_deployment *dd);
/* Fails the deployment: back to its last healthy revision (and later phases with it) when it may, else stopped. */
void engine_fail_deployment(struct engine *e, const struct desired_deployment *dd, const char *reason);

/* engine_pass.c: one deployment's part of a pass, and the orphans'; each returns the operations issued. */
size_t engine_pass_deployment(struct engine *e, const struct desired_deployment *dd, int64_t now);
size_t engine_pass_orphans(struct engine *e);

/* engine_probes.c: one probe runner per running container of a desired deployment. */
struct eng_probe *engine_probe_find(struct engine *e, const char *id);
/* Marks the container's runner seen in this pass, starting it when it has none. */
void engine_probe_ensure(struct engine *e, const struct desired_deployment *dd, const struct obs_container *c);
/* Frees runners of containers that are gone, stopped or no longer desired. */
void engine_probes_sweep(struct engine *e);
void engine_probe_free(struct eng_probe *p);
/* Its probes' state: the runner's, a bare one's (into *tmp), or NULL with neither. */
const struct probe_state *engine_probe_state(const struct eng_probe *p, struct probe_state *tmp);
/* Its container died: its probes start over (a bare one is ready again from now). */
void engine_probe_restart(struct eng_probe *p);
/* Appends the runner's last probe failure to b, when there is one. */
void engine_probe_describe(const struct eng_probe *p, struct buf *b);

/* engine_ops.c: Docker operations, each a short chain of calls that ends in engine_finish_pass when last. */
/*
 * 1 when the operator's policy in force now refuses template t (revision rev),
 * such as one taken back from the state file for a rollback; msg then says
 * which field and setting ("revision REV: FIELD: ...").
 */
int engine_tmpl_refused(const struct engine *e, const struct desired_tmpl *t, const char *rev, char *msg, size_t n);
/*
 * Issues one operation of a deployment's step; it counts in n_ops_running
 * until it ends. 1 when issued; 0 when held (no endpoint of its may take it
 * now: the deployment's last error says why).
 */
int engine_op_issue(struct engine *e, const struct desired_deployment *dd, const struct plan_target *t,
		    const struct rollout_op *rop);
/* Issues the remove of a container of no desired deployment (rop->c): 1 when issued, 0 when held. */
/* A pass ends: the operations held in it are the ones before for the next (logged once while held). */
void engine_ops_held_pass(struct engine *e);
int engine_op_remove_orphan(struct engine *e, const struct rollout_op *rop);
/* A blue-green or canary container's (or Swarm task's) auriga.io/slot label, set on its create request. */
void engine_op_set_slot(struct desired_create *c, const char *slot);
/* An operation linked in as running (quiet: not logged; its steps log what they change); engine_op_end ends it. */
struct eng_op *engine_op_start(struct engine *e, struct eng_host *h, const char *deployment,
			       const struct rollout_op *rop, int quiet);
void engine_op_end(struct eng_op *op);

/* engine_swarm.c: the Cluster's endpoint is a Swarm manager, each Deployment a replicated service. */
int engine_swarm(const struct engine *e);
/* ROLLOUT_SERVICE: the service made, or updated to t (rev, template, replicas) at the version last listed. */
int engine_swarm_issue(struct engine *e, const struct desired_deployment *dd, const struct plan_target *t,
		       const struct rollout_op *rop);
/* The service a task's container c belongs to removed (a deployment gone from the specs); 1 when issued. */
int engine_swarm_remove_orphan(struct engine *e, const struct rollout_op *rop);
void engine_swarm_want_free(struct swarm_want *w);
/*
 * 1 when dd runs on the swarm as one service per ordinal, each pinned to
 * a node (rollout_swarm_ordinals): its template has a volume per replica
 * and the swarm has several nodes (and no service of dd made on one), or
 * it already does.
 */
int engine_swarm_pinned(const struct engine *e, const struct desired_deployment *dd, const struct plan_target *t);
/* 1 when the last list saw dd's service at revision rev with dd's replicas; else 0 (or not listed yet). */
int engine_swarm_service_at(const struct engine *e, const struct desired_deployment *dd, const char *rev);
/* h's tasks listed (its nodes, the instance's services, their tasks), read as its containers; 0 when started. */
int engine_swarm_list(struct eng_host *h, struct error **err);
/* A list of h's ended: seen (taken) when it answered, else m (taken) says why. */
void engine_host_listed(struct eng_host *h, struct observed *seen, char *m);
void engine_op_free(struct eng_op *op);

/* engine_hooks.c: the deployments' hook Jobs. */
/*
 * The preDeploy gate of dd rolling to rev (turn: its turn has come; held:
 * returning to its healthy revision): NULL when the rollout may go on, else
 * the step to show while it stands ("preDeploy hook 'x' running"), the next
 * hook started when none runs. A hook that fails fails the deployment.
 */
char *engine_hooks_pre(struct engine *e, const struct desired_deployment *dd, int turn, int held, const char *rev);
/*
 * The hooks after a rollout of dd complete at rev in its turn: postDeploy
 * (not held; before it is recorded healthy) or onRollback (held: back at rev
 * from its desired revision). NULL when it may count as complete, else the
 * step to show while it stands, the next hook started when none runs. A
 * failed postDeploy hook rolls it back, or marks it failed
 * (postDeployFailure: Mark); a failed onRollback hook is added to its error.
 */
char *engine_hooks_after(struct engine *e, const struct desired_deployment *dd, int held, const char *rev);

/* Saves the state file now (a hook's record must outlive a controller killed right after); logs a failure. */
void engine_state_save(struct engine *e);
/* Writes the state file (statefile_save) and counts the write (engine_saves); 0, or the error. */
int engine_state_write(struct engine *e, struct error **err);

/* engine_backup.c: the backups of the BackupPolicies naming a deployment in spec.before. */
/*
 * The gate before the preDeploy hooks of dd rolling to rev: NULL when every
 * backup before it was taken for rev (or none is asked for), else the step
 * to show while one stands, the next started when no Job of dd runs. A
 * backup that fails fails the deployment, its note naming the policy and the
 * last lines of the Job's output.
 */
char *engine_backup_before(struct engine *e, const struct desired_deployment *dd, int turn, int held, const char *rev);
/* Lets go of a removal of old backups still under way (engine_free): its container still goes, its verdict nowhere. */
void engine_backup_release(struct engine *e);

/* engine.c: the end of the pass's lists (engine_hosts.c). */
/* Nothing to decide from (msg says why): the status shows it and a pass runs again later. */
void engine_list_failed(struct engine *e, const char *msg);
/* The observed state is the union of the lists: decide (down: the endpoints that did not answer, or NULL). */
void engine_list_done(struct engine *e, const char *down);

/* engine_move.c: replicas moved off an endpoint down for their deployment's moveAfter. */
/*
 * 1 when c (of dd, od) is not its ordinal's any more: its endpoint did not
 * answer for moveAfter and the ordinal is placed elsewhere (ed->place). It is
 * left out of the rollout, so the ordinal is made where it is placed, and it
 * is never counted ready.
 */
int engine_move_old(const struct engine *e, const struct desired_deployment *dd, const struct eng_dep *ed,
		    const struct obs_deployment *od, const struct obs_container *c);
/* Stops and removes each container of od moved off whose endpoint answers again; returns how many were issued. */
size_t engine_move_remove_old(struct engine *e, const struct desired_deployment *dd, const struct eng_dep *ed,
			      const struct obs_deployment *od);

/* engine_hosts.c: the endpoints. */
void engine_hosts_init(struct engine *e, struct docker *d, const struct engine_endpoint *v, size_t n);
void engine_hosts_release(struct engine *e);
/* Lists every endpoint; engine_list_failed or engine_list_done ends it. */
void engine_hosts_list(struct engine *e);
/* Follows every endpoint's events. */
int engine_hosts_watch(struct engine *e, docker_event_fn on_event, docker_stream_fn on_stream, struct error **err);
/* The full relist's interval: relist_ms, at most RELIST_MAX_MS. */
#define RELIST_MAX_MS (5 * 60 * 1000)
int64_t engine_relist_ms(const struct engine *e);
/* Pings the cached endpoints that said nothing for resync_ms (see struct eng_host); from a timer. */
void engine_hosts_heartbeat(struct engine *e);
/* How long a pass waits for the endpoints' lists before it decides without the late ones. */
int64_t engine_lists_deadline_ms(const struct engine *e);
/* Its name in logs and errors: the Cluster's, or the client's url when unnamed. */
const char *engine_host_name(const struct eng_host *h);
/* An endpoint dd's placement may use that has not answered once since the start (its replicas are unknown), or NULL. */
const struct eng_host *engine_host_unknown(const struct engine *e, const struct desired_deployment *dd);
/* The endpoint of that name (the one unnamed client whatever the name), or NULL. */
struct eng_host *engine_host_named(const struct engine *e, const char *name);
/* The endpoint the container was listed from. */
struct eng_host *engine_host_of(const struct engine *e, const struct obs_container *c);
/* Each endpoint's address (when not this machine's loopback) from the set's policy: when the set changes. */
void engine_hosts_address(struct engine *e);
/* Each ordinal's endpoint for this pass (api/placement.c), into ed->place. */
void engine_hosts_place(struct engine *e, const struct desired_deployment *dd, struct eng_dep *ed);
/*
 * The Job runner of the endpoint of dd's first replica this pass (its hooks
 * run there); NULL, why saying "waits for ...", when no endpoint may take
 * it or its endpoint does not answer.
 */
struct job_runner *engine_host_jobs(struct engine *e, const struct desired_deployment *dd, char *why, size_t n);
/* Where an operation goes: its container's endpoint, or its ordinal's; NULL (why says) when none answers. */
struct eng_host *engine_host_for_op(struct engine *e, const struct eng_dep *ed, const struct rollout_op *rop,
				    char *why, size_t n);

/* engine_status.c: the fleet status after a pass. */
void engine_build_status(struct engine *e);

#endif
