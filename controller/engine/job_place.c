/* Where a deployment's Job runs and what it mounts: a network auriga owns, and the deployment's own volumes. */
#include "engine/job_place.h"

#include <stdlib.h>
#include <string.h>

#include "kv.h"
#include "model/desired.h"
#include "model/observe.h"
#include "policy.h"
#include "runtime/log.h"
#include "spec.h"
#include "strv.h"
#include "util.h"

/*
 * Docker gives a container on several networks its external connectivity,
 * published ports included, through the first of them by name. A replica on
 * Docker's bridge joins this network while a Job tests it: named to sort after
 * "bridge", joining and leaving it never moves the replica's published ports,
 * which would restart their proxy and break the connections it carries.
 */
char *job_place_jobs_network(const char *instance)
{
	return xasprintf("jobs-auriga-%s", instance);
}

static const struct desired_volume *find_volume(const struct desired_tmpl *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n_volumes; i++)
		if (strcmp(t->volumes[i].name, name) == 0)
			return &t->volumes[i];
	return NULL;
}

/* Keeps s with the place and returns it. */
static const char *keep(struct job_place *p, size_t *n, char *s)
{
	p->strings[(*n)++] = s;
	return s;
}

static int place_mounts(struct job_place *p, const struct desired *d, const struct desired_deployment *dd,
			const struct spec_job *job, struct error **err)
{
	const struct spec_container *t = &job->tmpl;
	size_t i, ns = 0;

	p->mounts = xcalloc(t->n_volumes + 1, sizeof(*p->mounts));
	p->strings = xcalloc(2 * t->n_volumes + 1, sizeof(*p->strings));
	for (i = 0; i < t->n_volumes; i++) {
		const struct spec_volume *jv = &t->volumes[i];
		const struct desired_volume *dv = find_volume(&dd->tmpl, jv->name);
		struct job_mount *m = &p->mounts[p->n_mounts];

		if (dv == NULL || dv->per_replica || jv->host_path || jv->per_replica)
			return error_set(err, ERR_INVALID,
					 "Job '%s' mounts volume '%s', which is not a shared volume of deployment '%s' "
					 "(declared in its spec.template.volumes, not per replica)", job->meta.name,
					 jv->name, dd->name);
		m->target = jv->mount_path;
		m->read_only = jv->read_only;
		if (dv->host_path) {
			m->source = dv->host_path;
			m->bind = 1;
		} else {
			m->source = keep(p, &ns, desired_volume_name(d->instance, dd->name, dv->name, -1));
			m->legacy = keep(p, &ns, desired_volume_legacy_name(dd->name, dv->name, -1));
		}
		p->n_mounts++;
	}
	return 0;
}

int job_place_init(struct job_place *p, const struct desired *d, const struct desired_deployment *dd,
		   const struct spec_job *job, const struct spec_policy *policy, struct error **err)
{
	const char *dep_net = desired_network_to_create(&dd->tmpl);
	size_t i;

	memset(p, 0, sizeof(*p));
	if (dep_net) {
		p->network = desired_network_name(d, &dd->tmpl);
		if (strcmp(p->network, dep_net) != 0)
			p->network_legacy = xstrdup(dep_net);
		p->on_deployment_network = 1;
		p->foreign_network_ok = spec_policy_network_allowed(policy, dep_net);
	} else {
		p->network = job_place_jobs_network(d->instance);
	}
	desired_network_labels(d, &p->net_labels, &p->n_net_labels);
	/* As a shared volume of the deployment's: whose it is, not which replica made it. */
	for (i = 0; i < d->n_extra_labels; i++)
		kv_put(&p->vol_labels, &p->n_vol_labels, d->extra_labels[i].key, d->extra_labels[i].value);
	kv_put(&p->vol_labels, &p->n_vol_labels, OBS_LABEL_MANAGED_BY, d->instance);
	kv_put(&p->vol_labels, &p->n_vol_labels, OBS_LABEL_DEPLOYMENT, dd->name);
	if (place_mounts(p, d, dd, job, err) < 0) {
		job_place_release(p);
		return -1;
	}
	return 0;
}

void job_place_apply(const struct job_place *p, const struct desired *d, const char *deployment,
		     struct job_spec *js)
{
	js->network = p->network;
	js->network_legacy = p->network_legacy;
	js->ensure_network = 1;
	js->foreign_network_ok = p->foreign_network_ok;
	js->instance = d->instance;
	js->net_labels = p->net_labels;
	js->n_net_labels = p->n_net_labels;
	js->mounts = p->mounts;
	js->n_mounts = p->n_mounts;
	js->deployment = deployment;
	js->vol_labels = p->vol_labels;
	js->n_vol_labels = p->n_vol_labels;
}

void job_place_release(struct job_place *p)
{
	free(p->network);
	free(p->network_legacy);
	kv_free(p->net_labels, p->n_net_labels);
	kv_free(p->vol_labels, p->n_vol_labels);
	free(p->mounts);
	strv_free(p->strings);
	memset(p, 0, sizeof(*p));
}

struct job_run *job_place_start(struct job_runner *jr, struct job_spec *js, const struct desired *d,
				const struct desired_deployment *dd, const struct spec_job *job,
				const struct spec_policy *policy, const char *attach, job_done_fn done,
				void *arg)
{
	struct job_place p;
	struct job_run *run;
	struct error *err = NULL;

	if (job_place_init(&p, d, dd, job, policy, &err) < 0) {
		done(0, 0, error_msg(err), arg);
		error_free(err);
		return NULL;
	}
	job_place_apply(&p, d, dd->name, js);
	js->attach = p.on_deployment_network ? NULL : attach;
	run = job_start(jr, js, done, arg);
	job_place_release(&p);
	return run;
}

void job_place_spec(struct job_spec *js, struct desired_tmpl *tmpl, const struct spec_job *job, const char *name,
		    const char *owner)
{
	desired_tmpl_from_spec(tmpl, &job->tmpl);
	memset(js, 0, sizeof(*js));
	js->name = name;
	js->tmpl = tmpl;
	js->deadline_ms = (int64_t)job->active_deadline_seconds * 1000;
	js->backoff_limit = job->backoff_limit;
	js->owner = owner;
}

/* The environment of a check Job (job_check): where its container is, then the caller's; freed with strv_free. */
static char **check_env(const struct job_check *c)
{
	size_t n = c->env ? strv_len((char *const *)c->env) : 0, i, k = 0;
	char **env = xcalloc(n + 5, sizeof(*env));

	env[k++] = xasprintf("AURIGA_PREVIEW_HOST=%s", c->host);
	env[k++] = xasprintf("AURIGA_PREVIEW_PORT=%d", c->port);
	env[k++] = xasprintf("AURIGA_PREVIEW_URL=http://%s:%d", c->host, c->port);
	env[k++] = xasprintf("AURIGA_TARGET_CONTAINER=%s", c->target);
	for (i = 0; i < n; i++)
		env[k++] = xstrdup(c->env[i]);
	return env;
}

struct job_run *job_place_check_start(struct job_runner *jr, const struct desired *d,
				      const struct desired_deployment *dd, const struct spec_job *job,
				      const struct spec_policy *policy, const struct job_check *c, job_done_fn done,
				      void *arg)
{
	struct kv *labels;
	char **env = check_env(c), *base = xasprintf("%s-%s", dd->name, c->suffix);
	char *name = desired_prefixed(d->name_prefix, base);
	struct desired_tmpl tmpl;
	struct job_spec js;
	struct job_run *run;
	size_t nl;

	labels = job_labels(d->extra_labels, d->n_extra_labels, d->instance, &nl, c->label, dd->name, (char *)NULL);
	job_place_spec(&js, &tmpl, job, name, dd->name);
	js.env = (const char *const *)env;
	js.labels = labels;
	js.n_labels = nl;
	js.tail_lines = c->tail_lines;
	js.max_output = c->max_output;
	js.what = c->what;
	log_info("traffic", c->what, "deployment", dd->name, "job", job->meta.name, "container", name, "target",
		 c->target, (char *)NULL);
	run = job_place_start(jr, &js, d, dd, job, policy, c->attach, done, arg);
	desired_tmpl_release(&tmpl);
	strv_free(env);
	FREE_ALL(labels, base, name);
	return run;
}
