/* The circuit breaker state machine over a bucketed sliding window; time is always passed in. */
#include "runtime/breaker.h"

#include <string.h>

#include "util.h"

void breaker_config_default(struct breaker_config *c)
{
	c->min_requests = 20;
	c->failure_pct = 50;
	c->window_ms = 10000;
	c->open_ms = 5000;
	c->success_threshold = 2;
	c->half_open_max = 2;
}

static void window_clear(struct breaker *b)
{
	memset(b->bucket_start, 0, sizeof(b->bucket_start));
	memset(b->ok, 0, sizeof(b->ok));
	memset(b->failed, 0, sizeof(b->failed));
}

void breaker_init(struct breaker *b, const struct breaker_config *c)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *c;
	if (b->cfg.window_ms < BREAKER_BUCKETS)
		b->cfg.window_ms = BREAKER_BUCKETS;
	if (b->cfg.success_threshold == 0)
		b->cfg.success_threshold = 1;
	if (b->cfg.half_open_max < b->cfg.success_threshold)
		b->cfg.half_open_max = b->cfg.success_threshold;
	b->state = BREAKER_CLOSED;
}

static int64_t slice(const struct breaker *b)
{
	return b->cfg.window_ms / BREAKER_BUCKETS;
}

/* The bucket for time now, emptied when it last held an older slice. */
static unsigned bucket(struct breaker *b, int64_t now)
{
	int64_t start = now - (now % slice(b) + slice(b)) % slice(b);
	unsigned i = (unsigned)((start / slice(b)) % BREAKER_BUCKETS);

	if (b->bucket_start[i] != start) {
		b->bucket_start[i] = start;
		b->ok[i] = 0;
		b->failed[i] = 0;
	}
	return i;
}

void breaker_counts(struct breaker *b, int64_t now, unsigned *ok, unsigned *failed)
{
	unsigned i;

	*ok = *failed = 0;
	for (i = 0; i < BREAKER_BUCKETS; i++) {
		/* Only slices inside (now - window, now] count. */
		if (b->bucket_start[i] > now - b->cfg.window_ms && b->bucket_start[i] <= now) {
			*ok += b->ok[i];
			*failed += b->failed[i];
		}
	}
}

static void trip(struct breaker *b, int64_t now)
{
	b->state = BREAKER_OPEN;
	b->opened_at = now;
	b->trials = 0;
	b->trial_ok = 0;
	b->opens++;
}

enum breaker_state breaker_state_at(struct breaker *b, int64_t now)
{
	if (b->state == BREAKER_OPEN && now - b->opened_at >= b->cfg.open_ms) {
		b->state = BREAKER_HALF_OPEN;
		b->trials = 0;
		b->trial_ok = 0;
	}
	return b->state;
}

int breaker_allow(struct breaker *b, int64_t now)
{
	switch (breaker_state_at(b, now)) {
	case BREAKER_CLOSED:
		return 1;
	case BREAKER_OPEN:
		return 0;
	case BREAKER_HALF_OPEN:
		if (b->trials + b->trial_ok >= b->cfg.half_open_max)
			return 0;
		b->trials++;
		return 1;
	}
	return 0;
}

void breaker_record(struct breaker *b, int64_t now, int success)
{
	unsigned ok, failed, i;

	switch (breaker_state_at(b, now)) {
	case BREAKER_HALF_OPEN:
		if (b->trials > 0)
			b->trials--;
		if (!success) {
			trip(b, now);
			return;
		}
		if (++b->trial_ok >= b->cfg.success_threshold) {
			b->state = BREAKER_CLOSED;
			window_clear(b);
		}
		return;
	case BREAKER_OPEN:
		/* A call admitted before the circuit opened ended late: the window restarts on close anyway. */
		return;
	case BREAKER_CLOSED:
		break;
	}
	i = bucket(b, now);
	if (success)
		b->ok[i]++;
	else
		b->failed[i]++;
	breaker_counts(b, now, &ok, &failed);
	if (ok + failed >= b->cfg.min_requests && failed * 100 >= (ok + failed) * b->cfg.failure_pct)
		trip(b, now);
}

const char *breaker_state_name(enum breaker_state s)
{
	static const char *const names[] = { "closed", "open", "half-open" };

	return NAME_OF(names, s, "unknown");
}
