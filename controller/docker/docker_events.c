/* The /events stream: one long request per watch, parsed line by line, resumed with `since` after every break. */
#include "docker/docker.h"
#include "docker/docker_internal.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "util.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct docker_watch {
	struct docker_watch *prev, *next;	/* in d->watches */
	struct docker *d;
	char *filters;		/* JSON, URL-escaped later */
	docker_event_fn on_event;
	docker_stream_fn on_stream;
	void *arg;
	struct http_request *req;
	uint64_t timer;
	struct docker_negwait nw;
	int waiting_neg;
	int connected;
	int breaker_pending;	/* the current attempt was admitted by the breaker, outcome not yet recorded */
	unsigned failures;	/* consecutive, for the backoff */
	unsigned connects;
	int64_t last_ns;	/* the last event delivered: the next since */
	long status;		/* HTTP status of the current response */
	struct buf line;	/* a partial event line */
	struct buf errbody;	/* the body of a refused request */
	int bad;		/* a protocol error ended the stream */
	unsigned long skipped;	/* events the daemon sent malformed, not delivered */
	char badmsg[256];
};

static void watch_connect(struct docker_watch *w);

static void watch_unlink(struct docker_watch *w)
{
	DLIST_UNLINK(w->d->watches, w);
}

static void watch_free(struct docker_watch *w)
{
	struct docker *d = w->d;

	if (w->req)
		http_request_cancel(d->http, w->req);
	if (w->timer)
		loop_timer_cancel(d->loop, w->timer);
	if (w->waiting_neg)
		docker_negotiate_cancel(d, &w->nw);
	if (bulkhead_release(&d->bulk[DOCKER_EVENTS]) != NULL)
		BUG("an events slot was handed to a waiter");
	free(w->filters);
	buf_release(&w->line);
	buf_release(&w->errbody);
	free(w);
}

unsigned long docker_events_skipped(const struct docker_watch *w)
{
	return w->skipped;
}

void docker_events_stop(struct docker_watch *w)
{
	if (w == NULL)
		return;
	watch_unlink(w);
	watch_free(w);
}

void docker_watches_free(struct docker *d)
{
	struct docker_watch *w = d->watches, *next;

	d->watches = NULL;
	for (; w; w = next) {
		next = w->next;
		watch_free(w);
	}
}

unsigned docker_watch_connects(const struct docker_watch *w)
{
	return w->connects;
}

int64_t docker_watch_last_ns(const struct docker_watch *w)
{
	return w->last_ns;
}

static void reconnect_timer(struct loop *l, void *arg)
{
	struct docker_watch *w = arg;

	(void)l;
	w->timer = 0;
	watch_connect(w);
}

static void schedule_reconnect(struct docker_watch *w)
{
	struct retry_policy p = w->d->cfg.retry;
	int64_t delay;

	w->failures++;
	p.max_attempts = 0;
	delay = retry_delay_ms(&p, w->failures, retry_random());
	w->timer = loop_timer_add(w->d->loop, delay, reconnect_timer, w);
}

static void deliver_line(struct docker_watch *w, const char *s, size_t n)
{
	json_error_t je;
	json_t *root;
	struct docker_event ev;
	struct kv *attrs = NULL;
	struct error *err = NULL;

	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 0)
		return;
	root = json_loadb(s, n, 0, &je);
	if (root == NULL || docker_event_parse(root, &ev, &attrs, &err) < 0) {
		/* One bad event is logged, skipped and counted: a cache that reads the count relists. */
		log_warn("docker", "skipping an event the daemon sent malformed", "endpoint", w->d->endpoint,
			 "error", root ? error_msg(err) : je.text, (char *)NULL);
		w->skipped++;
		error_free(err);
		json_decref(root);
		return;
	}
	/* since is inclusive: the event at the resume point may come again. */
	if (ev.time_ns > w->last_ns || w->last_ns == 0) {
		w->last_ns = ev.time_ns;
		w->on_event(&ev, w->arg);
	}
	free(attrs);
	json_decref(root);
}

static int on_data(long status, const char *data, size_t len, void *arg)
{
	struct docker_watch *w = arg;
	size_t i, start = 0;

	w->status = status;
	if (status < 200 || status >= 300) {
		if (data)
			(void)buf_append(&w->errbody, data, len);
		return 0;
	}
	if (data == NULL) {
		/* Headers are in: the stream is open. */
		w->connected = 1;
		w->connects++;
		w->failures = 0;
		if (w->breaker_pending) {
			breaker_record(&w->d->breaker, now_ms(), 1);
			w->breaker_pending = 0;
		}
		if (w->on_stream)
			w->on_stream(1, DOCKER_OK, "", w->arg);
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (data[i] != '\n')
			continue;
		if (w->line.len > 0) {
			if (buf_append(&w->line, data + start, i - start) < 0)
				goto toobig;
			deliver_line(w, w->line.data, w->line.len);
			buf_reset(&w->line);
		} else {
			deliver_line(w, data + start, i - start);
		}
		start = i + 1;
	}
	if (start < len && buf_append(&w->line, data + start, len - start) < 0)
		goto toobig;
	return 0;
toobig:
	snprintf(w->badmsg, sizeof(w->badmsg), "an event longer than %zu bytes", w->line.max);
	w->bad = 1;
	return 1;
}

static void on_end(struct http_response *resp, void *arg)
{
	struct docker_watch *w = arg;
	struct docker *d = w->d;
	enum docker_status st;
	char *msg = NULL;
	int was = w->connected;

	w->req = NULL;
	w->connected = 0;
	buf_reset(&w->line);
	if (w->bad) {
		st = DOCKER_TOOBIG;
		msg = xstrdup(w->badmsg);
	} else if (resp->result == ERR_TIMEOUT) {
		st = DOCKER_TIMEOUT;
	} else if (resp->result != 0 || (resp->status >= 200 && resp->status < 300)) {
		/* A stream has no end: a close, clean or not, is a break. */
		st = DOCKER_TRANSPORT;
	} else if (resp->status >= 500) {
		st = DOCKER_SERVER_ERROR;
	} else {
		st = resp->status == 404 ? DOCKER_NOT_FOUND : DOCKER_BAD_REQUEST;
	}
	w->bad = 0;
	if (msg == NULL) {
		struct buf m = BUF_INIT_MAX(4096);
		char *detail = w->errbody.len ? docker_error_message(&w->errbody) : NULL;

		(void)buf_printf(&m, "the event stream from %s %s: %s", d->endpoint,
				 was ? "broke" : "could not open",
				 detail ? detail : resp->result ? resp->error : "closed by the daemon");
		free(detail);
		msg = buf_detach(&m, NULL);
	}
	buf_reset(&w->errbody);
	if (w->breaker_pending) {
		breaker_record(&d->breaker, now_ms(), st == DOCKER_BAD_REQUEST || st == DOCKER_NOT_FOUND);
		w->breaker_pending = 0;
	}
	log_info("docker", "event stream ended", "endpoint", d->endpoint, "status", docker_status_name(st),
		 "message", msg, (char *)NULL);
	if (w->on_stream)
		w->on_stream(0, st, msg, w->arg);
	free(msg);
	/* A request the daemon refuses (bad filters) will be refused again: stop there. */
	if (st == DOCKER_BAD_REQUEST || st == DOCKER_NOT_FOUND)
		return;
	schedule_reconnect(w);
}

static void watch_negotiated(struct docker_negwait *nw, enum docker_status st, const char *msg)
{
	struct docker_watch *w = (struct docker_watch *)((char *)nw - offsetof(struct docker_watch, nw));

	w->waiting_neg = 0;
	if (st != DOCKER_OK) {
		if (w->on_stream)
			w->on_stream(0, st, msg, w->arg);
		if (st != DOCKER_BAD_REQUEST)
			schedule_reconnect(w);
		return;
	}
	watch_connect(w);
}

static void watch_connect(struct docker_watch *w)
{
	struct docker *d = w->d;
	struct http_request_opts o = { 0 };
	struct buf url = BUF_INIT_MAX(64 * 1024);
	struct error *err = NULL;

	if (d->api_version[0] == '\0') {
		w->waiting_neg = 1;
		w->nw.fn = watch_negotiated;
		docker_negotiate_wait(d, &w->nw);
		return;
	}
	if (!breaker_allow(&d->breaker, now_ms())) {
		if (w->on_stream)
			w->on_stream(0, DOCKER_CIRCUIT_OPEN, "the circuit to the daemon is open", w->arg);
		schedule_reconnect(w);
		return;
	}
	w->breaker_pending = 1;
	(void)buf_printf(&url, "%s/v%s/events?", d->base_url, d->api_version);
	if (w->last_ns > 0)
		(void)buf_printf(&url, "since=%lld.%09lld&", (long long)(w->last_ns / 1000000000),
				 (long long)(w->last_ns % 1000000000));
	if (w->filters) {
		char *esc = curl_easy_escape(NULL, w->filters, 0);
		if (esc == NULL)
			BUG("curl_easy_escape failed");
		(void)buf_printf(&url, "filters=%s", esc);
		curl_free(esc);
	}
	o.url = url.data;
	o.unix_socket = d->unix_path;
	o.tls = d->use_tls ? &d->tls : NULL;
	o.max_body = d->cfg.max_event;
	o.on_data = on_data;
	o.data_arg = w;
	o.timeout_ms = d->cfg.timeout_ms[DOCKER_EVENTS];
	d->requests++;
	w->req = http_client_start(d->http, &o, on_end, w, &err);
	buf_release(&url);
	if (w->req == NULL) {
		log_warn("docker", "cannot open the event stream", "endpoint", d->endpoint, "error",
			 error_msg(err), (char *)NULL);
		error_free(err);
		breaker_record(&d->breaker, now_ms(), 0);
		w->breaker_pending = 0;
		schedule_reconnect(w);
	}
}

struct docker_watch *docker_events_watch(struct docker *d, const char *const *filters, int64_t since_ns,
					 docker_event_fn on_event, docker_stream_fn on_stream, void *arg,
					 struct error **err)
{
	struct docker_watch *w;
	char *f = NULL;

	if (on_event == NULL)
		BUG("docker_events_watch without an event callback");
	if (filters && filters[0]) {
		f = docker_filters_json(filters, err);
		if (f == NULL)
			return NULL;
	}
	if (bulkhead_enter(&d->bulk[DOCKER_EVENTS], NULL) != BULKHEAD_RUN) {
		free(f);
		error_set(err, ERR_UNAVAILABLE, "cannot watch events on %s: %u streams are open already",
			  d->endpoint, d->bulk[DOCKER_EVENTS].limit);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->d = d;
	w->filters = f;
	w->on_event = on_event;
	w->on_stream = on_stream;
	w->arg = arg;
	w->last_ns = since_ns;
	buf_init(&w->line, d->cfg.max_event);
	buf_init(&w->errbody, 64 * 1024);
	w->next = d->watches;
	if (d->watches)
		d->watches->prev = w;
	d->watches = w;
	/* Started from the loop, like every call: no callback runs before this returns. */
	w->timer = loop_timer_add(d->loop, 0, reconnect_timer, w);
	return w;
}
