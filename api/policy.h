/* The operator's policy: what the specs repo may ask of the hosts, parsed from a YAML file and checked against a spec set. */
#ifndef AURIGA_POLICY_H
#define AURIGA_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/*
 * The policy belongs to whoever runs the controller, not to the specs repo:
 * a committer who could widen it would be root on every host, since auriga
 * holds the Docker socket. It is read from the operator's policy file
 * (`--policy-file`); without one the built-in policy applies, which denies
 * every escalation: no privileged containers, no host paths, no host or
 * `container:` network, no foreign network, no added capability, and only
 * the built-in router settings. Images, replicas, memory and CPU are open
 * unless the policy bounds them.
 *
 * The repo's Cluster may narrow the policy (spec.policy.allowPrivileged:
 * false, allowHostBindMounts: false), never widen it: a spec asking for more
 * is refused at its field, naming the policy setting that forbids it.
 *
 * Both functions here are pure: the caller reads the file.
 */

struct spec_policy_router {
	char **config_paths;		/* NULL: the built-in /etc/nginx/conf.d/auriga.conf only */
	size_t n_config_paths;
	char ***reload_commands;	/* NULL: the built-in nginx -s reload only */
	size_t *n_reload_command;	/* words of each command */
	size_t n_reload_commands;
	char **containers;		/* reload by signalling one of these; none by default */
	size_t n_containers;
	char **listen_addresses;	/* NULL: the built-in 127.0.0.1 only */
	size_t n_listen_addresses;
	int set;			/* the file has a router section */
};

/* The endpoint every Cluster has without naming one: the operator's docker-host setting. */
#define SPEC_ENDPOINT_LOCAL "local"
#define SPEC_ENDPOINT_LOCAL_URL "unix:///var/run/docker.sock"

/* A Docker endpoint the operator lets a Cluster name, besides "local". */
struct spec_policy_endpoint {
	char *name;
	char *url;		/* unix:///path or tcp://host:port */
	char *cert_path;	/* tcp:// only (and required there): ca.pem, cert.pem, key.pem, as DOCKER_CERT_PATH */
	char *address;		/* where its published ports are reached; NULL: the url's host */
	int line, col;		/* of the entry in the file (of certPath when given), for checks of the folder */
};

struct spec_policy {
	char *file;		/* the file it came from; NULL for the built-in policy */
	int privileged;
	char **host_paths;	/* allowed prefixes, by path component */
	size_t n_host_paths;
	int host_network;
	int container_network;
	char **networks;	/* networks auriga does not own that templates may join */
	size_t n_networks;
	char **capabilities;	/* that a template may add, without CAP_, upper case */
	size_t n_capabilities;
	char **images;		/* allowed image prefixes; images_set == 0: any image */
	size_t n_images;
	int images_set;
	int require_digest;	/* image references must carry @sha256:<64 hex> */
	long max_replicas;	/* -1: no bound */
	int64_t max_memory;	/* bytes per container, 0: no bound */
	int64_t max_cpu_millis;	/* per container, 0: no bound */
	struct spec_policy_router router;
	struct spec_policy_endpoint *endpoints;	/* besides "local"; none by default */
	size_t n_endpoints;
	/* "local"'s url: the docker-host setting, given by the controller; NULL: SPEC_ENDPOINT_LOCAL_URL. */
	char *local_url;
};

/* The built-in policy (every escalation denied). */
void spec_policy_init(struct spec_policy *p);
void spec_policy_release(struct spec_policy *p);
const struct spec_policy *spec_policy_default(void);

/*
 * Parses the policy file's bytes (file names it in diags). Returns the number
 * of diags added, each `file:line:col: key: message`; on any, p is the
 * built-in policy again.
 */
size_t spec_policy_parse(struct spec_policy *p, const char *file, const char *data, size_t len,
			 struct spec_diags *diags);

/*
 * Checks a defaulted set against the policy (NULL: the built-in one) while
 * its documents' positions are still at hand; called by spec_set_finish.
 * Resolves the Cluster's narrowing (allow_privileged and
 * allow_host_bind_mounts become what is in force) and fills the router
 * settings the Cluster left out with the policy's first listed value.
 * Returns the number of diags added.
 */
size_t spec_policy_check(const struct spec_policy *p, struct spec_set *set, struct spec_diags *diags);

/* A container template's fields the policy looks at, however it is held (a spec, or a state file's record). */
struct spec_policy_tmpl {
	int privileged;
	const char *network;		/* NULL: the engine's default */
	const char *image;
	char *const *cap_add;
	size_t n_cap_add;
	char *const *host_paths;	/* per volume: its bind-mount source, NULL for a named volume */
	size_t n_volumes;
	int64_t memory_limit;		/* bytes, 0: none */
	int64_t cpu_millis;		/* 0: none */
};

/*
 * Checks one template with no positions at hand, such as one taken back from
 * the state file for a rollback, against the policy (NULL: the built-in one)
 * and the Cluster's narrowing (allow_*: -1 says nothing, 0 narrows, as in
 * struct spec_cluster before spec_policy_check). Returns how many fields are
 * refused; the first refusal is written to msg as "revision REV: FIELD:
 * message" (msg[0] is '\0' when none is).
 */
size_t spec_policy_check_template(const struct spec_policy *p, int allow_privileged, int allow_host_bind_mounts,
				  const struct spec_policy_tmpl *t, const char *revision, char *msg, size_t n);
/*
 * The same for a template of the set's deployments (one taken back from the
 * state file): the set's policy, and the Cluster's allow* as they are in force.
 */
size_t spec_policy_check_set_template(const struct spec_set *set, const struct spec_policy_tmpl *t,
				      const char *revision, char *msg, size_t n);

/*
 * Checks a BackupPolicy against the policy (NULL: the built-in one) and the
 * set's Cluster, with diags at its fields: the Job at spec.job (image,
 * privileged, capabilities, resources; its network must be listed under
 * networks) and host_path (NULL for a volume) at spec.target.hostPath.
 * Returns how many fields are refused.
 */
size_t spec_policy_check_backup(const struct spec_policy *p, const struct spec_set *set, const struct spec_meta *m,
				const struct spec_container *job, const char *host_path, struct spec_diags *diags);
/* A BackupPolicy's spec.restore.database against the operator's limits (image, user, resources): refusals counted. */
size_t spec_policy_check_restore_db(const struct spec_policy *p, const struct spec_set *set, const struct spec_meta *m,
				    const struct spec_container *db, struct spec_diags *diags);

/* The endpoint of that name the policy lists (never "local"), or NULL. */
const struct spec_policy_endpoint *spec_policy_endpoint_find(const struct spec_policy *p, const char *name);
/* "local"'s url (the docker-host setting): local_url, or SPEC_ENDPOINT_LOCAL_URL. */
const char *spec_policy_local_url(const struct spec_policy *p);
/*
 * Where endpoint name's published ports are reached: the policy's address
 * for it, else its url's host (127.0.0.1 for a unix:// url); NULL for an
 * endpoint the policy does not have. The caller frees it.
 */
char *spec_policy_endpoint_address(const struct spec_policy *p, const char *name);
/* 1 when address a is this machine's loopback (127.0.0.1, ::1, localhost), or NULL. */
int spec_address_loopback(const char *a);
/* 1 when s is an IP address or a host name (no port), as an endpoint's address is written. */
int spec_policy_address_ok(const char *s);

/* 1 when the policy lets templates join the network name that auriga does not own. */
int spec_policy_network_allowed(const struct spec_policy *p, const char *name);
/* 1 when a Deployment of set names network name in its template: auriga's own, made for it. */
int spec_set_network_of_deployment(const struct spec_set *set, const char *name);

/* 1 when s is an absolute path with no empty, "." or ".." component and no trailing '/' (but "/"). */
int spec_policy_canonical_path(const char *s);

/* Where a setting comes from, for messages: "in FILE" or "in the built-in policy". */
const char *spec_policy_origin(const struct spec_policy *p, char *buf, size_t n);

#endif
