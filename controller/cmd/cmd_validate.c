/* `auriga validate`: loads specs like the controller does and prints every problem, or a summary. */
#include "cmd/cli.h"
#include "schema.h"
#include "source/policy_file.h"
#include "source/specdir.h"
#include "spec.h"
#include "util.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: auriga validate [--json] [--crds DIR] [--policy-file FILE] [PATH...]\n"
		"\n"
		"Loads every spec under PATH (files, or directories walked recursively for\n"
		"*.yaml and *.yml; default .) the way the controller does: YAML with limits on\n"
		"depth, aliases and sizes, the CRD schemas, defaults, then the checks across\n"
		"documents (references, dependsOn cycles, host port clashes, budgets, policy).\n"
		"\n"
		"options:\n"
		"  --json       print a JSON report on stdout: {\"valid\", \"errors\", \"model\"}\n"
		"  --crds DIR   use the CRDs in DIR instead of those built into auriga\n"
		"  --policy-file FILE\n"
		"               the operator's policy the specs are held to ($AURIGA_POLICY_FILE;\n"
		"               without it every escalation is refused: privileged, host paths,\n"
		"               host or container: network, capabilities, router settings)\n"
		"  -h, --help   print this help\n"
		"\n"
		"exit status: 0 valid (a summary of the kinds found on stdout), 1 invalid (every\n"
		"error on stderr as file:line:col: Kind/name: path: message, sorted by file and\n"
		"line), 2 usage error or a policy file that does not load.\n");
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

int cmd_validate(int argc, char **argv)
{
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		{ "crds", required_argument, NULL, 'c' },
		{ "policy-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	struct spec_schemas custom;
	struct spec_diags diags;
	struct spec_set set;
	struct spec_policy *policy = NULL;
	struct error *err = NULL;
	const char *crds = NULL, *policy_file = getenv("AURIGA_POLICY_FILE");
	int json = 0, c, i, rc;
	size_t k;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'c':
			crds = optarg;
			break;
		case 'p':
			policy_file = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (policy_file_load(&policy, policy_file, &err) < 0) {
		fprintf(stderr, "auriga validate: %s\n", error_msg(err));
		error_free(err);
		return 2;
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
		return 2;
	}
	spec_set_init(&set, crds ? &custom : NULL, NULL);
	set.policy = policy;
	if (optind >= argc)
		specdir_load(&set, ".", &diags);
	for (i = optind; i < argc; i++)
		specdir_load(&set, argv[i], &diags);
	spec_set_finish(&set, &diags);
	spec_diags_sort(&diags);
	rc = diags.n ? 1 : 0;
	if (json) {
		json_t *o = json_pack("{s:b,s:o,s:I}", "valid", rc == 0, "errors", diags_json(&diags),
				      "moreErrors", (json_int_t)diags.dropped);

		if (rc == 0)
			json_object_set_new(o, "model", (json_t *)spec_set_to_json(&set));
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
		fputc('\n', stdout);
		json_decref(o);
	} else if (rc == 0) {
		summary(&set);
	} else {
		char *more = spec_diags_format_dropped(&diags);

		for (k = 0; k < diags.n; k++) {
			char *line = spec_diag_format(&diags.v[k]);

			fprintf(stderr, "%s\n", line);
			free(line);
		}
		if (more)
			fprintf(stderr, "%s\n", more);
		free(more);
	}
	spec_set_release(&set);
	policy_file_free(policy);
	spec_schemas_release(&custom);
	spec_diags_release(&diags);
	return rc;
}
