/* What `auriga run` says of the commits it takes up beside the fleet: the source section, refused heads, commits passed over. */
#ifndef AURIGA_RUN_NOTES_H
#define AURIGA_RUN_NOTES_H

#include "error.h"
#include "source/gitsrc_worker.h"
#include "status/status.h"

struct gitsrc;
struct gitsrc_worker;
struct notes_recent;

/*
 * Every commit the daemon takes up gets a note: the engine's status on the
 * one it applies, and these on the others, Refused (its specs, the policy or
 * its signature) or Superseded (a newer head came before it was applied).
 * Notes go through the worker, to the notes ref of the commit applied (its
 * Cluster's, or the setting when NULL).
 */
struct run_notes {
	struct gitsrc *src;		/* borrowed */
	struct gitsrc_worker *worker;	/* borrowed */
	struct notes_recent *recent;	/* borrowed: every note posted, for /api/v1/notes */
	const char *notes_ref;		/* borrowed: the notes-ref setting */
	struct status_source source;	/* what Git says: the head seen, the commit applied, fetches */
	char *refused;			/* the last commit refused (noted once, not read again) */
	char *head_refusal;		/* the source's refusal of the head, logged once */
	gitsrc_fence_fn fence;		/* with the lease: 0 while this controller may write notes */
	void *fence_arg;
};

void run_notes_init(struct run_notes *rn, struct gitsrc *src, struct gitsrc_worker *worker,
		    struct notes_recent *recent, const char *notes_ref);
void run_notes_release(struct run_notes *rn);
/* With the lease: notes are posted only while fn says 0 (a follower writes none, and counts no failure). */
void run_notes_set_fence(struct run_notes *rn, gitsrc_fence_fn fn, void *arg);

/* Hands the note on commit to the worker (to ref, pushed or not) and keeps it among the notes posted lately. */
void run_notes_post(struct run_notes *rn, const char *commit, const char *text, const char *ref, int push);
/* A good fetch of head: recorded in the source section. 1 when it ends a refusal of the head. */
int run_notes_fetched(struct run_notes *rn, const char *head);
/*
 * A failed fetch: recorded in the source section. For a head the source
 * refuses (ERR_REFUSED: its signature, a non-fast-forward move), 1 the first
 * time this refusal is seen (the caller logs and counts it once), and the
 * head (commit, when known) is noted Refused unless it has a note already.
 */
int run_notes_fetch_failed(struct run_notes *rn, const char *commit, const struct error *e, const char *ref,
			   int push);
/* 1 when head was refused already (its note written): it is not read again. */
int run_notes_is_refused(const struct run_notes *rn, const char *head);
/* The commit whose specs the engine now runs, for the source section ("" for none). */
void run_notes_applied(struct run_notes *rn, const char *commit);
/* Notes commit Refused with every problem (one a line) and remembers it. */
void run_notes_refused(struct run_notes *rn, const char *commit, const char *problems, const char *ref, int push);
/* Notes commit Waiting for what why says (an environment's promotion gate). */
void run_notes_waiting(struct run_notes *rn, const char *commit, const char *why, const char *ref, int push);
/* Notes commit Superseded by newer. */
void run_notes_superseded(struct run_notes *rn, const char *commit, const char *newer, const char *ref, int push);
/*
 * A new head taken up: the commits it passed over since what was applied,
 * refused or fetched before (previous, may be "") are noted Superseded.
 */
void run_notes_passed_over(struct run_notes *rn, const char *head, const char *previous, const char *applied,
			   const char *ref, int push);

#endif
