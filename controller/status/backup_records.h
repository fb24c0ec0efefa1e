/* The record of every backup taken: a JSON file in the state folder, written atomically, and retention applied to it. */
#ifndef AURIGA_BACKUP_RECORDS_H
#define AURIGA_BACKUP_RECORDS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cron.h"
#include "error.h"
#include "retention.h"

#define BACKUP_RECORDS_FILE "backups.json"
/* The largest records file read: about 40,000 records. */
#define BACKUP_RECORDS_MAX (16u << 20)

/* RUNNING: its start is recorded before the Job is made, so that a process killed in the middle leaves a trace. */
enum backup_status { BACKUP_OK, BACKUP_FAILED, BACKUP_PRUNED, BACKUP_RUNNING };

struct backup_record {
	char *policy;
	char *file;		/* the dump's name on the target */
	char *target;		/* "volume NAME" or "hostPath PATH" */
	char *commit;		/* of the specs the policy came from, "" when none */
	char *sha256;		/* computed by auriga; "" when the backup failed */
	char *message;		/* why it failed, "" otherwise */
	int64_t time_ms;	/* when it started, UTC */
	int64_t duration_ms;
	uint64_t size;
	enum backup_status status;
	int64_t pruned_ms;	/* when retention removed its file; 0 while kept */
};

struct backup_records {
	struct backup_record *v;
	size_t n, cap;
};

const char *backup_status_name(enum backup_status s);

/* Reads path; a missing file is an empty list. A file that is not ours is an error naming it. */
/*
 * The list under key ("backups", "drills") of the records file at path (at most max bytes), a new
 * reference: an empty list when there is no file yet.
 */
int records_file_list(const char *path, const char *key, size_t max, json_t **out, struct error **err);
int backup_records_load(struct backup_records *r, const char *path, struct error **err);
/* Replaces path with the list (a temporary file renamed over it, flushed). */
int backup_records_save(const struct backup_records *r, const char *path, struct error **err);
void backup_records_release(struct backup_records *r);
/* Appends a copy of rec. */
void backup_records_add(struct backup_records *r, const struct backup_record *rec);
/* Replaces the record of rec's policy and file with a copy of rec (appended when there is none). */
void backup_records_put(struct backup_records *r, const struct backup_record *rec);

/*
 * Reads path, lets fn change the list, and replaces the file when fn returns
 * 1, all under the lock PATH.lock (records_lock.h), so that the processes
 * writing it (backup run, the daemon, its schedules) lose no one's record.
 * fn returns 0 (nothing to write), 1, or <0 with *err. Returns fn's verdict.
 */
int backup_records_update(const char *path, int (*fn)(struct backup_records *r, void *arg, struct error **err),
			  void *arg, struct error **err);
/* Appends rec (or replaces the one of its policy and file) under the lock: 0 or <0 with *err. */
int backup_records_record(const char *path, const struct backup_record *rec, struct error **err);
/*
 * Each record of STATE_DIR/backups.json still "running" whose run lock
 * (records_run_lock_path "backup") nobody holds: its process ended without
 * writing a result (killed), so it is recorded failed, "interrupted". Returns
 * 1 when some were, 0 when none, <0 with *err.
 */
int backup_records_settle(const char *state_dir, struct error **err);

/*
 * Applies retention (retention.h) to the policy's good backups that are still
 * kept: the index of each one to prune goes to out (the caller frees it).
 * Failed and already pruned backups are never counted. Returns how many.
 */
size_t backup_records_to_prune(const struct backup_records *r, const char *policy, const struct retention_policy *p,
			       size_t **out);

/*
 * Marks files (names on the target) of policy's kept backups as pruned now,
 * under the lock (backup_records_update): 0 or <0 with *err.
 */
int backup_records_mark_pruned(const char *path, const char *policy, const char *const *files, size_t n,
			       struct error **err);

/* One record as JSON, as the file and `auriga backup list --json` write it. */
json_t *backup_record_json(const struct backup_record *rec);
/* The newest good backup of policy (any backup, ok or not, when good_only is 0), or NULL. */
const struct backup_record *backup_records_newest(const struct backup_records *r, const char *policy, int good_only);

/*
 * Whether policy's schedule is due at now_s (UTC seconds): the first time the
 * schedule names after the start of its newest backup (failed ones count: a
 * failure waits for the next slot) has come; a policy never backed up is due.
 * *next_s: that time, or -1 when the schedule names none.
 */
int backup_records_due(const struct backup_records *r, const char *policy, const struct cron *c, int64_t now_s,
		       int64_t *next_s);

struct metric;

/* What backups.json was when last read: the daemon reads it again only once it has changed. */
struct backup_seen {
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns;
	int valid;
};

/*
 * For the daemon, each pass: when STATE_DIR/backups.json is not the file
 * *seen says was read last, reads it and sets gauge {policy} to the start
 * (unix seconds) of each policy's newest good backup. An unchanged or
 * missing file costs one stat. A file that cannot be read leaves the gauge
 * as it was; 0 or <0 with *err (once per change of the file).
 */
int backup_records_publish(const char *state_dir, struct backup_seen *seen, struct metric *gauge,
			   struct error **err);
/* STATE_DIR/backups.json as a JSON array of records, or NULL with *why (the caller frees it). */
json_t *backup_records_json_at(const char *state_dir, char **why);

#endif
