/* A BackupPolicy's spec.restore (the Job that loads a dump, the database a fresh target is) and spec.drill. */
#ifndef AURIGA_SPEC_RESTORE_H
#define AURIGA_SPEC_RESTORE_H

#include <stddef.h>

#include "cron.h"
#include "spec.h"

struct ynode;
struct spec_diags;
struct spec_backup_policy;

/*
 * The restore Job (a Job of the specs) runs with the dump's target mounted
 * read-only at /backup, AURIGA_BACKUP_FILE naming the dump and
 * AURIGA_RESTORE_HOST the database's container, on that container's
 * network. A drill starts `database` on a network of its own, restores into
 * it, then runs each verify Job there (same environment): their exit codes
 * decide the drill.
 */
struct spec_backup_restore {
	char *job;			/* spec.restore.job; NULL: the policy restores nothing */
	struct spec_container database;	/* spec.restore.database (image, command, env, user) */
	int has_database;
	int has_drill;			/* spec.drill was written */
	char *drill_schedule;		/* NULL: drills by hand only */
	struct cron drill_cron;
	char **verify;			/* spec.drill.verify: Job names, in order */
	size_t n_verify;
};

void spec_restore_decode(struct spec_backup_restore *r, const struct ynode *spec);
void spec_restore_release(struct spec_backup_restore *r);
/* Checks b's spec.restore and spec.drill against set: each refusal a diag at its field. */
void spec_restore_check(struct spec_set *set, struct spec_backup_policy *b, struct spec_diags *d);

#endif
