/* Desired state: per deployment, the revision, replica count, phase and container template a spec set asks for. */
#ifndef AURIGA_DESIRED_H
#define AURIGA_DESIRED_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "docker/docker_spec.h"
#include "error.h"
#include "spec.h"
#include "strmap.h"

struct obs_deployment;

/*
 * The container template, detached from the spec set that produced it so it
 * can be written to the state file and read back after a restart: that is
 * how a rollback recreates the last healthy revision when the spec set in
 * hand no longer describes it. Everything here becomes container
 * configuration; the revision is the spec's hash of the same fields.
 */
struct desired_port {
	char *name;		/* may be NULL */
	int container_port;
	int host_port;		/* 0: an ephemeral port on host_ip */
	char *host_ip;		/* "127.0.0.1" unless the spec says otherwise */
	int udp;
};

struct desired_volume {
	char *name;
	char *mount_path;
	char *host_path;	/* a bind mount when set */
	int per_replica;	/* volume <deployment>-<name>-<ordinal> */
	int read_only;
};

struct desired_tmpl {
	char *image;
	char **entrypoint;	/* the spec's command; NULL-terminated or NULL */
	char **cmd;		/* the spec's args; NULL-terminated or NULL */
	char **env;		/* "KEY=value", NULL-terminated */
	struct desired_port *ports;
	size_t n_ports;
	struct desired_volume *volumes;
	size_t n_volumes;
	int64_t memory_bytes;
	int64_t cpu_millis;
	char *restart;		/* "always", "on-failure", "no" */
	struct kv *labels;	/* the template's own labels */
	size_t n_labels;
	char *network;
	int privileged;
	char **cap_add;		/* capabilities added, NULL-terminated or NULL */
	char *user;
	char *schema_version;	/* the database schema version the revision needs, or NULL */
	/*
	 * An exec readiness probe is also given to Docker as the container's
	 * HEALTHCHECK, so `docker ps` and Docker's events show what auriga's
	 * probes see. NULL: the image's own health check stays.
	 */
	char **health_cmd;
	int64_t health_interval_ms, health_timeout_ms, health_start_ms;
	int health_retries;
};

void desired_tmpl_release(struct desired_tmpl *t);
void desired_tmpl_copy(struct desired_tmpl *dst, const struct desired_tmpl *src);
/* From a spec template. */
void desired_tmpl_from_spec(struct desired_tmpl *t, const struct spec_container *c);
/* To and from JSON (the state file). from_json returns 0 or ERR_INVALID with *err. */
json_t *desired_tmpl_to_json(const struct desired_tmpl *t);
int desired_tmpl_from_json(struct desired_tmpl *t, const json_t *j, struct error **err);

/*
 * The differences between two templates, one line each ("image:
 * auriga-demo-node:v1 -> auriga-demo-node:v2"), appended to *lines (n
 * entries, NULL-terminated array of malloc'd strings).
 */
void desired_tmpl_diff(const struct desired_tmpl *from, const struct desired_tmpl *to, char ***lines,
		       size_t *n);

struct desired_deployment {
	char *name;
	char *role;
	int phase;			/* spec_deployment_phase_index */
	char **depends_on;
	size_t n_depends_on;
	int replicas;
	enum spec_strategy_type strategy;
	long max_surge;			/* resolved against replicas (Rolling) */
	long max_unavailable;		/* resolved; the disruption budget already applied */
	int min_ready_seconds;
	int progress_deadline_seconds;
	int auto_rollback;
	char revision[SPEC_REVISION_HEX];
	/*
	 * What a verification of this release verifies: the revision, a dot,
	 * and the hash of the AnalysisTemplates (and their Jobs) its strategy
	 * names (desired_verify_key); made with the revision. NULL for a
	 * rolling or recreate release, which no analysis verifies.
	 */
	char *verify_key;
	struct desired_tmpl tmpl;
	/* Borrowed from the spec set (probes and named ports); NULL for a template read back from state. */
	const struct spec_deployment *spec;
};

struct desired {
	char *instance;
	char *commit;		/* the specs commit, "" when applying a folder */
	struct desired_deployment *v;	/* sorted by phase, then name */
	size_t n;
	int n_phases;
	struct kv *extra_labels;	/* put on every container and volume (tests, operators) */
	size_t n_extra_labels;
	struct strmap by_name;	/* name -> index in v, made by desired_build */
	/*
	 * Put before the names of the containers and networks auriga makes, so
	 * that instances share an engine: the instance by default, "" for none.
	 */
	char *name_prefix;
	char **external_networks;	/* the operator's policy's networks: joined by their own name */
};

/* The templates dd's strategy names (borrowed; each once per step), into *out (malloc'd); how many. */
size_t desired_verify_templates(const struct desired_deployment *dd, char ***out);
/* dd's verify_key under set: its revision and spec_analysis_hash of desired_verify_templates. */
void desired_verify_key(const struct spec_set *set, const struct desired_deployment *dd,
			char out[2 * SPEC_REVISION_HEX]);

void desired_init(struct desired *d);
void desired_release(struct desired *d);
/*
 * Builds the desired state of a finished spec set (no diags). extra labels
 * are "key=value" strings (may be NULL). Returns 0 or ERR_INVALID.
 */
int desired_build(struct desired *d, const struct spec_set *set, const char *instance, const char *commit,
		  const char *const *extra_labels, size_t n_extra, struct error **err);
const struct desired_deployment *desired_find(const struct desired *d, const char *name);
/* Sets the name prefix (desired_build takes the instance); NULL or "" for none. */
void desired_set_name_prefix(struct desired *d, const char *prefix);

/*
 * The maximum number of containers of a deployment that may be unavailable
 * at once during its own rollout: maxUnavailable (Rolling) or 1 (Recreate),
 * never above what the disruption budget allows. For validators with no
 * budget given, f of n = 3f+1 (at least 1 when n < 4, since one replica down
 * is all a single-node chain can do).
 */
long desired_budget(const struct spec_deployment *dep);

/* The set's Cluster's endpoints ("local" alone when it names none): how many, and endpoint i's name. */
size_t desired_endpoints(const struct spec_set *set);
const char *desired_endpoint_name(const struct spec_set *set, size_t i);
/* 1 when dd's placement may put replicas on the Cluster's endpoint i. */
int desired_may_place(const struct spec_set *set, const struct desired_deployment *dd, size_t i);
/*
 * Each ordinal's endpoint (out[0..replicas-1]: an index into the Cluster's
 * endpoints, -1 when none may take it), by api/placement.c from where each
 * ordinal's containers run now (od, may be NULL: their endpoint, or their
 * label's; an ordinal with containers on several endpoints is where its
 * newest one is). down_ms[i] (may be NULL: every one answers) is how long
 * endpoint i has not answered, -1 while it answers: no new replica goes to
 * one that does not answer, and its replicas stay there unless the
 * deployment's moveAfter is set and it has not answered for that long (then
 * they are placed anew).
 */
void desired_place(const struct spec_set *set, const struct desired_deployment *dd, const struct obs_deployment *od,
		   const int64_t *down_ms, int *out);

/* A container's create request, and the storage it points into. */
struct desired_create {
	struct docker_create_spec spec;
	char *name;
	struct kv *labels;
	size_t n_labels;
	struct docker_port *ports;
	struct docker_mount *mounts;
	char **volume_names;	/* the named volumes to create first (labelled); NULL-terminated */
	char **volume_legacy;	/* each one's name under the earlier naming (adopted when ours) */
	int *volume_per_replica;	/* each one is the ordinal's own (its ordinal label is checked) */
	struct docker_healthcheck health;
	char **health_test;
	char ordinal_text[16];
	/* On the template's network: the deployment's name and "<deployment>-<ordinal>". */
	char *aliases[3];
	char *create_network;	/* desired_network_name of the template: ensure it first */
	char *network_legacy;	/* the template's own name for it, adopted when ours (NULL: the same) */
};

/*
 * The create request for ordinal of deployment dep at template tmpl and
 * revision rev (the desired ones, or a rollback target's). name: the
 * container name to use. endpoint: the Docker endpoint (the Cluster's, by
 * name) it is made on, its label auriga.io/endpoint; NULL: no label.
 * host_port_offset: added to each port's hostPort (the ordinal, or a surge
 * slot past the replicas).
 */
void desired_create_build(struct desired_create *out, const struct desired *d, const char *dep,
			  const struct desired_tmpl *tmpl, const char *rev, int ordinal, const char *name,
			  const char *endpoint, int host_port_offset);
void desired_create_release(struct desired_create *c);
/*
 * Marks the request's network as auriga's (label auriga.io/network = its
 * name): probes may then reach the container at its own address there.
 */
void desired_create_mark_network(struct desired_create *c);

/*
 * The Docker name of a named volume: "<deployment>.<volume>[.<ordinal>].<h>",
 * h the first 10 hex digits of SHA-256 over the instance, deployment, volume
 * and ordinal (-1: shared by the replicas), each ended by a NUL. Deployment
 * names hold no '.', and the hash covers the whole tuple, so no two
 * (instance, deployment, volume, ordinal) share a name, nor does any name
 * another program gives by hand ("auriga-state") look like one.
 */
char *desired_volume_name(const char *instance, const char *dep, const char *vol, int ordinal);
/* The name auriga gave it before: "<deployment>-<volume>[-<ordinal>]" (ambiguous: a-b + c, a + b-c). */
char *desired_volume_legacy_name(const char *dep, const char *vol, int ordinal);

/* Labels on the named volumes of a deployment's ordinal (managed-by, deployment, ordinal, extras). */
void desired_volume_labels(const struct desired *d, const char *dep, const char *ordinal_text,
			   struct kv **out, size_t *n);

/*
 * The network a template names that auriga creates when it is missing:
 * NULL for none and for Docker's predefined ones (bridge, host, none,
 * container:...), which are joined as they are.
 */
const char *desired_network_to_create(const struct desired_tmpl *t);
/*
 * The Docker name of the template's network (malloc'd): Docker's predefined
 * ones and those the operator's policy lists (another's, joined as they
 * are) by their own name, auriga's own as "<prefix>-<network>", so two
 * instances' networks of one name are two networks and no container of
 * one answers to an alias on the other's. NULL when the template names none.
 */
char *desired_network_name(const struct desired *d, const struct desired_tmpl *t);
/* Labels on a network auriga creates: the extras, then managed-by. */
void desired_network_labels(const struct desired *d, struct kv **out, size_t *n);

/*
 * "<prefix>-<base>", or base when prefix is NULL or "" (malloc'd): the
 * Docker name of a container or network auriga makes (desired.name_prefix).
 */
char *desired_prefixed(const char *prefix, const char *base);
/* An extra label "key=value" (not under auriga.io/) as a pair (malloc'd), or -1 with *err naming it. */
int desired_label_split(const char *kv, struct kv *out, struct error **err);
/* "<prefix>-<deployment>-<ordinal>[-<short rev>]" (desired_prefixed): malloc'd. */
char *desired_container_name(const char *prefix, const char *dep, int ordinal, const char *rev_or_null);

#endif
