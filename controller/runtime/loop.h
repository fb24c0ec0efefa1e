/* The controller's one event loop: fd watches, monotonic timers, deferred calls and a cross-thread wakeup. */
#ifndef AURIGA_LOOP_H
#define AURIGA_LOOP_H

#include <stdint.h>

#include "error.h"

/*
 * One loop per process, run by one thread. Everything registered on it is
 * called from that thread, and no callback may block: slow work (a libgit2
 * fetch, the HTTP server) runs on its own thread and hands results back with
 * loop_post(), the only function here that is safe to call from another
 * thread.
 *
 * Callbacks may add and remove watches, timers and deferred calls freely,
 * including the one being run.
 */
struct loop;

enum loop_events {
	LOOP_READ = 1u << 0,
	LOOP_WRITE = 1u << 1,
	LOOP_ERROR = 1u << 2,	/* reported only, never requested: EPOLLERR or EPOLLHUP */
};

typedef void (*loop_fd_fn)(struct loop *l, int fd, unsigned events, void *arg);
typedef void (*loop_fn)(struct loop *l, void *arg);

struct loop *loop_new(struct error **err);
/* Closes the loop's own descriptors; watched fds belong to their owners. Posted calls not yet run are dropped. */
void loop_free(struct loop *l);

/*
 * Watches fd for events (LOOP_READ | LOOP_WRITE); calling it again for the
 * same fd replaces the interest and the callback. Returns 0 or a negative
 * ERR_ kind with *err set.
 */
int loop_watch(struct loop *l, int fd, unsigned events, loop_fd_fn fn, void *arg, struct error **err);
/* Stops watching fd (before its owner closes it). Unknown fds are ignored. */
void loop_unwatch(struct loop *l, int fd);

/*
 * Calls fn once, delay_ms milliseconds from now on the monotonic clock.
 * Returns a timer id (never 0) for loop_timer_cancel().
 */
uint64_t loop_timer_add(struct loop *l, int64_t delay_ms, loop_fn fn, void *arg);
/* Cancels a pending timer; returns 1 when it was pending, 0 when it had run or never existed. */
int loop_timer_cancel(struct loop *l, uint64_t id);
/* Number of pending timers (for tests and the status page). */
unsigned loop_timer_count(const struct loop *l);

/* Calls fn on the loop thread at the start of the next iteration, before any fd or timer. */
void loop_defer(struct loop *l, loop_fn fn, void *arg);
/*
 * Thread-safe: queues fn to run on the loop thread and wakes the loop.
 * Returns 0, or a negative errno when the wakeup could not be signalled.
 */
int loop_post(struct loop *l, loop_fn fn, void *arg);
/*
 * The same for an arg the call owns: a call still queued when the loop is
 * freed (posted as it stopped) is not run; drop(arg) frees what it holds.
 */
int loop_post_owned(struct loop *l, loop_fn fn, void *arg, void (*drop)(void *arg));

/*
 * Runs one iteration: deferred calls, then waits at most max_wait_ms (-1:
 * until something happens) for fds, posted work or the next timer, and runs
 * what is due. Returns the number of callbacks run, or a negative errno.
 */
int loop_run_once(struct loop *l, int64_t max_wait_ms);
/* Runs until loop_stop() is called; returns 0 or a negative errno. */
int loop_run(struct loop *l);
/* Makes loop_run() return after the current iteration; thread-safe. */
void loop_stop(struct loop *l);

/* The monotonic time in ms as of the start of the current iteration. */
int64_t loop_now(const struct loop *l);

#endif
