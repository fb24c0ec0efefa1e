/* Unit tests for environments: the overlay's scope, its merge patches, and every refusal at its file, line and field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "testmain.h"

#define BASE_FILE "specs/base/web.yaml"
#define BASE                                                   \
	"apiVersion: auriga.io/v1\n"                           \
	"kind: Deployment\n"                                   \
	"metadata: {name: web}\n"                              \
	"spec:\n"                                              \
	"  replicas: 3\n"                                      \
	"  template:\n"                                        \
	"    image: node:1\n"                                  \
	"    env: {MODE: base, KEEP: \"yes\", DROP: x}\n"      \
	"    ports: [{name: http, containerPort: 9003}, {name: admin, containerPort: 9004}]\n"

#define BASE_NOPORTS                                           \
	"apiVersion: auriga.io/v1\n"                           \
	"kind: Deployment\n"                                   \
	"metadata: {name: web}\n"                              \
	"spec:\n"                                              \
	"  replicas: 3\n"                                      \
	"  template:\n"                                        \
	"    image: node:1\n"

#define STAGING_FILE "specs/environments/staging/environment.yaml"
#define ENV_HEAD(name)                 \
	"apiVersion: auriga.io/v1\n"   \
	"kind: Environment\n"          \
	"metadata: {name: " name "}\n" \
	"spec:\n"                      \
	"  resources: [../../base]\n"

#define PROD_FILE "specs/environments/production/environment.yaml"
#define PROD ENV_HEAD("production") "  promotion: {after: staging, approval: required}\n"

struct file {
	const char *path, *text;
};

/* Loads the files into a set following env (NULL: none), finishes it; the number of diags. */
static size_t load(struct spec_set *set, struct spec_diags *d, const char *env, const struct file *files, size_t n)
{
	size_t i;

	spec_diags_init(d);
	spec_set_init(set, NULL, NULL);
	spec_set_follow(set, env);
	for (i = 0; i < n; i++)
		spec_set_load_buffer(set, files[i].path, files[i].text, strlen(files[i].text), d);
	spec_set_finish(set, d);
	spec_diags_sort(d);
	return d->n;
}

static void done(struct spec_set *set, struct spec_diags *d)
{
	spec_set_release(set);
	spec_diags_release(d);
}

/* Asserts that exactly one diag was made and that it reads want. */
static void assert_one_diag(const struct spec_diags *d, const char *want)
{
	char *line;

	assert_int_equal(d->n, 1);
	line = spec_diag_format(&d->v[0]);
	assert_string_equal(line, want);
	free(line);
}

static const char *env_value(const struct spec_deployment *dep, const char *key)
{
	size_t i;

	for (i = 0; i < dep->tmpl.n_env; i++)
		if (strcmp(dep->tmpl.env[i].key, key) == 0)
			return dep->tmpl.env[i].value;
	return NULL;
}

/* Mappings merge, scalars and lists replace, null removes; the base is read as it is elsewhere. */
static void patch_merges(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch:\n"
						     "        spec:\n"
						     "          replicas: 1\n"
						     "          template:\n"
						     "            image: node:2\n"
						     "            env: {MODE: staging, DROP: null, NEW: n}\n"
						     "            ports: [{name: http, containerPort: 9100}]\n" },
	};
	struct spec_set set;
	struct spec_diags d;
	const struct spec_deployment *web;

	(void)state;
	assert_int_equal(load(&set, &d, "staging", files, 2), 0);
	web = spec_set_deployment(&set, "web");
	assert_non_null(web);
	assert_int_equal(web->replicas, 1);
	assert_string_equal(web->tmpl.image, "node:2");
	assert_string_equal(env_value(web, "MODE"), "staging");
	assert_string_equal(env_value(web, "KEEP"), "yes");
	assert_string_equal(env_value(web, "NEW"), "n");
	assert_null(env_value(web, "DROP"));
	/* A list of mappings merges by its items' names: admin is kept. */
	assert_int_equal(web->tmpl.n_ports, 2);
	assert_int_equal(web->tmpl.ports[0].container_port, 9100);
	assert_int_equal(web->tmpl.ports[1].container_port, 9004);
	assert_non_null(set.environment);
	assert_string_equal(set.environment->meta.name, "staging");
	assert_null(set.environment->promotion_after);
	done(&set, &d);
}

/* Lists of mappings merge item by item by their key (name, else containerPort); lists of scalars replace. */
static void list_items_merge_by_key(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE "    command: [serve, --base]\n"
			     "    volumes: [{name: data, mountPath: /data}, {name: logs, mountPath: /logs}]\n" },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch:\n"
						     "        spec:\n"
						     "          template:\n"
						     "            command: [serve]\n"
						     "            ports: [{name: admin, hostPort: 19004}, {name: debug, containerPort: 9005}]\n"
						     "            volumes: [{name: logs, mountPath: /var/log}]\n" },
	};
	const struct file by_port[] = {
		{ BASE_FILE, BASE_NOPORTS "    ports: [{containerPort: 9003}, {containerPort: 9004}]\n" },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch: {spec: {template: {ports: [{containerPort: 9004, hostPort: 19004}]}}}\n" },
	};
	struct spec_set set;
	struct spec_diags d;
	const struct spec_deployment *web;

	(void)state;
	assert_int_equal(load(&set, &d, "staging", files, 2), 0);
	web = spec_set_deployment(&set, "web");
	assert_int_equal(web->tmpl.n_ports, 3);
	assert_string_equal(web->tmpl.ports[0].name, "http");
	assert_int_equal(web->tmpl.ports[0].host_port, 0);
	assert_string_equal(web->tmpl.ports[1].name, "admin");
	assert_int_equal(web->tmpl.ports[1].container_port, 9004);
	assert_int_equal(web->tmpl.ports[1].host_port, 19004);
	assert_string_equal(web->tmpl.ports[2].name, "debug");
	assert_int_equal(web->tmpl.n_volumes, 2);
	assert_string_equal(web->tmpl.volumes[0].mount_path, "/data");
	assert_string_equal(web->tmpl.volumes[1].mount_path, "/var/log");
	assert_int_equal(web->tmpl.n_command, 1);
	done(&set, &d);
	assert_int_equal(load(&set, &d, "staging", by_port, 2), 0);
	web = spec_set_deployment(&set, "web");
	assert_int_equal(web->tmpl.n_ports, 2);
	assert_int_equal(web->tmpl.ports[0].host_port, 0);
	assert_int_equal(web->tmpl.ports[1].host_port, 19004);
	done(&set, &d);
}

/* A list of mappings without a key to match its items by is refused at the patch's field, not replaced. */
static void keyless_list_refused(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE_NOPORTS "    ports: [{name: http, containerPort: 9003, hostPort: 19003}]\n  strategy: {type: Canary, canary: {steps: [{setWeight: 20}, {pause: {duration: 10s}}]}}\n"
			     "---\napiVersion: auriga.io/v1\nkind: Service\nmetadata: {name: web}\nspec: {deployment: web, port: 8080}\n" },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch:\n"
						     "        spec:\n"
						     "          strategy:\n"
						     "            canary:\n"
						     "              steps: [{setWeight: 50}]\n" },
	};
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	load(&set, &d, "staging", files, 2);
	assert_one_diag(&d, STAGING_FILE ":12:22: Environment/staging: spec.patches[0].patch.spec.strategy.canary.steps: "
					 "a list whose items do not all have a name (or containerPort, templateName) cannot be "
					 "patched: a patch would replace it whole; give every item its key, or change the list "
					 "in the base");
	done(&set, &d);
}

/* An environment's scope: its resources and its own folder, not another environment's. */
static void scope_is_resources_and_own_folder(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE },
		{ "specs/base/../other/job.yaml", "apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: outside}\n"
						  "spec: {template: {image: t:1}}\n" },
		{ STAGING_FILE, ENV_HEAD("staging") },
		{ "specs/environments/staging/extra.yaml", "apiVersion: auriga.io/v1\nkind: Job\nmetadata: {name: smoke}\n"
							   "spec: {template: {image: t:1}}\n" },
		{ PROD_FILE, PROD },
		{ "specs/environments/production/extra.yaml", "apiVersion: auriga.io/v1\nkind: Job\n"
							      "metadata: {name: prod-only}\nspec: {template: {image: t:1}}\n" },
	};
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	assert_int_equal(load(&set, &d, "staging", files, 6), 0);
	assert_non_null(spec_set_deployment(&set, "web"));
	assert_non_null(spec_set_job(&set, "smoke"));
	assert_null(spec_set_job(&set, "prod-only"));
	assert_null(spec_set_job(&set, "outside"));
	done(&set, &d);
	assert_int_equal(load(&set, &d, "production", files, 6), 0);
	assert_non_null(spec_set_job(&set, "prod-only"));
	assert_null(spec_set_job(&set, "smoke"));
	assert_non_null(set.environment);
	assert_string_equal(set.environment->promotion_after, "staging");
	assert_int_equal(set.environment->approval_required, 1);
	done(&set, &d);
}

/* A field the target's kind does not have is refused at the patch, with the field's path. */
static void unknown_field_at_patch(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch:\n"
						     "        spec:\n"
						     "          replica: 1\n" },
	};
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	load(&set, &d, "staging", files, 2);
	assert_one_diag(&d, STAGING_FILE ":10:11: Environment/staging: spec.patches[0].patch.spec.replica: "
					 "unknown field (did you mean \"replicas\"?)");
	done(&set, &d);
}

/* A value of the wrong type in a patch, and a list's items, are checked as in the kind's schema. */
static void wrong_type_at_patch(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch:\n"
						     "        spec:\n"
						     "          template:\n"
						     "            ports: [{name: http}, {name: metrics}]\n" },
	};
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	load(&set, &d, "staging", files, 2);
	/* http merges with the base's; metrics is a new port, which needs its containerPort. */
	assert_one_diag(&d, STAGING_FILE ":11:35: Deployment/web: "
					 "spec.template.ports[2].containerPort: required field is missing");
	done(&set, &d);
}

/* A check made after the merge names the environment's file for what its patch set. */
static void semantic_check_points_at_patch(void **state)
{
	const struct file files[] = {
		{ BASE_FILE, BASE },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch:\n"
						     "        spec:\n"
						     "          probes:\n"
						     "            readiness: {httpGet: {path: /, port: nope}}\n" },
	};
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	load(&set, &d, "staging", files, 2);
	assert_one_diag(&d, STAGING_FILE ":11:50: Deployment/web: spec.probes.readiness.httpGet.port: "
					 "no port named \"nope\" in spec.template.ports");
	done(&set, &d);
}

/* A target the resources do not hold, and a patch renaming its target, are refused. */
static void target_missing_or_renamed(void **state)
{
	const struct file missing[] = {
		{ BASE_FILE, BASE },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: api}\n"
						     "      patch: {spec: {replicas: 1}}\n" },
	};
	const struct file renamed[] = {
		{ BASE_FILE, BASE },
		{ STAGING_FILE, ENV_HEAD("staging") "  patches:\n"
						     "    - target: {kind: Deployment, name: web}\n"
						     "      patch: {metadata: {name: web2}}\n" },
	};
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	load(&set, &d, "staging", missing, 2);
	assert_one_diag(&d, STAGING_FILE ":7:15: Environment/staging: spec.patches[0].target: "
					 "Deployment \"api\" is not among this environment's resources");
	done(&set, &d);
	load(&set, &d, "staging", renamed, 2);
	assert_one_diag(&d, STAGING_FILE ":8:32: Environment/staging: spec.patches[0].patch.metadata.name: "
					 "a patch does not change its target's metadata.name (\"web\")");
	done(&set, &d);
}

/* An environment the specs do not have; Environments in specs loaded for none; a base that is not there. */
static void environment_refusals(void **state)
{
	const struct file files[] = { { BASE_FILE, BASE }, { STAGING_FILE, ENV_HEAD("staging") }, { PROD_FILE, PROD } };
	const struct file no_base[] = { { STAGING_FILE, "apiVersion: auriga.io/v1\nkind: Environment\n"
							"metadata: {name: staging}\nspec: {resources: [../../bas]}\n" } };
	const struct file bad_after[] = { { BASE_FILE, BASE },
					  { PROD_FILE, ENV_HEAD("production") "  promotion: {after: stagin}\n" } };
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	load(&set, &d, "qa", files, 3);
	assert_one_diag(&d, "environment \"qa\" is not in the specs (their Environments: staging, production)");
	assert_null(set.environment);
	done(&set, &d);
	assert_int_equal(load(&set, &d, NULL, files, 3), 2);
	done(&set, &d);
	load(&set, &d, "staging", no_base, 1);
	assert_one_diag(&d, STAGING_FILE ":4:20: Environment/staging: spec.resources[0]: "
					 "\"../../bas\" names no spec file (it is \"specs/bas\" in the specs)");
	done(&set, &d);
	load(&set, &d, "production", bad_after, 2);
	assert_one_diag(&d, PROD_FILE ":6:22: Environment/production: spec.promotion.after: "
				      "\"stagin\" is not an environment of the specs (they have production)");
	done(&set, &d);
}

/* Without environments, the specs load as before: nothing followed, nothing dropped. */
static void no_environment(void **state)
{
	const struct file files[] = { { BASE_FILE, BASE } };
	struct spec_set set;
	struct spec_diags d;

	(void)state;
	assert_int_equal(load(&set, &d, NULL, files, 1), 0);
	assert_null(set.environment);
	assert_int_equal(spec_set_deployment(&set, "web")->replicas, 3);
	done(&set, &d);
}

TEST_MAIN(
	cmocka_unit_test(patch_merges),
	cmocka_unit_test(list_items_merge_by_key),
	cmocka_unit_test(keyless_list_refused),
	cmocka_unit_test(scope_is_resources_and_own_folder),
	cmocka_unit_test(unknown_field_at_patch),
	cmocka_unit_test(wrong_type_at_patch),
	cmocka_unit_test(semantic_check_points_at_patch),
	cmocka_unit_test(target_missing_or_renamed),
	cmocka_unit_test(environment_refusals),
	cmocka_unit_test(no_environment)
)
