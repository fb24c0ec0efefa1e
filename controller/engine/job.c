/* Jobs run on Docker to their end: one chain of named stages per attempt, again while it fails and backoffLimit allows. */
#include "engine/job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "docker/docker.h"
#include "model/desired.h"
#include "runtime/log.h"
#include "strv.h"
#include "kv.h"
#include "util.h"

#define COMPONENT "job"

/* Each stage is named by the Docker call whose answer it waits for. */
enum job_stage {
	JOB_INSPECT_LEFTOVER,	/* a container of the same name: this Job's, left by a controller killed mid-run? */
	JOB_REMOVE_LEFTOVER,	/* it was: it goes */
	JOB_CREATE,
	JOB_START,
	JOB_WAIT,		/* to its exit, within the deadline */
	JOB_READ_OUTPUT,	/* the last lines of stdout and stderr */
	JOB_REMOVE,
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
	char *network;
	int64_t deadline_ms;
	int backoff_limit;
	int attempts;
	int exit_code;		/* this attempt's, once it exited */
	int tail_lines;
	size_t max_output;
	char *message;		/* what this attempt said */
};

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
	FREE_ALL(j->name, j->what, j->owner, j->id, j->message, j->network);
	desired_tmpl_release(&j->tmpl);
	strv_free(j->env);
	kv_free(j->labels, j->n_labels);
	free(j);
}

static void on_answer(struct docker_result *r, void *arg);

static int call(struct job_run *j, enum job_stage stage, struct error **err)
{
	struct docker_create_spec cs;

	j->stage = stage;
	switch (stage) {
	case JOB_INSPECT_LEFTOVER:
		return docker_container_inspect(j->docker, DOCKER_ROLLOUT, j->name, on_answer, j, err);
	case JOB_REMOVE_LEFTOVER:
		return docker_container_remove(j->docker, DOCKER_ROLLOUT, j->id, 1, 0, on_answer, j, err);
	case JOB_CREATE:
		memset(&cs, 0, sizeof(cs));
		cs.name = j->name;
		cs.image = j->tmpl.image;
		cs.entrypoint = (const char *const *)j->tmpl.entrypoint;
		cs.cmd = (const char *const *)j->tmpl.cmd;
		cs.env = (const char *const *)j->env;
		cs.labels = j->labels;
		cs.n_labels = j->n_labels;
		cs.network = j->network;
		cs.restart_policy = "no";
		cs.user = j->tmpl.user;
		/* What the operator's policy allowed the Job (checked when the specs loaded). */
		cs.privileged = j->tmpl.privileged;
		cs.cap_add = (const char *const *)j->tmpl.cap_add;
		return docker_container_create(j->docker, DOCKER_ROLLOUT, &cs, on_answer, j, err);
	case JOB_START:
		return docker_container_start(j->docker, DOCKER_ROLLOUT, j->id, on_answer, j, err);
	case JOB_WAIT:
		return docker_container_wait(j->docker, DOCKER_ROLLOUT, j->id, NULL, j->deadline_ms, on_answer, j, err);
	case JOB_READ_OUTPUT:
		return docker_container_logs(j->docker, DOCKER_PROBE, j->id, j->tail_lines ? j->tail_lines : 3,
					     on_answer, j, err);
	case JOB_REMOVE:
		return docker_container_remove(j->docker, DOCKER_ROLLOUT, j->id, 1, 0, on_answer, j, err);
	}
	BUG("job stage %d", (int)stage);
}

/* The run ends: its report (unless orphaned), then it goes. */
static void finish(struct job_run *j, int succeeded, const char *message)
{
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
		j->done(0, j->attempts, message, j->arg);
	j->done = NULL;
	if (j->id && j->stage != JOB_REMOVE && call(j, JOB_REMOVE, &err) == 0)
		return;
	error_free(err);
	run_free(j);
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

static void on_answer(struct docker_result *r, void *arg)
{
	struct job_run *j = arg;
	enum job_stage next;
	struct error *err = NULL;
	struct buf m;

	buf_init(&m, 4096);
	switch (j->stage) {
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
		if (!docker_status_ok(r->status)) {
			(void)buf_printf(&m, "job container '%s' did not end within its deadline", j->name);
			goto failed;
		}
		/* The verdict stays with the run until its container is gone, so none is left behind. */
		j->exit_code = (int)r->exit_code;
		next = JOB_READ_OUTPUT;
		break;
	case JOB_READ_OUTPUT:
		keep_output(j, r);
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
	j->network = xstrdup_or_null(spec->network);
	j->deadline_ms = spec->deadline_ms;
	j->backoff_limit = spec->backoff_limit;
	j->tail_lines = spec->tail_lines;
	j->max_output = spec->max_output;
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
	j->labels = kv_copy(spec->labels, spec->n_labels);
	j->n_labels = spec->n_labels;
	j->attempts = 1;
	j->next = jr->runs;
	jr->runs = j;
	if (call(j, JOB_INSPECT_LEFTOVER, &err) < 0) {
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
