/* The status notes the daemon wrote lately, newest first, kept in memory for GET /api/v1/notes. */
#ifndef AURIGA_NOTES_RECENT_H
#define AURIGA_NOTES_RECENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct json_t;

/* How many commits are remembered (the newest note of each). */
#define NOTES_RECENT_MAX 50

struct notes_recent_entry {
	char *commit;
	char *text;		/* the note as written */
	int64_t written_at;	/* wall ms */
};

/*
 * Written on the daemon's loop and read by the HTTP threads: every call
 * takes the lock itself. v[0] is the newest; one entry per commit.
 */
struct notes_recent {
	pthread_mutex_t lock;
	struct notes_recent_entry v[NOTES_RECENT_MAX];
	size_t n;
};

void notes_recent_init(struct notes_recent *r);
void notes_recent_release(struct notes_recent *r);
/*
 * Records text as the note written on commit at wall time at_ms. It goes
 * first; an older note on the same commit is dropped, and so is the oldest
 * commit when NOTES_RECENT_MAX are held.
 */
void notes_recent_add(struct notes_recent *r, const char *commit, const char *text, int64_t at_ms);
/*
 * The newest limit notes (all when fewer), as a JSON array (a new reference)
 * of {"commit", "summary" (the note's first line), "note", "writtenAt"}.
 */
struct json_t *notes_recent_json(struct notes_recent *r, size_t limit);

#endif
