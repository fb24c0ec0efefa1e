/* The node's HTTP server: health, transactions, info and metrics over libmicrohttpd, and its life until a signal. */
#include "node.h"

#include <microhttpd.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct request {
	int64_t start_us;
	struct buf body;
	int too_big;
};

/* Method label values: a fixed set, so the metrics table stays bounded whatever clients send. */
static const char *method_label(const char *m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(known); i++)
		if (strcmp(m, known[i]) == 0)
			return known[i];
	return "OTHER";
}

/* Sends body (taken over and emptied) with the node headers, and records the request. */
static enum MHD_Result respond(struct MHD_Connection *conn, struct request *req, const char *method,
			       const char *uri, unsigned status, const char *content_type, struct buf *body,
			       const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t len;
	char *data = buf_detach(body, &len);

	resp = MHD_create_response_from_buffer_with_free_callback(len, data, free);
	if (resp == NULL) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "X-Node-Version", cfg.version);
	MHD_add_response_header(resp, "X-Node-Id", cfg.node);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	metrics_record(method_label(method), uri, status, now_us() - req->start_us);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static const char JSON[] = "application/json";

static const char *updown(int up)
{
	return up ? "UP" : "DOWN";
}

enum health_kind { HEALTH_LIVE, HEALTH_READY, HEALTH_STARTUP, HEALTH_ALL };

/* A SmallRye Health style body: {"status":…,"checks":[{"name":…,"status":…,"data":{…}}]}. */
static unsigned health(enum health_kind kind, struct buf *out)
{
	int live = is_live(), started = is_started();
	int accepting = !cfg.never_ready && !atomic_load(&draining) && db_ready();
	const char *sep = "";
	int up = 1, rc = 0;

	rc |= buf_puts(out, "{\"checks\":[");
	if (kind == HEALTH_LIVE || kind == HEALTH_ALL) {
		rc |= buf_printf(out, "%s{\"name\":\"liveness\",\"status\":\"%s\",\"data\":{\"uptimeMs\":%" PRId64
				 ",\"failAfterS\":%ld}}", sep, updown(live), uptime_ms(),
				 cfg.live_fail_after_s);
		up &= live;
		sep = ",";
	}
	if (kind != HEALTH_LIVE) {
		rc |= buf_printf(out, "%s{\"name\":\"startup\",\"status\":\"%s\",\"data\":{\"uptimeMs\":%" PRId64
				 ",\"startDelayMs\":%ld}}", sep, updown(started), uptime_ms(),
				 cfg.start_delay_ms);
		up &= started;
		sep = ",";
	}
	if (kind == HEALTH_READY || kind == HEALTH_ALL) {
		rc |= buf_printf(out, "%s{\"name\":\"readiness\",\"status\":\"%s\",\"data\":{\"neverReady\":%s"
				 ",\"draining\":%s%s}}", sep, updown(accepting),
				 cfg.never_ready ? "true" : "false", atomic_load(&draining) ? "true" : "false",
				 !db_enabled() ? "" : db_ready() ? ",\"database\":\"UP\"" : ",\"database\":\"DOWN\"");
		up &= accepting;
	}
	rc |= buf_printf(out, "],\"status\":\"%s\"}\n", updown(up));
	if (rc)
		BUG("health body over its bound");
	return up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static unsigned transaction(const struct request *req, struct buf *out)
{
	char why[512];
	uint64_t n;
	int rc;

	/* A body that is too big is no transaction: it takes no number and no added latency. */
	if (req->too_big) {
		rc = buf_printf(out, "{\"error\":\"body larger than %d bytes\"}\n", TX_BODY_MAX);
		if (rc)
			BUG("error body over its bound");
		return MHD_HTTP_CONTENT_TOO_LARGE;
	}
	n = atomic_fetch_add(&tx_seq, 1);
	if (cfg.latency_ms > 0) {
		struct timespec ts = { cfg.latency_ms / 1000, (cfg.latency_ms % 1000) * 1000000L };

		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	if (tx_should_fail(n)) {
		atomic_fetch_add(&tx_failed, 1);
		rc = buf_printf(out, "{\"error\":\"injected failure\",\"seq\":%" PRIu64 ",\"version\":\"%s\","
				"\"node\":\"%s\"}\n", n + 1, cfg.version, cfg.node);
		if (rc)
			BUG("error body over its bound");
		return MHD_HTTP_INTERNAL_SERVER_ERROR;
	}
	if (db_enabled() && db_write(n + 1, req->body.len, why, sizeof(why)) != 0) {
		atomic_fetch_add(&tx_failed, 1);
		rc = buf_printf(out, "{\"error\":\"database: %s\",\"seq\":%" PRIu64 ",\"version\":\"%s\","
				"\"node\":\"%s\"}\n", why, n + 1, cfg.version, cfg.node);
		if (rc)
			BUG("error body over its bound");
		return MHD_HTTP_SERVICE_UNAVAILABLE;
	}
	atomic_fetch_add(&tx_accepted, 1);
	rc = buf_printf(out, "{\"txId\":\"%s-%" PRIu64 "\",\"status\":\"ACCEPTED\",\"bytes\":%zu,"
			"\"version\":\"%s\",\"node\":\"%s\"}\n", cfg.node, n + 1, req->body.len, cfg.version,
			cfg.node);
	if (rc)
		BUG("transaction body over its bound");
	return MHD_HTTP_CREATED;
}

static unsigned info(struct buf *out)
{
	if (buf_printf(out, "{\"name\":\"aurigraph-demo-node\",\"version\":\"%s\",\"node\":\"%s\","
		       "\"uptimeMs\":%" PRId64 ",\"ready\":%s,\"draining\":%s}\n", cfg.version, cfg.node,
		       uptime_ms(), is_ready() ? "true" : "false", atomic_load(&draining) ? "true" : "false"))
		BUG("info body over its bound");
	return MHD_HTTP_OK;
}

enum route_kind { R_LIVE, R_READY, R_STARTUP, R_HEALTH, R_TX, R_INFO, R_METRICS };

static const struct route {
	const char *path;
	const char *method;	/* HEAD is allowed wherever GET is */
	enum route_kind kind;
} routes[] = {
	{ "/q/health/live", "GET", R_LIVE },
	{ "/q/health/ready", "GET", R_READY },
	{ "/q/health/started", "GET", R_STARTUP },
	{ "/q/health/startup", "GET", R_STARTUP },
	{ "/q/health", "GET", R_HEALTH },
	{ "/api/v11/transactions", "POST", R_TX },
	{ "/api/v11/info", "GET", R_INFO },
	{ "/q/metrics", "GET", R_METRICS },
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload_data, size_t *upload_data_size,
			      void **req_cls)
{
	struct request *req = *req_cls;
	const struct route *r = NULL;
	struct buf out;
	unsigned status;
	size_t i;
	int method_ok;

	(void)cls;
	(void)version;
	if (req == NULL) {
		req = xcalloc(1, sizeof(*req));
		req->start_us = now_us();
		buf_init(&req->body, TX_BODY_MAX);
		*req_cls = req;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		if (!req->too_big && buf_append(&req->body, upload_data, *upload_data_size) != 0) {
			req->too_big = 1;
			buf_release(&req->body);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	buf_init(&out, OUT_MAX);
	for (i = 0; i < ARRAY_SIZE(routes); i++) {
		if (strcmp(url, routes[i].path) == 0) {
			r = &routes[i];
			break;
		}
	}
	if (r == NULL) {
		if (buf_printf(&out, "{\"error\":\"no such path\"}\n"))
			BUG("error body over its bound");
		return respond(conn, req, method, "NOT_FOUND", MHD_HTTP_NOT_FOUND, JSON, &out, NULL);
	}
	method_ok = strcmp(method, r->method) == 0 ||
		    (strcmp(r->method, "GET") == 0 && strcmp(method, "HEAD") == 0);
	if (!method_ok) {
		if (buf_printf(&out, "{\"error\":\"method %s not allowed\"}\n", method_label(method)))
			BUG("error body over its bound");
		return respond(conn, req, method, r->path, MHD_HTTP_METHOD_NOT_ALLOWED, JSON, &out,
			       strcmp(r->method, "GET") == 0 ? "GET, HEAD" : r->method);
	}
	switch (r->kind) {
	case R_LIVE:
		status = health(HEALTH_LIVE, &out);
		break;
	case R_READY:
		status = health(HEALTH_READY, &out);
		break;
	case R_STARTUP:
		status = health(HEALTH_STARTUP, &out);
		break;
	case R_HEALTH:
		status = health(HEALTH_ALL, &out);
		break;
	case R_TX:
		status = transaction(req, &out);
		break;
	case R_INFO:
		status = info(&out);
		break;
	case R_METRICS:
		if (metrics_render(&out) != 0) {
			buf_reset(&out);
			if (buf_puts(&out, "metrics larger than the response bound\n"))
				BUG("error body over its bound");
			return respond(conn, req, method, r->path, MHD_HTTP_INTERNAL_SERVER_ERROR,
				       "text/plain; charset=utf-8", &out, NULL);
		}
		return respond(conn, req, method, r->path, MHD_HTTP_OK,
			       "text/plain; version=0.0.4; charset=utf-8", &out, NULL);
	default:
		BUG("route kind %d", (int)r->kind);
	}
	return respond(conn, req, method, r->path, status, JSON, &out, NULL);
}

static void request_done(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *req = *req_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (req == NULL)
		return;
	buf_release(&req->body);
	free(req);
	*req_cls = NULL;
}

/* The server's life: start, wait for a signal or a deadline, drain, stop. */
int serve(void)
{
	struct MHD_Daemon *d;
	sigset_t sigs;
	int64_t crash_at = cfg.crash_after_s ? start_ms + cfg.crash_after_s * 1000 : 0;
	int64_t drain_until = 0;

	/* Blocked before the server's threads exist, so they inherit the mask and only sigtimedwait sees these. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (db_start() != 0)
		return 1;

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			     MHD_USE_ERROR_LOG, (uint16_t)cfg.port, NULL, NULL, handle, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
			     MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024),
			     MHD_OPTION_END);
	if (d == NULL) {
		fprintf(stderr, "demo-node: cannot listen on port %ld: %s\n", cfg.port, strerror(errno));
		return 1;
	}
	fprintf(stderr, "demo-node: version %s node %s listening on port %ld (start delay %ld ms, "
		"never ready %ld, error rate %g, latency %ld ms, crash after %ld s, drain %ld ms, "
		"live fails after %ld s)\n", cfg.version, cfg.node, cfg.port, cfg.start_delay_ms,
		cfg.never_ready, cfg.error_rate, cfg.latency_ms, cfg.crash_after_s, cfg.drain_ms,
		cfg.live_fail_after_s);
	if (db_enabled())
		fprintf(stderr, "demo-node: writing transactions to the database %s at %s:%ld as %s\n",
			cfg.db.dbname, cfg.db.host, cfg.db.port, cfg.db.user);

	for (;;) {
		int64_t now = now_ms(), wait = 1000;
		struct timespec ts;
		int sig;

		if (crash_at && now >= crash_at) {
			fprintf(stderr, "demo-node: crashing after %ld s as DEMO_CRASH_AFTER_S asks\n",
				cfg.crash_after_s);
			_exit(EXIT_CRASH);
		}
		if (drain_until && now >= drain_until)
			break;
		if (crash_at && crash_at - now < wait)
			wait = crash_at - now;
		if (drain_until && drain_until - now < wait)
			wait = drain_until - now;
		ts.tv_sec = wait / 1000;
		ts.tv_nsec = (wait % 1000) * 1000000L;
		sig = sigtimedwait(&sigs, NULL, &ts);
		if (sig < 0)
			continue;	/* timed out or interrupted: look at the deadlines again */
		if (atomic_load(&draining)) {
			fprintf(stderr, "demo-node: second signal %d, stopping now\n", sig);
			break;
		}
		atomic_store(&draining, 1);
		drain_until = now_ms() + cfg.drain_ms;
		fprintf(stderr, "demo-node: signal %d, readiness DOWN, draining for %ld ms\n", sig, cfg.drain_ms);
		if (cfg.drain_ms == 0)
			break;
	}
	MHD_stop_daemon(d);
	fprintf(stderr, "demo-node: stopped\n");
	return 0;
}
