/* Decode: schema-checked YAML trees into the typed structs of spec.h (unset numbers stay -1 for the defaults pass). */
#include "spec.h"
#include "spec_internal.h"
#include "strv.h"
#include "util.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * Decoding trusts nothing: a document that failed its schema is still decoded
 * (so that its name counts for references) and every accessor below skips a
 * field of the wrong type instead of failing.
 */

static char *d_str(const struct ynode *m, const char *k)
{
	const struct ynode *v = ynode_get(m, k);

	if (v == NULL || v->type != YNODE_SCALAR || v->stype == YS_NULL)
		return NULL;
	return xstrdup(v->str);
}

static int d_int(const struct ynode *m, const char *k, int def)
{
	long long v;

	if (ynode_int(ynode_get(m, k), &v) == 0 && v >= INT_MIN && v <= INT_MAX)
		return (int)v;
	return def;
}

/* A duration: whole seconds, or a Go duration ("30s", "5m"); -1 when absent or not one. */
static int64_t d_duration_ms(const struct ynode *m, const char *k)
{
	const struct ynode *v = ynode_get(m, k);
	long long secs;

	if (ynode_int(v, &secs) == 0 && secs >= 0 && secs < INT64_MAX / 1000)
		return secs * 1000;
	return ynode_str(v) ? spec_parse_duration_ms(v->str) : -1;
}

static int d_bool(const struct ynode *m, const char *k, int def)
{
	int b;

	return ynode_bool(ynode_get(m, k), &b) == 0 ? b : def;
}

static char **d_strlist(const struct ynode *m, const char *k, size_t *n)
{
	const struct ynode *v = ynode_get(m, k);
	char **out;
	size_t i;

	*n = 0;
	if (v == NULL || v->type != YNODE_SEQ || v->n == 0)
		return NULL;
	out = xcalloc(v->n, sizeof(*out));
	for (i = 0; i < v->n; i++)
		if (v->kids[i]->type == YNODE_SCALAR)
			out[(*n)++] = xstrdup(v->kids[i]->str);
	return out;
}

static struct kv *d_map(const struct ynode *m, const char *k, size_t *n)
{
	const struct ynode *v = ynode_get(m, k);
	struct kv *out;
	size_t i;

	*n = 0;
	if (v == NULL || v->type != YNODE_MAP || v->n == 0)
		return NULL;
	out = xcalloc(v->n / 2, sizeof(*out));
	for (i = 0; i + 1 < v->n; i += 2) {
		if (v->kids[i + 1]->type != YNODE_SCALAR)
			continue;
		out[*n].key = xstrdup(v->kids[i]->str);
		out[*n].value = xstrdup(v->kids[i + 1]->stype == YS_NULL ? "" : v->kids[i + 1]->str);
		(*n)++;
	}
	return out;
}

/* A list of {templateName: x} entries, as Argo Rollouts writes analysis references. */
static char **d_template_refs(const struct ynode *m, size_t *n)
{
	const struct ynode *v = ynode_get(m, "templates");
	char **out;
	size_t i;

	*n = 0;
	if (v == NULL || v->type != YNODE_SEQ || v->n == 0)
		return NULL;
	out = xcalloc(v->n, sizeof(*out));
	for (i = 0; i < v->n; i++) {
		char *s = d_str(v->kids[i], "templateName");

		if (s)
			out[(*n)++] = s;
	}
	return out;
}

static void d_intpct(const struct ynode *m, const char *k, struct spec_intpct *out)
{
	const struct ynode *v = ynode_get(m, k);
	long long i;
	long p;

	memset(out, 0, sizeof(*out));
	if (ynode_int(v, &i) == 0 && i >= 0 && i <= INT_MAX) {
		out->set = 1;
		out->value = (long)i;
	} else if (ynode_str(v) && str_has_suffix(v->str, "%")) {
		char *num = xstrndup(v->str, v->len - 1);

		if (parse_long(num, 0, 100, &p) == 0) {
			out->set = 1;
			out->percent = 1;
			out->value = p;
		}
		free(num);
	}
}

static void d_portref(const struct ynode *v, struct spec_port_ref *out)
{
	long long i;

	out->name = NULL;
	out->number = 0;
	if (ynode_int(v, &i) == 0 && i > 0 && i <= 65535)
		out->number = (int)i;
	else if (ynode_str(v))
		out->name = xstrdup(v->str);
}

void spec_decode_meta(struct spec_meta *m, const struct ynode *doc)
{
	const struct ynode *md = ynode_get(doc, "metadata");

	m->name = d_str(md, "name");
	m->labels = d_map(md, "labels", &m->n_labels);
	m->annotations = d_map(md, "annotations", &m->n_annotations);
}

void spec_meta_release(struct spec_meta *m)
{
	free(m->name);
	kv_free(m->labels, m->n_labels);
	kv_free(m->annotations, m->n_annotations);
}

/* ---- Cluster ---- */

/* engine: "swarm", else the default (the schema refuses any other word). */
static enum spec_engine d_enum_swarm(const struct ynode *ep)
{
	const struct ynode *n = ynode_get(ep, "engine");

	return n && n->type == YNODE_SCALAR && strcmp(n->str, "swarm") == 0 ? SPEC_ENGINE_SWARM
									     : SPEC_ENGINE_CONTAINERS;
}

struct spec_cluster *spec_decode_cluster(const struct ynode *doc)
{
	struct spec_cluster *c = xcalloc(1, sizeof(*c));
	const struct ynode *spec = ynode_get(doc, "spec");
	const struct ynode *eps = ynode_get(spec, "endpoints");
	const struct ynode *router = ynode_get(spec, "router");
	const struct ynode *status = ynode_get(spec, "status");
	const struct ynode *policy = ynode_get(spec, "policy");

	spec_decode_meta(&c->meta, doc);
	if (eps && eps->type == YNODE_SEQ && eps->n) {
		size_t i;

		c->endpoints = xcalloc(eps->n, sizeof(*c->endpoints));
		for (i = 0; i < eps->n; i++) {
			struct spec_endpoint *e = &c->endpoints[c->n_endpoints++];
			const struct ynode *tls = ynode_get(eps->kids[i], "tls");

			e->name = d_str(eps->kids[i], "name");
			e->url = d_str(eps->kids[i], "url");
			e->tls.ca_file = d_str(tls, "caFile");
			e->tls.cert_file = d_str(tls, "certFile");
			e->tls.key_file = d_str(tls, "keyFile");
			e->labels = d_map(eps->kids[i], "labels", &e->n_labels);
			e->address = d_str(eps->kids[i], "address");
			e->engine = d_enum_swarm(eps->kids[i]);
		}
	}
	c->role_order = d_strlist(spec, "roleOrder", &c->n_role_order);
	c->router.type = SPEC_ROUTER_NGINX;
	c->router.config_path = d_str(router, "configPath");
	c->router.reload_command = d_strlist(router, "reloadCommand", &c->router.n_reload_command);
	c->router.container = d_str(router, "container");
	c->router.listen_address = d_str(router, "listenAddress");
	c->notes_ref = d_str(status, "notesRef");
	c->push_notes = d_bool(status, "push", -1);
	c->allow_privileged = d_bool(policy, "allowPrivileged", -1);
	c->allow_host_bind_mounts = d_bool(policy, "allowHostBindMounts", -1);
	return c;
}

void spec_cluster_free(struct spec_cluster *c)
{
	size_t i;

	if (c == NULL)
		return;
	spec_meta_release(&c->meta);
	for (i = 0; i < c->n_endpoints; i++) {
		FREE_ALL(c->endpoints[i].name, c->endpoints[i].url, c->endpoints[i].tls.ca_file,
			 c->endpoints[i].tls.cert_file, c->endpoints[i].tls.key_file, c->endpoints[i].address);
		kv_free(c->endpoints[i].labels, c->endpoints[i].n_labels);
	}
	free(c->endpoints);
	strv_free_n(c->role_order, c->n_role_order);
	free(c->router.config_path);
	strv_free_n(c->router.reload_command, c->router.n_reload_command);
	FREE_ALL(c->router.container, c->router.listen_address, c->notes_ref);
	free(c);
}

/* ---- container template ---- */

static int64_t d_quantity(const struct ynode *m, const char *k, int cpu)
{
	const struct ynode *v = ynode_get(m, k);

	if (v == NULL || v->type != YNODE_SCALAR || v->stype == YS_NULL)
		return 0;
	return cpu ? spec_parse_cpu_millis(v->str) : spec_parse_memory(v->str);
}

static void d_container(struct spec_container *c, const struct ynode *t)
{
	const struct ynode *ports = ynode_get(t, "ports"), *vols = ynode_get(t, "volumes");
	const struct ynode *limits = ynode_get(ynode_get(t, "resources"), "limits");
	const char *rp;
	size_t i;

	c->image = d_str(t, "image");
	c->command = d_strlist(t, "command", &c->n_command);
	c->args = d_strlist(t, "args", &c->n_args);
	c->env = d_map(t, "env", &c->n_env);
	c->env_files = d_strlist(t, "envFiles", &c->n_env_files);
	if (c->n_env_files) {
		const struct ynode *ef = ynode_get(t, "envFiles");
		size_t k = 0;

		/* Env files are read after the checks, when the tree is gone: their positions are kept. */
		c->env_files_pos = xcalloc(c->n_env_files, sizeof(*c->env_files_pos));
		for (i = 0; i < ef->n && k < c->n_env_files; i++) {
			if (ef->kids[i]->type != YNODE_SCALAR)
				continue;
			c->env_files_pos[k].line = ef->kids[i]->line;
			c->env_files_pos[k++].col = ef->kids[i]->col;
		}
	}
	if (ports && ports->type == YNODE_SEQ && ports->n) {
		c->ports = xcalloc(ports->n, sizeof(*c->ports));
		for (i = 0; i < ports->n; i++) {
			struct spec_port *p = &c->ports[c->n_ports++];
			const char *proto = ynode_str(ynode_get(ports->kids[i], "protocol"));

			p->name = d_str(ports->kids[i], "name");
			p->container_port = d_int(ports->kids[i], "containerPort", 0);
			p->host_port = d_int(ports->kids[i], "hostPort", 0);
			p->host_ip = d_str(ports->kids[i], "hostIP");
			p->protocol = proto && strcmp(proto, "UDP") == 0 ? SPEC_PROTO_UDP
									  : SPEC_PROTO_TCP;
		}
	}
	if (vols && vols->type == YNODE_SEQ && vols->n) {
		c->volumes = xcalloc(vols->n, sizeof(*c->volumes));
		for (i = 0; i < vols->n; i++) {
			struct spec_volume *v = &c->volumes[c->n_volumes++];

			v->name = d_str(vols->kids[i], "name");
			v->mount_path = d_str(vols->kids[i], "mountPath");
			v->host_path = d_str(vols->kids[i], "hostPath");
			v->per_replica = d_bool(vols->kids[i], "perReplica", 0);
			v->read_only = d_bool(vols->kids[i], "readOnly", 0);
		}
	}
	/* A size that does not parse or overflows stays -1: the checks refuse it, never "no limit". */
	c->memory_limit = d_quantity(limits, "memory", 0);
	c->cpu_millis = d_quantity(limits, "cpu", 1);
	rp = ynode_str(ynode_get(t, "restartPolicy"));
	c->restart_policy = (enum spec_restart) - 1;
	if (rp && strcmp(rp, "Always") == 0)
		c->restart_policy = SPEC_RESTART_ALWAYS;
	else if (rp && strcmp(rp, "OnFailure") == 0)
		c->restart_policy = SPEC_RESTART_ON_FAILURE;
	else if (rp && strcmp(rp, "Never") == 0)
		c->restart_policy = SPEC_RESTART_NEVER;
	c->labels = d_map(t, "labels", &c->n_labels);
	c->network = d_str(t, "network");
	if (ynode_get(t, "network")) {
		c->network_pos.line = ynode_get(t, "network")->line;
		c->network_pos.col = ynode_get(t, "network")->col;
	}
	c->privileged = d_bool(t, "privileged", 0);
	c->user = d_str(t, "user");
	c->schema_version = d_str(t, "schemaVersion");
	c->cap_add = d_strlist(ynode_get(t, "capabilities"), "add", &c->n_cap_add);
}

static void container_release(struct spec_container *c)
{
	size_t i;

	free(c->image);
	strv_free_n(c->command, c->n_command);
	strv_free_n(c->args, c->n_args);
	kv_free(c->env, c->n_env);
	strv_free_n(c->env_files, c->n_env_files);
	free(c->env_files_pos);
	for (i = 0; i < c->n_ports; i++)
		FREE_ALL(c->ports[i].name, c->ports[i].host_ip);
	free(c->ports);
	for (i = 0; i < c->n_volumes; i++)
		FREE_ALL(c->volumes[i].name, c->volumes[i].mount_path, c->volumes[i].host_path);
	free(c->volumes);
	kv_free(c->labels, c->n_labels);
	free(c->network);
	free(c->user);
	free(c->schema_version);
	strv_free_n(c->cap_add, c->n_cap_add);
}

/* ---- Deployment ---- */

static void d_probe(struct spec_probe *p, const struct ynode *n)
{
	const struct ynode *http = ynode_get(n, "httpGet"), *tcp = ynode_get(n, "tcpSocket");
	const struct ynode *ex = ynode_get(n, "exec");
	const char *scheme;

	memset(p, 0, sizeof(*p));
	p->initial_delay_seconds = p->period_seconds = p->timeout_seconds = -1;
	p->success_threshold = p->failure_threshold = -1;
	if (n == NULL || n->type != YNODE_MAP)
		return;
	if (http) {
		const struct ynode *hs = ynode_get(http, "httpHeaders");

		p->kind = SPEC_PROBE_HTTP;
		p->http_path = d_str(http, "path");
		scheme = ynode_str(ynode_get(http, "scheme"));
		p->http_https = scheme && strcmp(scheme, "HTTPS") == 0;
		d_portref(ynode_get(http, "port"), &p->port);
		if (hs && hs->type == YNODE_SEQ && hs->n) {
			size_t i;

			p->http_headers = xcalloc(hs->n, sizeof(*p->http_headers));
			for (i = 0; i < hs->n; i++) {
				char *k = d_str(hs->kids[i], "name"), *v = d_str(hs->kids[i], "value");

				if (k == NULL || v == NULL) {
					free(k);
					free(v);
					continue;
				}
				p->http_headers[p->n_http_headers].key = k;
				p->http_headers[p->n_http_headers++].value = v;
			}
		}
	} else if (tcp) {
		p->kind = SPEC_PROBE_TCP;
		d_portref(ynode_get(tcp, "port"), &p->port);
	} else if (ex) {
		p->kind = SPEC_PROBE_EXEC;
		p->exec_command = d_strlist(ex, "command", &p->n_exec_command);
	} else {
		/* Configured but with no handler: the checks report it; keep it visible. */
		p->kind = SPEC_PROBE_EXEC;
	}
	p->initial_delay_seconds = d_int(n, "initialDelaySeconds", -1);
	p->period_seconds = d_int(n, "periodSeconds", -1);
	p->timeout_seconds = d_int(n, "timeoutSeconds", -1);
	p->success_threshold = d_int(n, "successThreshold", -1);
	p->failure_threshold = d_int(n, "failureThreshold", -1);
}

static void probe_release(struct spec_probe *p)
{
	free(p->http_path);
	kv_free(p->http_headers, p->n_http_headers);
	free(p->port.name);
	strv_free_n(p->exec_command, p->n_exec_command);
}

static void d_steps(struct spec_strategy *s, const struct ynode *steps, const char *file)
{
	size_t i;

	if (steps == NULL || steps->type != YNODE_SEQ || steps->n == 0)
		return;
	s->steps = xcalloc(steps->n, sizeof(*s->steps));
	for (i = 0; i < steps->n; i++) {
		const struct ynode *st = steps->kids[i], *pause = ynode_get(st, "pause");
		struct spec_canary_step *c = &s->steps[s->n_steps++];

		c->pos.file = file;
		c->pos.line = st->line;
		c->pos.col = st->col;
		if (ynode_get(st, "setWeight")) {
			c->kind = SPEC_STEP_SET_WEIGHT;
			c->weight = d_int(st, "setWeight", 0);
		} else if (pause) {
			c->kind = SPEC_STEP_PAUSE;
			c->pause_ms = d_duration_ms(pause, "duration");
		} else {
			c->kind = SPEC_STEP_ANALYSIS;
			c->templates = d_template_refs(ynode_get(st, "analysis"), &c->n_templates);
		}
	}
}

static void d_strategy(struct spec_strategy *s, const struct ynode *spec)
{
	const struct ynode *st = ynode_get(spec, "strategy");
	const struct ynode *ru = ynode_get(st, "rollingUpdate");
	const struct ynode *bg = ynode_get(st, "blueGreen"), *canary = ynode_get(st, "canary");
	const char *type = ynode_str(ynode_get(st, "type"));

	s->type = SPEC_STRATEGY_ROLLING;
	if (type && strcmp(type, "Recreate") == 0)
		s->type = SPEC_STRATEGY_RECREATE;
	else if (type && strcmp(type, "BlueGreen") == 0)
		s->type = SPEC_STRATEGY_BLUEGREEN;
	else if (type && strcmp(type, "Canary") == 0)
		s->type = SPEC_STRATEGY_CANARY;
	d_intpct(ru, "maxUnavailable", &s->max_unavailable);
	d_intpct(ru, "maxSurge", &s->max_surge);
	s->min_ready_seconds = d_int(spec, "minReadySeconds", -1);
	s->progress_deadline_seconds = d_int(spec, "progressDeadlineSeconds", -1);
	s->active_service = d_str(bg, "activeService");
	s->preview_service = d_str(bg, "previewService");
	s->auto_promotion_enabled = d_bool(bg, "autoPromotionEnabled", -1);
	s->pre_promotion_analysis = d_template_refs(ynode_get(bg, "prePromotionAnalysis"),
						    &s->n_pre_promotion_analysis);
	s->smoke_test_job = d_str(bg, "smokeTestJob");
	s->post_promotion_window_seconds = d_int(bg, "postPromotionWindowSeconds", -1);
	s->scale_down_delay_seconds = d_int(bg, "scaleDownDelaySeconds", -1);
	d_steps(s, ynode_get(canary, "steps"), NULL);
}

static void strategy_release(struct spec_strategy *s)
{
	size_t i;

	free(s->active_service);
	free(s->preview_service);
	strv_free_n(s->pre_promotion_analysis, s->n_pre_promotion_analysis);
	free(s->smoke_test_job);
	for (i = 0; i < s->n_steps; i++)
		strv_free_n(s->steps[i].templates, s->steps[i].n_templates);
	free(s->steps);
}

struct spec_deployment *spec_decode_deployment(const struct ynode *doc)
{
	struct spec_deployment *d = xcalloc(1, sizeof(*d));
	const struct ynode *spec = ynode_get(doc, "spec");
	const struct ynode *probes = ynode_get(spec, "probes");
	const struct ynode *budget = ynode_get(spec, "disruptionBudget");
	const struct ynode *hooks = ynode_get(spec, "hooks");
	const struct ynode *place = ynode_get(spec, "placement");
	const char *post_failure;

	spec_decode_meta(&d->meta, doc);
	d->role = d_str(spec, "role");
	d->phase = d_int(spec, "phase", -1);
	d->depends_on = d_strlist(spec, "dependsOn", &d->n_depends_on);
	d->replicas = d_int(spec, "replicas", -1);
	d_container(&d->tmpl, ynode_get(spec, "template"));
	if (probes != NULL) {
		d->probes = xcalloc(1, sizeof(*d->probes));
		d_probe(&d->probes->startup, ynode_get(probes, "startup"));
		d_probe(&d->probes->readiness, ynode_get(probes, "readiness"));
		d_probe(&d->probes->liveness, ynode_get(probes, "liveness"));
	}
	d_strategy(&d->strategy, spec);
	d->auto_rollback = d_bool(spec, "autoRollback", -1);
	d_intpct(budget, "minAvailable", &d->budget.min_available);
	d_intpct(budget, "maxUnavailable", &d->budget.max_unavailable);
	d->hooks.pre_deploy = d_strlist(hooks, "preDeploy", &d->hooks.n_pre_deploy);
	d->hooks.post_deploy = d_strlist(hooks, "postDeploy", &d->hooks.n_post_deploy);
	d->hooks.on_rollback = d_strlist(hooks, "onRollback", &d->hooks.n_on_rollback);
	/* The schema allows Rollback and Mark alone. */
	post_failure = ynode_str(ynode_get(hooks, "postDeployFailure"));
	d->hooks.post_failure_set = post_failure != NULL;
	d->hooks.post_failure = post_failure && strcmp(post_failure, "Mark") == 0 ? SPEC_POST_MARK : SPEC_POST_ROLLBACK;
	d->placement.set = place != NULL;
	d->placement.endpoints = d_strlist(place, "endpoints", &d->placement.n_endpoints);
	d->placement.selector = d_map(place, "endpointSelector", &d->placement.n_selector);
	d->placement.max_per_endpoint = d_int(place, "maxPerEndpoint", -1);
	d->placement.spread_by = d_str(place, "spreadBy");
	d->placement.move_after_ms = d_duration_ms(place, "moveAfter");
	return d;
}

void spec_deployment_free(struct spec_deployment *d)
{
	if (d == NULL)
		return;
	spec_meta_release(&d->meta);
	free(d->role);
	strv_free_n(d->depends_on, d->n_depends_on);
	container_release(&d->tmpl);
	if (d->probes) {
		probe_release(&d->probes->startup);
		probe_release(&d->probes->readiness);
		probe_release(&d->probes->liveness);
		free(d->probes);
	}
	strategy_release(&d->strategy);
	strv_free_n(d->hooks.pre_deploy, d->hooks.n_pre_deploy);
	strv_free_n(d->hooks.post_deploy, d->hooks.n_post_deploy);
	strv_free_n(d->hooks.on_rollback, d->hooks.n_on_rollback);
	strv_free_n(d->placement.endpoints, d->placement.n_endpoints);
	kv_free(d->placement.selector, d->placement.n_selector);
	free(d->placement.spread_by);
	free(d);
}

/* ---- Service ---- */

struct spec_service *spec_decode_service(const struct ynode *doc)
{
	struct spec_service *s = xcalloc(1, sizeof(*s));
	const struct ynode *spec = ynode_get(doc, "spec");
	const struct ynode *health = ynode_get(spec, "upstreamHealth");

	spec_decode_meta(&s->meta, doc);
	s->deployment = d_str(spec, "deployment");
	s->port = d_int(spec, "port", 0);
	s->upstream = d_str(spec, "upstream");
	d_portref(ynode_get(spec, "targetPort"), &s->target_port);
	s->max_fails = d_int(health, "maxFails", -1);
	s->fail_timeout_seconds = d_int(health, "failTimeoutSeconds", -1);
	return s;
}

void spec_service_free(struct spec_service *s)
{
	if (s == NULL)
		return;
	spec_meta_release(&s->meta);
	FREE_ALL(s->deployment, s->upstream, s->target_port.name);
	free(s);
}

void spec_decode_container(struct spec_container *c, const struct ynode *t)
{
	d_container(c, t);
}

void spec_container_release(struct spec_container *c)
{
	container_release(c);
}

/* ---- Job ---- */

struct spec_job *spec_decode_job(const struct ynode *doc)
{
	struct spec_job *j = xcalloc(1, sizeof(*j));
	const struct ynode *spec = ynode_get(doc, "spec");

	spec_decode_meta(&j->meta, doc);
	d_container(&j->tmpl, ynode_get(spec, "template"));
	j->active_deadline_seconds = d_int(spec, "activeDeadlineSeconds", -1);
	j->backoff_limit = d_int(spec, "backoffLimit", -1);
	return j;
}

void spec_job_free(struct spec_job *j)
{
	if (j == NULL)
		return;
	spec_meta_release(&j->meta);
	container_release(&j->tmpl);
	free(j);
}

/* ---- AnalysisTemplate ---- */

static enum spec_cmp d_cmp(const char *op)
{
	static const char *const ops[] = { ">", ">=", "<", "<=", "==", "!=" };
	size_t i;

	for (i = 0; op && i < ARRAY_SIZE(ops); i++)
		if (strcmp(op, ops[i]) == 0)
			return (enum spec_cmp)i;
	return SPEC_CMP_GT;
}

struct spec_analysis_template *spec_decode_analysis_template(const struct ynode *doc)
{
	struct spec_analysis_template *a = xcalloc(1, sizeof(*a));
	const struct ynode *metrics = ynode_get(ynode_get(doc, "spec"), "metrics");
	size_t i;

	spec_decode_meta(&a->meta, doc);
	if (metrics == NULL || metrics->type != YNODE_SEQ || metrics->n == 0)
		return a;
	a->metrics = xcalloc(metrics->n, sizeof(*a->metrics));
	for (i = 0; i < metrics->n; i++) {
		const struct ynode *m = metrics->kids[i];
		const struct ynode *prov = ynode_get(m, "provider");
		const struct ynode *prom = ynode_get(prov, "prometheus");
		const struct ynode *scrape = ynode_get(prov, "scrape");
		const struct ynode *job = ynode_get(prov, "job");
		const struct ynode *cond = ynode_get(m, "failureCondition");
		struct spec_metric *x = &a->metrics[a->n_metrics++];

		x->name = d_str(m, "name");
		if (job) {
			x->provider = SPEC_METRIC_JOB;
			x->job_name = d_str(job, "name");
			x->job_figure = d_str(job, "figure");
		} else if (scrape) {
			x->provider = SPEC_METRIC_SCRAPE;
			d_portref(ynode_get(scrape, "port"), &x->scrape_port);
			x->scrape_path = d_str(scrape, "path");
			x->scrape_metric = d_str(scrape, "metric");
			if (ynode_get(scrape, "metric")) {
				x->scrape_metric_pos.line = ynode_get(scrape, "metric")->line;
				x->scrape_metric_pos.col = ynode_get(scrape, "metric")->col;
			}
		} else {
			x->provider = SPEC_METRIC_PROMETHEUS;
			x->prometheus_address = d_str(prom, "address");
			x->query = d_str(prom, "query");
		}
		x->fail_op = d_cmp(ynode_str(ynode_get(cond, "operator")));
		if (ynode_float(ynode_get(cond, "value"), &x->fail_value) < 0)
			x->fail_value = 0;
		x->interval_ms = d_duration_ms(m, "interval");
		x->count = d_int(m, "count", -1);
		x->failure_limit = d_int(m, "failureLimit", -1);
		x->inconclusive_limit = d_int(m, "inconclusiveLimit", -1);
	}
	return a;
}

void spec_analysis_template_free(struct spec_analysis_template *a)
{
	size_t i;

	if (a == NULL)
		return;
	spec_meta_release(&a->meta);
	for (i = 0; i < a->n_metrics; i++) {
		struct spec_metric *m = &a->metrics[i];

		FREE_ALL(m->name, m->prometheus_address, m->query, m->scrape_port.name, m->scrape_path,
			 m->scrape_metric, m->job_name, m->job_figure);
	}
	free(a->metrics);
	free(a);
}
