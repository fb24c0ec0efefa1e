/* The Docker Engine API client: transports, version negotiation, the calls a controller needs, with retries, a breaker and bulkheads. */
#ifndef AURIGA_DOCKER_H
#define AURIGA_DOCKER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "docker/docker_spec.h"
#include "error.h"
#include "runtime/breaker.h"
#include "runtime/retry.h"

struct loop;
struct http_client;

/*
 * One struct docker talks to one endpoint (a daemon), over a unix socket or
 * TCP with mutual TLS, on the caller's loop. Every call is asynchronous: it
 * returns at once and its callback runs later on the loop thread with a
 * struct docker_result. Nothing is an error that the caller should decide
 * on: a 404, a 409 or a refused circuit are statuses in the result.
 *
 * The first call negotiates the API version (/_ping, then /version): the
 * highest version both sides speak, at least DOCKER_API_MIN; every path is
 * then sent as /vX.Y/... . Calls made while negotiation runs wait for it.
 *
 * Resilience, per call: a deadline; retries with backoff and jitter for
 * calls that are safe to repeat (reads, and stop/kill/remove/start by id,
 * whose outcome is the same however often they run) on transport errors,
 * timeouts and 5xx; calls that are not (create, exec, rename, network and
 * volume create) are retried only when the connection was never made, so
 * the daemon cannot have seen them. One circuit breaker guards the
 * endpoint; one bulkhead per kind of work bounds concurrent calls.
 */
struct docker;

#define DOCKER_API_MIN "1.40"	/* the oldest API we speak: Docker 19.03 */
#define DOCKER_API_MAX "1.43"	/* the newest API whose fields we know: Docker 24 */
#define DOCKER_DEFAULT_SOCKET "/var/run/docker.sock"

enum docker_status {
	DOCKER_OK = 0,
	DOCKER_NOT_MODIFIED,	/* 304: already started / already stopped; a success */
	DOCKER_NOT_FOUND,	/* 404: no such container, image, network, volume, exec */
	DOCKER_CONFLICT,	/* 409: name in use, container running, ... */
	DOCKER_BAD_REQUEST,	/* 400 and other 4xx: the request or the API version */
	DOCKER_SERVER_ERROR,	/* 5xx */
	DOCKER_TRANSPORT,	/* could not connect, connection reset, TLS refused, body cut short */
	DOCKER_TIMEOUT,		/* the call's deadline passed */
	DOCKER_TOOBIG,		/* the response passed its size bound */
	DOCKER_PROTOCOL,	/* the answer was not what the API promises (malformed JSON, ...) */
	DOCKER_CIRCUIT_OPEN,	/* refused without trying: the endpoint's breaker is open */
	DOCKER_BULKHEAD_FULL,	/* refused without trying: too many calls of this kind */
	DOCKER_CANCELLED,	/* the client was freed or the call cancelled before it ended */
	DOCKER_FENCED,		/* refused without trying: this controller does not hold the lease */
	DOCKER_STATUS_COUNT
};

const char *docker_status_name(enum docker_status s);
/* 1 for OK and NOT_MODIFIED. */
int docker_status_ok(enum docker_status s);

/* Kinds of work, each with its own bulkhead and default deadline. */
enum docker_kind {
	DOCKER_OBSERVE,		/* list, inspect: the reconcile pass */
	DOCKER_ROLLOUT,		/* create, start, stop, remove, ...: changing the hosts */
	DOCKER_PROBE,		/* exec probes, logs for messages */
	DOCKER_EVENTS,		/* the /events stream */
	DOCKER_KIND_COUNT
};

const char *docker_kind_name(enum docker_kind k);

enum docker_bulkhead_mode { DOCKER_BULKHEAD_QUEUE, DOCKER_BULKHEAD_REJECT };

struct docker_config {
	/*
	 * unix:///path or tcp://host:port; NULL: $DOCKER_HOST, else the
	 * default socket. A tcp host with TLS uses https.
	 */
	const char *host;
	/* TLS: explicit files, or cert_path/{ca,cert,key}.pem ($DOCKER_CERT_PATH). */
	const char *cert_path;
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
	int tls;			/* 1: https to a tcp host ($DOCKER_TLS_VERIFY set, or files given) */
	const char *api_min;		/* DOCKER_API_MIN when NULL */
	int64_t timeout_ms[DOCKER_KIND_COUNT];	/* per-call deadline (across retries); 0: none */
	size_t max_body;		/* bound on one response body (16 MiB) */
	size_t max_event;		/* bound on one event or log line (1 MiB) */
	struct retry_policy retry;
	struct breaker_config breaker;
	unsigned bulkhead_limit[DOCKER_KIND_COUNT];
	unsigned bulkhead_queue[DOCKER_KIND_COUNT];	/* waiters allowed in QUEUE mode */
	enum docker_bulkhead_mode bulkhead_mode;
};

/* Fills c with the defaults above (host and TLS still unset: resolved from the environment). */
void docker_config_default(struct docker_config *c);
/*
 * Fills host and TLS settings left unset from DOCKER_HOST, DOCKER_CERT_PATH and
 * DOCKER_TLS_VERIFY, as the docker CLI does. Strings point into the
 * environment or c's own fields. Returns 0 or ERR_INVALID with *err set.
 */
int docker_config_from_env(struct docker_config *c, struct error **err);

struct docker *docker_new(struct loop *l, const struct docker_config *c, struct error **err);
/* Ends every call and watch still running with DOCKER_CANCELLED, without running their callbacks, and frees d. */
void docker_free(struct docker *d);
/*
 * Every call of d in flight made with arg gets drop: freed by docker_free
 * with the call still in its hands, drop(arg) frees what waited for it (its
 * callback never runs then). Set after each call made with arg.
 */
void docker_set_drop(struct docker *d, const void *arg, void (*drop)(void *arg));

struct loop *docker_loop(struct docker *d);
/* "unix:///var/run/docker.sock" or "tcp://host:port": for messages. */
const char *docker_endpoint(const struct docker *d);
/* The negotiated version ("1.41"), or NULL before negotiation succeeded. */
const char *docker_api_version(const struct docker *d);
/* The breaker's state now: visible so callers can pause work and the status page can show it. */
enum breaker_state docker_breaker_state(struct docker *d);
/* Calls of one kind running and waiting. */
void docker_bulkhead_usage(const struct docker *d, enum docker_kind k, unsigned *active, unsigned *queued);
/* Totals since docker_new: HTTP requests sent (each retry counts), retries. */
void docker_counters(const struct docker *d, unsigned long *requests, unsigned long *retries);

/* What an observer is told of a call that ended. */
struct docker_call_info {
	enum docker_kind kind;
	const char *op;		/* what the call does: "list containers", "start container", ... (a fixed set) */
	enum docker_status status;
	int http_status;	/* 0 when no response */
	unsigned attempts;	/* HTTP requests made; 0 when refused without trying (circuit, bulkhead) */
	int64_t duration_ms;	/* from submission to the end, queueing and retries included */
};

typedef void (*docker_observer_fn)(const struct docker_call_info *ci, void *arg);

/*
 * Sets the one observer told of every call that ends (the /events stream
 * excepted), on the loop thread, just before the call's own callback: for
 * metrics. NULL removes it.
 */
void docker_set_observer(struct docker *d, docker_observer_fn fn, void *arg);

/*
 * The fence, when several controllers share the hosts: asked on the loop
 * thread just before every request that may change a host (any method but
 * GET and HEAD), each retry included. 0 lets it go and writes the fencing
 * token into token; otherwise the call fails with DOCKER_FENCED and the
 * message written into why, and no request goes out. Every container
 * created carries the token as the label `label` ("auriga.io/fence").
 */
typedef int (*docker_fence_fn)(void *arg, char *token, size_t token_len, char *why, size_t why_len);
void docker_set_fence(struct docker *d, docker_fence_fn fn, void *arg, const char *label);

/* -------------------------------------------------------------------- results */

struct docker_container_summary {
	char *id;
	char *name;		/* without the leading '/' */
	char *image;
	char *image_id;
	char *state;		/* created, running, paused, restarting, removing, exited, dead */
	char *status;		/* "Up 3 minutes" */
	int64_t created;	/* unix seconds */
	struct kv *labels;
	size_t n_labels;
};

struct docker_container_info {
	char *id;
	char *name;
	char *image;		/* the image as asked for (Config.Image) */
	char *image_id;
	char *status;		/* State.Status */
	int running;
	int restarting;
	int oom_killed;
	int64_t exit_code;
	int64_t pid;
	char *health;		/* State.Health.Status, or NULL without a health check */
	char *started_at;
	char *finished_at;
	int64_t restart_count;
	char *ip_address;	/* first network's address, or NULL */
	struct kv *labels;
	size_t n_labels;
};

struct docker_object {		/* images, networks, volumes */
	char *id;		/* the name, for volumes */
	char *name;
	char *driver;
	struct kv *labels;
	size_t n_labels;
};

struct docker_result {
	enum docker_status status;
	int http_status;	/* 0 when no response */
	char *message;		/* Docker's "message", or what went wrong; "" on success */
	unsigned attempts;	/* HTTP requests made for this call */
	json_t *json;		/* the decoded body, for fields not lifted below; NULL when none */

	/* Filled by the calls named; zero otherwise. */
	char *id;		/* create, exec_create, network_create, volume_create (name) */
	char *api_version;	/* ping: the daemon's maximum; version: the negotiated one */
	struct docker_container_summary *containers;	/* container_list */
	size_t n_containers;
	struct docker_container_info container;		/* container_inspect */
	struct docker_object *objects;	/* network_list, volume_list; [0] for image_inspect */
	size_t n_objects;
	int64_t exit_code;	/* wait, exec_inspect, exec_run */
	int running;		/* exec_inspect */
	struct buf out;		/* logs, exec_start attached, exec_run: stdout */
	struct buf err;		/* the same, stderr */
};

/* What to say about a failed call: Docker's message, or the status's name when it gave none. */
const char *docker_result_reason(const struct docker_result *r);
/* Frees what r holds and zeroes it. */
void docker_result_release(struct docker_result *r);
/* Moves everything from src to dst (which must be released or zero); src is left zeroed. */
void docker_result_move(struct docker_result *dst, struct docker_result *src);

/*
 * The callback of every call. r is valid for the call only; take what you
 * keep with docker_result_move() or by moving its pointers out and setting
 * them to NULL.
 */
typedef void (*docker_done_fn)(struct docker_result *r, void *arg);

/* ------------------------------------------------------------------- calls */

/*
 * Every call takes the kind of work (its bulkhead and default deadline) and
 * returns 0 when started, or a negative ERR_ kind with *err set when its
 * arguments are unusable (then done never runs). Ids may be names.
 */

/* GET /_ping: answers "api_version" with the daemon's maximum (no version prefix). */
int docker_ping(struct docker *d, enum docker_kind k, docker_done_fn done, void *arg, struct error **err);
/* Runs version negotiation (again); result.api_version is the version chosen. */
int docker_negotiate(struct docker *d, docker_done_fn done, void *arg, struct error **err);

/*
 * GET /containers/json?all=1&filters=...: one call for the whole pass.
 * filters are "key=value" lines as `docker ps --filter` takes them
 * ("label=auriga.io/managed-by=prod", "name=web"); NULL-terminated.
 */
int docker_container_list(struct docker *d, enum docker_kind k, const char *const *filters,
			  docker_done_fn done, void *arg, struct error **err);
/*
 * The same list streamed (observe_stream_chunk reads it): each piece of a successful answer's body goes to
 * chunk(data, len, chunk_arg) as it arrives (never buffered whole), a call with data NULL first
 * (an answer begins: a retried call starts over); done ends the call as
 * usual, with r->out empty. A failed answer's body stays out of chunk and
 * makes r's message.
 */
typedef void (*docker_chunk_fn)(const char *data, size_t len, void *arg);
int docker_container_list_stream(struct docker *d, enum docker_kind k, const char *const *filters,
				 docker_chunk_fn chunk, void *chunk_arg, docker_done_fn done, void *arg,
				 struct error **err);
int docker_container_inspect(struct docker *d, enum docker_kind k, const char *id,
			     docker_done_fn done, void *arg, struct error **err);

/*
 * The body of POST /containers/create for spec (pure; for tests and for
 * hashing). Returns a new JSON object, or NULL with *err set when spec is
 * incomplete.
 */
json_t *docker_create_body(const struct docker_create_spec *spec, struct error **err);
/* POST /containers/create?name=: result.id. Not retried once the request may have been sent. */
int docker_container_create(struct docker *d, enum docker_kind k, const struct docker_create_spec *spec,
			    docker_done_fn done, void *arg, struct error **err);
int docker_container_start(struct docker *d, enum docker_kind k, const char *id,
			   docker_done_fn done, void *arg, struct error **err);
/* The call's deadline grows by timeout_s. timeout_s < 0: the container's own stop timeout. */
int docker_container_stop(struct docker *d, enum docker_kind k, const char *id, int timeout_s,
			  docker_done_fn done, void *arg, struct error **err);
/* signal: "KILL" when NULL. A container that is not running answers CONFLICT. */
int docker_container_kill(struct docker *d, enum docker_kind k, const char *id, const char *signal,
			  docker_done_fn done, void *arg, struct error **err);
int docker_container_remove(struct docker *d, enum docker_kind k, const char *id, int force,
			    int volumes, docker_done_fn done, void *arg, struct error **err);
/*
 * POST /containers/{id}/wait?condition=: result.exit_code once the
 * container stops. condition: "not-running" when NULL. timeout_ms replaces
 * the kind's deadline (0: none).
 */
int docker_container_wait(struct docker *d, enum docker_kind k, const char *id, const char *condition,
			  int64_t timeout_ms, docker_done_fn done, void *arg, struct error **err);
int docker_container_rename(struct docker *d, enum docker_kind k, const char *id, const char *new_name,
			    docker_done_fn done, void *arg, struct error **err);
/* The last `tail` lines (0: all) of stdout and stderr, demultiplexed into result.out and result.err. */
int docker_container_logs(struct docker *d, enum docker_kind k, const char *id, unsigned tail,
			  docker_done_fn done, void *arg, struct error **err);

/*
 * GET /containers/{id}/archive?path=: the tar archive of path (a file or a
 * folder) in the container, running or exited, its volumes included, as it
 * is in result.out; at most max_bytes (0: the client's max_body), else TOOBIG.
 * A path that is not there answers NOT_FOUND.
 */
int docker_container_archive(struct docker *d, enum docker_kind k, const char *id, const char *path,
			     size_t max_bytes, docker_done_fn done, void *arg, struct error **err);

/* POST /containers/{id}/exec: result.id is the exec id. attach: collect output when started attached. */
int docker_exec_create(struct docker *d, enum docker_kind k, const char *id, const char *const *argv,
		       int attach, docker_done_fn done, void *arg, struct error **err);
/* POST /exec/{id}/start. detach 0: runs to the end, output in result.out and result.err. */
int docker_exec_start(struct docker *d, enum docker_kind k, const char *exec_id, int detach,
		      docker_done_fn done, void *arg, struct error **err);
/* GET /exec/{id}/json: result.running and result.exit_code. */
int docker_exec_inspect(struct docker *d, enum docker_kind k, const char *exec_id,
			docker_done_fn done, void *arg, struct error **err);
/*
 * create + start attached + inspect, as one call (exec probes, router
 * reloads): result.exit_code, result.out, result.err.
 */
int docker_exec_run(struct docker *d, enum docker_kind k, const char *id, const char *const *argv,
		    docker_done_fn done, void *arg, struct error **err);

/* GET /images/{name}/json: objects[0]. A missing image is NOT_FOUND with "no such image 'name'". */
int docker_image_inspect(struct docker *d, enum docker_kind k, const char *name,
			 docker_done_fn done, void *arg, struct error **err);
int docker_network_list(struct docker *d, enum docker_kind k, const char *const *filters,
			docker_done_fn done, void *arg, struct error **err);
/* driver: "bridge" when NULL. result.id. */
int docker_network_create(struct docker *d, enum docker_kind k, const char *name, const char *driver,
			  int internal, const struct kv *labels, size_t n_labels,
			  docker_done_fn done, void *arg, struct error **err);
int docker_network_remove(struct docker *d, enum docker_kind k, const char *id,
			  docker_done_fn done, void *arg, struct error **err);
/*
 * Connects a running container to a network (an answer of 403 says it is on
 * it already), or disconnects it (forced; 404 when it is gone or not on it).
 */
int docker_network_connect(struct docker *d, enum docker_kind k, const char *network, const char *container,
			   docker_done_fn done, void *arg, struct error **err);
int docker_network_disconnect(struct docker *d, enum docker_kind k, const char *network, const char *container,
			      docker_done_fn done, void *arg, struct error **err);
int docker_volume_list(struct docker *d, enum docker_kind k, const char *const *filters,
		       docker_done_fn done, void *arg, struct error **err);
int docker_volume_create(struct docker *d, enum docker_kind k, const char *name,
			 const struct kv *labels, size_t n_labels,
			 docker_done_fn done, void *arg, struct error **err);
int docker_volume_remove(struct docker *d, enum docker_kind k, const char *name, int force,
			 docker_done_fn done, void *arg, struct error **err);

/* ------------------------------------------------------------------- swarm */

/*
 * A replicated Swarm service: its tasks' container (task: image, command,
 * environment, labels, mounts, health check, limits, restart policy, network
 * and aliases, published ports), and how Swarm replaces its tasks. Swarm
 * refuses what a task cannot be (privileged); ports are published in host
 * mode, each task on its own node.
 */
struct docker_service_spec {
	const char *name;
	const struct docker_create_spec *task;	/* its name is not used: Swarm names the tasks */
	const struct kv *labels;	/* the service's own */
	size_t n_labels;
	int replicas;
	int parallelism;		/* tasks replaced at a time; 0: 1 */
	int start_first;		/* the new task starts before the old one stops */
	int64_t monitor_ms;		/* how long Swarm watches a new task for failure */
	int64_t delay_ms;		/* between batches */
	int max_per_node;		/* Placement.MaxReplicas; 0: no bound */
	const char *const *constraints;	/* Placement.Constraints, NULL-terminated or NULL */
};

/* The body of a service create or update; NULL and *err when Swarm cannot run it. */
json_t *docker_service_body(const struct docker_service_spec *spec, struct error **err);

/* The calls below answer in result.json as Docker sent it (create also sets result.id). */
/* GET /info: Swarm.LocalNodeState, Swarm.ControlAvailable, Swarm.NodeID, ... */
int docker_info(struct docker *d, enum docker_kind k, docker_done_fn done, void *arg, struct error **err);
/* GET /services?status=true&filters=...: each service with ServiceStatus (running and desired tasks). */
int docker_service_list(struct docker *d, enum docker_kind k, const char *const *filters,
			docker_done_fn done, void *arg, struct error **err);
int docker_service_inspect(struct docker *d, enum docker_kind k, const char *id,
			   docker_done_fn done, void *arg, struct error **err);
int docker_service_create(struct docker *d, enum docker_kind k, const struct docker_service_spec *spec,
			  docker_done_fn done, void *arg, struct error **err);
/* POST /services/{id}/update?version=N: refused (a conflict) when the service changed since version N was read. */
int docker_service_update(struct docker *d, enum docker_kind k, const char *id, uint64_t version,
			  const struct docker_service_spec *spec, docker_done_fn done, void *arg, struct error **err);
int docker_service_remove(struct docker *d, enum docker_kind k, const char *id,
			  docker_done_fn done, void *arg, struct error **err);
/* GET /tasks?filters=... ("service=NAME", "desired-state=running", "label=..."). */
int docker_task_list(struct docker *d, enum docker_kind k, const char *const *filters,
		     docker_done_fn done, void *arg, struct error **err);
int docker_node_list(struct docker *d, enum docker_kind k, const char *const *filters,
		     docker_done_fn done, void *arg, struct error **err);

/* ------------------------------------------------------------------ events */

struct docker_event {
	const char *type;	/* container, image, network, volume, daemon, ... */
	const char *action;	/* create, start, die, destroy, health_status: healthy, ... */
	const char *id;		/* Actor.ID */
	const struct kv *attributes;	/* Actor.Attributes: labels, name, exitCode, image */
	size_t n_attributes;
	int64_t time_ns;	/* timeNano */
};

/* Called for each event; ev is valid for the call only. */
typedef void (*docker_event_fn)(const struct docker_event *ev, void *arg);
/*
 * Called when the stream breaks (connected 0, with the status) and each time
 * it is open again (connected 1): the caller relists on reconnect, since
 * events may have been missed if the daemon lost them.
 */
typedef void (*docker_stream_fn)(int connected, enum docker_status st, const char *message, void *arg);

struct docker_watch;

/*
 * Follows GET /events?filters=... (filters as for docker_container_list,
 * e.g. "label=auriga.io/managed-by=prod", "type=container"). When the
 * stream breaks it reconnects with backoff (no attempt limit) and
 * since=<last event's time>, so no event the daemon still holds is lost.
 * since_ns: where to start (0: now). Returns the watch, or NULL with *err.
 */
struct docker_watch *docker_events_watch(struct docker *d, const char *const *filters, int64_t since_ns,
					 docker_event_fn on_event, docker_stream_fn on_stream, void *arg,
					 struct error **err);
/* Stops the watch; no callback runs afterwards. */
void docker_events_stop(struct docker_watch *w);
/* Events the daemon sent malformed on this watch, skipped (not delivered) since it began. */
unsigned long docker_events_skipped(const struct docker_watch *w);
/* Times the stream (re)connected, and the time of the last event seen. */
unsigned docker_watch_connects(const struct docker_watch *w);
int64_t docker_watch_last_ns(const struct docker_watch *w);

/* ------------------------------------------------------- pure stream helpers */

/*
 * Demultiplexes Docker's stream format (8-byte headers: stream, 0, 0, 0,
 * big-endian length) incrementally: feed any chunking; payloads go to out
 * (stdout) and err (stderr). A stream whose first header is not one (a TTY
 * container's) goes to out as it is. Returns 0, ERR_TOOBIG when a buffer is
 * full, or ERR_PROTOCOL on a bad header later on.
 */
struct docker_demux {
	unsigned char hdr[8];
	size_t hdr_len;
	size_t remaining;
	int stream;
	int started;	/* a first header was judged */
	int raw;	/* not multiplexed (a TTY container): everything is stdout */
};
void docker_demux_init(struct docker_demux *m);
int docker_demux_feed(struct docker_demux *m, const char *data, size_t len, struct buf *out, struct buf *err);
/* 1 when the input ended on a frame boundary. */
int docker_demux_complete(const struct docker_demux *m);

/* Parses one event object; returns 0, or ERR_PROTOCOL with *err. ev's strings point into root. */
int docker_event_parse(json_t *root, struct docker_event *ev, struct kv **attrs, struct error **err);

/* Compares "1.41" and "1.40" numerically: <0, 0, >0; garbage sorts lowest. */
int docker_api_compare(const char *a, const char *b);

/* ------------------------------------------------------------- synchronous */

/*
 * For one-shot commands and tests: pass docker_waiter_done and a waiter to
 * any call, then docker_wait() runs the loop until it completes (every
 * call has a deadline, so it does). The result is moved into w->result;
 * release it with docker_result_release(). Zero the waiter before each call:
 * a waiter already done returns at once.
 */
struct docker_waiter {
	int done;
	struct docker_result result;
};
void docker_waiter_done(struct docker_result *r, void *arg);
/* Returns w->result.status. */
enum docker_status docker_wait(struct docker *d, struct docker_waiter *w);

#endif
