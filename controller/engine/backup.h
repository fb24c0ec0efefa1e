/* One backup of a BackupPolicy on Docker: the Job run with its target at /backup, the dump read back and hashed by auriga. */
#ifndef AURIGA_BACKUP_H
#define AURIGA_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kv.h"

struct docker;
struct spec_backup_policy;

/* The labels of what a backup makes: its instance's and its policy's. */
#define BACKUP_OF_LABEL "auriga.io/backup-of"
#define BACKUP_POLICY_LABEL "auriga.io/backup-policy"

struct backup_request {
	const struct spec_backup_policy *policy;
	const char *instance;		/* the backup-of label, and the volume's owner */
	const struct kv *labels;	/* extra labels on every container and volume */
	size_t n_labels;
	const char *file;		/* AURIGA_BACKUP_FILE: a plain name, no '/' */
	const char *commit;		/* AURIGA_COMMIT, "" when none */
	size_t max_bytes;		/* the largest dump read back */
	const char *network;		/* the Job's network as Docker names it (backup_network), or NULL */
};

/* What one backup did; strings owned by it (backup_result_release). */
struct backup_result {
	int ok;			/* the Job exited 0 and its file was read back */
	char *message;		/* why not, or "" */
	char *target;		/* "volume NAME" or "hostPath PATH" */
	uint64_t size;
	char sha256[65];	/* lowercase hex, computed by auriga over the file's bytes */
	int64_t duration_ms;
};

void backup_result_release(struct backup_result *r);

struct spec_set;
struct backup_record;

/* The dump's name: the policy's and the time it starts (ms), to the millisecond, in UTC. The caller frees it. */
char *backup_file_name(const char *policy, int64_t ms);

/*
 * The record of one backup of policy on file, started at time_ms, as res
 * says it went (ok, or failed with its message); its strings are borrowed.
 */
void backup_record_from(struct backup_record *rec, const char *policy, const char *file, const char *commit,
			int64_t time_ms, const struct backup_result *res);

/*
 * The Docker name of the network the policy's Job joins (malloc'd, NULL when
 * it names none): a network a Deployment of set names is auriga's, under the
 * name prefix (as desired_network_name names it); any other (Docker's own,
 * or one the operator's policy lists) keeps its name.
 */
char *backup_network(const struct spec_set *set, const struct spec_backup_policy *p, const char *prefix);

/*
 * The name of the Docker volume a policy's target volume is: one auriga owns
 * (labels auriga.io/managed-by=instance, auriga.io/deployment=backup:VOLUME),
 * made when missing. The caller frees it.
 */
char *backup_volume_name(const char *instance, const char *volume);

/*
 * Runs one backup to its end on the loop of d, waiting for it (for one-shot
 * commands): the target made ready (the volume ensured as auriga's), the
 * Job's container created with the target at /backup, started, waited for
 * within activeDeadlineSeconds; on exit 0 its file is read back through
 * Docker's archive API and its size and SHA-256 computed; the container is
 * removed in every case. Returns 0 with *out filled (ok or not), or <0 with
 * *err when it could not be attempted at all.
 */
int backup_take(struct docker *d, const struct backup_request *rq, struct backup_result *out, struct error **err);

/*
 * Removes files (plain names) from the policy's target with a short-lived
 * container of the Job's image (`rm -f`), then checks each is gone. Returns
 * 0, or <0 with *err naming the first file that could not be removed.
 */
int backup_remove_files(struct docker *d, const struct backup_request *rq, const char *const *files, size_t n,
			struct error **err);

/*
 * Reads rq->file back from the policy's target (through a container of the
 * Job's image that is created, never started, and removed) and fills *out:
 * ok with its size and SHA-256, or not with why (not there, too large).
 * <0 with *err when the target cannot be reached at all.
 */
int backup_read_file(struct docker *d, const struct backup_request *rq, struct backup_result *out, struct error **err);

/* The first regular file of a tar stream hashed: ok, size and sha256 of *out set; or <0 with *err. */
int backup_digest(const char *tar, size_t len, struct backup_result *out, struct error **err);

/* The first regular file of a tar stream as Docker's archive API writes it: 0 with its bytes, or <0 with *err. */
int backup_tar_file(const char *tar, size_t len, const char **data, uint64_t *size, struct error **err);

#endif
