/* What `auriga plan`, `apply` and `rollback` share: options, loading the specs (folder or repo), reaching Docker. */
#ifndef AURIGA_ENGINE_CLI_H
#define AURIGA_ENGINE_CLI_H

#include <getopt.h>

#include "cmd/gitsrc_cli.h"
#include "error.h"
#include "source/gitsrc.h"
#include "policy.h"
#include "spec.h"

struct loop;
struct docker;
struct http_client;

enum {
	ENGINE_OPT_INSTANCE = 2000,
	ENGINE_OPT_LABEL,
	ENGINE_OPT_PRUNE,
	ENGINE_OPT_SPECS_PATH,
	ENGINE_OPT_DOCKER_HOST,
	ENGINE_OPT_JSON,
	ENGINE_OPT_TIMEOUT_TOTAL,
	ENGINE_OPT_NO_NOTES,
	ENGINE_OPT_ROUTER_ERROR_LOG,
	ENGINE_OPT_POLICY_FILE,
};

#define ENGINE_CLI_LONGOPTS                                                          \
	GITSRC_CLI_LONGOPTS,                                                         \
	{ "instance", required_argument, NULL, ENGINE_OPT_INSTANCE },                 \
	{ "label", required_argument, NULL, ENGINE_OPT_LABEL },                       \
	{ "prune", no_argument, NULL, ENGINE_OPT_PRUNE },                             \
	{ "specs-path", required_argument, NULL, ENGINE_OPT_SPECS_PATH },             \
	{ "docker-host", required_argument, NULL, ENGINE_OPT_DOCKER_HOST },           \
	{ "router-error-log", required_argument, NULL, ENGINE_OPT_ROUTER_ERROR_LOG }, \
	{ "policy-file", required_argument, NULL, ENGINE_OPT_POLICY_FILE }

#define ENGINE_CLI_HELP                                                                          \
	"  PATH                       a folder (or file) of specs; or, with --repo, the specs repo:\n" \
	GITSRC_CLI_HELP                                                                           \
	"  --specs-path DIR           the folder within the repo that holds the specs (default .)\n" \
	"  --instance NAME            this controller's name in the managed-by label ($AURIGA_INSTANCE,\n" \
	"                             default auriga); containers of other instances are never touched\n" \
	"  --state-dir DIR            also where the state file lives ($AURIGA_STATE_DIR,\n"            \
	"                             default /var/lib/auriga)\n"                                       \
	"  --label KEY=VALUE          an extra label on every container and volume (repeatable)\n"     \
	"  --prune                    remove containers of deployments no longer in the specs\n"       \
	"  --docker-host URL          unix:///path or tcp://host:port (default $DOCKER_HOST)\n"       \
	"  --router-error-log FILE    NGINX's error log, quoted when a router change is not served\n"  \
	"                             ($AURIGA_ROUTER_ERROR_LOG)\n"                                   \
	"  --policy-file FILE         the operator's policy: what the specs may ask of the hosts\n"   \
	"                             ($AURIGA_POLICY_FILE; without it every escalation is refused)\n"

#define ENGINE_CLI_MAX_LABELS 32

struct engine_cli {
	struct gitsrc_cli git;
	const char *path;		/* positional: a folder of specs */
	const char *specs_path;		/* within the repo */
	const char *instance;
	const char *state_dir;
	const char *docker_host;
	const char *router_error_log;	/* the operator's setting, never the specs repo's */
	const char *policy_file;	/* the operator's policy file, NULL: the built-in policy */
	const struct spec_policy *policy;	/* what loads check against: borrowed, or own_policy */
	struct spec_policy *own_policy;
	const char *labels[ENGINE_CLI_MAX_LABELS + 1];
	size_t n_labels;
	int prune;
	char *state_path;
	struct gitsrc *src;		/* --repo mode, after engine_cli_load */
	char commit[GITSRC_OID_HEX];	/* --repo mode: the commit loaded (or refused); "" for a folder */
	char previous[GITSRC_OID_HEX];	/* --repo mode: the mirror's head before the fetch; "" when none */
	char *problems;			/* --repo mode: every diagnostic of a commit whose specs do not load */
};

void engine_cli_init(struct engine_cli *c);
void engine_cli_release(struct engine_cli *c);
/* 1 when opt was one of ENGINE_CLI_LONGOPTS and handled, 0 when not ours, <0 on a bad value. */
int engine_cli_opt(struct engine_cli *c, int opt, const char *arg, struct error **err);
/* After option parsing: positional arguments (at most one PATH), defaults, the state folder. */
int engine_cli_finish(struct engine_cli *c, int argc, char **argv, struct error **err);
/*
 * Loads and checks the specs (every diagnostic printed to stderr as
 * file:line:col) from the folder, or fetches the repo and reads a snapshot
 * of its head. *out is a finished set with no diags.
 */
int engine_cli_load(struct engine_cli *c, struct spec_set **out, struct error **err);
/* Makes the loop, the Docker client and the HTTP client for probes. */
int engine_cli_connect(struct engine_cli *c, struct loop **l, struct docker **d, struct http_client **h,
		       struct error **err);
/*
 * Loads a set from a snapshot of the mirror at commit (NULL: head), checked
 * against policy (NULL: the built-in one): for `run`. When the specs do not
 * load, *problems (if given) receives every diagnostic, one per line (the
 * caller frees it), for the note on the refused commit.
 */
int engine_cli_load_snapshot(struct gitsrc *src, const char *commit, const char *specs_path,
			     const struct spec_policy *policy, struct spec_set **out, char **problems,
			     struct error **err);
/* Reads the policy file (flag, else $AURIGA_POLICY_FILE) into c->policy; engine_cli_finish calls it. */
int engine_cli_load_policy(struct engine_cli *c, struct error **err);

#endif
