/* `auriga restore BACKUP --target NAME`: a kept dump, its checksum checked first, loaded into a database by the policy's restore Job. */
#include "cmd/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/restore_cli.h"
#include "engine/restore.h"
#include "spec_backup.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: auriga restore [options] BACKUP --target NAME [PATH]\n\n"
		"Restores BACKUP (a file `auriga backup list` shows, kept and recorded ok) into the database\n"
		"container NAME with the Job its BackupPolicy names in spec.restore.job (from the specs: PATH,\n"
		"a folder or file, or --repo). The dump is read back from its target first and its size and\n"
		"SHA-256 compared with the record: a mismatch is refused and nothing is touched. The Job runs\n"
		"on NAME's network with the target mounted read-only at /backup, AURIGA_BACKUP_FILE naming the\n"
		"dump and AURIGA_RESTORE_HOST the database. A container NAME that does not exist is started from\n"
		"the policy's spec.restore.database first (the Job waits for it to answer). A running container\n"
		"of a deployment of the fleet is a production database: refused unless --force.\n"
		"Exit 0 when the Job restored it, 1 when not, 2 for a usage error.\n");
}

/* The kept backup named file (the newest of that name), or NULL. */
static const struct backup_record *find_record(const struct backup_records *r, const char *file)
{
	const struct backup_record *rec = NULL;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].status == BACKUP_OK && strcmp(r->v[i].file, file) == 0)
			rec = &r->v[i];
	return rec;
}

/*
 * Where the dump goes: the container named, unless it is a running database
 * of the fleet and --force was not given; a new one from the policy's
 * database template when there is none. 0 with *t, or <0 with *err.
 */
static int pick_target(struct restore_cli *o, const struct spec_backup_policy *p, const struct restore_request *rq,
		       struct restore_target *t, struct error **err)
{
	int found = restore_target_find(o->d, o->cli.instance, o->target, t, err);

	if (found < 0)
		return -1;
	if (found == 0) {
		if (!p->restore.has_database)
			return error_set(err, ERR_INVALID, "there is no container '%s', and BackupPolicy '%s' has no "
					 "spec.restore.database to start one", o->target, p->meta.name);
		return restore_database_start(o->d, rq, o->target, p->job.network, t, err);
	}
	if (!t->running)
		return error_set(err, ERR_INVALID, "container '%s' is not running: there is no database to restore into",
				 o->target);
	if (t->deployment && spec_set_deployment(o->set, t->deployment) && !o->force)
		return error_set(err, ERR_REFUSED, "container '%s' is a running production database (deployment '%s' "
				 "of the fleet): nothing was restored; give --force to overwrite it, or restore into "
				 "another target", o->target, t->deployment);
	return 0;
}

static int restore(struct restore_cli *o, struct error **err)
{
	const struct backup_record *rec = find_record(&o->recs, o->pos[0]);
	const struct spec_backup_policy *p;
	struct restore_request rq;
	struct restore_target t;
	char *message = NULL;
	int64_t start = now_ms();
	int ok = 0, rc = -1;

	memset(&t, 0, sizeof(t));
	if (rec == NULL) {
		error_set(err, ERR_INVALID, "no kept backup '%s' is recorded in %s", o->pos[0], o->records_path);
		goto out;
	}
	p = spec_set_backup_policy(o->set, rec->policy);
	if (p == NULL) {
		error_set(err, ERR_INVALID, "backup '%s' is of BackupPolicy '%s', which is not in the specs", rec->file,
			  rec->policy);
		goto out;
	}
	if (p->restore.job == NULL) {
		error_set(err, ERR_INVALID, "BackupPolicy '%s' names no spec.restore.job: it has no way to restore",
			  rec->policy);
		goto out;
	}
	restore_cli_request(o, p, rec, &rq);
	/* The checksum first: a dump that is not the one taken is refused before any target is looked at. */
	if (restore_cli_checksum(o, p, rec, err) < 0 || pick_target(o, p, &rq, &t, err) < 0)
		goto out;
	restore_job_run(o->d, &rq, spec_set_job(o->set, p->restore.job), "restore", &t, &ok, &message);
	if (!ok) {
		error_set(err, ERR_GENERIC, "the restore Job '%s' failed: %s", p->restore.job, message);
		goto out;
	}
	printf("restored %s (sha256 %s, %llu bytes) into %s with Job '%s' in %.1f s\n", rec->file, rec->sha256,
	       (unsigned long long)rec->size, o->target, p->restore.job, (double)(now_ms() - start) / 1000.0);
	rc = 0;
out:
	restore_target_release(&t);
	free(message);
	return rc;
}

int cmd_restore(int argc, char **argv)
{
	struct restore_cli o;
	struct error *err = NULL;
	int rc = restore_cli_open(&o, "restore", argc, argv, usage);

	if (rc >= 0)
		goto out;
	rc = 2;
	if (o.n < 1 || o.target == NULL || o.due) {
		fprintf(stderr, "auriga restore: name the BACKUP and its --target (--due is drill's)\n");
		goto out;
	}
	rc = 1;
	if (restore_cli_load(&o, 1, &err) == 0 && restore(&o, &err) == 0)
		rc = 0;
	if (err)
		fprintf(stderr, "auriga restore: %s\n", error_msg(err));
out:
	error_free(err);
	restore_cli_close(&o);
	return rc;
}
