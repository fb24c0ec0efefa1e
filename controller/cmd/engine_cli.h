/* What `auriga plan`, `apply` and `rollback` share: settings, loading the specs (folder or repo), reaching Docker. */
#ifndef AURIGA_ENGINE_CLI_H
#define AURIGA_ENGINE_CLI_H

#include "cmd/gitsrc_cli.h"
#include "error.h"
#include "source/gitsrc.h"
#include "policy.h"
#include "runtime/config.h"
#include "spec.h"
#include "engine/engine.h"

struct loop;
struct docker;
struct docker_config;
struct http_client;
struct engine;
struct engine_options;

struct engine_cli {
	struct gitsrc_cli git;
	const struct config *cfg;	/* the settings; c's strings belong to it */
	const char *path;		/* positional: a folder of specs */
	const char *specs_path;		/* within the repo */
	const char *environment;	/* the Environment followed, NULL for none */
	const char *instance;
	const char *name_prefix;	/* config_name_prefix; NULL: the instance */
	const char *state_dir;
	const char *router_error_log;	/* the operator's setting, never the specs repo's */
	const char *policy_file;	/* the operator's policy file, NULL: the built-in policy */
	const struct spec_policy *policy;	/* what loads check against: borrowed, or own_policy */
	struct spec_policy *own_policy;
	const char *const *labels;
	size_t n_labels;
	int prune;
	int applies;			/* the command applies what it loads (apply, run on a folder): no promotion gate then */
	char *state_path;
	struct gitsrc *src;		/* --repo mode, after engine_cli_load */
	char commit[GITSRC_OID_HEX];	/* --repo mode: the commit loaded (or refused); "" for a folder */
	char previous[GITSRC_OID_HEX];	/* --repo mode: the mirror's head before the fetch; "" when none */
	char *problems;			/* --repo mode: every diagnostic of a commit whose specs do not load */
	char *endpoint;			/* after engine_cli_load: the Cluster's endpoint, which connect reaches */
};

void engine_cli_init(struct engine_cli *c);
void engine_cli_release(struct engine_cli *c);
/*
 * After the settings are read (cfg, kept for c's life): the positional
 * arguments (at most one PATH), the policy, the state folder made; cfg NULL
 * leaves the fields set by the caller.
 */
int engine_cli_finish(struct engine_cli *c, const struct config *cfg, int argc, char **argv, struct error **err);
/* The Docker client's settings from the table: host, TLS, the reconcile's deadline. */
void engine_cli_docker_config(struct docker_config *d, const struct config *cfg);
/* The endpoint a set runs on: its Cluster's (one), else "local". */
const char *engine_cli_set_endpoint(const struct spec_set *set);
/*
 * The Docker client's settings for an endpoint: "local" is the table's
 * docker-host (and its TLS settings); another is the one the policy lists,
 * its url and TLS folder (certPath as DOCKER_CERT_PATH), with the table's
 * deadlines. ERR_INVALID for an endpoint the policy does not list. d's
 * strings are borrowed from cfg and p.
 */
int engine_cli_endpoint_config(struct docker_config *d, const struct config *cfg, const struct spec_policy *p,
			       const char *endpoint, struct error **err);
/*
 * Loads and checks the specs (every diagnostic printed to stderr as
 * file:line:col) from the folder, or fetches the repo and reads a snapshot
 * of its head. *out is a finished set with no diags.
 */
int engine_cli_load(struct engine_cli *c, struct spec_set **out, struct error **err);
/*
 * The clients of a set's endpoints (its Cluster's, in order) for the
 * engine: the first is the caller's (engine_cli_connect's), the others are
 * made here, each with its own settings (engine_cli_endpoint_config),
 * version negotiation, breaker and bulkheads.
 */
struct engine_cli_hosts {
	struct engine_endpoint *ep;	/* names point into names: they outlive the set they came from */
	char **names;
	size_t n;
};
/* "local" alone when the set names none. An endpoint whose client cannot be made is an error naming it. */
int engine_cli_hosts_make(struct engine_cli_hosts *h, struct loop *l, const struct config *cfg,
			  const struct spec_policy *p, const struct spec_set *set, struct docker *first,
			  struct error **err);
/* Frees the clients made (not the first) and h's arrays. */
void engine_cli_hosts_release(struct engine_cli_hosts *h);
/* The endpoints a set runs on, by name, one string ("a,b,c"): the daemon makes its engine anew when it changes. */
char *engine_cli_set_endpoints_key(const struct spec_set *set);

/* What making the engine anew on another endpoint takes (the daemon's). */
struct engine_cli_endpoint {
	struct loop *loop;
	const struct config *cfg;
	const struct spec_policy *policy;
	struct http_client *http;
	const struct engine_options *eo;
};
/*
 * Replaces *d, *hosts and *e by Docker clients for the set's endpoints (the
 * first's in *d) and an engine on them, as a restart would: the new engine
 * reads the state file; what runs on an endpoint left behind is left
 * running. When the new ones cannot be made, everything stays as it was.
 */
int engine_cli_use_endpoint(const struct engine_cli_endpoint *ce, const struct spec_set *set, struct docker **d,
			    struct engine_cli_hosts *hosts, struct engine **e, struct error **err);
/* Makes the loop, the Docker client (of the endpoint the last load named) and the HTTP client for probes. */
int engine_cli_connect(struct engine_cli *c, struct loop **l, struct docker **d, struct http_client **h,
		       struct error **err);
/*
 * Loads a set from a snapshot of the mirror at commit (NULL: head), for
 * environment (NULL: none), checked
 * against policy (NULL: the built-in one): for `run`. When the specs do not
 * load, *problems (if given) receives every diagnostic, one per line (the
 * caller frees it), for the note on the refused commit.
 */
int engine_cli_load_snapshot(struct gitsrc *src, const char *commit, const char *specs_path,
			     const char *environment, const struct spec_policy *policy, struct spec_set **out,
			     char **problems, struct error **err);
/* Reads the policy file (policy-file) into c->policy; engine_cli_finish calls it. */
int engine_cli_load_policy(struct engine_cli *c, struct error **err);

#endif
