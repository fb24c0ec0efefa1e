/* Benchmark driver: list, inspect and create/start/remove through auriga's Docker client, printing ms per operation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "runtime/loop.h"
#include "util.h"

static struct docker *D;

static int sync_ok(struct docker_waiter *w, const char *what)
{
	enum docker_status st = docker_wait(D, w);

	if (!docker_status_ok(st)) {
		fprintf(stderr, "bench: %s: %s\n", what, w->result.message);
		docker_result_release(&w->result);
		return -1;
	}
	docker_result_release(&w->result);
	return 0;
}

/*
 * Times n read calls of one kind, each waited for before the next: a list of the labelled
 * containers (id NULL) or an inspect of container id. Prints "what ms-per-call"; -1 when one failed.
 */
static int time_reads(const char *what, long n, const char *const *filters, const char *id)
{
	int64_t t0 = now_ms();

	for (long i = 0; i < n; i++) {
		struct docker_waiter w = { 0 };

		if (id != NULL)
			docker_container_inspect(D, DOCKER_OBSERVE, id, docker_waiter_done, &w, NULL);
		else
			docker_container_list(D, DOCKER_OBSERVE, filters, docker_waiter_done, &w, NULL);
		if (sync_ok(&w, what) < 0)
			return -1;
	}
	printf("%s %.3f\n", what, (double)(now_ms() - t0) / (double)n);
	return 0;
}

/* usage: bench_docker_driver N_READ N_CREATE LABEL IMAGE INSPECT_ID NAME_PREFIX */
int main(int argc, char **argv)
{
	struct docker_config cfg;
	struct loop *l;
	struct error *err = NULL;
	long nread, ncreate, i;
	int64_t t0;
	char filter[256], name[128];
	const char *filters[] = { filter, NULL };
	struct kv label = { NULL, NULL };
	char *eq;

	if (argc != 7 || parse_long(argv[1], 1, 100000, &nread) < 0 || parse_long(argv[2], 1, 1000, &ncreate) < 0) {
		fprintf(stderr, "usage: %s N_READ N_CREATE LABEL IMAGE INSPECT_ID NAME_PREFIX\n", argv[0]);
		return 2;
	}
	snprintf(filter, sizeof(filter), "label=%s", argv[3]);
	label.key = xstrdup(argv[3]);
	eq = strchr(label.key, '=');
	if (eq == NULL)
		return 2;
	*eq = '\0';
	label.value = eq + 1;
	l = loop_new(&err);
	docker_config_default(&cfg);
	D = docker_new(l, &cfg, &err);
	if (D == NULL) {
		fprintf(stderr, "bench: %s\n", error_msg(err));
		return 1;
	}
	{
		struct docker_waiter w = { 0 };

		docker_negotiate(D, docker_waiter_done, &w, NULL);
		if (sync_ok(&w, "negotiate") < 0)
			return 1;
	}
	if (time_reads("list", nread, filters, NULL) < 0 || time_reads("inspect", nread, filters, argv[5]) < 0)
		return 1;
	t0 = now_ms();
	for (i = 0; i < ncreate; i++) {
		struct docker_create_spec s = { 0 };
		struct docker_waiter w = { 0 };

		snprintf(name, sizeof(name), "%s-a%ld", argv[6], i);
		s.name = name;
		s.image = argv[4];
		s.labels = &label;
		s.n_labels = 1;
		s.network = "none";
		docker_container_create(D, DOCKER_ROLLOUT, &s, docker_waiter_done, &w, NULL);
		if (sync_ok(&w, "create") < 0)
			return 1;
		memset(&w, 0, sizeof(w));
		docker_container_start(D, DOCKER_ROLLOUT, name, docker_waiter_done, &w, NULL);
		if (sync_ok(&w, "start") < 0)
			return 1;
		memset(&w, 0, sizeof(w));
		docker_container_remove(D, DOCKER_ROLLOUT, name, 1, 1, docker_waiter_done, &w, NULL);
		if (sync_ok(&w, "remove") < 0)
			return 1;
	}
	printf("create_start_remove %.3f\n", (double)(now_ms() - t0) / (double)ncreate);
	docker_free(D);
	loop_free(l);
	free(label.key);
	return 0;
}
