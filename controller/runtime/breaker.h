/* A circuit breaker per endpoint: a pure state machine over a sliding window, with the clock passed in. */
#ifndef AURIGA_BREAKER_H
#define AURIGA_BREAKER_H

#include <stdint.h>

/*
 * CLOSED lets every call through and counts outcomes over the last
 * window_ms. When at least min_requests ended in the window and the share
 * of failures reaches failure_pct, it opens: calls are refused at once (no
 * load on a sick daemon) for open_ms. Then it is HALF_OPEN: up to
 * half_open_max calls go through as trials; success_threshold successes
 * close it, one failure opens it again.
 *
 * Only the endpoint's health counts as failure (transport errors, timeouts,
 * 5xx, unusable answers); a 404 or 409 is a healthy daemon saying no.
 */
enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker_config {
	unsigned min_requests;		/* 20 */
	unsigned failure_pct;		/* 50 */
	int64_t window_ms;		/* 10000 */
	int64_t open_ms;		/* 5000 */
	unsigned success_threshold;	/* 2 */
	unsigned half_open_max;		/* 2 */
};

#define BREAKER_BUCKETS 10

struct breaker {
	struct breaker_config cfg;
	enum breaker_state state;
	int64_t opened_at;
	unsigned trials;		/* half-open calls admitted and not yet ended */
	unsigned trial_ok;
	unsigned opens;			/* times it opened, for metrics */
	/* The window, in BREAKER_BUCKETS slices of window_ms / BREAKER_BUCKETS. */
	int64_t bucket_start[BREAKER_BUCKETS];
	unsigned ok[BREAKER_BUCKETS];
	unsigned failed[BREAKER_BUCKETS];
};

void breaker_config_default(struct breaker_config *c);
void breaker_init(struct breaker *b, const struct breaker_config *c);

/*
 * Asks to make a call at time now: 1 when it may go (the caller must then
 * report its outcome with breaker_record), 0 when the circuit refuses it.
 */
int breaker_allow(struct breaker *b, int64_t now);
/* Reports the outcome of an allowed call. */
void breaker_record(struct breaker *b, int64_t now, int success);
/* The state as of now (an open breaker whose wait is over reads HALF_OPEN). */
enum breaker_state breaker_state_at(struct breaker *b, int64_t now);
const char *breaker_state_name(enum breaker_state s);
/* Outcomes in the window as of now. */
void breaker_counts(struct breaker *b, int64_t now, unsigned *ok, unsigned *failed);

#endif
