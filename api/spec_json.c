/* The model as JSON (jansson), and the revision: SHA-256 over the canonical JSON of a container template. */
#include "spec.h"
#include "spec_backup.h"
#include "spec_restore.h"
#include "strv.h"
#include "util.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jintpct(const struct spec_intpct *v)
{
	char s[32];

	if (!v->set)
		return json_null();
	if (!v->percent)
		return json_integer(v->value);
	snprintf(s, sizeof(s), "%ld%%", v->value);
	return json_string(s);
}

static json_t *jport_ref(const struct spec_port_ref *r)
{
	if (r->name)
		return json_string(r->name);
	return r->number ? json_integer(r->number) : json_null();
}

static const char *restart_name(enum spec_restart r)
{
	return r == SPEC_RESTART_ON_FAILURE ? "OnFailure" : r == SPEC_RESTART_NEVER ? "Never"
										       : "Always";
}

static json_t *container_json(const struct spec_container *c)
{
	json_t *o = json_object(), *ports = json_array(), *vols = json_array();
	size_t i;

	for (i = 0; i < c->n_ports; i++) {
		const struct spec_port *p = &c->ports[i];

		json_array_append_new(ports,
				      json_pack("{s:o,s:i,s:i,s:o,s:s}", "name", jstr(p->name),
						"containerPort", p->container_port, "hostPort",
						p->host_port, "hostIP", jstr(p->host_ip), "protocol",
						p->protocol == SPEC_PROTO_UDP ? "UDP" : "TCP"));
	}
	for (i = 0; i < c->n_volumes; i++) {
		const struct spec_volume *v = &c->volumes[i];

		json_array_append_new(vols, json_pack("{s:o,s:o,s:o,s:b,s:b}", "name", jstr(v->name),
						      "mountPath", jstr(v->mount_path), "hostPath",
						      jstr(v->host_path), "perReplica",
						      v->per_replica, "readOnly", v->read_only));
	}
	json_object_set_new(o, "image", jstr(c->image));
	json_object_set_new(o, "command", strv_to_json(c->command, c->n_command));
	json_object_set_new(o, "args", strv_to_json(c->args, c->n_args));
	json_object_set_new(o, "env", kv_to_json(c->env, c->n_env));
	json_object_set_new(o, "envFiles", strv_to_json(c->env_files, c->n_env_files));
	json_object_set_new(o, "ports", ports);
	json_object_set_new(o, "volumes", vols);
	json_object_set_new(o, "resources",
			    json_pack("{s:I,s:I}", "memoryBytes", (json_int_t)c->memory_limit,
				      "cpuMillis", (json_int_t)c->cpu_millis));
	json_object_set_new(o, "restartPolicy", json_string(restart_name(c->restart_policy)));
	json_object_set_new(o, "labels", kv_to_json(c->labels, c->n_labels));
	json_object_set_new(o, "network", jstr(c->network));
	json_object_set_new(o, "privileged", json_boolean(c->privileged));
	json_object_set_new(o, "user", jstr(c->user));
	/* Only when set, so that templates adding none keep the revision they had before the field. */
	if (c->n_cap_add)
		json_object_set_new(o, "capAdd", strv_to_json(c->cap_add, c->n_cap_add));
	if (c->schema_version)
		json_object_set_new(o, "schemaVersion", json_string(c->schema_version));
	return o;
}

char *spec_container_canonical_json(const struct spec_container *c)
{
	json_t *o = container_json(c);
	char *s;

	/* The format version: bump it when the encoding changes on purpose. */
	json_object_set_new(o, "v", json_integer(1));
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (s == NULL)
		BUG("cannot encode a container template");
	return s;
}

/* SHA-256 of s, in lowercase hex; s is freed. */
static void sha256_hex(char *s, char out[SPEC_REVISION_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (s == NULL || !EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) || n != 32)
		BUG("SHA-256 failed");
	free(s);
	hex_encode(md, n, out);
}

static void revision(const struct spec_container *c, char out[SPEC_REVISION_HEX])
{
	sha256_hex(spec_container_canonical_json(c), out);
}

void spec_deployment_revision(const struct spec_deployment *dep, char out_hex[SPEC_REVISION_HEX])
{
	revision(&dep->tmpl, out_hex);
}

void spec_job_revision(const struct spec_job *job, char out_hex[SPEC_REVISION_HEX])
{
	revision(&job->tmpl, out_hex);
}

/* ---- the model ---- */

static json_t *meta_json(const struct spec_meta *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", jstr(m->name));
	json_object_set_new(o, "labels", kv_to_json(m->labels, m->n_labels));
	json_object_set_new(o, "annotations", kv_to_json(m->annotations, m->n_annotations));
	if (m->pos.file)
		json_object_set_new(o, "source", json_pack("{s:s,s:i,s:i}", "file", m->pos.file,
							   "line", m->pos.line, "col",
							   m->pos.col));
	return o;
}

static json_t *cluster_json(const struct spec_cluster *c)
{
	json_t *o = json_object(), *eps = json_array();
	size_t i;

	for (i = 0; i < c->n_endpoints; i++) {
		const struct spec_endpoint *e = &c->endpoints[i];

		json_array_append_new(eps, json_pack("{s:o,s:s,s:o,s:{s:o,s:o,s:o},s:o,s:o}", "name",
						     jstr(e->name), "engine",
						     e->engine == SPEC_ENGINE_SWARM ? "swarm" : "containers", "url", jstr(e->url), "tls",
						     "caFile", jstr(e->tls.ca_file), "certFile",
						     jstr(e->tls.cert_file), "keyFile",
						     jstr(e->tls.key_file), "labels", kv_to_json(e->labels, e->n_labels),
						     "address", jstr(e->address)));
	}
	json_object_set_new(o, "metadata", meta_json(&c->meta));
	json_object_set_new(o, "defaulted", json_boolean(c->meta.defaulted));
	json_object_set_new(o, "endpoints", eps);
	json_object_set_new(o, "roleOrder", strv_to_json(c->role_order, c->n_role_order));
	json_object_set_new(o, "router",
			    json_pack("{s:s,s:o,s:o,s:o,s:o}", "type", "NGINX", "configPath",
				      jstr(c->router.config_path), "reloadCommand",
				      strv_to_json(c->router.reload_command, c->router.n_reload_command),
				      "container", jstr(c->router.container), "listenAddress",
				      jstr(c->router.listen_address)));
	json_object_set_new(o, "status", json_pack("{s:o,s:o}", "notesRef", jstr(c->notes_ref),
						   "push", c->push_notes < 0 ? json_null() : json_boolean(c->push_notes)));
	json_object_set_new(o, "policy", json_pack("{s:b,s:b}", "allowPrivileged",
						   c->allow_privileged > 0, "allowHostBindMounts",
						   c->allow_host_bind_mounts > 0));
	return o;
}

static json_t *probe_json(const struct spec_probe *p)
{
	json_t *o;

	if (p->kind == SPEC_PROBE_NONE)
		return json_null();
	o = json_pack("{s:i,s:i,s:i,s:i,s:i}", "initialDelaySeconds", p->initial_delay_seconds,
		      "periodSeconds", p->period_seconds, "timeoutSeconds", p->timeout_seconds,
		      "successThreshold", p->success_threshold, "failureThreshold",
		      p->failure_threshold);
	if (p->kind == SPEC_PROBE_HTTP)
		json_object_set_new(o, "httpGet",
				    json_pack("{s:o,s:o,s:s,s:o}", "path", jstr(p->http_path),
					      "port", jport_ref(&p->port), "scheme",
					      p->http_https ? "HTTPS" : "HTTP", "httpHeaders",
					      kv_to_json(p->http_headers, p->n_http_headers)));
	else if (p->kind == SPEC_PROBE_TCP)
		json_object_set_new(o, "tcpSocket", json_pack("{s:o}", "port", jport_ref(&p->port)));
	else
		json_object_set_new(o, "exec", json_pack("{s:o}", "command",
							 strv_to_json(p->exec_command, p->n_exec_command)));
	return o;
}

/* A probe not configured: as d_probe leaves one the spec does not name. */
#define PROBE_UNSET                                                                                   \
	{                                                                                             \
		.kind = SPEC_PROBE_NONE, .initial_delay_seconds = -1, .period_seconds = -1,           \
		.timeout_seconds = -1, .success_threshold = -1, .failure_threshold = -1               \
	}

const struct spec_probes *spec_deployment_probes(const struct spec_deployment *d)
{
	static const struct spec_probes none = { PROBE_UNSET, PROBE_UNSET, PROBE_UNSET };

	return d->probes ? d->probes : &none;
}

/* The same settings, compared in their JSON form so a field added to probe_json is compared too. */
int spec_probes_equal(const struct spec_probes *a, const struct spec_probes *b)
{
	const struct spec_probe *pa[] = { &a->startup, &a->readiness, &a->liveness };
	const struct spec_probe *pb[] = { &b->startup, &b->readiness, &b->liveness };
	int same = 1;
	size_t i;

	for (i = 0; same && i < ARRAY_SIZE(pa); i++) {
		json_t *ja = probe_json(pa[i]), *jb = probe_json(pb[i]);

		same = json_equal(ja, jb);
		json_decref(ja);
		json_decref(jb);
	}
	return same;
}

static json_t *strategy_json(const struct spec_strategy *s)
{
	static const char *const types[] = { "RollingUpdate", "Recreate", "BlueGreen", "Canary" };
	json_t *o = json_object();

	json_object_set_new(o, "type", json_string(types[s->type]));
	json_object_set_new(o, "minReadySeconds", json_integer(s->min_ready_seconds));
	json_object_set_new(o, "progressDeadlineSeconds",
			    json_integer(s->progress_deadline_seconds));
	if (s->type == SPEC_STRATEGY_ROLLING)
		json_object_set_new(o, "rollingUpdate",
				    json_pack("{s:o,s:o}", "maxUnavailable",
					      jintpct(&s->max_unavailable), "maxSurge",
					      jintpct(&s->max_surge)));
	if (s->type == SPEC_STRATEGY_BLUEGREEN)
		json_object_set_new(
			o, "blueGreen",
			json_pack("{s:o,s:o,s:b,s:o,s:o,s:i,s:i}", "activeService",
				  jstr(s->active_service), "previewService",
				  jstr(s->preview_service), "autoPromotionEnabled",
				  s->auto_promotion_enabled > 0, "prePromotionAnalysis",
				  strv_to_json(s->pre_promotion_analysis, s->n_pre_promotion_analysis),
				  "smokeTestJob", jstr(s->smoke_test_job),
				  "postPromotionWindowSeconds", s->post_promotion_window_seconds,
				  "scaleDownDelaySeconds", s->scale_down_delay_seconds));
	if (s->type == SPEC_STRATEGY_CANARY) {
		json_t *steps = json_array();
		size_t i;

		for (i = 0; i < s->n_steps; i++) {
			const struct spec_canary_step *st = &s->steps[i];

			if (st->kind == SPEC_STEP_SET_WEIGHT)
				json_array_append_new(steps, json_pack("{s:i}", "setWeight",
								       st->weight));
			else if (st->kind == SPEC_STEP_PAUSE)
				json_array_append_new(
					steps, json_pack("{s:{s:o}}", "pause", "durationMs",
							 st->pause_ms < 0
								 ? json_null()
								 : json_integer(st->pause_ms)));
			else
				json_array_append_new(
					steps, json_pack("{s:{s:o}}", "analysis", "templates",
							 strv_to_json(st->templates, st->n_templates)));
		}
		json_object_set_new(o, "canary", json_pack("{s:o}", "steps", steps));
	}
	return o;
}

void *spec_deployment_to_json(const struct spec_set *set, const struct spec_deployment *d)
{
	json_t *o = json_object(), *budget = json_object();
	const struct spec_probes *probes = spec_deployment_probes(d);
	char rev[SPEC_REVISION_HEX];

	spec_deployment_revision(d, rev);
	json_object_set_new(o, "metadata", meta_json(&d->meta));
	json_object_set_new(o, "role", jstr(d->role));
	json_object_set_new(o, "phase", json_integer(spec_deployment_phase_index(set, d)));
	json_object_set_new(o, "dependsOn", strv_to_json(d->depends_on, d->n_depends_on));
	json_object_set_new(o, "replicas", json_integer(d->replicas));
	json_object_set_new(o, "revision", json_string(rev));
	json_object_set_new(o, "template", container_json(&d->tmpl));
	json_object_set_new(o, "probes",
			    json_pack("{s:o,s:o,s:o}", "startup", probe_json(&probes->startup), "readiness",
				      probe_json(&probes->readiness), "liveness", probe_json(&probes->liveness)));
	json_object_set_new(o, "strategy", strategy_json(&d->strategy));
	json_object_set_new(o, "autoRollback", json_boolean(d->auto_rollback > 0));
	if (d->budget.min_available.set)
		json_object_set_new(budget, "minAvailable", jintpct(&d->budget.min_available));
	if (d->budget.max_unavailable.set)
		json_object_set_new(budget, "maxUnavailable", jintpct(&d->budget.max_unavailable));
	json_object_set_new(budget, "defaulted", json_boolean(d->budget.defaulted));
	json_object_set_new(o, "disruptionBudget", budget);
	json_object_set_new(o, "placement",
			    json_pack("{s:o,s:o,s:i,s:b,s:o,s:o}", "endpoints",
				      strv_to_json(d->placement.endpoints, d->placement.n_endpoints),
				      "endpointSelector", kv_to_json(d->placement.selector, d->placement.n_selector),
				      "maxPerEndpoint", d->placement.max_per_endpoint, "maxDefaulted",
				      d->placement.max_defaulted, "spreadBy", jstr(d->placement.spread_by), "moveAfterMs",
				      d->placement.move_after_ms < 0 ? json_null()
								     : json_integer((json_int_t)d->placement.move_after_ms)));
	json_object_set_new(o, "hooks",
			    json_pack("{s:o,s:o,s:o,s:s}", "preDeploy",
				      strv_to_json(d->hooks.pre_deploy, d->hooks.n_pre_deploy),
				      "postDeploy", strv_to_json(d->hooks.post_deploy, d->hooks.n_post_deploy),
				      "onRollback",
				      strv_to_json(d->hooks.on_rollback, d->hooks.n_on_rollback), "postDeployFailure",
				      d->hooks.post_failure == SPEC_POST_MARK ? "Mark" : "Rollback"));
	return o;
}

static json_t *service_json(const struct spec_service *s)
{
	return json_pack("{s:o,s:o,s:i,s:o,s:o,s:{s:i,s:i}}", "metadata", meta_json(&s->meta),
			 "deployment", jstr(s->deployment), "port", s->port, "upstream",
			 jstr(s->upstream), "targetPort", jport_ref(&s->target_port),
			 "upstreamHealth", "maxFails", s->max_fails, "failTimeoutSeconds",
			 s->fail_timeout_seconds);
}

/* What a Job runs: its template, deadline and retries (not its name nor where it was written). */
static json_t *job_body_json(const struct spec_job *j)
{
	return json_pack("{s:o,s:i,s:i}", "template", container_json(&j->tmpl), "activeDeadlineSeconds",
			 j->active_deadline_seconds, "backoffLimit", j->backoff_limit);
}

static json_t *job_json(const struct spec_job *j)
{
	char rev[SPEC_REVISION_HEX];
	json_t *o = json_pack("{s:o}", "metadata", meta_json(&j->meta)), *body = job_body_json(j);

	spec_job_revision(j, rev);
	json_object_update(o, body);
	json_decref(body);
	json_object_set_new(o, "revision", json_string(rev));
	return o;
}

static json_t *metrics_json(const struct spec_analysis_template *a)
{
	static const char *const ops[] = { ">", ">=", "<", "<=", "==", "!=" };
	json_t *metrics = json_array();
	size_t i;

	for (i = 0; i < a->n_metrics; i++) {
		const struct spec_metric *m = &a->metrics[i];
		json_t *prov;

		if (m->provider == SPEC_METRIC_JOB)
			prov = json_pack("{s:{s:o,s:o}}", "job", "name", jstr(m->job_name), "figure",
					 jstr(m->job_figure));
		else if (m->provider == SPEC_METRIC_SCRAPE)
			prov = json_pack("{s:{s:o,s:o,s:o}}", "scrape", "port",
					 jport_ref(&m->scrape_port), "path", jstr(m->scrape_path),
					 "metric", jstr(m->scrape_metric));
		else
			prov = json_pack("{s:{s:o,s:o}}", "prometheus", "address",
					 jstr(m->prometheus_address), "query", jstr(m->query));
		json_array_append_new(metrics,
				      json_pack("{s:o,s:o,s:{s:s,s:f},s:I,s:i,s:i,s:i}", "name",
						jstr(m->name), "provider", prov, "failureCondition",
						"operator", ops[m->fail_op], "value", m->fail_value,
						"intervalMs", (json_int_t)m->interval_ms, "count",
						m->count, "failureLimit", m->failure_limit,
						"inconclusiveLimit", m->inconclusive_limit));
	}
	return metrics;
}

static json_t *analysis_json(const struct spec_analysis_template *a)
{
	return json_pack("{s:o,s:o}", "metadata", meta_json(&a->meta), "metrics", metrics_json(a));
}

void spec_analysis_hash(const struct spec_set *set, char *const *templates, size_t n,
			char out_hex[SPEC_REVISION_HEX])
{
	json_t *all = json_array();
	size_t i, j;
	char *s;

	/* What decides a verdict: each template's metrics and the Jobs they run, never where they were written. */
	for (i = 0; i < n; i++) {
		const struct spec_analysis_template *at = spec_set_analysis_template(set, templates[i]);
		json_t *jobs = json_object();

		for (j = 0; at && j < at->n_metrics; j++) {
			const struct spec_job *job = at->metrics[j].provider == SPEC_METRIC_JOB
							     ? spec_set_job(set, at->metrics[j].job_name)
							     : NULL;

			if (job)
				json_object_set_new(jobs, job->meta.name, job_body_json(job));
		}
		json_array_append_new(all, json_pack("{s:s,s:o,s:o}", "name", templates[i], "metrics",
						     at ? metrics_json(at) : json_null(), "jobs", jobs));
	}
	s = json_dumps(all, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(all);
	sha256_hex(s, out_hex);
}

/* A BackupPolicy: everything a daemon carries out of it (its schedules, where and how it backs up, what it keeps). */
static json_t *backup_json(const struct spec_backup_policy *b)
{
	const struct spec_backup_restore *r = &b->restore;

	return json_pack("{s:o,s:o,s:i,s:o,s:o,s:o,s:o,s:{s:i,s:i,s:i,s:i},s:{s:o,s:o,s:o,s:o}}", "metadata",
			 meta_json(&b->meta), "template", container_json(&b->job), "activeDeadlineSeconds",
			 b->active_deadline_seconds, "targetVolume", jstr(b->target_volume), "targetHostPath",
			 jstr(b->target_host_path), "schedule", jstr(b->schedule), "before",
			 strv_to_json(b->before, b->n_before), "retention", "hourly", b->retention.hourly, "daily",
			 b->retention.daily, "weekly", b->retention.weekly, "monthly", b->retention.monthly, "restore",
			 "job", jstr(r->job), "database",
			 r->has_database ? container_json(&r->database) : json_null(), "drillSchedule",
			 jstr(r->has_drill ? r->drill_schedule : NULL), "drillVerify",
			 r->has_drill ? strv_to_json(r->verify, r->n_verify) : json_null());
}

void spec_backup_policy_hash(const struct spec_backup_policy *bp, char out_hex[SPEC_REVISION_HEX])
{
	json_t *j = backup_json(bp);
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	json_decref(j);
	sha256_hex(s, out_hex);
}

/*
 * Every object of the set as JSON, in the model's order, each given to
 * part(kind, its JSON, arg), which owns it: the one walk behind the whole
 * model's JSON and its digest.
 */
static void set_parts(const struct spec_set *set, void (*part)(const char *kind, json_t *j, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < set->n_clusters; i++)
		part("clusters", cluster_json(set->clusters[i]), arg);
	for (i = 0; i < set->n_deployments; i++)
		part("deployments", spec_deployment_to_json(set, set->deployments[i]), arg);
	for (i = 0; i < set->n_services; i++)
		part("services", service_json(set->services[i]), arg);
	for (i = 0; i < set->n_jobs; i++)
		part("jobs", job_json(set->jobs[i]), arg);
	for (i = 0; i < set->n_analysis_templates; i++)
		part("analysisTemplates", analysis_json(set->analysis_templates[i]), arg);
	for (i = 0; i < set->n_backup_policies; i++)
		part("backupPolicies", backup_json(set->backup_policies[i]), arg);
}

/* Feeds j (freed), tagged with its kind, to the digest ctx. */
static void digest_part(const char *kind, json_t *j, void *ctx)
{
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);

	json_decref(j);
	if (s == NULL || !EVP_DigestUpdate(ctx, kind, strlen(kind) + 1) || !EVP_DigestUpdate(ctx, s, strlen(s) + 1))
		BUG("SHA-256 failed");
	free(s);
}

void spec_set_digest(const struct spec_set *set, char out_hex[SPEC_REVISION_HEX])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		BUG("SHA-256 failed");
	set_parts(set, digest_part, ctx);
	if (!EVP_DigestFinal_ex(ctx, md, &n) || n != 32)
		BUG("SHA-256 failed");
	EVP_MD_CTX_free(ctx);
	hex_encode(md, n, out_hex);
}

/* Appends j to the array of its kind in the model object o. */
static void model_part(const char *kind, json_t *j, void *o)
{
	json_array_append_new(json_object_get(o, kind), j);
}

void *spec_set_to_json(const struct spec_set *set)
{
	static const char *const kinds[] = { "clusters", "deployments", "services", "jobs", "analysisTemplates",
					     "backupPolicies" };
	json_t *o = json_object();
	size_t i;

	/* Every kind's array, empty or not, in this order. */
	for (i = 0; i < ARRAY_SIZE(kinds); i++)
		json_object_set_new(o, kinds[i], json_array());
	set_parts(set, model_part, o);
	return o;
}
