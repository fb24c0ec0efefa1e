/* The router's private state, shared by the table (router.c) and the NGINX side (router_nginx.c). */
#ifndef AURIGA_ROUTER_INTERNAL_H
#define AURIGA_ROUTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "traffic/router.h"

struct router {
	char *config_path;	/* the file written: the settings' configPath, with the name prefix */
	char *spec_path;	/* the settings' configPath */
	char *prefix;		/* before every upstream's name; "" none */
	char *owner;		/* the instance, in the file's first line; or NULL */
	/* The file this instance wrote under the earlier names, removed in the first reload; or NULL. */
	char *legacy_path;
	char *listen_address;
	char *nginx;
	char **reload_argv;	/* NULL-terminated, or NULL */
	char *pid_file;
	char *container;	/* NGINX's container, signalled through signal(); or NULL */
	router_signal_fn signal;
	void *signal_arg;
	/* The signal last asked for: none, under way, failed (with why). */
	enum { ROUTER_SIG_NONE, ROUTER_SIG_SENT, ROUTER_SIG_FAILED } sig_state;
	char sig_why[256];
	char *error_log;	/* NGINX's error log, read for the reason of a reload that did not take; or NULL */
	int64_t timeout_ms;
	struct router_service *services;	/* owned copies */
	size_t n_services;
	size_t cap_services;
	char *current;		/* the text last applied */
	int reload_pending;	/* the file changed but NGINX was not reloaded (or not confirmed) yet */
	/* The confirmation under way: every port must answer generation. */
	struct {
		int active;
		char generation[65];
		int *ports;
		size_t n_ports;
		int64_t deadline;	/* monotonic ms */
		int64_t since;		/* first round of all-new answers in a row, or -1 */
		long long log_from;	/* NGINX's error log size before the reload, or -1 */
		int bad_port;
		char seen[256];		/* what the last listener not on the generation answered */
	} cf;
	struct confirm_round *round;	/* the round of GETs under way, or NULL */
};

/* The path every rendered listener answers with the configuration's generation. */
#define ROUTER_GENERATION_PATH "/.auriga/router-generation"

/* What confirms an apply: every listener on these ports answers with this generation. */
struct router_confirm {
	const char *generation;
	const int *ports;
	size_t n_ports;
};

/*
 * router_apply_text() with a confirmation: after a reload, every port of c
 * must answer ROUTER_GENERATION_PATH with c->generation, on new connections,
 * for a settling time in a row within the timeout, or the apply fails
 * naming what answered and NGINX's last error. c may be NULL (no
 * confirmation). With async the call returns after the reload and the
 * confirmation goes on through router_confirm_poll().
 */
int router_nginx_apply(struct router *r, const char *text, const struct router_confirm *c, int async,
		       int *changed, struct error **err);
/* Frees the confirmation's state and handle. */
void router_nginx_release(struct router *r);

/*
 * 0 when no other file auriga wrote into the folder of r's file (another
 * instance's) listens on one of ports or defines an upstream of the name r
 * gives one of upstreams (upstreams[i] the Service's upstream of ports[i],
 * before the prefix); else ERR_CONFLICT naming the port or the upstream, and
 * the other file and instance. r's own file is not another's; in the one
 * it takes over, only the listeners of r's own Services (same port, same
 * upstream) are r's.
 */
int router_ports_free(const struct router *r, const int *ports, const char *const *upstreams, size_t n,
		      struct error **err);
/*
 * The lock every instance writing into the folder of r's file holds around
 * its check of the other files, its write and its reload, so that two
 * instances never both find a port free and both take it:
 * "<folder>/.auriga.lock" (hidden: no include loads it, no scan reads it).
 * Waits at most r's timeout; returns the descriptor for
 * router_folder_unlock, or <0 with *err (ERR_TIMEOUT: held all along).
 */
int router_folder_lock(const struct router *r, struct error **err);
void router_folder_unlock(int fd);
/* The table of services kept beside a router's file: "<config_path>.services.json" (malloc'd). */
char *router_table_path(const char *config_path);
/* "<folder of path>/<prefix>-<file name of path>", or path when prefix is "" (malloc'd). */
char *router_prefixed_path(const char *path, const char *prefix);
/*
 * 1 when the file at r->spec_path is one this instance wrote under the
 * earlier names: auriga's, its first line naming r->owner, or naming no
 * instance and every server of its upstreams one of own (where this
 * instance's containers publish their ports).
 */
int router_legacy_ours(const struct router *r, const struct router_endpoint *own, size_t n_own);
/*
 * "<legacy_path>.replaced": where the file under the earlier names waits,
 * out of every "*.conf" include, from the reload that loads its successor
 * until that one is served (malloc'd).
 */
char *router_aside_path(const char *legacy_path);
/* The instance a file auriga wrote names in its first line ("" none), or NULL when auriga did not write it. */
char *router_file_owner(const char *text);

#endif
