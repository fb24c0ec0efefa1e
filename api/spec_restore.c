/* A BackupPolicy's spec.restore and spec.drill: decoded from the schema-checked tree and checked with positions. */
#include "spec_restore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "spec_backup.h"
#include "spec_internal.h"
#include "strv.h"
#include "util.h"

void spec_restore_decode(struct spec_backup_restore *r, const struct ynode *spec)
{
	const struct ynode *rs = ynode_get(spec, "restore"), *dr = ynode_get(spec, "drill");
	const struct ynode *db = ynode_get(rs, "database"), *v = ynode_get(dr, "verify");
	const char *s;

	memset(r, 0, sizeof(*r));
	s = ynode_str(ynode_get(rs, "job"));
	r->job = s ? xstrdup(s) : NULL;
	if (db) {
		spec_decode_container(&r->database, db);
		r->has_database = 1;
	}
	r->has_drill = dr != NULL;
	s = ynode_str(ynode_get(dr, "schedule"));
	r->drill_schedule = s ? xstrdup(s) : NULL;
	if (v && v->type == YNODE_SEQ) {
		size_t i;

		r->verify = xcalloc(v->n + 1, sizeof(*r->verify));
		for (i = 0; i < v->n; i++)
			if (ynode_str(v->kids[i]))
				r->verify[r->n_verify++] = xstrdup(ynode_str(v->kids[i]));
	}
}

void spec_restore_release(struct spec_backup_restore *r)
{
	if (r->has_database)
		spec_container_release(&r->database);
	FREE_ALL(r->job, r->drill_schedule);
	strv_free(r->verify);
	memset(r, 0, sizeof(*r));
}

/*
 * A Job the policy runs against a restored database: one of the specs, with
 * no volumes (it gets the dump's target at /backup and the database's
 * network, nothing of a deployment's).
 */
static void check_job(const struct spec_set *set, const struct spec_backup_policy *b, const char *name,
		      const char *path, struct spec_diags *d)
{
	const struct spec_job *job = spec_set_job(set, name);

	if (job == NULL)
		spec_obj_err(d, SPEC_BACKUP_POLICY, &b->meta, path, "names no Job \"%s\" in the specs", name);
	else if (job->tmpl.n_volumes)
		spec_obj_err(d, SPEC_BACKUP_POLICY, &b->meta, path,
			     "Job \"%s\" mounts volumes: a restore or drill Job gets the dump at /backup and the "
			     "database's network, no volume of a deployment", name);
}

void spec_restore_check(struct spec_set *set, struct spec_backup_policy *b, struct spec_diags *d)
{
	struct spec_backup_restore *r = &b->restore;
	char msg[256], path[64];
	size_t i;

	if (r->job)
		check_job(set, b, r->job, "spec.restore.job", d);
	if (r->has_database)
		(void)spec_policy_check_restore_db(set->policy, set, &b->meta, &r->database, d);
	if (!r->has_drill)
		return;
	if (r->job == NULL || !r->has_database)
		spec_obj_err(d, SPEC_BACKUP_POLICY, &b->meta, "spec.drill",
			     "a drill restores into a fresh database: it needs spec.restore.job and spec.restore.database");
	if (r->drill_schedule && cron_parse(&r->drill_cron, r->drill_schedule, msg, sizeof(msg)) < 0)
		spec_obj_err(d, SPEC_BACKUP_POLICY, &b->meta, "spec.drill.schedule", "\"%s\" does not parse: %s",
			     r->drill_schedule, msg);
	for (i = 0; i < r->n_verify; i++) {
		snprintf(path, sizeof(path), "spec.drill.verify[%zu]", i);
		check_job(set, b, r->verify[i], path, d);
	}
}
