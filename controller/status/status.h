/* The status model: what auriga says about a commit, rendered as a git note (summary + YAML) and as JSON. */
#ifndef AURIGA_STATUS_H
#define AURIGA_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct json_t;

enum status_phase {
	STATUS_UNKNOWN = 0,
	STATUS_PROGRESSING,
	STATUS_HEALTHY,
	STATUS_DEGRADED,
	STATUS_FAILED,
	STATUS_ROLLEDBACK,
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
	int ready;		/* its readiness verdict: 1, 0, or -1 while there is none */
	char *probe_failure;	/* its latest probe failure ("liveness: GET ...: 404"), NULL when none */
};

struct status_deployment {
	char *name;
	char *role;
	enum status_phase phase;
	char *revision;
	long desired, ready, updated, available;
	long restarts;		/* containers auriga restarted for failing liveness since it started */
	char *strategy;		/* Rolling, Recreate, BlueGreen, Canary */
	char *step;		/* what the strategy is doing: "rolling business-2 5/7" */
	struct status_condition *conditions;
	size_t nconditions;
	char *last_error;
	int64_t started_at, finished_at;	/* wall ms, 0 when unset */
	struct status_instance *instances;
	size_t ninstances;
};

/* Everything auriga says about one commit. Strings are owned (NULL when unset). */
struct fleet_status {
	char *commit;
	char *summary;		/* detail after the counts on the first line */
	enum status_phase phase;
	int64_t observed_at;	/* wall ms */
	struct status_deployment *deployments;
	size_t ndeployments;
	char *source_error;	/* the last fetch error, when the source is failing */
};

const char *status_phase_name(enum status_phase p);
/* 0 and *out, or -1 for an unknown name. */
int status_phase_parse(const char *s, enum status_phase *out);

void status_init(struct fleet_status *s);
void status_release(struct fleet_status *s);
/* Appends a zeroed deployment and returns it (owned by s). */
struct status_deployment *status_add_deployment(struct fleet_status *s, const char *name);
struct status_condition *status_add_condition(struct status_deployment *d, const char *type);
/* Appends an instance named name (ready -1) and returns it (owned by d). */
struct status_instance *status_add_instance(struct status_deployment *d, const char *name);
/* Deep copy. */
void status_copy(struct fleet_status *dst, const struct fleet_status *src);

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
/* RFC 3339 UTC with milliseconds, and back; 0 / -1. */
int status_format_time(int64_t wall_ms, char *out, size_t n);
int status_parse_time(const char *s, int64_t *wall_ms);

#endif
