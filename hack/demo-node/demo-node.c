/* A stand-in for an Aurigraph DLT node: Quarkus-style health, transactions and metrics over libmicrohttpd. */

/*
 * Tests make a release good or bad through environment variables (see the
 * settings table below and README.md beside this file). The server is
 * libmicrohttpd with one thread per connection, so an added latency delays
 * only the request it belongs to.
 *
 * Linking: libmicrohttpd pulls in GnuTLS, and GnuTLS needs p11-kit, which
 * Debian ships only as a shared library, so a fully static link cannot be
 * made. The binary is linked dynamically and hack/build-images.sh puts it in
 * a FROM-scratch image together with exactly the libraries `ldd` lists and
 * the loader.
 *
 * `demo-node probe PATH [PORT [HOST]]` is a tiny HTTP client for exec probes,
 * the image's HEALTHCHECK and smoke-test Jobs (the image has no shell or curl).
 */
#include "buf.h"
#include "util.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define EXIT_BAD_CONFIG 2	/* an environment variable or argument is wrong */
#define EXIT_CRASH 3		/* DEMO_CRASH_AFTER_S ran out */
#define ID_MAX 64		/* versions and node ids */
#define TX_BODY_MAX (1024 * 1024)
#define OUT_MAX (1024 * 1024)	/* largest response we build */
#define PROBE_TIMEOUT_S 5

/* ---- settings: one table, read from the environment, validated before anything starts ---- */

enum setting_type { SET_ID, SET_LONG, SET_RATE, SET_BOOL };

struct config {
	char version[ID_MAX + 1];
	char node[ID_MAX + 1];
	long port;
	long start_delay_ms;
	long never_ready;
	double error_rate;
	long latency_ms;
	long crash_after_s;
	long drain_ms;
	long live_fail_after_s;
};

static struct config cfg;

struct setting {
	const char *env;
	enum setting_type type;
	long min, max;
	const char *def;	/* NULL: computed (the node id defaults to the host name) */
	void *dst;
	const char *what;
};

static const struct setting settings[] = {
	{ "DEMO_VERSION", SET_ID, 0, 0, "v1", cfg.version, "version reported in X-Node-Version" },
	{ "DEMO_NODE_ID", SET_ID, 0, 0, NULL, cfg.node, "node id reported in X-Node-Id (default: host name)" },
	{ "DEMO_PORT", SET_LONG, 1, 65535, "9003", &cfg.port, "TCP port to listen on" },
	{ "DEMO_START_DELAY_MS", SET_LONG, 0, 3600000, "0", &cfg.start_delay_ms,
	  "startup and readiness report DOWN until this has passed" },
	{ "DEMO_NEVER_READY", SET_BOOL, 0, 1, "0", &cfg.never_ready, "readiness never turns UP" },
	{ "DEMO_ERROR_RATE", SET_RATE, 0, 1, "0", &cfg.error_rate, "share of transactions answered 500" },
	{ "DEMO_LATENCY_MS", SET_LONG, 0, 600000, "0", &cfg.latency_ms, "added to every transaction" },
	{ "DEMO_CRASH_AFTER_S", SET_LONG, 0, 86400, "0", &cfg.crash_after_s,
	  "exit with status 3 after this many seconds (0: never)" },
	{ "DEMO_DRAIN_MS", SET_LONG, 0, 600000, "500", &cfg.drain_ms,
	  "on SIGTERM, keep serving this long with readiness DOWN, then exit 0" },
	{ "DEMO_LIVE_FAIL_AFTER_S", SET_LONG, 0, 86400, "0", &cfg.live_fail_after_s,
	  "liveness turns DOWN after this many seconds (0: never)" },
};

/* Ids go into headers, JSON strings and Prometheus labels unescaped, so only safe bytes are allowed. */
static int id_char(char ch)
{
	unsigned char c = (unsigned char)ch;

	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-' || c == '+';
}

static int id_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ID_MAX)
		return 0;
	for (; *s; s++)
		if (!id_char(*s))
			return 0;
	return 1;
}

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < 0.0 || v > 1.0)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, long *out)
{
	if (strcmp(s, "1") == 0 || strcmp(s, "true") == 0 || strcmp(s, "yes") == 0) {
		*out = 1;
		return 0;
	}
	if (strcmp(s, "0") == 0 || strcmp(s, "false") == 0 || strcmp(s, "no") == 0) {
		*out = 0;
		return 0;
	}
	return -1;
}

/* The host name, cut to ID_MAX bytes, with any byte an id may not hold turned into '-'. */
static void default_node_id(char *dst, size_t size)
{
	char host[256] = "";
	size_t i, n;

	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		memcpy(host, "demo-node", sizeof("demo-node"));
	n = strnlen(host, size - 1);
	for (i = 0; i < n; i++)
		dst[i] = id_char(host[i]) ? host[i] : '-';
	dst[n] = '\0';
}

/* Reads every setting; on a bad value prints which variable and why, and returns -1. */
static int config_load(void)
{
	size_t i;
	int bad = 0;

	for (i = 0; i < ARRAY_SIZE(settings); i++) {
		const struct setting *s = &settings[i];
		const char *v = getenv(s->env);
		int rc = 0;

		if (v == NULL || v[0] == '\0') {
			if (s->def == NULL) {
				default_node_id(s->dst, ID_MAX + 1);
				continue;
			}
			v = s->def;
		}
		switch (s->type) {
		case SET_ID:
			if (!id_valid(v)) {
				fprintf(stderr, "demo-node: %s: '%s' is not a valid id "
					"(1 to %d of A-Z a-z 0-9 . _ - +)\n", s->env, v, ID_MAX);
				rc = -1;
			} else {
				snprintf(s->dst, ID_MAX + 1, "%s", v);
			}
			break;
		case SET_LONG:
			if (parse_long(v, s->min, s->max, s->dst) != 0) {
				fprintf(stderr, "demo-node: %s: '%s' is not an integer from %ld to %ld\n",
					s->env, v, s->min, s->max);
				rc = -1;
			}
			break;
		case SET_RATE:
			if (parse_rate(v, s->dst) != 0) {
				fprintf(stderr, "demo-node: %s: '%s' is not a number from 0 to 1\n", s->env, v);
				rc = -1;
			}
			break;
		case SET_BOOL:
			if (parse_bool(v, s->dst) != 0) {
				fprintf(stderr, "demo-node: %s: '%s' is not a boolean (1, 0, true, false, yes, no)\n",
					s->env, v);
				rc = -1;
			}
			break;
		}
		if (rc != 0)
			bad = 1;
	}
	return bad ? -1 : 0;
}

/* ---- state shared by the connection threads ---- */

static int64_t start_ms;		/* monotonic */
static int64_t start_wall_ms;
static atomic_int draining;
static atomic_uint_fast64_t tx_seq;	/* transactions received, numbers the spread of errors */
static atomic_uint_fast64_t tx_accepted, tx_failed;

static int64_t uptime_ms(void)
{
	return now_ms() - start_ms;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int is_started(void)
{
	return uptime_ms() >= cfg.start_delay_ms;
}

static int is_live(void)
{
	return cfg.live_fail_after_s == 0 || uptime_ms() < cfg.live_fail_after_s * 1000;
}

static int is_ready(void)
{
	return is_started() && !cfg.never_ready && !atomic_load(&draining);
}

/*
 * Transaction n (from 0) fails when floor((n+1)*rate) > floor(n*rate): the
 * failures are spread evenly, so a rate of 0.2 fails exactly 20 of every 100
 * consecutive transactions. The rate is held in parts per million.
 */
static int tx_should_fail(uint64_t n)
{
	uint64_t ppm = (uint64_t)llround(cfg.error_rate * 1000000.0);

	return (n + 1) * ppm / 1000000 > n * ppm / 1000000;
}

/* ---- metrics: a bounded table of series keyed by method, route and status ---- */

static const int64_t bucket_us[] = {
	1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};
static const char *const bucket_le[] = {
	"0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
	"1", "2.5", "5", "10",
};
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))
#define MAX_SERIES 256

struct series {
	const char *method;	/* static strings only, so the table holds no copies */
	const char *uri;
	unsigned status;
	uint64_t count;
	uint64_t sum_us;
	uint64_t bucket[NBUCKETS + 1];	/* not cumulative; the last is above 10 s */
};

static pthread_mutex_t metrics_lock = PTHREAD_MUTEX_INITIALIZER;
static struct series series_tab[MAX_SERIES];
static size_t nseries;
static uint64_t series_dropped;

static void metrics_record(const char *method, const char *uri, unsigned status, int64_t us)
{
	struct series *s = NULL;
	size_t i;

	if (us < 0)
		us = 0;
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < nseries; i++) {
		if (series_tab[i].status == status && series_tab[i].method == method &&
		    series_tab[i].uri == uri) {
			s = &series_tab[i];
			break;
		}
	}
	if (s == NULL && nseries < MAX_SERIES) {
		s = &series_tab[nseries++];
		s->method = method;
		s->uri = uri;
		s->status = status;
	}
	if (s == NULL) {
		series_dropped++;
	} else {
		size_t b = 0;

		while (b < NBUCKETS && us > bucket_us[b])
			b++;
		s->bucket[b]++;
		s->count++;
		s->sum_us += (uint64_t)us;
	}
	pthread_mutex_unlock(&metrics_lock);
}

static int metrics_render(struct buf *out)
{
	size_t i, b;
	int rc = 0;

	rc |= buf_puts(out, "# HELP http_server_requests_total Requests served, by method, route and status.\n"
		       "# TYPE http_server_requests_total counter\n");
	pthread_mutex_lock(&metrics_lock);
	for (i = 0; i < nseries; i++) {
		const struct series *s = &series_tab[i];

		rc |= buf_printf(out, "http_server_requests_total{method=\"%s\",uri=\"%s\",status=\"%u\"} %" PRIu64 "\n",
				 s->method, s->uri, s->status, s->count);
	}
	rc |= buf_puts(out, "# HELP http_server_requests_seconds Time to answer a request, in seconds.\n"
		       "# TYPE http_server_requests_seconds histogram\n");
	for (i = 0; i < nseries; i++) {
		const struct series *s = &series_tab[i];
		uint64_t cum = 0;

		for (b = 0; b <= NBUCKETS; b++) {
			cum += s->bucket[b];
			rc |= buf_printf(out, "http_server_requests_seconds_bucket{method=\"%s\",uri=\"%s\","
					 "status=\"%u\",le=\"%s\"} %" PRIu64 "\n", s->method, s->uri, s->status,
					 b < NBUCKETS ? bucket_le[b] : "+Inf", cum);
		}
		rc |= buf_printf(out, "http_server_requests_seconds_sum{method=\"%s\",uri=\"%s\",status=\"%u\"} "
				 "%" PRIu64 ".%06" PRIu64 "\n", s->method, s->uri, s->status,
				 s->sum_us / 1000000, s->sum_us % 1000000);
		rc |= buf_printf(out, "http_server_requests_seconds_count{method=\"%s\",uri=\"%s\",status=\"%u\"} "
				 "%" PRIu64 "\n", s->method, s->uri, s->status, s->count);
	}
	rc |= buf_printf(out, "# HELP demo_node_metrics_series_dropped_total Requests not recorded because "
			 "the series table was full.\n# TYPE demo_node_metrics_series_dropped_total counter\n"
			 "demo_node_metrics_series_dropped_total %" PRIu64 "\n", series_dropped);
	pthread_mutex_unlock(&metrics_lock);

	rc |= buf_printf(out, "# HELP demo_node_info The node's version and id.\n# TYPE demo_node_info gauge\n"
			 "demo_node_info{version=\"%s\",node=\"%s\"} 1\n", cfg.version, cfg.node);
	rc |= buf_printf(out, "# HELP demo_node_transactions_total Transactions answered, by result.\n"
			 "# TYPE demo_node_transactions_total counter\n"
			 "demo_node_transactions_total{result=\"accepted\"} %" PRIu64 "\n"
			 "demo_node_transactions_total{result=\"failed\"} %" PRIu64 "\n",
			 (uint64_t)atomic_load(&tx_accepted), (uint64_t)atomic_load(&tx_failed));
	rc |= buf_printf(out, "# HELP demo_node_ready 1 while the readiness check is UP.\n"
			 "# TYPE demo_node_ready gauge\ndemo_node_ready %d\n", is_ready());
	rc |= buf_printf(out, "# HELP process_start_time_seconds Start time of the process since the epoch.\n"
			 "# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %" PRId64 ".%03" PRId64 "\n",
			 start_wall_ms / 1000, start_wall_ms % 1000);
	return rc ? -1 : 0;
}

/* ---- HTTP ---- */

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
	int accepting = !cfg.never_ready && !atomic_load(&draining);
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
				 ",\"draining\":%s}}", sep, updown(accepting),
				 cfg.never_ready ? "true" : "false", atomic_load(&draining) ? "true" : "false");
		up &= accepting;
	}
	rc |= buf_printf(out, "],\"status\":\"%s\"}\n", updown(up));
	if (rc)
		BUG("health body over its bound");
	return up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static unsigned transaction(const struct request *req, struct buf *out)
{
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

/* ---- the server's life: start, wait for a signal or a deadline, drain, stop ---- */

static int serve(void)
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

/* ---- probe mode: GET one path on 127.0.0.1 (or a host by name or address), exit 0 on 2xx ---- */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The code in a status line "HTTP/1.x NNN reason", or -1. */
static int status_code(const char *line)
{
	const char *p = strchr(line, ' ');
	int i, code = 0;

	if (strncmp(line, "HTTP/", 5) != 0 || p == NULL)
		return -1;
	for (i = 1; i <= 3; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		code = code * 10 + (p[i] - '0');
	}
	if ((p[4] != ' ' && p[4] != '\r' && p[4] != '\n') || code < 100 || code > 599)
		return -1;
	return code;
}

/*
 * Reads the response (bounded) and returns its status code, or -1; the
 * X-Node-Version header's value, when there is one, goes to version.
 */
static int read_status(int fd, char *version, size_t n_version)
{
	struct buf in;
	char chunk[4096];
	const char *h;
	int code;

	version[0] = '\0';
	buf_init(&in, 64 * 1024);
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf_append(&in, chunk, (size_t)r) != 0)
			break;
	}
	code = status_code(in.data);
	for (h = in.data; h != NULL && *h != '\0' && *h != '\r' && *h != '\n'; h = strchr(h, '\n'), h = h ? h + 1 : h) {
		if (strncasecmp(h, "X-Node-Version:", 15) == 0) {
			size_t len;

			h += 15;
			h += strspn(h, " \t");
			len = strcspn(h, "\r\n");
			snprintf(version, n_version, "%.*s", (int)len, h);
			break;
		}
	}
	buf_release(&in);
	return code;
}

/* A socket connected to host:port (a name or an IPv4 address), bounded by PROBE_TIMEOUT_S; -1 when not. */
static int probe_connect(const char *host, long port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct timeval tv = { PROBE_TIMEOUT_S, 0 };
	char port_s[16];
	int fd, rc;

	snprintf(port_s, sizeof(port_s), "%ld", port);
	rc = getaddrinfo(host, port_s, &hints, &ai);
	if (rc != 0) {
		fprintf(stderr, "demo-node probe: cannot resolve '%s': %s\n", host, gai_strerror(rc));
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* On Linux the send timeout bounds connect() too. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		fprintf(stderr, "demo-node probe: connect to %s:%ld: %s\n", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* An argument, or for "-" the variable auriga sets for a smoke test (AURIGA_PREVIEW_HOST, _PORT), or def. */
static const char *probe_arg(int argc, char **argv, int i, const char *preview_env, const char *def)
{
	const char *v = argc > i ? argv[i] : NULL;

	if (v != NULL && strcmp(v, "-") == 0)
		v = getenv(preview_env);
	return v != NULL && v[0] != '\0' ? v : def;
}

static int probe_main(int argc, char **argv)
{
	const char *path, *port_s, *host;
	struct buf req;
	char version[256];
	const char *want;
	long port;
	size_t i;
	int fd, code;

	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: demo-node probe URL-PATH [PORT [HOST]]\n");
		return 1;
	}
	path = argv[2];
	port_s = probe_arg(argc, argv, 3, "AURIGA_PREVIEW_PORT", getenv("DEMO_PORT"));
	if (port_s == NULL || port_s[0] == '\0')
		port_s = "9003";
	host = probe_arg(argc, argv, 4, "AURIGA_PREVIEW_HOST", "127.0.0.1");
	if (parse_long(port_s, 1, 65535, &port) != 0) {
		fprintf(stderr, "demo-node probe: port '%s' is not an integer from 1 to 65535\n", port_s);
		return 1;
	}
	if (path[0] != '/' || strlen(path) > 1024 || strlen(host) > 253) {
		fprintf(stderr, "demo-node probe: path '%s' must start with '/' and be at most 1024 bytes, "
				"the host at most 253\n", path);
		return 1;
	}
	for (i = 0; path[i]; i++) {
		if ((unsigned char)path[i] <= ' ' || path[i] == 0x7f) {
			fprintf(stderr, "demo-node probe: path holds a space or control byte\n");
			return 1;
		}
	}
	fd = probe_connect(host, port);
	if (fd < 0)
		return 1;
	buf_init(&req, 2048);
	if (buf_printf(&req, "GET %s HTTP/1.0\r\nHost: %s:%ld\r\nUser-Agent: demo-node-probe\r\n"
		       "Connection: close\r\n\r\n", path, host, port) != 0)
		BUG("probe request over its bound");
	if (write_all(fd, req.data, req.len) != 0) {
		fprintf(stderr, "demo-node probe: send: %s\n", strerror(errno));
		buf_release(&req);
		close(fd);
		return 1;
	}
	buf_release(&req);
	code = read_status(fd, version, sizeof(version));
	close(fd);
	if (code < 0) {
		fprintf(stderr, "demo-node probe: GET %s: no HTTP status line within %d s\n", path, PROBE_TIMEOUT_S);
		return 1;
	}
	printf("GET %s: %d from version %s\n", path, code, version[0] ? version : "(none)");
	/* A smoke test can insist on the version that must answer it (the new slot's, not the old one's). */
	want = getenv("DEMO_PROBE_WANT_VERSION");
	if (want != NULL && want[0] != '\0' && strcmp(want, version) != 0) {
		printf("demo-node probe: answered by version '%s', not '%s'\n", version, want);
		return 1;
	}
	return code >= 200 && code <= 299 ? 0 : 1;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: demo-node              serve (configured by the environment)\n"
		   "       demo-node probe URL-PATH [PORT [HOST]]\n"
		   "                              GET http://HOST:PORT/URL-PATH (HOST 127.0.0.1; \"-\": AURIGA_PREVIEW_*)\n"
		   "                              exit 0 on 2xx, 1 otherwise (and when DEMO_PROBE_WANT_VERSION\n"
		   "                              is set and another version answered)\n"
		   "environment:\n");
	for (i = 0; i < ARRAY_SIZE(settings); i++)
		fprintf(f, "  %-24s %s%s%s%s\n", settings[i].env, settings[i].what,
			settings[i].def ? " (default " : "", settings[i].def ? settings[i].def : "",
			settings[i].def ? ")" : "");
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "probe") == 0)
		return probe_main(argc, argv);
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 1) {
		usage(stderr);
		return EXIT_BAD_CONFIG;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (config_load() != 0)
		return EXIT_BAD_CONFIG;
	start_ms = now_ms();
	start_wall_ms = wall_ms();
	return serve();
}
