/* The runtime validator of the CRDs' openAPIV3Schema: the schemas in crds/ decide what a spec may say. */
#ifndef AURIGA_SCHEMA_H
#define AURIGA_SCHEMA_H

#include "spec.h"
#include "yaml_tree.h"

#include <regex.h>
#include <stddef.h>

/*
 * The structural subset of OpenAPI v3 that Kubernetes CRDs use: type,
 * properties, required, additionalProperties (a schema for map values; with
 * properties and no additionalProperties unknown fields are errors, unlike
 * Kubernetes which prunes them), items, enum, pattern (POSIX extended
 * regex), minimum/maximum, minLength/maxLength, minItems/maxItems,
 * minProperties/maxProperties, x-kubernetes-int-or-string and
 * x-kubernetes-preserve-unknown-fields. description, format, default,
 * example, nullable and the x-kubernetes-list/map markers are read and
 * ignored. Any other keyword in a CRD is an error, so a typo in crds/ cannot
 * silently weaken the check.
 */

enum schema_type {
	SCHEMA_ANY,	/* int-or-string or preserve-unknown-fields only */
	SCHEMA_OBJECT,
	SCHEMA_ARRAY,
	SCHEMA_STRING,
	SCHEMA_INTEGER,
	SCHEMA_NUMBER,
	SCHEMA_BOOLEAN
};

struct schema {
	enum schema_type type;
	int int_or_string;
	int preserve_unknown;
	char **prop_names;
	struct schema **props;
	size_t n_props;
	char **required;
	size_t n_required;
	struct schema *additional;	/* values of a free-form map */
	struct schema *items;
	char **enums;
	size_t n_enums;
	char *pattern;
	regex_t re;
	int has_min, has_max;
	double min, max;
	long long min_len, max_len, min_items, max_items, min_props, max_props;	/* -1: unset */
};

/* One schema per kind, compiled from the CRDs. */
struct spec_schemas {
	struct schema *kinds[SPEC_KIND_COUNT];
	char *files[SPEC_KIND_COUNT];	/* where each came from */
	/* The Environment kind: an overlay over the others, read before them (spec_env.c). */
	struct schema *environment;
	char *environment_file;
};

/* A CRD file embedded in the binary (generated from the crds directory at build time). */
struct spec_crd_blob {
	const char *path;
	const unsigned char *data;
	size_t len;
};
extern const struct spec_crd_blob spec_crds_embedded[];
extern const size_t spec_crds_embedded_count;

void spec_schemas_init(struct spec_schemas *s);
void spec_schemas_release(struct spec_schemas *s);
/*
 * Compiles one CRD file (apiextensions.k8s.io/v1, group auriga.io, version
 * v1 served and stored) into s. Returns the number of diags added.
 */
size_t spec_schemas_add_crd(struct spec_schemas *s, const char *path, const char *data,
			    size_t len, struct spec_diags *diags);
/* One diag per kind that got no schema (origin names where the CRDs came from). Returns diags added. */
size_t spec_schemas_check_complete(const struct spec_schemas *s, const char *origin, struct spec_diags *diags);
/* The embedded CRDs, compiled once per process; BUG() if they do not compile. */
const struct spec_schemas *spec_schemas_builtin(void);

/* Receives one violation: the node it is about, its path, and the message. */
typedef void (*schema_report_fn)(void *ctx, const struct ynode *at, const char *path,
				 const char *msg);

/* Checks n against s, reporting every violation; returns how many. */
size_t schema_validate(const struct schema *s, const struct ynode *n, const char *path,
		       schema_report_fn report, void *ctx);
/*
 * Checks n as a merge patch (RFC 7386) of an object of schema s: every field
 * it names must be one of s, and every value must fit; required fields may be
 * left out and null (removal) fits any field. Lists replace whole, so what a
 * list holds is checked as in schema_validate.
 */
size_t schema_validate_patch(const struct schema *s, const struct ynode *n, const char *path,
			     schema_report_fn report, void *ctx);

#endif
