/* What the spec_*.c files share with each other and with schema.c, and nobody else. */
#ifndef AURIGA_SPEC_INTERNAL_H
#define AURIGA_SPEC_INTERNAL_H

#include "spec.h"
#include "yaml_tree.h"

#include <stdio.h>

/* XGROW for arrays of pointers: the element size is that of a pointer, whatever it points to. */
#define XGROW_PTRS(arr, cap, need) xgrow((void **)&(arr), &(cap), (need), sizeof(void *))

struct spec_priv {
	struct spec_limits lim;
	char **files;		/* names of every file loaded, pointed to by positions */
	size_t n_files, cap_files;
	struct ytree **trees;	/* kept so that semantic checks can point at fields */
	size_t n_trees, cap_trees;
	size_t walked;		/* files seen by directory walks */
	size_t total_bytes;	/* bytes of every file loaded, against lim.max_total_bytes */
	size_t total_nodes;	/* nodes of every document loaded, aliases expanded */
	char *follow;		/* the environment followed, NULL for none */
	struct spec_environment **envs;	/* every Environment loaded */
	size_t n_envs, cap_envs;
	struct ynode **merged;	/* nodes made by merging patches, freed with the trees */
	size_t n_merged, cap_merged;
};


/* A diag about an object, positioned at the node that path names in its document. */
void spec_obj_err(struct spec_diags *d, enum spec_kind kind, const struct spec_meta *meta,
		  const char *path, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Whether n is root or below it. */
int spec_node_within(const struct ynode *root, const struct ynode *n);
/* The node that path ("spec.ports[1].name") names under root, or its deepest present ancestor. */
const struct ynode *spec_node_at(const struct ynode *root, const char *path);

/* Decode: a schema-checked (or not: invalid is set) document into a new object. */
struct spec_cluster *spec_decode_cluster(const struct ynode *doc);
struct spec_deployment *spec_decode_deployment(const struct ynode *doc);
struct spec_service *spec_decode_service(const struct ynode *doc);
struct spec_job *spec_decode_job(const struct ynode *doc);
struct spec_analysis_template *spec_decode_analysis_template(const struct ynode *doc);
void spec_decode_meta(struct spec_meta *m, const struct ynode *doc);

void spec_cluster_free(struct spec_cluster *c);
void spec_deployment_free(struct spec_deployment *d);
void spec_service_free(struct spec_service *s);
void spec_job_free(struct spec_job *j);
void spec_analysis_template_free(struct spec_analysis_template *a);
void spec_meta_release(struct spec_meta *m);
/* A template as the Deployment and Job kinds decode it, and its release (for kinds that hold one). */
void spec_decode_container(struct spec_container *c, const struct ynode *t);
void spec_container_release(struct spec_container *c);

/* The BackupPolicy kind (spec_backup.c): decode, free, and its defaults and checks, run by spec_set_finish. */
struct spec_backup_policy *spec_decode_backup_policy(const struct ynode *doc);
void spec_backup_policy_free(struct spec_backup_policy *b);
size_t spec_backup_check(struct spec_set *set, struct spec_diags *diags);

/* Environments (spec_env.c): decode, free, and the overlay spec_set_finish applies first. */
struct spec_environment *spec_decode_environment(const struct ynode *doc);
void spec_environment_free(struct spec_environment *e);
size_t spec_env_apply(struct spec_set *set, struct spec_diags *diags);
void spec_env_drop_merged(struct spec_priv *p);
/* An object of kind k decoded from doc (schema-checked or not), as load_doc adds it; and its free. */
void *spec_decode_kind(enum spec_kind k, const struct ynode *doc);
void spec_free_kind(enum spec_kind k, void *obj);

/*
 * Placements (spec_placement.c): their defaults (validators one per endpoint
 * where the endpoints are enough), run by spec_set_defaults; their checks and
 * the warnings of set->warnings, run by spec_set_finish.
 */
void spec_placement_defaults(struct spec_set *set);
size_t spec_placement_check(struct spec_set *set, struct spec_diags *diags);

/* The defaults pass and the semantic checks. */
void spec_set_defaults(struct spec_set *set);
size_t spec_set_check(struct spec_set *set, struct spec_diags *diags);

#endif
