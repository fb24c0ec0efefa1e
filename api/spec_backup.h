/* The BackupPolicy kind: what dumps a database, where the dumps land, when, and how many are kept. */
#ifndef AURIGA_SPEC_BACKUP_H
#define AURIGA_SPEC_BACKUP_H

#include "cron.h"
#include "retention.h"
#include "spec.h"
#include "spec_restore.h"

/*
 * A backup is one run of the Job: a container of job.image running
 * job.command with /backup mounted from the target and AURIGA_BACKUP_FILE
 * (and AURIGA_BACKUP_POLICY) in its environment; it writes its dump to
 * /backup/$AURIGA_BACKUP_FILE and exits 0. auriga then reads the file back
 * and records its size and SHA-256 itself.
 */
struct spec_backup_policy {
	struct spec_meta meta;
	struct spec_container job;	/* image, command, env, user, network */
	int active_deadline_seconds;	/* default 3600 */
	char *target_volume;		/* exactly one of the two */
	char *target_host_path;
	char *schedule;			/* NULL: run by hand only */
	struct cron cron;		/* parsed schedule, when there is one */
	char **before;			/* deployments whose every new revision is preceded by a backup */
	size_t n_before;
	struct retention_policy retention;	/* defaults 24/7/4/12 */
	struct spec_backup_restore restore;	/* spec.restore and spec.drill (spec_restore.h) */
};

#define SPEC_BACKUP_DEADLINE_DEFAULT 3600

/* SHA-256 over what a daemon carries out of the policy (spec_set_to_json's form), as SPEC_REVISION_HEX. */
void spec_backup_policy_hash(const struct spec_backup_policy *bp, char out_hex[SPEC_REVISION_HEX]);

/*
 * The policies whose spec.before names deployment, in the set's order: how
 * many, and the array of them in *out (borrowed policies; the caller frees
 * the array, NULL when none).
 */
size_t spec_backup_before(const struct spec_set *set, const char *deployment,
			  const struct spec_backup_policy ***out);

#endif
