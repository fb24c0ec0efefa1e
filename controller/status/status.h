/* The status model: what auriga says about a commit, rendered as a git note (summary + YAML) and as JSON. */
#ifndef AURIGA_STATUS_H
#define AURIGA_STATUS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct json_t;

enum status_phase {
	STATUS_UNKNOWN = 0,
	STATUS_PROGRESSING,
	STATUS_HEALTHY,
	STATUS_DEGRADED,
	STATUS_FAILED,
	STATUS_ROLLEDBACK,
	STATUS_PENDING,		/* running, but no probe verdict yet */
	STATUS_ABORTED,		/* a release stopped by hand */
	/* A commit auriga took up and did not apply: its specs refused, or a newer commit came first. */
	STATUS_REFUSED,
	STATUS_SUPERSEDED,
	/* A commit an environment's promotion gate holds: the environment before it, or an approval. */
	STATUS_WAITING,
};

struct status_condition {
	char *type;
	char *status;		/* "True", "False", "Unknown" */
	char *reason;
	char *message;
	int64_t last_transition;	/* wall ms, 0 when unknown */
};

/* One container of a deployment as the last pass saw it: in the HTTP API, not in notes. */
struct status_instance {
	char *name;
	char *revision;
	char *slot;		/* "blue", "green", "stable", "canary"; "" for rolling and recreate */
	char *state;		/* Docker's: running, exited, ... */
	char *endpoint;		/* "127.0.0.1:19003": its first published port; NULL when none */
	char *host;		/* the Docker endpoint it runs on, by name (its label auriga.io/endpoint); NULL: unknown */
	int ready;		/* its readiness verdict: 1, 0, or -1 while there is none */
	char *probe_failure;	/* its latest probe failure ("liveness: GET ...: 404"), NULL when none */
	char *node;		/* a Swarm task's: the node it runs on, by name; NULL for a container */
};

/*
 * One verification a release declares (a metric of the AnalysisTemplates its
 * strategy names: a Job's figure or exit code, a query, a scrape) and how it
 * went for the revision the deployment runs. Strings owned, NULL when unset.
 */
struct status_verification {
	char *metric;		/* the metric's name */
	char *job;		/* a Job metric's Job */
	char *figure;		/* the figure it judges (NAME=NUMBER in the Job's output); NULL: the exit code */
	char *value;		/* the last value measured */
	char *fail_if;		/* the failure condition: ">= 500" */
	char *verdict;		/* Passed, Failed, Inconclusive, Unfinished, Pending, Skipped */
	char *reason;		/* why it was Skipped (a full promotion, nothing served before it); NULL else */
};

/* The most verifications one deployment's note names. */
/* The most replicas a note's hosts may name (a Deployment's replicas are at most 1000). */
#define STATUS_HOSTS_MAX 1000
#define STATUS_VERIFICATIONS_MAX 64

/* One slot of a blue-green or canary deployment: its containers ready against those it runs now. */
struct status_slot {
	char name[8];		/* "blue", "green"; "" when unused */
	long ready, desired;
};

struct status_deployment {
	char *name;
	char *role;
	enum status_phase phase;
	char *revision;
	long desired, ready, updated, available;
	long surge;		/* containers past desired (a surge), apart from ready, which never exceeds desired */
	long restarts;		/* containers auriga restarted for failing liveness since it started */
	char *strategy;		/* Rolling, Recreate, BlueGreen, Canary */
	char *step;		/* what the strategy is doing: "rolling business-2 5/7" */
	struct status_condition *conditions;
	size_t nconditions;
	char *last_error;
	int64_t started_at, finished_at;	/* wall ms, 0 when unset */
	/* The last release control accepted (pause, resume, promote, abort, rollback), NULL when none. */
	char *action, *action_by, *action_reason;
	int64_t action_at;	/* wall ms */
	long paused;		/* 1: held at its step until resumed */
	struct status_instance *instances;
	size_t ninstances;
	struct status_slot slots[2];	/* blue-green and canary, the new slot first */
	struct status_verification *verifications;	/* what its release declares, in the note */
	size_t nverifications;
	char *service;		/* on a Swarm: the service that runs it; NULL else */
	struct status_pool *pool;	/* its status's pool (status_use_pool), or NULL */
};

/* A Swarm node as the last list saw it: strings owned, NULL when Swarm gave none. */
struct status_node {
	char *name;		/* its hostname */
	char *id;		/* Swarm's id, its first 12 characters */
	char *address;		/* where its tasks' published ports are reached */
	char *state;		/* ready, down, unknown, disconnected */
	char *availability;	/* active, pause, drain */
	char *role;		/* manager, worker */
	long tasks;		/* this instance's tasks running on it */
};

/* A task Swarm placed on another node than the one it was seen on before. */
struct status_move {
	char *deployment;
	char *task;		/* "<service>.<slot>": the replica, whichever task stands for it */
	char *from, *to;	/* the nodes, by name */
	char *reason;		/* "node down" when the node it left is not ready, else "rescheduled" */
	int64_t at;		/* wall ms: the pass that saw it */
};

/* The most moves a status keeps: the latest. */
#define STATUS_MOVES_MAX 32

/*
 * What Git says, beside what Docker says: the source section of every status.
 * Strings are owned (NULL when unknown); times are wall ms, 0 when never.
 */
struct status_source {
	char *head;		/* the branch head seen at the last good fetch */
	char *applied;		/* the commit whose specs the fleet is brought to */
	int64_t fetched_at;	/* the last good fetch */
	char *fetch_error;	/* the last failed fetch's error, kept after a later good one */
	int64_t fetch_error_at;	/* when it failed: later than fetched_at while fetches fail */
	/* An environment's promotion (NULL when the instance follows none, or its gate asks nothing). */
	char *environment;	/* the Environment followed */
	char *promotion;	/* why the head is held by the gate; NULL once it passed */
	char *approved_by;	/* who approved the commit the fleet is brought to, or the head held */
	int64_t approved_at;
};

/*
 * Strings a status holds by the hundred thousand (its deployments', their
 * conditions' and instances'), each copied into blocks the status owns
 * rather than malloc'd on its own: one block of a few hundred KB instead of
 * a 32-byte chunk for "True", and all of them gone at once with the status.
 */
struct status_pool;

/* Everything auriga says about one commit. Strings are owned (NULL when unset). */
struct fleet_status {
	char *commit;
	char *summary;		/* detail after the counts on the first line */
	enum status_phase phase;
	int64_t observed_at;	/* wall ms */
	struct status_deployment *deployments;
	size_t ndeployments;
	char *source_error;	/* why the status may be incomplete now: "docker: ..." or "git: ..." */
	struct status_source source;
	char *superseded_by;	/* Superseded: the newer commit that came before this one was applied */
	char *problems;		/* Refused: every diagnostic (file:line:col) or refusal, one a line */
	struct status_node *nodes;	/* a Swarm's nodes, when the fleet runs on one */
	size_t nnodes;
	struct status_move *moves;	/* the latest tasks Swarm moved, oldest first */
	size_t nmoves;
	/*
	 * Where its deployments' strings come from when it has one (a status
	 * built each pass: status_use_pool); NULL: each is malloc'd. Either way
	 * the status owns them and status_release frees them; a string set with
	 * xstrdup into a status with a pool is freed as one too.
	 */
	struct status_pool *pool;
};

const char *status_phase_name(enum status_phase p);
/* 0 and *out, or -1 for an unknown name. */
int status_phase_parse(const char *s, enum status_phase *out);

void status_init(struct fleet_status *s);
void status_release(struct fleet_status *s);
/* Gives an empty status (no deployment yet) a pool for its deployments' strings. */
void status_use_pool(struct fleet_status *s);
/* A copy of v (NULL for NULL) owned by d, from its pool when it has one. */
char *status_str(struct status_deployment *d, const char *v);
/* The same for a formatted string. */
char *status_strf(struct status_deployment *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a zeroed deployment and returns it (owned by s). */
struct status_deployment *status_add_deployment(struct fleet_status *s, const char *name);
struct status_condition *status_add_condition(struct status_deployment *d, const char *type);
/* Appends an instance named name (ready -1) and returns it (owned by d). */
struct status_instance *status_add_instance(struct status_deployment *d, const char *name);
/* Appends a node named name (the rest unset) and returns it (owned by s). */
struct status_node *status_add_node(struct fleet_status *s, const char *name);
/* Appends a move of deployment's task (the rest unset) and returns it (owned by s); drops the oldest past STATUS_MOVES_MAX. */
struct status_move *status_add_move(struct fleet_status *s, const char *deployment, const char *task);
/* Appends a verification of metric (the rest unset) and returns it (owned by d). */
struct status_verification *status_add_verification(struct status_deployment *d, const char *metric);

/* How the verifications of a note that did not pass stand. */
struct status_unverified {
	size_t pending;		/* Pending or Unfinished: still to be decided */
	size_t failed;		/* Failed, or a verdict this version does not know */
};

/*
 * The verifications of s that did not pass (those that failed first, then
 * the pending and undecided), a sentence each joined by "; "
 * ("web: loadtest p95_ms=812 failed (fails at >= 500)", "web: integration
 * skipped (promoted in full)"), into *out (malloc'd, NULL when all passed);
 * returns how many, and counts them into *u (may be NULL). The rest of
 * them (Skipped, Inconclusive) verified nothing either way.
 */
size_t status_verification_failures(const struct fleet_status *s, char **out, struct status_unverified *u);
/* Deep copy. */
void status_copy(struct fleet_status *dst, const struct fleet_status *src);
void status_source_release(struct status_source *src);
void status_source_copy(struct status_source *dst, const struct status_source *src);
/*
 * Replaces s's source section with a copy of src; while fetches fail (the
 * error is newer than the last good fetch) and nothing else is wrong,
 * source_error says so ("git: ..."), so a Healthy fleet never hides it.
 */
void status_set_source(struct fleet_status *s, const struct status_source *src);
/*
 * The status noted on a commit auriga took up and did not apply, over
 * status_init: Refused with every problem (one a line), or Superseded by
 * the newer commit; src (may be NULL) is the source section.
 */
void status_set_refused(struct fleet_status *s, const char *commit, const char *problems,
			const struct status_source *src, int64_t now_wall_ms);
void status_set_superseded(struct fleet_status *s, const char *commit, const char *newer,
			   const struct status_source *src, int64_t now_wall_ms);
/* Waiting: a commit the promotion gate holds, why saying what it waits for. */
void status_set_waiting(struct fleet_status *s, const char *commit, const char *why,
			const struct status_source *src, int64_t now_wall_ms);

/*
 * `auriga status`'s exit code for the commit asked about: its note's phase,
 * or STATUS_EXIT_UNKNOWN when it has none yet (s NULL). 1 and 2 stay the
 * command's own errors and usage.
 */
enum status_exit {
	STATUS_EXIT_HEALTHY = 0,
	STATUS_EXIT_PROGRESSING = 3,	/* Progressing, or a note whose phase is Unknown */
	STATUS_EXIT_REFUSED = 4,
	STATUS_EXIT_FAILED = 5,		/* Failed, Degraded or RolledBack */
	STATUS_EXIT_UNKNOWN = 6,	/* Superseded, or no note on the commit yet */
};
enum status_exit status_exit_code(const struct fleet_status *s);

/* The ready and desired sums over all deployments. */
void status_counts(const struct fleet_status *s, long *ready, long *desired);

/*
 * The note text: "auriga: <Phase> <ready>/<desired> ready[, summary]", a blank
 * line, then a YAML document. Returns a malloc'd string.
 */
int status_render_note(const struct fleet_status *s, char **out, struct error **err);
/* Parses a note written by status_render_note (the YAML after the first line). */
int status_parse_note(struct fleet_status *out, const char *text, size_t len, struct error **err);
/* JSON for `auriga status --json` and the HTTP API (a new reference). */
struct json_t *status_to_json(const struct fleet_status *s);
/* One deployment's object in it (a new reference). */
struct json_t *status_deployment_json(const struct status_deployment *d);
/*
 * The same document's compact text (keys in their order), read piece by
 * piece into buffers of the caller's size, one deployment's object encoded
 * at a time: what /api/v1/status sends while it encodes, so neither the
 * whole tree (20 times the text's size) nor the whole text (about 6.5 MB at
 * 10,000 deployments) is ever held. s must outlive the
 * reader unchanged. status_text_read fills out with up to max bytes and
 * returns how many: fewer than max only at the end, 0 once the text is all
 * read, -1 when a piece could not be encoded (no memory), and from then on.
 */
struct status_text_reader;
struct status_text_reader *status_text_reader_new(const struct fleet_status *s);
ssize_t status_text_read(struct status_text_reader *r, char *out, size_t max);
void status_text_reader_free(struct status_text_reader *r);
/* RFC 3339 UTC with milliseconds, and back; 0 / -1. */
int status_format_time(int64_t wall_ms, char *out, size_t n);
int status_parse_time(const char *s, int64_t *wall_ms);

#endif
