/* The Docker client's core: endpoint and TLS set-up, version negotiation, and the life of one call (bulkhead, breaker, deadline, retries). */
#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *docker_status_name(enum docker_status s)
{
	static const char *const names[DOCKER_STATUS_COUNT] = {
		"ok", "not-modified", "not-found", "conflict", "bad-request", "server-error", "transport",
		"timeout", "too-big", "protocol", "circuit-open", "bulkhead-full", "cancelled",
		"fenced",
	};

	return NAME_OF(names, s, "unknown");
}

int docker_status_ok(enum docker_status s)
{
	return s == DOCKER_OK || s == DOCKER_NOT_MODIFIED;
}

const char *docker_kind_name(enum docker_kind k)
{
	static const char *const names[DOCKER_KIND_COUNT] = { "observe", "rollout", "probe", "events" };

	return (unsigned)k < DOCKER_KIND_COUNT ? names[k] : "unknown";
}

void docker_config_default(struct docker_config *c)
{
	enum docker_kind k;

	memset(c, 0, sizeof(*c));
	c->tls = -1;
	c->timeout_ms[DOCKER_OBSERVE] = 30000;
	c->timeout_ms[DOCKER_ROLLOUT] = 60000;
	c->timeout_ms[DOCKER_PROBE] = 10000;
	c->timeout_ms[DOCKER_EVENTS] = 0;
	c->max_body = 16u << 20;
	c->max_event = 1u << 20;
	retry_policy_default(&c->retry);
	breaker_config_default(&c->breaker);
	c->bulkhead_limit[DOCKER_OBSERVE] = 8;
	c->bulkhead_limit[DOCKER_ROLLOUT] = 8;
	c->bulkhead_limit[DOCKER_PROBE] = 16;
	c->bulkhead_limit[DOCKER_EVENTS] = 2;
	for (k = 0; k < DOCKER_KIND_COUNT; k++)
		c->bulkhead_queue[k] = 256;
	c->bulkhead_mode = DOCKER_BULKHEAD_QUEUE;
}

int docker_config_from_env(struct docker_config *c, struct error **err)
{
	const char *v;

	if (c->host == NULL) {
		v = getenv("DOCKER_HOST");
		c->host = v && *v ? v : "unix://" DOCKER_DEFAULT_SOCKET;
	}
	if (c->cert_path == NULL) {
		v = getenv("DOCKER_CERT_PATH");
		if (v && *v)
			c->cert_path = v;
	}
	if (c->tls < 0) {
		v = getenv("DOCKER_TLS_VERIFY");
		c->tls = (v && *v) || c->ca_file || c->cert_file ? 1 : 0;
	}
	if (!str_has_prefix(c->host, "unix://") && !str_has_prefix(c->host, "tcp://"))
		return error_set(err, ERR_INVALID, "DOCKER_HOST '%s': only unix:// and tcp:// are supported", c->host);
	return 0;
}

static char *path_join(const char *dir, const char *file)
{
	struct buf b = BUF_INIT_MAX(4096);

	if (buf_printf(&b, "%s/%s", dir, file) < 0)
		return NULL;
	return buf_detach(&b, NULL);
}

struct docker *docker_new(struct loop *l, const struct docker_config *cfg, struct error **err)
{
	struct docker *d = xcalloc(1, sizeof(*d));
	struct docker_config c = *cfg;
	enum docker_kind k;
	const char *home = getenv("HOME");

	if (docker_config_from_env(&c, err) < 0)
		goto fail;
	d->loop = l;
	d->cfg = c;
	d->cfg.host = NULL;
	d->cfg.cert_path = d->cfg.ca_file = d->cfg.cert_file = d->cfg.key_file = NULL;
	d->cfg.api_min = NULL;
	if (c.api_min && docker_api_compare(c.api_min, "1.12") < 0) {
		error_set(err, ERR_INVALID, "api minimum '%s' is not a Docker API version", c.api_min);
		goto fail;
	}
	d->endpoint = xstrdup(c.host);
	if (str_has_prefix(c.host, "unix://")) {
		if (c.host[7] == '\0') {
			error_set(err, ERR_INVALID, "docker host '%s' names no socket", c.host);
			goto fail;
		}
		d->unix_path = xstrdup(c.host + 7);
		d->base_url = xstrdup("http://localhost");
	} else {
		const char *hp = c.host + 6;
		struct buf b = BUF_INIT_MAX(1024);

		if (*hp == '\0' || strchr(hp, '/') != NULL) {
			error_set(err, ERR_INVALID, "docker host '%s' is not tcp://host:port", c.host);
			goto fail;
		}
		d->use_tls = c.tls > 0;
		if (buf_printf(&b, "%s://%s%s", d->use_tls ? "https" : "http", hp,
			       strrchr(hp, ':') && strrchr(hp, ']') < strrchr(hp, ':') ? ""
			       : d->use_tls ? ":2376" : ":2375") < 0) {
			buf_release(&b);
			error_set(err, ERR_INVALID, "docker host '%s' is too long", c.host);
			goto fail;
		}
		d->base_url = buf_detach(&b, NULL);
	}
	if (d->use_tls) {
		const char *dir = c.cert_path;
		char *dflt = NULL;

		if (dir == NULL && home)
			dir = dflt = path_join(home, ".docker");
		d->ca_file = c.ca_file ? xstrdup(c.ca_file) : dir ? path_join(dir, "ca.pem") : NULL;
		d->cert_file = c.cert_file ? xstrdup(c.cert_file) : dir ? path_join(dir, "cert.pem") : NULL;
		d->key_file = c.key_file ? xstrdup(c.key_file) : dir ? path_join(dir, "key.pem") : NULL;
		free(dflt);
		d->tls.ca_file = d->ca_file;
		d->tls.cert_file = d->cert_file;
		d->tls.key_file = d->key_file;
	}
	snprintf(d->api_min, sizeof(d->api_min), "%s", c.api_min ? c.api_min : DOCKER_API_MIN);
	d->cfg.api_min = d->api_min;
	d->http = http_client_new(l, err);
	if (d->http == NULL)
		goto fail;
	breaker_init(&d->breaker, &c.breaker);
	for (k = 0; k < DOCKER_KIND_COUNT; k++)
		bulkhead_init(&d->bulk[k], c.bulkhead_limit[k],
			      c.bulkhead_mode == DOCKER_BULKHEAD_QUEUE ? c.bulkhead_queue[k] : 0);
	return d;
fail:
	docker_free(d);
	return NULL;
}

static void call_unlink(struct docker_call *c)
{
	DLIST_UNLINK(c->d->calls, c);
}

void docker_call_free(struct docker_call *c)
{
	FREE_ALL(c->what, c->subject, c->body);
	buf_release(&c->path);
	buf_release(&c->errbody);
	docker_result_release(&c->res);
	free(c);
}

void docker_free(struct docker *d)
{
	if (d == NULL)
		return;
	while (d->negwaiters) {
		struct docker_negwait *w = d->negwaiters;

		d->negwaiters = w->next;
		if (w->drop)
			w->drop(w);
	}
	docker_watches_free(d);
	for (struct docker_call *c = d->calls, *next; c; c = next) {
		next = c->next;
		if (c->req)
			http_request_cancel(d->http, c->req);
		if (c->timer)
			loop_timer_cancel(d->loop, c->timer);
		if (c->drop)
			c->drop(c->arg);
		docker_call_free(c);
	}
	d->calls = NULL;
	http_client_free(d->http);
	FREE_ALL(d->endpoint, d->unix_path, d->base_url, d->ca_file, d->cert_file, d->key_file, d->fence_label,
		 d->last_failure);
	free(d);
}

void docker_set_drop(struct docker *d, const void *arg, void (*drop)(void *arg))
{
	for (struct docker_call *c = d->calls; c; c = c->next)
		if (c->arg == arg)
			c->drop = drop;
	/* A run of several calls (docker_exec_run) holds arg behind its own. */
	docker_exec_runs_set_drop(d, arg, drop);
}

struct loop *docker_loop(struct docker *d)
{
	return d->loop;
}

const char *docker_endpoint(const struct docker *d)
{
	return d->endpoint;
}

const char *docker_api_version(const struct docker *d)
{
	return d->api_version[0] ? d->api_version : NULL;
}

enum breaker_state docker_breaker_state(struct docker *d)
{
	return breaker_state_at(&d->breaker, now_ms());
}

void docker_bulkhead_usage(const struct docker *d, enum docker_kind k, unsigned *active, unsigned *queued)
{
	*active = d->bulk[k].active;
	*queued = d->bulk[k].queued;
}

void docker_counters(const struct docker *d, unsigned long *requests, unsigned long *retries)
{
	*requests = d->requests;
	*retries = d->retries;
}

void docker_set_observer(struct docker *d, docker_observer_fn fn, void *arg)
{
	d->observer = fn;
	d->observer_arg = arg;
}

/* "1.41" into 1 and 41; -1 and -1 for anything else. */
void docker_set_fence(struct docker *d, docker_fence_fn fn, void *arg, const char *label)
{
	d->fence = fn;
	d->fence_arg = arg;
	str_set(&d->fence_label, fn ? label : NULL);
}

/* 1 when the fence refuses c: a request that may change the host, while this controller does not lead. */
static int fenced(struct docker_call *c)
{
	char token[32], why[512];

	if (c->d->fence == NULL || strcmp(c->method, "GET") == 0 || strcmp(c->method, "HEAD") == 0)
		return 0;
	why[0] = '\0';
	if (c->d->fence(c->d->fence_arg, token, sizeof(token), why, sizeof(why)) == 0)
		return 0;
	c->res.status = DOCKER_FENCED;
	free(c->res.message);
	c->res.message = xasprintf("cannot %s%s%s%s: %s", c->what, c->subject ? " '" : "", c->subject ? c->subject : "",
				   c->subject ? "'" : "", why[0] ? why : "this controller does not hold the lease");
	return 1;
}

/* The fence asked again at the last moment, connected and just before the request leaves. */
static int fenced_prereq(void *arg)
{
	return fenced(arg);
}

/* The fencing token, for the label of a container about to be created; 0 when there is a fence and it lets go. */
int docker__fence_token(struct docker *d, char *token, size_t n)
{
	char why[512];

	return d->fence ? d->fence(d->fence_arg, token, n, why, sizeof(why)) : -1;
}

static void api_split(const char *s, long *major, long *minor)
{
	char *end;

	*major = *minor = -1;
	errno = 0;
	*major = strtol(s, &end, 10);
	if (errno || end == s || *end != '.') {
		*major = -1;
		return;
	}
	s = end + 1;
	*minor = strtol(s, &end, 10);
	if (errno || end == s || *end != '\0')
		*major = *minor = -1;
}

int docker_api_compare(const char *a, const char *b)
{
	long ma, na, mb, nb;

	api_split(a, &ma, &na);
	api_split(b, &mb, &nb);
	if (ma != mb)
		return ma < mb ? -1 : 1;
	if (na != nb)
		return na < nb ? -1 : 1;
	return 0;
}

/* ------------------------------------------------------------------- calls */

struct docker_call *docker_call_new(struct docker *d, enum docker_kind k, const char *method,
				    const char *what, const char *subject, docker_done_fn done, void *arg)
{
	struct docker_call *c = xcalloc(1, sizeof(*c));

	if ((unsigned)k >= DOCKER_KIND_COUNT || done == NULL)
		BUG("docker call '%s' with kind %d or without a callback", what, (int)k);
	c->d = d;
	c->kind = k;
	c->method = method;
	c->what = xstrdup(what);
	c->subject = xstrdup_or_null(subject);
	buf_init(&c->path, 64 * 1024);
	c->versioned = 1;
	c->timeout_ms = d->cfg.timeout_ms[k];
	c->done = done;
	c->arg = arg;
	buf_init(&c->res.out, d->cfg.max_body);
	buf_init(&c->res.err, d->cfg.max_body);
	return c;
}

void docker_call_path_escaped(struct docker_call *c, const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);

	if (e == NULL)
		BUG("curl_easy_escape failed");
	(void)buf_puts(&c->path, e);
	curl_free(e);
}

char *docker_filters_json(const char *const *filters, struct error **err)
{
	json_t *root = json_object();
	char *s = NULL;
	size_t i;

	for (i = 0; filters && filters[i]; i++) {
		const char *eq = strchr(filters[i], '=');
		char *key;
		json_t *set;

		if (eq == NULL || eq == filters[i]) {
			error_set(err, ERR_INVALID, "filter '%s' is not key=value", filters[i]);
			goto out;
		}
		key = xstrndup(filters[i], (size_t)(eq - filters[i]));
		set = json_object_get(root, key);
		if (set == NULL) {
			set = json_object();
			json_object_set_new(root, key, set);
		}
		json_object_set_new(set, eq + 1, json_true());
		free(key);
	}
	s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
out:
	json_decref(root);
	return s;
}

int docker_call_filters(struct docker_call *c, const char *const *filters, char sep, struct error **err)
{
	char *json;

	if (filters == NULL || filters[0] == NULL)
		return 0;
	json = docker_filters_json(filters, err);
	if (json == NULL)
		return ERR_INVALID;
	(void)buf_putc(&c->path, sep);
	(void)buf_puts(&c->path, "filters=");
	docker_call_path_escaped(c, json);
	free(json);
	return 0;
}

static void call_attempt(struct docker_call *c);
static void call_finish(struct docker_call *c);

static void finish_timer(struct loop *l, void *arg)
{
	struct docker_call *c = arg;

	(void)l;
	c->timer = 0;
	call_finish(c);
}

/* Ends c later, from the loop: callbacks never run inside the call that started them. */
static void call_fail_later(struct docker_call *c, enum docker_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void call_fail_later(struct docker_call *c, enum docker_status st, const char *fmt, ...)
{
	va_list ap;

	c->res.status = st;
	free(c->res.message);
	va_start(ap, fmt);
	c->res.message = xvasprintf(fmt, ap);
	va_end(ap);
	c->timer = loop_timer_add(c->d->loop, 0, finish_timer, c);
}

static void call_negotiated(struct docker_negwait *w, enum docker_status st, const char *msg)
{
	struct docker_call *c = (struct docker_call *)((char *)w - offsetof(struct docker_call, nw));

	c->waiting_neg = 0;
	if (st != DOCKER_OK) {
		c->res.status = st;
		free(c->res.message);
		c->res.message = xstrdup(msg);
		call_finish(c);
		return;
	}
	call_attempt(c);
}

/* Runs once c holds a bulkhead slot (or needs none). */
static void call_begin(struct docker_call *c)
{
	if (c->versioned && c->d->api_version[0] == '\0') {
		c->waiting_neg = 1;
		c->nw.fn = call_negotiated;
		docker_negotiate_wait(c->d, &c->nw);
		return;
	}
	call_attempt(c);
}

static void begin_timer(struct loop *l, void *arg)
{
	struct docker_call *c = arg;

	(void)l;
	c->timer = 0;
	call_begin(c);
}

void docker_call_submit(struct docker_call *c)
{
	struct docker *d = c->d;

	c->next = d->calls;
	if (d->calls)
		d->calls->prev = c;
	d->calls = c;
	c->submitted_at = now_ms();
	if (c->timeout_ms > 0)
		c->deadline = c->submitted_at + c->timeout_ms;
	if (c->no_bulkhead) {
		c->timer = loop_timer_add(d->loop, 0, begin_timer, c);
		return;
	}
	c->bw.arg = c;
	switch (bulkhead_enter(&d->bulk[c->kind], &c->bw)) {
	case BULKHEAD_RUN:
		c->holds_slot = 1;
		c->timer = loop_timer_add(d->loop, 0, begin_timer, c);
		break;
	case BULKHEAD_QUEUED:
		c->queued = 1;
		break;
	case BULKHEAD_REJECTED:
		call_fail_later(c, DOCKER_BULKHEAD_FULL, "cannot %s%s%s%s: the %s bulkhead is full (%u running)",
				c->what, c->subject ? " '" : "", c->subject ? c->subject : "",
				c->subject ? "'" : "", docker_kind_name(c->kind), d->bulk[c->kind].active);
		break;
	}
}

static int is_endpoint_failure(enum docker_status s)
{
	return s == DOCKER_TRANSPORT || s == DOCKER_TIMEOUT || s == DOCKER_SERVER_ERROR || s == DOCKER_PROTOCOL;
}

static void retry_timer(struct loop *l, void *arg)
{
	struct docker_call *c = arg;

	(void)l;
	c->timer = 0;
	c->d->retries++;
	call_attempt(c);
}

static void on_response(struct http_response *resp, void *arg)
{
	struct docker_call *c = arg;
	struct docker *d = c->d;
	struct error *err = NULL;
	int64_t now = now_ms();
	int may_repeat;

	c->req = NULL;
	if (c->res.status == DOCKER_FENCED) {
		/* The attempt breaker_allow counted ends here: the daemon was not asked, so not a failure. */
		breaker_record(&d->breaker, now, 1);
		call_finish(c);
		return;
	}
	/* A streamed call's failure: its body was kept aside, for the daemon's message. */
	if (c->chunk && c->errbody.len > 0 && resp->body.len == 0) {
		(void)buf_append(&resp->body, c->errbody.data, c->errbody.len);
		buf_reset(&c->errbody);
	}
	docker_classify(d, c, resp, &c->res);
	if (c->res.status == DOCKER_OK &&
	    docker_parse_body(&c->res, c->parse, resp, c->max_body ? c->max_body : d->cfg.max_body, &err) < 0) {
		c->res.status = error_code(err) == ERR_TOOBIG ? DOCKER_TOOBIG : DOCKER_PROTOCOL;
		free(c->res.message);
		c->res.message = NULL;
		error_wrap(&err, "cannot %s%s%s%s on %s", c->what, c->subject ? " '" : "",
			   c->subject ? c->subject : "", c->subject ? "'" : "", d->endpoint);
		c->res.message = xstrdup(error_msg(err));
		error_free(err);
	}
	breaker_record(&d->breaker, now, !is_endpoint_failure(c->res.status));
	if (is_endpoint_failure(c->res.status))
		str_set(&d->last_failure, c->res.message);
	/*
	 * A call that is not idempotent is repeated only when the daemon cannot
	 * have seen it: the connection failed before a byte of the request left.
	 */
	may_repeat = c->idempotent || (c->res.status == DOCKER_TRANSPORT && !resp->connected);
	if (is_endpoint_failure(c->res.status) && c->res.status != DOCKER_PROTOCOL && may_repeat &&
	    retry_allowed(&d->cfg.retry, c->res.attempts)) {
		int64_t delay = retry_delay_ms(&d->cfg.retry, c->res.attempts, retry_random());

		if (c->deadline == 0 || now + delay < c->deadline) {
			log_debug("docker", "retrying", "call", c->what, "status",
				  docker_status_name(c->res.status), "message", c->res.message, (char *)NULL);
			c->timer = loop_timer_add(d->loop, delay, retry_timer, c);
			return;
		}
	}
	call_finish(c);
}

/* A streamed call's body: a 2xx one to its reader (NULL, 0 first: an answer begins), another's kept. */
static int call_on_data(long status, const char *data, size_t len, void *arg)
{
	struct docker_call *c = arg;

	if (status >= 200 && status < 300) {
		c->chunk(data, len, c->chunk_arg);
		return 0;
	}
	if (data != NULL && c->errbody.len < 64 * 1024)
		(void)buf_append(&c->errbody, data, len);
	return 0;
}

static void call_attempt(struct docker_call *c)
{
	struct docker *d = c->d;
	struct http_request_opts o = { 0 };
	struct buf url = BUF_INIT_MAX(128 * 1024);
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct error *err = NULL;
	int64_t now = now_ms();

	if (c->deadline && now >= c->deadline) {
		if (c->res.attempts == 0 || c->res.status == DOCKER_OK)
			c->res.status = DOCKER_TIMEOUT;
		call_finish(c);
		return;
	}
	if (fenced(c)) {
		call_finish(c);
		return;
	}
	if (!breaker_allow(&d->breaker, now)) {
		c->res.status = DOCKER_CIRCUIT_OPEN;
		free(c->res.message);
		c->res.message = NULL;
		(void)buf_printf(&url, "cannot %s%s%s%s: the circuit to %s is open after repeated failures%s%s%s",
				 c->what, c->subject ? " '" : "", c->subject ? c->subject : "",
				 c->subject ? "'" : "", d->endpoint, d->last_failure ? " (the last: " : "",
				 d->last_failure ? d->last_failure : "", d->last_failure ? ")" : "");
		c->res.message = buf_detach(&url, NULL);
		call_finish(c);
		return;
	}
	(void)buf_puts(&url, d->base_url);
	if (c->versioned)
		(void)buf_printf(&url, "/v%s", d->api_version);
	if (buf_puts(&url, c->path.data) < 0) {
		breaker_record(&d->breaker, now, 1);
		call_fail_later(c, DOCKER_BAD_REQUEST, "cannot %s: the request path is too long", c->what);
		buf_release(&url);
		return;
	}
	o.method = c->method;
	o.url = url.data;
	o.unix_socket = d->unix_path;
	o.tls = d->use_tls ? &d->tls : NULL;
	o.headers = c->body ? headers : NULL;
	o.body = c->body;
	o.body_len = c->body_len;
	o.timeout_ms = c->deadline ? c->deadline - now : 0;
	o.max_body = c->max_body ? c->max_body : d->cfg.max_body;
	o.fresh_connection = !c->idempotent;
	if (c->chunk) {
		o.on_data = call_on_data;
		o.data_arg = c;
		buf_reset(&c->errbody);
	}
	if (c->d->fence) {
		o.prereq = fenced_prereq;
		o.prereq_arg = c;
	}
	c->res.attempts++;
	d->requests++;
	c->req = http_client_start(d->http, &o, on_response, c, &err);
	buf_release(&url);
	if (c->req == NULL) {
		breaker_record(&d->breaker, now, 1);
		call_fail_later(c, DOCKER_TRANSPORT, "cannot %s: %s", c->what, error_msg(err));
		error_free(err);
	}
}

static void release_slot(struct docker_call *c)
{
	struct docker *d = c->d;
	struct bulkhead_waiter *w;

	if (!c->holds_slot)
		return;
	c->holds_slot = 0;
	w = bulkhead_release(&d->bulk[c->kind]);
	if (w) {
		struct docker_call *next = w->arg;

		next->queued = 0;
		next->holds_slot = 1;
		next->timer = loop_timer_add(d->loop, 0, begin_timer, next);
	}
}

static void call_finish(struct docker_call *c)
{
	call_unlink(c);
	if (c->queued)
		bulkhead_remove(&c->d->bulk[c->kind], &c->bw);
	if (c->waiting_neg)
		docker_negotiate_cancel(c->d, &c->nw);
	release_slot(c);
	if (c->res.message == NULL)
		c->res.message = xstrdup("");
	if (c->d->observer) {
		struct docker_call_info ci;

		ci.kind = c->kind;
		ci.op = c->what;
		ci.status = c->res.status;
		ci.http_status = c->res.http_status;
		ci.attempts = c->res.attempts;
		ci.duration_ms = now_ms() - c->submitted_at;
		c->d->observer(&ci, c->d->observer_arg);
	}
	c->done(&c->res, c->arg);
	docker_call_free(c);
}

/* ---------------------------------------------------------- classification */

char *docker_error_message(const struct buf *body)
{
	json_t *root = json_loadb(body->data, body->len, 0, NULL);
	const char *m = root ? json_string_value(json_object_get(root, "message")) : NULL;
	char *s;
	size_t n;

	if (m) {
		s = xstrdup(m);
		json_decref(root);
		return s;
	}
	json_decref(root);
	/* Not Docker's JSON: the start of the text, on one line. */
	s = xstrndup(body->data, body->len < 300 ? body->len : 300);
	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20)
			s[n] = ' ';
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
	return s;
}

void docker_classify(struct docker *d, const struct docker_call *c, struct http_response *resp,
		     struct docker_result *r)
{
	struct buf m = BUF_INIT_MAX(8192);
	char *detail = NULL;
	long st = resp->status;

	r->http_status = (int)st;
	free(r->message);
	r->message = NULL;
	json_decref(r->json);
	r->json = NULL;
	if (resp->result != 0) {
		if (resp->result == ERR_TIMEOUT)
			r->status = DOCKER_TIMEOUT;
		else if (resp->result == ERR_TOOBIG)
			r->status = DOCKER_TOOBIG;
		else
			r->status = DOCKER_TRANSPORT;
		(void)buf_printf(&m, "cannot %s%s%s%s on %s: %s", c->what, c->subject ? " '" : "",
				 c->subject ? c->subject : "", c->subject ? "'" : "", d->endpoint,
				 resp->error);
		r->message = buf_detach(&m, NULL);
		return;
	}
	if (st >= 200 && st < 300) {
		r->status = DOCKER_OK;
		r->message = xstrdup("");
		return;
	}
	if (st == 304)
		r->status = DOCKER_NOT_MODIFIED;
	else if (st == 404)
		r->status = DOCKER_NOT_FOUND;
	else if (st == 409)
		r->status = DOCKER_CONFLICT;
	else if (st >= 400 && st < 500)
		r->status = DOCKER_BAD_REQUEST;
	else if (st >= 500 && st < 600)
		r->status = DOCKER_SERVER_ERROR;
	else
		r->status = DOCKER_PROTOCOL;
	if (r->status == DOCKER_NOT_MODIFIED) {
		r->message = xstrdup("");
		return;
	}
	if (r->status == DOCKER_NOT_FOUND && c->parse == DP_IMAGE) {
		(void)buf_printf(&m, "no such image '%s' on %s: build or load it there first",
				 c->subject, d->endpoint);
		r->message = buf_detach(&m, NULL);
		return;
	}
	detail = docker_error_message(&resp->body);
	(void)buf_printf(&m, "cannot %s%s%s%s: %ld %s", c->what, c->subject ? " '" : "",
			 c->subject ? c->subject : "", c->subject ? "'" : "", st,
			 detail[0] ? detail : "(no message)");
	free(detail);
	r->message = buf_detach(&m, NULL);
}

/* ------------------------------------------------------------- negotiation */

static void neg_finish(struct docker *d, enum docker_status st, const char *msg)
{
	struct docker_negwait *w = d->negwaiters;

	d->negotiating = 0;
	d->negwaiters = NULL;
	while (w) {
		struct docker_negwait *next = w->next;

		w->next = NULL;
		w->fn(w, st, msg);
		w = next;
	}
}

/* A negotiation call: unversioned, idempotent and outside the bulkheads, so it never waits on itself. */
static void neg_call(struct docker *d, const char *what, const char *path, enum docker_parse parse,
		     docker_done_fn done)
{
	struct docker_call *c = docker_call_new(d, DOCKER_OBSERVE, "GET", what, d->endpoint, done, d);

	c->versioned = 0;
	c->idempotent = 1;
	c->no_bulkhead = 1;
	c->parse = parse;
	(void)buf_puts(&c->path, path);
	docker_call_submit(c);
}

static void neg_version_done(struct docker_result *r, void *arg)
{
	struct docker *d = arg;
	const char *max = r->api_version;
	const char *min = json_string_value(json_object_get(r->json, "MinAPIVersion"));
	const char *ours = d->cfg.api_min;
	char *m = NULL;

	if (r->status != DOCKER_OK) {
		neg_finish(d, r->status, r->message);
		return;
	}
	if (docker_api_compare(max, ours) < 0)
		m = xasprintf("docker daemon at %s speaks API %s at most; auriga needs %s or newer "
			      "(upgrade the Docker engine)", d->endpoint, max, ours);
	else if (min && docker_api_compare(min, DOCKER_API_MAX) > 0)
		m = xasprintf("docker daemon at %s speaks API %s at least; auriga knows up to %s", d->endpoint,
			      min, DOCKER_API_MAX);
	if (m) {
		neg_finish(d, DOCKER_BAD_REQUEST, m);
		free(m);
		return;
	}
	snprintf(d->api_version, sizeof(d->api_version), "%s",
		 docker_api_compare(max, DOCKER_API_MAX) > 0 ? DOCKER_API_MAX : max);
	log_debug("docker", "negotiated", "endpoint", d->endpoint, "api", d->api_version, (char *)NULL);
	neg_finish(d, DOCKER_OK, "");
}

static void neg_ping_done(struct docker_result *r, void *arg)
{
	struct docker *d = arg;

	/* The ping proves the daemon answers; /version says which versions it takes. */
	if (r->status != DOCKER_OK) {
		neg_finish(d, r->status, r->message);
		return;
	}
	neg_call(d, "read the version of", "/version", DP_VERSION, neg_version_done);
}

void docker_negotiate_wait(struct docker *d, struct docker_negwait *w)
{
	w->next = d->negwaiters;
	d->negwaiters = w;
	if (d->negotiating)
		return;
	d->negotiating = 1;
	neg_call(d, "ping", "/_ping", DP_PING, neg_ping_done);
}

void docker_negotiate_cancel(struct docker *d, struct docker_negwait *w)
{
	struct docker_negwait **pp;

	for (pp = &d->negwaiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			w->next = NULL;
			return;
		}
	}
}

struct neg_public {
	struct docker_negwait nw;	/* first: the waiter is the struct */
	struct docker *d;
	docker_done_fn done;
	void *arg;
};

static void neg_public_done(struct docker_negwait *w, enum docker_status st, const char *msg)
{
	struct neg_public *p = (struct neg_public *)w;
	struct docker_result r = { 0 };

	r.status = st;
	r.message = xstrdup(msg);
	if (st == DOCKER_OK)
		r.api_version = xstrdup(p->d->api_version);
	p->done(&r, p->arg);
	docker_result_release(&r);
	free(p);
}

static void neg_public_drop(struct docker_negwait *w)
{
	free(w);
}

int docker_negotiate(struct docker *d, docker_done_fn done, void *arg, struct error **err)
{
	struct neg_public *p = xcalloc(1, sizeof(*p));

	(void)err;
	d->api_version[0] = '\0';
	p->nw.fn = neg_public_done;
	p->nw.drop = neg_public_drop;
	p->d = d;
	p->done = done;
	p->arg = arg;
	docker_negotiate_wait(d, &p->nw);
	return 0;
}

/* ------------------------------------------------------------- synchronous */

void docker_waiter_done(struct docker_result *r, void *arg)
{
	struct docker_waiter *w = arg;

	docker_result_move(&w->result, r);
	w->done = 1;
}

enum docker_status docker_wait(struct docker *d, struct docker_waiter *w)
{
	while (!w->done) {
		if (loop_run_once(d->loop, 1000) < 0) {
			w->result.status = DOCKER_TRANSPORT;
			break;
		}
	}
	return w->result.status;
}
