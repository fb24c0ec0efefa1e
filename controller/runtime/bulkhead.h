/* Bulkheads: a separate concurrency limit per kind of work, with a bounded wait queue or rejection when full. */
#ifndef AURIGA_BULKHEAD_H
#define AURIGA_BULKHEAD_H

#include <stddef.h>

/*
 * Each compartment has `limit` slots. A call takes a slot and gives it back
 * when it ends. When none is free it waits in the compartment's FIFO queue
 * (at most queue_max waiters) or, with queue_max 0 or a full queue, is
 * rejected. Compartments are independent: a flood of probes fills only the
 * probe compartment, and rollout calls keep their own slots.
 *
 * The accounting is pure: bulkhead_release() hands back the waiter that
 * should run next, and the caller starts it.
 */
struct bulkhead_waiter {
	struct bulkhead_waiter *next;
	void *arg;
};

struct bulkhead {
	unsigned limit;
	unsigned queue_max;
	unsigned active;
	unsigned queued;
	unsigned long rejected;		/* totals, for metrics */
	unsigned long admitted;
	struct bulkhead_waiter *head, *tail;
};

enum bulkhead_verdict { BULKHEAD_RUN, BULKHEAD_QUEUED, BULKHEAD_REJECTED };

void bulkhead_init(struct bulkhead *b, unsigned limit, unsigned queue_max);
/*
 * Asks for a slot. RUN: the slot is taken. QUEUED: w (owned by the caller,
 * kept alive until it comes back from bulkhead_release or is removed with
 * bulkhead_remove) waits. REJECTED: nothing taken.
 */
enum bulkhead_verdict bulkhead_enter(struct bulkhead *b, struct bulkhead_waiter *w);
/*
 * Gives a slot back. Returns the waiter that now holds it (the caller runs
 * it), or NULL when nobody waited and the slot is free.
 */
struct bulkhead_waiter *bulkhead_release(struct bulkhead *b);
/* Takes a waiter out of the queue (a cancelled call); returns 1 when it was queued. */
int bulkhead_remove(struct bulkhead *b, struct bulkhead_waiter *w);

#endif
