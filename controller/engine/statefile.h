/* The state file: what auriga must remember across restarts that labels and notes cannot hold, written atomically. */
#ifndef AURIGA_STATEFILE_H
#define AURIGA_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "kv.h"
#include "model/desired.h"

/*
 * Per deployment: the last revision that was healthy and its template (so a
 * rollback can recreate it even when the specs no longer describe it), the
 * revision being rolled out, and a revision that failed and must not be
 * retried until the commit changes. Everything else is read from labels.
 * The file is JSON, written to a temporary file in the same folder, flushed,
 * then renamed over the old one: a crash leaves the old or the new file,
 * never half of one.
 *
 * The three templates are held by reference (non-NULL exactly when their
 * has_ flag is set) and shared when equal: the healthy revision is most often
 * the one applied, and one copy of it is kept, not two.
 */
struct statefile_entry {
	char *deployment;
	int has_healthy;
	char healthy_rev[SPEC_REVISION_HEX];
	char *healthy_commit;
	int64_t healthy_at;		/* wall ms */
	struct desired_tmpl *healthy_tmpl;
	int has_previous;		/* the healthy revision before that: a manual rollback's target */
	char previous_rev[SPEC_REVISION_HEX];
	struct desired_tmpl *previous_tmpl;
	int has_applied;
	char applied_rev[SPEC_REVISION_HEX];
	struct desired_tmpl *applied_tmpl;
	int aborted;			/* the failure recorded is an abort asked for by hand */
	int paused;			/* held at its current step by hand until resumed */
	/*
	 * What most deployments hold only for a while, or never: a revision that
	 * failed, a rollout's progress, the hooks' records (statefile.c). NULL
	 * while it holds none of them: at 10,000 deployments that is 2.7 MB
	 * not kept.
	 */
	struct statefile_rare *rare;
};

struct statefile {
	char *path;
	char *instance;
	struct statefile_entry *v;	/* sorted by deployment */
	size_t n;
	int dirty;
};

/* The largest state file read, and the largest release records file (engine_traffic). */
#define STATEFILE_MAX_BYTES (64u << 20)

void statefile_init(struct statefile *s, const char *path);
void statefile_release(struct statefile *s);
/* Reads path; a missing file is an empty state. ERR_INVALID with the path on a corrupt file. */
int statefile_load(struct statefile *s, const char *path, struct error **err);
/* Writes atomically (temporary file, fsync, rename, fsync of the folder); clears dirty. */
int statefile_save(struct statefile *s, struct error **err);
/* The entry of a deployment; created (and the state marked dirty) when create. NULL otherwise. */
struct statefile_entry *statefile_get(struct statefile *s, const char *deployment, int create);
void statefile_remove(struct statefile *s, const char *deployment);

/* Records that rev (with tmpl) is healthy; the healthy revision before it becomes the previous one. */
void statefile_set_healthy(struct statefile *s, const char *deployment, const char *rev,
			   const struct desired_tmpl *tmpl, const char *commit, int64_t at);
void statefile_set_applied(struct statefile *s, const char *deployment, const char *rev,
			   const struct desired_tmpl *tmpl);
void statefile_set_failed(struct statefile *s, const char *deployment, const char *rev, const char *commit,
			  const char *reason, int64_t at);
/* Marks the failure recorded last an abort by hand (statefile_set_failed clears the mark). */
void statefile_set_aborted(struct statefile *s, const char *deployment);
/* Holds the deployment at its step (1) or lets it go on (0); kept until changed, across commits. */
void statefile_set_paused(struct statefile *s, const char *deployment, int paused);
/*
 * 1 when rev of deployment failed at this commit and must not be tried again
 * (a new commit gives it another chance).
 */
int statefile_is_failed(const struct statefile *s, const char *deployment, const char *rev, const char *commit);
/*
 * Records that the rollout of rev made progress at wall ms at (started, or
 * one more replica updated or available). A new rev replaces the old one;
 * rev "" (at 0) forgets it, once the rollout is complete.
 */
void statefile_set_progress(struct statefile *s, const char *deployment, const char *rev, int64_t at);
/* When the rollout of rev last made progress (wall ms), or 0 when the state does not know. */
int64_t statefile_progress(const struct statefile *s, const char *deployment, const char *rev);
/* 1 when hook key ("STAGE/JOB") completed for rev of deployment. */
int statefile_hook_done(const struct statefile *s, const char *deployment, const char *rev, const char *key);
/* Records that hook key completed for rev (records of another revision go). */
void statefile_set_hook_done(struct statefile *s, const char *deployment, const char *rev, const char *key);
/* Records that hook key ran for rev and failed, with why: it counts as done (not run again). */
void statefile_set_hook_failed(struct statefile *s, const char *deployment, const char *rev, const char *key,
			       const char *why);
/* Why hook key failed for rev, when statefile_set_hook_failed recorded it; else NULL. */
const char *statefile_hook_failed(const struct statefile *s, const char *deployment, const char *rev,
				  const char *key);
/* Why the revision recorded as failed failed, or NULL when none is. */
const char *statefile_failed_reason(const struct statefile_entry *e);
/* The template the state knows for rev (healthy or applied), or NULL. */
const struct desired_tmpl *statefile_tmpl(const struct statefile *s, const char *deployment, const char *rev);

/* The text statefile_save writes: a malloc'd JSON document, or NULL past STATEFILE_MAX_BYTES. */
char *statefile_dump(const struct statefile *s);

#endif
