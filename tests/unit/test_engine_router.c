/* Unit tests for the engine's router: a Service's endpoints from its containers, never cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine/engine_router.h"
#include "error.h"
#include "model/observe.h"
#include "rollout/traffic.h"
#include "testmain.h"
#include "traffic/router.h"

#define N_CTRS 300

/* n running containers of slot, publishing 9003 at base + i. */
struct ctrs {
	struct obs_container c[N_CTRS];
	struct obs_port p[N_CTRS];
	struct rollout_ctr v[N_CTRS];
	int route[N_CTRS];
};

static void make(struct ctrs *s, size_t n, const char *slot, const char *rev, int base)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < n; i++) {
		s->p[i].container_port = 9003;
		s->p[i].host_port = base + (int)i;
		snprintf(s->p[i].host_ip, sizeof(s->p[i].host_ip), "127.0.0.1");
		s->c[i].slot = (char *)slot;
		s->c[i].revision = (char *)rev;
		s->c[i].ordinal = (int)i;
		s->c[i].state = OBS_RUNNING;
		s->c[i].ports = &s->p[i];
		s->c[i].n_ports = 1;
		s->v[i].c = &s->c[i];
		s->v[i].known = 1;
		s->v[i].ready = 1;
		s->route[i] = 100;
	}
}

static size_t count_servers(const char *text)
{
	size_t n = 0;
	const char *p;

	for (p = strstr(text, "\tserver 127.0.0.1:"); p != NULL; p = strstr(p + 1, "\tserver 127.0.0.1:"))
		n++;
	return n;
}

/*
 * A Service of 300 ready containers: every one is an endpoint, and the NGINX
 * configuration built from them lists 300 server lines.
 */
static void three_hundred_endpoints(void **state)
{
	struct ctrs *s = calloc(1, sizeof(*s));
	struct router_service rs = { "api", 8080, 1, 10, NULL, 0 };
	struct error *err = NULL;
	struct buf b;

	(void)state;
	assert_non_null(s);
	make(s, N_CTRS, "green", "abcdef1", 20000);
	rs.endpoints = engine_router_endpoints(s->v, N_CTRS, s->route, "green", 9003, &rs.n_endpoints);
	assert_int_equal(rs.n_endpoints, N_CTRS);
	assert_int_equal(rs.endpoints[N_CTRS - 1].port, 20000 + N_CTRS - 1);
	buf_init(&b, 1 << 22);
	if (router_render_named(&b, NULL, "g1", NULL, NULL, &rs, 1, &err) != 0)
		fail_msg("render: %s", error_msg(err));
	assert_int_equal(count_servers(b.data), N_CTRS);
	buf_release(&b);
	free((void *)rs.endpoints);
	free(s);
}

/* Both slots: the new slot's first, the stable one's as backups; a container without a route is left out. */
static void backups_and_routes(void **state)
{
	struct ctrs *s = calloc(1, sizeof(*s));
	struct router_endpoint *ep;
	size_t n, i;

	(void)state;
	assert_non_null(s);
	make(s, N_CTRS, "blue", "abcdef1", 20000);
	/* The last 150 are green at the new revision, the rest blue at the stable one, as backups. */
	for (i = 0; i < N_CTRS; i++) {
		if (i >= N_CTRS / 2) {
			s->c[i].slot = (char *)"green";
			s->c[i].revision = (char *)"0123456";
		} else {
			s->route[i] = TRAFFIC_ROUTE_BACKUP;
		}
	}
	ep = engine_router_endpoints(s->v, N_CTRS, s->route, "green", 9003, &n);
	assert_int_equal(n, N_CTRS);
	assert_false(ep[0].backup);
	assert_int_equal(ep[0].weight, 100);
	assert_int_equal(ep[0].port, 20000 + N_CTRS / 2);
	assert_true(ep[N_CTRS - 1].backup);
	free(ep);
	/* No route, or no port published for the target: left out. */
	s->route[N_CTRS / 2] = 0;
	ep = engine_router_endpoints(s->v, N_CTRS, s->route, "green", 9003, &n);
	assert_int_equal(n, N_CTRS - 1);
	free(ep);
	ep = engine_router_endpoints(s->v, N_CTRS, s->route, "green", 9004, &n);
	assert_int_equal(n, 0);
	free(ep);
	free(s);
}

TEST_MAIN(
	cmocka_unit_test(three_hundred_endpoints),
	cmocka_unit_test(backups_and_routes))
