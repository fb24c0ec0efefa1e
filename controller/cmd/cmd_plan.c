/* `auriga plan`: what apply would change, and why, per phase and deployment, without changing anything. */
#include "cmd/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/engine_cli.h"
#include "docker/docker.h"
#include "engine/plan.h"
#include "engine/statefile.h"
#include "model/desired.h"
#include "model/observe.h"
#include "runtime/loop.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: auriga plan [options] [--json] [PATH]\n\n"
		"Compares the specs with the containers this instance owns on the Docker host and prints,\n"
		"phase by phase, what `auriga apply` would do and why: containers to create, to replace\n"
		"(with the template fields that differ), to start, to remove. Changes nothing.\n\n"
		"options:\n" ENGINE_CLI_HELP
		"  --json                     one JSON document on stdout\n"
		"  -h, --help                 this help\n\n"
		"exit status: 0 nothing would change, 2 something would, 1 error (a usage error too).\n");
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		ENGINE_CLI_LONGOPTS,
		{ "json", no_argument, NULL, ENGINE_OPT_JSON },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct engine_cli cli;
	struct spec_set *set = NULL;
	struct loop *l = NULL;
	struct docker *d = NULL;
	struct docker_waiter w;
	struct desired des;
	struct observed obs;
	struct statefile st;
	struct plan p;
	struct plan_options popt;
	struct error *err = NULL;
	char *filter = NULL;
	const char *filters[2];
	int c, rc = 1, json = 0;

	engine_cli_init(&cli);
	desired_init(&des);
	observed_init(&obs);
	statefile_init(&st, NULL);
	plan_init(&p);
	memset(&w, 0, sizeof(w));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r;

		if (c == 'h') {
			usage(stdout);
			rc = 0;
			goto out;
		}
		if (c == ENGINE_OPT_JSON) {
			json = 1;
			continue;
		}
		/* A usage error is 1 here, not 2 as elsewhere: 2 says only that something would change. */
		r = engine_cli_opt(&cli, c, optarg, &err);
		if (r <= 0) {
			if (r < 0)
				fprintf(stderr, "auriga plan: %s\n", error_msg(err));
			else
				usage(stderr);
			goto out;
		}
	}
	if (engine_cli_finish(&cli, argc - optind, argv + optind, &err) < 0) {
		fprintf(stderr, "auriga plan: %s\n", error_msg(err));
		goto out;
	}
	if (engine_cli_load(&cli, &set, &err) < 0)
		goto fail;
	if (statefile_load(&st, cli.state_path, &err) < 0)
		goto fail;
	if (desired_build(&des, set, cli.instance, cli.commit, cli.labels, cli.n_labels, &err) < 0)
		goto fail;
	if (engine_cli_connect(&cli, &l, &d, NULL, &err) < 0)
		goto fail;
	filter = observe_filter(cli.instance);
	filters[0] = filter;
	filters[1] = NULL;
	if (docker_container_list(d, DOCKER_OBSERVE, filters, docker_waiter_done, &w, &err) < 0)
		goto fail;
	if (!docker_status_ok(docker_wait(d, &w))) {
		error_set(&err, ERR_TRANSPORT, "cannot list containers on %s: %s", docker_endpoint(d),
			  w.result.message);
		goto fail;
	}
	if (observe_from_json(&obs, cli.instance, w.result.json, &err) < 0)
		goto fail;
	popt.prune = cli.prune;
	plan_build(&p, &des, &obs, &st, &popt);
	if (json) {
		json_t *j = plan_to_json(&p, &des);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		struct buf b;

		buf_init(&b, 64u << 20);
		plan_render_text(&p, &des, &b, isatty(STDOUT_FILENO));
		fputs(b.data, stdout);
		buf_release(&b);
	}
	rc = p.n_changes ? 2 : 0;
	goto out;
fail:
	fprintf(stderr, "auriga plan: %s\n", error_msg(err));
	rc = 1;
out:
	error_free(err);
	docker_result_release(&w.result);
	plan_release(&p);
	statefile_release(&st);
	observed_release(&obs);
	desired_release(&des);
	if (set)
		spec_set_free(set);
	free(filter);
	if (d)
		docker_free(d);
	if (l)
		loop_free(l);
	engine_cli_release(&cli);
	return rc;
}
