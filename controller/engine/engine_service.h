/* Services of Rolling and Recreate deployments: NGINX upstreams follow the ready replicas, as Kubernetes endpoints do. */
#ifndef AURIGA_ENGINE_SERVICE_H
#define AURIGA_ENGINE_SERVICE_H

#include <stddef.h>

#include "model/desired.h"
#include "rollout/rollout.h"
#include "spec.h"

struct engine_router;

/*
 * After rollout_step chose res for a deployment that is not released in
 * slots: every Service of it gets, as its upstream, the replicas that are
 * running and ready and that res does not remove. A replica leaves the
 * upstream before it is stopped: while NGINX is not yet seen serving that
 * upstream, res keeps no removal of a running container (they go a pass
 * later) and is not complete. Nothing changes at the router while some
 * running container's readiness is not known yet (a restarted controller
 * keeps what NGINX serves). *fail (NULL when none) says why the router
 * cannot do it: no router can be made, NGINX refused or did not serve the
 * change. A deployment with no Service is left as it is. *unserved is set
 * while NGINX is not yet seen serving the upstreams of v as given (a change
 * under way or held back): a container left out of them (not ready: one whose
 * liveness failed) is stopped only once it is 0. A router that fails is not
 * waited for.
 */
void engine_service_pass(struct engine_router *er, const struct spec_set *set, const struct desired_deployment *dd,
			 const struct rollout_ctr *v, size_t n, struct rollout_result *res, char **fail,
			 int *unserved);

#endif
