/* The engine's router: made from the Cluster's settings and made anew when they change, NGINX in a container signalled through Docker, changes confirmed on the loop. */
#ifndef AURIGA_ENGINE_ROUTER_H
#define AURIGA_ENGINE_ROUTER_H

#include <stddef.h>

#include "rollout/rollout.h"
#include "spec.h"
#include "traffic/router.h"

struct loop;
struct docker;
struct http_client;
struct engine_router;

/*
 * Owned by the engine's traffic side. The router is made from the Cluster's
 * spec.router on first use. kick(arg) runs a pass when a confirmation ends.
 * A Cluster whose router names a container gets its NGINX reloaded by
 * POST /containers/{name}/kill?signal=HUP through d.
 */
struct engine_router *engine_router_new(struct loop *l, struct docker *d, struct http_client *h,
					void (*kick)(void *arg), void *arg);
void engine_router_free(struct engine_router *er);
/*
 * The instance and its name prefix (copied): the router writes its file and
 * names its upstreams under the prefix, and names the instance in the file,
 * so that several instances share one NGINX. Call before set_specs.
 */
void engine_router_set_names(struct engine_router *er, const char *instance, const char *prefix);
/* NGINX's error log (copied; NULL or "": none), from the operator's settings. */
void engine_router_set_error_log(struct engine_router *er, const char *path);
/*
 * The instance's containers as last listed (borrowed for the engine's
 * life): a router made anew takes over the file its instance wrote under
 * the earlier names only when that file routes to these alone.
 */
struct observed;
void engine_router_set_observed(struct engine_router *er, const struct observed *obs);

/*
 * The spec set in use (borrowed until the next call). Services gone from it
 * leave the router's table. When the Cluster's router settings are not the
 * ones the router was made from (configPath, listenAddress, reloadCommand,
 * container), a router is made from the new ones at once, with every
 * service of the old one, so the next pass renders, reloads and confirms
 * there; the file the settings no longer name is removed with its table.
 */
void engine_router_set_specs(struct engine_router *er, const struct spec_set *set);

/* The router, made from the Cluster on first use; NULL when it cannot be, *why then saying why. */
struct router *engine_router_get(struct engine_router *er, const char **why);
/* 1 while NGINX is not yet seen serving the last change. */
int engine_router_confirming(const struct engine_router *er);
/* 1 while NGINX is not yet seen serving the last change, made for deployment (or for every one). */
int engine_router_confirming_for(const struct engine_router *er, const char *deployment);
/*
 * The change for deployment NGINX did not take (the caller frees it), or
 * NULL; a change made for nobody in particular is anyone's to take.
 */
char *engine_router_take_fail(struct engine_router *er, const char *deployment);
/* After a commit made for deployment (NULL: for every one): follows the confirmation under way, if any, on the loop. */
void engine_router_follow(struct engine_router *er, const char *deployment);

/*
 * The endpoints of one Service (an array of *n_out, freed by the caller;
 * never cut short): each container with a route (traffic_result's route,
 * one entry per container: a server weight, TRAFFIC_ROUTE_BACKUP, or 0 for
 * none), those of slot first. cport is the container port the Service
 * targets; a container that publishes none is left out.
 */
struct router_endpoint *engine_router_endpoints(const struct rollout_ctr *v, size_t n, const int *route,
						const char *slot, int cport, size_t *n_out);

#endif
