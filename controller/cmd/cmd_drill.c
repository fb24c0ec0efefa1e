/* `auriga drill POLICY`: the newest good backup restored into an isolated database, verified, timed (RTO, RPO), reported, removed. */
#include "cmd/cli.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/restore_cli.h"
#include "engine/restore.h"
#include "spec_backup.h"
#include "status/drill_records.h"
#include "status/records_lock.h"
#include "status/notes.h"
#include "status/status.h"
#include "util.h"

/* The ref the drills' reports are noted under, on the commit whose specs the drill ran. */
#define DRILL_NOTES_REF "refs/notes/auriga-drills"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: auriga drill [options] POLICY [PATH]\n"
		"       auriga drill [options] --due [PATH]\n\n"
		"Restores the newest good backup of the BackupPolicy POLICY (from the specs: PATH, a folder or\n"
		"file, or --repo) into a database of its own: a network auriga makes for the drill (internal:\n"
		"it reaches nothing else) and a container of spec.restore.database on it, both named\n"
		"INSTANCE-drill-POLICY-TIME and labelled " DRILL_LABEL ". The dump's checksum is checked first,\n"
		"then spec.restore.job loads it and each Job of spec.drill.verify runs against it in turn: their\n"
		"exit codes decide. The time from the drill's start to a verified restore is its RTO, the age of\n"
		"the backup's data at the start its RPO. Whatever happened, the drill's containers and network are\n"
		"removed (and listed again to be sure), and the report is added to the state folder's " DRILL_RECORDS_FILE "\n"
		"(served at /api/v1/drills) and, with --repo, written as a note under " DRILL_NOTES_REF " on the\n"
		"commit in force and pushed.\n\n"
		"--due drills each policy whose spec.drill.schedule (UTC) names a time after the start of its\n"
		"newest drill that has come (a policy never drilled is due): run it from cron or a timer.\n"
		"Exit 0 when every drill run passed, 1 when one failed, 2 for a usage error.\n");
}

/* One drill as it goes: what it restores, where, and what it found. */
struct drill {
	struct restore_cli *o;
	const struct spec_backup_policy *p;
	const struct backup_record *rec;
	char *id;		/* drill-POLICY-TIME: its label's value and its names' middle */
	int64_t start_wall, start_mono;
	int64_t restore_ms, rto_ms;	/* -1 until reached */
	const char *stage;	/* where it stopped, NULL when it passed */
	char *message;
	json_t *verify;
};

/* drill-POLICY-YYYYmmddTHHMMSSZ */
static char *drill_id(const char *policy, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char at[32];

	if (gmtime_r(&t, &tm) == NULL || strftime(at, sizeof(at), "%Y%m%dt%H%M%Sz", &tm) == 0)
		BUG("cannot format a time");
	return xasprintf("drill-%s-%s", policy, at);
}

/* The drill stopped at stage: why. */
static int stop(struct drill *dr, const char *stage, const char *why)
{
	dr->stage = stage;
	dr->message = xstrdup(why);
	return -1;
}

/* One Job against the drill's database: 0 when it exited 0. */
static int run_job(struct drill *dr, const struct restore_request *rq, const struct restore_target *t, const char *job,
		   const char *stage)
{
	char *message = NULL;
	int ok = 0;

	restore_job_run(dr->o->d, rq, spec_set_job(dr->o->set, job), stage, t, &ok, &message);
	if (!ok) {
		dr->stage = stage;
		dr->message = xasprintf("the %s Job '%s' failed: %s", stage, job, message);
	}
	if (strcmp(stage, "verify") == 0)
		json_array_append_new(dr->verify, json_pack("{s:s, s:b, s:s}", "job", job, "ok", ok, "message", message));
	free(message);
	return ok ? 0 : -1;
}

/* The steps, in order, each stopping the drill when it fails: checksum, network, database, restore, verify. */
static int steps(struct drill *dr)
{
	const struct spec_backup_restore *r = &dr->p->restore;
	struct restore_request rq;
	struct restore_target t;
	struct error *err = NULL;
	char *net = NULL, *db = NULL;
	size_t i;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (dr->rec == NULL)
		return stop(dr, "backup", "no good backup of the policy is recorded");
	restore_cli_request(dr->o, dr->p, dr->rec, &rq);
	rq.drill = dr->id;
	net = xasprintf("%s-%s", dr->o->cli.instance, dr->id);
	db = xasprintf("%s-db", net);
	if (restore_cli_checksum(dr->o, dr->p, dr->rec, &err) < 0) {
		(void)stop(dr, "checksum", error_msg(err));
		goto out;
	}
	if (restore_network_create(dr->o->d, &rq, net, &err) < 0 ||
	    restore_database_start(dr->o->d, &rq, db, net, &t, &err) < 0) {
		(void)stop(dr, "database", error_msg(err));
		goto out;
	}
	if (run_job(dr, &rq, &t, r->job, "restore") < 0)
		goto out;
	dr->restore_ms = now_ms() - dr->start_mono;
	for (i = 0; i < r->n_verify; i++)
		if (run_job(dr, &rq, &t, r->verify[i], "verify") < 0)
			goto out;
	dr->rto_ms = now_ms() - dr->start_mono;
	rc = 0;
out:
	restore_target_release(&t);
	error_free(err);
	FREE_ALL(net, db);
	return rc;
}

static json_t *seconds_or_null(int64_t ms)
{
	return ms < 0 ? json_null() : json_real((double)ms / 1000.0);
}

/* The report, as drills.json, the API and the note carry it. */
static json_t *report(const struct drill *dr, const char *cleanup)
{
	const struct backup_record *b = dr->rec;
	char at[40];
	json_t *j;

	(void)status_format_time(dr->start_wall, at, sizeof(at));
	j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "policy", dr->p->meta.name, "id", dr->id, "time", at,
		      "timeMs", (json_int_t)dr->start_wall, "commit", dr->o->cli.commit, "status",
		      dr->stage ? "failed" : "passed", "stage", dr->stage ? dr->stage : "", "message",
		      dr->message ? dr->message : "");
	json_object_set_new(j, "backup", b ? json_pack("{s:s, s:I, s:s, s:I}", "file", b->file, "timeMs",
							 (json_int_t)b->time_ms, "sha256", b->sha256, "size",
							 (json_int_t)b->size)
					  : json_null());
	json_object_set_new(j, "restoreSeconds", seconds_or_null(dr->restore_ms));
	json_object_set_new(j, "rtoSeconds", seconds_or_null(dr->rto_ms));
	json_object_set_new(j, "rpoSeconds", seconds_or_null(b ? dr->start_wall - b->time_ms : -1));
	json_object_set_new(j, "verify", json_incref(dr->verify));
	json_object_set_new(j, "cleanup", json_string(cleanup));
	return j;
}

/* The report recorded, noted on the commit in force (--repo) and printed. */
static int publish(struct drill *dr, json_t *rep)
{
	struct restore_cli *o = dr->o;
	char *path = xasprintf("%s/%s", o->cli.state_dir, DRILL_RECORDS_FILE), *body, *text;
	struct error *err = NULL;
	json_t *rto = json_object_get(rep, "rtoSeconds"), *rpo = json_object_get(rep, "rpoSeconds");
	int rc = 0;

	body = json_dumps(rep, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	text = xasprintf("auriga drill: %s %s, RTO %.1f s, RPO %.0f s%s%s\n%s\n", dr->stage ? "Failed" : "Passed",
			 dr->p->meta.name, json_real_value(rto), json_real_value(rpo), dr->stage ? ": " : "",
			 dr->stage ? dr->message : "", body);
	fputs(text, dr->stage ? stderr : stdout);
	if (drill_records_append(path, rep, &err) < 0) {
		fprintf(stderr, "auriga drill: %s\n", error_msg(err));
		rc = -1;
	} else if (o->cli.src && o->cli.commit[0] &&
		   notes_publish(o->cli.src, DRILL_NOTES_REF, o->cli.commit, text, 1, &err) < 0) {
		fprintf(stderr, "auriga drill: cannot write the drill's note: %s\n", error_msg(err));
		rc = -1;
	}
	error_free(err);
	FREE_ALL(path, body, text);
	return rc;
}

/*
 * The drill's start, recorded before anything is made (its report replaces
 * it): a process killed in the middle leaves a "running" report that
 * drill_records_settle closes, and its start counts for the schedule.
 */
static int started(const struct drill *dr)
{
	char *path = xasprintf("%s/%s", dr->o->cli.state_dir, DRILL_RECORDS_FILE);
	struct error *err = NULL;
	char at[40];
	json_t *j;
	int rc;

	(void)status_format_time(dr->start_wall, at, sizeof(at));
	j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "policy", dr->p->meta.name, "id", dr->id, "time", at, "timeMs",
		      (json_int_t)dr->start_wall, "commit", dr->o->cli.commit, "status", "running");
	rc = drill_records_append(path, j, &err);
	if (rc < 0)
		fprintf(stderr, "auriga drill: %s\n", error_msg(err));
	json_decref(j);
	error_free(err);
	free(path);
	return rc;
}

/* One drill of p, start to report, under the policy's run lock: 0 when it passed and was recorded. */
static int drill(struct restore_cli *o, const struct spec_backup_policy *p)
{
	struct drill dr;
	struct error *err = NULL;
	const char *cleanup = "done";
	char *lock = records_run_lock_path(o->cli.state_dir, "drill", p->meta.name);
	json_t *rep;
	int rc, lfd = -1, held = records_lock(lock, 0, &lfd, &err);

	if (held <= 0) {
		fprintf(stderr, held == 0 ? "auriga drill: a drill of policy '%s' is running already (%s is held)\n"
					  : "auriga drill: %s: %s\n", p->meta.name, held == 0 ? lock : error_msg(err));
		error_free(err);
		free(lock);
		return -1;
	}
	memset(&dr, 0, sizeof(dr));
	dr.o = o;
	dr.p = p;
	dr.rec = backup_records_newest(&o->recs, p->meta.name, 1);
	dr.start_wall = wall_ms();
	dr.start_mono = now_ms();
	dr.restore_ms = dr.rto_ms = -1;
	dr.id = drill_id(p->meta.name, dr.start_wall);
	dr.verify = json_array();
	rc = started(&dr) < 0 ? stop(&dr, "record", "the drill's start could not be recorded") : steps(&dr);
	/* Whatever happened: what carries the drill's label goes, and a drill that leaves some behind failed. */
	if (restore_drill_cleanup(o->d, dr.id, &err) < 0) {
		cleanup = error_msg(err);
		if (rc == 0)
			rc = stop(&dr, "cleanup", cleanup);
	}
	rep = report(&dr, cleanup);
	if (publish(&dr, rep) < 0)
		rc = -1;
	records_unlock(lfd);
	json_decref(rep);
	json_decref(dr.verify);
	error_free(err);
	FREE_ALL(dr.id, dr.message, lock);
	return rc;
}

/* Every policy whose drill schedule is due now: one drill each. */
static int run_due(struct restore_cli *o)
{
	char *path = xasprintf("%s/%s", o->cli.state_dir, DRILL_RECORDS_FILE);
	struct error *err = NULL;
	json_t *list = NULL;
	int64_t now = wall_ms() / 1000, next;
	size_t i;
	int rc = 0;

	/* A drill whose process was killed is closed first: failed, its start still counting for the schedule. */
	if (drill_records_settle(o->cli.state_dir, &err) < 0 || drill_records_load(&list, path, &err) < 0) {
		fprintf(stderr, "auriga drill: %s\n", error_msg(err));
		rc = -1;
	}
	for (i = 0; rc == 0 && i < o->set->n_backup_policies; i++) {
		const struct spec_backup_policy *p = o->set->backup_policies[i];

		if (!p->restore.has_drill || p->restore.drill_schedule == NULL)
			continue;
		if (!drill_records_due(list, p->meta.name, &p->restore.drill_cron, now, &next))
			printf("drill %s: not due (next at %lld)\n", p->meta.name, (long long)next);
		else if (drill(o, p) < 0)
			rc = 1;
	}
	json_decref(list);
	error_free(err);
	free(path);
	return rc == 0 ? 0 : -1;
}

int cmd_drill(int argc, char **argv)
{
	const struct spec_backup_policy *p;
	struct restore_cli o;
	struct error *err = NULL;
	int rc = restore_cli_open(&o, "drill", argc, argv, usage);

	if (rc >= 0)
		goto out;
	rc = 2;
	if ((!o.due && o.n < 1) || o.target || o.force) {
		fprintf(stderr, "auriga drill: name the BackupPolicy, or give --due (--target and --force are restore's)\n");
		goto out;
	}
	rc = 1;
	if (restore_cli_load(&o, o.due ? 0 : 1, &err) < 0) {
		fprintf(stderr, "auriga drill: %s\n", error_msg(err));
		goto out;
	}
	if (o.due) {
		rc = run_due(&o) == 0 ? 0 : 1;
		goto out;
	}
	p = spec_set_backup_policy(o.set, o.pos[0]);
	if (p == NULL || !p->restore.has_drill)
		fprintf(stderr, p ? "auriga drill: BackupPolicy '%s' has no spec.drill\n"
				  : "auriga drill: no BackupPolicy named '%s' in the specs\n", o.pos[0]);
	else
		rc = drill(&o, p) == 0 ? 0 : 1;
out:
	error_free(err);
	restore_cli_close(&o);
	return rc;
}
