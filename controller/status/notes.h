/* Status notes on the specs repo's commits: write, read, merge with the remote's and push, debounced. */
#ifndef AURIGA_NOTES_H
#define AURIGA_NOTES_H

#include <stdint.h>

#include "error.h"
#include "status/status.h"

struct git_repository;
struct gitsrc;

#define NOTES_DEFAULT_REF "refs/notes/auriga"

/* Writes text as the note on commit_hex under notes_ref (replacing an older one). */
int notes_write(struct git_repository *repo, const char *notes_ref, const char *commit_hex,
		const char *text, struct error **err);
/* Reads the note on commit_hex: 0 with *text (malloc'd), ERR_NOTFOUND when none. */
int notes_read(struct git_repository *repo, const char *notes_ref, const char *commit_hex,
	       char **text, struct error **err);

/*
 * Merges the notes commit `theirs_ref` into `ours_ref`, three-way against the
 * notes both started from: notes on commits only one side has are kept; where
 * only theirs changed a note since, theirs is taken; where both changed it,
 * ours (the controller's own record) stays. The observedAt a note claims
 * decides nothing, and a note claiming a time more than 5 minutes ahead of
 * our clock is never taken (it is logged). ours_ref ends up at a commit
 * descending from both. Returns the number of notes taken, or an error.
 */
int notes_merge(struct git_repository *repo, const char *ours_ref, const char *theirs_ref,
		struct error **err);

/*
 * Writes the note on commit_hex (unless the note there says the same: the
 * time a note there claims holds nothing back) and pushes notes_ref to the source's remote:
 * when the push is refused because the remote moved, fetches the remote's
 * notes, merges, and tries again (bounded). Takes the source's lock itself.
 */
int notes_publish(struct gitsrc *src, const char *notes_ref, const char *commit_hex,
		  const char *text, int push, struct error **err);

/* Walks first parents from start_hex and returns the first commit with a note (ERR_NOTFOUND). */
int notes_find_latest(struct git_repository *repo, const char *notes_ref, const char *start_hex,
		      unsigned max_walk, char out_commit[41], char **text, struct error **err);

/*
 * The debouncer: decides when a new status is worth a note. A status whose
 * overall phase (or commit, or any deployment's phase) changed is written at
 * once; other changes at most every interval_ms. Pure: the caller writes.
 */
struct notes_debounce {
	int64_t interval_ms;
	int64_t last_write_ms;	/* monotonic */
	char *last_key;		/* commit + phases of the last written status */
	char *pending;		/* a rendered note waiting for its turn */
	char *pending_commit;
};

void notes_debounce_init(struct notes_debounce *d, int64_t interval_ms);
void notes_debounce_release(struct notes_debounce *d);
/*
 * Offers a status at time now_ms. Returns 1 with *text and *commit (malloc'd)
 * when a note should be written now, 0 when it is kept pending, <0 on error.
 */
int notes_debounce_offer(struct notes_debounce *d, const struct fleet_status *s, int64_t now_ms,
			 char **commit, char **text, struct error **err);
/* Returns 1 with the pending note when its time has come (call it from a timer). */
int notes_debounce_tick(struct notes_debounce *d, int64_t now_ms, char **commit, char **text);
/* Milliseconds until the pending note is due, or -1 when none is pending. */
int64_t notes_debounce_due_in(const struct notes_debounce *d, int64_t now_ms);

#endif
