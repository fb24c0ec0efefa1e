/* Restores of a BackupPolicy's dumps on Docker, waited for: the Job run against a database, a drill's network and database. */
#include "engine/restore.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker.h"
#include "engine/backup.h"
#include "engine/job.h"
#include "model/desired.h"
#include "model/observe.h"
#include "runtime/log.h"
#include "runtime/loop.h"
#include "spec_backup.h"
#include "util.h"

#define COMPONENT "restore"
/* What a Job's report quotes of its output. */
#define RESTORE_TAIL_LINES 20
#define RESTORE_MAX_OUTPUT 2048

/* What Docker takes in a container's name; anything else in a Job's name becomes '-'. */
#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_"

/* Zeroes w, makes the call with it, and runs the loop until it answers. */
#define CALL(d, w, call) (memset((w), 0, sizeof(*(w))), (call) < 0 ? DOCKER_BAD_REQUEST : docker_wait((d), (w)))

void restore_target_release(struct restore_target *t)
{
	FREE_ALL(t->id, t->name, t->network, t->host, t->deployment);
	memset(t, 0, sizeof(*t));
}

/* The first network the container is on, and how the Jobs there reach it: by name, or on the default bridge by address. */
static void target_network(struct restore_target *t, json_t *inspect)
{
	json_t *nets = json_object_get(json_object_get(inspect, "NetworkSettings"), "Networks"), *v;
	const char *key;

	json_object_foreach(nets, key, v) {
		const char *ip = json_string_value(json_object_get(v, "IPAddress"));

		if (strcmp(key, "bridge") == 0 || strcmp(key, "host") == 0 || strcmp(key, "none") == 0) {
			t->host = xstrdup(ip && *ip ? ip : t->name);
		} else {
			t->network = xstrdup(key);
			t->host = xstrdup(t->name);
		}
		return;
	}
	t->host = xstrdup(t->name);
}

int restore_target_find(struct docker *d, const char *instance, const char *name, struct restore_target *t,
			struct error **err)
{
	struct docker_waiter w;
	enum docker_status st;
	const struct docker_container_info *ci;
	const char *owner, *dep;
	int rc = 1;

	memset(t, 0, sizeof(*t));
	st = CALL(d, &w, docker_container_inspect(d, DOCKER_ROLLOUT, name, docker_waiter_done, &w, err));
	if (st == DOCKER_NOT_FOUND) {
		rc = 0;
		goto out;
	}
	if (!docker_status_ok(st)) {
		rc = error_set(err, ERR_GENERIC, "cannot inspect container '%s': %s", name, docker_result_reason(&w.result));
		goto out;
	}
	ci = &w.result.container;
	t->id = xstrdup(ci->id);
	t->name = xstrdup(name);
	t->running = ci->running;
	owner = kv_get(ci->labels, ci->n_labels, OBS_LABEL_MANAGED_BY);
	dep = kv_get(ci->labels, ci->n_labels, OBS_LABEL_DEPLOYMENT);
	if (owner && dep && strcmp(owner, instance) == 0)
		t->deployment = xstrdup(dep);
	target_network(t, w.result.json);
out:
	docker_result_release(&w.result);
	return rc;
}

/* The labels of what rq makes: the extra ones, then whose and which policy's (and which drill's). */
static struct kv *make_labels(const struct restore_request *rq, size_t *n)
{
	struct kv *l = xcalloc(rq->n_labels + 3, sizeof(*l));
	size_t i;

	for (i = 0; i < rq->n_labels; i++)
		l[i] = rq->labels[i];
	l[i].key = (char *)RESTORE_OF_LABEL;
	l[i++].value = (char *)rq->instance;
	l[i].key = (char *)BACKUP_POLICY_LABEL;
	l[i++].value = rq->policy->meta.name;
	if (rq->drill) {
		l[i].key = (char *)DRILL_LABEL;
		l[i++].value = (char *)rq->drill;
	}
	*n = i;
	return l;
}

int restore_database_start(struct docker *d, const struct restore_request *rq, const char *name, const char *network,
			   struct restore_target *t, struct error **err)
{
	struct desired_tmpl tmpl;
	struct docker_create_spec cs;
	struct docker_waiter w;
	size_t n;
	struct kv *labels = make_labels(rq, &n);
	int rc = 0;

	memset(t, 0, sizeof(*t));
	desired_tmpl_from_spec(&tmpl, &rq->policy->restore.database);
	memset(&cs, 0, sizeof(cs));
	cs.name = name;
	cs.image = tmpl.image;
	cs.entrypoint = (const char *const *)tmpl.entrypoint;
	cs.cmd = (const char *const *)tmpl.cmd;
	cs.env = (const char *const *)tmpl.env;
	cs.labels = labels;
	cs.n_labels = n;
	cs.network = network;
	cs.restart_policy = "no";
	cs.user = tmpl.user;
	log_info(COMPONENT, "database", "policy", rq->policy->meta.name, "container", name, "network",
		 network ? network : "", (char *)NULL);
	if (!docker_status_ok(CALL(d, &w, docker_container_create(d, DOCKER_ROLLOUT, &cs, docker_waiter_done, &w, err))) ||
	    w.result.id == NULL) {
		rc = error_set(err, ERR_GENERIC, "cannot create the database '%s': %s", name, docker_result_reason(&w.result));
		goto out;
	}
	t->id = xstrdup(w.result.id);
	docker_result_release(&w.result);
	if (!docker_status_ok(CALL(d, &w, docker_container_start(d, DOCKER_ROLLOUT, t->id, docker_waiter_done, &w, err)))) {
		rc = error_set(err, ERR_GENERIC, "cannot start the database '%s': %s", name, docker_result_reason(&w.result));
		goto out;
	}
	t->name = xstrdup(name);
	t->host = xstrdup(name);
	t->network = xstrdup_or_null(network);
	t->running = 1;
out:
	docker_result_release(&w.result);
	desired_tmpl_release(&tmpl);
	free(labels);
	return rc;
}

struct job_wait {
	int done, ok;
	char *message;
};

static void on_job_done(int succeeded, int attempts, const char *message, void *arg)
{
	struct job_wait *jw = arg;

	(void)attempts;
	jw->done = 1;
	jw->ok = succeeded;
	jw->message = xstrdup(message ? message : "");
}

/* The Job's container name: INSTANCE-restore-JOB, or INSTANCE-DRILL-STAGE-JOB, as Docker takes names. */
static char *job_name(const struct restore_request *rq, const char *stage, const char *job)
{
	char *n = rq->drill ? xasprintf("%s-%s-%s-%s", rq->instance, rq->drill, stage, job)
			    : xasprintf("%s-restore-%s", rq->instance, job), *p;

	for (p = n; *p; p++)
		if (strchr(NAME_CHARS, *p) == NULL)
			*p = '-';
	return n;
}

/* The policy's target at /backup, read-only: the host path, or auriga's volume (deployment backup:VOLUME). */
static void target_mount(const struct restore_request *rq, struct job_mount *m, char **owner, struct kv *vl)
{
	const struct spec_backup_policy *p = rq->policy;

	memset(m, 0, sizeof(*m));
	m->target = "/backup";
	m->read_only = 1;
	if (p->target_host_path) {
		m->source = p->target_host_path;
		m->bind = 1;
		*owner = NULL;
		return;
	}
	m->source = backup_volume_name(rq->instance, p->target_volume);
	*owner = xasprintf("backup:%s", p->target_volume);
	vl[0].key = (char *)OBS_LABEL_MANAGED_BY;
	vl[0].value = (char *)rq->instance;
	vl[1].key = (char *)OBS_LABEL_DEPLOYMENT;
	vl[1].value = *owner;
}

void restore_job_run(struct docker *d, const struct restore_request *rq, const struct spec_job *job, const char *stage,
		     const struct restore_target *t, int *ok, char **message)
{
	struct job_runner *jr = job_runner_new(d);
	struct desired_tmpl tmpl;
	struct job_spec js;
	struct job_mount m;
	struct job_wait jw;
	struct kv vl[2];
	size_t n;
	struct kv *labels = make_labels(rq, &n);
	char *env[6], *name = job_name(rq, stage, job->meta.name), *owner = NULL;
	size_t i, ne = 0;

	memset(&jw, 0, sizeof(jw));
	env[ne++] = xasprintf("AURIGA_BACKUP_FILE=%s", rq->file);
	env[ne++] = xasprintf("AURIGA_BACKUP_SHA256=%s", rq->sha256 ? rq->sha256 : "");
	env[ne++] = xasprintf("AURIGA_BACKUP_POLICY=%s", rq->policy->meta.name);
	env[ne++] = xasprintf("AURIGA_RESTORE_HOST=%s", t->host);
	env[ne++] = xasprintf("AURIGA_RESTORE_STAGE=%s", stage);
	env[ne] = NULL;
	target_mount(rq, &m, &owner, vl);
	desired_tmpl_from_spec(&tmpl, &job->tmpl);
	memset(&js, 0, sizeof(js));
	js.name = name;
	js.tmpl = &tmpl;
	js.env = (const char *const *)env;
	js.labels = labels;
	js.n_labels = n;
	js.network = t->network;
	js.instance = rq->instance;
	js.mounts = &m;
	js.n_mounts = 1;
	js.deployment = owner;
	js.vol_labels = owner ? vl : NULL;
	js.n_vol_labels = owner ? 2 : 0;
	js.deadline_ms = (int64_t)job->active_deadline_seconds * 1000;
	js.backoff_limit = job->backoff_limit;
	js.tail_lines = RESTORE_TAIL_LINES;
	js.max_output = RESTORE_MAX_OUTPUT;
	js.what = stage;
	js.owner = rq->policy->meta.name;
	log_info(COMPONENT, stage, "policy", rq->policy->meta.name, "job", job->meta.name, "file", rq->file, "host",
		 t->host, "container", name, (char *)NULL);
	if (job_start(jr, &js, on_job_done, &jw) == NULL && !jw.done)
		jw.message = xstrdup("the Job could not be started");
	while (!jw.done && jw.message == NULL)
		(void)loop_run_once(docker_loop(d), 1000);
	*ok = jw.done && jw.ok;
	*message = jw.message;
	job_runner_free(jr);
	desired_tmpl_release(&tmpl);
	if (owner)
		free((char *)m.source);
	for (i = 0; i < ne; i++)
		free(env[i]);
	FREE_ALL(labels, name, owner);
}

int restore_network_create(struct docker *d, const struct restore_request *rq, const char *name, struct error **err)
{
	struct docker_waiter w;
	size_t n;
	struct kv *labels = make_labels(rq, &n);
	int rc = 0;

	/* Internal: the drill's database and Jobs reach each other and nothing else. */
	if (!docker_status_ok(CALL(d, &w, docker_network_create(d, DOCKER_ROLLOUT, name, NULL, 1, labels, n,
								docker_waiter_done, &w, err))))
		rc = error_set(err, ERR_GENERIC, "cannot create the drill's network '%s': %s", name,
			       docker_result_reason(&w.result));
	docker_result_release(&w.result);
	free(labels);
	return rc;
}

/* Removes what the drill's label finds (containers, then networks); how many were found in *n. */
static int cleanup_pass(struct docker *d, const char *const *filters, size_t *n, struct error **err)
{
	struct docker_waiter w, r;
	size_t i;
	int rc = 0;

	*n = 0;
	if (!docker_status_ok(CALL(d, &w, docker_container_list(d, DOCKER_ROLLOUT, filters, docker_waiter_done, &w, err))))
		return error_set(err, ERR_GENERIC, "cannot list the drill's containers: %s", docker_result_reason(&w.result));
	for (i = 0; i < w.result.n_containers; i++, (*n)++) {
		if (!docker_status_ok(CALL(d, &r, docker_container_remove(d, DOCKER_ROLLOUT, w.result.containers[i].id, 1, 1,
									  docker_waiter_done, &r, NULL))))
			log_warn(COMPONENT, "cannot remove container", "name", w.result.containers[i].name, "message",
				 docker_result_reason(&r.result), (char *)NULL);
		docker_result_release(&r.result);
	}
	docker_result_release(&w.result);
	if (!docker_status_ok(CALL(d, &w, docker_network_list(d, DOCKER_ROLLOUT, filters, docker_waiter_done, &w, err))))
		return error_set(err, ERR_GENERIC, "cannot list the drill's networks: %s", docker_result_reason(&w.result));
	for (i = 0; i < w.result.n_objects; i++, (*n)++) {
		if (!docker_status_ok(CALL(d, &r, docker_network_remove(d, DOCKER_ROLLOUT, w.result.objects[i].id,
									docker_waiter_done, &r, NULL))))
			log_warn(COMPONENT, "cannot remove network", "name", w.result.objects[i].name, "message",
				 docker_result_reason(&r.result), (char *)NULL);
		docker_result_release(&r.result);
	}
	docker_result_release(&w.result);
	return rc;
}

int restore_drill_cleanup(struct docker *d, const char *drill, struct error **err)
{
	char *label = xasprintf("label=%s=%s", DRILL_LABEL, drill);
	const char *const filters[] = { label, NULL };
	size_t n = 0;
	int rc;

	rc = cleanup_pass(d, filters, &n, err);
	/* Removed is what Docker no longer lists, not what it said to the removals. */
	if (rc == 0 && n > 0 && (rc = cleanup_pass(d, filters, &n, err)) == 0 && n > 0)
		rc = error_set(err, ERR_GENERIC, "%zu containers or networks of drill '%s' are still there after their removal",
			       n, drill);
	free(label);
	return rc;
}
