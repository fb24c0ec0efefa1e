/* Webhook verification: GitHub's published test vector, wrong and missing signatures, replays, branches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "runtime/signing.h"
#include "surface/webhook.h"
#include "testmain.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SECRET "It's a Secret to Everybody"

/* Headers of one fake delivery, looked up case-insensitively like an HTTP server does. */
struct hdrs {
	const char *kv[16];
};

static const char *lookup(void *ctx, const char *name)
{
	struct hdrs *h = ctx;
	size_t i;

	for (i = 0; i + 1 < ARRAY_SIZE(h->kv) && h->kv[i]; i += 2)
		if (strcasecmp(h->kv[i], name) == 0)
			return h->kv[i + 1];
	return NULL;
}

static struct webhook *new_hook(void)
{
	struct webhook *w = NULL;
	struct error *e = NULL;

	assert_int_equal(webhook_new(&w, "main", 16, &e), 0);
	assert_int_equal(webhook_set_secret(w, WEBHOOK_GITHUB, SECRET, strlen(SECRET), &e), 0);
	assert_int_equal(webhook_set_secret(w, WEBHOOK_GITLAB, "tok", 3, &e), 0);
	assert_int_equal(webhook_set_secret(w, WEBHOOK_GITEA, SECRET, strlen(SECRET), &e), 0);
	return w;
}

static void deliver(struct webhook *w, enum webhook_provider p, struct hdrs *h, const char *body,
		    struct webhook_result *res)
{
	struct webhook_request req = { p, lookup, h, body, strlen(body) };

	webhook_handle(w, &req, res);
}

static void test_github_vector(void **state)
{
	char hex[65];

	(void)state;
	hmac_sha256_hex(SECRET, strlen(SECRET), "Hello, World!", 13, hex);
	assert_string_equal(hex, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

static void test_github_vector_accepted(void **state)
{
	struct webhook *w = new_hook();
	struct webhook_result res;
	struct hdrs h = { { "X-Hub-Signature-256",
			    "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
			    "X-GitHub-Delivery", "v-1", "X-GitHub-Event", "ping" } };

	(void)state;
	deliver(w, WEBHOOK_GITHUB, &h, "Hello, World!", &res);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.outcome, "ping");
	assert_false(res.trigger);
	/* Uppercase hex digits are the same signature. */
	h.kv[1] = "sha256=757107EA0EB2509FC211221CCE984B8A37570B6D7586C22C46F4379C8B043E17";
	h.kv[3] = "v-2";
	deliver(w, WEBHOOK_GITHUB, &h, "Hello, World!", &res);
	assert_int_equal(res.status, 200);
	/* One changed byte of the body: refused. */
	h.kv[3] = "v-3";
	deliver(w, WEBHOOK_GITHUB, &h, "Hello, World?", &res);
	assert_int_equal(res.status, 401);
	webhook_free(w);
}

static void signed_github(struct hdrs *h, char *sig, size_t n, const char *body, const char *id,
			  const char *event)
{
	char hex[65];

	hmac_sha256_hex(SECRET, strlen(SECRET), body, strlen(body), hex);
	snprintf(sig, n, "sha256=%s", hex);
	memset(h, 0, sizeof(*h));
	h->kv[0] = "X-Hub-Signature-256";
	h->kv[1] = sig;
	h->kv[2] = "X-GitHub-Delivery";
	h->kv[3] = id;
	h->kv[4] = "X-GitHub-Event";
	h->kv[5] = event;
}

static void test_github_table(void **state)
{
	/* How a row spoils the signature before delivery. */
	enum tamper { T_NONE, T_WRONG, T_MISSING, T_SHA1_ONLY, T_NO_PREFIX, T_SHORT_HEX };
	static const char main_push[] = "{\"ref\":\"refs/heads/main\"}";
	static const struct {
		const char *desc;
		const char *event;	/* NULL: push */
		const char *body;	/* NULL: a push to main */
		enum tamper tamper;
		int status;
		int trigger;
	} cases[] = {
		{ .desc = "push to main", .body = "{\"ref\":\"refs/heads/main\",\"after\":\"aaaa\"}", .status = 202,
		  .trigger = 1 },
		{ .desc = "push to another branch", .body = "{\"ref\":\"refs/heads/dev\"}", .status = 200 },
		{ .desc = "push of a tag", .body = "{\"ref\":\"refs/tags/main\"}", .status = 200 },
		{ .desc = "branch with main as prefix", .body = "{\"ref\":\"refs/heads/main2\"}", .status = 200 },
		{ .desc = "other event", .event = "issues", .status = 200 },
		{ .desc = "malformed JSON", .body = "{\"ref\": ", .status = 400 },
		{ .desc = "JSON not an object", .body = "[1,2]", .status = 400 },
		{ .desc = "ref not a string", .body = "{\"ref\":7}", .status = 400 },
		{ .desc = "wrong signature", .tamper = T_WRONG, .status = 401 },
		{ .desc = "missing signature", .tamper = T_MISSING, .status = 401 },
		{ .desc = "SHA-1 only", .tamper = T_SHA1_ONLY, .status = 401 },
		{ .desc = "signature without sha256=", .tamper = T_NO_PREFIX, .status = 401 },
		{ .desc = "truncated signature", .tamper = T_SHORT_HEX, .status = 401 },
	};
	struct webhook *w = new_hook();
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *body = cases[i].body != NULL ? cases[i].body : main_push;
		struct webhook_result res;
		struct hdrs h;
		char sig[80], id[16];

		snprintf(id, sizeof(id), "t-%zu", i);
		signed_github(&h, sig, sizeof(sig), body, id, cases[i].event != NULL ? cases[i].event : "push");
		switch (cases[i].tamper) {
		case T_WRONG:
			sig[10] = sig[10] == '0' ? '1' : '0';
			break;
		case T_MISSING:
			h.kv[0] = "X-Other";
			break;
		case T_SHA1_ONLY:
			h.kv[0] = "X-Hub-Signature";
			h.kv[1] = "sha1=0123456789abcdef0123456789abcdef01234567";
			break;
		case T_NO_PREFIX:
			h.kv[1] = sig + 7;
			break;
		case T_SHORT_HEX:
			sig[40] = '\0';
			break;
		case T_NONE:
			break;
		}
		deliver(w, WEBHOOK_GITHUB, &h, body, &res);
		print_message("# %s: %d %s\n", cases[i].desc, res.status, res.reason);
		assert_int_equal(res.status, cases[i].status);
		assert_int_equal(res.trigger, cases[i].trigger);
	}
	webhook_free(w);
}

static void test_github_replay_and_lru(void **state)
{
	char body[64];
	struct webhook *w = new_hook();
	struct webhook_result res;
	struct hdrs h;
	char sig[80], id[16];
	int i;

	(void)state;
	/* Each push has its own body here: a body seen before is another check (below). */
	snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":\"r1\"}");
	signed_github(&h, sig, sizeof(sig), body, "r-1", "push");
	deliver(w, WEBHOOK_GITHUB, &h, body, &res);
	assert_int_equal(res.status, 202);
	assert_true(res.trigger);
	deliver(w, WEBHOOK_GITHUB, &h, body, &res);
	assert_int_equal(res.status, 409);
	assert_false(res.trigger);
	/* A forged delivery does not poison the id cache. */
	signed_github(&h, sig, sizeof(sig), body, "r-2", "push");
	sig[8] = sig[8] == 'a' ? 'b' : 'a';
	deliver(w, WEBHOOK_GITHUB, &h, body, &res);
	assert_int_equal(res.status, 401);
	snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":\"r2\"}");
	signed_github(&h, sig, sizeof(sig), body, "r-2", "push");
	deliver(w, WEBHOOK_GITHUB, &h, body, &res);
	assert_int_equal(res.status, 202);
	/* The cache is bounded (16 here): an id pushed out of it is accepted again. */
	for (i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "f-%d", i);
		snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":\"f%d\"}", i);
		signed_github(&h, sig, sizeof(sig), body, id, "push");
		deliver(w, WEBHOOK_GITHUB, &h, body, &res);
		assert_int_equal(res.status, 202);
	}
	snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":\"r1-again\"}");
	signed_github(&h, sig, sizeof(sig), body, "r-1", "push");
	deliver(w, WEBHOOK_GITHUB, &h, body, &res);
	assert_int_equal(res.status, 202);
	/* No delivery id: malformed. */
	signed_github(&h, sig, sizeof(sig), body, "x", "push");
	h.kv[2] = "X-Nothing";
	deliver(w, WEBHOOK_GITHUB, &h, body, &res);
	assert_int_equal(res.status, 400);
	webhook_free(w);
}

/* One signed GitHub push of body under delivery id; the result in *res. */
static void github_push(struct webhook *w, const char *body, const char *id, struct webhook_result *res)
{
	struct hdrs h;
	char sig[80];

	signed_github(&h, sig, sizeof(sig), body, id, "push");
	deliver(w, WEBHOOK_GITHUB, &h, body, res);
}

/* A push replayed under a new delivery id is known by its body: answered "duplicate", no second sync. */
static void test_body_replay(void **state)
{
	static const char a[] = "{\"ref\":\"refs/heads/main\",\"after\":\"aaaa\"}";
	static const char dev[] = "{\"ref\":\"refs/heads/dev\",\"after\":\"dddd\"}";
	static const struct {
		const char *desc;
		const char *body;
		const char *id;
		int status;
		const char *outcome;
		int trigger;
	} rows[] = {
		{ "first delivery of a push", a, "b-1", 202, "sync", 1 },
		{ "the same body under a new id", a, "b-2", 200, "duplicate", 0 },
		{ "and under a third id", a, "b-3", 200, "duplicate", 0 },
		{ "a push to another branch is not remembered", dev, "b-4", 200, "ignored", 0 },
		{ "nor is it a duplicate the second time", dev, "b-5", 200, "ignored", 0 },
		{ "the same id again is still refused by its id", a, "b-1", 409, "duplicate", 0 },
	};
	struct webhook *w = new_hook();
	struct webhook_result res;
	char body[64], id[16];
	size_t i;
	int k;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		github_push(w, rows[i].body, rows[i].id, &res);
		print_message("# %s: %d %s %s\n", rows[i].desc, res.status, res.outcome, res.reason);
		assert_int_equal(res.status, rows[i].status);
		assert_string_equal(res.outcome, rows[i].outcome);
		assert_int_equal(res.trigger, rows[i].trigger);
		if (rows[i].status == 200 && strcmp(rows[i].outcome, "duplicate") == 0)
			assert_non_null(strstr(res.reason, "duplicate"));
	}
	/* The same body from another provider is another push. */
	{
		struct hdrs g = { { "X-Gitlab-Token", "tok", "X-Gitlab-Event", "Push Hook" } };

		deliver(w, WEBHOOK_GITLAB, &g, a, &res);
		assert_int_equal(res.status, 202);
		assert_true(res.trigger);
	}
	/*
	 * Bounded, least recently seen first (16 here). Remembered now: a, gitlab's a.
	 * 14 new bodies fill it with a the oldest; a's replay moves it to the front,
	 * so the next new body pushes out gitlab's a, not a.
	 */
	for (k = 0; k < 15; k++) {
		snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":\"x%d\"}", k);
		snprintf(id, sizeof(id), "x-%d", k);
		if (k == 14) {
			github_push(w, a, "b-6", &res);
			assert_string_equal(res.outcome, "duplicate");
		}
		github_push(w, body, id, &res);
		assert_int_equal(res.status, 202);
	}
	github_push(w, a, "b-7", &res);
	assert_string_equal(res.outcome, "duplicate");
	/* 16 new bodies push it out: then it syncs again. */
	for (k = 0; k < 16; k++) {
		snprintf(body, sizeof(body), "{\"ref\":\"refs/heads/main\",\"after\":\"y%d\"}", k);
		snprintf(id, sizeof(id), "y-%d", k);
		github_push(w, body, id, &res);
		assert_int_equal(res.status, 202);
	}
	github_push(w, a, "b-8", &res);
	assert_int_equal(res.status, 202);
	assert_true(res.trigger);
	webhook_free(w);
}

static void test_gitlab(void **state)
{
	const char *body = "{\"ref\":\"refs/heads/main\",\"after\":\"bbbb\"}";
	struct webhook *w = new_hook();
	struct webhook_result res;
	struct hdrs h = { { "X-Gitlab-Token", "tok", "X-Gitlab-Event", "Push Hook",
			    "X-Gitlab-Event-UUID", "u-1" } };

	(void)state;
	deliver(w, WEBHOOK_GITLAB, &h, body, &res);
	assert_int_equal(res.status, 202);
	assert_true(res.trigger);
	assert_string_equal(res.commit, "bbbb");
	deliver(w, WEBHOOK_GITLAB, &h, body, &res);
	assert_int_equal(res.status, 409);
	h.kv[5] = "u-2";
	h.kv[1] = "to";
	deliver(w, WEBHOOK_GITLAB, &h, body, &res);
	assert_int_equal(res.status, 401);
	h.kv[1] = "tokk";
	deliver(w, WEBHOOK_GITLAB, &h, body, &res);
	assert_int_equal(res.status, 401);
	h.kv[0] = "X-Other";
	deliver(w, WEBHOOK_GITLAB, &h, body, &res);
	assert_int_equal(res.status, 401);
	h.kv[0] = "X-Gitlab-Token";
	h.kv[1] = "tok";
	h.kv[3] = "Tag Push Hook";
	deliver(w, WEBHOOK_GITLAB, &h, body, &res);
	assert_int_equal(res.status, 200);
	assert_false(res.trigger);
	webhook_free(w);
}

static void test_gitea(void **state)
{
	const char *body = "{\"ref\":\"refs/heads/main\"}";
	struct webhook *w = new_hook();
	struct webhook_result res;
	char hex[65];
	struct hdrs h = { { "X-Gitea-Signature", hex, "X-Gitea-Event", "push" } };

	(void)state;
	hmac_sha256_hex(SECRET, strlen(SECRET), body, strlen(body), hex);
	deliver(w, WEBHOOK_GITEA, &h, body, &res);
	assert_int_equal(res.status, 202);
	assert_true(res.trigger);
	deliver(w, WEBHOOK_GITEA, &h, "{\"ref\":\"refs/heads/mainx\"}", &res);
	assert_int_equal(res.status, 401);
	h.kv[0] = "X-Hub-Signature-256";
	deliver(w, WEBHOOK_GITEA, &h, body, &res);
	assert_int_equal(res.status, 401);
	webhook_free(w);
}

static void test_unconfigured_and_files(void **state)
{
	struct webhook *w = NULL;
	struct webhook_result res;
	struct error *e = NULL;
	struct hdrs h = { { "X-Gitlab-Token", "", "X-Gitlab-Event", "Push Hook" } };
	char path[] = "/tmp/auriga-secret-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(webhook_new(&w, "main", 4, &e), 0);
	deliver(w, WEBHOOK_GITLAB, &h, "{}", &res);
	assert_int_equal(res.status, 404);
	assert_false(webhook_has_secret(w, WEBHOOK_GITLAB));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "tok\n", 4), 4);
	close(fd);
	assert_int_equal(webhook_load_secret_file(w, WEBHOOK_GITLAB, path, &e), 0);
	h.kv[1] = "tok";
	deliver(w, WEBHOOK_GITLAB, &h, "{\"ref\":\"refs/heads/main\"}", &res);
	assert_int_equal(res.status, 202);
	unlink(path);
	assert_true(webhook_load_secret_file(w, WEBHOOK_GITEA, path, &e) < 0);
	assert_non_null(strstr(error_msg(e), path));
	error_clear(&e);
	webhook_free(w);
	assert_true(webhook_new(&w, "", 4, &e) < 0);
	assert_null(w);
	error_clear(&e);
}

/* Each provider's answers word for word: its proof, its delivery id, its event. */
static void test_answers_by_provider(void **state)
{
	const char *body = "{\"ref\":\"refs/heads/main\"}";
	static char gh_sig[80], gitea_sig[80];
	static const struct {
		const char *desc;
		enum webhook_provider p;
		struct hdrs h;
		int status;
		const char *outcome;
		const char *reason;
	} rows[] = {
		{ "gitlab without a token", WEBHOOK_GITLAB, { { "X-Gitlab-Event", "Push Hook" } }, 401, "unauthorized",
		  "missing X-Gitlab-Token header" },
		{ "gitlab, wrong token", WEBHOOK_GITLAB, { { "X-Gitlab-Token", "nope" } }, 401, "unauthorized",
		  "X-Gitlab-Token does not match" },
		{ "gitlab, bad id", WEBHOOK_GITLAB, { { "X-Gitlab-Token", "tok", "X-Gitlab-Event-UUID", "a\tb" } }, 400,
		  "malformed", "bad X-Gitlab-Event-UUID header" },
		{ "gitlab without an event", WEBHOOK_GITLAB, { { "X-Gitlab-Token", "tok" } }, 400, "malformed",
		  "missing X-Gitlab-Event header" },
		{ "gitlab, a tag", WEBHOOK_GITLAB, { { "X-Gitlab-Token", "tok", "X-Gitlab-Event", "Tag Push Hook" } }, 200,
		  "ignored", "event is not a push" },
		{ "gitea without a signature", WEBHOOK_GITEA, { { "X-Gitea-Event", "push" } }, 401, "unauthorized",
		  "missing X-Gitea-Signature header" },
		{ "gitea, wrong signature", WEBHOOK_GITEA, { { "X-Gitea-Signature", "00" } }, 401, "unauthorized",
		  "X-Gitea-Signature does not match the body" },
		{ "gitea, bad id", WEBHOOK_GITEA, { { "X-Gitea-Signature", gitea_sig, "X-Gitea-Delivery", "a b" } }, 400,
		  "malformed", "bad X-Gitea-Delivery header" },
		{ "gitea without an event", WEBHOOK_GITEA, { { "X-Gitea-Signature", gitea_sig } }, 400, "malformed",
		  "missing X-Gitea-Event header" },
		{ "gitea, a ping is no push", WEBHOOK_GITEA, { { "X-Gitea-Signature", gitea_sig, "X-Gitea-Event", "ping" } },
		  200, "ignored", "event is not a push" },
		{ "github without a delivery id", WEBHOOK_GITHUB, { { "X-Hub-Signature-256", gh_sig, "X-GitHub-Event", "push" } },
		  400, "malformed", "missing or bad X-GitHub-Delivery header" },
		{ "github without an event", WEBHOOK_GITHUB, { { "X-Hub-Signature-256", gh_sig, "X-GitHub-Delivery", "g-1" } },
		  400, "malformed", "missing X-GitHub-Event header" },
		{ "github ping", WEBHOOK_GITHUB,
		  { { "X-Hub-Signature-256", gh_sig, "X-GitHub-Delivery", "g-2", "X-GitHub-Event", "ping" } }, 200, "ping",
		  "pong" },
		{ "github, SHA-1 only", WEBHOOK_GITHUB, { { "X-Hub-Signature", "sha1=00" } }, 401, "unauthorized",
		  "only an X-Hub-Signature (SHA-1) header: X-Hub-Signature-256 is required" },
	};
	struct webhook *w = new_hook();
	char hex[65];
	size_t i;

	(void)state;
	hmac_sha256_hex(SECRET, strlen(SECRET), body, strlen(body), hex);
	snprintf(gh_sig, sizeof(gh_sig), "sha256=%s", hex);
	snprintf(gitea_sig, sizeof(gitea_sig), "%s", hex);
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct hdrs h = rows[i].h;
		struct webhook_result res;

		deliver(w, rows[i].p, &h, body, &res);
		print_message("# %s: %d %s %s\n", rows[i].desc, res.status, res.outcome, res.reason);
		assert_int_equal(res.status, rows[i].status);
		assert_string_equal(res.outcome, rows[i].outcome);
		assert_string_equal(res.reason, rows[i].reason);
		assert_false(res.trigger);
	}
	webhook_free(w);
}

TEST_MAIN(
	cmocka_unit_test(test_github_vector),
	cmocka_unit_test(test_github_vector_accepted),
	cmocka_unit_test(test_github_table),
	cmocka_unit_test(test_github_replay_and_lru),
	cmocka_unit_test(test_body_replay),
	cmocka_unit_test(test_gitlab),
	cmocka_unit_test(test_gitea),
	cmocka_unit_test(test_unconfigured_and_files),
	cmocka_unit_test(test_answers_by_provider))
