/* Deployment hooks on the engine: preDeploy Jobs before a new revision, postDeploy after it, onRollback after a return. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "engine/engine_internal.h"
#include "engine/job.h"
#include "engine/job_place.h"
#include "runtime/log.h"
#include "util.h"

/* What a hook's report quotes of its output: its last lines, bounded. */
#define HOOK_TAIL_LINES 20
#define HOOK_MAX_OUTPUT 2048

/* The stages' names, as the spec, the state file's records and the log say them. */
static const char *const stage_names[] = { "preDeploy", "postDeploy", "onRollback", "backup" };
/* As the hook's container name says them. */
static const char *const stage_slugs[] = { "predeploy", "postdeploy", "onrollback", "backup" };

/* One hook run under way; the deployment is found again by name when it ends (its record may have moved). */
struct hook_call {
	struct engine *e;
	enum engine_hook_stage stage;
	char *deployment;
	char *rev;		/* the revision its record goes under: the new one, or the one rolled back from */
	char *job;
	char *key;		/* "STAGE/JOB", as the state file records it */
};

/* What a hook is told through its environment besides its deployment, commit and stage. */
struct hook_env {
	const char *from, *to;	/* AURIGA_REVISION_FROM and _TO */
	const char *reason;	/* AURIGA_REASON: "rollout", or why the rollback */
	/* AURIGA_SCHEMA_FROM and _TO: the schema versions (template.schemaVersion) of the two ends, "" when none. */
	const char *schema_from, *schema_to;
};

/* The schema version of the deployment's last healthy revision, as the state file remembers its template. */
static const char *healthy_schema(const struct statefile_entry *se)
{
	return se && se->has_healthy ? se->healthy_tmpl->schema_version : NULL;
}

static void hook_call_free(struct hook_call *h)
{
	FREE_ALL(h->deployment, h->rev, h->job, h->key);
	free(h);
}

static char *hook_key(enum engine_hook_stage stage, const char *job)
{
	return xasprintf("%s/%s", stage_names[stage], job);
}

void engine_state_save(struct engine *e)
{
	struct error *err = NULL;

	if (e->state.path && engine_state_write(e, &err) < 0) {
		log_error(COMPONENT, "cannot save the state", "reason", error_msg(err), (char *)NULL);
		error_free(err);
	}
}

/* Adds why to the deployment's last error (once): the note and the status show it. */
static void add_error(struct eng_dep *ed, const char *why)
{
	if (ed->last_error && strstr(ed->last_error, why))
		return;
	if (ed->last_error) {
		char *both = xasprintf("%s; %s", ed->last_error, why);

		free(ed->last_error);
		ed->last_error = both;
	} else {
		ed->last_error = xstrdup(why);
	}
}

/* A postDeploy hook failed and the spec says Mark: the new revision keeps running, the deployment is failed. */
static void mark_failed(struct engine *e, const struct desired_deployment *dd, const char *why)
{
	struct eng_dep *ed = engine_dep_get(e, dd->name);

	if (!ed->failed)
		log_error(COMPONENT, "deployment failed, marked (postDeployFailure: Mark)", "deployment", dd->name,
			  "revision", dd->revision, "reason", why, (char *)NULL);
	ed->failed = 1;
	ed->finished_at = wall_ms();
	str_set(&ed->last_error, why);
}

/* An onRollback hook failed: the rollback stands; the hooks after it are recorded not run. */
static void rollback_hook_failed(struct engine *e, const struct desired_deployment *dd, const struct hook_call *h,
				 const char *why)
{
	const struct spec_hooks *hk = dd ? &dd->spec->hooks : NULL;
	struct eng_dep *ed = engine_dep_find(e, h->deployment);
	size_t i;
	int after = 0;

	statefile_set_hook_failed(&e->state, h->deployment, h->rev, h->key, why);
	for (i = 0; hk && i < hk->n_on_rollback; i++) {
		if (after) {
			char *key = hook_key(ENGINE_HOOK_ROLLBACK, hk->on_rollback[i]);
			char *skip = xasprintf("not run: onRollback hook '%s' failed before it", h->job);

			statefile_set_hook_failed(&e->state, h->deployment, h->rev, key, skip);
			FREE_ALL(key, skip);
		}
		after = after || strcmp(hk->on_rollback[i], h->job) == 0;
	}
	engine_state_save(e);
	if (ed)
		add_error(ed, why);
}

/*
 * The hook Job ended. A success is recorded in the state file at once (not at
 * the end of the pass), so that a controller killed right after does not run
 * it again. A failure, with the hook's name and the last lines of its output
 * as the reason: a preDeploy one fails the release of that revision, a
 * postDeploy one rolls it back (or marks it failed), an onRollback one is
 * recorded beside the reason of the rollback, which stands.
 */
static void on_hook_done(int succeeded, int attempts, const char *message, void *arg)
{
	struct hook_call *h = arg;
	struct engine *e = h->e;
	struct eng_dep *ed = engine_dep_find(e, h->deployment);
	const struct desired_deployment *dd = desired_find(&e->desired, h->deployment);
	int current = dd && strcmp(dd->revision, h->rev) == 0;
	char n[32], done[48], *why;

	if (ed)
		ed->hook = NULL;
	snprintf(n, sizeof(n), "%d", attempts);
	if (succeeded == JOB_NOT_RUN) {
		/*
		 * Docker did not answer a call of the run: nothing is recorded,
		 * and the pass after the next interval starts the hook again (a
		 * container it left is removed first, as a leftover). Not kicked:
		 * an endpoint that is down would be asked again at once.
		 */
		log_warn(COMPONENT, "hook not run: Docker did not answer; it runs again on a later pass", "deployment",
			 h->deployment, "revision", h->rev, "stage", stage_names[h->stage], "hook", h->job, "error",
			 message ? message : "", (char *)NULL);
		hook_call_free(h);
		return;
	}
	if (succeeded) {
		snprintf(done, sizeof(done), "%s hook completed", stage_names[h->stage]);
		log_info(COMPONENT, done, "deployment", h->deployment, "revision", h->rev, "hook", h->job, "attempts",
			 n, "output", message ? message : "", (char *)NULL);
		statefile_set_hook_done(&e->state, h->deployment, h->rev, h->key);
		engine_state_save(e);
		goto out;
	}
	why = xasprintf("%s hook '%s' failed after %d attempt%s: %s", stage_names[h->stage], h->job, attempts,
			attempts == 1 ? "" : "s", message ? message : "no output");
	if (h->stage == ENGINE_HOOK_ROLLBACK) {
		log_error(COMPONENT, "onRollback hook failed; the rollback stands", "deployment", h->deployment,
			  "reason", why, (char *)NULL);
		rollback_hook_failed(e, dd, h, why);
	} else if (current && h->stage == ENGINE_HOOK_POST && dd->spec->hooks.post_failure == SPEC_POST_MARK) {
		statefile_set_hook_failed(&e->state, h->deployment, h->rev, h->key, why);
		engine_state_save(e);
		mark_failed(e, dd, why);
	} else if (current) {
		engine_fail_deployment(e, dd, why);
	}
	free(why);
out:
	hook_call_free(h);
	engine_kick(e);
}

/* KEY=value for the hook's environment. */
static char *env_kv(const char *key, const char *value)
{
	return xasprintf("%s=%s", key, value ? value : "");
}

/* The hook's container: the Job's template, what auriga tells it after the Job's own env, auriga's labels. */
static struct job_run *hook_run(struct engine *e, struct job_runner *jobs, const struct desired_deployment *dd,
				struct hook_call *h, const struct spec_job *job, const struct hook_env *he)
{
	struct job_run *run;
	struct desired_tmpl tmpl;
	struct job_spec js;
	struct kv *labels;
	char *env[9], *name, *base, what[32];
	size_t i, n = 0, nl;

	env[n++] = env_kv("AURIGA_DEPLOYMENT", dd->name);
	env[n++] = env_kv("AURIGA_REVISION_FROM", he->from);
	env[n++] = env_kv("AURIGA_REVISION_TO", he->to);
	env[n++] = env_kv("AURIGA_COMMIT", e->desired.commit);
	env[n++] = env_kv("AURIGA_HOOK", stage_names[h->stage]);
	env[n++] = env_kv("AURIGA_REASON", he->reason);
	env[n++] = env_kv("AURIGA_SCHEMA_FROM", he->schema_from);
	env[n++] = env_kv("AURIGA_SCHEMA_TO", he->schema_to);
	env[n] = NULL;
	labels = job_labels(e->desired.extra_labels, e->desired.n_extra_labels, e->desired.instance, &nl, HOOK_LABEL,
			    dd->name, HOOK_STAGE_LABEL, stage_names[h->stage], (char *)NULL);
	base = xasprintf("%s-%s-%s", dd->name, stage_slugs[h->stage], job->meta.name);
	name = desired_prefixed(e->desired.name_prefix, base);
	free(base);
	snprintf(what, sizeof(what), "%s hook", stage_names[h->stage]);
	job_place_spec(&js, &tmpl, job, name, dd->name);
	js.env = (const char *const *)env;
	js.labels = labels;
	js.n_labels = nl;
	js.tail_lines = HOOK_TAIL_LINES;
	js.max_output = HOOK_MAX_OUTPUT;
	js.what = what;
	/* Docker not answering is no verdict on the hook: it runs again on a later pass (on_hook_done). */
	js.report_not_run = 1;
	log_info(COMPONENT, "hook", "deployment", dd->name, "stage", stage_names[h->stage], "from",
		 he->from ? he->from : "", "to", he->to, "hook", job->meta.name, "container", name, (char *)NULL);
	/*
	 * On the deployment's network, or the instance's jobs network; the
	 * deployment's volumes (job_place.c); on the endpoint of its first
	 * replica, where that network and volumes are.
	 */
	run = job_place_start(jobs, &js, &e->desired, dd, job, e->set ? e->set->policy : NULL, NULL,
			      on_hook_done, h);
	desired_tmpl_release(&tmpl);
	free(labels);
	free(name);
	for (i = 0; i < n; i++)
		free(env[i]);
	return run;
}

/*
 * Starts hook jobs[next] of the stage for dd, its record under rev; the step
 * to show while it stands. A hook naming no Job fails the deployment.
 */
static char *hook_start(struct engine *e, const struct desired_deployment *dd, enum engine_hook_stage stage,
			const char *job_name, const char *rev, const struct hook_env *he)
{
	const struct spec_job *job = spec_set_job(e->set, job_name);
	struct hook_call *h;
	struct eng_dep *ed;
	struct job_run *run;
	struct job_runner *jobs;
	char wait[512];

	if (job == NULL) {
		/* The specs' validation refuses a hook naming a missing Job; should one get here, it fails. */
		char *why = xasprintf("%s hook '%s' names no Job in the specs", stage_names[stage], job_name);

		engine_fail_deployment(e, dd, why);
		free(why);
		return NULL;
	}
	/* On the endpoint of its first replica: none may take it, or it does not answer: the hook waits. */
	if ((jobs = engine_host_jobs(e, dd, wait, sizeof(wait))) == NULL)
		return xasprintf("%s hook '%s' %s", stage_names[stage], job_name, wait);
	h = xcalloc(1, sizeof(*h));
	h->e = e;
	h->stage = stage;
	h->deployment = xstrdup(dd->name);
	h->rev = xstrdup(rev);
	h->job = xstrdup(job_name);
	h->key = hook_key(stage, job_name);
	run = hook_run(e, jobs, dd, h, job, he);
	/* A run that reported at once (and may have failed the deployment) left no handle to keep. */
	ed = engine_dep_get(e, dd->name);
	ed->hook = run;
	ed->hook_stage = stage;
	str_set(&ed->hook_name, job_name);
	if (run == NULL)
		return xasprintf("%s hook '%s' ended", stage_names[stage], job_name);
	return xasprintf("%s hook '%s' running", stage_names[stage], job_name);
}

static char *running_step(const struct eng_dep *ed)
{
	return xasprintf("%s hook '%s' running", stage_names[ed->hook_stage], ed->hook_name);
}

char *engine_hooks_pre(struct engine *e, const struct desired_deployment *dd, int turn, int held, const char *rev)
{
	const struct spec_hooks *hk = &dd->spec->hooks;
	struct eng_dep *ed = engine_dep_get(e, dd->name);
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	struct hook_env he;
	unsigned char *done;
	char *step;
	size_t next;

	/* A deployment only kept at its healthy revision (heal, or a rollback) does not wait for a hook. */
	if (ed->hook != NULL && (!turn || held))
		return NULL;
	/* The backups its BackupPolicies ask for come first (engine_backup.c). */
	if ((step = engine_backup_before(e, dd, turn, held, rev)) != NULL)
		return step;
	if (ed->hook != NULL && ed->hook_stage == ENGINE_HOOK_PRE)
		return running_step(ed);
	if (hk->n_pre_deploy == 0)
		return NULL;
	done = xcalloc(hk->n_pre_deploy, 1);
	next = plan_pre_deploy(dd, &e->state, observed_deployment(&e->obs, dd->name), rev, turn && !e->draining,
			       held, done);
	free(done);
	if (next == hk->n_pre_deploy)
		return NULL;
	/* A hook of another stage (an earlier revision's postDeploy) ends before this revision's first starts. */
	if (ed->hook != NULL)
		return running_step(ed);
	memset(&he, 0, sizeof(he));
	he.from = se && se->has_healthy ? se->healthy_rev : "";
	he.to = rev;
	he.reason = "rollout";
	he.schema_from = healthy_schema(se);
	he.schema_to = dd->tmpl.schema_version;
	return hook_start(e, dd, ENGINE_HOOK_PRE, hk->pre_deploy[next], rev, &he);
}

/* The stage's next hook started, or (the controller draining) left to run after a restart. */
static char *stage_next(struct engine *e, const struct desired_deployment *dd, enum engine_hook_stage stage,
			const char *job, const char *rev, const struct hook_env *he)
{
	if (e->draining)
		return xasprintf("%s hook '%s' to run", stage_names[stage], job);
	return hook_start(e, dd, stage, job, rev, he);
}

/*
 * The postDeploy stage: dd complete at rev (not yet recorded healthy). A
 * failure recorded under Mark (before a restart) fails it again, unrun.
 */
static char *hooks_post(struct engine *e, const struct desired_deployment *dd, const char *rev)
{
	const struct spec_hooks *hk = &dd->spec->hooks;
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	unsigned char *done = xcalloc(hk->n_post_deploy, 1);
	struct decide_after_in in;
	struct hook_env he;
	size_t i, next;

	plan_hooks_done(&e->state, dd->name, rev, stage_names[ENGINE_HOOK_POST], hk->post_deploy, hk->n_post_deploy, done);
	memset(&in, 0, sizeof(in));
	in.turn = 1;
	in.complete = 1;
	in.reached = se && se->has_healthy && strcmp(se->healthy_rev, rev) == 0;
	in.done = done;
	in.n = hk->n_post_deploy;
	next = decide_post_deploy(&in);
	free(done);
	for (i = 0; !in.reached && i < hk->n_post_deploy; i++) {
		char *key = hook_key(ENGINE_HOOK_POST, hk->post_deploy[i]);
		const char *why = statefile_hook_failed(&e->state, dd->name, rev, key);

		free(key);
		if (why != NULL) {
			mark_failed(e, dd, why);
			return xasprintf("postDeploy hook '%s' failed", hk->post_deploy[i]);
		}
	}
	if (next == hk->n_post_deploy)
		return NULL;
	he.from = se && se->has_healthy ? se->healthy_rev : "";
	he.to = rev;
	he.reason = "rollout";
	he.schema_from = healthy_schema(se);
	he.schema_to = dd->tmpl.schema_version;
	return stage_next(e, dd, ENGINE_HOOK_POST, hk->post_deploy[next], rev, &he);
}

/*
 * The onRollback stage: dd back at rev, from its desired revision (the
 * failed one, under which the records go). A failure recorded before a
 * restart is shown again.
 */
static char *hooks_rollback(struct engine *e, const struct desired_deployment *dd, const char *rev)
{
	const struct spec_hooks *hk = &dd->spec->hooks;
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	unsigned char *done = xcalloc(hk->n_on_rollback, 1);
	const struct desired_tmpl *back = statefile_tmpl(&e->state, dd->name, rev);
	struct decide_after_in in;
	struct hook_env he;
	size_t i, next;

	plan_hooks_done(&e->state, dd->name, dd->revision, stage_names[ENGINE_HOOK_ROLLBACK], hk->on_rollback,
			hk->n_on_rollback, done);
	memset(&in, 0, sizeof(in));
	in.turn = 1;
	in.held = 1;
	in.complete = 1;
	in.done = done;
	in.n = hk->n_on_rollback;
	next = decide_on_rollback(&in);
	for (i = 0; i < hk->n_on_rollback; i++) {
		char *key = hook_key(ENGINE_HOOK_ROLLBACK, hk->on_rollback[i]);
		const char *why = done[i] ? statefile_hook_failed(&e->state, dd->name, dd->revision, key) : NULL;

		free(key);
		if (why != NULL && strncmp(why, "not run:", 8) != 0)
			add_error(engine_dep_get(e, dd->name), why);
	}
	free(done);
	if (next == hk->n_on_rollback)
		return NULL;
	he.from = dd->revision;
	he.to = rev;
	he.reason = statefile_failed_reason(se) ? statefile_failed_reason(se) : "rollback";
	/* Back from the failed revision's version to the one the restored revision expects. */
	he.schema_from = dd->tmpl.schema_version;
	he.schema_to = back ? back->schema_version : NULL;
	return stage_next(e, dd, ENGINE_HOOK_ROLLBACK, hk->on_rollback[next], dd->revision, &he);
}

char *engine_hooks_after(struct engine *e, const struct desired_deployment *dd, int held, const char *rev)
{
	const struct spec_hooks *hk = &dd->spec->hooks;
	struct eng_dep *ed = engine_dep_get(e, dd->name);

	if ((held ? hk->n_on_rollback : hk->n_post_deploy) == 0)
		return NULL;
	/* One hook at a time per deployment: a stage waits for the run under way, whichever it is. */
	if (ed->hook != NULL)
		return running_step(ed);
	return held ? hooks_rollback(e, dd, rev) : hooks_post(e, dd, rev);
}
