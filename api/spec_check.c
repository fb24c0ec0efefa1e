/* Semantic checks a schema cannot express: references, dependsOn cycles, port clashes, budgets, policy. */
#include "buf.h"
#include "policy.h"
#include "spec.h"
#include "spec_internal.h"
#include "spec_backup.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sorted name index over one kind, for lookups in O(log n) on large sets. */
struct name_ix {
	const char *name;
	size_t idx;
};

struct checker {
	struct spec_set *set;
	struct spec_diags *d;
	const struct spec_cluster *cluster;
	struct name_ix *ix[SPEC_KIND_COUNT];
	size_t n_ix[SPEC_KIND_COUNT];
	int *phase;
	size_t before;
};

static int ix_cmp(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static const struct spec_meta *meta_of(const struct spec_set *set, enum spec_kind k, size_t i)
{
	switch (k) {
	case SPEC_CLUSTER:
		return &set->clusters[i]->meta;
	case SPEC_DEPLOYMENT:
		return &set->deployments[i]->meta;
	case SPEC_SERVICE:
		return &set->services[i]->meta;
	case SPEC_JOB:
		return &set->jobs[i]->meta;
	case SPEC_BACKUP_POLICY:
		return &set->backup_policies[i]->meta;
	default:
		return &set->analysis_templates[i]->meta;
	}
}

static size_t count_of(const struct spec_set *set, enum spec_kind k)
{
	static const size_t off[] = { offsetof(struct spec_set, n_clusters),
		offsetof(struct spec_set, n_deployments), offsetof(struct spec_set, n_services),
		offsetof(struct spec_set, n_jobs), offsetof(struct spec_set, n_analysis_templates),
		offsetof(struct spec_set, n_backup_policies) };

	return *(const size_t *)(const void *)((const char *)set + off[k]);
}

/* The index of name among kind k, or -1. The first of duplicates wins. */
static long lookup(const struct checker *c, enum spec_kind k, const char *name)
{
	size_t lo = 0, hi = c->n_ix[k];

	if (name == NULL)
		return -1;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (strcmp(c->ix[k][mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < c->n_ix[k] && strcmp(c->ix[k][lo].name, name) == 0)
		return (long)c->ix[k][lo].idx;
	return -1;
}

static void build_index(struct checker *c, enum spec_kind k)
{
	size_t n = count_of(c->set, k), i, m = 0;

	c->ix[k] = xcalloc(n + 1, sizeof(*c->ix[k]));
	for (i = 0; i < n; i++) {
		const struct spec_meta *meta = meta_of(c->set, k, i);

		if (meta->name) {
			c->ix[k][m].name = meta->name;
			c->ix[k][m++].idx = i;
		}
	}
	qsort(c->ix[k], m, sizeof(*c->ix[k]), ix_cmp);
	c->n_ix[k] = m;
	for (i = 1; i < m; i++) {
		const struct spec_meta *first, *dup;

		if (strcmp(c->ix[k][i].name, c->ix[k][i - 1].name) != 0)
			continue;
		first = meta_of(c->set, k, c->ix[k][i - 1].idx);
		dup = meta_of(c->set, k, c->ix[k][i].idx);
		if (k == SPEC_CLUSTER)
			continue;	/* reported as a second Cluster */
		spec_obj_err(c->d, k, dup, "metadata.name", "duplicate %s name \"%s\" (first at %s:%d)",
			     spec_kind_name(k), dup->name, first->pos.file ? first->pos.file : "?",
			     first->pos.line);
	}
}

#define ERR(c, k, meta, path, ...) spec_obj_err((c)->d, (k), (meta), (path), __VA_ARGS__)

/* ---- Cluster ---- */

static void check_cluster(struct checker *c)
{
	const struct spec_cluster *cl = c->cluster;
	size_t i, j;
	char path[160];

	for (i = 1; i < c->set->n_clusters; i++)
		ERR(c, SPEC_CLUSTER, &c->set->clusters[i]->meta, "metadata.name",
		    "only one Cluster per snapshot (the first is \"%s\" at %s:%d)", cl->meta.name,
		    cl->meta.pos.file ? cl->meta.pos.file : "?", cl->meta.pos.line);
	if (cl->meta.invalid)
		return;
	/* One way to reload NGINX: its command, or SIGHUP to its container. */
	if (cl->router.container != NULL && cl->router.n_reload_command > 0)
		ERR(c, SPEC_CLUSTER, &cl->meta, "spec.router.container",
		    "give reloadCommand or container, not both");
	for (i = 0; i < cl->n_role_order; i++)
		for (j = 0; j < i; j++)
			if (strcmp(cl->role_order[i], cl->role_order[j]) == 0) {
				snprintf(path, sizeof(path), "spec.roleOrder[%zu]", i);
				ERR(c, SPEC_CLUSTER, &cl->meta, path, "role \"%s\" listed twice",
				    cl->role_order[i]);
			}
	/* Which endpoints exist, their urls and TLS are the operator's policy's (policy_check.c). */
	for (i = 0; i < cl->n_endpoints; i++) {
		const struct spec_endpoint *e = &cl->endpoints[i];

		snprintf(path, sizeof(path), "spec.endpoints[%zu]", i);
		for (j = 0; j < i; j++)
			if (e->name && cl->endpoints[j].name &&
			    strcmp(e->name, cl->endpoints[j].name) == 0)
				ERR(c, SPEC_CLUSTER, &cl->meta, path, "endpoint name \"%s\" used twice",
				    e->name);
		/* Swarm places the tasks over its nodes: a second endpoint would be a second scheduler. */
		if (e->engine == SPEC_ENGINE_SWARM && cl->n_endpoints > 1) {
			snprintf(path, sizeof(path), "spec.endpoints[%zu].engine", i);
			ERR(c, SPEC_CLUSTER, &cl->meta, path,
			    "a swarm endpoint is the Cluster's only endpoint (Swarm places the tasks over its nodes); "
			    "this Cluster names %zu", cl->n_endpoints);
		}
	}
}

/* The Cluster's swarm endpoint, or NULL when its replicas are containers auriga makes. */
static const struct spec_endpoint *swarm_endpoint(const struct checker *c)
{
	size_t i;

	for (i = 0; c->cluster && i < c->cluster->n_endpoints; i++)
		if (c->cluster->endpoints[i].engine == SPEC_ENGINE_SWARM)
			return &c->cluster->endpoints[i];
	return NULL;
}

/* What a Deployment cannot be on Swarm (yet): refused, never accepted and left undone. */
static void check_on_swarm(struct checker *c, const struct spec_deployment *d)
{
	const struct spec_endpoint *sw = swarm_endpoint(c);
	const char *name;
	char path[160];
	size_t i;
	int traffic;

	if (sw == NULL)
		return;
	name = sw->name ? sw->name : "local";
	traffic = d->strategy.type == SPEC_STRATEGY_BLUEGREEN || d->strategy.type == SPEC_STRATEGY_CANARY;
	if (d->tmpl.network)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, "spec.template.network",
		    "a template network is not supported on a swarm endpoint (the Cluster's endpoint \"%s\" has "
		    "engine: swarm): the tasks join the node's default network", name);
	if (d->placement.set)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, "spec.placement",
		    "a placement is not supported on a swarm endpoint (the Cluster's endpoint \"%s\" has engine: "
		    "swarm): Swarm places the tasks over its nodes", name);
	/* Host mode: every task publishes the same port on its node, on every address of it. */
	for (i = 0; i < d->tmpl.n_ports; i++) {
		const struct ynode *ip;

		snprintf(path, sizeof(path), "spec.template.ports[%zu].hostIP", i);
		ip = d->meta.node ? spec_node_at(d->meta.node, path) : NULL;
		if (ip && ip->type == YNODE_SCALAR && strcmp(ip->str, "0.0.0.0") != 0)
			ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
			    "\"%.60s\" cannot be kept on a swarm endpoint: Swarm publishes a task's port on every "
			    "address of its node (leave hostIP out, or give 0.0.0.0)", ip->str);
		snprintf(path, sizeof(path), "spec.template.ports[%zu].hostPort", i);
		/* Two slots, each a service: their tasks would publish the same port on a node. */
		if (d->tmpl.ports[i].host_port > 0 && traffic)
			ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
			    "on a swarm endpoint a %s release runs each slot as a service whose tasks publish hostPort "
			    "%d themselves, so the two slots would clash on a node; leave hostPort out and Swarm picks "
			    "one for each task (the router's Services are where clients connect)",
			    d->strategy.type == SPEC_STRATEGY_BLUEGREEN ? "BlueGreen" : "Canary", d->tmpl.ports[i].host_port);
		else if (d->tmpl.ports[i].host_port > 0 && d->replicas > 1)
			ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
			    "on a swarm endpoint every task publishes hostPort %d itself (no port per replica), so "
			    "%d replicas would clash on a node; leave hostPort out and Swarm picks one for each task",
			    d->tmpl.ports[i].host_port, d->replicas);
	}
}

/* ---- the container template ---- */

static int env_name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

/* Sizes that overflow or do not parse: refused, never taken as "no limit". */
static void check_limits(struct checker *c, enum spec_kind k, const struct spec_meta *m,
			 const struct spec_container *t)
{
	static const char mem[] = "spec.template.resources.limits.memory";
	static const char cpu[] = "spec.template.resources.limits.cpu";
	const struct ynode *n;

	if (t->memory_limit < 0) {
		n = m->node ? spec_node_at(m->node, mem) : NULL;
		ERR(c, k, m, mem,
		    "\"%.40s\" is not a memory size auriga can use (from one byte to 8 EiB, a number "
		    "with an optional suffix Ki, Mi, Gi, Ti, k, M, G or T)",
		    n && n->type == YNODE_SCALAR ? n->str : "?");
	}
	if (t->cpu_millis < 0) {
		n = m->node ? spec_node_at(m->node, cpu) : NULL;
		ERR(c, k, m, cpu,
		    "\"%.40s\" is not a CPU amount auriga can use (cores, or millicores with the "
		    "suffix m, at most %lld m)",
		    n && n->type == YNODE_SCALAR ? n->str : "?", (long long)SPEC_CPU_MILLIS_MAX);
	}
}

static void check_template(struct checker *c, enum spec_kind k, const struct spec_meta *m,
			   const struct spec_container *t, int is_job)
{
	size_t i, j;
	char path[160];

	check_limits(c, k, m, t);

	for (i = 0; i < t->n_env; i++) {
		if (!env_name_ok(t->env[i].key)) {
			snprintf(path, sizeof(path), "spec.template.env[%s]", t->env[i].key);
			ERR(c, k, m, path, "\"%s\" is not a valid environment variable name",
			    t->env[i].key);
		}
	}
	for (i = 0; i < t->n_ports; i++) {
		const struct spec_port *p = &t->ports[i];

		for (j = 0; j < i; j++) {
			const struct spec_port *q = &t->ports[j];

			if (p->name && q->name && strcmp(p->name, q->name) == 0) {
				snprintf(path, sizeof(path), "spec.template.ports[%zu].name", i);
				ERR(c, k, m, path, "port name \"%s\" used twice", p->name);
			}
			if (p->container_port == q->container_port && p->protocol == q->protocol) {
				snprintf(path, sizeof(path), "spec.template.ports[%zu].containerPort", i);
				ERR(c, k, m, path, "container port %d listed twice", p->container_port);
			}
		}
	}
	for (i = 0; i < t->n_volumes; i++) {
		const struct spec_volume *v = &t->volumes[i];

		for (j = 0; j < i; j++) {
			if (v->name && t->volumes[j].name && strcmp(v->name, t->volumes[j].name) == 0) {
				snprintf(path, sizeof(path), "spec.template.volumes[%zu].name", i);
				ERR(c, k, m, path, "volume name \"%s\" used twice", v->name);
			}
			if (v->mount_path && t->volumes[j].mount_path &&
			    strcmp(v->mount_path, t->volumes[j].mount_path) == 0) {
				snprintf(path, sizeof(path), "spec.template.volumes[%zu].mountPath", i);
				ERR(c, k, m, path, "mount path \"%s\" used twice", v->mount_path);
			}
		}
		if (v->host_path && v->per_replica) {
			snprintf(path, sizeof(path), "spec.template.volumes[%zu].perReplica", i);
			ERR(c, k, m, path, "a host bind mount cannot be per replica");
		}
		if (v->per_replica && is_job) {
			snprintf(path, sizeof(path), "spec.template.volumes[%zu].perReplica", i);
			ERR(c, k, m, path, "a Job has no replicas");
		}
		if (v->host_path && is_job) {
			snprintf(path, sizeof(path), "spec.template.volumes[%zu].hostPath", i);
			ERR(c, k, m, path, "a Job mounts the volumes of the deployment it runs for, by name: a host "
			    "path is the deployment's to declare");
		}
	}
	/*
	 * A Job (a hook or a smoke test) runs on a network auriga owns: its
	 * deployment's, or the instance's jobs network; a network of its own
	 * would be a promise it cannot keep. It publishes nothing: it runs once
	 * and nothing is meant to reach it.
	 */
	if (is_job && t->network)
		ERR(c, k, m, "spec.template.network",
		    "\"%s\" refused: a Job runs on the network of the deployment it runs for (or auriga's jobs "
		    "network), never on a network of its own or the host's (leave network out)", t->network);
	if (is_job && t->n_ports)
		ERR(c, k, m, "spec.template.ports",
		    "refused: a Job publishes no ports (it runs once and nothing is meant to reach it); remove them");
	if (is_job && t->restart_policy != SPEC_RESTART_NEVER)
		ERR(c, k, m, "spec.template.restartPolicy",
		    "\"%s\" refused: a Job's container runs once (a failed run is tried again by spec.backoffLimit); "
		    "leave it out or say Never", t->restart_policy == SPEC_RESTART_ALWAYS ? "Always" : "OnFailure");
	/* Privileged, host paths, other networks, capabilities, images and resources: policy_check.c. */
}

/* ---- Deployment ---- */

static int port_ref_ok(const struct spec_container *t, const struct spec_port_ref *r)
{
	return r->name == NULL || spec_container_port(t, r) != 0;
}

static void check_probe(struct checker *c, const struct spec_deployment *d, const char *which,
			const struct spec_probe *p, int single_success)
{
	const struct ynode *pn = ynode_get(ynode_get(d->meta.node, "spec"), "probes");
	char path[160];
	int handlers = 0;

	if (p->kind == SPEC_PROBE_NONE)
		return;
	pn = ynode_get(pn, which);
	handlers = !!ynode_get(pn, "httpGet") + !!ynode_get(pn, "tcpSocket") + !!ynode_get(pn, "exec");
	snprintf(path, sizeof(path), "spec.probes.%s", which);
	if (handlers != 1) {
		ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
		    "needs exactly one of httpGet, tcpSocket or exec, got %d", handlers);
		return;
	}
	if ((p->kind == SPEC_PROBE_HTTP || p->kind == SPEC_PROBE_TCP) &&
	    !port_ref_ok(&d->tmpl, &p->port)) {
		snprintf(path, sizeof(path), "spec.probes.%s.%s.port", which,
			 p->kind == SPEC_PROBE_HTTP ? "httpGet" : "tcpSocket");
		ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
		    "no port named \"%s\" in spec.template.ports", p->port.name);
	}
	if (single_success && p->success_threshold != 1) {
		snprintf(path, sizeof(path), "spec.probes.%s.successThreshold", which);
		ERR(c, SPEC_DEPLOYMENT, &d->meta, path, "must be 1 for %s probes, got %d", which,
		    p->success_threshold);
	}
}

static void check_ref(struct checker *c, const struct spec_deployment *d, enum spec_kind k,
		      const char *name, const char *path)
{
	if (name && lookup(c, k, name) < 0)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, path, "no %s named \"%s\"", spec_kind_name(k),
		    name);
}

static void check_refs(struct checker *c, const struct spec_deployment *d, enum spec_kind k,
		       char *const *names, size_t n, const char *path)
{
	char p[128];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		check_ref(c, d, k, names[i], p);
	}
}

/*
 * A Job a deployment runs (a hook, its smoke test) mounts that deployment's
 * volumes by name: each must be one the deployment declares and its replicas
 * share, so that the Job's mount is the deployment's own volume.
 */
static void check_job_volumes(struct checker *c, const struct spec_deployment *d, const char *name,
			      const char *path)
{
	long j = name ? lookup(c, SPEC_JOB, name) : -1;
	const struct spec_job *job = j >= 0 ? c->set->jobs[j] : NULL;
	size_t i, k;

	for (i = 0; job && i < job->tmpl.n_volumes; i++) {
		const struct spec_volume *jv = &job->tmpl.volumes[i];
		const struct spec_volume *dv = NULL;

		for (k = 0; k < d->tmpl.n_volumes && jv->name; k++)
			if (d->tmpl.volumes[k].name && strcmp(d->tmpl.volumes[k].name, jv->name) == 0)
				dv = &d->tmpl.volumes[k];
		if (dv == NULL)
			ERR(c, SPEC_DEPLOYMENT, &d->meta, path, "Job \"%s\" mounts volume \"%s\", which this "
			    "deployment does not declare in spec.template.volumes", name, jv->name ? jv->name : "");
		else if (dv->per_replica)
			ERR(c, SPEC_DEPLOYMENT, &d->meta, path, "Job \"%s\" mounts volume \"%s\", which is per "
			    "replica here: a Job mounts only a volume the replicas share", name, jv->name);
	}
}

static void check_job_volume_refs(struct checker *c, const struct spec_deployment *d, char *const *names,
				  size_t n, const char *path)
{
	char p[128];
	size_t i;

	for (i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "%s[%zu]", path, i);
		check_job_volumes(c, d, names[i], p);
	}
}

/* Hooks name Jobs, which mount the deployment's volumes (check_job_volumes). */
static void check_hooks(struct checker *c, const struct spec_deployment *d)
{
	check_refs(c, d, SPEC_JOB, d->hooks.pre_deploy, d->hooks.n_pre_deploy, "spec.hooks.preDeploy");
	check_refs(c, d, SPEC_JOB, d->hooks.post_deploy, d->hooks.n_post_deploy, "spec.hooks.postDeploy");
	check_refs(c, d, SPEC_JOB, d->hooks.on_rollback, d->hooks.n_on_rollback, "spec.hooks.onRollback");
	check_job_volume_refs(c, d, d->hooks.pre_deploy, d->hooks.n_pre_deploy, "spec.hooks.preDeploy");
	check_job_volume_refs(c, d, d->hooks.post_deploy, d->hooks.n_post_deploy, "spec.hooks.postDeploy");
	check_job_volume_refs(c, d, d->hooks.on_rollback, d->hooks.n_on_rollback, "spec.hooks.onRollback");
	/* A failure policy with no postDeploy hook to fail would be accepted and never used. */
	if (d->hooks.n_post_deploy == 0 && d->hooks.post_failure_set)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, "spec.hooks.postDeployFailure",
		    "postDeployFailure is set but there is no postDeploy hook for it to act on");
}

/* A Service named by a BlueGreen strategy must exist and route to this deployment. */
static void check_bg_service(struct checker *c, const struct spec_deployment *d, const char *name,
			     const char *path)
{
	long i = lookup(c, SPEC_SERVICE, name);
	const struct spec_service *s;

	if (name == NULL)
		return;
	if (i < 0) {
		ERR(c, SPEC_DEPLOYMENT, &d->meta, path, "no Service named \"%s\"", name);
		return;
	}
	s = c->set->services[i];
	if (s->deployment && d->meta.name && strcmp(s->deployment, d->meta.name) != 0)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
		    "Service \"%s\" routes to Deployment \"%s\", not to this one", name,
		    s->deployment);
}

static int has_service(const struct checker *c, const struct spec_deployment *d)
{
	size_t i;

	for (i = 0; i < c->set->n_services; i++)
		if (c->set->services[i]->deployment && d->meta.name &&
		    strcmp(c->set->services[i]->deployment, d->meta.name) == 0)
			return 1;
	return 0;
}

static void check_strategy(struct checker *c, const struct spec_deployment *d)
{
	const struct spec_strategy *s = &d->strategy;
	const struct ynode *sn = ynode_get(ynode_get(d->meta.node, "spec"), "strategy");
	const struct spec_meta *m = &d->meta;
	static const char *const blocks[] = { "rollingUpdate", "", "blueGreen", "canary" };
	static const char *const types[] = { "RollingUpdate", "Recreate", "BlueGreen", "Canary" };
	char path[160];
	size_t i, j;

	for (i = 0; i < ARRAY_SIZE(blocks); i++) {
		if (!*blocks[i] || i == s->type || ynode_get(sn, blocks[i]) == NULL)
			continue;
		snprintf(path, sizeof(path), "spec.strategy.%s", blocks[i]);
		ERR(c, SPEC_DEPLOYMENT, m, path, "only allowed with type %s", types[i]);
	}
	switch (s->type) {
	case SPEC_STRATEGY_ROLLING:
		if (spec_intpct_resolve(&s->max_unavailable, d->replicas, 0) == 0 &&
		    spec_intpct_resolve(&s->max_surge, d->replicas, 1) == 0 && d->replicas > 0)
			ERR(c, SPEC_DEPLOYMENT, m, "spec.strategy.rollingUpdate",
			    "maxUnavailable and maxSurge cannot both be 0");
		break;
	case SPEC_STRATEGY_BLUEGREEN:
		if (s->active_service == NULL) {
			ERR(c, SPEC_DEPLOYMENT, m, "spec.strategy.blueGreen.activeService",
			    "required with type BlueGreen");
			break;
		}
		check_bg_service(c, d, s->active_service, "spec.strategy.blueGreen.activeService");
		check_bg_service(c, d, s->preview_service, "spec.strategy.blueGreen.previewService");
		if (s->preview_service && strcmp(s->preview_service, s->active_service) == 0)
			ERR(c, SPEC_DEPLOYMENT, m, "spec.strategy.blueGreen.previewService",
			    "must differ from activeService");
		check_ref(c, d, SPEC_JOB, s->smoke_test_job, "spec.strategy.blueGreen.smokeTestJob");
		check_job_volumes(c, d, s->smoke_test_job, "spec.strategy.blueGreen.smokeTestJob");
		for (i = 0; i < s->n_pre_promotion_analysis; i++) {
			snprintf(path, sizeof(path),
				 "spec.strategy.blueGreen.prePromotionAnalysis.templates[%zu]."
				 "templateName",
				 i);
			check_ref(c, d, SPEC_ANALYSIS_TEMPLATE, s->pre_promotion_analysis[i], path);
		}
		break;
	case SPEC_STRATEGY_CANARY:
		if (s->n_steps == 0) {
			ERR(c, SPEC_DEPLOYMENT, m, "spec.strategy.canary.steps",
			    "required with type Canary");
			break;
		}
		if (!has_service(c, d))
			ERR(c, SPEC_DEPLOYMENT, m, "spec.strategy",
			    "a Canary deployment needs a Service in front of it to weight traffic");
		for (i = 0; i < s->n_steps; i++)
			for (j = 0; j < s->steps[i].n_templates; j++) {
				snprintf(path, sizeof(path),
					 "spec.strategy.canary.steps[%zu].analysis.templates[%zu]."
					 "templateName",
					 i, j);
				check_ref(c, d, SPEC_ANALYSIS_TEMPLATE, s->steps[i].templates[j], path);
			}
		break;
	default:
		break;
	}
}

static void check_budget(struct checker *c, const struct spec_deployment *d)
{
	const struct spec_budget *b = &d->budget;

	if (b->defaulted)
		return;
	if (b->min_available.set && spec_intpct_resolve(&b->min_available, d->replicas, 1) >
					    d->replicas)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, "spec.disruptionBudget.minAvailable",
		    "%ld is more than the %d replicas",
		    spec_intpct_resolve(&b->min_available, d->replicas, 1), d->replicas);
	if (b->max_unavailable.set && !b->max_unavailable.percent &&
	    b->max_unavailable.value > d->replicas)
		ERR(c, SPEC_DEPLOYMENT, &d->meta, "spec.disruptionBudget.maxUnavailable",
		    "%ld is more than the %d replicas", b->max_unavailable.value, d->replicas);
}

static int has_per_replica_volume(const struct spec_deployment *d)
{
	size_t i;

	for (i = 0; i < d->tmpl.n_volumes; i++)
		if (d->tmpl.volumes[i].per_replica)
			return 1;
	return 0;
}

/*
 * A deployment's containers are "<name>-<ordinal>", a BlueGreen or Canary
 * deployment's "<name>-<slot>-<ordinal>"; on Swarm its service is "<name>",
 * a slot's "<name>-<slot>", a pinned replica's "<name>-<ordinal>". So a
 * deployment named "x-blue" beside a BlueGreen or Canary "x" (or "x-0" beside
 * an "x" with a per-replica volume on Swarm) would take the other's names:
 * Docker would refuse whichever came second, mid-rollout. Refused here, at
 * the name, instead.
 */
static void check_name_clash(struct checker *c, const struct spec_deployment *d)
{
	const char *name = d->meta.name, *dash;
	int swarm = swarm_endpoint(c) != NULL;

	if (name == NULL)
		return;
	for (dash = strchr(name, '-'); dash; dash = strchr(dash + 1, '-')) {
		char prefix[256];
		const char *rest = dash + 1;
		const struct spec_deployment *o;
		long t;
		int slot, traffic;

		if ((size_t)(dash - name) >= sizeof(prefix))
			break;
		memcpy(prefix, name, (size_t)(dash - name));
		prefix[dash - name] = '\0';
		t = lookup(c, SPEC_DEPLOYMENT, prefix);
		if (t < 0)
			continue;
		o = c->set->deployments[t];
		traffic = o->strategy.type == SPEC_STRATEGY_BLUEGREEN || o->strategy.type == SPEC_STRATEGY_CANARY;
		slot = strcmp(rest, "blue") == 0 || strcmp(rest, "green") == 0;
		if (traffic && slot)
			ERR(c, SPEC_DEPLOYMENT, &d->meta, "metadata.name",
			    "\"%s\" is the name of deployment \"%s\"'s slot %s (%s): both would name a container "
			    "%s-0; rename one of them", name, prefix, rest,
			    o->strategy.type == SPEC_STRATEGY_BLUEGREEN ? "BlueGreen" : "Canary", name);
		else if (swarm && rest[0] && strspn(rest, "0123456789") == strlen(rest) && has_per_replica_volume(o))
			ERR(c, SPEC_DEPLOYMENT, &d->meta, "metadata.name",
			    "\"%s\" is the name of the service of deployment \"%s\"'s replica %s on the swarm (with a "
			    "per-replica volume, each replica is a service of its own once the swarm has several "
			    "nodes); rename one of them", name, prefix, rest);
	}
}

static void check_deployment(struct checker *c, size_t di)
{
	const struct spec_deployment *d = c->set->deployments[di];
	const struct spec_meta *m = &d->meta;
	char path[160];
	size_t i;

	for (i = 0; i < d->n_depends_on; i++) {
		long t = lookup(c, SPEC_DEPLOYMENT, d->depends_on[i]);

		snprintf(path, sizeof(path), "spec.dependsOn[%zu]", i);
		if (t < 0)
			ERR(c, SPEC_DEPLOYMENT, m, path, "no Deployment named \"%s\"",
			    d->depends_on[i]);
		else if ((size_t)t == di)
			ERR(c, SPEC_DEPLOYMENT, m, path, "a Deployment cannot depend on itself");
		else if (c->phase[t] > c->phase[di])
			ERR(c, SPEC_DEPLOYMENT, m, path,
			    "depends on \"%s\", which rolls out in a later phase (%d > %d)",
			    d->depends_on[i], c->phase[t], c->phase[di]);
	}
	check_template(c, SPEC_DEPLOYMENT, m, &d->tmpl, 0);
	if (d->probes) {
		check_probe(c, d, "startup", &d->probes->startup, 1);
		check_probe(c, d, "readiness", &d->probes->readiness, 0);
		check_probe(c, d, "liveness", &d->probes->liveness, 1);
	}
	check_strategy(c, d);
	check_budget(c, d);
	check_hooks(c, d);
	check_on_swarm(c, d);
	check_name_clash(c, d);
}

/* dependsOn cycles: a depth-first walk; a back edge closes a cycle, reported once where it closes. */
enum { WHITE, GREY, BLACK };

static void cycle_walk(struct checker *c, size_t i, unsigned char *color, size_t *stack,
		       size_t depth)
{
	const struct spec_deployment *d = c->set->deployments[i];
	size_t k;

	color[i] = GREY;
	stack[depth] = i;
	for (k = 0; k < d->n_depends_on; k++) {
		long t = lookup(c, SPEC_DEPLOYMENT, d->depends_on[k]);

		if (t < 0 || (size_t)t == i)
			continue;
		if (color[t] == GREY) {
			struct buf b = BUF_INIT_MAX(4096);
			char path[64];
			size_t s = depth;

			while (s > 0 && stack[s] != (size_t)t)
				s--;
			for (; s <= depth; s++)
				buf_printf(&b, "%s -> ", c->set->deployments[stack[s]]->meta.name);
			buf_puts(&b, d->depends_on[k]);
			snprintf(path, sizeof(path), "spec.dependsOn[%zu]", k);
			ERR(c, SPEC_DEPLOYMENT, &d->meta, path, "dependsOn cycle: %s", b.data);
			buf_release(&b);
		} else if (color[t] == WHITE) {
			cycle_walk(c, (size_t)t, color, stack, depth + 1);
		}
	}
	color[i] = BLACK;
}

static void check_cycles(struct checker *c)
{
	size_t n = c->set->n_deployments, i;
	unsigned char *color = xcalloc(n + 1, 1);
	size_t *stack = xcalloc(n + 1, sizeof(*stack));

	for (i = 0; i < n; i++)
		if (color[i] == WHITE)
			cycle_walk(c, i, color, stack, 0);
	free(color);
	free(stack);
}

/* ---- host ports ---- */

struct port_range {
	int proto;
	long lo, hi;
	enum spec_kind kind;
	size_t obj, port;
};

static int range_cmp(const void *a, const void *b)
{
	const struct port_range *x = a, *y = b;

	if (x->proto != y->proto)
		return x->proto - y->proto;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->kind != y->kind)
		return (int)x->kind - (int)y->kind;
	if (x->obj != y->obj)
		return x->obj < y->obj ? -1 : 1;
	return x->port < y->port ? -1 : x->port > y->port;
}

static void range_where(const struct checker *c, const struct port_range *r, char *out, size_t n)
{
	if (r->kind == SPEC_SERVICE)
		snprintf(out, n, "Service/%s's port %ld", c->set->services[r->obj]->meta.name, r->lo);
	else if (r->lo == r->hi)
		snprintf(out, n, "Deployment/%s's host port %ld",
			 c->set->deployments[r->obj]->meta.name, r->lo);
	else
		snprintf(out, n, "Deployment/%s's host ports %ld-%ld",
			 c->set->deployments[r->obj]->meta.name, r->lo, r->hi);
}

static void check_ports(struct checker *c)
{
	struct port_range *r = NULL, *prev;
	size_t n = 0, cap = 0, i, j;

	for (i = 0; i < c->set->n_deployments; i++) {
		const struct spec_deployment *d = c->set->deployments[i];
		int span = spec_deployment_host_port_span(d);

		if (d->meta.invalid)
			continue;
		for (j = 0; j < d->tmpl.n_ports; j++) {
			const struct spec_port *p = &d->tmpl.ports[j];

			if (p->host_port <= 0 || span <= 0)
				continue;
			if ((long)p->host_port + span - 1 > 65535) {
				char path[160];

				snprintf(path, sizeof(path), "spec.template.ports[%zu].hostPort", j);
				ERR(c, SPEC_DEPLOYMENT, &d->meta, path,
				    "host ports %d-%ld run past 65535 (one per replica and slot)",
				    p->host_port, (long)p->host_port + span - 1);
				continue;
			}
			XGROW(r, cap, n + 1);
			r[n++] = (struct port_range){ p->protocol, p->host_port,
				p->host_port + span - 1, SPEC_DEPLOYMENT, i, j };
		}
	}
	for (i = 0; i < c->set->n_services; i++) {
		const struct spec_service *s = c->set->services[i];

		if (s->meta.invalid || s->port <= 0)
			continue;
		XGROW(r, cap, n + 1);
		r[n++] = (struct port_range){ SPEC_PROTO_TCP, s->port, s->port, SPEC_SERVICE, i, 0 };
	}
	if (n)
		qsort(r, n, sizeof(*r), range_cmp);
	prev = NULL;
	for (i = 0; i < n; i++) {
		if (prev && prev->proto == r[i].proto && r[i].lo <= prev->hi) {
			char mine[160], theirs[160], path[96];
			const struct spec_meta *m;

			range_where(c, &r[i], mine, sizeof(mine));
			range_where(c, prev, theirs, sizeof(theirs));
			if (r[i].kind == SPEC_SERVICE) {
				m = &c->set->services[r[i].obj]->meta;
				snprintf(path, sizeof(path), "spec.port");
			} else {
				m = &c->set->deployments[r[i].obj]->meta;
				snprintf(path, sizeof(path), "spec.template.ports[%zu].hostPort",
					 r[i].port);
			}
			ERR(c, r[i].kind, m, path, "host port clash: %s and %s", mine, theirs);
		}
		if (prev == NULL || prev->proto != r[i].proto || r[i].hi > prev->hi)
			prev = &r[i];
	}
	free(r);
}

/* ---- Service, Job, AnalysisTemplate ---- */

/*
 * The router reaches a replica at the port it publishes on the host (127.0.0.1:hostPort + i): a
 * Service whose port the deployment does not publish would route nowhere, whatever the strategy.
 * On a swarm every port of the template is published, on a port Swarm picks unless hostPort says.
 */
static void check_service_published(struct checker *c, const struct spec_service *s,
				    const struct spec_deployment *d)
{
	int cport = s->target_port.name == NULL && s->target_port.number == 0
			    ? d->tmpl.ports[0].container_port
			    : spec_container_port(&d->tmpl, &s->target_port);
	size_t i;

	if (swarm_endpoint(c) != NULL)
		return;
	for (i = 0; i < d->tmpl.n_ports; i++)
		if (d->tmpl.ports[i].container_port == cport && d->tmpl.ports[i].host_port > 0)
			return;
	ERR(c, SPEC_SERVICE, &s->meta, s->target_port.name || s->target_port.number ? "spec.targetPort" : "spec.deployment",
	    "Deployment \"%s\" does not publish port %d (no hostPort): the router reaches replicas at "
	    "127.0.0.1:hostPort, so this Service would route nowhere", s->deployment, cport);
}

static void check_service(struct checker *c, const struct spec_service *s)
{
	long di = lookup(c, SPEC_DEPLOYMENT, s->deployment);
	const struct spec_deployment *d;

	if (s->deployment == NULL)
		return;
	if (di < 0) {
		ERR(c, SPEC_SERVICE, &s->meta, "spec.deployment", "no Deployment named \"%s\"",
		    s->deployment);
		return;
	}
	d = c->set->deployments[di];
	if (d->meta.invalid)
		return;
	if (s->target_port.name == NULL && s->target_port.number == 0 && d->tmpl.n_ports == 0)
		ERR(c, SPEC_SERVICE, &s->meta, "spec.deployment",
		    "Deployment \"%s\" declares no ports to route to", s->deployment);
	else if (!port_ref_ok(&d->tmpl, &s->target_port))
		ERR(c, SPEC_SERVICE, &s->meta, "spec.targetPort",
		    "Deployment \"%s\" has no port named \"%s\"", s->deployment,
		    s->target_port.name);
	else
		check_service_published(c, s, d);
}

/* The placeholders the engine fills into a Prometheus query before each run (engine_traffic.c). */
static const char *const query_placeholders[] = { "revision", "slot", "deployment", "containers", "instances" };

/*
 * A query's placeholders are checked here as the run would expand them, so that a misspelt one
 * or a '{{' left open is refused by validate and not found only when a release is judged.
 */
static void check_query_placeholders(struct checker *c, const struct spec_analysis_template *a, size_t i)
{
	const char *p = a->metrics[i].query, *open;
	char path[80];

	snprintf(path, sizeof(path), "spec.metrics[%zu].provider.prometheus.query", i);
	while (p && (open = strstr(p, "{{")) != NULL) {
		const char *name = open + 2, *end, *close = strstr(name, "}}");
		size_t k, len;

		if (close == NULL) {
			ERR(c, SPEC_ANALYSIS_TEMPLATE, &a->meta, path, "'{{' without '}}': \"%.40s\"", open);
			return;
		}
		while (*name == ' ')
			name++;
		end = close;
		while (end > name && end[-1] == ' ')
			end--;
		len = (size_t)(end - name);
		for (k = 0; k < ARRAY_SIZE(query_placeholders); k++)
			if (strlen(query_placeholders[k]) == len && strncmp(query_placeholders[k], name, len) == 0)
				break;
		if (k == ARRAY_SIZE(query_placeholders))
			ERR(c, SPEC_ANALYSIS_TEMPLATE, &a->meta, path,
			    "unknown placeholder \"{{%.*s}}\" (known: revision, slot, deployment, containers, instances)",
			    (int)(close - open - 2), open + 2);
		p = close + 2;
	}
}

static void check_template_metrics(struct checker *c, const struct spec_analysis_template *a)
{
	size_t i, j;
	char path[64];

	for (i = 0; i < a->n_metrics; i++) {
		if (a->metrics[i].provider == SPEC_METRIC_PROMETHEUS)
			check_query_placeholders(c, a, i);
		if (a->metrics[i].provider == SPEC_METRIC_JOB && a->metrics[i].job_name &&
		    lookup(c, SPEC_JOB, a->metrics[i].job_name) < 0) {
			snprintf(path, sizeof(path), "spec.metrics[%zu].provider.job.name", i);
			ERR(c, SPEC_ANALYSIS_TEMPLATE, &a->meta, path, "no Job named \"%s\"",
			    a->metrics[i].job_name);
		}
	}
	for (i = 0; i < a->n_metrics; i++)
		for (j = 0; j < i; j++)
			if (a->metrics[i].name && a->metrics[j].name &&
			    strcmp(a->metrics[i].name, a->metrics[j].name) == 0) {
				snprintf(path, sizeof(path), "spec.metrics[%zu].name", i);
				ERR(c, SPEC_ANALYSIS_TEMPLATE, &a->meta, path,
				    "metric name \"%s\" used twice", a->metrics[i].name);
			}
}

size_t spec_set_check(struct spec_set *set, struct spec_diags *diags)
{
	struct checker c;
	size_t i;
	int k;

	memset(&c, 0, sizeof(c));
	c.set = set;
	c.d = diags;
	c.before = spec_diags_total(diags);
	c.cluster = spec_set_cluster(set);
	for (k = 0; k < SPEC_KIND_COUNT; k++)
		build_index(&c, (enum spec_kind)k);
	c.phase = xcalloc(set->n_deployments + 1, sizeof(*c.phase));
	for (i = 0; i < set->n_deployments; i++)
		c.phase[i] = spec_deployment_phase_index(set, set->deployments[i]);
	check_cluster(&c);
	spec_policy_check(set->policy, set, diags);
	for (i = 0; i < set->n_deployments; i++)
		if (!set->deployments[i]->meta.invalid)
			check_deployment(&c, i);
	check_cycles(&c);
	check_ports(&c);
	for (i = 0; i < set->n_services; i++)
		if (!set->services[i]->meta.invalid)
			check_service(&c, set->services[i]);
	for (i = 0; i < set->n_jobs; i++)
		if (!set->jobs[i]->meta.invalid)
			check_template(&c, SPEC_JOB, &set->jobs[i]->meta, &set->jobs[i]->tmpl, 1);
	for (i = 0; i < set->n_analysis_templates; i++)
		if (!set->analysis_templates[i]->meta.invalid)
			check_template_metrics(&c, set->analysis_templates[i]);
	for (k = 0; k < SPEC_KIND_COUNT; k++)
		free(c.ix[k]);
	free(c.phase);
	return spec_diags_total(diags) - c.before;
}
