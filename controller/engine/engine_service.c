/* Services of Rolling and Recreate deployments: NGINX upstreams follow the ready replicas, as Kubernetes endpoints do. */
#include "engine/engine_service.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "engine/engine_router.h"
#include "engine/engine_traffic.h"
#include "rollout/traffic.h"
#include "runtime/log.h"
#include "traffic/router.h"
#include "util.h"

#define COMPONENT "traffic"

static int removed(const struct rollout_result *res, const struct obs_container *c)
{
	size_t i;

	for (i = 0; i < res->n_ops; i++)
		if (res->ops[i].kind == ROLLOUT_REMOVE && res->ops[i].c == c)
			return 1;
	return 0;
}

/* A running container whose readiness is not known yet (a controller just started): NGINX keeps what it has. */
static int readiness_pending(const struct rollout_ctr *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (obs_container_alive(v[i].c) && !v[i].known)
			return 1;
	return 0;
}

/*
 * Not done while NGINX may still route to what this step removes: every
 * removal of a running container waits for a later pass, and the
 * deployment is not complete before NGINX serves its replicas.
 */
static void hold(struct rollout_result *res)
{
	res->complete = 0;
	engine_traffic_keep_routed(res);
}

/*
 * Each of the deployment's Services as the router should hold it, its
 * upstream the containers routed (route[i] != 0). With stage, puts each in
 * the router's table; else only counts those the table does not hold yet.
 * Returns how many differ, or -1 with why filled when one cannot be staged.
 */
static int services(struct router *r, const struct spec_set *set, const struct desired_deployment *dd,
		    const struct rollout_ctr *v, size_t n, const int *route, int stage, struct buf *why)
{
	struct error *err = NULL;
	int differ = 0;
	size_t i;

	for (i = 0; i < set->n_services; i++) {
		const struct spec_service *svc = set->services[i];
		struct router_service rs;
		int ret = 0;

		if (svc->deployment == NULL || strcmp(svc->deployment, dd->name) != 0)
			continue;
		memset(&rs, 0, sizeof(rs));
		rs.endpoints = engine_router_endpoints(v, n, route, TRAFFIC_SLOT_BLUE,
						       spec_container_port(&dd->spec->tmpl, &svc->target_port),
						       &rs.n_endpoints);
		rs.upstream = svc->upstream ? svc->upstream : svc->meta.name;
		rs.port = svc->port;
		rs.max_fails = svc->max_fails;
		rs.fail_timeout_seconds = svc->fail_timeout_seconds;
		differ += !router_holds(r, &rs);
		if (stage)
			ret = router_stage(r, &rs, &err);
		free((void *)rs.endpoints);
		if (ret < 0) {
			(void)buf_printf(why, "router: service '%s': %s", svc->meta.name, error_msg(err));
			error_free(err);
			return -1;
		}
	}
	return differ;
}

/* Stages the deployment's upstreams and applies them; 1 when NGINX is to be seen serving them first, -1 on failure. */
static int apply(struct engine_router *er, struct router *r, const struct spec_set *set,
		 const struct desired_deployment *dd, const struct rollout_ctr *v, size_t n, const int *route,
		 struct buf *why)
{
	struct error *err = NULL;
	char count[16];
	size_t i, k = 0;
	int changed = 0;

	if (services(r, set, dd, v, n, route, 1, why) < 0)
		return -1;
	if (router_commit_async(r, &changed, &err) < 0) {
		(void)buf_printf(why, "%s", error_msg(err));
		error_free(err);
		return -1;
	}
	for (i = 0; i < n; i++)
		k += route[i] != 0;
	snprintf(count, sizeof(count), "%zu", k);
	if (changed)
		log_info(COMPONENT, "router applied", "deployment", dd->name, "ready", count, (char *)NULL);
	if (!router_confirming(r))
		return 0;
	engine_router_follow(er, dd->name);
	return 1;
}

static int has_service(const struct spec_set *set, const char *deployment)
{
	size_t i;

	for (i = 0; set != NULL && i < set->n_services; i++)
		if (set->services[i]->deployment && strcmp(set->services[i]->deployment, deployment) == 0)
			return 1;
	return 0;
}

void engine_service_pass(struct engine_router *er, const struct spec_set *set, const struct desired_deployment *dd,
			 const struct rollout_ctr *v, size_t n, struct rollout_result *res, char **fail,
			 int *unserved)
{
	const char *no_router = NULL;
	struct router *r;
	struct buf why;
	int *route = NULL, differ;
	size_t i;

	*fail = NULL;
	*unserved = 0;
	if (dd->spec == NULL || !has_service(set, dd->name))
		return;
	if (readiness_pending(v, n)) {
		*unserved = 1;
		hold(res);
		return;
	}
	*fail = engine_router_take_fail(er, dd->name);
	if (*fail != NULL || engine_router_confirming_for(er, dd->name)) {
		*unserved = *fail == NULL;
		hold(res);
		return;
	}
	buf_init(&why, 4096);
	r = engine_router_get(er, &no_router);
	if (r == NULL) {
		(void)buf_printf(&why, "router: %s", no_router ? no_router : "not configured");
		goto failed;
	}
	/* The upstream: what runs, is ready and stays. */
	route = n ? xcalloc(n, sizeof(*route)) : NULL;
	for (i = 0; i < n; i++)
		route[i] = obs_container_alive(v[i].c) && v[i].ready && !removed(res, v[i].c);
	/* Applied when the table changes, or when the router has a reload (or a file to take over) due. */
	differ = services(r, set, dd, v, n, route, 0, &why);
	if (differ == 0)
		differ = router_due(r);
	/* Another deployment's change is being confirmed: ours is staged after it. */
	if (differ > 0 && engine_router_confirming(er)) {
		*unserved = 1;
		hold(res);
	} else if (differ > 0) {
		int st = apply(er, r, set, dd, v, n, route, &why);

		if (st < 0)
			goto failed;
		if (st > 0) {
			*unserved = 1;
			hold(res);
		}
	}
	free(route);
	buf_release(&why);
	return;
failed:
	log_error(COMPONENT, "router apply failed", "deployment", dd->name, "error", why.data, (char *)NULL);
	*fail = buf_detach(&why, NULL);
	free(route);
	hold(res);
}
