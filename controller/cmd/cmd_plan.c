/* `auriga plan`: what apply would change, and why, per phase and deployment, without changing anything. */
#include "cmd/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/engine_cli.h"
#include "docker/docker.h"
#include "engine/network.h"
#include "engine/plan.h"
#include "engine/statefile.h"
#include "model/desired.h"
#include "model/observe.h"
#include "policy.h"
#include "runtime/loop.h"
#include "spec.h"
#include "util.h"

static void usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga plan [options] [--json] [PATH]\n\n"
		"Compares the specs with the containers this instance owns on the Docker host and prints,\n"
		"phase by phase, what `auriga apply` would do and why: containers to create, to replace\n"
		"(with the template fields that differ), to start, to remove. Changes nothing.\n\n"
		"  PATH                       a folder (or file) of specs; or --repo, the specs repo\n"
		"options:\n");
	config_usage_cmd(out, "plan", extra);
	fprintf(out, "\nexit status: 0 nothing would change, 2 something would, 1 error (a usage error too, or\n"
		     "a rollback the operator's policy refuses: apply would fail it).\n");
}

/* The settings, options and PATH: -1 to go on, or the exit status (0 for --help, 1 for a usage error). */
static int plan_opts(struct engine_cli *cli, struct config **conf, int *json, int argc, char **argv)
{
	int help = 0, n = 0, rc = -1;
	const struct config_extra_flag extra[] = {
		{ "prune", &cli->prune, NULL, NULL, "remove containers of deployments no longer in the specs", 0, 0 },
		{ "json", json, NULL, NULL, "one JSON document on stdout", 0, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct error *err = NULL;
	char **pos = NULL;

	/* A usage error is 1 here, not 2 as elsewhere: 2 says only that something would change. */
	if (config_load(conf, argc, argv, NULL, extra, &pos, &err) < 0) {
		fprintf(stderr, "auriga plan: %s\n", error_msg(err));
		rc = 1;
		goto out;
	}
	if (help) {
		usage(stdout, extra);
		rc = 0;
		goto out;
	}
	config_log_setup(*conf);
	while (pos[n])
		n++;
	if (engine_cli_finish(cli, *conf, n, pos, &err) < 0) {
		fprintf(stderr, "auriga plan: %s\n", error_msg(err));
		rc = 1;
	}
out:
	free(pos);
	error_free(err);
	return rc;
}

/*
 * The containers this instance owns, as every endpoint of the set lists them
 * now (each tagged with its endpoint), and the first endpoint's networks (in
 * nets: whose a network the specs name is).
 */
/*
 * Every endpoint's containers and networks, asked of all the endpoints at
 * once: nets[i] (n of them, the caller frees) holds endpoint i's networks, in
 * the Cluster's order.
 */
/*
 * A swarm's tasks wherever they run, as `run` reads them (observe_swarm_list): its nodes, the
 * instance's services and their tasks, one call after the other. 0, or -1 and *err.
 */
static int observe_swarm(struct docker *d, const char *instance, const char *endpoint, struct observed *seen,
			 struct error **err)
{
	struct docker_waiter w[3];
	char filter[300];
	const char *filters[] = { filter, NULL };
	const char *what[] = { "nodes", "services", "tasks" };
	json_t *list;
	int i, rc;

	memset(w, 0, sizeof(w));
	snprintf(filter, sizeof(filter), "label=%s=%s", OBS_LABEL_MANAGED_BY, instance);
	for (i = 0; i < 3; i++) {
		rc = i == 0 ? docker_node_list(d, DOCKER_OBSERVE, NULL, docker_waiter_done, &w[i], err)
		   : i == 1 ? docker_service_list(d, DOCKER_OBSERVE, filters, docker_waiter_done, &w[i], err)
			    : docker_task_list(d, DOCKER_OBSERVE, NULL, docker_waiter_done, &w[i], err);
		if (rc < 0 || docker_wait(d, &w[i]) != DOCKER_OK || !json_is_array(w[i].result.json)) {
			if (rc == 0)
				error_set(err, ERR_TRANSPORT, "cannot list the swarm's %s on endpoint '%s' (%s): %s",
					  what[i], endpoint, docker_endpoint(d), docker_result_reason(&w[i].result));
			while (i >= 0)
				docker_result_release(&w[i--].result);
			return -1;
		}
	}
	list = observe_swarm_list(w[0].result.json, w[1].result.json, w[2].result.json);
	for (i = 0; i < 3; i++)
		docker_result_release(&w[i].result);
	rc = observe_from_json(seen, instance, list, err);
	json_decref(list);
	return rc;
}

static int observe_now(struct engine_cli *cli, const struct spec_set *set, struct observed *obs,
		       struct docker_waiter **nets, size_t *n_nets, struct error **err)
{
	struct loop *l = NULL;
	struct docker *d = NULL;
	struct engine_cli_hosts h;
	struct docker_waiter *w = NULL;
	struct observe_stream **reading = NULL;
	struct obs_list *lists = NULL;
	struct observed *seen = NULL;
	char *filter = observe_filter(cli->instance);
	const char *filters[2] = { filter, NULL };
	size_t i, asked;
	int rc = -1;

	memset(&h, 0, sizeof(h));
	if (engine_cli_connect(cli, &l, &d, NULL, err) < 0 ||
	    engine_cli_hosts_make(&h, l, cli->cfg, cli->policy, set, d, err) < 0)
		goto out;
	w = xcalloc(h.n, sizeof(*w));
	lists = xcalloc(h.n, sizeof(*lists));
	seen = xcalloc(h.n, sizeof(*seen));
	reading = xcalloc(h.n, sizeof(struct observe_stream *));
	*nets = xcalloc(h.n, sizeof(**nets));
	*n_nets = h.n;
	for (asked = 0; asked < h.n; asked++) {
		struct docker *hd = h.ep[asked].docker;

		/* Read as it arrives, as `run` reads it: never held whole, whatever its size. */
		reading[asked] = observe_stream_new(cli->instance);
		if (spec_set_swarm(set)) {
			/* A swarm's tasks, wherever they run: read here, its network list below. */
			if (observe_swarm(hd, cli->instance, h.ep[asked].name, &seen[asked], err) < 0)
				break;
			w[asked].done = 1;
			w[asked].result.status = DOCKER_OK;
		} else if (docker_container_list_stream(hd, DOCKER_OBSERVE, filters, observe_stream_chunk,
							reading[asked], docker_waiter_done, &w[asked], err) < 0)
			break;
		if (docker_network_list(hd, DOCKER_OBSERVE, NULL, docker_waiter_done, &(*nets)[asked], err) < 0) {
			(void)docker_wait(hd, &w[asked]);
			break;
		}
	}
	/* Every call asked completes (they run at once) before any is judged, or the clients go. */
	for (i = 0; i < asked; i++) {
		(void)docker_wait(h.ep[i].docker, &w[i]);
		(void)docker_wait(h.ep[i].docker, &(*nets)[i]);
	}
	if (asked < h.n)
		goto out;
	for (i = 0; i < h.n; i++) {
		const struct docker_result *bad = !docker_status_ok(w[i].result.status)		? &w[i].result
						  : !docker_status_ok((*nets)[i].result.status) ? &(*nets)[i].result
												: NULL;

		if (bad) {
			error_set(err, ERR_TRANSPORT, "cannot list %s on endpoint '%s' (%s): %s",
				  bad == &w[i].result ? "containers" : "networks", h.ep[i].name,
				  docker_endpoint(h.ep[i].docker), bad->message);
			goto out;
		}
		if (!spec_set_swarm(set) && observe_stream_finish(reading[i], &seen[i], err) < 0) {
			error_wrap(err, "endpoint '%s' (%s)", h.ep[i].name, docker_endpoint(h.ep[i].docker));
			goto out;
		}
		docker_result_release(&w[i].result);
		lists[i].host = h.ep[i].name;
		lists[i].parsed = &seen[i];
	}
	rc = observe_from_lists(obs, cli->instance, lists, h.n, err);
out:
	for (i = 0; w && i < h.n; i++) {
		docker_result_release(&w[i].result);
		observed_release(&seen[i]);
		observe_stream_free(reading[i]);
	}
	free(reading);
	free(w);
	free(seen);
	free(lists);
	free(filter);
	engine_cli_hosts_release(&h);
	if (d)
		docker_free(d);
	if (l)
		loop_free(l);
	return rc;
}

/*
 * A deployment whose template names a network that is another's, and that
 * the operator's policy does not list, is refused as the engine would refuse
 * it when its first container is made: in the engine's words, at the field.
 */
static void refuse_foreign_networks(struct plan *p, const struct desired *des, const struct spec_set *set,
				    const struct docker_waiter *nets, size_t n_nets)
{
	const struct spec_policy *policy = set ? set->policy : NULL;
	size_t i, k;

	for (i = 0; i < des->n; i++) {
		const struct desired_deployment *dd = &des->v[i];
		const char *net = desired_network_to_create(&dd->tmpl), *used = NULL;
		struct spec_diags diags;
		struct spec_pos pos;
		char *name, *why, *line;

		if (net == NULL)
			continue;
		name = desired_network_name(des, &dd->tmpl);
		/* The network is made on each endpoint the placement may use: another's on any of them is refused. */
		for (k = 0; k < n_nets; k++)
			if (desired_may_place(set, dd, k) &&
			    network_listed(&nets[k].result, name, strcmp(name, net) != 0 ? net : NULL, des->instance,
					   &used) == NETWORK_FOREIGN &&
			    !spec_policy_network_allowed(policy, used))
				break;
		if (k == n_nets) {
			free(name);
			continue;
		}
		why = network_refusal(used, policy);
		pos = dd->spec->meta.pos;
		if (dd->spec->tmpl.network_pos.line) {
			pos.line = dd->spec->tmpl.network_pos.line;
			pos.col = dd->spec->tmpl.network_pos.col;
		}
		spec_diags_init(&diags);
		spec_diags_add(&diags, &pos, spec_kind_name(SPEC_DEPLOYMENT), dd->name, "spec.template.network", "%s",
			       why);
		line = spec_diag_format(&diags.v[0]);
		(void)plan_refuse(p, dd->name, line);
		spec_diags_release(&diags);
		FREE_ALL(name, why, line);
	}
}

static void print_plan(const struct plan *p, const struct desired *des, int json)
{
	if (json) {
		json_t *j = plan_to_json(p, des);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		struct buf b;

		buf_init(&b, 64u << 20);
		plan_render_text(p, des, &b, isatty(STDOUT_FILENO));
		fputs(b.data, stdout);
		buf_release(&b);
	}
}

int cmd_plan(int argc, char **argv)
{
	struct engine_cli cli;
	struct spec_set *set = NULL;
	struct desired des;
	struct observed obs;
	struct statefile st;
	struct plan p;
	struct plan_options popt;
	struct docker_waiter *nets = NULL;
	size_t n_nets = 0, i;
	struct config *conf = NULL;
	struct error *err = NULL;
	int rc, json = 0;

	engine_cli_init(&cli);
	desired_init(&des);
	observed_init(&obs);
	statefile_init(&st, NULL);
	plan_init(&p);
	rc = plan_opts(&cli, &conf, &json, argc, argv);
	if (rc >= 0)
		goto out;
	if (engine_cli_load(&cli, &set, &err) < 0 || statefile_load(&st, cli.state_path, &err) < 0 ||
	    desired_build(&des, set, cli.instance, cli.commit, cli.labels, cli.n_labels, &err) < 0 ||
	    observe_now(&cli, set, &obs, &nets, &n_nets, &err) < 0) {
		fprintf(stderr, "auriga plan: %s\n", error_msg(err));
		rc = 1;
		goto out;
	}
	if (cli.name_prefix)
		desired_set_name_prefix(&des, cli.name_prefix);
	memset(&popt, 0, sizeof(popt));
	popt.prune = cli.prune;
	popt.check_policy = 1;
	popt.set = set;
	plan_build(&p, &des, &obs, &st, &popt);
	plan_place(&p, &des, &obs, set);
	refuse_foreign_networks(&p, &des, set, nets, n_nets);
	print_plan(&p, &des, json);
	if (p.n_refused)
		rc = 1;
	else
		rc = p.n_changes ? 2 : 0;
out:
	error_free(err);
	for (i = 0; i < n_nets; i++)
		docker_result_release(&nets[i].result);
	free(nets);
	plan_release(&p);
	statefile_release(&st);
	observed_release(&obs);
	desired_release(&des);
	if (set)
		spec_set_free(set);
	engine_cli_release(&cli);
	config_free(conf);
	return rc;
}
