/* libcurl's multi interface on the loop: sockets become loop watches, libcurl's timeout a loop timer. */
#include "runtime/http_client.h"
#include "runtime/loop.h"
#include "util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_request {
	struct http_request *prev, *next;
	struct http_client *client;
	CURL *easy;
	struct curl_slist *headers;
	http_done_fn done;
	void *arg;
	http_data_fn on_data;
	void *data_arg;
	struct http_response resp;
	size_t max_headers;
	int toobig;		/* 1: the body passed its bound, 2: the headers */
	int finished;		/* on_data said the stream is complete */
	int (*prereq)(void *arg);
	void *prereq_arg;
	int refused;		/* prereq stopped it */
	int64_t started;
	char errbuf[CURL_ERROR_SIZE];
};

struct http_client {
	struct loop *loop;
	CURLM *multi;
	uint64_t timer;
	struct http_request *head;
	unsigned active;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
	global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void check_done(struct http_client *c);

static void on_fd(struct loop *l, int fd, unsigned events, void *arg)
{
	struct http_client *c = arg;
	int mask = 0, running;

	(void)l;
	if (events & LOOP_READ)
		mask |= CURL_CSELECT_IN;
	if (events & LOOP_WRITE)
		mask |= CURL_CSELECT_OUT;
	if (events & LOOP_ERROR)
		mask |= CURL_CSELECT_ERR;
	curl_multi_socket_action(c->multi, fd, mask, &running);
	check_done(c);
}

static void on_timer(struct loop *l, void *arg)
{
	struct http_client *c = arg;
	int running;

	(void)l;
	c->timer = 0;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct http_client *c = userp;
	unsigned ev = 0;

	(void)easy;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		loop_unwatch(c->loop, s);
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		ev |= LOOP_READ;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		ev |= LOOP_WRITE;
	/* A failure here leaves the transfer to its deadline; there is nobody to tell. */
	return loop_watch(c->loop, s, ev, on_fd, c, NULL) < 0 ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct http_client *c = userp;

	(void)multi;
	if (c->timer) {
		loop_timer_cancel(c->loop, c->timer);
		c->timer = 0;
	}
	if (timeout_ms >= 0)
		c->timer = loop_timer_add(c->loop, timeout_ms, on_timer, c);
	return 0;
}

struct http_client *http_client_new(struct loop *l, struct error **err)
{
	struct http_client *c;

	pthread_once(&global_once, global_init);
	if (global_rc != CURLE_OK) {
		error_set(err, ERR_GENERIC, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->loop = l;
	c->multi = curl_multi_init();
	if (c->multi == NULL) {
		free(c);
		error_set(err, ERR_GENERIC, "cannot create a libcurl multi handle");
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

static void request_unlink(struct http_client *c, struct http_request *r)
{
	DLIST_UNLINK(c->head, r);
	c->active--;
}

static void request_free(struct http_request *r)
{
	if (r->easy)
		curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers);
	buf_release(&r->resp.headers);
	buf_release(&r->resp.body);
	buf_release(&r->resp.value);
	free(r);
}

void http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	for (struct http_request *r = c->head, *next; r; r = next) {
		next = r->next;
		curl_multi_remove_handle(c->multi, r->easy);
		request_free(r);
	}
	c->head = NULL;
	if (c->timer)
		loop_timer_cancel(c->loop, c->timer);
	curl_multi_cleanup(c->multi);
	free(c);
}

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http_request *r = userdata;
	size_t n = size * nmemb;

	if (r->on_data) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (r->on_data(status, ptr, n, r->data_arg) != 0)
			return 0;
		return n;
	}
	if (buf_append(&r->resp.body, ptr, n) < 0) {
		r->toobig = 1;
		return 0;
	}
	return n;
}

static size_t header_cb(char *ptr, size_t size, size_t nitems, void *userdata)
{
	struct http_request *r = userdata;
	size_t n = size * nitems;

	/* A new status line (after 100 Continue or an upgrade) starts a new header block. */
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		buf_reset(&r->resp.headers);
	if (buf_append(&r->resp.headers, ptr, n) < 0) {
		r->toobig = 2;
		return 0;
	}
	/* The empty line ends a header block: tell a streaming caller the response has begun. */
	if (r->on_data && (n == 2 || n == 1) && (ptr[0] == '\r' || ptr[0] == '\n')) {
		long status = 0;

		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && r->on_data(status, NULL, 0, r->data_arg) != 0)
			return 0;
	}
	return n;
}

const char *http_response_header(struct http_response *r, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = r->headers.data;

	while (*p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1, *end = p + len;

			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
				end--;
			buf_reset(&r->value);
			if (buf_append(&r->value, v, (size_t)(end - v)) < 0)
				return NULL;
			return r->value.data;
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	return NULL;
}

/* Asks the caller, connected and just before the request leaves, whether it may go. */
static int prereq_cb(void *p, char *ip, char *local_ip, int port, int local_port)
{
	struct http_request *r = p;

	(void)ip, (void)local_ip, (void)port, (void)local_port;
	r->refused = r->prereq(r->prereq_arg) != 0;
	return r->refused ? CURL_PREREQFUNC_ABORT : CURL_PREREQFUNC_OK;
}

#define SETOPT(r, opt, val)                                                         \
	do {                                                                        \
		if (curl_easy_setopt((r)->easy, (opt), (val)) != CURLE_OK) {       \
			error_set(err, ERR_INVALID, "cannot set libcurl option %s for '%s'", #opt, o->url); \
			goto fail;                                                  \
		}                                                                   \
	} while (0)

struct http_request *http_client_start(struct http_client *c, const struct http_request_opts *o,
				       http_done_fn done, void *arg, struct error **err)
{
	struct http_request *r;
	const char *method = o->method ? o->method : "GET";
	size_t i;

	if (o->url == NULL || done == NULL)
		BUG("http_client_start without url or callback");
	r = xcalloc(1, sizeof(*r));
	r->client = c;
	r->done = done;
	r->arg = arg;
	r->on_data = o->on_data;
	r->data_arg = o->data_arg;
	r->started = now_ms();
	buf_init(&r->resp.body, o->max_body);
	buf_init(&r->resp.headers, o->max_headers ? o->max_headers : 64 * 1024);
	buf_init(&r->resp.value, 64 * 1024);
	r->easy = curl_easy_init();
	if (r->easy == NULL) {
		error_set(err, ERR_GENERIC, "cannot create a libcurl handle for '%s'", o->url);
		goto fail;
	}
	SETOPT(r, CURLOPT_URL, o->url);
	SETOPT(r, CURLOPT_PRIVATE, r);
	SETOPT(r, CURLOPT_NOSIGNAL, 1L);
	SETOPT(r, CURLOPT_ERRORBUFFER, r->errbuf);
	SETOPT(r, CURLOPT_WRITEFUNCTION, write_cb);
	SETOPT(r, CURLOPT_WRITEDATA, r);
	SETOPT(r, CURLOPT_HEADERFUNCTION, header_cb);
	SETOPT(r, CURLOPT_HEADERDATA, r);
	SETOPT(r, CURLOPT_PROTOCOLS_STR, "http,https");
	if (o->prereq) {
		r->prereq = o->prereq;
		r->prereq_arg = o->prereq_arg;
		SETOPT(r, CURLOPT_PREREQFUNCTION, prereq_cb);
		SETOPT(r, CURLOPT_PREREQDATA, r);
	}
	SETOPT(r, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 10000));
	if (o->timeout_ms > 0)
		SETOPT(r, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
	if (o->fresh_connection)
		SETOPT(r, CURLOPT_FRESH_CONNECT, 1L);
	if (o->unix_socket)
		SETOPT(r, CURLOPT_UNIX_SOCKET_PATH, o->unix_socket);
	if (o->tls) {
		if (o->tls->ca_file)
			SETOPT(r, CURLOPT_CAINFO, o->tls->ca_file);
		if (o->tls->cert_file)
			SETOPT(r, CURLOPT_SSLCERT, o->tls->cert_file);
		if (o->tls->key_file)
			SETOPT(r, CURLOPT_SSLKEY, o->tls->key_file);
		SETOPT(r, CURLOPT_SSL_VERIFYPEER, o->tls->insecure ? 0L : 1L);
		SETOPT(r, CURLOPT_SSL_VERIFYHOST, o->tls->insecure ? 0L : 2L);
	}
	if (strcmp(method, "GET") == 0) {
		SETOPT(r, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(method, "HEAD") == 0) {
		SETOPT(r, CURLOPT_NOBODY, 1L);
	} else {
		SETOPT(r, CURLOPT_CUSTOMREQUEST, method);
	}
	if (o->body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0) {
		SETOPT(r, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(o->body ? o->body_len : 0));
		SETOPT(r, CURLOPT_COPYPOSTFIELDS, o->body ? (const char *)o->body : "");
	}
	/* No "Expect: 100-continue" round trip: the peers answer at once. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	for (i = 0; o->headers && o->headers[i]; i++)
		r->headers = curl_slist_append(r->headers, o->headers[i]);
	SETOPT(r, CURLOPT_HTTPHEADER, r->headers);
	if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
		error_set(err, ERR_GENERIC, "cannot start the request to '%s'", o->url);
		goto fail;
	}
	r->next = c->head;
	if (c->head)
		c->head->prev = r;
	c->head = r;
	c->active++;
	return r;
fail:
	request_free(r);
	return NULL;
}

void http_request_cancel(struct http_client *c, struct http_request *r)
{
	if (r == NULL)
		return;
	curl_multi_remove_handle(c->multi, r->easy);
	request_unlink(c, r);
	request_free(r);
}

void http_request_finish(struct http_request *r)
{
	r->finished = 1;
}

unsigned http_client_active(const struct http_client *c)
{
	return c->active;
}

static int map_result(struct http_request *r, CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return 0;
	case CURLE_ABORTED_BY_CALLBACK:
		return r->refused ? ERR_REFUSED : ERR_TRANSPORT;
	case CURLE_OPERATION_TIMEDOUT:
		return ERR_TIMEOUT;
	case CURLE_WRITE_ERROR:
		if (r->finished)
			return 0;
		return r->toobig ? ERR_TOOBIG : ERR_GENERIC;
	case CURLE_FILESIZE_EXCEEDED:
		return ERR_TOOBIG;
	default:
		/* Connect failures, resets, TLS refusals, bodies cut short, nothing received. */
		return r->toobig ? ERR_TOOBIG : ERR_TRANSPORT;
	}
}

static void check_done(struct http_client *c)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct http_request *r = NULL;
		CURLcode rc;
		long reqsize = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		rc = msg->data.result;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		curl_multi_remove_handle(c->multi, r->easy);
		request_unlink(c, r);
		curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->resp.status);
		curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &reqsize);
		r->resp.connected = reqsize > 0;
		r->resp.result = map_result(r, rc);
		if (r->resp.result == ERR_TOOBIG)
			snprintf(r->errbuf, sizeof(r->errbuf), "the response %s larger than %zu bytes",
				 r->toobig == 2 ? "headers are" : "body is",
				 r->toobig == 2 ? r->resp.headers.max : r->resp.body.max);
		if (rc != CURLE_OK && r->errbuf[0] == '\0')
			snprintf(r->errbuf, sizeof(r->errbuf), "%s", curl_easy_strerror(rc));
		r->resp.error = r->resp.result == 0 ? "" : r->errbuf;
		r->resp.elapsed_ms = now_ms() - r->started;
		r->done(&r->resp, r->arg);
		request_free(r);
	}
}
