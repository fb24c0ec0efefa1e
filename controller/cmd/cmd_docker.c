/* `auriga docker`: talks to a Docker endpoint through auriga's own client, to check a connection and watch events. */
#include "cmd/cli.h"
#include "docker/docker.h"
#include "runtime/loop.h"
#include "util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 16

static void usage(FILE *out)
{
	fprintf(out,
		"usage: auriga docker [options] ping | ps | events\n\n"
		"  ping     negotiate the API version and print it\n"
		"  ps       list containers (all states), one line each: id name state image\n"
		"  events   print events as they come: event TYPE ACTION ID NAME TIMENANO\n\n"
		"options:\n"
		"  -H, --host URL        unix:///path or tcp://host:port (default: $DOCKER_HOST or the local socket)\n"
		"      --tlsverify       use TLS and verify the daemon (as $DOCKER_TLS_VERIFY)\n"
		"      --tlscacert FILE  CA that signs the daemon's certificate\n"
		"      --tlscert FILE    client certificate\n"
		"      --tlskey FILE     client key\n"
		"  -f, --filter K=V      filter (label=..., type=...), repeatable\n"
		"  -n, --count N         events: exit after N events\n"
		"  -t, --timeout SEC     events: exit after SEC seconds (status 1 unless --count was reached)\n");
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
	const char *filters[MAX_FILTERS + 1];
	size_t nf;
	long count;		/* events: stop after this many, 0 for no bound */
	long timeout;		/* events: stop after this many seconds, 0 for no bound */
};

/* The options and the action: -1 to go on (argv[optind] names it), or the exit status. */
static int docker_opts(struct docker_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "tlsverify", no_argument, NULL, 'V' },
		{ "tlscacert", required_argument, NULL, 'C' },
		{ "tlscert", required_argument, NULL, 'c' },
		{ "tlskey", required_argument, NULL, 'k' },
		{ "filter", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "H:f:n:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': a->cfg.host = optarg; break;
		case 'V': a->cfg.tls = 1; break;
		case 'C': a->cfg.ca_file = optarg; a->cfg.tls = 1; break;
		case 'c': a->cfg.cert_file = optarg; a->cfg.tls = 1; break;
		case 'k': a->cfg.key_file = optarg; a->cfg.tls = 1; break;
		case 'f':
			if (a->nf == MAX_FILTERS) {
				fprintf(stderr, "auriga docker: at most %d filters\n", MAX_FILTERS);
				return 2;
			}
			a->filters[a->nf++] = optarg;
			break;
		case 'n':
			if (parse_long(optarg, 1, 1000000, &a->count) < 0) {
				fprintf(stderr, "auriga docker: --count '%s' is not a number from 1 to 1000000\n", optarg);
				return 2;
			}
			break;
		case 't':
			if (parse_long(optarg, 1, 86400, &a->timeout) < 0) {
				fprintf(stderr, "auriga docker: --timeout '%s' is not a number of seconds (1 to 86400)\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	return -1;
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
	docker_config_default(&a.cfg);
	rc = docker_opts(&a, argc, argv);
	if (rc >= 0)
		return rc;
	rc = 1;
	what = argv[optind];
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
		fprintf(stderr, "auriga docker: unknown action '%s'\n", what);
		usage(stderr);
		rc = 2;
	}
out:
	if (err)
		fprintf(stderr, "auriga docker: %s\n", error_msg(err));
	error_free(err);
	docker_free(d);
	loop_free(l);
	return rc;
}
