/* `auriga validate`: loads specs like the controller does and prints every problem, or a summary. */
#include "cmd/cli.h"
#include "runtime/config.h"
#include "schema.h"
#include "source/envfile.h"
#include "source/policy_file.h"
#include "source/specdir.h"
#include "spec.h"
#include "traffic/analysis.h"
#include "util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga validate [options] [--json] [--crds DIR] [PATH...]\n"
		"\n"
		"Loads every spec under PATH (files, or directories walked recursively for\n"
		"*.yaml and *.yml; default .) the way the controller does: YAML with limits on\n"
		"depth, aliases and sizes, the CRD schemas, defaults, then the checks across\n"
		"documents (references, dependsOn cycles, host port clashes, budgets, policy),\n"
		"then every env file a template names, opened as apply opens it: beneath the\n"
		"PATH it came from (the folder, or a file's own folder), through no symbolic\n"
		"link, at most 1 MiB, KEY=value lines.\n"
		"\n"
		"options:\n");
	config_usage_cmd(out, "validate", extra);
	fprintf(out,
		"\n"
		"exit status: 0 valid (a summary of the kinds found on stdout), 1 invalid (every\n"
		"error on stderr as file:line:col: Kind/name: path: message, sorted by file and\n"
		"line), 2 usage error or a policy file that does not load. Warnings (a placement\n"
		"that cannot survive the loss of one host) go to stderr as warning: file:line:col:\n"
		"..., whatever the status.\n");
}

/* The PATHs given and the folder each one's env files are relative to, as apply has them. */
struct env_roots {
	char *const *paths;
	char **roots;
	size_t n;
};

/* 1 when spec_file was read from path: path itself, or a file beneath the folder path. */
static int read_from(const char *spec_file, const char *path)
{
	size_t n = strlen(path);

	if (strcmp(spec_file, path) == 0)
		return 1;
	return n > 0 && strncmp(spec_file, path, n) == 0 && (path[n - 1] == '/' || spec_file[n] == '/');
}

/* Env files are opened as apply opens them: beneath the root of the PATH the spec came from. */
static int read_env(void *ctx, const char *spec_file, const char *path, char **data, size_t *len,
		    struct error **err)
{
	const struct env_roots *r = ctx;
	size_t i;

	for (i = 0; spec_file && i < r->n; i++)
		if (read_from(spec_file, r->paths[i]))
			return envfile_read_dir(r->roots[i], spec_file, path, data, len, err);
	return error_set(err, ERR_INVALID, "env file '%s': no PATH given holds '%s'", path,
			 spec_file ? spec_file : "?");
}

/* Reads the env files of every template of set into it, each problem a diag. */
static int validate_env_files(struct spec_set *set, char *const *paths, size_t n, struct spec_diags *diags,
			      struct error **err)
{
	struct env_roots r;
	size_t i;
	int rc;

	r.paths = paths;
	r.n = n;
	r.roots = xcalloc(n + 1, sizeof(*r.roots));
	for (i = 0; i < n; i++)
		r.roots[i] = envfile_dir_root(paths[i]);
	rc = envfile_apply(set, read_env, &r, diags, err);
	for (i = 0; i < n; i++)
		free(r.roots[i]);
	free(r.roots);
	return rc;
}

static json_t *diags_json(const struct spec_diags *d)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct spec_diag *x = &d->v[i];
		char *line = spec_diag_format(x);

		json_array_append_new(
			a, json_pack("{s:s?,s:i,s:i,s:s?,s:s?,s:s?,s:s,s:s}", "file", x->file, "line",
				     x->line, "col", x->col, "kind", x->kind, "name", x->name, "path",
				     x->path, "message", x->msg, "text", line));
		free(line);
	}
	return a;
}

static long total_replicas(const struct spec_set *set)
{
	long r = 0;
	size_t i;

	for (i = 0; i < set->n_deployments; i++)
		r += set->deployments[i]->replicas;
	return r;
}

static void summary(const struct spec_set *set)
{
	printf("valid: %zu Cluster%s, %zu Deployment%s (%ld replicas), %zu Service%s, %zu Job%s, "
	       "%zu AnalysisTemplate%s in %zu file%s\n",
	       set->n_clusters, set->n_clusters == 1 ? "" : "s", set->n_deployments,
	       set->n_deployments == 1 ? "" : "s",
	       total_replicas(set),
	       set->n_services, set->n_services == 1 ? "" : "s", set->n_jobs,
	       set->n_jobs == 1 ? "" : "s", set->n_analysis_templates,
	       set->n_analysis_templates == 1 ? "" : "s", set->n_files,
	       set->n_files == 1 ? "" : "s");
}

/* Warnings (a placement that cannot survive one host's loss) on stderr, whatever the outcome. */
static void print_warnings(struct spec_diags *w)
{
	size_t k;

	spec_diags_sort(w);
	for (k = 0; k < w->n; k++) {
		char *line = spec_diag_format(&w->v[k]);

		fprintf(stderr, "warning: %s\n", line);
		free(line);
	}
}

/* Prints the outcome (a summary, every error, or the JSON report); the exit status. */
static int report(struct spec_set *set, struct spec_diags *diags, int json)
{
	int rc;
	size_t k;

	spec_diags_sort(diags);
	rc = diags->n ? 1 : 0;
	if (json) {
		json_t *o = json_pack("{s:b,s:o,s:I}", "valid", rc == 0, "errors", diags_json(diags),
				      "moreErrors", (json_int_t)diags->dropped);

		spec_diags_sort(&set->warnings);
		json_object_set_new(o, "warnings", diags_json(&set->warnings));

		if (rc == 0)
			json_object_set_new(o, "model", (json_t *)spec_set_to_json(set));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
		fputc('\n', stdout);
		json_decref(o);
	} else if (rc == 0) {
		print_warnings(&set->warnings);
		summary(set);
	} else {
		print_warnings(&set->warnings);
		char *more = spec_diags_format_dropped(diags);

		for (k = 0; k < diags->n; k++) {
			char *line = spec_diag_format(&diags->v[k]);

			fprintf(stderr, "%s\n", line);
			free(line);
		}
		if (more)
			fprintf(stderr, "%s\n", more);
		free(more);
	}
	return rc;
}

/* The settings and options: -1 to go on, or the exit status; *policy and *pos filled. */
static int validate_args(int argc, char **argv, int *json, const char **crds, struct spec_policy **policy,
			 char ***pos, char **environment)
{
	int help = 0, n_crds = 0, rc = -1;
	const struct config_extra_flag extra[] = {
		{ "json", json, NULL, NULL, "print a JSON report on stdout: {\"valid\", \"errors\", \"warnings\", \"model\"}", 0, 0 },
		{ "crds", &n_crds, crds, "DIR", "use the CRDs in DIR instead of those built into auriga", 1, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct config *conf = NULL;
	struct error *err = NULL;

	if (config_load(&conf, argc, argv, NULL, extra, pos, &err) < 0) {
		rc = 2;
	} else if (help) {
		usage(stdout, extra);
		rc = 0;
	} else if (policy_file_load(policy, config_str(conf, CFG_POLICY_FILE), config_str(conf, CFG_DOCKER_HOST),
				    &err) < 0) {
		rc = 2;
	} else if (config_str(conf, CFG_ENVIRONMENT)[0]) {
		*environment = xstrdup(config_str(conf, CFG_ENVIRONMENT));
	}
	if (err)
		fprintf(stderr, "auriga validate: %s\n", error_msg(err));
	error_free(err);
	config_free(conf);
	return rc;
}

int cmd_validate(int argc, char **argv)
{
	static char *const here[] = { (char *)".", NULL };
	struct spec_schemas custom;
	struct spec_diags diags;
	struct spec_set set;
	struct spec_policy *policy = NULL;
	struct error *err = NULL;
	const char *crds = NULL;
	char **pos = NULL, *const *paths, *environment = NULL;
	int json = 0, rc;
	size_t k, n_paths;

	rc = validate_args(argc, argv, &json, &crds, &policy, &pos, &environment);
	if (rc >= 0) {
		free(pos);
		free(environment);
		return rc;
	}
	spec_diags_init(&diags);
	spec_schemas_init(&custom);
	if (crds && specdir_load_schemas(&custom, crds, &diags) > 0) {
		spec_diags_sort(&diags);
		for (k = 0; k < diags.n; k++) {
			char *line = spec_diag_format(&diags.v[k]);

			fprintf(stderr, "auriga validate: --crds: %s\n", line);
			free(line);
		}
		spec_diags_release(&diags);
		spec_schemas_release(&custom);
		policy_file_free(policy);
		free(pos);
		free(environment);
		return 2;
	}
	for (n_paths = 0; pos[n_paths]; n_paths++)
		;
	paths = n_paths ? pos : here;
	n_paths = n_paths ? n_paths : 1;
	spec_set_init(&set, crds ? &custom : NULL, NULL);
	set.policy = policy;
	spec_set_follow(&set, environment);
	free(environment);
	for (k = 0; k < n_paths; k++)
		specdir_load(&set, paths[k], &diags);
	spec_set_finish(&set, &diags);
	if (validate_env_files(&set, paths, n_paths, &diags, &err) < 0) {
		fprintf(stderr, "auriga validate: %s\n", error_msg(err));
		error_free(err);
		rc = 2;
	} else {
		analysis_scrape_check(&set, &diags);
		rc = report(&set, &diags, json);
	}
	spec_set_release(&set);
	policy_file_free(policy);
	spec_schemas_release(&custom);
	spec_diags_release(&diags);
	free(pos);
	return rc;
}
