/* Desired state: the spec set turned into per-deployment targets and Docker create requests. */
#include "model/desired.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "kv.h"
#include "model/observe.h"
#include "placement.h"
#include "policy.h"
#include "strv.h"
#include "util.h"

void desired_tmpl_release(struct desired_tmpl *t)
{
	size_t i;

	for (i = 0; i < t->n_ports; i++)
		FREE_ALL(t->ports[i].name, t->ports[i].host_ip);
	for (i = 0; i < t->n_volumes; i++)
		FREE_ALL(t->volumes[i].name, t->volumes[i].mount_path, t->volumes[i].host_path);
	FREE_ALL(t->image, t->ports, t->volumes, t->restart, t->network, t->user, t->schema_version);
	strv_free(t->entrypoint);
	strv_free(t->cmd);
	strv_free(t->env);
	strv_free(t->health_cmd);
	strv_free(t->cap_add);
	kv_free(t->labels, t->n_labels);
	memset(t, 0, sizeof(*t));
}

void desired_tmpl_copy(struct desired_tmpl *dst, const struct desired_tmpl *src)
{
	size_t i;

	*dst = *src;	/* the numbers and flags; every pointer is replaced by its copy below */
	dst->image = xstrdup_or_null(src->image);
	dst->entrypoint = strv_dup(src->entrypoint);
	dst->cmd = strv_dup(src->cmd);
	dst->env = strv_dup(src->env);
	dst->ports = xmemdup(src->ports, src->n_ports * sizeof(*src->ports));
	for (i = 0; i < src->n_ports; i++) {
		dst->ports[i].name = xstrdup_or_null(src->ports[i].name);
		dst->ports[i].host_ip = xstrdup_or_null(src->ports[i].host_ip);
	}
	dst->volumes = xmemdup(src->volumes, src->n_volumes * sizeof(*src->volumes));
	for (i = 0; i < src->n_volumes; i++) {
		dst->volumes[i].name = xstrdup_or_null(src->volumes[i].name);
		dst->volumes[i].mount_path = xstrdup_or_null(src->volumes[i].mount_path);
		dst->volumes[i].host_path = xstrdup_or_null(src->volumes[i].host_path);
	}
	dst->restart = xstrdup_or_null(src->restart);
	dst->labels = kv_copy(src->labels, src->n_labels);
	dst->network = xstrdup_or_null(src->network);
	dst->user = xstrdup_or_null(src->user);
	dst->schema_version = xstrdup_or_null(src->schema_version);
	dst->health_cmd = strv_dup(src->health_cmd);
	dst->cap_add = strv_dup(src->cap_add);
}

void desired_tmpl_from_spec(struct desired_tmpl *t, const struct spec_container *c)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->image = xstrdup(c->image ? c->image : "");
	t->entrypoint = strv_copy(c->command, c->n_command);
	t->cmd = strv_copy(c->args, c->n_args);
	t->env = xcalloc(c->n_env + 1, sizeof(*t->env));
	for (i = 0; i < c->n_env; i++)
		t->env[i] = xasprintf("%s=%s", c->env[i].key, c->env[i].value ? c->env[i].value : "");
	t->n_ports = c->n_ports;
	t->ports = c->n_ports ? xcalloc(c->n_ports, sizeof(*t->ports)) : NULL;
	for (i = 0; i < c->n_ports; i++) {
		const struct spec_port *p = &c->ports[i];

		t->ports[i].name = xstrdup_or_null(p->name);
		t->ports[i].container_port = p->container_port;
		t->ports[i].host_port = p->host_port;
		t->ports[i].host_ip = xstrdup(p->host_ip ? p->host_ip : "127.0.0.1");
		t->ports[i].udp = p->protocol == SPEC_PROTO_UDP;
	}
	t->n_volumes = c->n_volumes;
	t->volumes = c->n_volumes ? xcalloc(c->n_volumes, sizeof(*t->volumes)) : NULL;
	for (i = 0; i < c->n_volumes; i++) {
		const struct spec_volume *v = &c->volumes[i];

		t->volumes[i].name = xstrdup(v->name);
		t->volumes[i].mount_path = xstrdup(v->mount_path);
		t->volumes[i].host_path = xstrdup_or_null(v->host_path);
		t->volumes[i].per_replica = v->per_replica;
		t->volumes[i].read_only = v->read_only;
	}
	t->memory_bytes = c->memory_limit;
	t->cpu_millis = c->cpu_millis;
	t->restart = xstrdup(c->restart_policy == SPEC_RESTART_ALWAYS	    ? "always"
			     : c->restart_policy == SPEC_RESTART_ON_FAILURE ? "on-failure"
									    : "no");
	for (i = 0; i < c->n_labels; i++)
		kv_put(&t->labels, &t->n_labels, c->labels[i].key, c->labels[i].value ? c->labels[i].value : "");
	t->network = xstrdup_or_null(c->network);
	t->privileged = c->privileged;
	t->user = xstrdup_or_null(c->user);
	t->schema_version = xstrdup_or_null(c->schema_version);
	t->cap_add = strv_copy(c->cap_add, c->n_cap_add);
}

/* ------------------------------------------------------------------ JSON */

json_t *desired_tmpl_to_json(const struct desired_tmpl *t)
{
	json_t *o = json_object(), *ports = json_array(), *vols = json_array();
	size_t i;

	json_object_set_new(o, "image", json_string(t->image ? t->image : ""));
	json_object_set_new(o, "command", strv_to_json(t->entrypoint, strv_len(t->entrypoint)));
	json_object_set_new(o, "args", strv_to_json(t->cmd, strv_len(t->cmd)));
	json_object_set_new(o, "env", strv_to_json(t->env, strv_len(t->env)));
	for (i = 0; i < t->n_ports; i++) {
		const struct desired_port *p = &t->ports[i];
		json_t *j = json_object();

		if (p->name)
			json_object_set_new(j, "name", json_string(p->name));
		json_object_set_new(j, "containerPort", json_integer(p->container_port));
		json_object_set_new(j, "hostPort", json_integer(p->host_port));
		json_object_set_new(j, "hostIP", json_string(p->host_ip ? p->host_ip : "127.0.0.1"));
		json_object_set_new(j, "protocol", json_string(p->udp ? "UDP" : "TCP"));
		json_array_append_new(ports, j);
	}
	json_object_set_new(o, "ports", ports);
	for (i = 0; i < t->n_volumes; i++) {
		const struct desired_volume *v = &t->volumes[i];
		json_t *j = json_object();

		json_object_set_new(j, "name", json_string(v->name));
		json_object_set_new(j, "mountPath", json_string(v->mount_path));
		if (v->host_path)
			json_object_set_new(j, "hostPath", json_string(v->host_path));
		json_object_set_new(j, "perReplica", json_boolean(v->per_replica));
		json_object_set_new(j, "readOnly", json_boolean(v->read_only));
		json_array_append_new(vols, j);
	}
	json_object_set_new(o, "volumes", vols);
	json_object_set_new(o, "memoryBytes", json_integer(t->memory_bytes));
	json_object_set_new(o, "cpuMillis", json_integer(t->cpu_millis));
	json_object_set_new(o, "restartPolicy", json_string(t->restart ? t->restart : "no"));
	json_object_set_new(o, "labels", kv_to_json(t->labels, t->n_labels));
	if (t->network)
		json_object_set_new(o, "network", json_string(t->network));
	if (t->user)
		json_object_set_new(o, "user", json_string(t->user));
	if (t->schema_version)
		json_object_set_new(o, "schemaVersion", json_string(t->schema_version));
	/* Only when set, so state files written before the field read back the same. */
	if (t->privileged)
		json_object_set_new(o, "privileged", json_true());
	if (t->cap_add)
		json_object_set_new(o, "capAdd", strv_to_json(t->cap_add, strv_len(t->cap_add)));
	if (t->health_cmd)
		json_object_set_new(o, "healthcheck",
				    json_pack("{s:o, s:I, s:I, s:I, s:i}", "command",
					      strv_to_json(t->health_cmd, strv_len(t->health_cmd)), "intervalMs",
					      (json_int_t)t->health_interval_ms, "timeoutMs",
					      (json_int_t)t->health_timeout_ms, "startPeriodMs",
					      (json_int_t)t->health_start_ms, "retries", t->health_retries));
	return o;
}

static int json_strv(char ***out, const json_t *a, const char *field, struct error **err)
{
	size_t i;
	const json_t *v;

	*out = NULL;
	if (a == NULL || json_array_size(a) == 0)
		return 0;
	if (!json_is_array(a))
		return error_set(err, ERR_INVALID, "template: '%s' is not a list", field);
	*out = xcalloc(json_array_size(a) + 1, sizeof(**out));
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return error_set(err, ERR_INVALID, "template: '%s[%zu]' is not a string", field, i);
		(*out)[i] = xstrdup(json_string_value(v));
	}
	return 0;
}

static const char *jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

int desired_tmpl_from_json(struct desired_tmpl *t, const json_t *j, struct error **err)
{
	const json_t *ports, *vols, *labels, *v;
	const char *key;
	size_t i;
	int rc;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(j) || jstr(j, "image") == NULL)
		return error_set(err, ERR_INVALID, "template: not an object with an image");
	t->image = xstrdup(jstr(j, "image"));
	if ((rc = json_strv(&t->entrypoint, json_object_get(j, "command"), "command", err)) < 0 ||
	    (rc = json_strv(&t->cmd, json_object_get(j, "args"), "args", err)) < 0 ||
	    (rc = json_strv(&t->env, json_object_get(j, "env"), "env", err)) < 0)
		goto fail;
	if (t->env == NULL)
		t->env = xcalloc(1, sizeof(*t->env));
	ports = json_object_get(j, "ports");
	t->n_ports = json_array_size(ports);
	t->ports = t->n_ports ? xcalloc(t->n_ports, sizeof(*t->ports)) : NULL;
	for (i = 0; i < t->n_ports; i++) {
		v = json_array_get(ports, i);
		t->ports[i].name = xstrdup_or_null(jstr(v, "name"));
		t->ports[i].container_port = (int)json_integer_value(json_object_get(v, "containerPort"));
		t->ports[i].host_port = (int)json_integer_value(json_object_get(v, "hostPort"));
		t->ports[i].host_ip = xstrdup(jstr(v, "hostIP") ? jstr(v, "hostIP") : "127.0.0.1");
		t->ports[i].udp = jstr(v, "protocol") && strcmp(jstr(v, "protocol"), "UDP") == 0;
		if (t->ports[i].container_port < 1 || t->ports[i].container_port > 65535) {
			rc = error_set(err, ERR_INVALID, "template: ports[%zu].containerPort is out of range", i);
			goto fail;
		}
	}
	vols = json_object_get(j, "volumes");
	t->n_volumes = json_array_size(vols);
	t->volumes = t->n_volumes ? xcalloc(t->n_volumes, sizeof(*t->volumes)) : NULL;
	for (i = 0; i < t->n_volumes; i++) {
		v = json_array_get(vols, i);
		if (jstr(v, "name") == NULL || jstr(v, "mountPath") == NULL) {
			rc = error_set(err, ERR_INVALID, "template: volumes[%zu] needs name and mountPath", i);
			goto fail;
		}
		t->volumes[i].name = xstrdup(jstr(v, "name"));
		t->volumes[i].mount_path = xstrdup(jstr(v, "mountPath"));
		t->volumes[i].host_path = xstrdup_or_null(jstr(v, "hostPath"));
		t->volumes[i].per_replica = json_is_true(json_object_get(v, "perReplica"));
		t->volumes[i].read_only = json_is_true(json_object_get(v, "readOnly"));
	}
	t->memory_bytes = json_integer_value(json_object_get(j, "memoryBytes"));
	t->cpu_millis = json_integer_value(json_object_get(j, "cpuMillis"));
	t->restart = xstrdup(jstr(j, "restartPolicy") ? jstr(j, "restartPolicy") : "no");
	labels = json_object_get(j, "labels");
	json_object_foreach((json_t *)labels, key, v) {
		kv_put(&t->labels, &t->n_labels, key, json_is_string(v) ? json_string_value(v) : "");
	}
	t->network = xstrdup_or_null(jstr(j, "network"));
	t->user = xstrdup_or_null(jstr(j, "user"));
	t->schema_version = xstrdup_or_null(jstr(j, "schemaVersion"));
	t->privileged = json_is_true(json_object_get(j, "privileged"));
	if (json_object_get(j, "capAdd") &&
	    (rc = json_strv(&t->cap_add, json_object_get(j, "capAdd"), "capAdd", err)) < 0)
		goto fail;
	v = json_object_get(j, "healthcheck");
	if (v) {
		if ((rc = json_strv(&t->health_cmd, json_object_get(v, "command"), "healthcheck.command", err)) < 0)
			goto fail;
		t->health_interval_ms = json_integer_value(json_object_get(v, "intervalMs"));
		t->health_timeout_ms = json_integer_value(json_object_get(v, "timeoutMs"));
		t->health_start_ms = json_integer_value(json_object_get(v, "startPeriodMs"));
		t->health_retries = (int)json_integer_value(json_object_get(v, "retries"));
	}
	return 0;
fail:
	desired_tmpl_release(t);
	return rc;
}

static void add_line(char ***lines, size_t *n, char *line)
{
	*lines = xrealloc(*lines, (*n + 2) * sizeof(**lines));
	(*lines)[(*n)++] = line;
	(*lines)[*n] = NULL;
}

/* The value of "NAME=value" entry name in a JSON list of them, NULL when absent. */
static const char *env_value(const json_t *list, const char *name, size_t name_len)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v) {
		const char *s = json_string_value(v);

		if (s && strncmp(s, name, name_len) == 0 && s[name_len] == '=')
			return s + name_len + 1;
	}
	return NULL;
}

/*
 * Env values are often secrets (a database password, a token), and the
 * plan's lines are printed, logged and noted: a variable is named as added,
 * changed or removed, never with its value.
 */
static void env_diff(const json_t *from, const json_t *to, char ***lines, size_t *n)
{
	size_t i, k;
	json_t *v;

	for (k = 0; k < 2; k++) {
		const json_t *side = k == 0 ? to : from, *other = k == 0 ? from : to;

		json_array_foreach(side, i, v) {
			const char *s = json_string_value(v), *eq = s ? strchr(s, '=') : NULL;
			const char *was;
			size_t len;

			if (eq == NULL)
				continue;
			len = (size_t)(eq - s);
			was = env_value(other, s, len);
			if (was == NULL)
				add_line(lines, n, xasprintf("env: %.*s %s", (int)len, s, k == 0 ? "added" : "removed"));
			else if (k == 0 && strcmp(was, eq + 1) != 0)
				add_line(lines, n, xasprintf("env: %.*s changed", (int)len, s));
		}
	}
}

/* Compares the JSON forms field by field: one line per top-level field that differs. */
void desired_tmpl_diff(const struct desired_tmpl *from, const struct desired_tmpl *to, char ***lines,
		       size_t *n)
{
	json_t *a = desired_tmpl_to_json(from), *b = desired_tmpl_to_json(to);
	const char *key;
	json_t *va;

	json_object_foreach(b, key, va) {
		json_t *vb = json_object_get(a, key);
		char *sa, *sb;

		if (vb && json_equal(va, vb))
			continue;
		if (strcmp(key, "env") == 0) {
			env_diff(vb, va, lines, n);
			continue;
		}
		sa = vb ? json_dumps(vb, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : xstrdup("(none)");
		sb = json_dumps(va, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS);
		if (json_is_string(va) && (vb == NULL || json_is_string(vb)))
			add_line(lines, n, xasprintf("%s: %s -> %s", key, vb ? json_string_value(vb) : "(none)",
						     json_string_value(va)));
		else
			add_line(lines, n, xasprintf("%s: %s -> %s", key, sa ? sa : "?", sb ? sb : "?"));
		free(sa);
		free(sb);
	}
	json_object_foreach(a, key, va) {
		if (json_object_get(b, key) != NULL)
			continue;
		if (strcmp(key, "env") == 0)
			env_diff(va, NULL, lines, n);
		else
			add_line(lines, n, xasprintf("%s: removed", key));
	}
	json_decref(a);
	json_decref(b);
}

/* -------------------------------------------------------------- desired */

void desired_init(struct desired *d)
{
	memset(d, 0, sizeof(*d));
}

static void dep_release(struct desired_deployment *dd)
{
	free(dd->name);
	free(dd->role);
	strv_free(dd->depends_on);
	free(dd->verify_key);
	desired_tmpl_release(&dd->tmpl);
}

void desired_release(struct desired *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		dep_release(&d->v[i]);
	free(d->v);
	kv_free(d->extra_labels, d->n_extra_labels);
	FREE_ALL(d->instance, d->commit, d->name_prefix);
	strv_free(d->external_networks);
	strmap_clear(&d->by_name);
	memset(d, 0, sizeof(*d));
}

long desired_budget(const struct spec_deployment *dep)
{
	long r = dep->replicas, budget = r;
	const struct spec_budget *b = &dep->budget;

	if (b->max_unavailable.set)
		budget = spec_intpct_resolve(&b->max_unavailable, r, 0);
	else if (b->min_available.set)
		budget = r - spec_intpct_resolve(&b->min_available, r, 1);
	else if (dep->role && strcmp(dep->role, "validator") == 0)
		budget = (r - 1) / 3;	/* BFT: n = 3f + 1 tolerates f down */
	if (budget < 0)
		budget = 0;
	return budget;
}

static int dep_cmp(const void *pa, const void *pb)
{
	const struct desired_deployment *a = pa, *b = pb;

	if (a->phase != b->phase)
		return a->phase < b->phase ? -1 : 1;
	return strcmp(a->name, b->name);
}

int desired_label_split(const char *kv, struct kv *out, struct error **err)
{
	const char *eq = strchr(kv, '=');

	if (eq == NULL || eq == kv)
		return error_set(err, ERR_INVALID, "label '%s': expected key=value", kv);
	if (str_has_prefix(kv, OBS_LABEL_PREFIX))
		return error_set(err, ERR_INVALID, "label '%s': the auriga.io/ prefix is reserved", kv);
	out->key = xstrndup(kv, (size_t)(eq - kv));
	out->value = xstrdup(eq + 1);
	return 0;
}

void desired_verify_key(const struct spec_set *set, const struct desired_deployment *dd,
			char out[2 * SPEC_REVISION_HEX])
{
	char hash[SPEC_REVISION_HEX], **names = NULL;
	size_t n = desired_verify_templates(dd, &names);

	spec_analysis_hash(set, names, n, hash);
	free(names);
	snprintf(out, 2 * SPEC_REVISION_HEX, "%.64s.%s", dd->revision, hash);
}

size_t desired_verify_templates(const struct desired_deployment *dd, char ***out)
{
	const struct spec_strategy *st = dd->spec ? &dd->spec->strategy : NULL;
	size_t i, j, n = 0;

	*out = NULL;
	if (st && st->type == SPEC_STRATEGY_BLUEGREEN && st->n_pre_promotion_analysis) {
		*out = xcalloc(st->n_pre_promotion_analysis, sizeof(**out));
		for (i = 0; i < st->n_pre_promotion_analysis; i++)
			(*out)[n++] = st->pre_promotion_analysis[i];
	}
	for (i = 0; st && st->type == SPEC_STRATEGY_CANARY && i < st->n_steps; i++) {
		for (j = 0; st->steps[i].kind == SPEC_STEP_ANALYSIS && j < st->steps[i].n_templates; j++) {
			*out = xrealloc(*out, (n + 1) * sizeof(**out));
			(*out)[n++] = st->steps[i].templates[j];
		}
	}
	return n;
}

int desired_build(struct desired *d, const struct spec_set *set, const char *instance, const char *commit,
		  const char *const *extra_labels, size_t n_extra, struct error **err)
{
	size_t i;
	int rc = 0;

	desired_release(d);
	d->instance = xstrdup(instance);
	d->name_prefix = xstrdup(instance);
	d->commit = xstrdup(commit ? commit : "");
	if (set->policy)
		d->external_networks = strv_copy(set->policy->networks, set->policy->n_networks);
	d->extra_labels = n_extra ? xcalloc(n_extra, sizeof(*d->extra_labels)) : NULL;
	for (i = 0; i < n_extra; i++) {
		rc = desired_label_split(extra_labels[i], &d->extra_labels[i], err);
		if (rc < 0)
			goto out;
		d->n_extra_labels++;
	}
	d->v = set->n_deployments ? xcalloc(set->n_deployments, sizeof(*d->v)) : NULL;
	for (i = 0; i < set->n_deployments; i++) {
		const struct spec_deployment *s = set->deployments[i];
		struct desired_deployment *dd = &d->v[d->n++];
		long budget;

		dd->spec = s;
		dd->name = xstrdup(s->meta.name);
		dd->role = xstrdup(s->role ? s->role : "");
		dd->phase = spec_deployment_phase_index(set, s);
		dd->depends_on = strv_copy(s->depends_on, s->n_depends_on);
		dd->n_depends_on = s->n_depends_on;
		dd->replicas = s->replicas;
		dd->strategy = s->strategy.type;
		dd->min_ready_seconds = s->strategy.min_ready_seconds;
		dd->progress_deadline_seconds = s->strategy.progress_deadline_seconds;
		dd->auto_rollback = s->auto_rollback;
		budget = desired_budget(s);
		if (s->strategy.type == SPEC_STRATEGY_RECREATE) {
			/* Stop first: something must go down, so at least one at a time. */
			dd->max_surge = 0;
			dd->max_unavailable = budget > 0 ? budget : 1;
		} else {
			dd->max_surge = spec_intpct_resolve(&s->strategy.max_surge, s->replicas, 1);
			dd->max_unavailable = spec_intpct_resolve(&s->strategy.max_unavailable, s->replicas, 0);
			if (dd->max_unavailable > budget)
				dd->max_unavailable = budget;
			/* Kubernetes refuses 0/0; keep moving by surging instead of breaking the budget. */
			if (dd->max_unavailable == 0 && dd->max_surge == 0)
				dd->max_surge = 1;
		}
		spec_deployment_revision(s, dd->revision);
		if (dd->strategy == SPEC_STRATEGY_BLUEGREEN || dd->strategy == SPEC_STRATEGY_CANARY) {
			dd->verify_key = xmalloc(2 * SPEC_REVISION_HEX);
			desired_verify_key(set, dd, dd->verify_key);
		}
		desired_tmpl_from_spec(&dd->tmpl, &s->tmpl);
		if (spec_deployment_probes(s)->readiness.kind == SPEC_PROBE_EXEC &&
		    spec_deployment_probes(s)->readiness.n_exec_command) {
			const struct spec_probe *rp = &spec_deployment_probes(s)->readiness;

			dd->tmpl.health_cmd = strv_copy(rp->exec_command, rp->n_exec_command);
			dd->tmpl.health_interval_ms = (int64_t)rp->period_seconds * 1000;
			dd->tmpl.health_timeout_ms = (int64_t)rp->timeout_seconds * 1000;
			/* Docker's 0 means "the image's start period"; the probe's own delay is what counts here. */
			dd->tmpl.health_start_ms = rp->initial_delay_seconds > 0 ? (int64_t)rp->initial_delay_seconds * 1000 : 1;
			dd->tmpl.health_retries = rp->failure_threshold;
		}
		if (dd->phase + 1 > d->n_phases)
			d->n_phases = dd->phase + 1;
	}
	if (d->n > 1 && d->v)
		qsort(d->v, d->n, sizeof(d->v[0]), dep_cmp);
	for (i = 0; d->v != NULL && i < d->n; i++)
		strmap_put_index(&d->by_name, d->v[i].name, i);
out:
	if (rc < 0)
		desired_release(d);
	return rc;
}

const struct desired_deployment *desired_find(const struct desired *d, const char *name)
{
	size_t i;

	/* By the index when desired_build made one (a hand-made desired state has none). */
	if (d->by_name.n == d->n && d->n > 0)
		return strmap_get_index(&d->by_name, name, &i) ? &d->v[i] : NULL;
	for (i = 0; i < d->n; i++)
		if (strcmp(d->v[i].name, name) == 0)
			return &d->v[i];
	return NULL;
}

void desired_set_name_prefix(struct desired *d, const char *prefix)
{
	str_set(&d->name_prefix, prefix ? prefix : "");
}

/* ------------------------------------------------------- create requests */

char *desired_prefixed(const char *prefix, const char *base)
{
	if (prefix == NULL || *prefix == '\0')
		return xstrdup(base);
	return xasprintf("%s-%s", prefix, base);
}

char *desired_container_name(const char *prefix, const char *dep, int ordinal, const char *rev_or_null)
{
	struct buf b;
	char *name;

	buf_init(&b, 1024);
	if (rev_or_null)
		(void)buf_printf(&b, "%s-%d-%.6s", dep, ordinal, rev_or_null);
	else
		(void)buf_printf(&b, "%s-%d", dep, ordinal);
	name = desired_prefixed(prefix, b.data);
	buf_release(&b);
	return name;
}

char *desired_volume_name(const char *instance, const char *dep, const char *vol, int ordinal)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdn = 0;
	struct buf in, b;
	char ord[16];

	snprintf(ord, sizeof(ord), "%d", ordinal);
	buf_init(&in, 4096);
	buf_append(&in, instance, strlen(instance) + 1);
	buf_append(&in, dep, strlen(dep) + 1);
	buf_append(&in, vol, strlen(vol) + 1);
	buf_append(&in, ord, strlen(ord) + 1);
	if (!EVP_Digest(in.data, in.len, md, &mdn, EVP_sha256(), NULL) || mdn < 5)
		BUG("sha256 failed");
	buf_release(&in);
	buf_init(&b, 1024);
	if (ordinal >= 0)
		(void)buf_printf(&b, "%s.%s.%d.", dep, vol, ordinal);
	else
		(void)buf_printf(&b, "%s.%s.", dep, vol);
	(void)buf_printf(&b, "%02x%02x%02x%02x%02x", md[0], md[1], md[2], md[3], md[4]);
	return buf_detach(&b, NULL);
}

char *desired_volume_legacy_name(const char *dep, const char *vol, int ordinal)
{
	struct buf b;

	buf_init(&b, 1024);
	if (ordinal >= 0)
		(void)buf_printf(&b, "%s-%s-%d", dep, vol, ordinal);
	else
		(void)buf_printf(&b, "%s-%s", dep, vol);
	return buf_detach(&b, NULL);
}

void desired_volume_labels(const struct desired *d, const char *dep, const char *ordinal_text,
			   struct kv **out, size_t *n)
{
	size_t i;

	*out = NULL;
	*n = 0;
	for (i = 0; i < d->n_extra_labels; i++)
		kv_put(out, n, d->extra_labels[i].key, d->extra_labels[i].value);
	kv_put(out, n, OBS_LABEL_MANAGED_BY, d->instance);
	kv_put(out, n, OBS_LABEL_DEPLOYMENT, dep);
	kv_put(out, n, OBS_LABEL_ORDINAL, ordinal_text);
}

const char *desired_network_to_create(const struct desired_tmpl *t)
{
	const char *n = t->network;

	if (n == NULL || *n == '\0' || strcmp(n, "bridge") == 0 || strcmp(n, "host") == 0 ||
	    strcmp(n, "none") == 0 || strcmp(n, "default") == 0 || str_has_prefix(n, "container:"))
		return NULL;
	return n;
}

char *desired_network_name(const struct desired *d, const struct desired_tmpl *t)
{
	const char *n = desired_network_to_create(t);
	size_t i;

	if (n == NULL)
		return xstrdup_or_null(t->network);
	for (i = 0; d->external_networks && d->external_networks[i]; i++)
		if (strcmp(d->external_networks[i], n) == 0)
			return xstrdup(n);
	return desired_prefixed(d->name_prefix, n);
}

void desired_network_labels(const struct desired *d, struct kv **out, size_t *n)
{
	size_t i;

	*out = NULL;
	*n = 0;
	for (i = 0; i < d->n_extra_labels; i++)
		kv_put(out, n, d->extra_labels[i].key, d->extra_labels[i].value);
	kv_put(out, n, OBS_LABEL_MANAGED_BY, d->instance);
}

void desired_create_build(struct desired_create *out, const struct desired *d, const char *dep,
			  const struct desired_tmpl *tmpl, const char *rev, int ordinal, const char *name,
			  const char *endpoint, int host_port_offset)
{
	size_t i, nv = 0;

	memset(out, 0, sizeof(*out));
	snprintf(out->ordinal_text, sizeof(out->ordinal_text), "%d", ordinal);
	out->name = xstrdup(name);
	for (i = 0; i < tmpl->n_labels; i++)
		kv_put(&out->labels, &out->n_labels, tmpl->labels[i].key, tmpl->labels[i].value);
	for (i = 0; i < d->n_extra_labels; i++)
		kv_put(&out->labels, &out->n_labels, d->extra_labels[i].key, d->extra_labels[i].value);
	kv_put(&out->labels, &out->n_labels, OBS_LABEL_MANAGED_BY, d->instance);
	kv_put(&out->labels, &out->n_labels, OBS_LABEL_DEPLOYMENT, dep);
	kv_put(&out->labels, &out->n_labels, OBS_LABEL_REVISION, rev);
	kv_put(&out->labels, &out->n_labels, OBS_LABEL_ORDINAL, out->ordinal_text);
	kv_put(&out->labels, &out->n_labels, OBS_LABEL_SLOT, "");
	kv_put(&out->labels, &out->n_labels, OBS_LABEL_COMMIT, d->commit ? d->commit : "");
	if (endpoint)
		kv_put(&out->labels, &out->n_labels, OBS_LABEL_ENDPOINT, endpoint);

	out->ports = tmpl->n_ports ? xcalloc(tmpl->n_ports, sizeof(*out->ports)) : NULL;
	for (i = 0; i < tmpl->n_ports; i++) {
		const struct desired_port *p = &tmpl->ports[i];
		long hp = p->host_port ? (long)p->host_port + host_port_offset : 0;

		out->ports[i].container_port = (uint16_t)p->container_port;
		out->ports[i].protocol = p->udp ? "udp" : "tcp";
		out->ports[i].host_ip = p->host_ip ? p->host_ip : "127.0.0.1";
		out->ports[i].host_port = hp > 0 && hp <= 65535 ? (uint16_t)hp : 0;
	}
	out->mounts = tmpl->n_volumes ? xcalloc(tmpl->n_volumes, sizeof(*out->mounts)) : NULL;
	out->volume_names = xcalloc(tmpl->n_volumes + 1, sizeof(*out->volume_names));
	out->volume_legacy = xcalloc(tmpl->n_volumes + 1, sizeof(*out->volume_legacy));
	out->volume_per_replica = xcalloc(tmpl->n_volumes + 1, sizeof(*out->volume_per_replica));
	for (i = 0; i < tmpl->n_volumes; i++) {
		const struct desired_volume *v = &tmpl->volumes[i];

		out->mounts[i].target = v->mount_path;
		out->mounts[i].read_only = v->read_only;
		if (v->host_path) {
			out->mounts[i].source = v->host_path;
			out->mounts[i].bind = 1;
			continue;
		}
		out->volume_names[nv] = desired_volume_name(d->instance, dep, v->name, v->per_replica ? ordinal : -1);
		out->volume_legacy[nv] = desired_volume_legacy_name(dep, v->name, v->per_replica ? ordinal : -1);
		out->volume_per_replica[nv] = v->per_replica;
		out->mounts[i].source = out->volume_names[nv++];
	}

	out->spec.name = out->name;
	out->spec.image = tmpl->image;
	out->spec.entrypoint = (const char *const *)tmpl->entrypoint;
	out->spec.cmd = (const char *const *)tmpl->cmd;
	out->spec.env = (const char *const *)tmpl->env;
	out->spec.labels = out->labels;
	out->spec.n_labels = out->n_labels;
	out->spec.ports = out->ports;
	out->spec.n_ports = tmpl->n_ports;
	out->spec.mounts = out->mounts;
	out->spec.n_mounts = tmpl->n_volumes;
	out->spec.memory_bytes = tmpl->memory_bytes;
	out->spec.nano_cpus = tmpl->cpu_millis * 1000000;
	out->spec.restart_policy = tmpl->restart;
	out->spec.network = tmpl->network;
	if (desired_network_to_create(tmpl)) {
		/*
		 * Docker refuses aliases on the default bridge; on a user network they
		 * name the replicas. The network is the instance's own, so the
		 * aliases need no prefix, as in a Compose project's network.
		 */
		out->aliases[0] = xstrdup(dep);
		out->aliases[1] = desired_container_name(NULL, dep, ordinal, NULL);
		out->spec.aliases = (const char *const *)out->aliases;
		out->create_network = desired_network_name(d, tmpl);
		if (strcmp(out->create_network, tmpl->network) != 0)
			out->network_legacy = xstrdup(tmpl->network);
		out->spec.network = out->create_network;
	}
	out->spec.privileged = tmpl->privileged;
	out->spec.cap_add = (const char *const *)tmpl->cap_add;
	out->spec.user = tmpl->user;
	/* The hostname is the replica's name within the instance, as before names carried a prefix. */
	out->spec.hostname = out->name;
	if (d->name_prefix && *d->name_prefix && str_has_prefix(name, d->name_prefix) &&
	    name[strlen(d->name_prefix)] == '-')
		out->spec.hostname = out->name + strlen(d->name_prefix) + 1;
	if (tmpl->health_cmd) {
		size_t n = strv_len(tmpl->health_cmd);

		out->health_test = xcalloc(n + 2, sizeof(*out->health_test));
		out->health_test[0] = xstrdup("CMD");
		for (i = 0; i < n; i++)
			out->health_test[i + 1] = xstrdup(tmpl->health_cmd[i]);
		out->health.test = (const char *const *)out->health_test;
		out->health.interval_ms = tmpl->health_interval_ms;
		out->health.timeout_ms = tmpl->health_timeout_ms;
		out->health.start_period_ms = tmpl->health_start_ms;
		out->health.retries = tmpl->health_retries;
		out->spec.healthcheck = &out->health;
	}
}

void desired_create_mark_network(struct desired_create *c)
{
	if (c->create_network == NULL)
		return;
	kv_put(&c->labels, &c->n_labels, OBS_LABEL_NETWORK, c->spec.network);
	c->spec.labels = c->labels;
	c->spec.n_labels = c->n_labels;
}

void desired_create_release(struct desired_create *c)
{
	kv_free(c->labels, c->n_labels);
	FREE_ALL(c->name, c->ports, c->mounts, c->aliases[0], c->aliases[1], c->create_network, c->network_legacy);
	strv_free(c->volume_names);
	strv_free(c->volume_legacy);
	free(c->volume_per_replica);
	strv_free(c->health_test);
	memset(c, 0, sizeof(*c));
}

size_t desired_endpoints(const struct spec_set *set)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;

	return c && c->n_endpoints ? c->n_endpoints : 1;
}

const char *desired_endpoint_name(const struct spec_set *set, size_t i)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;

	return c && i < c->n_endpoints && c->endpoints[i].name ? c->endpoints[i].name : SPEC_ENDPOINT_LOCAL;
}

/* The Cluster's endpoint i as placement sees it. */
static void place_endpoint(const struct spec_set *set, size_t i, struct placement_endpoint *v)
{
	const struct spec_cluster *c = set ? spec_set_cluster(set) : NULL;

	memset(v, 0, sizeof(*v));
	v->name = desired_endpoint_name(set, i);
	v->labels = c && c->n_endpoints ? c->endpoints[i].labels : NULL;
	v->n_labels = c && c->n_endpoints ? c->endpoints[i].n_labels : 0;
}

int desired_may_place(const struct spec_set *set, const struct desired_deployment *dd, size_t i)
{
	struct placement_endpoint v;

	if (dd->spec == NULL || !dd->spec->placement.set)
		return 1;
	place_endpoint(set, i, &v);
	return placement_eligible(&dd->spec->placement, &v);
}

void desired_place(const struct spec_set *set, const struct desired_deployment *dd, const struct obs_deployment *od,
		   const int64_t *down_ms, int *out)
{
	size_t i, j, n = desired_endpoints(set);
	struct placement_endpoint *v = xcalloc(n, sizeof(*v));
	int *cur = xcalloc((size_t)dd->replicas + 1, sizeof(*cur));
	int64_t *born = xcalloc((size_t)dd->replicas + 1, sizeof(*born));
	int64_t move_after = dd->spec && dd->spec->placement.set ? dd->spec->placement.move_after_ms : -1;
	struct placement_request rq;
	int o;

	for (i = 0; i < n; i++) {
		place_endpoint(set, i, &v[i]);
		v[i].down = down_ms && down_ms[i] >= 0;
		v[i].leave = v[i].down && move_after > 0 && down_ms[i] >= move_after;
	}
	for (o = 0; o < dd->replicas; o++)
		cur[o] = -1;
	/*
	 * Each ordinal's recorded endpoint: where a container of it runs, at any
	 * revision; on several endpoints (it was moved off one that did not
	 * answer), where its newest one runs.
	 */
	for (i = 0; od && i < od->n; i++) {
		const struct obs_container *k = od->v[i];
		const char *host = k->host;

		if (k->ordinal < 0 || k->ordinal >= dd->replicas || (cur[k->ordinal] >= 0 && k->created <= born[k->ordinal]))
			continue;
		for (j = 0; j < n; j++)
			if (n == 1 || (host && strcmp(v[j].name, host) == 0)) {
				cur[k->ordinal] = (int)j;
				born[k->ordinal] = k->created;
			}
	}
	memset(&rq, 0, sizeof(rq));
	rq.endpoints = v;
	rq.n_endpoints = n;
	rq.placement = dd->spec && dd->spec->placement.set ? &dd->spec->placement : NULL;
	rq.replicas = dd->replicas;
	rq.current = cur;
	/* Replicas leave an endpoint only where it is marked leave: after the deployment's moveAfter. */
	rq.move_down = 0;
	(void)placement_assign(&rq, out);
	free(born);
	free(cur);
	free(v);
}
