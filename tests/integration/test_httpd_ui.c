/* The status page's routes and GET /api/v1/notes on the HTTP server in-process, hit over 127.0.0.1 with libcurl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"
#include "surface/httpd.h"
#include "surface/ui.h"
#include "util.h"

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct httpd *srv;	/* with a notes provider */
static struct httpd *bare;	/* without one: a daemon on a specs folder */
static char base[64], bare_base[64];
static atomic_long asked_limit;

static json_t *p_notes(void *ctx, size_t limit)
{
	(void)ctx;
	atomic_store(&asked_limit, (long)limit);
	return json_pack("[{s:s,s:s}]", "commit", "0123abcd", "summary", "auriga: Healthy 1/1 ready");
}

static const struct httpd_provider with_notes = { .notes = p_notes };
static const struct httpd_provider without_notes = { 0 };

static int start(struct httpd **h, const struct httpd_provider *p, char *url, size_t n)
{
	struct httpd_options o;
	struct error *e = NULL;

	httpd_options_init(&o);
	o.listen = "127.0.0.1:0";
	if (httpd_start(h, &o, p, &e) < 0) {
		fprintf(stderr, "httpd_start: %s\n", error_msg(e));
		error_free(e);
		return -1;
	}
	snprintf(url, n, "http://127.0.0.1:%u", httpd_port(*h));
	return 0;
}

static int setup(void **state)
{
	(void)state;
	curl_global_init(CURL_GLOBAL_ALL);
	return start(&srv, &with_notes, base, sizeof(base)) < 0 ||
			       start(&bare, &without_notes, bare_base, sizeof(bare_base)) < 0
		       ? -1
		       : 0;
}

static int teardown(void **state)
{
	(void)state;
	httpd_stop(srv);
	httpd_stop(bare);
	curl_global_cleanup();
	return 0;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	buf_append(ud, p, size * n);
	return size * n;
}

/* METHOD url: the status, the headers (lower-cased names) in head and the body in body. */
static long request(const char *method, const char *url, struct buf *head, struct buf *body)
{
	CURL *c = curl_easy_init();
	long code = 0;
	char *p;

	buf_reset(head);
	buf_reset(body);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOBODY, strcmp(method, "HEAD") == 0 ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, head);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	for (p = head->data; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return code;
}

static void get_ok(const char *path, const char *type, struct buf *head, struct buf *body)
{
	char url[256], want[128];

	snprintf(url, sizeof(url), "%s%s", base, path);
	assert_int_equal(request("GET", url, head, body), 200);
	snprintf(want, sizeof(want), "\r\ncontent-type: %s\r\n", type);
	assert_non_null(strstr(head->data, want));
	assert_non_null(strstr(head->data, "\r\ncontent-security-policy: default-src 'self'"));
	assert_non_null(strstr(head->data, "\r\nx-content-type-options: nosniff\r\n"));
}

static void test_page_files(void **state)
{
	struct buf head = BUF_INIT_MAX(1 << 16), body = BUF_INIT_MAX(1 << 20), page = BUF_INIT_MAX(1 << 20);
	static const struct {
		const char *path, *type, *has;
	} files[] = {
		{ "/", "text/html; charset=utf-8", "<script src=\"/ui/app.js\"" },
		{ "/ui", "text/html; charset=utf-8", "<link rel=\"stylesheet\" href=\"/ui/style.css\">" },
		{ "/ui/", "text/html; charset=utf-8", "<!DOCTYPE html>" },
		{ "/ui/index.html", "text/html; charset=utf-8", "<!DOCTYPE html>" },
		{ "/ui/app.js", "text/javascript; charset=utf-8", "/api/v1/status" },
		{ "/ui/style.css", "text/css; charset=utf-8", ".phase-Healthy" },
	};
	char url[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(files); i++) {
		get_ok(files[i].path, files[i].type, &head, &body);
		assert_non_null(strstr(body.data, files[i].has));
	}
	/* Every path of the page serves the same bytes as the embedded file. */
	get_ok("/", "text/html; charset=utf-8", &head, &page);
	assert_int_equal(page.len, ui_find("/ui/index.html")->len);
	assert_memory_equal(page.data, ui_find("/")->data, ui_find("/")->len);
	snprintf(url, sizeof(url), "%s/ui/", base);
	assert_int_equal(request("HEAD", url, &head, &body), 200);
	assert_non_null(strstr(head.data, "\r\ncontent-type: text/html; charset=utf-8\r\n"));
	assert_int_equal(request("POST", url, &head, &body), 405);
	snprintf(url, sizeof(url), "%s/ui/nope.js", base);
	assert_int_equal(request("GET", url, &head, &body), 404);
	assert_null(strstr(head.data, "content-security-policy"));
	buf_release(&head);
	buf_release(&body);
	buf_release(&page);
}

static void test_notes_route(void **state)
{
	struct buf head = BUF_INIT_MAX(1 << 16), body = BUF_INIT_MAX(1 << 20);
	static const struct {
		const char *query;
		long status;
		long limit;	/* asked of the provider; 0: not asked */
	} rows[] = {
		{ "", 200, 10 },	     { "?limit=1", 200, 1 },	{ "?limit=50", 200, 50 },
		{ "?limit=0", 400, 0 },	     { "?limit=51", 400, 0 },	{ "?limit=x", 400, 0 },
		{ "?limit=-3", 400, 0 },     { "?limit=", 400, 0 },	{ "?limit=7z", 400, 0 },
	};
	char url[256];
	json_t *doc;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		atomic_store(&asked_limit, 0);
		snprintf(url, sizeof(url), "%s/api/v1/notes%s", base, rows[i].query);
		assert_int_equal(request("GET", url, &head, &body), rows[i].status);
		assert_int_equal(atomic_load(&asked_limit), rows[i].limit);
		assert_non_null(strstr(head.data, "\r\ncontent-type: application/json\r\n"));
		if (rows[i].status == 400)
			assert_non_null(strstr(body.data, "query parameter 'limit': expected 1 to 50"));
	}
	snprintf(url, sizeof(url), "%s/api/v1/notes", base);
	assert_int_equal(request("GET", url, &head, &body), 200);
	doc = json_loads(body.data, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "notes"), 0),
							      "commit")),
			    "0123abcd");
	json_decref(doc);
	assert_int_equal(request("POST", url, &head, &body), 405);
	/* No notes provider (the specs come from a folder): 404 that says so. */
	snprintf(url, sizeof(url), "%s/api/v1/notes", bare_base);
	assert_int_equal(request("GET", url, &head, &body), 404);
	assert_non_null(strstr(body.data, "specs come from a folder"));
	buf_release(&head);
	buf_release(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_files),
		cmocka_unit_test(test_notes_route),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
