/* `auriga docker`: talks to a Docker endpoint through auriga's own client, to check a connection and watch events. */
#include "cmd/cli.h"
#include "cmd/engine_cli.h"
#include "docker/docker.h"
#include "runtime/loop.h"
#include "source/policy_file.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 16

static void usage(FILE *out, const struct config_extra_flag *extra)
{
	fprintf(out,
		"usage: auriga docker [options] ping | ps | events\n\n"
		"  ping     negotiate the API version and print it\n"
		"  ps       list containers (all states), one line each: id name state image\n"
		"  events   print events as they come: event TYPE ACTION ID NAME TIMENANO\n\n"

		"options:\n");
	config_usage_cmd(out, "docker", extra);
}

struct events_state {
	long want;
	long seen;
	struct loop *loop;
};

static void on_event(const struct docker_event *ev, void *arg)
{
	struct events_state *s = arg;
	const char *name = kv_get(ev->attributes, ev->n_attributes, "name");

	printf("event %s %s %s %s %lld\n", ev->type, ev->action, ev->id, name ? name : "-", (long long)ev->time_ns);
	fflush(stdout);
	if (s->want > 0 && ++s->seen >= s->want)
		loop_stop(s->loop);
}

static void on_stream(int connected, enum docker_status st, const char *msg, void *arg)
{
	(void)arg;
	if (connected)
		printf("stream connected\n");
	else
		printf("stream broken %s: %s\n", docker_status_name(st), msg);
	fflush(stdout);
}

static void on_deadline(struct loop *l, void *arg)
{
	(void)arg;
	loop_stop(l);
}

/* What `auriga docker` was asked. */
struct docker_args {
	struct docker_config cfg;
	struct config *conf;
	const char *filters[MAX_FILTERS + 1];
	int nf;
	long count;		/* events: stop after this many, 0 for no bound */
	long timeout;		/* events: stop after this many seconds, 0 for no bound */
	const char *what;	/* the action */
	const char *endpoint;	/* --endpoint: the policy's endpoint of that name, or NULL */
	struct spec_policy *policy;	/* the operator's policy, read for --endpoint */
};

/* The settings, options and the action: -1 to go on, or the exit status. */
static int docker_opts(struct docker_args *a, int argc, char **argv)
{
	int help = 0, n_count = 0, n_timeout = 0, n_endpoint = 0, rc = -1;
	const char *count = NULL, *timeout = NULL;
	const struct config_extra_flag extra[] = {
		{ "filter", &a->nf, a->filters, "K=V", "filter (label=..., type=...), repeatable", MAX_FILTERS, 'f' },
		{ "count", &n_count, &count, "N", "events: exit after N events", 1, 'n' },
		{ "timeout", &n_timeout, &timeout, "SECONDS",
		  "events: exit after this long (status 1 unless --count was reached)", 1, 't' },
		{ "endpoint", &n_endpoint, &a->endpoint, "NAME",
		  "the operator's policy's endpoint NAME instead of the docker-host setting's", 1, 0 },
		{ "help", &help, NULL, NULL, NULL, 0, 0 },
		{ NULL, NULL, NULL, NULL, NULL, 0, 0 },
	};
	struct error *err = NULL;
	char **pos = NULL;

	if (config_load(&a->conf, argc, argv, NULL, extra, &pos, &err) < 0) {
		fprintf(stderr, "auriga docker: %s\n", error_msg(err));
		rc = 2;
	} else if (help) {
		usage(stdout, extra);
		rc = 0;
	} else if (count && parse_long(count, 1, 1000000, &a->count) < 0) {
		fprintf(stderr, "auriga docker: --count '%s' is not a number from 1 to 1000000\n", count);
		rc = 2;
	} else if (timeout && parse_long(timeout, 1, 86400, &a->timeout) < 0) {
		fprintf(stderr, "auriga docker: --timeout '%s' is not a number of seconds (1 to 86400)\n", timeout);
		rc = 2;
	} else if (pos[0] == NULL || pos[1] != NULL) {
		usage(stderr, extra);
		rc = 2;
	} else {
		a->what = pos[0];
		a->filters[a->nf] = NULL;
		config_log_setup(a->conf);
		engine_cli_docker_config(&a->cfg, a->conf);
		/* A policy file named is read and checked whether or not --endpoint picks one of its endpoints. */
		if ((config_str(a->conf, CFG_POLICY_FILE)[0] || a->endpoint) &&
		    (policy_file_load(&a->policy, config_str(a->conf, CFG_POLICY_FILE),
				      config_str(a->conf, CFG_DOCKER_HOST), &err) < 0 ||
		     (a->endpoint && engine_cli_endpoint_config(&a->cfg, a->conf, a->policy, a->endpoint, &err) < 0))) {
			fprintf(stderr, "auriga docker: %s\n", error_msg(err));
			rc = 1;
		}
	}
	free(pos);
	error_free(err);
	return rc;
}

/* Waits for a call sent to w; 0 when it succeeded, else 1 with Docker's message printed. */
static int wait_ok(struct docker *d, struct docker_waiter *w)
{
	if (docker_wait(d, w) == DOCKER_OK)
		return 0;
	fprintf(stderr, "auriga docker: %s\n", w->result.message);
	return 1;
}

static int act_ping(struct docker *d, struct error **err)
{
	struct docker_waiter w = { 0 };
	int rc = 1;

	if (docker_negotiate(d, docker_waiter_done, &w, err) == 0 && wait_ok(d, &w) == 0) {
		printf("api %s endpoint %s\n", w.result.api_version, docker_endpoint(d));
		rc = 0;
	}
	docker_result_release(&w.result);
	return rc;
}

static int act_ps(struct docker *d, const struct docker_args *a, struct error **err)
{
	struct docker_waiter w = { 0 };
	int rc = 1;

	if (docker_container_list(d, DOCKER_OBSERVE, a->filters, docker_waiter_done, &w, err) == 0 &&
	    wait_ok(d, &w) == 0) {
		size_t i;

		for (i = 0; i < w.result.n_containers; i++)
			printf("%.12s %s %s %s\n", w.result.containers[i].id, w.result.containers[i].name,
			       w.result.containers[i].state, w.result.containers[i].image);
		rc = 0;
	}
	docker_result_release(&w.result);
	return rc;
}

/* Events until --count of them came or --timeout passed: 1 when the count was asked for and not reached. */
static int act_events(struct docker *d, struct loop *l, const struct docker_args *a, struct error **err)
{
	struct events_state s = { a->count, 0, l };
	struct docker_watch *watch = docker_events_watch(d, a->filters, 0, on_event, on_stream, &s, err);

	if (watch == NULL)
		return 1;
	if (a->timeout > 0)
		loop_timer_add(l, a->timeout * 1000, on_deadline, NULL);
	loop_run(l);
	docker_events_stop(watch);
	return a->count == 0 || s.seen >= a->count ? 0 : 1;
}

int cmd_docker(int argc, char **argv)
{
	struct docker_args a;
	struct loop *l = NULL;
	struct docker *d = NULL;
	struct error *err = NULL;
	const char *what;
	int rc;

	memset(&a, 0, sizeof(a));
	rc = docker_opts(&a, argc, argv);
	if (rc >= 0)
		goto out;
	rc = 1;
	what = a.what;
	l = loop_new(&err);
	if (l == NULL)
		goto out;
	d = docker_new(l, &a.cfg, &err);
	if (d == NULL)
		goto out;
	if (strcmp(what, "ping") == 0) {
		rc = act_ping(d, &err);
	} else if (strcmp(what, "ps") == 0) {
		rc = act_ps(d, &a, &err);
	} else if (strcmp(what, "events") == 0) {
		rc = act_events(d, l, &a, &err);
	} else {
		fprintf(stderr, "auriga docker: unknown action '%s': ping, ps or events\n", what);
		rc = 2;
	}
out:
	if (err)
		fprintf(stderr, "auriga docker: %s\n", error_msg(err));
	error_free(err);
	docker_free(d);
	loop_free(l);
	policy_file_free(a.policy);
	config_free(a.conf);
	return rc;
}
