/* Backups before a rollout: each BackupPolicy whose spec.before names a deployment runs once per new revision of it, first. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backup.h"
#include "engine/engine_internal.h"
#include "engine/job.h"
#include "runtime/log.h"
#include "spec_backup.h"
#include "status/backup_records.h"
#include "status/records_lock.h"
#include "strv.h"
#include "util.h"

/* What a failed backup's report quotes of its output, as a hook's. */
#define BEFORE_TAIL_LINES 20
#define BEFORE_MAX_OUTPUT 2048

/* One backup under way; the deployment is found again by name when it ends. */
struct before_call {
	struct engine *e;
	char *deployment, *rev, *policy, *key, *file, *commit;
	int64_t started_ms;		/* wall clock */
	struct backup_result res;	/* its target, then what the file read back and the run gave */
	char *file_why;			/* why the file could not be hashed, or NULL */
};

static void before_call_free(struct before_call *b)
{
	backup_result_release(&b->res);
	FREE_ALL(b->deployment, b->rev, b->policy, b->key, b->file, b->commit, b->file_why);
	free(b);
}

/* STATE_DIR/backups.json, beside the engine's state file; NULL when the engine keeps no state. */
static char *records_path(const struct engine *e)
{
	char *dir, *path;

	if (e->state.path == NULL)
		return NULL;
	dir = xstrdup(e->state.path);
	path = xasprintf("%s/%s", dirname(dir), BACKUP_RECORDS_FILE);
	free(dir);
	return path;
}

/* Appends the backup to STATE_DIR/backups.json, as `auriga backup run` records it: ok, or failed with why. */
static void record(struct before_call *b, int ok, const char *why)
{
	struct backup_record rec;
	struct error *err = NULL;
	char *path = records_path(b->e);

	b->res.ok = ok;
	b->res.duration_ms = wall_ms() - b->started_ms;
	str_set(&b->res.message, why);
	if (path == NULL)
		return;
	backup_record_from(&rec, b->policy, b->file, b->commit, b->started_ms, &b->res);
	if (backup_records_record(path, &rec, &err) < 0)
		log_error(COMPONENT, "cannot record the backup", "policy", b->policy, "file", path, "reason",
			  error_msg(err), (char *)NULL);
	error_free(err);
	free(path);
}

/* The policy's target at /backup for a Job of the engine: the host path, or the volume auriga owns (backup.c's). */
struct target {
	struct job_mount m;
	char *vol_name, *vol_dep, *desc;	/* desc: "volume NAME" or "hostPath PATH" */
	struct kv *vl;				/* the volume's labels: the extra ones, then whose it is */
	size_t n_vl;
};

static void target_init(struct target *t, const struct engine *e, const struct spec_backup_policy *p)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	t->m.target = "/backup";
	if (p->target_host_path) {
		t->m.source = p->target_host_path;
		t->m.bind = 1;
		t->desc = xasprintf("hostPath %s", p->target_host_path);
	} else {
		t->vol_name = backup_volume_name(e->desired.instance, p->target_volume);
		t->vol_dep = xasprintf("backup:%s", p->target_volume);
		t->m.source = t->vol_name;
		t->desc = xasprintf("volume %s", t->vol_name);
	}
	t->vl = xcalloc(e->desired.n_extra_labels + 2, sizeof(*t->vl));
	for (i = 0; i < e->desired.n_extra_labels; i++)
		t->vl[i] = e->desired.extra_labels[i];
	t->vl[i].key = (char *)OBS_LABEL_MANAGED_BY;
	t->vl[i++].value = e->desired.instance;
	t->vl[i].key = (char *)OBS_LABEL_DEPLOYMENT;
	t->vl[i++].value = t->vol_dep;
	t->n_vl = t->vol_dep ? i : 0;
}

/* js mounts the target, on the policy's network, as the engine's Job. */
static void target_apply(struct target *t, const struct engine *e, struct job_spec *js)
{
	js->instance = e->desired.instance;
	js->mounts = &t->m;
	js->n_mounts = 1;
	js->deployment = t->vol_dep;
	js->vol_labels = t->vl;
	js->n_vol_labels = t->n_vl;
}

static void target_release(struct target *t)
{
	FREE_ALL(t->vol_name, t->vol_dep, t->desc, t->vl);
}

/* A removal of the backups retention no longer keeps, under way; one per engine at a time. */
struct prune_call {
	struct engine *e;
	char *path, *policy;
	char **files;
	size_t n;
};

static void prune_call_free(struct prune_call *pc)
{
	if (pc == NULL)
		return;
	strv_free(pc->files);
	FREE_ALL(pc->path, pc->policy, pc);
}

void engine_backup_release(struct engine *e)
{
	job_orphan(e->prune);
	prune_call_free(e->prune_call);
	e->prune = NULL;
	e->prune_call = NULL;
}

static void on_pruned(int succeeded, int attempts, const char *message, void *arg)
{
	struct prune_call *pc = arg;
	struct error *err = NULL;
	char n[24];

	(void)attempts;
	pc->e->prune = NULL;
	pc->e->prune_call = NULL;
	snprintf(n, sizeof(n), "%zu", pc->n);
	/* Pruned is what rm -f removed: it exits 0 only when each file is gone (or was never there). */
	if (!succeeded)
		log_warn(COMPONENT, "cannot remove the backups retention no longer keeps", "policy", pc->policy, "error",
			 message ? message : "", (char *)NULL);
	else if (backup_records_mark_pruned(pc->path, pc->policy, (const char *const *)pc->files, pc->n, &err) < 0)
		log_error(COMPONENT, "cannot record the backups pruned", "policy", pc->policy, "error", error_msg(err),
			  (char *)NULL);
	else
		log_info(COMPONENT, "backups pruned by retention", "policy", pc->policy, "count", n, (char *)NULL);
	error_free(err);
	prune_call_free(pc);
}

/* The Job removing files from the target: the policy's image, `rm -f -- /backup/FILE...`. */
static struct job_run *prune_run(struct engine *e, const struct spec_backup_policy *p, struct prune_call *pc)
{
	struct desired_tmpl tmpl;
	struct target t;
	struct job_spec js;
	struct job_run *run;
	struct kv *labels;
	char *base = xasprintf("backup-%s-prune", p->meta.name), *name = desired_prefixed(e->desired.name_prefix, base);
	char *network = backup_network(e->set, p, e->desired.name_prefix), **argv = xcalloc(pc->n + 4, sizeof(*argv));
	size_t i, nl;

	argv[0] = xstrdup("rm");
	argv[1] = xstrdup("-f");
	argv[2] = xstrdup("--");
	for (i = 0; i < pc->n; i++)
		argv[3 + i] = xasprintf("/backup/%s", pc->files[i]);
	desired_tmpl_from_spec(&tmpl, &p->job);
	strv_free(tmpl.entrypoint);
	strv_free(tmpl.cmd);
	tmpl.entrypoint = argv;
	tmpl.cmd = NULL;
	labels = job_labels(e->desired.extra_labels, e->desired.n_extra_labels, e->desired.instance, &nl,
			    BACKUP_OF_LABEL, e->desired.instance, BACKUP_POLICY_LABEL, p->meta.name, (char *)NULL);
	target_init(&t, e, p);
	memset(&js, 0, sizeof(js));
	js.name = name;
	js.tmpl = &tmpl;
	js.labels = labels;
	js.n_labels = nl;
	js.network = network;
	target_apply(&t, e, &js);
	js.deadline_ms = (int64_t)p->active_deadline_seconds * 1000;
	js.what = "removal of old backups";
	js.owner = p->meta.name;
	log_info(COMPONENT, "pruning backups by retention", "policy", p->meta.name, "target", t.desc, "container", name,
		 (char *)NULL);
	run = job_start(e->hooks, &js, on_pruned, pc);
	target_release(&t);
	desired_tmpl_release(&tmpl);
	FREE_ALL(base, name, network, labels);
	return run;
}

/*
 * Retention after a backup before a rollout, as `auriga backup run` applies
 * it: the files the policy's retention no longer keeps (decided on the
 * records as they are now) removed by a Job, then recorded as pruned. One
 * removal at a time, none while a drill of the policy runs: one not started
 * now is made by the next backup's.
 */
static void prune_after(struct engine *e, const char *policy)
{
	const struct spec_backup_policy *p = e->set ? spec_set_backup_policy(e->set, policy) : NULL;
	struct backup_records r;
	struct prune_call *pc;
	struct error *err = NULL;
	char *path = records_path(e), *dir = NULL;
	size_t *idx = NULL, n = 0, i;

	memset(&r, 0, sizeof(r));
	if (p == NULL || path == NULL || e->prune_call != NULL)
		goto out;
	/* A drill restores one of them now: nothing is removed under it, the next backup prunes. */
	dir = xstrdup(path);
	if (records_run_free(dirname(dir), "drill", policy, NULL) == 0) {
		log_info(COMPONENT, "retention waits: a drill of the policy is running", "policy", policy, (char *)NULL);
		goto out;
	}
	if (backup_records_load(&r, path, &err) < 0) {
		log_error(COMPONENT, "cannot apply retention", "policy", policy, "error", error_msg(err), (char *)NULL);
		goto out;
	}
	n = backup_records_to_prune(&r, policy, &p->retention, &idx);
	if (n == 0)
		goto out;
	pc = xcalloc(1, sizeof(*pc));
	pc->e = e;
	pc->path = path;
	path = NULL;
	pc->policy = xstrdup(policy);
	pc->files = xcalloc(n + 1, sizeof(*pc->files));
	for (i = 0; i < n; i++)
		pc->files[pc->n++] = xstrdup(r.v[idx[i]].file);
	/* A run that reported at once has freed pc already and left no handle. */
	e->prune_call = pc;
	e->prune = prune_run(e, p, pc);
out:
	backup_records_release(&r);
	error_free(err);
	FREE_ALL(idx, path, dir);
}

static void on_file(const char *tar, size_t len, const char *why, void *arg)
{
	struct before_call *b = arg;
	struct error *err = NULL;

	if (why != NULL)
		b->file_why = xstrdup(why);
	else if (backup_digest(tar, len, &b->res, &err) < 0)
		b->file_why = xasprintf("the backup Job's file /backup/%s: %s", b->file, error_msg(err));
	error_free(err);
}

/*
 * The backup ended: recorded in backups.json either way; a good one in the
 * state file at once (so that a controller killed right after does not take
 * it again), a failed one fails the release of the revision it stood before.
 */
static void on_done(int succeeded, int attempts, const char *message, void *arg)
{
	struct before_call *b = arg;
	struct engine *e = b->e;
	struct eng_dep *ed = engine_dep_find(e, b->deployment);
	const struct desired_deployment *dd = desired_find(&e->desired, b->deployment);
	int ok = succeeded && b->res.ok && b->file_why == NULL;
	char *why = NULL;

	(void)attempts;
	if (ed)
		ed->hook = NULL;
	if (ok) {
		char size[32];

		snprintf(size, sizeof(size), "%llu", (unsigned long long)b->res.size);
		record(b, 1, "");
		log_info(COMPONENT, "backup before the rollout completed", "deployment", b->deployment, "revision",
			 b->rev, "policy", b->policy, "file", b->file, "bytes", size, "sha256", b->res.sha256,
			 (char *)NULL);
		statefile_set_hook_done(&e->state, b->deployment, b->rev, b->key);
		engine_state_save(e);
		prune_after(e, b->policy);
		goto out;
	}
	why = xasprintf("backup '%s' before the rollout failed: %s", b->policy,
			!succeeded ? (message && message[0] ? message : "no output")
				   : b->file_why ? b->file_why : "no file was read back");
	record(b, 0, why);
	if (dd && strcmp(dd->revision, b->rev) == 0)
		engine_fail_deployment(e, dd, why);
out:
	free(why);
	before_call_free(b);
	engine_kick(e);
}

/* The labels of the backup's container: the extra ones, then the hook's and the backup's. */
static struct kv *make_labels(const struct engine *e, const struct desired_deployment *dd,
			      const struct spec_backup_policy *p, size_t *n)
{
	return job_labels(e->desired.extra_labels, e->desired.n_extra_labels, e->desired.instance, n, HOOK_LABEL,
			  dd->name, HOOK_STAGE_LABEL, PLAN_BACKUP_STAGE, BACKUP_OF_LABEL, e->desired.instance,
			  BACKUP_POLICY_LABEL, p->meta.name, (char *)NULL);
}

/* Starts the policy's Job with its target at /backup, the dump read back when it exits 0. */
static struct job_run *before_run(struct engine *e, const struct desired_deployment *dd,
				  const struct spec_backup_policy *p, struct before_call *b, const char *from)
{
	struct desired_tmpl tmpl;
	struct job_spec js;
	struct target t;
	struct kv *labels;
	char *env[8], *base, *name, *network, *read_path = xasprintf("/backup/%s", b->file);
	size_t i, n = 0, nl;
	struct job_run *run;

	env[n++] = xasprintf("AURIGA_BACKUP_FILE=%s", b->file);
	env[n++] = xasprintf("AURIGA_BACKUP_POLICY=%s", p->meta.name);
	env[n++] = xasprintf("AURIGA_COMMIT=%s", b->commit);
	env[n++] = xasprintf("AURIGA_DEPLOYMENT=%s", dd->name);
	env[n++] = xasprintf("AURIGA_REVISION_FROM=%s", from);
	env[n++] = xasprintf("AURIGA_REVISION_TO=%s", b->rev);
	env[n] = NULL;
	labels = make_labels(e, dd, p, &nl);
	target_init(&t, e, p);
	b->res.target = t.desc;
	t.desc = NULL;
	network = backup_network(e->set, p, e->desired.name_prefix);
	base = xasprintf("%s-backup-%s", dd->name, p->meta.name);
	name = desired_prefixed(e->desired.name_prefix, base);
	desired_tmpl_from_spec(&tmpl, &p->job);
	memset(&js, 0, sizeof(js));
	js.name = name;
	js.tmpl = &tmpl;
	js.env = (const char *const *)env;
	js.labels = labels;
	js.n_labels = nl;
	js.network = network;
	target_apply(&t, e, &js);
	js.deadline_ms = (int64_t)p->active_deadline_seconds * 1000;
	js.tail_lines = BEFORE_TAIL_LINES;
	js.max_output = BEFORE_MAX_OUTPUT;
	js.read_path = read_path;
	js.read_max = e->o.backup_max_bytes;
	js.file_done = on_file;
	js.what = "backup before the rollout";
	js.owner = dd->name;
	log_info(COMPONENT, "backup before the rollout", "deployment", dd->name, "revision", b->rev, "policy",
		 p->meta.name, "file", b->file, "target", b->res.target, "container", name, (char *)NULL);
	run = job_start(e->hooks, &js, on_done, b);
	target_release(&t);
	desired_tmpl_release(&tmpl);
	for (i = 0; i < n; i++)
		free(env[i]);
	FREE_ALL(labels, base, name, read_path, network);
	return run;
}

char *engine_backup_before(struct engine *e, const struct desired_deployment *dd, int turn, int held, const char *rev)
{
	struct eng_dep *ed = engine_dep_get(e, dd->name);
	const struct statefile_entry *se = statefile_get(&e->state, dd->name, 0);
	const struct spec_backup_policy *p;
	struct before_call *b;
	struct job_run *run;
	char **names = NULL, *step;
	size_t n = 0, next;

	if (ed->hook != NULL && ed->hook_stage == ENGINE_HOOK_BACKUP)
		return xasprintf("backup '%s' before the rollout running", ed->hook_name);
	next = plan_backups_before(e->set, dd, &e->state, observed_deployment(&e->obs, dd->name), rev,
				   turn && !e->draining, held, &names, &n);
	if (next == n) {
		strv_free(names);
		return NULL;
	}
	p = spec_set_backup_policy(e->set, names[next]);
	/* A hook of another stage (an earlier revision's postDeploy) ends first; a draining controller starts none. */
	if (ed->hook != NULL || p == NULL) {
		step = xasprintf("backup '%s' before the rollout to run", names[next]);
		strv_free(names);
		return step;
	}
	b = xcalloc(1, sizeof(*b));
	b->e = e;
	b->deployment = xstrdup(dd->name);
	b->rev = xstrdup(rev);
	b->policy = xstrdup(p->meta.name);
	b->key = xasprintf("%s/%s", PLAN_BACKUP_STAGE, p->meta.name);
	b->started_ms = wall_ms();
	b->file = backup_file_name(p->meta.name, b->started_ms);
	b->commit = xstrdup(e->desired.commit ? e->desired.commit : "");
	run = before_run(e, dd, p, b, se && se->has_healthy ? se->healthy_rev : "");
	/* A run that reported at once (and failed the deployment) left no handle to keep. */
	ed->hook = run;
	ed->hook_stage = ENGINE_HOOK_BACKUP;
	str_set(&ed->hook_name, names[next]);
	step = xasprintf("backup '%s' before the rollout %s", names[next], run ? "running" : "ended");
	strv_free(names);
	return step;
}
