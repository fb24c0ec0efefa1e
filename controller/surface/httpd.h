/* The controller's HTTP server (libmicrohttpd): health, metrics, status, actions and webhooks. */
#ifndef AURIGA_HTTPD_H
#define AURIGA_HTTPD_H

#include "error.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct auriga_metrics;
struct webhook;

/*
 * Threading: libmicrohttpd runs the server on its own threads (an internal
 * polling thread per worker, `threads` of them). Every provider callback
 * below is called from those threads, possibly from several at once, never
 * from the daemon's loop. Callbacks must be thread-safe and must not block:
 * status and deployment read a snapshot the loop publishes under a lock;
 * a sync only records the request and wakes the loop (the loop's
 * thread-safe wakeup) and returns at once; a release control waits for the
 * loop's verdict within a bound. Any callback may be NULL.
 */
/* HTTPD_PROMOTE_FULL: POST .../promote?full=1, finish the release at once. */
enum httpd_action { HTTPD_PROMOTE, HTTPD_ABORT, HTTPD_ROLLBACK, HTTPD_SYNC, HTTPD_PROMOTE_FULL, HTTPD_PAUSE, HTTPD_RESUME,
		   HTTPD_APPROVE /* POST /api/v1/commits/COMMIT/approve: the commit is the request's */,
		   HTTPD_APPROVE_UNVERIFIED /* .../approve?unverified=1: through what was not verified before */ };

#define HTTPD_NOTES_DEFAULT 10
#define HTTPD_NOTES_MAX 50
#define HTTPD_NOTES_MAX_TEXT "50"

/*
 * A response's body: text (malloc'd, len bytes, the server frees it), or,
 * when text is NULL, read piece by piece while it is sent (chunked), so a
 * large document is never held whole. read fills out with up to max bytes
 * and returns how many (fewer only at the end), 0 once all is read, or -1
 * on an error (the connection is cut); close(arg) comes once, when the
 * response is done with, read to its end or not. With read, len is the
 * whole body's size when known before it is read (sent as its
 * Content-Length rather than chunked), else 0.
 */
struct httpd_body {
	char *text;
	size_t len;
	ssize_t (*read)(void *arg, char *out, size_t max);
	void (*close)(void *arg);
	void *arg;
};

struct httpd_provider {
	void *ctx;
	/* 1 when the process is alive (the loop turns): /healthz, /q/health/live. NULL: always. */
	int (*live)(void *ctx);
	/* 1 when the first snapshot is loaded and the engine answers: /readyz, /q/health/ready. */
	int (*ready)(void *ctx);
	/* 1 once start-up (configuration, first fetch attempt) is over: /q/health/startup. */
	int (*started)(void *ctx);
	/* A new reference to the status document, or NULL (503). */
	json_t *(*status)(void *ctx);
	/*
	 * Optional, preferred for /api/v1/status when set: the same document as
	 * compact JSON text, in *out (whole, or read while it is sent); 0, or -1
	 * when there is none yet (503).
	 */
	int (*status_body)(void *ctx, struct httpd_body *out);
	/* A new reference to one deployment's status, or NULL when there is no such deployment (404). */
	json_t *(*deployment)(void *ctx, const char *name);
	/*
	 * GET /api/v1/notes?limit=N: a new reference to an array of the notes
	 * written lately, newest first, at most limit (1 to HTTPD_NOTES_MAX,
	 * HTTPD_NOTES_DEFAULT when not asked), or NULL when none are written (404).
	 */
	json_t *(*notes)(void *ctx, size_t limit);
	/* GET /api/v1/backups: a new reference to the backups recorded, or NULL with *why (500). */
	json_t *(*backups)(void *ctx, char **why);
	/* GET /api/v1/drills: a new reference to the drills' reports recorded, or NULL with *why (500). */
	json_t *(*drills)(void *ctx, char **why);
	/*
	 * A request to act (deployment is NULL for HTTPD_SYNC; who is the API
	 * token's holder as its file names it, else "api", or "webhook:<provider>";
	 * why the reason the request's body gives, or NULL; commit the pushed
	 * commit or NULL). A sync is recorded and answered at once; a release
	 * control on a deployment may wait, briefly and within a bound, for the
	 * engine's verdict. Returns 0 when accepted (202), or fills *err:
	 * ERR_NOTFOUND answers 404, ERR_CONFLICT 409, ERR_UNAVAILABLE 503,
	 * anything else 500.
	 */
	int (*action)(void *ctx, enum httpd_action a, const char *deployment, const char *who, const char *why,
		      const char *commit, struct error **err);
};

struct httpd_options {
	const char *listen;		/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all addresses); port 0 picks one */
	const char *tls_cert_file;	/* PEM; TLS on when both are set */
	const char *tls_key_file;
	const char *token_file;		/* bearer token for POST /api/v1/...; NULL: those answer 403 */
	/* The controller's instance: a release control naming another (?instance=) answers 421. NULL: any. */
	const char *instance;
	size_t max_body;		/* bytes; a larger body is refused with 413 */
	unsigned max_connections;
	unsigned max_connections_per_client;	/* per source address; more are closed at once; 0: no cap */
	int read_token;			/* 1: GETs under /api/v1/ and /metrics need the token too (health does not) */
	unsigned idle_timeout_s;	/* a connection with no traffic for this long is closed */
	long request_timeout_ms;	/* a request not fully read this long after it began is cut off */
	unsigned threads;
	struct auriga_metrics *metrics;	/* rendered on /metrics and counting requests; may be NULL */
	struct webhook *webhook;	/* may be NULL: webhook routes answer 404 */
};

struct httpd;

/* Fills o with the defaults of the configuration table. */
void httpd_options_init(struct httpd_options *o);
int httpd_start(struct httpd **out, const struct httpd_options *o, const struct httpd_provider *p,
		struct error **err);
/* The port actually bound (useful with port 0). */
uint16_t httpd_port(const struct httpd *h);
/* Reads the token file again (SIGHUP); on error the old token stays. */
int httpd_reload_token(struct httpd *h, const char *path, struct error **err);
/* Stops the threads, closes every connection and frees h. */
void httpd_stop(struct httpd *h);

#endif
