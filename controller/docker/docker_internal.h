/* What the docker_*.c files share and nothing else sees: the client, one call in flight, and how they meet. */
#ifndef AURIGA_DOCKER_INTERNAL_H
#define AURIGA_DOCKER_INTERNAL_H

#include "docker/docker.h"
#include "runtime/bulkhead.h"
#include "runtime/http_client.h"

/* How a successful body is turned into the result. */
enum docker_parse {
	DP_NONE,		/* body ignored */
	DP_PING,		/* API-Version header */
	DP_VERSION,		/* /version */
	DP_CONTAINERS,
	DP_CONTAINER,
	DP_ID,			/* {"Id": ...} */
	DP_VOLUME_NAME,		/* {"Name": ...} */
	DP_WAIT,
	DP_EXEC_INSPECT,
	DP_STREAM,		/* multiplexed stdout/stderr */
	DP_IMAGE,
	DP_NETWORKS,
	DP_VOLUMES,
	DP_RAW,			/* the body as it is, in result.out */
	DP_JSON,		/* the decoded body in result.json, nothing lifted */
	DP_SERVICE_ID,		/* {"ID": ...}: a service created */
};

/* A waiter for version negotiation, embedded in what waits. */
struct docker_negwait {
	struct docker_negwait *next;
	void (*fn)(struct docker_negwait *w, enum docker_status st, const char *msg);
	void (*drop)(struct docker_negwait *w);	/* frees a waiter nobody else owns, on docker_free */
};

struct docker_call {
	struct docker_call *prev, *next;	/* in d->calls */
	struct docker *d;
	enum docker_kind kind;
	char *what;		/* "start container", for messages */
	char *subject;		/* the id or name it acts on */
	const char *method;
	struct buf path;	/* path and query, without the version prefix */
	char *body;
	size_t body_len;
	int versioned;		/* prefix with /vX.Y */
	int idempotent;		/* safe to send again after it may have been seen */
	int no_bulkhead;	/* internal calls (negotiation) */
	enum docker_parse parse;
	int64_t timeout_ms;	/* whole call, across retries; 0: none */
	size_t max_body;	/* this call's bound on the body; 0: the client's */
	int64_t deadline;	/* absolute, monotonic; 0: none */
	int64_t submitted_at;	/* monotonic ms, for the observer */
	int holds_slot;
	int queued;
	int waiting_neg;
	struct bulkhead_waiter bw;
	struct docker_negwait nw;
	uint64_t timer;
	struct http_request *req;
	struct docker_result res;
	docker_done_fn done;
	void *arg;
	void (*drop)(void *arg);	/* frees arg when the call is dropped by docker_free */
	/* A streamed answer: a 2xx body goes here as it arrives; another's is kept in errbody for the message. */
	docker_chunk_fn chunk;
	void *chunk_arg;
	struct buf errbody;
};

struct docker_watch;

struct docker {
	struct loop *loop;
	struct http_client *http;
	struct docker_config cfg;
	char *endpoint;
	char *unix_path;
	char *base_url;
	char *ca_file, *cert_file, *key_file;
	struct http_tls tls;
	int use_tls;
	char api_version[16];
	char api_min[16];
	int negotiating;
	struct docker_negwait *negwaiters;
	struct docker_result neg_result;	/* scratch for docker_negotiate's own callers */
	struct breaker breaker;
	char *last_failure;	/* what the last attempt that failed at the endpoint said; the open breaker repeats it */
	struct bulkhead bulk[DOCKER_KIND_COUNT];
	struct docker_call *calls;
	struct docker_watch *watches;
	unsigned long requests, retries;
	docker_observer_fn observer;
	void *observer_arg;
	docker_fence_fn fence;
	void *fence_arg;
	char *fence_label;
};

struct docker_call *docker_call_new(struct docker *d, enum docker_kind k, const char *method,
				    const char *what, const char *subject, docker_done_fn done, void *arg);
/* The fence's token when there is a fence and it lets go (0), else -1: the label of a container created. */
int docker__fence_token(struct docker *d, char *token, size_t n);
/* Starts c (bulkhead, negotiation, breaker, retries); the callback always runs later. */
void docker_call_submit(struct docker_call *c);
/* Frees a call that was never submitted. */
void docker_call_free(struct docker_call *c);
/* Appends s to the call's path, URL-escaped. */
void docker_call_path_escaped(struct docker_call *c, const char *s);
/* Appends ?filters=<json> (or &filters=) built from "key=value" lines. */
int docker_call_filters(struct docker_call *c, const char *const *filters, char sep, struct error **err);
/* The JSON text of a filters object, or NULL with *err. */
char *docker_filters_json(const char *const *filters, struct error **err);

/* Waits for (or starts) version negotiation; w->fn runs later with the outcome. */
void docker_negotiate_wait(struct docker *d, struct docker_negwait *w);
void docker_negotiate_cancel(struct docker *d, struct docker_negwait *w);
/* Classifies a finished HTTP response: status and message into r (not the body). */
void docker_classify(struct docker *d, const struct docker_call *c, struct http_response *resp,
		     struct docker_result *r);
/* Reads {"message": ...} or the raw text of an error body. */
char *docker_error_message(const struct buf *body);

/* docker_result.c: lifting the body into the typed fields. */
int docker_parse_body(struct docker_result *r, enum docker_parse p, struct http_response *resp,
		      size_t max, struct error **err);
struct kv *docker_labels_from_json(json_t *obj, size_t *n);

/* docker_calls.c: the pieces of a create body that a service's task template shares. */
json_t *docker__strv(const char *const *v);
json_t *docker__labels_json(const struct kv *l, size_t n);
json_t *docker__mounts_json(const struct docker_create_spec *s);
json_t *docker__healthcheck_json(const struct docker_healthcheck *h);
/* Every refusal of a create spec (what: "container", or "service" for a task template); 0 when it builds. */
int docker__create_check(const struct docker_create_spec *s, const char *what, const char *name, struct error **err);
/* The request's body: body encoded (and released). */
void docker__set_body(struct docker_call *c, json_t *body);

/* docker_events.c */
void docker_watches_free(struct docker *d);

/* docker_set_drop for the exec runs (docker_exec_run) made with arg. */
void docker_exec_runs_set_drop(struct docker *d, const void *arg, void (*drop)(void *arg));

#endif
