/* Bulkhead accounting: slots in use, a FIFO of waiters, and the counts metrics show. */
#include "runtime/bulkhead.h"

#include <string.h>

void bulkhead_init(struct bulkhead *b, unsigned limit, unsigned queue_max)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit ? limit : 1;
	b->queue_max = queue_max;
}

enum bulkhead_verdict bulkhead_enter(struct bulkhead *b, struct bulkhead_waiter *w)
{
	if (b->active < b->limit && b->head == NULL) {
		b->active++;
		b->admitted++;
		return BULKHEAD_RUN;
	}
	if (w == NULL || b->queued >= b->queue_max) {
		b->rejected++;
		return BULKHEAD_REJECTED;
	}
	w->next = NULL;
	if (b->tail)
		b->tail->next = w;
	else
		b->head = w;
	b->tail = w;
	b->queued++;
	return BULKHEAD_QUEUED;
}

struct bulkhead_waiter *bulkhead_release(struct bulkhead *b)
{
	struct bulkhead_waiter *w = b->head;

	if (w == NULL) {
		if (b->active > 0)
			b->active--;
		return NULL;
	}
	/* The slot passes straight to the first waiter: active stays the same. */
	b->head = w->next;
	if (b->head == NULL)
		b->tail = NULL;
	b->queued--;
	b->admitted++;
	w->next = NULL;
	return w;
}

int bulkhead_remove(struct bulkhead *b, struct bulkhead_waiter *w)
{
	struct bulkhead_waiter **pp, *prev = NULL;

	for (pp = &b->head; *pp; prev = *pp, pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			if (b->tail == w)
				b->tail = prev;
			b->queued--;
			w->next = NULL;
			return 1;
		}
	}
	return 0;
}
