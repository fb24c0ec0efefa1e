/* The HTTP server on libmicrohttpd: routes, bearer tokens, body and time bounds, slow-client cut-off. */
#include "surface/httpd.h"

#include "buf.h"
#include "runtime/file.h"
#include "runtime/log.h"
#include "status/metrics.h"
#include "surface/httpd_route.h"
#include "surface/token.h"
#include "surface/httpd_util.h"
#include "surface/ui.h"
#include "surface/webhook.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PEM_MAX (1024 * 1024)
#define METRICS_MAX (16 * 1024 * 1024)
/* A /metrics text up to this size is copied and sent whole; a larger one is sent from where it is kept. */
#define METRICS_WHOLE ((size_t)256 << 10)
#define CONTROL_REASON_MAX 512

/*
 * libmicrohttpd's own connection timeout counts inactivity, so a client that
 * sends one byte a second is never idle. Each connection therefore carries a
 * state and a time, kept by the callbacks below, and a watchdog thread shuts
 * down (shutdown(2), never close: libmicrohttpd owns the descriptor) any
 * connection that has been reading one request for longer than
 * request_timeout_ms. The list is guarded by h->lock, and a connection leaves
 * it in the CLOSED notification, before libmicrohttpd closes the descriptor,
 * so the watchdog never touches a descriptor that was reused.
 */
enum conn_state { CONN_PENDING, CONN_IDLE, CONN_READING, CONN_ANSWERING };

/*
 * A connection admitted by on_accept is in the list at once, CONN_PENDING,
 * so that connections accepted by other threads before its STARTED
 * notification count against its address. STARTED claims a pending entry of
 * the same address; one never claimed (libmicrohttpd refused the connection
 * after the policy callback) is dropped by the watchdog after PENDING_MS.
 */
#define PENDING_MS 5000

struct conn {
	struct conn *prev, *next;
	int fd;
	struct sockaddr_storage addr;	/* the client's, for the per-client cap; ss_family 0 when unknown */
	enum conn_state state;
	int64_t since;
	int cut;
};

struct httpd {
	struct MHD_Daemon *d;
	struct httpd_provider p;
	struct auriga_metrics *m;
	struct webhook *wh;
	size_t max_body;
	unsigned max_per_client;
	int read_token;
	int64_t refused_logged_ms;	/* the last "per-client cap" log line, to write one a second at most */
	unsigned long refused;		/* connections refused over the per-client cap, since the last line */
	long request_timeout_ms;
	long idle_timeout_ms;
	uint16_t port;
	char *cert_pem, *key_pem;

	pthread_mutex_t lock;		/* conns, token */
	struct conn *conns;
	unsigned char token_key[32];	/* tokens are compared as HMACs under this key */
	unsigned char token_mac[32];
	int have_token;
	char token_name[API_TOKEN_NAME_MAX + 1];	/* the holder the token file names, or "" */
	char *instance;			/* the controller's instance, for requests that name theirs */

	pthread_t watchdog;
	pthread_cond_t wake;
	int stop;
	int watchdog_running;
};

void httpd_options_init(struct httpd_options *o)
{
	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:8080";
	o->max_body = 1024 * 1024;
	o->max_connections = 64;
	o->max_connections_per_client = 16;
	o->idle_timeout_s = 30;
	o->request_timeout_ms = 10000;
	o->threads = 2;
}

static int read_small_file(const char *what, const char *path, size_t max, struct buf *out,
			   struct error **err)
{
	int rc;

	buf_init(out, max);
	rc = file_read(path, what, FILE_REGULAR | FILE_SECRET, out, err);
	if (rc < 0) {
		OPENSSL_cleanse(out->data, out->len);
		buf_release(out);
	}
	return rc;
}

static void token_hmac(const struct httpd *h, const void *data, size_t len, unsigned char out[32])
{
	unsigned int outlen = 32;

	if (!HMAC(EVP_sha256(), h->token_key, sizeof(h->token_key), data, len, out, &outlen))
		BUG("HMAC-SHA256 failed");
}

int httpd_reload_token(struct httpd *h, const char *path, struct error **err)
{
	struct buf b = BUF_INIT_MAX(API_TOKEN_MAX);
	char name[API_TOKEN_NAME_MAX + 1];
	unsigned char mac[32];
	int rc;

	rc = api_token_read(path, &b, name, sizeof(name), err);
	if (rc < 0)
		goto out;
	token_hmac(h, b.data, b.len, mac);
	pthread_mutex_lock(&h->lock);
	memcpy(h->token_mac, mac, sizeof(mac));
	snprintf(h->token_name, sizeof(h->token_name), "%s", name);
	h->have_token = 1;
	pthread_mutex_unlock(&h->lock);
out:
	if (b.cap)
		OPENSSL_cleanse(b.data, b.cap);
	buf_release(&b);
	return rc;
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? (struct conn *)ci->socket_context : NULL;
}

static void conn_set(struct httpd *h, struct MHD_Connection *c, enum conn_state st)
{
	struct conn *k = conn_of(c);

	if (!k)
		return;
	pthread_mutex_lock(&h->lock);
	k->state = st;
	k->since = now_ms();
	pthread_mutex_unlock(&h->lock);
}

/* A new entry at the head of the list, for sa (unknown when NULL); h->lock held. */
static struct conn *conn_add(struct httpd *h, const struct sockaddr *sa)
{
	struct conn *k = xcalloc(1, sizeof(*k));

	k->fd = -1;
	if (sa)
		memcpy(&k->addr, sa, sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
								: sizeof(struct sockaddr_in));
	k->state = CONN_PENDING;
	k->since = now_ms();
	k->next = h->conns;
	if (h->conns)
		h->conns->prev = k;
	h->conns = k;
	return k;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	struct conn *k;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		const union MHD_ConnectionInfo *ai =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		const struct sockaddr *sa = ai ? ai->client_addr : NULL;

		pthread_mutex_lock(&h->lock);
		for (k = h->conns; k; k = k->next)
			if (k->state == CONN_PENDING && sa && httpd_util_same_client(&k->addr, sa))
				break;
		if (!k)
			k = conn_add(h, sa);
		k->fd = ci ? ci->connect_fd : -1;
		k->state = CONN_READING;
		k->since = now_ms();
		pthread_mutex_unlock(&h->lock);
		*socket_context = k;
		return;
	}
	k = *socket_context;
	if (!k)
		return;
	pthread_mutex_lock(&h->lock);
	DLIST_UNLINK(h->conns, k);
	pthread_mutex_unlock(&h->lock);
	free(k);
	*socket_context = NULL;
}

/* Called when a request line has arrived: an idle keep-alive connection starts reading again. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct conn *k = conn_of(c);
	struct httpd *h = cls;

	(void)uri;
	if (k) {
		pthread_mutex_lock(&h->lock);
		if (k->state == CONN_IDLE) {
			k->state = CONN_READING;
			k->since = now_ms();
		}
		pthread_mutex_unlock(&h->lock);
	}
	return NULL;
}

static void *watchdog_main(void *arg)
{
	struct httpd *h = arg;
	struct timespec ts;
	struct conn *k;

	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		int64_t now = now_ms();
		unsigned cut = 0;
		struct conn *next;
		long limit;

		for (k = h->conns; k; k = next) {
			next = k->next;
			if (k->state == CONN_PENDING) {
				if (now - k->since > PENDING_MS) {
					DLIST_UNLINK(h->conns, k);
					free(k);
				}
				continue;
			}
			limit = k->state == CONN_READING ? h->request_timeout_ms
				: k->state == CONN_IDLE ? h->idle_timeout_ms
							: -1;

			if (limit < 0 || k->cut || k->fd < 0 || now - k->since <= limit)
				continue;
			/* Counted first, so the count is there when the client sees the close. */
			if (k->state == CONN_READING && h->m)
				metric_inc(h->m->http_cut_off, NULL);
			if (k->state == CONN_READING)
				cut++;
			shutdown(k->fd, SHUT_RDWR);
			k->cut = 1;
		}
		if (cut) {
			pthread_mutex_unlock(&h->lock);
			log_warn("httpd", "connection cut off: request not received in time", LOG_END);
			pthread_mutex_lock(&h->lock);
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		timespec_add_ms(&ts, 200);
		pthread_cond_timedwait(&h->wake, &h->lock, &ts);
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct request *r = *con_cls;
	struct httpd *h = cls;

	(void)toe;
	conn_set(h, c, CONN_IDLE);
	if (!r)
		return;
	buf_release(&r->body);
	free(r);
	*con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_debug("httpd", msg, LOG_END);
}

/* Queues resp (its body and type set) with the headers every answer carries, and counts it. */
static enum MHD_Result send_response(struct httpd *h, struct MHD_Connection *c, const struct request *r,
				     unsigned status, struct MHD_Response *resp)
{
	enum MHD_Result ret;

	MHD_add_response_header(resp, "Cache-Control", "no-store");
	/* Whose answer this is: a client of another instance leaves this controller alone. */
	if (h->instance)
		MHD_add_response_header(resp, "X-Auriga-Instance", h->instance);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == MHD_HTTP_UNAUTHORIZED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"auriga\"");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r && r->post ? "POST" : "GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	if (h->m) {
		char code[8];

		snprintf(code, sizeof(code), "%u", status);
		metric_inc(h->m->http_requests, METRIC_LABELS(httpd_route_names[r ? r->route : R_NONE], code));
	}
	return ret;
}

static enum MHD_Result send_buf(struct httpd *h, struct MHD_Connection *c, const struct request *r,
				unsigned status, const char *type, char *data, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return send_response(h, c, r, status, resp);
}

/* The block a streamed body is read in: a few deployments' objects of the status. */
#define STREAM_BLOCK ((size_t)16 << 10)

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
	struct httpd_body *b = cls;
	ssize_t n = b->read(b->arg, out, max);

	(void)pos;
	if (n > 0)
		return n;
	/* Never 0 to MHD (that is "nothing yet, ask again"): the end, or a cut. */
	return n == 0 ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_close(void *cls)
{
	struct httpd_body *b = cls;

	b->close(b->arg);
	free(b);
}

/* A body: sent whole, or read while it is sent (chunked unless its size is known). */
static enum MHD_Result send_body(struct httpd *h, struct MHD_Connection *c, const struct request *r,
				 unsigned status, const char *type, const struct httpd_body *body)
{
	struct MHD_Response *resp;
	struct httpd_body *b;

	if (body->text)
		return send_buf(h, c, r, status, type, body->text, body->len);
	b = xmalloc(sizeof(*b));
	*b = *body;
	resp = MHD_create_response_from_callback(b->len ? (uint64_t)b->len : MHD_SIZE_UNKNOWN, STREAM_BLOCK,
						 stream_read, b, stream_close);
	if (!resp) {
		stream_close(b);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	return send_response(h, c, r, status, resp);
}

/* A file of the status page, under its policy: nothing inline, nothing from elsewhere, not framed. */
static enum MHD_Result send_asset(struct httpd *h, struct MHD_Connection *c, const struct request *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(r->asset->len, (void *)r->asset->data, MHD_RESPMEM_PERSISTENT);

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->asset->type);
	MHD_add_response_header(resp, "Content-Security-Policy", UI_CSP);
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	return send_response(h, c, r, MHD_HTTP_OK, resp);
}

static enum MHD_Result send_json(struct httpd *h, struct MHD_Connection *c, const struct request *r,
				 unsigned status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(doc);
	if (!s)
		return MHD_NO;
	return send_buf(h, c, r, status, "application/json", s, strlen(s));
}

static enum MHD_Result send_error(struct httpd *h, struct MHD_Connection *c, const struct request *r,
				  unsigned status, const char *msg)
{
	/* An error may carry a peer's text: served bounded, valid UTF-8 and without URL credentials. */
	cleanup_free char *t = text_bounded(msg, TEXT_MAX);

	return send_json(h, c, r, status, json_pack("{s:s}", "error", t));
}

/* GET /api/v1/notes?limit=N: the notes written lately, newest first. */
static enum MHD_Result notes(struct httpd *h, struct MHD_Connection *c, const struct request *r)
{
	const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
	long limit = HTTPD_NOTES_DEFAULT;
	json_t *doc;

	if (q && parse_long(q, 1, HTTPD_NOTES_MAX, &limit) < 0)
		return send_error(h, c, r, MHD_HTTP_BAD_REQUEST, "query parameter 'limit': expected 1 to "
				  HTTPD_NOTES_MAX_TEXT);
	doc = h->p.notes ? h->p.notes(h->p.ctx, (size_t)limit) : NULL;
	if (!doc)
		return send_error(h, c, r, MHD_HTTP_NOT_FOUND, "no notes are written: the specs come from a folder");
	return send_json(h, c, r, MHD_HTTP_OK, json_pack("{s:o}", "notes", doc));
}

/* GET /api/v1/backups and /api/v1/drills: every backup or drill recorded (backups.json, drills.json), oldest first. */
static enum MHD_Result records(struct httpd *h, struct MHD_Connection *c, const struct request *r,
			       json_t *(*get)(void *ctx, char **why), const char *key)
{
	cleanup_free char *why = NULL;
	json_t *doc = get ? get(h->p.ctx, &why) : NULL;

	if (!doc)
		return send_error(h, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, why ? why : "nothing recorded is served");
	return send_json(h, c, r, MHD_HTTP_OK, json_pack("{s:o}", key, doc));
}

static int authorized(struct httpd *h, struct MHD_Connection *c, int *configured)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	unsigned char mac[32], want[32];
	int have;

	pthread_mutex_lock(&h->lock);
	have = h->have_token;
	memcpy(want, h->token_mac, sizeof(want));
	pthread_mutex_unlock(&h->lock);
	*configured = have;
	if (!have || !auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	token_hmac(h, auth, strlen(auth), mac);
	return CRYPTO_memcmp(mac, want, sizeof(mac)) == 0;
}

/*
 * The per-client cap, before libmicrohttpd takes a connection: one source
 * address holds at most max_per_client of them; the next is closed at once.
 * Refusals are logged one line a second at most, with their count.
 */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
	struct httpd *h = cls;
	const struct conn *k;
	unsigned held = 0;
	unsigned long refused = 0;
	int64_t now = now_ms();

	(void)len;
	if (!h->max_per_client || !addr)
		return MHD_YES;
	pthread_mutex_lock(&h->lock);
	for (k = h->conns; k; k = k->next)
		held += !k->cut && httpd_util_same_client(&k->addr, addr);
	if (held >= h->max_per_client && ++h->refused &&
	    (h->refused_logged_ms == 0 || now - h->refused_logged_ms >= 1000)) {
		refused = h->refused;
		h->refused = 0;
		h->refused_logged_ms = now;
	}
	if (held < h->max_per_client)
		conn_add(h, addr);
	pthread_mutex_unlock(&h->lock);
	if (held < h->max_per_client)
		return MHD_YES;
	if (h->m)
		metric_inc(h->m->http_requests, METRIC_LABELS("connection", "refused"));
	if (refused) {
		char a[64], n[24];

		snprintf(n, sizeof(n), "%lu", refused);
		log_warn("httpd", "connection refused: the client holds its share of connections", "remote",
			 httpd_util_addr_text(addr, a, sizeof(a)), "refused", n, LOG_END);
	}
	return MHD_NO;
}

static enum MHD_Result health(struct httpd *h, struct MHD_Connection *c, const struct request *r)
{
	int (*fn)(void *) = r->route == R_LIVE ? h->p.live : r->route == R_READY ? h->p.ready : h->p.started;
	int up = fn ? fn(h->p.ctx) : r->route == R_LIVE;

	return send_json(h, c, r, up ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
			 json_pack("{s:s}", "status", up ? "UP" : "DOWN"));
}

static ssize_t metrics_read(void *arg, char *out, size_t max)
{
	return (ssize_t)metrics_snapshot_read(arg, out, max);
}

static void metrics_close(void *arg)
{
	metrics_snapshot_free(arg);
}

/*
 * The families' texts as a scrape finds them: a large one (a fleet of thousands)
 * is sent from where the texts are kept, with no copy of the whole.
 */
static enum MHD_Result metrics(struct httpd *h, struct MHD_Connection *c, const struct request *r)
{
	struct metrics_snapshot *sn;
	struct httpd_body body;

	if (!h->m)
		return send_error(h, c, r, MHD_HTTP_NOT_FOUND, "metrics are not enabled");
	sn = metrics_snapshot(h->m->reg);
	if (sn == NULL || metrics_snapshot_size(sn) > METRICS_MAX) {
		metrics_snapshot_free(sn);
		return send_error(h, c, r, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics too large");
	}
	memset(&body, 0, sizeof(body));
	body.len = metrics_snapshot_size(sn);
	if (body.len <= METRICS_WHOLE) {
		/* A small fleet's text: one copy, sent whole, costs less than reading it piece by piece. */
		body.text = xmalloc(body.len + 1);
		body.len = metrics_snapshot_read(sn, body.text, body.len);
		metrics_snapshot_free(sn);
		return send_body(h, c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
	}
	body.read = metrics_read;
	body.close = metrics_close;
	body.arg = sn;
	return send_body(h, c, r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", &body);
}

static const char *const action_names[] = { "promote",	"abort",  "rollback", "sync",		    "promote-full",
					    "pause",	"resume", "approve",  "approve-unverified" };

static enum MHD_Result action(struct httpd *h, struct MHD_Connection *c, const struct request *r,
			      const char *reason, const char *why, const char *commit)
{
	struct error *e = NULL;
	enum MHD_Result ret;
	const char *dep = r->route == R_ACTION ? r->name : NULL;

	if (!h->p.action)
		return send_error(h, c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "the controller takes no actions");
	if (h->p.action(h->p.ctx, r->action, dep, reason, why, commit, &e) < 0) {
		unsigned st = httpd_util_status_of(e);

		log_warn("httpd", "action refused", "action", action_names[r->action], "deployment",
			 dep ? dep : "", "error", error_msg(e), LOG_END);
		ret = send_error(h, c, r, st, error_msg(e));
		error_free(e);
		return ret;
	}
	log_info("httpd", "action accepted", "action", action_names[r->action], "deployment",
		 dep ? dep : "", "reason", reason, LOG_END);
	return send_json(h, c, r, MHD_HTTP_ACCEPTED,
			 dep ? json_pack("{s:b,s:s,s:s}", "accepted", 1, "action", action_names[r->action],
					 "deployment", dep)
			     : json_pack("{s:b,s:s}", "accepted", 1, "action", action_names[r->action]));
}

/*
 * A release control: asked by the token's holder (its file's "# name:", else
 * "api"), for the reason the optional JSON body gives ({"reason": "..."}).
 */
static enum MHD_Result control(struct httpd *h, struct MHD_Connection *c, const struct request *r)
{
	char who[API_TOKEN_NAME_MAX + 1];
	const char *why = NULL;
	json_t *body = NULL, *jr;
	enum MHD_Result ret;

	if (r->body.len > 0) {
		body = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, NULL);
		jr = json_object_get(body, "reason");
		if (!json_is_object(body) || json_object_size(body) != (jr ? 1u : 0u) || (jr && !json_is_string(jr)) ||
		    (jr && json_string_length(jr) > CONTROL_REASON_MAX)) {
			json_decref(body);
			return send_error(h, c, r, MHD_HTTP_BAD_REQUEST,
					  "body: expected a JSON object with at most a string 'reason' (512 bytes at most)");
		}
		why = jr ? json_string_value(jr) : NULL;
	}
	pthread_mutex_lock(&h->lock);
	snprintf(who, sizeof(who), "%s", h->token_name[0] ? h->token_name : "api");
	pthread_mutex_unlock(&h->lock);
	ret = action(h, c, r, who, why, r->route == R_APPROVE ? r->name : NULL);
	json_decref(body);
	return ret;
}

static const char *header_of(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_HEADER_KIND, name);
}

static enum MHD_Result webhook(struct httpd *h, struct MHD_Connection *c, struct request *r)
{
	struct webhook_request req = { r->provider, header_of, c, r->body.data, r->body.len };
	struct webhook_result res;
	const char *prov = webhook_provider_name(r->provider);
	json_t *doc;

	if (!h->wh)
		return send_error(h, c, r, MHD_HTTP_NOT_FOUND, "webhooks are not configured");
	webhook_handle(h->wh, &req, &res);
	if (h->m)
		metric_inc(h->m->webhook_deliveries, METRIC_LABELS(prov, res.outcome));
	log_event(res.status >= 400 ? LOG_WARN : LOG_INFO, "webhook", res.reason, "provider", prov,
		  "outcome", res.outcome, "delivery", res.delivery, "commit", res.commit, LOG_END);
	if (res.trigger) {
		char reason[32];

		snprintf(reason, sizeof(reason), "webhook:%s", prov);
		r->action = HTTPD_SYNC;
		return action(h, c, r, reason, NULL, res.commit[0] ? res.commit : NULL);
	}
	doc = json_pack("{s:s,s:s}", res.status >= 400 ? "error" : "result", res.reason, "outcome",
			res.outcome);
	return send_json(h, c, r, (unsigned)res.status, doc);
}

static enum MHD_Result dispatch(struct httpd *h, struct MHD_Connection *c, struct request *r)
{
	json_t *doc;

	switch (r->route) {
	case R_LIVE:
	case R_READY:
	case R_STARTUP:
		return health(h, c, r);
	case R_METRICS:
		return metrics(h, c, r);
	case R_STATUS:
		if (h->p.status_body) {
			struct httpd_body body = { 0 };

			if (h->p.status_body(h->p.ctx, &body) != 0)
				return send_error(h, c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "no status yet");
			return send_body(h, c, r, MHD_HTTP_OK, "application/json", &body);
		}
		doc = h->p.status ? h->p.status(h->p.ctx) : NULL;
		if (!doc)
			return send_error(h, c, r, MHD_HTTP_SERVICE_UNAVAILABLE, "no status yet");
		return send_json(h, c, r, MHD_HTTP_OK, doc);
	case R_DEPLOYMENT:
		doc = h->p.deployment ? h->p.deployment(h->p.ctx, r->name) : NULL;
		if (!doc)
			return send_error(h, c, r, MHD_HTTP_NOT_FOUND, "no such deployment");
		return send_json(h, c, r, MHD_HTTP_OK, doc);
	case R_ACTION:
	case R_APPROVE:
		/*
		 * promote?full=1 (or true) finishes the release at once instead of
		 * skipping one pause; approve?unverified=1 lets a commit through what
		 * the environment before did not verify.
		 */
		if (r->action == HTTPD_PROMOTE || r->action == HTTPD_APPROVE) {
			const char *name = r->action == HTTPD_PROMOTE ? "full" : "unverified";
			const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
			char msg[80];

			if (v && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)) {
				r->action = r->action == HTTPD_PROMOTE ? HTTPD_PROMOTE_FULL : HTTPD_APPROVE_UNVERIFIED;
			} else if (v && strcmp(v, "0") != 0 && strcmp(v, "false") != 0) {
				snprintf(msg, sizeof(msg), "query parameter '%s': expected 1, true, 0 or false", name);
				return send_error(h, c, r, MHD_HTTP_BAD_REQUEST, msg);
			}
		}
		return control(h, c, r);
	case R_SYNC:
		return action(h, c, r, "api", NULL, NULL);
	case R_WEBHOOK:
		return webhook(h, c, r);
	case R_NOTES:
		return notes(h, c, r);
	case R_BACKUPS:
		return records(h, c, r, h->p.backups, "backups");
	case R_DRILLS:
		return records(h, c, r, h->p.drills, "drills");
	case R_UI:
		return send_asset(h, c, r);
	default:
		return send_error(h, c, r, MHD_HTTP_NOT_FOUND, "not found");
	}
}

static enum MHD_Result unauthorized(struct httpd *h, struct MHD_Connection *c, const struct request *r,
				    const char *url, int configured)
{
	char addr[64];

	log_warn("httpd", "unauthorized request", "path", url, "remote", httpd_util_remote_addr(c, addr, sizeof(addr)),
		 LOG_END);
	if (!configured)
		return send_error(h, c, r, MHD_HTTP_FORBIDDEN, "no API token is configured: actions are disabled");
	return send_error(h, c, r, MHD_HTTP_UNAUTHORIZED, "missing or wrong bearer token");
}

/* First call for a request: route, method, size and authorization, before any body is read. */
static enum MHD_Result begin(struct httpd *h, struct MHD_Connection *c, struct request *r,
			     const char *url, const char *method)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH), *inst;
	uint64_t len;
	int configured;

	httpd_route(r, url);
	if (cl && (parse_u64(cl, &len) < 0 || len > h->max_body))
		return send_error(h, c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	/* With api-read-token, reads of the API and metrics need the token too; health stays open. */
	if (h->read_token && !r->post && (str_has_prefix(url, "/api/v1/") || strcmp(url, "/metrics") == 0) &&
	    !authorized(h, c, &configured))
		return unauthorized(h, c, r, url, configured);
	if (r->route == R_NONE)
		return send_error(h, c, r, MHD_HTTP_NOT_FOUND, "not found");
	if (r->post ? strcmp(method, "POST") != 0
		    : (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0))
		return send_error(h, c, r, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	/* A client that names its instance and reached another controller is told so, token or not. */
	if ((r->route == R_ACTION || r->route == R_APPROVE) && h->instance != NULL &&
	    (inst = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "instance")) != NULL &&
	    strcmp(inst, h->instance) != 0)
		return send_error(h, c, r, MHD_HTTP_MISDIRECTED_REQUEST, "this controller is another instance");
	if ((r->route == R_ACTION || r->route == R_SYNC || r->route == R_APPROVE) && !authorized(h, c, &configured))
		return unauthorized(h, c, r, url, configured);
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct httpd *h = cls;
	struct request *r = *con_cls;

	(void)version;
	if (!r) {
		r = xcalloc(1, sizeof(*r));
		buf_init(&r->body, h->max_body);
		*con_cls = r;
		r->started = 1;
		/* A response queued here (an error) ends the request before its body is read. */
		return begin(h, c, r, url, method);
	}
	if (*upload_size) {
		if (buf_append(&r->body, upload, *upload_size) < 0) {
			/* A chunked body past the bound: answer 413 and drop the rest, or close. */
			*upload_size = 0;
			buf_release(&r->body);
			return send_error(h, c, r, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
		}
		*upload_size = 0;
		return MHD_YES;
	}
	conn_set(h, c, CONN_ANSWERING);
	return dispatch(h, c, r);
}

int httpd_start(struct httpd **out, const struct httpd_options *o, const struct httpd_provider *p,
		struct error **err)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	struct httpd *h;
	struct buf pem;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	int v6 = 0, rc;
	const union MHD_DaemonInfo *di;

	*out = NULL;
	rc = httpd_util_parse_listen(o->listen, &ss, &sslen, &v6, err);
	if (rc < 0)
		return rc;
	h = xcalloc(1, sizeof(*h));
	if (p)
		h->p = *p;
	h->m = o->metrics;
	h->wh = o->webhook;
	h->max_body = o->max_body;
	h->max_per_client = o->max_connections_per_client;
	h->read_token = o->read_token;
	h->instance = o->instance && o->instance[0] ? xstrdup(o->instance) : NULL;
	h->request_timeout_ms = o->request_timeout_ms;
	h->idle_timeout_ms = (long)o->idle_timeout_s * 1000L;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->wake, NULL);
	if (RAND_bytes(h->token_key, sizeof(h->token_key)) != 1) {
		rc = error_set(err, ERR_GENERIC, "httpd: no random bytes for the token key");
		goto out;
	}
	if (o->token_file && *o->token_file) {
		rc = httpd_reload_token(h, o->token_file, err);
		if (rc < 0)
			goto out;
	} else if (o->read_token) {
		rc = error_set(err, ERR_INVALID, "httpd: api-read-token needs a token (api-token-file)");
		goto out;
	}
	if ((o->tls_cert_file && *o->tls_cert_file) != (o->tls_key_file && *o->tls_key_file)) {
		rc = error_set(err, ERR_INVALID, "httpd: TLS needs both a certificate and a key");
		goto out;
	}
	if (o->tls_cert_file && *o->tls_cert_file) {
		if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
			rc = error_set(err, ERR_INVALID, "httpd: libmicrohttpd was built without TLS");
			goto out;
		}
		rc = read_small_file("TLS certificate", o->tls_cert_file, PEM_MAX, &pem, err);
		if (rc < 0)
			goto out;
		h->cert_pem = buf_detach(&pem, NULL);
		rc = read_small_file("TLS key", o->tls_key_file, PEM_MAX, &pem, err);
		if (rc < 0)
			goto out;
		h->key_pem = buf_detach(&pem, NULL);
		flags |= MHD_USE_TLS;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	h->d = MHD_start_daemon(
		flags, 0, on_accept, h, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)(o->max_connections ? o->max_connections : 64),
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(o->idle_timeout_s ? o->idle_timeout_s : 30),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
		MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->threads > 1 ? o->threads : 0),
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, h, MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
		h->cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert_pem,
		MHD_OPTION_HTTPS_MEM_KEY, h->key_pem, MHD_OPTION_END);
	if (!h->d) {
		rc = error_set(err, ERR_TRANSPORT, "httpd: cannot listen on '%s'%s", o->listen,
			       h->cert_pem ? " with TLS (is the certificate and key pair valid?)" : "");
		goto out;
	}
	di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : 0;
	if (h->request_timeout_ms > 0) {
		if (pthread_create(&h->watchdog, NULL, watchdog_main, h) != 0) {
			rc = error_set(err, ERR_GENERIC, "httpd: cannot start the watchdog thread");
			goto out;
		}
		h->watchdog_running = 1;
	}
	log_info("httpd", "listening", "address", o->listen, "tls", h->cert_pem ? "on" : "off", LOG_END);
	*out = h;
	h = NULL;
	rc = 0;
out:
	if (h)
		httpd_stop(h);
	return rc;
}

uint16_t httpd_port(const struct httpd *h)
{
	return h->port;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->watchdog_running) {
		pthread_mutex_lock(&h->lock);
		h->stop = 1;
		pthread_cond_signal(&h->wake);
		pthread_mutex_unlock(&h->lock);
		pthread_join(h->watchdog, NULL);
	}
	if (h->d)
		MHD_stop_daemon(h->d);
	/* Started connections left in their CLOSED notification: only pending entries remain. */
	while (h->conns) {
		struct conn *k = h->conns;

		h->conns = k->next;
		free(k);
	}
	if (h->key_pem) {
		OPENSSL_cleanse(h->key_pem, strlen(h->key_pem));
		free(h->key_pem);
	}
	free(h->cert_pem);
	free(h->instance);
	OPENSSL_cleanse(h->token_key, sizeof(h->token_key));
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
