/* The traffic router: NGINX upstreams with per-slot weights, rendered, checked with `nginx -t` and reloaded. */
#ifndef AURIGA_ROUTER_H
#define AURIGA_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "error.h"

/* One ready container of a slot as NGINX reaches it. */
struct router_endpoint {
	const char *addr;	/* "127.0.0.1" or a container address */
	int port;		/* 1..65535 */
	int weight;		/* 0..1000; 0 leaves the server out of the upstream */
	/*
	 * A backup server (weight ignored): NGINX sends it requests only when
	 * every primary server has failed, so the slot traffic left keeps
	 * answering while the new one is watched. Backups are listed even at
	 * weight 0.
	 */
	int backup;
};

/* One Service: an upstream and the server block that listens for it. */
struct router_service {
	const char *upstream;	/* upstream name: [A-Za-z0-9_.-]+ */
	int port;		/* listen port at the router */
	int max_fails;		/* NGINX max_fails (0: never marked failed) */
	int fail_timeout_seconds;
	const struct router_endpoint *endpoints;
	size_t n_endpoints;
};

/*
 * Renders the NGINX configuration for the services, in the order given: per
 * service an upstream with one server line per endpoint of non-zero weight
 * (then one `backup` line per backup endpoint)
 * (an upstream with none gets the placeholder `server 127.0.0.1:1 down;` so
 * that the file stays valid and the service answers 502), then a server block
 * listening on listen_address:port that proxies to it and answers
 * GET /.auriga/router-generation with generation ([A-Za-z0-9-]{1,64}), by
 * which the router confirms that NGINX serves the text. For one instance
 * among several sharing an NGINX, every upstream is named
 * "<prefix>-<upstream>" (prefix NULL or "": the Service's name alone), and
 * the first line names owner (the instance; NULL: none), so that another
 * instance's router tells whose file it reads. Pure: same input, same text.
 * Returns 0, or ERR_INVALID with *err naming the bad field.
 */
int router_render_named(struct buf *out, const char *listen_address, const char *generation, const char *prefix,
			const char *owner, const struct router_service *svcs, size_t n, struct error **err);

/*
 * NGINX in a container: the router does not talk to Docker itself. To
 * reload it calls signal(container, arg), which starts sending SIGHUP to the
 * container and returns 0 once the request is under way; its owner reports
 * the outcome with router_signalled(). The change then counts, as ever, once
 * every listener answers the new generation.
 */
typedef int (*router_signal_fn)(const char *container, void *arg, struct error **err);

struct router_config {
	const char *config_path;	/* the file NGINX's main configuration includes in http {} */
	const char *listen_address;	/* NULL: "127.0.0.1" */
	const char *nginx;		/* the binary used for `nginx -t`; NULL: "nginx" from PATH */
	const char *const *reload_argv;	/* command, run without a shell */
	size_t n_reload_argv;		/* its length; 0: up to a NULL entry */
	const char *pid_file;		/* or: send SIGHUP to the pid in this file */
	const char *container;		/* or: send SIGHUP to this container through signal */
	router_signal_fn signal;
	void *signal_arg;
	const char *error_log;		/* NGINX's error log, quoted when a reload does not take; or NULL */
	int64_t timeout_ms;		/* per check and per reload; 0: 10 s */
	/*
	 * Several instances may write into one NGINX's folder: with a prefix
	 * (the instance's name-prefix; NULL or "": none) the router writes
	 * "<folder of config_path>/<prefix>-<file name of config_path>" and
	 * names every upstream "<prefix>-<upstream>". A port another
	 * instance's file in that folder listens on is refused, naming both.
	 * A file at config_path itself that this instance wrote under the
	 * earlier names (unprefixed, its first line naming owner or no
	 * instance) is taken over: its services are the new router's, and it
	 * leaves NGINX in the reload that loads the new file.
	 */
	const char *name_prefix;
	const char *owner;		/* the instance, named in the file's first line; NULL: none */
	/*
	 * Where the instance's containers (labelled managed-by it) publish
	 * their ports (address and host port; weight and backup unused): a
	 * file from before instances were named in it is taken over only when
	 * every server of its upstreams is one of these. Service ports are not
	 * a proof: the specs choose them.
	 */
	const struct router_endpoint *own_endpoints;
	size_t n_own_endpoints;
};

struct router;
struct spec_router;

/*
 * Fills c from a Cluster's spec.router (c points into it: keep the spec
 * alive until router_new). NGINX's error log is not among its fields: which
 * file of the host auriga reads is the operator's setting (router-error-log),
 * never the specs repo's. With `container` the caller sets signal and
 * signal_arg; the candidate is still checked with the host's `nginx -t`.
 */
int router_config_from_spec(struct router_config *c, const struct spec_router *sr, struct error **err);

/*
 * Copies the configuration. Exactly one of reload_argv, pid_file and
 * container must be set (container with its signal).
 */
struct router *router_new(const struct router_config *c, struct error **err);
void router_free(struct router *r);
/*
 * 1 when r was made from the settings c holds (file, listen address, reload
 * command, pid file or container); the controller makes a new router when
 * the Cluster's settings change.
 */
int router_config_same(const struct router *r, const struct router_config *c);
/* The file the router writes (config_path, or its name with the prefix). */
const char *router_config_path(const struct router *r);
/* Stages every service of src into dst (a router that replaces src). */
void router_adopt(struct router *dst, const struct router *src);
/*
 * Removes the configuration r wrote and its table of services, for a router
 * whose file the settings no longer name: NGINX should not load routes
 * nobody keeps. A file that auriga did not generate is left alone.
 */
void router_retire(struct router *r);
/*
 * The outcome of the signal the router asked for: ok, or why not. A failed
 * signal fails the confirmation under way, and the next commit reloads again.
 */
void router_signalled(struct router *r, int ok, const char *why);

/*
 * Sets a service's endpoints and weights (replacing what it had, adding the
 * service when new; everything is copied) and applies the whole
 * configuration like router_apply_text(). A reload counts only once NGINX
 * serves it: every service's listener must answer with the new generation,
 * on new connections, for 300 ms in a row (NGINX's old workers accept for
 * 100 ms after a reload) within the timeout; otherwise the
 * call fails with what answered and NGINX's last error from error_log, and
 * the next call reloads again. *changed (may be NULL) says whether NGINX was
 * reloaded and confirmed.
 */
int router_set(struct router *r, const struct router_service *svc, int *changed, struct error **err);
/*
 * router_set() in two halves, so that several services change in one
 * reload and one confirmation: router_stage() checks and puts a service in
 * the table without applying; router_commit() applies the table.
 */
int router_stage(struct router *r, const struct router_service *svc, struct error **err);
int router_commit(struct router *r, int *changed, struct error **err);
/*
 * 1 when the next commit must apply even with the table as it is: NGINX
 * not yet reloaded on the file (or its reload not confirmed, and no
 * confirmation under way), or a file written under the earlier names still
 * to be replaced.
 */
int router_due(const struct router *r);
/* 1 when the table holds svc exactly as given (upstream, port, limits, endpoints in order). */
int router_holds(const struct router *r, const struct router_service *svc);

/*
 * The same on a controller's loop, which must not wait: router_commit_async()
 * renders, checks, writes and reloads like router_commit(), then leaves the
 * confirmation under way (*changed 1) instead of waiting for it. While it
 * is (router_confirming()), committing the same table does nothing.
 * router_confirm_round() asks every listener once, through the loop's HTTP
 * client, and calls done when all have answered: ROUTER_CONFIRMING until
 * every listener has answered the new generation for the settling time,
 * then ROUTER_CONFIRMED; or ROUTER_CONFIRM_FAILED with why saying what
 * router_set() would fail with, and the next commit reloads again. One round
 * at a time; a round started before a newer reload judges nothing.
 */
enum router_confirm_state { ROUTER_CONFIRMED, ROUTER_CONFIRMING, ROUTER_CONFIRM_FAILED };
struct http_client;
typedef void (*router_confirm_fn)(enum router_confirm_state st, const char *why, void *arg);
int router_commit_async(struct router *r, int *changed, struct error **err);
int router_confirm_round(struct router *r, struct http_client *http, router_confirm_fn done, void *arg,
			 struct error **err);
int router_confirming(const struct router *r);
/*
 * A new router starts from the table of services the last one applied (kept
 * beside the configuration as <configPath>.services.json), so its first
 * apply keeps the listeners of services not set yet. router_prune drops,
 * without applying, every service whose upstream is not in keep (services
 * gone from the specs); the next apply leaves them out.
 */
void router_prune(struct router *r, const char *const *keep, size_t n_keep);
/* Drops a service (no-op when unknown) and applies. */
int router_remove(struct router *r, const char *upstream, int *changed, struct error **err);

/*
 * Makes text the live configuration: when it equals the file's content
 * nothing is written or reloaded. Otherwise the text is written to a
 * candidate file beside config_path and checked with `nginx -t` against a
 * small main configuration that includes only the candidate; a failed check
 * removes the candidate, leaves config_path untouched and returns
 * ERR_INVALID with nginx's message. A good candidate is fsynced and renamed
 * over config_path, then NGINX is reloaded. When the reload fails the
 * checked file stays in place and the next call reloads even for the same
 * text. Blocks for at most the two timeouts (the whole apply takes about
 * 100 ms with a local NGINX).
 */
int router_apply_text(struct router *r, const char *text, int *changed, struct error **err);

/* The text router_set() last applied, or "" (for tests and the status page). */
const char *router_current(const struct router *r);

#endif
