/* Deployment hooks on the engine: the preDeploy Jobs that run to success before a new revision is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "engine/job.h"
#include "runtime/log.h"
#include "util.h"

#define HOOK_LABEL "auriga.io/hook"
#define HOOK_JOB_OF_LABEL "auriga.io/job-of"
/* What a hook's report quotes of its output: its last lines, bounded. */
#define HOOK_TAIL_LINES 20
#define HOOK_MAX_OUTPUT 2048

/* One hook run under way; the deployment is found again by name when it ends (its record may have moved). */
struct hook_call {
	struct engine *e;
	char *deployment;
	char *rev;
	char *job;
	char *key;		/* "preDeploy/JOB", as the state file records it */
};

static void hook_call_free(struct hook_call *h)
{
	FREE_ALL(h->deployment, h->rev, h->job, h->key);
	free(h);
}

/*
 * The hook Job ended. A success is recorded in the state file at once (not at
 * the end of the pass), so that a controller killed right after does not run
 * it again; a failure fails the deployment's release of that revision, with
 * the hook's name and the last lines of its output as the reason.
 */
static void on_hook_done(int succeeded, int attempts, const char *message, void *arg)
{
	struct hook_call *h = arg;
	struct engine *e = h->e;
	struct eng_dep *ed = engine_dep_find(e, h->deployment);
	const struct desired_deployment *dd = desired_find(&e->desired, h->deployment);
	char n[32];

	if (ed)
		ed->hook = NULL;
	snprintf(n, sizeof(n), "%d", attempts);
	if (succeeded) {
		struct error *err = NULL;

		log_info(COMPONENT, "preDeploy hook completed", "deployment", h->deployment, "revision", h->rev, "hook",
			 h->job, "attempts", n, "output", message ? message : "", (char *)NULL);
		statefile_set_hook_done(&e->state, h->deployment, h->rev, h->key);
		if (e->state.path && statefile_save(&e->state, &err) < 0) {
			log_error(COMPONENT, "cannot save the state", "reason", error_msg(err), (char *)NULL);
			error_free(err);
		}
	} else if (dd && strcmp(dd->revision, h->rev) == 0) {
		char *why = xasprintf("preDeploy hook '%s' failed after %d attempt%s: %s", h->job, attempts,
				      attempts == 1 ? "" : "s", message ? message : "no output");

		engine_fail_deployment(e, dd, why);
		free(why);
	}
	hook_call_free(h);
	engine_kick(e);
}

/* KEY=value for the hook's environment. */
static char *env_kv(const char *key, const char *value)
{
	return xasprintf("%s=%s", key, value ? value : "");
}

/*
 * Starts preDeploy hook job of dd for rev; the Job's own env comes first, what
 * auriga tells it after. Returns the run, or NULL when it already reported.
 */
static struct job_run *hook_start(struct engine *e, const struct desired_deployment *dd,
				  const struct statefile_entry *se, const char *rev, const struct spec_job *job)
{
	struct job_run *run;
	struct hook_call *h = xcalloc(1, sizeof(*h));
	struct desired_tmpl tmpl;
	struct job_spec js;
	struct kv *labels = xcalloc(e->desired.n_extra_labels + 2, sizeof(*labels));
	char *env[6], *name, *base, *network;
	size_t i, n = 0;

	h->e = e;
	h->deployment = xstrdup(dd->name);
	h->rev = xstrdup(rev);
	h->job = xstrdup(job->meta.name);
	h->key = xasprintf("preDeploy/%s", job->meta.name);
	env[n++] = env_kv("AURIGA_DEPLOYMENT", dd->name);
	env[n++] = env_kv("AURIGA_REVISION_FROM", se && se->has_healthy ? se->healthy_rev : "");
	env[n++] = env_kv("AURIGA_REVISION_TO", rev);
	env[n++] = env_kv("AURIGA_COMMIT", e->desired.commit);
	env[n++] = env_kv("AURIGA_HOOK", "preDeploy");
	env[n] = NULL;
	for (i = 0; i < e->desired.n_extra_labels; i++)
		labels[i] = e->desired.extra_labels[i];
	labels[i].key = (char *)HOOK_JOB_OF_LABEL;
	labels[i++].value = e->desired.instance;
	labels[i].key = (char *)HOOK_LABEL;
	labels[i++].value = dd->name;
	base = xasprintf("%s-predeploy-%s", dd->name, job->meta.name);
	name = desired_prefixed(e->desired.name_prefix, base);
	free(base);
	desired_tmpl_from_spec(&tmpl, &job->tmpl);
	network = desired_network_name(&e->desired, &tmpl);
	memset(&js, 0, sizeof(js));
	js.name = name;
	js.tmpl = &tmpl;
	js.env = (const char *const *)env;
	js.labels = labels;
	js.n_labels = i;
	js.network = network;
	js.deadline_ms = (int64_t)job->active_deadline_seconds * 1000;
	js.backoff_limit = job->backoff_limit;
	js.tail_lines = HOOK_TAIL_LINES;
	js.max_output = HOOK_MAX_OUTPUT;
	js.what = "preDeploy hook";
	js.owner = dd->name;
	log_info(COMPONENT, "preDeploy hook", "deployment", dd->name, "revision", rev, "hook", job->meta.name,
		 "container", name, (char *)NULL);
	run = job_start(e->hooks, &js, on_hook_done, h);
	desired_tmpl_release(&tmpl);
	free(labels);
	FREE_ALL(name, network);
	for (i = 0; i < n; i++)
		free(env[i]);
	return run;
}

char *engine_hooks_pre(struct engine *e, const struct desired_deployment *dd, int turn, int held, const char *rev)
{
	const struct spec_hooks *hk = &dd->spec->hooks;
	struct eng_dep *ed = engine_dep_get(e, dd->name);
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	unsigned char *done;
	const struct spec_job *job;
	struct job_run *run;
	size_t next;

	/* A deployment only kept at its healthy revision (heal, or a rollback) does not wait for a hook. */
	if (ed->hook != NULL && turn && !held)
		return xasprintf("preDeploy hook '%s' running", ed->hook_name);
	if (ed->hook != NULL || hk->n_pre_deploy == 0)
		return NULL;
	done = xcalloc(hk->n_pre_deploy, 1);
	next = plan_pre_deploy(dd, &e->state, observed_deployment(&e->obs, dd->name), rev, turn && !e->draining,
			       held, done);
	free(done);
	if (next == hk->n_pre_deploy)
		return NULL;
	job = spec_set_job(e->set, hk->pre_deploy[next]);
	if (job == NULL) {
		/* The specs' validation refuses a hook naming a missing Job; should one get here, it fails. */
		char *why = xasprintf("preDeploy hook '%s' names no Job in the specs", hk->pre_deploy[next]);

		engine_fail_deployment(e, dd, why);
		free(why);
		return NULL;
	}
	run = hook_start(e, dd, se, rev, job);
	/* A run that reported at once (and may have failed the deployment) left no handle to keep. */
	ed = engine_dep_get(e, dd->name);
	ed->hook = run;
	str_set(&ed->hook_name, job->meta.name);
	if (run == NULL)
		return xasprintf("preDeploy hook '%s' ended", hk->pre_deploy[next]);
	return xasprintf("preDeploy hook '%s' running", hk->pre_deploy[next]);
}
