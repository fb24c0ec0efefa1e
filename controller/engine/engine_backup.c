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

/* Appends the backup to STATE_DIR/backups.json, as `auriga backup run` records it: ok, or failed with why. */
static void record(struct before_call *b, int ok, const char *why)
{
	struct backup_records recs;
	struct backup_record rec;
	struct error *err = NULL;
	char *dir, *path;

	b->res.ok = ok;
	b->res.duration_ms = wall_ms() - b->started_ms;
	str_set(&b->res.message, why);
	if (b->e->state.path == NULL)
		return;
	dir = xstrdup(b->e->state.path);
	path = xasprintf("%s/%s", dirname(dir), BACKUP_RECORDS_FILE);
	backup_record_from(&rec, b->policy, b->file, b->commit, b->started_ms, &b->res);
	if (backup_records_load(&recs, path, &err) == 0) {
		backup_records_add(&recs, &rec);
		(void)backup_records_save(&recs, path, &err);
		backup_records_release(&recs);
	}
	if (err)
		log_error(COMPONENT, "cannot record the backup", "policy", b->policy, "file", path, "reason",
			  error_msg(err), (char *)NULL);
	error_free(err);
	FREE_ALL(dir, path);
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
	struct kv *l = xcalloc(e->desired.n_extra_labels + 5, sizeof(*l));
	size_t i;

	for (i = 0; i < e->desired.n_extra_labels; i++)
		l[i] = e->desired.extra_labels[i];
	l[i].key = (char *)"auriga.io/job-of";
	l[i++].value = e->desired.instance;
	l[i].key = (char *)"auriga.io/hook";
	l[i++].value = dd->name;
	l[i].key = (char *)"auriga.io/hook-stage";
	l[i++].value = (char *)PLAN_BACKUP_STAGE;
	l[i].key = (char *)BACKUP_OF_LABEL;
	l[i++].value = e->desired.instance;
	l[i].key = (char *)BACKUP_POLICY_LABEL;
	l[i++].value = p->meta.name;
	*n = i;
	return l;
}

/* Starts the policy's Job with its target at /backup, the dump read back when it exits 0. */
static struct job_run *before_run(struct engine *e, const struct desired_deployment *dd,
				  const struct spec_backup_policy *p, struct before_call *b, const char *from)
{
	struct desired_tmpl tmpl;
	struct job_spec js;
	struct job_mount m;
	struct kv *vl, *labels;
	char *env[8], *base, *name, *vol_dep = NULL, *vol_name = NULL, *network, *read_path = xasprintf("/backup/%s", b->file);
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
	memset(&m, 0, sizeof(m));
	m.target = "/backup";
	if (p->target_host_path) {
		m.source = p->target_host_path;
		m.bind = 1;
		b->res.target = xasprintf("hostPath %s", p->target_host_path);
	} else {
		/* The policy's volume, auriga's as `auriga backup run` makes it (backup.c). */
		vol_name = backup_volume_name(e->desired.instance, p->target_volume);
		vol_dep = xasprintf("backup:%s", p->target_volume);
		m.source = vol_name;
		b->res.target = xasprintf("volume %s", vol_name);
	}
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
	js.instance = e->desired.instance;
	js.mounts = &m;
	js.n_mounts = 1;
	js.deployment = vol_dep;
	/* The volume's labels, as `auriga backup run` gives them: the extra ones, then whose it is. */
	vl = xcalloc(e->desired.n_extra_labels + 2, sizeof(*vl));
	for (i = 0; i < e->desired.n_extra_labels; i++)
		vl[i] = e->desired.extra_labels[i];
	vl[i].key = (char *)OBS_LABEL_MANAGED_BY;
	vl[i++].value = e->desired.instance;
	vl[i].key = (char *)OBS_LABEL_DEPLOYMENT;
	vl[i++].value = vol_dep;
	js.vol_labels = vl;
	js.n_vol_labels = vol_dep ? i : 0;
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
	desired_tmpl_release(&tmpl);
	for (i = 0; i < n; i++)
		free(env[i]);
	FREE_ALL(labels, vl, base, name, vol_dep, vol_name, read_path, network);
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
