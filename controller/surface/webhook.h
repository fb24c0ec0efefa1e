/* Git host webhook receivers: GitHub, GitLab and Gitea deliveries verified, de-duplicated and decided on. */
#ifndef AURIGA_WEBHOOK_H
#define AURIGA_WEBHOOK_H

#include "error.h"

#include <stddef.h>

/*
 * webhook_handle() is pure decision: it checks the delivery's signature or
 * token in constant time, refuses replays, parses the JSON body and says
 * whether the delivery is a push to the watched branch. It does not trigger
 * anything itself: the caller (the HTTP server) calls the sync callback when
 * result.trigger is set. It may be called from several threads at once.
 */
enum webhook_provider { WEBHOOK_GITHUB, WEBHOOK_GITLAB, WEBHOOK_GITEA, WEBHOOK__COUNT };

struct webhook;

/* What the HTTP layer hands over: a header getter (case-insensitive names) and the raw body. */
struct webhook_request {
	enum webhook_provider provider;
	const char *(*header)(void *ctx, const char *name);
	void *ctx;
	const char *body;
	size_t body_len;
};

struct webhook_result {
	int status;		/* HTTP status to answer */
	const char *outcome;	/* short word for logs and metrics: "sync", "ping", "ignored", "unauthorized", ... */
	const char *reason;	/* a sentence for the response body; static text */
	int trigger;		/* 1: a push to the watched branch, sync now */
	char commit[65];	/* the pushed commit ("after"), when known */
	char delivery[80];	/* the delivery id, when given */
};

/*
 * Recent delivery ids are remembered in a ring of dedup_size entries (the same
 * id again: 409), and the SHA-256 of the last dedup_size accepted push bodies
 * in an LRU (the same push under a new id: 200 "duplicate", no trigger).
 */
int webhook_new(struct webhook **out, const char *branch, size_t dedup_size, struct error **err);
void webhook_free(struct webhook *w);
/* Sets the provider's shared secret (GitHub, Gitea) or token (GitLab); a provider without one answers 404. */
int webhook_set_secret(struct webhook *w, enum webhook_provider p, const void *secret, size_t len,
		       struct error **err);
/* Reads the secret from a file (at most 4 KiB; one trailing newline is dropped). */
int webhook_load_secret_file(struct webhook *w, enum webhook_provider p, const char *path,
			     struct error **err);
int webhook_has_secret(const struct webhook *w, enum webhook_provider p);
void webhook_handle(struct webhook *w, const struct webhook_request *req, struct webhook_result *res);

const char *webhook_provider_name(enum webhook_provider p);
/* 0 and *out set, or -1 for an unknown name. */
int webhook_provider_parse(const char *name, enum webhook_provider *out);

#endif
