/* The HTTP server in-process, hit over 127.0.0.1 with libcurl and raw sockets: routes, auth, abuse, TLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "status/metrics.h"
#include "surface/httpd.h"
#include "runtime/signing.h"
#include "surface/webhook.h"
#include "testmetrics.h"
#include "util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN "s3cret-token-for-tests"
#define GH_SECRET "It's a Secret to Everybody"
#define GL_TOKEN "gitlab-token"
#define GT_SECRET "gitea-secret"

static char tmpdir[256];
static struct httpd *srv;
static struct auriga_metrics am;
static struct webhook *wh;
static char base[64];

static atomic_int ready_flag;
static atomic_int n_actions[HTTPD_APPROVE_UNVERIFIED + 1];
static char last_deployment[64];
static char last_who[80], last_why[600];
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;

static int p_ready(void *ctx)
{
	(void)ctx;
	return atomic_load(&ready_flag);
}

static json_t *p_status(void *ctx)
{
	json_t *deps = json_array();
	int i;

	(void)ctx;
	for (i = 0; i < 25; i++)
		json_array_append_new(deps, json_pack("{s:s,s:s,s:i}", "name", i < 5 ? "slim" : "business",
						      "phase", "Healthy", "ready", 1));
	return json_pack("{s:s,s:o}", "commit", "3f2c", "deployments", deps);
}

static json_t *p_deployment(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "validators") != 0)
		return NULL;
	return json_pack("{s:s,s:i}", "name", name, "replicas", 5);
}

static int p_action(void *ctx, enum httpd_action a, const char *dep, const char *reason, const char *why,
		    const char *commit, struct error **err)
{
	(void)ctx;
	(void)commit;
	if (dep && strcmp(dep, "ghost") == 0)
		return error_set(err, ERR_NOTFOUND, "no deployment 'ghost'");
	if (dep && strcmp(dep, "noisy") == 0) {
		/* A peer's error text: a credential in a URL, a terminal escape, bad UTF-8 and 5000 more bytes. */
		char junk[5001];

		memset(junk, 'z', sizeof(junk) - 1);
		junk[sizeof(junk) - 1] = '\0';
		return error_set(err, ERR_GENERIC,
				 "fetch https://deploy:hunter2@git.example/specs.git failed \x1b[31mred\n"
				 "\xff\xfe bad \xc3 utf-8 %s", junk);
	}
	atomic_fetch_add(&n_actions[a], 1);
	pthread_mutex_lock(&last_lock);
	snprintf(last_deployment, sizeof(last_deployment), "%s", dep ? dep : "");
	snprintf(last_who, sizeof(last_who), "%s", reason ? reason : "");
	snprintf(last_why, sizeof(last_why), "%s", why ? why : "(none)");
	pthread_mutex_unlock(&last_lock);
	return 0;
}

static const struct httpd_provider provider = {
	.ready = p_ready, .status = p_status, .deployment = p_deployment, .action = p_action,
};

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(data, f);
	fclose(f);
}

static int setup(void **state)
{
	struct httpd_options o;
	struct error *e = NULL;
	char path[512];

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/auriga-httpd-XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	write_file(path, TOKEN "\n");
	auriga_metrics_init(&am, "test");
	if (webhook_new(&wh, "main", 64, &e) < 0 ||
	    webhook_set_secret(wh, WEBHOOK_GITHUB, GH_SECRET, strlen(GH_SECRET), &e) < 0 ||
	    webhook_set_secret(wh, WEBHOOK_GITLAB, GL_TOKEN, strlen(GL_TOKEN), &e) < 0 ||
	    webhook_set_secret(wh, WEBHOOK_GITEA, GT_SECRET, strlen(GT_SECRET), &e) < 0) {
		fprintf(stderr, "%s\n", error_msg(e));
		return -1;
	}
	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	o.token_file = path;
	o.instance = "it-httpd";
	o.metrics = &am;
	o.webhook = wh;
	o.request_timeout_ms = 2000;
	o.idle_timeout_s = 30;
	if (httpd_start(&srv, &o, &provider, &e) < 0) {
		fprintf(stderr, "httpd_start: %s\n", error_msg(e));
		error_free(e);
		return -1;
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", httpd_port(srv));
	curl_global_init(CURL_GLOBAL_ALL);
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	httpd_stop(srv);
	webhook_free(wh);
	auriga_metrics_release(&am);
	curl_global_cleanup();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* Sends the body from a counter: "size" bytes of 'x', counting what libcurl actually read. */
struct source {
	size_t left;
	size_t sent;
};

static size_t feed(char *p, size_t size, size_t n, void *ud)
{
	struct source *s = ud;
	size_t k = size * n < s->left ? size * n : s->left;

	memset(p, 'x', k);
	s->left -= k;
	s->sent += k;
	return k;
}

struct req {
	const char *method;
	const char *path;
	const char *headers[8];
	const char *body;
	size_t body_len;
	struct source *source;	/* streamed body instead of body */
	int chunked;
	const char *url;	/* full URL instead of base + path */
	const char *cainfo;
	long timeout_ms;	/* 0: 20 s */
};

/* Performs a request; returns the status (0 when the transfer failed) and the body in out. */
static long perform(const struct req *r, struct buf *out)
{
	struct curl_slist *hl = NULL;
	char url[256];
	long code = 0;
	CURL *c = curl_easy_init();
	size_t i;

	snprintf(url, sizeof(url), "%s%s", r->url ? r->url : base, r->path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, r->timeout_ms ? r->timeout_ms : 20000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	for (i = 0; i < ARRAY_SIZE(r->headers) && r->headers[i]; i++)
		hl = curl_slist_append(hl, r->headers[i]);
	if (r->chunked)
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
	if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (r->source) {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, feed);
			curl_easy_setopt(c, CURLOPT_READDATA, r->source);
			if (!r->chunked)
				curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->source->left);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? r->body : "");
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(r->body ? r->body_len : 0));
		}
	}
	if (r->cainfo)
		curl_easy_setopt(c, CURLOPT_CAINFO, r->cainfo);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return code;
}

static long get(const char *path, struct buf *out)
{
	struct req r = { .method = "GET", .path = path };

	return perform(&r, out);
}

static void test_health(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);

	(void)state;
	assert_int_equal(get("/healthz", &b), 200);
	assert_non_null(strstr(b.data, "\"UP\""));
	buf_reset(&b);
	assert_int_equal(get("/q/health/live", &b), 200);
	atomic_store(&ready_flag, 0);
	assert_int_equal(get("/readyz", &b), 503);
	assert_int_equal(get("/q/health/ready", &b), 503);
	atomic_store(&ready_flag, 1);
	assert_int_equal(get("/readyz", &b), 200);
	assert_int_equal(get("/q/health/ready", &b), 200);
	/* No startup callback: not started. */
	assert_int_equal(get("/q/health/startup", &b), 503);
	assert_int_equal(get("/nope", &b), 404);
	buf_release(&b);
}

static void test_status(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	json_t *doc;

	(void)state;
	assert_int_equal(get("/api/v1/status", &b), 200);
	doc = json_loads(b.data, 0, NULL);
	assert_non_null(doc);
	assert_int_equal(json_array_size(json_object_get(doc, "deployments")), 25);
	json_decref(doc);
	buf_reset(&b);
	assert_int_equal(get("/api/v1/deployments/validators", &b), 200);
	assert_non_null(strstr(b.data, "\"replicas\":5"));
	assert_int_equal(get("/api/v1/deployments/nosuch", &b), 404);
	assert_int_equal(get("/api/v1/deployments/bad%20name", &b), 404);
	buf_release(&b);
}

/*
 * A status read piece by piece while it is sent (as `auriga run` sends a
 * large fleet's): STREAMED bytes of a known pattern, optionally cut by an
 * error after CUT_AT of them; closes counts the bodies let go.
 */
#define STREAMED ((size_t)3 << 20)
#define CUT_AT ((size_t)200 << 10)

struct streamed {
	size_t at;
	int cut;
};

static atomic_int closes, stream_mode;	/* 0 whole text, 1 streamed, 2 streamed then cut */

static char pattern_byte(size_t i)
{
	return (char)('a' + (i * 7 + i / 4093) % 26);
}

static ssize_t s_read(void *arg, char *out, size_t max)
{
	struct streamed *st = arg;
	size_t n = 0;

	if (st->cut && st->at >= CUT_AT)
		return -1;
	while (n < max && st->at < STREAMED)
		out[n++] = pattern_byte(st->at++);
	return (ssize_t)n;
}

static void s_close(void *arg)
{
	free(arg);
	atomic_fetch_add(&closes, 1);
}

static int p_status_body(void *ctx, struct httpd_body *out)
{
	struct streamed *st;

	(void)ctx;
	if (atomic_load(&stream_mode) == 0) {
		out->text = xstrdup("{\"whole\":true}");
		out->len = strlen(out->text);
		return 0;
	}
	st = xcalloc(1, sizeof(*st));
	st->cut = atomic_load(&stream_mode) == 2;
	out->read = s_read;
	out->close = s_close;
	out->arg = st;
	return 0;
}

/* Waits up to 5 s for closes to reach want (the server lets a response go after the transfer). */
static int closes_reach(int want)
{
	int i;

	for (i = 0; i < 500 && atomic_load(&closes) < want; i++)
		usleep(10000);
	return atomic_load(&closes);
}

static size_t stop_after_first(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)size;
	(void)n;
	(void)ud;
	return 0;	/* the client goes away after its first bytes */
}

static void test_status_streamed(void **state)
{
	static const struct httpd_provider sp = { .ready = p_ready, .status_body = p_status_body };
	struct httpd *ss;
	struct httpd_options o;
	struct error *e = NULL;
	struct buf b = BUF_INIT_MAX(STREAMED + 1);
	char url[96], full[128];
	struct req r = { .method = "GET", .path = "/api/v1/status", .url = url };
	size_t i;
	CURL *c;

	(void)state;
	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	o.request_timeout_ms = 2000;
	assert_int_equal(httpd_start(&ss, &o, &sp, &e), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", httpd_port(ss));
	snprintf(full, sizeof(full), "%s/api/v1/status", url);

	/* Whole: as it is. */
	assert_int_equal(perform(&r, &b), 200);
	assert_string_equal(b.data, "{\"whole\":true}");
	buf_reset(&b);

	/* Streamed: every byte, in order, and the body let go once. */
	atomic_store(&stream_mode, 1);
	assert_int_equal(perform(&r, &b), 200);
	assert_int_equal(b.len, STREAMED);
	for (i = 0; i < STREAMED; i++)
		if (b.data[i] != pattern_byte(i))
			fail_msg("byte %zu differs", i);
	assert_int_equal(closes_reach(1), 1);
	buf_reset(&b);

	/* Cut by an error: the client sees a failed transfer, not a short document; let go once. */
	atomic_store(&stream_mode, 2);
	assert_int_equal(perform(&r, &b), 0);
	assert_true(b.len < STREAMED);
	assert_int_equal(closes_reach(2), 2);
	buf_reset(&b);

	/* HEAD: no body read, let go once. */
	atomic_store(&stream_mode, 1);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	assert_int_equal(closes_reach(3), 3);

	/* A client that goes away halfway: let go once, and the server goes on serving. */
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stop_after_first);
	assert_int_equal(curl_easy_perform(c), CURLE_WRITE_ERROR);
	curl_easy_cleanup(c);
	assert_int_equal(closes_reach(4), 4);
	assert_int_equal(perform(&r, &b), 200);
	assert_int_equal(b.len, STREAMED);
	assert_int_equal(closes_reach(5), 5);

	httpd_stop(ss);
	buf_release(&b);
}

/* 1 when promtool accepts text as Prometheus' exposition format (written to tmpdir/name). */
static int promtool_accepts(const struct buf *text, const char *name)
{
	char path[512], cmd[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(text->data, 1, text->len, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s' >/dev/null", path);
	return system(cmd) == 0;
}

static void test_metrics_promtool(void **state)
{
	struct buf b = BUF_INIT_MAX(16 << 20);

	(void)state;
	metric_observe(am.reconcile_duration, NULL, 0.3);
	auriga_metrics_set_phase(&am, "validators", "Progressing");
	metric_set(am.replicas_desired, METRIC_LABELS("validators"), 5);
	metric_inc(am.errors, METRIC_LABELS("docker \"quoted\"\nnewline"));
	assert_int_equal(get("/metrics", &b), 200);
	assert_non_null(strstr(b.data, "# TYPE auriga_reconcile_duration_seconds histogram"));
	assert_non_null(strstr(b.data, "auriga_deployment_phase{deployment=\"validators\",phase=\"Progressing\"} 1"));
	assert_true(promtool_accepts(&b, "metrics.txt"));
	buf_release(&b);
}

/*
 * A large fleet's /metrics (over the 256 kB sent whole) is sent from the
 * registry's texts, a piece at a time: the bytes are exactly the registry's
 * text, and promtool reads them.
 */
static void test_metrics_large(void **state)
{
	struct buf b = BUF_INIT_MAX(16 << 20);
	char name[32], *want;
	int i;

	(void)state;
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "node-%04d", i);
		auriga_metrics_set_phase(&am, name, i % 2 ? "Healthy" : "Progressing");
		metric_set(am.replicas_desired, METRIC_LABELS(name), i % 7);
	}
	/* As of the request (counted once it is answered). */
	want = test_metrics_text(am.reg);
	assert_non_null(want);
	assert_int_equal(get("/metrics", &b), 200);
	assert_true(b.len > 256 << 10);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	assert_non_null(strstr(b.data, "auriga_deployment_phase{deployment=\"node-0001\",phase=\"Healthy\"} 1"));
	assert_non_null(strstr(b.data, "auriga_deployment_replicas_desired{deployment=\"node-2999\"} 3\n"));
	assert_true(promtool_accepts(&b, "metrics-large.txt"));
	buf_release(&b);
	free(want);
}

static void test_actions_need_token(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct req r = { .method = "POST", .path = "/api/v1/deployments/validators/promote" };
	int before = atomic_load(&n_actions[HTTPD_PROMOTE]);

	(void)state;
	assert_int_equal(perform(&r, &b), 401);
	r.headers[0] = "Authorization: Bearer wrong";
	assert_int_equal(perform(&r, &b), 401);
	r.headers[0] = "Authorization: Bearer " TOKEN "x";
	assert_int_equal(perform(&r, &b), 401);
	r.headers[0] = "Authorization: Basic " TOKEN;
	assert_int_equal(perform(&r, &b), 401);
	r.path = "/api/v1/sync";
	r.headers[0] = NULL;
	assert_int_equal(perform(&r, &b), 401);
	assert_int_equal(atomic_load(&n_actions[HTTPD_PROMOTE]), before);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), 0);

	r.path = "/api/v1/deployments/validators/promote";
	r.headers[0] = "Authorization: Bearer " TOKEN;
	buf_reset(&b);
	assert_int_equal(perform(&r, &b), 202);
	assert_non_null(strstr(b.data, "\"deployment\":\"validators\""));
	assert_int_equal(atomic_load(&n_actions[HTTPD_PROMOTE]), before + 1);
	assert_string_equal(last_deployment, "validators");
	/* promote?full=1 finishes at once: its own action; full=0 is the plain promote; other values 400. */
	r.path = "/api/v1/deployments/validators/promote?full=1";
	buf_reset(&b);
	assert_int_equal(perform(&r, &b), 202);
	assert_non_null(strstr(b.data, "\"action\":\"promote-full\""));
	assert_int_equal(atomic_load(&n_actions[HTTPD_PROMOTE_FULL]), 1);
	r.path = "/api/v1/deployments/validators/promote?full=0";
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_PROMOTE]), before + 2);
	r.path = "/api/v1/deployments/validators/promote?full=yes";
	assert_int_equal(perform(&r, &b), 400);
	r.path = "/api/v1/deployments/validators/promote?full=1";
	r.headers[0] = "Authorization: Bearer wrong";
	assert_int_equal(perform(&r, &b), 401);
	r.headers[0] = "Authorization: Bearer " TOKEN;
	assert_int_equal(atomic_load(&n_actions[HTTPD_PROMOTE_FULL]), 1);
	assert_int_equal(atomic_load(&n_actions[HTTPD_PROMOTE]), before + 2);
	/* approve?unverified=1 is its own action (recorded as such); unverified=0 the plain approval; others 400. */
	r.path = "/api/v1/commits/0123456789abcdef0123456789abcdef01234567/approve";
	buf_reset(&b);
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_APPROVE]), 1);
	r.path = "/api/v1/commits/0123456789abcdef0123456789abcdef01234567/approve?unverified=1";
	buf_reset(&b);
	assert_int_equal(perform(&r, &b), 202);
	assert_non_null(strstr(b.data, "\"action\":\"approve-unverified\""));
	assert_int_equal(atomic_load(&n_actions[HTTPD_APPROVE_UNVERIFIED]), 1);
	r.path = "/api/v1/commits/0123456789abcdef0123456789abcdef01234567/approve?unverified=0";
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_APPROVE]), 2);
	r.path = "/api/v1/commits/0123456789abcdef0123456789abcdef01234567/approve?unverified=maybe";
	buf_reset(&b);
	assert_int_equal(perform(&r, &b), 400);
	assert_non_null(strstr(b.data, "query parameter 'unverified': expected 1, true, 0 or false"));
	r.path = "/api/v1/commits/0123456789abcdef0123456789abcdef01234567/approve?unverified=1";
	r.headers[0] = "Authorization: Bearer wrong";
	assert_int_equal(perform(&r, &b), 401);
	r.headers[0] = "Authorization: Bearer " TOKEN;
	assert_int_equal(atomic_load(&n_actions[HTTPD_APPROVE_UNVERIFIED]), 1);
	assert_int_equal(atomic_load(&n_actions[HTTPD_APPROVE]), 2);
	r.path = "/api/v1/deployments/validators/rollback";
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_ROLLBACK]), 1);
	r.path = "/api/v1/deployments/ghost/abort";
	assert_int_equal(perform(&r, &b), 404);
	assert_int_equal(atomic_load(&n_actions[HTTPD_ABORT]), 0);
	r.path = "/api/v1/sync";
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), 1);
	r.method = "GET";
	assert_int_equal(perform(&r, &b), 405);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), 1);
	buf_release(&b);
}

/* Pause and resume, who asked (the token file's "# name:") and why (the body), and the instance asked for. */
static void test_release_controls(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct req r = { .method = "POST", .path = "/api/v1/deployments/validators/pause",
			 .headers = { "Authorization: Bearer " TOKEN, "Content-Type: application/json" } };
	static const char *const bad[] = { "[1]", "{\"reason\": 5}", "{\"reason\": \"x\", \"more\": 1}", "{" };
	char path[512], big[700], fill[601];
	struct error *e = NULL;
	size_t i;

	(void)state;
	r.body = "{\"reason\": \"change window\"}";
	r.body_len = strlen(r.body);
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_PAUSE]), 1);
	assert_string_equal(last_who, "api");
	assert_string_equal(last_why, "change window");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		r.body = bad[i];
		r.body_len = strlen(bad[i]);
		assert_int_equal(perform(&r, &b), 400);
	}
	memset(fill, 'r', sizeof(fill) - 1);
	fill[sizeof(fill) - 1] = '\0';
	snprintf(big, sizeof(big), "{\"reason\": \"%s\"}", fill);
	r.body = big;
	r.body_len = strlen(big);
	assert_int_equal(perform(&r, &b), 400);
	assert_int_equal(atomic_load(&n_actions[HTTPD_PAUSE]), 1);
	/* Named in the token file: recorded as that name; no body: no reason. */
	snprintf(path, sizeof(path), "%s/token-named", tmpdir);
	write_file(path, "# the operator's token\n# name: alice\n" TOKEN "\n\n");
	assert_int_equal(httpd_reload_token(srv, path, &e), 0);
	r.path = "/api/v1/deployments/validators/resume";
	r.body = NULL;
	r.body_len = 0;
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_RESUME]), 1);
	assert_string_equal(last_who, "alice");
	assert_string_equal(last_why, "(none)");
	/* Asked for another instance: 421, token or not, and nothing done; its own: as before. */
	r.path = "/api/v1/deployments/validators/resume?instance=other";
	assert_int_equal(perform(&r, &b), 421);
	r.headers[0] = NULL;
	assert_int_equal(perform(&r, &b), 421);
	r.headers[0] = "Authorization: Bearer " TOKEN;
	assert_int_equal(atomic_load(&n_actions[HTTPD_RESUME]), 1);
	r.path = "/api/v1/deployments/validators/resume?instance=it-httpd";
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_RESUME]), 2);
	/* A file with two token lines, or a bad name, is refused with its line; the token in force stays. */
	write_file(path, TOKEN "\nanother\n");
	assert_int_equal(httpd_reload_token(srv, path, &e), ERR_INVALID);
	assert_non_null(strstr(error_msg(e), "line 2"));
	error_clear(&e);
	write_file(path, "# name: al ice\n" TOKEN "\n");
	assert_int_equal(httpd_reload_token(srv, path, &e), ERR_INVALID);
	assert_non_null(strstr(error_msg(e), "line 1: name"));
	error_clear(&e);
	assert_int_equal(perform(&r, &b), 202);
	assert_string_equal(last_who, "alice");
	buf_release(&b);
}

static long github(const char *event, const char *delivery, const char *body, int sign,
		   struct buf *out)
{
	char sig[100], ev[64], id[100], hex[65];
	struct req r = { .method = "POST", .path = "/api/v1/webhooks/github", .body = body,
			 .body_len = strlen(body) };
	int i = 0;

	hmac_sha256_hex(GH_SECRET, strlen(GH_SECRET), body, strlen(body), hex);
	snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hex);
	if (sign == 0)
		hex[0] = hex[0] == 'a' ? 'b' : 'a', snprintf(sig, sizeof(sig), "X-Hub-Signature-256: sha256=%s", hex);
	snprintf(ev, sizeof(ev), "X-GitHub-Event: %s", event);
	snprintf(id, sizeof(id), "X-GitHub-Delivery: %s", delivery);
	if (sign >= 0)
		r.headers[i++] = sig;
	else if (sign == -2)
		r.headers[i++] = "X-Hub-Signature: sha1=0123456789abcdef0123456789abcdef01234567";
	r.headers[i++] = ev;
	r.headers[i++] = id;
	r.headers[i++] = "Content-Type: application/json";
	return perform(&r, out);
}

static void test_webhook_github(void **state)
{
	const char *push = "{\"ref\":\"refs/heads/main\",\"after\":\"0123456789abcdef0123456789abcdef01234567\"}";
	const char *other = "{\"ref\":\"refs/heads/feature\",\"after\":\"0123\"}";
	struct buf b = BUF_INIT_MAX(1 << 20);
	int syncs = atomic_load(&n_actions[HTTPD_SYNC]);

	(void)state;
	assert_int_equal(github("push", "d-1", push, 0, &b), 401);	/* wrong signature */
	assert_int_equal(github("push", "d-2", push, -1, &b), 401);	/* missing */
	assert_int_equal(github("push", "d-3", push, -2, &b), 401);	/* SHA-1 only */
	assert_int_equal(github("push", "d-4", other, 1, &b), 200);	/* other branch */
	assert_int_equal(github("push", "d-5", "{\"ref\":", 1, &b), 400);	/* malformed */
	assert_int_equal(github("ping", "d-6", "{\"zen\":\"x\"}", 1, &b), 200);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs);
	assert_int_equal(github("push", "d-7", push, 1, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs + 1);
	assert_int_equal(github("push", "d-7", push, 1, &b), 409);	/* replay */
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs + 1);
	/* The same push under a new delivery id: known by its body, answered as a duplicate, no sync. */
	buf_reset(&b);
	assert_int_equal(github("push", "d-8", push, 1, &b), 200);
	assert_non_null(strstr(b.data, "duplicate"));
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs + 1);
	assert_true(metric_value(am.webhook_deliveries, METRIC_LABELS("github", "duplicate")) >= 2);
	assert_true(metric_value(am.webhook_deliveries, METRIC_LABELS("github", "unauthorized")) >= 3);
	buf_release(&b);
}

static void test_webhook_gitlab_gitea(void **state)
{
	const char *push = "{\"ref\":\"refs/heads/main\",\"after\":\"abc\"}";
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct req r = { .method = "POST", .path = "/api/v1/webhooks/gitlab", .body = push,
			 .body_len = strlen(push) };
	int syncs = atomic_load(&n_actions[HTTPD_SYNC]);
	char hex[65], sig[100];

	(void)state;
	r.headers[0] = "X-Gitlab-Event: Push Hook";
	r.headers[1] = "X-Gitlab-Token: wrong";
	assert_int_equal(perform(&r, &b), 401);
	r.headers[1] = "X-Gitlab-Token: " GL_TOKEN;
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs + 1);

	r.path = "/api/v1/webhooks/gitea";
	hmac_sha256_hex(GT_SECRET, strlen(GT_SECRET), push, strlen(push), hex);
	snprintf(sig, sizeof(sig), "X-Gitea-Signature: %s", hex);
	r.headers[0] = "X-Gitea-Event: push";
	r.headers[1] = "X-Gitea-Signature: 00";
	assert_int_equal(perform(&r, &b), 401);
	r.headers[1] = sig;
	r.headers[2] = "X-Gitea-Delivery: g-1";
	assert_int_equal(perform(&r, &b), 202);
	assert_int_equal(perform(&r, &b), 409);
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs + 2);
	r.path = "/api/v1/webhooks/bitbucket";
	assert_int_equal(perform(&r, &b), 404);
	buf_release(&b);
}

/* 25 MB bodies: refused with 413 long before they are sent, nothing triggered. */
static void test_body_too_large(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct source src = { 25u << 20, 0 };
	struct req r = { .method = "POST", .path = "/api/v1/webhooks/github", .source = &src };
	int syncs = atomic_load(&n_actions[HTTPD_SYNC]);
	long code;

	(void)state;
	r.headers[0] = "X-GitHub-Event: push";
	r.headers[1] = "X-GitHub-Delivery: big-1";
	r.headers[2] = "X-Hub-Signature-256: sha256=00";
	assert_int_equal(perform(&r, &b), 413);
	print_message("# sent %zu of %u bytes with Content-Length\n", src.sent, 25u << 20);
	assert_true(src.sent < (2u << 20));

	/* Without a length (chunked), the bound is hit while reading: 413 or a closed connection. */
	src.left = 25u << 20;
	src.sent = 0;
	r.chunked = 1;
	r.headers[1] = "X-GitHub-Delivery: big-2";
	code = perform(&r, &b);
	print_message("# chunked: status %ld after %zu bytes\n", code, src.sent);
	assert_true(code == 413 || code == 0);
	assert_true(src.sent < (25u << 20));
	assert_int_equal(atomic_load(&n_actions[HTTPD_SYNC]), syncs);
	/* The server still answers. */
	assert_int_equal(get("/healthz", &b), 200);
	buf_release(&b);
}

static int connect_local(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(httpd_port(srv));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* One byte a second: the server cuts the connection after the request timeout (2 s here). */
static void test_slowloris(void **state)
{
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	struct buf b = BUF_INIT_MAX(1 << 20);
	double cut_before = metric_value(am.http_cut_off, NULL);
	int fd = connect_local(), closed = 0, served = 0;
	size_t i;
	int64_t t0 = now_ms();

	(void)state;
	assert_true(fd >= 0);
	for (i = 0; i < 12 && !closed; i++) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		char ch;

		if (send(fd, req + i, 1, MSG_NOSIGNAL) < 0) {
			closed = 1;
			break;
		}
		/* Meanwhile another client is served at once. */
		buf_reset(&b);
		if (get("/healthz", &b) == 200)
			served++;
		if (poll(&pfd, 1, 1000) > 0 && recv(fd, &ch, 1, 0) <= 0)
			closed = 1;
	}
	close(fd);
	print_message("# slow client cut after %lld ms, %d other requests served meanwhile\n",
		      (long long)(now_ms() - t0), served);
	assert_true(closed);
	assert_true(served >= 2);
	assert_true(metric_value(am.http_cut_off, NULL) > cut_before);
	buf_release(&b);
}

/*
 * The connection bound: with every slot held, a new connection waits in the listen backlog and
 * is not served; once the slots are freed it is.
 */
static void test_connection_limit(void **state)
{
	struct httpd_options o;
	struct httpd *lim = NULL;
	struct error *e = NULL;
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct sockaddr_in sa;
	char url[64];
	struct req r = { .method = "GET", .path = "/healthz" };
	int fds[4], i;

	(void)state;
	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	o.threads = 1;
	o.max_connections = 4;
	if (httpd_start(&lim, &o, &provider, &e) < 0)
		fail_msg("httpd_start: %s", error_msg(e));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", httpd_port(lim));
	r.url = url;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(httpd_port(lim));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 4; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	usleep(200 * 1000);
	r.timeout_ms = 1500;
	assert_int_equal(perform(&r, &b), 0);
	r.timeout_ms = 0;
	for (i = 0; i < 4; i++)
		close(fds[i]);
	usleep(200 * 1000);
	assert_int_equal(perform(&r, &b), 200);
	httpd_stop(lim);
	buf_release(&b);
}

/* An error text from a peer is served bounded, valid UTF-8, escaped and without the URL's password. */
static void test_error_text_bounded(void **state)
{
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct req r = { .method = "POST", .path = "/api/v1/deployments/noisy/promote",
			 .headers = { "Authorization: Bearer " TOKEN } };
	json_t *doc;
	const char *msg;
	size_t len;

	(void)state;
	assert_int_equal(perform(&r, &b), 500);
	assert_non_null(b.data);
	doc = json_loadb(b.data, b.len, 0, NULL);	/* jansson refuses invalid UTF-8 */
	assert_non_null(doc);
	msg = json_string_value(json_object_get(doc, "error"));
	assert_non_null(msg);
	len = strlen(msg);
	print_message("# served %zu bytes: %.80s...\n", len, msg);
	assert_true(len <= TEXT_MAX);
	assert_true(len > TEXT_MAX - 8);
	assert_string_equal(msg + len - 3, "\xe2\x80\xa6");
	assert_null(strstr(msg, "hunter2"));
	assert_non_null(strstr(msg, "https://***@git.example/"));
	assert_null(strchr(msg, '\x1b'));
	assert_null(strchr(msg, '\n'));
	assert_non_null(strstr(msg, "\\u001b[31mred\\n"));
	assert_non_null(strstr(msg, "\xef\xbf\xbd\xef\xbf\xbd bad \xef\xbf\xbd utf-8"));
	json_decref(doc);
	buf_release(&b);
}

/* With read_token, reads of the API and metrics need the token; health does not. */
static void test_read_token(void **state)
{
	static const struct {
		const char *path;
		int auth;	/* 0 none, 1 wrong, 2 right */
		long status;
	} rows[] = {
		{ "/api/v1/status", 0, 401 },	     { "/api/v1/status", 1, 401 },
		{ "/api/v1/status", 2, 200 },	     { "/api/v1/deployments/validators", 0, 401 },
		{ "/api/v1/deployments/validators", 2, 200 }, { "/api/v1/deployments/nosuch", 0, 401 },
		{ "/api/v1/nothing-here", 0, 401 },  { "/api/v1/nothing-here", 2, 404 },
		{ "/metrics", 0, 401 },		     { "/metrics", 2, 200 },
		{ "/healthz", 0, 200 },		     { "/q/health/live", 0, 200 },
		{ "/q/health/ready", 0, 200 },	     { "/readyz", 0, 200 },
	};
	struct httpd_options o;
	struct httpd *rt = NULL;
	struct error *e = NULL;
	struct buf b = BUF_INIT_MAX(16 << 20);
	char url[64], path[512];
	size_t i;

	(void)state;
	atomic_store(&ready_flag, 1);
	snprintf(path, sizeof(path), "%s/token", tmpdir);
	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	o.read_token = 1;
	/* Without a token the setting cannot be kept: refused, naming it. */
	assert_true(httpd_start(&rt, &o, &provider, &e) < 0);
	assert_non_null(strstr(error_msg(e), "api-read-token"));
	error_clear(&e);
	o.token_file = path;
	o.instance = "it-httpd";
	o.metrics = &am;
	if (httpd_start(&rt, &o, &provider, &e) < 0)
		fail_msg("httpd_start: %s", error_msg(e));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", httpd_port(rt));
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct req r = { .method = "GET", .path = rows[i].path, .url = url };
		long code;

		if (rows[i].auth)
			r.headers[0] = rows[i].auth == 2 ? "Authorization: Bearer " TOKEN : "Authorization: Bearer nope";
		buf_reset(&b);
		code = perform(&r, &b);
		print_message("# GET %s (auth %d): %ld\n", rows[i].path, rows[i].auth, code);
		assert_int_equal(code, rows[i].status);
	}
	httpd_stop(rt);
	/* The default server (no read_token) serves reads without the token. */
	buf_reset(&b);
	assert_int_equal(get("/api/v1/status", &b), 200);
	buf_release(&b);
}

/* 1 when the server closed fd (EOF or reset) within 10 s, with nothing sent. */
static int closed_by_server(int fd)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char ch;

	return poll(&pfd, 1, 10000) > 0 && recv(fd, &ch, 1, 0) <= 0;
}

/* The per-client cap with real sockets: the fourth connection from one address is closed at once. */
static void test_per_client_cap(void **state)
{
	struct httpd_options o;
	struct httpd *cap = NULL;
	struct error *e = NULL;
	struct buf b = BUF_INIT_MAX(1 << 20);
	struct sockaddr_in sa;
	char url[64];
	struct req r = { .method = "GET", .path = "/healthz" };
	double refused = metric_value(am.http_requests, METRIC_LABELS("connection", "refused"));
	int fds[3], extra, i, served = 0;

	(void)state;
	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	o.threads = 1;
	o.max_connections_per_client = 3;
	o.metrics = &am;
	/* Held connections are not cut for slowness while the extra one is watched (10 s). */
	o.request_timeout_ms = 60000;
	if (httpd_start(&cap, &o, &provider, &e) < 0)
		fail_msg("httpd_start: %s", error_msg(e));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", httpd_port(cap));
	r.url = url;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(httpd_port(cap));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < 3; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(fds[i] >= 0);
		assert_int_equal(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	extra = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(extra, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_true(closed_by_server(extra));
	close(extra);
	/* A whole request from the same address is refused too. */
	r.timeout_ms = 5000;
	assert_int_equal(perform(&r, &b), 0);
	assert_true(metric_value(am.http_requests, METRIC_LABELS("connection", "refused")) >= refused + 2);
	/* The three held connections are still served. */
	assert_true(send(fds[0], "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", 35, MSG_NOSIGNAL) == 35);
	{
		char resp[64] = "";
		struct pollfd pfd = { fds[0], POLLIN, 0 };

		assert_true(poll(&pfd, 1, 10000) > 0);
		assert_true(recv(fds[0], resp, sizeof(resp) - 1, 0) > 0);
		assert_non_null(strstr(resp, "200"));
	}
	/* One closed: a new connection is taken again (within 10 s). */
	close(fds[1]);
	for (i = 0; i < 50 && !served; i++) {
		buf_reset(&b);
		if (perform(&r, &b) == 200)
			served = 1;
		else
			usleep(200 * 1000);
	}
	assert_true(served);
	close(fds[0]);
	close(fds[2]);
	httpd_stop(cap);
	buf_release(&b);
}

static void test_tls(void **state)
{
	struct httpd_options o;
	struct httpd *tls = NULL;
	struct error *e = NULL;
	struct buf b = BUF_INIT_MAX(1 << 20);
	char cert[512], key[512], cmd[1600], url[64];
	struct req r = { .method = "GET", .path = "/healthz" };

	(void)state;
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout '%s' -out '%s' -days 1 "
		 "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null",
		 key, cert);
	assert_int_equal(system(cmd), 0);
	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	o.tls_cert_file = cert;
	o.tls_key_file = key;
	if (httpd_start(&tls, &o, &provider, &e) < 0)
		fail_msg("httpd_start with TLS: %s", error_msg(e));
	snprintf(url, sizeof(url), "https://127.0.0.1:%u", httpd_port(tls));
	r.url = url;
	r.cainfo = cert;
	assert_int_equal(perform(&r, &b), 200);
	assert_non_null(strstr(b.data, "UP"));
	/* Without the CA, verification fails: the transfer does not complete. */
	r.cainfo = "/dev/null";
	assert_int_equal(perform(&r, &b), 0);
	httpd_stop(tls);

	/* A key that does not exist is an error naming the file. */
	o.tls_key_file = "/nonexistent/key.pem";
	assert_true(httpd_start(&tls, &o, &provider, &e) < 0);
	assert_non_null(strstr(error_msg(e), "/nonexistent/key.pem"));
	error_free(e);
	buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_status_streamed),
		cmocka_unit_test(test_metrics_promtool),
		cmocka_unit_test(test_actions_need_token),
		cmocka_unit_test(test_release_controls),
		cmocka_unit_test(test_webhook_github),
		cmocka_unit_test(test_webhook_gitlab_gitea),
		cmocka_unit_test(test_body_too_large),
		cmocka_unit_test(test_slowloris),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_error_text_bounded),
		cmocka_unit_test(test_read_token),
		cmocka_unit_test(test_per_client_cap),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_metrics_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
