/* Jobs run on Docker to their end: one chain of named stages per attempt, again while it fails and backoffLimit allows. */
#include "engine/job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker/docker.h"
#include "engine/network.h"
#include "engine/volume.h"
#include "model/desired.h"
#include "runtime/log.h"
#include "strv.h"
#include "kv.h"
#include "util.h"

#define COMPONENT "job"

/* Each stage is named by the Docker call whose answer it waits for. */
enum job_stage {
	JOB_NETWORK,		/* the network it joins, auriga's (network.c) */
	JOB_VOLUME,		/* each named volume it mounts, auriga's (volume.c) */
	JOB_ATTACH,		/* the container it reaches, connected to its network */
	JOB_INSPECT_LEFTOVER,	/* a container of the same name: this Job's, left by a controller killed mid-run? */
	JOB_REMOVE_LEFTOVER,	/* it was: it goes */
	JOB_CREATE,
	JOB_START,
	JOB_WAIT,		/* to its exit, within the deadline */
	JOB_READ_OUTPUT,	/* the last lines of stdout and stderr */
	JOB_READ_FILE,		/* the file it wrote (read_path), after an exit 0 */
	JOB_REMOVE,
	JOB_DETACH,		/* the run is over: that container leaves the network */
};

/* A job_mount the run owns. */
struct run_mount {
	char *source, *legacy, *target;
	int bind, read_only;
};

struct job_runner {
	struct docker *docker;
	struct job_run *runs;	/* every run not yet ended */
};

struct job_run {
	struct job_runner *jr;	/* NULL once the runner is gone */
	struct docker *docker;
	struct job_run *next;
	enum job_stage stage;
	job_done_fn done;	/* NULL once orphaned */
	void *arg;
	char *name, *what, *owner;
	char *id;		/* this attempt's container, or the leftover being removed */
	struct desired_tmpl tmpl;
	char **env;
	struct kv *labels;
	size_t n_labels;
	char *network, *network_legacy;
	int ensure_network, foreign_network_ok;
	char *attach;		/* job_spec.attach, or NULL */
	int attached;		/* connected (or found connected): disconnected at the end */
	int verdict;		/* what the report says once attach is disconnected */
	char *verdict_msg;
	char *instance, *deployment;
	struct kv *net_labels, *vol_labels;
	size_t n_net_labels, n_vol_labels;
	struct run_mount *mounts;	/* source becomes the legacy name when that was adopted */
	size_t n_mounts, vol;		/* vol: the mount whose volume is being made sure of */
	int64_t deadline_ms;
	int backoff_limit;
	int attempts;
	int exit_code;		/* this attempt's, once it exited */
	int tail_lines;
	size_t max_output;
	char *read_path;	/* NULL: no file is read back */
	size_t read_max;
	job_file_fn file_done;
	char *message;		/* what this attempt said */
	int report_not_run;	/* job_spec.report_not_run */
	int not_run;		/* the call that failed the run got no answer from Docker */
};

struct kv *job_labels(const struct kv *extra, size_t n_extra, const char *instance, size_t *n, ...)
{
	struct kv *l;
	size_t i, pairs = 0;
	va_list ap;

	va_start(ap, n);
	while (va_arg(ap, const char *) != NULL) {
		(void)va_arg(ap, const char *);
		pairs++;
	}
	va_end(ap);
	l = xcalloc(n_extra + 1 + pairs, sizeof(*l));
	for (i = 0; i < n_extra; i++)
		l[i] = extra[i];
	l[i].key = (char *)JOB_OF_LABEL;
	l[i++].value = (char *)instance;
	va_start(ap, n);
	while (pairs-- > 0) {
		l[i].key = (char *)va_arg(ap, const char *);
		l[i++].value = (char *)va_arg(ap, const char *);
	}
	va_end(ap);
	*n = i;
	return l;
}

struct job_runner *job_runner_new(struct docker *d)
{
	struct job_runner *jr = xcalloc(1, sizeof(*jr));

	jr->docker = d;
	return jr;
}

void job_runner_free(struct job_runner *jr)
{
	if (jr == NULL)
		return;
	while (jr->runs) {
		struct job_run *j = jr->runs;

		jr->runs = j->next;
		j->next = NULL;
		j->jr = NULL;
		j->done = NULL;
	}
	free(jr);
}

static void mounts_free(struct run_mount *m, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		FREE_ALL(m[i].source, m[i].legacy, m[i].target);
	free(m);
}

static void run_free(struct job_run *j)
{
	if (j->jr) {
		struct job_run **pp;

		for (pp = &j->jr->runs; *pp; pp = &(*pp)->next)
			if (*pp == j) {
				*pp = j->next;
				break;
			}
	}
	FREE_ALL(j->name, j->what, j->owner, j->id, j->message, j->network, j->network_legacy, j->instance,
		 j->deployment, j->attach, j->verdict_msg, j->read_path);
	kv_free(j->net_labels, j->n_net_labels);
	kv_free(j->vol_labels, j->n_vol_labels);
	mounts_free(j->mounts, j->n_mounts);
	desired_tmpl_release(&j->tmpl);
	strv_free(j->env);
	kv_free(j->labels, j->n_labels);
	free(j);
}

static void on_answer(struct docker_result *r, void *arg);
static void on_network(enum network_outcome o, const char *used, const char *msg, void *arg);
static void on_volume(int ok, const char *name, const char *msg, void *arg);

/* The container: the template's image, command, env, user, resources and labels, on its network, with its mounts. */
static int create(struct job_run *j, struct error **err)
{
	struct docker_create_spec cs;
	struct docker_mount *m = xcalloc(j->n_mounts + 1, sizeof(*m));
	size_t i;
	int rc;

	for (i = 0; i < j->n_mounts; i++) {
		m[i].source = j->mounts[i].source;
		m[i].target = j->mounts[i].target;
		m[i].bind = j->mounts[i].bind;
		m[i].read_only = j->mounts[i].read_only;
	}
	memset(&cs, 0, sizeof(cs));
	cs.name = j->name;
	cs.image = j->tmpl.image;
	cs.entrypoint = (const char *const *)j->tmpl.entrypoint;
	cs.cmd = (const char *const *)j->tmpl.cmd;
	cs.env = (const char *const *)j->env;
	cs.labels = j->labels;
	cs.n_labels = j->n_labels;
	cs.network = j->network;
	cs.mounts = m;
	cs.n_mounts = j->n_mounts;
	cs.restart_policy = "no";
	cs.user = j->tmpl.user;
	cs.memory_bytes = j->tmpl.memory_bytes;
	cs.nano_cpus = j->tmpl.cpu_millis * 1000000;
	/* What the operator's policy allowed the Job (checked when the specs loaded). */
	cs.privileged = j->tmpl.privileged;
	cs.cap_add = (const char *const *)j->tmpl.cap_add;
	rc = docker_container_create(j->docker, DOCKER_ROLLOUT, &cs, on_answer, j, err);
	free(m);
	return rc;
}

/* A run whose call is dropped by docker_free (the client freed with the run in flight) goes with it. */
static void run_drop(void *arg)
{
	run_free(arg);
}

static int call_stage(struct job_run *j, enum job_stage stage, struct error **err)
{
	/* A stage with nothing to make sure of is passed over. */
	if (stage == JOB_NETWORK && !j->ensure_network)
		stage = JOB_VOLUME;
	while (stage == JOB_VOLUME && j->vol < j->n_mounts && j->mounts[j->vol].bind)
		j->vol++;
	if (stage == JOB_VOLUME && j->vol == j->n_mounts)
		stage = JOB_ATTACH;
	if (stage == JOB_ATTACH && (j->attach == NULL || j->network == NULL))
		stage = JOB_INSPECT_LEFTOVER;
	j->stage = stage;
	switch (stage) {
	case JOB_NETWORK:
		return network_ensure(j->docker, DOCKER_ROLLOUT, j->network, j->network_legacy, j->instance, j->net_labels,
				      j->n_net_labels, on_network, j, err);
	case JOB_VOLUME: {
		struct volume_want w = {
			.name = j->mounts[j->vol].source,
			.legacy = j->mounts[j->vol].legacy,
			.instance = j->instance,
			.deployment = j->deployment,
			.labels = j->vol_labels,
			.n_labels = j->n_vol_labels,
		};

		return volume_ensure(j->docker, DOCKER_ROLLOUT, &w, on_volume, j, err);
	}
	case JOB_ATTACH:
		return docker_network_connect(j->docker, DOCKER_ROLLOUT, j->network, j->attach, on_answer, j, err);
	case JOB_DETACH:
		return docker_network_disconnect(j->docker, DOCKER_ROLLOUT, j->network, j->attach, on_answer, j, err);
	case JOB_INSPECT_LEFTOVER:
		return docker_container_inspect(j->docker, DOCKER_ROLLOUT, j->name, on_answer, j, err);
	case JOB_REMOVE_LEFTOVER:
		return docker_container_remove(j->docker, DOCKER_ROLLOUT, j->id, 1, 1, on_answer, j, err);
	case JOB_CREATE:
		return create(j, err);
	case JOB_START:
		return docker_container_start(j->docker, DOCKER_ROLLOUT, j->id, on_answer, j, err);
	case JOB_WAIT:
		return docker_container_wait(j->docker, DOCKER_ROLLOUT, j->id, NULL, j->deadline_ms, on_answer, j, err);
	case JOB_READ_OUTPUT:
		return docker_container_logs(j->docker, DOCKER_PROBE, j->id, j->tail_lines ? j->tail_lines : 3,
					     on_answer, j, err);
	case JOB_READ_FILE:
		return docker_container_archive(j->docker, DOCKER_ROLLOUT, j->id, j->read_path, j->read_max, on_answer,
						j, err);
	case JOB_REMOVE:
		return docker_container_remove(j->docker, DOCKER_ROLLOUT, j->id, 1, 1, on_answer, j, err);
	}
	BUG("job stage %d", (int)stage);
}

static int call(struct job_run *j, enum job_stage stage, struct error **err)
{
	int rc = call_stage(j, stage, err);

	/* The Docker calls the run makes itself (a network's or volume's own calls are network.c's and volume.c's). */
	if (rc == 0 && j->stage != JOB_NETWORK && j->stage != JOB_VOLUME)
		docker_set_drop(j->docker, j, run_drop);
	return rc;
}

/*
 * The run ends: the container it was given to reach leaves its network
 * first, then its report (unless orphaned), then it goes.
 */
/* Another run of the runner has attach on the same network still: the container leaves with the last one. */
static int attach_shared(const struct job_run *j)
{
	const struct job_run *o;

	for (o = j->jr ? j->jr->runs : NULL; o; o = o->next)
		if (o != j && o->attached && strcmp(o->attach, j->attach) == 0 && strcmp(o->network, j->network) == 0)
			return 1;
	return 0;
}

static void finish(struct job_run *j, int succeeded, const char *message)
{
	struct error *err = NULL;

	/* Several verification Jobs run against one container at once: the first to end leaves it there. */
	if (j->attached && attach_shared(j))
		j->attached = 0;
	if (j->attached) {
		j->attached = 0;
		j->verdict = succeeded;
		str_set(&j->verdict_msg, message);
		if (call(j, JOB_DETACH, &err) == 0)
			return;
		log_error(COMPONENT, "cannot disconnect container", "container", j->attach, "network", j->network,
			  "error", error_msg(err), (char *)NULL);
		error_free(err);
	}
	if (j->done)
		j->done(succeeded, j->attempts, message, j->arg);
	run_free(j);
}

/*
 * A run that cannot go on (a container not made or started, an attempt past
 * its deadline, a call Docker refused) reports at once; a container it made
 * goes first, since no later attempt would remove it by name.
 */
static void fail(struct job_run *j, const char *message)
{
	struct error *err = NULL;

	if (j->done)
		j->done(j->not_run ? JOB_NOT_RUN : 0, j->attempts, message, j->arg);
	j->done = NULL;
	if (j->id && j->stage != JOB_REMOVE && call(j, JOB_REMOVE, &err) == 0)
		return;
	error_free(err);
	finish(j, 0, message);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
		   : (s[0] & 0xf8) == 0xf0 ? 4 : 0, i;

	if (len == 0 || len > n || (len == 2 && s[0] < 0xc2))
		return 0;
	for (i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* The last max bytes of s as valid UTF-8: cut after a whole character, each invalid byte a '?'. */
static void put_tail(struct buf *w, const char *s, size_t len, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = len > max ? len - max : 0;

	while (i < len && i > 0 && (u[i] & 0xc0) == 0x80)
		i++;
	while (i < len) {
		size_t k = utf8_seq(u + i, len - i);

		if (k == 0) {
			(void)buf_putc(w, '?');
			i++;
		} else {
			(void)buf_append(w, u + i, k);
			i += k;
		}
	}
}

/* What the attempt's container said: its exit code when it failed, then its last lines of output. */
static void keep_output(struct job_run *j, const struct docker_result *r)
{
	int have_output = docker_status_ok(r->status) && (r->out.len || r->err.len);
	struct buf w;

	free(j->message);
	j->message = NULL;
	if (j->exit_code == 0 && !have_output)
		return;
	buf_init(&w, 4096);
	if (j->exit_code != 0)
		(void)buf_printf(&w, "job container '%s' exited with %d", j->name, j->exit_code);
	if (have_output && j->max_output) {
		struct buf both;

		buf_init(&both, r->out.len + r->err.len + 1);
		(void)buf_append(&both, r->out.data, r->out.len);
		(void)buf_append(&both, r->err.data, r->err.len);
		(void)buf_puts(&w, w.len ? ": " : "");
		put_tail(&w, both.data ? both.data : "", both.len, j->max_output);
		buf_release(&both);
	} else if (have_output) {
		(void)buf_printf(&w, "%s%.300s%.300s", w.len ? ": " : "", r->out.len ? r->out.data : "",
				 r->err.len ? r->err.data : "");
	}
	while (w.len && (w.data[w.len - 1] == '\n' || w.data[w.len - 1] == ' '))
		w.data[--w.len] = '\0';
	j->message = buf_detach(&w, NULL);
}

/*
 * Whether a container found under the Job's name is this Job's: it carries
 * every auriga.io/ label the Job puts on its containers, with the same value.
 * 0, or the first label it lacks in *why.
 */
static int leftover_is_ours(const struct job_run *j, const struct docker_container_info *c, const char **why)
{
	size_t i;

	for (i = 0; i < j->n_labels; i++) {
		const char *v;

		if (!str_has_prefix(j->labels[i].key, "auriga.io/"))
			continue;
		v = kv_get(c->labels, c->n_labels, j->labels[i].key);
		if (v == NULL || strcmp(v, j->labels[i].value) != 0) {
			*why = j->labels[i].key;
			return 0;
		}
	}
	return 1;
}

/*
 * A call that got no answer: nothing was refused or judged (a wait past its
 * deadline is the Job's own deadline: that is a verdict).
 */
static int unanswered(const struct docker_result *r, enum job_stage stage)
{
	switch (r->status) {
	case DOCKER_TRANSPORT:
	case DOCKER_CIRCUIT_OPEN:
	case DOCKER_BULKHEAD_FULL:
	case DOCKER_FENCED:
		return 1;
	case DOCKER_TIMEOUT:
		return stage != JOB_WAIT;
	default:
		return 0;
	}
}

static void on_answer(struct docker_result *r, void *arg)
{
	struct job_run *j = arg;
	enum job_stage next;
	struct error *err = NULL;
	struct buf m;

	buf_init(&m, 4096);
	j->not_run = j->report_not_run && unanswered(r, j->stage);
	switch (j->stage) {
	case JOB_ATTACH:
		/* 403 "... already exists in network ...": it is there already (left by an earlier run). */
		if (!docker_status_ok(r->status) &&
		    (r->http_status != 403 || r->message == NULL || strstr(r->message, "already exists") == NULL)) {
			(void)buf_printf(&m, "cannot connect container '%s' to network '%s' for job container '%s': %s",
					 j->attach, j->network, j->name, docker_result_reason(r));
			goto failed;
		}
		j->attached = 1;
		next = JOB_INSPECT_LEFTOVER;
		break;
	case JOB_DETACH:
		/* 404: it is gone, or not on the network any more. */
		if (!docker_status_ok(r->status) && r->status != DOCKER_NOT_FOUND)
			log_error(COMPONENT, "cannot disconnect container", "container", j->attach, "network",
				  j->network, "error", docker_result_reason(r), (char *)NULL);
		finish(j, j->verdict, j->verdict_msg);
		buf_release(&m);
		return;
	case JOB_INSPECT_LEFTOVER: {
		const char *why = NULL;

		if (r->status == DOCKER_NOT_FOUND) {
			next = JOB_CREATE;
			break;
		}
		if (!docker_status_ok(r->status) || r->container.id == NULL) {
			(void)buf_printf(&m, "cannot look for a container named '%s': %s", j->name, docker_result_reason(r));
			goto failed;
		}
		if (!leftover_is_ours(j, &r->container, &why)) {
			/* Removed only when auriga made it for this Job: someone else's container stays. */
			(void)buf_printf(&m, "a container named '%s' is in the way and is not this Job's (no label %s of "
					 "its value): auriga removes only containers it owns", j->name, why);
			goto failed;
		}
		j->id = xstrdup(r->container.id);
		next = JOB_REMOVE_LEFTOVER;
		break;
	}
	case JOB_REMOVE_LEFTOVER:
		/* Gone, or already going: either way the name is free. */
		free(j->id);
		j->id = NULL;
		next = JOB_CREATE;
		break;
	case JOB_CREATE:
		if (!docker_status_ok(r->status) || r->id == NULL) {
			(void)buf_printf(&m, "cannot create container '%s': %s", j->name, docker_result_reason(r));
			goto failed;
		}
		j->id = xstrdup(r->id);
		next = JOB_START;
		break;
	case JOB_START:
		if (!docker_status_ok(r->status)) {
			(void)buf_printf(&m, "cannot start container '%s': %s", j->name, docker_result_reason(r));
			goto failed;
		}
		next = JOB_WAIT;
		break;
	case JOB_WAIT:
		if (r->status == DOCKER_TIMEOUT) {
			(void)buf_printf(&m, "job container '%s' did not end within its deadline", j->name);
			goto failed;
		}
		if (!docker_status_ok(r->status)) {
			(void)buf_printf(&m, "cannot wait for job container '%s' to end: %s", j->name,
					 docker_result_reason(r));
			goto failed;
		}
		/* The verdict stays with the run until its container is gone, so none is left behind. */
		j->exit_code = (int)r->exit_code;
		next = JOB_READ_OUTPUT;
		break;
	case JOB_READ_OUTPUT:
		keep_output(j, r);
		next = j->exit_code == 0 && j->read_path ? JOB_READ_FILE : JOB_REMOVE;
		break;
	case JOB_READ_FILE:
		if (j->done && j->file_done) {
			char *why = docker_status_ok(r->status) ? NULL
				  : xasprintf("the file %s cannot be read back: %s", j->read_path,
					      r->status == DOCKER_NOT_FOUND ? "it is not there" : docker_result_reason(r));

			j->file_done(r->out.data, r->out.len, why, j->arg);
			free(why);
		}
		next = JOB_REMOVE;
		break;
	case JOB_REMOVE:
		free(j->id);
		j->id = NULL;
		if (j->exit_code != 0 && j->done && j->attempts <= j->backoff_limit) {
			/* backoffLimit: another attempt from the top. */
			log_info(COMPONENT, "job failed, retrying", "job", j->what, "owner", j->owner, "message",
				 j->message ? j->message : "", (char *)NULL);
			j->attempts++;
			next = JOB_INSPECT_LEFTOVER;
			break;
		}
		finish(j, j->exit_code == 0, j->message);
		buf_release(&m);
		return;
	default:
		BUG("job stage %d", (int)j->stage);
	}
	if (call(j, next, &err) == 0) {
		buf_release(&m);
		return;
	}
	(void)buf_puts(&m, error_msg(err));
	error_free(err);
failed:
	fail(j, m.data);
	buf_release(&m);
}

/* The next stage after one that makes sure of something; a call Docker cannot take fails the run. */
static void go_on(struct job_run *j, enum job_stage next)
{
	struct error *err = NULL;
	char *m;

	if (call(j, next, &err) == 0)
		return;
	m = xasprintf("cannot run job container '%s': %s", j->name, error_msg(err));
	error_free(err);
	fail(j, m);
	free(m);
}

static void on_network(enum network_outcome o, const char *used, const char *msg, void *arg)
{
	struct job_run *j = arg;
	char *m;

	/* A network adopted under its earlier name is joined by that name. */
	if (o != NETWORK_FAILED && used != NULL)
		str_set(&j->network, used);
	if (o == NETWORK_OWNED || (o == NETWORK_FOREIGN && j->foreign_network_ok)) {
		go_on(j, JOB_VOLUME);
		return;
	}
	if (o == NETWORK_FOREIGN)
		m = xasprintf("network '%s' is not auriga's: job container '%s' runs only on a network auriga owns "
			      "or the operator's policy lists", j->network, j->name);
	else
		m = xasprintf("cannot run job container '%s': %s", j->name, msg);
	fail(j, m);
	free(m);
}

static void on_volume(int ok, const char *name, const char *msg, void *arg)
{
	struct job_run *j = arg;
	char *m;

	if (ok) {
		/* A volume adopted under its earlier name is mounted by that name. */
		str_set(&j->mounts[j->vol].source, name);
		j->vol++;
		go_on(j, JOB_VOLUME);
		return;
	}
	m = xasprintf("cannot run job container '%s': %s", j->name, msg);
	fail(j, m);
	free(m);
}

/* What the run keeps of where it runs and what it mounts (job.h). */
static void copy_place(struct job_run *j, const struct job_spec *spec)
{
	size_t i;

	j->network = xstrdup_or_null(spec->network);
	j->network_legacy = xstrdup_or_null(spec->network_legacy);
	j->ensure_network = spec->ensure_network && spec->network != NULL;
	j->foreign_network_ok = spec->foreign_network_ok;
	j->attach = xstrdup_or_null(spec->attach);
	j->instance = xstrdup(spec->instance ? spec->instance : "");
	j->deployment = xstrdup(spec->deployment ? spec->deployment : "");
	j->net_labels = kv_copy(spec->net_labels, spec->n_net_labels);
	j->n_net_labels = spec->n_net_labels;
	j->vol_labels = kv_copy(spec->vol_labels, spec->n_vol_labels);
	j->n_vol_labels = spec->n_vol_labels;
	j->mounts = xcalloc(spec->n_mounts + 1, sizeof(*j->mounts));
	for (i = 0; i < spec->n_mounts; i++) {
		j->mounts[i].source = xstrdup(spec->mounts[i].source);
		j->mounts[i].legacy = xstrdup_or_null(spec->mounts[i].legacy);
		j->mounts[i].target = xstrdup(spec->mounts[i].target);
		j->mounts[i].bind = spec->mounts[i].bind;
		j->mounts[i].read_only = spec->mounts[i].read_only;
	}
	j->n_mounts = spec->n_mounts;
}

struct job_run *job_start(struct job_runner *jr, const struct job_spec *spec, job_done_fn done, void *arg)
{
	struct job_run *j = xcalloc(1, sizeof(*j));
	struct error *err = NULL;
	size_t i, n = 0, extra = 0;

	j->jr = jr;
	j->docker = jr->docker;
	j->done = done;
	j->arg = arg;
	j->name = xstrdup(spec->name);
	j->what = xstrdup(spec->what ? spec->what : "job");
	j->owner = xstrdup(spec->owner ? spec->owner : "");
	copy_place(j, spec);
	j->deadline_ms = spec->deadline_ms;
	j->backoff_limit = spec->backoff_limit;
	j->tail_lines = spec->tail_lines;
	j->max_output = spec->max_output;
	j->read_path = xstrdup_or_null(spec->read_path);
	j->read_max = spec->read_max;
	j->file_done = spec->file_done;
	j->report_not_run = spec->report_not_run;
	desired_tmpl_copy(&j->tmpl, spec->tmpl);
	while (j->tmpl.env && j->tmpl.env[n])
		n++;
	while (spec->env && spec->env[extra])
		extra++;
	j->env = xcalloc(n + extra + 1, sizeof(char *));
	for (i = 0; i < n; i++)
		j->env[i] = xstrdup(j->tmpl.env[i]);
	for (i = 0; i < extra; i++)
		j->env[n + i] = xstrdup(spec->env[i]);
	/* The template's labels, then auriga's: those mark the container as the Job's. */
	j->labels = kv_copy(j->tmpl.labels, j->tmpl.n_labels);
	j->n_labels = j->tmpl.n_labels;
	for (i = 0; i < spec->n_labels; i++)
		kv_put(&j->labels, &j->n_labels, spec->labels[i].key, spec->labels[i].value);
	j->attempts = 1;
	j->next = jr->runs;
	jr->runs = j;
	if (call(j, JOB_NETWORK, &err) < 0) {
		/* Reported at once: the caller gets no handle to orphan. */
		char *m = xstrdup(error_msg(err));

		error_free(err);
		j->done = NULL;
		if (done)
			done(0, j->attempts, m, arg);
		free(m);
		run_free(j);
		return NULL;
	}
	return j;
}

void job_orphan(struct job_run *j)
{
	if (j != NULL)
		j->done = NULL;
}
