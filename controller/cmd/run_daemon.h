/* What `auriga run` holds, shared by the files of the daemon (cmd_run.c, run_http.c, run_schedule.c). */
#ifndef AURIGA_RUN_DAEMON_H
#define AURIGA_RUN_DAEMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>

#include "cmd/engine_cli.h"
#include "cmd/run_gate.h"
#include "runtime/signing.h"
#include "cmd/run_notes.h"
#include "engine/engine.h"
#include "error.h"
#include "status/backup_records.h"
#include "status/metrics.h"
#include "status/notes.h"
#include "status/notes_recent.h"

struct config;
struct loop;
struct docker;
struct http_client;
struct gitsrc;
struct gitsrc_worker;
struct httpd;
struct webhook;
struct spec_policy;
struct run_schedule;
struct daemon;

/* One Docker client's breaker as /metrics shows it: peer "docker" for the first endpoint, "docker:NAME" else. */
struct run_circuit {
	struct daemon *dm;
	struct docker *docker;
	char peer[160];
};

struct daemon {
	struct config *cfg;
	char **positional;
	struct loop *loop;
	struct docker *docker;
	struct http_client *http;
	struct engine *engine;
	struct engine_options eo;	/* the engine's, kept to make it anew on another endpoint */
	char *endpoint;			/* the endpoints the engine drives (engine_cli_set_endpoints_key) */
	struct engine_cli_hosts hosts;	/* their clients, the first's being docker */
	struct run_circuit *circuits;	/* each client's breaker, its observer's argument (metrics on) */
	size_t n_circuits;
	struct gitsrc *src;
	struct gitsrc_worker *worker;
	struct httpd *httpd;
	struct auriga_metrics metrics;
	struct backup_seen backups_seen;	/* backups.json as last read for the metric */
	int metrics_on;
	struct webhook *webhook;
	struct notes_debounce deb;
	struct notes_recent recent;	/* the notes written lately, for /api/v1/notes and the status page */
	const char *folder;		/* folder mode: the specs path */
	char *folder_key;		/* the folder's model, to see changes */
	char *state_path;		/* the engine's state file */
	uint64_t folder_timer;
	char *commit;			/* the commit being applied */
	char *notes_ref;		/* its Cluster's notes ref, NULL when it names none */
	int notes_push;			/* its Cluster's status.push, -1 when it says nothing */
	struct spec_policy *policy;	/* the operator's policy every load is checked against */
	struct run_notes rn;		/* the source section, and the notes on commits not applied */
	struct run_gate gate;		/* the environment's promotion gate */
	struct signing_key key;		/* signing-key-file: the approvals' and the shared state's MAC */
	struct run_lease *lease;	/* --lease: acts only while it holds the lease */
	struct run_schedule *schedule;	/* the BackupPolicies' schedules (run_schedule.h) */
	int settled;			/* the commit applied reached Healthy, Failed or RolledBack */
	int loaded;
	int stopping;
	/* What the HTTP threads read. */
	pthread_mutex_t mu;
	/*
	 * The status served (the last pass's, with the source section), NULL
	 * before a pass ended: encoded when asked for, not after every pass, so
	 * at 10,000 deployments its JSON is not held between requests. A request
	 * holds a reference while it encodes, outside mu, so the loop never waits
	 * for an encoding; the loop, the only one that replaces it, reads it
	 * without mu.
	 */
	struct shown_status *shown;
	/*
	 * shown was let go while a pass builds the next (before_status): a
	 * request waits on shown_cv for it rather than find none.
	 */
	int rebuilding;
	pthread_cond_t shown_cv;
	int ready;
};

/*
 * A published status: never changed once published; refs under the daemon's
 * mu. text: its encoding, kept by the first request that made one under
 * 1 MiB (set once under mu, then read by any holder of a reference).
 */
struct shown_status {
	unsigned refs;
	struct fleet_status s;
	char *text;
	int text_big;		/* a request found its text over the size kept: the next do not try */
};
/* Another reference to the status shown (NULL when none yet); each goes with shown_status_drop. */
struct shown_status *shown_status_get(struct daemon *dm);
void shown_status_drop(struct daemon *dm, struct shown_status *sh);
/* run_http.c: the HTTP API, /metrics and the webhooks, when --listen names an address. */
int run_http_start(struct daemon *dm, struct error **err);
/* SIGHUP: the API token and webhook secrets are read again, so rotating a file needs no restart. */
void run_http_reload_secrets(struct daemon *dm);

#endif
