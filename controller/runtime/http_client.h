/* Asynchronous HTTP requests: one libcurl multi handle driven by the loop, shared by Docker calls, probes and metrics queries. */
#ifndef AURIGA_HTTP_CLIENT_H
#define AURIGA_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

struct loop;

/*
 * A client owns one CURLM bound to a loop: sockets are watched with
 * loop_watch() and libcurl's timeout is a loop timer, so many requests run at
 * once on the loop thread and nothing blocks. Connections (TCP, TLS and
 * unix-socket) stay in the multi handle's pool and are reused by later
 * requests to the same peer.
 */
struct http_client;
struct http_request;

struct http_tls {
	const char *ca_file;	/* PEM bundle that signs the server; NULL: system store */
	const char *cert_file;	/* client certificate (PEM), for mutual TLS */
	const char *key_file;	/* its private key (PEM) */
	int insecure;		/* 1: skip peer and host verification (never the default) */
};

/*
 * Called once with data NULL and len 0 when the response headers are in
 * (status is then known: a stream is open), then with each chunk of the
 * body. Return 0 to go on, or non-zero to end the request (it then
 * completes with result ERR_GENERIC unless the callback stopped because it
 * was done, see http_request_finish).
 */
typedef int (*http_data_fn)(long status, const char *data, size_t len, void *arg);

struct http_request_opts {
	const char *method;		/* "GET" when NULL */
	const char *url;		/* http://host/path or https://...; for unix sockets the host is ignored */
	const char *unix_socket;	/* path of a unix socket to connect to instead of TCP, or NULL */
	const struct http_tls *tls;	/* for https URLs; NULL: system defaults */
	const char *const *headers;	/* NULL-terminated "Name: value" lines, or NULL */
	const void *body;		/* request body (copied), or NULL */
	size_t body_len;
	int64_t timeout_ms;		/* whole-request deadline; 0: none (streams) */
	int64_t connect_timeout_ms;	/* 0: 10 s */
	size_t max_body;		/* bound on the buffered response body; over it: ERR_TOOBIG */
	size_t max_headers;		/* bound on the response header block; 0: 64 KiB */
	/*
	 * 1: a new connection, not one from the pool. libcurl silently sends a
	 * request again when a reused connection dies before any answer; that
	 * is wrong for a request that must not be repeated (a create), which
	 * therefore asks for a fresh connection.
	 */
	int fresh_connection;
	http_data_fn on_data;		/* stream the body here instead of buffering it */
	void *data_arg;
	/*
	 * Asked at the last moment, connected and just before the request
	 * leaves (libcurl's CURLOPT_PREREQFUNCTION): nonzero stops it unsent,
	 * with the result ERR_REFUSED. NULL: none.
	 */
	int (*prereq)(void *arg);
	void *prereq_arg;
};

struct http_response {
	/*
	 * 0 when the request completed at the HTTP level (whatever the status),
	 * else ERR_TIMEOUT, ERR_TRANSPORT (connect, reset, TLS, truncated body),
	 * ERR_TOOBIG (body or headers over their bound) or ERR_GENERIC.
	 */
	int result;
	int connected;		/* 1 once a connection was made: the request may have reached the peer */
	long status;		/* HTTP status code, 0 when none was received */
	const char *error;	/* libcurl's message for a failed transfer, "" otherwise */
	struct buf headers;	/* raw header block of the final response */
	struct buf body;	/* buffered body (empty when on_data streamed it) */
	int64_t elapsed_ms;
	struct buf value;	/* private: holds what http_response_header() returns */
};

/* Returns the value of header name (case-insensitive), valid until the next call on r, or NULL. */
const char *http_response_header(struct http_response *r, const char *name);

/*
 * Called once per request on the loop thread, unless the request was
 * cancelled. resp (and everything in it) is valid for the call only; the
 * callback may take the body with buf_detach().
 */
typedef void (*http_done_fn)(struct http_response *resp, void *arg);

struct http_client *http_client_new(struct loop *l, struct error **err);
/* Cancels every request still running (no callbacks) and frees the client. */
void http_client_free(struct http_client *c);

/*
 * Starts a request; done is called when it ends. Returns the request handle
 * (valid until done runs or http_request_cancel() is called), or NULL with
 * *err set when the options are unusable. Never calls done synchronously.
 */
struct http_request *http_client_start(struct http_client *c, const struct http_request_opts *o,
				       http_done_fn done, void *arg, struct error **err);
/* Aborts a running request without calling its done callback. */
void http_request_cancel(struct http_client *c, struct http_request *r);
/*
 * From inside on_data: marks the request as complete on purpose, so that the
 * non-zero return that follows ends it with result 0 rather than an error.
 */
void http_request_finish(struct http_request *r);

/* Number of requests running (for tests and the status page). */
unsigned http_client_active(const struct http_client *c);

#endif
