/* The Git source's worker thread: fetches at start-up, on an interval and on demand, and pushes notes, off the loop. */
#ifndef AURIGA_GITSRC_WORKER_H
#define AURIGA_GITSRC_WORKER_H

#include <stdint.h>

#include "error.h"
#include "source/gitsrc.h"

struct loop;

enum gitsrc_job { GITSRC_JOB_FETCH, GITSRC_JOB_NOTE };

/*
 * What the worker reports after each job. For a fetch: ok with the fetch
 * result, or the error and when the next attempt is due (retry with backoff;
 * the mirror keeps the last good commit). For a note: ok or the error.
 */
struct gitsrc_report {
	enum gitsrc_job job;
	int ok;
	struct gitsrc_fetch_result fetch;
	char note_commit[GITSRC_OID_HEX];
	struct error *err;
	int64_t retry_at_ms;		/* monotonic; 0 when no retry is scheduled */
	unsigned failures;		/* consecutive fetch failures */
	int64_t duration_ms;		/* how long the job took (fetch or note push) */
	int fenced;			/* a note the fence refused: not written, and not a failure */
};

void gitsrc_report_free(struct gitsrc_report *r);

/*
 * Called on the worker thread with a report the callee now owns (free it with
 * gitsrc_report_free). It must not block: copy and hand over, for example
 * with loop_post().
 */
typedef void (*gitsrc_report_fn)(void *arg, struct gitsrc_report *r);

struct gitsrc_worker_config {
	int64_t interval_ms;	/* periodic fetch (default 60 s; <0: none) */
	int64_t retry_min_ms;	/* first retry after a failure (default 1 s) */
	int64_t retry_max_ms;	/* longest retry delay (default 5 min) */
	const char *notes_ref;	/* default refs/notes/auriga */
	int notes_push;		/* push notes to the remote (default off) */
	/*
	 * Another notes ref fetched from the remote after each good fetch, as
	 * it is there (an earlier environment's notes, read by a promotion
	 * gate); NULL: none.
	 */
	const char *watch_ref;
	/* A notes ref merged with the remote's from the first fetch on (gitsrc_worker_pull); NULL: none. */
	const char *pull_ref;
};

struct gitsrc_worker;

/*
 * Starts the worker thread on src (which it does not own; free the worker
 * first). It fetches at once, then every interval. When fn is NULL, reports
 * queue up for gitsrc_worker_poll(); with a loop, use gitsrc_worker_start_loop.
 */
int gitsrc_worker_start(struct gitsrc_worker **out, struct gitsrc *src,
			const struct gitsrc_worker_config *cfg, gitsrc_report_fn fn, void *arg,
			struct error **err);
/* The same, delivering each report on the loop thread through loop_post(). */
int gitsrc_worker_start_loop(struct gitsrc_worker **out, struct gitsrc *src,
			     const struct gitsrc_worker_config *cfg, struct loop *l,
			     gitsrc_report_fn fn, void *arg, struct error **err);
/* Stops the thread (waiting for a fetch in progress to end) and frees everything. */
void gitsrc_worker_stop(struct gitsrc_worker *w);

/* Thread-safe: the notes ref fetched after each good fetch from now on (cfg.watch_ref); NULL: none. */
void gitsrc_worker_watch(struct gitsrc_worker *w, const char *ref);
/*
 * Thread-safe: a notes ref merged with the remote's (notes_pull) after each
 * good fetch from now on, so notes others pushed are read and those written
 * here and not pushed yet stay; NULL: none.
 */
void gitsrc_worker_pull(struct gitsrc_worker *w, const char *ref);
/* Thread-safe: asks for a fetch now (requests coalesce). */
void gitsrc_worker_fetch_now(struct gitsrc_worker *w);
/*
 * Thread-safe: writes text as the note on commit under notes_ref and pushes
 * it when push is 1 (merging with the remote's notes when they moved);
 * notes_ref NULL and push -1 take the worker's settings. A newer note for the
 * same commit and ref replaces one still queued.
 */
void gitsrc_worker_post_note(struct gitsrc_worker *w, const char *commit, const char *text, const char *notes_ref,
			     int push);
/*
 * Thread-safe: the fence asked (on the worker thread) just before each note
 * is written; nonzero refuses it, with why: the note is reported not
 * published and dropped (a controller that does not hold the lease writes
 * no note). NULL: none.
 */
typedef int (*gitsrc_fence_fn)(void *arg, char *why, size_t why_len);
void gitsrc_worker_set_fence(struct gitsrc_worker *w, gitsrc_fence_fn fn, void *arg);
/* Thread-safe: takes the oldest queued report (when no callback was given); 1 when one was taken. */
int gitsrc_worker_poll(struct gitsrc_worker *w, struct gitsrc_report **out);
/* Thread-safe: waits up to timeout_ms for a queued report; 1 when one was taken. */
int gitsrc_worker_wait(struct gitsrc_worker *w, int64_t timeout_ms, struct gitsrc_report **out);

#endif
