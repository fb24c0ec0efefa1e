/* The engine's router: made from the Cluster's settings and made anew when they change, NGINX in a container signalled through Docker, changes confirmed on the loop. */
#include "engine/engine_router.h"

#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "model/observe.h"
#include "rollout/traffic.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "util.h"

#define COMPONENT "traffic"

/* A SIGHUP under way; orphaned (er NULL) when the router it was for is gone. */
struct er_signal {
	struct engine_router *er;
};

struct engine_router {
	struct loop *loop;
	struct docker *docker;
	struct http_client *http;
	void (*kick)(void *arg);
	void *arg;
	const struct spec_set *set;
	struct router *router;
	char *error;			/* why the router cannot be made */
	char *fail;			/* a change NGINX did not take, for the next take_fail */
	char *fail_for;			/* the deployment whose change it was, or NULL: anyone's */
	char *confirm_for;		/* the deployment whose change is being confirmed, or NULL: every one's */
	char *error_log;		/* NGINX's error log (a copy of the operator's setting), or NULL */
	char *instance;			/* named in the router's file, or NULL */
	char *prefix;			/* before the file's and the upstreams' names, or NULL */
	const struct observed *obs;	/* the instance's containers, or NULL */
	uint64_t confirm_timer;		/* the confirmation's next round, or 0 */
	int confirming;			/* a chain of rounds is under way */
	int fresh;			/* the router is new: its first change is every deployment's */
	struct er_signal *signal;	/* the SIGHUP under way, or NULL */
};

struct engine_router *engine_router_new(struct loop *l, struct docker *d, struct http_client *h,
					void (*kick)(void *arg), void *arg)
{
	struct engine_router *er = xcalloc(1, sizeof(*er));

	er->loop = l;
	er->docker = d;
	er->http = h;
	er->kick = kick;
	er->arg = arg;
	return er;
}

/* Drops the router: its confirmation stops, a SIGHUP still under way reports to nobody. */
static void drop_router(struct engine_router *er)
{
	if (er->confirm_timer)
		loop_timer_cancel(er->loop, er->confirm_timer);
	er->confirm_timer = 0;
	er->confirming = 0;
	if (er->signal != NULL)
		er->signal->er = NULL;
	er->signal = NULL;
	router_free(er->router);
	er->router = NULL;
}

void engine_router_free(struct engine_router *er)
{
	if (er == NULL)
		return;
	drop_router(er);
	FREE_ALL(er->error, er->fail, er->fail_for, er->confirm_for, er->error_log, er->instance, er->prefix, er);
}

void engine_router_set_names(struct engine_router *er, const char *instance, const char *prefix)
{
	str_set(&er->instance, instance);
	str_set(&er->prefix, prefix);
}

void engine_router_set_error_log(struct engine_router *er, const char *path)
{
	/* A copy: the settings it comes from are freed when SIGHUP reloads them. */
	free(er->error_log);
	er->error_log = path != NULL && path[0] != '\0' ? xstrdup(path) : NULL;
}

void engine_router_set_observed(struct engine_router *er, const struct observed *obs)
{
	er->obs = obs;
}

/* ------------------------------------------------------------ NGINX in a container */

static void on_signalled(struct docker_result *res, void *arg)
{
	struct er_signal *s = arg;
	struct engine_router *er = s->er;

	free(s);
	if (er == NULL)
		return;
	er->signal = NULL;
	if (er->router != NULL)
		router_signalled(er->router, docker_status_ok(res->status), docker_result_reason(res));
}

/* The router's signal: POST /containers/{name}/kill?signal=HUP, its outcome told to the router. */
static int signal_container(const char *container, void *arg, struct error **err)
{
	struct engine_router *er = arg;
	struct er_signal *s = xcalloc(1, sizeof(*s));

	s->er = er;
	if (docker_container_kill(er->docker, DOCKER_ROLLOUT, container, "HUP", on_signalled, s, err) < 0) {
		free(s);
		return -1;
	}
	/* An earlier signal still under way judges nothing now. */
	if (er->signal != NULL)
		er->signal->er = NULL;
	er->signal = s;
	log_info(COMPONENT, "router reload", "container", container, "signal", "HUP", LOG_END);
	return 0;
}

/* ------------------------------------------------------------ the router and the specs */

/* The router keeps the services of the specs only: one deleted from Git leaves NGINX at the next apply. */
static void keep_specs(struct engine_router *er)
{
	const char **keep;
	size_t i;

	if (er->router == NULL || er->set == NULL)
		return;
	keep = xcalloc(er->set->n_services + 1, sizeof(*keep));
	for (i = 0; i < er->set->n_services; i++) {
		const struct spec_service *svc = er->set->services[i];

		keep[i] = svc->upstream ? svc->upstream : svc->meta.name;
	}
	router_prune(er->router, keep, er->set->n_services);
	free(keep);
}

/* The Cluster's router settings as a router's configuration; -1 with *err when there are none. */
static int settings(struct engine_router *er, struct router_config *rc, struct error **err)
{
	const struct spec_cluster *cl = er->set ? spec_set_cluster(er->set) : NULL;

	if (cl == NULL)
		return error_set(err, ERR_INVALID, "no Cluster");
	if (router_config_from_spec(rc, &cl->router, err) < 0)
		return -1;
	rc->error_log = er->error_log;
	rc->name_prefix = er->prefix;
	rc->owner = er->instance;
	rc->signal = signal_container;
	rc->signal_arg = er;
	return 0;
}

/*
 * Where the instance's containers (the list holds only those labelled
 * managed-by it) publish their ports, as the router's upstreams name them.
 */
static struct router_endpoint *own_endpoints(const struct observed *obs, size_t *n_out)
{
	struct router_endpoint *ep = NULL;
	size_t i, j, n = 0, cap = 0;

	for (i = 0; obs != NULL && i < obs->n_containers; i++) {
		const struct obs_container *c = obs->containers[i];

		for (j = 0; j < c->n_ports; j++) {
			if (c->ports[j].host_port == 0)
				continue;
			XGROW(ep, cap, n + 1);
			memset(&ep[n], 0, sizeof(ep[n]));
			ep[n].addr = c->address ? c->address : "127.0.0.1";
			ep[n].port = c->ports[j].host_port;
			n++;
		}
	}
	*n_out = n;
	return ep;
}

static struct router *make_router(struct engine_router *er, struct error **err)
{
	struct router_config rc;
	struct router_endpoint *own;
	struct router *r;

	if (settings(er, &rc, err) < 0)
		return NULL;
	own = own_endpoints(er->obs, &rc.n_own_endpoints);
	rc.own_endpoints = own;
	r = router_new(&rc, err);
	free(own);
	return r;
}

void engine_router_set_specs(struct engine_router *er, const struct spec_set *set)
{
	struct router_config rc;
	struct router *old = er->router, *fresh;
	struct error *err = NULL;

	er->set = set;
	if (old != NULL && settings(er, &rc, &err) == 0 && router_config_same(old, &rc)) {
		keep_specs(er);
		return;
	}
	error_free(err);
	err = NULL;
	if (old == NULL)
		return;
	/*
	 * The settings changed in the specs: a router from the new ones takes over
	 * every service, and the next pass reloads NGINX through it and waits
	 * until the new listeners serve.
	 */
	er->router = NULL;
	fresh = make_router(er, &err);
	if (fresh != NULL) {
		router_adopt(fresh, old);
		if (strcmp(router_config_path(fresh), router_config_path(old)) != 0)
			router_retire(old);
		log_info(COMPONENT, "router settings changed", "file", router_config_path(fresh), LOG_END);
	}
	error_free(err);
	er->router = old;
	drop_router(er);
	er->router = fresh;
	er->fresh = 1;
	/* What the old router could not do says nothing of the new one. */
	free(er->fail);
	er->fail = NULL;
	keep_specs(er);
}

struct router *engine_router_get(struct engine_router *er, const char **why)
{
	struct error *err = NULL;

	*why = NULL;
	if (er->router != NULL)
		return er->router;
	er->router = make_router(er, &err);
	er->fresh = 1;
	if (er->router == NULL) {
		if (er->error == NULL || strcmp(er->error, error_msg(err)) != 0) {
			log_error(COMPONENT, "no router", "error", error_msg(err), LOG_END);
			str_set(&er->error, error_msg(err));
		}
		error_free(err);
		*why = er->error;
		return NULL;
	}
	keep_specs(er);
	return er->router;
}

int engine_router_confirming(const struct engine_router *er)
{
	return er->router != NULL && router_confirming(er->router);
}

/* name's business: the change was made for it, or for nobody in particular (a router made anew). */
static int concerns(const char *owner, const char *name)
{
	return owner == NULL || strcmp(owner, name) == 0;
}

int engine_router_confirming_for(const struct engine_router *er, const char *deployment)
{
	return engine_router_confirming(er) && concerns(er->confirm_for, deployment);
}

char *engine_router_take_fail(struct engine_router *er, const char *deployment)
{
	char *f = er->fail;

	if (f == NULL || !concerns(er->fail_for, deployment))
		return NULL;
	er->fail = NULL;
	str_set(&er->fail_for, NULL);
	return f;
}

/* ------------------------------------------------------------ confirmation */

/*
 * The router's confirmation on the loop: a round of GETs through the
 * controller's HTTP client, the next one 10 ms after the last answer. The
 * controller goes on meanwhile, and the pass after the last round acts on
 * what NGINX serves. er->confirming covers the whole chain (timer or round).
 */
static void confirm_next(struct loop *l, void *arg);

static void confirm_done(enum router_confirm_state st, const char *why, void *arg)
{
	struct engine_router *er = arg;

	if (st == ROUTER_CONFIRMING) {
		er->confirm_timer = loop_timer_add(er->loop, 10, confirm_next, er);
		return;
	}
	if (st == ROUTER_CONFIRM_FAILED) {
		log_error(COMPONENT, "router change not served", "error", why, LOG_END);
		str_set(&er->fail, why ? why : "router: change not served");
		str_set(&er->fail_for, er->confirm_for);
	}
	er->confirming = 0;
	er->kick(er->arg);
}

static void confirm_next(struct loop *l, void *arg)
{
	struct engine_router *er = arg;
	struct error *err = NULL;

	(void)l;
	er->confirm_timer = 0;
	if (!router_confirming(er->router)) {
		confirm_done(ROUTER_CONFIRMED, NULL, er);
		return;
	}
	if (router_confirm_round(er->router, er->http, confirm_done, er, &err) < 0) {
		confirm_done(ROUTER_CONFIRM_FAILED, error_msg(err), er);
		error_free(err);
	}
}

void engine_router_follow(struct engine_router *er, const char *deployment)
{
	if (er->router == NULL || !router_confirming(er->router) || er->confirming)
		return;
	/* A new router's first reload renders every service there: each waits for it. */
	str_set(&er->confirm_for, er->fresh ? NULL : deployment);
	er->fresh = 0;
	er->confirming = 1;
	er->confirm_timer = loop_timer_add(er->loop, 10, confirm_next, er);
}

/* ------------------------------------------------------------ endpoints */

/*
 * The endpoints of the containers in slot (in_slot) or outside it with a
 * route: its server weight, or a backup line. Backups (the stable slot at a
 * share of 0, blue-green after the switch while the old slot is kept) are
 * what NGINX falls back on when every new container fails, so a new slot
 * that dies in its monitor window loses no request even before the switch
 * back.
 */
static size_t collect(const struct rollout_ctr *v, size_t n, const int *route, const char *slot, int in_slot,
		      int cport, struct router_endpoint *out)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		int hp;

		if (route[i] == 0 || traffic_in_slot(v[i].c, slot) != in_slot)
			continue;
		hp = obs_container_host_port(v[i].c, cport);
		if (hp == 0)
			continue;
		/* On another machine: at its endpoint's address. */
		out[k].addr = obs_container_addr(v[i].c, NULL);
		out[k].port = hp;
		out[k].backup = route[i] == TRAFFIC_ROUTE_BACKUP;
		out[k].weight = out[k].backup ? 0 : route[i];
		k++;
	}
	return k;
}

struct router_endpoint *engine_router_endpoints(const struct rollout_ctr *v, size_t n, const int *route,
						const char *slot, int cport, size_t *n_out)
{
	struct router_endpoint *ep = xcalloc(n + 1, sizeof(*ep));
	size_t k = 0;

	if (route != NULL) {
		k = collect(v, n, route, slot, 1, cport, ep);
		k += collect(v, n, route, slot, 0, cport, ep + k);
	}
	*n_out = k;
	return ep;
}
