/* httpGet probes: one GET on the shared libcurl multi handle; 200 to 399 is a success, as in Kubernetes. */
#include "probe/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe/probe_internal.h"
#include "runtime/http_client.h"
#include "spec.h"
#include "util.h"

#ifndef AURIGA_VERSION
#define AURIGA_VERSION "dev"
#endif

#define EXCERPT_MAX 80

static void probe_http_done(struct probe_attempt *a, struct http_response *resp);

/* Copies the start of an answer's body into dst as one printable line, for a message. */
static void excerpt(char *dst, size_t size, const char *body, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 4 < size && i < EXCERPT_MAX; i++) {
		unsigned char ch = (unsigned char)body[i];

		dst[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : ' ';
	}
	if (len > EXCERPT_MAX && o + 4 < size) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
	/* Trailing blanks (the newline most health endpoints end with) say nothing. */
	while (o > 0 && dst[o - 1] == ' ')
		dst[--o] = '\0';
}

static void on_done(struct http_response *resp, void *arg)
{
	struct probe_attempt *a = arg;

	a->req = NULL;
	probe_http_done(a, resp);
}

static int has_header(char *const *headers, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++)
		if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
			return 1;
	return 0;
}

int probe_http_start(struct probe_attempt *a)
{
	const struct probe_spec_copy *s = a->spec;
	int v6 = strchr(a->target.host, ':') != NULL;
	struct http_tls tls = { .insecure = 1 };
	const char *ua = "User-Agent: auriga-probe/" AURIGA_VERSION;
	const char **headers = NULL;
	struct http_request_opts o;
	struct error *err = NULL;
	const char *url = a->desc + 4;
	size_t n = 0, i = 0;
	int rc = 0;

	/* desc is "GET <url>": the URL is read from it. */
	snprintf(a->desc, sizeof(a->desc), "GET %s://%s%s%s:%d%s%s", s->http_https ? "https" : "http",
		 v6 ? "[" : "", a->target.host, v6 ? "]" : "", a->target.port, s->http_path[0] == '/' ? "" : "/",
		 s->http_path);

	while (s->http_headers != NULL && s->http_headers[n] != NULL)
		n++;
	headers = xcalloc(n + 2, sizeof(*headers));
	/* As the kubelet: the probe says who it is unless the spec sets its own agent. */
	if (!has_header(s->http_headers, "User-Agent"))
		headers[i++] = ua;
	for (size_t k = 0; k < n; k++)
		headers[i++] = s->http_headers[k];

	memset(&o, 0, sizeof(o));
	o.method = "GET";
	o.url = url;
	o.headers = headers;
	/* Kubernetes does not verify a probe's TLS peer: the target is the container itself. */
	o.tls = s->http_https ? &tls : NULL;
	o.timeout_ms = a->timeout_ms;
	o.connect_timeout_ms = a->timeout_ms;
	o.max_body = a->max_body;
	a->req = http_client_start(a->http, &o, on_done, a, &err);
	if (a->req == NULL) {
		a->result = PROBE_ERROR;
		snprintf(a->message, sizeof(a->message), "%s", error_msg(err));
		rc = -1;
	}
	error_free(err);
	free(headers);
	return rc;
}

void probe_http_cancel(struct probe_attempt *a)
{
	if (a->req != NULL)
		http_request_cancel(a->http, a->req);
	a->req = NULL;
}

/* The funnel of this kind: judge the answer and report it. */
static void probe_http_done(struct probe_attempt *a, struct http_response *resp)
{
	/* An answer longer than our bound still has a status: that is what counts. */
	if (resp->result == 0 || (resp->result == ERR_TOOBIG && resp->status >= 100)) {
		char body[EXCERPT_MAX + 8];

		excerpt(body, sizeof(body), resp->body.data, resp->body.len);
		if (resp->status >= 200 && resp->status < 400)
			probe_notify_done(a, PROBE_SUCCESS, "%ld", resp->status);
		else
			probe_notify_done(a, PROBE_FAILURE, "%ld%s%s", resp->status, body[0] ? " " : "", body);
		return;
	}
	if (resp->result == ERR_TIMEOUT) {
		probe_notify_done(a, PROBE_TIMEOUT, "timed out after %lld ms", (long long)a->timeout_ms);
		return;
	}
	/* Refused, reset, TLS: the container did not answer, a failure as for the kubelet. */
	probe_notify_done(a, PROBE_FAILURE, "%s", resp->error != NULL && *resp->error ? resp->error : "no answer");
}
