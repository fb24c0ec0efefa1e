/* The event loop, HTTP client and Docker client a C integration test group runs its calls on. */
#include "testloop.h"

#include <stdio.h>

#include "docker/docker.h"
#include "error.h"
#include "runtime/http_client.h"
#include "runtime/loop.h"

int test_loop_new(struct loop **L, struct http_client **H)
{
	struct error *err = NULL;

	*L = loop_new(&err);
	if (*L != NULL && H != NULL)
		*H = http_client_new(*L, &err);
	if (err != NULL) {
		fprintf(stderr, "setup: %s\n", error_msg(err));
		error_free(err);
		return -1;
	}
	return 0;
}

struct docker *test_docker_new(struct loop *L, int from_env)
{
	struct docker_config dc;
	struct docker *d = NULL;
	struct error *err = NULL;

	docker_config_default(&dc);
	if (!from_env || docker_config_from_env(&dc, &err) == 0)
		d = docker_new(L, &dc, &err);
	if (d == NULL) {
		fprintf(stderr, "setup: %s\n", err != NULL ? error_msg(err) : "no Docker client");
		error_free(err);
	}
	return d;
}

void test_loop_free(struct loop *L, struct http_client *H)
{
	http_client_free(H);
	loop_free(L);
}
