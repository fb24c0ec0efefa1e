/* The engine's probe registry: a runner per running container, its verdicts waking the pass. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "probe/probe.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "status/metrics.h"
#include "util.h"

static void on_probe_change(struct probe_runner *r, const struct probe_state *st, unsigned changed, void *arg)
{
	struct eng_probe *p = arg;

	(void)r;
	(void)st;
	if (changed & (PROBE_CHANGED_READY | PROBE_CHANGED_LIVE_FAILED | PROBE_CHANGED_STARTUP_FAILED |
		       PROBE_CHANGED_STARTED))
		engine_kick(p->e);
}

/* Every probe attempt, counted per deployment for /metrics. */
static void on_probe_result(struct probe_runner *r, enum probe_type t, enum probe_result res, void *arg)
{
	struct eng_probe *p = arg;

	(void)r;
	auriga_metrics_probe_result(p->e->o.metrics, p->deployment, probe_type_name(t), probe_result_name(res));
}

struct eng_probe *engine_probe_find(struct engine *e, const char *id)
{
	return strmap_get(&e->probe_index, id);
}

const struct probe_state *engine_probe_state(const struct eng_probe *p, struct probe_state *tmp)
{
	if (p == NULL)
		return NULL;
	if (p->r)
		return probe_runner_state(p->r);
	if (!p->bare)
		return NULL;
	memset(tmp, 0, sizeof(*tmp));
	tmp->started = 1;
	tmp->ready = 1;
	tmp->started_since_ms = p->bare_since;
	tmp->ready_since_ms = p->bare_since;
	return tmp;
}

void engine_probe_restart(struct eng_probe *p)
{
	p->healthy_since = 0;
	if (p->r)
		probe_runner_restart(p->r, 0);
	else if (p->bare)
		p->bare_since = loop_now(p->e->loop);
}

void engine_probe_free(struct eng_probe *p)
{
	probe_runner_free(p->r);
	free(p->id);
	free(p->deployment);
	free(p);
}

void engine_probe_ensure(struct engine *e, const struct desired_deployment *dd, const struct obs_container *c)
{
	struct eng_probe *p = engine_probe_find(e, c->id);
	struct probe_port ports[16];
	struct probe_config pc;
	struct spec_probes probes;
	struct error *err = NULL;
	struct eng_host *h = engine_host_of(e, c);
	int loopback = c->address == NULL;	/* else on another machine, reached at its endpoint's address */
	int exec_first = 0;
	size_t i, n = 0;

	if (p) {
		p->seen = 1;
		return;
	}
	if (h == NULL)
		return;	/* on an endpoint the Cluster does not name: not probed, so never ready */
	/*
	 * On a network auriga owns, probes go to the container's own address:
	 * a published port answers every connect through docker-proxy, even
	 * when nothing listens inside. Elsewhere, the published port.
	 */
	for (i = 0; (c->network_ip == NULL || !loopback) && i < c->n_ports && n < ARRAY_SIZE(ports); i++) {
		if (c->ports[i].host_port == 0)
			continue;
		ports[n].container_port = c->ports[i].container_port;
		/* Published on 127.0.0.1 (or all addresses): probe through the loopback, or at the endpoint's address. */
		snprintf(ports[n].target.host, sizeof(ports[n].target.host), "%s",
			 obs_container_addr(c, &c->ports[i]));
		ports[n].target.port = c->ports[i].host_port;
		n++;
	}
	/*
	 * An exec readiness probe is Docker's HEALTHCHECK too (desired.c): Docker
	 * runs it, and the pass reads its verdict from the container list, so
	 * the runner keeps only startup and liveness.
	 */
	probes = *spec_deployment_probes(dd->spec);
	if (dd->tmpl.health_cmd) {
		/*
		 * Docker makes its first check one interval after the start (API
		 * 1.41 has no start interval). Until then the runner makes the
		 * same check itself, from the start at the probe's own period, as
		 * a startup probe that never gives up: its first pass says ready
		 * (decide_container). It stops there, so the command runs twice
		 * only until the container is first ready. Not with a startup or a
		 * liveness probe of the spec's: started is theirs to say.
		 */
		/* Not for a task on a swarm of several nodes: an exec goes through the manager, which may not run it. */
		if (probes.startup.kind == SPEC_PROBE_NONE && probes.liveness.kind == SPEC_PROBE_NONE &&
		    !(c->node_name && h->swarm_nodes > 1)) {
			probes.startup = probes.readiness;
			probes.startup.success_threshold = 1;
			probes.startup.failure_threshold = INT_MAX;
			exec_first = 1;
		}
		probes.readiness.kind = SPEC_PROBE_NONE;
	}
	memset(&pc, 0, sizeof(pc));
	pc.loop = e->loop;
	pc.http = e->http;
	pc.docker = h->docker;
	pc.container_id = c->id;
	pc.container = &dd->spec->tmpl;
	pc.probes = &probes;
	pc.ports = ports;
	pc.n_ports = n;
	pc.address = loopback ? c->network_ip : NULL;
	pc.on_change = on_probe_change;
	pc.on_result = on_probe_result;
	pc.budget = &e->probe_budget;
	p = xcalloc(1, sizeof(*p));
	p->e = e;
	p->id = xstrdup(c->id);
	p->deployment = xstrdup(dd->name);
	p->seen = 1;
	p->exec_first = exec_first;
	pc.arg = p;
	if (probes.startup.kind == SPEC_PROBE_NONE && probes.readiness.kind == SPEC_PROBE_NONE &&
	    probes.liveness.kind == SPEC_PROBE_NONE) {
		p->bare = 1;
		p->bare_since = loop_now(e->loop);
	} else if ((p->r = probe_runner_new(&pc, &err)) == NULL) {
		struct eng_dep *ed = engine_dep_get(e, dd->name);
		char *m = xasprintf("cannot probe '%s': %s", c->name, error_msg(err));

		log_warn(COMPONENT, "probe setup failed", "deployment", dd->name, "container", c->name, "error",
			 error_msg(err), (char *)NULL);
		str_set(&ed->last_error, m);
		free(m);
		error_free(err);
	}
	e->probes = xrealloc(e->probes, (e->n_probes + 1) * sizeof(struct eng_probe *));
	e->probes[e->n_probes++] = p;
	strmap_put(&e->probe_index, p->id, p);
}

void engine_probes_sweep(struct engine *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_probes; i++) {
		if (e->probes[i]->seen) {
			e->probes[n++] = e->probes[i];
		} else {
			strmap_del(&e->probe_index, e->probes[i]->id);
			engine_probe_free(e->probes[i]);
		}
	}
	e->n_probes = n;
	for (i = 0; i < e->n_probes; i++)
		e->probes[i]->seen = 0;
}

void engine_probe_describe(const struct eng_probe *p, struct buf *b)
{
	const struct probe_state *st;

	if (p == NULL || p->r == NULL)
		return;
	st = probe_runner_state(p->r);
	if (st->last_failure[0])
		(void)buf_printf(b, "; last probe failure: %s", st->last_failure);
}
