/* Webhook deliveries from GitHub, GitLab and Gitea: signature or token, replay, event and branch checks. */
#include "surface/webhook.h"

#include "buf.h"
#include "runtime/file.h"
#include "runtime/signing.h"
#include "strv.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define SECRET_MAX 4096
#define DELIVERY_MAX 79

struct secret {
	unsigned char *data;
	size_t len;
};

struct webhook {
	char *ref;			/* "refs/heads/<branch>" */
	struct secret secret[WEBHOOK__COUNT];
	/* GitLab tokens are compared as HMACs under this per-process key: equal lengths, constant time. */
	unsigned char token_key[32];
	pthread_mutex_t lock;
	char **seen;			/* ring of "provider:delivery" ids */
	size_t seen_size, seen_next;
	/*
	 * SHA-256 of the bodies of the last accepted pushes (provider and body),
	 * an LRU of seen_size: the same push replayed under a new delivery id is
	 * recognised by its body. bodies[0] is the most recent; nbodies used.
	 */
	unsigned char (*bodies)[32];
	size_t nbodies;
};

static const char *const provider_names[] = { "github", "gitlab", "gitea" };

const char *webhook_provider_name(enum webhook_provider p)
{
	return (unsigned)p < WEBHOOK__COUNT ? provider_names[p] : "unknown";
}

int webhook_provider_parse(const char *name, enum webhook_provider *out)
{
	size_t i;

	for (i = 0; i < WEBHOOK__COUNT; i++) {
		if (strcmp(name, provider_names[i]) == 0) {
			*out = (enum webhook_provider)i;
			return 0;
		}
	}
	return -1;
}

int webhook_new(struct webhook **out, const char *branch, size_t dedup_size, struct error **err)
{
	struct webhook *w;
	size_t n;

	*out = NULL;
	if (!branch || !*branch || strchr(branch, ' ') || strlen(branch) > 200)
		return error_set(err, ERR_INVALID, "webhook: bad branch name '%s'", branch ? branch : "");
	if (dedup_size == 0)
		dedup_size = 1;
	w = xcalloc(1, sizeof(*w));
	n = strlen(branch) + sizeof("refs/heads/");
	w->ref = xmalloc(n);
	snprintf(w->ref, n, "refs/heads/%s", branch);
	if (RAND_bytes(w->token_key, sizeof(w->token_key)) != 1) {
		free(w->ref);
		free(w);
		return error_set(err, ERR_GENERIC, "webhook: no random bytes for the token key");
	}
	pthread_mutex_init(&w->lock, NULL);
	w->seen = xcalloc(dedup_size, sizeof(char *));
	w->seen_size = dedup_size;
	w->bodies = xcalloc(dedup_size, sizeof(*w->bodies));
	*out = w;
	return 0;
}

void webhook_free(struct webhook *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < WEBHOOK__COUNT; i++) {
		if (w->secret[i].data)
			OPENSSL_cleanse(w->secret[i].data, w->secret[i].len);
		free(w->secret[i].data);
	}
	strv_free_n(w->seen, w->seen_size);
	free(w->bodies);
	OPENSSL_cleanse(w->token_key, sizeof(w->token_key));
	pthread_mutex_destroy(&w->lock);
	free(w->ref);
	free(w);
}

int webhook_set_secret(struct webhook *w, enum webhook_provider p, const void *secret, size_t len,
		       struct error **err)
{
	unsigned char *copy;

	if ((unsigned)p >= WEBHOOK__COUNT)
		BUG("bad webhook provider %d", (int)p);
	if (len == 0)
		return error_set(err, ERR_INVALID, "%s webhook secret is empty", provider_names[p]);
	if (len > SECRET_MAX)
		return error_set(err, ERR_TOOBIG, "%s webhook secret is longer than %d bytes",
				 provider_names[p], SECRET_MAX);
	copy = xmalloc(len);
	memcpy(copy, secret, len);
	/* Readers take the lock, so a secret reloaded on SIGHUP swaps cleanly. */
	pthread_mutex_lock(&w->lock);
	if (w->secret[p].data) {
		OPENSSL_cleanse(w->secret[p].data, w->secret[p].len);
		free(w->secret[p].data);
	}
	w->secret[p].data = copy;
	w->secret[p].len = len;
	pthread_mutex_unlock(&w->lock);
	return 0;
}

int webhook_load_secret_file(struct webhook *w, enum webhook_provider p, const char *path,
			     struct error **err)
{
	struct buf data;
	char what[64];
	int rc;

	snprintf(what, sizeof(what), "%s webhook secret", provider_names[p]);
	/* Room for the secret and the newline an editor adds. */
	buf_init(&data, SECRET_MAX + 2);
	rc = file_read(path, what, FILE_REGULAR | FILE_SECRET, &data, err);
	if (rc == 0) {
		file_trim_end(&data, "\n");
		file_trim_end(&data, "\r");
		rc = webhook_set_secret(w, p, data.data, data.len, err);
		if (rc < 0)
			error_wrap(err, "'%s'", path);
	}
	OPENSSL_cleanse(data.data, data.len);
	buf_release(&data);
	return rc;
}

int webhook_has_secret(const struct webhook *w, enum webhook_provider p)
{
	return (unsigned)p < WEBHOOK__COUNT && w->secret[p].data != NULL;
}

/* Checks a hex HMAC-SHA256 of the body in constant time. Called with the lock held. */
static int signature_ok(const struct webhook *w, enum webhook_provider p, const char *hex,
			const struct webhook_request *req)
{
	return hmac_sha256_check(w->secret[p].data, w->secret[p].len, req->body, req->body_len, hex);
}

/* Compares a token with the GitLab secret: both HMAC'd, so the comparison has a fixed length. */
static int token_ok(const struct webhook *w, const char *token)
{
	unsigned char a[32], b[32];

	hmac_sha256(w->token_key, sizeof(w->token_key), token, strlen(token), a);
	hmac_sha256(w->token_key, sizeof(w->token_key), w->secret[WEBHOOK_GITLAB].data,
		    w->secret[WEBHOOK_GITLAB].len, b);
	return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

/* Remembers a delivery id; returns 1 when it was already there. Called with the lock held. */
static int seen_before(struct webhook *w, enum webhook_provider p, const char *id)
{
	char key[DELIVERY_MAX + 16];
	size_t i;

	if (w->seen_size == 0)
		return 0;
	snprintf(key, sizeof(key), "%s:%s", provider_names[p], id);
	for (i = 0; i < w->seen_size; i++)
		if (w->seen[i] && strcmp(w->seen[i], key) == 0)
			return 1;
	free(w->seen[w->seen_next]);
	w->seen[w->seen_next] = xstrdup(key);
	w->seen_next = (w->seen_next + 1) % w->seen_size;
	return 0;
}

/*
 * Remembers an accepted push's body as the most recent; returns 1 when it was
 * already there (it moves to the front). Called with the lock held.
 */
static int body_seen_before(struct webhook *w, enum webhook_provider p, const struct webhook_request *req)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t i, at;
	int seen = 0;

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, provider_names[p], strlen(provider_names[p]) + 1) != 1 ||
	    EVP_DigestUpdate(ctx, req->body, req->body_len) != 1 || EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 ||
	    mdlen != sizeof(md))
		BUG("SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < w->nbodies; i++)
		if (memcmp(w->bodies[i], md, sizeof(md)) == 0)
			break;
	if (i < w->nbodies) {
		seen = 1;
		at = i;
	} else {
		/* A new body: the least recently seen one (the last) makes room when full. */
		at = w->nbodies < w->seen_size ? w->nbodies++ : w->seen_size - 1;
	}
	memmove(w->bodies[1], w->bodies[0], at * sizeof(w->bodies[0]));
	memcpy(w->bodies[0], md, sizeof(md));
	return seen;
}

static void answer(struct webhook_result *res, int status, const char *outcome, const char *reason)
{
	res->status = status;
	res->outcome = outcome;
	res->reason = reason;
}

static const char *header(const struct webhook_request *req, const char *name)
{
	const char *v = req->header(req->ctx, name);

	return v && *v ? v : NULL;
}

static int printable_id(const char *s)
{
	const char *p;

	if (strlen(s) > DELIVERY_MAX)
		return 0;
	for (p = s; *p; p++)
		if (*p <= ' ' || *p > '~')
			return 0;
	return 1;
}

/*
 * Parses a push body and decides: trigger when ref is the watched branch,
 * unless the same body was accepted lately (a replay under a new delivery id).
 */
static void push_event(struct webhook *w, const struct webhook_request *req,
		       struct webhook_result *res)
{
	json_error_t jerr;
	json_t *root, *ref, *after;

	root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root || !json_is_object(root)) {
		answer(res, 400, "malformed", "the body is not a JSON object");
		goto out;
	}
	ref = json_object_get(root, "ref");
	if (!json_is_string(ref)) {
		answer(res, 400, "malformed", "the push event has no \"ref\" string");
		goto out;
	}
	after = json_object_get(root, "after");
	if (json_is_string(after) && json_string_length(after) < sizeof(res->commit))
		snprintf(res->commit, sizeof(res->commit), "%s", json_string_value(after));
	if (strcmp(json_string_value(ref), w->ref) != 0) {
		answer(res, 200, "ignored", "push to a branch that is not watched");
		goto out;
	}
	if (body_seen_before(w, req->provider, req)) {
		answer(res, 200, "duplicate", "duplicate: the same push was already accepted; no new sync");
		goto out;
	}
	res->trigger = 1;
	answer(res, 202, "sync", "push to the watched branch: sync triggered");
out:
	json_decref(root);
}

/* A proof header: present and verified (1), or the answer says which of the two it is not (0). */
static int proof(struct webhook_result *res, const char *value, int verified, const char *missing,
		 const char *mismatch)
{
	if (!value)
		answer(res, 401, "unauthorized", missing);
	else if (!verified)
		answer(res, 401, "unauthorized", mismatch);
	return value && verified;
}

static int github_auth(struct webhook *w, const struct webhook_request *req, struct webhook_result *res)
{
	const char *sig = header(req, "X-Hub-Signature-256");

	if (!sig && header(req, "X-Hub-Signature")) {
		answer(res, 401, "unauthorized", "only an X-Hub-Signature (SHA-1) header: X-Hub-Signature-256 is required");
		return 0;
	}
	return proof(res, sig, sig && strncmp(sig, "sha256=", 7) == 0 && signature_ok(w, WEBHOOK_GITHUB, sig + 7, req),
		     "missing X-Hub-Signature-256 header", "X-Hub-Signature-256 does not match the body");
}

static int gitlab_auth(struct webhook *w, const struct webhook_request *req, struct webhook_result *res)
{
	const char *token = header(req, "X-Gitlab-Token");

	return proof(res, token, token && token_ok(w, token), "missing X-Gitlab-Token header",
		     "X-Gitlab-Token does not match");
}

static int gitea_auth(struct webhook *w, const struct webhook_request *req, struct webhook_result *res)
{
	const char *sig = header(req, "X-Gitea-Signature");

	return proof(res, sig, sig && signature_ok(w, WEBHOOK_GITEA, sig, req), "missing X-Gitea-Signature header",
		     "X-Gitea-Signature does not match the body");
}

/* What a provider's deliveries carry besides their proof; the answers are static text (res keeps them). */
static const struct provider {
	int (*auth)(struct webhook *w, const struct webhook_request *req, struct webhook_result *res);
	const char *id_header;
	int id_required;
	const char *bad_id;	/* the answer to a bad id, or to a missing one when it is required */
	const char *event_header;
	const char *no_event;
	const char *push;	/* the event's value for a push */
	int ping;		/* answers GitHub's test delivery */
} providers[WEBHOOK__COUNT] = {
	[WEBHOOK_GITHUB] = { github_auth, "X-GitHub-Delivery", 1, "missing or bad X-GitHub-Delivery header",
			     "X-GitHub-Event", "missing X-GitHub-Event header", "push", 1 },
	[WEBHOOK_GITLAB] = { gitlab_auth, "X-Gitlab-Event-UUID", 0, "bad X-Gitlab-Event-UUID header",
			     "X-Gitlab-Event", "missing X-Gitlab-Event header", "Push Hook", 0 },
	[WEBHOOK_GITEA] = { gitea_auth, "X-Gitea-Delivery", 0, "bad X-Gitea-Delivery header", "X-Gitea-Event",
			    "missing X-Gitea-Event header", "push", 0 },
};

/* An authenticated delivery: its id (once only), its event, and a push's refs. */
static void deliver(struct webhook *w, const struct webhook_request *req, struct webhook_result *res)
{
	const struct provider *p = &providers[req->provider];
	const char *id = header(req, p->id_header);
	const char *event = header(req, p->event_header);

	if (id ? !printable_id(id) : p->id_required) {
		answer(res, 400, "malformed", p->bad_id);
		return;
	}
	if (id) {
		snprintf(res->delivery, sizeof(res->delivery), "%s", id);
		if (seen_before(w, req->provider, id)) {
			answer(res, 409, "duplicate", "delivery already received");
			return;
		}
	}
	if (!event)
		answer(res, 400, "malformed", p->no_event);
	else if (p->ping && strcmp(event, "ping") == 0)
		answer(res, 200, "ping", "pong");
	else if (strcmp(event, p->push) != 0)
		answer(res, 200, "ignored", "event is not a push");
	else
		push_event(w, req, res);
}

void webhook_handle(struct webhook *w, const struct webhook_request *req, struct webhook_result *res)
{
	memset(res, 0, sizeof(*res));
	if ((unsigned)req->provider >= WEBHOOK__COUNT)
		BUG("bad webhook provider %d", (int)req->provider);
	pthread_mutex_lock(&w->lock);
	if (!w->secret[req->provider].data) {
		answer(res, 404, "disabled", "no secret is configured for this provider");
	} else if (providers[req->provider].auth(w, req, res)) {
		deliver(w, req, res);
	}
	pthread_mutex_unlock(&w->lock);
}
