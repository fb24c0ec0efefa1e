/* Status notes on the specs repo's commits: write, read, merge with the remote's and push, debounced. */
#ifndef AURIGA_NOTES_H
#define AURIGA_NOTES_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "status/status.h"

struct git_repository;
struct gitsrc;

#define NOTES_DEFAULT_REF "refs/notes/auriga"

/* Writes text as the note on commit_hex under notes_ref (replacing an older one). */
int notes_write(struct git_repository *repo, const char *notes_ref, const char *commit_hex,
		const char *text, struct error **err);
/* The largest note read: a status note of 10,000 deployments is a few megabytes at most. */
#define NOTES_MAX_BYTES (8u << 20)
/*
 * Reads the note on commit_hex: 0 with *text (malloc'd), ERR_NOTFOUND when
 * none, ERR_TOOBIG when it is larger than NOTES_MAX_BYTES (a note anyone who
 * can push the notes ref wrote is not parsed whatever its size).
 */
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

/*
 * Fetches the remote's notes_ref and merges it into ours (notes_merge), so
 * the notes others wrote are seen; 0 (also when the remote has none), or an
 * error. Takes the source's lock itself.
 */
int notes_pull(struct gitsrc *src, const char *notes_ref, struct error **err);

/* The most commits one new head passes over that get a Superseded note. */
#define NOTES_PASSED_MAX 20

/*
 * The commits a new head passed over: from head's first parent back, those
 * met before a commit that has a note under notes_ref or is one of stops
 * (what was applied, refused or fetched before), newest first, at most max
 * into out. Returns how many; 0 when head's parent is such a commit, and also
 * when none comes within max first parents or the history ends first
 * (nothing is known of those commits, so nothing is said of them).
 */
int notes_passed_over(struct git_repository *repo, const char *notes_ref, const char *head_hex,
		      const char *const *stops, size_t nstops, char (*out)[41], size_t max, struct error **err);

/* Hands over one rendered note (notes_supersede's caller writes or queues it). */
typedef void (*notes_emit_fn)(void *arg, const char *commit, const char *text);

/*
 * The Superseded note of each commit head passed over (notes_passed_over, at
 * most NOTES_PASSED_MAX), naming head, with source as its source section
 * (may be NULL), handed to emit. Takes the source's lock for the walk.
 * Returns how many, or an error.
 */
int notes_supersede(struct gitsrc *src, const char *notes_ref, const char *head_hex, const char *const *stops,
		    size_t nstops, const struct status_source *source, notes_emit_fn emit, void *arg,
		    struct error **err);

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
