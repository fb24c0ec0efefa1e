/* The spec model: the typed form of a specs repo snapshot, and how to load, default, check and hash it. */
#ifndef AURIGA_SPEC_H
#define AURIGA_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "kv.h"

/*
 * A snapshot of the specs repo is a set of Kubernetes-style documents
 * (apiVersion auriga.io/v1) of six kinds. Loading runs in stages:
 *
 *   spec_set_load_buffer                        YAML events -> position-carrying
 *       tree (bounded: depth, aliases, sizes) -> schema check against the CRDs
 *       in crds/ -> typed structs below
 *   spec_set_finish                             defaults, then semantic checks
 *       that a schema cannot express (references between documents, dependsOn
 *       cycles, port clashes, budgets, policy)
 *
 * Every problem is collected as a struct spec_diag, never stop-at-first; the
 * caller decides that the set is usable when diags->n == 0 after
 * spec_set_finish. Every string below is owned by the set and lives until
 * spec_set_free. Optional strings are NULL when absent and not defaulted.
 * After spec_set_finish every documented default is filled in.
 */

#define SPEC_API_VERSION "auriga.io/v1"

/* Where a document or field came from: 1-based line and column. */
struct ynode;

struct spec_pos {
	const char *file;
	int line;
	int col;
};

enum spec_kind {
	SPEC_CLUSTER,
	SPEC_DEPLOYMENT,
	SPEC_SERVICE,
	SPEC_JOB,
	SPEC_ANALYSIS_TEMPLATE,
	SPEC_BACKUP_POLICY,
	SPEC_KIND_COUNT
};

/* "Cluster", "Deployment", ...; NULL past the end. */
const char *spec_kind_name(enum spec_kind k);

/* A positioned problem, printed as `file:line:col: Kind/name: path: message`. */
struct spec_diag {
	char *file;	/* NULL when not about a file (then line and col are 0) */
	int line, col;
	char *kind;	/* NULL before the kind is known (syntax errors) */
	char *name;	/* metadata.name, "?" when missing */
	char *path;	/* "spec.replicas", NULL for the whole document */
	char *msg;
	size_t seq;	/* insertion order, keeps sorting stable */
};

/*
 * At most SPEC_DIAGS_MAX diags are kept: a hostile file can ask for one per
 * node, and the rest are only counted (dropped), for one closing line.
 */
#define SPEC_DIAGS_MAX 1000

struct spec_diags {
	struct spec_diag *v;
	size_t n, cap;
	size_t dropped;	/* diags past SPEC_DIAGS_MAX, counted and not kept */
};

void spec_diags_init(struct spec_diags *d);
void spec_diags_release(struct spec_diags *d);
/* Adds a diag; file, kind, name, path may be NULL. */
void spec_diags_add(struct spec_diags *d, const struct spec_pos *pos, const char *kind,
		    const char *name, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* Sorts by file, line, column, then insertion order. */
void spec_diags_sort(struct spec_diags *d);
/* Formats one diag as a single line without newline; the caller frees the result. */
char *spec_diag_format(const struct spec_diag *d);
/* Every diag added, kept or dropped. */
size_t spec_diags_total(const struct spec_diags *d);
/*
 * The closing line when diags were dropped ("... and 319,000 more errors"),
 * NULL when none were; the caller frees the result.
 */
char *spec_diags_format_dropped(const struct spec_diags *d);

/* An integer or a percentage ("25%"), as in Kubernetes' IntOrString. */
struct spec_intpct {
	int set;
	int percent;	/* value is a percentage */
	long value;
};

/*
 * Resolves an int-or-percent against total: percentages round up when
 * round_up (maxSurge) and down otherwise (maxUnavailable), as Kubernetes does.
 */
long spec_intpct_resolve(const struct spec_intpct *v, long total, int round_up);

/* A port written as a name ("http") or a number (9003). */
struct spec_port_ref {
	char *name;	/* NULL when given as a number */
	int number;
};

struct spec_meta {
	char *name;
	struct kv *labels;
	size_t n_labels;
	struct kv *annotations;
	size_t n_annotations;
	struct spec_pos pos;	/* the document's first line */
	int invalid;		/* the document failed its schema: only its name is trustworthy */
	int defaulted;		/* built by auriga, not read from a file (the default Cluster) */
	const struct ynode *node;	/* private: the document, for positions */
	/* private: an environment's patch merged into it, and its file, for the positions of what it set */
	const struct ynode *patch;
	const char *patch_file;
};

/* ---- Cluster ---- */

struct spec_tls {
	char *ca_file, *cert_file, *key_file;	/* all NULL when TLS is off */
};

/* A Docker Engine endpoint: "unix:///var/run/docker.sock" or "tcp://host:2376" with TLS. */
/* What runs the replicas at an endpoint: its containers, made one by one by auriga, or Swarm's services. */
enum spec_engine { SPEC_ENGINE_CONTAINERS, SPEC_ENGINE_SWARM };

struct spec_endpoint {
	char *name;
	enum spec_engine engine;	/* "containers" (default) or "swarm": a manager, a replicated service per Deployment */
	char *url;
	struct spec_tls tls;
	struct kv *labels;	/* zone, rack, ...: what placements select and spread by */
	size_t n_labels;
	char *address;		/* where its published ports are reached; NULL: the policy's (spec_policy_endpoint_address) */
};

enum spec_router_type { SPEC_ROUTER_NGINX };

struct spec_router {
	enum spec_router_type type;
	char *config_path;	/* default "/etc/nginx/conf.d/auriga.conf" */
	char **reload_command;	/* default {"nginx", "-s", "reload"} unless container is set */
	size_t n_reload_command;
	char *container;	/* reload by signalling this container instead (SIGHUP) */
	char *listen_address;	/* default "127.0.0.1" */
};

struct spec_cluster {
	struct spec_meta meta;
	struct spec_endpoint *endpoints;	/* default: one "local", unix:///var/run/docker.sock */
	size_t n_endpoints;
	char **role_order;			/* default slim, business, validator */
	size_t n_role_order;
	struct spec_router router;
	char *notes_ref;			/* NULL: the operator's notes ref (refs/notes/auriga) */
	int push_notes;				/* -1: the operator's setting (push) */
	/*
	 * The Cluster narrows the operator's policy (policy.h), never widens it:
	 * -1 when it says nothing; after spec_set_finish, what is in force.
	 */
	int allow_privileged;
	int allow_host_bind_mounts;
};

/* ---- the container template (Deployment and Job) ---- */

enum spec_protocol { SPEC_PROTO_TCP, SPEC_PROTO_UDP };

struct spec_port {
	char *name;		/* may be NULL */
	int container_port;	/* 1..65535 */
	int host_port;		/* 0 = not published; replica i publishes host_port + i */
	char *host_ip;		/* default "127.0.0.1" when host_port is set */
	enum spec_protocol protocol;	/* default TCP */
};

struct spec_volume {
	char *name;
	char *mount_path;
	char *host_path;	/* a bind mount when set (policy: allowHostBindMounts) */
	int per_replica;	/* a named volume per replica: <name>-<ordinal> */
	int read_only;
};

enum spec_restart { SPEC_RESTART_ALWAYS, SPEC_RESTART_ON_FAILURE, SPEC_RESTART_NEVER };

struct spec_container {
	char *image;
	char **command;
	size_t n_command;
	char **args;
	size_t n_args;
	struct kv *env;	/* sorted by key after spec_set_finish */
	size_t n_env;
	char **env_files;	/* paths relative to the specs repo root; read by the controller */
	size_t n_env_files;
	struct spec_pos *env_files_pos;	/* each entry's line and column (the file is the object's) */
	struct spec_port *ports;
	size_t n_ports;
	struct spec_volume *volumes;
	size_t n_volumes;
	int64_t memory_limit;	/* bytes, 0 = none, -1 = given but not a size (a diag says so) */
	int64_t cpu_millis;	/* millicores, 0 = none, -1 = given but not a CPU amount (a diag says so) */
	enum spec_restart restart_policy;	/* default Always for Deployments, Never for Jobs */
	struct kv *labels;	/* sorted by key after spec_set_finish */
	size_t n_labels;
	char *network;		/* Docker network name; NULL = the engine's default */
	struct spec_pos network_pos;	/* its line and column (the file is the object's), for the engine's refusals */
	int privileged;
	char **cap_add;		/* capabilities.add: Linux capabilities added (policy: capabilities) */
	size_t n_cap_add;
	char *user;
	/*
	 * Deployments only: the database schema version this template needs
	 * ("003", "1.2"); NULL when none. Told to the hook Jobs as
	 * AURIGA_SCHEMA_FROM and AURIGA_SCHEMA_TO; part of the revision.
	 */
	char *schema_version;
};

/* ---- probes ---- */

enum spec_probe_kind { SPEC_PROBE_NONE, SPEC_PROBE_HTTP, SPEC_PROBE_TCP, SPEC_PROBE_EXEC };

struct spec_probe {
	enum spec_probe_kind kind;	/* NONE: this probe is not configured */
	char *http_path;		/* default "/" */
	int http_https;			/* scheme HTTPS */
	struct kv *http_headers;
	size_t n_http_headers;
	struct spec_port_ref port;	/* httpGet and tcpSocket */
	char **exec_command;
	size_t n_exec_command;
	int initial_delay_seconds;	/* default 0 */
	int period_seconds;		/* default 10 */
	int timeout_seconds;		/* default 1 */
	int success_threshold;		/* default 1 (must be 1 for liveness and startup) */
	int failure_threshold;		/* default 3 */
};

struct spec_probes {
	struct spec_probe startup, readiness, liveness;
};

/* ---- strategies ---- */

enum spec_strategy_type {
	SPEC_STRATEGY_ROLLING,	/* "RollingUpdate" (alias "Rolling") */
	SPEC_STRATEGY_RECREATE,
	SPEC_STRATEGY_BLUEGREEN,
	SPEC_STRATEGY_CANARY
};

enum spec_step_kind { SPEC_STEP_SET_WEIGHT, SPEC_STEP_PAUSE, SPEC_STEP_ANALYSIS };

struct spec_canary_step {
	enum spec_step_kind kind;
	int weight;		/* SET_WEIGHT: 0..100 */
	int64_t pause_ms;	/* PAUSE: -1 = until promoted */
	char **templates;	/* ANALYSIS: AnalysisTemplate names */
	size_t n_templates;
	struct spec_pos pos;
};

struct spec_strategy {
	enum spec_strategy_type type;		/* default Rolling */
	struct spec_intpct max_unavailable;	/* Rolling: default 25% */
	struct spec_intpct max_surge;		/* Rolling: default 25% */
	int min_ready_seconds;			/* default 0 */
	int progress_deadline_seconds;		/* default 600 */
	/* BlueGreen */
	char *active_service;			/* a Service name (required) */
	char *preview_service;			/* optional Service name */
	int auto_promotion_enabled;		/* default 1 */
	char **pre_promotion_analysis;		/* AnalysisTemplate names */
	size_t n_pre_promotion_analysis;
	char *smoke_test_job;			/* a Job run against the new slot before the flip */
	int post_promotion_window_seconds;	/* default 300: watch after the flip */
	int scale_down_delay_seconds;		/* default 30: old slot kept for fast rollback */
	/* Canary */
	struct spec_canary_step *steps;
	size_t n_steps;
};

/* ---- Deployment ---- */

struct spec_budget {
	struct spec_intpct min_available;	/* at most one of the two is set */
	struct spec_intpct max_unavailable;
	int defaulted;	/* filled in by auriga: validators get the BFT f = (replicas-1)/3 */
};

/* What a failed postDeploy hook does to its deployment (hooks.postDeployFailure). */
enum spec_post_failure {
	SPEC_POST_ROLLBACK,	/* Rollback (the default): back to the last healthy revision */
	SPEC_POST_MARK,		/* Mark: the new revision keeps running, the deployment is marked failed */
};

struct spec_hooks {
	char **pre_deploy, **post_deploy, **on_rollback;	/* Job names */
	size_t n_pre_deploy, n_post_deploy, n_on_rollback;
	enum spec_post_failure post_failure;
	int post_failure_set;	/* postDeployFailure was written */
};

/*
 * Which of the Cluster's endpoints run a deployment's replicas, and how they
 * spread (api/placement.h assigns each ordinal its endpoint).
 */
struct spec_placement {
	char **endpoints;	/* names; none: every endpoint of the Cluster */
	size_t n_endpoints;
	struct kv *selector;	/* endpointSelector: labels an endpoint must carry, all of them */
	size_t n_selector;
	int max_per_endpoint;	/* 0: no bound; -1 unset. Validators default to one per endpoint where there are enough */
	int max_defaulted;	/* max_per_endpoint was filled in by auriga */
	char *spread_by;	/* a label key: replicas spread evenly over its values; NULL: over endpoints */
	/*
	 * moveAfter: how long an endpoint must have been down before the
	 * replicas there are placed anew elsewhere; -1 unset: never.
	 */
	int64_t move_after_ms;
	int set;		/* the spec has a placement */
};

struct spec_deployment {
	struct spec_meta meta;
	char *role;		/* default "" */
	int phase;		/* -1 = from the Cluster's role order */
	char **depends_on;
	size_t n_depends_on;
	int replicas;		/* default 1 */
	struct spec_container tmpl;
	/*
	 * NULL when the spec names no probes (most of a large fleet's): read
	 * through spec_deployment_probes, which gives the three unset then.
	 */
	struct spec_probes *probes;
	struct spec_strategy strategy;
	int auto_rollback;	/* default 1 */
	struct spec_budget budget;
	struct spec_hooks hooks;
	struct spec_placement placement;
};

/* ---- Service ---- */

struct spec_service {
	struct spec_meta meta;
	char *deployment;		/* the Deployment behind it (required) */
	int port;			/* listen port at the router */
	char *upstream;			/* NGINX upstream name, default metadata.name */
	struct spec_port_ref target_port;	/* default: the deployment's first port */
	int max_fails;			/* default 1 (NGINX max_fails) */
	int fail_timeout_seconds;	/* default 10 (NGINX fail_timeout) */
};

/* ---- Job ---- */

struct spec_job {
	struct spec_meta meta;
	struct spec_container tmpl;	/* restart policy defaults to Never */
	int active_deadline_seconds;	/* default 600 */
	int backoff_limit;		/* retries, default 0 */
};

/* ---- AnalysisTemplate ---- */

enum spec_metric_provider { SPEC_METRIC_PROMETHEUS, SPEC_METRIC_SCRAPE, SPEC_METRIC_JOB };
enum spec_cmp { SPEC_CMP_GT, SPEC_CMP_GE, SPEC_CMP_LT, SPEC_CMP_LE, SPEC_CMP_EQ, SPEC_CMP_NE };

struct spec_metric {
	char *name;
	enum spec_metric_provider provider;
	char *prometheus_address;	/* default "http://127.0.0.1:9090" */
	char *query;			/* PromQL, a single scalar/vector result */
	struct spec_port_ref scrape_port;	/* SCRAPE: the app's metrics port */
	char *scrape_path;		/* default "/metrics" */
	char *scrape_metric;		/* sample name to read */
	struct spec_pos scrape_metric_pos;	/* its line and column (the file is the object's), for checks made later */
	char *job_name;			/* JOB: the Job run for each measurement */
	char *job_figure;		/* JOB: the figure judged (NAME=NUMBER in its output); NULL: its exit code */
	enum spec_cmp fail_op;		/* the metric fails when (value fail_op fail_value) */
	double fail_value;
	int64_t interval_ms;		/* default 30 s */
	int count;			/* measurements, default 1 */
	int failure_limit;		/* failed measurements tolerated, default 0 */
	int inconclusive_limit;		/* inconclusive ones tolerated, default failure_limit */
};

struct spec_analysis_template {
	struct spec_meta meta;
	struct spec_metric *metrics;
	size_t n_metrics;
};

/* ---- Environment: an overlay over a base (spec_env.c) ---- */

#define SPEC_ENVIRONMENT_KIND "Environment"

struct spec_env_patch {
	char *kind, *name;		/* the target */
	const struct ynode *patch;	/* private: the merge patch, until spec_set_finish */
	struct spec_pos pos;		/* the patch's target */
};

struct spec_environment {
	struct spec_meta meta;
	char **resources;		/* relative to the folder of the Environment's file */
	size_t n_resources;
	struct spec_env_patch *patches;
	size_t n_patches;
	char *promotion_after;		/* promotion.after: NULL when none */
	int approval_required;		/* promotion.approval: required */
};

/* ---- the set ---- */

struct spec_schemas;	/* the CRD schemas, see schema.h */
struct spec_backup_policy;	/* see spec_backup.h */
struct spec_policy;	/* the operator's policy, see policy.h */

struct spec_set {
	struct spec_cluster **clusters;	/* after spec_set_finish: exactly one (a default if none) */
	size_t n_clusters;
	struct spec_deployment **deployments;
	size_t n_deployments;
	struct spec_service **services;
	size_t n_services;
	struct spec_job **jobs;
	size_t n_jobs;
	struct spec_analysis_template **analysis_templates;
	size_t n_analysis_templates;
	struct spec_backup_policy **backup_policies;
	size_t n_backup_policies;
	/*
	 * The operator's policy spec_set_finish checks against (NULL: the built-in
	 * one, denying every escalation); set it before, and keep it alive as long
	 * as the set.
	 */
	const struct spec_policy *policy;
	/*
	 * The environment the set is for (spec_set_follow), after
	 * spec_set_finish: NULL when it follows none.
	 */
	const struct spec_environment *environment;
	/*
	 * After spec_set_finish: what loads and runs but the operator should
	 * know, positioned as diags are (a placement that cannot survive the
	 * loss of one host). Never a reason to refuse the set.
	 */
	struct spec_diags warnings;
	/* private */
	const struct spec_schemas *schemas;
	struct spec_priv *priv;
	size_t caps[SPEC_KIND_COUNT];
	size_t n_files;
};

/* Hostile-input bounds: libyaml has none of its own. */
struct spec_limits {
	size_t max_depth;		/* nesting, default 64 */
	size_t max_aliases;		/* per file, default 256 */
	size_t max_nodes;		/* per document with aliases expanded, default 100000 */
	size_t max_scalar;		/* bytes, default 256 KiB */
	size_t max_document;		/* bytes, default 1 MiB */
	size_t max_file;		/* bytes per file, default 4 MiB */
	size_t max_documents;		/* per file, default 1000 */
	size_t max_files;		/* per directory walk, default 10000 */
	size_t max_dir_depth;		/* default 32 */
	size_t max_total_bytes;		/* every file of one load together, default 16 MiB */
	size_t max_total_nodes;		/* every document of one load, aliases expanded, default 2000000 (10,000 Deployments of hack/bench/bench_spec.sh are about 1,100,000) */
};

const struct spec_limits *spec_limits_default(void);

/*
 * schemas NULL: the CRDs embedded in the binary at build time. limits NULL:
 * the defaults.
 */
void spec_set_init(struct spec_set *set, const struct spec_schemas *schemas,
		   const struct spec_limits *limits);
void spec_set_release(struct spec_set *set);
/* Releases and frees a set made with xmalloc. */
void spec_set_free(struct spec_set *set);

/*
 * Decodes every document in data (path names it in diags) into set. Returns
 * the number of diags added (0 = this buffer was fine so far; references are
 * only checked by spec_set_finish).
 */
size_t spec_set_load_buffer(struct spec_set *set, const char *path, const char *data, size_t len,
			    struct spec_diags *diags);
/*
 * The set follows environment name (NULL: none), before anything is loaded:
 * spec_set_finish keeps the objects of that Environment's resources and its
 * own folder, merges its patches in, and sets set->environment. An
 * environment the specs do not have is a diag, as are Environments in specs
 * loaded for none.
 */
void spec_set_follow(struct spec_set *set, const char *name);
/* The bounds the set was made with. */
const struct spec_limits *spec_set_limits(const struct spec_set *set);
/* Counts one more file read into the set by a folder walk: 0, or -1 once past max_files. */
int spec_set_count_file(struct spec_set *set);
/*
 * Adds the default Cluster when none was given, fills in defaults, then runs
 * the semantic checks. Returns the number of diags added.
 */
size_t spec_set_finish(struct spec_set *set, struct spec_diags *diags);

/* Lookups by metadata.name; NULL when absent. */
struct spec_cluster *spec_set_cluster(const struct spec_set *set);
/* The Cluster's one endpoint is a Swarm manager (engine: swarm): its Deployments are services. */
int spec_set_swarm(const struct spec_set *set);
struct spec_deployment *spec_set_deployment(const struct spec_set *set, const char *name);
struct spec_service *spec_set_service(const struct spec_set *set, const char *name);
struct spec_job *spec_set_job(const struct spec_set *set, const char *name);
struct spec_analysis_template *spec_set_analysis_template(const struct spec_set *set,
							  const char *name);
struct spec_backup_policy *spec_set_backup_policy(const struct spec_set *set, const char *name);
/* The container port a port reference names in a template; 0 when none. */
int spec_container_port(const struct spec_container *c, const struct spec_port_ref *ref);

/*
 * The phase a deployment rolls out in (0-based): its `phase` when set, else
 * the index of its role in the Cluster's roleOrder; roles not listed come
 * after, one phase per role in name order.
 */
int spec_deployment_phase_index(const struct spec_set *set, const struct spec_deployment *dep);
/* The number of phases (1 + the largest phase index), 0 with no deployments. */
int spec_set_phase_count(const struct spec_set *set);
/*
 * How many consecutive host ports from each port's hostPort a deployment may
 * hold at once: replicas (Recreate), replicas + maxSurge (Rolling), twice the
 * replicas (BlueGreen and Canary, two slots side by side).
 */
int spec_deployment_host_port_span(const struct spec_deployment *dep);

/*
 * The revision: SHA-256 over the canonical JSON (sorted keys, compact) of
 * everything that becomes container configuration: image, command, args,
 * env (sorted), env file paths, ports, volumes, resources, restart policy,
 * labels, network, privileged, user. Replicas, strategy, probes (run by the
 * controller, not the engine), budgets and hooks do not change it. Written
 * as 64 lowercase hex digits + NUL; SPEC_REVISION_SHORT of them is the
 * short form shown to people.
 */
#define SPEC_REVISION_HEX 65
#define SPEC_REVISION_SHORT 12
void spec_deployment_revision(const struct spec_deployment *dep, char out_hex[SPEC_REVISION_HEX]);
void spec_job_revision(const struct spec_job *job, char out_hex[SPEC_REVISION_HEX]);
/*
 * What a release's verification is: SHA-256 over the canonical JSON of the
 * AnalysisTemplates named (in that order: their metrics, thresholds, queries
 * and providers) and of the Jobs their metrics run (template, deadline,
 * retries); a template the set does not have counts as null. Neither names
 * of files nor positions count. Written as SPEC_REVISION_HEX (with NUL).
 */
void spec_analysis_hash(const struct spec_set *set, char *const *templates, size_t n,
			char out_hex[SPEC_REVISION_HEX]);
/* The canonical JSON text the revision hashes; the caller frees it. */
char *spec_container_canonical_json(const struct spec_container *c);

/*
 * The whole model as JSON (jansson json_t *, returned as void * so this header
 * needs no jansson): {"clusters": [...], "deployments": [...], "services",
 * "jobs", "analysisTemplates"}, field names as in the YAML, defaults filled
 * in, each deployment with its "revision" and "phase".
 */
void *spec_set_to_json(const struct spec_set *set);
void *spec_deployment_to_json(const struct spec_set *set, const struct spec_deployment *dep);
/*
 * SHA-256 over spec_set_to_json's content, one object at a time (the whole
 * model is never held as JSON): equal for two sets when their models are.
 */
void spec_set_digest(const struct spec_set *set, char out_hex[SPEC_REVISION_HEX]);

/* Go-style durations ("30s", "1m30s", "250ms", "1.5h") to milliseconds; -1 on junk. */
int64_t spec_parse_duration_ms(const char *s);
/* Kubernetes quantities: memory ("512Mi", "2G", "1000") in bytes, CPU ("500m", "1.5", "2") in millicores; -1 on junk. */
int64_t spec_parse_memory(const char *s);
int64_t spec_parse_cpu_millis(const char *s);
/* The largest CPU limit, in millicores (a million cores): Docker takes nanocores in 64 bits. */
#define SPEC_CPU_MILLIS_MAX 1000000000LL

/* Whether two deployments' probes are the same settings (a probe runner made for one serves the other). */
int spec_probes_equal(const struct spec_probes *a, const struct spec_probes *b);
/* d's probes: its own, or the three unset (SPEC_PROBE_NONE) when it names none. */
const struct spec_probes *spec_deployment_probes(const struct spec_deployment *d);

#endif
