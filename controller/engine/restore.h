/* Restores of a BackupPolicy's dumps on Docker, waited for: into a named database, or a drill's isolated one. */
#ifndef AURIGA_RESTORE_H
#define AURIGA_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kv.h"

struct docker;
struct spec_backup_policy;
struct spec_job;

/* On everything a restore or a drill makes: the instance's name; a drill's things also carry its id. */
#define RESTORE_OF_LABEL "auriga.io/restore-of"
#define DRILL_LABEL "auriga.io/drill"

struct restore_request {
	const struct spec_backup_policy *policy;
	const char *instance;
	const struct kv *labels;	/* extra labels on every container and network */
	size_t n_labels;
	const char *file;		/* the dump on the policy's target (AURIGA_BACKUP_FILE) */
	const char *sha256;		/* its checksum as recorded and verified (AURIGA_BACKUP_SHA256) */
	const char *drill;		/* a drill's id (its label's value), or NULL */
};

/* Where the database is: its container's address on a network (AURIGA_RESTORE_HOST). */
struct restore_target {
	char *id;
	char *name;
	char *network;		/* the network the Jobs join; NULL: the daemon's default */
	char *host;		/* the container's name on a network of its own, else its address */
	int running;
	char *deployment;	/* auriga.io/deployment when instance's, else NULL */
};

void restore_target_release(struct restore_target *t);

/*
 * Finds the container named name: 1 with *t filled, 0 when there is none,
 * <0 with *err when Docker cannot say.
 */
int restore_target_find(struct docker *d, const char *instance, const char *name, struct restore_target *t,
			struct error **err);

/*
 * Starts the policy's spec.restore.database as container name on network
 * (NULL: the daemon's default), labelled as rq's; *t describes it.
 */
int restore_database_start(struct docker *d, const struct restore_request *rq, const char *name, const char *network,
			   struct restore_target *t, struct error **err);

/*
 * Runs job (the restore Job, or a drill's verify Job) against t with the
 * policy's target mounted read-only at /backup, waiting for its end: *ok
 * when it exited 0, and *message (the caller frees it) its exit code and
 * last lines, or why it could not run (the runner's words).
 */
void restore_job_run(struct docker *d, const struct restore_request *rq, const struct spec_job *job, const char *stage,
		     const struct restore_target *t, int *ok, char **message);

/* Creates the drill's own network, labelled as rq's (with its drill id): 0 or <0 with *err. */
int restore_network_create(struct docker *d, const struct restore_request *rq, const char *name, struct error **err);

/*
 * Removes every container and network labelled with the drill's id, then
 * lists again: 0 when none is left, <0 with *err naming what stayed.
 */
int restore_drill_cleanup(struct docker *d, const char *drill, struct error **err);

#endif
