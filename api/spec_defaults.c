/* The defaults pass: fills in every value a spec may leave out, after decode and before the checks. */
#include "policy.h"
#include "spec.h"
#include "spec_internal.h"
#include "strv.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define DEF(field, value)                 \
	do {                              \
		if ((field) < 0)          \
			(field) = (value); \
	} while (0)

static void cluster_defaults(struct spec_cluster *c)
{
	static const char *const roles[] = { "slim", "business", "validator" };
	static const char *const reload[] = { "nginx", "-s", "reload" };

	if (c->n_endpoints == 0) {
		c->endpoints = xcalloc(1, sizeof(*c->endpoints));
		/* "local" with no url: the operator's docker-host setting. */
		c->endpoints[0].name = xstrdup(SPEC_ENDPOINT_LOCAL);
		c->n_endpoints = 1;
	}
	if (c->n_role_order == 0 && c->role_order == NULL) {
		c->role_order = strv_copy((char *const *)roles, ARRAY_SIZE(roles));
		c->n_role_order = ARRAY_SIZE(roles);
	}
	if (c->router.config_path == NULL)
		c->router.config_path = xstrdup("/etc/nginx/conf.d/auriga.conf");
	if (c->router.n_reload_command == 0 && c->router.container == NULL) {
		c->router.reload_command = strv_copy((char *const *)reload, ARRAY_SIZE(reload));
		c->router.n_reload_command = ARRAY_SIZE(reload);
	}
	if (c->router.listen_address == NULL)
		c->router.listen_address = xstrdup("127.0.0.1");
	/* notes_ref and push_notes stay unset when the Cluster says nothing: the operator's settings decide then. */
	/* allow_privileged and allow_host_bind_mounts are resolved against the operator's policy (policy.c). */
}

static void container_defaults(struct spec_container *c, enum spec_restart restart)
{
	size_t i;

	if ((int)c->restart_policy < 0)
		c->restart_policy = restart;
	for (i = 0; i < c->n_ports; i++)
		if (c->ports[i].host_port > 0 && c->ports[i].host_ip == NULL)
			c->ports[i].host_ip = xstrdup("127.0.0.1");
	/* Maps have no order: sorting makes the model, its JSON and its hash canonical. */
	kv_sort(c->env, c->n_env);
	kv_sort(c->labels, c->n_labels);
}

static void probe_defaults(struct spec_probe *p)
{
	if (p->kind == SPEC_PROBE_NONE)
		return;
	if (p->kind == SPEC_PROBE_HTTP && p->http_path == NULL)
		p->http_path = xstrdup("/");
	DEF(p->initial_delay_seconds, 0);
	DEF(p->period_seconds, 10);
	DEF(p->timeout_seconds, 1);
	DEF(p->success_threshold, 1);
	DEF(p->failure_threshold, 3);
}

static void deployment_defaults(struct spec_deployment *d)
{
	struct spec_strategy *s = &d->strategy;

	if (d->role == NULL)
		d->role = xstrdup("");
	DEF(d->replicas, 1);
	container_defaults(&d->tmpl, SPEC_RESTART_ALWAYS);
	if (d->probes) {
		probe_defaults(&d->probes->startup);
		probe_defaults(&d->probes->readiness);
		probe_defaults(&d->probes->liveness);
	}
	if (s->type == SPEC_STRATEGY_ROLLING) {
		/* Kubernetes: 25% each when unset. */
		if (!s->max_unavailable.set)
			s->max_unavailable = (struct spec_intpct){ 1, 1, 25 };
		if (!s->max_surge.set)
			s->max_surge = (struct spec_intpct){ 1, 1, 25 };
	}
	DEF(s->min_ready_seconds, 0);
	DEF(s->progress_deadline_seconds, 600);
	DEF(s->auto_promotion_enabled, 1);
	DEF(s->post_promotion_window_seconds, 300);
	DEF(s->scale_down_delay_seconds, 30);
	DEF(d->auto_rollback, 1);
	/*
	 * A BFT network of n validators tolerates f = floor((n - 1) / 3) faulty
	 * ones: taking more down at once halts consensus.
	 */
	if (!d->budget.min_available.set && !d->budget.max_unavailable.set &&
	    strcmp(d->role, "validator") == 0) {
		d->budget.max_unavailable.set = 1;
		d->budget.max_unavailable.value = d->replicas > 0 ? (d->replicas - 1) / 3 : 0;
		d->budget.defaulted = 1;
	}
}

static void metric_defaults(struct spec_metric *m)
{
	if (m->provider == SPEC_METRIC_PROMETHEUS && m->prometheus_address == NULL)
		m->prometheus_address = xstrdup("http://127.0.0.1:9090");
	if (m->provider == SPEC_METRIC_SCRAPE && m->scrape_path == NULL)
		m->scrape_path = xstrdup("/metrics");
	DEF(m->interval_ms, 30000);
	DEF(m->count, 1);
	DEF(m->failure_limit, 0);
	DEF(m->inconclusive_limit, m->failure_limit);
}

void spec_set_defaults(struct spec_set *set)
{
	size_t i, j;

	for (i = 0; i < set->n_clusters; i++)
		cluster_defaults(set->clusters[i]);
	for (i = 0; i < set->n_deployments; i++)
		deployment_defaults(set->deployments[i]);
	for (i = 0; i < set->n_services; i++) {
		struct spec_service *s = set->services[i];

		if (s->upstream == NULL && s->meta.name)
			s->upstream = xstrdup(s->meta.name);
		DEF(s->max_fails, 1);
		DEF(s->fail_timeout_seconds, 10);
	}
	for (i = 0; i < set->n_jobs; i++) {
		container_defaults(&set->jobs[i]->tmpl, SPEC_RESTART_NEVER);
		DEF(set->jobs[i]->active_deadline_seconds, 600);
		DEF(set->jobs[i]->backoff_limit, 0);
	}
	for (i = 0; i < set->n_analysis_templates; i++)
		for (j = 0; j < set->analysis_templates[i]->n_metrics; j++)
			metric_defaults(&set->analysis_templates[i]->metrics[j]);
	spec_placement_defaults(set);
}
